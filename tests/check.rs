//! The binary as redis-check-rdb and redis-check-aof (src/check): run
//! through the `redis-rust-check-*` names `make install` links, and with
//! `--check-rdb` / `--check-aof`, on files our server writes and on broken
//! copies. The ignored test compares every output line and exit code with
//! Redis 8.0's own checkers (`make interop` sets REDIS8_CHECK_RDB and
//! REDIS8_CHECK_AOF).

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// A scratch directory holding the tool links and the files checked.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Scratch {
        let d =
            std::env::temp_dir().join(format!("redis-rust-check-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        for tool in ["redis-rust-check-rdb", "redis-rust-check-aof"] {
            std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_redis-rust"), d.join(tool)).unwrap();
        }
        Scratch(d)
    }

    fn path(&self, name: &str) -> String {
        self.0.join(name).to_str().unwrap().to_string()
    }

    fn write(&self, name: &str, data: &[u8]) -> String {
        std::fs::write(self.0.join(name), data).unwrap();
        self.path(name)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Runs `prog args` in `dir` with `stdin`: (exit code, stdout, stderr).
fn run(prog: &str, args: &[&str], dir: &Path, stdin: &[u8]) -> (i32, String, String) {
    let mut c = Command::new(prog)
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    c.stdin.take().unwrap().write_all(stdin).unwrap();
    let out = c.wait_with_output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// An RDB from our server: 100 populated keys, one with a TTL, one hash
/// with a field TTL.
fn our_rdb(dir: &Path) -> Vec<u8> {
    let srv = common::Server::start(&[
        "--dir",
        dir.to_str().unwrap(),
        "--enable-debug-command",
        "yes",
    ]);
    let mut c = srv.client();
    let _: () = redis::cmd("DEBUG")
        .arg("POPULATE")
        .arg(100)
        .query(&mut c)
        .unwrap();
    let _: () = redis::cmd("SET")
        .arg("ttl")
        .arg("v")
        .arg("EX")
        .arg(1000)
        .query(&mut c)
        .unwrap();
    let _: () = redis::cmd("HSET")
        .arg("h")
        .arg("a")
        .arg("1")
        .arg("b")
        .arg("2")
        .query(&mut c)
        .unwrap();
    let _: Vec<i64> = redis::cmd("HEXPIRE")
        .arg("h")
        .arg(1000)
        .arg("FIELDS")
        .arg(1)
        .arg("a")
        .query(&mut c)
        .unwrap();
    let _: () = redis::cmd("SAVE").query(&mut c).unwrap();
    std::fs::read(dir.join("dump.rdb")).unwrap()
}

#[test]
fn check_rdb_on_good_and_broken_files() {
    let s = Scratch::new("rdb");
    let rdb = our_rdb(&s.0);
    let tool = s.path("redis-rust-check-rdb");
    let good = s.write("good.rdb", &rdb);
    let (code, out, _) = run(&tool, &["good.rdb"], &s.0, b"");
    assert_eq!(code, 0, "{out}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "[offset 0] Checking RDB file good.rdb");
    assert!(
        lines[1].starts_with("[offset 26] AUX FIELD redis-ver = '"),
        "{out}"
    );
    assert!(out.contains("] Selecting DB ID 0\n"), "{out}");
    let len = rdb.len();
    assert_eq!(
        &lines[lines.len() - 6..],
        [
            format!("[offset {len}] Checksum OK").as_str(),
            format!("[offset {len}] \\o/ RDB looks OK! \\o/").as_str(),
            "[info] 102 keys read",
            "[info] 1 expires",
            "[info] 0 already expired",
            "[info] 1 subexpires",
        ]
    );
    // The option form says the same.
    let (code2, out2, _) = run(
        env!("CARGO_BIN_EXE_redis-rust"),
        &["--check-rdb", "good.rdb"],
        &s.0,
        b"",
    );
    assert_eq!((code2, &out2), (0, &out));

    s.write("cut.rdb", &rdb[..rdb.len() - 20]);
    let (code, out, _) = run(&tool, &["cut.rdb"], &s.0, b"");
    assert_eq!(code, 1);
    assert!(out.contains("--- RDB ERROR DETECTED ---\n"), "{out}");
    assert!(out.contains("] Unexpected EOF reading RDB file\n"), "{out}");

    let mut bad = rdb.clone();
    *bad.last_mut().unwrap() ^= 1;
    s.write("crc.rdb", &bad);
    let (code, out, _) = run(&tool, &["crc.rdb"], &s.0, b"");
    assert_eq!(code, 1);
    assert!(
        out.contains(&format!("[offset {len}] RDB CRC error\n")),
        "{out}"
    );
    assert!(
        out.contains("[additional info] While doing: check-sum\n"),
        "{out}"
    );

    let (code, _, err) = run(&tool, &[], &s.0, b"");
    assert_eq!(code, 1);
    assert_eq!(err, format!("Usage: {tool} <rdb-file-name>\n"));
    drop(good);
}

const SET_K: &[u8] = b"*3\r\n$3\r\nset\r\n$1\r\nk\r\n$1\r\nv\r\n";

#[test]
fn check_aof_reports_and_fixes_a_cut_file() {
    let s = Scratch::new("aof");
    let tool = s.path("redis-rust-check-aof");
    let mut aof = b"*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n".to_vec();
    aof.extend_from_slice(SET_K);
    let ok_len = aof.len();
    aof.extend_from_slice(b"*3\r\n$3\r\nset\r\n$1\r\nk\r\n$5\r\nva");
    s.write("a.aof", &aof);

    let (code, out, _) = run(&tool, &["a.aof"], &s.0, b"");
    assert_eq!(code, 1);
    let diff = aof.len() - ok_len;
    assert_eq!(
        out,
        format!(
            "Start checking Old-Style AOF\n\
             0x              4a: Expected to read 7 bytes, got 2 bytes\n\
             AOF analyzed: filename=a.aof, size={}, ok_up_to={ok_len}, ok_up_to_line=19, diff={diff}\n\
             AOF a.aof is not valid. Use the --fix option to try fixing it.\n",
            aof.len()
        )
    );

    // --fix asks first; "n" leaves the file alone, "y" cuts it.
    let (code, out, _) = run(&tool, &["--fix", "a.aof"], &s.0, b"n\n");
    assert_eq!(code, 1);
    assert!(out.ends_with("Continue? [y/N]: Aborting...\n"), "{out}");
    assert_eq!(
        std::fs::metadata(s.path("a.aof")).unwrap().len(),
        aof.len() as u64
    );
    let (code, out, _) = run(&tool, &["--fix", "a.aof"], &s.0, b"y\n");
    assert_eq!(code, 0, "{out}");
    assert!(out.ends_with("Successfully truncated AOF a.aof\n"), "{out}");
    assert_eq!(
        std::fs::metadata(s.path("a.aof")).unwrap().len(),
        ok_len as u64
    );
    let (code, out, _) = run(
        env!("CARGO_BIN_EXE_redis-rust"),
        &["--check-aof", "a.aof"],
        &s.0,
        b"",
    );
    assert_eq!(code, 0, "{out}");
    assert!(out.ends_with("AOF a.aof is valid\n"), "{out}");

    // A MULTI the file never closes.
    let mut multi = SET_K.to_vec();
    multi.extend_from_slice(b"*1\r\n$5\r\nMULTI\r\n");
    multi.extend_from_slice(SET_K);
    s.write("m.aof", &multi);
    let (code, out, _) = run(&tool, &["m.aof"], &s.0, b"");
    assert_eq!(code, 1);
    assert!(
        out.contains(": Reached EOF before reading EXEC for MULTI\n"),
        "{out}"
    );
    assert!(
        out.contains(&format!("ok_up_to={}, ", SET_K.len())),
        "{out}"
    );
}

/// The lines as both tools print them: log-line prefixes (pid, time) and
/// the bytes C prints from an uninitialized buffer set aside.
fn normalize(s: &str) -> String {
    s.lines()
        .map(|l| {
            let l = match l.find(" # ") {
                Some(i) if l[..i].contains(":C ") => &l[i..],
                _ => l,
            };
            match l.find("Expected \\r\\n, got: 00") {
                Some(i) => format!("{}Expected \\r\\n, got: 00??", &l[..i]),
                None => l.to_string(),
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
#[ignore = "needs Redis 8.0's checkers (make interop sets REDIS8_CHECK_RDB and REDIS8_CHECK_AOF)"]
fn checkers_match_redis_8() {
    let ref_rdb = std::env::var("REDIS8_CHECK_RDB").expect("REDIS8_CHECK_RDB");
    let ref_aof = std::env::var("REDIS8_CHECK_AOF").expect("REDIS8_CHECK_AOF");
    let s = Scratch::new("vs8");
    let rdb = our_rdb(&s.0);
    let mut cases: Vec<(&str, Vec<u8>)> = vec![("rdb", rdb.clone()), ("rdb", Vec::new())];
    for cut in (0..rdb.len()).step_by(rdb.len() / 60) {
        cases.push(("rdb", rdb[..cut].to_vec()));
    }
    for i in (9..rdb.len()).step_by(rdb.len() / 60) {
        let mut b = rdb.clone();
        b[i] ^= 0x5a;
        cases.push(("rdb", b));
    }
    let mut aof = Vec::new();
    for i in 0..20 {
        aof.extend_from_slice(
            format!("*3\r\n$3\r\nset\r\n$2\r\nk{}\r\n$1\r\nv\r\n", i % 10).as_bytes(),
        );
        if i % 7 == 3 {
            aof.extend_from_slice(b"*1\r\n$5\r\nMULTI\r\n");
        }
        if i % 7 == 5 {
            aof.extend_from_slice(b"*1\r\n$4\r\nEXEC\r\n");
        }
    }
    for cut in 0..=aof.len() {
        cases.push(("aof", aof[..cut].to_vec()));
    }
    let mut with_preamble = rdb.clone();
    with_preamble.extend_from_slice(&aof);
    for cut in (0..with_preamble.len()).step_by(37) {
        cases.push(("aof", with_preamble[..cut].to_vec()));
    }
    let ours = |k: &str| s.path(&format!("redis-rust-check-{k}"));
    for (n, (kind, data)) in cases.iter().enumerate() {
        let file = format!("f{n}.{kind}");
        let reference = if *kind == "rdb" { &ref_rdb } else { &ref_aof };
        s.write(&file, data);
        let (c1, o1, _) = run(reference, &[&file], &s.0, b"");
        s.write(&file, data);
        let (c2, o2, _) = run(&ours(kind), &[&file], &s.0, b"");
        let (want, mut got) = (normalize(&o1), normalize(&o2));
        // Redis 8.0's redis-check-aof sometimes ends a failed RDB preamble
        // right after "Terminating server ..." and sometimes prints this
        // line too (about one run in five, same file): both are its answer.
        const NOT_SANE: &str = "\nRDB preamble of AOF file is not sane, aborting.";
        if *kind == "aof" && !want.ends_with(NOT_SANE) && got.ends_with(NOT_SANE) {
            got.truncate(got.len() - NOT_SANE.len());
        }
        assert_eq!(
            (c1, want),
            (c2, got),
            "{kind} case {n} ({} bytes)",
            data.len()
        );
    }
    println!("{} files: same lines and exit codes", cases.len());
}
