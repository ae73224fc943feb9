//! Definition time, calls and indexing: function application (incl. the
//! natives `selector_width` and `has_focus`), `range`, `zip`, and `x[i]` on
//! lists, strings, dicts and s-ops (an s-op index becomes a one-position aggregate).

use super::ast::*;
use super::define::{type_error, value_error, Definer, Env, Native, Stop, Value, R};
use super::define_expr::atoms_of;
use super::graph::{Arg, Node, Table};
use super::value::{self, Op, Val};
use crate::diag::Diag;
use crate::source::Span;

/// The most elements a definition-time list may hold (`range`, `+`).
pub(super) const MAX_LIST_LEN: usize = 1_000_000;
use std::rc::Rc;

impl Definer {
    pub(super) fn apply(&mut self, f: Value, args: Vec<Value>, fspan: Span, span: Span) -> R<Value> {
        if args.iter().any(|a| matches!(a, Value::Poison)) {
            return Err(Stop::Quiet);
        }
        match f {
            Value::Func(f) => self.call(&f, args, span),
            Value::Native(n) => {
                let [Value::Sel(s)] = args.as_slice() else {
                    let got = args.first().map_or("nothing", Value::kind);
                    let name = if n == Native::SelectorWidth { "selector_width" } else { "has_focus" };
                    return Err(type_error(
                        span,
                        format!("`{name}` takes one selector, got {got}"),
                        "expected a selector",
                    ));
                };
                let node = if n == Native::SelectorWidth { Node::Width(*s) } else { Node::HasFocus(*s) };
                Ok(Value::Sop(self.node(node, span)?))
            }
            Value::Sop(_) | Value::Sel(_) => Err(Diag::error(
                "algen::check::rasp_unsupported",
                "applying an s-op or selector to an input inside a program is not supported",
            )
            .at(span, "evaluated on a concrete input")
            .help("evaluate s-ops on inputs with `algen rasp FILE --eval NAME`")
            .into()),
            Value::Poison => Err(Stop::Quiet),
            other => Err(type_error(fspan, format!("cannot call {}", other.kind()), "not a function")),
        }
    }

    pub(super) fn range(&mut self, es: &[Expr], span: Span, env: &Env) -> R<Value> {
        let mut ns = vec![];
        for e in es {
            match self.expr(e, env)? {
                Value::Atom(Val::Int(i)) => ns.push(i),
                Value::Atom(Val::Bool(b)) => ns.push(b as i64),
                Value::Poison => return Err(Stop::Quiet),
                v => return Err(type_error(e.span, format!("`range` needs integers, got {}", v.kind()), "not an int")),
            }
        }
        let (start, stop, step) = match ns.as_slice() {
            [b] => (0, *b, 1),
            [a, b] => (*a, *b, 1),
            [a, b, c] => (*a, *b, *c),
            _ => return Err(value_error(span, format!("`range` takes 1 to 3 arguments, got {}", ns.len()), "here")),
        };
        if step == 0 {
            return Err(value_error(span, "`range` step must not be zero", "here"));
        }
        let (start, stop, step) = (start as i128, stop as i128, step as i128);
        let count = if step > 0 { (stop - start).max(0) / step } else { (start - stop).max(0) / -step };
        if count > MAX_LIST_LEN as i128 {
            return Err(value_error(span, "`range` over a million numbers", "here"));
        }
        let mut out = vec![];
        let mut i = start;
        while (step > 0 && i < stop) || (step < 0 && i > stop) {
            out.push(Value::Atom(Val::Int(i as i64))); // between start and stop: an i64
            i += step;
        }
        Ok(Value::List(Rc::new(out)))
    }

    pub(super) fn zip(&mut self, es: &[Expr], span: Span, env: &Env) -> R<Value> {
        let mut lists = vec![];
        for e in es {
            match self.expr(e, env)? {
                Value::List(l) => lists.push(l),
                Value::Poison => return Err(Stop::Quiet),
                v => return Err(type_error(e.span, format!("`zip` needs lists, got {}", v.kind()), "not a list")),
            }
        }
        let n = lists[0].len();
        if lists.iter().any(|l| l.len() != n) {
            return Err(value_error(span, "`zip` needs lists of equal length", "lists of different lengths"));
        }
        let rows = (0..n).map(|i| Value::List(Rc::new(lists.iter().map(|l| l[i].clone()).collect()))).collect();
        Ok(Value::List(Rc::new(rows)))
    }

    pub(super) fn index(&mut self, s: Value, i: Value, sspan: Span, ispan: Span, span: Span) -> R<Value> {
        let int = |v: &Value| match v {
            Value::Atom(Val::Int(i)) => Some(*i),
            Value::Atom(Val::Bool(b)) => Some(*b as i64),
            _ => None,
        };
        match (&s, &i) {
            (Value::Poison, _) | (_, Value::Poison) => Err(Stop::Quiet),
            (Value::List(_) | Value::Dict(_), Value::Sop(sop)) => {
                let table = match &s {
                    Value::List(l) => atoms_of(l).map(Table::List),
                    Value::Dict(d) => d
                        .iter()
                        .map(|(k, v)| atoms_of(std::slice::from_ref(v)).map(|a| (*k, a[0])))
                        .collect::<Option<_>>()
                        .map(Table::Dict),
                    _ => None,
                };
                let table = table
                    .ok_or_else(|| type_error(sspan, "lookup through an s-op needs atom values", "holds non-atoms"))?;
                Ok(Value::Sop(self.node(Node::Lookup(*sop, table), span)?))
            }
            (Value::List(l), _) => {
                let k = int(&i).ok_or_else(|| type_error(ispan, "a list index must be an int", "not an int"))?;
                let n = l.len() as i64;
                if k >= n || -k > n {
                    return Err(value_error(
                        ispan,
                        format!("index {k} out of range for a list of length {n}"),
                        "out of range",
                    ));
                }
                Ok(l[k.rem_euclid(n) as usize].clone())
            }
            (Value::Atom(Val::Str(st)), _) => {
                let k = int(&i).ok_or_else(|| type_error(ispan, "a string index must be an int", "not an int"))?;
                let chars: Vec<char> = self.strings.string(*st).chars().collect();
                let n = chars.len() as i64;
                if k >= n || -k > n {
                    return Err(value_error(
                        ispan,
                        format!("index {k} out of range for a string of length {n}"),
                        "out of range",
                    ));
                }
                let c = chars[k.rem_euclid(n) as usize].to_string();
                Ok(Value::Atom(Val::Str(self.strings.intern(&c))))
            }
            (Value::Dict(d), Value::Atom(k)) => match d.iter().find(|(x, _)| value::eq(*x, *k)) {
                Some((_, v)) => Ok(v.clone()),
                None => {
                    Err(value_error(ispan, format!("key {} not in the dict", k.show(&self.strings)), "missing key"))
                }
            },
            (Value::Sop(seq), _) => {
                let k = int(&i).ok_or_else(|| {
                    type_error(ispan, format!("an s-op index must be an int, got {}", i.kind()), "not an int")
                })?;
                let queries = if k >= 0 {
                    Arg::Atom(Val::Int(k))
                } else {
                    Arg::Node(self.node(Node::Map2(Op::Add, Arg::Node(self.length), Arg::Atom(Val::Int(k))), span)?)
                };
                let sel = self.node(Node::Select { keys: Arg::Node(self.indices), queries, op: SelOp::Eq }, span)?;
                Ok(Value::Sop(self.node(Node::Aggregate { sel, seq: Arg::Node(*seq), default: Val::Int(0) }, span)?))
            }
            _ => Err(type_error(sspan, format!("cannot index into {}", s.kind()), "not indexable")),
        }
    }
}
