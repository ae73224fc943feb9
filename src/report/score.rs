//! The "Score" section of `report.md` (with `eval { reduce = max | mean }`), as the
//! Chomsky-hierarchy benchmark scores a model (Delétang et al. 2023): the score of a run is its
//! test token accuracy averaged over the test lengths (each length weighs the same; outputs
//! after a `score_until` token are not scored), and a model's score reduces its runs — every
//! seed of every variant that shares the model, i.e. differs only in training settings such as
//! the learning rate — with `max` (the paper's choice) or `mean`.

use super::markdown::{cell, table};
use super::results::{ExperimentResults, RunResult};
use super::stats::{fmt3, Agg};
use crate::ir::ScoreReduce;
use std::fmt::Write;

/// A model's runs: the model's name and the runs that use it.
struct Group<'a> {
    key: String,
    name: &'a str,
    runs: Vec<&'a RunResult>,
}

/// Runs grouped by model configuration, in order of first appearance.
fn groups(res: &ExperimentResults) -> Vec<Group<'_>> {
    let mut out: Vec<Group> = vec![];
    for r in &res.runs {
        let key = serde_json::to_string(&r.config.model).unwrap_or_default();
        match out.iter_mut().find(|g| g.key == key) {
            Some(g) => g.runs.push(r),
            None => out.push(Group { key, name: &r.config.model.name, runs: vec![r] }),
        }
    }
    out
}

/// The run's score: final test token accuracy, the mean over test lengths.
pub fn run_score(r: &RunResult) -> Option<f64> {
    r.final_eval.as_ref().map(|e| e.test.token_accuracy).filter(|v| v.is_finite())
}

/// `reduce` over the scores of `runs` (runs without a final evaluation are left out).
pub fn reduce(runs: &[&RunResult], how: ScoreReduce) -> Option<f64> {
    let a = Agg::of(runs.iter().filter_map(|r| run_score(r)))?;
    Some(match how {
        ScoreReduce::Max => a.max,
        ScoreReduce::Mean => a.mean,
    })
}

/// The section, or nothing when the experiment asked for no reducer.
pub fn section(res: &ExperimentResults) -> String {
    let Some(how) = res.reduce else { return String::new() };
    let gs = groups(res);
    let mut s = String::new();
    let _ = writeln!(s, "## Score\n");
    let _ = writeln!(
        s,
        "Score of a run: test token accuracy averaged over the test lengths. A model's score is the \
         `{}` over its runs (seeds × variants that differ only in training settings).\n",
        how.name()
    );
    let header: Vec<String> =
        vec!["model".into(), "runs".into(), format!("score ({})", how.name()), "run scores (min – max)".into()];
    let mut rows = vec![];
    for g in &gs {
        let twin = gs.iter().filter(|o| o.name == g.name).count() > 1;
        let label = if twin { format!("{} ({})", g.name, g.runs[0].variant) } else { g.name.to_string() };
        let range = Agg::of(g.runs.iter().filter_map(|r| run_score(r)));
        rows.push(vec![
            cell(&label),
            g.runs.len().to_string(),
            reduce(&g.runs, how).map_or("–".into(), fmt3),
            range.map_or("–".into(), |a| format!("{} – {}", fmt3(a.min), fmt3(a.max))),
        ]);
    }
    table(&mut s, &header, &rows, 1);
    s
}
