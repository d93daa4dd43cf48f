//! The multi-part AOF manifest: which files make up the append-only log.
//!
//! One line per file, `file <name> seq <n> type <b|h|i>`, optionally
//! followed by `startoffset <o>` and `endoffset <o>` (replication offsets
//! of an INCR file). The BASE file comes first, then HISTORY files, then
//! INCR files in increasing sequence order. Names that need quoting are
//! written as Redis's `sdscatrepr` would.

/// One file listed by the manifest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AofInfo {
    pub name: String,
    pub seq: i64,
    /// b'b' (base), b'h' (history) or b'i' (incr).
    pub kind: u8,
    pub start_offset: i64,
    pub end_offset: i64,
}

impl AofInfo {
    fn new(name: String, seq: i64, kind: u8) -> AofInfo {
        AofInfo {
            name,
            seq,
            kind,
            start_offset: -1,
            end_offset: -1,
        }
    }

    fn format(&self, out: &mut String) {
        out.push_str("file ");
        if needs_repr(&self.name) {
            out.push_str(&repr(&self.name));
        } else {
            out.push_str(&self.name);
        }
        out.push_str(&format!(" seq {} type {}", self.seq, self.kind as char));
        if self.start_offset != -1 {
            out.push_str(&format!(" startoffset {}", self.start_offset));
            if self.end_offset != -1 {
                out.push_str(&format!(" endoffset {}", self.end_offset));
            }
        }
        out.push('\n');
    }
}

/// The manifest in memory (Redis's `aofManifest`).
#[derive(Clone, Debug, Default)]
pub struct Manifest {
    pub base: Option<AofInfo>,
    pub history: Vec<AofInfo>,
    pub incr: Vec<AofInfo>,
    pub base_seq: i64,
    pub incr_seq: i64,
    /// Changed since last persisted.
    pub dirty: bool,
}

/// Why a manifest could not be parsed: the line (number and text) if one
/// is to blame, and Redis's message.
#[derive(Debug, PartialEq, Eq)]
pub struct ParseError {
    pub line: Option<(usize, String)>,
    pub msg: &'static str,
}

/// Redis's MANIFEST_MAX_LINE.
const MAX_LINE: usize = 1024;

impl Manifest {
    /// Parses a manifest file's contents with Redis's checks
    /// (`aofLoadManifestFromFile`).
    pub fn parse(text: &[u8]) -> Result<Manifest, ParseError> {
        let mut am = Manifest::default();
        let mut maxseq = 0i64;
        let mut linenum = 0usize;
        let mut pos = 0usize;
        loop {
            if pos >= text.len() {
                if linenum == 0 {
                    return Err(ParseError {
                        line: None,
                        msg: "Found an empty AOF manifest",
                    });
                }
                break;
            }
            // fgets with a MAX_LINE+1 buffer: at most MAX_LINE bytes, up to
            // and including a newline.
            let rest = &text[pos..];
            let take = match rest.iter().take(MAX_LINE).position(|&b| b == b'\n') {
                Some(i) => i + 1,
                None => rest.len().min(MAX_LINE),
            };
            let raw = &rest[..take];
            pos += take;
            linenum += 1;
            if raw.first() == Some(&b'#') {
                continue;
            }
            let err = |msg, line: &[u8]| ParseError {
                line: Some((linenum, String::from_utf8_lossy(line).into_owned())),
                msg,
            };
            let line = trim(raw);
            if !raw.contains(&b'\n') {
                return Err(err("The AOF manifest file contains too long line", line));
            }
            if line.is_empty() {
                return Err(err("Invalid AOF manifest file format", line));
            }
            let argv = match crate::resp::parse::split_args(line) {
                Some(a) if a.len() >= 6 && a.len().is_multiple_of(2) => a,
                _ => return Err(err("Invalid AOF manifest file format", line)),
            };
            let mut ai = AofInfo::new(String::new(), 0, 0);
            for kv in argv.chunks(2) {
                let (k, v) = (&kv[0], &kv[1]);
                if k.eq_ignore_ascii_case(b"file") {
                    ai.name = String::from_utf8_lossy(v).into_owned();
                    if ai.name.contains('/') {
                        return Err(err("File can't be a path, just a filename", line));
                    }
                } else if k.eq_ignore_ascii_case(b"seq") {
                    ai.seq = atoll(v);
                } else if k.eq_ignore_ascii_case(b"type") {
                    ai.kind = v.first().copied().unwrap_or(0);
                } else if k.eq_ignore_ascii_case(b"startoffset") {
                    ai.start_offset = atoll(v);
                } else if k.eq_ignore_ascii_case(b"endoffset") {
                    ai.end_offset = atoll(v);
                }
            }
            if ai.name.is_empty() || ai.seq == 0 || ai.kind == 0 {
                return Err(err("Invalid AOF manifest file format", line));
            }
            match ai.kind {
                b'b' => {
                    if am.base.is_some() {
                        return Err(err("Found duplicate base file information", line));
                    }
                    am.base_seq = ai.seq;
                    am.base = Some(ai);
                }
                b'h' => am.history.push(ai),
                b'i' => {
                    if ai.seq <= maxseq {
                        return Err(err("Found a non-monotonic sequence number", line));
                    }
                    maxseq = ai.seq;
                    am.incr_seq = ai.seq;
                    am.incr.push(ai);
                }
                _ => return Err(err("Unknown AOF file type", line)),
            }
        }
        Ok(am)
    }

    /// The manifest's text: base, history, then incr files.
    pub fn render(&self) -> String {
        let mut s = String::new();
        if let Some(b) = &self.base {
            b.format(&mut s);
        }
        for h in &self.history {
            h.format(&mut s);
        }
        for i in &self.incr {
            i.format(&mut s);
        }
        s
    }

    /// Names a new BASE file (`<name>.<seq>.base.<rdb|aof>`), turning the
    /// previous one into history.
    pub fn new_base(&mut self, filename: &str, rdb: bool) -> String {
        if let Some(mut b) = self.base.take() {
            b.kind = b'h';
            self.history.insert(0, b);
        }
        self.base_seq += 1;
        let name = format!(
            "{filename}.{}.base.{}",
            self.base_seq,
            if rdb { "rdb" } else { "aof" }
        );
        self.base = Some(AofInfo::new(name.clone(), self.base_seq, b'b'));
        self.dirty = true;
        name
    }

    /// Names a new INCR file (`<name>.<seq>.incr.aof`) starting at
    /// replication offset `start`, and lists it last.
    pub fn new_incr(&mut self, filename: &str, start: i64) -> String {
        self.incr_seq += 1;
        let name = format!("{filename}.{}.incr.aof", self.incr_seq);
        let mut ai = AofInfo::new(name.clone(), self.incr_seq, b'i');
        ai.start_offset = start;
        self.incr.push(ai);
        self.dirty = true;
        name
    }

    /// The INCR file being appended to, created if there is none.
    pub fn last_incr(&mut self, filename: &str, start: i64) -> String {
        match self.incr.last() {
            Some(ai) => ai.name.clone(),
            None => self.new_incr(filename, start),
        }
    }

    /// After a rewrite: the INCR files it covered become history (all of
    /// them, or all but the one being written when `keep_last`).
    pub fn mark_rewritten_incr_as_history(&mut self, keep_last: bool) {
        if self.incr.is_empty() {
            return;
        }
        let keep = if keep_last { self.incr.pop() } else { None };
        // Newest first, as Redis adds each at the head.
        for mut ai in self.incr.drain(..) {
            ai.kind = b'h';
            self.history.insert(0, ai);
        }
        if let Some(k) = keep {
            self.incr.push(k);
        }
        self.dirty = true;
    }
}

fn trim(b: &[u8]) -> &[u8] {
    let ws = |c: &u8| matches!(c, b' ' | b'\t' | b'\r' | b'\n');
    let start = b.iter().position(|c| !ws(c)).unwrap_or(b.len());
    let end = b.iter().rposition(|c| !ws(c)).map_or(start, |e| e + 1);
    &b[start..end]
}

/// C's `atoll`: optional sign and leading digits, 0 when there are none.
fn atoll(b: &[u8]) -> i64 {
    let s = trim(b);
    let (neg, digits) = match s.first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let mut n: i64 = 0;
    for &c in digits.iter().take_while(|c| c.is_ascii_digit()) {
        n = n.wrapping_mul(10).wrapping_add((c - b'0') as i64);
    }
    if neg { n.wrapping_neg() } else { n }
}

/// Redis's `sdsneedsrepr`, plus a single quote: unquoted, a `'` inside a
/// name opens a quoted span when the line is split again (ours and
/// `sdssplitargs` alike), so such a manifest would not load (found by the
/// `manifest` fuzz target). Quoted, both read it.
fn needs_repr(s: &str) -> bool {
    s.bytes().any(|c| {
        matches!(c, b'\\' | b'"' | b'\'' | b'\n' | b'\r' | b'\t' | 7 | 8)
            || !(0x20..0x7f).contains(&c)
            || c == b' '
    })
}

/// Redis's `sdscatrepr`: a double-quoted, escaped form.
fn repr(s: &str) -> String {
    crate::util::repr(s.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roundtrip_and_ordering() {
        let text = b"file appendonly.aof.1.base.rdb seq 1 type b\n\
            file appendonly.aof.1.incr.aof seq 1 type h\n\
            file appendonly.aof.2.incr.aof seq 2 type i startoffset 10\n";
        let mut am = Manifest::parse(text).unwrap();
        assert_eq!(am.base_seq, 1);
        assert_eq!(am.incr_seq, 2);
        assert_eq!(am.render().as_bytes(), &text[..]);
        let b = am.new_base("appendonly.aof", false);
        assert_eq!(b, "appendonly.aof.2.base.aof");
        am.new_incr("appendonly.aof", 20);
        am.mark_rewritten_incr_as_history(true);
        assert_eq!(
            am.render(),
            "file appendonly.aof.2.base.aof seq 2 type b\n\
             file appendonly.aof.2.incr.aof seq 2 type h startoffset 10\n\
             file appendonly.aof.1.base.rdb seq 1 type h\n\
             file appendonly.aof.1.incr.aof seq 1 type h\n\
             file appendonly.aof.3.incr.aof seq 3 type i startoffset 20\n"
        );
    }

    #[test]
    fn errors_as_redis_reports_them() {
        let msg = |t: &[u8]| Manifest::parse(t).unwrap_err().msg;
        assert_eq!(msg(b""), "Found an empty AOF manifest");
        assert_eq!(msg(b"\n"), "Invalid AOF manifest file format");
        assert_eq!(
            msg(b"file a seq 1 type b"),
            "The AOF manifest file contains too long line"
        );
        assert_eq!(msg(b"file a seq 1 type x\n"), "Unknown AOF file type");
        assert_eq!(
            msg(b"file a seq 1 type\n"),
            "Invalid AOF manifest file format"
        );
        assert_eq!(
            msg(b"file a seq 1 typo i\n"),
            "Invalid AOF manifest file format"
        );
        assert_eq!(
            msg(b"file a seq 2 type i\nfile b seq 1 type i\n"),
            "Found a non-monotonic sequence number"
        );
        assert_eq!(
            msg(b"file a seq 1 type b\nfile b seq 2 type b\n"),
            "Found duplicate base file information"
        );
        assert_eq!(
            msg(b"file a/b seq 1 type b\n"),
            "File can't be a path, just a filename"
        );
        let long = format!("file {} seq 1 type b\n", "x".repeat(1100));
        assert_eq!(
            msg(long.as_bytes()),
            "The AOF manifest file contains too long line"
        );
    }

    #[test]
    fn names_with_a_single_quote_are_quoted() {
        let mut am = Manifest::default();
        am.new_base("it's", true);
        let s = am.render();
        assert_eq!(s, "file \"it's.1.base.rdb\" seq 1 type b\n");
        assert_eq!(
            Manifest::parse(s.as_bytes()).unwrap().base.unwrap().name,
            "it's.1.base.rdb"
        );
    }

    #[test]
    fn names_with_spaces_are_quoted() {
        let mut am = Manifest::default();
        am.new_base("my aof", true);
        let s = am.render();
        assert_eq!(s, "file \"my aof.1.base.rdb\" seq 1 type b\n");
        assert_eq!(
            Manifest::parse(s.as_bytes()).unwrap().base.unwrap().name,
            "my aof.1.base.rdb"
        );
    }
}
