"""Plain words for the contracts' custom errors, so a refusal tells people what to do.

Messages are Chinese first (the people reading them are clerks and officers), with the
English error name kept by the caller for logs and support.
"""

from __future__ import annotations

from collections.abc import Mapping

_MESSAGES: dict[str, str] = {
    "NotOfficer": "调用者不是该地区的登记官员，无权发起或批准此操作。",
    "RegionMismatch": "提案中的地区与发起官员所属地区不一致：一个地区的官员不能替另一个地区操作。",
    "NotMember": "该地区不是联盟成员。",
    "AlreadyMember": "该地区已是联盟成员。",
    "ProposalExpired": "提案已过期，请重新发起。",
    "ProposalAlreadyExecuted": "提案已执行，无需再次批准。",
    "AlreadyApproved": "您已批准过该提案；双人双锁要求另一位官员批准。",
    "SignatureExpired": "签名已过期（超过签名时设定的截止时间），请在页面上重新签名。",
    "InvalidSignature": "签名与所署名的管理员不符，或签名内容与本次操作不一致。",
    "InvalidAccountNonce": "该签名的序号已被使用（签名不能重复提交），或不是管理员的下一个序号。",
    "UnknownProposal": "没有这个提案编号。",
    "ActionNotAllowed": "该操作不能通过这种提案执行。",
    "TargetNotAllowed": "提案目标合约不在允许范围内。",
    "NotConsortium": "只有联盟治理合约（经提案批准）可以执行此操作。",
    "IssuerAlreadyRegistered": "该发证部门已登记。",
    "UnknownIssuer": "没有登记这个发证部门。",
    "IssuerWrongRegion": "该发证部门不属于本地区，本地区官员无权处理。",
    "IssuerNotActive": "发证部门当前不是正常状态（已暂停或已吊销），不能上链发证。",
    "IssuerIsRevoked": "发证部门已被吊销，不能再变更证照状态。",
    "KeyAlreadyRegistered": "该签名密钥已登记给某个发证部门，密钥不能复用。",
    "UnknownKey": "该签名密钥没有登记给任何发证部门。",
    "KeyNotValid": "签名密钥不在有效期内（尚未生效或已停用）。",
    "KeyRetired": "签名密钥已停用。",
    "TypeNotAuthorised": "发证部门未被授权签发这类证照。",
    "UnknownType": "联盟没有定义这类证照。",
    "TypeInactive": "这类证照已停用。",
    "RootAlreadyAnchored": "这一批次的根哈希已经上链，不会重复上链。",
    "NotCertificateIssuer": "只有签发该证照的部门可以变更它的状态。",
    "NotInBatch": "证照哈希不在所给批次中（默克尔证明不成立）。",
    "NotGuomiBatch": "该批次不是按国密（SM3）上链的批次，请用国际算法（keccak 证明）的状态变更。",
    "SM2KeyWrongLength": "SM2公钥应为64字节（x||y，不带04前缀），请检查公钥格式。",
    "SM2KeyNotOnCurve": "SM2公钥不是SM2曲线上的点（可能抄错或截断），请核对公钥。",
    "CertificateRevoked": "证照已被撤销，撤销是最终状态，不能再变更。",
    "NotSuspended": "证照未处于暂扣状态，不能恢复。",
    "AlreadySuspended": "证照已处于暂扣状态。",
    "InvalidThreshold": "门限设置无效：必须至少为 1，且不超过该地区官员人数。",
    "InvalidTime": "时间参数无效。",
    "InvalidBaseUrl": "节点地址无效：须以 https:// 或 http:// 开头，只含可打印 ASCII 字符，最长 256 字节。",
    "NodeAlreadyRegistered": "本地区节点已登记；如需换地址请提议修改地址。",
    "UnknownNode": "本地区没有在册的节点（未登记或已移除）。",
    "SameBaseUrl": "新地址与当前登记的节点地址相同。",
    "UnsupportedAlgorithm": "密码套件与算法不匹配或不受支持"
                            "（套件 1：ed25519 / ecdsa-p256-sha256 / ecdsa-p384-sha384；套件 2：sm2-sm3）。",
    "InvalidPublicKey": "公钥长度或格式与所选算法不符。",
    "InvalidPurpose": "密钥用途无效：1 为节点间请求签名，2 为加注件签章。",
    "NodeKeyAlreadyRegistered": "该公钥已登记过（同一公钥只能用于一个地区的一种用途）。",
    "TooManyNodeKeys": "该节点登记的密钥已达上限。",
    "UnknownNodeKey": "没有登记这个节点密钥。",
    "NodeKeyWrongRegion": "该节点密钥不属于本地区，本地区官员无权处理。",
    "NodeKeyAlreadyRetired": "该节点密钥已停用。",
    "InvalidValidUntil": "停用时间无效：不能为 0，也不能早于密钥生效时间。",
}


def explain(error: str, args: Mapping[str, object]) -> str:
    base = _MESSAGES.get(error)
    detail = ", ".join(f"{k}={_fmt(v)}" for k, v in args.items())
    if base is None:
        base = f"合约拒绝了该操作（{error}）。"
    return f"{base} ({error}{': ' + detail if detail else ''})"


def _fmt(v: object) -> str:
    if isinstance(v, bytes):
        return "0x" + v.hex()
    return str(v)
