//! Splits: which examples train and which test.

use super::expr::Expr;
use crate::source::Span;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Split {
    pub name: String,
    pub train: Part,
    pub test: Part,
    #[serde(skip)]
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Part {
    pub select: Selector,
    /// Examples evaluated per length.
    pub count: usize,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Selector {
    /// `len a..=b [step s]`: the listed input lengths, ascending.
    Len { lengths: Vec<usize> },
    /// `where pred [repeat n]`: the examples of a finite universe (a grammar task's) for which
    /// `pred` holds, each `n` times (an integer expression over the example; default 1).
    /// `pred` and `n` read `input` and `output` (`output_len` is `len(output)`).
    Where { pred: Expr, repeat: Option<Expr> },
    /// `fraction f [corrupt c]`: a share `f` of the universe, drawn by the run's seed (one
    /// seeded permutation: a train part takes its share from the front, a test part from the
    /// back), with a share `c` of its labels replaced by random wrong ones (Doshi et al. 2023).
    Fraction { fraction: f64, corrupt: f64 },
    /// `rest`: every example of the universe that the other part does not select.
    Rest,
}

impl Part {
    /// The input lengths this part draws from.
    pub fn lengths(&self) -> &[usize] {
        match &self.select {
            Selector::Len { lengths } => lengths,
            Selector::Where { .. } | Selector::Fraction { .. } | Selector::Rest => &[],
        }
    }

    /// Whether the part selects from a finite universe (not by input length).
    pub fn is_finite(&self) -> bool {
        !matches!(self.select, Selector::Len { .. })
    }
}

impl Split {
    /// Whether the split selects from a finite universe (`where`, `fraction`, `rest`).
    pub fn is_finite(&self) -> bool {
        self.train.is_finite() || self.test.is_finite()
    }
}
