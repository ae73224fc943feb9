//! Gradients of every positional encoding: central finite differences (f64) through whole
//! transformers and through the new ops (RoPE, ALiBi at explicit ids), and fused kernels
//! against their decomposed references; parameter lists and counts of the new parameters.

mod common;

use algen::ir::model::{Arch, ModelKind, Norm, Position, TransformerCfg};
use algen::model::ops::{self, Alibi, AttnSpec, Rotary};
use algen::model::{self, Kernels, ModelIo, Net};
use candle_core::{DType, Result, Tensor, Var};
use common::*;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use std::sync::Arc;

const IO: ModelIo = ModelIo { vocab_in: 5, vocab_out: 4 };

fn randomized(base: Position) -> Position {
    Position::Randomized { base: Box::new(base), max_len: 16, eval: true, per_layer: false }
}

/// Every new encoding, in encoders and decoders, pre- and post-norm.
fn all_configs() -> Vec<TransformerCfg> {
    let schemes = [
        Position::SinusoidalReversed,
        Position::Rope { base: 10000.0 },
        Position::Rope { base: 50.0 },
        Position::Alibi,
        Position::Relative,
        Position::T5 { buckets: 8, max_distance: 16 },
        Position::HardAlibi { masked: 1 },
        Position::Coupled { max_position: 8, random_start: true },
        randomized(Position::Sinusoidal),
        randomized(Position::Learned { max_len: 16 }),
        randomized(Position::Rope { base: 10000.0 }),
        randomized(Position::Alibi),
        randomized(Position::Relative),
    ];
    let mut v = vec![];
    for kind in [ModelKind::Encoder, ModelKind::Decoder] {
        for (i, pos) in schemes.iter().enumerate() {
            let norm = if i % 2 == 0 { Norm::Pre } else { Norm::Post };
            v.push(cfg(kind, norm, pos.clone()));
        }
    }
    v
}

/// The loss of a fixed padded batch; randomized models redraw from seed 5 at every call, so
/// finite differences see the same positions.
fn loss_of(net: &Net) -> Result<Tensor> {
    let x = tokens(&[&[1, 4, 2, 0, 3], &[2, 2, 3, 1, 0]]);
    let pad = f32_mat(&[&[1., 1., 1., 1., 1.], &[1., 1., 1., 0., 0.]]);
    let y = tokens(&[&[0, 3, 1, 2, 1], &[3, 0, 2, 1, 1]]);
    net.seed_positions(5);
    let logits = net.forward(&x, Some(&pad), None)?;
    model::cross_entropy_masked(&logits, &y, &pad)
}

#[test]
fn every_encoding_gradients_match_finite_differences() {
    for c in all_configs() {
        let (net, params) = model::build_with(&Arch::Transformer(c.clone()), IO, 17, DType::F64).unwrap();
        // Perturb u, v away from their small init so their terms are generic.
        let mut rng = ChaCha8Rng::seed_from_u64(2);
        for (n, v) in params.named() {
            if n.ends_with(".rel.u") || n.ends_with(".rel.v") {
                v.set(&rand_t(&mut rng, v.dims(), DType::F64)).unwrap();
            }
        }
        let named: Vec<(&str, &Var)> = params.named().iter().map(|(n, v)| (n.as_str(), v)).collect();
        grad_check(&named, &|| loss_of(&net), 4);
    }
}

#[test]
fn every_encoding_fused_matches_reference() {
    for c in all_configs() {
        let (net, params) = model::build_with(&Arch::Transformer(c.clone()), IO, 23, DType::F64).unwrap();
        let reference = net.clone().with_kernels(Kernels::Reference);
        let vars: Vec<&Var> = params.named().iter().map(|(_, v)| v).collect();
        same_grads(&vars, &|| loss_of(&net), &|| loss_of(&reference), &format!("{:?} {:?}", c.kind, c.position));
    }
}

/// The RoPE op (ids shared by the batch and per row) against finite differences and its
/// reference.
#[test]
fn rope_grad_and_reference() {
    let mut rng = ChaCha8Rng::seed_from_u64(4);
    for (b, t, h, dh, ids) in
        [(2, 3, 2, 4, vec![0u32, 1, 2]), (2, 3, 1, 6, vec![5, 9, 11, 0, 1, 40]), (1, 4, 3, 2, vec![7, 8, 100, 2000])]
    {
        let qkv = rand_var(&mut rng, &[b, t, 3 * h * dh]);
        let rot = Rotary::new(&ids, h, dh, 10000.0);
        let fused = || project(&ops::rope(qkv.as_tensor(), &rot)?, 3);
        let reference = || project(&ops::rope_ref(qkv.as_tensor(), &rot)?, 3);
        grad_check(&[("qkv", &qkv)], &fused, 30);
        same_grads(&[&qkv], &fused, &reference, &format!("rope b{b} t{t} h{h} dh{dh}"));
    }
}

/// ALiBi at explicit position ids (one vector for the batch, or one per row), both variants,
/// causal and not: the kernel against finite differences and the reference.
#[test]
fn attention_alibi_at_explicit_ids_grad_and_reference() {
    let mut rng = ChaCha8Rng::seed_from_u64(6);
    let (b, t, d, h) = (2, 5, 4, 2);
    for ids in [vec![0u32, 3, 4, 9, 12], vec![2, 3, 5, 8, 13, 0, 1, 2, 3, 4], vec![4, 4, 1, 0, 7]] {
        for (before, causal) in [(0.5, false), (0.0, true), (0.5, true)] {
            let alibi =
                Alibi { positions: Some(Arc::new(ids.clone())), ..Alibi::new(Alibi::standard_slopes(h), before) };
            let spec = AttnSpec { heads: h, causal, alibi: Some(alibi), ..AttnSpec::default() };
            let qkv = rand_var(&mut rng, &[b, t, 3 * d]);
            let fused = || project(&ops::attention(qkv.as_tensor(), &spec, None)?, 5);
            let reference = || project(&ops::attention_ref(qkv.as_tensor(), &spec, None)?, 5);
            grad_check(&[("qkv", &qkv)], &fused, 12);
            same_grads(&[&qkv], &fused, &reference, &format!("alibi ids {ids:?} before {before} causal {causal}"));
        }
    }
    let bad = Alibi { positions: Some(Arc::new(vec![0, 1])), ..Alibi::new(Alibi::standard_slopes(h), 0.0) };
    let spec = AttnSpec { heads: h, alibi: Some(bad), ..AttnSpec::default() };
    assert!(ops::attention(&rand_t(&mut rng, &[b, t, 3 * d], DType::F64), &spec, None).is_err(), "wrong id count");
}

#[test]
fn param_count_matches_built_models() {
    for c in all_configs() {
        let arch = Arch::Transformer(c);
        let (_, p) = model::build(&arch, IO, 0).unwrap();
        assert_eq!(model::param_count(&arch, IO), p.count(), "{arch:?}");
    }
}

/// Names, shapes and order of the new parameters; counts by hand.
#[test]
fn new_parameters_are_listed_in_order() {
    let names = |pos: Position| -> (Vec<(String, Vec<usize>)>, usize) {
        let mut c = cfg(ModelKind::Encoder, Norm::Post, pos);
        c.layers = 1;
        let (_, p) = model::build(&Arch::Transformer(c), IO, 0).unwrap();
        let base =
            model::build(&Arch::Transformer(cfg(ModelKind::Encoder, Norm::Post, Position::None)), IO, 0).unwrap().1;
        let base: Vec<String> = base.list().into_iter().map(|(n, _)| n).collect();
        (p.list().into_iter().filter(|(n, _)| !base.contains(n)).collect(), p.count())
    };
    let list = |v: &[(&str, &[usize])]| -> Vec<(String, Vec<usize>)> {
        v.iter().map(|(n, s)| (n.to_string(), s.to_vec())).collect()
    };
    // One layer, d = 8, ffn = 12, V = 5 → 4: 40 + (256 + 192 + 40 + 32 + 12) + 36 = 608 without positions.
    let (rel, n) = names(Position::Relative);
    let want = [
        ("layers.0.attn.rel.weight", &[8usize, 8][..]),
        ("layers.0.attn.rel.u", &[2, 4]),
        ("layers.0.attn.rel.v", &[2, 4]),
    ];
    assert_eq!(rel, list(&want));
    assert_eq!(n, 608 + 64 + 8 + 8);
    let (t5, n) = names(Position::T5 { buckets: 8, max_distance: 16 });
    assert_eq!(t5, list(&[("rel_bias.weight", &[8, 2])]));
    assert_eq!(n, 608 + 16);
    let (coupled, n) = names(Position::Coupled { max_position: 6, random_start: false });
    assert_eq!(coupled, list(&[("pos_embed.weight", &[6, 8])]));
    assert_eq!(n, 608 + 48);
    let (r, n) = names(randomized(Position::Learned { max_len: 16 }));
    assert_eq!(r, list(&[("pos_embed.weight", &[16, 8])]));
    assert_eq!(n, 608 + 128);
    for pos in
        [Position::Rope { base: 1e4 }, Position::Alibi, Position::HardAlibi { masked: 2 }, Position::SinusoidalReversed]
    {
        assert_eq!(names(pos.clone()), (vec![], 608), "{pos:?} has no parameters");
    }
}

/// Build-time errors for configurations the checker rejects too.
#[test]
fn unfit_encodings_fail_to_build() {
    let mut c = cfg(ModelKind::Encoder, Norm::Pre, Position::Rope { base: 1e4 });
    (c.d_model, c.heads) = (6, 2); // head width 3
    assert!(model::build(&Arch::Transformer(c), IO, 0).is_err(), "odd head width");
    let c = cfg(ModelKind::Encoder, Norm::Pre, Position::HardAlibi { masked: 3 });
    assert!(model::build(&Arch::Transformer(c), IO, 0).is_err(), "masked > heads");
    let c = cfg(ModelKind::Encoder, Norm::Pre, Position::T5 { buckets: 2, max_distance: 16 });
    assert!(model::build(&Arch::Transformer(c), IO, 0).is_err(), "2 buckets in an encoder");
    let c = cfg(ModelKind::Encoder, Norm::Pre, randomized(Position::Rope { base: 1e4 }));
    let (net, _) = model::build(&Arch::Transformer(c), IO, 0).unwrap();
    let long = tokens(&[&[1; 17]]);
    let err = net.forward(&long, None, None).unwrap_err().to_string();
    assert!(err.contains("max_len"), "{err}");
}

/// Evaluation (no gradients) through relative attention runs long batches in chunks of
/// sequences; the logits equal the unchunked pass, with padding and per-row position ids.
#[test]
fn chunked_relative_evaluation_matches_the_full_pass() -> Result<()> {
    let (b, t) = (64, 400); // B·H·T·T = 20.5M scores > the 16.8M chunk budget
    let c = cfg(ModelKind::Encoder, Norm::Pre, Position::Relative);
    let (net, _) = model::build(&Arch::Transformer(c), IO, 3)?;
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let x: Vec<u32> = (0..b * t).map(|_| rand::Rng::gen_range(&mut rng, 0..5)).collect();
    let x = Tensor::from_vec(x, (b, t), &candle_core::Device::Cpu)?;
    let pad: Vec<f32> = (0..b * t).map(|i| if i % t < t - (i / t) % 7 { 1.0 } else { 0.0 }).collect();
    let pad = Tensor::from_vec(pad, (b, t), &candle_core::Device::Cpu)?;
    let ids: Vec<u32> = (0..b * t).map(|i| ((i % t) * (1 + (i / t) % 3)) as u32).collect();
    let full = net.forward_at(&x, Some(&pad), Some(&ids), None)?; // tracked: one piece
    assert!(full.track_op());
    let chunked = net.detached().forward_at(&x, Some(&pad), Some(&ids), None)?;
    assert_close(&vals(&full), &vals(&chunked), 1e-5, 1e-5, "chunked logits");
    Ok(())
}
