#!/usr/bin/env python3
"""`make bench`: redis-rust side by side with Debian's redis-server.

Three phases, each on fresh server instances started with identical settings
on free 127.0.0.1 ports:

  1. throughput: redis-benchmark --csv against both servers, alternating
     ours/redis for every round of every workload; medians of rps, p50, p99
     and server CPU per operation (utime+stime from /proc/PID/stat);
  2. memory: DEBUG POPULATE 1000000 key 10 (or a pipelined SET fill when
     DEBUG POPULATE is missing), bytes per key from INFO used_memory and RSS;
  3. growth stalls: 5,000,000 distinct keys SET through a pipelined socket
     while a second process PINGs every ~1 ms and records its latencies;
  4. elements: bytes per element of one 1,000,000-member hash, set
     (non-integer members), sorted set and list, each loaded through a
     pipeline into a fresh pair of servers (used_memory and RSS deltas).

Stdlib only. See bench/README.md. Environment:
  BENCH_QUICK=1   smoke run: 1 round, 1/10 of the requests and keys;
                  writes bench/results-quick.md instead of bench/results.md
  BENCH_ROUNDS=N  rounds per workload (default 5)
  BENCH_OURS=PATH our binary (default target/release/redis-rust)
  BENCH_OUT=PATH  where to write the markdown table
  BENCH_ONLY=RE   only throughput workloads whose label matches RE
  BENCH_PHASES=L  comma list of phases to run
                  (throughput,memory,growth,elements,small,bgsave)
  BENCH_ELEMENTS=L  comma list of collection kinds for elements (hash,set,zset,list)
"""

import csv
import datetime
import hashlib
import io
import json
import os
import platform
import random
import re
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
QUICK = os.environ.get("BENCH_QUICK", "") not in ("", "0")
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "1" if QUICK else "5"))
SCALE = 0.1 if QUICK else 1.0
OURS_BIN = os.environ.get("BENCH_OURS", os.path.join(ROOT, "target", "release", "redis-rust"))
OUT = os.environ.get(
    "BENCH_OUT", os.path.join(HERE, "results-quick.md" if QUICK else "results.md"))
CLK_TCK = os.sysconf("SC_CLK_TCK")
HOST = "127.0.0.1"
CLIENTS = 50
# Throughput runs pin each server to the last CPU and the load generators
# (redis-benchmark, the subscriber drain) to the others, the same for both
# servers: on 2 cores, letting the scheduler put a server and
# redis-benchmark on one core now and then swung a row's rps by +-25%
# from round to round. BENCH_PIN=0 turns it off.
_CPUS = sorted(os.sched_getaffinity(0))
PIN = os.environ.get("BENCH_PIN", "1") != "0" and len(_CPUS) >= 2
SERVER_CPU, CLIENT_CPUS = _CPUS[-1], set(_CPUS[:-1])
MEM_KEYS = int(1_000_000 * SCALE)
GROWTH_KEYS = int(5_000_000 * SCALE)
CONTROL_KEYS = int(1_000_000 * SCALE)
SETTINGS = ["--save", "", "--appendonly", "no", "--hz", "10", "--maxclients", "10000",
            "--bind", HOST, "--daemonize", "no", "--enable-debug-command", "yes"]

# (label, redis-benchmark -t test, -P, -d, -r, requests at full scale)
# Requests are sized so one run takes roughly 2-3 s on a 2-core machine.
N1, N16 = 80_000, 600_000
WORKLOADS = []
for _t, _d, _r, _label, _f in [
    ("ping_mbulk", None, None, "PING_MBULK", 1.0),
    ("set", 3, None, "SET 3B", 1.0),
    ("get", 3, None, "GET 3B", 1.0),
    ("incr", None, None, "INCR", 1.0),
    ("mset", 3, None, "MSET (10 keys)", 0.5),
    ("set", 1024, None, "SET 1KiB", 0.6),
    ("get", 1024, None, "GET 1KiB", 0.8),
    ("set", 3, 1_000_000, "SET 3B -r 1M", 1.0),
    ("get", 3, 1_000_000, "GET 3B -r 1M", 1.0),
]:
    for _p, _n in ((1, N1), (16, N16)):
        WORKLOADS.append((f"{_label} -P {_p}", _t, _p, _d, _r, max(1000, int(_n * _f * SCALE))))

# Collection rows (issue 4). `test` is a redis-benchmark -t name, or a list
# (a custom command, for what Debian's 7.0 redis-benchmark lacks or runs
# with a fill of its own). PREFILL[label] runs on a flushed server before
# every round, so pops and ranges never meet an empty key.
PREFILL = {}
for _t, _r, _label, _f, _pre in [
    ("lpush", None, "LPUSH", 1.0, None),
    ("rpush", None, "RPUSH", 1.0, None),
    ("lpop", None, "LPOP", 1.0, ("list", "mylist", "n")),
    ("rpop", None, "RPOP", 1.0, ("list", "mylist", "n")),
    # -t lrange_100 would first run an LPUSH fill of -n requests on the same
    # clock, so the range runs as a custom command on a prefilled list.
    (["lrange", "mylist", "0", "99"], None, "LRANGE_100", 0.25, ("list", "mylist", 600)),
    (["lrange", "mylist", "0", "599"], None, "LRANGE_600", 0.08, ("list", "mylist", 600)),
    ("sadd", 1_000_000, "SADD", 1.0, None),
    ("spop", None, "SPOP", 1.0, ("set", "myset", "n")),
    ("hset", 1_000_000, "HSET", 1.0, None),
    ("zadd", 1_000_000, "ZADD", 1.0, None),
    (["zpopmin", "myzset"], None, "ZPOPMIN", 1.0, ("zset", "myzset", "n")),
]:
    for _p, _n in ((1, N1), (16, N16)):
        WORKLOADS.append((f"{_label} -P {_p}", _t, _p, None, _r, max(1000, int(_n * _f * SCALE))))
        if _pre:
            PREFILL[f"{_label} -P {_p}"] = _pre

# Issue 6 rows: streams, HyperLogLog, bitmaps, geo.
for _t, _r, _label, _f, _pre in [
    (["xadd", "bench:stream", "*", "field", "value"], None, "XADD", 1.0, None),
    (["xread", "count", "10", "streams", "bench:stream", "0"], None, "XREAD (10 entries)", 0.5,
     ("stream", "bench:stream", 100)),
    (["pfadd", "bench:hll", "__rand_int__"], 1_000_000, "PFADD", 1.0, None),
    # redis-benchmark pads __rand_int__ with zeros, which a bit offset may
    # not have: a fixed offset past the first megabit.
    (["setbit", "bench:bits", "1048577", "1"], None, "SETBIT", 1.0, None),
    (["geoadd", "bench:geo", "13.361389", "38.115556", "member:__rand_int__"], 1_000_000,
     "GEOADD", 1.0, None),
]:
    for _p, _n in ((1, N1), (16, N16)):
        WORKLOADS.append((f"{_label} -P {_p}", _t, _p, None, _r, max(1000, int(_n * _f * SCALE))))
        if _pre:
            PREFILL[f"{_label} -P {_p}"] = _pre

# PUBLISH rows (issue 5): SUBSCRIBERS[label] connections subscribe to the
# channel before each run, in a separate process that only drains them.
SUBSCRIBERS = {}
for _subs, _f in ((1, 1.0), (50, 0.25)):
    for _p, _n in ((1, N1), (16, N16)):
        _label = f"PUBLISH {_subs} sub{'s' if _subs > 1 else ''} -P {_p}"
        WORKLOADS.append((_label, ["publish", "bench:chan", "hello"], _p, None, None,
                          max(1000, int(_n * _f * SCALE))))
        SUBSCRIBERS[_label] = _subs

# EVALSHA row (issue 8): a 3-command script, loaded with SCRIPT LOAD
# before each run (its SHA1 is the same on both servers).
EVAL_SCRIPT = ("redis.call('SET', KEYS[1], ARGV[1]) "
               "redis.call('INCR', KEYS[2]) "
               "return redis.call('GET', KEYS[1])")
EVAL_SHA = hashlib.sha1(EVAL_SCRIPT.encode()).hexdigest()
SCRIPTS = {}
for _p, _n in ((1, N1), (16, N16)):
    _label = f"EVALSHA (3 commands) -P {_p}"
    WORKLOADS.append((_label, ["evalsha", EVAL_SHA, "2", "bench:{s}k", "bench:{s}n", "v"],
                      _p, None, None, max(1000, int(_n * 0.5 * SCALE))))
    SCRIPTS[_label] = EVAL_SCRIPT

if os.environ.get("BENCH_ONLY"):
    WORKLOADS = [w for w in WORKLOADS if re.search(os.environ["BENCH_ONLY"], w[0])]
PHASES = set(os.environ.get("BENCH_PHASES",
                            "throughput,memory,growth,elements,small,bgsave").split(","))
SMALL_COUNT = int(100_000 * SCALE)
# BGSAVE phase datasets: (label, string keys from DEBUG POPULATE, collections
# of each kind (hash, set, zset, list) with 8 elements each).
BGSAVE_SETS = [("1M keys, mixed types", int(600_000 * SCALE), int(100_000 * SCALE)),
               ("10M small strings", int(10_000_000 * SCALE), 0)]
ELEM_COUNT = int(1_000_000 * SCALE)
ELEM_KINDS = tuple(os.environ.get("BENCH_ELEMENTS", "hash,set,zset,list").split(","))


def log(*a):
    print(*a, file=sys.stderr, flush=True)


# ---------------------------------------------------------------- RESP client

def resp_encode(*args):
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        if not isinstance(a, bytes):
            a = str(a).encode()
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)


class RespError(Exception):
    pass


class Client:
    def __init__(self, port, timeout=600):
        self.sock = socket.create_connection((HOST, port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.f = self.sock.makefile("rb")

    def close(self):
        try:
            self.f.close()
            self.sock.close()
        except OSError:
            pass

    def _read(self):
        line = self.f.readline()
        if not line:
            raise ConnectionError("server closed the connection")
        t, rest = line[:1], line[1:-2]
        if t == b"+":
            return rest.decode()
        if t == b"-":
            return RespError(rest.decode())
        if t == b":":
            return int(rest)
        if t == b"$":
            n = int(rest)
            if n < 0:
                return None
            data = self.f.read(n + 2)
            return data[:-2].decode(errors="replace")
        if t == b"*":
            n = int(rest)
            return None if n < 0 else [self._read() for _ in range(n)]
        if t in (b"_",):
            return None
        return rest.decode(errors="replace")

    def call(self, *args):
        """Reply, or a RespError instance (not raised) for an error reply."""
        self.sock.sendall(resp_encode(*args))
        return self._read()


# ---------------------------------------------------------------- servers

def free_ports(n):
    socks = []
    for _ in range(n):
        s = socket.socket()
        s.bind((HOST, 0))
        socks.append(s)
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


class Server:
    def __init__(self, name, binary, port, tmp):
        self.name, self.binary, self.port = name, binary, port
        self.dir = tempfile.mkdtemp(prefix=name + "-", dir=tmp)
        self.log = os.path.join(self.dir, "server.log")
        self.proc = None

    def start(self):
        argv = [self.binary, "--port", str(self.port), "--dir", self.dir,
                "--logfile", self.log] + SETTINGS
        with open(os.path.join(self.dir, "stdout.log"), "wb") as out:
            self.proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL, start_new_session=True)
        deadline = time.time() + 15
        while time.time() < deadline:
            if self.proc.poll() is not None:
                break
            try:
                c = Client(self.port, timeout=2)
                r = c.call("PING")
                c.close()
                if r == "PONG":
                    return self
            except OSError:
                pass
            time.sleep(0.05)
        tail = ""
        for p in (self.log, os.path.join(self.dir, "stdout.log")):
            try:
                tail += open(p, errors="replace").read()[-2000:]
            except OSError:
                pass
        self.stop()
        raise RuntimeError(f"{self.name} did not start on port {self.port}:\n{tail}")

    def stop(self):
        p, self.proc = self.proc, None
        if p is None or p.poll() is not None:
            return
        try:
            os.killpg(p.pid, signal.SIGTERM)
        except OSError:
            p.terminate()
        try:
            p.wait(5)
        except subprocess.TimeoutExpired:
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except OSError:
                p.kill()
            p.wait(5)

    def cpu_ticks(self):
        with open(f"/proc/{self.proc.pid}/stat") as f:
            s = f.read()
        fields = s[s.rindex(")") + 2:].split()
        # fields[0] is field 3 (state); utime/stime are fields 14/15.
        return int(fields[11]) + int(fields[12])

    def rss(self):
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
        return None

    def info_field(self, section, field):
        try:
            c = Client(self.port, timeout=30)
            r = c.call("INFO", section)
            c.close()
        except OSError:
            return None
        if not isinstance(r, str):
            return None
        for line in r.splitlines():
            if line.startswith(field + ":"):
                try:
                    return int(line.split(":", 1)[1])
                except ValueError:
                    return None
        return None

    def dbsize(self):
        c = Client(self.port)
        r = c.call("DBSIZE")
        c.close()
        return r if isinstance(r, int) else None


# ---------------------------------------------------------------- helpers

def ensure_redis():
    need = [b for b in ("redis-server", "redis-benchmark", "redis-cli") if not shutil.which(b)]
    if not need:
        return
    log(f"installing Debian's redis-server and redis-tools (missing: {', '.join(need)})")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    sudo = [] if os.geteuid() == 0 else ["sudo"]
    subprocess.run(sudo + ["apt-get", "update"], check=True, env=env)
    subprocess.run(sudo + ["apt-get", "install", "-y", "redis-server", "redis-tools"],
                   check=True, env=env)


def raise_nofile():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = 10_100 if hard == resource.RLIM_INFINITY else min(hard, max(soft, 10_100))
    if soft < want:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
        except (ValueError, OSError):
            pass


def version_of(server):
    try:
        c = Client(server.port, timeout=5)
        r = c.call("INFO", "server")
        c.close()
        if isinstance(r, str):
            for line in r.splitlines():
                if line.startswith("redis_version:"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "?"


# Runs in its own process (the benchmark's own Python must not steal the
# drain's CPU through the GIL): subscribes argv[2] sockets to the channel,
# prints "ready", drains until stdin closes, then prints how many sockets
# the server closed meanwhile.
_DRAIN = r"""
import selectors, socket, sys
port, n, chan = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3].encode()
sel = selectors.DefaultSelector()
socks = []
for _ in range(n):
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(b"*2\r\n$9\r\nSUBSCRIBE\r\n$%d\r\n%s\r\n" % (len(chan), chan))
    got = b""
    while got.count(b"\r\n") < 6:
        got += s.recv(4096)
    s.setblocking(False)
    sel.register(s, selectors.EVENT_READ)
    socks.append(s)
sel.register(sys.stdin, selectors.EVENT_READ)
print("ready", flush=True)
buf = bytearray(1 << 20)
closed = 0
while True:
    for key, _ in sel.select():
        if key.fileobj is sys.stdin:
            print(closed, flush=True)
            sys.exit(0)
        try:
            if key.fileobj.recv_into(buf) == 0:
                sel.unregister(key.fileobj)
                closed += 1
        except BlockingIOError:
            pass
"""


class Subscribers:
    """`n` subscribers of bench:chan, drained by a helper process."""

    def __init__(self, port, n):
        self.p = subprocess.Popen([sys.executable, "-c", _DRAIN, str(port), str(n), "bench:chan"],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        if self.p.stdout.readline().strip() != "ready":
            raise RuntimeError("subscriber process failed to start")

    def stop(self):
        """Stops draining; returns how many subscribers the server dropped."""
        self.p.stdin.close()
        out = self.p.stdout.readline().strip()
        self.p.wait(10)
        return int(out) if out.isdigit() else None


def run_benchmark(server, wl):
    label, test, pipe, size, rnd, n = wl
    argv = ["redis-benchmark", "-h", HOST, "-p", str(server.port), "-c", str(CLIENTS),
            "-n", str(n), "-P", str(pipe), "--csv"]
    argv += list(test) if isinstance(test, (list, tuple)) else ["-t", test]
    opts = []
    if size is not None:
        opts += ["-d", str(size)]
    if rnd is not None:
        opts += ["-r", str(rnd)]
    argv[argv.index("--csv") + 1:argv.index("--csv") + 1] = opts
    if label in PREFILL:
        prefill(server.port, PREFILL[label], n)
    if label in SCRIPTS:
        c = Client(server.port)
        sha = c.call("SCRIPT", "LOAD", SCRIPTS[label])
        c.close()
        if sha != EVAL_SHA:
            log(f"  {server.name} {label}: SCRIPT LOAD answered {sha!r}")
    subs = Subscribers(server.port, SUBSCRIBERS[label]) if label in SUBSCRIBERS else None
    t0 = server.cpu_ticks()
    w0 = time.time()
    with tempfile.TemporaryFile("w+") as fo, tempfile.TemporaryFile("w+") as fe:
        p = subprocess.Popen(argv, stdout=fo, stderr=fe, stdin=subprocess.DEVNULL, text=True)
        # redis-benchmark spins forever on a dead server: watch both.
        while p.poll() is None:
            if server.proc.poll() is not None or time.time() - w0 > 300:
                p.kill()
                p.wait()
                break
            time.sleep(0.05)
        fo.seek(0)
        fe.seek(0)
        out, err = fo.read(), fe.read()
    wall = time.time() - w0
    if server.proc.poll() is not None:
        raise RuntimeError(f"{server.name} died during {label}; see {server.log}")
    cpu = (server.cpu_ticks() - t0) / CLK_TCK
    if subs is not None:
        lost = subs.stop()
        if lost:
            log(f"  {server.name} {label}: {lost} subscriber(s) disconnected during the run")
    rows = list(csv.reader(io.StringIO(out)))
    if len(rows) >= 2 and rows[0][:2] == ["test", "rps"]:
        hdr, row = rows[0], rows[1]
        d = dict(zip(hdr, row))
        try:
            return {"rps": float(d["rps"]), "p50": float(d["p50_latency_ms"]),
                    "p99": float(d["p99_latency_ms"]), "cpu_us": cpu * 1e6 / n, "wall": wall}
        except (KeyError, ValueError):
            pass
    log(f"  {server.name} {label}: no CSV result ({(err or out).strip()[:300]})")
    return None


def med(runs, key):
    vals = [r[key] for r in runs if r]
    return statistics.median(vals) if vals else None


def ratio(a, b):
    if a is None or b is None or b == 0:
        return None
    return a / b


def fmt(x, spec):
    return "n/a" if x is None else format(x, spec)


# ---------------------------------------------------------------- fill / ping

def fill_batch(start, count, vsize):
    out = []
    for i in range(start, start + count):
        k = b"key:%d" % i
        v = (b"value:%d" % i)[:vsize].ljust(vsize, b"\0")
        out.append(b"*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n" % (len(k), k, len(v), v))
    return b"".join(out)


def pipelined_fill(port, nkeys, vsize=10, batch=10_000, window=4):
    """SET key:0..nkeys-1 through one socket, at most `window` batches in
    flight. Returns (seconds, error replies). Values mimic DEBUG POPULATE's."""
    s = socket.create_connection((HOST, port), timeout=600)
    sent = read = errors = 0
    pending = b""
    t0 = time.time()

    def read_until(target):
        nonlocal pending, read, errors
        while read < target:
            data = s.recv(1 << 20)
            if not data:
                raise ConnectionError("server closed the connection during the fill")
            pending += data
            lines = pending.split(b"\r\n")
            pending = lines.pop()
            read += len(lines)  # one line per SET reply (+OK or -ERR ...)
            errors += sum(1 for ln in lines if ln.startswith(b"-"))

    for start in range(0, nkeys, batch):
        cnt = min(batch, nkeys - start)
        s.sendall(fill_batch(start, cnt, vsize))
        sent += cnt
        read_until(sent - window * batch)
    read_until(sent)
    s.close()
    return time.time() - t0, errors


def collection_batch(kind, key, start, count, per_cmd=100):
    """Commands adding members start..start+count-1 to `key`, `per_cmd` a
    command: non-integer members, 10-byte-ish values as in pipelined_fill."""
    out = []
    for s in range(start, start + count, per_cmd):
        idx = range(s, min(s + per_cmd, start + count))
        if kind == "list":
            args = [b"RPUSH", key] + [b"value:%d" % i for i in idx]
        elif kind == "set":
            args = [b"SADD", key] + [b"member:%d" % i for i in idx]
        elif kind == "zset":
            args = [b"ZADD", key]
            for i in idx:
                args += [b"%d" % i, b"member:%d" % i]
        else:
            args = [b"HSET", key]
            for i in idx:
                args += [b"field:%d" % i, b"value:%d" % i]
        out.append(resp_encode(*args))
    return b"".join(out)


def collection_fill(port, kind, key, nelems, batch=10_000, window=4):
    """Adds nelems members to one collection key through one pipelined
    socket (100 members a command, `window` batches in flight)."""
    s = socket.create_connection((HOST, port), timeout=600)
    sent = 0
    st = {"read": 0, "pending": b"", "errors": []}

    def drain_until(n):
        while st["read"] < n:
            data = s.recv(1 << 20)
            if not data:
                raise ConnectionError("server closed the connection during the fill")
            lines = (st["pending"] + data).split(b"\r\n")
            st["pending"] = lines.pop()
            st["read"] += len(lines)
            st["errors"] += [ln for ln in lines if ln.startswith(b"-")]

    for start in range(0, nelems, batch):
        cnt = min(batch, nelems - start)
        s.sendall(collection_batch(kind, key, start, cnt))
        sent += (cnt + 99) // 100
        drain_until(sent - window * (batch // 100))
    drain_until(sent)
    errors = st["errors"]
    s.close()
    if errors:
        raise RuntimeError(f"fill of {kind} {key}: {errors[0][:200]!r}")


def prefill(port, spec, n):
    """FLUSHALL, then fill collection `spec` = (kind, key, count or "n")."""
    kind, key, count = spec
    c = Client(port)
    c.call("FLUSHALL")
    if kind == "stream":
        for i in range(n if count == "n" else count):
            c.call("XADD", key, "*", "field", "value:%d" % i)
        c.close()
        return
    c.close()
    collection_fill(port, kind, key.encode(), n if count == "n" else count)


def phase_elements_one(server, kind):
    """Loads one ELEM_COUNT-member collection; bytes per element."""
    time.sleep(0.3)
    base_used = server.info_field("memory", "used_memory")
    base_rss = server.rss()
    t0 = time.time()
    collection_fill(server.port, kind, b"big" + kind.encode(), ELEM_COUNT)
    secs = time.time() - t0
    time.sleep(0.5)
    used = server.info_field("memory", "used_memory")
    rss = server.rss()
    c = Client(server.port)
    enc = c.call("OBJECT", "ENCODING", "big" + kind)
    c.close()
    res = {"secs": secs, "encoding": enc if isinstance(enc, str) else "?",
           "used": None if used is None or base_used is None else (used - base_used) / ELEM_COUNT,
           "rss": None if rss is None or base_rss is None else (rss - base_rss) / ELEM_COUNT}
    log(f"  {server.name}: {kind} ({res['encoding']}) {ELEM_COUNT} members in {secs:.1f}s, "
        f"used_memory/elem {fmt(res['used'], '.1f')}, rss/elem {fmt(res['rss'], '.1f')}")
    return res


def elements_section(L, elems, flags):
    L.append(f"## Bytes per element: one {ELEM_COUNT:,}-member collection")
    L.append("")
    L.append("Members `field:N`/`value:N` (hash), `member:N` (set, sorted set with score N), "
             "`value:N` (list), 100 a command through one pipelined socket; a fresh pair of "
             "servers for each type.")
    L.append("")
    L.append("| type | ours encoding | ours used_memory B/elem | redis used_memory B/elem | ratio | "
             "ours RSS B/elem | redis RSS B/elem | ratio |")
    L.append("|---|---|--:|--:|--:|--:|--:|--:|")
    for kind in ELEM_KINDS:
        if kind not in elems:
            continue
        o, r = elems[kind]["ours"], elems[kind]["redis"]
        ur, rr = ratio(o["used"], r["used"]), ratio(o["rss"], r["rss"])
        uf = " !" if ur is not None and ur > 1.0 else ""
        rf = " !" if rr is not None and rr > 1.0 else ""
        L.append(f"| {kind} | {o['encoding']} | {fmt(o['used'], '.1f')} | {fmt(r['used'], '.1f')} | "
                 f"{fmt(ur, '.2f')}{uf} | {fmt(o['rss'], '.1f')} | {fmt(r['rss'], '.1f')} | "
                 f"{fmt(rr, '.2f')}{rf} |")
        for x, what in ((ur, "used_memory"), (rr, "RSS")):
            if x is not None and x > 1.0:
                flags.append(f"{kind}: {what} bytes/element ratio {x:.2f}")
    L.append("")


def pinger_main(port):
    """Child process: PING every ~1 ms until SIGTERM, then print JSON stats."""
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    s = socket.create_connection((HOST, port), timeout=60)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    msg = resp_encode("PING")
    lat = []
    print("ready", flush=True)
    while not stop:
        t0 = time.perf_counter()
        s.sendall(msg)
        buf = b""
        while not buf.endswith(b"\r\n"):
            d = s.recv(64)
            if not d:
                stop.append(1)
                break
            buf += d
        lat.append(time.perf_counter() - t0)
        time.sleep(0.001)
    lat.sort()
    res = {"count": len(lat)}
    if lat:
        res.update(max_ms=lat[-1] * 1e3, p99_ms=lat[int(len(lat) * 0.99)] * 1e3,
                   p50_ms=lat[len(lat) // 2] * 1e3)
    print(json.dumps(res), flush=True)


def writer_main(port, nkeys):
    """Child process: overwrite random existing string keys, 100 SETs every
    5 ms (about 20k writes/s), until SIGTERM; then print how many."""
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    s = socket.create_connection((HOST, port), timeout=60)
    rng = random.Random(7)
    n = 0
    print("ready", flush=True)
    while not stop:
        batch = b"".join(resp_encode("SET", f"key:{rng.randrange(nkeys)}", "x" * 10)
                         for _ in range(100))
        s.sendall(batch)
        got = 0
        buf = b""
        while got < 100:
            d = s.recv(65536)
            if not d:
                stop.append(1)
                break
            buf += d
            got = buf.count(b"\r\n")
        n += 100
        time.sleep(0.005)
    print(json.dumps({"writes": n}), flush=True)


def tree_pss(pid):
    """Proportional set size of a process and its children (Redis's fork
    child shares pages with its parent; PSS counts each page once)."""
    pids = [pid]
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/stat") as f:
                    st = f.read()
                if int(st[st.rindex(")") + 2:].split()[1]) == pid:
                    pids.append(int(d))
            except (OSError, ValueError):
                pass
    total = 0
    for p in pids:
        try:
            with open(f"/proc/{p}/smaps_rollup") as f:
                for line in f:
                    if line.startswith("Pss:"):
                        total += int(line.split()[1]) * 1024
        except OSError:
            pass
    return total


def small_fill(port, colls, kinds=("hash", "set", "zset", "list")):
    """`colls` collections of 8 short elements of each kind, through one
    pipelined socket (5,000 commands a batch)."""
    sock = socket.create_connection((HOST, port), timeout=600)
    for kind in kinds:
        cmd = {"hash": "HSET", "set": "SADD", "zset": "ZADD", "list": "RPUSH"}[kind]
        for start in range(0, colls, 5000):
            out = []
            for i in range(start, min(colls, start + 5000)):
                args = [cmd, f"{kind}:{i}"]
                for j in range(8):
                    if kind == "hash":
                        args += [f"field{j}", f"value{j}"]
                    elif kind == "zset":
                        args += [str(j), f"member{j}"]
                    else:
                        args.append(f"element{j}")
                out.append(resp_encode(*args))
            sock.sendall(b"".join(out))
            want, buf = len(out), b""
            while buf.count(b"\r\n") < want:
                buf += sock.recv(1 << 20)
    sock.close()


def phase_small_one(server, kind):
    """used_memory per small collection (8 short elements: the compact
    encodings) of one kind, on a fresh server."""
    time.sleep(0.3)
    base = server.info_field("memory", "used_memory")
    small_fill(server.port, SMALL_COUNT, (kind,))
    time.sleep(0.3)
    used = server.info_field("memory", "used_memory")
    per = None if used is None or base is None else (used - base) / SMALL_COUNT
    log(f"  {server.name}: {SMALL_COUNT} small {kind}es: used_memory/collection {fmt(per, '.1f')}")
    return per


def small_section(L, small, flags):
    L.append(f"## Small collections: {SMALL_COUNT:,} of each kind, 8 short elements each")
    L.append("")
    L.append("used_memory per collection, keyspace entry included (the listpack/intset-sized "
             "encodings most real datasets are made of).")
    L.append("")
    L.append("| kind | ours B | redis B | ratio |")
    L.append("|---|--:|--:|--:|")
    for kind, r in small.items():
        x = ratio(r["ours"], r["redis"])
        L.append(f"| {kind} | {fmt(r['ours'], '.1f')} | {fmt(r['redis'], '.1f')} | "
                 f"{fmt(x, '.2f')}{' !' if x and x > 1 else ''} |")
        if x is not None and x > 1.0:
            flags.append(f"small {kind}: bytes per collection ratio {x:.2f}")
    L.append("")


def bgsave_fill(server, strings, colls):
    c = Client(server.port, timeout=600)
    r = c.call("DEBUG", "POPULATE", strings, "key", 10)
    c.close()
    if r != "OK":
        pipelined_fill(server.port, strings, 10)
    if colls:
        small_fill(server.port, colls)


def phase_bgsave_one(server, label, strings, colls):
    """BGSAVE of one dataset under a write load: worst PING latency while it
    starts and runs, and the peak extra memory (PSS of the server and its
    children over the PSS just before)."""
    bgsave_fill(server, strings, colls)
    keys = server.dbsize()
    c = Client(server.port, timeout=60)
    c.call("SAVE")  # a baseline file: both servers overwrite one of the same kind
    ping = subprocess.Popen([sys.executable, os.path.abspath(__file__), "--pinger", str(server.port)],
                            stdout=subprocess.PIPE, text=True)
    wr = subprocess.Popen([sys.executable, os.path.abspath(__file__), "--writer", str(server.port),
                           str(strings)], stdout=subprocess.PIPE, text=True)
    try:
        for p in (ping, wr):
            if p.stdout.readline().strip() != "ready":
                raise RuntimeError("bgsave load process did not start")
        time.sleep(1.0)
        base = tree_pss(server.proc.pid)
        peak = base
        t0 = time.time()
        c.call("BGSAVE")
        while True:
            peak = max(peak, tree_pss(server.proc.pid))
            r = c.call("INFO", "persistence")
            if isinstance(r, str) and "rdb_bgsave_in_progress:0" in r:
                break
            time.sleep(0.02)
        secs = time.time() - t0
        ok = isinstance(r, str) and "rdb_last_bgsave_status:ok" in r
        time.sleep(0.3)
        for p in (ping, wr):
            p.send_signal(signal.SIGTERM)
        pres = json.loads(ping.communicate(timeout=30)[0].strip().splitlines()[-1])
        wres = json.loads(wr.communicate(timeout=30)[0].strip().splitlines()[-1])
    finally:
        for p in (ping, wr):
            if p.poll() is None:
                p.kill()
                p.wait()
        c.close()
    res = {"label": label, "keys": keys, "secs": secs, "ok": ok, "base": base,
           "extra": peak - base, "writes": wres["writes"], **pres}
    log(f"  {server.name}: {label}: {keys} keys, BGSAVE {secs:.1f}s ({'ok' if ok else 'FAILED'}), "
        f"worst ping {fmt(pres.get('max_ms'), '.2f')} ms, extra memory "
        f"{(peak - base) / 1e6:.1f} MB, {wres['writes']} writes meanwhile")
    return res


def bgsave_section(L, bg, flags):
    L.append("## BGSAVE under a write load")
    L.append("")
    L.append("Each dataset is loaded into a fresh server; then a client overwrites random string "
             "keys (about 20k SETs/s) and another PINGs every ~1 ms while BGSAVE runs. Redis "
             "forks; we serialize in the reactor between events (serialize-before-mutate) and "
             "a helper thread writes. Extra memory: peak PSS of the server and its children "
             "during the save, minus PSS just before it.")
    L.append("")
    L.append("| dataset | | keys | BGSAVE s | pings | ping p99 ms | worst ping ms | "
             "extra memory MB | PSS before MB |")
    L.append("|---|---|--:|--:|--:|--:|--:|--:|--:|")
    for label, _, _ in BGSAVE_SETS:
        for name in ("ours", "redis"):
            g = bg.get(label, {}).get(name)
            if not g:
                continue
            L.append(f"| {label} | {name} | {fmt(g['keys'], ',')} | {g['secs']:.1f}"
                     f"{'' if g['ok'] else ' (failed)'} | {g['count']:,} | "
                     f"{fmt(g.get('p99_ms'), '.3f')} | {fmt(g.get('max_ms'), '.2f')} | "
                     f"{g['extra'] / 1e6:.1f} | {g['base'] / 1e6:.1f} |")
        o, r = bg.get(label, {}).get("ours"), bg.get(label, {}).get("redis")
        if o and r:
            wr = ratio(o.get("max_ms"), r.get("max_ms"))
            mr = ratio(max(o["extra"], 1), max(r["extra"], 1))
            L.append(f"| {label} | ratio ours/redis | | | | | {fmt(wr, '.2f')}"
                     f"{' !' if wr and wr > 1 else ''} | {fmt(mr, '.2f')}"
                     f"{' !' if mr and mr > 1 else ''} | |")
            if wr is not None and wr > 1.0:
                flags.append(f"BGSAVE {label}: worst ping ratio {wr:.2f}")
            if mr is not None and mr > 1.0:
                flags.append(f"BGSAVE {label}: extra memory ratio {mr:.2f}")
            if not (o["ok"] and r["ok"]):
                flags.append(f"BGSAVE {label}: a save failed")
    L.append("")


# ---------------------------------------------------------------- phases

def pin_process(pid, cpus):
    """Pins every thread of a process (threads started later inherit it)."""
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            os.sched_setaffinity(int(tid), cpus)
        except OSError:
            pass


def phase_throughput(servers):
    if PIN:
        for s in servers:
            pin_process(s.proc.pid, {SERVER_CPU})
        # redis-benchmark and the subscriber process inherit this.
        os.sched_setaffinity(0, CLIENT_CPUS)
    try:
        return throughput_rows(servers)
    finally:
        if PIN:
            os.sched_setaffinity(0, set(_CPUS))
            for s in servers:
                if s.proc.poll() is None:
                    pin_process(s.proc.pid, set(_CPUS))


def throughput_rows(servers):
    results = []
    for wl in WORKLOADS:
        runs = {s.name: [] for s in servers}
        for rnd in range(ROUNDS):
            # A B, B A, A B ...: whatever the run before leaves behind (a
            # warm page cache, the drain process's start, the scheduler's
            # state) falls on each server in turn, not always on the second.
            for s in (servers if rnd % 2 == 0 else servers[::-1]):
                runs[s.name].append(run_benchmark(s, wl))
        o, r = runs["ours"], runs["redis"]
        row = {"label": wl[0], "n": wl[5],
               "ours": {k: med(o, k) for k in ("rps", "p50", "p99", "cpu_us", "wall")},
               "redis": {k: med(r, k) for k in ("rps", "p50", "p99", "cpu_us", "wall")}}
        row["rps_ratio"] = ratio(row["ours"]["rps"], row["redis"]["rps"])
        row["cpu_ratio"] = ratio(row["ours"]["cpu_us"], row["redis"]["cpu_us"])
        # Round i of ours ran next to round i of redis: the ratio of each
        # such pair shows how far the machine moved a row between runs.
        for key, k in (("rps_rounds", "rps"), ("cpu_rounds", "cpu_us")):
            row[key] = sorted(a[k] / b[k] for a, b in zip(o, r) if a and b and b[k])
        log(f"  {wl[0]:<22} ours {fmt(row['ours']['rps'], '.0f'):>9} rps "
            f"redis {fmt(row['redis']['rps'], '.0f'):>9} rps  ratio {fmt(row['rps_ratio'], '.2f')}"
            f"  cpu ratio {fmt(row['cpu_ratio'], '.2f')}  ({fmt(row['ours']['wall'], '.1f')}s/"
            f"{fmt(row['redis']['wall'], '.1f')}s)")
        results.append(row)
    return results


def phase_memory(server, populate=True):
    """Fill one fresh server; returns the figures. With populate=False, or
    when DEBUG POPULATE fails, the same keys are SET through a pipeline."""
    time.sleep(0.3)
    base_used = server.info_field("memory", "used_memory")
    base_rss = server.rss()
    t0 = time.time()
    r = None
    if populate:
        c = Client(server.port)
        r = c.call("DEBUG", "POPULATE", MEM_KEYS, "key", 10)
        c.close()
    method = "DEBUG POPULATE"
    if r != "OK":
        if populate:
            log(f"  {server.name}: DEBUG POPULATE answered {str(r)[:80]!r}; filling with SETs")
        method = "pipelined SET"
        pipelined_fill(server.port, MEM_KEYS, 10)
    secs = time.time() - t0
    time.sleep(0.5)
    n = server.dbsize() or MEM_KEYS
    used = server.info_field("memory", "used_memory")
    rss = server.rss()
    res = {"method": method, "keys": n, "secs": secs,
           "used_base": base_used, "used": used, "rss_base": base_rss, "rss": rss,
           "used_per_key": None if used is None or base_used is None else (used - base_used) / n,
           "rss_per_key": None if rss is None or base_rss is None else (rss - base_rss) / n}
    log(f"  {server.name}: {method}, {n} keys in {secs:.1f}s, used_memory/key "
        f"{fmt(res['used_per_key'], '.1f')}, rss/key {fmt(res['rss_per_key'], '.1f')}")
    return res


def pinged_fill(server, nkeys, what):
    """pipelined_fill(nkeys) while a pinger process measures PING latency."""
    p = subprocess.Popen([sys.executable, os.path.abspath(__file__), "--pinger", str(server.port)],
                         stdout=subprocess.PIPE, text=True)
    try:
        if p.stdout.readline().strip() != "ready":
            raise RuntimeError("pinger did not start")
        time.sleep(0.3)
        secs, errors = pipelined_fill(server.port, nkeys, 10)
        time.sleep(0.3)
        p.send_signal(signal.SIGTERM)
        out, _ = p.communicate(timeout=30)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    res = json.loads(out.strip().splitlines()[-1])
    res.update(secs=secs, errors=errors, rate=nkeys / secs if secs else None)
    log(f"  {server.name}: {what}: {nkeys} SETs in {secs:.1f}s, {res['count']} pings, "
        f"worst {fmt(res.get('max_ms'), '.2f')} ms, p99 {fmt(res.get('p99_ms'), '.2f')} ms"
        + (f", {errors} error replies" if errors else ""))
    return res


def phase_growth(server):
    grow = pinged_fill(server, GROWTH_KEYS, "growth")
    grow["keys"] = server.dbsize()
    # Control: the same kind of load without growth (first CONTROL_KEYS keys
    # overwritten). Stalls here come from scheduling, not from table resizes.
    ctrl = pinged_fill(server, CONTROL_KEYS, "overwrite control")
    return {"grow": grow, "ctrl": ctrl}


# ---------------------------------------------------------------- report

def load_avg():
    try:
        return " ".join(open("/proc/loadavg").read().split()[:3])
    except OSError:
        return "?"


LOAD0 = load_avg()


def machine_desc():
    cpu = "?"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = "?"
    try:
        for line in open("/proc/meminfo"):
            if line.startswith("MemTotal:"):
                mem = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    except OSError:
        pass
    osr = "?"
    try:
        for line in open("/etc/os-release"):
            if line.startswith("PRETTY_NAME="):
                osr = line.split("=", 1)[1].strip().strip('"')
    except OSError:
        pass
    return f"{os.cpu_count()} x {cpu}, {mem} RAM, {osr}, Linux {platform.release()}"


def git_rev():
    try:
        rev = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"],
                             capture_output=True, text=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", ROOT, "status", "--porcelain", "--", "src"],
                               capture_output=True, text=True).stdout.strip()
        return rev + (" (+ uncommitted src/ changes)" if dirty else "")
    except OSError:
        return "?"


GIT_REV = None


def report(tp, mem, growth, versions, started, elapsed, elems=None, bg=None, small=None):
    L = []
    L.append("# `make bench` results" + (" (BENCH_QUICK smoke run)" if QUICK else ""))
    L.append("")
    L.append(f"- date: {started:%Y-%m-%d %H:%M %Z}".rstrip())
    L.append(f"- machine: {machine_desc()}")
    L.append(f"- ours: redis-rust at {GIT_REV} (reports version {versions['ours']}); "
             f"redis: Debian redis-server {versions['redis']}")
    L.append(f"- settings (both): `{' '.join(a if a else chr(34) * 2 for a in SETTINGS)}`")
    L.append(f"- load average (1/5/15 min) at start: {LOAD0}; at end: {load_avg()}")
    L.append(f"- redis-benchmark -c {CLIENTS} --csv; {ROUNDS} round(s) per workload, "
             f"ours/redis alternating; medians. Total time {elapsed / 60:.1f} min.")
    if PIN:
        L.append(f"- throughput rows: each server pinned to CPU {SERVER_CPU}, redis-benchmark "
                 f"and helpers to CPU {','.join(map(str, sorted(CLIENT_CPUS)))}"
                 " (BENCH_PIN=0 to turn off)")
    L.append("- throughput: `ratio` is median rps over median rps; `round ratios` the lowest and "
             "highest ratio of one round's pair of runs (ours, then redis right after).")
    L.append("- `!` marks a throughput ratio < 1.0 or CPU ratio > 1.0 in every round, or our p99 "
             "above Redis's; `~` a median ratio on the wrong side of 1.0 while at least one "
             "round was on the right side (within the round-to-round spread).")
    L.append("")
    L.append("## Throughput, latency and server CPU per operation")
    L.append("")
    L.append("| workload | requests | ours rps | redis rps | ratio | round ratios | "
             "ours p50/p99 ms | redis p50/p99 ms | ours CPU µs/op | redis CPU µs/op | "
             "CPU ratio | round CPU ratios |")
    L.append("|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|")
    flags = []
    for row in tp:
        o, r = row["ours"], row["redis"]
        rr, cr = row["rps_ratio"], row["cpu_ratio"]
        rflag = spread_flag(rr, row.get("rps_rounds"), lambda x: x < 1.0)
        cflag = spread_flag(cr, row.get("cpu_rounds"), lambda x: x > 1.0)
        pflag = " !" if o["p99"] is not None and r["p99"] is not None and o["p99"] > r["p99"] else ""
        if rr is None or cr is None:
            flags.append(f"{row['label']}: failed on at least one server")
        for flag, what, x, rounds in ((rflag, "throughput ratio", rr, row.get("rps_rounds")),
                                      (cflag, "CPU/op ratio", cr, row.get("cpu_rounds"))):
            if flag:
                flags.append(f"{row['label']}: {what} {x:.2f}, rounds {spread(rounds)}"
                             + (" (every round)" if flag == " !" else " (within the spread)"))
        L.append(
            f"| {row['label']} | {row['n']:,} | {fmt(o['rps'], ',.0f')} | {fmt(r['rps'], ',.0f')} | "
            f"{fmt(rr, '.2f')}{rflag} | {spread(row.get('rps_rounds'))} | "
            f"{fmt(o['p50'], '.3f')} / {fmt(o['p99'], '.3f')}{pflag} | "
            f"{fmt(r['p50'], '.3f')} / {fmt(r['p99'], '.3f')} | {fmt(o['cpu_us'], '.2f')} | "
            f"{fmt(r['cpu_us'], '.2f')} | {fmt(cr, '.2f')}{cflag} | {spread(row.get('cpu_rounds'))} |")
    L.append("")
    if mem:
        memory_section(L, mem, flags)
    if growth:
        growth_section(L, growth, flags)
    if elems:
        elements_section(L, elems, flags)
    if small:
        small_section(L, small, flags)
    if bg:
        bgsave_section(L, bg, flags)
    L.append("## Flagged")
    L.append("")
    L.extend(f"- {f}" for f in flags) if flags else L.append("- nothing")
    L.append("")
    return "\n".join(L)


def spread(rounds):
    return f"{rounds[0]:.2f}–{rounds[-1]:.2f}" if rounds else "n/a"


def spread_flag(x, rounds, worse):
    """` !` when every round's ratio is worse than 1.0, ` ~` when only the
    median is: a row's rate moves by more than 10% between runs on a
    shared 2-core machine, so one median alone does not say which is ahead."""
    if x is None or not worse(x):
        return ""
    return " !" if rounds and all(worse(v) for v in rounds) else " ~"


def memory_section(L, mem, flags):
    L.append(f"## Memory: {MEM_KEYS:,} keys, 10-byte values")
    L.append("")
    L.append("| | fill | keys | used_memory empty | used_memory full | used_memory B/key | "
             "RSS empty | RSS full | RSS B/key |")
    L.append("|---|---|--:|--:|--:|--:|--:|--:|--:|")
    for name in ("ours", "redis"):
        m = mem[name]
        L.append(f"| {name} | {m['method']} | {m['keys']:,} | {fmt(m['used_base'], ',')} | "
                 f"{fmt(m['used'], ',')} | {fmt(m['used_per_key'], '.1f')} | "
                 f"{fmt(m['rss_base'], ',')} | {fmt(m['rss'], ',')} | {fmt(m['rss_per_key'], '.1f')} |")
    ur = ratio(mem["ours"]["used_per_key"], mem["redis"]["used_per_key"])
    rr = ratio(mem["ours"]["rss_per_key"], mem["redis"]["rss_per_key"])
    L.append(f"| ratio ours/redis | | | | | {fmt(ur, '.2f')}{' !' if ur and ur > 1 else ''} "
             f"| | | {fmt(rr, '.2f')}{' !' if rr and rr > 1 else ''} |")
    for x, what in ((ur, "used_memory"), (rr, "RSS")):
        if x is not None and x > 1.0:
            flags.append(f"memory: {what} bytes/key ratio {x:.2f}")
    L.append("")


def growth_section(L, growth, flags):
    L.append(f"## Growth stalls: PING every ~1 ms while {GROWTH_KEYS:,} distinct keys are SET "
             "(one pipelined client, 10k SETs per batch, 4 batches in flight)")
    L.append("")
    L.append("| | phase | SETs | time s | SETs/s | pings | ping p50 ms | ping p99 ms | worst ping ms |")
    L.append("|---|---|--:|--:|--:|--:|--:|--:|--:|")
    for phase, what, n in (("grow", "growth (new keys)", GROWTH_KEYS),
                           ("ctrl", "control (overwrites)", CONTROL_KEYS)):
        for name in ("ours", "redis"):
            g = growth[name][phase]
            L.append(f"| {name} | {what} | {n:,} | {g['secs']:.1f} | {fmt(g['rate'], ',.0f')} | "
                     f"{g['count']:,} | {fmt(g.get('p50_ms'), '.3f')} | "
                     f"{fmt(g.get('p99_ms'), '.3f')} | {fmt(g.get('max_ms'), '.2f')} |")
        wr = ratio(growth["ours"][phase].get("max_ms"), growth["redis"][phase].get("max_ms"))
        pr = ratio(growth["ours"][phase].get("p99_ms"), growth["redis"][phase].get("p99_ms"))
        L.append(f"| ratio ours/redis | {what} | | | | | | "
                 f"{fmt(pr, '.2f')}{' !' if pr and pr > 1 else ''} | "
                 f"{fmt(wr, '.2f')}{' !' if wr and wr > 1 else ''} |")
        if wr is not None and wr > 1.0:
            flags.append(f"{what}: worst ping ratio {wr:.2f}")
    L.append("")
    L.append("The control row repeats the load on keys that already exist (no table growth): "
             "a stall there too comes from how the server shares its loop between a deep "
             "pipeline and other clients, not from a resize.")
    L.append("")


# ---------------------------------------------------------------- main

def main():
    started = datetime.datetime.now().astimezone()
    t_start = time.time()
    global GIT_REV
    GIT_REV = git_rev()
    ensure_redis()
    raise_nofile()
    if not os.access(OURS_BIN, os.X_OK):
        sys.exit(f"bench: {OURS_BIN} not found; run `cargo build --release` (or `make bench`)")
    redis_bin = shutil.which("redis-server")
    tmp = tempfile.mkdtemp(prefix="redis-rust-bench-")
    live = []
    versions = {}

    def pair():
        ports = free_ports(2)
        s = [Server("ours", OURS_BIN, ports[0], tmp), Server("redis", redis_bin, ports[1], tmp)]
        for x in s:
            live.append(x)
            x.start()
        return s

    def stop_all():
        while live:
            live.pop().stop()

    def on_signal(signum, _frame):
        stop_all()
        sys.exit(128 + signum)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGHUP, on_signal)
    ok = False
    try:
        log(f"bench: logs and data in {tmp}; {ROUNDS} round(s) per workload"
            + (" (BENCH_QUICK)" if QUICK else ""))
        servers = pair()
        for s in servers:
            versions[s.name] = version_of(s)
        tp = []
        if "throughput" in PHASES:
            log("throughput:")
            tp = phase_throughput(servers)
        stop_all()

        mem = {}
        if "memory" in PHASES:
            log("memory:")
            ours, redis = pair()
            mem["ours"] = phase_memory(ours)
            # Fill Redis the same way as ours, so client/query buffers match.
            mem["redis"] = phase_memory(redis, populate=mem["ours"]["method"] == "DEBUG POPULATE")
            stop_all()

        growth = {}
        if "growth" in PHASES:
            log("growth stalls:")
        for name in ("ours", "redis") if "growth" in PHASES else ():  # one at a time: the fill uses a core
            ports = free_ports(1)
            b = OURS_BIN if name == "ours" else redis_bin
            s = Server(name, b, ports[0], tmp)
            live.append(s)
            s.start()
            growth[name] = phase_growth(s)
            stop_all()

        elems = {}
        if "elements" in PHASES:
            log("bytes per element:")
        for kind in ELEM_KINDS if "elements" in PHASES else ():
            elems[kind] = {}
            for name in ("ours", "redis"):  # one at a time: the fill uses a core
                ports = free_ports(1)
                s = Server(name, OURS_BIN if name == "ours" else redis_bin, ports[0], tmp)
                live.append(s)
                s.start()
                elems[kind][name] = phase_elements_one(s, kind)
                stop_all()

        small = {}
        if "small" in PHASES:
            log("small collections:")
        for kind in ("hash", "set", "zset", "list") if "small" in PHASES else ():
            small[kind] = {}
            for name in ("ours", "redis"):
                ports = free_ports(1)
                s = Server(name, OURS_BIN if name == "ours" else redis_bin, ports[0], tmp)
                live.append(s)
                s.start()
                small[kind][name] = phase_small_one(s, kind)
                stop_all()

        bg = {}
        if "bgsave" in PHASES:
            log("bgsave:")
        for label, strings, colls in BGSAVE_SETS if "bgsave" in PHASES else ():
            bg[label] = {}
            for name in ("ours", "redis"):  # one at a time
                ports = free_ports(1)
                s = Server(name, OURS_BIN if name == "ours" else redis_bin, ports[0], tmp)
                live.append(s)
                s.start()
                bg[label][name] = phase_bgsave_one(s, label, strings, colls)
                stop_all()

        md = report(tp, mem, growth, versions, started, time.time() - t_start, elems, bg, small)
        # `make soak` owns the Reliability section: keep it.
        try:
            with open(OUT) as f:
                kept = re.search(r"^## Reliability\n.*?(?=^## |\Z)", f.read(), flags=re.S | re.M)
            if kept:
                md = md.rstrip("\n") + "\n\n" + kept.group(0).rstrip("\n") + "\n"
        except FileNotFoundError:
            pass
        with open(OUT, "w") as f:
            f.write(md)
        print(md)
        log(f"bench: wrote {os.path.relpath(OUT, ROOT)}")
        ok = True
    finally:
        stop_all()
        if ok:
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            log(f"bench: failed; server logs kept in {tmp}")


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--pinger":
        pinger_main(int(sys.argv[2]))
    elif len(sys.argv) == 4 and sys.argv[1] == "--writer":
        writer_main(int(sys.argv[2]), int(sys.argv[3]))
    else:
        main()
