//! Positional encodings: their definitions against hand-written values, and their properties.
//! Oracles: hand computations (ALiBi and Hard-ALiBi matrices, T5 buckets, a RoPE rotation),
//! the papers' formulas written out directly (Transformer-XL terms), and invariances (relative
//! schemes ignore a common shift of all positions). Gradients and decoding: `positions_grad.rs`.

mod common;

use algen::ir::model::{Arch, ModelKind, Norm, Position, TransformerCfg};
use algen::model::ops::{self, AttnSpec, Rotary};
use algen::model::positions::{randomized::Randomizer, sinusoidal_at, t5, Ids};
use algen::model::{self, ModelIo, Net, Transformer};
use candle_core::{DType, Device, Result, Tensor};
use common::*;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

fn cfg(kind: ModelKind, position: Position, d_model: usize, heads: usize) -> TransformerCfg {
    TransformerCfg {
        kind,
        layers: 2,
        d_model,
        heads,
        ffn: 12,
        norm: Norm::Pre,
        dropout: 0.0,
        position,
        embed_scale: false,
        norm_type: Default::default(),
        embed_init: None,
        activation: Default::default(),
        final_norm: None,
        head_bias: true,
        attn_bias_init: Default::default(),
        attn_weight_init: Default::default(),
        head: Default::default(),
    }
}

const IO: ModelIo = ModelIo { vocab_in: 5, vocab_out: 4 };

fn build(c: TransformerCfg) -> (Net, algen::model::Params) {
    model::build_with(&Arch::Transformer(c), IO, 11, DType::F64).unwrap()
}

fn transformer(net: &Net) -> &Transformer {
    match net {
        Net::Transformer(t) => t,
        _ => panic!("a transformer"),
    }
}

/// Attention weights `P[h][i][j]` of model `net`'s position terms alone at ids `ids`: q = k = 0
/// and V one-hot per token, so the context of query i in head h is row i of `P_h`.
fn weights(net: &Net, ids: &[u32]) -> Vec<Vec<Vec<f64>>> {
    let t = transformer(net);
    let (n, h, d) = (ids.len(), t.cfg.heads, t.cfg.d_model);
    let dh = d / h;
    assert!(dh >= n, "one-hot values need dh >= T");
    let ctx = t.attn_ctx(None, &Ids::new(ids.to_vec(), 1, n).unwrap()).unwrap();
    let mut qkv = vec![0f64; n * 3 * d];
    for i in 0..n {
        for hi in 0..h {
            qkv[i * 3 * d + 2 * d + hi * dh + i] = 1.0;
        }
    }
    let qkv = Tensor::from_vec(qkv, (1, n, 3 * d), &Device::Cpu).unwrap();
    let spec = AttnSpec { heads: h, causal: ctx.causal, key_mask: None, alibi: ctx.alibi, window: ctx.window };
    let out = vals(&ops::attention(&qkv, &spec, ctx.bias.as_ref()).unwrap());
    (0..h).map(|hi| (0..n).map(|i| (0..n).map(|j| out[i * d + hi * dh + j]).collect()).collect()).collect()
}

/// The score bias recovered from weights: `ln(P_ij / P_ii)` = `bias_ij − bias_ii` (bias_ii = 0
/// for ALiBi); `None` where the key is hidden.
fn bias_from(p: &[Vec<f64>]) -> Vec<Vec<Option<f64>>> {
    p.iter().enumerate().map(|(i, row)| row.iter().map(|&w| (w > 0.0).then(|| (w / row[i]).ln())).collect()).collect()
}

fn assert_bias(got: &[Vec<Option<f64>>], want: &[&[f64]], m: f64, what: &str) {
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        for (j, x) in g.iter().enumerate() {
            match (x, w.get(j)) {
                (Some(x), Some(&w)) => assert!((x - m * w).abs() < 1e-12, "{what} [{i}][{j}]: {x} vs {}", m * w),
                (None, None) => {}
                (x, w) => panic!("{what} [{i}][{j}]: visibility {x:?} vs {w:?}"),
            }
        }
    }
}

/// ALiBi, hand-written in units of the slope m: encoders `−|p_i − p_j| + 0.5·[p_j < p_i]` (the
/// Chomsky-hierarchy benchmark's symmetric variant), decoders `−(p_i − p_j)` on visible keys;
/// at the indices and at explicit (randomized-like) ids [0, 2, 3, 7]. Slopes 2^−4, 2^−8 (H = 2).
#[test]
fn alibi_bias_matrices_by_hand() {
    let enc: [&[f64]; 4] =
        [&[0., -1., -2., -3.], &[-0.5, 0., -1., -2.], &[-1.5, -0.5, 0., -1.], &[-2.5, -1.5, -0.5, 0.]];
    let dec: [&[f64]; 4] = [&[0.], &[-1., 0.], &[-2., -1., 0.], &[-3., -2., -1., 0.]];
    let enc_ids: [&[f64]; 4] =
        [&[0., -2., -3., -7.], &[-1.5, 0., -1., -5.], &[-2.5, -0.5, 0., -4.], &[-6.5, -4.5, -3.5, 0.]];
    let dec_ids: [&[f64]; 4] = [&[0.], &[-2., 0.], &[-3., -1., 0.], &[-7., -5., -4., 0.]];
    let slopes = [2f64.powi(-4), 2f64.powi(-8)];
    for (kind, at_indices, at_ids) in [(ModelKind::Encoder, enc, enc_ids), (ModelKind::Decoder, dec, dec_ids)] {
        let (net, _) = build(cfg(kind, Position::Alibi, 8, 2));
        for (ids, want) in [(vec![0, 1, 2, 3], at_indices), (vec![0, 2, 3, 7], at_ids)] {
            let p = weights(&net, &ids);
            for (h, &m) in slopes.iter().enumerate() {
                assert_bias(&bias_from(&p[h]), &want, m, &format!("{kind:?} head {h} ids {ids:?}"));
            }
        }
    }
}

/// Hard-ALiBi (masked = 2 of 3 heads), q = k = 0: head 0 sees only itself, head 1 itself and
/// the previous token (weights ½, ½), head 2 has no window (uniform over what it may see).
#[test]
fn hard_alibi_masks_by_hand() {
    let h0 = [[1., 0., 0., 0.], [0., 1., 0., 0.], [0., 0., 1., 0.], [0., 0., 0., 1.]];
    let h1 = [[1., 0., 0., 0.], [0.5, 0.5, 0., 0.], [0., 0.5, 0.5, 0.], [0., 0., 0.5, 0.5]];
    let t = 1.0 / 3.0;
    let h2_dec = [[1., 0., 0., 0.], [0.5, 0.5, 0., 0.], [t, t, t, 0.], [0.25; 4]];
    let h2_enc = [[0.25; 4]; 4];
    for (kind, h2) in [(ModelKind::Decoder, h2_dec), (ModelKind::Encoder, h2_enc)] {
        let (net, _) = build(cfg(kind, Position::HardAlibi { masked: 2 }, 12, 3));
        let p = weights(&net, &[0, 1, 2, 3]);
        for (h, want) in [h0, h1, h2].iter().enumerate() {
            let flat: Vec<f64> = p[h].concat();
            assert_close(&flat, &want.concat(), 0.0, 1e-15, &format!("{kind:?} head {h}"));
        }
    }
}

/// T5 buckets of `p_key − p_query`, by hand (ln in the formula of `model::positions::t5`).
/// Bidirectional, 32 buckets, max distance 128: 16 per side, offsets 0..8 exact, e.g. −12:
/// 8 + ⌊ln(12/8)/ln(16)·8⌋ = 8 + ⌊1.17⌋ = 9; −100: 8 + ⌊7.29⌋ = 15; +20: 16 + 8 + ⌊2.64⌋ = 26.
/// Unidirectional, 32 buckets: n = max(−r, 0), 0..16 exact, −20: 16 + ⌊ln(20/16)/ln(8)·16⌋ = 17.
#[test]
fn t5_buckets_by_hand() {
    let bi = [(0, 0), (-1, 1), (1, 17), (-7, 7), (-8, 8), (-12, 9), (-20, 10), (-100, 15), (-127, 15)];
    let bi2 = [(-1000, 15), (20, 26), (8, 24), (127, 31), (128, 31), (5000, 31)];
    for (r, want) in bi.iter().chain(&bi2) {
        assert_eq!(t5::bucket(*r, true, 32, 128), *want, "bidirectional offset {r}");
    }
    let uni = [(0, 0), (3, 0), (5, 0), (-3, 3), (-15, 15), (-16, 16), (-20, 17), (-100, 30), (-127, 31), (-200, 31)];
    for (r, want) in uni {
        assert_eq!(t5::bucket(r, false, 32, 128), want, "unidirectional offset {r}");
    }
}

/// The model's T5 bias is `table[bucket(p_j − p_i), h]`: with `table[b, h] = b + 100h`, the
/// bias matrix lists the buckets (encoder, 8 buckets, max distance 16: 4 per side, 2 exact).
#[test]
fn t5_bias_reads_the_table_at_the_buckets() -> Result<()> {
    let (net, params) = build(cfg(ModelKind::Encoder, Position::T5 { buckets: 8, max_distance: 16 }, 8, 2));
    let table: Vec<f64> = (0..8).flat_map(|b| [b as f64, 100.0 + b as f64]).collect();
    params.get("rel_bias.weight").unwrap().set(&Tensor::from_vec(table, (8, 2), &Device::Cpu)?)?;
    let ids = [0u32, 1, 5];
    let ctx = transformer(&net).attn_ctx(None, &Ids::new(ids.to_vec(), 1, 3)?)?;
    let bias = vals(ctx.bias.as_ref().unwrap());
    assert_eq!(ctx.bias.as_ref().unwrap().dims(), [2, 3, 3]);
    for h in 0..2 {
        for i in 0..3 {
            for j in 0..3 {
                let b = t5::bucket(ids[j] as i64 - ids[i] as i64, true, 8, 16) as f64;
                assert_eq!(bias[(h * 3 + i) * 3 + j], b + 100.0 * h as f64);
            }
        }
    }
    // By hand: offset +5 → 4 + 2 + ⌊ln(5/2)/ln(8)·2⌋ = 6 + ⌊0.88⌋ = 6; −1 → 1; +1 → 5.
    assert_eq!([bias[2], bias[3], bias[1]], [6.0, 1.0, 5.0]);
    Ok(())
}

/// A hand rotation: one head of width 2 (θ_0 = 1), q = (1, 0) at position 2 becomes
/// (cos 2, sin 2); with width 4 and base 100, the second pair turns by 2·100^(−1/2) = 0.2.
#[test]
fn rope_rotates_pairs_by_hand() -> Result<()> {
    let x = Tensor::new(&[[[1f64, 0., 1., 0., 5., 6.]]], &Device::Cpu)?; // (1, 1, 3·2): q, k, v
    for f in [ops::rope, ops::rope_ref] {
        let y = vals(&f(&x, &Rotary::new(&[2], 1, 2, 10000.0))?);
        assert_close(&y, &[2f64.cos(), 2f64.sin(), 2f64.cos(), 2f64.sin(), 5., 6.], 1e-15, 1e-15, "width 2");
    }
    // Width 4, pairs (0, 2) and (1, 3): q = (0, 1, 0, 0) → (0, cos 0.2, 0, sin 0.2).
    let mut v = vec![0f64; 12];
    v[1] = 1.0;
    let x = Tensor::from_vec(v, (1, 1, 12), &Device::Cpu)?;
    let y = vals(&ops::rope(&x, &Rotary::new(&[2], 1, 4, 100.0))?);
    assert_close(&y[..4], &[0., 0.2f64.cos(), 0., 0.2f64.sin()], 1e-15, 1e-15, "width 4");
    Ok(())
}

/// RoPE scores `⟨R_p q, R_p' k⟩` depend on p − p' only: shifting every position by 37 leaves
/// every head's score matrix unchanged (op level, per-row ids).
#[test]
fn rope_scores_are_shift_invariant() -> Result<()> {
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let (b, t, h, dh) = (2, 5, 2, 6);
    let d = h * dh;
    let qkv = rand_t(&mut rng, &[b, t, 3 * d], DType::F64);
    let scores = |ids: Vec<u32>| -> Result<Vec<f64>> {
        let r = ops::rope(&qkv, &Rotary::new(&ids, h, dh, 10000.0))?;
        let split = |i: usize| r.narrow(2, i * d, d)?.reshape((b, t, h, dh))?.transpose(1, 2)?.contiguous();
        Ok(vals(&split(0)?.matmul(&split(1)?.t()?)?))
    };
    let ids: Vec<u32> = vec![0, 1, 2, 3, 4, 0, 2, 3, 9, 11];
    let shifted = ids.iter().map(|p| p + 37).collect();
    assert_close(&scores(ids)?, &scores(shifted)?, 1e-10, 1e-12, "scores");
    Ok(())
}

/// Whole models with relative schemes (RoPE, ALiBi, Transformer-XL, T5) give the same logits
/// when every position id is shifted by a constant; absolute schemes do not.
#[test]
fn relative_schemes_ignore_a_common_shift() -> Result<()> {
    let x = tokens(&[&[1, 4, 2, 0, 3], &[2, 2, 3, 1, 0]]);
    let base: Vec<u32> = [0, 1, 2, 3, 4].repeat(2);
    let shifted: Vec<u32> = base.iter().map(|p| p + 37).collect();
    let schemes = [
        Position::Rope { base: 10000.0 },
        Position::Alibi,
        Position::Relative,
        Position::T5 { buckets: 8, max_distance: 16 },
    ];
    for kind in [ModelKind::Encoder, ModelKind::Decoder] {
        for pos in &schemes {
            let (net, _) = build(cfg(kind, pos.clone(), 8, 2));
            let a = vals(&net.forward_at(&x, None, Some(&base), None)?);
            let b = vals(&net.forward_at(&x, None, Some(&shifted), None)?);
            assert_close(&a, &b, 1e-9, 1e-10, &format!("{kind:?} {pos:?}"));
        }
        let (net, _) = build(cfg(kind, Position::Sinusoidal, 8, 2));
        let a = vals(&net.forward_at(&x, None, Some(&base), None)?);
        let b = vals(&net.forward_at(&x, None, Some(&shifted), None)?);
        assert!(a.iter().zip(&b).any(|(p, q)| (p - q).abs() > 1e-3), "sinusoidal is absolute");
    }
    Ok(())
}

/// Transformer-XL terms written out (Dai et al. 2019, §3.3), for every (i, j) of both signs:
/// `bias_ij = (1/√dh)·[(q_i + v)·W_r R(p_i − p_j) + u·k_j]`, `R(δ) = [sin δω, cos δω]`,
/// ω_c = 10000^(−2c/d). With q = 0 and u = 0 the bias is `v·W_r R(i − j)`, which differs for
/// i − j = +2 and −2 (sin is odd): the layer tells left from right.
#[test]
fn relative_bias_matches_transformer_xl_for_both_signs() -> Result<()> {
    let (d, h, t) = (8, 2, 4);
    let dh = d / h;
    let (net, _) = build(cfg(ModelKind::Encoder, Position::Relative, d, h));
    let tr = transformer(&net);
    let rel = tr.blocks[0].attn.rel.as_ref().expect("relative layer");
    let (w, u, v) = (vals(&rel.w_r), vals(&rel.u), vals(&rel.v));
    let r_of = |delta: f64| -> Vec<f64> {
        let w: Vec<f64> = (0..d / 2).map(|c| 10000f64.powf(-2.0 * c as f64 / d as f64)).collect();
        w.iter().map(|w| (delta * w).sin()).chain(w.iter().map(|w| (delta * w).cos())).collect()
    };
    let mut rng = ChaCha8Rng::seed_from_u64(8);
    for (ids, zero_q) in [(vec![0u32, 1, 2, 3], false), (vec![3, 4, 9, 20], false), (vec![0, 1, 2, 3], true)] {
        let mut qkv = vals(&rand_t(&mut rng, &[1, t, 3 * d], DType::F64));
        if zero_q {
            qkv.iter_mut().enumerate().filter(|(i, _)| i % (3 * d) < 2 * d).for_each(|(_, x)| *x = 0.0);
            // q = k = 0
        }
        let frame = algen::model::positions::relative::Frame::new(&Ids::new(ids.clone(), 1, t)?, d, DType::F64)?;
        let got = vals(&rel.bias(&Tensor::from_vec(qkv.clone(), (1, t, 3 * d), &Device::Cpu)?, &frame, h)?);
        for hh in 0..h {
            for i in 0..t {
                for j in 0..t {
                    let r = r_of(ids[i] as f64 - ids[j] as f64);
                    let mut want = 0.0;
                    for c in 0..dh {
                        let row = hh * dh + c; // output row of W_r
                        let wr: f64 = (0..d).map(|e| w[row * d + e] * r[e]).sum();
                        let q = if zero_q { 0.0 } else { qkv[i * 3 * d + row] };
                        let k = if zero_q { 0.0 } else { qkv[j * 3 * d + d + row] };
                        want += (q + v[row]) * wr + if zero_q { 0.0 } else { u[row] * k };
                    }
                    want /= (dh as f64).sqrt();
                    let g = got[(hh * t + i) * t + j];
                    assert!((g - want).abs() < 1e-12, "ids {ids:?} head {hh} [{i}][{j}]: {g} vs {want}");
                }
            }
            if zero_q {
                let (ahead, behind) = (got[(hh * t) * t + 2], got[(hh * t + 2) * t]); // i − j = −2, +2
                assert!((ahead - behind).abs() > 1e-6, "head {hh}: +2 and −2 must differ ({ahead} vs {behind})");
            }
        }
    }
    Ok(())
}

/// Randomized positions (Ruoss et al. 2023): sorted, distinct, in [0, max_len); a new draw
/// each time; the same sequence again after reseeding; an error when T > max_len.
#[test]
fn randomized_draws_are_sorted_distinct_in_range_and_seeded() {
    let r = Randomizer::new(50, true, 7);
    let draws: Vec<Vec<u32>> = (0..20).map(|_| r.draw(12).unwrap()).collect();
    for d in &draws {
        assert_eq!(d.len(), 12);
        assert!(d.windows(2).all(|w| w[0] < w[1]), "sorted and distinct: {d:?}");
        assert!(d.iter().all(|&p| p < 50), "in range: {d:?}");
    }
    assert!(draws.windows(2).all(|w| w[0] != w[1]), "a new draw every time");
    r.reseed(7);
    assert_eq!((0..20).map(|_| r.draw(12).unwrap()).collect::<Vec<_>>(), draws, "fixed by the seed");
    r.reseed(8);
    assert_ne!(r.draw(12).unwrap(), draws[0], "another seed, another draw");
    assert_eq!(r.draw(50).unwrap(), (0..50).collect::<Vec<u32>>(), "T = max_len takes every position");
    let err = r.draw(51).unwrap_err().to_string();
    assert!(err.contains("max_len"), "{err}");
    let all: std::collections::BTreeSet<u32> = (0..200).flat_map(|_| r.draw(3).unwrap()).collect();
    assert!(all.len() > 45, "draws cover the range ({} of 50 positions seen)", all.len());
}

/// Through a model: one draw per forward pass shared by the batch (two identical rows get
/// identical logits), a new draw at the next pass, the same passes again after
/// `seed_positions`; the evaluation copy draws from its own seeded stream (`eval = true`) or
/// reads 0..T (`eval = false`).
#[test]
fn randomized_models_draw_per_pass_shared_by_the_batch() -> Result<()> {
    let x = tokens(&[&[1, 4, 2, 0, 3], &[1, 4, 2, 0, 3]]);
    let bases = [
        Position::Sinusoidal,
        Position::Learned { max_len: 64 },
        Position::Rope { base: 1e4 },
        Position::Alibi,
        Position::Relative,
    ];
    for base in bases {
        let pos = Position::Randomized { base: Box::new(base.clone()), max_len: 64, eval: true, per_layer: false };
        let (net, _) = build(cfg(ModelKind::Encoder, pos, 8, 2));
        net.seed_positions(4);
        let (a, b) = (vals(&net.forward(&x, None, None)?), vals(&net.forward(&x, None, None)?));
        let half = a.len() / 2;
        assert_eq!(a[..half], a[half..], "{base:?}: one draw for the whole batch");
        assert_ne!(a, b, "{base:?}: a new draw at the next pass");
        net.seed_positions(4);
        assert_eq!(vals(&net.forward(&x, None, None)?), a, "{base:?}: fixed by the seed");
        let (e1, e2) = (net.evaluation(9), net.evaluation(9));
        assert_eq!(vals(&e1.forward(&x, None, None)?), vals(&e2.forward(&x, None, None)?), "seeded evaluation");
        net.seed_positions(4);
        assert_eq!(vals(&net.forward(&x, None, None)?), a, "evaluating left the training stream alone");
        let pos = Position::Randomized { base: Box::new(base.clone()), max_len: 64, eval: false, per_layer: false };
        let (net, _) = build(cfg(ModelKind::Encoder, pos, 8, 2));
        let ids: Vec<u32> = [0, 1, 2, 3, 4].repeat(2);
        let plain = vals(&net.evaluation(9).forward_at(&x, None, Some(&ids), None)?);
        assert_eq!(vals(&net.evaluation(9).forward(&x, None, None)?), plain, "eval = false reads 0..T");
    }
    Ok(())
}

/// `sinusoidal(reversed = true)`: ids N, N−1, …, 1 per sequence of N real tokens (0 on
/// padding), read from the sinusoidal table.
#[test]
fn reversed_sinusoidal_ids_count_down_to_one() -> Result<()> {
    let (net, _) = build(cfg(ModelKind::Encoder, Position::SinusoidalReversed, 8, 2));
    let t = transformer(&net);
    let mask = [1f32, 1., 1., 1., 1., 1., 1., 1., 0., 0.];
    let ids = t.positions.ids(None, Some(&mask), 2, 5)?;
    assert_eq!(ids.ids, [5, 4, 3, 2, 1, 3, 2, 1, 0, 0]);
    let (table, rows) = t.positions.table(&ids, DType::F64)?.expect("a sinusoidal table");
    let got: Vec<f64> = rows.iter().flat_map(|&r| vals(&table.get(r as usize).unwrap())).collect();
    assert_close(&got, &sinusoidal_at(&ids.ids, 8), 1e-15, 0.0, "rows");
    Ok(())
}

/// Coupled positions read the task's ids from a learned table: equal ids, equal rows; ids
/// beyond the table are a clear error, not a panic.
#[test]
fn coupled_ids_index_the_table_and_overflow_is_an_error() -> Result<()> {
    let pos = Position::Coupled { max_position: 6, random_start: true };
    let (net, _) = build(cfg(ModelKind::Encoder, pos, 8, 2));
    let x = tokens(&[&[1, 1, 2]]);
    let same = vals(&net.forward_at(&x, None, Some(&[4, 4, 5]), None)?);
    assert_close(&same[..4], &same[4..8], 1e-12, 0.0, "same token, same id: same output");
    let other = vals(&net.forward_at(&x, None, Some(&[1, 4, 5]), None)?);
    assert!(same[..4].iter().zip(&other[..4]).any(|(a, b)| (a - b).abs() > 1e-6), "the id matters");
    let err = net.forward_at(&x, None, Some(&[1, 6, 2]), None).unwrap_err().to_string();
    assert!(err.contains("max_position = 6") && err.contains("coupled"), "{err}");
    Ok(())
}
