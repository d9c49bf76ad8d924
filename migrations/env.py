"""Alembic's environment: run the revisions over the connection `migrations.upgrade` opened.

Always "online" over a connection handed in through `config.attributes` (the start-up lock and
the transaction are the caller's); no alembic.ini, no URL here.
"""

from __future__ import annotations

from alembic import context

from migrations.tables import include_object, target_metadata

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through migrations.upgrade(engine) or `python -m migrations`")
context.configure(connection=connection, target_metadata=target_metadata(), render_as_batch=True,
                  compare_type=True, include_object=include_object)
with context.begin_transaction():
    context.run_migrations()
