"""common.document: flattening, salted field leaves, document roots and selective disclosure."""

from __future__ import annotations

import copy
from dataclasses import replace

import pytest
from eth_utils import keccak as eth_keccak
from hypothesis import assume, given
from hypothesis import strategies as st

from common.canonical import MAX_SAFE_INTEGER, canonicalize
from common.document import (
    ALWAYS_DISCLOSED,
    SALT_BYTES,
    Disclosure,
    SaltedField,
    UnknownFieldError,
    disclose,
    document_root,
    document_tree,
    field_leaf,
    flatten,
    issuer_id,
    new_salt,
    salt_fields,
    type_code_bytes32,
    type_code_from_bytes32,
    unflatten,
    verify_disclosure,
)
from common.merkle import StandardMerkleTree

SAMPLE_DOC: dict[str, object] = {
    "version": 1,
    "id": "1.2.156.3005.2.11100000000013338W009.11330105002500287C.2025052201.002.0",
    "type": "11100000000013338W009",
    "issuer": {
        "creditCode": "11330105002500287C",
        "region": 330105,
        "name": "杭州市拱墅区市场监督管理局",
        "signingAddress": "0x5FbDB2315678afecb367f032d93F642f64180aa3",
    },
    "holder": {"name": "张三", "idType": "111", "idNumber": "11010519491231002X"},
    "claims": {"licenceNo": "A-2025-0001", "scope": ["餐饮", "零售"], "extra": {}},
    "issuedAt": "2025-05-22",
    "validFrom": "2025-05-22",
    "validUntil": None,
}

# --------------------------------------------------------------------------- strategies

keys = st.text(min_size=1, max_size=8).filter(lambda k: "." not in k and "\x00" not in k)
json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(-MAX_SAFE_INTEGER, MAX_SAFE_INTEGER)
    | st.floats(-1e9, 1e9, allow_nan=False)
    | st.text(max_size=20)
)
leaf_values = json_scalars | st.lists(json_scalars, max_size=3) | st.just({})
documents = st.recursive(
    st.dictionaries(keys, leaf_values, min_size=1, max_size=4),
    lambda children: st.dictionaries(keys, leaf_values | children, min_size=1, max_size=4),
    max_leaves=12,
)


Case = tuple[list[SaltedField], list[str]]


@st.composite
def fields_and_subset(draw: st.DrawFn) -> Case:
    doc = draw(documents)
    fields = [
        SaltedField(path, value, draw(st.binary(min_size=SALT_BYTES, max_size=SALT_BYTES)))
        for path, value in flatten(doc).items()
    ]
    paths = draw(st.lists(st.sampled_from([f.path for f in fields]), min_size=1, unique=True))
    return fields, paths


# --------------------------------------------------------------------------- flatten / unflatten


def test_flatten_joins_nested_keys_with_dots() -> None:
    fields = flatten(SAMPLE_DOC)
    assert fields["issuer.creditCode"] == "11330105002500287C"
    assert fields["holder.idNumber"] == "11010519491231002X"
    assert "issuer" not in fields


def test_flatten_keeps_lists_and_nulls_as_single_values() -> None:
    fields = flatten(SAMPLE_DOC)
    assert fields["claims.scope"] == ["餐饮", "零售"]
    assert fields["validUntil"] is None


def test_flatten_keeps_an_empty_object_as_a_value() -> None:
    assert flatten(SAMPLE_DOC)["claims.extra"] == {}


@given(documents)
def test_unflatten_undoes_flatten(doc: dict[str, object]) -> None:
    assert unflatten(flatten(doc)) == doc


@pytest.mark.parametrize("bad_key", ["a.b", "", "nul\x00", 7])
def test_flatten_refuses_keys_that_would_not_round_trip(bad_key: object) -> None:
    with pytest.raises(ValueError, match="document key"):
        flatten({"ok": {bad_key: 1}})


@pytest.mark.parametrize("fields", [{"a": 1, "a.b": 2}, {"a.b": 2, "a": 1}, {"a": {}, "a.b": 1}])
def test_unflatten_refuses_conflicting_paths(fields: dict[str, object]) -> None:
    with pytest.raises(ValueError, match="conflicts"):
        unflatten(fields)


@pytest.mark.parametrize("path", ["", "a..b", ".a", "a."])
def test_unflatten_refuses_empty_path_segments(path: str) -> None:
    with pytest.raises(ValueError, match="field path"):
        unflatten({path: 1})


def test_unflatten_does_not_mutate_dict_values() -> None:
    value = {"x": 1}
    with pytest.raises(ValueError):
        unflatten({"a": value, "a.y": 2})
    assert value == {"x": 1}


# --------------------------------------------------------------------------- field leaves

KAT_SALT = bytes(range(16))


def test_field_leaf_known_answer_for_a_string() -> None:
    expected = "75d63dea0bedc23d861568ee13298eab57eaa93cf61c49b8b6cf959f1cda6712"
    assert field_leaf(KAT_SALT, "holder.name", "张三").hex() == expected
    assert eth_keccak(KAT_SALT + b"holder.name" + b"\x00" + '"张三"'.encode()).hex() == expected


def test_field_leaf_known_answer_for_an_object() -> None:
    expected = "b86930d66bbdce3f0d311780b1fc8e3a58c6f352d808088564b43c4496ee1df2"
    assert field_leaf(KAT_SALT, "claims", {"scores": [1, 2.5], "grade": 3}).hex() == expected


def test_field_leaf_separator_keeps_path_and_value_apart() -> None:
    assert field_leaf(KAT_SALT, "a1", 2) != field_leaf(KAT_SALT, "a", 12)


def test_field_leaf_depends_on_the_salt() -> None:
    assert field_leaf(KAT_SALT, "id", "x") != field_leaf(bytes(16), "id", "x")


@pytest.mark.parametrize("salt", [bytes(15), bytes(17), b"", "00" * 16, bytearray(16)], ids=repr)
def test_field_leaf_refuses_a_salt_that_is_not_16_bytes(salt: object) -> None:
    with pytest.raises(ValueError, match="16 bytes"):
        field_leaf(salt, "id", "x")  # type: ignore[arg-type]


@pytest.mark.parametrize("path", ["", "a\x00b", None])
def test_field_leaf_refuses_an_empty_or_nul_path(path: object) -> None:
    with pytest.raises(ValueError, match="path"):
        field_leaf(KAT_SALT, path, "x")  # type: ignore[arg-type]


def test_new_salt_is_16_fresh_random_bytes() -> None:
    salts = {new_salt() for _ in range(100)}
    assert len(salts) == 100 and all(len(s) == SALT_BYTES == 16 for s in salts)


def test_salted_field_leaf_is_its_field_leaf() -> None:
    assert SaltedField("id", "x", KAT_SALT).leaf == field_leaf(KAT_SALT, "id", "x")


def test_salt_fields_gives_every_field_its_own_salt() -> None:
    fields = salt_fields(SAMPLE_DOC)
    assert {f.path: f.value for f in fields} == flatten(SAMPLE_DOC)
    assert len({f.salt for f in fields}) == len(fields)


# --------------------------------------------------------------------------- document root


def test_document_root_is_the_merkle_root_of_the_field_leaves() -> None:
    fields = salt_fields(SAMPLE_DOC)
    assert document_root(fields) == StandardMerkleTree.of([f.leaf for f in fields]).root
    assert document_tree(fields).root == document_root(fields)


def test_document_root_does_not_depend_on_field_order() -> None:
    fields = salt_fields(SAMPLE_DOC)
    assert document_root(fields[::-1]) == document_root(fields)


def test_document_tree_refuses_duplicate_paths() -> None:
    with pytest.raises(ValueError, match="duplicate"):
        document_tree([SaltedField("id", 1, new_salt()), SaltedField("id", 2, new_salt())])


def test_document_tree_refuses_an_empty_document() -> None:
    with pytest.raises(ValueError, match="at least one"):
        document_tree([])


# --------------------------------------------------------------------------- disclosure


@given(fields_and_subset())
def test_every_disclosure_subset_verifies(case: Case) -> None:
    fields, paths = case
    disclosure = disclose(fields, paths)
    assert sorted(f.path for f in disclosure.fields) == sorted(paths)
    assert verify_disclosure(document_root(fields), disclosure)


@given(fields_and_subset(), leaf_values, st.data())
def test_disclosure_fails_for_any_changed_value(case: Case, new_value: object, data: st.DataObject) -> None:
    fields, paths = case
    disclosure = disclose(fields, paths)
    k = data.draw(st.integers(0, len(disclosure.fields) - 1))
    assume(canonicalize(new_value) != canonicalize(disclosure.fields[k].value))
    changed = list(disclosure.fields)
    changed[k] = replace(changed[k], value=new_value)
    assert not verify_disclosure(document_root(fields), replace(disclosure, fields=changed))


@given(fields_and_subset(), st.binary(min_size=16, max_size=16), st.data())
def test_disclosure_fails_for_any_changed_salt(case: Case, new_salt_: bytes, data: st.DataObject) -> None:
    fields, paths = case
    disclosure = disclose(fields, paths)
    k = data.draw(st.integers(0, len(disclosure.fields) - 1))
    assume(new_salt_ != disclosure.fields[k].salt)
    changed = list(disclosure.fields)
    changed[k] = replace(changed[k], salt=new_salt_)
    assert not verify_disclosure(document_root(fields), replace(disclosure, fields=changed))


@given(fields_and_subset(), keys, st.data())
def test_disclosure_fails_for_any_changed_path(case: Case, new_path: str, data: st.DataObject) -> None:
    fields, paths = case
    disclosure = disclose(fields, paths)
    k = data.draw(st.integers(0, len(disclosure.fields) - 1))
    assume(new_path != disclosure.fields[k].path)
    changed = list(disclosure.fields)
    changed[k] = replace(changed[k], path=new_path)
    assert not verify_disclosure(document_root(fields), replace(disclosure, fields=changed))


def test_disclosure_fails_against_another_documents_root() -> None:
    fields = salt_fields(SAMPLE_DOC)
    disclosure = disclose(fields, ALWAYS_DISCLOSED)
    assert not verify_disclosure(document_root(salt_fields(SAMPLE_DOC)), disclosure)


def test_always_disclosed_fields_can_be_disclosed_from_a_certificate() -> None:
    fields = salt_fields(SAMPLE_DOC)
    disclosure = disclose(fields, ALWAYS_DISCLOSED)
    assert {f.path for f in disclosure.fields} == set(ALWAYS_DISCLOSED)
    assert verify_disclosure(document_root(fields), disclosure)


def test_disclosed_fields_come_in_multiproof_order() -> None:
    fields = salt_fields(SAMPLE_DOC)
    disclosure = disclose(fields, ["holder.name", "id", "claims.scope"])
    indices = [
        next(i for i, f in enumerate(fields) if f.path == p) for p in ("holder.name", "id", "claims.scope")
    ]
    expected = document_tree(fields).multiproof(indices)
    assert [f.leaf for f in disclosure.fields] == expected.leaves
    assert (disclosure.proof, disclosure.flags) == (expected.proof, expected.flags)


def test_disclose_ignores_repeated_paths() -> None:
    fields = salt_fields(SAMPLE_DOC)
    assert disclose(fields, ["id", "id", "type"]) == disclose(fields, ["id", "type"])


def test_disclose_raises_unknown_field_error_for_an_unknown_path() -> None:
    with pytest.raises(UnknownFieldError, match=r"holder\.birthDate"):
        disclose(salt_fields(SAMPLE_DOC), ["id", "holder.birthDate"])


def test_unknown_field_error_is_a_key_error() -> None:
    assert issubclass(UnknownFieldError, KeyError)


def test_disclose_refuses_to_disclose_nothing() -> None:
    with pytest.raises(ValueError, match="at least one"):
        disclose(salt_fields(SAMPLE_DOC), [])


def test_empty_disclosure_does_not_verify() -> None:
    fields = salt_fields(SAMPLE_DOC)
    root = document_root(fields)
    assert not verify_disclosure(root, Disclosure(fields=[], proof=[root], flags=[]))


def test_disclosure_with_a_repeated_field_does_not_verify() -> None:
    fields = salt_fields(SAMPLE_DOC)
    disclosure = disclose(fields, ["id"])
    doubled = Disclosure(
        fields=[*disclosure.fields, disclosure.fields[0]],
        proof=disclosure.proof[1:],
        flags=[True, *disclosure.flags],
    )
    assert not verify_disclosure(document_root(fields), doubled)


def _malformed(disclosure: Disclosure) -> list[object]:
    first = disclosure.fields[0]
    return [
        replace(disclosure, fields=[replace(first, salt=first.salt[:15]), *disclosure.fields[1:]]),
        replace(disclosure, fields=[replace(first, value=float("nan")), *disclosure.fields[1:]]),
        replace(disclosure, fields=[replace(first, value=b"raw"), *disclosure.fields[1:]]),
        replace(disclosure, fields=[replace(first, path=None), *disclosure.fields[1:]]),
        replace(disclosure, fields=["not a field"]),
        replace(disclosure, fields=None),
        replace(disclosure, proof=[b"short"]),
        replace(disclosure, flags=[*disclosure.flags, "yes"]),
        replace(disclosure, proof=None),
        None,
        "disclosure",
    ]


@pytest.mark.parametrize("case", range(11))
def test_verify_disclosure_returns_false_for_malformed_data(case: int) -> None:
    fields = salt_fields(SAMPLE_DOC)
    bad = _malformed(disclose(fields, ALWAYS_DISCLOSED))[case]
    assert verify_disclosure(document_root(fields), bad) is False  # type: ignore[arg-type]


@pytest.mark.parametrize("root", [b"\x00" * 31, None, "00" * 32])
def test_verify_disclosure_returns_false_for_a_malformed_root(root: object) -> None:
    fields = salt_fields(SAMPLE_DOC)
    assert verify_disclosure(root, disclose(fields, ["id"])) is False  # type: ignore[arg-type]


def test_verify_disclosure_does_not_mutate_its_input() -> None:
    fields = salt_fields(SAMPLE_DOC)
    disclosure = disclose(fields, ["claims.scope", "id"])
    before = copy.deepcopy(disclosure)
    verify_disclosure(document_root(fields), disclosure)
    assert disclosure == before


# --------------------------------------------------------------------------- identifiers


def test_issuer_id_is_keccak_of_the_credit_code() -> None:
    expected = "309f3a6a4c8a2197514b7ed0a4b6d6f679256f0f1bff875e28ff9fed6c0e4e91"
    assert issuer_id("11100000000013338W").hex() == expected
    assert eth_keccak(text="11100000000013338W").hex() == expected


@pytest.mark.parametrize("code", ["", "统一社会信用代码", None])
def test_issuer_id_refuses_empty_or_non_ascii_codes(code: object) -> None:
    with pytest.raises(ValueError):
        issuer_id(code)  # type: ignore[arg-type]


def test_type_code_is_left_aligned_and_zero_padded() -> None:
    assert type_code_bytes32("11100000000013338W032") == b"11100000000013338W032" + bytes(11)


@given(st.text(alphabet=st.characters(min_codepoint=1, max_codepoint=127), min_size=1, max_size=32))
def test_type_code_round_trips_through_bytes32(code: str) -> None:
    assert type_code_from_bytes32(type_code_bytes32(code)) == code


@pytest.mark.parametrize("code", ["", "x" * 33, "类型", "a\x00b", None], ids=repr)
def test_type_code_bytes32_refuses_unencodable_codes(code: object) -> None:
    with pytest.raises(ValueError, match="type code"):
        type_code_bytes32(code)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "raw", [bytes(32), b"a\x00b" + bytes(29), b"\xff" + bytes(31), b"abc", None], ids=repr
)
def test_type_code_from_bytes32_refuses_malformed_words(raw: object) -> None:
    with pytest.raises(ValueError, match="type code"):
        type_code_from_bytes32(raw)  # type: ignore[arg-type]
