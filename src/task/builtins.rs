//! The standard library of target expressions ([`crate::ir::Builtin`]).

use super::eval::{equal_value, ev, fail, int, seq, Ev, EvalError, MAX_LEN};
use super::value::{order, Value};
use crate::ir::{Builtin, Expr};

type R<'a> = Result<Ev<'a>, EvalError>;

/// Calls builtin `b` (the call expression `e`) with argument expressions `args`.
pub(super) fn call<'a>(e: &Expr, b: Builtin, args: &[Expr], input: &'a [Value]) -> R<'a> {
    let (lo, hi) = Builtin::lookup(b.name()).map_or((0, usize::MAX), |(_, lo, hi)| (lo, hi));
    if args.len() < lo || args.len() > hi {
        return fail(e, format!("`{}` takes {lo} to {hi} arguments, got {}", b.name(), args.len()));
    }
    let mut vals = Vec::with_capacity(args.len());
    for a in args {
        vals.push(ev(a, input)?);
    }
    let v = match b {
        Builtin::Reverse => reverse(&args[0], vals.swap_remove(0))?,
        Builtin::Sort => sort(&args[0], vals.swap_remove(0))?,
        Builtin::Argsort => argsort(&args[0], vals.swap_remove(0))?,
        Builtin::Concat => concat(e, vals)?,
        Builtin::Len => Value::Int(seq(&args[0], &vals[0], "`len`")?.len() as i64),
        Builtin::Count => {
            let s = seq(&args[0], &vals[0], "`count`")?;
            let n = s.iter().filter(|v| equal_value(v, &vals[1])).count();
            Value::Int(n as i64)
        }
        Builtin::Contains => {
            let s = seq(&args[0], &vals[0], "`contains`")?;
            Value::Bool(match vals[1].seq() {
                Some(run) => run.is_empty() || s.windows(run.len()).any(|w| w == run),
                None => s.iter().any(|v| equal_value(v, &vals[1])),
            })
        }
        Builtin::Sum => sum(e, &args[0], &vals[0])?,
        Builtin::Min | Builtin::Max => min_max(e, b, args, &vals)?,
        Builtin::Abs => match int(&args[0], &vals[0])?.checked_abs() {
            Some(n) => Value::Int(n),
            None => return fail(e, "integer overflow in `abs`"),
        },
        Builtin::ToBinary => to_binary(e, args, &vals)?,
        Builtin::FromBinary => from_binary(e, &args[0], &vals[0])?,
        Builtin::Split => split(&args[0], &vals[0], &vals[1])?,
        Builtin::Repeat => {
            let s = vals.swap_remove(0); // the count moves to index 0
            repeat(e, &args[1], &vals[0], s)?
        }
        Builtin::Inv => inv(e, int(&args[0], &vals[0])?, int(&args[1], &vals[1])?)?,
        Builtin::PermCompose => {
            let (a, b, n) = (int(&args[0], &vals[0])?, int(&args[1], &vals[1])?, int(&args[2], &vals[2])?);
            perm_compose(e, a, b, n)?
        }
    };
    Ok(Ev::Val(v))
}

fn owned_seq(e: &Expr, v: Ev, what: &str) -> Result<Vec<Value>, EvalError> {
    seq(e, &v, what)?;
    Ok(v.into_vec())
}

fn reverse(a: &Expr, v: Ev) -> Result<Value, EvalError> {
    Ok(Value::Seq(match v {
        Ev::Borrowed(s) => s.iter().rev().cloned().collect(),
        v => {
            let mut s = owned_seq(a, v, "`reverse`")?;
            s.reverse();
            s
        }
    }))
}

/// Ascending and stable; integers (and integer tokens) numerically, other
/// tokens by their text; mixing the two is an error.
fn sort(a: &Expr, v: Ev) -> Result<Value, EvalError> {
    let mut s = owned_seq(a, v, "`sort`")?;
    if s.iter().all(|x| x.as_int().is_some()) {
        s.sort_by_cached_key(|x| x.as_int().unwrap_or(0));
        return Ok(Value::Seq(s));
    }
    if let Some(bad) = s.iter().find(|x| !matches!(x, Value::Tok(_)) || x.as_int().is_some()) {
        let what = if bad.as_int().is_some() { "cannot mix numbers and tokens" } else { "sorts integers or tokens" };
        return fail(a, format!("`sort` {what}; found {} `{bad}`", bad.kind()));
    }
    s.sort_by(|x, y| order(x, y).unwrap_or(std::cmp::Ordering::Equal));
    Ok(Value::Seq(s))
}

/// The 0-based positions of `v`'s elements in [`sort`]'s order; stable, so equal elements keep
/// their order of position (`argsort([3, 1, 3, 0]) = [3, 1, 0, 2]`). The same errors as `sort`.
fn argsort(a: &Expr, v: Ev) -> Result<Value, EvalError> {
    let s = owned_seq(a, v, "`argsort`")?;
    let mut idx: Vec<usize> = (0..s.len()).collect();
    if s.iter().all(|x| x.as_int().is_some()) {
        idx.sort_by_key(|&i| s[i].as_int().unwrap_or(0));
    } else {
        if let Some(bad) = s.iter().find(|x| !matches!(x, Value::Tok(_)) || x.as_int().is_some()) {
            let what =
                if bad.as_int().is_some() { "cannot mix numbers and tokens" } else { "sorts integers or tokens" };
            return fail(a, format!("`argsort` {what}; found {} `{bad}`", bad.kind()));
        }
        idx.sort_by(|&i, &j| order(&s[i], &s[j]).unwrap_or(std::cmp::Ordering::Equal));
    }
    Ok(Value::Seq(idx.into_iter().map(|i| Value::Int(i as i64)).collect()))
}

fn concat(e: &Expr, vals: Vec<Ev>) -> Result<Value, EvalError> {
    let total: usize = vals.iter().map(|v| v.concat_len()).sum();
    if total > MAX_LEN {
        return fail(e, format!("`concat` result longer than {MAX_LEN}"));
    }
    let mut out = Vec::with_capacity(total);
    for v in vals {
        v.append_to(&mut out);
    }
    Ok(Value::Seq(out))
}

/// The integers of a sequence, or an error naming the first non-integer.
fn ints<'v>(e: &Expr, s: &'v [Value], what: &'v str) -> impl Iterator<Item = Result<i64, EvalError>> + 'v {
    let span = e.span;
    s.iter().map(move |v| {
        v.as_int()
            .ok_or_else(|| EvalError { message: format!("{what} needs integers, found {} `{v}`", v.kind()), span })
    })
}

fn sum(e: &Expr, a: &Expr, v: &Ev) -> Result<Value, EvalError> {
    let mut acc: i64 = 0;
    for n in ints(a, seq(a, v, "`sum`")?, "`sum`") {
        acc = match acc.checked_add(n?) {
            Some(x) => x,
            None => return fail(e, "integer overflow in `sum`"),
        };
    }
    Ok(Value::Int(acc))
}

/// `min(s)`/`max(s)`: the first least/greatest element of a non-empty
/// sequence of integers; `min(a, b)`/`max(a, b)`: of two integers.
fn min_max(e: &Expr, b: Builtin, args: &[Expr], vals: &[Ev]) -> Result<Value, EvalError> {
    let name = if b == Builtin::Min { "`min`" } else { "`max`" };
    let better = |x: i64, y: i64| if b == Builtin::Min { x < y } else { x > y };
    if vals.len() == 2 {
        let (x, y) = (int(&args[0], &vals[0])?, int(&args[1], &vals[1])?);
        return Ok(Value::Int(if better(y, x) { y } else { x }));
    }
    let s = seq(&args[0], &vals[0], name)?;
    let mut best: Option<(i64, usize)> = None;
    for (i, n) in ints(&args[0], s, name).enumerate() {
        let n = n?;
        if best.is_none_or(|(m, _)| better(n, m)) {
            best = Some((n, i));
        }
    }
    match best {
        Some((_, i)) => Ok(s[i].clone()),
        None => fail(e, format!("{name} of an empty sequence")),
    }
}

/// `to_binary(n)`: big-endian bits, `[0]` for 0; `to_binary(n, w)`: the
/// last `w` bits, an error if `n >= 2^w`. Bits are the integers 0 and 1.
fn to_binary(e: &Expr, args: &[Expr], vals: &[Ev]) -> Result<Value, EvalError> {
    let n = int(&args[0], &vals[0])?;
    if n < 0 {
        return fail(&args[0], format!("`to_binary` of a negative number ({n})"));
    }
    let bits = (64 - n.leading_zeros()) as usize;
    let width = match vals.get(1) {
        None => bits.max(1),
        Some(w) => {
            let w = int(&args[1], w)?;
            if w < 0 || w as u64 > MAX_LEN as u64 {
                return fail(&args[1], format!("`to_binary` width {w} is out of range 0..={MAX_LEN}"));
            }
            if bits > w as usize {
                return fail(e, format!("{n} does not fit in {w} bits (it needs {bits})"));
            }
            w as usize
        }
    };
    let bit = |i: usize| if i < 64 { (n >> i) & 1 } else { 0 };
    Ok(Value::Seq((0..width).rev().map(|i| Value::Int(bit(i))).collect()))
}

/// `from_binary(bits)`: big-endian over 0/1 values; 0 for no bits.
fn from_binary(e: &Expr, a: &Expr, v: &Ev) -> Result<Value, EvalError> {
    let mut acc: i64 = 0;
    for bit in ints(a, seq(a, v, "`from_binary`")?, "`from_binary`") {
        let bit = bit?;
        if bit != 0 && bit != 1 {
            return fail(a, format!("`from_binary` needs bits 0 and 1, found {bit}"));
        }
        acc = match acc.checked_mul(2).and_then(|x| x.checked_add(bit)) {
            Some(x) => x,
            None => return fail(e, "integer overflow in `from_binary` (more than 63 bits)"),
        };
    }
    Ok(Value::Int(acc))
}

/// `split(s, x)`: the pieces of `s` between occurrences of `x`, like Python's
/// `str.split(x)` (`n` occurrences give `n + 1` pieces, possibly empty).
fn split(a: &Expr, s: &Ev, x: &Ev) -> Result<Value, EvalError> {
    let s = seq(a, s, "`split`")?;
    let mut pieces = Vec::new();
    let mut start = 0;
    for (i, v) in s.iter().enumerate() {
        if equal_value(v, x) {
            pieces.push(Value::Seq(s[start..i].to_vec()));
            start = i + 1;
        }
    }
    pieces.push(Value::Seq(s[start..].to_vec()));
    Ok(Value::Seq(pieces))
}

/// `repeat(s, n)`: `s` concatenated `n` times (an atom counts as a
/// one-element sequence); a negative `n` is an error.
fn repeat(e: &Expr, na: &Expr, nv: &Ev, s: Ev) -> Result<Value, EvalError> {
    let n = int(na, nv)?;
    if n < 0 {
        return fail(na, format!("`repeat` count {n} is negative"));
    }
    let unit = s.into_vec();
    let total = (unit.len() as u128) * (n as u128);
    if total > MAX_LEN as u128 {
        return fail(e, format!("`repeat` result longer than {MAX_LEN} ({} elements × {n})", unit.len()));
    }
    let mut out = Vec::with_capacity(total as usize);
    for _ in 0..n {
        out.extend_from_slice(&unit);
    }
    Ok(Value::Seq(out))
}

/// `inv(x, p)`: the `y` in `0..p` with `x·y ≡ 1 (mod p)`, by the extended Euclidean algorithm.
fn inv(e: &Expr, x: i64, p: i64) -> Result<Value, EvalError> {
    if p < 2 {
        return fail(e, format!("`inv` needs a modulus of at least 2, got {p}"));
    }
    let (mut r0, mut r1) = (x.rem_euclid(p) as i128, p as i128);
    let (mut s0, mut s1) = (1i128, 0i128);
    while r1 != 0 {
        let q = r0 / r1;
        (r0, r1) = (r1, r0 - q * r1);
        (s0, s1) = (s1, s0 - q * s1);
    }
    if r0 != 1 {
        return fail(e, format!("{x} has no inverse modulo {p} (they share the factor {r0})"));
    }
    Ok(Value::Int(s0.rem_euclid(p as i128) as i64))
}

/// The largest `n` of `perm_compose` (8! = 40320 permutations).
const MAX_PERM_N: i64 = 8;

/// The permutation of `0..n` with lexicographic number `k` (Lehmer code).
pub fn perm_of(mut k: usize, n: usize) -> Vec<usize> {
    let mut pool: Vec<usize> = (0..n).collect();
    let mut fact: usize = (1..n.max(1)).product();
    let mut out = Vec::with_capacity(n);
    for i in (0..n).rev() {
        let d = if i == 0 { 0 } else { k / fact };
        out.push(pool.remove(d));
        if i > 0 {
            k %= fact;
            fact /= i;
        }
    }
    out
}

/// The lexicographic number of a permutation of `0..n`.
pub fn perm_index(p: &[usize]) -> usize {
    let n = p.len();
    let mut k = 0;
    for i in 0..n {
        let smaller = p[i + 1..].iter().filter(|&&x| x < p[i]).count();
        k = k * (n - i) + smaller;
    }
    k
}

/// `perm_compose(a, b, n)`: the number of `a∘b`, `(a∘b)(i) = a(b(i))`.
fn perm_compose(e: &Expr, a: i64, b: i64, n: i64) -> Result<Value, EvalError> {
    if !(1..=MAX_PERM_N).contains(&n) {
        return fail(e, format!("`perm_compose` takes n in 1..={MAX_PERM_N}, got {n}"));
    }
    let total: i64 = (1..=n).product();
    for x in [a, b] {
        if !(0..total).contains(&x) {
            return fail(e, format!("{x} is not a permutation number of S{n} (0..{total})"));
        }
    }
    let (pa, pb) = (perm_of(a as usize, n as usize), perm_of(b as usize, n as usize));
    let c: Vec<usize> = pb.iter().map(|&j| pa[j]).collect();
    Ok(Value::Int(perm_index(&c) as i64))
}
