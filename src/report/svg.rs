//! The report's plots: accuracy vs test length ([`accuracy_by_length`]) and accuracy vs
//! training step ([`curves`], [`step_panels`]), drawn with [`super::chart`].
//!
//! Every variant keeps one style (colour, dash pattern, marker) across panels; values are means
//! over seeds.

use super::chart::{Axis, Chart};
use super::grokking::evaluations;
use super::results::{Evaluation, ExperimentResults};
use super::stats::{fmt3, variants, Agg};
use std::collections::BTreeSet;

pub use super::chart::esc;

/// Token and sequence accuracy (mean over seeds) vs test length in two panels: the training
/// lengths shaded, the chance level as a dotted line, one styled line per variant.
pub fn accuracy_by_length(res: &ExperimentResults) -> String {
    let vs = variants(res);
    let mut xs: Vec<f64> = res.test_lengths.iter().map(|&l| l as f64).collect();
    let train = res.train_lengths.iter().min().zip(res.train_lengths.iter().max());
    xs.extend(train.iter().flat_map(|(a, b)| [**a as f64, **b as f64]));
    let axis = Axis::linear(&xs);
    let labels: Vec<&str> = vs.iter().map(|v| v.label).collect();
    let title = format!("{}: test accuracy by input length (mean over seeds)", res.experiment);
    let mut c = Chart::new(&title, "", &labels, 2);
    let chance = res.chance.unwrap_or_default();
    for (k, token) in [(0, true), (1, false)] {
        let metric = if token { "token accuracy" } else { "sequence accuracy" };
        let p = c.panel(k, &axis, metric, "input length", metric);
        if let Some((a, b)) = train {
            let label = if a == b { format!("train length {a}") } else { format!("train lengths {a}–{b}") };
            c.band(&p, *a as f64 - 0.5, *b as f64 + 0.5, &label);
        }
        match if token { chance.token() } else { chance.sequence() } {
            Some(ch) => c.hline(&p, ch, &format!("chance {}", fmt3(ch))),
            None if chance.outputs > 0 => c.hline(&p, 0.0, "chance ≈ 0 (1/k per output)"),
            None => {}
        }
        for (i, v) in vs.iter().enumerate() {
            let pts: Vec<(f64, f64)> =
                res.test_lengths.iter().filter_map(|&l| v.test_at(l, token).map(|a| (l as f64, a.mean))).collect();
            c.series(&p, i, &pts, &format!("{} ({metric})", v.label));
        }
        c.border(&p);
    }
    c.finish()
}

/// Whether any run has at least two evaluations, periodic and final together (`curves.svg`
/// is drawn then).
pub fn has_curves(res: &ExperimentResults) -> bool {
    res.runs.iter().any(|r| evaluations(r).len() >= 2)
}

/// Train and test sequence accuracy vs step, two panels, from the first periodic evaluation
/// through the final one. With `log_x`, the step axis is logarithmic.
pub fn curves(res: &ExperimentResults, log_x: bool) -> String {
    let title = format!("{}: sequence accuracy during training (mean over seeds)", res.experiment);
    let panels: [Metric; 2] = [
        ("train sequence accuracy", &|e: &Evaluation| Some(e.train.sequence_accuracy)),
        ("test sequence accuracy", &|e: &Evaluation| Some(e.test.sequence_accuracy)),
    ];
    step_panels(res, &title, log_x, &panels)
}

/// A panel's title and the accuracy it plots from one evaluation.
pub type Metric<'a> = (&'a str, &'a dyn Fn(&Evaluation) -> Option<f64>);

/// One panel per metric, accuracy vs step over every evaluation of each run (periodic, then
/// the final one), mean over seeds at each step: from step 0 (the trainer evaluates the
/// untrained model when `eval.every > 0`). With `log_x`, step 0 is left out. The subtitle says
/// where the first and last points are.
pub fn step_panels(res: &ExperimentResults, title: &str, log_x: bool, metrics: &[Metric]) -> String {
    let vs = variants(res);
    let steps: BTreeSet<usize> =
        res.runs.iter().flat_map(|r| evaluations(r).into_iter().map(|e| e.step)).filter(|&s| !log_x || s > 0).collect();
    let xs: Vec<f64> = steps.iter().map(|&s| s as f64).collect();
    let axis = if log_x { Axis::log(&xs) } else { Axis::linear(&xs) };
    let labels: Vec<&str> = vs.iter().map(|v| v.label).collect();
    let (first, last) = (steps.first().copied().unwrap_or(0), steps.last().copied().unwrap_or(0));
    let subtitle = if log_x {
        format!("Log step axis: from the first evaluation after step 0 (step {first}) through the final evaluation (step {last}).")
    } else if first > 0 {
        format!("No evaluation at step 0: the first point is the first evaluation (step {first}); the last is the final evaluation (step {last}).")
    } else {
        format!("From step 0 through the final evaluation (step {last}).")
    };
    let mut c = Chart::new(title, &subtitle, &labels, metrics.len());
    let xlabel = if log_x { "step (log scale)" } else { "step" };
    let chance = res.chance.and_then(|c| c.sequence());
    for (k, (name, f)) in metrics.iter().enumerate() {
        let p = c.panel(k, &axis, name, xlabel, "accuracy");
        if let Some(ch) = chance {
            c.hline(&p, ch, &format!("chance {}", fmt3(ch)));
        }
        for (i, v) in vs.iter().enumerate() {
            let pts: Vec<(f64, f64)> = steps
                .iter()
                .filter_map(|&s| {
                    let at = v.runs.iter().flat_map(|r| evaluations(r)).filter(|e| e.step == s);
                    Some((s as f64, Agg::of(at.filter_map(f))?.mean))
                })
                .collect();
            c.series(&p, i, &pts, &format!("{} ({name})", v.label));
        }
        c.border(&p);
    }
    c.finish()
}
