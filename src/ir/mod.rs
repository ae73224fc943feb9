//! The checked IR: what every stage after the checker reads.
//!
//! The checker ([`crate::check`]) turns the AST into a [`Spec`]: names are
//! resolved, `let`s inlined, defaults filled (each with its reason, in
//! [`defaults`]) and sweeps expanded into [`Variant`]s. Every item keeps the
//! [`Span`] it came from so that runtime problems can point at the spec.
//! Everything here is plain data and serde-serializable (`algen compile`
//! prints it as JSON).

pub mod chomsky;
mod cross;
pub mod defaults;
pub mod expr;
pub mod grammar;
mod head;
pub mod machine;
pub mod model;
mod recurrent;
pub mod split;
pub mod task;
pub mod train;

pub use chomsky::Chomsky;
pub use cross::CrossAttn;
pub use expr::{BinOp, Builtin, Expr, ExprKind, RaspTarget, UnOp};
pub use machine::{Action, Machine, MachineTask, Move, Output, Scratchpad, StepLimit, Style};
pub use model::{
    Activation, Arch, AttnBiasInit, AttnWeightInit, FfnActivation, Head, LstmCfg, LstmStyle, ModelKind, Norm, NormType,
    Position, RnnCfg, StackRnnCfg, TapeRnnCfg, TransformerCfg,
};
pub use split::{Part, Selector, Split};
pub use task::{Format, MachineInput, Slot, Task, TaskKind, Universe, UniverseVar};
pub use train::{
    Batching, CmpOp, EvalCfg, Expect, GradFilter, Metric, Optimizer, OptimizerKind, Reducer, Schedule, Scope,
    ScoreReduce, TrainCfg,
};

use crate::source::Span;
use serde::{Deserialize, Serialize};

/// A whole checked spec (the main file plus its imports).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Spec {
    pub tasks: Vec<Task>,
    pub models: Vec<Model>,
    pub splits: Vec<Split>,
    pub experiments: Vec<Experiment>,
    /// Turing machines (`machine NAME { ... }`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub machines: Vec<Machine>,
}

impl Spec {
    pub fn task(&self, name: &str) -> Option<&Task> {
        self.tasks.iter().find(|t| t.name == name)
    }
    pub fn model(&self, name: &str) -> Option<&Model> {
        self.models.iter().find(|m| m.name == name)
    }
    pub fn split(&self, name: &str) -> Option<&Split> {
        self.splits.iter().find(|s| s.name == name)
    }
    pub fn experiment(&self, name: &str) -> Option<&Experiment> {
        self.experiments.iter().find(|e| e.name == name)
    }
}

/// A named model.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Model {
    pub name: String,
    pub arch: Arch,
    #[serde(skip)]
    pub span: Span,
}

/// One experiment: a task, a split, and the variants (sweep points) to train,
/// each with every seed.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Experiment {
    pub name: String,
    pub task: String,
    pub split: String,
    pub variants: Vec<Variant>,
    pub eval: EvalCfg,
    pub expects: Vec<Expect>,
    /// `note = "..."`: a line for the reader, printed at the top of the report (e.g. the
    /// budget of a reproduction: "under-trained vs the paper's 2M steps").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    #[serde(skip)]
    pub span: Span,
}

/// One point of an experiment's sweep: a fully resolved model and training
/// configuration. `label` names the swept values (`"position=sinusoidal"`),
/// or is `"base"` when nothing is swept.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Variant {
    pub label: String,
    pub model: Model,
    pub train: TrainCfg,
}
