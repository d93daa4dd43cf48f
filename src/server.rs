//! The reactor: one mio `Poll` on the main thread owns every client and the
//! whole keyspace. Readiness events drive reads, command execution and
//! writes; the cron (`hz` times a second) runs active expiry, client
//! timeouts and housekeeping.
//!
//! Tokens: listeners take the first slots below `CLIENT_BASE`, the signal
//! pipe has `SIGNALS`; a client's token is `CLIENT_BASE + slab key`.

mod cron;
mod input;

use crate::client::{Client, Conn, ReplyMode};
use crate::command::table::CommandTable;
use crate::config::Config;
use crate::db::Db;
use crate::resp::parse::Limits;
use crate::util::{Rng, now_ms};
use mio::net::{TcpListener, UnixListener};
use mio::{Events, Interest, Poll, Token};
use slab::Slab;
use std::collections::HashMap;
use std::io;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

pub static IS_REPLICA: AtomicBool = AtomicBool::new(false);

const SIGNALS: Token = Token(0);
const LISTENER_BASE: usize = 1;
pub const CLIENT_BASE: usize = 64;
/// Redis's REPLY_BUFFER_DEFAULT_PEAK_RESET_TIME.
pub const REPLY_PEAK_RESET_MS: i64 = 5000;

#[derive(Default, Debug, Clone)]
pub struct Stats {
    pub connections_received: u64,
    pub commands_processed: u64,
    pub rejected_conn: u64,
    pub expired_keys: u64,
    pub expired_subkeys: u64,
    pub expired_stale_perc: f64,
    pub expire_cycle_time_used_us: u64,
    pub evicted_keys: u64,
    pub keyspace_hits: u64,
    pub keyspace_misses: u64,
    pub net_input_bytes: u64,
    pub net_output_bytes: u64,
    pub total_error_replies: u64,
    pub unexpected_error_replies: u64,
    pub client_qbuf_limit_disconnections: u64,
    pub client_outbuf_limit_disconnections: u64,
    pub reply_buffer_shrinks: u64,
    pub reply_buffer_expands: u64,
    pub io_reads: u64,
    pub io_writes: u64,
    /// Operations a cluster would refuse (cross-slot keys, other dbs):
    /// Redis 8's cluster-compatibility-sample-ratio report.
    pub cluster_incompatible_ops: u64,
    /// Event loop turns, their total and longest duration (µs), the part
    /// spent in commands and in the cron, the most commands in one turn.
    pub el_cycles: u64,
    pub el_duration_us: u64,
    pub el_duration_max_us: u64,
    pub el_cmd_us: u64,
    pub el_cron_us: u64,
    pub el_cmd_per_cycle_max: u64,
}

#[derive(Default, Debug, Clone)]
pub struct CmdStat {
    /// Full name (`client|list` for a subcommand).
    pub name: String,
    pub calls: u64,
    pub usec: u64,
    pub rejected: u64,
    pub failed: u64,
    /// Per-call latency, for INFO latencystats.
    pub latency: crate::commands::introspection::LatencyHist,
}

/// The `cmdstats` key of a command table row.
pub fn stat_key(spec: &'static crate::command::CommandSpec) -> usize {
    spec as *const crate::command::CommandSpec as usize
}

/// Work a command asks the server to do for other clients, applied after
/// the command returns (the current client is not in the slab meanwhile).
#[derive(Default)]
pub struct Pending {
    pub kill_ids: Vec<u64>,
    /// REPLICAOF asked for: Some(None) is NO ONE.
    pub replicaof: Option<Option<(String, u16)>>,
    /// CLIENT UNBLOCK requests: (client id, reply with an error).
    pub unblock: Vec<(u64, bool)>,
    /// New TCP listeners bound by CONFIG SET port/bind, to replace the
    /// current ones.
    pub listeners: Option<Vec<TcpListener>>,
}

/// Progress of a load, for INFO's loading_* fields.
#[derive(Clone, Copy, Debug)]
pub struct Loading {
    pub start_ms: i64,
    pub total_bytes: usize,
    pub loaded_bytes: usize,
}

#[derive(Clone, Copy, Debug, Default)]
pub struct ShutdownFlags {
    /// The client whose SHUTDOWN this is: it gets the error if the
    /// shutdown fails.
    pub client: Option<usize>,
    pub nosave: bool,
    pub save: bool,
    pub now: bool,
    pub force: bool,
}

/// Everything commands may touch, apart from the clients.
pub struct State {
    pub dbs: Vec<Db>,
    pub cfg: Config,
    pub stats: Stats,
    /// Per-command statistics, keyed by the address of the command's
    /// static table row (`stat_key`): a multiply to hash, no string.
    pub cmdstats: crate::util::FxHashMap<usize, CmdStat>,
    pub errstats: HashMap<String, u64>,
    /// False once scripts made up more error codes than errorstats keeps.
    pub errstats_enabled: bool,
    pub commands: CommandTable,
    /// Time of the command being executed, fixed for its whole run.
    pub now_ms: i64,
    pub start_ms: i64,
    pub rng: Rng,
    pub dirty: u64,
    pub lastsave: i64,
    pub next_client_id: u64,
    pub pending: Pending,
    pub oom: crate::oom::OomScore,
    pub slowlog: crate::slowlog::SlowLog,
    pub acl: crate::acl::Acl,
    pub latency: crate::latency::Monitor,
    pub metrics: crate::instant::Metrics,
    pub migrate: crate::commands::migrate::Cache,
    pub active_expire: bool,
    pub shutdown: Option<ShutdownFlags>,
    pub monitors: Vec<usize>,
    pub cron_paused: bool,
    /// DEBUG REPLYBUFFER: how often a client's reply-buffer peak restarts
    /// (ms, -1 never; Redis's 5 s by default) and whether the clients cron
    /// resizes reply buffers at all.
    pub reply_peak_reset_ms: i64,
    pub reply_resizing: bool,
    /// Cluster-compatibility sampling of the running top-level command.
    pub compat: crate::commands::cluster::CompatCheck,
    /// A signal asked for a shutdown; the cron performs it.
    pub shutdown_asap: Option<ShutdownFlags>,
    pub cronloops: u64,
    pub pid: u32,
    pub run_id: String,
    pub port: u16,
    pub executable: String,
    pub config_file: String,
    pub tcp_port_bound: u16,
    pub is_replica: bool,
    /// The link to our master, when we are a replica.
    pub master: Option<crate::replica::MasterLink>,
    /// Where the link to the master stopped (replication ID, offset
    /// applied, selected db): the reconnect asks to continue from there.
    pub cached_master: Option<(String, i64, usize)>,
    pub clients_count: usize,
    pub stat_peak_memory: usize,
    /// used_memory once the server was set up, before any data.
    pub startup_memory: usize,
    pub blocked_clients: usize,
    pub repl: crate::repl::ReplState,
    /// WATCHed keys: (db, key) -> ids of the watching clients.
    pub watched_keys: HashMap<(usize, Vec<u8>), Vec<u64>>,
    /// Clients whose watched keys changed: their EXEC fails.
    pub cas_dirty: std::collections::HashSet<u64>,
    /// WATCHes of keys already logically expired when watched (client id,
    /// db, key): their deletion by expiry is no change.
    pub watch_stale: std::collections::HashSet<(u64, usize, Vec<u8>)>,
    /// Running the commands of an EXEC.
    pub in_exec: bool,
    /// Values and keyspaces to free once the turn's replies are out.
    pub lazyfree: crate::db::lazyfree::LazyFree,
    /// A lookup expired a key (queued in its Db's `expired_keys`): the
    /// replication stream must get its DEL before the command.
    pub expired_pending: bool,
    /// On a replica: keys its own clients wrote with a TTL, which it must
    /// expire itself (Redis's slaveKeysWithExpire).
    pub replica_expiring: std::collections::HashSet<(usize, Vec<u8>)>,
    /// Whether the last SAVE or BGSAVE succeeded (INFO
    /// rdb_last_bgsave_status; writes are refused while it is false and
    /// stop-writes-on-bgsave-error is on).
    pub last_save_ok: bool,
    /// The background save or AOF rewrite in progress.
    pub snapshot: Option<Box<crate::persist::snapshot::Snapshot>>,
    /// The startup load in progress (commands without the `loading` flag
    /// get -LOADING meanwhile).
    pub loading: Option<Loading>,
    pub bgsave: crate::persist::BgStats,
    /// The append-only file.
    pub aof: crate::persist::aof::Aof,
    pub blocking: crate::blocking::BlockState,
    pub pubsub: crate::pubsub::PubSub,
    /// Client-side caching tables and pending invalidations.
    pub tracking: crate::tracking::Tracking,
    /// CLIENT PAUSE state and the clients it parked.
    pub pause: crate::pause::Pause,
    /// This node's cluster state, in cluster mode (`cluster-enabled yes`).
    pub cluster: Option<Box<crate::cluster::Cluster>>,
    /// maxmemory: eviction pool, time proc, client eviction stats.
    pub evict: crate::evict::Evict,
    /// Lua scripting: VMs, script cache, function libraries.
    pub scripts: crate::script::Scripts,
}

impl State {
    /// Whether lazy expiry deletes keys (masters) or only hides them
    /// (replicas, which wait for the master's DEL).
    pub fn expire_deletes(&self) -> bool {
        // CLIENT PAUSE freezes the dataset: expired keys are hidden, not
        // deleted, until the pause ends.
        !self.is_replica && !self.pause.active()
    }

    /// A key changed: clients WATCHing it will see their EXEC fail, and
    /// its INFO keysizes bin follows its new size.
    pub fn key_modified(&mut self, db: usize, key: &[u8]) {
        self.dbs[db].refresh_size(key);
        // A key created or replaced by any path (RENAME, MOVE, COPY,
        // RESTORE...) may serve a blocked client, as dbAdd does in Redis.
        self.blocking.signal(db, key);
        let by = self.tracking.current;
        self.tracking.invalidate(key, by);
        if self.watched_keys.is_empty() {
            return;
        }
        if let Some(ids) = self.watched_keys.get(&(db, key.to_vec())) {
            self.cas_dirty.extend(ids.iter().copied());
        }
    }

    /// Every watched key of `db` that exists (or, with `other`, exists in
    /// that db too) is touched: FLUSHDB, FLUSHALL, SWAPDB.
    pub fn touch_watched_in_db(&mut self, db: usize, other: Option<usize>) {
        self.blocking.signal_db(db);
        if let Some(o) = other {
            self.blocking.signal_db(o);
        }
        if self.watched_keys.is_empty() {
            return;
        }
        let now = self.now_ms;
        for ((d, k), ids) in &self.watched_keys {
            if *d != db {
                continue;
            }
            let exists = self.dbs[db].exists(k, now)
                || other.map(|o| self.dbs[o].exists(k, now)).unwrap_or(false);
            if exists {
                self.cas_dirty.extend(ids.iter().copied());
            }
        }
    }

    /// Drops all of `c`'s WATCHes (EXEC, DISCARD, UNWATCH, disconnect).
    pub fn unwatch_all(&mut self, c: &mut Client) {
        for (db, k) in c.watched.drain(..) {
            let key = (db, k.to_vec());
            if let Some(ids) = self.watched_keys.get_mut(&key) {
                ids.retain(|&i| i != c.id);
                if ids.is_empty() {
                    self.watched_keys.remove(&key);
                }
            }
        }
        self.cas_dirty.remove(&c.id);
        if !self.watch_stale.is_empty() {
            self.watch_stale.retain(|(id, _, _)| *id != c.id);
        }
    }

    /// Keyspace notification hook; delivery arrives with pub/sub.
    pub fn notify(&mut self, class: u32, event: &str, key: &[u8], db: usize) {
        use crate::config::notify as n;
        let flags = self.cfg.hot.notify_flags;
        // A key created by this write is announced before the write.
        if flags & n::NEW != 0 && class != n::NEW {
            crate::pubsub::notify_new_keys(self);
        }
        if flags & class == 0 || self.pubsub.idle() {
            return;
        }
        if flags & n::KEYSPACE != 0 {
            let mut ch = format!("__keyspace@{db}__:").into_bytes();
            ch.extend_from_slice(key);
            self.pubsub.publish(&ch, event.as_bytes());
        }
        if flags & n::KEYEVENT != 0 {
            let ch = format!("__keyevent@{db}__:{event}").into_bytes();
            self.pubsub.publish(&ch, key);
        }
    }

    /// Drops every subscription of `c` (RESET, disconnect).
    pub fn unsubscribe_all(&mut self, c: &mut Client) {
        use crate::pubsub::Table;
        for ch in c.subs.drain() {
            self.pubsub.remove(Table::Channel, &ch, c.token);
        }
        for p in c.psubs.drain() {
            self.pubsub.remove(Table::Pattern, &p, c.token);
        }
        for s in c.ssubs.drain() {
            self.pubsub.remove(Table::Shard, &s, c.token);
        }
    }

    /// The statistics of command `spec` (full name `name`).
    pub fn cmdstat(
        &mut self,
        spec: &'static crate::command::CommandSpec,
        name: &str,
    ) -> &mut CmdStat {
        self.cmdstats
            .entry(stat_key(spec))
            .or_insert_with(|| CmdStat {
                name: name.to_string(),
                ..Default::default()
            })
    }

    /// Lazily expires `key` in `db` if its time has come (a replica only
    /// hides it), counting and notifying as a lookup would. True when the
    /// key is (logically) expired.
    pub fn expire_if_due(&mut self, db: usize, key: &[u8]) -> bool {
        // Nothing expires while loading (the AOF may set a past expire
        // time and then write the key again).
        if self.loading.is_some() {
            return false;
        }
        let deleting = self.expire_deletes();
        if !self.dbs[db].expire_if_needed(key, self.now_ms, deleting) {
            return false;
        }
        if deleting {
            self.stats.expired_keys += 1;
            self.expired_pending = true;
            self.notify(crate::config::notify::EXPIRED, "expired", key, db);
        }
        true
    }

    /// Finds `key` in `db`, expiring it first if due. `read` counts
    /// keyspace hits and misses; `touch` updates the access clock.
    pub fn lookup(
        &mut self,
        db: usize,
        key: &[u8],
        read: bool,
        touch: bool,
    ) -> Option<&mut crate::db::Obj> {
        self.lookup_notify(db, key, read, touch, read)
    }

    /// `lookup`, where `keymiss` says whether a miss fires the `keymiss`
    /// keyspace event: Redis fires it for every read lookup but OBJECT's
    /// and SCAN's type filter (LOOKUP_NONOTIFY), never for writes.
    pub fn lookup_notify(
        &mut self,
        db: usize,
        key: &[u8],
        read: bool,
        touch: bool,
        keymiss: bool,
    ) -> Option<&mut crate::db::Obj> {
        let keymiss = keymiss && self.cfg.hot.notify_flags & crate::config::notify::KEY_MISS != 0;
        // Only with keymiss events on does a miss cost a second probe.
        if self.expire_if_due(db, key) || (keymiss && !self.dbs[db].keys.contains(key)) {
            if read {
                self.stats.keyspace_misses += 1;
            }
            if keymiss {
                self.notify(crate::config::notify::KEY_MISS, "keymiss", key, db);
            }
            return None;
        }
        match self.dbs[db].keys.get_mut(key) {
            Some(o) => {
                if touch {
                    crate::evict::touch(&mut o.lru);
                }
                if read {
                    self.stats.keyspace_hits += 1;
                }
                Some(o)
            }
            None => {
                if read {
                    self.stats.keyspace_misses += 1;
                }
                None
            }
        }
    }

    pub fn uptime_secs(&self) -> i64 {
        (now_ms() - self.start_ms) / 1000
    }

    pub fn flushall(&mut self) {
        self.flushall_as(false);
    }

    /// FLUSHALL; `lazy`: the values are freed after the turn's replies
    /// (db/lazyfree.rs).
    pub fn flushall_as(&mut self, lazy: bool) {
        for i in 0..self.dbs.len() {
            self.touch_watched_in_db(i, None);
        }
        self.tracking.flush();
        for db in &mut self.dbs {
            if lazy {
                self.lazyfree.keyspace(db.take_keys());
            } else {
                db.flush();
            }
        }
    }
}

enum Listener {
    Tcp(TcpListener),
    Unix(UnixListener, String),
}

pub struct Server {
    pub(crate) poll: Poll,
    listeners: Vec<Listener>,
    pub clients: Slab<Option<Box<Client>>>,
    pub st: State,
    signals: signal_hook_mio::v1_0::Signals,
    next_cron: i64,
    /// Clients to read again without waiting for readiness (edge-triggered
    /// polling reports data only once).
    pending_reads: Vec<usize>,
    /// The master link became ready while a busy script or a load held the
    /// loop, which leaves it alone: edge-triggered polling will not report
    /// it again, so the main loop serves it on its next turn.
    master_link_missed: bool,
    /// Clients with output to write at the end of the loop's turn: their
    /// own replies and what other clients' commands sent them (pub/sub).
    pending_writes: Vec<usize>,
    /// The query buffer clients read into when they have none of their
    /// own (server/input.rs); None while one is reading into it.
    reusable_qbuf: Option<Vec<u8>>,
    /// Where the clients cron goes on next (a slab key).
    clients_cron_cursor: usize,
}

thread_local! {
    /// The running server, for `process_events_while_busy`.
    static BUSY_SERVER: std::cell::Cell<*mut Server> = const { std::cell::Cell::new(std::ptr::null_mut()) };
}

/// Serves other clients while a script runs past busy-reply-threshold
/// (Redis's `processEventsWhileBlocked`): they get -BUSY except for the
/// commands flagged allow-busy (SCRIPT KILL, FUNCTION KILL, SHUTDOWN...).
/// Called from the script engine's instruction hook.
pub fn process_events_while_busy() {
    let p = BUSY_SERVER.with(|s| s.get());
    if p.is_null() {
        return;
    }
    // SAFETY: the server lives for the whole of `run`, on this thread; the
    // script's caller is out of the client slab while it runs, and the
    // frames below only resume once this returns.
    let srv = unsafe { &mut *p };
    srv.busy_turn();
}

impl Server {
    /// Loads the RDB file before the event loop starts, serving clients
    /// every `loading-process-events-interval-bytes` (with -LOADING for
    /// what cannot run yet), as Redis's startup load does. The keys go
    /// into fresh databases that replace `st.dbs` at the end, so commands
    /// served meanwhile (INFO) see an empty keyspace, never a half-built
    /// one.
    pub fn load_at_startup(&mut self) -> Result<usize, String> {
        let Some(data) = crate::persist::read_rdb(&self.st)? else {
            return Ok(0);
        };
        let interval = self
            .st
            .cfg
            .int("loading-process-events-interval-bytes")
            .max(1024) as usize;
        let delay = self.st.cfg.int("key-load-delay");
        let max = self.st.cfg.hot.proto_max_bulk_len.max(0) as u64;
        let mut dbs: Vec<Db> = (0..self.st.dbs.len()).map(Db::new).collect();
        if self.st.dbs[0].slots.is_some() {
            dbs[0].enable_slot_index();
        }
        self.st.loading = Some(Loading {
            start_ms: now_ms(),
            total_bytes: data.len(),
            loaded_bytes: 0,
        });
        let mut out = crate::persist::Loaded::default();
        let mut next = interval;
        let mut rng = crate::util::Rng::new();
        let mut status = crate::notify::LoadStatus::new("keys");
        let mut keys = 0u64;
        let total = data.len();
        out.result = crate::persist::rdb::load_progress(
            &data,
            &mut dbs,
            now_ms(),
            max,
            &mut out.libs,
            &mut out.expired,
            &mut |pos| {
                crate::util::debug_delay(delay, &mut rng);
                keys += 1;
                status.update(keys, pos, total);
                if pos >= next {
                    next = pos + interval;
                    if let Some(l) = self.st.loading.as_mut() {
                        l.loaded_bytes = pos;
                    }
                    self.busy_turn();
                }
            },
        )
        .map_err(|e| e.0);
        self.st.loading = None;
        self.st.dbs = dbs;
        crate::persist::install(&mut self.st, out, true, false)
    }

    /// Loads the AOF at startup (when `appendonly` is on; false otherwise)
    /// serving clients every so often meanwhile, as Redis's
    /// `processEventsWhileBlocked` does: they get -LOADING except for the
    /// commands flagged `loading` (INFO, CONFIG...).
    pub fn load_aof_on_start(&mut self) -> bool {
        BUSY_SERVER.with(|p| p.set(self as *mut Server));
        // The loader's commands see no other clients (none are its
        // business), so the client slab is not borrowed while it grows.
        let none = Slab::new();
        let st: *mut State = &mut self.st;
        // SAFETY: as for a busy script (`process_events_while_busy`): the
        // loader's frames only resume once a busy turn returns.
        let r = crate::persist::aof::load_on_start(unsafe { &mut *st }, &none);
        BUSY_SERVER.with(|p| p.set(std::ptr::null_mut()));
        r
    }

    fn busy_turn(&mut self) {
        let mut events = Events::with_capacity(256);
        if self.poll.poll(&mut events, Some(Duration::ZERO)).is_err() {
            return;
        }
        for ev in events.iter() {
            let t = ev.token().0;
            if ev.token() == SIGNALS {
                self.handle_signals();
                // No cron runs while a script or a load holds the loop.
                if let Some(f) = self.st.shutdown_asap.take() {
                    self.st.shutdown = Some(f);
                }
            } else if ev.token() == crate::replica::MASTER_LINK {
                self.master_link_missed = true;
                continue;
            } else if t < CLIENT_BASE {
                self.accept(t - LISTENER_BASE);
            } else {
                let key = t - CLIENT_BASE;
                // The script's own client: read it once the script is done.
                if matches!(self.clients.get(key), Some(None)) {
                    if !self.pending_reads.contains(&key) {
                        self.pending_reads.push(key);
                    }
                    continue;
                }
                if ev.is_readable() || ev.is_read_closed() || ev.is_error() {
                    self.handle_readable(key);
                    if ev.is_read_closed() || ev.is_error() {
                        self.reread_after_hangup(key);
                    }
                }
                if ev.is_writable() {
                    self.handle_writable(key);
                }
            }
            if self.st.shutdown.is_some() && self.try_shutdown() {
                std::process::exit(0);
            }
        }
        // Readiness the main loop polled before the script started is not
        // reported again (edge-triggered): try every other client too.
        let keys: Vec<usize> = self
            .clients
            .iter()
            .filter(|(_, c)| c.as_ref().is_some_and(|c| !c.replica && !c.is_master))
            .map(|(k, _)| k)
            .collect();
        for key in keys {
            self.handle_readable(key);
            if self.st.shutdown.is_some() && self.try_shutdown() {
                std::process::exit(0);
            }
        }
        // The main loop's turn is on hold: send the -BUSY replies now.
        self.flush_pending_writes();
    }
}

fn bind_addrs(cfg: &Config) -> Vec<String> {
    cfg.get("bind")
        .split_whitespace()
        .map(String::from)
        .collect()
}

/// The TCP listening sockets `port` and `bind` ask for (none with port 0).
/// A `-` before an address makes it optional: skipped if unavailable.
pub fn tcp_listeners(cfg: &Config) -> io::Result<Vec<TcpListener>> {
    let mut listeners = Vec::new();
    let port = cfg.int("port") as u16;
    if port != 0 {
        for a in bind_addrs(cfg) {
            let optional = a.starts_with('-');
            let host = a.trim_start_matches('-');
            let host = if host == "*" {
                "0.0.0.0"
            } else if host == "::*" {
                "::"
            } else {
                host
            };
            let sa: std::net::SocketAddr = match host.parse::<std::net::IpAddr>() {
                Ok(ip) => std::net::SocketAddr::new(ip, port),
                Err(_) => {
                    log::warn!(
                        "Warning: Could not create server TCP listening socket {}:{}: bad address",
                        host,
                        port
                    );
                    if optional {
                        continue;
                    }
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidInput,
                        "bad bind address",
                    ));
                }
            };
            match bind_tcp(sa, cfg.int("tcp-backlog") as i32) {
                Ok(l) => listeners.push(l),
                Err(e) => {
                    if optional
                        && (e.kind() == io::ErrorKind::AddrNotAvailable
                            || e.raw_os_error() == Some(libc::EAFNOSUPPORT))
                    {
                        continue;
                    }
                    log::warn!(
                        "Warning: Could not create server TCP listening socket {}:{}: {}",
                        host,
                        port,
                        crate::util::os_error_text(&e)
                    );
                    return Err(e);
                }
            }
        }
    }
    Ok(listeners)
}

impl Server {
    pub fn new(cfg: Config, executable: String) -> io::Result<Server> {
        let poll = Poll::new()?;
        let port = cfg.int("port") as u16;
        let mut listeners: Vec<Listener> = tcp_listeners(&cfg)
            .inspect_err(|_| {
                log::warn!(
                    "Failed listening on port {} (tcp), aborting.",
                    cfg.int("port")
                )
            })?
            .into_iter()
            .map(Listener::Tcp)
            .collect();
        let us = cfg.get("unixsocket").to_string();
        if !us.is_empty() {
            let _ = std::fs::remove_file(&us);
            let l = UnixListener::bind(&us)?;
            let perm = i64::from_str_radix(cfg.get("unixsocketperm"), 8).unwrap_or(0);
            if perm != 0 {
                use std::os::unix::fs::PermissionsExt;
                let _ = std::fs::set_permissions(&us, std::fs::Permissions::from_mode(perm as u32));
            }
            listeners.push(Listener::Unix(l, us));
        }
        for (i, l) in listeners.iter_mut().enumerate() {
            let tok = Token(LISTENER_BASE + i);
            match l {
                Listener::Tcp(t) => poll.registry().register(t, tok, Interest::READABLE)?,
                Listener::Unix(u, _) => poll.registry().register(u, tok, Interest::READABLE)?,
            }
        }
        let mut signals = signal_hook_mio::v1_0::Signals::new([
            signal_hook::consts::SIGTERM,
            signal_hook::consts::SIGINT,
        ])?;
        poll.registry()
            .register(&mut signals, SIGNALS, Interest::READABLE)?;
        // Cluster mode has a single database, indexed by hash slot.
        let cluster = if cfg.bool("cluster-enabled") {
            let c = crate::cluster::Cluster::init(&cfg, port).map_err(io::Error::other)?;
            Some(Box::new(c))
        } else {
            None
        };
        let ndbs = if cluster.is_some() {
            1
        } else {
            cfg.hot.databases
        };
        let mut dbs: Vec<Db> = (0..ndbs).map(Db::new).collect();
        if cluster.is_some() {
            dbs[0].enable_slot_index();
        }
        let now = now_ms();
        let mut st = State {
            dbs,
            stats: Stats::default(),
            cmdstats: Default::default(),
            errstats: HashMap::new(),
            errstats_enabled: true,
            commands: CommandTable::new(&cfg),
            now_ms: now,
            start_ms: now,
            rng: Rng::new(),
            dirty: 0,
            lastsave: now / 1000,
            next_client_id: 1,
            pending: Pending::default(),
            oom: Default::default(),
            slowlog: Default::default(),
            acl: Default::default(),
            latency: Default::default(),
            metrics: Default::default(),
            migrate: Default::default(),
            active_expire: true,
            shutdown: None,
            monitors: Vec::new(),
            cron_paused: false,
            reply_peak_reset_ms: REPLY_PEAK_RESET_MS,
            reply_resizing: true,
            shutdown_asap: None,
            compat: Default::default(),
            cronloops: 0,
            pid: std::process::id(),
            run_id: random_hex(40),
            port,
            executable,
            config_file: cfg.file.clone().unwrap_or_default(),
            tcp_port_bound: port,
            is_replica: false,
            master: None,
            cached_master: None,
            clients_count: 0,
            stat_peak_memory: 0,
            startup_memory: 0,
            blocked_clients: 0,
            repl: crate::repl::ReplState::new(),
            watched_keys: HashMap::new(),
            cas_dirty: Default::default(),
            watch_stale: Default::default(),
            in_exec: false,
            lazyfree: Default::default(),
            scripts: Default::default(),
            expired_pending: false,
            replica_expiring: Default::default(),
            last_save_ok: true,
            snapshot: None,
            loading: None,
            bgsave: Default::default(),
            aof: Default::default(),
            blocking: Default::default(),
            pubsub: Default::default(),
            tracking: Default::default(),
            pause: Default::default(),
            cluster,
            evict: Default::default(),
            cfg,
        };
        st.startup_memory = crate::alloc::used_memory();
        Ok(Server {
            poll,
            listeners,
            clients: Slab::new(),
            st,
            signals,
            next_cron: now,
            pending_reads: Vec::new(),
            pending_writes: Vec::new(),
            master_link_missed: false,
            reusable_qbuf: Some(Vec::new()),
            clients_cron_cursor: 0,
        })
    }

    /// Runs until SHUTDOWN or a signal.
    pub fn run(&mut self) -> io::Result<()> {
        let mut events = Events::with_capacity(1024);
        BUSY_SERVER.with(|p| p.set(self as *mut Server));
        loop {
            // Redis's beforeSleep: BCAST invalidations collected this turn.
            if self.st.tracking.has_broadcasts() {
                self.st.tracking.broadcast();
                self.deliver_invalidations(None);
            }
            // The AOF is written before any reply goes out (Redis's
            // flushAppendOnlyFile in beforeSleep).
            if !self.st.repl.out.is_empty() {
                self.feed_replicas(usize::MAX);
            }
            // Not while paused: the request would move the offset the
            // paused clients are waiting on (Redis waits for the unpause).
            if self.st.repl.get_ack && !self.st.pause.active() {
                self.st.repl.get_ack = false;
                self.send_to_replicas(&[b"REPLCONF", b"GETACK", b"*"]);
            }
            crate::persist::aof::before_sleep(&mut self.st);
            if self.st.blocking.acked && self.st.scripts.running.is_none() {
                self.serve_waiters();
                self.feed_replicas(usize::MAX);
            }
            // Messages from the cron, timers or the last events.
            self.flush_pending_writes();
            // Then clients over maxmemory-clients go (Redis's beforeSleep),
            // all measured again when the limit was just turned on.
            if self.st.cfg.hot.maxmemory_clients != self.st.evict.clients.limit_seen {
                crate::evict::recount_clients(self);
            }
            if self.st.cfg.hot.maxmemory_clients != 0 {
                crate::evict::evict_clients(self, None);
            }
            if !self.st.lazyfree.is_idle() {
                self.st.lazyfree.run();
            }
            let now = now_ms();
            // An ACK, a CONFIG SET of min-replicas-* or the cron asked:
            // recounted before the next write can be checked against it.
            if std::mem::take(&mut self.st.repl.recount_good) {
                self.refresh_good_replicas(now);
            }
            let mut wake = match self.st.blocking.next_deadline() {
                Some(d) => d.min(self.next_cron),
                None => self.next_cron,
            };
            if let Some(d) = self.st.pause.deadline() {
                wake = wake.min(d);
            }
            let timeout = if self.pending_reads.is_empty()
                && !self.st.evict.proc_pending
                && !crate::persist::snapshot::wants_cpu(&self.st)
            {
                let t = (wake - now).clamp(0, 1000) as u64;
                // The save thread's result is checked every turn.
                if self.st.snapshot.is_some() {
                    t.min(10)
                } else {
                    t
                }
            } else {
                0
            };
            match self
                .poll
                .poll(&mut events, Some(Duration::from_millis(timeout)))
            {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
            let turn_start = crate::util::now_us();
            let commands_before = self.st.stats.commands_processed;
            for ev in events.iter() {
                let t = ev.token().0;
                if ev.token() == SIGNALS {
                    self.handle_signals();
                } else if ev.token() == crate::replica::MASTER_LINK {
                    self.handle_master_link();
                } else if t < CLIENT_BASE {
                    self.accept(t - LISTENER_BASE);
                } else {
                    let key = t - CLIENT_BASE;
                    if ev.is_readable() || ev.is_read_closed() || ev.is_error() {
                        self.handle_readable(key);
                        if ev.is_read_closed() || ev.is_error() {
                            self.reread_after_hangup(key);
                        }
                    }
                    if ev.is_writable() {
                        self.handle_writable(key);
                    }
                }
                if self.st.shutdown.is_some() {
                    if self.try_shutdown() {
                        return Ok(());
                    }
                    // Not going ahead: a later SIGINT starts over.
                    crate::crash::SHUTDOWN_ASAP.store(false, std::sync::atomic::Ordering::SeqCst);
                }
            }
            if self.st.evict.proc_pending {
                crate::evict::time_proc(&mut self.st, &self.clients);
                self.feed_replicas(usize::MAX);
                self.deliver_messages(None);
                self.deliver_invalidations(None);
            }
            self.st.pause.update(now_ms());
            if self.st.pause.resume {
                self.resume_postponed();
            }
            if std::mem::take(&mut self.master_link_missed) {
                self.handle_master_link();
            }
            for key in std::mem::take(&mut self.pending_reads) {
                self.handle_readable(key);
            }
            if !self.st.blocking.timeouts.is_empty() {
                self.handle_block_timeouts();
            }
            if self.st.snapshot.is_some() {
                crate::persist::snapshot::step(&mut self.st, crate::persist::snapshot::STEP_US);
                if let Some(d) = crate::persist::snapshot::poll(&mut self.st) {
                    crate::persist::snapshot_done(&mut self.st, d);
                }
            }
            if now_ms() >= self.next_cron {
                let cron_start = crate::util::now_us();
                self.cron();
                self.st.stats.el_cron_us += (crate::util::now_us() - cron_start).max(0) as u64;
                let hz = self.st.cfg.hot.hz.max(1);
                self.next_cron = now_ms() + 1000 / hz;
                crate::crash::watchdog_tick(self.st.cfg.int("watchdog-period"), hz);
                if self.st.shutdown.is_some() {
                    if self.try_shutdown() {
                        return Ok(());
                    }
                    // Not going ahead: a later SIGINT starts over.
                    crate::crash::SHUTDOWN_ASAP.store(false, std::sync::atomic::Ordering::SeqCst);
                }
            }
            let s = &mut self.st.stats;
            let took = (crate::util::now_us() - turn_start).max(0) as u64;
            s.el_cycles += 1;
            s.el_duration_us += took;
            s.el_duration_max_us = s.el_duration_max_us.max(took);
            s.el_cmd_per_cycle_max = s
                .el_cmd_per_cycle_max
                .max(s.commands_processed - commands_before);
        }
    }

    fn handle_signals(&mut self) {
        let sigs: Vec<i32> = self.signals.pending().collect();
        for s in sigs {
            let (name, cfgname) = if s == signal_hook::consts::SIGINT {
                ("SIGINT", "shutdown-on-sigint")
            } else {
                ("SIGTERM", "shutdown-on-sigterm")
            };
            log::warn!("Received {} scheduling shutdown...", name);
            let v = self.st.cfg.get(cfgname).to_string();
            let mut f = ShutdownFlags::default();
            for w in v.split_whitespace() {
                match w {
                    "save" => f.save = true,
                    "nosave" => f.nosave = true,
                    "now" => f.now = true,
                    "force" => f.force = true,
                    _ => {}
                }
            }
            // As Redis: the shutdown itself happens in the cron (where
            // SHUTDOWN ABORT can still cancel it).
            self.st.shutdown_asap = Some(f);
        }
    }

    /// A shutdown that cannot go ahead: the SHUTDOWN command that asked
    /// for it (if one did) gets Redis's error.
    fn refuse_shutdown(&mut self, client: Option<usize>) {
        log::warn!("Errors trying to shut down the server. Check the logs for more information.");
        if let Some(k) = client {
            if let Some(Some(c)) = self.clients.get_mut(k) {
                c.reply.error("ERR Errors trying to SHUTDOWN. Check logs.");
            }
            self.write_client(k);
        }
    }

    /// Performs a requested shutdown. Returns true when the server should
    /// exit.
    fn try_shutdown(&mut self) -> bool {
        let f = self.st.shutdown.take().unwrap_or_default();
        log::warn!("User requested shutdown...");
        crate::notify::send("STOPPING=1\n");
        // As Redis: a dataset not fully loaded (a SIGTERM while systemd
        // waits for READY=1) is never saved over the file it comes from.
        let save = self.st.loading.is_none()
            && (f.save || (!f.nosave && !self.st.cfg.get("save").is_empty()));
        if crate::persist::aof::writing_initial(&self.st) {
            if !f.force {
                log::warn!("Writing initial AOF, can't exit.");
                crate::notify::send("STATUS=Writing initial AOF, can't exit.\n");
                self.refuse_shutdown(f.client);
                return false;
            }
            log::warn!("Writing initial AOF. Exit anyway.");
        }
        crate::persist::aof::shutdown(&mut self.st);
        if crate::persist::snapshot::abort(&mut self.st).is_some() {
            log::warn!("There is a child saving an .rdb. Killing it!");
        }
        if save {
            log::info!("Saving the final RDB snapshot before exiting.");
            crate::notify::send("STATUS=Saving the final RDB snapshot\n");
            if crate::persist::save(&mut self.st).is_err() && !f.force {
                log::warn!("Error trying to save the DB, can't exit.");
                crate::notify::send("STATUS=Error trying to save the DB, can't exit.\n");
                self.refuse_shutdown(f.client);
                return false;
            }
        }
        // Listeners close first: a client that sees its connection end
        // must find the port closed, not a backlog nobody accepts from.
        for l in &self.listeners {
            if let Listener::Unix(_, path) = l {
                let _ = std::fs::remove_file(path);
            }
        }
        self.listeners.clear();
        // Flush what we can to clients so they see the connection close
        // cleanly.
        for (_, c) in self.clients.iter_mut() {
            if let Some(c) = c {
                let _ = c.flush_output();
            }
        }
        let pf = self.st.cfg.get("pidfile").to_string();
        if !pf.is_empty() {
            let _ = std::fs::remove_file(pf);
        }
        log::warn!("Redis is now ready to exit, bye bye...");
        true
    }

    fn accept(&mut self, li: usize) {
        const PROTECTED_MODE_ERR: &str = "-DENIED Redis is running in protected mode because protected mode is enabled and no password is set for the default user. In this mode connections are only accepted from the loopback interface. If you want to connect from external computers to Redis you may adopt one of the following solutions: 1) Just disable protected mode sending the command 'CONFIG SET protected-mode no' from the loopback interface by connecting to Redis from the same host the server is running, however MAKE SURE Redis is not publicly accessible from internet if you do so. Use CONFIG REWRITE to make this change permanent. 2) Alternatively you can just disable the protected mode by editing the Redis configuration file, and setting the protected mode option to 'no', and then restarting the server. 3) If you started the server manually just for testing, restart it with the '--protected-mode no' option. 4) Set up an authentication password for the default user. NOTE: You only need to do one of the above things in order for the server to start accepting connections from the outside.\r\n";
        loop {
            let (conn, addr, laddr, unix) = match &self.listeners[li] {
                Listener::Tcp(l) => match l.accept() {
                    Ok((mut s, a)) => {
                        // Protected mode: without a password, only
                        // loopback clients get in.
                        if !a.ip().is_loopback()
                            && self.st.acl.default_user().nopass
                            && self.st.cfg.bool("protected-mode")
                        {
                            use std::io::Write;
                            let _ = s.write_all(PROTECTED_MODE_ERR.as_bytes());
                            self.st.stats.rejected_conn += 1;
                            continue;
                        }
                        let _ = s.set_nodelay(true);
                        let idle = self.st.cfg.int("tcp-keepalive");
                        if idle > 0 {
                            set_keepalive(&s, idle as i32);
                        }
                        let la = s.local_addr().map(|a| a.to_string()).unwrap_or_default();
                        (Conn::Tcp(s), a.to_string(), la, false)
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                    Err(e) => {
                        log::warn!("Accepting client connection: {}", e);
                        return;
                    }
                },
                Listener::Unix(l, path) => match l.accept() {
                    Ok((s, _)) => (Conn::Unix(s), path.clone(), path.clone(), true),
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                    Err(e) => {
                        log::warn!("Accepting client connection: {}", e);
                        return;
                    }
                },
            };
            self.st.stats.connections_received += 1;
            let entry = self.clients.vacant_entry();
            let key = entry.key();
            let id = self.st.next_client_id;
            self.st.next_client_id += 1;
            let resp = self.st.cfg.int("client-default-resp") as u8;
            let mut c = Box::new(Client::new(
                id,
                key,
                conn,
                addr,
                laddr,
                unix,
                now_ms(),
                resp,
            ));
            c.authenticated = self.st.acl.default_open;
            if self
                .poll
                .registry()
                .register(
                    c.conn.source(),
                    Token(CLIENT_BASE + key),
                    Interest::READABLE,
                )
                .is_err()
            {
                continue;
            }
            entry.insert(Some(c));
            self.st.clients_count = self.clients.len();
            if self.clients.len() as i64 > self.st.cfg.hot.maxclients {
                let c = self.clients[key].as_mut().unwrap();
                c.reply.error("ERR max number of clients reached");
                let _ = c.flush_output();
                self.st.stats.rejected_conn += 1;
                self.free_client(key);
                continue;
            }
            log::debug!("Accepted {}", self.clients[key].as_ref().unwrap().addr);
        }
    }

    pub fn free_client(&mut self, key: usize) {
        if let Some(Some(mut c)) = self.clients.try_remove(key) {
            if let Some(b) = c.blocked.take() {
                self.st.blocking.unpark(key, &b);
                self.st.blocking.count -= 1;
            }
            self.st.evict.clients.forget(&mut c);
            self.st.unwatch_all(&mut c);
            self.st.unsubscribe_all(&mut c);
            if let Some(t) = c.tracking.take() {
                self.st.tracking.disable(c.id, &t);
            }
            if c.postponed.is_some() {
                self.st.pause.postponed.retain(|&k| k != key);
            }
            let _ = self.poll.registry().deregister(c.conn.source());
            c.conn.shutdown();
            self.st.monitors.retain(|&m| m != key);
            self.st.repl.replicas.retain(|&m| m != key);
            self.st.repl.waiting.retain(|&(m, _)| m != key);
            if c.is_master {
                self.master_client_gone(key, c.db);
            }
            if c.replica {
                self.refresh_good_replicas(now_ms());
            }
        }
        self.st.clients_count = self.clients.len();
    }

    fn handle_readable(&mut self, key: usize) {
        let Some(slot) = self.clients.get_mut(key) else {
            return;
        };
        let Some(mut c) = slot.take() else { return };
        let keep = self.read_and_process(&mut c);
        self.track_client_memory(&mut c);
        let more = c.read_pending;
        self.clients[key] = Some(c);
        if !keep {
            self.free_client(key);
            return;
        }
        if more && !self.pending_reads.contains(&key) {
            self.pending_reads.push(key);
        }
        self.handle_ready_keys();
        self.after_commands(key);
    }

    /// The peer's FIN or RST can arrive in the same (edge-triggered) event
    /// as its last bytes, which `read_and_process` took in its one read
    /// per turn; no further event will come. Read again next turn, to see
    /// the end of the stream and free the client (else a client that sent
    /// half a command and closed would linger until `timeout`, forever
    /// without one).
    fn reread_after_hangup(&mut self, key: usize) {
        if matches!(self.clients.get(key), Some(Some(_))) && !self.pending_reads.contains(&key) {
            self.pending_reads.push(key);
        }
    }

    /// Runs whatever complete commands a client already has buffered.
    pub fn process_client_now(&mut self, key: usize) {
        let Some(mut c) = self.clients.get_mut(key).and_then(|s| s.take()) else {
            return;
        };
        let keep = self.process_input(&mut c);
        self.track_client_memory(&mut c);
        self.clients[key] = Some(c);
        if !keep {
            self.free_client(key);
            return;
        }
        self.handle_ready_keys();
        self.after_commands(key);
    }

    /// After `c` read input or ran commands, with `maxmemory-clients` on:
    /// its buffers changed, so its share of the clients' memory is
    /// measured again (evictions happen before the next command and
    /// before the loop sleeps).
    #[inline]
    fn track_client_memory(&mut self, c: &mut Client) {
        if self.st.cfg.hot.maxmemory_clients != 0 {
            let limits = &self.st.cfg.hot.obuf_limits;
            self.st.evict.clients.track(c, limits);
        }
    }

    /// Swaps in the TCP listeners CONFIG SET bound; the old sockets close.
    fn replace_tcp_listeners(&mut self, tcp: Vec<TcpListener>) {
        let reg = self.poll.registry();
        for l in &mut self.listeners {
            let _ = match l {
                Listener::Tcp(t) => reg.deregister(t),
                Listener::Unix(u, _) => reg.deregister(u),
            };
        }
        let unix = std::mem::take(&mut self.listeners)
            .into_iter()
            .filter(|l| matches!(l, Listener::Unix(..)));
        self.listeners = tcp.into_iter().map(Listener::Tcp).chain(unix).collect();
        self.st.port = self.st.cfg.int("port") as u16;
        self.st.tcp_port_bound = self.st.port;
        for (i, l) in self.listeners.iter_mut().enumerate() {
            let tok = Token(LISTENER_BASE + i);
            let r = match l {
                Listener::Tcp(t) => reg.register(t, tok, Interest::READABLE),
                Listener::Unix(u, _) => reg.register(u, tok, Interest::READABLE),
            };
            if let Err(e) = r {
                log::warn!("Could not register a listening socket: {e}");
            }
        }
    }

    /// Flushes output and handles kills requested by the commands just run.
    fn after_commands(&mut self, key: usize) {
        if let Some(tcp) = self.st.pending.listeners.take() {
            self.replace_tcp_listeners(tcp);
        }
        if self.st.pause.resume {
            self.resume_postponed();
        }
        if let Some(target) = self.st.pending.replicaof.take() {
            self.set_master(target);
        }
        for (id, error) in std::mem::take(&mut self.st.pending.unblock) {
            let tok = self
                .clients
                .iter()
                .find(|(_, c)| c.as_ref().map(|c| c.id) == Some(id))
                .map(|(k, _)| k);
            if let Some(tok) = tok {
                self.unblock_client(tok, error);
            }
        }
        let kills = std::mem::take(&mut self.st.pending.kill_ids);
        for id in kills {
            let victim = self
                .clients
                .iter()
                .find(|(_, c)| c.as_ref().map(|c| c.id) == Some(id))
                .map(|(k, _)| k);
            if let Some(k) = victim {
                if k == key {
                    if let Some(c) = self.clients[k].as_mut() {
                        c.close_after_reply = true;
                    }
                } else {
                    self.free_client(k);
                }
            }
        }
        self.queue_write(key);
    }

    /// Replies are written once per loop turn, before the poll (Redis's
    /// handleClientsWithPendingWrites in beforeSleep): a client whose next
    /// request is already in hand answers both with one write, and a
    /// benchmark or client library waiting on 50 connections wakes once
    /// for all of this turn's replies instead of once per reply.
    fn queue_write(&mut self, key: usize) {
        if let Some(Some(c)) = self.clients.get_mut(key)
            && !c.write_queued
        {
            c.write_queued = true;
            self.pending_writes.push(key);
        }
    }

    fn close_for_obuf_limit(&mut self, key: usize) {
        if let Some(Some(c)) = self.clients.get(key) {
            log::warn!(
                "Client {} closed for overcoming of output buffer limits.",
                c.info_line(now_ms())
            );
        }
        self.st.stats.client_outbuf_limit_disconnections += 1;
        self.free_client(key);
    }

    pub(crate) fn write_client(&mut self, key: usize) {
        // Writes reach the AOF before their replies reach anyone.
        if !self.st.aof.buf.is_empty() {
            crate::persist::aof::flush(&mut self.st, false);
        }
        let Some(Some(c)) = self.clients.get_mut(key) else {
            return;
        };
        if c.close_asap {
            self.free_client(key);
            return;
        }
        // Over its class's limit, a client is closed with its output
        // unsent, as Redis does when the reply is queued.
        if c.obuf_limit_reached(&self.st.cfg.hot.obuf_limits, now_ms()) {
            self.close_for_obuf_limit(key);
            return;
        }
        let result = c.flush_output();
        if self.st.cfg.hot.maxmemory_clients != 0 {
            let limits = &self.st.cfg.hot.obuf_limits;
            self.st.evict.clients.track(c, limits);
        }
        // Unauthenticated clients may not pile up replies they don't read
        // (Redis's checkClientOutputBufferLimits).
        if matches!(result, Ok(false)) && !c.authenticated && c.pending() > 1024 {
            self.close_for_obuf_limit(key);
            return;
        }
        match result {
            Ok(true) => {
                if c.close_after_reply {
                    self.free_client(key);
                    return;
                }
                if c.writable_registered {
                    c.writable_registered = false;
                    let _ = self.poll.registry().reregister(
                        c.conn.source(),
                        Token(CLIENT_BASE + key),
                        Interest::READABLE,
                    );
                }
            }
            Ok(false) => {
                if !c.writable_registered {
                    c.writable_registered = true;
                    let _ = self.poll.registry().reregister(
                        c.conn.source(),
                        Token(CLIENT_BASE + key),
                        Interest::READABLE | Interest::WRITABLE,
                    );
                }
            }
            Err(_) => self.free_client(key),
        }
    }

    fn handle_writable(&mut self, key: usize) {
        self.write_client(key);
    }

    /// Runs one command for `c`, then feeds monitors.
    fn execute(&mut self, c: &mut Client, args: &crate::resp::Args) {
        let mark = c.reply.buf.len();
        if c.reply_mode == ReplyMode::SkipNext {
            c.reply_mode = ReplyMode::Skip;
        }
        c.reply.pushed = false;
        c.run_argv = (args.mem(), args.len());
        // Redis's processCommand evicts clients over maxmemory-clients
        // before running anything, this client included (as measured
        // after its last read or command); then the command is dropped.
        if self.st.cfg.hot.maxmemory_clients != 0 && crate::evict::evict_clients(self, Some(c)) {
            c.run_argv = (0, 0);
            return;
        }
        self.st.tracking.current = c.id;
        let off = self.st.repl.offset;
        let feed = crate::command::call::call(&mut self.st, c, &self.clients, args);
        c.run_argv = (0, 0);
        self.st.tracking.current = 0;
        if self.st.repl.offset != off {
            c.woff = self.st.repl.offset;
        }
        // The master gets no replies, except the ACKs it asks for.
        if c.is_master && !args[0].eq_ignore_ascii_case(b"replconf") {
            c.reply.buf.truncate(mark.max(c.sent));
        }
        match c.reply_mode {
            ReplyMode::Off if !c.reply.pushed => c.reply.buf.truncate(mark.max(c.sent)),
            ReplyMode::Skip => {
                if !c.reply.pushed {
                    c.reply.buf.truncate(mark.max(c.sent));
                }
                c.reply_mode = ReplyMode::On;
            }
            _ => {}
        }
        if let Some(b) = &c.blocked
            && !self.st.blocking.rerun
        {
            self.st.blocking.park(c.token, b);
            self.st.blocking.count += 1;
        }
        self.feed_replicas(c.token);
        self.deliver_messages(Some(c));
        self.deliver_invalidations(Some(c));
        // A command re-run after blocking was shown when it first came in.
        if feed && !self.st.monitors.is_empty() && !self.st.blocking.rerun {
            let line = monitor_line(&self.st, c, args);
            let mons: Vec<usize> = self.st.monitors.clone();
            for m in mons {
                if m == c.token {
                    continue;
                }
                if let Some(Some(mc)) = self.clients.get_mut(m) {
                    mc.reply.simple(&line);
                }
            }
            // Then the commands a script ran, as Redis shows them.
            for line in std::mem::take(&mut self.st.scripts.monitor_lines) {
                for &m in &self.st.monitors {
                    if let Some(Some(mc)) = self.clients.get_mut(m) {
                        mc.reply.simple(&line);
                    }
                }
            }
            for m in self.st.monitors.clone() {
                if m != c.token {
                    self.write_client(m);
                }
            }
        }
        self.st.scripts.monitor_lines.clear();
        // Its buffers changed: measured again, as after every command in
        // Redis (the next command's check sees it).
        self.track_client_memory(c);
    }

    /// Re-runs the commands of clients waiting on keys written by the
    /// command that just ran, oldest waiter first.
    fn handle_ready_keys(&mut self) {
        // A busy script is still running: its writes are not visible yet.
        if self.st.scripts.running.is_some() {
            return;
        }
        while let Some(k) = self.st.blocking.pop_ready() {
            let waiters: Vec<usize> = match self.st.blocking.waiting.get(&k) {
                Some(q) => q.iter().copied().collect(),
                None => continue,
            };
            for tok in waiters {
                if self.serves(tok, &k) {
                    self.rerun_blocked(tok, false);
                }
            }
        }
    }

    /// Redis's test before it serves a client blocked on a ready key: the
    /// key exists and holds the type the command pops, or the client also
    /// wakes for a deleted or retyped key (XREADGROUP). The command then
    /// runs again from scratch, so another of its keys holding the wrong
    /// type answers WRONGTYPE, as in Redis.
    fn serves(&self, tok: usize, (db, key): &(usize, Vec<u8>)) -> bool {
        let Some(Some(c)) = self.clients.get(tok) else {
            return true;
        };
        let Some(b) = &c.blocked else {
            return true;
        };
        let is = |names: &[&str]| {
            names
                .iter()
                .any(|n| b.args[0].eq_ignore_ascii_case(n.as_bytes()))
        };
        let want = if is(&["blpop", "brpop", "brpoplpush", "blmove", "blmpop"]) {
            "list"
        } else if is(&["bzpopmin", "bzpopmax", "bzmpop"]) {
            "zset"
        } else if is(&["xread", "xreadgroup"]) {
            "stream"
        } else {
            return true;
        };
        if b.nokey {
            return true;
        }
        self.st.dbs[*db]
            .peek(key, now_ms())
            .is_some_and(|o| o.v.type_name() == want)
    }

    /// Re-runs WAIT/WAITAOF clients after an acknowledged offset moved
    /// (a replica's ACK, a local fsync); those still short re-park
    /// themselves in the list. Only between turns, as Redis's beforeSleep
    /// does: while a replica's ACK is being run its client is out of the
    /// slab, and the count would miss it.
    fn serve_waiters(&mut self) {
        if std::mem::take(&mut self.st.blocking.acked) {
            for tok in std::mem::take(&mut self.st.blocking.wait) {
                self.rerun_blocked(tok, false);
            }
        }
    }

    /// Serves parked clients whose timeout has passed.
    fn handle_block_timeouts(&mut self) {
        let now = now_ms();
        while let Some(&(d, tok)) = self.st.blocking.timeouts.iter().next() {
            if d > now {
                break;
            }
            self.st.blocking.timeouts.remove(&(d, tok));
            self.rerun_blocked(tok, true);
        }
    }

    /// CLIENT UNBLOCK: a parked client gets its timeout reply (its command
    /// re-run as timed out) or an UNBLOCKED error.
    fn unblock_client(&mut self, tok: usize, error: bool) {
        if !error {
            self.rerun_blocked(tok, true);
            return;
        }
        self.fail_blocked(tok, "UNBLOCKED client unblocked via CLIENT UNBLOCK");
    }

    /// Ends a parked client's command with the error `msg`.
    pub(crate) fn fail_blocked(&mut self, tok: usize, msg: &str) {
        let Some(mut c) = self.clients.get_mut(tok).and_then(|s| s.take()) else {
            return;
        };
        let mut keep = true;
        if let Some(b) = c.blocked.take() {
            self.st.blocking.unpark(tok, &b);
            self.st.blocking.count -= 1;
            c.reply.error(msg);
            // The blocked command ends here: one call, failed.
            if let Some(s) = self.st.cmdstats.get_mut(&c.last_stat) {
                s.calls += 1;
                s.failed += 1;
            }
            crate::command::call::count_error(&mut self.st, msg);
            keep = self.process_input(&mut c);
        }
        self.clients[tok] = Some(c);
        if !keep {
            self.free_client(tok);
            return;
        }
        self.write_client(tok);
    }

    /// Runs a parked client's command again. Served (or timed out), the
    /// client leaves every wait queue and its pipelined input is processed;
    /// otherwise it stays parked where it was.
    fn rerun_blocked(&mut self, tok: usize, timed_out: bool) {
        let Some(mut c) = self.clients.get_mut(tok).and_then(|s| s.take()) else {
            return;
        };
        let Some(prev) = c.blocked.take() else {
            self.clients[tok] = Some(c);
            return;
        };
        self.st.blocking.timed_out = timed_out;
        self.st.blocking.rerun = true;
        self.execute(&mut c, &prev.args);
        self.st.blocking.timed_out = false;
        self.st.blocking.rerun = false;
        let still = match c.blocked.as_mut() {
            Some(nb) if !timed_out => {
                nb.deadline = prev.deadline;
                true
            }
            _ => false,
        };
        let mut keep = true;
        if !still {
            c.blocked = None;
            self.st.blocking.unpark(tok, &prev);
            self.st.blocking.count -= 1;
            keep = self.process_input(&mut c);
        }
        self.clients[tok] = Some(c);
        if !keep {
            self.free_client(tok);
            return;
        }
        self.write_client(tok);
    }

    /// Delivers the pub/sub messages the last command produced; `c` (out of
    /// the slab while it runs) may be a receiver too.
    fn deliver_messages(&mut self, mut cur: Option<&mut Client>) {
        if self.st.pubsub.outbox.is_empty() {
            return;
        }
        let mut out = std::mem::take(&mut self.st.pubsub.outbox);
        let mut msgs = std::mem::take(&mut self.st.pubsub.messages);
        for &(to, i) in &out {
            let m = &msgs[i as usize];
            if let Some(c) = cur.as_deref_mut().filter(|c| c.token == to) {
                crate::pubsub::encode(m, &mut c.reply);
            } else if let Some(Some(rc)) = self.clients.get_mut(to) {
                crate::pubsub::encode(m, &mut rc.reply);
                // Written once per turn of the loop, as Redis writes in
                // beforeSleep: a pipeline of PUBLISHes costs a subscriber
                // one write(2), not one per message.
                if !rc.write_queued {
                    rc.write_queued = true;
                    self.pending_writes.push(to);
                }
            }
        }
        // Keep both buffers' capacity for the next command.
        out.clear();
        msgs.clear();
        self.st.pubsub.outbox = out;
        self.st.pubsub.messages = msgs;
    }

    /// Writes the output queued for other clients during this turn.
    fn flush_pending_writes(&mut self) {
        // Newest first, as Redis links clients at the head of its pending
        // list: the client whose command just ran (a publisher, say) gets
        // its reply before the subscribers its command wrote to, so its next
        // request is not held up behind their writes.
        for key in std::mem::take(&mut self.pending_writes).into_iter().rev() {
            match self.clients.get_mut(key) {
                Some(Some(c)) => {
                    c.write_queued = false;
                    self.write_client(key);
                }
                // Out of the slab while its command runs (a busy script's
                // caller): written on a later turn.
                Some(None) => self.pending_writes.push(key),
                None => {}
            }
        }
    }

    /// Delivers the invalidations produced since the last call: each goes
    /// to its tracking client's redirection client, or to the client
    /// itself. `cur` is the client just run (out of the slab).
    fn deliver_invalidations(&mut self, mut cur: Option<&mut Client>) {
        if self.st.tracking.outbox.is_empty() {
            return;
        }
        let out = std::mem::take(&mut self.st.tracking.outbox);
        let mut ids: HashMap<u64, usize> = self
            .clients
            .iter()
            .filter_map(|(k, c)| c.as_ref().map(|c| (c.id, k)))
            .collect();
        if let Some(c) = cur.as_deref() {
            ids.insert(c.id, c.token);
        }
        let mut touched: Vec<usize> = Vec::new();
        for m in &out {
            let Some(&tok) = ids.get(&m.target) else {
                continue;
            };
            let Some(t) = pick(&mut self.clients, &mut cur, tok) else {
                continue;
            };
            let Some(tr) = t.tracking.as_mut() else {
                continue;
            };
            let mut dest = tok;
            if tr.redirect != 0 {
                match ids.get(&tr.redirect) {
                    Some(&r) => dest = r,
                    None => {
                        tr.broken_redir = true;
                        let redirect = tr.redirect;
                        if t.reply.resp >= 3 {
                            crate::tracking::encode_broken(&mut t.reply, redirect);
                            touched.push(tok);
                        }
                        continue;
                    }
                }
            }
            let Some(d) = pick(&mut self.clients, &mut cur, dest) else {
                continue;
            };
            let subscribed = !d.subs.is_empty() || !d.psubs.is_empty() || !d.ssubs.is_empty();
            if d.reply.resp >= 3 {
                crate::tracking::encode(&mut d.reply, &m.payload, false);
            } else if dest != tok && subscribed {
                crate::tracking::encode(&mut d.reply, &m.payload, true);
            } else {
                continue;
            }
            touched.push(dest);
        }
        touched.sort_unstable();
        touched.dedup();
        let cur_tok = cur.as_deref().map(|c| c.token);
        for t in touched {
            if Some(t) != cur_tok {
                self.write_client(t);
            }
        }
    }

    /// Runs the commands CLIENT PAUSE held back, oldest first, then the
    /// input those clients buffered meanwhile.
    fn resume_postponed(&mut self) {
        self.st.pause.resume = false;
        for tok in std::mem::take(&mut self.st.pause.postponed) {
            let Some(mut c) = self.clients.get_mut(tok).and_then(|s| s.take()) else {
                continue;
            };
            let mut keep = true;
            if let Some((args, off)) = c.postponed.take() {
                self.execute(&mut c, &args);
                if let Some(p) = c.postponed.as_mut() {
                    p.1 = off;
                } else {
                    if c.is_master
                        && let Some(l) = self.st.master.as_mut()
                    {
                        l.offset += off;
                    }
                    self.handle_ready_keys();
                    keep = self.process_input(&mut c);
                }
            }
            self.clients[tok] = Some(c);
            if !keep {
                self.free_client(tok);
                continue;
            }
            self.handle_ready_keys();
            self.after_commands(tok);
        }
    }

    /// Hands the propagated stream to every replica.
    fn feed_replicas(&mut self, current: usize) {
        if self.st.repl.out.is_empty() {
            return;
        }
        let out = std::mem::take(&mut self.st.repl.out);
        let spans = std::mem::take(&mut self.st.repl.one_sided);
        // Scripts' redis.set_repl can send parts to one side only.
        let split = (!spans.is_empty()).then(|| crate::repl::split_sides(&out, &spans));
        let (to_aof, to_replicas) = match &split {
            Some((a, r)) => (a.as_slice(), r.as_slice()),
            None => (out.as_slice(), out.as_slice()),
        };
        if self.st.repl.aof {
            crate::persist::aof::feed(&mut self.st, to_aof);
        }
        if let Some(b) = self.st.repl.backlog.as_mut() {
            b.append(to_replicas);
        }
        for r in self.st.repl.replicas.clone() {
            if r == current {
                continue;
            }
            if let Some(Some(rc)) = self.clients.get_mut(r) {
                rc.reply.raw(to_replicas);
                // A replica whose socket is full is written when it
                // becomes writable, not tried again per command.
                if rc.writable_registered {
                    continue;
                }
            }
            self.write_client(r);
        }
        let mut out = out;
        out.clear();
        self.st.repl.out = out;
    }

    /// Sends replicas a command that is part of the stream, so it counts
    /// in the offset, but is no effect on the dataset, so the AOF does not
    /// get it: REPLCONF GETACK (a client waits in WAIT), the periodic PING.
    fn send_to_replicas(&mut self, args: &[&[u8]]) {
        if self.st.repl.replicas.is_empty() {
            return;
        }
        // Anything queued goes first: the offsets must add up in order.
        self.feed_replicas(usize::MAX);
        let mut buf = Vec::with_capacity(40);
        crate::repl::encode(&mut buf, args.iter().copied());
        self.st.repl.offset += buf.len() as i64;
        if let Some(b) = self.st.repl.backlog.as_mut() {
            b.append(&buf);
        }
        for r in self.st.repl.replicas.clone() {
            if let Some(Some(rc)) = self.clients.get_mut(r) {
                rc.reply.raw(&buf);
                if rc.writable_registered {
                    continue;
                }
            }
            self.write_client(r);
        }
    }
}

/// The client at slab key `t`: `cur` (running, out of the slab) or one in
/// the slab.
fn pick<'a>(
    clients: &'a mut Slab<Option<Box<Client>>>,
    cur: &'a mut Option<&mut Client>,
    t: usize,
) -> Option<&'a mut Client> {
    match cur {
        Some(c) if c.token == t => Some(&mut **c),
        _ => clients.get_mut(t).and_then(|s| s.as_deref_mut()),
    }
}

pub(crate) fn monitor_line(st: &State, c: &Client, args: &crate::resp::Args) -> String {
    let now = crate::util::now_us();
    let mut s = format!(
        "{}.{:06} [{} {}]",
        now / 1_000_000,
        now % 1_000_000,
        c.db,
        if c.unix {
            format!("unix:{}", c.laddr)
        } else {
            c.addr.clone()
        }
    )
    .into_bytes();
    for (i, a) in args.iter().enumerate() {
        if crate::commands::server::monitor_redacted(args, i) {
            s.extend_from_slice(b" \"(redacted)\"");
            continue;
        }
        s.push(b' ');
        crate::util::cat_repr(&mut s, a);
    }
    let _ = st;
    // The address is text and cat_repr writes ASCII.
    String::from_utf8(s).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

fn bind_tcp(sa: std::net::SocketAddr, backlog: i32) -> io::Result<TcpListener> {
    use std::os::fd::FromRawFd;
    let (domain, v6) = match sa {
        std::net::SocketAddr::V4(_) => (libc::AF_INET, false),
        std::net::SocketAddr::V6(_) => (libc::AF_INET6, true),
    };
    // std's TcpListener::bind fixes the backlog at 128 and cannot set
    // IPV6_V6ONLY, so the socket is made by hand.
    // SAFETY: plain socket calls on a descriptor we own; it is closed by
    // the OwnedFd-backed std listener on every path.
    unsafe {
        let fd = libc::socket(
            domain,
            libc::SOCK_STREAM | libc::SOCK_CLOEXEC | libc::SOCK_NONBLOCK,
            0,
        );
        if fd < 0 {
            return Err(io::Error::last_os_error());
        }
        let l = std::net::TcpListener::from_raw_fd(fd);
        let one: libc::c_int = 1;
        let sz = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
        libc::setsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_REUSEADDR,
            &one as *const _ as *const libc::c_void,
            sz,
        );
        if v6 {
            libc::setsockopt(
                fd,
                libc::IPPROTO_IPV6,
                libc::IPV6_V6ONLY,
                &one as *const _ as *const libc::c_void,
                sz,
            );
        }
        let r = with_sockaddr(sa, |p, len| libc::bind(fd, p, len));
        if r < 0 || libc::listen(fd, backlog.max(1)) < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(TcpListener::from_std(l))
    }
}

/// `tcp-keepalive`, as Redis's anetKeepAlive sets it: the kernel probes a
/// connection idle for `idle` seconds every `idle / 3` seconds, and drops
/// it after three probes go unanswered, so dead peers (a client behind a
/// NAT that forgot it) do not hold their connection forever.
pub(crate) fn set_keepalive(s: &mio::net::TcpStream, idle: i32) {
    use std::os::fd::AsRawFd;
    let fd = s.as_raw_fd();
    let opts = [
        (libc::SOL_SOCKET, libc::SO_KEEPALIVE, 1),
        (libc::IPPROTO_TCP, libc::TCP_KEEPIDLE, idle),
        (libc::IPPROTO_TCP, libc::TCP_KEEPINTVL, (idle / 3).max(1)),
        (libc::IPPROTO_TCP, libc::TCP_KEEPCNT, 3),
    ];
    for (level, name, v) in opts {
        let v: libc::c_int = v;
        // SAFETY: setsockopt on a descriptor the stream owns, with a
        // pointer to a live c_int and its size.
        unsafe {
            libc::setsockopt(
                fd,
                level,
                name,
                &v as *const _ as *const libc::c_void,
                std::mem::size_of::<libc::c_int>() as libc::socklen_t,
            );
        }
    }
}

/// Calls `f` with `sa` as a C socket address.
fn with_sockaddr(
    sa: std::net::SocketAddr,
    f: impl FnOnce(*const libc::sockaddr, libc::socklen_t) -> libc::c_int,
) -> libc::c_int {
    // SAFETY: zeroed sockaddr structs are valid; `f` gets a pointer and the
    // size of the struct it points to, alive for the call.
    unsafe {
        match sa {
            std::net::SocketAddr::V4(a) => {
                let mut s: libc::sockaddr_in = std::mem::zeroed();
                s.sin_family = libc::AF_INET as libc::sa_family_t;
                s.sin_port = a.port().to_be();
                s.sin_addr.s_addr = u32::from_ne_bytes(a.ip().octets());
                f(
                    &s as *const _ as *const libc::sockaddr,
                    std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t,
                )
            }
            std::net::SocketAddr::V6(a) => {
                let mut s: libc::sockaddr_in6 = std::mem::zeroed();
                s.sin6_family = libc::AF_INET6 as libc::sa_family_t;
                s.sin6_port = a.port().to_be();
                s.sin6_addr.s6_addr = a.ip().octets();
                f(
                    &s as *const _ as *const libc::sockaddr,
                    std::mem::size_of::<libc::sockaddr_in6>() as libc::socklen_t,
                )
            }
        }
    }
}

/// A non-blocking connection to `sa`, from `source` when that is an
/// address (`bind-source-addr`).
pub fn connect_from(sa: std::net::SocketAddr, source: &str) -> io::Result<mio::net::TcpStream> {
    use std::os::fd::FromRawFd;
    let Ok(ip) = source.parse::<std::net::IpAddr>() else {
        return mio::net::TcpStream::connect(sa);
    };
    let domain = if sa.is_ipv4() {
        libc::AF_INET
    } else {
        libc::AF_INET6
    };
    // SAFETY: a descriptor we own, handed to std at once so every path
    // closes it.
    let fd = unsafe {
        libc::socket(
            domain,
            libc::SOCK_STREAM | libc::SOCK_CLOEXEC | libc::SOCK_NONBLOCK,
            0,
        )
    };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: fd is a fresh socket nobody else owns.
    let s = unsafe { std::net::TcpStream::from_raw_fd(fd) };
    // SAFETY (both calls): plain socket calls on our descriptor.
    if with_sockaddr(std::net::SocketAddr::new(ip, 0), |p, l| unsafe {
        libc::bind(fd, p, l)
    }) < 0
    {
        return Err(io::Error::last_os_error());
    }
    if with_sockaddr(sa, |p, l| unsafe { libc::connect(fd, p, l) }) < 0 {
        let e = io::Error::last_os_error();
        if e.raw_os_error() != Some(libc::EINPROGRESS) {
            return Err(e);
        }
    }
    Ok(mio::net::TcpStream::from_std(s))
}

pub fn random_hex(n: usize) -> String {
    let mut r = Rng::new();
    (0..n)
        .map(|_| std::char::from_digit((r.next() % 16) as u32, 16).unwrap())
        .collect()
}
