//! `lstm { kind = lm | seq2seq, attention = bahdanau | luong | none, input_feeding,
//! cross_attention }`: the recurrent encoder–decoder's fields (see `model::rnn_s2s`).
//! `attention`, `input_feeding` and `cross_attention` apply to `kind = seq2seq` only,
//! `input_feeding` to `attention = luong` only, a `cross_attention` other than `standard`
//! (a location variant, `crate::ir::CrossAttn`) replaces `attention` and so cannot be given
//! with it, and a seq2seq LSTM has the PyTorch style; each mistake is
//! `algen::check::lstm_seq2seq_field`.

use super::cx::Cx;
use crate::diag::Diag;
use crate::ir::model::{LstmSeq2seq, LstmStyle, RnnAttention};
use crate::syntax::ast::Expr;
use std::collections::BTreeMap;

const CODE: &str = "algen::check::lstm_seq2seq_field";

/// `Some(None)` for a language-model LSTM, `Some(Some(cfg))` for `kind = seq2seq`, `None`
/// after a mistake (reported). `style` is the checked style (`None` when broken).
pub fn seq2seq(cx: &mut Cx, f: &BTreeMap<String, Expr>, style: Option<LstmStyle>) -> Option<Option<LstmSeq2seq>> {
    let kind = cx.choice_or(
        f.get("kind"),
        "model kind",
        &[("lm", false), ("seq2seq", true)],
        "algen::check::unknown_value",
        false,
    )?;
    if !kind {
        let mut ok = true;
        for n in ["attention", "input_feeding", "cross_attention"] {
            if let Some(e) = f.get(n) {
                cx.push(
                    Diag::error(CODE, format!("`{n}` applies to `kind = seq2seq` lstms"))
                        .at(e.span, "this lstm is a single language-model stack")
                        .help(format!("set `kind = seq2seq` for the encoder–decoder with attention, or drop `{n}`")),
                );
                ok = false;
            }
        }
        return ok.then_some(None);
    }
    let attention = cx.choice_or(
        f.get("attention"),
        "attention",
        &[("bahdanau", RnnAttention::Bahdanau), ("luong", RnnAttention::Luong), ("none", RnnAttention::None)],
        "algen::check::unknown_value",
        RnnAttention::Bahdanau,
    );
    let mut ok = true;
    if let (Some(e), Some(LstmStyle::Haiku)) = (f.get("style"), style) {
        cx.push(
            Diag::error(CODE, "a seq2seq lstm has no haiku style")
                .at(e.span, "the benchmark's one-hot hk.LSTM is a language model")
                .help("drop `style` (the encoder–decoder uses PyTorch's nn.LSTM wiring and init)"),
        );
        ok = false;
    }
    let input_feeding = match f.get("input_feeding") {
        Some(e) => {
            let v = cx.boolean(e);
            if attention.is_some_and(|a| a != RnnAttention::Luong) {
                cx.push(
                    Diag::error(CODE, "`input_feeding` applies to `attention = luong`")
                        .at(e.span, "Luong et al.'s input feeding")
                        .help("Bahdanau's decoder already reads the context; use `attention = luong` or drop `input_feeding`"),
                );
                ok = false;
            }
            v
        }
        None => Some(attention == Some(RnnAttention::Luong)),
    };
    let cross_attention = cx.choice_or(
        f.get("cross_attention"),
        "cross-attention",
        crate::ir::CrossAttn::ALL,
        "algen::check::unknown_value",
        crate::ir::CrossAttn::Standard,
    );
    if let (Some(c), Some(a)) = (f.get("cross_attention"), f.get("attention")) {
        if cross_attention.is_some_and(|x| !x.is_standard()) {
            cx.push(
                Diag::error(CODE, "`cross_attention` and `attention` both choose the decoder's attention")
                    .at(c.span, "a location variant replaces the `attention` scorer")
                    .help(format!("drop `attention = {}`, or set `cross_attention = standard`", super::model::show(a))),
            );
            ok = false;
        }
    }
    let cfg = LstmSeq2seq { attention: attention?, input_feeding: input_feeding?, cross_attention: cross_attention? };
    ok.then_some(Some(cfg))
}
