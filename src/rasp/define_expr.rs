//! Definition time, expressions: atoms, lists and dicts are computed; s-op
//! and selector expressions become graph nodes. Follows the original
//! evaluator's rules for which operand kinds each operator accepts.

use super::ast::*;
use super::define::{lookup, type_error, value_error, visible, Definer, Env, Stop, Value, R};
use super::graph::{Arg, Map1, Node};
use super::value::{self, Op, Val};
use crate::diag::{did_you_mean, Diag};
use crate::source::Span;
use std::rc::Rc;

impl Definer {
    pub fn expr(&mut self, e: &Expr, env: &Env) -> R<Value> {
        let span = e.span;
        match &e.kind {
            ExprKind::Int(i) => Ok(Value::Atom(Val::Int(*i))),
            ExprKind::Float(f) if f.is_infinite() => Err(value_error(span, "integer literal too large", "here")),
            ExprKind::Float(f) => Ok(Value::Atom(Val::Float(*f))),
            ExprKind::Str(s) => Ok(Value::Atom(Val::Str(self.strings.intern(s)))),
            ExprKind::Name(n) => self.name(n, span, env),
            ExprKind::List(es) => Ok(Value::List(Rc::new(es.iter().map(|x| self.expr(x, env)).collect::<R<_>>()?))),
            ExprKind::Dict(kvs) => {
                let mut d = vec![];
                for (k, v) in kvs {
                    let key = self.key(k, env)?;
                    let val = self.expr(v, env)?;
                    dict_insert(&mut d, key, val);
                }
                Ok(Value::Dict(Rc::new(d)))
            }
            ExprKind::ListComp { val, names, iter } => {
                let mut out = vec![];
                for item in self.iterate(iter, env)? {
                    let inner = super::define::new_env(Some(env.clone()));
                    self.bind(names, item, iter.span, &inner)?;
                    out.push(self.expr(val, &inner)?);
                }
                Ok(Value::List(Rc::new(out)))
            }
            ExprKind::DictComp { key, val, names, iter } => {
                let mut d = vec![];
                for item in self.iterate(iter, env)? {
                    let inner = super::define::new_env(Some(env.clone()));
                    self.bind(names, item, iter.span, &inner)?;
                    let k = self.key(key, &inner)?;
                    let v = self.expr(val, &inner)?;
                    dict_insert(&mut d, k, v);
                }
                Ok(Value::Dict(Rc::new(d)))
            }
            ExprKind::Unary { op, e: x } => {
                let v = self.expr(x, env)?;
                self.unary(*op, v, span)
            }
            ExprKind::Binary { op, l, r } => {
                let a = self.expr(l, env)?;
                let b = self.expr(r, env)?;
                self.binary(*op, a, b, span)
            }
            ExprKind::Select { keys, queries, op } => {
                let k = self.expr(keys, env)?;
                let q = self.expr(queries, env)?;
                let keys = self.arg(&k, keys.span, "select")?;
                let queries = self.arg(&q, queries.span, "select")?;
                Ok(Value::Sel(self.node(Node::Select { keys, queries, op: *op }, span)?))
            }
            ExprKind::Aggregate { sel, seq, default } => self.aggregate(sel, seq, default.as_deref(), span, env),
            ExprKind::Ternary { then, cond, els } => self.ternary(then, cond, els, span, env),
            ExprKind::In { item, container } => {
                let a = self.expr(item, env)?;
                let c = self.expr(container, env)?;
                self.contains(a, c, item.span, container.span, span)
            }
            ExprKind::Index { seq, index } => {
                let s = self.expr(seq, env)?;
                let i = self.expr(index, env)?;
                self.index(s, i, seq.span, index.span, span)
            }
            ExprKind::Call { func, args } => {
                let f = self.expr(func, env)?;
                let args = args.iter().map(|a| self.expr(a, env)).collect::<R<Vec<_>>>()?;
                self.apply(f, args, func.span, span)
            }
            ExprKind::Range(es) => self.range(es, span, env),
            ExprKind::Zip(es) => self.zip(es, span, env),
            ExprKind::Len(x) => match self.expr(x, env)? {
                Value::List(l) => Ok(Value::Atom(Val::Int(l.len() as i64))),
                Value::Poison => Err(Stop::Quiet),
                v => Err(type_error(x.span, format!("`len` needs a list, got {}", v.kind()), "not a list")),
            },
        }
    }

    fn name(&mut self, n: &str, span: Span, env: &Env) -> R<Value> {
        match lookup(env, n) {
            Some(Value::Poison) => Err(Stop::Quiet),
            Some(v) => Ok(v),
            None => {
                let names = visible(env);
                let d = Diag::error("algen::check::rasp_unknown_name", format!("unknown name `{n}`"))
                    .at(span, "not defined at this point");
                let d = match did_you_mean(n, names.iter().map(String::as_str)) {
                    Some(c) => d.help(format!("did you mean `{c}`?")),
                    None => d.help("names must be assigned (or defined with `def`) before they are used"),
                };
                Err(d.into())
            }
        }
    }

    /// A dict key: an atom.
    fn key(&mut self, e: &Expr, env: &Env) -> R<Val> {
        match self.expr(e, env)? {
            Value::Atom(v) => Ok(v),
            Value::Poison => Err(Stop::Quiet),
            v => Err(type_error(e.span, format!("dict keys must be atoms, got {}", v.kind()), "not an atom")),
        }
    }

    fn unary(&mut self, op: UnOp, v: Value, span: Span) -> R<Value> {
        let m = match op {
            UnOp::Not => Map1::Not,
            UnOp::Neg => Map1::Neg,
            UnOp::Pos => Map1::Pos,
            UnOp::Round => Map1::Round,
            UnOp::Indicator => Map1::Indicator,
        };
        match v {
            Value::Poison => Err(Stop::Quiet),
            Value::Sop(i) => Ok(Value::Sop(self.node(Node::Map1(m, i), span)?)),
            Value::Sel(i) if op == UnOp::Not => Ok(Value::Sel(self.node(Node::SelNot(i), span)?)),
            v if op == UnOp::Not => Ok(Value::Atom(Val::Bool(!v.truthy()))),
            Value::Atom(_) if op == UnOp::Indicator => {
                Err(type_error(span, "`indicator` needs an s-op, got an atom", "an atom where an s-op belongs"))
            }
            Value::Atom(a) => {
                let r = match op {
                    UnOp::Round => value::round(a, &self.strings),
                    _ => value::negate(a, op == UnOp::Neg, &self.strings),
                };
                r.map(Value::Atom).map_err(|m| value_error(span, m, "here"))
            }
            v => Err(type_error(span, format!("`{}` cannot apply to {}", op.text(), v.kind()), "wrong kind of value")),
        }
    }

    fn binary(&mut self, op: BinOp, a: Value, b: Value, span: Span) -> R<Value> {
        if matches!(a, Value::Poison) || matches!(b, Value::Poison) {
            return Err(Stop::Quiet);
        }
        let sop = matches!(a, Value::Sop(_)) || matches!(b, Value::Sop(_));
        let sel = matches!(a, Value::Sel(_)) || matches!(b, Value::Sel(_));
        if matches!(op, BinOp::And | BinOp::Or) {
            if sop && sel {
                return Err(type_error(
                    span,
                    format!("cannot apply `{}` between a selector and an s-op", op.text()),
                    "a selector mixed with an s-op",
                ));
            }
            if sop {
                let (x, y) = (self.arg(&a, span, op.text())?, self.arg(&b, span, op.text())?);
                let node = if op == BinOp::And { Node::And(x, y) } else { Node::Or(x, y) };
                return Ok(Value::Sop(self.node(node, span)?));
            }
            if sel {
                let (Value::Sel(x), Value::Sel(y)) = (&a, &b) else {
                    return Err(type_error(
                        span,
                        format!("cannot apply `{}` between a selector and a non-selector", op.text()),
                        "both sides must be selectors",
                    ));
                };
                let node = if op == BinOp::And { Node::SelAnd(*x, *y) } else { Node::SelOr(*x, *y) };
                return Ok(Value::Sel(self.node(node, span)?));
            }
            let left_wins = a.truthy() != (op == BinOp::And);
            return Ok(if left_wins { a } else { b });
        }
        if sel {
            return Err(type_error(
                span,
                format!("cannot apply `{}` to a selector", op.text()),
                "a selector where an s-op or atom belongs",
            ));
        }
        let vop = value_op(op);
        if sop {
            let (x, y) = (self.arg(&a, span, op.text())?, self.arg(&b, span, op.text())?);
            return Ok(Value::Sop(self.node(Node::Map2(vop, x, y), span)?));
        }
        match (&a, &b) {
            (Value::Atom(x), Value::Atom(y)) => {
                value::binary(vop, *x, *y, &mut self.strings).map(Value::Atom).map_err(|m| value_error(span, m, "here"))
            }
            (Value::List(x), Value::List(y)) if op == BinOp::Add => {
                if x.len() + y.len() > super::define_call::MAX_LIST_LEN {
                    let msg = format!("a list of {} elements is over the limit of a million", x.len() + y.len());
                    return Err(value_error(span, msg, "this concatenation"));
                }
                Ok(Value::List(Rc::new(x.iter().chain(y.iter()).cloned().collect())))
            }
            (Value::List(x), Value::List(y)) if op == BinOp::Eq => Ok(Value::Atom(Val::Bool(lists_eq(x, y)))),
            _ => Err(type_error(
                span,
                format!("cannot apply `{}` to {} and {}", op.text(), a.kind(), b.kind()),
                "unsupported operands",
            )),
        }
    }

    fn aggregate(&mut self, sel: &Expr, seq: &Expr, default: Option<&Expr>, span: Span, env: &Env) -> R<Value> {
        let s = self.expr(sel, env)?;
        let v = self.expr(seq, env)?;
        let d = default.map(|d| self.expr(d, env)).transpose()?;
        let sel_id = match s {
            Value::Sel(i) => i,
            Value::Poison => return Err(Stop::Quiet),
            other => {
                return Err(type_error(
                    sel.span,
                    format!("`aggregate` needs a selector first, got {}", other.kind()),
                    "expected a selector",
                ))
            }
        };
        let seq_arg = self.arg(&v, seq.span, "aggregate")?;
        let default = match (d, default) {
            (None, _) => Val::Int(0),
            (Some(Value::Atom(a)), _) => a,
            (Some(Value::Poison), _) => return Err(Stop::Quiet),
            (Some(other), Some(e)) => {
                return Err(type_error(
                    e.span,
                    format!("the default of `aggregate` must be an atom, got {}", other.kind()),
                    "not an atom",
                ))
            }
            (Some(_), None) => unreachable!(),
        };
        Ok(Value::Sop(self.node(Node::Aggregate { sel: sel_id, seq: seq_arg, default }, span)?))
    }

    fn ternary(&mut self, then: &Expr, cond: &Expr, els: &Expr, span: Span, env: &Env) -> R<Value> {
        match self.expr(cond, env)? {
            Value::Sop(c) => {
                let t = self.expr(then, env)?;
                let e = self.expr(els, env)?;
                let then = self.arg(&t, then.span, "`x if c else y`")?;
                let els = self.arg(&e, els.span, "`x if c else y`")?;
                Ok(Value::Sop(self.node(Node::Ternary { cond: Arg::Node(c), then, els }, span)?))
            }
            Value::Sel(_) => Err(type_error(
                cond.span,
                "the condition of `x if c else y` cannot be a selector",
                "a selector where an s-op or atom belongs",
            )),
            Value::Poison => Err(Stop::Quiet),
            c if c.truthy() => self.expr(then, env),
            _ => self.expr(els, env),
        }
    }

    fn contains(&mut self, a: Value, c: Value, aspan: Span, cspan: Span, span: Span) -> R<Value> {
        match (a, c) {
            (Value::Poison, _) | (_, Value::Poison) => Err(Stop::Quiet),
            (Value::Sop(s), Value::List(l)) => {
                let atoms = atoms_of(&l).ok_or_else(|| {
                    type_error(cspan, "`s-op in X` needs X to be a list of atoms", "this list holds non-atoms")
                })?;
                Ok(Value::Sop(self.node(Node::InList(s, atoms), span)?))
            }
            (Value::Sop(_), other) => Err(type_error(
                cspan,
                format!("`s-op in X` needs X to be a list of atoms, got {}", other.kind()),
                "not a list",
            )),
            (Value::Atom(x), Value::List(l)) => {
                Ok(Value::Atom(Val::Bool(l.iter().any(|v| matches!(v, Value::Atom(y) if value::eq(x, *y))))))
            }
            (Value::Atom(x), Value::Sop(s)) => Ok(Value::Sop(self.node(Node::AnyEq(s, x), span)?)),
            (Value::Atom(_), other) => Err(type_error(
                cspan,
                format!("`atom in X` needs X to be a list or an s-op, got {}", other.kind()),
                "not a list or s-op",
            )),
            (other, _) => Err(type_error(
                aspan,
                format!("`A in X` needs A to be an s-op or an atom, got {}", other.kind()),
                "not an s-op or atom",
            )),
        }
    }
}

pub fn dict_insert(d: &mut Vec<(Val, Value)>, k: Val, v: Value) {
    match d.iter_mut().find(|(x, _)| value::eq(*x, k)) {
        Some(slot) => slot.1 = v,
        None => d.push((k, v)),
    }
}

pub fn atoms_of(l: &[Value]) -> Option<Vec<Val>> {
    l.iter()
        .map(|v| match v {
            Value::Atom(a) => Some(*a),
            _ => None,
        })
        .collect()
}

fn lists_eq(x: &[Value], y: &[Value]) -> bool {
    x.len() == y.len()
        && x.iter().zip(y).all(|(a, b)| match (a, b) {
            (Value::Atom(p), Value::Atom(q)) => value::eq(*p, *q),
            (Value::List(p), Value::List(q)) => lists_eq(p, q),
            _ => false,
        })
}

fn value_op(op: BinOp) -> Op {
    match op {
        BinOp::Pow => Op::Pow,
        BinOp::Mul => Op::Mul,
        BinOp::Div => Op::Div,
        BinOp::Mod => Op::Mod,
        BinOp::Add => Op::Add,
        BinOp::Sub => Op::Sub,
        BinOp::Eq => Op::Eq,
        BinOp::Le => Op::Le,
        BinOp::Ge => Op::Ge,
        BinOp::Lt => Op::Lt,
        BinOp::Gt => Op::Gt,
        BinOp::And | BinOp::Or => unreachable!("handled before"),
    }
}
