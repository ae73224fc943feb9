//! The whole pipeline, stage by stage: spec file -> checked IR -> runs -> report.
//!
//! `main.rs` calls these; each function calls one stage's public API.

use crate::check::{self, Checked};
use crate::diag::Diag;
use crate::eval;
use crate::ir::{self, Spec};
use crate::report::{self, results::*};
use crate::runs::{self, ExperimentLock, Resume};
use crate::source::{SourceMap, Span};
use crate::syntax;
use crate::train::{self, Observer, RunSpec, TrainError};
use std::path::{Path, PathBuf};

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
        let vocab = crate::task::vocab(t);
        let longest = s.train.lengths().iter().chain(s.test.lengths()).max().copied().unwrap_or(0);
        let seq = train::seq_len(t, &vocab, longest);
        for v in &exp.variants {
            let ir::Arch::Transformer(cfg) = &v.model.arch else { continue }; // an LSTM has no table
            let Some((d, label)) =
                table_too_small(&cfg.position, seq, longest, || train::max_position_id(t, &vocab, longest))
            else {
                continue;
            };
            if !diags.iter().any(|x| x.sort_key() == (v.model.span.file, v.model.span.start)) {
                diags.push(d.at(v.model.span, label));
            }
        }
    }
    diags
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

/// Options of `algen run`.
pub struct RunOptions {
    pub out: PathBuf,
    /// Overrides every variant's step count.
    pub steps: Option<usize>,
    /// Continue an interrupted experiment: runs already in `results.json` are kept, and a run
    /// with a `checkpoint.safetensors` continues from it (universe tasks) — both only when the
    /// spec still gives the run the same configuration ([`crate::runs`]).
    pub resume: bool,
    /// With `resume`: train a run whose configuration changed afresh (with a warning) instead
    /// of refusing to continue it.
    pub restart_changed: bool,
}

impl RunOptions {
    /// A fresh run into `out` with the spec's step counts.
    pub fn new(out: impl Into<PathBuf>) -> RunOptions {
        RunOptions { out: out.into(), steps: None, resume: false, restart_changed: false }
    }
}

/// Errors of a run after checking.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    Train(#[from] TrainError),
    #[error("cannot write `{}`: {err}", path.display())]
    Io { path: PathBuf, err: std::io::Error },
    /// The output folder is locked by another run, or `--resume` cannot continue a run.
    #[error("{0}")]
    Diag(Box<Diag>),
}

impl From<Diag> for RunError {
    fn from(d: Diag) -> Self {
        RunError::Diag(Box::new(d))
    }
}

impl From<Box<Diag>> for RunError {
    fn from(d: Box<Diag>) -> Self {
        RunError::Diag(d)
    }
}

impl RunError {
    fn io(path: &Path) -> impl FnOnce(std::io::Error) -> RunError + '_ {
        move |err| RunError::Io { path: path.to_path_buf(), err }
    }

    /// The coded diagnostic, at `at` (the experiment) where the error has no span of its own.
    pub fn to_diag(&self, at: Span) -> Diag {
        match self {
            RunError::Train(e) => e.to_diag(at),
            RunError::Io { .. } => Diag::error("algen::run::io", self.to_string())
                .at(at, "while running this experiment")
                .help("check that the output folder (`--out`) is writable and the disk is not full"),
            RunError::Diag(d) => (**d).clone(),
        }
    }
}

/// The directory of one run's own files (metrics.jsonl).
pub fn run_dir(exp_dir: &Path, index: usize, variant: &str, seed: u64) -> PathBuf {
    let slug: String =
        variant.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '.' { c } else { '_' }).collect();
    exp_dir.join("runs").join(format!("{index:02}-{slug}-seed{seed}"))
}

/// Runs every variant × seed of `exp`, writing results and the report into
/// `opts.out/<experiment>/` after each run (so an interrupted experiment keeps
/// what finished). The folder is locked for the whole call ([`ExperimentLock`]): a second
/// run into it fails at once. `observer` makes one observer per run.
pub fn run_experiment(
    spec: &Spec,
    exp: &ir::Experiment,
    opts: &RunOptions,
    observer: &mut dyn FnMut(&ir::Variant, u64, usize, usize) -> Box<dyn Observer>,
) -> Result<(ExperimentResults, PathBuf), RunError> {
    let task = spec.task(&exp.task).expect("checked: task exists");
    let split = spec.split(&exp.split).expect("checked: split exists");
    let dir = opts.out.join(&exp.name);
    let _lock = ExperimentLock::acquire(&dir)?;
    let mut res = ExperimentResults {
        experiment: exp.name.clone(),
        task: task.name.clone(),
        split: split.name.clone(),
        train_lengths: part_lengths(task, split, true),
        test_lengths: part_lengths(task, split, false),
        universe: universe_info(task, split)?,
        runs: vec![],
        expects: vec![],
        reduce: exp.eval.reduce,
    };
    let done = if opts.resume { finished(&dir)? } else { vec![] };
    let total: usize = exp.variants.iter().map(|v| v.train.seeds.len()).sum();
    for variant in &exp.variants {
        let mut variant = variant.clone();
        if let Some(s) = opts.steps {
            variant.train.steps = s;
        }
        for &seed in &variant.train.seeds {
            let index = res.runs.len();
            let rdir = run_dir(&dir, index, &variant.label, seed);
            std::fs::create_dir_all(&rdir).map_err(RunError::io(&rdir))?;
            let metrics = rdir.join("metrics.jsonl");
            let checkpoint = rdir.join(train::checkpoint::FILE);
            let config = runs::config_json(task, split, &variant, &exp.eval, seed);
            let id = runs::id_of(&config);
            if let Some(r) = done.iter().find(|r| r.id == id) {
                res.runs.push(r.clone());
                continue;
            }
            let why = Resume { exp, variant: &variant, seed, steps_flag: opts.steps };
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
            }
            if !resume {
                let _ = std::fs::remove_file(&metrics);
                let _ = std::fs::remove_file(&checkpoint);
            }
            let inner = observer(&variant, seed, index, total);
            let ck = train::Checkpointing { checkpoint, metrics: metrics.clone(), resume, config };
            let mut obs = MetricsFile { path: metrics.clone(), inner, error: None };
            let rs = RunSpec { task, split, variant: &variant, eval: &exp.eval, seed, kernels: Default::default() };
            let result = train::run_with(&rs, &mut obs, Some(&ck))?;
            if let Some(e) = obs.error {
                return Err(RunError::io(&metrics)(e));
            }
            res.runs.push(result);
            res.expects = eval::expect::check(&exp.expects, &res.runs);
            report::write_experiment(&dir, &res).map_err(RunError::io(&dir))?;
        }
    }
    Ok((res, dir))
}

/// The finished runs of an earlier run into `dir` (none when it has no `results.json`).
fn finished(dir: &Path) -> Result<Vec<RunResult>, RunError> {
    match report::load(dir) {
        Ok(r) => Ok(r.runs),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(vec![]),
        Err(e) => Err(Diag::error("algen::run::resume_results", format!("cannot resume: {e}"))
            .help(format!(
                "`--resume` keeps the finished runs recorded in `{}`; repair or delete it, or run without `--resume`",
                dir.join(report::RESULTS_JSON).display()
            ))
            .into()),
    }
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
    inner: Box<dyn Observer>,
    error: Option<std::io::Error>,
}

impl Observer for MetricsFile {
    fn step(&mut self, step: usize, loss: f64, acc: Option<f64>) {
        self.inner.step(step, loss, acc);
    }
    fn evaluated(&mut self, e: &Evaluation) {
        let line = serde_json::to_string(e).unwrap_or_default();
        if let Err(err) = report::append_line(&self.path, &line) {
            self.error.get_or_insert(err);
        }
        self.inner.evaluated(e);
    }
}
