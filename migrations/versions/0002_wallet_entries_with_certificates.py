"""Wallet entries belong to the certificate store: repair the ones older releases lost.

Before this revision the API wrote a holder's wallet entry (`api_holdings`) after the
certificate's own commit, and only for newly inserted rows; a crash between the two, a bulk
resubmitted after a crash, or the department CLI (which wrote none) left accepted certificates
that no holder could see. From now on the certificate store writes the entry in the
certificate's transaction (issuers.store); this revision writes the missing ones:

* a certificate whose holder id number is stored in clear (a company's 统一社会信用代码) gets
  its entry here, keyed as every entry is: sha256("huren-holder:" + id number, upper-case);
* a person's id number is sealed with the department's field key, which never reaches the
  database: such certificates are listed in `iss_holdings_pending` (with the key's id), and the
  department's store completes their entries when it opens with that key.

Revision 0002, after 0001. Frozen: nothing imported from the application.
"""

from __future__ import annotations

import hashlib
import json

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_PAGE = 1000

certificates = sa.table(
    "iss_certificates",
    sa.column("seq", sa.BigInteger), sa.column("cert_id", sa.String), sa.column("issuer_code", sa.String),
    sa.column("type_code", sa.String), sa.column("accepted_at", sa.Float), sa.column("fields", sa.Text),
    sa.column("key_id", sa.String),
)  # fmt: skip
holdings = sa.table(
    "api_holdings",
    sa.column("holder_hash", sa.String), sa.column("cert_id", sa.String), sa.column("issuer_code", sa.String),
    sa.column("type_code", sa.String), sa.column("accepted_at", sa.BigInteger),
)  # fmt: skip


def _holder_hash(id_number: str) -> str:
    return hashlib.sha256(("huren-holder:" + id_number.strip().upper()).encode()).hexdigest()


def _clear_holder_number(fields_json: str) -> str | None:
    """The holder's id number if it is stored in clear ([path, salt, value]); None if sealed ([path])."""
    for entry in json.loads(fields_json):
        if entry[0] == "holder.idNumber":
            return entry[2] if len(entry) == 3 and isinstance(entry[2], str) else None
    return None


def upgrade() -> None:
    pending = op.create_table(
        "iss_holdings_pending",
        sa.Column("cert_id", sa.String(160), primary_key=True),
        sa.Column("key_id", sa.String(16), nullable=False, index=True),
    )
    bind = op.get_bind()
    lacking = ~sa.exists().where(holdings.c.cert_id == certificates.c.cert_id)
    last = -1
    while True:
        rows = bind.execute(
            sa.select(certificates).where(certificates.c.seq > last, lacking).order_by(certificates.c.seq).limit(_PAGE)
        ).all()
        if not rows:
            return
        last = rows[-1].seq
        entries, sealed = [], []
        for r in rows:
            number = _clear_holder_number(r.fields)
            if number is None:
                sealed.append({"cert_id": r.cert_id, "key_id": r.key_id})
            else:
                entries.append({"holder_hash": _holder_hash(number), "cert_id": r.cert_id, "issuer_code": r.issuer_code,
                                "type_code": r.type_code, "accepted_at": int(r.accepted_at)})
        if entries:
            bind.execute(sa.insert(holdings), entries)
        if sealed:
            bind.execute(sa.insert(pending), sealed)
