//! Redis's `long double` arithmetic for INCRBYFLOAT and HINCRBYFLOAT.
//!
//! On x86-64 Redis computes these in the x87 80-bit extended format (a
//! 64-bit significand), reads numbers with `strtold` and prints them with
//! `%.17Lf`, trailing zeros trimmed. Clients see the result: `INCRBYFLOAT k
//! 0.1` three times gives `0.3` there, where f64 arithmetic would give
//! `0.30000000000000004`. So this module does what glibc and the FPU do, in
//! software: reading correctly rounded to 64 bits (round half to even, with
//! subnormals), adding with one rounding, printing the exact value rounded
//! to 17 decimals. Exact decimal work goes through a small big integer; it
//! is only needed for the digits a command actually sent.

use std::cmp::Ordering;

/// `MAX_LONG_DOUBLE_CHARS`: `string2ld` refuses input of this length or more.
const MAX_CHARS: usize = 5 * 1024;
/// Value = significand × 2^exp. Smallest exponent: subnormals and the
/// smallest normal (2^-16382) share it.
const EXP_MIN: i32 = -16445;
/// Largest exponent of a finite value (just under 2^16384).
const EXP_MAX: i32 = 16320;

/// A finite x87 extended value, or an infinity.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LongDouble {
    neg: bool,
    /// Bit 63 set for normal values; below 2^63 only at `EXP_MIN`.
    mant: u64,
    /// `i32::MAX` marks an infinity.
    exp: i32,
}

impl LongDouble {
    const fn inf(neg: bool) -> LongDouble {
        LongDouble {
            neg,
            mant: 1 << 63,
            exp: i32::MAX,
        }
    }

    const fn zero(neg: bool) -> LongDouble {
        LongDouble {
            neg,
            mant: 0,
            exp: 0,
        }
    }

    pub fn is_infinite(&self) -> bool {
        self.exp == i32::MAX
    }

    /// An integer, exactly (64 significand bits hold every i64).
    pub fn from_i64(v: i64) -> LongDouble {
        round(v < 0, u128::from(v.unsigned_abs()), false, 0)
    }

    /// What Redis's `string2ld` accepts: all of `s` is one `strtold` number
    /// (decimal, hexadecimal or an infinity), no leading space, not NaN, and
    /// not out of range (overflow, or underflow to zero).
    pub fn parse(s: &[u8]) -> Option<LongDouble> {
        if s.is_empty() || s.len() >= MAX_CHARS {
            return None;
        }
        let (neg, body) = match s[0] {
            b'-' => (true, &s[1..]),
            b'+' => (false, &s[1..]),
            _ => (false, s),
        };
        if body.eq_ignore_ascii_case(b"inf") || body.eq_ignore_ascii_case(b"infinity") {
            return Some(LongDouble::inf(neg));
        }
        let v = match body {
            [b'0', b'x' | b'X', rest @ ..] => parse_hex(neg, rest)?,
            _ => parse_decimal(neg, body)?,
        };
        // ERANGE: overflow, or a nonzero number that rounded to zero.
        (!v.is_infinite()).then_some(v)
    }

    /// `self + other` with one rounding; None when the sum is infinite or
    /// NaN (Redis's "increment would produce NaN or Infinity").
    pub fn checked_add(self, other: LongDouble) -> Option<LongDouble> {
        if self.is_infinite() || other.is_infinite() {
            return None;
        }
        if other.mant == 0 {
            // x + 0: -0 + -0 stays -0, +0 + -0 is +0.
            return Some(if self.mant == 0 && self.neg != other.neg {
                LongDouble::zero(false)
            } else {
                self
            });
        }
        if self.mant == 0 {
            return Some(other);
        }
        // The operand with the larger exponent first; 62 guard bits below
        // its significand, the other shifted right with its lost bits
        // folded into a sticky bit (enough for one correct rounding).
        let (a, b) = if self.exp >= other.exp {
            (self, other)
        } else {
            (other, self)
        };
        let big = u128::from(a.mant) << 62;
        let d = (a.exp - b.exp) as u32;
        let full = u128::from(b.mant) << 62;
        let (small, sticky) = if d >= 128 {
            (0, true)
        } else {
            (full >> d, full & ((1u128 << d) - 1) != 0)
        };
        let small = small | u128::from(sticky);
        let exp = a.exp - 62;
        if a.neg == b.neg {
            return Some(round(a.neg, big + small, false, exp)).filter(|v| !v.is_infinite());
        }
        match big.cmp(&small) {
            Ordering::Equal => Some(LongDouble::zero(false)),
            Ordering::Greater => Some(round(a.neg, big - small, false, exp)),
            Ordering::Less => Some(round(b.neg, small - big, false, exp)),
        }
    }

    /// `ld2string(LD_STR_HUMAN)`: `%.17Lf` with trailing zeros (and a bare
    /// point) removed, and "-0" written as "0".
    pub fn to_human(self) -> String {
        if self.is_infinite() {
            return if self.neg { "-inf" } else { "inf" }.into();
        }
        let mut s = String::new();
        if self.neg {
            s.push('-');
        }
        if self.exp >= 0 {
            let mut n = Big::from_u128(u128::from(self.mant));
            n.shl(self.exp as u32);
            s.push_str(&n.to_decimal());
        } else {
            // mant × 10^17 < 2^121: the value scaled by 10^17, rounded
            // half to even, then the point put back.
            let x = u128::from(self.mant) * 100_000_000_000_000_000;
            let k = (-self.exp) as u32;
            let q = if k >= 122 {
                0
            } else {
                let q = x >> k;
                let r = x & ((1u128 << k) - 1);
                let half = 1u128 << (k - 1);
                if r > half || (r == half && q & 1 == 1) {
                    q + 1
                } else {
                    q
                }
            };
            let digits = format!("{q:018}");
            let (int, frac) = digits.split_at(digits.len() - 17);
            s.push_str(int);
            let frac = frac.trim_end_matches('0');
            if !frac.is_empty() {
                s.push('.');
                s.push_str(frac);
            }
        }
        if s == "-0" { "0".into() } else { s }
    }
}

/// Rounds `n` × 2^`exp` (plus less than one unit of `n` when `sticky`)
/// to a 64-bit significand, half to even, subnormal below `EXP_MIN`,
/// infinite past `EXP_MAX`.
fn round(neg: bool, n: u128, sticky: bool, exp: i32) -> LongDouble {
    if n == 0 {
        return LongDouble::zero(neg);
    }
    let bits = 128 - n.leading_zeros() as i32;
    let mut shift = bits - 64;
    let mut e = exp.saturating_add(shift);
    if e < EXP_MIN {
        shift += EXP_MIN - e;
        e = EXP_MIN;
    }
    let mut mant = if shift <= 0 {
        // Exact; callers pass a sticky remainder only with bits to drop.
        debug_assert!(!sticky);
        n << (-shift) as u32
    } else if shift > 128 {
        0
    } else {
        let (q, r) = if shift == 128 {
            (0, n)
        } else {
            (n >> shift, n & ((1u128 << shift) - 1))
        };
        let half = 1u128 << (shift - 1);
        if r > half || (r == half && (sticky || q & 1 == 1)) {
            q + 1
        } else {
            q
        }
    };
    if mant == 1 << 64 {
        mant >>= 1;
        e += 1;
    }
    if mant == 0 {
        return LongDouble::zero(neg);
    }
    if e > EXP_MAX {
        return LongDouble::inf(neg);
    }
    LongDouble {
        neg,
        mant: mant as u64,
        exp: e,
    }
}

/// Rounds a big integer × 2^`exp` through its top 128 bits.
fn round_big(neg: bool, n: &Big, sticky: bool, exp: i32) -> LongDouble {
    let bits = n.bits();
    if bits <= 128 {
        return round(neg, n.low_u128(), sticky, exp);
    }
    let drop = bits - 128;
    let lost = sticky || n.any_below(drop);
    let mut top = n.clone();
    top.shr(drop);
    round(
        neg,
        top.low_u128() | u128::from(lost),
        false,
        exp.saturating_add(drop as i32),
    )
}

/// Reads an exponent's digits, saturating far beyond any finite result.
fn exponent(s: &[u8]) -> Option<i64> {
    let (neg, digits) = match s.first()? {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let v = digits
        .iter()
        .fold(0i64, |v, &c| (v * 10 + i64::from(c - b'0')).min(1 << 40));
    Some(if neg { -v } else { v })
}

/// Splits `digits[.digits]` into its digits and the count after the point;
/// None without any digit or with another character.
fn mantissa(s: &[u8], radix: u32) -> Option<(Vec<u8>, i64)> {
    let mut digits = Vec::with_capacity(s.len());
    let mut frac = 0i64;
    let mut seen_dot = false;
    for &c in s {
        if c == b'.' && !seen_dot {
            seen_dot = true;
            continue;
        }
        let d = (c as char).to_digit(radix)?;
        digits.push(d as u8);
        if seen_dot {
            frac += 1;
        }
    }
    (!digits.is_empty()).then_some((digits, frac))
}

fn parse_decimal(neg: bool, s: &[u8]) -> Option<LongDouble> {
    let (mant, exp) = match s.iter().position(|&c| c == b'e' || c == b'E') {
        Some(i) => (&s[..i], exponent(&s[i + 1..])?),
        None => (s, 0),
    };
    let (digits, frac) = mantissa(mant, 10)?;
    let start = digits.iter().position(|&d| d != 0);
    let Some(start) = start else {
        return Some(LongDouble::zero(neg));
    };
    let digits = &digits[start..];
    // Trailing zeros only scale: fold them into the exponent.
    let end = digits.iter().rposition(|&d| d != 0).map_or(0, |i| i + 1);
    let e10 = exp - frac + (digits.len() - end) as i64;
    let digits = &digits[..end];
    let magnitude = e10 + digits.len() as i64; // value in [10^(m-1), 10^m)
    if magnitude > 4934 {
        return Some(LongDouble::inf(neg));
    }
    if magnitude < -4952 {
        return None; // underflows to zero: ERANGE
    }
    let mut n = Big::from_decimal(digits);
    let v = if e10 >= 0 {
        n.mul_pow10(e10 as u32);
        round_big(neg, &n, false, 0)
    } else {
        // n / 10^-e10 with about 120 quotient bits and a sticky remainder.
        let mut d = Big::from_u128(1);
        d.mul_pow10((-e10) as u32);
        let s = (d.bits() as i64 - n.bits() as i64 + 120).max(0) as u32;
        n.shl(s);
        let (q, rest) = n.div_rem(&d);
        round(neg, q, rest, -(s as i32))
    };
    (v.mant != 0).then_some(v)
}

fn parse_hex(neg: bool, s: &[u8]) -> Option<LongDouble> {
    let (mant, exp) = match s.iter().position(|&c| c == b'p' || c == b'P') {
        Some(i) => (&s[..i], exponent(&s[i + 1..])?),
        None => (s, 0),
    };
    let (digits, frac) = mantissa(mant, 16)?;
    let Some(start) = digits.iter().position(|&d| d != 0) else {
        return Some(LongDouble::zero(neg));
    };
    let digits = &digits[start..];
    let e2 = exp - 4 * frac;
    if e2 + 4 * digits.len() as i64 > 16400 {
        return Some(LongDouble::inf(neg));
    }
    if e2 + 4 * (digits.len() as i64) < EXP_MIN as i64 - 2 {
        return None;
    }
    let mut n = Big::default();
    for &d in digits {
        n.shl(4);
        n.add_small(u64::from(d));
    }
    let v = round_big(neg, &n, false, e2.clamp(-100_000, 100_000) as i32);
    (v.mant != 0).then_some(v)
}

/// A non-negative big integer, little-endian 64-bit limbs, no high zero
/// limbs. Only what reading and printing need.
#[derive(Clone, Default, Debug)]
struct Big(Vec<u64>);

impl Big {
    fn from_u128(v: u128) -> Big {
        let mut b = Big(vec![v as u64, (v >> 64) as u64]);
        b.trim();
        b
    }

    fn trim(&mut self) {
        while self.0.last() == Some(&0) {
            self.0.pop();
        }
    }

    fn bits(&self) -> u32 {
        match self.0.last() {
            None => 0,
            Some(&top) => 64 * self.0.len() as u32 - top.leading_zeros(),
        }
    }

    fn low_u128(&self) -> u128 {
        let l = |i: usize| u128::from(self.0.get(i).copied().unwrap_or(0));
        l(0) | l(1) << 64
    }

    /// Whether any of the low `n` bits is set.
    fn any_below(&self, n: u32) -> bool {
        let (whole, part) = ((n / 64) as usize, n % 64);
        self.0.iter().take(whole).any(|&l| l != 0)
            || (part > 0
                && self
                    .0
                    .get(whole)
                    .is_some_and(|&l| l & ((1 << part) - 1) != 0))
    }

    fn mul_small(&mut self, m: u64) {
        let mut carry = 0u128;
        for l in &mut self.0 {
            let v = u128::from(*l) * u128::from(m) + carry;
            *l = v as u64;
            carry = v >> 64;
        }
        if carry > 0 {
            self.0.push(carry as u64);
        }
    }

    fn add_small(&mut self, a: u64) {
        let mut carry = a;
        for l in &mut self.0 {
            let (v, o) = l.overflowing_add(carry);
            *l = v;
            carry = u64::from(o);
            if carry == 0 {
                return;
            }
        }
        if carry > 0 {
            self.0.push(carry);
        }
    }

    fn mul_pow10(&mut self, mut e: u32) {
        while e >= 19 {
            self.mul_small(10_000_000_000_000_000_000);
            e -= 19;
        }
        self.mul_small(10u64.pow(e));
    }

    fn from_decimal(digits: &[u8]) -> Big {
        let mut n = Big::default();
        for chunk in digits.chunks(19) {
            let v = chunk.iter().fold(0u64, |v, &d| v * 10 + u64::from(d));
            n.mul_small(10u64.pow(chunk.len() as u32));
            n.add_small(v);
        }
        n
    }

    fn shl(&mut self, n: u32) {
        if self.0.is_empty() {
            return;
        }
        let (whole, part) = ((n / 64) as usize, n % 64);
        if part > 0 {
            let mut carry = 0;
            for l in &mut self.0 {
                let v = *l;
                *l = v << part | carry;
                carry = v >> (64 - part);
            }
            if carry > 0 {
                self.0.push(carry);
            }
        }
        self.0.splice(0..0, std::iter::repeat_n(0, whole));
    }

    fn shr(&mut self, n: u32) {
        let (whole, part) = ((n / 64) as usize, n % 64);
        self.0.drain(..whole.min(self.0.len()));
        if part > 0 {
            for i in 0..self.0.len() {
                let hi = self.0.get(i + 1).map_or(0, |&h| h << (64 - part));
                self.0[i] = self.0[i] >> part | hi;
            }
        }
        self.trim();
    }

    fn cmp(&self, o: &Big) -> Ordering {
        self.0
            .len()
            .cmp(&o.0.len())
            .then_with(|| self.0.iter().rev().cmp(o.0.iter().rev()))
    }

    fn sub_assign(&mut self, o: &Big) {
        let mut borrow = false;
        for (i, l) in self.0.iter_mut().enumerate() {
            let r = o.0.get(i).copied().unwrap_or(0);
            let (v, b1) = l.overflowing_sub(r);
            let (v, b2) = v.overflowing_sub(u64::from(borrow));
            *l = v;
            borrow = b1 || b2;
        }
        self.trim();
    }

    /// Quotient (which must fit 128 bits) and whether a remainder is left,
    /// by shift and subtract.
    fn div_rem(mut self, d: &Big) -> (u128, bool) {
        if self.cmp(d) == Ordering::Less {
            return (0, !self.0.is_empty());
        }
        let top = self.bits() - d.bits();
        let mut ds = d.clone();
        ds.shl(top);
        let mut q = 0u128;
        for i in (0..=top).rev() {
            if self.cmp(&ds) != Ordering::Less {
                self.sub_assign(&ds);
                q |= 1 << i;
            }
            ds.shr(1);
        }
        (q, !self.0.is_empty())
    }

    fn to_decimal(&self) -> String {
        let mut n = self.clone();
        let mut chunks = Vec::new();
        while !n.0.is_empty() {
            let mut rem = 0u128;
            for l in n.0.iter_mut().rev() {
                let v = rem << 64 | u128::from(*l);
                *l = (v / 10_000_000_000_000_000_000) as u64;
                rem = v % 10_000_000_000_000_000_000;
            }
            n.trim();
            chunks.push(rem as u64);
        }
        let mut s = chunks.pop().map_or("0".to_string(), |c| c.to_string());
        for c in chunks.iter().rev() {
            s.push_str(&format!("{c:019}"));
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn human(s: &str) -> String {
        LongDouble::parse(s.as_bytes()).unwrap().to_human()
    }

    fn incr(a: &str, b: &str) -> String {
        let a = LongDouble::parse(a.as_bytes()).unwrap();
        let b = LongDouble::parse(b.as_bytes()).unwrap();
        a.checked_add(b)
            .map_or("overflow".into(), LongDouble::to_human)
    }

    #[test]
    fn decimal_sums_print_as_redis_prints_them() {
        // Values read back from Redis 8.0.6 on x86-64.
        assert_eq!(incr("0.1", "0.2"), "0.3");
        assert_eq!(incr("10.5", "0.1"), "10.6");
        assert_eq!(incr("1", "-1.1"), "-0.1");
        assert_eq!(incr("5.0e3", "2.0e2"), "5200");
        assert_eq!(incr("0", "1e-20"), "0");
        assert_eq!(incr("0", "-1e-20"), "0");
        assert_eq!(incr("3.0", "1.1"), "4.1");
        assert_eq!(human("1e20"), "100000000000000000000");
        assert_eq!(human("0x1p-2"), "0.25");
        assert_eq!(human("123456789.123456789"), "123456789.12345678899873747");
        assert_eq!(human("-0"), "0");
        assert_eq!(human("1.5e-17"), "0.00000000000000002");
        assert_eq!(human("2.5e-17"), "0.00000000000000002");
        assert_eq!(human("17179869184"), "17179869184");
    }

    #[test]
    fn refuses_what_string2ld_refuses() {
        for bad in [
            "",
            " 1",
            "1 ",
            "abc",
            "nan",
            "-nan",
            "1e",
            "1e+",
            ".",
            "e5",
            "0x",
            "1.2.3",
            "1e5000",
            "-1e5000",
            "1e-5000",
            "0x1p99999",
            "1\u{0}",
        ] {
            assert_eq!(LongDouble::parse(bad.as_bytes()), None, "{bad:?}");
        }
        assert!(LongDouble::parse(b"inf").unwrap().is_infinite());
        assert!(LongDouble::parse(b"-Infinity").unwrap().is_infinite());
        assert!(LongDouble::parse(b"0e-9999").is_some());
        assert!(LongDouble::parse("1".repeat(MAX_CHARS).as_bytes()).is_none());
        // The largest finite value reads; just past it overflows.
        assert!(LongDouble::parse(b"1.18973149535723176502e4932").is_some());
        assert!(LongDouble::parse(b"1.18973149535723176509e4932").is_none());
        // Subnormals read; half the smallest one rounds to zero.
        assert!(LongDouble::parse(b"3.6e-4951").is_some());
        assert!(LongDouble::parse(b"1e-4952").is_none());
    }

    #[test]
    fn hexadecimal_and_signs_read_as_strtold_reads_them() {
        // Checked against Redis 8.0.6: SET h <text>; INCRBYFLOAT h 0.
        for (s, want) in [
            ("0x103.5", "259.3125"),
            ("0x1p3", "8"),
            ("0x.8", "0.5"),
            ("0x1P-2", "0.25"),
            ("+0x10", "16"),
            ("1.5E+2", "150"),
            ("0x10", "16"),
        ] {
            assert_eq!(human(s), want, "{s:?}");
        }
        for bad in ["0x10p", "10e", "0x1p", "0xg"] {
            assert_eq!(LongDouble::parse(bad.as_bytes()), None, "{bad:?}");
        }
    }

    #[test]
    fn integers_are_exact() {
        for v in [0, 1, -1, i64::MAX, i64::MIN, 1 << 62, 9_007_199_254_740_993] {
            assert_eq!(LongDouble::from_i64(v).to_human(), v.to_string());
            assert_eq!(
                LongDouble::parse(v.to_string().as_bytes()),
                Some(LongDouble::from_i64(v))
            );
        }
        let sum = LongDouble::from_i64(i64::MAX)
            .checked_add(LongDouble::from_i64(1))
            .unwrap();
        assert_eq!(sum.to_human(), "9223372036854775808");
    }

    #[test]
    fn huge_values_print_every_digit_and_overflow_is_refused() {
        let max = LongDouble::parse(b"1.18973149535723176502e4932").unwrap();
        let text = max.to_human();
        assert_eq!(text.len(), 4933);
        assert!(text.starts_with("118973149535723176502"), "{}", &text[..30]);
        assert_eq!(max.checked_add(max), None);
        assert_eq!(max.checked_add(LongDouble::inf(false)), None);
    }

    /// The FPU itself as the oracle for addition.
    #[cfg(target_arch = "x86_64")]
    fn x87_add(a: LongDouble, b: LongDouble) -> LongDouble {
        let enc = |v: LongDouble| {
            let mut out = [0u8; 10];
            let (exp, mant) = if v.mant == 0 {
                (0u16, 0)
            } else if v.mant >> 63 == 0 {
                (0, v.mant)
            } else {
                ((v.exp - EXP_MIN + 1) as u16, v.mant)
            };
            out[..8].copy_from_slice(&mant.to_le_bytes());
            out[8..].copy_from_slice(&(exp | u16::from(v.neg) << 15).to_le_bytes());
            out
        };
        let (x, y) = (enc(a), enc(b));
        let mut out = [0u8; 10];
        // SAFETY: loads two 10-byte operands and stores one, all local.
        unsafe {
            std::arch::asm!(
                "fld tbyte ptr [{x}]",
                "fld tbyte ptr [{y}]",
                "faddp st(1), st",
                "fstp tbyte ptr [{o}]",
                x = in(reg) x.as_ptr(),
                y = in(reg) y.as_ptr(),
                o = in(reg) out.as_mut_ptr(),
                out("st(0)") _, out("st(1)") _,
            );
        }
        let mant = u64::from_le_bytes(out[..8].try_into().unwrap());
        let se = u16::from_le_bytes(out[8..].try_into().unwrap());
        let (neg, exp) = (se >> 15 == 1, i32::from(se & 0x7fff));
        if exp == 0x7fff {
            return LongDouble::inf(neg);
        }
        if mant == 0 {
            return LongDouble::zero(neg);
        }
        let exp = if exp == 0 { EXP_MIN } else { exp - 1 + EXP_MIN };
        LongDouble { neg, mant, exp }
    }

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn addition_matches_the_fpu() {
        let mut x = 0x2545_f491_4f6c_dd1du64;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for i in 0..200_000 {
            let mut pick = |spread: u64| {
                let r = next();
                let mant = if i % 7 == 0 {
                    r >> (r % 64)
                } else {
                    r | 1 << 63
                };
                let exp = if spread == 0 {
                    (next() % 200) as i32 - 100
                } else {
                    (next() % spread) as i32 + EXP_MIN
                };
                round(next() & 1 == 1, u128::from(mant), false, exp)
            };
            let spread = if i % 3 == 0 {
                (EXP_MAX - EXP_MIN) as u64
            } else {
                0
            };
            let (a, b) = (pick(spread), pick(spread));
            let want = x87_add(a, b);
            let got = a.checked_add(b);
            if want.is_infinite() {
                assert_eq!(got, None, "{a:?} + {b:?}");
            } else {
                assert_eq!(got, Some(want), "{a:?} + {b:?}");
            }
        }
    }
}
