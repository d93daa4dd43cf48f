//! `redis-rust [/path/to/redis.conf] [--name value ...]`, invoked like
//! `redis-server`; under the name `redis-rust-check-rdb` (or with
//! `--check-rdb FILE`) it is redis-check-rdb, likewise for check-aof.

use redis_rust::REDIS_VERSION;
use redis_rust::config::Config;
use redis_rust::server::Server;

#[global_allocator]
static ALLOC: redis_rust::alloc::Counting = redis_rust::alloc::Counting;

fn usage() -> ! {
    eprintln!(
        "Usage: ./redis-server [/path/to/redis.conf] [options] [-]\n       ./redis-server - (read config from stdin)\n       ./redis-server -v or --version\n       ./redis-server -h or --help\n\nExamples:\n       ./redis-server (run the server with default conf)\n       ./redis-server /etc/redis/6379.conf\n       ./redis-server --port 7777\n       ./redis-server /etc/myredis.conf --loglevel verbose"
    );
    std::process::exit(1);
}

fn fatal_config(line: usize, text: &str, reason: &str) -> ! {
    eprintln!("\n*** FATAL CONFIG FILE ERROR (Redis {REDIS_VERSION}) ***");
    eprintln!("Reading the configuration file, at line {line}");
    eprintln!(">>> '{text}'");
    eprintln!("{reason}");
    std::process::exit(1);
}

fn main() {
    let argv: Vec<String> = std::env::args().collect();
    // Run as redis-check-rdb / redis-check-aof (by name or option)?
    if let Some(code) = redis_rust::check::dispatch(&argv) {
        std::process::exit(code);
    }
    // Before anything else runs: the title goes where argv was.
    redis_rust::proctitle::init(argv.first().map_or("redis-server", String::as_str));
    let mut cfg = Config::new();
    let mut i = 1;
    let mut text = String::new();
    if argv.len() >= 2 {
        match argv[1].as_str() {
            "-v" | "--version" => {
                println!(
                    "Redis server v={REDIS_VERSION} sha=00000000:0 malloc=libc bits=64 build=redis-rust"
                );
                return;
            }
            "-h" | "--help" => usage(),
            "--test-memory" => {
                eprintln!("--test-memory is not supported by redis-rust");
                std::process::exit(1);
            }
            _ => {}
        }
        if !argv[1].starts_with("--") {
            let path = &argv[1];
            let body = if path == "-" {
                let mut s = String::new();
                let _ = std::io::Read::read_to_string(&mut std::io::stdin(), &mut s);
                s
            } else {
                match std::fs::read_to_string(path) {
                    Ok(s) => s,
                    Err(e) => {
                        eprintln!(
                            "Fatal error, can't open config file '{}': {}",
                            path,
                            redis_rust::util::os_error_text(&e)
                        );
                        std::process::exit(1);
                    }
                }
            };
            cfg.file = std::fs::canonicalize(path)
                .ok()
                .map(|p| p.to_string_lossy().into_owned());
            text.push_str(&body);
            i = 2;
        }
    }
    // Command-line options become config lines appended after the file,
    // so they win, as in Redis: `--name v1 v2` -> `name v1 v2`.
    // As in Redis, `--word` starts a new option only once the previous
    // option got a value; otherwise it is that option's value
    // (`--proc-title-template --my--title`).
    let mut opts = String::new();
    let mut handled_last = true;
    while i < argv.len() {
        let a = &argv[i];
        if handled_last && a.starts_with("--") {
            if !opts.is_empty() {
                opts.push('\n');
            }
            opts.push_str(&a[2..]);
            opts.push(' ');
            let words = redis_rust::resp::parse::split_args(a.as_bytes()).map_or(1, |w| w.len());
            if words == 1 {
                handled_last = false;
                let next_is_opt = argv.get(i + 1).is_some_and(|n| n.starts_with("--"));
                let last = i == argv.len() - 1;
                // `--save` with no value means `save ""`.
                if a.eq_ignore_ascii_case("--save") && (next_is_opt || last) {
                    opts.push_str("\"\"");
                    handled_last = next_is_opt;
                }
            } else {
                handled_last = true;
            }
        } else {
            // Quoted as Redis's sdscatrepr, so the config parser reads it back
            // as one argument.
            opts.push_str(&redis_rust::util::repr(a.as_bytes()));
            opts.push(' ');
            handled_last = true;
        }
        i += 1;
    }
    // Redis joins the file and the options with a newline even without a
    // file, so error line numbers count the same.
    text.push('\n');
    text.push_str(&opts);
    if let Err((line, t, reason)) = cfg.load_text(&text, 0) {
        fatal_config(line, &t, &reason);
    }
    // As Redis: a supervised server stays in the foreground.
    let daemonize =
        cfg.bool("daemonize") && !redis_rust::notify::wants_systemd(cfg.get("supervised"));
    if daemonize {
        daemonize_now();
    }
    if let Err(e) = redis_rust::logging::init(
        cfg.get("logfile"),
        cfg.get("loglevel"),
        cfg.bool("syslog-enabled")
            .then(|| (cfg.get("syslog-ident"), cfg.get("syslog-facility"))),
    ) {
        eprintln!("Can't open the log file: {e}");
        std::process::exit(1);
    }
    redis_rust::crash::install(cfg.bool("crash-log-enabled"));
    let pid = std::process::id();
    log::warn!("oO0OoO0OoO0Oo Redis is starting oO0OoO0OoO0Oo");
    log::warn!(
        "Redis version={}, bits=64, commit=00000000, modified=0, pid={}, just started",
        REDIS_VERSION,
        pid
    );
    if cfg.file.is_none() {
        log::warn!(
            "Warning: no config file specified, using the default config. In order to specify a config file use {} /path/to/redis.conf",
            argv[0]
        );
    } else {
        log::warn!("Configuration loaded");
    }
    redis_rust::notify::init(cfg.get("supervised"));
    log::info!("Running mode=standalone, port={}.", cfg.get("port"));
    log::info!("redis-rust {} PID: {}", REDIS_VERSION, pid);
    let pidfile = cfg.get("pidfile").to_string();
    if daemonize || !pidfile.is_empty() {
        let pf = if pidfile.is_empty() {
            "/var/run/redis_6379.pid".to_string()
        } else {
            pidfile
        };
        let _ = std::fs::write(&pf, format!("{pid}\n"));
    }
    let exe = std::env::current_exe()
        .map(|p| p.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut server = match Server::new(cfg, exe) {
        Ok(s) => s,
        Err(e) => {
            log::warn!("Failed listening on port: {}", e);
            std::process::exit(1);
        }
    };
    if let Err(e) = redis_rust::acl::load_at_startup(&mut server.st.acl, &server.st.cfg) {
        log::warn!("{e}");
        std::process::exit(1);
    }
    let _ = server.st.oom.apply(&server.st.cfg, false);
    if server.st.cfg.bool("set-proc-title") {
        redis_rust::proctitle::update(&server.st.cfg);
    }
    log::warn!("Server initialized");
    // With appendonly on the AOF is the dataset; else the RDB file.
    if !server.load_aof_on_start() {
        let start = std::time::Instant::now();
        match server.load_at_startup() {
            Ok(n) if n > 0 => log::info!(
                "DB loaded from disk: {:.3} seconds ({} keys)",
                start.elapsed().as_secs_f64(),
                n
            ),
            Ok(_) => {}
            Err(e) if e.starts_with("Fatal error") => {
                log::warn!("{e}");
                std::process::exit(1);
            }
            Err(e) => {
                // What Redis's rdbReportError and its redis-check-rdb run log.
                log::warn!("Internal error in RDB reading offset 0, function at rdb.c:0 -> {e}");
                log::warn!("--- RDB ERROR DETECTED ---");
                log::warn!("[offset 0] {e}");
                log::warn!("Terminating server after rdb file reading failure.");
                std::process::exit(1);
            }
        }
    }
    // `appendonly` changed while loading takes effect now.
    if let Err(e) = redis_rust::persist::aof::apply_config(&mut server.st) {
        log::warn!("{e}");
    }
    log::info!("Ready to accept connections tcp");
    redis_rust::notify::ready(server.st.is_replica);
    if let Err(e) = server.run() {
        log::warn!("Event loop failed: {e}");
        std::process::exit(1);
    }
    // Tearing the dataset down value by value would only delay the exit.
    std::process::exit(0);
}

fn daemonize_now() {
    // SAFETY: fork/setsid/dup2 before any thread exists.
    unsafe {
        match libc::fork() {
            -1 => std::process::exit(1),
            0 => {}
            _ => libc::_exit(0),
        }
        libc::setsid();
        let fd = libc::open(c"/dev/null".as_ptr(), libc::O_RDWR);
        if fd != -1 {
            libc::dup2(fd, 0);
            libc::dup2(fd, 1);
            libc::dup2(fd, 2);
            if fd > 2 {
                libc::close(fd);
            }
        }
    }
}
