"""Region officers' signing for the 区域管理 page: proposals and approvals (双人双锁).

Decision (stated because it is one): the server holds each officer's key in an encrypted
keystore, listed in `settings.officers_file` (`[{"address", "region", "keystore"}]`, written by
`api/seed.py` for the demo), exactly as it holds department keys. A key is decrypted (with
`settings.passphrase_file`) the first time its officer acts in this process and kept in memory
as a transaction sender, like the departments' keys. Signing still happens only for the
signed-in officer's own address (taken from the session's credential, never from the form), and
the contract enforces k-of-n: one officer alone can propose but never execute a change.

Production alternative, not built here: keep officer keys off the server (a hardware key or a
remote signer per officer) and have the page submit an already-signed transaction; the page
flow (see, approve, propose) would stay the same.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eth_abi import decode as abi_decode

from common.document import type_code_bytes32, type_code_from_bytes32
from ledger.clients import Huren, ProposalOutcome
from ledger.keystore import load_keystore
from ledger.sender import TxSender

_lock = threading.Lock()


class OfficerKeyMissing(Exception):
    """This server holds no keystore for the officer (or it cannot be opened)."""


@dataclass(frozen=True)
class OfficerEntry:
    address: str
    region: int
    keystore: Path


def _entries(rt: Any) -> dict[str, OfficerEntry]:
    path: Path | None = getattr(rt.settings, "officers_file", None)
    if path is None or not Path(path).exists():
        return {}
    base = Path(path).parent
    out = {}
    for e in json.loads(Path(path).read_text()):
        ks = Path(e["keystore"])
        out[str(e["address"]).lower()] = OfficerEntry(str(e["address"]), int(e["region"]),
                                                      ks if ks.is_absolute() else base / ks)
    return out


def huren(rt: Any) -> Huren:
    client = rt.extras.get("page_huren")
    if client is None:
        client = rt.extras["page_huren"] = Huren(rt.rpc, rt.manifest, rt.abis)
    return client  # type: ignore[no-any-return]


def sender_for(rt: Any, address: str, region: int) -> TxSender:
    """The officer's transaction sender (keystore decrypted once per process)."""
    with _lock:
        senders: dict[str, TxSender] = rt.extras.setdefault("page_officer_senders", {})
        sender = senders.get(address.lower())
        if sender is not None:
            return sender
        entry = _entries(rt).get(address.lower())
        if entry is None or entry.region != region:
            raise OfficerKeyMissing("本服务没有保存该管理员的签名密钥")
        if rt.settings.passphrase_file is None:
            raise OfficerKeyMissing("未配置密钥口令文件（HUREN_PASSPHRASE_FILE）")
        account = load_keystore(entry.keystore, Path(rt.settings.passphrase_file).read_text().strip())
        if account.address.lower() != address.lower():
            raise OfficerKeyMissing("密钥文件与管理员地址不符")
        sender = huren(rt).sender(account)
        senders[address.lower()] = sender
        return sender


def approve(rt: Any, address: str, region: int, proposal_id: int) -> ProposalOutcome:
    return huren(rt).approve(sender_for(rt, address, region), proposal_id)


def propose_recognition(rt: Any, address: str, region: int, action: str, type_code: str, issuer_region: int,
                        valid_from: int, valid_until: int) -> ProposalOutcome:
    """Propose (and so approve once) a change of this region's recognition policy."""
    client = huren(rt)
    sender = sender_for(rt, address, region)
    if action == "withdraw":
        return client.propose_regional(sender, region, "RecognitionPolicy", "withdrawRecognition", region,
                                       type_code_bytes32(type_code), issuer_region)
    return client.propose_regional(sender, region, "RecognitionPolicy", "setRecognition", region,
                                   type_code_bytes32(type_code), issuer_region, valid_from, valid_until)


def decode_call(rt: Any, target: str, data: bytes) -> tuple[str, str, dict[str, Any]]:
    """(contract, function, named arguments) of a proposal's call; ("", "", {}) if unknown."""
    names = {a.lower(): n for n, a in rt.manifest.addresses.items()}
    contract = names.get(target.lower(), "")
    abi = rt.abis.get(contract)
    if abi is None or len(data) < 4:
        return contract, "", {}
    for item in abi.abi:
        if item.get("type") != "function":
            continue
        fn = abi.functions.get(item["name"])
        if fn is not None and fn.selector == data[:4]:
            try:
                values = abi_decode(fn.input_types, data[4:])
            except Exception:
                return contract, fn.name, {}
            return contract, fn.name, {p["name"]: v for p, v in zip(item["inputs"], values, strict=False)}
    return contract, "", {}


def type_name_of(code: Any, names: dict[str, str]) -> str:
    text = type_code_from_bytes32(code) if isinstance(code, bytes) else str(code)
    return names.get(text, text)
