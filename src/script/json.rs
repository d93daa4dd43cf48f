//! `cjson` for scripts: `encode`, `decode` and `null`, following the
//! documented behaviour of Lua CJSON (numbers with 14 significant digits,
//! arrays for tables whose keys are 1..n, `cjson.null` for JSON null).

use mlua::{LightUserData, Lua, MultiValue, Table, Value};

use std::cell::Cell;

const MAX_DEPTH: usize = 1000;

// Depth settings are capped at MAX_DEPTH: the encoder and decoder recurse.
thread_local! {
    static ENC_DEPTH: Cell<usize> = const { Cell::new(MAX_DEPTH) };
    static DEC_DEPTH: Cell<usize> = const { Cell::new(MAX_DEPTH) };
    static INVALID_NUMS: Cell<bool> = const { Cell::new(false) };
}

fn null() -> Value {
    Value::LightUserData(LightUserData(std::ptr::null_mut()))
}

fn fmt_num(n: f64, out: &mut Vec<u8>) -> Result<(), String> {
    if n.is_nan() || n.is_infinite() {
        if !INVALID_NUMS.with(|c| c.get()) {
            return Err("Cannot serialise number: must not be NaN or Inf".into());
        }
        let s: &[u8] = if n.is_nan() {
            b"nan"
        } else if n > 0.0 {
            b"inf"
        } else {
            b"-inf"
        };
        out.extend_from_slice(s);
        return Ok(());
    }
    if n.fract() == 0.0 && n.abs() < 1e14 {
        out.extend_from_slice((n as i64).to_string().as_bytes());
    } else {
        // %.14g
        let s = format!("{:.13e}", n);
        let (mant, exp) = s.split_once('e').unwrap_or((&s, "0"));
        let exp: i32 = exp.parse().unwrap_or(0);
        if (-5..14).contains(&exp) {
            let digits = (13 - exp).max(0) as usize;
            let mut t = format!("{:.*}", digits, n);
            if t.contains('.') {
                while t.ends_with('0') {
                    t.pop();
                }
                if t.ends_with('.') {
                    t.pop();
                }
            }
            out.extend_from_slice(t.as_bytes());
        } else {
            let mut m = mant.to_string();
            if m.contains('.') {
                while m.ends_with('0') {
                    m.pop();
                }
                if m.ends_with('.') {
                    m.pop();
                }
            }
            let sign = if exp < 0 { '-' } else { '+' };
            out.extend_from_slice(format!("{m}e{sign}{:02}", exp.abs()).as_bytes());
        }
    }
    Ok(())
}

fn encode_str(s: &[u8], out: &mut Vec<u8>) {
    out.push(b'"');
    for &c in s {
        match c {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'/' => out.extend_from_slice(b"\\/"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            0x08 => out.extend_from_slice(b"\\b"),
            0x0c => out.extend_from_slice(b"\\f"),
            c if c < 0x20 || c == 0x7f => {
                out.extend_from_slice(format!("\\u{:04x}", c).as_bytes());
            }
            c => out.push(c),
        }
    }
    out.push(b'"');
}

fn encode(v: &Value, out: &mut Vec<u8>, depth: usize) -> Result<(), String> {
    let max = ENC_DEPTH.with(|c| c.get());
    if depth > max {
        return Err(format!("Cannot serialise, excessive nesting ({depth})"));
    }
    match v {
        Value::Nil => out.extend_from_slice(b"null"),
        Value::LightUserData(p) if p.0.is_null() => out.extend_from_slice(b"null"),
        Value::Boolean(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
        Value::Integer(i) => out.extend_from_slice(i.to_string().as_bytes()),
        Value::Number(n) => fmt_num(*n, out)?,
        Value::String(s) => encode_str(&s.as_bytes(), out),
        Value::Table(t) => encode_table(t, out, depth + 1)?,
        other => {
            return Err(format!(
                "Cannot serialise {}: type not supported",
                other.type_name()
            ));
        }
    }
    Ok(())
}

fn encode_table(t: &Table, out: &mut Vec<u8>, depth: usize) -> Result<(), String> {
    // An array when every key is a positive integer (not too sparse).
    let mut max = 0usize;
    let mut count = 0usize;
    let mut array = true;
    // `for_each`, not `pairs()`: `pairs()` hands mlua's copy of each key
    // back to `next`, and mlua reads a number within EPSILON of an integer
    // as that integer (1e-300 as 0), which `next` then cannot find
    // ("invalid key to 'next'"). An error return stops the walk.
    let _ = t.for_each::<Value, Value>(|k, _| {
        count += 1;
        let idx = match k {
            Value::Integer(i) if i >= 1 => Some(i as usize),
            Value::Number(n) if n >= 1.0 && n.fract() == 0.0 => Some(n as usize),
            _ => None,
        };
        match idx {
            Some(i) => {
                max = max.max(i);
                Ok(())
            }
            None => {
                array = false;
                Err(mlua::Error::runtime("not an array"))
            }
        }
    });
    if array && max > 10 && max > count * 2 {
        return Err("Cannot serialise table: excessively sparse array".into());
    }
    if array && count > 0 {
        out.push(b'[');
        for i in 1..=max {
            if i > 1 {
                out.push(b',');
            }
            let v: Value = t.raw_get(i).unwrap_or(Value::Nil);
            encode(&v, out, depth)?;
        }
        out.push(b']');
        return Ok(());
    }
    if count == 0 {
        out.extend_from_slice(b"{}");
        return Ok(());
    }
    out.push(b'{');
    let mut first = true;
    let mut failed = Ok(());
    let _ = t.for_each::<Value, Value>(|k, v| {
        if !first {
            out.push(b',');
        }
        first = false;
        let r = match &k {
            Value::String(s) => {
                encode_str(&s.as_bytes(), out);
                Ok(())
            }
            Value::Number(_) | Value::Integer(_) => {
                let mut tmp = Vec::new();
                encode(&k, &mut tmp, depth + 1).map(|_| encode_str(&tmp, out))
            }
            _ => Err("Cannot serialise table: table key must be a number or string".into()),
        }
        .and_then(|_| {
            out.push(b':');
            encode(&v, out, depth)
        });
        // Stop the walk at the first error and keep its message.
        r.map_err(|e| {
            failed = Err(e);
            mlua::Error::runtime("stop")
        })
    });
    failed?;
    out.push(b'}');
    Ok(())
}

struct Decoder<'a> {
    s: &'a [u8],
    pos: usize,
}

impl Decoder<'_> {
    fn ws(&mut self) {
        while self.pos < self.s.len() && matches!(self.s[self.pos], b' ' | b'\t' | b'\n' | b'\r') {
            self.pos += 1;
        }
    }

    fn err<T>(&self, what: &str) -> Result<T, String> {
        Err(format!(
            "Expected {what} but found {} at character {}",
            self.found(),
            self.pos + 1
        ))
    }

    /// lua-cjson's name for the token at `pos` in its errors; a string,
    /// which it names only after lexing it whole, stays "invalid token".
    fn found(&self) -> &'static str {
        let rest = &self.s[self.pos.min(self.s.len())..];
        match rest.first() {
            None => "T_END",
            Some(b'{') => "T_OBJ_BEGIN",
            Some(b'}') => "T_OBJ_END",
            Some(b'[') => "T_ARR_BEGIN",
            Some(b']') => "T_ARR_END",
            Some(b':') => "T_COLON",
            Some(b',') => "T_COMMA",
            _ if rest.starts_with(b"true") || rest.starts_with(b"false") => "T_BOOLEAN",
            _ if rest.starts_with(b"null") => "T_NULL",
            Some(c) if c.is_ascii_digit() => "T_NUMBER",
            Some(b'-') if rest.get(1).is_some_and(u8::is_ascii_digit) => "T_NUMBER",
            _ => "invalid token",
        }
    }

    fn value(&mut self, lua: &Lua, depth: usize) -> Result<Value, String> {
        if depth > DEC_DEPTH.with(|c| c.get()) {
            return Err(format!(
                "Found too many nested data structures ({depth}) at character {}",
                self.pos + 1
            ));
        }
        self.ws();
        let Some(&c) = self.s.get(self.pos) else {
            return self.err("value");
        };
        let lerr = |e: mlua::Error| e.to_string();
        match c {
            b'{' => {
                if depth + 1 > DEC_DEPTH.with(|c| c.get()) {
                    return Err(format!(
                        "Found too many nested data structures ({}) at character {}",
                        depth + 1,
                        self.pos + 1
                    ));
                }
                self.pos += 1;
                let t = lua.create_table().map_err(lerr)?;
                self.ws();
                if self.s.get(self.pos) == Some(&b'}') {
                    self.pos += 1;
                    return Ok(Value::Table(t));
                }
                loop {
                    self.ws();
                    if self.s.get(self.pos) != Some(&b'"') {
                        return self.err("object key string");
                    }
                    let k = self.string(lua)?;
                    self.ws();
                    if self.s.get(self.pos) != Some(&b':') {
                        return self.err("colon");
                    }
                    self.pos += 1;
                    let v = self.value(lua, depth + 1)?;
                    t.raw_set(k, v).map_err(lerr)?;
                    self.ws();
                    match self.s.get(self.pos) {
                        Some(b',') => self.pos += 1,
                        Some(b'}') => {
                            self.pos += 1;
                            return Ok(Value::Table(t));
                        }
                        _ => return self.err("comma or object end"),
                    }
                }
            }
            b'[' => {
                if depth + 1 > DEC_DEPTH.with(|c| c.get()) {
                    return Err(format!(
                        "Found too many nested data structures ({}) at character {}",
                        depth + 1,
                        self.pos + 1
                    ));
                }
                self.pos += 1;
                let t = lua.create_table().map_err(lerr)?;
                self.ws();
                if self.s.get(self.pos) == Some(&b']') {
                    self.pos += 1;
                    return Ok(Value::Table(t));
                }
                let mut i = 1;
                loop {
                    let v = self.value(lua, depth + 1)?;
                    t.raw_set(i, v).map_err(lerr)?;
                    i += 1;
                    self.ws();
                    match self.s.get(self.pos) {
                        Some(b',') => self.pos += 1,
                        Some(b']') => {
                            self.pos += 1;
                            return Ok(Value::Table(t));
                        }
                        _ => return self.err("comma or array end"),
                    }
                }
            }
            b'"' => self.string(lua),
            b't' if self.s[self.pos..].starts_with(b"true") => {
                self.pos += 4;
                Ok(Value::Boolean(true))
            }
            b'f' if self.s[self.pos..].starts_with(b"false") => {
                self.pos += 5;
                Ok(Value::Boolean(false))
            }
            b'n' if self.s[self.pos..].starts_with(b"null") => {
                self.pos += 4;
                Ok(null())
            }
            b'-' | b'0'..=b'9' => {
                let start = self.pos;
                while self.pos < self.s.len()
                    && matches!(
                        self.s[self.pos],
                        b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9'
                    )
                {
                    self.pos += 1;
                }
                match std::str::from_utf8(&self.s[start..self.pos])
                    .ok()
                    .and_then(|t| t.parse::<f64>().ok())
                {
                    Some(n) => Ok(Value::Number(n)),
                    None => {
                        self.pos = start;
                        self.err("value")
                    }
                }
            }
            _ => self.err("value"),
        }
    }

    fn string(&mut self, lua: &Lua) -> Result<Value, String> {
        self.pos += 1;
        let mut out = Vec::new();
        loop {
            let Some(&c) = self.s.get(self.pos) else {
                return self.err("string end");
            };
            self.pos += 1;
            match c {
                b'"' => break,
                b'\\' => {
                    let Some(&e) = self.s.get(self.pos) else {
                        return self.err("escape");
                    };
                    self.pos += 1;
                    match e {
                        b'n' => out.push(b'\n'),
                        b'r' => out.push(b'\r'),
                        b't' => out.push(b'\t'),
                        b'b' => out.push(8),
                        b'f' => out.push(12),
                        b'u' => {
                            let hex = self.s.get(self.pos..self.pos + 4);
                            let cp = hex
                                .and_then(|h| std::str::from_utf8(h).ok())
                                .and_then(|h| u32::from_str_radix(h, 16).ok());
                            let Some(mut cp) = cp else {
                                return self.err("unicode escape");
                            };
                            self.pos += 4;
                            if (0xD800..0xDC00).contains(&cp)
                                && self.s.get(self.pos..self.pos + 2) == Some(b"\\u")
                                && let Some(lo) = self
                                    .s
                                    .get(self.pos + 2..self.pos + 6)
                                    .and_then(|h| std::str::from_utf8(h).ok())
                                    .and_then(|h| u32::from_str_radix(h, 16).ok())
                            {
                                cp = 0x10000
                                    + ((cp - 0xD800) << 10)
                                    + (lo.wrapping_sub(0xDC00) & 0x3FF);
                                self.pos += 6;
                            }
                            let ch = char::from_u32(cp).unwrap_or('\u{FFFD}');
                            let mut b = [0u8; 4];
                            out.extend_from_slice(ch.encode_utf8(&mut b).as_bytes());
                        }
                        other => out.push(other),
                    }
                }
                c => out.push(c),
            }
        }
        lua.create_string(&out)
            .map(Value::String)
            .map_err(|e| e.to_string())
    }
}

pub fn lib(lua: &Lua) -> mlua::Result<Table> {
    let t = lua.create_table()?;
    t.set(
        "encode",
        lua.create_function(|lua, v: Value| {
            let mut out = Vec::new();
            encode(&v, &mut out, 0).map_err(|m| super::lual_error(lua, &m))?;
            lua.create_string(&out)
        })?,
    )?;
    t.set(
        "decode",
        lua.create_function(|lua, s: mlua::String| {
            let b = s.as_bytes();
            let mut d = Decoder { s: &b, pos: 0 };
            let v = d.value(lua, 0).map_err(|m| super::lual_error(lua, &m))?;
            d.ws();
            if d.pos != b.len() {
                let m = format!(
                    "Expected the end but found {} at character {}",
                    d.found(),
                    d.pos + 1
                );
                return Err(super::lual_error(lua, &m));
            }
            Ok(v)
        })?,
    )?;
    t.set("null", null())?;
    type Setter = fn(Option<Value>) -> mlua::Result<Value>;
    let setters: [(&str, Setter); 6] = [
        ("encode_max_depth", |v| {
            if let Some(Value::Number(n)) = v {
                ENC_DEPTH.with(|c| c.set(n.clamp(1.0, MAX_DEPTH as f64) as usize));
            } else if let Some(Value::Integer(n)) = v {
                ENC_DEPTH.with(|c| c.set(n.clamp(1, MAX_DEPTH as i64) as usize));
            }
            Ok(Value::Number(ENC_DEPTH.with(|c| c.get()) as f64))
        }),
        ("decode_max_depth", |v| {
            if let Some(Value::Number(n)) = v {
                DEC_DEPTH.with(|c| c.set(n.clamp(1.0, MAX_DEPTH as f64) as usize));
            } else if let Some(Value::Integer(n)) = v {
                DEC_DEPTH.with(|c| c.set(n.clamp(1, MAX_DEPTH as i64) as usize));
            }
            Ok(Value::Number(DEC_DEPTH.with(|c| c.get()) as f64))
        }),
        ("encode_invalid_numbers", |v| {
            if let Some(Value::Boolean(b)) = v {
                INVALID_NUMS.with(|c| c.set(b));
            }
            Ok(Value::Boolean(INVALID_NUMS.with(|c| c.get())))
        }),
        ("decode_invalid_numbers", |_| Ok(Value::Boolean(true))),
        ("encode_keep_buffer", |_| Ok(Value::Boolean(true))),
        ("encode_number_precision", |_| Ok(Value::Number(14.0))),
    ];
    for (name, f) in setters {
        t.set(name, lua.create_function(move |_, v: Option<Value>| f(v))?)?;
    }
    t.set(
        "encode_sparse_array",
        lua.create_function(|_, _: MultiValue| Ok(()))?,
    )?;
    Ok(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_like_cjson() {
        let mut o = Vec::new();
        fmt_num(1.5, &mut o).unwrap();
        assert_eq!(o, b"1.5");
        o.clear();
        fmt_num(42.0, &mut o).unwrap();
        assert_eq!(o, b"42");
        o.clear();
        fmt_num(0.1, &mut o).unwrap();
        assert_eq!(o, b"0.1");
    }

    #[test]
    fn tables_with_keys_mlua_rounds() {
        // mlua reads 1e-300 as the integer 0: walking the table must not
        // hand that back to `next` (found by the cmsgpack fuzz target).
        let lua = Lua::new();
        let encode: mlua::Function = lib(&lua).unwrap().get("encode").unwrap();
        for src in [
            "return {[1e-300] = 1, a = 2}",
            "return {[1] = 1, [1e-300] = 2}",
        ] {
            let t: Table = lua.load(src).eval().unwrap();
            let s: mlua::String = encode.call(t).unwrap();
            assert!(s.as_bytes().starts_with(b"{"), "{src}");
        }
    }
}
