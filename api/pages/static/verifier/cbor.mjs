// Strict decoder of canonical CBOR (RFC 8949) as HR1 uses it (docs/spec/hr1-format.md §4).
//
// Why hand-written: HR1 accepts exactly one encoding per content (the reference re-encodes
// what it read and compares), so a decoder must refuse every non-shortest integer, length or
// float, indefinite lengths, tags, unsorted or duplicate map keys and invalid UTF-8. General
// CBOR libraries accept all of these by design; checking them inside a 150-line decoder is
// simpler to review than wrapping one. Only what HR1 can carry is accepted: integers, byte and
// text strings, arrays, maps with text keys, false/true/null and finite floats.
//
// Values: unsigned/negative integers are JS numbers when within ±(2^53 - 1), else BigInt;
// floats are `CborFloat` (so 1.0 stays a float, never the integer 1); byte strings
// Uint8Array; maps `Map` with string keys, in encoded order.

export class CborError extends Error {}

export class CborFloat {
  constructor(value) {
    this.value = value;
  }
}

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

function halfToNumber(bits) {
  const sign = bits & 0x8000 ? -1 : 1;
  const exp = (bits >> 10) & 0x1f;
  const frac = bits & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 31) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

// True if `x` (finite) is exactly a half-precision value that the reference encoder writes as
// a half: the reference (cbor2's C encoder) writes halves only below 32768 in magnitude;
// 32768 <= |x| <= 65504 go out as single precision.
export function canonicalHalf(x) {
  const a = Math.abs(x);
  if (a === 0) return true;
  if (a >= 32768) return false;
  if (a < 2 ** -14) return Number.isInteger(a / 2 ** -24);
  for (let e = 14; e >= -14; e--) {
    if (a >= 2 ** e) return Number.isInteger(a / 2 ** (e - 10));
  }
  return false;
}

class Reader {
  constructor(bytes) {
    this.b = bytes;
    this.pos = 0;
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  need(n) {
    if (this.pos + n > this.b.length) throw new CborError('truncated CBOR');
  }

  // The argument of a head: shortest form required; BigInt only for 8-byte arguments.
  argument(info) {
    if (info < 24) return info;
    if (info === 24) {
      this.need(1);
      const v = this.b[this.pos++];
      if (v < 24) throw new CborError('non-shortest argument');
      return v;
    }
    if (info === 25) {
      this.need(2);
      const v = this.view.getUint16(this.pos);
      this.pos += 2;
      if (v < 0x100) throw new CborError('non-shortest argument');
      return v;
    }
    if (info === 26) {
      this.need(4);
      const v = this.view.getUint32(this.pos);
      this.pos += 4;
      if (v < 0x10000) throw new CborError('non-shortest argument');
      return v;
    }
    if (info === 27) {
      this.need(8);
      const v = this.view.getBigUint64(this.pos);
      this.pos += 8;
      if (v < 0x100000000n) throw new CborError('non-shortest argument');
      return v;
    }
    throw new CborError(info === 31 ? 'indefinite length' : 'reserved additional information');
  }

  length(info) {
    const n = this.argument(info);
    if (typeof n === 'bigint' || n > this.b.length) throw new CborError('length beyond the data');
    return n;
  }

  item(depth) {
    if (depth > 64) throw new CborError('nested too deep');
    this.need(1);
    const start = this.pos;
    const head = this.b[this.pos++];
    const major = head >> 5;
    const info = head & 0x1f;
    switch (major) {
      case 0:
      case 1: {
        const n = this.argument(info);
        const big = major === 0 ? BigInt(n) : -1n - BigInt(n);
        return (big <= MAX_SAFE && big >= -MAX_SAFE) ? Number(big) : big;
      }
      case 2: {
        const n = this.length(info);
        this.need(n);
        const out = this.b.slice(this.pos, this.pos + n);
        this.pos += n;
        return out;
      }
      case 3: {
        const n = this.length(info);
        this.need(n);
        let text;
        try {
          text = utf8.decode(this.b.subarray(this.pos, this.pos + n));
        } catch {
          throw new CborError('a text string is not valid UTF-8');
        }
        this.pos += n;
        return text;
      }
      case 4: {
        const n = this.length(info);
        const out = [];
        for (let i = 0; i < n; i++) out.push(this.item(depth + 1));
        return out;
      }
      case 5: {
        const n = this.length(info);
        const out = new Map();
        let previous = null;
        for (let i = 0; i < n; i++) {
          const keyStart = this.pos;
          const key = this.item(depth + 1);
          if (typeof key !== 'string') throw new CborError('map keys must be text');
          const encoded = this.b.subarray(keyStart, this.pos);
          if (previous !== null && compareKeys(previous, encoded) >= 0) {
            throw new CborError('map keys unsorted or duplicated');
          }
          previous = encoded;
          out.set(key, this.item(depth + 1));
        }
        return out;
      }
      case 6:
        throw new CborError('tags are not allowed');
      default:
        return this.simple(info, start);
    }
  }

  simple(info) {
    if (info === 20) return false;
    if (info === 21) return true;
    if (info === 22) return null;
    let value;
    if (info === 25) {
      this.need(2);
      value = halfToNumber(this.view.getUint16(this.pos));
      this.pos += 2;
      if (Number.isFinite(value) && !canonicalHalf(value)) throw new CborError('non-canonical half float');
    } else if (info === 26) {
      this.need(4);
      value = this.view.getFloat32(this.pos);
      this.pos += 4;
      if (Number.isFinite(value) && canonicalHalf(value)) throw new CborError('non-shortest float');
    } else if (info === 27) {
      this.need(8);
      value = this.view.getFloat64(this.pos);
      this.pos += 8;
      if (Number.isFinite(value) && Math.fround(value) === value) throw new CborError('non-shortest float');
    } else {
      throw new CborError('simple value not allowed');
    }
    if (!Number.isFinite(value)) throw new CborError('NaN or infinity');
    return new CborFloat(value);
  }
}

// Canonical order of encoded keys: shorter first, then bytewise (for text keys this is also
// plain bytewise order of the encodings).
function compareKeys(a, b) {
  if (a.length !== b.length) return a.length - b.length;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i] - b[i];
  return 0;
}

/** Exactly one canonical CBOR item filling all of `bytes`; CborError otherwise. */
export function decodeCanonical(bytes) {
  const r = new Reader(bytes);
  const item = r.item(0);
  if (r.pos !== bytes.length) throw new CborError('bytes after the CBOR item');
  return item;
}
