"""Baseline: the API database as the last release before migrations made it with `create_all`.

Creates each table (with its indexes) only if it is missing, so the same revision serves an
empty database and one made by that release — whole, or partly: the department CLI made only
the certificate tables, a credentials command only `api_credentials`. Existing tables are left
as they are: that release made them from these very definitions.

Revision 0001. Frozen: these definitions are copied, not imported; later changes are later revisions.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer, "sqlite")  # SQLite autoincrements INTEGER PRIMARY KEY only

baseline = sa.MetaData()

sa.Table(
    "iss_batches", baseline,
    sa.Column("id", _ID, primary_key=True, autoincrement=True),
    sa.Column("issuer_code", sa.String(18), nullable=False),
    sa.Column("type_code", sa.String(32), nullable=False),
    sa.Column("root", sa.LargeBinary(32), nullable=False, unique=True),
    sa.Column("cert_count", sa.Integer, nullable=False),
    sa.Column("state", sa.String(12), nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("updated_at", sa.Float, nullable=False),
    sa.Column("tx_hash", sa.LargeBinary(32)),
    sa.Column("raw_tx", sa.LargeBinary),
    sa.Column("nonce", sa.BigInteger),
    sa.Column("block_number", sa.BigInteger),
    sa.Column("block_hash", sa.LargeBinary(32)),
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("last_error", sa.Text),
    sa.Column("next_attempt_at", sa.Float, nullable=False),
    sa.Index("ix_iss_batches_open", "issuer_code", "state"),
)  # fmt: skip
sa.Table(
    "iss_certificates", baseline,
    sa.Column("seq", _ID, primary_key=True, autoincrement=True),
    sa.Column("cert_id", sa.String(160), nullable=False, unique=True),
    sa.Column("type_code", sa.String(32), nullable=False),
    sa.Column("issuer_code", sa.String(18), nullable=False),
    sa.Column("document_root", sa.LargeBinary(32), nullable=False, unique=True),
    sa.Column("signature", sa.LargeBinary(65), nullable=False),
    sa.Column("fields", sa.Text, nullable=False),
    sa.Column("sealed", sa.LargeBinary),
    sa.Column("key_id", sa.String(16), nullable=False),
    sa.Column("input_mac", sa.LargeBinary(32), nullable=False),
    sa.Column("accepted_at", sa.Float, nullable=False),
    sa.Column("batch_id", _ID, sa.ForeignKey("iss_batches.id"), index=True),
    sa.Index("ix_iss_certificates_unbatched", "issuer_code", "type_code", "seq",
             sqlite_where=sa.text("batch_id IS NULL"), postgresql_where=sa.text("batch_id IS NULL")),
)  # fmt: skip
sa.Table(
    "iss_status_changes", baseline,
    sa.Column("id", _ID, primary_key=True, autoincrement=True),
    sa.Column("cert_id", sa.String(160), nullable=False, index=True),
    sa.Column("action", sa.String(12), nullable=False),
    sa.Column("reason", sa.Integer, nullable=False),
    sa.Column("note", sa.Text, nullable=False),
    sa.Column("tx_hash", sa.LargeBinary(32), nullable=False),
    sa.Column("block_number", sa.BigInteger, nullable=False),
    sa.Column("at", sa.Float, nullable=False),
)  # fmt: skip
sa.Table(
    "api_holdings", baseline,
    sa.Column("holder_hash", sa.String(64), primary_key=True),
    sa.Column("cert_id", sa.String(160), primary_key=True),
    sa.Column("issuer_code", sa.String(18), nullable=False),
    sa.Column("type_code", sa.String(32), nullable=False),
    sa.Column("accepted_at", sa.BigInteger, nullable=False),
    sa.Index("ix_api_holdings_cert", "cert_id"),
)  # fmt: skip
sa.Table(
    "api_credentials", baseline,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("region", sa.Integer),
    sa.Column("credit_code", sa.String(18)),
    sa.Column("holder_hash", sa.String(64)),
    sa.Column("officer_address", sa.String(42)),
    sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.Column("disabled", sa.Boolean, nullable=False, default=False),
)  # fmt: skip
sa.Table(
    "api_references", baseline,
    sa.Column("token_hash", sa.String(64), primary_key=True),
    sa.Column("presentation", sa.Text, nullable=False),
    sa.Column("expires_at", sa.BigInteger, nullable=False),
    sa.Column("used_at", sa.BigInteger),
)  # fmt: skip
sa.Table(
    "page_sessions", baseline,
    sa.Column("id_hash", sa.String(64), primary_key=True),
    sa.Column("credential_id", sa.String(32), nullable=False, index=True),
    sa.Column("csrf", sa.String(64), nullable=False),
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.Column("last_seen", sa.BigInteger, nullable=False),
    sa.Column("expires_at", sa.BigInteger, nullable=False),
)  # fmt: skip
sa.Table(
    "vlog_entries", baseline,
    sa.Column("seq", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("time_ms", sa.BigInteger, nullable=False, index=True),
    sa.Column("credential_id", sa.String(128), nullable=False),
    sa.Column("region", sa.Integer, nullable=False),
    sa.Column("certificate_hash", sa.LargeBinary(32), index=True),
    sa.Column("verdict", sa.String(32), nullable=False),
    sa.Column("purpose", sa.Text, nullable=False),
    sa.Column("nonce", sa.LargeBinary(32)),
    sa.Column("prev_hash", sa.LargeBinary(32), nullable=False),
    sa.Column("entry_hash", sa.LargeBinary(32), nullable=False),
)  # fmt: skip
sa.Table(
    "vlog_head", baseline,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("seq", sa.BigInteger, nullable=False),
    sa.Column("entry_hash", sa.LargeBinary(32), nullable=False),
    sa.Column("time_ms", sa.BigInteger, nullable=False),
)  # fmt: skip
sa.Table(
    "vlog_anchors", baseline,
    sa.Column("operator", sa.String(42), primary_key=True),
    sa.Column("anchor_seq", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("entries", sa.BigInteger, nullable=False),
    sa.Column("head", sa.LargeBinary(32), nullable=False),
    sa.Column("at", sa.BigInteger, nullable=False),
    sa.Column("tx_hash", sa.LargeBinary(32)),
    sa.Column("block_number", sa.BigInteger),
)  # fmt: skip
sa.Table(
    "huren_leases", baseline,
    sa.Column("name", sa.String(128), primary_key=True),
    sa.Column("holder", sa.String(128), nullable=False),
    sa.Column("until_ms", sa.BigInteger, nullable=False),
)  # fmt: skip


def upgrade() -> None:
    baseline.create_all(op.get_bind(), checkfirst=True)
