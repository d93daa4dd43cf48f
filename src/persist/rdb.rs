//! RDB encoding and decoding (format version 12, as Redis 8.0 writes it).
//!
//! Layout: `REDIS0012`, auxiliary fields (`0xFA key value`), then per
//! database `0xFE dbid`, `0xFB size expires`, and entries
//! `[0xFC ms-le64] type key value`; `0xFF` and a CRC64 (Jones) trailer.
//! Lengths use the 2-bit-prefixed variable encoding; strings may be stored
//! as integers or LZF-compressed. The loader checks every length against
//! what is left of the input before allocating, so a corrupt or hostile
//! file yields an error, never a panic or a huge allocation.

use crate::db::{Db, Str, Value};
use crate::types::hash::Hash;
use crate::types::limits;
use crate::types::list::List;
use crate::types::set::Set;
use std::collections::VecDeque;

mod blobs;

pub const RDB_VERSION: u32 = 12;

const OP_SLOT_INFO: u8 = 244;
const OP_FUNCTION2: u8 = 245;
const OP_FUNCTION_PRE_GA: u8 = 246;
const OP_MODULE_AUX: u8 = 247;
const OP_IDLE: u8 = 248;
const OP_FREQ: u8 = 249;
const OP_AUX: u8 = 250;
const OP_RESIZEDB: u8 = 251;
const OP_EXPIRETIME_MS: u8 = 252;
const OP_EXPIRETIME: u8 = 253;
const OP_SELECTDB: u8 = 254;
const OP_EOF: u8 = 255;

const T_STRING: u8 = 0;
const T_LIST: u8 = 1;
const T_SET: u8 = 2;
const T_HASH: u8 = 4;
const T_HASH_ZIPMAP: u8 = 9;
const T_SET_INTSET: u8 = 11;
const T_HASH_ZIPLIST: u8 = 13;
const T_HASH_LISTPACK: u8 = 16;
const T_HASH_METADATA_PRE_GA: u8 = 22;
const T_HASH_LISTPACK_EX_PRE_GA: u8 = 23;
const T_HASH_METADATA: u8 = 24;
const T_HASH_LISTPACK_EX: u8 = 25;
const T_SET_LISTPACK: u8 = 20;
const T_LIST_ZIPLIST: u8 = 10;
const T_LIST_QUICKLIST: u8 = 14;
const T_LIST_QUICKLIST_2: u8 = 18;
const T_ZSET: u8 = 3;
const T_ZSET_2: u8 = 5;
const T_ZSET_ZIPLIST: u8 = 12;
const T_ZSET_LISTPACK: u8 = 17;
const T_STREAM_LISTPACKS: u8 = 15;
const T_STREAM_LISTPACKS_2: u8 = 19;
const T_STREAM_LISTPACKS_3: u8 = 21;

/// Field expire times must be below this (`EB_EXPIRE_TIME_INVALID`).
const EB_EXPIRE_TIME_INVALID: u64 = 1 << 48;

const ENC_INT8: u8 = 0;
const ENC_INT16: u8 = 1;
const ENC_INT32: u8 = 2;
const ENC_LZF: u8 = 3;

/// The RDB type byte a value is written with.
pub fn type_byte(v: &Value) -> u8 {
    match v {
        Value::Str(_) => T_STRING,
        Value::List(_) => T_LIST,
        Value::Set(s) if s.as_intset().is_some() => T_SET_INTSET,
        Value::Set(s) if s.as_listpack().is_some() => T_SET_LISTPACK,
        Value::Set(_) => T_SET,
        Value::Hash(h) if h.has_ttls() => T_HASH_METADATA,
        Value::Hash(h) if h.as_listpack().is_some() => T_HASH_LISTPACK,
        Value::Hash(_) => T_HASH,
        Value::ZSet(_) => T_ZSET_2,
        Value::Stream(_) => T_STREAM_LISTPACKS_3,
    }
}

pub struct Writer {
    pub buf: Vec<u8>,
    compress: bool,
}

impl Writer {
    pub fn new(compress: bool) -> Writer {
        Writer {
            buf: Vec::new(),
            compress,
        }
    }

    pub fn len(&mut self, n: u64) {
        if n < 1 << 6 {
            self.buf.push(n as u8);
        } else if n < 1 << 14 {
            self.buf.push(0x40 | (n >> 8) as u8);
            self.buf.push(n as u8);
        } else if n <= u32::MAX as u64 {
            self.buf.push(0x80);
            self.buf.extend_from_slice(&(n as u32).to_be_bytes());
        } else {
            self.buf.push(0x81);
            self.buf.extend_from_slice(&n.to_be_bytes());
        }
    }

    fn int_encoded(&mut self, v: i64) -> bool {
        if v >= i8::MIN as i64 && v <= i8::MAX as i64 {
            self.buf.push(0xC0 | ENC_INT8);
            self.buf.push(v as i8 as u8);
        } else if v >= i16::MIN as i64 && v <= i16::MAX as i64 {
            self.buf.push(0xC0 | ENC_INT16);
            self.buf.extend_from_slice(&(v as i16).to_le_bytes());
        } else if v >= i32::MIN as i64 && v <= i32::MAX as i64 {
            self.buf.push(0xC0 | ENC_INT32);
            self.buf.extend_from_slice(&(v as i32).to_le_bytes());
        } else {
            return false;
        }
        true
    }

    /// A string, as an integer when it is one's canonical form, LZF
    /// compressed when that pays, plain otherwise.
    pub fn string(&mut self, s: &[u8]) {
        if s.len() <= 11
            && let Some(v) = crate::util::parse_i64(s)
            && self.int_encoded(v)
        {
            return;
        }
        if self.compress
            && s.len() > 20
            && let Some(c) = super::lzf::compress(s)
            && c.len() + 4 < s.len()
        {
            self.buf.push(0xC0 | ENC_LZF);
            self.len(c.len() as u64);
            self.len(s.len() as u64);
            self.buf.extend_from_slice(&c);
            return;
        }
        self.len(s.len() as u64);
        self.buf.extend_from_slice(s);
    }

    pub fn aux(&mut self, k: &str, v: &str) {
        self.buf.push(OP_AUX);
        self.string(k.as_bytes());
        self.string(v.as_bytes());
    }

    /// One key: type byte, key, value payload.
    pub fn entry(&mut self, key: &[u8], v: &Value) {
        self.buf.push(type_byte(v));
        self.string(key);
        self.value(v);
    }

    /// The payload of one value (after its type byte).
    pub fn value(&mut self, v: &Value) {
        match v {
            Value::Str(s) => {
                let mut t = [0u8; 20];
                self.string(s.bytes(&mut t));
            }
            Value::List(l) => {
                self.len(l.len() as u64);
                for e in l.iter() {
                    self.string(e);
                }
            }
            Value::Set(s) => {
                if let Some(v) = s.as_intset() {
                    self.string(&intset_blob(v));
                } else if let Some(v) = s.as_listpack() {
                    let n = v.len();
                    self.string(&listpack_blob(v, n));
                } else {
                    self.len(s.len() as u64);
                    s.for_each(|m| self.string(m));
                }
            }
            Value::Hash(h) if h.has_ttls() => {
                // HASH_METADATA: the minimum expire time, then per field
                // its TTL relative to it (+1; 0 for none), field, value.
                let min = h.min_ttl().unwrap_or(0);
                self.buf.extend_from_slice(&(min as u64).to_le_bytes());
                let t = h.triples();
                self.len(t.len() as u64);
                for (f, v, ttl) in &t {
                    self.len(ttl.map_or(0, |w| (w - min) as u64 + 1));
                    self.string(f);
                    self.string(v);
                }
            }
            Value::Hash(h) => {
                if let Some(v) = h.as_listpack() {
                    self.string(&listpack_blob(v.entries(), v.len() * 2));
                } else {
                    self.len(h.len() as u64);
                    h.for_each(|f, v| {
                        self.string(f);
                        self.string(v);
                    });
                }
            }
            Value::ZSet(z) => {
                // ZSET_2: member, then the score as a little-endian double;
                // highest first, as Redis writes it.
                self.len(z.len() as u64);
                z.for_range(0, z.len(), true, |e, s| {
                    self.string(e);
                    self.buf.extend_from_slice(&s.to_le_bytes());
                    true
                });
            }
            Value::Stream(x) => crate::types::stream::rdb_save(self, x),
        }
    }

    pub fn finish(mut self) -> Vec<u8> {
        self.buf.push(OP_EOF);
        let crc = crc64::crc64(0, &self.buf);
        self.buf.extend_from_slice(&crc.to_le_bytes());
        self.buf
    }
}

/// Serializes the whole dataset.
pub fn save(dbs: &[Db], compress: bool, now_ms: i64) -> Vec<u8> {
    save_with_functions(dbs, compress, now_ms, &[])
}

/// `save` with the function libraries (their code, one `FUNCTION2`
/// record each, ahead of the keys as Redis writes them).
pub fn save_with_functions(dbs: &[Db], compress: bool, now_ms: i64, libs: &[&[u8]]) -> Vec<u8> {
    image(dbs, compress, now_ms, libs, false)
}

/// The whole RDB image; `aof_base` marks it as an AOF's RDB preamble.
pub fn image(dbs: &[Db], compress: bool, now_ms: i64, libs: &[&[u8]], aof_base: bool) -> Vec<u8> {
    let mut w = Writer::new(compress);
    w.header(now_ms, aof_base, libs);
    for db in dbs {
        if db.is_empty() {
            continue;
        }
        w.select_db(db.id, db.len(), db.expires.len());
        for (k, o) in db.keys.iter() {
            w.keyval(k, &o.v, db.get_expire(k));
        }
    }
    w.finish()
}

impl Writer {
    /// The magic, version, aux fields and function libraries: everything
    /// before the first database. `aof_base` marks an AOF's RDB preamble.
    pub fn header(&mut self, now_ms: i64, aof_base: bool, libs: &[&[u8]]) {
        self.buf
            .extend_from_slice(format!("REDIS{:04}", RDB_VERSION).as_bytes());
        self.aux("redis-ver", crate::REDIS_VERSION);
        self.aux("redis-bits", "64");
        self.aux("ctime", &(now_ms / 1000).to_string());
        self.aux("used-mem", &crate::alloc::used_memory().to_string());
        self.aux("aof-base", if aof_base { "1" } else { "0" });
        for code in libs {
            self.buf.push(OP_FUNCTION2);
            self.string(code);
        }
    }

    /// Switches to database `id`, with its size hints.
    pub fn select_db(&mut self, id: usize, keys: usize, expires: usize) {
        self.buf.push(OP_SELECTDB);
        self.len(id as u64);
        self.buf.push(OP_RESIZEDB);
        self.len(keys as u64);
        self.len(expires as u64);
    }

    /// One key with its expire time, if any.
    pub fn keyval(&mut self, key: &[u8], v: &Value, expire: Option<i64>) {
        if let Some(when) = expire {
            self.buf.push(OP_EXPIRETIME_MS);
            self.buf.extend_from_slice(&when.to_le_bytes());
        }
        self.entry(key, v);
    }

    /// The EOF opcode, without the checksum (a streamed save computes that
    /// as the bytes go out).
    pub fn eof(&mut self) {
        self.buf.push(OP_EOF);
    }
}

/// DUMP's payload: type byte, value, RDB version (2 bytes LE) and a
/// CRC64 of all that (8 bytes LE).
pub fn dump_payload(v: &Value) -> Vec<u8> {
    let mut w = Writer::new(true);
    w.buf.push(type_byte(v));
    w.value(v);
    w.buf.extend_from_slice(&(RDB_VERSION as u16).to_le_bytes());
    let crc = crc64::crc64(0, &w.buf);
    w.buf.extend_from_slice(&crc.to_le_bytes());
    w.buf
}

/// DEBUG SET-SKIP-CHECKSUM-VALIDATION: RESTORE then ignores the CRC of
/// its payloads (the version is still checked).
static SKIP_CHECKSUM: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

pub fn set_skip_checksum_validation(on: bool) {
    SKIP_CHECKSUM.store(on, std::sync::atomic::Ordering::Relaxed);
}

/// Checks and decodes a DUMP payload. `None` when the version or the
/// checksum is wrong; `Some(Err)` when the data inside is malformed.
pub fn restore_payload(p: &[u8], max_len: u64) -> Option<Result<Value, LoadError>> {
    restore_payload_opts(p, max_len, false)
}

/// `restore_payload` with deep validation of packed blobs (`deep`:
/// `sanitize-dump-payload yes`). Payloads of any RDB version up to ours
/// are accepted, as Redis's `verifyDumpPayload` does.
pub fn restore_payload_opts(
    p: &[u8],
    max_len: u64,
    deep: bool,
) -> Option<Result<Value, LoadError>> {
    if p.len() < 10 {
        return None;
    }
    let (body, trailer) = p.split_at(p.len() - 10);
    let ver = u16::from_le_bytes([trailer[0], trailer[1]]) as u32;
    if ver > RDB_VERSION {
        return None;
    }
    if !SKIP_CHECKSUM.load(std::sync::atomic::Ordering::Relaxed) {
        let crc = u64::from_le_bytes(trailer[2..10].try_into().ok()?);
        if crc64::crc64(0, &p[..p.len() - 8]) != crc {
            return None;
        }
    }
    Some(decode_payload(body, max_len, deep))
}

/// Decodes a DUMP payload's body (type byte and value).
fn decode_payload(body: &[u8], max_len: u64, deep: bool) -> Result<Value, LoadError> {
    let mut r = Reader::new(body, max_len);
    r.deep = deep;
    let t = r.u8()?;
    if !is_object_type(t) {
        return err("Bad object type");
    }
    let v = r.value(t)?;
    if r.left() != 0 {
        return err("trailing bytes in payload");
    }
    Ok(v)
}

/// True for the type bytes of values (`rdbIsObjectType`): 0-7 and 9-25.
/// Module values (6, 7) are refused later as unknown.
fn is_object_type(t: u8) -> bool {
    t <= 7 || (9..=25).contains(&t)
}

/// A loading error: what was wrong, for the log and DEBUG RELOAD's reply.
#[derive(Debug, PartialEq)]
pub struct LoadError(pub String);

fn err<T>(m: &str) -> Result<T, LoadError> {
    Err(LoadError(m.to_string()))
}

pub struct Reader<'a> {
    b: &'a [u8],
    pos: usize,
    /// Largest single string accepted (proto-max-bulk-len).
    max_len: u64,
    /// Deep validation of packed blobs (`sanitize-dump-payload`).
    pub deep: bool,
}

enum Len {
    Plain(u64),
    Encoded(u8),
}

impl<'a> Reader<'a> {
    pub fn new(b: &'a [u8], max_len: u64) -> Reader<'a> {
        Reader {
            b,
            pos: 0,
            max_len,
            deep: false,
        }
    }

    fn left(&self) -> usize {
        self.b.len() - self.pos
    }

    pub fn bytes(&mut self, n: usize) -> Result<&'a [u8], LoadError> {
        if n > self.left() {
            return err("unexpected end of file");
        }
        let s = &self.b[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    fn u8(&mut self) -> Result<u8, LoadError> {
        Ok(self.bytes(1)?[0])
    }

    fn raw_len(&mut self) -> Result<Len, LoadError> {
        let b = self.u8()?;
        Ok(match b >> 6 {
            0 => Len::Plain((b & 0x3F) as u64),
            1 => Len::Plain((((b & 0x3F) as u64) << 8) | self.u8()? as u64),
            2 => match b {
                0x80 => Len::Plain(u32::from_be_bytes(self.bytes(4)?.try_into().unwrap()) as u64),
                0x81 => Len::Plain(u64::from_be_bytes(self.bytes(8)?.try_into().unwrap())),
                _ => return err("Unknown length encoding 2 in rdbLoadLen()"),
            },
            _ => Len::Encoded(b & 0x3F),
        })
    }

    #[allow(clippy::len_without_is_empty)]
    pub fn len(&mut self) -> Result<u64, LoadError> {
        // As Redis's rdbLoadLen: an encoded-value prefix where a length is
        // expected reads as its low six bits.
        match self.raw_len()? {
            Len::Plain(n) => Ok(n),
            Len::Encoded(e) => Ok(e as u64),
        }
    }

    /// A count of following elements. Each takes at least one byte, so a
    /// count larger than what is left is cut to one past it: the reads
    /// then end at the same end of file Redis reports, without an
    /// allocation sized by a corrupt count.
    fn count(&mut self) -> Result<usize, LoadError> {
        let n = self.len()?;
        Ok(n.min(self.left() as u64 + 1) as usize)
    }

    pub fn string(&mut self) -> Result<Vec<u8>, LoadError> {
        match self.raw_len()? {
            Len::Plain(n) => {
                if n > self.max_len {
                    return err("string length out of range");
                }
                if n > self.left() as u64 {
                    return err("unexpected end of file");
                }
                Ok(self.bytes(n as usize)?.to_vec())
            }
            Len::Encoded(ENC_INT8) => Ok((self.u8()? as i8).to_string().into_bytes()),
            Len::Encoded(ENC_INT16) => Ok(i16::from_le_bytes(self.bytes(2)?.try_into().unwrap())
                .to_string()
                .into_bytes()),
            Len::Encoded(ENC_INT32) => Ok(i32::from_le_bytes(self.bytes(4)?.try_into().unwrap())
                .to_string()
                .into_bytes()),
            Len::Encoded(ENC_LZF) => {
                let clen = self.len()?;
                let ulen = self.len()?;
                if ulen > self.max_len || ulen > clen.saturating_mul(1024) {
                    return err("compressed string length out of range");
                }
                if clen > self.left() as u64 {
                    return err("unexpected end of file");
                }
                let c = self.bytes(clen as usize)?;
                if ulen == 0 {
                    return Ok(Vec::new());
                }
                match lzf::decompress(c, ulen as usize) {
                    // Redis wants exactly the length announced.
                    Ok(v) if v.len() as u64 == ulen => Ok(v),
                    _ => err("Invalid LZF compressed string"),
                }
            }
            Len::Encoded(e) => err(&format!("Unknown RDB string encoding type {e}")),
        }
    }

    pub fn value(&mut self, t: u8) -> Result<Value, LoadError> {
        let deep = self.deep;
        match t {
            T_STRING => Ok(Value::Str(Str::from_bytes(&self.string()?))),
            T_LIST => {
                let n = self.count()?;
                if n == 0 {
                    return empty();
                }
                let mut l = VecDeque::new();
                for _ in 0..n {
                    l.push_back(self.string()?);
                }
                Ok(Value::List(Box::new(List::from_items(l))))
            }
            T_LIST_QUICKLIST | T_LIST_QUICKLIST_2 => {
                let nodes = self.count()?;
                if nodes == 0 {
                    return empty();
                }
                let mut l = VecDeque::new();
                for _ in 0..nodes {
                    let container = if t == T_LIST_QUICKLIST_2 {
                        self.len()?
                    } else {
                        2
                    };
                    if container != 1 && container != 2 {
                        return err("Quicklist integrity check failed.");
                    }
                    let blob = self.string()?;
                    if blob.is_empty() {
                        return err("Quicklist node is empty");
                    }
                    if container == 1 {
                        l.push_back(blob);
                    } else if t == T_LIST_QUICKLIST_2 {
                        l.extend(
                            blobs::listpack(&blob, deep)
                                .or_else(|_| err("Listpack integrity check failed."))?,
                        );
                    } else {
                        l.extend(
                            blobs::ziplist(&blob)
                                .or_else(|_| err("Ziplist integrity check failed."))?,
                        );
                    }
                }
                if l.is_empty() {
                    return empty();
                }
                Ok(Value::List(Box::new(List::from_items(l))))
            }
            T_LIST_ZIPLIST => {
                let l = blobs::ziplist(&self.string()?)
                    .or_else(|_| err("List ziplist integrity check failed."))?;
                if l.is_empty() {
                    return empty();
                }
                Ok(Value::List(Box::new(List::from_items(l))))
            }
            T_SET => {
                let n = self.count()?;
                if n == 0 {
                    return empty();
                }
                let mut v = Vec::with_capacity(n);
                for _ in 0..n {
                    v.push(self.string()?);
                }
                if !blobs::no_dup_keys(&v, 1) {
                    return err("Duplicate set members detected");
                }
                Ok(Value::Set(Box::new(Set::from_plain(v, &limits()))))
            }
            T_SET_INTSET => {
                let v = blobs::intset(&self.string()?, deep)
                    .or_else(|_| err("Intset integrity check failed."))?;
                Ok(Value::Set(Box::new(Set::from_intset(v, &limits()))))
            }
            T_SET_LISTPACK => {
                let blob = self.string()?;
                let l = blobs::listpack(&blob, deep)
                    .ok()
                    .filter(|l| !deep || blobs::no_dup_keys(l, 1))
                    .map_or_else(|| err("Set listpack integrity check failed."), Ok)?;
                if l.is_empty() || blobs::listpack_says_empty(&blob) {
                    return empty();
                }
                Ok(Value::Set(Box::new(Set::from_listpack(l, &limits()))))
            }
            T_HASH => {
                let n = self.count()?;
                if n == 0 {
                    return empty();
                }
                let mut v = Vec::with_capacity(n);
                for _ in 0..n {
                    let f = self.string()?;
                    v.push((f, self.string()?));
                }
                if !unique_fields(v.iter().map(|(f, _)| &f[..])) {
                    return err("Duplicate hash fields detected");
                }
                Ok(Value::Hash(Box::new(Hash::from_pairs(v, &limits()))))
            }
            T_HASH_METADATA | T_HASH_METADATA_PRE_GA => {
                let min = if t == T_HASH_METADATA {
                    let b = self
                        .bytes(8)
                        .map_err(|_| LoadError("Hash failed loading minExpire".into()))?;
                    let m =
                        u64::from_le_bytes(b.try_into().map_err(|_| LoadError("bad time".into()))?);
                    if m > EB_EXPIRE_TIME_INVALID {
                        return err("Hash read invalid minExpire value");
                    }
                    m
                } else {
                    0
                };
                let n = self.count()?;
                if n == 0 {
                    return empty();
                }
                let mut v = Vec::new();
                // A short read is logged with what was being read, as
                // Redis does (then it reports the end of file).
                let short = |e: LoadError, what: &str| {
                    if e.0 == "unexpected end of file" {
                        log::warn!("failed reading hash {what}");
                    }
                    e
                };
                for _ in 0..n {
                    let ttl = self.len().map_err(|e| short(e, "TTL"))?;
                    let when = match (ttl, t) {
                        (0, _) => None,
                        (x, T_HASH_METADATA) => Some(x.checked_add(min).map(|w| w - 1)),
                        (x, _) => Some(Some(x)),
                    };
                    let when = match when {
                        None => None,
                        Some(Some(w)) if w < EB_EXPIRE_TIME_INVALID => Some(w as i64),
                        Some(_) => return err("invalid expireAt time"),
                    };
                    let f = self.string().map_err(|e| short(e, "field"))?;
                    let val = self.string().map_err(|e| short(e, "value"))?;
                    v.push((f, val, when));
                }
                if !unique_fields(v.iter().map(|(f, _, _)| &f[..])) {
                    return err("Duplicate hash fields detected");
                }
                Ok(Value::Hash(Box::new(Hash::from_triples(v, &limits()))))
            }
            T_HASH_LISTPACK_EX | T_HASH_LISTPACK_EX_PRE_GA => {
                if t == T_HASH_LISTPACK_EX {
                    self.bytes(8)?;
                }
                let blob = self.string()?;
                let l = blobs::listpack(&blob, deep)
                    .ok()
                    .filter(|l| l.len() % 3 == 0)
                    .filter(|l| !deep || (blobs::no_dup_keys(l, 3) && ttls_ordered(l)))
                    .map_or_else(|| err("Hash listpack integrity check failed."), Ok)?;
                if l.is_empty() || blobs::listpack_says_empty(&blob) {
                    return empty();
                }
                if !blobs::no_dup_keys(&l, 3) {
                    return dup_listpack();
                }
                let mut v = Vec::with_capacity(l.len() / 3);
                let mut it = l.into_iter();
                while let (Some(f), Some(val), Some(ttl)) = (it.next(), it.next(), it.next()) {
                    let ttl = crate::util::parse_i64(&ttl)
                        .filter(|&w| (0..EB_EXPIRE_TIME_INVALID as i64).contains(&w))
                        .ok_or_else(|| LoadError("invalid field expire time".into()))?;
                    v.push((f, val, (ttl != 0).then_some(ttl)));
                }
                Ok(Value::Hash(Box::new(Hash::from_triples(v, &limits()))))
            }
            T_HASH_LISTPACK | T_HASH_ZIPLIST => {
                let blob = self.string()?;
                let l = if t == T_HASH_LISTPACK {
                    blobs::listpack(&blob, deep)
                        .ok()
                        .filter(|l| l.len() % 2 == 0 && (!deep || blobs::no_dup_keys(l, 2)))
                        .map_or_else(|| err("Hash listpack integrity check failed."), Ok)?
                } else {
                    blobs::ziplist(&blob)
                        .ok()
                        .filter(|l| blobs::no_dup_keys(l, 2))
                        .map_or_else(|| err("Hash ziplist integrity check failed."), Ok)?
                };
                if l.is_empty() || (t == T_HASH_LISTPACK && blobs::listpack_says_empty(&blob)) {
                    return empty();
                }
                if !blobs::no_dup_keys(&l, 2) {
                    return dup_listpack();
                }
                let mut pairs = Vec::with_capacity(l.len() / 2);
                let mut it = l.into_iter();
                while let (Some(f), Some(v)) = (it.next(), it.next()) {
                    pairs.push((f, v));
                }
                Ok(Value::Hash(Box::new(Hash::from_pairs(pairs, &limits()))))
            }
            T_HASH_ZIPMAP => {
                let pairs = blobs::zipmap(&self.string()?)
                    .or_else(|_| err("Zipmap integrity check failed."))?;
                if let Some(dup) = first_dup(pairs.iter().map(|(f, _)| &f[..])) {
                    return err(&format!(
                        "Hash zipmap with dup elements, or big length ({})",
                        dup.len()
                    ));
                }
                Ok(Value::Hash(Box::new(Hash::from_pairs(pairs, &limits()))))
            }
            T_ZSET | T_ZSET_2 => {
                let n = self.count()?;
                if n == 0 {
                    return empty();
                }
                let mut v = Vec::new();
                for _ in 0..n {
                    let e = self.string()?;
                    let s = if t == T_ZSET_2 {
                        f64::from_le_bytes(self.bytes(8)?.try_into().unwrap())
                    } else {
                        match self.u8()? {
                            253 => f64::NAN,
                            254 => f64::INFINITY,
                            255 => f64::NEG_INFINITY,
                            l => {
                                let b = self.bytes(l as usize)?;
                                crate::commands::zset::parse_score(b).unwrap_or(f64::NAN)
                            }
                        }
                    };
                    if s.is_nan() {
                        return err("Zset with NAN score detected");
                    }
                    v.push((e, s));
                }
                zset_from_pairs(v)
            }
            T_ZSET_ZIPLIST | T_ZSET_LISTPACK => {
                let blob = self.string()?;
                let flat = if t == T_ZSET_LISTPACK {
                    blobs::listpack(&blob, deep)
                        .ok()
                        .filter(|l| l.len() % 2 == 0 && (!deep || blobs::no_dup_keys(l, 2)))
                        .map_or_else(|| err("Zset listpack integrity check failed."), Ok)?
                } else {
                    blobs::ziplist(&blob)
                        .ok()
                        .filter(|l| blobs::no_dup_keys(l, 2))
                        .map_or_else(|| err("Zset ziplist integrity check failed."), Ok)?
                };
                if flat.is_empty() || (t == T_ZSET_LISTPACK && blobs::listpack_says_empty(&blob)) {
                    return empty();
                }
                let mut v = Vec::with_capacity(flat.len() / 2);
                let mut it = flat.into_iter();
                while let (Some(e), Some(s)) = (it.next(), it.next()) {
                    let s = crate::commands::zset::parse_score(&s)
                        .filter(|s| !s.is_nan())
                        .ok_or_else(|| LoadError("Zset listpack with a bad score".into()))?;
                    v.push((e, s));
                }
                zset_from_pairs(v)
            }
            T_STREAM_LISTPACKS | T_STREAM_LISTPACKS_2 | T_STREAM_LISTPACKS_3 => {
                let v = match t {
                    T_STREAM_LISTPACKS => 1,
                    T_STREAM_LISTPACKS_2 => 2,
                    _ => 3,
                };
                Ok(Value::Stream(Box::new(crate::types::stream::rdb_load(
                    self, v,
                )?)))
            }
            _ => err(&format!("Unknown RDB encoding type {t}")),
        }
    }
}

/// The error a value that loads as empty gives: RESTORE refuses it, a
/// file load skips the key (`rdbLoadObject skipping empty key`).
pub const EMPTY_KEY: &str = "Empty key";

fn empty<T>() -> Result<T, LoadError> {
    err(EMPTY_KEY)
}

/// A hash listpack with duplicate fields that passed a shallow check:
/// Redis would accept it and panic on its conversion; we refuse it, with
/// the line Redis logs before that panic.
fn dup_listpack<T>() -> Result<T, LoadError> {
    log::warn!("listpack with dup elements");
    err("Hash with dup elements")
}

/// The first field seen twice, if any.
fn first_dup<'a>(mut fields: impl Iterator<Item = &'a [u8]>) -> Option<&'a [u8]> {
    let mut seen = std::collections::HashSet::new();
    fields.find(|f| !seen.insert(*f))
}

fn unique_fields<'a>(fields: impl Iterator<Item = &'a [u8]>) -> bool {
    first_dup(fields).is_none()
}

/// A listpackex's TTLs (every third entry): integers below
/// `EB_EXPIRE_TIME_INVALID`, ascending, and no TTL after a field without
/// one (0), as `_lpEntryValidation` requires.
fn ttls_ordered(l: &[Vec<u8>]) -> bool {
    let mut last: i64 = -1;
    for t in l.iter().skip(2).step_by(3) {
        let Some(w) = crate::util::parse_i64(t) else {
            return false;
        };
        if !(0..EB_EXPIRE_TIME_INVALID as i64).contains(&w) {
            return false;
        }
        if w != 0 && (last == 0 || w < last) {
            return false;
        }
        last = w;
    }
    true
}

/// Encodes an intset blob: element width (2, 4 or 8 bytes, the smallest
/// that holds every value), count, then the sorted values, little endian.
pub fn intset_blob(v: &[i64]) -> Vec<u8> {
    let width: usize = if v.iter().all(|&x| i16::try_from(x).is_ok()) {
        2
    } else if v.iter().all(|&x| i32::try_from(x).is_ok()) {
        4
    } else {
        8
    };
    let mut b = Vec::with_capacity(8 + v.len() * width);
    b.extend_from_slice(&(width as u32).to_le_bytes());
    b.extend_from_slice(&(v.len() as u32).to_le_bytes());
    for &x in v {
        b.extend_from_slice(&x.to_le_bytes()[..width]);
    }
    b
}

/// A listpack entry's back length (its encoded size), as Redis's
/// `lpEncodeBacklen` lays it out: the most significant 7-bit group first,
/// the continuation bit set on every byte after the first.
pub fn listpack_backlen(l: u64) -> Vec<u8> {
    let n = match l {
        0..=127 => 1,
        128..=16382 => 2,
        16383..=2097150 => 3,
        2097151..=268435454 => 4,
        _ => 5,
    };
    (0..n)
        .map(|i| {
            let g = ((l >> (7 * (n - 1 - i))) & 127) as u8;
            if i == 0 { g } else { g | 128 }
        })
        .collect()
}

/// Appends one listpack string entry (encoding, bytes, back-length).
pub fn listpack_push_str(b: &mut Vec<u8>, e: &[u8]) {
    let start = b.len();
    let l = e.len();
    if l < 64 {
        b.push(0x80 | l as u8);
    } else if l < 4096 {
        b.push(0xE0 | (l >> 8) as u8);
        b.push(l as u8);
    } else {
        b.push(0xF0);
        b.extend_from_slice(&(l as u32).to_le_bytes());
    }
    b.extend_from_slice(e);
    let enc = (b.len() - start) as u64;
    b.extend_from_slice(&listpack_backlen(enc));
}

/// Encodes `entries` (`n` of them) as a listpack blob of string entries.
pub fn listpack_blob<'a>(entries: impl Iterator<Item = &'a [u8]>, n: usize) -> Vec<u8> {
    let mut b = vec![0u8; 6];
    for e in entries {
        listpack_push_str(&mut b, e);
    }
    b.push(0xFF);
    let total = b.len() as u32;
    b[0..4].copy_from_slice(&total.to_le_bytes());
    let count = if n < 65535 { n as u16 } else { 65535 };
    b[4..6].copy_from_slice(&count.to_le_bytes());
    b
}

/// A loaded sorted set in the encoding Redis would give it after loading;
/// empty sets and duplicate members are corrupt.
fn zset_from_pairs(v: Vec<(Vec<u8>, f64)>) -> Result<Value, LoadError> {
    if v.is_empty() {
        return err("empty sorted set");
    }
    crate::types::zset::ZSet::from_pairs(v, crate::types::zset::Limits::current())
        .map(|z| Value::ZSet(Box::new(z)))
        .ok_or_else(|| LoadError("Duplicate zset fields detected".into()))
}

/// Decodes a listpack blob's entries (integers as decimal text), with
/// every check `sanitize-dump-payload yes` makes.
pub fn listpack_entries(lp: &[u8], out: &mut VecDeque<Vec<u8>>) -> Result<(), LoadError> {
    out.extend(blobs::listpack(lp, true).or_else(|_| err("Listpack integrity check failed."))?);
    Ok(())
}

/// Loads an RDB image into `dbs` (which should be empty). Keys already
/// expired at `now_ms` are skipped, as a master does when loading.
pub fn load(data: &[u8], dbs: &mut [Db], now_ms: i64, max_len: u64) -> Result<usize, LoadError> {
    load_with_functions(data, dbs, now_ms, max_len, &mut Vec::new())
}

/// `load` that also hands back the code of the function libraries found.
pub fn load_with_functions(
    data: &[u8],
    dbs: &mut [Db],
    now_ms: i64,
    max_len: u64,
    libs: &mut Vec<Vec<u8>>,
) -> Result<usize, LoadError> {
    load_progress(data, dbs, now_ms, max_len, libs, &mut 0, &mut |_| {})
}

/// `load_with_functions`, counting the keys skipped as expired (INFO
/// rdb_last_load_keys_expired) and calling `progress` with the offset
/// reached after each key (the startup load serves clients and honours key-load-delay there).
pub fn load_progress(
    data: &[u8],
    dbs: &mut [Db],
    now_ms: i64,
    max_len: u64,
    libs: &mut Vec<Vec<u8>>,
    expired: &mut u64,
    progress: &mut dyn FnMut(usize),
) -> Result<usize, LoadError> {
    load_prefix(data, dbs, now_ms, max_len, libs, expired, progress).map(|(n, _)| n)
}

/// `load_progress` for an image that may be followed by other bytes (an
/// old-style AOF: RDB preamble, then commands). Returns the keys loaded
/// and where the image ends.
pub fn load_prefix(
    data: &[u8],
    dbs: &mut [Db],
    now_ms: i64,
    max_len: u64,
    libs: &mut Vec<Vec<u8>>,
    expired: &mut u64,
    progress: &mut dyn FnMut(usize),
) -> Result<(usize, usize), LoadError> {
    struct Progress<'a>(&'a mut dyn FnMut(usize));
    impl Observer for Progress<'_> {
        fn progress(&mut self, pos: usize) {
            (self.0)(pos)
        }
    }
    load_observed(
        data,
        dbs,
        now_ms,
        max_len,
        libs,
        expired,
        &mut Progress(progress),
    )
}

/// What the loader was about to do (redis-check-rdb names it on errors).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Doing {
    Start,
    ReadType,
    ReadExpire,
    ReadKey,
    ReadObjectValue,
    CheckSum,
    ReadLen,
    ReadAux,
    ReadModuleAux,
    ReadFunctions,
}

/// Watches a load as it goes: the server's loads serve clients from
/// `progress`; redis-check-rdb (`crate::check::rdb`) prints what it finds
/// from the rest. Offsets are the bytes consumed so far, as Redis's
/// `rio.processed_bytes`.
pub trait Observer {
    /// After each key's value, with the offset reached.
    fn progress(&mut self, _pos: usize) {}
    /// Check mode: every value is validated deeply and dropped (nothing
    /// goes into the databases), and the checksum trailer must be there.
    fn check_only(&self) -> bool {
        false
    }
    fn doing(&mut self, _d: Doing) {}
    fn aux(&mut self, _pos: usize, _key: &[u8], _val: &[u8]) {}
    fn select_db(&mut self, _pos: usize, _id: u64) {}
    /// A key of type `t` is about to be read (`key` None), or has been.
    fn key(&mut self, _t: u8, _key: Option<&[u8]>) {}
    /// A value was read, with the expire time that came before it.
    fn value(&mut self, _v: &Value, _expire: Option<i64>) {}
    /// The checksum trailer: stored (0: saved without one) and computed.
    fn checksum(&mut self, _pos: usize, _stored: u64, _computed: u64) {}
    /// Loading failed at offset `pos`.
    fn failed(&mut self, _pos: usize, _e: &LoadError) {}
}

/// C's `atoi` on the version digits: leading digits only, 0 if none.
fn atoi(b: &[u8]) -> u32 {
    b.iter()
        .take_while(|c| c.is_ascii_digit())
        .fold(0u32, |n, &c| {
            n.saturating_mul(10).saturating_add((c - b'0') as u32)
        })
}

/// The loader itself, reporting to `obs` as it goes.
pub fn load_observed(
    data: &[u8],
    dbs: &mut [Db],
    now_ms: i64,
    max_len: u64,
    libs: &mut Vec<Vec<u8>>,
    expired: &mut u64,
    obs: &mut dyn Observer,
) -> Result<(usize, usize), LoadError> {
    let mut r = Reader::new(data, max_len);
    r.deep = obs.check_only();
    let res = load_reader(&mut r, dbs, now_ms, libs, expired, obs);
    if let Err(e) = &res {
        obs.failed(r.pos, e);
    }
    res
}

fn load_reader(
    r: &mut Reader,
    dbs: &mut [Db],
    now_ms: i64,
    libs: &mut Vec<Vec<u8>>,
    expired: &mut u64,
    obs: &mut dyn Observer,
) -> Result<(usize, usize), LoadError> {
    let data = r.b;
    let check = obs.check_only();
    obs.doing(Doing::Start);
    // The header is read as one 9-byte block.
    r.pos = data.len().min(9);
    if data.len() < 9 || &data[..5] != b"REDIS" {
        return err("wrong signature trying to load DB from file");
    }
    let ver = atoi(&data[5..9]);
    if ver == 0 || ver > RDB_VERSION {
        return err(&format!("Can't handle RDB format version {ver}"));
    }
    let mut db = 0usize;
    let mut expire: Option<i64> = None;
    let mut loaded = 0;
    let mut empty_skipped = 0u64;
    loop {
        obs.doing(Doing::ReadType);
        let t = r.u8()?;
        match t {
            OP_EOF => break,
            OP_SELECTDB => {
                obs.doing(Doing::ReadLen);
                let id = r.len()?;
                obs.select_db(r.pos, id);
                if check {
                    continue;
                }
                if id as usize >= dbs.len() {
                    return err(
                        "FATAL: Data file was created with a Redis server configured to handle more databases than this one",
                    );
                }
                db = id as usize;
            }
            OP_RESIZEDB => {
                obs.doing(Doing::ReadLen);
                r.len()?;
                r.len()?;
            }
            OP_SLOT_INFO => {
                r.len()?;
                r.len()?;
                r.len()?;
            }
            OP_EXPIRETIME_MS => {
                obs.doing(Doing::ReadExpire);
                expire = Some(i64::from_le_bytes(r.bytes(8)?.try_into().unwrap()))
            }
            OP_EXPIRETIME => {
                obs.doing(Doing::ReadExpire);
                expire = Some(i32::from_le_bytes(r.bytes(4)?.try_into().unwrap()) as i64 * 1000)
            }
            OP_AUX => {
                obs.doing(Doing::ReadAux);
                let k = r.string()?;
                let v = r.string()?;
                obs.aux(r.pos, &k, &v);
            }
            OP_IDLE => {
                r.len()?;
            }
            OP_FREQ => {
                r.u8()?;
            }
            OP_FUNCTION2 => {
                obs.doing(Doing::ReadFunctions);
                libs.push(r.string()?)
            }
            OP_FUNCTION_PRE_GA => {
                return err(&format!("Pre-release function format not supported {ver}"));
            }
            OP_MODULE_AUX => {
                obs.doing(Doing::ReadModuleAux);
                return err("modules in RDB are not supported yet");
            }
            _ => {
                if !is_object_type(t) {
                    return err(&format!("Unknown RDB encoding type {t}"));
                }
                obs.key(t, None);
                obs.doing(Doing::ReadKey);
                let key = r.string()?;
                obs.key(t, Some(&key));
                obs.doing(Doing::ReadObjectValue);
                let when = expire.take();
                let v = match r.value(t) {
                    // Redis's checker reads an empty key as a failed read.
                    Err(e) if e.0 == EMPTY_KEY && check => return err("unexpected end of file"),
                    Err(e) if e.0 == EMPTY_KEY => {
                        empty_skipped += 1;
                        if empty_skipped <= 10 {
                            log::info!(
                                "rdbLoadObject skipping empty key: {}",
                                String::from_utf8_lossy(&key)
                            );
                        }
                        continue;
                    }
                    v => v?,
                };
                obs.value(&v, when);
                obs.progress(r.pos);
                if check {
                    continue;
                }
                if matches!(when, Some(w) if w <= now_ms) {
                    *expired += 1;
                    continue;
                }
                let d = &mut dbs[db];
                if d.keys.contains(&key) {
                    return err("duplicate key in RDB");
                }
                d.add(&key, v);
                if let Some(w) = when {
                    d.set_expire(&key, w);
                }
                loaded += 1;
            }
        }
    }
    // The server accepts a file cut right after its EOF opcode (Redis
    // checks the trailer only when it is there); the checker wants it.
    if ver >= 5 && (check || r.left() >= 8) {
        obs.doing(Doing::CheckSum);
        let body = r.pos;
        let expect = u64::from_le_bytes(r.bytes(8)?.try_into().unwrap());
        let got = if expect != 0 {
            crc64::crc64(0, &data[..body])
        } else {
            0
        };
        obs.checksum(r.pos, expect, got);
        if expect != 0 && got != expect {
            if !check {
                log::warn!(
                    "Wrong RDB checksum expected: ({expect:x}) got: ({got:x}). Aborting now."
                );
            }
            return err("RDB CRC error");
        }
    }
    if !check {
        log::info!(
            "Done loading RDB, keys loaded: {loaded}, keys expired: {expired}, empty keys skipped: {empty_skipped}."
        );
    }
    Ok((loaded, r.pos))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc64_is_jones() {
        assert_eq!(crc64::crc64(0, b"123456789"), 0xe9c6d914c4b8d9ca);
    }

    #[test]
    fn roundtrip() {
        let mut dbs: Vec<Db> = (0..2).map(Db::new).collect();
        dbs[0].set(b"int", Value::Str(Str::from_bytes(b"-12345")), false);
        dbs[0].set(
            b"big",
            Value::Str(Str::from_bytes(&vec![b'a'; 1000])),
            false,
        );
        dbs[1].set(
            b"list",
            Value::List(Box::new(List::from_items(
                ["x", "1", "yyy"].iter().map(|s| s.as_bytes().to_vec()),
            ))),
            false,
        );
        dbs[1].set_expire(b"list", 4_000_000_000_000);
        let img = save(&dbs, true, 0);
        let mut back: Vec<Db> = (0..2).map(Db::new).collect();
        assert_eq!(load(&img, &mut back, 0, 1 << 29), Ok(3));
        assert_eq!(
            back[0].keys.get(b"big").unwrap().v.as_str().unwrap().len(),
            1000
        );
        assert_eq!(back[1].get_expire(b"list"), Some(4_000_000_000_000));
        // Every truncation is an error, never a panic.
        for cut in 0..img.len() {
            let mut d: Vec<Db> = (0..2).map(Db::new).collect();
            let _ = load(&img[..cut], &mut d, 0, 1 << 29);
        }
    }

    #[test]
    fn listpack_decoding() {
        // Entries: "a" (6-bit str), 5 (7-bit uint), -1 (13-bit int).
        let body = [0x81, b'a', 2, 0x05, 1, 0xDF, 0xFF, 2];
        let mut lp = vec![0u8; 6];
        lp.extend_from_slice(&body);
        lp.push(0xFF);
        let total = lp.len() as u32;
        lp[0..4].copy_from_slice(&total.to_le_bytes());
        lp[4..6].copy_from_slice(&3u16.to_le_bytes());
        let mut out = VecDeque::new();
        listpack_entries(&lp, &mut out).unwrap();
        assert_eq!(out, vec![b"a".to_vec(), b"5".to_vec(), b"-1".to_vec()]);
    }
}

#[cfg(test)]
mod collection_tests {
    use super::*;
    use crate::types::Limits;

    #[test]
    fn sets_and_hashes_roundtrip_with_their_encodings() {
        let l = Limits::DEFAULT;
        let mut dbs: Vec<Db> = (0..1).map(Db::new).collect();
        let mut ints = Set::new_intset();
        for m in ["5", "-70000", "3", "9000000000"] {
            ints.add(m.as_bytes(), &l);
        }
        let mut lp = Set::new_listpack();
        lp.add(b"a", &l);
        lp.add(&[b'x'; 100][..40], &l);
        lp.add(b"12", &l);
        let mut ht = Set::new_hashtable();
        for i in 0..300 {
            ht.add(format!("m{i}").as_bytes(), &l);
        }
        let mut h = Hash::new();
        h.set(b"f", b"v", &l);
        h.set(b"n", &[b'y'; 5000][..60], &l);
        let mut bigh = Hash::new();
        for i in 0..600 {
            bigh.set(format!("f{i}").as_bytes(), b"v", &l);
        }
        dbs[0].set(b"ints", Value::Set(Box::new(ints)), false);
        dbs[0].set(b"lp", Value::Set(Box::new(lp)), false);
        dbs[0].set(b"ht", Value::Set(Box::new(ht)), false);
        dbs[0].set(b"h", Value::Hash(Box::new(h)), false);
        dbs[0].set(b"bigh", Value::Hash(Box::new(bigh)), false);
        let img = save(&dbs, true, 0);
        let mut back: Vec<Db> = (0..1).map(Db::new).collect();
        assert_eq!(load(&img, &mut back, 0, 1 << 29), Ok(5));
        let enc = |k: &[u8]| back[0].keys.get(k).unwrap().v.encoding();
        assert_eq!(enc(b"ints"), "intset");
        assert_eq!(enc(b"lp"), "listpack");
        assert_eq!(enc(b"ht"), "hashtable");
        assert_eq!(enc(b"h"), "listpack");
        assert_eq!(enc(b"bigh"), "hashtable");
        let s = back[0].keys.get(&b"ints"[..]).unwrap().v.as_set().unwrap();
        assert_eq!(
            s.members(),
            vec![
                b"-70000".to_vec(),
                b"3".to_vec(),
                b"5".to_vec(),
                b"9000000000".to_vec()
            ]
        );
        let h = back[0].keys.get(&b"h"[..]).unwrap().v.as_hash().unwrap();
        assert_eq!(h.get(b"n").map(|v| v.len()), Some(60));
        for cut in 0..img.len() {
            let mut d: Vec<Db> = (0..1).map(Db::new).collect();
            let _ = load(&img[..cut], &mut d, 0, 1 << 29);
        }
    }

    #[test]
    fn hash_field_ttls_roundtrip() {
        let l = limits();
        let mut h = Hash::new();
        h.set(b"a", b"1", &l);
        h.set(b"b", b"2", &l);
        h.set_ttl(b"a", 2_524_600_800_000);
        let v = Value::Hash(Box::new(h));
        assert_eq!(type_byte(&v), T_HASH_METADATA);
        let mut dbs: Vec<Db> = (0..1).map(Db::new).collect();
        dbs[0].set(b"h", v, false);
        assert_eq!(dbs[0].subexpiry(), 1);
        let img = save(&dbs, true, 0);
        let mut back: Vec<Db> = (0..1).map(Db::new).collect();
        assert_eq!(load(&img, &mut back, 0, 1 << 29), Ok(1));
        assert_eq!(back[0].subexpiry(), 1);
        let o = back[0].keys.get(&b"h"[..]).unwrap();
        assert_eq!(o.v.encoding(), "listpackex");
        let h = o.v.as_hash().unwrap();
        assert_eq!(h.ttl_of(b"a"), Some(2_524_600_800_000));
        assert_eq!(h.ttl_of(b"b"), None);
        assert_eq!(h.get(b"b"), Some(&b"2"[..]));
        for cut in 0..img.len() {
            let mut d: Vec<Db> = (0..1).map(Db::new).collect();
            let _ = load(&img[..cut], &mut d, 0, 1 << 29);
        }
    }

    #[test]
    fn listpack_backlen_matches_redis_layout() {
        assert_eq!(listpack_backlen(5), vec![5]);
        assert_eq!(listpack_backlen(200), vec![1, 72 | 128]);
        let mut out = VecDeque::new();
        let long = vec![b'z'; 5000];
        let blob = listpack_blob([&b"a"[..], &long[..], b"b"].into_iter(), 3);
        listpack_entries(&blob, &mut out).unwrap();
        assert_eq!(out.len(), 3);
        assert_eq!(out[1].len(), 5000);
        assert_eq!(out[2], b"b".to_vec());
    }
}

#[cfg(test)]
mod legacy_tests {
    use super::*;

    /// A payload body: type byte, then `blob` as an RDB string.
    fn body(t: u8, blob: &[u8]) -> Vec<u8> {
        let mut w = Writer::new(false);
        w.buf.push(t);
        w.len(blob.len() as u64);
        w.buf.extend_from_slice(blob);
        w.buf
    }

    fn msg(r: Result<Value, LoadError>) -> String {
        r.err().map(|e| e.0).unwrap_or_default()
    }

    #[test]
    fn old_encodings_convert_on_load() {
        let zl = blobs::ziplist_of(&[b"a", b"bb", b"a"]);
        let v = decode_payload(&body(T_LIST_ZIPLIST, &zl), 1 << 20, false).unwrap();
        assert_eq!(v.as_list().unwrap().len(), 3);

        let mut q = vec![T_LIST_QUICKLIST, 2];
        for node in [&zl, &blobs::ziplist_of(&[b"c"])] {
            q.push(node.len() as u8);
            q.extend_from_slice(node);
        }
        let v = decode_payload(&q, 1 << 20, true).unwrap();
        assert_eq!(v.as_list().unwrap().len(), 4);

        let zm = b"\x02\x01a\x01\x00x\x01b\x01\x00y\xFF";
        let v = decode_payload(&body(T_HASH_ZIPMAP, zm), 1 << 20, false).unwrap();
        assert_eq!(v.as_hash().unwrap().get(b"b"), Some(&b"y"[..]));

        let hz = blobs::ziplist_of(&[b"f", b"1", b"g", b"2"]);
        let v = decode_payload(&body(T_HASH_ZIPLIST, &hz), 1 << 20, false).unwrap();
        assert_eq!(v.as_hash().unwrap().len(), 2);

        let zz = blobs::ziplist_of(&[b"m", b"1.5", b"n", b"-2"]);
        let v = decode_payload(&body(T_ZSET_ZIPLIST, &zz), 1 << 20, false).unwrap();
        assert_eq!(v.encoding(), "listpack");
    }

    #[test]
    fn corrupt_values_are_refused_with_redis_messages() {
        let dup = blobs::ziplist_of(&[b"f", b"1", b"f", b"2"]);
        assert_eq!(
            msg(decode_payload(&body(T_HASH_ZIPLIST, &dup), 1 << 20, false)),
            "Hash ziplist integrity check failed."
        );
        let odd = blobs::ziplist_of(&[b"f", b"1", b"g"]);
        assert!(decode_payload(&body(T_HASH_ZIPLIST, &odd), 1 << 20, false).is_err());
        assert_eq!(
            msg(decode_payload(
                &body(T_HASH_ZIPMAP, b"\x00\xFF"),
                1 << 20,
                false
            )),
            "Zipmap integrity check failed."
        );
        // A quicklist whose only ziplist is empty is an empty key.
        let mut q = vec![T_LIST_QUICKLIST, 1];
        let e = blobs::ziplist_of(&[]);
        q.push(e.len() as u8);
        q.extend_from_slice(&e);
        assert_eq!(msg(decode_payload(&q, 1 << 20, false)), EMPTY_KEY);
        // Set listpack with a duplicate: only a deep check sees it.
        let lp = listpack_blob([&b"a"[..], b"b", b"a"].into_iter(), 3);
        assert!(decode_payload(&body(T_SET_LISTPACK, &lp), 1 << 20, false).is_ok());
        assert_eq!(
            msg(decode_payload(&body(T_SET_LISTPACK, &lp), 1 << 20, true)),
            "Set listpack integrity check failed."
        );
        // Listpackex TTLs out of order.
        let lp = listpack_blob([&b"f"[..], b"v", b"200", b"g", b"w", b"100"].into_iter(), 6);
        let mut b = vec![T_HASH_LISTPACK_EX];
        b.extend_from_slice(&0u64.to_le_bytes());
        b.extend_from_slice(&body(0, &lp)[1..]);
        assert!(decode_payload(&b, 1 << 20, false).is_ok());
        assert!(decode_payload(&b, 1 << 20, true).is_err());
        // Module values and unknown types.
        assert!(decode_payload(&[8, 0], 1 << 20, false).is_err());
        assert!(decode_payload(&[6, 0], 1 << 20, false).is_err());
    }

    #[test]
    fn randomly_corrupted_payloads_never_panic() {
        use crate::types::Limits;
        let l = Limits::DEFAULT;
        let mut vals = vec![Value::List(Box::new(List::from_items(
            ["a", "1", "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"]
                .iter()
                .map(|s| s.as_bytes().to_vec()),
        )))];
        let mut s = Set::new_intset();
        s.add(b"1", &l);
        s.add(b"70000", &l);
        vals.push(Value::Set(Box::new(s)));
        let mut s = Set::new_listpack();
        s.add(b"x", &l);
        s.add(b"y", &l);
        vals.push(Value::Set(Box::new(s)));
        let mut h = Hash::new();
        h.set(b"f", b"v", &l);
        h.set(b"g", b"12", &l);
        vals.push(Value::Hash(Box::new(h.clone())));
        h.set_ttl(b"f", 2_524_600_800_000);
        vals.push(Value::Hash(Box::new(h)));
        vals.push(zset_from_pairs(vec![(b"m".to_vec(), 1.5), (b"n".to_vec(), -3.0)]).unwrap());
        let mut st = crate::types::stream::Stream::new();
        st.add(None, 5, &[b"f", b"v"]).unwrap();
        st.add(None, 6, &[b"f", b"w"]).unwrap();
        vals.push(Value::Stream(Box::new(st)));
        let mut bodies: Vec<Vec<u8>> = vals
            .iter()
            .map(|v| {
                let p = dump_payload(v);
                p[..p.len() - 10].to_vec()
            })
            .collect();
        bodies.push(body(
            T_HASH_ZIPLIST,
            &blobs::ziplist_of(&[b"f", b"1", b"g", b"2"]),
        ));
        bodies.push(body(T_LIST_ZIPLIST, &blobs::ziplist_of(&[b"a", b"b"])));
        bodies.push(body(T_HASH_ZIPMAP, b"\x02\x01a\x01\x00x\x01b\x01\x00y\xFF"));
        let mut rng = crate::util::Rng::new();
        for b in &bodies {
            assert!(decode_payload(b, 1 << 20, true).is_ok());
            for _ in 0..3000 {
                let mut c = b.clone();
                for _ in 0..1 + rng.next() % 2 {
                    let i = (rng.next() as usize) % c.len();
                    c[i] = rng.next() as u8;
                }
                let _ = decode_payload(&c, 1 << 20, false);
                let _ = decode_payload(&c, 1 << 20, true);
            }
            for cut in 0..b.len() {
                let _ = decode_payload(&b[..cut], 1 << 20, true);
            }
        }
    }
}
