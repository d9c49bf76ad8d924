"""federation: api_authorisations — the holder's 授权用证 (issue 14, item 4)

A holder authorises a receiving region (optionally one department) to obtain chosen fields of one
certificate for a 事由 within a time window; the issuing node keeps the authorisation by a hash of
its token, and marks it used (by which region, which node key) or withdrawn.

Revision 0007, after 0006. Frozen: no imports of application code.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "api_authorisations",
        sa.Column("id", sa.String(length=32), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("holder_hash", sa.String(length=64), nullable=False),
        sa.Column("cert_id", sa.String(length=160), nullable=False),
        sa.Column("region", sa.Integer(), nullable=False),
        sa.Column("department", sa.String(length=18), nullable=True),
        sa.Column("fields", sa.Text(), nullable=False),
        sa.Column("purpose", sa.Text(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("expires_at", sa.BigInteger(), nullable=False),
        sa.Column("used_at", sa.BigInteger(), nullable=True),
        sa.Column("used_by_region", sa.Integer(), nullable=True),
        sa.Column("used_by_key", sa.String(length=80), nullable=True),
        sa.Column("withdrawn_at", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("token_hash"),
    )
    with op.batch_alter_table("api_authorisations", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_api_authorisations_holder_hash"), ["holder_hash"], unique=False)
