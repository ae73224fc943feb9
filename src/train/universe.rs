//! The training data and evaluation of a task over a finite universe (Power et al. 2022): a
//! fixed training set, drawn as full batches or minibatches, and evaluation of the whole
//! training and test sets (clean and corrupted training examples apart).
//!
//! A minibatch of `b` examples is the first `b` of a fresh seeded Fisher–Yates shuffle of the
//! training set (stream `"batches"`); with `batching = epochs` one shuffle per epoch is served
//! in consecutive batches, the last one shorter ([`Sampler`]); `batch = full` uses every
//! example, in tensors built once.
//! The training loop itself is [`super::run_with`], shared with every other task.

use super::RunSpec;
use crate::eval::EvalError;
use crate::ir::Batching;
use crate::model::Net;
use crate::report::results::{Evaluation, Scores, UniverseScores};
use crate::task::{self, stream_seed, universe::permutation, Example, UniverseSplit, Vocab};
use candle_core::{DType, Device, IndexOp, Tensor};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use std::path::PathBuf;

/// Rows per forward pass when evaluating.
const EVAL_ROWS: usize = 4096;

/// Where a run keeps its checkpoint and metrics, and whether to continue from them.
pub struct Checkpointing {
    pub checkpoint: PathBuf,
    pub metrics: PathBuf,
    pub resume: bool,
    /// The run's resolved configuration as canonical JSON ([`crate::runs::config_json`]),
    /// recorded in every checkpoint.
    pub config: String,
}

/// A set of examples as model tensors: tokens `(N, T)`, targets `(N, T)`, loss mask `(N, T)`.
struct Rows {
    tokens: Vec<u32>,
    targets: Vec<u32>,
    mask: Vec<f32>,
    n: usize,
    t: usize,
}

impl Rows {
    fn new(task: &crate::ir::Task, vocab: &Vocab, exs: &[Example]) -> Rows {
        let encs: Vec<task::Encoded> = exs.iter().map(|e| task::encode(task, vocab, e)).collect();
        let b = task::batch(&encs);
        Rows { tokens: b.tokens, targets: b.targets, mask: b.loss_mask, n: b.b, t: b.t }
    }
    /// Rows `idx` (or all) as tensors.
    fn tensors(&self, idx: Option<&[usize]>) -> candle_core::Result<(Tensor, Tensor, Tensor)> {
        let pick = |v: &[u32]| -> Vec<u32> {
            match idx {
                Some(ix) => ix.iter().flat_map(|&i| v[i * self.t..(i + 1) * self.t].iter().copied()).collect(),
                None => v.to_vec(),
            }
        };
        let mask: Vec<f32> = match idx {
            Some(ix) => ix.iter().flat_map(|&i| self.mask[i * self.t..(i + 1) * self.t].iter().copied()).collect(),
            None => self.mask.clone(),
        };
        let n = idx.map_or(self.n, |ix| ix.len());
        let dev = &Device::Cpu;
        Ok((
            Tensor::from_vec(pick(&self.tokens), (n, self.t), dev)?,
            Tensor::from_vec(pick(&self.targets), (n, self.t), dev)?,
            Tensor::from_vec(mask, (n, self.t), dev)?,
        ))
    }
}

/// A universe task's split, laid out for the model once.
pub struct Fixed {
    data: UniverseSplit,
    train: Rows,
    test: Rows,
    /// The true label (model output id) of every training example.
    true_train: Vec<u32>,
    /// The whole training set as tensors (tokens, targets, loss mask).
    full: (Tensor, Tensor, Tensor),
    /// Examples per step.
    pub batch: usize,
}

impl Fixed {
    /// The split of `spec`'s universe, or `None` when the task has no universe input.
    pub fn new(spec: &RunSpec, vocab: &Vocab) -> Result<Option<Fixed>, EvalError> {
        if spec.task.universe().is_none() {
            return Ok(None);
        }
        let cfg = &spec.variant.train;
        let data = task::split_universe(spec.task, spec.split, spec.seed)?;
        if data.train.is_empty() {
            // The checker rejects such splits; a clear error, not a shape error in the model.
            let message =
                format!("selects no training example: the train part of split `{}` is empty", spec.split.name);
            return Err(
                task::LabelError::Grammar { task: spec.task.name.clone(), message, span: spec.split.span }.into()
            );
        }
        let train = Rows::new(spec.task, vocab, &data.train);
        let test = Rows::new(spec.task, vocab, &data.test);
        let true_train: Vec<u32> = data.train_true.iter().map(|&t| vocab.model_output(t).unwrap_or(0)).collect();
        let batch = if cfg.full_batch { train.n } else { cfg.batch.min(train.n) };
        let full = train.tensors(None)?;
        Ok(Some(Fixed { data, train, test, true_train, full, batch }))
    }

    /// The seeded sampler that draws minibatches.
    pub fn sampler(spec: &RunSpec) -> Sampler {
        Sampler {
            rng: ChaCha8Rng::seed_from_u64(stream_seed(&spec.task.name, "batches", 0, spec.seed)),
            epochs: spec.variant.train.batching == Batching::Epochs,
            order: vec![],
            served: 0,
            epoch_start: 0,
        }
    }

    /// Tokens per training sequence.
    pub fn seq_len(&self) -> usize {
        self.train.t
    }

    /// The next training batch: the whole set, the first `batch` of a fresh shuffle, or the
    /// epoch's next `batch` examples.
    pub fn next(&self, s: &mut Sampler) -> candle_core::Result<(Tensor, Tensor, Tensor)> {
        if self.batch == self.train.n {
            return Ok(self.full.clone());
        }
        if !s.epochs {
            let idx = &permutation(self.train.n, &mut s.rng)[..self.batch];
            return self.train.tensors(Some(idx));
        }
        if s.served >= s.order.len() {
            s.epoch_start = s.rng.get_word_pos();
            s.order = permutation(self.train.n, &mut s.rng);
            s.served = 0;
        }
        let end = (s.served + self.batch).min(s.order.len());
        let rows = self.train.tensors(Some(&s.order[s.served..end]));
        s.served = end;
        rows
    }

    /// Continues `s` from a saved [`Sampler::position`].
    pub fn restore(&self, s: &mut Sampler, (word_pos, served): (u128, Option<usize>)) {
        s.rng.set_word_pos(word_pos);
        (s.order, s.served) = (vec![], 0);
        if let Some(k) = served.filter(|_| s.epochs) {
            s.epoch_start = word_pos;
            s.order = permutation(self.train.n, &mut s.rng);
            s.served = k.min(s.order.len());
        }
    }

    /// Examples scored per evaluation (the throughput figure's count).
    pub fn evaluated(&self) -> usize {
        self.train.n + self.test.n
    }

    /// Scores the whole training set (clean and corrupted apart) and the whole test set.
    pub fn evaluate(&self, net: &Net, spec: &RunSpec, step: usize, loss: f64) -> Result<Evaluation, EvalError> {
        evaluation(net, spec, &self.data, (&self.train, &self.test), &self.true_train, step, loss)
    }
}

/// Draws the training minibatches of a [`Fixed`] set (see the module docs).
pub struct Sampler {
    rng: ChaCha8Rng,
    epochs: bool,
    /// Epochs: this epoch's order, how many of it were served, and the RNG position before
    /// its shuffle.
    order: Vec<usize>,
    served: usize,
    epoch_start: u128,
}

impl Sampler {
    /// Where the sampler stands, for a checkpoint: the RNG position, and in an epoch the
    /// position before the epoch's shuffle and the examples served from it.
    pub fn position(&self) -> (u128, Option<usize>) {
        match self.epochs && !self.order.is_empty() {
            true => (self.epoch_start, Some(self.served)),
            false => (self.rng.get_word_pos(), None),
        }
    }
}

/// The evaluations a killed run had logged up to its checkpoint's step (later lines are
/// dropped from `metrics.jsonl`, which the resumed run then appends to).
pub fn earlier_evaluations(metrics: &std::path::Path, step: usize) -> Result<Vec<Evaluation>, super::TrainError> {
    let text = std::fs::read_to_string(metrics).unwrap_or_default();
    let kept: Vec<Evaluation> =
        text.lines().filter_map(|l| serde_json::from_str::<Evaluation>(l).ok()).filter(|e| e.step <= step).collect();
    let mut out = String::new();
    for e in &kept {
        out.push_str(&serde_json::to_string(e).unwrap_or_default());
        out.push('\n');
    }
    crate::report::write_atomic(metrics, out.as_bytes())
        .map_err(|err| super::TrainError::Io { path: metrics.to_path_buf(), err })?;
    Ok(kept)
}

/// Per-row predictions at the answer position and cross-entropies against `labels`.
fn predict(net: &Net, rows: &Rows, labels: &[u32]) -> Result<(Vec<u32>, Vec<f64>), EvalError> {
    let (mut pred, mut ce) = (Vec::with_capacity(rows.n), Vec::with_capacity(rows.n));
    for start in (0..rows.n).step_by(EVAL_ROWS) {
        let idx: Vec<usize> = (start..(start + EVAL_ROWS).min(rows.n)).collect();
        let (tokens, _, _) = rows.tensors(Some(&idx))?;
        let logits = net.forward_at(&tokens, None, None, None)?; // (b, T, V)
        let last = logits.i((.., rows.t - 1, ..))?.to_dtype(DType::F64)?.to_vec2::<f64>()?;
        for (r, row) in last.iter().enumerate() {
            let (mut best, mut top) = (0usize, f64::NEG_INFINITY);
            for (k, &x) in row.iter().enumerate() {
                if x > top {
                    (best, top) = (k, x);
                }
            }
            let lse = top + row.iter().map(|&x| (x - top).exp()).sum::<f64>().ln();
            pred.push(best as u32);
            ce.push(lse - row.get(labels[start + r] as usize).copied().unwrap_or(f64::NEG_INFINITY));
        }
    }
    Ok((pred, ce))
}

/// The answer label (model output id) of each row.
fn labels(rows: &Rows) -> Vec<u32> {
    (0..rows.n).map(|i| rows.targets[i * rows.t + rows.t - 1]).collect()
}

/// Scores the whole training set (clean and corrupted apart) and the whole test set.
fn evaluation(
    net: &Net,
    spec: &RunSpec,
    data: &UniverseSplit,
    (train, test): (&Rows, &Rows),
    true_train: &[u32],
    step: usize,
    loss: f64,
) -> Result<Evaluation, EvalError> {
    let net = net.evaluation(stream_seed(&spec.task.name, "eval_positions", 0, spec.seed));
    let (tl, sl) = (labels(train), labels(test));
    let (tp, tce) = predict(&net, train, &tl)?;
    let (sp, sce) = predict(&net, test, &sl)?;
    let acc = |hits: usize, n: usize| if n == 0 { 0.0 } else { hits as f64 / n as f64 };
    let mean = |v: &[f64]| if v.is_empty() { 0.0 } else { v.iter().sum::<f64>() / v.len() as f64 };
    let score = |p: &[u32], l: &[u32]| {
        let a = acc(p.iter().zip(l).filter(|(x, y)| x == y).count(), p.len());
        Scores { token_accuracy: a, sequence_accuracy: a, n: p.len() }
    };
    let (mut clean, mut vs_label, mut vs_true, mut n_bad) = (0usize, 0usize, 0usize, 0usize);
    for i in 0..train.n {
        if data.corrupted[i] {
            n_bad += 1;
            vs_label += usize::from(tp[i] == tl[i]);
            vs_true += usize::from(tp[i] == true_train[i]);
        } else {
            clean += usize::from(tp[i] == tl[i]);
        }
    }
    let n_clean = train.n - n_bad;
    Ok(Evaluation {
        step,
        train_loss: loss,
        train: score(&tp, &tl),
        test: score(&sp, &sl),
        train_by_length: vec![],
        test_by_length: vec![],
        universe: Some(UniverseScores {
            train_loss: mean(&tce),
            test_loss: mean(&sce),
            clean_train: acc(clean, n_clean),
            corrupted_vs_label: acc(vs_label, n_bad),
            corrupted_vs_true: acc(vs_true, n_bad),
            n_clean,
            n_corrupted: n_bad,
        }),
    })
}
