"""The RFC 9421 signature algorithms node-to-node requests use, per registry algorithm (issue 17).

`http-message-signatures` takes its algorithm as a class (an `HTTPSignatureAlgorithm` subclass
given to the signer and the verifier; no registration): Ed25519 is the library's own, and the
国密 suite adds `SM2_SM3` here. The checker picks the class from the *registry's* algorithm of the
signing key, never from the request, and the library refuses a signature whose `alg` parameter
names another algorithm — so a request signed with an SM2 key cannot be checked against an
Ed25519 key's registration nor the other way round.

`sm2-sm3` is not in the IANA HTTP Signature Algorithms registry (RFC 9421 allows application-
defined names agreed between the parties; here the chain's node registry is that agreement).
Its signature is GB/T 32918 SM2 over SM3(Z || signature base), Z with the default signer ID
1234567812345678, encoded as 64 raw bytes r || s (like RFC 9421's ecdsa-p256-sha256), made and
checked by common.gm.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from http_message_signatures import HTTPSignatureAlgorithm, algorithms
from http_message_signatures.exceptions import HTTPMessageSignaturesException

from common.node_keys import SM2NodePrivateKey, SM2NodePublicKey
from common.nodes import NodeAlgorithm

__all__ = ["ALGORITHMS", "SM2_SM3", "library_algorithm"]


class SM2_SM3(HTTPSignatureAlgorithm):
    """SM2 with SM3 (suite 2) for http-message-signatures (named like the library's ED25519,
    ECDSA_P256_SHA256); its keys are common.node_keys objects."""

    algorithm_id = NodeAlgorithm.SM2_SM3.rfc9421

    def __init__(self, public_key: Any = None, private_key: Any = None) -> None:
        if public_key is not None and not isinstance(public_key, SM2NodePublicKey):
            raise HTTPMessageSignaturesException("Unexpected public key type (sm2-sm3 needs an SM2 key)")
        if private_key is not None and not isinstance(private_key, SM2NodePrivateKey):
            raise HTTPMessageSignaturesException("Unexpected private key type (sm2-sm3 needs an SM2 key)")
        self.public_key, self.private_key = public_key, private_key

    def sign(self, message: bytes) -> bytes:
        return self.private_key.sign(message)  # type: ignore[union-attr]

    def verify(self, signature: bytes, message: bytes) -> None:
        self.public_key.verify(signature, message)  # type: ignore[union-attr]  # GMError: the library refuses


#: Registry algorithm name -> (the library's algorithm class, registry public-key bytes -> key object).
#: The loader raises ValueError (GMError is one) for bytes that are not a key of the algorithm.
ALGORITHMS: Final[dict[str, tuple[type[HTTPSignatureAlgorithm], Callable[[bytes], Any]]]] = {
    NodeAlgorithm.ED25519.rfc9421: (algorithms.ED25519, Ed25519PublicKey.from_public_bytes),
    NodeAlgorithm.SM2_SM3.rfc9421: (SM2_SM3, SM2NodePublicKey),
}


def library_algorithm(algorithm: NodeAlgorithm) -> type[HTTPSignatureAlgorithm]:
    """The library class that signs with a node key of `algorithm`; ValueError if nodes do not sign with it."""
    try:
        return ALGORITHMS[algorithm.rfc9421][0]
    except KeyError:
        raise ValueError(f"node requests are not signed with {algorithm.rfc9421}") from None
