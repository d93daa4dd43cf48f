//! Per-database histograms of key sizes by type (INFO `keysizes`): string
//! lengths and collection item counts in power-of-two bins. They are kept
//! up to date on every change, so INFO reads them in O(bins) however big
//! the keyspace is.
//!
//! Each entry remembers the class it is counted under (`Obj::sized`). The
//! keyspace's single entry and exit points (`Db::put`, `Db::unlink`) count
//! and uncount entries; in-place changes are caught up where every write
//! ends (`State::key_modified` calls `Db::refresh_size`).

use super::Value;

/// Bin 0 holds empty values; bin i (i >= 1) lengths in [2^(i-1), 2^i).
pub const BINS: usize = 65;

/// Types with a histogram, in INFO's order.
const TYPES: usize = 5;
const NAMES: [&str; TYPES] = [
    "distrib_strings_sizes",
    "distrib_lists_items",
    "distrib_sets_items",
    "distrib_zsets_items",
    "distrib_hashes_items",
];

/// The class of an entry that is not counted (a stream, or not yet seen).
pub const UNCOUNTED: u16 = u16::MAX;

/// Type index (high byte) and bin (low byte) of a value.
pub fn class_of(v: &Value) -> u16 {
    let (t, len) = match v {
        Value::Str(s) => (0u16, s.len()),
        Value::List(l) => (1, l.len()),
        Value::Set(s) => (2, s.len()),
        Value::ZSet(z) => (3, z.len()),
        Value::Hash(h) => (4, h.len()),
        Value::Stream(_) => return UNCOUNTED,
    };
    (t << 8) | bin_of(len as u64)
}

fn bin_of(len: u64) -> u16 {
    (64 - len.leading_zeros()) as u16
}

pub struct KeySizes {
    bins: [[u64; BINS]; TYPES],
}

impl Default for KeySizes {
    fn default() -> Self {
        KeySizes {
            bins: [[0; BINS]; TYPES],
        }
    }
}

impl KeySizes {
    /// Moves one entry from class `old` to class `new` (either may be
    /// `UNCOUNTED`).
    #[inline]
    pub fn shift(&mut self, old: u16, new: u16) {
        if old == new {
            return;
        }
        if let Some(n) = self.slot(old) {
            *n = n.saturating_sub(1);
        }
        if let Some(n) = self.slot(new) {
            *n += 1;
        }
    }

    fn slot(&mut self, class: u16) -> Option<&mut u64> {
        if class == UNCOUNTED {
            return None;
        }
        self.bins
            .get_mut((class >> 8) as usize)?
            .get_mut((class & 0xff) as usize)
    }

    pub fn clear(&mut self) {
        *self = KeySizes::default();
    }

    /// Appends this database's INFO lines (`db0_distrib_lists_items:4=1,8=2`),
    /// one per type that has keys.
    pub fn render(&self, db: usize, out: &mut String) {
        use std::fmt::Write;
        for (name, bins) in NAMES.iter().zip(&self.bins) {
            let mut first = true;
            for (i, &n) in bins.iter().enumerate() {
                if n == 0 {
                    continue;
                }
                if first {
                    let _ = write!(out, "db{db}_{name}:");
                    first = false;
                } else {
                    out.push(',');
                }
                let _ = write!(out, "{}={n}", label(i));
            }
            if !first {
                out.push_str("\r\n");
            }
        }
    }
}

/// Recounts a whole database and compares with its histograms: the first
/// entry counted under a stale class, or the first bin that disagrees.
/// What `DEBUG KEYSIZES-CHECK` runs, so tests can catch a write path that
/// forgot to recount.
pub fn check(db: &super::Db) -> Result<(), String> {
    let mut truth = KeySizes::default();
    for (k, o) in db.keys.iter() {
        let class = class_of(&o.v);
        if class != o.sized {
            return Err(format!(
                "key '{}' is counted as {:#06x} but is {:#06x}",
                String::from_utf8_lossy(k),
                o.sized,
                class
            ));
        }
        truth.shift(UNCOUNTED, class);
    }
    for (t, name) in NAMES.iter().enumerate() {
        for b in 0..BINS {
            let (want, have) = (truth.bins[t][b], db.keysizes.bins[t][b]);
            if want != have {
                return Err(format!(
                    "db{} {name} bin {}: {have} counted, {want} present",
                    db.id,
                    label(b)
                ));
            }
        }
    }
    Ok(())
}

/// A bin's lower bound as INFO prints it: 0, 1, 2, 4 ... 512, 1K ... 512K,
/// 1M and so on up the binary prefixes.
fn label(bin: usize) -> String {
    if bin == 0 {
        return "0".into();
    }
    let exp = bin - 1;
    const UNITS: [&str; 7] = ["", "K", "M", "G", "T", "P", "E"];
    format!("{}{}", 1u64 << (exp % 10), UNITS[exp / 10])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::Str;

    #[test]
    fn bins_and_labels() {
        assert_eq!(bin_of(0), 0);
        assert_eq!(bin_of(1), 1);
        assert_eq!(bin_of(3), 2);
        assert_eq!(bin_of(4), 3);
        assert_eq!(label(0), "0");
        assert_eq!(label(1), "1");
        assert_eq!(label(10), "512");
        assert_eq!(label(11), "1K");
        assert_eq!(label(22), "2M");
        assert_eq!(label(63), "4E");
        assert_eq!(class_of(&Value::Str(Str::from_bytes(b"12345"))), bin_of(5));
    }

    #[test]
    fn render_skips_empty_types() {
        let mut k = KeySizes::default();
        let s4 = class_of(&Value::Str(Str::from_bytes(b"abcd")));
        k.shift(UNCOUNTED, s4);
        k.shift(UNCOUNTED, s4);
        k.shift(UNCOUNTED, (4 << 8) | 1);
        let mut out = String::new();
        k.render(3, &mut out);
        assert_eq!(
            out,
            "db3_distrib_strings_sizes:4=2\r\ndb3_distrib_hashes_items:1=1\r\n"
        );
        k.shift(s4, UNCOUNTED);
        k.shift(s4, UNCOUNTED);
        k.shift((4 << 8) | 1, UNCOUNTED);
        out.clear();
        k.render(3, &mut out);
        assert_eq!(out, "");
    }
}
