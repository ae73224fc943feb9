//! Export: the weights as safetensors (f32, row-major, names below) with a JSON
//! sidecar (vocabulary, residual layout, which layer computes what, the output's
//! values), and the `--explain` text.
//!
//! Tensors: `embed.tokens` [V, D], `embed.positions` [P, D], per layer `l`:
//! `layers.l.heads.h.{wq,wk}` [D, dh], `.wv` [D, dv], `.wo` [dv, D],
//! `layers.l.mlp.w1` [D, H], `layers.l.mlp.w2` [H, D] (absent when H = 0);
//! `unembed` [D, O].

use super::build::Readout;
use super::trace::tuple_text;
use super::{Compiled, SINK};
use candle_core::{Device, Tensor};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::path::Path;

fn tensor(data: &[f32], rows: usize, cols: usize) -> candle_core::Result<Tensor> {
    Tensor::from_vec(data.to_vec(), (rows, cols), &Device::Cpu)
}

/// Writes `path` (safetensors) and `path` with extension `.json` (the sidecar).
pub fn write(c: &Compiled, path: &Path) -> Result<(), String> {
    let m = &c.model;
    let d = m.d;
    let mut t: HashMap<String, Tensor> = HashMap::new();
    let e = |e: candle_core::Error| e.to_string();
    t.insert("embed.tokens".into(), tensor(&m.tok, m.vocab.len(), d).map_err(e)?);
    t.insert("embed.positions".into(), tensor(&m.pos, m.max_pos, d).map_err(e)?);
    for (l, layer) in m.layers.iter().enumerate() {
        for (h, w) in layer.heads.iter().enumerate() {
            let p = format!("layers.{l}.heads.{h}");
            t.insert(format!("{p}.wq"), tensor(&w.wq, d, w.dh).map_err(e)?);
            t.insert(format!("{p}.wk"), tensor(&w.wk, d, w.dh).map_err(e)?);
            t.insert(format!("{p}.wv"), tensor(&w.wv, d, w.dv).map_err(e)?);
            t.insert(format!("{p}.wo"), tensor(&w.wo, w.dv, d).map_err(e)?);
        }
        if layer.hidden > 0 {
            t.insert(format!("layers.{l}.mlp.w1"), tensor(&layer.w1, d, layer.hidden).map_err(e)?);
            t.insert(format!("layers.{l}.mlp.w2"), tensor(&layer.w2, layer.hidden, d).map_err(e)?);
        }
    }
    t.insert("unembed".into(), tensor(&m.unembed, d, m.n_out).map_err(e)?);
    candle_core::safetensors::save(&t, path).map_err(|e| format!("cannot write `{}`: {e}", path.display()))?;
    let side = path.with_extension("json");
    let text = serde_json::to_string_pretty(&sidecar(c)).unwrap_or_default();
    std::fs::write(&side, text + "\n").map_err(|e| format!("cannot write `{}`: {e}", side.display()))
}

/// The sidecar: everything needed to run the weights and read their output.
pub fn sidecar(c: &Compiled) -> Value {
    let m = &c.model;
    let s = c.sizes();
    let (numeric, outputs): (bool, Vec<String>) = match &c.output.readout {
        Readout::Cat(t) => (false, t.iter().map(tuple_text).collect()),
        Readout::Num(v) => (true, v.iter().map(|x| super::trace::V::Num(super::trace::Num(*x)).text()).collect()),
    };
    let layers: Vec<Value> = (0..m.layers.len() as i32)
        .map(|l| {
            let of = |sub: i32| -> Vec<Value> {
                let parts = c.parts.iter().filter(|p| p.sub == sub);
                parts.map(|p| json!({"computes": p.label, "by": p.what, "units": p.units})).collect()
            };
            json!({"attention": of(2 * l), "mlp": of(2 * l + 1)})
        })
        .collect();
    json!({
        "format": "algen-rasp-compiled/1",
        "sop": c.sop,
        "vocab": m.vocab,
        "bos": SINK,
        "program_bos": c.opts.program_bos,
        "max_len": c.opts.max_len,
        "max_positions": m.max_pos,
        "causal": m.causal,
        "attention": "softmax(q k^T) without scaling; no layer norm, no biases",
        "sizes": {"layers": s.layers, "residual": s.residual, "mlp_hidden": s.mlp_hidden, "heads": s.heads, "params": s.params},
        "residual": c.layout.labels,
        "layers": layers,
        "output": {"numeric": numeric, "values": outputs,
                   "decode": if numeric { "the nearest of values to the single output column" } else { "argmax over values" }},
        "verified_inputs": c.verified,
    })
}

/// `--explain`: sizes, which layer/head/MLP computes which s-op, and the residual layout.
pub fn explain(c: &Compiled) -> String {
    let s = c.sizes();
    let mut out = format!(
        "`{}` compiled: {} layers, residual {}, MLP hidden {} (widest layer), {} heads (widest layer), {} parameters\nverified on all {} inputs up to length {}\n\n",
        c.sop, s.layers, s.residual, s.mlp_hidden, s.heads, s.params, c.verified, c.opts.max_len
    );
    for part in c.parts.iter().filter(|p| p.sub < 0) {
        out += &format!("embedding: {} ({})\n", part.label, part.what);
    }
    for l in 0..s.layers as i32 {
        out += &format!("layer {l}\n");
        for (h, part) in c.parts.iter().filter(|p| p.sub == 2 * l).enumerate() {
            out += &format!("  head {h}: {} <- {}\n", part.label, part.what);
        }
        for part in c.parts.iter().filter(|p| p.sub == 2 * l + 1) {
            out += &format!("  mlp ({} units): {} <- {}\n", part.units, part.label, part.what);
        }
    }
    out += "\nresidual layout\n";
    for (i, l) in c.layout.labels.iter().enumerate() {
        out += &format!("  {i:>4}  {l}\n");
    }
    out += &format!("\nunembedding: `{}` -> ", c.sop);
    out += &match &c.output.readout {
        Readout::Cat(t) => format!("argmax over [{}]\n", t.iter().map(tuple_text).collect::<Vec<_>>().join(", ")),
        Readout::Num(v) => format!("one number, read as the nearest of {v:?}\n"),
    };
    out
}
