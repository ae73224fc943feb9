//! The benchmark's recurrent models `rnn`, `stack_rnn`, `tape_rnn` (Delétang et al. 2023).
//! Oracles: hand computations (fixed weights, 2 units, 2–5 steps; the arithmetic is in each
//! test's doc), the benchmark's memory-update equations on pure and mixed actions, central
//! finite differences for every parameter, the decomposed reference kernels, and properties
//! (determinism, causality, right padding, parameter counts).

use algen::ir::model::{Activation, Arch, RnnCfg, StackRnnCfg, TapeRnnCfg};
use algen::model::memory;
use algen::model::ops::Kernels;
use algen::model::{self, ModelIo, Net, Params};
use algen::{check, syntax};
use candle_core::{DType, Device, Result, Tensor};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

mod common;
use common::*;

fn rnn(hidden: usize, activation: Activation) -> Arch {
    Arch::Rnn(RnnCfg { hidden, activation })
}

fn stack(hidden: usize, cell: usize, depth: usize) -> Arch {
    Arch::StackRnn(StackRnnCfg { hidden, activation: Activation::Relu, cell, depth })
}

fn tape(hidden: usize, cell: usize, size: usize) -> Arch {
    Arch::TapeRnn(TapeRnnCfg { hidden, activation: Activation::Relu, cell, size })
}

fn f64_t(v: &[f64], dims: &[usize]) -> Tensor {
    Tensor::from_vec(v.to_vec(), dims, &Device::Cpu).unwrap()
}

/// Sets every parameter named in `values` (row-major), and zeroes all others.
fn set(params: &Params, values: &[(&str, &[f64])]) {
    for (name, var) in params.named() {
        let v = match values.iter().find(|(n, _)| *n == name.as_str()) {
            Some((_, v)) => v.to_vec(),
            None => vec![0.0; var.elem_count()],
        };
        var.set(&f64_t(&v, var.dims()).to_dtype(var.dtype()).unwrap()).unwrap();
    }
}

fn logits(net: &Net, rows: &[&[u32]]) -> Vec<f64> {
    vals(&net.forward(&tokens(rows), None, None).unwrap())
}

// ---------------------------------------------------------------- memory updates

/// Stack (depth 3, cell 1, top first) s = (1, 2, 3), push value 9. Benchmark equations:
/// push → (9, 1, 2); pop → (2, 3, 0); no-op → (1, 2, 3); with p = (0.5, 0.3, 0.2):
/// s'_0 = 0.5·9 + 0.3·2 + 0.2·1 = 5.3, s'_1 = 0.5·1 + 0.3·3 + 0.2·2 = 1.8,
/// s'_2 = 0.5·2 + 0.3·0 + 0.2·3 = 1.6.
#[test]
fn stack_update_matches_the_benchmark_equations() {
    let s = f64_t(&[1., 2., 3.], &[1, 3, 1]);
    let v = f64_t(&[9.], &[1, 1]);
    let shifts = memory::stack_shifts(3, DType::F64).unwrap();
    for (p, want) in [
        ([1., 0., 0.], [9., 1., 2.]),
        ([0., 1., 0.], [2., 3., 0.]),
        ([0., 0., 1.], [1., 2., 3.]),
        ([0.5, 0.3, 0.2], [5.3, 1.8, 1.6]),
    ] {
        let got = memory::stack_step(&s, &v, &f64_t(&p, &[1, 3]), &shifts).unwrap();
        assert_close(&vals(&got), &want, 0.0, 1e-12, &format!("stack, actions {p:?}"));
    }
    // Depth 1: a pop brings in zero.
    let one = memory::stack_step(
        &f64_t(&[4.], &[1, 1, 1]),
        &v,
        &f64_t(&[0., 1., 0.], &[1, 3]),
        &memory::stack_shifts(1, DType::F64).unwrap(),
    );
    assert_eq!(vals(&one.unwrap()), [0.0]);
}

/// Tape (size 5, cell 1, head at cell 0) m = (1, 2, 3, 4, 5), write 9, input length L = 2:
/// W = (9, 2, 3, 4, 5); stay → W; left m'_i = W[i+1] → (2, 3, 4, 5, 9); right W[i−1] →
/// (5, 9, 2, 3, 4); jump left W[i+2] → (3, 4, 5, 9, 2); jump right W[i−2] → (4, 5, 9, 2, 3)
/// (the benchmark's `roll(eye, −1 | +1 | −L | +L)`). With p = (0.1, 0.2, 0.3, 0.15, 0.25):
/// m'_0 = 0.9 + 0.4 + 1.5 + 0.45 + 1.0 = 4.25, m'_1 = 0.2 + 0.6 + 2.7 + 0.6 + 1.25 = 5.35,
/// m'_2 = 0.3 + 0.8 + 0.6 + 0.75 + 2.25 = 4.7, m'_3 = 0.4 + 1.0 + 0.9 + 1.35 + 0.5 = 4.15,
/// m'_4 = 0.5 + 1.8 + 1.2 + 0.3 + 0.75 = 4.55. L = 7 ≡ 2 (mod 5) gives the same.
#[test]
fn tape_update_matches_the_benchmark_equations() {
    let m = f64_t(&[1., 2., 3., 4., 5.], &[1, 5, 1]);
    let w = f64_t(&[9.], &[1, 1]);
    let cases: [([f64; 5], [f64; 5]); 6] = [
        ([1., 0., 0., 0., 0.], [9., 2., 3., 4., 5.]),
        ([0., 1., 0., 0., 0.], [2., 3., 4., 5., 9.]),
        ([0., 0., 1., 0., 0.], [5., 9., 2., 3., 4.]),
        ([0., 0., 0., 1., 0.], [3., 4., 5., 9., 2.]),
        ([0., 0., 0., 0., 1.], [4., 5., 9., 2., 3.]),
        ([0.1, 0.2, 0.3, 0.15, 0.25], [4.25, 5.35, 4.7, 4.15, 4.55]),
    ];
    for len in [2, 7] {
        let moves = memory::tape_moves(5, &[len], DType::F64).unwrap();
        for (p, want) in &cases {
            let got = memory::tape_step(&m, &w, &f64_t(p, &[1, 5]), &moves).unwrap();
            assert_close(&vals(&got), want, 0.0, 1e-12, &format!("tape, L = {len}, actions {p:?}"));
        }
    }
    // Two sequences with different input lengths jump by their own L.
    let m2 = f64_t(&[1., 2., 3., 4., 5., 1., 2., 3., 4., 5.], &[2, 5, 1]);
    let moves = memory::tape_moves(5, &[2, 1], DType::F64).unwrap();
    let jl = f64_t(&[0., 0., 0., 1., 0., 0., 0., 0., 1., 0.], &[2, 5]);
    let got = memory::tape_step(&m2, &f64_t(&[9., 9.], &[2, 1]), &jl, &moves).unwrap();
    assert_eq!(vals(&got), [3., 4., 5., 9., 2., 2., 3., 4., 5., 9.]);
}

// ---------------------------------------------------------------- whole models by hand

const IO2: ModelIo = ModelIo { vocab_in: 2, vocab_out: 2 };

/// `rnn`, 2 units, W_in = [[0.5, −1], [1, 0.25]] (columns: tokens 0, 1), b_in = (0.1, −0.2),
/// W_hh = [[0.3, −0.4], [0.6, 0.2]], b_hh = (0, 0.1), W_o = [[1, −1], [0.5, 2]], b_o = (0.1, 0);
/// tokens (0, 1). ReLU: z1 = (0.5, 1) + (0.1, −0.1) = (0.6, 0.9) = h1; W_hh·h1 = (−0.18, 0.54),
/// z2 = (−1 − 0.18 + 0.1, 0.25 + 0.54 − 0.1) = (−1.08, 0.69), h2 = (0, 0.69);
/// logits W_o·h + b_o: (−0.2, 2.1), (−0.59, 1.38).
/// tanh: h1 = tanh(0.6, 0.9) = (0.537050, 0.716298), W_hh·h1 = (−0.125404, 0.465490),
/// h2 = tanh(−1.025404, 0.615489) = (−0.772059, 0.547980); the readout sees relu(h):
/// (0.537050 − 0.716298 + 0.1, 0.268525 + 1.432596) = (−0.079248, 1.701121) and
/// (−0.547980 + 0.1, 1.095959) = (−0.447980, 1.095959).
#[test]
fn rnn_matches_hand_computation() {
    let weights: &[(&str, &[f64])] = &[
        ("core.w_in", &[0.5, -1.0, 1.0, 0.25]),
        ("core.b_in", &[0.1, -0.2]),
        ("core.w_hh", &[0.3, -0.4, 0.6, 0.2]),
        ("core.b_hh", &[0.0, 0.1]),
        ("head.weight", &[1.0, -1.0, 0.5, 2.0]),
        ("head.bias", &[0.1, 0.0]),
    ];
    let cases = [
        (Activation::Relu, vec![-0.2, 2.1, -0.59, 1.38]),
        (Activation::Tanh, vec![-0.079248, 1.701121, -0.447980, 1.095959]),
    ];
    for (act, want) in cases {
        for dt in [DType::F64, DType::F32] {
            let (net, params) = model::build_with(&rnn(2, act), IO2, 0, dt).unwrap();
            set(&params, weights);
            for k in [Kernels::Fused, Kernels::Reference] {
                let got = logits(&net.clone().with_kernels(k), &[&[0, 1]]);
                assert_close(&got, &want, 0.0, 2e-6, &format!("{act:?} {dt:?} {k:?}"));
            }
        }
    }
}

/// `stack_rnn`, 2 units, cell 1, depth 2; W_in = [[1, 0, 1], [0, 1, −1]] (columns: tokens 0, 1,
/// the stack top), W_hh = 0, push W_v = (1, 2), actions W_a = 0 with b_a = (ln 2, 0, 0), so
/// p = (push, pop, no-op) = (0.5, 0.25, 0.25); W_o = I. Tokens (0, 1, 1):
/// h1 = relu(1, 0) = (1, 0), v1 = 1, stack (0, 0) → (0.5·1, 0.5·0) = (0.5, 0);
/// h2 = relu(0 + 0.5, 1 − 0.5) = (0.5, 0.5), v2 = 1.5,
/// stack → (0.5·1.5 + 0.25·0 + 0.25·0.5, 0.5·0.5 + 0.25·0 + 0.25·0) = (0.875, 0.25);
/// h3 = relu(0.875, 1 − 0.875) = (0.875, 0.125). Logits = h.
#[test]
fn stack_rnn_matches_hand_computation() {
    let io = ModelIo { vocab_in: 2, vocab_out: 2 };
    let (net, params) = model::build_with(&stack(2, 1, 2), io, 0, DType::F64).unwrap();
    set(
        &params,
        &[
            ("core.w_in", &[1., 0., 1., 0., 1., -1.]),
            ("stack.push.weight", &[1., 2.]),
            ("stack.actions.bias", &[2f64.ln(), 0., 0.]),
            ("head.weight", &[1., 0., 0., 1.]),
        ],
    );
    let want = [1., 0., 0.5, 0.5, 0.875, 0.125];
    for k in [Kernels::Fused, Kernels::Reference] {
        assert_close(&logits(&net.clone().with_kernels(k), &[&[0, 1, 1]]), &want, 0.0, 1e-12, &format!("{k:?}"));
    }
}

/// `tape_rnn`, 2 units, cell 1, size 5, vocabulary (0, 1, query 2). W_in = [[1, 0, 0, 1],
/// [0, 1, 0, 0]] (tokens 0, 1, 2, then the head cell), W_hh = 0; the write MLP passes h_0
/// through (a single 1 in each of its three weights), action logits b_a = (0, 0, 0, ln 4, 0),
/// so p = (1, 1, 1, 4, 1)/8 (jump left favoured); W_o = I. Tokens (0, 1, 0, 2, 2), input
/// length L = 3 (the tokens before the first query). Writes w = h_0, then moves (see
/// `tape_update_matches_the_benchmark_equations`):
/// h1 = (1, 0), tape → (0.125, 0.125, 0.5, 0.125, 0.125);
/// h2 = (0.125, 1), tape → (0.171875, 0.171875, 0.171875, 0.171875, 0.3125);
/// h3 = (1 + 0.171875, 0) = (1.171875, 0), tape → (0.314453, 0.367188, 0.689453, ..);
/// h4 = (0.314453, 0), tape → (0.367920, ..); h5 = (0.367920, 0). Logits = h.
/// Without a query id, L = 5 ≡ 0: jumps stay, and h2 = (0.75, 1) instead.
#[test]
fn tape_rnn_matches_hand_computation() {
    let io = ModelIo { vocab_in: 3, vocab_out: 2 };
    let (net, params) = model::build_with(&tape(2, 1, 5), io, 0, DType::F64).unwrap();
    let mut m1 = vec![0.0; 64 * 64];
    m1[0] = 1.0;
    let (mut m0, mut m2) = (vec![0.0; 64 * 2], vec![0.0; 64]);
    (m0[0], m2[0]) = (1.0, 1.0);
    set(
        &params,
        &[
            ("core.w_in", &[1., 0., 0., 1., 0., 1., 0., 0.]),
            ("tape.mlp.0.weight", &m0),
            ("tape.mlp.1.weight", &m1),
            ("tape.mlp.2.weight", &m2),
            ("tape.actions.bias", &[0., 0., 0., 4f64.ln(), 0.]),
            ("head.weight", &[1., 0., 0., 1.]),
        ],
    );
    let want = [1., 0., 0.125, 1., 1.171875, 0., 0.314453125, 0., 0.367919921875, 0.];
    let row: &[u32] = &[0, 1, 0, 2, 2];
    for k in [Kernels::Fused, Kernels::Reference] {
        let n = net.clone().with_kernels(k).with_query(Some(2));
        assert_close(&logits(&n, &[row]), &want, 0.0, 1e-12, &format!("{k:?}"));
    }
    let no_query = logits(&net, &[row]);
    assert_close(&no_query[2..4], &[0.75, 1.0], 0.0, 1e-12, "L = 5 without a query id");
}

// ---------------------------------------------------------------- gradients

const IO: ModelIo = ModelIo { vocab_in: 4, vocab_out: 3 };

fn loss_of(net: &Net) -> Result<Tensor> {
    let x = tokens(&[&[1, 0, 2, 3, 3], &[2, 2, 1, 3, 0]]);
    let pad = f32_mat(&[&[1., 1., 1., 1., 1.], &[1., 1., 1., 1., 0.]]);
    let y = tokens(&[&[0, 2, 1, 2, 1], &[1, 0, 2, 1, 1]]);
    model::cross_entropy_masked(&net.forward(&x, Some(&pad), None)?, &y, &pad)
}

/// Every parameter gets a non-zero gradient equal to central differences (f64), and the
/// fused and reference kernels agree. Random weights (std 0.5 for a non-trivial ReLU pattern).
#[test]
fn gradients_match_finite_differences_and_reference() {
    let archs = [rnn(3, Activation::Relu), rnn(3, Activation::Tanh), stack(3, 2, 3), tape(3, 2, 4)];
    for (i, a) in archs.iter().enumerate() {
        let (net, params) = model::build_with(a, IO, 11, DType::F64).unwrap();
        let net = net.with_query(Some(3));
        let mut rng = ChaCha8Rng::seed_from_u64(i as u64);
        for (_, var) in params.named() {
            let v: Vec<f64> = (0..var.elem_count()).map(|_| rng.gen_range(-0.5..0.5)).collect();
            var.set(&f64_t(&v, var.dims())).unwrap();
        }
        model_grads_check(&net, &params, &loss_of, &format!("{a:?}"));
    }
}

// ---------------------------------------------------------------- properties

#[test]
fn deterministic_causal_and_right_padded() {
    for a in [rnn(6, Activation::Relu), stack(6, 2, 4), tape(6, 2, 4)] {
        let (net, _) = model::build_with(&a, IO, 5, DType::F64).unwrap();
        let at = |rows: &[&[u32]], pad: Option<&Tensor>| vals(&net.forward(&tokens(rows), pad, None).unwrap());
        let again = model::build_with(&a, IO, 5, DType::F64).unwrap().0;
        assert_eq!(vals(&again.forward(&tokens(&[&[1, 2, 3]]), None, None).unwrap()), at(&[&[1, 2, 3]], None));
        assert_eq!(vals(&net.detached().forward(&tokens(&[&[1, 2, 3]]), None, None).unwrap()), at(&[&[1, 2, 3]], None));
        // The last token changes only the last position (no query id set: the tape's L is the
        // row length, equal here).
        let (x, y) = (at(&[&[1, 2, 3, 1]], None), at(&[&[1, 2, 3, 0]], None));
        assert_eq!(x[..9], y[..9], "{a:?}");
        assert_ne!(x[9..], y[9..], "{a:?}");
        // Right padding is exact (the tape's L is the real length, 3, in both rows); left
        // padding and tokens outside the vocabulary are errors.
        let padded = at(&[&[2, 2, 3, 1, 0]], Some(&f32_mat(&[&[1., 1., 1., 0., 0.]])));
        assert_close(&at(&[&[2, 2, 3]], None), &padded[..9], 1e-12, 1e-14, "padded row");
        assert!(net.forward(&tokens(&[&[0, 2, 3]]), Some(&f32_mat(&[&[0., 1., 1.]])), None).is_err());
        assert!(net.forward(&tokens(&[&[0, 7]]), None, None).is_err());
    }
    assert!(model::build(&stack(4, 1, 0), IO, 0).is_err() && model::build(&tape(4, 0, 3), IO, 0).is_err());
}

/// The parameter counts of `param_count` equal the built models' (the formula is in its doc).
/// Benchmark sizes by hand (vocab 3 → 2, H = 256, C = 8): rnn 256·3 + 256² + 512 + 514 =
/// 67_330; stack_rnn adds the top cell to W_in (256·8) and heads 11·257: 72_205; tape_rnn adds
/// 256·8 and 64·257 + 64·65 + 8·65 + 5·257 = 22_413: 91_791.
#[test]
fn parameter_counts() {
    let io = ModelIo { vocab_in: 3, vocab_out: 2 };
    let big = [(rnn(256, Activation::Relu), 67_330), (stack(256, 8, 30), 72_205), (tape(256, 8, 40), 91_791)];
    for (a, n) in big {
        assert_eq!(model::param_count(&a, io), n, "{a:?}");
        assert_eq!(model::build(&a, io, 0).unwrap().1.count(), n, "{a:?}");
    }
    for a in [rnn(3, Activation::Tanh), stack(5, 2, 7), tape(4, 3, 6)] {
        assert_eq!(model::build(&a, IO, 0).unwrap().1.count(), model::param_count(&a, IO), "{a:?}");
    }
}

/// Haiku's `TruncatedNormal(σ)` for `embed_init = σ`: every value within ±2σ, and the sample
/// standard deviation near the truncated normal's 0.879626·σ (1 − 4φ(2)/(Φ(2) − Φ(−2)) =
/// 0.773741 of the variance); 64·64 draws estimate it within ~2%.
#[test]
fn transformer_embed_init_is_a_truncated_normal() {
    let text = format!("model m = transformer {{ layers = 1, d_model = 64, heads = 8, embed_init = 0.02 }}\n{EXP}");
    let spec = check::check(&syntax::load::load_str("t.alg", &text).files).spec.expect("spec checks");
    let arch = spec.experiments[0].variants[0].model.arch.clone();
    assert!(matches!(&arch, Arch::Transformer(t) if t.embed_init == Some(0.02)));
    let (_, params) = model::build(&arch, ModelIo { vocab_in: 64, vocab_out: 2 }, 3).unwrap();
    let w = vals(params.get("tok_embed.weight").unwrap().as_tensor());
    assert!(w.iter().all(|x| x.abs() <= 0.04 + 1e-8));
    let std = (w.iter().map(|x| x * x).sum::<f64>() / w.len() as f64).sqrt();
    assert!((std / (0.879626 * 0.02) - 1.0).abs() < 0.03, "std {std}");
}

const EXP: &str = r#"
task t { alphabet = "01", input = string(alphabet), target = input, format = transduce }
split s { train = len 1..=2, test = len 3..=3 }
experiment e { task = t, model = m, split = s }
"#;

// ---------------------------------------------------------------- through the spec language

const SPEC: &str = r#"
task reverse { alphabet = "01", input = string(alphabet), target = reverse(input), format = transduce }
split s { train = len 1..=4, test = len 5..=6, count = 16 }
model st = stack_rnn { hidden = 16, cell = 4, depth = 8 }
model tp = tape_rnn { hidden = 16, cell = 4, size = 8 }
experiment stack { task = reverse, model = st, split = s, train { steps = 80, batch = 16, optimizer = adam(lr = 1e-2), mixed_lengths = true } }
experiment tape { task = reverse, model = tp, split = s, train { steps = 80, batch = 16, optimizer = adam(lr = 1e-2) } }
"#;

fn train_once(exp: &str) -> (Vec<f64>, String) {
    spec_run::train_spec(SPEC, exp, 3, Default::default(), None)
}

/// A stack RNN and a tape RNN checked from a spec train on reverse (lengths 1..=4; the stack
/// one on padded mixed-length batches): same seed = bit-identical losses and results, and the
/// loss of the last 5 steps is below 0.8× that of the first 5.
#[test]
fn tiny_memory_rnn_runs_are_deterministic_and_learn() {
    spec_run::assert_deterministic_and_learns(&["stack", "tape"], train_once);
}
