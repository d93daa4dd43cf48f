//! SORT and SORT_RO (Redis's `sort.c`): sort the elements of a list, set or
//! sorted set numerically or lexically, by the elements themselves or by
//! external keys (`BY pattern`, with `nosort` or any constant pattern
//! meaning "keep the native order"), return them or the values of other
//! keys (`GET pattern`, `GET #`, `GET pat->field` for hash fields),
//! optionally windowed by `LIMIT` and stored as a list (`STORE`).
//!
//! The collection types plug in through `source`, which yields a value's
//! elements; pattern lookups go through `lookup_pattern`.
//!
//! Element order before sorting: a list's order, a sorted set's rank
//! order, a set's iteration order
//! (only visible with a constant BY; STORE then forces ALPHA so replicas
//! agree).

use crate::command::flags::*;
use crate::command::{CmdError, CmdResult, CommandSpec, Ctx, cmd, keys};
use crate::config::notify;
use crate::db::Value;
use crate::resp::Args;
use crate::types::list::List;
use crate::util::eq_ic;
use std::cmp::Ordering;

pub static COMMANDS: &[CommandSpec] = &[
    // Not FAST: the cost grows with the collection and the GET patterns.
    CommandSpec {
        getkeys: Some(sort_keys),
        ..cmd(
            "sort",
            -2,
            WRITE | DENYOOM,
            keys(1, 1, 1),
            "generic",
            "1.0.0",
            "Sorts the elements in a list, a set, or a sorted set, optionally storing the result.",
            sort,
        )
    },
    CommandSpec {
        getkeys: Some(sort_ro_keys),
        ..cmd(
            "sort_ro",
            -2,
            READONLY,
            keys(1, 1, 1),
            "generic",
            "7.0.0",
            "Returns the sorted elements of a list, a set, or a sorted set.",
            sort_ro,
        )
    },
];

/// SORT key [BY pattern] [LIMIT offset count] [GET pattern [GET pattern
/// ...]] [ASC|DESC] [ALPHA] [STORE destination]
pub fn sort(ctx: &mut Ctx, args: &Args) -> CmdResult {
    sort_generic(ctx, args, false)
}

/// SORT_RO: SORT without STORE.
pub fn sort_ro(ctx: &mut Ctx, args: &Args) -> CmdResult {
    sort_generic(ctx, args, true)
}

/// SORT's key finder: the sorted key, read, and the STORE destination,
/// overwritten.
pub fn sort_keys(args: &Args) -> Vec<crate::command::keyspecs::KeyRef> {
    use crate::command::keyspecs::flag::*;
    key_positions(args)
        .into_iter()
        .enumerate()
        .map(|(i, p)| (p, if i == 0 { RO | ACCESS } else { OW | UPDATE }))
        .collect()
}

/// SORT_RO's key finder: just the sorted key.
pub fn sort_ro_keys(_args: &Args) -> Vec<crate::command::keyspecs::KeyRef> {
    use crate::command::keyspecs::flag::*;
    vec![(1, RO | ACCESS)]
}

/// Key positions of a SORT command line: the sorted key and the last
/// STORE destination (Redis's `sortGetKeys`).
pub fn key_positions(args: &Args) -> Vec<usize> {
    let mut v = vec![1];
    let mut store = None;
    let mut j = 2;
    while j < args.len() {
        let a = &args[j][..];
        let skip = if eq_ic(a, "limit") {
            2
        } else if eq_ic(a, "get") || eq_ic(a, "by") {
            1
        } else if eq_ic(a, "store") {
            if j + 1 < args.len() {
                store = Some(j + 1);
            }
            // The destination is looked at as an option in turn, as
            // Redis's finder does (`STORE limit ...` skips on).
            0
        } else {
            0
        };
        j += skip + 1;
    }
    v.extend(store);
    v
}

/// The parsed options.
#[derive(Default, Debug)]
struct Opts<'a> {
    desc: bool,
    alpha: bool,
    limit: Option<(i64, i64)>,
    by: Option<&'a [u8]>,
    /// BY a pattern without `*`: keep the native order.
    dontsort: bool,
    gets: Vec<&'a [u8]>,
    store: Option<&'a [u8]>,
}

/// Parses SORT's options. `key_slot`: in cluster mode, the sorted key's
/// slot, which BY and GET patterns must be pinned to.
/// `all_keys`: the user may read any key, which BY and GET patterns need.
fn parse(
    args: &Args,
    readonly: bool,
    key_slot: Option<usize>,
    all_keys: bool,
) -> Result<Opts<'_>, CmdError> {
    let off_slot =
        |pat: &[u8]| key_slot.is_some_and(|s| crate::cluster::pattern_hash_slot(pat) != Some(s));
    let mut o = Opts::default();
    let mut j = 2;
    while j < args.len() {
        let left = args.len() - j - 1;
        let a = &args[j][..];
        if eq_ic(a, "asc") {
            o.desc = false;
        } else if eq_ic(a, "desc") {
            o.desc = true;
        } else if eq_ic(a, "alpha") {
            o.alpha = true;
        } else if eq_ic(a, "limit") && left >= 2 {
            let s = crate::util::parse_i64(&args[j + 1]).ok_or(CmdError::NotInteger)?;
            let c = crate::util::parse_i64(&args[j + 2]).ok_or(CmdError::NotInteger)?;
            o.limit = Some((s, c));
            j += 2;
        } else if !readonly && eq_ic(a, "store") && left >= 1 {
            o.store = Some(&args[j + 1]);
            j += 1;
        } else if eq_ic(a, "by") && left >= 1 {
            o.by = Some(&args[j + 1]);
            o.dontsort = !args[j + 1].contains(&b'*');
            if !o.dontsort && off_slot(&args[j + 1]) {
                return Err(CmdError::msg(
                    "ERR BY option of SORT denied in Cluster mode when keys formed by the pattern may be in different slots.",
                ));
            }
            if !o.dontsort && !all_keys {
                return Err(CmdError::msg(
                    "ERR BY option of SORT denied due to insufficient ACL permissions.",
                ));
            }
            j += 1;
        } else if eq_ic(a, "get") && left >= 1 {
            if &args[j + 1][..] != b"#" && off_slot(&args[j + 1]) {
                return Err(CmdError::msg(
                    "ERR GET option of SORT denied in Cluster mode when keys formed by the pattern may be in different slots.",
                ));
            }
            if !all_keys {
                return Err(CmdError::msg(
                    "ERR GET option of SORT denied due to insufficient ACL permissions.",
                ));
            }
            o.gets.push(&args[j + 1]);
            j += 1;
        } else {
            return Err(CmdError::Syntax);
        }
        j += 1;
    }
    Ok(o)
}

/// The elements SORT reads from a value, and whether their order means
/// something (lists, sorted sets) or not (sets).
struct Source {
    elems: Vec<Vec<u8>>,
    ordered: bool,
}

/// SORT's view of a collection: a sorted set's members come in rank
/// order, which BY nosort keeps.
fn source(v: &Value) -> Result<Source, CmdError> {
    match v {
        Value::List(l) => Ok(Source {
            elems: l.iter().map(|e| e.to_vec()).collect(),
            ordered: true,
        }),
        Value::Set(s) => Ok(Source {
            elems: s.members(),
            ordered: false,
        }),
        Value::ZSet(z) => {
            let mut elems = Vec::with_capacity(z.len());
            z.for_range(0, z.len(), false, |e, _| {
                elems.push(e.to_vec());
                true
            });
            Ok(Source {
                elems,
                ordered: true,
            })
        }
        _ => Err(CmdError::WrongType),
    }
}

/// A hash field of a value, for `GET pattern->field`; None for a value
/// of another type or a missing field.
fn hash_field(v: &Value, field: &[u8]) -> Option<Vec<u8>> {
    v.as_hash().ok()?.get(field).map(|b| b.to_vec())
}

/// How a pattern resolves for one element.
#[derive(Debug, PartialEq)]
enum PatternKey<'a> {
    /// `#`: the element itself.
    Itself,
    /// No `*`: nothing.
    Nothing,
    /// The key to read, and a hash field for `->field`.
    Key(Vec<u8>, Option<&'a [u8]>),
}

/// Substitutes the first `*` of `pat` with `elem`; a `->field` suffix
/// (non-empty, after the `*`) names a hash field.
fn pattern_key<'a>(pat: &'a [u8], elem: &[u8]) -> PatternKey<'a> {
    if pat == b"#" {
        return PatternKey::Itself;
    }
    let Some(star) = pat.iter().position(|&c| c == b'*') else {
        return PatternKey::Nothing;
    };
    let after = &pat[star + 1..];
    let arrow = after
        .windows(2)
        .position(|w| w == b"->")
        .filter(|&i| i + 2 < after.len());
    let (post, field) = match arrow {
        Some(i) => (&after[..i], Some(&after[i + 2..])),
        None => (after, None),
    };
    let mut k = Vec::with_capacity(star + elem.len() + post.len());
    k.extend_from_slice(&pat[..star]);
    k.extend_from_slice(elem);
    k.extend_from_slice(post);
    PatternKey::Key(k, field)
}

/// The value a BY/GET pattern names for `elem`: a string key, or a hash
/// field with `->`; None when missing or of another type.
fn lookup_pattern(ctx: &mut Ctx, pat: &[u8], elem: &[u8]) -> Option<Vec<u8>> {
    match pattern_key(pat, elem) {
        PatternKey::Itself => Some(elem.to_vec()),
        PatternKey::Nothing => None,
        PatternKey::Key(k, field) => {
            // A hash field whose TTL passed goes now, as on any access.
            if let Some(f) = field {
                crate::commands::hash::lazy_expire(ctx, &k, [f]);
            }
            let o = ctx.lookup(&k)?;
            match field {
                Some(f) => hash_field(&o.v, f),
                None => o.v.as_str().ok().map(|s| s.to_vec()),
            }
        }
    }
}

/// One element to sort with its key: a score (numeric) or a compare
/// string (ALPHA BY).
struct Item {
    elem: Vec<u8>,
    score: f64,
    cmp: Option<Vec<u8>>,
}

/// `fast_float_strtod` on the whole string. An empty string parses as 0:
/// Redis only checks that the parse stopped at the terminating NUL.
/// A BY weight as Redis reads it: as a C string, so only the bytes before
/// a NUL count, and nothing (an empty or NUL-led value) weighs 0.
fn parse_score(b: &[u8]) -> Option<f64> {
    let b = memchr::memchr(0, b).map_or(b, |i| &b[..i]);
    if b.is_empty() {
        return Some(0.0);
    }
    crate::util::parse_f64(b)
}

/// Whether the client's user may run this SORT and read every key (Redis's
/// `ACLUserCheckCmdWithUnrestrictedKeyAccess`).
fn reads_all_keys(ctx: &Ctx, args: &Args, readonly: bool) -> bool {
    let user = &ctx.c.user;
    if !ctx.st.acl.restricts(user) {
        return true;
    }
    let reg = crate::acl::registry::get();
    let name: &[u8] = if readonly { b"sort_ro" } else { b"sort" };
    let Some(id) = reg.lookup(name) else {
        return true;
    };
    let spec = reg.entries[id as usize].spec;
    ctx.st
        .acl
        .get(user)
        .is_none_or(|u| u.check_all_keys(spec, args, crate::command::keyspecs::flag::ACCESS))
}

fn sort_generic(ctx: &mut Ctx, args: &Args, readonly: bool) -> CmdResult {
    let key_slot = ctx
        .st
        .cluster
        .is_some()
        .then(|| crate::cluster::key_hash_slot(&args[1]));
    let mut o = parse(
        args,
        readonly,
        key_slot,
        reads_all_keys(ctx, args, readonly),
    )?;
    // Outside cluster mode, patterns that a cluster would refuse count as
    // incompatible operations (each BY/GET sampled on its own, as Redis).
    let ratio = ctx.st.cfg.hot.cluster_compat_ratio;
    if ratio > 0 && ctx.st.cluster.is_none() {
        let slot = crate::cluster::key_hash_slot(&args[1]);
        let by = o.by.filter(|_| !o.dontsort);
        let gets = o.gets.iter().copied().filter(|g| *g != b"#");
        for pat in by.into_iter().chain(gets) {
            if (ratio >= 100 || ctx.st.rng.next() % 100 < ratio as u64)
                && crate::cluster::pattern_hash_slot(pat) != Some(slot)
            {
                ctx.st.stats.cluster_incompatible_ops += 1;
            }
        }
    }
    let src = match ctx.lookup(&args[1]) {
        None => Source {
            elems: Vec::new(),
            ordered: true,
        },
        Some(obj) => {
            // SORT converts a listpack sorted set to a skiplist for good
            // (Redis's sortCommand does, so OBJECT ENCODING shows it).
            if let Value::ZSet(z) = &mut obj.v {
                z.to_skiplist();
            }
            source(&obj.v)?
        }
    };
    // A set has no order to keep: sort it when storing, so the result is
    // the same on replicas (as Redis does for STORE and scripts).
    if o.dontsort && !src.ordered && (o.store.is_some() || crate::script::is_script_client(ctx.c)) {
        o.dontsort = false;
        o.alpha = true;
        o.by = None;
    }
    let len = src.elems.len() as i64;
    let (ls, lc) = o.limit.unwrap_or((0, -1));
    let mut start = ls.max(0).min(len);
    let count = lc.max(-1).min(len);
    let mut end = if count < 0 {
        len - 1
    } else {
        start + count - 1
    };
    if start >= len {
        start = len - 1;
        end = len - 2;
    }
    if end >= len {
        end = len - 1;
    }
    let mut elems = src.elems;
    if o.dontsort && o.desc && src.ordered {
        elems.reverse();
    }
    let mut items: Vec<Item> = elems
        .into_iter()
        .map(|elem| Item {
            elem,
            score: 0.0,
            cmp: None,
        })
        .collect();
    let mut bad_double = false;
    if !o.dontsort {
        for it in items.iter_mut() {
            let by = match o.by {
                Some(p) => match lookup_pattern(ctx, p, &it.elem) {
                    Some(v) => v,
                    None => continue,
                },
                None => it.elem.clone(),
            };
            if o.alpha {
                if o.by.is_some() {
                    it.cmp = Some(by);
                }
            } else {
                match parse_score(&by) {
                    Some(s) => it.score = s,
                    None => bad_double = true,
                }
            }
        }
        let (alpha, by, desc) = (o.alpha, o.by.is_some(), o.desc);
        let cstr = o.store.is_none();
        let mut cmp = |a: &Item, b: &Item| {
            let c = compare(a, b, alpha, by, cstr);
            if desc { c.reverse() } else { c }
        };
        // Redis sorts a BY query with a LIMIT window with its partial
        // quicksort, and the rest with glibc's (stable) merge sort: equal
        // BY values come out in each algorithm's own order.
        if by && (start != 0 || end != len - 1) {
            super::pqsort::partial_qsort(&mut items, (start, end), &mut cmp);
        } else {
            items.sort_by(cmp);
        }
    }
    if bad_double {
        return Err(CmdError::msg(
            "ERR One or more scores can't be converted into double",
        ));
    }
    let window: &[Item] = if end >= start {
        &items[start as usize..=end as usize]
    } else {
        &[]
    };
    let mut out: Vec<Option<Vec<u8>>> = Vec::new();
    for it in window {
        if o.gets.is_empty() {
            out.push(Some(it.elem.clone()));
        }
        for g in &o.gets {
            out.push(lookup_pattern(ctx, g, &it.elem));
        }
    }
    match o.store {
        None => {
            let r = &mut ctx.c.reply;
            r.array(out.len());
            for v in &out {
                match v {
                    Some(v) => r.bulk(v),
                    None => r.null(),
                }
            }
        }
        Some(dst) => {
            let n = out.len();
            if n > 0 {
                let l = List::from_items(out.into_iter().map(|v| v.unwrap_or_default()));
                ctx.db().set(dst, Value::List(Box::new(l)), false);
                ctx.wrote(dst, "sortstore", notify::LIST);
            } else if ctx.db().delete(dst) {
                ctx.wrote(dst, "del", notify::GENERIC);
            }
            ctx.c.reply.int(n as i64);
        }
    }
    Ok(())
}

/// `sortCompare`: numeric scores with the element bytes breaking ties;
/// ALPHA compares the BY values (missing ones first) or the elements.
/// Redis's `sortCompare`. ALPHA compares with `strcoll` when replying
/// (`cstr`): C strings, so only the bytes before a NUL count (the C locale's
/// byte order), and with plain bytes under STORE.
fn compare(a: &Item, b: &Item, alpha: bool, by: bool, cstr: bool) -> Ordering {
    if !alpha {
        return a
            .score
            .partial_cmp(&b.score)
            .unwrap_or(Ordering::Equal)
            .then_with(|| a.elem.cmp(&b.elem));
    }
    let text = |x: &[u8], y: &[u8]| {
        if cstr {
            let c = |v: &[u8]| memchr::memchr(0, v).map_or(v.len(), |i| i);
            x[..c(x)].cmp(&y[..c(y)])
        } else {
            x.cmp(y)
        }
    };
    if by {
        match (&a.cmp, &b.cmp) {
            (None, None) => Ordering::Equal,
            (None, Some(_)) => Ordering::Less,
            (Some(_), None) => Ordering::Greater,
            (Some(x), Some(y)) => text(x, y),
        }
    } else {
        text(&a.elem, &b.elem)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns() {
        assert_eq!(pattern_key(b"#", b"x"), PatternKey::Itself);
        assert_eq!(pattern_key(b"nosort", b"x"), PatternKey::Nothing);
        assert_eq!(
            pattern_key(b"w_*", b"3"),
            PatternKey::Key(b"w_3".to_vec(), None)
        );
        assert_eq!(
            pattern_key(b"h_*->f", b"3"),
            PatternKey::Key(b"h_3".to_vec(), Some(&b"f"[..]))
        );
        // A trailing "->" names no field: it is part of the key.
        assert_eq!(
            pattern_key(b"h_*->", b"3"),
            PatternKey::Key(b"h_3->".to_vec(), None)
        );
    }

    #[test]
    fn weights_stop_at_a_nul() {
        // Checked against Redis 8.0.6 (SORT L BY w_*).
        assert_eq!(parse_score(b"12\0ab"), Some(12.0));
        assert_eq!(parse_score(b"\0\0\x05"), Some(0.0));
        assert_eq!(parse_score(b""), Some(0.0));
        assert_eq!(parse_score(b"5e"), None);
        assert_eq!(parse_score(b" 3"), None);
    }

    #[test]
    fn ordering() {
        let it = |e: &str, s: f64| Item {
            elem: e.as_bytes().to_vec(),
            score: s,
            cmp: None,
        };
        assert_eq!(
            compare(&it("b", 1.0), &it("a", 1.0), false, false, true),
            Ordering::Greater
        );
        assert_eq!(
            compare(&it("b", 1.0), &it("a", 2.0), false, false, true),
            Ordering::Less
        );
        assert_eq!(
            compare(&it("b", 0.0), &it("a", 0.0), true, false, true),
            Ordering::Greater
        );
        // strcoll sees "\0bin" as "" (Redis 8.0.6: SORT l ALPHA keeps them
        // in list order); STORE compares bytes.
        let (nul, empty) = (it("\0bin", 0.0), it("", 0.0));
        assert_eq!(compare(&nul, &empty, true, false, true), Ordering::Equal);
        assert_eq!(compare(&nul, &empty, true, false, false), Ordering::Greater);
    }
}
