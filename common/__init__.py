"""Formats and facts shared by issuers/, ledger/ and verifier/ (which must not import each other)."""
