//! Evaluation on a listed set of examples (a split part over a finite universe), grouped by
//! input length: the same scoring as [`super::evaluate_with`]. The mean pools all examples
//! (exact-match accuracy over the part, as SCAN results are reported; Lake & Baroni 2018), so a
//! repeated example counts once per copy.

use super::{score_decoded, score_encoder, scratch_marks, EvalError, Evaluated, Tally};
use crate::ir::Task;
use crate::model::Net;
use crate::report::results::LengthScores;
use crate::task::{self, Encoded, Example, Vocab};
use std::collections::BTreeMap;

/// Scores `net` on `examples`, in batches of at most `batch` examples of one input length.
pub fn evaluate_listed(
    net: &Net,
    task: &Task,
    vocab: &Vocab,
    examples: &[Example],
    batch: usize,
    ids: bool,
) -> Result<Evaluated, EvalError> {
    let mut by_len: BTreeMap<usize, Vec<&Example>> = BTreeMap::new();
    for e in examples {
        by_len.entry(e.input.len()).or_default().push(e);
    }
    let mut tallies: Vec<Tally> = by_len.keys().map(|_| Tally::default()).collect();
    for (li, group) in by_len.values().enumerate() {
        for chunk in group.chunks(batch.max(1)) {
            let encs: Vec<Encoded> = chunk.iter().map(|e| task::encode(task, vocab, e)).collect();
            if task.format.is_decoder() {
                score_decoded(net, &encs, ids, scratch_marks(task, vocab), &mut tallies[li])?;
            } else if task.format == crate::ir::Format::Seq2seq {
                super::seq2seq::score_seq2seq(net, vocab, &encs, &mut tallies[li])?;
            } else {
                let tagged: Vec<(usize, Encoded)> = encs.into_iter().map(|e| (li, e)).collect();
                score_encoder(net, &tagged, ids, &mut tallies)?;
            }
        }
    }
    let by_length: Vec<LengthScores> =
        by_len.keys().zip(&tallies).map(|(&len, acc)| LengthScores { len, scores: acc.scores() }).collect();
    let mut pooled = Tally::default();
    for t in &tallies {
        pooled.tokens += t.tokens;
        pooled.right_tokens += t.right_tokens;
        pooled.seqs += t.seqs;
        pooled.right_seqs += t.right_seqs;
    }
    let mean = pooled.scores();
    Ok(Evaluated { by_length, mean, seqs: examples.len() })
}
