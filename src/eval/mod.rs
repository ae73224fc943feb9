//! Evaluation: token and whole-sequence accuracy per input length.
//!
//! `seq2seq` decodes greedily from `<sep>` given the source ([`seq2seq`]), scored likewise.
//! Encoder formats read the model's argmax at the scored positions of one
//! forward pass. Decoder formats (`lm`, the arithmetic ones) decode greedily from the prompt
//! (`input <sep>`; `[EOS] a + b =`) for the rest of the sequence (the target and `<eos>`), with
//! a key/value cache where the model allows ([`decode::greedy_at`]), and are scored on the
//! decoded tokens (exact match per sequence), so an early mistake propagates as it would in use.
//! With `ids` ([`evaluate_with`]) the model reads the format's position ids, generated tokens
//! included (they take the ids the format gives their positions). Evaluation runs on a detached
//! copy of the model ([`Net::detached`]): no autograd bookkeeping.

pub mod expect;
mod listed;
mod seq2seq;

pub use listed::evaluate_listed;

use crate::ir::Task;
use crate::model::{decode, Net};
use crate::report::results::{LengthScores, Scores};
use crate::task::{self, Encoded, LabelError, Stream, Vocab};
use candle_core::{Device, Tensor};

/// Errors while evaluating: labelling or the model itself.
#[derive(Debug, thiserror::Error)]
pub enum EvalError {
    #[error(transparent)]
    Label(#[from] LabelError),
    #[error("model error: {0}")]
    Model(#[from] candle_core::Error),
}

/// What to evaluate: `count` fresh examples of each length, drawn from the
/// stream named `part` with `seed`.
pub struct EvalSet<'a> {
    pub part: &'a str,
    pub lengths: &'a [usize],
    pub count: usize,
    pub seed: u64,
    pub batch: usize,
}

/// Per-length scores, their mean over lengths, and the number of sequences evaluated.
pub struct Evaluated {
    pub by_length: Vec<LengthScores>,
    pub mean: Scores,
    pub seqs: usize,
}

/// Scores `net` on `set`. Each length weighs the same in the mean (as the
/// Chomsky-hierarchy benchmark averages accuracy over test lengths).
///
/// Encoder formats fill every forward pass: when a length has fewer examples
/// left than a batch holds, the next lengths' examples join the batch (padded
/// and masked; neighbouring lengths, so padding stays small). Decoder batches keep
/// one length each, as the cached decoder feeds prompts of one length.
pub fn evaluate(net: &Net, task: &Task, vocab: &Vocab, set: &EvalSet) -> Result<Evaluated, EvalError> {
    evaluate_with(net, task, vocab, set, false)
}

/// [`evaluate`]; with `ids`, the model reads the format's position ids ([`Encoded::positions`],
/// `start = 1`) — for models with coupled positions ([`crate::train::coupling`]).
pub fn evaluate_with(net: &Net, task: &Task, vocab: &Vocab, set: &EvalSet, ids: bool) -> Result<Evaluated, EvalError> {
    let batch = set.batch.max(1);
    let mut tallies: Vec<Tally> = set.lengths.iter().map(|_| Tally::default()).collect();
    let mut pending: Vec<(usize, Encoded)> = Vec::with_capacity(batch);
    let mut seqs = 0;
    for (li, &len) in set.lengths.iter().enumerate() {
        let mut stream = Stream::new(task, set.part, len, set.seed);
        let mut left = set.count;
        while left > 0 {
            let n = left.min(batch - pending.len());
            let examples = stream.take(n)?;
            if task.format.is_decoder() {
                let encs: Vec<Encoded> = examples.iter().map(|e| task::encode(task, vocab, e)).collect();
                score_decoded(net, &encs, ids, scratch_marks(task, vocab), &mut tallies[li])?;
            } else if task.format == crate::ir::Format::Seq2seq {
                let encs: Vec<Encoded> = examples.iter().map(|e| task::encode(task, vocab, e)).collect();
                seq2seq::score_seq2seq(net, vocab, &encs, &mut tallies[li])?;
            } else {
                pending.extend(examples.iter().map(|e| (li, task::encode(task, vocab, e))));
                if pending.len() == batch {
                    score_encoder(net, &pending, ids, &mut tallies)?;
                    pending.clear();
                }
            }
            left -= n;
            seqs += n;
        }
    }
    if !pending.is_empty() {
        score_encoder(net, &pending, ids, &mut tallies)?;
    }
    let by_length: Vec<LengthScores> =
        set.lengths.iter().zip(&tallies).map(|(&len, acc)| LengthScores { len, scores: acc.scores() }).collect();
    let mean = mean_over(&by_length);
    Ok(Evaluated { by_length, mean, seqs })
}

/// The unweighted mean over lengths.
pub fn mean_over(by_length: &[LengthScores]) -> Scores {
    let k = if by_length.is_empty() { f64::NAN } else { by_length.len() as f64 }; // no lengths: n/a
    Scores {
        token_accuracy: by_length.iter().map(|l| l.scores.token_accuracy).sum::<f64>() / k,
        sequence_accuracy: by_length.iter().map(|l| l.scores.sequence_accuracy).sum::<f64>() / k,
        n: by_length.iter().map(|l| l.scores.n).sum(),
    }
}

/// Running counts of right tokens and right sequences.
#[derive(Default)]
pub struct Tally {
    tokens: usize,
    right_tokens: usize,
    seqs: usize,
    right_seqs: usize,
}

impl Tally {
    /// Adds one sequence: `pairs` are (predicted, wanted) at its scored positions.
    pub fn add(&mut self, pairs: impl Iterator<Item = (u32, u32)>) {
        let (mut n, mut ok) = (0, 0);
        for (p, w) in pairs {
            n += 1;
            ok += usize::from(p == w);
        }
        self.tokens += n;
        self.right_tokens += ok;
        self.seqs += 1;
        self.right_seqs += usize::from(ok == n);
    }
    pub fn scores(&self) -> Scores {
        // Over no examples an accuracy is undefined: NaN (`n/a`, JSON `null`), never 0.
        let div = |a: usize, b: usize| if b == 0 { f64::NAN } else { a as f64 / b as f64 };
        Scores {
            token_accuracy: div(self.right_tokens, self.tokens),
            sequence_accuracy: div(self.right_seqs, self.seqs),
            n: self.seqs,
        }
    }
}

/// Argmax over the last dim of `logits (B, T, V)`, as a host vector `B·T`.
pub fn argmax(logits: &Tensor) -> candle_core::Result<Vec<u32>> {
    logits.argmax(candle_core::D::Minus1)?.flatten_all()?.to_vec1::<u32>()
}

/// One forward pass over `encs` (each tagged with its length's index in `tallies`).
fn score_encoder(net: &Net, encs: &[(usize, Encoded)], ids: bool, tallies: &mut [Tally]) -> Result<(), EvalError> {
    let rows: Vec<&Encoded> = encs.iter().map(|(_, e)| e).collect();
    let b = task::batch(&rows);
    let tokens = Tensor::from_vec(b.tokens.clone(), (b.b, b.t), &Device::Cpu)?;
    let pad = padding(&b)?;
    let pos = b.positions.as_deref().filter(|_| ids);
    let pred = argmax(&net.forward_at(&tokens, pad.as_ref(), pos, None)?)?;
    for (r, (li, _)) in encs.iter().enumerate() {
        let row = r * b.t..(r + 1) * b.t;
        let scored = row.filter(|&i| b.score_mask[i] > 0.0);
        tallies[*li].add(scored.map(|i| (pred[i], b.targets[i])));
    }
    Ok(())
}

/// The padding mask, or `None` when every row is full (same-length batches).
pub fn padding(b: &task::Batch) -> candle_core::Result<Option<Tensor>> {
    if b.pad.iter().all(|&p| p > 0.0) {
        return Ok(None);
    }
    Tensor::from_vec(b.pad.clone(), (b.b, b.t), &Device::Cpu).map(Some)
}

/// `(sep, eos)` for a task whose targets carry a machine scratchpad (its answer follows the
/// last `sep`), else `None`.
fn scratch_marks(task: &Task, vocab: &Vocab) -> Option<(u32, u32)> {
    let scratch = task.machine().is_some_and(|m| m.scratchpad.is_some());
    scratch.then(|| (vocab.sep.unwrap_or(0), vocab.eos.unwrap_or(0)))
}

/// Greedy decoding for the decoder formats: every row continues `tokens[..=first loss]` for
/// the rest of its sequence; all rows of a batch share the prompt length. With `scratch =
/// Some((sep, eos))` (a machine scratchpad) the answer is what the model wrote after its last
/// `sep` and before its first `eos`, scored against the true answer (exact match; tokens by
/// position, `eos` included), wherever the model's scratchpad ended.
fn score_decoded(
    net: &Net,
    encs: &[Encoded],
    ids: bool,
    scratch: Option<(u32, u32)>,
    acc: &mut Tally,
) -> Result<(), EvalError> {
    let first: Vec<usize> = encs.iter().map(|e| e.first_loss().unwrap_or(e.tokens.len())).collect();
    let steps = encs.iter().zip(&first).map(|(e, &f)| e.tokens.len() - f).max().unwrap_or(1).max(1);
    let mut seqs: Vec<Vec<u32>> =
        encs.iter().zip(&first).map(|(e, &f)| e.tokens[..=f.min(e.tokens.len() - 1)].to_vec()).collect();
    let rows = seqs.len();
    let fed = seqs.first().map_or(0, Vec::len) + steps - 1;
    let pos: Option<Vec<Vec<u32>>> = ids.then(|| encs.iter().map(|e| row_ids(e, fed)).collect());
    match net {
        Net::Transformer(t) if decode::cacheable(t) => {
            let new = decode::greedy_at(t, &seqs, steps, pos.as_deref())?;
            for (s, new) in seqs.iter_mut().zip(new) {
                s.extend(new);
            }
        }
        _ => decode_uncached_at(net, &mut seqs, rows, steps, pos.as_deref())?,
    }
    if let Some((sep, eos)) = scratch {
        for ((enc, s), &f) in encs.iter().zip(&seqs).zip(&first) {
            let want = answer_of(&enc.targets[f..], sep, eos);
            let got = answer_of(&s[f + 1..], sep, eos);
            // Extra or missing tokens count as wrong ones (MAX and MAX - 1 never match).
            let n = want.len().max(got.len());
            let at = |v: &[u32], i: usize, none: u32| v.get(i).copied().unwrap_or(none);
            acc.add((0..n).map(|i| (at(&got, i, u32::MAX), at(&want, i, u32::MAX - 1))));
        }
        return Ok(());
    }
    for (enc, s) in encs.iter().zip(&seqs) {
        // Position t of `enc` predicts token t+1 of the full sequence, which `s` now holds.
        let scored = (0..enc.targets.len()).filter(|&t| enc.score_mask[t] > 0.0);
        acc.add(scored.map(|t| (s.get(t + 1).copied().unwrap_or(u32::MAX), enc.targets[t])));
    }
    Ok(())
}

/// The answer in a generated continuation: the tokens after the last `sep` before the first
/// `eos`, followed by that `eos` (absent when the model never wrote one).
fn answer_of(gen: &[u32], sep: u32, eos: u32) -> Vec<u32> {
    let end = gen.iter().position(|&t| t == eos);
    let body = &gen[..end.unwrap_or(gen.len())];
    let start = body.iter().rposition(|&t| t == sep).map_or(0, |i| i + 1);
    let mut a = body[start..].to_vec();
    if end.is_some() {
        a.push(eos);
    }
    a
}

/// The first `n` position ids of `enc` (default `0..`), continued one by one past its end.
fn row_ids(enc: &Encoded, n: usize) -> Vec<u32> {
    let mut ids = enc.positions.clone().unwrap_or_else(|| (0..enc.tokens.len() as u32).collect());
    while ids.len() < n {
        ids.push(ids.last().map_or(0, |&l| l + 1));
    }
    ids.truncate(n);
    ids
}

/// Greedy decoding by re-running the whole prefix each step (models without a cache path).
/// A randomized model draws the positions of the whole sequence once (as the cached path
/// does), and every step reads a prefix of that draw.
pub fn decode_uncached(net: &Net, seqs: &mut [Vec<u32>], rows: usize, steps: usize) -> Result<(), EvalError> {
    decode_uncached_at(net, seqs, rows, steps, None)
}

/// [`decode_uncached`] with position ids per row covering every fed token (see
/// [`decode::greedy_at`]).
pub fn decode_uncached_at(
    net: &Net,
    seqs: &mut [Vec<u32>],
    rows: usize,
    steps: usize,
    ids: Option<&[Vec<u32>]>,
) -> Result<(), EvalError> {
    let fed = seqs.first().map_or(0, Vec::len) + steps.saturating_sub(1);
    if ids.is_some_and(|ids| ids.len() != rows || ids.iter().any(|r| r.len() < fed)) {
        return Err(candle_core::Error::Msg(format!("decode: position ids must cover {fed} tokens per row")).into());
    }
    let drawn = if ids.is_none() { net.draw_positions(seqs.first().map_or(0, Vec::len) + steps)? } else { None };
    for _ in 0..steps {
        let t = seqs[0].len();
        let flat: Vec<u32> = seqs.iter().flatten().copied().collect();
        let tokens = Tensor::from_vec(flat, (rows, t), &Device::Cpu)?;
        let pos: Option<Vec<u32>> = match (ids, &drawn) {
            (Some(ids), _) => Some(ids.iter().flat_map(|r| r[..t].iter().copied()).collect()),
            (None, Some(d)) => Some(d[..t].iter().copied().cycle().take(rows * t).collect()),
            (None, None) => None,
        };
        let logits = net.forward_at(&tokens, None, pos.as_deref(), None)?.narrow(1, t - 1, 1)?;
        let next = argmax(&logits)?;
        for (s, &tok) in seqs.iter_mut().zip(&next) {
            s.push(tok);
        }
    }
    Ok(())
}
