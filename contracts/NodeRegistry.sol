// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {Consortium} from "./Consortium.sol";

/**
 * @title NodeRegistry
 * @notice The federation's directory: each member region's Huren node — its public base URL and the
 * public keys with which it signs node-to-node HTTP requests (RFC 9421) and stamps 加注件. Nodes find
 * and trust each other only through this registry.
 *
 * Keys are stored as (crypto suite, algorithm, public-key bytes), not as addresses: node keys sign
 * off chain, and neither an Ed25519 nor an SM2 key can be recovered from a signature. Numbering:
 *  - suite 1 (international; keccak-256 / secp256k1 / AES-GCM on chain), node-key algorithms:
 *      1 = ed25519            (RFC 9421 `ed25519`, RFC 8032 public key, 32 bytes)
 *      2 = ecdsa-p256-sha256  (RFC 9421, SEC1 point: 33 bytes compressed or 65 uncompressed)
 *      3 = ecdsa-p384-sha384  (RFC 9421, SEC1 point: 49 or 97 bytes)
 *  - suite 2 (国密 SM3 / SM2 / SM4), reserved: 16 = sm2-sm3 (GB/T 32918 point: 33 or 65 bytes).
 * Algorithm ids are unique across suites; a key's suite must be the one its algorithm belongs to.
 *
 * Purpose: 1 = request signing (node-to-node HTTP), 2 = stamping (加注). A key has exactly one
 * purpose and a public key can be registered only once in the whole registry, so a request-signing
 * key can never count as a stamp key, nor as another region's key.
 *
 * Key id: `keccak256(publicKey)`; HTTP signatures carry it as their `keyid` ("0x" + 64 hex digits).
 *
 * Every mutator is called by the {Consortium} when a regional proposal of the acting region executes
 * (双人双锁); its first argument is that region. Times are uint64 unix seconds; a key is valid at `t`
 * iff `validFrom <= t` and (`validUntil == 0` or `t < validUntil`), as issuer keys are.
 */
contract NodeRegistry {
    /// @notice Node status codes (as uint8 in views).
    enum NodeStatus {
        None,
        Active,
        Removed
    }

    struct NodeRecord {
        NodeStatus status;
        uint64 registeredAt;
        uint64 updatedAt;
        string baseUrl;
        bytes32[] keyIds; // every key the node ever had, at most MAX_KEYS_PER_NODE
    }

    struct KeyRecord {
        uint32 region; // 0 = unknown key
        uint8 suite;
        uint8 algorithm;
        uint8 purpose;
        uint64 validFrom;
        uint64 validUntil; // 0 = open; retiring sets it once, forever
        bytes publicKey;
    }

    /// @notice Suite 1: international algorithms.
    uint8 public constant SUITE_INTERNATIONAL = 1;
    /// @notice Suite 2: 国密 (SM2 / SM3 / SM4), reserved for nodes that verify it.
    uint8 public constant SUITE_GUOMI = 2;
    /// @notice Algorithm: Ed25519 (suite 1).
    uint8 public constant ALG_ED25519 = 1;
    /// @notice Algorithm: ECDSA over P-256 with SHA-256 (suite 1).
    uint8 public constant ALG_ECDSA_P256_SHA256 = 2;
    /// @notice Algorithm: ECDSA over P-384 with SHA-384 (suite 1).
    uint8 public constant ALG_ECDSA_P384_SHA384 = 3;
    /// @notice Algorithm: SM2 with SM3 (suite 2).
    uint8 public constant ALG_SM2_SM3 = 16;
    /// @notice Purpose: signs node-to-node HTTP requests.
    uint8 public constant PURPOSE_REQUEST_SIGNING = 1;
    /// @notice Purpose: stamps 加注件 (presentations).
    uint8 public constant PURPOSE_STAMPING = 2;
    /// @notice Keys a node may ever hold (rotated keys stay listed; a yearly rotation lasts decades).
    uint256 public constant MAX_KEYS_PER_NODE = 64;
    /// @notice Longest base URL, in bytes.
    uint256 public constant MAX_URL_LENGTH = 256;

    /// @notice The consortium whose executed proposals may change this registry.
    Consortium public immutable consortium;

    mapping(uint32 region => NodeRecord) private _nodes;
    mapping(bytes32 keyId => KeyRecord) private _keys;

    /// @notice `region` registered its node at `baseUrl` (also after an earlier removal).
    event NodeRegistered(uint32 indexed region, string baseUrl, uint64 at);
    /// @notice The node of `region` moved to `baseUrl`.
    event NodeUrlChanged(uint32 indexed region, string baseUrl, uint64 at);
    /// @notice The node of `region` was removed; each of its keys still open was retired at `at` first.
    event NodeRemoved(uint32 indexed region, uint64 at);
    /// @notice A key was added to the node of `region`, valid from `validFrom`.
    event NodeKeyAdded(
        uint32 indexed region,
        bytes32 indexed keyId,
        uint8 suite,
        uint8 algorithm,
        uint8 purpose,
        bytes publicKey,
        uint64 validFrom
    );
    /// @notice A key was retired: valid before `validUntil` only (may be backdated).
    event NodeKeyRetired(uint32 indexed region, bytes32 indexed keyId, uint64 validUntil);

    error NotConsortium(address caller);
    error NotMember(uint32 region);
    error InvalidBaseUrl();
    error NodeAlreadyRegistered(uint32 region);
    error UnknownNode(uint32 region);
    error SameBaseUrl(uint32 region);
    error UnsupportedAlgorithm(uint8 suite, uint8 algorithm);
    error InvalidPublicKey(uint8 algorithm, uint256 length);
    error InvalidPurpose(uint8 purpose);
    error NodeKeyAlreadyRegistered(bytes32 keyId);
    error TooManyNodeKeys(uint32 region);
    error UnknownNodeKey(bytes32 keyId);
    error NodeKeyWrongRegion(bytes32 keyId, uint32 region);
    error NodeKeyAlreadyRetired(bytes32 keyId);
    error InvalidValidUntil(uint64 validUntil);

    modifier onlyConsortium() {
        if (msg.sender != address(consortium)) revert NotConsortium(msg.sender);
        _;
    }

    /// @param consortium_ the governance contract that owns this registry.
    constructor(Consortium consortium_) {
        consortium = consortium_;
    }

    // ---------------------------------------------------------------- mutators (via regional proposals)

    /**
     * @notice Registers the node of member `region` at `baseUrl` (again, after a removal).
     * @param baseUrl `http://` or `https://` URL of printable ASCII without spaces, at most
     * {MAX_URL_LENGTH} bytes (an internationalised host is given in punycode).
     */
    function registerNode(uint32 region, string calldata baseUrl) external onlyConsortium {
        if (!consortium.isMember(region)) revert NotMember(region);
        _checkUrl(baseUrl);
        NodeRecord storage n = _nodes[region];
        if (n.status == NodeStatus.Active) revert NodeAlreadyRegistered(region);
        uint64 nowTs = uint64(block.timestamp);
        n.status = NodeStatus.Active;
        n.registeredAt = nowTs;
        n.updatedAt = nowTs;
        n.baseUrl = baseUrl;
        emit NodeRegistered(region, baseUrl, nowTs);
    }

    /// @notice Moves the active node of `region` to `baseUrl` (same rules as {registerNode}).
    function setNodeUrl(uint32 region, string calldata baseUrl) external onlyConsortium {
        NodeRecord storage n = _activeNode(region);
        _checkUrl(baseUrl);
        if (keccak256(bytes(baseUrl)) == keccak256(bytes(n.baseUrl))) revert SameBaseUrl(region);
        uint64 nowTs = uint64(block.timestamp);
        n.updatedAt = nowTs;
        n.baseUrl = baseUrl;
        emit NodeUrlChanged(region, baseUrl, nowTs);
    }

    /**
     * @notice Adds a public key to the active node of `region`. A public key belongs to one node and
     * one purpose forever.
     * @param suite 1 international, 2 国密; must be the suite of `algorithm`.
     * @param algorithm 1 ed25519, 2 ecdsa-p256-sha256, 3 ecdsa-p384-sha384, 16 sm2-sm3.
     * @param purpose 1 request signing, 2 stamping (加注).
     * @param publicKey raw Ed25519 key or SEC1 point, of the algorithm's length.
     * @param validFrom start of the key's window; a time before now (or 0) is raised to now, since a
     * key cannot have been valid before it was registered. The event carries the effective value.
     */
    function addNodeKey(
        uint32 region,
        uint8 suite,
        uint8 algorithm,
        uint8 purpose,
        bytes calldata publicKey,
        uint64 validFrom
    ) external onlyConsortium {
        NodeRecord storage n = _activeNode(region);
        _checkKey(suite, algorithm, publicKey);
        if (purpose != PURPOSE_REQUEST_SIGNING && purpose != PURPOSE_STAMPING) revert InvalidPurpose(purpose);
        bytes32 keyId = keccak256(publicKey);
        KeyRecord storage k = _keys[keyId];
        if (k.region != 0) revert NodeKeyAlreadyRegistered(keyId);
        if (n.keyIds.length >= MAX_KEYS_PER_NODE) revert TooManyNodeKeys(region);
        // forge-lint: disable-next-line(block-timestamp)
        uint64 from = validFrom < block.timestamp ? uint64(block.timestamp) : validFrom;
        k.region = region;
        k.suite = suite;
        k.algorithm = algorithm;
        k.purpose = purpose;
        k.validFrom = from;
        k.publicKey = publicKey;
        n.keyIds.push(keyId);
        emit NodeKeyAdded(region, keyId, suite, algorithm, purpose, publicKey, from);
    }

    /**
     * @notice Retires a key of `region`'s node (final); works on a removed node's keys too.
     * @param validUntil end of the window (exclusive); may be backdated to a compromise time, or lie in
     * the future for a planned rotation; never before the key's `validFrom`.
     */
    function retireNodeKey(uint32 region, bytes32 keyId, uint64 validUntil) external onlyConsortium {
        KeyRecord storage k = _keys[keyId];
        if (k.region == 0) revert UnknownNodeKey(keyId);
        if (k.region != region) revert NodeKeyWrongRegion(keyId, region);
        if (k.validUntil != 0) revert NodeKeyAlreadyRetired(keyId);
        if (validUntil == 0 || validUntil < k.validFrom) revert InvalidValidUntil(validUntil);
        k.validUntil = validUntil;
        emit NodeKeyRetired(region, keyId, validUntil);
    }

    /**
     * @notice Removes the node of `region`: other nodes stop trusting it. Every key still valid after
     * now (open, or retired in the future) is retired at now first (a key not yet in force gets an
     * empty window), so a key's window alone says whether it was trusted at a given time.
     */
    function removeNode(uint32 region) external onlyConsortium {
        NodeRecord storage n = _activeNode(region);
        uint64 nowTs = uint64(block.timestamp);
        bytes32[] storage ids = n.keyIds;
        for (uint256 i = 0; i < ids.length; ++i) {
            KeyRecord storage k = _keys[ids[i]];
            if (k.validUntil == 0 || k.validUntil > nowTs) {
                uint64 until = k.validFrom > nowTs ? k.validFrom : nowTs;
                k.validUntil = until;
                emit NodeKeyRetired(region, ids[i], until);
            }
        }
        n.status = NodeStatus.Removed;
        n.updatedAt = nowTs;
        emit NodeRemoved(region, nowTs);
    }

    // ---------------------------------------------------------------- views

    /**
     * @notice The node of `region`.
     * @return status 0 none, 1 active, 2 removed.
     * @return baseUrl its public base URL (kept after removal, for the record).
     * @return registeredAt when it was (last) registered.
     * @return updatedAt when its URL or status last changed.
     * @return keyCount how many keys it ever had (see {keyIdsOf}).
     */
    function nodeOf(uint32 region)
        external
        view
        returns (uint8 status, string memory baseUrl, uint64 registeredAt, uint64 updatedAt, uint256 keyCount)
    {
        NodeRecord storage n = _nodes[region];
        return (uint8(n.status), n.baseUrl, n.registeredAt, n.updatedAt, n.keyIds.length);
    }

    /// @notice Ids of every key the node of `region` ever had, oldest first (at most {MAX_KEYS_PER_NODE}).
    function keyIdsOf(uint32 region) external view returns (bytes32[] memory) {
        return _nodes[region].keyIds;
    }

    /**
     * @notice A node key's record; an unknown key returns region 0 and empty fields.
     * @return region the key's region.
     * @return suite 1 international, 2 国密.
     * @return algorithm see the contract's NatSpec.
     * @return purpose 1 request signing, 2 stamping.
     * @return publicKey the public-key bytes.
     * @return validFrom start of the window.
     * @return validUntil end of the window (exclusive; 0 = open).
     */
    function nodeKey(bytes32 keyId)
        external
        view
        returns (
            uint32 region,
            uint8 suite,
            uint8 algorithm,
            uint8 purpose,
            bytes memory publicKey,
            uint64 validFrom,
            uint64 validUntil
        )
    {
        KeyRecord storage k = _keys[keyId];
        return (k.region, k.suite, k.algorithm, k.purpose, k.publicKey, k.validFrom, k.validUntil);
    }

    /// @notice Whether `keyId` is a key of `region`'s node for `purpose`, inside its window at `at`.
    function isNodeKeyValidAt(bytes32 keyId, uint32 region, uint8 purpose, uint64 at) external view returns (bool) {
        KeyRecord storage k = _keys[keyId];
        uint64 until = k.validUntil;
        return
            k.region != 0 && k.region == region && k.purpose == purpose && k.validFrom <= at
                && (until == 0 || at < until);
    }

    /// @notice The key id of `publicKey` (what HTTP signatures carry as `keyid`).
    function keyIdOf(bytes calldata publicKey) external pure returns (bytes32) {
        return keccak256(publicKey);
    }

    // ---------------------------------------------------------------- internals

    function _activeNode(uint32 region) private view returns (NodeRecord storage n) {
        n = _nodes[region];
        if (n.status != NodeStatus.Active) revert UnknownNode(region);
    }

    function _checkUrl(string calldata url) private pure {
        bytes calldata b = bytes(url);
        uint256 len = b.length;
        if (len > MAX_URL_LENGTH) revert InvalidBaseUrl();
        uint256 rest;
        if (len > 8 && bytes8(b[:8]) == "https://") {
            rest = 8;
        } else if (len > 7 && bytes7(b[:7]) == "http://") {
            rest = 7;
        } else {
            revert InvalidBaseUrl();
        }
        for (uint256 i = rest; i < len; ++i) {
            bytes1 c = b[i];
            if (c < 0x21 || c > 0x7e) revert InvalidBaseUrl();
        }
    }

    function _checkKey(uint8 suite, uint8 algorithm, bytes calldata pk) private pure {
        uint256 len = pk.length;
        bool ok;
        if (suite == SUITE_INTERNATIONAL && algorithm == ALG_ED25519) {
            ok = len == 32;
        } else if (suite == SUITE_INTERNATIONAL && algorithm == ALG_ECDSA_P256_SHA256) {
            ok = _isPoint(pk, 32);
        } else if (suite == SUITE_INTERNATIONAL && algorithm == ALG_ECDSA_P384_SHA384) {
            ok = _isPoint(pk, 48);
        } else if (suite == SUITE_GUOMI && algorithm == ALG_SM2_SM3) {
            ok = _isPoint(pk, 32);
        } else {
            revert UnsupportedAlgorithm(suite, algorithm);
        }
        if (!ok) revert InvalidPublicKey(algorithm, len);
    }

    /// @dev SEC1 encoding shape of a point on a curve of `size`-byte coordinates (not curve membership).
    function _isPoint(bytes calldata pk, uint256 size) private pure returns (bool) {
        if (pk.length == size + 1) return pk[0] == 0x02 || pk[0] == 0x03;
        if (pk.length == 2 * size + 1) return pk[0] == 0x04;
        return false;
    }
}
