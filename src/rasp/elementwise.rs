//! Elementwise kernels of the evaluator: maps of one and two columns, lookups
//! and the input conversions. Each fast path runs one tight loop over a column
//! whose atom kinds are known (see `kernels::flags`) and returns `None` where
//! Python's rules need the general path (overflow, division by zero, ints too
//! large for an exact float, other kinds); the caller then runs the general,
//! per-atom path of `value`, which gives the same results and the errors.

use super::graph::{Map1, Table};
use super::kernels::{BOOL, FLOAT, INT};
use super::value::{self, Op, Str, Strings, Val};
use std::fmt::Write;

/// Ints within ±2^53 convert to f64 exactly.
const EXACT: u64 = 1 << 53;

/// `x OP y` elementwise on two columns whose atoms are ints and floats only.
pub fn num_map2(op: Op, x: &[Val], y: &[Val], out: &mut Vec<Val>) -> Option<()> {
    use Val::{Bool as B, Float as F, Int as I};
    match op {
        Op::Add => zip_num(x, y, out, |a, b| a.checked_add(b).map(I), |a, b| Some(F(a + b))),
        Op::Sub => zip_num(x, y, out, |a, b| a.checked_sub(b).map(I), |a, b| Some(F(a - b))),
        Op::Mul => zip_num(x, y, out, |a, b| a.checked_mul(b).map(I), |a, b| Some(F(a * b))),
        // Python's int true division, as `value` computes it.
        Op::Div => {
            zip_num(x, y, out, |a, b| (b != 0).then(|| F(a as f64 / b as f64)), |a, b| (b != 0.0).then(|| F(a / b)))
        }
        Op::Eq => zip_num(x, y, out, |a, b| Some(B(a == b)), |a, b| Some(B(a == b))),
        Op::Ne => zip_num(x, y, out, |a, b| Some(B(a != b)), |a, b| Some(B(a != b))),
        Op::Lt => zip_num(x, y, out, |a, b| Some(B(a < b)), |a, b| Some(B(a < b))),
        Op::Gt => zip_num(x, y, out, |a, b| Some(B(a > b)), |a, b| Some(B(a > b))),
        Op::Le => zip_num(x, y, out, |a, b| Some(B(a <= b)), |a, b| Some(B(a <= b))),
        Op::Ge => zip_num(x, y, out, |a, b| Some(B(a >= b)), |a, b| Some(B(a >= b))),
        Op::Mod | Op::Pow => None,
    }
}

/// One loop over two numeric columns: `int` on two ints, `float` otherwise (an int
/// operand converted exactly); `None` as soon as either gives `None`.
#[inline(always)]
fn zip_num(
    x: &[Val],
    y: &[Val],
    out: &mut Vec<Val>,
    int: impl Fn(i64, i64) -> Option<Val>,
    float: impl Fn(f64, f64) -> Option<Val>,
) -> Option<()> {
    let exact = |i: i64| (i.unsigned_abs() <= EXACT).then_some(i as f64);
    out.clear();
    out.resize(x.len().min(y.len()), Val::Int(0));
    for (o, (p, q)) in out.iter_mut().zip(x.iter().zip(y)) {
        *o = match (*p, *q) {
            (Val::Int(a), Val::Int(b)) => int(a, b)?,
            (Val::Float(a), Val::Float(b)) => float(a, b)?,
            (Val::Int(a), Val::Float(b)) => float(exact(a)?, b)?,
            (Val::Float(a), Val::Int(b)) => float(a, exact(b)?)?,
            _ => return None,
        };
    }
    Some(())
}

/// `x + y` on two columns of inline strings whose sums stay inline.
pub fn concat_map2(x: &[Val], y: &[Val], out: &mut Vec<Val>) -> Option<()> {
    out.clear();
    out.reserve(x.len());
    for (p, q) in x.iter().zip(y) {
        let (Val::Str(a), Val::Str(b)) = (*p, *q) else { return None };
        out.push(Val::Str(Str::concat_inline(a, b)?));
    }
    Some(())
}

/// The flags of `a OP b` when the operands' flags decide them (see `kernels::flags`).
pub fn map2_flags(op: Op, fa: u8, fb: u8) -> Option<u8> {
    let num = |f: u8| f != 0 && f & !(INT | FLOAT) == 0;
    match op {
        Op::Eq | Op::Ne | Op::Lt | Op::Gt | Op::Le | Op::Ge => Some(BOOL),
        Op::Add | Op::Sub | Op::Mul if fa == INT && fb == INT => Some(INT),
        Op::Add | Op::Sub | Op::Mul | Op::Div if (fa == FLOAT && num(fb)) || (fb == FLOAT && num(fa)) => Some(FLOAT),
        Op::Div if num(fa) && num(fb) => Some(FLOAT),
        _ => None,
    }
}

/// `op` on every atom of `col` into `out`; the flags of `col` pick the fast loops.
pub fn map1(op: Map1, col: &[Val], flags: u8, out: &mut Vec<Val>, strings: &Strings) -> Result<(), String> {
    out.clear();
    match op {
        Map1::Not => out.extend(col.iter().map(|v| Val::Bool(!v.truthy()))),
        Map1::Indicator => out.extend(col.iter().map(|v| Val::Int(v.truthy() as i64))),
        // Ints stay; floats within range round half to even (what `value::round` does).
        Map1::Round if flags & !(INT | FLOAT) == 0 && col.iter().all(round_fast) => {
            out.extend(col.iter().map(|v| match *v {
                Val::Float(f) => Val::Int(round_half_even(f) as i64),
                other => other,
            }))
        }
        _ => {
            for &v in col {
                out.push(match op {
                    Map1::Neg => value::negate(v, true, strings)?,
                    Map1::Pos => value::negate(v, false, strings)?,
                    _ => value::round(v, strings)?,
                });
            }
        }
    }
    Ok(())
}

/// Whether `round` of `v` needs none of Python's corner cases (NaN, infinities, overflow).
fn round_fast(v: &Val) -> bool {
    match *v {
        Val::Int(_) => true,
        Val::Float(f) => f.abs() < 9.0e18,
        _ => false,
    }
}

/// `f.round_ties_even()` without the libm call: adding and subtracting 2^52 rounds a
/// float below 2^52 to an integer in the default (nearest, ties-to-even) mode; larger
/// floats are integers already.
#[inline]
pub fn round_half_even(f: f64) -> f64 {
    const TWO52: f64 = 4_503_599_627_370_496.0;
    let a = f.abs();
    if a < TWO52 {
        ((a + TWO52) - TWO52).copysign(f)
    } else {
        f
    }
}
pub fn lookup(table: &Table, v: Val, strings: &Strings) -> Result<Val, String> {
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
pub fn py_str(v: Val, out: &mut String) {
    match v {
        Val::Int(i) => {
            let _ = write!(out, "{i}");
        }
        Val::Bool(b) => out.push_str(if b { "True" } else { "False" }),
        Val::Float(f) => out.push_str(&value::py_float_repr(f)),
        Val::Str(_) => {}
    }
}

pub fn to_int(v: Val, strings: &Strings) -> Result<Val, String> {
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

pub fn to_float(v: Val, strings: &Strings) -> Result<Val, String> {
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
