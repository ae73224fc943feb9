//! Fast selector construction for integer-like columns (ints, booleans,
//! packed inline strings): values are mapped to small ranks, the key
//! positions of each rank become one bit mask, and every row is then one
//! mask (`==`, `!=`) or a prefix/suffix union of masks (`<`, `<=`, `>`,
//! `>=`): O(n + ranks) words instead of n² comparisons.

use super::ast::SelOp;

/// Buffers reused across inputs.
#[derive(Clone, Default)]
pub struct Dense {
    ranks: Vec<i64>,
    rk: Vec<u32>,
    rq: Vec<u32>,
    masks: Vec<u64>,
    cum: Vec<u64>,
}

impl Dense {
    /// Fills `out` (n rows of `w` words) with `keys[k] OP queries[q]`.
    pub fn select(&mut self, keys: &[i64], queries: &[i64], op: SelOp, w: usize, out: &mut [u64]) {
        let r = self.rank(keys, queries);
        self.masks.clear();
        self.masks.resize(r * w, 0);
        for (k, &x) in self.rk.iter().enumerate() {
            self.masks[x as usize * w + (k >> 6)] |= 1 << (k & 63);
        }
        if matches!(op, SelOp::Eq | SelOp::Ne) {
            for (q, &x) in self.rq.iter().enumerate() {
                let m = &self.masks[x as usize * w..(x as usize + 1) * w];
                for (o, v) in out[q * w..(q + 1) * w].iter_mut().zip(m) {
                    *o = if op == SelOp::Eq { *v } else { !*v };
                }
            }
            return;
        }
        // cum[v] = keys of rank < v; cum[r] = all keys.
        self.cum.clear();
        self.cum.resize((r + 1) * w, 0);
        for v in 0..r {
            for c in 0..w {
                self.cum[(v + 1) * w + c] = self.cum[v * w + c] | self.masks[v * w + c];
            }
        }
        for (q, &x) in self.rq.iter().enumerate() {
            let x = x as usize;
            for c in 0..w {
                let all = self.cum[r * w + c];
                out[q * w + c] = match op {
                    SelOp::Lt => self.cum[x * w + c],
                    SelOp::Le => self.cum[(x + 1) * w + c],
                    SelOp::Gt => all & !self.cum[(x + 1) * w + c],
                    _ => all & !self.cum[x * w + c],
                };
            }
        }
    }

    /// Ranks of keys and queries (order-preserving); returns the number of ranks.
    fn rank(&mut self, keys: &[i64], queries: &[i64]) -> usize {
        let n = keys.len();
        let (mut lo, mut hi) = (i64::MAX, i64::MIN);
        for &v in keys.iter().chain(queries) {
            lo = lo.min(v);
            hi = hi.max(v);
        }
        self.rk.clear();
        self.rq.clear();
        if hi.checked_sub(lo).is_some_and(|d| d < 4 * n as i64 + 64) {
            self.rk.extend(keys.iter().map(|v| (v - lo) as u32));
            self.rq.extend(queries.iter().map(|v| (v - lo) as u32));
            return (hi - lo + 1) as usize;
        }
        self.ranks.clear();
        if !self.few_distinct(keys, queries) {
            self.ranks.clear();
            self.ranks.extend_from_slice(keys);
            self.ranks.extend_from_slice(queries);
        }
        self.ranks.sort_unstable();
        self.ranks.dedup();
        let ranks = &self.ranks;
        let find = |v: &i64| ranks.binary_search(v).unwrap_or(0) as u32;
        self.rk.extend(keys.iter().map(find));
        self.rq.extend(queries.iter().map(find));
        self.ranks.len()
    }
}

impl Dense {
    /// Collects the distinct values of `keys` and `queries` into `ranks` by linear search while
    /// there are at most `SMALL` of them (a token alphabet: cheaper than sorting all `2n`
    /// values); false when there are more. The same column as keys and queries is read once.
    fn few_distinct(&mut self, keys: &[i64], queries: &[i64]) -> bool {
        const SMALL: usize = 16;
        let same = std::ptr::eq(keys, queries);
        let mut last = None;
        for &v in keys.iter().chain(if same { &[][..] } else { queries }) {
            if last == Some(v) || self.ranks.contains(&v) {
                last = Some(v);
                continue;
            }
            if self.ranks.len() == SMALL {
                return false;
            }
            self.ranks.push(v);
            last = Some(v);
        }
        true
    }
}

/// If every value is 0 or 1, the bit mask of the ones (for counting sums with popcount).
pub fn ones(col: &[i64], w: usize, mask: &mut Vec<u64>) -> bool {
    mask.clear();
    mask.resize(w, 0);
    for (k, &v) in col.iter().enumerate() {
        if v & !1 != 0 {
            return false;
        }
        mask[k >> 6] |= (v as u64) << (k & 63);
    }
    true
}
