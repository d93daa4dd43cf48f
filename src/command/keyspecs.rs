//! Key specifications (Redis 7+): where each command's keys are and what it
//! does with them, as COMMAND INFO shows and COMMAND GETKEYS and
//! GETKEYSANDFLAGS apply them.
//!
//! `ROWS` holds one row per command or subcommand with keys (`set`,
//! `object|encoding`), its specs written in a compact notation of ours:
//!
//! ```text
//! row   := spec (";" spec)*
//! spec  := flag+ ":" begin [find] ["#" notes]
//! begin := "index" POS | "keyword" WORD STARTFROM | "unknown"
//! find  := "range" LASTKEY STEP LIMIT | "keynum" KEYNUMIDX FIRSTKEY STEP | "unknown"
//! ```
//!
//! A spec without `find` covers the one key where the search begins
//! (`range 0 1 0`). Flags take Redis's names: `RO` `RW` `OW` `RM` (read,
//! read-write, overwrite, remove), `access` `update` `insert` `delete` (what
//! happens to the value), `not_key` (a shard channel, not a key),
//! `incomplete` (more keys may hide elsewhere) and `variable_flags` (the
//! arguments decide the flags). The rows are parsed once, on first use;
//! the command table stays the one source of names, arity, command flags
//! and the legacy first/last/step, and nothing here is on the path of
//! ordinary commands.
//!
//! `find_keys` follows Redis's `getKeysFromCommandWithSpecs`: the specs
//! answer when they can, and the key finder a command row carries
//! (`CommandSpec::getkeys`) answers when they cannot.

use super::CommandSpec;
use crate::resp::{Args, ReplyBuf};
use crate::util::{FxHashMap, eq_ic};
use std::sync::OnceLock;

/// Key spec flags, named and ordered as COMMAND INFO prints them.
pub mod flag {
    pub const RO: u16 = 1 << 0;
    pub const RW: u16 = 1 << 1;
    pub const OW: u16 = 1 << 2;
    pub const RM: u16 = 1 << 3;
    pub const ACCESS: u16 = 1 << 4;
    pub const UPDATE: u16 = 1 << 5;
    pub const INSERT: u16 = 1 << 6;
    pub const DELETE: u16 = 1 << 7;
    pub const NOT_KEY: u16 = 1 << 8;
    pub const INCOMPLETE: u16 = 1 << 9;
    pub const VARIABLE_FLAGS: u16 = 1 << 10;

    pub const NAMES: &[(u16, &str)] = &[
        (RO, "RO"),
        (RW, "RW"),
        (OW, "OW"),
        (RM, "RM"),
        (ACCESS, "access"),
        (UPDATE, "update"),
        (INSERT, "insert"),
        (DELETE, "delete"),
        (NOT_KEY, "not_key"),
        (INCOMPLETE, "incomplete"),
        (VARIABLE_FLAGS, "variable_flags"),
    ];
}

/// Where the search for a spec's keys begins.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Begin {
    /// At this argument.
    Index(i32),
    /// After `keyword`, searched from `startfrom` (negative: from the end,
    /// backwards).
    Keyword {
        keyword: &'static str,
        startfrom: i32,
    },
    Unknown,
}

/// Which arguments from the beginning are keys.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Find {
    /// Up to `lastkey` (relative to the beginning; negative: from the end)
    /// every `step`th; `limit` > 1 with `lastkey` -1 stops at the
    /// `1/limit`th part of the remaining arguments.
    Range {
        lastkey: i32,
        step: i32,
        limit: i32,
    },
    /// The argument at `keynumidx` counts the keys, which start at
    /// `firstkey`, every `step`th (both relative to the beginning).
    Keynum {
        keynumidx: i32,
        firstkey: i32,
        step: i32,
    },
    Unknown,
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Spec {
    pub flags: u16,
    pub begin: Begin,
    pub find: Find,
    pub notes: Option<&'static str>,
}

/// Every command and subcommand with keys, by group.
#[rustfmt::skip]
static ROWS: &[(&str, &str)] = &[
    // Bitmaps
    ("bitcount", "RO access: index 1"),
    ("bitfield", "RW access update variable_flags: index 1 # Reads or writes, depending on the operations given"),
    ("bitfield_ro", "RO access: index 1"),
    ("bitop", "OW update: index 2; RO access: index 3 range -1 1 0"),
    ("bitpos", "RO access: index 1"),
    ("getbit", "RO access: index 1"),
    ("setbit", "RW access update: index 1"),

    // Keyspace
    ("copy", "RO access: index 1; OW update: index 2"),
    ("del", "RM delete: index 1 range -1 1 0"),
    ("dump", "RO access: index 1"),
    ("exists", "RO: index 1 range -1 1 0"),
    ("expire", "RW update: index 1"),
    ("expireat", "RW update: index 1"),
    ("expiretime", "RO access: index 1"),
    ("migrate", "RW access delete: index 3; RW access delete incomplete: keyword KEYS -2 range -1 1 0"),
    ("move", "RW access update: index 1"),
    ("object|encoding", "RO: index 2"),
    ("object|freq", "RO: index 2"),
    ("object|idletime", "RO: index 2"),
    ("object|refcount", "RO: index 2"),
    ("persist", "RW update: index 1"),
    ("pexpire", "RW update: index 1"),
    ("pexpireat", "RW update: index 1"),
    ("pexpiretime", "RO access: index 1"),
    ("pttl", "RO access: index 1"),
    ("rename", "RW access delete: index 1; OW update: index 2"),
    ("renamenx", "RW access delete: index 1; OW insert: index 2"),
    ("restore", "OW update: index 1"),
    ("sort", "RO access: index 1; RO access: unknown unknown # BY and GET: the key names come from the sorted values, so where they are is unknown; OW update: unknown unknown # STORE: the keyword may come anywhere among the options, so where it is is unknown"),
    ("sort_ro", "RO access: index 1; RO access: unknown unknown # BY and GET: the key names come from the sorted values, so where they are is unknown"),
    ("touch", "RO: index 1 range -1 1 0"),
    ("ttl", "RO access: index 1"),
    ("type", "RO: index 1"),
    ("unlink", "RM delete: index 1 range -1 1 0"),

    // Geo
    ("geoadd", "RW update: index 1"),
    ("geodist", "RO access: index 1"),
    ("geohash", "RO access: index 1"),
    ("geopos", "RO access: index 1"),
    ("georadius", "RO access: index 1; OW update: keyword STORE 6; OW update: keyword STOREDIST 6"),
    ("georadius_ro", "RO access: index 1"),
    ("georadiusbymember", "RO access: index 1; OW update: keyword STORE 5; OW update: keyword STOREDIST 5"),
    ("georadiusbymember_ro", "RO access: index 1"),
    ("geosearch", "RO access: index 1"),
    ("geosearchstore", "OW update: index 1; RO access: index 2"),

    // Hashes
    ("hdel", "RW delete: index 1"),
    ("hexists", "RO: index 1"),
    ("hexpire", "RW update: index 1"),
    ("hexpireat", "RW update: index 1"),
    ("hexpiretime", "RO access: index 1"),
    ("hget", "RO access: index 1"),
    ("hgetall", "RO access: index 1"),
    ("hgetdel", "RW access delete: index 1"),
    ("hgetex", "RW access update: index 1 # RW and update: it may change the fields' TTLs"),
    ("hincrby", "RW access update: index 1"),
    ("hincrbyfloat", "RW access update: index 1"),
    ("hkeys", "RO access: index 1"),
    ("hlen", "RO: index 1"),
    ("hmget", "RO access: index 1"),
    ("hmset", "RW update: index 1"),
    ("hpersist", "RW update: index 1"),
    ("hpexpire", "RW update: index 1"),
    ("hpexpireat", "RW update: index 1"),
    ("hpexpiretime", "RO access: index 1"),
    ("hpttl", "RO access: index 1"),
    ("hrandfield", "RO access: index 1"),
    ("hscan", "RO access: index 1"),
    ("hset", "RW update: index 1"),
    ("hsetex", "RW update: index 1"),
    ("hsetnx", "RW insert: index 1"),
    ("hstrlen", "RO: index 1"),
    ("httl", "RO access: index 1"),
    ("hvals", "RO access: index 1"),

    // HyperLogLog
    ("pfadd", "RW insert: index 1"),
    ("pfcount", "RW access: index 1 range -1 1 0 # RW: counting may rewrite the key's encoding, which replicas then receive"),
    ("pfdebug", "RW access: index 2"),
    ("pfmerge", "RW access insert: index 1; RO access: index 2 range -1 1 0"),

    // Lists
    ("blmove", "RW access delete: index 1; RW insert: index 2"),
    ("blmpop", "RW access delete: index 2 keynum 0 1 1"),
    ("blpop", "RW access delete: index 1 range -2 1 0"),
    ("brpop", "RW access delete: index 1 range -2 1 0"),
    ("brpoplpush", "RW access delete: index 1; RW insert: index 2"),
    ("lindex", "RO access: index 1"),
    ("linsert", "RW insert: index 1"),
    ("llen", "RO: index 1"),
    ("lmove", "RW access delete: index 1; RW insert: index 2"),
    ("lmpop", "RW access delete: index 1 keynum 0 1 1"),
    ("lpop", "RW access delete: index 1"),
    ("lpos", "RO access: index 1"),
    ("lpush", "RW insert: index 1"),
    ("lpushx", "RW insert: index 1"),
    ("lrange", "RO access: index 1"),
    ("lrem", "RW delete: index 1"),
    ("lset", "RW update: index 1"),
    ("ltrim", "RW delete: index 1"),
    ("rpop", "RW access delete: index 1"),
    ("rpoplpush", "RW access delete: index 1; RW insert: index 2"),
    ("rpush", "RW insert: index 1"),
    ("rpushx", "RW insert: index 1"),

    // Pub/Sub: shard channels, not keys
    ("spublish", "not_key: index 1"),
    ("ssubscribe", "not_key: index 1 range -1 1 0"),
    ("sunsubscribe", "not_key: index 1 range -1 1 0"),

    // Scripting
    ("eval", "RW access update: index 2 keynum 0 1 1 # How the script uses its keys is unknown, so the worst case: RW and update"),
    ("eval_ro", "RO access: index 2 keynum 0 1 1 # How the script uses its keys is unknown, so the worst case for a read-only one: RO and access"),
    ("evalsha", "RW access update: index 2 keynum 0 1 1"),
    ("evalsha_ro", "RO access: index 2 keynum 0 1 1"),
    ("fcall", "RW access update: index 2 keynum 0 1 1 # How the function uses its keys is unknown, so the worst case: RW and update"),
    ("fcall_ro", "RO access: index 2 keynum 0 1 1 # How the function uses its keys is unknown, so the worst case for a read-only one: RO and access"),

    // Server
    ("memory|usage", "RO: index 2"),

    // Sets
    ("sadd", "RW insert: index 1"),
    ("scard", "RO: index 1"),
    ("sdiff", "RO access: index 1 range -1 1 0"),
    ("sdiffstore", "OW update: index 1; RO access: index 2 range -1 1 0"),
    ("sinter", "RO access: index 1 range -1 1 0"),
    ("sintercard", "RO access: index 1 keynum 0 1 1"),
    ("sinterstore", "OW update: index 1; RO access: index 2 range -1 1 0"),
    ("sismember", "RO: index 1"),
    ("smembers", "RO access: index 1"),
    ("smismember", "RO access: index 1"),
    ("smove", "RW access delete: index 1; RW insert: index 2"),
    ("spop", "RW access delete: index 1"),
    ("srandmember", "RO access: index 1"),
    ("srem", "RW delete: index 1"),
    ("sscan", "RO access: index 1"),
    ("sunion", "RO access: index 1 range -1 1 0"),
    ("sunionstore", "OW update: index 1; RO access: index 2 range -1 1 0"),

    // Sorted sets
    ("bzmpop", "RW access delete: index 2 keynum 0 1 1"),
    ("bzpopmax", "RW access delete: index 1 range -2 1 0"),
    ("bzpopmin", "RW access delete: index 1 range -2 1 0"),
    ("zadd", "RW update: index 1"),
    ("zcard", "RO: index 1"),
    ("zcount", "RO access: index 1"),
    ("zdiff", "RO access: index 1 keynum 0 1 1"),
    ("zdiffstore", "OW update: index 1; RO access: index 2 keynum 0 1 1"),
    ("zincrby", "RW access update: index 1"),
    ("zinter", "RO access: index 1 keynum 0 1 1"),
    ("zintercard", "RO access: index 1 keynum 0 1 1"),
    ("zinterstore", "OW update: index 1; RO access: index 2 keynum 0 1 1"),
    ("zlexcount", "RO access: index 1"),
    ("zmpop", "RW access delete: index 1 keynum 0 1 1"),
    ("zmscore", "RO access: index 1"),
    ("zpopmax", "RW access delete: index 1"),
    ("zpopmin", "RW access delete: index 1"),
    ("zrandmember", "RO access: index 1"),
    ("zrange", "RO access: index 1"),
    ("zrangebylex", "RO access: index 1"),
    ("zrangebyscore", "RO access: index 1"),
    ("zrangestore", "OW update: index 1; RO access: index 2"),
    ("zrank", "RO access: index 1"),
    ("zrem", "RW delete: index 1"),
    ("zremrangebylex", "RW delete: index 1"),
    ("zremrangebyrank", "RW delete: index 1"),
    ("zremrangebyscore", "RW delete: index 1"),
    ("zrevrange", "RO access: index 1"),
    ("zrevrangebylex", "RO access: index 1"),
    ("zrevrangebyscore", "RO access: index 1"),
    ("zrevrank", "RO access: index 1"),
    ("zscan", "RO access: index 1"),
    ("zscore", "RO access: index 1"),
    ("zunion", "RO access: index 1 keynum 0 1 1"),
    ("zunionstore", "OW update: index 1; RO access: index 2 keynum 0 1 1"),

    // Streams
    ("xack", "RW update: index 1"),
    ("xadd", "RW update: index 1 # update, not insert: the optional trimming deletes entries"),
    ("xautoclaim", "RW delete: index 1"),
    ("xclaim", "RW update: index 1"),
    ("xdel", "RW delete: index 1"),
    ("xgroup|create", "RW insert: index 2"),
    ("xgroup|createconsumer", "RW insert: index 2"),
    ("xgroup|delconsumer", "RW delete: index 2"),
    ("xgroup|destroy", "RW delete: index 2"),
    ("xgroup|setid", "RW update: index 2"),
    ("xinfo|consumers", "RO access: index 2"),
    ("xinfo|groups", "RO access: index 2"),
    ("xinfo|stream", "RO access: index 2"),
    ("xlen", "RO: index 1"),
    ("xpending", "RO access: index 1"),
    ("xrange", "RO access: index 1"),
    ("xread", "RO access: keyword STREAMS 1 range -1 1 2"),
    ("xreadgroup", "RO access: keyword STREAMS 4 range -1 1 2"),
    ("xrevrange", "RO access: index 1"),
    ("xsetid", "RW update: index 1"),
    ("xtrim", "RW delete: index 1"),

    // Strings
    ("append", "RW insert: index 1"),
    ("decr", "RW access update: index 1"),
    ("decrby", "RW access update: index 1"),
    ("get", "RO access: index 1"),
    ("getdel", "RW access delete: index 1"),
    ("getex", "RW access update: index 1 # RW and update: it may change the TTL"),
    ("getrange", "RO access: index 1"),
    ("getset", "RW access update: index 1"),
    ("incr", "RW access update: index 1"),
    ("incrby", "RW access update: index 1"),
    ("incrbyfloat", "RW access update: index 1"),
    ("lcs", "RO access: index 1 range 1 1 0"),
    ("mget", "RO access: index 1 range -1 1 0"),
    ("mset", "OW update: index 1 range -1 2 0"),
    ("msetnx", "OW insert: index 1 range -1 2 0"),
    ("psetex", "OW update: index 1"),
    ("set", "RW access update variable_flags: index 1 # RW and access for the optional GET"),
    ("setex", "OW update: index 1"),
    ("setnx", "OW insert: index 1"),
    ("setrange", "RW update: index 1"),
    ("strlen", "RO: index 1"),
    ("substr", "RO access: index 1"),

    // Transactions
    ("watch", "RO: index 1 range -1 1 0"),
];

/// Parses one row; the error names what did not parse.
pub fn parse_row(row: &'static str) -> Result<Vec<Spec>, String> {
    row.split(';').map(|s| parse_spec(s.trim())).collect()
}

fn parse_spec(s: &'static str) -> Result<Spec, String> {
    let (body, notes) = match s.split_once('#') {
        Some((b, n)) => (b, Some(n.trim())),
        None => (s, None),
    };
    let (flag_words, rest) = body
        .split_once(':')
        .ok_or_else(|| format!("no ':' in {s:?}"))?;
    let mut flags = 0;
    for w in flag_words.split_whitespace() {
        let &(f, _) = flag::NAMES
            .iter()
            .find(|(_, n)| *n == w)
            .ok_or_else(|| format!("unknown flag {w:?} in {s:?}"))?;
        flags |= f;
    }
    let w: Vec<&'static str> = rest.split_whitespace().collect();
    let num = |i: usize| -> Result<i32, String> {
        w.get(i)
            .and_then(|x| x.parse().ok())
            .ok_or_else(|| format!("no number at word {i} of {rest:?}"))
    };
    let (begin, used) = match w.first().copied() {
        Some("index") => (Begin::Index(num(1)?), 2),
        Some("keyword") if w.len() >= 3 => (
            Begin::Keyword {
                keyword: w[1],
                startfrom: num(2)?,
            },
            3,
        ),
        Some("unknown") => (Begin::Unknown, 1),
        _ => return Err(format!("bad begin_search in {s:?}")),
    };
    let find = match (w.get(used).copied(), w.len() - used) {
        (None, _) => Find::Range {
            lastkey: 0,
            step: 1,
            limit: 0,
        },
        (Some("range"), 4) => Find::Range {
            lastkey: num(used + 1)?,
            step: num(used + 2)?,
            limit: num(used + 3)?,
        },
        (Some("keynum"), 4) => Find::Keynum {
            keynumidx: num(used + 1)?,
            firstkey: num(used + 2)?,
            step: num(used + 3)?,
        },
        (Some("unknown"), 1) => Find::Unknown,
        _ => return Err(format!("bad find_keys in {s:?}")),
    };
    Ok(Spec {
        flags,
        begin,
        find,
        notes,
    })
}

/// The specs of `full_name` (`cmd` or `container|sub`); none for a
/// command without keys. A row that does not parse is a bug the unit
/// tests catch; here it just has no specs.
pub fn lookup(full_name: &str) -> &'static [Spec] {
    static SPECS: OnceLock<FxHashMap<&'static str, Vec<Spec>>> = OnceLock::new();
    SPECS
        .get_or_init(|| {
            ROWS.iter()
                .map(|&(name, row)| (name, parse_row(row).unwrap_or_default()))
                .collect()
        })
        .get(full_name)
        .map_or(&[], |v| &v[..])
}

/// Writes a set of flag names, in Redis's order.
pub fn reply_flags(r: &mut ReplyBuf, flags: u16) {
    r.set(flags.count_ones() as usize);
    for &(f, name) in flag::NAMES {
        if flags & f != 0 {
            r.simple(name);
        }
    }
}

/// COMMAND INFO's key specifications: a set of maps, fields in Redis's
/// order (notes first, when there are any).
pub fn reply(r: &mut ReplyBuf, specs: &[Spec]) {
    r.set(specs.len());
    for s in specs {
        r.map(3 + usize::from(s.notes.is_some()));
        if let Some(n) = s.notes {
            r.bulk_str("notes");
            r.bulk_str(n);
        }
        r.bulk_str("flags");
        reply_flags(r, s.flags);
        r.bulk_str("begin_search");
        r.map(2);
        r.bulk_str("type");
        match s.begin {
            Begin::Index(pos) => {
                r.bulk_str("index");
                r.bulk_str("spec");
                r.map(1);
                r.bulk_str("index");
                r.int(pos as i64);
            }
            Begin::Keyword { keyword, startfrom } => {
                r.bulk_str("keyword");
                r.bulk_str("spec");
                r.map(2);
                r.bulk_str("keyword");
                r.bulk_str(keyword);
                r.bulk_str("startfrom");
                r.int(startfrom as i64);
            }
            Begin::Unknown => {
                r.bulk_str("unknown");
                r.bulk_str("spec");
                r.map(0);
            }
        }
        r.bulk_str("find_keys");
        r.map(2);
        r.bulk_str("type");
        match s.find {
            Find::Range {
                lastkey,
                step,
                limit,
            } => {
                r.bulk_str("range");
                r.bulk_str("spec");
                r.map(3);
                for (k, v) in [("lastkey", lastkey), ("keystep", step), ("limit", limit)] {
                    r.bulk_str(k);
                    r.int(v as i64);
                }
            }
            Find::Keynum {
                keynumidx,
                firstkey,
                step,
            } => {
                r.bulk_str("keynum");
                r.bulk_str("spec");
                r.map(3);
                for (k, v) in [
                    ("keynumidx", keynumidx),
                    ("firstkey", firstkey),
                    ("keystep", step),
                ] {
                    r.bulk_str(k);
                    r.int(v as i64);
                }
            }
            Find::Unknown => {
                r.bulk_str("unknown");
                r.bulk_str("spec");
                r.map(0);
            }
        }
    }
}

/// A key found: its position in the command line and its spec's flags.
pub type KeyRef = (usize, u16);

/// The keys the specs find in `args` (the command line, name first), as
/// Redis's `getKeysUsingKeySpecs`: None when a spec cannot say (unknown,
/// a count out of range, an incomplete spec that matched), so the
/// command's own key finder must.
pub fn keys_by_specs(specs: &[Spec], args: &Args) -> Option<Vec<KeyRef>> {
    let argc = args.len() as i64;
    let mut out = Vec::new();
    for s in specs {
        if s.flags & flag::NOT_KEY != 0 {
            continue;
        }
        let first = match s.begin {
            Begin::Index(pos) => pos as i64,
            Begin::Keyword { keyword, startfrom } => {
                match keyword_position(args, keyword, startfrom) {
                    Some(i) => i as i64 + 1,
                    None => continue,
                }
            }
            Begin::Unknown => return None,
        };
        let (first, last, step) = match s.find {
            Find::Range {
                lastkey,
                step,
                limit,
            } => {
                let last = if lastkey >= 0 {
                    first + lastkey as i64
                } else if limit == 0 {
                    argc + lastkey as i64
                } else {
                    first + ((argc - first) / limit as i64 + lastkey as i64)
                };
                (first, last, step)
            }
            Find::Keynum {
                keynumidx,
                firstkey,
                step,
            } => {
                let at = first + keynumidx as i64;
                if keynumidx as i64 >= argc || at >= argc {
                    return None;
                }
                let n = crate::util::parse_i64(&args[at as usize]).filter(|&n| n >= 0)?;
                let first = first + firstkey as i64;
                (first, first.saturating_add(n - 1), step)
            }
            Find::Unknown => return None,
        };
        if last >= argc || last < first || first >= argc {
            return None;
        }
        let mut i = first;
        while i <= last {
            out.push((i as usize, s.flags));
            i += step.max(1) as i64;
        }
        if s.flags & flag::INCOMPLETE != 0 {
            return None;
        }
    }
    Some(out)
}

/// Where `keyword` is, searched from `startfrom` towards the end (or from
/// the end backwards when negative), as Redis searches: never the last
/// argument going forwards, nor the first two going backwards.
fn keyword_position(args: &Args, keyword: &str, startfrom: i32) -> Option<usize> {
    let argc = args.len() as i64;
    let (start, end) = if startfrom > 0 {
        (startfrom as i64, argc - 1)
    } else {
        (argc + startfrom as i64, 1)
    };
    let mut i = start;
    while i != end {
        if i >= argc || i < 1 {
            return None;
        }
        if eq_ic(&args[i as usize], keyword) {
            return Some(i as usize);
        }
        i += if start <= end { 1 } else { -1 };
    }
    None
}

/// Whether the command has keys at all (COMMAND GETKEYS refuses one
/// without): a key finder of its own, or a spec for keys.
pub fn has_keys(spec: &CommandSpec, specs: &[Spec]) -> bool {
    spec.getkeys.is_some() || specs.iter().any(|s| s.flags & flag::NOT_KEY == 0)
}

/// The keys of the command line `args` and their flags, as Redis's
/// `getKeysFromCommandWithSpecs`: by the specs when they are reliable (no
/// variable flags) and can tell, else by the command's own finder (whose
/// flags, as Redis's, may be empty).
pub fn find_keys(spec: &CommandSpec, specs: &[Spec], args: &Args) -> Vec<KeyRef> {
    let variable = specs.iter().any(|s| s.flags & flag::VARIABLE_FLAGS != 0);
    if !variable
        && specs.iter().any(|s| s.flags & flag::NOT_KEY == 0)
        && let Some(keys) = keys_by_specs(specs, args)
    {
        return keys;
    }
    spec.getkeys.map_or_else(Vec::new, |find| find(args))
}

/// The legacy first/last/step and the movablekeys flag, as Redis derives
/// them from the specs (`populateCommandLegacyRangeSpec`): keys are
/// movable unless plain consecutive ranges, complete, cover them.
pub fn legacy_range(specs: &[Spec]) -> ((i32, i32, i32), bool) {
    let plain = |s: &Spec| match (s.begin, s.find) {
        (Begin::Index(pos), Find::Range { lastkey, step, .. }) => Some((pos, lastkey, step)),
        _ => None,
    };
    if let [s] = specs
        && let Some((pos, lastkey, step)) = plain(s)
    {
        let last = if lastkey >= 0 { pos + lastkey } else { lastkey };
        return ((pos, last, step), s.flags & flag::INCOMPLETE != 0);
    }
    let (mut first, mut last, mut prev_last, mut movable) = (i32::MAX, 0i32, 0, false);
    for s in specs {
        let Some((pos, lastkey, step)) = plain(s) else {
            movable = true;
            continue;
        };
        if step != 1 || (prev_last != 0 && prev_last != pos - 1) {
            movable = true;
            continue;
        }
        movable |= s.flags & flag::INCOMPLETE != 0;
        first = first.min(pos);
        let abs = if lastkey >= 0 { lastkey + pos } else { lastkey };
        last = (last as u32).max(abs as u32) as i32;
        prev_last = last;
    }
    if first == i32::MAX {
        return ((0, 0, 0), movable);
    }
    ((first, last, 1), movable)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::command::CommandSpec;
    use crate::command::table::families;

    /// Every command and subcommand with its full name.
    fn all_commands() -> Vec<(String, &'static CommandSpec)> {
        let mut v = Vec::new();
        for fam in families() {
            for c in *fam {
                v.push((c.name.to_string(), c));
                for sc in c.subcommands {
                    v.push((format!("{}|{}", c.name, sc.name), sc));
                }
            }
        }
        v
    }

    #[test]
    fn every_row_parses_once() {
        let mut seen = std::collections::HashSet::new();
        for &(name, row) in ROWS {
            assert!(seen.insert(name), "{name} twice");
            let specs = parse_row(row).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert!(!specs.is_empty(), "{name}");
        }
        assert_eq!(
            parse_row("RW access delete: index 1; RO: keyword STREAMS -2 range -1 1 2 # why"),
            Ok(vec![
                Spec {
                    flags: flag::RW | flag::ACCESS | flag::DELETE,
                    begin: Begin::Index(1),
                    find: Find::Range {
                        lastkey: 0,
                        step: 1,
                        limit: 0
                    },
                    notes: None,
                },
                Spec {
                    flags: flag::RO,
                    begin: Begin::Keyword {
                        keyword: "STREAMS",
                        startfrom: -2
                    },
                    find: Find::Range {
                        lastkey: -1,
                        step: 1,
                        limit: 2
                    },
                    notes: Some("why"),
                },
            ])
        );
        for bad in [
            "RW index 1",
            "XX: index 1",
            "RO: index",
            "RO: index 1 range 0 1",
            "RO: at 1",
        ] {
            assert!(parse_row(bad).is_err(), "{bad}");
        }
    }

    /// Each row names a command of the table, and each command with keys
    /// (a legacy range, or a key finder of its own) has a row.
    #[test]
    fn every_keyed_command_has_specs() {
        let commands = all_commands();
        for &(name, _) in ROWS {
            assert!(
                commands.iter().any(|(n, _)| n == name),
                "{name} is not a command"
            );
        }
        let missing: Vec<_> = commands
            .iter()
            .filter(|(n, c)| (c.keys.first > 0 || c.getkeys.is_some()) && lookup(n).is_empty())
            .map(|(n, _)| n.clone())
            .collect();
        assert!(missing.is_empty(), "no key specs for {missing:?}");
    }

    #[test]
    fn legacy_ranges_follow_from_the_specs() {
        let mut wrong = Vec::new();
        for (name, c) in all_commands() {
            let specs = lookup(&name);
            let (range, movable) = legacy_range(specs);
            let ours = (c.keys.first, c.keys.last, c.keys.step);
            if !specs.is_empty() && range != ours {
                wrong.push(format!("{name}: specs say {range:?}, table {ours:?}"));
            }
            // Keys the specs cannot always find need the row's own finder.
            if movable && c.getkeys.is_none() {
                wrong.push(format!("{name}: movable keys but no key finder"));
            }
        }
        assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    }

    /// COMMAND DOCS points each key argument at one of these specs
    /// (`key_spec_index`): every index must name a spec, and every spec
    /// but a shard channel's must be pointed at.
    #[test]
    fn docs_point_at_existing_specs() {
        fn indexes(args: &[crate::command::docs::syntax::Arg], out: &mut Vec<u32>) {
            for a in args {
                out.extend(a.key_spec);
                indexes(&a.args, out);
            }
        }
        let mut wrong = Vec::new();
        for (name, _) in all_commands() {
            let Some(doc) = crate::command::docs::lookup(&name) else {
                continue;
            };
            let mut used = Vec::new();
            indexes(&doc.args, &mut used);
            let specs = lookup(&name);
            let n = specs.len() as u32;
            let unused =
                (0..n).any(|i| !used.contains(&i) && specs[i as usize].flags & flag::NOT_KEY == 0);
            if used.iter().any(|&i| i >= n) || unused {
                wrong.push(format!("{name}: docs use {used:?}, {n} specs"));
            }
        }
        assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    }

    fn keys(name: &str, line: &str) -> Vec<(String, u16)> {
        let words: Vec<&[u8]> = line.split(' ').map(str::as_bytes).collect();
        let args = Args::from_slices(&words);
        let spec = all_commands()
            .into_iter()
            .find(|(n, _)| n == name)
            .map(|(_, c)| c)
            .unwrap();
        find_keys(spec, lookup(name), &args)
            .into_iter()
            .map(|(p, f)| (line.split(' ').nth(p).unwrap().to_string(), f))
            .collect()
    }

    #[test]
    fn keys_carry_their_specs_flags() {
        use flag::*;
        let k = |s: &str, f| (s.to_string(), f);
        assert_eq!(keys("set", "set k v"), [k("k", OW | UPDATE)]);
        assert_eq!(keys("set", "set k v GET"), [k("k", RW | ACCESS | UPDATE)]);
        assert_eq!(
            keys("lmove", "lmove a b left right"),
            [k("a", RW | ACCESS | DELETE), k("b", RW | INSERT)]
        );
        assert_eq!(
            keys("zunionstore", "zunionstore d 2 a b weights 1 2"),
            [
                k("d", OW | UPDATE),
                k("a", RO | ACCESS),
                k("b", RO | ACCESS)
            ]
        );
        assert!(keys("zinterstore", "zinterstore zz 1443677133621497600 asdf").is_empty());
        assert_eq!(
            keys("xread", "xread count 1 streams a b 0 0"),
            [k("a", RO | ACCESS), k("b", RO | ACCESS)]
        );
        assert_eq!(
            keys("georadius", "georadius k 0 0 1 km store a storedist b"),
            [
                k("k", RO | ACCESS),
                k("a", OW | UPDATE),
                k("b", OW | UPDATE)
            ]
        );
        assert_eq!(
            keys("sort", "sort k by w store d"),
            [k("k", RO | ACCESS), k("d", OW | UPDATE)]
        );
        assert_eq!(
            keys("bitfield", "bitfield k get u8 0"),
            [k("k", RO | ACCESS)]
        );
        assert_eq!(
            keys("bitfield", "bitfield k get u8 0 set u8 0 1"),
            [k("k", RW | ACCESS | UPDATE)]
        );
        assert_eq!(
            keys("migrate", "migrate h 1 k 0 10"),
            [k("k", RW | ACCESS | DELETE)]
        );
        assert_eq!(
            keys("migrate", "migrate h 1  0 10 replace keys a b"),
            [k("a", RW | ACCESS | DELETE), k("b", RW | ACCESS | DELETE)]
        );
        assert!(keys("eval", "eval s 0").is_empty());
        let spec = |n: &str| all_commands().into_iter().find(|(m, _)| m == n).unwrap().1;
        assert!(!has_keys(spec("spublish"), lookup("spublish")));
        assert!(has_keys(spec("eval"), lookup("eval")));
    }
}
