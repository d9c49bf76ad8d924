"""issuers: the crypto suite of each certificate and batch (issue 17, 国密 suite 2)

A department may switch to suite 2 (SM3 trees, SM2 signatures) while certificates of suite 1 are
still in its store: each certificate records the suite it was sealed in, a batch holds one suite
only (its tree is built with that suite's hash, and it is anchored and its statuses changed
through that suite's contract functions). Existing rows are suite 1, as they were sealed.

Revision 0009, after 0008. Frozen: no imports of application code.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    for table in ("iss_certificates", "iss_batches"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column("suite", sa.Integer(), server_default="1", nullable=False))


def downgrade() -> None:
    for table in ("iss_batches", "iss_certificates"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column("suite")
