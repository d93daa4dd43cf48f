//! `ReplyBuf`: every reply byte goes through here. It knows which protocol
//! the client speaks (RESP2 or RESP3) and picks the framing, as Redis's
//! `addReply*` family does.

use crate::util::{fmt_double, fmt_i64};

#[derive(Debug)]
pub struct ReplyBuf {
    pub buf: Vec<u8>,
    /// 2 or 3.
    pub resp: u8,
    /// Errors written since the last `take_error` call (for stats).
    pub last_error: Option<usize>,
    /// A push frame was written: it reaches the client even under
    /// CLIENT REPLY OFF, as Redis's push replies do.
    pub pushed: bool,
    /// Buffer length at which the client breaks its hard output limit
    /// (`usize::MAX`: none), set by `Client::arm_reply_limit`. Commands
    /// whose reply length is a number the client picked (SRANDMEMBER -N
    /// and kin) arm it and stop there, as Redis's stop once the client is
    /// marked to close: the client is closed anyway, and the rest would
    /// only be memory.
    pub limit: usize,
}

impl Default for ReplyBuf {
    fn default() -> ReplyBuf {
        ReplyBuf {
            buf: Vec::new(),
            resp: 0,
            last_error: None,
            pushed: false,
            limit: usize::MAX,
        }
    }
}

impl ReplyBuf {
    pub fn new() -> ReplyBuf {
        ReplyBuf {
            buf: Vec::with_capacity(1024),
            resp: 2,
            last_error: None,
            pushed: false,
            limit: usize::MAX,
        }
    }

    /// The hard output limit is broken (see `limit`).
    pub fn over_limit(&self) -> bool {
        self.buf.len() >= self.limit
    }

    pub fn len(&self) -> usize {
        self.buf.len()
    }

    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    fn header(&mut self, prefix: u8, n: i64) {
        let mut b = [0u8; 20];
        self.buf.push(prefix);
        self.buf.extend_from_slice(fmt_i64(n, &mut b));
        self.buf.extend_from_slice(b"\r\n");
    }

    /// Raw protocol bytes, already framed.
    pub fn raw(&mut self, b: &[u8]) {
        self.buf.extend_from_slice(b);
    }

    pub fn ok(&mut self) {
        self.buf.extend_from_slice(b"+OK\r\n");
    }

    /// `+status`. Newlines would break framing, so they become spaces.
    pub fn simple(&mut self, s: &str) {
        self.buf.push(b'+');
        self.push_line(s.as_bytes());
    }

    fn push_line(&mut self, s: &[u8]) {
        for &c in s {
            self.buf
                .push(if c == b'\r' || c == b'\n' { b' ' } else { c });
        }
        self.buf.extend_from_slice(b"\r\n");
    }

    /// `-ERR ...`: `msg` must already carry its code (`ERR`, `WRONGTYPE`...);
    /// a message without an upper-case code gets `ERR ` in front, as Redis's
    /// `addReplyError` does.
    pub fn error(&mut self, msg: &str) {
        // addReplyErrorFormat trims newlines off the end before mapping the
        // inner ones to spaces, so an argument echoed back ("Unknown option
        // given: <code>\n") ends without a trailing space.
        let msg = msg.trim_end_matches(['\r', '\n']);
        self.last_error = Some(self.buf.len());
        self.buf.push(b'-');
        let first = msg.split(' ').next().unwrap_or("");
        if msg.starts_with('-') {
            self.push_line(&msg.as_bytes()[1..]);
            return;
        }
        if first.is_empty()
            || !first
                .bytes()
                .all(|c| c.is_ascii_uppercase() || c == b'_' || c.is_ascii_digit())
        {
            self.buf.extend_from_slice(b"ERR ");
        }
        self.push_line(msg.as_bytes());
    }

    pub fn int(&mut self, n: i64) {
        self.header(b':', n);
    }

    pub fn bulk(&mut self, s: &[u8]) {
        self.header(b'$', s.len() as i64);
        self.buf.extend_from_slice(s);
        self.buf.extend_from_slice(b"\r\n");
    }

    pub fn bulk_i64(&mut self, n: i64) {
        let mut b = [0u8; 20];
        let s = fmt_i64(n, &mut b);
        let mut h = [0u8; 20];
        self.buf.push(b'$');
        self.buf.extend_from_slice(fmt_i64(s.len() as i64, &mut h));
        self.buf.extend_from_slice(b"\r\n");
        self.buf.extend_from_slice(s);
        self.buf.extend_from_slice(b"\r\n");
    }

    /// A null bulk: `$-1` in RESP2, `_` in RESP3.
    pub fn null(&mut self) {
        if self.resp >= 3 {
            self.buf.extend_from_slice(b"_\r\n");
        } else {
            self.buf.extend_from_slice(b"$-1\r\n");
        }
    }

    /// A null array: `*-1` in RESP2, `_` in RESP3.
    pub fn null_array(&mut self) {
        if self.resp >= 3 {
            self.buf.extend_from_slice(b"_\r\n");
        } else {
            self.buf.extend_from_slice(b"*-1\r\n");
        }
    }

    pub fn array(&mut self, n: usize) {
        self.header(b'*', n as i64);
    }

    /// A map of `n` pairs: `%n` in RESP3, a flat array of 2n in RESP2.
    pub fn map(&mut self, n: usize) {
        if self.resp >= 3 {
            self.header(b'%', n as i64);
        } else {
            self.header(b'*', 2 * n as i64);
        }
    }

    pub fn set(&mut self, n: usize) {
        if self.resp >= 3 {
            self.header(b'~', n as i64);
        } else {
            self.header(b'*', n as i64);
        }
    }

    pub fn push(&mut self, n: usize) {
        // Pushes bypass CLIENT REPLY OFF in RESP2 too (the `*N` framing is
        // only a wire detail there).
        self.pushed = true;
        if self.resp >= 3 {
            self.header(b'>', n as i64);
        } else {
            self.header(b'*', n as i64);
        }
    }

    pub fn double(&mut self, d: f64) {
        let s = fmt_double(d);
        if self.resp >= 3 {
            self.buf.push(b',');
            self.buf.extend_from_slice(s.as_bytes());
            self.buf.extend_from_slice(b"\r\n");
        } else {
            self.bulk(s.as_bytes());
        }
    }

    pub fn boolean(&mut self, b: bool) {
        if self.resp >= 3 {
            self.buf
                .extend_from_slice(if b { b"#t\r\n" } else { b"#f\r\n" });
        } else {
            self.int(b as i64);
        }
    }

    /// Verbatim string (`=len\r\ntxt:...`); a plain bulk in RESP2.
    pub fn verbatim(&mut self, s: &[u8], fmt: &str) {
        if self.resp >= 3 {
            self.header(b'=', s.len() as i64 + 4);
            self.buf.extend_from_slice(fmt.as_bytes());
            self.buf.push(b':');
            self.buf.extend_from_slice(s);
            self.buf.extend_from_slice(b"\r\n");
        } else {
            self.bulk(s);
        }
    }

    pub fn bignum(&mut self, digits: &str) {
        if self.resp >= 3 {
            self.buf.push(b'(');
            self.buf.extend_from_slice(digits.as_bytes());
            self.buf.extend_from_slice(b"\r\n");
        } else {
            self.bulk(digits.as_bytes());
        }
    }

    /// Reserves room for an aggregate header whose length is known only
    /// after the elements are written; pass the returned mark to
    /// `set_deferred`.
    pub fn deferred(&mut self) -> usize {
        let at = self.buf.len();
        self.buf.extend_from_slice(&[0u8; 0]);
        at
    }

    /// Inserts the header for a deferred aggregate of `n` elements of kind
    /// `prefix` (`*`, `%`, `~`). Map lengths are counted in pairs.
    pub fn set_deferred(&mut self, mark: usize, prefix: u8, n: usize) {
        let (p, n) = match prefix {
            b'%' if self.resp < 3 => (b'*', n * 2),
            b'~' if self.resp < 3 => (b'*', n),
            _ => (prefix, n),
        };
        let mut b = [0u8; 20];
        let mut h = Vec::with_capacity(24);
        h.push(p);
        h.extend_from_slice(fmt_i64(n as i64, &mut b));
        h.extend_from_slice(b"\r\n");
        self.buf.splice(mark..mark, h);
    }

    pub fn bulk_str(&mut self, s: &str) {
        self.bulk(s.as_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resp2_and_resp3_framing() {
        let mut r = ReplyBuf::new();
        r.null();
        r.map(1);
        r.double(1.5);
        r.boolean(true);
        assert_eq!(r.buf, b"$-1\r\n*2\r\n$3\r\n1.5\r\n:1\r\n");
        let mut r = ReplyBuf::new();
        r.resp = 3;
        r.null();
        r.map(1);
        r.double(1.5);
        r.boolean(true);
        assert_eq!(r.buf, b"_\r\n%1\r\n,1.5\r\n#t\r\n");
    }

    #[test]
    fn errors_get_a_code() {
        let mut r = ReplyBuf::new();
        r.error("unknown thing");
        r.error("WRONGTYPE Operation");
        r.error("line\r\nbreak");
        r.error("ERR Unknown option given: a\nb\n");
        assert_eq!(
            r.buf,
            &b"-ERR unknown thing\r\n-WRONGTYPE Operation\r\n-ERR line  break\r\n\
               -ERR Unknown option given: a b\r\n"[..]
        );
    }

    #[test]
    fn deferred_headers() {
        let mut r = ReplyBuf::new();
        let m = r.deferred();
        r.int(1);
        r.int(2);
        r.set_deferred(m, b'*', 2);
        assert_eq!(r.buf, b"*2\r\n:1\r\n:2\r\n");
    }
}
