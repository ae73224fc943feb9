//! Value-set inference by enumeration: every input over the vocabulary up to
//! `max_len` tokens is run through algen's RASP interpreter, one evaluator per
//! node, and every node's value at every position (and every selector's matrix)
//! is kept. Value sets, lookup tables and selector predicates are then read off
//! these traces, so they are exact for the declared input space (not an
//! over-approximation, and never a guess from a sample).

use super::{err, Opts};
use crate::diag::Diag;
use crate::rasp::graph::Id;
use crate::rasp::{token_text, Program, Val};
use std::cmp::Ordering;
use std::collections::HashMap;

/// A number with a total order (ints and floats are one kind: `1 == 1.0`, as
/// Python compares them; the compiled model computes numbers, not their types).
#[derive(Clone, Copy, Debug)]
pub struct Num(pub f64);

impl PartialEq for Num {
    fn eq(&self, o: &Num) -> bool {
        self.cmp(o) == Ordering::Equal
    }
}
impl Eq for Num {}
impl PartialOrd for Num {
    fn partial_cmp(&self, o: &Num) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Num {
    fn cmp(&self, o: &Num) -> Ordering {
        (self.0 + 0.0).total_cmp(&(o.0 + 0.0))
    }
}
impl std::hash::Hash for Num {
    fn hash<H: std::hash::Hasher>(&self, h: &mut H) {
        (self.0 + 0.0).to_bits().hash(h)
    }
}

/// One atom, as the compiler sees it.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum V {
    Bool(bool),
    Num(Num),
    Str(String),
}

impl V {
    /// The number this atom is in an average (`True` is 1), if any.
    pub fn num(&self) -> Option<f64> {
        match self {
            V::Bool(b) => Some(f64::from(u8::from(*b))),
            V::Num(n) => Some(n.0),
            V::Str(_) => None,
        }
    }
    /// Python's `str` of the atom (an integral number is written as an int).
    pub fn text(&self) -> String {
        match self {
            V::Bool(b) => if *b { "True" } else { "False" }.into(),
            V::Num(n) if n.0.fract() == 0.0 && n.0.abs() < 1e15 => format!("{}", n.0 as i64),
            V::Num(n) => crate::rasp::value::py_float_repr(n.0),
            V::Str(s) => s.clone(),
        }
    }
}

/// An atom of the program (a constant in its graph) as the compiler sees it.
pub fn atom(program: &Program, v: Val) -> V {
    match program.node_evaluator(0) {
        Some(ev) => convert(v, &ev.strings),
        None => V::Str(String::new()),
    }
}

/// A tuple of atoms (the value of several s-ops at one position).
pub type Tuple = Vec<V>;

pub fn tuple_text(t: &Tuple) -> String {
    match t.as_slice() {
        [one] => one.text(),
        _ => format!("({})", t.iter().map(V::text).collect::<Vec<_>>().join(", ")),
    }
}

/// Every node's values on every input.
pub struct Trace {
    /// Program inputs (with the program's own BOS token first, when it has one), in order.
    pub inputs: Vec<Vec<String>>,
    /// Node -> input -> position -> value, for the s-ops the target needs.
    pub cols: HashMap<Id, Vec<Vec<V>>>,
    /// Selector -> input -> `m[q][k]`, for the selectors the target needs.
    pub sels: HashMap<Id, Vec<Vec<Vec<bool>>>>,
    /// The target's ancestors in evaluation order (itself last).
    pub order: Vec<Id>,
}

/// The most inputs enumerated (each is run once per node).
pub const MAX_INPUTS: usize = 100_000;

fn convert(v: Val, strings: &crate::rasp::Strings) -> V {
    match v {
        Val::Int(i) => V::Num(Num(i as f64)),
        Val::Float(f) => V::Num(Num(f)),
        Val::Bool(b) => V::Bool(b),
        Val::Str(_) => V::Str(token_text(v, strings)),
    }
}

/// All inputs of 1..=max_len tokens over `vocab`, shortest first, each in vocabulary order.
pub fn inputs(opts: &Opts) -> Vec<Vec<String>> {
    let mut out = vec![];
    let mut level: Vec<Vec<String>> = vec![vec![]];
    for _ in 0..opts.max_len {
        let mut next = vec![];
        for prefix in &level {
            for t in &opts.vocab {
                let mut p = prefix.clone();
                p.push(t.clone());
                next.push(p);
            }
        }
        for p in &next {
            let mut full: Vec<String> = opts.program_bos.iter().cloned().collect();
            full.extend(p.iter().cloned());
            out.push(full);
        }
        level = next;
    }
    out
}

/// The most selector-matrix entries (Σ over inputs of length²) a trace may hold.
pub const MAX_CELLS: usize = 20_000_000;

/// Σ over the inputs [`inputs`] would list of their length squared (saturating).
pub fn count_cells(vocab: usize, max_len: usize) -> usize {
    let mut total: usize = 0;
    let mut level: usize = 1;
    for len in 1..=max_len {
        level = level.saturating_mul(vocab);
        total = total.saturating_add(level.saturating_mul(len * len));
    }
    total
}

/// How many inputs [`inputs`] would list (saturating).
pub fn count_inputs(vocab: usize, max_len: usize) -> usize {
    let mut total: usize = 0;
    let mut level: usize = 1;
    for _ in 0..max_len {
        level = level.saturating_mul(vocab);
        total = total.saturating_add(level);
    }
    total
}

/// Runs every node the target needs on every input.
pub fn trace(program: &Program, target: Id, opts: &Opts) -> Result<Trace, Diag> {
    let graph = program.graph();
    let order = graph.ancestors(target);
    let inputs = inputs(opts);
    let mut ev = program.node_evaluator(target).ok_or_else(|| err::internal("target node missing"))?;
    for input in &inputs {
        ev.start_input();
        let vals: Vec<Val> = input.iter().map(|t| Val::Str(ev.strings.intern(t))).collect();
        if let Err(e) = ev.eval(&vals) {
            return Err(err::fails_on_input(program, graph.spans[target as usize], input, &e.message));
        }
    }
    let mut cols = HashMap::new();
    let mut sels = HashMap::new();
    for &id in &order {
        let node = &graph.nodes[id as usize];
        let mut ev = program.node_evaluator(id).ok_or_else(|| err::internal("node missing"))?;
        if node.is_selector() {
            let mut per = Vec::with_capacity(inputs.len());
            for input in &inputs {
                ev.start_input();
                let vals: Vec<Val> = input.iter().map(|t| Val::Str(ev.strings.intern(t))).collect();
                per.push(ev.matrix(&vals).map_err(|e| err::internal(&e.message))?);
            }
            sels.insert(id, per);
        } else {
            let mut per = Vec::with_capacity(inputs.len());
            for input in &inputs {
                ev.start_input();
                let vals: Vec<Val> = input.iter().map(|t| Val::Str(ev.strings.intern(t))).collect();
                let out = ev.eval(&vals).map_err(|e| err::internal(&e.message))?.to_vec();
                per.push(out.iter().map(|v| convert(*v, &ev.strings)).collect());
            }
            cols.insert(id, per);
        }
    }
    Ok(Trace { inputs, cols, sels, order })
}

impl Trace {
    /// The values of `comps` at `pos` of input `i`.
    pub fn tuple(&self, comps: &[Id], i: usize, pos: usize) -> Tuple {
        comps.iter().map(|c| self.cols[c][i][pos].clone()).collect()
    }
    /// Every (input, position) pair.
    pub fn positions(&self) -> impl Iterator<Item = (usize, usize)> + '_ {
        self.inputs.iter().enumerate().flat_map(|(i, inp)| (0..inp.len()).map(move |p| (i, p)))
    }
    /// The distinct values of `comps`, sorted.
    pub fn values(&self, comps: &[Id]) -> Vec<Tuple> {
        let mut set: Vec<Tuple> = self.positions().map(|(i, p)| self.tuple(comps, i, p)).collect();
        set.sort();
        set.dedup();
        set
    }
}
