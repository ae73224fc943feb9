//! Tasks: an input space, a target and a format.

use super::expr::Expr;
use crate::source::Span;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Task {
    pub name: String,
    /// Input tokens; input id `i` is `alphabet[i]`.
    pub alphabet: Vec<String>,
    pub input: Input,
    pub target: Expr,
    pub format: Format,
    /// Output vocabulary; output id `i` is `outputs[i]`. Declared with
    /// `outputs = ...` or inferred by the checker from the target.
    pub outputs: Vec<String>,
    /// Evaluation scores positions up to and including the first occurrence
    /// of this output token (`score_until = "2"`); `None` scores all.
    pub score_until: Option<String>,
    #[serde(skip)]
    pub span: Span,
}

/// How inputs are drawn.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Input {
    /// `string(alphabet)`: i.i.d. uniform tokens; the length comes from the split.
    String,
}

/// How an example is laid out for the model.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Format {
    /// Encoder: the input, then one query token per target position; outputs
    /// are read at the query positions (Delétang et al. 2023).
    Transduce,
    /// Encoder: one output per input position (the target has the input's length).
    Tag,
    /// Encoder: the input then one query token; one output.
    Classify,
    /// Decoder: `input SEP target EOS`, loss on what follows SEP, greedy decoding at evaluation.
    Lm,
}

impl Format {
    pub fn name(self) -> &'static str {
        match self {
            Format::Transduce => "transduce",
            Format::Tag => "tag",
            Format::Classify => "classify",
            Format::Lm => "lm",
        }
    }
}
