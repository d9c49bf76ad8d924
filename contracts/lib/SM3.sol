// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.28;

/**
 * @title SM3
 * @notice The SM3 cryptographic hash (GB/T 32905-2016, ISO/IEC 10118-3:2018) in Solidity, for
 * checking 国密 (crypto suite 2) Merkle proofs on a stock EVM, which has no SM3 precompile.
 *
 * Written to measure what an on-chain SM3 proof costs (issue 17, item 2; see
 * docs/spec/decisions/sm3-status-on-chain.md). It follows the standard step by step: padding
 * (a 1 bit, zeros, the 64-bit big-endian bit length), message expansion into W[0..67] and
 * W'[0..63], and 64 rounds of compression with FF/GG, P0/P1 and the constants T_j.
 *
 * The eight 32-bit state words A..H travel packed in one uint256 (A in the top 32 bits), which is
 * also the digest's layout. All word arithmetic is modulo 2^32, done in assembly with explicit masks;
 * a rotation X <<< n of a clean 32-bit X is written out as `and(or(shl(n, X), shr(32 - n, X)), 0xffffffff)`
 * (inline rather than a Yul function call: with the four-round unrolling below, this took hashPair
 * from about 106,000 to 85,000 gas).
 */
library SM3 {
    /// @dev The initial value IV = 7380166f 4914b2b9 172442d7 da8a0600 a96f30bc 163138aa e38dee4d b0fb0e4e.
    uint256 private constant IV = 0x7380166f4914b2b9172442d7da8a0600a96f30bc163138aae38dee4db0fb0e4e;

    /// @notice The SM3 digest of `data`.
    function hash(bytes memory data) internal pure returns (bytes32 digest) {
        uint256 len = data.length;
        // Padded length: the message, one 0x80 byte, zeros, then 8 length bytes, to a multiple of 64.
        uint256 padded = (((len + 8) >> 6) + 1) << 6;
        bytes memory buf = new bytes(padded); // zero-filled
        assembly ("memory-safe") {
            let p := add(buf, 0x20)
            mcopy(p, add(data, 0x20), len)
            mstore8(add(p, len), 0x80)
            // The last word of the buffer: its final 8 bytes are zero, so the bit length is OR-ed in.
            let last := add(buf, padded)
            mstore(last, or(mload(last), shl(3, len)))
        }
        uint256 v = IV;
        unchecked {
            for (uint256 off = 0; off < padded; off += 64) {
                v = _compress(v, buf, off);
            }
        }
        digest = bytes32(v);
    }

    /**
     * @notice SM3 of the sorted pair: SM3(min(a, b) || max(a, b)), the commutative inner-node hash of
     * a sorted-pair Merkle tree (as OpenZeppelin's `Hashes.commutativeKeccak256`, with SM3).
     * @dev A 64-byte message is two blocks: the pair, then a block of padding only.
     */
    function hashPair(bytes32 a, bytes32 b) internal pure returns (bytes32) {
        if (a > b) (a, b) = (b, a);
        bytes memory buf;
        assembly ("memory-safe") {
            // Scratch above the free memory pointer, released on return: [len][a][b][0x80 0..][.. 0x200].
            buf := mload(0x40)
            mstore(buf, 0x80)
            mstore(add(buf, 0x20), a)
            mstore(add(buf, 0x40), b)
            mstore(add(buf, 0x60), shl(248, 0x80))
            mstore(add(buf, 0x80), 0x200) // bit length of 64 bytes
            mstore(0x40, add(buf, 0xa0))
        }
        uint256 v = _compress(_compress(IV, buf, 0), buf, 64);
        assembly ("memory-safe") {
            mstore(0x40, buf)
        }
        return bytes32(v);
    }

    /**
     * @dev CF(V, B): one compression of the 64-byte block at `buf[off..off+64]` into state `v`.
     * W[0..67] is kept as 32-byte slots in scratch memory above the free memory pointer;
     * W'[j] = W[j] ^ W[j+4] is formed when used.
     */
    function _compress(uint256 v, bytes memory buf, uint256 off) private pure returns (uint256 r) {
        assembly ("memory-safe") {
            // ---- expansion: W[0..15] from the block (big-endian words), W[16..67] by the recurrence
            {
                let w := mload(0x40)
                let src := add(add(buf, 0x20), off)
                for { let i := 0 } lt(i, 16) { i := add(i, 1) } {
                    mstore(add(w, shl(5, i)), shr(224, mload(add(src, shl(2, i)))))
                }
                for { let q := add(w, 0x200) } lt(q, add(w, 0x880)) { q := add(q, 0x20) } {
                    // W[j] = P1(W[j-16] ^ W[j-9] ^ (W[j-3] <<< 15)) ^ (W[j-13] <<< 7) ^ W[j-6],
                    // P1(X) = X ^ (X <<< 15) ^ (X <<< 23)
                    let x := mload(sub(q, 0x60))
                    x := xor(
                        xor(mload(sub(q, 0x200)), mload(sub(q, 0x120))),
                        and(or(shl(15, x), shr(17, x)), 0xffffffff)
                    )
                    x := xor(
                        xor(x, and(or(shl(15, x), shr(17, x)), 0xffffffff)),
                        and(or(shl(23, x), shr(9, x)), 0xffffffff)
                    )
                    let y := mload(sub(q, 0x1a0))
                    mstore(q, xor(xor(x, and(or(shl(7, y), shr(25, y)), 0xffffffff)), mload(sub(q, 0xc0))))
                }
            }

            // ---- compression: 64 rounds over A..H
            // Each round writes TT1 over D's register and P0(TT2) over H's and rotates B and F in
            // place; the roles of the registers then shift by one (new A = old D's register, new
            // B = old A's, ...), so four rounds are written out with the names permuted and no word
            // is ever copied. Per round j:
            //   SS1 = ((A <<< 12) + E + (T_j <<< j)) <<< 7,  SS2 = SS1 ^ (A <<< 12)
            //   TT1 = FF_j(A,B,C) + D + SS2 + W'[j],  TT2 = GG_j(E,F,G) + H + SS1 + W[j]
            //   (A,B,C,D) <- (TT1, A, B <<< 9, C),  (E,F,G,H) <- (P0(TT2), E, F <<< 19, G)
            // with W'[j] = W[j] ^ W[j+4] and P0(X) = X ^ (X <<< 9) ^ (X <<< 17).
            let a := shr(224, v)
            let b := and(shr(192, v), 0xffffffff)
            let c := and(shr(160, v), 0xffffffff)
            let d := and(shr(128, v), 0xffffffff)
            let e := and(shr(96, v), 0xffffffff)
            let f := and(shr(64, v), 0xffffffff)
            let g := and(shr(32, v), 0xffffffff)
            let h := and(v, 0xffffffff)
            // t = T_j <<< (j mod 32), advanced by one bit per round; T_j = 79cc4519 for j < 16.
            let t := 0x79cc4519
            let q := mload(0x40)
            // rounds 0..15: FF_j = GG_j = X ^ Y ^ Z
            for {} lt(q, add(mload(0x40), 0x200)) {} {
                {
                    // round 4k+0: (A..H) = (a,b,c,d,e,f,g,h)
                    let a12 := and(or(shl(12, a), shr(20, a)), 0xffffffff)
                    let ss1 := and(add(add(a12, e), t), 0xffffffff)
                    ss1 := and(or(shl(7, ss1), shr(25, ss1)), 0xffffffff)
                    d := add(d, xor(mload(q), mload(add(q, 0x80))))
                    d := and(add(add(d, xor(xor(a, b), c)), xor(ss1, a12)), 0xffffffff)
                    h := and(add(add(h, mload(q)), add(ss1, xor(xor(e, f), g))), 0xffffffff)
                    h := xor(
                        xor(h, and(or(shl(9, h), shr(23, h)), 0xffffffff)),
                        and(or(shl(17, h), shr(15, h)), 0xffffffff)
                    )
                    b := and(or(shl(9, b), shr(23, b)), 0xffffffff)
                    f := and(or(shl(19, f), shr(13, f)), 0xffffffff)
                    t := and(or(shl(1, t), shr(31, t)), 0xffffffff)
                    q := add(q, 0x20)
                }
                {
                    // round 4k+1: (A..H) = (d,a,b,c,h,e,f,g)
                    let a12 := and(or(shl(12, d), shr(20, d)), 0xffffffff)
                    let ss1 := and(add(add(a12, h), t), 0xffffffff)
                    ss1 := and(or(shl(7, ss1), shr(25, ss1)), 0xffffffff)
                    c := add(c, xor(mload(q), mload(add(q, 0x80))))
                    c := and(add(add(c, xor(xor(d, a), b)), xor(ss1, a12)), 0xffffffff)
                    g := and(add(add(g, mload(q)), add(ss1, xor(xor(h, e), f))), 0xffffffff)
                    g := xor(
                        xor(g, and(or(shl(9, g), shr(23, g)), 0xffffffff)),
                        and(or(shl(17, g), shr(15, g)), 0xffffffff)
                    )
                    a := and(or(shl(9, a), shr(23, a)), 0xffffffff)
                    e := and(or(shl(19, e), shr(13, e)), 0xffffffff)
                    t := and(or(shl(1, t), shr(31, t)), 0xffffffff)
                    q := add(q, 0x20)
                }
                {
                    // round 4k+2: (A..H) = (c,d,a,b,g,h,e,f)
                    let a12 := and(or(shl(12, c), shr(20, c)), 0xffffffff)
                    let ss1 := and(add(add(a12, g), t), 0xffffffff)
                    ss1 := and(or(shl(7, ss1), shr(25, ss1)), 0xffffffff)
                    b := add(b, xor(mload(q), mload(add(q, 0x80))))
                    b := and(add(add(b, xor(xor(c, d), a)), xor(ss1, a12)), 0xffffffff)
                    f := and(add(add(f, mload(q)), add(ss1, xor(xor(g, h), e))), 0xffffffff)
                    f := xor(
                        xor(f, and(or(shl(9, f), shr(23, f)), 0xffffffff)),
                        and(or(shl(17, f), shr(15, f)), 0xffffffff)
                    )
                    d := and(or(shl(9, d), shr(23, d)), 0xffffffff)
                    h := and(or(shl(19, h), shr(13, h)), 0xffffffff)
                    t := and(or(shl(1, t), shr(31, t)), 0xffffffff)
                    q := add(q, 0x20)
                }
                {
                    // round 4k+3: (A..H) = (b,c,d,a,f,g,h,e)
                    let a12 := and(or(shl(12, b), shr(20, b)), 0xffffffff)
                    let ss1 := and(add(add(a12, f), t), 0xffffffff)
                    ss1 := and(or(shl(7, ss1), shr(25, ss1)), 0xffffffff)
                    a := add(a, xor(mload(q), mload(add(q, 0x80))))
                    a := and(add(add(a, xor(xor(b, c), d)), xor(ss1, a12)), 0xffffffff)
                    e := and(add(add(e, mload(q)), add(ss1, xor(xor(f, g), h))), 0xffffffff)
                    e := xor(
                        xor(e, and(or(shl(9, e), shr(23, e)), 0xffffffff)),
                        and(or(shl(17, e), shr(15, e)), 0xffffffff)
                    )
                    c := and(or(shl(9, c), shr(23, c)), 0xffffffff)
                    g := and(or(shl(19, g), shr(13, g)), 0xffffffff)
                    t := and(or(shl(1, t), shr(31, t)), 0xffffffff)
                    q := add(q, 0x20)
                }
            }
            // T_j = 7a879d8a for j >= 16, first used rotated by 16.
            t := 0x9d8a7a87
            // rounds 16..63: FF_j = (X & Y) | (X & Z) | (Y & Z), GG_j = (X & Y) | (~X & Z)
            for {} lt(q, add(mload(0x40), 0x800)) {} {
                {
                    // round 4k+0: (A..H) = (a,b,c,d,e,f,g,h)
                    let a12 := and(or(shl(12, a), shr(20, a)), 0xffffffff)
                    let ss1 := and(add(add(a12, e), t), 0xffffffff)
                    ss1 := and(or(shl(7, ss1), shr(25, ss1)), 0xffffffff)
                    d := add(d, xor(mload(q), mload(add(q, 0x80))))
                    d := and(add(add(d, or(and(a, b), and(c, or(a, b)))), xor(ss1, a12)), 0xffffffff)
                    h := and(add(add(h, mload(q)), add(ss1, xor(g, and(e, xor(f, g))))), 0xffffffff)
                    h := xor(
                        xor(h, and(or(shl(9, h), shr(23, h)), 0xffffffff)),
                        and(or(shl(17, h), shr(15, h)), 0xffffffff)
                    )
                    b := and(or(shl(9, b), shr(23, b)), 0xffffffff)
                    f := and(or(shl(19, f), shr(13, f)), 0xffffffff)
                    t := and(or(shl(1, t), shr(31, t)), 0xffffffff)
                    q := add(q, 0x20)
                }
                {
                    // round 4k+1: (A..H) = (d,a,b,c,h,e,f,g)
                    let a12 := and(or(shl(12, d), shr(20, d)), 0xffffffff)
                    let ss1 := and(add(add(a12, h), t), 0xffffffff)
                    ss1 := and(or(shl(7, ss1), shr(25, ss1)), 0xffffffff)
                    c := add(c, xor(mload(q), mload(add(q, 0x80))))
                    c := and(add(add(c, or(and(d, a), and(b, or(d, a)))), xor(ss1, a12)), 0xffffffff)
                    g := and(add(add(g, mload(q)), add(ss1, xor(f, and(h, xor(e, f))))), 0xffffffff)
                    g := xor(
                        xor(g, and(or(shl(9, g), shr(23, g)), 0xffffffff)),
                        and(or(shl(17, g), shr(15, g)), 0xffffffff)
                    )
                    a := and(or(shl(9, a), shr(23, a)), 0xffffffff)
                    e := and(or(shl(19, e), shr(13, e)), 0xffffffff)
                    t := and(or(shl(1, t), shr(31, t)), 0xffffffff)
                    q := add(q, 0x20)
                }
                {
                    // round 4k+2: (A..H) = (c,d,a,b,g,h,e,f)
                    let a12 := and(or(shl(12, c), shr(20, c)), 0xffffffff)
                    let ss1 := and(add(add(a12, g), t), 0xffffffff)
                    ss1 := and(or(shl(7, ss1), shr(25, ss1)), 0xffffffff)
                    b := add(b, xor(mload(q), mload(add(q, 0x80))))
                    b := and(add(add(b, or(and(c, d), and(a, or(c, d)))), xor(ss1, a12)), 0xffffffff)
                    f := and(add(add(f, mload(q)), add(ss1, xor(e, and(g, xor(h, e))))), 0xffffffff)
                    f := xor(
                        xor(f, and(or(shl(9, f), shr(23, f)), 0xffffffff)),
                        and(or(shl(17, f), shr(15, f)), 0xffffffff)
                    )
                    d := and(or(shl(9, d), shr(23, d)), 0xffffffff)
                    h := and(or(shl(19, h), shr(13, h)), 0xffffffff)
                    t := and(or(shl(1, t), shr(31, t)), 0xffffffff)
                    q := add(q, 0x20)
                }
                {
                    // round 4k+3: (A..H) = (b,c,d,a,f,g,h,e)
                    let a12 := and(or(shl(12, b), shr(20, b)), 0xffffffff)
                    let ss1 := and(add(add(a12, f), t), 0xffffffff)
                    ss1 := and(or(shl(7, ss1), shr(25, ss1)), 0xffffffff)
                    a := add(a, xor(mload(q), mload(add(q, 0x80))))
                    a := and(add(add(a, or(and(b, c), and(d, or(b, c)))), xor(ss1, a12)), 0xffffffff)
                    e := and(add(add(e, mload(q)), add(ss1, xor(h, and(f, xor(g, h))))), 0xffffffff)
                    e := xor(
                        xor(e, and(or(shl(9, e), shr(23, e)), 0xffffffff)),
                        and(or(shl(17, e), shr(15, e)), 0xffffffff)
                    )
                    c := and(or(shl(9, c), shr(23, c)), 0xffffffff)
                    g := and(or(shl(19, g), shr(13, g)), 0xffffffff)
                    t := and(or(shl(1, t), shr(31, t)), 0xffffffff)
                    q := add(q, 0x20)
                }
            }
            r := xor(
                v,
                or(
                    or(or(shl(224, a), shl(192, b)), or(shl(160, c), shl(128, d))),
                    or(or(shl(96, e), shl(64, f)), or(shl(32, g), h))
                )
            )
        }
    }
}
