//! Atoms (ints, floats, strings, booleans) with Python's semantics, as the
//! original interpreter computes them: `True == 1`, int/float comparisons
//! are exact, `/` is true division, `%` takes the divisor's sign, `round`
//! rounds half to even, `+` concatenates strings and `*` repeats them.
//!
//! Strings are [`Str`]s (see `strings`).

pub use super::strings::{is_inline, str_bits, Mark, Str, Strings, MAX_STR_BYTES};
use std::cmp::Ordering;

/// One atom. `repr(C, u8)` puts every payload at offset 8, so that a value
/// is copied as two words (the default layout put booleans at offset 1,
/// and copies went through unaligned partial moves that stalled the kernels).
#[derive(Clone, Copy, Debug, PartialEq)]
#[repr(C, u8)]
pub enum Val {
    Int(i64),
    Float(f64),
    Bool(bool),
    Str(Str),
}

/// A number as Python sees it: bools are ints.
#[derive(Clone, Copy)]
enum Num {
    I(i64),
    F(f64),
}

impl Val {
    #[inline]
    fn num(self) -> Option<Num> {
        match self {
            Val::Int(i) => Some(Num::I(i)),
            Val::Bool(b) => Some(Num::I(b as i64)),
            Val::Float(f) => Some(Num::F(f)),
            Val::Str(_) => None,
        }
    }
    pub fn is_str(self) -> bool {
        matches!(self, Val::Str(_))
    }
    /// Python truthiness.
    #[inline]
    pub fn truthy(self) -> bool {
        match self {
            Val::Int(i) => i != 0,
            Val::Float(f) => f != 0.0,
            Val::Bool(b) => b,
            Val::Str(s) => !s.is_empty(),
        }
    }
    pub fn type_name(self) -> &'static str {
        match self {
            Val::Int(_) => "int",
            Val::Float(_) => "float",
            Val::Bool(_) => "bool",
            Val::Str(_) => "string",
        }
    }
    pub fn show(self, strings: &Strings) -> String {
        match self {
            Val::Int(i) => i.to_string(),
            Val::Float(f) => format!("{f:?}"),
            Val::Bool(b) => if b { "True" } else { "False" }.into(),
            Val::Str(s) => format!("\"{}\"", strings.string(s)),
        }
    }
}

/// Exact comparison of an int with a float, as Python does it.
fn cmp_int_float(i: i64, f: f64) -> Option<Ordering> {
    if f.is_nan() {
        return None;
    }
    if f >= 9.3e18 {
        return Some(Ordering::Less);
    }
    if f <= -9.3e18 {
        return Some(Ordering::Greater);
    }
    let t = f.trunc();
    match i.cmp(&(t as i64)) {
        Ordering::Equal if f > t => Some(Ordering::Less),
        Ordering::Equal if f < t => Some(Ordering::Greater),
        o => Some(o),
    }
}

#[inline]
fn cmp_num(a: Num, b: Num) -> Option<Ordering> {
    match (a, b) {
        (Num::I(x), Num::I(y)) => Some(x.cmp(&y)),
        (Num::F(x), Num::F(y)) => x.partial_cmp(&y),
        (Num::I(x), Num::F(y)) => cmp_int_float(x, y),
        (Num::F(x), Num::I(y)) => cmp_int_float(y, x).map(Ordering::reverse),
    }
}

/// Python `a == b` (never an error).
#[inline]
pub fn eq(a: Val, b: Val) -> bool {
    match (a, b) {
        (Val::Int(x), Val::Int(y)) => x == y,
        (Val::Str(x), Val::Str(y)) => x == y,
        (Val::Str(_), _) | (_, Val::Str(_)) => false,
        _ => cmp_num(a.num().unwrap(), b.num().unwrap()) == Some(Ordering::Equal),
    }
}

/// Python ordering of `a` and `b`: `None` for NaN; an error between a string and a number.
pub fn cmp(a: Val, b: Val, strings: &Strings) -> Result<Option<Ordering>, String> {
    match (a, b) {
        (Val::Int(x), Val::Int(y)) => Ok(Some(x.cmp(&y))),
        (Val::Str(x), Val::Str(y)) => Ok(Some(strings.cmp(x, y))),
        (Val::Str(_), _) | (_, Val::Str(_)) => Err(format!(
            "cannot order {} and {} ({} vs {})",
            a.type_name(),
            b.type_name(),
            a.show(strings),
            b.show(strings)
        )),
        _ => Ok(cmp_num(a.num().unwrap(), b.num().unwrap())),
    }
}

/// The binary operators of RASP, on atoms.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    Add,
    Sub,
    Mul,
    Div,
    Mod,
    Pow,
    Eq,
    Ne,
    Lt,
    Gt,
    Le,
    Ge,
}

impl Op {
    pub fn text(self) -> &'static str {
        match self {
            Op::Add => "+",
            Op::Sub => "-",
            Op::Mul => "*",
            Op::Div => "/",
            Op::Mod => "%",
            Op::Pow => "^",
            Op::Eq => "==",
            Op::Ne => "!=",
            Op::Lt => "<",
            Op::Gt => ">",
            Op::Le => "<=",
            Op::Ge => ">=",
        }
    }
}

fn overflow() -> String {
    "integer overflow (algen's RASP ints are 64-bit)".into()
}

fn float(v: f64) -> Result<Val, String> {
    Ok(Val::Float(v))
}

fn type_err(op: Op, a: Val, b: Val, strings: &Strings) -> String {
    format!(
        "unsupported operand types for {}: {} and {} ({} {} {})",
        op.text(),
        a.type_name(),
        b.type_name(),
        a.show(strings),
        op.text(),
        b.show(strings)
    )
}

/// Python's `a OP b` on two atoms.
pub fn binary(op: Op, a: Val, b: Val, strings: &mut Strings) -> Result<Val, String> {
    let ord = |o: Ordering| -> bool {
        match op {
            Op::Lt => o == Ordering::Less,
            Op::Gt => o == Ordering::Greater,
            Op::Le => o != Ordering::Greater,
            _ => o != Ordering::Less,
        }
    };
    match op {
        Op::Eq => return Ok(Val::Bool(eq(a, b))),
        Op::Ne => return Ok(Val::Bool(!eq(a, b))),
        Op::Lt | Op::Gt | Op::Le | Op::Ge => return Ok(Val::Bool(cmp(a, b, strings)?.is_some_and(ord))),
        _ => {}
    }
    if let (Val::Str(x), Val::Str(y)) = (a, b) {
        if op == Op::Add {
            if let Some(s) = Str::concat_inline(x, y) {
                return Ok(Val::Str(s));
            }
            let (mut p, mut q) = ([0u8; 8], [0u8; 8]);
            strings.check_new(strings.get(x, &mut p).len() + strings.get(y, &mut q).len())?;
            let s = strings.string(x) + &strings.string(y);
            return Ok(Val::Str(strings.intern(&s)));
        }
    }
    if let Some(v) = repeat(op, a, b, strings) {
        return v;
    }
    let (Some(x), Some(y)) = (a.num(), b.num()) else {
        return Err(type_err(op, a, b, strings));
    };
    arith(op, x, y)
}

/// `"ab" * 2` and `2 * "ab"` (a count below 1 gives `""`, as in Python);
/// an error past the string size limits (see `strings`).
fn repeat(op: Op, a: Val, b: Val, strings: &mut Strings) -> Option<Result<Val, String>> {
    if op != Op::Mul {
        return None;
    }
    let (s, n) = match (a, b) {
        (Val::Str(s), n) | (n, Val::Str(s)) => (s, n),
        _ => return None,
    };
    let n = match n.num()? {
        Num::I(i) => i.max(0) as u64,
        Num::F(_) => return None,
    };
    let text = strings.string(s);
    let len = (text.len() as u64).saturating_mul(n);
    if let Err(e) = strings.check_new(usize::try_from(len).unwrap_or(usize::MAX)) {
        return Some(Err(e));
    }
    Some(Ok(Val::Str(strings.intern(&text.repeat(n as usize)))))
}

fn arith(op: Op, x: Num, y: Num) -> Result<Val, String> {
    use Num::*;
    if let (I(a), I(b)) = (x, y) {
        return int_arith(op, a, b);
    }
    let a = match x {
        I(i) => i as f64,
        F(f) => f,
    };
    let b = match y {
        I(i) => i as f64,
        F(f) => f,
    };
    match op {
        Op::Add => float(a + b),
        Op::Sub => float(a - b),
        Op::Mul => float(a * b),
        Op::Div if b == 0.0 => Err("division by zero".into()),
        Op::Div => float(a / b),
        Op::Mod if b == 0.0 => Err("modulo by zero".into()),
        Op::Mod => float(py_fmod(a, b)),
        _ => float_pow(a, b),
    }
}

fn int_arith(op: Op, a: i64, b: i64) -> Result<Val, String> {
    let r = match op {
        Op::Add => a.checked_add(b),
        Op::Sub => a.checked_sub(b),
        Op::Mul => a.checked_mul(b),
        Op::Div if b == 0 => return Err("division by zero".into()),
        Op::Div => return float(int_div(a, b)),
        Op::Mod if b == 0 => return Err("modulo by zero".into()),
        Op::Mod => a.checked_rem_euclid(b).map(|r| if r != 0 && b < 0 { r + b } else { r }),
        _ if b < 0 => return float_pow(a as f64, b as f64),
        _ => u32::try_from(b).ok().and_then(|e| a.checked_pow(e)),
    };
    r.map(Val::Int).ok_or_else(overflow)
}

/// Python's int true division: correctly rounded when both fit in 53 bits.
fn int_div(a: i64, b: i64) -> f64 {
    a as f64 / b as f64
}

fn py_fmod(a: f64, b: f64) -> f64 {
    let m = a % b;
    if m != 0.0 && ((m < 0.0) != (b < 0.0)) {
        m + b
    } else if m == 0.0 {
        0.0f64.copysign(b)
    } else {
        m
    }
}

fn float_pow(a: f64, b: f64) -> Result<Val, String> {
    if a == 0.0 && b < 0.0 {
        return Err("0.0 cannot be raised to a negative power".into());
    }
    if a < 0.0 && b.fract() != 0.0 {
        return Err("a negative number raised to a fractional power is complex".into());
    }
    let r = a.powf(b);
    if r.is_infinite() && a.is_finite() && b.is_finite() {
        return Err("numerical result out of range".into());
    }
    float(r)
}

/// Unary `-` and `+`.
pub fn negate(a: Val, neg: bool, strings: &Strings) -> Result<Val, String> {
    match a.num() {
        Some(Num::I(i)) if neg => i.checked_neg().map(Val::Int).ok_or_else(overflow),
        Some(Num::I(i)) => Ok(Val::Int(i)),
        Some(Num::F(f)) => float(if neg { -f } else { f }),
        None => Err(format!("bad operand type for unary {}: {}", if neg { "-" } else { "+" }, a.show(strings))),
    }
}

/// Python `round(x)`: an int, halves to even.
pub fn round(a: Val, strings: &Strings) -> Result<Val, String> {
    match a.num() {
        Some(Num::I(i)) => Ok(Val::Int(i)),
        Some(Num::F(f)) if f.is_nan() => Err("cannot convert float NaN to integer".into()),
        Some(Num::F(f)) if f.is_infinite() => Err("cannot convert float infinity to integer".into()),
        Some(Num::F(f)) => {
            let r = f.round_ties_even();
            if r.abs() >= 9.2e18 {
                return Err(overflow());
            }
            Ok(Val::Int(r as i64))
        }
        None => Err(format!("type string doesn't define __round__ ({})", a.show(strings))),
    }
}

/// Python's `repr` of a float (shortest round-trip digits; exponent form
/// below 1e-4 and from 1e16).
pub fn py_float_repr(f: f64) -> String {
    if f.is_nan() {
        return "nan".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { "inf" } else { "-inf" }.into();
    }
    if f == 0.0 {
        return if f.is_sign_negative() { "-0.0" } else { "0.0" }.into();
    }
    let sci = format!("{:e}", f.abs());
    let (mant, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let digits: String = mant.chars().filter(|c| *c != '.').collect();
    let sign = if f < 0.0 { "-" } else { "" };
    if (-4..16).contains(&exp) {
        let point = exp + 1;
        let s = if point <= 0 {
            format!("0.{}{}", "0".repeat((-point) as usize), digits)
        } else if point as usize >= digits.len() {
            format!("{}{}.0", digits, "0".repeat(point as usize - digits.len()))
        } else {
            format!("{}.{}", &digits[..point as usize], &digits[point as usize..])
        };
        format!("{sign}{s}")
    } else {
        let m = if digits.len() > 1 { format!("{}.{}", &digits[..1], &digits[1..]) } else { digits };
        format!("{sign}{m}e{}{:02}", if exp < 0 { "-" } else { "+" }, exp.abs())
    }
}
