//! Finite universes (Power et al. 2022): every tuple of the ranged variables that passes the
//! filter, enumerated once in lexicographic order and labelled; [`super::parts`] splits them.
//!
//! ```text
//! enumerate(task) ──► all examples (input = the layout's token ids, target = the answer)
//! ```
//!
//! Shuffles ([`permutation`]) are Fisher–Yates with `gen_range` over `u32`, so a split depends
//! only on the pinned rand/rand_chacha versions, never on the platform.

use super::eval::eval;
use super::generate::Example;
use super::label::{LabelError, Labeler};
use super::value::Value;
use crate::ir::{Slot, Task, Universe};
use rand::Rng;
use rand_chacha::ChaCha8Rng;

fn universe(task: &Task) -> Option<&Universe> {
    task.universe()
}

/// Every example of `task`'s universe, in lexicographic order of the variables (the first
/// varies slowest). Empty for a task without a universe.
pub fn enumerate(task: &Task) -> Result<Vec<Example>, LabelError> {
    let Some(u) = universe(task) else { return Ok(vec![]) };
    let labeler = Labeler::new(task);
    let mut out = vec![];
    if u.vars.iter().any(|v| v.hi < v.lo) {
        return Ok(out);
    }
    let mut vals: Vec<i64> = u.vars.iter().map(|v| v.lo).collect();
    loop {
        if keep(task, u, &vals)? {
            let input = layout_ids(task, u, &vals);
            let target = labeler.label(&input)?;
            out.push(Example { input, target });
        }
        // Odometer: the last variable varies fastest.
        let mut k = u.vars.len();
        loop {
            if k == 0 {
                return Ok(out);
            }
            k -= 1;
            if vals[k] < u.vars[k].hi {
                vals[k] += 1;
                break;
            }
            vals[k] = u.vars[k].lo;
        }
    }
}

/// Whether the filter keeps the tuple `vals`.
pub(super) fn keep(task: &Task, u: &Universe, vals: &[i64]) -> Result<bool, LabelError> {
    let Some(f) = &u.filter else { return Ok(true) };
    let values: Vec<Value> = vals.iter().map(|&v| Value::Int(v)).collect();
    let show = || vals.iter().map(|v| v.to_string()).collect::<Vec<_>>().join(" ");
    match eval(f, &values) {
        Ok(Value::Bool(b)) => Ok(b),
        Ok(v) => Err(LabelError::Eval {
            task: task.name.clone(),
            input: show(),
            message: format!("the `where` filter gave {} `{v}`, not a boolean", v.kind()),
            span: f.span,
        }),
        Err(e) => Err(LabelError::Eval { task: task.name.clone(), input: show(), message: e.message, span: e.span }),
    }
}

/// The layout of the tuple `vals` as ids into `task.alphabet`.
fn layout_ids(task: &Task, u: &Universe, vals: &[i64]) -> Vec<u32> {
    let id = |t: &str| task.alphabet.iter().position(|a| a == t).unwrap_or(0) as u32;
    u.layout
        .iter()
        .map(|s| match s {
            Slot::Var(i) => id(&vals[*i].to_string()),
            Slot::Tok(t) => id(t),
        })
        .collect()
}

/// One uniformly drawn member of the universe (for `algen sample`): variables drawn
/// uniformly, redrawn until the filter keeps them (at most 10000 tries).
pub fn draw(task: &Task, rng: &mut impl Rng) -> Result<Example, LabelError> {
    let Some(u) = universe(task) else {
        return Err(LabelError::EmptyAlphabet { task: task.name.clone(), len: 0, span: task.span });
    };
    for _ in 0..10_000 {
        let vals: Vec<i64> = u.vars.iter().map(|v| v.lo + rng.gen_range(0..=(v.hi - v.lo) as u64) as i64).collect();
        if keep(task, u, &vals)? {
            let input = layout_ids(task, u, &vals);
            let target = Labeler::new(task).label(&input)?;
            return Ok(Example { input, target });
        }
    }
    Err(LabelError::EmptyAlphabet { task: task.name.clone(), len: 0, span: task.span })
}

/// A seeded Fisher–Yates permutation of `0..n`.
pub fn permutation(n: usize, rng: &mut ChaCha8Rng) -> Vec<usize> {
    let mut p: Vec<usize> = (0..n).collect();
    for i in (1..n).rev() {
        let j = rng.gen_range(0..=i as u32) as usize;
        p.swap(i, j);
    }
    p
}
