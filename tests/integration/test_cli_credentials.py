"""`huren credentials`: tokens shown once, stored as hashes, usable, and disable-able."""

from __future__ import annotations

from click.testing import CliRunner

from api.cli import main
from api.credentials import CredentialStore
from ledger.store import make_engine


def test_added_credential_works_and_only_its_hash_is_stored(tmp_path):
    db = f"sqlite:///{tmp_path / 'c.sqlite'}"
    result = CliRunner().invoke(main, ["credentials", "add", "--db", db, "--role", "verifier", "--region", "130000",
                                       "--name", "河北窗口"])
    assert result.exit_code == 0, result.output
    token = result.output.strip().splitlines()[-1]
    store = CredentialStore(make_engine(db))
    cred = store.lookup(token)
    assert cred is not None and cred.region == 130000 and cred.role == "verifier"
    assert token not in (tmp_path / "c.sqlite").read_bytes().decode("latin-1")


def test_verifier_credential_without_region_is_refused(tmp_path):
    db = f"sqlite:///{tmp_path / 'c.sqlite'}"
    result = CliRunner().invoke(main, ["credentials", "add", "--db", db, "--role", "verifier", "--name", "x"])
    assert result.exit_code != 0
    assert "needs a region" in result.output


def test_disabled_credential_no_longer_authenticates(tmp_path):
    db = f"sqlite:///{tmp_path / 'c.sqlite'}"
    store = CredentialStore(make_engine(db))
    cred, token = store.add("verifier", "x", region=110000)
    CliRunner().invoke(main, ["credentials", "disable", "--db", db, cred.id])
    assert CredentialStore(make_engine(db)).lookup(token) is None
