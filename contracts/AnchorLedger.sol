// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";
import {IssuerRegistry} from "./IssuerRegistry.sol";
import {Consortium} from "./Consortium.sol";

/**
 * @title AnchorLedger
 * @notice Batch roots of certificate document roots, anchored by issuers' signing keys, and the
 * status (suspended / revoked) of individual certificates.
 *
 * Trees are OpenZeppelin StandardMerkleTree compatible: leaf = keccak256(bytes.concat(
 * keccak256(abi.encode(certHash)))), sorted-pair keccak256 for inner nodes.
 *
 * Certificate status is scoped to the ISSUER: it is stored under (issuerId, certHash), because a
 * certificate hash can be put into a batch by anyone who knows it; keying by certHash alone would
 * let issuer B revoke (or block the revocation of) a certificate of issuer A.
 *
 * Issuers sign document roots with EIP-712 under this contract's domain ("Huren", "1", chainId,
 * this address), see {eip712Domain}.
 *
 * Crypto suite 2 (国密): a batch anchored with {anchorGuomi} has SM3 document and batch trees. A stock
 * EVM has no SM3 precompile and SM3 in Solidity costs about 100x keccak per proof
 * (docs/spec/decisions/sm3-status-on-chain.md), so status changes of suite-2 certificates
 * ({revokeGuomi}, {suspendGuomi}, {reinstateGuomi}) carry their SM3 inclusion proof in calldata
 * without evaluating it: the issuing node checks it before sending, anyone can check it off chain
 * from the transaction, and the status is scoped to the issuer either way.
 */
contract AnchorLedger is EIP712 {
    /// @notice Certificate status codes (as uint8 in events and views). InForce = never changed or reinstated.
    enum CertStatus {
        InForce,
        Suspended,
        Revoked
    }

    struct CertRecord {
        CertStatus status;
        uint8 reason;
        uint64 since;
    }

    /// @notice The issuer registry consulted on every anchor and status change.
    IssuerRegistry public immutable registry;
    /// @notice The consortium (type definitions).
    Consortium public immutable consortium;

    /// @dev batchRoot => key (bits 0..159) | timestamp (160..199) | block number (200..238) | suite-2 flag
    /// (239) | typeIndex (240..255). 39 bits of block number last 17,000 years at one block a second;
    /// the flag costs {anchor} nothing (suite 1 leaves it clear) and no extra storage slot.
    mapping(bytes32 batchRoot => uint256) private _anchors;
    /// @dev keccak256(abi.encode(issuerId, certHash)) => status record.
    mapping(bytes32 certKey => CertRecord) private _certs;

    /// @notice A batch root was anchored by `key` of `issuerId`.
    event Anchored(
        bytes32 indexed batchRoot,
        bytes32 indexed issuerId,
        address indexed key,
        bytes32 typeCode,
        uint32 certCount,
        uint64 timestamp
    );
    /// @notice The batch anchored in the same transaction (see {Anchored}, emitted just before) is of
    /// crypto suite 2 (国密): SM3 trees, SM2 issuer signatures.
    event GuomiBatchAnchored(bytes32 indexed batchRoot);
    /// @notice Status set by `issuerId`: 0 in force (reinstated), 1 suspended, 2 revoked (final).
    event CertificateStatusChanged(
        bytes32 indexed certHash,
        bytes32 indexed batchRoot,
        bytes32 indexed issuerId,
        uint8 status,
        uint8 reason,
        uint64 at
    );

    error EmptyRoot();
    error EmptyBatch();
    error RootAlreadyAnchored(bytes32 batchRoot);
    error RootNotAnchored(bytes32 batchRoot);
    error NotCertificateIssuer(bytes32 batchRoot, address caller);
    error IssuerRevoked(bytes32 issuerId);
    error NotInBatch(bytes32 certHash, bytes32 batchRoot);
    error CertificateRevoked(bytes32 certHash);
    error CertificateNotInForce(bytes32 certHash);
    error CertificateNotSuspended(bytes32 certHash);
    error NotGuomiBatch(bytes32 batchRoot);

    /// @dev Bit 239 of an anchor record: the batch is of crypto suite 2 (国密).
    uint256 private constant GUOMI_FLAG = 1 << 239;
    /// @dev Width of the block number in an anchor record (bits 200..238).
    uint256 private constant BLOCK_MASK = (1 << 39) - 1;

    /// @param registry_ the issuer registry (bound to the same consortium).
    constructor(IssuerRegistry registry_) EIP712("Huren", "1") {
        registry = registry_;
        consortium = registry_.consortium();
    }

    // ---------------------------------------------------------------- anchoring

    /**
     * @notice Anchors a batch root. The sender is the issuer's signing key.
     * @dev The key must be valid now, its issuer Active and authorised for `typeCode`, the type
     * defined and active (the registry reverts with the precise reason). One storage slot per batch.
     * @param batchRoot Merkle root of the batch's document roots (non-zero, never anchored before).
     * @param typeCode the certificate type of every document in the batch.
     * @param certCount number of certificates in the batch (> 0; recorded in the event only).
     */
    function anchor(bytes32 batchRoot, bytes32 typeCode, uint32 certCount) external {
        _anchor(batchRoot, typeCode, certCount, 0);
    }

    /**
     * @notice Anchors a batch root of crypto suite 2 (国密: SM3 trees, SM2 issuer signatures). Same
     * rules and record as {anchor}; emits {Anchored} and then {GuomiBatchAnchored}.
     * @dev The sender must be one of the issuer's secp256k1 keys: an SM2 key added with
     * {IssuerRegistry-addSM2Key} has no transaction key and can never send this.
     * @param batchRoot SM3 Merkle root of the batch's document roots (non-zero, never anchored before).
     * @param typeCode the certificate type of every document in the batch.
     * @param certCount number of certificates in the batch (> 0; recorded in the event only).
     */
    function anchorGuomi(bytes32 batchRoot, bytes32 typeCode, uint32 certCount) external {
        _anchor(batchRoot, typeCode, certCount, GUOMI_FLAG);
        emit GuomiBatchAnchored(batchRoot);
    }

    // ---------------------------------------------------------------- certificate status

    /**
     * @notice Revokes a certificate for good (from in force or suspended).
     * @dev The sender must be a currently valid key of the issuer that anchored `batchRoot`, the
     * issuer not revoked, and `proof` must show `certHash` in `batchRoot`.
     * @param reason issuer-defined reason code, recorded with the status.
     */
    function revokeCertificate(bytes32 certHash, bytes32 batchRoot, bytes32[] calldata proof, uint8 reason) external {
        _revoke(_authorise(certHash, batchRoot, proof), certHash, batchRoot, reason);
    }

    /// @notice Suspends an in-force certificate (reversible). Same authorisation as {revokeCertificate}.
    function suspendCertificate(bytes32 certHash, bytes32 batchRoot, bytes32[] calldata proof, uint8 reason) external {
        _suspend(_authorise(certHash, batchRoot, proof), certHash, batchRoot, reason);
    }

    /// @notice Puts a suspended certificate back in force. Same authorisation as {revokeCertificate}.
    function reinstateCertificate(bytes32 certHash, bytes32 batchRoot, bytes32[] calldata proof) external {
        _reinstate(_authorise(certHash, batchRoot, proof), certHash, batchRoot);
    }

    /**
     * @notice Revokes a certificate of a suite-2 (国密) batch for good (from in force or suspended).
     * @dev Same authorisation as {revokeCertificate} (the sender a currently valid secp256k1 key of
     * the issuer that anchored `batchRoot`, that issuer not revoked) and the same status record, but
     * `sm3Proof` is NOT evaluated: it travels in calldata for off-chain checking with SM3, and the
     * event names `batchRoot`. Refuses a batch anchored with {anchor} ({NotGuomiBatch}).
     * @param sm3Proof the SM3 inclusion proof of `certHash` in `batchRoot` (not checked on chain).
     * @param reason issuer-defined reason code, recorded with the status.
     */
    function revokeGuomi(bytes32 certHash, bytes32 batchRoot, bytes32[] calldata sm3Proof, uint8 reason) external {
        sm3Proof; // carried for off-chain checking only
        _revoke(_authoriseGuomi(batchRoot), certHash, batchRoot, reason);
    }

    /// @notice Suspends an in-force certificate of a suite-2 batch (reversible). Same rules as {revokeGuomi}.
    /// @param sm3Proof the SM3 inclusion proof of `certHash` in `batchRoot` (not checked on chain).
    function suspendGuomi(bytes32 certHash, bytes32 batchRoot, bytes32[] calldata sm3Proof, uint8 reason) external {
        sm3Proof; // carried for off-chain checking only
        _suspend(_authoriseGuomi(batchRoot), certHash, batchRoot, reason);
    }

    /// @notice Puts a suspended certificate of a suite-2 batch back in force. Same rules as {revokeGuomi}.
    /// @param sm3Proof the SM3 inclusion proof of `certHash` in `batchRoot` (not checked on chain).
    function reinstateGuomi(bytes32 certHash, bytes32 batchRoot, bytes32[] calldata sm3Proof) external {
        sm3Proof; // carried for off-chain checking only
        _reinstate(_authoriseGuomi(batchRoot), certHash, batchRoot);
    }

    // ---------------------------------------------------------------- views

    /**
     * @notice The anchor record of `batchRoot`.
     * @return anchored whether it was anchored.
     * @return issuerId issuer of the anchoring key.
     * @return key the signing key that sent the anchor transaction.
     * @return typeCode certificate type of the batch.
     * @return blockNumber block of the anchor.
     * @return timestamp block time of the anchor.
     */
    function anchorOf(bytes32 batchRoot)
        external
        view
        returns (bool anchored, bytes32 issuerId, address key, bytes32 typeCode, uint64 blockNumber, uint64 timestamp)
    {
        uint256 rec = _anchors[batchRoot];
        if (rec == 0) return (false, bytes32(0), address(0), bytes32(0), 0, 0);
        // Unpacking the record written by {anchor}: each field is extracted at its own width.
        // forge-lint: disable-next-line(unsafe-typecast)
        key = address(uint160(rec));
        // forge-lint: disable-next-line(unsafe-typecast)
        timestamp = uint64(uint40(rec >> 160));
        // forge-lint: disable-next-line(unsafe-typecast)
        blockNumber = uint64((rec >> 200) & BLOCK_MASK);
        // forge-lint: disable-next-line(unsafe-typecast)
        typeCode = consortium.typeCodeAt(uint16(rec >> 240));
        (issuerId,,) = registry.keyInfo(key);
        anchored = true;
    }

    /**
     * @notice The crypto suite of a batch: 0 not anchored, 1 international (keccak-256 trees,
     * {anchor}), 2 国密 (SM3 trees, {anchorGuomi}).
     */
    function batchSuite(bytes32 batchRoot) external view returns (uint8) {
        uint256 rec = _anchors[batchRoot];
        if (rec == 0) return 0;
        return rec & GUOMI_FLAG == 0 ? 1 : 2;
    }

    /**
     * @notice Status of certificate `certHash` as set by issuer `issuerId`.
     * @return status 0 in force (never changed, or reinstated), 1 suspended, 2 revoked.
     * @return since time of the last change (0 if never changed).
     * @return reason reason code of the last change.
     */
    function certificateStatus(bytes32 certHash, bytes32 issuerId)
        external
        view
        returns (uint8 status, uint64 since, uint8 reason)
    {
        CertRecord storage c = _certs[_certKey(issuerId, certHash)];
        return (uint8(c.status), c.since, c.reason);
    }

    /// @notice Whether `proof` shows `certHash` in the tree with root `batchRoot` (StandardMerkleTree leaf).
    function verifyInclusion(bytes32 certHash, bytes32 batchRoot, bytes32[] calldata proof)
        external
        pure
        returns (bool)
    {
        return MerkleProof.verifyCalldata(proof, batchRoot, leafOf(certHash));
    }

    /// @notice The StandardMerkleTree leaf of a bytes32 value: keccak256(bytes.concat(keccak256(abi.encode(v)))).
    function leafOf(bytes32 certHash) public pure returns (bytes32) {
        return keccak256(bytes.concat(keccak256(abi.encode(certHash))));
    }

    /// @notice The EIP-712 domain separator issuers sign document roots under.
    function domainSeparator() external view returns (bytes32) {
        return _domainSeparatorV4();
    }

    // ---------------------------------------------------------------- internals

    /// @dev Checks and effects of {anchor} and {anchorGuomi}; `suiteFlag` is 0 or GUOMI_FLAG.
    function _anchor(bytes32 batchRoot, bytes32 typeCode, uint32 certCount, uint256 suiteFlag) private {
        if (batchRoot == bytes32(0)) revert EmptyRoot();
        if (certCount == 0) revert EmptyBatch();
        if (_anchors[batchRoot] != 0) revert RootAlreadyAnchored(batchRoot);
        (bytes32 issuerId, uint16 typeIndex) = registry.anchorCheck(msg.sender, typeCode);
        _anchors[batchRoot] = uint256(uint160(msg.sender)) | (block.timestamp << 160) | (block.number << 200)
            | suiteFlag | (uint256(typeIndex) << 240);
        emit Anchored(batchRoot, issuerId, msg.sender, typeCode, certCount, uint64(block.timestamp));
    }

    /// @dev Authorisation of the keccak-proof status changes: the sender's, then the proof.
    function _authorise(bytes32 certHash, bytes32 batchRoot, bytes32[] calldata proof)
        private
        view
        returns (bytes32 issuerId)
    {
        uint256 rec = _anchors[batchRoot];
        if (rec == 0) revert RootNotAnchored(batchRoot);
        issuerId = _authoriseSender(batchRoot, rec);
        if (!MerkleProof.verifyCalldata(proof, batchRoot, leafOf(certHash))) revert NotInBatch(certHash, batchRoot);
    }

    /// @dev Authorisation of the suite-2 status changes: the batch must be a suite-2 batch; no proof.
    function _authoriseGuomi(bytes32 batchRoot) private view returns (bytes32) {
        uint256 rec = _anchors[batchRoot];
        if (rec == 0) revert RootNotAnchored(batchRoot);
        if (rec & GUOMI_FLAG == 0) revert NotGuomiBatch(batchRoot);
        return _authoriseSender(batchRoot, rec);
    }

    /// @dev The sender is a currently valid key of the issuer that anchored `rec`, which is not revoked.
    function _authoriseSender(bytes32 batchRoot, uint256 rec) private view returns (bytes32) {
        (
            bytes32 anchorIssuer,
            bytes32 senderIssuer,
            bool senderValid,
            uint8 issuerStatus
            // forge-lint: disable-next-line(unsafe-typecast)
        ) = registry.statusChangeCheck(msg.sender, address(uint160(rec)));
        if (senderIssuer != anchorIssuer || !senderValid) revert NotCertificateIssuer(batchRoot, msg.sender);
        if (issuerStatus == uint8(IssuerRegistry.IssuerStatus.Revoked)) revert IssuerRevoked(anchorIssuer);
        return anchorIssuer;
    }

    function _revoke(bytes32 issuerId, bytes32 certHash, bytes32 batchRoot, uint8 reason) private {
        CertRecord storage c = _certs[_certKey(issuerId, certHash)];
        if (c.status == CertStatus.Revoked) revert CertificateRevoked(certHash);
        _setStatus(c, certHash, batchRoot, issuerId, CertStatus.Revoked, reason);
    }

    function _suspend(bytes32 issuerId, bytes32 certHash, bytes32 batchRoot, uint8 reason) private {
        CertRecord storage c = _certs[_certKey(issuerId, certHash)];
        if (c.status == CertStatus.Revoked) revert CertificateRevoked(certHash);
        if (c.status != CertStatus.InForce) revert CertificateNotInForce(certHash);
        _setStatus(c, certHash, batchRoot, issuerId, CertStatus.Suspended, reason);
    }

    function _reinstate(bytes32 issuerId, bytes32 certHash, bytes32 batchRoot) private {
        CertRecord storage c = _certs[_certKey(issuerId, certHash)];
        if (c.status == CertStatus.Revoked) revert CertificateRevoked(certHash);
        if (c.status != CertStatus.Suspended) revert CertificateNotSuspended(certHash);
        _setStatus(c, certHash, batchRoot, issuerId, CertStatus.InForce, 0);
    }

    function _setStatus(
        CertRecord storage c,
        bytes32 certHash,
        bytes32 batchRoot,
        bytes32 issuerId,
        CertStatus status,
        uint8 reason
    ) private {
        uint64 nowTs = uint64(block.timestamp);
        c.status = status;
        c.reason = reason;
        c.since = nowTs;
        emit CertificateStatusChanged(certHash, batchRoot, issuerId, uint8(status), reason, nowTs);
    }

    function _certKey(bytes32 issuerId, bytes32 certHash) private pure returns (bytes32) {
        return keccak256(abi.encode(issuerId, certHash));
    }
}
