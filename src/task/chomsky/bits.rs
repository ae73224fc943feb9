//! Unsigned integers of any size as little-endian bit vectors (`u32` 0/1 per bit), enough for
//! the binary tasks: sums, products and integer square roots of ~500-bit numbers.

use std::cmp::Ordering;

/// Drops high-order zeros (zero becomes the empty vector).
pub fn trim(mut v: Vec<u32>) -> Vec<u32> {
    while v.last() == Some(&0) {
        v.pop();
    }
    v
}

/// `a + b`.
pub fn add(a: &[u32], b: &[u32]) -> Vec<u32> {
    let n = a.len().max(b.len());
    let mut out = Vec::with_capacity(n + 1);
    let mut carry = 0;
    for i in 0..n {
        let s = a.get(i).copied().unwrap_or(0) + b.get(i).copied().unwrap_or(0) + carry;
        out.push(s & 1);
        carry = s >> 1;
    }
    out.push(carry);
    trim(out)
}

/// `a · b` (schoolbook).
pub fn mul(a: &[u32], b: &[u32]) -> Vec<u32> {
    let mut out = vec![0u32; a.len() + b.len() + 1];
    for (i, _) in a.iter().enumerate().filter(|(_, &bit)| bit == 1) {
        let mut carry = 0;
        for j in 0..b.len() {
            let s = out[i + j] + b[j] + carry;
            out[i + j] = s & 1;
            carry = s >> 1;
        }
        let mut k = i + b.len();
        while carry > 0 {
            let s = out[k] + carry;
            out[k] = s & 1;
            carry = s >> 1;
            k += 1;
        }
    }
    trim(out)
}

fn cmp(a: &[u32], b: &[u32]) -> Ordering {
    let (a, b) = (trim(a.to_vec()), trim(b.to_vec()));
    a.len().cmp(&b.len()).then_with(|| a.iter().rev().cmp(b.iter().rev()))
}

/// `a − b` for `a ≥ b`.
fn sub(a: &[u32], b: &[u32]) -> Vec<u32> {
    let mut out = Vec::with_capacity(a.len());
    let mut borrow = 0i64;
    for i in 0..a.len() {
        let mut d = a[i] as i64 - b.get(i).copied().unwrap_or(0) as i64 - borrow;
        borrow = i64::from(d < 0);
        d += 2 * borrow;
        out.push(d as u32);
    }
    trim(out)
}

/// ⌊√v⌋, digit by digit from the most significant pair of bits (the restoring method: with
/// root q and remainder r so far, r ← 4r + next pair; if r ≥ 4q + 1 then r −= 4q + 1 and the
/// next root bit is 1, else 0).
pub fn isqrt(v: &[u32]) -> Vec<u32> {
    let v = trim(v.to_vec());
    let pairs = v.len().div_ceil(2);
    let (mut r, mut q): (Vec<u32>, Vec<u32>) = (vec![], vec![]);
    for j in (0..pairs).rev() {
        let lo = v.get(2 * j).copied().unwrap_or(0);
        let hi = v.get(2 * j + 1).copied().unwrap_or(0);
        r = [lo, hi].iter().chain(&r).copied().collect();
        let t: Vec<u32> = [1, 0].iter().chain(&q).copied().collect();
        let bit = if cmp(&r, &t) != Ordering::Less {
            r = sub(&r, &t);
            1
        } else {
            0
        };
        q.insert(0, bit);
    }
    trim(q)
}
