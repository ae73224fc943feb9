//! Preemption (issue 17 item 5): `algen run` sent SIGUSR1 or SIGTERM mid-run writes a
//! checkpoint at the next step boundary and exits with status 3; a resumed run (`--resume`,
//! or the default inside a Slurm job) ends bit for bit as a run that was never stopped.

#![cfg(unix)]

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A generated task with no `checkpoint_every`: the only checkpoint is the one the signal asks for.
const SPEC: &str = r#"
task reverse { alphabet = "01", input = string(alphabet), target = reverse(input), format = transduce }
split short { train = len 1..=6, test = len 7..=8, count = 4 }
model m = transformer { kind = encoder, layers = 1, d_model = 8, heads = 2, ffn = 16, dropout = 0.1,
                        position = randomized(rope, max_len = 32) }
experiment x {
  task = reverse, model = m, split = short
  train { steps = 3000, batch = 4, seeds = 1, mixed_lengths = true, optimizer = adam(lr = 3e-3) }
  eval { every = 20, count = 4 }
}
"#;

fn dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("algen-signal-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("temp dir");
    d
}

fn algen(spec: &Path, out: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_algen"));
    c.arg("run").arg(spec).arg("--out").arg(out).env_remove("SLURM_JOB_ID").env("ALGEN_CHECKPOINT_SECS", "0");
    c
}

/// Every file named `name` under `d`.
fn find(d: &Path, name: &str) -> Vec<PathBuf> {
    let mut found = vec![];
    for e in std::fs::read_dir(d).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() {
            found.extend(find(&p, name));
        } else if p.file_name().is_some_and(|n| n == name) {
            found.push(p);
        }
    }
    found
}

/// `results.json` without timings, and the metrics.jsonl text.
fn outcome(out: &Path) -> (Value, String) {
    let text = std::fs::read_to_string(out.join("x").join("results.json")).expect("results.json");
    let mut v: Value = serde_json::from_str(&text).expect("json");
    for r in v["runs"].as_array_mut().expect("runs") {
        r.as_object_mut().expect("run").remove("timing");
    }
    let m = find(out, "metrics.jsonl");
    assert_eq!(m.len(), 1, "one run: {m:?}");
    (v, std::fs::read_to_string(&m[0]).expect("metrics"))
}

fn stopped_and_resumed(signal: &str, slurm: bool) {
    let d = dir(signal);
    let spec = d.join("s.alg");
    std::fs::write(&spec, SPEC).expect("spec");
    let (whole, cut) = (d.join("whole"), d.join("cut"));
    let child = algen(&spec, &cut).stdout(Stdio::null()).stderr(Stdio::piped()).spawn().expect("spawns");
    let t0 = Instant::now();
    // Two evaluations written: the untrained model's at step 0 and the first after training.
    let evaluations = |m: &PathBuf| std::fs::read_to_string(m).map_or(0, |t| t.lines().count());
    while find(&cut, "metrics.jsonl").iter().all(|m| evaluations(m) < 2) {
        assert!(t0.elapsed() < Duration::from_secs(120), "no metrics after 2 minutes");
        std::thread::sleep(Duration::from_millis(5));
    }
    let sent = Command::new("kill").arg(format!("-{signal}")).arg(child.id().to_string()).status().expect("kill");
    assert!(sent.success());
    let out = child.wait_with_output().expect("waits");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "exit status of a preempted run; stderr: {stderr}");
    assert!(stderr.contains("--resume"), "{stderr}");
    let ck = find(&cut, "checkpoint.safetensors");
    assert_eq!(ck.len(), 1, "one checkpoint: {ck:?}");
    let (step, config) = algen::train::checkpoint::peek(&ck[0]).expect("readable checkpoint");
    assert!((20..3000).contains(&step), "checkpoint at step {step}");
    assert!(config.is_some());
    let mut resume = algen(&spec, &cut);
    if slurm {
        resume.env("SLURM_JOB_ID", "4242");
    } else {
        resume.arg("--resume");
    }
    let r = resume.output().expect("resumes");
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    let w = algen(&spec, &whole).output().expect("runs");
    assert!(w.status.success(), "{}", String::from_utf8_lossy(&w.stderr));
    let (a, b) = (outcome(&whole), outcome(&cut));
    assert_eq!(a.1, b.1, "metrics.jsonl differ");
    assert_eq!(a.0, b.0, "results.json differ");
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn sigusr1_checkpoints_exits_3_and_resume_is_exact() {
    stopped_and_resumed("USR1", false);
}

#[test]
fn sigterm_checkpoints_and_a_slurm_job_resumes_by_default() {
    stopped_and_resumed("TERM", true);
}
