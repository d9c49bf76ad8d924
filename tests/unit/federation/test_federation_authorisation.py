"""授权用证: the 用证码 format (typed by people, so forgiving in form and strict in content) and the
issuing node's rules for releasing an authorisation, as pure functions."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from federation.authorisation import (
    ALPHABET,
    PREFIX,
    REFUSALS,
    TOKEN_CHARS,
    Authorisation,
    AuthorisationCodeError,
    TakeAsk,
    canonical_token,
    check_char,
    disclosed_fields,
    is_code,
    judge,
    make_code,
    new_token,
    parse_code,
)

BJ, HE, SH = 110000, 130000, 310000
NOW = 1_800_000_000
DEPT = "11130000000021135M"
regions = st.integers(100000, 999999)
bodies = st.text(alphabet=ALPHABET, min_size=TOKEN_CHARS - 1, max_size=TOKEN_CHARS - 1)
tokens = bodies.map(lambda b: b + check_char(b))


def _auth(**changes: object) -> Authorisation:
    base = Authorisation(id="a1", holder_hash="h" * 64, cert_id="c1", region=HE, department=None,
                         fields=("claims.entityName", "claims.creditCode"), purpose="在河北省办理企业登记",
                         created_at=NOW - 60, expires_at=NOW + 3600)
    return replace(base, **changes)  # type: ignore[arg-type]


def _ask(region: int = HE, department: str | None = None, fields: tuple[str, ...] | None = None) -> TakeAsk:
    return TakeAsk(region, department, fields)


# ---- the code ----

def test_a_new_code_names_the_issuing_region_and_groups_the_token_in_fours():
    code = make_code(BJ, new_token())
    assert code.startswith("HRA1:110000:") and [len(g) for g in code.split(":")[2].split("-")] == [4, 4, 4, 4]


@given(regions, tokens)
def test_a_code_parses_back_to_its_region_and_token(region, token):
    assert parse_code(make_code(region, token)) == (region, token)


@given(regions, tokens)
def test_case_spaces_and_hyphens_do_not_matter_when_typing(region, token):
    typed = make_code(region, token).lower().replace("-", " ")
    assert parse_code(typed) == (region, token)


@given(tokens)
def test_o_is_read_as_zero_and_i_or_l_as_one(token):
    typed = token.replace("0", "O").replace("1", "I")
    assert canonical_token(typed) == token


@given(tokens, st.data())
def test_every_single_mistyped_character_is_caught_by_the_check_character(token, data):
    at = data.draw(st.integers(0, TOKEN_CHARS - 1))
    wrong = data.draw(st.sampled_from([c for c in ALPHABET if c != token[at]]))
    with pytest.raises(AuthorisationCodeError, match="校验位"):
        canonical_token(token[:at] + wrong + token[at + 1:])


@given(st.text(max_size=80))
def test_any_other_text_is_refused_with_words_never_another_exception(text):
    try:
        region, token = parse_code(text)
    except AuthorisationCodeError as exc:
        assert exc.zh
    else:
        assert 100000 <= region <= 999999 and len(token) == TOKEN_CHARS


def test_a_code_with_u_in_its_token_is_not_a_code():
    with pytest.raises(AuthorisationCodeError):
        parse_code(f"{PREFIX}{BJ}:UUUU-UUUU-UUUU-UUUU")


def test_a_reference_code_is_not_an_authorisation_code():
    assert not is_code("HRR1:110000:q2Vb0FQmF1cXmR1x0k3a8w") and is_code(" hra1:110000:x")


def test_making_a_code_refuses_a_token_that_fails_its_check():
    token = new_token()
    with pytest.raises(ValueError):
        make_code(BJ, token[:-1] + ("0" if token[-1] != "0" else "1"))


# ---- the rules ----

def test_the_authorised_region_gets_the_authorised_fields():
    assert judge(_auth(), _ask(), NOW) is None
    assert disclosed_fields(_auth(), _ask()) == ["claims.entityName", "claims.creditCode"]


def test_an_unknown_token_is_refused_as_unknown():
    assert judge(None, _ask(), NOW).code == "AUTHORISATION_UNKNOWN"  # type: ignore[union-attr]


def test_another_region_is_refused_as_the_wrong_region():
    assert judge(_auth(), _ask(SH), NOW).code == "AUTHORISATION_WRONG_REGION"  # type: ignore[union-attr]


def test_another_region_learns_nothing_of_use_or_withdrawal():
    done = _auth(used_at=NOW - 1, withdrawn_at=NOW - 2, expires_at=NOW - 3)
    assert judge(done, _ask(SH), NOW).code == "AUTHORISATION_WRONG_REGION"  # type: ignore[union-attr]


def test_a_department_authorisation_refuses_another_department_and_a_window_without_one():
    auth = _auth(department=DEPT)
    assert judge(auth, _ask(department="91110108MA01ABCD5X"), NOW).code == "AUTHORISATION_WRONG_DEPARTMENT"  # type: ignore[union-attr]
    assert judge(auth, _ask(department=None), NOW).code == "AUTHORISATION_WRONG_DEPARTMENT"  # type: ignore[union-attr]
    assert judge(auth, _ask(department=DEPT), NOW) is None


def test_a_withdrawn_authorisation_is_refused_as_withdrawn():
    assert judge(_auth(withdrawn_at=NOW - 1), _ask(), NOW).code == "AUTHORISATION_WITHDRAWN"  # type: ignore[union-attr]


def test_a_used_authorisation_is_refused_as_used():
    assert judge(_auth(used_at=NOW - 1), _ask(), NOW).code == "AUTHORISATION_USED"  # type: ignore[union-attr]


def test_an_authorisation_is_good_to_the_last_second_of_its_window_and_expired_after():
    assert judge(_auth(expires_at=NOW), _ask(), NOW) is None
    assert judge(_auth(expires_at=NOW - 1), _ask(), NOW).code == "AUTHORISATION_EXPIRED"  # type: ignore[union-attr]


@given(st.sets(st.sampled_from(["claims.entityName", "claims.creditCode", "claims.domicile", "claims.name"])))
def test_asking_for_any_field_beyond_the_authorisation_is_refused_never_trimmed(asked):
    auth = _auth()
    answer = judge(auth, _ask(fields=tuple(asked)), NOW)
    if asked <= set(auth.fields):
        assert answer is None and set(disclosed_fields(auth, _ask(fields=tuple(asked)))) == asked
    else:
        assert answer is not None and answer.code == "AUTHORISATION_FIELDS_EXCEEDED"


def test_no_refusal_uses_a_status_that_means_a_refused_node_signature():
    assert all(status not in (401, 403) for status, _, _ in REFUSALS.values())


def test_every_refusal_says_in_chinese_what_happened_and_what_to_do():
    for status, message, hint in REFUSALS.values():
        assert 400 <= status < 500 and any("\u4e00" <= ch <= "\u9fff" for ch in message) and hint
