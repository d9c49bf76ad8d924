"""federation: fed_request_nonces — nonces of accepted node-to-node requests (replay protection)

Rows live about a minute (federation.replay: until the signature carrying the nonce could no
longer be accepted), so the table holds only recent node requests; an index on `forget_after`
makes the purge cheap.

Revision 0005, after 0004. Frozen: no imports of application code.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "fed_request_nonces",
        sa.Column("signer_region", sa.Integer, primary_key=True),
        sa.Column("nonce", sa.String(64), primary_key=True),
        sa.Column("forget_after", sa.Float, nullable=False),
    )
    op.create_index("ix_fed_request_nonces_forget_after", "fed_request_nonces", ["forget_after"])
