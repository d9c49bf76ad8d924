"""federation: fed_use_outbox and fed_use_reports — reports of use for the holders' 用证记录 (issue 14, item 5)

The verifying node's outbox of reports (one per use of another region's certificate, delivered in the
background with retries), and the issuing node's record of the reports it received, one per
(reporting region, report id) so a retried report is stored once.

Revision 0008, after 0007. Frozen: no imports of application code.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "fed_use_outbox",
        sa.Column("report_id", sa.String(length=32), nullable=False),
        sa.Column("region", sa.Integer(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("state", sa.String(length=12), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.BigInteger(), nullable=False),
        sa.Column("sent_at", sa.BigInteger(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("report_id"),
    )
    with op.batch_alter_table("fed_use_outbox", schema=None) as batch_op:
        batch_op.create_index("ix_fed_use_outbox_due", ["state", "next_attempt_at"], unique=False)

    op.create_table(
        "fed_use_reports",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("reporter_region", sa.Integer(), nullable=False),
        sa.Column("report_id", sa.String(length=32), nullable=False),
        sa.Column("cert_id", sa.String(length=160), nullable=False),
        sa.Column("verified_at", sa.BigInteger(), nullable=False),
        sa.Column("verdict", sa.String(length=32), nullable=False),
        sa.Column("purpose", sa.Text(), nullable=False),
        sa.Column("window_name", sa.Text(), nullable=False),
        sa.Column("department", sa.String(length=18), nullable=True),
        sa.Column("received_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("reporter_region", "report_id", name="uq_fed_use_reports_report"),
    )
    with op.batch_alter_table("fed_use_reports", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_fed_use_reports_cert_id"), ["cert_id"], unique=False)
