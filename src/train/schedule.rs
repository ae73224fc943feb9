//! Learning-rate schedules: pure functions of the step.

use crate::ir::Schedule;

/// The multiplier on the base learning rate at `step` (1-based) of `total`.
pub fn lr_scale(s: &Schedule, step: usize, total: usize) -> f64 {
    let warm = |w: usize| if w > 0 && step <= w { step as f64 / w as f64 } else { 1.0 };
    match *s {
        Schedule::Constant => 1.0,
        Schedule::WarmupConstant { warmup } => warm(warmup),
        Schedule::WarmupCosine { warmup, min } => {
            if warmup > 0 && step <= warmup {
                return warm(warmup);
            }
            let span = total.saturating_sub(warmup).max(1) as f64;
            let p = ((step - warmup.min(step)) as f64 / span).clamp(0.0, 1.0);
            min + (1.0 - min) * 0.5 * (1.0 + (std::f64::consts::PI * p).cos())
        }
    }
}
