//! The "What this shows" paragraph of `report.md`: a few sentences generated from the numbers —
//! which variant generalizes best, where each variant's test accuracy drops below
//! [`HIGH`] and [`LOW`], whether it fit its training data, and whether the `expect` lines hold.

use super::grokking::{first_reach, threshold};
use super::markdown::code;
use super::results::{ExperimentResults, RunStatus};
use super::stats::{count, fmt3, fmt_lengths, variants, VariantRuns};

/// "Still good" and "mostly wrong": the two thresholds the paragraph reports crossing.
pub const HIGH: f64 = 0.9;
pub const LOW: f64 = 0.5;
/// Most variants described one by one (the rest are only ranked).
const MAX_DESCRIBED: usize = 6;
/// Within this of the chance level counts as "at chance".
const NEAR_CHANCE: f64 = 0.05;

/// The section: a heading and one paragraph.
pub fn section(res: &ExperimentResults) -> String {
    let mut sentences = vec![];
    let vs = variants(res);
    let scored: Vec<(&VariantRuns, f64)> =
        vs.iter().filter_map(|v| Some((v, v.final_agg(|e| e.test.sequence_accuracy)?.mean))).collect();
    if scored.is_empty() {
        sentences.push("No run has a final evaluation yet.".to_string());
    } else {
        sentences.push(best(res, &scored));
        if res.universe.is_some() {
            sentences.extend(vs.iter().take(MAX_DESCRIBED).filter_map(|v| grokked(v, threshold(res))));
        } else {
            sentences.extend(vs.iter().take(MAX_DESCRIBED).filter_map(|v| drops(res, v)));
        }
        sentences.extend(vs.iter().filter_map(|v| unfit(v)));
    }
    let diverged = res.runs.iter().filter(|r| matches!(r.status, RunStatus::Diverged { .. })).count();
    if diverged > 0 {
        sentences.push(format!("{diverged} of {} diverged.", count(res.runs.len(), "run", "runs")));
    }
    sentences.extend(expectations(res));
    format!("## What this shows\n\n{}\n\n", sentences.join(" "))
}

/// The best variant by mean test sequence accuracy, against the others.
fn best(res: &ExperimentResults, scored: &[(&VariantRuns, f64)]) -> String {
    let (top, acc) = scored.iter().copied().fold(scored[0], |b, x| if x.1 > b.1 { x } else { b });
    let (metric, over) = if res.universe.is_some() {
        ("test accuracy", "on the test set".to_string())
    } else {
        ("test sequence accuracy", format!("over the test lengths {}", fmt_lengths(&res.test_lengths)))
    };
    if scored.len() == 1 {
        return format!("`{}` reaches a {metric} of {} {over}.", code(top.label), fmt3(acc));
    }
    let others: Vec<String> = scored
        .iter()
        .filter(|(v, _)| v.label != top.label)
        .take(3)
        .map(|(v, a)| format!("`{}` {}", code(v.label), fmt3(*a)))
        .collect();
    let more = if scored.len() - 1 > others.len() { ", …" } else { "" };
    format!("`{}` does best: {metric} {} {over} (against {}{more}).", code(top.label), fmt3(acc), others.join(", "))
}

/// Where one variant's mean test sequence accuracy first falls below [`HIGH`] and [`LOW`].
fn drops(res: &ExperimentResults, v: &VariantRuns) -> Option<String> {
    let accs: Vec<(usize, f64)> =
        res.test_lengths.iter().filter_map(|&l| Some((l, v.test_at(l, false)?.mean))).collect();
    let first = accs.first()?.0;
    let name = format!("`{}`", code(v.label));
    if let Some(ch) = res.chance.and_then(|c| c.sequence()) {
        if accs.iter().all(|(_, a)| (a - ch).abs() <= NEAR_CHANCE) {
            return Some(format!("{name} is at chance level ({}) at every test length.", fmt3(ch)));
        }
    }
    let below = |t: f64| accs.iter().find(|(_, a)| *a < t).map(|(l, _)| *l);
    Some(match (below(HIGH), below(LOW)) {
        (None, _) => format!("{name} stays at or above {HIGH} at every test length."),
        (Some(h), Some(l)) if h == first && l == first => {
            format!("{name} is below {LOW} already at the shortest test length, {first}.")
        }
        (Some(h), Some(l)) if h == l => format!("{name} drops below {LOW} (and {HIGH}) at length {h}."),
        (Some(h), Some(l)) => format!("{name} drops below {HIGH} at length {h} and below {LOW} at length {l}."),
        (Some(h), None) => format!("{name} drops below {HIGH} at length {h} but stays at or above {LOW}."),
    })
}

/// When each run of a universe variant reached test accuracy ≥ `th`.
fn grokked(v: &VariantRuns, th: f64) -> Option<String> {
    let reach: Vec<Option<usize>> = v.runs.iter().map(|r| first_reach(r, true, th)).collect();
    let name = format!("`{}`", code(v.label));
    let steps: Vec<String> = reach.iter().flatten().map(|s| s.to_string()).collect();
    Some(match (steps.len(), reach.len()) {
        (0, 1) => format!("{name} never reached test accuracy {th}."),
        (0, n) => format!("{name} reached test accuracy {th} in none of its {n} runs."),
        (k, n) if k == n && n == 1 => format!("{name} reached test accuracy {th} at step {}.", steps[0]),
        (k, n) => {
            format!("{name} reached test accuracy {th} in {k} of its {n} runs (at step {}).", steps.join(", "))
        }
    })
}

/// A sentence when a variant did not fit its training data (train accuracy below [`HIGH`]).
fn unfit(v: &VariantRuns) -> Option<String> {
    let a = v.final_agg(|e| e.train.sequence_accuracy)?.mean;
    (a < HIGH)
        .then(|| format!("`{}` did not fit its training data (train sequence accuracy {}).", code(v.label), fmt3(a)))
}

/// Whether the `expect` lines hold: one sentence, naming those that fail.
fn expectations(res: &ExperimentResults) -> Option<String> {
    let n = res.expects.len();
    let failed: Vec<String> = res
        .expects
        .iter()
        .filter(|e| !e.holds)
        .map(|e| format!("`{}` (value {})", code(&e.text), fmt3(e.value)))
        .collect();
    Some(match (n, failed.len()) {
        (0, _) => return None,
        (1, 0) => "The expectation holds.".into(),
        (2, 0) => "Both expectations hold.".into(),
        (n, 0) => format!("All {n} expectations hold."),
        (1, _) => format!("The expectation fails: {}.", failed[0]),
        (n, k) => format!("{k} of {n} expectations {}: {}.", if k == 1 { "fails" } else { "fail" }, failed.join(", ")),
    })
}
