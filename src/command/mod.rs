//! The command model: one `CommandSpec` row per command (name, arity, flags,
//! key positions, docs) and the `Ctx` every handler receives. Families of
//! commands (`crate::commands::*`) each export a table slice; `table` joins
//! them into the lookup map, the single source of truth for `COMMAND`.

pub mod call;
pub mod categories;
pub mod docs;
pub mod keyspecs;
pub mod table;

use crate::client::Client;
use crate::db::Db;
use crate::resp::Args;
use crate::server::State;

pub use crate::resp::ReplyBuf;

pub type Handler = fn(&mut Ctx, &Args) -> CmdResult;

/// Command flags, named as in Redis's command table.
pub mod flags {
    pub const WRITE: u32 = 1 << 0;
    pub const READONLY: u32 = 1 << 1;
    pub const DENYOOM: u32 = 1 << 2;
    pub const ADMIN: u32 = 1 << 3;
    pub const PUBSUB: u32 = 1 << 4;
    pub const NOSCRIPT: u32 = 1 << 5;
    pub const BLOCKING: u32 = 1 << 6;
    pub const LOADING: u32 = 1 << 7;
    pub const STALE: u32 = 1 << 8;
    pub const SKIP_MONITOR: u32 = 1 << 9;
    pub const SKIP_SLOWLOG: u32 = 1 << 10;
    pub const FAST: u32 = 1 << 11;
    pub const NO_AUTH: u32 = 1 << 12;
    pub const MAY_REPLICATE: u32 = 1 << 13;
    pub const NO_MULTI: u32 = 1 << 14;
    pub const ALLOW_BUSY: u32 = 1 << 15;
    pub const SENTINEL: u32 = 1 << 16;
    pub const NO_MANDATORY_KEYS: u32 = 1 << 17;
    pub const NO_ASYNC_LOADING: u32 = 1 << 18;
    pub const TOUCHES_ARBITRARY_KEYS: u32 = 1 << 19;
    /// Gated by `enable-debug-command` (DEBUG) or `enable-module-command`.
    pub const PROTECTED: u32 = 1 << 20;

    /// The flags COMMAND INFO prints, in Redis's order (it hides
    /// may_replicate and touches_arbitrary_keys; movablekeys, not a row
    /// flag here, goes before allow_busy).
    pub const NAMES: &[(u32, &str)] = &[
        (WRITE, "write"),
        (READONLY, "readonly"),
        (DENYOOM, "denyoom"),
        (ADMIN, "admin"),
        (PUBSUB, "pubsub"),
        (NOSCRIPT, "noscript"),
        (BLOCKING, "blocking"),
        (LOADING, "loading"),
        (STALE, "stale"),
        (SKIP_MONITOR, "skip_monitor"),
        (SKIP_SLOWLOG, "skip_slowlog"),
        (FAST, "fast"),
        (NO_AUTH, "no_auth"),
        (NO_MANDATORY_KEYS, "no_mandatory_keys"),
        (NO_ASYNC_LOADING, "no_async_loading"),
        (NO_MULTI, "no_multi"),
        (ALLOW_BUSY, "allow_busy"),
    ];
}

/// Where a command's keys are: `first`, `last` (negative counts from the
/// end) and `step`, as in Redis's legacy key spec. `first == 0`: no keys.
#[derive(Clone, Copy, Debug)]
pub struct KeySpec {
    pub first: i32,
    pub last: i32,
    pub step: i32,
}

pub const NO_KEYS: KeySpec = KeySpec {
    first: 0,
    last: 0,
    step: 0,
};

pub const fn keys(first: i32, last: i32, step: i32) -> KeySpec {
    KeySpec { first, last, step }
}

pub struct CommandSpec {
    /// Lower case; for a subcommand, just the subcommand's name.
    pub name: &'static str,
    /// N: exactly N arguments (name included); -N: at least N.
    pub arity: i32,
    pub flags: u32,
    pub keys: KeySpec,
    /// Documentation group (`string`, `generic`, `server`...), which also
    /// yields the ACL category.
    pub group: &'static str,
    pub summary: &'static str,
    pub since: &'static str,
    pub run: Handler,
    pub subcommands: &'static [CommandSpec],
    /// The command's own key finder, where its key specs cannot always
    /// tell where the keys are or what is done to them.
    pub getkeys: Option<KeyFinder>,
}

/// A command's own key finder (Redis's `getkeys_proc`): the positions of
/// the keys in a command line (name first) and their key-spec flags, which
/// most finders leave empty, as Redis's do.
pub type KeyFinder = fn(&Args) -> Vec<keyspecs::KeyRef>;

/// Key positions found without flags of their own.
pub fn unflagged(pos: Vec<usize>) -> Vec<keyspecs::KeyRef> {
    pos.into_iter().map(|p| (p, 0)).collect()
}

/// Row constructor for the family tables.
#[allow(clippy::too_many_arguments)]
pub const fn cmd(
    name: &'static str,
    arity: i32,
    flags: u32,
    keys: KeySpec,
    group: &'static str,
    since: &'static str,
    summary: &'static str,
    run: Handler,
) -> CommandSpec {
    CommandSpec {
        name,
        arity,
        flags,
        keys,
        group,
        summary,
        since,
        run,
        subcommands: &[],
        getkeys: None,
    }
}

/// A container command (CONFIG, CLIENT...) dispatching on its first argument.
pub const fn container(
    name: &'static str,
    group: &'static str,
    since: &'static str,
    summary: &'static str,
    subcommands: &'static [CommandSpec],
) -> CommandSpec {
    CommandSpec {
        name,
        arity: -2,
        flags: 0,
        keys: NO_KEYS,
        group,
        summary,
        since,
        run: call::no_handler,
        subcommands,
        getkeys: None,
    }
}

impl CommandSpec {
    pub fn has(&self, f: u32) -> bool {
        self.flags & f != 0
    }

    /// Positions of the key arguments of the command line `args`: by the
    /// command's key finder if it has one, else by its legacy range.
    pub fn key_positions(&self, args: &Args) -> Vec<usize> {
        match self.getkeys {
            Some(find) => find(args).into_iter().map(|(p, _)| p).collect(),
            None => self.range_positions(args.len()),
        }
    }

    /// Positions the legacy first/last/step give for `argc` arguments.
    pub fn range_positions(&self, argc: usize) -> Vec<usize> {
        let k = self.keys;
        if k.first <= 0 {
            return Vec::new();
        }
        let last = if k.last < 0 {
            argc as i32 + k.last
        } else {
            k.last
        };
        let mut v = Vec::new();
        let mut i = k.first;
        while i <= last && (i as usize) < argc {
            v.push(i as usize);
            i += k.step.max(1);
        }
        v
    }
}

/// Why a command failed; rendered once, in `call`, with Redis's exact text.
#[derive(Debug, Clone, PartialEq)]
pub enum CmdError {
    WrongType,
    NotInteger,
    NotFloat,
    Syntax,
    NoSuchKey,
    Overflow,
    OutOfRange(&'static str),
    /// A complete error line without the leading `-` (`ERR ...`, `NOAUTH ...`).
    Msg(String),
}

pub type CmdResult = Result<(), CmdError>;

/// `getRangeLongFromObjectOrReply` with Redis's default message.
/// A given message also replaces the not-an-integer error, as in Redis.
pub fn range_arg(a: &[u8], min: i64, max: i64, msg: Option<&str>) -> Result<i64, CmdError> {
    let v = crate::util::parse_i64(a).ok_or_else(|| match msg {
        Some(m) => CmdError::msg(m),
        None => CmdError::NotInteger,
    })?;
    if v < min || v > max {
        return Err(match msg {
            Some(m) => CmdError::msg(m),
            None => CmdError::msg(format!(
                "ERR value is out of range, value must between {min} and {max}"
            )),
        });
    }
    Ok(v)
}

/// A timeout argument in milliseconds (XREAD BLOCK, CLIENT PAUSE, WAIT):
/// a non-negative integer, with Redis's errors.
pub fn parse_timeout_ms(a: &[u8]) -> Result<i64, CmdError> {
    let t = crate::util::parse_i64(a)
        .ok_or_else(|| CmdError::msg("ERR timeout is not an integer or out of range"))?;
    if t < 0 {
        return Err(CmdError::msg("ERR timeout is negative"));
    }
    Ok(t)
}

impl CmdError {
    pub fn msg(s: impl Into<String>) -> CmdError {
        let s = s.into();
        let first = s.split(' ').next().unwrap_or("");
        if !first.is_empty()
            && first
                .bytes()
                .all(|c| c.is_ascii_uppercase() || c == b'_' || c.is_ascii_digit())
        {
            CmdError::Msg(s)
        } else {
            CmdError::Msg(format!("ERR {s}"))
        }
    }

    pub fn text(&self) -> std::borrow::Cow<'static, str> {
        match self {
            CmdError::WrongType => {
                "WRONGTYPE Operation against a key holding the wrong kind of value".into()
            }
            CmdError::NotInteger => "ERR value is not an integer or out of range".into(),
            CmdError::NotFloat => "ERR value is not a valid float".into(),
            CmdError::Syntax => "ERR syntax error".into(),
            CmdError::NoSuchKey => "ERR no such key".into(),
            CmdError::Overflow => "ERR increment or decrement would overflow".into(),
            CmdError::OutOfRange(what) => format!("ERR {what} is out of range").into(),
            CmdError::Msg(s) => s.clone().into(),
        }
    }
}

/// What a handler works with: the server state, the calling client (its
/// session and reply buffer) and a read-only view of the other clients.
pub struct Ctx<'a> {
    pub st: &'a mut State,
    pub c: &'a mut Client,
    pub others: &'a slab::Slab<Option<Box<Client>>>,
}

impl<'a> Ctx<'a> {
    /// Arms `ReplyBuf::over_limit` for a reply whose length the client
    /// picked; other commands leave it unread.
    pub fn arm_reply_limit(&mut self) {
        self.c.arm_reply_limit(&self.st.cfg.hot.obuf_limits);
    }

    pub fn reply(&mut self) -> &mut ReplyBuf {
        &mut self.c.reply
    }

    /// The client's selected database.
    pub fn db(&mut self) -> &mut Db {
        &mut self.st.dbs[self.c.db]
    }

    pub fn now(&self) -> i64 {
        self.st.now_ms
    }

    /// Looks a key up for reading, expiring it first if it is due.
    pub fn lookup(&mut self, key: &[u8]) -> Option<&mut crate::db::Obj> {
        self.lookup_r(key).0
    }

    /// `lookup` that also hands back the reply buffer, so a handler can
    /// reply from the value it borrowed.
    pub fn lookup_r(&mut self, key: &[u8]) -> (Option<&mut crate::db::Obj>, &mut ReplyBuf) {
        let touch = !self.c.no_touch;
        let o = self.st.lookup(self.c.db, key, true, touch);
        (o, &mut self.c.reply)
    }

    /// Looks a key up for writing: expires it if due, no hit/miss stats.
    pub fn lookup_write(&mut self, key: &[u8]) -> Option<&mut crate::db::Obj> {
        self.expire_before_write(key);
        self.st.lookup(self.c.db, key, false, true)
    }

    pub fn lookup_write_r(&mut self, key: &[u8]) -> (Option<&mut crate::db::Obj>, &mut ReplyBuf) {
        self.expire_before_write(key);
        let o = self.st.lookup(self.c.db, key, false, true);
        (o, &mut self.c.reply)
    }

    /// A replica only hides expired keys, but a client writing one on a
    /// writable replica gets it deleted first, so the write starts from
    /// nothing (no stale TTL) as Redis's EXPIRE_FORCE_DELETE_EXPIRED does.
    fn expire_before_write(&mut self, key: &[u8]) {
        if self.st.is_replica
            && !self.c.is_master
            && !self.st.pause.active()
            && self.st.loading.is_none()
            && self.st.dbs[self.c.db].expire_if_needed(key, self.st.now_ms, true)
        {
            let db = self.c.db;
            self.st.stats.expired_keys += 1;
            self.st.expired_pending = true;
            self.st
                .notify(crate::config::notify::EXPIRED, "expired", key, db);
        }
    }

    /// Ends every write the same way: dirty counter, WATCH invalidation and
    /// keyspace notification.
    pub fn wrote(&mut self, key: &[u8], event: &str, class: u32) {
        self.st.dirty += 1;
        let db = self.c.db;
        self.st.blocking.signal(db, key);
        self.st.key_modified(db, key);
        self.st.notify(class, event, key, db);
    }

    /// A collection at `key` became empty: the key goes, with the `del`
    /// event, as Redis never keeps an empty aggregate.
    pub fn emptied(&mut self, key: &[u8]) {
        self.db().delete(key);
        let db = self.c.db;
        self.st
            .notify(crate::config::notify::GENERIC, "del", key, db);
    }

    /// Propagates `argv` instead of the command as the client sent it
    /// (relative TTLs made absolute, a GETDEL as DEL...). Called more than
    /// once, the commands are wrapped in MULTI/EXEC.
    pub fn propagate_as(&mut self, argv: Vec<Vec<u8>>) {
        self.st.repl.also.push(argv);
    }

    /// Parks the client until one of `keys` (in the selected db) is
    /// written or `timeout_ms` (0: forever) passes; the command in `args`
    /// is then run again. Returns false where blocking is not possible
    /// (inside MULTI): the handler must then reply as on timeout.
    pub fn block(&mut self, args: &Args, keys: &[&[u8]], timeout_ms: i64) -> bool {
        if self.st.in_exec {
            return false;
        }
        let db = self.c.db;
        let deadline = if timeout_ms > 0 {
            Some(self.st.now_ms.saturating_add(timeout_ms))
        } else {
            None
        };
        let b = crate::blocking::Blocked {
            keys: keys.iter().map(|k| (db, k.to_vec())).collect(),
            deadline,
            args: Args::from_iter(args.iter()),
            nokey: false,
        };
        self.c.blocked = Some(b);
        true
    }

    /// True while a parked command is re-run because its timeout passed.
    pub fn block_timed_out(&self) -> bool {
        self.st.blocking.timed_out
    }

    /// Keeps this command out of the replication stream.
    pub fn prevent_propagation(&mut self) {
        self.st.repl.prevent = true;
    }

    pub fn ok(&mut self) -> CmdResult {
        self.c.reply.ok();
        Ok(())
    }
}

/// A collection whose members HDEL, SREM and ZREM remove one by one.
pub trait Members {
    fn remove_member(&mut self, m: &[u8]) -> bool;
    fn no_members(&self) -> bool;
}

impl Members for crate::types::hash::Hash {
    fn remove_member(&mut self, m: &[u8]) -> bool {
        self.remove(m)
    }
    fn no_members(&self) -> bool {
        self.is_empty()
    }
}

impl Members for crate::types::set::Set {
    fn remove_member(&mut self, m: &[u8]) -> bool {
        self.remove(m)
    }
    fn no_members(&self) -> bool {
        self.is_empty()
    }
}

impl Members for crate::types::zset::ZSet {
    fn remove_member(&mut self, m: &[u8]) -> bool {
        self.remove(m)
    }
    fn no_members(&self) -> bool {
        self.is_empty()
    }
}

/// The core of HDEL, SREM and ZREM: removes each of `args[2..]` from the
/// collection at `args[1]` (reached through `get`), replies how many went,
/// and ends the write as Redis does: one event, dirty per member, the key
/// deleted when it empties.
pub fn remove_members<T: Members>(
    ctx: &mut Ctx,
    args: &Args,
    get: fn(&mut crate::db::Value) -> Result<&mut T, CmdError>,
    event: &str,
    class: u32,
) -> CmdResult {
    let key = &args[1];
    let (o, r) = ctx.lookup_write_r(key);
    let Some(o) = o else {
        r.int(0);
        return Ok(());
    };
    let coll = get(&mut o.v)?;
    let mut deleted = 0u64;
    for m in args.iter().skip(2) {
        if coll.remove_member(m) {
            deleted += 1;
        }
        if coll.no_members() {
            break;
        }
    }
    let empty = coll.no_members();
    r.int(deleted as i64);
    if deleted > 0 {
        ctx.wrote(key, event, class);
        ctx.st.dirty += deleted - 1;
        if empty {
            ctx.emptied(key);
        }
    }
    Ok(())
}

/// Argument helpers that turn parse failures into Redis's errors.
pub trait ArgExt {
    fn i64_at(&self, i: usize) -> Result<i64, CmdError>;
    fn f64_at(&self, i: usize) -> Result<f64, CmdError>;
    fn str_at(&self, i: usize) -> String;
}

impl ArgExt for Args {
    fn i64_at(&self, i: usize) -> Result<i64, CmdError> {
        crate::util::parse_i64(&self[i]).ok_or(CmdError::NotInteger)
    }
    fn f64_at(&self, i: usize) -> Result<f64, CmdError> {
        crate::util::parse_f64(&self[i]).ok_or(CmdError::NotFloat)
    }
    fn str_at(&self, i: usize) -> String {
        String::from_utf8_lossy(&self[i]).into_owned()
    }
}
