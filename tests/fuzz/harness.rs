//! The fuzz targets' bodies, one function per target, shared by the
//! libFuzzer binaries (tests/fuzz/fuzz_targets, nightly) and by the stable
//! test that replays the seed corpus and every saved crash
//! (tests/fuzz_regressions.rs). Each takes raw bytes, drives one reader of
//! untrusted input the way the server does, and checks the properties a
//! crash-free reader alone would not show (chunking must not change what is
//! parsed, what loads must save and load again).
//!
//! Inputs never reach the filesystem or the network: `include` lines are
//! skipped, and a `dir` line's chdir is undone.

#![allow(dead_code)]

use mlua::{Function, Lua, MultiValue, Value as LuaValue};
use redis_rust::cluster::Cluster;
use redis_rust::config::Config;
use redis_rust::db::Db;
use redis_rust::db::value::{Str, Value};
use redis_rust::persist::aof::load::{Stop, next_command};
use redis_rust::persist::aof::manifest::Manifest;
use redis_rust::persist::rdb;
use redis_rust::resp::parse::{Args, INLINE_MAX, Limits, ParseError, Parser};
use redis_rust::types::geohash::{self, Shape, ShapeKind};
use redis_rust::types::hll;

/// A fuzz target: takes any bytes, must not panic.
pub type Target = fn(&[u8]);

/// Every target, by the name of its binary and corpus folder.
pub const TARGETS: &[(&str, Target)] = &[
    ("resp", resp),
    ("rdb", rdb),
    ("restore", restore),
    ("aof", aof),
    ("manifest", manifest),
    ("config", config),
    ("cjson", cjson),
    ("cmsgpack", cmsgpack),
    ("hll", hll),
    ("geo", geo),
    ("cluster_conf", cluster_conf),
];

/// proto-max-bulk-len's default: the loaders' largest string.
const MAX_BULK: u64 = 512 * 1024 * 1024;

// ---------------------------------------------------------------------------
// RESP requests
// ---------------------------------------------------------------------------

/// What a client's byte stream parsed into.
#[derive(Debug, PartialEq)]
struct Parsed {
    cmds: Vec<Vec<Vec<u8>>>,
    err: Option<ParseError>,
}

/// Feeds `data` to a parser in chunks of the sizes `chunks` yields, as
/// `Server::read_and_process`/`process_input` do: the zero-copy
/// `whole_command` first, then the incremental `parse`, then the same
/// compaction of consumed bytes.
fn feed(data: &[u8], lim: Limits, mut chunks: impl FnMut() -> usize) -> Parsed {
    let mut out = Parsed {
        cmds: Vec::new(),
        err: None,
    };
    let (mut q, mut qpos, mut off) = (Vec::new(), 0usize, 0usize);
    let mut parser = Parser::new();
    let mut args = Args::default();
    while off < data.len() {
        if qpos > 0 && qpos == q.len() {
            q.clear();
            qpos = 0;
        }
        let n = chunks().clamp(1, data.len() - off);
        q.extend_from_slice(&data[off..off + n]);
        off += n;
        loop {
            if let Some(end) = parser.whole_command(&q, qpos, args.spans_mut(), lim) {
                let arena = args.lend(std::mem::take(&mut q));
                assert!(!args.is_empty(), "whole_command returned no arguments");
                out.cmds.push(args.to_vecs());
                q = args.give_back(arena);
                assert!(end > qpos && end <= q.len());
                qpos = end;
                continue;
            }
            let (mut pos, mut want) = (qpos, 0);
            let r = parser.parse(&q, &mut pos, &mut args, lim, &mut want);
            assert!(pos >= qpos && pos <= q.len());
            qpos = pos;
            match r {
                Ok(false) => break,
                Ok(true) => {
                    if !args.is_empty() {
                        out.cmds.push(args.to_vecs());
                    }
                    args.clear();
                }
                Err(e) => {
                    out.err = Some(e);
                    return out;
                }
            }
        }
        let rest = q.len() - qpos;
        if qpos > 0 && (rest <= 4096 || qpos >= q.len() / 2) {
            q.drain(..qpos);
            qpos = 0;
        }
    }
    out
}

/// The RESP request parser (multibulk and inline). The first byte picks
/// the limits (authenticated or not, a small proto-max-bulk-len) and how
/// the rest is cut into reads; the result must not depend on the cuts.
pub fn resp(data: &[u8]) {
    let Some((&ctrl, data)) = data.split_first() else {
        return;
    };
    let lim = Limits {
        max_bulk_len: if ctrl & 1 == 0 { MAX_BULK as i64 } else { 64 },
        unauthenticated: ctrl & 2 != 0,
    };
    let whole = feed(data, lim, || usize::MAX);
    // A line longer than the inline limit fails or not depending on how
    // much of it had arrived: only the other outcomes must agree.
    let too_big = |p: &Parsed| {
        matches!(
            p.err,
            Some(ParseError::TooBigInline | ParseError::TooBigMbulkCount)
                | Some(ParseError::TooBigBulkCount)
        )
    };
    let mut x = u32::from(ctrl) | 0x9e37_0000;
    let chunked = feed(data, lim, || {
        // xorshift: reads of 1 to 64 bytes, the cut points set by `ctrl`.
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        (x % 64) as usize + 1
    });
    if !too_big(&whole) && !too_big(&chunked) {
        assert_eq!(whole, chunked, "reads of up to 64 bytes parse differently");
    }
    if data.len() <= 512 {
        let bytes = feed(data, lim, || 1);
        if !too_big(&whole) && !too_big(&bytes) {
            assert_eq!(whole, bytes, "byte-by-byte reads parse differently");
        }
    }
    assert!(data.len() > INLINE_MAX || !too_big(&whole) || whole.err.is_none());
}

// ---------------------------------------------------------------------------
// RDB files and DUMP payloads
// ---------------------------------------------------------------------------

fn dbs() -> Vec<Db> {
    (0..16).map(Db::new).collect()
}

fn key_counts(dbs: &[Db]) -> Vec<usize> {
    dbs.iter().map(|d| d.len()).collect()
}

/// The RDB loader (startup, DEBUG RELOAD, a replica's full sync). Whatever
/// loads must save and load back to the same keys.
pub fn rdb(data: &[u8]) {
    let mut d = dbs();
    let mut libs = Vec::new();
    if rdb::load_with_functions(data, &mut d, i64::MIN, MAX_BULK, &mut libs).is_err() {
        return;
    }
    let img = rdb::save(&d, true, i64::MIN);
    let mut again = dbs();
    if let Err(e) = rdb::load(&img, &mut again, i64::MIN, MAX_BULK) {
        panic!("a saved image does not load: {}", e.0);
    }
    assert_eq!(key_counts(&d), key_counts(&again));
}

/// Appends what DUMP puts after a value: RDB version and CRC64.
fn with_trailer(body: &[u8], version: u16) -> Vec<u8> {
    let mut p = body.to_vec();
    p.extend_from_slice(&version.to_le_bytes());
    let crc = crc64::crc64(0, &p);
    p.extend_from_slice(&crc.to_le_bytes());
    p
}

/// RESTORE's payload check and decoder (`restore_payload_opts`), with and
/// without deep sanitization. The first byte: bit 0 deep, bit 1 the input
/// is a whole payload (else the version and CRC are appended, so the
/// decoder is reached), bits 2-5 the RDB version claimed. What decodes must
/// DUMP and RESTORE again.
pub fn restore(data: &[u8]) {
    let Some((&ctrl, body)) = data.split_first() else {
        return;
    };
    let deep = ctrl & 1 != 0;
    let payload = if ctrl & 2 != 0 {
        body.to_vec()
    } else {
        with_trailer(body, u16::from(ctrl >> 2 & 15))
    };
    let Some(Ok(v)) = rdb::restore_payload_opts(&payload, MAX_BULK, deep) else {
        return;
    };
    let again = rdb::dump_payload(&v);
    match rdb::restore_payload_opts(&again, MAX_BULK, deep) {
        Some(Ok(v2)) => assert_eq!(v.type_name(), v2.type_name()),
        Some(Err(e)) => panic!("DUMP output does not RESTORE: {}", e.0),
        None => panic!("DUMP output fails its own checksum"),
    }
}

// ---------------------------------------------------------------------------
// AOF
// ---------------------------------------------------------------------------

/// The AOF reader: an optional RDB preamble, then RESP commands with `#`
/// annotations, as `load_file` reads them (without running them).
pub fn aof(data: &[u8]) {
    let mut pos = 0;
    if data.starts_with(b"REDIS") {
        let mut d = dbs();
        let r = rdb::load_prefix(
            data,
            &mut d,
            i64::MIN,
            MAX_BULK,
            &mut Vec::new(),
            &mut 0,
            &mut |_| {},
        );
        match r {
            Ok((_, end)) => pos = end,
            Err(_) => return,
        }
    }
    loop {
        let before = pos;
        match next_command(data, &mut pos) {
            Ok(Some(argv)) => assert!(!argv.is_empty() && pos > before),
            Ok(None) | Err(Stop::Eof) | Err(Stop::Format) => break,
        }
        assert!(pos <= data.len());
    }
}

/// The multi-part AOF manifest. What parses must render to a manifest
/// that parses to the same thing.
pub fn manifest(data: &[u8]) {
    let Ok(m) = Manifest::parse(data) else {
        return;
    };
    let text = m.render();
    // Comments alone parse to nothing, which renders as an empty (so
    // invalid) file; a name that needs quoting may render longer than the
    // line limit.
    if text.is_empty() || text.lines().any(|l| l.len() >= 1024) {
        return;
    }
    match Manifest::parse(text.as_bytes()) {
        Ok(m2) => assert_eq!(m2.render(), text),
        Err(e) => panic!("a rendered manifest does not parse: {e:?}\n{text}"),
    }
}

// ---------------------------------------------------------------------------
// Configuration files
// ---------------------------------------------------------------------------

/// The redis.conf parser (`Config::load_text`). Input that is not UTF-8
/// never gets there (the file is read as a string); `include` would read
/// other files, so such inputs are skipped.
pub fn config(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if text.to_ascii_lowercase().contains("include") {
        return;
    }
    let cwd = std::env::current_dir().ok();
    let mut c = Config::new();
    let _ = c.load_text(text, 0);
    if let Some(d) = cwd {
        let _ = std::env::set_current_dir(d);
    }
}

/// A `nodes.conf` (cluster mode's own state file).
pub fn cluster_conf(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = Cluster::new("nodes.conf").load(text);
}

// ---------------------------------------------------------------------------
// The Lua bridge: cjson and cmsgpack
// ---------------------------------------------------------------------------

struct LuaLibs {
    lua: Lua,
    json_decode: Function,
    json_encode: Function,
    mp_unpack: Function,
    mp_unpack_limit: Function,
    mp_pack: Function,
}

thread_local! {
    // One Lua state for all runs: creating one costs more than a decode.
    static LUA: LuaLibs = {
        let lua = Lua::new();
        let json = redis_rust::script::json::lib(&lua).expect("cjson");
        let mp = redis_rust::script::msgpack::lib(&lua).expect("cmsgpack");
        LuaLibs {
            json_decode: json.get("decode").expect("cjson.decode"),
            json_encode: json.get("encode").expect("cjson.encode"),
            mp_unpack: mp.get("unpack").expect("cmsgpack.unpack"),
            mp_unpack_limit: mp.get("unpack_limit").expect("cmsgpack.unpack_limit"),
            mp_pack: mp.get("pack").expect("cmsgpack.pack"),
            lua,
        }
    };
}

/// `cjson.decode` on the input; what decodes and encodes must decode again.
pub fn cjson(data: &[u8]) {
    LUA.with(|l| {
        let Ok(s) = l.lua.create_string(data) else {
            return;
        };
        let Ok(v) = l.json_decode.call::<LuaValue>(s) else {
            return;
        };
        if let Ok(text) = l.json_encode.call::<mlua::String>(v)
            && let Err(e) = l.json_decode.call::<LuaValue>(text.clone())
        {
            panic!(
                "cjson.encode output does not decode: {e}\n{:?}",
                text.as_bytes()
            );
        }
    });
}

/// `cmsgpack.unpack` and `unpack_limit` (limit and offset from the first
/// byte); whatever unpacks must pack and unpack again.
pub fn cmsgpack(data: &[u8]) {
    let Some((&ctrl, body)) = data.split_first() else {
        return;
    };
    LUA.with(|l| {
        let Ok(s) = l.lua.create_string(body) else {
            return;
        };
        if ctrl & 0x80 != 0 {
            let (limit, off) = (i64::from(ctrl & 7), i64::from(ctrl >> 3 & 15));
            let _ = l.mp_unpack_limit.call::<MultiValue>((s, limit, off));
            return;
        }
        let Ok(vals) = l.mp_unpack.call::<MultiValue>(s) else {
            return;
        };
        if vals.is_empty() {
            return;
        }
        match l.mp_pack.call::<mlua::String>(vals) {
            Ok(packed) => {
                // A table used as a key and nested past 16 levels packs as
                // nil (lua-cmsgpack's depth limit), and a nil key does not
                // unpack, in Redis either.
                if let Err(e) = l.mp_unpack.call::<MultiValue>(packed)
                    && !e.to_string().contains("table index is nil")
                {
                    panic!("cmsgpack.pack output does not unpack: {e}");
                }
            }
            Err(e) => panic!("cmsgpack.pack failed on unpacked values: {e}"),
        }
    });
}

// ---------------------------------------------------------------------------
// HyperLogLog strings and geo maths
// ---------------------------------------------------------------------------

/// A string value run through what PFCOUNT, PFADD, PFMERGE and PFDEBUG do
/// to it once it passes `is_valid` (any SET can write such a string).
pub fn hll(data: &[u8]) {
    if !hll::is_valid(data) {
        return;
    }
    let mut b = data.to_vec();
    let _ = hll::cached(&b);
    let _ = hll::histogram(&b).map(|h| hll::estimate(&h));
    let mut max = vec![0u8; hll::REGISTERS];
    let merged = hll::merge_into(&mut max, &b).is_ok();
    let _ = hll::estimate(&hll::raw_histogram(&max));
    if !hll::is_dense(&b) {
        let _ = hll::decode_sparse(&b);
        let _ = hll::sparse_to_dense(&b);
    }
    // PFADD
    for e in [&b"a"[..], b"fuzz", b"\x00\xff", b"hll"] {
        if hll::add(&mut b, e, 3000).is_err() {
            break;
        }
    }
    hll::invalidate_cache(&mut b);
    // PFMERGE into this value (sparse errors are ignored there).
    if merged {
        let mut dst = data.to_vec();
        for (i, &v) in max.iter().enumerate() {
            if v == 0 {
                continue;
            }
            if hll::is_dense(&dst) {
                hll::dense_set(&mut dst[hll::HDR..], i, v);
            } else {
                let _ = hll::sparse_set(&mut dst, i, v, 3000);
            }
        }
    }
}

fn f64_at(data: &[u8], i: usize) -> f64 {
    let mut b = [0u8; 8];
    if let Some(s) = data.get(i * 8..i * 8 + 8) {
        b.copy_from_slice(s);
    }
    f64::from_le_bytes(b)
}

/// Geohash maths on doubles as the GEO commands get them: a stored score
/// (any double ZADD accepts), a centre that passed the range check, a
/// radius or box that passed theirs.
pub fn geo(data: &[u8]) {
    let score = f64_at(data, 0);
    if !score.is_nan() {
        let _ = geohash::decode_score(score);
        let _ = geohash::geohash_string(score);
    }
    let (lon, lat) = (f64_at(data, 1), f64_at(data, 2));
    if !(geohash::LONG_MIN..=geohash::LONG_MAX).contains(&lon)
        || !(geohash::LAT_MIN..=geohash::LAT_MAX).contains(&lat)
    {
        return;
    }
    let _ = geohash::score_of(lon, lat);
    let (a, b) = (f64_at(data, 3), f64_at(data, 4));
    let conversion = [1.0, 1000.0, 1609.34, 0.3048][data.len() & 3];
    let kind = if data.len() & 4 == 0 {
        ShapeKind::Circle(a)
    } else {
        ShapeKind::Rect(a, b)
    };
    if a.is_nan() || b.is_nan() || a < 0.0 || b < 0.0 {
        return;
    }
    let shape = Shape {
        lon,
        lat,
        conversion,
        kind,
    };
    let area = shape.search_area();
    for h in area.boxes {
        if h.is_zero() {
            continue;
        }
        let (min, max) = geohash::score_range(h);
        if let Some((plon, plat)) = geohash::decode_score(min)
            && let Some(d) = shape.contains(plon, plat)
        {
            let _ = geohash::fmt_distance(d / conversion);
        }
        let _ = geohash::decode_score(max);
    }
    let d = geohash::distance(lon, lat, f64_at(data, 5), f64_at(data, 6));
    let _ = geohash::fmt_distance(d);
}

// ---------------------------------------------------------------------------
// Seeds
// ---------------------------------------------------------------------------

/// The seed corpus, made here rather than copied from anywhere:
/// (target, file name, bytes). `FUZZ_WRITE_SEEDS=1 cargo test --release
/// --test fuzz_regressions` writes it to tests/fuzz/corpus/<target>/.
pub fn seeds() -> Vec<(&'static str, String, Vec<u8>)> {
    let mut out: Vec<(&'static str, String, Vec<u8>)> = Vec::new();
    let mut add =
        |t: &'static str, name: &str, b: &[u8]| out.push((t, name.to_string(), b.to_vec()));

    // resp: first byte 0 = authenticated, default limits.
    add(
        "resp",
        "multibulk",
        b"\x00*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nhello\r\n*2\r\n$3\r\nGET\r\n$1\r\nk\r\n",
    );
    add(
        "resp",
        "inline",
        b"\x00SET k \"a\\x41\\n\" 'it\\'s'\r\nPING\n\r\n",
    );
    add(
        "resp",
        "mixed_unauth",
        b"\x06*1\r\n$4\r\nPING\r\n*0\r\nECHO x\r\n*-1\r\n",
    );
    add("resp", "bad_len", b"\x01*2\r\n$3\r\nGET\r\n$99\r\nk\r\n");
    add(
        "resp",
        "big_arg",
        &[&b"\x00*1\r\n$17000\r\n"[..], &[b'x'; 17000], b"\r\n"].concat(),
    );

    let values = sample_values();
    // rdb: every sample value in one file, compressed and not.
    let mut d = dbs();
    for (i, (name, v)) in values.iter().enumerate() {
        d[i % 3].add(name.as_bytes(), clone_value(v));
        if i % 4 == 0 {
            d[i % 3].set_expire(name.as_bytes(), 4_000_000_000_000);
        }
    }
    add("rdb", "all_types", &rdb::save(&d, false, 0));
    add("rdb", "all_types_lzf", &rdb::save(&d, true, 0));
    add(
        "rdb",
        "functions",
        &rdb::save_with_functions(
            &dbs(),
            false,
            0,
            &[b"#!lua name=lib\nredis.register_function('f', function() return 1 end)"],
        ),
    );

    // restore: the body of a DUMP (the harness appends version 12 and the
    // CRC: 0x30 >> 2 == 12); bit 0 of the first byte asks for deep checks.
    for (name, v) in &values {
        let p = rdb::dump_payload(v);
        let body = &p[..p.len() - 10];
        add("restore", name, &[&[0x30u8][..], body].concat());
        add(
            "restore",
            &format!("{name}_deep"),
            &[&[0x31u8][..], body].concat(),
        );
    }

    // aof: plain, annotated, with an RDB preamble, truncated.
    add(
        "aof",
        "plain",
        b"*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n",
    );
    add("aof", "annotated", b"#TS:1700000000\r\n*1\r\n$5\r\nMULTI\r\n*2\r\n$4\r\nINCR\r\n$1\r\nn\r\n*1\r\n$4\r\nEXEC\r\n");
    add(
        "aof",
        "truncated",
        b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$10\r\nabc",
    );
    let mut pre = rdb::image(&d[..1], false, 0, &[], true);
    pre.extend_from_slice(b"*2\r\n$3\r\nDEL\r\n$1\r\nk\r\n");
    add("aof", "preamble", &pre);

    add("manifest", "base_incr", b"file appendonly.aof.1.base.rdb seq 1 type b\nfile appendonly.aof.1.incr.aof seq 1 type i\n");
    add("manifest", "history_offsets", b"# comment\nfile \"odd name\\x01.aof\" seq 2 type h\nfile a.aof seq 3 type i startoffset 10 endoffset 200\nfile b.aof seq 4 type i startoffset 200\n");

    add("config", "basic", b"port 7000\nbind 127.0.0.1 -::1\nsave 900 1 300 10\nmaxmemory 100mb\nmaxmemory-policy allkeys-lru\nappendonly yes\n");
    add("config", "quoted", b"requirepass \"p\\x41ss\"\nnotify-keyspace-events KEA\nclient-output-buffer-limit normal 0 0 0 pubsub 32mb 8mb 60\nrename-command FLUSHALL \"\"\nsave ''\n");
    add("config", "bad", b"hz abc\nlist-max-listpack-size -2\noom-score-adj-values 0 200 800\nlatency-tracking-info-percentiles 50 99 99.9\n");

    add(
        "cjson",
        "object",
        br#"{"a":[1,2.5,-3e10,true,false,null],"b":{"c":"\u00e9\n\"x"},"d":""}"#,
    );
    add("cjson", "nested", b"[[[[[[[[[[{}]]]]]]]]]]");
    add(
        "cjson",
        "numbers",
        b"[0, -0, 1e308, 1e-320, 123456789012345678901234567890, 0x10]",
    );

    // cmsgpack: the first byte < 0x80 unpacks everything; >= 0x80 picks
    // unpack_limit's limit and offset.
    add(
        "cmsgpack",
        "map",
        &[
            0x00, 0x82, 0xa1, b'a', 0x93, 0x01, 0xcd, 0x01, 0x00, 0xcb, 0x3f, 0xf8, 0, 0, 0, 0, 0,
            0, 0xa1, b'b', 0xc3,
        ],
    );
    add(
        "cmsgpack",
        "several",
        &[
            0x00, 0x01, 0xd9, 0x03, b'a', b'b', b'c', 0xc0, 0xdc, 0x00, 0x02, 0xc2, 0xe0,
        ],
    );
    add(
        "cmsgpack",
        "limit",
        &[0x8a, 0x01, 0x02, 0x03, 0x04, 0xda, 0x00, 0x01, b'z'],
    );

    // hll: a fresh sparse value, one after adds, its dense form.
    let sparse = hll::new_sparse();
    let mut grown = sparse.clone();
    for i in 0..200u32 {
        let _ = hll::add(&mut grown, &i.to_le_bytes(), 3000);
    }
    let dense = hll::sparse_to_dense(&grown).unwrap_or_default();
    add("hll", "empty_sparse", &sparse);
    add("hll", "sparse", &grown);
    add("hll", "dense", &dense);

    let geo = |v: &[f64], extra: usize| {
        let mut b: Vec<u8> = v.iter().flat_map(|f| f.to_le_bytes()).collect();
        b.extend(std::iter::repeat_n(0u8, extra));
        b
    };
    add(
        "geo",
        "circle_km",
        &geo(
            &[
                3471579339700058.0,
                13.361389,
                38.115556,
                200.0,
                0.0,
                15.087269,
                37.502669,
            ],
            1,
        ),
    );
    add(
        "geo",
        "box_m",
        &geo(&[0.0, -179.9, 85.0, 4000.0, 500.0, 179.9, -85.0], 4),
    );
    add(
        "geo",
        "huge_radius",
        &geo(&[1e300, 0.0, 0.0, f64::INFINITY, 0.0, 1.0, 1.0], 2),
    );

    add("cluster_conf", "myself", b"e7d1eecce10fd6bb5eb35b9f99a514335d9ba9ca 127.0.0.1:30001@31001,,shard-id=69bc080733d1355567173199cff4a6a039a2f024 myself,master - 0 0 1 connected 0-5460 5462 [5461-<-abc]\nvars currentEpoch 6 lastVoteEpoch 0\n");
    add("cluster_conf", "replica", b"e7d1eecce10fd6bb5eb35b9f99a514335d9ba9ca :0@0 myself,slave 69bc080733d1355567173199cff4a6a039a2f024 0 0 0 connected\n");
    out
}

/// A deep copy through DUMP/RESTORE (Value is not Clone).
fn clone_value(v: &Value) -> Value {
    match rdb::restore_payload(&rdb::dump_payload(v), MAX_BULK) {
        Some(Ok(v)) => v,
        _ => panic!("a sample value does not round-trip"),
    }
}

/// One value of each type and encoding the RDB writer produces.
fn sample_values() -> Vec<(String, Value)> {
    use redis_rust::types::hash::Hash;
    use redis_rust::types::list::List;
    use redis_rust::types::set::Set;
    use redis_rust::types::stream::{Consumer, Group, Stream, StreamId};
    use redis_rust::types::zset::{self, ZSet};
    let lim = redis_rust::types::Limits::DEFAULT;
    let items = |n: usize, w: usize| -> Vec<Vec<u8>> {
        (0..n).map(|i| format!("{i:0w$}").into_bytes()).collect()
    };
    let mut v: Vec<(String, Value)> = vec![
        ("str_int".into(), Value::Str(Str::from_bytes(b"-12345"))),
        ("str_raw".into(), Value::Str(Str::from_bytes(&[b'x'; 300]))),
        (
            "list".into(),
            Value::List(Box::new(List::from_items(items(5, 3)))),
        ),
        (
            "list_long".into(),
            Value::List(Box::new(List::from_items(items(130, 70)))),
        ),
        (
            "set_intset".into(),
            Value::Set(Box::new(Set::from_intset(vec![1, -5, 1 << 40], &lim))),
        ),
        (
            "set_listpack".into(),
            Value::Set(Box::new(Set::from_plain(
                vec![b"a".to_vec(), b"bb".to_vec()],
                &lim,
            ))),
        ),
        (
            "set_table".into(),
            Value::Set(Box::new(Set::from_plain(items(130, 4), &lim))),
        ),
        (
            "hash_listpack".into(),
            Value::Hash(Box::new(Hash::from_pairs(
                vec![
                    (b"f".to_vec(), b"v".to_vec()),
                    (b"n".to_vec(), b"7".to_vec()),
                ],
                &lim,
            ))),
        ),
        (
            "hash_table".into(),
            Value::Hash(Box::new(Hash::from_pairs(
                items(20, 4)
                    .into_iter()
                    .map(|f| (f.clone(), f.repeat(20)))
                    .collect(),
                &lim,
            ))),
        ),
        (
            "hash_ttl".into(),
            Value::Hash(Box::new(Hash::from_triples(
                vec![
                    (b"f".to_vec(), b"v".to_vec(), Some(4_000_000_000_000)),
                    (b"g".to_vec(), b"w".to_vec(), None),
                ],
                &lim,
            ))),
        ),
    ];
    let zl = zset::Limits::default();
    if let Some(z) = ZSet::from_pairs(vec![(b"a".to_vec(), 1.5), (b"b".to_vec(), -2.0)], zl) {
        v.push(("zset_listpack".into(), Value::ZSet(Box::new(z))));
    }
    if let Some(z) = ZSet::from_pairs(
        items(130, 4)
            .into_iter()
            .enumerate()
            .map(|(i, m)| (m, i as f64 / 3.0))
            .collect(),
        zl,
    ) {
        v.push(("zset_skiplist".into(), Value::ZSet(Box::new(z))));
    }
    let mut s = Stream::new();
    for i in 1..=5u64 {
        let _ = s.add(
            Some((StreamId::new(1000 + i, 0), true)),
            0,
            &[b"f", b"v", b"n", &i.to_string().into_bytes()],
        );
    }
    let mut g = Group {
        last_id: StreamId::new(1002, 0),
        entries_read: 2,
        ..Default::default()
    };
    g.consumers.insert(b"alice".to_vec(), Consumer::new(5));
    g.deliver(StreamId::new(1001, 0), b"alice", 6);
    s.groups.insert(b"g1".to_vec(), g);
    v.push(("stream".into(), Value::Stream(Box::new(s))));
    v
}
