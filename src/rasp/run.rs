//! Per-input evaluation of a program's graph: every node the target needs,
//! in creation order, into buffers that are kept between inputs (after the
//! first few inputs, evaluating allocates nothing). Nodes that depend on the
//! input's length alone (`indices`, `select(indices, indices, <)`, ...) are
//! computed once for a run of inputs of one length and reused: a batch of
//! equal-length inputs pays for them once.

use super::graph::{Arg, Graph, Id, Map1, Node, Table, Tokens};
use super::kernels::{self, Scratch};
use super::value::{self, Op, Strings, Val};
use std::fmt::Write;

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

    /// The target's values on `tokens` (given as `tokens_asis`), or the first error.
    pub fn eval(&mut self, tokens: &[Val]) -> Result<&[Val], EvalError> {
        if tokens.is_empty() {
            return Err(EvalError { message: "RASP evaluates non-empty inputs only; this input is empty".into() });
        }
        let n = tokens.len();
        for idx in 0..self.order.len() {
            let i = self.order[idx];
            if self.valid_for[i as usize] == n {
                continue;
            }
            if let Err(m) = self.node(i, tokens) {
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

    fn col(&self, c: usize) -> &[Val] {
        if c >= usize::MAX - 1 {
            &self.tmp[usize::MAX - c]
        } else {
            &self.cols[c]
        }
    }

    fn node(&mut self, i: Id, tokens: &[Val]) -> Result<(), String> {
        let n = tokens.len();
        let graph = std::sync::Arc::clone(&self.graph);
        let node = &graph.nodes[i as usize];
        if node.is_selector() {
            return self.selector(i, node, n);
        }
        let mut out = std::mem::take(&mut self.cols[i as usize]);
        out.clear();
        let r = self.sop(node, n, tokens, &mut out);
        let f = known_flags(node, &self.flags).unwrap_or_else(|| kernels::flags(&out));
        self.cols[i as usize] = out;
        self.flags[i as usize] = f;
        r?;
        kernels::check_mix(f)
    }

    fn sop(&mut self, node: &Node, n: usize, tokens: &[Val], out: &mut Vec<Val>) -> Result<(), String> {
        match node {
            Node::Indices => out.extend((0..n as i64).map(Val::Int)),
            Node::Length => out.resize(n, Val::Int(n as i64)),
            Node::Tokens(t) => return self.tokens(*t, tokens, out),
            Node::Map1(op, a) => {
                let col = &self.cols[*a as usize];
                match op {
                    Map1::Not => out.extend(col.iter().map(|v| Val::Bool(!v.truthy()))),
                    Map1::Indicator => out.extend(col.iter().map(|v| Val::Int(v.truthy() as i64))),
                    _ => {
                        for &v in col {
                            out.push(map1(*op, v, &self.strings)?);
                        }
                    }
                }
            }
            Node::Map2(op, a, b) => return self.map2(*op, *a, *b, n, out),
            Node::And(a, b) | Node::Or(a, b) => {
                let and = matches!(node, Node::And(..));
                let (ca, _) = self.arg_col(*a, n, 0);
                let (cb, _) = self.arg_col(*b, n, 1);
                let (x, y) = (self.col(ca), self.col(cb));
                out.extend(
                    x.iter()
                        .zip(y)
                        .map(|(p, q)| Val::Bool(if and { p.truthy() && q.truthy() } else { p.truthy() || q.truthy() })),
                );
            }
            Node::Ternary { cond, then, els } => {
                let (cc, _) = self.arg_col(*cond, n, 0);
                let (ct, _) = self.arg_col(*then, n, 1);
                let ce = match els {
                    Arg::Node(e) => *e as usize,
                    Arg::Atom(_) => usize::MAX - 2,
                };
                let (c, t) = (self.col(cc), self.col(ct));
                match els {
                    Arg::Atom(v) => out.extend((0..n).map(|k| if c[k].truthy() { t[k] } else { *v })),
                    Arg::Node(_) => {
                        let e = &self.cols[ce];
                        out.extend((0..n).map(|k| if c[k].truthy() { t[k] } else { e[k] }))
                    }
                }
            }
            Node::InList(a, list) => {
                let col = &self.cols[*a as usize];
                if self.flags[*a as usize] & !kernels::STRS == 0 {
                    // Strings equal only strings, with identical packed bits.
                    out.extend(col.iter().map(|v| Val::Bool(list.contains(v))))
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
                    out.push(lookup(table, v, &self.strings)?);
                }
            }
            Node::Aggregate { sel, seq, default } => {
                let (c, f) = self.arg_col(*seq, n, 0);
                let col = if c >= usize::MAX - 1 { &self.tmp[usize::MAX - c] } else { &self.cols[c] };
                return kernels::aggregate(&self.sels[*sel as usize], col, f, *default, out, &mut self.scratch);
            }
            Node::Width(s) => {
                let w = kernels::words(n);
                let sel = &self.sels[*s as usize];
                out.extend(
                    (0..n).map(|q| Val::Int(sel[q * w..(q + 1) * w].iter().map(|b| b.count_ones() as i64).sum())),
                );
            }
            Node::HasFocus(s) => {
                let w = kernels::words(n);
                let sel = &self.sels[*s as usize];
                out.extend((0..n).map(|q| Val::Bool(sel[q * w..(q + 1) * w].iter().any(|b| *b != 0))));
            }
            _ => unreachable!("selector nodes are handled apart"),
        }
        Ok(())
    }

    fn map2(&mut self, op: Op, a: Arg, b: Arg, n: usize, out: &mut Vec<Val>) -> Result<(), String> {
        let (ca, fa) = self.arg_col(a, n, 0);
        let (cb, fb) = self.arg_col(b, n, 1);
        let (x, y) = (
            if ca >= usize::MAX - 1 { &self.tmp[usize::MAX - ca] } else { &self.cols[ca] },
            if cb >= usize::MAX - 1 { &self.tmp[usize::MAX - cb] } else { &self.cols[cb] },
        );
        if fa == kernels::INT && fb == kernels::INT {
            if let Some(()) = int_map2(op, x, y, out) {
                return Ok(());
            }
            out.clear();
        }
        if (fa | fb) & !(kernels::INT | kernels::FLOAT) == 0 {
            if let Some(()) = num_map2(op, x, y, out) {
                return Ok(());
            }
            out.clear();
        }
        for (p, q) in x.iter().zip(y) {
            out.push(value::binary(op, *p, *q, &mut self.strings)?);
        }
        Ok(())
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
            Node::Select { keys, queries, op } => {
                let (ck, fk) = self.arg_col(*keys, n, 0);
                let (cq, fq) = self.arg_col(*queries, n, 1);
                let k = if ck >= usize::MAX - 1 { &self.tmp[usize::MAX - ck] } else { &self.cols[ck] };
                let q = if cq >= usize::MAX - 1 { &self.tmp[usize::MAX - cq] } else { &self.cols[cq] };
                kernels::select(k, fk, q, fq, *op, &mut out, &mut self.scratch, &self.strings)
            }
            _ => unreachable!("not a selector"),
        };
        kernels::mask_tail(&mut out, n);
        self.sels[i as usize] = out;
        r
    }

    fn tokens(&mut self, t: Tokens, tokens: &[Val], out: &mut Vec<Val>) -> Result<(), String> {
        for &v in tokens {
            let x = match t {
                Tokens::Asis => v,
                Tokens::Bool => Val::Bool(v.truthy()),
                Tokens::Str => match v {
                    Val::Str(_) => v,
                    _ => {
                        self.text.clear();
                        py_str(v, &mut self.text);
                        Val::Str(self.strings.intern(&self.text))
                    }
                },
                Tokens::Int => to_int(v, &self.strings)?,
                Tokens::Float => to_float(v, &self.strings)?,
            };
            out.push(x);
        }
        Ok(())
    }
}

/// The kinds of atoms a node's output holds, when its kind tells them.
fn known_flags(node: &Node, flags: &[u8]) -> Option<u8> {
    use kernels::{BOOL, INT};
    Some(match node {
        Node::Indices | Node::Length | Node::Width(_) | Node::Map1(Map1::Indicator, _) => INT,
        Node::HasFocus(_) | Node::And(..) | Node::Or(..) | Node::InList(..) | Node::AnyEq(..) => BOOL,
        Node::Map1(Map1::Not, _) => BOOL,
        Node::Map2(Op::Eq | Op::Ne | Op::Lt | Op::Gt | Op::Le | Op::Ge, ..) => BOOL,
        Node::Map2(Op::Add | Op::Sub | Op::Mul, Arg::Node(a), Arg::Node(b))
            if flags[*a as usize] == INT && flags[*b as usize] == INT =>
        {
            INT
        }
        Node::Map2(Op::Add | Op::Sub | Op::Mul, Arg::Node(a), Arg::Atom(Val::Int(_)))
        | Node::Map2(Op::Add | Op::Sub | Op::Mul, Arg::Atom(Val::Int(_)), Arg::Node(a))
            if flags[*a as usize] == INT =>
        {
            INT
        }
        _ => return None,
    })
}

/// Elementwise ops on two int columns (no Python corner cases); `None` to fall back.
fn int_map2(op: Op, x: &[Val], y: &[Val], out: &mut Vec<Val>) -> Option<()> {
    for (p, q) in x.iter().zip(y) {
        let (Val::Int(a), Val::Int(b)) = (*p, *q) else { return None };
        out.push(match op {
            Op::Add => Val::Int(a.checked_add(b)?),
            Op::Sub => Val::Int(a.checked_sub(b)?),
            Op::Mul => Val::Int(a.checked_mul(b)?),
            Op::Eq => Val::Bool(a == b),
            Op::Ne => Val::Bool(a != b),
            Op::Lt => Val::Bool(a < b),
            Op::Gt => Val::Bool(a > b),
            Op::Le => Val::Bool(a <= b),
            Op::Ge => Val::Bool(a >= b),
            _ => return None,
        });
    }
    Some(())
}

/// Elementwise arithmetic on ints and floats (Python's rules; ints exact in
/// f64); `None` to fall back (overflow, division by zero, huge ints).
fn num_map2(op: Op, x: &[Val], y: &[Val], out: &mut Vec<Val>) -> Option<()> {
    const EXACT: i64 = 1 << 53;
    let f = |v: Val| match v {
        Val::Int(i) if i.abs() <= EXACT => Some(i as f64),
        Val::Float(f) => Some(f),
        _ => None,
    };
    for (p, q) in x.iter().zip(y) {
        if let (Val::Int(a), Val::Int(b)) = (*p, *q) {
            out.push(match op {
                Op::Add => Val::Int(a.checked_add(b)?),
                Op::Sub => Val::Int(a.checked_sub(b)?),
                Op::Mul => Val::Int(a.checked_mul(b)?),
                Op::Div if b != 0 => Val::Float(a as f64 / b as f64),
                Op::Eq => Val::Bool(a == b),
                Op::Ne => Val::Bool(a != b),
                Op::Lt => Val::Bool(a < b),
                Op::Gt => Val::Bool(a > b),
                Op::Le => Val::Bool(a <= b),
                Op::Ge => Val::Bool(a >= b),
                _ => return None,
            });
            continue;
        }
        let (a, b) = (f(*p)?, f(*q)?);
        out.push(match op {
            Op::Add => Val::Float(a + b),
            Op::Sub => Val::Float(a - b),
            Op::Mul => Val::Float(a * b),
            Op::Div if b != 0.0 => Val::Float(a / b),
            Op::Eq => Val::Bool(a == b),
            Op::Ne => Val::Bool(a != b),
            Op::Lt => Val::Bool(a < b),
            Op::Gt => Val::Bool(a > b),
            Op::Le => Val::Bool(a <= b),
            Op::Ge => Val::Bool(a >= b),
            _ => return None,
        });
    }
    Some(())
}

fn map1(op: Map1, v: Val, strings: &Strings) -> Result<Val, String> {
    match op {
        Map1::Neg => value::negate(v, true, strings),
        Map1::Pos => value::negate(v, false, strings),
        Map1::Not => Ok(Val::Bool(!v.truthy())),
        Map1::Round => match v {
            Val::Int(_) => Ok(v),
            Val::Float(f) if f.abs() < 9.0e18 => Ok(Val::Int(round_half_even(f) as i64)),
            _ => value::round(v, strings),
        },
        Map1::Indicator => Ok(Val::Int(v.truthy() as i64)),
    }
}

/// `f.round_ties_even()` without the libm call: adding and subtracting 2^52 rounds a
/// float below 2^52 to an integer in the default (nearest, ties-to-even) mode; larger
/// floats are integers already.
#[inline]
fn round_half_even(f: f64) -> f64 {
    const TWO52: f64 = 4_503_599_627_370_496.0;
    let a = f.abs();
    if a < TWO52 {
        ((a + TWO52) - TWO52).copysign(f)
    } else {
        f
    }
}

fn lookup(table: &Table, v: Val, strings: &Strings) -> Result<Val, String> {
    match table {
        Table::Dict(d) => d
            .iter()
            .find(|(k, _)| value::eq(*k, v))
            .map(|(_, x)| *x)
            .ok_or_else(|| format!("key {} not in the dict", v.show(strings))),
        Table::List(l) => {
            let i = match v {
                Val::Int(i) => i,
                Val::Bool(b) => b as i64,
                _ => return Err(format!("a list index must be an int, got {}", v.show(strings))),
            };
            let n = l.len() as i64;
            if i >= n || -i > n {
                return Err(format!("index {i} out of range for a list of length {n}"));
            }
            Ok(l[i.rem_euclid(n) as usize])
        }
    }
}

/// Python's `str(v)`.
fn py_str(v: Val, out: &mut String) {
    match v {
        Val::Int(i) => {
            let _ = write!(out, "{i}");
        }
        Val::Bool(b) => out.push_str(if b { "True" } else { "False" }),
        Val::Float(f) => out.push_str(&value::py_float_repr(f)),
        Val::Str(_) => {}
    }
}

fn to_int(v: Val, strings: &Strings) -> Result<Val, String> {
    match v {
        Val::Int(_) => Ok(v),
        Val::Bool(b) => Ok(Val::Int(b as i64)),
        Val::Float(f) if f.is_finite() && f.abs() < 9.2e18 => Ok(Val::Int(f.trunc() as i64)),
        Val::Float(f) => Err(format!("cannot convert float {f} to integer")),
        Val::Str(s) => {
            let text = strings.string(s);
            let t = text.trim();
            let digits = t.strip_prefix(['+', '-']).unwrap_or(t);
            let ok = !digits.is_empty()
                && !digits.starts_with('_')
                && !digits.ends_with('_')
                && !digits.contains("__")
                && digits.chars().all(|c| c.is_ascii_digit() || c == '_');
            let parsed = if ok { t.replace('_', "").parse::<i64>().ok() } else { None };
            parsed.map(Val::Int).ok_or_else(|| format!("invalid literal for int() with base 10: '{text}'"))
        }
    }
}

fn to_float(v: Val, strings: &Strings) -> Result<Val, String> {
    match v {
        Val::Int(i) => Ok(Val::Float(i as f64)),
        Val::Bool(b) => Ok(Val::Float(b as i64 as f64)),
        Val::Float(_) => Ok(v),
        Val::Str(s) => {
            let text = strings.string(s);
            let t = text.trim().to_ascii_lowercase();
            let t = t.strip_prefix('+').unwrap_or(&t);
            let t = match t {
                "infinity" | "inf" => "inf",
                "-infinity" | "-inf" => "-inf",
                x => x,
            };
            t.parse::<f64>().map(Val::Float).map_err(|_| format!("could not convert string to float: '{text}'"))
        }
    }
}
