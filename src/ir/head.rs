//! A transformer's output head (`head = vocab | pointer`).

use serde::{Deserialize, Serialize};

/// What a transformer's outputs are (`head = vocab | pointer`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Head {
    /// A linear map to `vocab_out` logits at every position.
    #[default]
    Vocab,
    /// A pointer (Vinyals et al. 2015, additive attention): at query `i`, the logits over input
    /// positions `j` are `u_ij = vᵀ tanh(W1 e_j + W2 d_i)` (`e`, `d`: the last layer's states),
    /// with query and padding positions masked out; its classes are the input positions
    /// (`format = pointer`; `model::pointer`).
    Pointer,
}

impl Head {
    pub fn is_vocab(&self) -> bool {
        *self == Head::Vocab
    }
}
