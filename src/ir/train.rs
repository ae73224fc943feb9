//! Training and evaluation settings.

use crate::source::Span;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrainCfg {
    pub steps: usize,
    pub batch: usize,
    pub optimizer: Optimizer,
    /// Global-norm gradient clipping.
    pub clip: Option<f64>,
    pub seeds: Vec<u64>,
    /// `false`: every batch has one length drawn uniformly from the train
    /// lengths (the Chomsky-hierarchy curriculum). `true`: each example draws
    /// its own length; batches are padded and masked.
    pub mixed_lengths: bool,
    /// Learning-rate schedule (a multiplier on the optimizer's `lr`).
    pub schedule: Schedule,
    /// `batch = full`: every step sees the whole training set (finite universes).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub full_batch: bool,
    /// A filter on the gradients between backward and the optimizer step (Grokfast).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grad_filter: Option<GradFilter>,
    /// Write `checkpoint.safetensors` every this many steps (0: never).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub checkpoint_every: usize,
    /// How minibatches are drawn from a finite universe's training set (random, the
    /// default, is omitted from the IR's JSON).
    #[serde(default, skip_serializing_if = "Batching::is_random")]
    pub batching: Batching,
}

/// `batching = random | epochs` (tasks over a finite universe).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Batching {
    /// Every step takes the first `batch` examples of a fresh seeded shuffle of the
    /// training set (sampling without replacement within a step, with replacement across).
    #[default]
    Random,
    /// Epochs: the training set is shuffled once per epoch and served in consecutive
    /// batches, the last one shorter when `batch` does not divide it: PyTorch's
    /// `torch.randperm(n).split(batch)` per epoch, as Lee et al. 2024 (`main.py`) train.
    Epochs,
}

impl Batching {
    pub fn is_random(&self) -> bool {
        *self == Batching::Random
    }
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// Gradient filters of Grokfast (Lee et al. 2024), applied per parameter.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum GradFilter {
    /// `grokfast_ema(alpha, lamb)`: μ₀ = g₀, μ ← α·μ + (1−α)·g, g ← g + λ·μ.
    GrokfastEma { alpha: f64, lamb: f64 },
    /// `grokfast_ma(window, lamb)`: g ← g + λ·mean of the last `window` raw gradients once
    /// `window` of them were seen; g unchanged before.
    GrokfastMa { window: usize, lamb: f64 },
}

/// `schedule = constant | warmup_constant(warmup = N) | warmup_cosine(warmup = N, min = r)`;
/// both warm-ups take `from_zero = true` (see [`Schedule::WarmupConstant`]).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Schedule {
    Constant,
    /// Linear warm-up over `warmup` steps, then constant: update k (1-based) uses k/warmup.
    /// With `from_zero`, update k uses (k−1)/warmup, so the first update has learning rate 0
    /// (Adam's moments still take its gradient) and the full rate arrives at update warmup+1:
    /// PyTorch's `LambdaLR(lambda u: 1 if u > w else u / w)` stepped after each update, as
    /// Lee et al. 2024 (`main.py`) and Power et al. 2022 use it.
    WarmupConstant {
        warmup: usize,
        #[serde(default, skip_serializing_if = "is_false")]
        from_zero: bool,
    },
    /// Linear warm-up, then a half-cosine from 1 down to `min` at the last step
    /// (Loshchilov & Hutter 2017, without restarts); `from_zero` as above.
    WarmupCosine {
        warmup: usize,
        min: f64,
        #[serde(default, skip_serializing_if = "is_false")]
        from_zero: bool,
    },
}

fn is_false(b: &bool) -> bool {
    !*b
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OptimizerKind {
    Adam,
    AdamW,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Optimizer {
    pub kind: OptimizerKind,
    pub lr: f64,
    pub betas: (f64, f64),
    pub eps: f64,
    pub weight_decay: f64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EvalCfg {
    /// Evaluate every this many steps (0: only at the end).
    pub every: usize,
    pub metrics: Vec<Metric>,
    /// Examples per evaluated length in periodic evaluations (the final one uses the split's `count`).
    pub periodic_count: usize,
    /// Sequences per evaluation batch.
    pub batch: usize,
    /// `reduce = max | mean`: the report's "Score" section reduces each model's runs (seeds ×
    /// swept training settings) with it; absent, the section is left out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reduce: Option<ScoreReduce>,
    /// `grok_threshold = r`: the accuracy the report's "Grokking" section counts as reached
    /// (absent: 0.99, the grokking papers' criterion; Lee et al. 2024 use 0.95).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grok_threshold: Option<f64>,
}

/// How a model's runs are reduced to one score (`eval { reduce = max }`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScoreReduce {
    /// The mean over runs.
    Mean,
    /// The best run: Delétang et al. 2023 report the maximum over 10 seeds × 3 learning rates.
    Max,
}

impl ScoreReduce {
    pub fn name(self) -> &'static str {
        match self {
            ScoreReduce::Mean => "mean",
            ScoreReduce::Max => "max",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum Metric {
    /// Fraction of scored output tokens that are right.
    TokenAccuracy,
    /// Fraction of examples whose scored outputs are all right.
    SequenceAccuracy,
}

impl Metric {
    pub const ALL: &'static [(&'static str, Metric)] =
        &[("token_accuracy", Metric::TokenAccuracy), ("sequence_accuracy", Metric::SequenceAccuracy)];
    pub fn name(self) -> &'static str {
        match self {
            Metric::TokenAccuracy => "token_accuracy",
            Metric::SequenceAccuracy => "sequence_accuracy",
        }
    }
}

/// Which examples a metric is computed on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    /// The training lengths (fresh samples).
    Train,
    /// The test lengths, averaged over lengths.
    Test,
}

/// How an `expect` reduces over runs (variants x seeds).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reducer {
    /// Every run must satisfy it.
    All,
    /// At least one run.
    Any,
    /// The mean over runs.
    Mean,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum CmpOp {
    Lt,
    Le,
    Gt,
    Ge,
    Eq,
}

impl CmpOp {
    pub fn holds(self, a: f64, b: f64) -> bool {
        match self {
            CmpOp::Lt => a < b,
            CmpOp::Le => a <= b,
            CmpOp::Gt => a > b,
            CmpOp::Ge => a >= b,
            CmpOp::Eq => a == b,
        }
    }
    pub fn symbol(self) -> &'static str {
        match self {
            CmpOp::Lt => "<",
            CmpOp::Le => "<=",
            CmpOp::Gt => ">",
            CmpOp::Ge => ">=",
            CmpOp::Eq => "==",
        }
    }
}

/// `expect [all|any|mean] train.sequence_accuracy >= 0.99`
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Expect {
    pub reducer: Reducer,
    pub scope: Scope,
    pub metric: Metric,
    pub op: CmpOp,
    pub value: f64,
    /// The expectation as written, for messages.
    pub text: String,
    #[serde(skip)]
    pub span: Span,
}
