//! The replica side of replication: REPLICAOF connects to a master,
//! authenticates, asks for a full sync (`PSYNC ? -1`), loads the RDB it
//! sends, and from then on the master's connection is a client whose
//! commands are applied without replies (except REPLCONF GETACK).
//!
//! The handshake is a small state machine driven by readiness events on
//! the `MASTER_LINK` token and by the cron, which retries a failed link
//! once a second (picking up a changed `masterauth`), as Redis does.

use crate::server::{CLIENT_BASE, Server};
use mio::net::TcpStream;
use mio::{Interest, Token};
use std::io::{self, Read, Write};

pub const MASTER_LINK: Token = Token(CLIENT_BASE - 1);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Waiting for the non-blocking connect to finish.
    Connecting,
    /// Sent a command, waiting for its one-line reply.
    Ping,
    Auth,
    Port,
    Capa,
    Psync,
    /// Waiting for the `$len` header of the RDB payload.
    BulkHeader,
    /// Reading `remaining` bytes of RDB payload.
    Transfer,
}

/// Where the replica stands with its master.
pub struct MasterLink {
    pub host: String,
    pub port: u16,
    pub conn: Option<TcpStream>,
    pub step: Step,
    pub buf: Vec<u8>,
    pub remaining: usize,
    /// Set once synced: the master is then a client in the slab.
    pub client: Option<usize>,
    pub last_attempt_ms: i64,
    pub last_io_ms: i64,
    pub replid: String,
    /// Replication offset: bytes of the master's stream applied.
    pub offset: i64,
    pub sync_in_progress: bool,
    /// A full sync of the history we already hold, with
    /// `repl-diskless-load swapdb`: clients keep reading the old dataset
    /// until the new one replaces it, as in Redis's async loading.
    pub async_loading: bool,
    /// When we last sent REPLCONF ACK (unix ms).
    pub last_ack_ms: i64,
}

impl MasterLink {
    pub fn new(host: String, port: u16) -> MasterLink {
        MasterLink {
            host,
            port,
            conn: None,
            step: Step::Connecting,
            buf: Vec::new(),
            remaining: 0,
            client: None,
            last_attempt_ms: 0,
            last_io_ms: 0,
            replid: "?".into(),
            offset: -1,
            sync_in_progress: false,
            async_loading: false,
            last_ack_ms: 0,
        }
    }

    pub fn link_up(&self) -> bool {
        self.client.is_some()
    }

    /// Whether a payload for an async load is on its way (INFO
    /// `async_loading`; commands flagged `no-async-loading` wait).
    pub fn async_loading(&self) -> bool {
        self.async_loading && matches!(self.step, Step::BulkHeader | Step::Transfer)
    }
}

fn cmd_bytes(args: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::new();
    crate::repl::encode(&mut out, args.iter().copied());
    out
}

impl Server {
    /// REPLICAOF host port: (re)starts replication; None: become a master.
    pub fn set_master(&mut self, target: Option<(String, u16)>) {
        // The oom score follows the role (failures are logged).
        let _ = self.st.oom.apply(&self.st.cfg, target.is_some());
        // Only a reconnect to the same master continues where it stopped.
        self.st.cached_master = None;
        if let Some(link) = self.st.master.take() {
            if let Some(mut c) = link.conn {
                let _ = self.poll.registry().deregister(&mut c);
            }
            if let Some(k) = link.client {
                self.free_client(k);
            }
        }
        match target {
            None => {
                if self.st.is_replica {
                    log::info!("MASTER MODE enabled (user request from 'id=? addr=?')");
                }
                self.st.is_replica = false;
                // A promoted replica starts a new history.
                self.st.repl.replid = crate::server::random_hex(40);
            }
            Some((host, port)) => {
                // What they wait for may never come on a replica (Redis's
                // disconnectAllBlockedClients).
                let parked: Vec<usize> = self
                    .clients
                    .iter()
                    .filter(|(_, c)| c.as_ref().is_some_and(|c| c.blocked.is_some()))
                    .map(|(k, _)| k)
                    .collect();
                for tok in parked {
                    self.fail_blocked(
                        tok,
                        "UNBLOCKED force unblock from blocking operation, instance state changed (master -> replica?)",
                    );
                }
                log::info!("Connecting to MASTER {}:{}", host, port);
                self.st.is_replica = true;
                self.st.master = Some(MasterLink::new(host, port));
                self.connect_master();
            }
        }
        crate::server::IS_REPLICA.store(self.st.is_replica, std::sync::atomic::Ordering::Relaxed);
    }

    fn connect_master(&mut self) {
        let now = crate::util::now_ms();
        let Some(link) = self.st.master.as_mut() else {
            return;
        };
        link.last_attempt_ms = now;
        link.last_io_ms = now;
        link.buf.clear();
        let addr = format!("{}:{}", link.host, link.port);
        let sa = match std::net::ToSocketAddrs::to_socket_addrs(&addr)
            .ok()
            .and_then(|mut a| a.next())
        {
            Some(sa) => sa,
            None => {
                log::warn!("Unable to connect to MASTER: can't resolve {}", addr);
                return;
            }
        };
        match crate::server::connect_from(sa, self.st.cfg.get("bind-source-addr")) {
            Ok(mut s) => {
                // The master link is a client too (Redis's createClient).
                let idle = self.st.cfg.int("tcp-keepalive");
                if idle > 0 {
                    crate::server::set_keepalive(&s, idle as i32);
                }
                if self
                    .poll
                    .registry()
                    .register(&mut s, MASTER_LINK, Interest::READABLE | Interest::WRITABLE)
                    .is_ok()
                {
                    log::info!("MASTER <-> REPLICA sync started");
                    link.conn = Some(s);
                    link.step = Step::Connecting;
                    link.sync_in_progress = true;
                }
            }
            Err(e) => log::warn!("Unable to connect to MASTER: {}", e),
        }
    }

    /// Drops a failed handshake; the cron retries.
    fn master_link_failed(&mut self) {
        if let Some(link) = self.st.master.as_mut() {
            if let Some(mut c) = link.conn.take() {
                let _ = self.poll.registry().deregister(&mut c);
            }
            link.sync_in_progress = false;
            link.async_loading = false;
            link.buf.clear();
        }
    }

    /// Cron: retry a master link that is down, once a second.
    pub fn replication_cron(&mut self) {
        let now = crate::util::now_ms();
        let retry = match &self.st.master {
            Some(l) => {
                if let Some(k) = l.client {
                    if self.clients.get(k).map(|c| c.is_none()).unwrap_or(true)
                        && !self.clients.contains(k)
                    {
                        // The master's connection went away.
                        true
                    } else {
                        false
                    }
                } else {
                    // At the next whole second, not a full second after the
                    // loss: Redis's replicationCron runs on a free-running
                    // 1 s period, so a replica waits half a second on
                    // average before it reconnects.
                    l.conn.is_none() && now / 1000 > l.last_attempt_ms / 1000
                }
            }
            None => false,
        };
        if retry {
            if let Some(l) = self.st.master.as_mut() {
                l.client = None;
            }
            self.connect_master();
            return;
        }
        // A master silent for repl-timeout during the handshake or the
        // payload (it sends newlines while it prepares one) is given up on,
        // and the cron tries again, as in Redis's replicationCron.
        let timeout = self.st.cfg.int("repl-timeout").max(1) * 1000;
        if let Some(l) = &self.st.master
            && l.conn.is_some()
            && now - l.last_io_ms > timeout
        {
            if matches!(l.step, Step::BulkHeader | Step::Transfer) {
                log::warn!(
                    "Timeout receiving bulk data from MASTER... If the problem persists try to set the 'repl-timeout' parameter in redis.conf to a larger value."
                );
            } else {
                log::warn!("Timeout connecting to the MASTER...");
            }
            self.master_link_failed();
            return;
        }
        // Tell the master how far we got once a second, as Redis replicas
        // do: its WAIT and its INFO offset/lag come from these.
        if let Some(l) = self.st.master.as_mut()
            && let Some(k) = l.client
            && now - l.last_ack_ms >= 1000
        {
            l.last_ack_ms = now;
            let bytes =
                crate::commands::replication::ack_command(l.offset, self.st.aof.fsynced_reploff);
            if let Some(Some(c)) = self.clients.get_mut(k) {
                c.reply.raw(&bytes);
                self.write_client(k);
            }
        }
    }

    /// The master's client was freed: the link is down until the cron
    /// reconnects.
    pub fn master_client_gone(&mut self, key: usize, db: usize) {
        if let Some(l) = self.st.master.as_mut()
            && l.client == Some(key)
        {
            log::warn!("Connection with master lost.");
            log::info!("Caching the disconnected master state.");
            self.st.cached_master = Some((l.replid.clone(), l.offset, db));
            l.client = None;
            // Reconnect now rather than at the cron's next turn, as Redis's
            // replicationHandleMasterDisconnection does: every second
            // waited is backlog the master may recycle meanwhile.
            self.connect_master();
        }
    }

    fn send_master(&mut self, args: &[&[u8]], next: Step) -> io::Result<()> {
        let bytes = cmd_bytes(args);
        let link = self.st.master.as_mut().unwrap();
        let c = link.conn.as_mut().unwrap();
        // Handshake commands are tiny; a short write on a fresh socket
        // would mean the link is unusable.
        c.write_all(&bytes)?;
        link.step = next;
        Ok(())
    }

    /// Readiness on the master link during the handshake.
    pub fn handle_master_link(&mut self) {
        if let Err(e) = self.master_link_progress() {
            log::warn!("Error condition on socket for SYNC: {}", e);
            let in_transfer = self
                .st
                .master
                .as_ref()
                .is_some_and(|l| matches!(l.step, Step::BulkHeader | Step::Transfer));
            self.master_link_failed();
            // A sync that broke off mid-payload starts over at once, as
            // Redis's cancelReplicationHandshake(reconnect) does; handshake
            // errors wait for the cron, so a refusing master is not hammered.
            if in_transfer && let Some(l) = &self.st.master {
                log::info!("Reconnecting to MASTER {}:{} after failure", l.host, l.port);
                self.connect_master();
            }
        }
    }

    fn read_line(&mut self) -> io::Result<Option<String>> {
        let link = self.st.master.as_mut().unwrap();
        let c = link.conn.as_mut().unwrap();
        let mut tmp = [0u8; 16384];
        loop {
            match c.read(&mut tmp) {
                Ok(0) => {
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "connection closed by master",
                    ));
                }
                Ok(n) => link.buf.extend_from_slice(&tmp[..n]),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
            if link.step == Step::Transfer && link.buf.len() >= link.remaining {
                break;
            }
        }
        link.last_io_ms = crate::util::now_ms();
        if link.step == Step::Transfer {
            return Ok(None);
        }
        // Bare newlines are the master's keepalives while it prepares the RDB.
        while link.buf.first() == Some(&b'\n') {
            link.buf.remove(0);
        }
        let Some(p) = memchr::memchr(b'\n', &link.buf) else {
            return Ok(None);
        };
        let line = String::from_utf8_lossy(&link.buf[..p])
            .trim_end_matches('\r')
            .to_string();
        link.buf.drain(..=p);
        Ok(Some(line))
    }

    fn master_link_progress(&mut self) -> io::Result<()> {
        loop {
            let Some(link) = self.st.master.as_mut() else {
                return Ok(());
            };
            let Some(conn) = link.conn.as_mut() else {
                return Ok(());
            };
            match link.step {
                Step::Connecting => {
                    if let Some(e) = conn.take_error()? {
                        return Err(e);
                    }
                    if conn.peer_addr().is_err() {
                        return Ok(()); // not connected yet
                    }
                    log::info!("Non blocking connect for SYNC fired the event.");
                    let _ = self
                        .poll
                        .registry()
                        .reregister(conn, MASTER_LINK, Interest::READABLE);
                    self.send_master(&[b"PING"], Step::Ping)?;
                }
                Step::Ping => {
                    let Some(l) = self.read_line()? else {
                        return Ok(());
                    };
                    if l.starts_with('-')
                        && !l.starts_with("-NOAUTH")
                        && !l.starts_with("-NOPERM")
                        && !l.starts_with("-ERR operation not permitted")
                    {
                        return Err(io::Error::other(format!(
                            "Error reply to PING from master: '{l}'"
                        )));
                    }
                    log::info!("Master replied to PING, replication can continue...");
                    let pass = self.st.cfg.get("masterauth").to_string();
                    if pass.is_empty() {
                        let port = self.st.port.to_string();
                        self.send_master(
                            &[b"REPLCONF", b"listening-port", port.as_bytes()],
                            Step::Port,
                        )?;
                    } else {
                        let user = self.st.cfg.get("masteruser").to_string();
                        if user.is_empty() {
                            self.send_master(&[b"AUTH", pass.as_bytes()], Step::Auth)?;
                        } else {
                            self.send_master(
                                &[b"AUTH", user.as_bytes(), pass.as_bytes()],
                                Step::Auth,
                            )?;
                        }
                    }
                }
                Step::Auth => {
                    let Some(l) = self.read_line()? else {
                        return Ok(());
                    };
                    if l.starts_with('-') {
                        log::warn!("Unable to AUTH to MASTER: {}", l);
                        return Err(io::Error::other("auth failed"));
                    }
                    let port = self.st.port.to_string();
                    self.send_master(
                        &[b"REPLCONF", b"listening-port", port.as_bytes()],
                        Step::Port,
                    )?;
                }
                Step::Port => {
                    let Some(_) = self.read_line()? else {
                        return Ok(());
                    };
                    self.send_master(&[b"REPLCONF", b"capa", b"psync2"], Step::Capa)?;
                }
                Step::Capa => {
                    let Some(_) = self.read_line()? else {
                        return Ok(());
                    };
                    match &self.st.cached_master {
                        Some((id, off, _)) => {
                            let (id, next) = (id.clone(), (off + 1).to_string());
                            log::info!("Trying a partial resynchronization (request {id}:{next}).");
                            self.send_master(
                                &[b"PSYNC", id.as_bytes(), next.as_bytes()],
                                Step::Psync,
                            )?;
                        }
                        None => self.send_master(&[b"PSYNC", b"?", b"-1"], Step::Psync)?,
                    }
                }
                Step::Psync => {
                    let Some(l) = self.read_line()? else {
                        return Ok(());
                    };
                    if let Some(id) = l.strip_prefix("+CONTINUE")
                        && let Some((old, off, db)) = self.st.cached_master.take()
                    {
                        let id = id.trim();
                        let link = self.st.master.as_mut().unwrap();
                        link.replid = if id.is_empty() { old } else { id.to_string() };
                        link.offset = off;
                        log::info!(
                            "MASTER <-> REPLICA sync: Master accepted a Partial Resynchronization."
                        );
                        return self.continue_sync(db);
                    }
                    // Whatever we had is replaced.
                    self.st.cached_master = None;
                    let Some(rest) = l.strip_prefix("+FULLRESYNC ") else {
                        return Err(io::Error::other(format!(
                            "Unexpected reply to PSYNC from master: {l}"
                        )));
                    };
                    let mut it = rest.split(' ');
                    let swapdb = self.st.cfg.get("repl-diskless-load") == "swapdb";
                    let ours = self.st.repl.replid.clone();
                    let link = self.st.master.as_mut().unwrap();
                    link.replid = it.next().unwrap_or("").to_string();
                    // The same history from another point in time: the old
                    // dataset stays readable while the new one arrives.
                    link.async_loading = swapdb && link.replid == ours;
                    link.offset = it.next().and_then(|o| o.parse().ok()).unwrap_or(0);
                    log::info!("Full resync from master: {}:{}", link.replid, link.offset);
                    link.step = Step::BulkHeader;
                }
                Step::BulkHeader => {
                    let Some(l) = self.read_line()? else {
                        return Ok(());
                    };
                    let Some(n) = l.strip_prefix('$').and_then(|n| n.parse::<usize>().ok()) else {
                        return Err(io::Error::other(format!(
                            "Bad protocol from MASTER, the first byte is not '$': {l}"
                        )));
                    };
                    log::info!(
                        "MASTER <-> REPLICA sync: receiving {} bytes from master to disk",
                        n
                    );
                    let link = self.st.master.as_mut().unwrap();
                    link.remaining = n;
                    link.step = Step::Transfer;
                }
                Step::Transfer => {
                    let link = self.st.master.as_mut().unwrap();
                    if link.buf.len() < link.remaining {
                        self.read_line()?;
                        let link = self.st.master.as_mut().unwrap();
                        if link.buf.len() < link.remaining {
                            return Ok(());
                        }
                    }
                    return self.finish_sync();
                }
            }
        }
    }

    /// Loads the received RDB and turns the link into the master client.
    fn finish_sync(&mut self) -> io::Result<()> {
        let mut link = self.st.master.take().unwrap();
        let rest = link.buf.split_off(link.remaining);
        let rdb = std::mem::take(&mut link.buf);
        log::info!("MASTER <-> REPLICA sync: Flushing old data");
        for db in self.st.dbs.iter_mut() {
            db.flush();
        }
        log::info!("MASTER <-> REPLICA sync: Loading DB in memory");
        let max = self.st.cfg.hot.proto_max_bulk_len.max(0) as u64;
        let mut libs = Vec::new();
        let loaded = crate::persist::rdb::load_with_functions(
            &rdb,
            &mut self.st.dbs,
            i64::MIN,
            max,
            &mut libs,
        )
        .and_then(|_| {
            self.st.scripts.flush_functions();
            crate::commands::scripting::load_libraries(&mut self.st, &libs, true)
                .map_err(crate::persist::rdb::LoadError)
        });
        if let Err(e) = loaded {
            self.st.master = Some(link);
            return Err(io::Error::other(format!(
                "Failed trying to load the MASTER synchronization DB from socket: {}",
                e.0
            )));
        }
        let key = self.attach_master(link, rest, 0)?;
        // The AOF described the old dataset: start it over from this one.
        crate::persist::aof::restart_after_sync(&mut self.st);
        log::info!("MASTER <-> REPLICA sync: Finished with success");
        // The stream bytes that came with the payload.
        self.process_client_now(key);
        Ok(())
    }

    /// PSYNC was answered +CONTINUE: the dataset stays, the stream goes on
    /// from the offset we had, in the db the old link had selected.
    fn continue_sync(&mut self, db: usize) -> io::Result<()> {
        let mut link = self.st.master.take().unwrap();
        let rest = std::mem::take(&mut link.buf);
        let key = self.attach_master(link, rest, db)?;
        log::info!("MASTER <-> REPLICA sync: Successfully continued the replication stream.");
        self.process_client_now(key);
        Ok(())
    }

    /// Turns the link's connection into the master client (in the slab,
    /// read like any client, its replies suppressed), with `rest` as the
    /// first stream bytes.
    fn attach_master(
        &mut self,
        mut link: MasterLink,
        rest: Vec<u8>,
        db: usize,
    ) -> io::Result<usize> {
        let mut conn = link.conn.take().unwrap();
        let _ = self.poll.registry().deregister(&mut conn);
        let entry = self.clients.vacant_entry();
        let key = entry.key();
        let id = self.st.next_client_id;
        self.st.next_client_id += 1;
        let addr = conn.peer_addr().map(|a| a.to_string()).unwrap_or_default();
        let laddr = conn.local_addr().map(|a| a.to_string()).unwrap_or_default();
        let mut c = Box::new(crate::client::Client::new(
            id,
            key,
            crate::client::Conn::Tcp(conn),
            addr,
            laddr,
            false,
            crate::util::now_ms(),
            2,
        ));
        c.authenticated = true;
        c.is_master = true;
        c.user.clear();
        c.qbuf = rest;
        c.db = db;
        self.poll.registry().register(
            c.conn.source(),
            Token(CLIENT_BASE + key),
            Interest::READABLE,
        )?;
        entry.insert(Some(c));
        link.client = Some(key);
        link.sync_in_progress = false;
        link.async_loading = false;
        self.st.repl.replid = link.replid.clone();
        self.st.repl.offset = link.offset;
        self.st.master = Some(link);
        Ok(key)
    }
}
