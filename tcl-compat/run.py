#!/usr/bin/env python3
"""Run the official Redis test suite against our server, one unit at a time.

The suite (fetched by fetch.sh into .cache/redis) starts, restarts and kills
`src/redis-server` itself; that path is a symlink to our binary. Each unit
runs as its own `./runtest --single UNIT --clients 1 --durable` process group
under a wall-clock timeout, so a crash or hang in one unit loses nothing else.

Usage: see usage() below or tcl-compat/README.md.

Outputs (tcl-compat/results/, merged: the latest run of each unit wins):
  tally.tsv   unit, ok, err, exception, timeout (0/1), seconds, exit status
  tests.tsv   unit, status (ok|err|exception|timeout), test name
  logs/UNIT.log             the runtest output of the unit's latest run
  logs/UNIT/server.N/       server stdout/stderr of a unit that failed

A test name can occur several times in a unit (the same test run once per
encoding); a name counts as passing only if every occurrence that ran passed
(the ratchet stops a unit once each listed name has passed once).
"""

import fcntl
import fnmatch
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
SUITE = os.environ.get("TCL_COMPAT_SUITE", os.path.join(HERE, ".cache", "redis"))
RESULTS = os.environ.get("TCL_COMPAT_RESULTS", os.path.join(HERE, "results"))
PASSING = os.environ.get("TCL_COMPAT_PASSING", os.path.join(HERE, "passing.txt"))
EXCLUDED = os.path.join(HERE, "EXCLUDED.md")
FLAKY = os.path.join(HERE, "flaky.txt")
TIMEOUTS = os.path.join(HERE, "timeouts.tsv")
BASELINE = os.environ.get(
    "TCL_COMPAT_BASELINE", os.path.join(REPO, "..", "shared", "tcl-baseline.tsv")
)
SERVER_BIN = os.environ.get(
    "REDIS_SERVER_BIN", os.path.join(REPO, "target", "release", "redis-rust")
)
# The suite's own 8.0 tools (build-redis.sh builds them from the same
# package): it passes them 8.0 options and parses their 8.0 output.
TOOLS_DIR = os.environ.get("REDIS_TOOLS_DIR")
TOOLS = ["redis-cli", "redis-benchmark", "redis-check-aof", "redis-check-rdb"]
DEFAULT_TIMEOUT = int(os.environ.get("TCL_COMPAT_TIMEOUT", "300"))

OK_RE = re.compile(r"^\[ok\]: (.*) \(\d+ ms\)$")
ERR_RE = re.compile(r"^\[err\]: (.*)$")
EXC_RE = re.compile(r"^\[exception\]: (.*)$")
TIMEOUT_RE = re.compile(r"^\[TIMEOUT\]")
IN_FILE_RE = re.compile(r"^(.*) in tests/\S+\.tcl$")
ANSI_RE = re.compile(r"\x1b\[[0-9;]*m")
STARTING_RE = re.compile(r"^### Starting test (.*) in tests/\S+\.tcl$")


def usage():
    print(
        """usage: tcl-compat/run.sh MODE [ARGS] [OPTIONS] [-- RUNTEST-ARGS]

modes:
  all                   every unit of the suite except EXCLUDED.md; tally table
  ratchet               units listed in passing.txt and flaky.txt; exit 1
                        unless every listed test passes (a flaky.txt test
                        that fails gets one rerun of its unit); last line
                        "N passed, M failed"
  update [UNIT...]      run the units (default: all) and add newly passing
                        tests to passing.txt (existing entries are kept;
                        tests listed in flaky.txt stay there instead)
  units UNIT...         run these units; tally table
  unit UNIT             run one unit, streaming its output; tally + failures
  sentinel [UNIT...]    Sentinel suite units (default: those in sentinel.txt)
                        with our server as the monitored masters and
                        replicas, watched by the reference Redis 8.0's
                        Sentinel until ours has one; exit 1 on any failure

options:
  --update              with all/units/unit: also merge passes into passing.txt
  --timeout SECONDS     wall-clock limit per unit (default $TCL_COMPAT_TIMEOUT
                        or 300, raised for units slow in the baseline or
                        listed in timeouts.tsv)
  -- ARGS               extra ./runtest arguments, e.g. -- --only 'INCR*'
                        --dump-logs (with --only, skipped tests are not
                        failures, so do not combine it with ratchet)

environment:
  REDIS_SERVER_BIN      server to test (default target/release/redis-rust)
  REDIS_TOOLS_DIR       directory of redis-cli & co. (default: the Redis 8.0
                        build-redis.sh makes from the suite's package)
  TCL_COMPAT_TIMEOUT    default per-unit timeout in seconds
  TCL_COMPAT_BASELINE   per-unit baseline (default ../shared/tcl-baseline.tsv)
  TCL_COMPAT_RESULTS    results directory (default tcl-compat/results)
  TCL_COMPAT_PASSING    ratchet file (default tcl-compat/passing.txt)
  TCL_COMPAT_SUITE      suite directory (default tcl-compat/.cache/redis); one
                        run at a time per suite directory (runtest cleans
                        tests/tmp, and src/redis-server is re-pointed)

UNIT is a suite path without .tcl, e.g. unit/type/string, integration/rdb."""
    )


# --- Suite setup -------------------------------------------------------------


def check_suite():
    if not os.path.isfile(os.path.join(SUITE, "tests", "test_helper.tcl")):
        sys.exit("tcl-compat: no test suite in %s; run tcl-compat/fetch.sh" % SUITE)
    server = os.path.abspath(SERVER_BIN)
    if not os.access(server, os.X_OK):
        sys.exit("tcl-compat: server %s is missing; run `make build`" % server)
    # The suite runs src/redis-server; point it at the server under test.
    links = {"redis-server": server}
    tools = TOOLS_DIR or suite_tools_dir()
    links.update({t: os.path.join(tools, t) for t in TOOLS})
    for name, target in links.items():
        path = os.path.join(SUITE, "src", name)
        if os.path.islink(path) and os.readlink(path) == target:
            continue
        if os.path.lexists(path):
            os.remove(path)
        os.symlink(target, path)


def suite_tools_dir():
    """Where build-redis.sh put Redis 8.0 (building it the first time)."""
    script = os.path.join(HERE, "build-redis.sh")
    try:
        out = subprocess.run([script], check=True, stdout=subprocess.PIPE, text=True)
    except (OSError, subprocess.CalledProcessError) as e:
        sys.exit("tcl-compat: cannot build the suite's Redis 8.0 tools: %s" % e)
    return os.path.dirname(out.stdout.strip())


def lock_suite():
    """One run at a time: runtest deletes tests/tmp/server.* when it starts."""
    fd = os.open(os.path.join(SUITE, ".run.lock"), os.O_CREAT | os.O_RDWR, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        sys.exit("tcl-compat: another run.sh is using %s; wait for it" % SUITE)
    return fd  # held until exit


def all_units():
    out = subprocess.run(
        ["./runtest", "--list-tests"],
        cwd=SUITE, check=True, capture_output=True, text=True,
    ).stdout
    return [u for u in out.split() if u]


def excluded_patterns():
    """Unit globs from EXCLUDED.md list items ("- `unit/tls`: why") above its
    first "## " heading; the sections below are notes, not exclusions."""
    pats = []
    if os.path.exists(EXCLUDED):
        with open(EXCLUDED) as f:
            for line in f:
                if line.startswith("## "):
                    break
                m = re.match(r"^\s*[-*]\s+`([^`]+)`", line)
                if m:
                    pats.append(m.group(1))
    return pats


def is_excluded(unit, pats):
    return any(fnmatch.fnmatchcase(unit, p) for p in pats)


def load_baseline():
    """unit -> (ok, seconds) of real Redis, if the baseline file exists."""
    base = {}
    try:
        with open(BASELINE) as f:
            for line in f:
                if line.startswith("#") or not line.strip():
                    continue
                cols = line.rstrip("\n").split("\t")
                if len(cols) >= 5:
                    base[cols[0]] = (int(cols[1]), int(cols[4]))
    except OSError:
        pass
    return base


def load_budgets():
    """unit -> seconds from timeouts.tsv: units that take our server longer
    than the default timeout allows. It lives in the repository, so a
    clone without ../shared (no baseline) still gives them their time."""
    budgets = {}
    for row in read_tsv(TIMEOUTS):
        if len(row) >= 2 and row[1].isdigit():
            budgets[row[0]] = int(row[1])
    return budgets


def unit_timeout(unit, opt_timeout, baseline):
    if opt_timeout:
        return opt_timeout
    t = max(DEFAULT_TIMEOUT, BUDGETS.get(unit, 0))
    if unit in baseline:
        t = max(t, 2 * baseline[unit][1] + 60)
    return t


# --- Running one unit ----------------------------------------------------------


class UnitResult:
    def __init__(self, unit):
        self.unit = unit
        self.tests = []  # (status, name) in output order
        self.timeout = 0
        self.stopped_early = False  # ratchet: every listed test had passed
        self.seconds = 0
        self.exit = None

    def count(self, status):
        return sum(1 for s, _ in self.tests if s == status)

    def passing_names(self):
        """Names whose every occurrence passed."""
        bad = {n for s, n in self.tests if s != "ok"}
        return {n for s, n in self.tests if s == "ok" and n not in bad}

    def failures(self):
        return [(s, n) for s, n in self.tests if s != "ok"]


def parse_line(line, res):
    line = ANSI_RE.sub("", line.rstrip("\r\n"))
    m = OK_RE.match(line)
    if m:
        res.tests.append(("ok", clean(m.group(1))))
        return
    m = ERR_RE.match(line)
    if m:
        # "NAME in tests/unit/x.tcl" for a failed test; anything else is an
        # error outside a test (server failed to start, --durable catch in
        # start_server), counted as an exception of the unit.
        t = IN_FILE_RE.match(m.group(1))
        if t:
            res.tests.append(("err", clean(t.group(1))))
        else:
            res.tests.append(("exception", clean(m.group(1))))
        return
    m = EXC_RE.match(line)
    if m:
        res.tests.append(("exception", clean(m.group(1))))
        return
    if TIMEOUT_RE.match(line):
        res.timeout = 1


def clean(name):
    return name.replace("\t", " ").strip()


def test_in_progress():
    """Name of the last test started in any server log of tests/tmp."""
    tmp = os.path.join(SUITE, "tests", "tmp")
    best = (0, None)
    for d in os.listdir(tmp) if os.path.isdir(tmp) else []:
        path = os.path.join(tmp, d, "stdout")
        try:
            mtime = os.path.getmtime(path)
            with open(path, errors="replace") as f:
                names = [m.group(1) for m in map(STARTING_RE.match, f) if m]
        except OSError:
            continue
        if names and mtime > best[0]:
            best = (mtime, names[-1].strip())
    return best[1]


def kill_group(pgid, sig):
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass


# --- Diagnosing a unit that ran out of time --------------------------------------


def group_servers(pgid):
    """(pid, argv) of the servers under test still alive in the process group."""
    target = os.path.realpath(SERVER_BIN)
    found = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                stat = f.read()
            # Fields after the parenthesised command name: state ppid pgrp ...
            fields = stat[stat.rindex(")") + 2:].split()
            if int(fields[2]) != pgid:
                continue
            exe = os.readlink("/proc/%s/exe" % d)
            if exe.removesuffix(" (deleted)") != target:
                continue
            with open("/proc/%s/cmdline" % d, "rb") as f:
                argv = [a.decode(errors="replace") for a in f.read().split(b"\0") if a]
        except (OSError, ValueError, IndexError):
            continue
        found.append((int(d), fields[0], argv))
    return sorted(found)


def server_conf(pid, argv):
    """Port and directory of a running server. The server rewrites its
    process title to `binary host:port` as Redis does, and runs in its
    `dir`, where the suite sends its stdout."""
    port = None
    for word in " ".join(argv).split()[1:]:
        m = re.search(r":(\d+)$", word)
        if m:
            port = int(m.group(1))
            break
    try:
        dirname = os.readlink("/proc/%d/cwd" % pid)
    except OSError:
        dirname = None
    return port, dirname


def ask(port, *args):
    """One command over a fresh connection; the reply's text, or why not."""
    import socket
    req = b"*%d\r\n" % len(args) + b"".join(
        b"$%d\r\n%s\r\n" % (len(a), a.encode()) for a in args)
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2) as s:
            s.sendall(req)
            data = b""
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
                head, _, body = data.partition(b"\r\n")
                if head[:1] == b"$" and len(body) >= int(head[1:]) + 2:
                    return body[:int(head[1:])].decode(errors="replace")
                if head[:1] in (b"+", b"-") and _:
                    return head.decode(errors="replace")
    except (OSError, ValueError) as e:
        return "(no answer: %s)" % e
    return "(connection closed)"


def describe_stuck(pgid, out):
    """What every server of the unit was doing when its time ran out: its
    state, the tail of its log, and the INFO sections a hang shows in
    (persistence: loading and saving; replication: link and offsets;
    clients: who is blocked), so a CI log alone explains the next hang."""
    for pid, state, argv in group_servers(pgid):
        port, dirname = server_conf(pid, argv)
        try:
            with open("/proc/%d/wchan" % pid) as f:
                wchan = f.read().strip()
        except OSError:
            wchan = "?"
        out("--- server pid %d (state %s, wchan %s) port %s dir %s" % (
            pid, state, wchan, port, dirname))
        if dirname:
            try:
                with open(os.path.join(dirname, "stdout"), errors="replace") as f:
                    tail = f.readlines()[-25:]
                out("log tail:\n" + "".join("  " + l for l in tail).rstrip())
            except OSError:
                pass
        if port:
            for section in ("persistence", "replication", "clients"):
                text = ask(port, "INFO", section)
                out("INFO %s: %s" % (section, " ".join(
                    l for l in text.splitlines() if l and not l.startswith("#"))))
            out("CLIENT LIST:\n" + "".join(
                "  " + l + "\n" for l in ask(port, "CLIENT", "LIST").splitlines()).rstrip())


def run_unit(unit, timeout, extra, stream, want=None):
    """Run one unit in its own process group; kill the group on timeout.

    With `want` (a set of test names), stop the unit as soon as each of
    them has passed once: the ratchet needs nothing from the tests after
    them, and units whose later tests wait for features we lack would
    otherwise run into their timeout."""
    res = UnitResult(unit)
    log_path = os.path.join(RESULTS, "logs", unit + ".log")
    os.makedirs(os.path.dirname(log_path), exist_ok=True)
    cmd = ["./runtest", "--single", unit, "--clients", "1", "--durable",
           "--dont-clean", "--timeout", str(timeout)] + extra
    env = dict(os.environ, TERM="dumb")
    start = time.monotonic()
    with open(log_path, "w", buffering=1) as log:  # line-buffered: tail -f works
        log.write("$ cd %s && %s\n" % (SUITE, " ".join(cmd)))
        # Tcl line-buffers stdout even into a pipe, so a unit killed on
        # timeout has still reported every test it finished.
        proc = subprocess.Popen(
            cmd, cwd=SUITE, env=env, stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            start_new_session=True, errors="replace",
        )

        seen = set()

        def reader():
            for line in proc.stdout:
                log.write(line)
                if stream:
                    sys.stdout.write(line)
                    sys.stdout.flush()
                n = len(res.tests)
                parse_line(line, res)
                if want is not None and len(res.tests) > n and res.tests[-1][0] == "ok":
                    seen.add(res.tests[-1][1])
                    if want <= seen:
                        res.stopped_early = True
                        log.write("tcl-compat: every listed test of %s passed; stopping the unit\n" % unit)
                        kill_group(proc.pid, signal.SIGTERM)
                        return

        thread = threading.Thread(target=reader, daemon=True)
        thread.start()
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            res.timeout = 1
            name = test_in_progress() or "(unit timed out)"
            res.tests.append(("timeout", name))
            # A test that starts its own servers (`test {..} {start_server
            # ..}`) is not logged in them, so say what finished last too.
            last = res.tests[-2][1] if len(res.tests) > 1 else "(none)"
            msg = "tcl-compat: %s: killed after %ds, in test: %s (last finished: %s)\n" % (
                unit, timeout, name, last)
            log.write(msg)
            sys.stdout.write(msg)

            def out(text):
                log.write(text + "\n")
                sys.stdout.write(text + "\n")

            describe_stuck(proc.pid, out)
            sys.stdout.flush()
            kill_group(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
        except (KeyboardInterrupt, Terminated):
            kill_group(proc.pid, signal.SIGKILL)
            raise
        finally:
            # Servers and test clients left behind die with the group.
            kill_group(proc.pid, signal.SIGKILL)
            proc.wait()
            thread.join(timeout=10)
    res.exit = proc.returncode
    res.seconds = int(time.monotonic() - start)
    if res.exit < 0 and not res.timeout and not res.stopped_early:
        # Not our doing: something else signalled runtest. (The suite itself
        # sends SIGTERM to server pids it has seen, which the kernel may have
        # reused meanwhile when other suite runs share the machine.)
        msg = "runtest killed by signal %d" % -res.exit
        res.tests.append(("exception", msg))
        print("tcl-compat: %s: %s" % (unit, msg))
    if res.failures():
        keep_server_logs(unit)
    return res


def keep_server_logs(unit):
    """Copy server stdout/stderr of a failed unit out of tests/tmp."""
    tmp = os.path.join(SUITE, "tests", "tmp")
    dest = os.path.join(RESULTS, "logs", unit)
    shutil.rmtree(dest, ignore_errors=True)
    for d in sorted(os.listdir(tmp)) if os.path.isdir(tmp) else []:
        for f in ("stdout", "stderr"):
            src = os.path.join(tmp, d, f)
            if os.path.isfile(src):
                os.makedirs(os.path.join(dest, d), exist_ok=True)
                shutil.copyfile(src, os.path.join(dest, d, f))


# --- Results files ---------------------------------------------------------------


def read_tsv(path):
    try:
        with open(path) as f:
            return [l.rstrip("\n").split("\t") for l in f if l.strip() and not l.startswith("#")]
    except OSError:
        return []


def write_results(results):
    """Merge into tally.tsv / tests.tsv: replace rows of the units just run."""
    os.makedirs(RESULTS, exist_ok=True)
    done = {r.unit for r in results}
    tally = [row for row in read_tsv(os.path.join(RESULTS, "tally.tsv")) if row[0] not in done]
    for r in results:
        tally.append([r.unit, str(r.count("ok")), str(r.count("err")),
                      str(r.count("exception")), str(r.timeout), str(r.seconds), str(r.exit)])
    tally.sort(key=lambda row: row[0])
    with open(os.path.join(RESULTS, "tally.tsv"), "w") as f:
        f.write("# unit\tok\terr\texception\ttimeout\tseconds\texit\n")
        for row in tally:
            f.write("\t".join(row) + "\n")
    tests = [row for row in read_tsv(os.path.join(RESULTS, "tests.tsv")) if row[0] not in done]
    for r in results:
        tests.extend([r.unit, s, n] for s, n in r.tests)
    tests.sort(key=lambda row: row[0])  # stable: keeps run order within a unit
    with open(os.path.join(RESULTS, "tests.tsv"), "w") as f:
        for row in tests:
            f.write("\t".join(row) + "\n")


def print_tally(results, baseline):
    print()
    print("%-42s %5s %5s %5s %5s %6s %9s" % ("unit", "ok", "err", "exc", "tmout", "secs", "baseline"))
    tot = [0, 0, 0, 0, 0, 0]
    for r in results:
        base = baseline.get(r.unit, (None, None))[0]
        row = [r.count("ok"), r.count("err"), r.count("exception"), r.timeout, r.seconds]
        print("%-42s %5d %5d %5d %5d %6d %9s" % (r.unit, *row, "-" if base is None else base))
        tot = [a + b for a, b in zip(tot, row + [base or 0])]
    print("%-42s %5d %5d %5d %5d %6d %9d" % ("TOTAL (%d units)" % len(results), *tot))


def print_failures(results):
    for r in results:
        for s, n in r.failures():
            print("  %s\t[%s]\t%s" % (r.unit, s, n))


# --- passing.txt -------------------------------------------------------------------


def read_passing():
    """Set of (unit, name) from passing.txt ("unit<TAB>name" lines)."""
    entries = set()
    if os.path.exists(PASSING):
        with open(PASSING) as f:
            for line in f:
                line = line.rstrip("\n")
                if not line or line.startswith("#") or "\t" not in line:
                    continue
                unit, name = line.split("\t", 1)
                entries.add((unit, name))
    return entries


def read_flaky():
    """Set of (unit, name) from flaky.txt: ratchet tests whose timing cannot
    be made reliable; `update` never adds them to passing.txt."""
    entries = set()
    if os.path.exists(FLAKY):
        with open(FLAKY) as f:
            for line in f:
                line = line.rstrip("\n")
                if line and not line.startswith("#") and "\t" in line:
                    entries.add(tuple(line.split("\t", 1)))
    return entries


def update_passing(results):
    entries = read_passing()
    before = len(entries)
    flaky = read_flaky()
    for r in results:
        entries.update((r.unit, n) for n in r.passing_names() if (r.unit, n) not in flaky)
    with open(PASSING, "w") as f:
        for unit, name in sorted(entries):
            f.write("%s\t%s\n" % (unit, name))
    print("tcl-compat: passing.txt: %d tests added, %d total" % (len(entries) - before, len(entries)))


# --- Modes ---------------------------------------------------------------------------


def run_units(units, opt_timeout, extra, stream, baseline, wants=None):
    results = []
    try:
        for i, unit in enumerate(units, 1):
            t = unit_timeout(unit, opt_timeout, baseline)
            if not stream:
                print("[%d/%d] %s ..." % (i, len(units), unit), end=" ", flush=True)
            r = run_unit(unit, t, extra, stream, wants.get(unit) if wants else None)
            results.append(r)
            write_results([r])
            if not stream:
                print("ok %d, err %d, exception %d%s (%ds)" % (
                    r.count("ok"), r.count("err"), r.count("exception"),
                    ", TIMEOUT" if r.timeout else "", r.seconds), flush=True)
    except (KeyboardInterrupt, Terminated) as e:
        global INTERRUPTED
        INTERRUPTED = True
        print("\ntcl-compat: interrupted%s; later units not run" % (
            " (SIGTERM)" if isinstance(e, Terminated) else ""), flush=True)
    return results


class Terminated(Exception):
    """SIGTERM, raised in the main thread so the current unit is cleaned up."""


def on_sigterm(signum, frame):
    raise Terminated()


INTERRUPTED = False
BUDGETS = {}


def read_sentinel_units():
    with open(os.path.join(HERE, "sentinel.txt")) as f:
        return [l.strip() for l in f if l.strip() and not l.startswith("#")]


def run_sentinel(units):
    """Runs Sentinel suite units one by one (runtest-sentinel --single),
    streaming their output. The suite starts src/redis-sentinel for the
    sentinels: the reference build's, as ours has no Sentinel mode yet."""
    tools = TOOLS_DIR or suite_tools_dir()
    path = os.path.join(SUITE, "src", "redis-sentinel")
    if os.path.lexists(path):
        os.remove(path)
    os.symlink(os.path.join(tools, "redis-server"), path)
    ok = failed = 0
    bad_units = []
    for unit in units:
        print("tcl-compat: sentinel unit %s" % unit, flush=True)
        proc = subprocess.Popen(["./runtest-sentinel", "--single", unit], cwd=SUITE,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                text=True, errors="replace", start_new_session=True)
        for line in proc.stdout:
            sys.stdout.write(line)
            plain = re.sub(r"\x1b\[[0-9;]*m", "", line)
            if re.match(r"^\d\d:\d\d:\d\d> .*: OK$", plain.rstrip()):
                ok += 1
            elif re.match(r"^\d\d:\d\d:\d\d> .*: FAILED", plain):
                failed += 1
        if proc.wait() != 0:
            bad_units.append(unit)
    print("tcl-compat: sentinel: %d ok, %d failed; units failing: %s" % (
        ok, failed, " ".join(bad_units) or "none"))
    return 1 if bad_units or INTERRUPTED else 0


def main(argv):
    if not argv or argv[0] in ("-h", "--help", "help"):
        usage()
        return 0 if argv else 2
    mode, args = argv[0], argv[1:]
    extra = []
    if "--" in args:
        i = args.index("--")
        args, extra = args[:i], args[i + 1:]
    opt_update = "--update" in args
    args = [a for a in args if a != "--update"]
    opt_timeout = None
    if "--timeout" in args:
        i = args.index("--timeout")
        opt_timeout = int(args[i + 1])
        del args[i:i + 2]
    if any(a.startswith("-") for a in args):
        usage()
        return 2

    signal.signal(signal.SIGTERM, on_sigterm)
    check_suite()
    lock = lock_suite()  # noqa: F841 (held for the whole run)
    baseline = load_baseline()
    BUDGETS.update(load_budgets())
    pats = excluded_patterns()
    known = all_units()

    if mode == "sentinel":
        return run_sentinel(args or read_sentinel_units())

    if mode == "ratchet":
        if args or extra:
            sys.exit("tcl-compat: ratchet takes no arguments")
        flaky = read_flaky()
        # flaky.txt holds tests out of passing.txt but still in the ratchet,
        # with one rerun of their unit when they fail.
        listed = read_passing() | flaky
        units = sorted({u for u, _ in listed})
        print("tcl-compat: ratchet: %d tests in %d units" % (len(listed), len(units)))
        wants = {}
        for u, n in listed:
            wants.setdefault(u, set()).add(n)
        results = run_units(units, opt_timeout, [], False, baseline, wants)
        by_unit = {r.unit: r for r in results}
        passed, failed = 0, []
        for unit, name in sorted(listed):
            r = by_unit.get(unit)
            if r is not None and name in r.passing_names():
                passed += 1
                continue
            statuses = sorted({s for s, n in r.tests if n == name}) if r else []
            failed.append((unit, name, "/".join(statuses) or "not run"))
        retry = {}
        for unit, name, _ in failed:
            if (unit, name) in flaky:
                retry.setdefault(unit, set()).add(name)
        rerun_ok = set()
        if retry and not INTERRUPTED:
            print("\ntcl-compat: rerunning %d flaky test(s) once (flaky.txt): %s" % (
                sum(len(v) for v in retry.values()), ", ".join(sorted(retry))))
            for r in run_units(sorted(retry), opt_timeout, [], False, baseline, retry):
                rerun_ok |= {(r.unit, n) for n in retry[r.unit] if n in r.passing_names()}
                results = [r if x.unit == r.unit else x for x in results]
            for unit, name, why in failed:
                if (unit, name) in rerun_ok:
                    print("  %s\t[%s, then ok on rerun]\t%s" % (unit, why, name))
            passed += len(rerun_ok)
            failed = [f for f in failed if (f[0], f[1]) not in rerun_ok]
        print_tally(results, baseline)
        if failed:
            print("\nListed in passing.txt but did not pass:")
            for unit, name, why in failed:
                print("  %s\t[%s]\t%s" % (unit, why, name))
        new = {r.unit: len({n for n in r.passing_names() if (r.unit, n) not in flaky}
                           - {n for u, n in listed if u == r.unit})
               for r in results}
        new = {u: k for u, k in new.items() if k}
        if new:
            print("\n%d more tests pass than passing.txt lists; add them with "
                  "`tcl-compat/run.sh update %s`" % (sum(new.values()), " ".join(sorted(new))))
        print("%d passed, %d failed" % (passed, len(failed)))
        return 1 if failed else 0

    if mode in ("all", "update") and not args:
        units = [u for u in known if not is_excluded(u, pats)]
    elif mode in ("units", "update", "unit") and args:
        if mode == "unit" and len(args) != 1:
            sys.exit("tcl-compat: unit takes one UNIT; use `units` for several")
        units = [a[:-4] if a.endswith(".tcl") else a for a in args]
        units = [u[len("tests/"):] if u.startswith("tests/") else u for u in units]
        for u in units:
            if not os.path.isfile(os.path.join(SUITE, "tests", u + ".tcl")):
                sys.exit("tcl-compat: no such unit: %s" % u)
            if is_excluded(u, pats):
                print("tcl-compat: warning: %s is excluded (see EXCLUDED.md)" % u)
    else:
        usage()
        return 2

    stream = mode == "unit"
    results = run_units(units, opt_timeout, extra, stream, baseline)
    print_tally(results, baseline)
    if mode == "unit" or mode == "units":
        if any(r.failures() for r in results):
            print("\nFailures:")
            print_failures(results)
    if (mode == "update" or opt_update) and results:
        if extra:
            print("tcl-compat: note: passing.txt updated from a run with runtest args %s" % extra)
        update_passing(results)
    return 1 if INTERRUPTED else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
