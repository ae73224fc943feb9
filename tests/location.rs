//! Location-based cross-attention (`cross_attention = ...`; Ray Chowdhury & Caragea 2023,
//! Dubois et al. 2020) in the encoder–decoder transformer. Oracles: central finite differences
//! in f64 for every variant (every parameter, padding on both sides) and the reference
//! kernels; the teacher-forced pass recomputed at every decoding step; `Params::count`; hand
//! computations (the stair, the leaky clamp, a reversal); properties (relative scores depend
//! on offsets only, OneStep and MonoAttn never step left, weights sum to 1 and vanish on
//! padding, a large step walks one position per target step).

mod common;

use algen::ir::model::{ModelKind, Norm, Position};
use algen::ir::{Arch, CrossAttn};
use algen::model::layers::Linear;
use algen::model::location::{self, gauss, relative, reverse};
use algen::model::{self, decode_s2s, Kernels, ModelIo, Net};
use candle_core::{DType, Device, Tensor};
use common::{assert_close, cfg, model_grads_check, tokens, vals};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

const VARIANTS: &[CrossAttn] = &[
    CrossAttn::Relative,
    CrossAttn::BiRelative,
    CrossAttn::Location,
    CrossAttn::MixLocation,
    CrossAttn::OneStep,
    CrossAttn::MixOneStep,
    CrossAttn::Monotonic,
    CrossAttn::MixMonotonic,
];

fn s2s(norm: Norm, position: Position, cross: CrossAttn) -> algen::ir::TransformerCfg {
    cfg(ModelKind::Seq2seq { encoder_layers: 1, decoder_layers: 2, cross_attention: cross }, norm, position)
}

fn build(c: &algen::ir::TransformerCfg, dtype: DType) -> (Net, model::Params) {
    build_seeded(c, dtype, 5)
}

fn build_seeded(c: &algen::ir::TransformerCfg, dtype: DType, seed: u64) -> (Net, model::Params) {
    model::build_with(&Arch::Transformer(c.clone()), ModelIo { vocab_in: 7, vocab_out: 7 }, seed, dtype).unwrap()
}

fn t64(v: Vec<f64>, shape: &[usize]) -> Tensor {
    Tensor::from_vec(v, shape, &Device::Cpu).unwrap()
}

#[test]
fn every_variant_matches_finite_differences_with_padding_on_both_sides() {
    let (src, src_pad, tgt, pad, targets, mask) = common::s2s_batch();
    for (i, &cross) in VARIANTS.iter().enumerate() {
        let norm = [Norm::Pre, Norm::Post, Norm::Lee][i % 3];
        // Seed 6: at seed 5 MixLocation's `relu(w_σ·z)` is 0 at every query of the batch,
        // so `w_σ` gets no gradient (correctly) and the check could not see it.
        let (net, params) = build_seeded(&s2s(norm, Position::Sinusoidal, cross), DType::F64, 6);
        let loss = |n: &Net| {
            let logits = n.forward_s2s(&src, Some(&src_pad), &tgt, Some(&pad), None)?;
            model::cross_entropy_masked(&logits, &targets, &mask)
        };
        model_grads_check(&net, &params, &loss, &format!("{cross:?} {norm:?}"));
    }
}

#[test]
fn padding_is_hidden_in_every_variant() {
    let (src, src_pad, tgt, pad, _, _) = common::s2s_batch();
    let src2 = tokens(&[&[1, 2, 3, 4], &[2, 5, 6, 1]]);
    for &cross in VARIANTS {
        let (net, _) = build(&s2s(Norm::Pre, Position::None, cross), DType::F64);
        let a = vals(&net.forward_s2s(&src, Some(&src_pad), &tgt, Some(&pad), None).unwrap());
        let b = vals(&net.forward_s2s(&src2, Some(&src_pad), &tgt, Some(&pad), None).unwrap());
        let real = |v: &[f64]| v[..3 * 7 + 2 * 7].to_vec();
        assert_close(&real(&a), &real(&b), 0.0, 1e-12, &format!("{cross:?}: logits at real positions"));
    }
}

#[test]
fn cached_greedy_decoding_equals_recomputation_in_every_variant() {
    let (src, src_pad, ..) = common::s2s_batch();
    for (i, &cross) in VARIANTS.iter().enumerate() {
        let norm = [Norm::Pre, Norm::Post, Norm::Lee][i % 3];
        let pos = [Position::None, Position::Rope { base: 100.0 }, Position::Learned { max_len: 8 }][i % 3].clone();
        let (net, _) = build(&s2s(norm, pos, cross), DType::F64);
        let Net::Seq2seq(m) = net.detached() else { panic!("a seq2seq net") };
        let steps = 6;
        let out = decode_s2s::greedy(&m, &src, Some(&src_pad), 6, steps).unwrap();
        for k in 0..steps {
            let rows: Vec<Vec<u32>> = out.tokens.iter().map(|r| [&[6u32][..], &r[..k]].concat()).collect();
            let prefix = tokens(&rows.iter().map(Vec::as_slice).collect::<Vec<_>>());
            let full = m.forward(&src, Some(&src_pad), &prefix, None, None).unwrap();
            let last = full.narrow(1, k, 1).unwrap().squeeze(1).unwrap();
            assert_close(&vals(&last), &vals(&out.logits[k]), 1e-9, 1e-10, &format!("{cross:?} step {k}"));
        }
    }
}

#[test]
fn param_count_matches_the_registry_for_every_variant() {
    for &cross in VARIANTS.iter().chain(&[CrossAttn::Standard]) {
        for bias in [algen::ir::AttnBiasInit::Uniform, algen::ir::AttnBiasInit::None] {
            let mut c = s2s(Norm::Pre, Position::Learned { max_len: 9 }, cross);
            c.attn_bias_init = bias;
            let (_, params) = build(&c, DType::F32);
            let io = ModelIo { vocab_in: 7, vocab_out: 7 };
            assert_eq!(model::param_count(&Arch::Transformer(c), io), params.count(), "{cross:?} {bias:?}");
        }
    }
}

#[test]
fn stair_and_leaky_clamp_by_hand() {
    let x = t64(vec![1.5, 2.0, -0.25, 0.75], &[4]);
    let s = vals(&gauss::stair(&x).unwrap());
    let sig = |v: f64| 1.0 / (1.0 + (-v).exp());
    let want = [1.5, 2.0 + sig(-10.0), -1.0 + sig(20.0 * 0.75 - 10.0), sig(20.0 * 0.75 - 10.0)];
    assert_close(&s, &want, 1e-12, 1e-12, "stair");
    let c = vals(&gauss::leaky_clamp(&t64(vec![-1.0, 0.5, 2.0, 1.0], &[4])).unwrap());
    assert_close(&c, &[-0.01, 0.5, 1.02, 1.0], 1e-12, 1e-12, "leaky clamp");
}

#[test]
fn reversal_reverses_the_real_prefix_and_the_gate_interpolates() {
    // Rows of 4 positions with d = 1: the values are the positions; row 1 has 2 real ones.
    let x = t64(vec![0., 1., 2., 3., 10., 11., 12., 13.], &[2, 4, 1]);
    let r = vals(&reverse::reversed(&x, &[4, 2]).unwrap());
    assert_eq!(r, [3., 2., 1., 0., 11., 10., 12., 13.]);
    assert_eq!(vals(&reverse::mean_real(&x, &[4, 2]).unwrap()), [1.5, 10.5]);
    // w = 0, b = 0 → g = σ(0) = 1/2: the average of forward and reversed.
    let dir = Linear::new(t64(vec![0.0], &[1, 1]), t64(vec![0.0], &[1]));
    let m = vals(&reverse::mix(&x, &[4, 2], &dir, Kernels::Fused).unwrap());
    assert_eq!(m, [1.5, 1.5, 1.5, 1.5, 10.5, 10.5, 12., 13.]);
}

#[test]
fn relative_scores_depend_only_on_offsets() {
    // Zero keys leave the position term; every query equal, so s[t][j] is a function of j − t.
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let (h, dh, s, t) = (2, 3, 5, 3);
    let mut params = model::Params::new(1, DType::F64);
    let rel = relative::Rel::load(&mut params, "rel", h * dh, h).unwrap();
    let q1 = common::rand_t(&mut rng, &[1, h, 1, dh], DType::F64);
    let q = Tensor::cat(&vec![q1; t], 2).unwrap();
    let keys = Tensor::zeros((1, h, s, dh), DType::F64, &Device::Cpu).unwrap();
    let a = vals(&rel.scores(&q, &keys, 0).unwrap());
    let b = vals(&rel.scores(&q, &keys, 1).unwrap());
    let at = |v: &[f64], hh: usize, i: usize, j: usize| v[(hh * t + i) * s + j];
    for hh in 0..h {
        for i in 0..t {
            for j in 0..s - 1 {
                if i + 1 < t {
                    assert!((at(&a, hh, i, j) - at(&a, hh, i + 1, j + 1)).abs() < 1e-12, "diagonal {hh} {i} {j}");
                }
                // Step t0 + i at key j + 1 has the offset of step i at key j.
                assert!((at(&a, hh, i, j) - at(&b, hh, i, j + 1)).abs() < 1e-12, "shift {hh} {i} {j}");
            }
        }
    }
    assert!((at(&a, 0, 0, 0) - at(&a, 0, 0, 1)).abs() > 1e-6, "the offset matters");
}

fn gauss_layer(rule: gauss::Rule) -> gauss::Gauss {
    let mut params = model::Params::new(2, DType::F64);
    gauss::Gauss::load(&mut params, "loc", rule, 4, 2).unwrap()
}

#[test]
fn onestep_and_monotonic_never_step_left_and_location_can() {
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let delta = t64(vec![0.25, 0.5], &[2, 1, 1, 1]);
    let mut left = false;
    for rule in [gauss::Rule::Sigmoid, gauss::Rule::Controlled, gauss::Rule::Dubois] {
        let g = gauss_layer(rule);
        for _ in 0..20 {
            let rho = (common::rand_t(&mut rng, &[2, 2, 1, rule.rho_width()], DType::F64) * 6.0).unwrap();
            let prev = ((common::rand_t(&mut rng, &[2, 2, 1, 1], DType::F64) + 1.0).unwrap() * 0.5).unwrap();
            let mu = vals(&g.mu(&rho, &prev, &delta).unwrap());
            for (k, (m, p)) in mu.iter().zip(vals(&prev)).enumerate() {
                let d = [0.25, 0.5][k / 2];
                match rule {
                    gauss::Rule::Sigmoid => assert!(*m >= p && *m - p < d, "OneStep: {p} → {m}"),
                    gauss::Rule::Controlled => assert!(*m >= p, "MonoAttn: {p} → {m}"),
                    gauss::Rule::Dubois => left |= *m < p,
                }
            }
        }
    }
    assert!(left, "Dubois et al.'s rule moves left for some ρ (its gate on μ̄ is below 1)");
}

#[test]
fn a_large_step_walks_one_position_per_target_step() {
    // OneStep with σ(5ρ) ≈ 1 and the narrowest Gaussian: target step t reads source t + 1
    // until the last real position (5 real positions of 6; the 6th is padding).
    let mut g = gauss_layer(gauss::Rule::Sigmoid);
    let d = 4;
    g.z = Linear::new(Tensor::zeros((d, d), DType::F64, &Device::Cpu).unwrap(), t64(vec![1.0; d], &[d]));
    g.w_rho = t64(vec![10.0; d], &[2, 2, 1]); // ρ = 20 per head
    g.w_sigma = t64(vec![-1.0; d], &[2, 2]); // relu(−2) = 0: σ = 0.27/L
    let mem = location::loc_memory(&[5], 6, DType::F64, &Device::Cpu).unwrap();
    let x = Tensor::zeros((1, 6, d), DType::F64, &Device::Cpu).unwrap();
    let mut state = location::LocState::default();
    let a = g.scan(&x, &mem, &mut state, None, Kernels::Fused).unwrap(); // (1, 2, 6, 6)
    let v = vals(&a);
    for head in 0..2 {
        for t in 0..6 {
            let row = &v[(head * 6 + t) * 6..(head * 6 + t + 1) * 6];
            let sum: f64 = row.iter().sum();
            assert!((sum - 1.0).abs() < 1e-12, "weights sum to 1");
            assert_eq!(row[5], 0.0, "padding gets no weight");
            let best = (0..6).max_by(|&i, &j| row[i].total_cmp(&row[j])).unwrap();
            assert_eq!(best, (t + 1).min(4), "head {head} step {t}: {row:?}");
        }
    }
}

#[test]
fn location_weights_sum_to_one_and_vanish_on_padding() {
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    for &cross in VARIANTS {
        let mut params = model::Params::new(4, DType::F64);
        let l = location::Location::load(&mut params, "x", cross, 4, 2).unwrap().unwrap();
        let enc = common::rand_t(&mut rng, &[2, 3, 4], DType::F64);
        let (m, mem) = l.prepare(&enc, &[3, 1], Kernels::Fused).unwrap();
        assert_eq!(m.dims(), [2, 4, 4], "START prepended");
        let x = common::rand_t(&mut rng, &[2, 5, 4], DType::F64);
        let q = common::rand_t(&mut rng, &[2, 2, 5, 2], DType::F64);
        let keys = common::rand_t(&mut rng, &[2, 2, 4, 2], DType::F64);
        let a = vals(&l.weights(&x, Some(&q), Some(&keys), &mem, Kernels::Fused).unwrap()); // (2, 2, 5, 4)
        for (r, row) in a.chunks(4).enumerate() {
            let sum: f64 = row.iter().sum();
            assert!((sum - 1.0).abs() < 1e-12, "{cross:?} row {r}: {row:?}");
            if r >= 2 * 5 {
                assert_eq!(&row[2..], &[0.0, 0.0], "{cross:?}: the second source has START and 1 token");
            }
        }
        assert_eq!(mem.state.borrow().step, 5);
    }
}

#[test]
fn a_tiny_onestep_run_is_deterministic_and_learns() {
    let text = r#"
        task rev { alphabet = "01", input = string(alphabet), target = reverse(input), format = seq2seq }
        split s { train = len 2..=4, test = len 5..=5, count = 4 }
        model m = transformer { kind = seq2seq, encoder_layers = 1, decoder_layers = 1, d_model = 16, heads = 2, ffn = 32, norm = pre, cross_attention = onestep }
        experiment e { task = rev, model = m, split = s, train { steps = 30, batch = 8, optimizer = adam(lr = 1e-2) } }
    "#;
    common::spec_run::assert_deterministic_and_learns(&["e"], |exp| {
        common::spec_run::train_spec(text, exp, 0, Kernels::Fused, None)
    });
}
