//! Grokking (Power et al. 2022) in the report of a finite-universe experiment: the first
//! evaluated step at which train and test accuracy reach the threshold ([`THRESHOLD`], or
//! `eval { grok_threshold }`: Lee et al. 2024 count 0.95), the delay between
//! them, the clean / corrupted split of the training accuracy, how many times fewer steps each
//! variant needs than the first one (e.g. Grokfast against the plain run, Lee et al. 2024),
//! and `grokking.svg`: train and test accuracy vs step on a log axis.

use super::results::{Evaluation, ExperimentResults, RunResult};
use super::stats::fmt3;
use std::fmt::Write;

/// "Reached": accuracy at least 0.99 (the grokking papers' 99% criterion).
pub const THRESHOLD: f64 = 0.99;

/// Every evaluation of a run in step order: the periodic ones, then the final one.
pub fn evaluations(r: &RunResult) -> Vec<&Evaluation> {
    let mut v: Vec<&Evaluation> = r.periodic.iter().collect();
    if let Some(f) = &r.final_eval {
        if v.last().is_none_or(|l| l.step < f.step) {
            v.push(f);
        }
    }
    v
}

/// The accuracy counted as reached in `res`: its `grok_threshold`, else [`THRESHOLD`].
pub fn threshold(res: &ExperimentResults) -> f64 {
    res.grok_threshold.unwrap_or(THRESHOLD)
}

/// The first evaluated step whose train (`test == false`) or test accuracy is ≥ `th`.
pub fn first_reach(r: &RunResult, test: bool, th: f64) -> Option<usize> {
    evaluations(r)
        .into_iter()
        .find(|e| if test { e.test.sequence_accuracy } else { e.train.sequence_accuracy } >= th)
        .map(|e| e.step)
}

fn step_or_dash(s: Option<usize>) -> String {
    s.map_or("—".to_string(), |s| s.to_string())
}

/// The "Grokking" section of `report.md` (empty without a universe).
pub fn section(res: &ExperimentResults) -> String {
    let Some(u) = res.universe else { return String::new() };
    let th = threshold(res);
    let mut s = String::new();
    let _ = writeln!(s, "## Grokking\n");
    let _ = writeln!(
        s,
        "Universe of {} examples: {} train ({} with corrupted labels), {} test. \"train ≥ {th}\" and \
         \"test ≥ {th}\" are the first evaluated steps at which accuracy reached {th}; \"delay\" is \
         their difference. Accuracies are at the last step; corrupted-train accuracy is measured against the \
         corrupted label and against the true one.\n",
        u.total, u.train, u.corrupted, u.test
    );
    let (train_th, test_th) = (format!("train ≥ {th}"), format!("test ≥ {th}"));
    let header = [
        "variant",
        "seed",
        train_th.as_str(),
        test_th.as_str(),
        "delay",
        "train acc",
        "test acc",
        "clean train",
        "corrupted vs label",
        "corrupted vs true",
    ];
    let _ = writeln!(s, "| {} |", header.join(" | "));
    let _ = writeln!(s, "|---|{}|", vec!["---:"; header.len() - 1].join("|"));
    for r in &res.runs {
        let (tr, te) = (first_reach(r, false, th), first_reach(r, true, th));
        let delay = match (tr, te) {
            (Some(a), Some(b)) => (b as i64 - a as i64).to_string(),
            _ => "—".into(),
        };
        let last = evaluations(r).last().copied();
        let acc = |f: &dyn Fn(&Evaluation) -> Option<f64>| last.and_then(f).map_or("—".to_string(), fmt3);
        let corrupt = |f: &dyn Fn(&super::results::UniverseScores) -> f64| {
            acc(&|e| e.universe.filter(|x| x.n_corrupted > 0).map(|x| f(&x)))
        };
        let _ = writeln!(
            s,
            "| `{}` | {} | {} | {} | {delay} | {} | {} | {} | {} | {} |",
            r.variant.replace('|', "\\|"),
            r.seed,
            step_or_dash(tr),
            step_or_dash(te),
            acc(&|e| Some(e.train.sequence_accuracy)),
            acc(&|e| Some(e.test.sequence_accuracy)),
            acc(&|e| e.universe.map(|x| x.clean_train)),
            corrupt(&|x| x.corrupted_vs_label),
            corrupt(&|x| x.corrupted_vs_true),
        );
    }
    s.push('\n');
    let speedups = speedups(res);
    if !speedups.is_empty() {
        let _ = writeln!(s, "Steps to test accuracy ≥ {th}, against the first variant:\n");
        for line in speedups {
            let _ = writeln!(s, "- {line}");
        }
        s.push('\n');
    }
    s
}

/// One line per later variant × seed: how many times fewer steps it needed than the first
/// variant with the same seed to reach test accuracy ≥ [`threshold`].
pub fn speedups(res: &ExperimentResults) -> Vec<String> {
    let th = threshold(res);
    let Some(base_label) = res.runs.first().map(|r| r.variant.clone()) else { return vec![] };
    let mut out = vec![];
    for r in res.runs.iter().filter(|r| r.variant != base_label) {
        let Some(base) = res.runs.iter().find(|b| b.variant == base_label && b.seed == r.seed) else { continue };
        let last = |x: &RunResult| evaluations(x).last().map_or(0, |e| e.step);
        let line = match (first_reach(base, true, th), first_reach(r, true, th)) {
            (Some(b), Some(v)) => {
                format!("`{}` seed {}: {v} steps vs {b}: **{:.1}× fewer**", r.variant, r.seed, b as f64 / v as f64)
            }
            (None, Some(v)) => format!(
                "`{}` seed {}: {v} steps; `{base_label}` did not reach it in {} steps: **more than {:.1}× fewer**",
                r.variant,
                r.seed,
                last(base),
                last(base) as f64 / v as f64
            ),
            (Some(b), None) => {
                format!("`{}` seed {}: not reached in {} steps (`{base_label}`: {b})", r.variant, r.seed, last(r))
            }
            (None, None) => format!("`{}` seed {}: neither run reached it", r.variant, r.seed),
        };
        out.push(line);
    }
    out
}

/// `grokking.svg`: accuracy vs step on a log axis over every evaluation, one panel each for
/// the training accuracy and the test accuracy; with corrupted labels the training accuracy is
/// split into its clean examples and its corrupted ones (against their training label:
/// memorization).
pub fn plot(res: &ExperimentResults) -> String {
    use super::svg::Metric;
    let title = format!("{}: accuracy during training (log steps, mean over seeds)", res.experiment);
    let test: Metric = ("test accuracy", &|e: &Evaluation| Some(e.test.sequence_accuracy));
    let corrupted = res.universe.is_some_and(|u| u.corrupted > 0);
    let panels: Vec<Metric> = if corrupted {
        vec![
            ("train accuracy, clean labels", &|e: &Evaluation| e.universe.map(|u| u.clean_train)),
            ("train accuracy, corrupted labels (vs label)", &|e: &Evaluation| {
                e.universe.filter(|u| u.n_corrupted > 0).map(|u| u.corrupted_vs_label)
            }),
            test,
        ]
    } else {
        vec![("train accuracy", &|e: &Evaluation| Some(e.train.sequence_accuracy)), test]
    };
    super::svg::step_panels(res, &title, true, &panels)
}
