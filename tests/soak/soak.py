#!/usr/bin/env python3
"""Soak test: redis-rust under hostile load for a while, with nothing lost.

`make soak SOAK_MINUTES=30` runs it; `make test` runs a short version. Only
the Python 3 standard library is used: raw RESP over non-blocking sockets
multiplexed with `selectors`, so 500 clients fit in one process.

What runs at the same time, for SOAK_MINUTES:

- 500 clients (`--clients`): most send small pipelines mixing every data
  type (strings, lists, hashes, sets, zsets, streams with consumer groups,
  HyperLogLog, geo), MULTI/EXEC blocks, EVAL/EVALSHA and PUBLISH; some
  block in BLPOP / BZPOPMIN / XREAD BLOCK with short timeouts; some are
  subscribers that read; one publisher floods a busy channel.
- A slow subscriber on that busy channel that never reads: the server must
  cut it (`client-output-buffer-limit pubsub 1mb 256kb 10`).
- Clients that send half a command and vanish (FIN or RST), and clients
  that send half a command and stay: `timeout` must close the latter.
- `maxmemory` with `allkeys-lru`, after a prefill up to the limit, so the
  server evicts throughout.
- BGSAVE and BGREWRITEAOF once a minute (scaled down for short runs), with
  `appendonly yes` and `appendfsync everysec`.
- `kill -9` and a restart every five minutes (scaled down: at least one),
  the clients reconnecting while the server loads.
- One of those cycles runs with `appendfsync always`: writers record every
  write the server acknowledged, and after the kill and restart each one
  must be there.
- A prober PINGs every 100 ms from its own process.

At the end it checks what the summary lists (and exits 1 if any check
failed): the server answered throughout (outside the planned restarts),
RSS did not grow, no panic or unplanned exit, no acknowledged write lost,
no unexpected error reply or disconnect, the slow subscriber was cut and
the half-command clients timed out. `--results` also writes the summary
into bench/results.md under `## Reliability`.
"""

import argparse
import collections
import errno
import heapq
import multiprocessing as mp
import os
import random
import re
import resource
import selectors
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
HOST = "127.0.0.1"


def log(*a):
    print(time.strftime("%H:%M:%S"), *a, flush=True)


# ---------------------------------------------------------------------------
# RESP

class Err(str):
    """An error reply (its text without the leading '-')."""


INCOMPLETE = object()


def enc(*args):
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        if not isinstance(a, bytes):
            a = str(a).encode()
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)


def parse(buf, pos):
    """One RESP2 reply from buf[pos:]: (value, next_pos), or INCOMPLETE."""
    end = buf.find(b"\r\n", pos)
    if end < 0:
        return INCOMPLETE
    t = buf[pos]
    if t == 43:  # +
        return bytes(buf[pos + 1:end]), end + 2
    if t == 58:  # :
        return int(buf[pos + 1:end]), end + 2
    if t == 36:  # $
        n = int(buf[pos + 1:end])
        if n < 0:
            return None, end + 2
        if len(buf) < end + 4 + n:
            return INCOMPLETE
        return bytes(buf[end + 2:end + 2 + n]), end + 4 + n
    if t == 42:  # *
        n = int(buf[pos + 1:end])
        if n < 0:
            return None, end + 2
        items, p = [], end + 2
        for _ in range(n):
            r = parse(buf, p)
            if r is INCOMPLETE:
                return INCOMPLETE
            items.append(r[0])
            p = r[1]
        return items, p
    if t == 45:  # -
        return Err(buf[pos + 1:end].decode(errors="replace")), end + 2
    raise ValueError("bad RESP byte %r" % chr(t))


class Blocking:
    """A plain blocking connection, for the orchestrator and checks."""

    def __init__(self, port, timeout=10.0):
        self.sock = socket.create_connection((HOST, port), timeout=timeout)
        self.buf = bytearray()

    def call(self, *args):
        self.sock.sendall(enc(*args))
        return self.read()

    def read(self):
        while True:
            if self.buf:
                r = parse(self.buf, 0)
                if r is not INCOMPLETE:
                    del self.buf[:r[1]]
                    return r[0]
            chunk = self.sock.recv(1 << 20)
            if not chunk:
                raise ConnectionError("server closed the connection")
            self.buf += chunk

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


def info(conn, section=""):
    raw = conn.call("INFO", section) if section else conn.call("INFO")
    out = {}
    for line in raw.decode().splitlines():
        if ":" in line and not line.startswith("#"):
            k, v = line.split(":", 1)
            out[k] = v
    return out


# ---------------------------------------------------------------------------
# The load process: every client in one selectors loop.

# Errors a healthy server may answer under this load: LOADING while it
# reads the AOF after a restart, OOM if eviction cannot keep up for a
# moment, EXECABORT for a MULTI block one of whose commands got either.
EXPECTED_ERRORS = ("LOADING", "OOM", "EXECABORT")

# Scripts. The first is sent with EVAL; the second by SHA after SCRIPT LOAD,
# so NOSCRIPT after a restart (scripts are not persisted) is expected.
SCRIPT_INCR = ("local v = redis.call('incr', KEYS[1]) "
               "redis.call('hset', KEYS[2], 'last', v) return v")
SCRIPT_RANGE = ("redis.call('rpush', KEYS[1], ARGV[1]) "
                "redis.call('ltrim', KEYS[1], -50, -1) "
                "return redis.call('llen', KEYS[1])")

STRING_KEYS = 300_000   # with values of 100..1500 bytes, several times maxmemory
COLL_KEYS = 3_000
BLOCK_KEYS = 16
CHANNELS = 8
BUSY = "soak:busy"
BUSY_PAYLOAD = b"x" * 16384
BUSY_RATE = 100         # messages/s offered on the busy channel: 1.6 MB/s


def _val(rng):
    return b"v" * rng.randint(100, 1500)


def mixed_ops(rng, sha):
    """One random unit of work: [(command bytes, allowed error prefixes, check)].

    `check(reply)` returns False on a reply of the wrong shape."""
    k = rng.randrange(COLL_KEYS)
    op = rng.randrange(24)
    is_int = lambda r: isinstance(r, int)
    is_list = lambda r: isinstance(r, list)
    anyr = lambda r: True
    bulk_or_nil = lambda r: r is None or isinstance(r, bytes)
    if op < 4:
        s = rng.randrange(STRING_KEYS)
        ex = rng.random() < 0.2
        args = ["SET", "s:%d" % s, _val(rng)] + (["EX", rng.randint(5, 120)] if ex else [])
        return [(enc(*args), (), lambda r: r == b"OK")]
    if op < 7:
        return [(enc("GET", "s:%d" % rng.randrange(STRING_KEYS)), (), bulk_or_nil)]
    if op == 7:
        ks = ["s:%d" % rng.randrange(STRING_KEYS) for _ in range(3)]
        if rng.random() < 0.5:
            return [(enc("MGET", *ks), (), lambda r: is_list(r) and len(r) == 3)]
        return [(enc("MSET", ks[0], b"a", ks[1], b"b", ks[2], _val(rng)), (), lambda r: r == b"OK")]
    if op == 8:
        return [(enc("INCR", "c:%d" % k), (), is_int)]
    if op == 9:
        return [(enc("LPUSH", "l:%d" % k, rng.random(), rng.random()), (), is_int),
                (enc("LTRIM", "l:%d" % k, 0, 99), (), anyr),
                (enc("LRANGE", "l:%d" % k, 0, 9), (), is_list)]
    if op == 10:
        return [(enc("RPOP", "l:%d" % k), (), bulk_or_nil)]
    if op == 11:
        return [(enc("HSET", "h:%d" % k, "f%d" % rng.randrange(50), _val(rng)[:64]), (), is_int),
                (enc("HINCRBY", "h:%d" % k, "n", 1), (), is_int),
                (enc("HGET", "h:%d" % k, "f1"), (), bulk_or_nil)]
    if op == 12:
        return [(enc("SADD", "set:%d" % k, rng.randrange(200)), (), is_int),
                (enc("SREM", "set:%d" % k, rng.randrange(200)), (), is_int),
                (enc("SCARD", "set:%d" % k), (), is_int),
                (enc("SINTER", "set:%d" % k, "set:%d" % rng.randrange(COLL_KEYS)), (), is_list)]
    if op == 13:
        return [(enc("ZADD", "z:%d" % k, rng.random() * 100, "m%d" % rng.randrange(300)), (), is_int),
                (enc("ZINCRBY", "z:%d" % k, 1, "m1"), (), anyr),
                (enc("ZREMRANGEBYRANK", "z:%d" % k, 0, -151), (), is_int),
                (enc("ZRANGE", "z:%d" % k, 0, 4, "WITHSCORES"), (), is_list)]
    if op == 14:
        return [(enc("XADD", "x:%d" % k, "MAXLEN", "~", 100, "*", "f", rng.randrange(1000)), (), bulk_or_nil),
                (enc("XRANGE", "x:%d" % k, "-", "+", "COUNT", 5), (), is_list)]
    if op == 15:
        # Consumer groups: the group may exist already, or be gone with an
        # evicted stream.
        return [(enc("XGROUP", "CREATE", "x:%d" % k, "g", "0", "MKSTREAM"), ("BUSYGROUP",), anyr),
                (enc("XREADGROUP", "GROUP", "g", "c%d" % rng.randrange(4), "COUNT", 5,
                     "STREAMS", "x:%d" % k, ">"), ("NOGROUP",), anyr),
                (enc("XACK", "x:%d" % k, "g", "0-1"), (), is_int)]
    if op == 16:
        return [(enc("PFADD", "hll:%d" % k, *[rng.randrange(100000) for _ in range(5)]), (), is_int),
                (enc("PFCOUNT", "hll:%d" % k, "hll:%d" % rng.randrange(COLL_KEYS)), (), is_int)]
    if op == 17:
        lon, lat = rng.uniform(-179, 179), rng.uniform(-84, 84)
        return [(enc("GEOADD", "geo:%d" % k, lon, lat, "p%d" % rng.randrange(200)), (), is_int),
                (enc("GEOSEARCH", "geo:%d" % k, "FROMLONLAT", lon, lat, "BYRADIUS", 2000, "km",
                     "ASC", "COUNT", 5), (), is_list)]
    if op == 18:
        def exec_ok(r):
            return r is None or (is_list(r) and len(r) == 3)
        return [(enc("MULTI"), (), lambda r: r == b"OK"),
                (enc("INCR", "c:%d" % k), (), lambda r: r == b"QUEUED"),
                (enc("LPUSH", "l:%d" % k, "m"), (), lambda r: r == b"QUEUED"),
                (enc("HINCRBY", "h:%d" % k, "n", 1), (), lambda r: r == b"QUEUED"),
                (enc("EXEC"), (), exec_ok)]
    if op == 19:
        return [(enc("EVAL", SCRIPT_INCR, 2, "c:%d" % k, "h:%d" % k), (), is_int)]
    if op == 20:
        return [(enc("EVALSHA", sha, 1, "l:%d" % k, rng.randrange(1000)), ("NOSCRIPT",), is_int)]
    if op == 21:
        return [(enc("PUBLISH", "chan:%d" % rng.randrange(CHANNELS), b"hello"), (), is_int)]
    if op == 22:
        # Feed the blocked clients.
        b = rng.randrange(BLOCK_KEYS)
        return [(enc("LPUSH", "bl:%d" % b, "x"), (), is_int),
                (enc("ZADD", "bz:%d" % b, rng.random(), "m%d" % rng.randrange(10)), (), is_int),
                (enc("XADD", "xb:%d" % b, "MAXLEN", "~", 50, "*", "f", "v"), (), bulk_or_nil)]
    return [(enc("UNLINK", "s:%d" % rng.randrange(STRING_KEYS)), (), is_int),
            (enc("EXPIRE", "l:%d" % k, rng.randint(10, 300)), (), is_int)]


class Client:
    __slots__ = ("role", "idx", "sock", "rbuf", "wbuf", "pending", "state", "connected_at", "timer")

    def __init__(self, role, idx):
        self.role, self.idx = role, idx
        self.sock = None
        self.rbuf = bytearray()
        self.wbuf = b""
        self.pending = collections.deque()   # (allowed errors, check, cmd name)
        self.state = "down"                  # down, connecting, up
        self.connected_at = 0.0
        self.timer = 0                       # the one live timer's sequence number


def load_main(port, n_clients, rate, stop, hold, out, seed):
    """The load process. `stop` ends it; while `hold` is set, lost
    connections wait before reconnecting (the always-fsync check reads the
    acknowledged keys before the load starts evicting again)."""
    rng = random.Random(seed)
    sel = selectors.DefaultSelector()
    n_sub = max(4, n_clients * 3 // 100)
    n_block = max(4, n_clients * 8 // 100)
    roles = ["busy_pub", "busy_sub", "busy_sub"] + ["sub"] * n_sub + ["block"] * n_block
    roles += ["mixed"] * max(1, n_clients - len(roles))
    clients = [Client(r, i) for i, r in enumerate(roles)]
    n_mixed = roles.count("mixed")
    # A mixed client sends one unit (1.75 commands on average) then waits
    # an exponential think time sized so all of them together offer `rate`
    # commands per second: paced, so this process leaves the server a core.
    think = n_mixed * 1.75 / rate
    timers = []  # (when, seq, client)
    seq = [0]
    stats = collections.Counter()
    errors = collections.Counter()
    samples = {}
    disconnects = []  # (monotonic time, role, reason)
    sha = [None]

    def at(when, c):
        # One live timer per client: a newer one cancels the older.
        seq[0] += 1
        c.timer = seq[0]
        heapq.heappush(timers, (when, seq[0], c))

    def connect(c):
        if hold.is_set():
            at(time.monotonic() + 0.2, c)
            return
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setblocking(False)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        e = s.connect_ex((HOST, port))
        if e not in (0, errno.EINPROGRESS):
            s.close()
            stats["connect_failed"] += 1
            at(time.monotonic() + 0.1 + rng.random() * 0.3, c)
            return
        c.sock, c.state = s, "connecting"
        c.rbuf, c.wbuf = bytearray(), b""
        c.pending.clear()
        sel.register(s, selectors.EVENT_WRITE, c)

    def drop(c, reason):
        if c.sock is None:
            return
        if c.state == "up":
            disconnects.append((time.monotonic(), c.role, reason))
        try:
            sel.unregister(c.sock)
        except (KeyError, ValueError):
            pass
        c.sock.close()
        c.sock, c.state = None, "down"
        c.pending.clear()
        at(time.monotonic() + 0.1 + rng.random() * 0.4, c)

    def send(c, data, expect):
        c.pending.extend(expect)
        c.wbuf += data
        flush(c)

    def flush(c):
        if not c.wbuf or c.sock is None:
            return
        try:
            n = c.sock.send(c.wbuf)
            c.wbuf = c.wbuf[n:]
        except BlockingIOError:
            pass
        except OSError as e:
            drop(c, "send: %s" % e)
            return
        if c.sock is not None:
            sel.modify(c.sock, selectors.EVENT_READ | (selectors.EVENT_WRITE if c.wbuf else 0), c)

    def start_work(c):
        """What a client does once (re)connected."""
        if c.role in ("sub", "busy_sub"):
            chans = [BUSY] if c.role == "busy_sub" else ["chan:%d" % (c.idx % CHANNELS)]
            send(c, enc("SUBSCRIBE", *chans) + enc("PSUBSCRIBE", "chan:*"), [])
        elif c.role == "mixed" and c.idx % 50 == 0:
            send(c, enc("SCRIPT", "LOAD", SCRIPT_RANGE), [((), lambda r: isinstance(r, bytes), b"SCRIPT")])
            at(time.monotonic() + rng.expovariate(1 / think), c)
        else:
            at(time.monotonic() + rng.random() * 0.2, c)

    def tick(c):
        """A timer fired for `c`: reconnect, or send its next unit of work."""
        if c.state == "down":
            connect(c)
            return
        if c.state == "connecting":
            return
        if c.pending:
            if c.role == "mixed":
                at(time.monotonic() + think, c)
            elif c.role == "busy_pub":
                at(time.monotonic() + 10 / BUSY_RATE, c)
            return
        if c.role == "mixed":
            ops = mixed_ops(rng, sha[0] or "0" * 40)
            send(c, b"".join(o[0] for o in ops),
                 [(o[1], o[2], o[0].split(b"\r\n", 3)[2]) for o in ops])
            at(time.monotonic() + rng.expovariate(1 / think), c)
        elif c.role == "block":
            b = rng.randrange(BLOCK_KEYS)
            which = rng.randrange(3)
            if which == 0:
                cmd = enc("BLPOP", "bl:%d" % b, "bl:%d" % ((b + 1) % BLOCK_KEYS), "0.3")
            elif which == 1:
                cmd = enc("BZPOPMIN", "bz:%d" % b, "0.3")
            else:
                cmd = enc("XREAD", "COUNT", 10, "BLOCK", 300, "STREAMS", "xb:%d" % b, "$")
            send(c, cmd, [((), lambda r: r is None or isinstance(r, list), cmd.split(b"\r\n", 3)[2])])
        elif c.role == "busy_pub":
            # A burst of 10 every 100 ms.
            send(c, enc("PUBLISH", BUSY, BUSY_PAYLOAD) * 10,
                 [((), lambda r: isinstance(r, int), b"PUBLISH")] * 10)
            at(time.monotonic() + 10 / BUSY_RATE, c)

    def on_readable(c):
        try:
            chunk = c.sock.recv(1 << 18)
        except BlockingIOError:
            return
        except OSError as e:
            drop(c, "recv: %s" % e)
            return
        if not chunk:
            drop(c, "EOF")
            return
        c.rbuf += chunk
        pos = 0
        while pos < len(c.rbuf):
            r = parse(c.rbuf, pos)
            if r is INCOMPLETE:
                break
            val, pos = r
            if c.role in ("sub", "busy_sub"):
                if isinstance(val, list) and val and val[0] in (b"message", b"pmessage"):
                    stats["pubsub_messages"] += 1
                elif isinstance(val, Err):
                    errors[val.split(" ", 1)[0]] += 1
                    samples.setdefault(val.split(" ", 1)[0], "SUBSCRIBE: " + val)
                    drop(c, "subscribe refused")
                    return
                continue
            if not c.pending:
                errors["UNSOLICITED"] += 1
                samples.setdefault("UNSOLICITED", repr(val)[:200])
                continue
            allowed, check, name = c.pending.popleft()
            stats["replies"] += 1
            if isinstance(val, Err):
                code = val.split(" ", 1)[0]
                if code in EXPECTED_ERRORS or code in allowed:
                    stats["err_" + code] += 1
                else:
                    errors[code] += 1
                    samples.setdefault(code, "%s: %s" % (name.decode(), val))
            elif not check(val):
                errors["BADREPLY"] += 1
                samples.setdefault("BADREPLY:" + name.decode(), repr(val)[:200])
            elif name == b"SCRIPT":
                sha[0] = val.decode()
            if c.role == "block":
                stats["block_served" if val is not None else "block_timeout"] += 1
                at(time.monotonic(), c)
        del c.rbuf[:pos]

    for c in clients:
        at(time.monotonic() + rng.random() * 2.0, c)
    started = time.monotonic()
    # Bounded by `stop`, and by a deadline in case the parent died.
    deadline = started + 4 * 3600
    while not stop.is_set() and time.monotonic() < deadline:
        now = time.monotonic()
        while timers and timers[0][0] <= now:
            _, n, c = heapq.heappop(timers)
            if n == c.timer:
                tick(c)
        wait = min(0.05, max(0.0, timers[0][0] - time.monotonic())) if timers else 0.05
        for key, ev in sel.select(wait):
            c = key.data
            if c.state == "connecting":
                err = c.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                if err:
                    stats["connect_failed"] += 1
                    sel.unregister(c.sock)
                    c.sock.close()
                    c.sock, c.state = None, "down"
                    at(time.monotonic() + 0.1 + rng.random() * 0.3, c)
                    continue
                c.state, c.connected_at = "up", time.monotonic()
                stats["connects"] += 1
                sel.modify(c.sock, selectors.EVENT_READ, c)
                start_work(c)
                continue
            if ev & selectors.EVENT_WRITE:
                flush(c)
            if ev & selectors.EVENT_READ and c.sock is not None:
                on_readable(c)
    elapsed = time.monotonic() - started
    for c in clients:
        if c.sock is not None:
            c.sock.close()
    out.send({"stats": dict(stats), "errors": dict(errors), "samples": samples,
              "disconnects": disconnects, "elapsed": elapsed, "roles": collections.Counter(roles)})


# ---------------------------------------------------------------------------
# The prober: PING every 100 ms from its own process, so the load process's
# work does not delay it.

PROBE_TIMEOUT = 10.0


def prober_main(port, stop, out):
    samples = []  # (monotonic send time, latency s or None if no answer)
    conn = None
    deadline = time.monotonic() + 4 * 3600
    while not stop.is_set() and time.monotonic() < deadline:
        t0 = time.monotonic()
        try:
            if conn is None:
                # A long timeout: a slow answer is measured, not cut short.
                conn = Blocking(port, timeout=PROBE_TIMEOUT)
            r = conn.call("PING")
            lat = time.monotonic() - t0
            samples.append((t0, lat if r == b"PONG" else None))
        except (OSError, ConnectionError, ValueError):
            samples.append((t0, None))
            if conn:
                conn.close()
            conn = None
        time.sleep(max(0.0, 0.1 - (time.monotonic() - t0)))
    out.send(samples)


# ---------------------------------------------------------------------------
# The acknowledged-write recorder for the always-fsync cycle.

ACK_WRITERS = 4


def acker_main(port, stop, out):
    """Each writer w loops n = 1, 2, ...: SET ack:s:w n, INCR ack:c:w,
    RPUSH ack:l:w n, SADD ack:set:w n, HSET ack:h:w n n, XADD ack:x:w n-1,
    pipelined, and records each command whose reply arrived. The keys are
    few and touched all the time, so LRU eviction does not pick them.
    Runs until `stop` or until the kill breaks every connection."""
    sel = selectors.DefaultSelector()
    acked = {w: collections.defaultdict(list) for w in range(ACK_WRITERS)}
    sent = {w: 0 for w in range(ACK_WRITERS)}
    state = {}
    for w in range(ACK_WRITERS):
        s = socket.create_connection((HOST, port), timeout=5)
        s.setblocking(False)
        state[w] = {"sock": s, "buf": bytearray(), "pending": collections.deque()}
        sel.register(s, selectors.EVENT_READ, w)

    def issue(w):
        n = sent[w] + 1
        sent[w] = n
        cmds = [("set", enc("SET", "ack:s:%d" % w, n)),
                ("incr", enc("INCR", "ack:c:%d" % w)),
                ("rpush", enc("RPUSH", "ack:l:%d" % w, n)),
                ("sadd", enc("SADD", "ack:set:%d" % w, n)),
                ("hset", enc("HSET", "ack:h:%d" % w, n, n)),
                ("xadd", enc("XADD", "ack:x:%d" % w, "%d-1" % n, "n", n))]
        st = state[w]
        for kind, _ in cmds:
            st["pending"].append((kind, n))
        try:
            st["sock"].sendall(b"".join(c for _, c in cmds))
        except OSError:
            close(w)

    def close(w):
        st = state.pop(w, None)
        if st:
            sel.unregister(st["sock"])
            st["sock"].close()

    errors = []
    for w in range(ACK_WRITERS):
        issue(w)
    deadline = time.monotonic() + 3600
    while state and not stop.is_set() and time.monotonic() < deadline:
        for key, _ in sel.select(0.1):
            w = key.data
            st = state[w]
            try:
                chunk = st["sock"].recv(65536)
            except BlockingIOError:
                continue
            except OSError:
                chunk = b""
            if not chunk:
                close(w)
                continue
            st["buf"] += chunk
            pos = 0
            while True:
                r = parse(st["buf"], pos)
                if r is INCOMPLETE:
                    break
                val, pos = r
                kind, n = st["pending"].popleft()
                if isinstance(val, Err):
                    # Not acknowledged (OOM, say): not counted, but shown.
                    if len(errors) < 5:
                        errors.append("%s %d: %s" % (kind, n, val))
                else:
                    acked[w][kind].append(val if kind == "incr" else n)
            del st["buf"][:pos]
            if not st["pending"]:
                issue(w)
    for w in list(state):
        close(w)
    out.send({"acked": {w: dict(v) for w, v in acked.items()}, "sent": sent, "errors": errors})


def verify_acked(conn, rec):
    """(writes checked, writes lost, details): every acknowledged write must
    be in the restarted server's data."""
    checked = lost = 0
    details = []
    for w, kinds in rec["acked"].items():
        sent = rec["sent"][w]

        def miss(kind, got, want):
            nonlocal lost
            lost += len(want)
            if len(details) < 10:
                details.append("writer %d %s: %d acknowledged writes missing, e.g. %s (got %s)"
                               % (w, kind, len(want), sorted(want)[:5], str(got)[:120]))

        v = conn.call("GET", "ack:s:%d" % w)
        if kinds.get("set"):
            checked += len(kinds["set"])
            last = max(kinds["set"])
            # The value is the last write that reached the AOF: at least the
            # last acknowledged one, at most the last sent.
            if v is None or not last <= int(v) <= sent:
                miss("SET", v, [x for x in kinds["set"] if v is None or x > int(v)])
        v = conn.call("GET", "ack:c:%d" % w)
        if kinds.get("incr"):
            checked += len(kinds["incr"])
            last = max(kinds["incr"])
            if v is None or not last <= int(v) <= sent:
                miss("INCR", v, [x for x in kinds["incr"] if v is None or x > int(v)])
        have = conn.call("LRANGE", "ack:l:%d" % w, 0, -1) or []
        have = [int(x) for x in have]
        if kinds.get("rpush"):
            checked += len(kinds["rpush"])
            # In order, with nothing missing: 1..m.
            if have != list(range(1, len(have) + 1)):
                miss("RPUSH order", have[:10], [0])
            s = set(have)
            gone = [x for x in kinds["rpush"] if x not in s]
            if gone:
                miss("RPUSH", len(have), gone)
        for kind, cmd in (("sadd", ("SMEMBERS", "ack:set:%d" % w)),
                          ("hset", ("HKEYS", "ack:h:%d" % w))):
            if kinds.get(kind):
                checked += len(kinds[kind])
                s = {int(x) for x in (conn.call(*cmd) or [])}
                gone = [x for x in kinds[kind] if x not in s]
                if gone:
                    miss(kind.upper(), len(s), gone)
        if kinds.get("xadd"):
            checked += len(kinds["xadd"])
            ids = {int(e[0].split(b"-")[0]) for e in (conn.call("XRANGE", "ack:x:%d" % w, "-", "+") or [])}
            gone = [x for x in kinds["xadd"] if x not in ids]
            if gone:
                miss("XADD", len(ids), gone)
    return checked, lost, details


# ---------------------------------------------------------------------------
# The orchestrator.

def pct(xs, p):
    if not xs:
        return float("nan")
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(len(xs) * p))]


def rss_kb(pid):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


class Soak:
    def __init__(self, args):
        self.a = args
        self.minutes = args.minutes
        total = self.minutes * 60
        # Five-minute kill cycles at full length; shorter runs keep at least
        # one kill and restart (two cycles).
        self.cycles = max(2, round(self.minutes / 5))
        self.cycle_len = total / self.cycles
        self.bg_interval = min(60.0, self.cycle_len / 3)
        # `timeout` must fire well inside a cycle.
        self.timeout = int(max(5, min(30, self.cycle_len / 5)))
        # The always-fsync cycle: the last one that ends in a kill.
        self.always_cycle = self.cycles - 1
        self.tmp = tempfile.mkdtemp(prefix="redis-rust-soak-")
        self.bin = os.path.join(self.tmp, "redis-rust")
        shutil.copy2(args.binary, self.bin)
        self.logfile = os.path.join(self.tmp, "server.log")
        self.port = free_port()
        self.proc = None
        self.incarnation = 0
        self.failures = []
        self.notes = []
        self.restarts = []       # dicts: kill time, ready time, load time...
        self.crashes = []
        self.rss_cycle_end = []  # RSS at the end of each cycle (kB)
        self.rss_settled = []    # RSS once settled in each incarnation (kB)
        self.rss_peak = 0
        self.evicted = 0         # summed over incarnations (INFO resets)
        self.obuf_cuts = 0
        self.slow = None         # the slow subscriber of this incarnation
        self.slow_results = []   # seconds until cut, or None
        self.half_stay = []      # [(socket, sent at)]
        self.half_stay_results = []  # seconds until closed, or None
        self.half_vanish = 0
        self.bg = collections.Counter()
        self.bg_pending = []
        self.ack = None
        self.last_stats = {}
        self.max_omem = 0

    # -- server lifecycle --------------------------------------------------

    def server_args(self):
        return [self.bin, "--port", str(self.port), "--bind", HOST, "--dir", self.tmp,
                "--logfile", self.logfile, "--daemonize", "no", "--save", "",
                "--appendonly", "yes", "--appendfsync", "everysec",
                "--maxmemory", self.a.maxmemory, "--maxmemory-policy", "allkeys-lru",
                "--client-output-buffer-limit", "pubsub 1mb 256kb 10",
                "--timeout", str(self.timeout), "--maxclients", "10000", "--hz", "10"]

    def start_server(self):
        self.incarnation += 1
        t0 = time.monotonic()
        with open(os.path.join(self.tmp, "stdout.log"), "ab") as out:
            self.proc = subprocess.Popen(self.server_args(), stdout=out, stderr=subprocess.STDOUT)
        # Ready when it answers PING with PONG (not LOADING).
        deadline = t0 + 120
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit("server exited at start (status %s); see %s"
                                 % (self.proc.returncode, self.logfile))
            try:
                c = Blocking(self.port, timeout=2)
                r = c.call("PING")
                c.close()
                if r == b"PONG":
                    ready = time.monotonic()
                    self.mon = Blocking(self.port, timeout=30)
                    self.mon.call("CLIENT", "SETNAME", "soak-monitor")
                    self.inc_started = ready
                    self.inc_settled = False
                    self.slow = None
                    self.open_half_stay()
                    return t0, ready
            except (OSError, ConnectionError, ValueError):
                pass
            time.sleep(0.05)
        raise SystemExit("server did not become ready in 120 s")

    def kill_and_restart(self):
        self.close_extras()
        keys_before = self.dbsize()
        t_kill = time.monotonic()
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=30)
        self.mon.close()
        t_spawn, t_ready = self.start_server()
        load = self.log_load_time()
        r = {"kill": t_kill, "ready": t_ready, "load_s": t_ready - t_spawn, "log_load_s": load,
             "keys": self.dbsize(), "keys_before": keys_before}
        mem = info(self.mon, "memory")
        self.restarts.append(r)
        # Keys go down after a restart while the clients reconnect: their
        # buffers count towards maxmemory, so eviction makes room for them.
        log("restart %d: ready %.2f s after spawn (log: loaded in %s s), keys %d before the kill, %d "
            "after; used_memory %s, clients' memory %s"
            % (len(self.restarts), r["load_s"], load, keys_before, r["keys"],
               mem.get("used_memory_human"), mem.get("mem_clients_normal")))
        return r

    def log_load_time(self):
        """The load time the server logged last."""
        try:
            with open(self.logfile, errors="replace") as f:
                text = f.read()
        except OSError:
            return None
        m = re.findall(r"DB loaded from [^:]*: ([0-9.]+) seconds", text)
        return float(m[-1]) if m else None

    def dbsize(self):
        try:
            return self.mon.call("DBSIZE")
        except (OSError, ConnectionError):
            return -1

    def check_alive(self):
        if self.proc.poll() is not None:
            self.crashes.append((time.monotonic(), self.proc.returncode))
            self.failures.append("server exited unexpectedly with status %s" % self.proc.returncode)
            log("SERVER EXITED (status %s); restarting" % self.proc.returncode)
            self.restarts.append({"kill": time.monotonic(), "unplanned": True})
            t_spawn, t_ready = self.start_server()
            self.restarts[-1].update(ready=t_ready, load_s=t_ready - t_spawn, log_load_s=None, keys=-1)
            return False
        return True

    # -- hostile clients ---------------------------------------------------

    def open_slow_subscriber(self):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        # A small receive window, so the server's output buffer, not the
        # kernel's, is what grows.
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        s.settimeout(5)
        s.connect((HOST, self.port))
        s.sendall(enc("CLIENT", "SETNAME", "soak-slow") + enc("SUBSCRIBE", BUSY))
        self.slow = {"sock": s, "t": time.monotonic(), "cut": None, "seen": False}

    def check_slow_subscriber(self):
        if self.slow is None or self.slow["cut"] is not None:
            return
        listing = self.mon.call("CLIENT", "LIST", "TYPE", "pubsub").decode()
        line = next((x for x in listing.splitlines() if "name=soak-slow " in x + " "), None)
        if line:
            self.slow["seen"] = True
            m = re.search(r"\bomem=(\d+)", line)
            if m:
                self.max_omem = max(self.max_omem, int(m.group(1)))
            return
        if not self.slow["seen"]:
            # Its SUBSCRIBE may not have been read yet.
            if time.monotonic() - self.slow["t"] > 10:
                self.failures.append("the slow subscriber never showed in CLIENT LIST")
                self.slow["cut"] = -1
            return
        self.slow["cut"] = time.monotonic() - self.slow["t"]
        self.slow_results.append(self.slow["cut"])
        # It really is closed: after what was buffered, EOF.
        s, closed, deadline = self.slow["sock"], False, time.monotonic() + 10
        s.settimeout(1)
        while time.monotonic() < deadline:
            try:
                if not s.recv(1 << 20):
                    closed = True
                    break
            except socket.timeout:
                continue
            except OSError:
                closed = True
                break
        s.close()
        if not closed:
            self.failures.append("slow subscriber gone from CLIENT LIST but its socket is open")
        log("slow subscriber cut after %.1f s (socket closed: %s)" % (self.slow["cut"], closed))

    def open_half_stay(self):
        """Clients that send half a command and stay: `timeout` must close them."""
        for i in range(5):
            s = socket.create_connection((HOST, self.port), timeout=5)
            s.sendall(b"*3\r\n$3\r\nSET\r\n$4\r\nhalf\r\n$10\r\nabc" if i % 2 else b"*2\r\n$3\r\nGE")
            s.setblocking(False)
            self.half_stay.append((s, time.monotonic()))

    def check_half_stay(self, final=False):
        keep = []
        for s, t in self.half_stay:
            try:
                closed = s.recv(4096) == b""
            except BlockingIOError:
                closed = False
            except OSError:
                closed = True
            age = time.monotonic() - t
            if closed:
                self.half_stay_results.append(age)
                s.close()
            elif age > self.timeout + 15 or final:
                self.half_stay_results.append(None)
                s.close()
            else:
                keep.append((s, t))
        self.half_stay = keep

    def half_vanish_burst(self):
        """Half a command, then gone: alternately FIN and RST."""
        for i in range(3):
            try:
                s = socket.create_connection((HOST, self.port), timeout=2)
                s.sendall(b"*3\r\n$3\r\nSET\r\n$3\r\nfoo\r\n$100\r\nhalf" if i % 2 else b"*1\r\n$4\r\nPI")
                if i % 2:
                    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
                s.close()
                self.half_vanish += 1
            except OSError:
                pass

    def close_extras(self):
        self.check_half_stay(final=False)
        for s, _ in self.half_stay:
            s.close()
        self.half_stay = []
        if self.slow and self.slow["cut"] is None:
            self.slow["sock"].close()
            self.notes.append("a slow subscriber was still connected when its server was killed")
        self.slow = None

    # -- periodic work -----------------------------------------------------

    def background_jobs(self, now):
        """BGSAVE, then BGREWRITEAOF half an interval later."""
        phase = (now - self.inc_started) % self.bg_interval
        half = self.bg_interval / 2
        due = "bgsave" if phase < half else "bgrewriteaof"
        if self.bg_last_kind == due:
            return
        self.bg_last_kind = due
        cmd = ("BGSAVE", "SCHEDULE") if due == "bgsave" else ("BGREWRITEAOF",)
        r = self.mon.call(*cmd)
        if isinstance(r, Err):
            self.bg[due + "_refused"] += 1
            self.notes.append("%s refused: %s" % (due.upper(), r))
        else:
            self.bg[due + "_started"] += 1

    def sample(self, now):
        inf = info(self.mon)
        pid = self.proc.pid
        rss = rss_kb(pid)
        self.rss_peak = max(self.rss_peak, rss)
        for k in ("rdb_last_bgsave_status", "aof_last_bgrewrite_status", "aof_last_write_status"):
            if inf.get(k) not in ("ok", None):
                self.failures.append("%s:%s" % (k, inf.get(k)))
        self.last_stats = inf
        # "Settled": at maxmemory and evicting, with a BGSAVE and an AOF
        # rewrite done in this process (their buffers allocated once).
        if (not self.inc_settled and int(inf.get("evicted_keys", 0)) > 0
                and int(inf.get("rdb_saves", 0)) >= 1 and int(inf.get("aof_rewrites", 0)) >= 1
                and inf.get("rdb_bgsave_in_progress") == "0" and inf.get("aof_rewrite_in_progress") == "0"):
            self.inc_settled = True
            self.rss_settled.append((self.incarnation, rss))
        return inf, rss

    def end_of_incarnation(self, inf):
        self.evicted += int(inf.get("evicted_keys", 0))
        self.obuf_cuts += int(inf.get("client_output_buffer_limit_disconnections", 0))
        self.bg["rdb_saves"] += int(inf.get("rdb_saves", 0))
        self.bg["aof_rewrites"] += int(inf.get("aof_rewrites", 0))

    # -- the run -----------------------------------------------------------

    def prefill(self):
        """SETs until the server evicts, so every cycle runs at maxmemory."""
        c = Blocking(self.port, timeout=60)
        n = 0
        val = b"p" * 1000
        for _ in range(2000):  # at most 2M keys
            c.sock.sendall(b"".join(enc("SET", "s:%d" % ((n + i) % STRING_KEYS), val)
                                    for i in range(1000)))
            for _ in range(1000):
                c.read()
            n += 1000
            if n % 10000 == 0 and int(info(c, "stats").get("evicted_keys", 0)) > 0:
                break
        c.close()
        log("prefill: %d SETs until eviction started" % n)

    def run(self):
        a = self.a
        log("soak: %.1f min, %d cycles of %.0f s (kill -9 + restart between), BGSAVE/BGREWRITEAOF "
            "every %.0f s, timeout %d s, appendfsync always in cycle %d, %d clients, %d cmds/s offered; dir %s"
            % (self.minutes, self.cycles, self.cycle_len, self.bg_interval, self.timeout,
               self.always_cycle, a.clients, a.rate, self.tmp))
        self.loadavg_start = "%.1f" % os.getloadavg()[0]
        self.rev = git_rev()
        self.start_server()
        self.prefill()
        ctx = mp.get_context("fork")
        stop, hold = ctx.Event(), ctx.Event()
        load_rx, load_tx = ctx.Pipe(False)
        probe_rx, probe_tx = ctx.Pipe(False)
        loader = ctx.Process(target=load_main, args=(self.port, a.clients, a.rate, stop, hold, load_tx, a.seed))
        prober = ctx.Process(target=prober_main, args=(self.port, stop, probe_tx))
        loader.start()
        prober.start()
        self.t_start = time.monotonic()
        ack_result = None
        try:
            for cycle in range(1, self.cycles + 1):
                ack_result = self.run_cycle(cycle, ctx, hold) or ack_result
        finally:
            stop.set()
            load = load_rx.recv() if load_rx.poll(60) else None
            probes = probe_rx.recv() if probe_rx.poll(60) else []
            loader.join(10)
            prober.join(10)
            for p in (loader, prober):
                if p.is_alive():
                    p.terminate()
        self.t_end = time.monotonic()
        self.final_checks()
        return self.report(load, probes, ack_result)

    def run_cycle(self, cycle, ctx, hold):
        end = self.t_start + cycle * self.cycle_len
        always = cycle == self.always_cycle
        self.bg_last_kind = "bgrewriteaof"
        ack_proc = ack_stop = ack_rx = None
        if always:
            self.mon.call("CONFIG", "SET", "appendfsync", "always")
            log("cycle %d: appendfsync always; acknowledged-write recorder on" % cycle)
            ack_stop = ctx.Event()
            ack_rx, ack_tx = ctx.Pipe(False)
            ack_proc = ctx.Process(target=acker_main, args=(self.port, ack_stop, ack_tx))
            ack_proc.start()
        last_sample = last_vanish = 0.0
        last_log = time.monotonic()
        inf = {}
        while time.monotonic() < end:
            now = time.monotonic()
            if not self.check_alive():
                continue
            try:
                if now - self.inc_started > 1 and self.slow is None:
                    self.open_slow_subscriber()
                self.check_slow_subscriber()
                self.check_half_stay()
                self.background_jobs(now)
                if now - last_vanish >= 0.5:
                    self.half_vanish_burst()
                    last_vanish = now
                if now - last_sample >= 5:
                    inf, rss = self.sample(now)
                    last_sample = now
                    if now - last_log >= 30:
                        last_log = now
                        log("t=%4.0fs rss %6.1f MB used %s keys %s evicted %s ops/s %s clients %s"
                            % (now - self.t_start, rss / 1024, inf.get("used_memory_human"),
                               inf.get("db0", "").split(",")[0], inf.get("evicted_keys"),
                               inf.get("instantaneous_ops_per_sec"), inf.get("connected_clients")))
            except (OSError, ConnectionError) as e:
                # The monitor connection failed while the process lives: that is
                # the server not answering; the prober measures it.
                self.notes.append("monitor connection error at %.0f s: %s" % (now - self.t_start, e))
                try:
                    self.mon.close()
                    self.mon = Blocking(self.port, timeout=30)
                except OSError:
                    pass
            time.sleep(0.2)
        # End of the cycle.
        inf, rss = self.sample(time.monotonic())
        self.rss_cycle_end.append((self.incarnation, rss, int(inf.get("used_memory", 0))))
        self.end_of_incarnation(inf)
        log("cycle %d ends: rss %.1f MB, used_memory %s" % (cycle, rss / 1024, inf.get("used_memory_human")))
        if cycle == self.cycles:
            return None
        if not always:
            self.kill_and_restart()
            return None
        # The always-fsync kill: writers are running. Hold the load's
        # reconnects until the acknowledged writes have been read back.
        hold.set()
        r = self.kill_and_restart()
        ack_stop.set()
        rec = ack_rx.recv() if ack_rx.poll(30) else None
        ack_proc.join(10)
        if rec is None:
            self.failures.append("the acknowledged-write recorder did not report")
            hold.clear()
            return None
        checked, lost, details = verify_acked(self.mon, rec)
        hold.clear()
        log("always-fsync cycle: %d acknowledged writes checked, %d lost" % (checked, lost))
        for d in details:
            log("  " + d)
        if lost:
            self.failures.append("%d acknowledged writes lost after kill -9 with appendfsync always" % lost)
        if checked == 0:
            self.failures.append("no acknowledged write recorded in the always-fsync cycle")
        return {"checked": checked, "lost": lost, "details": details, "errors": rec["errors"],
                "load_s": r["load_s"]}

    def final_checks(self):
        # Nothing but the monitor should be left once the load is gone:
        # the half-command clients that vanished must not linger.
        self.check_half_stay(final=True)
        if self.slow:
            self.slow["sock"].close()
        time.sleep(2)
        try:
            n = int(info(self.mon, "clients").get("connected_clients", -1))
            self.leftover_clients = n
            if n > 3:
                listing = self.mon.call("CLIENT", "LIST").decode().splitlines()
                self.failures.append("%d clients still connected after the load stopped, e.g. %s"
                                     % (n, listing[:3]))
            r = self.mon.call("SHUTDOWN")
        except (OSError, ConnectionError):
            r = None
        try:
            code = self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            code = "hung"
        if code != 0:
            self.failures.append("SHUTDOWN: exit status %s (reply %r)" % (code, r))
        with open(self.logfile, errors="replace") as f:
            text = f.read()
        with open(os.path.join(self.tmp, "stdout.log"), errors="replace") as f:
            text += f.read()
        bad = [ln for ln in text.splitlines()
               if re.search(r"panicked|PANIC|Guru Meditation|stack backtrace|BUG", ln)]
        self.panics = bad
        if bad:
            self.failures.append("server log: %d panic lines, first: %s" % (len(bad), bad[0]))

    # -- summary -----------------------------------------------------------

    def report(self, load, probes, ack):
        rows = []

        def row(check, value, ok=True):
            rows.append((check, value, "ok" if ok is True else ("FAIL" if ok is False else ok)))
            if ok is False:
                self.failures.append("%s: %s" % (check, value))

        elapsed = self.t_end - self.t_start
        # Ops/s: replies the load clients received over the load's life.
        if load:
            st = load["stats"]
            ops = st.get("replies", 0) / max(1e-9, load["elapsed"])
            row("load", "%d clients (%s); %.0f commands/s answered over %.1f min (%d total)"
                % (sum(load["roles"].values()), ", ".join("%s %d" % kv for kv in sorted(load["roles"].items())),
                   ops, load["elapsed"] / 60, st.get("replies", 0)))
            row("blocking pops", "%d served, %d timed out" % (st.get("block_served", 0), st.get("block_timeout", 0)),
                st.get("block_served", 0) > 0 and st.get("block_timeout", 0) > 0)
            row("pub/sub messages received", "%d" % st.get("pubsub_messages", 0), st.get("pubsub_messages", 0) > 0)
            exp = {k[4:]: v for k, v in st.items() if k.startswith("err_")}
            row("expected error replies", ", ".join("%s %d" % kv for kv in sorted(exp.items())) or "none")
            err = load["errors"]
            row("unexpected error/bad replies",
                "none" if not err else "; ".join("%s x%d (%s)" % (k, v, load["samples"].get(k, "")[:120])
                                                 for k, v in err.items()), not err)
        else:
            row("load", "the load process did not report", False)
        # PING latency, planned restarts excluded: a probe counts as planned
        # if it was in flight between a kill and 1 s after the restarted
        # server answered.
        windows = [(r["kill"], r["ready"] + 1.0) for r in self.restarts]

        def planned(t, lat):
            t_end = t + (lat if lat is not None else PROBE_TIMEOUT)
            return any(t_end >= a and t <= b for a, b in windows)

        outside = [(t, lat) for t, lat in probes if not planned(t, lat)]
        lats = [lat for _, lat in outside if lat is not None]
        # A window without an answer: probes failing or slower than
        # --max-stall, back to back.
        gaps, cur = [], None
        for t, lat in outside:
            if lat is None or lat > self.a.max_stall:
                cur = cur or [t, t]
                cur[1] = t + (lat or PROBE_TIMEOUT)
            elif cur:
                gaps.append(cur)
                cur = None
        if cur:
            gaps.append(cur)
        if lats:
            row("PING every 100 ms (outside restarts)",
                "%d probes; p50 %.1f ms, p99 %.1f ms, worst %.1f ms; %d over 100 ms, %d over 1 s"
                % (len(outside), pct(lats, 0.5) * 1e3, pct(lats, 0.99) * 1e3, max(lats) * 1e3,
                   sum(1 for x in lats if x > 0.1), sum(1 for x in lats if x > 1.0)),
                max(lats) < self.a.max_stall)
        else:
            row("PING every 100 ms (outside restarts)", "no answer at all", False)
        row("windows without an answer within %.0f s (outside restarts)" % self.a.max_stall,
            "none" if not gaps else "; ".join("at %.0f s for %.1f s" % (g[0] - self.t_start, g[1] - g[0])
                                              for g in gaps[:5]), not gaps)
        planned_loads = [r for r in self.restarts if not r.get("unplanned")]
        row("kill -9 + restart", "%d; ready after %s s (AOF load logged: %s s)"
            % (len(planned_loads), ", ".join("%.2f" % r["load_s"] for r in planned_loads),
               ", ".join("%s" % r["log_load_s"] for r in planned_loads)), len(planned_loads) >= 1)
        # A kill -9 with appendfsync everysec may lose the last second of
        # writes, and keys expire while the server is down, but the dataset
        # must come back: most keys were written long before the kill.
        row("keys before -> after each restart",
            ", ".join("%d -> %d" % (r["keys_before"], r["keys"]) for r in planned_loads),
            all(r["keys"] >= 0.8 * r["keys_before"] for r in planned_loads))
        # Disconnects of established load connections outside the restarts
        # (the server may only close them when it is killed).
        if load:
            unplanned = [d for d in load["disconnects"] if not any(a - 0.5 <= d[0] <= b + 5 for a, b in windows)]
            row("load connections dropped outside restarts",
                "none" if not unplanned else "%d, e.g. %s" % (len(unplanned), unplanned[:3]), not unplanned)
        row("unplanned server exits", "none" if not self.crashes else str(self.crashes), not self.crashes)
        row("panic lines in the server log", "none" if not self.panics else self.panics[0][:150], not self.panics)
        if ack:
            row("acknowledged writes (appendfsync always, kill -9)",
                "%d checked, %d lost (restart ready after %.2f s)" % (ack["checked"], ack["lost"], ack["load_s"]),
                ack["lost"] == 0 and ack["checked"] > 0)
        else:
            row("acknowledged writes (appendfsync always, kill -9)", "not run", False)
        row("evicted keys (maxmemory %s, allkeys-lru)" % self.a.maxmemory, "%d" % self.evicted, self.evicted > 0)
        row("slow subscriber cut (pubsub 1mb 256kb 10)",
            "%d of %d cut, after %s s; peak omem seen %.0f kB; output-limit disconnections %d"
            % (sum(1 for x in self.slow_results if x is not None), len(self.slow_results),
               ", ".join("%.1f" % x for x in self.slow_results), self.max_omem / 1024, self.obuf_cuts),
            len(self.slow_results) >= 1 and self.obuf_cuts >= 1)
        ok_stay = [x for x in self.half_stay_results if x is not None]
        row("half command, then idle (timeout %d s)" % self.timeout,
            "%d of %d closed after %s s" % (len(ok_stay), len(self.half_stay_results),
                                             "%.1f-%.1f" % (min(ok_stay), max(ok_stay)) if ok_stay else "-"),
            bool(ok_stay) and len(ok_stay) == len(self.half_stay_results)
            and min(ok_stay) >= self.timeout - 1)
        row("half command, then gone (FIN/RST)", "%d; %s clients left at the end"
            % (self.half_vanish, getattr(self, "leftover_clients", "?")), self.half_vanish > 0)
        row("BGSAVE / BGREWRITEAOF", "%d / %d started, %d / %d completed"
            % (self.bg["bgsave_started"], self.bg["bgrewriteaof_started"], self.bg["rdb_saves"], self.bg["aof_rewrites"]),
            self.bg["rdb_saves"] > 0 and self.bg["aof_rewrites"] > 0)
        # RSS. Both figures are taken at the same point of a process's life:
        # the end of a cycle (the first process's, and the last one's), after
        # the same time under the same load, with the dataset held at
        # maxmemory by eviction in both. Comparing against the process's
        # start instead would count the dataset filling up, and against the
        # peak would count BGSAVE/rewrite buffers that come and go. A leak
        # per request or per connection grows with the time a process has
        # served, which restarts cut short, so each process is also compared
        # with itself: RSS when settled (evicting, one BGSAVE and one rewrite
        # done) against its end of cycle.
        first, last = self.rss_cycle_end[0], self.rss_cycle_end[-1]
        growth = last[1] / max(1, first[1]) - 1
        row("RSS end of first cycle -> end of run",
            "%.1f MB -> %.1f MB (%+.1f%%); used_memory %.1f MB -> %.1f MB; peak RSS %.1f MB"
            % (first[1] / 1024, last[1] / 1024, growth * 100, first[2] / 2**20, last[2] / 2**20, self.rss_peak / 1024),
            # Growth fails; a drop is shown but cannot be a leak (the first
            # process's heap is the one the prefill fragmented).
            growth <= 0.10)
        settled = dict(self.rss_settled)
        per = []
        for inc, rss, _ in self.rss_cycle_end:
            if inc in settled:
                per.append("%+.0f%%" % ((rss / settled[inc] - 1) * 100))
        row("RSS growth within each process (settled -> end of cycle)", ", ".join(per) or "not settled",
            "ok" if per else "n/a")
        if self.notes:
            row("notes", "; ".join(sorted(set(self.notes)))[:400], "info")
        lines = ["| check | result | |", "|---|---|---|"]
        lines += ["| %s | %s | %s |" % (c, v.replace("|", "/"), s) for c, v, s in rows]
        head = ("- %s, %.1f min (%d cycles, kill -9 between), %d clients offering %d cmds/s, maxmemory %s, "
                "git %s at start; load average at start %s, at end %s (2 shared cores)"
                % (time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), elapsed / 60, self.cycles,
                   self.a.clients, self.a.rate, self.a.maxmemory, self.rev, self.loadavg_start,
                   "%.1f" % os.getloadavg()[0]))
        table = "\n".join([head, ""] + lines)
        print()
        print(table)
        print()
        if self.failures:
            print("SOAK FAILED:")
            for f in dict.fromkeys(self.failures):
                print("  - " + f)
        else:
            print("SOAK PASSED")
        if self.a.results:
            write_results(table, self.failures)
        if not self.failures and not self.a.keep:
            shutil.rmtree(self.tmp, ignore_errors=True)
        return 1 if self.failures else 0


def git_rev():
    try:
        return subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"],
                              capture_output=True, text=True, timeout=10).stdout.strip()
    except OSError:
        return "?"


def write_results(table, failures):
    """Creates or replaces the `## Reliability` section of bench/results.md."""
    path = os.path.join(ROOT, "bench", "results.md")
    try:
        with open(path) as f:
            text = f.read()
    except FileNotFoundError:
        text = "# `make bench` results\n"
    section = ("## Reliability\n\n`make soak` (tests/soak/soak.py): %s.\n\n%s\n"
               % ("passed" if not failures else "FAILED: " + "; ".join(dict.fromkeys(failures)), table))
    m = re.search(r"^## Reliability\n.*?(?=^## |\Z)", text, flags=re.S | re.M)
    if m:
        text = text[:m.start()] + section + ("\n" if text[m.end():] else "") + text[m.end():]
    else:
        text = text.rstrip("\n") + "\n\n" + section
    with open(path, "w") as f:
        f.write(text)
    log("wrote the Reliability section of %s" % path)


def free_port():
    s = socket.socket()
    s.bind((HOST, 0))
    p = s.getsockname()[1]
    s.close()
    return p


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--minutes", type=float, default=float(os.environ.get("SOAK_MINUTES", 30)))
    ap.add_argument("--clients", type=int, default=int(os.environ.get("SOAK_CLIENTS", 500)))
    ap.add_argument("--rate", type=int, default=int(os.environ.get("SOAK_RATE", 8000)),
                    help="commands/s the mixed clients offer together")
    ap.add_argument("--maxmemory", default=os.environ.get("SOAK_MAXMEMORY", "64mb"))
    # The machine is shared (2 cores, other jobs): a PING can wait a second
    # for a CPU with the server healthy. 5 s without an answer is a hang.
    ap.add_argument("--max-stall", type=float, default=5.0,
                    help="worst PING latency (s) allowed outside restarts")
    ap.add_argument("--binary", default=os.path.join(ROOT, "target", "release", "redis-rust"))
    ap.add_argument("--results", action="store_true", help="write the summary into bench/results.md")
    ap.add_argument("--keep", action="store_true", help="keep the server's directory")
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, 65536)), hard))
    if not os.path.exists(a.binary):
        raise SystemExit("no %s: build it first (cargo build --release)" % a.binary)
    soak = Soak(a)
    try:
        code = soak.run()
    finally:
        if soak.proc and soak.proc.poll() is None:
            soak.proc.kill()
    sys.exit(code)


if __name__ == "__main__":
    main()
