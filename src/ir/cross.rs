//! The cross-attention of an encoder–decoder (`cross_attention = ...` on a `kind = seq2seq`
//! transformer or lstm): the standard content attention (Vaswani et al. 2017; on an lstm, its
//! `attention` field's scorer) or one of the
//! location-based variants of Ray Chowdhury & Caragea 2023 ("Monotonic Location Attention for
//! Length Generalization", ICML), whose equations are in [`crate::model::location`].

use serde::{Deserialize, Serialize};

/// `cross_attention = ...` (the paper's model names in parentheses, from its code's configs).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CrossAttn {
    /// Scaled dot-product attention on content only (the default).
    #[default]
    Standard,
    /// Content plus relative-position scores (Dai et al. 2019's form; "Rel").
    Relative,
    /// Relative attention over a gated interpolation of the encodings and their reversal
    /// ("Bi-Rel", the code's `mix_forward_reverse` with `cross_relative_pos`).
    BiRelative,
    /// Location attention alone (Dubois et al. 2020; "LocAttn", the code's GRUMix attention with
    /// `location_attention_only`, not simplified).
    Location,
    /// Location attention mixed with content attention by a learned gate ("Mix LocAttn").
    MixLocation,
    /// Monotonic location attention whose step is `sigmoid(5ρ)` ∈ (0, 1), over the gated
    /// forward/reversed encodings ("OneStep").
    OneStep,
    /// OneStep mixed with content attention by a learned gate ("Mix OneStep").
    MixOneStep,
    /// Monotonic attention whose step is a gated blend of `relu(ρ)` and `sigmoid(5ρ)`
    /// ("MonoAttn", the code's `controlled_relu`).
    Monotonic,
    /// Monotonic attention mixed with content attention ("Mix MonoAttn").
    MixMonotonic,
}

impl CrossAttn {
    /// Every option with its spec name, in the order `algen explain` lists them.
    pub const ALL: &'static [(&'static str, CrossAttn)] = &[
        ("standard", CrossAttn::Standard),
        ("relative", CrossAttn::Relative),
        ("bi_relative", CrossAttn::BiRelative),
        ("location", CrossAttn::Location),
        ("mix_location", CrossAttn::MixLocation),
        ("onestep", CrossAttn::OneStep),
        ("mix_onestep", CrossAttn::MixOneStep),
        ("monotonic", CrossAttn::Monotonic),
        ("mix_monotonic", CrossAttn::MixMonotonic),
    ];

    pub fn is_standard(&self) -> bool {
        *self == CrossAttn::Standard
    }

    /// The spec name.
    pub fn name(&self) -> &'static str {
        CrossAttn::ALL.iter().find(|(_, c)| c == self).map_or("standard", |(n, _)| n)
    }
}
