//! `binary_addition`, `binary_multiplication`, `compute_sqrt` (CS).
//!
//! Operands are little-endian (`a 2 b`, least significant bit first); results are written
//! without high-order zeros (zero is `[0]`), then the end token 2, then zero padding.

use super::bits;
use super::{draw, nonzero_bits};
use rand::Rng;

const SEP: u32 = 2;
const END: u32 = 2;

/// N ≤ 2: one little-endian number uniform over [0, 2^N − 1) (the benchmark's
/// `randint(0, 2**N - 1)`, so `[0]` for N = 1 and never `[1, 1]`), no separator.
/// N ≥ 3: |a| ~ U{1..N−2}, |b| = N − 1 − |a|, each operand uniform over 1..2^len written with
/// exactly len bits (high-order zeros stay), then `a 2 b`.
fn operands_sample<R: Rng>(n: usize, rng: &mut R) -> Vec<u32> {
    if n <= 2 {
        let v = draw(rng, (1 << n) - 1);
        return (0..n).map(|i| (v >> i) & 1).collect();
    }
    let la = 1 + draw(rng, n - 2) as usize;
    let mut x = nonzero_bits(rng, la);
    x.push(SEP);
    x.extend(nonzero_bits(rng, n - 1 - la));
    x
}

pub fn addition_sample<R: Rng>(n: usize, rng: &mut R) -> Vec<u32> {
    operands_sample(n, rng)
}

pub fn multiplication_sample<R: Rng>(n: usize, rng: &mut R) -> Vec<u32> {
    operands_sample(n, rng)
}

/// Splits `a 2 b` (N ≥ 3) into its operands; N ≤ 2 inputs are one number of bits.
fn operands(x: &[u32]) -> Result<(&[u32], Option<&[u32]>), String> {
    let seps: Vec<usize> = (0..x.len()).filter(|&i| x[i] == SEP).collect();
    if x.len() <= 2 {
        return match seps.first() {
            None => Ok((x, None)),
            Some(i) => Err(format!("inputs of length ≤ 2 are one number, without the separator (at {i})")),
        };
    }
    match seps[..] {
        [i] if i > 0 && i + 1 < x.len() => Ok((&x[..i], Some(&x[i + 1..]))),
        [i] => Err(format!("the separator at position {i} leaves an operand empty")),
        _ => Err(format!("an input of length ≥ 3 is `a 2 b` with one separator, this has {}", seps.len())),
    }
}

/// `bits` without high-order zeros (`[0]` for zero), then 2, then zeros up to `len`.
fn result(v: Vec<u32>, len: usize) -> Vec<u32> {
    let mut out = bits::trim(v);
    if out.is_empty() {
        out.push(0);
    }
    out.push(END);
    out.resize(len, 0);
    out
}

/// a + b, then 2, then zeros: N + 1 ids. N ≤ 2: the number itself (`[0]` → `[0, 2]`,
/// `[0, 1]` → `[0, 1, 2]`, `[1, 0]` → `[1, 2, 0]`).
pub fn addition_label(x: &[u32]) -> Result<Vec<u32>, String> {
    let sum = match operands(x)? {
        (a, None) => a.to_vec(),
        (a, Some(b)) => bits::add(a, b),
    };
    Ok(result(sum, x.len() + 1))
}

/// a · b, then 2, then zeros: N ids. N = 1 gives `[2]` and N = 2 gives `[0, 2]` whatever the
/// bits (the benchmark fixes these results).
pub fn multiplication_label(x: &[u32]) -> Result<Vec<u32>, String> {
    match operands(x)? {
        (_, None) if x.len() == 1 => Ok(vec![END]),
        (_, None) => Ok(vec![0, END]),
        (a, Some(b)) => Ok(result(bits::mul(a, b), x.len())),
    }
}

/// v uniform over 1..2^N (never zero), big-endian, N bits.
pub fn sqrt_sample<R: Rng>(n: usize, rng: &mut R) -> Vec<u32> {
    nonzero_bits(rng, n)
}

/// ⌊√v⌋ big-endian, zero-padded to ⌈N/2⌉ bits.
pub fn sqrt_label(x: &[u32]) -> Result<Vec<u32>, String> {
    if let Some(i) = x.iter().position(|&b| b > 1) {
        return Err(format!("position {i} holds {}, not a bit", x[i]));
    }
    let le: Vec<u32> = x.iter().rev().copied().collect();
    let mut root = bits::isqrt(&le);
    root.resize(x.len().div_ceil(2), 0);
    root.reverse();
    Ok(root)
}
