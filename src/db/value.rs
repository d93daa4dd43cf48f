//! Values stored in the keyspace and their encodings. Commands ask a value
//! for its type (`as_str`, `as_list_mut`...) and never look at the encoding
//! themselves; the encoding is reported by `OBJECT ENCODING`.

use crate::command::CmdError;
use std::collections::VecDeque;

/// Strings up to this length are "embstr" in Redis's terms.
pub const EMBSTR_MAX: usize = 44;

#[derive(Clone, Debug)]
pub enum Str {
    /// Integer-encoded: the canonical decimal form of an i64.
    Int(i64),
    /// Raw bytes; `embstr` records whether Redis would have made it an
    /// embedded string (created in one go, short, never modified in place).
    Bytes { b: Vec<u8>, embstr: bool },
}

impl Str {
    /// Builds a string with the encoding `SET` would give it.
    pub fn from_bytes(b: &[u8]) -> Str {
        if b.len() <= 20
            && let Some(n) = crate::util::parse_i64(b)
        {
            return Str::Int(n);
        }
        Str::Bytes {
            b: b.to_vec(),
            embstr: b.len() <= EMBSTR_MAX,
        }
    }

    /// Bytes of the value; integers are formatted into `tmp`.
    pub fn bytes<'a>(&'a self, tmp: &'a mut [u8; 20]) -> &'a [u8] {
        match self {
            Str::Int(n) => crate::util::fmt_i64(*n, tmp),
            Str::Bytes { b, .. } => b,
        }
    }

    pub fn to_vec(&self) -> Vec<u8> {
        let mut t = [0u8; 20];
        self.bytes(&mut t).to_vec()
    }

    pub fn len(&self) -> usize {
        match self {
            Str::Int(n) => {
                let mut t = [0u8; 20];
                crate::util::fmt_i64(*n, &mut t).len()
            }
            Str::Bytes { b, .. } => b.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Mutable raw bytes, converting to the raw encoding as Redis's
    /// `dbUnshareStringValue` does before an in-place change.
    pub fn make_raw(&mut self) -> &mut Vec<u8> {
        if let Str::Int(n) = self {
            let mut t = [0u8; 20];
            *self = Str::Bytes {
                b: crate::util::fmt_i64(*n, &mut t).to_vec(),
                embstr: false,
            };
        }
        match self {
            Str::Bytes { b, embstr } => {
                *embstr = false;
                b
            }
            Str::Int(_) => unreachable!(),
        }
    }

    pub fn encoding(&self) -> &'static str {
        match self {
            Str::Int(_) => "int",
            Str::Bytes { embstr: true, .. } => "embstr",
            Str::Bytes { .. } => "raw",
        }
    }
}

#[derive(Clone, Debug)]
pub enum Value {
    Str(Str),
    List(VecDeque<Vec<u8>>),
}

impl Value {
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Str(_) => "string",
            Value::List(_) => "list",
        }
    }

    pub fn encoding(&self) -> &'static str {
        match self {
            Value::Str(s) => s.encoding(),
            Value::List(l) => {
                if l.len() <= 128 && l.iter().all(|e| e.len() <= 64) {
                    "listpack"
                } else {
                    "quicklist"
                }
            }
        }
    }

    pub fn as_str(&self) -> Result<&Str, CmdError> {
        match self {
            Value::Str(s) => Ok(s),
            _ => Err(CmdError::WrongType),
        }
    }

    pub fn as_str_mut(&mut self) -> Result<&mut Str, CmdError> {
        match self {
            Value::Str(s) => Ok(s),
            _ => Err(CmdError::WrongType),
        }
    }

    pub fn as_list_mut(&mut self) -> Result<&mut VecDeque<Vec<u8>>, CmdError> {
        match self {
            Value::List(l) => Ok(l),
            _ => Err(CmdError::WrongType),
        }
    }

    pub fn as_list(&self) -> Result<&VecDeque<Vec<u8>>, CmdError> {
        match self {
            Value::List(l) => Ok(l),
            _ => Err(CmdError::WrongType),
        }
    }

    /// Approximate heap footprint, for MEMORY USAGE and eviction.
    pub fn mem_usage(&self) -> usize {
        match self {
            Value::Str(Str::Int(_)) => 16,
            Value::Str(Str::Bytes { b, .. }) => 16 + b.capacity(),
            Value::List(l) => 32 + l.iter().map(|e| 24 + e.capacity()).sum::<usize>(),
        }
    }
}

/// A keyspace entry: the value plus its access clock for OBJECT IDLETIME
/// and FREQ.
#[derive(Clone, Debug)]
pub struct Obj {
    pub v: Value,
    /// Seconds-resolution access clock (LRU) or LFU counter state.
    pub lru: u32,
}

impl Obj {
    pub fn new(v: Value) -> Obj {
        Obj {
            v,
            lru: lru_clock(),
        }
    }
}

/// Redis's LRU clock: seconds, wrapped to 24 bits.
pub fn lru_clock() -> u32 {
    ((crate::util::now_ms() / 1000) & 0xFF_FFFF) as u32
}

pub fn idle_seconds(lru: u32) -> u64 {
    let now = lru_clock();
    if now >= lru {
        (now - lru) as u64
    } else {
        (now + (0xFF_FFFF - lru)) as u64
    }
}

/// The LFU counter kept in the low 8 bits of `Obj::lru` under an LFU
/// maxmemory policy (the high 16 bits hold the last decrement time in
/// minutes, as in Redis).
pub fn lfu_counter(lru: u32) -> u32 {
    lru & 0xFF
}
