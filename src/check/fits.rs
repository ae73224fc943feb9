//! Whether a variant's model fits its task: the format against the model kind (encoder,
//! decoder, encoder–decoder), the pointer head's target, a compiled RASP model's resolution,
//! and a learned position table against the test lengths.

use super::cx::Cx;
use crate::diag::Diag;
use crate::ir;

/// `format = seq2seq` needs a `kind = seq2seq` transformer and that model needs the format
/// (reported here); the transformer configuration, if the architecture is one and fits.
fn fits_seq2seq<'a>(
    cx: &mut Cx,
    task: &ir::Task,
    arch: &'a ir::Arch,
    at: crate::source::Span,
) -> Option<&'a ir::TransformerCfg> {
    let lstm = matches!(arch, ir::Arch::Lstm(_));
    let s2s_model = match arch {
        ir::Arch::Transformer(c) => matches!(c.kind, ir::ModelKind::Seq2seq { .. }),
        ir::Arch::Lstm(c) => c.seq2seq.is_some(),
        _ => false,
    };
    let s2s_task = task.format == ir::Format::Seq2seq;
    if s2s_task && !s2s_model {
        let (label, help) = match lstm {
            true => ("this lstm is not an encoder–decoder", "use `lstm { kind = seq2seq, attention = bahdanau }`"),
            false => (
                "this model is not a seq2seq transformer",
                "use `transformer { kind = seq2seq, encoder_layers = N, decoder_layers = M }`",
            ),
        };
        cx.push(
            Diag::error(
                "algen::check::format_model",
                format!("task `{}` has format `seq2seq`, which needs an encoder–decoder", task.name),
            )
            .at(at, label)
            .help(help),
        );
        return None;
    }
    if s2s_model && !s2s_task {
        let (what, other) =
            if lstm { ("lstm", "`kind = lm`") } else { ("transformer", "`kind = encoder` or `decoder`") };
        cx.push(
            Diag::error(
                "algen::check::format_model",
                format!("a seq2seq {what} needs a task with `format = seq2seq`; `{}` has `{}`", task.name, task.format.name()),
            )
            .at(at, "an encoder–decoder")
            .help(format!("set `format = seq2seq` on the task (for a grammar: `task t {{ grammar = g, format = seq2seq }}`), or use {other}")),
        );
        return None;
    }
    match arch {
        ir::Arch::Transformer(c) => Some(c),
        _ => None,
    }
}

/// The task's format must fit the model kind; a learned position table must cover the test lengths.
/// An LSTM fits every format (it is causal by construction) and has no position table.
pub(super) fn compatible(
    cx: &mut Cx,
    task: &ir::Task,
    split: &ir::Split,
    v: &mut ir::Variant,
    at: crate::source::Span,
) {
    if let ir::Arch::RaspCompiled(cfg) = &mut v.model.arch {
        super::compiled::resolve(cx, task, split, cfg, at);
        return;
    }
    super::pointer::compatible(cx, task, &v.model.arch, at);
    let Some(cfg) = fits_seq2seq(cx, task, &v.model.arch, at) else { return };
    let kind = match cfg.kind {
        ir::ModelKind::Seq2seq { .. } => None, // fits the seq2seq format, checked above
        k => Some(k),
    };
    let want = if task.format.is_decoder() { ir::ModelKind::Decoder } else { ir::ModelKind::Encoder };
    if kind.is_some_and(|k| k != want) {
        let k = if want == ir::ModelKind::Decoder { "decoder" } else { "encoder" };
        cx.push(
            Diag::error(
                "algen::check::format_model",
                format!("task `{}` has format `{}`, which needs a {k} model", task.name, task.format.name()),
            )
            .at(at, format!("this model is not a {k}"))
            .help(format!("set `kind = {k}` on the model")),
        );
    }
    // The same rule as `pipeline::validate` (sequence length, not input length), so the
    // suggested table size passes; checked here too so it joins the other mistakes.
    if matches!(cfg.position, ir::Position::Learned { .. }) {
        if let Some((d, label)) = crate::pipeline::position_table(task, split, &cfg.position) {
            cx.push(d.at(at, label));
        }
    }
}
