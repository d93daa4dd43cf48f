//! The process title `ps` shows, from `proc-title-template`
//! (`{title} {listen-addr} {server-mode}` by default, so `ps` lists
//! `redis-server *:6379`), set as Redis's `setproctitle` sets it.
//!
//! Linux reads /proc/PID/cmdline from the memory that held the argv
//! strings when the process started. A title is written over that
//! memory; a title longer than the arguments runs on over the
//! environment strings that follow them, which `init` first copies
//! elsewhere. When the last argv byte is not a NUL any more, the kernel
//! reads the title up to its first NUL, wherever it ends.

use std::ffi::{CStr, CString, c_char};
use std::sync::OnceLock;

use crate::config::Config;

/// The writable span of the original argv (and environment) strings, and
/// the program name as invoked, for `{title}`.
struct Area {
    start: usize,
    len: usize,
    argv0: String,
}

static AREA: OnceLock<Area> = OnceLock::new();

unsafe extern "C" {
    static mut environ: *mut *mut c_char;
    static mut program_invocation_name: *mut c_char;
    static mut program_invocation_short_name: *mut c_char;
}

/// Finds the argv/environment span and moves the environment out of it.
/// Call once, first thing in `main`, while the process has one thread,
/// after reading the arguments: `std::env::args` reads that memory.
pub fn init(argv0: &str) {
    let Some((arg_start, arg_end, env_start, env_end)) = spans() else {
        return;
    };
    if arg_start == 0 || arg_end <= arg_start {
        return;
    }
    let mut end = arg_end;
    // SAFETY: single-threaded start-up, so nothing reads `environ` or the
    // program name while they are replaced; the copies are leaked, as
    // they must live as long as the process.
    unsafe {
        if env_start == arg_end && env_end > env_start && move_environment(env_start, env_end) {
            end = env_end;
        }
        for name in [
            &raw mut program_invocation_name,
            &raw mut program_invocation_short_name,
        ] {
            let p = *name;
            if !p.is_null() && (p as usize) >= arg_start && (p as usize) < end {
                *name = CString::from(CStr::from_ptr(p)).into_raw();
            }
        }
    }
    let _ = AREA.set(Area {
        start: arg_start,
        len: end - arg_start,
        argv0: argv0.to_string(),
    });
}

/// arg_start, arg_end, env_start, env_end from /proc/self/stat (fields 48
/// to 51; the command name in field 2 may hold spaces, so count from ')').
fn spans() -> Option<(usize, usize, usize, usize)> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let rest = &stat[stat.rfind(')')? + 1..];
    let f: Vec<usize> = rest
        .split_whitespace()
        .skip(45)
        .take(4)
        .map(|w| w.parse().ok())
        .collect::<Option<_>>()?;
    (f.len() == 4).then(|| (f[0], f[1], f[2], f[3]))
}

/// Points `environ` at copies of the environment strings, so the span
/// they occupied can hold a title. False if some string lies outside
/// that span (someone already moved it), in which case nothing changes.
///
/// # Safety
/// Single-threaded start-up only.
unsafe fn move_environment(start: usize, end: usize) -> bool {
    // SAFETY: per the contract, nothing else touches `environ` now; it is
    // the NULL-terminated array libc keeps.
    unsafe {
        let env = environ;
        if env.is_null() {
            return true;
        }
        let mut copies: Vec<*mut c_char> = Vec::new();
        let mut i = 0;
        while !(*env.add(i)).is_null() {
            let p = *env.add(i);
            if (p as usize) < start || (p as usize) >= end {
                for c in copies {
                    drop(CString::from_raw(c));
                }
                return false;
            }
            copies.push(CString::from(CStr::from_ptr(p)).into_raw());
            i += 1;
        }
        copies.push(std::ptr::null_mut());
        environ = Box::leak(copies.into_boxed_slice()).as_mut_ptr();
        true
    }
}

/// Expands a template as Redis's `sdstemplate` does: `{name}` is a
/// variable, `{{` a literal brace; an unknown name or an unclosed brace
/// makes the whole template invalid. Spaces around the result are trimmed.
pub fn expand(template: &str, title: &str, cfg: &Config) -> Option<String> {
    let mut out = String::new();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        if after.is_empty() {
            return None;
        }
        if let Some(r) = after.strip_prefix('{') {
            out.push('{');
            rest = r;
            continue;
        }
        let close = after.find('}')?;
        out.push_str(&variable(&after[..close], title, cfg)?);
        rest = &after[close + 1..];
    }
    out.push_str(rest);
    Some(out.trim_matches(' ').to_string())
}

fn variable(name: &str, title: &str, cfg: &Config) -> Option<String> {
    let port = cfg.int("port");
    let tls = cfg.int("tls-port");
    Some(match name {
        "title" => title.to_string(),
        "listen-addr" if port != 0 || tls != 0 => {
            let addr = cfg.get("bind").split_whitespace().next().unwrap_or("*");
            format!("{addr}:{}", if port != 0 { port } else { tls })
        }
        "listen-addr" => format!("unixsocket:{}", cfg.get("unixsocket")),
        "server-mode" if cfg.bool("cluster-enabled") => "[cluster]".to_string(),
        "server-mode" => String::new(),
        "config-file" => cfg.file.clone().unwrap_or_else(|| "-".to_string()),
        "port" => port.to_string(),
        "tls-port" => tls.to_string(),
        "unixsocket" => cfg.get("unixsocket").to_string(),
        _ => return None,
    })
}

/// Checks a template as CONFIG SET and the config file do: it must
/// expand, to something non-empty once `{title}` is left empty.
pub fn validate(template: &str, cfg: &Config) -> bool {
    expand(template, "", cfg).is_some_and(|t| !t.is_empty())
}

/// Writes the title `proc-title-template` gives now. A title longer than
/// the span is cut; the rest of the span is cleared.
pub fn update(cfg: &Config) {
    let Some(area) = AREA.get() else { return };
    let Some(title) = expand(cfg.get("proc-title-template"), &area.argv0, cfg) else {
        return;
    };
    let b = title.as_bytes();
    let n = b.len().min(area.len - 1);
    // SAFETY: `init` found this span in /proc/self/stat: the process's
    // own argv/environment strings, writable, and no longer referenced
    // (the environment was moved, the arguments were read before).
    unsafe {
        let p = area.start as *mut u8;
        std::ptr::copy_nonoverlapping(b.as_ptr(), p, n);
        std::ptr::write_bytes(p.add(n), 0, area.len - n);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> Config {
        let mut c = Config::new();
        c.load_text("port 7000\nbind 127.0.0.1 ::1\nunixsocket /tmp/s.sock", 0)
            .unwrap();
        c
    }

    #[test]
    fn expands_variables_and_trims() {
        let c = cfg();
        assert_eq!(
            expand("{title} {listen-addr} {server-mode}", "redis-server", &c).as_deref(),
            Some("redis-server 127.0.0.1:7000")
        );
        assert_eq!(
            expand("X {port} {tls-port} {unixsocket} {config-file}", "t", &c).as_deref(),
            Some("X 7000 0 /tmp/s.sock -")
        );
        assert_eq!(expand("a{{b", "t", &c).as_deref(), Some("a{b"));
    }

    #[test]
    fn rejects_bad_templates() {
        let c = cfg();
        for t in ["{invalid-var}", "{title", "x{", "{title}", "  "] {
            assert!(!validate(t, &c), "{t:?} should be invalid");
        }
        assert!(validate("{title} {listen-addr}", &c));
    }
}
