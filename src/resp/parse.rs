//! Incremental request parser for multibulk (`*N\r\n$len\r\n...`) and inline
//! commands, after Redis's `processMultibulkBuffer`/`processInlineBuffer`.
//!
//! The parser keeps its state between reads, so a half-received command is
//! resumed where it stopped instead of being re-scanned. Arguments are copied
//! into one reusable arena (`Args`), so a steady stream of commands allocates
//! nothing once the arena has grown. No allocation is ever sized by a length
//! the peer sent before that length passed the configured limits.

use memchr::memchr;

/// Longest line accepted before a `\r\n`: inline commands and count headers.
pub const INLINE_MAX: usize = 64 * 1024;
/// Bulk arguments this large are read into a buffer sized to fit them.
pub const BIG_ARG: usize = 32 * 1024;

/// One parsed command: argument bytes live in a shared arena.
#[derive(Default, Debug)]
pub struct Args {
    buf: Vec<u8>,
    spans: Vec<(u32, u32)>,
}

impl Args {
    pub fn len(&self) -> usize {
        self.spans.len()
    }
    pub fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }
    pub fn clear(&mut self) {
        self.buf.clear();
        self.spans.clear();
        // A huge argument should not pin its memory for the client's lifetime.
        if self.buf.capacity() > 64 * 1024 {
            self.buf = Vec::new();
        }
        if self.spans.capacity() > 1024 {
            self.spans = Vec::new();
        }
    }
    pub fn push(&mut self, a: &[u8]) {
        let start = self.buf.len() as u32;
        self.buf.extend_from_slice(a);
        self.spans.push((start, a.len() as u32));
    }
    pub fn iter(&self) -> impl ExactSizeIterator<Item = &[u8]> + '_ {
        self.spans
            .iter()
            .map(|&(s, l)| &self.buf[s as usize..(s + l) as usize])
    }
    /// Total bytes of all arguments (for `CLIENT LIST` `argv-mem`).
    pub fn mem(&self) -> usize {
        self.spans.iter().map(|&(_, l)| l as usize).sum()
    }

    /// The span list, for `Parser::whole_command` to fill with offsets
    /// into a buffer that `lend` then installs.
    pub fn spans_mut(&mut self) -> &mut Vec<(u32, u32)> {
        &mut self.spans
    }

    /// Makes `q` (a query buffer the spans point into) this command's
    /// storage; returns the arena it replaces, for `give_back`.
    pub fn lend(&mut self, q: Vec<u8>) -> Vec<u8> {
        std::mem::replace(&mut self.buf, q)
    }

    /// Ends a `lend`: restores the arena and returns the query buffer.
    pub fn give_back(&mut self, arena: Vec<u8>) -> Vec<u8> {
        self.spans.clear();
        std::mem::replace(&mut self.buf, arena)
    }
    #[allow(clippy::should_implement_trait)]
    pub fn from_iter<'a>(it: impl Iterator<Item = &'a [u8]>) -> Args {
        let mut a = Args::default();
        for s in it {
            a.push(s);
        }
        a
    }

    pub fn from_slices(v: &[&[u8]]) -> Args {
        let mut a = Args::default();
        for s in v {
            a.push(s);
        }
        a
    }
    pub fn to_vecs(&self) -> Vec<Vec<u8>> {
        self.iter().map(|a| a.to_vec()).collect()
    }
}

impl std::ops::Index<usize> for Args {
    type Output = [u8];
    fn index(&self, i: usize) -> &[u8] {
        let (s, l) = self.spans[i];
        &self.buf[s as usize..(s + l) as usize]
    }
}

/// Why a request could not be parsed; the connection is closed after the
/// error is sent, as Redis does.
#[derive(Debug, PartialEq, Eq)]
pub enum ParseError {
    TooBigInline,
    UnbalancedQuotes,
    TooBigMbulkCount,
    TooBigBulkCount,
    ExpectedDollar(u8),
    InvalidBulkLength,
    UnauthBulkLength,
    InvalidMultibulkLength,
    UnauthMultibulkLength,
}

impl ParseError {
    pub fn message(&self) -> String {
        match self {
            ParseError::TooBigInline => "Protocol error: too big inline request".into(),
            ParseError::UnbalancedQuotes => "Protocol error: unbalanced quotes in request".into(),
            ParseError::TooBigMbulkCount => "Protocol error: too big mbulk count string".into(),
            ParseError::TooBigBulkCount => "Protocol error: too big bulk count string".into(),
            ParseError::ExpectedDollar(c) => {
                format!("Protocol error: expected '$', got '{}'", *c as char)
            }
            ParseError::InvalidBulkLength => "Protocol error: invalid bulk length".into(),
            ParseError::UnauthBulkLength => "Protocol error: unauthenticated bulk length".into(),
            ParseError::InvalidMultibulkLength => "Protocol error: invalid multibulk length".into(),
            ParseError::UnauthMultibulkLength => {
                "Protocol error: unauthenticated multibulk length".into()
            }
        }
    }
}

/// Limits the parser enforces, from the configuration.
#[derive(Clone, Copy)]
pub struct Limits {
    pub max_bulk_len: i64,
    /// Authentication is still required: tighter limits apply.
    pub unauthenticated: bool,
}

/// Parser state carried between reads.
#[derive(Default, Debug)]
pub struct Parser {
    /// Bulk arguments still expected for the current multibulk.
    multibulk: i64,
    /// Length of the bulk being read, or -1 before its header.
    bulk: i64,
}

impl Parser {
    /// The length of the bulk argument being read, once its header was.
    pub fn pending_bulk(&self) -> Option<usize> {
        (self.multibulk > 0 && self.bulk >= 0).then_some(self.bulk as usize)
    }

    pub fn new() -> Parser {
        Parser {
            multibulk: 0,
            bulk: -1,
        }
    }

    /// Fast path for a whole multibulk command already in `q[pos..]`, the
    /// common case under pipelining: records where each argument lies in
    /// `q` (in `spans`) instead of copying it. Returns the position after
    /// the command, or None when the command is incomplete, inline, or
    /// anything else the incremental `parse` must handle or report (errors,
    /// limits), which then starts from the same position.
    pub fn whole_command(
        &self,
        q: &[u8],
        pos: usize,
        spans: &mut Vec<(u32, u32)>,
        lim: Limits,
    ) -> Option<usize> {
        if self.multibulk != 0 || q.len() > u32::MAX as usize {
            return None;
        }
        let end = Self::whole_spans(q, pos, spans, lim);
        if end.is_none() {
            // Leave nothing behind for the incremental parser.
            spans.clear();
        }
        end
    }

    fn whole_spans(
        q: &[u8],
        pos: usize,
        spans: &mut Vec<(u32, u32)>,
        lim: Limits,
    ) -> Option<usize> {
        if q.get(pos) != Some(&b'*') {
            return None;
        }
        let (n, mut p) = header_num(q, pos + 1)?;
        if n == 0 || n > i32::MAX as u64 || (n > 10 && lim.unauthenticated) {
            return None;
        }
        spans.clear();
        for _ in 0..n {
            // Every argument takes at least 6 bytes, so `spans` never
            // grows past what the buffer really holds.
            if q.get(p) != Some(&b'$') {
                return None;
            }
            let (len, start) = header_num(q, p + 1)?;
            if len > lim.max_bulk_len as u64 || (len > 16384 && lim.unauthenticated) {
                return None;
            }
            let end = start.checked_add(len as usize)?;
            if end.checked_add(2)? > q.len() {
                return None;
            }
            spans.push((start as u32, len as u32));
            p = end + 2;
        }
        Some(p)
    }

    /// True while a command is partly read.
    pub fn in_progress(&self) -> bool {
        self.multibulk > 0
    }

    /// Parses from `q[*pos..]`. Returns `Ok(true)` when `args` holds a whole
    /// command (possibly empty, for a blank line or `*0`), `Ok(false)` when
    /// more bytes are needed. `*pos` advances past what was consumed.
    /// `want` is set to the number of bytes the current bulk still needs,
    /// so the reader can size its buffer.
    pub fn parse(
        &mut self,
        q: &[u8],
        pos: &mut usize,
        args: &mut Args,
        lim: Limits,
        want: &mut usize,
    ) -> Result<bool, ParseError> {
        *want = 0;
        if self.multibulk == 0 {
            if *pos >= q.len() {
                return Ok(false);
            }
            if q[*pos] != b'*' {
                return self.parse_inline(q, pos, args);
            }
            let rest = &q[*pos..];
            let Some(nl) = header_end(rest, ParseError::TooBigMbulkCount)? else {
                return Ok(false);
            };
            let n = crate::util::parse_i64(&rest[1..nl]);
            let n = match n {
                Some(n) if n <= i32::MAX as i64 => n,
                _ => return Err(ParseError::InvalidMultibulkLength),
            };
            if n > 10 && lim.unauthenticated {
                return Err(ParseError::UnauthMultibulkLength);
            }
            *pos += nl + 2;
            if n <= 0 {
                return Ok(true);
            }
            self.multibulk = n;
            self.bulk = -1;
            args.spans.reserve(n.min(1024) as usize);
        }
        while self.multibulk > 0 {
            if self.bulk < 0 {
                let rest = &q[*pos..];
                let Some(nl) = header_end(rest, ParseError::TooBigBulkCount)? else {
                    return Ok(false);
                };
                if rest[0] != b'$' {
                    return Err(ParseError::ExpectedDollar(rest[0]));
                }
                let len = match crate::util::parse_i64(&rest[1..nl]) {
                    Some(l) if l >= 0 && l <= lim.max_bulk_len => l,
                    _ => return Err(ParseError::InvalidBulkLength),
                };
                if len > 16384 && lim.unauthenticated {
                    return Err(ParseError::UnauthBulkLength);
                }
                *pos += nl + 2;
                self.bulk = len;
            }
            let need = self.bulk as usize + 2;
            let avail = q.len() - *pos;
            if avail < need {
                *want = need - avail;
                return Ok(false);
            }
            args.push(&q[*pos..*pos + self.bulk as usize]);
            *pos += need;
            self.bulk = -1;
            self.multibulk -= 1;
        }
        Ok(true)
    }

    fn parse_inline(
        &mut self,
        q: &[u8],
        pos: &mut usize,
        args: &mut Args,
    ) -> Result<bool, ParseError> {
        let rest = &q[*pos..];
        let Some(nl) = memchr(b'\n', rest) else {
            if rest.len() > INLINE_MAX {
                return Err(ParseError::TooBigInline);
            }
            return Ok(false);
        };
        let line = if nl > 0 && rest[nl - 1] == b'\r' {
            &rest[..nl - 1]
        } else {
            &rest[..nl]
        };
        let parts = split_args(line).ok_or(ParseError::UnbalancedQuotes)?;
        *pos += nl + 1;
        for p in &parts {
            args.push(p);
        }
        Ok(true)
    }
}

/// The number of a `*N\r\n` / `$N\r\n` header whose digits start at
/// `q[i]`, and the position after its line end; None unless it is complete
/// and canonical (no sign, no leading zero, at most 18 digits), leaving
/// anything else to the incremental parser and its errors. Headers are a
/// few digits, so a plain loop beats a memchr call plus a generic parse.
#[inline]
fn header_num(q: &[u8], start: usize) -> Option<(u64, usize)> {
    let mut n: u64 = 0;
    let mut i = start;
    loop {
        let b = *q.get(i)?;
        if b == b'\r' {
            break;
        }
        let d = b.wrapping_sub(b'0');
        if d > 9 || i - start == 18 || (i > start && n == 0) {
            return None;
        }
        n = n * 10 + d as u64;
        i += 1;
    }
    // Like Redis, the byte after '\r' is taken as the '\n' unchecked.
    if i == start || i + 1 >= q.len() {
        return None;
    }
    Some((n, i + 2))
}

/// Where the `*N\r\n` / `$N\r\n` header at the start of `rest` ends (the
/// index of its `\r`), None while it is incomplete; `too_big` when no line
/// end shows up within the inline limit.
fn header_end(rest: &[u8], too_big: ParseError) -> Result<Option<usize>, ParseError> {
    match memchr(b'\r', rest) {
        None if rest.len() > INLINE_MAX => Err(too_big),
        Some(nl) if nl + 1 < rest.len() => Ok(Some(nl)),
        _ => Ok(None),
    }
}

fn hex(c: u8) -> Option<u8> {
    (c as char).to_digit(16).map(|d| d as u8)
}

/// Splits a line into arguments as Redis's `sdssplitargs` does: whitespace
/// separated, with "double quotes" (escapes `\n \r \t \b \a \\ \" \xHH`) and
/// 'single quotes' (only `\'`). A closing quote must be followed by space.
/// Returns None on unbalanced quotes. Also used by the config file parser.
pub fn split_args(line: &[u8]) -> Option<Vec<Vec<u8>>> {
    let mut out = Vec::new();
    let mut i = 0;
    let n = line.len();
    loop {
        while i < n && line[i].is_ascii_whitespace() {
            i += 1;
        }
        if i >= n {
            return Some(out);
        }
        let mut cur = Vec::new();
        let (mut inq, mut insq) = (false, false);
        loop {
            if inq {
                if i >= n {
                    return None;
                }
                if line[i] == b'\\'
                    && i + 3 < n
                    && line[i + 1] == b'x'
                    && hex(line[i + 2]).is_some()
                    && hex(line[i + 3]).is_some()
                {
                    cur.push(hex(line[i + 2]).unwrap() * 16 + hex(line[i + 3]).unwrap());
                    i += 3;
                } else if line[i] == b'\\' && i + 1 < n {
                    i += 1;
                    cur.push(match line[i] {
                        b'n' => b'\n',
                        b'r' => b'\r',
                        b't' => b'\t',
                        b'b' => 8,
                        b'a' => 7,
                        c => c,
                    });
                } else if line[i] == b'"' {
                    if i + 1 < n && !line[i + 1].is_ascii_whitespace() {
                        return None;
                    }
                    i += 1;
                    break;
                } else {
                    cur.push(line[i]);
                }
            } else if insq {
                if i >= n {
                    return None;
                }
                if line[i] == b'\\' && i + 1 < n && line[i + 1] == b'\'' {
                    i += 1;
                    cur.push(b'\'');
                } else if line[i] == b'\'' {
                    if i + 1 < n && !line[i + 1].is_ascii_whitespace() {
                        return None;
                    }
                    i += 1;
                    break;
                } else {
                    cur.push(line[i]);
                }
            } else {
                if i >= n {
                    break;
                }
                match line[i] {
                    b' ' | b'\n' | b'\r' | b'\t' | 0 => {
                        i += 1;
                        break;
                    }
                    b'"' => inq = true,
                    b'\'' => insq = true,
                    c => cur.push(c),
                }
            }
            i += 1;
        }
        out.push(cur);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIM: Limits = Limits {
        max_bulk_len: 512 * 1024 * 1024,
        unauthenticated: false,
    };

    fn parse_all(input: &[u8]) -> Result<Vec<Vec<Vec<u8>>>, ParseError> {
        let mut p = Parser::new();
        let mut pos = 0;
        let mut out = Vec::new();
        let mut args = Args::default();
        let mut want = 0;
        while p.parse(input, &mut pos, &mut args, LIM, &mut want)? {
            out.push(args.to_vecs());
            args.clear();
        }
        Ok(out)
    }

    #[test]
    fn multibulk_and_pipelining() {
        let r = parse_all(b"*2\r\n$3\r\nGET\r\n$1\r\nk\r\n*1\r\n$4\r\nPING\r\n").unwrap();
        assert_eq!(
            r,
            vec![vec![b"GET".to_vec(), b"k".to_vec()], vec![b"PING".to_vec()]]
        );
    }

    #[test]
    fn resumes_byte_by_byte() {
        let input = b"*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$5\r\nvalue\r\n";
        let mut p = Parser::new();
        let mut args = Args::default();
        let mut want = 0;
        let mut pos = 0;
        for end in 1..input.len() {
            assert_eq!(
                p.parse(&input[..end], &mut pos, &mut args, LIM, &mut want),
                Ok(false)
            );
        }
        assert_eq!(
            p.parse(input, &mut pos, &mut args, LIM, &mut want),
            Ok(true)
        );
        assert_eq!(args.len(), 3);
        assert_eq!(&args[2], b"value");
    }

    #[test]
    fn inline_and_quotes() {
        let r = parse_all(b"set k \"a b\\x41\"\r\nping\n").unwrap();
        assert_eq!(r[0], vec![b"set".to_vec(), b"k".to_vec(), b"a bA".to_vec()]);
        assert_eq!(r[1], vec![b"ping".to_vec()]);
        assert_eq!(parse_all(b"set \"k\r\n"), Err(ParseError::UnbalancedQuotes));
        assert_eq!(
            split_args(b"'it\\'s' x").unwrap(),
            vec![b"it's".to_vec(), b"x".to_vec()]
        );
        assert_eq!(split_args(b"\"a\"b"), None);
    }

    #[test]
    fn bad_lengths() {
        assert_eq!(
            parse_all(b"*abc\r\n"),
            Err(ParseError::InvalidMultibulkLength)
        );
        assert_eq!(
            parse_all(b"*1\r\nx\r\n"),
            Err(ParseError::ExpectedDollar(b'x'))
        );
        assert_eq!(
            parse_all(b"*1\r\n$-5\r\n"),
            Err(ParseError::InvalidBulkLength)
        );
        assert_eq!(
            parse_all(b"*1\r\n$99999999999\r\n"),
            Err(ParseError::InvalidBulkLength)
        );
        assert_eq!(
            parse_all(b"*3000000000\r\n"),
            Err(ParseError::InvalidMultibulkLength)
        );
        let mut p = Parser::new();
        let (mut pos, mut want, mut args) = (0, 0, Args::default());
        let lim = Limits {
            unauthenticated: true,
            ..LIM
        };
        assert_eq!(
            p.parse(b"*20\r\n", &mut pos, &mut args, lim, &mut want),
            Err(ParseError::UnauthMultibulkLength)
        );
    }

    #[test]
    fn huge_count_does_not_allocate_up_front() {
        let mut p = Parser::new();
        let (mut pos, mut want, mut args) = (0, 0, Args::default());
        assert_eq!(
            p.parse(b"*2000000000\r\n", &mut pos, &mut args, LIM, &mut want),
            Ok(false)
        );
        assert!(args.spans.capacity() <= 1024);
    }

    /// Every prefix of a pipeline: the fast path either declines or agrees
    /// with the incremental parser on the arguments and the end position.
    #[test]
    fn whole_command_agrees_with_parse() {
        let input = b"*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$5\r\nvalue\r\n*1\r\n$4\r\nPING\r\n*2\r\n$0\r\n\r\n$1\r\nx\r\n";
        for cut in 0..=input.len() {
            let q = &input[..cut];
            let mut pos = 0;
            let p = Parser::new();
            let mut spans = Vec::new();
            while let Some(end) = p.whole_command(q, pos, &mut spans, LIM) {
                let got: Vec<&[u8]> = spans
                    .iter()
                    .map(|&(s, l)| &q[s as usize..(s + l) as usize])
                    .collect();
                let (mut slow, mut spos, mut want, mut args) =
                    (Parser::new(), pos, 0, Args::default());
                assert_eq!(
                    slow.parse(q, &mut spos, &mut args, LIM, &mut want),
                    Ok(true)
                );
                assert_eq!(got, args.iter().collect::<Vec<_>>());
                assert_eq!(end, spos);
                pos = end;
            }
            assert!(spans.is_empty(), "a declined command leaves no spans");
            // What the fast path declined is an incomplete command.
            let (mut slow, mut want, mut args) = (Parser::new(), 0, Args::default());
            assert_eq!(
                slow.parse(q, &mut pos, &mut args, LIM, &mut want),
                Ok(false),
                "cut {cut}"
            );
        }
    }

    #[test]
    fn whole_command_leaves_errors_and_limits_to_parse() {
        let p = Parser::new();
        let mut spans = Vec::new();
        let unauth = Limits {
            max_bulk_len: 100,
            unauthenticated: true,
        };
        for bad in [
            &b"*1\r\n$-1\r\n"[..],
            b"*1\r\n+x\r\n",
            b"*x\r\n",
            b"*11\r\n",
            b"*1\r\n$101\r\n",
            b"ping\r\n",
        ] {
            assert_eq!(p.whole_command(bad, 0, &mut spans, unauth), None);
        }
    }

    #[test]
    fn header_numbers_are_canonical_or_declined() {
        assert_eq!(header_num(b"12\r\n", 0), Some((12, 4)));
        assert_eq!(header_num(b"0\r\n", 0), Some((0, 3)));
        assert_eq!(header_num(b"0\r", 0), None, "line end incomplete");
        for bad in [
            &b"\r\n"[..],
            b"01\r\n",
            b"-1\r\n",
            b"+1\r\n",
            b"1x\r\n",
            b"1234567890123456789\r\n",
        ] {
            assert_eq!(
                header_num(bad, 0),
                None,
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
    }
}
