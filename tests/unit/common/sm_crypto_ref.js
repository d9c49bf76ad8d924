// Reference answers of the npm sm-crypto package (an independent JavaScript SM2/SM3/SM4, the one
// browsers use) for the cross-check in test_gm_primitives.py. Usage: node sm_crypto_ref.js <in.json>
// in.json (all byte strings hex):
//   {"sm3": [msg, ...],
//    "derive": [privateKey, ...],
//    "sign": [{"private": d, "message": m}, ...],
//    "verify": [{"public": 04xy or xy, "message": m, "signature": r||s}, ...],
//    "sm4_ecb": [{"key": k, "block": 16 bytes}, ...]}
// Prints {"sm3": [digest], "derive": [04xy], "sign": [r||s], "verify": [bool], "sm4_ecb": [block]}.
// Signatures use SM3(Z || message) with the default signer ID 1234567812345678 (hash: true).
'use strict';
const fs = require('fs');
const path = require('path');
const { sm2, sm3, sm4 } = require(path.join(__dirname, '..', '..', '..', 'node_modules', 'sm-crypto'));

const bytes = hex => Array.from(Buffer.from(hex, 'hex'));
const hex = arr => Buffer.from(arr).toString('hex');
const USER_ID = '1234567812345678';

const input = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const out = {
  sm3: (input.sm3 || []).map(m => sm3(bytes(m))),
  derive: (input.derive || []).map(d => sm2.getPublicKeyFromPrivateKey(d)),
  sign: (input.sign || []).map(({ private: d, message }) => sm2.doSignature(bytes(message), d, {
    hash: true, der: false, userId: USER_ID, publicKey: sm2.getPublicKeyFromPrivateKey(d),
  })),
  verify: (input.verify || []).map(({ public: q, message, signature }) => sm2.doVerifySignature(
    bytes(message), signature, q, { hash: true, der: false, userId: USER_ID },
  )),
  sm4_ecb: (input.sm4_ecb || []).map(({ key, block }) => hex(sm4.encrypt(bytes(block), key, {
    padding: 'none', output: 'array',
  }))),
};
process.stdout.write(JSON.stringify(out));
