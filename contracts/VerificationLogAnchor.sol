// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

/**
 * @title VerificationLogAnchor
 * @notice Heads of verifier operators' hash-chained verification logs (核验日志), anchored on chain
 * so that an auditor can prove the log was not edited, shortened or rewritten afterwards.
 *
 * A verification log is an append-only chain of entries (entry_hash = keccak256(prev_hash ||
 * canonical JSON of the entry)); its head after `entries` entries is the hash of entry number
 * `entries`. The operator anchors that head from time to time. An auditor recomputes the chain
 * from the log's rows and compares it with every anchored head: an edited, deleted, reordered
 * or rewritten entry at or before an anchored position can no longer produce the anchored head.
 *
 * Who may anchor: ANY account, but only into ITS OWN log (heads are keyed by `msg.sender`).
 * There is deliberately no registry check: the trust decision is "which operator address speaks
 * for this region's verification service", and the region publishes that address (alongside
 * its verifier endpoint); an auditor checks the log against the heads of that address only.
 * Nobody can write into another operator's log, and a stranger's heads are simply never read.
 * This keeps the contract free of governance state and lets an operator rotate to a new key
 * (a new log) without a proposal.
 *
 * No personal data reaches the chain: only a 32-byte hash and an entry count.
 */
contract VerificationLogAnchor {
    /// @notice One anchored head: the log's hash after `entries` entries, anchored at time `at`.
    struct Head {
        bytes32 head;
        uint64 entries;
        uint64 at;
    }

    /// @dev operator => its anchored heads in anchoring order (index = anchor sequence number).
    mapping(address operator => Head[]) private _heads;

    /**
     * @notice A head of `operator`'s log was anchored.
     * @param operator the account whose log this is (the sender).
     * @param seq 0-based sequence number of this anchor among the operator's anchors.
     * @param head the log's hash after `entries` entries.
     * @param entries how many entries the head covers (strictly increasing per operator).
     * @param at block timestamp of the anchoring.
     */
    event LogHeadAnchored(address indexed operator, uint64 indexed seq, bytes32 head, uint64 entries, uint64 at);

    /// @notice A zero head is never the hash of a real log.
    error EmptyHead();
    /// @notice A log only grows: `entries` must exceed the entry count of the operator's latest head.
    error LogDidNotGrow(address operator, uint64 latestEntries, uint64 entries);
    /// @notice The operator has not anchored any head yet.
    error NoHeadAnchored(address operator);
    /// @notice There is no anchor `seq` for the operator (it has `count` anchors).
    error UnknownAnchor(address operator, uint64 seq, uint64 count);

    /**
     * @notice Anchors the head of the sender's own verification log.
     * @dev Reverts with {EmptyHead} for a zero head and with {LogDidNotGrow} unless `entries` is
     * strictly greater than the entry count of the sender's latest head (the first head needs
     * `entries` > 0). One new slot pair per anchor; no other state is touched.
     * @param head the log's hash after `entries` entries (non-zero).
     * @param entries number of entries the head covers.
     * @return seq the 0-based sequence number of this anchor for the sender.
     */
    function anchorHead(bytes32 head, uint64 entries) external returns (uint64 seq) {
        if (head == bytes32(0)) revert EmptyHead();
        Head[] storage heads = _heads[msg.sender];
        uint256 n = heads.length;
        uint64 previous = n == 0 ? 0 : heads[n - 1].entries;
        if (entries <= previous) revert LogDidNotGrow(msg.sender, previous, entries);
        seq = uint64(n);
        heads.push(Head(head, entries, uint64(block.timestamp)));
        emit LogHeadAnchored(msg.sender, seq, head, entries, uint64(block.timestamp));
    }

    /**
     * @notice The operator's most recently anchored head.
     * @dev Reverts with {NoHeadAnchored} when the operator never anchored (check {count} first).
     * @return seq the anchor's 0-based sequence number.
     * @return head the log's hash after `entries` entries.
     * @return entries number of entries covered.
     * @return at block timestamp of the anchoring.
     */
    function latest(address operator) external view returns (uint64 seq, bytes32 head, uint64 entries, uint64 at) {
        Head[] storage heads = _heads[operator];
        uint256 n = heads.length;
        if (n == 0) revert NoHeadAnchored(operator);
        Head storage h = heads[n - 1];
        return (uint64(n - 1), h.head, h.entries, h.at);
    }

    /**
     * @notice The operator's anchor number `seq` (0-based, in anchoring order).
     * @dev Reverts with {UnknownAnchor} when `seq` >= {count}.
     * @return head the log's hash after `entries` entries.
     * @return entries number of entries covered.
     * @return at block timestamp of the anchoring.
     */
    function headAt(address operator, uint64 seq) external view returns (bytes32 head, uint64 entries, uint64 at) {
        Head[] storage heads = _heads[operator];
        if (seq >= heads.length) revert UnknownAnchor(operator, seq, uint64(heads.length));
        Head storage h = heads[seq];
        return (h.head, h.entries, h.at);
    }

    /**
     * @notice How many heads the operator has anchored.
     * @return the number of anchors (the next anchor gets this sequence number).
     */
    function count(address operator) external view returns (uint64) {
        return uint64(_heads[operator].length);
    }
}
