//! Finds where a deflate stream ends, to the bit, without producing output (after Mark
//! Adler's `puff.c`). Used to refuse non-canonical streams: decoders ignore the bits that
//! pad the last byte (and the bits skipped before a stored block), so a stream with any of
//! those bits set decodes like the one without, and a changed payload character could still
//! verify. Runs only on streams `flate2` has already inflated, but stays bounds-checked:
//! any doubt is a refusal.

const MAX_BITS: usize = 15;
const LEN_EXTRA: [u8; 29] = [
    0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0,
];
const DIST_EXTRA: [u8; 30] = [
    0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13,
    13,
];
const CODE_LENGTH_ORDER: [usize; 19] = [
    16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15,
];

/// True when `deflate` (raw, without the zlib header and trailer) is exactly one complete
/// stream and every bit it leaves unused is zero.
pub(crate) fn is_canonical_end(deflate: &[u8]) -> bool {
    walk(deflate).is_some()
}

fn walk(deflate: &[u8]) -> Option<()> {
    let mut bits = Bits {
        data: deflate,
        pos: 0,
        buf: 0,
        cnt: 0,
    };
    loop {
        let last = bits.take(1)? == 1;
        match bits.take(2)? {
            0 => stored(&mut bits)?,
            1 => {
                let (lit, dist) = fixed_tables();
                codes(&mut bits, &lit, &dist)?;
            }
            2 => dynamic(&mut bits)?,
            _ => return None,
        }
        if last {
            break;
        }
    }
    // The padding bits of the last byte must be zero and nothing may follow.
    (bits.buf == 0 && bits.pos == deflate.len()).then_some(())
}

struct Bits<'a> {
    data: &'a [u8],
    pos: usize,
    buf: u32,
    cnt: u32,
}

impl Bits<'_> {
    /// The next `need` (≤ 16) bits, least significant first.
    fn take(&mut self, need: u32) -> Option<u32> {
        let mut val = self.buf;
        while self.cnt < need {
            let byte = *self.data.get(self.pos)?;
            self.pos += 1;
            val |= u32::from(byte) << self.cnt;
            self.cnt += 8;
        }
        self.buf = val >> need;
        self.cnt -= need;
        Some(val & ((1u32 << need) - 1))
    }
}

fn stored(bits: &mut Bits<'_>) -> Option<()> {
    // The skipped bits up to the byte boundary must be zero too.
    if bits.buf != 0 {
        return None;
    }
    bits.buf = 0;
    bits.cnt = 0;
    let header = bits.data.get(bits.pos..bits.pos + 4)?;
    let len = u16::from_le_bytes([header[0], header[1]]);
    let nlen = u16::from_le_bytes([header[2], header[3]]);
    if len != !nlen {
        return None;
    }
    bits.pos += 4;
    bits.data.get(bits.pos..bits.pos + usize::from(len))?;
    bits.pos += usize::from(len);
    Some(())
}

/// A canonical Huffman code: how many codes of each length, and the symbols in code order.
struct Huffman {
    count: [u16; MAX_BITS + 1],
    symbol: Vec<u16>,
}

impl Huffman {
    /// Builds the code for `lengths` (each ≤ 15). Like zlib's `inflate_table`, refuses
    /// over-subscribed sets and incomplete ones, except for literal/length and distance
    /// codes (`single_ok`) that are empty or a single code of one bit. Incomplete sets are
    /// the other way to change bits without changing the output: a length given to a
    /// symbol that is never used.
    fn new(lengths: &[u8], single_ok: bool) -> Option<Self> {
        let mut count = [0u16; MAX_BITS + 1];
        for &l in lengths {
            count[usize::from(l)] += 1;
        }
        let mut left: i32 = 1;
        for &c in &count[1..] {
            left = (left << 1) - i32::from(c);
            if left < 0 {
                return None;
            }
        }
        let max = (1..=MAX_BITS).rev().find(|&l| count[l] != 0).unwrap_or(0);
        if left > 0 && !(single_ok && max <= 1) {
            return None;
        }
        let mut offs = [0u16; MAX_BITS + 2];
        for len in 1..=MAX_BITS {
            offs[len + 1] = offs[len] + count[len];
        }
        let mut symbol = vec![0u16; lengths.len()];
        for (sym, &l) in lengths.iter().enumerate() {
            if l != 0 {
                let slot = &mut offs[usize::from(l)];
                symbol[usize::from(*slot)] = sym as u16;
                *slot += 1;
            }
        }
        Some(Self { count, symbol })
    }

    fn decode(&self, bits: &mut Bits<'_>) -> Option<u16> {
        let (mut code, mut first, mut index) = (0i32, 0i32, 0i32);
        for len in 1..=MAX_BITS {
            code |= bits.take(1)? as i32;
            let count = i32::from(self.count[len]);
            if code - count < first {
                return self.symbol.get((index + (code - first)) as usize).copied();
            }
            index += count;
            first = (first + count) << 1;
            code <<= 1;
        }
        None
    }
}

fn fixed_tables() -> (Huffman, Huffman) {
    let mut lengths = [0u8; 288];
    lengths[..144].fill(8);
    lengths[144..256].fill(9);
    lengths[256..280].fill(7);
    lengths[280..].fill(8);
    let lit = Huffman::new(&lengths, true);
    // 32 five-bit codes (30 and 31 are invalid symbols, refused when decoded).
    let dist = Huffman::new(&[5u8; 32], true);
    // Both fixed sets are complete codes; construction cannot fail.
    (
        lit.unwrap_or(Huffman {
            count: [0; MAX_BITS + 1],
            symbol: Vec::new(),
        }),
        dist.unwrap_or(Huffman {
            count: [0; MAX_BITS + 1],
            symbol: Vec::new(),
        }),
    )
}

fn dynamic(bits: &mut Bits<'_>) -> Option<()> {
    let nlen = bits.take(5)? as usize + 257;
    let ndist = bits.take(5)? as usize + 1;
    let ncode = bits.take(4)? as usize + 4;
    if nlen > 286 || ndist > 30 {
        return None;
    }
    let mut lengths = [0u8; 320];
    for &slot in &CODE_LENGTH_ORDER[..ncode] {
        lengths[slot] = bits.take(3)? as u8;
    }
    let code_lengths = Huffman::new(&lengths[..19], false)?;
    let mut index = 0;
    while index < nlen + ndist {
        let sym = code_lengths.decode(bits)?;
        let (value, repeat) = match sym {
            0..=15 => (sym as u8, 1),
            16 => (
                *lengths.get(index.checked_sub(1)?)?,
                3 + bits.take(2)? as usize,
            ),
            17 => (0, 3 + bits.take(3)? as usize),
            18 => (0, 11 + bits.take(7)? as usize),
            _ => return None,
        };
        if index + repeat > nlen + ndist {
            return None;
        }
        lengths[index..index + repeat].fill(value);
        index += repeat;
    }
    if lengths[256] == 0 {
        return None; // no end-of-block code
    }
    let lit = Huffman::new(&lengths[..nlen], true)?;
    let dist = Huffman::new(&lengths[nlen..nlen + ndist], true)?;
    codes(bits, &lit, &dist)
}

fn codes(bits: &mut Bits<'_>, lit: &Huffman, dist: &Huffman) -> Option<()> {
    loop {
        let sym = lit.decode(bits)?;
        match sym {
            0..=255 => {}
            256 => return Some(()),
            _ => {
                let extra = *LEN_EXTRA.get(usize::from(sym - 257))?;
                bits.take(u32::from(extra))?;
                let d = dist.decode(bits)?;
                let extra = *DIST_EXTRA.get(usize::from(d))?;
                bits.take(u32::from(extra))?;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::Compression;
    use std::io::Write;

    fn inflate(stream: &[u8]) -> Option<Vec<u8>> {
        let mut out = Vec::new();
        let mut z = flate2::write::DeflateDecoder::new(&mut out);
        z.write_all(stream).ok()?;
        z.finish().ok()?;
        Some(out)
    }

    fn deflate(data: &[u8], level: u32) -> Vec<u8> {
        let mut z = flate2::write::DeflateEncoder::new(Vec::new(), Compression::new(level));
        z.write_all(data).unwrap();
        z.finish().unwrap()
    }

    /// Every stream the encoder writes (stored, fixed, dynamic blocks) is canonical, and
    /// setting any unused high bit of its last byte makes it not.
    #[test]
    fn encoder_output_is_canonical_and_padding_is_caught() {
        let mut lcg = crate::Lcg(7);
        let mut padded_cases = 0;
        for n in [0usize, 1, 2, 5, 17, 100, 300, 1000, 5000, 70_000] {
            for level in [0, 1, 6, 9] {
                let data: Vec<u8> = (0..n)
                    .map(|i| {
                        let r = lcg.next_u32();
                        if i % 3 == 0 {
                            b'a'
                        } else {
                            (r >> 24) as u8 % 16
                        }
                    })
                    .collect();
                let stream = deflate(&data, level);
                assert!(is_canonical_end(&stream), "n={n} level={level}");
                let mut trailing = stream.clone();
                trailing.push(0);
                assert!(!is_canonical_end(&trailing), "trailing n={n} level={level}");
                // If setting the top bit of the last byte changes nothing for a decoder, the
                // bit was padding: the walker must refuse it.
                let mut bad = stream.clone();
                *bad.last_mut().unwrap() |= 0x80;
                if bad != stream && inflate(&bad).is_some_and(|out| out == data) {
                    padded_cases += 1;
                    assert!(!is_canonical_end(&bad), "padding n={n} level={level}");
                }
            }
        }
        assert!(padded_cases > 5);
    }

    #[test]
    fn garbage_never_panics() {
        let mut lcg = crate::Lcg(1);
        for len in 0..400 {
            let data = lcg.bytes(len);
            let _ = is_canonical_end(&data);
        }
    }
}
