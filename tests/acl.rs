//! ACLs end to end (src/acl, src/commands/acl.rs, the gate in
//! src/command/call.rs): what a restricted user may and may not do, at top
//! level, in MULTI/EXEC and from a script; a refused EXEC; the ACL log;
//! ACL DRYRUN over many key specs; the disconnection of revoked users; ACL
//! files written here and loaded by Redis 8.0 and the other way round; bad
//! rules and files that change nothing; and requirepass.
//!
//! Each behaviour is a scenario against a port. It runs on our server and,
//! when a Redis 8.0 build is at hand (`common::redis8_binary`), on Redis
//! too, so the expectations written here are Redis's own; without the
//! build the Redis half is skipped with a note.

mod common;

use common::V;
use std::io::{BufReader, Read};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const NOPERM_KEY: &str = "NOPERM No permissions to access a key";
const NOPERM_CHANNEL: &str = "NOPERM No permissions to access a channel";
const EXECABORT: &str = "EXECABORT Transaction discarded because of previous errors.";
const WRONGPASS: &str = "WRONGPASS invalid username-password pair or user is disabled.";
const SET_SCRIPT: &str = "return redis.call('set',KEYS[1],'x')";
const GET_SCRIPT: &str = "return redis.call('get',KEYS[1])";

fn bulk(s: &str) -> V {
    V::Bulk(s.to_string())
}

fn simple(s: &str) -> V {
    V::Simple(s.to_string())
}

/// One connection, replies read as typed values.
struct Conn {
    w: TcpStream,
    r: BufReader<TcpStream>,
}

impl Conn {
    fn open(port: u16) -> Conn {
        let w = TcpStream::connect(("127.0.0.1", port)).unwrap();
        w.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let r = BufReader::new(w.try_clone().unwrap());
        Conn { w, r }
    }

    /// A connection speaking RESP `proto` ("2" or "3").
    fn with_proto(port: u16, proto: &str) -> Conn {
        let mut c = Conn::open(port);
        let hello = c.cmd(&["HELLO", proto]);
        assert!(!matches!(hello, V::Error(_)), "HELLO {proto}: {hello:?}");
        c
    }

    /// A connection authenticated as `user`.
    fn login(port: u16, user: &str, pass: &str) -> Conn {
        let mut c = Conn::open(port);
        c.ok(&["AUTH", user, pass]);
        c
    }

    /// A connection of `user` (password "pw") subscribed with `command`
    /// (SUBSCRIBE or PSUBSCRIBE) to `channel` alone.
    fn subscriber(port: u16, user: &str, command: &str, channel: &str) -> Conn {
        let mut c = Conn::login(port, user, "pw");
        let kind = command.to_lowercase();
        assert_eq!(
            c.cmd(&[command, channel]),
            V::Array(vec![bulk(&kind), bulk(channel), V::Int(1)])
        );
        c
    }

    fn cmd(&mut self, args: &[&str]) -> V {
        common::request(&mut self.w, &mut self.r, args)
    }

    fn ok(&mut self, args: &[&str]) {
        assert_eq!(self.cmd(args), simple("OK"), "{args:?}");
    }

    /// Runs a command that must fail; its error text.
    fn err(&mut self, args: &[&str]) -> String {
        match self.cmd(args) {
            V::Error(e) => e,
            other => panic!("{args:?} should fail, got {other:?}"),
        }
    }

    /// The next pushed message (a subscriber's).
    fn next(&mut self) -> V {
        common::read(&mut self.r)
    }

    /// Whether the server closes this connection within the read timeout.
    fn closed(&mut self) -> bool {
        let mut buf = [0u8; 256];
        loop {
            match self.r.read(&mut buf) {
                Ok(0) => return true,
                Ok(_) => continue,
                Err(_) => return false,
            }
        }
    }

    fn acl_list(&mut self) -> Vec<String> {
        match self.cmd(&["ACL", "LIST"]) {
            V::Array(lines) => lines.iter().map(|l| l.str().to_string()).collect(),
            other => panic!("ACL LIST: {other:?}"),
        }
    }
}

/// Redis 8.0 on a free port, stopped when dropped.
struct Redis8 {
    child: Child,
    port: u16,
}

impl Redis8 {
    /// None (after a note) when there is no Redis 8.0 build.
    fn start(what: &str, extra: &[&str]) -> Option<Redis8> {
        let Some(bin) = common::redis8_binary() else {
            println!("note: no Redis 8.0 build (tcl-compat/.cache), {what} not compared");
            return None;
        };
        let (child, port) = common::start_redis8_with(&bin, extra);
        Some(Redis8 { child, port })
    }
}

impl Drop for Redis8 {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs `scenario` on our server, then on Redis 8.0 when there is one.
fn on_both(what: &str, scenario: impl Fn(u16)) {
    let ours = common::Server::start(&[]);
    scenario(ours.port);
    if let Some(r8) = Redis8::start(what, &[]) {
        scenario(r8.port);
    }
}

/// A scratch directory, removed when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Scratch {
        let d = std::env::temp_dir().join(format!("redis-rust-acl-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        Scratch(d)
    }

    /// Writes `text` to `name` in the directory; its path.
    fn write(&self, name: &str, text: &str) -> String {
        let p = self.0.join(name);
        std::fs::write(&p, text).unwrap();
        p.to_str().unwrap().to_string()
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

// ---------------------------------------------------------------------------
// What restricted users may do
// ---------------------------------------------------------------------------

fn read_only_user_cannot_write(port: u16) {
    let mut admin = Conn::open(port);
    admin.ok(&[
        "ACL", "SETUSER", "ro", "on", ">pw", "~*", "&*", "+@all", "-@write",
    ]);
    admin.ok(&["SET", "k", "v"]);
    let mut ro = Conn::login(port, "ro", "pw");
    let refused = "NOPERM User ro has no permissions to run the 'set' command";
    assert_eq!(ro.err(&["SET", "k", "x"]), refused);
    assert_eq!(ro.cmd(&["GET", "k"]), bulk("v"));
    // Refused when queued, so EXEC discards the transaction.
    ro.ok(&["MULTI"]);
    assert_eq!(ro.err(&["SET", "k", "x"]), refused);
    assert_eq!(ro.cmd(&["GET", "k"]), simple("QUEUED"));
    assert_eq!(ro.err(&["EXEC"]), EXECABORT);
    // A script runs as its caller.
    let e = ro.err(&["EVAL", SET_SCRIPT, "1", "k"]);
    let from_script =
        "ERR ACL failure in script: User ro has no permissions to run the 'set' command script: ";
    assert!(e.starts_with(from_script), "{e}");
    assert_eq!(ro.cmd(&["EVAL", GET_SCRIPT, "1", "k"]), bulk("v"));
    assert_eq!(admin.cmd(&["GET", "k"]), bulk("v"));

    // Revoked between MULTI and EXEC: that command fails in EXEC, the
    // others run.
    admin.ok(&["ACL", "SETUSER", "rw", "on", ">pw", "~*", "+@all"]);
    let mut rw = Conn::login(port, "rw", "pw");
    rw.ok(&["MULTI"]);
    assert_eq!(rw.cmd(&["SET", "k", "y"]), simple("QUEUED"));
    assert_eq!(rw.cmd(&["GET", "k"]), simple("QUEUED"));
    admin.ok(&["ACL", "SETUSER", "rw", "-@write"]);
    let changed = "NOPERM ACLs rules changed between the moment the transaction was accumulated and the EXEC call. This command is no longer allowed for the following reason: no permission to execute the command or subcommand";
    assert_eq!(
        rw.cmd(&["EXEC"]),
        V::Array(vec![V::Error(changed.into()), bulk("v")])
    );
}

#[test]
fn a_read_only_user_cannot_write() {
    on_both("the read-only user", read_only_user_cannot_write);
}

fn refused_exec_aborts(port: u16) {
    let mut admin = Conn::open(port);
    admin.ok(&[
        "ACL", "SETUSER", "noexec", "on", ">pw", "~*", "+@all", "-exec",
    ]);
    let mut c = Conn::login(port, "noexec", "pw");
    let abort = "EXECABORT Transaction discarded because of: ";
    let refused = "NOPERM User noexec has no permissions to run the 'exec' command";
    c.ok(&["MULTI"]);
    assert_eq!(c.cmd(&["SET", "k", "v"]), simple("QUEUED"));
    assert_eq!(c.err(&["EXEC"]), format!("{abort}{refused}"));
    // The transaction is gone, and so it is with a wrong arity.
    c.ok(&["MULTI"]);
    assert_eq!(
        c.err(&["EXEC", "x"]),
        format!("{abort}wrong number of arguments for 'exec' command")
    );
    c.ok(&["MULTI"]);
    c.ok(&["DISCARD"]);
    // Without MULTI too, as Redis's rejectCommand does.
    assert_eq!(c.err(&["EXEC"]), format!("{abort}{refused}"));
    assert_eq!(admin.cmd(&["EXISTS", "k"]), V::Int(0));
}

#[test]
fn a_refused_exec_aborts_the_transaction() {
    on_both("the refused EXEC", refused_exec_aborts);
}

/// Redis 8.0.6 never answers an EXEC whose queued AUTH fails, so this is
/// ours alone.
#[test]
fn a_failed_auth_inside_exec_is_logged_in_the_multi_context() {
    let ours = common::Server::start(&[]);
    let mut admin = Conn::open(ours.port);
    admin.ok(&["ACL", "SETUSER", "u", "on", ">pw"]);
    let mut c = Conn::open(ours.port);
    c.ok(&["MULTI"]);
    assert_eq!(c.cmd(&["AUTH", "u", "wrong"]), simple("QUEUED"));
    assert_eq!(c.cmd(&["EXEC"]), V::Array(vec![V::Error(WRONGPASS.into())]));
    assert_eq!(
        log_entries(&mut admin, &["ACL", "LOG"]),
        [entry(1, "auth", "multi", "AUTH", "u")]
    );
}

fn prefix_user_stays_inside(port: u16) {
    let mut admin = Conn::open(port);
    admin.ok(&[
        "ACL", "SETUSER", "app", "on", ">pw", "~app:*", "&app:*", "+@all",
    ]);
    admin.ok(&["SET", "other", "v"]);
    let mut app = Conn::login(port, "app", "pw");

    assert_eq!(app.err(&["GET", "other"]), NOPERM_KEY);
    assert_eq!(app.err(&["SET", "other", "x"]), NOPERM_KEY);
    // A key among others is enough to refuse the command.
    assert_eq!(app.err(&["MGET", "app:1", "other"]), NOPERM_KEY);
    app.ok(&["MULTI"]);
    assert_eq!(app.err(&["SET", "other", "x"]), NOPERM_KEY);
    assert_eq!(app.cmd(&["GET", "app:1"]), simple("QUEUED"));
    assert_eq!(app.err(&["EXEC"]), EXECABORT);
    // A script's declared keys are checked before it runs; the keys it
    // touches, when it touches them.
    assert_eq!(app.err(&["EVAL", GET_SCRIPT, "1", "other"]), NOPERM_KEY);
    let e = app.err(&["EVAL", "return redis.call('get','other')", "0"]);
    let from_script = "ERR ACL failure in script: No permissions to access a key script: ";
    assert!(e.starts_with(from_script), "{e}");
    assert_eq!(app.err(&["PUBLISH", "other", "x"]), NOPERM_CHANNEL);
    assert_eq!(app.err(&["SUBSCRIBE", "other"]), NOPERM_CHANNEL);
    assert_eq!(app.err(&["SUBSCRIBE", "app:ok", "other"]), NOPERM_CHANNEL);
    // A pattern must be one the user was given, not one inside it.
    assert_eq!(app.err(&["PSUBSCRIBE", "app:x*"]), NOPERM_CHANNEL);
    assert_eq!(admin.cmd(&["GET", "other"]), bulk("v"));

    // Inside the prefix all of it works.
    app.ok(&["SET", "app:1", "v1"]);
    assert_eq!(app.cmd(&["GET", "app:1"]), bulk("v1"));
    app.ok(&["MULTI"]);
    assert_eq!(app.cmd(&["SET", "app:2", "v2"]), simple("QUEUED"));
    assert_eq!(app.cmd(&["GET", "app:2"]), simple("QUEUED"));
    assert_eq!(app.cmd(&["EXEC"]), V::Array(vec![simple("OK"), bulk("v2")]));
    assert_eq!(app.cmd(&["EVAL", SET_SCRIPT, "1", "app:3"]), simple("OK"));
    assert_eq!(app.cmd(&["EVAL", GET_SCRIPT, "1", "app:3"]), bulk("x"));
    let mut sub = Conn::subscriber(port, "app", "SUBSCRIBE", "app:ch");
    let _psub = Conn::subscriber(port, "app", "PSUBSCRIBE", "app:*");
    assert_eq!(app.cmd(&["PUBLISH", "app:ch", "hi"]), V::Int(2));
    assert_eq!(
        sub.next(),
        V::Array(vec![bulk("message"), bulk("app:ch"), bulk("hi")])
    );
}

#[test]
fn a_prefix_user_stays_inside_its_prefix() {
    on_both("the prefix user", prefix_user_stays_inside);
}

// ---------------------------------------------------------------------------
// The ACL log
// ---------------------------------------------------------------------------

/// An ACL LOG entry's count, reason, context, object and username.
type LogEntry = (i64, String, String, String, String);

fn entry(count: i64, reason: &str, context: &str, object: &str, user: &str) -> LogEntry {
    let s = |x: &str| x.to_string();
    (count, s(reason), s(context), s(object), s(user))
}

/// The entries of an ACL LOG reply.
fn log_entries(admin: &mut Conn, args: &[&str]) -> Vec<LogEntry> {
    let V::Array(entries) = admin.cmd(args) else {
        panic!("{args:?}");
    };
    entries
        .iter()
        .map(|e| {
            let field = |f: &str| e.get(f).unwrap_or_else(|| panic!("no {f} in {e:?}"));
            let V::Int(count) = field("count") else {
                panic!("count in {e:?}");
            };
            let text = |f: &str| field(f).str().to_string();
            (
                count,
                text("reason"),
                text("context"),
                text("object"),
                text("username"),
            )
        })
        .collect()
}

/// The `acl_access_denied_*` counters of INFO stats.
fn denied_counters(admin: &mut Conn) -> Vec<String> {
    let info = admin.cmd(&["INFO", "stats"]);
    info.str()
        .lines()
        .filter(|l| l.starts_with("acl_access_denied_"))
        .map(str::to_string)
        .collect()
}

fn acl_log_records_denials(port: u16) {
    let mut admin = Conn::open(port);
    admin.ok(&[
        "ACL", "SETUSER", "ro", "on", ">pw", "~*", "&*", "+@all", "-@write",
    ]);
    admin.ok(&[
        "ACL", "SETUSER", "app", "on", ">pw", "~app:*", "&app:*", "+@all",
    ]);
    admin.ok(&["ACL", "SETUSER", "cfg", "on", ">pw", "-@all", "+config|get"]);
    admin.ok(&["ACL", "LOG", "RESET"]);

    assert_eq!(Conn::open(port).err(&["AUTH", "ro", "wrong"]), WRONGPASS);
    let mut ro = Conn::login(port, "ro", "pw");
    ro.err(&["SET", "k", "x"]);
    ro.ok(&["MULTI"]);
    ro.err(&["SET", "k", "x"]);
    ro.ok(&["DISCARD"]);
    ro.err(&["EVAL", SET_SCRIPT, "1", "k"]);
    let mut app = Conn::login(port, "app", "pw");
    app.err(&["GET", "other"]);
    app.err(&["GET", "other"]);
    app.err(&["PUBLISH", "news", "x"]);
    app.err(&["SUBSCRIBE", "app:ok", "sports"]);
    let mut cfg = Conn::login(port, "cfg", "pw");
    assert_eq!(
        cfg.err(&["CONFIG", "SET", "maxmemory", "0"]),
        "NOPERM User cfg has no permissions to run the 'config|set' command"
    );

    let e = entry;
    let want = vec![
        e(1, "command", "toplevel", "config|set", "cfg"),
        e(1, "channel", "toplevel", "sports", "app"),
        e(1, "channel", "toplevel", "news", "app"),
        e(2, "key", "toplevel", "other", "app"),
        e(1, "command", "lua", "set", "ro"),
        e(1, "command", "multi", "set", "ro"),
        e(1, "command", "toplevel", "set", "ro"),
        e(1, "auth", "toplevel", "AUTH", "ro"),
    ];
    assert_eq!(log_entries(&mut admin, &["ACL", "LOG"]), want);
    assert_eq!(log_entries(&mut admin, &["ACL", "LOG", "2"]), want[..2]);
    // The client line names the user and the command refused.
    let V::Array(entries) = admin.cmd(&["ACL", "LOG", "1"]) else {
        panic!("ACL LOG 1");
    };
    let info = entries[0].get("client-info").unwrap();
    assert!(
        info.str().contains(" user=cfg ") && info.str().contains(" cmd=config|set "),
        "{info:?}"
    );
    assert_eq!(
        denied_counters(&mut admin),
        [
            "acl_access_denied_auth:1",
            "acl_access_denied_cmd:4",
            "acl_access_denied_key:2",
            "acl_access_denied_channel:2",
        ]
    );
    admin.ok(&["ACL", "LOG", "RESET"]);
    assert_eq!(admin.cmd(&["ACL", "LOG"]), V::Array(vec![]));
}

#[test]
fn the_acl_log_records_denials() {
    on_both("the ACL log", acl_log_records_denials);
}

/// Users for ACL DRYRUN: read/write key patterns, channel patterns,
/// selectors.
const DRYRUN_USERS: &[&[&str]] = &[
    &[
        "rw",
        "on",
        "nopass",
        "%R~r*",
        "%W~w*",
        "~rw*",
        "&c*",
        "+@all",
        "-@dangerous",
    ],
    &[
        "ch",
        "on",
        "nopass",
        "~*",
        "resetchannels",
        "&c*",
        "&p*",
        "+@all",
    ],
    &[
        "sel",
        "on",
        "nopass",
        "resetkeys",
        "-@all",
        "+get",
        "(~a* +set)",
        "(%R~b* +@read)",
    ],
];

/// Commands whose keys and channels exercise the key specs: read-only
/// and write keys, destinations, numkeys, keyword searches, channels.
const DRYRUN_COMMANDS: &[&str] = &[
    "get r1",
    "set w1 x",
    "set w1 x get",
    "getdel w1",
    "getdel rw1",
    "copy r1 w1",
    "copy w1 r1",
    "lmove r1 w1 left right",
    "sort rw1 by x*",
    "sort r1 store w1",
    "sort_ro r1",
    "mget r1 w1",
    "mset w1 x w2 y",
    "rename w1 w2",
    "bitop and w1 r1 r2",
    "bitfield r1 set u8 0 1",
    "bitfield_ro r1 get u8 0",
    "zunionstore w1 2 r1 r2",
    "xread streams r1 0",
    "xreadgroup group g c streams rw1 >",
    "georadius r1 0 0 1 km store w1",
    "pfmerge w1 r1",
    "eval x 1 w1",
    "eval_ro x 1 w1",
    "blmove r1 w1 left left 0",
    "lmpop 2 r1 w1 left",
    "migrate h 1 \"\" 0 10 keys w1 r1",
    "publish c1 x",
    "publish x1 x",
    "spublish p1 x",
    "subscribe c1 x",
    "psubscribe c*",
    "psubscribe c1*",
    "keys *",
    "flushall",
    "set a1 x",
    "set b1 x",
    "mget a1 b1",
    "mget b1 b2",
];

#[test]
fn acl_dryrun_agrees_with_redis_8() {
    let ours = common::Server::start(&[]);
    let Some(r8) = Redis8::start("ACL DRYRUN", &[]) else {
        // Without Redis, at least one answer of each kind.
        let mut c = Conn::open(ours.port);
        create(&mut c, DRYRUN_USERS);
        assert_eq!(c.cmd(&["ACL", "DRYRUN", "rw", "get", "r1"]), simple("OK"));
        assert_eq!(
            c.cmd(&["ACL", "DRYRUN", "rw", "set", "r1", "x"]),
            bulk("User rw has no permissions to access the 'r1' key")
        );
        return;
    };
    let (mut a, mut b) = (Conn::open(ours.port), Conn::open(r8.port));
    create(&mut a, DRYRUN_USERS);
    create(&mut b, DRYRUN_USERS);
    let mut diffs = Vec::new();
    for u in DRYRUN_USERS {
        for line in DRYRUN_COMMANDS {
            let mut args = vec!["ACL", "DRYRUN", u[0]];
            let words: Vec<String> = line.split(' ').map(|w| w.replace("\"\"", "")).collect();
            args.extend(words.iter().map(String::as_str));
            let (x, y) = (a.cmd(&args), b.cmd(&args));
            if x != y {
                diffs.push(format!("{args:?}: ours {x:?}, Redis {y:?}"));
            }
        }
    }
    assert!(diffs.is_empty(), "{diffs:#?}");
}

// ---------------------------------------------------------------------------
// Disconnecting revoked users
// ---------------------------------------------------------------------------

fn revoked_users_are_disconnected(port: u16) {
    let mut admin = Conn::open(port);
    admin.ok(&[
        "ACL", "SETUSER", "sub", "on", ">pw", "~*", "&news:*", "+@all",
    ]);
    let mut chan = Conn::subscriber(port, "sub", "SUBSCRIBE", "news:1");
    let mut pattern = Conn::subscriber(port, "sub", "PSUBSCRIBE", "news:*");
    let mut idle = Conn::login(port, "sub", "pw");

    // Losing only the pattern drops only the pattern's subscriber.
    admin.ok(&["ACL", "SETUSER", "sub", "resetchannels", "&news:1"]);
    assert!(pattern.closed(), "the pattern subscriber stays connected");
    assert_eq!(admin.cmd(&["PUBLISH", "news:1", "hi"]), V::Int(1));
    assert_eq!(
        chan.next(),
        V::Array(vec![bulk("message"), bulk("news:1"), bulk("hi")])
    );
    assert_eq!(idle.cmd(&["PING"]), simple("PONG"));
    // Losing every channel drops the last subscriber, not the idle one.
    admin.ok(&["ACL", "SETUSER", "sub", "resetchannels"]);
    assert!(chan.closed(), "the channel subscriber stays connected");
    assert_eq!(idle.cmd(&["PING"]), simple("PONG"));

    // Deleting a user drops every connection of it, its own included
    // (after the reply).
    let mut gone = Conn::login(port, "sub", "pw");
    admin.ok(&["ACL", "SETUSER", "me", "on", ">pw", "+@all"]);
    let mut me = Conn::login(port, "me", "pw");
    assert_eq!(admin.cmd(&["ACL", "DELUSER", "sub", "nobody"]), V::Int(1));
    assert!(idle.closed(), "a deleted user's connection stays");
    assert!(gone.closed(), "a deleted user's connection stays");
    assert_eq!(me.cmd(&["ACL", "DELUSER", "me"]), V::Int(1));
    assert!(me.closed(), "a user deleting itself stays connected");
    assert_eq!(admin.cmd(&["PING"]), simple("PONG"));
    assert_eq!(
        admin.cmd(&["ACL", "USERS"]),
        V::Array(vec![bulk("default")])
    );
}

#[test]
fn revoked_subscribers_and_deleted_users_are_disconnected() {
    on_both("the disconnections", revoked_users_are_disconnected);
}

// ---------------------------------------------------------------------------
// ACL files shared with Redis 8.0
// ---------------------------------------------------------------------------

/// Users covering every kind of rule, as ACL SETUSER arguments.
const USERS: &[&[&str]] = &[
    &[
        "alice",
        "on",
        ">alicepw",
        "~app:*",
        "&app:*",
        "+@read",
        "+@string",
        "-@dangerous",
        "-getdel",
    ],
    &[
        "bob",
        "on",
        // SHA-256 of "bobpw".
        "#e8f318657ce39ec4edeecbbee28fd72dea2261d8a6b2155ce4977393e0ea721b",
        ">second",
        "%R~r:*",
        "%W~w:*",
        "~both:*",
        "resetchannels",
        "&news",
        "+@all",
        "-flushall",
        "-debug",
        "-@scripting",
        "+eval_ro",
    ],
    &[
        "carol",
        "on",
        "nopass",
        "allkeys",
        "allchannels",
        "-@all",
        "+client|list",
        "+config|get",
        "+select|0",
        "+select|1",
        "+acl|whoami",
        "+@pubsub",
        "-punsubscribe",
    ],
    &["dave", "off", ">davepw", "~*", "+get"],
    &[
        "erin",
        "on",
        ">erinpw",
        "resetkeys",
        "+@hash",
        "(~s:* +get +set)",
        "(%R~r*",
        "&c:*",
        "+@list",
        "-lpop)",
    ],
    &["frank"],
    &[
        "gus",
        "on",
        "nopass",
        "skip-sanitize-payload",
        "~*",
        "&*",
        "+@all",
        "-@admin",
        "+config|get",
        "-client|kill",
        "-client",
        "+client|id",
    ],
];

/// Creates `users` (ACL SETUSER arguments) on `c`'s server.
fn create(c: &mut Conn, users: &[&[&str]]) {
    for u in users {
        let mut args = vec!["ACL", "SETUSER"];
        args.extend_from_slice(u);
        c.ok(&args);
    }
}

/// ACL GETUSER of every user, in RESP2 and RESP3, sets in a fixed order.
fn getusers(port: u16) -> Vec<V> {
    let mut out = Vec::new();
    for proto in ["2", "3"] {
        let mut c = Conn::with_proto(port, proto);
        for u in USERS {
            out.push(common::canonical(&c.cmd(&["ACL", "GETUSER", u[0]])));
        }
    }
    out
}

/// ACL CAT and ACL CAT of each category, as sorted name lists.
fn categories(port: u16) -> Vec<(String, Vec<String>)> {
    let mut c = Conn::open(port);
    let names = |v: V| -> Vec<String> {
        let V::Array(a) = v else { panic!("{v:?}") };
        let mut n: Vec<String> = a.iter().map(|x| x.str().to_string()).collect();
        n.sort();
        n
    };
    let cats = names(c.cmd(&["ACL", "CAT"]));
    let mut out = vec![(String::new(), cats.clone())];
    for cat in cats {
        let cmds = names(c.cmd(&["ACL", "CAT", &cat]));
        out.push((cat, cmds));
    }
    out
}

/// The commands among `names` (of Redis's categories) that our server
/// does not know.
fn absent_commands(port: u16, all: &[String]) -> Vec<String> {
    let mut c = Conn::open(port);
    all.iter()
        .filter(|name| {
            let top = name.split('|').next().unwrap_or(name);
            c.cmd(&["COMMAND", "INFO", top]) == V::Array(vec![V::Null])
        })
        .cloned()
        .collect()
}

/// Asserts two ACL LIST replies are the same, line for line.
fn assert_same_lines(ours: &[String], theirs: &[String], what: &str) {
    for (a, b) in ours.iter().zip(theirs) {
        assert_eq!(a, b, "{what}: a line differs");
    }
    assert_eq!(ours, theirs, "{what}");
}

#[test]
fn acl_files_move_both_ways_between_redis_8_and_here() {
    let dir = Scratch::new("interop");
    let ours_file = dir.write("ours.acl", "");
    let ours = common::Server::start(&["--aclfile", &ours_file]);
    let mut c = Conn::open(ours.port);
    create(&mut c, USERS);
    c.ok(&["ACL", "SAVE"]);
    let ours_list = c.acl_list();
    assert_eq!(ours_list.len(), USERS.len() + 1, "{ours_list:?}");
    let saved = std::fs::read_to_string(&ours_file).unwrap();
    assert_eq!(saved.lines().collect::<Vec<_>>(), ours_list);

    let Some(r8) = Redis8::start("the ACL files", &["--aclfile", &ours_file]) else {
        return;
    };
    let mut r = Conn::open(r8.port);
    assert_same_lines(&ours_list, &r.acl_list(), "our file loaded by Redis");

    // Redis's own file, from the same rules, is ours byte for byte.
    let their_file = dir.write("theirs.acl", "");
    let r8b = Redis8::start("the ACL files", &["--aclfile", &their_file]).unwrap();
    let mut rb = Conn::open(r8b.port);
    create(&mut rb, USERS);
    rb.ok(&["ACL", "SAVE"]);
    let theirs_list = rb.acl_list();
    assert_same_lines(&ours_list, &theirs_list, "the same rules on both");
    assert_eq!(saved, std::fs::read_to_string(&their_file).unwrap());

    // Redis's file loaded here, at startup and by ACL LOAD.
    let ours_b = common::Server::start(&["--aclfile", &their_file]);
    assert_same_lines(
        &Conn::open(ours_b.port).acl_list(),
        &theirs_list,
        "Redis's file loaded at startup",
    );
    let load_file = dir.write("load.acl", "");
    let ours_c = common::Server::start(&["--aclfile", &load_file]);
    let mut cc = Conn::open(ours_c.port);
    cc.ok(&["ACL", "SETUSER", "zed", "on", "nopass", "+@all"]);
    std::fs::copy(&their_file, &load_file).unwrap();
    cc.ok(&["ACL", "LOAD"]);
    assert_same_lines(&cc.acl_list(), &theirs_list, "Redis's file by ACL LOAD");

    // The rules as structures, and the categories.
    assert_eq!(getusers(ours.port), getusers(r8.port));
    // Commands we do not have (FAILOVER, RESTORE-ASKING) are in none of
    // our categories; tests/command_docs.rs compares the command tables.
    let (a, b) = (categories(ours.port), categories(r8.port));
    let mut theirs_all: Vec<String> = b[1..].iter().flat_map(|(_, n)| n.clone()).collect();
    theirs_all.sort();
    theirs_all.dedup();
    let absent = absent_commands(ours.port, &theirs_all);
    if !absent.is_empty() {
        println!("note: commands Redis 8.0 has and we do not, left out: {absent:?}");
    }
    let mut diffs = Vec::new();
    for ((cat, mine), (their_cat, theirs)) in a.iter().zip(&b) {
        assert_eq!(cat, their_cat, "the category lists differ");
        let missing: Vec<&String> = theirs
            .iter()
            .filter(|n| !mine.contains(n) && !absent.contains(n))
            .collect();
        let extra: Vec<&String> = mine.iter().filter(|n| !theirs.contains(n)).collect();
        if !missing.is_empty() || !extra.is_empty() {
            diffs.push(format!(
                "ACL CAT {cat}: missing here {missing:?}, only here {extra:?}"
            ));
        }
    }
    assert!(diffs.is_empty(), "{diffs:#?}");
    assert_eq!(a.len(), b.len());
}

// ---------------------------------------------------------------------------
// Bad input changes nothing
// ---------------------------------------------------------------------------

fn bad_rules_change_nothing(port: u16) {
    let mut admin = Conn::open(port);
    assert_eq!(
        admin.err(&["ACL", "SETUSER", "u", "on", "+get", "+nosuchcmd"]),
        "ERR Error in ACL SETUSER modifier '+nosuchcmd': Unknown command or category name in ACL"
    );
    assert_eq!(admin.cmd(&["ACL", "GETUSER", "u"]), V::Null);
    admin.ok(&["ACL", "SETUSER", "u", "on", ">pw", "~u:*", "+get"]);
    let before = admin.acl_list();
    for bad in [
        &["off", "-get", "+nosuchcmd"][..],
        &["resetkeys", "~x:*", "(+get"],
        &["resetpass", "#abc"],
        &["nopass", "<notapassword"],
        &["allkeys", "~more:*"],
        &["+set", "-config|nosuchsub"],
    ] {
        let mut args = vec!["ACL", "SETUSER", "u"];
        args.extend_from_slice(bad);
        admin.err(&args);
        assert_eq!(admin.acl_list(), before, "after {bad:?}");
    }
    let mut u = Conn::login(port, "u", "pw");
    assert_eq!(u.cmd(&["GET", "u:1"]), V::Null);
    assert!(u.err(&["SET", "u:1", "x"]).starts_with("NOPERM"));
}

#[test]
fn bad_rules_change_nothing_and_say_why() {
    on_both("bad rules", bad_rules_change_nothing);
}

/// The errors of an ACL file `text` refused by ACL LOAD, which leaves the
/// users as they were.
fn acl_load_refuses(port: u16, path: &str, text: &str) -> String {
    let mut c = Conn::open(port);
    let before = c.acl_list();
    std::fs::write(path, text).unwrap();
    let e = c.err(&["ACL", "LOAD"]);
    assert!(
        e.ends_with(
            "WARNING: ACL errors detected, no change to the previously active ACL rules was performed"
        ),
        "{e}"
    );
    assert_eq!(c.acl_list(), before);
    e
}

fn malformed_files_are_refused(port: u16, path: &str) {
    let mut c = Conn::open(port);
    c.ok(&["ACL", "SETUSER", "keep", "on", ">pw", "~k:*", "+get"]);
    c.ok(&["ACL", "SAVE"]);
    let e = acl_load_refuses(
        port,
        path,
        "user a on +get\nuser b on +nosuchcmd ~*\nuser a on\n",
    );
    assert!(
        e.contains(&format!(
            "{path}:2: Error in applying operation '+nosuchcmd': Unknown command or category name in ACL. "
        )),
        "{e}"
    );
    assert!(
        e.contains("WARNING: Duplicate user 'a' found on line 3. "),
        "{e}"
    );
    let e = acl_load_refuses(port, path, "user ok on\nthis is no user line\n");
    assert!(
        e.starts_with(&format!(
            "ERR {path}:2 should start with user keyword followed by the username. "
        )),
        "{e}"
    );
    let e = acl_load_refuses(port, path, "user h on #123\n");
    assert!(
        e.contains(&format!(
            "{path}:1: The password hash must be exactly 64 characters"
        )),
        "{e}"
    );
    // A good file replaces every user.
    std::fs::write(path, "user only on nopass +@all ~*\n").unwrap();
    c.ok(&["ACL", "LOAD"]);
    let users = c.cmd(&["ACL", "USERS"]);
    assert_eq!(users, V::Array(vec![bulk("default"), bulk("only")]));
}

#[test]
fn a_malformed_acl_file_changes_nothing() {
    let dir = Scratch::new("load");
    let path = dir.write("ours.acl", "");
    let ours = common::Server::start(&["--aclfile", &path]);
    malformed_files_are_refused(ours.port, &path);
    let path = dir.write("theirs.acl", "");
    if let Some(r8) = Redis8::start("a malformed ACL file", &["--aclfile", &path]) {
        malformed_files_are_refused(r8.port, &path);
    }
}

/// Runs `bin` with `args` on a free port until it exits (at most 10 s):
/// its exit code and what it wrote.
fn failed_start(bin: &Path, args: &[&str]) -> (i32, String) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut child = Command::new(bin)
        .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
        .args(["--save", ""])
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("{bin:?} {args:?} kept running");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    (out.status.code().unwrap_or(-1), text)
}

/// Asserts `args` make the server exit 1 saying `said`, here and in
/// Redis 8.0.
fn refused_at_startup(args: &[&str], said: &[&str]) {
    let ours = PathBuf::from(env!("CARGO_BIN_EXE_redis-rust"));
    let mut servers = vec![ours];
    servers.extend(common::redis8_binary());
    for bin in servers {
        let (code, text) = failed_start(&bin, args);
        assert_eq!(code, 1, "{bin:?} {args:?}:\n{text}");
        for s in said {
            assert!(text.contains(s), "{bin:?} {args:?} without {s:?}:\n{text}");
        }
    }
}

#[test]
fn bad_users_at_startup_stop_the_server() {
    let dir = Scratch::new("startup");
    let path = dir.write("bad.acl", "user a on +get\nuser b on +nosuchcmd\n");
    refused_at_startup(
        &["--aclfile", &path],
        &[
            "Aborting Redis startup because of ACL errors: ",
            &format!(
                "{path}:2: Error in applying operation '+nosuchcmd': Unknown command or category name in ACL."
            ),
        ],
    );
    refused_at_startup(
        &["--user", "foo", "--user", "foo"],
        &["Duplicate user found. A user can only be defined once in config files"],
    );
    let missing = format!("{}/missing.acl", dir.0.display());
    refused_at_startup(
        &["--aclfile", &missing],
        &[&format!(
            "Aborting Redis startup because of ACL errors: Error loading ACLs, opening file '{missing}': No such file or directory"
        )],
    );
}

// ---------------------------------------------------------------------------
// requirepass
// ---------------------------------------------------------------------------

fn requirepass_guards_new_connections(port: u16) {
    let mut admin = Conn::open(port);
    // Protected mode is on but does not apply to loopback clients.
    assert_eq!(
        admin.cmd(&["CONFIG", "GET", "protected-mode"]),
        V::Array(vec![bulk("protected-mode"), bulk("yes")])
    );
    admin.ok(&["CONFIG", "SET", "requirepass", "x"]);
    let noauth = "NOAUTH Authentication required.";
    let mut c = Conn::open(port);
    assert_eq!(c.err(&["PING"]), noauth);
    assert_eq!(c.err(&["GET", "k"]), noauth);
    assert_eq!(
        c.err(&["EXEC"]),
        format!("EXECABORT Transaction discarded because of: {noauth}")
    );
    assert_eq!(c.err(&["AUTH", "wrong"]), WRONGPASS);
    c.ok(&["AUTH", "x"]);
    assert_eq!(c.cmd(&["PING"]), simple("PONG"));
    let mut d = Conn::login(port, "default", "x");
    assert_eq!(d.cmd(&["ACL", "WHOAMI"]), bulk("default"));
    let hello = Conn::open(port).cmd(&["HELLO", "2", "AUTH", "default", "x"]);
    assert!(matches!(hello, V::Array(_)), "{hello:?}");
    // The connection that set it was authenticated already.
    assert_eq!(admin.cmd(&["PING"]), simple("PONG"));
    assert_eq!(
        admin.cmd(&["CONFIG", "GET", "requirepass"]),
        V::Array(vec![bulk("requirepass"), bulk("x")])
    );
    // SHA-256 of "x".
    let hash = "2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881";
    assert_eq!(
        admin.acl_list(),
        [format!(
            "user default on sanitize-payload #{hash} ~* &* +@all"
        )]
    );
    admin.ok(&["CONFIG", "SET", "requirepass", ""]);
    assert_eq!(Conn::open(port).cmd(&["PING"]), simple("PONG"));
}

#[test]
fn requirepass_makes_new_connections_authenticate() {
    on_both("requirepass", requirepass_guards_new_connections);
}
