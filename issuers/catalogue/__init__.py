"""Certificate-type catalogue (证照目录): one JSON Schema per type, see `catalogue`."""

from issuers.catalogue.catalogue import (
    HOLDER_ID_TYPES,
    Catalogue,
    CatalogueError,
    CertificateType,
    CrossCheck,
    DefiningAuthority,
    default_catalogue,
    document_schema,
    load_catalogue,
    schema_hash,
)

__all__ = [
    "HOLDER_ID_TYPES",
    "Catalogue",
    "CatalogueError",
    "CertificateType",
    "CrossCheck",
    "DefiningAuthority",
    "default_catalogue",
    "document_schema",
    "load_catalogue",
    "schema_hash",
]
