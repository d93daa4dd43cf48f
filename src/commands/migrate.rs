//! MIGRATE: moves (or copies) keys to another server by sending it
//! RESTORE commands built from DUMP payloads.
//!
//! As in Redis, the transfer is synchronous: the reactor waits for the
//! target (within the command's timeout) the way a slow command would.
//! Connections are cached per target for 10 seconds of idleness
//! (`migrate_cached_sockets`), remembering the db last selected there.

use crate::command::flags::*;
use crate::command::{ArgExt, CmdError, CmdResult, CommandSpec, Ctx, cmd, keys};
use crate::config::notify;
use crate::resp::Args;
use crate::util::eq_ic;
use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::time::Duration;

pub static COMMANDS: &[CommandSpec] = &[CommandSpec {
    getkeys: Some(migrate_keys),
    ..cmd(
        "migrate",
        -6,
        WRITE | MAY_REPLICATE,
        keys(3, 3, 1),
        "generic",
        "2.6.0",
        "Atomically transfers a key from one Redis instance to another.",
        migrate,
    )
}];

/// How long an unused cached connection lives.
const CACHE_IDLE_MS: i64 = 10_000;
/// At most this many cached connections (Redis's MIGRATE_SOCKET_CACHE_ITEMS).
const CACHE_MAX: usize = 64;

struct Cached {
    conn: BufReader<TcpStream>,
    /// The db last SELECTed on this connection.
    db: Option<i64>,
    last_use_ms: i64,
}

/// The connection cache, owned by the server state.
#[derive(Default)]
pub struct Cache {
    conns: HashMap<String, Cached>,
}

impl Cache {
    pub fn len(&self) -> usize {
        self.conns.len()
    }

    pub fn is_empty(&self) -> bool {
        self.conns.is_empty()
    }

    /// Closes connections idle for more than 10 seconds (cron).
    pub fn close_idle(&mut self, now_ms: i64) {
        self.conns
            .retain(|_, c| now_ms - c.last_use_ms <= CACHE_IDLE_MS);
    }
}

/// MIGRATE's key finder: every key is read and deleted here.
pub fn migrate_keys(args: &Args) -> Vec<crate::command::keyspecs::KeyRef> {
    use crate::command::keyspecs::flag::*;
    key_positions(args)
        .into_iter()
        .map(|p| (p, RW | ACCESS | DELETE))
        .collect()
}

/// The key positions of a MIGRATE: the key argument, or what follows KEYS.
pub fn key_positions(args: &Args) -> Vec<usize> {
    let mut i = 6;
    while i < args.len() {
        if eq_ic(&args[i], "auth") {
            i += 1;
        } else if eq_ic(&args[i], "auth2") {
            i += 2;
        } else if eq_ic(&args[i], "keys") {
            // KEYS beside a key of its own is a syntax error, which
            // MIGRATE reports: no keys until then, as Redis's finder.
            if !args[3].is_empty() {
                return Vec::new();
            }
            return (i + 1..args.len()).collect();
        }
        i += 1;
    }
    vec![3]
}

fn encode(argv: &[&[u8]], out: &mut Vec<u8>) {
    out.extend_from_slice(format!("*{}\r\n", argv.len()).as_bytes());
    for a in argv {
        out.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
        out.extend_from_slice(a);
        out.extend_from_slice(b"\r\n");
    }
}

/// One reply line from the target (status, error or integer replies only:
/// AUTH, SELECT and RESTORE answer nothing else).
fn read_line(conn: &mut BufReader<TcpStream>) -> Result<String, CmdError> {
    let mut line = String::new();
    match conn.read_line(&mut line) {
        Ok(n) if n > 0 && line.ends_with("\r\n") => {
            line.truncate(line.len() - 2);
            Ok(line)
        }
        _ => Err(CmdError::msg(
            "IOERR error or timeout reading to target instance",
        )),
    }
}

/// MIGRATE host port key|"" destination-db timeout [COPY] [REPLACE]
/// [AUTH password | AUTH2 username password] [KEYS key [key ...]]
fn migrate(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let (mut copy, mut replace) = (false, false);
    let mut auth: Option<Vec<&[u8]>> = None;
    let mut first_key = 3;
    let mut nkeys = 1;
    let mut i = 6;
    while i < args.len() {
        let more = args.len() - i - 1;
        if eq_ic(&args[i], "copy") {
            copy = true;
        } else if eq_ic(&args[i], "replace") {
            replace = true;
        } else if eq_ic(&args[i], "auth") && more >= 1 {
            auth = Some(vec![&args[i + 1]]);
            i += 1;
        } else if eq_ic(&args[i], "auth2") && more >= 2 {
            auth = Some(vec![&args[i + 1], &args[i + 2]]);
            i += 2;
        } else if eq_ic(&args[i], "keys") {
            if !args[3].is_empty() {
                return Err(CmdError::msg(
                    "ERR When using MIGRATE KEYS option, the key argument must be set to the empty string",
                ));
            }
            first_key = i + 1;
            nkeys = args.len() - i - 1;
            break;
        } else {
            return Err(CmdError::Syntax);
        }
        i += 1;
    }
    let db = args.i64_at(4)?;
    let timeout = args.i64_at(5)?.max(1);
    let port = args.i64_at(2)?;

    // The keys that exist, with their payloads and TTLs.
    let now = ctx.now();
    let mut found: Vec<(usize, Vec<u8>, i64)> = Vec::new();
    for k in first_key..first_key + nkeys {
        let key = &args[k];
        let Some(o) = ctx.lookup(key) else { continue };
        let payload = crate::persist::rdb::dump_payload(&o.v);
        let db_idx = ctx.c.db;
        let ttl = ctx.st.dbs[db_idx]
            .get_expire(key)
            .map(|w| (w - now).max(1))
            .unwrap_or(0);
        found.push((k, payload, ttl));
    }
    if found.is_empty() {
        ctx.c.reply.simple("NOKEY");
        return Ok(());
    }

    let host = String::from_utf8_lossy(&args[1]).into_owned();
    let target = format!("{host}:{port}");
    let deadline = Duration::from_millis(timeout as u64);
    let now_ms = crate::util::now_ms();
    let cache = &mut ctx.st.migrate;
    if !cache.conns.contains_key(&target) {
        if cache.conns.len() >= CACHE_MAX {
            // Make room: drop one at random, as Redis does.
            if let Some(k) = cache.conns.keys().next().cloned() {
                cache.conns.remove(&k);
            }
        }
        let addr = std::net::ToSocketAddrs::to_socket_addrs(&(host.as_str(), port as u16))
            .ok()
            .and_then(|mut a| a.next());
        let conn = addr.and_then(|a| TcpStream::connect_timeout(&a, deadline).ok());
        let Some(conn) = conn else {
            return Err(CmdError::msg(
                "IOERR error or timeout connecting to the client",
            ));
        };
        let _ = conn.set_nodelay(true);
        cache.conns.insert(
            target.clone(),
            Cached {
                conn: BufReader::new(conn),
                db: None,
                last_use_ms: now_ms,
            },
        );
    }
    let Some(cached) = cache.conns.get_mut(&target) else {
        return Err(CmdError::msg(
            "IOERR error or timeout connecting to the client",
        ));
    };
    cached.last_use_ms = now_ms;
    let _ = cached.conn.get_ref().set_read_timeout(Some(deadline));
    let _ = cached.conn.get_ref().set_write_timeout(Some(deadline));

    // One write: AUTH, SELECT (if another db), then the RESTOREs.
    let mut out = Vec::new();
    if let Some(a) = &auth {
        let mut argv: Vec<&[u8]> = vec![b"AUTH"];
        argv.extend(a.iter().copied());
        encode(&argv, &mut out);
    }
    let select = cached.db != Some(db);
    let db_text = db.to_string();
    if select {
        encode(&[b"SELECT", db_text.as_bytes()], &mut out);
    }
    // Plain RESTORE in cluster mode too (Redis sends RESTORE-ASKING for
    // slots being imported, which a single-node cluster never has).
    for (k, payload, ttl) in &found {
        let ttl = ttl.to_string();
        let mut argv: Vec<&[u8]> = vec![b"RESTORE", &args[*k], ttl.as_bytes(), payload];
        if replace {
            argv.push(b"REPLACE");
        }
        encode(&argv, &mut out);
    }
    let io_err = |cache: &mut Cache, msg: &'static str| {
        cache.conns.remove(&target);
        Err(CmdError::msg(msg))
    };
    if cached.conn.get_mut().write_all(&out).is_err() {
        return io_err(
            &mut ctx.st.migrate,
            "IOERR error or timeout writing to target instance",
        );
    }

    let mut error: Option<String> = None;
    if auth.is_some() {
        match read_line(&mut cached.conn) {
            Ok(l) if l.starts_with('-') => error = Some(l[1..].to_string()),
            Ok(_) => {}
            Err(e) => {
                ctx.st.migrate.conns.remove(&target);
                return Err(e);
            }
        }
    }
    if select {
        match read_line(&mut cached.conn) {
            Ok(l) if l.starts_with('-') => {
                error.get_or_insert_with(|| l[1..].to_string());
            }
            Ok(_) => cached.db = Some(db),
            Err(e) => {
                ctx.st.migrate.conns.remove(&target);
                return Err(e);
            }
        }
    }
    let mut acked = Vec::new();
    for (k, _, _) in &found {
        match read_line(&mut cached.conn) {
            Ok(l) if l.starts_with('-') => {
                error.get_or_insert_with(|| l[1..].to_string());
            }
            Ok(_) => acked.push(*k),
            Err(e) => {
                ctx.st.migrate.conns.remove(&target);
                return Err(e);
            }
        }
    }
    // Keys the target acknowledged leave this server (unless COPY), even
    // when another key failed; the deletions replicate as one DEL.
    if !copy && !acked.is_empty() {
        let mut del: Vec<Vec<u8>> = vec![b"DEL".to_vec()];
        for &k in &acked {
            let key = &args[k];
            if ctx.db().delete(key) {
                ctx.wrote(key, "del", notify::GENERIC);
                del.push(key.to_vec());
            }
        }
        if del.len() > 1 {
            ctx.propagate_as(del);
        }
    } else {
        ctx.prevent_propagation();
    }
    if let Some(e) = error {
        if auth.is_some() || select {
            // The connection's state is unknown after a failed AUTH/SELECT.
            ctx.st.migrate.conns.remove(&target);
        }
        return Err(CmdError::Msg(format!(
            "ERR Target instance replied with error: {e}"
        )));
    }
    ctx.ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_resp_arrays() {
        let mut out = Vec::new();
        encode(&[b"SELECT", b"9"], &mut out);
        assert_eq!(out, b"*2\r\n$6\r\nSELECT\r\n$1\r\n9\r\n");
    }
}
