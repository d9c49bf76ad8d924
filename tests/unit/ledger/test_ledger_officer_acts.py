"""The officers' EIP-712 acts (ledger/officer_acts.py): a signature names its signer and nothing else.

Pure functions only; that the contract computes the same digest is checked on real anvil
(tests/integration/test_officer_keys_off_node.py) and, for the page's script, by the browser test.
"""

from __future__ import annotations

import contextlib

import pytest
from eth_account import Account
from eth_utils import to_checksum_address
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.officer_acts import BadSignature, approve_act, propose_regional_act

CONSORTIUM = "0x" + "c0" * 20
OFFICER = to_checksum_address("0x" + "11" * 20)
HALF_N = 0x7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF5D576E7357A4501DDFE92F46681B20A0
N = 2 * HALF_N + 1

keys = st.integers(min_value=1, max_value=N - 1).map(lambda k: k.to_bytes(32, "big"))
words = st.integers(min_value=0, max_value=2**256 - 1)


@settings(max_examples=40, deadline=None)
@given(key=keys, pid=words, nonce=words, deadline=words, chain=st.integers(1, 2**32))
def test_an_approval_signed_by_a_key_recovers_to_that_keys_address(key, pid, nonce, deadline, chain):
    officer = Account.from_key(key).address
    act = approve_act(chain, CONSORTIUM, pid, officer, nonce, deadline)
    assert act.signer(act.sign(key)) == officer


@settings(max_examples=40, deadline=None)
@given(key=keys, data=st.binary(max_size=300), region=st.integers(0, 2**32 - 1), flip=st.integers(0, 5))
def test_a_signature_over_other_terms_never_names_the_officer(key, data, region, flip):
    officer = Account.from_key(key).address
    act = propose_regional_act(1, CONSORTIUM, region, CONSORTIUM, data, officer, 0, 10**10)
    signature = act.sign(key)
    changed = [
        propose_regional_act(1, CONSORTIUM, region, CONSORTIUM, data + b"\x00", officer, 0, 10**10),
        propose_regional_act(1, CONSORTIUM, region ^ 1, CONSORTIUM, data, officer, 0, 10**10),
        propose_regional_act(1, CONSORTIUM, region, CONSORTIUM, data, officer, 1, 10**10),
        propose_regional_act(1, CONSORTIUM, region, CONSORTIUM, data, officer, 0, 10**10 + 1),
        propose_regional_act(2, CONSORTIUM, region, CONSORTIUM, data, officer, 0, 10**10),
        propose_regional_act(1, "0x" + "c1" * 20, region, CONSORTIUM, data, officer, 0, 10**10),
    ][flip]
    with contextlib.suppress(BadSignature):
        assert changed.signer(signature) != officer


@given(signature=st.binary(min_size=0, max_size=80))
@settings(max_examples=100, deadline=None)
def test_arbitrary_bytes_are_refused_or_name_some_other_address(signature):
    act = approve_act(1, CONSORTIUM, 1, OFFICER, 0, 1)
    with contextlib.suppress(BadSignature):
        assert act.signer(signature) != OFFICER


def test_high_s_and_bad_v_are_refused():
    key = (7).to_bytes(32, "big")
    act = approve_act(1, CONSORTIUM, 1, Account.from_key(key).address, 0, 1)
    sig = act.sign(key)
    s = int.from_bytes(sig[32:64], "big")
    malleated = sig[:32] + (N - s).to_bytes(32, "big") + bytes([55 - sig[64]])
    with pytest.raises(BadSignature):
        act.signer(malleated)
    with pytest.raises(BadSignature):
        act.signer(sig[:64] + b"\x01")
    with pytest.raises(BadSignature):
        act.signer(sig[:64])
