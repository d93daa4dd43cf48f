//! The offline checkers, Redis's `redis-check-rdb` and `redis-check-aof`:
//! the binary answers as them when run under their names (the
//! `redis-rust-check-rdb` and `redis-rust-check-aof` symlinks `make
//! install` makes, or Redis's own names) or with `--check-rdb FILE` /
//! `--check-aof [--fix] FILE`. Usage, output lines and exit codes are
//! Redis 8.0's; the files are read by the server's own loaders
//! (`persist::rdb`, `persist::aof::manifest`).

pub mod aof;
pub mod rdb;

/// Runs a checker if `argv` asks for one, returning its exit code; None
/// when the server should start instead.
pub fn dispatch(argv: &[String]) -> Option<i32> {
    let argv0 = argv.first().map_or("redis-rust", String::as_str);
    let name = argv0.rsplit('/').next().unwrap_or(argv0);
    let (tool, prog, args) = if name.ends_with("check-rdb") {
        ("rdb", argv0.to_string(), &argv[1..])
    } else if name.ends_with("check-aof") {
        ("aof", argv0.to_string(), &argv[1..])
    } else {
        match argv.get(1).map(String::as_str) {
            Some("--check-rdb") => ("rdb", format!("{argv0} --check-rdb"), &argv[2..]),
            Some("--check-aof") => ("aof", format!("{argv0} --check-aof"), &argv[2..]),
            _ => return None,
        }
    };
    // What the loaders log (a manifest error, a short hash read) goes to
    // standard output, as the C tools' serverLog does.
    crate::logging::TOOL_ROLE.store(true, std::sync::atomic::Ordering::Relaxed);
    let _ = crate::logging::init("", "notice", None);
    Some(if tool == "rdb" {
        rdb::main(&prog, args)
    } else {
        aof::main(&prog, args)
    })
}

/// The version line both checkers print for `-v`.
fn version(tool: &str) -> String {
    format!(
        "{tool} v={} sha=00000000:0 malloc=libc bits=64 build=redis-rust",
        crate::REDIS_VERSION
    )
}

/// C's `%s` on bytes: up to the first NUL.
fn c_str(b: &[u8]) -> &[u8] {
    b.iter().position(|&c| c == 0).map_or(b, |i| &b[..i])
}
