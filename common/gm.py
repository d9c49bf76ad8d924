"""国密 primitives of crypto suite 2: SM3 digests, SM2 signatures, SM4-GCM sealing (issue 17).

One small module so that the rest of Huren never touches a 国密 library directly: the suite's
encodings and acceptance rules live here, and each operation goes to the library that measured
fastest for it (bench/gm_primitives.py, figures in bench/README.md), never to pure Python:

* SM3, SM2 signing and SM4-GCM: `gmssl-pyx` (a C extension with GmSSL 3 built in) — SM3 about
  9x faster than tongsuopy per short message, SM4-GCM 1.9x, signing 1.3x (over a digest we make:
  its own message-level signing measured ten times slower).
* SM2 verification and public-key derivation: `tongsuopy` (pyca/cryptography's binding over
  Tongsuo, the OpenSSL fork with 国密) — verification about 1.9x faster than GmSSL's here;
  gmssl-pyx has no derivation at all.

Encodings (chosen to match the rest of the 国密 world, e.g. sm-crypto in browsers):
signatures are 64 raw bytes r || s (never DER), public keys 65 bytes 04 || x || y (64-byte
x || y accepted on input), private keys 32 bytes. Every signature is over SM3(Z || message) with
Z = SM3(ENTL || ID || a || b || xG || yG || xA || yA) and the GM/T 0009 default signer ID
1234567812345678 — the only ID some bindings can use, so Huren uses no other. Because Z includes
the signer's public key, an SM2 public key cannot be recovered from a signature (unlike suite 1's
secp256k1): the verifier is always given the key.

Refusals are typed (`GMError` and its subclasses, ValueErrors), each with a Chinese message a
clerk can act on, an English one for logs and a short `code`; messages never carry key material.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import Final

import gmssl_pyx
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature
from tongsuopy.crypto import hashes as _ts_hashes
from tongsuopy.crypto import serialization as _ts_serialization
from tongsuopy.crypto.asymciphers import ec as _ts_ec
from tongsuopy.crypto.ciphers.aead import SM4GCM as _TsSM4GCM
from tongsuopy.crypto.exceptions import InvalidSignature as _TsInvalidSignature
from tongsuopy.crypto.exceptions import InvalidTag as _TsInvalidTag

__all__ = [
    "SM2_A",
    "SM2_B",
    "SM2_GX",
    "SM2_GY",
    "SM2_N",
    "SM2_P",
    "SM2_SIGNER_ID",
    "SM4_GCM_TAG_BYTES",
    "GMError",
    "SM2KeyPair",
    "SM2PrivateKeyError",
    "SM2PublicKeyError",
    "SM2SignatureInvalid",
    "SM2SignatureMalformed",
    "SM4DecryptionFailed",
    "SM4ParameterError",
    "sm2_generate_keypair",
    "sm2_is_valid",
    "sm2_normalize_public_key",
    "sm2_public_key",
    "sm2_sign",
    "sm2_verify",
    "sm2_z",
    "sm3",
    "sm4_gcm_decrypt",
    "sm4_gcm_encrypt",
]

# The SM2 recommended curve (GB/T 32918.5), y^2 = x^3 + ax + b over F_p, base point (xG, yG) of order n.
SM2_P: Final[int] = 0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFF
SM2_A: Final[int] = 0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFC
SM2_B: Final[int] = 0x28E9FA9E9D9F5E344D5A9E4BCF6509A7F39789F515AB8F92DDBCBD414D940E93
SM2_N: Final[int] = 0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFF7203DF6B21C6052B53BBF40939D54123
SM2_GX: Final[int] = 0x32C4AE2C1F1981195F9904466A39C9948FE30BBFF2660BE1715A4589334C74C7
SM2_GY: Final[int] = 0xBC3736A2F4F6779C59BDCEE36B692153D0A9877CC62A474002DF32E52139F0A0

#: GM/T 0009's default signer ID; Z covers it, so both sides must use the same one.
SM2_SIGNER_ID: Final[bytes] = b"1234567812345678"
SM4_KEY_BYTES: Final[int] = 16
SM4_GCM_NONCE_BYTES: Final[int] = 12
SM4_GCM_TAG_BYTES: Final[int] = 16

_Z_PREFIX: Final[bytes] = (
    (len(SM2_SIGNER_ID) * 8).to_bytes(2, "big")
    + SM2_SIGNER_ID
    + b"".join(v.to_bytes(32, "big") for v in (SM2_A, SM2_B, SM2_GX, SM2_GY))
)
_SIGNATURE_ALGORITHM: Final = _ts_ec.ECDSA(_ts_hashes.SM3())  # tongsuopy's name for SM2-with-SM3 on an SM2 key


class GMError(ValueError):
    """Base of every refusal of this module: a bad key, signature, nonce or ciphertext."""

    code: str = "gm_error"

    def __init__(self, message: str, message_en: str) -> None:
        self.message = message
        self.message_en = message_en
        super().__init__(f"{message}（{message_en}）")


class SM2PrivateKeyError(GMError):
    """Not a usable SM2 private key (wrong type or length, or d outside [1, n-2])."""

    code = "sm2_private_key"


class SM2PublicKeyError(GMError):
    """Not an SM2 public key: wrong length or prefix, coordinates out of range, or a point off the curve."""

    code = "sm2_public_key"


class SM2SignatureMalformed(GMError):
    """Not an SM2 signature at all: wrong type or length, or r or s outside [1, n-1]."""

    code = "sm2_signature_malformed"


class SM2SignatureInvalid(GMError):
    """A well-formed signature that does not verify: another key, another message, or altered."""

    code = "sm2_signature_invalid"


class SM4ParameterError(GMError):
    """A wrong-sized SM4 key or GCM nonce, or a ciphertext too short to hold its tag."""

    code = "sm4_parameter"


class SM4DecryptionFailed(GMError):
    """The GCM tag does not match: altered ciphertext, another key, nonce or associated data."""

    code = "sm4_decryption_failed"


# ---------------------------------------------------------------------------------------- SM3


def sm3(data: bytes) -> bytes:
    """The 32-byte SM3 digest (GB/T 32905) of `data` (bytes; bytearray/memoryview are copied)."""
    if type(data) is not bytes:
        data = bytes(data)
    return gmssl_pyx.sm3_hash(data)


# ---------------------------------------------------------------------------------------- SM2 keys


@dataclass(frozen=True, slots=True)
class SM2KeyPair:
    """A private key and its 65-byte public key. The private half never appears in a repr."""

    private_key: bytes = field(repr=False)
    public_key: bytes


def sm2_generate_keypair() -> SM2KeyPair:
    """A fresh key pair from GmSSL's generator (its system randomness), public key as 04 || x || y."""
    public, private = gmssl_pyx.sm2_key_generate()
    return SM2KeyPair(private_key=private, public_key=b"\x04" + public)


def _private_scalar(private_key: object) -> int:
    if type(private_key) is not bytes or len(private_key) != 32:
        got = f"{len(private_key)} bytes" if isinstance(private_key, bytes | bytearray) else type(private_key).__name__
        raise SM2PrivateKeyError(f"SM2私钥应为32字节，收到{got}", f"an SM2 private key is 32 bytes, got {got}")
    d = int.from_bytes(private_key, "big")
    if not 1 <= d <= SM2_N - 2:  # sign computes (1 + d)^-1 mod n: d = n - 1 has none
        raise SM2PrivateKeyError("SM2私钥数值超出范围（应在1到n-2之间）",
                                 "an SM2 private key must lie in [1, n-2]")
    return d


def sm2_public_key(private_key: bytes) -> bytes:
    """The 65-byte public key 04 || x || y of a 32-byte private key (d·G, by Tongsuo)."""
    d = _private_scalar(private_key)
    public = _ts_ec.derive_private_key(d, _ts_ec.SM2()).public_key()
    return public.public_bytes(_ts_serialization.Encoding.X962, _ts_serialization.PublicFormat.UncompressedPoint)


def sm2_normalize_public_key(public_key: bytes) -> bytes:
    """The 65-byte 04 || x || y form of a public key given as that or as 64-byte x || y, checked on the curve."""
    if type(public_key) is not bytes:
        raise SM2PublicKeyError("SM2公钥应为字节串", f"an SM2 public key is bytes, got {type(public_key).__name__}")
    if len(public_key) == 64:
        public_key = b"\x04" + public_key
    elif len(public_key) != 65:
        hint_zh, hint_en = ("（压缩格式不受理，请提供未压缩公钥）", " (compressed keys are not accepted)") if (
            len(public_key) == 33) else ("", "")
        raise SM2PublicKeyError(f"SM2公钥应为65字节（04||x||y）或64字节（x||y），收到{len(public_key)}字节{hint_zh}",
                                f"an SM2 public key is 65 bytes 04||x||y or 64 bytes x||y, "
                                f"got {len(public_key)}{hint_en}")
    elif public_key[0] != 4:
        raise SM2PublicKeyError(f"65字节的SM2公钥应以04开头，实为{public_key[0]:02x}",
                                f"a 65-byte SM2 public key starts with 04, this one with {public_key[0]:02x}")
    _check_on_curve(public_key)
    return public_key


@lru_cache(maxsize=4096)
def _check_on_curve(public_key: bytes) -> None:
    """Refuse coordinates outside the field and points off the curve (cofactor 1: on the curve is in the group)."""
    x = int.from_bytes(public_key[1:33], "big")
    y = int.from_bytes(public_key[33:], "big")
    if x >= SM2_P or y >= SM2_P:
        raise SM2PublicKeyError("SM2公钥坐标超出有限域范围", "an SM2 public key coordinate is not below p")
    if (y * y - (x * x * x + SM2_A * x + SM2_B)) % SM2_P != 0:
        raise SM2PublicKeyError("SM2公钥不是SM2曲线上的点（可能抄错或截断）",
                                "the SM2 public key is not a point on the SM2 curve (mistyped or cut?)")


@lru_cache(maxsize=4096)  # the same issuer and node keys come back in every verification
def _tongsuo_public(public_key: bytes) -> _ts_ec.EllipticCurvePublicKey:
    return _ts_ec.EllipticCurvePublicKey.from_encoded_point(_ts_ec.SM2(), public_key)


@lru_cache(maxsize=4096)
def sm2_z(public_key: bytes) -> bytes:
    """Z of GB/T 32918.2 for the default signer ID: the prefix every SM2 signed digest starts from."""
    public_key = sm2_normalize_public_key(public_key)
    return sm3(_Z_PREFIX + public_key[1:])


@lru_cache(maxsize=64)  # a node signs with a handful of keys; deriving d·G costs more than signing
def _signer_z(private_key: bytes) -> bytes:
    return sm2_z(sm2_public_key(private_key))


# ---------------------------------------------------------------------------------------- SM2 signatures


def sm2_sign(private_key: bytes, message: bytes) -> bytes:
    """64-byte r || s: SM2 over SM3(Z || message), Z from the key's own public key and the default ID.

    Randomised (a fresh k each time, as GB/T 32918 specifies), so two signatures of one message
    differ; both verify.
    """
    _private_scalar(private_key)  # before the cache: an unhashable or wrong key gets our message
    z = _signer_z(private_key)
    if type(message) is not bytes:
        message = bytes(message)
    der = gmssl_pyx.sm2_sign_sm3_digest(private_key, sm3(z + message))
    r, s = decode_dss_signature(der)
    return r.to_bytes(32, "big") + s.to_bytes(32, "big")


def _signature_integers(signature: object) -> tuple[int, int]:
    if type(signature) is not bytes or len(signature) != 64:
        got = f"{len(signature)} bytes" if isinstance(signature, bytes | bytearray) else type(signature).__name__
        hint = "（DER编码的签名请先转换为r||s）" if isinstance(signature, bytes) and signature[:1] == b"\x30" else ""
        raise SM2SignatureMalformed(f"SM2签名应为64字节r||s，收到{got}{hint}",
                                    f"an SM2 signature is 64 bytes r||s, got {got}")
    r = int.from_bytes(signature[:32], "big")
    s = int.from_bytes(signature[32:], "big")
    if not (1 <= r < SM2_N and 1 <= s < SM2_N):
        raise SM2SignatureMalformed("SM2签名的r或s超出范围（应在1到n-1之间）",
                                    "an SM2 signature's r and s must lie in [1, n-1]")
    return r, s


def sm2_verify(public_key: bytes, message: bytes, signature: bytes) -> None:
    """Return if `signature` (64-byte r || s) is `public_key`'s SM2 signature of `message`; raise otherwise.

    SM2PublicKeyError / SM2SignatureMalformed for inputs that are not a key or a signature at all,
    SM2SignatureInvalid for a real-looking signature that does not verify — callers can tell a
    malformed code from a tampered one.
    """
    key = _tongsuo_public(sm2_normalize_public_key(public_key))
    r, s = _signature_integers(signature)
    if type(message) is not bytes:
        message = bytes(message)
    try:
        key.verify(encode_dss_signature(r, s), message, _SIGNATURE_ALGORITHM)
    except _TsInvalidSignature:
        raise SM2SignatureInvalid("SM2签名验证未通过：签名不属于该公钥，或所签内容已被改动",
                                  "the SM2 signature does not verify: another key signed, "
                                  "or the message was altered") from None


def sm2_is_valid(public_key: object, message: bytes, signature: object) -> bool:
    """As `sm2_verify`, as a boolean that is False for anything not a valid signature (never raises on input)."""
    try:
        sm2_verify(public_key, message, signature)  # type: ignore[arg-type]
    except GMError:
        return False
    return True


# ---------------------------------------------------------------------------------------- SM4-GCM


def _check_sm4_gcm(key: object, nonce: object) -> None:
    if type(key) is not bytes or len(key) != SM4_KEY_BYTES:
        got = f"{len(key)} bytes" if isinstance(key, bytes) else type(key).__name__
        raise SM4ParameterError(f"SM4密钥应为16字节，收到{got}", f"an SM4 key is 16 bytes, got {got}")
    if type(nonce) is not bytes or len(nonce) != SM4_GCM_NONCE_BYTES:
        got = f"{len(nonce)} bytes" if isinstance(nonce, bytes) else type(nonce).__name__
        raise SM4ParameterError(f"SM4-GCM随机数（nonce）应为12字节，收到{got}",
                                f"an SM4-GCM nonce is 12 bytes, got {got}")


def sm4_gcm_encrypt(key: bytes, nonce: bytes, plaintext: bytes, aad: bytes = b"") -> bytes:
    """ciphertext || 16-byte tag, SM4 in GCM mode (as AESGCM.encrypt lays it out).

    A nonce must never repeat under one key: GCM loses both secrecy and integrity if it does.
    """
    _check_sm4_gcm(key, nonce)
    if not plaintext:  # GmSSL refuses an empty plaintext; GCM over nothing is a plain tag over the AAD
        return _TsSM4GCM(key).encrypt(nonce, b"", bytes(aad))
    ciphertext, tag = gmssl_pyx.sm4_gcm_encrypt(key, nonce, bytes(aad), bytes(plaintext))
    return ciphertext + tag


def sm4_gcm_decrypt(key: bytes, nonce: bytes, sealed: bytes, aad: bytes = b"") -> bytes:
    """The plaintext of ciphertext || tag; SM4DecryptionFailed if anything was altered or differs."""
    _check_sm4_gcm(key, nonce)
    sealed = bytes(sealed)
    if len(sealed) < SM4_GCM_TAG_BYTES:
        raise SM4ParameterError(f"SM4-GCM密文至少应含16字节认证标签，收到{len(sealed)}字节",
                                f"SM4-GCM ciphertext holds at least its 16-byte tag, got {len(sealed)} bytes")
    body, tag = sealed[:-SM4_GCM_TAG_BYTES], sealed[-SM4_GCM_TAG_BYTES:]
    try:
        if not body:  # GmSSL refuses an empty ciphertext (see sm4_gcm_encrypt)
            return _TsSM4GCM(key).decrypt(nonce, sealed, bytes(aad))
        return gmssl_pyx.sm4_gcm_decrypt(key, nonce, bytes(aad), body, tag)
    except (gmssl_pyx.InvalidValueError, _TsInvalidTag):
        raise SM4DecryptionFailed("SM4-GCM解密失败：数据已被改动，或密钥、随机数、附加数据不匹配",
                                  "SM4-GCM decryption failed: altered, or another key, nonce or "
                                  "associated data") from None
