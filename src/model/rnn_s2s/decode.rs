//! Greedy decoding of the recurrent encoder–decoder: the encoder runs once, then every step
//! feeds the previous argmax token through [`RnnSeq2seq::step`], the same step the
//! teacher-forced pass runs, carrying the decoder's state (cells, input feeding, attention).

use super::super::decode_s2s::Decoded;
use super::super::seq2seq::argmax_rows;
use super::RnnSeq2seq;
use candle_core::{Result, Tensor};

/// Decodes `steps` tokens greedily (argmax over the whole vocabulary) for every row of
/// `source (B, S)` (`source_pad`: 1 = real), starting from `start` (the format's `<sep>`).
/// `m` should be detached ([`RnnSeq2seq::detached`]).
pub fn greedy(
    m: &RnnSeq2seq,
    source: &Tensor,
    source_pad: Option<&Tensor>,
    start: u32,
    steps: usize,
) -> Result<Decoded> {
    let (mut out, any) = Decoded::begin(source, steps)?;
    if !any {
        return Ok(out);
    }
    let b = source.dim(0)?;
    let (mem, mut st) = m.encode(source, source_pad)?;
    let mut tokens = vec![start; b];
    for _ in 0..steps {
        let x = m.embed(&tokens, (b, 1))?.squeeze(1)?; // (B, E)
        let (logits, _) = m.step(&x, &mem, &mut st)?; // (B, V)
        tokens = argmax_rows(&logits)?;
        for (o, &t) in out.tokens.iter_mut().zip(&tokens) {
            o.push(t);
        }
        out.logits.push(logits);
    }
    Ok(out)
}
