"""ABI encoding and decoding for our contracts, without web3.py's contract machinery.

One `ContractABI` per contract gives call encoders, output/event decoders and a custom-error
decoder; all selectors are computed once. This is the hot path of the indexer and the
naive verifier, hence eth_abi directly.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from eth_abi import decode, encode
from eth_utils import keccak


def _type_string(param: dict[str, Any]) -> str:
    """Canonical ABI type, expanding tuples (structs) recursively."""
    t = str(param["type"])
    if t.startswith("tuple"):
        inner = ",".join(_type_string(c) for c in param["components"])
        return f"({inner}){t[5:]}"
    return t


def _signature(item: dict[str, Any]) -> str:
    return f"{item['name']}({','.join(_type_string(p) for p in item.get('inputs', []))})"


def _named(params: Sequence[dict[str, Any]], values: Sequence[Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for i, (p, v) in enumerate(zip(params, values, strict=True)):
        if str(p["type"]).startswith("tuple") and not str(p["type"]).endswith("]"):
            v = _named(p["components"], v)
        out[p.get("name") or f"_{i}"] = v
    return out


@dataclass(frozen=True)
class Function:
    name: str
    selector: bytes
    input_types: list[str]
    output_types: list[str]
    outputs: list[dict[str, Any]]

    def encode(self, *args: Any) -> bytes:
        return self.selector + encode(self.input_types, list(args))

    def decode_output(self, data: bytes) -> tuple[Any, ...]:
        return tuple(decode(self.output_types, data))

    def decode_named(self, data: bytes) -> dict[str, Any]:
        return _named(self.outputs, self.decode_output(data))


def _word_decoder(t: str) -> Any:
    """A decoder for one static 32-byte ABI word, or None if `t` is not a simple static type.

    The indexer decodes tens of thousands of events whose fields are all words; slicing them
    directly is an order of magnitude faster than eth_abi's general decoder.
    """
    if t == "bytes32":
        return lambda w: w
    if t == "address":
        return lambda w: "0x" + w[12:].hex()
    if t == "bool":
        return lambda w: w[31] == 1
    if t.startswith("uint"):
        return lambda w: int.from_bytes(w, "big")
    return None


@dataclass(frozen=True)
class Event:
    name: str
    topic: bytes
    inputs: list[dict[str, Any]]

    def __post_init__(self) -> None:
        plain = [p for p in self.inputs if not p.get("indexed")]
        decoders = [_word_decoder(_type_string(p)) for p in plain]
        fast = None if any(d is None for d in decoders) else list(zip([p["name"] for p in plain], decoders,
                                                                      strict=True))
        object.__setattr__(self, "_fast", fast)

    def decode(self, topics: Sequence[bytes], data: bytes) -> dict[str, Any]:
        indexed = [p for p in self.inputs if p.get("indexed")]
        values: dict[str, Any] = {}
        for p, topic in zip(indexed, topics[1:], strict=True):
            t = _type_string(p)
            # Dynamic indexed values are stored as their hash; keep the hash.
            if t in ("string", "bytes") or t.endswith("]"):
                values[p["name"]] = topic
            else:
                word = _word_decoder(t)
                values[p["name"]] = word(topic) if word else decode([t], topic)[0]
        fast = self._fast  # type: ignore[attr-defined]
        if fast is not None and len(data) == 32 * len(fast):
            for i, (name, word) in enumerate(fast):
                values[name] = word(data[32 * i:32 * i + 32])
            return values
        plain = [p for p in self.inputs if not p.get("indexed")]
        values.update(_named(plain, decode([_type_string(p) for p in plain], data)))
        return values


@dataclass(frozen=True)
class CustomError:
    name: str
    selector: bytes
    inputs: list[dict[str, Any]]

    def decode(self, data: bytes) -> dict[str, Any]:
        return _named(self.inputs, decode([_type_string(p) for p in self.inputs], data))


class ContractABI:
    def __init__(self, abi: list[dict[str, Any]]) -> None:
        self.abi = abi
        self.functions: dict[str, Function] = {}
        self.events: dict[str, Event] = {}
        self.events_by_topic: dict[bytes, Event] = {}
        self.errors_by_selector: dict[bytes, CustomError] = {}
        for item in abi:
            kind = item.get("type")
            if kind == "function":
                sig = _signature(item)
                self.functions[item["name"]] = Function(
                    item["name"], keccak(text=sig)[:4],
                    [_type_string(p) for p in item["inputs"]],
                    [_type_string(p) for p in item.get("outputs", [])],
                    item.get("outputs", []),
                )
            elif kind == "event":
                ev = Event(item["name"], keccak(text=_signature(item)), item["inputs"])
                self.events[ev.name] = ev
                self.events_by_topic[ev.topic] = ev
            elif kind == "error":
                err = CustomError(item["name"], keccak(text=_signature(item))[:4], item["inputs"])
                self.errors_by_selector[err.selector] = err

    def fn(self, name: str) -> Function:
        try:
            return self.functions[name]
        except KeyError:
            raise AttributeError(f"contract has no function {name!r}") from None


# Solidity's built-in revert payloads.
ERROR_STRING = keccak(text="Error(string)")[:4]
PANIC = keccak(text="Panic(uint256)")[:4]


def decode_revert(data: bytes, abis: Sequence[ContractABI]) -> tuple[str, dict[str, Any]]:
    """Name and arguments of a revert payload, searching every known contract's errors."""
    if len(data) < 4:
        return ("EmptyRevert", {})
    selector, body = data[:4], data[4:]
    if selector == ERROR_STRING:
        return ("Error", {"message": decode(["string"], body)[0]})
    if selector == PANIC:
        return ("Panic", {"code": decode(["uint256"], body)[0]})
    for abi in abis:
        err = abi.errors_by_selector.get(selector)
        if err is not None:
            try:
                return (err.name, err.decode(body))
            except Exception:  # malformed payload: report the name we know
                return (err.name, {})
    return ("UnknownError", {"selector": "0x" + selector.hex()})
