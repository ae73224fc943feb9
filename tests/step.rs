//! The graph-free training step (`model::step`): its loss, gradients and logits equal the
//! autograd path's (the same fused kernels through candle's graph) bit for bit in f32, match
//! the decomposed reference kernels and central finite differences in f64, for every covered
//! variant (encoder/decoder, pre/post/Lee norm, ReLU/GELU, input and ALiBi-style positions,
//! padding, with and without biases); uncovered variants are refused with a reason.

mod common;

use algen::ir::model::{Arch, AttnBiasInit, FfnActivation, ModelKind, Norm, NormType, Position, TransformerCfg};
use algen::model::{self, step, Kernels, ModelIo, Net, Params};
use candle_core::{DType, Device, Tensor, Var};
use common::*;

const IO: ModelIo = ModelIo { vocab_in: 5, vocab_out: 4 };

fn randomized(base: Position) -> Position {
    Position::Randomized { base: Box::new(base), max_len: 16, eval: true, per_layer: false }
}

/// Every variant the step covers, each in an encoder and a decoder.
fn covered() -> Vec<TransformerCfg> {
    let schemes = [
        Position::None,
        Position::Sinusoidal,
        Position::Learned { max_len: 8 },
        Position::Alibi,
        Position::HardAlibi { masked: 1 },
        Position::Coupled { max_position: 8, random_start: true },
        randomized(Position::Sinusoidal),
        randomized(Position::Learned { max_len: 16 }),
        Position::SinusoidalReversed,
    ];
    let norms = [Norm::Post, Norm::Pre, Norm::Lee];
    let mut v = vec![];
    for kind in [ModelKind::Encoder, ModelKind::Decoder] {
        for (i, pos) in schemes.iter().enumerate() {
            let mut c = cfg(kind, norms[i % 3], pos.clone());
            c.activation = if i % 2 == 0 { FfnActivation::Relu } else { FfnActivation::Gelu };
            c.head_bias = i % 4 != 1;
            c.attn_bias_init = if i % 3 == 2 { AttnBiasInit::None } else { AttnBiasInit::Uniform };
            c.embed_scale = i % 2 == 1;
            v.push(c);
        }
    }
    v
}

/// A padded batch: tokens, pad mask, targets, loss mask.
fn batch() -> (Tensor, Tensor, Tensor, Tensor) {
    let x = tokens(&[&[1, 4, 2, 0, 3], &[2, 2, 3, 1, 0], &[0, 1, 3, 3, 4]]);
    let pad = f32_mat(&[&[1., 1., 1., 1., 1.], &[1., 1., 1., 0., 0.], &[1., 1., 1., 1., 0.]]);
    let y = tokens(&[&[0, 3, 1, 2, 1], &[3, 0, 2, 1, 1], &[1, 1, 0, 2, 3]]);
    let mask = f32_mat(&[&[0., 1., 1., 1., 1.], &[1., 1., 1., 0., 0.], &[0., 0., 1., 1., 0.]]);
    (x, pad, y, mask)
}

/// The autograd path: forward through the graph, masked loss, backward, host gradients.
fn autograd(net: &Net, params: &Params) -> (f64, Vec<Option<Vec<f64>>>, Vec<f64>) {
    let (x, pad, y, mask) = batch();
    net.seed_positions(5);
    let logits = net.forward(&x, Some(&pad), None).unwrap();
    let loss = model::cross_entropy_masked(&logits, &y, &mask).unwrap();
    let grads = loss.backward().unwrap();
    let vars = params.all();
    let g = vars.iter().map(|v| grads.get(v.as_tensor()).map(vals)).collect();
    (vals(&loss)[0], g, vals(&logits))
}

fn graph_free(net: &Net, params: &Params) -> (f64, Vec<Option<Vec<f64>>>, Vec<f64>) {
    let (x, pad, y, mask) = batch();
    net.seed_positions(5);
    let Net::Transformer(t) = net else { panic!("a transformer") };
    let o = step::train_step(&mut Default::default(), t, &params.all(), &x, Some(&pad), None, &y, &mask).unwrap();
    (o.loss, o.grads, vals(&o.logits))
}

fn build(c: &TransformerCfg, dtype: DType) -> (Net, Params) {
    model::build_with(&Arch::Transformer(c.clone()), IO, 11, dtype).unwrap()
}

#[test]
fn graph_free_step_equals_the_autograd_path_bit_for_bit() {
    for c in covered() {
        let (net, params) = build(&c, DType::F32);
        let Net::Transformer(t) = &net else { unreachable!() };
        assert_eq!(step::unsupported(t), None, "{c:?} is covered");
        let (la, ga, xa) = autograd(&net, &params);
        let (lb, gb, xb) = graph_free(&net, &params);
        assert_eq!(la.to_bits(), lb.to_bits(), "loss of {c:?}");
        assert_eq!(xa, xb, "logits of {c:?}");
        for ((name, _), (a, b)) in params.named().iter().zip(ga.iter().zip(&gb)) {
            assert_eq!(a.is_some(), b.is_some(), "{name} of {c:?}: gradient present in one path only");
            assert_eq!(a, b, "{name} of {c:?}");
        }
    }
}

#[test]
fn graph_free_step_matches_reference_kernels_and_finite_differences() {
    for c in covered() {
        let (net, params) = build(&c, DType::F64);
        let reference = net.clone().with_kernels(Kernels::Reference);
        let (lr, gr, _) = autograd(&reference, &params);
        let (l, g, _) = graph_free(&net, &params);
        assert_close(&[l], &[lr], 1e-12, 1e-14, &format!("loss of {c:?}"));
        for ((name, _), (a, b)) in params.named().iter().zip(g.iter().zip(&gr)) {
            let (a, b) = (a.as_ref().unwrap(), b.as_ref().unwrap_or_else(|| panic!("{name}: no reference grad")));
            assert_close(a, b, 1e-9, 1e-12, &format!("{name} of {c:?}"));
        }
        finite_differences(&net, &params, &g, &c);
    }
}

/// Central differences of the step's own loss for three elements of every parameter.
fn finite_differences(net: &Net, params: &Params, g: &[Option<Vec<f64>>], c: &TransformerCfg) {
    let h = 1e-6;
    for ((name, var), g) in params.named().iter().zip(g) {
        let g = g.as_ref().unwrap_or_else(|| panic!("{name}: no gradient"));
        assert!(g.iter().any(|v| v.abs() > 1e-12), "{name} of {c:?}: gradient is all zero");
        let x0 = vals(var.as_tensor());
        for i in [0, x0.len() / 2, x0.len() - 1] {
            let at = |d: f64| {
                set(var, &x0, i, d);
                let l = graph_free(net, params).0;
                set(var, &x0, i, 0.0);
                l
            };
            let fd = (at(h) - at(-h)) / (2.0 * h);
            let tol = 1e-6 + 1e-5 * fd.abs().max(g[i].abs());
            assert!((fd - g[i]).abs() <= tol, "{name}[{i}] of {c:?}: step {} vs finite difference {fd}", g[i]);
        }
    }
}

fn set(var: &Var, x0: &[f64], i: usize, d: f64) {
    let mut x = x0.to_vec();
    x[i] += d;
    var.set(&Tensor::from_vec(x, var.dims(), &Device::Cpu).unwrap()).unwrap();
}

#[test]
fn uncovered_variants_are_refused_with_their_reason() {
    let base = cfg(ModelKind::Encoder, Norm::Pre, Position::Sinusoidal);
    let cases: Vec<(TransformerCfg, &str)> = vec![
        (TransformerCfg { dropout: 0.1, ..base.clone() }, "dropout"),
        (TransformerCfg { norm_type: NormType::RmsNorm, ..base.clone() }, "RMSNorm"),
        (TransformerCfg { position: Position::Rope { base: 10000.0 }, ..base.clone() }, "rotary"),
        (TransformerCfg { position: Position::Relative, ..base.clone() }, "relative"),
        (TransformerCfg { position: Position::T5 { buckets: 8, max_distance: 16 }, ..base.clone() }, "t5"),
        (
            TransformerCfg {
                position: Position::Randomized {
                    base: Box::new(Position::Sinusoidal),
                    max_len: 16,
                    eval: true,
                    per_layer: true,
                },
                ..base.clone()
            },
            "per-layer",
        ),
    ];
    for (c, why) in cases {
        let (net, params) = build(&c, DType::F32);
        let Net::Transformer(t) = &net else { unreachable!() };
        let reason = step::unsupported(t).unwrap_or_else(|| panic!("{why} must not be covered"));
        assert!(reason.contains(why), "{reason}");
        let (x, pad, y, mask) = batch();
        let err = step::train_step(&mut Default::default(), t, &params.all(), &x, Some(&pad), None, &y, &mask)
            .err()
            .expect("refused");
        assert!(err.to_string().contains(why), "{err}");
    }
    let (net, _) = build(&base, DType::F32);
    let Net::Transformer(t) = net.with_kernels(Kernels::Reference) else { unreachable!() };
    assert!(step::unsupported(&t).is_some_and(|r| r.contains("reference")));
}

#[test]
fn bad_targets_are_an_error_not_a_panic() {
    let (net, params) = build(&cfg(ModelKind::Encoder, Norm::Post, Position::Sinusoidal), DType::F32);
    let Net::Transformer(t) = &net else { unreachable!() };
    let (x, pad, _, mask) = batch();
    let y = tokens(&[&[0, 9, 1, 2, 1], &[3, 0, 2, 1, 1], &[1, 1, 0, 2, 3]]);
    let err = step::train_step(&mut Default::default(), t, &params.all(), &x, Some(&pad), None, &y, &mask)
        .err()
        .expect("refused");
    assert!(err.to_string().contains("outside"), "{err}");
    let short = tokens(&[&[0, 1]]);
    assert!(step::train_step(&mut Default::default(), t, &params.all(), &x, Some(&pad), None, &short, &mask).is_err());
}

/// On a batch of 512 rows (eight of the 64-row blocks the row-wise kernels split among
/// threads, and head width 8 for the attention kernels), the step's loss, logits and every
/// gradient have the same bits on one thread as on the default pool.
#[test]
fn graph_free_step_is_bit_identical_on_one_thread() {
    let mut c = cfg(ModelKind::Encoder, Norm::Post, Position::Sinusoidal);
    c.d_model = 16;
    c.heads = 2;
    c.ffn = 32;
    let (net, params) = build(&c, DType::F32);
    let Net::Transformer(t) = &net else { unreachable!() };
    let (b, len) = (16, 32);
    let ids: Vec<u32> = (0..b * len).map(|i| ((i * 7 + i / 5) % 5) as u32).collect();
    let x = Tensor::from_vec(ids.clone(), (b, len), &Device::Cpu).unwrap();
    let y = Tensor::from_vec(ids.iter().map(|&v| v % 4).collect::<Vec<u32>>(), (b, len), &Device::Cpu).unwrap();
    let mask = Tensor::ones((b, len), DType::F32, &Device::Cpu).unwrap();
    let run = || {
        let o = step::train_step(&mut Default::default(), t, &params.all(), &x, None, None, &y, &mask).unwrap();
        (o.loss.to_bits(), o.grads, vals(&o.logits))
    };
    let a = run();
    let one = rayon::ThreadPoolBuilder::new().num_threads(1).build().unwrap();
    assert!(a == one.install(run), "the step depends on the thread count");
}
