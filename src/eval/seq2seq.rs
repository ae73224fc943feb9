//! Scoring of the `seq2seq` format: the encoder reads each source once, the decoder writes
//! greedily from `<sep>` with its caches ([`decode_s2s::greedy`]; the recurrent one steps its
//! state, [`rnn_s2s::decode::greedy`]) for as many steps as the
//! batch's longest target (`target <eos>`), and every scored target position is compared with
//! the token decoded there (exact match per sequence), so an early mistake propagates.

use super::{EvalError, Tally};
use crate::model::{decode_s2s, rnn_s2s, Net};
use crate::task::{self, Encoded, Vocab};
use candle_core::{Device, Tensor};

/// Decodes and scores `encs` (all `seq2seq`) into `acc`.
pub(super) fn score_seq2seq(net: &Net, vocab: &Vocab, encs: &[Encoded], acc: &mut Tally) -> Result<(), EvalError> {
    let b = task::batch(encs);
    let Some(src) = b.source.as_ref().filter(|s| s.s > 0) else {
        return Err(candle_core::Error::Msg("seq2seq: examples without a source".into()).into());
    };
    let dev = &Device::Cpu;
    let source = Tensor::from_vec(src.tokens.clone(), (b.b, src.s), dev)?;
    let pad = match src.pad.iter().all(|&p| p > 0.0) {
        true => None,
        false => Some(Tensor::from_vec(src.pad.clone(), (b.b, src.s), dev)?),
    };
    let steps = encs.iter().map(|e| e.targets.len()).max().unwrap_or(0);
    let start = vocab.sep.unwrap_or(0);
    let decoded = match net {
        Net::RnnSeq2seq(m) => rnn_s2s::decode::greedy(m, &source, pad.as_ref(), start, steps)?,
        Net::Seq2seq(m) => decode_s2s::greedy(m, &source, pad.as_ref(), start, steps)?,
        _ => return Err(candle_core::Error::Msg("the seq2seq format needs a seq2seq model".into()).into()),
    };
    for (e, got) in encs.iter().zip(&decoded.tokens) {
        let scored = (0..e.targets.len()).filter(|&t| e.score_mask[t] > 0.0);
        acc.add(scored.map(|t| (got[t], e.targets[t])));
    }
    Ok(())
}
