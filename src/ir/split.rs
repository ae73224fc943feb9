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
}

impl Part {
    /// The input lengths this part draws from.
    pub fn lengths(&self) -> &[usize] {
        match &self.select {
            Selector::Len { lengths } => lengths,
        }
    }
}
