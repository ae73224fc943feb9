//! What `algen run` is asked ([`RunOptions`]) and how a run fails after checking ([`RunError`]).

use crate::diag::Diag;
use crate::source::Span;
use crate::train::TrainError;
use std::collections::HashSet;
use std::path::PathBuf;

/// Options of `algen run`.
pub struct RunOptions {
    pub out: PathBuf,
    /// Overrides every variant's step count.
    pub steps: Option<usize>,
    /// Continue an interrupted experiment: finished runs (a `result.json` in their folder) are
    /// kept, and a run with a checkpoint continues from it — both only when the spec still
    /// gives the run the same configuration ([`crate::runs`]).
    pub resume: bool,
    /// With `resume`: train a run whose configuration changed afresh (with a warning) instead
    /// of refusing to continue it.
    pub restart_changed: bool,
    /// Train only the runs with these ids (`--only`, `--shard`); all when `None`.
    pub select: Option<HashSet<String>>,
    /// Runs trained at once (`-j`), each on its share of the cores; 1 by default.
    pub jobs: usize,
    /// `--trace DIR`: every run writes its initial parameters, batches and losses to
    /// `DIR/<run id>/` ([`crate::train::trace`]).
    pub trace: Option<PathBuf>,
    /// `--kernels`: the fused kernels (and the graph-free transformer step) or the reference.
    pub kernels: crate::model::Kernels,
}

impl RunOptions {
    /// A fresh run into `out` with the spec's step counts.
    pub fn new(out: impl Into<PathBuf>) -> RunOptions {
        RunOptions {
            out: out.into(),
            steps: None,
            resume: false,
            restart_changed: false,
            select: None,
            jobs: 1,
            trace: None,
            kernels: Default::default(),
        }
    }
}

/// Errors of a run after checking.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    Train(#[from] TrainError),
    #[error("cannot write `{}`: {err}", path.display())]
    Io { path: PathBuf, err: std::io::Error },
    /// Reading or writing the experiment's run folders or derived files failed.
    #[error("cannot read or write the results: {0}")]
    Results(#[from] std::io::Error),
    /// A run folder is locked by another process, or `--resume` cannot continue a run.
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
    /// The coded diagnostic, at `at` (the experiment) where the error has no span of its own.
    pub fn to_diag(&self, at: Span) -> Diag {
        match self {
            RunError::Train(e) => e.to_diag(at),
            RunError::Io { .. } | RunError::Results(_) => Diag::error("algen::run::io", self.to_string())
                .at(at, "while running this experiment")
                .help("check that the output folder (`--out`) is writable and the disk is not full"),
            RunError::Diag(d) => (**d).clone(),
        }
    }
}
