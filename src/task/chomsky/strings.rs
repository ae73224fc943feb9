//! `modular_arithmetic` (R), `stack_manipulation` (DCF), `missing_duplicate_string` (CS).

use super::draw;
use rand::Rng;

const MODULUS: i64 = 5;
/// `modular_arithmetic` operator ids (digits are 0–4).
const PLUS: u32 = 5;
const MINUS: u32 = 6;
const TIMES: u32 = 7;
/// The blank `_`: never drawn; the benchmark's labeller reads it as `0` at a digit's place
/// and as `+` at an operator's place (`_replace_blanks`).
const BLANK: u32 = 8;

/// Digits at even positions, operators `+ * -` (uniform) at odd ones; an even length is
/// reduced by one (the benchmark's inputs have odd lengths).
pub fn arithmetic_sample<R: Rng>(n: usize, rng: &mut R) -> Vec<u32> {
    let n = if n % 2 == 0 { n - 1 } else { n };
    (0..n).map(|i| if i % 2 == 0 { draw(rng, 5) } else { [PLUS, TIMES, MINUS][draw(rng, 3) as usize] }).collect()
}

/// The value mod 5, `*` before `+`/`-`, left to right (`1 - 1 - 1` is 4): `[value]`.
pub fn arithmetic_label(x: &[u32]) -> Result<Vec<u32>, String> {
    if x.len() % 2 == 0 {
        return Err(format!("an expression has odd length (digit, operator, …, digit), not {}", x.len()));
    }
    let mut total = 0i64;
    let mut term = 0i64;
    for (i, &t) in x.iter().enumerate() {
        if i % 2 == 0 {
            let d = match t {
                0..=4 => t as i64,
                BLANK => 0,
                _ => return Err(format!("position {i} needs a digit 0-4 (or the blank 8), not {t}")),
            };
            term = if i == 0 { d } else { apply(x[i - 1], term, d, &mut total) };
        } else if !matches!(t, PLUS | MINUS | TIMES | BLANK) {
            return Err(format!("position {i} needs an operator 5 (+), 6 (-), 7 (*) or the blank 8, not {t}"));
        }
    }
    Ok(vec![(total + term).rem_euclid(MODULUS) as u32])
}

/// Applies operator `op` to the running term and the next digit `d`; returns the new term.
fn apply(op: u32, term: i64, d: i64, total: &mut i64) -> i64 {
    match op {
        TIMES => (term * d).rem_euclid(MODULUS),
        MINUS => {
            *total += term;
            -d
        }
        _ => {
            *total += term; // `+` and a blank operator
            d
        }
    }
}

/// `stack_manipulation` actions.
const POP: u32 = 2;
const PUSH0: u32 = 3;

/// N = 1: one stack bit. N ≥ 2: a stack part of k ~ U{1..N−1} bits (bottom to top), then N − k
/// actions uniform over POP (2), PUSH 0 (3), PUSH 1 (4).
pub fn stack_sample<R: Rng>(n: usize, rng: &mut R) -> Vec<u32> {
    if n == 1 {
        return vec![draw(rng, 2)];
    }
    let k = 1 + draw(rng, n - 1) as usize;
    (0..n).map(|i| if i < k { draw(rng, 2) } else { 2 + draw(rng, 3) }).collect()
}

/// The final stack top to bottom, the end token 2, then zeros: N + 1 ids. POP on an empty stack
/// does nothing. The stack part is the leading bits; every later token must be an action.
pub fn stack_label(x: &[u32]) -> Result<Vec<u32>, String> {
    let k = x.iter().position(|&t| t >= POP).unwrap_or(x.len());
    let mut stack: Vec<u32> = x[..k].to_vec();
    for (i, &a) in x.iter().enumerate().skip(k) {
        match a {
            POP => {
                stack.pop();
            }
            PUSH0 | 4 => stack.push(a - PUSH0),
            _ => return Err(format!("stack bit {a} at position {i} after the first action")),
        }
    }
    let mut out: Vec<u32> = stack.into_iter().rev().collect();
    out.push(2);
    out.resize(x.len() + 1, 0);
    Ok(out)
}

const HOLE: u32 = 2;
const PAD: u32 = 3;

/// N = 1: `[1]` (the benchmark's fixed input). N ≥ 2: s ++ s for s of N/2 uniform bits, one
/// uniform position of the 2·⌊N/2⌋ replaced by the hole 2, then the pad 3 if N is odd.
pub fn missing_sample<R: Rng>(n: usize, rng: &mut R) -> Vec<u32> {
    if n == 1 {
        return vec![1];
    }
    let h = n / 2;
    let s: Vec<u32> = (0..h).map(|_| draw(rng, 2)).collect();
    let mut x: Vec<u32> = s.iter().chain(&s).copied().collect();
    x[draw(rng, 2 * h) as usize] = HOLE;
    if n % 2 == 1 {
        x.push(PAD);
    }
    x
}

/// `[the hidden bit]`: the bit at the hole's position in the other copy. N = 1: `[1]` → `[1]`.
pub fn missing_label(x: &[u32]) -> Result<Vec<u32>, String> {
    let n = x.len();
    if n == 1 {
        return if x == [1] { Ok(vec![1]) } else { Err("the only input of length 1 is [1]".into()) };
    }
    let h = n / 2;
    if n % 2 == 1 && x[n - 1] != PAD {
        return Err(format!("an odd-length input ends with the pad 3, not {}", x[n - 1]));
    }
    let body = &x[..2 * h];
    if let Some(i) = body.iter().position(|&t| t == PAD) {
        return Err(format!("the pad 3 at position {i} is not last"));
    }
    let holes: Vec<usize> = (0..2 * h).filter(|&i| body[i] == HOLE).collect();
    let [hole] = holes[..] else {
        return Err(format!("the input needs exactly one hole (2), it has {}", holes.len()));
    };
    for i in 0..h {
        let (a, b) = (body[i], body[i + h]);
        if a != HOLE && b != HOLE && a != b {
            return Err(format!("the two copies differ at positions {i} and {}", i + h));
        }
    }
    Ok(vec![body[if hole < h { hole + h } else { hole - h }]])
}
