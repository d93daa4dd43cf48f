//! COMMAND DOCS against the real Redis 8.0.
//!
//! redis-cli builds its typing hints from the argument trees in COMMAND
//! DOCS, so ours must be the same trees. `trees_match_redis8` (ignored by
//! plain `cargo test`; `make interop` runs it with `REDIS8_SERVER` set)
//! fetches COMMAND DOCS from both servers, in RESP3 and RESP2, and compares
//! for every command and subcommand both have: the argument trees as typed
//! structures, which fields are present, the doc flags, the deprecation
//! version and the history's versions (not its wording, which is ours).
//! The other tests need only our binary.

mod common;

use common::{V, canonical, request};
use std::collections::BTreeMap;
use std::io::BufReader;
use std::net::TcpStream;
use std::time::Duration;

/// COMMAND DOCS (all commands, or those named) in protocol `proto`,
/// flattened to full name -> doc map, subcommands included.
fn docs(port: u16, proto: &str, names: &[&str]) -> BTreeMap<String, V> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut r = BufReader::new(s.try_clone().unwrap());
    request(&mut s, &mut r, &["HELLO", proto]);
    let mut args = vec!["COMMAND", "DOCS"];
    args.extend_from_slice(names);
    let all = request(&mut s, &mut r, &args);
    let mut out = BTreeMap::new();
    fn add(out: &mut BTreeMap<String, V>, name: String, doc: V) {
        if let Some(subs) = doc.get("subcommands") {
            for (n, d) in subs.pairs() {
                add(out, n.to_lowercase(), d);
            }
        }
        out.insert(name, doc);
    }
    for (name, doc) in all.pairs() {
        add(&mut out, name.to_lowercase(), doc);
    }
    out
}

/// The structural facts of one command's docs, without its wording.
fn facts(doc: &V) -> Vec<(String, V)> {
    doc.pairs()
        .into_iter()
        .filter(|(k, _)| k != "subcommands")
        .map(|(k, v)| match k.as_str() {
            "summary" | "complexity" | "replaced_by" => (k, V::Null),
            "history" => {
                let versions = match &v {
                    V::Set(h) | V::Array(h) => h
                        .iter()
                        .map(|e| match e {
                            V::Array(pair) => pair[0].clone(),
                            _ => panic!("history entry {e:?}"),
                        })
                        .collect(),
                    _ => panic!("history {v:?}"),
                };
                (k, V::Array(versions))
            }
            _ => (k, canonical(&v)),
        })
        .collect()
}

/// Commands whose docs may differ from Redis 8.0's, with the reason.
const KNOWN_DIFFERENCES: &[(&str, &str)] = &[];

#[test]
#[ignore]
fn trees_match_redis8() {
    let ours = common::Server::start(&[]);
    let (mut theirs, their_port) = common::start_redis8();
    let mut report = Vec::new();
    let mut compared = 0;
    for proto in ["3", "2"] {
        let a = docs(their_port, proto, &[]);
        let b = docs(ours.port, proto, &[]);
        compared = 0;
        for (name, want) in &a {
            let Some(got) = b.get(name) else { continue };
            compared += 1;
            if KNOWN_DIFFERENCES.iter().any(|(n, _)| n == name) {
                continue;
            }
            let (fw, fg) = (facts(want), facts(got));
            if fw != fg {
                let keys = |f: &[(String, V)]| f.iter().map(|p| p.0.clone()).collect::<Vec<_>>();
                let field = if keys(&fw) != keys(&fg) {
                    format!("fields {:?} vs ours {:?}", keys(&fw), keys(&fg))
                } else {
                    let bad: Vec<_> = fw
                        .iter()
                        .zip(&fg)
                        .filter(|(x, y)| x != y)
                        .map(|(x, _)| x.0.clone())
                        .collect();
                    format!("differs in {bad:?}")
                };
                report.push(format!("RESP{proto} {name}: {field}"));
            }
        }
        let ours_only: Vec<_> = b.keys().filter(|n| !a.contains_key(*n)).collect();
        if !ours_only.is_empty() {
            report.push(format!("RESP{proto}: only we document {ours_only:?}"));
        }
    }
    let _ = theirs.kill();
    let _ = theirs.wait();
    eprintln!("compared {compared} commands and subcommands");
    assert!(
        report.is_empty(),
        "COMMAND DOCS differs from Redis 8.0:\n{}",
        report.join("\n")
    );
}

/// An argument list as redis-cli 8.0 shows it while one types.
fn hint(args: &V) -> String {
    let V::Array(list) = args else {
        panic!("arguments {args:?}")
    };
    list.iter().map(hint_arg).collect::<Vec<_>>().join(" ")
}

fn hint_arg(a: &V) -> String {
    let field = |f: &str| a.get(f).map(|v| v.str().to_string());
    let flags = match a.get("flags") {
        Some(V::Set(f)) => f.iter().map(|x| x.str().to_string()).collect(),
        _ => Vec::new(),
    };
    let has = |f: &str| flags.iter().any(|x| x == f);
    let mut s = match field("type").unwrap().as_str() {
        "oneof" => {
            let V::Array(alts) = a.get("arguments").unwrap() else {
                panic!()
            };
            alts.iter().map(hint_arg).collect::<Vec<_>>().join("|")
        }
        "block" => hint(&a.get("arguments").unwrap()),
        "pure-token" => String::new(),
        _ => field("display_text").unwrap(),
    };
    if let Some(t) = field("token") {
        s = if s.is_empty() { t } else { format!("{t} {s}") };
    }
    if has("multiple") {
        s = format!("{s} [{s} ...]");
    }
    if has("optional") { format!("[{s}]") } else { s }
}

#[test]
fn hints_read_like_redis_cli() {
    let ours = common::Server::start(&[]);
    let d = docs(ours.port, "3", &["set", "zadd", "client"]);
    let args = |n: &str| d[n].get("arguments").unwrap();
    assert_eq!(
        hint(&args("set")),
        "key value [NX|XX] [GET] [EX seconds|PX milliseconds|EXAT unix-time-seconds|\
         PXAT unix-time-milliseconds|KEEPTTL]"
    );
    assert_eq!(
        hint(&args("zadd")),
        "key [NX|XX] [GT|LT] [CH] [INCR] score member [score member ...]"
    );
    assert_eq!(
        hint(&args("client|no-evict")),
        "ON|OFF",
        "a subcommand's tree"
    );
    let set = &d["set"];
    assert_eq!(set.get("complexity"), Some(V::Bulk("O(1)".into())));
    assert!(matches!(set.get("history"), Some(V::Set(h)) if h.len() == 4));
}

/// Every command and subcommand COMMAND LIST names has a docs row (the
/// unit test `command::docs::tests::every_command_has_docs` checks the same
/// on the table; this checks what reaches the client). A row shows as a
/// complexity note, which Redis 8.0 too leaves out only for these.
#[test]
fn every_command_is_documented() {
    const NO_COMPLEXITY: &[&str] = &["lolwut", "monitor", "psync", "sync", "xread"];
    let ours = common::Server::start(&[]);
    let d = docs(ours.port, "2", &[]);
    let mut s = TcpStream::connect(("127.0.0.1", ours.port)).unwrap();
    let mut r = BufReader::new(s.try_clone().unwrap());
    let V::Array(names) = request(&mut s, &mut r, &["COMMAND", "LIST"]) else {
        panic!("COMMAND LIST")
    };
    let mut missing = Vec::new();
    for n in names.iter().map(|n| n.str().to_lowercase()) {
        match d.get(&n) {
            Some(doc) if doc.get("complexity").is_some() || NO_COMPLEXITY.contains(&n.as_str()) => {
            }
            _ => missing.push(n),
        }
    }
    assert!(missing.is_empty(), "undocumented: {missing:?}");
    assert!(d.len() > 350, "only {} documented", d.len());
}
