//! The plan: residual blocks (one per materialised s-op), what writes each one
//! (an embedding, an attention head, MLP units) and in which sublayer.
//!
//! Encodings: every s-op is categorical (a one-hot over the values it takes)
//! except the output of an aggregate that averages different numbers, which is
//! numerical (one dimension). An s-op computed elementwise from a single
//! materialised s-op is never materialised: readers (queries, keys, values,
//! MLPs, the unembedding) read it as a linear function of its source's one-hot.
//! Elementwise s-ops of several sources become one lookup MLP over the input
//! tuples that occur. A gather's default is the all-zero vector ("implicit").
//!
//! Sublayers: 2l is layer l's attention, 2l+1 its MLP; embeddings are at -1. A
//! block is placed at the first sublayer of its kind after everything it reads
//! (longest path). At the BOS position every block is zero (MLP units are
//! switched off there by `bos`, attention at BOS reads BOS, whose values are zero).

use super::err;
use super::trace::{Trace, Tuple};
use super::Opts;
use crate::diag::Diag;
use crate::rasp::graph::{Id, Node};
use crate::rasp::Program;
use std::collections::{BTreeSet, HashMap};

/// A residual direction: the constant one, the BOS flag, or dimension `d` of block `b`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum R {
    One,
    Bos,
    Dim(usize, usize),
}

/// A linear functional of the residual stream.
pub type Lin = Vec<(R, f64)>;

pub fn scale(l: &Lin, c: f64) -> Lin {
    l.iter().map(|(r, x)| (*r, x * c)).collect()
}

/// One attention head: query, key and value functionals; value `i` is added to `o[i]`.
pub struct Head {
    pub q: Vec<Lin>,
    pub k: Vec<Lin>,
    pub v: Vec<Lin>,
    pub o: Vec<R>,
}

/// One MLP hidden unit: `relu(pre)` is added to each `out` direction times its weight.
pub struct Unit {
    pub pre: Lin,
    pub out: Vec<(R, f64)>,
}

pub enum Op {
    Embed,
    Attn(Head),
    Mlp(Vec<Unit>),
}

pub enum Enc {
    /// One-hot over `dims`; `implicit` is the value held when every dimension is zero.
    Cat { dims: Vec<Tuple>, implicit: Option<Tuple> },
    /// One dimension holding `value - offset`.
    Num { offset: f64 },
}

pub struct Block {
    pub label: String,
    /// What computes it: embedding, gather, mean, selector width, discretise, lookup.
    pub what: &'static str,
    /// The s-ops whose values (a tuple) the block holds.
    pub comps: Vec<Id>,
    pub enc: Enc,
    pub op: Op,
    pub sub: i32,
    /// The order in the residual stream: (program node, kind rank).
    pub key: (Id, u8),
}

impl Block {
    pub fn width(&self) -> usize {
        match &self.enc {
            Enc::Cat { dims, .. } => dims.len(),
            Enc::Num { .. } => 1,
        }
    }
}

/// How a reader gets the tuple of some s-ops: one functional per value tuple.
pub struct Access {
    pub tuples: Vec<Tuple>,
    pub lins: Vec<Lin>,
    pub ready: i32,
}

pub type Res<T> = Result<T, Diag>;

pub fn next_attn(ready: i32) -> i32 {
    let s = ready + 1;
    if s % 2 == 0 {
        s
    } else {
        s + 1
    }
}

pub fn next_mlp(ready: i32) -> i32 {
    let s = ready + 1;
    if s % 2 != 0 {
        s
    } else {
        s + 1
    }
}

/// The most hidden units or residual dimensions one block may have.
pub const MAX_BLOCK: usize = 50_000;

pub struct Planner<'a> {
    pub t: &'a Trace,
    pub program: &'a Program,
    pub opts: &'a Opts,
    pub sop: &'a str,
    pub blocks: Vec<Block>,
    bases: HashMap<Id, BTreeSet<usize>>,
    pub own: HashMap<Id, usize>,
    pub(super) shadows: HashMap<usize, usize>,
    pub(super) lookups: HashMap<Vec<Id>, usize>,
    names: HashMap<Id, String>,
}

impl<'a> Planner<'a> {
    pub fn new(t: &'a Trace, program: &'a Program, opts: &'a Opts, sop: &'a str) -> Self {
        let mut names = HashMap::new();
        for (n, id) in program.named_nodes() {
            names.entry(id).or_insert_with(|| n.to_string());
        }
        Planner {
            t,
            program,
            opts,
            sop,
            blocks: vec![],
            bases: HashMap::new(),
            own: HashMap::new(),
            shadows: HashMap::new(),
            lookups: HashMap::new(),
            names,
        }
    }

    pub fn node(&self, id: Id) -> &'a Node {
        &self.program.graph().nodes[id as usize]
    }

    pub fn span(&self, id: Id) -> (crate::source::Span, &'static str) {
        err::user_span(self.program, self.program.graph().spans[id as usize], self.sop)
    }

    /// A readable, stable name for a node: its top-level name, else its kind and source line.
    pub fn label(&self, id: Id) -> String {
        if let Some(n) = self.names.get(&id) {
            return n.clone();
        }
        let kind = match self.node(id) {
            Node::Indices => return "indices".into(),
            Node::Length => return "length".into(),
            Node::Tokens(t) => return format!("tokens_{t:?}").to_lowercase(),
            Node::Aggregate { .. } => "aggregate",
            Node::Width(_) => "selector_width",
            Node::HasFocus(_) => "has_focus",
            Node::AnyEq(..) => "in",
            n if n.is_selector() => "select",
            _ => "map",
        };
        let span = self.program.graph().spans[id as usize];
        if span.file != self.program.file() || span.end > self.program.source_text().len() {
            return format!("{kind}#{id}@lib");
        }
        let line = self.program.source_text()[..span.start].matches('\n').count() + 1;
        format!("{kind}#{id}@{line}")
    }

    pub fn add(&mut self, b: Block) -> Res<usize> {
        let size = b.width()
            + match &b.op {
                Op::Mlp(u) => u.len(),
                _ => 0,
            };
        if size > MAX_BLOCK {
            let id = *b.comps.last().unwrap_or(&0);
            return Err(err::construct(
                "algen::rasp_compile::too_large",
                self.span(id),
                format!("`{}` needs {size} residual dimensions or MLP units (limit {MAX_BLOCK})", b.label),
                "computed here",
                "compile with a smaller --vocab or --max-len",
            ));
        }
        self.blocks.push(b);
        Ok(self.blocks.len() - 1)
    }

    /// The materialised blocks an s-op is computed from (itself when materialised).
    pub fn bases(&mut self, id: Id) -> Res<BTreeSet<usize>> {
        if let Some(b) = self.bases.get(&id) {
            return Ok(b.clone());
        }
        let node = self.node(id);
        let out = match node {
            Node::Indices | Node::Tokens(_) | Node::Length | Node::Width(_) | Node::HasFocus(_) | Node::AnyEq(..) => {
                BTreeSet::from([self.own_block(id)?])
            }
            Node::Aggregate { .. } => {
                let b = self.own_block(id)?;
                match self.blocks[b].enc {
                    Enc::Num { .. } => BTreeSet::from([self.shadow(b)?]),
                    Enc::Cat { .. } => BTreeSet::from([b]),
                }
            }
            n if n.is_selector() => return Err(err::internal("a selector read as an s-op")),
            n => {
                let mut set = BTreeSet::new();
                for i in n.inputs() {
                    set.extend(self.bases(i)?);
                }
                set
            }
        };
        self.bases.insert(id, out.clone());
        Ok(out)
    }

    /// The block that computes a materialised node (planned on first use).
    pub fn own_block(&mut self, id: Id) -> Res<usize> {
        if let Some(b) = self.own.get(&id) {
            return Ok(*b);
        }
        let b = match self.node(id) {
            Node::Indices | Node::Tokens(_) => {
                let dims = self.t.values(&[id]);
                let what =
                    if matches!(self.node(id), Node::Indices) { "position embedding" } else { "token embedding" };
                let block = Block {
                    label: self.label(id),
                    what,
                    comps: vec![id],
                    enc: Enc::Cat { dims, implicit: None },
                    op: Op::Embed,
                    sub: -1,
                    key: (id, 0),
                };
                self.add(block)?
            }
            Node::Length | Node::Width(_) | Node::HasFocus(_) | Node::AnyEq(..) => self.width(id)?,
            Node::Aggregate { sel, seq, default } => self.aggregate(id, *sel, *seq, *default)?,
            _ => return Err(err::internal("own_block of an elementwise node")),
        };
        self.own.insert(id, b);
        Ok(b)
    }

    /// The indicator of `value` in categorical block `b`.
    pub fn ind(&self, b: usize, value: &Tuple) -> Lin {
        let Enc::Cat { dims, implicit } = &self.blocks[b].enc else { return vec![] };
        let mut l = vec![];
        if let Ok(i) = dims.binary_search(value) {
            l.push((R::Dim(b, i), 1.0));
        }
        if implicit.as_ref() == Some(value) {
            l.push((R::One, 1.0));
            l.push((R::Bos, -1.0));
            l.extend((0..dims.len()).map(|i| (R::Dim(b, i), -1.0)));
        }
        l
    }

    /// Read access to the tuple of `comps` (an empty tuple: the constant `()`).
    pub fn access(&mut self, comps: &[Id]) -> Res<Access> {
        if comps.is_empty() {
            return Ok(Access { tuples: vec![vec![]], lins: vec![vec![(R::One, 1.0), (R::Bos, -1.0)]], ready: -1 });
        }
        let mut srcs = BTreeSet::new();
        for &c in comps {
            srcs.extend(self.bases(c)?);
        }
        let srcs: Vec<usize> = srcs.into_iter().collect();
        if let [b] = srcs[..] {
            let ready = self.blocks[b].sub;
            if self.blocks[b].comps == comps {
                let Enc::Cat { dims, implicit } = &self.blocks[b].enc else {
                    return Err(err::internal("identity access to a numeric block"));
                };
                let mut tuples = dims.clone();
                tuples.extend(implicit.iter().cloned());
                tuples.sort();
                tuples.dedup();
                let lins = tuples.iter().map(|t| self.ind(b, t)).collect();
                return Ok(Access { tuples, lins, ready });
            }
            let bcomps = self.blocks[b].comps.clone();
            let mut map: HashMap<Tuple, BTreeSet<Tuple>> = HashMap::new();
            for (i, p) in self.t.positions() {
                map.entry(self.t.tuple(comps, i, p)).or_default().insert(self.t.tuple(&bcomps, i, p));
            }
            let mut tuples: Vec<Tuple> = map.keys().cloned().collect();
            tuples.sort();
            let lins = tuples.iter().map(|t| map[t].iter().flat_map(|u| self.ind(b, u)).collect()).collect();
            return Ok(Access { tuples, lins, ready });
        }
        let b = self.lookup(comps, &srcs)?;
        let Enc::Cat { dims, .. } = &self.blocks[b].enc else { return Err(err::internal("numeric lookup")) };
        let tuples = dims.clone();
        let lins = (0..tuples.len()).map(|i| vec![(R::Dim(b, i), 1.0)]).collect();
        Ok(Access { tuples, lins, ready: self.blocks[b].sub })
    }

    /// The numeric reading of `id` when it is held numerically (`value - offset` in one dimension).
    pub fn numeric(&mut self, id: Id) -> Res<Option<(Lin, i32)>> {
        if !matches!(self.node(id), Node::Aggregate { .. }) {
            return Ok(None);
        }
        let b = self.own_block(id)?;
        Ok(match self.blocks[b].enc {
            Enc::Num { offset } => {
                Some((vec![(R::Dim(b, 0), 1.0), (R::One, offset), (R::Bos, -offset)], self.blocks[b].sub))
            }
            Enc::Cat { .. } => None,
        })
    }

    /// Whether `id`'s readers were planned from a single materialised block (a probe is then free).
    pub fn single_base(&self, id: Id) -> bool {
        self.bases.get(&id).is_some_and(|b| b.len() == 1)
    }
}
