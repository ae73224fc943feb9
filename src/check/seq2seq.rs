//! Encoder–decoder models and tasks:
//!
//! - `transformer { kind = seq2seq, encoder_layers = N, decoder_layers = M }` ([`kind`]): the
//!   depths default to `layers`; `cross_attention = standard | relative | ...`
//!   ([`crate::ir::CrossAttn`]) picks the decoder's attention over the source; on any other kind
//!   these fields are a mistake (`algen::check::seq2seq_field`); the position scheme must make
//!   sense on both sides ([`position_fits`]).
//! - `task NAME { grammar = G, format = seq2seq }` ([`grammar_task`]): the grammar `G`'s
//!   examples in another format, so a library grammar (SCAN) serves an encoder–decoder
//!   without being copied.

use super::cx::Cx;
use crate::diag::{suggest, Diag};
use crate::ir::{self, ModelKind, Position};
use crate::source::Span;
use crate::syntax::ast::{Body, Entry, Expr, ExprKind, Ident};
use std::collections::BTreeMap;

/// Fields that only a `kind = seq2seq` transformer has.
const SEQ2SEQ_FIELDS: &[&str] = &["encoder_layers", "decoder_layers", "cross_attention"];

/// The model kind of `transformer { kind = ..., encoder_layers, decoder_layers, cross_attention }`: `kind` is
/// the kind as written (`None` when it is broken), `layers` the checked `layers`.
pub fn kind(
    cx: &mut Cx,
    fields: &BTreeMap<String, Expr>,
    kind: Option<ModelKind>,
    layers: Option<usize>,
) -> Option<ModelKind> {
    let depth = |cx: &mut Cx, n: &str| match fields.get(n) {
        Some(e) => cx.int_in(e, 1, 1 << 20).map(|v| v as usize),
        None => layers,
    };
    match kind? {
        ModelKind::Seq2seq { .. } => {
            let (e, d) = (depth(cx, "encoder_layers"), depth(cx, "decoder_layers"));
            let c = cx.choice_or(
                fields.get("cross_attention"),
                "cross-attention",
                ir::CrossAttn::ALL,
                "algen::check::unknown_value",
                ir::CrossAttn::Standard,
            );
            Some(ModelKind::Seq2seq { encoder_layers: e?, decoder_layers: d?, cross_attention: c? })
        }
        k => {
            let mut ok = true;
            for &n in SEQ2SEQ_FIELDS {
                if let Some(e) = fields.get(n) {
                    let which = if k == ModelKind::Decoder { "a decoder" } else { "an encoder" };
                    cx.push(
                        Diag::error("algen::check::seq2seq_field", format!("`{n}` applies to `kind = seq2seq` models"))
                            .at(e.span, format!("this model is {which}-only transformer"))
                            .help(match n {
                                "cross_attention" => "cross-attention exists only in an encoder–decoder: set \
                                                      `kind = seq2seq` (and the `seq2seq` format), or drop it"
                                    .to_string(),
                                _ => format!(
                                    "set `kind = seq2seq` for an encoder–decoder, or give the depth as `layers = {}`",
                                    super::model::show(e)
                                ),
                            }),
                    );
                    ok = false;
                }
            }
            ok.then_some(k)
        }
    }
}

/// Position schemes an encoder–decoder supports on both sides (cross-attention has none).
const SEQ2SEQ_POSITIONS: &[&str] = &["none", "sinusoidal", "learned", "rope", "alibi"];

/// Whether `pos` is one of [`SEQ2SEQ_POSITIONS`] (reported at `at` otherwise).
pub fn position_fits(cx: &mut Cx, pos: &Position, at: Span) -> bool {
    let ok = matches!(
        pos,
        Position::None | Position::Sinusoidal | Position::Learned { .. } | Position::Rope { .. } | Position::Alibi
    );
    if !ok {
        cx.push(
            Diag::error(
                "algen::check::seq2seq_position",
                format!("a seq2seq transformer cannot use `{}` positions", pos.name()),
            )
            .at(at, "not supported on encoder and decoder")
            .help(format!("use one of {}", SEQ2SEQ_POSITIONS.join(", "))),
        );
    }
    ok
}

/// Whether `body` names a grammar (`grammar = G`), i.e. is checked by [`grammar_task`] once
/// every grammar is known.
pub fn is_grammar_task(body: &Body) -> bool {
    body.entries.iter().any(|e| matches!(e, Entry::Field { name, .. } if name.name == "grammar"))
}

/// `task NAME { grammar = G, format = lm | seq2seq }`: the grammar task `G` under a new name and
/// format (`lm` by default, as the grammar itself).
pub fn grammar_task(
    cx: &mut Cx,
    name: &Ident,
    body: &Body,
    tasks: &BTreeMap<String, ir::Task>,
    broken: &[String],
) -> Option<ir::Task> {
    let f = cx.fields("a grammar task", body, &["grammar", "format"], &[], false);
    let g = f.expr("grammar")?;
    let format = match f.expr("format") {
        Some(e) => cx.choice(
            e,
            "format",
            &[("lm", ir::Format::Lm), ("seq2seq", ir::Format::Seq2seq)],
            "algen::check::unknown_value",
        ),
        None => Some(ir::Format::Lm),
    };
    let gname = match &cx.resolve(g).kind {
        ExprKind::Ident(n) => n.clone(),
        _ => {
            cx.wrong_type(g, "a grammar name");
            return None;
        }
    };
    let base = tasks.get(&gname).filter(|t| matches!(t.kind, ir::TaskKind::Grammar(_)));
    let Some(base) = base else {
        if !broken.contains(&gname) {
            let grammars: Vec<&str> = tasks
                .values()
                .filter(|t| matches!(t.kind, ir::TaskKind::Grammar(_)))
                .map(|t| t.name.as_str())
                .collect();
            cx.push(
                Diag::error("algen::check::unknown_name", format!("unknown grammar `{gname}`"))
                    .at(g.span, "no grammar of this name")
                    .help(suggest(&gname, &grammars)),
            );
        }
        return None;
    };
    Some(ir::Task { name: name.name.clone(), format: format?, span: name.span, ..base.clone() })
}
