//! Sorted set commands over `Value::ZSet` (`crate::types::zset::ZSet`).
//!
//! Layout follows `t_zset.c`: argument parsing (scores, score and lex
//! ranges), then the commands. Every range query is turned into an interval
//! of ranks (`Query::ranks`) and walked through a `RangeSink`, which either
//! replies (ZRANGE and its deprecated forms) or builds a new sorted set
//! (ZRANGESTORE), like Redis's `zrange_result_handler`.

use crate::command::flags::*;
use crate::command::{
    ArgExt, CmdError, CmdResult, CommandSpec, Ctx, NO_KEYS, ReplyBuf, cmd, keys, range_arg,
};
use crate::config::notify;
use crate::db::Value;
use crate::resp::Args;
use crate::types::zset::{AddFlags, AddResult, Limits, ZSet};
use crate::util::eq_ic;
use std::cmp::Ordering;
use std::collections::{HashMap, HashSet};

/// Key finder of ZUNIONSTORE, ZINTERSTORE and ZDIFFSTORE: the sources,
/// then the destination (only with valid sources), in the order of Redis's
/// finder.
fn store_keys(args: &Args) -> Vec<crate::command::keyspecs::KeyRef> {
    let mut keys = crate::commands::list::mpop_key_positions(args, 2);
    if !keys.is_empty() {
        keys.push(1);
    }
    crate::command::unflagged(keys)
}

pub static COMMANDS: &[CommandSpec] = &[
    cmd(
        "zadd",
        -4,
        WRITE | DENYOOM | FAST,
        keys(1, 1, 1),
        "sorted-set",
        "1.2.0",
        "Adds one or more members to a sorted set, or updates their scores. Creates the key if it doesn't exist.",
        zadd,
    ),
    cmd(
        "zincrby",
        4,
        WRITE | DENYOOM | FAST,
        keys(1, 1, 1),
        "sorted-set",
        "1.2.0",
        "Increments the score of a member in a sorted set.",
        zincrby,
    ),
    cmd(
        "zrem",
        -3,
        WRITE | FAST,
        keys(1, 1, 1),
        "sorted-set",
        "1.2.0",
        "Removes one or more members from a sorted set. Deletes the sorted set if all members were removed.",
        zrem,
    ),
    cmd(
        "zcard",
        2,
        READONLY | FAST,
        keys(1, 1, 1),
        "sorted-set",
        "1.2.0",
        "Returns the number of members in a sorted set.",
        zcard,
    ),
    cmd(
        "zscore",
        3,
        READONLY | FAST,
        keys(1, 1, 1),
        "sorted-set",
        "1.2.0",
        "Returns the score of a member in a sorted set.",
        zscore,
    ),
    cmd(
        "zmscore",
        -3,
        READONLY | FAST,
        keys(1, 1, 1),
        "sorted-set",
        "6.2.0",
        "Returns the score of one or more members in a sorted set.",
        zmscore,
    ),
    cmd(
        "zrank",
        -3,
        READONLY | FAST,
        keys(1, 1, 1),
        "sorted-set",
        "2.0.0",
        "Returns the index of a member in a sorted set ordered by ascending scores.",
        zrank,
    ),
    cmd(
        "zrevrank",
        -3,
        READONLY | FAST,
        keys(1, 1, 1),
        "sorted-set",
        "2.0.0",
        "Returns the index of a member in a sorted set ordered by descending scores.",
        zrevrank,
    ),
    cmd(
        "zcount",
        4,
        READONLY | FAST,
        keys(1, 1, 1),
        "sorted-set",
        "2.0.0",
        "Returns the count of members in a sorted set that have scores within a range.",
        zcount,
    ),
    cmd(
        "zlexcount",
        4,
        READONLY | FAST,
        keys(1, 1, 1),
        "sorted-set",
        "2.8.9",
        "Returns the number of members in a sorted set within a lexicographical range.",
        zlexcount,
    ),
    cmd(
        "zrange",
        -4,
        READONLY,
        keys(1, 1, 1),
        "sorted-set",
        "1.2.0",
        "Returns members in a sorted set within a range of indexes.",
        zrange,
    ),
    cmd(
        "zrangestore",
        -5,
        WRITE | DENYOOM,
        keys(1, 2, 1),
        "sorted-set",
        "6.2.0",
        "Stores a range of members from sorted set in a key.",
        zrangestore,
    ),
    cmd(
        "zrevrange",
        -4,
        READONLY,
        keys(1, 1, 1),
        "sorted-set",
        "1.2.0",
        "Returns members in a sorted set within a range of indexes in reverse order.",
        zrevrange,
    ),
    cmd(
        "zrangebyscore",
        -4,
        READONLY,
        keys(1, 1, 1),
        "sorted-set",
        "1.0.5",
        "Returns members in a sorted set within a range of scores.",
        zrangebyscore,
    ),
    cmd(
        "zrevrangebyscore",
        -4,
        READONLY,
        keys(1, 1, 1),
        "sorted-set",
        "2.2.0",
        "Returns members in a sorted set within a range of scores in reverse order.",
        zrevrangebyscore,
    ),
    cmd(
        "zrangebylex",
        -4,
        READONLY,
        keys(1, 1, 1),
        "sorted-set",
        "2.8.9",
        "Returns members in a sorted set within a lexicographical range.",
        zrangebylex,
    ),
    cmd(
        "zrevrangebylex",
        -4,
        READONLY,
        keys(1, 1, 1),
        "sorted-set",
        "2.8.9",
        "Returns members in a sorted set within a lexicographical range in reverse order.",
        zrevrangebylex,
    ),
    cmd(
        "zremrangebyrank",
        4,
        WRITE,
        keys(1, 1, 1),
        "sorted-set",
        "2.0.0",
        "Removes members in a sorted set within a range of indexes. Deletes the sorted set if all members were removed.",
        zremrangebyrank,
    ),
    cmd(
        "zremrangebyscore",
        4,
        WRITE,
        keys(1, 1, 1),
        "sorted-set",
        "1.2.0",
        "Removes members in a sorted set within a range of scores. Deletes the sorted set if all members were removed.",
        zremrangebyscore,
    ),
    cmd(
        "zremrangebylex",
        4,
        WRITE,
        keys(1, 1, 1),
        "sorted-set",
        "2.8.9",
        "Removes members in a sorted set within a lexicographical range. Deletes the sorted set if all members were removed.",
        zremrangebylex,
    ),
    cmd(
        "zpopmin",
        -2,
        WRITE | FAST,
        keys(1, 1, 1),
        "sorted-set",
        "5.0.0",
        "Returns the lowest-scoring members from a sorted set after removing them. Deletes the sorted set if the last member was popped.",
        zpopmin,
    ),
    cmd(
        "zpopmax",
        -2,
        WRITE | FAST,
        keys(1, 1, 1),
        "sorted-set",
        "5.0.0",
        "Returns the highest-scoring members from a sorted set after removing them. Deletes the sorted set if the last member was popped.",
        zpopmax,
    ),
    cmd(
        "bzpopmin",
        -3,
        WRITE | FAST | BLOCKING,
        keys(1, -2, 1),
        "sorted-set",
        "5.0.0",
        "Removes and returns the member with the lowest score from one or more sorted sets. Blocks until a member is available otherwise. Deletes the sorted set if the last element was popped.",
        bzpopmin,
    ),
    cmd(
        "bzpopmax",
        -3,
        WRITE | FAST | BLOCKING,
        keys(1, -2, 1),
        "sorted-set",
        "5.0.0",
        "Removes and returns the member with the highest score from one or more sorted sets. Blocks until a member available otherwise.  Deletes the sorted set if the last element was popped.",
        bzpopmax,
    ),
    // Key positions depend on numkeys; the legacy triple names the first.
    CommandSpec {
        getkeys: Some(crate::commands::list::mpop_finder),
        ..cmd(
            "zmpop",
            -4,
            WRITE,
            NO_KEYS,
            "sorted-set",
            "7.0.0",
            "Returns the highest- or lowest-scoring members from one or more sorted sets after removing them. Deletes the sorted set if the last member was popped.",
            zmpop,
        )
    },
    CommandSpec {
        getkeys: Some(crate::commands::list::blmpop_finder),
        ..cmd(
            "bzmpop",
            -5,
            WRITE | BLOCKING,
            NO_KEYS,
            "sorted-set",
            "7.0.0",
            "Removes and returns a member by score from one or more sorted sets. Blocks until a member is available otherwise. Deletes the sorted set if the last element was popped.",
            bzmpop,
        )
    },
    CommandSpec {
        getkeys: Some(crate::commands::list::mpop_finder),
        ..cmd(
            "zunion",
            -3,
            READONLY,
            NO_KEYS,
            "sorted-set",
            "6.2.0",
            "Returns the union of multiple sorted sets.",
            zunion,
        )
    },
    CommandSpec {
        getkeys: Some(crate::commands::list::mpop_finder),
        ..cmd(
            "zinter",
            -3,
            READONLY,
            NO_KEYS,
            "sorted-set",
            "6.2.0",
            "Returns the intersect of multiple sorted sets.",
            zinter,
        )
    },
    CommandSpec {
        getkeys: Some(crate::commands::list::mpop_finder),
        ..cmd(
            "zdiff",
            -3,
            READONLY,
            NO_KEYS,
            "sorted-set",
            "6.2.0",
            "Returns the difference between multiple sorted sets.",
            zdiff,
        )
    },
    CommandSpec {
        getkeys: Some(store_keys),
        ..cmd(
            "zunionstore",
            -4,
            WRITE | DENYOOM,
            keys(1, 1, 1),
            "sorted-set",
            "2.0.0",
            "Stores the union of multiple sorted sets in a key.",
            zunionstore,
        )
    },
    CommandSpec {
        getkeys: Some(store_keys),
        ..cmd(
            "zinterstore",
            -4,
            WRITE | DENYOOM,
            keys(1, 1, 1),
            "sorted-set",
            "2.0.0",
            "Stores the intersect of multiple sorted sets in a key.",
            zinterstore,
        )
    },
    CommandSpec {
        getkeys: Some(store_keys),
        ..cmd(
            "zdiffstore",
            -4,
            WRITE | DENYOOM,
            keys(1, 1, 1),
            "sorted-set",
            "6.2.0",
            "Stores the difference of multiple sorted sets in a key.",
            zdiffstore,
        )
    },
    CommandSpec {
        getkeys: Some(crate::commands::list::mpop_finder),
        ..cmd(
            "zintercard",
            -3,
            READONLY,
            NO_KEYS,
            "sorted-set",
            "7.0.0",
            "Returns the number of members of the intersect of multiple sorted sets.",
            zintercard,
        )
    },
    cmd(
        "zrandmember",
        -2,
        READONLY,
        keys(1, 1, 1),
        "sorted-set",
        "6.2.0",
        "Returns one or more random members from a sorted set.",
        zrandmember,
    ),
    cmd(
        "zscan",
        -3,
        READONLY,
        keys(1, 1, 1),
        "sorted-set",
        "2.8.0",
        "Iterates over members and scores of a sorted set.",
        zscan,
    ),
];

/* ---------------------------------------------------------------------
 * Argument parsing
 * ------------------------------------------------------------------- */

/// The conversion thresholds in force.
fn limits(_ctx: &Ctx) -> Limits {
    Limits::current()
}

/// Parses a score as `strtod` does for Redis: decimal, `inf` spellings and
/// C99 hex floats (`0x1p+0`); NaN and overflow to infinity are refused.
pub fn parse_score(b: &[u8]) -> Option<f64> {
    let v = crate::util::parse_f64(b).or_else(|| parse_hex_float(b))?;
    if v.is_infinite() {
        let t = b.strip_prefix(b"+").or(b.strip_prefix(b"-")).unwrap_or(b);
        if !t.first().is_some_and(|c| c.eq_ignore_ascii_case(&b'i')) {
            return None;
        }
    }
    Some(v)
}

/// `[+-]0x<hex>[.<hex>][p[+-]<dec>]`.
pub(crate) fn parse_hex_float(b: &[u8]) -> Option<f64> {
    let (neg, rest) = match b.first()? {
        b'-' => (true, &b[1..]),
        b'+' => (false, &b[1..]),
        _ => (false, b),
    };
    let rest = rest
        .strip_prefix(b"0x")
        .or_else(|| rest.strip_prefix(b"0X"))?;
    let (mant, exp) = match rest.iter().position(|&c| c == b'p' || c == b'P') {
        Some(i) => (&rest[..i], Some(&rest[i + 1..])),
        None => (rest, None),
    };
    let mut v = 0f64;
    let mut scale = 0i32;
    let mut seen_dot = false;
    let mut digits = 0;
    for &c in mant {
        if c == b'.' && !seen_dot {
            seen_dot = true;
            continue;
        }
        let d = (c as char).to_digit(16)? as f64;
        v = v * 16.0 + d;
        digits += 1;
        if seen_dot {
            scale -= 4;
        }
    }
    if digits == 0 {
        return None;
    }
    let e: i32 = match exp {
        Some(e) => {
            let s = std::str::from_utf8(e).ok()?;
            if s.is_empty() || s.starts_with(' ') {
                return None;
            }
            s.parse::<i32>().ok()?
        }
        None => 0,
    };
    let v = v * 2f64.powi(e.saturating_add(scale));
    Some(if neg { -v } else { v })
}

fn score_at(args: &Args, i: usize) -> Result<f64, CmdError> {
    parse_score(&args[i]).ok_or(CmdError::NotFloat)
}

/// A score interval, as `zslParseRange` reads it (`(` makes a bound
/// exclusive).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ScoreRange {
    pub min: f64,
    pub max: f64,
    pub minex: bool,
    pub maxex: bool,
}

fn parse_bound(b: &[u8]) -> Option<(f64, bool)> {
    let (num, ex) = match b.first() {
        Some(b'(') => (&b[1..], true),
        _ => (b, false),
    };
    // zslParseRange's strtod stops at once on an empty string, leaving
    // nothing unparsed: "" and "(" read as 0.
    if num.is_empty() {
        return Some((0.0, ex));
    }
    parse_score(num).map(|v| (v, ex))
}

pub fn parse_score_range(min: &[u8], max: &[u8]) -> Result<ScoreRange, CmdError> {
    let bad = || CmdError::msg("ERR min or max is not a float");
    let (min, minex) = parse_bound(min).ok_or_else(bad)?;
    let (max, maxex) = parse_bound(max).ok_or_else(bad)?;
    Ok(ScoreRange {
        min,
        max,
        minex,
        maxex,
    })
}

/// One end of a lex interval.
#[derive(Clone, Debug, PartialEq)]
pub enum LexBound {
    NegInf,
    PosInf,
    Incl(Vec<u8>),
    Excl(Vec<u8>),
}

fn parse_lex_bound(b: &[u8]) -> Option<LexBound> {
    match b.first()? {
        b'+' if b.len() == 1 => Some(LexBound::PosInf),
        b'-' if b.len() == 1 => Some(LexBound::NegInf),
        b'(' => Some(LexBound::Excl(b[1..].to_vec())),
        b'[' => Some(LexBound::Incl(b[1..].to_vec())),
        _ => None,
    }
}

pub fn parse_lex_range(min: &[u8], max: &[u8]) -> Result<(LexBound, LexBound), CmdError> {
    let bad = || CmdError::msg("ERR min or max not valid string range item");
    Ok((
        parse_lex_bound(min).ok_or_else(bad)?,
        parse_lex_bound(max).ok_or_else(bad)?,
    ))
}

/// What a range query selects.
#[derive(Clone, Debug)]
pub enum Query {
    Rank(i64, i64),
    Score(ScoreRange),
    Lex(LexBound, LexBound),
}

impl Query {
    /// The ascending rank interval `[lo, hi)` the query covers in `z`.
    pub fn ranks(&self, z: &ZSet) -> (usize, usize) {
        match self {
            Query::Rank(s, e) => match crate::commands::list::list_range(*s, *e, z.len()) {
                Some((s, e)) => (s, e + 1),
                None => (0, 0),
            },
            Query::Score(r) => {
                let lo = z.count_before(|s, _| if r.minex { s <= r.min } else { s < r.min });
                let hi = z.count_before(|s, _| if r.maxex { s < r.max } else { s <= r.max });
                (lo, hi.max(lo))
            }
            Query::Lex(min, max) => lex_ranks(z, min, max),
        }
    }
}

/// `sdscmplex` against a bound: `value >= min` (or `>` when exclusive).
fn gte_min(e: &[u8], min: &LexBound) -> bool {
    match min {
        LexBound::NegInf => true,
        LexBound::PosInf => false,
        LexBound::Incl(x) => e >= &x[..],
        LexBound::Excl(x) => e > &x[..],
    }
}

/// `value <= max` (or `<` when exclusive).
fn lte_max(e: &[u8], max: &LexBound) -> bool {
    match max {
        LexBound::NegInf => false,
        LexBound::PosInf => true,
        LexBound::Incl(x) => e <= &x[..],
        LexBound::Excl(x) => e < &x[..],
    }
}

/// A lex interval that can hold nothing: min above max, or equal with an
/// exclusive end.
fn lex_empty(min: &LexBound, max: &LexBound) -> bool {
    use LexBound::*;
    let key = |b: &LexBound| -> (u8, Vec<u8>, bool) {
        match b {
            NegInf => (0, Vec::new(), false),
            Incl(x) => (1, x.clone(), false),
            Excl(x) => (1, x.clone(), true),
            PosInf => (2, Vec::new(), false),
        }
    };
    let ((a, x, ax), (b, y, bx)) = (key(min), key(max));
    match (a, &x).cmp(&(b, &y)) {
        Ordering::Greater => true,
        Ordering::Equal => ax || bx || a != 1,
        Ordering::Less => false,
    }
}

/// The ascending ranks `[lo, hi)` a lex interval selects, found as Redis
/// finds them (`zzlFirstInLexRange`, then forward while `<= max`): the
/// interval must touch the set's ends, `lo` is the first member `>= min`,
/// and the run stops at the first member past `max`. Over members of one
/// score (the documented use) that is plain bisection; over mixed scores
/// Redis walks a listpack linearly, which we repeat, while a skiplist's
/// answer depends on its random levels, so bisection is as good.
fn lex_ranks(z: &ZSet, min: &LexBound, max: &LexBound) -> (usize, usize) {
    let n = z.len();
    let ends = z.at(0).zip(z.at(n.wrapping_sub(1)));
    let Some(((first, _), (last, _))) = ends else {
        return (0, 0);
    };
    if lex_empty(min, max) || !gte_min(last, min) || !lte_max(first, max) {
        return (0, 0);
    }
    let lo = z.count_before(|_, e| !gte_min(e, min));
    if !z.at(lo).is_some_and(|(e, _)| lte_max(e, max)) {
        return (0, 0);
    }
    if z.encoding() != "listpack" {
        return (lo, z.count_before(|_, e| lte_max(e, max)).max(lo));
    }
    let mut hi = lo;
    z.for_range(lo, n, false, |e, _| {
        let in_range = lte_max(e, max);
        hi += usize::from(in_range);
        in_range
    });
    (lo, hi)
}

/// BYLEX with LIMIT over a listpack, step for step as
/// `genericZrangebylexCommand` walks one: from the first member in range
/// (reversed: the last), `offset` members skipped without looking at them,
/// then members while they stay on the near side of the far bound. Over
/// mixed scores that can reach past `lex_ranks`' run, and the reversed
/// walk can select other members than the forward one.
fn lex_walk_listpack(
    all: &[(&[u8], f64)],
    (min, max): (&LexBound, &LexBound),
    rev: bool,
    offset: i64,
    limit: i64,
    sink: &mut dyn RangeSink,
) {
    sink.begin(None);
    let (Some(&(first, _)), Some(&(last, _))) = (all.first(), all.last()) else {
        return;
    };
    if lex_empty(min, max) || !gte_min(last, min) || !lte_max(first, max) {
        return;
    }
    let start = if rev {
        all.iter().rposition(|&(e, _)| lte_max(e, max))
    } else {
        all.iter().position(|&(e, _)| gte_min(e, min))
    };
    let Some(start) = start else {
        return;
    };
    let e = all[start].0;
    if (rev && !gte_min(e, min)) || (!rev && !lte_max(e, max)) || offset < 0 {
        return; // a negative offset counts down without end in Redis's loop
    }
    let walk: Box<dyn Iterator<Item = &(&[u8], f64)>> = if rev {
        Box::new(all[..=start].iter().rev())
    } else {
        Box::new(all[start..].iter())
    };
    let take = if limit < 0 {
        usize::MAX
    } else {
        limit as usize
    };
    for &(e, s) in walk.skip(offset as usize).take(take) {
        if (rev && !gte_min(e, min)) || (!rev && !lte_max(e, max)) {
            break;
        }
        sink.emit(e, s);
    }
}

/* ---------------------------------------------------------------------
 * Replies
 * ------------------------------------------------------------------- */

/// One (member, score) of a WITHSCORES reply: flat in RESP2, a pair in
/// RESP3.
fn reply_pair(r: &mut ReplyBuf, ele: &[u8], score: f64, withscores: bool) {
    if withscores && r.resp >= 3 {
        r.array(2);
    }
    r.bulk(ele);
    if withscores {
        r.double(score);
    }
}

/// Header of a list of `n` results, WITHSCORES or not.
fn reply_len(r: &mut ReplyBuf, n: usize, withscores: bool) {
    if withscores && r.resp < 3 {
        r.array(n * 2);
    } else {
        r.array(n);
    }
}

/// Deletes `key` if its sorted set became empty, with the "del" event.
fn delete_if_empty(ctx: &mut Ctx, key: &[u8]) {
    let empty = matches!(
        ctx.lookup_write(key)
            .map(|o| o.v.as_zset().map(|z| z.is_empty())),
        Some(Ok(true))
    );
    if empty {
        ctx.emptied(key);
    }
}

/// Stores `z` at `dst` (replacing whatever was there) replying its size, or
/// deletes `dst` and replies 0 when `z` is empty.
fn store_result(ctx: &mut Ctx, dst: &[u8], z: ZSet, event: &str) {
    let n = z.len();
    if n > 0 {
        ctx.db().set(dst, Value::ZSet(Box::new(z)), false);
        ctx.wrote(dst, event, notify::ZSET);
    } else if ctx.lookup_write(dst).is_some() {
        ctx.db().delete(dst);
        ctx.wrote(dst, "del", notify::GENERIC);
    }
    ctx.c.reply.int(n as i64);
}

/* ---------------------------------------------------------------------
 * ZADD, ZINCRBY, ZREM
 * ------------------------------------------------------------------- */

/// ZADD key [NX|XX] [GT|LT] [CH] [INCR] score member [score member ...]
pub fn zadd(ctx: &mut Ctx, args: &Args) -> CmdResult {
    zadd_generic(ctx, args, false)
}

/// ZINCRBY key increment member
pub fn zincrby(ctx: &mut Ctx, args: &Args) -> CmdResult {
    zadd_generic(ctx, args, true)
}

/// Redis's `zaddGenericCommand`: all scores are parsed before anything
/// changes, so a bad pair leaves the set untouched.
///
/// # Errors
/// Syntax (odd pairs), incompatible flags, INCR with several pairs, a
/// score that is not a float, WRONGTYPE, a NaN result.
fn zadd_generic(ctx: &mut Ctx, args: &Args, incr_cmd: bool) -> CmdResult {
    let mut fl = AddFlags {
        incr: incr_cmd,
        ..Default::default()
    };
    let mut ch = false;
    let mut i = 2;
    while i < args.len() {
        let a = &args[i];
        if eq_ic(a, "nx") {
            fl.nx = true;
        } else if eq_ic(a, "xx") {
            fl.xx = true;
        } else if eq_ic(a, "ch") {
            ch = true;
        } else if eq_ic(a, "incr") {
            fl.incr = true;
        } else if eq_ic(a, "gt") {
            fl.gt = true;
        } else if eq_ic(a, "lt") {
            fl.lt = true;
        } else {
            break;
        }
        i += 1;
    }
    let rest = args.len() - i;
    if rest % 2 == 1 || rest == 0 {
        return Err(CmdError::Syntax);
    }
    let n = rest / 2;
    if fl.nx && fl.xx {
        return Err(CmdError::msg(
            "ERR XX and NX options at the same time are not compatible",
        ));
    }
    if ((fl.gt || fl.lt) && fl.nx) || (fl.gt && fl.lt) {
        return Err(CmdError::msg(
            "ERR GT, LT, and/or NX options at the same time are not compatible",
        ));
    }
    if fl.incr && n > 1 {
        return Err(CmdError::msg(
            "ERR INCR option supports a single increment-element pair",
        ));
    }
    let mut scores = Vec::with_capacity(n);
    for j in 0..n {
        scores.push(score_at(args, i + 2 * j)?);
    }
    let key = &args[1];
    let lim = limits(ctx);
    let exists = match ctx.lookup_write(key) {
        Some(o) => {
            o.v.as_zset()?;
            true
        }
        None => false,
    };
    let (mut added, mut updated, mut processed) = (0, 0, 0);
    let mut last = 0.0;
    let mut nan = false;
    if exists || !fl.xx {
        if !exists {
            let z = ZSet::with_hint(n, args[i + 1].len(), lim);
            ctx.db().add(key, Value::ZSet(Box::new(z)));
        }
        let o = ctx.lookup_write(key).ok_or(CmdError::NoSuchKey)?;
        let z = o.v.as_zset_mut()?;
        z.maybe_convert(n, lim);
        for (j, &score) in scores.iter().enumerate() {
            match z.add(&args[i + 1 + 2 * j], score, fl, lim) {
                AddResult::Nan => {
                    nan = true;
                    break;
                }
                AddResult::Added(s) => {
                    added += 1;
                    processed += 1;
                    last = s;
                }
                AddResult::Updated(s) => {
                    updated += 1;
                    processed += 1;
                    last = s;
                }
                AddResult::Same(s) => {
                    processed += 1;
                    last = s;
                }
                AddResult::Nop => {}
            }
        }
        if added + updated > 0 {
            ctx.wrote(key, if fl.incr { "zincr" } else { "zadd" }, notify::ZSET);
            ctx.st.dirty += (added + updated - 1) as u64;
        }
        if !exists && added == 0 {
            // Created for nothing (every pair refused): leave no empty set.
            ctx.db().delete(key);
        }
    }
    if nan {
        return Err(CmdError::msg("ERR resulting score is not a number (NaN)"));
    }
    let r = &mut ctx.c.reply;
    if fl.incr {
        if processed > 0 {
            r.double(last);
        } else {
            r.null();
        }
    } else {
        r.int(if ch { added + updated } else { added } as i64);
    }
    Ok(())
}

/// ZREM key member [member ...]
pub fn zrem(ctx: &mut Ctx, args: &Args) -> CmdResult {
    crate::command::remove_members(
        ctx,
        args,
        crate::db::Value::as_zset_mut,
        "zrem",
        notify::ZSET,
    )
}

/* ---------------------------------------------------------------------
 * Simple reads
 * ------------------------------------------------------------------- */

/// ZCARD key
pub fn zcard(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let (o, r) = ctx.lookup_r(&args[1]);
    let n = match o {
        Some(o) => o.v.as_zset()?.len(),
        None => 0,
    };
    r.int(n as i64);
    Ok(())
}

/// ZSCORE key member
pub fn zscore(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let (o, r) = ctx.lookup_r(&args[1]);
    let s = match o {
        Some(o) => o.v.as_zset()?.score(&args[2]),
        None => None,
    };
    match s {
        Some(s) => r.double(s),
        None => r.null(),
    }
    Ok(())
}

/// ZMSCORE key member [member ...]
pub fn zmscore(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let (o, r) = ctx.lookup_r(&args[1]);
    let z = match o {
        Some(o) => Some(o.v.as_zset()?),
        None => None,
    };
    r.array(args.len() - 2);
    for m in args.iter().skip(2) {
        match z.and_then(|z| z.score(m)) {
            Some(s) => r.double(s),
            None => r.null(),
        }
    }
    Ok(())
}

/// ZRANK key member [WITHSCORE]
pub fn zrank(ctx: &mut Ctx, args: &Args) -> CmdResult {
    rank_generic(ctx, args, false)
}

/// ZREVRANK key member [WITHSCORE]
pub fn zrevrank(ctx: &mut Ctx, args: &Args) -> CmdResult {
    rank_generic(ctx, args, true)
}

fn rank_generic(ctx: &mut Ctx, args: &Args, rev: bool) -> CmdResult {
    if args.len() > 4 {
        return Err(CmdError::msg(format!(
            "ERR wrong number of arguments for '{}' command",
            if rev { "zrevrank" } else { "zrank" }
        )));
    }
    let withscore = if args.len() == 4 {
        if !eq_ic(&args[3], "withscore") {
            return Err(CmdError::Syntax);
        }
        true
    } else {
        false
    };
    let (o, r) = ctx.lookup_r(&args[1]);
    let Some(o) = o else {
        if withscore {
            r.null_array();
        } else {
            r.null();
        }
        return Ok(());
    };
    let z = o.v.as_zset()?;
    match z.rank(&args[2]) {
        Some((rank, score)) => {
            let rank = if rev { z.len() - 1 - rank } else { rank };
            if withscore {
                r.array(2);
                r.int(rank as i64);
                r.double(score);
            } else {
                r.int(rank as i64);
            }
        }
        None if withscore => r.null_array(),
        None => r.null(),
    }
    Ok(())
}

/// ZCOUNT key min max
pub fn zcount(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let q = Query::Score(parse_score_range(&args[2], &args[3])?);
    count_generic(ctx, args, q)
}

/// ZLEXCOUNT key min max
pub fn zlexcount(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let (min, max) = parse_lex_range(&args[2], &args[3])?;
    count_generic(ctx, args, Query::Lex(min, max))
}

fn count_generic(ctx: &mut Ctx, args: &Args, q: Query) -> CmdResult {
    let (o, r) = ctx.lookup_r(&args[1]);
    let n = match o {
        Some(o) => {
            let (lo, hi) = q.ranks(o.v.as_zset()?);
            hi - lo
        }
        None => 0,
    };
    r.int(n as i64);
    Ok(())
}

/* ---------------------------------------------------------------------
 * ZRANGE family
 * ------------------------------------------------------------------- */

/// Where the members a range query selects go: to the client or into a
/// new sorted set (Redis's `zrange_result_handler`).
trait RangeSink {
    /// Called once before the first member; `len` is the exact count when
    /// known up front (rank queries).
    fn begin(&mut self, len: Option<usize>);
    fn emit(&mut self, ele: &[u8], score: f64);
}

struct ReplySink<'a> {
    r: &'a mut ReplyBuf,
    withscores: bool,
    mark: usize,
    n: usize,
}

impl RangeSink for ReplySink<'_> {
    fn begin(&mut self, _len: Option<usize>) {
        self.mark = self.r.deferred();
    }
    fn emit(&mut self, ele: &[u8], score: f64) {
        self.n += 1;
        reply_pair(self.r, ele, score, self.withscores);
    }
}

impl ReplySink<'_> {
    fn finish(self) {
        let n = if self.withscores && self.r.resp < 3 {
            self.n * 2
        } else {
            self.n
        };
        self.r.set_deferred(self.mark, b'*', n);
    }
}

struct StoreSink {
    z: Option<ZSet>,
    lim: Limits,
}

impl RangeSink for StoreSink {
    fn begin(&mut self, len: Option<usize>) {
        self.z = Some(ZSet::with_hint(len.unwrap_or(0), 0, self.lim));
    }
    fn emit(&mut self, ele: &[u8], score: f64) {
        if let Some(z) = &mut self.z {
            z.add(ele, score, AddFlags::default(), self.lim);
        }
    }
}

/// Walks the members `q` selects, in order (or reversed), after skipping
/// `offset` and stopping at `limit` (negative: no limit) members.
fn run_query(z: &ZSet, q: &Query, rev: bool, offset: i64, limit: i64, sink: &mut dyn RangeSink) {
    if let Query::Lex(min, max) = q
        && let Some(all) = z.listpack_entries()
    {
        lex_walk_listpack(&all, (min, max), rev, offset, limit, sink);
        return;
    }
    let (lo, hi) = q.ranks(z);
    if let Query::Rank(..) = q {
        let n = hi - lo;
        sink.begin(Some(n));
        let (lo, hi) = if rev {
            (z.len() - hi, z.len() - lo)
        } else {
            (lo, hi)
        };
        z.for_range(lo, hi, rev, |e, s| {
            sink.emit(e, s);
            true
        });
        return;
    }
    sink.begin(None);
    if offset < 0 {
        negative_offset(z, (lo, hi), rev, offset, limit, sink);
        return;
    }
    if offset > 0 && offset as u64 >= z.len() as u64 {
        return;
    }
    let offset = offset as usize;
    let avail = (hi - lo).saturating_sub(offset);
    let take = if limit < 0 {
        avail
    } else {
        avail.min(limit as u64 as usize)
    };
    if take == 0 {
        return;
    }
    let (s, e) = if rev {
        (hi - offset - take, hi - offset)
    } else {
        (lo + offset, lo + offset + take)
    };
    z.for_range(s, e, rev, |e, s| {
        sink.emit(e, s);
        true
    });
}

/// A negative LIMIT offset, which Redis never rejects: what it selects
/// depends on the encoding. A listpack skips "-offset" entries without
/// end (the C loop counts down from below zero), so nothing is left. A
/// skiplist hands the offset to `zslNthInRange`, whose negative branch
/// counts back from the last member at or below `max`: forward, the walk
/// starts `-offset` members before the end of the interval; reversed, the
/// offset becomes `-offset-1` counted up from `min`, and the walk goes down
/// to `min`. Either way at most `-offset` members, then `limit`.
fn negative_offset(
    z: &ZSet,
    (lo, hi): (usize, usize),
    rev: bool,
    offset: i64,
    limit: i64,
    sink: &mut dyn RangeSink,
) {
    if z.encoding() == "listpack" || lo >= hi || limit == 0 {
        return;
    }
    let back = offset.unsigned_abs();
    let (s, e) = if rev {
        // The start is member `lo + back - 1`; it must still be in range.
        let first = lo as u64 + back - 1;
        if first >= hi as u64 {
            return;
        }
        (lo, first as usize + 1)
    } else {
        // The start is member `hi - back`; it must not fall below `lo`.
        if back > (hi - lo) as u64 {
            return;
        }
        (hi - back as usize, hi)
    };
    let take = if limit < 0 {
        e - s
    } else {
        (e - s).min(limit as u64 as usize)
    };
    let (s, e) = if rev { (e - take, e) } else { (s, s + take) };
    z.for_range(s, e, rev, |e, s| {
        sink.emit(e, s);
        true
    });
}

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Auto,
    Rank,
    Score,
    Lex,
}

/// Redis's `zrangeGenericCommand`: `src` is the index of the source key;
/// `dst` is the destination for ZRANGESTORE.
fn zrange_generic(
    ctx: &mut Ctx,
    args: &Args,
    src: usize,
    dst: Option<&[u8]>,
    kind: Kind,
    rev: Option<bool>,
) -> CmdResult {
    let store = dst.is_some();
    let mut kind = kind;
    let mut dir = rev;
    let mut withscores = false;
    let mut offset = 0i64;
    let mut limit = -1i64;
    let mut j = src + 3;
    while j < args.len() {
        let left = args.len() - j - 1;
        let a = &args[j];
        if !store && eq_ic(a, "withscores") {
            withscores = true;
        } else if eq_ic(a, "limit") && left >= 2 {
            offset = args.i64_at(j + 1)?;
            limit = args.i64_at(j + 2)?;
            j += 2;
        } else if rev.is_none() && eq_ic(a, "rev") {
            dir = Some(true);
        } else if kind == Kind::Auto && eq_ic(a, "bylex") {
            kind = Kind::Lex;
        } else if kind == Kind::Auto && eq_ic(a, "byscore") {
            kind = Kind::Score;
        } else {
            return Err(CmdError::Syntax);
        }
        j += 1;
    }
    let rev = dir.unwrap_or(false);
    if kind == Kind::Auto {
        kind = Kind::Rank;
    }
    if limit != -1 && kind == Kind::Rank {
        return Err(CmdError::msg(
            "ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX",
        ));
    }
    if withscores && kind == Kind::Lex {
        return Err(CmdError::msg(
            "ERR syntax error, WITHSCORES not supported in combination with BYLEX",
        ));
    }
    let (mut mi, mut ma) = (src + 1, src + 2);
    if rev && kind != Kind::Rank {
        std::mem::swap(&mut mi, &mut ma);
    }
    let q = match kind {
        Kind::Score => Query::Score(parse_score_range(&args[mi], &args[ma])?),
        Kind::Lex => {
            let (a, b) = parse_lex_range(&args[mi], &args[ma])?;
            Query::Lex(a, b)
        }
        _ => Query::Rank(args.i64_at(mi)?, args.i64_at(ma)?),
    };
    let lim = limits(ctx);
    match dst {
        None => {
            let (o, r) = ctx.lookup_r(&args[src]);
            let Some(o) = o else {
                r.array(0);
                return Ok(());
            };
            let z = o.v.as_zset()?;
            let mut sink = ReplySink {
                r,
                withscores,
                mark: 0,
                n: 0,
            };
            run_query(z, &q, rev, offset, limit, &mut sink);
            sink.finish();
        }
        Some(dst) => {
            let mut sink = StoreSink { z: None, lim };
            if let Some(o) = ctx.lookup(&args[src]) {
                run_query(o.v.as_zset()?, &q, rev, offset, limit, &mut sink);
            }
            let z = sink.z.unwrap_or(ZSet::empty());
            store_result(ctx, dst, z, "zrangestore");
        }
    }
    Ok(())
}

/// ZRANGE key start stop [BYSCORE|BYLEX] [REV] [LIMIT offset count] [WITHSCORES]
pub fn zrange(ctx: &mut Ctx, args: &Args) -> CmdResult {
    zrange_generic(ctx, args, 1, None, Kind::Auto, None)
}

/// ZRANGESTORE dst src min max [BYSCORE|BYLEX] [REV] [LIMIT offset count]
pub fn zrangestore(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let dst = args[1].to_vec();
    zrange_generic(ctx, args, 2, Some(&dst), Kind::Auto, None)
}

/// ZREVRANGE key start stop [WITHSCORES]
pub fn zrevrange(ctx: &mut Ctx, args: &Args) -> CmdResult {
    zrange_generic(ctx, args, 1, None, Kind::Rank, Some(true))
}

/// ZRANGEBYSCORE key min max [WITHSCORES] [LIMIT offset count]
pub fn zrangebyscore(ctx: &mut Ctx, args: &Args) -> CmdResult {
    zrange_generic(ctx, args, 1, None, Kind::Score, Some(false))
}

/// ZREVRANGEBYSCORE key max min [WITHSCORES] [LIMIT offset count]
pub fn zrevrangebyscore(ctx: &mut Ctx, args: &Args) -> CmdResult {
    zrange_generic(ctx, args, 1, None, Kind::Score, Some(true))
}

/// ZRANGEBYLEX key min max [LIMIT offset count]
pub fn zrangebylex(ctx: &mut Ctx, args: &Args) -> CmdResult {
    zrange_generic(ctx, args, 1, None, Kind::Lex, Some(false))
}

/// ZREVRANGEBYLEX key max min [LIMIT offset count]
pub fn zrevrangebylex(ctx: &mut Ctx, args: &Args) -> CmdResult {
    zrange_generic(ctx, args, 1, None, Kind::Lex, Some(true))
}

/* ---------------------------------------------------------------------
 * ZREMRANGEBY*
 * ------------------------------------------------------------------- */

/// ZREMRANGEBYRANK key start stop
pub fn zremrangebyrank(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let q = Query::Rank(args.i64_at(2)?, args.i64_at(3)?);
    remrange_generic(ctx, args, q, "zremrangebyrank")
}

/// ZREMRANGEBYSCORE key min max
pub fn zremrangebyscore(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let q = Query::Score(parse_score_range(&args[2], &args[3])?);
    remrange_generic(ctx, args, q, "zremrangebyscore")
}

/// ZREMRANGEBYLEX key min max
pub fn zremrangebylex(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let (a, b) = parse_lex_range(&args[2], &args[3])?;
    remrange_generic(ctx, args, Query::Lex(a, b), "zremrangebylex")
}

fn remrange_generic(ctx: &mut Ctx, args: &Args, q: Query, event: &str) -> CmdResult {
    let key = &args[1];
    let (o, r) = ctx.lookup_write_r(key);
    let Some(o) = o else {
        r.int(0);
        return Ok(());
    };
    let z = o.v.as_zset_mut()?;
    let (lo, hi) = q.ranks(z);
    let n = z.remove_range(lo, hi).len();
    r.int(n as i64);
    if n > 0 {
        ctx.wrote(key, event, notify::ZSET);
        ctx.st.dirty += n as u64 - 1;
        delete_if_empty(ctx, key);
    }
    Ok(())
}

/* ---------------------------------------------------------------------
 * Pops
 * ------------------------------------------------------------------- */

/// Pops up to `count` members from the min or max end of the sorted set
/// at `key` (which must exist and be non-empty), with the notifications
/// and the key deletion when it empties.
fn pop_members(
    ctx: &mut Ctx,
    key: &[u8],
    count: usize,
    max: bool,
) -> Result<Vec<(Vec<u8>, f64)>, CmdError> {
    let Some(o) = ctx.lookup_write(key) else {
        return Ok(Vec::new());
    };
    let z = o.v.as_zset_mut()?;
    let n = count.min(z.len());
    let mut out = if max {
        z.remove_range(z.len() - n, z.len())
    } else {
        z.remove_range(0, n)
    };
    if max {
        out.reverse();
    }
    if !out.is_empty() {
        ctx.wrote(key, if max { "zpopmax" } else { "zpopmin" }, notify::ZSET);
        ctx.st.dirty += out.len() as u64 - 1;
        delete_if_empty(ctx, key);
    }
    Ok(out)
}

/// ZPOPMIN key [count]
pub fn zpopmin(ctx: &mut Ctx, args: &Args) -> CmdResult {
    zpop_generic(ctx, args, false)
}

/// ZPOPMAX key [count]
pub fn zpopmax(ctx: &mut Ctx, args: &Args) -> CmdResult {
    zpop_generic(ctx, args, true)
}

fn zpop_generic(ctx: &mut Ctx, args: &Args, max: bool) -> CmdResult {
    if args.len() > 3 {
        return Err(CmdError::Syntax);
    }
    let count = if args.len() == 3 {
        Some(range_arg(
            &args[2],
            0,
            i64::MAX,
            Some("ERR value is out of range, must be positive"),
        )? as usize)
    } else {
        None
    };
    let key = &args[1];
    match ctx.lookup_write(key) {
        None => {
            ctx.c.reply.array(0);
            return Ok(());
        }
        Some(o) => {
            o.v.as_zset()?;
        }
    }
    if count == Some(0) {
        ctx.c.reply.array(0);
        return Ok(());
    }
    let out = pop_members(ctx, key, count.unwrap_or(1), max)?;
    let r = &mut ctx.c.reply;
    let nested = r.resp >= 3 && count.is_some();
    if nested {
        r.array(out.len());
    } else {
        r.array(out.len() * 2);
    }
    for (e, s) in &out {
        if nested {
            r.array(2);
        }
        r.bulk(e);
        r.double(*s);
    }
    Ok(())
}

/// The propagated form of a pop: `ZPOPMIN key [count]`.
fn propagate_pop(ctx: &mut Ctx, key: &[u8], max: bool, count: Option<usize>) {
    let mut v = vec![
        if max {
            b"zpopmax".to_vec()
        } else {
            b"zpopmin".to_vec()
        },
        key.to_vec(),
    ];
    if let Some(c) = count {
        v.push(c.to_string().into_bytes());
    }
    ctx.propagate_as(v);
}

/// ZMPOP numkeys key [key ...] MIN|MAX [COUNT count]
pub fn zmpop(ctx: &mut Ctx, args: &Args) -> CmdResult {
    zmpop_generic(ctx, args, 1, false)
}

/// BZMPOP timeout numkeys key [key ...] MIN|MAX [COUNT count]
pub fn bzmpop(ctx: &mut Ctx, args: &Args) -> CmdResult {
    zmpop_generic(ctx, args, 2, true)
}

fn zmpop_generic(ctx: &mut Ctx, args: &Args, numkeys_idx: usize, block: bool) -> CmdResult {
    let numkeys = range_arg(
        &args[numkeys_idx],
        1,
        i64::MAX,
        Some("ERR numkeys should be greater than 0"),
    )? as u64;
    let where_idx = (numkeys_idx as u64)
        .saturating_add(numkeys)
        .saturating_add(1);
    if where_idx >= args.len() as u64 {
        return Err(CmdError::Syntax);
    }
    let where_idx = where_idx as usize;
    let max = if eq_ic(&args[where_idx], "min") {
        false
    } else if eq_ic(&args[where_idx], "max") {
        true
    } else {
        return Err(CmdError::Syntax);
    };
    let mut count: Option<usize> = None;
    let mut j = where_idx + 1;
    while j < args.len() {
        if count.is_none() && eq_ic(&args[j], "count") && j + 1 < args.len() {
            count = Some(range_arg(
                &args[j + 1],
                1,
                i64::MAX,
                Some("ERR count should be greater than 0"),
            )? as usize);
            j += 2;
        } else {
            return Err(CmdError::Syntax);
        }
    }
    let count = count.unwrap_or(1);
    let keys: Vec<&[u8]> = (numkeys_idx + 1..where_idx).map(|i| &args[i][..]).collect();
    let timeout = if block {
        Some(crate::commands::list::parse_timeout(&args[1])?)
    } else {
        None
    };
    serve_pop(ctx, args, &keys, max, Some(count), timeout)
}

/// BZPOPMIN key [key ...] timeout
pub fn bzpopmin(ctx: &mut Ctx, args: &Args) -> CmdResult {
    bzpop_generic(ctx, args, false)
}

/// BZPOPMAX key [key ...] timeout
pub fn bzpopmax(ctx: &mut Ctx, args: &Args) -> CmdResult {
    bzpop_generic(ctx, args, true)
}

fn bzpop_generic(ctx: &mut Ctx, args: &Args, max: bool) -> CmdResult {
    let timeout = crate::commands::list::parse_timeout(&args[args.len() - 1])?;
    let keys: Vec<&[u8]> = (1..args.len() - 1).map(|i| &args[i][..]).collect();
    serve_pop(ctx, args, &keys, max, None, Some(timeout))
}

/// Pops from the first non-empty sorted set among `keys`. `count` None is
/// BZPOPMIN/MAX's flat `[key, member, score]` reply; Some is Z/BZMPOP's
/// `[key, [[member, score] ...]]`. With a timeout, parks the client when
/// every set is empty; otherwise (ZMPOP) replies a null array.
fn serve_pop(
    ctx: &mut Ctx,
    args: &Args,
    keys: &[&[u8]],
    max: bool,
    count: Option<usize>,
    timeout: Option<i64>,
) -> CmdResult {
    // A woken client runs again as Redis re-runs it (only for a key of
    // its type, see `Server::serves`): another key of the wrong type is an
    // error then; only a timed-out re-run skips it.
    let timed_out = ctx.block_timed_out();
    let mut found = None;
    for &key in keys {
        if let Some(o) = ctx.lookup_write(key) {
            match o.v.as_zset() {
                Err(_) if timed_out => continue,
                Err(e) => return Err(e),
                Ok(z) if z.is_empty() => continue,
                Ok(_) => {}
            }
            found = Some(key);
            break;
        }
    }
    if let Some(key) = found {
        let len = ctx
            .lookup_write(key)
            .and_then(|o| o.v.as_zset().ok())
            .map_or(0, |z| z.len());
        let out = pop_members(ctx, key, count.unwrap_or(1), max)?;
        let r = &mut ctx.c.reply;
        match count {
            None => {
                r.array(3);
                r.bulk(key);
                let (e, s) = &out[0];
                r.bulk(e);
                r.double(*s);
            }
            Some(_) => {
                r.array(2);
                r.bulk(key);
                r.array(out.len());
                for (e, s) in &out {
                    r.array(2);
                    r.bulk(e);
                    r.double(*s);
                }
            }
        }
        if timeout.is_some() || count.is_some() {
            propagate_pop(ctx, key, max, count.map(|c| c.min(len)));
        }
        return Ok(());
    }
    match timeout {
        Some(t) if !ctx.block_timed_out() && ctx.block(args, keys, t) => {}
        _ => ctx.c.reply.null_array(),
    }
    Ok(())
}

/* ---------------------------------------------------------------------
 * ZUNION, ZINTER, ZDIFF, ZINTERCARD
 * ------------------------------------------------------------------- */

#[derive(Clone, Copy, PartialEq)]
enum SetOp {
    Union,
    Inter,
    Diff,
}

#[derive(Clone, Copy, PartialEq)]
enum Aggregate {
    Sum,
    Min,
    Max,
}

fn aggregate(target: &mut f64, v: f64, a: Aggregate) {
    match a {
        Aggregate::Sum => {
            *target += v;
            if target.is_nan() {
                *target = 0.0;
            }
        }
        Aggregate::Min => {
            if v < *target {
                *target = v;
            }
        }
        Aggregate::Max => {
            if v > *target {
                *target = v;
            }
        }
    }
}

/// An input of ZUNION & co: a sorted set, or a plain set whose members
/// all score 1.
enum Src<'a> {
    Missing,
    Z(&'a ZSet),
    Set(&'a crate::types::set::Set),
}

impl Src<'_> {
    fn of(v: &Value) -> Result<Src<'_>, CmdError> {
        match v {
            Value::ZSet(z) => Ok(Src::Z(z)),
            Value::Set(s) => Ok(Src::Set(s)),
            _ => Err(CmdError::WrongType),
        }
    }

    fn len(&self) -> usize {
        match self {
            Src::Missing => 0,
            Src::Z(z) => z.len(),
            Src::Set(s) => s.len(),
        }
    }

    fn score(&self, ele: &[u8]) -> Option<f64> {
        match self {
            Src::Missing => None,
            Src::Z(z) => z.score(ele),
            Src::Set(s) => s.contains(ele).then_some(1.0),
        }
    }

    fn members(&self) -> Vec<(Vec<u8>, f64)> {
        let mut v = Vec::with_capacity(self.len());
        match self {
            Src::Missing => {}
            Src::Z(z) => z.for_range(0, z.len(), false, |e, s| {
                v.push((e.to_vec(), s));
                true
            }),
            Src::Set(s) => s.for_each(|e| v.push((e.to_vec(), 1.0))),
        }
        v
    }
}

/// ZUNION numkeys key [key ...] [WEIGHTS w ...] [AGGREGATE SUM|MIN|MAX] [WITHSCORES]
pub fn zunion(ctx: &mut Ctx, args: &Args) -> CmdResult {
    setop_generic(ctx, args, None, 1, SetOp::Union, false, "zunion")
}

/// ZINTER numkeys key [key ...] [WEIGHTS w ...] [AGGREGATE SUM|MIN|MAX] [WITHSCORES]
pub fn zinter(ctx: &mut Ctx, args: &Args) -> CmdResult {
    setop_generic(ctx, args, None, 1, SetOp::Inter, false, "zinter")
}

/// ZDIFF numkeys key [key ...] [WITHSCORES]
pub fn zdiff(ctx: &mut Ctx, args: &Args) -> CmdResult {
    setop_generic(ctx, args, None, 1, SetOp::Diff, false, "zdiff")
}

/// ZUNIONSTORE destination numkeys key [key ...] [WEIGHTS ...] [AGGREGATE ...]
pub fn zunionstore(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let dst = args[1].to_vec();
    setop_generic(ctx, args, Some(&dst), 2, SetOp::Union, false, "zunionstore")
}

/// ZINTERSTORE destination numkeys key [key ...] [WEIGHTS ...] [AGGREGATE ...]
pub fn zinterstore(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let dst = args[1].to_vec();
    setop_generic(ctx, args, Some(&dst), 2, SetOp::Inter, false, "zinterstore")
}

/// ZDIFFSTORE destination numkeys key [key ...]
pub fn zdiffstore(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let dst = args[1].to_vec();
    setop_generic(ctx, args, Some(&dst), 2, SetOp::Diff, false, "zdiffstore")
}

/// ZINTERCARD numkeys key [key ...] [LIMIT limit]
pub fn zintercard(ctx: &mut Ctx, args: &Args) -> CmdResult {
    setop_generic(ctx, args, None, 1, SetOp::Inter, true, "zintercard")
}

/// Redis's `zunionInterDiffGenericCommand`. The inputs are looked up (and
/// type-checked) before the options are parsed, as Redis does.
fn setop_generic(
    ctx: &mut Ctx,
    args: &Args,
    dst: Option<&[u8]>,
    nk_idx: usize,
    op: SetOp,
    card_only: bool,
    name: &str,
) -> CmdResult {
    let setnum = args.i64_at(nk_idx)?;
    if setnum < 1 {
        return Err(CmdError::msg(format!(
            "ERR at least 1 input key is needed for '{name}' command"
        )));
    }
    if setnum as u64 > (args.len() - nk_idx - 1) as u64 {
        return Err(CmdError::Syntax);
    }
    let setnum = setnum as usize;
    let first = nk_idx + 1;
    for i in first..first + setnum {
        if let Some(o) = ctx.lookup(&args[i]) {
            Src::of(&o.v)?;
        }
    }
    let mut weights = vec![1.0f64; setnum];
    let mut agg = Aggregate::Sum;
    let mut withscores = false;
    let mut limit = 0usize;
    let mut j = first + setnum;
    while j < args.len() {
        let remaining = args.len() - j;
        let a = &args[j];
        if op != SetOp::Diff && !card_only && remaining > setnum && eq_ic(a, "weights") {
            for (k, w) in weights.iter_mut().enumerate() {
                *w = parse_score(&args[j + 1 + k])
                    .ok_or_else(|| CmdError::msg("ERR weight value is not a float"))?;
            }
            j += 1 + setnum;
        } else if op != SetOp::Diff && !card_only && remaining >= 2 && eq_ic(a, "aggregate") {
            let v = &args[j + 1];
            agg = if eq_ic(v, "sum") {
                Aggregate::Sum
            } else if eq_ic(v, "min") {
                Aggregate::Min
            } else if eq_ic(v, "max") {
                Aggregate::Max
            } else {
                return Err(CmdError::Syntax);
            };
            j += 2;
        } else if dst.is_none() && !card_only && eq_ic(a, "withscores") {
            withscores = true;
            j += 1;
        } else if card_only && remaining >= 2 && eq_ic(a, "limit") {
            limit = range_arg(
                &args[j + 1],
                0,
                i64::MAX,
                Some("ERR LIMIT can't be negative"),
            )? as usize;
            j += 2;
        } else {
            return Err(CmdError::Syntax);
        }
    }

    // Compute with shared borrows of the (already expired) keyspace.
    let dbi = ctx.c.db;
    let db = &ctx.st.dbs[dbi];
    let mut srcs: Vec<(Src, f64)> = Vec::with_capacity(setnum);
    for (k, &w) in weights.iter().enumerate() {
        let s = match db.keys.get(&args[first + k]) {
            Some(o) => Src::of(&o.v)?,
            None => Src::Missing,
        };
        srcs.push((s, w));
    }
    let mut result: Vec<(Vec<u8>, f64)> = Vec::new();
    let mut card = 0usize;
    match op {
        SetOp::Inter => {
            srcs.sort_by_key(|(s, _)| s.len());
            if srcs[0].0.len() > 0 {
                'outer: for (e, s0) in srcs[0].0.members() {
                    let mut score = srcs[0].1 * s0;
                    if score.is_nan() {
                        score = 0.0;
                    }
                    for (src, w) in &srcs[1..] {
                        match src.score(&e) {
                            Some(v) => aggregate(&mut score, v * w, agg),
                            None => continue 'outer,
                        }
                    }
                    if card_only {
                        card += 1;
                        if limit > 0 && card >= limit {
                            break;
                        }
                    } else {
                        result.push((e, score));
                    }
                }
            }
        }
        SetOp::Union => {
            let mut acc: HashMap<Vec<u8>, f64> = HashMap::new();
            let mut order: Vec<Vec<u8>> = Vec::new();
            srcs.sort_by_key(|(s, _)| s.len());
            for (src, w) in &srcs {
                for (e, s) in src.members() {
                    let mut score = w * s;
                    if score.is_nan() {
                        score = 0.0;
                    }
                    match acc.get_mut(&e) {
                        Some(t) => aggregate(t, score, agg),
                        None => {
                            order.push(e.clone());
                            acc.insert(e, score);
                        }
                    }
                }
            }
            result = order
                .into_iter()
                .map(|e| {
                    let s = acc[&e];
                    (e, s)
                })
                .collect();
        }
        SetOp::Diff => {
            for (e, s) in srcs[0].0.members() {
                if !srcs[1..].iter().any(|(src, _)| src.score(&e).is_some()) {
                    result.push((e, s));
                }
            }
        }
    }
    drop(srcs);
    if card_only {
        ctx.c.reply.int(card as i64);
        return Ok(());
    }
    result.sort_by(|a, b| crate::types::zset::cmp_entry(a.1, &a.0, b.1, &b.0));
    match dst {
        Some(dst) => {
            let z = ZSet::from_sorted(result, limits(ctx));
            store_result(ctx, dst, z, name);
        }
        None => {
            let r = &mut ctx.c.reply;
            reply_len(r, result.len(), withscores);
            for (e, s) in &result {
                reply_pair(r, e, *s, withscores);
            }
        }
    }
    Ok(())
}

/* ---------------------------------------------------------------------
 * ZRANDMEMBER, ZSCAN
 * ------------------------------------------------------------------- */

/// ZRANDMEMBER key [count [WITHSCORES]]
pub fn zrandmember(ctx: &mut Ctx, args: &Args) -> CmdResult {
    if args.len() >= 3 {
        let l = range_arg(&args[2], -i64::MAX, i64::MAX, None)?;
        let withscores = if args.len() > 4 || (args.len() == 4 && !eq_ic(&args[3], "withscores")) {
            return Err(CmdError::Syntax);
        } else if args.len() == 4 {
            if !(-i64::MAX / 2..=i64::MAX / 2).contains(&l) {
                return Err(CmdError::msg("ERR value is out of range"));
            }
            true
        } else {
            false
        };
        return zrandmember_count(ctx, args, l, withscores);
    }
    let dbi = ctx.c.db;
    let Some(o) = ctx.lookup(&args[1]) else {
        ctx.c.reply.null();
        return Ok(());
    };
    let len = o.v.as_zset()?.len();
    let i = (ctx.st.rng.next() % len.max(1) as u64) as usize;
    let st = &mut *ctx.st;
    if let Some(o) = st.dbs[dbi].keys.get(&args[1])
        && let Value::ZSet(z) = &o.v
        && let Some((e, _)) = z.at(i)
    {
        ctx.c.reply.bulk(e);
    } else {
        ctx.c.reply.null();
    }
    Ok(())
}

fn zrandmember_count(ctx: &mut Ctx, args: &Args, l: i64, withscores: bool) -> CmdResult {
    let dbi = ctx.c.db;
    let len = match ctx.lookup(&args[1]) {
        None => {
            ctx.c.reply.array(0);
            return Ok(());
        }
        Some(o) => o.v.as_zset()?.len(),
    };
    let count = l.unsigned_abs();
    if count == 0 || len == 0 {
        ctx.c.reply.array(0);
        return Ok(());
    }
    if l < 0 || count == 1 {
        // Repeats allowed: the count is the client's, not the set's, so
        // the picks are streamed out (and stop at the output limit).
        ctx.arm_reply_limit();
        let st = &mut *ctx.st;
        let rng = &mut st.rng;
        let Some(Value::ZSet(z)) = st.dbs[dbi].keys.get(&args[1]).map(|o| &o.v) else {
            return Err(CmdError::WrongType);
        };
        let r = &mut ctx.c.reply;
        reply_len(r, count as usize, withscores);
        for _ in 0..count {
            if r.over_limit() {
                break;
            }
            if let Some((e, s)) = z.at((rng.next() % len as u64) as usize) {
                reply_pair(r, e, s, withscores);
            }
        }
        return Ok(());
    }
    // Distinct picks, at most `len` of them: ranks first (the generator
    // lives beside the keyspace).
    let picks: Vec<usize> = if count >= len as u64 {
        (0..len).collect()
    } else {
        let count = count as usize;
        if count * 3 > len {
            // Shuffle all ranks and keep a prefix.
            let mut all: Vec<usize> = (0..len).collect();
            for i in 0..count {
                let j = i + (ctx.st.rng.next() % (len - i) as u64) as usize;
                all.swap(i, j);
            }
            all.truncate(count);
            all
        } else {
            let mut seen = HashSet::with_capacity(count);
            let mut v = Vec::with_capacity(count);
            while v.len() < count {
                let i = (ctx.st.rng.next() % len as u64) as usize;
                if seen.insert(i) {
                    v.push(i);
                }
            }
            v
        }
    };
    let st = &*ctx.st;
    let Some(Value::ZSet(z)) = st.dbs[dbi].keys.get(&args[1]).map(|o| &o.v) else {
        return Err(CmdError::WrongType);
    };
    let r = &mut ctx.c.reply;
    reply_len(r, picks.len(), withscores);
    for i in picks {
        if let Some((e, s)) = z.at(i) {
            reply_pair(r, e, s, withscores);
        }
    }
    Ok(())
}

/// ZSCAN key cursor [MATCH pattern] [COUNT count]
pub fn zscan(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let cursor = super::set::parse_cursor(&args[2])?;
    // A missing key answers an empty scan before the options are read,
    // as in Redis (lookupKeyReadOrReply comes first).
    let (o, r) = ctx.lookup_r(&args[1]);
    let Some(o) = o else {
        super::set::reply_empty_scan(r);
        return Ok(());
    };
    let z = o.v.as_zset()?;
    let mut count: i64 = 10;
    let mut pat: Option<&[u8]> = None;
    let mut i = 3;
    while i < args.len() {
        let more = args.len() - i;
        if eq_ic(&args[i], "count") && more >= 2 {
            count = args.i64_at(i + 1)?;
            if count < 1 {
                return Err(CmdError::Syntax);
            }
            i += 2;
        } else if eq_ic(&args[i], "match") && more >= 2 {
            pat = Some(&args[i + 1]).filter(|p| &p[..] != b"*");
            i += 2;
        } else if eq_ic(&args[i], "novalues") {
            return Err(CmdError::msg(
                "ERR NOVALUES option can only be used in HSCAN",
            ));
        } else {
            return Err(CmdError::Syntax);
        }
    }
    let mut found: Vec<(Vec<u8>, f64)> = Vec::new();
    let mut cursor = cursor;
    let mut maxiter = count.saturating_mul(10);
    let mut sampled = 0i64;
    loop {
        cursor = z.scan(cursor, |e, s| {
            sampled += 1;
            if pat.is_none_or(|p| crate::util::glob_match(p, e, false)) {
                found.push((e.to_vec(), s));
            }
        });
        if cursor == 0 || maxiter == 0 || sampled >= count {
            break;
        }
        maxiter -= 1;
    }
    r.array(2);
    r.bulk(cursor.to_string().as_bytes());
    r.array(found.len() * 2);
    // A listpack hands back the score text it stored (shortest form); the
    // skiplist's scan callback prints the double with %.17g instead.
    let fmt = if z.encoding() == "skiplist" {
        crate::util::fmt_g17
    } else {
        crate::util::fmt_double
    };
    for (e, s) in &found {
        r.bulk(e);
        r.bulk(fmt(*s).as_bytes());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scores_parse_like_strtod() {
        assert_eq!(parse_score(b"1.5"), Some(1.5));
        assert_eq!(parse_score(b"-inf"), Some(f64::NEG_INFINITY));
        assert_eq!(parse_score(b"+inf"), Some(f64::INFINITY));
        assert_eq!(parse_score(b"0x1p+0"), Some(1.0));
        assert_eq!(parse_score(b"0x0p+0"), Some(0.0));
        assert_eq!(parse_score(b"-0x1.8p1"), Some(-3.0));
        assert_eq!(parse_score(b""), None);
        assert_eq!(parse_score(b"nan"), None);
        assert_eq!(parse_score(b"abc"), None);
        assert_eq!(parse_score(&[b'9'; 400]), None);
    }

    #[test]
    fn rdb_roundtrip_keeps_members_and_encoding() {
        use crate::persist::rdb::{dump_payload, restore_payload};
        let lim = Limits::default();
        let mut small = ZSet::with_hint(0, 0, lim);
        let mut big = ZSet::Skiplist(Box::default());
        for i in 0..200 {
            let m = format!("m{i}");
            if i < 5 {
                small.add(m.as_bytes(), i as f64 * 0.5, AddFlags::default(), lim);
            }
            big.add(m.as_bytes(), -(i as f64), AddFlags::default(), lim);
        }
        for z in [small, big] {
            let p = dump_payload(&Value::ZSet(Box::new(z.clone())));
            let Some(Ok(Value::ZSet(back))) = restore_payload(&p, 1 << 20) else {
                panic!("payload did not load");
            };
            assert_eq!(back.encoding(), z.encoding());
            assert_eq!(back.len(), z.len());
            for i in 0..z.len() {
                assert_eq!(back.at(i), z.at(i));
            }
        }
    }

    #[test]
    fn ranges_become_rank_intervals() {
        let lim = Limits::default();
        let mut z = ZSet::with_hint(0, 0, lim);
        for (i, m) in ["a", "b", "c", "d", "e"].iter().enumerate() {
            z.add(m.as_bytes(), i as f64, AddFlags::default(), lim);
        }
        let r = parse_score_range(b"(1", b"3").unwrap();
        assert_eq!(Query::Score(r).ranks(&z), (2, 4));
        let r = parse_score_range(b"3", b"1").unwrap();
        assert_eq!(Query::Score(r).ranks(&z), (3, 3));
        let (a, b) = parse_lex_range(b"[b", b"(d").unwrap();
        assert_eq!(Query::Lex(a, b).ranks(&z), (1, 3));
        let (a, b) = parse_lex_range(b"-", b"+").unwrap();
        assert_eq!(Query::Lex(a, b).ranks(&z), (0, 5));
        assert!(parse_lex_range(b"b", b"+").is_err());
        assert_eq!(
            Query::Lex(LexBound::NegInf, LexBound::NegInf).ranks(&z),
            (0, 0)
        );
        assert_eq!(Query::Rank(-2, -1).ranks(&z), (3, 5));
        // strtod reads nothing from an empty bound: 0 (Redis 8.0.6).
        let r = parse_score_range(b"(", b"").unwrap();
        assert_eq!((r.min, r.minex, r.max, r.maxex), (0.0, true, 0.0, false));
        assert!(parse_score_range(b"(x", b"1").is_err());
    }

    struct VecSink(Vec<Vec<u8>>);

    impl RangeSink for VecSink {
        fn begin(&mut self, _len: Option<usize>) {}
        fn emit(&mut self, ele: &[u8], _score: f64) {
            self.0.push(ele.to_vec());
        }
    }

    struct Collect(Vec<String>);

    impl RangeSink for Collect {
        fn begin(&mut self, _len: Option<usize>) {}
        fn emit(&mut self, ele: &[u8], _score: f64) {
            self.0.push(String::from_utf8_lossy(ele).into_owned());
        }
    }

    #[test]
    fn lex_over_mixed_scores_walks_as_redis_walks_a_listpack() {
        // Checked against Redis 8.0.6: ZADD zt 0 b 1 a 2 c 3 a1.
        let lim = Limits::default();
        let mut z = ZSet::with_hint(0, 0, lim);
        for (s, m) in [(0.0, "b"), (1.0, "a"), (2.0, "c"), (3.0, "a1")] {
            z.add(m.as_bytes(), s, AddFlags::default(), lim);
        }
        let walk = |min: &[u8], max: &[u8], rev, offset, limit| {
            let (a, b) = parse_lex_range(min, max).unwrap();
            let mut out = Collect(Vec::new());
            run_query(&z, &Query::Lex(a, b), rev, offset, limit, &mut out);
            out.0.join(" ")
        };
        assert_eq!(walk(b"[a", b"[b", false, 0, -1), "b a");
        assert_eq!(walk(b"[a", b"[b", true, 0, -1), "a1 c a b");
        assert_eq!(walk(b"[a", b"[b", false, 2, 5), "");
        let (a, b) = parse_lex_range(b"[a", b"[b").unwrap();
        assert_eq!(Query::Lex(a, b).ranks(&z), (0, 2));
        // The interval must reach the last member's value: "a1" < "c".
        assert_eq!(walk(b"[c", b"+", false, 0, -1), "");
    }

    #[test]
    fn negative_limit_offsets_follow_the_encoding() {
        // Expected replies from Redis 8.0.6 on a, b, c, d, e scored 0..4,
        // e.g. ZRANGEBYSCORE z 1 3 LIMIT -3 2 and ZREVRANGEBYSCORE z 3 1
        // LIMIT -2 -1.
        let lim = Limits::default();
        let mut lp = ZSet::with_hint(0, 0, lim);
        let mut sl = ZSet::empty_skiplist();
        for (i, m) in ["a", "b", "c", "d", "e"].iter().enumerate() {
            lp.add(m.as_bytes(), i as f64, AddFlags::default(), lim);
            sl.add(m.as_bytes(), i as f64, AddFlags::default(), lim);
        }
        let run = |z: &ZSet, min: &[u8], max: &[u8], rev, off, count| {
            let q = Query::Score(parse_score_range(min, max).unwrap());
            let mut sink = VecSink(Vec::new());
            run_query(z, &q, rev, off, count, &mut sink);
            String::from_utf8(sink.0.concat()).unwrap()
        };
        assert_eq!(run(&lp, b"1", b"3", false, -1, -1), "");
        assert_eq!(run(&lp, b"1", b"3", true, -1, -1), "");
        assert_eq!(run(&sl, b"1", b"3", false, -1, -1), "d");
        assert_eq!(run(&sl, b"1", b"3", false, -3, 2), "bc");
        assert_eq!(run(&sl, b"1", b"3", false, -4, -1), "");
        assert_eq!(run(&sl, b"1", b"3", true, -1, -1), "b");
        assert_eq!(run(&sl, b"1", b"3", true, -3, -1), "dcb");
        assert_eq!(run(&sl, b"1", b"3", true, -3, 1), "d");
        assert_eq!(run(&sl, b"1", b"3", true, -4, -1), "");
        assert_eq!(run(&sl, b"1", b"3", false, -1, 0), "");
        assert_eq!(run(&sl, b"1.5", b"1.7", false, -1, -1), "");
        assert_eq!(run(&sl, b"-inf", b"+inf", false, -5, -1), "abcde");
        assert_eq!(run(&sl, b"-inf", b"+inf", false, -6, -1), "");
    }
}
