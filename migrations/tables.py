"""Every table of the API database, as the code defines them: what the head revision must produce.

Used by autogenerate (`python -m migrations revision`) and by the test that compares a migrated
database with the definitions. A module that adds a table of the API database registers its
MetaData here.
"""

from __future__ import annotations

from sqlalchemy import MetaData

#: Tables that are not data and lie outside the migrated schema: api/dbhealth.py's readiness probe
#: creates its heartbeat table itself (on the index database too, which is rebuilt, not migrated).
#: Autogenerate must not draft them as drops.
UNMIGRATED_TABLES = frozenset({"ops_heartbeat"})


def include_object(obj: object, name: str | None, type_: str, reflected: bool, compare_to: object) -> bool:
    """Alembic's filter: everything but the unmigrated scratch tables (and their indexes)."""
    table = getattr(obj, "table", None)
    owner = name if type_ == "table" else getattr(table, "name", None)
    return owner not in UNMIGRATED_TABLES


def target_metadata() -> MetaData:
    from api.auditlog import metadata as vlog
    from api.authorisations import metadata as authorisations
    from api.credentials import metadata as credentials
    from api.pages.sessions import metadata as sessions
    from api.references import metadata as references
    from federation.replay import metadata as federation
    from federation.use_reports import metadata as use_reports
    from issuers.store import metadata as issuers
    from ledger.lease import metadata as leases

    combined = MetaData()
    for part in (issuers, credentials, references, sessions, vlog, leases, federation, authorisations, use_reports):
        for table in part.tables.values():
            table.to_metadata(combined)
    return combined
