//! Introspection commands: INFO (Redis's sections and field names, after
//! `genRedisInfoString`) and COMMAND (answered from the command table).

use crate::command::flags::*;
use crate::command::{
    CmdError, CmdResult, CommandSpec, Ctx, NO_KEYS, categories, cmd, container, keyspecs,
};
use crate::resp::{Args, ReplyBuf};
use crate::server::State;
use crate::util::{eq_ic, glob_match};
use std::fmt::Write;

pub static COMMANDS: &[CommandSpec] = &[
    cmd(
        "info",
        -1,
        LOADING | STALE | SENTINEL,
        NO_KEYS,
        "server",
        "1.0.0",
        "Returns information and statistics about the server.",
        info,
    ),
    CommandSpec {
        arity: -1,
        flags: LOADING | STALE | SENTINEL,
        run: command_all,
        ..container(
            "command",
            "server",
            "2.8.13",
            "Returns detailed information about all commands.",
            COMMAND,
        )
    },
];

static COMMAND: &[CommandSpec] = &[
    cmd(
        "count",
        2,
        LOADING | STALE,
        NO_KEYS,
        "server",
        "2.8.13",
        "Returns a count of commands.",
        command_count,
    ),
    cmd(
        "info",
        -2,
        LOADING | STALE,
        NO_KEYS,
        "server",
        "2.8.13",
        "Returns information about one, multiple or all commands.",
        command_info,
    ),
    cmd(
        "list",
        -2,
        LOADING | STALE,
        NO_KEYS,
        "server",
        "7.0.0",
        "Returns a list of command names.",
        command_list,
    ),
    cmd(
        "docs",
        -2,
        LOADING | STALE,
        NO_KEYS,
        "server",
        "7.0.0",
        "Returns documentary information about one, multiple or all commands.",
        command_docs,
    ),
    cmd(
        "getkeys",
        -3,
        LOADING | STALE,
        NO_KEYS,
        "server",
        "2.8.13",
        "Extracts the key names from an arbitrary command.",
        command_getkeys,
    ),
    cmd(
        "getkeysandflags",
        -3,
        LOADING | STALE,
        NO_KEYS,
        "server",
        "7.0.0",
        "Extracts the key names and access flags for an arbitrary command.",
        command_getkeysandflags,
    ),
    cmd(
        "help",
        2,
        LOADING | STALE,
        NO_KEYS,
        "server",
        "5.0.0",
        "Returns helpful text about the different subcommands.",
        command_help,
    ),
];

// ---------------------------------------------------------------------------
// INFO
// ---------------------------------------------------------------------------

/// Sections printed by `INFO` and `INFO default`.
const DEFAULT_SECTIONS: &[&str] = &[
    "server",
    "clients",
    "memory",
    "persistence",
    "stats",
    "replication",
    "threads",
    "cpu",
    "module_list",
    "errorstats",
    "cluster",
    "keyspace",
    "keysizes",
];

/// Which sections a request selected.
#[derive(Debug, Default, PartialEq)]
pub struct Selection {
    pub names: Vec<String>,
    pub all: bool,
    pub everything: bool,
}

impl Selection {
    /// Parses INFO's arguments, as `genInfoSectionDict` does.
    pub fn parse<'a>(args: impl Iterator<Item = &'a [u8]>) -> Selection {
        let mut s = Selection::default();
        let mut any = false;
        for a in args {
            any = true;
            let name = String::from_utf8_lossy(a).to_ascii_lowercase();
            match name.as_str() {
                "default" => {
                    for d in DEFAULT_SECTIONS {
                        s.add(d);
                    }
                }
                "all" => s.all = true,
                "everything" => {
                    s.all = true;
                    s.everything = true;
                }
                _ => s.add(&name),
            }
        }
        if !any {
            for d in DEFAULT_SECTIONS {
                s.add(d);
            }
        }
        s
    }

    fn add(&mut self, n: &str) {
        if !self.names.iter().any(|x| x == n) {
            self.names.push(n.to_string());
        }
    }

    /// Whether section `n` is printed.
    pub fn wants(&self, n: &str) -> bool {
        self.all || self.names.iter().any(|x| x == n)
    }
}

/// Redis's `bytesToHuman`: `1.50K`, `12.00M`...
pub fn bytes_to_human(n: u64) -> String {
    const UNITS: [(u64, &str); 5] = [
        (1 << 50, "P"),
        (1 << 40, "T"),
        (1 << 30, "G"),
        (1 << 20, "M"),
        (1 << 10, "K"),
    ];
    if n < 1024 {
        return format!("{n}B");
    }
    for (u, s) in UNITS {
        if n >= u {
            return format!("{:.2}{}", n as f64 / u as f64, s);
        }
    }
    format!("{n}B")
}

/// Characters INFO field names may not contain, replaced as Redis does.
fn safe_info_name(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            ':' => ';',
            '\r' | '\n' => ' ',
            c => c,
        })
        .collect()
}

fn rusage(who: libc::c_int) -> (libc::timeval, libc::timeval) {
    // SAFETY: getrusage fills a zeroed struct we own.
    unsafe {
        let mut ru: libc::rusage = std::mem::zeroed();
        libc::getrusage(who, &mut ru);
        (ru.ru_stime, ru.ru_utime)
    }
}

fn tv(t: libc::timeval) -> String {
    format!("{}.{:06}", t.tv_sec, t.tv_usec)
}

fn uname() -> String {
    // SAFETY: uname fills a zeroed struct we own; fields are NUL-terminated.
    unsafe {
        let mut u: libc::utsname = std::mem::zeroed();
        if libc::uname(&mut u) != 0 {
            return "Linux".into();
        }
        let f = |a: &[libc::c_char]| {
            std::ffi::CStr::from_ptr(a.as_ptr())
                .to_string_lossy()
                .into_owned()
        };
        format!("{} {} {}", f(&u.sysname), f(&u.release), f(&u.machine))
    }
}

fn total_system_memory() -> u64 {
    std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("MemTotal:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse::<u64>().ok())
        })
        .map(|kb| kb * 1024)
        .unwrap_or(0)
}

/// Appends `name:value\r\n` lines.
macro_rules! fields {
    ($s:expr, $($k:literal => $v:expr),* $(,)?) => {
        $( let _ = write!($s, concat!($k, ":{}\r\n"), $v); )*
    };
}

/// A latency histogram in the manner of HdrHistogram with two significant
/// digits: values below 128 are exact, larger ones fall in one of 64
/// sub-buckets per power of two. Values are nanoseconds.
#[derive(Default, Debug, Clone)]
pub struct LatencyHist {
    /// Counts by bucket index (see `index`); grown on demand, so a command
    /// that always runs in microseconds keeps a few hundred counters.
    counts: Vec<u64>,
    total: u64,
}

impl LatencyHist {
    /// The bucket of `v`: values below 128 have their own; above, 64
    /// sub-buckets per power of two.
    fn index(v: u64) -> usize {
        let bits = 64 - v.leading_zeros() as u64;
        if bits <= 7 {
            return v as usize;
        }
        let shift = bits - 7;
        (128 + (bits - 8) * 64 + ((v >> shift) - 64)) as usize
    }

    /// The lowest value of bucket `i` and the bucket's width.
    fn bucket(i: usize) -> (u64, u64) {
        if i < 128 {
            return (i as u64, 1);
        }
        let j = (i - 128) as u64;
        let shift = j / 64 + 1;
        ((64 + j % 64) << shift, 1 << shift)
    }

    pub fn record(&mut self, v: u64) {
        let i = Self::index(v.max(1));
        if i >= self.counts.len() {
            self.counts.resize(i + 1, 0);
        }
        self.counts[i] += 1;
        self.total += 1;
    }

    pub fn count(&self) -> u64 {
        self.total
    }

    /// Cumulative counts at power-of-two bounds from 1024 ns, in
    /// microseconds, listing a bound only where the count grew (LATENCY
    /// HISTOGRAM's `histogram_usec`, from hdr's log iterator).
    pub fn log_buckets(&self) -> Vec<(u64, u64)> {
        let mut out = Vec::new();
        let (mut bound, mut cum, mut i) = (1024u64, 0u64, 0usize);
        while cum < self.total && bound != 0 {
            while i < self.counts.len() && {
                let (lo, w) = Self::bucket(i);
                lo + w - 1 <= bound
            } {
                cum += self.counts[i];
                i += 1;
            }
            if out.last().is_none_or(|&(_, c)| cum > c) && cum > 0 {
                out.push((bound / 1000, cum));
            }
            bound = bound.checked_mul(2).unwrap_or(0);
        }
        out
    }

    /// The highest value equivalent to the `p`th percentile, as
    /// `hdr_value_at_percentile` reports it.
    pub fn value_at_percentile(&self, p: f64) -> u64 {
        if self.total == 0 {
            return 0;
        }
        let want = ((p.clamp(0.0, 100.0) / 100.0) * self.total as f64).ceil() as u64;
        let want = want.max(1);
        let mut seen = 0;
        for (i, &n) in self.counts.iter().enumerate() {
            seen += n;
            if n > 0 && seen >= want {
                let (lo, w) = Self::bucket(i);
                return lo + w - 1;
            }
        }
        0
    }
}

#[cfg(test)]
mod latency_tests {
    use super::LatencyHist;

    #[test]
    fn buckets_cover_values_in_order() {
        let mut prev_end = 0;
        for i in 0..2000 {
            let (lo, w) = LatencyHist::bucket(i);
            assert_eq!(lo, prev_end, "bucket {i} starts where {} ended", i - 1);
            assert_eq!(LatencyHist::index(lo), i);
            assert_eq!(LatencyHist::index(lo + w - 1), i);
            prev_end = lo + w;
        }
    }

    #[test]
    fn percentiles_report_the_bucket_top() {
        let mut h = LatencyHist::default();
        for v in 1..=100 {
            h.record(v * 1000);
        }
        assert_eq!(h.count(), 100);
        let p50 = h.value_at_percentile(50.0);
        assert!((50_000..=50_000 + 512).contains(&p50), "{p50}");
        let p100 = h.value_at_percentile(100.0);
        assert!((100_000..=100_000 + 1024).contains(&p100), "{p100}");
    }
}

/// Facts about the clients, gathered by the caller (which sees them all).
#[derive(Default)]
pub struct ClientFacts {
    pub connected: usize,
    pub max_in: usize,
    pub max_out: usize,
    pub blocked: usize,
    pub pubsub: usize,
    pub watching: usize,
    pub mem_normal: usize,
    /// Replicas' buffers (`mem_clients_slaves`).
    pub mem_replicas: usize,
    /// Memory left out of maxmemory accounting (`mem_not_counted_for_evict`).
    pub not_counted: usize,
    /// Bytes read from our master but not applied yet (buffered, or held
    /// back by CLIENT PAUSE).
    pub master_unapplied: i64,
    /// Attached replicas and those waiting for their full sync: (ip,
    /// listening port, acknowledged offset, when it was acknowledged in
    /// unix ms, INFO state).
    pub replicas: Vec<(String, u16, i64, i64, &'static str)>,
}

/// Builds the INFO text for `sel`.
pub fn gen_info(st: &mut State, cf: &ClientFacts, sel: &Selection) -> String {
    // Measured before the reply text is built, so INFO does not count
    // itself (the maxmemory tests compare this figure with the limit).
    let used = crate::alloc::used_memory();
    let mut s = String::with_capacity(4096);
    let mut sections = 0;
    let mut header = |s: &mut String, title: &str| {
        if sections > 0 {
            s.push_str("\r\n");
        }
        sections += 1;
        let _ = write!(s, "# {title}\r\n");
    };
    let now_us = crate::util::now_us();
    let uptime = st.uptime_secs();
    if sel.wants("server") {
        header(&mut s, "Server");
        let hz = st.cfg.hot.hz;
        // `auto` shows what it resolved to (src/notify.rs).
        let supervised = match st.cfg.get("supervised") {
            _ if crate::notify::active() => "systemd",
            "systemd" => "systemd",
            "upstart" => "upstart",
            _ => "no",
        };
        fields!(s,
            "redis_version" => crate::REDIS_VERSION,
            "redis_git_sha1" => "00000000",
            "redis_git_dirty" => 0,
            "redis_build_id" => "0",
            "redis_mode" => "standalone",
            "os" => uname(),
            "arch_bits" => usize::BITS,
            "monotonic_clock" => "POSIX clock_gettime",
            "multiplexing_api" => "epoll",
            "atomicvar_api" => "c11-builtin",
            "gcc_version" => "0.0.0",
            "process_id" => st.pid,
            "process_supervised" => supervised,
            "run_id" => st.run_id,
            "tcp_port" => st.port,
            "server_time_usec" => now_us,
            "uptime_in_seconds" => uptime,
            "uptime_in_days" => uptime / 86400,
            "hz" => hz,
            "configured_hz" => hz,
            "lru_clock" => crate::db::value::lru_clock(),
            "executable" => st.executable,
            "config_file" => st.config_file,
            "io_threads_active" => 0,
        );
        if st.port != 0 {
            let _ = write!(s, "listener0:name=tcp");
            for b in st.cfg.get("bind").split_whitespace() {
                let _ = write!(s, ",bind={b}");
            }
            let _ = write!(s, ",port={}\r\n", st.port);
        }
        let us = st.cfg.get("unixsocket");
        if !us.is_empty() {
            let _ = write!(s, "listener1:name=unix,bind={us}\r\n");
        }
    }
    if sel.wants("clients") {
        header(&mut s, "Clients");
        fields!(s,
            "connected_clients" => cf.connected,
            "cluster_connections" => 0,
            "maxclients" => st.cfg.hot.maxclients,
            "client_recent_max_input_buffer" => cf.max_in,
            "client_recent_max_output_buffer" => cf.max_out,
            "blocked_clients" => cf.blocked,
            "tracking_clients" => st.tracking.clients(),
            "pubsub_clients" => cf.pubsub,
            "watching_clients" => cf.watching,
            "clients_in_timeout_table" => 0,
            "total_watched_keys" => st.watched_keys.len(),
            "total_blocking_keys" => st.blocking.waiting.len(),
            "total_blocking_keys_on_nokey" => st.blocking.nokey.len(),
        );
    }
    if sel.wants("memory") {
        header(&mut s, "Memory");
        if used > st.stat_peak_memory {
            st.stat_peak_memory = used;
        }
        let peak = st.stat_peak_memory;
        let rss = crate::alloc::rss();
        let sysmem = total_system_memory();
        let maxmem = st.cfg.hot.maxmemory.max(0) as u64;
        let frag = if used > 0 {
            rss as f64 / used as f64
        } else {
            0.0
        };
        // Overhead as Redis reckons it: the memory at startup, client and
        // replication buffers, and the keyspace's hash tables (buckets).
        let (mut tables, mut rehashing) = (0, 0);
        for d in &st.dbs {
            for (t, m) in [d.keys.table_bytes(), d.expires.table_bytes()] {
                tables += t;
                rehashing += m;
            }
        }
        let repl_buf = st.repl.out.capacity();
        let overhead = (st.startup_memory + cf.mem_normal + repl_buf + tables).min(used);
        fields!(s,
            "used_memory" => used,
            "used_memory_human" => bytes_to_human(used as u64),
            "used_memory_rss" => rss,
            "used_memory_rss_human" => bytes_to_human(rss as u64),
            "used_memory_peak" => peak,
            "used_memory_peak_human" => bytes_to_human(peak as u64),
            "used_memory_peak_perc" => format!("{:.2}%", used as f64 * 100.0 / peak.max(1) as f64),
            "used_memory_overhead" => overhead,
            "used_memory_startup" => st.startup_memory,
            "used_memory_dataset" => used - overhead,
            "used_memory_dataset_perc" => format!(
                "{:.2}%",
                (used - overhead) as f64 * 100.0 / used.saturating_sub(st.startup_memory).max(1) as f64
            ),
            "allocator_allocated" => used,
            "allocator_active" => used,
            "allocator_resident" => rss,
            "allocator_muzzy" => 0,
            "total_system_memory" => sysmem,
            "total_system_memory_human" => bytes_to_human(sysmem),
            "used_memory_lua" => 31744,
            "used_memory_vm_eval" => 31744,
            "used_memory_lua_human" => "31.00K",
            "used_memory_scripts_eval" => 0,
            "number_of_cached_scripts" => st.scripts.eval.len(),
            "number_of_functions" => st.scripts.functions.len(),
            "number_of_libraries" => st.scripts.libraries.len(),
            "used_memory_vm_functions" => st.scripts.func_vm.as_ref().map_or(32768, |v| v.lua.used_memory()),
            "used_memory_vm_total" => 64512,
            "used_memory_vm_total_human" => "63.00K",
            "used_memory_functions" => 0,
            "used_memory_scripts" => 0,
            "used_memory_scripts_human" => "0B",
            "maxmemory" => maxmem,
            "maxmemory_human" => bytes_to_human(maxmem),
            "maxmemory_policy" => st.cfg.get("maxmemory-policy"),
            "allocator_frag_ratio" => "1.00",
            "allocator_frag_bytes" => 0,
            "allocator_rss_ratio" => format!("{:.2}", frag),
            "allocator_rss_bytes" => rss as i64 - used as i64,
            "rss_overhead_ratio" => "1.00",
            "rss_overhead_bytes" => 0,
            "mem_fragmentation_ratio" => format!("{:.2}", frag),
            "mem_fragmentation_bytes" => rss as i64 - used as i64,
            "mem_not_counted_for_evict" => cf.not_counted,
            "mem_replication_backlog" => 0,
            "mem_total_replication_buffers" => repl_buf,
            "mem_replica_full_sync_buffer" => 0,
            "mem_clients_slaves" => cf.mem_replicas,
            "mem_clients_normal" => cf.mem_normal,
            "mem_cluster_links" => 0,
            "mem_aof_buffer" => st.aof.buf.capacity(),
            "mem_allocator" => "libc",
            "mem_overhead_db_hashtable_rehashing" => rehashing,
            "active_defrag_running" => 0,
            "lazyfree_pending_objects" => st.lazyfree.pending,
            "lazyfreed_objects" => st.lazyfree.freed,
        );
    }
    if sel.wants("persistence") {
        let bg = st.snapshot.as_deref();
        let rdb_bg = bg.filter(|s| s.purpose == crate::persist::snapshot::Purpose::Rdb);
        header(&mut s, "Persistence");
        fields!(s,
            "loading" => st.loading.is_some() as i32,
            "async_loading" => st.master.as_ref().is_some_and(|m| m.async_loading()) as i32,
            "current_cow_peak" => 0,
            "current_cow_size" => 0,
            "current_cow_size_age" => 0,
            "current_fork_perc" => format!("{:.2}", bg.map_or(0.0, |s| if s.keys_total == 0 { 0.0 } else { crate::persist::snapshot::keys_processed(s) as f64 * 100.0 / s.keys_total as f64 })),
            "current_save_keys_processed" => bg.map_or(0, crate::persist::snapshot::keys_processed),
            "current_save_keys_total" => bg.map_or(0, |s| s.keys_total),
            "rdb_changes_since_last_save" => st.dirty,
            "rdb_bgsave_in_progress" => rdb_bg.is_some() as i32,
            "rdb_last_save_time" => st.lastsave,
            "rdb_last_bgsave_status" => if st.last_save_ok { "ok" } else { "err" },
            "rdb_last_bgsave_time_sec" => st.bgsave.last_time_sec,
            "rdb_current_bgsave_time_sec" => rdb_bg.map_or(-1, |s| (crate::util::now_ms() - s.started_ms) / 1000),
            "rdb_saves" => st.bgsave.saves,
            "rdb_last_cow_size" => 0,
            "rdb_last_load_keys_expired" => st.bgsave.last_load_expired,
            "rdb_last_load_keys_loaded" => st.bgsave.last_load_loaded,
            "aof_enabled" => (st.aof.status != crate::persist::aof::Status::Off) as i32,
            "aof_rewrite_in_progress" => st.aof.rewrite_in_progress() as i32,
            "aof_rewrite_scheduled" => st.aof.rewrite_scheduled as i32,
            "aof_last_rewrite_time_sec" => st.aof.last_rewrite_time_sec,
            "aof_current_rewrite_time_sec" => st.aof.current_rewrite_secs(),
            "aof_last_bgrewrite_status" => if st.aof.last_bgrewrite_ok { "ok" } else { "err" },
            "aof_rewrites" => st.aof.rewrites,
            "aof_rewrites_consecutive_failures" => st.aof.consecutive_failures,
            "aof_last_write_status" => if st.aof.last_write_ok { "ok" } else { "err" },
            "aof_last_cow_size" => 0,
            "module_fork_in_progress" => 0,
            "module_fork_last_cow_size" => 0,
        );
        if let Some(l) = &st.loading {
            let secs = ((crate::util::now_ms() - l.start_ms) / 1000).max(0);
            let perc = l.loaded_bytes as f64 * 100.0 / l.total_bytes.max(1) as f64;
            let eta = if l.loaded_bytes == 0 {
                1
            } else {
                (secs as f64 * (l.total_bytes - l.loaded_bytes) as f64 / l.loaded_bytes as f64)
                    as i64
            };
            fields!(s,
                "loading_start_time" => l.start_ms / 1000,
                "loading_total_bytes" => l.total_bytes,
                "loading_rdb_used_mem" => 0,
                "loading_loaded_bytes" => l.loaded_bytes,
                "loading_loaded_perc" => format!("{perc:.2}"),
                "loading_eta_seconds" => eta,
            );
        }
        if st.cfg.bool("appendonly") {
            fields!(s,
                "aof_current_size" => st.aof.current_size,
                "aof_base_size" => st.aof.base_size,
                "aof_pending_rewrite" => st.aof.rewrite_scheduled as i32,
                "aof_buffer_length" => st.aof.buf.len(),
                "aof_pending_bio_fsync" => st.aof.pending_bio_fsync(),
                "aof_delayed_fsync" => st.aof.delayed_fsync,
            );
        }
    }
    let stats = st.stats.clone();
    if sel.wants("threads") {
        header(&mut s, "Threads");
        let _ = write!(
            s,
            "io_thread_0:clients={},reads={},writes={}\r\n",
            cf.connected, stats.io_reads, stats.io_writes
        );
    }
    if sel.wants("stats") {
        header(&mut s, "Stats");
        fields!(s,
            "total_connections_received" => stats.connections_received,
            "total_commands_processed" => stats.commands_processed,
            "instantaneous_ops_per_sec" => st.metrics.ops.get(),
            "total_net_input_bytes" => stats.net_input_bytes,
            "total_net_output_bytes" => stats.net_output_bytes,
            "total_net_repl_input_bytes" => 0,
            "total_net_repl_output_bytes" => 0,
            "instantaneous_input_kbps" => format!("{:.2}", st.metrics.net_input.get() as f64 / 1024.0),
            "instantaneous_output_kbps" => format!("{:.2}", st.metrics.net_output.get() as f64 / 1024.0),
            "instantaneous_input_repl_kbps" => "0.00",
            "instantaneous_output_repl_kbps" => "0.00",
            "rejected_connections" => stats.rejected_conn,
            "sync_full" => st.repl.sync_full,
            "sync_partial_ok" => st.repl.sync_partial_ok,
            "sync_partial_err" => st.repl.sync_partial_err,
            "expired_subkeys" => stats.expired_subkeys,
            "expired_keys" => stats.expired_keys,
            "expired_stale_perc" => format!("{:.2}", stats.expired_stale_perc * 100.0),
            "expired_time_cap_reached_count" => 0,
            "expire_cycle_cpu_milliseconds" => stats.expire_cycle_time_used_us / 1000,
            "evicted_keys" => stats.evicted_keys,
            "evicted_clients" => st.evict.evicted_clients,
            "evicted_scripts" => st.scripts.evicted,
            "total_eviction_exceeded_time" => st.evict.total_exceeded_ms,
            "current_eviction_exceeded_time" => st.evict.current_exceeded_ms(),
            "keyspace_hits" => stats.keyspace_hits,
            "keyspace_misses" => stats.keyspace_misses,
            "pubsub_channels" => 0,
            "pubsub_patterns" => 0,
            "pubsubshard_channels" => 0,
            "latest_fork_usec" => 0,
            "total_forks" => st.aof.forks,
            "migrate_cached_sockets" => st.migrate.len(),
            "slave_expires_tracked_keys" => 0,
            "active_defrag_hits" => 0,
            "active_defrag_misses" => 0,
            "active_defrag_key_hits" => 0,
            "active_defrag_key_misses" => 0,
            "total_active_defrag_time" => 0,
            "current_active_defrag_time" => 0,
            "tracking_total_keys" => st.tracking.total_keys(),
            "tracking_total_items" => st.tracking.total_items(),
            "tracking_total_prefixes" => st.tracking.total_prefixes(),
            "unexpected_error_replies" => stats.unexpected_error_replies,
            "total_error_replies" => stats.total_error_replies,
            "dump_payload_sanitizations" => 0,
            "total_reads_processed" => stats.io_reads,
            "total_writes_processed" => stats.io_writes,
            "io_threaded_reads_processed" => 0,
            "io_threaded_writes_processed" => 0,
            "client_query_buffer_limit_disconnections" => stats.client_qbuf_limit_disconnections,
            "client_output_buffer_limit_disconnections" => stats.client_outbuf_limit_disconnections,
            "reply_buffer_shrinks" => stats.reply_buffer_shrinks,
            "reply_buffer_expands" => stats.reply_buffer_expands,
            "eventloop_cycles" => stats.el_cycles,
            "eventloop_duration_sum" => stats.el_duration_us,
            "eventloop_duration_cmd_sum" => stats.el_cmd_us,
            "instantaneous_eventloop_cycles_per_sec" => st.metrics.el_cycles.get(),
            "instantaneous_eventloop_duration_usec" => st.metrics.el_duration.get(),
            "acl_access_denied_auth" => st.acl.log.denied_auth,
            "acl_access_denied_cmd" => st.acl.log.denied_cmd,
            "acl_access_denied_key" => st.acl.log.denied_key,
            "acl_access_denied_channel" => st.acl.log.denied_channel,
        );
        if st.cluster.is_none() && st.cfg.int("cluster-compatibility-sample-ratio") > 0 {
            fields!(s, "cluster_incompatible_ops" => stats.cluster_incompatible_ops);
        }
    }
    if sel.wants("replication") {
        header(&mut s, "Replication");
        fields!(s,
            "role" => if st.is_replica { "slave" } else { "master" },
        );
        if let Some(l) = &st.master {
            let now = crate::util::now_ms();
            fields!(s,
                "master_host" => l.host,
                "master_port" => l.port,
                "master_link_status" => if l.link_up() { "up" } else { "down" },
                "master_last_io_seconds_ago" => if l.link_up() { ((now - l.last_io_ms) / 1000).max(0) } else { -1 },
                "master_sync_in_progress" => l.sync_in_progress as i32,
                "slave_read_repl_offset" => l.offset + cf.master_unapplied,
                "slave_repl_offset" => l.offset,
                "slave_priority" => st.cfg.int("replica-priority"),
                "slave_read_only" => st.cfg.bool("replica-read-only") as i32,
                "replica_announced" => st.cfg.bool("replica-announced") as i32,
            );
        }
        fields!(s,
            "connected_slaves" => cf.replicas.len(),
        );
        for (i, (ip, port, off, at, state)) in cf.replicas.iter().enumerate() {
            let _ = write!(
                s,
                "slave{}:ip={},port={},state={},offset={},lag={}\r\n",
                i,
                ip,
                port,
                state,
                off,
                (st.now_ms - at).max(0) / 1000
            );
        }
        fields!(s,
            "master_failover_state" => "no-failover",
            "master_replid" => st.repl.replid,
            "master_replid2" => "0000000000000000000000000000000000000000",
            "master_repl_offset" => st.master.as_ref().map(|l| l.offset).unwrap_or(st.repl.offset),
            "second_repl_offset" => -1,
            "repl_backlog_active" => st.repl.backlog.is_some() as i32,
            "repl_backlog_size" => st.cfg.int("repl-backlog-size"),
            "repl_backlog_first_byte_offset" => st.repl.backlog.as_ref().map_or(0, |b| b.start),
            "repl_backlog_histlen" => st.repl.backlog.as_ref().map_or(0, |b| b.len()),
        );
    }
    if sel.wants("cpu") {
        header(&mut s, "CPU");
        let (ss, su) = rusage(libc::RUSAGE_SELF);
        let (cs, cu) = rusage(libc::RUSAGE_CHILDREN);
        let (ts, tu) = rusage(libc::RUSAGE_THREAD);
        fields!(s,
            "used_cpu_sys" => tv(ss),
            "used_cpu_user" => tv(su),
            "used_cpu_sys_children" => tv(cs),
            "used_cpu_user_children" => tv(cu),
            "used_cpu_sys_main_thread" => tv(ts),
            "used_cpu_user_main_thread" => tv(tu),
        );
    }
    if sel.wants("module_list") || sel.wants("modules") {
        header(&mut s, "Modules");
    }
    if sel.wants("commandstats") {
        header(&mut s, "Commandstats");
        let mut v: Vec<_> = st.cmdstats.values().map(|c| (&c.name, c)).collect();
        v.sort_by(|a, b| a.0.cmp(b.0));
        for (name, c) in v {
            if c.calls == 0 && c.failed == 0 && c.rejected == 0 {
                continue;
            }
            let per = if c.calls == 0 {
                0.0
            } else {
                c.usec as f64 / c.calls as f64
            };
            let _ = write!(
                s,
                "cmdstat_{}:calls={},usec={},usec_per_call={:.2},rejected_calls={},failed_calls={}\r\n",
                safe_info_name(name),
                c.calls,
                c.usec,
                per,
                c.rejected,
                c.failed
            );
        }
    }
    if sel.wants("errorstats") {
        header(&mut s, "Errorstats");
        let mut v: Vec<_> = st.errstats.iter().collect();
        v.sort();
        for (code, n) in v {
            let _ = write!(s, "errorstat_{}:count={}\r\n", safe_info_name(code), n);
        }
    }
    if sel.wants("latencystats") {
        header(&mut s, "Latencystats");
        if st.cfg.hot.latency_tracking {
            let pcts: Vec<f64> = st
                .cfg
                .get("latency-tracking-info-percentiles")
                .split_whitespace()
                .filter_map(|w| w.parse().ok())
                .collect();
            let mut v: Vec<_> = st
                .cmdstats
                .values()
                .filter(|c| c.latency.count() > 0)
                .map(|c| (&c.name, c))
                .collect();
            v.sort_by(|a, b| a.0.cmp(b.0));
            for (name, c) in v {
                let _ = write!(s, "latency_percentiles_usec_{}:", safe_info_name(name));
                for (j, p) in pcts.iter().enumerate() {
                    if j > 0 {
                        s.push(',');
                    }
                    let _ = write!(
                        s,
                        "p{}={:.3}",
                        crate::util::fmt_double(*p),
                        c.latency.value_at_percentile(*p) as f64 / 1000.0
                    );
                }
                s.push_str("\r\n");
            }
        }
    }
    if sel.wants("cluster") {
        header(&mut s, "Cluster");
        s.push_str(crate::commands::cluster::info_section(st));
    }
    if sel.wants("keyspace") {
        header(&mut s, "Keyspace");
        for (i, db) in st.dbs.iter().enumerate() {
            let keys = db.len();
            let exp = db.expires.len();
            if keys > 0 || exp > 0 {
                let _ = write!(
                    s,
                    "db{i}:keys={keys},expires={exp},avg_ttl={},subexpiry={}\r\n",
                    db.avg_ttl,
                    db.subexpiry()
                );
            }
        }
    }
    if sel.wants("keysizes") {
        header(&mut s, "Keysizes");
        for (i, db) in st.dbs.iter().enumerate() {
            if !db.is_empty() {
                db.keysizes.render(i, &mut s);
            }
        }
    }
    if sel.names.iter().any(|n| n == "debug") {
        header(&mut s, "Debug");
        fields!(s,
            "eventloop_duration_aof_sum" => 0,
            "eventloop_duration_cron_sum" => st.stats.el_cron_us,
            "eventloop_duration_max" => st.stats.el_duration_max_us,
            "eventloop_cmd_per_cycle_max" => st.stats.el_cmd_per_cycle_max,
            "allocator_allocated_lua" => 0,
            "allocator_active_lua" => 0,
            "allocator_resident_lua" => 0,
            "allocator_frag_bytes_lua" => 0,
        );
    }
    s
}

/// Gathers what INFO reports about the clients.
pub fn client_facts(ctx: &Ctx) -> ClientFacts {
    let mut f = ClientFacts::default();
    let all = ctx
        .others
        .iter()
        .filter_map(|(_, c)| c.as_deref())
        .chain(std::iter::once(&*ctx.c));
    for c in all {
        if c.is_master {
            f.master_unapplied = c.pending_input() as i64 + c.postponed.as_ref().map_or(0, |p| p.1);
        }
        if c.replica || c.sync_wait_since != 0 {
            f.replicas.push((
                c.ip().to_string(),
                c.replica_port,
                c.repl_ack_off,
                c.repl_ack_time,
                if c.replica { "online" } else { "wait_bgsave" },
            ));
            f.mem_replicas += c.memory();
            continue;
        }
        f.connected += 1;
        if !c.subs.is_empty() || !c.psubs.is_empty() || !c.ssubs.is_empty() {
            f.pubsub += 1;
        }
        if !c.watched.is_empty() {
            f.watching += 1;
        }
        if c.blocked.is_some() || c.postponed.is_some() {
            f.blocked += 1;
        }
        f.max_in = f.max_in.max(c.qbuf_peak);
        f.max_out = f.max_out.max(c.reply.buf.capacity());
        f.mem_normal += c.memory();
    }
    f.not_counted = crate::evict::not_counted(ctx.st, ctx.others);
    f
}

/// INFO [section [section ...]]
pub fn info(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let sel = Selection::parse(args.iter().skip(1));
    let facts = client_facts(ctx);
    let text = gen_info(ctx.st, &facts, &sel);
    ctx.c.reply.verbatim(text.as_bytes(), "txt");
    Ok(())
}

// ---------------------------------------------------------------------------
// COMMAND
// ---------------------------------------------------------------------------

fn full_name(spec: &CommandSpec, parent: Option<&CommandSpec>) -> String {
    match parent {
        Some(p) => format!("{}|{}", p.name, spec.name),
        None => spec.name.to_string(),
    }
}

fn flag_names(spec: &CommandSpec, full: &str) -> Vec<&'static str> {
    let mut v: Vec<&'static str> = NAMES
        .iter()
        .filter(|(f, _)| spec.has(*f))
        .map(|(_, n)| *n)
        .collect();
    if keyspecs::legacy_range(keyspecs::lookup(full)).1 {
        let at = v.len() - usize::from(v.last() == Some(&"allow_busy"));
        v.insert(at, "movablekeys");
    }
    v
}

/// One `COMMAND INFO` entry.
fn reply_command_info(r: &mut ReplyBuf, spec: &CommandSpec, parent: Option<&CommandSpec>) {
    r.array(10);
    let full = full_name(spec, parent);
    r.bulk_str(&full);
    r.int(spec.arity as i64);
    let fl = flag_names(spec, &full);
    r.set(fl.len());
    for f in fl {
        r.simple(f);
    }
    let k = spec.keys;
    r.int(k.first as i64);
    r.int(k.last as i64);
    r.int(k.step as i64);
    let cats: Vec<&str> = categories::names(categories::mask(spec, parent)).collect();
    r.set(cats.len());
    for c in cats {
        r.simple(&format!("@{c}"));
    }
    r.set(0); // tips
    keyspecs::reply(r, keyspecs::lookup(&full_name(spec, parent)));
    r.array(spec.subcommands.len());
    for sc in spec.subcommands {
        reply_command_info(r, sc, Some(spec));
    }
}

/// The top-level commands, sorted by name, under their configured names.
fn top_level(st: &State) -> Vec<&'static CommandSpec> {
    let mut v: Vec<&'static CommandSpec> = st.commands.iter().map(|(_, c)| *c).collect();
    v.sort_by_key(|c| c.name);
    v.dedup_by_key(|c| c.name);
    v
}

/// Finds `name` (`cmd` or `cmd|sub`) in the table.
fn find(st: &State, name: &[u8]) -> Option<(&'static CommandSpec, Option<&'static CommandSpec>)> {
    let mut parts = name.splitn(2, |&b| b == b'|');
    let first = parts.next()?;
    let top = st.commands.get(first)?;
    match parts.next() {
        None => Some((top, None)),
        Some(sub) => crate::command::table::subcommand(top, sub).map(|s| (s, Some(top))),
    }
}

/// COMMAND
fn command_all(ctx: &mut Ctx, _args: &Args) -> CmdResult {
    let cmds = top_level(ctx.st);
    let r = &mut ctx.c.reply;
    r.array(cmds.len());
    for c in cmds {
        reply_command_info(r, c, None);
    }
    Ok(())
}

/// COMMAND COUNT
fn command_count(ctx: &mut Ctx, _args: &Args) -> CmdResult {
    let n = top_level(ctx.st).len();
    ctx.c.reply.int(n as i64);
    Ok(())
}

/// COMMAND INFO [command-name ...]
fn command_info(ctx: &mut Ctx, args: &Args) -> CmdResult {
    if args.len() == 2 {
        return command_all(ctx, args);
    }
    let found: Vec<_> = args.iter().skip(2).map(|n| find(ctx.st, n)).collect();
    let r = &mut ctx.c.reply;
    r.array(found.len());
    for f in found {
        match f {
            Some((s, p)) => reply_command_info(r, s, p),
            None => r.null_array(),
        }
    }
    Ok(())
}

/// COMMAND LIST [FILTERBY MODULE name | ACLCAT category | PATTERN pattern]
fn command_list(ctx: &mut Ctx, args: &Args) -> CmdResult {
    enum Filter {
        None,
        Module,
        Cat(String),
        Pattern(Vec<u8>),
    }
    let filter = match args.len() {
        2 => Filter::None,
        5 if eq_ic(&args[2], "filterby") => {
            if eq_ic(&args[3], "module") {
                Filter::Module
            } else if eq_ic(&args[3], "aclcat") {
                Filter::Cat(String::from_utf8_lossy(&args[4]).to_ascii_lowercase())
            } else if eq_ic(&args[3], "pattern") {
                Filter::Pattern(args[4].to_vec())
            } else {
                return Err(CmdError::Syntax);
            }
        }
        _ => return Err(CmdError::Syntax),
    };
    let mut names = Vec::new();
    for c in top_level(ctx.st) {
        let mut consider = |s: &CommandSpec, p: Option<&CommandSpec>| {
            let keep = match &filter {
                Filter::None => true,
                Filter::Module => false,
                Filter::Cat(cat) => {
                    categories::bit(cat.as_bytes()).is_some_and(|b| categories::mask(s, p) & b != 0)
                }
                Filter::Pattern(pat) => glob_match(pat, full_name(s, p).as_bytes(), true),
            };
            if keep {
                names.push(full_name(s, p));
            }
        };
        consider(c, None);
        for sc in c.subcommands {
            consider(sc, Some(c));
        }
    }
    let r = &mut ctx.c.reply;
    r.array(names.len());
    for n in names {
        r.bulk_str(&n);
    }
    Ok(())
}

/// COMMAND DOCS [command-name ...]
fn command_docs(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let list: Vec<(&'static CommandSpec, Option<&'static CommandSpec>)> = if args.len() == 2 {
        top_level(ctx.st).into_iter().map(|c| (c, None)).collect()
    } else {
        args.iter()
            .skip(2)
            .filter_map(|n| find(ctx.st, n))
            .collect()
    };
    let r = &mut ctx.c.reply;
    r.map(list.len());
    for (s, p) in list {
        r.bulk_str(&full_name(s, p));
        crate::command::docs::reply(r, s, p);
    }
    Ok(())
}

/// The keys of the command line in `args[2..]` (positions in it, with
/// their flags), or Redis's error: the checks in `getKeysSubcommandImpl`'s
/// order, then the key specs (`keyspecs::find_keys`).
fn getkeys_of(ctx: &Ctx, args: &Args) -> Result<Vec<keyspecs::KeyRef>, CmdError> {
    let cmd_args = Args::from_iter(args.iter().skip(2));
    let argc = cmd_args.len();
    let Some((spec, parent)) = ctx.st.commands.lookup_line(&cmd_args) else {
        return Err(CmdError::msg("ERR Invalid command specified"));
    };
    let name = full_name(spec, parent);
    let specs = keyspecs::lookup(&name);
    if !keyspecs::has_keys(spec, specs) {
        return Err(CmdError::msg("ERR The command has no key arguments"));
    }
    if (spec.arity > 0 && argc as i32 != spec.arity) || (argc as i32) < -spec.arity {
        return Err(CmdError::msg(
            "ERR Invalid number of arguments specified for command",
        ));
    }
    let keys = keyspecs::find_keys(spec, specs, &cmd_args);
    // Keys the command may go without (EVAL with numkeys 0): none found
    // is an answer, not an error.
    if keys.is_empty() && !spec.has(NO_MANDATORY_KEYS) {
        return Err(CmdError::msg("ERR Invalid arguments specified for command"));
    }
    Ok(keys)
}

/// COMMAND GETKEYS command [arg ...]
fn command_getkeys(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let keys = getkeys_of(ctx, args)?;
    let r = &mut ctx.c.reply;
    r.array(keys.len());
    for (p, _) in keys {
        r.bulk(&args[p + 2]);
    }
    Ok(())
}

/// COMMAND GETKEYSANDFLAGS command [arg ...]
fn command_getkeysandflags(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let keys = getkeys_of(ctx, args)?;
    let r = &mut ctx.c.reply;
    r.array(keys.len());
    for (p, flags) in keys {
        r.array(2);
        r.bulk(&args[p + 2]);
        keyspecs::reply_flags(r, flags);
    }
    Ok(())
}

/// Replies with a HELP text: a header line and the given lines.
pub fn reply_help(r: &mut ReplyBuf, cmd: &str, lines: &[&str]) {
    r.array(lines.len() + 3);
    r.simple(&format!(
        "{cmd} <subcommand> [<arg> [value] [opt] ...]. Subcommands are:"
    ));
    for l in lines {
        r.simple(l);
    }
    r.simple("HELP");
    r.simple("    Print this help.");
}

fn command_help(ctx: &mut Ctx, _args: &Args) -> CmdResult {
    reply_help(
        &mut ctx.c.reply,
        "COMMAND",
        &[
            "(no subcommand)",
            "    Return details about all Redis commands.",
            "COUNT",
            "    Return the total number of commands in this Redis server.",
            "LIST",
            "    Return a list of all commands in this Redis server.",
            "INFO [<command-name> ...]",
            "    Return details about multiple Redis commands.",
            "    If no command names are given, documentation details for all",
            "    commands are returned.",
            "DOCS [<command-name> ...]",
            "    Return documentation details about multiple Redis commands.",
            "    If no command names are given, documentation details for all",
            "    commands are returned.",
            "GETKEYS <full-command>",
            "    Return the keys from a full Redis command.",
            "GETKEYSANDFLAGS <full-command>",
            "    Return the keys and the access flags from a full Redis command.",
        ],
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sel(v: &[&str]) -> Selection {
        Selection::parse(v.iter().map(|s| s.as_bytes()))
    }

    #[test]
    fn section_selection() {
        let d = sel(&[]);
        assert!(d.wants("server") && d.wants("keyspace") && !d.wants("commandstats"));
        let a = sel(&["ALL"]);
        assert!(a.all && a.wants("commandstats") && !a.everything);
        let c = sel(&["cpu", "CPU", "commandSTATS"]);
        assert_eq!(c.names, vec!["cpu", "commandstats"]);
        assert!(!c.wants("memory"));
        assert!(sel(&["cpu", "default"]).wants("memory"));
    }

    #[test]
    fn latency_percentiles() {
        let mut h = LatencyHist::default();
        for v in 1..=100 {
            h.record(v * 1000);
        }
        let p50 = h.value_at_percentile(50.0);
        assert!((50_000..=50_000 + 50_000 / 64).contains(&p50), "{p50}");
        assert!(h.value_at_percentile(100.0) >= 100_000);
        assert_eq!(h.value_at_percentile(0.0), 1000 + 7);
        assert_eq!(LatencyHist::default().value_at_percentile(50.0), 0);
    }

    #[test]
    fn human_bytes() {
        assert_eq!(bytes_to_human(1023), "1023B");
        assert_eq!(bytes_to_human(1536), "1.50K");
        assert_eq!(bytes_to_human(3 << 20), "3.00M");
    }
}
