//! HyperLogLog commands: PFADD, PFCOUNT, PFMERGE, PFDEBUG, PFSELFTEST.
//! The values are plain strings in Redis's HLL format
//! (`crate::types::hll`), so GET/SET/DUMP carry them unchanged.

use crate::command::flags::*;
use crate::command::{CmdError, CmdResult, CommandSpec, Ctx, NO_KEYS, cmd, keys};
use crate::config::notify;
use crate::db::{Str, Value};
use crate::resp::Args;
use crate::types::hll;
use crate::util::eq_ic;

pub static COMMANDS: &[CommandSpec] = &[
    cmd(
        "pfadd",
        -2,
        WRITE | DENYOOM | FAST,
        keys(1, 1, 1),
        "hyperloglog",
        "2.8.9",
        "Adds elements to a HyperLogLog key. Creates the key if it doesn't exist.",
        pfadd,
    ),
    // May replicate: refreshing the cached cardinality writes the value.
    cmd(
        "pfcount",
        -2,
        READONLY | MAY_REPLICATE,
        keys(1, -1, 1),
        "hyperloglog",
        "2.8.9",
        "Returns the approximated cardinality of the set(s) observed by the HyperLogLog key(s).",
        pfcount,
    ),
    cmd(
        "pfmerge",
        -2,
        WRITE | DENYOOM,
        keys(1, -1, 1),
        "hyperloglog",
        "2.8.9",
        "Merges one or more HyperLogLog values into a single key.",
        pfmerge,
    ),
    cmd(
        "pfdebug",
        3,
        WRITE | DENYOOM | ADMIN,
        keys(2, 2, 1),
        "hyperloglog",
        "2.8.9",
        "Internal commands for debugging HyperLogLog values.",
        pfdebug,
    ),
    cmd(
        "pfselftest",
        1,
        ADMIN,
        NO_KEYS,
        "hyperloglog",
        "2.8.9",
        "An internal command for testing HyperLogLog values.",
        pfselftest,
    ),
];

fn corrupted() -> CmdError {
    CmdError::msg("INVALIDOBJ Corrupted HLL object detected")
}

fn not_hll() -> CmdError {
    CmdError::msg("WRONGTYPE Key is not a valid HyperLogLog string value.")
}

/// The bytes of an HLL value: WRONGTYPE for other types, the HLL variant
/// of it for strings that are not HLLs (Redis's `isHLLObjectOrReply`).
fn hll_bytes(v: &Value) -> Result<&[u8], CmdError> {
    let b: Result<&[u8], CmdError> = match v.as_str()? {
        Str::Int(_) => Err(not_hll()),
        Str::Inline { len, buf } => Ok(&buf[..*len as usize]),
        Str::Emb(b) => Ok(b),
        Str::Raw(b) => Ok(b),
    };
    b.and_then(|b| {
        if hll::is_valid(b) {
            Ok(b)
        } else {
            Err(not_hll())
        }
    })
}

/// Validates the HLL at `key` (present) and hands its bytes out mutably.
fn hll_mut(o: &mut crate::db::Obj) -> Result<&mut Vec<u8>, CmdError> {
    hll_bytes(&o.v)?;
    Ok(o.v.as_str_mut()?.make_raw())
}

fn sparse_max(ctx: &Ctx) -> usize {
    ctx.st.cfg.int("hll-sparse-max-bytes").max(0) as usize
}

/// PFADD key [element ...]
pub fn pfadd(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let key = &args[1];
    let max = sparse_max(ctx);
    let mut updated = 0u64;
    let exists = match ctx.lookup_write(key) {
        None => false,
        Some(o) => {
            hll_bytes(&o.v)?;
            true
        }
    };
    if !exists {
        ctx.db().add(key, Value::Str(Str::raw(hll::new_sparse())));
        updated += 1;
    }
    let o = ctx.lookup_write(key).ok_or(CmdError::NoSuchKey)?;
    let b = hll_mut(o)?;
    let mut bad = false;
    for e in args.iter().skip(2) {
        match hll::add(b, e, max) {
            Ok(true) => updated += 1,
            Ok(false) => {}
            Err(_) => {
                bad = true;
                break;
            }
        }
    }
    if bad {
        return Err(corrupted());
    }
    if updated > 0 {
        hll::invalidate_cache(b);
        ctx.wrote(key, "pfadd", notify::STRING);
        ctx.st.dirty += updated - 1;
    }
    ctx.c.reply.int((updated > 0) as i64);
    Ok(())
}

/// PFCOUNT key [key ...]: one key answers from (and refreshes) its cached
/// cardinality; several keys count their union.
pub fn pfcount(ctx: &mut Ctx, args: &Args) -> CmdResult {
    if args.len() > 2 {
        let mut max = vec![0u8; hll::REGISTERS];
        for k in args.iter().skip(1) {
            let Some(o) = ctx.lookup(k) else {
                continue;
            };
            let b = hll_bytes(&o.v)?;
            hll::merge_into(&mut max, b).map_err(|_| corrupted())?;
        }
        let n = hll::estimate(&hll::raw_histogram(&max));
        ctx.c.reply.int(n as i64);
        return Ok(());
    }
    let key = &args[1];
    let Some(o) = ctx.lookup(key) else {
        ctx.c.reply.int(0);
        return Ok(());
    };
    let b = hll_bytes(&o.v)?;
    if let Some(n) = hll::cached(b) {
        ctx.c.reply.int(n as i64);
        return Ok(());
    }
    let n = hll::estimate(&hll::histogram(b).map_err(|_| corrupted())?);
    hll::set_cache(hll_mut(o)?, n);
    ctx.st.dirty += 1;
    let db = ctx.c.db;
    ctx.st.key_modified(db, key);
    ctx.c.reply.int(n as i64);
    Ok(())
}

/// PFMERGE destkey [sourcekey ...]
pub fn pfmerge(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let mut max = vec![0u8; hll::REGISTERS];
    let mut dense = false;
    for k in args.iter().skip(1) {
        let Some(o) = ctx.lookup(k) else {
            continue;
        };
        let b = hll_bytes(&o.v)?;
        dense |= hll::is_dense(b);
        hll::merge_into(&mut max, b).map_err(|_| corrupted())?;
    }
    let key = &args[1];
    let limit = sparse_max(ctx);
    if ctx.lookup_write(key).is_none() {
        ctx.db().add(key, Value::Str(Str::raw(hll::new_sparse())));
    }
    let o = ctx.lookup_write(key).ok_or(CmdError::NoSuchKey)?;
    let b = hll_mut(o)?;
    if dense {
        if !hll::is_dense(b) {
            *b = hll::sparse_to_dense(b).map_err(|_| corrupted())?;
        }
        let regs = &mut b[hll::HDR..];
        for (i, &v) in max.iter().enumerate() {
            hll::set_reg(regs, i, v);
        }
    } else {
        for (i, &v) in max.iter().enumerate() {
            if v == 0 {
                continue;
            }
            if hll::is_dense(b) {
                hll::dense_set(&mut b[hll::HDR..], i, v);
            } else {
                let _ = hll::sparse_set(b, i, v, limit);
            }
        }
    }
    hll::invalidate_cache(b);
    ctx.wrote(key, "pfadd", notify::STRING);
    ctx.ok()
}

/// PFDEBUG GETREG|DECODE|ENCODING|TODENSE key, PFDEBUG SIMD ON|OFF
pub fn pfdebug(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let sub = &args[1];
    if eq_ic(sub, "simd") {
        if !eq_ic(&args[2], "on") && !eq_ic(&args[2], "off") {
            return Err(CmdError::msg("ERR Argument must be ON or OFF"));
        }
        // There is one (portable) implementation: nothing to switch.
        ctx.c.reply.simple("disabled");
        return Ok(());
    }
    let key = &args[2];
    let Some(o) = ctx.lookup_write(key) else {
        return Err(CmdError::msg("ERR The specified key does not exist"));
    };
    let b = hll_mut(o)?;
    if eq_ic(sub, "getreg") {
        let mut converted = false;
        if !hll::is_dense(b) {
            *b = hll::sparse_to_dense(b).map_err(|_| corrupted())?;
            converted = true;
        }
        let regs: Vec<u8> = (0..hll::REGISTERS)
            .map(|i| hll::get_reg(&b[hll::HDR..], i))
            .collect();
        if converted {
            ctx.st.dirty += 1;
        }
        let r = &mut ctx.c.reply;
        r.array(regs.len());
        for v in regs {
            r.int(v as i64);
        }
    } else if eq_ic(sub, "decode") {
        if hll::is_dense(b) {
            return Err(CmdError::msg("ERR HLL encoding is not sparse"));
        }
        let s = hll::decode_sparse(b);
        ctx.c.reply.bulk(s.as_bytes());
    } else if eq_ic(sub, "encoding") {
        let e = if hll::is_dense(b) { "dense" } else { "sparse" };
        ctx.c.reply.simple(e);
    } else if eq_ic(sub, "todense") {
        let mut conv = false;
        if !hll::is_dense(b) {
            *b = hll::sparse_to_dense(b).map_err(|_| corrupted())?;
            conv = true;
            ctx.st.dirty += 1;
        }
        ctx.c.reply.int(conv as i64);
    } else {
        return Err(CmdError::msg(format!(
            "ERR Unknown PFDEBUG subcommand '{}'",
            String::from_utf8_lossy(sub)
        )));
    }
    Ok(())
}

/// PFSELFTEST: checks register access and the estimator's error on
/// dense and sparse HLLs fed the same ten million elements.
pub fn pfselftest(ctx: &mut Ctx, _args: &Args) -> CmdResult {
    let max_bytes = sparse_max(ctx);
    match selftest(max_bytes) {
        Ok(()) => ctx.ok(),
        Err(e) => Err(CmdError::msg(e)),
    }
}

fn selftest(max_bytes: usize) -> Result<(), String> {
    let mut seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(1)
        | 1;
    let mut rnd = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let mut regs = vec![0u8; hll::DENSE_SIZE - hll::HDR];
    let mut bytes = vec![0u8; hll::REGISTERS];
    for _ in 0..1000 {
        for (i, b) in bytes.iter_mut().enumerate() {
            *b = (rnd() & 63) as u8;
            hll::set_reg(&mut regs, i, *b);
        }
        for (i, &b) in bytes.iter().enumerate() {
            let v = hll::get_reg(&regs, i);
            if v != b {
                return Err(format!("TESTFAILED Register {i} should be {b} but is {v}"));
            }
        }
    }
    let mut dense = hll::sparse_to_dense(&hll::new_sparse()).map_err(|_| "TESTFAILED")?;
    let mut sparse = hll::new_sparse();
    let relerr = 1.04 / (hll::REGISTERS as f64).sqrt();
    let mut checkpoint: u64 = 1;
    let s = rnd();
    for j in 1..=10_000_000u64 {
        let ele = (j ^ s).to_ne_bytes();
        let _ = hll::add(&mut dense, &ele, max_bytes);
        let _ = hll::add(&mut sparse, &ele, max_bytes);
        if j != checkpoint {
            continue;
        }
        if (j as usize) < max_bytes / 2 && hll::is_dense(&sparse) {
            return Err("TESTFAILED sparse encoding not used".into());
        }
        let cd = hll::estimate(&hll::histogram(&dense).map_err(|_| "TESTFAILED")?);
        let cs = hll::estimate(&hll::histogram(&sparse).map_err(|_| "TESTFAILED")?);
        if cd != cs {
            return Err("TESTFAILED dense/sparse disagree".into());
        }
        let abserr = (checkpoint as i64 - cd as i64).unsigned_abs();
        let mut maxerr = (relerr * 6.0 * checkpoint as f64).ceil() as u64;
        if j == 10 {
            maxerr = 1;
        }
        if abserr > maxerr {
            return Err(format!(
                "TESTFAILED Too big error. card:{checkpoint} abserr:{abserr}"
            ));
        }
        checkpoint *= 10;
    }
    Ok(())
}
