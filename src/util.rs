//! Small helpers shared by every module: Redis's strict number parsing and
//! formatting, glob matching, clocks.

use std::sync::atomic::{AtomicI64, Ordering};

/// Wall-clock microseconds since the epoch, straight from the vDSO: the
/// hot path reads the clock twice per command (start, duration), so it
/// skips `SystemTime`'s checked arithmetic.
pub fn now_us() -> i64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec.
    unsafe { libc::clock_gettime(libc::CLOCK_REALTIME, &mut ts) };
    ts.tv_sec * 1_000_000 + ts.tv_nsec / 1000
}

/// Wall-clock milliseconds since the epoch.
pub fn now_ms() -> i64 {
    now_us() / 1000
}

/// The reactor's notion of "now" in milliseconds, set before each command
/// and cron run (Redis's cached `mstime`), so code deep inside a command
/// (LRU stamps, expiry checks) reads a load instead of the clock.
static CACHED_MS: AtomicI64 = AtomicI64::new(0);

pub fn set_cached_ms(ms: i64) {
    CACHED_MS.store(ms, Ordering::Relaxed);
}

/// The cached time, or the clock when nothing has set it (tools, tests).
pub fn cached_ms() -> i64 {
    match CACHED_MS.load(Ordering::Relaxed) {
        0 => now_ms(),
        ms => ms,
    }
}

/// FxHash (the rustc hasher): a multiply and rotate per word. For tables
/// whose keys an attacker cannot choose to collide, such as the fixed
/// command table and per-command statistics; the keyspace keeps a keyed
/// hash.
#[derive(Default, Clone, Copy)]
pub struct FxHasher(u64);

const FX_SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

impl FxHasher {
    #[inline]
    fn add(&mut self, w: u64) {
        self.0 = (self.0.rotate_left(5) ^ w).wrapping_mul(FX_SEED);
    }
}

impl std::hash::Hasher for FxHasher {
    #[inline]
    fn write(&mut self, mut b: &[u8]) {
        while b.len() >= 8 {
            self.add(u64::from_le_bytes(b[..8].try_into().unwrap_or_default()));
            b = &b[8..];
        }
        if b.len() >= 4 {
            self.add(u32::from_le_bytes(b[..4].try_into().unwrap_or_default()) as u64);
            b = &b[4..];
        }
        for &x in b {
            self.add(x as u64);
        }
    }
    #[inline]
    fn write_u8(&mut self, i: u8) {
        self.add(i as u64);
    }
    #[inline]
    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }
    #[inline]
    fn finish(&self) -> u64 {
        self.0
    }
}

pub type FxBuild = std::hash::BuildHasherDefault<FxHasher>;
pub type FxHashMap<K, V> = std::collections::HashMap<K, V, FxBuild>;

/// C's `atoi` as glibc has it (`(int)strtol(s, NULL, 10)`): leading
/// spaces and a sign, then digits up to the first non-digit; 0 when there
/// are none; out of `long` range it saturates, then keeps the low 32 bits.
/// Redis's key finders read numkeys this way (`genericGetKeys`).
pub fn atoi(s: &[u8]) -> i32 {
    let mut i = 0;
    while i < s.len() && matches!(s[i], b' ' | b'\t' | b'\n' | b'\x0b' | b'\x0c' | b'\r') {
        i += 1;
    }
    let neg = i < s.len() && s[i] == b'-';
    if i < s.len() && (s[i] == b'-' || s[i] == b'+') {
        i += 1;
    }
    let mut v: i64 = 0;
    while i < s.len() && s[i].is_ascii_digit() {
        let d = (s[i] - b'0') as i64;
        v = if neg {
            v.saturating_mul(10).saturating_sub(d)
        } else {
            v.saturating_mul(10).saturating_add(d)
        };
        i += 1;
    }
    v as i32
}

/// Parses an i64 the way Redis's `string2ll` does: optional '-', no '+', no
/// spaces, no leading zeros (except "0" itself), and no overflow.
pub fn parse_i64(s: &[u8]) -> Option<i64> {
    if s.is_empty() || s.len() > 20 {
        return None;
    }
    if s == b"0" {
        return Some(0);
    }
    let (neg, digits) = if s[0] == b'-' {
        (true, &s[1..])
    } else {
        (false, s)
    };
    if digits.is_empty() || digits[0] == b'0' {
        return None;
    }
    let mut v: u64 = 0;
    for &c in digits {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add((c - b'0') as u64)?;
    }
    if neg {
        if v > i64::MAX as u64 + 1 {
            None
        } else {
            Some((v as i64).wrapping_neg())
        }
    } else if v > i64::MAX as u64 {
        None
    } else {
        Some(v as i64)
    }
}

/// Parses a float as Redis's `string2ld`/`string2d` do: no surrounding spaces,
/// no NaN. Infinity is accepted here; callers that refuse it check themselves.
pub fn parse_f64(s: &[u8]) -> Option<f64> {
    if s.is_empty() || s.len() > 5120 {
        return None;
    }
    if s[0].is_ascii_whitespace() || s[s.len() - 1].is_ascii_whitespace() {
        return None;
    }
    let t = std::str::from_utf8(s).ok()?;
    let lower = t.to_ascii_lowercase();
    let v = match lower.as_str() {
        "inf" | "+inf" | "infinity" | "+infinity" => f64::INFINITY,
        "-inf" | "-infinity" => f64::NEG_INFINITY,
        _ => {
            // Rust accepts "nan"/"inf" spellings we already handled and
            // rejects hex floats that strtod would take; both fine here.
            if lower.contains("nan") || lower.contains("inf") {
                return None;
            }
            t.parse::<f64>().ok()?
        }
    };
    if v.is_nan() { None } else { Some(v) }
}

/// Formats an integer into a stack buffer, returning the used slice.
pub fn fmt_i64(v: i64, buf: &mut [u8; 20]) -> &[u8] {
    let mut n = v.unsigned_abs();
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    if v < 0 {
        i -= 1;
        buf[i] = b'-';
    }
    &buf[i..]
}

/// Formats a double the way Redis replies with one (`%.17g`), e.g. in
/// RESP2 bulk replies for scores. Integral values print without a dot.
pub fn fmt_double(v: f64) -> String {
    if v.is_infinite() {
        return if v > 0.0 { "inf".into() } else { "-inf".into() };
    }
    if v.is_nan() {
        return "nan".into();
    }
    if v == 0.0 && v.is_sign_negative() {
        // Redis keeps the sign of a zero (a 0 weight times a negative score).
        return "-0".into();
    }
    if v == v.trunc() && v.abs() < 1e17 {
        return format!("{}", v as i64);
    }
    // Shortest representation that round-trips, in %g style.
    let s = format!("{v:e}");
    let (mant, exp) = s.split_once('e').unwrap_or((&s, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    if (-5..17).contains(&exp) {
        format!("{v}")
    } else {
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{mant}e{sign}{:02}", exp.abs())
    }
}

/// C's `%.17g`, as Redis's `ld2string(LD_STR_AUTO)` prints a double (ZSCAN
/// over a skiplist-encoded set): 17 significant digits, so 0.1 prints as
/// 0.10000000000000001; trailing zeros dropped; an exponent outside
/// [-4, 17).
pub fn fmt_g17(v: f64) -> String {
    fmt_g(v, 17)
}

/// C's `%.<prec>g` (`prec` ≥ 1): `prec` significant digits, trailing
/// zeros dropped, exponent form when the exponent is below -4 or at least
/// `prec`. `fmt_g(v, 6)` is plain `%g`.
pub fn fmt_g(v: f64, prec: usize) -> String {
    if v.is_infinite() {
        return if v > 0.0 { "inf".into() } else { "-inf".into() };
    }
    if v.is_nan() {
        return "nan".into();
    }
    let prec = prec.max(1);
    let e = format!("{v:.*e}", prec - 1);
    let (mant, exp) = e.split_once('e').unwrap_or((&e, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let trim = |s: &str| -> String {
        if s.contains('.') {
            s.trim_end_matches('0').trim_end_matches('.').to_string()
        } else {
            s.to_string()
        }
    };
    if (-4..prec as i32).contains(&exp) {
        trim(&format!("{v:.*}", (prec as i32 - 1 - exp) as usize))
    } else {
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{}e{sign}{:02}", trim(mant), exp.abs())
    }
}

/// `cat_repr` into a new string (every byte of it is printable ASCII).
pub fn repr(s: &[u8]) -> String {
    let mut o = Vec::with_capacity(s.len() + 2);
    cat_repr(&mut o, s);
    String::from_utf8_lossy(&o).into_owned()
}

/// Redis's `sdscatrepr`: appends `s` double-quoted, with backslash,
/// quote, `\n`, `\r`, `\t`, `\a` and `\b` escaped and any other byte
/// outside printable ASCII written as `\xHH`.
pub fn cat_repr(out: &mut Vec<u8>, s: &[u8]) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push(b'"');
    for &c in s {
        match c {
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'"' => out.extend_from_slice(b"\\\""),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            7 => out.extend_from_slice(b"\\a"),
            8 => out.extend_from_slice(b"\\b"),
            0x20..=0x7e => out.push(c),
            _ => out.extend_from_slice(&[
                b'\\',
                b'x',
                HEX[(c >> 4) as usize],
                HEX[(c & 15) as usize],
            ]),
        }
    }
    out.push(b'"');
}

/// Glob-style pattern matching with Redis's `stringmatchlen` semantics:
/// `*`, `?`, `[...]` (with `^` negation and ranges) and `\` escapes.
/// Recursion on `*` is bounded, as Redis bounds it, so hostile patterns
/// cannot blow the stack.
pub fn glob_match(pattern: &[u8], s: &[u8], nocase: bool) -> bool {
    let mut skip = false;
    glob_inner(pattern, s, nocase, &mut skip, 0)
}

fn lower(c: u8, nocase: bool) -> u8 {
    if nocase { c.to_ascii_lowercase() } else { c }
}

fn glob_inner(
    mut p: &[u8],
    mut s: &[u8],
    nocase: bool,
    skip_longer: &mut bool,
    nesting: usize,
) -> bool {
    if nesting > 1000 {
        return false;
    }
    while !p.is_empty() && !s.is_empty() {
        match p[0] {
            b'*' => {
                while p.len() > 1 && p[1] == b'*' {
                    p = &p[1..];
                }
                if p.len() == 1 {
                    return true;
                }
                while !s.is_empty() {
                    if glob_inner(&p[1..], s, nocase, skip_longer, nesting + 1) {
                        return true;
                    }
                    if *skip_longer {
                        return false;
                    }
                    s = &s[1..];
                }
                *skip_longer = true;
                return false;
            }
            b'?' => {
                s = &s[1..];
            }
            b'[' => {
                p = &p[1..];
                let not = !p.is_empty() && p[0] == b'^';
                if not {
                    p = &p[1..];
                }
                let mut matched = false;
                loop {
                    if p.is_empty() {
                        break;
                    }
                    if p[0] == b'\\' && p.len() >= 2 {
                        p = &p[1..];
                        if p[0] == s[0] {
                            matched = true;
                        }
                    } else if p[0] == b']' {
                        break;
                    } else if p.len() >= 3 && p[1] == b'-' {
                        let (mut a, mut b) = (lower(p[0], nocase), lower(p[2], nocase));
                        if a > b {
                            std::mem::swap(&mut a, &mut b);
                        }
                        let c = lower(s[0], nocase);
                        if c >= a && c <= b {
                            matched = true;
                        }
                        p = &p[2..];
                    } else if lower(p[0], nocase) == lower(s[0], nocase) {
                        matched = true;
                    }
                    p = &p[1..];
                }
                if p.is_empty() {
                    // Unterminated class: Redis treats the end as the close.
                    if not {
                        matched = !matched;
                    }
                    if !matched {
                        return false;
                    }
                    s = &s[1..];
                    continue;
                }
                if not {
                    matched = !matched;
                }
                if !matched {
                    return false;
                }
                s = &s[1..];
            }
            b'\\' if p.len() >= 2 => {
                p = &p[1..];
                if lower(p[0], nocase) != lower(s[0], nocase) {
                    return false;
                }
                s = &s[1..];
            }
            c => {
                if lower(c, nocase) != lower(s[0], nocase) {
                    return false;
                }
                s = &s[1..];
            }
        }
        p = &p[1..];
        if s.is_empty() {
            while !p.is_empty() && p[0] == b'*' {
                p = &p[1..];
            }
            break;
        }
    }
    p.is_empty() && s.is_empty()
}

/// Case-insensitive ASCII comparison of an argument with a keyword.
#[inline]
pub fn eq_ic(a: &[u8], kw: &str) -> bool {
    a.eq_ignore_ascii_case(kw.as_bytes())
}

/// Parses a memory size like redis.conf does: "1gb", "100mb", "5k", "42".
pub fn parse_memory(s: &str) -> Option<i64> {
    let l = s.to_ascii_lowercase();
    let (num, mul) = if let Some(n) = l.strip_suffix("gb") {
        (n, 1i64 << 30)
    } else if let Some(n) = l.strip_suffix("mb") {
        (n, 1 << 20)
    } else if let Some(n) = l.strip_suffix("kb") {
        (n, 1 << 10)
    } else if let Some(n) = l.strip_suffix('g') {
        (n, 1_000_000_000)
    } else if let Some(n) = l.strip_suffix('m') {
        (n, 1_000_000)
    } else if let Some(n) = l.strip_suffix('k') {
        (n, 1_000)
    } else if let Some(n) = l.strip_suffix('b') {
        (n, 1)
    } else {
        (l.as_str(), 1)
    };
    let v: i64 = num.parse().ok()?;
    v.checked_mul(mul)
}

/// A small xorshift generator: sampling and RANDOMKEY need speed, not
/// cryptographic quality.
pub struct Rng(u64);

impl Rng {
    pub fn new() -> Rng {
        let seed = now_us() as u64 ^ ((std::process::id() as u64) << 32);
        Rng(seed | 1)
    }
    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }
}

impl Default for Rng {
    fn default() -> Self {
        Rng::new()
    }
}

/// Fills `buf` from the system's random source (`/dev/urandom`), or, if
/// that cannot be read, from the seeded generator.
pub fn random_bytes(buf: &mut [u8]) {
    let ok = std::fs::File::open("/dev/urandom")
        .and_then(|mut f| std::io::Read::read_exact(&mut f, buf))
        .is_ok();
    if !ok {
        let mut r = Rng::new();
        for b in buf.iter_mut() {
            *b = r.next() as u8;
        }
    }
}

/// The C library's text for an I/O error (`strerror`), which Redis puts in
/// its error replies, without Rust's " (os error N)" suffix.
pub fn os_error_text(e: &std::io::Error) -> String {
    let s = e.to_string();
    match s.find(" (os error") {
        Some(i) => s[..i].to_string(),
        None => s,
    }
}

/// Redis's `debugDelay` (key-load-delay, rdb-key-save-delay): sleep
/// `usec` microseconds; a negative value sleeps 1 µs once in `-usec`
/// calls on average, for delays below what a sleep can do.
pub fn debug_delay(usec: i64, rng: &mut Rng) {
    let us = if usec < 0 {
        rng.next().is_multiple_of(usec.unsigned_abs()) as u64
    } else {
        usec as u64
    };
    if us > 0 {
        std::thread::sleep(std::time::Duration::from_micros(us));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atoi_as_glibc() {
        for (s, v) in [
            ("12", 12),
            ("  -3x", -3),
            ("+7", 7),
            ("1abc", 1),
            ("abc", 0),
            ("", 0),
            ("1443677133621497600", 1071451904),
            ("99999999999999999999", -1),
        ] {
            assert_eq!(atoi(s.as_bytes()), v, "{s}");
        }
    }

    #[test]
    fn negative_zero_keeps_its_sign() {
        // ZUNION ... WEIGHTS 0 of a negative score replies -0 in Redis.
        assert_eq!(fmt_double(-0.0), "-0");
        assert_eq!(fmt_double(0.0 * -3.0), "-0");
        assert_eq!(fmt_double(0.0), "0");
    }

    #[test]
    fn g17_matches_printf() {
        // Expected texts from C's printf("%.17g").
        let cases: [(f64, &str); 10] = [
            (0.1, "0.10000000000000001"),
            (1.5, "1.5"),
            (-2.25, "-2.25"),
            (49.0, "49"),
            (-0.0, "-0"),
            (1e17, "1e+17"),
            (12345678901234567.0, "12345678901234568"),
            (0.0001, "0.0001"),
            (0.00001, "1.0000000000000001e-05"),
            (f64::NEG_INFINITY, "-inf"),
        ];
        for (v, want) in cases {
            assert_eq!(fmt_g17(v), want, "{v}");
        }
    }

    /// Plain `%g`, as glibc prints these.
    #[test]
    fn g_format() {
        let cases = [
            (1.0, "1"),
            (0.1, "0.1"),
            (1.23456789, "1.23457"),
            (123456.0, "123456"),
            (1234567.0, "1.23457e+06"),
            (0.0001, "0.0001"),
            (0.00001234, "1.234e-05"),
            (-2.5, "-2.5"),
            (1e100, "1e+100"),
            (0.0, "0"),
        ];
        for (v, want) in cases {
            assert_eq!(fmt_g(v, 6), want, "{v}");
        }
    }

    #[test]
    fn repr_escapes() {
        let mut out = Vec::new();
        cat_repr(&mut out, b"a\"b\\\n\r\t\x07\x08\x00\xff ~");
        assert_eq!(out, b"\"a\\\"b\\\\\\n\\r\\t\\a\\b\\x00\\xff ~\"");
    }

    #[test]
    fn strict_integers() {
        assert_eq!(parse_i64(b"0"), Some(0));
        assert_eq!(parse_i64(b"-9223372036854775808"), Some(i64::MIN));
        assert_eq!(parse_i64(b"9223372036854775807"), Some(i64::MAX));
        assert_eq!(parse_i64(b"9223372036854775808"), None);
        for bad in [&b"01"[..], b"+1", b" 1", b"1 ", b"-0", b"", b"-", b"1a"] {
            assert_eq!(parse_i64(bad), None, "{:?}", bad);
        }
    }

    #[test]
    fn floats() {
        assert_eq!(parse_f64(b"1.5"), Some(1.5));
        assert_eq!(parse_f64(b" 1.5"), None);
        assert_eq!(parse_f64(b"nan"), None);
        assert_eq!(parse_f64(b"-inf"), Some(f64::NEG_INFINITY));
        assert_eq!(fmt_double(1.5), "1.5");
        assert_eq!(fmt_double(-2.0), "-2");
    }

    #[test]
    fn globs() {
        assert!(glob_match(b"*", b"anything", false));
        assert!(glob_match(b"h?llo", b"hello", false));
        assert!(glob_match(b"h[ae]llo", b"hallo", false));
        assert!(!glob_match(b"h[^e]llo", b"hello", false));
        assert!(glob_match(b"h[a-b]llo", b"hbllo", false));
        assert!(glob_match(b"a\\*b", b"a*b", false));
        assert!(!glob_match(b"a\\*b", b"axb", false));
        assert!(glob_match(b"FOO*", b"foobar", true));
        assert!(!glob_match(b"foo", b"foobar", false));
        assert!(!glob_match(b"*a*a*a*a*a*a*a*a*a*b", &[b'a'; 40], false));
    }

    #[test]
    fn ints_to_text() {
        let mut b = [0u8; 20];
        assert_eq!(fmt_i64(i64::MIN, &mut b), b"-9223372036854775808");
        assert_eq!(fmt_i64(0, &mut b), b"0");
        assert_eq!(parse_memory("1gb"), Some(1 << 30));
        assert_eq!(parse_memory("5k"), Some(5000));
    }
}
