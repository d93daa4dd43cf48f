//! Geohash maths for the GEO commands: the 52-bit interleaved scores
//! Redis stores in sorted sets, their decoding, neighbour boxes, the
//! search-area estimate and haversine distances.
//!
//! A position is encoded at step 26: 26 bits of latitude (over
//! -85.05112878..85.05112878, the Web Mercator limits) on the even bits and
//! 26 bits of longitude (-180..180) on the odd bits. The arithmetic follows
//! Redis's `geohash.c` / `geohash_helper.c` operation for operation, so
//! scores, decoded coordinates and distances agree with Redis bit for bit.

pub const LAT_MIN: f64 = -85.05112878;
pub const LAT_MAX: f64 = 85.05112878;
pub const LONG_MIN: f64 = -180.0;
pub const LONG_MAX: f64 = 180.0;
pub const STEP_MAX: u8 = 26;
/// Redis's quadratic mean radius of the earth, in meters.
pub const EARTH_RADIUS: f64 = 6372797.560856;
const MERCATOR_MAX: f64 = 20037726.37;
const D_R: f64 = std::f64::consts::PI / 180.0;

#[derive(Clone, Copy, Debug, PartialEq, Default)]
pub struct HashBits {
    pub bits: u64,
    pub step: u8,
}

impl HashBits {
    pub fn is_zero(&self) -> bool {
        self.bits == 0 && self.step == 0
    }
}

#[derive(Clone, Copy, Debug, Default)]
pub struct Range {
    pub min: f64,
    pub max: f64,
}

#[derive(Clone, Copy, Debug, Default)]
pub struct Area {
    pub lon: Range,
    pub lat: Range,
}

const MERC_LON: Range = Range {
    min: LONG_MIN,
    max: LONG_MAX,
};
const MERC_LAT: Range = Range {
    min: LAT_MIN,
    max: LAT_MAX,
};

fn deg_rad(a: f64) -> f64 {
    a * D_R
}

fn rad_deg(a: f64) -> f64 {
    a / D_R
}

/// Spreads the bits of `x` to the even positions and `y` to the odd ones.
fn interleave64(x: u32, y: u32) -> u64 {
    const B: [u64; 5] = [
        0x5555555555555555,
        0x3333333333333333,
        0x0F0F0F0F0F0F0F0F,
        0x00FF00FF00FF00FF,
        0x0000FFFF0000FFFF,
    ];
    const S: [u32; 5] = [1, 2, 4, 8, 16];
    let (mut x, mut y) = (x as u64, y as u64);
    for i in (0..5).rev() {
        x = (x | (x << S[i])) & B[i];
        y = (y | (y << S[i])) & B[i];
    }
    x | (y << 1)
}

/// The inverse of `interleave64`: even bits in the low half, odd bits in
/// the high half.
fn deinterleave64(v: u64) -> u64 {
    const B: [u64; 6] = [
        0x5555555555555555,
        0x3333333333333333,
        0x0F0F0F0F0F0F0F0F,
        0x00FF00FF00FF00FF,
        0x0000FFFF0000FFFF,
        0x00000000FFFFFFFF,
    ];
    const S: [u32; 6] = [0, 1, 2, 4, 8, 16];
    let mut x = v;
    let mut y = v >> 1;
    for i in 0..6 {
        x = (x | (x >> S[i])) & B[i];
        y = (y | (y >> S[i])) & B[i];
    }
    x | (y << 32)
}

/// Encodes a position at `step` (1..=32) over the given ranges; None
/// outside the Mercator limits or the ranges.
pub fn encode(lon_r: Range, lat_r: Range, lon: f64, lat: f64, step: u8) -> Option<HashBits> {
    if step == 0 || step > 32 {
        return None;
    }
    if !(LONG_MIN..=LONG_MAX).contains(&lon) || !(LAT_MIN..=LAT_MAX).contains(&lat) {
        return None;
    }
    if lat < lat_r.min || lat > lat_r.max || lon < lon_r.min || lon > lon_r.max {
        return None;
    }
    let mut lat_off = (lat - lat_r.min) / (lat_r.max - lat_r.min);
    let mut lon_off = (lon - lon_r.min) / (lon_r.max - lon_r.min);
    lat_off *= (1u64 << step) as f64;
    lon_off *= (1u64 << step) as f64;
    Some(HashBits {
        bits: interleave64(lat_off as u32, lon_off as u32),
        step,
    })
}

/// Encodes over the Mercator ranges, as GEOADD does.
pub fn encode_wgs84(lon: f64, lat: f64, step: u8) -> Option<HashBits> {
    encode(MERC_LON, MERC_LAT, lon, lat, step)
}

/// The cell a hash denotes.
pub fn decode(lon_r: Range, lat_r: Range, h: HashBits) -> Option<Area> {
    if h.is_zero() {
        return None;
    }
    let sep = deinterleave64(h.bits);
    let lat_scale = lat_r.max - lat_r.min;
    let lon_scale = lon_r.max - lon_r.min;
    let ilat = sep as u32;
    let ilon = (sep >> 32) as u32;
    let div = (1u64 << h.step) as f64;
    Some(Area {
        lat: Range {
            min: lat_r.min + (ilat as f64 * 1.0 / div) * lat_scale,
            max: lat_r.min + ((ilat as f64 + 1.0) * 1.0 / div) * lat_scale,
        },
        lon: Range {
            min: lon_r.min + (ilon as f64 * 1.0 / div) * lon_scale,
            max: lon_r.min + ((ilon as f64 + 1.0) * 1.0 / div) * lon_scale,
        },
    })
}

/// A score's bits as Redis's `(uint64_t)score` gives them on x86-64, where
/// a zset member added by ZADD may hold any double: below 2^63 the value
/// truncates through a signed conversion (negatives wrap, and what no i64
/// holds, -inf included, becomes 1<<63); from 2^63 up, 2^63 is taken off
/// first and the top bit put back, so 2^64 and +inf come out as 0. Rust's
/// saturating `as u64` would send all of them to 0 or u64::MAX instead.
fn score_bits(score: f64) -> u64 {
    const TWO63: f64 = 9_223_372_036_854_775_808.0;
    if score < TWO63 {
        // Saturation to i64::MIN is the conversion's "indefinite" 1<<63.
        score as i64 as u64
    } else {
        let rest = score - TWO63;
        if rest < TWO63 {
            (rest as i64 as u64) ^ (1 << 63)
        } else {
            0
        }
    }
}

/// The centre of a 52-bit score's cell: (longitude, latitude).
pub fn decode_score(score: f64) -> Option<(f64, f64)> {
    let h = HashBits {
        bits: score_bits(score),
        step: STEP_MAX,
    };
    let a = decode(MERC_LON, MERC_LAT, h)?;
    let lon = ((a.lon.min + a.lon.max) / 2.0).clamp(LONG_MIN, LONG_MAX);
    let lat = ((a.lat.min + a.lat.max) / 2.0).clamp(LAT_MIN, LAT_MAX);
    Some((lon, lat))
}

/// A hash shifted left to 52 bits: the sorted-set score.
pub fn align52(h: HashBits) -> u64 {
    h.bits << (52 - h.step as u32 * 2)
}

/// The 52-bit score of a position (already validated).
pub fn score_of(lon: f64, lat: f64) -> Option<u64> {
    encode_wgs84(lon, lat, STEP_MAX).map(align52)
}

/// The standard 11-character geohash string of a stored score (GEOHASH):
/// decoded, then re-encoded over -90..90 latitude.
pub fn geohash_string(score: f64) -> Option<[u8; 11]> {
    const ALPHA: &[u8; 32] = b"0123456789bcdefghjkmnpqrstuvwxyz";
    let (lon, lat) = decode_score(score)?;
    let h = encode(
        Range {
            min: -180.0,
            max: 180.0,
        },
        Range {
            min: -90.0,
            max: 90.0,
        },
        lon,
        lat,
        26,
    )
    .unwrap_or_default();
    let mut out = [b'0'; 11];
    for (i, o) in out.iter_mut().enumerate().take(10) {
        let idx = (h.bits >> (52 - (i + 1) * 5)) & 0x1f;
        *o = ALPHA[idx as usize];
    }
    Some(out)
}

fn move_x(h: &mut HashBits, d: i8) {
    if d == 0 {
        return;
    }
    let mut x = h.bits & 0xaaaaaaaaaaaaaaaa;
    let y = h.bits & 0x5555555555555555;
    let zz = 0x5555555555555555u64 >> (64 - h.step as u32 * 2);
    if d > 0 {
        x = x.wrapping_add(zz + 1);
    } else {
        x |= zz;
        x = x.wrapping_sub(zz + 1);
    }
    x &= 0xaaaaaaaaaaaaaaaau64 >> (64 - h.step as u32 * 2);
    h.bits = x | y;
}

fn move_y(h: &mut HashBits, d: i8) {
    if d == 0 {
        return;
    }
    let x = h.bits & 0xaaaaaaaaaaaaaaaa;
    let mut y = h.bits & 0x5555555555555555;
    let zz = 0xaaaaaaaaaaaaaaaau64 >> (64 - h.step as u32 * 2);
    if d > 0 {
        y = y.wrapping_add(zz + 1);
    } else {
        y |= zz;
        y = y.wrapping_sub(zz + 1);
    }
    y &= 0x5555555555555555u64 >> (64 - h.step as u32 * 2);
    h.bits = x | y;
}

fn moved(h: HashBits, dx: i8, dy: i8) -> HashBits {
    let mut n = h;
    move_x(&mut n, dx);
    move_y(&mut n, dy);
    n
}

/// The area searched around a point: the point's own cell first, then
/// north, south, east, west, north-east, north-west, south-east and
/// south-west (zeroed when useless), Redis's order.
pub struct SearchArea {
    pub boxes: [HashBits; 9],
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ShapeKind {
    /// A radius, in the shape's unit.
    Circle(f64),
    /// Width and height, in the shape's unit.
    Rect(f64, f64),
}

/// What GEOSEARCH looks inside: a centre, a shape, and the unit's size in
/// meters.
#[derive(Clone, Copy, Debug)]
pub struct Shape {
    pub lon: f64,
    pub lat: f64,
    pub conversion: f64,
    pub kind: ShapeKind,
}

/// Redis's `geohashEstimateStepsByRadius`.
pub fn estimate_steps(range_m: f64, lat: f64) -> u8 {
    if range_m == 0.0 {
        return 26;
    }
    let mut r = range_m;
    let mut step: i32 = 1;
    while r < MERCATOR_MAX {
        r *= 2.0;
        step += 1;
    }
    step -= 2;
    if !(-66.0..=66.0).contains(&lat) {
        step -= 1;
        if !(-80.0..=80.0).contains(&lat) {
            step -= 1;
        }
    }
    step.clamp(1, 26) as u8
}

impl Shape {
    /// (min lon, min lat, max lon, max lat) of the shape.
    pub fn bounds(&self) -> [f64; 4] {
        let (h, w) = match self.kind {
            ShapeKind::Circle(r) => (r, r),
            ShapeKind::Rect(w, h) => (h / 2.0, w / 2.0),
        };
        let height = self.conversion * h;
        let width = self.conversion * w;
        let lat_delta = rad_deg(height / EARTH_RADIUS);
        let lon_top = rad_deg(width / EARTH_RADIUS / deg_rad(self.lat + lat_delta).cos());
        let lon_bottom = rad_deg(width / EARTH_RADIUS / deg_rad(self.lat - lat_delta).cos());
        let south = self.lat < 0.0;
        let d = if south { lon_bottom } else { lon_top };
        [
            self.lon - d,
            self.lat - lat_delta,
            self.lon + d,
            self.lat + lat_delta,
        ]
    }

    /// Redis's `geohashCalculateAreasByShapeWGS84`.
    pub fn search_area(&self) -> SearchArea {
        let [min_lon, min_lat, max_lon, max_lat] = self.bounds();
        let radius_m = match self.kind {
            ShapeKind::Circle(r) => r,
            ShapeKind::Rect(w, h) => ((w / 2.0) * (w / 2.0) + (h / 2.0) * (h / 2.0)).sqrt(),
        } * self.conversion;
        let mut steps = estimate_steps(radius_m, self.lat);
        let enc = |steps| encode(MERC_LON, MERC_LAT, self.lon, self.lat, steps).unwrap_or_default();
        let dec = |h| decode(MERC_LON, MERC_LAT, h).unwrap_or_default();
        let mut hash = enc(steps);
        let mut nb = neighbours(hash);
        let mut area = dec(hash);
        let decrease = dec(nb[0]).lat.max < max_lat
            || dec(nb[1]).lat.min > min_lat
            || dec(nb[2]).lon.max < max_lon
            || dec(nb[3]).lon.min > min_lon;
        if steps > 1 && decrease {
            steps -= 1;
            hash = enc(steps);
            nb = neighbours(hash);
            area = dec(hash);
        }
        // nb: north, south, east, west, ne, nw, se, sw
        if steps >= 2 {
            let z = HashBits::default();
            if area.lat.min < min_lat {
                nb[1] = z;
                nb[7] = z;
                nb[6] = z;
            }
            if area.lat.max > max_lat {
                nb[0] = z;
                nb[4] = z;
                nb[5] = z;
            }
            if area.lon.min < min_lon {
                nb[3] = z;
                nb[7] = z;
                nb[5] = z;
            }
            if area.lon.max > max_lon {
                nb[2] = z;
                nb[6] = z;
                nb[4] = z;
            }
        }
        SearchArea {
            boxes: [hash, nb[0], nb[1], nb[2], nb[3], nb[4], nb[5], nb[6], nb[7]],
        }
    }

    /// Whether a point is inside the shape, and then its distance from the
    /// centre in meters.
    pub fn contains(&self, lon: f64, lat: f64) -> Option<f64> {
        match self.kind {
            ShapeKind::Circle(r) => {
                let d = distance(self.lon, self.lat, lon, lat);
                (d <= r * self.conversion).then_some(d)
            }
            ShapeKind::Rect(w, h) => {
                let (w, h) = (w * self.conversion, h * self.conversion);
                if lat_distance(self.lat, lat) > h / 2.0 {
                    return None;
                }
                if distance(lon, lat, self.lon, lat) > w / 2.0 {
                    return None;
                }
                Some(distance(self.lon, self.lat, lon, lat))
            }
        }
    }
}

/// north, south, east, west, north-east, north-west, south-east,
/// south-west.
fn neighbours(h: HashBits) -> [HashBits; 8] {
    [
        moved(h, 0, 1),
        moved(h, 0, -1),
        moved(h, 1, 0),
        moved(h, -1, 0),
        moved(h, 1, 1),
        moved(h, -1, 1),
        moved(h, 1, -1),
        moved(h, -1, -1),
    ]
}

/// The [min, max) score range of a cell.
pub fn score_range(h: HashBits) -> (f64, f64) {
    let min = align52(h);
    let max = align52(HashBits {
        bits: h.bits + 1,
        step: h.step,
    });
    (min as f64, max as f64)
}

fn lat_distance(lat1: f64, lat2: f64) -> f64 {
    EARTH_RADIUS * (deg_rad(lat2) - deg_rad(lat1)).abs()
}

/// Haversine distance in meters between two (longitude, latitude) points.
pub fn distance(lon1: f64, lat1: f64, lon2: f64, lat2: f64) -> f64 {
    let lon1r = deg_rad(lon1);
    let lon2r = deg_rad(lon2);
    let v = ((lon2r - lon1r) / 2.0).sin();
    if v == 0.0 {
        return lat_distance(lat1, lat2);
    }
    let lat1r = deg_rad(lat1);
    let lat2r = deg_rad(lat2);
    let u = ((lat2r - lat1r) / 2.0).sin();
    let a = u * u + lat1r.cos() * lat2r.cos() * v * v;
    2.0 * EARTH_RADIUS * a.sqrt().asin()
}

/// A distance with four decimals, as Redis's `fixedpoint_d2string`
/// (rounding to nearest, ties to even).
pub fn fmt_distance(d: f64) -> String {
    if d == 0.0 {
        return "0.0000".into();
    }
    let v = (d * 10000.0).round_ties_even();
    if !v.is_finite() || v.abs() >= 9.2e18 {
        return format!("{d:.4}");
    }
    let v = v as i64;
    let sign = if v < 0 { "-" } else { "" };
    let a = v.unsigned_abs();
    format!("{sign}{}.{:04}", a / 10000, a % 10000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn out_of_range_scores_decode_like_a_c_cast() {
        // GEOPOS replies of Redis 8.0.6 after ZADD g <score> m.
        let cases = [
            (f64::NEG_INFINITY, 180.0, -85.05112751263943),
            (-1e30, 180.0, -85.05112751263943),
            (9223372036854775808.0, 180.0, -85.05112751263943),
            (f64::INFINITY, -179.99999731779099, -85.05112751263943),
            (
                18446744073709551616.0,
                -179.99999731779099,
                -85.05112751263943,
            ),
            (-5.0, 180.0, 85.05112878),
            (4503599627370496.0, -179.99999731779099, 85.05112878),
        ];
        for (score, lon, lat) in cases {
            let (x, y) = decode_score(score).unwrap();
            assert!(
                (x - lon).abs() < 1e-9 && (y - lat).abs() < 1e-9,
                "{score}: {x} {y}"
            );
        }
    }

    #[test]
    fn interleave_roundtrip() {
        let v = interleave64(0x1234567, 0x3abcdef);
        assert_eq!(deinterleave64(v), (0x3abcdef_u64 << 32) | 0x1234567);
    }

    #[test]
    fn scores_match_redis() {
        // GEOADD Sicily 13.361389 38.115556 "Palermo" stores this score.
        assert_eq!(score_of(13.361389, 38.115556), Some(3479099956230698));
        assert_eq!(score_of(15.087269, 37.502669), Some(3479447370796909));
        let (lon, lat) = decode_score(3479099956230698.0).unwrap();
        assert!((lon - 13.361_389_338_970_184).abs() < 1e-12);
        assert!((lat - 38.115_556_395_496_3).abs() < 1e-12);
    }

    #[test]
    fn distances() {
        let (a, b) = (
            decode_score(3479099956230698.0).unwrap(),
            decode_score(3479447370796909.0).unwrap(),
        );
        assert_eq!(fmt_distance(distance(a.0, a.1, b.0, b.1)), "166274.1516");
        assert_eq!(fmt_distance(0.0), "0.0000");
        assert_eq!(fmt_distance(0.00005), "0.0000");
        assert_eq!(fmt_distance(1.23456), "1.2346");
    }

    #[test]
    fn geohash_strings() {
        assert_eq!(&geohash_string(3479099956230698.0).unwrap(), b"sqc8b49rny0");
        assert_eq!(&geohash_string(3479447370796909.0).unwrap(), b"sqdtr74hyu0");
    }

    #[test]
    fn steps() {
        assert_eq!(estimate_steps(0.0, 0.0), 26);
        assert_eq!(estimate_steps(200_000.0, 15.0), 6);
        assert_eq!(estimate_steps(200_000.0, 85.0), 4);
    }
}
