//! `randomized(.., per_layer = true)`: every attention layer draws its own sorted position
//! subset, as the reference code of Ruoss et al. 2023 (`models/transformer.py`, a fresh
//! `hk.next_rng_key()` inside each attention call) does for RoPE, ALiBi and relative
//! attention. Oracles: central finite differences (f64), the reference kernels, and the draw
//! semantics (one layer: the same as one draw per pass; more layers: different; explicit ids:
//! no draw at all).

mod common;

use algen::ir::model::{Arch, ModelKind, Norm, Position, TransformerCfg};
use algen::model::{self, Kernels, ModelIo, Net};
use candle_core::{DType, Result, Tensor, Var};
use common::*;

const IO: ModelIo = ModelIo { vocab_in: 5, vocab_out: 4 };

fn per_layer_cfg(base: Position, per_layer: bool, layers: usize) -> TransformerCfg {
    let position = Position::Randomized { base: Box::new(base), max_len: 16, eval: true, per_layer };
    TransformerCfg { layers, ..cfg(ModelKind::Encoder, Norm::Pre, position) }
}

fn bases() -> [Position; 3] {
    [Position::Rope { base: 10000.0 }, Position::Alibi, Position::Relative]
}

fn logits(net: &Net, explicit: Option<&[u32]>) -> Result<Tensor> {
    let x = tokens(&[&[1, 4, 2, 0, 3], &[2, 2, 3, 1, 0]]);
    let pad = f32_mat(&[&[1., 1., 1., 1., 1.], &[1., 1., 1., 0., 0.]]);
    net.seed_positions(5);
    match (net, explicit) {
        (Net::Transformer(t), Some(ids)) => t.forward_at(&x, Some(&pad), Some(ids), None),
        _ => net.forward(&x, Some(&pad), None),
    }
}

fn loss_of(net: &Net) -> Result<Tensor> {
    let pad = f32_mat(&[&[1., 1., 1., 1., 1.], &[1., 1., 1., 0., 0.]]);
    let y = tokens(&[&[0, 3, 1, 2, 1], &[3, 0, 2, 1, 1]]);
    model::cross_entropy_masked(&logits(net, None)?, &y, &pad)
}

#[test]
fn per_layer_gradients_match_finite_differences_and_reference() {
    for base in bases() {
        let c = per_layer_cfg(base, true, 2);
        let (net, params) = model::build_with(&Arch::Transformer(c.clone()), IO, 17, DType::F64).unwrap();
        let named: Vec<(&str, &Var)> = params.named().iter().map(|(n, v)| (n.as_str(), v)).collect();
        grad_check(&named, &|| loss_of(&net), 4);
        let reference = net.clone().with_kernels(Kernels::Reference);
        let vars: Vec<&Var> = params.named().iter().map(|(_, v)| v).collect();
        same_grads(&vars, &|| loss_of(&net), &|| loss_of(&reference), &format!("{:?}", c.position));
    }
}

#[test]
fn layers_after_the_first_draw_anew() -> Result<()> {
    for base in bases() {
        let build = |per_layer: bool, layers: usize| {
            model::build_with(&Arch::Transformer(per_layer_cfg(base.clone(), per_layer, layers)), IO, 3, DType::F64)
                .map(|(n, _)| n)
        };
        let one = vals(&logits(&build(false, 1)?, None)?);
        assert_eq!(one, vals(&logits(&build(true, 1)?, None)?), "{base:?}: one layer, one draw");
        let (shared, fresh) = (build(false, 2)?, build(true, 2)?);
        let (a, b) = (vals(&logits(&shared, None)?), vals(&logits(&fresh, None)?));
        assert!(a.iter().zip(&b).any(|(x, y)| (x - y).abs() > 1e-9), "{base:?}: layer 2 draws anew");
        let ids: Vec<u32> = [0u32, 2, 5, 7, 9].repeat(2);
        let (a, b) = (vals(&logits(&shared, Some(&ids))?), vals(&logits(&fresh, Some(&ids))?));
        assert_eq!(a, b, "{base:?}: explicit ids are never redrawn");
    }
    Ok(())
}
