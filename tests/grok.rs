//! Grokking support (issue 6): finite universes, fraction splits with label noise, AdamW and
//! the Grokfast gradient filters against hand computations, and bit-identical resume.

use algen::ir::{GradFilter, Optimizer, OptimizerKind, Spec};
use algen::pipeline::{self, RunOptions};
use algen::task::{self, Example};
use algen::train::{self, filter::Filter, optim::Adam, Observer};
use algen::{check, syntax};
use candle_core::{Device, Var};
use std::collections::HashSet;
use std::path::PathBuf;

fn spec(text: &str) -> Spec {
    let l = syntax::load::load_str("grok.alg", text);
    assert!(l.diags.is_empty(), "parse errors");
    let c = check::check(&l.files);
    assert!(c.diags.iter().all(|d| d.warning), "{:?}", c.diags);
    c.spec.expect("spec checks")
}

fn library() -> Spec {
    match pipeline::load(std::path::Path::new("specs/lib/grokking.alg")) {
        Ok(l) => l.spec,
        Err(_) => panic!("specs/lib/grokking.alg does not check"),
    }
}

/// Oracle: Power et al. 2022, App. A.1.1 — all p² pairs for p = 97; division pairs b ≠ 0
/// (97·96 = 9312); S5 has 5! = 120 elements, so 120² ordered pairs.
#[test]
fn universe_counts_match_the_paper() {
    let lib = library();
    let count = |name: &str| task::enumerate(lib.task(name).unwrap()).unwrap().len();
    assert_eq!(count("mod_add"), 9409);
    assert_eq!(count("mod_sub"), 9409);
    assert_eq!(count("mod_div"), 9312);
    assert_eq!(count("mod_div_or_sub"), 9409);
    assert_eq!(count("s5_compose"), 14400);
    assert_eq!(lib.tasks.len(), 11, "the paper's operations");
}

/// The label of `a ∘ b`, read through the task's own alphabet and outputs.
fn answer(spec: &Spec, name: &str, a: i64, b: i64) -> String {
    let t = spec.task(name).unwrap();
    let exs = task::enumerate(t).unwrap();
    let id = |s: String| t.alphabet.iter().position(|x| *x == s).unwrap() as u32;
    let ex = exs.iter().find(|e| e.input[0] == id(a.to_string()) && e.input[2] == id(b.to_string())).unwrap();
    t.outputs[ex.target[0] as usize].clone()
}

/// Hand-checked labels: 5/3 mod 97 = 5·65 mod 97 = 34 (3·65 = 195 = 2·97 + 1); 90 + 10 = 3
/// mod 97; 2 − 5 = 94 mod 97; x/y if y odd else x − y: 4 ∘ 6 = 4 − 6 = 95.
/// S5: permutation 0 is the identity; numbers are lexicographic, so 1 = (0 1 2 4 3), and
/// 1∘1 = identity; 119 = (4 3 2 1 0) is its own inverse.
#[test]
fn universe_labels_by_hand() {
    let lib = library();
    assert_eq!(answer(&lib, "mod_div", 5, 3), "34");
    assert_eq!(answer(&lib, "mod_add", 90, 10), "3");
    assert_eq!(answer(&lib, "mod_sub", 2, 5), "94");
    assert_eq!(answer(&lib, "mod_div_or_sub", 4, 6), "95");
    assert_eq!(answer(&lib, "mod_div_or_sub", 5, 3), "34");
    assert_eq!(answer(&lib, "s5_compose", 0, 57), "57");
    assert_eq!(answer(&lib, "s5_compose", 57, 0), "57");
    assert_eq!(answer(&lib, "s5_compose", 1, 1), "0");
    assert_eq!(answer(&lib, "s5_compose", 119, 119), "0");
}

const SMALL: &str = r#"
let p = 23;
task add { input = (a: 0..p, b: 0..p), target = (a + b) % p, format = [a, "+", b, "="] }
split s30 { train = fraction 0.3, test = rest }
split noisy { train = fraction 0.4 corrupt 0.25, test = rest }
split parts { train = fraction 0.3, test = fraction 0.2 }
"#;

fn inputs(v: &[Example]) -> HashSet<Vec<u32>> {
    v.iter().map(|e| e.input.clone()).collect()
}

/// Train = round(f·N) examples, test = the rest, disjoint, together the universe; the same
/// seed gives the same split, another seed another one.
#[test]
fn fraction_splits_are_sized_disjoint_and_seeded() {
    let s = spec(SMALL);
    let t = s.task("add").unwrap();
    let a = task::split_universe(t, s.split("s30").unwrap(), 0).unwrap();
    assert_eq!((a.total, a.train.len(), a.test.len()), (529, 159, 370)); // round(0.3·529) = 159
    let (tr, te) = (inputs(&a.train), inputs(&a.test));
    assert!(tr.is_disjoint(&te));
    assert_eq!(tr.len() + te.len(), 529);
    assert_eq!(a, task::split_universe(t, s.split("s30").unwrap(), 0).unwrap());
    let b = task::split_universe(t, s.split("s30").unwrap(), 1).unwrap();
    assert_ne!(inputs(&b.train), tr);
    let p = task::split_universe(t, s.split("parts").unwrap(), 0).unwrap();
    assert_eq!((p.train.len(), p.test.len()), (159, 106)); // round(0.2·529) = 106
    assert!(inputs(&p.train).is_disjoint(&inputs(&p.test)));
}

/// `corrupt 0.25` of 212 training examples: exactly round(53) wrong labels, each different
/// from the true one; the rest untouched; fixed by the seed.
#[test]
fn corruption_is_exact_wrong_and_seeded() {
    let s = spec(SMALL);
    let (t, sp) = (s.task("add").unwrap(), s.split("noisy").unwrap());
    let a = task::split_universe(t, sp, 3).unwrap();
    assert_eq!(a.train.len(), 212);
    assert_eq!(a.corrupted.iter().filter(|&&c| c).count(), 53);
    for (i, e) in a.train.iter().enumerate() {
        assert_eq!(e.target[0] != a.train_true[i], a.corrupted[i], "example {i}");
    }
    let truth = task::enumerate(t).unwrap();
    for (e, &tt) in a.train.iter().zip(&a.train_true) {
        assert_eq!(truth.iter().find(|x| x.input == e.input).unwrap().target[0], tt);
    }
    assert_eq!(a, task::split_universe(t, sp, 3).unwrap());
    assert_ne!(a.corrupted, task::split_universe(t, sp, 4).unwrap().corrupted);
}

fn host(vars: &[Var]) -> Vec<f64> {
    vars.iter().flat_map(|v| v.as_tensor().to_vec1::<f64>().unwrap()).collect()
}

/// AdamW (Loshchilov & Hutter 2019, Alg. 2) on θ = (1, −2), lr 0.1, β = (0.9, 0.98),
/// ε = 1e-8, λ = 0.5: m ← β1·m + (1−β1)·g, v ← β2·v + (1−β2)·g², m̂ = m/(1−β1ᵗ),
/// v̂ = v/(1−β2ᵗ), θ ← θ − lr·m̂/(√v̂ + ε) − lr·λ·θ. Step 1, g = (0.5, −1):
/// m̂ = g, v̂ = g², θ = (1 − 0.1·0.5/(0.5+ε) − 0.05, −2 + 0.1·1/(1+ε) + 0.1)
/// = (0.850000002, −1.800000001). Step 2, g = (0.1, 0.3): m = (0.055, −0.06),
/// v = (0.0051, 0.0214), m̂ = m/0.19, v̂ = v/0.0396, θ = (0.72683751987, −1.66704256514).
#[test]
fn adamw_matches_a_hand_computation() {
    let vars = vec![
        Var::from_vec(vec![1.0f64], 1, &Device::Cpu).unwrap(),
        Var::from_vec(vec![-2.0f64], 1, &Device::Cpu).unwrap(),
    ];
    let cfg = Optimizer { kind: OptimizerKind::AdamW, lr: 0.1, betas: (0.9, 0.98), eps: 1e-8, weight_decay: 0.5 };
    let mut opt = Adam::new(&cfg, vars.clone()).unwrap();
    opt.step_host(&[Some(vec![0.5]), Some(vec![-1.0])], 1.0).unwrap();
    let t1 = host(&vars);
    assert!((t1[0] - 0.850000002).abs() < 1e-12 && (t1[1] + 1.800000001).abs() < 1e-12, "{t1:?}");
    opt.step_host(&[Some(vec![0.1]), Some(vec![0.3])], 1.0).unwrap();
    let t2 = host(&vars);
    assert!((t2[0] - 0.7268375198717663).abs() < 1e-12, "{t2:?}");
    assert!((t2[1] + 1.6670425651403102).abs() < 1e-12, "{t2:?}");
}

fn filtered(cfg: &GradFilter, steps: &[[f64; 2]]) -> Vec<[f64; 2]> {
    let mut f = Filter::new(cfg, 2);
    steps
        .iter()
        .map(|g| {
            let mut h = vec![Some(vec![g[0]]), Some(vec![g[1]])];
            f.apply(&mut h);
            [h[0].as_ref().unwrap()[0], h[1].as_ref().unwrap()[0]]
        })
        .collect()
}

/// Grokfast-EMA (Lee et al. 2024, Alg. 2) with α = 0.5, λ = 2 on two parameters:
/// step 0, g = (1, −2): μ = g₀ = (1, −2), then μ ← 0.5·μ + 0.5·g = (1, −2), g + 2μ = (3, −6);
/// step 1, g = (3, 0): μ = 0.5·(1, −2) + 0.5·(3, 0) = (2, −1), g + 2μ = (7, −2).
#[test]
fn grokfast_ema_matches_a_hand_computation() {
    let out = filtered(&GradFilter::GrokfastEma { alpha: 0.5, lamb: 2.0 }, &[[1.0, -2.0], [3.0, 0.0]]);
    assert_eq!(out, vec![[3.0, -6.0], [7.0, -2.0]]);
}

/// Grokfast-MA (Lee et al. 2024, Alg. 1) with window 2, λ = 3: step 0 (window not full):
/// g unchanged (1, −2); step 1: mean of (1, −2), (3, 0) = (2, −1), g + 3·mean = (9, −3);
/// step 2: mean of (3, 0), (5, 4) = (4, 2), g = (5, 4) + (12, 6) = (17, 10).
#[test]
fn grokfast_ma_matches_a_hand_computation() {
    let out = filtered(&GradFilter::GrokfastMa { window: 2, lamb: 3.0 }, &[[1.0, -2.0], [3.0, 0.0], [5.0, 4.0]]);
    assert_eq!(out, vec![[1.0, -2.0], [9.0, -3.0], [17.0, 10.0]]);
}

const RESUME: &str = r#"
let p = 7;
task add { input = (a: 0..p, b: 0..p), target = (a + b) % p, format = [a, "+", b, "="] }
split half { train = fraction 0.5 corrupt 0.1, test = rest }
model m = transformer { kind = decoder, layers = 1, d_model = 16, heads = 2, ffn = 32, position = learned(max_len = 4) }
experiment r {
  task = add, model = m, split = half
  train {
    steps = 12, batch = sweep [8, full], checkpoint_every = 4
    optimizer = adamw(lr = 3e-3, weight_decay = 1, betas = (0.9, 0.98))
    schedule = warmup_cosine(warmup = 3, min = 0.1)
    grad_filter = sweep [grokfast_ema(alpha = 0.9, lamb = 2.0), grokfast_ma(window = 3, lamb = 1.0)]
  }
  eval { every = 3 }
}
"#;

/// Stops the process's run at `at` by panicking, as a kill would (after the checkpoint at
/// the previous multiple of `checkpoint_every` was written).
struct KillAt(usize);
impl Observer for KillAt {
    fn step(&mut self, step: usize, _loss: f64, _acc: Option<f64>) {
        if step == self.0 {
            panic!("simulated kill at step {step}");
        }
    }
}

fn out_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("algen-grok-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

/// Without timings, the run records as JSON (bit-exact f64s).
fn records(res: &algen::report::ExperimentResults) -> Vec<String> {
    algen::report::timings_redacted(res).runs.iter().map(|r| serde_json::to_string(r).unwrap()).collect()
}

/// A run killed at step 10 (last checkpoint at 8) and resumed equals the unbroken run bit for
/// bit: minibatch sampler, AdamW moments, both filters and the loss accumulators continue.
#[test]
fn resume_after_a_kill_is_bit_identical() {
    let s = spec(RESUME);
    let exp = s.experiment("r").unwrap();
    let whole = out_dir("whole");
    let opts = RunOptions::new(whole.clone());
    let (a, _) = pipeline::run_experiment(&s, exp, &opts, &mut |_, _, _, _| Box::new(train::Quiet)).unwrap();
    assert_eq!(a.runs.len(), 4);
    let broken = out_dir("broken");
    let mut opts = RunOptions::new(broken.clone());
    // Kill the second run (index 1) at step 10; the first finished and is in results.json.
    let killed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        pipeline::run_experiment(&s, exp, &opts, &mut |_, _, i, _| {
            if i == 1 {
                Box::new(KillAt(10))
            } else {
                Box::new(train::Quiet)
            }
        })
    }));
    assert!(killed.is_err(), "the kill happened");
    opts.resume = true;
    let (b, dir) = pipeline::run_experiment(&s, exp, &opts, &mut |_, _, _, _| Box::new(train::Quiet)).unwrap();
    assert_eq!(records(&a), records(&b));
    let metrics = |root: &PathBuf| {
        let run = pipeline::run_dir(&root.join("r"), &b.runs[1].id);
        std::fs::read_to_string(run.join("metrics.jsonl")).unwrap()
    };
    assert_eq!(metrics(&whole), metrics(&broken), "metrics.jsonl continues without gaps or repeats");
    assert!(dir.join("runs").exists());
    for d in [whole, broken] {
        let _ = std::fs::remove_dir_all(d);
    }
}

/// A universe run reports the clean/corrupted split and writes the grokking plot and section.
#[test]
fn universe_report_has_grokking_section_and_plot() {
    let s = spec(RESUME);
    let exp = s.experiment("r").unwrap();
    let out = out_dir("report");
    let opts = RunOptions { steps: Some(6), ..RunOptions::new(out.clone()) };
    let (res, dir) = pipeline::run_experiment(&s, exp, &opts, &mut |_, _, _, _| Box::new(train::Quiet)).unwrap();
    let u = res.universe.expect("universe sizes");
    assert_eq!((u.total, u.train, u.test, u.corrupted), (49, 25, 24, 3)); // round(24.5) = 25 (half away from 0), round(2.5) = 3
    let e = res.runs[0].final_eval.as_ref().unwrap().universe.unwrap();
    assert_eq!((e.n_clean, e.n_corrupted), (22, 3));
    let md = std::fs::read_to_string(dir.join("report.md")).unwrap();
    assert!(md.contains("## Grokking") && md.contains("corrupted vs true"), "{md}");
    assert!(md.contains("fewer") || md.contains("neither run reached it"), "{md}");
    let svg = std::fs::read_to_string(dir.join("grokking.svg")).unwrap();
    assert!(svg.contains("log scale"));
    let _ = std::fs::remove_dir_all(out);
}

/// A corrupt checkpoint stops `--resume` with a coded diagnostic that names the file (not an
/// uncoded "model error").
#[test]
fn a_corrupt_checkpoint_names_its_file() {
    let s = spec(RESUME);
    let exp = s.experiment("r").unwrap();
    let out = out_dir("corrupt");
    let id = algen::runs::run_id(s.task("add").unwrap(), s.split("half").unwrap(), &exp.variants[0], &exp.eval, 0);
    let run = pipeline::run_dir(&out.join("r"), &id);
    std::fs::create_dir_all(&run).unwrap();
    let file = run.join(train::checkpoint::FILE);
    std::fs::write(&file, b"\xff\xff\xff\xff\xff\xff\xff\x7fnot a checkpoint").unwrap();
    let opts = RunOptions { resume: true, ..RunOptions::new(out.clone()) };
    let err = pipeline::run_experiment(&s, exp, &opts, &mut |_, _, _, _| Box::new(train::Quiet)).unwrap_err();
    let d = err.to_diag(exp.span);
    assert_eq!(d.code, "algen::run::checkpoint_corrupt", "{d}");
    assert!(d.message.contains(&file.display().to_string()), "{d}");
    assert!(d.help.as_deref().unwrap_or("").contains("--resume"), "{d:?}");
    let _ = std::fs::remove_dir_all(out);
}

/// `batching = epochs` (Lee et al. 2024's `torch.randperm(n).split(batch)` per epoch): each
/// epoch serves every training example exactly once, in batches of `batch` and a short last
/// one (13 = 5 + 5 + 3), each epoch in a new order.
#[test]
fn epochs_serve_every_example_once_with_a_short_last_batch() {
    let s = spec(
        r#"
let p = 5;
task add { input = (a: 0..p, b: 0..p), target = (a + b) % p, format = [a, "+", b, "="] }
split half { train = fraction 0.5, test = rest }
model m = transformer { kind = decoder, layers = 1, d_model = 8, heads = 2, ffn = 16, position = learned(max_len = 4) }
experiment e { task = add, model = m, split = half, train { steps = 3, batch = 5, batching = epochs } }
"#,
    );
    let exp = s.experiment("e").expect("e");
    let (task, split) = (s.task("add").expect("task"), s.split("half").expect("split"));
    let rs = train::RunSpec {
        task,
        split,
        variant: &exp.variants[0],
        eval: &exp.eval,
        seed: 0,
        kernels: Default::default(),
    };
    let vocab = task::vocab(task);
    let fixed = train::universe::Fixed::new(&rs, &vocab).expect("fixed").expect("a universe");
    let mut sampler = train::universe::Fixed::sampler(&rs);
    let n = task::split_universe(task, split, 0).expect("split").train.len();
    assert_eq!(n, 13, "half of 25, rounded up");
    let mut epochs: Vec<Vec<Vec<u32>>> = vec![];
    for _ in 0..2 {
        let (mut rows, mut sizes) = (vec![], vec![]);
        for _ in 0..3 {
            let (tokens, _, _) = fixed.next(&mut sampler).expect("batch");
            let t: Vec<Vec<u32>> = tokens.to_vec2().expect("rows");
            sizes.push(t.len());
            rows.extend(t);
        }
        assert_eq!(sizes, [5, 5, 3]);
        let distinct: HashSet<&Vec<u32>> = rows.iter().collect();
        assert_eq!(distinct.len(), n, "every example once per epoch");
        epochs.push(rows);
    }
    let (a, b): (HashSet<&Vec<u32>>, HashSet<&Vec<u32>>) = (epochs[0].iter().collect(), epochs[1].iter().collect());
    assert_eq!(a, b, "both epochs cover the same training set");
    assert_ne!(epochs[0], epochs[1], "each epoch is shuffled anew");
}
