//! Model stage tests. Oracles: central finite differences (every gradient), the decomposed
//! reference ops (every fused op), hand computations (softmax, LayerNorm, sinusoidal PE,
//! a 2-token attention), and properties (determinism, causality, padding).

use algen::ir::model::{Arch, ModelKind, Norm, NormType, Position, TransformerCfg};
use algen::model::layers::{AttnCtx, FeedForward, LayerNorm, Linear, SelfAttention};
use algen::model::ops::{self, Alibi, AttnSpec, Kernels};
use algen::model::{self, positions, ModelIo, Net, Params};
use candle_core::{DType, Device, Result, Tensor, Var};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::sync::Arc;

mod common;
use common::*;

// ---------------------------------------------------------------- helpers

const IO: ModelIo = ModelIo { vocab_in: 5, vocab_out: 4 };

// ---------------------------------------------------------------- hand-computed values

#[test]
fn exp_f32_matches_libm() {
    // Oracle: f64 exp. The fast exp must be within 3e-7 relative on the whole normal range.
    let mut x = -87.0f32;
    while x < 88.0 {
        let (a, b) = (ops::exp_f32(x) as f64, (x as f64).exp());
        assert!(((a - b) / b).abs() < 3e-7, "exp({x}): {a} vs {b}");
        x += 0.01;
    }
    assert_eq!(ops::exp_f32(f32::NEG_INFINITY), 0.0);
    assert_eq!(ops::exp_f32(-1e30), 0.0);
    assert_eq!(ops::exp_f32(0.0), 1.0);
}

#[test]
fn softmax_of_small_vector() -> Result<()> {
    // Hand computation: e^i / (e + e^2 + e^3).
    let x = Tensor::new(&[1f32, 2., 3.], &Device::Cpu)?;
    let want = [0.09003057317038046, 0.24472847105479767, 0.6652409557748219];
    assert_close(&vals(&ops::softmax_last_dim(&x)?), &want, 1e-6, 0.0, "fused");
    assert_close(&vals(&ops::softmax_ref(&x)?), &want, 1e-6, 0.0, "reference");
    Ok(())
}

#[test]
fn layer_norm_of_1234() -> Result<()> {
    // Hand computation: mean 2.5, biased variance 1.25, y = (x − 2.5)/sqrt(1.25 + 1e-5).
    let x = Tensor::new(&[[1f32, 2., 3., 4.]], &Device::Cpu)?;
    let (g, b) = (Tensor::ones(4, DType::F32, &Device::Cpu)?, Tensor::zeros(4, DType::F32, &Device::Cpu)?);
    let want = [-1.3416354199689269, -0.447211806656309, 0.447211806656309, 1.3416354199689269];
    assert_close(&vals(&ops::layer_norm(&x, &g, &b)?), &want, 1e-6, 0.0, "fused");
    assert_close(&vals(&ops::layer_norm_ref(&x, &g, &b)?), &want, 1e-6, 0.0, "reference");
    Ok(())
}

#[test]
fn rms_norm_of_1234() -> Result<()> {
    // Hand computation: mean(x²) = 30/4 = 7.5, y = x·g/sqrt(7.5 + 1e-5) with g = (1, 2, 1, 1).
    let x = Tensor::new(&[[1f32, 2., 3., 4.]], &Device::Cpu)?;
    let g = Tensor::new(&[1f32, 2., 1., 1.], &Device::Cpu)?;
    let r = 1.0 / (7.5f64 + 1e-5).sqrt();
    let want = [r, 4.0 * r, 3.0 * r, 4.0 * r];
    assert_close(&vals(&ops::rms_norm(&x, &g)?), &want, 1e-6, 0.0, "fused");
    assert_close(&vals(&ops::rms_norm_ref(&x, &g)?), &want, 1e-6, 0.0, "reference");
    Ok(())
}

#[test]
fn sinusoidal_positions_d4() {
    // Concatenated layout, ω = (1, 10000^(−1/2) = 0.01): PE[p] = [sin p, sin 0.01p, cos p, cos 0.01p].
    let pe = positions::sinusoidal(2, 4);
    let want = [0.0, 0.0, 1.0, 1.0, 0.8414709848078965, 0.009999833334166664, 0.5403023058681398, 0.9999500004166653];
    assert_close(&pe, &want, 1e-15, 1e-15, "sinusoidal");
}

fn identity_attention() -> Result<SelfAttention> {
    let dev = Device::Cpu;
    let eye = Tensor::eye(2, DType::F64, &dev)?;
    let qkv_w = Tensor::cat(&[&eye, &eye, &eye], 0)?; // (6, 2) = [I; I; I]
    let qkv = Linear::new(qkv_w, Tensor::zeros(6, DType::F64, &dev)?);
    let out = Linear::new(eye, Tensor::zeros(2, DType::F64, &dev)?);
    Ok(SelfAttention { qkv, out, heads: 1, rel: None })
}

#[test]
fn attention_two_tokens_by_hand() -> Result<()> {
    // x0 = [1, 0], x1 = [0, 1], Q = K = V = x, scale 1/√2, so the scores of query 0 are
    // (1/√2, 0): weights (σ(1/√2), 1 − σ(1/√2)) = (0.66976155, 0.33023845), ctx0 = those
    // weights; query 1 mirrored. Causal: query 0 sees only itself, ctx0 = x0.
    let attn = identity_attention()?;
    let x = Tensor::new(&[[[1f64, 0.], [0., 1.]]], &Device::Cpu)?;
    let (p, q) = (0.6697615493266569, 0.3302384506733431);
    for kernels in [Kernels::Fused, Kernels::Reference] {
        let enc = AttnCtx { kernels, ..AttnCtx::default() };
        assert_close(&vals(&attn.forward(&x, &enc)?), &[p, q, q, p], 1e-12, 0.0, "encoder");
        let dec = AttnCtx { kernels, causal: true, ..AttnCtx::default() };
        assert_close(&vals(&attn.forward(&x, &dec)?), &[1.0, 0.0, q, p], 1e-12, 0.0, "decoder");
    }
    Ok(())
}

// ---------------------------------------------------------------- op gradients

#[test]
fn softmax_grad_and_reference() {
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    for dims in [[3usize, 5], [2, 1], [1, 13], [4, 8]] {
        let x = rand_var(&mut rng, &dims);
        let fused = || project(&ops::softmax_last_dim(x.as_tensor())?, 9);
        let reference = || project(&ops::softmax_ref(x.as_tensor())?, 9);
        if dims[1] > 1 {
            grad_check(&[("x", &x)], &fused, 40); // a length-1 softmax is constant 1
        }
        same_grads(&[&x], &fused, &reference, &format!("softmax {dims:?}"));
    }
}

#[test]
fn layer_norm_grad_and_reference() {
    let mut rng = ChaCha8Rng::seed_from_u64(2);
    for dims in [vec![2usize, 3, 5], vec![1, 1, 7], vec![4, 16], vec![3, 1]] {
        let d = *dims.last().unwrap();
        let (x, g, b) = (rand_var(&mut rng, &dims), rand_var(&mut rng, &[d]), rand_var(&mut rng, &[d]));
        let fused = || project(&ops::layer_norm(x.as_tensor(), g.as_tensor(), b.as_tensor())?, 3);
        let reference = || project(&ops::layer_norm_ref(x.as_tensor(), g.as_tensor(), b.as_tensor())?, 3);
        if d > 1 {
            grad_check(&[("x", &x), ("gamma", &g), ("beta", &b)], &fused, 30);
        }
        same_grads(&[&x, &g, &b], &fused, &reference, &format!("layer_norm {dims:?}"));
    }
}

#[test]
fn rms_norm_grad_and_reference() {
    let mut rng = ChaCha8Rng::seed_from_u64(12);
    for dims in [vec![2usize, 3, 5], vec![1, 1, 7], vec![4, 16], vec![3, 1], vec![2, 9]] {
        let d = *dims.last().unwrap();
        let (x, g) = (rand_var(&mut rng, &dims), rand_var(&mut rng, &[d]));
        let fused = || project(&ops::rms_norm(x.as_tensor(), g.as_tensor())?, 3);
        let reference = || project(&ops::rms_norm_ref(x.as_tensor(), g.as_tensor())?, 3);
        grad_check(&[("x", &x), ("gamma", &g)], &fused, 30);
        same_grads(&[&x, &g], &fused, &reference, &format!("rms_norm {dims:?}"));
    }
}

#[test]
fn linear_grad_and_reference() {
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    for (dims, out, relu) in [
        (vec![2usize, 3, 5], 4usize, false),
        (vec![2, 3, 5], 7, true),
        (vec![1, 1, 9], 1, false),
        (vec![13, 6], 3, true),
    ] {
        let inp = *dims.last().unwrap();
        let (x, w, b) = (rand_var(&mut rng, &dims), rand_var(&mut rng, &[out, inp]), rand_var(&mut rng, &[out]));
        let fused = || project(&ops::linear(x.as_tensor(), w.as_tensor(), b.as_tensor(), relu)?, 4);
        let reference = || project(&ops::linear_ref(x.as_tensor(), w.as_tensor(), b.as_tensor(), relu)?, 4);
        grad_check(&[("x", &x), ("w", &w), ("b", &b)], &fused, 30);
        same_grads(&[&x, &w, &b], &fused, &reference, &format!("linear {dims:?} -> {out}, relu {relu}"));
    }
}

fn key_mask(rows: &[&[f32]]) -> Option<Arc<Vec<f32>>> {
    Some(Arc::new(rows.iter().flat_map(|r| r.iter().copied()).collect()))
}

#[test]
fn attention_grad_and_reference() {
    let mut rng = ChaCha8Rng::seed_from_u64(4);
    // (B, T, D, H), key mask, bias rank (0 = none, 3 = (H,T,T), 4 = (B,H,T,T))
    type Case = (usize, usize, usize, usize, Option<Arc<Vec<f32>>>, usize);
    let cases: Vec<Case> = vec![
        (2, 5, 4, 2, None, 0),
        (2, 4, 6, 3, key_mask(&[&[1., 1., 1., 0.], &[1., 1., 0., 0.]]), 0),
        (1, 1, 4, 1, None, 3),
        (2, 3, 4, 2, key_mask(&[&[1., 0., 1.], &[0., 1., 1.]]), 4),
        (1, 9, 2, 2, None, 3),
        // Narrow heads of 8, 16, 32 and 4 run the loop kernels of `attention_small`.
        (2, 6, 16, 2, key_mask(&[&[1., 1., 1., 1., 0., 0.], &[1., 0., 1., 1., 1., 1.]]), 4),
        (1, 5, 32, 2, None, 3),
        (2, 4, 32, 1, key_mask(&[&[1., 1., 1., 0.], &[1., 1., 0., 0.]]), 0),
        (2, 3, 8, 2, None, 0),
    ];
    for (b, t, d, h, mask, bias_rank) in cases {
        for causal in [false, true] {
            let spec = AttnSpec { heads: h, causal, key_mask: mask.clone(), ..AttnSpec::default() };
            let qkv = rand_var(&mut rng, &[b, t, 3 * d]);
            let bias = match bias_rank {
                3 => Some(rand_var(&mut rng, &[h, t, t])),
                4 => Some(rand_var(&mut rng, &[b, h, t, t])),
                _ => None,
            };
            let bt = bias.as_ref().map(|v| v.as_tensor());
            let fused = || project(&ops::attention(qkv.as_tensor(), &spec, bt)?, 5);
            let reference = || project(&ops::attention_ref(qkv.as_tensor(), &spec, bt)?, 5);
            let what = format!("attention b{b} t{t} d{d} h{h} causal {causal} bias {bias_rank}");
            let mut vars = vec![("qkv", &qkv)];
            if let Some(v) = &bias {
                vars.push(("bias", v));
            }
            if t > 1 {
                grad_check(&vars, &fused, 40);
            }
            let vs: Vec<&Var> = vars.iter().map(|(_, v)| *v).collect();
            same_grads(&vs, &fused, &reference, &what);
        }
    }
}

/// ALiBi (both variants), per-head windows, and sequences longer than one query block (64),
/// against finite differences and the reference.
#[test]
fn attention_alibi_windows_and_long_rows_grad_and_reference() {
    let mut rng = ChaCha8Rng::seed_from_u64(14);
    // (B, T, D, H, ALiBi `before`, windows)
    type Case = (usize, usize, usize, usize, Option<f64>, Option<Vec<usize>>);
    let cases: Vec<Case> = vec![
        (2, 5, 4, 2, Some(0.0), None),
        (2, 6, 4, 2, Some(0.5), None),
        (1, 7, 6, 3, None, Some(vec![1, 3, 0])),
        (2, 5, 4, 2, Some(0.0), Some(vec![2, 0])),
        (1, 70, 4, 2, Some(0.5), Some(vec![0, 5])),
        (1, 131, 2, 1, None, None),
        (2, 6, 16, 2, Some(0.5), Some(vec![2, 0])),
        (1, 70, 16, 2, Some(0.0), None),
        (2, 5, 64, 2, None, Some(vec![0, 3])),
    ];
    for (b, t, d, h, before, windows) in cases {
        for causal in [false, true] {
            let mask = (b == 2).then(|| (0..b * t).map(|i| if i == t - 1 { 0.0 } else { 1.0 }).collect());
            let spec = AttnSpec {
                heads: h,
                causal,
                key_mask: mask.map(Arc::new),
                alibi: before.map(|before| Alibi::new(Alibi::standard_slopes(h), before)),
                window: windows.clone().map(Arc::new),
            };
            let qkv = rand_var(&mut rng, &[b, t, 3 * d]);
            let fused = || project(&ops::attention(qkv.as_tensor(), &spec, None)?, 5);
            let reference = || project(&ops::attention_ref(qkv.as_tensor(), &spec, None)?, 5);
            let what = format!("attention b{b} t{t} h{h} causal {causal} alibi {before:?} windows {windows:?}");
            grad_check(&[("qkv", &qkv)], &fused, 12);
            same_grads(&[&qkv], &fused, &reference, &what);
        }
    }
}

/// A sequence alone (one batch element: heads run in parallel) and the same sequence inside a
/// batch (batch elements run in parallel) get bit-identical outputs and gradients.
#[test]
fn attention_head_and_batch_parallel_paths_agree_bitwise() -> Result<()> {
    let mut rng = ChaCha8Rng::seed_from_u64(31);
    let (t, d, h) = (70, 8, 4);
    let spec = AttnSpec { heads: h, causal: true, ..AttnSpec::default() };
    let batch = rand_t(&mut rng, &[4, t, 3 * d], DType::F32);
    let one = batch.narrow(0, 2, 1)?.contiguous()?;
    let run = |x: &Tensor| -> Result<(Vec<f64>, Vec<f64>)> {
        let v = Var::from_tensor(x)?;
        let out = ops::attention(v.as_tensor(), &spec, None)?;
        let g = out.sqr()?.sum_all()?.backward()?;
        Ok((vals(&out), vals(g.get(&v).unwrap())))
    };
    let (out_b, grad_b) = run(&batch)?;
    let (out_1, grad_1) = run(&one)?;
    let n = t * d;
    assert_eq!(out_1, out_b[2 * n..3 * n], "outputs");
    assert_eq!(grad_1, grad_b[2 * 3 * n..3 * 3 * n], "gradients");
    Ok(())
}

/// With q = k = 0 every score is 0, so the weights are softmax of the ALiBi bias alone:
/// causal, slope m, query 2 weighs keys 0, 1, 2 as e^(−2m) : e^(−m) : 1. A window of 1 makes
/// every query copy its own value.
#[test]
fn alibi_weights_and_unit_window_by_hand() -> Result<()> {
    let (t, m) = (3, 0.5f64);
    // D = 3, one head: q = k = 0, v = one-hot of the position.
    let mut qkv = vec![0f64; t * 9];
    for i in 0..t {
        qkv[i * 9 + 6 + i] = 1.0;
    }
    let qkv = Tensor::from_vec(qkv, (1, t, 9), &Device::Cpu)?;
    let alibi = Some(Alibi::new(vec![m], 0.0));
    let spec = AttnSpec { heads: 1, causal: true, alibi, ..AttnSpec::default() };
    let out = vals(&ops::attention(&qkv, &spec, None)?);
    let z = (-2.0 * m).exp() + (-m).exp() + 1.0;
    assert_close(&out[6..9], &[(-2.0 * m).exp() / z, (-m).exp() / z, 1.0 / z], 1e-12, 0.0, "alibi row 2");
    let z1 = (-m).exp() + 1.0;
    assert_close(&out[3..6], &[(-m).exp() / z1, 1.0 / z1, 0.0], 1e-12, 0.0, "alibi row 1");
    let spec = AttnSpec { heads: 1, causal: false, window: Some(Arc::new(vec![1])), ..AttnSpec::default() };
    let out = vals(&ops::attention(&qkv, &spec, None)?);
    assert_close(&out, &[1., 0., 0., 0., 1., 0., 0., 0., 1.], 0.0, 0.0, "window 1 copies its own value");
    Ok(())
}

#[test]
fn attention_hidden_rows_and_huge_negative_bias_stay_finite() -> Result<()> {
    // A row whose keys are all padding, causal left padding, and a -1e30 / -inf bias.
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let (b, t, d, h) = (2, 4, 4, 2);
    let qkv = rand_var(&mut rng, &[b, t, 3 * d]);
    let mut bias = vec![0f64; h * t * t];
    bias[1] = -1e30;
    bias[t * t + 2] = f64::NEG_INFINITY;
    let bias = Var::from_vec(bias, (h, t, t), &Device::Cpu)?;
    for causal in [false, true] {
        let spec = AttnSpec {
            heads: h,
            causal,
            key_mask: key_mask(&[&[0., 0., 0., 0.], &[0., 1., 1., 1.]]),
            window: Some(Arc::new(vec![2, 0])),
            ..AttnSpec::default()
        };
        let out = ops::attention(qkv.as_tensor(), &spec, Some(bias.as_tensor()))?;
        let v = vals(&out);
        assert!(v.iter().all(|x| x.is_finite()), "non-finite attention output");
        assert!(v[..t * d].iter().all(|&x| x == 0.0), "a query with no visible key gets a zero context");
        let g = project(&out, 1)?.backward()?;
        assert!(vals(g.get(&qkv).unwrap()).iter().all(|x| x.is_finite()));
        assert!(vals(g.get(&bias).unwrap()).iter().all(|x| x.is_finite()));
    }
    let x = Tensor::new(&[[-1e30f32, 0., 1.], [f32::NEG_INFINITY, 0., 0.]], &Device::Cpu)?;
    assert_close(
        &vals(&ops::softmax_last_dim(&x)?),
        &[0.0, 0.2689414213699951, 0.7310585786300049, 0.0, 0.5, 0.5],
        1e-6,
        0.0,
        "softmax",
    );
    Ok(())
}

#[test]
fn embed_grad_and_reference() {
    let mut rng = ChaCha8Rng::seed_from_u64(6);
    let (tok, pos) = (rand_var(&mut rng, &[5, 3]), rand_var(&mut rng, &[7, 3]));
    let ids = [0u32, 4, 2, 2, 1, 3];
    let pids = [0u32, 1, 2, 5, 6, 0];
    let fused = || project(&ops::embed(tok.as_tensor(), &ids, (2, 3), 1.7, Some((pos.as_tensor(), &pids)))?, 6);
    let reference = || project(&ops::embed_ref(tok.as_tensor(), &ids, (2, 3), 1.7, Some((pos.as_tensor(), &pids)))?, 6);
    grad_check(&[("tok", &tok), ("pos", &pos)], &fused, 40);
    same_grads(&[&tok, &pos], &fused, &reference, "embed");
    let no_pos = || project(&ops::embed(tok.as_tensor(), &ids, (2, 3), 1.0, None)?, 6);
    grad_check(&[("tok", &tok)], &no_pos, 40);
    assert!(ops::embed(tok.as_tensor(), &[5], (1, 1), 1.0, None).is_err(), "id outside vocabulary");
}

#[test]
fn cross_entropy_grad_and_reference() -> Result<()> {
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let logits = rand_var(&mut rng, &[2, 3, 5]);
    let targets = [0u32, 4, 9 /* masked: any id */, 1, 3, 2];
    let mask = [1f32, 1., 0., 1., 0.5, 1.];
    let fused = || ops::cross_entropy(logits.as_tensor(), &targets, &mask);
    let reference = || ops::cross_entropy_ref(logits.as_tensor(), &targets, &mask);
    grad_check(&[("logits", &logits)], &fused, 40);
    same_grads(&[&logits], &fused, &reference, "cross_entropy");
    // Hand computation: uniform logits give ln V per position.
    let z = Tensor::zeros((1, 2, 5), DType::F32, &Device::Cpu)?;
    let l = model::cross_entropy_masked(&z, &tokens(&[&[1, 2]]), &f32_mat(&[&[1., 1.]]))?;
    assert!((vals(&l)[0] - 5f64.ln()).abs() < 1e-6);
    // All masked: 0, not NaN; gradient 0.
    let l = ops::cross_entropy(logits.as_tensor(), &targets, &[0.0; 6])?;
    assert_eq!(vals(&l), [0.0]);
    assert!(vals(l.backward()?.get(&logits).unwrap()).iter().all(|&g| g == 0.0));
    assert!(ops::cross_entropy(logits.as_tensor(), &[7, 0, 0, 0, 0, 0], &mask).is_err(), "target outside classes");
    Ok(())
}

#[test]
fn dropout_is_seeded_and_differentiable() -> Result<()> {
    let mut rng = ChaCha8Rng::seed_from_u64(8);
    let x = rand_var(&mut rng, &[4, 50]);
    let f = || project(&ops::dropout(x.as_tensor(), 0.3, Some(&mut ChaCha8Rng::seed_from_u64(11)))?, 7);
    grad_check(&[("x", &x)], &f, 20);
    let y = vals(&ops::dropout(x.as_tensor(), 0.3, Some(&mut ChaCha8Rng::seed_from_u64(11)))?);
    let y2 = vals(&ops::dropout(x.as_tensor(), 0.3, Some(&mut ChaCha8Rng::seed_from_u64(11)))?);
    assert_eq!(y, y2, "same seed, same mask");
    let x0 = vals(x.as_tensor());
    let dropped = y.iter().filter(|&&v| v == 0.0).count();
    assert!((30..=90).contains(&dropped), "about 30% of 200 dropped, got {dropped}");
    for (a, b) in y.iter().zip(&x0) {
        assert!(*a == 0.0 || (a - b / 0.7).abs() < 1e-12, "kept values are scaled by 1/(1-p)");
    }
    assert_eq!(vals(&ops::dropout(x.as_tensor(), 0.3, None)?), x0, "identity at evaluation");
    Ok(())
}

// ---------------------------------------------------------------- layers

#[test]
fn layers_grad_check() {
    let mut params = Params::new(3, DType::F64);
    let lin = Linear::load(&mut params, "lin", 5, 4).unwrap();
    let ln = LayerNorm::load(&mut params, "ln", 4, NormType::LayerNorm).unwrap();
    let rms = LayerNorm::load(&mut params, "rms", 4, NormType::RmsNorm).unwrap();
    let ffn = FeedForward::load(&mut params, "ffn", 4, 6).unwrap();
    let attn = SelfAttention::load(&mut params, "attn", 4, 2).unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(9);
    let x = rand_t(&mut rng, &[2, 3, 4], DType::F64);
    // Perturb LayerNorm's gain and bias away from 1 / 0 so they are generic.
    for name in ["ln.weight", "ln.bias", "rms.weight"] {
        let v = params.get(name).unwrap();
        v.set(&rand_t(&mut rng, &[4], DType::F64)).unwrap();
    }
    let vars = |prefix: &str| -> Vec<(String, Var)> {
        params.named().iter().filter(|(n, _)| n.starts_with(prefix)).cloned().collect()
    };
    let check = |prefix: &str, f: &dyn Fn() -> Result<Tensor>| {
        let vs = vars(prefix);
        let named: Vec<(&str, &Var)> = vs.iter().map(|(n, v)| (n.as_str(), v)).collect();
        grad_check(&named, f, 12);
    };
    check("lin.", &|| project(&lin.forward(&x, Kernels::Fused)?, 1));
    check("ln.", &|| project(&ln.forward(&x, Kernels::Fused)?, 2));
    check("rms.", &|| project(&rms.forward(&x, Kernels::Fused)?, 2));
    check("ffn.", &|| project(&ffn.forward(&x, Kernels::Fused)?, 3));
    for causal in [false, true] {
        let ctx = AttnCtx { causal, key_mask: key_mask(&[&[1., 1., 0.], &[1., 1., 1.]]), ..AttnCtx::default() };
        check("attn.", &|| project(&attn.forward(&x, &ctx)?, 4));
    }
}

// ---------------------------------------------------------------- the whole transformer

fn all_configs() -> Vec<TransformerCfg> {
    let mut v = vec![];
    for kind in [ModelKind::Encoder, ModelKind::Decoder] {
        for norm in [Norm::Pre, Norm::Post] {
            for pos in [Position::None, Position::Sinusoidal, Position::Learned { max_len: 8 }] {
                v.push(cfg(kind, norm, pos));
            }
            let mut rms = cfg(kind, norm, Position::Sinusoidal);
            rms.norm_type = NormType::RmsNorm;
            v.push(rms);
        }
    }
    v
}

fn batch() -> (Tensor, Tensor, Tensor, Tensor) {
    let x = tokens(&[&[1, 4, 2, 0, 3], &[2, 2, 3, 1, 0]]);
    let pad = f32_mat(&[&[1., 1., 1., 1., 1.], &[1., 1., 1., 0., 0.]]);
    let y = tokens(&[&[0, 3, 1, 2, 1], &[3, 0, 2, 1, 1]]);
    let mask = f32_mat(&[&[1., 1., 1., 1., 1.], &[1., 1., 1., 0., 0.]]);
    (x, pad, y, mask)
}

fn loss_of(net: &Net, rng: Option<u64>) -> Result<Tensor> {
    let (x, pad, y, mask) = batch();
    let mut r = rng.map(ChaCha8Rng::seed_from_u64);
    let logits = net.forward(&x, Some(&pad), r.as_mut())?;
    model::cross_entropy_masked(&logits, &y, &mask)
}

#[test]
fn transformer_gradients_match_finite_differences() {
    // Every parameter tensor gets a non-zero gradient and matches central differences
    // (sampled elements), for encoder/decoder × pre/post norm × every position kind.
    for c in all_configs() {
        let (net, params) = model::build_with(&Arch::Transformer(c.clone()), IO, 17, DType::F64).unwrap();
        let named: Vec<(&str, &Var)> = params.named().iter().map(|(n, v)| (n.as_str(), v)).collect();
        grad_check(&named, &|| loss_of(&net, None), 4);
    }
    let mut c = cfg(ModelKind::Decoder, Norm::Pre, Position::Sinusoidal);
    c.dropout = 0.2; // the same seeded mask on every evaluation
    let (net, params) = model::build_with(&Arch::Transformer(c), IO, 17, DType::F64).unwrap();
    let named: Vec<(&str, &Var)> = params.named().iter().map(|(n, v)| (n.as_str(), v)).collect();
    grad_check(&named, &|| loss_of(&net, Some(5)), 3);
}

#[test]
fn transformer_fused_matches_reference() {
    for c in all_configs() {
        let (net, params) = model::build_with(&Arch::Transformer(c.clone()), IO, 23, DType::F64).unwrap();
        let reference = net.clone().with_kernels(Kernels::Reference);
        let vars: Vec<&Var> = params.named().iter().map(|(_, v)| v).collect();
        same_grads(&vars, &|| loss_of(&net, None), &|| loss_of(&reference, None), &format!("{c:?}"));
        // f32 logits, fused vs reference.
        let (net32, _) = model::build(&Arch::Transformer(c.clone()), IO, 23).unwrap();
        let (x, pad, _, _) = batch();
        let a = vals(&net32.forward(&x, Some(&pad), None).unwrap());
        let b = vals(&net32.with_kernels(Kernels::Reference).forward(&x, Some(&pad), None).unwrap());
        assert_close(&a, &b, 1e-5, 1e-5, "f32 logits");
    }
}

#[test]
fn same_seed_same_model_different_seed_different_model() {
    let arch = Arch::Transformer(cfg(ModelKind::Encoder, Norm::Pre, Position::Learned { max_len: 8 }));
    let (x, pad, _, _) = batch();
    let (n1, p1) = model::build(&arch, IO, 42).unwrap();
    let (n2, p2) = model::build(&arch, IO, 42).unwrap();
    let (n3, p3) = model::build(&arch, IO, 43).unwrap();
    let all = |p: &Params| -> Vec<Vec<f64>> { p.all().iter().map(|v| vals(v.as_tensor())).collect() };
    assert_eq!(all(&p1), all(&p2), "bit-identical parameters");
    assert_ne!(all(&p1), all(&p3));
    let logits = |n: &Net| vals(&n.forward(&x, Some(&pad), None).unwrap());
    assert_eq!(logits(&n1), logits(&n2), "bit-identical logits");
    assert_ne!(logits(&n1), logits(&n3));
}

#[test]
fn decoder_is_causal_and_padding_is_invisible() {
    let d =
        model::build(&Arch::Transformer(cfg(ModelKind::Decoder, Norm::Post, Position::Sinusoidal)), IO, 1).unwrap().0;
    let e =
        model::build(&Arch::Transformer(cfg(ModelKind::Encoder, Norm::Pre, Position::Learned { max_len: 8 })), IO, 1)
            .unwrap()
            .0;
    let a = tokens(&[&[1, 2, 3, 4, 0, 1]]);
    let b = tokens(&[&[1, 2, 3, 0, 0, 1]]); // token 3 changed
    let v = 4; // vocab_out
    let (la, lb) = (vals(&d.forward(&a, None, None).unwrap()), vals(&d.forward(&b, None, None).unwrap()));
    assert_close(&la[..3 * v], &lb[..3 * v], 0.0, 1e-6, "decoder positions before the change");
    assert!(la[3 * v..].iter().zip(&lb[3 * v..]).any(|(x, y)| (x - y).abs() > 1e-4), "later positions see it");
    let (ea, eb) = (vals(&e.forward(&a, None, None).unwrap()), vals(&e.forward(&b, None, None).unwrap()));
    assert!(ea[..v].iter().zip(&eb[..v]).any(|(x, y)| (x - y).abs() > 1e-4), "encoder positions see later tokens");
    // A padded key is invisible: changing the padded token leaves real positions unchanged.
    let pad = f32_mat(&[&[1., 1., 1., 0., 1., 1.]]);
    let (pa, pb) = (vals(&e.forward(&a, Some(&pad), None).unwrap()), vals(&e.forward(&b, Some(&pad), None).unwrap()));
    assert_close(&pa[..3 * v], &pb[..3 * v], 0.0, 1e-6, "real positions");
    assert_close(&pa[4 * v..], &pb[4 * v..], 0.0, 1e-6, "real positions after the pad");
}

#[test]
fn params_list_is_stable() {
    let c = TransformerCfg {
        kind: ModelKind::Encoder,
        layers: 1,
        d_model: 4,
        heads: 2,
        ffn: 8,
        norm: Norm::Pre,
        dropout: 0.0,
        position: Position::Learned { max_len: 6 },
        embed_scale: false,
        norm_type: Default::default(),
        embed_init: None,
        activation: Default::default(),
        final_norm: None,
        head_bias: true,
        attn_bias_init: Default::default(),
        attn_weight_init: Default::default(),
        head: Default::default(),
    };
    let arch = Arch::Transformer(c);
    let io = ModelIo { vocab_in: 5, vocab_out: 3 };
    let (_, p) = model::build(&arch, io, 0).unwrap();
    let want: Vec<(&str, Vec<usize>)> = vec![
        ("tok_embed.weight", vec![5, 4]),
        ("pos_embed.weight", vec![6, 4]),
        ("layers.0.ln1.weight", vec![4]),
        ("layers.0.ln1.bias", vec![4]),
        ("layers.0.attn.qkv.weight", vec![12, 4]),
        ("layers.0.attn.qkv.bias", vec![12]),
        ("layers.0.attn.out.weight", vec![4, 4]),
        ("layers.0.attn.out.bias", vec![4]),
        ("layers.0.ln2.weight", vec![4]),
        ("layers.0.ln2.bias", vec![4]),
        ("layers.0.ffn.up.weight", vec![8, 4]),
        ("layers.0.ffn.up.bias", vec![8]),
        ("layers.0.ffn.down.weight", vec![4, 8]),
        ("layers.0.ffn.down.bias", vec![4]),
        ("final_ln.weight", vec![4]),
        ("final_ln.bias", vec![4]),
        ("head.weight", vec![3, 4]),
        ("head.bias", vec![3]),
    ];
    let want: Vec<(String, Vec<usize>)> = want.into_iter().map(|(n, s)| (n.to_string(), s)).collect();
    assert_eq!(p.list(), want);
    // 20 + 24 + (8 + 60 + 20 + 8 + 40 + 36) + 8 + 15 = 239, by hand from the list above.
    assert_eq!(p.count(), 239);
    assert_eq!(model::param_count(&arch, io), 239);
}

#[test]
fn param_count_matches_built_models_and_flops_formula() {
    for c in all_configs() {
        let arch = Arch::Transformer(c);
        let (_, p) = model::build(&arch, IO, 0).unwrap();
        assert_eq!(model::param_count(&arch, IO), p.count());
    }
    // Hand computation, d = 8, ffn = 12, L = 2, T = 5, B = 3, V_out = 4:
    // per token L·(8·64 + 4·8·12 + 4·5·8) + 2·8·4 = 2·(512 + 384 + 160) + 64 = 2176;
    // step = 3 · B·T · 2176 = 3 · 15 · 2176 = 97_920.
    let arch = Arch::Transformer(cfg(ModelKind::Encoder, Norm::Pre, Position::None));
    assert_eq!(model::flops_per_step(&arch, IO, 3, 5), 97_920);
    // Relative attention adds per token and layer 2d² + 2H·T·d = 128 + 2·2·5·8 = 288
    // (W_rᵀ(q + v), then against the keys' sinusoid features): 2176 + 2·288 = 2752 per
    // token; step = 45 · 2752 = 123_840. Randomized relative costs the same.
    for position in [
        Position::Relative,
        Position::Randomized { base: Box::new(Position::Relative), max_len: 64, eval: true, per_layer: false },
    ] {
        let arch = Arch::Transformer(cfg(ModelKind::Encoder, Norm::Pre, position));
        assert_eq!(model::flops_per_step(&arch, IO, 3, 5), 123_840);
    }
}

#[test]
fn initialization_follows_pytorch_defaults() {
    let arch = Arch::Transformer(cfg(ModelKind::Encoder, Norm::Post, Position::None));
    let (_, p) = model::build(&arch, IO, 5).unwrap();
    let get = |n: &str| vals(p.get(n).unwrap().as_tensor());
    let bound = 1.0 / 8f64.sqrt(); // fan_in = d_model = 8
    assert!(get("layers.0.attn.qkv.weight").iter().all(|v| v.abs() <= bound));
    assert!(get("layers.1.ffn.down.weight").iter().all(|v| v.abs() <= 1.0 / 12f64.sqrt()));
    assert!(get("layers.0.ln1.weight").iter().all(|&v| v == 1.0));
    assert!(get("layers.0.ln2.bias").iter().all(|&v| v == 0.0));
    let e = get("tok_embed.weight");
    let mean = e.iter().sum::<f64>() / e.len() as f64;
    let var = e.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / e.len() as f64;
    assert!(mean.abs() < 0.5 && (0.4..2.0).contains(&var), "N(0, 1) embeddings: mean {mean}, var {var}");
}

#[test]
fn bad_inputs_are_errors_not_panics() {
    let arch = Arch::Transformer(cfg(ModelKind::Encoder, Norm::Pre, Position::Learned { max_len: 4 }));
    let (net, _) = model::build(&arch, IO, 0).unwrap();
    let long = tokens(&[&[1, 1, 1, 1, 1]]);
    let err = net.forward(&long, None, None).unwrap_err().to_string();
    assert!(err.contains("max_len"), "{err}");
    assert!(net.forward(&tokens(&[&[7, 1]]), None, None).is_err(), "token outside vocabulary");
    let f = Tensor::zeros((1, 3), DType::F32, &Device::Cpu).unwrap();
    assert!(net.forward(&f, None, None).is_err(), "float tokens");
    let ok = tokens(&[&[1, 2, 3]]);
    assert!(net.forward(&ok, Some(&f32_mat(&[&[1., 1.]])), None).is_err(), "pad shape");
    assert!(net.forward_at(&ok, None, Some(&[0, 1]), None).is_err(), "position ids count");
    let logits = net.forward(&ok, None, None).unwrap();
    assert!(model::cross_entropy_masked(&logits, &tokens(&[&[1, 2]]), &f32_mat(&[&[1., 1.]])).is_err());
    let mut bad = cfg(ModelKind::Encoder, Norm::Pre, Position::None);
    bad.heads = 3;
    assert!(model::build(&Arch::Transformer(bad), IO, 0).is_err(), "d_model not divisible by heads");
    let mut odd = cfg(ModelKind::Encoder, Norm::Pre, Position::Sinusoidal);
    odd.d_model = 6;
    odd.heads = 3;
    assert!(model::build(&Arch::Transformer(odd), IO, 0).is_ok());
    let mut odd = cfg(ModelKind::Encoder, Norm::Pre, Position::Sinusoidal);
    odd.d_model = 5;
    odd.heads = 1;
    assert!(model::build(&Arch::Transformer(odd), IO, 0).is_err(), "odd d_model with sinusoidal");
}

#[test]
fn detached_model_matches_and_follows_updates() -> Result<()> {
    let arch = Arch::Transformer(cfg(ModelKind::Decoder, Norm::Pre, Position::Sinusoidal));
    let (net, params) = model::build(&arch, IO, 3)?;
    let eval = net.detached();
    let (x, pad, _, _) = batch();
    let a = net.forward(&x, Some(&pad), None)?;
    let b = eval.forward(&x, Some(&pad), None)?;
    assert!(a.track_op() && !b.track_op(), "detached output carries no graph");
    // Equal up to rounding: with nothing to differentiate, attention may run the inference
    // kernel (ops::attention_eval on AVX-512), which sums in another order.
    assert_close(&vals(&a), &vals(&b), 1e-5, 1e-5, "detached");
    let head = params.get("head.bias").unwrap();
    head.set(&(head.as_tensor() + 1.0)?)?;
    let c = eval.forward(&x, Some(&pad), None)?;
    assert_close(&vals(&c), &vals(&b).iter().map(|v| v + 1.0).collect::<Vec<_>>(), 1e-6, 1e-6, "after update");
    Ok(())
}

// ---------------------------------------------------------------- timing (not a test)

/// Forward + loss + backward of the Chomsky-benchmark transformer (5 × d64, 8 heads,
/// ffn 256) on a 128 × 40 batch, fused vs reference kernels. Run with
/// `cargo test --release --test model -- --ignored --nocapture bench`
/// (`ALGEN_BENCH=fused` times the fused kernels only).
#[test]
#[ignore = "timing only"]
fn bench_training_step() {
    let c = TransformerCfg {
        kind: ModelKind::Encoder,
        layers: 5,
        d_model: 64,
        heads: 8,
        ffn: 256,
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
    };
    let io = ModelIo { vocab_in: 12, vocab_out: 12 };
    let (b, t) = (128, 40);
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    let ids: Vec<u32> = (0..b * t).map(|_| rng.gen_range(0..12)).collect();
    let x = Tensor::from_vec(ids.clone(), (b, t), &Device::Cpu).unwrap();
    let y = Tensor::from_vec(ids, (b, t), &Device::Cpu).unwrap();
    let mask = Tensor::ones((b, t), DType::F32, &Device::Cpu).unwrap();
    let which = match std::env::var("ALGEN_BENCH").as_deref() {
        Ok("fused") => vec![Kernels::Fused],
        _ => vec![Kernels::Fused, Kernels::Reference],
    };
    for kernels in which {
        let (net, _) = model::build(&Arch::Transformer(c.clone()), io, 0).unwrap();
        let net = net.with_kernels(kernels);
        let step = || {
            let logits = net.forward(&x, Some(&mask), None).unwrap();
            model::cross_entropy_masked(&logits, &y, &mask).unwrap().backward().unwrap();
        };
        step();
        let n = 5;
        let start = std::time::Instant::now();
        for _ in 0..n {
            step();
        }
        let train = start.elapsed().as_secs_f64() / n as f64;
        let eval = net.detached();
        let start = std::time::Instant::now();
        for _ in 0..n {
            eval.forward(&x, Some(&mask), None).unwrap();
        }
        let fwd = start.elapsed().as_secs_f64() / n as f64;
        let gf = model::flops_per_step(&Arch::Transformer(c.clone()), io, b, t) as f64 / train / 1e9;
        println!(
            "{kernels:?}: train step {:.1} ms ({:.2} steps/s, {gf:.1} GFLOP/s), eval forward {:.1} ms",
            train * 1e3,
            1.0 / train,
            fwd * 1e3
        );
    }
}
