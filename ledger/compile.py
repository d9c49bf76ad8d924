"""Compile `contracts/` with py-solc-x through the offline solc-js adapter (`tools/solc`).

No native solc can be downloaded on our machines (TOOLCHAIN.md), so py-solc-x is pointed at
the adapter. Compiling through solc-js takes seconds, so artifacts are cached by a hash of
every source file and the compiler settings: an unchanged tree never compiles twice.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import solcx

from ledger.errors import CompileError

ROOT = Path(__file__).resolve().parent.parent
CONTRACTS_DIR = ROOT / "contracts"
SOLC_ADAPTER = ROOT / "tools" / "solc"
CACHE_DIR = ROOT / ".huren" / "artifacts"
REMAPPINGS = ["@openzeppelin/contracts/=node_modules/@openzeppelin/contracts/"]
SETTINGS: dict[str, object] = {
    "optimizer": {"enabled": True, "runs": 10000},
    "evmVersion": "cancun",
    "remappings": REMAPPINGS,
    "outputSelection": {"*": {"*": ["abi", "evm.bytecode.object", "evm.deployedBytecode.object"]}},
}


@dataclass(frozen=True)
class Artifact:
    name: str
    abi: list[dict[str, object]]
    bytecode: str

    @property
    def abi_hash(self) -> str:
        return hashlib.sha256(json.dumps(self.abi, sort_keys=True).encode()).hexdigest()


def _sources(contracts_dir: Path) -> dict[str, str]:
    """Production sources only: Foundry tests and scripts are not deployed."""
    files = sorted(
        p for p in contracts_dir.rglob("*.sol") if "test" not in p.relative_to(contracts_dir).parts[:1]
        and "script" not in p.relative_to(contracts_dir).parts[:1]
    )
    return {str(p.relative_to(ROOT)): p.read_text() for p in files}


def source_hash(sources: dict[str, str]) -> str:
    h = hashlib.sha256(json.dumps(SETTINGS, sort_keys=True).encode())
    for path, text in sorted(sources.items()):
        h.update(path.encode() + b"\0" + text.encode() + b"\0")
    return h.hexdigest()


def compile_contracts(contracts_dir: Path = CONTRACTS_DIR, use_cache: bool = True) -> dict[str, Artifact]:
    """Return every contract defined under `contracts_dir`, keyed by contract name."""
    sources = _sources(contracts_dir)
    if not sources:
        raise CompileError(f"no Solidity sources under {contracts_dir}")
    key = source_hash(sources)
    cache_file = CACHE_DIR / f"{key}.json"
    if use_cache and cache_file.exists():
        raw = json.loads(cache_file.read_text())
    else:
        raw = _run_solc(sources)
        CACHE_DIR.mkdir(parents=True, exist_ok=True)
        tmp = cache_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(raw))
        tmp.replace(cache_file)
    return {name: Artifact(name, a["abi"], a["bytecode"]) for name, a in raw.items()}


def _run_solc(sources: dict[str, str]) -> dict[str, dict[str, object]]:
    standard_input = {
        "language": "Solidity",
        "sources": {path: {"content": text} for path, text in sources.items()},
        "settings": SETTINGS,
    }
    try:
        out = solcx.compile_standard(
            standard_input, solc_binary=str(SOLC_ADAPTER), base_path=str(ROOT), allow_paths=[str(ROOT)]
        )
    except solcx.exceptions.SolcError as exc:  # pragma: no cover - message passthrough
        raise CompileError(f"solc failed: {exc}") from exc
    errors = [e for e in out.get("errors", []) if e.get("severity") == "error"]
    if errors:
        raise CompileError("\n".join(e.get("formattedMessage", str(e)) for e in errors))
    result: dict[str, dict[str, object]] = {}
    for path, contracts in out["contracts"].items():
        if path not in sources:
            continue  # libraries imported from node_modules are linked in, not deployed
        for name, c in contracts.items():
            bytecode = c["evm"]["bytecode"]["object"]
            result[name] = {"abi": c["abi"], "bytecode": bytecode}
    return result
