"""Each refusal of a node request is its own type, code, status and message (federation.refusals)."""

from __future__ import annotations

from federation import refusals

ALL = [c for c in vars(refusals).values()
       if isinstance(c, type) and issubclass(c, refusals.RequestRefused) and c is not refusals.RequestRefused]
NOT_PROVEN = {refusals.SignatureMissing, refusals.SignatureInvalid, refusals.DigestMismatch, refusals.SignatureTooOld,
              refusals.SignatureExpired, refusals.SignatureFromFuture, refusals.Replayed, refusals.UnknownKey}
NOT_ALLOWED = {refusals.UnknownNode, refusals.WrongKey, refusals.RetiredKey, refusals.KeyOutsideWindow}


def test_every_refusal_has_a_code_of_its_own():
    codes = [c.code for c in ALL]
    assert len(ALL) == 12 and len(set(codes)) == len(codes)
    assert all(code.startswith("NODE_") and code.isupper() for code in codes)


def test_a_request_that_proves_no_sender_is_401_and_a_sender_the_registry_forbids_is_403():
    assert set(ALL) == NOT_PROVEN | NOT_ALLOWED
    assert {c.status for c in NOT_PROVEN} == {401} and {c.status for c in NOT_ALLOWED} == {403}


def test_every_refusal_carries_a_chinese_hint_for_the_calling_nodes_operator():
    assert all(c.hint and any("\u4e00" <= ch <= "\u9fff" for ch in c.hint) for c in ALL)


def test_a_refusal_renders_in_the_apis_error_shape():
    body = refusals.RetiredKey("密钥 130000:1 已停用 (key retired)").as_body()
    assert body == {"error": {"code": "NODE_KEY_RETIRED", "message": "密钥 130000:1 已停用 (key retired)",
                              "hint": refusals.RetiredKey.hint}}
