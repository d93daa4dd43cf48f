//! `redis-check-aof [--fix|--truncate-to-timestamp T] FILE`: checks an
//! append-only file as Redis 8.0's checker does, with its messages, its
//! exit codes and its offsets.
//!
//! FILE is a manifest (multi-part AOF: the BASE file, then the INCR files
//! it lists, read with the server's manifest parser), an old-style AOF
//! with an RDB preamble (checked by `check::rdb`, the server's RDB loader),
//! or plain RESP. The RESP scan is the checker's own rather than the AOF
//! loader's `next_command`: the checker reports where and why a record is
//! malformed (`0x<offset>: Expected prefix '$', got: 'x'`), counts lines,
//! and tracks MULTI/EXEC nesting, none of which a loader needs. It models
//! the C tool's stdio reads (`fgets` line limits, the EOF flag, a line
//! buffer that keeps the bytes of the previous line) because those decide
//! its output on truncated input.

use std::io::Write;

/// Redis's `fgets` buffer for a `*N`/`$N` line (`readLong`).
const LONG_LINE: usize = 128;
/// AOF_ANNOTATION_LINE_MAX_LEN.
const ANNOTATION_LINE: usize = 1024;
/// The manifest sniffing buffer (MANIFEST_MAX_LINE + 1).
const MANIFEST_LINE: usize = 1025;

/// How one file's check ended, when it did not exit.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Valid,
    Empty,
    Truncated,
    TimestampTruncated,
}

/// `redis-check-aof` (`prog` names the tool in the usage line).
pub fn main(prog: &str, args: &[String]) -> i32 {
    let usage = || {
        println!(
            "Usage: {prog} [--fix|--truncate-to-timestamp $timestamp] <file.manifest|file.aof>"
        );
        1
    };
    let mut fix = false;
    let mut to_timestamp = 0i64;
    let path = match args {
        [v] if v == "-v" || v == "--version" => {
            println!("{}", super::version("redis-check-aof"));
            return 0;
        }
        [f] => f,
        [o, f] if o == "--fix" => {
            fix = true;
            f
        }
        [o, t, f] if o == "--truncate-to-timestamp" => {
            // strtol's rules: the whole argument, no overflow ("" is 0).
            let (v, end, overflow) = strtol(t.as_bytes());
            if overflow || end != t.len() {
                println!("Invalid timestamp, aborting...");
                return 1;
            }
            to_timestamp = v;
            f
        }
        _ => return usage(),
    };
    let mut c = Checker {
        line: 1,
        to_timestamp,
        fix,
        error: Vec::new(),
        epos: 0,
        lbuf: [0; LONG_LINE],
    };
    let code = if is_manifest(path) {
        c.check_multi_part(&dirname(path), path)
    } else {
        let preamble = is_rdb(path);
        println!("Start checking Old-Style AOF");
        c.check_single(path, path, true, preamble)
            .map(|o| print_outcome(o, path, "AOF", to_timestamp))
    };
    let _ = std::io::stdout().flush();
    match code {
        Ok(()) => 0,
        Err(code) => code,
    }
}

fn print_outcome(o: Outcome, name: &str, kind: &str, ts: i64) {
    match o {
        Outcome::Valid => println!("{kind} {name} is valid"),
        Outcome::Empty => println!("{kind} {name} is empty"),
        Outcome::TimestampTruncated => {
            println!("Successfully truncated AOF {name} to timestamp {ts}")
        }
        Outcome::Truncated => println!("Successfully truncated AOF {name}"),
    }
}

/// C's `dirname`, for the paths Redis builds from the manifest's.
fn dirname(p: &str) -> String {
    let t = p.trim_end_matches('/');
    if t.is_empty() {
        return if p.is_empty() { ".".into() } else { "/".into() };
    }
    match t.rfind('/') {
        None => ".".into(),
        Some(i) => {
            let d = t[..i].trim_end_matches('/');
            if d.is_empty() { "/".into() } else { d.into() }
        }
    }
}

/// Reads a whole file, or exits as Redis's checker does when it cannot.
fn read_or_exit(path: &str) -> Vec<u8> {
    match std::fs::read(path) {
        Ok(d) => d,
        Err(e) => {
            println!(
                "Cannot open file {path}: {}",
                crate::util::os_error_text(&e)
            );
            let _ = std::io::stdout().flush();
            std::process::exit(1);
        }
    }
}

/// A manifest: after `#` comments, a line starting with `file`.
fn is_manifest(path: &str) -> bool {
    let data = read_or_exit(path);
    let mut p = 0;
    let mut found = false;
    while let Some(l) = fgets(&data, &mut p, MANIFEST_LINE) {
        if l.first() == Some(&b'#') {
            continue;
        }
        if !l.starts_with(b"file") {
            break;
        }
        found = true;
    }
    found
}

/// An RDB file (an RDB-preamble AOF, or a BASE file): starts with REDIS.
fn is_rdb(path: &str) -> bool {
    let data = read_or_exit(path);
    data.len() >= 8 && data.starts_with(b"REDIS")
}

/// `fgets(buf, size)`: through a newline, at most size - 1 bytes; None at
/// the end of the data.
fn fgets<'a>(data: &'a [u8], p: &mut usize, size: usize) -> Option<&'a [u8]> {
    if *p >= data.len() {
        return None;
    }
    let rest = &data[*p..];
    let n = match rest.iter().take(size - 1).position(|&b| b == b'\n') {
        Some(i) => i + 1,
        None => rest.len().min(size - 1),
    };
    *p += n;
    Some(&rest[..n])
}

/// C's `%02x` on a (signed) `char`.
fn hex_char(b: u8) -> String {
    if b >= 0x80 {
        format!("ffffff{b:02x}")
    } else {
        format!("{b:02x}")
    }
}

/// One file being read, as the C tool's `FILE *` sees it.
struct Input<'a> {
    data: &'a [u8],
    p: usize,
    /// stdio's end-of-file indicator: a read reached the end.
    eof: bool,
}

struct Checker {
    /// Lines consumed so far, over every file checked (a global in Redis).
    line: i64,
    to_timestamp: i64,
    fix: bool,
    /// The first problem found, `0x<epos>: message`.
    error: Vec<u8>,
    /// Where the read that failed began.
    epos: usize,
    /// `readLong`'s line buffer: bytes of earlier lines stay behind the
    /// terminating NUL, and a line cut by the end of the file shows them.
    lbuf: [u8; LONG_LINE],
}

impl Checker {
    fn set_error(&mut self, msg: &[u8]) {
        let mut e = format!("0x{:16x}: ", self.epos).into_bytes();
        e.extend_from_slice(msg);
        self.error = e;
    }

    /// `\r\n` at `at` in the line buffer, else an error.
    fn newline_in_lbuf(&mut self, at: usize) -> bool {
        let (a, b) = (self.lbuf[at], self.lbuf.get(at + 1).copied().unwrap_or(0));
        if (a, b) != (b'\r', b'\n') {
            let m = format!("Expected \\r\\n, got: {}{}", hex_char(a), hex_char(b));
            self.set_error(m.as_bytes());
            return false;
        }
        self.line += 1;
        true
    }

    /// `*N` or `$N` and its line end (Redis's `readLong`).
    fn read_long(&mut self, f: &mut Input, prefix: u8) -> Option<i64> {
        self.epos = f.p;
        let start = f.p;
        let Some(l) = fgets(f.data, &mut f.p, LONG_LINE) else {
            f.eof = true;
            return None;
        };
        if f.p == f.data.len() && l.last() != Some(&b'\n') {
            f.eof = true;
        }
        let n = l.len();
        self.lbuf[..n].copy_from_slice(&f.data[start..start + n]);
        self.lbuf[n] = 0;
        if self.lbuf[0] != prefix {
            let mut m = format!("Expected prefix '{}', got: '", prefix as char).into_bytes();
            m.push(self.lbuf[0]);
            m.push(b'\'');
            self.set_error(&m);
            return None;
        }
        let (v, end, _) = strtol(&self.lbuf[1..=n]);
        if !self.newline_in_lbuf(1 + end) {
            return None;
        }
        Some(v)
    }

    /// `$len`, then len bytes and `\r\n` (Redis's `readString`).
    fn read_string(&mut self, f: &mut Input) -> Option<Vec<u8>> {
        let len = self.read_long(f, b'$')?;
        if !(0..=i64::MAX - 2).contains(&len) {
            let m = format!(
                "Expected to read string of {len} bytes, which is not in the suitable range"
            );
            self.set_error(m.as_bytes());
            return None;
        }
        let want = len as u64 + 2;
        self.epos = f.p;
        let left = (f.data.len() - f.p) as u64;
        if want > left {
            f.p = f.data.len();
            f.eof = true;
            let m = format!("Expected to read {want} bytes, got {left} bytes");
            self.set_error(m.as_bytes());
            return None;
        }
        let s = &f.data[f.p..f.p + want as usize];
        f.p += want as usize;
        let (a, b) = (s[s.len() - 2], s[s.len() - 1]);
        if (a, b) != (b'\r', b'\n') {
            let m = format!("Expected \\r\\n, got: {}{}", hex_char(a), hex_char(b));
            self.set_error(m.as_bytes());
            return None;
        }
        self.line += 1;
        Some(s[..s.len() - 2].to_vec())
    }

    /// One command, tracking MULTI/EXEC nesting (Redis's `processRESP`).
    fn process_resp(&mut self, f: &mut Input, path: &str, multi: &mut i64) -> bool {
        let Some(argc) = self.read_long(f, b'*') else {
            return false;
        };
        for i in 0..argc {
            let Some(s) = self.read_string(f) else {
                return false;
            };
            if i != 0 {
                continue;
            }
            let name = super::c_str(&s);
            if name.eq_ignore_ascii_case(b"multi") {
                *multi += 1;
                if *multi != 1 {
                    self.set_error(format!("Unexpected MULTI in AOF {path}").as_bytes());
                    return false;
                }
            } else if name.eq_ignore_ascii_case(b"exec") {
                *multi -= 1;
                if *multi != 0 {
                    self.set_error(format!("Unexpected EXEC in AOF {path}").as_bytes());
                    return false;
                }
            }
        }
        true
    }

    /// A `#` line: with --truncate-to-timestamp, a `#TS:` annotation past
    /// the timestamp cuts the file there. False when it did.
    fn process_annotation(
        &mut self,
        f: &mut Input,
        path: &str,
        last_file: bool,
    ) -> Result<bool, i32> {
        self.epos = f.p;
        let Some(l) = fgets(f.data, &mut f.p, ANNOTATION_LINE) else {
            println!("Failed to read annotations from AOF {path}, aborting...");
            return Err(1);
        };
        let Some(ts) = l.strip_prefix(b"#TS:").filter(|_| self.to_timestamp != 0) else {
            return Ok(true);
        };
        let (ts, end, overflow) = strtol(ts);
        if overflow || l.get(4 + end) != Some(&b'\r') {
            println!("Invalid timestamp annotation");
            return Err(1);
        }
        let to = self.to_timestamp;
        if ts <= to {
            return Ok(true);
        }
        if self.epos == 0 {
            println!("AOF {path} has nothing before timestamp {to}, aborting...");
            return Err(1);
        }
        if !last_file {
            println!(
                "Failed to truncate AOF {path} to timestamp {to} to offset {} because it is not the last file.",
                self.epos
            );
            println!(
                "If you insist, please delete all files after this file according to the manifest file and delete the corresponding records in manifest file manually. Then re-run redis-check-aof."
            );
            return Err(1);
        }
        if truncate(path, self.epos as u64).is_err() {
            println!("Failed to truncate AOF {path} to timestamp {to}");
            return Err(1);
        }
        Ok(false)
    }

    /// Checks one file (Redis's `checkSingleAof`): `name` for messages,
    /// `path` to open. Err(exit code) where the C tool exits.
    fn check_single(
        &mut self,
        name: &str,
        path: &str,
        last_file: bool,
        preamble: bool,
    ) -> Result<Outcome, i32> {
        // Opened for writing too ("r+"), as --fix may truncate it.
        let data = match std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(path)
            .and_then(|mut fh| {
                let mut d = Vec::new();
                std::io::Read::read_to_end(&mut fh, &mut d).map(|_| d)
            }) {
            Ok(d) => d,
            Err(e) => {
                let why = crate::util::os_error_text(&e);
                println!("Cannot open file {path}: {why}, aborting...");
                return Err(1);
            }
        };
        let size = data.len();
        if size == 0 {
            return Ok(Outcome::Empty);
        }
        let mut f = Input {
            data: &data,
            p: 0,
            eof: false,
        };
        if preamble {
            println!("[offset 0] Checking RDB file {path}");
            match super::rdb::check(&data) {
                Some(end) => {
                    println!("RDB preamble is OK, proceeding with AOF tail...");
                    f.p = end;
                }
                None => {
                    println!("RDB preamble of AOF file is not sane, aborting.");
                    return Err(1);
                }
            }
        }
        let mut multi = 0i64;
        let mut pos = 0usize;
        loop {
            if multi == 0 {
                pos = f.p;
            }
            let Some(&c) = f.data.get(f.p) else {
                f.eof = true;
                break;
            };
            // The C tool peeks one byte and seeks back, which clears EOF.
            f.eof = false;
            if c == b'#' {
                if !self.process_annotation(&mut f, path, last_file)? {
                    return Ok(Outcome::TimestampTruncated);
                }
            } else if c == b'*' {
                if !self.process_resp(&mut f, path, &mut multi) {
                    break;
                }
            } else {
                println!("AOF {name} format error");
                break;
            }
        }
        if f.eof && multi != 0 && self.error.is_empty() {
            self.set_error(b"Reached EOF before reading EXEC for MULTI");
        }
        if !self.error.is_empty() {
            let mut o = std::io::stdout().lock();
            let _ = o.write_all(&self.error);
            let _ = o.write_all(b"\n");
        }
        let diff = size - pos;
        if diff == 0 && self.to_timestamp != 0 {
            println!(
                "Truncate nothing in AOF {name} to timestamp {}",
                self.to_timestamp
            );
            return Ok(Outcome::Valid);
        }
        println!(
            "AOF analyzed: filename={name}, size={size}, ok_up_to={pos}, ok_up_to_line={}, diff={diff}",
            self.line
        );
        if diff == 0 {
            return Ok(Outcome::Valid);
        }
        if !self.fix {
            println!("AOF {name} is not valid. Use the --fix option to try fixing it.");
            return Err(1);
        }
        if !last_file {
            println!("Failed to truncate AOF {name} because it is not the last file");
            return Err(1);
        }
        println!(
            "This will shrink the AOF {name} from {size} bytes, with {diff} bytes, to {pos} bytes"
        );
        print!("Continue? [y/N]: ");
        let _ = std::io::stdout().flush();
        let mut answer = [0u8; 1];
        let got = std::io::Read::read(&mut std::io::stdin(), &mut answer).unwrap_or(0);
        if got == 0 || !answer[0].eq_ignore_ascii_case(&b'y') {
            println!("Aborting...");
            return Err(1);
        }
        if truncate(path, pos as u64).is_err() {
            println!("Failed to truncate AOF {name}");
            return Err(1);
        }
        Ok(Outcome::Truncated)
    }

    /// The BASE file, then the INCR files, of a manifest (Redis's
    /// `checkMultiPartAof`). History files are not checked.
    fn check_multi_part(&mut self, dir: &str, manifest: &str) -> Result<(), i32> {
        println!("Start checking Multi Part AOF");
        let am = crate::persist::aof::read_manifest(std::path::Path::new(manifest));
        let total = am.base.is_some() as usize + am.incr.len();
        let mut n = 0;
        if let Some(b) = &am.base {
            let path = format!("{dir}/{}", b.name);
            n += 1;
            let preamble = is_rdb(&path);
            let fmt = if preamble { "RDB" } else { "RESP" };
            println!("Start to check BASE AOF ({fmt} format).");
            let o = self.check_single(&b.name, &path, n == total, preamble)?;
            print_outcome(o, &b.name, "BASE AOF", self.to_timestamp);
        }
        if !am.incr.is_empty() {
            println!("Start to check INCR files.");
            for i in &am.incr {
                let path = format!("{dir}/{}", i.name);
                n += 1;
                let o = self.check_single(&i.name, &path, n == total, false)?;
                print_outcome(o, &i.name, "INCR AOF", self.to_timestamp);
            }
        }
        println!("All AOF files and manifest are valid");
        Ok(())
    }
}

fn truncate(path: &str, len: u64) -> std::io::Result<()> {
    std::fs::OpenOptions::new()
        .write(true)
        .open(path)?
        .set_len(len)
}

/// C's `strtol(s, &end, 10)`: the value (clamped at the i64 limits), the
/// index `end` stops at (0 when no digits were found), and whether it
/// overflowed (errno ERANGE).
fn strtol(s: &[u8]) -> (i64, usize, bool) {
    let mut i = 0;
    while i < s.len() && matches!(s[i], b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c) {
        i += 1;
    }
    let neg = match s.get(i) {
        Some(b'-') => {
            i += 1;
            true
        }
        Some(b'+') => {
            i += 1;
            false
        }
        _ => false,
    };
    let digits = i;
    let mut v: i64 = 0;
    let mut overflow = false;
    while let Some(d) = s.get(i).filter(|c| c.is_ascii_digit()) {
        match v
            .checked_mul(10)
            .and_then(|v| v.checked_add((d - b'0') as i64))
        {
            Some(n) => v = n,
            None => overflow = true,
        }
        i += 1;
    }
    if i == digits {
        return (0, 0, false);
    }
    let v = match (overflow, neg) {
        (true, true) => i64::MIN,
        (true, false) => i64::MAX,
        (false, true) => -v,
        (false, false) => v,
    };
    (v, i, overflow)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strtol_as_c() {
        assert_eq!(strtol(b"12\r\n\0"), (12, 2, false));
        assert_eq!(strtol(b" -3x\0"), (-3, 3, false));
        assert_eq!(strtol(b"\r\n\0"), (0, 0, false));
        assert_eq!(strtol(b"99999999999999999999\0"), (i64::MAX, 20, true));
        assert_eq!(strtol(b""), (0, 0, false));
    }

    #[test]
    fn dirname_as_c() {
        assert_eq!(dirname("a.manifest"), ".");
        assert_eq!(dirname("/x/y/a"), "/x/y");
        assert_eq!(dirname("/a"), "/");
        assert_eq!(dirname("d/"), ".");
    }
}
