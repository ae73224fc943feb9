//! Exact resume for every task kind (issue 17 item 4): a run killed between checkpoints and
//! continued with `--resume` ends with the same `results.json` (timings aside) and the same
//! `metrics.jsonl`, bit for bit, as a run that was never stopped — for length generalization
//! (one length per batch and bucketed mixed lengths, dropout, randomized positions, both
//! Grokfast filters), a grammar, a Turing-machine scratchpad, a Chomsky builtin and a universe
//! task.

use algen::ir::Spec;
use algen::pipeline::{self, RunOptions};
use algen::train::{self, checkpoint, Observer};
use algen::{check, syntax};
use serde_json::Value;
use std::path::{Path, PathBuf};

/// Every experiment trains 12 steps, evaluates every 4 and checkpoints every 5; the kill
/// comes at step 8 (after the checkpoint at step 5, before the one at 10).
const TRAIN: &str = "steps = 12, batch = 4, seeds = 1, checkpoint_every = 5";

fn spec_text(text: &str) -> Spec {
    let l = syntax::load::load_str("kinds.alg", text);
    assert!(l.diags.is_empty(), "parse errors: {:?}", l.diags);
    let c = check::check(&l.files);
    assert!(c.diags.iter().all(|d| d.warning), "{:?}", c.diags);
    c.spec.expect("spec checks")
}

fn out_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("algen-kinds-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

struct KillAt(usize);
impl Observer for KillAt {
    fn step(&mut self, step: usize, _loss: f64, _acc: Option<f64>) {
        if step == self.0 {
            panic!("simulated kill at step {step}");
        }
    }
}

fn run(s: &Spec, out: &Path, resume: bool, kill: Option<(usize, usize)>) {
    let opts = RunOptions { resume, ..RunOptions::new(out) };
    let exp = s.experiment("x").expect("experiment x");
    let r = pipeline::run_experiment(s, exp, &opts, &mut |_, _, i, _| -> Box<dyn Observer + Send> {
        match kill {
            Some((run, at)) if run == i => Box::new(KillAt(at)),
            _ => Box::new(train::Quiet),
        }
    });
    if let Err(e) = r {
        panic!("run failed: {e}");
    }
}

/// `results.json` without timings, and every run's `metrics.jsonl` (by folder name).
fn outcome(out: &Path) -> (Value, Vec<(String, String)>) {
    let dir = out.join("x");
    let text = std::fs::read_to_string(dir.join("results.json")).expect("results.json");
    let mut v: Value = serde_json::from_str(&text).expect("json");
    for r in v["runs"].as_array_mut().expect("runs") {
        r.as_object_mut().expect("run").remove("timing");
    }
    let mut metrics = vec![];
    for e in std::fs::read_dir(dir.join("runs")).expect("runs folder").flatten() {
        let m = std::fs::read_to_string(e.path().join("metrics.jsonl")).unwrap_or_default();
        metrics.push((e.file_name().to_string_lossy().into_owned(), m));
    }
    metrics.sort();
    (v, metrics)
}

/// The checkpoints under `out` and their steps.
fn checkpoints(out: &Path) -> Vec<usize> {
    let mut steps = vec![];
    for e in std::fs::read_dir(out.join("x").join("runs")).expect("runs folder").flatten() {
        let p = e.path().join(checkpoint::FILE);
        if p.exists() {
            steps.push(checkpoint::peek(&p).expect("readable checkpoint").0);
        }
    }
    steps
}

/// Runs experiment `x` of `text` uninterrupted, and again killed at step 8 of run `victim`
/// then resumed; both must agree bit for bit.
fn kill_and_resume(name: &str, text: &str, victim: usize) {
    let s = spec_text(text);
    let (whole, cut) = (out_dir(&format!("{name}-whole")), out_dir(&format!("{name}-cut")));
    run(&s, &whole, false, None);
    let killed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run(&s, &cut, false, Some((victim, 8)))));
    assert!(killed.is_err(), "the run was not killed");
    assert!(checkpoints(&cut).contains(&5), "a checkpoint at step 5: {:?}", checkpoints(&cut));
    run(&s, &cut, true, None);
    let (a, b) = (outcome(&whole), outcome(&cut));
    assert_eq!(a.0["runs"].as_array().map(Vec::len), b.0["runs"].as_array().map(Vec::len));
    assert!(a.1.iter().all(|(_, m)| m.lines().count() >= 2), "periodic evaluations logged: {:?}", a.1);
    assert_eq!(a.1, b.1, "metrics.jsonl differ");
    assert_eq!(a.0, b.0, "results.json differ");
    let _ = std::fs::remove_dir_all(&whole);
    let _ = std::fs::remove_dir_all(&cut);
}

fn experiment(task: &str, split: &str, model: &str, train: &str) -> String {
    format!(
        "experiment x {{\n  task = {task}, model = {model}, split = {split}\n  train {{ {TRAIN}{train}, optimizer = adam(lr = 3e-3) }}\n  eval {{ every = 4, count = 4 }}\n}}\n"
    )
}

#[test]
fn length_generalization_resumes_exactly() {
    let text = r#"
task reverse { alphabet = "01", input = string(alphabet), target = reverse(input), format = transduce }
split short { train = len 1..=6, test = len 7..=9, count = 4 }
model m = transformer { kind = encoder, layers = 1, d_model = 8, heads = 2, ffn = 16, dropout = 0.1,
                        position = randomized(rope, max_len = 64) }
"#
    .to_string()
        + &experiment(
            "reverse",
            "short",
            "m",
            ", mixed_lengths = sweep [false, true], grad_filter = sweep [grokfast_ema(alpha = 0.9, lamb = 1.0), grokfast_ma(window = 3, lamb = 1.0)]",
        );
    // Run 1 is one length per batch with the MA filter; run 3 bucketed with it (a pool of 16
    // batches part-served at the checkpoint).
    kill_and_resume("length", &text, 3);
    kill_and_resume("length-one", &text, 1);
}

#[test]
fn grammar_resumes_exactly() {
    let text = r#"
grammar nest { max_depth = 6
  E = "(" x:E ")" => "open" x "close" | "x" => "leaf" }
split odd { train = len 1..=5 step 2, test = len 7..=9 step 2, count = 4 }
model m = transformer { kind = decoder, layers = 1, d_model = 8, heads = 2, ffn = 16, position = rope }
"#
    .to_string()
        + &experiment("nest", "odd", "m", ", mixed_lengths = true");
    kill_and_resume("grammar", &text, 0);
}

#[test]
fn turing_scratchpad_resumes_exactly() {
    let text = r#"
machine inc {
  symbols = "01"
  blank = "_"
  states = [right, carry, done]
  start = right
  halt = [done]
  output = nonblank
  rules {
    (right, 0|1) -> (*, R, right)
    (right, _)   -> (_, L, carry)
    (carry, 1)   -> (0, L, carry)
    (carry, 0|_) -> (1, L, done)
  }
}
task inc_tp { alphabet = "01", input = string(alphabet), target = run(inc),
              scratchpad = trace(inc, style = turing_program), format = lm }
split short { train = len 1..=4, test = len 5..=6, count = 4 }
model m = transformer { kind = decoder, layers = 1, d_model = 8, heads = 2, ffn = 16, position = alibi }
"#
    .to_string()
        + &experiment("inc_tp", "short", "m", "");
    kill_and_resume("turing", &text, 0);
}

#[test]
fn chomsky_builtin_resumes_exactly() {
    let text = r#"
task stack_manipulation {
  alphabet    = ["0", "1", "pop", "push0", "push1"]
  input       = chomsky(stack_manipulation)
  outputs     = "012"
  format      = transduce
  score_until = "2"
}
split short { train = len 1..=6, test = len 7..=8, count = 4 }
model m = stack_rnn { hidden = 8, activation = relu, cell = 2, depth = 8 }
"#
    .to_string()
        + &experiment("stack_manipulation", "short", "m", "");
    kill_and_resume("chomsky", &text, 0);
}

#[test]
fn universe_resumes_exactly() {
    let text = r#"
let p = 5;
task add { input = (a: 0..p, b: 0..p), target = (a + b) % p, format = [a, "+", b, "="] }
split half { train = fraction 0.5, test = rest }
model m = transformer { kind = decoder, layers = 1, d_model = 8, heads = 2, ffn = 16, position = learned(max_len = 4), dropout = 0.1 }
"#
    .to_string()
        + &experiment(
            "add",
            "half",
            "m",
            ", grad_filter = grokfast_ma(window = 3, lamb = 1.0), batching = sweep [random, epochs]",
        );
    kill_and_resume("universe", &text, 0);
    // Epochs: 12 training examples in batches of 4, so the checkpoint at step 5 falls inside
    // the second epoch (its second batch served).
    kill_and_resume("universe-epochs", &text, 1);
}

#[test]
fn checkpoint_every_is_accepted_for_generated_tasks() {
    let text = r#"
task copy { alphabet = "01", input = string(alphabet), target = input, format = transduce }
split s { train = len 1..=3, test = len 4..=4 }
model m = lstm { layers = 1, hidden = 8 }
experiment x { task = copy, model = m, split = s, train { steps = 4, checkpoint_every = 2 } }
"#;
    let s = spec_text(text);
    assert_eq!(s.experiment("x").unwrap().variants[0].train.checkpoint_every, 2);
}
