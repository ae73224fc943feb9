//! Splits: which examples train and which test.

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
    /// `fraction f [corrupt c]`: a share `f` of a finite universe (seeded shuffle), with a
    /// share `c` of its labels replaced by random wrong ones (Doshi et al. 2023).
    Fraction { fraction: f64, corrupt: f64 },
    /// `rest`: the universe minus the other part.
    Rest,
}

impl Part {
    /// The input lengths this part draws from.
    pub fn lengths(&self) -> &[usize] {
        match &self.select {
            Selector::Len { lengths } => lengths,
            Selector::Fraction { .. } | Selector::Rest => &[],
        }
    }

    /// Whether the part selects from a finite universe (`fraction`, `rest`).
    pub fn is_universe(&self) -> bool {
        matches!(self.select, Selector::Fraction { .. } | Selector::Rest)
    }
}
