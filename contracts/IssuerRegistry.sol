// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {Consortium} from "./Consortium.sol";

/**
 * @title IssuerRegistry
 * @notice Issuing departments (发证部门), their signing keys and the certificate types they may issue.
 *
 * Every mutator is called by the {Consortium} when a regional proposal executes; its first argument
 * is the acting region, and the issuer must belong to that region. An issuer is identified by
 * `keccak256(bytes(统一社会信用代码))`; nothing personal is stored.
 *
 * Time semantics (all uint64 unix seconds):
 *  - a key is valid at `t` iff `validFrom <= t` and (`validUntil == 0` or `t < validUntil`);
 *  - an issuer revoked with `effectiveFrom` voids every anchor with timestamp >= effectiveFrom;
 *    anchors before it stay valid. Suspension only stops new anchors.
 */
contract IssuerRegistry {
    /// @notice Issuer status codes (as uint8 in events and views).
    enum IssuerStatus {
        Unknown,
        Active,
        Suspended,
        Revoked
    }

    struct IssuerRecord {
        uint32 region;
        IssuerStatus status;
        uint64 registeredAt;
        uint64 statusSince;
        uint64 revokedFrom; // 0 = not revoked
    }

    struct KeyRecord {
        bytes32 issuerId; // zero = unknown key
        uint64 validFrom;
        uint64 validUntil; // 0 = open (not retired); retiring sets it once, forever
    }

    /// @dev An SM2 public key: two words, cheaper than a 64-byte `bytes` (no length slot).
    struct SM2Point {
        bytes32 x;
        bytes32 y;
    }

    /// @notice The consortium whose executed proposals may change this registry.
    Consortium public immutable consortium;

    mapping(bytes32 issuerId => IssuerRecord) private _issuers;
    mapping(bytes32 issuerId => string) private _names;
    mapping(address key => KeyRecord) private _keys;
    mapping(bytes32 issuerId => mapping(bytes32 typeCode => bool)) private _granted;
    /// @dev SM2 public keys (x, y) of the keys added by {addSM2Key}; (0, 0) for secp256k1 keys.
    mapping(address key => SM2Point) private _sm2;

    /// @dev The SM2 recommended curve (GB/T 32918.5): y^2 = x^3 + a x + b over F_p, a = p - 3.
    uint256 private constant SM2_P = 0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFF;
    uint256 private constant SM2_A = 0xFFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFC;
    uint256 private constant SM2_B = 0x28E9FA9E9D9F5E344D5A9E4BCF6509A7F39789F515AB8F92DDBCBD414D940E93;

    /// @notice An issuing department was registered, Active since `at`.
    event IssuerRegistered(bytes32 indexed issuerId, uint32 indexed region, string name, uint64 at);
    /// @notice Status 1 active / 2 suspended (effective now), or 3 revoked: anchors at or after
    /// `effectiveFrom` are void.
    event IssuerStatusChanged(bytes32 indexed issuerId, uint8 status, uint64 effectiveFrom);
    /// @notice A signing key was added, valid from `validFrom`.
    event KeyAdded(bytes32 indexed issuerId, address indexed key, uint64 validFrom);
    /// @notice The key `key` added just before (with {KeyAdded}) is an SM2 key (suite 2, 国密):
    /// `publicKey` is its 64-byte x || y and `key` = keccak256(publicKey)[12:].
    event SM2KeyAdded(bytes32 indexed issuerId, address indexed key, bytes publicKey);
    /// @notice A key was retired: valid before `validUntil` only (may be backdated).
    event KeyRetired(bytes32 indexed issuerId, address indexed key, uint64 validUntil);
    /// @notice The issuer may now anchor certificates of `typeCode`.
    event TypeGranted(bytes32 indexed issuerId, bytes32 indexed typeCode);
    /// @notice The issuer may no longer anchor certificates of `typeCode`.
    event TypeWithdrawn(bytes32 indexed issuerId, bytes32 indexed typeCode);

    error NotConsortium(address caller);
    error NotMember(uint32 region);
    error InvalidIssuerId();
    error EmptyName();
    error IssuerAlreadyRegistered(bytes32 issuerId);
    error UnknownIssuer(bytes32 issuerId);
    error IssuerWrongRegion(bytes32 issuerId, uint32 region);
    error IssuerNotActive(uint8 status);
    error IssuerNotSuspended(bytes32 issuerId);
    error IssuerAlreadyRevoked(bytes32 issuerId);
    error InvalidEffectiveFrom(uint64 effectiveFrom);
    error InvalidKey();
    error KeyAlreadyRegistered(address key);
    error SM2KeyWrongLength(uint256 length);
    error SM2KeyNotOnCurve();
    error UnknownKey(address key);
    error KeyNotOfIssuer(address key, bytes32 issuerId);
    error KeyAlreadyRetired(address key);
    error InvalidValidUntil(uint64 validUntil);
    error KeyNotValid(address key, uint64 at);
    error UnknownType(bytes32 typeCode);
    error TypeNotActive(bytes32 typeCode);
    error TypeAlreadyGranted(bytes32 issuerId, bytes32 typeCode);
    error TypeNotGranted(bytes32 issuerId, bytes32 typeCode);
    error TypeNotAuthorised(bytes32 issuerId, bytes32 typeCode);

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
     * @notice Registers an issuing department of member `region`, Active from now (IssuerRegistered
     * implies status Active since `at`; no separate IssuerStatusChanged is emitted).
     * @param issuerId keccak256 of the department's 18-character 统一社会信用代码.
     * @param name the department's official name (public information).
     */
    function registerIssuer(uint32 region, bytes32 issuerId, string calldata name) external onlyConsortium {
        if (!consortium.isMember(region)) revert NotMember(region);
        if (issuerId == bytes32(0)) revert InvalidIssuerId();
        if (bytes(name).length == 0) revert EmptyName();
        IssuerRecord storage i = _issuers[issuerId];
        if (i.status != IssuerStatus.Unknown) revert IssuerAlreadyRegistered(issuerId);
        uint64 nowTs = uint64(block.timestamp);
        i.region = region;
        i.status = IssuerStatus.Active;
        i.registeredAt = nowTs;
        i.statusSince = nowTs;
        _names[issuerId] = name;
        emit IssuerRegistered(issuerId, region, name, nowTs);
    }

    /// @notice Suspends an Active issuer: no new anchors; its certificates stay valid.
    function suspendIssuer(uint32 region, bytes32 issuerId) external onlyConsortium {
        IssuerRecord storage i = _issuerOf(region, issuerId);
        if (i.status != IssuerStatus.Active) revert IssuerNotActive(uint8(i.status));
        _setStatus(issuerId, i, IssuerStatus.Suspended);
    }

    /// @notice Reinstates a Suspended issuer.
    function reinstateIssuer(uint32 region, bytes32 issuerId) external onlyConsortium {
        IssuerRecord storage i = _issuerOf(region, issuerId);
        if (i.status != IssuerStatus.Suspended) revert IssuerNotSuspended(issuerId);
        _setStatus(issuerId, i, IssuerStatus.Active);
    }

    /**
     * @notice Revokes an issuer for good. Anchors with timestamp >= `effectiveFrom` are void.
     * @param effectiveFrom may lie in the past (key compromise discovered late), but not before the
     * issuer's registration and not after now.
     */
    function revokeIssuer(uint32 region, bytes32 issuerId, uint64 effectiveFrom) external onlyConsortium {
        IssuerRecord storage i = _issuerOf(region, issuerId);
        if (i.status == IssuerStatus.Revoked) revert IssuerAlreadyRevoked(issuerId);
        // forge-lint: disable-next-line(block-timestamp)
        if (effectiveFrom < i.registeredAt || effectiveFrom > block.timestamp) {
            revert InvalidEffectiveFrom(effectiveFrom);
        }
        i.status = IssuerStatus.Revoked;
        i.statusSince = uint64(block.timestamp);
        i.revokedFrom = effectiveFrom;
        emit IssuerStatusChanged(issuerId, uint8(IssuerStatus.Revoked), effectiveFrom);
    }

    /**
     * @notice Adds a signing key to an issuer that is not revoked. A key belongs to one issuer forever.
     * @param validFrom start of the key's window; a time before now (or 0) is raised to now, since a
     * key cannot have been valid before it was registered. The event carries the effective value.
     */
    function addKey(uint32 region, bytes32 issuerId, address key, uint64 validFrom) external onlyConsortium {
        _addKey(region, issuerId, key, validFrom);
    }

    /**
     * @notice Adds an SM2 signing key (crypto suite 2, 国密) to an issuer that is not revoked, with the
     * same rules as {addKey}. The key is known by `address(uint160(uint256(keccak256(publicKey))))` —
     * the Ethereum address derivation, so one key table serves both suites, {retireKey}, {keyInfo} and
     * {isKeyValidAt} work unchanged, and `common.suites.sm2_key_id` computes the same id off chain.
     * Emits {KeyAdded} as {addKey} does, then {SM2KeyAdded} with the public key.
     * @dev Nobody knows a secp256k1 private key for such an address, so an SM2 key can never send a
     * transaction: it signs documents and stamps off chain only. Anchoring and status changes still
     * need one of the department's secp256k1 keys ({addKey}) as the transaction sender.
     * @param publicKey the uncompressed point x || y (64 bytes, no 04 prefix), on the SM2 curve.
     * @param validFrom as for {addKey}.
     */
    function addSM2Key(uint32 region, bytes32 issuerId, bytes calldata publicKey, uint64 validFrom)
        external
        onlyConsortium
    {
        if (publicKey.length != 64) revert SM2KeyWrongLength(publicKey.length);
        bytes32 x = bytes32(publicKey[0:32]);
        bytes32 y = bytes32(publicKey[32:64]);
        if (x == bytes32(0) && y == bytes32(0)) revert InvalidKey();
        if (!_onSM2Curve(uint256(x), uint256(y))) revert SM2KeyNotOnCurve();
        address key = address(uint160(uint256(keccak256(publicKey))));
        _addKey(region, issuerId, key, validFrom);
        SM2Point storage p = _sm2[key];
        p.x = x;
        p.y = y;
        emit SM2KeyAdded(issuerId, key, publicKey);
    }

    /**
     * @notice Retires a key (final). Certificates anchored inside its window stay valid.
     * @param validUntil end of the window (exclusive); may be backdated to a compromise time, never
     * before the key's `validFrom`.
     */
    function retireKey(uint32 region, bytes32 issuerId, address key, uint64 validUntil) external onlyConsortium {
        _issuerOf(region, issuerId);
        KeyRecord storage k = _keys[key];
        if (k.issuerId != issuerId) revert KeyNotOfIssuer(key, issuerId);
        if (k.validUntil != 0) revert KeyAlreadyRetired(key);
        if (validUntil < k.validFrom || validUntil == 0) revert InvalidValidUntil(validUntil);
        k.validUntil = validUntil;
        emit KeyRetired(issuerId, key, validUntil);
    }

    /// @notice Authorises an issuer (not revoked) to issue `typeCode`, which must be defined and active.
    function grantType(uint32 region, bytes32 issuerId, bytes32 typeCode) external onlyConsortium {
        IssuerRecord storage i = _issuerOf(region, issuerId);
        if (i.status == IssuerStatus.Revoked) revert IssuerAlreadyRevoked(issuerId);
        (uint16 index, bool active) = consortium.typeGate(typeCode);
        if (index == 0) revert UnknownType(typeCode);
        if (!active) revert TypeNotActive(typeCode);
        if (_granted[issuerId][typeCode]) revert TypeAlreadyGranted(issuerId, typeCode);
        _granted[issuerId][typeCode] = true;
        emit TypeGranted(issuerId, typeCode);
    }

    /// @notice Withdraws an issuer's authorisation for `typeCode` (stops new anchors of that type).
    function withdrawType(uint32 region, bytes32 issuerId, bytes32 typeCode) external onlyConsortium {
        _issuerOf(region, issuerId);
        if (!_granted[issuerId][typeCode]) revert TypeNotGranted(issuerId, typeCode);
        _granted[issuerId][typeCode] = false;
        emit TypeWithdrawn(issuerId, typeCode);
    }

    // ---------------------------------------------------------------- views

    /**
     * @notice An issuer's record.
     * @return region its GB/T 2260 region (0 = unknown issuer).
     * @return status 0 unknown, 1 active, 2 suspended, 3 revoked.
     * @return statusSince when the current status was set.
     * @return revokedFrom anchors at or after this time are void (0 = not revoked).
     * @return name the department's name.
     */
    function issuer(bytes32 issuerId)
        external
        view
        returns (uint32 region, uint8 status, uint64 statusSince, uint64 revokedFrom, string memory name)
    {
        IssuerRecord storage i = _issuers[issuerId];
        return (i.region, uint8(i.status), i.statusSince, i.revokedFrom, _names[issuerId]);
    }

    /// @notice When the issuer was registered (0 = unknown).
    function registeredAt(bytes32 issuerId) external view returns (uint64) {
        return _issuers[issuerId].registeredAt;
    }

    /// @notice A key's owner and window (`validUntil` 0 = open). Unknown keys return zeros.
    function keyInfo(address key) external view returns (bytes32 issuerId, uint64 validFrom, uint64 validUntil) {
        KeyRecord storage k = _keys[key];
        return (k.issuerId, k.validFrom, k.validUntil);
    }

    /**
     * @notice The SM2 public key (64 bytes x || y) of a key added by {addSM2Key}; empty for a
     * secp256k1 key or an unknown address.
     */
    function sm2PublicKey(address key) external view returns (bytes memory) {
        SM2Point storage p = _sm2[key];
        bytes32 x = p.x;
        bytes32 y = p.y;
        if (x == bytes32(0) && y == bytes32(0)) return "";
        return abi.encodePacked(x, y);
    }

    /// @notice Whether `key` is registered and inside its window at time `at`.
    function isKeyValidAt(address key, uint64 at) public view returns (bool) {
        KeyRecord storage k = _keys[key];
        return k.issuerId != bytes32(0) && _inWindow(k, at);
    }

    /// @notice Whether the issuer currently holds an authorisation for `typeCode`.
    function isAuthorised(bytes32 issuerId, bytes32 typeCode) external view returns (bool) {
        return _granted[issuerId][typeCode];
    }

    /**
     * @notice Gate for {AnchorLedger-anchor}: reverts with the precise reason unless `key` is valid now,
     * its issuer is Active and authorised for `typeCode`, and the type is defined and active.
     * @return issuerId the key's issuer.
     * @return typeIndex the consortium's stable index of `typeCode`.
     */
    function anchorCheck(address key, bytes32 typeCode) external view returns (bytes32 issuerId, uint16 typeIndex) {
        KeyRecord storage k = _keys[key];
        issuerId = k.issuerId;
        if (issuerId == bytes32(0)) revert UnknownKey(key);
        if (!_inWindow(k, uint64(block.timestamp))) revert KeyNotValid(key, uint64(block.timestamp));
        IssuerStatus status = _issuers[issuerId].status;
        if (status != IssuerStatus.Active) revert IssuerNotActive(uint8(status));
        if (!_granted[issuerId][typeCode]) revert TypeNotAuthorised(issuerId, typeCode);
        bool active;
        (typeIndex, active) = consortium.typeGate(typeCode);
        if (typeIndex == 0) revert UnknownType(typeCode);
        if (!active) revert TypeNotActive(typeCode);
    }

    /**
     * @notice Facts the ledger needs to authorise a certificate status change in one call.
     * @return anchorIssuer issuer of `anchorKey` (the key that anchored the batch).
     * @return senderIssuer issuer of `sender` (zero if unknown).
     * @return senderValidNow whether `sender` is inside its window now.
     * @return issuerStatus status of `anchorIssuer`.
     */
    function statusChangeCheck(address sender, address anchorKey)
        external
        view
        returns (bytes32 anchorIssuer, bytes32 senderIssuer, bool senderValidNow, uint8 issuerStatus)
    {
        anchorIssuer = _keys[anchorKey].issuerId;
        KeyRecord storage s = _keys[sender];
        senderIssuer = s.issuerId;
        senderValidNow = senderIssuer != bytes32(0) && _inWindow(s, uint64(block.timestamp));
        issuerStatus = uint8(_issuers[anchorIssuer].status);
    }

    // ---------------------------------------------------------------- internals

    function _issuerOf(uint32 region, bytes32 issuerId) private view returns (IssuerRecord storage i) {
        i = _issuers[issuerId];
        if (i.status == IssuerStatus.Unknown) revert UnknownIssuer(issuerId);
        if (i.region != region) revert IssuerWrongRegion(issuerId, region);
    }

    /// @dev The checks and effects common to {addKey} and {addSM2Key}; emits {KeyAdded}.
    function _addKey(uint32 region, bytes32 issuerId, address key, uint64 validFrom) private {
        IssuerRecord storage i = _issuerOf(region, issuerId);
        if (i.status == IssuerStatus.Revoked) revert IssuerAlreadyRevoked(issuerId);
        if (key == address(0)) revert InvalidKey();
        KeyRecord storage k = _keys[key];
        if (k.issuerId != bytes32(0)) revert KeyAlreadyRegistered(key);
        // forge-lint: disable-next-line(block-timestamp)
        uint64 from = validFrom < block.timestamp ? uint64(block.timestamp) : validFrom;
        k.issuerId = issuerId;
        k.validFrom = from;
        emit KeyAdded(issuerId, key, from);
    }

    /// @dev Whether (x, y) is a point of the SM2 curve with coordinates in the field (cofactor 1:
    /// on the curve is in the group). Keeps a mistyped key off the chain, where no signature could
    /// ever verify against it and the off-chain parsers (common.gm) would refuse it.
    function _onSM2Curve(uint256 x, uint256 y) private pure returns (bool) {
        if (x >= SM2_P || y >= SM2_P) return false;
        uint256 rhs =
            addmod(addmod(mulmod(mulmod(x, x, SM2_P), x, SM2_P), mulmod(SM2_A, x, SM2_P), SM2_P), SM2_B, SM2_P);
        return mulmod(y, y, SM2_P) == rhs;
    }

    function _setStatus(bytes32 issuerId, IssuerRecord storage i, IssuerStatus status) private {
        uint64 nowTs = uint64(block.timestamp);
        i.status = status;
        i.statusSince = nowTs;
        emit IssuerStatusChanged(issuerId, uint8(status), nowTs);
    }

    function _inWindow(KeyRecord storage k, uint64 at) private view returns (bool) {
        uint64 until = k.validUntil;
        return k.validFrom <= at && (until == 0 || at < until);
    }
}
