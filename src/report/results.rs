//! The result records of a run: what `results.json` holds.
//!
//! The trainer and evaluator fill these; [`crate::report`] renders them.
//! Report code reads only these records, never models.

use crate::ir::Variant;
use serde::{Deserialize, Serialize};

/// Accuracy of one group of examples.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Scores {
    /// NaN when no example was scored (`n == 0`): written `null` in JSON, printed `n/a`.
    #[serde(deserialize_with = "nan_if_null")]
    pub token_accuracy: f64,
    #[serde(deserialize_with = "nan_if_null")]
    pub sequence_accuracy: f64,
    /// Examples scored.
    pub n: usize,
}

/// Scores at one input length.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct LengthScores {
    pub len: usize,
    #[serde(flatten)]
    pub scores: Scores,
}

/// One evaluation: per-length scores on the train and test lengths, and
/// their means over lengths (each length weighs the same).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Evaluation {
    pub step: usize,
    /// Mean training loss since the previous evaluation; NaN (`null` in JSON) at step 0,
    /// before any training step.
    #[serde(deserialize_with = "nan_if_null")]
    pub train_loss: f64,
    pub train: Scores,
    pub test: Scores,
    pub train_by_length: Vec<LengthScores>,
    pub test_by_length: Vec<LengthScores>,
    /// Over a finite universe: losses and the clean / corrupted split of the training accuracy
    /// (`train` is then the accuracy on every training example against its training label).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub universe: Option<UniverseScores>,
}

/// One evaluation of a universe run: the whole training set and the whole test set.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct UniverseScores {
    /// Mean cross-entropy on the training set (its training labels) and on the test set.
    pub train_loss: f64,
    pub test_loss: f64,
    /// Accuracy on the training examples whose label is true.
    pub clean_train: f64,
    /// Accuracy on the corrupted training examples against their (wrong) training label
    /// (memorization) and against the true label (generalization despite the noise).
    pub corrupted_vs_label: f64,
    pub corrupted_vs_true: f64,
    pub n_clean: usize,
    pub n_corrupted: usize,
}

/// Throughput of one run (warm-up steps excluded): training steps and input
/// tokens per second, and test-length sequences evaluated per second in the
/// final evaluation.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Timing {
    pub train_steps_per_s: f64,
    pub train_tokens_per_s: f64,
    pub eval_seqs_per_s: f64,
    pub wall_s: f64,
}

/// How a run ended.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum RunStatus {
    Ok,
    /// The loss became NaN or infinite at `step`; the run stopped there.
    Diverged {
        step: usize,
        message: String,
    },
}

/// One variant x seed.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RunResult {
    /// The run's stable id: a hash of its resolved configuration and seed ([`crate::runs`]);
    /// empty in records written before ids existed.
    #[serde(default)]
    pub id: String,
    pub variant: String,
    pub seed: u64,
    pub config: Variant,
    pub params: usize,
    pub flops_per_step: u64,
    #[serde(flatten)]
    pub status: RunStatus,
    /// The last evaluation (with the split's full `count` per length).
    pub final_eval: Option<Evaluation>,
    /// Periodic evaluations (every `eval.every` steps).
    pub periodic: Vec<Evaluation>,
    pub timing: Timing,
}

/// The outcome of one `expect` line.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ExpectOutcome {
    pub text: String,
    /// The reduced value the expectation was checked on.
    pub value: f64,
    pub holds: bool,
}

/// Everything one experiment produced: `runs/<experiment>/results.json`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ExperimentResults {
    pub experiment: String,
    pub task: String,
    pub split: String,
    pub train_lengths: Vec<usize>,
    pub test_lengths: Vec<usize>,
    /// Sizes of a finite universe and its split (absent for length splits).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub universe: Option<UniverseInfo>,
    pub runs: Vec<RunResult>,
    pub expects: Vec<ExpectOutcome>,
    /// `eval { reduce = ... }`: how the report's "Score" section reduces each model's runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reduce: Option<crate::ir::ScoreReduce>,
    /// `eval { grok_threshold }`: the accuracy the "Grokking" section counts as reached
    /// (absent: [`crate::report::grokking::THRESHOLD`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grok_threshold: Option<f64>,
    /// The experiment's `note = "..."`, shown under the report's title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// The accuracy of uniform guessing (absent in records of an older algen).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chance: Option<Chance>,
}

/// What uniform guessing scores: the report draws and states it as the chance level.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Chance {
    /// The task's output vocabulary size `k` (`task.outputs`): a uniform guess at one scored
    /// position is right with probability `1/k`, the chance level of token accuracy.
    pub outputs: usize,
    /// Whether every example has exactly one scored output (`classify`, universe tasks): then
    /// sequence accuracy has the same chance level `1/k`; otherwise it is `1/k^n` for `n`
    /// scored positions, near 0 beyond a few positions, and the report does not draw it.
    pub one_output: bool,
}

impl Chance {
    /// `1/k`: the chance level of token accuracy (and of sequence accuracy with one output).
    pub fn token(&self) -> Option<f64> {
        (self.outputs > 0).then(|| 1.0 / self.outputs as f64)
    }
    /// The chance level of sequence accuracy when it does not depend on the length.
    pub fn sequence(&self) -> Option<f64> {
        self.token().filter(|_| self.one_output)
    }
}

/// A finite universe's size and how the split divides it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct UniverseInfo {
    pub total: usize,
    pub train: usize,
    pub test: usize,
    /// Training examples with a corrupted label.
    pub corrupted: usize,
}

/// `null` (an accuracy over no examples, which serde_json writes for NaN) reads back as NaN.
fn nan_if_null<'de, D: serde::Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    Ok(<Option<f64> as serde::Deserialize>::deserialize(d)?.unwrap_or(f64::NAN))
}
