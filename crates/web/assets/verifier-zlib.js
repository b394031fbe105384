// zlib for the credential verifier, as crates/credentials/src/envelope.rs and deflate_end.rs:
// the browser's DecompressionStream inflates; the stored-block fast path and the check that
// no ignored bit is set are done here, so a changed character never inflates to signed bytes.

/** Most bytes a credential may inflate to (a zlib bomb stops here). */
export const MAX_INFLATED_BYTES = 64 * 1024;

function adler32(data) {
  let a = 1;
  let b = 0;
  for (let i = 0; i < data.length; ) {
    const end = Math.min(i + 5552, data.length);
    for (; i < end; i++) {
      a += data[i];
      b += a;
    }
    a %= 65521;
    b %= 65521;
  }
  return ((b << 16) | a) >>> 0;
}

/**
 * zlib inflate of the whole of `data` into at most `limit` bytes, with the browser's
 * DecompressionStream ("deflate" is the zlib format: header, Adler-32 checked).
 */
export async function inflateLimited(data, limit) {
  const stream = new Blob([data]).stream().pipeThrough(new DecompressionStream('deflate'));
  const reader = stream.getReader();
  const chunks = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.length;
    if (total > limit) {
      await reader.cancel().catch(() => {});
      throw new Error('inflates past the limit');
    }
    chunks.push(value);
  }
  const out = new Uint8Array(total);
  let pos = 0;
  for (const c of chunks) {
    out.set(c, pos);
    pos += c.length;
  }
  return out;
}

/**
 * The fast path for what we issue (stored blocks only), exactly as the Rust verifier: the
 * header, every block, then exactly the Adler-32. `null` when a compressed block appears.
 */
function inflateStored(data) {
  if (data.length < 2) throw new Error('short');
  const [cmf, flg] = data;
  if ((cmf & 0x0f) !== 8 || cmf >> 4 > 7 || ((cmf << 8) | flg) % 31 !== 0 || flg & 0x20) throw new Error('zlib header');
  let pos = 2;
  const blocks = [];
  let total = 0;
  for (;;) {
    if (pos >= data.length) return null;
    const header = data[pos];
    if (header > 1) return null;
    if (pos + 5 > data.length) throw new Error('truncated');
    const len = data[pos + 1] | (data[pos + 2] << 8);
    const nlen = data[pos + 3] | (data[pos + 4] << 8);
    if (len !== (~nlen & 0xffff)) throw new Error('stored length');
    const start = pos + 5;
    if (start + len > data.length) throw new Error('truncated');
    total += len;
    if (total > MAX_INFLATED_BYTES) throw new Error('too large');
    blocks.push(data.subarray(start, start + len));
    pos = start + len;
    if (header === 1) break;
  }
  const out = new Uint8Array(total);
  let at = 0;
  for (const b of blocks) {
    out.set(b, at);
    at += b.length;
  }
  const adler = adler32(out);
  const want = [adler >>> 24, (adler >>> 16) & 0xff, (adler >>> 8) & 0xff, adler & 0xff];
  if (data.length - pos !== 4 || !want.every((b, k) => data[pos + k] === b)) throw new Error('adler');
  return out;
}

/** zlib, bounded, whole input consumed and canonical (see deflate-end below). */
export async function inflate(data) {
  const stored = inflateStored(data);
  if (stored) return stored;
  const out = await inflateLimited(data, MAX_INFLATED_BYTES);
  if (data.length < 6 || !isCanonicalEnd(data.subarray(2, data.length - 4))) throw new Error('not canonical');
  return out;
}

// deflate-end: where a deflate stream ends, to the bit (after puff.c), as
// crates/credentials/src/deflate_end.rs. Decoders ignore the bits padding the last byte and
// those skipped before a stored block, so a stream with any of them set inflates like one
// without: a changed payload character could still verify. Those bits must be zero.
const LEN_EXTRA = [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0];
const DIST_EXTRA = [0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13];
const CODE_LENGTH_ORDER = [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15];
const END = new Error('end of data');

export function isCanonicalEnd(deflate) {
  try {
    return walk(deflate);
  } catch {
    return false;
  }
}

function walk(data) {
  const bits = { pos: 0, buf: 0, cnt: 0 };
  const take = (need) => {
    let val = bits.buf;
    while (bits.cnt < need) {
      if (bits.pos >= data.length) throw END;
      val |= data[bits.pos++] << bits.cnt;
      bits.cnt += 8;
    }
    bits.buf = val >>> need;
    bits.cnt -= need;
    return val & ((1 << need) - 1);
  };
  const huffman = (lengths, singleOk) => {
    const count = new Array(16).fill(0);
    for (const l of lengths) count[l]++;
    let left = 1;
    for (let len = 1; len <= 15; len++) {
      left = (left << 1) - count[len];
      if (left < 0) return null;
    }
    let max = 0;
    for (let len = 15; len >= 1; len--) if (count[len]) { max = len; break; }
    if (left > 0 && !(singleOk && max <= 1)) return null;
    const offs = new Array(17).fill(0);
    for (let len = 1; len <= 15; len++) offs[len + 1] = offs[len] + count[len];
    const symbol = new Array(lengths.length).fill(0);
    lengths.forEach((l, sym) => {
      if (l) symbol[offs[l]++] = sym;
    });
    return { count, symbol };
  };
  const decode = (h) => {
    let code = 0;
    let first = 0;
    let index = 0;
    for (let len = 1; len <= 15; len++) {
      code |= take(1);
      const count = h.count[len];
      if (code - count < first) {
        const s = h.symbol[index + (code - first)];
        if (s === undefined) throw END;
        return s;
      }
      index += count;
      first = (first + count) << 1;
      code <<= 1;
    }
    throw END;
  };
  const codes = (lit, dist) => {
    for (;;) {
      const sym = decode(lit);
      if (sym < 256) continue;
      if (sym === 256) return;
      const le = LEN_EXTRA[sym - 257];
      if (le === undefined) throw END;
      take(le);
      const de = DIST_EXTRA[decode(dist)];
      if (de === undefined) throw END;
      take(de);
    }
  };
  for (;;) {
    const last = take(1) === 1;
    const type = take(2);
    if (type === 0) {
      if (bits.buf !== 0) return false;
      bits.buf = 0;
      bits.cnt = 0;
      if (bits.pos + 4 > data.length) return false;
      const len = data[bits.pos] | (data[bits.pos + 1] << 8);
      const nlen = data[bits.pos + 2] | (data[bits.pos + 3] << 8);
      if (len !== (~nlen & 0xffff)) return false;
      bits.pos += 4;
      if (bits.pos + len > data.length) return false;
      bits.pos += len;
    } else if (type === 1) {
      const lengths = new Array(288).fill(8, 0, 144).fill(9, 144, 256).fill(7, 256, 280).fill(8, 280);
      codes(huffman(lengths, true), huffman(new Array(32).fill(5), true));
    } else if (type === 2) {
      const nlen = take(5) + 257;
      const ndist = take(5) + 1;
      const ncode = take(4) + 4;
      if (nlen > 286 || ndist > 30) return false;
      const lengths = new Array(320).fill(0);
      for (const slot of CODE_LENGTH_ORDER.slice(0, ncode)) lengths[slot] = take(3);
      const cl = huffman(lengths.slice(0, 19), false);
      if (!cl) return false;
      let index = 0;
      while (index < nlen + ndist) {
        const sym = decode(cl);
        let value;
        let repeat;
        if (sym <= 15) [value, repeat] = [sym, 1];
        else if (sym === 16) {
          if (index === 0) return false;
          [value, repeat] = [lengths[index - 1], 3 + take(2)];
        } else if (sym === 17) [value, repeat] = [0, 3 + take(3)];
        else if (sym === 18) [value, repeat] = [0, 11 + take(7)];
        else return false;
        if (index + repeat > nlen + ndist) return false;
        lengths.fill(value, index, index + repeat);
        index += repeat;
      }
      if (lengths[256] === 0) return false;
      const lit = huffman(lengths.slice(0, nlen), true);
      const dist = huffman(lengths.slice(nlen, nlen + ndist), true);
      if (!lit || !dist) return false;
      codes(lit, dist);
    } else {
      return false;
    }
    if (last) break;
  }
  return bits.buf === 0 && bits.pos === data.length;
}
