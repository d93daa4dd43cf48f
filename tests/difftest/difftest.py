#!/usr/bin/env python3
"""Differential tester: the same random command stream to real Redis 8.0 and
to redis-rust, replies compared byte for byte.

Both servers start on free loopback ports with the same options. A seeded
generator (`Gen`) produces groups of commands over every command family; keys
come from small pools, so commands collide, convert encodings and hit
WRONGTYPE, and a share of commands is deliberately malformed (wrong arity, bad
numbers, unknown options) to compare error strings. The stream runs once with
RESP2 connections and once after HELLO 3, each time on fresh servers.

Most replies must be identical bytes. The few that legitimately differ go
through a comparator, each with a comment saying why (see "Comparators"):
random picks, hash-table iteration order (Redis seeds its hash function
randomly at startup), wall-clock times and TTLs, idle times, SCAN cursors.

Multi-connection interplay (blocked clients served by another client's push,
WATCH broken by another client, Pub/Sub and keyspace notifications) runs as
"episodes" whose steps are sequenced so that both servers see the same order.

Usage: difftest.py --redis PATH --ours PATH [--seed N] [--commands N]
                   [--protocols 2,3] [--max-diffs N]
Exit status 1 if any reply differed.
"""

import argparse
import hashlib
import os
import random
import select
import shutil
import socket
import subprocess
import sys
import tempfile
import time

# ---------------------------------------------------------------------------
# RESP client
# ---------------------------------------------------------------------------


class Incomplete(Exception):
    pass


def parse(buf, pos):
    """One reply from buf[pos:] as (tree, end). Trees are tuples (type, payload)
    with the RESP type byte as a one-character string."""
    if pos >= len(buf):
        raise Incomplete
    t = buf[pos]
    nl = buf.find(b"\r\n", pos)
    if nl < 0:
        raise Incomplete
    line = bytes(buf[pos + 1 : nl])
    p = nl + 2
    c = chr(t)
    if c in "+-:,#(":
        return (c, line), p
    if c in "$=!":
        n = int(line)
        if n < 0:
            return (c, None), p
        if len(buf) < p + n + 2:
            raise Incomplete
        return (c, bytes(buf[p : p + n])), p + n + 2
    if c == "_":
        return ("_", None), p
    if c in "*~>":
        n = int(line)
        if n < 0:
            return (c, None), p
        items = []
        for _ in range(n):
            v, p = parse(buf, p)
            items.append(v)
        return (c, tuple(items)), p
    if c in "%|":
        n = int(line)
        pairs = []
        for _ in range(n):
            k, p = parse(buf, p)
            v, p = parse(buf, p)
            pairs.append((k, v))
        if c == "|":
            # An attribute precedes the reply it annotates; we never ask for
            # any, but keep it visible to the comparison.
            v, p = parse(buf, p)
            return ("|", (tuple(pairs), v)), p
        return (c, tuple(pairs)), p
    raise ValueError("bad RESP type byte %r at %d: %r" % (c, pos, bytes(buf[pos : pos + 40])))


def encode(args):
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        if not isinstance(a, bytes):
            a = str(a).encode()
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)


class Conn:
    def __init__(self, port, timeout=20.0):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = bytearray()
        self.pos = 0

    def send(self, data):
        self.sock.sendall(data)

    def read(self):
        """The next reply as (raw bytes, tree)."""
        while True:
            try:
                v, p = parse(self.buf, self.pos)
            except Incomplete:
                chunk = self.sock.recv(1 << 16)
                if not chunk:
                    raise ConnectionError("server closed the connection")
                self.buf += chunk
                continue
            raw = bytes(self.buf[self.pos : p])
            self.pos = p
            if self.pos > 1 << 16:
                del self.buf[: self.pos]
                self.pos = 0
            return raw, v

    def call(self, *args):
        self.send(encode(args))
        return self.read()

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


# ---------------------------------------------------------------------------
# Servers
# ---------------------------------------------------------------------------


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Server:
    def __init__(self, name, binary, workdir):
        self.name = name
        self.binary = binary
        self.dir = os.path.join(workdir, name)
        os.makedirs(self.dir, exist_ok=True)
        self.proc = None
        self.port = None

    def start(self):
        for _ in range(10):
            port = free_port()
            log = open(os.path.join(self.dir, "server.log"), "ab")
            args = [
                os.path.abspath(self.binary),
                "--port", str(port),
                "--bind", "127.0.0.1",
                "--save", "",
                "--appendonly", "no",
                "--dir", self.dir,
                "--daemonize", "no",
                "--loglevel", "warning",
                "--enable-debug-command", "yes",
            ]
            self.proc = subprocess.Popen(args, stdout=log, stderr=log, cwd=self.dir)
            deadline = time.time() + 10
            while time.time() < deadline:
                if self.proc.poll() is not None:
                    break
                try:
                    c = Conn(port)
                    if c.call("PING")[0] == b"+PONG\r\n":
                        c.close()
                        self.port = port
                        return
                    c.close()
                except OSError:
                    time.sleep(0.05)
            self.stop()
        raise RuntimeError("%s (%s) did not start; see %s/server.log" % (self.name, self.binary, self.dir))

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None


# ---------------------------------------------------------------------------
# Comparators
#
# A comparator gets both reply trees (reference first) and a context dict
# (`prev`: the reference's reply to the previous command of the same group)
# and says whether they agree. Errors are never masked: a comparator only
# runs when neither reply is an error; otherwise raw bytes must be equal.
# ---------------------------------------------------------------------------


def is_err(t):
    return t[0] in "-!"


def sort_key(t):
    return repr(t)


def canon_unordered(t):
    """Top-level elements (or map pairs) as a sorted tuple."""
    if t[0] in "*~>" and t[1] is not None:
        return (t[0], tuple(sorted(t[1], key=sort_key)))
    if t[0] == "%":
        return (t[0], tuple(sorted(t[1], key=sort_key)))
    return t


def canon_pairs(t):
    """A flat RESP2 field/value array or a RESP3 map or array of pairs, as
    sorted pairs."""
    if t[0] == "*" and t[1] is not None:
        items = t[1]
        if items and items[0][0] == "*":  # RESP3 array of [field, value] pairs
            return ("*", tuple(sorted(items, key=sort_key)))
        pairs = [(items[i], items[i + 1]) for i in range(0, len(items) - 1, 2)]
        return ("*", tuple(sorted(pairs, key=sort_key)))
    return canon_unordered(t)


def deep_sort(t):
    """Every array and map sorted, recursively: for replies built from
    several dict iterations (FUNCTION LIST)."""
    c = t[0]
    if c in "*~>" and t[1] is not None:
        return (c, tuple(sorted((deep_sort(x) for x in t[1]), key=sort_key)))
    if c == "%":
        return (c, tuple(sorted(((deep_sort(k), deep_sort(v)) for k, v in t[1]), key=sort_key)))
    return t


def unordered(a, b, ctx):
    # Used where the order comes from a hash table: Redis seeds siphash
    # randomly at startup, so two Redis processes disagree on it too.
    return canon_unordered(a) == canon_unordered(b)


def unordered_pairs(a, b, ctx):
    # As `unordered`, for field/value (or member/score) pairs.
    return canon_pairs(a) == canon_pairs(b)


def unordered_deep(a, b, ctx):
    # FUNCTION LIST and PUBSUB CHANNELS list dict entries (libraries,
    # functions, channels) in hash-table order.
    return deep_sort(a) == deep_sort(b)


def hashtable_enc(ctx):
    p = ctx.get("prev")
    return p is not None and p[0] in "+$" and p[1] in (b"hashtable", b"skiplist")


def order_if_hashtable(a, b, ctx):
    # SMEMBERS/HKEYS/HVALS/SINTER...: exact for listpack and intset
    # encodings (insertion or numeric order), unordered only when the
    # reference reported a hashtable encoding just before (hash order is
    # random per process, see `unordered`).
    if a == b:
        return True
    return hashtable_enc(ctx) and canon_unordered(a) == canon_unordered(b)


def pairs_if_hashtable(a, b, ctx):
    # HGETALL: as order_if_hashtable, on field/value pairs.
    if a == b:
        return True
    return hashtable_enc(ctx) and canon_pairs(a) == canon_pairs(b)


def lex_range(a, b, ctx):
    # Lex ranges over members with different scores are unspecified (the
    # ZRANGEBYLEX docs); on a skiplist Redis's answer depends on the random
    # node levels. Exact unless the reference reported a skiplist just
    # before; a masked ZREMRANGEBYLEX resyncs the key.
    if a == b:
        return True
    p = ctx.get("prev")
    return "resync" if p is not None and p[0] in "+$" and p[1] == b"skiplist" else False


def any_encoding(a, b, ctx):
    # OBJECT ENCODING of a set built in hash-table order (Gen.hash_ordered).
    return a[0] == b[0]


def same_instant_race(a, b, ctx):
    # EXPIRE/PEXPIRE k N GT|LT against a TTL that an earlier EXPIRE k N
    # set: "now + N" is greater only if a millisecond (a second) passed in
    # between on that server, which scheduling decides; 0 and 1 both fit.
    return a[0] == b[0] == ":" and {a[1], b[1]} <= {b"0", b"1"}


def set_nosort(limit):
    # SORT of a set with a BY pattern that has no '*' (made by a mutation):
    # nothing is sorted, the set is read in its hash-table order (random
    # per process); with a LIMIT that also picks the members, so only the
    # count is compared.
    def cmp(a, b, ctx):
        if a == b:
            return True
        if a[0] != "*" or b[0] != "*":
            return False
        if limit:
            return len(a[1]) == len(b[1])
        return canon_unordered(a) == canon_unordered(b)

    return cmp


def sort_ties(limit):
    # SORT ... BY pattern ALPHA leaves elements whose weights are equal or
    # missing in input order (sortCompare returns 0 for them), and a set's
    # or sorted set's input order is its hash-table order (random). Exact
    # for lists; unordered when the reference's TYPE (sent just before)
    # was a set or zset, and with a LIMIT (which picks among the ties) only
    # the number of elements.
    def cmp(a, b, ctx):
        if a == b:
            return True
        p = ctx.get("prev")
        if p is None or p[1] not in (b"set", b"zset"):
            return False
        if limit:
            return a[0] == b[0] and len(a[1]) == len(b[1])
        return canon_unordered(a) == canon_unordered(b)

    return cmp


def num(t):
    try:
        return float(t[1])
    except (TypeError, ValueError):
        return None


def ttl_tolerance(tol):
    # TTL/PTTL/EXPIRETIME of a key given a relative expire: both servers
    # computed "now + N" at slightly different instants (and the clock moves
    # between set and read), so values may differ by scheduling jitter.
    # -1 and -2 (no expiry / no key) must match exactly.
    def cmp(a, b, ctx):
        if a == b:
            return True
        if a[0] != b[0]:
            return False
        if a[0] == ":":
            x, y = int(a[1]), int(b[1])
            return x >= 0 and y >= 0 and abs(x - y) <= tol
        if a[0] in "*~" and a[1] is not None and b[1] is not None and len(a[1]) == len(b[1]):
            return all(cmp(x, y, ctx) for x, y in zip(a[1], b[1]))
        return False

    return cmp


def same_shape(a, b, ctx):
    # A random pick (RANDOMKEY, SPOP without count): only null versus value
    # is deterministic.
    return a[0] == b[0] and (a[1] is None) == (b[1] is None)


def rand_count(count, with_pairs=False):
    # SRANDMEMBER/HRANDFIELD/ZRANDMEMBER/SPOP with a count: the picks are
    # random, but the number of picks is not, and when the count covers the
    # whole collection (ctx prev = its size, sent just before) the set of
    # picks is the collection itself.
    def cmp(a, b, ctx):
        if a[0] != b[0] or a[1] is None or b[1] is None:
            return a == b
        if len(a[1]) != len(b[1]):
            return False
        size = ctx.get("prev")
        if size is not None and size[0] == ":" and count >= 0 and count >= int(size[1]):
            if with_pairs:
                return canon_pairs(a) == canon_pairs(b)
            return canon_unordered(a) == canon_unordered(b)
        if count >= 0 and not with_pairs:
            # Distinct picks for a positive count.
            return len(set(map(sort_key, b[1]))) == len(b[1])
        return True

    return cmp


MASKED = ("masked", None)


def mask_fields(names):
    # Replaces the values of the named fields (in RESP3 maps and RESP2 flat
    # name/value arrays) before an exact comparison.
    names = set(n.encode() for n in names)

    def walk(t):
        c = t[0]
        if c == "%":
            return (c, tuple((k, MASKED if k[1] in names else walk(v)) for k, v in t[1]))
        if c in "*~" and t[1] is not None:
            items = list(t[1])
            if len(items) % 2 == 0 and all(items[i][0] in "+$" for i in range(0, len(items), 2)):
                out = []
                for i in range(0, len(items), 2):
                    out.append(items[i])
                    out.append(MASKED if items[i][1] in names else walk(items[i + 1]))
                return (c, tuple(out))
            return (c, tuple(walk(x) for x in items))
        return t

    def cmp(a, b, ctx):
        return walk(a) == walk(b)

    return cmp


def xpending_cmp(a, b, ctx):
    # XPENDING's extended form: [id, consumer, idle ms, deliveries]; the
    # idle time is wall-clock.
    def walk(t):
        if t[0] == "*" and t[1] is not None:
            return tuple(
                (x[1][0], x[1][1], x[1][3]) if x[0] == "*" and x[1] and len(x[1]) == 4 else x for x in t[1]
            )
        return t

    return walk(a) == walk(b)


def type_only(a, b, ctx):
    # OBJECT IDLETIME: seconds since last access, wall-clock.
    return a[0] == b[0]


# ---------------------------------------------------------------------------
# Known differences
#
# Bugs of ours that are understood but not fixed yet. They are not masks:
# each is counted and reported in the summary as KNOWN, but does not fail
# the run, so that the tester stays usable while they are open. Remove an
# entry when its bug is fixed.
# ---------------------------------------------------------------------------


def known_difference(args, a, b):
    name = args[0].upper()
    if name in (b"INCRBYFLOAT", b"HINCRBYFLOAT") and a[0] == "$" and b[0] == "$":
        # Redis adds in 80-bit long double and prints it with 17 digits
        # after the point, trailing zeros trimmed (ld2string's LD_STR_HUMAN);
        # we add in f64 and print the shortest form, so inexact sums differ
        # in the low digits (1000.09999999999999998 there, 1000.1 here;
        # 9223372036854775808 there, ...776000 here).
        try:
            x, y = float(a[1]), float(b[1])
        except (TypeError, ValueError):
            return None
        if abs(x - y) <= max(abs(x), 1.0) * 1e-15:
            return "INCRBYFLOAT/HINCRBYFLOAT: long double precision and %.17Lf formatting"
    return None


# ---------------------------------------------------------------------------
# Generator
# ---------------------------------------------------------------------------


class Cmd:
    """One command with an optional comparator (None: raw bytes)."""

    __slots__ = ("args", "cmp", "keys", "note")

    def __init__(self, args, cmp=None, keys=()):
        self.args = [a if isinstance(a, bytes) else str(a).encode() for a in args]
        self.cmp = cmp
        self.keys = keys
        self.note = None  # shown with a diff (EXEC: what was queued)


class Episode:
    """A multi-connection scenario run synchronously by the Runner."""

    def __init__(self, name, fn, keys=()):
        self.name = name
        self.fn = fn
        self.keys = keys


TYPES = ["s", "l", "h", "S", "z", "g", "p", "x", "b"]
POOL = {t: ["%s%d" % (t, i) for i in range(4)] for t in TYPES}
SHARED = ["k0", "k1", "k2"]
ALL_KEYS = [k for t in TYPES for k in POOL[t]] + SHARED
MEMBERS = ["a", "b", "c", "d", "e", "f", "1", "2", "3", "10", "-5", "foo"]
WORDS = ["", "a", "b", "hello", "world", "foo", "bar", "x" * 70, "1", "2", "-3", "10", "3.5", "1e3",
         "9223372036854775807", "-9223372036854775808", "18446744073709551616", "nan", "inf",
         "\x00bin\xff", " 7", "0x10"]
GARBAGE = ["abc", "", "-1", "0", "1.5", "99999999999999999999", "-", "+inf", "nan", "x" * 3]

SCRIPTS = [
    "return redis.call('GET', KEYS[1])",
    "return redis.call('INCR', KEYS[1])",
    "return redis.call('LPUSH', KEYS[1], ARGV[1])",
    "return redis.pcall('LPUSH', KEYS[1], ARGV[1])",
    "return {1, 2, {3, 'x'}, 'y', false}",
    "return 3.99",
    "return {err='My Error'}",
    "return {ok='fine'}",
    "return redis.status_reply('PONG')",
    "return redis.error_reply('custom error')",
    "return nil",
    "return false",
    "return true",
    "redis.setresp(3); return redis.call('HGETALL', KEYS[1])",
    "redis.setresp(3); return redis.call('ZRANGE', KEYS[1], 0, -1, 'WITHSCORES')",
    "redis.setresp(3); return redis.call('SMEMBERS', KEYS[1])",
    "return redis.call('ZRANGE', KEYS[1], 0, -1, 'WITHSCORES')",
    "return tonumber(ARGV[1]) + 1",
    "return #KEYS + #ARGV",
    "redis.call('SET', KEYS[1], ARGV[1]); return redis.call('GET', KEYS[1])",
    "return redis.sha1hex(ARGV[1])",
    "return {double=3.14}",
    "return {map={a=1}}",
    "return {set={a=true}}",
    "return redis.call('nosuchcommand')",
    "return +",
    "return redis.call('HSET', KEYS[1], 'f', ARGV[1])",
    "return redis.call('EXISTS', KEYS[1], KEYS[1])",
    "return cjson.encode({1, 2, 'x'})",
    "return redis.call('TYPE', KEYS[1])",
    "return redis.call('OBJECT', 'ENCODING', KEYS[1])",
    "error('raw lua error')",
    "return redis.call('XADD', KEYS[1], '1-1', 'f', 'v')",
    "return redis.call('RPOP', KEYS[1])",
    "local t = redis.call('LRANGE', KEYS[1], 0, -1); return #t",
]

LIBRARY = """#!lua name=%s
redis.register_function('%s_get', function(keys, args) return redis.call('GET', keys[1]) end)
redis.register_function{function_name='%s_len', callback=function(keys, args) return #args end, flags={'no-writes'}}
redis.register_function('%s_push', function(keys, args) return redis.call('RPUSH', keys[1], args[1]) end)
"""

ARITY = {
    # name: minimum arity (argc including the name); used for wrong-arity
    # errors.
    "get": 2, "set": 3, "setex": 4, "incr": 2, "incrby": 3, "append": 3, "getrange": 4,
    "lpush": 3, "lrange": 4, "lset": 4, "linsert": 5, "lpos": 3, "lmove": 5, "blpop": 3,
    "hset": 4, "hget": 3, "hexpire": 6, "hgetex": 5, "hsetex": 6, "hgetdel": 5,
    "sadd": 3, "smove": 4, "sintercard": 3, "zadd": 4, "zrange": 4, "zrangestore": 5,
    "zunion": 3, "zinterstore": 4, "geoadd": 5, "geosearch": 7, "geodist": 4, "pfadd": 2,
    "pfmerge": 2, "xadd": 5, "xrange": 4, "xreadgroup": 7, "xgroup": 2, "xclaim": 6,
    "xautoclaim": 6, "bitcount": 2, "bitop": 4, "bitfield": 2, "setbit": 4, "expire": 3,
    "copy": 3, "rename": 3, "restore": 4, "object": 2, "sort": 2, "eval": 3, "fcall": 3,
    "function": 2, "publish": 3, "pubsub": 2, "watch": 2, "lcs": 3, "getex": 2, "msetnx": 3,
    "zadd ": 4, "zrandmember": 2, "hrandfield": 2, "srandmember": 2, "spop": 2, "scan": 2,
    "hscan": 3, "dump": 2, "type": 2, "exists": 2, "ttl": 2, "xinfo": 2, "xtrim": 4,
    "zmpop": 4, "lmpop": 4, "blmpop": 5, "bzmpop": 5, "zinter": 3, "georadius": 6,
}


class Gen:
    def __init__(self, rng):
        self.r = rng
        self.stream_ms = 1
        self.libs = ["lib%d" % i for i in range(3)]
        # Sets written by SINTERSTORE/SUNIONSTORE/SDIFFSTORE (and copies of
        # them) until the generator deletes them: a source that is a hash
        # table hands its members over in Redis's randomly seeded hash
        # order, so even a listpack result has a per-process order, and
        # its encoding (ints first can overflow an intset) may differ.
        self.hash_ordered = set()
        self.hash_ordered_db1 = set()  # the same for db 1, behind SWAPDB
        self.families = [
            (self.strings, 10), (self.bitops, 4), (self.keyspace, 8), (self.lists, 9),
            (self.hashes, 9), (self.hash_ttl, 5), (self.sets, 8), (self.zsets, 10),
            (self.geo, 3), (self.hll, 3), (self.streams, 7), (self.pubsub_simple, 2),
            (self.multi, 3), (self.scripting, 4), (self.functions, 2), (self.sort, 3),
            (self.object, 3), (self.blocking, 3), (self.copy_rename, 3), (self.scan, 2),
            (self.dump_restore, 2), (self.random_picks, 3), (self.errors, 4), (self.config, 1),
            (self.episodes, 2),
        ]
        total = sum(w for _, w in self.families)
        self.cum = []
        acc = 0
        for f, w in self.families:
            acc += w
            self.cum.append((acc / total, f))

    # -- helpers ------------------------------------------------------------

    def key(self, t=None):
        r = self.r
        if t is None or r.random() < 0.15:
            return r.choice(ALL_KEYS)
        return r.choice(POOL[t])

    def mem(self):
        r = self.r
        if r.random() < 0.02:
            return "m" * 70  # past the listpack value limit: converts
        return r.choice(MEMBERS)

    def val(self):
        return self.r.choice(WORDS)

    def int_(self, lo=-5, hi=20):
        return str(self.r.randint(lo, hi))

    def score(self):
        r = self.r
        return r.choice(["0", "1", "2", "-1", "1.5", "-2.25", "3", "10", "100", "inf", "-inf", "0.1",
                         str(r.randint(-100, 100)), "1e2", "+inf"])

    def range_score(self):
        s = self.score()
        return ("(" + s) if self.r.random() < 0.3 else s

    def lex(self):
        r = self.r
        return r.choice(["-", "+", "[a", "(a", "[c", "(d", "[foo", "[1", "(3", "[", "a"])

    def maybe(self, p=0.5):
        return self.r.random() < p

    def expire_secs(self):
        # Far from any deadline the run could reach, or in the past (an
        # immediate delete): never a key that expires mid-run.
        return self.r.choice(["1000", "5000", "86400", "100000", "0", "-1"])

    def expire_ms(self):
        return self.r.choice(["1000000", "5000000", "0", "-5"])

    def unix_secs(self):
        return self.r.choice(["1", "100", "4000000000", "4100000000"])

    def unix_ms(self):
        return self.r.choice(["1", "1000", "4000000000000", "4100000000000"])

    def mutate(self, args):
        """A malformed variant: one argument replaced, dropped, or added."""
        r = self.r
        args = list(args)
        k = r.random()
        if k < 0.5 and len(args) > 1:
            args[r.randrange(1, len(args))] = r.choice(GARBAGE)
        elif k < 0.8 and len(args) > 1:
            del args[r.randrange(1, len(args))]
        else:
            args.insert(r.randrange(1, len(args) + 1), r.choice(GARBAGE + ["NX", "XX", "COUNT", "WITHSCORES"]))
        return args

    def c(self, *args, cmp=None, keys=(), mutable=True):
        args = list(args)
        if (cmp is None and len(args) == 3 and args[0] == "OBJECT" and args[1] == "ENCODING"
                and args[2] in self.hash_ordered):
            # Members reach a stored set in hash order, so whether it passed
            # the intset or listpack limits on the way is per process too.
            cmp = any_encoding
        if mutable and cmp is None and self.r.random() < 0.05:
            args = self.mutate(args)
            up = [str(a).upper() for a in args]
            if (up[0] in ("SORT", "SORT_RO") and len(args) > 1 and str(args[1]).startswith("S")
                    and "BY" in up[:-1] and "*" not in str(args[up.index("BY") + 1])):
                # The mutation made BY a pattern without '*': a set is then
                # not sorted but read in its hash-table order (random per
                # process); with a LIMIT that also picks which members.
                cmp = set_nosort("LIMIT" in up)
        if self.r.random() < 0.03:
            args[0] = "".join(ch.upper() if self.r.random() < 0.5 else ch.lower() for ch in args[0])
        return Cmd(args, cmp, keys)

    def next(self):
        x = self.r.random()
        for p, f in self.cum:
            if x <= p:
                return f()
        return self.cum[-1][1]()

    # -- families -----------------------------------------------------------

    def strings(self):
        r = self.r
        k = self.key("s")
        ch = r.randrange(22)
        if ch == 0:
            args = ["SET", k, self.val()]
            if self.maybe(0.3):
                args.append(r.choice(["NX", "XX"]))
            if self.maybe(0.2):
                args.append("GET")
            if self.maybe(0.3):
                opt = r.choice(["EX", "PX", "EXAT", "PXAT", "KEEPTTL"])
                args.append(opt)
                if opt == "EX":
                    args.append(self.expire_secs())
                elif opt == "PX":
                    args.append(self.expire_ms())
                elif opt == "EXAT":
                    args.append(self.unix_secs())
                elif opt == "PXAT":
                    args.append(self.unix_ms())
            if args[-1] in ("1", "100", "1000") and args[-2] in ("EXAT", "PXAT"):
                # SET with a time in the past stores a key that is already
                # expired; when it is reclaimed (so DBSIZE, which counts it
                # until then) is up to each server's active expiry. EXISTS
                # reclaims it on both at once (built directly: no draws
                # from the generator, so the stream stays as it was).
                return [self.c(*args, keys=(k,)), Cmd(["EXISTS", k], None, ())]
            return [self.c(*args, keys=(k,))]
        if ch == 1:
            return [self.c("GET", k)]
        if ch == 2:
            return [self.c(r.choice(["GETSET", "SETNX"]), k, self.val(), keys=(k,))]
        if ch == 3:
            return [self.c("GETDEL", k, keys=(k,))]
        if ch == 4:
            opt = r.choice([[], ["PERSIST"], ["EX", self.expire_secs()], ["PX", self.expire_ms()],
                            ["EXAT", self.unix_secs()], ["PXAT", self.unix_ms()]])
            return [self.c("GETEX", k, *opt, keys=(k,))]
        if ch == 5:
            return [self.c("SETEX", k, self.expire_secs(), self.val(), keys=(k,))]
        if ch == 6:
            return [self.c("PSETEX", k, self.expire_ms(), self.val(), keys=(k,))]
        if ch == 7:
            ks = [self.key("s") for _ in range(r.randint(1, 3))]
            args = [r.choice(["MSET", "MSETNX"])]
            for kk in ks:
                args += [kk, self.val()]
            return [self.c(*args, keys=tuple(ks))]
        if ch == 8:
            return [self.c("MGET", *[self.key("s") for _ in range(r.randint(1, 4))])]
        if ch == 9:
            return [self.c("APPEND", k, self.val(), keys=(k,))]
        if ch == 10:
            return [self.c("STRLEN", k)]
        if ch == 11:
            return [self.c(r.choice(["INCR", "DECR"]), k, keys=(k,))]
        if ch == 12:
            return [self.c(r.choice(["INCRBY", "DECRBY"]), k, r.choice(
                ["1", "-1", "100", "9223372036854775807", "-9223372036854775808", "x", "1.5"]), keys=(k,))]
        if ch == 13:
            return [self.c("INCRBYFLOAT", k, r.choice(["1", "-1.5", "0.1", "1e10", "3.0e-2", "inf", "abc", "5.0000"]),
                           keys=(k,))]
        if ch == 14:
            return [self.c(r.choice(["GETRANGE", "SUBSTR"]), k, self.int_(-10, 10), self.int_(-10, 20))]
        if ch == 15:
            return [self.c("SETRANGE", k, self.int_(0, 30), self.val(), keys=(k,))]
        if ch == 16:
            args = ["LCS", self.key("s"), self.key("s")]
            if self.maybe(0.3):
                args.append("LEN")
            elif self.maybe(0.5):
                args.append("IDX")
                if self.maybe():
                    args += ["MINMATCHLEN", self.int_(0, 3)]
                if self.maybe():
                    args.append("WITHMATCHLEN")
            return [self.c(*args)]
        if ch == 17:
            return [self.c("SET", k, self.r.choice(["12345", "-7", "abcdefghij", "3.25", "x" * 50]), keys=(k,))]
        if ch == 18:
            return [self.c("OBJECT", "ENCODING", k, mutable=False)]
        if ch == 19:
            return [self.c("SETNX", k, self.int_(), keys=(k,))]
        if ch == 20:
            return [self.c("INCRBY", k, self.int_(-100, 100), keys=(k,))]
        return [self.c("GET", self.key())]

    def bitops(self):
        r = self.r
        k = self.key("b")
        ch = r.randrange(9)
        if ch == 0:
            return [self.c("SETBIT", k, self.int_(0, 200), r.choice(["0", "1"]), keys=(k,))]
        if ch == 1:
            return [self.c("GETBIT", k, self.int_(0, 220))]
        if ch == 2:
            args = ["BITCOUNT", k]
            if self.maybe(0.6):
                args += [self.int_(-5, 10), self.int_(-5, 30)]
                if self.maybe(0.4):
                    args.append(r.choice(["BYTE", "BIT"]))
            return [self.c(*args)]
        if ch == 3:
            args = ["BITPOS", k, r.choice(["0", "1"])]
            if self.maybe(0.6):
                args.append(self.int_(-5, 10))
                if self.maybe(0.6):
                    args.append(self.int_(-5, 30))
                    if self.maybe(0.4):
                        args.append(r.choice(["BYTE", "BIT"]))
            return [self.c(*args)]
        if ch == 4:
            # Redis 8.0's operators only: we also accept 8.2's DIFF, DIFF1,
            # ANDOR and ONE, which 8.0 answers with a syntax error.
            op = r.choice(["AND", "OR", "XOR", "NOT"])
            dst = self.key("b")
            srcs = [self.key("b") for _ in range(1 if op == "NOT" else r.randint(1, 3))]
            return [self.c("BITOP", op, dst, *srcs, keys=(dst,))]
        if ch in (5, 6):
            args = [r.choice(["BITFIELD", "BITFIELD"]), k]
            for _ in range(r.randint(1, 3)):
                t = r.choice(["i5", "u8", "i16", "u1", "i64", "u63", "u64", "i8"])
                off = r.choice([self.int_(0, 100), "#" + self.int_(0, 5)])
                op = r.randrange(4)
                if op == 0:
                    args += ["GET", t, off]
                elif op == 1:
                    args += ["SET", t, off, self.int_(-300, 300)]
                elif op == 2:
                    args += ["INCRBY", t, off, self.int_(-300, 300)]
                else:
                    args += ["OVERFLOW", r.choice(["WRAP", "SAT", "FAIL"])]
            return [self.c(*args, keys=(k,))]
        if ch == 7:
            return [self.c("BITFIELD_RO", k, "GET", r.choice(["u8", "i4", "u16"]), self.int_(0, 60))]
        return [self.c("GET", k)]

    def keyspace(self):
        r = self.r
        k = self.key(r.choice(TYPES))
        ch = r.randrange(20)
        if ch == 0:
            ks = [self.key(r.choice(TYPES)) for _ in range(r.randint(1, 3))]
            return [self.c(r.choice(["DEL", "UNLINK"]), *ks, keys=tuple(ks))]
        if ch == 1:
            return [self.c("EXISTS", *[self.key(r.choice(TYPES)) for _ in range(r.randint(1, 3))])]
        if ch == 2:
            return [self.c("TYPE", k)]
        if ch in (3, 4):
            cmd = r.choice(["EXPIRE", "PEXPIRE", "EXPIREAT", "PEXPIREAT"])
            t = {"EXPIRE": self.expire_secs, "PEXPIRE": self.expire_ms, "EXPIREAT": self.unix_secs,
                 "PEXPIREAT": self.unix_ms}[cmd]()
            args = [cmd, k, t]
            if self.maybe(0.3):
                args.append(r.choice(["NX", "XX", "GT", "LT"]))
            cmp = same_instant_race if cmd in ("EXPIRE", "PEXPIRE") and args[-1] in ("GT", "LT") else None
            return [self.c(*args, cmp=cmp, keys=(k,))]
        if ch == 5:
            return [self.c("TTL", k, cmp=ttl_tolerance(2))]
        if ch == 6:
            return [self.c("PTTL", k, cmp=ttl_tolerance(2500))]
        if ch == 7:
            return [self.c("EXPIRETIME", k, cmp=ttl_tolerance(2))]
        if ch == 8:
            return [self.c("PEXPIRETIME", k, cmp=ttl_tolerance(2500))]
        if ch == 9:
            return [self.c("PERSIST", k, keys=(k,))]
        if ch == 10:
            return [self.c("DBSIZE")]
        if ch == 11:
            # KEYS walks the keyspace hash table: random order.
            return [self.c("KEYS", r.choice(["*", "s*", "?0", "[ab]*", "k*", "*1", "x[0-2]", "\\*"]), cmp=unordered)]
        if ch == 12:
            return [self.c("TOUCH", *[self.key(r.choice(TYPES)) for _ in range(r.randint(1, 3))])]
        if ch == 13:
            dst = self.key(r.choice(TYPES))
            return [self.c("SELECT", "1", mutable=False), self.c("SET", dst, self.val(), keys=(dst,)),
                    self.c("KEYS", "*", cmp=unordered), self.c("SELECT", "0", mutable=False)]
        if ch == 14:
            if k in self.hash_ordered:
                self.hash_ordered_db1.add(k)  # if it moves, its order goes along
            return [self.c("MOVE", k, r.choice(["1", "0", "99"]), keys=(k,))]
        if ch == 15:
            if self.maybe(0.1):
                self.hash_ordered, self.hash_ordered_db1 = self.hash_ordered_db1, self.hash_ordered
                return [self.c("SWAPDB", "0", "1", keys=tuple(ALL_KEYS))]
            return [self.c("DBSIZE")]
        if ch == 16:
            return [self.c("EXISTS", k)]
        if ch == 17:
            return [self.c("RANDOMKEY", cmp=same_shape)]
        if ch == 18:
            if self.maybe(0.05):
                return [self.c(r.choice(["FLUSHDB", "FLUSHALL"]), mutable=False, keys=tuple(ALL_KEYS))]
            return [self.c("TYPE", self.key())]
        return [self.c("EXISTS", k, k)]

    def lists(self):
        r = self.r
        k = self.key("l")
        ch = r.randrange(22)
        if ch in (0, 1):
            return [self.c(r.choice(["LPUSH", "RPUSH", "LPUSHX", "RPUSHX"]), k,
                           *[self.mem() for _ in range(r.randint(1, 5))], keys=(k,))]
        if ch == 2:
            args = [r.choice(["LPOP", "RPOP"]), k]
            if self.maybe(0.4):
                args.append(self.int_(-1, 5))
            return [self.c(*args, keys=(k,))]
        if ch == 3:
            return [self.c("LLEN", k)]
        if ch in (4, 5):
            return [self.c("LRANGE", k, self.int_(-8, 4), self.int_(-8, 10))]
        if ch == 6:
            return [self.c("LINDEX", k, self.int_(-6, 6))]
        if ch == 7:
            return [self.c("LSET", k, self.int_(-4, 4), self.mem(), keys=(k,))]
        if ch == 8:
            return [self.c("LINSERT", k, r.choice(["BEFORE", "AFTER"]), self.mem(), self.mem(), keys=(k,))]
        if ch == 9:
            return [self.c("LREM", k, self.int_(-3, 3), self.mem(), keys=(k,))]
        if ch == 10:
            return [self.c("LTRIM", k, self.int_(-5, 3), self.int_(-5, 20), keys=(k,))]
        if ch == 11:
            args = ["LPOS", k, self.mem()]
            if self.maybe():
                args += ["RANK", self.int_(-3, 3)]
            if self.maybe():
                args += ["COUNT", self.int_(0, 3)]
            if self.maybe(0.3):
                args += ["MAXLEN", self.int_(0, 5)]
            return [self.c(*args)]
        if ch == 12:
            dst = self.key("l")
            return [self.c("LMOVE", k, dst, r.choice(["LEFT", "RIGHT"]), r.choice(["LEFT", "RIGHT"]), keys=(k, dst))]
        if ch == 13:
            dst = self.key("l")
            return [self.c("RPOPLPUSH", k, dst, keys=(k, dst))]
        if ch == 14:
            ks = [self.key("l") for _ in range(r.randint(1, 3))]
            args = ["LMPOP", len(ks), *ks, r.choice(["LEFT", "RIGHT"])]
            if self.maybe():
                args += ["COUNT", self.int_(1, 4)]
            return [self.c(*args, keys=tuple(ks))]
        if ch == 15:
            # Many small elements, or a long one: quicklist conversions.
            if self.maybe():
                return [self.c("RPUSH", k, *[str(i) for i in range(r.randint(100, 200))], keys=(k,))]
            return [self.c("RPUSH", k, "v" * r.choice([60, 70, 9000]), keys=(k,))]
        if ch == 16:
            return [self.c("OBJECT", "ENCODING", k, mutable=False)]
        return [self.c("LRANGE", k, "0", "-1")]

    def hashes(self):
        r = self.r
        k = self.key("h")
        ch = r.randrange(22)
        if ch in (0, 1, 2):
            args = [r.choice(["HSET", "HSET", "HMSET"]), k]
            for _ in range(r.randint(1, 4)):
                args += [self.mem(), self.val()]
            return [self.c(*args, keys=(k,))]
        if ch == 3:
            return [self.c("HSETNX", k, self.mem(), self.val(), keys=(k,))]
        if ch == 4:
            return [self.c("HGET", k, self.mem())]
        if ch == 5:
            return [self.c("HMGET", k, *[self.mem() for _ in range(r.randint(1, 4))])]
        if ch == 6:
            return [self.c("HDEL", k, *[self.mem() for _ in range(r.randint(1, 3))], keys=(k,))]
        if ch == 7:
            return [self.c(r.choice(["HLEN", "HSTRLEN", "HEXISTS"]), k, *([] if self.maybe(0.3) else [self.mem()]))]
        if ch in (8, 9):
            cmd = r.choice(["HKEYS", "HVALS", "HGETALL"])
            cmp = pairs_if_hashtable if cmd == "HGETALL" else order_if_hashtable
            return [self.c("OBJECT", "ENCODING", k, mutable=False), self.c(cmd, k, cmp=cmp)]
        if ch == 10:
            return [self.c("HINCRBY", k, self.mem(), r.choice(["1", "-3", "100", "9223372036854775807", "x"]),
                           keys=(k,))]
        if ch == 11:
            return [self.c("HINCRBYFLOAT", k, self.mem(), r.choice(["1.5", "-3", "1e5", "abc", "0.1"]), keys=(k,))]
        if ch == 12:
            return [self.c("OBJECT", "ENCODING", k, mutable=False)]
        if ch == 13:
            fs = [self.mem() for _ in range(r.randint(1, 3))]
            return [self.c("HGETDEL", k, "FIELDS", len(fs), *fs, keys=(k,))]
        if ch == 14:
            fs = [self.mem() for _ in range(r.randint(1, 3))]
            return [self.c("HSET", k, *[x for f in fs for x in (f, self.int_())], keys=(k,))]
        if ch == 15:
            return [self.c("HSET", k, "f" + str(r.randint(0, 200)), "v", keys=(k,))]
        return [self.c("HGET", k, self.mem())]

    def hash_ttl(self):
        r = self.r
        k = self.key("h")
        fs = [self.mem() for _ in range(r.randint(1, 3))]
        nf = str(len(fs))
        if self.maybe(0.05):
            nf = r.choice(["0", "5", "-1", "x"])
        ch = r.randrange(8)
        if ch == 0:
            cmd = r.choice(["HEXPIRE", "HPEXPIRE", "HEXPIREAT", "HPEXPIREAT"])
            t = {"HEXPIRE": self.expire_secs, "HPEXPIRE": self.expire_ms, "HEXPIREAT": self.unix_secs,
                 "HPEXPIREAT": self.unix_ms}[cmd]()
            args = [cmd, k, t]
            if self.maybe(0.3):
                args.append(r.choice(["NX", "XX", "GT", "LT"]))
            return [self.c(*args, "FIELDS", nf, *fs, keys=(k,))]
        if ch == 1:
            cmd = r.choice(["HTTL", "HPTTL", "HEXPIRETIME", "HPEXPIRETIME"])
            tol = 2 if cmd in ("HTTL", "HEXPIRETIME") else 2500
            return [self.c(cmd, k, "FIELDS", nf, *fs, cmp=ttl_tolerance(tol))]
        if ch == 2:
            return [self.c("HPERSIST", k, "FIELDS", nf, *fs, keys=(k,))]
        if ch == 3:
            opt = r.choice([[], ["PERSIST"], ["EX", self.expire_secs()], ["PX", self.expire_ms()],
                            ["EXAT", self.unix_secs()], ["PXAT", self.unix_ms()]])
            return [self.c("HGETEX", k, *opt, "FIELDS", nf, *fs, keys=(k,))]
        if ch == 4:
            args = ["HSETEX", k]
            if self.maybe(0.3):
                args.append(r.choice(["FNX", "FXX"]))
            if self.maybe(0.6):
                opt = r.choice([["EX", self.expire_secs()], ["PX", self.expire_ms()], ["EXAT", self.unix_secs()],
                                ["PXAT", self.unix_ms()], ["KEEPTTL"]])
                args += opt
            args += ["FIELDS", nf]
            for f in fs:
                args += [f, self.val()]
            return [self.c(*args, keys=(k,))]
        if ch == 5:
            return [self.c("OBJECT", "ENCODING", k, mutable=False), self.c("HGETALL", k, cmp=pairs_if_hashtable)]
        if ch == 6:
            return [self.c("HLEN", k)]
        return [self.c("HMGET", k, *fs)]

    def sets(self):
        r = self.r
        k = self.key("S")
        ch = r.randrange(20)
        if ch in (0, 1, 2):
            return [self.c("SADD", k, *[self.mem() for _ in range(r.randint(1, 5))], keys=(k,))]
        if ch == 3:
            return [self.c("SREM", k, *[self.mem() for _ in range(r.randint(1, 3))], keys=(k,))]
        if ch == 4:
            return [self.c("SCARD", k)]
        if ch == 5:
            return [self.c("SISMEMBER", k, self.mem())]
        if ch == 6:
            return [self.c("SMISMEMBER", k, *[self.mem() for _ in range(r.randint(1, 3))])]
        if ch in (7, 8):
            return [self.c("OBJECT", "ENCODING", k, mutable=False), self.c("SMEMBERS", k, cmp=self.set_order(k))]
        if ch == 9:
            dst = self.key("S")
            return [self.c("SMOVE", k, dst, self.mem(), keys=(k, dst))]
        if ch == 10:
            ks = [self.key("S") for _ in range(r.randint(1, 3))]
            # The result is a new set: its order is that of a temporary
            # hash table, or of an intset/listpack; sort both.
            return [self.c(r.choice(["SINTER", "SUNION", "SDIFF"]), *ks, cmp=unordered)]
        if ch == 11:
            dst = self.key("S")
            ks = [self.key("S") for _ in range(r.randint(1, 3))]
            self.hash_ordered.add(dst)
            return [self.c(r.choice(["SINTERSTORE", "SUNIONSTORE", "SDIFFSTORE"]), dst, *ks, keys=(dst,))]
        if ch == 12:
            ks = [self.key("S") for _ in range(r.randint(1, 3))]
            args = ["SINTERCARD", len(ks), *ks]
            if self.maybe():
                args += ["LIMIT", self.int_(0, 3)]
            return [self.c(*args)]
        if ch == 13:
            # Integers only: intset, and its conversions.
            return [self.c("SADD", k, *[str(r.randint(-20, 600)) for _ in range(r.randint(1, 8))], keys=(k,))]
        if ch == 14:
            return [self.c("OBJECT", "ENCODING", k, mutable=False)]
        if ch == 15:
            if self.maybe(0.2):
                return [self.c("SADD", k, *[str(i) for i in range(r.randint(100, 600))], keys=(k,))]
            return [self.c("SADD", k, *["m%d" % r.randint(0, 300) for _ in range(20)], keys=(k,))]
        return [self.c("SISMEMBER", k, self.mem())]

    def zsets(self):
        r = self.r
        k = self.key("z")
        ch = r.randrange(30)
        if ch in (0, 1, 2):
            args = ["ZADD", k]
            if self.maybe(0.3):
                args.append(r.choice(["NX", "XX"]))
            if self.maybe(0.2):
                args.append(r.choice(["GT", "LT"]))
            if self.maybe(0.2):
                args.append("CH")
            n = r.randint(1, 4)
            if self.maybe(0.15):
                args.append("INCR")
                n = 1
            for _ in range(n):
                args += [self.score(), self.mem()]
            return [self.c(*args, keys=(k,))]
        if ch == 3:
            return [self.c("ZINCRBY", k, self.score(), self.mem(), keys=(k,))]
        if ch == 4:
            return [self.c("ZREM", k, *[self.mem() for _ in range(r.randint(1, 3))], keys=(k,))]
        if ch == 5:
            return [self.c(r.choice(["ZCARD", "ZSCORE"]), k, *([] if self.maybe(0.4) else [self.mem()]))]
        if ch == 6:
            return [self.c("ZMSCORE", k, *[self.mem() for _ in range(r.randint(1, 3))])]
        if ch == 7:
            args = [r.choice(["ZRANK", "ZREVRANK"]), k, self.mem()]
            if self.maybe(0.4):
                args.append("WITHSCORE")
            return [self.c(*args)]
        if ch == 8:
            return [self.c("ZCOUNT", k, self.range_score(), self.range_score())]
        if ch == 9:
            return [self.c("OBJECT", "ENCODING", k, mutable=False),
                    self.c("ZLEXCOUNT", k, self.lex(), self.lex(), cmp=lex_range, keys=(k,))]
        if ch in (10, 11, 12):
            mode = r.randrange(3)
            args = ["ZRANGE", k]
            if mode == 0:
                args += [self.int_(-5, 3), self.int_(-5, 8)]
            elif mode == 1:
                args += [self.range_score(), self.range_score(), "BYSCORE"]
            else:
                args += [self.lex(), self.lex(), "BYLEX"]
            if self.maybe(0.3):
                args.append("REV")
            if mode and self.maybe(0.3):
                args += ["LIMIT", self.int_(-1, 3), self.int_(-1, 4)]
            if mode != 2 and self.maybe(0.4):
                args.append("WITHSCORES")
            if mode == 2:
                return [self.c("OBJECT", "ENCODING", k, mutable=False), self.c(*args, cmp=lex_range, keys=(k,))]
            return [self.c(*args)]
        if ch == 13:
            cmd = r.choice(["ZRANGEBYSCORE", "ZREVRANGEBYSCORE"])
            args = [cmd, k, self.range_score(), self.range_score()]
            if self.maybe(0.4):
                args.append("WITHSCORES")
            if self.maybe(0.3):
                args += ["LIMIT", self.int_(0, 3), self.int_(-1, 4)]
            return [self.c(*args)]
        if ch == 14:
            args = [r.choice(["ZRANGEBYLEX", "ZREVRANGEBYLEX"]), k, self.lex(), self.lex()]
            if self.maybe(0.3):
                args += ["LIMIT", self.int_(0, 3), self.int_(-1, 4)]
            return [self.c("OBJECT", "ENCODING", k, mutable=False), self.c(*args, cmp=lex_range, keys=(k,))]
        if ch == 15:
            args = ["ZREVRANGE", k, self.int_(-5, 3), self.int_(-5, 8)]
            if self.maybe(0.4):
                args.append("WITHSCORES")
            return [self.c(*args)]
        if ch == 16:
            dst = self.key("z")
            args = ["ZRANGESTORE", dst, k]
            if self.maybe():
                args += [self.int_(-5, 3), self.int_(-5, 8)]
            else:
                args += [self.range_score(), self.range_score(), "BYSCORE"]
            return [self.c(*args, keys=(dst,))]
        if ch == 17:
            cmd = r.choice(["ZREMRANGEBYRANK", "ZREMRANGEBYSCORE", "ZREMRANGEBYLEX"])
            if cmd == "ZREMRANGEBYRANK":
                a = [self.int_(-5, 3), self.int_(-5, 5)]
            elif cmd == "ZREMRANGEBYSCORE":
                a = [self.range_score(), self.range_score()]
            else:
                a = [self.lex(), self.lex()]
                return [self.c("OBJECT", "ENCODING", k, mutable=False), self.c(cmd, k, *a, cmp=lex_range, keys=(k,))]
            return [self.c(cmd, k, *a, keys=(k,))]
        if ch == 18:
            args = [r.choice(["ZPOPMIN", "ZPOPMAX"]), k]
            if self.maybe(0.5):
                args.append(self.int_(-1, 4))
            return [self.c(*args, keys=(k,))]
        if ch == 19:
            ks = [self.key("z") for _ in range(r.randint(1, 3))]
            args = ["ZMPOP", len(ks), *ks, r.choice(["MIN", "MAX"])]
            if self.maybe():
                args += ["COUNT", self.int_(1, 4)]
            return [self.c(*args, keys=tuple(ks))]
        if ch in (20, 21):
            cmd = r.choice(["ZUNION", "ZINTER", "ZDIFF"])
            ks = [self.key(r.choice(["z", "z", "S"])) for _ in range(r.randint(1, 3))]
            args = [cmd, len(ks), *ks]
            if cmd != "ZDIFF" and self.maybe(0.3):
                args += ["WEIGHTS", *[r.choice(["1", "2", "-1", "0.5", "0"]) for _ in ks]]
            if cmd != "ZDIFF" and self.maybe(0.3):
                args += ["AGGREGATE", r.choice(["SUM", "MIN", "MAX"])]
            if self.maybe(0.5):
                args.append("WITHSCORES")
            return [self.c(*args)]
        if ch == 22:
            cmd = r.choice(["ZUNIONSTORE", "ZINTERSTORE", "ZDIFFSTORE"])
            dst = self.key("z")
            ks = [self.key(r.choice(["z", "z", "S"])) for _ in range(r.randint(1, 3))]
            args = [cmd, dst, len(ks), *ks]
            if cmd != "ZDIFFSTORE" and self.maybe(0.3):
                args += ["AGGREGATE", r.choice(["SUM", "MIN", "MAX"])]
            return [self.c(*args, keys=(dst,))]
        if ch == 23:
            ks = [self.key("z") for _ in range(r.randint(1, 3))]
            args = ["ZINTERCARD", len(ks), *ks]
            if self.maybe():
                args += ["LIMIT", self.int_(0, 3)]
            return [self.c(*args)]
        if ch == 24:
            return [self.c("OBJECT", "ENCODING", k, mutable=False)]
        if ch == 25:
            args = ["ZADD", k]
            for i in range(r.randint(100, 160)):
                args += [str(r.randint(0, 50)), "n%d" % i]
            return [self.c(*args, keys=(k,))]
        return [self.c("ZRANGE", k, "0", "-1", "WITHSCORES")]

    def geo(self):
        r = self.r
        k = self.key("g")
        ch = r.randrange(10)

        def lon():
            return r.choice(["13.361389", "15.087269", "13.5", "14.0", "-73.9", "200", "12.758489"])

        def lat():
            return r.choice(["38.115556", "37.502669", "38.0", "37.9", "40.7", "86", "38.788135"])

        unit = r.choice(["m", "km", "mi", "ft"])
        if ch in (0, 1):
            args = ["GEOADD", k]
            if self.maybe(0.2):
                args.append(r.choice(["NX", "XX"]))
            if self.maybe(0.2):
                args.append("CH")
            for _ in range(r.randint(1, 3)):
                args += [lon(), lat(), self.mem()]
            return [self.c(*args, keys=(k,))]
        if ch == 2:
            return [self.c("GEOPOS", k, *[self.mem() for _ in range(r.randint(1, 3))])]
        if ch == 3:
            args = ["GEODIST", k, self.mem(), self.mem()]
            if self.maybe():
                args.append(unit)
            return [self.c(*args)]
        if ch == 4:
            return [self.c("GEOHASH", k, *[self.mem() for _ in range(r.randint(1, 3))])]
        if ch in (5, 6, 7):
            store = ch == 7
            dst = self.key("g")
            args = ["GEOSEARCHSTORE", dst, k] if store else ["GEOSEARCH", k]
            if self.maybe():
                args += ["FROMMEMBER", self.mem()]
            else:
                args += ["FROMLONLAT", lon(), lat()]
            if self.maybe():
                args += ["BYRADIUS", r.choice(["10", "100", "200", "1000", "0"]), unit]
            else:
                args += ["BYBOX", r.choice(["10", "200", "400"]), r.choice(["10", "300"]), unit]
            args.append(r.choice(["ASC", "DESC"]))
            if self.maybe(0.4):
                args += ["COUNT", self.int_(1, 4)]
            if not store:
                for o in ("WITHCOORD", "WITHDIST", "WITHHASH"):
                    if self.maybe(0.4):
                        args.append(o)
            elif self.maybe(0.3):
                args.append("STOREDIST")
            return [self.c(*args, keys=(dst,) if store else ())]
        if ch == 8:
            args = ["GEORADIUS", k, lon(), lat(), r.choice(["100", "500"]), unit, "ASC"]
            if self.maybe(0.5):
                args.append("WITHDIST")
            return [self.c(*args)]
        return [self.c("GEORADIUSBYMEMBER_RO", k, self.mem(), "300", "km", "WITHCOORD", "ASC")]

    def hll(self):
        r = self.r
        k = self.key("p")
        ch = r.randrange(6)
        if ch in (0, 1):
            return [self.c("PFADD", k, *[self.val() if self.maybe(0.3) else str(r.randint(0, 3000))
                                         for _ in range(r.randint(0, 6))], keys=(k,))]
        if ch == 2:
            return [self.c("PFCOUNT", *[self.key("p") for _ in range(r.randint(1, 3))])]
        if ch == 3:
            dst = self.key("p")
            return [self.c("PFMERGE", dst, *[self.key("p") for _ in range(r.randint(0, 3))], keys=(dst,))]
        if ch == 4:
            # The HLL representation itself (sparse or dense) is compared.
            return [self.c("GET", k)]
        return [self.c("PFADD", k, *[str(r.randint(0, 100000)) for _ in range(r.randint(50, 200))], keys=(k,))]

    def stream_id(self):
        r = self.r
        self.stream_ms += r.randint(0, 2)
        x = r.random()
        if x < 0.6:
            return "%d-%d" % (self.stream_ms, r.randint(0, 3))
        if x < 0.9:
            return "%d-*" % self.stream_ms
        return r.choice(["0-1", "0-0", "1-0", "5", "abc", "%d" % self.stream_ms])

    def any_id(self):
        return self.r.choice(["-", "+", "0", "0-0", "%d" % max(1, self.stream_ms - self.r.randint(0, 10)),
                              "%d-1" % max(1, self.stream_ms - self.r.randint(0, 10)), "(%d" % self.stream_ms])

    def streams(self):
        r = self.r
        k = self.key("x")
        g = r.choice(["g1", "g2"])
        cons = r.choice(["c1", "c2", "c3"])
        ch = r.randrange(24)
        if ch in (0, 1, 2, 3):
            args = ["XADD", k]
            if self.maybe(0.1):
                args.append("NOMKSTREAM")
            if self.maybe(0.15):
                args += [r.choice(["MAXLEN", "MINID"]), r.choice(["=", "~", ""]) or "=",
                         self.int_(0, 10) if self.maybe() else "%d" % (self.stream_ms - 3)]
            args.append(self.stream_id())
            for _ in range(r.randint(1, 3)):
                args += [r.choice(["f", "g", "name", "n"]), self.val()]
            return [self.c(*[a for a in args if a != ""], keys=(k,))]
        if ch == 4:
            return [self.c("XLEN", k)]
        if ch in (5, 6):
            cmd = r.choice(["XRANGE", "XREVRANGE"])
            args = [cmd, k, self.any_id(), self.any_id()]
            if self.maybe(0.4):
                args += ["COUNT", self.int_(0, 4)]
            return [self.c(*args)]
        if ch == 7:
            return [self.c("XDEL", k, *[self.any_id() for _ in range(r.randint(1, 2))], keys=(k,))]
        if ch == 8:
            args = ["XTRIM", k, r.choice(["MAXLEN", "MINID"]), r.choice(["=", "~"]),
                    self.int_(0, 6) if self.maybe() else "%d" % (self.stream_ms - 5)]
            if self.maybe(0.2):
                args += ["LIMIT", self.int_(0, 5)]
            return [self.c(*args, keys=(k,))]
        if ch == 9:
            args = ["XREAD"]
            if self.maybe(0.4):
                args += ["COUNT", self.int_(1, 3)]
            ks = [self.key("x") for _ in range(r.randint(1, 2))]
            args += ["STREAMS", *ks, *[self.any_id() if self.maybe(0.8) else "$" for _ in ks]]
            return [self.c(*args)]
        if ch == 10:
            sub = r.choice(["CREATE", "CREATE", "SETID", "DESTROY", "CREATECONSUMER", "DELCONSUMER"])
            if sub == "CREATE":
                args = ["XGROUP", "CREATE", k, g, r.choice(["$", "0", "-", self.any_id()])]
                if self.maybe(0.4):
                    args.append("MKSTREAM")
                if self.maybe(0.2):
                    args += ["ENTRIESREAD", self.int_(0, 5)]
            elif sub == "SETID":
                args = ["XGROUP", "SETID", k, g, r.choice(["$", "0", self.any_id()])]
            elif sub == "DESTROY":
                args = ["XGROUP", "DESTROY", k, g]
            else:
                args = ["XGROUP", sub, k, g, cons]
            return [self.c(*args, keys=(k,))]
        if ch in (11, 12):
            args = ["XREADGROUP", "GROUP", g, cons]
            if self.maybe(0.4):
                args += ["COUNT", self.int_(1, 3)]
            if self.maybe(0.2):
                args.append("NOACK")
            args += ["STREAMS", k, r.choice([">", ">", "0", self.any_id()])]
            return [self.c(*args, keys=(k,))]
        if ch == 13:
            return [self.c("XACK", k, g, *[self.any_id() for _ in range(r.randint(1, 3))], keys=(k,))]
        if ch == 14:
            return [self.c("XPENDING", k, g)]
        if ch == 15:
            args = ["XPENDING", k, g]
            if self.maybe(0.3):
                args += ["IDLE", "0"]
            args += [r.choice(["-", self.any_id()]), r.choice(["+", self.any_id()]), self.int_(0, 5)]
            if self.maybe(0.4):
                args.append(cons)
            return [self.c(*args, cmp=xpending_cmp)]
        if ch == 16:
            args = ["XCLAIM", k, g, cons, "0", *[self.any_id() for _ in range(r.randint(1, 2))]]
            if self.maybe(0.3):
                args.append("JUSTID")
            if self.maybe(0.2):
                args += ["RETRYCOUNT", self.int_(0, 5)]
            if self.maybe(0.2):
                args.append("FORCE")
            return [self.c(*args, keys=(k,))]
        if ch == 17:
            args = ["XAUTOCLAIM", k, g, cons, "0", r.choice(["0", "0-0", self.any_id()])]
            if self.maybe(0.4):
                args += ["COUNT", self.int_(1, 5)]
            if self.maybe(0.3):
                args.append("JUSTID")
            return [self.c(*args, keys=(k,))]
        if ch == 18:
            # radix-tree-keys/nodes are sizes of Redis's rax, an internal
            # structure (and the reply sizes track its node splitting).
            return [self.c("XINFO", "STREAM", k, cmp=mask_fields(["radix-tree-keys", "radix-tree-nodes"]))]
        if ch == 19:
            return [self.c("XINFO", "GROUPS", k)]
        if ch == 20:
            # Consumers' idle/inactive are wall-clock milliseconds.
            return [self.c("XINFO", "CONSUMERS", k, g, cmp=mask_fields(["idle", "inactive"]))]
        if ch == 21:
            args = ["XSETID", k, r.choice(["%d-5" % self.stream_ms, "0-1", "%d" % (self.stream_ms + 5)])]
            if self.maybe(0.3):
                args += ["ENTRIESADDED", self.int_(0, 100), "MAXDELETEDID", "0-1"]
            return [self.c(*args, keys=(k,))]
        return [self.c("XRANGE", k, "-", "+")]

    def pubsub_simple(self):
        r = self.r
        ch = r.randrange(5)
        if ch == 0:
            return [self.c(r.choice(["PUBLISH", "SPUBLISH"]), r.choice(["ch1", "ch2", "x"]), self.val())]
        if ch == 1:
            return [self.c("PUBSUB", "NUMSUB", *[r.choice(["ch1", "ch2", "x"]) for _ in range(r.randint(0, 3))])]
        if ch == 2:
            return [self.c("PUBSUB", "SHARDNUMSUB", *[r.choice(["ch1", "ch2"]) for _ in range(r.randint(0, 2))])]
        if ch == 3:
            return [self.c("PUBSUB", r.choice(["CHANNELS", "SHARDCHANNELS"]), *([] if self.maybe() else ["ch*"]),
                           cmp=unordered)]
        return [self.c("PUBSUB", "NUMPAT")]

    def multi(self):
        r = self.r
        out = []
        if self.maybe(0.3):
            out.append(self.c("WATCH", *[self.key(r.choice(TYPES)) for _ in range(r.randint(1, 2))], mutable=False))
            if self.maybe(0.3):
                # A write of our own after WATCH aborts the EXEC too.
                out += self.strings()
        out.append(self.c("MULTI", mutable=self.maybe(0.1)))
        for _ in range(r.randint(0, 5)):
            fam = r.choice([self.strings, self.lists, self.hashes, self.sets, self.zsets, self.keyspace,
                            self.streams, self.bitops])
            cmds = fam()
            if len(cmds) == 1 and cmds[0].cmp is None:
                out += cmds
            elif self.maybe(0.1):
                out.append(self.c("WATCH", "k0", mutable=False))  # an error inside MULTI
        if self.maybe(0.1):
            out.append(self.c("MULTI", mutable=False))  # nested: an error, queued nothing
        out.append(self.c(r.choice(["EXEC"] * 5 + ["DISCARD"]), mutable=False))
        if self.maybe(0.1):
            out.append(self.c(r.choice(["EXEC", "DISCARD", "UNWATCH"]), mutable=False))
        # A diff in a queued command shows in EXEC's reply too; any key
        # touched may need a resync.
        keys = tuple(k for c in out for k in c.keys)
        out[-1].keys = keys
        out[-1].note = "; ".join(cmd_text(c.args, 100) for c in out[:-1])
        return out

    def scripting(self):
        r = self.r
        script = r.choice(SCRIPTS)
        ks = [self.key(r.choice(["s", "l", "h", "z", "S"])) for _ in range(r.randint(1, 2))]
        argv = [self.val() if self.maybe(0.5) else self.int_()]
        ch = r.randrange(6)
        # HGETALL/SMEMBERS inside a script: hash-table order, random for a
        # hashtable encoding (see `unordered`).
        cmp = unordered_pairs if "HGETALL" in script else unordered if "SMEMBERS" in script else None
        if ch in (0, 1, 2):
            cmd = "EVAL" if self.maybe(0.85) else "EVAL_RO"
            return [self.c(cmd, script, len(ks), *ks, *argv, keys=tuple(ks), cmp=cmp)]
        sha = hashlib.sha1(script.encode()).hexdigest()
        if ch == 3:
            return [self.c("SCRIPT", "LOAD", script), self.c("EVALSHA", sha, len(ks), *ks, *argv, keys=tuple(ks),
                                                             cmp=cmp)]
        if ch == 4:
            return [self.c("EVALSHA", sha if self.maybe() else "ffffffffffffffffffffffffffffffffffffffff", len(ks),
                           *ks, *argv, keys=tuple(ks), cmp=cmp)]
        return [self.c("SCRIPT", "EXISTS", sha, hashlib.sha1(b"x").hexdigest())]

    def functions(self):
        r = self.r
        lib = r.choice(self.libs)
        ch = r.randrange(7)
        if ch == 0:
            args = ["FUNCTION", "LOAD"]
            if self.maybe(0.5):
                args.append("REPLACE")
            args.append(LIBRARY % (lib, lib, lib, lib))
            return [self.c(*args)]
        if ch in (1, 2):
            k = self.key(r.choice(["s", "l"]))
            fn = r.choice(["_get", "_len", "_push"])
            cmd = r.choice(["FCALL", "FCALL", "FCALL_RO"])
            return [self.c(cmd, lib + fn, "1", k, self.val(), keys=(k,))]
        if ch == 3:
            args = ["FUNCTION", "LIST"]
            if self.maybe(0.3):
                args += ["LIBRARYNAME", "lib"]
            if self.maybe(0.3):
                args.append("WITHCODE")
            return [self.c(*args, cmp=unordered_deep)]
        if ch == 4:
            return [self.c("FUNCTION", "DELETE", lib)]
        if ch == 5 and self.maybe(0.2):
            # Redis 8.0.6 crashes (SIGSEGV in freeClient) on FUNCTION FLUSH
            # when the function engine's last redis.call was refused for a
            # non-string argument, e.g. a mutated "FCALL lib0_get 0" (keys[1]
            # is nil): luaRedisGenericCommand returns early leaving the engine
            # client's argc set and argv NULL, and the flush frees that client.
            # A good redis.call first resets it; these two are built without
            # self.c so the random stream stays what it was.
            k = "s0"
            return [Cmd(["FUNCTION", "LOAD", "REPLACE", LIBRARY % (lib, lib, lib, lib)]),
                    Cmd(["FCALL", lib + "_get", "1", k], keys=(k,)),
                    self.c("FUNCTION", "FLUSH")]
        return [self.c("FCALL", "nosuchfunction", "0")]

    def sort(self):
        r = self.r
        k = self.key(r.choice(["l", "S", "z"]))
        args = [r.choice(["SORT", "SORT", "SORT_RO"]), k]
        if self.maybe(0.3):
            args += ["BY", r.choice(["s*", "nosort", "h*->a", "k*"])]
            if args[-1] == "nosort" and not k.startswith("l"):
                # Set order under nosort is hash order (random): sort values.
                args[-1] = "s*"
        if self.maybe(0.3):
            args += ["LIMIT", self.int_(-1, 3), self.int_(-1, 5)]
        for _ in range(r.choice([0, 0, 1, 2])):
            args += ["GET", r.choice(["#", "s*", "h*->a", "nokey*"])]
        if self.maybe(0.3):
            args.append(r.choice(["ASC", "DESC"]))
        if self.maybe(0.5):
            args.append("ALPHA")
        keys = ()
        if args[0] == "SORT" and self.maybe(0.2):
            dst = self.key("l")
            args += ["STORE", dst]
            keys = (dst,)
        if "BY" in args and "ALPHA" in args:
            if keys:
                # The stored list would differ in the same way: compare
                # its length, then drop it.
                return [self.c("TYPE", k, mutable=False), self.c(*args, mutable=False),
                        self.c("DEL", *keys, mutable=False)]
            return [self.c("TYPE", k, mutable=False), self.c(*args, cmp=sort_ties("LIMIT" in args), mutable=False)]
        return [self.c(*args, keys=keys)]

    def object(self):
        r = self.r
        k = self.key(r.choice(TYPES))
        ch = r.randrange(6)
        if ch in (0, 1, 2):
            return [self.c("OBJECT", "ENCODING", k)]
        if ch == 3:
            return [self.c("OBJECT", "FREQ", k)]  # an error without an LFU policy
        if ch == 4:
            return [self.c("OBJECT", "IDLETIME", k, cmp=type_only)]
        return [self.c("OBJECT", r.choice(["REFCOUNT", "nosuch", "ENCODING"]), k)]

    def blocking(self):
        # Short timeouts: they either find data or time out after 10 ms on
        # both servers (the pipeline behind them waits the same way).
        r = self.r
        ch = r.randrange(8)
        t = r.choice(["0.01", "0.01", "0.02"])
        if ch == 0:
            ks = [self.key("l") for _ in range(r.randint(1, 2))]
            return [self.c(r.choice(["BLPOP", "BRPOP"]), *ks, t, keys=tuple(ks), mutable=False)]
        if ch == 1:
            a, b = self.key("l"), self.key("l")
            return [self.c("BLMOVE", a, b, r.choice(["LEFT", "RIGHT"]), r.choice(["LEFT", "RIGHT"]), t, keys=(a, b),
                           mutable=False)]
        if ch == 2:
            a, b = self.key("l"), self.key("l")
            return [self.c("BRPOPLPUSH", a, b, t, keys=(a, b), mutable=False)]
        if ch == 3:
            ks = [self.key("l") for _ in range(r.randint(1, 2))]
            args = ["BLMPOP", t, len(ks), *ks, r.choice(["LEFT", "RIGHT"])]
            if self.maybe():
                args += ["COUNT", self.int_(1, 3)]
            return [self.c(*args, keys=tuple(ks), mutable=False)]
        if ch == 4:
            ks = [self.key("z") for _ in range(r.randint(1, 2))]
            return [self.c(r.choice(["BZPOPMIN", "BZPOPMAX"]), *ks, t, keys=tuple(ks), mutable=False)]
        if ch == 5:
            ks = [self.key("z") for _ in range(r.randint(1, 2))]
            args = ["BZMPOP", t, len(ks), *ks, r.choice(["MIN", "MAX"])]
            if self.maybe():
                args += ["COUNT", self.int_(1, 3)]
            return [self.c(*args, keys=tuple(ks), mutable=False)]
        if ch == 6:
            k = self.key("x")
            return [self.c("XREAD", "BLOCK", "10", "STREAMS", k, r.choice(["$", "0", "+", self.any_id()]),
                           mutable=False)]
        k = self.key("x")
        return [self.c("XREADGROUP", "GROUP", "g1", "c1", "BLOCK", "10", "STREAMS", k, ">", keys=(k,), mutable=False)]

    def set_order(self, k):
        """SMEMBERS' comparator for set `k` (see `hash_ordered`)."""
        return unordered if k in self.hash_ordered else order_if_hashtable

    def copy_rename(self):
        r = self.r
        t = r.choice(TYPES)
        a, b = self.key(t), self.key(t)
        if a in self.hash_ordered:
            self.hash_ordered.add(b)
        ch = r.randrange(4)
        if ch == 0:
            return [self.c(r.choice(["RENAME", "RENAMENX"]), a, b, keys=(a, b))]
        if ch == 1:
            args = ["COPY", a, b]
            if self.maybe(0.2):
                args += ["DB", r.choice(["0", "1"])]
            if self.maybe(0.4):
                args.append("REPLACE")
            return [self.c(*args, keys=(a, b))]
        if ch == 2:
            return [self.c("COPY", a, b, "REPLACE", keys=(b,)), self.c("OBJECT", "ENCODING", b)]
        return [self.c("RENAME", a, a, keys=(a,))]

    def scan(self):
        r = self.r
        ch = r.randrange(4)
        count = r.choice([None, "1", "3", "10", "0", "-1"])
        match = r.choice([None, "*", "s*", "?1", "a*", "1*"])
        if ch == 0:
            opts = []
            if match:
                opts += ["MATCH", match]
            if count:
                opts += ["COUNT", count]
            if self.maybe(0.3):
                opts += ["TYPE", r.choice(["string", "list", "hash", "set", "zset", "stream", "nosuch"])]
            return Episode("SCAN", lambda run: run.full_scan(["SCAN"], opts, False))
        t = {1: "S", 2: "h", 3: "z"}[ch]
        cmd = {1: "SSCAN", 2: "HSCAN", 3: "ZSCAN"}[ch]
        k = self.key(t)
        opts = []
        if match:
            opts += ["MATCH", match]
        if count:
            opts += ["COUNT", count]
        pairs = ch != 1
        if ch == 2 and self.maybe(0.3):
            opts.append("NOVALUES")
            pairs = False
        return Episode(cmd, lambda run: run.full_scan([cmd, k], opts, pairs))

    def dump_restore(self):
        k = self.key(self.r.choice(TYPES))
        dst = self.key(self.r.choice(TYPES))
        opts = self.r.choice([[], [], ["ABSTTL"], ["IDLETIME", "100"], ["FREQ", "5"], ["IDLETIME", "-1"]])
        # A relative TTL far beyond the run: a key that expired mid-run
        # would leave each server's active expiry to decide when it goes.
        ttl = self.r.choice(["0", "0", "100000000", "-1"])
        if "ABSTTL" in opts:
            ttl = self.r.choice(["0", "4000000000000", "1"])
        loose = k in self.hash_ordered
        if loose:
            self.hash_ordered.add(dst)  # RESTORE copies order and encoding
        return Episode("DUMP", lambda run: run.dump_restore(k, dst, ttl, opts, loose), keys=(k, dst))

    def random_picks(self):
        r = self.r
        ch = r.randrange(5)
        count = r.choice([None, "1", "3", "-3", "10", "0", "-10"])
        if ch == 0:
            k = self.key("S")
            if count is None:
                return [self.c("SRANDMEMBER", k, cmp=same_shape)]
            return [self.c("SCARD", k, mutable=False), self.c("SRANDMEMBER", k, count, cmp=rand_count(int(count)))]
        if ch == 1:
            k = self.key("h")
            if count is None:
                return [self.c("HRANDFIELD", k, cmp=same_shape)]
            args = ["HRANDFIELD", k, count]
            wv = self.maybe()
            if wv:
                args.append("WITHVALUES")
            return [self.c("HLEN", k, mutable=False), self.c(*args, cmp=rand_count(int(count), wv))]
        if ch == 2:
            k = self.key("z")
            if count is None:
                return [self.c("ZRANDMEMBER", k, cmp=same_shape)]
            args = ["ZRANDMEMBER", k, count]
            ws = self.maybe()
            if ws:
                args.append("WITHSCORES")
            return [self.c("ZCARD", k, mutable=False), self.c(*args, cmp=rand_count(int(count), ws))]
        k = self.key("S")
        # SPOP removes random members: the sets diverge, so the key is
        # deleted right after (its contents were compared just before).
        if count is None or count.startswith("-"):
            pop = self.c("SPOP", k, cmp=same_shape)
        else:
            pop = self.c("SPOP", k, count, cmp=rand_count(int(count)))
        members = self.c("SMEMBERS", k, cmp=self.set_order(k))
        self.hash_ordered.discard(k)
        return [self.c("OBJECT", "ENCODING", k, mutable=False), members,
                self.c("SCARD", k, mutable=False), pop, self.c("DEL", k, keys=(k,), mutable=False)]

    def errors(self):
        r = self.r
        ch = r.randrange(6)
        if ch in (0, 1):
            name = r.choice(list(ARITY)).strip()
            n = ARITY[name.strip()] - 1
            args = [name] + [self.key() for _ in range(r.randint(0, max(0, n - 1)))]
            if len(args) >= ARITY[name.strip()]:
                args = args[: ARITY[name.strip()] - 1]
            return [self.c(*args, mutable=False)]
        if ch == 2:
            return [self.c(r.choice(["NOSUCHCMD", "foo", "GETT"]), *[self.val() for _ in range(r.randint(0, 3))],
                           mutable=False)]
        if ch == 3:
            cmd = r.choice(["OBJECT", "XINFO", "XGROUP", "PUBSUB", "SCRIPT", "FUNCTION", "CONFIG", "CLIENT",
                            "COMMAND", "MEMORY"])
            return [self.c(cmd, r.choice(["nosuch", "HELPX", "x"]), mutable=False)]
        if ch == 4:
            return [self.c(r.choice(["GET", "LLEN", "HLEN", "SCARD", "ZCARD", "XLEN", "PFCOUNT"]),
                           r.choice(ALL_KEYS), mutable=False)]
        return [self.c(r.choice(["OBJECT", "XINFO", "PUBSUB", "SCRIPT", "FUNCTION", "XGROUP"]), "HELP",
                       mutable=False)]

    def config(self):
        r = self.r
        name, vals = r.choice([
            ("list-max-listpack-size", ["-2", "4", "128", "-1", "1"]),
            ("hash-max-listpack-entries", ["128", "4", "0", "512"]),
            ("hash-max-listpack-value", ["64", "5"]),
            ("set-max-intset-entries", ["512", "4"]),
            ("set-max-listpack-entries", ["128", "3"]),
            ("set-max-listpack-value", ["64", "2"]),
            ("zset-max-listpack-entries", ["128", "2", "0"]),
            ("zset-max-listpack-value", ["64", "3"]),
            ("stream-node-max-entries", ["100", "2", "5"]),
            ("list-compress-depth", ["0", "1", "2"]),
        ])
        if self.maybe(0.2):
            return [self.c("CONFIG", "GET", name)]
        return [self.c("CONFIG", "SET", name, r.choice(vals), mutable=False)]

    def episodes(self):
        r = self.r
        ch = r.randrange(4)
        if ch == 0:
            return self.block_episode()
        if ch == 1:
            return self.pubsub_episode()
        if ch == 2:
            return self.watch_episode()
        return self.notify_episode()

    def block_episode(self):
        r = self.r
        kind = r.randrange(6)
        if kind == 0:
            ks = [self.key("l") for _ in range(r.randint(1, 2))]
            block = [r.choice(["BLPOP", "BRPOP"]), *ks, "5"]
        elif kind == 1:
            ks = [self.key("l")]
            block = ["BLMOVE", ks[0], self.key("l"), "LEFT", r.choice(["LEFT", "RIGHT"]), "5"]
        elif kind == 2:
            ks = [self.key("z") for _ in range(r.randint(1, 2))]
            block = [r.choice(["BZPOPMIN", "BZPOPMAX"]), *ks, "5"]
        elif kind == 3:
            ks = [self.key("z")]
            block = ["BZMPOP", "5", "1", ks[0], "MAX", "COUNT", "2"]
        elif kind == 4:
            ks = [self.key("x")]
            block = ["XREAD", "COUNT", "2", "BLOCK", "5000", "STREAMS", ks[0], "$"]
        else:
            ks = [self.key("x")]
            block = ["XREADGROUP", "GROUP", "g1", r.choice(["c1", "c2"]), "BLOCK", "5000", "STREAMS", ks[0], ">"]
        two = self.maybe(0.3)
        pushes = []
        for _ in range(r.randint(1, 3)):
            k = r.choice(ks) if self.maybe(0.8) else self.key()
            x = r.randrange(8)
            if x == 0:
                pushes.append(Cmd(["RPUSH", k, self.mem(), self.mem()]))
            elif x == 1:
                pushes.append(Cmd(["ZADD", k, self.score(), self.mem()]))
            elif x == 2:
                pushes.append(Cmd(["XADD", k, self.stream_id(), "f", self.val()]))
            elif x == 3:
                pushes.append(Cmd(["SET", k, "v"]))
            elif x == 4:
                pushes.append(Cmd(["DEL", k]))
            elif x == 5:
                pushes.append(Cmd(["EVAL", "redis.call('RPUSH', KEYS[1], 'a'); return redis.call('LPUSH', KEYS[1], 'b')",
                                   "1", k]))
            elif x == 6:
                pushes.append(Cmd(["XGROUP", "CREATE", k, "g1", "$", "MKSTREAM"]))
            else:
                pushes += [Cmd(["MULTI"]), Cmd(["LPUSH", k, "m1"]), Cmd(["ZADD", k, "1", "m"]), Cmd(["EXEC"])]
        return Episode("BLOCK:" + block[0], lambda run: run.block_episode(block, two, pushes), keys=tuple(ALL_KEYS))

    def pubsub_episode(self):
        r = self.r
        subs = []
        for _ in range(r.randint(1, 3)):
            x = r.randrange(3)
            if x == 0:
                subs.append(["SUBSCRIBE", *r.sample(["ch1", "ch2", "news.a"], r.randint(1, 2))])
            elif x == 1:
                subs.append(["PSUBSCRIBE", r.choice(["ch*", "news.*", "c?1", "*"])])
            else:
                subs.append(["SSUBSCRIBE", r.choice(["ch1", "sh2"])])
        steps = []
        for _ in range(r.randint(1, 5)):
            x = r.randrange(6)
            if x < 3:
                steps.append(("pub", [r.choice(["PUBLISH", "PUBLISH", "SPUBLISH"]),
                                      r.choice(["ch1", "ch2", "news.a", "sh2", "other"]), self.val()]))
            elif x == 3:
                steps.append(("main", ["PUBSUB", "NUMSUB", "ch1", "ch2", "news.a"]))
            elif x == 4:
                steps.append(("main", ["PUBSUB", r.choice(["NUMPAT", "SHARDNUMSUB"]), "sh2"][: r.choice([2, 3])]))
            else:
                steps.append(("sub", [r.choice(["PING", "GET"])]))
        unsub = r.choice([["UNSUBSCRIBE"], ["UNSUBSCRIBE", "ch1"], ["PUNSUBSCRIBE"], ["SUNSUBSCRIBE"],
                          ["UNSUBSCRIBE", "nosuch"]])
        return Episode("PUBSUB", lambda run: run.pubsub_episode(subs, steps, unsub))

    def watch_episode(self):
        r = self.r
        t = r.choice(["s", "l", "h", "z"])
        k = self.key(t)
        other = [self.strings, self.lists, self.hashes, self.zsets, self.keyspace][["s", "l", "h", "z", "s"].index(t)]()
        other = [c for c in other if c.cmp is None]
        queued = [c for c in self.strings() + self.lists() if c.cmp is None]
        return Episode("WATCH", lambda run: run.watch_episode(k, other, queued), keys=tuple(ALL_KEYS))

    def notify_episode(self):
        r = self.r
        flags = r.choice(["KEA", "Kg$lshzxe", "E$", "Kl", "Eh", "KEAmnt", "Exe", "KEz", "Kt", "Ed"])
        cmds = []
        for _ in range(r.randint(3, 10)):
            fam = r.choice([self.strings, self.lists, self.hashes, self.hash_ttl, self.sets, self.zsets,
                            self.keyspace, self.streams, self.copy_rename, self.bitops, self.hll])
            group = fam()
            if isinstance(group, list) and all(c.cmp is None for c in group) and \
                    not any(c.args[0].upper() in (b"SELECT", b"SWAPDB", b"FLUSHALL", b"FLUSHDB") for c in group):
                cmds += group
        return Episode("NOTIFY", lambda run: run.notify_episode(flags, cmds), keys=tuple(ALL_KEYS))


# ---------------------------------------------------------------------------
# Runner
# ---------------------------------------------------------------------------


def show(raw, limit=400):
    s = repr(raw)
    return s if len(s) <= limit else s[:limit] + "...(%d bytes)" % len(raw)


def cmd_text(args, limit=300):
    s = " ".join(a.decode() if a and all(33 <= ch < 127 for ch in a) else repr(a.decode("latin-1"))
                 for a in args)
    return s if len(s) <= limit else s[:limit] + "..."


class Diffs:
    def __init__(self, seed, max_diffs, max_shown_per_group=3):
        self.seed = seed
        self.max = max_diffs
        self.per_group = max_shown_per_group
        self.groups = {}
        self.total = 0
        self.known = {}

    def add_known(self, proto, index, reason, what, ref, ours):
        n = self.known.get(reason, 0)
        self.known[reason] = n + 1
        if n == 0:
            print("KNOWN seed=%d resp=%d index=%d %s\n  command: %s\n  redis:   %s\n  ours:    %s" % (
                self.seed, proto, index, reason, what, show(ref), show(ours)), flush=True)

    def add(self, proto, index, name, what, ref, ours):
        self.total += 1
        g = self.groups.setdefault(name, 0)
        self.groups[name] = g + 1
        if g < self.per_group:
            print("DIFF seed=%d resp=%d index=%d %s\n  command: %s\n  redis:   %s\n  ours:    %s" % (
                self.seed, proto, index, name, what, show(ref), show(ours)), flush=True)

    def full(self):
        return self.total >= self.max


class Runner:
    def __init__(self, args, proto, diffs):
        self.proto = proto
        self.diffs = diffs
        self.batch = args.batch
        self.trace = args.trace.encode() if args.trace else None
        self.strict_dump = args.strict_dump
        self.index = 0  # commands sent to each server so far
        self.workdir = tempfile.mkdtemp(prefix="difftest-")
        self.servers = [Server("redis", args.redis, self.workdir), Server("ours", args.ours, self.workdir)]
        for s in self.servers:
            s.start()
        self.conns = {}
        for name in ("main", "aux", "aux2", "sub"):
            self.conns[name] = [self.connect(s) for s in self.servers]
        self.ids = {name: [int(c.call("CLIENT", "ID")[1][1]) for c in pair] for name, pair in self.conns.items()}

    def connect(self, server):
        c = Conn(server.port)
        if self.proto == 3:
            raw, t = c.call("HELLO", "3")
            if is_err(t):
                raise RuntimeError("HELLO 3 failed on %s: %r" % (server.name, raw))
        return c

    def close(self):
        for pair in self.conns.values():
            for c in pair:
                c.close()
        for s in self.servers:
            s.stop()
        shutil.rmtree(self.workdir, ignore_errors=True)

    # -- comparison ---------------------------------------------------------

    def check(self, args, a, b, cmp=None, prev=None, name=None, keys=(), note=None):
        """Compares replies a and b (raw, tree); records a diff and deletes
        `keys` on both servers so one bug does not cascade."""
        if a[0] == b[0]:
            return True
        if cmp is not None and not is_err(a[1]) and not is_err(b[1]):
            ok = cmp(a[1], b[1], {"prev": prev})
            if ok == "resync":
                # An accepted difference that leaves the key different.
                self.resync(keys)
                return True
            if ok:
                return True
        name = name or args[0].decode("latin-1").upper()
        text = cmd_text(args) + ("\n  after:   " + note if note else "")
        reason = known_difference(args, a[1], b[1])
        if reason is None and self.pending_resync & set(args):
            # The key already differs by a known difference earlier in
            # this batch; it is deleted on both servers after the batch.
            reason = "follows a known difference on the same key in the batch"
        if (reason is None and self.pending_resync
                and args[0].upper() in (b"KEYS", b"SCAN", b"DBSIZE", b"RANDOMKEY")):
            # A keyspace-wide read sees that key too (say a ZREMRANGEBYLEX
            # over mixed scores, which Redis's random skiplist levels
            # decide, emptied it on one server only).
            reason = "keyspace read after a known difference in the batch"
        if reason:
            self.diffs.add_known(self.proto, self.index, reason, text, a[0], b[0])
            self.resync(keys)
            return False
        self.diffs.add(self.proto, self.index, name, text, a[0], b[0])
        self.resync(keys)
        return False

    def resync(self, keys):
        if not keys:
            return
        self.pending_resync.update(k if isinstance(k, bytes) else k.encode() for k in keys)

    def flush_resync(self):
        if self.pending_resync:
            ks = sorted(self.pending_resync)
            self.pending_resync = set()
            for c in self.conns["main"]:
                c.call("DEL", *ks)

    # -- running ------------------------------------------------------------

    def run_batch(self, cmds):
        data = b"".join(encode(c.args) for c in cmds)
        pair = self.conns["main"]
        for c in pair:
            c.send(data)
        replies = [[c.read() for _ in cmds] for c in pair]
        prev = None
        for i, cmd in enumerate(cmds):
            self.index += 1
            a, b = replies[0][i], replies[1][i]
            if self.trace is not None and self.trace in cmd.args:
                print("TRACE %d %s\n   redis %s\n   ours  %s" % (self.index, cmd_text(cmd.args), show(a[0], 200),
                                                              show(b[0], 200)))
            self.check(cmd.args, a, b, cmd.cmp, prev, keys=cmd.keys, note=cmd.note)
            prev = a[1]
        self.flush_resync()
        # The keysizes histograms follow every change of every key: a write
        # path that forgets to recount shows here. (Redis 8.0's own counts
        # drift, so ours are checked against our keyspace, not against it.)
        raw, t = self.conns["main"][1].call("DEBUG", "KEYSIZES-CHECK")
        if is_err(t):
            self.diffs.add(self.proto, self.index, "DEBUG KEYSIZES-CHECK",
                           "after the batch ending at %d" % self.index, b"+OK\r\n", raw)
        if self.trace is not None:
            # Tracing also watches the key's encoding after every batch.
            ea, eb = [c.call("OBJECT", "ENCODING", self.trace)[0] for c in pair]
            if ea != eb:
                print("TRACE encoding of %s differs after batch ending at %d: %r %r" % (
                    self.trace.decode(), self.index, ea, eb))
                for cmd in cmds:
                    print("   ", cmd_text(cmd.args))

    def both(self, conn, args, cmp=None, name=None, keys=(), prev=None):
        """One command on `conn` of both servers, compared; returns both
        replies."""
        pair = self.conns[conn]
        enc = encode(args if isinstance(args[0], bytes) else [str(x).encode() for x in args])
        for c in pair:
            c.send(enc)
        a, b = pair[0].read(), pair[1].read()
        self.index += 1
        bargs = [x if isinstance(x, bytes) else str(x).encode() for x in args]
        if self.trace is not None and self.trace in bargs:
            print("TRACE %d (%s) %s\n   redis %s\n   ours  %s" % (self.index, conn, cmd_text(bargs), show(a[0], 200),
                                                               show(b[0], 200)))
        self.check(bargs, a, b, cmp, prev, name=name, keys=keys)
        return a, b

    def run(self, gen, n):
        self.pending_resync = set()
        pending = []
        sent = 0
        while sent < n and not self.diffs.full():
            g = gen.next()
            if isinstance(g, Episode):
                if pending:
                    self.run_batch(pending)
                    pending = []
                before = self.index
                g.fn(self)
                self.flush_resync()
                sent += self.index - before
            else:
                pending += g
                sent += len(g)
                if len(pending) >= self.batch:
                    self.run_batch(pending)
                    pending = []
            if sent and sent % 20000 < 8:
                for s in self.servers:
                    if not s.alive():
                        raise RuntimeError("%s died; see %s/server.log" % (s.name, s.dir))
        if pending:
            self.run_batch(pending)
        return self.index

    # -- episodes -------------------------------------------------------------

    def full_scan(self, head, opts, pairs):
        """SCAN/SSCAN/HSCAN/ZSCAN to the end on each server. Cursors are
        positions in a hash table (random order per process), so only the
        union of what a full iteration returned is compared, plus the first
        reply exactly when it is an error."""
        results = []
        for i, c in enumerate(self.conns["main"]):
            cursor = b"0"
            seen = set()
            first = None
            for _ in range(10000):
                raw, t = c.call(*head, cursor, *opts)
                if first is None:
                    first = (raw, t)
                if is_err(t) or t[0] != "*" or t[1] is None or len(t[1]) != 2:
                    break
                cursor = t[1][0][1]
                items = t[1][1][1]
                if pairs:
                    if items and items[0][0] == "*":
                        items = [x for p in items for x in p[1]]
                    for j in range(0, len(items) - 1, 2):
                        seen.add((items[j][1], items[j + 1]))
                else:
                    seen.update(x[1] for x in items)
                if cursor == b"0":
                    break
            results.append((first, seen))
        args = [x.encode() if isinstance(x, str) else x for x in head + ["0"] + opts]
        self.index += 1
        (fa, sa), (fb, sb) = results
        if is_err(fa[1]) or is_err(fb[1]):
            self.check(args, fa, fb)
        elif sa != sb:
            self.diffs.add(self.proto, self.index, head[0] + " (full iteration)", cmd_text(args),
                           repr(sorted(sa, key=repr)).encode(), repr(sorted(sb, key=repr)).encode())

    def canon(self, conn, key):
        """The value at key, read through commands, with hash order sorted."""
        out = []
        for args, sort in ((["TYPE", key], False), (["OBJECT", "ENCODING", key], False)):
            out.append(conn.call(*args)[1])
        t = out[0][1]
        reads = {
            b"string": [["GET", key]],
            b"list": [["LRANGE", key, "0", "-1"]],
            b"hash": [["HGETALL", key]],
            b"set": [["SMEMBERS", key]],
            b"zset": [["ZRANGE", key, "0", "-1", "WITHSCORES"]],
            b"stream": [["XRANGE", key, "-", "+"], ["XINFO", "GROUPS", key]],
        }.get(t, [])
        for args in reads:
            v = conn.call(*args)[1]
            if args[0] in ("HGETALL",):
                v = canon_pairs(v)
            elif args[0] == "SMEMBERS":
                v = canon_unordered(v)
            out.append(v)
        out.append(conn.call("PTTL", key)[1][0])
        return out

    def dump_restore(self, k, dst, ttl, opts, loose=False):
        """`loose`: `k` is a set stored in hash order (Gen.hash_ordered)."""
        ra, rb = self.both("main", ["OBJECT", "ENCODING", k], cmp=any_encoding if loose else None)
        enc = ra[1][1] if ra[1][0] in "+$" else None
        pair = self.conns["main"]
        da, db = pair[0].call("DUMP", k), pair[1].call("DUMP", k)
        self.index += 1
        if da[0] != db[0]:
            # Payloads of hash-table encodings list elements in hash order
            # (random per process). Other payloads are deterministic, but
            # ours do not reproduce Redis's bytes yet (a zset listpack is
            # written as ZSET_2, stream listpacks differ, and our LZF
            # compressor's output differs from lzf_c's): a KNOWN
            # difference unless --strict-dump. Either way
            # each server's payload must restore in the other to the same
            # value, checked below.
            t = self.conns["main"][0].call("TYPE", k)[1][1]
            if (da[1][1] is None) != (db[1][1] is None) or (enc != b"hashtable" and self.strict_dump):
                self.diffs.add(self.proto, self.index, "DUMP", cmd_text([b"DUMP", k.encode()]), da[0], db[0])
            elif enc != b"hashtable" or t == b"string":
                self.diffs.add_known(self.proto, self.index, "DUMP payload bytes of a %s (%s)" % (
                    t.decode(), enc.decode() if enc else "?"), "DUMP " + k, da[0], db[0])
        if da[1][0] == "$" and da[1][1] is not None and db[1][0] == "$" and db[1][1] is not None:
            # Our payload into Redis and Redis's into ours, each compared
            # with the original read on the same server.
            for i, payload in ((0, db[1][1]), (1, da[1][1])):
                c = pair[i]
                r = c.call("RESTORE", "difftest:tmp", "0", payload, "REPLACE")
                if r[0] != b"+OK\r\n":
                    self.diffs.add(self.proto, self.index, "RESTORE (cross)",
                                   "RESTORE of %s's DUMP %s into %s" % (self.servers[1 - i].name, k,
                                                                          self.servers[i].name), b"+OK\r\n", r[0])
                else:
                    orig, copy = self.canon(c, k)[:-1], self.canon(c, "difftest:tmp")[:-1]
                    if orig[0] == copy[0] and orig[2:] != copy[2:]:
                        self.diffs.add(self.proto, self.index, "RESTORE (cross)",
                                       "value of %s restored from %s's DUMP on %s" % (
                                           k, self.servers[1 - i].name, self.servers[i].name),
                                       repr(orig).encode(), repr(copy).encode())
                c.call("DEL", "difftest:tmp")
        payload = da[1][1] if da[1][0] == "$" and da[1][1] is not None else b"\x00garbage"
        if self.r_bad():
            payload = payload[:-3] + b"xyz"
        self.both("main", ["RESTORE", dst, ttl, payload, *opts], keys=(dst,))
        self.both("main", ["RESTORE", dst, ttl, payload, "REPLACE", *opts], keys=(dst,))
        self.both("main", ["PTTL", dst], cmp=ttl_tolerance(2500))

    def r_bad(self):
        self.bad_counter = getattr(self, "bad_counter", 0) + 1
        return self.bad_counter % 7 == 0

    def wait_blocked(self, conn):
        """Waits until `conn` is either blocked (CLIENT LIST shows flag b)
        or answered on every server, so that the next push is ordered after
        the block. Returns the states, which must agree."""
        states = []
        for i, c in enumerate(self.conns["main"]):
            cid = self.ids[conn][i]
            blocker = self.conns[conn][i]
            state = None
            for _ in range(5000):
                if blocker.pos < len(blocker.buf) or select.select([blocker.sock], [], [], 0)[0]:
                    state = "answered"
                    break
                raw, t = c.call("CLIENT", "LIST", "ID", cid)
                line = t[1] or b""
                flags = line.split(b" flags=")[1].split(b" ")[0] if b" flags=" in line else b""
                if b"b" in flags:
                    state = "blocked"
                    break
                time.sleep(0.0005)
            states.append(state)
        return states

    def block_episode(self, block, two, pushes):
        blockers = ["aux", "aux2"] if two else ["aux"]
        bargs = [x.encode() for x in block]
        for b in blockers:
            for c in self.conns[b]:
                c.send(encode(bargs))
            states = self.wait_blocked(b)
            if states[0] != states[1]:
                self.diffs.add(self.proto, self.index, "BLOCKED " + block[0], cmd_text(bargs),
                               str(states[0]).encode(), str(states[1]).encode())
        for cmd in pushes:
            self.both("main", cmd.args)
        # Whoever is still blocked times out now: CLIENT UNBLOCK (ids
        # differ per server) instead of waiting for the 5 s timeout.
        for b in blockers:
            pair = self.conns["main"]
            ra = pair[0].call("CLIENT", "UNBLOCK", self.ids[b][0])
            rb = pair[1].call("CLIENT", "UNBLOCK", self.ids[b][1])
            self.index += 1
            self.check([b"CLIENT", b"UNBLOCK", b"<id>"], ra, rb)
        for b in blockers:
            pair = self.conns[b]
            a, bb = pair[0].read(), pair[1].read()
            self.index += 1
            self.check(bargs, a, bb, name="BLOCKED " + block[0])

    def sub_exchange(self, *cmds):
        """Sends args on `sub` of both servers and reads everything up to
        its reply: the messages queued before it, in order, then the reply
        (a push-free reply in RESP3; in RESP2 a subscribed client gets PING's
        reply as a ["pong", ""] message, an error, or after the last
        unsubscribe a plain status)."""
        out = []
        pair = self.conns["sub"]
        data = b"".join(encode([a if isinstance(a, bytes) else a.encode() for a in args]) for args in cmds)
        for c in pair:
            c.send(data)
        for c in pair:
            msgs = []
            for _ in range(10000):
                raw, t = c.read()
                msgs.append((raw, t))
                if self.proto == 3 and t[0] != ">":
                    break
                if self.proto == 2 and (t[0] in "+-" or (t[0] == "*" and t[1] and t[1][0][1] == b"pong")):
                    break
            out.append(msgs)
        return out

    def sub_read_until_pong(self):
        return self.sub_exchange(["PING"])

    @staticmethod
    def canon_messages(msgs):
        """Raw messages, with each run of pmessages for the same channel and
        payload sorted: one PUBLISH matching several patterns delivers them
        in the order of Redis's pattern dict, a hash table (random order)."""
        out = []
        run = []
        key = None
        for raw, t in msgs:
            k = None
            if t[0] in "*>" and t[1] and len(t[1]) == 4 and t[1][0][1] == b"pmessage":
                k = (t[1][2], t[1][3])
            if k is None or k != key:
                out += sorted(run)
                run = []
            key = k
            if k is None:
                out.append(raw)
            else:
                run.append(raw)
        return out + sorted(run)

    @staticmethod
    def canon_unsub(msgs):
        """Unsubscribing from all answers one message per channel in the
        client's channel-dict order (random): the channels as a set, and
        the remaining counts in order."""
        names, counts, rest = [], [], []
        for raw, t in msgs:
            if t[0] in "*>" and t[1] and len(t[1]) == 3 and t[1][0][1] in (b"unsubscribe", b"punsubscribe",
                                                                          b"sunsubscribe"):
                names.append((t[1][0], t[1][1]))
                counts.append(t[1][2])
            else:
                rest.append(raw)
        return sorted(names, key=sort_key), counts, rest

    def pubsub_episode(self, subs, steps, unsub):
        sub = self.conns["sub"]
        nsubs = 0
        for args in subs:
            n = len(args) - 1
            nsubs += n
            for c in sub:
                c.send(encode([a.encode() for a in args]))
            for _ in range(n):
                a, b = sub[0].read(), sub[1].read()
                self.index += 1
                self.check([a_.encode() for a_ in args], a, b)
        for kind, args in steps:
            if kind == "pub":
                ra, rb = self.both("main", args)
            elif kind == "main":
                self.both("main", args)
            else:
                ma, mb = self.sub_exchange(args)
                self.index += 1
                if self.canon_messages(ma) != self.canon_messages(mb):
                    self.diffs.add(self.proto, self.index, "PUBSUB messages", "%s on the subscriber after %r" % (
                        args, steps), b"".join(x[0] for x in ma), b"".join(x[0] for x in mb))
        ma, mb = self.sub_read_until_pong()
        self.index += 1
        if self.canon_messages(ma) != self.canon_messages(mb):
            self.diffs.add(self.proto, self.index, "PUBSUB messages", "messages after %r" % (steps,),
                           b"".join(x[0] for x in ma), b"".join(x[0] for x in mb))
        # Unsubscribing from all: one reply per channel, in the client's
        # channel-dict order (random): compared as a multiset, and read up
        # to a PING sentinel.
        # PING after it: its reply ends what there is to read.
        ua, ub = self.sub_exchange(unsub, ["PING"])
        self.index += 1
        if self.canon_unsub(ua) != self.canon_unsub(ub):
            self.diffs.add(self.proto, self.index, unsub[0], " ".join(unsub), b"".join(x[0] for x in ua),
                           b"".join(x[0] for x in ub))
        # Back to a clean connection for the next episode.
        self.reset_sub()

    def reset_sub(self):
        """Back to a clean subscriber connection for the next episode. A
        message published or an event fired after the episode's sentinel
        (an expiry, say) may still be in front of RESET's reply: skip it."""
        for c in self.conns["sub"]:
            c.send(encode([b"RESET"]))
            while c.read()[1] != ("+", b"RESET"):
                pass
            if self.proto == 3:
                c.call("HELLO", "3")

    def watch_episode(self, k, other, queued):
        self.both("main", ["WATCH", k])
        for cmd in other:
            self.both("aux", cmd.args)
        self.both("main", ["MULTI"])
        for cmd in queued:
            self.both("main", cmd.args)
        self.both("main", ["EXEC"])

    def notify_episode(self, flags, cmds):
        self.both("main", ["CONFIG", "SET", "notify-keyspace-events", flags])
        sub = self.conns["sub"]
        for c in sub:
            c.send(encode([b"PSUBSCRIBE", b"__key*__:*"]))
        self.check([b"PSUBSCRIBE"], sub[0].read(), sub[1].read())
        for cmd in cmds:
            self.both("main", cmd.args, keys=cmd.keys)
        ma, mb = self.sub_read_until_pong()
        self.index += 1
        if ma != mb:
            self.diffs.add(self.proto, self.index, "NOTIFY", "keyspace events (%s) of: %s" % (
                flags, "; ".join(cmd_text(c.args, 80) for c in cmds)), b"".join(x[0] for x in ma),
                b"".join(x[0] for x in mb))
        self.reset_sub()
        self.both("main", ["CONFIG", "SET", "notify-keyspace-events", ""])


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--redis", required=True, help="real Redis 8.0 redis-server")
    ap.add_argument("--ours", required=True, help="redis-rust binary")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--commands", type=int, default=100000, help="per protocol")
    ap.add_argument("--protocols", default="2,3")
    ap.add_argument("--max-diffs", type=int, default=500, help="stop after this many differences")
    ap.add_argument("--batch", type=int, default=50, help="commands per pipelined batch")
    ap.add_argument("--strict-dump", action="store_true",
                    help="DUMP payloads must be byte-identical for every type, not only strings")
    ap.add_argument("--trace", help="print every batched command naming this key, with both replies")
    args = ap.parse_args()

    diffs = Diffs(args.seed, args.max_diffs)
    for proto in [int(p) for p in args.protocols.split(",")]:
        start = time.time()
        runner = Runner(args, proto, diffs)
        try:
            n = runner.run(Gen(random.Random(args.seed)), args.commands)
        except (OSError, RuntimeError) as e:
            # A server that died or hung: keep its log for the post-mortem.
            dead = [s.name for s in runner.servers if not s.alive()]
            print("difftest: RESP%d seed %d: stopped after %d commands: %s; dead: %s; logs kept in %s" % (
                proto, args.seed, runner.index, e, dead or "none", runner.workdir), flush=True)
            for s in runner.servers:
                s.stop()
            sys.exit(2)
        runner.close()
        print("difftest: RESP%d seed %d: %d commands in %.1fs, %d differences so far" % (
            proto, args.seed, n, time.time() - start, diffs.total), flush=True)
    if diffs.known:
        print("difftest: known differences (not failing the run):")
        for reason, n in sorted(diffs.known.items(), key=lambda x: -x[1]):
            print("  %6d  %s" % (n, reason))
    if diffs.total:
        print("difftest: %d differences (seed %d), by command:" % (diffs.total, args.seed))
        for name, n in sorted(diffs.groups.items(), key=lambda x: -x[1]):
            print("  %6d  %s" % (n, name))
        sys.exit(1)
    print("difftest: no differences")


if __name__ == "__main__":
    main()
