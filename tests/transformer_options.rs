//! The transformer options that express reference models (issue 18): `activation = gelu`,
//! `norm = lee`, `final_norm`, `head_bias`, `attn_bias_init`. Oracles: hand-computed GELU
//! values (Φ from erf tables), central finite differences (f64) through the op and through
//! whole transformers, the decomposed reference kernels, and the block equations of Lee et
//! al. 2024 (github ironjr/grokfast, `main.py`) composed by hand from the model's own layers.

mod common;

use algen::ir::model::{Arch, AttnBiasInit, AttnWeightInit, FfnActivation, ModelKind, Norm, Position, TransformerCfg};
use algen::model::ops;
use algen::model::{self, Kernels, ModelIo, Net};
use candle_core::{DType, Device, Result, Tensor, Var};
use common::*;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

const IO: ModelIo = ModelIo { vocab_in: 5, vocab_out: 4 };

/// GELU(x) = x·Φ(x): Φ(1) = 0.8413447460685429, Φ(2) = 0.9772498680518208 (standard normal
/// table), so GELU(1) = 0.8413447460685429, GELU(−1) = −(1 − Φ(1)), GELU(2) = 2·Φ(2).
#[test]
fn gelu_values_by_hand() -> Result<()> {
    let x = Tensor::new(&[1.0f64, -1.0, 2.0, 0.0], &Device::Cpu)?;
    let want = [0.8413447460685429, -0.15865525393145707, 1.9544997361036416, 0.0];
    assert_close(&vals(&ops::gelu(&x)?), &want, 1e-15, 1e-16, "gelu f64");
    assert_close(&vals(&ops::gelu_ref(&x)?), &want, 1e-14, 1e-16, "gelu_ref f64");
    let y32 = vals(&ops::gelu(&x.to_dtype(DType::F32)?)?);
    assert_close(&y32, &want, 1e-7, 1e-8, "gelu f32");
    // gelu'(x) = Φ(x) + x·φ(x); φ(1) = 0.24197072451914337.
    assert!((ops::gelu_grad_f64(1.0) - (0.8413447460685429 + 0.24197072451914337)).abs() < 1e-15);
    assert!((ops::gelu_grad_f64(0.0) - 0.5).abs() < 1e-16);
    Ok(())
}

#[test]
fn gelu_grad_check_and_reference() {
    let mut rng = ChaCha8Rng::seed_from_u64(8);
    let x = rand_var(&mut rng, &[3, 7]);
    // Spread the inputs over [−3, 3], where GELU bends.
    x.set(&(x.as_tensor() * 3.0).unwrap()).unwrap();
    let fused = || project(&ops::gelu(x.as_tensor())?, 1);
    let reference = || project(&ops::gelu_ref(x.as_tensor())?, 1);
    grad_check(&[("x", &x)], &fused, 21);
    same_grads(&[&x], &fused, &reference, "gelu");
}

fn with(c: TransformerCfg, f: impl Fn(&mut TransformerCfg)) -> TransformerCfg {
    let mut c = c;
    f(&mut c);
    c
}

/// Every new option, alone and combined as in Lee et al.'s model, in encoders and decoders.
fn option_configs() -> Vec<TransformerCfg> {
    let mut v = vec![];
    for kind in [ModelKind::Encoder, ModelKind::Decoder] {
        let base = cfg(kind, Norm::Pre, Position::Learned { max_len: 8 });
        v.push(with(base.clone(), |c| c.norm = Norm::Lee));
        v.push(with(base.clone(), |c| c.activation = FfnActivation::Gelu));
        v.push(with(base.clone(), |c| c.head_bias = false));
        v.push(with(base.clone(), |c| c.attn_bias_init = AttnBiasInit::Zero));
        v.push(with(base.clone(), |c| c.attn_bias_init = AttnBiasInit::None));
        v.push(with(base.clone(), |c| c.attn_weight_init = AttnWeightInit::Xavier));
        v.push(with(base.clone(), |c| c.final_norm = Some(false)));
        v.push(with(base.clone(), |c| {
            c.norm = Norm::Post;
            c.final_norm = Some(true);
        }));
        v.push(with(base.clone(), |c| {
            c.norm = Norm::Lee;
            c.position = Position::Rope { base: 10000.0 };
            c.activation = FfnActivation::Gelu;
            c.head_bias = false;
            c.attn_bias_init = AttnBiasInit::Zero;
        }));
    }
    v
}

fn loss_of(net: &Net) -> Result<Tensor> {
    let x = tokens(&[&[1, 4, 2, 0, 3], &[2, 2, 3, 1, 0]]);
    let pad = f32_mat(&[&[1., 1., 1., 1., 1.], &[1., 1., 1., 0., 0.]]);
    let y = tokens(&[&[0, 3, 1, 2, 1], &[3, 0, 2, 1, 1]]);
    let logits = net.forward(&x, Some(&pad), None)?;
    model::cross_entropy_masked(&logits, &y, &pad)
}

#[test]
fn every_option_gradients_match_finite_differences() {
    for c in option_configs() {
        let (net, params) = model::build_with(&Arch::Transformer(c.clone()), IO, 17, DType::F64).unwrap();
        let named: Vec<(&str, &Var)> = params.named().iter().map(|(n, v)| (n.as_str(), v)).collect();
        grad_check(&named, &|| loss_of(&net), 4);
    }
}

#[test]
fn every_option_fused_matches_reference() {
    for c in option_configs() {
        let (net, params) = model::build_with(&Arch::Transformer(c.clone()), IO, 23, DType::F64).unwrap();
        let reference = net.clone().with_kernels(Kernels::Reference);
        let vars: Vec<&Var> = params.named().iter().map(|(_, v)| v).collect();
        same_grads(&vars, &|| loss_of(&net), &|| loss_of(&reference), &format!("{c:?}"));
    }
}

#[test]
fn param_count_and_list_follow_the_options() {
    for c in option_configs() {
        let arch = Arch::Transformer(c.clone());
        let (_, p) = model::build(&arch, IO, 0).unwrap();
        assert_eq!(model::param_count(&arch, IO), p.count(), "{c:?}");
        let names: Vec<String> = p.list().into_iter().map(|(n, _)| n).collect();
        assert_eq!(names.iter().any(|n| n == "head.bias"), c.head_bias, "{c:?}");
        assert_eq!(names.iter().any(|n| n == "final_ln.weight"), c.has_final_norm(), "{c:?}");
        for (n, v) in p.named() {
            let zero = vals(v.as_tensor()).iter().all(|&x| x == 0.0);
            if n.contains(".attn.") && n.ends_with(".bias") {
                assert_eq!(zero, c.attn_bias_init == AttnBiasInit::Zero, "{n} in {c:?}");
            }
        }
        let attn_biases = names.iter().filter(|n| n.contains(".attn.") && n.ends_with(".bias")).count();
        assert_eq!(attn_biases == 0, c.attn_bias_init == AttnBiasInit::None, "{c:?}");
    }
    // Placement defaults: a final norm after pre-norm and Lee blocks, none after post-norm.
    let c = cfg(ModelKind::Encoder, Norm::Post, Position::None);
    assert!(!c.has_final_norm());
    assert!(with(c.clone(), |c| c.norm = Norm::Lee).has_final_norm());
    assert!(with(c, |c| c.norm = Norm::Pre).has_final_norm());
}

/// One Lee block by hand from the model's own layers: `x = LN1(x); x = x + Attn(x);
/// x = x + FFN(LN2(x))`, then the final LN and the bias-free head (`main.py`, `Block.forward`
/// and `Decoder.forward`).
#[test]
fn lee_block_is_composed_as_in_the_reference() -> Result<()> {
    let c = with(cfg(ModelKind::Decoder, Norm::Lee, Position::None), |c| {
        c.layers = 1;
        c.embed_scale = false;
        c.activation = FfnActivation::Gelu;
        c.head_bias = false;
    });
    let (net, _) = model::build_with(&Arch::Transformer(c), IO, 3, DType::F64)?;
    let Net::Transformer(t) = &net else { panic!("a transformer") };
    let x_ids = tokens(&[&[1, 4, 2, 0], &[2, 2, 3, 1]]);
    let got = net.forward(&x_ids, None, None)?;
    let k = Kernels::Reference;
    let ids = x_ids.flatten_all()?;
    let x = t.tok_embed.index_select(&ids, 0)?.reshape((2, 4, 8))?;
    let blk = &t.blocks[0];
    let ctx = algen::model::layers::AttnCtx { causal: true, kernels: k, ..Default::default() };
    let x = blk.ln1.forward(&x, k)?;
    let x = (&x + blk.attn.forward(&x, &ctx)?)?;
    let x = (&x + blk.ffn.forward(&blk.ln2.forward(&x, k)?, k)?)?;
    let x = t.final_ln.as_ref().expect("Lee blocks end with a final LN").forward(&x, k)?;
    let want = x.broadcast_matmul(&t.head.linear()?.weight.t()?)?;
    assert_close(&vals(&got), &vals(&want), 1e-12, 1e-12, "lee block");
    assert!(vals(&t.head.linear()?.bias).iter().all(|&b| b == 0.0), "no head bias");
    Ok(())
}

/// `attn_weight_init = xavier` is `nn.MultiheadAttention`'s init: the packed input projection
/// `(3d, d)` is U(±√(6/(d + 3d))) (d = 16: ±0.306), wider than `nn.Linear`'s ±1/√d = ±0.25;
/// `attn.out` stays ±1/√d. The draws fill the range: the extremes lie within 2% of the bound.
#[test]
fn xavier_attention_weights_follow_the_bound() {
    let c = with(cfg(ModelKind::Decoder, Norm::Lee, Position::None), |c| {
        c.d_model = 16;
        c.heads = 2;
        c.attn_weight_init = AttnWeightInit::Xavier;
        c.attn_bias_init = AttnBiasInit::Zero;
    });
    let (_, p) = model::build(&Arch::Transformer(c), IO, 5).unwrap();
    let max_abs = |name: &str| vals(p.get(name).unwrap().as_tensor()).iter().fold(0f64, |m, x| m.max(x.abs()));
    let (xavier, linear) = ((6.0f64 / 64.0).sqrt(), 0.25);
    for l in 0..2 {
        let qkv = max_abs(&format!("layers.{l}.attn.qkv.weight"));
        assert!(qkv <= xavier && qkv > 0.98 * xavier, "qkv max {qkv} vs {xavier}");
        let out = max_abs(&format!("layers.{l}.attn.out.weight"));
        assert!(out <= linear && out > 0.98 * linear, "out max {out} vs {linear}");
    }
    // The default init draws exactly what it drew before the option existed.
    let base = cfg(ModelKind::Decoder, Norm::Pre, Position::None);
    let (_, a) = model::build(&Arch::Transformer(base.clone()), IO, 9).unwrap();
    let (_, b) =
        model::build(&Arch::Transformer(with(base, |c| c.attn_bias_init = AttnBiasInit::Uniform)), IO, 9).unwrap();
    for ((n, x), (_, y)) in a.named().iter().zip(b.named()) {
        assert_eq!(vals(x.as_tensor()), vals(y.as_tensor()), "{n}");
    }
}
