"""A verifier's holder-binding policy per certificate type and per issuing region (issue 15, item 2).

`VerifierPolicy.binding_required(type, issuer region)` decides; the engine's holder_binding
check refuses an unbound code only where it says so, and the verdict says whether the code was
bound (`holder_bound`).
"""

from __future__ import annotations

from dataclasses import replace

import pytest
from verifier_world import DOMAIN, SHANGHAI, TYPE_FOOD, TYPE_OTHER, ZHEJIANG_HANGZHOU, World, build_world

from verifier.engine import VerifierPolicy, verify
from verifier.verdicts import Verdict


@pytest.fixture
def world() -> World:
    return build_world(batch_size=8)


def test_policy_requires_binding_only_for_listed_types_and_regions() -> None:
    policy = VerifierPolicy(region=SHANGHAI, domain=DOMAIN, holder_binding_types=frozenset({TYPE_FOOD}),
                            holder_binding_regions=frozenset({110000}))
    assert policy.binding_required(TYPE_FOOD, ZHEJIANG_HANGZHOU) == "该类证照"
    assert policy.binding_required(TYPE_OTHER, 110000) == "地区 110000 签发的证照"
    assert policy.binding_required(TYPE_OTHER, ZHEJIANG_HANGZHOU) is None
    everything = VerifierPolicy(region=SHANGHAI, domain=DOMAIN, require_holder_binding=True)
    assert everything.binding_required(TYPE_OTHER, ZHEJIANG_HANGZHOU) == "所有证照"


def test_policy_refuses_binding_regions_that_are_not_region_codes() -> None:
    with pytest.raises(ValueError, match="holder_binding_regions"):
        VerifierPolicy(region=SHANGHAI, domain=DOMAIN, holder_binding_regions=frozenset({11}))
    with pytest.raises(ValueError, match="holder_binding_types"):
        VerifierPolicy(region=SHANGHAI, domain=DOMAIN, holder_binding_types={TYPE_FOOD})  # type: ignore[arg-type]


def test_unbound_code_of_a_type_requiring_binding_fails_holder_binding_in_words(world: World) -> None:
    world.policy = replace(world.policy, holder_binding_types=frozenset({TYPE_FOOD}))
    result = verify(world.present(1), world.view, world.policy, world.now)
    assert result.verdict is Verdict.HOLDER_BINDING_FAILED
    assert result.holder_bound is False
    failed = result.checks[-1]
    assert failed.name == "holder_binding" and "该类证照" in failed.detail


def test_unbound_code_of_an_issuing_region_requiring_binding_fails(world: World) -> None:
    world.policy = replace(world.policy, holder_binding_regions=frozenset({ZHEJIANG_HANGZHOU}))
    result = verify(world.present(1), world.view, world.policy, world.now)
    assert result.verdict is Verdict.HOLDER_BINDING_FAILED
    assert f"地区 {ZHEJIANG_HANGZHOU} 签发的证照" in result.checks[-1].detail


def test_unbound_code_outside_the_listed_types_and_regions_is_valid_and_says_unbound(world: World) -> None:
    world.policy = replace(world.policy, holder_binding_types=frozenset({TYPE_OTHER}),
                           holder_binding_regions=frozenset({110000}))
    result = verify(world.present(1), world.view, world.policy, world.now)
    assert result.verdict is Verdict.VALID
    assert result.holder_bound is False and result.to_dict()["holder_bound"] is False


def test_bound_code_of_a_type_requiring_binding_is_valid_and_says_bound(world: World) -> None:
    world.policy = replace(world.policy, holder_binding_types=frozenset({TYPE_FOOD}))
    result = verify(world.present(0, bound=True), world.view, world.policy, world.now)
    assert result.verdict is Verdict.VALID, result.checks
    assert result.holder_bound is True and result.to_dict()["holder_bound"] is True
