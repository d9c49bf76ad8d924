"""Region officers' signed acts on the 区域管理 page: proposals and approvals (双人双锁).

Officers' keys never reach a node. The officer opens their own encrypted keystore in the page
(`api/pages/static/officer.js`: decrypted in the browser with the vendored @noble libraries)
and signs the act as EIP-712 typed data (`ledger/officer_acts.py`); the page posts only the
proposal number or the form, the nonce, the deadline and the signature. This module checks,
before spending anything, that the signature is the signed-in officer's own (the address comes
from the session's credential, never from the form), that the nonce is the officer's next one
on chain and the deadline near, then relays it with the node's own relayer account
(`settings.relayer_keystore`, like a department key: production puts it in an HSM or a remote
signer). The relayer gains no power: the contract counts the act for the signing officer only,
so whoever holds this node's files and database still needs k officers' keys to change anything.

Why an in-page keystore rather than a browser wallet extension: government desktops rarely
allow extensions, and the keystore file is the standard Ethereum V3 format an officer can also
keep on a USB key or open in any wallet. Its limit is stated in the README: the page's script
comes from the node, so a node that serves a malicious script could capture the key when it is
opened; an officer that is an ERC-1271 contract account (a hardware or passkey signer) closes
that gap and needs no change to the contract.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eth_abi import decode as abi_decode

from common.document import type_code_bytes32, type_code_from_bytes32
from ledger.clients import Huren, ProposalOutcome
from ledger.keystore import load_keystore
from ledger.officer_acts import BadSignature, OfficerAct
from ledger.sender import TxSender

_lock = threading.Lock()

#: A signed act must be relayed within this long of its signing: a captured signature is
#: useless after it (besides its one-time nonce).
MAX_DEADLINE_AHEAD_S = 3600


class SignedActRefused(Exception):
    """The signed act is not relayed: HTTP status and the reason in words."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class SignedAct:
    """What the page posts besides the act itself."""

    nonce: int
    deadline: int
    signature: bytes


def parse_signed(nonce: str, deadline: str, signature: str) -> SignedAct:
    """The posted fields, or a 400 refusal in words (an empty signature: no key was opened)."""
    if not signature:
        raise SignedActRefused(400, "本页没有收到您的签名：请先在“签名密钥”处打开您的密钥文件并输入口令，"
                                    "再提交。服务器不保存管理员密钥，不能代您签名。")
    try:
        sig = bytes.fromhex(signature.removeprefix("0x"))
        return SignedAct(int(nonce), int(deadline), sig)
    except ValueError:
        raise SignedActRefused(400, "签名、序号或截止时间格式无效。") from None


def huren(rt: Any) -> Huren:
    client = rt.extras.get("page_huren")
    if client is None:
        client = rt.extras["page_huren"] = Huren(rt.rpc, rt.manifest, rt.abis)
    return client  # type: ignore[no-any-return]


def relayer(rt: Any) -> TxSender:
    """The node's own relaying account (keystore decrypted once per process).

    Cached for the life of the process, which is safe because a `TxSender` keeps no nonce of
    its own: it reads the chain's pending nonce on every send (ledger/sender.py).
    """
    with _lock:
        sender: TxSender | None = rt.extras.get("page_relayer")
        if sender is not None:
            return sender
        path: Path | None = getattr(rt.settings, "relayer_keystore", None)
        if path is None or not Path(path).exists() or rt.settings.passphrase_file is None:
            raise SignedActRefused(503, "本节点没有配置转发账户（HUREN_RELAYER_KEYSTORE），"
                                        "无法把您的签名提交上链。请联系运维。")
        account = load_keystore(Path(path), Path(rt.settings.passphrase_file).read_text().strip())
        sender = rt.extras["page_relayer"] = huren(rt).sender(account)
        return sender


def signing_context(rt: Any, officer: str) -> dict[str, Any]:
    """What the page needs to sign: the EIP-712 domain and the officer's next nonce (None if unknown)."""
    client = huren(rt)
    try:
        nonce: int | None = client.officer_nonce(officer)
    except Exception:  # the chain is down: the page says it cannot sign now
        nonce = None
    return {"chain_id": rt.manifest.chain_id, "consortium": client.address("Consortium"), "officer": officer,
            "nonce": nonce}


def _check(rt: Any, act: OfficerAct, officer: str, signed: SignedAct) -> None:
    """Refuse before relaying: expired or far deadline, used or future nonce, another signer."""
    now = int(time.time())
    if signed.deadline < now:
        raise SignedActRefused(409, "签名已过期（超过签名时设定的截止时间），没有提交。请在本页重新签名。")
    if signed.deadline > now + MAX_DEADLINE_AHEAD_S:
        raise SignedActRefused(422, "签名的截止时间过远（最多 1 小时），没有提交。请在本页重新签名。")
    try:
        signer = act.signer(signed.signature)
    except BadSignature as exc:
        raise SignedActRefused(400, f"签名无效：{exc}。") from None
    if signer.lower() != officer.lower():
        raise SignedActRefused(403, f"签名人 {signer} 不是当前登录的管理员 {officer}：只能提交您本人的签名。")
    current = huren(rt).officer_nonce(officer)
    if signed.nonce < current:
        raise SignedActRefused(409, "该签名已经提交过（序号已使用），不能重复提交。请刷新本页后重新签名。")
    if signed.nonce > current:
        raise SignedActRefused(409, "签名的序号不是您的下一个序号，没有提交。请刷新本页后重新签名。")


def approve(rt: Any, officer: str, proposal_id: int, signed: SignedAct) -> ProposalOutcome:
    """Check the officer's signed approval of `proposal_id`, then relay it."""
    client = huren(rt)
    act = client.approve_act(proposal_id, officer, signed.nonce, signed.deadline)
    _check(rt, act, officer, signed)
    return client.approve_by_sig(relayer(rt), proposal_id, officer, signed.nonce, signed.deadline, signed.signature)


def recognition_call(rt: Any, region: int, action: str, type_code: str, issuer_region: int, valid_from: int,
                     valid_until: int) -> tuple[str, bytes]:
    """(target, calldata) of a change of `region`'s recognition policy, exactly as the officer signs it."""
    client = huren(rt)
    if action == "withdraw":
        return client.regional_call("RecognitionPolicy", "withdrawRecognition", region,
                                    type_code_bytes32(type_code), issuer_region)
    return client.regional_call("RecognitionPolicy", "setRecognition", region, type_code_bytes32(type_code),
                                issuer_region, valid_from, valid_until)


def propose(rt: Any, officer: str, region: int, target: str, data: bytes, signed: SignedAct) -> ProposalOutcome:
    """Check the officer's signed regional proposal (which is also their first approval), then relay it."""
    client = huren(rt)
    act = client.propose_regional_act(region, target, data, officer, signed.nonce, signed.deadline)
    _check(rt, act, officer, signed)
    return client.propose_regional_by_sig(relayer(rt), region, target, data, officer, signed.nonce,
                                          signed.deadline, signed.signature)


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
