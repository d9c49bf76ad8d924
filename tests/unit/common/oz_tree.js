// Reference output of OpenZeppelin's @openzeppelin/merkle-tree for the Python cross-check
// (test_merkle_openzeppelin.py). Usage: node oz_tree.js <cases.json>
// cases.json: [{"values": ["0x..32 bytes..", ...], "multiproof": [valueIndex, ...]}, ...]
// Prints one JSON array with, per case: root, proofs (one per value index), the multiproof
// for the given indices, and the tree's standard-v1 dump.
'use strict';
const fs = require('fs');
const path = require('path');
const { StandardMerkleTree } = require(
  path.join(__dirname, '..', '..', '..', 'node_modules', '@openzeppelin', 'merkle-tree'),
);

const cases = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const out = cases.map(({ values, multiproof }) => {
  const tree = StandardMerkleTree.of(values.map(v => [v]), ['bytes32']);
  const mp = tree.getMultiProof(multiproof);
  return {
    root: tree.root,
    proofs: values.map((_, i) => tree.getProof(i)),
    multiproof: { leaves: mp.leaves.map(l => l[0]), proof: mp.proof, proofFlags: mp.proofFlags },
    dump: tree.dump(),
  };
});
process.stdout.write(JSON.stringify(out));
