//! Bitmap commands over string values: BITCOUNT, BITPOS, BITOP, BITFIELD
//! and BITFIELD_RO (SETBIT and GETBIT live with the string commands).
//!
//! Bits are numbered as Redis numbers them: bit 0 is the most significant
//! bit of byte 0. Counting and searching work a 64-bit word at a time; the
//! ranges (`BYTE|BIT`) and every error string follow Redis's `bitops.c`.

use crate::command::flags::*;
use crate::command::{ArgExt, CmdError, CmdResult, CommandSpec, Ctx, cmd, keys};
use crate::config::notify;
use crate::db::{Str, Value};
use crate::resp::Args;
use crate::util::eq_ic;

/// BITFIELD's key finder: it only reads when every operation is a
/// complete GET (OVERFLOW aside); anything else, malformed included,
/// counts as a write.
fn bitfield_keys(args: &Args) -> Vec<crate::command::keyspecs::KeyRef> {
    use crate::command::keyspecs::flag::*;
    let mut i = 2;
    while i < args.len() {
        let rest = args.len() - i - 1;
        let a = &args[i];
        if eq_ic(a, "get") && rest >= 2 {
            i += 3;
        } else if eq_ic(a, "overflow") && rest >= 1 {
            i += 2;
        } else {
            return vec![(1, RW | ACCESS | UPDATE)];
        }
    }
    vec![(1, RO | ACCESS)]
}

pub static COMMANDS: &[CommandSpec] = &[
    cmd(
        "bitcount",
        -2,
        READONLY,
        keys(1, 1, 1),
        "bitmap",
        "2.6.0",
        "Counts the number of set bits (population counting) in a string.",
        bitcount,
    ),
    cmd(
        "bitpos",
        -3,
        READONLY,
        keys(1, 1, 1),
        "bitmap",
        "2.8.7",
        "Finds the first set (1) or clear (0) bit in a string.",
        bitpos,
    ),
    cmd(
        "bitop",
        -4,
        WRITE | DENYOOM,
        keys(2, -1, 1),
        "bitmap",
        "2.6.0",
        "Performs bitwise operations on multiple strings, and stores the result.",
        bitop,
    ),
    CommandSpec {
        getkeys: Some(bitfield_keys),
        ..cmd(
            "bitfield",
            -2,
            WRITE | DENYOOM,
            keys(1, 1, 1),
            "bitmap",
            "3.2.0",
            "Performs arbitrary bitfield integer operations on strings.",
            bitfield,
        )
    },
    cmd(
        "bitfield_ro",
        -2,
        READONLY | FAST,
        keys(1, 1, 1),
        "bitmap",
        "6.0.0",
        "Performs arbitrary read-only bitfield integer operations on strings.",
        bitfield_ro,
    ),
];

// ---------------------------------------------------------------------------
// Pure helpers
// ---------------------------------------------------------------------------

/// Number of set bits in `b`, eight bytes at a time.
pub fn popcount(b: &[u8]) -> u64 {
    let mut chunks = b.chunks_exact(8);
    let mut n = 0u64;
    for c in &mut chunks {
        n += u64::from_ne_bytes(c.try_into().unwrap_or([0; 8])).count_ones() as u64;
    }
    for &c in chunks.remainder() {
        n += c.count_ones() as u64;
    }
    n
}

/// Position of the first bit equal to `bit` in `b`. Looking for a clear
/// bit in an all-ones buffer gives `8 * len` (the string is taken as
/// zero-padded on the right); looking for a set bit that is not there
/// gives -1. This is Redis's `redisBitpos`.
pub fn first_bit(b: &[u8], bit: bool) -> i64 {
    let skip = if bit { 0u8 } else { 0xff };
    let mut i = 0;
    let wskip = if bit { 0u64 } else { u64::MAX };
    while i + 8 <= b.len() {
        let w = u64::from_be_bytes(b[i..i + 8].try_into().unwrap_or([0; 8]));
        if w != wskip {
            let x = if bit { w } else { !w };
            return (i as i64) * 8 + x.leading_zeros() as i64;
        }
        i += 8;
    }
    while i < b.len() {
        if b[i] != skip {
            let x = if bit { b[i] } else { !b[i] };
            return (i as i64) * 8 + x.leading_zeros() as i64;
        }
        i += 1;
    }
    if bit { -1 } else { (b.len() as i64) * 8 }
}

/// Resolves a `start end [BYTE|BIT]` range against a string of `len`
/// bytes as BITCOUNT/BITPOS do: negative indexes count from the end and
/// are clamped. Returns the inclusive byte range plus the masks of the
/// bits outside the range in the first and last byte (BIT ranges only),
/// or None for an empty range.
fn resolve_range(start: i64, end: i64, len: usize, isbit: bool) -> Option<(usize, usize, u8, u8)> {
    let mut tot = len as i64;
    if isbit {
        tot <<= 3;
    }
    let (mut s, mut e) = (start, end);
    if s < 0 {
        s += tot;
    }
    if e < 0 {
        e += tot;
    }
    s = s.max(0);
    e = e.max(0);
    if e >= tot {
        e = tot - 1;
    }
    if s > e {
        return None;
    }
    let (mut fm, mut lm) = (0u8, 0u8);
    if isbit {
        fm = !((1u16 << (8 - (s & 7))) - 1) as u8;
        lm = ((1u16 << (7 - (e & 7))) - 1) as u8;
        s >>= 3;
        e >>= 3;
    }
    Some((s as usize, e as usize, fm, lm))
}

/// Parses an optional `BYTE|BIT` unit.
fn parse_unit(a: &[u8]) -> Result<bool, CmdError> {
    if eq_ic(a, "bit") {
        Ok(true)
    } else if eq_ic(a, "byte") {
        Ok(false)
    } else {
        Err(CmdError::Syntax)
    }
}

// ---------------------------------------------------------------------------
// BITCOUNT / BITPOS
// ---------------------------------------------------------------------------

/// BITCOUNT key [start end [BYTE|BIT]]
pub fn bitcount(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let range = match args.len() {
        2 => None,
        4 | 5 => {
            let s = args.i64_at(2)?;
            let e = args.i64_at(3)?;
            let isbit = if args.len() == 5 {
                parse_unit(&args[4])?
            } else {
                false
            };
            Some((s, e, isbit))
        }
        _ => return Err(CmdError::Syntax),
    };
    let (o, r) = ctx.lookup_r(&args[1]);
    let Some(o) = o else {
        r.int(0);
        return Ok(());
    };
    let s = o.v.as_str()?;
    let mut t = [0u8; 20];
    let p = s.bytes(&mut t);
    let n = match range {
        None => popcount(p),
        Some((s, e, _)) if s < 0 && e < 0 && s > e => 0,
        Some((s, e, isbit)) => match resolve_range(s, e, p.len(), isbit) {
            None => 0,
            Some((s, e, fm, lm)) => {
                let mut n = popcount(&p[s..=e]);
                n -= (p[s] & fm).count_ones() as u64;
                n -= (p[e] & lm).count_ones() as u64;
                n
            }
        },
    };
    r.int(n as i64);
    Ok(())
}

/// BITPOS key bit [start [end [BYTE|BIT]]]
pub fn bitpos(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let bit = args.i64_at(2)?;
    if bit != 0 && bit != 1 {
        return Err(CmdError::msg("ERR The bit argument must be 1 or 0."));
    }
    let bit = bit == 1;
    if args.len() > 6 {
        return Err(CmdError::Syntax);
    }
    let mut start = 0i64;
    let mut end: Option<i64> = None;
    let mut isbit = false;
    if args.len() >= 4 {
        start = args.i64_at(3)?;
        if args.len() == 6 {
            isbit = parse_unit(&args[5])?;
        }
        if args.len() >= 5 {
            end = Some(args.i64_at(4)?);
        }
    }
    let (o, r) = ctx.lookup_r(&args[1]);
    let Some(o) = o else {
        r.int(if bit { -1 } else { 0 });
        return Ok(());
    };
    let s = o.v.as_str()?;
    let mut t = [0u8; 20];
    let p = s.bytes(&mut t);
    let len = p.len() as i64;
    let e = match end {
        Some(e) => e,
        None if isbit => (len << 3) + 7,
        None => len - 1,
    };
    let Some((s, e, fm, lm)) = resolve_range(start, e, p.len(), isbit) else {
        r.int(-1);
        return Ok(());
    };
    // Copy the range with the bits outside it forced to "not found".
    let mut buf: Vec<u8>;
    let slice: &[u8] = if fm != 0 || lm != 0 {
        buf = p[s..=e].to_vec();
        let last = buf.len() - 1;
        if bit {
            buf[0] &= !fm;
            buf[last] &= !lm;
        } else {
            buf[0] |= fm;
            buf[last] |= lm;
        }
        &buf
    } else {
        buf = Vec::new();
        let _ = &buf;
        &p[s..=e]
    };
    let mut pos = first_bit(slice, bit);
    if end.is_some() && !bit && pos == (slice.len() as i64) * 8 {
        r.int(-1);
        return Ok(());
    }
    if pos != -1 {
        pos += (s as i64) * 8;
    }
    r.int(pos);
    Ok(())
}

// ---------------------------------------------------------------------------
// BITOP
// ---------------------------------------------------------------------------

#[derive(Clone, Copy, PartialEq, Debug)]
pub enum BitOp {
    And,
    Or,
    Xor,
    Not,
    /// X and not (any of the others).
    Diff,
    /// Not X and (any of the others).
    Diff1,
    /// X and (any of the others).
    AndOr,
    /// Bits set in exactly one source.
    One,
}

impl BitOp {
    fn parse(a: &[u8]) -> Option<BitOp> {
        Some(match a.to_ascii_lowercase().as_slice() {
            b"and" => BitOp::And,
            b"or" => BitOp::Or,
            b"xor" => BitOp::Xor,
            b"not" => BitOp::Not,
            b"diff" => BitOp::Diff,
            b"diff1" => BitOp::Diff1,
            b"andor" => BitOp::AndOr,
            b"one" => BitOp::One,
            _ => return None,
        })
    }
}

/// Combines `srcs` (shorter ones zero-padded) into a string as long as the
/// longest.
pub fn bitop_compute(op: BitOp, srcs: &[&[u8]]) -> Vec<u8> {
    let maxlen = srcs.iter().map(|s| s.len()).max().unwrap_or(0);
    let byte = |s: &[u8], i: usize| s.get(i).copied().unwrap_or(0);
    let mut out = vec![0u8; maxlen];
    match op {
        BitOp::Not => {
            for (i, o) in out.iter_mut().enumerate() {
                *o = !byte(srcs[0], i);
            }
        }
        BitOp::And | BitOp::Or | BitOp::Xor => {
            out[..srcs[0].len()].copy_from_slice(srcs[0]);
            for s in &srcs[1..] {
                match op {
                    BitOp::And => {
                        for (i, o) in out.iter_mut().enumerate() {
                            *o &= byte(s, i);
                        }
                    }
                    BitOp::Or => {
                        for (o, b) in out.iter_mut().zip(s.iter()) {
                            *o |= b;
                        }
                    }
                    _ => {
                        for (o, b) in out.iter_mut().zip(s.iter()) {
                            *o ^= b;
                        }
                    }
                }
            }
        }
        BitOp::Diff | BitOp::Diff1 | BitOp::AndOr => {
            let mut any = vec![0u8; maxlen];
            for s in &srcs[1..] {
                for (o, b) in any.iter_mut().zip(s.iter()) {
                    *o |= b;
                }
            }
            for (i, o) in out.iter_mut().enumerate() {
                let x = byte(srcs[0], i);
                *o = match op {
                    BitOp::Diff => x & !any[i],
                    BitOp::Diff1 => !x & any[i],
                    _ => x & any[i],
                };
            }
        }
        BitOp::One => {
            let mut seen = vec![0u8; maxlen];
            for s in srcs {
                for (i, &b) in s.iter().enumerate() {
                    out[i] = (out[i] & !b) | (b & !seen[i]);
                    seen[i] |= b;
                }
            }
        }
    }
    out
}

/// BITOP AND|OR|XOR|NOT|DIFF|DIFF1|ANDOR|ONE destkey key [key ...]
pub fn bitop(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let op = BitOp::parse(&args[1]).ok_or(CmdError::Syntax)?;
    let nkeys = args.len() - 3;
    if op == BitOp::Not && nkeys != 1 {
        return Err(CmdError::msg(
            "ERR BITOP NOT must be called with a single source key.",
        ));
    }
    if matches!(op, BitOp::Diff | BitOp::Diff1 | BitOp::AndOr) && nkeys < 2 {
        let name = String::from_utf8_lossy(&args[1]).to_ascii_uppercase();
        return Err(CmdError::msg(format!(
            "ERR BITOP {name} must be called with at least two source keys."
        )));
    }
    let mut srcs: Vec<Vec<u8>> = Vec::with_capacity(nkeys);
    for k in args.iter().skip(3) {
        match ctx.lookup(k) {
            None => srcs.push(Vec::new()),
            Some(o) => srcs.push(o.v.as_str()?.to_vec()),
        }
    }
    let refs: Vec<&[u8]> = srcs.iter().map(|v| v.as_slice()).collect();
    let res = bitop_compute(op, &refs);
    let n = res.len();
    let dest = &args[2];
    if n > 0 {
        ctx.db().set(dest, Value::Str(Str::raw(res)), false);
        ctx.wrote(dest, "set", notify::STRING);
    } else if ctx.db().delete(dest) {
        ctx.st.dirty += 1;
        let db = ctx.c.db;
        ctx.st.key_modified(db, dest);
        ctx.st.notify(notify::GENERIC, "del", dest, db);
    }
    ctx.c.reply.int(n as i64);
    Ok(())
}

// ---------------------------------------------------------------------------
// BITFIELD
// ---------------------------------------------------------------------------

#[derive(Clone, Copy, PartialEq, Debug)]
pub enum Overflow {
    Wrap,
    Sat,
    Fail,
}

/// Reads `bits` bits at bit `offset` of `b` (zero past its end), as an
/// unsigned number.
pub fn get_unsigned(b: &[u8], offset: u64, bits: u32) -> u64 {
    let mut v = 0u64;
    for i in 0..bits as u64 {
        let pos = offset + i;
        let byte = (pos >> 3) as usize;
        let bit = b.get(byte).map_or(0, |c| (c >> (7 - (pos & 7))) & 1);
        v = (v << 1) | bit as u64;
    }
    v
}

/// `get_unsigned`, sign-extended from `bits` bits.
pub fn get_signed(b: &[u8], offset: u64, bits: u32) -> i64 {
    let u = get_unsigned(b, offset, bits);
    if bits == 64 {
        return u as i64;
    }
    let shift = 64 - bits;
    ((u << shift) as i64) >> shift
}

/// Writes the low `bits` bits of `v` at bit `offset` (the buffer is
/// already large enough).
pub fn set_bits(b: &mut [u8], offset: u64, bits: u32, v: u64) {
    for i in 0..bits as u64 {
        let bitval = (v >> (bits as u64 - 1 - i)) & 1;
        let pos = offset + i;
        let byte = (pos >> 3) as usize;
        let sh = 7 - (pos & 7);
        b[byte] = (b[byte] & !(1 << sh)) | ((bitval as u8) << sh);
    }
}

/// `value + incr` in a `bits`-wide field: the stored result and whether it
/// overflowed (under FAIL the caller then leaves the field alone).
pub fn field_add(value: i128, incr: i128, bits: u32, signed: bool, ow: Overflow) -> (i128, bool) {
    let (min, max) = if signed {
        (-(1i128 << (bits - 1)), (1i128 << (bits - 1)) - 1)
    } else {
        (0, (1i128 << bits) - 1)
    };
    let sum = value + incr;
    let wrap = |x: i128| -> i128 {
        let m = (1i128 << bits) - 1;
        let u = x & m;
        if signed && u > max {
            u - (1i128 << bits)
        } else {
            u
        }
    };
    if sum > max {
        (if ow == Overflow::Sat { max } else { wrap(sum) }, true)
    } else if sum < min {
        (if ow == Overflow::Sat { min } else { wrap(sum) }, true)
    } else {
        (sum, false)
    }
}

#[derive(Clone, Copy)]
enum FieldOp {
    Get,
    Set(i64),
    Incr(i64),
}

struct Field {
    op: FieldOp,
    offset: u64,
    bits: u32,
    signed: bool,
    ow: Overflow,
}

fn parse_type(a: &[u8]) -> Result<(bool, u32), CmdError> {
    let err = || {
        CmdError::msg(
            "ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is.",
        )
    };
    let signed = match a.first() {
        Some(b'i') => true,
        Some(b'u') => false,
        _ => return Err(err()),
    };
    let n = crate::util::parse_i64(&a[1..]).ok_or_else(err)?;
    if n < 1 || (signed && n > 64) || (!signed && n > 63) {
        return Err(err());
    }
    Ok((signed, n as u32))
}

/// A BITFIELD offset: `N` or `#N` (N times the field width).
fn parse_field_offset(a: &[u8], bits: u32, max_bulk: i64) -> Result<u64, CmdError> {
    let err = || CmdError::msg("ERR bit offset is not an integer or out of range");
    let (hash, digits) = match a.first() {
        Some(b'#') => (true, &a[1..]),
        _ => (false, a),
    };
    let mut v = crate::util::parse_i64(digits).ok_or_else(err)?;
    if hash {
        v = v.checked_mul(bits as i64).ok_or_else(err)?;
    }
    if v < 0 || (v >> 3) >= max_bulk {
        return Err(err());
    }
    Ok(v as u64)
}

/// BITFIELD key [GET type offset | SET type offset value |
/// INCRBY type offset increment | OVERFLOW WRAP|SAT|FAIL ...]
pub fn bitfield(ctx: &mut Ctx, args: &Args) -> CmdResult {
    bitfield_generic(ctx, args, false)
}

/// BITFIELD_RO key [GET type offset ...]
pub fn bitfield_ro(ctx: &mut Ctx, args: &Args) -> CmdResult {
    bitfield_generic(ctx, args, true)
}

fn bitfield_generic(ctx: &mut Ctx, args: &Args, ro: bool) -> CmdResult {
    let max_bulk = ctx.st.cfg.hot.proto_max_bulk_len;
    let mut ops: Vec<Field> = Vec::new();
    let mut ow = Overflow::Wrap;
    let mut highest: Option<u64> = None;
    let mut j = 2;
    while j < args.len() {
        let rem = args.len() - j - 1;
        let sub = &args[j];
        let kind = if eq_ic(sub, "get") && rem >= 2 {
            0
        } else if eq_ic(sub, "set") && rem >= 3 {
            1
        } else if eq_ic(sub, "incrby") && rem >= 3 {
            2
        } else if eq_ic(sub, "overflow") && rem >= 1 {
            let t = &args[j + 1];
            ow = if eq_ic(t, "wrap") {
                Overflow::Wrap
            } else if eq_ic(t, "sat") {
                Overflow::Sat
            } else if eq_ic(t, "fail") {
                Overflow::Fail
            } else {
                return Err(CmdError::msg("ERR Invalid OVERFLOW type specified"));
            };
            j += 2;
            continue;
        } else {
            return Err(CmdError::Syntax);
        };
        let (signed, bits) = parse_type(&args[j + 1])?;
        let offset = parse_field_offset(&args[j + 2], bits, max_bulk)?;
        let op = if kind == 0 {
            FieldOp::Get
        } else {
            let top = offset + bits as u64 - 1;
            highest = Some(highest.map_or(top, |h| h.max(top)));
            let v = args.i64_at(j + 3)?;
            if kind == 1 {
                FieldOp::Set(v)
            } else {
                FieldOp::Incr(v)
            }
        };
        ops.push(Field {
            op,
            offset,
            bits,
            signed,
            ow,
        });
        j += if kind == 0 { 3 } else { 4 };
    }
    let key = &args[1];
    let Some(highest) = highest else {
        // Read only: GETs over the value as it is.
        let (o, r) = ctx.lookup_r(key);
        let mut t = [0u8; 20];
        let p: &[u8] = match o {
            None => &[],
            Some(o) => o.v.as_str()?.bytes(&mut t),
        };
        r.array(ops.len());
        for f in &ops {
            if f.signed {
                r.int(get_signed(p, f.offset, f.bits));
            } else {
                r.int(get_unsigned(p, f.offset, f.bits) as i64);
            }
        }
        return Ok(());
    };
    if ro {
        return Err(CmdError::msg(
            "ERR BITFIELD_RO only supports the GET subcommand",
        ));
    }
    let need = (highest >> 3) as usize + 1;
    let exists = match ctx.lookup_write(key) {
        None => false,
        Some(o) => {
            o.v.as_str()?;
            true
        }
    };
    if !exists {
        ctx.db().add(key, Value::Str(Str::raw(Vec::new())));
    }
    let o = ctx.lookup_write_r(key);
    let (Some(o), r) = o else {
        return Err(CmdError::NoSuchKey);
    };
    let b = o.v.as_str_mut()?.make_raw();
    let grew = b.len() < need;
    if grew {
        b.resize(need, 0);
    }
    let mut changes = 0u64;
    r.array(ops.len());
    for f in &ops {
        let old: i128 = if f.signed {
            get_signed(b, f.offset, f.bits) as i128
        } else {
            get_unsigned(b, f.offset, f.bits) as i128
        };
        let (newv, ret, overflow) = match f.op {
            FieldOp::Get => {
                r.int(old as i64);
                continue;
            }
            FieldOp::Incr(d) => {
                let (n, of) = field_add(old, d as i128, f.bits, f.signed, f.ow);
                (n, n, of)
            }
            FieldOp::Set(v) => {
                // An unsigned field sees the value as C's uint64_t would.
                let v = if f.signed {
                    v as i128
                } else {
                    v as u64 as i128
                };
                let (n, of) = field_add(v, 0, f.bits, f.signed, f.ow);
                (n, old, of)
            }
        };
        if overflow && f.ow == Overflow::Fail {
            r.null();
            continue;
        }
        r.int(ret as i64);
        set_bits(b, f.offset, f.bits, newv as u64);
        if grew || old != newv {
            changes += 1;
        }
    }
    if changes > 0 {
        ctx.wrote(key, "setbit", notify::STRING);
        ctx.st.dirty += changes - 1;
    } else if grew {
        // Created or padded, though every SET failed: not a write Redis
        // signals, but the string's size changed.
        ctx.db().refresh_size(key);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn popcount_and_first_bit() {
        let b = [0xffu8, 0x00, 0x0f, 0x01, 0, 0, 0, 0, 0, 0x80];
        assert_eq!(popcount(&b), 8 + 4 + 1 + 1);
        assert_eq!(first_bit(&b, true), 0);
        assert_eq!(first_bit(&b, false), 8);
        assert_eq!(first_bit(&[0, 0, 0, 0, 0, 0, 0, 0, 0, 0x20], true), 74);
        assert_eq!(first_bit(&[0xff; 3], false), 24);
        assert_eq!(first_bit(&[0; 3], true), -1);
    }

    #[test]
    fn ranges() {
        // "foobar", bytes 1..=1
        assert_eq!(resolve_range(1, 1, 6, false), Some((1, 1, 0, 0)));
        assert_eq!(resolve_range(-1, -1, 6, false), Some((5, 5, 0, 0)));
        assert_eq!(resolve_range(5, 30, 6, true), Some((0, 3, 0xf8, 0x01)));
        assert_eq!(resolve_range(3, 1, 6, false), None);
    }

    #[test]
    fn bitop_ops() {
        let a: &[u8] = &[0b1100];
        let b: &[u8] = &[0b1010, 0xff];
        assert_eq!(bitop_compute(BitOp::And, &[a, b]), vec![0b1000, 0]);
        assert_eq!(bitop_compute(BitOp::Or, &[a, b]), vec![0b1110, 0xff]);
        assert_eq!(bitop_compute(BitOp::Xor, &[a, b]), vec![0b0110, 0xff]);
        assert_eq!(bitop_compute(BitOp::Not, &[a]), vec![!0b1100u8]);
        assert_eq!(bitop_compute(BitOp::Diff, &[a, b]), vec![0b0100, 0]);
        assert_eq!(bitop_compute(BitOp::Diff1, &[a, b]), vec![0b0010, 0xff]);
        assert_eq!(bitop_compute(BitOp::AndOr, &[a, b]), vec![0b1000, 0]);
        let c: &[u8] = &[0b1001];
        assert_eq!(bitop_compute(BitOp::One, &[a, b, c]), vec![0b0111, 0xff]);
    }

    #[test]
    fn fields() {
        let mut b = vec![0u8; 9];
        set_bits(&mut b, 3, 5, 0b10110);
        assert_eq!(get_unsigned(&b, 3, 5), 0b10110);
        assert_eq!(get_signed(&b, 3, 5), -10);
        set_bits(&mut b, 0, 64, u64::MAX);
        assert_eq!(get_signed(&b, 0, 64), -1);
        assert_eq!(field_add(100, 100, 8, true, Overflow::Wrap), (-56, true));
        assert_eq!(field_add(100, 100, 8, true, Overflow::Sat), (127, true));
        assert_eq!(field_add(0, -1, 8, false, Overflow::Sat), (0, true));
        assert_eq!(field_add(0, -1, 8, false, Overflow::Wrap), (255, true));
        assert_eq!(field_add(1, 2, 8, false, Overflow::Fail), (3, false));
        assert_eq!(
            field_add(i64::MAX as i128, 1, 64, true, Overflow::Wrap),
            (i64::MIN as i128, true)
        );
    }
}
