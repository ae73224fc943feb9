//! `expect` lines: checked on the final evaluations of all runs.

use crate::ir::{Expect, Metric, Reducer, Scope};
use crate::report::results::{ExpectOutcome, RunResult, Scores};

/// Checks each expectation against the runs' final evaluations. A run that
/// diverged counts as accuracy 0.
pub fn check(expects: &[Expect], runs: &[RunResult]) -> Vec<ExpectOutcome> {
    expects.iter().map(|x| one(x, runs)).collect()
}

fn one(x: &Expect, runs: &[RunResult]) -> ExpectOutcome {
    let values: Vec<f64> = runs
        .iter()
        .map(|r| {
            r.final_eval.as_ref().map_or(0.0, |e| {
                let s: &Scores = if x.scope == Scope::Train { &e.train } else { &e.test };
                match x.metric {
                    Metric::TokenAccuracy => s.token_accuracy,
                    Metric::SequenceAccuracy => s.sequence_accuracy,
                }
            })
        })
        .collect();
    let (value, holds) = match x.reducer {
        Reducer::All => {
            let v = values.iter().copied().fold(f64::INFINITY, f64::min);
            (
                if values.is_empty() { 0.0 } else { v },
                !values.is_empty() && values.iter().all(|&v| x.op.holds(v, x.value)),
            )
        }
        Reducer::Any => {
            let best = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let holds = values.iter().any(|&v| x.op.holds(v, x.value));
            let shown = values.iter().copied().find(|&v| x.op.holds(v, x.value)).unwrap_or(best);
            (if values.is_empty() { 0.0 } else { shown }, holds)
        }
        Reducer::Mean => {
            let m = values.iter().sum::<f64>() / values.len().max(1) as f64;
            (m, !values.is_empty() && x.op.holds(m, x.value))
        }
    };
    ExpectOutcome { text: x.text.clone(), value, holds }
}
