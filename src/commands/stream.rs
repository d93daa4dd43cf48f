//! Stream commands over `Value::Stream` (`crate::types::stream::Stream`):
//! XADD, XRANGE, XREAD and the consumer group commands, after Redis's
//! `t_stream.c`. Blocking XREAD/XREADGROUP park on the stream keys through
//! `Ctx::block`; a re-run serves what arrived (or errors, for groups).

use crate::command::flags::*;
use crate::command::{
    ArgExt, CmdError, CmdResult, CommandSpec, Ctx, ReplyBuf, cmd, container, keys,
};
use crate::config::notify;
use crate::db::Value;
use crate::resp::Args;
use crate::types::stream::{
    self, AddError, Consumer, Group, INVALID_ENTRIES_READ, Stream, StreamId, Trim,
};

pub static COMMANDS: &[CommandSpec] = &[
    cmd(
        "xadd",
        -5,
        WRITE | DENYOOM | FAST,
        keys(1, 1, 1),
        "stream",
        "5.0.0",
        "Appends a new message to a stream. Creates the key if it doesn't exist.",
        xadd,
    ),
    cmd(
        "xrange",
        -4,
        READONLY,
        keys(1, 1, 1),
        "stream",
        "5.0.0",
        "Returns the messages from a stream within a range of IDs.",
        xrange,
    ),
    cmd(
        "xrevrange",
        -4,
        READONLY,
        keys(1, 1, 1),
        "stream",
        "5.0.0",
        "Returns the messages from a stream within a range of IDs in reverse order.",
        xrevrange,
    ),
    cmd(
        "xlen",
        2,
        READONLY | FAST,
        keys(1, 1, 1),
        "stream",
        "5.0.0",
        "Return the number of messages in a stream.",
        xlen,
    ),
    cmd(
        "xdel",
        -3,
        WRITE | FAST,
        keys(1, 1, 1),
        "stream",
        "5.0.0",
        "Returns the number of messages after removing them from a stream.",
        xdel,
    ),
    cmd(
        "xtrim",
        -4,
        WRITE,
        keys(1, 1, 1),
        "stream",
        "5.0.0",
        "Deletes messages from the beginning of a stream.",
        xtrim,
    ),
    cmd(
        "xsetid",
        -3,
        WRITE | DENYOOM | FAST,
        keys(1, 1, 1),
        "stream",
        "5.0.0",
        "An internal command for replicating stream values.",
        xsetid,
    ),
    // Keys follow STREAMS: see `read_key_positions`.
    CommandSpec {
        getkeys: Some(read_keys),
        ..cmd(
            "xread",
            -4,
            READONLY | BLOCKING,
            keys(0, 0, 0),
            "stream",
            "5.0.0",
            "Returns messages from multiple streams with IDs greater than the ones requested. Blocks until a message is available otherwise.",
            xread,
        )
    },
    CommandSpec {
        getkeys: Some(read_keys),
        ..cmd(
            "xreadgroup",
            -7,
            WRITE | BLOCKING,
            keys(0, 0, 0),
            "stream",
            "5.0.0",
            "Returns new or historical messages from a stream for a consumer in a group. Blocks until a message is available otherwise.",
            xreadgroup,
        )
    },
    cmd(
        "xack",
        -4,
        WRITE | FAST,
        keys(1, 1, 1),
        "stream",
        "5.0.0",
        "Returns the number of messages that were successfully acknowledged by the consumer group member of a stream.",
        xack,
    ),
    cmd(
        "xpending",
        -3,
        READONLY,
        keys(1, 1, 1),
        "stream",
        "5.0.0",
        "Returns the information and entries from a stream consumer group's pending entries list.",
        xpending,
    ),
    cmd(
        "xclaim",
        -6,
        WRITE | FAST,
        keys(1, 1, 1),
        "stream",
        "5.0.0",
        "Changes, or acquires, ownership of a message in a consumer group, as if the message was delivered a consumer group member.",
        xclaim,
    ),
    cmd(
        "xautoclaim",
        -6,
        WRITE | FAST,
        keys(1, 1, 1),
        "stream",
        "6.2.0",
        "Changes, or acquires, ownership of messages in a consumer group, as if the messages were delivered to as consumer group member.",
        xautoclaim,
    ),
    container(
        "xgroup",
        "stream",
        "5.0.0",
        "A container for consumer groups commands.",
        XGROUP,
    ),
    container(
        "xinfo",
        "stream",
        "5.0.0",
        "A container for stream introspection commands.",
        XINFO,
    ),
];

static XGROUP: &[CommandSpec] = &[
    cmd(
        "create",
        -5,
        WRITE | DENYOOM,
        keys(2, 2, 1),
        "stream",
        "5.0.0",
        "Creates a consumer group.",
        xgroup,
    ),
    cmd(
        "createconsumer",
        5,
        WRITE | DENYOOM,
        keys(2, 2, 1),
        "stream",
        "6.2.0",
        "Creates a consumer in a consumer group.",
        xgroup,
    ),
    cmd(
        "delconsumer",
        5,
        WRITE,
        keys(2, 2, 1),
        "stream",
        "5.0.0",
        "Deletes a consumer from a consumer group.",
        xgroup,
    ),
    cmd(
        "destroy",
        4,
        WRITE,
        keys(2, 2, 1),
        "stream",
        "5.0.0",
        "Destroys a consumer group.",
        xgroup,
    ),
    cmd(
        "setid",
        -5,
        WRITE,
        keys(2, 2, 1),
        "stream",
        "5.0.0",
        "Sets the last-delivered ID of a consumer group.",
        xgroup,
    ),
    cmd(
        "help",
        2,
        LOADING | STALE,
        crate::command::NO_KEYS,
        "stream",
        "5.0.0",
        "Returns helpful text about the different subcommands.",
        xgroup_help,
    ),
];

static XINFO: &[CommandSpec] = &[
    cmd(
        "consumers",
        4,
        READONLY,
        keys(2, 2, 1),
        "stream",
        "5.0.0",
        "Returns a list of the consumers in a consumer group.",
        xinfo,
    ),
    cmd(
        "groups",
        3,
        READONLY,
        keys(2, 2, 1),
        "stream",
        "5.0.0",
        "Returns a list of the consumer groups of a stream.",
        xinfo,
    ),
    cmd(
        "stream",
        -3,
        READONLY,
        keys(2, 2, 1),
        "stream",
        "5.0.0",
        "Returns information about a stream.",
        xinfo,
    ),
    cmd(
        "help",
        2,
        LOADING | STALE,
        crate::command::NO_KEYS,
        "stream",
        "5.0.0",
        "Returns helpful text about the different subcommands.",
        xinfo_help,
    ),
];

/// Key finder of XREAD and XREADGROUP: the keys after STREAMS.
pub fn read_keys(args: &Args) -> Vec<crate::command::keyspecs::KeyRef> {
    crate::command::unflagged(read_key_positions(args))
}

/// Key positions of XREAD/XREADGROUP: the first half of what follows
/// STREAMS.
pub fn read_key_positions(args: &Args) -> Vec<usize> {
    for i in 1..args.len() {
        if args[i].eq_ignore_ascii_case(b"streams") {
            let n = (args.len() - i - 1) / 2;
            return (i + 1..i + 1 + n).collect();
        }
    }
    Vec::new()
}

fn invalid_id() -> CmdError {
    CmdError::msg("ERR Invalid stream ID specified as stream command argument")
}

fn eq(a: &[u8], b: &str) -> bool {
    a.eq_ignore_ascii_case(b.as_bytes())
}

fn parse_id(a: &[u8], missing_seq: u64) -> Result<StreamId, CmdError> {
    StreamId::parse(a, missing_seq, false, false)
        .map(|x| x.0)
        .ok_or_else(invalid_id)
}

fn parse_strict(a: &[u8], missing_seq: u64) -> Result<StreamId, CmdError> {
    StreamId::parse(a, missing_seq, true, false)
        .map(|x| x.0)
        .ok_or_else(invalid_id)
}

/// An interval bound: `(` makes it exclusive (strictly parsed).
fn parse_interval(a: &[u8], missing_seq: u64) -> Result<(StreamId, bool), CmdError> {
    if a.len() > 1 && a[0] == b'(' {
        Ok((parse_strict(&a[1..], missing_seq)?, true))
    } else {
        Ok((parse_id(a, missing_seq)?, false))
    }
}

fn range_start(a: &[u8]) -> Result<StreamId, CmdError> {
    let (id, ex) = parse_interval(a, 0)?;
    if ex {
        return id
            .incr()
            .ok_or_else(|| CmdError::msg("ERR invalid start ID for the interval"));
    }
    Ok(id)
}

fn range_end(a: &[u8]) -> Result<StreamId, CmdError> {
    let (id, ex) = parse_interval(a, u64::MAX)?;
    if ex {
        return id
            .decr()
            .ok_or_else(|| CmdError::msg("ERR invalid end ID for the interval"));
    }
    Ok(id)
}

fn int_msg(a: &[u8], msg: &str) -> Result<i64, CmdError> {
    crate::util::parse_i64(a).ok_or_else(|| CmdError::msg(format!("ERR {msg}")))
}

fn reply_id(r: &mut ReplyBuf, id: StreamId) {
    let mut b = [0u8; StreamId::TEXT_MAX];
    r.bulk(id.fmt_into(&mut b));
}

/// One entry: `[id, [field, value, ...]]`.
fn reply_entry(r: &mut ReplyBuf, id: StreamId, f: &stream::Fields) {
    r.array(2);
    reply_id(r, id);
    r.array(f.len());
    for x in f {
        r.bulk(x);
    }
}

fn reply_entries(r: &mut ReplyBuf, es: &[(StreamId, stream::Fields)]) {
    r.array(es.len());
    for (id, d) in es {
        reply_entry(r, *id, d);
    }
}

fn nogroup_key(key: &[u8], group: &[u8]) -> CmdError {
    CmdError::Msg(format!(
        "NOGROUP No such key '{}' or consumer group '{}'",
        String::from_utf8_lossy(key),
        String::from_utf8_lossy(group)
    ))
}

fn nogroup_for_key(group: &[u8], key: &[u8]) -> CmdError {
    CmdError::Msg(format!(
        "NOGROUP No such consumer group '{}' for key name '{}'",
        String::from_utf8_lossy(group),
        String::from_utf8_lossy(key)
    ))
}

/* ---------------------------------------------------------------------
 * XADD, XTRIM
 * ------------------------------------------------------------------- */

/// Parsed XADD/XTRIM options.
struct AddTrim {
    id: Option<(StreamId, bool)>,
    nomkstream: bool,
    trim: Option<Trim>,
    approx: bool,
    limit: u64,
    /// Index of the MAXLEN/MINID threshold argument, for propagation.
    trim_arg: usize,
    /// Index of the ID argument (XADD).
    id_arg: usize,
}

fn parse_add_trim(ctx: &Ctx, args: &Args, xadd: bool) -> Result<AddTrim, CmdError> {
    let mut o = AddTrim {
        id: None,
        nomkstream: false,
        trim: None,
        approx: false,
        limit: 0,
        trim_arg: 0,
        id_arg: 0,
    };
    let mut limit_given = false;
    let mut i = 2;
    let both = || {
        CmdError::msg(
            "ERR syntax error, MAXLEN and MINID options at the same time are not compatible",
        )
    };
    while i < args.len() {
        let more = args.len() - 1 - i;
        let a = &args[i];
        if xadd && a == b"*" {
            break;
        } else if (eq(a, "maxlen") || eq(a, "minid")) && more > 0 {
            if o.trim.is_some() {
                return Err(both());
            }
            let maxlen = eq(a, "maxlen");
            o.approx = false;
            let next = &args[i + 1];
            if more >= 2 && next == b"~" {
                o.approx = true;
                i += 1;
            } else if more >= 2 && next == b"=" {
                i += 1;
            }
            if maxlen {
                let n = args.i64_at(i + 1)?;
                if n < 0 {
                    return Err(CmdError::msg("ERR The MAXLEN argument must be >= 0."));
                }
                o.trim = Some(Trim::MaxLen(n as u64));
            } else {
                o.trim = Some(Trim::MinId(parse_strict(&args[i + 1], 0)?));
            }
            i += 1;
            o.trim_arg = i;
        } else if eq(a, "limit") && more > 0 {
            let n = args.i64_at(i + 1)?;
            if n < 0 {
                return Err(CmdError::msg("ERR The LIMIT argument must be >= 0."));
            }
            o.limit = n as u64;
            limit_given = true;
            i += 1;
        } else if xadd && eq(a, "nomkstream") {
            o.nomkstream = true;
        } else if xadd {
            let (id, seq_given) = StreamId::parse(a, 0, true, true).ok_or_else(invalid_id)?;
            o.id = Some((id, seq_given));
            break;
        } else {
            return Err(CmdError::Syntax);
        }
        i += 1;
    }
    o.id_arg = i;
    if o.limit != 0 && o.trim.is_none() {
        return Err(CmdError::msg(
            "ERR syntax error, LIMIT cannot be used without specifying a trimming strategy",
        ));
    }
    if !xadd && o.trim.is_none() {
        return Err(CmdError::msg(
            "ERR syntax error, XTRIM must be called with a trimming strategy",
        ));
    }
    if ctx.c.is_master {
        o.limit = 0;
    } else if limit_given {
        if !o.approx {
            return Err(CmdError::msg(
                "ERR syntax error, LIMIT cannot be used without the special ~ option",
            ));
        }
    } else if o.approx {
        let mut l = 100 * stream::node_max_entries() as u64;
        if l == 0 {
            l = 10000;
        }
        o.limit = l.min(1_000_000);
    } else {
        o.limit = 0;
    }
    Ok(o)
}

/// After an approximate trim, replicas get the exact outcome: `=` and the
/// resulting length or first ID.
fn rewrite_trim(argv: &mut [Vec<u8>], s: &Stream, o: &AddTrim) {
    argv[o.trim_arg - 1] = b"=".to_vec();
    argv[o.trim_arg] = match o.trim {
        Some(Trim::MaxLen(_)) => s.len().to_string().into_bytes(),
        _ => s.edge_id(true).to_bytes(),
    };
}

/// XADD key [NOMKSTREAM] [MAXLEN|MINID [=|~] threshold [LIMIT count]] *|id field value [field value ...]
pub fn xadd(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let o = parse_add_trim(ctx, args, true)?;
    let fpos = o.id_arg + 1;
    if args.len() < fpos + 2 || (args.len() - fpos) % 2 == 1 {
        return Err(CmdError::msg(
            "ERR wrong number of arguments for 'xadd' command",
        ));
    }
    if let Some((id, true)) = o.id
        && id.is_zero()
    {
        return Err(CmdError::msg(
            "ERR The ID specified in XADD must be greater than 0-0",
        ));
    }
    let key = &args[1];
    match ctx.lookup_write(key) {
        Some(obj) => {
            obj.v.as_stream()?;
        }
        None if o.nomkstream => {
            ctx.c.reply.null();
            return Ok(());
        }
        None => {
            ctx.db().add(key, Value::Stream(Box::default()));
        }
    }
    let now = ctx.now().max(0) as u64;
    let fields: Vec<&[u8]> = (fpos..args.len()).map(|i| &args[i][..]).collect();
    let Some(obj) = ctx.lookup_write(key) else {
        return Ok(());
    };
    let s = obj.v.as_stream_mut()?;
    if s.last_id == StreamId::MAX {
        return Err(CmdError::msg(
            "ERR The stream has exhausted the last possible ID, unable to add more items",
        ));
    }
    let id = match s.add(o.id, now, &fields) {
        Ok(id) => id,
        Err(AddError::IdTooSmall) => {
            return Err(CmdError::msg(
                "ERR The ID specified in XADD is equal or smaller than the target stream top item",
            ));
        }
        Err(AddError::TooLarge) => {
            return Err(CmdError::msg("ERR Elements are too large to be stored"));
        }
    };
    let trimmed = match o.trim {
        Some(t) => s.trim(t, o.approx, o.limit),
        None => 0,
    };
    let mut argv: Vec<Vec<u8>> = args.iter().map(|a| a.to_vec()).collect();
    let mut rewrite = false;
    if o.trim.is_some() && o.approx {
        rewrite_trim(&mut argv, s, &o);
        rewrite = true;
    }
    if !matches!(o.id, Some((_, true))) {
        argv[o.id_arg] = id.to_bytes();
        rewrite = true;
    }
    ctx.c.reply.bulk(&id.to_bytes());
    ctx.wrote(key, "xadd", notify::STREAM);
    if trimmed > 0 {
        let db = ctx.c.db;
        ctx.st.notify(notify::STREAM, "xtrim", key, db);
    }
    if rewrite {
        ctx.propagate_as(argv);
    }
    Ok(())
}

/// XTRIM key MAXLEN|MINID [=|~] threshold [LIMIT count]
pub fn xtrim(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let o = parse_add_trim(ctx, args, false)?;
    let key = &args[1];
    let Some(obj) = ctx.lookup_write(key) else {
        ctx.c.reply.int(0);
        return Ok(());
    };
    let s = obj.v.as_stream_mut()?;
    let deleted = s.trim(o.trim.unwrap_or(Trim::MaxLen(u64::MAX)), o.approx, o.limit);
    let mut argv = None;
    if deleted > 0 && o.approx {
        let mut v: Vec<Vec<u8>> = args.iter().map(|a| a.to_vec()).collect();
        rewrite_trim(&mut v, s, &o);
        argv = Some(v);
    }
    ctx.c.reply.int(deleted as i64);
    if deleted > 0 {
        ctx.wrote(key, "xtrim", notify::STREAM);
        ctx.st.dirty += deleted - 1;
        if let Some(v) = argv {
            ctx.propagate_as(v);
        }
    }
    Ok(())
}

/* ---------------------------------------------------------------------
 * XRANGE, XREVRANGE, XLEN, XDEL, XSETID
 * ------------------------------------------------------------------- */

/// XRANGE key start end [COUNT count]
pub fn xrange(ctx: &mut Ctx, args: &Args) -> CmdResult {
    range_generic(ctx, args, false)
}

/// XREVRANGE key end start [COUNT count]
pub fn xrevrange(ctx: &mut Ctx, args: &Args) -> CmdResult {
    range_generic(ctx, args, true)
}

fn range_generic(ctx: &mut Ctx, args: &Args, rev: bool) -> CmdResult {
    let (sa, ea) = if rev { (3, 2) } else { (2, 3) };
    let start = range_start(&args[sa])?;
    let end = range_end(&args[ea])?;
    let mut count: i64 = -1;
    let mut j = 4;
    while j < args.len() {
        if eq(&args[j], "count") && j + 1 < args.len() {
            count = args.i64_at(j + 1)?.max(0);
            j += 2;
        } else {
            return Err(CmdError::Syntax);
        }
    }
    let (o, r) = ctx.lookup_r(&args[1]);
    let Some(o) = o else {
        r.array(0);
        return Ok(());
    };
    let s = o.v.as_stream()?;
    if count == 0 {
        r.null_array();
        return Ok(());
    }
    let es = s.range(start, end, rev, count.max(0) as usize);
    reply_entries(r, &es);
    Ok(())
}

/// XLEN key
pub fn xlen(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let n = match ctx.lookup(&args[1]) {
        None => 0,
        Some(o) => o.v.as_stream()?.len(),
    };
    ctx.c.reply.int(n as i64);
    Ok(())
}

/// XDEL key id [id ...]
pub fn xdel(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let key = &args[1];
    let Some(o) = ctx.lookup_write(key) else {
        ctx.c.reply.int(0);
        return Ok(());
    };
    o.v.as_stream()?;
    let ids = (2..args.len())
        .map(|i| parse_strict(&args[i], 0))
        .collect::<Result<Vec<_>, _>>()?;
    let Some(o) = ctx.lookup_write(key) else {
        return Ok(());
    };
    let s = o.v.as_stream_mut()?;
    let mut deleted = 0u64;
    for id in ids {
        if s.delete(id) {
            deleted += 1;
        }
    }
    if deleted > 0 {
        s.refresh_first_id();
    }
    ctx.c.reply.int(deleted as i64);
    if deleted > 0 {
        ctx.wrote(key, "xdel", notify::STREAM);
        ctx.st.dirty += deleted - 1;
    }
    Ok(())
}

/// XSETID key last-id [ENTRIESADDED entries-added] [MAXDELETEDID max-deleted-id]
pub fn xsetid(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let id = parse_strict(&args[2], 0)?;
    let mut entries_added: i64 = -1;
    let mut max_xdel = StreamId::MIN;
    let mut i = 3;
    while i < args.len() {
        let more = args.len() - 1 - i;
        if eq(&args[i], "entriesadded") && more > 0 {
            entries_added = args.i64_at(i + 1)?;
            if entries_added < 0 {
                return Err(CmdError::msg("ERR entries_added must be positive"));
            }
        } else if eq(&args[i], "maxdeletedid") && more > 0 {
            max_xdel = parse_strict(&args[i + 1], 0)?;
            if id < max_xdel {
                return Err(CmdError::msg(
                    "ERR The ID specified in XSETID is smaller than the provided max_deleted_entry_id",
                ));
            }
        } else {
            return Err(CmdError::Syntax);
        }
        i += 2;
    }
    let key = &args[1];
    let Some(o) = ctx.lookup_write(key) else {
        return Err(CmdError::NoSuchKey);
    };
    let s = o.v.as_stream_mut()?;
    if id < s.max_deleted_id {
        return Err(CmdError::msg(
            "ERR The ID specified in XSETID is smaller than current max_deleted_entry_id",
        ));
    }
    if !s.is_empty() {
        if id < s.edge_id(false) {
            return Err(CmdError::msg(
                "ERR The ID specified in XSETID is smaller than the target stream top item",
            ));
        }
        if entries_added != -1 && s.len() > entries_added as u64 {
            return Err(CmdError::msg(
                "ERR The entries_added specified in XSETID is smaller than the target stream length",
            ));
        }
    }
    s.last_id = id;
    if entries_added != -1 {
        s.entries_added = entries_added as u64;
    }
    if !max_xdel.is_zero() {
        s.max_deleted_id = max_xdel;
    }
    ctx.c.reply.ok();
    ctx.wrote(key, "xsetid", notify::STREAM);
    Ok(())
}

/* ---------------------------------------------------------------------
 * XREAD, XREADGROUP
 * ------------------------------------------------------------------- */

/// XREAD [COUNT count] [BLOCK milliseconds] STREAMS key [key ...] id [id ...]
pub fn xread(ctx: &mut Ctx, args: &Args) -> CmdResult {
    read_generic(ctx, args, false)
}

/// XREADGROUP GROUP group consumer [COUNT count] [BLOCK milliseconds] [NOACK] STREAMS key [key ...] id [id ...]
pub fn xreadgroup(ctx: &mut Ctx, args: &Args) -> CmdResult {
    read_generic(ctx, args, true)
}

/// What one stream of an XREADGROUP asks for.
#[derive(Clone, Copy)]
enum ReadId {
    /// Entries after this ID.
    After(StreamId),
    /// `>`: never-delivered entries.
    New,
}

fn read_generic(ctx: &mut Ctx, args: &Args, group_mode: bool) -> CmdResult {
    let mut timeout: Option<i64> = None;
    let mut count: usize = 0;
    let mut streams_arg = 0;
    let mut noack = false;
    let mut group: Option<(&[u8], &[u8])> = None;
    let name = if group_mode { "xreadgroup" } else { "xread" };
    let mut i = 1;
    while i < args.len() {
        let more = args.len() - i - 1;
        let a = &args[i];
        if eq(a, "block") && more > 0 {
            i += 1;
            timeout = Some(crate::command::parse_timeout_ms(&args[i])?);
        } else if eq(a, "count") && more > 0 {
            i += 1;
            count = args.i64_at(i)?.max(0) as usize;
        } else if eq(a, "streams") && more > 0 {
            streams_arg = i + 1;
            if !(args.len() - streams_arg).is_multiple_of(2) {
                let sym = if group_mode {
                    "ID or '>'"
                } else {
                    "ID, '+', or '$'"
                };
                return Err(CmdError::msg(format!(
                    "ERR Unbalanced '{name}' list of streams: for each stream key an {sym} must be specified."
                )));
            }
            break;
        } else if eq(a, "group") && more >= 2 {
            if !group_mode {
                return Err(CmdError::msg(
                    "ERR The GROUP option is only supported by XREADGROUP. You called XREAD instead.",
                ));
            }
            group = Some((&args[i + 1], &args[i + 2]));
            i += 2;
        } else if eq(a, "noack") {
            if !group_mode {
                return Err(CmdError::msg(
                    "ERR The NOACK option is only supported by XREADGROUP. You called XREAD instead.",
                ));
            }
            noack = true;
        } else {
            return Err(CmdError::Syntax);
        }
        i += 1;
    }
    if streams_arg == 0 {
        return Err(CmdError::Syntax);
    }
    if group_mode && group.is_none() {
        return Err(CmdError::msg("ERR Missing GROUP option for XREADGROUP"));
    }
    let n = (args.len() - streams_arg) / 2;
    let timed_out = ctx.block_timed_out();
    let mut ids: Vec<ReadId> = Vec::with_capacity(n);
    let mut dollar = vec![false; n];
    for k in 0..n {
        let key = &args[streams_arg + k];
        let ida = &args[streams_arg + n + k];
        let st = match ctx.lookup(key) {
            None => None,
            Some(o) => match o.v.as_stream() {
                Ok(s) => Some(s),
                Err(_) if timed_out && !group_mode => None,
                Err(e) => return Err(e),
            },
        };
        if let Some((g, _)) = group
            && !st.is_some_and(|s| s.groups.contains_key(g))
        {
            return Err(CmdError::Msg(format!(
                "NOGROUP No such key '{}' or consumer group '{}' in XREADGROUP with GROUP option",
                String::from_utf8_lossy(key),
                String::from_utf8_lossy(g)
            )));
        }
        let id = match ida {
            b"$" => {
                if group_mode {
                    return Err(CmdError::msg(
                        "ERR The $ ID is meaningless in the context of XREADGROUP: you want to read the history of this consumer by specifying a proper ID, or use the > ID to get new messages. The $ ID would just return an empty result set.",
                    ));
                }
                dollar[k] = true;
                ReadId::After(st.map(|s| s.last_id).unwrap_or_default())
            }
            b"+" => {
                if group_mode {
                    return Err(CmdError::msg(
                        "ERR The + ID is meaningless in the context of XREADGROUP: you want to read the history of this consumer by specifying a proper ID, or use the > ID to get new messages. The + ID would just return an empty result set.",
                    ));
                }
                match st {
                    Some(s) if !s.is_empty() => {
                        ReadId::After(s.edge_id(false).decr().unwrap_or_default())
                    }
                    _ => ReadId::After(StreamId::MIN),
                }
            }
            b">" => {
                if !group_mode {
                    return Err(CmdError::msg(
                        "ERR The > ID can be specified only when calling XREADGROUP using the GROUP <group> <consumer> option.",
                    ));
                }
                ReadId::New
            }
            _ => ReadId::After(parse_strict(ida, 0)?),
        };
        ids.push(id);
    }

    // Serve what is available.
    let now = ctx.now();
    let resp2 = ctx.c.reply.resp < 3;
    let mark = ctx.c.reply.deferred();
    let mut served = 0;
    let mut props: Vec<Vec<Vec<u8>>> = Vec::new();
    let mut dirty = 0u64;
    let mut created = Vec::new();
    for k in 0..n {
        let key = &args[streams_arg + k];
        // A second read lookup per key, as Redis's serving loop makes one:
        // a missing stream counts a second miss and `keymiss` event.
        if ctx.lookup(key).is_none() {
            continue;
        }
        let db = ctx.c.db;
        let Some(o) = ctx.st.dbs[db].keys.get_mut(key) else {
            continue;
        };
        let Ok(s) = o.v.as_stream_mut() else {
            continue;
        };
        match group {
            None => {
                let ReadId::After(gt) = ids[k] else { continue };
                if s.is_empty() || s.edge_id(false) <= gt {
                    continue;
                }
                let Some(start) = gt.incr() else { continue };
                let es = s.range(start, StreamId::MAX, false, count);
                served += 1;
                let r = &mut ctx.c.reply;
                if resp2 {
                    r.array(2);
                }
                r.bulk(key);
                reply_entries(r, &es);
            }
            Some((gname, cname)) => {
                let props_before = props.len();
                let (sync, history) = match ids[k] {
                    ReadId::After(_) => (true, true),
                    ReadId::New => {
                        let last = s.groups.get(gname).map(|g| g.last_id).unwrap_or_default();
                        (!s.is_empty() && s.edge_id(false) > last, false)
                    }
                };
                let Some(g) = s.groups.get_mut(gname) else {
                    continue;
                };
                if !g.consumers.contains_key(cname) {
                    g.consumers.insert(cname.to_vec(), Consumer::new(now));
                    dirty += 1;
                    created.push(k);
                    if noack {
                        props.push(vec![
                            b"XGROUP".to_vec(),
                            b"CREATECONSUMER".to_vec(),
                            key.to_vec(),
                            gname.to_vec(),
                            cname.to_vec(),
                        ]);
                    }
                }
                if let Some(c) = g.consumers.get_mut(cname) {
                    c.seen_time = now;
                }
                if !sync {
                    continue;
                }
                served += 1;
                let r = &mut ctx.c.reply;
                if resp2 {
                    r.array(2);
                }
                r.bulk(key);
                if history {
                    let ReadId::After(gt) = ids[k] else { continue };
                    let start = gt.incr().unwrap_or(StreamId::MAX);
                    let g = s.groups.get_mut(gname).expect("group checked above");
                    let c = g.consumers.get(cname).expect("consumer created above");
                    let pel: Vec<StreamId> = c
                        .pel
                        .range(start..)
                        .take(if count == 0 { usize::MAX } else { count })
                        .copied()
                        .collect();
                    r.array(pel.len());
                    for id in pel {
                        match s.get(id) {
                            Some(d) => {
                                reply_entry(r, id, &d);
                                let g = s.groups.get_mut(gname).expect("group checked above");
                                if let Some(nk) = g.pel.get_mut(&id) {
                                    nk.delivery_time = now;
                                    nk.delivery_count += 1;
                                }
                            }
                            None => {
                                r.array(2);
                                reply_id(r, id);
                                r.null_array();
                            }
                        }
                    }
                } else {
                    let last = s.groups[gname].last_id;
                    let start = last.incr().unwrap_or(StreamId::MAX);
                    let es = s.range(start, StreamId::MAX, false, count);
                    reply_entries(r, &es);
                    let es: Vec<StreamId> = es.into_iter().map(|e| e.0).collect();
                    for id in &es {
                        s.advance_group(gname, *id);
                        if !noack {
                            let g = s.groups.get_mut(gname).expect("group checked above");
                            g.deliver(*id, cname, now);
                            if let Some(c) = g.consumers.get_mut(cname) {
                                c.active_time = now;
                            }
                            let nk = &g.pel[id];
                            props.push(xclaim_argv(
                                key,
                                gname,
                                cname,
                                *id,
                                nk.delivery_time,
                                nk.delivery_count,
                                g.last_id,
                            ));
                        }
                    }
                    if !es.is_empty() {
                        let g = &s.groups[gname];
                        props.push(setid_argv(key, gname, g));
                    }
                }
                if props.len() > props_before {
                    dirty += 1;
                }
            }
        }
    }
    ctx.st.dirty += dirty;
    let db = ctx.c.db;
    for k in created {
        ctx.st.notify(
            notify::STREAM,
            "xgroup-createconsumer",
            &args[streams_arg + k],
            db,
        );
    }
    if served > 0 {
        let r = &mut ctx.c.reply;
        r.set_deferred(mark, if resp2 { b'*' } else { b'%' }, served);
        finish_props(ctx, props);
        return Ok(());
    }
    finish_props(ctx, props);
    if let Some(t) = timeout
        && !ctx.block_timed_out()
    {
        // `$` becomes the ID it meant now, so that a re-run serves what
        // arrives after this point.
        let mut v: Vec<Vec<u8>> = args.iter().map(|a| a.to_vec()).collect();
        for k in 0..n {
            if let (true, ReadId::After(id)) = (dollar[k], ids[k]) {
                v[streams_arg + n + k] = id.to_bytes();
            }
        }
        let nargs = Args::from_iter(v.iter().map(|a| &a[..]));
        let keys: Vec<&[u8]> = (0..n).map(|k| &args[streams_arg + k][..]).collect();
        if ctx.block(&nargs, &keys, t) {
            if let Some(b) = ctx.c.blocked.as_mut() {
                b.nokey = group_mode;
            }
            return Ok(());
        }
    }
    ctx.c.reply.null_array();
    Ok(())
}

fn finish_props(ctx: &mut Ctx, props: Vec<Vec<Vec<u8>>>) {
    if props.is_empty() {
        ctx.prevent_propagation();
    }
    for p in props {
        ctx.propagate_as(p);
    }
}

/// `XCLAIM key group consumer 0 id TIME ms RETRYCOUNT n FORCE JUSTID LASTID last`,
/// how a delivery or claim reaches replicas.
fn xclaim_argv(
    key: &[u8],
    group: &[u8],
    consumer: &[u8],
    id: StreamId,
    time: i64,
    count: u64,
    last: StreamId,
) -> Vec<Vec<u8>> {
    vec![
        b"XCLAIM".to_vec(),
        key.to_vec(),
        group.to_vec(),
        consumer.to_vec(),
        b"0".to_vec(),
        id.to_bytes(),
        b"TIME".to_vec(),
        time.to_string().into_bytes(),
        b"RETRYCOUNT".to_vec(),
        count.to_string().into_bytes(),
        b"FORCE".to_vec(),
        b"JUSTID".to_vec(),
        b"LASTID".to_vec(),
        last.to_bytes(),
    ]
}

/// `XGROUP SETID key group last ENTRIESREAD n`.
fn setid_argv(key: &[u8], group: &[u8], g: &Group) -> Vec<Vec<u8>> {
    vec![
        b"XGROUP".to_vec(),
        b"SETID".to_vec(),
        key.to_vec(),
        group.to_vec(),
        g.last_id.to_bytes(),
        b"ENTRIESREAD".to_vec(),
        g.entries_read.to_string().into_bytes(),
    ]
}

/* ---------------------------------------------------------------------
 * XGROUP
 * ------------------------------------------------------------------- */

fn xgroup_help(ctx: &mut Ctx, _args: &Args) -> CmdResult {
    crate::commands::introspection::reply_help(
        &mut ctx.c.reply,
        "XGROUP",
        &[
            "CREATE <key> <groupname> <id|$> [option]",
            "    Create a new consumer group. Options are:",
            "    * MKSTREAM",
            "      Create the empty stream if it does not exist.",
            "    * ENTRIESREAD entries_read",
            "      Set the group's entries_read counter (internal use).",
            "CREATECONSUMER <key> <groupname> <consumer>",
            "    Create a new consumer in the specified group.",
            "DELCONSUMER <key> <groupname> <consumer>",
            "    Remove the specified consumer.",
            "DESTROY <key> <groupname>",
            "    Remove the specified group.",
            "SETID <key> <groupname> <id|$> [ENTRIESREAD entries_read]",
            "    Set the current group ID and entries_read counter.",
        ],
    );
    Ok(())
}

fn subcommand_syntax(args: &Args) -> CmdError {
    CmdError::msg(format!(
        "ERR unknown subcommand or wrong number of arguments for '{}'. Try XGROUP HELP.",
        String::from_utf8_lossy(&args[1])
    ))
}

/// XGROUP CREATE|SETID|DESTROY|CREATECONSUMER|DELCONSUMER key group ...
pub fn xgroup(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let sub = args[1].to_ascii_lowercase();
    let create = sub == b"create";
    let setid = sub == b"setid";
    let mut mkstream = false;
    let mut entries_read = INVALID_ENTRIES_READ;
    let mut i = 5;
    while i < args.len() {
        if create && eq(&args[i], "mkstream") {
            mkstream = true;
            i += 1;
        } else if (create || setid) && eq(&args[i], "entriesread") && i + 1 < args.len() {
            entries_read = args.i64_at(i + 1)?;
            if entries_read < 0 && entries_read != INVALID_ENTRIES_READ {
                return Err(CmdError::msg(
                    "ERR value for ENTRIESREAD must be positive or -1",
                ));
            }
            i += 2;
        } else {
            return Err(subcommand_syntax(args));
        }
    }
    let key = &args[2];
    let gname = &args[3];
    let exists = match ctx.lookup_write(key) {
        Some(o) => {
            let s = o.v.as_stream()?;
            Some(s.groups.contains_key(gname))
        }
        None => None,
    };
    if !mkstream {
        match exists {
            None => {
                return Err(CmdError::msg(
                    "ERR The XGROUP subcommand requires the key to exist. Note that for CREATE you may want to use the MKSTREAM option to create an empty stream automatically.",
                ));
            }
            Some(false) if !create && sub != b"destroy" => return Err(nogroup_for_key(gname, key)),
            _ => {}
        }
    }
    let ok_len = match &sub[..] {
        b"create" => (5..=8).contains(&args.len()),
        b"setid" => args.len() == 5 || args.len() == 7,
        b"destroy" => args.len() == 4,
        _ => args.len() == 5,
    };
    if !ok_len {
        return Err(subcommand_syntax(args));
    }
    let now = ctx.now();
    let db = ctx.c.db;
    match &sub[..] {
        b"create" => {
            let id = if &args[4][..] == b"$" {
                None
            } else {
                Some(parse_strict(&args[4], 0)?)
            };
            if exists.is_none() {
                ctx.db().add(key, Value::Stream(Box::default()));
                ctx.st.key_modified(db, key);
            }
            let s = stream_mut(ctx, key)?;
            if s.groups.contains_key(gname) {
                return Err(CmdError::msg(
                    "BUSYGROUP Consumer Group name already exists",
                ));
            }
            let last_id = id.unwrap_or(s.last_id);
            s.groups.insert(
                gname.to_vec(),
                Group {
                    last_id,
                    entries_read,
                    ..Default::default()
                },
            );
            ctx.c.reply.ok();
            ctx.st.dirty += 1;
            ctx.st.notify(notify::STREAM, "xgroup-create", key, db);
        }
        b"setid" => {
            let id_arg = &args[4];
            let s = stream_mut(ctx, key)?;
            let id = if id_arg == b"$" {
                s.last_id
            } else {
                parse_id(id_arg, 0)?
            };
            if let Some(g) = s.groups.get_mut(gname) {
                g.last_id = id;
                g.entries_read = entries_read;
            }
            ctx.c.reply.ok();
            ctx.st.dirty += 1;
            ctx.st.notify(notify::STREAM, "xgroup-setid", key, db);
        }
        b"destroy" => {
            let s = stream_mut(ctx, key)?;
            if s.groups.remove(gname).is_some() {
                ctx.c.reply.int(1);
                ctx.st.dirty += 1;
                ctx.st.notify(notify::STREAM, "xgroup-destroy", key, db);
                ctx.st.blocking.signal(db, key);
            } else {
                ctx.c.reply.int(0);
            }
        }
        b"createconsumer" => {
            let cname = &args[4];
            let s = stream_mut(ctx, key)?;
            let g = s
                .groups
                .get_mut(gname)
                .ok_or_else(|| nogroup_for_key(gname, key))?;
            if g.consumers.contains_key(cname) {
                ctx.c.reply.int(0);
            } else {
                g.consumers.insert(cname.to_vec(), Consumer::new(now));
                ctx.c.reply.int(1);
                ctx.st.dirty += 1;
                ctx.st
                    .notify(notify::STREAM, "xgroup-createconsumer", key, db);
            }
        }
        b"delconsumer" => {
            let cname = &args[4];
            let s = stream_mut(ctx, key)?;
            let g = s
                .groups
                .get_mut(gname)
                .ok_or_else(|| nogroup_for_key(gname, key))?;
            match g.del_consumer(cname) {
                Some(n) => {
                    ctx.c.reply.int(n as i64);
                    ctx.st.dirty += 1;
                    ctx.st.notify(notify::STREAM, "xgroup-delconsumer", key, db);
                }
                None => ctx.c.reply.int(0),
            }
        }
        _ => return Err(subcommand_syntax(args)),
    }
    Ok(())
}

fn stream_mut<'a>(ctx: &'a mut Ctx, key: &[u8]) -> Result<&'a mut Stream, CmdError> {
    match ctx.lookup_write(key) {
        Some(o) => o.v.as_stream_mut(),
        None => Err(CmdError::NoSuchKey),
    }
}

/* ---------------------------------------------------------------------
 * XACK, XPENDING, XCLAIM, XAUTOCLAIM
 * ------------------------------------------------------------------- */

/// XACK key group id [id ...]
pub fn xack(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let key = &args[1];
    let has_group = match ctx.lookup(key) {
        Some(o) => o.v.as_stream()?.groups.contains_key(&args[2][..]),
        None => false,
    };
    if !has_group {
        ctx.c.reply.int(0);
        return Ok(());
    }
    let ids = (3..args.len())
        .map(|i| parse_strict(&args[i], 0))
        .collect::<Result<Vec<_>, _>>()?;
    let s = stream_mut(ctx, key)?;
    let g = s
        .groups
        .get_mut(&args[2][..])
        .ok_or_else(|| nogroup_key(key, &args[2]))?;
    let mut acked = 0;
    for id in ids {
        if g.ack(id) {
            acked += 1;
        }
    }
    ctx.c.reply.int(acked);
    ctx.st.dirty += acked as u64;
    Ok(())
}

/// XPENDING key group [[IDLE min-idle-time] start end count [consumer]]
pub fn xpending(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let argc = args.len();
    let justinfo = argc == 3;
    if argc != 3 && !(6..=9).contains(&argc) {
        return Err(CmdError::Syntax);
    }
    let mut start = StreamId::MIN;
    let mut end = StreamId::MAX;
    let mut count: i64 = 0;
    let mut minidle: i64 = 0;
    let mut consumer: Option<&[u8]> = None;
    if argc >= 6 {
        let mut si = 3;
        if eq(&args[3], "idle") {
            minidle = args.i64_at(4)?;
            if argc < 8 {
                return Err(CmdError::Syntax);
            }
            si += 2;
        }
        count = args.i64_at(si + 2)?.max(0);
        start = range_start(&args[si])?;
        end = range_end(&args[si + 1])?;
        if si + 3 < argc {
            consumer = Some(&args[si + 3]);
        }
    }
    let key = &args[1];
    let gname = &args[2];
    let now = ctx.now();
    let (o, r) = ctx.lookup_r(key);
    let s = match o {
        Some(o) => o.v.as_stream()?,
        None => return Err(nogroup_key(key, gname)),
    };
    let g = s.groups.get(gname).ok_or_else(|| nogroup_key(key, gname))?;
    if justinfo {
        r.array(4);
        r.int(g.pel.len() as i64);
        if g.pel.is_empty() {
            r.null();
            r.null();
            r.null_array();
        } else {
            reply_id(r, *g.pel.keys().next().expect("non-empty"));
            reply_id(r, *g.pel.keys().next_back().expect("non-empty"));
            let cs: Vec<_> = g
                .consumers
                .iter()
                .filter(|(_, c)| !c.pel.is_empty())
                .collect();
            r.array(cs.len());
            for (name, c) in cs {
                r.array(2);
                r.bulk(name);
                r.bulk_i64(c.pel.len() as i64);
            }
        }
        return Ok(());
    }
    let ids: Vec<StreamId> = match consumer {
        Some(cn) => match g.consumers.get(cn) {
            Some(c) => c
                .pel
                .range(start..)
                .take_while(|id| **id <= end)
                .copied()
                .collect(),
            None => {
                r.array(0);
                return Ok(());
            }
        },
        None => g
            .pel
            .range(start..)
            .take_while(|(id, _)| **id <= end)
            .map(|(id, _)| *id)
            .collect(),
    };
    if start > end {
        r.array(0);
        return Ok(());
    }
    let mut out = Vec::new();
    for id in ids {
        if count == 0 {
            break;
        }
        let nk = &g.pel[&id];
        if minidle != 0 && now - nk.delivery_time < minidle {
            continue;
        }
        count -= 1;
        out.push((id, nk));
    }
    r.array(out.len());
    for (id, nk) in out {
        r.array(4);
        reply_id(r, id);
        r.bulk(&nk.consumer);
        r.int((now - nk.delivery_time).max(0));
        r.int(nk.delivery_count as i64);
    }
    Ok(())
}

/// XCLAIM key group consumer min-idle-time id [id ...] [IDLE ms] [TIME unix-time-milliseconds] [RETRYCOUNT count] [FORCE] [JUSTID] [LASTID lastid]
pub fn xclaim(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let key = &args[1];
    let gname = &args[2];
    let cname = &args[3];
    match ctx.lookup(key) {
        Some(o) => {
            if !o.v.as_stream()?.groups.contains_key(gname) {
                return Err(nogroup_key(key, gname));
            }
        }
        None => return Err(nogroup_key(key, gname)),
    }
    let minidle = int_msg(&args[4], "Invalid min-idle-time argument for XCLAIM")?.max(0);
    let mut ids = Vec::new();
    let mut j = 5;
    while j < args.len() {
        match StreamId::parse(&args[j], 0, true, false) {
            Some((id, _)) => ids.push((id, j)),
            None => break,
        }
        j += 1;
    }
    let now = ctx.now();
    let mut force = false;
    let mut justid = false;
    let mut deliverytime: i64 = -1;
    let mut retrycount: i64 = -1;
    let mut last_id = StreamId::MIN;
    while j < args.len() {
        let more = args.len() - 1 - j;
        let a = &args[j];
        if eq(a, "force") {
            force = true;
        } else if eq(a, "justid") {
            justid = true;
        } else if eq(a, "idle") && more > 0 {
            j += 1;
            deliverytime = now - int_msg(&args[j], "Invalid IDLE option argument for XCLAIM")?;
        } else if eq(a, "time") && more > 0 {
            j += 1;
            deliverytime = int_msg(&args[j], "Invalid TIME option argument for XCLAIM")?;
        } else if eq(a, "retrycount") && more > 0 {
            j += 1;
            retrycount = int_msg(&args[j], "Invalid RETRYCOUNT option argument for XCLAIM")?;
        } else if eq(a, "lastid") && more > 0 {
            j += 1;
            last_id = parse_strict(&args[j], 0)?;
        } else {
            return Err(CmdError::msg(format!(
                "ERR Unrecognized XCLAIM option '{}'",
                String::from_utf8_lossy(a)
            )));
        }
        j += 1;
    }
    if deliverytime == -1 || deliverytime < 0 || deliverytime > now {
        deliverytime = now;
    }
    let db = ctx.c.db;
    let Some(o) = ctx.st.dbs[db].keys.get_mut(key) else {
        return Ok(());
    };
    let s = o.v.as_stream_mut()?;
    let mut props = Vec::new();
    let mut dirty = 0u64;
    let mut propagate_last = false;
    let mut created = false;
    {
        let g = s.groups.get_mut(gname).expect("checked");
        if last_id > g.last_id {
            g.last_id = last_id;
            propagate_last = true;
        }
        if !g.consumers.contains_key(cname) {
            g.consumers.insert(cname.to_vec(), Consumer::new(now));
            created = true;
            dirty += 1;
        }
        if let Some(c) = g.consumers.get_mut(cname) {
            c.seen_time = now;
        }
    }
    let mut claimed: Vec<StreamId> = Vec::new();
    for (id, _) in ids {
        let exists = s.contains(id);
        let g = s.groups.get_mut(gname).expect("checked");
        if !exists {
            if let Some(nk) = g.pel.get(&id) {
                props.push(xclaim_argv(
                    key,
                    gname,
                    &nk.consumer.clone(),
                    id,
                    nk.delivery_time,
                    nk.delivery_count,
                    g.last_id,
                ));
                propagate_last = false;
                dirty += 1;
                g.ack(id);
            }
            continue;
        }
        let mut fresh = false;
        if force && !g.pel.contains_key(&id) {
            g.pel.insert(
                id,
                stream::Nack {
                    consumer: Vec::new(),
                    delivery_time: now,
                    delivery_count: 1,
                },
            );
            fresh = true;
        }
        let Some(nk) = g.pel.get(&id) else { continue };
        if !fresh && minidle != 0 && now - nk.delivery_time < minidle {
            continue;
        }
        let old = nk.consumer.clone();
        if !fresh
            && old != cname[..]
            && let Some(c) = g.consumers.get_mut(&old)
        {
            c.pel.remove(&id);
        }
        let nk = g.pel.get_mut(&id).expect("present");
        nk.delivery_time = deliverytime;
        if retrycount >= 0 {
            nk.delivery_count = retrycount as u64;
        } else if !justid {
            nk.delivery_count += 1;
        }
        nk.consumer = cname.to_vec();
        let (t, cnt) = (nk.delivery_time, nk.delivery_count);
        if let Some(c) = g.consumers.get_mut(cname) {
            c.pel.insert(id);
            c.active_time = now;
        }
        claimed.push(id);
        props.push(xclaim_argv(key, gname, cname, id, t, cnt, g.last_id));
        propagate_last = false;
        dirty += 1;
    }
    if propagate_last {
        props.push(setid_argv(key, gname, &s.groups[gname]));
        dirty += 1;
    }
    let r = &mut ctx.c.reply;
    r.array(claimed.len());
    for id in claimed {
        if justid {
            reply_id(r, id);
        } else if let Some(d) = s.get(id) {
            reply_entry(r, id, &d);
        }
    }
    ctx.st.dirty += dirty;
    if created {
        ctx.st
            .notify(notify::STREAM, "xgroup-createconsumer", key, db);
    }
    finish_props(ctx, props);
    Ok(())
}

/// XAUTOCLAIM key group consumer min-idle-time start [COUNT count] [JUSTID]
pub fn xautoclaim(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let key = &args[1];
    let gname = &args[2];
    let cname = &args[3];
    let minidle = int_msg(&args[4], "Invalid min-idle-time argument for XAUTOCLAIM")?.max(0);
    let start = range_start(&args[5])?;
    let mut count: i64 = 100;
    let mut justid = false;
    let mut j = 6;
    while j < args.len() {
        let more = args.len() - 1 - j;
        if eq(&args[j], "count") && more > 0 {
            let max = i64::MAX / 16;
            count = match crate::util::parse_i64(&args[j + 1]) {
                Some(c) if (1..=max).contains(&c) => c,
                _ => return Err(CmdError::msg("ERR COUNT must be > 0")),
            };
            j += 1;
        } else if eq(&args[j], "justid") {
            justid = true;
        } else {
            return Err(CmdError::Syntax);
        }
        j += 1;
    }
    match ctx.lookup(key) {
        Some(o) => {
            if !o.v.as_stream()?.groups.contains_key(gname) {
                return Err(nogroup_key(key, gname));
            }
        }
        None => return Err(nogroup_key(key, gname)),
    }
    let now = ctx.now();
    let db = ctx.c.db;
    let Some(o) = ctx.st.dbs[db].keys.get_mut(key) else {
        return Ok(());
    };
    let s = o.v.as_stream_mut()?;
    let mut created = false;
    let mut dirty = 0u64;
    {
        let g = s.groups.get_mut(gname).expect("checked");
        if !g.consumers.contains_key(cname) {
            g.consumers.insert(cname.to_vec(), Consumer::new(now));
            created = true;
            dirty += 1;
        }
        if let Some(c) = g.consumers.get_mut(cname) {
            c.seen_time = now;
        }
    }
    let mut attempts = count.saturating_mul(10);
    let mut claimed = Vec::new();
    let mut deleted = Vec::new();
    let mut props = Vec::new();
    let mut cursor = Some(start);
    let mut next_id = StreamId::MIN;
    while let Some(from) = cursor {
        let g = &s.groups[gname];
        let Some((&id, _)) = g.pel.range(from..).next() else {
            cursor = None;
            break;
        };
        if attempts == 0 || count == 0 {
            next_id = id;
            break;
        }
        attempts -= 1;
        cursor = id.incr();
        let exists = s.contains(id);
        let g = s.groups.get_mut(gname).expect("checked");
        if !exists {
            let nk = &g.pel[&id];
            props.push(xclaim_argv(
                key,
                gname,
                &nk.consumer.clone(),
                id,
                nk.delivery_time,
                nk.delivery_count,
                g.last_id,
            ));
            dirty += 1;
            g.ack(id);
            deleted.push(id);
            count -= 1;
            continue;
        }
        let nk = &g.pel[&id];
        if minidle != 0 && now - nk.delivery_time < minidle {
            continue;
        }
        let old = nk.consumer.clone();
        if old != cname[..]
            && let Some(c) = g.consumers.get_mut(&old)
        {
            c.pel.remove(&id);
        }
        let nk = g.pel.get_mut(&id).expect("present");
        nk.delivery_time = now;
        if !justid {
            nk.delivery_count += 1;
        }
        nk.consumer = cname.to_vec();
        let (t, cnt) = (nk.delivery_time, nk.delivery_count);
        if let Some(c) = g.consumers.get_mut(cname) {
            c.pel.insert(id);
            c.active_time = now;
        }
        props.push(xclaim_argv(key, gname, cname, id, t, cnt, g.last_id));
        dirty += 1;
        claimed.push(id);
        count -= 1;
    }
    let _ = cursor;
    let r = &mut ctx.c.reply;
    r.array(3);
    reply_id(r, next_id);
    r.array(claimed.len());
    for id in claimed {
        if justid {
            reply_id(r, id);
        } else if let Some(d) = s.get(id) {
            reply_entry(r, id, &d);
        }
    }
    r.array(deleted.len());
    for id in deleted {
        reply_id(r, id);
    }
    ctx.st.dirty += dirty;
    if created {
        ctx.st
            .notify(notify::STREAM, "xgroup-createconsumer", key, db);
    }
    finish_props(ctx, props);
    Ok(())
}

/* ---------------------------------------------------------------------
 * XINFO
 * ------------------------------------------------------------------- */

fn xinfo_help(ctx: &mut Ctx, _args: &Args) -> CmdResult {
    crate::commands::introspection::reply_help(
        &mut ctx.c.reply,
        "XINFO",
        &[
            "CONSUMERS <key> <groupname>",
            "    Show consumers of <groupname>.",
            "GROUPS <key>",
            "    Show the stream consumer groups.",
            "STREAM <key> [FULL [COUNT <count>]",
            "    Show information about the stream.",
        ],
    );
    Ok(())
}

fn reply_lag(r: &mut ReplyBuf, s: &Stream, g: &Group) {
    match s.group_lag(g) {
        Some(l) => r.int(l),
        None => r.null(),
    }
}

fn reply_entries_read(r: &mut ReplyBuf, g: &Group) {
    if g.entries_read != INVALID_ENTRIES_READ {
        r.int(g.entries_read);
    } else {
        r.null();
    }
}

/// XINFO CONSUMERS key group | GROUPS key | STREAM key [FULL [COUNT count]]
pub fn xinfo(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let sub = args[1].to_ascii_lowercase();
    let key = &args[2];
    let syntax = || {
        CmdError::msg(format!(
            "ERR unknown subcommand or wrong number of arguments for '{}'. Try XINFO HELP.",
            String::from_utf8_lossy(&args[1])
        ))
    };
    // Options are checked before the key, as far as they can be.
    let mut full = false;
    let mut count: i64 = 10;
    if sub == b"stream" {
        let optc = args.len() - 3;
        if optc > 0 {
            if (optc != 1 && optc != 3) || !eq(&args[3], "full") {
                return Err(syntax());
            }
            full = true;
            if optc == 3 {
                if !eq(&args[4], "count") {
                    return Err(syntax());
                }
                count = args.i64_at(5)?;
                if count < 0 {
                    count = 10;
                }
            }
        }
    }
    let now = ctx.now();
    let (o, r) = ctx.lookup_r(key);
    let Some(o) = o else {
        return Err(CmdError::NoSuchKey);
    };
    let s = o.v.as_stream()?;
    match &sub[..] {
        b"consumers" => {
            let g = s
                .groups
                .get(&args[3][..])
                .ok_or_else(|| nogroup_for_key(&args[3], key))?;
            r.array(g.consumers.len());
            for (name, c) in &g.consumers {
                let inactive = if c.active_time != -1 {
                    now - c.active_time
                } else {
                    -1
                };
                r.map(4);
                r.bulk(b"name");
                r.bulk(name);
                r.bulk(b"pending");
                r.int(c.pel.len() as i64);
                r.bulk(b"idle");
                r.int((now - c.seen_time).max(0));
                r.bulk(b"inactive");
                r.int(inactive);
            }
        }
        b"groups" => {
            r.array(s.groups.len());
            for (name, g) in &s.groups {
                r.map(6);
                r.bulk(b"name");
                r.bulk(name);
                r.bulk(b"consumers");
                r.int(g.consumers.len() as i64);
                r.bulk(b"pending");
                r.int(g.pel.len() as i64);
                r.bulk(b"last-delivered-id");
                reply_id(r, g.last_id);
                r.bulk(b"entries-read");
                reply_entries_read(r, g);
                r.bulk(b"lag");
                reply_lag(r, s, g);
            }
        }
        b"stream" => {
            r.map(if full { 9 } else { 10 });
            r.bulk(b"length");
            r.int(s.len() as i64);
            r.bulk(b"radix-tree-keys");
            r.int(s.node_count() as i64);
            r.bulk(b"radix-tree-nodes");
            r.int(s.node_count() as i64 + 1);
            r.bulk(b"last-generated-id");
            reply_id(r, s.last_id);
            r.bulk(b"max-deleted-entry-id");
            reply_id(r, s.max_deleted_id);
            r.bulk(b"entries-added");
            r.int(s.entries_added as i64);
            r.bulk(b"recorded-first-entry-id");
            reply_id(r, s.first_id);
            let limit = |n: usize| count == 0 || (n as i64) < count;
            if !full {
                r.bulk(b"groups");
                r.int(s.groups.len() as i64);
                r.bulk(b"first-entry");
                match s.range(StreamId::MIN, StreamId::MAX, false, 1).first() {
                    Some((id, d)) => reply_entry(r, *id, d),
                    None => r.null(),
                }
                r.bulk(b"last-entry");
                match s.range(StreamId::MIN, StreamId::MAX, true, 1).first() {
                    Some((id, d)) => reply_entry(r, *id, d),
                    None => r.null(),
                }
            } else {
                r.bulk(b"entries");
                let es = s.range(StreamId::MIN, StreamId::MAX, false, count as usize);
                reply_entries(r, &es);
                r.bulk(b"groups");
                r.array(s.groups.len());
                for (name, g) in &s.groups {
                    r.map(7);
                    r.bulk(b"name");
                    r.bulk(name);
                    r.bulk(b"last-delivered-id");
                    reply_id(r, g.last_id);
                    r.bulk(b"entries-read");
                    reply_entries_read(r, g);
                    r.bulk(b"lag");
                    reply_lag(r, s, g);
                    r.bulk(b"pel-count");
                    r.int(g.pel.len() as i64);
                    r.bulk(b"pending");
                    let pel: Vec<_> = g
                        .pel
                        .iter()
                        .enumerate()
                        .take_while(|(i, _)| limit(*i))
                        .map(|(_, x)| x)
                        .collect();
                    r.array(pel.len());
                    for (id, nk) in pel {
                        r.array(4);
                        reply_id(r, *id);
                        r.bulk(&nk.consumer);
                        r.int(nk.delivery_time);
                        r.int(nk.delivery_count as i64);
                    }
                    r.bulk(b"consumers");
                    r.array(g.consumers.len());
                    for (cn, c) in &g.consumers {
                        r.map(5);
                        r.bulk(b"name");
                        r.bulk(cn);
                        r.bulk(b"seen-time");
                        r.int(c.seen_time);
                        r.bulk(b"active-time");
                        r.int(c.active_time);
                        r.bulk(b"pel-count");
                        r.int(c.pel.len() as i64);
                        r.bulk(b"pending");
                        let cp: Vec<_> = c
                            .pel
                            .iter()
                            .enumerate()
                            .take_while(|(i, _)| limit(*i))
                            .map(|(_, x)| *x)
                            .collect();
                        r.array(cp.len());
                        for id in cp {
                            let nk = &g.pel[&id];
                            r.array(3);
                            reply_id(r, id);
                            r.int(nk.delivery_time);
                            r.int(nk.delivery_count as i64);
                        }
                    }
                }
            }
        }
        _ => return Err(syntax()),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn read_keys_follow_streams() {
        let a = Args::from_iter(
            [
                &b"XREAD"[..],
                b"COUNT",
                b"2",
                b"STREAMS",
                b"a",
                b"b",
                b"0",
                b"0",
            ]
            .into_iter(),
        );
        assert_eq!(read_key_positions(&a), vec![4, 5]);
        let a = Args::from_iter([&b"XREAD"[..], b"COUNT", b"2"].into_iter());
        assert!(read_key_positions(&a).is_empty());
    }

    #[test]
    fn interval_bounds() {
        assert_eq!(range_start(b"(1-1").unwrap(), StreamId::new(1, 2));
        assert_eq!(range_end(b"(1-0").unwrap(), StreamId::new(0, u64::MAX));
        assert_eq!(range_end(b"5").unwrap(), StreamId::new(5, u64::MAX));
        assert!(range_start(b"(-").is_err());
        assert!(range_end(b"(0-0").is_err());
    }
}
