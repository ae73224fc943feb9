//! Every shipped spec under `specs/` runs in a smoke configuration (3 steps,
//! batch ≤ 8, 2 examples per length) and its results are snapshot-tested with
//! timings and run ids redacted, so a change that moves any number shows up as a diff.
//! Trained numbers are compared with a relative tolerance of 1e-3 (`common::approx`), since
//! the kernels' summation order depends on the CPU; everything else must match exactly.
//! New specs join automatically. A protocol-sized grid (a spec with an experiment of
//! more than 5 variants, such as specs/chomsky.alg: 15 variants, 40 train and 460 test
//! lengths) is thinned: its splits' parts with more than 32 lengths keep the first,
//! middle and last, and its experiments keep one seed, so that every model still runs
//! on every task, up to the longest length.

mod common;

use algen::ir::Selector;
use algen::pipeline::{self, RunOptions};
use algen::report;
use std::path::{Path, PathBuf};

fn specs(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> =
        std::fs::read_dir(dir).expect("specs dir").map(|e| e.expect("entry").path()).collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            specs(&p, out);
        } else if p.extension().is_some_and(|x| x == "alg") {
            out.push(p);
        }
    }
}

fn smoke(spec: &mut algen::ir::Spec) {
    let grid = spec.experiments.iter().any(|e| e.variants.len() > 5);
    for s in &mut spec.splits {
        s.train.count = 2;
        s.test.count = 2;
        if grid {
            for part in [&mut s.train, &mut s.test] {
                if let Selector::Len { lengths } = &mut part.select {
                    if lengths.len() > 32 {
                        *lengths = vec![lengths[0], lengths[lengths.len() / 2], lengths[lengths.len() - 1]];
                    }
                }
            }
        }
    }
    for e in &mut spec.experiments {
        e.eval.periodic_count = 2;
        if e.eval.every > 0 {
            e.eval.every = 2;
        }
        let seeds = if grid { 1 } else { 2 };
        for v in &mut e.variants {
            v.train.steps = 3;
            v.train.batch = v.train.batch.min(8);
            v.train.full_batch = false;
            v.train.seeds.truncate(seeds);
        }
    }
}

#[test]
fn every_shipped_spec_runs_in_smoke_configuration() {
    let mut files = vec![];
    specs(Path::new("specs"), &mut files);
    assert!(files.iter().any(|f| f.ends_with("reverse.alg")), "specs/reverse.alg is shipped");
    let out = std::env::temp_dir().join(format!("algen-specs-{}", std::process::id()));
    for f in files {
        let mut loaded = match pipeline::load(&f) {
            Ok(l) => l,
            Err(_) => panic!("{} does not check", f.display()),
        };
        smoke(&mut loaded.spec);
        let name = f.strip_prefix("specs").unwrap_or(&f).with_extension("").display().to_string().replace('/', "__");
        for exp in &loaded.spec.experiments {
            let opts = RunOptions::new(out.clone());
            let (res, dir) =
                pipeline::run_experiment(&loaded.spec, exp, &opts, &mut |_, _, _, _| Box::new(algen::train::Quiet))
                    .unwrap_or_else(|e| panic!("{}: {e}", f.display()));
            for file in ["results.json", "report.md", "accuracy_by_length.svg"] {
                // A finite universe has no test lengths to plot: grokking.svg instead.
                let file = if res.universe.is_some() && file.starts_with("accuracy") { "grokking.svg" } else { file };
                assert!(dir.join(file).exists(), "{} missing", file);
            }
            for r in &res.runs {
                assert!(r.timing.train_steps_per_s > 0.0 && r.timing.eval_seqs_per_s > 0.0, "timings recorded");
            }
            let mut shown = report::timings_redacted(&res);
            for r in &mut shown.runs {
                r.id = "[id]".into(); // a hash of the IR's JSON: tested in tests/resume.rs
            }
            assert_json_close!(format!("smoke_{name}__{}", exp.name), shown);
        }
    }
    let _ = std::fs::remove_dir_all(&out);
}

/// The tolerance comparison of the smoke snapshots: a float moved by kernel-order noise
/// (1e-6 relative) passes, a float moved by 1 %, an integer moved by one, and a changed
/// string fail.
#[test]
fn smoke_snapshots_compare_floats_with_a_tolerance_and_the_rest_exactly() {
    let snap = Path::new("tests/snapshots/specs__smoke_reverse__reverse_pe.snap");
    let text = std::fs::read_to_string(snap).unwrap();
    let body = text.splitn(3, "---\n").nth(2).unwrap();
    let stored: serde_json::Value = serde_json::from_str(body).unwrap();
    assert!(common::approx::close_to_snapshot(snap, &stored).is_ok());
    let with = |f: &dyn Fn(&mut serde_json::Value)| {
        let mut v = stored.clone();
        f(&mut v);
        common::approx::close_to_snapshot(snap, &v)
    };
    let loss = |v: &mut serde_json::Value| v["runs"][0]["final_eval"]["train_loss"].take().as_f64().unwrap();
    let mut probe = stored.clone();
    let l = loss(&mut probe);
    assert!(l > 0.1, "a trained loss: {l}");
    assert!(with(&|v| v["runs"][0]["final_eval"]["train_loss"] = (l * (1.0 + 1e-6)).into()).is_ok());
    let moved = with(&|v| v["runs"][0]["final_eval"]["train_loss"] = (l * 1.01).into());
    assert!(moved.as_ref().is_err_and(|e| e.contains("train_loss")), "{moved:?}");
    assert!(with(&|v| v["runs"][0]["params"] = (v["runs"][0]["params"].as_u64().unwrap() + 1).into()).is_err());
    assert!(with(&|v| v["runs"][0]["variant"] = "other".into()).is_err());
    assert!(with(&|v| v["runs"].as_array_mut().unwrap().truncate(1)).is_err());
}
