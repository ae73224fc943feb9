//! The two parts of a split over a finite universe (`where`, `fraction`, `rest`): the
//! examples each selects from the task's enumerated universe (a `(a: 0..p, ...)` input or a
//! finite grammar's language), with repeats and corrupted labels.
//!
//! ```text
//! enumerate(task) ──► universe ──select(train), select(test)──► corrupt ──► UniverseSplit
//! ```
//!
//! A `where` predicate and its `repeat` count read `input` (the tokens) and `output` (the
//! labelled output). `fraction f` takes `round(f·N)` examples of one permutation of the
//! universe seeded by the run's seed (stream `"universe"`, a Fisher–Yates shuffle over `u32`
//! draws, so it depends only on the pinned rand versions): train from its front, in
//! permutation order; test from its back — the two never overlap (the checker rejects
//! fractions adding up to more than 1). `rest` is every example the other part does not
//! select, in universe order. `corrupt c` gives `round(c·|train|)` training examples (stream
//! `"corrupt"`) a label drawn uniformly among the *other* outputs (Doshi et al. 2023).

use super::generate::{stream_seed, Example};
use super::label::LabelError;
use super::universe::permutation;
use super::value::Value;
use crate::ir::{Expr, ExprKind, Part, Selector, Split, Task, TaskKind};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// A finite universe split into training and test examples.
#[derive(Clone, Debug, PartialEq)]
pub struct UniverseSplit {
    /// Training examples (one per repeat), with corrupted labels where `corrupted[i]`.
    pub train: Vec<Example>,
    /// The true label (first output id) of every training example.
    pub train_true: Vec<u32>,
    /// Which training examples carry a wrong label.
    pub corrupted: Vec<bool>,
    pub test: Vec<Example>,
    /// The universe's size.
    pub total: usize,
}

/// Every example of `task`'s finite universe, in its canonical order (tuples
/// lexicographically; a grammar's sentences as enumerated). Empty for other tasks.
pub fn enumerate(task: &Task) -> Result<Vec<Example>, LabelError> {
    match &task.kind {
        TaskKind::Universe { .. } => super::universe::enumerate(task),
        TaskKind::Grammar(_) => super::grammar::enumerate(task),
        TaskKind::Expr { .. }
        | TaskKind::Rasp { .. }
        | TaskKind::Arith
        | TaskKind::Chomsky(_)
        | TaskKind::Machine { .. } => Ok(vec![]),
    }
}

/// Splits `task`'s universe by `split` with the run's `seed`.
pub fn split_universe(task: &Task, split: &Split, seed: u64) -> Result<UniverseSplit, LabelError> {
    let universe = enumerate(task)?;
    let n = universe.len();
    let order = permutation(n, &mut ChaCha8Rng::seed_from_u64(stream_seed(&task.name, "universe", 0, seed)));
    let pick = Picker { task, universe: &universe, order: &order };
    let train = pick.select(&split.train, &split.test, true)?;
    let test = pick.select(&split.test, &split.train, false)?;
    let expand = |sel: Vec<(usize, usize)>| -> Vec<Example> {
        sel.into_iter().flat_map(|(i, k)| std::iter::repeat_n(universe[i].clone(), k)).collect()
    };
    let (train, test) = (expand(train), expand(test));
    let train_true: Vec<u32> = train.iter().map(|e| e.target.first().copied().unwrap_or(0)).collect();
    let mut out = UniverseSplit { corrupted: vec![false; train.len()], train, train_true, test, total: n };
    if let Selector::Fraction { corrupt, .. } = split.train.select {
        let k = share(corrupt, out.train.len());
        corrupt_labels(&mut out, k, task.outputs.len(), stream_seed(&task.name, "corrupt", 0, seed));
    }
    Ok(out)
}

/// `round(f·n)`, kept within `0..=n`.
fn share(f: f64, n: usize) -> usize {
    ((f * n as f64).round() as usize).min(n)
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

struct Picker<'a> {
    task: &'a Task,
    universe: &'a [Example],
    /// The seeded permutation `fraction` parts take their shares from.
    order: &'a [usize],
}

impl Picker<'_> {
    /// (universe index, copies) of every selected example.
    fn select(&self, part: &Part, other: &Part, is_train: bool) -> Result<Vec<(usize, usize)>, LabelError> {
        let (task, universe) = (self.task, self.universe);
        match &part.select {
            Selector::Len { lengths } => Ok((0..universe.len())
                .filter(|&i| lengths.contains(&universe[i].input.len()))
                .map(|i| (i, 1))
                .collect()),
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
            Selector::Fraction { fraction, .. } => {
                let (n, k) = (universe.len(), share(*fraction, universe.len()));
                let chosen = if is_train { &self.order[..k] } else { &self.order[n - k..] };
                Ok(chosen.iter().map(|&i| (i, 1)).collect())
            }
            Selector::Rest => {
                let mut taken = vec![false; universe.len()];
                for (i, _) in self.select(other, part, !is_train)? {
                    taken[i] = true;
                }
                Ok((0..universe.len()).filter(|&i| !taken[i]).map(|i| (i, 1)).collect())
            }
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
    let output: Vec<Expr> =
        ex.target.iter().map(|&o| Expr { kind: ExprKind::Tok(task.output_text(o)), span: e.span }).collect();
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
