// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {IssuerRegistry} from "./IssuerRegistry.sol";
import {RecognitionPolicy} from "./RecognitionPolicy.sol";
import {AnchorLedger} from "./AnchorLedger.sol";
import {NodeRegistry} from "./NodeRegistry.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {SignatureChecker} from "@openzeppelin/contracts/utils/cryptography/SignatureChecker.sol";
import {Nonces} from "@openzeppelin/contracts/utils/Nonces.sol";

/**
 * @title Consortium
 * @notice Governance engine of the Huren (互认) consortium: member regions (GB/T 2260 codes), their
 * officers, certificate types, and every proposal that changes any registry.
 *
 * Two kinds of proposal exist:
 *  - regional (kind 1): made and approved by officers of ONE region, acting for that region only
 *    (register / suspend / revoke its issuing departments, manage its officers, declare which
 *    types it recognises, register its federation node and node keys). Executes when `regionThreshold(region)` distinct officers approved
 *    (双人双锁: default k = 2).
 *  - consortium (kind 2): made by an officer of any member region; each member REGION approves
 *    once. Executes when `quorumRequired()` regions approved (default strict majority).
 *
 * A proposal executes inside the approval (or proposal) that reaches its threshold: a low-level
 * call to its target, whose revert data is bubbled up unchanged.
 *
 * Safety rules beyond the brief, so that a counted approval always belongs to a CURRENT officer
 * or member region:
 *  - removing an officer voids every pending proposal of that region (its approvals may include
 *    the removed officer); removing a region voids every pending consortium proposal and every
 *    pending proposal of that region. Void proposals can be re-proposed.
 *  - a region has at most `MAX_OFFICERS` officers, so removing a region clears its officers in a
 *    bounded loop.
 *
 * Officers' keys stay on the officers' own devices: besides calling {proposeRegional},
 * {proposeConsortium} and {approve} from their own account, an officer may sign the same act as
 * EIP-712 typed data (domain "Huren Consortium", version "1") and let any account relay it
 * ({proposeRegionalBySig}, {proposeConsortiumBySig}, {approveBySig}). The signer is the acting
 * officer; the relayer gains no power. Each signature carries the officer's next nonce
 * ({nonces}, used once) and a deadline. Signatures are checked with OpenZeppelin's
 * SignatureChecker: ECDSA (low-s only) for a plain account, ERC-1271 for an officer that is a
 * contract account (e.g. one behind a hardware or passkey signer).
 */
contract Consortium is EIP712, Nonces {
    // ---------------------------------------------------------------- constants

    /// @notice Proposal kind: acts for one region, approved by that region's officers.
    uint8 public constant KIND_REGIONAL = 1;
    /// @notice Proposal kind: acts for the consortium, approved by member regions.
    uint8 public constant KIND_CONSORTIUM = 2;

    /// @notice Dual control: two distinct officers must approve a regional change by default.
    uint8 public constant DEFAULT_THRESHOLD = 2;
    /// @notice Default quorum: strict majority of member regions.
    uint16 public constant DEFAULT_QUORUM_BPS = 5000;
    /// @notice Default lifetime of a proposal.
    uint64 public constant DEFAULT_PROPOSAL_TTL = 7 days;
    /// @notice Shortest allowed proposal lifetime.
    uint64 public constant MIN_PROPOSAL_TTL = 1 hours;
    /// @notice Longest allowed proposal lifetime.
    uint64 public constant MAX_PROPOSAL_TTL = 90 days;
    /// @notice Upper bound on officers per region (keeps every loop bounded).
    uint256 public constant MAX_OFFICERS = 32;

    /// @notice EIP-712 type of an officer's signed approval ({approveBySig}).
    bytes32 public constant APPROVE_TYPEHASH =
        keccak256("Approve(uint256 id,address officer,uint256 nonce,uint256 deadline)");
    /// @notice EIP-712 type of an officer's signed regional proposal ({proposeRegionalBySig}); `data` is hashed.
    bytes32 public constant PROPOSE_REGIONAL_TYPEHASH = keccak256(
        "ProposeRegional(uint32 region,address target,bytes data,address officer,uint256 nonce,uint256 deadline)"
    );
    /// @notice EIP-712 type of an officer's signed consortium proposal ({proposeConsortiumBySig}); `data` is hashed.
    bytes32 public constant PROPOSE_CONSORTIUM_TYPEHASH =
        keccak256("ProposeConsortium(address target,bytes data,address officer,uint256 nonce,uint256 deadline)");

    /// @notice {proposalState}: no such proposal.
    uint8 public constant STATE_NONE = 0;
    /// @notice {proposalState}: collecting approvals.
    uint8 public constant STATE_PENDING = 1;
    /// @notice {proposalState}: executed.
    uint8 public constant STATE_EXECUTED = 2;
    /// @notice {proposalState}: expired before reaching its threshold.
    uint8 public constant STATE_EXPIRED = 3;
    /// @notice {proposalState}: void, because an officer or region it counted was removed since.
    uint8 public constant STATE_VOID = 4;

    // ---------------------------------------------------------------- types

    struct Region {
        bool member;
        uint8 threshold;
        uint32 nonce; // bumped when approvals already cast for this region may no longer be trusted
        address[] officers;
    }

    struct TypeRecord {
        uint16 index; // 0 = never defined
        bool active;
        uint32 version;
        bytes32 schemaHash;
        string name;
    }

    struct Proposal {
        uint8 kind;
        bool executed;
        uint32 region; // 0 for consortium proposals
        uint32 nonce; // region nonce (regional) or membership nonce (consortium) at creation
        uint16 approvals;
        uint64 createdAt;
        uint64 expiresAt;
        address target;
        address proposer;
        bytes data;
    }

    // ---------------------------------------------------------------- storage

    /// @notice The account that deployed this contract until {bindContracts}; zero afterwards.
    address public deployer;
    /// @notice The bound IssuerRegistry (zero until {bindContracts}).
    address public issuerRegistry;
    /// @notice The bound RecognitionPolicy (zero until {bindContracts}).
    address public recognitionPolicy;
    /// @notice The bound AnchorLedger (zero until {bindContracts}).
    address public anchorLedger;
    /// @notice The bound NodeRegistry (zero until {bindContracts}).
    address public nodeRegistry;

    /// @notice Quorum in basis points of member regions: needed = members * bps / 10000 + 1.
    uint16 public quorumBps;
    /// @notice Lifetime of new proposals, in seconds.
    uint64 public proposalTtl;
    /// @notice Number of member regions.
    uint256 public memberCount;
    /// @notice Number of proposals ever created (ids run from 1 to proposalCount).
    uint256 public proposalCount;
    /// @notice Number of certificate types ever defined (type indexes run from 1 to typeCount).
    uint16 public typeCount;

    /// @notice Region an address is an officer of (0 = none). An address serves at most one region.
    mapping(address officer => uint32 region) public officerRegion;

    uint32 private _membershipNonce;
    mapping(uint32 region => Region) private _regions;
    mapping(address officer => uint256 slot) private _officerSlot; // index in Region.officers
    mapping(bytes32 typeCode => TypeRecord) private _types;
    mapping(uint16 typeIndex => bytes32 typeCode) private _typeCodes;
    mapping(uint256 id => Proposal) private _proposals;
    mapping(uint256 id => mapping(address officer => bool)) private _approvedBy;
    mapping(uint256 id => mapping(uint32 region => bool)) private _regionApproved;

    // ---------------------------------------------------------------- events

    /// @notice The registries were bound; the deployer has no power any more.
    event ContractsBound(address issuerRegistry, address recognitionPolicy, address anchorLedger, address nodeRegistry);
    /// @notice A proposal was created (kind 1 regional, 2 consortium; region 0 for consortium).
    event ProposalCreated(
        uint256 indexed id,
        uint8 kind,
        uint32 indexed region,
        address target,
        bytes data,
        address indexed proposer,
        uint64 expiresAt
    );
    /// @notice An approval was counted (the proposer's creation is the first); `region` is the approver's.
    event ProposalApproved(
        uint256 indexed id, address indexed approver, uint32 region, uint256 approvals, uint256 required
    );
    /// @notice The proposal reached its threshold and its call succeeded (same transaction).
    event ProposalExecuted(uint256 indexed id);
    /// @notice An officer's signed act (proposal or approval `id`) was relayed by `relayer`, using `nonce`.
    event SignedActRelayed(uint256 indexed id, address indexed officer, address indexed relayer, uint256 nonce);
    /// @notice A region joined with these officers and threshold (also emitted for genesis regions).
    event RegionAdmitted(uint32 indexed region, address[] officers, uint8 threshold);
    /// @notice A region left; all its officers are removed with it.
    event RegionRemoved(uint32 indexed region);
    /// @notice An officer joined a member region.
    event OfficerAdded(uint32 indexed region, address indexed officer);
    /// @notice An officer left a region; the region's pending proposals are void.
    event OfficerRemoved(uint32 indexed region, address indexed officer);
    /// @notice A region's k changed.
    event RegionThresholdSet(uint32 indexed region, uint8 threshold);
    /// @notice The consortium quorum changed (also emitted at construction).
    event QuorumSet(uint16 bps);
    /// @notice The lifetime of new proposals changed (also emitted at construction).
    event ProposalTtlSet(uint64 ttl);
    /// @notice A certificate type was defined or updated; `typeIndex` never changes once assigned.
    event TypeDefined(
        bytes32 indexed typeCode, uint16 typeIndex, string name, bytes32 schemaHash, uint32 version, bool active
    );

    // ---------------------------------------------------------------- errors

    error NotDeployer(address caller);
    error AlreadyBound();
    error BindingMismatch(address contractAddress);
    error ZeroAddress();
    error NotSelf(address caller);
    error LengthMismatch();
    error NoRegions();
    error InvalidRegion(uint32 region);
    error NotMember(uint32 region);
    error AlreadyMember(uint32 region);
    error LastRegion(uint32 region);
    error NotOfficer(uint32 region, address caller);
    error OfficerAlreadyAssigned(address officer, uint32 region);
    error TooManyOfficers(uint32 region);
    error NoOfficers(uint32 region);
    error InvalidThreshold(uint32 region, uint8 threshold, uint256 officers);
    error InvalidQuorum(uint16 bps);
    error InvalidProposalTtl(uint64 ttl);
    error InvalidTypeCode(bytes32 typeCode);
    error EmptyTypeName();
    error TypeVersionDowngrade(bytes32 typeCode, uint32 current, uint32 given);
    error TooManyTypes();
    error TargetNotAllowed(address target);
    error SelectorNotAllowed(address target, bytes4 selector);
    error MalformedCall();
    error RegionMismatch(uint32 region, uint256 argument);
    error UnknownProposal(uint256 id);
    error ProposalAlreadyExecuted(uint256 id);
    error ProposalExpired(uint256 id, uint64 expiresAt);
    error ProposalVoid(uint256 id);
    error AlreadyApproved(uint256 id, address approver);
    error ExecutionFailed(uint256 id);
    error SignatureExpired(uint256 deadline);
    error InvalidSignature(address officer);

    // ---------------------------------------------------------------- modifiers

    modifier onlySelf() {
        if (msg.sender != address(this)) revert NotSelf(msg.sender);
        _;
    }

    // ---------------------------------------------------------------- construction

    /**
     * @notice Creates the consortium with its genesis member regions.
     * @param regions GB/T 2260 codes of the genesis regions.
     * @param officers officers of each region (same order as `regions`).
     * @param thresholds k of each region (0 = {DEFAULT_THRESHOLD}); may be empty for all defaults.
     * @param ttl lifetime of proposals in seconds (0 = {DEFAULT_PROPOSAL_TTL}).
     */
    constructor(uint32[] memory regions, address[][] memory officers, uint8[] memory thresholds, uint64 ttl)
        EIP712("Huren Consortium", "1")
    {
        if (regions.length == 0) revert NoRegions();
        if (officers.length != regions.length) revert LengthMismatch();
        if (thresholds.length != 0 && thresholds.length != regions.length) revert LengthMismatch();
        deployer = msg.sender;
        quorumBps = DEFAULT_QUORUM_BPS;
        emit QuorumSet(DEFAULT_QUORUM_BPS);
        _setProposalTtl(ttl == 0 ? DEFAULT_PROPOSAL_TTL : ttl);
        for (uint256 i = 0; i < regions.length; ++i) {
            _admitRegion(regions[i], officers[i], thresholds.length == 0 ? 0 : thresholds[i]);
        }
    }

    /**
     * @notice One-time wiring of the registries, by the deployer. Afterwards the deployer has no power.
     * @dev Each registry must point back at this consortium (and the ledger at the registry).
     */
    function bindContracts(
        address issuerRegistry_,
        address recognitionPolicy_,
        address anchorLedger_,
        address nodeRegistry_
    ) external {
        if (msg.sender != deployer) revert NotDeployer(msg.sender);
        if (issuerRegistry != address(0)) revert AlreadyBound();
        if (
            issuerRegistry_ == address(0) || recognitionPolicy_ == address(0) || anchorLedger_ == address(0)
                || nodeRegistry_ == address(0)
        ) {
            revert ZeroAddress();
        }
        if (address(IssuerRegistry(issuerRegistry_).consortium()) != address(this)) {
            revert BindingMismatch(issuerRegistry_);
        }
        if (address(RecognitionPolicy(recognitionPolicy_).consortium()) != address(this)) {
            revert BindingMismatch(recognitionPolicy_);
        }
        if (address(AnchorLedger(anchorLedger_).registry()) != issuerRegistry_) revert BindingMismatch(anchorLedger_);
        if (address(NodeRegistry(nodeRegistry_).consortium()) != address(this)) revert BindingMismatch(nodeRegistry_);
        issuerRegistry = issuerRegistry_;
        recognitionPolicy = recognitionPolicy_;
        anchorLedger = anchorLedger_;
        nodeRegistry = nodeRegistry_;
        deployer = address(0);
        emit ContractsBound(issuerRegistry_, recognitionPolicy_, anchorLedger_, nodeRegistry_);
    }

    // ---------------------------------------------------------------- proposals

    /**
     * @notice Proposes a change on behalf of `region`; the caller's creation is the first approval.
     * @dev The caller must be an officer of `region`, `target` one of {issuerRegistry,
     * recognitionPolicy, nodeRegistry, this}, the selector in the regional allow-list, and the first ABI argument
     * of `data` equal to `region`. Executes immediately when the region's threshold is 1.
     * @return id the new proposal's id.
     */
    function proposeRegional(uint32 region, address target, bytes calldata data) external returns (uint256 id) {
        return _proposeRegional(msg.sender, region, target, data);
    }

    /**
     * @notice {proposeRegional} signed by `officer` on their own device and relayed by any account.
     * @dev Signed as EIP-712 `ProposeRegional(region, target, keccak256(data), officer, nonce, deadline)`;
     * `nonce` must be the officer's next nonce ({nonces}) and is used up; refused after `deadline`.
     * @return id the new proposal's id.
     */
    function proposeRegionalBySig(
        uint32 region,
        address target,
        bytes calldata data,
        address officer,
        uint256 nonce,
        uint256 deadline,
        bytes calldata signature
    ) external returns (uint256 id) {
        bytes32 structHash = keccak256(
            abi.encode(PROPOSE_REGIONAL_TYPEHASH, region, target, keccak256(data), officer, nonce, deadline)
        );
        _checkSigned(structHash, officer, nonce, deadline, signature);
        id = _proposeRegional(officer, region, target, data);
        emit SignedActRelayed(id, officer, msg.sender, nonce);
    }

    /**
     * @notice Proposes a consortium-wide change (admit/remove region, define/update type, set quorum
     * or proposal lifetime). The caller's region casts the first approval.
     * @dev The caller must be an officer of a member region; `target` must be this contract.
     * @return id the new proposal's id.
     */
    function proposeConsortium(address target, bytes calldata data) external returns (uint256 id) {
        return _proposeConsortium(msg.sender, target, data);
    }

    /**
     * @notice {proposeConsortium} signed by `officer` on their own device and relayed by any account.
     * @dev Signed as EIP-712 `ProposeConsortium(target, keccak256(data), officer, nonce, deadline)`;
     * `nonce` must be the officer's next nonce ({nonces}) and is used up; refused after `deadline`.
     * @return id the new proposal's id.
     */
    function proposeConsortiumBySig(
        address target,
        bytes calldata data,
        address officer,
        uint256 nonce,
        uint256 deadline,
        bytes calldata signature
    ) external returns (uint256 id) {
        bytes32 structHash = keccak256(
            abi.encode(PROPOSE_CONSORTIUM_TYPEHASH, target, keccak256(data), officer, nonce, deadline)
        );
        _checkSigned(structHash, officer, nonce, deadline, signature);
        id = _proposeConsortium(officer, target, data);
        emit SignedActRelayed(id, officer, msg.sender, nonce);
    }

    /**
     * @notice Approves proposal `id`; executes it when the approvals reach the threshold.
     * @dev Regional: each distinct officer of the proposal's region counts once. Consortium: each
     * member region counts once, cast by any of its officers. Reverts with the target's own error
     * if execution fails (the approval is then not recorded either).
     */
    function approve(uint256 id) external {
        _approve(id, msg.sender);
    }

    /**
     * @notice {approve} signed by `officer` on their own device and relayed by any account.
     * @dev Signed as EIP-712 `Approve(id, officer, nonce, deadline)`; `nonce` must be the officer's
     * next nonce ({nonces}) and is used up; refused after `deadline`. The relayer gains no power:
     * the approval counts for `officer` only, under the same rules as {approve}.
     */
    function approveBySig(uint256 id, address officer, uint256 nonce, uint256 deadline, bytes calldata signature)
        external
    {
        _checkSigned(
            keccak256(abi.encode(APPROVE_TYPEHASH, id, officer, nonce, deadline)), officer, nonce, deadline, signature
        );
        _approve(id, officer);
        emit SignedActRelayed(id, officer, msg.sender, nonce);
    }

    /// @notice The EIP-712 domain separator of officers' signed acts (chain id and this contract's address).
    // solhint-disable-next-line func-name-mixedcase
    function DOMAIN_SEPARATOR() external view returns (bytes32) {
        return _domainSeparatorV4();
    }

    // ---------------------------------------------------------------- proposals (internals)

    function _proposeRegional(address officer, uint32 region, address target, bytes calldata data)
        private
        returns (uint256 id)
    {
        if (region == 0 || officerRegion[officer] != region) revert NotOfficer(region, officer);
        bytes4 selector = _selector(data);
        _checkRegionalCall(target, selector);
        if (data.length < 36) revert MalformedCall();
        uint256 argument = uint256(bytes32(data[4:36]));
        if (argument != region) revert RegionMismatch(region, argument);

        id = _create(officer, KIND_REGIONAL, region, _regions[region].nonce, target, data);
        _regionApproved[id][region] = true;
        _recordApproval(id, officer, region);
    }

    function _proposeConsortium(address officer, address target, bytes calldata data) private returns (uint256 id) {
        uint32 region = officerRegion[officer];
        if (region == 0) revert NotOfficer(0, officer);
        bytes4 selector = _selector(data);
        if (target != address(this)) revert TargetNotAllowed(target);
        if (!_isConsortiumSelector(selector)) revert SelectorNotAllowed(target, selector);

        id = _create(officer, KIND_CONSORTIUM, 0, _membershipNonce, target, data);
        _regionApproved[id][region] = true;
        _recordApproval(id, officer, region);
    }

    function _approve(uint256 id, address officer) private {
        Proposal storage p = _proposals[id];
        if (p.kind == 0) revert UnknownProposal(id);
        if (p.executed) revert ProposalAlreadyExecuted(id);
        // Proposal lifetimes are hours to days: a validator's clock drift of seconds is irrelevant.
        // forge-lint: disable-next-line(block-timestamp)
        if (block.timestamp >= p.expiresAt) revert ProposalExpired(id, p.expiresAt);
        if (_isVoid(p)) revert ProposalVoid(id);

        uint32 region = officerRegion[officer];
        if (p.kind == KIND_REGIONAL) {
            if (region != p.region) revert NotOfficer(p.region, officer);
            if (_approvedBy[id][officer]) revert AlreadyApproved(id, officer);
        } else {
            if (region == 0) revert NotOfficer(0, officer);
            if (_regionApproved[id][region]) revert AlreadyApproved(id, officer);
            _regionApproved[id][region] = true;
        }
        _recordApproval(id, officer, region);
    }

    /// @dev Checks a relayed act: deadline, the officer's next nonce (used up), then the signature.
    function _checkSigned(bytes32 structHash, address officer, uint256 nonce, uint256 deadline, bytes calldata sig)
        private
    {
        // Deadlines are minutes ahead: a validator's clock drift of seconds is irrelevant.
        // forge-lint: disable-next-line(block-timestamp)
        if (block.timestamp > deadline) revert SignatureExpired(deadline);
        _useCheckedNonce(officer, nonce);
        if (!SignatureChecker.isValidSignatureNow(officer, _hashTypedDataV4(structHash), sig)) {
            revert InvalidSignature(officer);
        }
    }

    // ---------------------------------------------------------------- consortium actions (onlySelf)

    /// @notice Admits `region` with its officers and threshold (0 = default). Consortium proposal only.
    function admitRegion(uint32 region, address[] calldata officers, uint8 threshold) external onlySelf {
        _admitRegion(region, officers, threshold);
    }

    /**
     * @notice Removes member `region` and its officers. Consortium proposal only.
     * @dev Voids pending consortium proposals and pending proposals of the region. RegionRemoved
     * implies that all the region's officers are gone (no OfficerRemoved per officer, just as
     * RegionAdmitted carries the genesis officers without OfficerAdded). The region's issuing
     * departments stay in the registry, frozen (no officer can act for them any more).
     */
    function removeRegion(uint32 region) external onlySelf {
        Region storage r = _regions[region];
        if (!r.member) revert NotMember(region);
        if (memberCount == 1) revert LastRegion(region);
        address[] storage list = r.officers;
        for (uint256 i = list.length; i > 0; --i) {
            address officer = list[i - 1];
            list.pop();
            delete officerRegion[officer];
            delete _officerSlot[officer];
        }
        r.member = false;
        r.threshold = 0;
        ++r.nonce;
        ++_membershipNonce;
        --memberCount;
        emit RegionRemoved(region);
    }

    /**
     * @notice Defines a certificate type or updates it. Consortium proposal only.
     * @dev The first definition assigns a stable `typeIndex` (1, 2, ...). The version never decreases.
     */
    function defineType(bytes32 typeCode, string calldata name, bytes32 schemaHash, uint32 version, bool active)
        external
        onlySelf
    {
        if (typeCode == bytes32(0) || typeCode[0] == 0) revert InvalidTypeCode(typeCode);
        if (bytes(name).length == 0) revert EmptyTypeName();
        TypeRecord storage t = _types[typeCode];
        uint16 index = t.index;
        if (index == 0) {
            if (typeCount == type(uint16).max) revert TooManyTypes();
            index = ++typeCount;
            t.index = index;
            _typeCodes[index] = typeCode;
        } else if (version < t.version) {
            revert TypeVersionDowngrade(typeCode, t.version, version);
        }
        t.active = active;
        t.version = version;
        t.schemaHash = schemaHash;
        t.name = name;
        emit TypeDefined(typeCode, index, name, schemaHash, version, active);
    }

    /// @notice Sets the consortium quorum, 5000 (strict majority) to 9999 (unanimity) bps. Consortium proposal only.
    function setQuorum(uint16 bps) external onlySelf {
        if (bps < DEFAULT_QUORUM_BPS || bps >= 10000) revert InvalidQuorum(bps);
        quorumBps = bps;
        emit QuorumSet(bps);
    }

    /// @notice Sets the lifetime of new proposals (1 hour to 90 days). Consortium proposal only.
    function setProposalTtl(uint64 ttl) external onlySelf {
        _setProposalTtl(ttl);
    }

    // ---------------------------------------------------------------- regional actions (onlySelf)

    /// @notice Adds `officer` to `region`. Regional proposal of `region` only.
    function addOfficer(uint32 region, address officer) external onlySelf {
        Region storage r = _regions[region];
        if (!r.member) revert NotMember(region);
        if (r.officers.length >= MAX_OFFICERS) revert TooManyOfficers(region);
        _addOfficer(region, r, officer);
        emit OfficerAdded(region, officer);
    }

    /**
     * @notice Removes `officer` from `region`; the threshold may not come to exceed the officers left.
     * Regional proposal of `region` only. Voids the region's other pending proposals.
     */
    function removeOfficer(uint32 region, address officer) external onlySelf {
        Region storage r = _regions[region];
        if (!r.member) revert NotMember(region);
        if (officer == address(0) || officerRegion[officer] != region) revert NotOfficer(region, officer);
        uint256 remaining = r.officers.length - 1;
        if (r.threshold > remaining) revert InvalidThreshold(region, r.threshold, remaining);
        uint256 slot = _officerSlot[officer];
        address last = r.officers[remaining];
        r.officers[slot] = last;
        _officerSlot[last] = slot;
        r.officers.pop();
        delete officerRegion[officer];
        delete _officerSlot[officer];
        ++r.nonce;
        emit OfficerRemoved(region, officer);
    }

    /// @notice Sets the region's k (1 <= k <= officers). Regional proposal of `region` only.
    function setRegionThreshold(uint32 region, uint8 k) external onlySelf {
        Region storage r = _regions[region];
        if (!r.member) revert NotMember(region);
        if (k == 0 || k > r.officers.length) revert InvalidThreshold(region, k, r.officers.length);
        r.threshold = k;
        emit RegionThresholdSet(region, k);
    }

    // ---------------------------------------------------------------- views

    /// @notice Whether `region` is a member of the consortium.
    function isMember(uint32 region) external view returns (bool) {
        return _regions[region].member;
    }

    /// @notice The number of distinct officers needed to execute a regional proposal of `region`.
    function regionThreshold(uint32 region) external view returns (uint8) {
        return _regions[region].threshold;
    }

    /// @notice The current officers of `region` (at most {MAX_OFFICERS}).
    function officersOf(uint32 region) external view returns (address[] memory) {
        return _regions[region].officers;
    }

    /// @notice The number of current officers of `region`.
    function officerCount(uint32 region) external view returns (uint256) {
        return _regions[region].officers.length;
    }

    /// @notice Member regions needed to execute a consortium proposal now.
    function quorumRequired() public view returns (uint256) {
        return memberCount * quorumBps / 10000 + 1;
    }

    /// @notice Everything known about a certificate type.
    function typeInfo(bytes32 typeCode)
        external
        view
        returns (uint16 index, bool defined, bool active, uint32 version, bytes32 schemaHash, string memory name)
    {
        TypeRecord storage t = _types[typeCode];
        return (t.index, t.index != 0, t.active, t.version, t.schemaHash, t.name);
    }

    /// @notice The stable index of `typeCode` (0 = not defined).
    function typeIndexOf(bytes32 typeCode) external view returns (uint16) {
        return _types[typeCode].index;
    }

    /// @notice The type code with index `typeIndex` (zero if none).
    function typeCodeAt(uint16 typeIndex) external view returns (bytes32) {
        return _typeCodes[typeIndex];
    }

    /// @notice Cheap check used by the registries: the type's index (0 = undefined) and whether it is active.
    function typeGate(bytes32 typeCode) external view returns (uint16 index, bool active) {
        TypeRecord storage t = _types[typeCode];
        return (t.index, t.active);
    }

    /**
     * @notice A proposal's record.
     * @return kind 1 regional, 2 consortium (0 = no such proposal).
     * @return region the acting region (0 for consortium proposals).
     * @return target the contract called on execution.
     * @return data the calldata of that call.
     * @return proposer the officer who proposed it.
     * @return createdAt creation time.
     * @return expiresAt approvals at or after this time revert.
     * @return approvals distinct approvals (officers or regions) so far.
     * @return executed whether it has executed.
     */
    function proposal(uint256 id)
        external
        view
        returns (
            uint8 kind,
            uint32 region,
            address target,
            bytes memory data,
            address proposer,
            uint64 createdAt,
            uint64 expiresAt,
            uint256 approvals,
            bool executed
        )
    {
        Proposal storage p = _proposals[id];
        return (p.kind, p.region, p.target, p.data, p.proposer, p.createdAt, p.expiresAt, p.approvals, p.executed);
    }

    /// @notice 0 none, 1 pending, 2 executed, 3 expired, 4 void (approvals invalidated by a removal).
    function proposalState(uint256 id) external view returns (uint8) {
        Proposal storage p = _proposals[id];
        if (p.kind == 0) return STATE_NONE;
        if (p.executed) return STATE_EXECUTED;
        // forge-lint: disable-next-line(block-timestamp)
        if (block.timestamp >= p.expiresAt) return STATE_EXPIRED;
        if (_isVoid(p)) return STATE_VOID;
        return STATE_PENDING;
    }

    /// @notice Approvals needed now to execute proposal `id`.
    function requiredApprovals(uint256 id) public view returns (uint256) {
        Proposal storage p = _proposals[id];
        if (p.kind == KIND_REGIONAL) return _regions[p.region].threshold;
        if (p.kind == KIND_CONSORTIUM) return quorumRequired();
        return 0;
    }

    /// @notice Whether `officer` approved (or proposed) proposal `id`.
    function hasApproved(uint256 id, address officer) external view returns (bool) {
        return _approvedBy[id][officer];
    }

    /// @notice Whether `region` approved proposal `id` (for regional proposals: its own region).
    function hasRegionApproved(uint256 id, uint32 region) external view returns (bool) {
        return _regionApproved[id][region];
    }

    // ---------------------------------------------------------------- internals

    function _create(address proposer, uint8 kind, uint32 region, uint32 nonce, address target, bytes calldata data)
        private
        returns (uint256 id)
    {
        id = ++proposalCount;
        uint64 expiresAt = uint64(block.timestamp) + proposalTtl;
        Proposal storage p = _proposals[id];
        p.kind = kind;
        p.region = region;
        p.nonce = nonce;
        p.createdAt = uint64(block.timestamp);
        p.expiresAt = expiresAt;
        p.target = target;
        p.proposer = proposer;
        p.data = data;
        emit ProposalCreated(id, kind, region, target, data, proposer, expiresAt);
    }

    /// @dev Counts `approver`'s approval (region already checked), then executes if the threshold is met.
    function _recordApproval(uint256 id, address approver, uint32 region) private {
        Proposal storage p = _proposals[id];
        _approvedBy[id][approver] = true;
        uint256 approvals = p.approvals + 1;
        // safe: distinct officers (<= MAX_OFFICERS) or member regions (< 1,000,000 codes, in practice 34)
        // forge-lint: disable-next-line(unsafe-typecast)
        p.approvals = uint16(approvals);
        uint256 required = requiredApprovals(id);
        emit ProposalApproved(id, approver, region, approvals, required);
        if (approvals >= required) _execute(id, p);
    }

    function _execute(uint256 id, Proposal storage p) private {
        p.executed = true;
        emit ProposalExecuted(id);
        (bool ok, bytes memory ret) = p.target.call(p.data);
        if (!ok) {
            if (ret.length == 0) revert ExecutionFailed(id);
            assembly ("memory-safe") {
                revert(add(ret, 0x20), mload(ret))
            }
        }
    }

    function _isVoid(Proposal storage p) private view returns (bool) {
        if (p.kind == KIND_REGIONAL) return p.nonce != _regions[p.region].nonce;
        return p.nonce != _membershipNonce;
    }

    function _selector(bytes calldata data) private pure returns (bytes4) {
        if (data.length < 4) revert MalformedCall();
        return bytes4(data[:4]);
    }

    function _checkRegionalCall(address target, bytes4 s) private view {
        bool allowed;
        if (target == address(this)) {
            allowed = s == Consortium.addOfficer.selector || s == Consortium.removeOfficer.selector
                || s == Consortium.setRegionThreshold.selector;
        } else if (target != address(0) && target == issuerRegistry) {
            allowed = s == IssuerRegistry.registerIssuer.selector || s == IssuerRegistry.suspendIssuer.selector
                || s == IssuerRegistry.reinstateIssuer.selector || s == IssuerRegistry.revokeIssuer.selector
                || s == IssuerRegistry.addKey.selector || s == IssuerRegistry.addSM2Key.selector
                || s == IssuerRegistry.retireKey.selector || s == IssuerRegistry.grantType.selector
                || s == IssuerRegistry.withdrawType.selector;
        } else if (target != address(0) && target == recognitionPolicy) {
            allowed =
                s == RecognitionPolicy.setRecognition.selector || s == RecognitionPolicy.withdrawRecognition.selector;
        } else if (target != address(0) && target == nodeRegistry) {
            allowed = s == NodeRegistry.registerNode.selector || s == NodeRegistry.setNodeUrl.selector
                || s == NodeRegistry.addNodeKey.selector || s == NodeRegistry.retireNodeKey.selector
                || s == NodeRegistry.removeNode.selector;
        } else {
            revert TargetNotAllowed(target);
        }
        if (!allowed) revert SelectorNotAllowed(target, s);
    }

    function _isConsortiumSelector(bytes4 s) private pure returns (bool) {
        return s == Consortium.admitRegion.selector || s == Consortium.removeRegion.selector
            || s == Consortium.defineType.selector || s == Consortium.setQuorum.selector
            || s == Consortium.setProposalTtl.selector;
    }

    function _admitRegion(uint32 region, address[] memory list, uint8 threshold) private {
        if (region < 100000 || region > 999999) revert InvalidRegion(region);
        Region storage r = _regions[region];
        if (r.member) revert AlreadyMember(region);
        if (list.length == 0) revert NoOfficers(region);
        if (list.length > MAX_OFFICERS) revert TooManyOfficers(region);
        uint8 k = threshold == 0 ? DEFAULT_THRESHOLD : threshold;
        if (k > list.length) revert InvalidThreshold(region, k, list.length);
        r.member = true;
        r.threshold = k;
        ++memberCount;
        for (uint256 i = 0; i < list.length; ++i) {
            _addOfficer(region, r, list[i]);
        }
        emit RegionAdmitted(region, list, k);
    }

    /// @dev Callers check membership and the officer limit, and emit the event.
    function _addOfficer(uint32 region, Region storage r, address officer) private {
        if (officer == address(0)) revert ZeroAddress();
        uint32 current = officerRegion[officer];
        if (current != 0) revert OfficerAlreadyAssigned(officer, current);
        officerRegion[officer] = region;
        _officerSlot[officer] = r.officers.length;
        r.officers.push(officer);
    }

    function _setProposalTtl(uint64 ttl) private {
        if (ttl < MIN_PROPOSAL_TTL || ttl > MAX_PROPOSAL_TTL) revert InvalidProposalTtl(ttl);
        proposalTtl = ttl;
        emit ProposalTtlSet(ttl);
    }
}
