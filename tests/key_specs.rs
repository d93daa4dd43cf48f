//! Key specifications against the real Redis 8.0.
//!
//! Cluster clients, proxies and ACL tooling read where a command's keys are
//! from COMMAND INFO's key specs, and COMMAND GETKEYSANDFLAGS applies them.
//! `specs_match_redis8` (ignored by plain `cargo test`; `make interop` runs
//! it with `REDIS8_SERVER` set) fetches COMMAND from both servers, in RESP3
//! and RESP2, and compares the key specs of every command and subcommand
//! both have as typed structures (notes by presence, not wording, which is
//! ours); then it sends both a list of command lines to COMMAND GETKEYS and
//! GETKEYSANDFLAGS and compares the answers, errors included.
//! `every_keyed_command_has_specs` needs only our binary.

mod common;

use common::{V, canonical, request};
use std::collections::BTreeMap;
use std::io::BufReader;
use std::net::TcpStream;
use std::time::Duration;

fn connect(port: u16, proto: &str) -> (TcpStream, BufReader<TcpStream>) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut r = BufReader::new(s.try_clone().unwrap());
    request(&mut s, &mut r, &["HELLO", proto]);
    (s, r)
}

/// COMMAND in protocol `proto`, flattened to full name -> COMMAND INFO
/// entry, subcommands included.
fn command_info(port: u16, proto: &str) -> BTreeMap<String, Vec<V>> {
    let (mut s, mut r) = connect(port, proto);
    let V::Array(all) = request(&mut s, &mut r, &["COMMAND"]) else {
        panic!("COMMAND did not answer an array")
    };
    fn add(out: &mut BTreeMap<String, Vec<V>>, entry: &V) {
        let V::Array(fields) = entry else {
            panic!("COMMAND entry {entry:?}")
        };
        if let Some(V::Array(subs)) = fields.get(9) {
            for sc in subs {
                add(out, sc);
            }
        }
        out.insert(fields[0].str().to_lowercase(), fields.clone());
    }
    let mut out = BTreeMap::new();
    for entry in &all {
        add(&mut out, entry);
    }
    out
}

/// The key specs of a COMMAND INFO entry, notes reduced to their presence.
fn specs(entry: &[V]) -> V {
    let strip = |spec: &V| match spec {
        V::Map(p) => V::Map(
            p.iter()
                .map(|(k, v)| match k.str() {
                    "notes" => (k.clone(), V::Null),
                    _ => (k.clone(), v.clone()),
                })
                .collect(),
        ),
        V::Array(a) => V::Array(
            a.chunks(2)
                .flat_map(|c| match c[0].str() {
                    "notes" => [c[0].clone(), V::Null],
                    _ => [c[0].clone(), c[1].clone()],
                })
                .collect(),
        ),
        other => panic!("key spec {other:?}"),
    };
    match &entry[8] {
        V::Set(s) => V::Set(s.iter().map(strip).collect()),
        V::Array(a) => V::Array(a.iter().map(strip).collect()),
        other => panic!("key specs {other:?}"),
    }
}

/// Command lines for COMMAND GETKEYS and GETKEYSANDFLAGS: every kind of
/// spec, the commands that find their own keys, and Redis's errors.
const LINES: &[&str] = &[
    "set k1 v1",
    "set k v get",
    "set k v ex 10 GET",
    "set k v getx",
    "setnx k v",
    "get k",
    "getex k persist",
    "getdel k",
    "mget a b c",
    "mset a 1 b 2",
    "msetnx a 1 b 2",
    "del a b",
    "unlink a",
    "exists a b",
    "touch a",
    "copy a b",
    "rename a b",
    "renamenx a b",
    "lmove a b left right",
    "blmove a b left right 0",
    "rpoplpush a b",
    "blpop a b 0",
    "lmpop 2 a b left",
    "lmpop 0 a left",
    "lmpop 3 a b left",
    "blmpop 0 2 a b left count 2",
    "zmpop 1 z min",
    "bzmpop 0 2 a b max",
    "zinterstore zz 1443677133621497600 asdf",
    "zunionstore d 2 a b weights 1 2",
    "zunionstore d 0 a",
    "zunionstore d -1 a",
    "zunionstore d 1abc a",
    "zunion 1abc a",
    "eval s 1x k",
    "lmpop 1x a left",
    "zdiffstore d 1 a",
    "zunion 2 a b",
    "zinter 1 a",
    "zintercard 2 a b limit 1",
    "zdiff 3 a b",
    "sintercard 2 a b",
    "sintercard 0 a",
    "zrangestore d s 0 -1",
    "eval s 0",
    "eval s 2 a b c",
    "eval s 3 a b",
    "eval s -1",
    "evalsha x 1 k",
    "eval_ro s 1 k",
    "fcall f 1 k",
    "fcall_ro f 0",
    "sort k",
    "sort k store d",
    "sort k by w get g store d limit 0 1",
    "sort k store a store b",
    "sort k store store x",
    "sort k limit 0",
    "sort_ro k by x get y",
    "migrate h 6379 k 0 100",
    "migrate h 6379 \"\" 0 100 keys a b",
    "migrate h 6379 \"\" 0 100 copy replace auth p keys a b",
    "migrate h 6379 \"\" 0 100 auth2 u p keys a",
    "migrate h 6379 k 0 100 keys a",
    "georadius k 0 0 1 km store d",
    "georadius k 0 0 1 km storedist d",
    "georadius k 0 0 1 km store a storedist b",
    "georadius k 0 0 1 km store",
    "georadiusbymember k m 1 km store d",
    "georadius_ro k 0 0 1 km",
    "geosearchstore d s frommember m byradius 1 km",
    "xread streams a b 0 0",
    "xread count 2 block 0 streams a 0",
    "xread streams a b c",
    "xread streams a",
    "xreadgroup group g c streams s >",
    "xreadgroup group g c count 1 noack streams a b 0 0",
    "xadd s * f v",
    "xgroup create s g $",
    "xinfo stream s",
    "bitfield k get u8 0",
    "bitfield k set u8 0 1",
    "bitfield k overflow sat get u8 0",
    "bitfield k incrby u8 0 1",
    "bitfield k get u8",
    "bitfield_ro k get u8 0",
    "bitop and d a b",
    "pfmerge d a b",
    "pfcount a b",
    "smove a b m",
    "sdiffstore d a b",
    "lcs a b",
    "object encoding k",
    "object freq k",
    "object nosuch k",
    "object help",
    "memory usage k",
    "hgetex k fields 1 f",
    "hsetex k fields 1 f v",
    "expire k 10",
    "restore k 0 x",
    "pfdebug encoding k",
    "xautoclaim s g c 0 0",
    "watch a b",
    "spublish ch m",
    "publish ch m",
    "ping",
    "nosuchcommand a",
    "get",
    "set k",
];

#[test]
#[ignore]
fn specs_match_redis8() {
    let ours = common::Server::start(&[]);
    let (mut theirs, their_port) = common::start_redis8();
    let mut report = Vec::new();
    let mut compared = 0;
    for proto in ["3", "2"] {
        let a = command_info(their_port, proto);
        let b = command_info(ours.port, proto);
        compared = 0;
        for (name, want) in &a {
            let Some(got) = b.get(name) else { continue };
            compared += 1;
            let (sw, sg) = (canonical(&specs(want)), canonical(&specs(got)));
            if sw != sg {
                report.push(format!(
                    "RESP{proto} COMMAND INFO {name}:\n  redis {sw:?}\n  ours  {sg:?}"
                ));
            }
        }
        let (mut ts, mut tr) = connect(their_port, proto);
        let (mut os, mut or) = connect(ours.port, proto);
        for line in LINES {
            let words: Vec<&str> = line
                .split(' ')
                .map(|w| if w == "\"\"" { "" } else { w })
                .collect();
            for sub in ["GETKEYS", "GETKEYSANDFLAGS"] {
                let mut args = vec!["COMMAND", sub];
                args.extend(&words);
                let want = canonical(&request(&mut ts, &mut tr, &args));
                let got = canonical(&request(&mut os, &mut or, &args));
                if want != got {
                    report.push(format!(
                        "RESP{proto} COMMAND {sub} {line}:\n  redis {want:?}\n  ours  {got:?}"
                    ));
                }
            }
        }
    }
    let _ = theirs.kill();
    let _ = theirs.wait();
    eprintln!(
        "compared the key specs of {compared} commands and subcommands, {} command lines",
        LINES.len()
    );
    assert!(
        report.is_empty(),
        "key specs differ from Redis 8.0:\n{}",
        report.join("\n")
    );
}

/// Every command and subcommand whose COMMAND INFO entry has a key range
/// or the movablekeys flag has key specs, and the others have none but
/// for the shard channel commands (whose specs are not_key). The unit
/// tests in `command::keyspecs` check the same on the table itself.
#[test]
fn every_keyed_command_has_specs() {
    let ours = common::Server::start(&[]);
    let mut missing = Vec::new();
    let mut with_specs = 0;
    for (name, entry) in command_info(ours.port, "3") {
        let keyed = !matches!(entry[3], V::Int(0))
            || matches!(&entry[2], V::Set(f) if f.iter().any(|x| x.str() == "movablekeys"));
        let has = matches!(&entry[8], V::Set(s) if !s.is_empty());
        with_specs += usize::from(has);
        if keyed != has && !matches!(name.as_str(), "spublish" | "ssubscribe" | "sunsubscribe") {
            missing.push(name);
        }
    }
    assert!(
        missing.is_empty(),
        "key specs do not match keys: {missing:?}"
    );
    assert!(with_specs > 200, "only {with_specs} commands with specs");
}
