//! The replication stream: every write that changed the dataset is
//! propagated as a command, in the form that gives the same result anywhere
//! (relative TTLs become absolute, expired keys become DEL). Replicas that
//! attached with SYNC/PSYNC receive the stream after an RDB snapshot.

use crate::db::Key;

#[derive(Default)]
pub struct ReplState {
    /// Slab keys of attached replica clients.
    pub replicas: Vec<usize>,
    /// Slab keys of replicas waiting for a delayed diskless full sync
    /// (repl-diskless-sync-delay), so that several share one snapshot.
    /// (Slab key, whether it asked with PSYNC.)
    pub waiting: Vec<(usize, bool)>,
    /// When the waiting replicas last got a newline (unix ms): it keeps
    /// their handshake timeout from firing while they wait.
    pub last_newline_ms: i64,
    /// The database the stream last SELECTed (None: emit SELECT next).
    pub stream_db: Option<usize>,
    /// Propagated bytes not yet handed to the replicas.
    pub out: Vec<u8>,
    pub offset: i64,
    pub replid: String,
    /// Commands the running command asked to propagate instead of itself.
    pub also: Vec<Vec<Vec<u8>>>,
    /// Commands the running command caused besides itself (HDELs of hash
    /// fields it found expired), propagated before it even if it is not.
    pub pre: Vec<Vec<Vec<u8>>>,
    /// The running command asked not to be propagated at all.
    pub prevent: bool,
    /// Where the commands fed now go (a script's `redis.set_repl`).
    pub side: Side,
    /// Where the next command's own effects go; `propagate` applies it
    /// to them and not to the expired keys fed before them.
    pub side_next: Side,
    /// Spans of `out` that only one side gets: (start, end, Side). The
    /// rest goes to both.
    pub one_sided: Vec<(usize, usize, Side)>,
    /// Commands fed so far (SELECTs aside), so EXEC can tell whether its
    /// body needs MULTI/EXEC around it.
    pub fed: u64,
    /// The AOF consumes the stream too (`persist::aof`).
    pub aof: bool,
    /// A client started waiting in WAIT: send REPLCONF GETACK before sleeping.
    pub get_ack: bool,
    /// When the replicas were last sent a PING (unix ms).
    pub last_ping_ms: i64,
    /// Replicas that acknowledged within min-replicas-max-lag seconds
    /// (what min-replicas-to-write counts).
    pub good_replicas: usize,
    /// Something changed what `good_replicas` counts: recount it.
    pub recount_good: bool,
    /// The last bytes of the stream, for replicas that reconnect (PSYNC
    /// continues from it). Created with the first replica.
    pub backlog: Option<Backlog>,
    /// Since when no replica is attached (unix ms, 0 while some are):
    /// the backlog goes after repl-backlog-ttl seconds of that.
    pub no_replicas_since: i64,
    /// Full and partial resyncs served, and PSYNCs that asked for a
    /// partial one and got a full one (INFO sync_*).
    pub sync_full: u64,
    pub sync_partial_ok: u64,
    pub sync_partial_err: u64,
}

/// Redis's repl_backlog: a window of the stream ending at the current
/// offset.
#[derive(Debug, Default)]
pub struct Backlog {
    buf: std::collections::VecDeque<u8>,
    /// The offset of the first byte held.
    pub start: i64,
    pub size: usize,
}

impl Backlog {
    /// A backlog whose next byte has offset `next`.
    pub fn new(next: i64, size: usize) -> Backlog {
        Backlog {
            buf: Default::default(),
            start: next,
            size: size.max(1),
        }
    }

    pub fn len(&self) -> usize {
        self.buf.len()
    }

    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    pub fn append(&mut self, bytes: &[u8]) {
        self.buf.extend(bytes);
        if self.buf.len() > self.size {
            let drop = self.buf.len() - self.size;
            self.buf.drain(..drop);
            self.start += drop as i64;
        }
    }

    /// CONFIG SET repl-backlog-size: keeps the newest bytes that fit.
    pub fn resize(&mut self, size: usize) {
        self.size = size.max(1);
        self.append(&[]);
    }

    /// The bytes from offset `from` to the end, if the backlog still holds
    /// them all (`from` may be one past the end: nothing to send).
    pub fn since(&self, from: i64) -> Option<Vec<u8>> {
        if from < self.start || from > self.start + self.buf.len() as i64 {
            return None;
        }
        let skip = (from - self.start) as usize;
        Some(self.buf.iter().skip(skip).copied().collect())
    }
}

impl ReplState {
    pub fn new() -> ReplState {
        ReplState {
            replid: crate::server::random_hex(40),
            ..Default::default()
        }
    }

    /// Whether anyone consumes the stream.
    pub fn active(&self) -> bool {
        !self.replicas.is_empty() || self.aof || self.backlog.is_some()
    }

    /// Appends one command to the stream, preceded by SELECT when the
    /// stream is positioned on another database.
    pub fn feed<'a>(&mut self, db: usize, args: impl ExactSizeIterator<Item = &'a [u8]>) {
        if !self.active() {
            return;
        }
        let start = self.out.len();
        if self.stream_db != Some(db) {
            let id = db.to_string();
            encode(&mut self.out, [&b"SELECT"[..], id.as_bytes()].into_iter());
            self.stream_db = Some(db);
        }
        // The SELECT goes to both sides, so both stay on the same db.
        let cmd_start = self.out.len();
        encode(&mut self.out, args);
        self.fed += 1;
        if self.side != Side::Both {
            self.one_sided.push((cmd_start, self.out.len(), self.side));
            if self.side == Side::Aof {
                // Replicas never see it: only its SELECT moves their
                // offset (which counts commands without a backlog).
                if self.replicas.is_empty() && self.backlog.is_none() {
                    self.offset += 1;
                } else {
                    self.offset += (cmd_start - start) as i64;
                }
                return;
            }
        }
        // Without a backlog (no replica ever attached, or its TTL ran
        // out) the offset counts commands, as in Redis: the AOF's manifest
        // records it, and WAITAOF waits on it.
        if self.replicas.is_empty() && self.backlog.is_none() {
            self.offset += 1;
        } else {
            self.offset += (self.out.len() - start) as i64;
        }
    }

    /// Propagates keys removed by expiry as DEL (UNLINK when lazy).
    pub fn feed_expired(&mut self, db: usize, keys: &mut Vec<Key>, lazy: bool) {
        let cmd: &[u8] = if lazy { b"UNLINK" } else { b"DEL" };
        for k in keys.drain(..) {
            self.feed(db, [cmd, &k[..]].into_iter());
        }
    }
}

/// Who gets a propagated command: `redis.set_repl` can keep one from the
/// AOF or from the replicas.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Side {
    #[default]
    Both,
    Aof,
    Replicas,
}

impl ReplState {
    /// Wraps what was fed since `mark` in MULTI/EXEC (EXEC bodies and
    /// scripts that wrote more than once), keeping the one-sided spans on
    /// their commands.
    pub fn wrap_multi(&mut self, mark: usize) {
        let mut m = Vec::new();
        encode(&mut m, [&b"MULTI"[..]].into_iter());
        let n = m.len();
        self.out.splice(mark..mark, m);
        for span in self.one_sided.iter_mut().filter(|s| s.0 >= mark) {
            span.0 += n;
            span.1 += n;
        }
        let end = self.out.len();
        encode(&mut self.out, [&b"EXEC"[..]].into_iter());
        self.offset += (n + self.out.len() - end) as i64;
    }

    /// Forgets what was fed from `mark` on (an AOF replay feeds nobody).
    pub fn truncate(&mut self, mark: usize) {
        self.out.truncate(mark);
        self.one_sided.retain(|s| s.0 < mark);
    }
}

/// The stream as the AOF and as the replicas get it, when `spans` of it
/// are one-sided.
pub fn split_sides(out: &[u8], spans: &[(usize, usize, Side)]) -> (Vec<u8>, Vec<u8>) {
    let (mut aof, mut rep) = (Vec::with_capacity(out.len()), Vec::with_capacity(out.len()));
    let mut at = 0;
    for &(a, b, side) in spans {
        aof.extend_from_slice(&out[at..a]);
        rep.extend_from_slice(&out[at..a]);
        if side != Side::Replicas {
            aof.extend_from_slice(&out[a..b]);
        }
        if side != Side::Aof {
            rep.extend_from_slice(&out[a..b]);
        }
        at = b;
    }
    aof.extend_from_slice(&out[at..]);
    rep.extend_from_slice(&out[at..]);
    (aof, rep)
}

/// Multibulk encoding of one command.
pub fn encode<'a>(out: &mut Vec<u8>, args: impl ExactSizeIterator<Item = &'a [u8]>) {
    let mut t = [0u8; 20];
    out.push(b'*');
    out.extend_from_slice(crate::util::fmt_i64(args.len() as i64, &mut t));
    out.extend_from_slice(b"\r\n");
    for a in args {
        out.push(b'$');
        out.extend_from_slice(crate::util::fmt_i64(a.len() as i64, &mut t));
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(a);
        out.extend_from_slice(b"\r\n");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_sided_commands_reach_one_side() {
        let mut r = ReplState::new();
        r.replicas.push(1);
        r.feed(0, [&b"SET"[..], b"a", b"1"].into_iter());
        let mark = r.out.len();
        r.side = Side::Aof;
        r.feed(3, [&b"SET"[..], b"c", b"3"].into_iter());
        r.side = Side::Replicas;
        r.feed(3, [&b"SET"[..], b"d", b"4"].into_iter());
        r.side = Side::Both;
        r.wrap_multi(mark);
        let (aof, rep) = split_sides(&r.out, &r.one_sided);
        let (aof, rep) = (
            String::from_utf8(aof).unwrap(),
            String::from_utf8(rep).unwrap(),
        );
        for s in [&aof, &rep] {
            assert!(s.contains("$1\r\na\r\n") && s.contains("MULTI") && s.contains("EXEC"));
            assert!(s.contains("SELECT\r\n$1\r\n3"));
        }
        assert!(aof.contains("$1\r\nc\r\n") && !aof.contains("$1\r\nd\r\n"));
        assert!(rep.contains("$1\r\nd\r\n") && !rep.contains("$1\r\nc\r\n"));
        // The replicas' offset is what they were sent.
        assert_eq!(r.offset, rep.len() as i64);
    }

    #[test]
    fn select_is_emitted_once_per_db_change() {
        let mut r = ReplState::new();
        r.replicas.push(1);
        r.feed(0, [&b"SET"[..], b"k", b"v"].into_iter());
        r.feed(0, [&b"DEL"[..], b"k"].into_iter());
        r.feed(9, [&b"DEL"[..], b"k"].into_iter());
        let s = String::from_utf8(r.out.clone()).unwrap();
        assert_eq!(s.matches("SELECT").count(), 2);
        assert!(s.starts_with("*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n*3\r\n$3\r\nSET\r\n"));
        assert_eq!(r.offset as usize, r.out.len());
    }

    #[test]
    fn backlog_keeps_the_newest_bytes_and_answers_by_offset() {
        let mut b = Backlog::new(101, 8);
        b.append(b"abcdef");
        assert_eq!(b.since(101).unwrap(), b"abcdef");
        assert_eq!(b.since(104).unwrap(), b"def");
        assert_eq!(b.since(107).unwrap(), b"");
        assert!(b.since(108).is_none());
        b.append(b"ghijk");
        // 11 bytes through a window of 8: the first 3 are gone.
        assert_eq!(b.start, 104);
        assert!(b.since(103).is_none());
        assert_eq!(b.since(104).unwrap(), b"defghijk");
        b.resize(2);
        assert_eq!(b.since(110).unwrap(), b"jk");
    }
}
