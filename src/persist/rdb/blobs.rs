//! The packed blobs an RDB value may carry: ziplists (RDB 10, 12, 13 and
//! 14's nodes), listpacks, intsets and zipmaps (RDB 9).
//!
//! Every decoder here walks its blob with bounds checks only: a corrupt
//! or hostile blob yields `Err(Bad)`, never a panic or a read past the
//! end. What `deep` adds is Redis's `sanitize-dump-payload yes` work that
//! does not affect safety: element counts matching the header, listpack
//! back-lengths matching their entries, and intsets being sorted.
//! Ziplists and zipmaps are always checked deeply, as Redis does, since
//! they are converted on load anyway.
//!
//! Integers come back as their decimal text, the form Redis compares
//! fields in when it looks for duplicates.

/// A blob failed validation.
#[derive(Debug, PartialEq)]
pub struct Bad;

fn get(b: &[u8], p: usize, n: usize) -> Result<&[u8], Bad> {
    b.get(p..p.checked_add(n).ok_or(Bad)?).ok_or(Bad)
}

fn int_text(v: i64) -> Vec<u8> {
    v.to_string().into_bytes()
}

fn i24(s: &[u8]) -> i64 {
    (((s[0] as i32) | ((s[1] as i32) << 8) | ((s[2] as i32) << 16)) << 8 >> 8) as i64
}

// ---- Ziplist -----------------------------------------------------------

/// Header: zlbytes (u32), zltail (u32), zllen (u16); then entries, then
/// 0xFF. An entry is `prevlen encoding payload`.
const ZL_HEADER: usize = 10;

/// Decodes and fully validates a ziplist (Redis's
/// `ziplistValidateIntegrity` with `deep` set): the header matches the
/// blob, every entry lies inside it, each prevlen equals the previous
/// entry's size, zltail points at the last entry and zllen (unless
/// 65535) counts the entries.
pub fn ziplist(zl: &[u8]) -> Result<Vec<Vec<u8>>, Bad> {
    let size = zl.len();
    if size < ZL_HEADER + 1 {
        return Err(Bad);
    }
    let bytes = u32::from_le_bytes(zl[0..4].try_into().map_err(|_| Bad)?) as usize;
    let tail = u32::from_le_bytes(zl[4..8].try_into().map_err(|_| Bad)?) as usize;
    let count = u16::from_le_bytes([zl[8], zl[9]]);
    let last = size - 1; // index of the terminator
    if bytes != size || zl[last] != 0xFF || tail > last {
        return Err(Bad);
    }
    let mut out = Vec::new();
    let mut p = ZL_HEADER;
    let mut prev_raw = 0usize;
    let mut prev_start = None;
    while zl[p] != 0xFF {
        let (plsize, prevlen) = if zl[p] < 0xFE {
            (1, zl[p] as usize)
        } else {
            let s = get(zl, p + 1, 4)?;
            (
                5,
                u32::from_le_bytes(s.try_into().map_err(|_| Bad)?) as usize,
            )
        };
        let e = p + plsize;
        if e > last {
            return Err(Bad);
        }
        let b = zl[e];
        // (bytes of the encoding, bytes of the payload)
        let (lensize, len) = match b >> 6 {
            0 => (1, (b & 0x3F) as usize),
            1 => (
                2,
                (((b & 0x3F) as usize) << 8) | *get(zl, e + 1, 1)?.first().ok_or(Bad)? as usize,
            ),
            2 => (
                5,
                u32::from_be_bytes(get(zl, e + 1, 4)?.try_into().map_err(|_| Bad)?) as usize,
            ),
            _ => match b {
                0xC0 => (1, 2),
                0xD0 => (1, 4),
                0xE0 => (1, 8),
                0xF0 => (1, 3),
                0xFE => (1, 1),
                0xF1..=0xFD => (1, 0),
                _ => return Err(Bad),
            },
        };
        let header = plsize + lensize;
        let end = p
            .checked_add(header)
            .and_then(|x| x.checked_add(len))
            .ok_or(Bad)?;
        if e + lensize > last || end > last {
            return Err(Bad);
        }
        if prevlen != prev_raw || p.checked_sub(prevlen).is_none_or(|x| x < ZL_HEADER) {
            return Err(Bad);
        }
        let payload = &zl[p + header..end];
        out.push(match b {
            0xC0 => int_text(i16::from_le_bytes([payload[0], payload[1]]) as i64),
            0xD0 => int_text(i32::from_le_bytes(payload.try_into().map_err(|_| Bad)?) as i64),
            0xE0 => int_text(i64::from_le_bytes(payload.try_into().map_err(|_| Bad)?)),
            0xF0 => int_text(i24(payload)),
            0xFE => int_text(payload[0] as i8 as i64),
            0xF1..=0xFD => int_text((b & 0x0F) as i64 - 1),
            _ => payload.to_vec(),
        });
        prev_raw = header + len;
        prev_start = Some(p);
        p = end;
    }
    if p != last {
        return Err(Bad);
    }
    if prev_start.is_some_and(|s| s != tail) {
        return Err(Bad);
    }
    if count != u16::MAX && count as usize != out.len() {
        return Err(Bad);
    }
    Ok(out)
}

// ---- Listpack ----------------------------------------------------------

/// Header: total bytes (u32), element count (u16); then entries, each
/// `encoding payload back-length`, then 0xFF.
const LP_HEADER: usize = 6;

/// Bytes of the back-length of an entry of `l` bytes (`lpEncodeBacklenBytes`).
fn backlen_size(l: usize) -> usize {
    match l {
        0..=127 => 1,
        128..=16382 => 2,
        16383..=2097150 => 3,
        2097151..=268435454 => 4,
        _ => 5,
    }
}

/// Decodes the back-length that ends just before `end` (exclusive).
fn backlen_at(lp: &[u8], end: usize) -> Option<usize> {
    let mut v = 0usize;
    let mut shift = 0;
    let mut p = end;
    loop {
        p = p.checked_sub(1)?;
        let b = lp[p];
        v |= ((b & 127) as usize) << shift;
        if b & 128 == 0 {
            return Some(v);
        }
        shift += 7;
        if shift > 28 {
            return None;
        }
    }
}

/// Decodes a listpack. Always: the header's byte count equals the blob's
/// size, the blob ends in 0xFF, and every entry lies inside it. With
/// `deep` also: back-lengths match the entries and the header's count
/// (unless 65535) matches them.
pub fn listpack(lp: &[u8], deep: bool) -> Result<Vec<Vec<u8>>, Bad> {
    let size = lp.len();
    if size < LP_HEADER + 1 {
        return Err(Bad);
    }
    let total = u32::from_le_bytes(lp[0..4].try_into().map_err(|_| Bad)?) as usize;
    let count = u16::from_le_bytes([lp[4], lp[5]]);
    let last = size - 1;
    if total != size || lp[last] != 0xFF {
        return Err(Bad);
    }
    let mut out = Vec::new();
    let mut p = LP_HEADER;
    while lp[p] != 0xFF {
        let b = lp[p];
        // (entry bytes before the back-length, the value)
        let (enc_len, v): (usize, Vec<u8>) = if b & 0x80 == 0 {
            (1, int_text((b & 0x7F) as i64))
        } else if b & 0xC0 == 0x80 {
            let n = (b & 0x3F) as usize;
            (1 + n, get(lp, p + 1, n)?.to_vec())
        } else if b & 0xE0 == 0xC0 {
            let v = ((((b & 0x1F) as i64) << 8) | get(lp, p + 1, 1)?[0] as i64) << 51 >> 51;
            (2, int_text(v))
        } else if b & 0xF0 == 0xE0 {
            let n = (((b & 0x0F) as usize) << 8) | get(lp, p + 1, 1)?[0] as usize;
            (2 + n, get(lp, p + 2, n)?.to_vec())
        } else {
            match b {
                0xF0 => {
                    let n = u32::from_le_bytes(get(lp, p + 1, 4)?.try_into().map_err(|_| Bad)?)
                        as usize;
                    (
                        5usize.checked_add(n).ok_or(Bad)?,
                        get(lp, p + 5, n)?.to_vec(),
                    )
                }
                0xF1 => {
                    let s = get(lp, p + 1, 2)?;
                    (3, int_text(i16::from_le_bytes([s[0], s[1]]) as i64))
                }
                0xF2 => (4, int_text(i24(get(lp, p + 1, 3)?))),
                0xF3 => {
                    let s = get(lp, p + 1, 4)?;
                    (
                        5,
                        int_text(i32::from_le_bytes(s.try_into().map_err(|_| Bad)?) as i64),
                    )
                }
                0xF4 => {
                    let s = get(lp, p + 1, 8)?;
                    (
                        9,
                        int_text(i64::from_le_bytes(s.try_into().map_err(|_| Bad)?)),
                    )
                }
                _ => return Err(Bad),
            }
        };
        let end = p
            .checked_add(enc_len)
            .and_then(|x| x.checked_add(backlen_size(enc_len)))
            .ok_or(Bad)?;
        if end > last {
            return Err(Bad);
        }
        if deep && backlen_at(lp, end) != Some(enc_len) {
            return Err(Bad);
        }
        out.push(v);
        p = end;
    }
    if p != last {
        return Err(Bad);
    }
    if deep && count != u16::MAX && count as usize != out.len() {
        return Err(Bad);
    }
    Ok(out)
}

/// True when a listpack's header counts no elements: Redis then treats
/// the value as empty whatever entries follow (`lpLength` trusts the
/// header when it is not 65535).
pub fn listpack_says_empty(lp: &[u8]) -> bool {
    lp.get(4..6) == Some(&[0, 0][..])
}

/// True when the `tuple`-sized records of `items` (the first element of
/// each being the key) have no duplicate keys and `items` holds whole
/// records (`lpValidateIntegrityAndDups`).
pub fn no_dup_keys(items: &[Vec<u8>], tuple: usize) -> bool {
    if tuple == 0 || !items.len().is_multiple_of(tuple) {
        return false;
    }
    let mut seen = std::collections::HashSet::with_capacity(items.len() / tuple);
    items.iter().step_by(tuple).all(|k| seen.insert(&k[..]))
}

// ---- Intset ------------------------------------------------------------

/// Decodes an intset: element width (2, 4 or 8), count, then the values
/// little endian. Always: a known width, a size that matches the count,
/// and at least one element. With `deep`: strictly ascending values.
pub fn intset(b: &[u8], deep: bool) -> Result<Vec<i64>, Bad> {
    if b.len() < 8 {
        return Err(Bad);
    }
    let width = u32::from_le_bytes(b[0..4].try_into().map_err(|_| Bad)?) as usize;
    let n = u32::from_le_bytes(b[4..8].try_into().map_err(|_| Bad)?) as usize;
    if !matches!(width, 2 | 4 | 8) || n.checked_mul(width) != Some(b.len() - 8) || n == 0 {
        return Err(Bad);
    }
    let shift = 64 - 8 * width as u32;
    let out: Vec<i64> = b[8..]
        .chunks_exact(width)
        .map(|c| {
            let mut x = [0u8; 8];
            x[..width].copy_from_slice(c);
            (i64::from_le_bytes(x) << shift) >> shift
        })
        .collect();
    if deep && out.windows(2).any(|w| w[0] >= w[1]) {
        return Err(Bad);
    }
    Ok(out)
}

// ---- Zipmap ------------------------------------------------------------

/// A field and its value.
pub type Pair = (Vec<u8>, Vec<u8>);

/// Decodes a zipmap (Redis 2.4 small hashes): a count byte (254: unknown),
/// then `len field len free value [free bytes]` records, then 0xFF.
/// Lengths are one byte below 254, else 254 and a u32. Always validated
/// deeply (`zipmapValidateIntegrity`): records inside the blob, at least
/// one, and the count byte right.
pub fn zipmap(zm: &[u8]) -> Result<Vec<Pair>, Bad> {
    let size = zm.len();
    if size < 2 || zm[size - 1] != 0xFF {
        return Err(Bad);
    }
    let last = size - 1;
    let len_at = |p: usize| -> Result<(usize, usize), Bad> {
        let b = *zm.get(p).ok_or(Bad)?;
        if b < 254 {
            Ok((1, b as usize))
        } else {
            let s = get(zm, p + 1, 4)?;
            Ok((
                5,
                u32::from_le_bytes(s.try_into().map_err(|_| Bad)?) as usize,
            ))
        }
    };
    let mut out = Vec::new();
    let mut p = 1;
    while zm[p] != 0xFF {
        let (s, l) = len_at(p)?;
        if p + s > last {
            return Err(Bad);
        }
        let f = p + s;
        p = f.checked_add(l).ok_or(Bad)?;
        if p > last {
            return Err(Bad);
        }
        let field = &zm[f..p];
        let (s, l) = len_at(p)?;
        if p + s > last {
            return Err(Bad);
        }
        let free = zm[p + s] as usize;
        let v = p + s + 1;
        p = v
            .checked_add(l)
            .and_then(|x| x.checked_add(free))
            .ok_or(Bad)?;
        if p > last {
            return Err(Bad);
        }
        let value = zm.get(v..v + l).ok_or(Bad)?;
        out.push((field.to_vec(), value.to_vec()));
    }
    if out.is_empty() || (zm[0] != 254 && zm[0] as usize != out.len()) {
        return Err(Bad);
    }
    Ok(out)
}

/// A ziplist of short strings (under 64 bytes), for tests.
#[cfg(test)]
pub fn ziplist_of(items: &[&[u8]]) -> Vec<u8> {
    let mut b = vec![0u8; ZL_HEADER];
    let mut prev = 0usize;
    let mut tail = ZL_HEADER;
    for e in items {
        tail = b.len();
        b.push(prev as u8);
        b.push(e.len() as u8);
        b.extend_from_slice(e);
        prev = e.len() + 2;
    }
    b.push(0xFF);
    let n = b.len() as u32;
    b[0..4].copy_from_slice(&n.to_le_bytes());
    b[4..8].copy_from_slice(&(tail as u32).to_le_bytes());
    b[8..10].copy_from_slice(&(items.len() as u16).to_le_bytes());
    b
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A ziplist of `entries`, each given as (encoding+payload bytes).
    fn zl(entries: &[&[u8]], count: u16) -> Vec<u8> {
        let mut b = vec![0u8; ZL_HEADER];
        let mut prev = 0usize;
        let mut tail = ZL_HEADER;
        for e in entries {
            tail = b.len();
            let start = b.len();
            if prev < 254 {
                b.push(prev as u8);
            } else {
                b.push(0xFE);
                b.extend_from_slice(&(prev as u32).to_le_bytes());
            }
            b.extend_from_slice(e);
            prev = b.len() - start;
        }
        b.push(0xFF);
        let n = b.len() as u32;
        b[0..4].copy_from_slice(&n.to_le_bytes());
        b[4..8].copy_from_slice(&(tail as u32).to_le_bytes());
        b[8..10].copy_from_slice(&count.to_le_bytes());
        b
    }

    #[test]
    fn ziplist_good_and_bad() {
        let good = zl(&[b"\x02ab", b"\xF3", b"\xFE\x85", b"\xC0\x00\x80"], 4);
        assert_eq!(
            ziplist(&good).unwrap(),
            vec![
                b"ab".to_vec(),
                b"2".to_vec(),
                b"-123".to_vec(),
                b"-32768".to_vec()
            ]
        );
        // Unknown count is fine.
        assert!(ziplist(&zl(&[b"\x01a"], 0xFFFF)).is_ok());
        // Wrong count.
        assert_eq!(ziplist(&zl(&[b"\x01a"], 2)), Err(Bad));
        // Wrong zlbytes.
        let mut b = good.clone();
        b[0] += 1;
        assert_eq!(ziplist(&b), Err(Bad));
        // Wrong prevlen of the second entry.
        let mut b = good.clone();
        b[ZL_HEADER + 4] = 9;
        assert_eq!(ziplist(&b), Err(Bad));
        // Wrong tail offset.
        let mut b = good.clone();
        b[4] -= 1;
        assert_eq!(ziplist(&b), Err(Bad));
        // Entry length reaching past the end.
        let b = zl(&[b"\x3Fab"], 1);
        assert_eq!(ziplist(&b), Err(Bad));
        // Invalid encoding byte.
        assert_eq!(ziplist(&zl(&[b"\xC1"], 1)), Err(Bad));
        // A terminator before the end.
        let mut b = zl(&[b"\x01a"], 1);
        b.insert(ZL_HEADER, 0xFF);
        let n = b.len() as u32;
        b[0..4].copy_from_slice(&n.to_le_bytes());
        assert_eq!(ziplist(&b), Err(Bad));
        // Every truncation fails cleanly.
        for cut in 0..good.len() {
            assert!(ziplist(&good[..cut]).is_err());
        }
    }

    fn lp(entries: &[&[u8]], count: u16) -> Vec<u8> {
        let mut b = vec![0u8; LP_HEADER];
        for e in entries {
            b.extend_from_slice(e);
            b.extend_from_slice(&crate::persist::rdb::listpack_backlen(e.len() as u64));
        }
        b.push(0xFF);
        let n = b.len() as u32;
        b[0..4].copy_from_slice(&n.to_le_bytes());
        b[4..6].copy_from_slice(&count.to_le_bytes());
        b
    }

    #[test]
    fn listpack_good_and_bad() {
        let good = lp(&[b"\x81a", b"\x05", b"\xDF\xFF", b"\xF1\x00\x80"], 4);
        let want = vec![
            b"a".to_vec(),
            b"5".to_vec(),
            b"-1".to_vec(),
            b"-32768".to_vec(),
        ];
        assert_eq!(listpack(&good, true).unwrap(), want);
        // A wrong count passes a shallow check only.
        let b = lp(&[b"\x81a"], 3);
        assert!(listpack(&b, false).is_ok());
        assert_eq!(listpack(&b, true), Err(Bad));
        // A wrong back-length likewise.
        let mut b = lp(&[b"\x81a", b"\x05"], 2);
        b[LP_HEADER + 2] = 7;
        assert!(listpack(&b, false).is_ok());
        assert_eq!(listpack(&b, true), Err(Bad));
        // An entry reaching past the end fails either way.
        let b = lp(&[b"\x89a"], 1);
        assert_eq!(listpack(&b, false), Err(Bad));
        let mut b = good.clone();
        b[0] = 3;
        assert_eq!(listpack(&b, false), Err(Bad));
        for cut in 0..good.len() {
            assert!(listpack(&good[..cut], false).is_err());
        }
    }

    #[test]
    fn dup_keys() {
        let v = |s: &[&str]| s.iter().map(|x| x.as_bytes().to_vec()).collect::<Vec<_>>();
        assert!(no_dup_keys(&v(&["a", "1", "b", "1"]), 2));
        assert!(!no_dup_keys(&v(&["a", "1", "a", "2"]), 2));
        assert!(!no_dup_keys(&v(&["a", "1", "b"]), 2));
        assert!(!no_dup_keys(&v(&["a", "b", "a"]), 1));
    }

    #[test]
    fn intsets() {
        let mut b = vec![2, 0, 0, 0, 2, 0, 0, 0];
        b.extend_from_slice(&(-3i16).to_le_bytes());
        b.extend_from_slice(&7i16.to_le_bytes());
        assert_eq!(intset(&b, true).unwrap(), vec![-3, 7]);
        let mut u = b.clone();
        u.swap(8, 10);
        u.swap(9, 11);
        assert!(intset(&u, false).is_ok());
        assert_eq!(intset(&u, true), Err(Bad));
        assert_eq!(intset(&[2, 0, 0, 0, 0, 0, 0, 0], false), Err(Bad));
        assert_eq!(intset(&b[..11], false), Err(Bad));
        let mut w = b.clone();
        w[0] = 3;
        assert_eq!(intset(&w, false), Err(Bad));
    }

    #[test]
    fn zipmaps() {
        // {"a": "xy", "bb": "z"} with one free byte after "xy".
        let zm = b"\x02\x01a\x02\x01xy?\x02bb\x01\x00z\xFF";
        assert_eq!(
            zipmap(zm).unwrap(),
            vec![
                (b"a".to_vec(), b"xy".to_vec()),
                (b"bb".to_vec(), b"z".to_vec())
            ]
        );
        let mut unknown = zm.to_vec();
        unknown[0] = 254;
        assert!(zipmap(&unknown).is_ok());
        let mut wrong = zm.to_vec();
        wrong[0] = 3;
        assert_eq!(zipmap(&wrong), Err(Bad));
        assert_eq!(zipmap(b"\x00\xFF"), Err(Bad));
        for cut in 0..zm.len() {
            assert!(zipmap(&zm[..cut]).is_err());
        }
    }
}
