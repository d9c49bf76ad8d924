// Strict zlib (RFC 1950) + DEFLATE (RFC 1951) decoder for HR1 codes: a port of Mark Adler's
// puff.c (zlib/contrib/puff), the reference inflater written for clarity and strictness.
//
// Why hand-written and not a vendored inflater: HR1 (docs/spec/hr1-format.md §3) refuses what
// zlib refuses — a bad header or Adler-32, a preset dictionary, a stream that ends early, any
// byte after the stream, output over 8,192 bytes — and fflate, the usual small choice, neither
// checks the Adler-32 nor says where the DEFLATE data ended. puff accepts exactly the streams
// zlib accepts (incomplete Huffman codes only for a single length-1 code, as zlib) and is about
// 250 lines. No I/O.

class InflateError extends Error {}

const MAXBITS = 15;
const MAXLCODES = 286;
const MAXDCODES = 30;
const FIXLCODES = 288;
const LBASE = [3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195,
  227, 258];
const LEXT = [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0];
const DBASE = [1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073,
  4097, 6145, 8193, 12289, 16385, 24577];
const DEXT = [0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13];
const ORDER = [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15];

class State {
  constructor(input, limit) {
    this.input = input;
    this.inPos = 0;
    this.bitBuf = 0;
    this.bitCnt = 0;
    this.out = new Uint8Array(limit);
    this.outPos = 0;
    this.limit = limit;
  }

  bits(need) {
    let val = this.bitBuf;
    while (this.bitCnt < need) {
      if (this.inPos >= this.input.length) throw new InflateError('truncated zlib data');
      val |= this.input[this.inPos++] << this.bitCnt;
      this.bitCnt += 8;
    }
    this.bitBuf = val >>> need;
    this.bitCnt -= need;
    return val & ((1 << need) - 1);
  }

  put(byte) {
    if (this.outPos >= this.limit) throw new InflateError('inflated data too large');
    this.out[this.outPos++] = byte;
  }
}

function stored(s) {
  s.bitBuf = 0;
  s.bitCnt = 0;
  if (s.inPos + 4 > s.input.length) throw new InflateError('truncated zlib data');
  const len = s.input[s.inPos] | (s.input[s.inPos + 1] << 8);
  const nlen = s.input[s.inPos + 2] | (s.input[s.inPos + 3] << 8);
  s.inPos += 4;
  if (len !== (~nlen & 0xffff)) throw new InflateError('stored block length check');
  if (s.inPos + len > s.input.length) throw new InflateError('truncated zlib data');
  for (let i = 0; i < len; i++) s.put(s.input[s.inPos++]);
}

function decodeSym(s, h) {
  let code = 0;
  let first = 0;
  let index = 0;
  for (let len = 1; len <= MAXBITS; len++) {
    code |= s.bits(1);
    const count = h.count[len];
    if (code - count < first) return h.symbol[index + (code - first)];
    index += count;
    first += count;
    first <<= 1;
    code <<= 1;
  }
  throw new InflateError('invalid Huffman code');
}

// Returns 0 for a complete code, > 0 for an incomplete one, < 0 for an over-subscribed one.
function construct(h, lengths, n) {
  h.count.fill(0);
  for (let s = 0; s < n; s++) h.count[lengths[s]]++;
  if (h.count[0] === n) return 0;
  let left = 1;
  for (let len = 1; len <= MAXBITS; len++) {
    left <<= 1;
    left -= h.count[len];
    if (left < 0) return left;
  }
  const offs = new Array(MAXBITS + 1).fill(0);
  for (let len = 1; len < MAXBITS; len++) offs[len + 1] = offs[len] + h.count[len];
  for (let s = 0; s < n; s++) if (lengths[s] !== 0) h.symbol[offs[lengths[s]]++] = s;
  return left;
}

function huffman(size) {
  return { count: new Array(MAXBITS + 1).fill(0), symbol: new Array(size).fill(0) };
}

function codes(s, lencode, distcode) {
  for (;;) {
    let symbol = decodeSym(s, lencode);
    if (symbol < 256) {
      s.put(symbol);
    } else if (symbol > 256) {
      symbol -= 257;
      if (symbol >= 29) throw new InflateError('invalid fixed code');
      const len = LBASE[symbol] + s.bits(LEXT[symbol]);
      const dsym = decodeSym(s, distcode);
      if (dsym >= 30) throw new InflateError('invalid distance symbol');
      const dist = DBASE[dsym] + s.bits(DEXT[dsym]);
      if (dist > s.outPos) throw new InflateError('distance too far back');
      for (let i = 0; i < len; i++) s.put(s.out[s.outPos - dist]);
    } else {
      return;
    }
  }
}

let fixedTables = null;
function fixed(s) {
  if (fixedTables === null) {
    const lengths = new Array(FIXLCODES);
    let sym = 0;
    for (; sym < 144; sym++) lengths[sym] = 8;
    for (; sym < 256; sym++) lengths[sym] = 9;
    for (; sym < 280; sym++) lengths[sym] = 7;
    for (; sym < FIXLCODES; sym++) lengths[sym] = 8;
    const lencode = huffman(FIXLCODES);
    construct(lencode, lengths, FIXLCODES);
    const dl = new Array(MAXDCODES).fill(5);
    const distcode = huffman(MAXDCODES);
    construct(distcode, dl, MAXDCODES);
    fixedTables = { lencode, distcode };
  }
  codes(s, fixedTables.lencode, fixedTables.distcode);
}

function dynamic(s) {
  const nlen = s.bits(5) + 257;
  const ndist = s.bits(5) + 1;
  const ncode = s.bits(4) + 4;
  if (nlen > MAXLCODES || ndist > MAXDCODES) throw new InflateError('bad counts');
  const lengths = new Array(MAXLCODES + MAXDCODES).fill(0);
  for (let i = 0; i < ncode; i++) lengths[ORDER[i]] = s.bits(3);
  const lencode = huffman(MAXLCODES);
  const distcode = huffman(MAXDCODES);
  if (construct(lencode, lengths, 19) !== 0) throw new InflateError('incomplete code-length code');
  let index = 0;
  while (index < nlen + ndist) {
    let symbol = decodeSym(s, lencode);
    if (symbol < 16) {
      lengths[index++] = symbol;
    } else {
      let len = 0;
      if (symbol === 16) {
        if (index === 0) throw new InflateError('repeat with no first length');
        len = lengths[index - 1];
        symbol = 3 + s.bits(2);
      } else if (symbol === 17) {
        symbol = 3 + s.bits(3);
      } else {
        symbol = 11 + s.bits(7);
      }
      if (index + symbol > nlen + ndist) throw new InflateError('too many lengths');
      while (symbol--) lengths[index++] = len;
    }
  }
  if (lengths[256] === 0) throw new InflateError('no end-of-block code');
  let err = construct(lencode, lengths, nlen);
  if (err && (err < 0 || nlen !== lencode.count[0] + lencode.count[1])) {
    throw new InflateError('incomplete literal/length code');
  }
  err = construct(distcode, lengths.slice(nlen), ndist);
  if (err && (err < 0 || ndist !== distcode.count[0] + distcode.count[1])) {
    throw new InflateError('incomplete distance code');
  }
  codes(s, lencode, distcode);
}

function adler32(data) {
  let a = 1;
  let b = 0;
  for (let i = 0; i < data.length; i++) {
    a = (a + data[i]) % 65521;
    b = (b + a) % 65521;
  }
  return ((b << 16) | a) >>> 0;
}

/**
 * Inflate one complete zlib stream that makes up all of `input`; at most `limit` bytes out.
 * Throws InflateError for anything zlib would refuse, a stream that ends early, trailing
 * bytes, or more than `limit` bytes of output.
 */
export function inflateZlib(input, limit) {
  if (input.length < 2) throw new InflateError('truncated zlib data');
  const cmf = input[0];
  const flg = input[1];
  if ((cmf & 0x0f) !== 8 || (cmf >> 4) > 7 || ((cmf << 8) | flg) % 31 !== 0) {
    throw new InflateError('bad zlib header');
  }
  if (flg & 0x20) throw new InflateError('preset dictionary');
  const s = new State(input, limit);
  s.inPos = 2;
  let last;
  do {
    last = s.bits(1);
    const type = s.bits(2);
    if (type === 0) stored(s);
    else if (type === 1) fixed(s);
    else if (type === 2) dynamic(s);
    else throw new InflateError('invalid block type');
  } while (!last);
  if (s.inPos + 4 > input.length) throw new InflateError('truncated zlib data');
  const check = ((input[s.inPos] << 24) | (input[s.inPos + 1] << 16) | (input[s.inPos + 2] << 8)
    | input[s.inPos + 3]) >>> 0;
  const out = s.out.subarray(0, s.outPos);
  if (check !== adler32(out)) throw new InflateError('incorrect Adler-32');
  if (s.inPos + 4 !== input.length) throw new InflateError('bytes after the zlib stream');
  return out;
}

export { InflateError };
