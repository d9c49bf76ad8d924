"""国密 primitives benchmark: SM3, SM2 sign/verify/key derivation and SM4-GCM, per library.

    .venv/bin/python -m bench.gm_primitives            # full run (about half a minute)
    .venv/bin/python -m bench.gm_primitives --quick    # short run

Why: issue 17 asks to pick, per operation, the library that does it fastest among the maintained
native ones, never a pure-Python implementation in the hot path. This script measures each
candidate that is importable in the running interpreter (the project's venv has only the chosen
one and the test-only cross-check; to compare all candidates, install them in a scratch venv and
run this script with that venv's python from the repository root) and says which are absent.

Each figure is the best of several repeats of a loop of one operation, timed on this process's CPU
time (the build machine is shared: we measure the library, not the neighbours). Inputs: SM3 over
a 64-byte message (the size of a field leaf's preimage) and over 200 bytes; SM2 over a 32-byte
message (a document root) with signer ID 1234567812345678, the library's own key objects made once
(a service keeps its keys loaded); SM4-GCM over 200 bytes with 16 bytes of AAD; for comparison
keccak-256 (safe-pysha3) and secp256k1 sign/recover (coincurve), suite 1's primitives. The
`huren common.gm` row is our own module, raw bytes in and out (DER conversion, point checks and
key caches included): the cost the rest of Huren will pay.

Last line: `gm_primitives sm3_us=<x> sm2_sign_us=<y> sm2_verify_us=<z> sm4gcm_200_us=<w>` for
`common.gm`.
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable
from typing import Any

from bench.machine import describe

SIGNER_ID = b"1234567812345678"
MSG_64 = bytes(range(64))
MSG_200 = bytes(i % 251 for i in range(200))
ROOT = bytes.fromhex("5f" * 32)
KEY16 = bytes(range(16))
NONCE12 = bytes(range(12))
AAD = b"huren:field:aad!"

OPS = ("sm3_64", "sm3_200", "sm2_keygen", "sm2_derive", "sm2_sign", "sm2_verify", "sm4gcm_enc_200",
       "sm4gcm_dec_200")


def best_us(fn: Callable[[], Any], quick: bool) -> float:
    """Microseconds per call: best of the repeats, each a loop of about 0.1 s (0.03 s quick)."""
    target = 0.03 if quick else 0.1
    repeats = 3 if quick else 7
    number = 1
    while True:  # find a loop length that runs about `target` seconds
        started = time.process_time()
        for _ in range(number):
            fn()
        spent = time.process_time() - started
        if spent >= target / 4:
            break
        number *= 4
    number = max(1, int(number * target / max(spent, 1e-9)))
    best = float("inf")
    for _ in range(repeats):
        started = time.process_time()
        for _ in range(number):
            fn()
        best = min(best, (time.process_time() - started) / number)
    return best * 1e6


def gmssl_pyx_ops() -> dict[str, Callable[[], Any]]:
    import gmssl_pyx as g

    public, private = g.sm2_key_generate()
    signature = g.sm2_sign(private, public, ROOT, SIGNER_ID)
    ciphertext, tag = g.sm4_gcm_encrypt(KEY16, NONCE12, AAD, MSG_200)
    return {
        "sm3_64": lambda: g.sm3_hash(MSG_64),
        "sm3_200": lambda: g.sm3_hash(MSG_200),
        "sm2_keygen": g.sm2_key_generate,
        # no public-key derivation in gmssl-pyx's API
        "sm2_sign": lambda: g.sm2_sign(private, public, ROOT, SIGNER_ID),
        "sm2_verify": lambda: g.sm2_verify(public, ROOT, signature, SIGNER_ID),
        "sm4gcm_enc_200": lambda: g.sm4_gcm_encrypt(KEY16, NONCE12, AAD, MSG_200),
        "sm4gcm_dec_200": lambda: g.sm4_gcm_decrypt(KEY16, NONCE12, AAD, ciphertext, tag),
    }


def gmssl_pyx_digest_ops() -> dict[str, Callable[[], Any]]:
    """gmssl-pyx's SM2 over a digest we make, SM3(Z || message) with Z computed once per key.

    Its message-level `sm2_sign(private, public, message)` measured ten times slower than this
    (where the time goes inside the binding was not investigated), so common.gm signs this way.
    """
    import gmssl_pyx as g

    public, private = g.sm2_key_generate()
    z = g.sm3_hash((128).to_bytes(2, "big") + SIGNER_ID + bytes.fromhex(
        "FFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFC"
        "28E9FA9E9D9F5E344D5A9E4BCF6509A7F39789F515AB8F92DDBCBD414D940E93"
        "32C4AE2C1F1981195F9904466A39C9948FE30BBFF2660BE1715A4589334C74C7"
        "BC3736A2F4F6779C59BDCEE36B692153D0A9877CC62A474002DF32E52139F0A0") + public)
    signature = g.sm2_sign_sm3_digest(private, g.sm3_hash(z + ROOT))
    return {
        "sm2_sign": lambda: g.sm2_sign_sm3_digest(private, g.sm3_hash(z + ROOT)),
        "sm2_verify": lambda: g.sm2_verify_sm3_digest(public, g.sm3_hash(z + ROOT), signature),
    }


def tongsuopy_ops() -> dict[str, Callable[[], Any]]:
    from tongsuopy.crypto import hashes
    from tongsuopy.crypto.asymciphers import ec
    from tongsuopy.crypto.ciphers.aead import SM4GCM

    key = ec.generate_private_key(ec.SM2())
    d = key.private_numbers().private_value
    public = key.public_key()
    algorithm = ec.ECDSA(hashes.SM3())
    signature = key.sign(ROOT, algorithm)
    aead = SM4GCM(KEY16)
    sealed = aead.encrypt(NONCE12, MSG_200, AAD)

    def sm3(data: bytes) -> bytes:
        h = hashes.Hash(hashes.SM3())
        h.update(data)
        return h.finalize()

    return {
        "sm3_64": lambda: sm3(MSG_64),
        "sm3_200": lambda: sm3(MSG_200),
        "sm2_keygen": lambda: ec.generate_private_key(ec.SM2()),
        "sm2_derive": lambda: ec.derive_private_key(d, ec.SM2()).public_key(),
        "sm2_sign": lambda: key.sign(ROOT, algorithm),
        "sm2_verify": lambda: public.verify(signature, ROOT, algorithm),
        "sm4gcm_enc_200": lambda: aead.encrypt(NONCE12, MSG_200, AAD),
        "sm4gcm_dec_200": lambda: aead.decrypt(NONCE12, sealed, AAD),
    }


def gmssl_fast_ops() -> dict[str, Callable[[], Any]]:
    import gmssl_fast as g

    key = g.SM2.generate()
    signature = key.sign(ROOT)
    verifier = g.SM2(public_key=key.public_key_hex)
    aead = g.SM4GCM(KEY16, NONCE12)
    ciphertext, tag = aead.encrypt(MSG_200, AAD)
    return {
        "sm3_64": lambda: g.sm3(MSG_64),
        "sm3_200": lambda: g.sm3(MSG_200),
        "sm2_keygen": g.SM2.generate,
        # derives d·G inside its key handle but never returns it
        "sm2_sign": lambda: key.sign(ROOT),
        "sm2_verify": lambda: verifier.verify(ROOT, signature),
        "sm4gcm_enc_200": lambda: g.SM4GCM(KEY16, NONCE12).encrypt(MSG_200, AAD),
        "sm4gcm_dec_200": lambda: g.SM4GCM(KEY16, NONCE12).decrypt(ciphertext, tag, AAD),
    }


def easy_gmssl_ops() -> dict[str, Callable[[], Any]]:
    from easy_gmssl import EasySm2Key, EasySM3Digest, EasySm4GCM

    def sm3(data: bytes) -> bytes:
        h = EasySM3Digest()
        h.UpdateData(data)
        return h.GetHash()[0]

    def gcm_encrypt() -> bytes:
        c = EasySm4GCM(KEY16, NONCE12, AAD, 16, True)
        return c.Update(MSG_200) + c.Finish()

    key = EasySm2Key().NewKey()
    digest = sm3(key.GetZ() + ROOT)
    signature = key.SignDigest(digest)
    return {
        "sm3_64": lambda: sm3(MSG_64),
        "sm3_200": lambda: sm3(MSG_200),
        "sm2_keygen": lambda: EasySm2Key().NewKey(),
        # keys load from PEM files only; sign and verify timed over a ready Z-prefixed digest
        "sm2_sign": lambda: key.SignDigest(sm3(key.GetZ() + ROOT)),
        "sm2_verify": lambda: key.VerifyDigestSignature(sm3(key.GetZ() + ROOT), signature),
        "sm4gcm_enc_200": gcm_encrypt,
    }


def gmssl_pure_ops() -> dict[str, Callable[[], Any]]:
    """The pure-Python `gmssl` 3.2.2 package: the test-only cross-check, here to show why not hot."""
    from gmssl import func, sm2, sm3

    d = "3945208f7b2144b13f36e38ac6d39f95889393692860b51a42fb81ef4df7c5b8"
    probe = sm2.CryptSM2(private_key=d, public_key="")
    public = probe._kg(int(d, 16), sm2.default_ecc_table["g"])
    crypt = sm2.CryptSM2(private_key=d, public_key=public)
    k = func.random_hex(crypt.para_len)
    signature = crypt.sign_with_sm3(ROOT, k)
    return {
        "sm3_64": lambda: sm3.sm3_hash(func.bytes_to_list(MSG_64)),
        "sm3_200": lambda: sm3.sm3_hash(func.bytes_to_list(MSG_200)),
        "sm2_derive": lambda: probe._kg(int(d, 16), sm2.default_ecc_table["g"]),
        "sm2_sign": lambda: crypt.sign_with_sm3(ROOT, func.random_hex(crypt.para_len)),
        "sm2_verify": lambda: crypt.verify_with_sm3(signature, ROOT),
    }


def huren_ops() -> dict[str, Callable[[], Any]]:
    from common import gm

    pair = gm.sm2_generate_keypair()
    private, public = pair.private_key, pair.public_key
    signature = gm.sm2_sign(private, ROOT)
    sealed = gm.sm4_gcm_encrypt(KEY16, NONCE12, MSG_200, AAD)
    return {
        "sm3_64": lambda: gm.sm3(MSG_64),
        "sm3_200": lambda: gm.sm3(MSG_200),
        "sm2_keygen": gm.sm2_generate_keypair,
        "sm2_derive": lambda: gm.sm2_public_key(private),
        "sm2_sign": lambda: gm.sm2_sign(private, ROOT),
        "sm2_verify": lambda: gm.sm2_verify(public, ROOT, signature),
        "sm4gcm_enc_200": lambda: gm.sm4_gcm_encrypt(KEY16, NONCE12, MSG_200, AAD),
        "sm4gcm_dec_200": lambda: gm.sm4_gcm_decrypt(KEY16, NONCE12, sealed, AAD),
    }


def suite1_ops() -> dict[str, Callable[[], Any]]:
    """Suite 1's primitives in the same run, for the ratio (their rows stand in the SM columns)."""
    from coincurve import PrivateKey
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM
    from sha3 import keccak_256

    from common.ecdsa import recover_digest_raw, sign_digest

    secret = os.urandom(32)
    signature = sign_digest(secret, ROOT)
    aead = AESGCM(KEY16)
    sealed = aead.encrypt(NONCE12, MSG_200, AAD)
    return {
        "sm3_64": lambda: keccak_256(MSG_64).digest(),
        "sm3_200": lambda: keccak_256(MSG_200).digest(),
        "sm2_keygen": lambda: PrivateKey(),
        "sm2_derive": lambda: PrivateKey(secret).public_key.format(compressed=False),
        "sm2_sign": lambda: sign_digest(secret, ROOT),
        "sm2_verify": lambda: recover_digest_raw(ROOT, signature),
        "sm4gcm_enc_200": lambda: aead.encrypt(NONCE12, MSG_200, AAD),
        "sm4gcm_dec_200": lambda: aead.decrypt(NONCE12, sealed, AAD),
    }


CANDIDATES: list[tuple[str, str, Callable[[], dict[str, Callable[[], Any]]]]] = [
    ("gmssl-pyx", "gmssl_pyx", gmssl_pyx_ops),
    ("gmssl-pyx (digest API)", "gmssl_pyx", gmssl_pyx_digest_ops),
    ("tongsuopy", "tongsuopy", tongsuopy_ops),
    ("gmssl-fast", "gmssl_fast", gmssl_fast_ops),
    ("easy-gmssl", "easy_gmssl", easy_gmssl_ops),
    ("gmssl (pure Python)", "gmssl", gmssl_pure_ops),
    ("huren common.gm", "common.gm", huren_ops),
    ("suite 1: keccak/secp256k1/AES", "coincurve", suite1_ops),
]


def version_of(distribution: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(distribution)
    except PackageNotFoundError:
        return "-"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="shorter loops, fewer repeats")
    args = parser.parse_args()
    print(describe())
    print("µs per operation, best of repeats on process CPU time; '-' = the library has no such call")
    header = f"{'library':<32}" + "".join(f"{op:>15}" for op in OPS)
    print(header)
    ours: dict[str, float] = {}
    for label, module, make in CANDIDATES:
        try:
            ops = make()
        except Exception as exc:  # an absent or broken candidate is reported, not fatal
            print(f"{label:<32}not usable here: {type(exc).__name__}: {str(exc)[:90]}")
            continue
        dist = label.split(" ")[0] if module != "common.gm" and not label.startswith("suite") else ""
        name = f"{label} {version_of(dist)}" if dist else label
        row = {op: best_us(fn, args.quick) for op, fn in ops.items()}
        print(f"{name:<32}" + "".join(f"{row[op]:>15.2f}" if op in row else f"{'-':>15}" for op in OPS), flush=True)
        if module == "common.gm":
            ours = row
    if ours:
        print(f"gm_primitives sm3_us={ours['sm3_64']:.2f} sm2_sign_us={ours['sm2_sign']:.1f} "
              f"sm2_verify_us={ours['sm2_verify']:.1f} sm4gcm_200_us={ours['sm4gcm_enc_200']:.2f}")


if __name__ == "__main__":
    main()
