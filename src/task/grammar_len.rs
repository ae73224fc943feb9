//! Exact-length sampling for recursive grammars.
//!
//! [`super::grammar::sample`] draws a derivation top-down, choosing uniformly among the
//! productions that can still finish within the depth budget. Drawing that process again and
//! again until a sentence has the wanted length (rejection) gives the right distribution, but
//! the chance of hitting a length can be tiny (a right-recursive list of 100 words from a
//! rule that stops with probability 1/2 at each level). This module draws from the *same*
//! process conditioned on the length, without rejection: [`LenTable`] holds, for every depth
//! budget `b`, rule `r` and length `n`, the log-probability that the process started at `r`
//! with budget `b` derives exactly `n` words; a derivation then chooses each production and
//! each split of the length among the production's symbols with the probability the
//! condition gives it.
//!
//! The table has `(max_depth + 1) · rules · (len + 1)` entries and is built once per stream;
//! a grammar too large for it ([`MAX_ENTRIES`], [`MAX_WORK`]) falls back to rejection.

use super::generate::Example;
use super::grammar::{combine, cost, error};
use super::label::LabelError;
use crate::ir::grammar::{Grammar, Prod, Sym};
use crate::ir::Task;
use rand::Rng;

/// The most table entries (f64) built for one stream.
pub const MAX_ENTRIES: usize = 1 << 24;
/// The most inner-loop steps spent building one table.
pub const MAX_WORK: u64 = 1 << 28;

/// Log-probabilities `ln P(rule r with budget b derives exactly n words)`.
pub struct LenTable {
    /// The longest length the table covers.
    pub len: usize,
    rules: usize,
    lw: Vec<f64>,
}

fn lse(a: f64, b: f64) -> f64 {
    if a == f64::NEG_INFINITY {
        return b;
    }
    if b == f64::NEG_INFINITY {
        return a;
    }
    let (hi, lo) = if a > b { (a, b) } else { (b, a) };
    hi + (lo - hi).exp().ln_1p()
}

impl LenTable {
    /// The table of grammar `g` (with its rules' minimum depths `d`) up to length `len`, or
    /// `None` when it would be too large to build.
    pub fn build(g: &Grammar, d: &[usize], len: usize) -> Option<LenTable> {
        let rules = g.rules.len();
        let entries = (g.max_depth + 1).checked_mul(rules)?.checked_mul(len + 1)?;
        if entries > MAX_ENTRIES {
            return None;
        }
        let mut t = LenTable { len, rules, lw: vec![f64::NEG_INFINITY; entries] };
        let mut work = 0u64;
        for b in 1..=g.max_depth {
            for r in 0..rules {
                let fits = fitting(g, d, r, b);
                if fits.is_empty() {
                    continue;
                }
                let share = -(fits.len() as f64).ln();
                let mut acc = vec![f64::NEG_INFINITY; len + 1];
                for p in fits {
                    let c = t.conv(&p.symbols, b - 1, len, &mut work)?;
                    for (a, x) in acc.iter_mut().zip(c) {
                        *a = lse(*a, share + x);
                    }
                }
                let at = t.at(b, r);
                t.lw[at..at + len + 1].copy_from_slice(&acc);
            }
        }
        Some(t)
    }

    fn at(&self, b: usize, r: usize) -> usize {
        (b * self.rules + r) * (self.len + 1)
    }

    fn row(&self, b: usize, r: usize) -> &[f64] {
        let at = self.at(b, r);
        &self.lw[at..at + self.len + 1]
    }

    /// Log-probabilities that `symbols`, each rule with budget `b`, derive `m` words, `m ≤ n`.
    fn conv(&self, symbols: &[Sym], b: usize, n: usize, work: &mut u64) -> Option<Vec<f64>> {
        let mut cur = vec![f64::NEG_INFINITY; n + 1];
        cur[0] = 0.0;
        for s in symbols {
            let mut next = vec![f64::NEG_INFINITY; n + 1];
            match s {
                Sym::Word(_) => next[1..].copy_from_slice(&cur[..n]),
                Sym::Rule(j) => {
                    let row = self.row(b, *j);
                    let ks: Vec<usize> = (0..=n).filter(|&k| row[k] > f64::NEG_INFINITY).collect();
                    let ms: Vec<usize> = (0..=n).filter(|&m| cur[m] > f64::NEG_INFINITY).collect();
                    *work += (ks.len() * ms.len()) as u64;
                    if *work > MAX_WORK {
                        return None;
                    }
                    for &m in &ms {
                        for &k in ks.iter().take_while(|&&k| m + k <= n) {
                            next[m + k] = lse(next[m + k], cur[m] + row[k]);
                        }
                    }
                }
            }
            cur = next;
        }
        Some(cur)
    }

    /// Whether rule `r` with budget `b` can derive exactly `n` words.
    pub fn possible(&self, b: usize, r: usize, n: usize) -> bool {
        n <= self.len && self.row(b, r)[n] > f64::NEG_INFINITY
    }
}

/// The productions of rule `r` that can finish within budget `b`, in spec order.
fn fitting<'g>(g: &'g Grammar, d: &[usize], r: usize, b: usize) -> Vec<&'g Prod> {
    g.rules[r].prods.iter().filter(|p| cost(p, d) <= b).collect()
}

/// An index drawn with probability proportional to `exp(logw[i])` (at least one finite).
fn pick(logw: &[f64], rng: &mut impl Rng) -> usize {
    let hi = logw.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let w: Vec<f64> = logw.iter().map(|&x| (x - hi).exp()).collect();
    let mut u = rng.gen::<f64>() * w.iter().sum::<f64>();
    let last = w.iter().rposition(|&x| x > 0.0).unwrap_or(0);
    for (i, x) in w.iter().enumerate() {
        if u < *x {
            return i;
        }
        u -= x;
    }
    last
}

/// A derivation from rule `r` with budget `b` of exactly `n` words, drawn from the top-down
/// process conditioned on its length (`t.possible(b, r, n)` must hold).
pub fn derive(
    task: &Task,
    g: &Grammar,
    d: &[usize],
    t: &LenTable,
    (r, b, n): (usize, usize, usize),
    rng: &mut impl Rng,
) -> Result<Example, LabelError> {
    let fits = fitting(g, d, r, b);
    let mut work = 0u64;
    let mut logw = Vec::with_capacity(fits.len());
    for p in &fits {
        logw.push(t.conv(&p.symbols, b - 1, n, &mut work).map_or(f64::NEG_INFINITY, |c| c[n]));
    }
    let p = fits[pick(&logw, rng)];
    // suffix[i][m]: the symbols from i on derive m words.
    let k = p.symbols.len();
    let mut suffix = vec![vec![]; k + 1];
    for i in (0..=k).rev() {
        suffix[i] = t.conv(&p.symbols[i..], b - 1, n, &mut work).ok_or_else(|| error(task, "grammar too large"))?;
    }
    let mut left = n;
    let mut kids = Vec::with_capacity(k);
    for (i, s) in p.symbols.iter().enumerate() {
        kids.push(match s {
            Sym::Word(w) => {
                left -= 1;
                Example { input: vec![*w], target: vec![] }
            }
            Sym::Rule(j) => {
                let row = t.row(b - 1, *j);
                let logw: Vec<f64> = (0..=left).map(|m| row[m] + suffix[i + 1][left - m]).collect();
                let m = pick(&logw, rng);
                left -= m;
                derive(task, g, d, t, (*j, b - 1, m), rng)?
            }
        });
    }
    let refs: Vec<&Example> = kids.iter().collect();
    combine(task, p, &refs)
}
