//! Laying examples out for the model (one row per example, one column per
//! token position).
//!
//! - `transduce`: `input ++ [<q>; |target|]`; target `j` is read at query `j`.
//! - `pointer`: the `transduce` layout, `input ++ [<q>; |target|]`, but the target ids are the
//!   target's values themselves, 0-based positions of the input (`argsort(input)`), which are
//!   also the column indices of the input tokens (an expression task has no BOS): a pointer head
//!   (`head = pointer`) scores every token position at every query and masks out all but the
//!   input's. `213` with target `[1, 0, 2]` is `2 1 3 <q> <q> <q>`, targets `0 0 0 1 0 2`,
//!   mask `0 0 0 1 1 1`.
//! - `tag`: `input`; target `i` is read at position `i`.
//! - `classify`: `input ++ [<q>]`; the label is read at the query.
//! - `lm`: with `S = input ++ [<sep>] ++ target ++ [<eos>]`, tokens are
//!   `S[..|S|-1]` and the target at `t` is `S[t+1]`; the loss and the score
//!   apply where the next token is a target token or the final `<eos>`
//!   (`t >= |input|`). With a machine scratchpad (`target = run(M)`, `scratchpad = trace(..)`)
//!   `S = input ++ [<sep>] ++ scratchpad ++ answer ++ [<eos>]`, where every scratchpad step
//!   ends with `<sep>` ([`crate::turing::scratch`]): the loss covers scratchpad, answer and
//!   `<eos>`, the score only the answer and `<eos>`.
//!
//! - `seq2seq`: the encoder reads the source `input ++ [<eos>]` ([`Encoded::source`]; the
//!   `<eos>` marks the end and keeps an empty input readable); the decoder's tokens are
//!   `[<sep>] ++ target` and its targets `target ++ [<eos>]` (teacher forcing), loss and score
//!   on all of them. Sources and targets are padded separately ([`Batch::source`]).
//!
//! - universe (`format = [a, "+", b, "="]`, decoder): the layout's tokens; the answer is read
//!   at the last one (Power et al. 2022).
//! - `addition`, `multiplication`: `[EOS] a op b = answer [EOS]` with coupled position ids
//!   or index hints, loss after `=` ([`super::arith`]).
//!
//! Position ids: [`Encoded::positions`] holds one id per token where the format defines them
//! (the arithmetic formats' coupled ids, Cho et al. 2024), `None` for the default `0..n`. A model
//! reads them only if its positions are coupled ([`Coupling`]); other schemes use `0..n`.
//!
//! A RASP target with `bos = "§"` starts an encoder format's tokens with the BOS token (the
//! model input id after `<q>`), where neither loss nor score applies: the programs of Weiss
//! et al. (2021) count by attending to it, and without it an encoder without positions cannot
//! tell `ab` from `aabb` (attention averages, so it sees proportions, not counts).
//!
//! `score_until = tok` keeps the score mask only up to and including the
//! first scored position whose target is `tok`; the loss mask is unchanged
//! (Delétang et al. 2023 train on the whole target but score the prefix).

use super::arith::{self, Offsets};
use super::generate::Example;
use super::vocab::Vocab;
use crate::ir::{Format, Task};
use rand::Rng;

/// One example laid out for the model; all vectors have one entry per token position.
#[derive(Clone, Debug, PartialEq)]
pub struct Encoded {
    /// Model input ids.
    pub tokens: Vec<u32>,
    /// Model output ids (0 where nothing is read).
    pub targets: Vec<u32>,
    /// 1 where the training loss applies.
    pub loss_mask: Vec<f32>,
    /// 1 where accuracy is scored.
    pub score_mask: Vec<f32>,
    /// The format's position id of every token, or `None` for the default `0..n`.
    pub positions: Option<Vec<u32>>,
    /// The encoder's input (`seq2seq`), its own length; `None` for the other formats.
    pub source: Option<Vec<u32>>,
}

impl Encoded {
    fn new(tokens: Vec<u32>, targets: Vec<u32>, mask: Vec<f32>) -> Self {
        Encoded { tokens, targets, loss_mask: mask.clone(), score_mask: mask, positions: None, source: None }
    }

    /// The index of the first loss position: the prompt a decoder continues is
    /// `tokens[..=first]` (`input <sep>` for `lm`, up to `=` for the arithmetic formats).
    pub fn first_loss(&self) -> Option<usize> {
        self.loss_mask.iter().position(|&m| m > 0.0)
    }
}

/// Lays `ex` out for `task`'s format, with ids from `vocab` (which must be
/// [`super::vocab::vocab`]`(task)`).
pub fn encode(task: &Task, vocab: &Vocab, ex: &Example) -> Encoded {
    let (n, m) = (ex.input.len(), ex.target.len());
    let out = |t: u32| vocab.model_output(t).unwrap_or(0);
    let query = vocab.query.unwrap_or(0);
    let mut enc = match task.format {
        Format::Transduce => {
            let mut tokens = ex.input.clone();
            tokens.resize(n + m, query);
            let mut targets = vec![0; n];
            targets.extend(ex.target.iter().map(|&t| out(t)));
            let mut mask = vec![0.0; n];
            mask.resize(n + m, 1.0);
            Encoded::new(tokens, targets, mask)
        }
        Format::Pointer => {
            let mut tokens = ex.input.clone();
            tokens.resize(n + m, query);
            let mut targets = vec![0; n];
            targets.extend_from_slice(&ex.target);
            let mut mask = vec![0.0; n];
            mask.resize(n + m, 1.0);
            Encoded::new(tokens, targets, mask)
        }
        Format::Tag => {
            let mut targets: Vec<u32> = ex.target.iter().take(n).map(|&t| out(t)).collect();
            let mut mask = vec![1.0; targets.len()];
            targets.resize(n, 0);
            mask.resize(n, 0.0);
            Encoded::new(ex.input.clone(), targets, mask)
        }
        Format::Classify => {
            let mut tokens = ex.input.clone();
            tokens.push(query);
            let mut targets = vec![0; n + 1];
            let mut mask = vec![0.0; n + 1];
            if let Some(&t) = ex.target.first() {
                targets[n] = out(t);
                mask[n] = 1.0;
            }
            Encoded::new(tokens, targets, mask)
        }
        Format::Addition { .. } | Format::Multiplication { .. } => {
            return arith::encode_at(task, vocab, ex, Offsets::EVAL);
        }
        Format::Universe => {
            // `a + b =` predicts the answer at `=`: one loss position, the last.
            let mut targets = vec![0; n];
            let mut mask = vec![0.0; n];
            if let (Some(&t), true) = (ex.target.first(), n > 0) {
                targets[n - 1] = out(t);
                mask[n - 1] = 1.0;
            }
            Encoded::new(ex.input.clone(), targets, mask)
        }
        Format::Seq2seq => {
            let (sep, eos) = (vocab.sep.unwrap_or(0), vocab.eos.unwrap_or(0));
            let mut targets: Vec<u32> = ex.target.iter().map(|&t| out(t)).collect();
            let mut tokens = Vec::with_capacity(m + 1);
            tokens.push(sep);
            tokens.extend_from_slice(&targets);
            targets.push(eos);
            let mut source = ex.input.clone();
            source.push(eos);
            let mask = vec![1.0; targets.len()];
            Encoded { source: Some(source), ..Encoded::new(tokens, targets, mask) }
        }
        Format::Lm => {
            // Labelling ran the same machine on this input first, so the scratchpad exists.
            let scratch = super::machine::scratchpad(task, &ex.input).unwrap_or_default();
            let mut s = ex.input.clone();
            s.push(vocab.sep.unwrap_or(0));
            s.extend(scratch.iter().map(|t| vocab.id_of(t).unwrap_or(0)));
            let answer = s.len();
            s.extend(ex.target.iter().map(|&t| out(t)));
            s.push(vocab.eos.unwrap_or(0));
            let mut mask = vec![0.0; n];
            mask.resize(s.len() - 1, 1.0);
            let targets = s[1..].to_vec();
            s.pop();
            let mut enc = Encoded::new(s, targets, mask);
            // With a scratchpad only the answer and `<eos>` are scored (position t predicts t+1).
            for m in enc.score_mask.iter_mut().take(answer - 1) {
                *m = 0.0;
            }
            enc
        }
    };
    if let (Some(_), Some(q), false) = (task.bos(), vocab.query, task.format.shares_vocab()) {
        prepend(&mut enc, q + 1);
    }
    if let Some(stop) = score_stop(task, vocab) {
        truncate_score(&mut enc, stop);
    }
    enc
}

/// Puts token `id` in front, with nothing read there.
fn prepend(enc: &mut Encoded, id: u32) {
    enc.tokens.insert(0, id);
    enc.targets.insert(0, 0);
    enc.loss_mask.insert(0, 0.0);
    enc.score_mask.insert(0, 0.0);
    if let Some(p) = enc.positions.as_mut() {
        p.iter_mut().for_each(|x| *x += 1);
        p.insert(0, 0);
    }
}

/// The model output id of `task.score_until`, if set and an output token.
fn score_stop(task: &Task, vocab: &Vocab) -> Option<u32> {
    let tok = task.score_until.as_ref()?;
    let i = task.outputs.iter().position(|o| o == tok)?;
    vocab.model_output(i as u32)
}

/// Zeroes the score mask after the first scored position whose target is `stop`.
fn truncate_score(enc: &mut Encoded, stop: u32) {
    let mut seen = false;
    for (m, &t) in enc.score_mask.iter_mut().zip(&enc.targets) {
        if seen {
            *m = 0.0;
        } else if *m > 0.0 && t == stop {
            seen = true;
        }
    }
}

/// The decoder prompt for greedy decoding: `input ++ [<sep>]` (`lm`); `[EOS] a op b =` for
/// the arithmetic formats (evaluation layout); for the encoder formats, the input ids unchanged.
pub fn prompt(task: &Task, vocab: &Vocab, input: &[u32]) -> Vec<u32> {
    if task.format.is_arith() {
        let e = arith::encode_at(task, vocab, &Example { input: input.to_vec(), target: vec![] }, Offsets::EVAL);
        return e.tokens; // `=` is the last token fed before the answer
    }
    let mut p = input.to_vec();
    if let Some(sep) = vocab.sep {
        p.push(sep);
    }
    p
}

/// Examples padded to a common length, row-major `[b, t]`.
#[derive(Clone, Debug, PartialEq)]
pub struct Batch {
    pub tokens: Vec<u32>,
    pub targets: Vec<u32>,
    pub loss_mask: Vec<f32>,
    pub score_mask: Vec<f32>,
    /// 1 at real positions, 0 at padding.
    pub pad: Vec<f32>,
    /// Position ids when any example has them (rows without get `0..n`), padding 0.
    pub positions: Option<Vec<u32>>,
    pub b: usize,
    pub t: usize,
    /// The encoder's inputs (`seq2seq`), `[b, s]` padded with 0 separately from the tokens.
    pub source: Option<Sources>,
}

/// The padded sources of a `seq2seq` batch, row-major `[b, s]`.
#[derive(Clone, Debug, PartialEq)]
pub struct Sources {
    pub tokens: Vec<u32>,
    /// 1 at real positions, 0 at padding.
    pub pad: Vec<f32>,
    pub s: usize,
}

/// Pads the sources of `encs` (all `seq2seq`) to the longest; `None` when none has one.
fn sources<E: std::borrow::Borrow<Encoded>>(encs: &[E]) -> Option<Sources> {
    let rows: Vec<&[u32]> = encs.iter().filter_map(|e| e.borrow().source.as_deref()).collect();
    if rows.is_empty() {
        return None;
    }
    let s = rows.iter().map(|r| r.len()).max().unwrap_or(0);
    let mut out = Sources { tokens: Vec::with_capacity(rows.len() * s), pad: Vec::with_capacity(rows.len() * s), s };
    for r in rows {
        pad_row(&mut out.tokens, r, s, 0);
        out.pad.extend((0..s).map(|i| if i < r.len() { 1.0 } else { 0.0 }));
    }
    Some(out)
}

/// Pads every example to the longest (token and target id 0, all masks 0, position id 0).
/// Takes examples or references to them.
pub fn batch<E: std::borrow::Borrow<Encoded>>(encs: &[E]) -> Batch {
    let t = encs.iter().map(|e| e.borrow().tokens.len()).max().unwrap_or(0);
    let b = encs.len();
    let mut out = Batch {
        tokens: Vec::with_capacity(b * t),
        targets: Vec::with_capacity(b * t),
        loss_mask: Vec::with_capacity(b * t),
        score_mask: Vec::with_capacity(b * t),
        pad: Vec::with_capacity(b * t),
        positions: encs.iter().any(|e| e.borrow().positions.is_some()).then(|| Vec::with_capacity(b * t)),
        b,
        t,
        source: sources(encs),
    };
    for e in encs {
        let e = e.borrow();
        let n = e.tokens.len();
        pad_row(&mut out.tokens, &e.tokens, t, 0);
        pad_row(&mut out.targets, &e.targets, t, 0);
        pad_row(&mut out.loss_mask, &e.loss_mask, t, 0.0);
        pad_row(&mut out.score_mask, &e.score_mask, t, 0.0);
        out.pad.extend((0..t).map(|i| if i < n { 1.0 } else { 0.0 }));
        if let Some(p) = &mut out.positions {
            match &e.positions {
                Some(ids) => pad_row(p, ids, t, 0),
                None => pad_row(p, &(0..n as u32).collect::<Vec<_>>(), t, 0),
            }
        }
    }
    out
}

/// How a model with coupled positions (Cho et al. 2024) reads a format's position ids: a learned
/// table indexed by ids in `0..=max_position` (so `max_position + 1` rows). With
/// `random_start`, training shifts every non-zero id of an example by one offset, uniform in
/// `0..=max_position − (largest id)`, so that `start` is uniform in
/// `1..=max_position − |answer|` and every row gets trained; evaluation keeps `start = 1`.
///
/// Hand-off: the model side's `position = coupled(max_position = N, random_start = b)` maps
/// to this ([`crate::train::coupling`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Coupling {
    pub max_position: u32,
    pub random_start: bool,
}

impl Coupling {
    /// Applies a random start to `enc`'s ids (nothing without ids or `random_start`). An
    /// example whose ids already exceed `max_position` keeps them (the model reports it).
    pub fn randomize(&self, enc: &mut Encoded, rng: &mut impl Rng) {
        let Some(ids) = enc.positions.as_mut().filter(|_| self.random_start) else { return };
        let top = ids.iter().copied().max().unwrap_or(0);
        let shift = rng.gen_range(0..=self.max_position.saturating_sub(top));
        for id in ids.iter_mut().filter(|id| **id > 0) {
            *id += shift;
        }
    }
}

/// The training layout of `ex`: [`encode`] with the random offsets training uses, drawn from
/// `rng` in this order: the first index hint, uniform over the hints that leave room for the
/// answer (Zhou et al. 2023; evaluation starts at the first), then the coupled start
/// ([`Coupling::randomize`]) when `coupling` is given.
pub fn encode_train(
    task: &Task,
    vocab: &Vocab,
    ex: &Example,
    coupling: Option<Coupling>,
    rng: &mut impl Rng,
) -> Encoded {
    let mut enc = match task.format {
        Format::Addition { index_hints: Some(k) } => {
            let room = k.saturating_sub(ex.target.len()) as u32;
            let hint = rng.gen_range(0..=room) as usize;
            arith::encode_at(task, vocab, ex, Offsets { start: 1, hint })
        }
        _ => encode(task, vocab, ex),
    };
    if let Some(c) = coupling {
        c.randomize(&mut enc, rng);
    }
    enc
}

/// Appends `row` cut or padded with `fill` to exactly `t` entries.
fn pad_row<T: Copy>(dst: &mut Vec<T>, row: &[T], t: usize, fill: T) {
    let k = row.len().min(t);
    dst.extend_from_slice(&row[..k]);
    dst.extend(std::iter::repeat_n(fill, t - k));
}
