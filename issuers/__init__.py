"""Issuer side of Huren: certificate model, national rules, certificate-type catalogue.

`issuers.rules` holds the national number formats, `issuers.catalogue` the certificate
types (JSON Schema), `issuers.model` the certificate document and its validation,
`issuers.status_codes` the mapping to national 证照状态 codes and `issuers.samples` valid,
deterministic sample certificates for tests, the demo and the benchmark.
"""
