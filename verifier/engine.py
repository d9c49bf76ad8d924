"""The pure verification engine: presentation + ChainView + policy + now -> VerificationResult.

No I/O happens here: every chain fact comes from the `ChainView` passed in (the indexer's read
model, one eth_call per question, or a signed offline snapshot), and the clock is the `now`
argument, so a verification is reproducible and testable.

Order of checks, which is also the precedence of verdicts
---------------------------------------------------------
The checks run in the order below and verification **stops at the first failing check**; its
verdict is the answer. The order is chosen so that the earliest failure is the most
fundamental one and everything after it would rest on facts already shown wrong:

 0. crypto_suite         NOT_RECOGNISED         the code's suite (1 international, 2 国密) is one
                                                this policy reads (`suites`)
 1. structure            MALFORMED              the always-disclosed fields, well-typed
 2. presentation_window  MALFORMED (made in the future) / PRESENTATION_EXPIRED
 3. disclosure_proof     TAMPERED               fields <-> document root (OZ multiproof)
 4. batch_proof          TAMPERED               document root <-> batch root
 5. issuer_signature     TAMPERED               EIP-712 signature over the document root (suite 1);
                                                suite 2: the SM2 signature's form and key id only
 6. holder_binding       HOLDER_BINDING_FAILED  (see presentation.py for the rule)
 7. stamp                PRESENTATION_EXPIRED   the window and 事由 are covered by a 加注 stamp or
                                                by the bound holder's signature (an HR1 code has
                                                no stamp; `accept_hr1` False refuses HR1 here)
    -- chain facts from here on; ChainUnavailable anywhere -> UNAVAILABLE --
 8. status_freshness     UNAVAILABLE            facts older than the policy bound (chain clock)
 9. stamp_signature      TAMPERED               only for stamped codes: made by a stamping key the
                                                registry lists for the issuing region's node at
                                                created_at, over exactly this envelope (in HR2
                                                this also covers the derived batch root); then
                                                PRESENTATION_EXPIRED if it names another audience
10. anchor               NOT_ANCHORED
11. issuer_identity      TAMPERED               disclosed creditCode is the anchoring issuer
12. certificate_type     TAMPERED               disclosed type is the anchored type
13. finality             PENDING_FINALITY
14. issuer_registered    UNKNOWN_ISSUER
14a. sm2_issuer_signature TAMPERED              suite 2 only: the SM2 signature over the document root
                                                verifies with the public key the registry holds for
                                                the key id (an unknown or secp256k1 key: TAMPERED)
15. signing_key          TAMPERED if the signer is no registered key at all (swapped/forged
                        signature); ISSUER_NOT_AUTHORISED if it is another issuer's key or
                        was not valid at anchor time
16. anchoring_key        ISSUER_NOT_AUTHORISED  same for the key that sent the anchor tx
17. issuer_region        ISSUER_NOT_AUTHORISED  disclosed region is the registered region
18. issuer_standing      ISSUER_REVOKED         issuer revoked at or before the anchor time
19. certificate_status   REVOKED, then SUSPENDED
20. validity_period      EXPIRED / NOT_YET_VALID (calendar days in China time, UTC+8)
21. recognition          NOT_RECOGNISED         own region, or a rule in force now

Consequences, stated because they are decisions:

* TAMPERED beats every verdict after the check that finds it; REVOKED beats SUSPENDED beats
  EXPIRED beats NOT_YET_VALID; NOT_RECOGNISED is only ever reported for a certificate that
  passed every other check (genuine and in force, just not accepted here).
* An expired or stale presentation is refused *before* any cryptography or chain query:
  a screenshot is answered "ask for a fresh code" and learns nothing about the certificate.
* Integrity runs before holder binding (the brief listed binding first): `holder.address` is
  a disclosed field, so it is only meaningful once proven part of the signed document. In HR1 a
  forged address therefore reads TAMPERED (disclosure_proof). HR2 carries no roots, so a forged
  field leads to other roots that no signature covers: with a holder signature the first to
  notice is holder_binding (HOLDER_BINDING_FAILED), otherwise the stamp (TAMPERED).
* The stamp is judged before the anchor: a re-timed, re-purposed or spliced code reads TAMPERED
  (or PRESENTATION_EXPIRED when nothing covers its window at all), never NOT_ANCHORED; in HR2
  the batch root is derived from the batch proof, so a changed batch proof is caught here too.
* Pure checks (1-7) need no chain: an HR1 code whose fields or proofs were changed is called
  TAMPERED even when the chain is down; a changed HR2 code is caught by a signature over its
  derived roots — the holder's (pure) or the stamp, whose keys are chain facts, so with the
  chain down it reads UNAVAILABLE, never VALID. Once chain facts are needed, ChainUnavailable
  from the view, or facts older than
  `max_facts_age_s` (now minus the timestamp of the newest block they come from, the same rule
  for the index, the RPC view and a snapshot: common/freshness.py), gives UNAVAILABLE with the
  reason and the checks run so far; it is never turned into an "invalid" verdict, and a
  partial answer is never given as a verdict.
* The anchor-vs-document comparisons (11, 12) come before finality: a mismatch is a forgery
  signal whatever the confirmations; a matching but young anchor is PENDING_FINALITY.
* Only the revocation point of an issuer voids certificates (those anchored at or after it);
  an issuer's suspension stops new anchors (the contract's job) and leaves earlier ones valid.
* Type authorisation is enforced by the ledger contract at anchor time; the engine checks that
  the document's type equals the anchored type, so a later withdrawal of the authorisation
  does not void earlier certificates.

Input: a `Presentation` as `codec.decode` produces it (types and sizes already checked);
`verify_text` does both steps and turns a refused code into MALFORMED.

Speed (tests/unit/verifier/test_verifier_engine.py, in-memory view, one core, CPU time, best
of 5 x 600): about 4,300 verifications/s unbound and 2,900-3,100/s holder-bound on this
machine (measured with the load average at 4-5 from other work). The cost is two secp256k1
recoveries through libsecp256k1 (coincurve, about 70 us each; the EIP-712 domain separator
is cached on `Domain`), then the disclosed fields' leaves (RFC 8785 + keccak, about 5 us each) and the Merkle proofs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

from common.eip712 import Domain
from common.facts import (
    AnchorFacts,
    ChainUnavailable,
    ChainView,
    Freshness,
    IssuerFacts,
    IssuerStatus,
    RecognitionRule,
)
from common.freshness import facts_age_s
from verifier import checks as c
from verifier.checks import CheckResult, Core
from verifier.codec import PresentationDecodeError, decode
from verifier.presentation import Presentation
from verifier.verdicts import Verdict

__all__ = ["IssuerSummary", "VerificationResult", "VerifierPolicy", "verify", "verify_text"]


@dataclass(frozen=True)
class VerifierPolicy:
    """How strict this verifier deployment is, and which deployment (EIP-712 domain) it serves."""

    #: GB/T 2260 code of the region this verifier works for (e.g. 310000 上海市).
    region: int
    #: EIP-712 domain of the ledger deployment (chain id + AnchorLedger address).
    domain: Domain
    #: Confirmations an anchor needs before it counts (DESIGN.md, Finality).
    confirmations: int = 2
    #: Tolerated difference between the holder's phone clock and ours.
    clock_skew_s: int = 60
    #: A presentation older than this is refused even if its own expiry is later.
    max_presentation_age_s: int = 600
    #: Status facts whose newest block is older than this (seconds, on the chain's clock) give
    #: UNAVAILABLE — one bound for the index, the RPC view and an offline snapshot alike. It
    #: is how late a revocation may reach this verifier; it must exceed the chain's block
    #: period. An offline deployment that answers from hourly snapshots sets it accordingly,
    #: knowing it accepts revocations that late.
    max_facts_age_s: int = 30
    #: Refuse presentations that are not signed by a bound holder key: every certificate ...
    require_holder_binding: bool = False
    #: ... or only certificates of these type codes (证照类型代码) ...
    holder_binding_types: frozenset[str] = frozenset()
    #: ... or only certificates issued in these regions (the disclosed issuer.region).
    holder_binding_regions: frozenset[int] = frozenset()
    #: Read legacy "HR1:" codes (they carry no stamp: only a holder-signed one can be VALID).
    accept_hr1: bool = True
    #: Crypto suites this deployment reads (common/suites.py): 1 international, 2 国密.
    suites: frozenset[int] = frozenset({1, 2})

    def __post_init__(self) -> None:
        if type(self.region) is not int or not 100000 <= self.region <= 999999:
            raise ValueError(f"region must be a six-digit GB/T 2260 code, got {self.region!r}")
        for name in ("confirmations", "clock_skew_s", "max_presentation_age_s", "max_facts_age_s"):
            value = getattr(self, name)
            if type(value) is not int or value < 0:
                raise ValueError(f"{name} must be a non-negative int, got {value!r}")
        if not isinstance(self.holder_binding_types, frozenset) or not all(
                type(t) is str for t in self.holder_binding_types):
            raise ValueError("holder_binding_types must be a frozenset of type codes")
        if not isinstance(self.suites, frozenset) or not self.suites or not self.suites <= {1, 2}:
            raise ValueError(f"suites must be a non-empty frozenset of 1 and/or 2, got {self.suites!r}")
        if not isinstance(self.holder_binding_regions, frozenset) or not all(
                type(r) is int and 100000 <= r <= 999999 for r in self.holder_binding_regions):
            raise ValueError("holder_binding_regions must be a frozenset of six-digit region codes")

    def binding_required(self, type_code: str, issuer_region: int) -> str | None:
        """Why this policy requires a holder-bound code for a certificate of this type and issuing
        region (words for the check's detail), or None when it does not."""
        if self.require_holder_binding:
            return "所有证照"
        if type_code in self.holder_binding_types:
            return "该类证照"
        if issuer_region in self.holder_binding_regions:
            return f"地区 {issuer_region} 签发的证照"
        return None


@dataclass(frozen=True)
class IssuerSummary:
    """The issuing department as far as this verification established it."""

    issuer_id: bytes
    credit_code: str | None
    region: int | None
    name: str | None
    status: IssuerStatus | None

    def to_dict(self) -> dict[str, object]:
        return {
            "issuer_id": "0x" + self.issuer_id.hex(),
            "credit_code": self.credit_code,
            "region": self.region,
            "name": self.name,
            "status": None if self.status is None else self.status.name,
        }


@dataclass(frozen=True)
class VerificationResult:
    """The answer: a verdict with the checks behind it and the facts it rests on. Never a bare bool."""

    verdict: Verdict
    checks: list[CheckResult]
    disclosed: dict[str, object]
    issuer: IssuerSummary | None
    anchor: AnchorFacts | None
    certificate_hash: bytes | None
    freshness: Freshness | None
    verified_at: int
    purpose: str | None
    holder_bound: bool = False
    type_name: str | None = None
    #: Why the verdict could not be reached (UNAVAILABLE) or the code refused (MALFORMED decode).
    reason: str | None = None
    nonce: bytes | None = None
    presentation_created_at: int | None = None
    presentation_expires_at: int | None = None

    @property
    def ok(self) -> bool:
        """True only for VALID (for callers that must branch; the verdict says why not)."""
        return self.verdict is Verdict.VALID

    @property
    def facts_age_s(self) -> int | None:
        """How old the status facts were at verification time (seconds), if chain facts were used."""
        return None if self.freshness is None else int(facts_age_s(self.verified_at, self.freshness.head_time))

    def to_dict(self) -> dict[str, object]:
        """JSON-friendly form (bytes as 0x-hex) for the API and the verification log."""
        anchor = self.anchor
        freshness = self.freshness
        return {
            "verdict": str(self.verdict),
            "label": self.verdict.label,
            "advice": self.verdict.advice,
            "outcome": self.verdict.outcome,
            "reason": self.reason,
            "checks": [check.to_dict() for check in self.checks],
            "disclosed": dict(self.disclosed),
            "certificate_hash": None if self.certificate_hash is None else "0x" + self.certificate_hash.hex(),
            "type_name": self.type_name,
            "issuer": None if self.issuer is None else self.issuer.to_dict(),
            "anchor": None
            if anchor is None
            else {
                "batch_root": "0x" + anchor.batch_root.hex(),
                "tx_hash": "0x" + anchor.tx_hash.hex(),
                "block_number": anchor.block_number,
                "block_hash": "0x" + anchor.block_hash.hex(),
                "timestamp": anchor.timestamp,
                "confirmations": anchor.confirmations,
                "key": anchor.key,
                "type_code": anchor.type_code,
            },
            "freshness": None
            if freshness is None
            else {
                "height": freshness.height,
                "head_time": freshness.head_time,
                "source": freshness.source,
                "age_s": self.facts_age_s,
                "note": freshness.note or None,
            },
            "holder_bound": self.holder_bound,
            "purpose": self.purpose,
            "nonce": None if self.nonce is None else "0x" + self.nonce.hex(),
            "presentation_created_at": self.presentation_created_at,
            "presentation_expires_at": self.presentation_expires_at,
            "verified_at": self.verified_at,
        }


@dataclass
class _Run:
    """State of one verification while its checks run."""

    presentation: Presentation
    now: int
    checks: list[CheckResult] = field(default_factory=list)
    verdict: Verdict | None = None
    core: Core | None = None
    anchor: AnchorFacts | None = None
    issuer: IssuerFacts | None = None
    freshness: Freshness | None = None
    holder_bound: bool = False
    type_name: str | None = None
    reason: str | None = None

    def passes(self, check: CheckResult) -> bool:
        """Record a check; on failure fix the verdict (the first failure decides)."""
        self.checks.append(check)
        if not check.ok:
            self.verdict = check.verdict_if_failed or Verdict.MALFORMED
        return check.ok

    def result(self) -> VerificationResult:
        p = self.presentation
        disclosed = {f.path: f.value for f in p.disclosure.fields}
        summary = None
        if self.anchor is not None:
            credit = disclosed.get("issuer.creditCode")
            name = disclosed.get("issuer.name")
            summary = IssuerSummary(
                issuer_id=self.anchor.issuer_id,
                credit_code=credit if isinstance(credit, str) else None,
                region=self.issuer.region if self.issuer is not None else None,
                name=name if isinstance(name, str) else None,
                status=self.issuer.status if self.issuer is not None else None,
            )
        return VerificationResult(
            verdict=self.verdict or Verdict.VALID,
            checks=self.checks,
            disclosed=disclosed,
            issuer=summary,
            anchor=self.anchor,
            certificate_hash=p.document_root if type(p.document_root) is bytes else None,
            freshness=self.freshness,
            verified_at=self.now,
            purpose=p.purpose,
            holder_bound=self.holder_bound,
            type_name=self.type_name,
            reason=self.reason,
            nonce=p.nonce,
            presentation_created_at=p.created_at,
            presentation_expires_at=p.expires_at,
        )


def verify(presentation: Presentation, view: ChainView, policy: VerifierPolicy, now: int) -> VerificationResult:
    """Verify one presentation at time `now` (unix seconds) against `view` under `policy`.

    Always returns a VerificationResult; exceptions other than ChainUnavailable raised by the
    view (programming errors) propagate.
    """
    run = _Run(presentation=presentation, now=now)
    try:
        _pipeline(run, view, policy)
    except ChainUnavailable as exc:
        run.reason = str(exc) or "链上数据暂不可用"
        run.passes(CheckResult("chain_access", False, f"暂时无法取得链上状态：{run.reason}", Verdict.UNAVAILABLE))
    return run.result()


def _pipeline(run: _Run, view: ChainView, policy: VerifierPolicy) -> None:
    p = run.presentation
    if not run.passes(c.check_suite(p, policy.suites)):
        return
    structure, core = c.check_structure(p)
    if not run.passes(structure) or core is None:
        return
    run.core = core
    if not run.passes(c.check_presentation_window(p, run.now, policy.clock_skew_s, policy.max_presentation_age_s)):
        return
    disclosure, leaves = c.check_disclosure_proof(p)
    if not run.passes(disclosure) or leaves is None:
        return
    if not run.passes(c.check_batch_proof(p)):
        return
    disclosed_signer = next((f.value for f in p.disclosure.fields if f.path == _SIGNING_ADDRESS), None)
    signature, signer = c.check_issuer_signature(p, policy.domain, disclosed_signer)
    if not run.passes(signature) or signer is None:
        return
    required = policy.binding_required(core.type_code, core.region)
    binding, run.holder_bound = c.check_holder_binding(p, policy.domain, leaves, required is not None, required or "")
    if not run.passes(binding):
        return
    if not run.passes(c.check_stamp_present(p, run.holder_bound, policy.accept_hr1)):
        return

    # Chain facts from here on. The view may raise ChainUnavailable at any call.
    run.freshness = view.freshness()
    if not run.passes(c.check_freshness(run.freshness, run.now, policy.max_facts_age_s)):
        run.reason = run.checks[-1].detail
        return
    if p.stamp is not None:
        keys = view.stamp_keys(core.region, p.created_at)
        if not run.passes(c.check_stamp_key(p, policy.domain, leaves, core.region, keys, policy.region)):
            return
    anchor = view.anchor(p.batch_root)
    if not run.passes(c.check_anchor(anchor, p.batch_root)) or anchor is None:
        return
    run.anchor = anchor
    if not run.passes(c.check_issuer_identity(core, anchor)):
        return
    type_facts = view.type_info(core.type_code)
    run.type_name = type_facts.name if type_facts is not None else None
    if not run.passes(c.check_type(core, anchor, type_facts)):
        return
    if not run.passes(c.check_finality(anchor, policy.confirmations)):
        return
    issuer = view.issuer(anchor.issuer_id)
    if not run.passes(c.check_issuer_known(issuer)) or issuer is None:
        return
    run.issuer = issuer
    signing_key = view.key(signer)
    if p.suite == 2 and not run.passes(c.check_sm2_issuer_signature(p, policy.domain, signing_key)):
        return
    if not run.passes(c.check_signing_key(signer, signing_key, anchor)):
        return
    if not run.passes(c.check_anchoring_key(anchor, view.key(anchor.key))):
        return
    if not run.passes(c.check_issuer_region(core, issuer)):
        return
    if not run.passes(c.check_issuer_standing(issuer, anchor)):
        return
    if not run.passes(c.check_certificate_status(view.certificate_status(p.document_root, anchor.issuer_id))):
        return
    if not run.passes(c.check_validity_period(core, run.now)):
        return
    rule = None
    if issuer.region != policy.region:
        rule = view.recognition(policy.region, core.type_code, issuer.region, run.now)
        if rule is not None and not _rule_applies(rule, policy.region, core.type_code, issuer.region, run.now):
            rule = None
    run.passes(c.check_recognition(issuer, core.type_code, policy.region, rule))


_SIGNING_ADDRESS: Final[str] = "issuer.signingAddress"


def _rule_applies(rule: object, verifier_region: int, type_code: str, issuer_region: int, now: int) -> bool:
    """Defence in depth: the view's rule must really be for us, this type, this region, and in force."""
    return (
        isinstance(rule, RecognitionRule)
        and rule.verifier_region == verifier_region
        and rule.type_code == type_code
        and rule.issuer_region in (issuer_region, 0)
        and rule.in_force_at(now)
    )


def verify_text(text: str, view: ChainView, policy: VerifierPolicy, now: int) -> VerificationResult:
    """Decode an "HR2:" (or legacy "HR1:") text and verify it; one that does not decode is MALFORMED."""
    try:
        presentation = decode(text)
    except PresentationDecodeError as exc:
        check = CheckResult("decode", False, str(exc), Verdict.MALFORMED)
        return VerificationResult(
            verdict=Verdict.MALFORMED,
            checks=[check],
            disclosed={},
            issuer=None,
            anchor=None,
            certificate_hash=None,
            freshness=None,
            verified_at=now,
            purpose=None,
            reason=str(exc),
        )
    return verify(presentation, view, policy, now)
