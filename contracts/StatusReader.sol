// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

import {Consortium} from "./Consortium.sol";
import {IssuerRegistry} from "./IssuerRegistry.sol";
import {AnchorLedger} from "./AnchorLedger.sol";
import {RecognitionPolicy} from "./RecognitionPolicy.sol";

/**
 * @title StatusReader
 * @notice Everything a verifier needs about one certificate, in ONE eth_call. Stateless: it reads
 * the registries bound in the {Consortium} at call time, so it may be deployed at any point.
 */
contract StatusReader {
    /**
     * @notice Facts for (batchRoot, certHash, signer, verifierRegion).
     * @dev When the batch is not anchored, the issuer fields describe the signer's issuer (so a
     * verifier can still tell NOT_ANCHORED from UNKNOWN_ISSUER). `certStatus` is the status set by
     * the issuer (0 in force, 1 suspended, 2 revoked). `recognisedNow` is evaluated at `blockTime`.
     */
    struct VerificationFacts {
        bool anchored;
        bytes32 issuerId;
        uint32 issuerRegion;
        uint8 issuerStatus;
        uint64 issuerRevokedFrom;
        address anchorKey;
        bool anchorKeyValidAtAnchor;
        bytes32 signerIssuerId;
        uint64 signerValidFrom;
        uint64 signerValidUntil;
        bytes32 typeCode;
        bool typeAuthorisedNow;
        bool typeActive;
        uint64 anchorBlock;
        uint64 anchorTime;
        uint8 certStatus;
        uint64 certStatusSince;
        bool recognisedNow;
        uint64 blockNumber;
        uint64 blockTime;
    }

    /// @notice The consortium whose bound registries are read.
    Consortium public immutable consortium;

    error NotBound();

    /// @param consortium_ the consortium (its registries may be bound later).
    constructor(Consortium consortium_) {
        consortium = consortium_;
    }

    /**
     * @notice All verification facts in one call.
     * @param batchRoot the batch root the presentation claims.
     * @param certHash the certificate's document root.
     * @param signer the address that signed the document root (EIP-712).
     * @param verifierRegion the region of the verifying clerk.
     */
    function facts(bytes32 batchRoot, bytes32 certHash, address signer, uint32 verifierRegion)
        external
        view
        returns (VerificationFacts memory f)
    {
        IssuerRegistry registry = IssuerRegistry(consortium.issuerRegistry());
        if (address(registry) == address(0)) revert NotBound();
        AnchorLedger ledger = AnchorLedger(consortium.anchorLedger());
        RecognitionPolicy policy = RecognitionPolicy(consortium.recognitionPolicy());

        f.blockNumber = uint64(block.number);
        f.blockTime = uint64(block.timestamp);

        (f.anchored, f.issuerId, f.anchorKey, f.typeCode, f.anchorBlock, f.anchorTime) = ledger.anchorOf(batchRoot);
        (f.signerIssuerId, f.signerValidFrom, f.signerValidUntil) = registry.keyInfo(signer);
        if (!f.anchored) f.issuerId = f.signerIssuerId;
        if (f.anchored) f.anchorKeyValidAtAnchor = registry.isKeyValidAt(f.anchorKey, f.anchorTime);

        if (f.issuerId != bytes32(0)) {
            (f.issuerRegion, f.issuerStatus,, f.issuerRevokedFrom,) = registry.issuer(f.issuerId);
            (f.certStatus, f.certStatusSince,) = ledger.certificateStatus(certHash, f.issuerId);
        }
        if (f.typeCode != bytes32(0)) {
            f.typeAuthorisedNow = registry.isAuthorised(f.issuerId, f.typeCode);
            (, f.typeActive) = consortium.typeGate(f.typeCode);
            if (f.issuerRegion != 0) {
                f.recognisedNow = policy.isRecognised(verifierRegion, f.typeCode, f.issuerRegion, f.blockTime);
            }
        }
    }
}
