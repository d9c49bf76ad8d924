// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {Consortium} from "./Consortium.sol";

/**
 * @title RecognitionPolicy
 * @notice Mutual recognition (互认): region A accepts certificate type T issued in region B (or in
 * every region) during a time window. Rules are set by regional proposals of the RECOGNISING
 * region A, executed by the {Consortium}.
 *
 * A rule is in force at `t` iff `validFrom <= t` and (`validUntil == 0` or `t < validUntil`).
 * {isRecognised} is true for the verifier's own region, else when the specific rule for the
 * issuer's region is in force, else when the every-region rule (issuerRegion 0) is in force.
 */
contract RecognitionPolicy {
    struct Rule {
        bool exists;
        uint64 validFrom;
        uint64 validUntil; // 0 = open
    }

    /// @notice Wildcard issuer region: the rule covers every region.
    uint32 public constant EVERY_REGION = 0;

    /// @notice The consortium whose executed proposals may change this policy.
    Consortium public immutable consortium;

    mapping(uint32 verifierRegion => mapping(bytes32 typeCode => mapping(uint32 issuerRegion => Rule))) private _rules;

    /// @notice `verifierRegion` accepts `typeCode` from `issuerRegion` (0 = every region) in [validFrom, validUntil).
    event RecognitionSet(
        uint32 indexed verifierRegion,
        bytes32 indexed typeCode,
        uint32 indexed issuerRegion,
        uint64 validFrom,
        uint64 validUntil
    );
    /// @notice The rule ends at `at` (its validUntil becomes `at`).
    event RecognitionWithdrawn(
        uint32 indexed verifierRegion, bytes32 indexed typeCode, uint32 indexed issuerRegion, uint64 at
    );

    error NotConsortium(address caller);
    error NotMember(uint32 region);
    error InvalidRegion(uint32 region);
    error SelfRecognition(uint32 region);
    error UnknownType(bytes32 typeCode);
    error InvalidWindow(uint64 validFrom, uint64 validUntil);
    error RecognitionNotInForce(uint32 verifierRegion, bytes32 typeCode, uint32 issuerRegion);

    modifier onlyConsortium() {
        if (msg.sender != address(consortium)) revert NotConsortium(msg.sender);
        _;
    }

    /// @param consortium_ the governance contract that owns this policy.
    constructor(Consortium consortium_) {
        consortium = consortium_;
    }

    /**
     * @notice Sets (or replaces) the rule by which `verifierRegion` recognises `typeCode` from
     * `issuerRegion` (0 = every region) during [validFrom, validUntil) (validUntil 0 = open).
     * @dev Regional proposal of `verifierRegion` only. The type must be defined.
     */
    function setRecognition(
        uint32 verifierRegion,
        bytes32 typeCode,
        uint32 issuerRegion,
        uint64 validFrom,
        uint64 validUntil
    ) external onlyConsortium {
        if (!consortium.isMember(verifierRegion)) revert NotMember(verifierRegion);
        if (issuerRegion == verifierRegion) revert SelfRecognition(issuerRegion);
        if (issuerRegion != EVERY_REGION && (issuerRegion < 100000 || issuerRegion > 999999)) {
            revert InvalidRegion(issuerRegion);
        }
        if (consortium.typeIndexOf(typeCode) == 0) revert UnknownType(typeCode);
        if (validUntil != 0 && validUntil <= validFrom) revert InvalidWindow(validFrom, validUntil);
        _rules[verifierRegion][typeCode][issuerRegion] = Rule(true, validFrom, validUntil);
        emit RecognitionSet(verifierRegion, typeCode, issuerRegion, validFrom, validUntil);
    }

    /**
     * @notice Ends the rule now. Regional proposal of `verifierRegion` only.
     * @dev The rule must exist and not have ended already.
     */
    function withdrawRecognition(uint32 verifierRegion, bytes32 typeCode, uint32 issuerRegion) external onlyConsortium {
        Rule storage r = _rules[verifierRegion][typeCode][issuerRegion];
        uint64 nowTs = uint64(block.timestamp);
        if (!r.exists || (r.validUntil != 0 && r.validUntil <= nowTs)) {
            revert RecognitionNotInForce(verifierRegion, typeCode, issuerRegion);
        }
        r.validUntil = nowTs;
        emit RecognitionWithdrawn(verifierRegion, typeCode, issuerRegion, nowTs);
    }

    /// @notice The stored rule (exists = false if none was ever set).
    function recognition(uint32 verifierRegion, bytes32 typeCode, uint32 issuerRegion)
        external
        view
        returns (bool exists, uint64 validFrom, uint64 validUntil)
    {
        Rule storage r = _rules[verifierRegion][typeCode][issuerRegion];
        return (r.exists, r.validFrom, r.validUntil);
    }

    /**
     * @notice Whether a verifier in `verifierRegion` accepts `typeCode` issued in `issuerRegion` at `at`.
     * @dev Own region: always. Otherwise the specific rule, else the every-region rule, in force at `at`.
     */
    function isRecognised(uint32 verifierRegion, bytes32 typeCode, uint32 issuerRegion, uint64 at)
        external
        view
        returns (bool)
    {
        if (verifierRegion == issuerRegion) return true;
        mapping(uint32 => Rule) storage byRegion = _rules[verifierRegion][typeCode];
        return _inForce(byRegion[issuerRegion], at) || _inForce(byRegion[EVERY_REGION], at);
    }

    function _inForce(Rule storage r, uint64 at) private view returns (bool) {
        return r.exists && r.validFrom <= at && (r.validUntil == 0 || at < r.validUntil);
    }
}
