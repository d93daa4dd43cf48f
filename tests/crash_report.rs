//! Crash reports (src/crash.rs): what the log says when the server dies of
//! a signal or a failed assertion, and the stack traces of SIGALRM and the
//! software watchdog, which the server survives.

mod common;

use common::Server;
use std::os::unix::process::ExitStatusExt;

fn debug_server(extra: &[&str]) -> Server {
    let mut args = vec!["--enable-debug-command", "yes", "--loglevel", "notice"];
    args.extend_from_slice(extra);
    Server::start(&args)
}

fn send(s: &Server, cmd: &[&str]) -> redis::RedisResult<redis::Value> {
    let mut c = s.client();
    let mut q = redis::cmd(cmd[0]);
    for a in &cmd[1..] {
        q.arg(*a);
    }
    q.query(&mut c)
}

/// The report's lines in order: each of `want` must appear after the
/// previous one.
fn assert_in_order(log: &str, want: &[&str]) {
    let mut at = 0;
    for w in want {
        match log[at..].find(w) {
            Some(i) => at += i + w.len(),
            None => panic!("log lacks {w:?} (after byte {at}):\n{log}"),
        }
    }
}

#[test]
fn debug_segfault_reports_and_dies_of_sigsegv() {
    let mut s = debug_server(&[]);
    assert!(send(&s, &["DEBUG", "SEGFAULT"]).is_err());
    let st = s.wait_exit(10).expect("server still running");
    assert_eq!(st.signal(), Some(libc::SIGSEGV));
    let log = s.output();
    assert_in_order(
        &log,
        &[
            "=== REDIS BUG REPORT START",
            "crashed by signal: 11",
            "Accessing address: 0x",
            "------ STACK TRACE ------",
            "commands::server::debug",
            "------ STACK TRACE DONE ------",
            "------ INFO OUTPUT ------",
            "redis_version:",
            "------ CURRENT CLIENT INFO ------",
            "argv[0]: '\"DEBUG\"'",
            "argv[1]: '\"SEGFAULT\"'",
            "=== REDIS BUG REPORT END",
        ],
    );
    assert_eq!(log.matches("STACK TRACE -").count(), 1, "{log}");
}

#[test]
fn debug_assert_hides_user_data_and_exits() {
    let mut s = debug_server(&["--use-exit-on-panic", "yes"]);
    send(&s, &["CONFIG", "SET", "hide-user-data-from-log", "yes"]).unwrap();
    assert!(send(&s, &["DEBUG", "ASSERT"]).is_err());
    let st = s.wait_exit(10).expect("server still running");
    assert_eq!(st.code(), Some(1));
    let log = s.output();
    assert_in_order(
        &log,
        &[
            "=== ASSERTION FAILED ===",
            "' is not true",
            "------ STACK TRACE DONE ------",
            "client->argv[0] = \"DEBUG\"",
            "client->argv[1] = \"*redacted*\"",
            "hide-user-data-from-log is on",
        ],
    );
    assert!(!log.contains("\"ASSERT\""), "{log}");
}

#[test]
fn sigalrm_and_watchdog_print_traces_and_the_server_lives() {
    let mut s = debug_server(&[]);
    // The watchdog fires while DEBUG SLEEP holds the event loop.
    send(&s, &["CONFIG", "SET", "watchdog-period", "200"]).unwrap();
    send(&s, &["DEBUG", "SLEEP", "1"]).unwrap();
    send(&s, &["CONFIG", "SET", "watchdog-period", "0"]).unwrap();
    let sleeper = {
        let port = s.port;
        std::thread::spawn(move || {
            let mut c = redis::Client::open(format!("redis://127.0.0.1:{port}/"))
                .unwrap()
                .get_connection()
                .unwrap();
            redis::cmd("DEBUG").arg("SLEEP").arg(1).query::<()>(&mut c)
        })
    };
    std::thread::sleep(std::time::Duration::from_millis(300));
    // SAFETY: kill(2) on our own child.
    unsafe {
        libc::kill(s.pid() as i32, libc::SIGALRM);
    }
    sleeper.join().unwrap().unwrap();
    assert!(s.alive());
    let pong: String = redis::cmd("PING").query(&mut s.client()).unwrap();
    assert_eq!(pong, "PONG");
    let log = s.output();
    assert_in_order(
        &log,
        &[
            "--- WATCHDOG TIMER EXPIRED ---",
            "commands::server::debug",
            "------ STACK TRACE DONE ------",
            "Received SIGALRM",
            "commands::server::debug",
            "------ STACK TRACE DONE ------",
        ],
    );
    assert!(!log.contains("BUG REPORT"), "{log}");
}
