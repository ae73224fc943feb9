//! Learning-rate schedules: pure functions of the step.

use crate::ir::Schedule;

/// The multiplier on the base learning rate at `step` (1-based) of `total`. A `from_zero`
/// warm-up is the plain schedule one step later: update k uses the plain factor of k − 1
/// (0 for the first update).
pub fn lr_scale(s: &Schedule, step: usize, total: usize) -> f64 {
    let shifted = |from_zero: bool| if from_zero { step.saturating_sub(1) } else { step };
    let warm = |w: usize, k: usize| if w > 0 && k <= w { k as f64 / w as f64 } else { 1.0 };
    match *s {
        Schedule::Constant => 1.0,
        Schedule::WarmupConstant { warmup, from_zero } => warm(warmup, shifted(from_zero)),
        Schedule::WarmupCosine { warmup, min, from_zero } => {
            let k = shifted(from_zero);
            if warmup > 0 && k <= warmup {
                return warm(warmup, k);
            }
            // Shifted, the last update is k = total − 1: it still ends at `min`.
            let span = total.saturating_sub(warmup + usize::from(from_zero)).max(1) as f64;
            let p = ((k - warmup.min(k)) as f64 / span).clamp(0.0, 1.0);
            min + (1.0 - min) * 0.5 * (1.0 + (std::f64::consts::PI * p).cos())
        }
    }
}
