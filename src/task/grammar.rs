//! Grammar tasks ([`crate::ir::TaskKind::Grammar`]): enumeration, sampling and parsing.
//!
//! A sentence's interpretation is its production's template over the children's
//! interpretations ([`Term`]). [`enumerate`] lists a finite grammar's language once per
//! derivation, in a fixed order (productions in spec order; the first symbol varies slowest).
//! [`sample`] draws a derivation of a (possibly recursive) grammar at most `max_depth` deep,
//! choosing uniformly among the productions that can still finish in time. [`parse`] labels a
//! word sequence (the first derivation found, depth-bounded).

use super::generate::Example;
use super::grammar_len::{self, LenTable};
use super::label::LabelError;
use crate::ir::grammar::{Grammar, Prod, Sym, Term};
use crate::ir::Task;
use rand::Rng;

/// The most sentences [`enumerate`] lists (a guard against languages too large to hold).
pub const MAX_SENTENCES: usize = 5_000_000;
/// The longest interpretation a derivation may produce.
pub const MAX_OUTPUT: usize = 1 << 16;

/// The task's grammar, or an error naming the task.
pub fn grammar_of(task: &Task) -> Result<&Grammar, LabelError> {
    task.grammar().ok_or_else(|| error(task, "is not defined by a grammar"))
}

pub(super) fn error(task: &Task, message: impl Into<String>) -> LabelError {
    LabelError::Grammar { task: task.name.clone(), message: message.into(), span: task.span }
}

/// Every sentence of a finite grammar with its interpretation, once per derivation.
pub fn enumerate(task: &Task) -> Result<Vec<Example>, LabelError> {
    let g = grammar_of(task)?;
    if !g.finite {
        return Err(error(task, "has a recursive grammar, whose sentences cannot be listed; sample it instead"));
    }
    let mut memo: Vec<Option<Vec<Example>>> = vec![None; g.rules.len()];
    rule_sentences(task, g, 0, &mut memo)
}

fn rule_sentences(
    task: &Task,
    g: &Grammar,
    r: usize,
    memo: &mut [Option<Vec<Example>>],
) -> Result<Vec<Example>, LabelError> {
    if let Some(v) = &memo[r] {
        return Ok(v.clone());
    }
    let mut out = vec![];
    for p in &g.rules[r].prods {
        // The choices of each symbol: one sentence for a word, every sentence of a rule.
        let mut choices: Vec<Vec<Example>> = vec![];
        for s in &p.symbols {
            choices.push(match s {
                Sym::Word(w) => vec![Example { input: vec![*w], target: vec![] }],
                Sym::Rule(j) => rule_sentences(task, g, *j, memo)?,
            });
        }
        let total = choices.iter().try_fold(1usize, |acc, c| acc.checked_mul(c.len()));
        match total {
            Some(t) if out.len() + t <= MAX_SENTENCES => {}
            _ => return Err(error(task, format!("has more than {MAX_SENTENCES} sentences to list"))),
        }
        let mut pick = vec![0usize; choices.len()];
        if choices.iter().any(|c| c.is_empty()) {
            continue;
        }
        'all: loop {
            let kids: Vec<&Example> = pick.iter().zip(&choices).map(|(&i, c)| &c[i]).collect();
            out.push(combine(task, p, &kids)?);
            // Odometer: the last symbol varies fastest.
            let mut k = choices.len();
            loop {
                if k == 0 {
                    break 'all;
                }
                k -= 1;
                pick[k] += 1;
                if pick[k] < choices[k].len() {
                    break;
                }
                pick[k] = 0;
            }
        }
    }
    memo[r] = Some(out.clone());
    Ok(out)
}

/// A production's sentence and interpretation from its children's (one per symbol; a word's
/// "child" holds the word as its input).
pub(super) fn combine(task: &Task, p: &Prod, kids: &[&Example]) -> Result<Example, LabelError> {
    let input: Vec<u32> = kids.iter().flat_map(|k| k.input.iter().copied()).collect();
    let mut target = vec![];
    interpret(task, &p.template, kids, &mut target)?;
    Ok(Example { input, target })
}

fn interpret(task: &Task, terms: &[Term], kids: &[&Example], out: &mut Vec<u32>) -> Result<(), LabelError> {
    for t in terms {
        match t {
            Term::Out(o) => out.push(*o),
            Term::Child(i) => out.extend_from_slice(&kids[*i].target),
            Term::Repeat { terms, times } => {
                for _ in 0..*times {
                    interpret(task, terms, kids, out)?;
                }
            }
        }
        if out.len() > MAX_OUTPUT {
            return Err(error(task, format!("produced an interpretation longer than {MAX_OUTPUT} tokens")));
        }
    }
    Ok(())
}

/// The fewest levels a derivation from each rule needs (`usize::MAX` for unproductive rules).
pub(super) fn min_depths(g: &Grammar) -> Vec<usize> {
    let mut d = vec![usize::MAX; g.rules.len()];
    loop {
        let mut changed = false;
        for r in 0..g.rules.len() {
            let best = g.rules[r].prods.iter().map(|p| cost(p, &d)).min().unwrap_or(usize::MAX);
            if best < d[r] {
                d[r] = best;
                changed = true;
            }
        }
        if !changed {
            return d;
        }
    }
}

/// Levels a production needs: one more than its deepest child's minimum.
pub(super) fn cost(p: &Prod, d: &[usize]) -> usize {
    p.symbols.iter().map(|s| if let Sym::Rule(j) = s { d[*j] } else { 0 }).max().unwrap_or(0).saturating_add(1)
}

/// One random derivation from the start rule, at most `max_depth` levels deep.
pub fn sample(task: &Task, rng: &mut impl Rng) -> Result<Example, LabelError> {
    let g = grammar_of(task)?;
    let d = min_depths(g);
    if d[0] > g.max_depth {
        return Err(error(task, format!("needs derivations deeper than max_depth = {}", g.max_depth)));
    }
    derive(task, g, &d, 0, g.max_depth, rng)
}

fn derive(
    task: &Task,
    g: &Grammar,
    d: &[usize],
    r: usize,
    budget: usize,
    rng: &mut impl Rng,
) -> Result<Example, LabelError> {
    let fits: Vec<&Prod> = g.rules[r].prods.iter().filter(|p| cost(p, d) <= budget).collect();
    let p = fits[rng.gen_range(0..fits.len() as u32) as usize];
    let mut kids = vec![];
    for s in &p.symbols {
        kids.push(match s {
            Sym::Word(w) => Example { input: vec![*w], target: vec![] },
            Sym::Rule(j) => derive(task, g, d, *j, budget - 1, rng)?,
        });
    }
    let refs: Vec<&Example> = kids.iter().collect();
    combine(task, p, &refs)
}

/// The interpretation of `words` (ids into the alphabet): the first derivation found, at most
/// `max_depth` deep (a finite grammar's derivations are never deeper than its rule count).
pub fn parse(task: &Task, words: &[u32]) -> Result<Vec<u32>, LabelError> {
    let g = grammar_of(task)?;
    let depth = if g.finite { g.rules.len() } else { g.max_depth };
    let found = parse_rule(task, g, 0, words, 0, depth)?;
    match found.into_iter().find(|(end, _)| *end == words.len()) {
        Some((_, e)) => Ok(e.target),
        None => Err(error(task, "cannot derive this input from its grammar")),
    }
}

/// Every (end, derivation) of rule `r` starting at `pos`, within `depth` levels.
fn parse_rule(
    task: &Task,
    g: &Grammar,
    r: usize,
    w: &[u32],
    pos: usize,
    depth: usize,
) -> Result<Vec<(usize, Example)>, LabelError> {
    if depth == 0 {
        return Ok(vec![]);
    }
    let mut out = vec![];
    for p in &g.rules[r].prods {
        let mut states: Vec<(usize, Vec<Example>)> = vec![(pos, vec![])];
        for s in &p.symbols {
            let mut next = vec![];
            for (at, kids) in states {
                match s {
                    Sym::Word(x) if w.get(at) == Some(x) => {
                        next.push((at + 1, push(&kids, Example { input: vec![*x], target: vec![] })))
                    }
                    Sym::Word(_) => {}
                    Sym::Rule(j) => {
                        for (end, e) in parse_rule(task, g, *j, w, at, depth - 1)? {
                            next.push((end, push(&kids, e)));
                        }
                    }
                }
            }
            states = next;
        }
        for (end, kids) in states {
            let refs: Vec<&Example> = kids.iter().collect();
            out.push((end, combine(task, p, &refs)?));
        }
    }
    Ok(out)
}

fn push(v: &[Example], e: Example) -> Vec<Example> {
    let mut v = v.to_vec();
    v.push(e);
    v
}

/// A recursive grammar's exact-length table for a stream: the length it was built for and the
/// table (`None` when too large to build: then sentences are drawn by rejection).
pub type LenCache = Option<(usize, Option<LenTable>)>;

/// An example of input length `len` for a [`super::Stream`]: uniform over the finite
/// language's sentences of that length (`pool` caches them), or, for a recursive grammar, a
/// derivation of the top-down process ([`sample`]) conditioned on having `len` words
/// ([`super::grammar_len`]; rejection, up to 10000 tries, when the table would be too large).
pub(super) fn draw(
    task: &Task,
    len: usize,
    rng: &mut impl Rng,
    pool: &mut Option<Vec<Example>>,
    table: &mut LenCache,
) -> Result<Example, LabelError> {
    let g = grammar_of(task)?;
    if g.finite {
        if pool.is_none() {
            *pool = Some(enumerate(task)?.into_iter().filter(|e| e.input.len() == len).collect());
        }
        let p = pool.as_deref().unwrap_or_default();
        if p.is_empty() {
            return Err(error(task, format!("has no sentence of {len} words")));
        }
        return Ok(p[rng.gen_range(0..p.len() as u32) as usize].clone());
    }
    let d = min_depths(g);
    if d[0] > g.max_depth {
        return Err(error(task, format!("needs derivations deeper than max_depth = {}", g.max_depth)));
    }
    if !matches!(table, Some((l, _)) if *l >= len) {
        *table = Some((len, LenTable::build(g, &d, len)));
    }
    if let Some((_, Some(t))) = table {
        if !t.possible(g.max_depth, 0, len) {
            return Err(error(task, format!("has no sentence of {len} words (max_depth = {})", g.max_depth)));
        }
        return grammar_len::derive(task, g, &d, t, (0, g.max_depth, len), rng);
    }
    for _ in 0..10_000 {
        let e = sample(task, rng)?;
        if e.input.len() == len {
            return Ok(e);
        }
    }
    Err(error(task, format!("drew no sentence of {len} words in 10000 tries (max_depth = {})", g.max_depth)))
}
