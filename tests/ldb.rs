//! The Lua debugger (SCRIPT DEBUG SYNC) driven over a raw socket, as
//! `redis-cli --ldb-sync-mode` drives it: every debugger answer is an array
//! of status lines, the session ends with `<endsession>` and the EVAL
//! reply, and then the server closes the connection.

mod common;

use common::{Server, V, read, read_to_close, request};
use std::io::{BufReader, Write};
use std::net::TcpStream;

/// A connection in a debugging session.
struct Session {
    s: TcpStream,
    r: BufReader<TcpStream>,
}

fn lines(v: V) -> Vec<String> {
    match v {
        V::Array(a) => a
            .into_iter()
            .map(|x| match x {
                V::Simple(s) => s,
                other => panic!("not a log line: {other:?}"),
            })
            .collect(),
        other => panic!("not a debugger answer: {other:?}"),
    }
}

impl Session {
    /// Turns the debugger on and sends EVAL: returns the first stop.
    fn start(server: &Server, script: &str, args: &[&str]) -> (Session, Vec<String>) {
        let s = server.raw();
        let r = BufReader::new(s.try_clone().unwrap());
        let mut d = Session { s, r };
        let ok = request(&mut d.s, &mut d.r, &["SCRIPT", "DEBUG", "SYNC"]);
        assert_eq!(ok, V::Simple("OK".into()));
        let mut eval = vec!["EVAL", script];
        eval.extend_from_slice(args);
        let first = d.cmd(&eval);
        (d, first)
    }

    fn cmd(&mut self, args: &[&str]) -> Vec<String> {
        lines(request(&mut self.s, &mut self.r, args))
    }

    /// Sends `c` (which ends the session) and returns the final log lines
    /// and the EVAL reply; asserts the server closes the connection then.
    fn finish(mut self, args: &[&str]) -> (Vec<String>, V) {
        let last = self.cmd(args);
        let reply = read(&mut self.r);
        let (rest, closed) = read_to_close(self.r.get_mut());
        assert!(closed && rest.is_empty(), "connection left open: {rest:?}");
        (last, reply)
    }
}

fn ping(server: &Server) -> V {
    let mut s = server.raw();
    let mut r = BufReader::new(s.try_clone().unwrap());
    request(&mut s, &mut r, &["PING"])
}

const SCRIPT: &str = "local a = 5
local t = {1, 'x'}
redis.call('set', KEYS[1], a)
local b = redis.call('get', KEYS[1])
return b
";

#[test]
fn steps_prints_lists_breaks_and_runs_commands() {
    let server = Server::start(&[]);
    let (mut d, first) = Session::start(&server, SCRIPT, &["1", "k"]);
    assert_eq!(
        first,
        [
            "* Stopped at 1, stop reason = step over",
            "-> 1   local a = 5"
        ]
    );
    assert_eq!(
        d.cmd(&["s"]),
        [
            "* Stopped at 2, stop reason = step over",
            "-> 2   local t = {1, 'x'}"
        ]
    );
    assert_eq!(d.cmd(&["p", "a"]), ["<value> 5"]);
    assert_eq!(d.cmd(&["print"]), ["<value> a = 5"]);
    assert_eq!(d.cmd(&["p", "nosuch"]), ["No such variable."]);
    assert_eq!(d.cmd(&["p", "KEYS"]), ["<value> {\"k\"}"]);
    assert_eq!(
        d.cmd(&["l", "1", "1"]),
        ["   1   local a = 5", "-> 2   local t = {1, 'x'}"]
    );
    assert_eq!(
        d.cmd(&["b", "4"]),
        [
            "   3   redis.call('set', KEYS[1], a)",
            "  #4   local b = redis.call('get', KEYS[1])",
            "   5   return b"
        ]
    );
    assert_eq!(
        d.cmd(&["c"]),
        [
            "* Stopped at 4, stop reason = break point",
            "->#4   local b = redis.call('get', KEYS[1])"
        ]
    );
    assert_eq!(d.cmd(&["p", "t"]), ["<value> {1; \"x\"}"]);
    assert_eq!(d.cmd(&["r", "incr", "k"]), ["<redis> incr k", "<reply> 6"]);
    // In a frame of its own, with the script's globals.
    assert_eq!(
        d.cmd(&["e", "tonumber(redis.call('get',", "KEYS[1]))", "+", "1"]),
        ["<retval> 7"]
    );
    assert_eq!(
        d.cmd(&["e", "x", "+"]),
        ["<error> ldb_eval:1: '=' expected near '+'"]
    );
    assert_eq!(
        d.cmd(&["t"]),
        [
            "In top level:",
            "->#4   local b = redis.call('get', KEYS[1])"
        ]
    );
    assert_eq!(d.cmd(&["b", "-4"]), ["Breakpoint removed."]);
    assert_eq!(
        d.cmd(&["m", "1"]),
        ["<value> replies are truncated at 60 bytes."]
    );
    // Commands with NUL bytes, and unknown ones, are refused politely.
    for bad in ["hello\0world", "hello\0", "\0hello", "nosuch"] {
        assert_eq!(
            d.cmd(&[bad]),
            ["<error> Unknown Redis Lua debugger command or wrong number of arguments."]
        );
    }
    // 101 arguments: the command is unknown, the server survives.
    let mut big = vec!["redis"];
    big.extend(std::iter::repeat_n("test", 100));
    let out = d.cmd(&big);
    // Redis counts one too few of the rest; so do we.
    assert!(out[0].starts_with("<redis> test test"), "{out:?}");
    assert!(out[0].ends_with("... (89 more)"), "{out:?}");
    assert_eq!(out[1], "<error> Unknown Redis command called from script");
    assert_eq!(
        d.cmd(&["s"]),
        [
            "<redis> get k",
            "<reply> \"6\"",
            "* Stopped at 5, stop reason = step over",
            "-> 5   return b"
        ]
    );
    let (last, reply) = d.finish(&["c"]);
    assert_eq!(last, ["<endsession>"]);
    assert_eq!(reply, V::Bulk("6".into()));
    assert_eq!(ping(&server), V::Simple("PONG".into()));
}

#[test]
fn abort_garbage_and_a_vanished_client_end_the_session() {
    let server = Server::start(&[]);
    let (d, _) = Session::start(&server, "local a = 1\nreturn a", &["0"]);
    let (last, reply) = d.finish(&["a"]);
    assert_eq!(last, ["<endsession>"]);
    assert!(
        matches!(&reply, V::Error(e) if e.starts_with("ERR script aborted for user request")),
        "{reply:?}"
    );

    // Input that is not a multibulk command fails the script.
    let (mut d, _) = Session::start(&server, "local a = 1\nreturn a", &["0"]);
    d.s.write_all(b"PING\r\n").unwrap();
    assert_eq!(lines(read(&mut d.r)), ["<endsession>"]);
    let reply = read(&mut d.r);
    assert!(
        matches!(&reply, V::Error(e) if e.starts_with("ERR protocol error")),
        "{reply:?}"
    );

    // The client goes away: the script runs to its end without stops.
    let (d, _) = Session::start(
        &server,
        "local a = 1\nredis.call('set', 'done', a)\nreturn a",
        &["0"],
    );
    drop(d);
    let mut s = server.raw();
    let mut r = BufReader::new(s.try_clone().unwrap());
    assert_eq!(
        request(&mut s, &mut r, &["GET", "done"]),
        V::Bulk("1".into())
    );
}

#[test]
fn script_debug_modes() {
    let server = Server::start(&[]);
    let mut s = server.raw();
    let mut r = BufReader::new(s.try_clone().unwrap());
    let yes = request(&mut s, &mut r, &["SCRIPT", "DEBUG", "YES"]);
    assert!(
        matches!(&yes, V::Error(e) if e.contains("not supported") && e.contains("SCRIPT DEBUG SYNC")),
        "{yes:?}"
    );
    assert_eq!(
        request(&mut s, &mut r, &["SCRIPT", "DEBUG", "maybe"]),
        V::Error("ERR Use SCRIPT DEBUG YES/SYNC/NO".into())
    );
    // Behind replies not sent yet, as inside EXEC.
    request(&mut s, &mut r, &["MULTI"]);
    request(&mut s, &mut r, &["SCRIPT", "DEBUG", "SYNC"]);
    assert_eq!(
        request(&mut s, &mut r, &["EXEC"]),
        V::Array(vec![V::Error(
            "ERR SCRIPT DEBUG must be called outside a pipeline".into()
        )])
    );
    assert_eq!(
        request(&mut s, &mut r, &["SCRIPT", "DEBUG", "SYNC"]),
        V::Simple("OK".into())
    );
    assert_eq!(
        request(&mut s, &mut r, &["EVALSHA", &"a".repeat(40), "0"]),
        V::Error("ERR Please use EVAL instead of EVALSHA for debugging".into())
    );
    // Functions are not debugged: FCALL runs as usual.
    let lib = "#!lua name=lib\nredis.register_function('f', function() return 3 end)";
    request(&mut s, &mut r, &["FUNCTION", "LOAD", lib]);
    assert_eq!(request(&mut s, &mut r, &["FCALL", "f", "0"]), V::Int(3));
    assert_eq!(
        request(&mut s, &mut r, &["SCRIPT", "DEBUG", "NO"]),
        V::Simple("OK".into())
    );
    assert_eq!(
        request(&mut s, &mut r, &["EVAL", "return 7", "0"]),
        V::Int(7)
    );
}
