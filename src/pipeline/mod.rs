//! The whole pipeline, stage by stage: spec file -> checked IR -> runs -> report.
//!
//! `main.rs` calls these; each function calls one stage's public API.

use crate::check::{self, Checked};
use crate::diag::Diag;
use crate::ir::{self, Spec};
use crate::plan::{self, ExperimentPlan};
use crate::report::{merge, results::*};
use crate::runs::{self, Resume, RunLock};
use crate::source::SourceMap;
use crate::syntax;
use crate::train::{self, Observer, RunSpec, TrainError};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

mod options;
pub use options::{RunError, RunOptions};

/// A checked spec with its sources (for rendering diagnostics) and warnings.
pub struct Loaded {
    pub sources: SourceMap,
    pub spec: Spec,
    pub warnings: Vec<Diag>,
}

/// Why loading failed: the file can't be read, or diagnostics (all of them).
pub enum LoadError {
    Io(PathBuf, std::io::Error),
    Diags(SourceMap, Vec<Diag>),
}

/// Spec file -> parse (with imports) -> check -> IR.
pub fn load(path: &Path) -> Result<Loaded, LoadError> {
    let l = syntax::load(path).map_err(|e| LoadError::Io(path.to_path_buf(), e))?;
    let mut diags = l.diags;
    let Checked { spec, diags: more } = check::check(&l.files);
    diags.extend(more);
    if let Some(spec) = &spec {
        diags.extend(validate(spec));
    }
    match spec {
        Some(spec) if diags.iter().all(|d| d.warning) => Ok(Loaded { sources: l.sources, spec, warnings: diags }),
        _ => Err(LoadError::Diags(l.sources, diags)),
    }
}

/// Checks that need the data stage, measured on one example of the longest length: a learned
/// position table must cover the model's longest sequence (input plus query slots or target);
/// randomized positions need as many distinct positions in `[0, max_len)` as the longest
/// sequence has tokens; a coupled table must hold the largest position id.
pub fn validate(spec: &Spec) -> Vec<Diag> {
    let mut diags: Vec<Diag> = vec![];
    for exp in &spec.experiments {
        let (Some(t), Some(s)) = (spec.task(&exp.task), spec.split(&exp.split)) else { continue };
        for v in &exp.variants {
            let ir::Arch::Transformer(cfg) = &v.model.arch else { continue }; // an LSTM has no table
            let Some((d, label)) = position_table(t, s, &cfg.position) else { continue };
            if !diags.iter().any(|x| x.sort_key() == (v.model.span.file, v.model.span.start)) {
                diags.push(d.at(v.model.span, label));
            }
        }
    }
    diags
}

/// The diagnostic (without its span) and its label when `pos` cannot serve the sequences of
/// task `t` at the longest length of split `s`; its help names a table size that passes.
pub fn position_table(t: &ir::Task, s: &ir::Split, pos: &ir::Position) -> Option<(Diag, &'static str)> {
    let vocab = crate::task::vocab(t);
    let longest = s.train.lengths().iter().chain(s.test.lengths()).max().copied().unwrap_or(0);
    let seq = train::seq_len(t, &vocab, longest);
    table_too_small(pos, seq, longest, || train::max_position_id(t, &vocab, longest))
}

/// The diagnostic (without its span) and its label when `pos` cannot serve `seq`-token
/// sequences made from inputs of length `longest`; `max_id` computes the largest position id
/// they use.
fn table_too_small(
    pos: &ir::Position,
    seq: usize,
    longest: usize,
    max_id: impl Fn() -> usize,
) -> Option<(Diag, &'static str)> {
    let code = "algen::check::position_len";
    match pos {
        ir::Position::Learned { max_len } if seq > *max_len => Some((
            Diag::error(code, format!("learned positions cover {max_len} positions, but the model reads sequences of {seq} tokens"))
                .help(format!("inputs of length {longest} make {seq}-token sequences in this format; use `learned(max_len = {})` or more", seq.next_power_of_two())),
            "position table too short",
        )),
        ir::Position::Randomized { max_len, .. } if seq > *max_len => Some((
            Diag::error(code, format!("randomized positions are drawn from [0, {max_len}), but sequences of {seq} tokens need {seq} distinct positions"))
                .help(format!("inputs of length {longest} make {seq}-token sequences in this format; use `randomized(.., max_len = {})` or more", seq.next_power_of_two())),
            "position range too small",
        )),
        ir::Position::Coupled { max_position, .. } if max_id() >= *max_position => Some((
            Diag::error(code, format!("the coupled position table has {max_position} rows, but position ids reach {}", max_id()))
                .help(format!("use `coupled(max_position = {})` or more", max_id() + 1)),
            "position table too short",
        )),
        _ => None,
    }
}

/// The folder of run `id` of the experiment folder `exp_dir` ([`merge::run_dir`]).
pub fn run_dir(exp_dir: &Path, id: &str) -> PathBuf {
    merge::run_dir(exp_dir, id)
}

/// Writes `out/<experiment>/plan.json` ([`ExperimentPlan`]: what `algen report` and
/// `algen status` need to know the experiment's runs without the spec); returns the
/// experiment's folder. `algen run` calls it first, `algen submit` before it submits.
pub fn write_experiment_plan(
    spec: &Spec,
    exp: &ir::Experiment,
    out: &Path,
    steps: Option<usize>,
) -> Result<PathBuf, RunError> {
    let task = spec.task(&exp.task).expect("checked: task exists");
    let split = spec.split(&exp.split).expect("checked: split exists");
    let dir = out.join(&exp.name);
    let header = ExperimentPlan {
        experiment: exp.name.clone(),
        task: task.name.clone(),
        split: split.name.clone(),
        train_lengths: part_lengths(task, split, true),
        test_lengths: part_lengths(task, split, false),
        universe: universe_info(task, split)?,
        reduce: exp.eval.reduce,
        grok_threshold: exp.eval.grok_threshold,
        note: exp.note.clone(),
        chance: Some(plan::chance(task)),
        expects: exp.expects.clone(),
        runs: plan::experiment_runs(spec, exp, steps),
    };
    merge::write_plan(&dir, &header)?;
    Ok(dir)
}

/// Makes one observer per run: (variant, seed, index in the experiment's plan, runs planned).
pub type MakeObserver<'a> = dyn FnMut(&ir::Variant, u64, usize, usize) -> Box<dyn Observer + Send> + Send + 'a;

/// Trains the runs of `exp` that `opts.select` picks (all by default), each into its own
/// folder `opts.out/<experiment>/runs/<id>/` under a lock on that folder ([`RunLock`]), and
/// after each one rebuilds the experiment's `results.json`, report and plots from the run
/// folders ([`merge`]), so an interrupted experiment keeps what finished and shards writing
/// the same experiment see each other's runs. Writes `plan.json` first. Returns the merged
/// results (every finished planned run, also those of other processes).
pub fn run_experiment(
    spec: &Spec,
    exp: &ir::Experiment,
    opts: &RunOptions,
    observer: &mut MakeObserver,
) -> Result<(ExperimentResults, PathBuf), RunError> {
    let dir = write_experiment_plan(spec, exp, &opts.out, opts.steps)?;
    let planned = plan::experiment_runs(spec, exp, opts.steps);
    let done = if opts.resume { finished(&dir)? } else { vec![] };
    let variants = exp.variants.iter().map(|v| plan::with_steps(v, opts.steps));
    let runs = variants.flat_map(|v| v.train.seeds.clone().into_iter().map(move |s| (v.clone(), s)));
    let todo: Vec<(usize, ir::Variant, u64)> = runs
        .enumerate()
        .filter(|(i, _)| {
            let id = &planned[*i].id;
            opts.select.as_ref().is_none_or(|s| s.contains(id)) && !done.iter().any(|r| &r.id == id)
        })
        .map(|(i, (v, s))| (i, v, s))
        .collect();
    let ctx = Ctx { spec, exp, total: planned.len(), dir: &dir, opts, done: &done };
    let mut cache = merge::Cache::new();
    if opts.jobs <= 1 {
        for (index, variant, seed) in todo {
            let result = ctx.train(&variant, seed, index, observer)?;
            cache.insert(result.id.clone(), result);
            merge::merge_cached(&dir, &mut cache)?;
        }
    } else {
        parallel(&ctx, todo, observer, &mut cache)?;
    }
    let merged = merge::merge_cached(&dir, &mut cache)?;
    Ok((merged.results, dir))
}

/// Trains `todo` with `opts.jobs` runs at once, each in a rayon pool of its share of the
/// cores (the kernels split work into independent rows, so the numbers are those of `-j 1`);
/// merges after each run. The first error stops the workers from taking further runs.
fn parallel(
    ctx: &Ctx,
    todo: Vec<(usize, ir::Variant, u64)>,
    observer: &mut MakeObserver,
    cache: &mut merge::Cache,
) -> Result<(), RunError> {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let per = (cores / ctx.opts.jobs).max(1);
    let workers = ctx.opts.jobs.min(todo.len());
    let queue = Mutex::new(todo.into_iter());
    let shared = Mutex::new((observer, cache, None::<RunError>));
    std::thread::scope(|sc| {
        for _ in 0..workers {
            sc.spawn(|| {
                let pool = rayon::ThreadPoolBuilder::new().num_threads(per).build();
                let Ok(pool) = pool else { return };
                let lock = || shared.lock().unwrap_or_else(|e| e.into_inner());
                loop {
                    let next = queue.lock().unwrap_or_else(|e| e.into_inner()).next();
                    let Some((index, variant, seed)) = next else { break };
                    if lock().2.is_some() {
                        break;
                    }
                    let mut make = |v: &ir::Variant, s: u64, i: usize, n: usize| (lock().0)(v, s, i, n);
                    let r = pool.install(|| ctx.train(&variant, seed, index, &mut make));
                    let mut g = lock();
                    let r = r.and_then(|result| {
                        g.1.insert(result.id.clone(), result);
                        merge::merge_cached(ctx.dir, g.1).map(|_| ()).map_err(RunError::from)
                    });
                    if let Err(e) = r {
                        g.2.get_or_insert(e);
                    }
                }
            });
        }
    });
    let (_, _, err) = shared.into_inner().unwrap_or_else(|e| e.into_inner());
    err.map_or(Ok(()), Err)
}

/// What every run of one `run_experiment` call shares.
struct Ctx<'a> {
    spec: &'a Spec,
    exp: &'a ir::Experiment,
    total: usize,
    dir: &'a Path,
    opts: &'a RunOptions,
    done: &'a [RunResult],
}

impl Ctx<'_> {
    /// Locks the run's folder, decides whether to continue its checkpoint, trains it and
    /// writes its `result.json`.
    fn train(
        &self,
        variant: &ir::Variant,
        seed: u64,
        index: usize,
        observer: &mut MakeObserver,
    ) -> Result<RunResult, RunError> {
        let (exp, opts, done) = (self.exp, self.opts, self.done);
        let task = self.spec.task(&exp.task).expect("checked: task exists");
        let split = self.spec.split(&exp.split).expect("checked: split exists");
        let config = runs::config_json(task, split, variant, &exp.eval, seed);
        let id = runs::id_of(&config);
        let rdir = run_dir(self.dir, &id);
        let _lock = RunLock::acquire(&rdir)?;
        let metrics = rdir.join(merge::METRICS_JSONL);
        let checkpoint = rdir.join(train::checkpoint::FILE);
        let why = Resume { exp, variant, seed, steps_flag: opts.steps };
        let changed = done.iter().find(|r| r.variant == variant.label && r.seed == seed);
        if let Some(old) = changed {
            restart_or_fail(why.finished_changed(old, &id), opts)?;
        }
        let mut resume = opts.resume && changed.is_none() && checkpoint.exists();
        if resume {
            if let Err(d) = why.checkpoint(&checkpoint, &config) {
                resume = false;
                restart_or_fail(*d, opts)?;
            }
        } else if opts.resume && changed.is_none() {
            if let Some(other) = stale_checkpoint(self.dir, &variant.label, seed, &id) {
                if let Err(d) = why.checkpoint(&other, &config) {
                    restart_or_fail(*d, opts)?;
                }
            }
        }
        let _ = std::fs::remove_file(rdir.join(merge::RESULT_JSON));
        if !resume {
            let _ = std::fs::remove_file(&metrics);
            let _ = std::fs::remove_file(&checkpoint);
        }
        let (host, pid) = (merge::host_name(), std::process::id());
        let info =
            merge::RunInfo { id: id.clone(), variant: variant.label.clone(), seed, config: config.clone(), host, pid };
        merge::write_run_info(&rdir, &info)?;
        let inner = observer(variant, seed, index, self.total);
        let ck = train::Checkpointing { checkpoint, metrics: metrics.clone(), resume, config };
        let mut obs = MetricsFile { path: metrics, inner, error: None };
        let rs = RunSpec { task, split, variant, eval: &exp.eval, seed, kernels: opts.kernels };
        let result = train::run_with(&rs, &mut obs, Some(&ck), opts.trace.as_deref())?;
        if let Some(e) = obs.error {
            return Err(e.into());
        }
        merge::write_result(&rdir, &result)?;
        Ok(result)
    }
}

/// The finished runs in the run folders of `dir` (a folder whose `result.json` is unreadable
/// holds no finished run: it trains again).
fn finished(dir: &Path) -> Result<Vec<RunResult>, RunError> {
    Ok(merge::run_dirs(dir)?.iter().filter_map(|d| merge::read_result(d).ok()).collect())
}

/// The checkpoint of an unfinished run folder of this variant and seed under another id than
/// `id` (a run interrupted before its configuration changed).
fn stale_checkpoint(dir: &Path, label: &str, seed: u64, id: &str) -> Option<PathBuf> {
    let dirs = merge::run_dirs(dir).ok()?;
    dirs.into_iter().find_map(|d| {
        let info = merge::read_run_info(&d).ok()?;
        let ck = d.join(train::checkpoint::FILE);
        let stale = info.id != id && info.variant == label && info.seed == seed;
        (stale && ck.exists() && !d.join(merge::RESULT_JSON).exists()).then_some(ck)
    })
}

/// With `--restart-changed`, prints `d` as a warning (the run trains afresh); else fails with it.
fn restart_or_fail(d: Diag, opts: &RunOptions) -> Result<(), RunError> {
    if !opts.restart_changed || d.code == "algen::run::checkpoint_corrupt" {
        return Err(d.into());
    }
    let mut w = Diag::warning(d.code, format!("{}; training it afresh (--restart-changed)", d.message));
    w.help = None;
    eprint!("{}", crate::diag::render(&[w], 100, false));
    Ok(())
}

/// The sizes of a universe task's split (with seed 0), or `None`.
fn universe_info(task: &ir::Task, split: &ir::Split) -> Result<Option<UniverseInfo>, RunError> {
    if task.universe().is_none() {
        return Ok(None);
    }
    let s = crate::task::split_universe(task, split, 0).map_err(TrainError::from)?;
    let corrupted = s.corrupted.iter().filter(|&&c| c).count();
    Ok(Some(UniverseInfo { total: s.total, train: s.train.len(), test: s.test.len(), corrupted }))
}

/// The input lengths of a split part: its range, or for a part over a finite universe the
/// distinct input lengths of its examples (with seed 0; empty when they cannot be listed,
/// the run reports why).
fn part_lengths(task: &ir::Task, split: &ir::Split, train: bool) -> Vec<usize> {
    let part = if train { &split.train } else { &split.test };
    if !part.is_finite() {
        return part.lengths().to_vec();
    }
    let Ok(p) = crate::task::split_universe(task, split, 0) else { return vec![] };
    let mut v: Vec<usize> = (if train { p.train } else { p.test }).iter().map(|e| e.input.len()).collect();
    v.sort_unstable();
    v.dedup();
    v
}

/// Appends every evaluation to the run's metrics.jsonl, then forwards events.
struct MetricsFile {
    path: PathBuf,
    inner: Box<dyn Observer + Send>,
    error: Option<std::io::Error>,
}

impl Observer for MetricsFile {
    fn step(&mut self, step: usize, loss: f64, acc: Option<f64>) {
        self.inner.step(step, loss, acc);
    }
    fn evaluated(&mut self, e: &Evaluation) {
        let line = serde_json::to_string(e).unwrap_or_default();
        if let Err(err) = crate::report::append_line(&self.path, &line) {
            self.error.get_or_insert(err);
        }
        self.inner.evaluated(e);
    }
    fn resumed(&mut self, step: usize) {
        self.inner.resumed(step);
    }
    fn note(&mut self, line: &str) {
        self.inner.note(line);
    }
}
