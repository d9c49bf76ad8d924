"""api_credentials: rate_per_s, rate_burst — a credential's own rate limit (api/ratelimit.py)

NULL in both for every existing credential: it keeps the service-wide default (one service
window's rate, HUREN_RATE_PER_S / HUREN_RATE_BURST); `huren credentials add --rate` sets them.

Revision 0003, after 0002. Frozen: no imports of application code.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("api_credentials") as batch:
        batch.add_column(sa.Column("rate_per_s", sa.Float))
        batch.add_column(sa.Column("rate_burst", sa.Integer))
