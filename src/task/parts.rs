//! The two parts of a split over a finite universe (`where`, `fraction`, `rest`): the
//! examples each selects from the task's enumerated language, with repeats.
//!
//! ```text
//! grammar::enumerate(task) ──► universe ──select(train), select(test)──► Parts { train, test }
//! ```
//!
//! A `where` predicate and its `repeat` count read `input` (the words) and `output` (the
//! interpretation). `fraction f` takes `round(f·N)` examples of one seeded permutation of the
//! universe — train from its front, test from its back, so the two never overlap when the
//! fractions sum to at most 1. The permutation's seed is `stream_seed(task, "split NAME", 0, 0)`:
//! fixed by the spec, the same for every run seed. `rest` is every example the other part does
//! not select. Within a part, examples keep the universe's order.

use super::generate::{stream_seed, Example};
use super::label::LabelError;
use super::value::Value;
use crate::ir::{Expr, ExprKind, Part, Selector, Split, Task};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// The examples of a split's parts (a part lists an example once per repeat).
#[derive(Clone, Debug, Default)]
pub struct Parts {
    pub train: Vec<Example>,
    pub test: Vec<Example>,
}

/// Selects both parts of `split` from `task`'s enumerated language.
pub fn parts(task: &Task, split: &Split) -> Result<Parts, LabelError> {
    let universe = super::grammar::enumerate(task)?;
    let train = select(task, split, &split.train, &split.test, true, &universe)?;
    let test = select(task, split, &split.test, &split.train, false, &universe)?;
    let expand = |sel: Vec<(usize, usize)>| -> Vec<Example> {
        sel.into_iter().flat_map(|(i, n)| std::iter::repeat_n(universe[i].clone(), n)).collect()
    };
    Ok(Parts { train: expand(train), test: expand(test) })
}

/// (universe index, copies) of every selected example, in universe order.
fn select(
    task: &Task,
    split: &Split,
    part: &Part,
    other: &Part,
    is_train: bool,
    universe: &[Example],
) -> Result<Vec<(usize, usize)>, LabelError> {
    match &part.select {
        Selector::Len { lengths } => {
            Ok((0..universe.len()).filter(|&i| lengths.contains(&universe[i].input.len())).map(|i| (i, 1)).collect())
        }
        Selector::Where { pred, repeat } => {
            let mut out = vec![];
            for (i, ex) in universe.iter().enumerate() {
                if !holds(task, pred, ex)? {
                    continue;
                }
                let n = match repeat {
                    Some(r) => times(task, r, ex)?,
                    None => 1,
                };
                if n > 0 {
                    out.push((i, n));
                }
            }
            Ok(out)
        }
        Selector::Fraction { fraction } => {
            let mut perm: Vec<usize> = (0..universe.len()).collect();
            let seed = stream_seed(&task.name, &format!("split {}", split.name), 0, 0);
            perm.shuffle(&mut ChaCha8Rng::seed_from_u64(seed));
            let k = ((fraction * universe.len() as f64).round() as usize).min(universe.len());
            let mut chosen = if is_train { perm[..k].to_vec() } else { perm[universe.len() - k..].to_vec() };
            chosen.sort_unstable();
            Ok(chosen.into_iter().map(|i| (i, 1)).collect())
        }
        Selector::Rest => {
            let mut taken = vec![false; universe.len()];
            for (i, _) in select(task, split, other, part, !is_train, universe)? {
                taken[i] = true;
            }
            Ok((0..universe.len()).filter(|&i| !taken[i]).map(|i| (i, 1)).collect())
        }
    }
}

/// `pred` on one example: must be a boolean.
fn holds(task: &Task, pred: &Expr, ex: &Example) -> Result<bool, LabelError> {
    match value(task, pred, ex)? {
        Value::Bool(b) => Ok(b),
        v => Err(eval_error(task, pred, ex, format!("a `where` predicate must be true or false, found `{v}`"))),
    }
}

/// A `repeat` count on one example: a non-negative integer.
fn times(task: &Task, e: &Expr, ex: &Example) -> Result<usize, LabelError> {
    match value(task, e, ex)? {
        Value::Int(n) if (0..=1_000_000).contains(&n) => Ok(n as usize),
        v => Err(eval_error(task, e, ex, format!("`repeat` needs a count in 0..=1000000, found `{v}`"))),
    }
}

fn value(task: &Task, e: &Expr, ex: &Example) -> Result<Value, LabelError> {
    let input: Vec<Value> = ex.input.iter().map(|&i| Value::tok(&task.alphabet[i as usize])).collect();
    let output: Vec<Expr> = ex
        .target
        .iter()
        .map(|&o| Expr { kind: ExprKind::Tok(task.outputs[o as usize].clone()), span: e.span })
        .collect();
    let bound = bind(e, &output);
    super::eval::eval(&bound, &input)
        .map_err(|err| eval_error(task, &Expr { span: err.span, ..e.clone() }, ex, err.message))
}

/// `e` with `output` replaced by the list `output`.
fn bind(e: &Expr, output: &[Expr]) -> Expr {
    let b = |x: &Expr| Box::new(bind(x, output));
    let kind = match &e.kind {
        ExprKind::Output => ExprKind::List(output.to_vec()),
        ExprKind::List(v) => ExprKind::List(v.iter().map(|x| bind(x, output)).collect()),
        ExprKind::Call(f, v) => ExprKind::Call(*f, v.iter().map(|x| bind(x, output)).collect()),
        ExprKind::Unary(op, x) => ExprKind::Unary(*op, b(x)),
        ExprKind::Binary(op, x, y) => ExprKind::Binary(*op, b(x), b(y)),
        ExprKind::Index(x, y) => ExprKind::Index(b(x), b(y)),
        ExprKind::If(x, y, z) => ExprKind::If(b(x), b(y), b(z)),
        ExprKind::Slice(s, x, y, z) => {
            ExprKind::Slice(b(s), x.as_deref().map(b), y.as_deref().map(b), z.as_deref().map(b))
        }
        k => k.clone(),
    };
    Expr { kind, span: e.span }
}

fn eval_error(task: &Task, e: &Expr, ex: &Example, message: String) -> LabelError {
    let words: Vec<&str> = ex.input.iter().map(|&i| task.alphabet[i as usize].as_str()).collect();
    LabelError::Eval { task: task.name.clone(), input: words.join(" "), message, span: e.span }
}

/// At most `count` of `examples`: all when they fit, else a seeded sample (seed
/// `stream_seed(task, part, 0, seed)`) kept in order.
pub fn at_most(task: &Task, examples: &[Example], count: usize, part: &str, seed: u64) -> Vec<Example> {
    if examples.len() <= count {
        return examples.to_vec();
    }
    let mut idx: Vec<usize> = (0..examples.len()).collect();
    idx.shuffle(&mut ChaCha8Rng::seed_from_u64(stream_seed(&task.name, part, 0, seed)));
    let mut keep = idx[..count].to_vec();
    keep.sort_unstable();
    keep.into_iter().map(|i| examples[i].clone()).collect()
}
