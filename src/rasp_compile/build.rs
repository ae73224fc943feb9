//! From a plan to weights: the residual layout (blocks in program order, each
//! value a named direction), then every head, MLP and embedding as matrices.

use super::model::{HeadW, LayerW, Model};
use super::plan::{Block, Enc, Lin, Op, Planner, R};
use super::trace::{tuple_text, Tuple, V};
use super::Opts;
use crate::rasp::graph::{Id, Node};

/// The residual stream's directions.
#[derive(Clone, Debug)]
pub struct Layout {
    /// One name per dimension: `one`, `bos`, then `LABEL:VALUE` (or `LABEL` for a number).
    pub labels: Vec<String>,
    /// Each block's first dimension.
    pub offsets: Vec<usize>,
    /// Blocks in residual order.
    pub order: Vec<usize>,
}

/// How a read-out's columns decode: the value of the best column, or the nearest number.
#[derive(Clone, Debug)]
pub enum Readout {
    Cat(Vec<Tuple>),
    Num(Vec<f64>),
}

/// A read-out of one s-op from the residual stream: `w` is D×columns.
#[derive(Clone, Debug)]
pub struct Probe {
    pub node: Id,
    pub label: String,
    pub w: Vec<f32>,
    pub readout: Readout,
}

impl Probe {
    /// The value at one position of a residual stream (row `t` of `x`).
    pub fn read(&self, x: &[f32], d: usize, t: usize) -> Tuple {
        let cols = self.w.len() / d;
        let score = |c: usize| (0..d).map(|j| x[t * d + j] * self.w[j * cols + c]).sum::<f32>();
        match &self.readout {
            Readout::Cat(tuples) => {
                let best = (0..cols).max_by(|a, b| score(*a).total_cmp(&score(*b))).unwrap_or(0);
                tuples.get(best).cloned().unwrap_or_default()
            }
            Readout::Num(values) => {
                let x = score(0) as f64;
                let best = values.iter().min_by(|a, b| (*a - x).abs().total_cmp(&(*b - x).abs()));
                best.map(|v| vec![V::Num(super::trace::Num(*v))]).unwrap_or_default()
            }
        }
    }
}

pub fn layout(blocks: &[Block]) -> Layout {
    let mut order: Vec<usize> = (0..blocks.len()).collect();
    order.sort_by_key(|&b| blocks[b].key);
    let mut labels = vec!["one".to_string(), "bos".to_string()];
    let mut offsets = vec![0; blocks.len()];
    for &b in &order {
        offsets[b] = labels.len();
        match &blocks[b].enc {
            Enc::Cat { dims, .. } => {
                labels.extend(dims.iter().map(|t| format!("{}:{}", blocks[b].label, tuple_text(t))))
            }
            Enc::Num { .. } => labels.push(blocks[b].label.clone()),
        }
    }
    Layout { labels, offsets, order }
}

fn dim(r: R, l: &Layout) -> usize {
    match r {
        R::One => 0,
        R::Bos => 1,
        R::Dim(b, i) => l.offsets[b] + i,
    }
}

/// Functionals as the columns of a D×k matrix.
pub fn columns(lins: &[Lin], l: &Layout) -> Vec<f32> {
    let (d, k) = (l.labels.len(), lins.len());
    let mut w = vec![0f32; d * k];
    for (c, lin) in lins.iter().enumerate() {
        for (r, x) in lin {
            w[dim(*r, l) * k + c] += *x as f32;
        }
    }
    w
}

/// The model vocabulary: the BOS sink, the declared tokens, the program's own BOS token.
pub fn vocab(opts: &Opts) -> Vec<String> {
    let mut v = vec![super::SINK.to_string()];
    v.extend(opts.vocab.iter().cloned());
    if let Some(b) = &opts.program_bos {
        if !v.contains(b) {
            v.push(b.clone());
        }
    }
    v
}

pub fn assemble(p: &Planner, l: &Layout, unembed: &[Lin]) -> Model {
    let d = l.labels.len();
    let vocab = vocab(p.opts);
    let max_pos = p.opts.max_len + 1 + usize::from(p.opts.program_bos.is_some());
    let (mut tok, mut pos) = (vec![0f32; vocab.len() * d], vec![0f32; max_pos * d]);
    for (i, _) in vocab.iter().enumerate() {
        tok[i * d] = 1.0;
    }
    tok[1] = 1.0;
    for (b, block) in p.blocks.iter().enumerate() {
        let (Op::Embed, Enc::Cat { dims, .. }) = (&block.op, &block.enc) else { continue };
        let id = block.comps[0];
        for (i, input) in p.t.inputs.iter().enumerate() {
            for (q, token) in input.iter().enumerate() {
                let Ok(j) = dims.binary_search(&vec![p.t.cols[&id][i][q].clone()]) else { continue };
                if matches!(p.node(id), Node::Indices) {
                    pos[(q + 1) * d + l.offsets[b] + j] = 1.0;
                } else if let Some(t) = vocab.iter().position(|v| v == token) {
                    tok[t * d + l.offsets[b] + j] = 1.0;
                }
            }
        }
    }
    let n_layers = p.blocks.iter().map(|b| b.sub).max().map_or(0, |s| (s.max(-1) + 1) as usize).div_ceil(2);
    let layers = (0..n_layers).map(|n| layer(p, l, n as i32)).collect();
    Model {
        d,
        vocab,
        max_pos,
        tok,
        pos,
        layers,
        unembed: columns(unembed, l),
        n_out: unembed.len(),
        causal: p.opts.causal,
    }
}

fn layer(p: &Planner, l: &Layout, n: i32) -> LayerW {
    let d = l.labels.len();
    let mut heads = vec![];
    let mut units = vec![];
    for &b in &l.order {
        let block = &p.blocks[b];
        match &block.op {
            Op::Attn(h) if block.sub == 2 * n => {
                let (dh, dv) = (h.q.len(), h.v.len());
                let mut wo = vec![0f32; dv * d];
                for (i, r) in h.o.iter().enumerate() {
                    wo[i * d + dim(*r, l)] = 1.0;
                }
                let (wq, wk, wv) = (columns(&h.q, l), columns(&h.k, l), columns(&h.v, l));
                heads.push(HeadW { dh, dv, wq, wk, wv, wo });
            }
            Op::Mlp(u) if block.sub == 2 * n + 1 => units.extend(u.iter()),
            _ => {}
        }
    }
    let hidden = units.len();
    let pres: Vec<Lin> = units.iter().map(|u| u.pre.clone()).collect();
    let w1 = columns(&pres, l);
    let mut w2 = vec![0f32; hidden * d];
    for (i, u) in units.iter().enumerate() {
        for (r, x) in &u.out {
            w2[i * d + dim(*r, l)] += *x as f32;
        }
    }
    LayerW { heads, hidden, w1, w2 }
}
