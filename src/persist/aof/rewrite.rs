//! BASE files: the dataset as an RDB image (`aof-use-rdb-preamble yes`)
//! or as commands that rebuild it (`no`).
//!
//! In command form, as Redis writes it: strings are `SET`, lists, sets,
//! sorted sets and hashes `RPUSH`/`SADD`/`ZADD`/`HSET` of up to 64 items
//! each, field TTLs `HPEXPIREAT`, key expiries `PEXPIREAT`, function
//! libraries `FUNCTION LOAD`, streams `XADD` per entry, `XSETID`, then
//! per consumer group `XGROUP CREATE`, `XCLAIM ... JUSTID FORCE` per
//! pending entry and `XGROUP CREATECONSUMER` for consumers without any
//! (so a Redis that cannot read our RDB version, such as 7.0, still loads
//! every type). A background rewrite's snapshot always produces the
//! RDB form; the command form is derived from it once it is complete, in a
//! helper thread.

use crate::db::{Db, Value};
use crate::repl::encode;
use crate::server::State;
use crate::types::stream::{Stream, StreamId};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;

/// Commands rebuilding `dbs` and the function libraries `libs`.
fn commands(dbs: &[Db], libs: &[&[u8]], timestamp: bool) -> Vec<u8> {
    let mut out = Vec::new();
    if timestamp {
        let now = crate::util::now_ms() / 1000;
        out.extend_from_slice(format!("#TS:{now}\r\n").as_bytes());
    }
    for code in libs {
        encode(&mut out, [&b"FUNCTION"[..], b"LOAD", code].into_iter());
    }
    let mut t = [0u8; 20];
    for db in dbs {
        if db.is_empty() {
            continue;
        }
        let id = db.id.to_string();
        encode(&mut out, [&b"SELECT"[..], id.as_bytes()].into_iter());
        for (k, o) in db.keys.iter() {
            match &o.v {
                Value::Str(s) => {
                    encode(&mut out, [&b"SET"[..], k, s.bytes(&mut t)].into_iter());
                }
                Value::List(l) => {
                    let items: Vec<&[u8]> = l.iter().collect();
                    variadic(&mut out, b"RPUSH", k, &items, 1);
                }
                Value::Set(set) => {
                    let members = set.members();
                    let items: Vec<&[u8]> = members.iter().map(|m| m.as_slice()).collect();
                    variadic(&mut out, b"SADD", k, &items, 1);
                }
                Value::ZSet(z) => {
                    let mut pairs: Vec<(String, Vec<u8>)> = Vec::with_capacity(z.len());
                    z.for_range(0, z.len(), false, |m, sc| {
                        pairs.push((crate::util::fmt_double(sc), m.to_vec()));
                        true
                    });
                    let items: Vec<&[u8]> = pairs
                        .iter()
                        .flat_map(|(sc, m)| [sc.as_bytes(), m.as_slice()])
                        .collect();
                    variadic(&mut out, b"ZADD", k, &items, 2);
                }
                Value::Hash(h) => {
                    let mut pairs: Vec<(Vec<u8>, Vec<u8>)> = Vec::with_capacity(h.len());
                    h.for_each(|f, v| pairs.push((f.to_vec(), v.to_vec())));
                    let items: Vec<&[u8]> = pairs
                        .iter()
                        .flat_map(|(f, v)| [f.as_slice(), v.as_slice()])
                        .collect();
                    variadic(&mut out, b"HSET", k, &items, 2);
                    if h.has_ttls() {
                        for (f, _) in &pairs {
                            if let Some(when) = h.ttl_of(f) {
                                let w = when.to_string();
                                encode(
                                    &mut out,
                                    [&b"HPEXPIREAT"[..], k, w.as_bytes(), b"FIELDS", b"1", f]
                                        .into_iter(),
                                );
                            }
                        }
                    }
                }
                Value::Stream(x) => stream_commands(&mut out, k, x),
            }
            if let Some(when) = db.get_expire(k) {
                let w = when.to_string();
                encode(&mut out, [&b"PEXPIREAT"[..], k, w.as_bytes()].into_iter());
            }
        }
    }
    out
}

/// The commands of Redis's `rewriteStreamObject`, in its order: entries,
/// the ID counters, then groups, consumers and pending entries by name
/// and ID.
fn stream_commands(out: &mut Vec<u8>, k: &[u8], s: &Stream) {
    let mut ib = [0u8; StreamId::TEXT_MAX];
    let mut jb = [0u8; StreamId::TEXT_MAX];
    if s.is_empty() {
        // XADD MAXLEN 0 makes an empty stream.
        encode(
            out,
            [&b"XADD"[..], k, b"MAXLEN", b"0", b"0-1", b"x", b"y"].into_iter(),
        );
    }
    for (id, fields) in s.range(StreamId::MIN, StreamId::MAX, false, 0) {
        let head = [&b"XADD"[..], k, id.fmt_into(&mut ib)];
        let v: Vec<&[u8]> = head.into_iter().chain(fields.iter()).collect();
        encode(out, v.into_iter());
    }
    let added = s.entries_added.to_string();
    encode(
        out,
        [
            &b"XSETID"[..],
            k,
            s.last_id.fmt_into(&mut ib),
            b"ENTRIESADDED",
            added.as_bytes(),
            b"MAXDELETEDID",
            s.max_deleted_id.fmt_into(&mut jb),
        ]
        .into_iter(),
    );
    for (name, g) in &s.groups {
        let read = g.entries_read.to_string();
        encode(
            out,
            [
                &b"XGROUP"[..],
                b"CREATE",
                k,
                name,
                g.last_id.fmt_into(&mut ib),
                b"ENTRIESREAD",
                read.as_bytes(),
            ]
            .into_iter(),
        );
        for (cname, c) in &g.consumers {
            if c.pel.is_empty() {
                encode(
                    out,
                    [&b"XGROUP"[..], b"CREATECONSUMER", k, name, cname].into_iter(),
                );
            }
            for id in &c.pel {
                let Some(nack) = g.pel.get(id) else { continue };
                let (time, count) = (
                    nack.delivery_time.to_string(),
                    nack.delivery_count.to_string(),
                );
                encode(
                    out,
                    [
                        &b"XCLAIM"[..],
                        k,
                        name,
                        cname,
                        b"0",
                        id.fmt_into(&mut ib),
                        b"TIME",
                        time.as_bytes(),
                        b"RETRYCOUNT",
                        count.as_bytes(),
                        b"JUSTID",
                        b"FORCE",
                    ]
                    .into_iter(),
                );
            }
        }
    }
}

/// Redis's AOF_REWRITE_ITEMS_PER_CMD.
const ITEMS_PER_CMD: usize = 64;

/// `CMD key item...` in batches of at most ITEMS_PER_CMD items, an item
/// being `width` arguments (a ZADD score and member, a HSET field and
/// value).
fn variadic(out: &mut Vec<u8>, cmd: &[u8], key: &[u8], args: &[&[u8]], width: usize) {
    for chunk in args.chunks(ITEMS_PER_CMD * width) {
        let all = [cmd, key].into_iter().chain(chunk.iter().copied());
        let v: Vec<&[u8]> = all.collect();
        encode(out, v.into_iter());
    }
}

/// Writes `bytes` to `tmp`, syncs it and renames it to `path`.
fn write_atomically(tmp: &Path, path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let r = (|| {
        let mut f = std::fs::File::create(tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(tmp, path)
    })();
    if r.is_err() {
        let _ = std::fs::remove_file(tmp);
    }
    r
}

/// Writes a BASE file of the current dataset now, in the reactor (Redis's
/// `rewriteAppendOnlyFile`, used when starting with no AOF at all).
pub fn write_base_now(st: &State, path: &Path, rdb: bool) -> Result<(), ()> {
    let libs = st.scripts.library_codes();
    let bytes = if rdb {
        let compress = st.cfg.bool("rdbcompression");
        crate::persist::rdb::image(&st.dbs, compress, crate::util::now_ms(), &libs, true)
    } else {
        commands(&st.dbs, &libs, st.cfg.bool("aof-timestamp-enabled"))
    };
    let tmp = format!("temp-rewriteaof-{}.aof", std::process::id());
    write_atomically(Path::new(&tmp), path, &bytes).map_err(|e| {
        log::warn!(
            "Write error writing append only file on disk: {}",
            crate::util::os_error_text(&e)
        );
    })
}

/// Turns the RDB image a snapshot wrote at `path` into the command form,
/// in place, in a helper thread (loading and re-serializing a large
/// dataset must not stall the reactor). The result arrives on the
/// returned channel; `abort` makes the helper give up before it replaces
/// the file.
pub fn spawn_conversion(
    path: PathBuf,
    ndbs: usize,
    timestamp: bool,
    abort: Arc<AtomicBool>,
) -> Result<mpsc::Receiver<Result<(), String>>, String> {
    let (tx, rx) = mpsc::channel();
    std::thread::Builder::new()
        .name("aof-rewrite-cmd".into())
        .spawn(move || {
            let _ = tx.send(convert(&path, ndbs, timestamp, &abort));
        })
        .map_err(|e| e.to_string())?;
    Ok(rx)
}

fn convert(path: &Path, ndbs: usize, timestamp: bool, abort: &AtomicBool) -> Result<(), String> {
    let data = std::fs::read(path).map_err(|e| crate::util::os_error_text(&e))?;
    let mut dbs: Vec<Db> = (0..ndbs).map(Db::new).collect();
    let mut libs = Vec::new();
    crate::persist::rdb::load_with_functions(&data, &mut dbs, i64::MIN, u64::MAX, &mut libs)
        .map_err(|e| e.0)?;
    drop(data);
    let libs: Vec<&[u8]> = libs.iter().map(|l| l.as_slice()).collect();
    let bytes = commands(&dbs, &libs, timestamp);
    if abort.load(Ordering::Relaxed) {
        return Err("aborted".into());
    }
    let tmp = path.with_extension("cmd");
    write_atomically(&tmp, path, &bytes).map_err(|e| crate::util::os_error_text(&e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::value::Str;

    #[test]
    fn variadic_commands_hold_at_most_64_items() {
        let items: Vec<Vec<u8>> = (0..130).map(|i| i.to_string().into_bytes()).collect();
        let refs: Vec<&[u8]> = items.iter().map(|i| i.as_slice()).collect();
        let mut out = Vec::new();
        variadic(&mut out, b"SADD", b"s", &refs, 1);
        let s = String::from_utf8(out).unwrap();
        assert_eq!(s.matches("SADD").count(), 3);
        assert!(s.starts_with("*66\r\n$4\r\nSADD\r\n$1\r\ns\r\n$1\r\n0\r\n"));
        let mut out = Vec::new();
        variadic(&mut out, b"HSET", b"h", &refs[..128], 2);
        assert_eq!(
            String::from_utf8(out).unwrap().matches("*130\r\n").count(),
            1
        );
    }

    #[test]
    fn command_form_selects_and_expires() {
        let mut dbs: Vec<Db> = (0..2).map(Db::new).collect();
        dbs[1].set(b"k", Value::Str(Str::from_bytes(b"v")), false);
        dbs[1].set_expire(b"k", 5000);
        let out = commands(&dbs, &[b"code"], false);
        let s = String::from_utf8_lossy(&out);
        assert!(s.starts_with("*3\r\n$8\r\nFUNCTION\r\n$4\r\nLOAD\r\n$4\r\ncode\r\n"));
        assert!(s.contains(
            "*2\r\n$6\r\nSELECT\r\n$1\r\n1\r\n*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n"
        ));
        assert!(s.ends_with("*3\r\n$9\r\nPEXPIREAT\r\n$1\r\nk\r\n$4\r\n5000\r\n"));
    }

    #[test]
    fn streams_are_rebuilt_by_commands() {
        use crate::types::stream::{Consumer, Group};
        let cmds = |x: &Stream| {
            let mut out = Vec::new();
            stream_commands(&mut out, b"s", x);
            let text = String::from_utf8(out).unwrap();
            // Each command as its arguments joined by spaces.
            text.split('*')
                .filter(|c| !c.is_empty())
                .map(|c| {
                    let parts: Vec<&str> = c.split("\r\n").collect();
                    parts[2..]
                        .iter()
                        .step_by(2)
                        .copied()
                        .collect::<Vec<_>>()
                        .join(" ")
                })
                .collect::<Vec<_>>()
        };
        let mut x = Stream::new();
        assert_eq!(
            cmds(&x),
            [
                "XADD s MAXLEN 0 0-1 x y",
                "XSETID s 0-0 ENTRIESADDED 0 MAXDELETEDID 0-0"
            ]
        );
        let id = x
            .add(Some((StreamId::new(5, 1), true)), 0, &[b"f", b"v"])
            .unwrap();
        x.add(Some((StreamId::new(6, 0), true)), 0, &[b"g", b"w"])
            .unwrap();
        x.delete(StreamId::new(6, 0));
        let mut g = Group {
            last_id: id,
            entries_read: 1,
            ..Group::default()
        };
        g.consumers.insert(b"alice".to_vec(), Consumer::new(0));
        g.consumers.insert(b"idle".to_vec(), Consumer::new(0));
        g.deliver(id, b"alice", 1234);
        x.groups.insert(b"grp".to_vec(), g);
        assert_eq!(
            cmds(&x),
            [
                "XADD s 5-1 f v",
                "XSETID s 6-0 ENTRIESADDED 2 MAXDELETEDID 6-0",
                "XGROUP CREATE s grp 5-1 ENTRIESREAD 1",
                "XCLAIM s grp alice 0 5-1 TIME 1234 RETRYCOUNT 1 JUSTID FORCE",
                "XGROUP CREATECONSUMER s grp idle",
            ]
        );
    }
}
