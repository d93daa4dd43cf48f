//! Master and replica, both our binary: WAIT counts replicas by the
//! offsets they acknowledge.

mod common;

use common::Server;
use std::time::{Duration, Instant};

fn info_field(c: &mut redis::Connection, section: &str, field: &str) -> String {
    let info: String = redis::cmd("INFO").arg(section).query(c).unwrap();
    info.lines()
        .find_map(|l| l.strip_prefix(&format!("{field}:")))
        .unwrap_or("")
        .to_string()
}

fn info_int(c: &mut redis::Connection, section: &str, field: &str) -> i64 {
    info_field(c, section, field).parse().unwrap()
}

/// WAIT for the one replica; it must have everything within 5 s.
fn wait_one(m: &mut redis::Connection) {
    let n: i64 = redis::cmd("WAIT").arg(1).arg(5000).query(m).unwrap();
    assert_eq!(n, 1);
}

/// SET prefix0..prefixN-1.
fn set_many(c: &mut redis::Connection, prefix: &str, n: usize) {
    for i in 0..n {
        let _: () = redis::cmd("SET")
            .arg(format!("{prefix}{i}"))
            .arg(i)
            .query(c)
            .unwrap();
    }
}

/// A master and a replica of it, synced, with a connection to each.
fn pair() -> (Server, Server, redis::Connection, redis::Connection) {
    // Full syncs start at once, not after the default 5 s diskless delay.
    let master = Server::start(&["--repl-diskless-sync-delay", "0"]);
    let replica = Server::start(&[]);
    let (m, r) = attached(&master, &replica);
    (master, replica, m, r)
}

fn attached(master: &Server, replica: &Server) -> (redis::Connection, redis::Connection) {
    let m = master.client();
    let mut r = replica.client();
    let _: () = redis::cmd("REPLICAOF")
        .arg("127.0.0.1")
        .arg(master.port)
        .query(&mut r)
        .unwrap();
    let t = Instant::now();
    while info_field(&mut r, "replication", "master_link_status") != "up" {
        assert!(
            t.elapsed() < Duration::from_secs(10),
            "replica never synced"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    (m, r)
}

#[test]
fn wait_counts_replicas_that_acknowledged_the_writes() {
    let (_master, _replica, mut m, mut r) = pair();
    for _ in 0..3 {
        let _: i64 = redis::cmd("INCR").arg("foo").query(&mut m).unwrap();
    }
    wait_one(&mut m);
    let v: i64 = redis::cmd("GET").arg("foo").query(&mut r).unwrap();
    assert_eq!(v, 3, "WAIT returned before the replica applied the writes");
    // Two copies cannot be had: WAIT gives up at its timeout with what it got.
    let t = Instant::now();
    let n: i64 = redis::cmd("WAIT").arg(2).arg(300).query(&mut m).unwrap();
    assert_eq!(n, 1);
    assert!(t.elapsed() >= Duration::from_millis(290));
    // INFO shows the acknowledged offset.
    let slave0 = info_field(&mut m, "replication", "slave0");
    let off: i64 = info_field(&mut m, "replication", "master_repl_offset")
        .parse()
        .unwrap();
    assert!(slave0.contains("state=online"), "{slave0}");
    let acked: i64 = slave0
        .split(',')
        .find_map(|f| f.strip_prefix("offset="))
        .unwrap()
        .parse()
        .unwrap();
    assert!(acked > 0 && acked <= off, "{slave0} vs {off}");
}

#[test]
fn wait_refuses_bad_arguments_and_replicas() {
    let (_master, _replica, mut m, mut r) = pair();
    let e = redis::cmd("WAIT")
        .arg(1)
        .arg(-1)
        .query::<i64>(&mut m)
        .unwrap_err();
    assert!(e.to_string().contains("timeout is negative"), "{e}");
    let e = redis::cmd("WAIT")
        .arg(1)
        .arg("9223372036854775807")
        .query::<i64>(&mut m)
        .unwrap_err();
    assert!(e.to_string().contains("timeout is out of range"), "{e}");
    let e = redis::cmd("WAIT")
        .arg(1)
        .arg(0)
        .query::<i64>(&mut r)
        .unwrap_err();
    assert!(
        e.to_string()
            .contains("cannot be used with replica instances"),
        "{e}"
    );
    // Inside MULTI it does not block: it answers with the count it has.
    let (n,): (i64,) = redis::pipe()
        .atomic()
        .cmd("INCR")
        .arg("x")
        .ignore()
        .cmd("WAIT")
        .arg(5)
        .arg(0)
        .query(&mut m)
        .unwrap();
    assert!(n <= 1);
}

fn waitaof(c: &mut redis::Connection, local: i64, ms: i64) -> redis::RedisResult<(i64, i64)> {
    redis::cmd("WAITAOF").arg(local).arg(0).arg(ms).query(c)
}

fn config_set(c: &mut redis::Connection, name: &str, value: &str) {
    let _: () = redis::cmd("CONFIG")
        .arg("SET")
        .arg(name)
        .arg(value)
        .query(c)
        .unwrap();
}

#[test]
fn waitaof_reports_the_local_fsync() {
    let dir = std::env::temp_dir().join(format!("redis-rust-waitaof-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let d = dir.to_str().unwrap();
    let s = Server::start(&["--appendonly", "yes", "--appendfsync", "no", "--dir", d]);
    let mut c = s.client();
    let _: i64 = redis::cmd("INCR").arg("foo").query(&mut c).unwrap();
    // Never fsynced with appendfsync no: the timeout answers.
    assert_eq!(waitaof(&mut c, 1, 50).unwrap(), (0, 0));
    config_set(&mut c, "appendfsync", "always");
    let _: i64 = redis::cmd("INCR").arg("foo").query(&mut c).unwrap();
    assert_eq!(waitaof(&mut c, 1, 0).unwrap(), (1, 0));
    config_set(&mut c, "appendonly", "no");
    let e = waitaof(&mut c, 1, 0).unwrap_err();
    assert!(e.to_string().contains("appendonly is disabled"), "{e}");
    drop(s);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_replica_that_reconnects_continues_from_the_backlog() {
    let (_master, _replica, mut m, mut r) = pair();
    set_many(&mut m, "k", 100);
    let _: () = redis::cmd("SELECT").arg(3).query(&mut m).unwrap();
    let _: () = redis::cmd("SET").arg("in3").arg("x").query(&mut m).unwrap();
    wait_one(&mut m);
    let killed: i64 = redis::cmd("CLIENT")
        .arg("KILL")
        .arg("TYPE")
        .arg("master")
        .query(&mut r)
        .unwrap();
    assert_eq!(killed, 1);
    // Written while the link is down: only the backlog has them. No SELECT
    // comes: the stream is still on db 3.
    set_many(&mut m, "later", 50);
    let t = Instant::now();
    loop {
        let n: i64 = redis::cmd("WAIT").arg(1).arg(200).query(&mut m).unwrap();
        if n == 1 && info_field(&mut r, "replication", "master_link_status") == "up" {
            break;
        }
        assert!(
            t.elapsed() < Duration::from_secs(10),
            "replica never came back"
        );
    }
    assert_eq!(info_int(&mut m, "stats", "sync_full"), 1);
    assert_eq!(info_int(&mut m, "stats", "sync_partial_ok"), 1);
    let _: () = redis::cmd("SELECT").arg(3).query(&mut r).unwrap();
    let n: i64 = redis::cmd("DBSIZE").query(&mut r).unwrap();
    assert_eq!(n, 51, "the keys written while the link was down, in db 3");
    let _: () = redis::cmd("SELECT").arg(0).query(&mut r).unwrap();
    let n: i64 = redis::cmd("DBSIZE").query(&mut r).unwrap();
    assert_eq!(n, 100);
}

#[test]
fn offsets_agree_after_commands_bigger_than_one_read() {
    let (_master, _replica, mut m, mut r) = pair();
    // About 40 KB in one SADD: the replica reads it in several parts.
    let members: Vec<String> = (0..4000).map(|i| format!("member:{i}")).collect();
    let _: i64 = redis::cmd("SADD")
        .arg("s")
        .arg(&members)
        .query(&mut m)
        .unwrap();
    let _: Vec<String> = redis::cmd("SPOP").arg("s").arg(1500).query(&mut m).unwrap();
    wait_one(&mut m);
    let t = Instant::now();
    loop {
        let mo = info_int(&mut m, "replication", "master_repl_offset");
        let ro = info_int(&mut r, "replication", "master_repl_offset");
        if mo == ro {
            break;
        }
        assert!(
            t.elapsed() < Duration::from_secs(5),
            "master {mo} vs replica {ro}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let n: i64 = redis::cmd("SCARD").arg("s").query(&mut r).unwrap();
    assert_eq!(n, 2500);
}

#[test]
fn role_describes_both_sides() {
    let (master, replica, mut m, mut r) = pair();
    let _: () = redis::cmd("SET").arg("k").arg("v").query(&mut m).unwrap();
    wait_one(&mut m);
    let v: redis::Value = redis::cmd("ROLE").query(&mut r).unwrap();
    let redis::Value::Array(items) = v else {
        panic!("ROLE of a replica: {v:?}")
    };
    assert_eq!(items.len(), 5);
    assert_eq!(items[0], redis::Value::BulkString(b"slave".to_vec()));
    assert_eq!(items[2], redis::Value::Int(master.port as i64));
    assert_eq!(items[3], redis::Value::BulkString(b"connected".to_vec()));
    let (kind, off, replicas): (String, i64, Vec<(String, String, String)>) =
        redis::cmd("ROLE").query(&mut m).unwrap();
    assert_eq!(kind, "master");
    assert_eq!(replicas.len(), 1);
    assert_eq!(replicas[0].1, replica.port.to_string());
    // WAIT's REPLCONF GETACK is in the master's offset, not yet in the
    // replica's answer to it.
    let acked: i64 = replicas[0].2.parse().unwrap();
    let redis::Value::Int(applied) = items[4] else {
        panic!("{:?}", items[4])
    };
    assert!(
        acked > 0 && acked <= applied && applied <= off,
        "{acked} {applied} {off}"
    );
}

/// Polls `cond` every 20 ms for up to 10 s.
fn eventually(what: &str, mut cond: impl FnMut() -> bool) {
    let t = Instant::now();
    while !cond() {
        assert!(t.elapsed() < Duration::from_secs(10), "never: {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The `$len` header and payload a full sync of `server` sends (SYNC).
fn sync_payload_of(server: &Server) -> Vec<u8> {
    sync_payload_after(server, b"")
}

/// The same, after `before` (requests answered +OK) on the connection.
fn sync_payload_after(server: &Server, before: &[u8]) -> Vec<u8> {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", server.port)).unwrap();
    s.write_all(before).unwrap();
    s.write_all(b"SYNC\r\n").unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let n = s.read(&mut buf).unwrap();
        assert!(n > 0, "SYNC: connection closed");
        got.extend_from_slice(&buf[..n]);
        loop {
            if got.first() == Some(&b'\n') {
                got.remove(0);
            } else if got.starts_with(b"+OK\r\n") {
                got.drain(..5);
            } else {
                break;
            }
        }
        if let Some(p) = got.windows(2).position(|w| w == b"\r\n") {
            let len: usize = std::str::from_utf8(&got[1..p]).unwrap().parse().unwrap();
            if got.len() >= p + 2 + len {
                got.truncate(p + 2 + len);
                return got;
            }
        }
    }
}

/// Plays a master's side of the handshake on `l` up to the PSYNC, and
/// answers it with +FULLRESYNC of `replid`.
fn scripted_handshake(l: &std::net::TcpListener, replid: &str) -> std::net::TcpStream {
    use std::io::{BufRead, BufReader, Write};
    let (mut s, _) = l.accept().unwrap();
    let mut rd = BufReader::new(s.try_clone().unwrap());
    loop {
        // Each request is a multibulk; its first argument names it.
        let mut line = String::new();
        rd.read_line(&mut line).unwrap();
        let argc: usize = line.trim()[1..].parse().unwrap();
        let mut args = Vec::new();
        for _ in 0..argc {
            let (mut len, mut arg) = (String::new(), String::new());
            rd.read_line(&mut len).unwrap();
            rd.read_line(&mut arg).unwrap();
            args.push(arg.trim_end().to_uppercase());
        }
        match args[0].as_str() {
            "PING" => s.write_all(b"+PONG\r\n").unwrap(),
            "PSYNC" => {
                s.write_all(format!("+FULLRESYNC {replid} 0\r\n").as_bytes())
                    .unwrap();
                return s;
            }
            _ => s.write_all(b"+OK\r\n").unwrap(),
        }
    }
}

#[test]
fn a_full_sync_of_the_same_history_keeps_serving_the_old_dataset() {
    use std::io::Write;
    // The payloads a scripted master sends, made by a real one of ours.
    let source = Server::start(&[]);
    let mut src = source.client();
    set_many(&mut src, "first", 3);
    let first = sync_payload_of(&source);
    let _: () = redis::cmd("FLUSHALL").query(&mut src).unwrap();
    set_many(&mut src, "second", 5);
    let second = sync_payload_of(&source);

    let master = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = master.local_addr().unwrap().port();
    let replid = "a".repeat(40);
    let replica = Server::start(&[]);
    let mut r = replica.client();
    config_set(&mut r, "repl-diskless-load", "swapdb");
    let _: () = redis::cmd("REPLICAOF")
        .arg("127.0.0.1")
        .arg(port)
        .query(&mut r)
        .unwrap();
    let mut link = scripted_handshake(&master, &replid);
    link.write_all(&first).unwrap();
    eventually("the first sync", || {
        info_field(&mut r, "replication", "master_link_status") == "up"
    });
    assert_eq!(info_int(&mut r, "persistence", "async_loading"), 0);
    // The link drops; the master answers the PSYNC with a full sync of the
    // same history, and takes its time with the payload.
    drop(link);
    let mut link = scripted_handshake(&master, &replid);
    eventually("async_loading:1", || {
        info_int(&mut r, "persistence", "async_loading") == 1
    });
    assert_eq!(info_int(&mut r, "persistence", "loading"), 0);
    let n: i64 = redis::cmd("DBSIZE").query(&mut r).unwrap();
    assert_eq!(n, 3, "the old dataset is still served");
    let e = redis::cmd("REPLICAOF")
        .arg("NO")
        .arg("ONE")
        .query::<()>(&mut r)
        .unwrap_err();
    assert!(e.to_string().contains("loading the dataset"), "{e}");
    // Once the payload is in, it replaces the old dataset.
    link.write_all(&second).unwrap();
    eventually("the new dataset", || {
        info_int(&mut r, "persistence", "async_loading") == 0
            && info_field(&mut r, "replication", "master_link_status") == "up"
    });
    let n: i64 = redis::cmd("DBSIZE").query(&mut r).unwrap();
    assert_eq!(n, 5);
    // A different history is not loaded asynchronously.
    drop(link);
    let _link = scripted_handshake(&master, &"b".repeat(40));
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(info_int(&mut r, "persistence", "async_loading"), 0);
}

#[test]
fn a_delayed_diskless_sync_serves_the_replicas_waiting_for_it_together() {
    let master = Server::start(&["--repl-diskless-sync-delay", "2"]);
    let (r1, r2) = (Server::start(&[]), Server::start(&[]));
    let mut m = master.client();
    set_many(&mut m, "k", 10);
    for r in [&r1, &r2] {
        let _: () = redis::cmd("REPLICAOF")
            .arg("127.0.0.1")
            .arg(master.port)
            .query(&mut r.client())
            .unwrap();
    }
    eventually("two replicas waiting", || {
        let info: String = redis::cmd("INFO").arg("replication").query(&mut m).unwrap();
        info.matches("state=wait_bgsave").count() == 2
    });
    // Still in the handshake: no PSYNC reply yet.
    let role: Vec<redis::Value> = redis::cmd("ROLE").query(&mut r1.client()).unwrap();
    assert_eq!(role[3], redis::Value::BulkString(b"handshake".to_vec()));
    eventually("both online", || {
        let info: String = redis::cmd("INFO").arg("replication").query(&mut m).unwrap();
        info.matches("state=online").count() == 2
    });
    assert_eq!(info_int(&mut m, "stats", "sync_full"), 2);
    let n: i64 = redis::cmd("WAIT").arg(2).arg(5000).query(&mut m).unwrap();
    assert_eq!(n, 2);
    for r in [&r1, &r2] {
        let n: i64 = redis::cmd("DBSIZE").query(&mut r.client()).unwrap();
        assert_eq!(n, 10);
    }
}

#[test]
fn a_payload_that_arrives_during_a_busy_script_is_read_after_it() {
    use std::io::Write;
    let source = Server::start(&[]);
    set_many(&mut source.client(), "k", 3);
    let payload = sync_payload_of(&source);
    let master = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = master.local_addr().unwrap().port();
    let replica = Server::start(&[]);
    let mut r = replica.client();
    config_set(&mut r, "busy-reply-threshold", "10");
    let _: () = redis::cmd("REPLICAOF")
        .arg("127.0.0.1")
        .arg(port)
        .query(&mut r)
        .unwrap();
    let mut link = scripted_handshake(&master, &"c".repeat(40));
    // A script that runs until killed holds the loop while the payload
    // comes in; the link's readiness is reported then, and only then.
    let mut busy = replica.client();
    let script = std::thread::spawn(move || {
        let _ = redis::cmd("EVAL")
            .arg("while true do end")
            .arg(0)
            .query::<()>(&mut busy);
    });
    eventually("the script is busy", || {
        redis::cmd("PING").query::<String>(&mut r).is_err()
    });
    link.write_all(&payload).unwrap();
    std::thread::sleep(Duration::from_millis(200));
    let _: () = redis::cmd("SCRIPT").arg("KILL").query(&mut r).unwrap();
    script.join().unwrap();
    eventually("the payload loaded", || {
        info_field(&mut r, "replication", "master_link_status") == "up"
    });
    let n: i64 = redis::cmd("DBSIZE").query(&mut r).unwrap();
    assert_eq!(n, 3);
}

/// `redis-cli --functions-rdb` and `--rdb` with an empty filter: REPLCONF
/// rdb-filter-only leaves the keys (and, unless named, the functions) out
/// of that client's sync payload only.
#[test]
fn rdb_filter_only_leaves_the_keys_out_of_the_payload() {
    use redis_rust::db::Db;
    use redis_rust::persist::rdb;
    let server = Server::start(&[]);
    let mut c = server.client();
    set_many(&mut c, "k", 10);
    let lib = "#!lua name=lib1\nredis.register_function('f1', function() return 1 end)";
    let _: String = redis::cmd("FUNCTION")
        .arg("LOAD")
        .arg(lib)
        .query(&mut c)
        .unwrap();
    let load = |payload: &[u8]| {
        let body = &payload[payload.windows(2).position(|w| w == b"\r\n").unwrap() + 2..];
        let mut dbs: Vec<Db> = (0..16).map(Db::new).collect();
        let mut libs = Vec::new();
        assert!(rdb::load_with_functions(body, &mut dbs, i64::MIN, 1 << 29, &mut libs).is_ok());
        (dbs.iter().map(|d| d.len()).sum::<usize>(), libs.len())
    };
    let filter = |f: &str| {
        format!(
            "*3\r\n$8\r\nREPLCONF\r\n$15\r\nrdb-filter-only\r\n${}\r\n{f}\r\n",
            f.len()
        )
    };
    assert_eq!(load(&sync_payload_of(&server)), (10, 1));
    let functions = sync_payload_after(&server, filter("functions").as_bytes());
    assert_eq!(load(&functions), (0, 1));
    assert_eq!(
        load(&sync_payload_after(&server, filter("").as_bytes())),
        (0, 0)
    );
    let err: redis::RedisResult<()> = redis::cmd("REPLCONF")
        .arg("rdb-filter-only")
        .arg("functions keys")
        .query(&mut c);
    assert_eq!(
        err.unwrap_err().detail(),
        Some("Unsupported rdb-filter-only option: keys")
    );
}
