//! A connected client: its socket, query buffer and parser state, reply
//! buffer, and session fields (selected db, name, auth, protocol).

use crate::resp::{Args, Parser, ReplyBuf};
use std::io::{self, Read, Write};

/// The reply buffer's smallest and starting sizes (Redis's
/// PROTO_REPLY_MIN_BYTES and PROTO_REPLY_CHUNK_BYTES).
const REPLY_MIN: usize = 1024;
const REPLY_CHUNK: usize = 16 * 1024;

pub enum Conn {
    Tcp(mio::net::TcpStream),
    Unix(mio::net::UnixStream),
}

impl Conn {
    pub fn source(&mut self) -> &mut dyn mio::event::Source {
        match self {
            Conn::Tcp(s) => s,
            Conn::Unix(s) => s,
        }
    }

    pub fn shutdown(&self) {
        let _ = match self {
            Conn::Tcp(s) => s.shutdown(std::net::Shutdown::Both),
            Conn::Unix(s) => s.shutdown(std::net::Shutdown::Both),
        };
    }

    /// Reads up to `max` bytes into `buf`'s spare capacity, without
    /// zero-filling it first (the kernel writes the bytes; only those are
    /// made part of the vector).
    pub fn read_into(&mut self, buf: &mut Vec<u8>, max: usize) -> io::Result<usize> {
        buf.reserve(max);
        let spare = buf.spare_capacity_mut();
        let n = max.min(spare.len());
        // SAFETY: `spare` is valid for writes of `n` bytes; read(2) writes at
        // most `n` bytes there, and only the `r` bytes it reports are then
        // exposed by `set_len`.
        let r = unsafe { libc::read(self.fd(), spare.as_mut_ptr() as *mut libc::c_void, n) };
        if r < 0 {
            return Err(io::Error::last_os_error());
        }
        let r = r as usize;
        // SAFETY: the first `r` spare bytes were initialized by read(2).
        unsafe { buf.set_len(buf.len() + r) };
        Ok(r)
    }

    pub fn fd(&self) -> i32 {
        use std::os::fd::AsRawFd;
        match self {
            Conn::Tcp(s) => s.as_raw_fd(),
            Conn::Unix(s) => s.as_raw_fd(),
        }
    }
}

impl Read for Conn {
    fn read(&mut self, b: &mut [u8]) -> io::Result<usize> {
        match self {
            Conn::Tcp(s) => s.read(b),
            Conn::Unix(s) => s.read(b),
        }
    }
}

impl Write for Conn {
    fn write(&mut self, b: &[u8]) -> io::Result<usize> {
        match self {
            Conn::Tcp(s) => s.write(b),
            Conn::Unix(s) => s.write(b),
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// CLIENT REPLY mode.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum ReplyMode {
    On,
    Off,
    /// Skip the reply of the next command only.
    SkipNext,
    /// Skipping the current command's reply.
    Skip,
}

pub struct Client {
    pub id: u64,
    pub token: usize,
    pub conn: Conn,
    pub addr: String,
    pub laddr: String,
    pub unix: bool,
    pub qbuf: Vec<u8>,
    pub qpos: usize,
    /// While a command runs with its arguments read in place (the query
    /// buffer lent to them), the input bytes after it.
    pub qbuf_lent: usize,
    /// The (top-level) command this client ran last.
    pub last_spec: Option<&'static crate::command::CommandSpec>,
    /// Bytes the argument being received still needs (0 when none): the
    /// next read may take that much at once.
    pub bulk_want: usize,
    pub parser: Parser,
    /// The arguments of a command being read (a command being run holds
    /// its own: see `run_argv`).
    pub args: Args,
    /// The argument bytes and count of the command running now (0 between
    /// commands), for `argv-mem` and `memory()`.
    pub run_argv: (usize, usize),
    pub reply: ReplyBuf,
    /// Bytes of `reply.buf` already written to the socket.
    pub sent: usize,
    pub db: usize,
    pub name: Option<Vec<u8>>,
    pub lib_name: Option<Vec<u8>>,
    pub lib_ver: Option<Vec<u8>>,
    pub authenticated: bool,
    pub user: String,
    pub close_after_reply: bool,
    pub close_asap: bool,
    pub reply_mode: ReplyMode,
    pub ctime_ms: i64,
    pub last_interaction_ms: i64,
    pub last_cmd: std::borrow::Cow<'static, str>,
    /// `State::cmdstats` key of `last_cmd`.
    pub last_stat: usize,
    pub no_evict: bool,
    pub no_touch: bool,
    pub monitor: bool,
    /// Attached with SYNC/PSYNC: receives the replication stream.
    pub replica: bool,
    /// The connection of our master (we are its replica).
    pub is_master: bool,
    /// The last read filled its window: more input may be waiting.
    pub read_pending: bool,
    /// In the server's `pending_writes` (output from another client's command).
    pub write_queued: bool,
    /// When pending output first went over its class's soft limit (ms; 0
    /// while under it).
    pub obuf_soft_since: i64,
    /// Asked for a full sync that waits for repl-diskless-sync-delay (since
    /// when, unix ms; 0 otherwise): INFO shows it as `wait_bgsave`.
    pub sync_wait_since: i64,
    /// The port a replica said it listens on (REPLCONF listening-port).
    pub replica_port: u16,
    /// REPLCONF rdb-filter-only: the full sync's RDB leaves out the keys
    /// and, unless "functions" was named, the function libraries
    /// (`redis-cli --functions-rdb`).
    pub sync_exclude_data: bool,
    pub sync_exclude_functions: bool,
    /// The stream offset a replica last acknowledged (REPLCONF ACK), and
    /// when (unix ms).
    pub repl_ack_off: i64,
    pub repl_ack_time: i64,
    /// The offset a replica said its AOF has on disk (REPLCONF ACK ... FACK).
    pub repl_aof_off: i64,
    /// The stream offset right after this client's last write that was
    /// propagated: what WAIT waits for.
    pub woff: i64,
    /// Input bytes of the command being parsed across reads, so far.
    pub partial_bytes: i64,
    /// Pub/sub subscriptions: channels, patterns, shard channels.
    pub subs: std::collections::HashSet<Vec<u8>>,
    pub psubs: std::collections::HashSet<Vec<u8>>,
    pub ssubs: std::collections::HashSet<Vec<u8>>,
    /// Parked by a blocking command.
    pub blocked: Option<crate::blocking::Blocked>,
    /// Commands queued since MULTI.
    pub multi: Option<Vec<Args>>,
    /// Bytes the MULTI queue holds (its arguments and their headers),
    /// kept as commands are queued (Redis's `mstate.argv_len_sums`).
    pub multi_mem: usize,
    /// A command was rejected while queueing: EXEC must abort.
    pub multi_error: bool,
    /// Keys this client WATCHes: (db, key).
    pub watched: Vec<(usize, crate::db::Key)>,
    pub net_in: u64,
    pub net_out: u64,
    pub commands: u64,
    pub writable_registered: bool,
    /// The most input pending at once since the clients cron last looked.
    pub qbuf_peak: usize,
    /// The reply buffer's size (Redis's static reply buffer, `rbs`): what
    /// `reply.buf` keeps between replies. The clients cron halves it
    /// towards 1 KB while replies stay small and doubles it up to 16 KB
    /// while they fill it.
    pub rbs: usize,
    /// The most of `rbs` one flush used since the peak was last reset
    /// (`rbp`), and when that was (unix ms).
    pub rbs_peak: usize,
    pub rbs_peak_reset_ms: i64,
    /// CLIENT TRACKING state, while tracking is on.
    pub tracking: Option<Box<crate::tracking::ClientTracking>>,
    /// What this client last counted for in `maxmemory-clients` (its
    /// `memory()` when measured, 0 while it does not count), and whether
    /// it was evictable then: see `evict::ClientsMem`.
    pub mem_counted: usize,
    pub mem_evictable: bool,
    /// A command held back by CLIENT PAUSE, with the replication offset
    /// it advances (master link) once run.
    pub postponed: Option<(Args, i64)>,
    /// SCRIPT DEBUG SYNC: this client's next EVAL runs under the Lua
    /// debugger (`script::ldb`).
    pub lua_debug: bool,
}

impl Client {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        id: u64,
        token: usize,
        conn: Conn,
        addr: String,
        laddr: String,
        unix: bool,
        now: i64,
        resp: u8,
    ) -> Client {
        let mut reply = ReplyBuf::new();
        reply.resp = resp;
        Client {
            id,
            token,
            conn,
            addr,
            laddr,
            unix,
            qbuf: Vec::new(),
            qbuf_lent: 0,
            last_spec: None,
            bulk_want: 0,
            qpos: 0,
            parser: Parser::new(),
            args: Args::default(),
            run_argv: (0, 0),
            reply,
            sent: 0,
            db: 0,
            name: None,
            lib_name: None,
            lib_ver: None,
            authenticated: false,
            user: "default".into(),
            close_after_reply: false,
            close_asap: false,
            reply_mode: ReplyMode::On,
            ctime_ms: now,
            last_interaction_ms: now,
            last_cmd: "NULL".into(),
            last_stat: 0,
            no_evict: false,
            no_touch: false,
            monitor: false,
            replica: false,
            is_master: false,
            read_pending: false,
            write_queued: false,
            obuf_soft_since: 0,
            sync_wait_since: 0,
            replica_port: 0,
            sync_exclude_data: false,
            sync_exclude_functions: false,
            repl_ack_off: 0,
            repl_aof_off: 0,
            repl_ack_time: now,
            woff: 0,
            partial_bytes: 0,
            subs: Default::default(),
            psubs: Default::default(),
            ssubs: Default::default(),
            blocked: None,
            multi: None,
            multi_mem: 0,
            multi_error: false,
            watched: Vec::new(),
            net_in: 0,
            net_out: 0,
            commands: 0,
            writable_registered: false,
            qbuf_peak: 0,
            rbs: REPLY_CHUNK,
            rbs_peak: 0,
            rbs_peak_reset_ms: now,
            tracking: None,
            mem_counted: 0,
            mem_evictable: false,
            postponed: None,
            lua_debug: false,
        }
    }

    /// The peer's address without the port (a replica's, in INFO and ROLE).
    pub fn ip(&self) -> &str {
        self.addr.rsplit_once(':').map_or("", |(h, _)| h)
    }

    /// This client's `client-output-buffer-limit` class: its (hard, soft,
    /// soft seconds), or None for the master, which no limit cuts off.
    fn obuf_class(&self, limits: &[(i64, i64, i64); 3]) -> Option<(i64, i64, i64)> {
        if self.is_master {
            return None;
        }
        Some(if self.replica && !self.monitor {
            limits[1]
        } else if !self.subs.is_empty() || !self.psubs.is_empty() || !self.ssubs.is_empty() {
            limits[2]
        } else {
            limits[0]
        })
    }

    /// Sets `reply.limit`: where the pending output reaches this client's
    /// hard limit. Scripts' client has none (Redis never closes a fake
    /// client): a script gets the whole reply.
    pub fn arm_reply_limit(&mut self, limits: &[(i64, i64, i64); 3]) {
        self.reply.limit = match self.obuf_class(limits) {
            Some((hard, _, _)) if hard > 0 && self.token != crate::script::SCRIPT_CLIENT_TOKEN => {
                self.sent.saturating_add(hard as usize)
            }
            _ => usize::MAX,
        };
    }

    /// Whether pending output breaks `client-output-buffer-limit` for this
    /// client's class (Redis's `checkClientOutputBufferLimits`); tracks
    /// how long the soft limit has been exceeded.
    pub fn obuf_limit_reached(&mut self, limits: &[(i64, i64, i64); 3], now: i64) -> bool {
        let Some((hard, soft, secs)) = self.obuf_class(limits) else {
            return false;
        };
        if hard == 0 && soft == 0 {
            return false;
        }
        let used = self.obuf_usage() as i64;
        if hard > 0 && used >= hard {
            return true;
        }
        if soft > 0 && used >= soft {
            if self.obuf_soft_since == 0 {
                self.obuf_soft_since = now;
            }
            return now - self.obuf_soft_since >= secs * 1000;
        }
        self.obuf_soft_since = 0;
        false
    }

    /// Whether pending output is at or over this client's hard limit: it
    /// is closed at its next write.
    pub fn obuf_hard_limit_reached(&self, limits: &[(i64, i64, i64); 3]) -> bool {
        matches!(self.obuf_class(limits), Some((hard, _, _)) if hard > 0 && self.obuf_usage() as i64 >= hard)
    }

    /// Output memory for limits and CLIENT LIST's `omem`. Redis leaves its
    /// fixed 16 KB buffer out, but a reply that ever used its block list
    /// (any deferred length, e.g. KEYS) goes wholly there; counting every
    /// pending byte is the closer fit for one growable buffer.
    pub fn obuf_usage(&self) -> usize {
        self.pending()
    }

    pub fn pending(&self) -> usize {
        self.reply.buf.len() - self.sent
    }

    /// Writes as much pending output as the socket takes. Returns Ok(true)
    /// when everything was written.
    pub fn flush_output(&mut self) -> io::Result<bool> {
        let used = self.reply.buf.len().min(self.rbs);
        if used > self.rbs_peak {
            self.rbs_peak = used;
        }
        while self.sent < self.reply.buf.len() {
            match self.conn.write(&self.reply.buf[self.sent..]) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => {
                    self.sent += n;
                    self.net_out += n as u64;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(false),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        }
        self.reply.buf.clear();
        self.sent = 0;
        // Like Redis, which frees reply blocks past its static buffer
        // once written, so drained replies stop counting as used memory
        // (keeping more lets invalidation messages to tracking clients
        // feed eviction under maxmemory).
        if self.reply.buf.capacity() > self.rbs {
            self.reply.buf = Vec::with_capacity(1024.min(self.rbs));
        }
        Ok(true)
    }

    /// Redis's clientsCronResizeQueryBuffer: a buffer wasting more than
    /// 4 KB is freed (or cut to what is pending) after two idle seconds,
    /// and one over 32 KB that is twice its recent peak is cut to that
    /// peak, never below an argument being read (nor cut while its room
    /// is what is in use: a shrink of a few bytes would copy it all, and
    /// change its memory between two looks). Then the peak restarts.
    pub fn resize_query_buffer(&mut self, now: i64) {
        if self.qbuf.capacity() == 0 {
            return;
        }
        let bulk_end = self.parser.pending_bulk().map_or(0, |n| self.qpos + n + 2);
        if self.qbuf.capacity() - self.qbuf.len() > 4096 {
            if (now - self.last_interaction_ms) / 1000 > 2 {
                if self.qpos == self.qbuf.len() && !self.is_master {
                    // The next read uses the shared buffer again.
                    self.qbuf = Vec::new();
                    self.qpos = 0;
                } else {
                    self.qbuf.drain(..self.qpos);
                    self.qpos = 0;
                    self.qbuf.shrink_to_fit();
                }
            } else if self.qbuf.capacity() > 32 * 1024
                && self.qbuf.capacity() / 2 > self.qbuf_peak.max(bulk_end)
            {
                let keep = self.qbuf.len().max(self.qbuf_peak).max(bulk_end);
                self.qbuf.shrink_to(keep);
            }
        }
        let bulk_end = self.parser.pending_bulk().map_or(0, |n| self.qpos + n + 2);
        self.qbuf_peak = (self.qbuf.len() - self.qpos).max(bulk_end.saturating_sub(self.qpos));
    }

    /// Redis's clientsCronResizeOutputBuffer: halves `rbs` towards the
    /// recent peak (not below 1 KB) or doubles it (up to 16 KB) when the
    /// peak filled it; the peak restarts every `reset_ms` (-1: never).
    /// Returns -1 for a shrink, 1 for a growth, 0 otherwise.
    pub fn resize_reply_buffer(&mut self, now: i64, reset_ms: i64) -> i32 {
        let mut new = 0;
        let mut change = 0;
        if self.rbs / 2 >= REPLY_MIN && self.rbs_peak < self.rbs / 2 {
            new = REPLY_MIN.max(self.rbs_peak + 1);
            change = -1;
        } else if self.rbs * 2 < REPLY_CHUNK * 2 && self.rbs_peak == self.rbs {
            new = REPLY_CHUNK.min(self.rbs * 2);
            change = 1;
        }
        if reset_ms >= 0 && now - self.rbs_peak_reset_ms >= reset_ms {
            self.rbs_peak = self.pending().min(self.rbs);
            self.rbs_peak_reset_ms = now;
        }
        if new != 0 {
            self.rbs = new;
            if self.sent == 0 && self.reply.buf.len() <= new {
                self.reply.buf.shrink_to(new);
            }
        }
        change
    }

    /// Input bytes received and not yet run.
    pub fn pending_input(&self) -> usize {
        self.qbuf.len() - self.qpos + self.qbuf_lent
    }

    /// Whether this client's memory counts towards `maxmemory-clients`:
    /// normal and pub/sub clients (monitors too), not replicas nor our
    /// master (Redis's CLIENT_TYPE_NORMAL and CLIENT_TYPE_PUBSUB), nor a
    /// client already on its way out.
    pub fn counts_as_client_memory(&self) -> bool {
        (self.monitor || !self.replica) && !self.is_master && !self.close_asap
    }

    /// Whether client eviction may disconnect this client (Redis's
    /// `clientEvictionAllowed`).
    pub fn evictable(&self) -> bool {
        !self.no_evict && self.counts_as_client_memory()
    }

    /// CLIENT LIST's `argv-mem`: the bytes of the arguments being read or
    /// run.
    pub fn argv_mem(&self) -> usize {
        self.args.mem() + self.run_argv.0
    }

    /// CLIENT LIST's `multi-mem`: the MULTI queue and the WATCHed keys
    /// (Redis's `multiStateMemOverhead`, which leaves out the keys
    /// themselves; ours are copies, counted at a nominal 16 bytes).
    pub fn multi_memory(&self) -> usize {
        let queued = if self.multi.is_some() {
            self.multi_mem
        } else {
            0
        };
        queued + self.watched.capacity() * (std::mem::size_of::<(usize, crate::db::Key)>() + 16)
    }

    /// Everything this client holds, for CLIENT LIST's `tot-mem` and
    /// `maxmemory-clients` (Redis's `getClientMemoryUsage`): the client
    /// itself, its query buffer, its reply buffer (never less than `rbs`,
    /// what Redis keeps allocated as the static reply buffer), the
    /// arguments of the command being read or run, the MULTI state, and
    /// estimates for its subscriptions and tracking prefixes (Redis's own
    /// are estimates too). O(1) but for `Args::mem`, linear in the
    /// argument count: cheap enough to measure after every command.
    pub fn memory(&self) -> usize {
        // A set slot holds the name's Vec and a control byte; the name
        // is an allocation of its own (nominal 16 bytes).
        const SUB_SLOT: usize = std::mem::size_of::<Vec<u8>>() + 1;
        const SUB_NAME: usize = 16;
        const PREFIX: usize = std::mem::size_of::<Vec<u8>>() + 32;
        let subs = (self.subs.capacity() + self.psubs.capacity() + self.ssubs.capacity())
            * SUB_SLOT
            + (self.subs.len() + self.psubs.len() + self.ssubs.len()) * SUB_NAME;
        let tracking = self.tracking.as_ref().map_or(0, |t| {
            std::mem::size_of::<crate::tracking::ClientTracking>() + t.prefixes.len() * PREFIX
        });
        std::mem::size_of::<Client>()
            + self.qbuf.capacity()
            + self.reply.buf.capacity().max(self.rbs)
            + self.argv_mem()
            + (self.args.len() + self.run_argv.1) * std::mem::size_of::<(u32, u32)>()
            + self.multi_memory()
            + subs
            + tracking
    }

    /// The `CLIENT LIST`/`CLIENT INFO` line for this client.
    pub fn info_line(&self, now: i64) -> String {
        // Redis's letters, in its order (`catClientInfoString`).
        let mut flags = String::new();
        if self.monitor {
            flags.push('O');
        } else if self.replica {
            flags.push('S');
        }
        if self.is_master {
            flags.push('M');
        }
        if !self.subs.is_empty() || !self.psubs.is_empty() || !self.ssubs.is_empty() {
            flags.push('P');
        }
        if self.multi.is_some() {
            flags.push('x');
        }
        if self.blocked.is_some() {
            flags.push('b');
        }
        if let Some(t) = &self.tracking {
            flags.push('t');
            if t.broken_redir {
                flags.push('R');
            }
            if t.bcast {
                flags.push('B');
            }
        }
        if self.close_after_reply {
            flags.push('c');
        }
        if self.close_asap {
            flags.push('A');
        }
        if self.unix {
            flags.push('U');
        }
        if self.no_evict {
            flags.push('e');
        }
        if self.no_touch {
            flags.push('T');
        }
        if flags.is_empty() {
            flags.push('N');
        }
        let name = self
            .name
            .as_deref()
            .map(|n| String::from_utf8_lossy(n).into_owned())
            .unwrap_or_default();
        let lib_name = self
            .lib_name
            .as_deref()
            .map(|n| String::from_utf8_lossy(n).into_owned())
            .unwrap_or_default();
        let lib_ver = self
            .lib_ver
            .as_deref()
            .map(|n| String::from_utf8_lossy(n).into_owned())
            .unwrap_or_default();
        let (addr, laddr) = if self.unix {
            (format!("{}:0", self.laddr), self.laddr.clone())
        } else {
            (self.addr.clone(), self.laddr.clone())
        };
        format!(
            "id={} addr={} laddr={} fd={} name={} age={} idle={} flags={} db={} sub={} psub={} ssub={} multi={} watch={} qbuf={} qbuf-free={} argv-mem={} multi-mem={} rbs={} rbp={} obl={} oll={} omem={} tot-mem={} events=r cmd={} user={} redir={} resp={} lib-name={} lib-ver={} io-thread=0",
            self.id,
            addr,
            laddr,
            self.conn.fd(),
            name,
            (now - self.ctime_ms) / 1000,
            (now - self.last_interaction_ms) / 1000,
            flags,
            self.db,
            self.subs.len(),
            self.psubs.len(),
            self.ssubs.len(),
            self.multi.as_ref().map_or(-1, |q| q.len() as i64),
            self.watched.len(),
            self.pending_input(),
            self.qbuf.capacity() - self.qbuf.len(),
            self.argv_mem(),
            self.multi_memory(),
            self.rbs,
            self.rbs_peak,
            0,
            usize::from(self.obuf_usage() > 0),
            self.obuf_usage(),
            self.memory(),
            self.last_cmd,
            // No user: the master's link or the AOF loader, which may run
            // anything.
            if self.user.is_empty() {
                "(superuser)"
            } else {
                &self.user
            },
            self.tracking.as_ref().map_or(-1, |t| t.redirect as i64),
            self.reply.resp,
            lib_name,
            lib_ver
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resp::parse::{Args, Limits};

    fn client(now: i64) -> Client {
        let (a, _b) = mio::net::UnixStream::pair().unwrap();
        Client::new(1, 64, Conn::Unix(a), "x".into(), "y".into(), true, now, 2)
    }

    #[test]
    fn an_idle_client_gives_its_query_buffer_back() {
        let mut c = client(0);
        c.qbuf = Vec::with_capacity(20 << 10);
        c.qbuf.extend_from_slice(b"*1\r\n$4\r\nPING\r\n");
        c.qpos = c.qbuf.len();
        c.last_interaction_ms = 0;
        c.resize_query_buffer(1000);
        assert!(c.qbuf.capacity() >= 20 << 10, "not idle long enough yet");
        c.resize_query_buffer(3001);
        assert_eq!(c.qbuf.capacity(), 0);
        // With input pending, it keeps just that.
        c.qbuf = Vec::with_capacity(64 << 10);
        c.qbuf.extend_from_slice(b"*1\r\n$4\r\nPI");
        c.qpos = 0;
        c.resize_query_buffer(3001);
        assert_eq!(&c.qbuf[..], b"*1\r\n$4\r\nPI");
        assert!(c.qbuf.capacity() < 4096);
    }

    #[test]
    fn a_busy_client_keeps_its_recent_peak_and_the_argument_it_reads() {
        let mut c = client(0);
        c.qbuf = Vec::with_capacity(400_000);
        c.qbuf_peak = 100;
        c.resize_query_buffer(100);
        let cap = c.qbuf.capacity();
        assert!((100..400_000).contains(&cap), "{cap}");
        // A 1 MB argument announced but not yet arrived.
        let mut c = client(0);
        let mut q = b"*3\r\n$3\r\nset\r\n$1\r\na\r\n$1000000\r\n".to_vec();
        q.reserve(1_000_002);
        let (mut pos, mut want, mut args) = (0, 0, Args::default());
        let lim = Limits {
            max_bulk_len: 1 << 29,
            unauthenticated: false,
        };
        assert!(
            !c.parser
                .parse(&q, &mut pos, &mut args, lim, &mut want)
                .unwrap()
        );
        c.qbuf = q;
        c.qpos = pos;
        c.resize_query_buffer(100);
        assert!(c.qbuf.capacity() >= pos + 1_000_002);
    }

    #[test]
    fn the_reply_buffer_follows_its_peak() {
        let mut c = client(0);
        assert_eq!(c.rbs, REPLY_CHUNK);
        // Idle: the peak restarts at nothing, the buffer halves to 1 KB.
        assert_eq!(c.resize_reply_buffer(10, 5), -1);
        assert_eq!(c.rbs, REPLY_MIN);
        // Replies that fill it double it, up to 16 KB.
        for want in [2048, 4096, 8192, 16384] {
            c.rbs_peak = c.rbs;
            assert_eq!(c.resize_reply_buffer(20, -1), 1);
            assert_eq!(c.rbs, want);
        }
        c.rbs_peak = c.rbs;
        assert_eq!(c.resize_reply_buffer(30, -1), 0);
        assert_eq!(c.rbs, REPLY_CHUNK);
    }
}
