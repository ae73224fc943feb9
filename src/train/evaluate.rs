//! Evaluation of a run on generated or listed examples, and the running batch accuracy.

use super::{coupling, RunSpec};
use crate::eval::{self, EvalError, EvalSet};
use crate::model::Net;
use crate::report::results::Evaluation;
use crate::task::{self, stream_seed, Vocab};
use candle_core::Tensor;
use std::time::Instant;

/// Evaluates on fresh train-length samples and on the test lengths, with the model's
/// evaluation copy ([`Net::evaluation`]: detached; randomized positions from a stream of their
/// own, the same at every evaluation). Returns the evaluation, the test sequences evaluated and the seconds they
/// took (the throughput figure is for the test lengths alone).
#[allow(clippy::too_many_arguments)]
pub(super) fn evaluation(
    net: &Net,
    spec: &RunSpec,
    listed: Option<&task::UniverseSplit>,
    vocab: &Vocab,
    step: usize,
    loss: f64,
    train_count: usize,
    test_count: usize,
) -> Result<(Evaluation, usize, f64), EvalError> {
    let net = net.evaluation(stream_seed(&spec.task.name, "eval_positions", 0, spec.seed));
    let train = EvalSet {
        part: "train_eval",
        lengths: spec.split.train.lengths(),
        count: train_count,
        seed: spec.seed,
        batch: spec.eval.batch,
    };
    let test = EvalSet {
        part: "test",
        lengths: spec.split.test.lengths(),
        count: test_count,
        seed: spec.seed,
        batch: spec.eval.batch,
    };
    let ids = coupling(&spec.variant.model.arch).is_some();
    let (tr, te, secs) = match listed {
        Some(p) => {
            let (task, seed, batch) = (spec.task, spec.seed, spec.eval.batch);
            let tr_ex = task::parts::at_most(task, &p.train, train_count, "train_eval", seed);
            let te_ex = task::parts::at_most(task, &p.test, test_count, "test", seed);
            let tr = eval::evaluate_listed(&net, task, vocab, &tr_ex, batch, ids)?;
            let t0 = Instant::now();
            let te = eval::evaluate_listed(&net, task, vocab, &te_ex, batch, ids)?;
            (tr, te, t0.elapsed().as_secs_f64())
        }
        None => {
            let tr = eval::evaluate_with(&net, spec.task, vocab, &train, ids)?;
            let t0 = Instant::now();
            let te = eval::evaluate_with(&net, spec.task, vocab, &test, ids)?;
            (tr, te, t0.elapsed().as_secs_f64())
        }
    };
    let e = Evaluation {
        step,
        train_loss: loss,
        train: tr.mean,
        test: te.mean,
        train_by_length: tr.by_length,
        test_by_length: te.by_length,
        universe: None,
    };
    Ok((e, te.seqs, secs))
}

/// Token accuracy of a training batch at its loss positions.
pub(super) fn batch_accuracy(logits: &Tensor, b: &task::Batch) -> candle_core::Result<f64> {
    let pred = eval::argmax(logits)?;
    let (mut n, mut ok) = (0usize, 0usize);
    for i in 0..pred.len() {
        if b.loss_mask[i] > 0.0 {
            n += 1;
            ok += usize::from(pred[i] == b.targets[i]);
        }
    }
    Ok(if n == 0 { 0.0 } else { ok as f64 / n as f64 })
}
