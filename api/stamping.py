"""The 加注 stamping keys this node signs presentations with (common/stamp.py), one per region it serves.

Why here and not in federation/: stamping is what the holder's node does when its wallet makes a
code; a node that takes no part in node-to-node calls still stamps. The keys live with the node
(DESIGN.md, Federation): key files (mode 0600) listed in `settings.stamp_keys_file` as
``[{"region": 110000, "keyFile": "..."}]``, whose public halves the region's officers registered
in the chain's node registry with purpose `stamping`. A suite-1 (international) node's are Ed25519
PKCS#8 PEM files encrypted with the node's passphrase; a 国密 (suite 2) node's are SM2 JSON
keystores sealed with SM4-GCM that say their suite, algorithm and purpose (common/node_keys.py) —
one loader reads both, and a keystore made for request signing is refused here. They are a different key from the node's
request-signing key, so neither signature can stand in for the other.
"""

from __future__ import annotations

import json
from pathlib import Path

from common.nodes import NodeKeyPurpose
from common.stamp import StampSigner
from federation.node_key import NodeKeyFileError, load_node_key_file


class StampKeysError(Exception):
    """The stamping-key listing cannot be used; the message names the file and what is wrong."""


def load_stamp_signers(listing: Path, passphrase: str) -> dict[int, StampSigner]:
    """Region -> its stamping key, from the listing; StampKeysError for anything unusable."""
    try:
        entries = json.loads(listing.read_text())
    except (OSError, ValueError) as exc:
        raise StampKeysError(f"加注签章密钥清单 {listing} 无法读取：{exc}") from None
    if not isinstance(entries, list):
        raise StampKeysError(f"加注签章密钥清单 {listing} 应为数组 [{{region, keyFile}}]")
    signers: dict[int, StampSigner] = {}
    for n, entry in enumerate(entries):
        region = entry.get("region") if isinstance(entry, dict) else None
        key_file = entry.get("keyFile") if isinstance(entry, dict) else None
        if type(region) is not int or not 100000 <= region <= 999999 or not isinstance(key_file, str):
            raise StampKeysError(
                f"加注签章密钥清单 {listing} 第 {n + 1} 项应为 {{\"region\": 六位地区代码, \"keyFile\": 路径}}")
        if region in signers:
            raise StampKeysError(f"加注签章密钥清单 {listing} 中地区 {region} 出现两次")
        try:
            key = load_node_key_file(Path(key_file), region, "", passphrase, NodeKeyPurpose.STAMPING)
        except NodeKeyFileError as exc:
            raise StampKeysError(str(exc)) from None
        signers[region] = StampSigner(region, key.private_key)
    return signers
