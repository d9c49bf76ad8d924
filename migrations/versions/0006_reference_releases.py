"""federation: api_reference_releases — each reference this node released to another region's node

A reference token is one-time; when a verifying node of another region fetches it by a signed
request, the issuing node records which region (and which of its node keys) took it and when, in
the same transaction that consumes the token. The reference row itself is purged an hour after it
expires; this record stays.

Revision 0006, after 0005. Frozen: no imports of application code.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer, "sqlite")


def upgrade() -> None:
    op.create_table(
        "api_reference_releases",
        sa.Column("id", _ID, primary_key=True, autoincrement=True),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("peer_region", sa.Integer, nullable=False),
        sa.Column("peer_key_id", sa.String(80), nullable=False),
        sa.Column("released_at", sa.BigInteger, nullable=False),
    )

