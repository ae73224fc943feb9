//! The small-head inference kernel of the fused attention core (`ops::attention` on a tensor
//! that needs no gradient, f32, head width 4/8/16, AVX-512) against the training path of the
//! same op (which saves the weights: the small-head training kernel, see
//! `tests/attention_train.rs`) and against the decomposed reference, over head widths, lengths that are not whole 16-key chunks, causal
//! masks, padding masks and rows that see no key.

use algen::model::ops::{self, AttnSpec};
use candle_core::{DType, Device, Tensor, Var};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::sync::Arc;

fn rand_qkv(rng: &mut ChaCha8Rng, b: usize, t: usize, d: usize, amp: f32) -> Tensor {
    let data: Vec<f32> = (0..b * t * 3 * d).map(|_| rng.gen_range(-amp..amp)).collect();
    Tensor::from_vec(data, (b, t, 3 * d), &Device::Cpu).expect("qkv")
}

fn flat(x: &Tensor) -> Vec<f32> {
    x.flatten_all().and_then(|x| x.to_dtype(DType::F32)).and_then(|x| x.to_vec1()).expect("flat")
}

/// Largest |a − b| over the elements.
fn max_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0, f32::max)
}

/// Eval kernel (plain tensor) vs the weight-saving path (a `Var`) vs the reference, in f32.
fn compare(spec: &AttnSpec, qkv: &Tensor) -> (Vec<f32>, f32) {
    let eval = flat(&ops::attention(qkv, spec, None).expect("eval"));
    let var = Var::from_tensor(qkv).expect("var");
    let train = flat(&ops::attention(var.as_tensor(), spec, None).expect("train"));
    let reference = flat(&ops::attention_ref(qkv, spec, None).expect("ref"));
    let d = max_diff(&eval, &train).max(max_diff(&eval, &reference));
    (eval, d)
}

#[test]
fn eval_kernel_matches_the_training_path_and_the_reference() {
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let mut cases = 0;
    for (h, dh) in [(2, 4), (8, 8), (3, 16), (2, 5)] {
        for t in [1usize, 7, 16, 33, 70] {
            for causal in [false, true] {
                for masked in [false, true] {
                    let b = 3;
                    // Row 0 keeps its first key only, row 1 a ragged prefix, row 2 everything.
                    let mask = masked.then(|| {
                        let keep = |bi: usize, j: usize| match bi {
                            0 => j == 0,
                            1 => j < t.div_ceil(2) || j % 5 == 3,
                            _ => true,
                        };
                        Arc::new((0..b * t).map(|i| if keep(i / t, i % t) { 1.0 } else { 0.0 }).collect())
                    });
                    let spec = AttnSpec { heads: h, causal, key_mask: mask, ..AttnSpec::default() };
                    let qkv = rand_qkv(&mut rng, b, t, h * dh, 2.0);
                    let (_, d) = compare(&spec, &qkv);
                    assert!(d < 1e-5, "h={h} dh={dh} t={t} causal={causal} masked={masked}: max diff {d}");
                    cases += 1;
                }
            }
        }
    }
    assert_eq!(cases, 80);
}

/// Long rows (W's evaluation length) and large scores (up to ~400, where a max-free exp
/// overflows): both f32 paths are measured against the reference in f64, and the kernel's
/// error may not exceed twice the training path's (f32 rounding of scores this large moves the
/// weights by ~1e-5 relative whichever way they are computed).
#[test]
fn eval_kernel_is_stable_on_long_rows_and_large_scores() {
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let spec = AttnSpec { heads: 2, ..AttnSpec::default() };
    let qkv = rand_qkv(&mut rng, 2, 1000, 16, 12.0);
    let exact = flat(&ops::attention_ref(&qkv.to_dtype(DType::F64).unwrap(), &spec, None).unwrap());
    let eval = flat(&ops::attention(&qkv, &spec, None).unwrap());
    let var = Var::from_tensor(&qkv).unwrap();
    let train = flat(&ops::attention(var.as_tensor(), &spec, None).unwrap());
    assert!(eval.iter().all(|x| x.is_finite()));
    let (e_eval, e_train) = (max_diff(&eval, &exact), max_diff(&train, &exact));
    assert!(e_eval <= 2.0 * e_train + 1e-5, "kernel error {e_eval}, training path's {e_train}");
}

/// Hand-computed: one head of width 4; query 1 sees keys 0 and 1 (causal) with scores 0 and
/// ln 3 (after the 1/√4 scale), so its context is (1·v0 + 3·v1) / 4. A query whose only
/// visible key is padding gets a zero context.
#[test]
fn eval_kernel_hand_computed_weights_and_empty_rows() {
    let ln3 = 3f32.ln();
    // Rows: [q | k | v], each 4 wide; t = 2.
    let rows: [[f32; 12]; 2] = [
        [0.0, 0.0, 0.0, 0.0, /* k0 */ 0.0, 0.0, 0.0, 0.0, /* v0 */ 1.0, 2.0, 3.0, 4.0],
        [2.0 * ln3, 0.0, 0.0, 0.0, /* k1 */ 1.0, 0.0, 0.0, 0.0, /* v1 */ 5.0, -2.0, 7.0, 0.0],
    ];
    let data: Vec<f32> = rows.iter().flatten().copied().collect();
    let qkv = Tensor::from_vec(data.clone(), (1, 2, 12), &Device::Cpu).unwrap();
    let spec = AttnSpec { heads: 1, causal: true, ..AttnSpec::default() };
    let out = flat(&ops::attention(&qkv, &spec, None).unwrap());
    let want = [1.0, 2.0, 3.0, 4.0, 4.0, -1.0, 6.0, 1.0];
    assert!(max_diff(&out, &want) < 1e-6, "{out:?}");
    // Key 0 is padding: query 0 (causal) sees nothing, query 1 sees only key 1.
    let spec = AttnSpec { key_mask: Some(Arc::new(vec![0.0, 1.0])), ..spec };
    let out = flat(&ops::attention(&qkv, &spec, None).unwrap());
    assert!(max_diff(&out, &[0.0, 0.0, 0.0, 0.0, 5.0, -2.0, 7.0, 0.0]) < 1e-6, "{out:?}");
}

/// The same call twice, and on a one-thread pool, gives the same bits.
#[test]
fn eval_kernel_is_deterministic_across_thread_counts() {
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    let spec = AttnSpec { heads: 8, causal: true, ..AttnSpec::default() };
    let qkv = rand_qkv(&mut rng, 3, 90, 64, 1.5);
    let run = || flat(&ops::attention(&qkv, &spec, None).unwrap());
    let a = run();
    assert_eq!(a, run());
    let one = rayon::ThreadPoolBuilder::new().num_threads(1).build().unwrap();
    assert_eq!(a, one.install(run));
}
