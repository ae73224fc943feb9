//! Why a run stopped with an error (a diverged run is not one: it ends with
//! [`crate::report::results::RunStatus::Diverged`] and keeps its results).

use crate::diag::Diag;
use crate::eval::EvalError;
use crate::source::Span;
use crate::task::LabelError;
use std::path::PathBuf;

/// Errors of [`super::run`]: the data, a file of the run, or the model itself.
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    /// Labelling or drawing an example failed (the task's span is in the error).
    #[error(transparent)]
    Label(#[from] LabelError),
    /// A file of the run (metrics, checkpoint) cannot be read or written.
    #[error("cannot read or write `{}`: {err}", path.display())]
    Io { path: PathBuf, err: std::io::Error },
    /// The checkpoint cannot be loaded or saved (corrupt, truncated, from another model).
    #[error("checkpoint `{}`: {err}", path.display())]
    Checkpoint { path: PathBuf, err: candle_core::Error },
    /// A tensor operation of the model failed.
    #[error("model error: {0}")]
    Model(#[from] candle_core::Error),
    /// A stop was requested (SIGTERM/SIGUSR1, [`super::preempt`]); the run's checkpoint at
    /// `step` was written. Not a failure: `algen run` exits with [`super::preempt::EXIT_STATUS`].
    #[error("stopped by a signal after step {step}; its checkpoint is `{}`", checkpoint.display())]
    Preempted { step: usize, checkpoint: PathBuf },
}

impl From<EvalError> for TrainError {
    fn from(e: EvalError) -> Self {
        match e {
            EvalError::Label(l) => TrainError::Label(l),
            EvalError::Model(m) => TrainError::Model(m),
        }
    }
}

impl TrainError {
    /// The coded diagnostic; `at` is the span of what was running (the experiment) for the
    /// errors that carry none of their own.
    pub fn to_diag(&self, at: Span) -> Diag {
        match self {
            TrainError::Label(l) => l.to_diag(),
            TrainError::Io { .. } => Diag::error("algen::run::io", self.to_string())
                .at(at, "while running this")
                .help("check that the output folder is writable and the disk is not full"),
            TrainError::Checkpoint { path, .. } => Diag::error("algen::run::checkpoint", self.to_string())
                .at(at, "while running this")
                .help(format!("delete `{}` to start the run afresh, or run without `--resume`", path.display())),
            TrainError::Model(_) => Diag::error("algen::run::model", self.to_string())
                .at(at, "while running this")
                .help("this is a bug in algen or candle if the spec checked; please report it"),
            TrainError::Preempted { .. } => Diag::warning("algen::run::preempted", self.to_string())
                .at(at, "stopped while running this")
                .help("continue it with `algen run --resume`"),
        }
    }
}
