//! The one training loop.
//!
//! [`run`] trains one variant with one seed: it builds the model from the
//! seed, draws batches from the task's seeded streams (one length per batch,
//! uniform over the train lengths — the curriculum of Delétang et al. 2023 —
//! or mixed lengths bucketed, padded and masked, see [`Batches`]), steps Adam/AdamW with optional
//! global-norm clipping, evaluates every `eval.every` steps, and stops with
//! [`RunStatus::Diverged`] on a non-finite loss. Randomized positions (Ruoss et al. 2023) are
//! drawn by the model at every forward pass from a stream seeded here with the run seed
//! (`stream_seed(task, "positions", 0, seed)`). Device: CPU.

pub mod batches;
pub mod checkpoint;
pub mod filter;
pub mod optim;
pub mod schedule;
pub mod universe;

pub use batches::Batches;
pub use universe::Checkpointing;

use crate::eval::{self, EvalError, EvalSet};
use crate::ir::{Arch, EvalCfg, Position, Split, Task, Variant};
use crate::model::{self, Kernels, ModelIo, Net};
use crate::report::results::{Evaluation, RunResult, RunStatus, Timing};
use crate::task::{self, stream_seed, Coupling, Vocab};
use candle_core::{Device, Tensor};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use std::time::Instant;

/// Steps excluded from throughput figures (allocator and cache warm-up).
const WARMUP_STEPS: usize = 3;

/// Callbacks of a run: progress display and per-evaluation output.
pub trait Observer {
    /// After every step: step number, loss, batch token accuracy (when computed).
    fn step(&mut self, _step: usize, _loss: f64, _acc: Option<f64>) {}
    /// After every evaluation (periodic and final).
    fn evaluated(&mut self, _e: &Evaluation) {}
}

/// An observer that does nothing.
pub struct Quiet;
impl Observer for Quiet {}

/// One run's inputs.
pub struct RunSpec<'a> {
    pub task: &'a Task,
    pub split: &'a Split,
    pub variant: &'a Variant,
    pub eval: &'a EvalCfg,
    pub seed: u64,
    /// Fused ops (the default) or their decomposed references (for cross-checks).
    pub kernels: Kernels,
}

/// Trains and evaluates one variant × seed.
pub fn run(spec: &RunSpec, obs: &mut dyn Observer) -> Result<RunResult, EvalError> {
    run_with(spec, obs, None)
}

/// [`run`] with checkpoints (and resuming from one) for tasks over a finite universe, which
/// train in [`universe::run`]; other tasks ignore `ck`.
pub fn run_with(spec: &RunSpec, obs: &mut dyn Observer, ck: Option<&Checkpointing>) -> Result<RunResult, EvalError> {
    if matches!(spec.task.input, crate::ir::Input::Universe(_)) {
        return universe::run(spec, obs, ck);
    }
    let started = Instant::now();
    let vocab = task::vocab(spec.task);
    let io = ModelIo { vocab_in: vocab.input.len(), vocab_out: vocab.output.len() };
    let arch = &spec.variant.model.arch;
    let (net, params) = model::build(arch, io, spec.seed)?;
    let net = net.with_kernels(spec.kernels).with_query(vocab.query);
    net.seed_positions(stream_seed(&spec.task.name, "positions", 0, spec.seed));
    let vars = params.all();
    let cfg = &spec.variant.train;
    let mut opt = optim::Adam::new(&cfg.optimizer, vars.clone())?;
    let coupled = coupling(arch);
    let mut data = Batches::new(spec.task, &vocab, spec.split.train.lengths(), spec.seed, cfg.mixed_lengths)
        .with_coupling(coupled);
    let mut dropout = ChaCha8Rng::seed_from_u64(stream_seed(&spec.task.name, "dropout", 0, spec.seed));
    let longest = spec.split.train.lengths().iter().max().copied().unwrap_or(1);
    let mut result = RunResult {
        variant: spec.variant.label.clone(),
        seed: spec.seed,
        config: spec.variant.clone(),
        params: params.count(),
        flops_per_step: model::flops_per_step(arch, io, cfg.batch, seq_len(spec.task, &vocab, longest)),
        status: RunStatus::Ok,
        final_eval: None,
        periodic: vec![],
        timing: Timing::default(),
    };
    let (mut train_secs, mut timed_steps, mut timed_tokens) = (0f64, 0usize, 0usize);
    let mut loss_sum = 0f64;
    let mut loss_n = 0usize;
    for step in 1..=cfg.steps {
        let t0 = Instant::now();
        let b = data.next(cfg.batch)?;
        let tokens = Tensor::from_vec(b.tokens.clone(), (b.b, b.t), &Device::Cpu)?;
        let targets = Tensor::from_vec(b.targets.clone(), (b.b, b.t), &Device::Cpu)?;
        let mask = Tensor::from_vec(b.loss_mask.clone(), (b.b, b.t), &Device::Cpu)?;
        let pad = eval::padding(&b)?;
        let drop = if has_dropout(spec.variant) { Some(&mut dropout) } else { None };
        let ids = b.positions.as_deref().filter(|_| coupled.is_some());
        let logits = net.forward_at(&tokens, pad.as_ref(), ids, drop)?;
        let loss = model::cross_entropy_masked(&logits, &targets, &mask)?;
        let loss_v = loss.to_dtype(candle_core::DType::F64)?.to_scalar::<f64>()?;
        if !loss_v.is_finite() {
            result.status =
                RunStatus::Diverged { step, message: format!("the training loss became {loss_v} at step {step}") };
            break;
        }
        let mut grads = loss.backward()?;
        if let Some(c) = cfg.clip {
            optim::clip_global_norm(&mut grads, &vars, c)?;
        }
        opt.step(&grads, schedule::lr_scale(&cfg.schedule, step, cfg.steps))?;
        if step > WARMUP_STEPS || cfg.steps <= 2 * WARMUP_STEPS {
            train_secs += t0.elapsed().as_secs_f64();
            timed_steps += 1;
            timed_tokens += b.b * b.t;
        }
        loss_sum += loss_v;
        loss_n += 1;
        let acc = (step % 10 == 0 || step == cfg.steps).then(|| batch_accuracy(&logits, &b)).transpose()?;
        obs.step(step, loss_v, acc);
        if spec.eval.every > 0 && step % spec.eval.every == 0 && step < cfg.steps {
            let e = evaluation(
                &net,
                spec,
                &vocab,
                step,
                loss_sum / loss_n.max(1) as f64,
                spec.eval.periodic_count,
                spec.eval.periodic_count,
            )?;
            (loss_sum, loss_n) = (0.0, 0);
            obs.evaluated(&e.0);
            result.periodic.push(e.0);
        }
    }
    if timed_steps > 0 {
        result.timing.train_steps_per_s = timed_steps as f64 / train_secs;
        result.timing.train_tokens_per_s = timed_tokens as f64 / train_secs;
    }
    if result.status == RunStatus::Ok {
        let step = cfg.steps;
        let (e, seqs, secs) = evaluation(
            &net,
            spec,
            &vocab,
            step,
            loss_sum / loss_n.max(1) as f64,
            spec.split.train.count,
            spec.split.test.count,
        )?;
        result.timing.eval_seqs_per_s = if secs > 0.0 { seqs as f64 / secs } else { 0.0 };
        obs.evaluated(&e);
        result.final_eval = Some(e);
    }
    result.timing.wall_s = started.elapsed().as_secs_f64();
    Ok(result)
}

/// The model's sequence length for inputs of length `len` (input plus query
/// slots or target), measured on one example; `len` when it cannot be labelled.
pub fn seq_len(task: &Task, vocab: &Vocab, len: usize) -> usize {
    task::generate(task, "sample", len, 0, 1)
        .ok()
        .and_then(|v| v.first().map(|e| task::encode(task, vocab, e).tokens.len()))
        .unwrap_or(len)
}

/// Whether (and how) `arch` reads the task's position ids: models with coupled positions
/// (Cho et al. 2024) do, with their table size and random start; every other scheme reads the
/// default ids `0..n`, so a sweep over `position` compares coupled ids with the plain ones.
/// `coupled(max_position = N)` is a table of N rows, so ids (random starts included) stay
/// at most N − 1. The match is exhaustive on purpose: a new position scheme must decide here.
pub fn coupling(arch: &Arch) -> Option<Coupling> {
    match arch {
        Arch::Transformer(c) => match c.position {
            Position::Coupled { max_position, random_start } => {
                Some(Coupling { max_position: max_position.saturating_sub(1) as u32, random_start })
            }
            Position::None
            | Position::Sinusoidal
            | Position::SinusoidalReversed
            | Position::Learned { .. }
            | Position::Rope { .. }
            | Position::Alibi
            | Position::Relative
            | Position::T5 { .. }
            | Position::Randomized { .. }
            | Position::HardAlibi { .. } => None,
        },
        Arch::Lstm(_) | Arch::Rnn(_) | Arch::StackRnn(_) | Arch::TapeRnn(_) => None,
    }
}

/// The largest position id the model reads for inputs of length `len` at evaluation: the
/// format's largest coupled id (start 1) when the task supplies coupled ids, else
/// `seq_len − 1` (the default ids `0..T`). `pipeline::validate` checks position tables
/// against it.
pub fn max_position_id(task: &Task, vocab: &Vocab, len: usize) -> usize {
    match task.format.max_coupled_id(len) {
        Some(id) => id,
        None => seq_len(task, vocab, len).saturating_sub(1),
    }
}

fn has_dropout(v: &Variant) -> bool {
    match &v.model.arch {
        crate::ir::Arch::Transformer(c) => c.dropout > 0.0,
        crate::ir::Arch::Lstm(_)
        | crate::ir::Arch::Rnn(_)
        | crate::ir::Arch::StackRnn(_)
        | crate::ir::Arch::TapeRnn(_) => false,
    }
}

/// Evaluates on fresh train-length samples and on the test lengths, with the model's
/// evaluation copy ([`Net::evaluation`]: detached; randomized positions from a stream of their
/// own, the same at every evaluation). Returns the evaluation, the test sequences evaluated and the seconds they
/// took (the throughput figure is for the test lengths alone).
fn evaluation(
    net: &Net,
    spec: &RunSpec,
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
    let tr = eval::evaluate_with(&net, spec.task, vocab, &train, ids)?;
    let t0 = Instant::now();
    let te = eval::evaluate_with(&net, spec.task, vocab, &test, ids)?;
    let secs = t0.elapsed().as_secs_f64();
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
fn batch_accuracy(logits: &Tensor, b: &task::Batch) -> candle_core::Result<f64> {
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
