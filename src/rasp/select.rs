//! `select(keys, queries, op)` on one input, into a bit-packed matrix (see
//! `kernels`): ints, booleans and inline strings as ranked integers (see
//! `dense`), numbers that convert exactly as floats, anything else by
//! Python's comparisons of atoms.

use super::ast::SelOp;
use super::column::View;
use super::kernels::{words, Scratch, FLOAT, LONG_STR, STR, STRS};
use super::value::{self, Strings, Val};
use std::cmp::Ordering;

const EXACT: i64 = 1 << 53;

#[inline]
fn as_float(v: Val) -> f64 {
    match v {
        Val::Int(i) => i as f64,
        Val::Bool(b) => b as i64 as f64,
        Val::Float(f) => f,
        Val::Str(_) => f64::NAN,
    }
}

/// `select(keys, queries, op)` of one input: `out[q][k] = keys[k] OP queries[q]`; `same`
/// when keys and queries are one column (read once).
#[allow(clippy::too_many_arguments)]
pub fn select(
    keys: View,
    kf: u8,
    queries: View,
    qf: u8,
    same: bool,
    op: SelOp,
    out: &mut [u64],
    s: &mut Scratch,
    strings: &Strings,
) -> Result<(), String> {
    let w = words(keys.len());
    let f = kf | qf;
    if f & (FLOAT | LONG_STR) == 0 && (f & STR == 0 || f == STR) {
        // ints and bools, or inline strings only: compare as integers (packed strings keep their order).
        keys.as_ints(&mut s.ki);
        if same {
            s.dense.select(&s.ki, &s.ki, op, w, out);
            return Ok(());
        }
        queries.as_ints(&mut s.qi);
        s.dense.select(&s.ki, &s.qi, op, w, out);
        return Ok(());
    }
    let (mut kb, mut qb) = (std::mem::take(&mut s.kv), std::mem::take(&mut s.qv));
    let r = select_vals(keys.vals(&mut kb), queries.vals(&mut qb), f, op, w, out, s, strings);
    (s.kv, s.qv) = (kb, qb);
    r
}

#[allow(clippy::too_many_arguments)]
fn select_vals(
    keys: &[Val],
    queries: &[Val],
    f: u8,
    op: SelOp,
    w: usize,
    out: &mut [u64],
    s: &mut Scratch,
    strings: &Strings,
) -> Result<(), String> {
    let exact = |c: &[Val]| c.iter().all(|v| !matches!(v, Val::Int(i) if i.unsigned_abs() > EXACT as u64));
    if f & STRS == 0 && exact(keys) && exact(queries) {
        s.kf.clear();
        s.kf.extend(keys.iter().map(|v| as_float(*v)));
        s.qf.clear();
        s.qf.extend(queries.iter().map(|v| as_float(*v)));
        fill_op(&s.kf, &s.qf, w, out, op);
        return Ok(());
    }
    generic(keys, queries, op, w, out, strings)
}

fn generic(
    keys: &[Val],
    queries: &[Val],
    op: SelOp,
    w: usize,
    out: &mut [u64],
    strings: &Strings,
) -> Result<(), String> {
    for (q, &qv) in queries.iter().enumerate() {
        let row = &mut out[q * w..(q + 1) * w];
        row.fill(0);
        for (k, &kv) in keys.iter().enumerate() {
            let hit = match op {
                SelOp::Eq => value::eq(kv, qv),
                SelOp::Ne => !value::eq(kv, qv),
                _ => value::cmp(kv, qv, strings)?.is_some_and(|o| match op {
                    SelOp::Lt => o == Ordering::Less,
                    SelOp::Gt => o == Ordering::Greater,
                    SelOp::Le => o != Ordering::Greater,
                    _ => o != Ordering::Less,
                }),
            };
            row[k >> 6] |= (hit as u64) << (k & 63);
        }
    }
    Ok(())
}

fn fill<T: Copy>(keys: &[T], queries: &[T], w: usize, out: &mut [u64], f: impl Fn(T, T) -> bool) {
    for (q, &qv) in queries.iter().enumerate() {
        let row = &mut out[q * w..(q + 1) * w];
        for (c, chunk) in keys.chunks(64).enumerate() {
            let mut bits = 0u64;
            for (j, &kv) in chunk.iter().enumerate() {
                bits |= (f(kv, qv) as u64) << j;
            }
            row[c] = bits;
        }
    }
}

fn fill_op<T: Copy + PartialOrd>(keys: &[T], queries: &[T], w: usize, out: &mut [u64], op: SelOp) {
    match op {
        SelOp::Eq => fill(keys, queries, w, out, |k, q| k == q),
        SelOp::Ne => fill(keys, queries, w, out, |k, q| k != q),
        SelOp::Lt => fill(keys, queries, w, out, |k, q| k < q),
        SelOp::Gt => fill(keys, queries, w, out, |k, q| k > q),
        SelOp::Le => fill(keys, queries, w, out, |k, q| k <= q),
        SelOp::Ge => fill(keys, queries, w, out, |k, q| k >= q),
    }
}
