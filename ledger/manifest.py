"""The deployment manifest: which chain, which addresses, from which block, which ABIs.

Every other component (issuer service, indexer, verifier API) reads this one file instead of
being configured with addresses by hand, so they cannot disagree about the deployment.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path

CONTRACT_NAMES = ("Consortium", "IssuerRegistry", "RecognitionPolicy", "AnchorLedger", "StatusReader",
                  "VerificationLogAnchor", "NodeRegistry")


@dataclass(frozen=True)
class Manifest:
    chain_id: int
    deployment_block: int
    addresses: dict[str, str]  # contract name -> checksummed address
    abi_hashes: dict[str, str]
    deployer: str

    @property
    def ledger_address(self) -> str:
        return self.addresses["AnchorLedger"]

    def digest(self) -> str:
        return hashlib.sha256(json.dumps(asdict(self), sort_keys=True).encode()).hexdigest()

    def save(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(asdict(self), indent=2, sort_keys=True))
        tmp.replace(path)

    @classmethod
    def load(cls, path: Path) -> Manifest:
        try:
            raw = json.loads(Path(path).read_text())
            return cls(**raw)
        except (OSError, ValueError, TypeError) as exc:
            raise ValueError(f"cannot read deployment manifest {path}: {exc}") from None
