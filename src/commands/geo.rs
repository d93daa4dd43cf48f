//! Geo commands: positions stored in sorted sets under their 52-bit
//! geohash scores (`crate::types::geohash`), as Redis's `geo.c` does.
//!
//! GEOADD is ZADD with the coordinates turned into scores. Every search
//! (GEORADIUS, GEORADIUSBYMEMBER, their `_RO` forms, GEOSEARCH and
//! GEOSEARCHSTORE) goes through `search_generic`: the shape's cell and
//! its eight neighbours are read as score ranges of the set, points
//! outside the shape are dropped, and the rest sorted by distance.

use crate::command::flags::*;
use crate::command::{ArgExt, CmdError, CmdResult, CommandSpec, Ctx, cmd, keys};
use crate::config::notify;
use crate::db::Value;
use crate::resp::Args;
use crate::types::geohash::{self, Shape, ShapeKind};
use crate::types::zset::{Limits, ZSet, cmp_entry};
use crate::util::eq_ic;

pub static COMMANDS: &[CommandSpec] = &[
    cmd(
        "geoadd",
        -5,
        WRITE | DENYOOM,
        keys(1, 1, 1),
        "geo",
        "3.2.0",
        "Adds one or more members to a geospatial index. The key is created if it doesn't exist.",
        geoadd,
    ),
    cmd(
        "geodist",
        -4,
        READONLY,
        keys(1, 1, 1),
        "geo",
        "3.2.0",
        "Returns the distance between two members of a geospatial index.",
        geodist,
    ),
    cmd(
        "geohash",
        -2,
        READONLY,
        keys(1, 1, 1),
        "geo",
        "3.2.0",
        "Returns members from a geospatial index as geohash strings.",
        geohash_cmd,
    ),
    cmd(
        "geopos",
        -2,
        READONLY,
        keys(1, 1, 1),
        "geo",
        "3.2.0",
        "Returns the longitude and latitude of members from a geospatial index.",
        geopos,
    ),
    CommandSpec {
        getkeys: Some(radius_keys),
        ..cmd(
            "georadius",
            -6,
            WRITE | DENYOOM,
            keys(1, 1, 1),
            "geo",
            "3.2.0",
            "Queries a geospatial index for members within a distance from a coordinate, optionally stores the result.",
            georadius,
        )
    },
    cmd(
        "georadius_ro",
        -6,
        READONLY,
        keys(1, 1, 1),
        "geo",
        "3.2.10",
        "Returns members from a geospatial index that are within a distance from a coordinate.",
        georadius_ro,
    ),
    CommandSpec {
        getkeys: Some(radius_bymember_keys),
        ..cmd(
            "georadiusbymember",
            -5,
            WRITE | DENYOOM,
            keys(1, 1, 1),
            "geo",
            "3.2.0",
            "Queries a geospatial index for members within a distance from a member, optionally stores the result.",
            georadiusbymember,
        )
    },
    cmd(
        "georadiusbymember_ro",
        -5,
        READONLY,
        keys(1, 1, 1),
        "geo",
        "3.2.10",
        "Returns members from a geospatial index that are within a distance from a member.",
        georadiusbymember_ro,
    ),
    cmd(
        "geosearch",
        -7,
        READONLY,
        keys(1, 1, 1),
        "geo",
        "6.2.0",
        "Queries a geospatial index for members inside an area of a box or a circle.",
        geosearch,
    ),
    cmd(
        "geosearchstore",
        -8,
        WRITE | DENYOOM,
        keys(1, 2, 1),
        "geo",
        "6.2.0",
        "Queries a geospatial index for members inside an area of a box or a circle, optionally stores the result.",
        geosearchstore,
    ),
];

/// GEORADIUS's key finder: the key read, then STORE/STOREDIST's.
pub fn radius_keys(args: &Args) -> Vec<crate::command::keyspecs::KeyRef> {
    crate::command::unflagged(radius_key_positions(args, 6))
}

/// GEORADIUSBYMEMBER's key finder.
pub fn radius_bymember_keys(args: &Args) -> Vec<crate::command::keyspecs::KeyRef> {
    crate::command::unflagged(radius_key_positions(args, 5))
}

/// Key positions of GEORADIUS/GEORADIUSBYMEMBER: the source and any
/// STORE/STOREDIST destination.
pub fn radius_key_positions(args: &Args, base: usize) -> Vec<usize> {
    let mut v = vec![1];
    let mut i = base;
    while i < args.len() {
        if (eq_ic(&args[i], "store") || eq_ic(&args[i], "storedist")) && i + 1 < args.len() {
            v.push(i + 1);
            i += 1;
        }
        i += 1;
    }
    v
}

// ---------------------------------------------------------------------------
// Argument helpers
// ---------------------------------------------------------------------------

/// Two arguments from `i`: longitude then latitude, within the Mercator
/// limits.
fn lon_lat_at(args: &Args, i: usize) -> Result<(f64, f64), CmdError> {
    let lon = args.f64_at(i)?;
    let lat = args.f64_at(i + 1)?;
    if !(geohash::LONG_MIN..=geohash::LONG_MAX).contains(&lon)
        || !(geohash::LAT_MIN..=geohash::LAT_MAX).contains(&lat)
    {
        return Err(CmdError::msg(format!(
            "ERR invalid longitude,latitude pair {lon:.6},{lat:.6}"
        )));
    }
    Ok((lon, lat))
}

/// A unit's size in meters.
fn unit(a: &[u8]) -> Result<f64, CmdError> {
    if eq_ic(a, "m") {
        Ok(1.0)
    } else if eq_ic(a, "km") {
        Ok(1000.0)
    } else if eq_ic(a, "ft") {
        Ok(0.3048)
    } else if eq_ic(a, "mi") {
        Ok(1609.34)
    } else {
        Err(CmdError::msg(
            "ERR unsupported unit provided. please use M, KM, FT, MI",
        ))
    }
}

fn float_or(args: &Args, i: usize, msg: &str) -> Result<f64, CmdError> {
    crate::util::parse_f64(&args[i]).ok_or_else(|| CmdError::msg(format!("ERR {msg}")))
}

/// `radius unit` from `i`: (radius, meters per unit).
fn radius_at(args: &Args, i: usize) -> Result<(f64, f64), CmdError> {
    let r = float_or(args, i, "need numeric radius")?;
    if r < 0.0 {
        return Err(CmdError::msg("ERR radius cannot be negative"));
    }
    Ok((r, unit(&args[i + 1])?))
}

/// `width height unit` from `i`.
fn box_at(args: &Args, i: usize) -> Result<(f64, f64, f64), CmdError> {
    let w = float_or(args, i, "need numeric width")?;
    let h = float_or(args, i + 1, "need numeric height")?;
    if h < 0.0 || w < 0.0 {
        return Err(CmdError::msg("ERR height or width cannot be negative"));
    }
    Ok((w, h, unit(&args[i + 2])?))
}

fn member_pos(z: &ZSet, m: &[u8]) -> Option<(f64, f64)> {
    geohash::decode_score(z.score(m)?)
}

fn not_decodable() -> CmdError {
    CmdError::msg("ERR could not decode requested zset member")
}

// ---------------------------------------------------------------------------
// GEOADD, GEOPOS, GEOHASH, GEODIST
// ---------------------------------------------------------------------------

/// GEOADD key [NX|XX] [CH] longitude latitude member [...]: ZADD with the
/// positions encoded as scores.
pub fn geoadd(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let (mut nx, mut xx) = (false, false);
    let mut i = 2;
    while i < args.len() {
        let a = &args[i];
        if eq_ic(a, "nx") {
            nx = true;
        } else if eq_ic(a, "xx") {
            xx = true;
        } else if !eq_ic(a, "ch") {
            break;
        }
        i += 1;
    }
    if !(args.len() - i).is_multiple_of(3) || (nx && xx) {
        return Err(CmdError::Syntax);
    }
    let mut zargs: Vec<Vec<u8>> = Vec::with_capacity(i + (args.len() - i) / 3 * 2);
    zargs.push(b"zadd".to_vec());
    for a in args.iter().take(i).skip(1) {
        zargs.push(a.to_vec());
    }
    let mut j = i;
    while j < args.len() {
        let (lon, lat) = lon_lat_at(args, j)?;
        let score = geohash::score_of(lon, lat).unwrap_or(0);
        zargs.push(score.to_string().into_bytes());
        zargs.push(args[j + 2].to_vec());
        j += 3;
    }
    let zargs = Args::from_iter(zargs.iter().map(|v| v.as_slice()));
    crate::commands::zset::zadd(ctx, &zargs)
}

/// GEOPOS key [member ...]
pub fn geopos(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let (o, r) = ctx.lookup_r(&args[1]);
    let z = match o {
        None => None,
        Some(o) => Some(o.v.as_zset()?),
    };
    r.array(args.len() - 2);
    for m in args.iter().skip(2) {
        match z.and_then(|z| member_pos(z, m)) {
            None => r.null_array(),
            Some((lon, lat)) => {
                r.array(2);
                r.double(lon);
                r.double(lat);
            }
        }
    }
    Ok(())
}

/// GEOHASH key [member ...]
pub fn geohash_cmd(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let (o, r) = ctx.lookup_r(&args[1]);
    let z = match o {
        None => None,
        Some(o) => Some(o.v.as_zset()?),
    };
    r.array(args.len() - 2);
    for m in args.iter().skip(2) {
        match z.and_then(|z| z.score(m)).and_then(geohash::geohash_string) {
            None => r.null(),
            Some(s) => r.bulk(&s),
        }
    }
    Ok(())
}

/// GEODIST key member1 member2 [M|KM|FT|MI]
pub fn geodist(ctx: &mut Ctx, args: &Args) -> CmdResult {
    let to_m = match args.len() {
        4 => 1.0,
        5 => unit(&args[4])?,
        _ => return Err(CmdError::Syntax),
    };
    let (o, r) = ctx.lookup_r(&args[1]);
    let Some(o) = o else {
        r.null();
        return Ok(());
    };
    let z = o.v.as_zset()?;
    match (member_pos(z, &args[2]), member_pos(z, &args[3])) {
        (Some(a), Some(b)) => {
            let d = geohash::distance(a.0, a.1, b.0, b.1) / to_m;
            r.bulk(geohash::fmt_distance(d).as_bytes());
        }
        _ => r.null(),
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// Searches
// ---------------------------------------------------------------------------

#[derive(Clone, Copy, PartialEq)]
enum Variant {
    /// GEORADIUS: `key lon lat radius unit`.
    Coords,
    /// GEORADIUSBYMEMBER: `key member radius unit`.
    Member,
    /// GEOSEARCH / GEOSEARCHSTORE: FROM... and BY... options.
    Search,
}

/// One point found by a search.
struct Point {
    member: Vec<u8>,
    lon: f64,
    lat: f64,
    dist: f64,
    score: f64,
}

/// Collects the members of `z` inside `shape`, box by box, stopping once
/// `limit` (non-zero) points are found.
fn points_in_shape(z: &ZSet, shape: &Shape, limit: usize) -> Vec<Point> {
    let area = shape.search_area();
    let mut out: Vec<Point> = Vec::new();
    // The last box searched, by index: as in Redis's loop, a box equal to
    // it is skipped, except when that was the centre box (index 0).
    let mut last = 0;
    for (i, b) in area.boxes.iter().copied().enumerate() {
        if b.is_zero() {
            continue;
        }
        if last > 0 && area.boxes[last] == b {
            continue;
        }
        if limit > 0 && out.len() >= limit {
            break;
        }
        let (min, max) = geohash::score_range(b);
        let start = z.count_before(|s, _| s < min);
        z.for_range(start, z.len(), false, |m, s| {
            if s >= max {
                return false;
            }
            if let Some((lon, lat)) = geohash::decode_score(s)
                && let Some(dist) = shape.contains(lon, lat)
            {
                out.push(Point {
                    member: m.to_vec(),
                    lon,
                    lat,
                    dist,
                    score: s,
                });
            }
            !(limit > 0 && out.len() >= limit)
        });
        last = i;
    }
    out
}

/// GEORADIUS key longitude latitude radius M|KM|FT|MI [WITHCOORD]
/// [WITHDIST] [WITHHASH] [COUNT count [ANY]] [ASC|DESC] [STORE key |
/// STOREDIST key]
pub fn georadius(ctx: &mut Ctx, args: &Args) -> CmdResult {
    search_generic(ctx, args, Variant::Coords, false, false)
}

/// GEORADIUS_RO: GEORADIUS without STORE.
pub fn georadius_ro(ctx: &mut Ctx, args: &Args) -> CmdResult {
    search_generic(ctx, args, Variant::Coords, true, false)
}

/// GEORADIUSBYMEMBER key member radius M|KM|FT|MI [options as GEORADIUS]
pub fn georadiusbymember(ctx: &mut Ctx, args: &Args) -> CmdResult {
    search_generic(ctx, args, Variant::Member, false, false)
}

/// GEORADIUSBYMEMBER_RO: GEORADIUSBYMEMBER without STORE.
pub fn georadiusbymember_ro(ctx: &mut Ctx, args: &Args) -> CmdResult {
    search_generic(ctx, args, Variant::Member, true, false)
}

/// GEOSEARCH key FROMMEMBER member | FROMLONLAT lon lat
/// BYRADIUS radius unit | BYBOX width height unit [ASC|DESC]
/// [COUNT count [ANY]] [WITHCOORD] [WITHDIST] [WITHHASH]
pub fn geosearch(ctx: &mut Ctx, args: &Args) -> CmdResult {
    search_generic(ctx, args, Variant::Search, true, false)
}

/// GEOSEARCHSTORE destination source ... [STOREDIST]
pub fn geosearchstore(ctx: &mut Ctx, args: &Args) -> CmdResult {
    search_generic(ctx, args, Variant::Search, true, true)
}

#[derive(Clone, Copy, PartialEq)]
enum Sort {
    None,
    Asc,
    Desc,
}

/// Redis's `georadiusGeneric`: parse everything, then search, then reply
/// or store.
fn search_generic(
    ctx: &mut Ctx,
    args: &Args,
    variant: Variant,
    nostore: bool,
    searchstore: bool,
) -> CmdResult {
    let src = if searchstore { 2 } else { 1 };
    // Type check first, as Redis looks the key up before parsing.
    let exists = match ctx.lookup(&args[src]) {
        None => false,
        Some(o) => {
            o.v.as_zset()?;
            true
        }
    };
    let base = match variant {
        Variant::Coords => 6,
        Variant::Member => 5,
        Variant::Search if searchstore => 3,
        Variant::Search => 2,
    };
    let mut lonlat: Option<(f64, f64)> = None;
    let mut kind: Option<(ShapeKind, f64)> = None;
    match variant {
        Variant::Coords => {
            lonlat = Some(lon_lat_at(args, 2)?);
            let (r, c) = radius_at(args, 4)?;
            kind = Some((ShapeKind::Circle(r), c));
        }
        Variant::Member if exists => {
            let pos = {
                let z = ctx.lookup_write(&args[src]).map(|o| o.v.as_zset());
                match z {
                    Some(Ok(z)) => member_pos(z, &args[2]),
                    _ => None,
                }
            };
            lonlat = Some(pos.ok_or_else(not_decodable)?);
            let (r, c) = radius_at(args, 3)?;
            kind = Some((ShapeKind::Circle(r), c));
        }
        _ => {}
    }
    let (mut withdist, mut withhash, mut withcoord, mut any) = (false, false, false, false);
    let (mut frommember, mut fromloc, mut byradius, mut bybox) = (false, false, false, false);
    let mut sort = Sort::None;
    let mut count: i64 = 0;
    let mut store: Option<Vec<u8>> = if searchstore {
        Some(args[1].to_vec())
    } else {
        None
    };
    let mut storedist = false;
    let search = variant == Variant::Search;
    let n = args.len();
    let mut i = base;
    while i < n {
        let a = &args[i];
        let rem = n - i - 1;
        if eq_ic(a, "withdist") {
            withdist = true;
        } else if eq_ic(a, "withhash") {
            withhash = true;
        } else if eq_ic(a, "withcoord") {
            withcoord = true;
        } else if eq_ic(a, "any") {
            any = true;
        } else if eq_ic(a, "asc") {
            sort = Sort::Asc;
        } else if eq_ic(a, "desc") {
            sort = Sort::Desc;
        } else if eq_ic(a, "count") && rem >= 1 {
            count = args.i64_at(i + 1)?;
            if count <= 0 {
                return Err(CmdError::msg("ERR COUNT must be > 0"));
            }
            i += 1;
        } else if (eq_ic(a, "store") || eq_ic(a, "storedist")) && rem >= 1 && !nostore && !search {
            store = Some(args[i + 1].to_vec());
            storedist = eq_ic(a, "storedist");
            i += 1;
        } else if eq_ic(a, "storedist") && search && searchstore {
            storedist = true;
        } else if eq_ic(a, "frommember") && rem >= 1 && search && !fromloc {
            if exists {
                let pos = match ctx.lookup_write(&args[src]).map(|o| o.v.as_zset()) {
                    Some(Ok(z)) => member_pos(z, &args[i + 1]),
                    _ => None,
                };
                lonlat = Some(pos.ok_or_else(not_decodable)?);
            }
            frommember = true;
            i += 1;
        } else if eq_ic(a, "fromlonlat") && rem >= 2 && search && !frommember {
            lonlat = Some(lon_lat_at(args, i + 1)?);
            fromloc = true;
            i += 2;
        } else if eq_ic(a, "byradius") && rem >= 2 && search && !bybox {
            let (r, c) = radius_at(args, i + 1)?;
            kind = Some((ShapeKind::Circle(r), c));
            byradius = true;
            i += 2;
        } else if eq_ic(a, "bybox") && rem >= 3 && search && !byradius {
            let (w, h, c) = box_at(args, i + 1)?;
            kind = Some((ShapeKind::Rect(w, h), c));
            bybox = true;
            i += 3;
        } else {
            return Err(CmdError::Syntax);
        }
        i += 1;
    }
    if store.is_some() && (withdist || withhash || withcoord) {
        return Err(CmdError::msg(format!(
            "ERR {} is not compatible with WITHDIST, WITHHASH and WITHCOORD options",
            if searchstore {
                "GEOSEARCHSTORE"
            } else {
                "STORE option in GEORADIUS"
            }
        )));
    }
    if search && !(frommember || fromloc) {
        return Err(CmdError::msg(format!(
            "ERR exactly one of FROMMEMBER or FROMLONLAT can be specified for {}",
            args.str_at(0)
        )));
    }
    if search && !(byradius || bybox) {
        return Err(CmdError::msg(format!(
            "ERR exactly one of BYRADIUS and BYBOX can be specified for {}",
            args.str_at(0)
        )));
    }
    if any && count == 0 {
        return Err(CmdError::msg(
            "ERR the ANY argument requires COUNT argument",
        ));
    }
    let (Some((lon, lat)), Some((kind, conversion)), true) = (lonlat, kind, exists) else {
        // No source key.
        match store {
            Some(dst) => {
                if ctx.db().delete(&dst) {
                    ctx.wrote(&dst, "del", notify::GENERIC);
                }
                ctx.c.reply.int(0);
            }
            None => ctx.c.reply.array(0),
        }
        return Ok(());
    };
    if count != 0 && sort == Sort::None && !any {
        sort = Sort::Asc;
    }
    let shape = Shape {
        lon,
        lat,
        conversion,
        kind,
    };
    let limit = if any { count as usize } else { 0 };
    let mut pts = match ctx.lookup_write(&args[src]).map(|o| o.v.as_zset()) {
        Some(Ok(z)) => points_in_shape(z, &shape, limit),
        _ => Vec::new(),
    };
    if sort != Sort::None {
        // Redis's comparator: equal distances compare equal, and a COUNT
        // below the matches sorts with its partial quicksort (glibc's
        // stable merge sort otherwise), which orders those ties.
        let desc = sort == Sort::Desc;
        let mut cmp = |a: &Point, b: &Point| {
            let c = a
                .dist
                .partial_cmp(&b.dist)
                .unwrap_or(std::cmp::Ordering::Less);
            if desc { c.reverse() } else { c }
        };
        if count > 0 && (count as usize) < pts.len() {
            super::pqsort::partial_qsort(&mut pts, (0, count - 1), &mut cmp);
        } else {
            pts.sort_by(cmp);
        }
    }
    if count > 0 && (count as usize) < pts.len() {
        pts.truncate(count as usize);
    }
    for p in &mut pts {
        p.dist /= conversion;
    }
    let Some(dst) = store else {
        let opts = withdist as usize + withhash as usize + withcoord as usize;
        let r = &mut ctx.c.reply;
        r.array(pts.len());
        for p in &pts {
            if opts > 0 {
                r.array(opts + 1);
            }
            r.bulk(&p.member);
            if withdist {
                r.bulk(geohash::fmt_distance(p.dist).as_bytes());
            }
            if withhash {
                r.int(p.score as i64);
            }
            if withcoord {
                r.array(2);
                r.double(p.lon);
                r.double(p.lat);
            }
        }
        return Ok(());
    };
    let n = pts.len();
    if n > 0 {
        let mut v: Vec<(Vec<u8>, f64)> = pts
            .into_iter()
            .map(|p| (p.member, if storedist { p.dist } else { p.score }))
            .collect();
        v.sort_by(|a, b| cmp_entry(a.1, &a.0, b.1, &b.0));
        v.dedup_by(|a, b| a.0 == b.0);
        let z = ZSet::from_sorted(v, Limits::current());
        ctx.db().set(&dst, Value::ZSet(Box::new(z)), false);
        let event = if search {
            "geosearchstore"
        } else {
            "georadiusstore"
        };
        ctx.wrote(&dst, event, notify::ZSET);
        ctx.st.dirty += n as u64 - 1;
    } else if ctx.db().delete(&dst) {
        ctx.wrote(&dst, "del", notify::GENERIC);
    }
    ctx.c.reply.int(n as i64);
    Ok(())
}
