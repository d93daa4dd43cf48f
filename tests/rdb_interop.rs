//! RDB files, AOF directories and DUMP payloads moving between real Redis
//! and redis-rust.
//!
//! - Debian's `redis-server` (7.0.x, RDB version 10) saves a dataset with
//!   every type and encoding; we load the file and must hold the same data.
//! - We save the same dataset; a Redis 8.0 server loads our file and holds
//!   the same data, and Redis 8.0's `redis-check-rdb` accepts the file.
//! - Every key DUMPed by Redis 8.0 RESTOREs here to the same value.
//! - A multi-part AOF directory Redis 7.0 writes (RDB or AOF base, then an
//!   INCR file) loads here. One we write in AOF form passes Debian's 7.0
//!   `redis-check-aof` and loads in Redis 7.0; one with an RDB preamble
//!   passes Redis 8.0's `redis-check-aof` and loads in Redis 8.0.
//!
//! They need those binaries, so plain `cargo test` skips them (ignored);
//! `make test` builds Redis 8.0 from the suite's Debian source package
//! (`tcl-compat/build-redis.sh`) and runs them with `REDIS8_SERVER`,
//! `REDIS8_CHECK_RDB` and `REDIS8_CHECK_AOF` set (`REDIS7_SERVER` and
//! `REDIS7_CHECK_AOF` default to Debian's binaries on the PATH).

mod common;

use redis::Value;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

struct Proc {
    port: u16,
    child: Child,
}

impl Proc {
    fn start(bin: &str, dir: &Path, dbfilename: &str) -> Proc {
        Proc::start_with(bin, dir, dbfilename, &[])
    }

    /// With more options after the defaults (later options win).
    fn start_with(bin: &str, dir: &Path, dbfilename: &str, extra: &[&str]) -> Proc {
        let (child, port) = common::start_on_free_port(|port| {
            let mut c = Command::new(bin);
            c.args([
                "--port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                dir.to_str().unwrap(),
                "--dbfilename",
                dbfilename,
                "--enable-debug-command",
                "yes",
            ])
            .args(extra)
            .stdout(Stdio::null())
            .stderr(Stdio::null());
            c
        });
        let p = Proc { port, child };
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            // Done loading: PING answers PONG, not -LOADING.
            if let Ok(c) = redis::Client::open(format!("redis://127.0.0.1:{port}/"))
                && let Ok(mut con) = c.get_connection()
                && redis::cmd("PING").query::<String>(&mut con).is_ok()
            {
                return p;
            }
            assert!(Instant::now() < deadline, "{bin} did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn con(&self) -> redis::Connection {
        redis::Client::open(format!("redis://127.0.0.1:{}/", self.port))
            .unwrap()
            .get_connection()
            .unwrap()
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn tmpdir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("rdb-interop-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn binary(var: &str, default: Option<&str>) -> String {
    match std::env::var(var) {
        Ok(v) if !v.is_empty() => v,
        _ => default
            .unwrap_or_else(|| panic!("{var} is not set (make test sets it)"))
            .to_string(),
    }
}

fn q(con: &mut redis::Connection, args: &[&[u8]]) -> Value {
    let mut c = redis::cmd(std::str::from_utf8(args[0]).unwrap());
    for a in &args[1..] {
        c.arg(*a);
    }
    c.query(con).unwrap_or_else(|e| {
        panic!(
            "{:?} failed: {e}",
            args.iter()
                .map(|a| String::from_utf8_lossy(a).into_owned())
                .collect::<Vec<_>>()
        )
    })
}

fn run(con: &mut redis::Connection, line: &str) -> Value {
    let args: Vec<&[u8]> = line.split(' ').map(|s| s.as_bytes()).collect();
    q(con, &args)
}

/// The dataset: every type, in its small and large encodings, keys with
/// TTLs, and keys in a second database.
fn write_dataset(con: &mut redis::Connection) {
    for l in [
        "SET str:int 12345",
        "SET str:neg -98765432101",
        "SET str:emb hello",
        "SET str:ttl with-ttl PX 900000000",
        "LPUSH list:small a b 3 -4 c",
        "HSET hash:small f1 v1 f2 2 f3 v3",
        "SADD set:int 1 2 3 -5 100000",
        "SADD set:small a b c",
        "ZADD zset:small 1 a 2.5 b -3 c",
        "ZADD zset:inf +inf top -inf bottom 0 zero",
        "PFADD hll:sparse a b c d e",
        "GEOADD geo 13.361389 38.115556 Palermo 15.087269 37.502669 Catania",
        "XADD stream 1-1 f v",
        "XADD stream 1-2 f v2 g w",
        "XADD stream 2-0 name x",
        "XGROUP CREATE stream g1 0",
        "XGROUP CREATE stream g2 $",
        "XREADGROUP GROUP g1 alice COUNT 2 STREAMS stream >",
        "XACK stream g1 1-1",
        "XDEL stream 2-0",
        "SELECT 2",
        "SET db2:key in-db-2",
        "RPUSH db2:list x y",
        "SELECT 0",
    ] {
        run(con, l);
    }
    let raw: String = (0..100)
        .map(|i| char::from(b'a' + (i * 7 % 26) as u8))
        .collect();
    q(con, &[b"SET", b"str:raw", raw.as_bytes()]);
    q(con, &[b"SET", b"str:lzf", "z".repeat(10_000).as_bytes()]);
    let mut big_list: Vec<Vec<u8>> = vec![b"RPUSH".to_vec(), b"list:big".to_vec()];
    let mut big_hash: Vec<Vec<u8>> = vec![b"HSET".to_vec(), b"hash:big".to_vec()];
    let mut big_set: Vec<Vec<u8>> = vec![b"SADD".to_vec(), b"set:big".to_vec()];
    let mut big_zset: Vec<Vec<u8>> = vec![b"ZADD".to_vec(), b"zset:big".to_vec()];
    let mut hll: Vec<Vec<u8>> = vec![b"PFADD".to_vec(), b"hll:dense".to_vec()];
    for i in 0..1000 {
        big_list.push(if i % 3 == 0 {
            i.to_string().into_bytes()
        } else {
            format!("element-{i}-{}", "x".repeat(i % 50)).into_bytes()
        });
        big_hash.push(format!("field:{i}").into_bytes());
        big_hash.push(format!("value:{}", i * 31).into_bytes());
        big_set.push(format!("member:{i}").into_bytes());
        big_zset.push(format!("{}", i as f64 / 7.0).into_bytes());
        big_zset.push(format!("m{i}").into_bytes());
    }
    for i in 0..5000 {
        hll.push(format!("e{i}").into_bytes());
    }
    for cmd in [big_list, big_hash, big_set, big_zset, hll] {
        let args: Vec<&[u8]> = cmd.iter().map(|a| a.as_slice()).collect();
        q(con, &args);
    }
    for i in 0..300 {
        run(con, &format!("XADD stream:big {}-0 field {i}", i + 1));
    }
}

fn text(v: &Value) -> String {
    match v {
        Value::Nil => "nil".into(),
        Value::Int(n) => n.to_string(),
        Value::BulkString(b) => String::from_utf8_lossy(b).into_owned(),
        Value::SimpleString(s) => s.clone(),
        Value::Okay => "OK".into(),
        Value::Array(a) | Value::Set(a) => {
            format!("[{}]", a.iter().map(text).collect::<Vec<_>>().join(","))
        }
        Value::Map(m) => format!(
            "{{{}}}",
            m.iter()
                .map(|(k, v)| format!("{}={}", text(k), text(v)))
                .collect::<Vec<_>>()
                .join(",")
        ),
        Value::Double(d) => d.to_string(),
        other => format!("{other:?}"),
    }
}

fn sorted(v: Value) -> String {
    let mut items: Vec<String> = match v {
        Value::Array(a) | Value::Set(a) => a.iter().map(text).collect(),
        other => vec![text(&other)],
    };
    items.sort();
    items.join(",")
}

/// Hash fields as sorted "field=value" pairs.
fn sorted_pairs(v: Value) -> String {
    let items: Vec<String> = match v {
        Value::Array(a) => a
            .chunks(2)
            .map(|p| format!("{}={}", text(&p[0]), text(&p[1])))
            .collect(),
        Value::Map(m) => m
            .iter()
            .map(|(k, v)| format!("{}={}", text(k), text(v)))
            .collect(),
        other => vec![text(&other)],
    };
    let mut items = items;
    items.sort();
    items.join(",")
}

/// Everything the databases hold, as comparable text: per key its type,
/// whether it has a TTL, and its content read back through commands.
fn contents(con: &mut redis::Connection) -> Vec<String> {
    let mut out = Vec::new();
    for db in [0, 2] {
        run(con, &format!("SELECT {db}"));
        let keys = match run(con, "KEYS *") {
            Value::Array(a) => a.iter().map(text).collect::<Vec<_>>(),
            _ => vec![],
        };
        for k in keys {
            let kb = k.as_bytes();
            let t = text(&q(con, &[b"TYPE", kb]));
            let ttl = match q(con, &[b"PTTL", kb]) {
                Value::Int(n) if n > 0 => "ttl",
                _ => "no-ttl",
            };
            let body = match t.as_str() {
                "string" => text(&q(con, &[b"GET", kb])),
                "list" => text(&q(con, &[b"LRANGE", kb, b"0", b"-1"])),
                "hash" => sorted_pairs(q(con, &[b"HGETALL", kb])),
                "set" => sorted(q(con, &[b"SMEMBERS", kb])),
                // Scores as numbers: Redis 7.0 prints them with %.17g,
                // 8.0 (and we) with the shortest form that reads back.
                "zset" => match q(con, &[b"ZRANGE", kb, b"0", b"-1", b"WITHSCORES"]) {
                    Value::Array(a) => a
                        .chunks(2)
                        .map(|p| {
                            let score: f64 = text(&p[1]).parse().unwrap();
                            format!("{}={score:?}", text(&p[0]))
                        })
                        .collect::<Vec<_>>()
                        .join(","),
                    other => text(&other),
                },
                "stream" => {
                    let mut s = text(&q(con, &[b"XRANGE", kb, b"-", b"+"]));
                    s += &text(&q(con, &[b"XINFO", b"GROUPS", kb]));
                    let groups: &[&str] = if k == "stream" { &["g1", "g2"] } else { &[] };
                    for g in groups {
                        if let Value::Array(p) =
                            q(con, &[b"XPENDING", kb, g.as_bytes(), b"-", b"+", b"100"])
                        {
                            for e in p {
                                if let Value::Array(f) = e {
                                    // ID, consumer, delivery count (not idle time).
                                    s += &format!(
                                        "|{}:{}:{}",
                                        text(&f[0]),
                                        text(&f[1]),
                                        text(&f[3])
                                    );
                                }
                            }
                        }
                    }
                    s
                }
                other => panic!("unexpected type {other}"),
            };
            out.push(format!("db{db} {k} {t} {ttl} {body}"));
        }
    }
    run(con, "SELECT 0");
    out.sort();
    out
}

/// Asserts equal contents, showing only the keys that differ.
fn assert_same(got: &[String], want: &[String]) {
    let clip = |s: &String| s.chars().take(400).collect::<String>();
    let only_got: Vec<String> = got.iter().filter(|g| !want.contains(g)).map(clip).collect();
    let only_want: Vec<String> = want.iter().filter(|w| !got.contains(w)).map(clip).collect();
    assert!(
        only_got.is_empty() && only_want.is_empty(),
        "contents differ\n  got:  {only_got:#?}\n  want: {only_want:#?}"
    );
}

fn ours() -> String {
    env!("CARGO_BIN_EXE_redis-rust").to_string()
}

#[test]
#[ignore = "needs Debian's redis-server 7.0 (make test runs it)"]
fn an_rdb_written_by_redis_7_loads_here_with_the_same_contents() {
    let dir = tmpdir("from7");
    let redis7 = binary("REDIS7_SERVER", Some("redis-server"));
    let want = {
        let r = Proc::start(&redis7, &dir, "dump.rdb");
        let mut con = r.con();
        write_dataset(&mut con);
        run(&mut con, "SAVE");
        contents(&mut con)
    };
    assert!(want.len() > 20, "the dataset was written");
    let us = Proc::start(&ours(), &dir, "dump.rdb");
    let got = contents(&mut us.con());
    assert_same(&got, &want);
    // Both hold byte-identical HyperLogLogs (same representation).
    let mut con = us.con();
    assert_eq!(text(&run(&mut con, "PFCOUNT hll:sparse")), "5");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
#[ignore = "needs a Redis 8.0 build (make test builds one)"]
fn an_rdb_written_here_loads_in_redis_8_and_passes_its_check() {
    let dir = tmpdir("to8");
    let redis8 = binary("REDIS8_SERVER", None);
    let check = binary("REDIS8_CHECK_RDB", None);
    let want = {
        let us = Proc::start(&ours(), &dir, "dump.rdb");
        let mut con = us.con();
        write_dataset(&mut con);
        run(&mut con, "SAVE");
        contents(&mut con)
    };
    let st = Command::new(&check)
        .arg(dir.join("dump.rdb"))
        .stdout(Stdio::piped())
        .output()
        .unwrap();
    assert!(
        st.status.success(),
        "redis-check-rdb refused our file:\n{}",
        String::from_utf8_lossy(&st.stdout)
    );
    let r = Proc::start(&redis8, &dir, "dump.rdb");
    assert_same(&contents(&mut r.con()), &want);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
#[ignore = "needs a Redis 8.0 build (make test builds one)"]
fn dump_payloads_move_both_ways_between_redis_8_and_here() {
    let dir = tmpdir("dump");
    let redis8 = binary("REDIS8_SERVER", None);
    let r = Proc::start(&redis8, &dir, "r8.rdb");
    let us = Proc::start(&ours(), &dir, "us.rdb");
    let (mut rc, mut uc) = (r.con(), us.con());
    write_dataset(&mut rc);
    // Redis 8 -> here.
    move_all(&mut rc, &mut uc);
    assert_same(&contents(&mut uc), &contents(&mut rc));
    // Here -> a fresh Redis 8.
    let r2 = Proc::start(&redis8, &dir, "r8b.rdb");
    let mut rc2 = r2.con();
    move_all(&mut uc, &mut rc2);
    assert_same(&contents(&mut rc2), &contents(&mut uc));
    let _ = std::fs::remove_dir_all(&dir);
}

/// DUMPs every key of databases 0 and 2 from `from` and RESTOREs it (with
/// its TTL) into the same database of `to`, replacing what was there.
fn move_all(from: &mut redis::Connection, to: &mut redis::Connection) {
    for db in ["0", "2"] {
        q(from, &[b"SELECT", db.as_bytes()]);
        q(to, &[b"SELECT", db.as_bytes()]);
        let keys = match run(from, "KEYS *") {
            Value::Array(a) => a.iter().map(text).collect::<Vec<_>>(),
            _ => vec![],
        };
        for k in keys {
            let payload = match q(from, &[b"DUMP", k.as_bytes()]) {
                Value::BulkString(b) => b,
                other => panic!("DUMP {k}: {other:?}"),
            };
            let ttl = match q(from, &[b"PTTL", k.as_bytes()]) {
                Value::Int(n) if n > 0 => n,
                _ => 0,
            };
            q(
                to,
                &[
                    b"RESTORE",
                    k.as_bytes(),
                    ttl.to_string().as_bytes(),
                    &payload,
                    b"REPLACE",
                ],
            );
        }
    }
    q(from, &[b"SELECT", b"0"]);
    q(to, &[b"SELECT", b"0"]);
}

/// Waits until no AOF rewrite runs or is scheduled.
fn wait_rewrite(con: &mut redis::Connection) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let info = text(&run(con, "INFO persistence"));
        if info.contains("aof_rewrite_in_progress:0") && info.contains("aof_rewrite_scheduled:0") {
            return;
        }
        assert!(Instant::now() < deadline, "the AOF rewrite did not finish");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The dataset into an AOF directory: written, rewritten into a base
/// file, then changed again so the INCR file holds commands of each kind
/// (stream reads propagate as XCLAIM).
fn write_aof_dataset(con: &mut redis::Connection) {
    wait_rewrite(con);
    write_dataset(con);
    run(con, "BGREWRITEAOF");
    wait_rewrite(con);
    for l in [
        "SET after:rewrite 1",
        "INCRBY str:int 5",
        "HDEL hash:small f2",
        "ZINCRBY zset:small 10 a",
        "SADD set:big member:new",
        "EXPIRE set:small 900000",
        "DEL list:small",
        "XADD stream 3-0 late yes",
        "XREADGROUP GROUP g2 bob COUNT 1 STREAMS stream >",
        "SELECT 2",
        "SET db2:after 1",
        "SELECT 0",
    ] {
        run(con, l);
    }
}

const AOF_ON: [&str; 2] = ["--appendonly", "yes"];

/// The contents a server holds after starting on the AOF directory in
/// `dir`. Comparing two loads of one directory, rather than a load with
/// the writer's live state, leaves out what the AOF format itself does
/// not keep (a consumer group's entries-read after an XREADGROUP is
/// propagated as XCLAIM ... LASTID, in Redis as here).
fn reloaded(bin: &str, dir: &Path) -> Vec<String> {
    let p = Proc::start_with(bin, dir, "dump.rdb", &AOF_ON);
    contents(&mut p.con())
}

/// `contents` without the consumer groups' entries-read and lag, for
/// comparing a load with the live state it came from.
fn loose(v: &[String]) -> Vec<String> {
    v.iter()
        .map(|l| {
            let mut out = String::new();
            let mut rest = l.as_str();
            while let Some(i) = rest.find("entries-read,") {
                out.push_str(&rest[..i]);
                out.push_str("entries-read,?,lag,?");
                let tail = &rest[i..];
                rest = &tail[tail.find(']').unwrap_or(tail.len())..];
            }
            out.push_str(rest);
            out
        })
        .collect()
}

/// Writes the AOF dataset with `bin` into `dir`; returns the live contents.
fn write_aof_dir(bin: &str, dir: &Path, preamble: &str) -> Vec<String> {
    let p = Proc::start_with(bin, dir, "dump.rdb", &aof_options(preamble));
    let mut con = p.con();
    write_aof_dataset(&mut con);
    contents(&mut con)
}

fn aof_options(preamble: &str) -> [&str; 4] {
    ["--appendonly", "yes", "--aof-use-rdb-preamble", preamble]
}

/// Runs a redis-check-aof on the directory's manifest; it must succeed.
fn check_aof(check: &str, dir: &Path) {
    let manifest = dir.join("appendonlydir").join("appendonly.aof.manifest");
    assert!(manifest.exists(), "no manifest in {}", dir.display());
    let out = Command::new(check).arg(&manifest).output().unwrap();
    let said =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && said.contains("valid"),
        "{check} refused our AOF:\n{said}"
    );
}

#[test]
#[ignore = "needs Debian's redis-server 7.0 (make test runs it)"]
fn an_aof_dir_written_by_redis_7_loads_here_with_the_same_contents() {
    let redis7 = binary("REDIS7_SERVER", Some("redis-server"));
    for preamble in ["yes", "no"] {
        let dir = tmpdir(&format!("aof-from7-{preamble}"));
        let live = write_aof_dir(&redis7, &dir, preamble);
        assert!(live.len() > 20, "the dataset was written");
        let want = reloaded(&redis7, &dir);
        assert_same(&loose(&want), &loose(&live));
        assert_same(&reloaded(&ours(), &dir), &want);
        let _ = std::fs::remove_dir_all(&dir);
    }
}

/// We write an AOF directory (base in AOF or RDB form); `check` accepts
/// it, and the other server loads what we load from it.
fn our_aof_dir_loads_in(name: &str, preamble: &str, server: &str, check: &str) {
    let dir = tmpdir(name);
    let live = write_aof_dir(&ours(), &dir, preamble);
    check_aof(check, &dir);
    let want = reloaded(&ours(), &dir);
    assert_same(&loose(&want), &loose(&live));
    assert_same(&reloaded(server, &dir), &want);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
#[ignore = "needs Debian's redis-server and redis-check-aof 7.0 (make test runs it)"]
fn an_aof_dir_written_here_in_aof_form_passes_redis_7_check_and_loads_there() {
    let redis7 = binary("REDIS7_SERVER", Some("redis-server"));
    let check = binary("REDIS7_CHECK_AOF", Some("redis-check-aof"));
    our_aof_dir_loads_in("aof-to7", "no", &redis7, &check);
}

#[test]
#[ignore = "needs a Redis 8.0 build (make test builds one)"]
fn an_aof_dir_written_here_with_rdb_preamble_passes_redis_8_check_and_loads_there() {
    let redis8 = binary("REDIS8_SERVER", None);
    let check = binary("REDIS8_CHECK_AOF", None);
    our_aof_dir_loads_in("aof-to8", "yes", &redis8, &check);
}
