//! The small-head training kernels of the fused attention core (`ops::attention` on a tensor
//! that needs its gradient, f32, head width 4/8/16, AVX-512: a forward that keeps the weights
//! and its backward) against the same op in f64 (which runs the blocked GEMM path) and the
//! decomposed reference, over head widths, lengths that are not whole 16-key chunks or that
//! span several 64-row backward blocks, causal masks, padding masks and rows that see no key;
//! a hand-computed gradient; and the same bits on one thread.

use algen::model::ops::{self, AttnSpec};
use candle_core::{DType, Device, Tensor, Var};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::sync::Arc;

fn rand_t(rng: &mut ChaCha8Rng, dims: (usize, usize, usize), amp: f32) -> Tensor {
    let data: Vec<f32> = (0..dims.0 * dims.1 * dims.2).map(|_| rng.gen_range(-amp..amp)).collect();
    Tensor::from_vec(data, dims, &Device::Cpu).expect("tensor")
}

fn flat(x: &Tensor) -> Vec<f64> {
    x.flatten_all().and_then(|x| x.to_dtype(DType::F64)).and_then(|x| x.to_vec1()).expect("flat")
}

/// Largest |a − b| over the elements.
fn max_diff(a: &[f64], b: &[f64]) -> f64 {
    assert_eq!(a.len(), b.len());
    a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0, f64::max)
}

/// The context and d(Σ ctx ⊙ w)/d(qkv) of the fused op (or the reference) in `dtype`.
fn ctx_and_grad(qkv: &Tensor, w: &Tensor, spec: &AttnSpec, dtype: DType, reference: bool) -> (Vec<f64>, Vec<f64>) {
    let var = Var::from_tensor(&qkv.to_dtype(dtype).unwrap()).unwrap();
    let run = if reference { ops::attention_ref } else { ops::attention };
    let ctx = run(var.as_tensor(), spec, None).expect("attention");
    let loss = ctx.mul(&w.to_dtype(dtype).unwrap()).unwrap().sum_all().unwrap();
    let grads = loss.backward().expect("backward");
    (flat(&ctx), flat(grads.get(var.as_tensor()).expect("gradient")))
}

/// Batch element 0 keeps its first key only, 1 a ragged prefix, the rest everything.
fn ragged_mask(b: usize, t: usize) -> Arc<Vec<f32>> {
    let keep = |bi: usize, j: usize| match bi {
        0 => j == 0,
        1 => j < t.div_ceil(2) || j % 5 == 3,
        _ => true,
    };
    Arc::new((0..b * t).map(|i| if keep(i / t, i % t) { 1.0 } else { 0.0 }).collect())
}

#[test]
fn training_kernels_match_f64_and_the_reference() {
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let mut cases = 0;
    for (h, dh) in [(2, 4), (8, 8), (3, 16), (2, 5)] {
        for t in [1usize, 7, 16, 33, 70, 130] {
            for causal in [false, true] {
                for masked in [false, true] {
                    let b = 3;
                    let spec = AttnSpec {
                        heads: h,
                        causal,
                        key_mask: masked.then(|| ragged_mask(b, t)),
                        ..AttnSpec::default()
                    };
                    let qkv = rand_t(&mut rng, (b, t, 3 * h * dh), 2.0);
                    let w = rand_t(&mut rng, (b, t, h * dh), 1.0);
                    let (ctx, grad) = ctx_and_grad(&qkv, &w, &spec, DType::F32, false);
                    let (ctx64, grad64) = ctx_and_grad(&qkv, &w, &spec, DType::F64, false);
                    let what = format!("h={h} dh={dh} t={t} causal={causal} masked={masked}");
                    assert!(max_diff(&ctx, &ctx64) < 2e-5, "{what}: context off by {}", max_diff(&ctx, &ctx64));
                    assert!(max_diff(&grad, &grad64) < 1e-4, "{what}: gradient off by {}", max_diff(&grad, &grad64));
                    if t <= 33 {
                        let (ctx_r, grad_r) = ctx_and_grad(&qkv, &w, &spec, DType::F32, true);
                        assert!(
                            max_diff(&ctx, &ctx_r) < 2e-5 && max_diff(&grad, &grad_r) < 1e-4,
                            "{what}: vs reference"
                        );
                    }
                    cases += 1;
                }
            }
        }
    }
    assert_eq!(cases, 96);
}

/// Hand-computed, one head of width 4, causal, t = 2 (the rows of the inference kernel's
/// hand test): query 1 scores keys 0 and 1 at 0 and ln 3 after the 1/√4 scale, so
/// p = (1/4, 3/4) and ctx₁ = (4, −1, 6, 1). For the loss ctx₁[0]:
/// dv₀[0] = 1/4, dv₁[0] = 3/4; dS₁ⱼ = pⱼ(vⱼ[0] − ctx₁[0]) = (−3/4, 3/4);
/// dq₁[0] = ½·Σ dS₁ⱼ kⱼ[0] = ½·¾ = 3/8; dkⱼ[0] = ½·dS₁ⱼ·q₁[0] = ∓¾ ln 3; all else 0.
#[test]
fn training_kernel_hand_computed_gradient() {
    let ln3 = 3f64.ln();
    let rows: [[f32; 12]; 2] = [
        [0.0, 0.0, 0.0, 0.0, /* k0 */ 0.0, 0.0, 0.0, 0.0, /* v0 */ 1.0, 2.0, 3.0, 4.0],
        [2.0 * ln3 as f32, 0.0, 0.0, 0.0, /* k1 */ 1.0, 0.0, 0.0, 0.0, /* v1 */ 5.0, -2.0, 7.0, 0.0],
    ];
    let data: Vec<f32> = rows.iter().flatten().copied().collect();
    let qkv = Tensor::from_vec(data, (1, 2, 12), &Device::Cpu).unwrap();
    let mut w = vec![0f32; 8];
    w[4] = 1.0; // loss = ctx₁[0]
    let w = Tensor::from_vec(w, (1, 2, 4), &Device::Cpu).unwrap();
    let spec = AttnSpec { heads: 1, causal: true, ..AttnSpec::default() };
    let (ctx, grad) = ctx_and_grad(&qkv, &w, &spec, DType::F32, false);
    assert!(max_diff(&ctx, &[1.0, 2.0, 3.0, 4.0, 4.0, -1.0, 6.0, 1.0]) < 1e-5, "{ctx:?}");
    let mut want = vec![0f64; 24];
    want[4] = -0.75 * ln3; // dk₀[0]
    want[8] = 0.25; // dv₀[0]
    want[12] = 0.375; // dq₁[0]
    want[16] = 0.75 * ln3; // dk₁[0]
    want[20] = 0.75; // dv₁[0]
    assert!(max_diff(&grad, &want) < 1e-5, "{grad:?}");
}

/// The forward and backward twice, and on a one-thread pool, give the same bits.
#[test]
fn training_kernels_are_deterministic_across_thread_counts() {
    let mut rng = ChaCha8Rng::seed_from_u64(13);
    let spec = AttnSpec { heads: 8, key_mask: Some(ragged_mask(3, 90)), ..AttnSpec::default() };
    let qkv = rand_t(&mut rng, (3, 90, 192), 1.5);
    let w = rand_t(&mut rng, (3, 90, 64), 1.0);
    let run = || ctx_and_grad(&qkv, &w, &spec, DType::F32, false);
    let a = run();
    assert_eq!(a, run());
    let one = rayon::ThreadPoolBuilder::new().num_threads(1).build().unwrap();
    assert_eq!(a, one.install(run));
}
