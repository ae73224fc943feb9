//! The elementwise nodes on typed columns (see `column`): plain loops over
//! `i64`, `bool` and packed-string vectors where the operands' kinds allow,
//! else the tagged path of `elementwise`/`value` (the same results, and the
//! errors), whose output is stored typed again when it has one kind.

use super::column::{Col, View};
use super::elementwise::{self as ew, map2_flags};
use super::graph::Map1;
use super::kernels::{self, BOOL, FLOAT, INT, STR};
use super::value::{self, Op, Str, Strings, Val};

/// Scratch buffers of the elementwise nodes, reused across nodes and calls.
#[derive(Clone, Default)]
pub struct Bufs {
    /// Operands as tagged values, and a result.
    pub v: [Vec<Val>; 2],
    pub vals: Vec<Val>,
    /// Truth values of operands.
    pub t: [Vec<bool>; 3],
    /// Broadcast int and string atoms.
    pub i: [Vec<i64>; 2],
    pub s: [Vec<Str>; 2],
}

/// An int operand as a slice (a broadcast atom written into `buf`).
fn ints<'a>(x: View<'a>, buf: &'a mut Vec<i64>) -> Option<&'a [i64]> {
    match x {
        View::Int(v) => Some(v),
        View::Atom(Val::Int(a), n) => {
            buf.clear();
            buf.resize(n, a);
            Some(buf)
        }
        _ => None,
    }
}

/// A string operand as a slice (a broadcast atom written into `buf`).
fn strs<'a>(x: View<'a>, buf: &'a mut Vec<Str>) -> Option<&'a [Str]> {
    match x {
        View::Str(v) => Some(v),
        View::Atom(Val::Str(a), n) => {
            buf.clear();
            buf.resize(n, a);
            Some(buf)
        }
        _ => None,
    }
}

/// `x OP y` into `out`; returns its kinds of atoms.
pub fn map2(op: Op, x: View, y: View, out: &mut Col, b: &mut Bufs, strings: &mut Strings) -> Result<u8, String> {
    let [i0, i1] = &mut b.i;
    if let (Some(p), Some(q)) = (ints(x, i0), ints(y, i1)) {
        if int_map2(op, p, q, out) {
            return Ok(map2_flags(op, INT, INT).unwrap_or(FLOAT));
        }
    }
    let [s0, s1] = &mut b.s;
    if let (Some(p), Some(q)) = (strs(x, s0), strs(y, s1)) {
        if str_map2(op, p, q, out) {
            return Ok(if op == Op::Add { STR } else { BOOL });
        }
    }
    let (fa, fb) = (x.flags(), y.flags());
    let [v0, v1] = &mut b.v;
    let (p, q) = (x.vals(v0), y.vals(v1));
    let vals = &mut b.vals;
    let num = (fa | fb) & !(INT | FLOAT) == 0;
    let mut known = None;
    if num && ew::num_map2(op, p, q, vals).is_some() {
    } else if !num && op == Op::Add && fa == STR && fb == STR && ew::concat_map2(p, q, vals).is_some() {
        known = Some(STR); // every sum stayed inline
    } else {
        vals.clear();
        for (a, c) in p.iter().zip(q) {
            vals.push(value::binary(op, *a, *c, strings)?);
        }
    }
    let f = known.or(map2_flags(op, fa, fb)).unwrap_or_else(|| kernels::flags(vals));
    out.set_vals(vals, f);
    Ok(f)
}

/// `p OP q` on ints where no atom needs Python's slow cases (overflow, division by zero,
/// `%`, `^`); false (and `out` undefined) otherwise.
fn int_map2(op: Op, p: &[i64], q: &[i64], out: &mut Col) -> bool {
    let pairs = p.iter().zip(q).map(|(a, b)| (*a, *b));
    match op {
        Op::Add => checked(out.ints(), pairs, i64::overflowing_add),
        Op::Sub => checked(out.ints(), pairs, i64::overflowing_sub),
        Op::Mul => checked(out.ints(), pairs, i64::overflowing_mul),
        Op::Div if q.iter().all(|b| *b != 0) => {
            out.floats().extend(pairs.map(|(a, b)| a as f64 / b as f64));
            true
        }
        Op::Eq => cmp(out, pairs, |a, b| a == b),
        Op::Ne => cmp(out, pairs, |a, b| a != b),
        Op::Lt => cmp(out, pairs, |a, b| a < b),
        Op::Gt => cmp(out, pairs, |a, b| a > b),
        Op::Le => cmp(out, pairs, |a, b| a <= b),
        Op::Ge => cmp(out, pairs, |a, b| a >= b),
        _ => false,
    }
}

/// `f` on every pair into `out`; false when any overflowed.
#[inline(always)]
fn checked(out: &mut Vec<i64>, pairs: impl Iterator<Item = (i64, i64)>, f: impl Fn(i64, i64) -> (i64, bool)) -> bool {
    let mut over = false;
    out.extend(pairs.map(|(a, b)| {
        let (r, o) = f(a, b);
        over |= o;
        r
    }));
    !over
}

#[inline(always)]
fn cmp(out: &mut Col, pairs: impl Iterator<Item = (i64, i64)>, f: impl Fn(i64, i64) -> bool) -> bool {
    out.bools().extend(pairs.map(|(a, b)| f(a, b)));
    true
}

/// `==`, `!=` (strings are equal when their packed bits are: long strings are interned
/// once) and `+` of inline strings whose sums stay inline.
fn str_map2(op: Op, p: &[Str], q: &[Str], out: &mut Col) -> bool {
    match op {
        Op::Eq => out.bools().extend(p.iter().zip(q).map(|(a, b)| a == b)),
        Op::Ne => out.bools().extend(p.iter().zip(q).map(|(a, b)| a != b)),
        Op::Add => {
            let o = out.strs();
            for (a, b) in p.iter().zip(q) {
                match Str::concat_inline(*a, *b) {
                    Some(s) => o.push(s),
                    None => return false,
                }
            }
        }
        _ => return false,
    }
    true
}

/// `op` on every atom of `x` (kinds `f`) into `out`; returns the result's kinds when known.
pub fn map1(op: Map1, x: View, f: u8, out: &mut Col, b: &mut Bufs, strings: &Strings) -> Result<Option<u8>, String> {
    match (op, x) {
        (Map1::Not, _) => out.bools().extend(x.truth(&mut b.t[0]).iter().map(|t| !t)),
        (Map1::Indicator, _) => out.ints().extend(x.truth(&mut b.t[0]).iter().map(|t| *t as i64)),
        (Map1::Round | Map1::Pos, View::Int(v)) => out.ints().extend_from_slice(v),
        (Map1::Neg, View::Int(v)) if !v.contains(&i64::MIN) => out.ints().extend(v.iter().map(|i| -i)),
        // Floats within range round half to even (what `value::round` does; the rest fall back).
        (Map1::Round, View::Float(v)) if v.iter().all(|f| f.abs() < 9.0e18) => {
            out.ints().extend(v.iter().map(|f| ew::round_half_even(*f) as i64))
        }
        _ => {
            ew::map1(op, x.vals(&mut b.v[0]), f, &mut b.vals, strings)?;
            let known = match op {
                Map1::Round => Some(INT),
                Map1::Neg | Map1::Pos if matches!(f, INT | FLOAT) => Some(f),
                _ => None,
            };
            let f = known.unwrap_or_else(|| kernels::flags(&b.vals));
            out.set_vals(&mut b.vals, f);
            return Ok(Some(f));
        }
    }
    Ok(None)
}

/// Truthiness `and` / `or`: both sides are evaluated already, so `&` / `|`, no branches.
pub fn and_or(and: bool, x: View, y: View, out: &mut Col, b: &mut Bufs) {
    let [t0, t1, _] = &mut b.t;
    let (p, q) = (x.truth(t0), y.truth(t1));
    let o = out.bools();
    if and {
        o.extend(p.iter().zip(q).map(|(a, c)| a & c));
    } else {
        o.extend(p.iter().zip(q).map(|(a, c)| a | c));
    }
}

/// `then if cond else els`, picked by index rather than by a branch (conditions vary from
/// token to token); returns the result's kinds when known.
pub fn ternary(cond: View, then: View, els: View, out: &mut Col, b: &mut Bufs) -> Option<u8> {
    let [t0, _, _] = &mut b.t;
    let c = cond.truth(t0);
    let [i0, i1] = &mut b.i;
    if let (Some(t), Some(e)) = (ints(then, i0), ints(els, i1)) {
        out.ints().extend(c.iter().zip(t.iter().zip(e)).map(|(c, (t, e))| [*e, *t][*c as usize]));
        return None;
    }
    let [s0, s1] = &mut b.s;
    if let (Some(t), Some(e)) = (strs(then, s0), strs(els, s1)) {
        out.strs().extend(c.iter().zip(t.iter().zip(e)).map(|(c, (t, e))| [*e, *t][*c as usize]));
        return None;
    }
    let [v0, v1] = &mut b.v;
    let (t, e) = (then.vals(v0), els.vals(v1));
    b.vals.clear();
    b.vals.extend(c.iter().zip(t.iter().zip(e)).map(|(c, (t, e))| [*e, *t][*c as usize]));
    let f = kernels::flags(&b.vals);
    out.set_vals(&mut b.vals, f);
    Some(f)
}

/// `x in list`: every entry compared (no early exit: which one matches varies by token).
pub fn in_list(x: View, list: &[Val], out: &mut Col) {
    match x {
        View::Str(v) => {
            // Strings equal only strings, with identical packed bits.
            out.bools().extend(v.iter().map(|s| list.iter().fold(false, |hit, x| hit | (*x == Val::Str(*s)))));
        }
        _ => {
            let n = x.len();
            out.bools().extend((0..n).map(|k| list.iter().any(|a| value::eq(x.get(k), *a))));
        }
    }
}
