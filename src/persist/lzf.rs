//! LZF compression of RDB strings (Redis's `lzf_compress` format).
//!
//! Our own compressor: the `lzf` crate's one indexes past its buffers on
//! some inputs (a master panicked in `lzf::compress` while writing a full
//! sync payload). Reading stays with the crate's `decompress`, which checks
//! every offset. The format, which any LZF decoder reads:
//! - a literal run: `000LLLLL` then L+1 bytes (1 to 32);
//! - a back reference of n = 3..=264 bytes at distance d = 1..=8192:
//!   `LLLooooo` with LLL = n-2 (7 meaning "n-9 in the next byte"), then
//!   the low 8 bits of d-1; the high 5 bits of d-1 are `ooooo`.

const MAX_LIT: usize = 32;
const MAX_DIST: usize = 8192;
const MAX_REF: usize = 264;

/// `input` compressed, or None when the result would not be shorter.
pub fn compress(input: &[u8]) -> Option<Vec<u8>> {
    let n = input.len();
    if n < 4 {
        return None;
    }
    // One slot per 3-byte hash, holding the last position + 1 that had it;
    // sized by the input so that short strings stay cheap.
    let bits = (usize::BITS - n.leading_zeros()).clamp(4, 14);
    let mask = (1usize << bits) - 1;
    let mut table = vec![0u32; 1 << bits];
    let hash = |i: usize| {
        let v = u32::from(input[i]) << 16 | u32::from(input[i + 1]) << 8 | u32::from(input[i + 2]);
        (v.wrapping_mul(0x9E37_79B1) >> (32 - bits)) as usize & mask
    };
    let mut out = Vec::with_capacity(n);
    let mut lit = 0; // start of the literals not written yet
    let mut i = 0;
    while i + 3 <= n {
        let h = hash(i);
        let cand = table[h] as usize;
        table[h] = i as u32 + 1;
        if cand > 0 {
            let r = cand - 1;
            let dist = i - r;
            if dist <= MAX_DIST && input[r..r + 3] == input[i..i + 3] {
                let max = (n - i).min(MAX_REF);
                let mut len = 3;
                while len < max && input[r + len] == input[i + len] {
                    len += 1;
                }
                literals(&mut out, &input[lit..i]);
                let (code, off) = (len - 2, dist - 1);
                if code < 7 {
                    out.push((code << 5 | off >> 8) as u8);
                } else {
                    out.push((7 << 5 | off >> 8) as u8);
                    out.push((code - 7) as u8);
                }
                out.push(off as u8);
                i += len;
                lit = i;
                if out.len() >= n {
                    return None;
                }
                continue;
            }
        }
        i += 1;
    }
    literals(&mut out, &input[lit..]);
    (out.len() < n).then_some(out)
}

fn literals(out: &mut Vec<u8>, bytes: &[u8]) {
    for run in bytes.chunks(MAX_LIT) {
        out.push((run.len() - 1) as u8);
        out.extend_from_slice(run);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roundtrip(s: &[u8]) {
        if let Some(c) = compress(s) {
            assert!(c.len() < s.len());
            assert_eq!(lzf::decompress(&c, s.len()).unwrap(), s, "{s:?}");
        }
    }

    #[test]
    fn compresses_repetition_and_reads_back() {
        let s = b"abcabcabcabcabcabcabcabcabcabcabcabc".repeat(20);
        let c = compress(&s).unwrap();
        assert!(c.len() < s.len() / 4, "{}", c.len());
        roundtrip(&s);
        roundtrip(&vec![b'x'; 100_000]);
        assert_eq!(compress(b"abcdefghijklmnopqrstuvwxyz"), None);
    }

    #[test]
    fn random_inputs_read_back() {
        let mut x = 0x1234_5678_9abc_def0u64;
        for round in 0..3000 {
            let len = round % 700 + 4;
            let alphabet = [2, 4, 16, 256][round % 4];
            let s: Vec<u8> = (0..len)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    (x % alphabet) as u8
                })
                .collect();
            roundtrip(&s);
        }
        // Distances at and past the 8192-byte window.
        let mut s = vec![0u8; 20_000];
        for (i, b) in s.iter_mut().enumerate() {
            *b = (i % 8191 % 251) as u8;
        }
        roundtrip(&s);
    }

    #[test]
    fn input_that_broke_the_lzf_crate() {
        // One nibble a byte: 267 bytes on which lzf 1.0.0's compress
        // indexes out of bounds (found by a random search).
        let nibbles = [
            "ad30bcd37e3f48efc73a244fad9d676a88b4d0f07abad9ab029facf1d5b3a6d4",
            "c325530c9cc077054661ccb11b3cd5d172ed0845c417d49f303ea0b5c253f652",
            "cf4da933e44d0ae36ff70ef6f0da052094ecaa33d8c610d1b876fadd3c0c087b",
            "09f17b971fcd1923bc5826f45c349024bfbfadf961da69692a7b398f132df633",
            "c4cc9be36f0",
        ]
        .concat();
        let s: Vec<u8> = nibbles
            .chars()
            .map(|c| c.to_digit(16).unwrap() as u8)
            .collect();
        assert_eq!(s.len(), 267);
        roundtrip(&s);
    }
}
