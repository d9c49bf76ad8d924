"""Schema migrations (migrations/): every database reaches the head, the head is what the code
defines, and a database made by the previous release upgrades with its data intact — on SQLite
and on PostgreSQL. Also: the indexer's read model, which is not migrated, is rebuilt when its
tables change.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from pathlib import Path
from typing import Any

import psycopg
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import MetaData, Table, create_engine, insert, inspect, select, text, update
from sqlalchemy.engine import Engine

import migrations
from ledger import store as st
from migrations.tables import include_object, target_metadata
from tests.fixtures.previous_release import make_dump

DUMPS = Path(make_dump.__file__).resolve().parent


def _load_previous_release(db_url: str) -> None:
    """The database as the release before migrations left it (tests/fixtures/previous_release)."""
    if db_url.startswith("sqlite"):
        with sqlite3.connect(db_url.removeprefix("sqlite:///")) as c:
            c.executescript((DUMPS / "previous_release.sqlite.sql").read_text())
        return
    with psycopg.connect(db_url.replace("postgresql+psycopg://", "postgresql://"), autocommit=True) as c:
        c.execute((DUMPS / "previous_release.postgresql.sql").read_text().encode())


def _rows(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table (sorted), to compare a database before and after an upgrade."""
    found = MetaData()
    found.reflect(engine)
    with engine.connect() as c:
        return {name: sorted((tuple(r) for r in c.execute(select(table))), key=repr)
                for name, table in found.tables.items() if name != "alembic_version"}


def test_the_revisions_form_one_line_without_branches():
    script = ScriptDirectory.from_config(migrations.alembic_config())
    assert len(script.get_heads()) == 1, "two revisions follow the same one: chain one after the other"
    assert [r.revision for r in script.walk_revisions()][-1] == "0001"


def test_an_empty_database_is_migrated_to_the_head(db_url):
    engine = create_engine(db_url)
    migrations.upgrade(engine)
    assert migrations.current(engine) == migrations.head()
    engine.dispose()


def test_the_head_has_exactly_the_tables_the_code_defines(db_url):
    engine = create_engine(db_url)
    migrations.upgrade(engine)
    with engine.connect() as c:
        differences = compare_metadata(MigrationContext.configure(c, opts={"compare_type": True}), target_metadata())
    engine.dispose()
    assert differences == [], "a table definition changed without a revision (python -m migrations revision)"


def test_the_readiness_probes_scratch_table_is_never_drafted_as_a_drop(db_url):
    from api.dbhealth import DatabaseHealth

    engine = create_engine(db_url)
    migrations.upgrade(engine)
    health = DatabaseHealth([("业务数据库", engine)])
    assert all(check.ok for check in health.status())
    assert "ops_heartbeat" in inspect(engine).get_table_names()
    with engine.connect() as c:
        context = MigrationContext.configure(c, opts={"compare_type": True, "include_object": include_object})
        differences = compare_metadata(context, target_metadata())
    engine.dispose()
    assert differences == []


def test_workers_starting_together_migrate_once_and_all_start(db_url):
    engines = [create_engine(db_url) for _ in range(3)]
    errors: list[BaseException] = []

    def start(engine: Engine) -> None:
        try:
            migrations.upgrade(engine)
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=start, args=(e,)) for e in engines]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    assert {migrations.current(e) for e in engines} == {migrations.head()}
    for e in engines:
        e.dispose()


def test_a_database_of_the_previous_release_keeps_every_row_through_the_upgrade(db_url):
    _load_previous_release(db_url)
    engine = create_engine(db_url)
    assert migrations.current(engine) is None  # made by create_all: never migrated
    before = _rows(engine)
    migrations.upgrade(engine)
    after = _rows(engine)
    assert migrations.current(engine) == migrations.head()
    for table, rows in before.items():
        if table == "api_holdings":  # the repair revision adds the missing wallet entries
            assert set(rows) <= set(after[table])
        else:  # columns added by later revisions (e.g. 0003's credential rates) come after the release's
            width = len(rows[0]) if rows else 0
            assert [r[:width] for r in after[table]] == rows, table
    assert len(before["iss_certificates"]) == 2 * make_dump.PER_TYPE
    engine.dispose()


def test_the_previous_release_data_is_read_by_todays_stores(db_url):
    from api.auditlog import VerificationLog, check_log
    from api.credentials import CredentialStore, token_hash
    from issuers.field_cipher import FieldCipher
    from issuers.store import BatchState, CertificateStore

    _load_previous_release(db_url)
    engine = st.make_engine(db_url)
    store = CertificateStore(db_url, FieldCipher.from_key_text(make_dump.FIELD_KEY))
    ids = store.certificate_ids()
    person = store.certificate(ids[-1])  # a driving licence: the holder's id number is sealed
    assert person is not None and "holder.idNumber" in person.sensitive_paths
    assert person.document["holder"]["idType"] == "111"
    assert [b.state for b in store.batches()] == [BatchState.FINAL, BatchState.SUBMITTED]
    # Revision 0009: what the release sealed is suite 1, and its batch trees are rebuilt with keccak.
    assert person.suite == 1 and all(b.suite == 1 for b in store.batches())
    assert all(store.batch_tree(b.id).root == b.root for b in store.batches())
    cred = CredentialStore(engine).lookup("previous-release-department-token")
    assert cred is not None and cred.role == "department" and token_hash("x") != ""
    assert check_log(VerificationLog(engine), None, None, None).ok
    store.close()
    engine.dispose()


def test_the_repair_revision_gives_clear_holders_their_wallet_entries_and_lists_sealed_ones(db_url):
    from issuers.store import holder_hash, holdings, holdings_pending

    _load_previous_release(db_url)
    engine = create_engine(db_url)
    with engine.connect() as c:
        before = set(c.execute(select(holdings.c.cert_id)).scalars())
    migrations.upgrade(engine)
    with engine.connect() as c:
        entries = dict(c.execute(select(holdings.c.cert_id, holdings.c.holder_hash)).all())
        pending = set(c.execute(select(holdings_pending.c.cert_id)).scalars())
        certs = c.execute(text("SELECT cert_id, type_code, fields FROM iss_certificates")).all()
    engine.dispose()
    clear, sealed = {}, set()
    for r in certs:
        [entry] = [e for e in json.loads(r.fields) if e[0] == "holder.idNumber"]
        if len(entry) == 3:  # a company's credit code: stored in clear
            clear[r.cert_id] = entry[2]
        else:  # a person's id number: sealed with the department's field key
            sealed.add(r.cert_id)
    assert clear and sealed - before, "the previous release's dump must have both kinds of holder"
    assert {cid: entries[cid] for cid in clear} == {cid: holder_hash(n) for cid, n in clear.items()}
    assert pending == sealed - before


def test_the_department_store_completes_the_sealed_wallet_entries_with_its_field_key(db_url):
    from issuers.field_cipher import FieldCipher
    from issuers.store import CertificateStore, holder_hash, holdings, holdings_pending

    _load_previous_release(db_url)
    store = CertificateStore(db_url, FieldCipher.from_key_text(make_dump.FIELD_KEY))
    with store.engine.connect() as c:
        entries = dict(c.execute(select(holdings.c.cert_id, holdings.c.holder_hash)).all())
        assert c.execute(select(holdings_pending)).all() == []
    expected = {}
    for cert_id in store.certificate_ids():
        cert = store.certificate(cert_id)
        assert cert is not None
        expected[cert_id] = holder_hash(cert.document["holder"]["idNumber"])
    store.close()
    assert entries == expected and len(entries) == 2 * make_dump.PER_TYPE


def test_a_store_with_another_field_key_leaves_the_sealed_entries_pending(db_url):
    from issuers.field_cipher import FieldCipher, new_field_key
    from issuers.store import CertificateStore, holdings_pending

    _load_previous_release(db_url)
    store = CertificateStore(db_url, FieldCipher.from_key_text(new_field_key()))
    with store.engine.connect() as c:
        assert len(c.execute(select(holdings_pending)).all()) == make_dump.PER_TYPE - make_dump.WITH_HOLDING
    store.close()


# --------------------------------------------------------------------------- the index is rebuilt, not migrated


def test_an_index_built_by_other_table_definitions_is_rebuilt_empty(tmp_path):
    engine = st.make_engine(f"sqlite:///{tmp_path / 'index.sqlite'}")
    store = st.IndexStore(engine)
    store.init_cursor(31337, 5, "ab" * 32)
    with engine.begin() as c:  # as if a release with other index tables had built it
        stamp = Table("idx_schema", MetaData(), autoload_with=c)
        c.execute(update(stamp).values(fingerprint="0" * 64))
    assert st.IndexStore(engine).cursor() is None  # the indexer starts over from the deployment block
    assert st.IndexStore(engine).cursor() is None
    engine.dispose()


def test_an_index_of_unchanged_definitions_is_kept(tmp_path):
    engine = st.make_engine(f"sqlite:///{tmp_path / 'index.sqlite'}")
    st.IndexStore(engine).init_cursor(31337, 5, "ab" * 32)
    assert st.open_schema(engine) is False
    cursor = st.IndexStore(engine).cursor()
    assert cursor is not None and cursor.start_block == 5
    engine.dispose()


def test_an_index_made_before_fingerprints_is_rebuilt(tmp_path):
    engine = st.make_engine(f"sqlite:///{tmp_path / 'index.sqlite'}")
    st.metadata.create_all(engine)  # what the previous release did
    with engine.begin() as c:
        c.execute(insert(st.cursor_table).values(id=1, chain_id=1, start_block=1, last_block=9, last_time=0,
                                                 manifest_hash="ab" * 32))
    assert st.IndexStore(engine).cursor() is None
    assert inspect(engine).has_table("idx_schema")
    with engine.connect() as c:
        assert c.execute(text("SELECT count(*) FROM idx_journal")).scalar() == 0
    engine.dispose()
