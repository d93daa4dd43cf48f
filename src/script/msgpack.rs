//! `cmsgpack` for scripts: `pack`, `unpack`, `unpack_one`, `unpack_limit`,
//! following the documented behaviour of lua-cmsgpack (tables that are
//! 1..n arrays become arrays, nesting past 16 levels becomes nil, numbers
//! with no fraction become integers).

use mlua::{Lua, MultiValue, Table, Value};

const MAX_NESTING: usize = 16;

fn enc_len(out: &mut Vec<u8>, n: usize, fix: (u8, usize), w8: Option<u8>, w16: u8, w32: u8) {
    if n < fix.1 {
        out.push(fix.0 | n as u8);
    } else if let Some(t) = w8.filter(|_| n <= 0xff) {
        out.push(t);
        out.push(n as u8);
    } else if n <= 0xffff {
        out.push(w16);
        out.extend_from_slice(&(n as u16).to_be_bytes());
    } else {
        out.push(w32);
        out.extend_from_slice(&(n as u32).to_be_bytes());
    }
}

fn enc_int(out: &mut Vec<u8>, i: i64) {
    if i >= 0 {
        if i < 128 {
            out.push(i as u8);
        } else if i <= 0xff {
            out.extend_from_slice(&[0xcc, i as u8]);
        } else if i <= 0xffff {
            out.push(0xcd);
            out.extend_from_slice(&(i as u16).to_be_bytes());
        } else if i <= 0xffff_ffff {
            out.push(0xce);
            out.extend_from_slice(&(i as u32).to_be_bytes());
        } else {
            out.push(0xcf);
            out.extend_from_slice(&(i as u64).to_be_bytes());
        }
    } else if i >= -32 {
        out.push(i as i8 as u8);
    } else if i >= -128 {
        out.extend_from_slice(&[0xd0, i as i8 as u8]);
    } else if i >= -32768 {
        out.push(0xd1);
        out.extend_from_slice(&(i as i16).to_be_bytes());
    } else if i >= -2147483648 {
        out.push(0xd2);
        out.extend_from_slice(&(i as i32).to_be_bytes());
    } else {
        out.push(0xd3);
        out.extend_from_slice(&i.to_be_bytes());
    }
}

fn enc_num(out: &mut Vec<u8>, n: f64) {
    if n.fract() == 0.0 && n.is_finite() && n.abs() < 9.2e18 {
        enc_int(out, n as i64);
    } else if (n as f32) as f64 == n {
        out.push(0xca);
        out.extend_from_slice(&(n as f32).to_be_bytes());
    } else {
        out.push(0xcb);
        out.extend_from_slice(&n.to_be_bytes());
    }
}

/// The length of `t` when it is an array (keys exactly 1..n).
fn array_len(t: &Table) -> Option<usize> {
    let mut count = 0usize;
    let mut max = 0usize;
    let mut array = true;
    // `for_each`, not `pairs()`: `pairs()` hands mlua's copy of each key
    // back to `next`, and mlua reads a number within EPSILON of an integer
    // as that integer (1e-300 as 0), which `next` then cannot find
    // ("invalid key to 'next'"). An error return stops the walk.
    let _ = t.for_each::<Value, Value>(|k, _| {
        let i = match k {
            Value::Integer(i) if i >= 1 => i as usize,
            Value::Number(n) if n >= 1.0 && n.fract() == 0.0 => n as usize,
            _ => {
                array = false;
                return Err(mlua::Error::runtime("not an array"));
            }
        };
        max = max.max(i);
        count += 1;
        Ok(())
    });
    (array && max == count).then_some(count)
}

fn encode(v: &Value, out: &mut Vec<u8>, level: usize) {
    match v {
        Value::Nil => out.push(0xc0),
        Value::Boolean(b) => out.push(if *b { 0xc3 } else { 0xc2 }),
        Value::Integer(i) => enc_int(out, *i),
        Value::Number(n) => enc_num(out, *n),
        Value::String(s) => {
            let b = s.as_bytes();
            enc_len(out, b.len(), (0xa0, 32), Some(0xd9), 0xda, 0xdb);
            out.extend_from_slice(&b);
        }
        Value::Table(t) if level < MAX_NESTING => {
            if let Some(n) = array_len(t) {
                enc_len(out, n, (0x90, 16), None, 0xdc, 0xdd);
                for i in 1..=n {
                    let v: Value = t.raw_get(i).unwrap_or(Value::Nil);
                    encode(&v, out, level + 1);
                }
            } else {
                // Counted first, then encoded pair by pair: holding every
                // pair at once would exhaust mlua's reference slots.
                let mut n = 0;
                let _ = t.for_each::<Value, Value>(|_, _| {
                    n += 1;
                    Ok(())
                });
                enc_len(out, n, (0x80, 16), None, 0xde, 0xdf);
                let _ = t.for_each::<Value, Value>(|k, v| {
                    encode(&k, out, level + 1);
                    encode(&v, out, level + 1);
                    Ok(())
                });
            }
        }
        _ => out.push(0xc0),
    }
}

struct Dec<'a> {
    b: &'a [u8],
    pos: usize,
}

impl Dec<'_> {
    fn take(&mut self, n: usize) -> mlua::Result<&[u8]> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|&e| e <= self.b.len())
            .ok_or_else(|| mlua::Error::runtime("Missing bytes in input."))?;
        let s = &self.b[self.pos..end];
        self.pos = end;
        Ok(s)
    }

    fn uint(&mut self, n: usize) -> mlua::Result<u64> {
        Ok(self.take(n)?.iter().fold(0u64, |a, &b| (a << 8) | b as u64))
    }

    fn value(&mut self, lua: &Lua, depth: usize) -> mlua::Result<Value> {
        if depth > 1000 {
            return Err(mlua::Error::runtime("Bad data format in input."));
        }
        let t = self.take(1)?[0];
        let s = |d: &mut Self, n: usize| -> mlua::Result<Value> {
            let b = d.take(n)?.to_vec();
            Ok(Value::String(lua.create_string(&b)?))
        };
        Ok(match t {
            0x00..=0x7f => Value::Number(t as f64),
            0xe0..=0xff => Value::Number(t as i8 as f64),
            0xa0..=0xbf => s(self, (t & 0x1f) as usize)?,
            0x90..=0x9f => self.array(lua, (t & 0x0f) as usize, depth)?,
            0x80..=0x8f => self.map(lua, (t & 0x0f) as usize, depth)?,
            0xc0 => Value::Nil,
            0xc2 => Value::Boolean(false),
            0xc3 => Value::Boolean(true),
            0xcc => Value::Number(self.uint(1)? as f64),
            0xcd => Value::Number(self.uint(2)? as f64),
            0xce => Value::Number(self.uint(4)? as f64),
            0xcf => Value::Number(self.uint(8)? as f64),
            0xd0 => Value::Number(self.uint(1)? as u8 as i8 as f64),
            0xd1 => Value::Number(self.uint(2)? as u16 as i16 as f64),
            0xd2 => Value::Number(self.uint(4)? as u32 as i32 as f64),
            0xd3 => Value::Number(self.uint(8)? as i64 as f64),
            0xca => Value::Number(f32::from_bits(self.uint(4)? as u32) as f64),
            0xcb => Value::Number(f64::from_bits(self.uint(8)?)),
            0xd9 | 0xc4 => {
                let n = self.uint(1)? as usize;
                s(self, n)?
            }
            0xda | 0xc5 => {
                let n = self.uint(2)? as usize;
                s(self, n)?
            }
            0xdb | 0xc6 => {
                let n = self.uint(4)? as usize;
                s(self, n)?
            }
            0xdc => {
                let n = self.uint(2)? as usize;
                self.array(lua, n, depth)?
            }
            0xdd => {
                let n = self.uint(4)? as usize;
                self.array(lua, n, depth)?
            }
            0xde => {
                let n = self.uint(2)? as usize;
                self.map(lua, n, depth)?
            }
            0xdf => {
                let n = self.uint(4)? as usize;
                self.map(lua, n, depth)?
            }
            _ => return Err(mlua::Error::runtime("Bad data format in input.")),
        })
    }

    fn array(&mut self, lua: &Lua, n: usize, depth: usize) -> mlua::Result<Value> {
        // Every element takes at least one byte: bound the allocation.
        if n > self.b.len() - self.pos {
            return Err(mlua::Error::runtime("Missing bytes in input."));
        }
        let t = lua.create_table_with_capacity(n, 0)?;
        for i in 1..=n {
            let v = self.value(lua, depth + 1)?;
            t.raw_set(i, v)?;
        }
        Ok(Value::Table(t))
    }

    fn map(&mut self, lua: &Lua, n: usize, depth: usize) -> mlua::Result<Value> {
        if n > self.b.len() - self.pos {
            return Err(mlua::Error::runtime("Missing bytes in input."));
        }
        let t = lua.create_table()?;
        for _ in 0..n {
            let k = self.value(lua, depth + 1)?;
            let v = self.value(lua, depth + 1)?;
            // Lua's own errors for these keys (lua-cmsgpack's lua_settable
            // raises them), returned rather than raised: mlua's raw_set
            // does not protect lua_rawset, whose error would longjmp over
            // these frames and leak what they hold, Lua references
            // included, until the reference stack runs out (a panic).
            match k {
                Value::Nil => return Err(super::lua_core_error("table index is nil")),
                Value::Number(x) if x.is_nan() => {
                    return Err(super::lua_core_error("table index is NaN"));
                }
                k => t.raw_set(k, v)?,
            }
        }
        Ok(Value::Table(t))
    }
}

/// Decodes up to `limit` objects (0: all) from `offset`; returns the next
/// offset (-1 at the end) and the objects.
fn unpack_from(
    lua: &Lua,
    b: &[u8],
    limit: usize,
    offset: usize,
) -> mlua::Result<(i64, Vec<Value>)> {
    let mut d = Dec {
        b,
        pos: offset.min(b.len()),
    };
    let mut out = Vec::new();
    while d.pos < b.len() && (limit == 0 || out.len() < limit) {
        // lua-cmsgpack raises its own errors with luaL_error.
        let v = d.value(lua, 0).map_err(|e| match e {
            mlua::Error::RuntimeError(m) => super::lual_error(lua, &m),
            e => e,
        })?;
        out.push(v);
    }
    let next = if d.pos >= b.len() { -1 } else { d.pos as i64 };
    Ok((next, out))
}

pub fn lib(lua: &Lua) -> mlua::Result<Table> {
    let t = lua.create_table()?;
    t.set(
        "pack",
        lua.create_function(|lua, args: MultiValue| {
            if args.is_empty() {
                // luaL_argcheck(L, nargs > 0, 0, ...) words it so.
                let m = "bad argument #0 to 'pack' (MessagePack pack needs input.)";
                return Err(super::lual_error(lua, m));
            }
            let mut out = Vec::new();
            for v in args.iter() {
                encode(v, &mut out, 0);
            }
            lua.create_string(&out)
        })?,
    )?;
    t.set(
        "unpack",
        lua.create_function(|lua, s: mlua::String| {
            let (_, v) = unpack_from(lua, &s.as_bytes(), 0, 0)?;
            Ok(MultiValue::from_iter(v))
        })?,
    )?;
    t.set(
        "unpack_one",
        lua.create_function(|lua, (s, off): (mlua::String, Option<i64>)| {
            let (next, mut v) =
                unpack_from(lua, &s.as_bytes(), 1, off.unwrap_or(0).max(0) as usize)?;
            v.insert(0, Value::Number(next as f64));
            Ok(MultiValue::from_iter(v))
        })?,
    )?;
    t.set(
        "unpack_limit",
        lua.create_function(
            |lua, (s, limit, off): (mlua::String, Option<i64>, Option<i64>)| {
                let (next, mut v) = unpack_from(
                    lua,
                    &s.as_bytes(),
                    limit.unwrap_or(0).max(0) as usize,
                    off.unwrap_or(0).max(0) as usize,
                )?;
                v.insert(0, Value::Number(next as f64));
                Ok(MultiValue::from_iter(v))
            },
        )?,
    )?;
    Ok(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_as_lua_cmsgpack() {
        let mut o = Vec::new();
        enc_num(&mut o, 0.1);
        assert_eq!(o, [0xcb, 0x3f, 0xb9, 0x99, 0x99, 0x99, 0x99, 0x99, 0x9a]);
        o.clear();
        enc_num(&mut o, -1099511627776.0);
        assert_eq!(o, [0xd3, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0]);
        o.clear();
        enc_num(&mut o, 5.0);
        assert_eq!(o, [5]);
    }

    #[test]
    fn nil_and_nan_keys_fail_without_leaking() {
        // Each failed unpack used to strand the Lua references its frames
        // held; about 8000 of them and mlua panicked (cmsgpack fuzz target).
        let lua = Lua::new();
        lua.globals().set("cmsgpack", lib(&lua).unwrap()).unwrap();
        let f: mlua::Function = lua
            .load(
                r#"return function(s)
                    local ok, e = pcall(cmsgpack.unpack, s)
                    return tostring(e)
                end"#,
            )
            .eval()
            .unwrap();
        let nan_key = b"\x82\xa1a\x01\xcb\x7f\xf8\0\0\0\0\0\0\x01";
        for _ in 0..10_000 {
            let e: String = f.call(lua.create_string(nan_key).unwrap()).unwrap();
            assert!(e.contains("table index is NaN"), "{e}");
        }
        let e: String = f.call(lua.create_string(b"\x81\xc0\x01").unwrap()).unwrap();
        assert!(e.contains("table index is nil"), "{e}");
    }

    #[test]
    fn tables_with_keys_mlua_rounds() {
        // mlua reads 1e-300 as the integer 0: walking the table must not
        // hand that back to `next` (found by the cmsgpack fuzz target).
        let lua = Lua::new();
        let pack: mlua::Function = lib(&lua).unwrap().get("pack").unwrap();
        let t: Table = lua
            .load("return {a = {5, 256}, [1e-300] = 'b'}")
            .eval()
            .unwrap();
        let s: mlua::String = pack.call(t).unwrap();
        assert_eq!(s.as_bytes()[0], 0x82);
    }
}
