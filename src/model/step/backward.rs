//! The backward half of the graph-free step: the loss gradient, then each block in reverse
//! with the kernels the graph ops use in their `bwd`, into one gradient buffer per weight.

use super::forward::{spec, BlockW, Fwd, Lin, Ln, Saved, Weights};
use crate::ir::model::{FfnActivation, Norm};
use crate::model::layers::AttnCtx;
use crate::model::ops::host::{attn_bwd, ce_grad, linear_bwd, ln_bwd, relu_mask, zeros, AttnDims};
use crate::model::ops::{gelu_grad_f64, AttnSpec, Fl, LN_EPS};
use crate::model::transformer::Transformer;
use candle_core::{Result, Tensor, Var};
use rayon::prelude::*;

/// A linear layer's gradients.
pub(super) struct LinG<T> {
    pub w: Vec<T>,
    pub b: Vec<T>,
}

/// A LayerNorm's gradients.
pub(super) struct LnG<T> {
    pub g: Vec<T>,
    pub b: Vec<T>,
}

pub(super) struct BlockG<T> {
    ln1: LnG<T>,
    qkv: LinG<T>,
    out: LinG<T>,
    ln2: LnG<T>,
    up: LinG<T>,
    down: LinG<T>,
}

/// One gradient buffer per weight of [`Weights`].
pub(super) struct Grads<T> {
    tok: Vec<T>,
    pos: Option<Vec<T>>,
    blocks: Vec<BlockG<T>>,
    final_ln: Option<LnG<T>>,
    head: LinG<T>,
}

fn lin_g<T: Fl>(l: &Lin<T>) -> LinG<T> {
    LinG { w: vec![T::zero(); l.w.len()], b: vec![T::zero(); l.b.len()] }
}

fn ln_g<T: Fl>(l: &Ln<T>) -> LnG<T> {
    LnG { g: vec![T::zero(); l.g.len()], b: vec![T::zero(); l.b.len()] }
}

impl<T: Fl> Grads<T> {
    pub fn zeros(w: &Weights<T>) -> Self {
        let blocks = w
            .blocks
            .iter()
            .map(|b| BlockG {
                ln1: ln_g(&b.ln1),
                qkv: lin_g(&b.qkv),
                out: lin_g(&b.out),
                ln2: ln_g(&b.ln2),
                up: lin_g(&b.up),
                down: lin_g(&b.down),
            })
            .collect();
        Grads {
            tok: vec![T::zero(); w.tok.0.len()],
            pos: w.pos.as_ref().map(|(p, _, _)| vec![T::zero(); p.len()]),
            blocks,
            final_ln: w.final_ln.as_ref().map(ln_g),
            head: lin_g(&w.head),
        }
    }

    /// The gradients in the order of `vars` (f64 on the host, as the optimizer takes them);
    /// a weight that is not a `Var` (a zero bias, a sinusoidal table) is dropped.
    pub fn into_slots(self, _m: &Transformer, w: &Weights<T>, vars: &[Var]) -> Vec<Option<Vec<f64>>> {
        let mut slots: Vec<Option<Vec<f64>>> = vec![None; vars.len()];
        let mut put = |t: &Tensor, g: Vec<T>| {
            if let Some(i) = vars.iter().position(|v| v.as_tensor().id() == t.id()) {
                slots[i] = Some(g.into_iter().map(|x| x.to_f64()).collect());
            }
        };
        put(&w.tok.1, self.tok);
        if let (Some((_, _, t)), Some(g)) = (&w.pos, self.pos) {
            put(t, g);
        }
        let lin = |put: &mut dyn FnMut(&Tensor, Vec<T>), l: &Lin<T>, g: LinG<T>| {
            put(&l.src.0, g.w);
            put(&l.src.1, g.b);
        };
        let ln = |put: &mut dyn FnMut(&Tensor, Vec<T>), l: &Ln<T>, g: LnG<T>| {
            put(&l.src.0, g.g);
            put(&l.src.1, g.b);
        };
        for (bw, bg) in w.blocks.iter().zip(self.blocks) {
            ln(&mut put, &bw.ln1, bg.ln1);
            lin(&mut put, &bw.qkv, bg.qkv);
            lin(&mut put, &bw.out, bg.out);
            ln(&mut put, &bw.ln2, bg.ln2);
            lin(&mut put, &bw.up, bg.up);
            lin(&mut put, &bw.down, bg.down);
        }
        if let (Some(l), Some(g)) = (&w.final_ln, self.final_ln) {
            ln(&mut put, l, g);
        }
        lin(&mut put, &w.head, self.head);
        slots
    }
}

/// `dx` of a linear layer (and its weight gradients) for an output gradient `g`.
fn lin_back<T: Fl>(l: &Lin<T>, x: &[T], g: &[T], lg: &mut LinG<T>) -> Result<Vec<T>> {
    let n = g.len() / l.out.max(1);
    let mut dx = zeros(n * l.inp);
    linear_bwd(x, &l.w, g, (n, l.inp, l.out), Some(&mut dx), &mut lg.w, Some(&mut lg.b))?;
    Ok(dx)
}

/// `dx` of a LayerNorm (input `x`) for an output gradient `g`, adding into its gradients.
fn ln_back<T: Fl>(l: &Ln<T>, x: &[T], g: &[T], lg: &mut LnG<T>) -> Vec<T> {
    let mut dx = zeros(x.len());
    ln_bwd(x, &l.g, g, &mut dx, &mut lg.g, &mut lg.b, LN_EPS);
    dx
}

fn add_into<T: Fl>(acc: &mut [T], g: &[T]) {
    acc.par_chunks_mut(1 << 13).zip(g.par_chunks(1 << 13)).for_each(|(acc, g)| {
        for (a, &v) in acc.iter_mut().zip(g) {
            *a += v;
        }
    });
}

/// The whole backward pass: loss → head → final LN → blocks in reverse → embeddings.
pub(super) fn run<T: Fl>(
    m: &Transformer,
    w: &Weights<T>,
    ctx: &AttnCtx,
    fw: &Fwd<T>,
    (targets, mask): (&[u32], &[f32]),
    ids: &[u32],
    g: &mut Grads<T>,
) -> Result<()> {
    let mut dlogits = zeros(fw.logits.len());
    ce_grad(&fw.logits, m.vocab_out, targets, mask, 1.0, &mut dlogits);
    let dhead_in = lin_back(&w.head, &fw.head_in, &dlogits, &mut g.head)?;
    let mut dx = match (&w.final_ln, g.final_ln.as_mut()) {
        (Some(l), Some(lg)) => ln_back(l, &fw.top, &dhead_in, lg),
        _ => dhead_in,
    };
    let spec = spec(m.cfg.heads, ctx);
    for ((bw, s), bg) in w.blocks.iter().zip(&fw.blocks).zip(g.blocks.iter_mut()).rev() {
        dx = block(m, bw, &spec, fw.z, s, dx, bg)?;
    }
    embed_back(m, w, ids, &dx, g);
    Ok(())
}

/// One block's backward pass from the gradient of its output; returns the input's gradient.
fn block<T: Fl>(
    m: &Transformer,
    w: &BlockW<T>,
    spec: &AttnSpec,
    z: AttnDims,
    s: &Saved<T>,
    dout: Vec<T>,
    g: &mut BlockG<T>,
) -> Result<Vec<T>> {
    let _ = spec;
    let scale = 1.0 / (z.dh as f64).sqrt();
    // The gradient of r1, the stream after the attention residual.
    let dr1 = match m.cfg.norm {
        Norm::Post => {
            let dr2 = ln_back(&w.ln2, &s.r2, &dout, &mut g.ln2);
            let mut df_in = ffn_back(m, w, s, &dr2, g)?;
            add_into(&mut df_in, &dr2); // r2 = f_in + FFN(f_in)
            ln_back(&w.ln1, &s.r1, &df_in, &mut g.ln1)
        }
        Norm::Pre | Norm::Lee => {
            let df_in = ffn_back(m, w, s, &dout, g)?;
            let mut dr1 = ln_back(&w.ln2, &s.r1, &df_in, &mut g.ln2);
            add_into(&mut dr1, &dout); // out = r1 + FFN(LN2(r1))
            dr1
        }
    };
    let dctx = lin_back(&w.out, &s.ctx, &dr1, &mut g.out)?;
    let (dqkv, _) = attn_bwd(scale, z, &s.qkv, &s.probs, &dctx, None)?;
    let attn_x = s.a_in.as_deref().unwrap_or(&s.x);
    let mut da_in = lin_back(&w.qkv, attn_x, &dqkv, &mut g.qkv)?;
    Ok(match m.cfg.norm {
        Norm::Post => {
            add_into(&mut da_in, &dr1); // r1 = x + Attn(x)
            da_in
        }
        Norm::Pre => {
            let mut dx = ln_back(&w.ln1, &s.x, &da_in, &mut g.ln1);
            add_into(&mut dx, &dr1); // r1 = x + Attn(LN1(x))
            dx
        }
        Norm::Lee => {
            add_into(&mut da_in, &dr1); // r1 = LN1(x) + Attn(LN1(x))
            ln_back(&w.ln1, &s.x, &da_in, &mut g.ln1)
        }
    })
}

/// The feed-forward sublayer's backward pass: returns the gradient of its input.
fn ffn_back<T: Fl>(m: &Transformer, w: &BlockW<T>, s: &Saved<T>, df: &[T], g: &mut BlockG<T>) -> Result<Vec<T>> {
    let du = lin_back(&w.down, &s.u, df, &mut g.down)?;
    let mut dpre = Vec::with_capacity(du.len());
    match m.cfg.activation {
        FfnActivation::Relu => relu_mask(&du, &s.u, &mut dpre),
        FfnActivation::Gelu => {
            dpre.extend(s.u_pre.iter().zip(&du).map(|(&x, &g)| T::from_f64(g.to_f64() * gelu_grad_f64(x.to_f64()))))
        }
    }
    lin_back(&w.up, &s.f_in, &dpre, &mut g.up)
}

/// Scatter-adds the input gradient into the token (×scale) and learned position tables.
fn embed_back<T: Fl>(m: &Transformer, w: &Weights<T>, ids: &[u32], dx: &[T], g: &mut Grads<T>) {
    let d = m.cfg.d_model;
    let scale = T::from_f64(if m.cfg.embed_scale { (d as f64).sqrt() } else { 1.0 });
    for (i, gr) in dx.chunks_exact(d).enumerate() {
        let r = ids[i] as usize;
        for (o, &v) in g.tok[r * d..(r + 1) * d].iter_mut().zip(gr) {
            *o += v * scale;
        }
    }
    if let (Some((_, rows, _)), Some(gp)) = (&w.pos, g.pos.as_mut()) {
        for (i, gr) in dx.chunks_exact(d).enumerate() {
            let r = rows[i] as usize;
            for (o, &v) in gp[r * d..(r + 1) * d].iter_mut().zip(gr) {
                *o += v * T::one();
            }
        }
    }
}
