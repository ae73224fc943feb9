//! The training loop and optimizers: hand-computed updates, determinism, learning.

use algen::ir::{Optimizer, OptimizerKind};
use algen::model::Kernels;
use algen::train::{self, optim};
use algen::{check, syntax};
use candle_core::{Device, Tensor, Var};

mod common;
use common::spec_run;

fn opt(kind: OptimizerKind, wd: f64) -> Optimizer {
    Optimizer { kind, lr: 0.1, betas: (0.9, 0.999), eps: 1e-8, weight_decay: wd }
}

/// One parameter w = 1 with loss 2w (gradient 2), two steps.
/// Adam (Kingma & Ba 2015, Alg. 1): step 1: m = 0.2, v = 0.004, m̂ = 2, v̂ = 4,
/// w ← 1 − 0.1·2/(2 + 1e-8) ≈ 0.9. Step 2: m = 0.38, v = 0.007996, m̂ = 2, v̂ = 4,
/// w ← 0.8. AdamW (Loshchilov & Hutter 2019) with λ = 0.1 also subtracts
/// lr·λ·w: step 1 w ← 1 − 0.1 − 0.01·1 = 0.89; step 2 w ← 0.89 − 0.1 − 0.01·0.89 = 0.7811.
/// Adam with L2 decay adds λw to the gradient: step 1 g = 2.1, m̂ = 2.1, v̂ = 4.41,
/// w ← 0.9; step 2 g = 2.09, m = 0.398, v = 0.00877369, m̂ = 2.0947368,
/// v̂ = 4.3890395, w ← 0.9 − 0.1·2.0947368/2.0950034 = 0.8000127.
#[test]
fn adam_and_adamw_match_hand_computed_updates() {
    for (kind, wd, want) in [
        (OptimizerKind::Adam, 0.0, [0.9, 0.8]),
        (OptimizerKind::AdamW, 0.1, [0.89, 0.7811]),
        (OptimizerKind::Adam, 0.1, [0.9, 0.8000127]),
    ] {
        let w = Var::from_vec(vec![1f64], 1, &Device::Cpu).unwrap();
        let mut o = optim::Adam::new(&opt(kind, wd), vec![w.clone()]).unwrap();
        for expected in want {
            let loss = (w.as_tensor() * 2.0).unwrap().sum_all().unwrap();
            let grads = loss.backward().unwrap();
            o.step(&grads, 1.0).unwrap();
            let got = w.as_tensor().to_vec1::<f64>().unwrap()[0];
            assert!((got - expected).abs() < 1e-6, "{kind:?} wd {wd}: got {got}, want {expected}");
        }
    }
}

/// Gradients (3, 4) have norm 5; clipping to 1 scales them to (0.6, 0.8).
#[test]
fn global_norm_clipping() {
    let a = Var::from_vec(vec![1f64], 1, &Device::Cpu).unwrap();
    let b = Var::from_vec(vec![1f64], 1, &Device::Cpu).unwrap();
    let loss = ((a.as_tensor() * 3.0).unwrap() + (b.as_tensor() * 4.0).unwrap()).unwrap().sum_all().unwrap();
    let mut g = loss.backward().unwrap();
    let vars = vec![a.clone(), b.clone()];
    let norm = optim::clip_global_norm(&mut g, &vars, 1.0).unwrap();
    assert!((norm - 5.0).abs() < 1e-12);
    let ga = g.get(a.as_tensor()).unwrap().to_vec1::<f64>().unwrap()[0];
    let gb = g.get(b.as_tensor()).unwrap().to_vec1::<f64>().unwrap()[0];
    assert!((ga - 0.6).abs() < 1e-6 && (gb - 0.8).abs() < 1e-6, "{ga} {gb}");
    // Below the threshold nothing changes.
    let mut g2 = loss.backward().unwrap();
    optim::clip_global_norm(&mut g2, &vars, 10.0).unwrap();
    let _ = Tensor::new(0f64, &Device::Cpu);
    assert_eq!(g2.get(a.as_tensor()).unwrap().to_vec1::<f64>().unwrap()[0], 3.0);
}

const SPEC: &str = r#"
task reverse { alphabet = "01", input = string(alphabet), target = reverse(input), format = transduce }
task dup { alphabet = "01", input = string(alphabet), target = input ++ input, format = lm }
split s { train = len 1..=4, test = len 5..=6, count = 16 }
model m = transformer { layers = 1, d_model = 16, heads = 2, ffn = 32, norm = pre, position = sinusoidal }
experiment enc { task = reverse, model = m, split = s, train { steps = 60, batch = 16, optimizer = adam(lr = 3e-3) } }
experiment enc_gf { task = reverse, model = m, split = s, train { steps = 60, batch = 16, optimizer = adam(lr = 3e-3), grad_filter = grokfast_ema(alpha = 0.98, lamb = 2.0) } }
experiment dec { task = dup, model = m { kind = decoder, dropout = 0.1 }, split = s, train { steps = 60, batch = 16, optimizer = adam(lr = 3e-3), mixed_lengths = true } }
"#;

fn train_once(exp: &str) -> (Vec<f64>, String) {
    train_with(SPEC, exp, Kernels::Fused, None)
}

fn train_with(text: &str, exp: &str, kernels: Kernels, steps: Option<usize>) -> (Vec<f64>, String) {
    spec_run::train_spec(text, exp, 7, kernels, steps)
}

/// Same spec + seed = bit-identical losses and results (DESIGN §5); the loss falls.
#[test]
fn tiny_runs_are_deterministic_and_learn() {
    spec_run::assert_deterministic_and_learns(&["enc", "dec"], train_once);
}

/// A gradient filter applies to generated tasks too (the one training loop): the same seed
/// draws the same data and initial weights, so the losses agree at step 1 (the filter acts
/// after the loss) and differ later (Adam's first update is nearly scale-free, so step 2 may
/// still agree); the filtered run is deterministic and learns.
#[test]
fn gradient_filters_apply_to_every_task() {
    let (plain, _) = train_once("enc");
    let (a, ra) = train_once("enc_gf");
    let (b, rb) = train_once("enc_gf");
    assert_eq!((a.clone(), ra), (b, rb), "filtered runs differ between identical runs");
    assert_eq!(a[0], plain[0], "step 1 precedes any filtering");
    assert_ne!(a[2..], plain[2..], "the filter changed nothing");
    let (first, last) = (a[..5].iter().sum::<f64>() / 5.0, a[a.len() - 5..].iter().sum::<f64>() / 5.0);
    assert!(last < 0.8 * first, "filtered run did not learn: {first} -> {last}");
}

/// A run whose loss becomes non-finite stops with `Diverged` at that step and
/// keeps its result; the pipeline still writes results.json and metrics so far.
#[test]
fn divergence_stops_the_run_and_keeps_results() {
    let text = r#"
task reverse { alphabet = "01", input = string(alphabet), target = reverse(input), format = transduce }
split s { train = len 1..=4, test = len 5..=5, count = 4 }
model m = transformer { layers = 1, d_model = 8, heads = 2, ffn = 16 }
experiment boom { task = reverse, model = m, split = s, train { steps = 50, batch = 4, optimizer = adam(lr = 1e30) }, eval { every = 1 } }
"#;
    let l = syntax::load::load_str("boom.alg", text);
    let spec = check::check(&l.files).spec.expect("spec checks");
    let exp = spec.experiment("boom").unwrap();
    let out = std::env::temp_dir().join(format!("algen-boom-{}", std::process::id()));
    let opts = algen::pipeline::RunOptions::new(out.clone());
    let (res, dir) =
        algen::pipeline::run_experiment(&spec, exp, &opts, &mut |_, _, _, _| Box::new(train::Quiet)).expect("runs");
    let r = &res.runs[0];
    match &r.status {
        algen::report::results::RunStatus::Diverged { step, message } => {
            assert!(*step > 1 && *step < 50, "diverged at step {step}");
            assert!(message.contains("loss"), "{message}");
            assert_eq!(r.periodic.len(), *step, "one evaluation at step 0 and one per finished step");
            assert_eq!(r.periodic[0].step, 0);
            assert!(r.periodic[0].train_loss.is_nan(), "no training loss before the first step");
        }
        s => panic!("expected divergence, got {s:?}"),
    }
    assert!(r.final_eval.is_none());
    let saved = algen::report::load(&dir).expect("results.json readable");
    assert_eq!(saved.runs.len(), 1);
    let metrics = std::fs::read_dir(dir.join("runs")).unwrap().next().unwrap().unwrap().path().join("metrics.jsonl");
    assert!(std::fs::read_to_string(metrics).unwrap().lines().count() >= 1);
    let _ = std::fs::remove_dir_all(out);
}

/// Schedules (hand-computed): warm-up is linear (step 5 of 10 warm-up steps
/// gives 0.5); the cosine is 1 right after warm-up, (1 + min)/2 half way, and
/// `min` at the last step; `from_zero` shifts them one update later.
#[test]
fn schedules_match_hand_computed_values() {
    use algen::ir::Schedule;
    use algen::train::schedule::lr_scale;
    assert_eq!(lr_scale(&Schedule::Constant, 7, 100), 1.0);
    let wc = Schedule::WarmupConstant { warmup: 10, from_zero: false };
    assert_eq!(lr_scale(&wc, 5, 100), 0.5);
    assert_eq!(lr_scale(&wc, 50, 100), 1.0);
    // From zero (Lee et al.'s LambdaLR): updates 1, 2, …, 11 use 0, 0.1, …, 1.0.
    let z = Schedule::WarmupConstant { warmup: 10, from_zero: true };
    let got: Vec<f64> = (1..=12).map(|k| lr_scale(&z, k, 100)).collect();
    let want = [0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.0];
    assert!(got.iter().zip(want).all(|(a, b)| (a - b).abs() < 1e-15), "{got:?}");
    let cz = Schedule::WarmupCosine { warmup: 10, min: 0.1, from_zero: true };
    assert_eq!(lr_scale(&cz, 1, 111), 0.0);
    assert!((lr_scale(&cz, 61, 111) - 0.55).abs() < 1e-12);
    let cos = Schedule::WarmupCosine { warmup: 10, min: 0.1, from_zero: false };
    assert_eq!(lr_scale(&cos, 1, 110), 0.1);
    assert!((lr_scale(&cos, 10, 110) - 1.0).abs() < 1e-12);
    assert!((lr_scale(&cos, 60, 110) - 0.55).abs() < 1e-12);
    assert!((lr_scale(&cos, 110, 110) - 0.1).abs() < 1e-12);
}

/// The fused ops and their decomposed references train to the same loss curve (300 steps of
/// a small W-like post-norm encoder, and a pre-norm decoder with mixed lengths), within float
/// tolerance: f32 rounding differs between the two paths, so the curves drift apart slowly.
#[test]
fn fused_and_reference_kernels_give_the_same_loss_curve() {
    let text = r#"
task reverse { alphabet = "01", input = string(alphabet), target = reverse(input), format = transduce }
task dup { alphabet = "01", input = string(alphabet), target = input ++ input, format = lm }
split s { train = len 1..=5, test = len 6..=6, count = 2 }
model w = transformer { layers = 2, d_model = 16, heads = 4, ffn = 32, norm = post, position = sinusoidal, embed_scale = true }
experiment enc { task = reverse, model = w, split = s, train { steps = 300, batch = 8, optimizer = adam(lr = 3e-3) } }
experiment dec { task = dup, model = w { kind = decoder, norm = pre }, split = s, train { steps = 300, batch = 8, optimizer = adam(lr = 3e-3), mixed_lengths = true } }
"#;
    for exp in ["enc", "dec"] {
        let (fused, _) = train_with(text, exp, Kernels::Fused, None);
        let (reference, _) = train_with(text, exp, Kernels::Reference, None);
        assert_eq!(fused.len(), 300);
        let worst = fused.iter().zip(&reference).map(|(a, b)| (a - b).abs() / b.abs().max(1e-3)).fold(0.0, f64::max);
        eprintln!("{exp}: fused vs reference loss curves differ by up to {worst:.2e} (relative)");
        assert!(worst < 2e-3, "{exp}: loss curves differ by up to {worst:.2e} (relative)");
        let first: f64 = fused[..10].iter().sum::<f64>() / 10.0;
        let last: f64 = fused[290..].iter().sum::<f64>() / 10.0;
        assert!(last < 0.8 * first, "{exp}: the curve must actually move ({first} -> {last})");
        assert_eq!(fused, train_with(text, exp, Kernels::Fused, None).0, "{exp}: fused path is deterministic");
    }
}

/// Mixed-length batches are bucketed: over lengths 1..=40 in batches of 32, padding is a few
/// percent of the positions (unbucketed random batches: about 45%); one-length batches have
/// none.
#[test]
fn mixed_length_batches_are_bucketed_and_single_length_batches_unpadded() {
    let text = r#"
task reverse { alphabet = "01", input = string(alphabet), target = reverse(input), format = transduce }
split s { train = len 1..=40, test = len 41..=41 }
"#;
    let l = syntax::load::load_str("b.alg", text);
    let spec = check::check(&l.files).spec.expect("spec checks");
    let task = spec.task("reverse").unwrap();
    let vocab = algen::task::vocab(task);
    let lengths: Vec<usize> = (1..=40).collect();
    for mixed in [false, true] {
        let mut batches = train::Batches::new(task, &vocab, &lengths, 3, mixed);
        let (mut pad, mut all) = (0usize, 0usize);
        let mut seen = std::collections::BTreeSet::new();
        for _ in 0..64 {
            let b = batches.next(32).unwrap();
            assert_eq!(b.b, 32);
            pad += b.pad.iter().filter(|&&p| p == 0.0).count();
            all += b.pad.len();
            seen.insert(b.t);
        }
        let frac = pad as f64 / all as f64;
        if mixed {
            assert!(frac < 0.06, "bucketed padding fraction {frac:.3}");
            assert!(seen.len() > 20, "buckets span the lengths: {seen:?}");
        } else {
            assert_eq!(pad, 0, "one length per batch: no padding");
        }
    }
}

/// Evaluation packs several lengths into one padded batch when a length has fewer examples
/// than a batch holds; the scores per length are the same as evaluating one example at a time.
#[test]
fn cross_length_eval_batches_score_like_single_examples() {
    let l = syntax::load::load_str("e.alg", SPEC);
    let spec = check::check(&l.files).spec.expect("spec checks");
    let task = spec.task("reverse").unwrap();
    let vocab = algen::task::vocab(task);
    let e = spec.experiment("enc").unwrap();
    let io = algen::model::ModelIo { vocab_in: vocab.input.len(), vocab_out: vocab.output.len() };
    let (net, _) = algen::model::build(&e.variants[0].model.arch, io, 4).unwrap();
    let lengths: Vec<usize> = (1..=7).collect();
    let score = |batch: usize| {
        let set = algen::eval::EvalSet { part: "test", lengths: &lengths, count: 5, seed: 2, batch };
        let r = algen::eval::evaluate(&net, task, &vocab, &set).unwrap();
        assert_eq!(r.seqs, 35);
        r.by_length.iter().map(|l| (l.len, l.scores.token_accuracy, l.scores.n)).collect::<Vec<_>>()
    };
    let packed = score(16);
    assert_eq!(packed, score(1));
    assert!(packed.iter().any(|&(_, acc, _)| acc > 0.0 && acc < 1.0), "an untrained model scores between 0 and 1");
}
