//! The per-input kernels of selectors and aggregates, on bit-packed
//! selector matrices: row `q` (a query position) is `w = ceil(n/64)` words,
//! bit `k` set when key position `k` is selected. Columns are classified
//! once per node (see [`flags`]) so that comparisons run on plain integers,
//! floats or packed strings, with Python's semantics kept in the slow path.

use super::column::View;
pub use super::select::select;
use super::value::{self, Val};

pub const INT: u8 = 1;
pub const FLOAT: u8 = 2;
pub const BOOL: u8 = 4;
pub const STR: u8 = 8;
pub const LONG_STR: u8 = 16;
pub const STRS: u8 = STR | LONG_STR;

/// Which kinds of atoms a column holds.
#[inline]
pub fn flag(v: Val) -> u8 {
    match v {
        Val::Int(_) => INT,
        Val::Float(_) => FLOAT,
        Val::Bool(_) => BOOL,
        Val::Str(s) => {
            if value::is_inline(s) {
                STR
            } else {
                LONG_STR
            }
        }
    }
}

pub fn flags(col: &[Val]) -> u8 {
    col.iter().fold(0, |f, v| f | flag(*v))
}

/// The original's rule for a new sequence: strings never mix with other atoms.
pub fn check_mix(f: u8) -> Result<(), String> {
    if f & STRS != 0 && f & !STRS != 0 {
        return Err("a sequence mixes strings with numbers or booleans".into());
    }
    Ok(())
}

pub fn words(n: usize) -> usize {
    n.div_ceil(64)
}

/// Clears the bits beyond `n` in every row (of every input of a batch).
pub fn mask_tail(sel: &mut [u64], n: usize) {
    let w = words(n);
    let rem = n % 64;
    if rem != 0 {
        for row in sel.chunks_exact_mut(w) {
            row[w - 1] &= (1u64 << rem) - 1;
        }
    }
}

/// Scratch buffers for [`select`] and [`aggregate`], reused across inputs.
#[derive(Clone, Default)]
pub struct Scratch {
    pub(super) dense: super::dense::Dense,
    pub(super) ones: Vec<u64>,
    pub(super) ki: Vec<i64>,
    pub(super) qi: Vec<i64>,
    pub(super) kf: Vec<f64>,
    pub(super) qf: Vec<f64>,
    pub(super) kv: Vec<Val>,
    pub(super) qv: Vec<Val>,
}

/// An atom as the integer kernels order it (ints, booleans and inline strings keep their order).
#[inline]
pub fn as_int(v: Val) -> i64 {
    match v {
        Val::Int(i) => i,
        Val::Bool(b) => b as i64,
        // Flipping the top bit keeps the packed strings' unsigned order under signed comparison.
        Val::Str(s) => (value::str_bits(s) ^ (1 << 63)) as i64,
        Val::Float(f) => f as i64,
    }
}

/// Defines `pub fn NAME(args) -> R` running `BODY(args)` (an `#[inline(always)]` function),
/// compiled with the POPCNT instruction where the CPU has it (checked at run time): bit counts
/// are the inner loops of these kernels, and the baseline x86-64 target counts bits in software.
macro_rules! with_popcnt {
    ($(#[$m:meta])* pub fn $name:ident = $body:ident($($a:ident: $t:ty),*) -> $r:ty) => {
        $(#[$m])*
        pub fn $name($($a: $t),*) -> $r {
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "popcnt")]
                unsafe fn fast($($a: $t),*) -> $r {
                    $body($($a),*)
                }
                if std::is_x86_feature_detected!("popcnt") {
                    // SAFETY: the CPU has POPCNT (checked just above).
                    return unsafe { fast($($a),*) };
                }
            }
            $body($($a),*)
        }
    };
}

with_popcnt! {
    /// `aggregate(sel, col, default)` of one input into `out` (as long as `col`); returns
    /// the kinds of atoms written ([`flags`]).
    pub fn aggregate = aggregate_body(
        sel: &[u64], col: View, cf: u8, default: Val, out: &mut [Val], s: &mut Scratch
    ) -> Result<u8, String>
}

with_popcnt! {
    /// `selector_width`: the number of selected keys in each row (of every input of a
    /// batch), into `out`.
    pub fn width = width_body(sel: &[u64], n: usize, out: &mut Vec<i64>) -> ()
}

#[inline(always)]
fn aggregate_body(
    sel: &[u64],
    col: View,
    cf: u8,
    default: Val,
    out: &mut [Val],
    s: &mut Scratch,
) -> Result<u8, String> {
    // One loop per kind of column, each reading its atoms directly.
    match col {
        View::Int(v) => aggregate_with(sel, col, |k| Val::Int(v[k]), cf, default, out, s),
        View::Float(v) => aggregate_with(sel, col, |k| Val::Float(v[k]), cf, default, out, s),
        View::Bool(v) => aggregate_with(sel, col, |k| Val::Bool(v[k]), cf, default, out, s),
        View::Str(v) => aggregate_with(sel, col, |k| Val::Str(v[k]), cf, default, out, s),
        View::Any(v) => aggregate_with(sel, col, |k| v[k], cf, default, out, s),
        View::Atom(a, _) => aggregate_with(sel, col, |_| a, cf, default, out, s),
    }
}

/// [`aggregate_body`] on a column whose atom `k` is `get(k)`.
#[inline(always)]
fn aggregate_with(
    sel: &[u64],
    col: View,
    get: impl Fn(usize) -> Val + Copy,
    cf: u8,
    default: Val,
    out: &mut [Val],
    s: &mut Scratch,
) -> Result<u8, String> {
    let n = col.len();
    let w = words(n);
    out.fill(default);
    let numeric = cf & STRS == 0 && cf != BOOL;
    let mut zero_one = false;
    if cf & !(INT | BOOL) == 0 {
        col.as_ints(&mut s.ki);
        zero_one = super::dense::ones(&s.ki, w, &mut s.ones);
    }
    // The kinds written: the default's where a row is empty, the selected value's where one
    // is selected, float where values are averaged.
    let (mut empty, mut single, mut mean) = (false, 0u8, false);
    if w == 1 && numeric && zero_one {
        // One word per row (n ≤ 64), 0/1 values: two bit counts per row.
        let ones = s.ones[0];
        for (o, &row) in out.iter_mut().zip(sel) {
            let count = row.count_ones();
            *o = match count {
                0 => {
                    empty = true;
                    continue;
                }
                1 => {
                    let v = get(row.trailing_zeros() as usize);
                    single |= flag(v);
                    v
                }
                _ => {
                    mean = true;
                    Val::Float((row & ones).count_ones() as f64 / count as f64)
                }
            };
        }
        return Ok(single | if empty { flag(default) } else { 0 } | if mean { FLOAT } else { 0 });
    }
    for (q, o) in out.iter_mut().enumerate() {
        let row = &sel[q * w..(q + 1) * w];
        let count: u32 = row.iter().map(|b| b.count_ones()).sum();
        *o = match count {
            0 => {
                empty = true;
                continue;
            }
            1 => {
                let c = row.iter().position(|b| *b != 0).unwrap_or(0);
                let v = get(c * 64 + row[c].trailing_zeros() as usize);
                single |= flag(v);
                v
            }
            _ if !numeric => {
                return Err(format!("cannot average several values that are not numbers ({} values)", kind_of(cf)));
            }
            _ if zero_one => {
                mean = true;
                let ones: u32 = row.iter().zip(&s.ones).map(|(r, o)| (r & o).count_ones()).sum();
                Val::Float(ones as f64 / count as f64)
            }
            _ if cf & FLOAT == 0 => {
                mean = true;
                Val::Float(int_sum(row, get) / count as f64)
            }
            _ => {
                mean = true;
                Val::Float(mixed_sum(row, get) / count as f64)
            }
        };
    }
    Ok(single | if empty { flag(default) } else { 0 } | if mean { FLOAT } else { 0 })
}

#[inline(always)]
fn width_body(sel: &[u64], n: usize, out: &mut Vec<i64>) {
    let w = words(n);
    out.clear();
    out.extend(sel.chunks_exact(w).map(|row| row.iter().map(|b| b.count_ones() as i64).sum::<i64>()));
}

fn kind_of(cf: u8) -> &'static str {
    if cf & STRS != 0 {
        "string"
    } else {
        "bool"
    }
}

fn for_each_bit(row: &[u64], mut f: impl FnMut(usize)) {
    for (c, &word) in row.iter().enumerate() {
        let mut b = word;
        while b != 0 {
            f(c * 64 + b.trailing_zeros() as usize);
            b &= b - 1;
        }
    }
}

/// Python's exact int sum, then `float()`: i64 while it fits, else i128.
fn int_sum(row: &[u64], get: impl Fn(usize) -> Val) -> f64 {
    let (mut s, mut big, mut wide) = (0i64, 0i128, false);
    for_each_bit(row, |k| {
        let v = as_int(get(k));
        if wide {
            big += v as i128;
        } else if let Some(t) = s.checked_add(v) {
            s = t;
        } else {
            (wide, big) = (true, s as i128 + v as i128);
        }
    });
    if wide {
        big as f64
    } else {
        s as f64
    }
}

/// Python's `sum` over selected values in key order: exact while all are ints, then floats.
fn mixed_sum(row: &[u64], get: impl Fn(usize) -> Val) -> f64 {
    let (mut int_acc, mut float_acc, mut is_float) = (0i128, 0f64, false);
    for_each_bit(row, |k| match get(k) {
        Val::Float(f) => {
            if !is_float {
                float_acc = int_acc as f64;
                is_float = true;
            }
            float_acc += f;
        }
        v if is_float => float_acc += as_int(v) as f64,
        v => int_acc += as_int(v) as i128,
    });
    if is_float {
        float_acc
    } else {
        int_acc as f64
    }
}
