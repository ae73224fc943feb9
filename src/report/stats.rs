//! Reductions over seeds shared by the tables and plots.
//!
//! Runs are grouped by variant label, in order of first appearance. A run
//! counts towards a mean when it has a final evaluation, whatever its
//! status (a diverged run that was still evaluated has real, usually low,
//! accuracy); runs without one are left out. Non-finite values are left out.

use super::results::{Evaluation, ExperimentResults, RunResult, RunStatus};

/// The runs (seeds) of one variant.
pub struct VariantRuns<'a> {
    pub label: &'a str,
    pub runs: Vec<&'a RunResult>,
}

impl<'a> VariantRuns<'a> {
    /// Final evaluations of the runs that have one.
    pub fn finals(&self) -> impl Iterator<Item = &'a Evaluation> + '_ {
        self.runs.iter().filter_map(|r| r.final_eval.as_ref())
    }
    pub fn diverged(&self) -> usize {
        self.runs.iter().filter(|r| matches!(r.status, RunStatus::Diverged { .. })).count()
    }
    /// Sequence accuracy at test length `len`, over seeds.
    pub fn test_seq_at(&self, len: usize) -> Option<Agg> {
        self.test_at(len, false)
    }
    /// Token (`token`) or sequence accuracy at test length `len`, over seeds.
    pub fn test_at(&self, len: usize, token: bool) -> Option<Agg> {
        let at = |e: &Evaluation| e.test_by_length.iter().find(|l| l.len == len).map(|l| l.scores);
        Agg::of(self.finals().filter_map(at).map(|s| if token { s.token_accuracy } else { s.sequence_accuracy }))
    }
    /// A final-evaluation value, over seeds.
    pub fn final_agg(&self, f: impl Fn(&Evaluation) -> f64) -> Option<Agg> {
        Agg::of(self.finals().map(f))
    }
    /// A per-run value over all runs (timings, parameter counts).
    pub fn run_agg(&self, f: impl Fn(&RunResult) -> f64) -> Option<Agg> {
        Agg::of(self.runs.iter().map(|r| f(r)))
    }
}

/// Groups runs by variant label, in order of first appearance.
pub fn variants(res: &ExperimentResults) -> Vec<VariantRuns<'_>> {
    let mut out: Vec<VariantRuns> = Vec::new();
    for r in &res.runs {
        match out.iter_mut().find(|v| v.label == r.variant) {
            Some(v) => v.runs.push(r),
            None => out.push(VariantRuns { label: &r.variant, runs: vec![r] }),
        }
    }
    out
}

/// Mean, minimum and maximum of some finite values.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Agg {
    pub mean: f64,
    pub min: f64,
    pub max: f64,
    pub n: usize,
}

impl Agg {
    /// `None` when no value is finite.
    pub fn of(values: impl IntoIterator<Item = f64>) -> Option<Agg> {
        let (mut sum, mut min, mut max, mut n) = (0.0, f64::INFINITY, f64::NEG_INFINITY, 0usize);
        for v in values.into_iter().filter(|v| v.is_finite()) {
            sum += v;
            min = min.min(v);
            max = max.max(v);
            n += 1;
        }
        (n > 0).then(|| Agg { mean: sum / n as f64, min, max, n })
    }
    /// Half the range: the `±` shown next to a mean over several seeds.
    pub fn half_range(&self) -> f64 {
        (self.max - self.min) / 2.0
    }
    /// `0.750` for one value, `0.750 ± 0.250` for several.
    pub fn fmt_pm(&self) -> String {
        if self.n > 1 {
            format!("{} ± {}", fmt3(self.mean), fmt3(self.half_range()))
        } else {
            fmt3(self.mean)
        }
    }
}

/// Fixed three decimals (`-0.000` printed as `0.000`); `n/a` for an accuracy over no
/// examples (NaN), never `0.000`.
pub fn fmt3(x: f64) -> String {
    if x.is_nan() {
        return "n/a".into();
    }
    let s = format!("{x:.3}");
    if s == "-0.000" {
        "0.000".into()
    } else {
        s
    }
}

/// A mean or a dash when there is no value.
pub fn opt(a: Option<Agg>, f: impl Fn(&Agg) -> String) -> String {
    a.as_ref().map(f).unwrap_or_else(|| "–".into())
}

/// Lengths the way a spec writes them: `1..=40`, `2..=20 step 2`, or a list.
pub fn fmt_lengths(ls: &[usize]) -> String {
    match ls {
        [] => "none".into(),
        [a] => a.to_string(),
        [a, b, ..] if *b > *a && ls.len() > 2 && ls.windows(2).all(|w| w[1] == w[0] + (b - a)) => {
            let last = ls[ls.len() - 1];
            if b - a == 1 {
                format!("{a}..={last}")
            } else {
                format!("{a}..={last} step {}", b - a)
            }
        }
        _ => ls.iter().map(|l| l.to_string()).collect::<Vec<_>>().join(", "),
    }
}

/// `1 run`, `2 runs`: a count with the noun in the right number.
pub fn count(n: usize, singular: &str, plural: &str) -> String {
    format!("{n} {}", if n == 1 { singular } else { plural })
}

/// At most `k` (≥ 2) of `items`, evenly spaced, always the first and last.
pub fn evenly<T: Copy>(items: &[T], k: usize) -> Vec<T> {
    let n = items.len();
    if n <= k {
        return items.to_vec();
    }
    let mut idx: Vec<usize> = (0..k).map(|i| (i * (n - 1) + (k - 1) / 2) / (k - 1)).collect();
    idx.dedup();
    idx.into_iter().map(|i| items[i]).collect()
}
