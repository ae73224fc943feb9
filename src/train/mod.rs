//! The one training loop.
//!
//! [`run`] trains one variant with one seed: it builds the model from the
//! seed, draws batches from the task's seeded streams (one length per batch,
//! uniform over the train lengths — the curriculum of Delétang et al. 2023 —
//! or mixed lengths bucketed, padded and masked, see [`Batches`]) or from a universe task's
//! fixed training set ([`universe::Fixed`]), filters the gradients if asked (Grokfast, Lee et
//! al. 2024), steps Adam/AdamW with optional global-norm clipping, evaluates every
//! `eval.every` steps (and at step 0, before training), writes checkpoints for universe tasks, and stops with
//! [`RunStatus::Diverged`] on a non-finite loss. Randomized positions (Ruoss et al. 2023) are
//! drawn by the model at every forward pass from a stream seeded here with the run seed
//! (`stream_seed(task, "positions", 0, seed)`). Device: CPU.

pub mod batches;
pub mod checkpoint;
mod error;
mod evaluate;
pub mod filter;
pub mod optim;
pub mod preempt;
pub mod schedule;
mod shape;
pub mod trace;
pub mod universe;

pub use batches::Batches;
pub use error::TrainError;
use shape::has_dropout;
pub use shape::{coupling, max_position_id, seq_len};
pub use universe::Checkpointing;

use crate::eval::{self, EvalError};
use crate::ir::{EvalCfg, Split, Task, Variant};
use crate::model::{self, Kernels, ModelIo, Net};
use crate::report::results::{Evaluation, RunResult, RunStatus, Timing};
use crate::task::{self, stream_seed};
use candle_core::{DType, Device, Tensor};
use evaluate::{batch_accuracy, evaluation};
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
    /// Once, before the first step, when the run continues from its checkpoint at `step`.
    fn resumed(&mut self, _step: usize) {}
    /// A line for the run's log (e.g. that the run falls back to the autograd path).
    fn note(&mut self, _line: &str) {}
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

/// The transformer whose steps run graph-free ([`model::step`]), if this run's can; a fused
/// transformer the step does not cover says why once, in the run's log.
fn graph_free<'n>(net: &'n Net, kernels: Kernels, obs: &mut dyn Observer) -> Option<&'n model::Transformer> {
    match (net, kernels) {
        (Net::Transformer(t), Kernels::Fused) => match model::step::unsupported(t) {
            None => Some(t),
            Some(why) => {
                obs.note(&why);
                None
            }
        },
        (Net::Seq2seq(_), Kernels::Fused) => {
            obs.note("the graph-free step does not cover seq2seq transformers: training runs on the autograd path");
            None
        }
        _ => None,
    }
}

/// Trains and evaluates one variant × seed.
pub fn run(spec: &RunSpec, obs: &mut dyn Observer) -> Result<RunResult, TrainError> {
    run_with(spec, obs, None, None)
}

/// Where the training batches come from (one per run, on the stack: the size difference
/// between the variants does not matter).
#[allow(clippy::large_enum_variant)]
enum Source<'a> {
    /// Generated examples, or a listed split part ([`Batches`]).
    Drawn(Batches<'a>),
    /// A universe task's fixed training set ([`universe::Fixed`]), minibatches drawn by the sampler.
    Fixed(&'a universe::Fixed, universe::Sampler),
}

/// One training batch as model tensors.
struct Step {
    tokens: Tensor,
    targets: Tensor,
    mask: Tensor,
    pad: Option<Tensor>,
    /// Coupled position ids, when the model reads them.
    ids: Option<Vec<u32>>,
    /// The encoder's input and its padding mask (`seq2seq`).
    source: Option<(Tensor, Option<Tensor>)>,
    /// The batch as laid out (for the running token accuracy), for drawn batches.
    batch: Option<task::Batch>,
    n_tokens: usize,
}

impl Source<'_> {
    fn next(&mut self, n: usize, coupled: bool) -> Result<Step, TrainError> {
        match self {
            Source::Drawn(data) => {
                let b = data.next(n)?;
                let dev = &Device::Cpu;
                let source = b.source.as_ref().map(|s| sources(s, b.b)).transpose()?;
                Ok(Step {
                    source,
                    tokens: Tensor::from_vec(b.tokens.clone(), (b.b, b.t), dev)?,
                    targets: Tensor::from_vec(b.targets.clone(), (b.b, b.t), dev)?,
                    mask: Tensor::from_vec(b.loss_mask.clone(), (b.b, b.t), dev)?,
                    pad: eval::padding(&b)?,
                    ids: b.positions.clone().filter(|_| coupled),
                    n_tokens: b.b * b.t,
                    batch: Some(b),
                })
            }
            Source::Fixed(f, sampler) => {
                let (tokens, targets, mask) = f.next(sampler)?;
                let n_tokens = tokens.elem_count();
                Ok(Step { tokens, targets, mask, pad: None, ids: None, source: None, batch: None, n_tokens })
            }
        }
    }

    /// Records where the batches stand in `meta` (for a checkpoint).
    fn save(&self, meta: &mut checkpoint::Meta) {
        match self {
            Source::Drawn(d) => meta.streams.data = Some(d.state()),
            Source::Fixed(_, s) => (meta.rng_word_pos, meta.streams.epoch_served) = s.position(),
        }
    }

    /// Continues from the batches' position in a checkpoint's `meta` (batches of `n`).
    fn restore(&mut self, meta: &checkpoint::Meta, n: usize) -> Result<(), EvalError> {
        match self {
            Source::Drawn(d) => d.restore(&meta.streams.data.clone().unwrap_or_default(), n)?,
            Source::Fixed(f, s) => f.restore(s, (meta.rng_word_pos, meta.streams.epoch_served)),
        }
        Ok(())
    }
}

/// The source tensor `(B, S)` of a `seq2seq` batch and its padding mask (`None` when full).
fn sources(s: &task::Sources, b: usize) -> candle_core::Result<(Tensor, Option<Tensor>)> {
    let dev = &Device::Cpu;
    let pad = match s.pad.iter().all(|&p| p > 0.0) {
        true => None,
        false => Some(Tensor::from_vec(s.pad.clone(), (b, s.s), dev)?),
    };
    Ok((Tensor::from_vec(s.tokens.clone(), (b, s.s), dev)?, pad))
}

/// [`run`] with checkpoints (and resuming from one), for every task: every
/// `checkpoint_every` steps, every [`checkpoint_interval`] of wall-clock time, and when a stop
/// is requested ([`preempt`]: the run then ends with [`EvalError::Preempted`]). A checkpoint
/// holds everything that determines the rest of the run ([`checkpoint`]), so a resumed run
/// reaches the same numbers bit for bit.
///
/// One step: forward the batch → masked cross-entropy → backward → optional global-norm
/// clipping → host gradients → optional gradient filter ([`filter`]) → Adam/AdamW. Every
/// task trains here; a universe task draws from its fixed training set and is evaluated on
/// the whole of both parts ([`universe::Fixed`]). With `trace`, the run also writes its
/// initial parameters, batches and losses under `trace/<run id>/` ([`trace`]).
pub fn run_with(
    spec: &RunSpec,
    obs: &mut dyn Observer,
    ck: Option<&Checkpointing>,
    trace: Option<&std::path::Path>,
) -> Result<RunResult, TrainError> {
    let started = Instant::now();
    let vocab = task::vocab(spec.task);
    let io = ModelIo { vocab_in: vocab.input.len(), vocab_out: vocab.output.len() };
    let arch = &spec.variant.model.arch;
    let (net, params) = model::build_task(arch, spec.task, &vocab.input, &vocab.output, spec.seed, DType::F32)?;
    let net = net.with_kernels(spec.kernels).with_query(vocab.query);
    net.seed_positions(stream_seed(&spec.task.name, "positions", 0, spec.seed));
    let mut tracer = trace.map(|dir| trace::Tracer::start(dir, spec, &params, io)).transpose()?;
    let vars = params.all();
    let cfg = &spec.variant.train;
    let mut opt = optim::Adam::new(&cfg.optimizer, vars.clone())?;
    let mut filter = cfg.grad_filter.as_ref().map(|f| filter::Filter::new(f, vars.len()));
    let coupled = coupling(arch);
    let fixed = universe::Fixed::new(spec, &vocab)?;
    let listed = if fixed.is_none() { listed_parts(spec)? } else { None };
    let (mut source, batch, longest) = match (&fixed, &listed) {
        (Some(f), _) => (Source::Fixed(f, universe::Fixed::sampler(spec)), f.batch, f.seq_len()),
        (None, Some(p)) => {
            let longest = p.train.iter().map(|e| e.input.len()).max().unwrap_or(1);
            let b = Batches::listed(spec.task, &vocab, &p.train, spec.seed).with_coupling(coupled);
            (Source::Drawn(b), cfg.batch, seq_len(spec.task, &vocab, longest))
        }
        (None, None) => {
            let train = spec.split.train.lengths();
            let b = Batches::new(spec.task, &vocab, train, spec.seed, cfg.mixed_lengths).with_coupling(coupled);
            let longest = train.iter().max().copied().unwrap_or(1);
            (Source::Drawn(b), cfg.batch, seq_len(spec.task, &vocab, longest))
        }
    };
    let mut dropout = ChaCha8Rng::seed_from_u64(stream_seed(&spec.task.name, "dropout", 0, spec.seed));
    let mut result = RunResult {
        id: crate::runs::run_id(spec.task, spec.split, spec.variant, spec.eval, spec.seed),
        variant: spec.variant.label.clone(),
        seed: spec.seed,
        config: spec.variant.clone(),
        params: params.count(),
        flops_per_step: model::flops_per_step(arch, io, batch, longest),
        status: RunStatus::Ok,
        final_eval: None,
        periodic: vec![],
        timing: Timing::default(),
    };
    let mut meta = checkpoint::Meta::default();
    if let Some(ck) = ck.filter(|c| c.resume && c.checkpoint.exists()) {
        meta = checkpoint::load(&ck.checkpoint, &params.vars, &mut opt, filter.as_mut())
            .map_err(|err| TrainError::Checkpoint { path: ck.checkpoint.clone(), err })?;
        source.restore(&meta, batch)?;
        dropout.set_word_pos(meta.streams.dropout);
        if let Some(p) = meta.streams.positions {
            net.set_positions_word_pos(p);
        }
        result.periodic = universe::earlier_evaluations(&ck.metrics, meta.step)?;
        obs.resumed(meta.step);
    }
    let (interval, mut last_saved) = (checkpoint_interval(), Instant::now());
    let evaluate = |net: &Net, step: usize, loss: f64, last: bool| -> Result<(Evaluation, usize, f64), EvalError> {
        match &fixed {
            Some(f) => {
                let t0 = Instant::now();
                let e = f.evaluate(net, spec, step, loss)?;
                Ok((e, f.evaluated(), t0.elapsed().as_secs_f64()))
            }
            None => {
                let (tr, te) = match last {
                    true => (spec.split.train.count, spec.split.test.count),
                    false => (spec.eval.periodic_count, spec.eval.periodic_count),
                };
                evaluation(net, spec, listed.as_ref(), &vocab, step, loss, tr, te)
            }
        }
    };
    if spec.eval.every > 0 && meta.step == 0 {
        // Step 0: the untrained model, so the curves start where training starts (no
        // training loss yet: NaN, `null` in JSON).
        let (e, _, _) = evaluate(&net, 0, f64::NAN, false)?;
        obs.evaluated(&e);
        result.periodic.push(e);
    }
    let graph_free = graph_free(&net, spec.kernels, obs);
    let mut workspace = model::step::Workspace::default();
    let (mut train_secs, mut timed_steps, mut timed_tokens) = (0f64, 0usize, 0usize);
    for step in meta.step + 1..=cfg.steps {
        let t0 = Instant::now();
        let b = source.next(batch, coupled.is_some())?;
        let dropping = if has_dropout(spec.variant) { Some(&mut dropout) } else { None };
        let (loss_v, logits, grads) = match graph_free {
            Some(t) => {
                let o = model::step::train_step(
                    &mut workspace,
                    t,
                    &vars,
                    &b.tokens,
                    b.pad.as_ref(),
                    b.ids.as_deref(),
                    &b.targets,
                    &b.mask,
                )?;
                (o.loss, o.logits, o.grads)
            }
            None => {
                let logits = match &b.source {
                    Some((src, src_pad)) => {
                        net.forward_s2s(src, src_pad.as_ref(), &b.tokens, b.pad.as_ref(), dropping)?
                    }
                    None => net.forward_at(&b.tokens, b.pad.as_ref(), b.ids.as_deref(), dropping)?,
                };
                let loss = model::cross_entropy_masked(&logits, &b.targets, &b.mask)?;
                let loss_v = loss.to_dtype(candle_core::DType::F64)?.to_scalar::<f64>()?;
                let grads = match loss_v.is_finite() {
                    true => optim::host_grads(&loss.backward()?, &vars)?,
                    false => vec![],
                };
                (loss_v, logits, grads)
            }
        };
        if let Some(t) = tracer.as_mut() {
            t.step(spec, step, &b, loss_v)?;
        }
        if !loss_v.is_finite() {
            result.status =
                RunStatus::Diverged { step, message: format!("the training loss became {loss_v} at step {step}") };
            break;
        }
        let mut g = grads;
        if let Some(c) = cfg.clip {
            optim::clip_host(&mut g, c);
        }
        if let Some(f) = filter.as_mut() {
            f.apply(&mut g);
        }
        opt.step_host(&g, schedule::lr_scale(&cfg.schedule, step, cfg.steps))?;
        if step > WARMUP_STEPS || cfg.steps <= 2 * WARMUP_STEPS {
            train_secs += t0.elapsed().as_secs_f64();
            timed_steps += 1;
            timed_tokens += b.n_tokens;
        }
        meta.loss_sum += loss_v;
        meta.loss_n += 1;
        let acc = match &b.batch {
            Some(bt) if step % 10 == 0 || step == cfg.steps => Some(batch_accuracy(&logits, bt)?),
            _ => None,
        };
        obs.step(step, loss_v, acc);
        if spec.eval.every > 0 && step % spec.eval.every == 0 && step < cfg.steps {
            let (e, _, _) = evaluate(&net, step, meta.loss_sum / meta.loss_n.max(1) as f64, false)?;
            (meta.loss_sum, meta.loss_n) = (0.0, 0);
            obs.evaluated(&e);
            result.periodic.push(e);
        }
        let stop = preempt::requested();
        let due = cfg.checkpoint_every > 0 && step % cfg.checkpoint_every == 0;
        if let Some(ck) = ck.filter(|_| due || stop || interval.is_some_and(|i| last_saved.elapsed() >= i)) {
            meta.step = step;
            source.save(&mut meta);
            meta.streams.dropout = dropout.get_word_pos();
            meta.streams.positions = net.positions_word_pos();
            checkpoint::save(&ck.checkpoint, &params.vars, &opt, filter.as_ref(), &meta, &ck.config)
                .map_err(|err| TrainError::Checkpoint { path: ck.checkpoint.clone(), err })?;
            last_saved = Instant::now();
            if stop {
                return Err(TrainError::Preempted { step, checkpoint: ck.checkpoint.clone() });
            }
        }
    }
    tracer.map(|t| t.finish(spec)).transpose()?;
    if timed_steps > 0 {
        result.timing.train_steps_per_s = timed_steps as f64 / train_secs;
        result.timing.train_tokens_per_s = timed_tokens as f64 / train_secs;
    }
    if result.status == RunStatus::Ok {
        let (e, seqs, secs) = evaluate(&net, cfg.steps, meta.loss_sum / meta.loss_n.max(1) as f64, true)?;
        result.timing.eval_seqs_per_s = if secs > 0.0 { seqs as f64 / secs } else { 0.0 };
        obs.evaluated(&e);
        result.final_eval = Some(e);
    }
    result.timing.wall_s = started.elapsed().as_secs_f64();
    Ok(result)
}

/// The wall-clock interval between checkpoints (besides `checkpoint_every`): 10 minutes, or
/// `ALGEN_CHECKPOINT_SECS` seconds (0 turns it off). A run shorter than that writes none.
pub fn checkpoint_interval() -> Option<std::time::Duration> {
    let secs = std::env::var("ALGEN_CHECKPOINT_SECS").ok().and_then(|s| s.trim().parse::<u64>().ok()).unwrap_or(600);
    (secs > 0).then(|| std::time::Duration::from_secs(secs))
}

/// The parts of a split over a finite universe ([`task::split_universe`]); `None` for length
/// splits.
fn listed_parts(spec: &RunSpec) -> Result<Option<task::UniverseSplit>, TrainError> {
    if !spec.split.is_finite() {
        return Ok(None);
    }
    let p = task::split_universe(spec.task, spec.split, spec.seed)?;
    if p.train.is_empty() {
        let message = format!("selects no training example with split `{}`", spec.split.name);
        return Err(task::LabelError::Grammar { task: spec.task.name.clone(), message, span: spec.split.span }.into());
    }
    Ok(Some(p))
}
