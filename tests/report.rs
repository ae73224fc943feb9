//! Report rendering over hand-built results.
//!
//! Oracle: the expected means and ranges below are computed by hand from the
//! per-length accuracies written into the fixture (see `fixture`).

use algen::ir::{Arch, Model, ModelKind, Norm, Optimizer, OptimizerKind, Position, TrainCfg, TransformerCfg, Variant};
use algen::report::results::{
    Chance, Evaluation, ExpectOutcome, ExperimentResults, LengthScores, RunResult, RunStatus, Scores, Timing,
    UniverseInfo, UniverseScores,
};
use algen::report::{self, markdown, svg};
use std::fs;
use std::path::PathBuf;

fn variant(label: &str) -> Variant {
    Variant {
        label: label.into(),
        model: Model {
            name: "tf".into(),
            arch: Arch::Transformer(TransformerCfg {
                kind: ModelKind::Encoder,
                layers: 2,
                d_model: 32,
                heads: 4,
                ffn: 128,
                norm: Norm::Pre,
                dropout: 0.0,
                position: Position::Sinusoidal,
                embed_scale: true,
                norm_type: Default::default(),
                embed_init: None,
                activation: Default::default(),
                final_norm: None,
                head_bias: true,
                attn_bias_init: Default::default(),
                attn_weight_init: Default::default(),
                head: Default::default(),
            }),
            span: Default::default(),
        },
        train: TrainCfg {
            steps: 200,
            batch: 32,
            optimizer: Optimizer {
                kind: OptimizerKind::Adam,
                lr: 1e-3,
                betas: (0.9, 0.999),
                eps: 1e-8,
                weight_decay: 0.0,
            },
            clip: None,
            seeds: vec![0, 1],
            mixed_lengths: false,
            schedule: algen::ir::Schedule::Constant,
            full_batch: false,
            grad_filter: None,
            checkpoint_every: 0,
            batching: Default::default(),
        },
    }
}

/// An evaluation whose test scores are the means over lengths, as the evaluator computes them.
fn eval(step: usize, train_seq: f64, test: &[(usize, f64, f64)]) -> Evaluation {
    let by_len: Vec<LengthScores> = test
        .iter()
        .map(|&(len, tok, seq)| LengthScores {
            len,
            scores: Scores { token_accuracy: tok, sequence_accuracy: seq, n: 4 },
        })
        .collect();
    let n = test.len() as f64;
    Evaluation {
        step,
        train_loss: 0.1,
        train: Scores { token_accuracy: 1.0, sequence_accuracy: train_seq, n: 20 },
        test: Scores {
            token_accuracy: test.iter().map(|t| t.1).sum::<f64>() / n,
            sequence_accuracy: test.iter().map(|t| t.2).sum::<f64>() / n,
            n: 4 * test.len(),
        },
        train_by_length: vec![],
        test_by_length: by_len,
        universe: None,
    }
}

fn run(
    label: &str,
    seed: u64,
    status: RunStatus,
    final_eval: Option<Evaluation>,
    periodic: Vec<Evaluation>,
) -> RunResult {
    RunResult {
        id: format!("{label}-{seed}"),
        variant: label.into(),
        seed,
        config: variant(label),
        params: 25_000,
        flops_per_step: 1_000_000,
        status,
        final_eval,
        periodic,
        timing: Timing {
            train_steps_per_s: 50.0 + seed as f64,
            train_tokens_per_s: 9000.0,
            eval_seqs_per_s: 3000.0,
            wall_s: 4.5,
        },
    }
}

const A: &str = "position=sinusoidal";
const B: &str = "pos=<none> & co";

/// Variant A, seeds 0 and 1, test sequence accuracy at lengths 6..=10:
///   seed 0: 1.0 1.0 0.5 0.5 0.0  (mean 0.6)     token 0.8 each
///   seed 1: 1.0 0.5 1.0 0.5 0.5  (mean 0.7)     token 0.9 each
///   mean:   1.000 0.750±0.250 0.750±0.250 0.500±0.000 0.250±0.250; overall 0.650±0.050
/// Variant B: seed 0: 0.25 0 0 0 0 (mean 0.05); seed 1 diverged with no final evaluation.
fn fixture() -> ExperimentResults {
    let lens = [6, 7, 8, 9, 10];
    let seq0 = [1.0, 1.0, 0.5, 0.5, 0.0];
    let seq1 = [1.0, 0.5, 1.0, 0.5, 0.5];
    let seqb = [0.25, 0.0, 0.0, 0.0, 0.0];
    let t = |tok: f64, seq: &[f64]| -> Vec<(usize, f64, f64)> {
        lens.iter().zip(seq).map(|(&l, &s)| (l, tok, s)).collect()
    };
    let periodic = vec![eval(100, 0.5, &t(0.5, &[0.5, 0.0, 0.0, 0.0, 0.0])), eval(200, 1.0, &t(0.8, &seq0))];
    ExperimentResults {
        experiment: "parity_len".into(),
        task: "parity".into(),
        split: "short_to_long".into(),
        train_lengths: vec![1, 2, 3, 4, 5],
        test_lengths: lens.to_vec(),
        universe: None,
        runs: vec![
            run(A, 0, RunStatus::Ok, Some(eval(200, 1.0, &t(0.8, &seq0))), periodic),
            run(A, 1, RunStatus::Ok, Some(eval(200, 0.98, &t(0.9, &seq1))), vec![]),
            run(B, 0, RunStatus::Ok, Some(eval(200, 0.5, &t(0.3, &seqb))), vec![]),
            run(B, 1, RunStatus::Diverged { step: 120, message: "loss is NaN".into() }, None, vec![]),
        ],
        expects: vec![
            ExpectOutcome { text: "all train.sequence_accuracy >= 0.99".into(), value: 0.5, holds: false },
            ExpectOutcome { text: "mean test.sequence_accuracy < 0.9".into(), value: 0.45, holds: true },
        ],
        reduce: None,
        grok_threshold: None,
        note: None,
        chance: None,
    }
}

/// `eval { reduce = ... }`: one model (`tf`, shared by both variants) with run scores (test token
/// accuracy averaged over lengths) 0.8, 0.9 and 0.3 (the diverged run has none): max 0.900,
/// mean (0.8 + 0.9 + 0.3) / 3 = 0.667. Giving B's seed 0 a model with 3 layers splits it off
/// into its own row, named with its variant since the model names collide.
/// An experiment's `note = "..."` is quoted under the report's title, on one line.
#[test]
fn the_note_is_quoted_under_the_title() {
    let mut res = fixture();
    assert!(!markdown::render(&res).contains("\n> "), "no note, no quote");
    res.note = Some("Under-trained:\n1,000 steps against the paper's 2M".into());
    let md = markdown::render(&res);
    assert!(
        md.starts_with("# Experiment `parity_len`\n\n> Under-trained: 1,000 steps against the paper's 2M\n\n"),
        "{md}"
    );
}

#[test]
fn score_section_reduces_runs_per_model() {
    use algen::ir::ScoreReduce;
    let mut res = fixture();
    assert!(!markdown::render(&res).contains("## Score"), "no section without a reducer");
    res.reduce = Some(ScoreReduce::Max);
    let md = markdown::render(&res);
    assert!(md.contains("| `tf` | 4 | 0.900 | 0.300 – 0.900 |"), "{md}");
    res.reduce = Some(ScoreReduce::Mean);
    assert!(markdown::render(&res).contains("| `tf` | 4 | 0.667 | 0.300 – 0.900 |"));
    if let Arch::Transformer(c) = &mut res.runs[2].config.model.arch {
        c.layers = 3;
    }
    let md = markdown::render(&res);
    // group 1: A seeds 0, 1 and the diverged B seed 1 (no score): (0.8 + 0.9) / 2; group 2: B seed 0
    assert!(md.contains("| `tf (position=sinusoidal)` | 3 | 0.850 | 0.800 – 0.900 |"), "{md}");
    assert!(md.contains("| `tf (pos=<none> & co)` | 1 | 0.300 | 0.300 – 0.300 |"), "{md}");
}

/// A fresh empty directory under the target dir.
fn tmp_dir(name: &str) -> PathBuf {
    let d = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("report-{name}"));
    let _ = fs::remove_dir_all(&d);
    fs::create_dir_all(&d).unwrap();
    d
}

fn dir_names(d: &std::path::Path) -> Vec<String> {
    let mut v: Vec<String> =
        fs::read_dir(d).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    v.sort();
    v
}

#[test]
fn write_atomic_replaces_and_leaves_no_temp_files() {
    let d = tmp_dir("atomic");
    let p = d.join("x.txt");
    report::write_atomic(&p, b"first").unwrap();
    report::write_atomic(&p, b"second, longer").unwrap();
    assert_eq!(fs::read(&p).unwrap(), b"second, longer");
    report::write_atomic(&p, b"3").unwrap();
    assert_eq!(fs::read(&p).unwrap(), b"3");
    assert_eq!(dir_names(&d), vec!["x.txt"]);
    // A failed write (missing directory) leaves nothing behind.
    assert!(report::write_atomic(&d.join("missing/y.txt"), b"z").is_err());
    assert_eq!(dir_names(&d), vec!["x.txt"]);
}

#[test]
fn append_line_appends_one_line_each() {
    let d = tmp_dir("append");
    let p = d.join("metrics.jsonl");
    report::append_line(&p, r#"{"step":1}"#).unwrap();
    report::append_line(&p, "{\"step\":2}\n").unwrap();
    assert_eq!(fs::read_to_string(&p).unwrap(), "{\"step\":1}\n{\"step\":2}\n");
}

#[test]
fn write_experiment_round_trips_and_rerenders() {
    let d = tmp_dir("experiment");
    let res = fixture();
    let paths = report::write_experiment(&d, &res).unwrap();
    let names: Vec<_> = paths.iter().map(|p| p.file_name().unwrap().to_string_lossy().into_owned()).collect();
    assert_eq!(names, ["results.json", "report.md", "accuracy_by_length.svg", "curves.svg"]);
    assert_eq!(dir_names(&d), ["accuracy_by_length.svg", "curves.svg", "report.md", "results.json"]);

    let back = report::load(&d).unwrap();
    assert_eq!(serde_json::to_value(&back).unwrap(), serde_json::to_value(&res).unwrap());
    assert_eq!(back.runs[3].status, res.runs[3].status);

    let md = fs::read_to_string(d.join("report.md")).unwrap();
    fs::remove_file(d.join("report.md")).unwrap();
    fs::write(d.join("curves.svg"), "stale").unwrap();
    let again = report::rerender(&d).unwrap();
    assert_eq!(again.len(), 3);
    assert_eq!(fs::read_to_string(d.join("report.md")).unwrap(), md);
    assert_eq!(fs::read_to_string(d.join("curves.svg")).unwrap(), svg::curves(&res, false));
}

#[test]
fn no_curves_without_periodic_evaluations() {
    let d = tmp_dir("nocurves");
    let mut res = fixture();
    res.runs[0].periodic.clear();
    let paths = report::write_experiment(&d, &res).unwrap();
    assert_eq!(paths.len(), 3);
    assert!(!d.join("curves.svg").exists());
}

#[test]
fn report_md_has_hand_computed_means() {
    let md = markdown::render(&fixture());
    assert!(md.starts_with("# Experiment `parity_len`\n"), "{md}");
    assert!(md.contains("- train lengths: 1..=5\n- test lengths: 6..=10\n"), "{md}");
    assert!(md.contains("| variant | 6 | 7 | 8 | 9 | 10 | min | mean | max |"), "{md}");
    // min and max over lengths of the means over seeds: 0.250 and 1.000.
    assert!(
        md.contains(
            "| `position=sinusoidal` | 1.000 ± 0.000 | 0.750 ± 0.250 | 0.750 ± 0.250 | 0.500 ± 0.000 | 0.250 ± 0.250 | 0.250 | 0.650 ± 0.050 | 1.000 |"
        ),
        "{md}"
    );
    // One seed left (the other diverged without an evaluation): no ±.
    assert!(
        md.contains("| `pos=<none> & co` | 0.250 | 0.000 | 0.000 | 0.000 | 0.000 | 0.000 | 0.050 | 0.250 |"),
        "{md}"
    );
    // Summary: train seq (1.0, 0.98), test token (0.8, 0.9), test seq (0.6, 0.7).
    assert!(
        md.contains(
            "| `position=sinusoidal` | 2 | 0.990 ± 0.010 | 0.850 ± 0.050 | 0.650 ± 0.050 | 25000 | 50.5 | 3000.0 |"
        ),
        "{md}"
    );
    assert!(
        md.contains("| `pos=<none> & co` | 2 (1 diverged) | 0.500 | 0.300 | 0.050 | 25000 | 50.5 | 3000.0 |"),
        "{md}"
    );
    assert!(md.contains("- `pos=<none> & co` seed 1: diverged at step 120: loss is NaN"), "{md}");
    // Markup in free text is escaped; labels are code spans, with pipes escaped for the table.
    let mut odd = fixture();
    odd.runs[3].status = RunStatus::Diverged { step: 7, message: "<b>*x*</b>".into() };
    odd.runs[0].variant = "a|b".into();
    let md = markdown::render(&odd);
    assert!(md.contains("diverged at step 7: \\<b>\\*x\\*\\</b>"), "{md}");
    assert!(md.contains("| `a\\|b` |"), "{md}");
    assert!(md.contains("- ✗ `all train.sequence_accuracy >= 0.99` (value 0.500)"), "{md}");
    assert!(md.contains("- ✓ `mean test.sequence_accuracy < 0.9` (value 0.450)"), "{md}");
}

#[test]
fn report_md_limits_length_columns() {
    let mut res = fixture();
    res.test_lengths = (1..=50).collect();
    let md = markdown::render(&res);
    let header = md.lines().find(|l| l.starts_with("| variant | 1 |")).expect(&md);
    let cols: Vec<&str> = header.trim_matches('|').split('|').map(str::trim).collect();
    assert_eq!(cols.len(), 1 + 8 + 3, "{header}");
    assert_eq!(cols[1], "1");
    assert_eq!(cols[8], "50");
    assert_eq!(&cols[9..], ["min", "mean", "max"]);
    assert!(md.contains("Columns: 8 of the 50 test lengths"), "{md}");
}

#[test]
fn svg_is_well_formed_escaped_and_deterministic() {
    let res = fixture();
    let s = svg::accuracy_by_length(&res);
    assert!(s.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""), "{s}");
    assert!(s.trim_end().ends_with("</svg>"));
    assert_eq!(s.matches("<polyline").count(), 4, "one per variant in each of 2 panels");
    assert_eq!(s.matches("</polyline>").count(), 4);
    assert_eq!(s.matches("<circle").count(), 11, "5 lengths x 2 panels for variant 0, 1 in the legend");
    assert!(s.contains(">token accuracy</text>") && s.contains(">sequence accuracy</text>"));
    assert!(s.contains("train lengths 1–5"), "the shaded training range");
    assert!(!s.contains("chance"), "no chance level without a record of it");
    assert!(s.contains(">10</text>") && !s.contains(">5.5</text>"), "integer length ticks");
    assert!(s.contains("pos=&lt;none&gt; &amp; co"));
    assert!(!s.contains("<none>"));
    assert_eq!(s, svg::accuracy_by_length(&res.clone()));

    for log_x in [false, true] {
        let c = svg::curves(&res, log_x);
        assert!(c.starts_with("<svg"));
        assert_eq!(c.matches("<polyline").count(), 4, "test and train per variant");
        assert_eq!(c, svg::curves(&res, log_x));
    }
    assert!(svg::has_curves(&res));
}

#[test]
fn timings_redacted_zeroes_timings_only() {
    let res = fixture();
    let r = report::timings_redacted(&res);
    for (a, b) in r.runs.iter().zip(&res.runs) {
        assert_eq!(a.timing, Timing::default());
        assert_eq!(a.final_eval, b.final_eval);
        assert_eq!(a.params, b.params);
    }
}

#[test]
fn summary_table_snapshot() {
    insta::assert_snapshot!(report::summary_table(&report::timings_redacted(&fixture())));
}

/// Issue 16, item 15: an accuracy over no examples is undefined — NaN in memory, `null` in
/// results.json (and read back as NaN), `n/a` in tables — never 0.
#[test]
fn accuracy_over_no_examples_is_not_zero() {
    let s = algen::eval::Tally::default().scores();
    assert_eq!(s.n, 0);
    assert!(s.sequence_accuracy.is_nan() && s.token_accuracy.is_nan(), "{s:?}");
    assert!(algen::eval::mean_over(&[]).sequence_accuracy.is_nan());
    let json = serde_json::to_string(&s).expect("json");
    assert_eq!(json, r#"{"token_accuracy":null,"sequence_accuracy":null,"n":0}"#);
    let back: algen::report::results::Scores = serde_json::from_str(&json).expect("reads null back");
    assert!(back.sequence_accuracy.is_nan());
    assert_eq!(algen::report::stats::fmt3(s.sequence_accuracy), "n/a");
    assert_eq!(algen::report::stats::fmt3(0.0), "0.000");
}

/// Issue 19: the chance level of a task with two outputs and one output per example (parity
/// classified): 1/2 for both accuracies.
fn with_chance(mut res: ExperimentResults) -> ExperimentResults {
    res.chance = Some(Chance { outputs: 2, one_output: true });
    res
}

/// A polyline's points attribute, by its title.
fn points<'a>(svg: &'a str, title: &str) -> Vec<&'a str> {
    let line = svg.lines().find(|l| l.contains(&format!("<title>{title}</title>"))).expect(title);
    let start = line.find("points=\"").unwrap() + 8;
    let end = start + line[start..].find('"').unwrap();
    line[start..end].split_whitespace().collect()
}

/// Issue 19: `curves.svg` runs through the final evaluation, which is not a periodic one
/// (the trainer evaluates periodically only before the last step): seed 0 of A has periodic
/// evaluations at 100 and 200; give it a final one at 300 instead.
#[test]
fn curves_include_the_final_evaluation() {
    let mut res = fixture();
    res.runs[0].periodic.truncate(1);
    res.runs[0].final_eval.as_mut().unwrap().step = 300;
    let c = svg::curves(&res, false);
    // Steps 100, 200 (seed 1's final) and 300: three points for A.
    let test = points(&c, "position=sinusoidal (test sequence accuracy)");
    assert_eq!(test.len(), 3, "{c}");
    assert!(c.contains("the last is the final evaluation (step 300)"), "{c}");
    assert!(c.contains("first point is the first evaluation (step 100)"), "{c}");
    assert!(c.contains(">300</text>"), "a tick at the final step: {c}");
    // The last point is the rightmost, at seed 0's final accuracy (test mean 0.6).
    let x = |p: &str| p.split(',').next().unwrap().parse::<f64>().unwrap();
    assert!(x(test[2]) > x(test[1]) && x(test[1]) > x(test[0]));
    // A run with one periodic and a final evaluation has a curve.
    res.runs[0].periodic.truncate(1);
    assert!(svg::has_curves(&res));
}

/// Issue 19: lines that overlap stay distinguishable: each variant has its own dash pattern,
/// marker shape and colour, and earlier ones are drawn wider.
#[test]
fn overlapping_variants_stay_distinguishable() {
    let mut res = with_chance(fixture());
    // B identical to A: the two lines lie on each other.
    res.runs[2].final_eval = res.runs[0].final_eval.clone();
    let s = svg::accuracy_by_length(&res);
    let line = |t: &str| s.lines().find(|l| l.contains(&format!("<title>{t}</title>"))).unwrap().to_string();
    let (a, b) =
        (line("position=sinusoidal (sequence accuracy)"), line("pos=&lt;none&gt; &amp; co (sequence accuracy)"));
    assert_eq!(points(&s, "position=sinusoidal (sequence accuracy)").len(), 5);
    let attr = |l: &str, k: &str| l.split(&format!(" {k}=\"")).nth(1).map(|r| r[..r.find('"').unwrap()].to_string());
    assert_ne!(attr(&a, "stroke"), attr(&b, "stroke"), "colours");
    assert_ne!(attr(&a, "stroke-dasharray"), attr(&b, "stroke-dasharray"), "dash patterns: {a}\n{b}");
    let wa: f64 = attr(&a, "stroke-width").unwrap().parse().unwrap();
    let wb: f64 = attr(&b, "stroke-width").unwrap().parse().unwrap();
    assert!(wa > wb, "the earlier line is wider, so the later one shows inside it");
    // Markers: circles for A, squares for B (5 lengths x 2 panels + 1 in the legend).
    assert_eq!(s.matches("<circle").count(), 11);
    assert_eq!(s.matches("<rect x=").count() - s.matches("fill=\"#d9d9d9\"").count() - 2, 11, "{s}");
    // The chance level, drawn in both panels.
    assert_eq!(s.matches(">chance 0.500</text>").count(), 2);
}

#[test]
fn report_md_snapshot() {
    insta::assert_snapshot!(markdown::render(&report::timings_redacted(&with_chance(fixture()))));
}

/// One variant, one seed, every expectation holding: singular nouns throughout.
#[test]
fn report_md_singular_snapshot() {
    let mut res = fixture();
    res.runs.truncate(1);
    res.expects.truncate(1);
    res.expects[0].holds = true;
    res.chance = Some(Chance { outputs: 10, one_output: false });
    let md = markdown::render(&report::timings_redacted(&res));
    assert!(md.contains("- runs: 1 run (1 variant × 1 seed)"), "{md}");
    assert!(md.contains("The expectation holds."), "{md}");
    insta::assert_snapshot!(md);
}

/// A finite universe with corrupted labels: no lengths anywhere, the universe's sizes instead;
/// no accuracy-by-length plot; the grokking plot splits clean and corrupted training accuracy.
#[test]
fn universe_report_and_plots() {
    let mut res = with_chance(fixture());
    res.chance = Some(Chance { outputs: 97, one_output: true });
    res.universe = Some(UniverseInfo { total: 9409, train: 4704, test: 4705, corrupted: 470 });
    (res.train_lengths, res.test_lengths) = (vec![4], vec![4]);
    for r in &mut res.runs {
        for e in r.periodic.iter_mut().chain(r.final_eval.as_mut()) {
            let u = e.train.sequence_accuracy;
            e.universe = Some(UniverseScores {
                train_loss: 0.1,
                test_loss: 0.2,
                clean_train: u,
                corrupted_vs_label: u / 2.0,
                corrupted_vs_true: 0.1,
                n_clean: 4234,
                n_corrupted: 470,
            });
        }
    }
    let md = markdown::render(&report::timings_redacted(&res));
    assert!(!md.contains("lengths"), "{md}");
    insta::assert_snapshot!(md);
    let d = tmp_dir("universe");
    let names: Vec<String> = report::write_experiment(&d, &res)
        .unwrap()
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["results.json", "report.md", "curves.svg", "grokking.svg"]);
    let g = algen::report::grokking::plot(&res);
    assert!(g.contains(">train accuracy, clean labels</text>"), "{g}");
    assert!(g.contains(">train accuracy, corrupted labels (vs label)</text>"), "{g}");
    assert_eq!(g.matches("<polyline").count(), 6, "3 panels x 2 variants");
}

/// Issue 19: a realistic length-generalization result for looking at the plots (rendered to
/// PNG by hand with `rsvg-convert`): four variants over test lengths 1..=40 after training on
/// 1..=10, two of them identical (lying on each other at chance beyond the training lengths),
/// evaluated every 100 steps and finally at step 1000.
#[test]
fn showcase_plots() {
    let mut res = with_chance(fixture());
    (res.train_lengths, res.test_lengths) = ((1..=10).collect(), (1..=40).collect());
    let curve = |k: usize| -> Vec<(usize, f64, f64)> {
        (1..=40)
            .map(|l| {
                let a = match k {
                    0 => 1.0,
                    1 => (1.0 - (l as f64 - 10.0).max(0.0) / 20.0).max(0.5),
                    _ => {
                        if l <= 10 {
                            1.0
                        } else {
                            0.5
                        }
                    }
                };
                (l, a, a)
            })
            .collect()
    };
    res.runs = (0..4)
        .map(|k| {
            let label = ["lstm", "transformer (rope)", "transformer (nope)", "transformer (alibi)"][k];
            let periodic = (0..10).map(|i| eval(100 * i, 0.5 + 0.05 * i as f64, &curve(k.min(2)))).collect();
            run(label, 0, RunStatus::Ok, Some(eval(1000, 1.0, &curve(k.min(2)))), periodic)
        })
        .collect();
    let d = tmp_dir("showcase");
    report::write_experiment(&d, &res).unwrap();
    let s = svg::accuracy_by_length(&res);
    assert_eq!(s.matches("<polyline").count(), 8);
    let c = svg::curves(&res, false);
    assert!(c.contains("From step 0 through the final evaluation (step 1000)."), "{c}");
}
