"""Plain words for the contracts' custom errors, so a refusal tells people what to do.

Messages are Chinese first (the people reading them are clerks and officers), with the
English error name kept by the caller for logs and support.
"""

from __future__ import annotations

from collections.abc import Mapping

_MESSAGES: dict[str, str] = {
    # -- Consortium (governance: regions, officers, types, proposals, signed acts) ----------
    "NotDeployer": "只有部署合约的账户可以绑定各注册合约，且仅限绑定之前；请用部署账户操作，或联系技术支持。",
    "AlreadyBound": "联盟合约已与各注册合约绑定；绑定只能进行一次，不能更改。",
    "BindingMismatch": "所给合约没有指向本联盟合约（或账本合约没有指向所给的发证部门注册合约），不能绑定；"
                       "请核对部署清单中的合约地址。",
    "ZeroAddress": "地址不能为空（全零地址）；请填写有效的账户或合约地址。",
    "NotSelf": "此操作只能在提案获批后由联盟治理合约执行，不能直接调用；请发起相应的提案。",
    "LengthMismatch": "创建联盟时，地区列表与官员列表（或门限列表）的条目数不一致；请逐一对应后重新部署。",
    "NoRegions": "创建联盟至少需要一个成员地区；请在部署配置中填写成员地区。",
    "InvalidRegion": "地区代码无效：须为 6 位 GB/T 2260 行政区划代码（100000–999999；互认规则中 0 表示所有地区）；"
                     "请核对地区代码。",
    "NotMember": "该地区不是联盟成员。",
    "AlreadyMember": "该地区已是联盟成员。",
    "LastRegion": "不能移除联盟的最后一个成员地区；如确需更换，请先接纳新地区再移除。",
    "NotOfficer": "调用者不是该地区的登记官员，无权发起或批准此操作。",
    "OfficerAlreadyAssigned": "该账户已是某个地区的登记官员（一个账户只能在一个地区任职）；"
                              "请换用其他账户，或先将其从原地区移除。",
    "TooManyOfficers": "该地区的登记官员已达上限（32 人）；请先移除不再任职的官员。",
    "NoOfficers": "接纳地区时必须至少指定一名登记官员；请填写官员账户后重新提议。",
    "InvalidThreshold": "门限设置无效：必须至少为 1，且不超过该地区官员人数。",
    "InvalidQuorum": "联盟法定通过比例无效：须在 5000（过半数）到 9999（全体一致）基点之间；请修改后重新提议。",
    "InvalidProposalTtl": "提案有效期无效：须在 1 小时到 90 天之间；请修改后重新提议。",
    "InvalidTypeCode": "证照类型代码无效（为空，或以零字节开头）；请核对类型代码。",
    "EmptyTypeName": "证照类型名称不能为空；请填写类型名称后重新提议。",
    "TypeVersionDowngrade": "证照类型的版本号不能低于当前版本；请填写不低于当前版本的版本号。",
    "TooManyTypes": "联盟定义的证照类型已达上限，不能再新增；可以更新已有类型。",
    "TargetNotAllowed": "提案目标合约不在允许范围内。",
    "SelectorNotAllowed": "该操作不能通过这种提案执行（地区提案与联盟提案允许的操作不同）；请选择正确的提案类型。",
    "MalformedCall": "提案内容格式不正确（缺少操作或地区参数）；请在页面上重新生成提案。",
    "RegionMismatch": "提案中的地区与发起官员所属地区不一致：一个地区的官员不能替另一个地区操作。",
    "UnknownProposal": "没有这个提案编号。",
    "ProposalAlreadyExecuted": "提案已执行，无需再次批准。",
    "ProposalExpired": "提案已过期，请重新发起。",
    "ProposalVoid": "提案已作废：发起后有官员或成员地区被移除，已有的批准不再有效；请重新发起提案。",
    "AlreadyApproved": "您已批准过该提案；双人双锁要求另一位官员批准。",
    "ExecutionFailed": "提案已获足够批准，但执行时被目标合约拒绝且未说明原因，本次批准未记录；"
                       "请核对提案内容后重新发起，或联系技术支持。",
    "SignatureExpired": "签名已过期（超过签名时设定的截止时间），请在页面上重新签名。",
    "InvalidSignature": "签名与所署名的管理员不符，或签名内容与本次操作不一致。",
    # OpenZeppelin Nonces (used by the Consortium's signed acts)
    "InvalidAccountNonce": "该签名的序号已被使用（签名不能重复提交），或不是管理员的下一个序号。",
    # -- IssuerRegistry (issuing departments, their keys and types) -------------------------
    "NotConsortium": "只有联盟治理合约（经提案批准）可以执行此操作。",
    "InvalidIssuerId": "发证部门标识为空；请核对该部门的统一社会信用代码。",
    "EmptyName": "发证部门名称不能为空；请填写部门的正式名称后重新提议。",
    "IssuerAlreadyRegistered": "该发证部门已登记。",
    "UnknownIssuer": "没有登记这个发证部门。",
    "IssuerWrongRegion": "该发证部门不属于本地区，本地区官员无权处理。",
    "IssuerNotActive": "发证部门当前不是正常状态（已暂停或已吊销），不能上链发证。",
    "IssuerNotSuspended": "发证部门未处于暂停状态，不能恢复；只有被暂停的部门才能恢复（已吊销的部门不能恢复）。",
    "IssuerAlreadyRevoked": "发证部门已被吊销（吊销是最终状态），不能再吊销、添加签名密钥或授权证照类型。",
    "InvalidEffectiveFrom": "吊销生效时间无效：不能早于该部门的登记时间，也不能晚于当前时间；请重新填写生效时间。",
    "InvalidKey": "签名密钥为空（全零地址或全零公钥）；请核对密钥。",
    "KeyAlreadyRegistered": "该签名密钥已登记给某个发证部门，密钥不能复用。",
    "SM2KeyWrongLength": "SM2公钥应为64字节（x||y，不带04前缀），请检查公钥格式。",
    "SM2KeyNotOnCurve": "SM2公钥不是SM2曲线上的点（可能抄错或截断），请核对公钥。",
    "UnknownKey": "该签名密钥没有登记给任何发证部门。",
    "KeyNotOfIssuer": "该签名密钥不属于这个发证部门（或根本没有登记），不能由该部门停用；请核对密钥与部门。",
    "KeyAlreadyRetired": "签名密钥已停用；停用是最终操作，不能再次停用或更改停用时间。",
    "InvalidValidUntil": "停用时间无效：不能为 0，也不能早于密钥生效时间。",
    "KeyNotValid": "签名密钥不在有效期内（尚未生效或已停用）。",
    "UnknownType": "联盟没有定义这类证照。",
    "TypeNotActive": "这类证照已被联盟停用，不能授权或上链；如需恢复，须由联盟提案重新启用该类型。",
    "TypeAlreadyGranted": "发证部门已被授权签发这类证照，无需重复授权。",
    "TypeNotGranted": "发证部门没有这类证照的签发授权，无需撤回。",
    "TypeNotAuthorised": "发证部门未被授权签发这类证照。",
    # -- AnchorLedger (batch anchors and certificate status) --------------------------------
    "EmptyRoot": "批次根哈希为全零，不能上链；请重新生成该批次，如反复出现请联系技术支持。",
    "EmptyBatch": "批次中没有证照（证照数为 0），不能上链；请先在批次中加入证照。",
    "RootAlreadyAnchored": "这一批次的根哈希已经上链，不会重复上链。",
    "RootNotAnchored": "该批次尚未上链，不能变更其中证照的状态；请等批次上链完成后再试。",
    "NotCertificateIssuer": "只有签发该证照的部门可以变更它的状态。",
    "IssuerRevoked": "签发该证照的部门已被吊销，不能再变更其证照的状态；如有疑问请联系本地区登记官员。",
    "NotInBatch": "证照哈希不在所给批次中（默克尔证明不成立）。",
    "CertificateRevoked": "证照已被撤销，撤销是最终状态，不能再变更。",
    "CertificateNotInForce": "证照已处于暂扣状态，不能再次暂扣；如需恢复请使用“恢复”，如需撤销可直接撤销。",
    "CertificateNotSuspended": "证照未处于暂扣状态，不能恢复；只有被暂扣的证照才需要恢复。",
    "NotGuomiBatch": "该批次不是按国密（SM3）上链的批次，请用国际算法（keccak 证明）的状态变更。",
    # -- RecognitionPolicy (mutual recognition rules) ---------------------------------------
    "SelfRecognition": "本地区签发的证照在本地区始终被承认，无需设置互认规则；请选择其他发证地区。",
    "InvalidWindow": "互认有效期无效：结束时间须晚于开始时间（结束时间为 0 表示长期有效）；请修改后重新提议。",
    "RecognitionNotInForce": "没有正在生效的这条互认规则（从未设置或已结束），无需撤回。",
    # -- NodeRegistry (federation nodes and their keys) -------------------------------------
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
    # -- StatusReader -----------------------------------------------------------------------
    "NotBound": "联盟合约尚未绑定各注册合约，暂时无法查询证照状态；请联系技术支持完成部署。",
    # -- VerificationLogAnchor (heads of verifiers' verification logs) ----------------------
    "EmptyHead": "核验日志的链头哈希为全零，不能上链；请检查核验日志后重试。",
    "LogDidNotGrow": "核验日志的条目数没有超过上次上链时的条目数（日志只增不减），本次不上链；"
                     "请在有新的核验记录后再上链。如条目数反而变少，日志可能被删改，请联系审计人员。",
    "NoHeadAnchored": "该运营方还没有将任何核验日志链头上链。",
    "UnknownAnchor": "该运营方没有这个序号的核验日志上链记录；序号从 0 开始，须小于已上链次数。",
}


def explain(error: str, args: Mapping[str, object]) -> str:
    """The plain message for `error`, followed by the error name and its arguments.

    The name and arguments are kept so that support can match what the clerk saw against the
    logs; an error without a message (a new contract error) still names itself instead of
    being hidden.
    """
    base = _MESSAGES.get(error)
    detail = ", ".join(f"{k}={_fmt(v)}" for k, v in args.items())
    if base is None:
        base = f"合约拒绝了该操作（{error}）。"
    return f"{base} ({error}{': ' + detail if detail else ''})"


def _fmt(v: object) -> str:
    if isinstance(v, bytes):
        return "0x" + v.hex()
    return str(v)
