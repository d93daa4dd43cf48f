//! Configuration: one table of parameters (name, alias, type, bounds,
//! default, mutability) serves `redis.conf`, the command line and
//! `CONFIG GET/SET`. Values are kept in canonical text form, the form
//! `CONFIG GET` prints; parameters the hot path reads are cached as typed
//! fields in `Hot` after every change.

use crate::util::{glob_match, parse_memory};
use std::collections::HashMap;

#[derive(Clone, Copy, Debug)]
pub enum Kind {
    Bool,
    Str,
    Int(i64, i64),
    /// A byte count that accepts units (`1gb`, `64mb`).
    Mem(i64, i64),
    /// A byte count or a percentage of maxmemory (`10%`).
    Percent(i64, i64),
    Octal,
    Enum(&'static [&'static str]),
    /// Multi-valued or structured; validated by `validate_special`.
    Special,
}

const IMMUT: u8 = 1;
const SENSITIVE: u8 = 2;
const HIDDEN: u8 = 4;
const MULTI: u8 = 8;
const PROTECTED: u8 = 16;

const I32MAX: i64 = i32::MAX as i64;
const I32MIN: i64 = i32::MIN as i64;
const U32MAX: i64 = u32::MAX as i64;
const I64MAX: i64 = i64::MAX;

pub struct Param {
    pub name: &'static str,
    pub alias: Option<&'static str>,
    pub flags: u8,
    pub kind: Kind,
    pub default: &'static str,
}

impl Param {
    pub fn mutable(&self) -> bool {
        self.flags & IMMUT == 0
    }

    /// Settable only as `enable-protected-configs` allows.
    pub fn protected(&self) -> bool {
        self.flags & PROTECTED != 0
    }
}

const fn p(
    name: &'static str,
    alias: Option<&'static str>,
    flags: u8,
    kind: Kind,
    default: &'static str,
) -> Param {
    Param {
        name,
        alias,
        flags,
        kind,
        default,
    }
}

use Kind::*;

/// Every parameter we accept, with Redis 8.0's names, bounds and defaults.
pub static PARAMS: &[Param] = &[
    p("rdbchecksum", None, IMMUT, Bool, "yes"),
    p("daemonize", None, IMMUT, Bool, "no"),
    p("always-show-logo", None, IMMUT, Bool, "no"),
    p("protected-mode", None, 0, Bool, "yes"),
    p("rdbcompression", None, 0, Bool, "yes"),
    p("rdb-del-sync-files", None, 0, Bool, "no"),
    p("activerehashing", None, 0, Bool, "yes"),
    p("stop-writes-on-bgsave-error", None, 0, Bool, "yes"),
    p("set-proc-title", None, IMMUT, Bool, "yes"),
    p("dynamic-hz", None, 0, Bool, "yes"),
    p("lazyfree-lazy-eviction", None, 0, Bool, "no"),
    p("lazyfree-lazy-expire", None, 0, Bool, "no"),
    p("lazyfree-lazy-server-del", None, 0, Bool, "no"),
    p("lazyfree-lazy-user-del", None, 0, Bool, "no"),
    p("lazyfree-lazy-user-flush", None, 0, Bool, "no"),
    p("repl-disable-tcp-nodelay", None, 0, Bool, "no"),
    p("repl-diskless-sync", None, 0, Bool, "yes"),
    p("repl-rdb-channel", None, HIDDEN, Bool, "yes"),
    p("aof-rewrite-incremental-fsync", None, 0, Bool, "yes"),
    p("no-appendfsync-on-rewrite", None, 0, Bool, "no"),
    p("cluster-require-full-coverage", None, 0, Bool, "yes"),
    p("rdb-save-incremental-fsync", None, 0, Bool, "yes"),
    p("aof-load-truncated", None, 0, Bool, "yes"),
    p("aof-use-rdb-preamble", None, 0, Bool, "yes"),
    p("aof-timestamp-enabled", None, 0, Bool, "no"),
    p(
        "cluster-replica-no-failover",
        Some("cluster-slave-no-failover"),
        0,
        Bool,
        "no",
    ),
    p(
        "replica-lazy-flush",
        Some("slave-lazy-flush"),
        0,
        Bool,
        "no",
    ),
    p(
        "replica-serve-stale-data",
        Some("slave-serve-stale-data"),
        0,
        Bool,
        "yes",
    ),
    p("replica-read-only", Some("slave-read-only"), 0, Bool, "yes"),
    p(
        "replica-ignore-maxmemory",
        Some("slave-ignore-maxmemory"),
        0,
        Bool,
        "yes",
    ),
    p("jemalloc-bg-thread", None, 0, Bool, "yes"),
    p("activedefrag", None, 0, Bool, "no"),
    p("syslog-enabled", None, IMMUT, Bool, "no"),
    p("cluster-enabled", None, IMMUT, Bool, "no"),
    p("appendonly", None, 0, Bool, "no"),
    p("cluster-allow-reads-when-down", None, 0, Bool, "no"),
    p("cluster-allow-pubsubshard-when-down", None, 0, Bool, "yes"),
    p("crash-log-enabled", None, 0, Bool, "yes"),
    p("crash-memcheck-enabled", None, 0, Bool, "yes"),
    p("use-exit-on-panic", None, HIDDEN, Bool, "no"),
    p("disable-thp", None, IMMUT, Bool, "yes"),
    p("cluster-allow-replica-migration", None, 0, Bool, "yes"),
    p("replica-announced", None, 0, Bool, "yes"),
    p("latency-tracking", None, 0, Bool, "yes"),
    p("aof-disable-auto-gc", None, HIDDEN, Bool, "no"),
    p("replica-ignore-disk-write-errors", None, 0, Bool, "no"),
    p("hide-user-data-from-log", None, 0, Bool, "no"),
    p(
        "lua-enable-deprecated-api",
        None,
        IMMUT | HIDDEN,
        Bool,
        "no",
    ),
    p("aclfile", None, IMMUT, Str, ""),
    p("unixsocket", None, IMMUT, Str, ""),
    p("pidfile", None, IMMUT, Str, ""),
    p("replica-announce-ip", Some("slave-announce-ip"), 0, Str, ""),
    p("masteruser", None, SENSITIVE, Str, ""),
    p("cluster-announce-ip", None, 0, Str, ""),
    p("cluster-config-file", None, IMMUT, Str, "nodes.conf"),
    p("cluster-announce-hostname", None, 0, Str, ""),
    p("cluster-announce-human-nodename", None, 0, Str, ""),
    p("syslog-ident", None, IMMUT, Str, "redis"),
    p("dbfilename", None, PROTECTED, Str, "dump.rdb"),
    p("appendfilename", None, IMMUT, Str, "appendonly.aof"),
    p("appenddirname", None, IMMUT, Str, "appendonlydir"),
    p("server-cpulist", Some("server_cpulist"), IMMUT, Str, ""),
    p("bio-cpulist", Some("bio_cpulist"), IMMUT, Str, ""),
    p(
        "aof-rewrite-cpulist",
        Some("aof_rewrite_cpulist"),
        IMMUT,
        Str,
        "",
    ),
    p("bgsave-cpulist", Some("bgsave_cpulist"), IMMUT, Str, ""),
    p("ignore-warnings", None, 0, Str, ""),
    p(
        "proc-title-template",
        None,
        0,
        Special,
        "{title} {listen-addr} {server-mode}",
    ),
    p("bind-source-addr", None, 0, Str, ""),
    p("logfile", None, IMMUT, Str, ""),
    p("req-res-logfile", None, IMMUT | HIDDEN, Str, ""),
    p("locale-collate", None, 0, Str, ""),
    p("masterauth", None, SENSITIVE, Str, ""),
    p("requirepass", None, SENSITIVE, Str, ""),
    p(
        "supervised",
        None,
        IMMUT,
        Enum(&["upstart", "systemd", "auto", "no"]),
        "no",
    ),
    p(
        "syslog-facility",
        None,
        IMMUT,
        Enum(&[
            "user", "local0", "local1", "local2", "local3", "local4", "local5", "local6", "local7",
        ]),
        "local0",
    ),
    p(
        "repl-diskless-load",
        None,
        0,
        Enum(&["disabled", "on-empty-db", "swapdb", "flush-before-load"]),
        "disabled",
    ),
    p(
        "loglevel",
        None,
        0,
        Enum(&["debug", "verbose", "notice", "warning", "nothing"]),
        "notice",
    ),
    p(
        "maxmemory-policy",
        None,
        0,
        Enum(&[
            "volatile-lru",
            "volatile-lfu",
            "volatile-random",
            "volatile-ttl",
            "allkeys-lru",
            "allkeys-lfu",
            "allkeys-random",
            "noeviction",
        ]),
        "noeviction",
    ),
    p(
        "appendfsync",
        None,
        0,
        Enum(&["always", "everysec", "no"]),
        "everysec",
    ),
    p(
        "oom-score-adj",
        None,
        0,
        Enum(&["no", "yes", "relative", "absolute"]),
        "no",
    ),
    p(
        "acl-pubsub-default",
        None,
        0,
        Enum(&["allchannels", "resetchannels"]),
        "resetchannels",
    ),
    p(
        "sanitize-dump-payload",
        None,
        0,
        Enum(&["no", "yes", "clients"]),
        "no",
    ),
    p(
        "enable-protected-configs",
        None,
        IMMUT,
        Enum(&["no", "yes", "local"]),
        "no",
    ),
    p(
        "enable-debug-command",
        None,
        IMMUT,
        Enum(&["no", "yes", "local"]),
        "no",
    ),
    p(
        "enable-module-command",
        None,
        IMMUT,
        Enum(&["no", "yes", "local"]),
        "no",
    ),
    p(
        "cluster-preferred-endpoint-type",
        None,
        0,
        Enum(&["ip", "hostname", "unknown-endpoint"]),
        "ip",
    ),
    p(
        "propagation-error-behavior",
        None,
        0,
        Enum(&["ignore", "panic", "panic-on-replicas"]),
        "ignore",
    ),
    p(
        "shutdown-on-sigint",
        None,
        MULTI,
        Enum(&["default", "save", "nosave", "now", "force"]),
        "default",
    ),
    p(
        "shutdown-on-sigterm",
        None,
        MULTI,
        Enum(&["default", "save", "nosave", "now", "force"]),
        "default",
    ),
    p("databases", None, IMMUT, Int(1, I32MAX), "16"),
    p("port", None, 0, Int(0, 65535), "6379"),
    p("io-threads", None, IMMUT, Int(1, 128), "1"),
    p(
        "auto-aof-rewrite-percentage",
        None,
        0,
        Int(0, I32MAX),
        "100",
    ),
    p(
        "cluster-replica-validity-factor",
        Some("cluster-slave-validity-factor"),
        0,
        Int(0, I32MAX),
        "10",
    ),
    p(
        "list-max-listpack-size",
        Some("list-max-ziplist-size"),
        0,
        Int(I32MIN, I32MAX),
        "-2",
    ),
    p("tcp-keepalive", None, 0, Int(0, I32MAX), "300"),
    p("cluster-migration-barrier", None, 0, Int(0, I32MAX), "1"),
    p("active-defrag-cycle-min", None, 0, Int(1, 99), "1"),
    p("active-defrag-cycle-max", None, 0, Int(1, 99), "25"),
    p("active-defrag-threshold-lower", None, 0, Int(0, 1000), "10"),
    p(
        "active-defrag-threshold-upper",
        None,
        0,
        Int(0, 1000),
        "100",
    ),
    p("lfu-log-factor", None, 0, Int(0, I32MAX), "10"),
    p("lfu-decay-time", None, 0, Int(0, I32MAX), "1"),
    p(
        "replica-priority",
        Some("slave-priority"),
        0,
        Int(0, I32MAX),
        "100",
    ),
    p("repl-diskless-sync-delay", None, 0, Int(0, I32MAX), "5"),
    p("maxmemory-samples", None, 0, Int(1, 64), "5"),
    p("maxmemory-eviction-tenacity", None, 0, Int(0, 100), "10"),
    p("timeout", None, 0, Int(0, I32MAX), "0"),
    p(
        "replica-announce-port",
        Some("slave-announce-port"),
        0,
        Int(0, 65535),
        "0",
    ),
    p("tcp-backlog", None, IMMUT, Int(0, I32MAX), "511"),
    p("cluster-port", None, IMMUT, Int(0, 65535), "0"),
    p("cluster-announce-bus-port", None, 0, Int(0, 65535), "0"),
    p("cluster-announce-port", None, 0, Int(0, 65535), "0"),
    p("cluster-announce-tls-port", None, 0, Int(0, 65535), "0"),
    p("repl-timeout", None, 0, Int(1, I32MAX), "60"),
    p(
        "repl-ping-replica-period",
        Some("repl-ping-slave-period"),
        0,
        Int(1, I32MAX),
        "10",
    ),
    p("list-compress-depth", None, 0, Int(0, I32MAX), "0"),
    p("rdb-key-save-delay", None, HIDDEN, Int(I32MIN, I32MAX), "0"),
    p("key-load-delay", None, HIDDEN, Int(I32MIN, I32MAX), "0"),
    p("active-expire-effort", None, 0, Int(1, 10), "1"),
    p("hz", None, 0, Int(0, I32MAX), "10"),
    p(
        "min-replicas-to-write",
        Some("min-slaves-to-write"),
        0,
        Int(0, I32MAX),
        "0",
    ),
    p(
        "min-replicas-max-lag",
        Some("min-slaves-max-lag"),
        0,
        Int(0, I32MAX),
        "10",
    ),
    p("watchdog-period", None, HIDDEN, Int(0, I32MAX), "0"),
    p("shutdown-timeout", None, 0, Int(0, I32MAX), "10"),
    p(
        "repl-diskless-sync-max-replicas",
        None,
        0,
        Int(0, I32MAX),
        "0",
    ),
    p(
        "cluster-compatibility-sample-ratio",
        None,
        0,
        Int(0, 100),
        "0",
    ),
    p("maxclients", None, 0, Int(1, U32MAX), "10000"),
    p("unixsocketperm", None, IMMUT, Octal, "0"),
    p("socket-mark-id", None, IMMUT, Int(0, U32MAX), "0"),
    p("max-new-connections-per-cycle", None, 0, Int(1, 1000), "10"),
    p(
        "max-new-tls-connections-per-cycle",
        None,
        0,
        Int(1, 1000),
        "1",
    ),
    p("client-default-resp", None, IMMUT | HIDDEN, Int(2, 3), "2"),
    p(
        "active-defrag-max-scan-fields",
        None,
        0,
        Int(1, I64MAX),
        "1000",
    ),
    p("slowlog-max-len", None, 0, Int(0, I64MAX), "128"),
    p("acllog-max-len", None, 0, Int(0, I64MAX), "128"),
    p(
        "busy-reply-threshold",
        Some("lua-time-limit"),
        0,
        Int(0, I64MAX),
        "5000",
    ),
    p("cluster-node-timeout", None, 0, Int(0, I64MAX), "15000"),
    p("cluster-ping-interval", None, HIDDEN, Int(0, I64MAX), "0"),
    p("slowlog-log-slower-than", None, 0, Int(-1, I64MAX), "10000"),
    p("latency-monitor-threshold", None, 0, Int(0, I64MAX), "0"),
    p(
        "proto-max-bulk-len",
        None,
        0,
        Mem(1048576, I64MAX),
        "536870912",
    ),
    p("stream-node-max-entries", None, 0, Int(0, I64MAX), "100"),
    p("repl-backlog-size", None, 0, Mem(1, I64MAX), "1048576"),
    p(
        "replica-full-sync-buffer-limit",
        None,
        0,
        Mem(0, I64MAX),
        "0",
    ),
    p("maxmemory", None, 0, Mem(0, I64MAX), "0"),
    p("cluster-link-sendbuf-limit", None, 0, Mem(0, I64MAX), "0"),
    p(
        "hash-max-listpack-entries",
        Some("hash-max-ziplist-entries"),
        0,
        Int(0, I64MAX),
        "512",
    ),
    p("set-max-intset-entries", None, 0, Int(0, I64MAX), "512"),
    p("set-max-listpack-entries", None, 0, Int(0, I64MAX), "128"),
    p("set-max-listpack-value", None, 0, Int(0, I64MAX), "64"),
    p(
        "zset-max-listpack-entries",
        Some("zset-max-ziplist-entries"),
        0,
        Int(0, I64MAX),
        "128",
    ),
    p(
        "active-defrag-ignore-bytes",
        None,
        0,
        Mem(1, I64MAX),
        "104857600",
    ),
    p(
        "hash-max-listpack-value",
        Some("hash-max-ziplist-value"),
        0,
        Mem(0, I64MAX),
        "64",
    ),
    p("stream-node-max-bytes", None, 0, Mem(0, I64MAX), "4096"),
    p(
        "zset-max-listpack-value",
        Some("zset-max-ziplist-value"),
        0,
        Mem(0, I64MAX),
        "64",
    ),
    p("hll-sparse-max-bytes", None, 0, Mem(0, I64MAX), "3000"),
    p(
        "tracking-table-max-keys",
        None,
        0,
        Int(0, I64MAX),
        "1000000",
    ),
    p(
        "client-query-buffer-limit",
        None,
        0,
        Mem(1048576, I64MAX),
        "1073741824",
    ),
    p("maxmemory-clients", None, 0, Percent(-100, I64MAX), "0"),
    p("repl-backlog-ttl", None, 0, Int(0, I64MAX), "3600"),
    p(
        "auto-aof-rewrite-min-size",
        None,
        0,
        Mem(0, I64MAX),
        "67108864",
    ),
    p(
        "loading-process-events-interval-bytes",
        None,
        HIDDEN,
        Int(1024, I32MAX),
        "524288",
    ),
    p("tls-port", None, 0, Int(0, 65535), "0"),
    p("tls-session-cache-size", None, 0, Int(0, I32MAX), "20480"),
    p("tls-session-cache-timeout", None, 0, Int(0, I32MAX), "300"),
    p("tls-cluster", None, 0, Bool, "no"),
    p("tls-replication", None, 0, Bool, "no"),
    p(
        "tls-auth-clients",
        None,
        0,
        Enum(&["no", "yes", "optional"]),
        "yes",
    ),
    p("tls-prefer-server-ciphers", None, 0, Bool, "no"),
    p("tls-session-caching", None, 0, Bool, "yes"),
    p("tls-cert-file", None, 0, Str, ""),
    p("tls-key-file", None, 0, Str, ""),
    p("tls-key-file-pass", None, SENSITIVE, Str, ""),
    p("tls-client-cert-file", None, 0, Str, ""),
    p("tls-client-key-file", None, 0, Str, ""),
    p("tls-client-key-file-pass", None, SENSITIVE, Str, ""),
    p("tls-dh-params-file", None, 0, Str, ""),
    p("tls-ca-cert-file", None, 0, Str, ""),
    p("tls-ca-cert-dir", None, 0, Str, ""),
    p("tls-protocols", None, 0, Str, ""),
    p("tls-ciphers", None, 0, Str, ""),
    p("tls-ciphersuites", None, 0, Str, ""),
    p("dir", None, PROTECTED, Special, ""),
    p("save", None, MULTI, Special, "3600 1 300 100 60 10000"),
    p(
        "client-output-buffer-limit",
        None,
        MULTI,
        Special,
        "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60",
    ),
    p("oom-score-adj-values", None, MULTI, Special, "0 200 800"),
    p("notify-keyspace-events", None, 0, Special, ""),
    p("bind", None, MULTI, Special, "* -::*"),
    p("replicaof", Some("slaveof"), IMMUT | MULTI, Special, ""),
    p(
        "latency-tracking-info-percentiles",
        None,
        MULTI,
        Special,
        "50 99 99.9",
    ),
];

/// Directives the file accepts that are not parameters of CONFIG GET/SET.
const FILE_ONLY: &[&str] = &[
    "include",
    "rename-command",
    "user",
    "loadmodule",
    "sentinel",
    "list-max-ziplist-entries",
    "list-max-ziplist-value",
    "lua-replicate-commands",
];

/// Typed copies of the parameters read on the hot path or in the cron.
#[derive(Clone, Debug, Default)]
pub struct Hot {
    pub hz: i64,
    pub proto_max_bulk_len: i64,
    pub client_query_buffer_limit: i64,
    pub requirepass: Option<Vec<u8>>,
    pub maxclients: i64,
    pub timeout: i64,
    pub databases: usize,
    pub active_expire_effort: i64,
    pub notify_flags: u32,
    pub enable_debug: String,
    pub maxmemory: i64,
    pub maxmemory_policy: crate::evict::Policy,
    /// min-replicas-to-write, 0 when off (or min-replicas-max-lag is 0).
    pub min_replicas_to_write: i64,
    pub replica_serve_stale_data: bool,
    /// `maxmemory-clients` in bytes (a percentage resolved against maxmemory).
    pub maxmemory_clients: i64,
    pub slowlog_slower_than: i64,
    pub slowlog_max_len: i64,
    pub latency_threshold: i64,
    pub lazyfree_user_del: bool,
    pub lazyfree_user_flush: bool,
    pub lazyfree_lazy_expire: bool,
    pub latency_tracking: bool,
    /// `client-output-buffer-limit` per class (normal, replica, pubsub):
    /// (hard bytes, soft bytes, soft seconds), 0 meaning no limit.
    pub obuf_limits: [(i64, i64, i64); 3],
    pub cluster_compat_ratio: i64,
}

#[derive(Clone)]
pub struct Config {
    vals: Vec<String>,
    index: HashMap<&'static str, usize>,
    pub hot: Hot,
    /// The path of the config file, absolute, if one was given.
    pub file: Option<String>,
    pub renamed: HashMap<String, String>,
    /// `user` directives: name then rules, validated as read and applied
    /// once the file is loaded (`acl::load_at_startup`).
    pub users: Vec<Vec<Vec<u8>>>,
    save_from_file_started: bool,
}

impl Default for Config {
    fn default() -> Self {
        Config::new()
    }
}

/// Keyspace notification classes, as letters of `notify-keyspace-events`.
pub mod notify {
    pub const KEYSPACE: u32 = 1 << 0; // K
    pub const KEYEVENT: u32 = 1 << 1; // E
    pub const GENERIC: u32 = 1 << 2; // g
    pub const STRING: u32 = 1 << 3; // $
    pub const LIST: u32 = 1 << 4; // l
    pub const SET: u32 = 1 << 5; // s
    pub const HASH: u32 = 1 << 6; // h
    pub const ZSET: u32 = 1 << 7; // z
    pub const EXPIRED: u32 = 1 << 8; // x
    pub const EVICTED: u32 = 1 << 9; // e
    pub const STREAM: u32 = 1 << 10; // t
    pub const KEY_MISS: u32 = 1 << 11; // m
    pub const MODULE: u32 = 1 << 12; // d
    pub const NEW: u32 = 1 << 13; // n
    pub const ALL: u32 =
        GENERIC | STRING | LIST | SET | HASH | ZSET | EXPIRED | EVICTED | STREAM | MODULE;

    pub fn parse(s: &str) -> Option<u32> {
        let mut f = 0;
        for c in s.chars() {
            f |= match c {
                'A' => ALL,
                'g' => GENERIC,
                '$' => STRING,
                'l' => LIST,
                's' => SET,
                'h' => HASH,
                'z' => ZSET,
                'x' => EXPIRED,
                'e' => EVICTED,
                'K' => KEYSPACE,
                'E' => KEYEVENT,
                't' => STREAM,
                'm' => KEY_MISS,
                'd' => MODULE,
                'n' => NEW,
                _ => return None,
            };
        }
        Some(f)
    }

    pub fn format(f: u32) -> String {
        let mut s = String::new();
        if f & ALL == ALL {
            s.push('A');
        } else {
            for (b, c) in [
                (GENERIC, 'g'),
                (STRING, '$'),
                (LIST, 'l'),
                (SET, 's'),
                (HASH, 'h'),
                (ZSET, 'z'),
                (EXPIRED, 'x'),
                (EVICTED, 'e'),
                (STREAM, 't'),
                (MODULE, 'd'),
            ] {
                if f & b != 0 {
                    s.push(c);
                }
            }
        }
        for (b, c) in [
            (KEYSPACE, 'K'),
            (KEYEVENT, 'E'),
            (KEY_MISS, 'm'),
            (NEW, 'n'),
        ] {
            if f & b != 0 {
                s.push(c);
            }
        }
        s
    }
}

fn int_text(v: &str, kind: Kind) -> Result<String, String> {
    match kind {
        Int(lo, hi) => {
            let n: i64 = v
                .parse()
                .map_err(|_| "argument couldn't be parsed into an integer".to_string())?;
            if n < lo || n > hi {
                return Err(format!("argument must be between {lo} and {hi} inclusive"));
            }
            Ok(n.to_string())
        }
        Mem(lo, hi) | Percent(lo, hi) => {
            if let (Percent(..), Some(pct)) = (kind, v.strip_suffix('%')) {
                let n: i64 = pct
                    .parse()
                    .map_err(|_| "argument must be a memory or percent value".to_string())?;
                if n < 0 || -n < lo {
                    return Err(format!(
                        "percentage argument must be less or equal to {}",
                        -lo
                    ));
                }
                return Ok(format!("{n}%"));
            }
            let n = parse_memory(v).ok_or_else(|| "argument must be a memory value".to_string())?;
            if n < lo || n > hi {
                return Err(format!("argument must be between {lo} and {hi} inclusive"));
            }
            Ok(n.to_string())
        }
        Octal => {
            let n = i64::from_str_radix(v, 8)
                .map_err(|_| "argument couldn't be parsed into an integer".to_string())?;
            if !(0..=0o777).contains(&n) {
                return Err("argument must be between 0 and 511 inclusive".into());
            }
            Ok(format!("{n:o}"))
        }
        _ => unreachable!(),
    }
}

impl Config {
    pub fn new() -> Config {
        let mut index = HashMap::new();
        for (i, p) in PARAMS.iter().enumerate() {
            index.insert(p.name, i);
            if let Some(a) = p.alias {
                index.insert(a, i);
            }
        }
        let vals = PARAMS.iter().map(|p| p.default.to_string()).collect();
        let mut c = Config {
            vals,
            index,
            hot: Hot::default(),
            file: None,
            renamed: HashMap::new(),
            users: Vec::new(),
            save_from_file_started: false,
        };
        if let Ok(d) = std::env::current_dir() {
            let i = c.index["dir"];
            c.vals[i] = d.to_string_lossy().into_owned();
        }
        c.refresh();
        c
    }

    pub fn param(&self, name: &str) -> Option<(usize, &'static Param)> {
        let lname = name.to_ascii_lowercase();
        self.index.get(lname.as_str()).map(|&i| (i, &PARAMS[i]))
    }

    /// The canonical text of a parameter (empty for unknown names).
    pub fn get(&self, name: &str) -> &str {
        match self.index.get(name) {
            Some(&i) => &self.vals[i],
            None => "",
        }
    }

    pub fn int(&self, name: &str) -> i64 {
        self.get(name).parse().unwrap_or(0)
    }

    pub fn bool(&self, name: &str) -> bool {
        self.get(name) == "yes"
    }

    /// Validates `args` for `param` and returns the canonical text.
    fn canonical(&self, param: &Param, args: &[String]) -> Result<String, String> {
        let joined = args.join(" ");
        match param.kind {
            Bool => match joined.to_ascii_lowercase().as_str() {
                // Active defrag moves allocations jemalloc reports as being
                // in sparse runs; the system allocator has no such report,
                // so it is refused as Redis refuses it in such builds.
                "yes" if param.name == "activedefrag" => Err(
                    "Active defragmentation cannot be enabled: it requires a Redis server compiled with a modified Jemalloc like the one shipped by default with the Redis source distribution".into(),
                ),
                "yes" => Ok("yes".into()),
                "no" => Ok("no".into()),
                _ => Err("argument must be 'yes' or 'no'".into()),
            },
            Str => Ok(joined),
            Int(..) | Mem(..) | Percent(..) | Octal => int_text(&joined, param.kind),
            Enum(opts) => {
                let words: Vec<String> = joined
                    .split_whitespace()
                    .map(|w| w.to_ascii_lowercase())
                    .collect();
                let ok = if param.flags & MULTI != 0 {
                    !words.is_empty() && words.iter().all(|w| opts.contains(&w.as_str()))
                } else {
                    words.len() == 1 && opts.contains(&words[0].as_str())
                };
                if !ok {
                    return Err(format!(
                        "argument(s) must be one of the following: {}",
                        opts.join(", ")
                    ));
                }
                if param.flags & MULTI != 0 {
                    // Flags print in their declared order, as Redis does.
                    let set: Vec<&str> = opts
                        .iter()
                        .copied()
                        .filter(|o| words.iter().any(|w| w == o))
                        .collect();
                    return Ok(set.join(" "));
                }
                Ok(words.join(" "))
            }
            Special => self.validate_special(param.name, &joined),
        }
    }

    fn validate_special(&self, name: &str, v: &str) -> Result<String, String> {
        let words: Vec<&str> = v.split_whitespace().collect();
        match name {
            "save" => {
                if !words.len().is_multiple_of(2)
                    || words
                        .iter()
                        .any(|w| w.parse::<i64>().map(|n| n < 0).unwrap_or(true))
                {
                    if v.is_empty() {
                        return Ok(String::new());
                    }
                    return Err("Invalid save parameters".into());
                }
                Ok(words.join(" "))
            }
            "notify-keyspace-events" => match notify::parse(v) {
                Some(f) => Ok(notify::format(f)),
                None => Err("Invalid event class character. Use 'Ag$lshzxeKEtmdn'.".into()),
            },
            "dir" => {
                std::env::set_current_dir(v)
                    .map_err(|e| crate::util::os_error_text(&e).to_string())?;
                Ok(std::env::current_dir()
                    .map(|d| d.to_string_lossy().into_owned())
                    .unwrap_or_else(|_| v.to_string()))
            }
            "client-output-buffer-limit" => {
                if !words.len().is_multiple_of(4) {
                    return Err("Wrong number of arguments in buffer limit configuration.".into());
                }
                let mut cur: Vec<String> = self
                    .get("client-output-buffer-limit")
                    .split_whitespace()
                    .map(String::from)
                    .collect();
                for ch in words.chunks(4) {
                    let class = match ch[0].to_ascii_lowercase().as_str() {
                        "normal" => "normal",
                        "slave" | "replica" => "slave",
                        "pubsub" => "pubsub",
                        _ => {
                            return Err(
                                "Invalid client class specified in buffer limit configuration."
                                    .into(),
                            );
                        }
                    };
                    let hard = parse_memory(ch[1]).filter(|n| *n >= 0);
                    let soft = parse_memory(ch[2]).filter(|n| *n >= 0);
                    let secs = ch[3].parse::<i64>().ok().filter(|n| *n >= 0);
                    let (Some(h), Some(s), Some(t)) = (hard, soft, secs) else {
                        return Err("Error in hard, soft or soft_seconds setting in buffer limit configuration.".into());
                    };
                    if let Some(pos) = cur.iter().position(|w| w == class) {
                        cur[pos + 1] = h.to_string();
                        cur[pos + 2] = s.to_string();
                        cur[pos + 3] = t.to_string();
                    }
                }
                Ok(cur.join(" "))
            }
            "oom-score-adj-values" => {
                if words.len() != 3
                    || words.iter().any(|w| {
                        w.parse::<i64>()
                            .map(|n| !(-2000..=2000).contains(&n))
                            .unwrap_or(true)
                    })
                {
                    return Err(if words.len() != 3 {
                        "wrong number of arguments".into()
                    } else {
                        "Invalid oom-score-adj-values, elements must be between -2000 and 2000."
                            .into()
                    });
                }
                Ok(words.join(" "))
            }
            "bind" => {
                if words.len() > 16 {
                    return Err("Too many bind addresses specified.".into());
                }
                Ok(words.join(" "))
            }
            "replicaof" => {
                if words.len() != 2 {
                    return Err("wrong number of arguments".into());
                }
                if words[0].eq_ignore_ascii_case("no") && words[1].eq_ignore_ascii_case("one") {
                    return Ok(String::new());
                }
                words[1]
                    .parse::<u16>()
                    .map_err(|_| "Invalid master port".to_string())?;
                Ok(words.join(" "))
            }
            "latency-tracking-info-percentiles" => {
                for w in &words {
                    let f: f64 = w.parse().map_err(|_| {
                        "Invalid latency-tracking-info-percentiles parameters".to_string()
                    })?;
                    if !(0.0..=100.0).contains(&f) {
                        return Err("Invalid latency-tracking-info-percentiles parameters".into());
                    }
                }
                // Canonical numbers, as Redis prints them: `50.0` -> `50`.
                Ok(words
                    .iter()
                    .map(|w| crate::util::fmt_double(w.parse().unwrap_or(0.0)))
                    .collect::<Vec<_>>()
                    .join(" "))
            }
            "proc-title-template" => {
                if !crate::proctitle::validate(v, self) {
                    return Err("template format is invalid or contains unknown variables".into());
                }
                Ok(v.to_string())
            }
            _ => Ok(v.to_string()),
        }
    }

    /// Sets one parameter from the file or the command line.
    pub fn set_from_file(&mut self, name: &str, args: &[String]) -> Result<(), String> {
        let lname = name.to_ascii_lowercase();
        if FILE_ONLY.contains(&lname.as_str()) {
            if lname == "rename-command" && args.len() == 2 {
                self.renamed
                    .insert(args[0].to_ascii_lowercase(), args[1].clone());
            }
            if lname == "user" && !args.is_empty() {
                let words: Vec<Vec<u8>> = args.iter().map(|a| a.as_bytes().to_vec()).collect();
                if self.users.iter().any(|u| u[0] == words[0]) {
                    return Err(format!(
                        "Error in user declaration '{}': {}",
                        args[0],
                        crate::acl::RuleError::Duplicate.text()
                    ));
                }
                crate::acl::validate_declaration(&words).map_err(|(bad, e)| {
                    format!(
                        "Error in user declaration '{}': {}",
                        String::from_utf8_lossy(&bad),
                        e.text()
                    )
                })?;
                self.users.push(words);
            }
            return Ok(());
        }
        let Some((i, param)) = self.param(&lname) else {
            return Err("Bad directive or wrong number of arguments".into());
        };
        // Multi-argument parameters take zero arguments to their own check:
        // enums (shutdown-on-sigint...) reject it, `save` alone (the suite's
        // `save ""` override) clears the save points, as in Redis.
        if args.is_empty() && param.flags & MULTI == 0 {
            return Err("wrong number of arguments".into());
        }
        // A repeated `save` line adds to the previous ones, as in Redis.
        let args: Vec<String> = if param.name == "save" && !self.save_from_file_started {
            args.to_vec()
        } else if param.name == "save" && !args.join("").is_empty() && !self.vals[i].is_empty() {
            let mut v = vec![self.vals[i].clone()];
            v.extend_from_slice(args);
            v
        } else {
            args.to_vec()
        };
        if param.name == "save" {
            self.save_from_file_started = true;
        }
        if param.flags & MULTI == 0 && !matches!(param.kind, Special | Str) && args.len() != 1 {
            return Err("wrong number of arguments".into());
        }
        let v = self.canonical(param, &args)?;
        self.vals[i] = v;
        self.refresh();
        Ok(())
    }

    /// CONFIG SET: all-or-nothing over several parameters. On error
    /// returns the full error message.
    pub fn set_many(&mut self, pairs: &[(String, String)]) -> Result<Vec<&'static str>, String> {
        let mut staged: Vec<(usize, String)> = Vec::new();
        for (name, val) in pairs {
            let Some((i, param)) = self.param(name) else {
                return Err(format!(
                    "ERR Unknown option or number of arguments for CONFIG SET - '{name}'"
                ));
            };
            let fail = |m: &str| {
                format!("ERR CONFIG SET failed (possibly related to argument '{name}') - {m}")
            };
            if staged.iter().any(|(j, _)| *j == i) {
                return Err(fail("duplicate parameter"));
            }
            if !param.mutable() {
                return Err(fail("can't set immutable config"));
            }
            if param.flags & PROTECTED != 0 && self.get("enable-protected-configs") == "no" {
                return Err(fail("can't set protected config"));
            }
            let args: Vec<String> = vec![val.clone()];
            let v = self.canonical(param, &args).map_err(|m| fail(&m))?;
            staged.push((i, v));
        }
        let mut changed = Vec::new();
        for (i, v) in staged {
            self.vals[i] = v;
            changed.push(PARAMS[i].name);
        }
        self.refresh();
        Ok(changed)
    }

    /// CONFIG GET: (name, value) pairs for every parameter matching one of
    /// the glob patterns, each once.
    pub fn get_matching(&self, patterns: &[Vec<u8>]) -> Vec<(&'static str, String)> {
        let mut out: Vec<(&'static str, String)> = Vec::new();
        for (i, p) in PARAMS.iter().enumerate() {
            for name in std::iter::once(p.name).chain(p.alias) {
                let hit = patterns.iter().any(|pat| {
                    let has_glob = pat.iter().any(|c| matches!(c, b'*' | b'?' | b'['));
                    if has_glob {
                        p.flags & HIDDEN == 0
                            // Aliases match patterns too, as in Redis.
                            && glob_match(pat, name.as_bytes(), true)
                    } else {
                        pat.eq_ignore_ascii_case(name.as_bytes())
                    }
                });
                if hit && !out.iter().any(|(n, _)| *n == name) {
                    out.push((name, self.vals[i].clone()));
                }
            }
        }
        out
    }

    /// Resets a parameter to its default (CONFIG SET rollback, tests).
    pub fn reset(&mut self, name: &str) {
        if let Some((i, p)) = self.param(name) {
            self.vals[i] = p.default.to_string();
            self.refresh();
        }
    }

    fn refresh(&mut self) {
        use std::sync::atomic::Ordering::Relaxed;
        crate::crash::HIDE_USER_DATA.store(self.bool("hide-user-data-from-log"), Relaxed);
        crate::crash::EXIT_ON_PANIC.store(self.bool("use-exit-on-panic"), Relaxed);
        // CONFIG SET watchdog-period takes effect now, not at the next cron.
        crate::crash::watchdog_tick(self.int("watchdog-period"), self.int("hz"));
        fn obuf_limits(v: &str) -> [(i64, i64, i64); 3] {
            let w: Vec<&str> = v.split_whitespace().collect();
            let mut out = [(0, 0, 0); 3];
            for ch in w.chunks(4) {
                let i = match ch[0] {
                    "normal" => 0,
                    "slave" => 1,
                    "pubsub" => 2,
                    _ => continue,
                };
                let n = |j: usize| ch.get(j).and_then(|x| x.parse().ok()).unwrap_or(0);
                out[i] = (n(1), n(2), n(3));
            }
            out
        }
        let h = Hot {
            hz: self.int("hz").clamp(1, 500),
            proto_max_bulk_len: self.int("proto-max-bulk-len"),
            client_query_buffer_limit: self.int("client-query-buffer-limit"),
            requirepass: Some(self.get("requirepass"))
                .filter(|s| !s.is_empty())
                .map(|s| s.as_bytes().to_vec()),
            maxclients: self.int("maxclients"),
            timeout: self.int("timeout"),
            databases: self.int("databases").max(1) as usize,
            active_expire_effort: self.int("active-expire-effort"),
            notify_flags: notify::parse(self.get("notify-keyspace-events")).unwrap_or(0),
            enable_debug: self.get("enable-debug-command").to_string(),
            maxmemory: self.int("maxmemory"),
            maxmemory_policy: crate::evict::Policy::parse(self.get("maxmemory-policy")),
            min_replicas_to_write: match self.int("min-replicas-max-lag") {
                0 => 0,
                _ => self.int("min-replicas-to-write"),
            },
            replica_serve_stale_data: self.bool("replica-serve-stale-data"),
            maxmemory_clients: crate::evict::clients_limit(
                self.get("maxmemory-clients"),
                self.int("maxmemory"),
            ),
            obuf_limits: obuf_limits(self.get("client-output-buffer-limit")),
            cluster_compat_ratio: self.int("cluster-compatibility-sample-ratio"),
            slowlog_slower_than: self.int("slowlog-log-slower-than"),
            slowlog_max_len: self.int("slowlog-max-len"),
            latency_threshold: self.int("latency-monitor-threshold"),
            lazyfree_user_del: self.bool("lazyfree-lazy-user-del"),
            lazyfree_user_flush: self.bool("lazyfree-lazy-user-flush"),
            lazyfree_lazy_expire: self.bool("lazyfree-lazy-expire"),
            latency_tracking: self.bool("latency-tracking"),
        };
        crate::evict::set_clock_params(
            h.maxmemory_policy.lfu(),
            self.int("lfu-log-factor"),
            self.int("lfu-decay-time"),
            h.maxmemory,
        );
        crate::db::NOTIFY_NEW.store(
            h.notify_flags & notify::NEW != 0,
            std::sync::atomic::Ordering::Relaxed,
        );
        self.hot = h;
        let lim = |n: &str| self.int(n).max(0) as usize;
        crate::types::set_limits(crate::types::Limits {
            hash_lp_entries: lim("hash-max-listpack-entries"),
            hash_lp_value: lim("hash-max-listpack-value"),
            set_intset_entries: lim("set-max-intset-entries"),
            set_lp_entries: lim("set-max-listpack-entries"),
            set_lp_value: lim("set-max-listpack-value"),
            zset_lp_entries: lim("zset-max-listpack-entries"),
            zset_lp_value: lim("zset-max-listpack-value"),
        });
        crate::types::list::set_fill(self.int("list-max-listpack-size"));
        crate::types::list::set_compress_depth(self.int("list-compress-depth"));
        crate::types::stream::set_node_limits(
            lim("stream-node-max-entries"),
            lim("stream-node-max-bytes"),
        );
    }

    /// Parses redis.conf text. `path` is used for `include` resolution and
    /// error messages. Errors carry (line number, line, reason).
    pub fn load_text(&mut self, text: &str, depth: usize) -> Result<(), (usize, String, String)> {
        for (n, line) in text.lines().enumerate() {
            let t = line.trim();
            if t.is_empty() || t.starts_with('#') {
                continue;
            }
            let Some(words) = crate::resp::parse::split_args(t.as_bytes()) else {
                return Err((
                    n + 1,
                    t.to_string(),
                    "Unbalanced quotes in configuration line".into(),
                ));
            };
            if words.is_empty() {
                continue;
            }
            let words: Vec<String> = words
                .into_iter()
                .map(|w| String::from_utf8_lossy(&w).into_owned())
                .collect();
            let name = words[0].to_ascii_lowercase();
            if name == "include" && words.len() == 2 {
                if depth > 10 {
                    return Err((n + 1, t.to_string(), "Too many nested includes".into()));
                }
                let inc = std::fs::read_to_string(&words[1]).map_err(|e| {
                    (
                        n + 1,
                        t.to_string(),
                        format!("Can't open include file: {e}"),
                    )
                })?;
                self.load_text(&inc, depth + 1)?;
                continue;
            }
            self.set_from_file(&name, &words[1..])
                .map_err(|e| (n + 1, t.to_string(), e))?;
        }
        Ok(())
    }

    pub fn is_sensitive(&self, name: &str) -> bool {
        self.param(name)
            .map(|(_, p)| p.flags & SENSITIVE != 0)
            .unwrap_or(false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_syntax() {
        let mut c = Config::new();
        c.load_text(
            "port 7000\nsave ''\nloglevel verbose\n# comment\nlogfile \"\"\nmaxmemory 1gb\n",
            0,
        )
        .unwrap();
        assert_eq!(c.get("port"), "7000");
        assert_eq!(c.get("save"), "");
        assert_eq!(c.get("maxmemory"), "1073741824");
        let e = c.load_text("port 7000\nnosuchthing 1\n", 0).unwrap_err();
        assert_eq!(e.0, 2);
        assert!(c.load_text("port abc\n", 0).is_err());
        assert!(c.load_text("appendonly maybe\n", 0).is_err());
    }

    #[test]
    fn config_set_is_atomic() {
        let mut c = Config::new();
        let r = c.set_many(&[
            ("hz".into(), "20".into()),
            ("maxmemory-policy".into(), "bogus".into()),
        ]);
        assert!(r.unwrap_err().contains("maxmemory-policy"));
        assert_eq!(c.get("hz"), "10");
        c.set_many(&[("hz".into(), "20".into())]).unwrap();
        assert_eq!(c.hot.hz, 20);
        assert!(
            c.set_many(&[("daemonize".into(), "yes".into())])
                .unwrap_err()
                .contains("immutable")
        );
    }

    #[test]
    fn notify_flags_roundtrip() {
        assert_eq!(notify::format(notify::parse("KEA").unwrap()), "AKE");
        assert_eq!(notify::format(notify::parse("Ex").unwrap()), "xE");
    }
}
