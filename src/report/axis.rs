//! The x axis of the report's charts: linear (lengths, steps) or logarithmic (steps), with
//! integer ticks.

/// Fraction of the x span added on each side.
const MARGIN: f64 = 0.03;

/// An x axis: domain, scale and ticks.
pub struct Axis {
    lo: f64,
    hi: f64,
    log: bool,
    pub(super) ticks: Vec<f64>,
}

impl Axis {
    pub fn linear(xs: &[f64]) -> Axis {
        let (mut lo, mut hi) = min_max(xs).unwrap_or((0.0, 1.0));
        if hi <= lo {
            lo -= 1.0;
            hi += 1.0;
        }
        let pad = (hi - lo) * MARGIN;
        let (lo, hi) = (lo - pad, hi + pad);
        let raw = (hi - lo) / 7.0;
        let mag = 10f64.powf(raw.log10().floor());
        let norm = raw / mag;
        let nice = mag * [(1.5, 1.0), (3.0, 2.0), (7.0, 5.0)].iter().find(|(b, _)| norm < *b).map_or(10.0, |p| p.1);
        // Lengths and steps are integers: no fractional ticks.
        let step = nice.max(1.0);
        let mut ticks = Vec::new();
        let mut k = (lo / step).ceil();
        while k * step <= hi + step * 1e-9 {
            ticks.push(k * step);
            k += 1.0;
        }
        Axis { lo, hi, log: false, ticks }
    }
    pub fn log(xs: &[f64]) -> Axis {
        let (mut lo, mut hi) = min_max(xs).unwrap_or((1.0, 10.0));
        if hi <= lo {
            lo /= 2.0;
            hi *= 2.0;
        }
        let pad = (hi / lo).powf(MARGIN);
        let (lo, hi) = (lo / pad, hi * pad);
        let mut ticks = Vec::new();
        let mut p = 10f64.powf(lo.log10().floor());
        while p <= hi * (1.0 + 1e-9) {
            for m in [1.0, 2.0, 5.0] {
                let t = p * m;
                if t >= lo * (1.0 - 1e-9) && t <= hi * (1.0 + 1e-9) {
                    ticks.push(t);
                }
            }
            p *= 10.0;
        }
        // Few decades: keep 1-2-5; many: keep powers of ten only.
        if ticks.len() > 8 {
            ticks.retain(|t| (t.log10() - t.log10().round()).abs() < 1e-9);
        }
        Axis { lo, hi, log: true, ticks }
    }
    /// Where `x` lies across the axis, from 0 (left) to 1 (right).
    pub(super) fn frac(&self, x: f64) -> f64 {
        if self.log {
            (x.ln() - self.lo.ln()) / (self.hi.ln() - self.lo.ln())
        } else {
            (x - self.lo) / (self.hi - self.lo)
        }
    }
}

fn min_max(xs: &[f64]) -> Option<(f64, f64)> {
    let lo = xs.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = xs.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    (lo.is_finite() && hi.is_finite()).then_some((lo, hi))
}

/// A tick label: integers without decimals (thousands as `k`), others with up to 3 decimals.
pub(super) fn tick_label(t: f64) -> String {
    if (t - t.round()).abs() < 1e-9 {
        let n = t.round() as i64;
        if n >= 10_000 && n % 1000 == 0 {
            format!("{}k", n / 1000)
        } else {
            n.to_string()
        }
    } else {
        format!("{t:.3}").trim_end_matches('0').to_string()
    }
}
