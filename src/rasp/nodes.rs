//! One node of the graph on a batch (see `run`): s-ops into `b * n` atoms,
//! selectors into `b` matrices of `n` rows. Elementwise nodes run over the
//! whole batch at once; selectors and aggregates input by input, each with
//! its own input's kinds of atoms, as a single input has them.

use super::ast::SelOp;
use super::column::{Col, View};
use super::elementwise as ew;
use super::graph::{Arg, Id, Node, Tokens};
use super::kernels;
use super::run::Evaluator;
use super::typed::{self, Bufs};
use super::value::{self, Str, Strings, Val};

impl Evaluator {
    pub(super) fn node(&mut self, i: Id, node: &Node, tokens: &[Val]) -> Result<(), String> {
        if node.is_selector() {
            return self.selector(i, node);
        }
        let mut out = std::mem::take(&mut self.cols[i as usize]);
        let r = self.sop(node, tokens, &mut out);
        let f = match r {
            Ok(Some(f)) => f,
            _ => out.view().flags(),
        };
        self.cols[i as usize] = out;
        self.flags[i as usize] = f;
        r?;
        kernels::check_mix(f)
    }

    /// Evaluates an s-op node into `out`; returns its kinds of atoms where the kernel knew them.
    fn sop(&mut self, node: &Node, tokens: &[Val], out: &mut Col) -> Result<Option<u8>, String> {
        let (n, b) = (self.n, self.b);
        let (cols, flags, bufs) = (&self.cols, &self.flags, &mut self.bufs);
        let arg = |a: Arg| arg(cols, flags, n * b, a);
        match node {
            Node::Indices => {
                let o = out.ints();
                (0..b).for_each(|_| o.extend(0..n as i64));
            }
            Node::Length => out.ints().resize(n * b, n as i64),
            Node::Tokens(t) => return tokens_col(*t, tokens, out, bufs, &mut self.strings, &mut self.text),
            Node::Map1(op, a) => {
                let (x, f) = arg(Arg::Node(*a));
                return typed::map1(*op, x, f, out, bufs, &self.strings);
            }
            Node::Map2(op, a, c) => {
                return typed::map2(*op, arg(*a).0, arg(*c).0, out, bufs, &mut self.strings).map(Some)
            }
            Node::And(a, c) | Node::Or(a, c) => {
                typed::and_or(matches!(node, Node::And(..)), arg(*a).0, arg(*c).0, out, bufs)
            }
            Node::Ternary { cond, then, els } => {
                return Ok(typed::ternary(arg(*cond).0, arg(*then).0, arg(*els).0, out, bufs))
            }
            Node::InList(a, list) => typed::in_list(cols[*a as usize].view(), list, out),
            Node::AnyEq(a, x) => {
                let col = cols[*a as usize].view();
                let o = out.bools();
                for k in 0..b {
                    let any = (k * n..(k + 1) * n).any(|j| value::eq(col.get(j), *x));
                    o.extend(std::iter::repeat_n(any, n));
                }
            }
            Node::Lookup(a, table) => {
                let col = cols[*a as usize].view();
                bufs.vals.clear();
                for k in 0..n * b {
                    bufs.vals.push(ew::lookup(table, col.get(k), &self.strings)?);
                }
                let f = kernels::flags(&bufs.vals);
                out.set_vals(&mut bufs.vals, f);
                return Ok(Some(f));
            }
            Node::Aggregate { sel, seq, default } => {
                let (seq, f) = arg(*seq);
                let sel = &self.sels[*sel as usize];
                return aggregate(sel, seq, f, *default, n, out, bufs, &mut self.scratch).map(Some);
            }
            Node::Width(s) => kernels::width(&self.sels[*s as usize], n, out.ints()),
            Node::HasFocus(s) => {
                let w = kernels::words(n);
                out.bools().extend(self.sels[*s as usize].chunks(w).map(|row| row.iter().any(|b| *b != 0)));
            }
            _ => unreachable!("selector nodes are handled apart"),
        }
        Ok(None)
    }

    fn selector(&mut self, i: Id, node: &Node) -> Result<(), String> {
        let (n, w) = (self.n, kernels::words(self.n));
        let mut out = std::mem::take(&mut self.sels[i as usize]);
        out.clear();
        out.resize(self.b * n * w, 0);
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
            Node::Select { keys, queries, op } => self.select(*keys, *queries, *op, &mut out),
            _ => unreachable!("not a selector"),
        };
        if !matches!(node, Node::SelAnd(..) | Node::SelOr(..)) {
            kernels::mask_tail(&mut out, n); // `and`/`or` of masked rows stay masked
        }
        self.sels[i as usize] = out;
        r
    }

    /// `select(keys, queries, op)`, input by input; against an atom query, every row of
    /// an input is the same, computed once and copied.
    fn select(&mut self, keys: Arg, queries: Arg, op: SelOp, out: &mut [u64]) -> Result<(), String> {
        let (n, w) = (self.n, kernels::words(self.n));
        let (k, fk) = arg(&self.cols, &self.flags, n * self.b, keys);
        let (q, fq) = arg(&self.cols, &self.flags, n * self.b, queries);
        let same = matches!((keys, queries), (Arg::Node(a), Arg::Node(c)) if a == c);
        let (s, strings) = (&mut self.scratch, &self.strings);
        for (x, m) in out.chunks_mut(n * w).enumerate() {
            let keys = k.slice(x * n, (x + 1) * n);
            let fk = own_flags(keys, fk);
            if let View::Atom(atom, _) = q {
                let (first, rest) = m.split_at_mut(w);
                let q = View::Atom(atom, 1);
                kernels::select(keys, fk, q, fq, false, op, first, s, strings)?;
                rest.chunks_mut(w).for_each(|row| row.copy_from_slice(first));
            } else {
                let qs = q.slice(x * n, (x + 1) * n);
                let fq = if same { fk } else { own_flags(qs, fq) };
                kernels::select(keys, fk, qs, fq, same, op, m, s, strings)?;
            }
        }
        Ok(())
    }
}

/// An operand's column (an atom broadcast over `len` positions), and its kinds of atoms.
fn arg<'a>(cols: &'a [Col], flags: &[u8], len: usize, a: Arg) -> (View<'a>, u8) {
    match a {
        Arg::Node(i) => (cols[i as usize].view(), flags[i as usize]),
        Arg::Atom(v) => (View::Atom(v, len), kernels::flag(v)),
    }
}

/// `aggregate(sel, seq, default)`, input by input (`n` positions each); returns the kinds of
/// atoms written.
#[allow(clippy::too_many_arguments)]
fn aggregate(
    sel: &[u64],
    seq: View,
    f: u8,
    default: Val,
    n: usize,
    out: &mut Col,
    bufs: &mut Bufs,
    scratch: &mut kernels::Scratch,
) -> Result<u8, String> {
    let w = kernels::words(n);
    let vals = &mut bufs.vals;
    vals.clear();
    vals.resize(seq.len(), default);
    let mut kinds = 0;
    for (k, o) in vals.chunks_mut(n).enumerate() {
        let input = seq.slice(k * n, (k + 1) * n);
        let f = own_flags(input, f);
        kinds |= kernels::aggregate(&sel[k * n * w..(k + 1) * n * w], input, f, default, o, scratch)?;
    }
    out.set_vals(vals, kinds);
    Ok(kinds)
}

/// The input s-ops: the tokens as they are, or converted.
fn tokens_col(
    t: Tokens,
    tokens: &[Val],
    out: &mut Col,
    bufs: &mut Bufs,
    strings: &mut Strings,
    text: &mut String,
) -> Result<Option<u8>, String> {
    if matches!(t, Tokens::Asis | Tokens::Str) && tokens.iter().all(|v| matches!(v, Val::Str(_))) {
        out.strs().extend(tokens.iter().map(|v| if let Val::Str(s) = v { *s } else { Str::EMPTY }));
        return Ok(None);
    }
    let vals = &mut bufs.vals;
    vals.clear();
    for &v in tokens {
        vals.push(match t {
            Tokens::Asis => v,
            Tokens::Bool => Val::Bool(v.truthy()),
            Tokens::Str => match v {
                Val::Str(_) => v,
                _ => {
                    text.clear();
                    ew::py_str(v, text);
                    Val::Str(strings.intern(text))
                }
            },
            Tokens::Int => ew::to_int(v, strings)?,
            Tokens::Float => ew::to_float(v, strings)?,
        });
    }
    let f = kernels::flags(vals);
    out.set_vals(vals, f);
    Ok(Some(f))
}

/// The kinds of atoms in one input's part of a column whose kinds, over the whole
/// batch, are `batch`: the same when that is one kind, else counted.
fn own_flags(input: View, batch: u8) -> u8 {
    if batch.count_ones() <= 1 {
        batch
    } else {
        input.flags()
    }
}
