//! Evaluation of target expressions ([`crate::ir::Expr`]) on one input.
//!
//! Semantics (Python's where Python has one):
//! - integers are `i64`; overflow is an error, never a wrap or a panic;
//!   `/` rounds toward negative infinity and `%` takes the divisor's sign;
//! - `++` concatenates; an atom operand counts as a one-element sequence;
//! - `==`/`!=` compare any two values (see [`Value`]'s equality); `<`, `<=`,
//!   `>`, `>=` compare integers (and integer tokens) only;
//! - `and`/`or` short-circuit and take booleans; `not` takes a boolean;
//! - `s[i]` counts negative `i` from the end; `s[a:b:c]` is Python slicing.
//!
//! Sequences that come straight from the input are borrowed, not copied, until
//! an operation needs its own copy (`len(input)`, `input[:n]`, `sum(input)`
//! copy nothing).

use super::builtins;
use super::value::Value;
use crate::ir::{BinOp, Expr, ExprKind, UnOp};
use crate::source::Span;

/// The longest sequence evaluation builds (guards `repeat`, `to_binary` and
/// `++` against exhausting memory).
pub const MAX_LEN: usize = 1 << 24;

/// A runtime error in a target expression, at the span of the expression
/// that failed.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct EvalError {
    pub message: String,
    pub span: Span,
}

pub(super) fn fail<T>(e: &Expr, message: impl Into<String>) -> Result<T, EvalError> {
    Err(EvalError { message: message.into(), span: e.span })
}

/// An intermediate value: owned, or a sequence borrowed from the input.
pub(super) enum Ev<'a> {
    Val(Value),
    Borrowed(&'a [Value]),
}

impl<'a> Ev<'a> {
    pub(super) fn seq(&self) -> Option<&[Value]> {
        match self {
            Ev::Val(Value::Seq(s)) => Some(s),
            Ev::Val(_) => None,
            Ev::Borrowed(s) => Some(s),
        }
    }
    pub(super) fn into_value(self) -> Value {
        match self {
            Ev::Val(v) => v,
            Ev::Borrowed(s) => Value::Seq(s.to_vec()),
        }
    }
    /// The elements, an atom counting as a one-element sequence.
    pub(super) fn into_vec(self) -> Vec<Value> {
        match self {
            Ev::Val(Value::Seq(s)) => s,
            Ev::Val(v) => vec![v],
            Ev::Borrowed(s) => s.to_vec(),
        }
    }
    /// Number of elements as a `++` operand (an atom counts one).
    pub(super) fn concat_len(&self) -> usize {
        self.seq().map_or(1, |s| s.len())
    }
    /// Appends the elements (an atom counts as one element) to `out`.
    pub(super) fn append_to(self, out: &mut Vec<Value>) {
        match self {
            Ev::Val(Value::Seq(s)) => out.extend(s),
            Ev::Val(v) => out.push(v),
            Ev::Borrowed(s) => out.extend_from_slice(s),
        }
    }
}

/// A short rendering of a value for error messages.
pub(super) fn show(v: &Ev) -> String {
    let text = match v {
        Ev::Val(v) => v.to_string(),
        Ev::Borrowed(s) => Value::Seq(s.to_vec()).to_string(),
    };
    if text.chars().count() > 40 {
        format!("{}…", text.chars().take(40).collect::<String>())
    } else {
        text
    }
}

fn kind(v: &Ev) -> &'static str {
    match v {
        Ev::Val(v) => v.kind(),
        Ev::Borrowed(_) => "a sequence",
    }
}

/// `v` as an integer, or an error at `e` (the expression `v` came from).
pub(super) fn int(e: &Expr, v: &Ev) -> Result<i64, EvalError> {
    if let Ev::Val(x) = v {
        if let Some(n) = x.as_int() {
            return Ok(n);
        }
    }
    fail(e, format!("expected an integer, found {} `{}`", kind(v), show(v)))
}

fn boolean(e: &Expr, v: &Ev) -> Result<bool, EvalError> {
    match v {
        Ev::Val(Value::Bool(b)) => Ok(*b),
        _ => fail(e, format!("expected a boolean, found {} `{}`", kind(v), show(v))),
    }
}

/// The elements of a sequence value, or an error at `e`.
pub(super) fn seq<'v>(e: &Expr, v: &'v Ev, what: &str) -> Result<&'v [Value], EvalError> {
    match v.seq() {
        Some(s) => Ok(s),
        None => fail(e, format!("{what} needs a sequence, found {} `{}`", kind(v), show(v))),
    }
}

/// Evaluates `expr` with `input` as the value of `input`.
pub fn eval(expr: &Expr, input: &[Value]) -> Result<Value, EvalError> {
    Ok(ev(expr, input)?.into_value())
}

pub(super) fn ev<'a>(e: &Expr, input: &'a [Value]) -> Result<Ev<'a>, EvalError> {
    Ok(match &e.kind {
        ExprKind::Int(n) => Ev::Val(Value::Int(*n)),
        ExprKind::Tok(t) => Ev::Val(Value::tok(t)),
        ExprKind::Bool(b) => Ev::Val(Value::Bool(*b)),
        ExprKind::Input => Ev::Borrowed(input),
        ExprKind::Var(i) => match input.get(*i) {
            Some(v) => Ev::Val(v.clone()),
            None => return fail(e, format!("universe variable {i} has no value (the input has {})", input.len())),
        },
        ExprKind::Output => return fail(e, "`output` is only defined in split predicates"),
        ExprKind::List(items) => {
            let vals = items.iter().map(|x| Ok(ev(x, input)?.into_value()));
            Ev::Val(Value::Seq(vals.collect::<Result<_, EvalError>>()?))
        }
        ExprKind::Unary(op, x) => unary(e, *op, x, input)?,
        ExprKind::Binary(op, l, r) => binary(e, *op, l, r, input)?,
        ExprKind::If(c, a, b) => {
            if boolean(c, &ev(c, input)?)? {
                ev(a, input)?
            } else {
                ev(b, input)?
            }
        }
        ExprKind::Call(b, args) => builtins::call(e, *b, args, input)?,
        ExprKind::Index(s, i) => index(e, s, i, input)?,
        ExprKind::Slice(s, a, b, c) => slice(e, s, [a, b, c], input)?,
        ExprKind::Rasp(r) => Ev::Val(rasp_target(e, r, input)?),
    })
}

fn unary<'a>(e: &Expr, op: UnOp, x: &Expr, input: &'a [Value]) -> Result<Ev<'a>, EvalError> {
    let v = ev(x, input)?;
    Ok(Ev::Val(match op {
        UnOp::Not => Value::Bool(!boolean(x, &v)?),
        UnOp::Neg => match int(x, &v)?.checked_neg() {
            Some(n) => Value::Int(n),
            None => return fail(e, "integer overflow in negation"),
        },
    }))
}

fn binary<'a>(e: &Expr, op: BinOp, l: &Expr, r: &Expr, input: &'a [Value]) -> Result<Ev<'a>, EvalError> {
    if let BinOp::And | BinOp::Or = op {
        let a = boolean(l, &ev(l, input)?)?;
        if a == (op == BinOp::Or) {
            return Ok(Ev::Val(Value::Bool(a)));
        }
        return Ok(Ev::Val(Value::Bool(boolean(r, &ev(r, input)?)?)));
    }
    let a = ev(l, input)?;
    let b = ev(r, input)?;
    let v = match op {
        BinOp::Concat => {
            if a.concat_len() + b.concat_len() > MAX_LEN {
                return fail(e, format!("`++` result longer than {MAX_LEN}"));
            }
            let mut out = a.into_vec();
            b.append_to(&mut out);
            Value::Seq(out)
        }
        BinOp::Eq => Value::Bool(equal(&a, &b)),
        BinOp::Ne => Value::Bool(!equal(&a, &b)),
        BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge => {
            let (x, y) = (int(l, &a)?, int(r, &b)?);
            Value::Bool(match op {
                BinOp::Lt => x < y,
                BinOp::Le => x <= y,
                BinOp::Gt => x > y,
                _ => x >= y,
            })
        }
        _ => Value::Int(arith(e, op, int(l, &a)?, int(r, &b)?)?),
    };
    Ok(Ev::Val(v))
}

/// Semantic equality of two intermediate values.
pub(super) fn equal(a: &Ev, b: &Ev) -> bool {
    match (a, b) {
        (Ev::Val(x), Ev::Val(y)) => x == y,
        _ => match (a.seq(), b.seq()) {
            (Some(x), Some(y)) => x == y,
            _ => false,
        },
    }
}

/// Semantic equality of a value and an intermediate value.
pub(super) fn equal_value(v: &Value, x: &Ev) -> bool {
    match x {
        Ev::Val(y) => v == y,
        Ev::Borrowed(s) => v.as_seq() == Some(*s),
    }
}

/// Checked integer arithmetic with Python's floor division and modulo.
pub fn arith(e: &Expr, op: BinOp, a: i64, b: i64) -> Result<i64, EvalError> {
    let r = match op {
        BinOp::Add => a.checked_add(b),
        BinOp::Sub => a.checked_sub(b),
        BinOp::Mul => a.checked_mul(b),
        BinOp::Div | BinOp::Mod if b == 0 => return fail(e, "division by zero"),
        BinOp::Div => a.checked_div(b).map(|q| if q * b != a && ((a < 0) != (b < 0)) { q - 1 } else { q }),
        BinOp::Mod if b == -1 => Some(0),
        BinOp::Mod => a.checked_rem(b).map(|r| if r != 0 && ((r < 0) != (b < 0)) { r + b } else { r }),
        _ => return fail(e, format!("`{op:?}` is not arithmetic")),
    };
    match r {
        Some(n) => Ok(n),
        None => fail(e, format!("integer overflow in {a} {} {b}", op_text(op))),
    }
}

fn op_text(op: BinOp) -> &'static str {
    match op {
        BinOp::Add => "+",
        BinOp::Sub => "-",
        BinOp::Mul => "*",
        BinOp::Div => "/",
        _ => "%",
    }
}

fn index<'a>(e: &Expr, s: &Expr, i: &Expr, input: &'a [Value]) -> Result<Ev<'a>, EvalError> {
    let sv = ev(s, input)?;
    let iv = ev(i, input)?;
    let n = int(i, &iv)?;
    let len = seq(s, &sv, "indexing")?.len();
    let k = if n < 0 { n + len as i64 } else { n };
    if k < 0 || k >= len as i64 {
        return fail(e, format!("index {n} is out of range for a sequence of length {len}"));
    }
    let k = k as usize;
    Ok(Ev::Val(match sv {
        Ev::Val(Value::Seq(mut v)) => v.swap_remove(k),
        Ev::Borrowed(v) => v[k].clone(),
        Ev::Val(_) => return fail(s, "indexing needs a sequence"),
    }))
}

/// Python's slice resolution (CPython's `PySlice_AdjustIndices`) for a
/// sequence of length `len`: `(first index, step, count)`, or `None` for a
/// zero step.
pub fn py_slice(len: usize, start: Option<i64>, stop: Option<i64>, step: Option<i64>) -> Option<(usize, i64, usize)> {
    let step = step.unwrap_or(1);
    if step == 0 {
        return None;
    }
    let len = len as i128;
    let (lo, hi) = if step > 0 { (0, len) } else { (-1, len - 1) };
    let adjust = |x: i64| {
        let x = x as i128;
        if x < 0 {
            (x + len).max(lo)
        } else {
            x.min(hi)
        }
    };
    let start = start.map_or(if step > 0 { 0 } else { len - 1 }, adjust);
    let stop = stop.map_or(if step > 0 { len } else { -1 }, adjust);
    let s = step as i128;
    let count = if step > 0 && start < stop {
        (stop - start - 1) / s + 1
    } else if step < 0 && stop < start {
        (start - stop - 1) / -s + 1
    } else {
        0
    };
    Some((start.max(0) as usize, step, count as usize))
}

type SliceParts<'e> = [&'e Option<Box<Expr>>; 3];

fn slice<'a>(e: &Expr, s: &Expr, parts: SliceParts, input: &'a [Value]) -> Result<Ev<'a>, EvalError> {
    let sv = ev(s, input)?;
    let mut bounds = [None; 3];
    for (bound, part) in bounds.iter_mut().zip(parts) {
        if let Some(x) = part {
            *bound = Some(int(x, &ev(x, input)?)?);
        }
    }
    let len = seq(s, &sv, "slicing")?.len();
    let Some((start, step, count)) = py_slice(len, bounds[0], bounds[1], bounds[2]) else {
        return fail(e, "slice step cannot be zero");
    };
    if step == 1 {
        return Ok(match sv {
            Ev::Borrowed(v) => Ev::Borrowed(&v[start..start + count]),
            Ev::Val(Value::Seq(mut v)) => {
                v.truncate(start + count);
                v.drain(..start);
                Ev::Val(Value::Seq(v))
            }
            Ev::Val(_) => return fail(s, "slicing needs a sequence"),
        });
    }
    let v = seq(s, &sv, "slicing")?;
    let at = |k: usize| (start as i128 + k as i128 * step as i128) as usize;
    Ok(Ev::Val(Value::Seq((0..count).map(|k| v[at(k)].clone()).collect())))
}

/// A RASP target evaluated on its own (the [`super::Labeler`] keeps one
/// compiled evaluator per task instead): tokens in, Python `str` tokens out.
fn rasp_target(e: &Expr, r: &crate::ir::RaspTarget, input: &[Value]) -> Result<Value, EvalError> {
    let mut ev = crate::rasp::target_evaluator(r).or_else(|m| fail(e, m))?;
    let toks: Vec<String> = input.iter().map(|v| v.to_string()).collect();
    let toks: Vec<&str> = toks.iter().map(String::as_str).collect();
    let out = crate::rasp::label(&mut ev, r, &toks).or_else(|m| fail(e, m))?;
    Ok(Value::Seq(out.iter().map(|t| Value::tok(t)).collect()))
}
