//! The libraries Redis ships to scripts, written here from their documented
//! behaviour: `bit` (LuaBitOp) and `cjson` (JSON encode/decode); `cmsgpack`
//! and `struct` are present as tables.

use mlua::{Lua, Table, Value};

fn tobit(v: &Value) -> mlua::Result<i32> {
    let n = match v {
        Value::Number(n) => *n,
        Value::Integer(i) => *i as f64,
        Value::String(s) => crate::util::parse_f64(&s.as_bytes())
            .ok_or_else(|| mlua::Error::runtime("bad argument (number expected)"))?,
        _ => return Err(mlua::Error::runtime("bad argument (number expected)")),
    };
    // LuaBitOp: normalize through the 2^52+2^51 trick, i.e. modular i32.
    let m = n.rem_euclid(4294967296.0);
    Ok(m as u64 as u32 as i32)
}

fn bit_lib(lua: &Lua) -> mlua::Result<Table> {
    let t = lua.create_table()?;
    t.set("tobit", lua.create_function(|_, v: Value| tobit(&v))?)?;
    t.set("bnot", lua.create_function(|_, v: Value| Ok(!tobit(&v)?))?)?;
    fn fold(args: mlua::MultiValue, f: fn(i32, i32) -> i32) -> mlua::Result<i32> {
        let mut it = args.iter();
        let mut acc = tobit(it.next().unwrap_or(&Value::Nil))?;
        for v in it {
            acc = f(acc, tobit(v)?);
        }
        Ok(acc)
    }
    t.set(
        "band",
        lua.create_function(|_, a: mlua::MultiValue| fold(a, |x, y| x & y))?,
    )?;
    t.set(
        "bor",
        lua.create_function(|_, a: mlua::MultiValue| fold(a, |x, y| x | y))?,
    )?;
    t.set(
        "bxor",
        lua.create_function(|_, a: mlua::MultiValue| fold(a, |x, y| x ^ y))?,
    )?;
    type Shift = fn(i32, u32) -> i32;
    let shifts: [(&str, Shift); 5] = [
        ("lshift", |x, n| ((x as u32) << n) as i32),
        ("rshift", |x, n| ((x as u32) >> n) as i32),
        ("arshift", |x, n| x >> n),
        ("rol", |x, n| (x as u32).rotate_left(n) as i32),
        ("ror", |x, n| (x as u32).rotate_right(n) as i32),
    ];
    for (name, f) in shifts {
        t.set(
            name,
            lua.create_function(move |_, (x, n): (Value, Value)| {
                Ok(f(tobit(&x)?, (tobit(&n)? & 31) as u32))
            })?,
        )?;
    }
    t.set(
        "bswap",
        lua.create_function(|_, v: Value| Ok(tobit(&v)?.swap_bytes()))?,
    )?;
    t.set(
        "tohex",
        lua.create_function(|_, (x, n): (Value, Option<Value>)| {
            let x = tobit(&x)? as u32;
            let n = match n {
                Some(v) => tobit(&v)?,
                None => 8,
            };
            let upper = n < 0;
            let n = n.unsigned_abs().min(8) as usize;
            let s = if upper {
                format!("{x:08X}")
            } else {
                format!("{x:08x}")
            };
            Ok(s[8 - n..].to_string())
        })?,
    )?;
    Ok(t)
}

pub fn create(lua: &Lua) -> mlua::Result<Table> {
    let libs = lua.create_table()?;
    libs.set("bit", bit_lib(lua)?)?;
    libs.set("cjson", super::json::lib(lua)?)?;
    libs.set("cmsgpack", super::msgpack::lib(lua)?)?;
    libs.set("struct", lua.create_table()?)?;
    Ok(libs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tobit_wraps() {
        assert_eq!(tobit(&Value::Number(4294967295.0)).unwrap(), -1);
        assert_eq!(tobit(&Value::Number(-1.0)).unwrap(), -1);
        assert_eq!(tobit(&Value::Number(65535.0)).unwrap(), 65535);
    }
}
