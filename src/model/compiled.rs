//! A transformer initialised from a compiled RASP program (`model m = rasp_compiled { }`):
//! exactly the architecture and weights of [`crate::rasp_compile`] (docs/rasp_compiler.md:
//! unscaled attention, ReLU MLPs without biases or LayerNorm, an explicit unembedding, a BOS
//! sink in front), every matrix a trainable parameter, so training fine-tunes the program.
//!
//! Mapping onto the task (format `tag`; the checker refuses the rest):
//! - the task's input tokens embed as the compiled tokens of the same name (the task's `bos`
//!   is the program's BOS token); a task token the program never sees (the query token of
//!   the encoder formats) gets a zero row;
//! - the sink (compiled id 0) is prepended to every row as its own parameter `embed.sink`,
//!   and its output is dropped, so logits line up with the task's tokens;
//! - the unembedding's columns are the compiled output values, placed at the task's output
//!   ids of the same text (a value taken only at the program's BOS position, which is never
//!   scored, has none); outputs the s-op never takes get zero columns (the compiled
//!   read-out is an argmax, so they never win while the program's column reads 1);
//! - the position table holds the compiled rows (`max_pos`); positions past it (inputs longer
//!   than the compiled `max_len`) add nothing, a fixed zero embedding.
//!
//! Padded keys (pad = 0) are masked; the sink is always a key.

use super::params::Params;
use crate::ir::model::RaspCompiledCfg;
use crate::ir::RaspTarget;
use candle_core::{bail, Result, Tensor, D};

#[derive(Clone, Debug)]
struct Head {
    wq: Tensor,
    wk: Tensor,
    wv: Tensor,
    wo: Tensor,
}

#[derive(Clone, Debug)]
struct Layer {
    heads: Vec<Head>,
    /// `w1` (D, H), `w2` (H, D).
    mlp: Option<(Tensor, Tensor)>,
}

/// The compiled network (see the module docs).
#[derive(Clone, Debug)]
pub struct CompiledNet {
    /// (V_in, D)
    tok: Tensor,
    /// (1, D)
    sink: Tensor,
    /// (P, D)
    pos: Tensor,
    layers: Vec<Layer>,
    /// (D, V_out)
    unembed: Tensor,
}

/// Compiles `target` as the checker did (`cfg.max_len` over `alphabet`) and loads its weights
/// into `params`: `input` names the task's input ids, `outputs` its output ids.
pub fn load(
    params: &mut Params,
    target: &RaspTarget,
    cfg: &RaspCompiledCfg,
    alphabet: &[String],
    input: &[String],
    outputs: &[String],
) -> Result<CompiledNet> {
    let c = crate::rasp_compile::for_target(target, alphabet, cfg.max_len)
        .map_err(|d| candle_core::Error::Msg(format!("{}: {}", d.code, d.message)))?;
    let m = &c.model;
    let layers_cfg: Vec<(Vec<(usize, usize)>, usize)> =
        m.layers.iter().map(|l| (l.heads.iter().map(|h| (h.dh, h.dv)).collect(), l.hidden)).collect();
    let want: Vec<(Vec<(usize, usize)>, usize)> = cfg.layers.iter().map(|l| (l.heads.clone(), l.hidden)).collect();
    if m.d != cfg.d || m.max_pos != cfg.max_pos || layers_cfg != want {
        bail!("the compiled model of `{}.{}` differs from the checked one", target.program, target.sop);
    }
    let Some(values) = c.output_values() else { bail!("`{}.{}` has a numerical output", target.program, target.sop) };
    let d = m.d;
    let f = |v: &[f32]| v.iter().map(|&x| x as f64).collect::<Vec<f64>>();
    let mut tok = vec![0f64; input.len() * d];
    for (i, name) in input.iter().enumerate() {
        if let Some(j) = m.vocab.iter().position(|v| v == name).filter(|&j| j > 0) {
            tok[i * d..(i + 1) * d].copy_from_slice(&f(&m.tok[j * d..(j + 1) * d]));
        }
    }
    let tok = params.push("embed.tokens", &[input.len(), d], tok)?;
    let sink = params.push("embed.sink", &[1, d], f(&m.tok[..d]))?;
    let pos = params.push("embed.positions", &[m.max_pos, d], f(&m.pos))?;
    let mut layers = Vec::with_capacity(m.layers.len());
    for (l, lw) in m.layers.iter().enumerate() {
        let mut heads = Vec::with_capacity(lw.heads.len());
        for (h, hw) in lw.heads.iter().enumerate() {
            let p = format!("layers.{l}.heads.{h}.");
            heads.push(Head {
                wq: params.push(&format!("{p}wq"), &[d, hw.dh], f(&hw.wq))?,
                wk: params.push(&format!("{p}wk"), &[d, hw.dh], f(&hw.wk))?,
                wv: params.push(&format!("{p}wv"), &[d, hw.dv], f(&hw.wv))?,
                wo: params.push(&format!("{p}wo"), &[hw.dv, d], f(&hw.wo))?,
            });
        }
        let mlp = if lw.hidden > 0 {
            Some((
                params.push(&format!("layers.{l}.mlp.w1"), &[d, lw.hidden], f(&lw.w1))?,
                params.push(&format!("layers.{l}.mlp.w2"), &[lw.hidden, d], f(&lw.w2))?,
            ))
        } else {
            None
        };
        layers.push(Layer { heads, mlp });
    }
    let mut unembed = vec![0f64; d * outputs.len()];
    for (col, v) in values.iter().enumerate() {
        // The checker admits only values the task scores; one that is not an output occurs
        // only at the program's BOS position (never scored) and gets no column.
        let Some(o) = outputs.iter().position(|x| x == v) else { continue };
        for j in 0..d {
            unembed[j * outputs.len() + o] = m.unembed[j * m.n_out + col] as f64;
        }
    }
    let unembed = params.push("unembed", &[d, outputs.len()], unembed)?;
    Ok(CompiledNet { tok, sink, pos, layers, unembed })
}

/// Parameters [`load`] creates for `cfg`: `V_in·D + D + P·D + Σ_heads D·(2dh + dv) + dv·D
/// + Σ_mlp 2·D·H + D·V_out`.
pub fn param_count(cfg: &RaspCompiledCfg, vocab_in: usize, vocab_out: usize) -> usize {
    let d = cfg.d;
    let mut n = vocab_in * d + d + cfg.max_pos * d + d * vocab_out;
    for l in &cfg.layers {
        n += l.heads.iter().map(|&(dh, dv)| d * (2 * dh + dv) + dv * d).sum::<usize>() + 2 * d * l.hidden;
    }
    n
}

/// Forward FLOPs per token at sequence length `t` (projections, scores and mixing, MLP,
/// unembedding), times 3 for a training step, times `batch · t` tokens.
pub fn flops_per_step(cfg: &RaspCompiledCfg, vocab_out: usize, batch: usize, t: usize) -> u64 {
    let (d, t1) = (cfg.d as u64, t as u64 + 1);
    let mut per_token = 2 * d * vocab_out as u64;
    for l in &cfg.layers {
        for &(dh, dv) in &l.heads {
            let (dh, dv) = (dh as u64, dv as u64);
            per_token += 2 * d * (2 * dh + dv) + 2 * dv * d + 2 * t1 * (dh + dv);
        }
        per_token += 4 * d * l.hidden as u64;
    }
    3 * batch as u64 * t1 * per_token
}

impl CompiledNet {
    /// `tokens (B, T)` → logits `(B, T, V_out)`; `pad (B, T)`, 1 = real token.
    pub fn forward(&self, tokens: &Tensor, pad: Option<&Tensor>) -> Result<Tensor> {
        let (b, t) = tokens.dims2()?;
        let d = self.tok.dim(1)?;
        let emb = self.tok.index_select(&tokens.flatten_all()?, 0)?.reshape((b, t, d))?; // (B, T, D)
        let sink = self.sink.unsqueeze(0)?.broadcast_as((b, 1, d))?; // (B, 1, D)
        let p = self.pos.dim(0)?;
        let pos = if t < p {
            self.pos.narrow(0, 0, t + 1)?
        } else {
            let zeros = Tensor::zeros((t + 1 - p, d), self.pos.dtype(), self.pos.device())?;
            Tensor::cat(&[&self.pos, &zeros], 0)?
        }; // (T+1, D)
        let mut x = Tensor::cat(&[&sink, &emb], 1)?.broadcast_add(&pos)?; // (B, T+1, D)
                                                                          // Additive key mask (B, 1, T+1): 0 for real keys and the sink, -1e9 for padding.
        let mask = match pad {
            Some(pad) => {
                let one = Tensor::ones((b, 1), pad.dtype(), pad.device())?;
                let keys = Tensor::cat(&[&one, pad], 1)?.to_dtype(x.dtype())?; // (B, T+1)
                Some(((keys - 1.0)? * 1e9)?.unsqueeze(1)?)
            }
            None => None,
        };
        for layer in &self.layers {
            let mut add: Option<Tensor> = None;
            for h in &layer.heads {
                let q = x.broadcast_matmul(&h.wq)?; // (B, T+1, dh)
                let k = x.broadcast_matmul(&h.wk)?; // (B, T+1, dh)
                let v = x.broadcast_matmul(&h.wv)?; // (B, T+1, dv)
                let mut s = q.matmul(&k.t()?.contiguous()?)?; // (B, T+1, T+1), unscaled
                if let Some(m) = &mask {
                    s = s.broadcast_add(m)?;
                }
                let a = candle_nn::ops::softmax(&s, D::Minus1)?;
                let o = a.matmul(&v)?.broadcast_matmul(&h.wo)?; // (B, T+1, D)
                add = Some(match add {
                    Some(acc) => (acc + o)?,
                    None => o,
                });
            }
            if let Some(add) = add {
                x = (x + add)?;
            }
            if let Some((w1, w2)) = &layer.mlp {
                x = (&x + x.broadcast_matmul(w1)?.relu()?.broadcast_matmul(w2)?)?;
                // (B, T+1, D)
            }
        }
        x.narrow(1, 1, t)?.broadcast_matmul(&self.unembed) // (B, T, V_out)
    }

    /// A copy with detached weights (sharing storage).
    pub fn detached(&self) -> CompiledNet {
        let layers = self
            .layers
            .iter()
            .map(|l| Layer {
                heads: l
                    .heads
                    .iter()
                    .map(|h| Head { wq: h.wq.detach(), wk: h.wk.detach(), wv: h.wv.detach(), wo: h.wo.detach() })
                    .collect(),
                mlp: l.mlp.as_ref().map(|(a, b)| (a.detach(), b.detach())),
            })
            .collect();
        CompiledNet {
            tok: self.tok.detach(),
            sink: self.sink.detach(),
            pos: self.pos.detach(),
            layers,
            unembed: self.unembed.detach(),
        }
    }
}
