"""Huren verifier: presentations, their QR encoding, and the pure verification engine.

* `presentation` — what a holder shows (a 加注件: disclosed fields, proofs, expiry, purpose).
* `codec`        — the compact "HR1:" text form (CBOR -> zlib -> Base45) and the short
                   reference-URL form, with strict decoding.
* `qr`           — QR images of those texts.
* `verdicts`, `checks`, `engine` — presentation + ChainView + policy -> VerificationResult.
* `snapshot`     — signed trust-list snapshots for offline verification.

Nothing here does I/O on its own: the engine asks a `common.facts.ChainView` for facts.
`verifier/` never imports `issuers/` or `ledger/`; formats are shared through `common/`.
"""
