//! Streams end to end: exact replies, a blocked XREAD served by another
//! client's XADD, consumer groups, and a stream surviving DEBUG RELOAD.

mod common;

use common::{Server, exchange, roundtrip};
use std::io::{Read, Write};

#[test]
fn xadd_xrange_exact_bytes() {
    let s = Server::start(&[]);
    let mut r = s.raw();
    exchange(&mut r, b"XADD s 1-1 f v\r\n", b"$3\r\n1-1\r\n");
    exchange(&mut r, b"XADD s 1-* g w\r\n", b"$3\r\n1-2\r\n");
    exchange(
        &mut r,
        b"XADD s 1-1 f v\r\n",
        b"-ERR The ID specified in XADD is equal or smaller than the target stream top item\r\n",
    );
    exchange(&mut r, b"XLEN s\r\n", b":2\r\n");
    exchange(
        &mut r,
        b"XRANGE s (1-1 + COUNT 5\r\n",
        b"*1\r\n*2\r\n$3\r\n1-2\r\n*2\r\n$1\r\ng\r\n$1\r\nw\r\n",
    );
    exchange(&mut r, b"TYPE s\r\n", b"+stream\r\n");
    exchange(&mut r, b"OBJECT ENCODING s\r\n", b"$6\r\nstream\r\n");
    exchange(&mut r, b"XTRIM s MAXLEN 1\r\n", b":1\r\n");
    exchange(&mut r, b"XDEL s 1-2 9-9\r\n", b":1\r\n");
    exchange(&mut r, b"XLEN s\r\n", b":0\r\n");
}

#[test]
fn blocked_xread_is_served_by_xadd() {
    let s = Server::start(&[]);
    let mut reader = s.raw();
    reader.write_all(b"XREAD BLOCK 0 STREAMS s $\r\n").unwrap();
    let mut w = s.raw();
    // Wait until the reader is parked.
    for _ in 0..200 {
        w.write_all(b"INFO clients\r\n").unwrap();
        std::thread::sleep(std::time::Duration::from_millis(10));
        let mut buf = [0u8; 4096];
        let n = w.read(&mut buf).unwrap();
        if String::from_utf8_lossy(&buf[..n]).contains("blocked_clients:1") {
            break;
        }
    }
    exchange(&mut w, b"XADD s 5-0 k v\r\n", b"$3\r\n5-0\r\n");
    let want = b"*1\r\n*2\r\n$1\r\ns\r\n*1\r\n*2\r\n$3\r\n5-0\r\n*2\r\n$1\r\nk\r\n$1\r\nv\r\n";
    assert_eq!(roundtrip(&mut reader, b"", want.len()), want);
}

#[test]
fn groups_pending_and_reload() {
    // DEBUG RELOAD writes dump.rdb: keep it out of the working directory,
    // where other tests' servers would load it.
    let dir = std::env::temp_dir().join(format!("redis-rust-stream-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let d = dir.to_string_lossy().into_owned();
    let s = Server::start(&["--enable-debug-command", "yes", "--dir", &d]);
    let mut r = s.raw();
    exchange(&mut r, b"XGROUP CREATE s g $ MKSTREAM\r\n", b"+OK\r\n");
    exchange(
        &mut r,
        b"XGROUP CREATE s g $\r\n",
        b"-BUSYGROUP Consumer Group name already exists\r\n",
    );
    exchange(&mut r, b"XADD s 1-0 a 1\r\n", b"$3\r\n1-0\r\n");
    exchange(&mut r, b"XADD s 2-0 a 2\r\n", b"$3\r\n2-0\r\n");
    exchange(
        &mut r,
        b"XREADGROUP GROUP g alice COUNT 1 STREAMS s >\r\n",
        b"*1\r\n*2\r\n$1\r\ns\r\n*1\r\n*2\r\n$3\r\n1-0\r\n*2\r\n$1\r\na\r\n$1\r\n1\r\n",
    );
    exchange(
        &mut r,
        b"XPENDING s g\r\n",
        b"*4\r\n:1\r\n$3\r\n1-0\r\n$3\r\n1-0\r\n*1\r\n*2\r\n$5\r\nalice\r\n$1\r\n1\r\n",
    );
    exchange(&mut r, b"DEBUG RELOAD\r\n", b"+OK\r\n");
    exchange(&mut r, b"XLEN s\r\n", b":2\r\n");
    exchange(&mut r, b"XACK s g 1-0 1-0\r\n", b":1\r\n");
    exchange(
        &mut r,
        b"XREADGROUP GROUP g nobody STREAMS nokey >\r\n",
        b"-NOGROUP No such key 'nokey' or consumer group 'g' in XREADGROUP with GROUP option\r\n",
    );
    drop(s);
    let _ = std::fs::remove_dir_all(&dir);
}
