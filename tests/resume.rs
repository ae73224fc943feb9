//! Runs as units (issue 16 items 11–13): the lock on an experiment folder, run ids, and
//! `--resume` refusing what it cannot continue honestly (a changed configuration, a
//! checkpoint past the steps asked, a corrupt checkpoint).

mod common;

use algen::ir::Spec;
use algen::pipeline::{self, RunError, RunOptions};
use algen::report::ExperimentResults;
use algen::runs::{self, RunLock};
use algen::train::{self, Observer};
use algen::{check, syntax};
use std::path::{Path, PathBuf};

/// A universe task with checkpoints every 4 of 8 steps; `LR`, `LR2` and `BATCH` are replaced
/// (the labels name the learning rates, so editing `BATCH` keeps them).
const SPEC: &str = r#"
let p = 5;
task add { input = (a: 0..p, b: 0..p), target = (a + b) % p, format = [a, "+", b, "="] }
split half { train = fraction 0.5, test = rest }
model m = transformer { kind = decoder, layers = 1, d_model = 8, heads = 2, ffn = 16, position = learned(max_len = 4) }
experiment r {
  task = add, model = m, split = half
  train { steps = 8, batch = BATCH, checkpoint_every = 4, optimizer = sweep [adamw(lr = LR), adamw(lr = LR2)] }
  eval { every = 4 }
}
"#;

fn text(lr: &str, lr2: &str, batch: &str) -> String {
    SPEC.replace("LR2", lr2).replace("LR", lr).replace("BATCH", batch)
}

fn spec_with(lr: &str, lr2: &str) -> Spec {
    spec_text(&text(lr, lr2, "4"))
}

fn spec_text(text: &str) -> Spec {
    let l = syntax::load::load_str("resume.alg", text);
    assert!(l.diags.is_empty(), "parse errors");
    let c = check::check(&l.files);
    assert!(c.diags.iter().all(|d| d.warning), "{:?}", c.diags);
    c.spec.expect("spec checks")
}

fn spec() -> Spec {
    spec_with("1e-3", "3e-3")
}

fn out_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("algen-resume-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

/// Panics at step `at` of run `run` (index), as a kill would, after the checkpoint at step 4.
struct KillAt(usize);
impl Observer for KillAt {
    fn step(&mut self, step: usize, _loss: f64, _acc: Option<f64>) {
        if step == self.0 {
            panic!("simulated kill at step {step}");
        }
    }
}

fn run(s: &Spec, opts: &RunOptions) -> Result<(ExperimentResults, PathBuf), RunError> {
    pipeline::run_experiment(s, s.experiment("r").unwrap(), opts, &mut |_, _, _, _| Box::new(train::Quiet))
}

/// Runs `s` into `out` and kills its run `index` at step 6, after its checkpoint at step 4
/// (the runs before it are finished).
fn run_killed(s: &Spec, out: &Path, index: usize) {
    let opts = RunOptions::new(out);
    let killed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        pipeline::run_experiment(s, s.experiment("r").unwrap(), &opts, &mut |_, _, i, _| -> Box<dyn Observer + Send> {
            if i == index {
                Box::new(KillAt(6))
            } else {
                Box::new(train::Quiet)
            }
        })
    }));
    assert!(killed.is_err(), "the kill happened");
}

fn resume(out: &Path) -> RunOptions {
    RunOptions { resume: true, ..RunOptions::new(out) }
}

fn diag_of(r: Result<(ExperimentResults, PathBuf), RunError>) -> algen::diag::Diag {
    match r {
        Err(RunError::Diag(d)) => *d,
        Err(e) => panic!("expected a diagnostic, got {e}"),
        Ok(_) => panic!("expected a diagnostic, the run succeeded"),
    }
}

/// The folder of run `index` (variant `index`, seed 0) of experiment `r`.
fn run_dir_of(out: &Path, s: &Spec, index: usize) -> PathBuf {
    let exp = s.experiment("r").unwrap();
    let id = runs::run_id(s.task("add").unwrap(), s.split("half").unwrap(), &exp.variants[index], &exp.eval, 0);
    pipeline::run_dir(&out.join("r"), &id)
}

fn checkpoint_of(out: &Path, s: &Spec, index: usize) -> PathBuf {
    run_dir_of(out, s, index).join(train::checkpoint::FILE)
}

/// The id hashes the resolved configuration and seed: stable under edits elsewhere (another
/// variant's learning rate, whitespace), different for another seed or learning rate.
#[test]
fn run_ids_are_stable_hashes_of_the_configuration() {
    let id = |s: &Spec, v: usize, seed: u64| {
        let e = s.experiment("r").unwrap();
        runs::run_id(s.task("add").unwrap(), s.split("half").unwrap(), &e.variants[v], &e.eval, seed)
    };
    let (a, b) = (spec(), spec_with("1e-3", "1e-2"));
    assert_eq!(id(&a, 0, 0).len(), runs::ID_LEN);
    assert!(id(&a, 0, 0).chars().all(|c| c.is_ascii_hexdigit()));
    assert_eq!(id(&a, 0, 0), id(&b, 0, 0), "editing variant 2 leaves variant 1's id");
    assert_ne!(id(&a, 1, 0), id(&b, 1, 0), "the edited variant gets a new id");
    assert_ne!(id(&a, 0, 0), id(&a, 0, 1), "seeds differ");
    assert_ne!(id(&a, 0, 0), id(&a, 1, 0), "variants differ");
    let spaced = syntax::load::load_str("x.alg", &format!("// moved\n\n{}", text("1e-3", "3e-3", "4")));
    let spaced = check::check(&spaced.files).spec.unwrap();
    assert_eq!(id(&a, 1, 0), id(&spaced, 1, 0), "spans are not part of the id");
    let out = out_dir("ids");
    let (res, _) = run(&a, &RunOptions { steps: Some(1), ..RunOptions::new(&out) }).unwrap();
    let mut short = a.experiment("r").unwrap().variants[0].clone();
    short.train.steps = 1;
    let want =
        runs::run_id(a.task("add").unwrap(), a.split("half").unwrap(), &short, &a.experiment("r").unwrap().eval, 0);
    assert_eq!(res.runs[0].id, want, "results.json records the id");
    let _ = std::fs::remove_dir_all(out);
}

/// Item 11 (issue 17: the lock is per run): while one process holds a run's folder, a second
/// one training that run is refused (exit 1 from the binary) with the folder and the holder's
/// pid; a lock file left by a dead process blocks nothing.
#[test]
fn a_second_run_into_a_locked_folder_is_refused() {
    let s = spec();
    let out = out_dir("lock");
    let mut one_step = s.clone();
    one_step.experiments[0].variants.iter_mut().for_each(|v| v.train.steps = 1);
    let rdir = run_dir_of(&out, &one_step, 0);
    let held = RunLock::acquire(&rdir).unwrap();
    let d = diag_of(run(&s, &RunOptions { steps: Some(1), ..RunOptions::new(&out) }));
    assert_eq!(d.code, "algen::run::locked");
    assert!(d.message.contains(&rdir.display().to_string()), "{}", d.message);
    assert!(d.message.contains(&format!("pid {}", std::process::id())), "{}", d.message);
    let file = out.join("spec.alg");
    std::fs::write(&file, text("1e-3", "3e-3", "4")).unwrap();
    let (f, o) = (file.display().to_string(), out.display().to_string());
    let r = common::cli::algen_with_stdin(&["run", &f, "--out", &o, "--steps", "1"], "");
    let err = String::from_utf8_lossy(&r.stderr);
    assert_eq!(r.status.code(), Some(1), "{err}");
    assert!(err.contains("algen::run::locked") && err.contains(&format!("(pid {})", std::process::id())), "{err}");
    assert!(!out.join("r").join("results.json").exists(), "the refused run wrote nothing");
    drop(held);
    std::fs::write(rdir.join(runs::LOCK_FILE), "pid 999999999").unwrap();
    let r = common::cli::algen_with_stdin(&["run", &f, "--out", &o, "--steps", "1"], "");
    assert_eq!(r.status.code(), Some(0), "{}", String::from_utf8_lossy(&r.stderr));
    let _ = std::fs::remove_dir_all(out);
}

/// Item 11, two runs at once in one process (threads): exactly one of them gets the folder.
#[test]
fn two_simultaneous_runs_one_is_refused() {
    let s = spec();
    let out = out_dir("threads");
    let results: Vec<Result<(), String>> = std::thread::scope(|sc| {
        let hs: Vec<_> = (0..2)
            .map(|_| {
                sc.spawn(|| {
                    let slow = &mut |_: &algen::ir::Variant, _, _, _| -> Box<dyn Observer + Send> {
                        std::thread::sleep(std::time::Duration::from_millis(300));
                        Box::new(train::Quiet)
                    };
                    let opts = RunOptions::new(&out);
                    pipeline::run_experiment(&s, s.experiment("r").unwrap(), &opts, slow)
                        .map(|_| ())
                        .map_err(|e| e.to_string())
                })
            })
            .collect();
        hs.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let refused: Vec<&String> = results.iter().filter_map(|r| r.as_ref().err()).collect();
    assert_eq!(refused.len(), 1, "{results:?}");
    assert!(refused[0].contains("in use by another algen run"), "{}", refused[0]);
    let _ = std::fs::remove_dir_all(out);
}

/// Item 12: a checkpoint made with another batch size is not continued; with
/// `restart_changed` the run trains afresh and equals a fresh run with the new one.
#[test]
fn resume_refuses_a_checkpoint_of_another_configuration() {
    let out = out_dir("changed-ck");
    run_killed(&spec(), &out, 0);
    let edited = spec_text(&text("1e-3", "3e-3", "2"));
    let d = diag_of(run(&edited, &resume(&out)));
    assert_eq!(d.code, "algen::run::config_changed");
    assert!(d.message.contains("checkpoint") && d.message.contains("`train.batch`: 4 → 2"), "{}", d.message);
    assert!(d.help.as_deref().unwrap_or("").contains("--restart-changed"));
    let (b, _) = run(&edited, &RunOptions { restart_changed: true, ..resume(&out) }).unwrap();
    let fresh_dir = out_dir("changed-ck-fresh");
    let (f, _) = run(&edited, &RunOptions::new(&fresh_dir)).unwrap();
    let json = |r: &ExperimentResults| {
        algen::report::timings_redacted(r).runs.iter().map(|r| serde_json::to_string(r).unwrap()).collect::<Vec<_>>()
    };
    assert_eq!(json(&b), json(&f), "restarted runs equal a fresh run at the new rate");
    for d in [out, fresh_dir] {
        let _ = std::fs::remove_dir_all(d);
    }
}

/// Item 12: a finished run whose configuration changed is not kept silently.
#[test]
fn resume_refuses_a_finished_run_of_another_configuration() {
    let out = out_dir("changed-done");
    run_killed(&spec(), &out, 1);
    let edited = spec_text(&text("1e-3", "3e-3", "2"));
    let d = diag_of(run(&edited, &resume(&out)));
    assert_eq!(d.code, "algen::run::config_changed");
    assert!(d.message.contains("finished") && d.message.contains("`train.batch`: 4 → 2"), "{}", d.message);
    let (b, _) = run(&edited, &RunOptions { restart_changed: true, ..resume(&out) }).unwrap();
    assert_eq!((b.runs[0].config.train.batch, b.runs[1].config.train.batch), (2, 2), "both retrained");
    let (c, _) = run(&edited, &resume(&out)).unwrap();
    assert_eq!(c.runs[0].timing, b.runs[0].timing, "now both are finished and kept");
    let _ = std::fs::remove_dir_all(out);
}

/// Item 12: `--resume --steps 2` with a checkpoint at step 4 is refused with both numbers.
#[test]
fn resume_refuses_a_checkpoint_past_the_steps_asked() {
    let s = spec();
    let out = out_dir("steps");
    run_killed(&s, &out, 0);
    let d = diag_of(run(&s, &RunOptions { steps: Some(2), ..resume(&out) }));
    assert_eq!(d.code, "algen::run::resume_steps");
    assert!(d.message.contains("at step 4") && d.message.contains("`--steps 2`"), "{}", d.message);
    let _ = std::fs::remove_dir_all(out);
}

/// Item 13: a corrupt checkpoint is named, called corrupt, and the way out is said (also by
/// the binary, with exit 1).
#[test]
fn a_corrupt_checkpoint_is_named() {
    let s = spec();
    let out = out_dir("corrupt");
    run_killed(&s, &out, 1);
    let ck = checkpoint_of(&out, &s, 1);
    assert!(ck.exists());
    std::fs::write(&ck, [0xffu8; 64]).unwrap();
    let d = diag_of(run(&s, &resume(&out)));
    assert_eq!(d.code, "algen::run::checkpoint_corrupt");
    assert!(d.message.contains(&ck.display().to_string()) && d.message.contains("corrupt"), "{}", d.message);
    assert!(d.help.as_deref().unwrap_or("").contains("delete"), "{:?}", d.help);
    let file = out.join("spec.alg");
    std::fs::write(&file, text("1e-3", "3e-3", "4")).unwrap();
    let (f, o) = (file.display().to_string(), out.display().to_string());
    let r = common::cli::algen_with_stdin(&["run", &f, "--out", &o, "--resume"], "");
    let err = String::from_utf8_lossy(&r.stderr);
    assert_eq!(r.status.code(), Some(1), "{err}");
    assert!(err.contains("algen::run::checkpoint_corrupt") && err.contains("checkpoint.safetensors"), "{err}");
    let _ = std::fs::remove_dir_all(out);
}

/// Item 12 through the binary: `--resume` with another `--steps` than the finished runs had
/// is refused (exit 1); `--restart-changed` retrains each changed run with one warning.
#[test]
fn the_binary_refuses_or_restarts_changed_runs() {
    let out = out_dir("cli");
    std::fs::create_dir_all(&out).unwrap();
    let file = out.join("spec.alg");
    std::fs::write(&file, text("1e-3", "3e-3", "4")).unwrap();
    let (f, o) = (file.display().to_string(), out.display().to_string());
    let algen = |extra: &[&str]| {
        let mut args = vec!["run", f.as_str(), "--out", o.as_str()];
        args.extend_from_slice(extra);
        let r = common::cli::algen_with_stdin(&args, "");
        (r.status.code(), String::from_utf8_lossy(&r.stderr).into_owned())
    };
    assert_eq!(algen(&["--steps", "2", "--restart-changed"]).0, Some(2), "--restart-changed needs --resume");
    assert_eq!(algen(&["--steps", "2"]).0, Some(0));
    let (code, err) = algen(&["--steps", "3", "--resume"]);
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("algen::run::config_changed") && err.contains("--restart-changed"), "{err}");
    let (code, err) = algen(&["--steps", "3", "--resume", "--restart-changed"]);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(err.matches("algen::run::config_changed").count(), 2, "one warning per changed run: {err}");
    let res: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("r").join("results.json")).unwrap()).unwrap();
    assert!(res["runs"].as_array().unwrap().iter().all(|r| r["final_eval"]["step"] == 3), "retrained to 3 steps");
    let _ = std::fs::remove_dir_all(out);
}
