//! Per-input evaluation of a program's graph: every node the target needs,
//! in creation order, into buffers that are kept between inputs (after the
//! first few inputs, evaluating allocates nothing). Nodes that depend on the
//! input's length alone (`indices`, `select(indices, indices, <)`, ...) are
//! computed once for a run of inputs of one length and reused: a batch of
//! equal-length inputs pays for them once.

use super::ast::SelOp;
use super::elementwise::{self as ew, map2_flags};
use super::graph::{Arg, Graph, Id, Map1, Node, Tokens};
use super::kernels::{self, Scratch};
use super::value::{self, Op, Strings, Val};

/// The most tokens one input may have: every selector holds n² bits (12.5 MB at 10,000).
pub const MAX_INPUT_TOKENS: usize = 10_000;

/// Bytes of strings from earlier inputs kept before [`Evaluator::start_input`] forgets them.
const RECYCLE_BYTES: usize = 16 << 20;

/// Evaluates one s-op of a program on inputs.
#[derive(Clone)]
pub struct Evaluator {
    graph: std::sync::Arc<Graph>,
    order: Vec<Id>,
    target: Id,
    /// Whether a node depends on the input length alone ([`Graph::length_only`]).
    length_only: Vec<bool>,
    /// The input length a length-only node's buffer holds (0: none).
    valid_for: Vec<usize>,
    pub strings: Strings,
    /// The table as the program left it; [`Evaluator::start_input`] returns to it.
    base: value::Mark,
    cols: Vec<Vec<Val>>,
    flags: Vec<u8>,
    sels: Vec<Vec<u64>>,
    scratch: Scratch,
    tmp: [Vec<Val>; 2],
    text: String,
    describe: std::sync::Arc<dyn Fn(crate::source::Span) -> String + Send + Sync>,
}

impl std::fmt::Debug for Evaluator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "rasp::Evaluator(target {}, {} nodes)", self.target, self.order.len())
    }
}

/// An evaluation error: the message and the node that failed.
#[derive(Clone, Debug)]
pub struct EvalError {
    pub message: String,
}

impl std::fmt::Display for EvalError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl Evaluator {
    pub(crate) fn new(
        graph: std::sync::Arc<Graph>,
        target: Id,
        strings: Strings,
        describe: std::sync::Arc<dyn Fn(crate::source::Span) -> String + Send + Sync>,
    ) -> Evaluator {
        let order = graph.ancestors(target);
        let len = graph.nodes.len();
        let length_only = graph.length_only();
        Evaluator {
            graph,
            order,
            target,
            length_only,
            valid_for: vec![0; len],
            base: strings.mark(),
            strings,
            cols: vec![vec![]; len],
            flags: vec![0; len],
            sels: vec![vec![]; len],
            scratch: Scratch::default(),
            tmp: [vec![], vec![]],
            text: String::new(),
            describe,
        }
    }

    /// Call before interning a new input's tokens: forgets the long strings
    /// that earlier inputs created once they hold over 16 MiB, so that a long
    /// stream of inputs runs in bounded memory (values from earlier inputs,
    /// and the strings they name, must not be used after this).
    pub fn start_input(&mut self) {
        if self.strings.bytes().saturating_sub(self.base.bytes()) > RECYCLE_BYTES {
            self.strings.truncate(self.base);
            self.valid_for.fill(0); // cached length-only columns may name forgotten strings
        }
    }

    /// The target's values on `tokens` (given as `tokens_asis`), or the first
    /// error (also when the strings it creates go over the limits of `strings`).
    pub fn eval(&mut self, tokens: &[Val]) -> Result<&[Val], EvalError> {
        if tokens.is_empty() {
            return Err(EvalError { message: "RASP evaluates non-empty inputs only; this input is empty".into() });
        }
        if tokens.len() > MAX_INPUT_TOKENS {
            let message = format!(
                "the input has {} tokens, over algen's RASP limit of {MAX_INPUT_TOKENS} tokens per input",
                tokens.len()
            );
            return Err(EvalError { message });
        }
        self.strings.begin_input();
        let n = tokens.len();
        let graph = std::sync::Arc::clone(&self.graph);
        for idx in 0..self.order.len() {
            let i = self.order[idx];
            if self.valid_for[i as usize] == n {
                continue;
            }
            if let Err(m) = self.node(i, &graph.nodes[i as usize], tokens) {
                let at = (self.describe)(self.graph.spans[i as usize]);
                return Err(EvalError { message: format!("{m} ({at})") });
            }
            if self.length_only[i as usize] {
                self.valid_for[i as usize] = n;
            }
        }
        Ok(&self.cols[self.target as usize])
    }

    /// The target selector on `tokens`: `m[q][k]` is whether query `q` selects key `k`.
    pub fn matrix(&mut self, tokens: &[Val]) -> Result<Vec<Vec<bool>>, EvalError> {
        self.eval(tokens)?;
        let (n, w) = (tokens.len(), kernels::words(tokens.len()));
        let sel = &self.sels[self.target as usize];
        Ok((0..n).map(|q| (0..n).map(|k| sel[q * w + k / 64] >> (k % 64) & 1 == 1).collect()).collect())
    }

    fn arg_col(&mut self, a: Arg, n: usize, slot: usize) -> (usize, u8) {
        match a {
            Arg::Node(i) => (i as usize, self.flags[i as usize]),
            Arg::Atom(v) => {
                let t = &mut self.tmp[slot];
                t.clear();
                t.resize(n, v);
                (usize::MAX - slot, kernels::flag(v))
            }
        }
    }

    fn node(&mut self, i: Id, node: &Node, tokens: &[Val]) -> Result<(), String> {
        let n = tokens.len();
        if node.is_selector() {
            return self.selector(i, node, n);
        }
        let mut out = std::mem::take(&mut self.cols[i as usize]);
        out.clear();
        let r = self.sop(node, n, tokens, &mut out);
        let f = match r {
            Ok(Some(f)) => f,
            _ => self.known_flags(node).unwrap_or_else(|| kernels::flags(&out)),
        };
        self.cols[i as usize] = out;
        self.flags[i as usize] = f;
        r?;
        kernels::check_mix(f)
    }

    /// Evaluates an s-op node into `out`; returns its flags where the kernel knew them.
    fn sop(&mut self, node: &Node, n: usize, tokens: &[Val], out: &mut Vec<Val>) -> Result<Option<u8>, String> {
        match node {
            Node::Indices => out.extend((0..n as i64).map(Val::Int)),
            Node::Length => out.resize(n, Val::Int(n as i64)),
            Node::Tokens(t) => self.tokens(*t, tokens, out)?,
            Node::Map1(op, a) => ew::map1(*op, &self.cols[*a as usize], self.flags[*a as usize], out, &self.strings)?,
            Node::Map2(op, a, b) => return self.map2(*op, *a, *b, n, out),
            Node::And(a, b) | Node::Or(a, b) => {
                let and = matches!(node, Node::And(..));
                let (ca, _) = self.arg_col(*a, n, 0);
                let (cb, _) = self.arg_col(*b, n, 1);
                let (x, y) = (col(&self.cols, &self.tmp, ca), col(&self.cols, &self.tmp, cb));
                // Both sides are evaluated already: `&`/`|` on their truth values, no branches.
                if and {
                    out.extend(x.iter().zip(y).map(|(p, q)| Val::Bool(p.truthy() & q.truthy())));
                } else {
                    out.extend(x.iter().zip(y).map(|(p, q)| Val::Bool(p.truthy() | q.truthy())));
                }
            }
            Node::Ternary { cond, then, els } => {
                let (cc, _) = self.arg_col(*cond, n, 0);
                let (ct, _) = self.arg_col(*then, n, 1);
                let ce = match els {
                    Arg::Node(e) => *e as usize,
                    Arg::Atom(_) => usize::MAX - 2,
                };
                let (c, t) = (col(&self.cols, &self.tmp, cc), col(&self.cols, &self.tmp, ct));
                // Picked by index, not by a branch: conditions vary from token to token.
                match els {
                    Arg::Atom(v) => out.extend((0..n).map(|k| [*v, t[k]][c[k].truthy() as usize])),
                    Arg::Node(_) => {
                        let e = &self.cols[ce];
                        out.extend((0..n).map(|k| [e[k], t[k]][c[k].truthy() as usize]))
                    }
                }
            }
            Node::InList(a, list) => {
                let col = &self.cols[*a as usize];
                if self.flags[*a as usize] & !kernels::STRS == 0 {
                    // Strings equal only strings, with identical packed bits.
                    // Every entry compared (no early exit): which one matches varies by token.
                    out.extend(col.iter().map(|v| Val::Bool(list.iter().fold(false, |hit, x| hit | (x == v)))))
                } else {
                    out.extend(col.iter().map(|v| Val::Bool(list.iter().any(|x| value::eq(*v, *x)))))
                }
            }
            Node::AnyEq(a, x) => {
                let any = self.cols[*a as usize].iter().any(|v| value::eq(*v, *x));
                out.resize(n, Val::Bool(any));
            }
            Node::Lookup(a, table) => {
                for &v in &self.cols[*a as usize] {
                    out.push(ew::lookup(table, v, &self.strings)?);
                }
            }
            Node::Aggregate { sel, seq, default } => {
                let (c, f) = self.arg_col(*seq, n, 0);
                let seq = col(&self.cols, &self.tmp, c);
                return kernels::aggregate(&self.sels[*sel as usize], seq, f, *default, out, &mut self.scratch)
                    .map(Some);
            }
            Node::Width(s) => kernels::width(&self.sels[*s as usize], n, out),
            Node::HasFocus(s) => {
                let w = kernels::words(n);
                let sel = &self.sels[*s as usize];
                out.extend((0..n).map(|q| Val::Bool(sel[q * w..(q + 1) * w].iter().any(|b| *b != 0))));
            }
            _ => unreachable!("selector nodes are handled apart"),
        }
        Ok(None)
    }

    /// `a OP b` into `out`; the output's flags when the fast string path decided them.
    fn map2(&mut self, op: Op, a: Arg, b: Arg, n: usize, out: &mut Vec<Val>) -> Result<Option<u8>, String> {
        let (ca, fa) = self.arg_col(a, n, 0);
        let (cb, fb) = self.arg_col(b, n, 1);
        let (x, y) = (col(&self.cols, &self.tmp, ca), col(&self.cols, &self.tmp, cb));
        let num = (fa | fb) & !(kernels::INT | kernels::FLOAT) == 0;
        if num && ew::num_map2(op, x, y, out).is_some() {
            return Ok(None);
        }
        if !num && op == Op::Add && fa == kernels::STR && fb == kernels::STR && ew::concat_map2(x, y, out).is_some() {
            return Ok(Some(kernels::STR)); // every sum stayed inline
        }
        out.clear();
        for (p, q) in x.iter().zip(y) {
            out.push(value::binary(op, *p, *q, &mut self.strings)?);
        }
        Ok(None)
    }

    fn selector(&mut self, i: Id, node: &Node, n: usize) -> Result<(), String> {
        let w = kernels::words(n);
        let mut out = std::mem::take(&mut self.sels[i as usize]);
        out.clear();
        out.resize(n * w, 0);
        let r = match node {
            Node::SelAll => {
                out.fill(!0);
                Ok(())
            }
            Node::SelAnd(a, b) | Node::SelOr(a, b) => {
                let (x, y) = (&self.sels[*a as usize], &self.sels[*b as usize]);
                let and = matches!(node, Node::SelAnd(..));
                for (o, (p, q)) in out.iter_mut().zip(x.iter().zip(y)) {
                    *o = if and { p & q } else { p | q };
                }
                Ok(())
            }
            Node::SelNot(a) => {
                for (o, p) in out.iter_mut().zip(&self.sels[*a as usize]) {
                    *o = !p;
                }
                Ok(())
            }
            Node::Select { keys, queries: Arg::Atom(a), op } => self.select_atom_query(*keys, *a, *op, n, &mut out),
            Node::Select { keys, queries, op } => {
                let (ck, fk) = self.arg_col(*keys, n, 0);
                let (cq, fq) = self.arg_col(*queries, n, 1);
                let k = col(&self.cols, &self.tmp, ck);
                let q = col(&self.cols, &self.tmp, cq);
                kernels::select(k, fk, q, fq, *op, &mut out, &mut self.scratch, &self.strings)
            }
            _ => unreachable!("not a selector"),
        };
        if !matches!(node, Node::SelAnd(..) | Node::SelOr(..)) {
            kernels::mask_tail(&mut out, n); // `and`/`or` of masked rows stay masked
        }
        self.sels[i as usize] = out;
        r
    }

    /// `select(keys, ATOM, op)`: every row is the same, computed once and copied.
    fn select_atom_query(&mut self, keys: Arg, atom: Val, op: SelOp, n: usize, out: &mut [u64]) -> Result<(), String> {
        let w = kernels::words(n);
        let (ck, fk) = self.arg_col(keys, n, 0);
        let k = col(&self.cols, &self.tmp, ck);
        let q = [atom];
        kernels::select(k, fk, &q, kernels::flag(atom), op, &mut out[..w], &mut self.scratch, &self.strings)?;
        let (first, rest) = out.split_at_mut(w);
        for row in rest.chunks_mut(w) {
            row.copy_from_slice(first);
        }
        Ok(())
    }

    fn tokens(&mut self, t: Tokens, tokens: &[Val], out: &mut Vec<Val>) -> Result<(), String> {
        if t == Tokens::Asis || (t == Tokens::Str && tokens.iter().all(|v| matches!(v, Val::Str(_)))) {
            out.extend_from_slice(tokens);
            return Ok(());
        }
        for &v in tokens {
            let x = match t {
                Tokens::Asis => v,
                Tokens::Bool => Val::Bool(v.truthy()),
                Tokens::Str => match v {
                    Val::Str(_) => v,
                    _ => {
                        self.text.clear();
                        ew::py_str(v, &mut self.text);
                        Val::Str(self.strings.intern(&self.text))
                    }
                },
                Tokens::Int => ew::to_int(v, &self.strings)?,
                Tokens::Float => ew::to_float(v, &self.strings)?,
            };
            out.push(x);
        }
        Ok(())
    }

    /// The kinds of atoms a node's output holds, when its inputs' kinds tell them exactly.
    fn known_flags(&self, node: &Node) -> Option<u8> {
        use kernels::{BOOL, FLOAT, INT};
        let of = |a: &Arg| match a {
            Arg::Node(i) => self.flags[*i as usize],
            Arg::Atom(v) => kernels::flag(*v),
        };
        Some(match node {
            Node::Indices | Node::Length | Node::Width(_) | Node::Map1(Map1::Indicator | Map1::Round, _) => INT,
            Node::HasFocus(_) | Node::And(..) | Node::Or(..) | Node::InList(..) | Node::AnyEq(..) => BOOL,
            Node::Map1(Map1::Not, _) => BOOL,
            Node::Map1(Map1::Neg | Map1::Pos, a) if matches!(self.flags[*a as usize], INT | FLOAT) => {
                self.flags[*a as usize]
            }
            Node::Map2(op, a, b) => return map2_flags(*op, of(a), of(b)),
            // One kind on both sides (one bit): the result holds that kind.
            Node::Ternary { then, els, .. } if of(then) == of(els) && of(then).count_ones() == 1 => of(then),
            _ => return None,
        })
    }
}

/// Column `c` of [`Evaluator::arg_col`]: a node's buffer, or a broadcast atom's.
fn col<'a>(cols: &'a [Vec<Val>], tmp: &'a [Vec<Val>; 2], c: usize) -> &'a [Val] {
    if c >= usize::MAX - 1 {
        &tmp[usize::MAX - c]
    } else {
        &cols[c]
    }
}
