//! Finite universes (Power et al. 2022): every tuple of the ranged variables that passes the
//! filter, enumerated once in lexicographic order, labelled, and split by a seeded shuffle.
//!
//! ```text
//! enumerate(task) ──► all examples (input = the layout's token ids, target = the answer)
//! split_universe(task, split, seed)
//!   shuffle (stream "universe") ─► train = first round(f·N), test = the rest (or next round(g·N))
//!   corrupt c: round(c·|train|) training examples (stream "corrupt") get a label drawn
//!              uniformly among the *other* outputs (Doshi et al. 2023)
//! ```
//!
//! Shuffles are Fisher–Yates with `gen_range` over `u32`, so a split depends only on the
//! pinned rand/rand_chacha versions, never on the platform.

use super::eval::eval;
use super::generate::{stream_seed, Example};
use super::label::{LabelError, Labeler};
use super::value::Value;
use crate::ir::{Selector, Slot, Split, Task, Universe};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// A universe split into training and test examples.
#[derive(Clone, Debug, PartialEq)]
pub struct UniverseSplit {
    /// Training examples, with corrupted labels where `corrupted[i]`.
    pub train: Vec<Example>,
    /// The true label (task output id) of every training example.
    pub train_true: Vec<u32>,
    /// Which training examples carry a wrong label.
    pub corrupted: Vec<bool>,
    pub test: Vec<Example>,
    /// The universe's size.
    pub total: usize,
}

fn universe(task: &Task) -> Option<&Universe> {
    match &task.input {
        crate::ir::Input::Universe(u) => Some(u),
        _ => None,
    }
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
fn keep(task: &Task, u: &Universe, vals: &[i64]) -> Result<bool, LabelError> {
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

/// `round(f·n)`, kept within `0..=n`.
fn share(f: f64, n: usize) -> usize {
    ((f * n as f64).round() as usize).min(n)
}

/// Splits `task`'s universe by `split` (`fraction f [corrupt c]` / `rest` / `fraction g`)
/// with the run's `seed`: train and test are disjoint; exactly `round(c·|train|)` training
/// labels are replaced by wrong ones.
pub fn split_universe(task: &Task, split: &Split, seed: u64) -> Result<UniverseSplit, LabelError> {
    let all = enumerate(task)?;
    let n = all.len();
    let mut rng = ChaCha8Rng::seed_from_u64(stream_seed(&task.name, "universe", 0, seed));
    let order = permutation(n, &mut rng);
    let (f, corrupt) = match split.train.select {
        Selector::Fraction { fraction, corrupt } => (fraction, corrupt),
        _ => (0.0, 0.0),
    };
    let n_train = share(f, n);
    let n_test = match split.test.select {
        Selector::Fraction { fraction, .. } => share(fraction, n).min(n - n_train),
        _ => n - n_train,
    };
    let train: Vec<Example> = order[..n_train].iter().map(|&i| all[i].clone()).collect();
    let test: Vec<Example> = order[n_train..n_train + n_test].iter().map(|&i| all[i].clone()).collect();
    let train_true: Vec<u32> = train.iter().map(|e| e.target.first().copied().unwrap_or(0)).collect();
    let mut out = UniverseSplit { corrupted: vec![false; train.len()], train, train_true, test, total: n };
    corrupt_labels(&mut out, share(corrupt, n_train), task.outputs.len(), stream_seed(&task.name, "corrupt", 0, seed));
    Ok(out)
}

/// Gives `k` training examples (a seeded choice) a label drawn uniformly among the
/// `n_outputs − 1` wrong ones. Nothing changes when there is no wrong label to draw.
fn corrupt_labels(s: &mut UniverseSplit, k: usize, n_outputs: usize, seed: u64) {
    if n_outputs < 2 || k == 0 {
        return;
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let chosen = permutation(s.train.len(), &mut rng);
    for &i in &chosen[..k] {
        let truth = s.train_true[i];
        let r = rng.gen_range(0..n_outputs as u32 - 1);
        let wrong = if r >= truth { r + 1 } else { r };
        s.train[i].target = vec![wrong];
        s.corrupted[i] = true;
    }
}
