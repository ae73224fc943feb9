//! Model architectures.

use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "arch", rename_all = "snake_case")]
pub enum Arch {
    Transformer(TransformerCfg),
    /// A stacked LSTM (`lstm { layers, hidden, embed }`), the recurrent baseline of the
    /// Chomsky-hierarchy benchmark (Delétang et al. 2023).
    Lstm(LstmCfg),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ModelKind {
    /// Bidirectional attention (transduce, tag, classify formats).
    Encoder,
    /// Causal attention (lm format).
    Decoder,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Norm {
    /// LayerNorm before each sublayer, plus a final LayerNorm.
    Pre,
    /// LayerNorm after each residual sum (Vaswani et al. 2017).
    Post,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Position {
    None,
    /// Vaswani et al. 2017: sin on the first half of the channels, cos on the second, base 10000.
    Sinusoidal,
    /// A learned table of `max_len` rows.
    Learned {
        max_len: usize,
    },
}

impl Position {
    pub fn name(&self) -> String {
        match self {
            Position::None => "none".into(),
            Position::Sinusoidal => "sinusoidal".into(),
            Position::Learned { max_len } => format!("learned(max_len = {max_len})"),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TransformerCfg {
    pub kind: ModelKind,
    pub layers: usize,
    pub d_model: usize,
    pub heads: usize,
    /// Hidden width of the feed-forward block.
    pub ffn: usize,
    pub norm: Norm,
    pub dropout: f64,
    pub position: Position,
    /// Multiply token embeddings by sqrt(d_model) (Vaswani et al.; the Chomsky benchmark does).
    pub embed_scale: bool,
    /// LayerNorm (the default, omitted from the IR's JSON) or RMSNorm.
    #[serde(default, skip_serializing_if = "NormType::is_layer_norm")]
    pub norm_type: NormType,
}

/// Which normalization every norm layer of a transformer uses.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NormType {
    /// `(x − mean)/sqrt(var + eps)·g + b` (Ba et al. 2016).
    #[default]
    LayerNorm,
    /// `x/sqrt(mean(x²) + eps)·g`, no bias (Zhang & Sennrich 2019).
    RmsNorm,
}

impl NormType {
    pub fn is_layer_norm(&self) -> bool {
        *self == NormType::LayerNorm
    }
}

/// A stacked LSTM: token embedding (`embed` wide) → `layers` LSTM layers of width `hidden`
/// (PyTorch `nn.LSTM` equations and init) → a linear head at every position. Causal by
/// construction, so it serves every task format; it has no dropout.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LstmCfg {
    pub layers: usize,
    pub hidden: usize,
    /// Width of the token embedding (defaults to `hidden`).
    pub embed: usize,
}
