//! Training over a finite universe (Power et al. 2022): a fixed training set, full-batch or
//! minibatch AdamW, optional Grokfast gradient filter, evaluation of the whole training and
//! test sets, and checkpoints that let a killed run continue bit for bit.
//!
//! One step: forward the batch → masked cross-entropy on the answer → backward → optional
//! global-norm clipping → host gradients → gradient filter ([`super::filter`]) → AdamW
//! ([`super::optim::Adam::step_host`]). A minibatch of `b` examples is the first `b` of a
//! fresh seeded Fisher–Yates shuffle of the training set (stream `"batches"`); `batch = full`
//! uses every example, in a tensor built once.

use super::checkpoint::{self, Meta};
use super::filter::Filter;
use super::{optim, schedule, Observer, RunSpec};
use crate::eval::EvalError;
use crate::model::{self, ModelIo, Net};
use crate::report::results::{Evaluation, RunResult, RunStatus, Scores, Timing, UniverseScores};
use crate::task::{self, stream_seed, universe::permutation, Example, UniverseSplit, Vocab};
use candle_core::{DType, Device, IndexOp, Tensor};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use std::path::PathBuf;
use std::time::Instant;

/// Rows per forward pass when evaluating.
const EVAL_ROWS: usize = 4096;

/// Where a run keeps its checkpoint and metrics, and whether to continue from them.
pub struct Checkpointing {
    pub checkpoint: PathBuf,
    pub metrics: PathBuf,
    pub resume: bool,
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

/// Trains and evaluates one variant × seed over the task's universe.
pub fn run(spec: &RunSpec, obs: &mut dyn Observer, ck: Option<&Checkpointing>) -> Result<RunResult, EvalError> {
    let started = Instant::now();
    let vocab = task::vocab(spec.task);
    let io = ModelIo { vocab_in: vocab.input.len(), vocab_out: vocab.output.len() };
    let arch = &spec.variant.model.arch;
    let (net, params) = model::build(arch, io, spec.seed)?;
    let net = net.with_kernels(spec.kernels);
    let vars = params.all();
    let cfg = &spec.variant.train;
    let data = task::split_universe(spec.task, spec.split, spec.seed)?;
    let train = Rows::new(spec.task, &vocab, &data.train);
    let test = Rows::new(spec.task, &vocab, &data.test);
    let true_train: Vec<u32> = data.train_true.iter().map(|&t| vocab.model_output(t).unwrap_or(0)).collect();
    let batch = if cfg.full_batch { train.n } else { cfg.batch.min(train.n) };
    let full = train.tensors(None)?;
    let mut opt = optim::Adam::new(&cfg.optimizer, vars.clone())?;
    let mut filter = cfg.grad_filter.as_ref().map(|f| Filter::new(f, vars.len()));
    let mut sampler = ChaCha8Rng::seed_from_u64(stream_seed(&spec.task.name, "batches", 0, spec.seed));
    let mut result = RunResult {
        variant: spec.variant.label.clone(),
        seed: spec.seed,
        config: spec.variant.clone(),
        params: params.count(),
        flops_per_step: model::flops_per_step(arch, io, batch, train.t),
        status: RunStatus::Ok,
        final_eval: None,
        periodic: vec![],
        timing: Timing::default(),
    };
    let mut meta = Meta { step: 0, loss_sum: 0.0, loss_n: 0, rng_word_pos: 0 };
    if let Some(ck) = ck.filter(|c| c.resume && c.checkpoint.exists()) {
        meta = checkpoint::load(&ck.checkpoint, &params.vars, &mut opt, filter.as_mut())?;
        sampler.set_word_pos(meta.rng_word_pos);
        result.periodic = earlier_evaluations(&ck.metrics, meta.step)?;
    }
    let (mut train_secs, mut timed) = (0f64, 0usize);
    for step in meta.step + 1..=cfg.steps {
        let t0 = Instant::now();
        let picked;
        let (tokens, targets, mask) = if batch == train.n {
            (&full.0, &full.1, &full.2)
        } else {
            let idx = &permutation(train.n, &mut sampler)[..batch];
            picked = train.tensors(Some(idx))?;
            (&picked.0, &picked.1, &picked.2)
        };
        let logits = net.forward_at(tokens, None, None, None)?;
        let loss = model::cross_entropy_masked(&logits, targets, mask)?;
        let loss_v = loss.to_dtype(DType::F64)?.to_scalar::<f64>()?;
        if !loss_v.is_finite() {
            result.status =
                RunStatus::Diverged { step, message: format!("the training loss became {loss_v} at step {step}") };
            break;
        }
        let mut grads = loss.backward()?;
        if let Some(c) = cfg.clip {
            optim::clip_global_norm(&mut grads, &vars, c)?;
        }
        let mut g = optim::host_grads(&grads, &vars)?;
        drop(grads);
        if let Some(f) = filter.as_mut() {
            f.apply(&mut g);
        }
        opt.step_host(&g, schedule::lr_scale(&cfg.schedule, step, cfg.steps))?;
        if step > super::WARMUP_STEPS || cfg.steps <= 2 * super::WARMUP_STEPS {
            train_secs += t0.elapsed().as_secs_f64();
            timed += 1;
        }
        meta.loss_sum += loss_v;
        meta.loss_n += 1;
        obs.step(step, loss_v, None);
        if spec.eval.every > 0 && step % spec.eval.every == 0 && step < cfg.steps {
            let e =
                evaluation(&net, spec, &data, (&train, &test), &true_train, step, meta.loss_sum / meta.loss_n as f64)?;
            (meta.loss_sum, meta.loss_n) = (0.0, 0);
            obs.evaluated(&e);
            result.periodic.push(e);
        }
        if let Some(ck) = ck.filter(|_| cfg.checkpoint_every > 0 && step % cfg.checkpoint_every == 0) {
            meta.step = step;
            meta.rng_word_pos = sampler.get_word_pos();
            checkpoint::save(&ck.checkpoint, &params.vars, &opt, filter.as_ref(), meta)?;
        }
    }
    if timed > 0 {
        result.timing.train_steps_per_s = timed as f64 / train_secs;
        result.timing.train_tokens_per_s = (timed * batch * train.t) as f64 / train_secs;
    }
    if result.status == RunStatus::Ok {
        let loss = meta.loss_sum / meta.loss_n.max(1) as f64;
        let t0 = Instant::now();
        let e = evaluation(&net, spec, &data, (&train, &test), &true_train, cfg.steps, loss)?;
        result.timing.eval_seqs_per_s = (train.n + test.n) as f64 / t0.elapsed().as_secs_f64().max(1e-9);
        obs.evaluated(&e);
        result.final_eval = Some(e);
    }
    result.timing.wall_s = started.elapsed().as_secs_f64();
    Ok(result)
}

/// The evaluations a killed run had logged up to its checkpoint's step (later lines are
/// dropped from `metrics.jsonl`, which the resumed run then appends to).
fn earlier_evaluations(metrics: &std::path::Path, step: usize) -> Result<Vec<Evaluation>, EvalError> {
    let text = std::fs::read_to_string(metrics).unwrap_or_default();
    let kept: Vec<Evaluation> =
        text.lines().filter_map(|l| serde_json::from_str::<Evaluation>(l).ok()).filter(|e| e.step <= step).collect();
    let mut out = String::new();
    for e in &kept {
        out.push_str(&serde_json::to_string(e).unwrap_or_default());
        out.push('\n');
    }
    crate::report::write_atomic(metrics, out.as_bytes()).map_err(candle_core::Error::from)?;
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
