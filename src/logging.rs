//! A `log::Log` that writes Redis's line format:
//! `pid:role dd Mon yyyy hh:mm:ss.mmm <level-char> message`.

use std::io::Write;
use std::sync::Mutex;

pub struct RedisLogger {
    /// None: standard output.
    file: Mutex<Option<std::fs::File>>,
    pub level: std::sync::atomic::AtomicUsize,
    /// `syslog-enabled yes`: every line also goes to syslog(3).
    syslog: std::sync::atomic::AtomicBool,
}

static LOGGER: std::sync::OnceLock<RedisLogger> = std::sync::OnceLock::new();

/// The log's descriptor (standard output until a logfile opens), for
/// writers that must not take the logger's lock (crash.rs).
static RAW_FD: std::sync::atomic::AtomicI32 = std::sync::atomic::AtomicI32::new(1);

/// Writes `b` to the log as it is, without the logger's lock.
pub fn write_raw(b: &[u8]) {
    let fd = RAW_FD.load(std::sync::atomic::Ordering::Relaxed);
    let mut rest = b;
    while !rest.is_empty() {
        // SAFETY: write(2) from a valid slice.
        let n = unsafe { libc::write(fd, rest.as_ptr().cast(), rest.len()) };
        if n <= 0 {
            return;
        }
        rest = &rest[n as usize..];
    }
}

/// Maps redis `loglevel` names onto `log` levels.
pub fn level_from_name(n: &str) -> log::LevelFilter {
    match n {
        "debug" => log::LevelFilter::Trace,
        "verbose" => log::LevelFilter::Debug,
        "notice" => log::LevelFilter::Info,
        "warning" => log::LevelFilter::Warn,
        "nothing" => log::LevelFilter::Off,
        _ => log::LevelFilter::Info,
    }
}

/// Installs the logger. `logfile` empty means standard output; `syslog`
/// (ident, facility) also sends every line to syslog(3), as Redis does
/// with `syslog-enabled yes`.
pub fn init(logfile: &str, level: &str, syslog: Option<(&str, &str)>) -> std::io::Result<()> {
    let file = if logfile.is_empty() {
        None
    } else {
        Some(
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(logfile)?,
        )
    };
    let l = LOGGER.get_or_init(|| RedisLogger {
        file: Mutex::new(None),
        level: Default::default(),
        syslog: Default::default(),
    });
    use std::os::fd::AsRawFd;
    let fd = file.as_ref().map_or(1, |f| f.as_raw_fd());
    *l.file.lock().unwrap() = file;
    RAW_FD.store(fd, std::sync::atomic::Ordering::Relaxed);
    if let Some((ident, facility)) = syslog {
        open_syslog(ident, facility);
        l.syslog.store(true, std::sync::atomic::Ordering::Relaxed);
    }
    let _ = log::set_logger(l);
    set_level(level);
    Ok(())
}

/// openlog(3) with Redis's options: the pid in every message, the
/// connection opened now (before a chroot or sandbox could hide it).
fn open_syslog(ident: &str, facility: &str) {
    let facility = match facility {
        "user" => libc::LOG_USER,
        "local1" => libc::LOG_LOCAL1,
        "local2" => libc::LOG_LOCAL2,
        "local3" => libc::LOG_LOCAL3,
        "local4" => libc::LOG_LOCAL4,
        "local5" => libc::LOG_LOCAL5,
        "local6" => libc::LOG_LOCAL6,
        "local7" => libc::LOG_LOCAL7,
        _ => libc::LOG_LOCAL0,
    };
    // openlog keeps the pointer: the ident must live as long as the process.
    let ident = std::ffi::CString::new(ident.replace('\0', "")).unwrap_or_default();
    let ident: &'static std::ffi::CStr = Box::leak(ident.into_boxed_c_str());
    // SAFETY: `ident` is a NUL-terminated string that is never freed.
    unsafe {
        libc::openlog(
            ident.as_ptr(),
            libc::LOG_PID | libc::LOG_NDELAY | libc::LOG_NOWAIT,
            facility,
        )
    };
}

/// Sends one message to syslog at the priority Redis maps its level to.
fn to_syslog(level: log::Level, msg: &str) {
    let prio = match level {
        log::Level::Error | log::Level::Warn => libc::LOG_WARNING,
        log::Level::Info => libc::LOG_NOTICE,
        log::Level::Debug => libc::LOG_INFO,
        log::Level::Trace => libc::LOG_DEBUG,
    };
    let Ok(m) = std::ffi::CString::new(msg.replace('\0', "")) else {
        return;
    };
    // SAFETY: a constant "%s" format with one NUL-terminated argument.
    unsafe { libc::syslog(prio, c"%s".as_ptr(), m.as_ptr()) };
}

pub fn set_level(level: &str) {
    log::set_max_level(level_from_name(level));
}

fn civil(secs: i64) -> (i64, u32, u32, u32, u32, u32) {
    // Days to civil date (Howard Hinnant's algorithm), UTC.
    let days = secs.div_euclid(86400);
    let rem = secs.rem_euclid(86400);
    let z = days + 719468;
    let era = z.div_euclid(146097);
    let doe = z - era * 146097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = if m <= 2 { y + 1 } else { y };
    (
        y,
        m,
        d,
        (rem / 3600) as u32,
        ((rem % 3600) / 60) as u32,
        (rem % 60) as u32,
    )
}

/// Set by the offline checkers (`crate::check`): their lines say 'C', as
/// a Redis tool's do.
pub static TOOL_ROLE: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

pub fn format_line(level: log::Level, msg: &str) -> String {
    let role = if TOOL_ROLE.load(std::sync::atomic::Ordering::Relaxed) {
        'C'
    } else if crate::server::IS_REPLICA.load(std::sync::atomic::Ordering::Relaxed) {
        'S'
    } else {
        'M'
    };
    format_line_as(role, level, msg)
}

/// A log line with the given role character ('C' for a child process or
/// an offline tool, as Redis writes it).
pub fn format_line_as(role: char, level: log::Level, msg: &str) -> String {
    let ms = crate::util::now_ms();
    let (y, mo, d, h, mi, s) = civil(ms / 1000);
    const MON: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let c = match level {
        log::Level::Error | log::Level::Warn => '#',
        log::Level::Info => '*',
        log::Level::Debug => '-',
        log::Level::Trace => '.',
    };
    format!(
        "{}:{} {:02} {} {} {:02}:{:02}:{:02}.{:03} {} {}\n",
        std::process::id(),
        role,
        d,
        MON[(mo - 1) as usize],
        y,
        h,
        mi,
        s,
        ms % 1000,
        c,
        msg
    )
}

impl log::Log for RedisLogger {
    fn enabled(&self, m: &log::Metadata) -> bool {
        m.level() <= log::max_level()
    }

    fn log(&self, r: &log::Record) {
        if !self.enabled(r.metadata()) {
            return;
        }
        let msg = r.args().to_string();
        if self.syslog.load(std::sync::atomic::Ordering::Relaxed) {
            to_syslog(r.level(), &msg);
        }
        let line = format_line(r.level(), &msg);
        let mut f = self.file.lock().unwrap();
        match f.as_mut() {
            Some(f) => {
                let _ = f.write_all(line.as_bytes());
            }
            None => {
                let mut o = std::io::stdout().lock();
                let _ = o.write_all(line.as_bytes());
                let _ = o.flush();
            }
        }
    }

    fn flush(&self) {}
}

#[cfg(test)]
mod tests {
    #[test]
    fn civil_dates() {
        assert_eq!(super::civil(0), (1970, 1, 1, 0, 0, 0));
        assert_eq!(super::civil(1_700_000_000), (2023, 11, 14, 22, 13, 20));
    }
}
