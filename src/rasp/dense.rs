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
    /// The keys and queries that `rk`, `rq`, `masks` and `r` were made from (a program
    /// often selects on one pair of columns with several operators).
    last: Vec<i64>,
    r: usize,
}

impl Dense {
    /// Fills `out` (n rows of `w` words) with `keys[k] OP queries[q]`.
    pub fn select(&mut self, keys: &[i64], queries: &[i64], op: SelOp, w: usize, out: &mut [u64]) {
        let same = std::ptr::eq(keys, queries);
        let n = keys.len();
        let seen = self.last.len() == n + queries.len()
            && self.last[..n] == *keys
            && self.last[n..] == *queries
            && self.masks.len() == self.r * w;
        if !seen {
            self.last.clear();
            self.last.extend_from_slice(keys);
            self.last.extend_from_slice(queries);
            self.r = self.rank(keys, queries, same);
            self.masks.clear();
            self.masks.resize(self.r * w, 0);
            for (k, &x) in self.rk.iter().enumerate() {
                self.masks[x as usize * w + (k >> 6)] |= 1 << (k & 63);
            }
        }
        let r = self.r;
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
    fn rank(&mut self, keys: &[i64], queries: &[i64], same: bool) -> usize {
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
        if self.few_distinct(keys, queries, same) {
            return self.ranks.len();
        }
        self.rk.clear();
        self.rq.clear();
        self.ranks.clear();
        self.ranks.extend_from_slice(keys);
        self.ranks.extend_from_slice(queries);
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
    /// Ranks keys and queries by linear search while there are at most `SMALL` distinct
    /// values (a token alphabet: cheaper than sorting all `2n` values): each value gets
    /// the index of its first occurrence, then the distinct values are sorted and the
    /// indices mapped to ranks. False when there are more.
    fn few_distinct(&mut self, keys: &[i64], queries: &[i64], same: bool) -> bool {
        const SMALL: usize = 16;
        let (mut last, mut id) = (None, 0u32);
        for (k, &v) in keys.iter().chain(if same { &[][..] } else { queries }).enumerate() {
            if last != Some(v) {
                id = match self.ranks.iter().position(|x| *x == v) {
                    Some(p) => p as u32,
                    None if self.ranks.len() == SMALL => return false,
                    None => {
                        self.ranks.push(v);
                        (self.ranks.len() - 1) as u32
                    }
                };
                last = Some(v);
            }
            if k < keys.len() { &mut self.rk } else { &mut self.rq }.push(id);
        }
        let m = self.ranks.len();
        let mut order = [0u8; SMALL];
        order.iter_mut().enumerate().for_each(|(i, o)| *o = i as u8);
        order[..m].sort_unstable_by_key(|&i| self.ranks[i as usize]);
        let mut rank_of = [0u32; SMALL];
        for (r, &i) in order[..m].iter().enumerate() {
            rank_of[i as usize] = r as u32;
        }
        for x in self.rk.iter_mut().chain(self.rq.iter_mut()) {
            *x = rank_of[*x as usize];
        }
        if same {
            self.rq.clone_from(&self.rk);
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
