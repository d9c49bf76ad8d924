"""outbox: iss_status_sync — each certificate's last recorded status, as reconciliation tracks it on chain

A table of its own rather than columns on `iss_status_changes` (the department's record of what it
did, never rewritten). Rows for status changes recorded before this revision are added by the
reconciler's start-up pass (`CertificateStore.backfill_status_sync`), which needs nothing but
the two existing tables, so this revision only creates the table.

Revision 0004, after 0003. Frozen: no imports of application code.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer, "sqlite")


def upgrade() -> None:
    op.create_table(
        "iss_status_sync",
        sa.Column("cert_id", sa.String(160), primary_key=True),
        sa.Column("issuer_code", sa.String(18), nullable=False),
        sa.Column("change_id", _ID, nullable=False),
        sa.Column("action", sa.String(12), nullable=False),
        sa.Column("reason", sa.Integer, nullable=False),
        sa.Column("state", sa.String(12), nullable=False),
        sa.Column("tx_hash", sa.LargeBinary(32)),
        sa.Column("block_number", sa.BigInteger),
        sa.Column("resent", sa.Integer, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("last_error", sa.Text),
        sa.Column("next_attempt_at", sa.Float, nullable=False),
        sa.Column("updated_at", sa.Float, nullable=False),
    )
    op.create_index("ix_iss_status_sync_open", "iss_status_sync", ["issuer_code", "state"])
