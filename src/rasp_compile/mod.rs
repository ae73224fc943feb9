//! RASP → transformer weights (tracr's pipeline, written here from the papers,
//! with composite selectors, defaults, numeric means of any numbers, and no
//! silent errors).
//!
//! ```text
//!  rasp::Program ─trace─► values of every node on every input ≤ max_len (the interpreter)
//!      ─plan─► blocks: encodings, attention heads, MLP units, sublayers (longest path)
//!      ─build─► residual layout (program order) + dense weights + unembedding
//!      ─verify─► the model on every input == the interpreter, or a diagnostic
//! ```
//!
//! The model's input is the BOS sink [`SINK`] followed by the program's input
//! (which starts with the program's own BOS token when `--bos` is given).

mod attn;
pub mod build;
pub mod err;
pub mod export;
mod lookup;
pub mod model;
pub mod plan;
pub mod trace;
mod verify;

use crate::diag::Diag;
use crate::rasp::Program;
use build::{Probe, Readout};

/// The model's first token: an attention sink that is not part of the program's input.
pub const SINK: &str = "<bos>";

/// What to compile for.
#[derive(Clone, Debug)]
pub struct Opts {
    /// Input tokens (each a program token, as `tokens_str` sees it).
    pub vocab: Vec<String>,
    /// The longest input (not counting the program's own BOS token).
    pub max_len: usize,
    /// A decoder (each position attends to itself and earlier ones only).
    pub causal: bool,
    /// A token the program expects at the front of every input (`§` in the RASP paper's `_bos` programs).
    pub program_bos: Option<String>,
}

/// What computes one block, for `--explain` and the JSON sidecar.
#[derive(Clone, Debug)]
pub struct Part {
    pub label: String,
    pub what: &'static str,
    /// 2l: layer l's attention, 2l+1: its MLP, -1: embedding.
    pub sub: i32,
    pub dims: std::ops::Range<usize>,
    pub units: usize,
}

pub struct Compiled {
    pub sop: String,
    pub opts: Opts,
    pub model: model::Model,
    pub layout: build::Layout,
    /// The unembedding's read-out: its columns' values.
    pub output: Probe,
    /// Read-outs of the s-ops (in evaluation order) for locating a disagreement.
    pub probes: Vec<Probe>,
    pub parts: Vec<Part>,
    /// Inputs the model was checked on (every input up to `max_len`).
    pub verified: usize,
}

/// Layers, residual width, the widest layer's MLP and attention.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sizes {
    pub layers: usize,
    pub residual: usize,
    pub mlp_hidden: usize,
    pub heads: usize,
    pub params: usize,
}

impl Compiled {
    pub fn sizes(&self) -> Sizes {
        let m = &self.model;
        Sizes {
            layers: m.layers.len(),
            residual: m.d,
            mlp_hidden: m.layers.iter().map(|l| l.hidden).max().unwrap_or(0),
            heads: m.layers.iter().map(|l| l.heads.len()).max().unwrap_or(0),
            params: m.params(),
        }
    }

    /// The model's token ids for a program input (without the sink), or `None` for an unknown token.
    pub fn ids(&self, input: &[String]) -> Option<Vec<usize>> {
        let mut ids = vec![0];
        for t in input {
            ids.push(self.model.vocab.iter().position(|v| v == t)?);
        }
        Some(ids)
    }

    /// The model's output for a program input (as the interpreter would print it), or `None`
    /// for an input with an unknown token or longer than the model's positions.
    pub fn run(&self, input: &[String]) -> Option<Vec<String>> {
        let x = self.model.residual(&self.ids(input)?)?;
        Some((1..=input.len()).map(|t| trace::tuple_text(&self.output.read(&x, self.model.d, t))).collect())
    }
}

fn check_opts(opts: &Opts) -> Result<(), Diag> {
    if opts.vocab.is_empty() {
        return Err(err::options("the vocabulary is empty", "give the input tokens, e.g. --vocab abc"));
    }
    let mut seen = std::collections::HashSet::new();
    for t in &opts.vocab {
        if t.is_empty() || t == SINK || !seen.insert(t) {
            let msg = format!("the vocabulary token {t:?} is empty, repeated or the reserved BOS sink {SINK:?}");
            return Err(err::options(msg, "list each input token once"));
        }
    }
    if opts.max_len == 0 {
        return Err(err::options("--max-len must be at least 1", "the longest input the model must handle"));
    }
    let n = trace::count_inputs(opts.vocab.len(), opts.max_len);
    let cells = trace::count_cells(opts.vocab.len(), opts.max_len.min(1 << 20));
    if n > trace::MAX_INPUTS || cells > trace::MAX_CELLS {
        let msg = format!(
            "{} tokens up to length {} make {n} inputs ({cells} selector entries); the compiler enumerates at most {} inputs and {} entries",
            opts.vocab.len(),
            opts.max_len,
            trace::MAX_INPUTS,
            trace::MAX_CELLS
        );
        let help = "value sets and the verification are exact only over every input: lower --max-len or --vocab";
        return Err(Diag::error("algen::rasp_compile::too_many_inputs", msg).help(help));
    }
    Ok(())
}

/// Compiles the public s-op `sop` of `program` and verifies the model on every input.
pub fn compile(program: &Program, sop: &str, opts: Opts) -> Result<Compiled, Diag> {
    program.evaluator(sop, None)?;
    check_opts(&opts)?;
    let target = program.node(sop).ok_or_else(|| err::internal("target has no node"))?;
    let tr = trace::trace(program, target, &opts)?;
    let mut p = plan::Planner::new(&tr, program, &opts, sop);
    let (unembed, readout) = match p.numeric(target)? {
        Some((x, _)) => (vec![x], Readout::Num(nums(&tr, target))),
        None => {
            let acc = p.access(&[target])?;
            (acc.lins, Readout::Cat(acc.tuples))
        }
    };
    let mut probe_lins = vec![];
    for &id in &tr.order {
        if p.node(id).is_selector() {
            continue;
        }
        if let Some((x, _)) = p.numeric(id)? {
            probe_lins.push((id, vec![x], Readout::Num(nums(&tr, id))));
        } else if p.own.contains_key(&id) || p.single_base(id) {
            let acc = p.access(&[id])?;
            probe_lins.push((id, acc.lins, Readout::Cat(acc.tuples)));
        }
    }
    let layout = build::layout(&p.blocks);
    let model = build::assemble(&p, &layout, &unembed);
    let w = build::columns(&unembed, &layout);
    let output = Probe { node: target, label: sop.to_string(), w, readout };
    let probes = probe_lins
        .into_iter()
        .map(|(id, lins, readout)| Probe { node: id, label: p.label(id), w: build::columns(&lins, &layout), readout })
        .collect();
    // In residual order, which is also the order of the heads within a layer.
    let parts = layout
        .order
        .iter()
        .map(|&b| (b, &p.blocks[b]))
        .map(|(b, bl)| Part {
            label: bl.label.clone(),
            what: bl.what,
            sub: bl.sub,
            dims: layout.offsets[b]..layout.offsets[b] + bl.width(),
            units: match &bl.op {
                plan::Op::Mlp(u) => u.len(),
                _ => 0,
            },
        })
        .collect();
    let mut c =
        Compiled { sop: sop.to_string(), opts: opts.clone(), model, layout, output, probes, parts, verified: 0 };
    c.verified = verify::verify(&c, &tr, &p)?;
    Ok(c)
}

/// Compiles a task's RASP target (`target = rasp P.sop`, with its `bos`) over the task's
/// alphabet for inputs up to `max_len` (an encoder: the `tag` format reads every position).
pub fn for_target(r: &crate::ir::RaspTarget, alphabet: &[String], max_len: usize) -> Result<Compiled, Diag> {
    let text: std::sync::Arc<str> = std::sync::Arc::from(r.text.as_str());
    let program = crate::rasp::compile(0, &text, 0, text.clone()).map_err(|mut d| d.remove(0))?;
    let opts = Opts { vocab: alphabet.to_vec(), max_len, causal: false, program_bos: r.bos.clone() };
    compile(&program, &r.sop, opts)
}

impl Compiled {
    /// The values of the unembedding's columns as the interpreter prints them, or `None` for
    /// a numerical output (one column read by nearness, not by argmax).
    pub fn output_values(&self) -> Option<Vec<String>> {
        match &self.output.readout {
            Readout::Cat(tuples) => Some(tuples.iter().map(trace::tuple_text).collect()),
            Readout::Num(_) => None,
        }
    }
}

fn nums(tr: &trace::Trace, id: crate::rasp::graph::Id) -> Vec<f64> {
    tr.values(&[id]).iter().filter_map(|t| t[0].num()).collect()
}
