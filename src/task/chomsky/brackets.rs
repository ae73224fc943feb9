//! `modular_arithmetic_brackets` and `solve_equation` (DCF): the benchmark's recursive grammar
//! of length-L expressions mod 5,
//!
//! ```text
//! E(1) = d    E(2) = -d    E(3) = (d)    E(4) = (-d)
//! E(L ≥ 5) = ( E(l) op E(L − l − 3) )    l ~ U{1..L−4}, op uniform
//! ```
//!
//! with d a uniform digit 0–4 and op among `+ - *` (`modular_arithmetic_brackets`, the
//! benchmark's `mult=True`) or `+ -` (`solve_equation`, whose expressions of length N − 2 get
//! one digit replaced by `x`, then `= value`).

use super::draw;
use rand::Rng;

const MODULUS: i64 = 5;
/// Depth of nested brackets beyond which an input is refused: the parser recurses, and 2000
/// levels stay far inside a test thread's stack. A benchmark input of length N nests at most
/// about N/4 deep (every level adds `(`, an operator, an operand and `)`).
const MAX_DEPTH: usize = 2_000;

/// The token ids of one task's grammar.
struct Syms {
    plus: u32,
    minus: u32,
    times: Option<u32>,
    open: u32,
    close: u32,
    x: Option<u32>,
}

/// `modular_arithmetic_brackets`: 5 `+`, 6 `-`, 7 `*`, 8 `(`, 9 `)` (10 `x` is never used).
const BRACKETS: Syms = Syms { plus: 5, minus: 6, times: Some(7), open: 8, close: 9, x: None };
/// `solve_equation`: 5 `+`, 6 `-`, 7 `(`, 8 `)`, 9 `x`, 10 `=`.
const EQUATION: Syms = Syms { plus: 5, minus: 6, times: None, open: 7, close: 8, x: Some(9) };
const EQUALS: u32 = 10;

fn expr<R: Rng>(len: usize, s: &Syms, rng: &mut R, out: &mut Vec<u32>) {
    let d = draw(rng, 5);
    match len {
        0 => {}
        1 => out.push(d),
        2 => out.extend([s.minus, d]),
        3 => out.extend([s.open, d, s.close]),
        4 => out.extend([s.open, s.minus, d, s.close]),
        _ => {
            let l = 1 + draw(rng, len - 4) as usize;
            out.push(s.open);
            expr(l, s, rng, out);
            let ops: &[u32] = match s.times {
                Some(t) => &[s.plus, s.minus, t],
                None => &[s.plus, s.minus],
            };
            out.push(ops[draw(rng, ops.len()) as usize]);
            expr(len - l - 3, s, rng, out);
            out.push(s.close);
        }
    }
}

pub fn brackets_sample<R: Rng>(n: usize, rng: &mut R) -> Vec<u32> {
    let mut out = Vec::with_capacity(n);
    expr(n, &BRACKETS, rng, &mut out);
    out
}

/// `[value mod 5]` of an expression of the grammar.
pub fn brackets_label(x: &[u32]) -> Result<Vec<u32>, String> {
    let lin = parse(x, &BRACKETS)?;
    Ok(vec![lin.c as u32])
}

/// N < 3: all zeros, label 0 (the benchmark's placeholder). N ≥ 3: an expression of length
/// N − 2 (`+ -` only), one of its digits (the first digit at or after a uniform position,
/// wrapping) replaced by `x`, then `=` and the expression's value.
pub fn equation_sample<R: Rng>(n: usize, rng: &mut R) -> Vec<u32> {
    if n < 3 {
        return vec![0; n];
    }
    let mut e = Vec::with_capacity(n);
    expr(n - 2, &EQUATION, rng, &mut e);
    let value = parse(&e, &EQUATION).map_or(0, |l| l.c as u32);
    let mut i = draw(rng, e.len()) as usize;
    while e[i] > 4 {
        i = (i + 1) % e.len();
    }
    e[i] = 9;
    e.extend([EQUALS, value]);
    e
}

/// `[x]`: the digit that makes `lhs ≡ rhs (mod 5)` (unique: x enters with coefficient ±1).
pub fn equation_label(x: &[u32]) -> Result<Vec<u32>, String> {
    let n = x.len();
    if n < 3 {
        return if x.iter().all(|&t| t == 0) {
            Ok(vec![0])
        } else {
            Err("inputs of length < 3 are all zeros (the benchmark's placeholder)".into())
        };
    }
    if x[n - 2] != EQUALS || x[n - 1] > 4 {
        return Err("an equation ends with `=` (10) and a digit 0-4".into());
    }
    let lin = parse(&x[..n - 2], &EQUATION)?;
    if lin.xs != 1 {
        return Err(format!("an equation has exactly one `x` (9), this has {}", lin.xs));
    }
    // a·x + c ≡ rhs with a ∈ {1, 4}, its own inverse mod 5.
    Ok(vec![((x[n - 1] as i64 - lin.c) * lin.a).rem_euclid(MODULUS) as u32])
}

/// A value `a·x + c` mod 5 and the number of `x` in it.
#[derive(Clone, Copy)]
struct Lin {
    a: i64,
    c: i64,
    xs: usize,
}

impl Lin {
    fn op(self, op: char, r: Lin) -> Lin {
        let m = |v: i64| v.rem_euclid(MODULUS);
        let xs = self.xs + r.xs;
        match op {
            '+' => Lin { a: m(self.a + r.a), c: m(self.c + r.c), xs },
            '-' => Lin { a: m(self.a - r.a), c: m(self.c - r.c), xs },
            // one side has no x (at most one x in an input, checked by the caller)
            _ => Lin { a: m(self.a * r.c + r.a * self.c), c: m(self.c * r.c), xs },
        }
    }
}

/// Parses a whole expression of the grammar (with `x` in a digit's place where allowed).
fn parse(x: &[u32], s: &Syms) -> Result<Lin, String> {
    let mut p = Parser { x, s, pos: 0 };
    let (v, _) = p.expr(0)?;
    match p.x.get(p.pos) {
        None => Ok(v),
        Some(t) => Err(format!("unexpected token {t} at position {} after a whole expression", p.pos)),
    }
}

struct Parser<'a> {
    x: &'a [u32],
    s: &'a Syms,
    pos: usize,
}

impl Parser<'_> {
    fn next(&mut self, what: &str) -> Result<u32, String> {
        let t = self.x.get(self.pos).copied().ok_or_else(|| format!("the input ends where {what} should be"))?;
        self.pos += 1;
        Ok(t)
    }

    /// A digit, or `x` where the grammar allows it.
    fn atom(&mut self) -> Result<Lin, String> {
        let at = self.pos;
        match self.next("a digit")? {
            d @ 0..=4 => Ok(Lin { a: 0, c: d as i64, xs: 0 }),
            t if Some(t) == self.s.x => Ok(Lin { a: 1, c: 0, xs: 1 }),
            t => Err(format!("token {t} at position {at} is not a digit")),
        }
    }

    /// One expression; also whether it is a bare `d` or `-d` (which may be bracketed alone).
    fn expr(&mut self, depth: usize) -> Result<(Lin, bool), String> {
        if depth > MAX_DEPTH {
            return Err(format!("brackets nested deeper than {MAX_DEPTH}"));
        }
        let at = self.pos;
        let t = self.next("an expression")?;
        if t == self.s.minus {
            let v = self.atom()?;
            return Ok((Lin { a: 0, c: 0, xs: 0 }.op('-', v), true));
        }
        if t != self.s.open {
            self.pos = at;
            return Ok((self.atom()?, true));
        }
        let (left, bare) = self.expr(depth + 1)?;
        let at = self.pos;
        let op = match self.next("an operator or `)`")? {
            c if c == self.s.close && bare => return Ok((left, false)),
            c if c == self.s.close => return Err(format!("`)` at position {at} closes a bracket around a bracket")),
            o if o == self.s.plus => '+',
            o if o == self.s.minus => '-',
            o if Some(o) == self.s.times => '*',
            o => return Err(format!("token {o} at position {at} is not an operator")),
        };
        let (right, _) = self.expr(depth + 1)?;
        let at = self.pos;
        if self.next("`)`")? != self.s.close {
            return Err(format!("position {at} needs `)`"));
        }
        if left.xs + right.xs > 1 {
            return Err("more than one `x`".into());
        }
        Ok((left.op(op, right), false))
    }
}
