//! Values stored in the keyspace and their encodings. Commands ask a value
//! for its type (`as_str`, `as_list_mut`...) and never look at the encoding
//! themselves; the encoding is reported by `OBJECT ENCODING`.

use crate::command::CmdError;
use crate::types::list::List;

/// Strings up to this length are "embstr" in Redis's terms.
pub const EMBSTR_MAX: usize = 44;

/// Strings of up to this many bytes live inside the value itself.
pub const INLINE_MAX: usize = 22;

/// A string value. Short strings are stored inline (no allocation), which
/// is most of a typical keyspace; `embstr`/`raw` follow Redis's encoding
/// rules for what OBJECT ENCODING reports: embstr for strings created in
/// one go up to 44 bytes, raw once modified in place or longer.
#[derive(Clone, Debug)]
pub enum Str {
    /// Integer-encoded: the canonical decimal form of an i64.
    Int(i64),
    /// An embstr short enough to sit inline.
    Inline { len: u8, buf: [u8; INLINE_MAX] },
    /// A string created in one go, on the heap (over 22 bytes).
    Emb(Box<[u8]>),
    /// A raw string: growable in place (APPEND, SETRANGE, SETBIT).
    Raw(Box<Vec<u8>>),
}

impl Str {
    /// Builds a string with the encoding `SET` would give it.
    pub fn from_bytes(b: &[u8]) -> Str {
        if b.len() <= 20
            && let Some(n) = crate::util::parse_i64(b)
        {
            return Str::Int(n);
        }
        Str::text(b)
    }

    /// A string that is not integer-encoded (embstr or raw by length), as
    /// INCRBYFLOAT results are.
    pub fn text(b: &[u8]) -> Str {
        if b.len() <= INLINE_MAX {
            let mut buf = [0u8; INLINE_MAX];
            buf[..b.len()].copy_from_slice(b);
            Str::Inline {
                len: b.len() as u8,
                buf,
            }
        } else {
            // One exact-size allocation; growable storage only once the
            // string is modified in place (`make_raw`).
            Str::Emb(b.into())
        }
    }

    /// A raw-encoded string owning `v`.
    pub fn raw(v: Vec<u8>) -> Str {
        Str::Raw(Box::new(v))
    }

    /// The integer value when integer-encoded.
    pub fn as_int(&self) -> Option<i64> {
        match self {
            Str::Int(n) => Some(*n),
            _ => None,
        }
    }

    /// The integer the string holds, integer-encoded or not (strict).
    pub fn to_i64(&self) -> Option<i64> {
        match self {
            Str::Int(n) => Some(*n),
            _ => {
                let mut t = [0u8; 20];
                crate::util::parse_i64(self.bytes(&mut t))
            }
        }
    }

    /// Bytes of the value; integers are formatted into `tmp`.
    pub fn bytes<'a>(&'a self, tmp: &'a mut [u8; 20]) -> &'a [u8] {
        match self {
            Str::Int(n) => crate::util::fmt_i64(*n, tmp),
            Str::Inline { len, buf } => &buf[..*len as usize],
            Str::Emb(b) => b,
            Str::Raw(b) => b,
        }
    }

    pub fn to_vec(&self) -> Vec<u8> {
        let mut t = [0u8; 20];
        self.bytes(&mut t).to_vec()
    }

    pub fn len(&self) -> usize {
        let mut t = [0u8; 20];
        self.bytes(&mut t).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Mutable raw bytes, converting to the raw encoding as Redis's
    /// `dbUnshareStringValue` does before an in-place change.
    pub fn make_raw(&mut self) -> &mut Vec<u8> {
        if !matches!(self, Str::Raw(_)) {
            *self = Str::raw(self.to_vec());
        }
        match self {
            Str::Raw(b) => b,
            _ => unreachable!(),
        }
    }

    pub fn encoding(&self) -> &'static str {
        match self {
            Str::Int(_) => "int",
            Str::Inline { .. } => "embstr",
            // Created in one go: embstr up to 44 bytes, raw beyond, as Redis.
            Str::Emb(b) if b.len() <= EMBSTR_MAX => "embstr",
            Str::Emb(_) => "raw",
            Str::Raw(_) => "raw",
        }
    }

    /// Heap bytes owned by the string (for MEMORY USAGE).
    pub fn heap_size(&self) -> usize {
        match self {
            Str::Int(_) | Str::Inline { .. } => 0,
            Str::Emb(b) => b.len(),
            Str::Raw(b) => 24 + b.capacity(),
        }
    }
}

#[derive(Clone, Debug)]
pub enum Value {
    Str(Str),
    List(Box<List>),
    Set(Box<crate::types::set::Set>),
    Hash(Box<crate::types::hash::Hash>),
    ZSet(Box<crate::types::zset::ZSet>),
    Stream(Box<crate::types::stream::Stream>),
}

impl Value {
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Str(_) => "string",
            Value::List(_) => "list",
            Value::Set(_) => "set",
            Value::Hash(_) => "hash",
            Value::ZSet(_) => "zset",
            Value::Stream(_) => "stream",
        }
    }

    pub fn encoding(&self) -> &'static str {
        match self {
            Value::Str(s) => s.encoding(),
            Value::List(l) => l.encoding(),
            Value::Set(s) => s.encoding(),
            Value::Hash(h) => h.encoding(),
            Value::ZSet(z) => z.encoding(),
            Value::Stream(_) => "stream",
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

    pub fn as_list_mut(&mut self) -> Result<&mut List, CmdError> {
        match self {
            Value::List(l) => Ok(l),
            _ => Err(CmdError::WrongType),
        }
    }

    pub fn as_list(&self) -> Result<&List, CmdError> {
        match self {
            Value::List(l) => Ok(l),
            _ => Err(CmdError::WrongType),
        }
    }

    pub fn as_set(&self) -> Result<&crate::types::set::Set, CmdError> {
        match self {
            Value::Set(s) => Ok(s),
            _ => Err(CmdError::WrongType),
        }
    }

    pub fn as_set_mut(&mut self) -> Result<&mut crate::types::set::Set, CmdError> {
        match self {
            Value::Set(s) => Ok(s),
            _ => Err(CmdError::WrongType),
        }
    }

    pub fn as_hash(&self) -> Result<&crate::types::hash::Hash, CmdError> {
        match self {
            Value::Hash(h) => Ok(h),
            _ => Err(CmdError::WrongType),
        }
    }

    pub fn as_hash_mut(&mut self) -> Result<&mut crate::types::hash::Hash, CmdError> {
        match self {
            Value::Hash(h) => Ok(h),
            _ => Err(CmdError::WrongType),
        }
    }

    pub fn as_zset(&self) -> Result<&crate::types::zset::ZSet, CmdError> {
        match self {
            Value::ZSet(z) => Ok(z),
            _ => Err(CmdError::WrongType),
        }
    }

    pub fn as_zset_mut(&mut self) -> Result<&mut crate::types::zset::ZSet, CmdError> {
        match self {
            Value::ZSet(z) => Ok(z),
            _ => Err(CmdError::WrongType),
        }
    }

    pub fn as_stream(&self) -> Result<&crate::types::stream::Stream, CmdError> {
        match self {
            Value::Stream(x) => Ok(x),
            _ => Err(CmdError::WrongType),
        }
    }

    pub fn as_stream_mut(&mut self) -> Result<&mut crate::types::stream::Stream, CmdError> {
        match self {
            Value::Stream(x) => Ok(x),
            _ => Err(CmdError::WrongType),
        }
    }

    /// Approximate heap footprint, for MEMORY USAGE and eviction.
    pub fn mem_usage(&self) -> usize {
        match self {
            Value::Str(s) => 16 + s.heap_size(),
            Value::List(l) => l.mem_usage(),
            Value::Set(s) => s.mem_usage(),
            Value::Hash(h) => h.mem_usage(),
            Value::ZSet(z) => z.mem_usage(),
            Value::Stream(x) => x.mem_usage(),
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
    /// The background-save epoch that already holds this entry (see
    /// `persist::snapshot`). It sits in padding: no extra bytes per key.
    pub snap: std::cell::Cell<u8>,
    /// COPY made this value as its own object (Redis's dupStringObject),
    /// so a small integer here is not one of the shared integers and
    /// OBJECT REFCOUNT reads 1. Also in padding.
    pub unshared: bool,
    /// The INFO keysizes class this entry is counted under
    /// (`db::keysizes`). Also in padding.
    pub sized: u16,
}

/// The epoch of the latest background save. Entries created while one
/// runs carry it, so that save skips them: they did not exist when it
/// started.
pub static SNAP_EPOCH: std::sync::atomic::AtomicU8 = std::sync::atomic::AtomicU8::new(0);

const _: () = assert!(std::mem::size_of::<Obj>() <= 32);

impl Obj {
    pub fn new(v: Value) -> Obj {
        Obj {
            v,
            lru: crate::evict::new_clock(),
            snap: std::cell::Cell::new(SNAP_EPOCH.load(std::sync::atomic::Ordering::Relaxed)),
            unshared: false,
            sized: super::keysizes::UNCOUNTED,
        }
    }
}

/// Redis's LRU clock: seconds, wrapped to 24 bits.
pub fn lru_clock() -> u32 {
    ((crate::util::cached_ms() / 1000) & 0xFF_FFFF) as u32
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
