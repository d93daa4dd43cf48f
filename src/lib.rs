//! redis-rust: a Redis-compatible server.
//!
//! # Architecture
//! One thread owns everything. `server` runs a mio reactor: it accepts
//! connections (`client`), reads their query buffers, parses requests
//! (`resp::parse`), and hands each command to `command::call`, which looks
//! it up in the command table (`command::table`, built from the family
//! tables in `commands/*`; `command::docs` adds what COMMAND DOCS reports,
//! `command::keyspecs` the key specs of COMMAND INFO and GETKEYSANDFLAGS),
//! checks arity and gates, and runs the handler.
//! Handlers work on the keyspace (`db`) through a `command::Ctx` and write
//! replies through `resp::ReplyBuf`, which speaks RESP2 and RESP3. The cron
//! in `server` does active expiry and housekeeping. `config` is the single
//! table of parameters behind redis.conf and CONFIG GET/SET; `logging` writes
//! Redis's log format; `alloc` counts allocated bytes for INFO memory, and
//! `evict` keeps that figure under `maxmemory` (key and client eviction,
//! LRU/LFU object clocks). `notify` tells a systemd supervisor how
//! startup, reloads and shutdown go.

pub mod acl;
pub mod alloc;
pub mod blocking;
pub mod check;
pub mod client;
pub mod cluster;
pub mod command;
pub mod commands;
pub mod config;
pub mod crash;
pub mod db;
pub mod evict;
pub mod instant;
pub mod latency;
pub mod logging;
pub mod longdouble;
pub mod notify;
pub mod oom;
pub mod pause;
pub mod persist;
pub mod proctitle;
pub mod pubsub;
pub mod repl;
pub mod replica;
pub mod resp;
pub mod script;
pub mod server;
pub mod slowlog;
pub mod tracking;
pub mod types;
pub mod util;

/// The Redis version we are compatible with and report.
pub const REDIS_VERSION: &str = "8.0.6";
