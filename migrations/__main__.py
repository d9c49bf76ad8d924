"""`python -m migrations`: bring a database to the head, show its revision, or draft a new revision.

    python -m migrations upgrade  --db sqlite:///.huren/huren.sqlite
    python -m migrations current  --db postgresql+psycopg://huren@db/huren
    python -m migrations revision -m "outbox: dead state"

`revision` drafts the next numbered file in migrations/versions/ from the difference between the
table definitions (migrations/tables.py) and a scratch SQLite database upgraded to the head.
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
from pathlib import Path

from alembic import command
from sqlalchemy import create_engine

from migrations import HERE, alembic_config, current, upgrade


def _next_number() -> str:
    numbers = [int(m.group(1)) for p in (HERE / "versions").glob("*.py") if (m := re.match(r"(\d{4})_", p.name))]
    return f"{max(numbers, default=0) + 1:04d}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m migrations", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for name in ("upgrade", "current"):
        p = sub.add_parser(name)
        p.add_argument("--db", required=True, help="database URL (HUREN_DB_URL)")
    p = sub.add_parser("revision")
    p.add_argument("-m", "--message", required=True)
    p.add_argument("--empty", action="store_true", help="no draft from the table definitions (data-only change)")
    args = parser.parse_args(argv)
    if args.command in ("upgrade", "current"):
        engine = create_engine(args.db)
        if args.command == "upgrade":
            upgrade(engine)
        print(current(engine) or "(not migrated)")
        return 0
    with tempfile.TemporaryDirectory() as scratch:
        engine = create_engine(f"sqlite:///{Path(scratch) / 'head.sqlite'}")
        upgrade(engine)
        with engine.begin() as conn:
            script = command.revision(alembic_config(conn), message=args.message, autogenerate=not args.empty,
                                      rev_id=_next_number())
        engine.dispose()
    print(getattr(script, "path", script))
    return 0


if __name__ == "__main__":
    sys.exit(main())
