//! A connected client: its socket, query buffer and parser state, reply
//! buffer, and session fields (selected db, name, auth, protocol).

use crate::resp::{Args, Parser, ReplyBuf};
use std::io::{self, Read, Write};

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
    pub args: Args,
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
    /// A command was rejected while queueing: EXEC must abort.
    pub multi_error: bool,
    /// Keys this client WATCHes: (db, key).
    pub watched: Vec<(usize, crate::db::Key)>,
    pub net_in: u64,
    pub net_out: u64,
    pub commands: u64,
    pub writable_registered: bool,
    pub qbuf_peak: usize,
    /// CLIENT TRACKING state, while tracking is on.
    pub tracking: Option<Box<crate::tracking::ClientTracking>>,
    /// A command held back by CLIENT PAUSE, with the replication offset
    /// it advances (master link) once run.
    pub postponed: Option<(Args, i64)>,
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
            multi_error: false,
            watched: Vec::new(),
            net_in: 0,
            net_out: 0,
            commands: 0,
            writable_registered: false,
            qbuf_peak: 0,
            tracking: None,
            postponed: None,
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
        // Like Redis, which frees reply blocks past its 16KB static buffer
        // once written, so drained replies stop counting as used memory
        // (keeping more lets invalidation messages to tracking clients
        // feed eviction under maxmemory).
        if self.reply.buf.capacity() > 16 << 10 {
            self.reply.buf = Vec::with_capacity(1024);
        }
        Ok(true)
    }

    /// Input bytes received and not yet run.
    pub fn pending_input(&self) -> usize {
        self.qbuf.len() - self.qpos + self.qbuf_lent
    }

    /// The `CLIENT LIST`/`CLIENT INFO` line for this client.
    pub fn info_line(&self, now: i64) -> String {
        let mut flags = String::new();
        if self.monitor {
            flags.push('O');
        }
        if self.close_after_reply || self.close_asap {
            flags.push('A');
        }
        if self.no_evict {
            flags.push('e');
        }
        if self.no_touch {
            flags.push('T');
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
            "id={} addr={} laddr={} fd={} name={} age={} idle={} flags={} db={} sub={} psub={} ssub={} multi={} watch={} qbuf={} qbuf-free={} argv-mem={} multi-mem=0 rbs={} rbp={} obl={} oll={} omem={} tot-mem={} events=r cmd={} user={} redir={} resp={} lib-name={} lib-ver={} io-thread=0",
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
            self.args.mem(),
            self.reply.buf.capacity(),
            self.reply.buf.capacity(),
            0,
            usize::from(self.obuf_usage() > 0),
            self.obuf_usage(),
            self.qbuf.capacity() + self.reply.buf.capacity() + self.args.mem(),
            self.last_cmd,
            self.user,
            self.tracking.as_ref().map_or(-1, |t| t.redirect as i64),
            self.reply.resp,
            lib_name,
            lib_ver
        )
    }
}
