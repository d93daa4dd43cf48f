//! Redis's partial quicksort (`pqsort`), used where it sorts only a window
//! of ranks: SORT with BY and LIMIT, and GEOSEARCH/GEORADIUS with a COUNT
//! below the number of matches. Elements that compare equal come out in
//! this algorithm's order, which clients see, so it is reproduced exactly.

use std::cmp::Ordering;

/// The quicksort of Bentley and McIlroy ("Engineering a Sort Function",
/// 1993) as BSD's qsort has it, which Redis's `pqsort` extends to skip
/// partitions wholly outside the ranks `window` (inclusive, may be empty):
/// median of three (of nine past 40 elements) as pivot, three-way
/// partitioning with the equal keys swapped to both ends, insertion sort
/// below 7 elements (without BSD's switch to it after a pass that swapped
/// nothing). Only the members' order among equals depends on these
/// details, so they are kept exact.
pub fn partial_qsort<T>(v: &mut [T], window: (i64, i64), cmp: &mut impl FnMut(&T, &T) -> Ordering) {
    let outside = |first: usize, n: usize| {
        let (first, last) = (first as i64, (first + n) as i64 - 1);
        let (l, r) = window;
        (l < first && r < first) || (l > last && r > last)
    };
    let (mut a, mut n) = (0, v.len());
    loop {
        if n < 7 {
            insertion_sort(v, a, n, cmp);
            return;
        }
        let mut pm = a + n / 2;
        if n > 7 {
            let (mut pl, mut pn) = (a, a + n - 1);
            if n > 40 {
                let d = n / 8;
                pl = med3(v, pl, pl + d, pl + 2 * d, cmp);
                pm = med3(v, pm - d, pm, pm + d, cmp);
                pn = med3(v, pn - 2 * d, pn - d, pn, cmp);
            }
            pm = med3(v, pl, pm, pn, cmp);
        }
        v.swap(a, pm);
        let (mut pa, mut pb) = (a + 1, a + 1);
        let (mut pc, mut pd) = (a + n - 1, a + n - 1);
        loop {
            while pb <= pc {
                let c = cmp(&v[pb], &v[a]);
                if c == Ordering::Greater {
                    break;
                }
                if c == Ordering::Equal {
                    v.swap(pa, pb);
                    pa += 1;
                }
                pb += 1;
            }
            while pb <= pc {
                let c = cmp(&v[pc], &v[a]);
                if c == Ordering::Less {
                    break;
                }
                if c == Ordering::Equal {
                    v.swap(pc, pd);
                    pd -= 1;
                }
                pc -= 1;
            }
            if pb > pc {
                break;
            }
            v.swap(pb, pc);
            pb += 1;
            pc -= 1;
        }
        let end = a + n;
        let r = (pa - a).min(pb - pa);
        swap_runs(v, a, pb - r, r);
        let r = (pd - pc).min(end - pd - 1);
        swap_runs(v, pb, end - r, r);
        let left = pb - pa;
        if left > 1 && !outside(a, left) {
            partial_qsort_at(v, a, left, window, cmp);
        }
        let right = pd - pc;
        if right > 1 && !outside(end - right, right) {
            a = end - right;
            n = right;
            continue;
        }
        return;
    }
}

/// `partial_qsort` over `v[a..a + n]` (ranks stay those of all of `v`).
fn partial_qsort_at<T>(
    v: &mut [T],
    a: usize,
    n: usize,
    (l, r): (i64, i64),
    cmp: &mut impl FnMut(&T, &T) -> Ordering,
) {
    partial_qsort(&mut v[a..a + n], (l - a as i64, r - a as i64), cmp);
}

fn insertion_sort<T>(v: &mut [T], a: usize, n: usize, cmp: &mut impl FnMut(&T, &T) -> Ordering) {
    for m in a + 1..a + n {
        let mut l = m;
        while l > a && cmp(&v[l - 1], &v[l]) == Ordering::Greater {
            v.swap(l, l - 1);
            l -= 1;
        }
    }
}

fn med3<T>(
    v: &[T],
    a: usize,
    b: usize,
    c: usize,
    cmp: &mut impl FnMut(&T, &T) -> Ordering,
) -> usize {
    use Ordering::*;
    if cmp(&v[a], &v[b]) == Less {
        if cmp(&v[b], &v[c]) == Less {
            b
        } else if cmp(&v[a], &v[c]) == Less {
            c
        } else {
            a
        }
    } else if cmp(&v[b], &v[c]) == Greater {
        b
    } else if cmp(&v[a], &v[c]) == Less {
        a
    } else {
        c
    }
}

fn swap_runs<T>(v: &mut [T], i: usize, j: usize, n: usize) {
    for k in 0..n {
        v.swap(i + k, j + k);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limited_sorts_order_ties_as_redis_does() {
        // RPUSH L e0..e6, weights b c c a b b c: SORT L BY w_* LIMIT 0 3
        // DESC ALPHA answers e6 e1 e2 in Redis 8.0.6.
        let mut v: Vec<(u8, usize)> = b"bccabbc".iter().copied().zip(0..).collect();
        partial_qsort(&mut v, (0, 2), &mut |a, b| b.0.cmp(&a.0));
        let ids: Vec<usize> = v[..3].iter().map(|x| x.1).collect();
        assert_eq!(ids, [6, 1, 2]);
        // Whatever the ties, the window holds what a full sort puts there.
        let mut x = 7u32;
        for n in [5usize, 8, 41, 300] {
            let keys: Vec<u32> = (0..n)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 17;
                    x ^= x << 5;
                    x % 5
                })
                .collect();
            let (l, r) = (n as i64 / 3, n as i64 / 2);
            let mut v = keys.clone();
            partial_qsort(&mut v, (l, r), &mut |a, b| a.cmp(b));
            let mut full = keys;
            full.sort();
            assert_eq!(v[l as usize..=r as usize], full[l as usize..=r as usize]);
        }
    }
}
