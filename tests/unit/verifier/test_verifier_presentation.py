"""Making presentations, and the holder signature being standard EIP-712 a wallet can produce."""

from __future__ import annotations

from dataclasses import replace

import pytest
from eth_account import Account
from eth_account.messages import _hash_eip191_message, encode_typed_data
from verifier_world import DOMAIN, NOW, World, key_of

from common.document import ALWAYS_DISCLOSED, Disclosure, UnknownFieldError, field_leaf
from verifier.engine import verify
from verifier.presentation import (
    HOLDER_PRESENTATION_TYPE,
    Presentation,
    holder_signing_digest,
    make_presentation,
    recover_holder,
)
from verifier.verdicts import Verdict


def _typed_data(p: Presentation) -> dict[str, object]:
    """The same message as eth_signTypedData_v4 JSON, the way a wallet would be asked to sign it
    (HolderPresentation in HR1, HolderPresentation2 with the suite and the audience in HR2)."""
    hr2 = p.format == 2
    primary = "HolderPresentation2" if hr2 else "HolderPresentation"
    first = {"name": "suite", "type": "uint8"} if hr2 else {"name": "version", "type": "uint8"}
    return {
        "types": {
            "EIP712Domain": [
                {"name": "name", "type": "string"},
                {"name": "version", "type": "string"},
                {"name": "chainId", "type": "uint256"},
                {"name": "verifyingContract", "type": "address"},
            ],
            primary: [
                first,
                {"name": "documentRoot", "type": "bytes32"},
                {"name": "disclosedLeaves", "type": "bytes32[]"},
                {"name": "multiproof", "type": "bytes32[]"},
                {"name": "proofFlags", "type": "bool[]"},
                {"name": "batchRoot", "type": "bytes32"},
                {"name": "batchProof", "type": "bytes32[]"},
                {"name": "issuerSignature", "type": "bytes"},
                {"name": "createdAt", "type": "uint64"},
                {"name": "expiresAt", "type": "uint64"},
                {"name": "nonce", "type": "bytes"},
                {"name": "purpose", "type": "string"},
                *([{"name": "audience", "type": "uint32"}] if hr2 else []),
            ],
        },
        "primaryType": primary,
        "domain": {
            "name": "Huren",
            "version": "1",
            "chainId": DOMAIN.chain_id,
            "verifyingContract": DOMAIN.verifying_contract,
        },
        "message": {
            first["name"]: p.suite if hr2 else p.version,
            "documentRoot": p.document_root,
            "disclosedLeaves": [field_leaf(f.salt, f.path, f.value) for f in p.disclosure.fields],
            "multiproof": list(p.disclosure.proof),
            "proofFlags": list(p.disclosure.flags),
            "batchRoot": p.batch_root,
            "batchProof": list(p.batch_proof),
            "issuerSignature": p.issuer_signature,
            "createdAt": p.created_at,
            "expiresAt": p.expires_at,
            "nonce": p.nonce,
            "purpose": p.purpose,
            **({"audience": p.audience or 0} if hr2 else {}),
        },
    }


def test_holder_type_string_matches_the_struct_a_wallet_is_given() -> None:
    fields = _typed_data(_dummy())["types"]["HolderPresentation"]  # type: ignore[index]
    assert (
        "HolderPresentation(" + ",".join(f"{f['type']} {f['name']}" for f in fields) + ")" == HOLDER_PRESENTATION_TYPE
    )


def test_hr2_holder_type_string_matches_the_struct_a_wallet_is_given() -> None:
    from verifier.presentation import HOLDER_PRESENTATION2_TYPE

    fields = _typed_data(replace(_dummy(), format=2))["types"]["HolderPresentation2"]  # type: ignore[index]
    assert "HolderPresentation2(" + ",".join(f"{f['type']} {f['name']}" for f in fields) + ")" == (
        HOLDER_PRESENTATION2_TYPE)


def _dummy() -> Presentation:
    return Presentation(1, Disclosure([], [], []), bytes(32), bytes(32), [], bytes(65), 0, 1, bytes(8), "")


@pytest.mark.parametrize(("fmt", "audience"), [(1, None), (2, None), (2, 310000)])
def test_holder_digest_equals_eth_account_typed_data_hash(world: World, fmt: int, audience: int | None) -> None:
    p = world.present(0, ("holder.name",), bound=True, format=fmt, audience=audience)
    signable = encode_typed_data(full_message=_typed_data(p))
    assert holder_signing_digest(DOMAIN, p) == _hash_eip191_message(signable)


def test_a_wallet_made_holder_signature_is_accepted(world: World) -> None:
    unsigned = world.present(0, ("holder.name", "holder.address"))
    signed = Account.sign_typed_data(world.holder_key, full_message=_typed_data(unsigned))
    p = replace(unsigned, holder_signature=bytes(signed.signature))
    assert recover_holder(DOMAIN, p) == world.holder_address
    assert verify(p, world.view, world.policy, NOW).verdict is Verdict.VALID


def test_always_disclosed_fields_are_added_automatically(world: World) -> None:
    p = world.present(1, ())
    assert set(ALWAYS_DISCLOSED) <= set(p.disclosed())
    assert set(p.disclosed()) == set(ALWAYS_DISCLOSED)


def test_a_holder_key_discloses_the_holder_address_and_signs(world: World) -> None:
    p = world.present(0, ("holder.name",), bound=True)
    assert p.disclosed()["holder.address"] == world.holder_address
    assert p.holder_signature is not None and len(p.holder_signature) == 65


def test_hidden_fields_stay_hidden(world: World) -> None:
    p = world.present(0, ("holder.name",))
    assert "holder.idNumber" not in p.disclosed()
    assert all(f.path != "holder.idNumber" for f in p.disclosure.fields)


def test_only_the_bound_holder_key_can_sign(world: World) -> None:
    with pytest.raises(ValueError, match=r"does not match the document's holder\.address"):
        make_presentation(
            world.batch.documents[0],
            (),
            batch_root=world.batch.root,
            batch_proof=world.batch.tree.proof(0),
            issuer_signature=world.batch.signatures[0],
            purpose="x",
            domain=DOMAIN,
            holder_key=key_of("thief"),
        )


def test_a_certificate_without_holder_address_cannot_be_signed(world: World) -> None:
    with pytest.raises(ValueError, match="holder_key does not match"):
        make_presentation(
            world.batch.documents[1],
            (),
            batch_root=world.batch.root,
            batch_proof=world.batch.tree.proof(1),
            issuer_signature=world.batch.signatures[1],
            purpose="x",
            domain=DOMAIN,
            holder_key=world.holder_key,
        )


def _make(world: World, **kwargs: object) -> Presentation:
    args: dict[str, object] = {
        "batch_root": world.batch.root,
        "batch_proof": world.batch.tree.proof(1),
        "issuer_signature": world.batch.signatures[1],
        "purpose": "办理",
        "domain": DOMAIN,
    }
    args.update(kwargs)
    return make_presentation(world.batch.documents[1], (), **args)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"purpose": "事" * 201}, "at most 200"),
        ({"purpose": "办理\n"}, "control"),
        ({"ttl_s": 0}, "ttl_s"),
        ({"ttl_s": 86_401}, "ttl_s"),
        ({"nonce": bytes(7)}, "nonce"),
        ({"nonce": bytes(17)}, "nonce"),
    ],
)
def test_make_presentation_refuses_bad_parameters(world: World, kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        _make(world, **kwargs)


def test_unknown_path_is_refused(world: World) -> None:
    with pytest.raises(UnknownFieldError):
        make_presentation(
            world.batch.documents[1],
            ("claims.nothing",),
            batch_root=world.batch.root,
            batch_proof=world.batch.tree.proof(1),
            issuer_signature=world.batch.signatures[1],
            purpose="x",
            domain=DOMAIN,
        )


def test_default_nonce_is_fresh_96_bits_and_expiry_is_ttl_after_creation(world: World) -> None:
    a, b = _make(world, now=NOW), _make(world, now=NOW, ttl_s=120)
    assert len(a.nonce) == 12 and a.nonce != b.nonce
    assert a.expires_at == NOW + 300 and b.expires_at == NOW + 120
