//! Models: `transformer { ... }`, `lstm { ... }` and the recurrent records of
//! [`super::recurrent`], named models with overrides,
//! and sweeps over model fields.

use super::cx::Cx;
use super::position::{position, Fit};
use super::recurrent;
use crate::diag::{suggest, Diag};
use crate::ir::{self, defaults};
use crate::source::Span;
use crate::syntax::ast::{Body, Expr, ExprKind, FieldValue};
use std::collections::BTreeMap;

pub const TRANSFORMER_FIELDS: &[&str] = &[
    "kind",
    "layers",
    "d_model",
    "heads",
    "ffn",
    "norm",
    "norm_type",
    "dropout",
    "position",
    "embed_scale",
    "embed_init",
    "activation",
    "final_norm",
    "head_bias",
    "attn_bias_init",
    "attn_weight_init",
    "head",
    "encoder_layers",
    "decoder_layers",
    "cross_attention",
];
/// Fields of `lstm { ... }` (see `ir::LstmCfg`).
pub const LSTM_FIELDS: &[&str] =
    &["layers", "hidden", "embed", "style", "kind", "attention", "input_feeding", "cross_attention"];

/// The model constructors, read from their name once ([`ARCHS`]) and dispatched exhaustively.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ArchKind {
    Transformer,
    Lstm,
    Rnn,
    StackRnn,
    TapeRnn,
    RaspCompiled,
}

const ARCHS: &[(&str, ArchKind)] = &[
    ("transformer", ArchKind::Transformer),
    ("lstm", ArchKind::Lstm),
    ("rnn", ArchKind::Rnn),
    ("stack_rnn", ArchKind::StackRnn),
    ("tape_rnn", ArchKind::TapeRnn),
    ("rasp_compiled", ArchKind::RaspCompiled),
];

impl ArchKind {
    /// The constructor called `name`, if any.
    pub fn from_name(name: &str) -> Option<ArchKind> {
        ARCHS.iter().find(|a| a.0 == name).map(|a| a.1)
    }
}

/// A model as written: its constructor and its fields after overrides
/// (field name -> value expression, possibly a `sweep`).
#[derive(Clone, Debug)]
pub struct ModelDef {
    /// The named model this one extends (or the constructor, e.g. `transformer`).
    pub base: String,
    pub arch: ArchKind,
    pub fields: BTreeMap<String, Expr>,
    pub span: Span,
}

/// Resolves a model expression: `transformer { ... }`, `name`, or `name { overrides }`.
/// `models` holds the named models resolved so far.
/// `broken` names models that exist but failed to check: no second error for them.
pub fn def(
    cx: &mut Cx,
    e: &Expr,
    models: &BTreeMap<String, ModelDef>,
    broken: &[String],
    allow_sweep: bool,
) -> Option<ModelDef> {
    let (name, body) = match &e.kind {
        ExprKind::Record { name, body } => (name, Some(body)),
        ExprKind::Ident(_) => {
            let r = cx.resolve(e).into_owned();
            match &r.kind {
                ExprKind::Ident(n) => {
                    return named(cx, n, e.span, models, broken).cloned().map(|mut m| {
                        m.base = n.clone();
                        m.span = e.span;
                        m
                    })
                }
                _ => return def(cx, &r, models, broken, allow_sweep),
            }
        }
        _ => {
            cx.wrong_type(e, "a model (`transformer { ... }`, `lstm { ... }` or a model name)");
            return None;
        }
    };
    let mut base = if let Some(arch) = ArchKind::from_name(&name.name) {
        ModelDef { base: name.name.clone(), arch, fields: BTreeMap::new(), span: e.span }
    } else {
        let mut b = named(cx, &name.name, name.span, models, broken)?.clone();
        b.span = e.span;
        b.base = name.name.clone();
        b
    };
    if let Some(body) = body {
        overrides(cx, &mut base, body, allow_sweep);
    }
    Some(base)
}

fn named<'m>(
    cx: &mut Cx,
    n: &str,
    span: Span,
    models: &'m BTreeMap<String, ModelDef>,
    broken: &[String],
) -> Option<&'m ModelDef> {
    let m = models.get(n);
    if m.is_none() && !broken.iter().any(|b| b == n) {
        let mut names: Vec<&str> = models.keys().map(String::as_str).collect();
        names.extend(ARCHS.iter().map(|a| a.0));
        cx.push(
            Diag::error("algen::check::unknown_name", format!("unknown model `{n}`"))
                .at(span, "no model of this name")
                .help(suggest(n, &names)),
        );
    }
    m
}

fn overrides(cx: &mut Cx, m: &mut ModelDef, body: &Body, allow_sweep: bool) {
    let (what, allowed) = match m.arch {
        ArchKind::Lstm => ("an lstm", LSTM_FIELDS),
        ArchKind::Rnn => ("an rnn", recurrent::RNN_FIELDS),
        ArchKind::StackRnn => ("a stack_rnn", recurrent::STACK_RNN_FIELDS),
        ArchKind::TapeRnn => ("a tape_rnn", recurrent::TAPE_RNN_FIELDS),
        ArchKind::Transformer => ("a transformer", TRANSFORMER_FIELDS),
        ArchKind::RaspCompiled => ("a rasp_compiled model", &[] as &[&str]),
    };
    let f = cx.fields(what, body, allowed, &[], false);
    for (name, (_, v)) in f.map {
        let FieldValue::Expr(e) = v else {
            cx.push(
                Diag::error("algen::check::wrong_type", "expected a model setting, found a split part")
                    .at(v.span(), "a split part")
                    .help("`len a..=b` belongs in a split; model settings are numbers or words"),
            );
            continue;
        };
        if !allow_sweep && matches!(e.kind, ExprKind::Sweep(_)) {
            cx.push(
                Diag::error("algen::check::unsweepable", format!("`{name}` cannot be swept in a model item"))
                    .at(e.span, "sweep in a model definition")
                    .help("sweep it in the experiment: `model = base { field = sweep [...] }`"),
            );
            continue;
        }
        m.fields.insert(name.to_string(), e.clone());
    }
}

/// One fully resolved configuration (no sweeps left in `fields`) of the model's architecture.
pub fn arch(cx: &mut Cx, m: &ModelDef) -> Option<ir::Arch> {
    match m.arch {
        ArchKind::Lstm => lstm(cx, m).map(ir::Arch::Lstm),
        ArchKind::Rnn => recurrent::rnn(cx, m).map(ir::Arch::Rnn),
        ArchKind::StackRnn => recurrent::stack_rnn(cx, m).map(ir::Arch::StackRnn),
        ArchKind::TapeRnn => recurrent::tape_rnn(cx, m).map(ir::Arch::TapeRnn),
        ArchKind::Transformer => transformer(cx, m).map(ir::Arch::Transformer),
        ArchKind::RaspCompiled => Some(ir::Arch::RaspCompiled(Default::default())),
    }
}

/// `lstm { layers, hidden, embed, style, kind, attention, input_feeding }`; the sizes positive
/// integers (defaults in `ir::defaults`), `style = pytorch | haiku`, no `embed` with `haiku`,
/// and the encoder–decoder's fields ([`super::lstm_s2s`]).
fn lstm(cx: &mut Cx, m: &ModelDef) -> Option<ir::LstmCfg> {
    let f = &m.fields;
    let int = |cx: &mut Cx, n: &str, d: usize| {
        f.get(n).map_or(Some(d as i64), |e| cx.int_in(e, 1, 1 << 20)).map(|v| v as usize)
    };
    let layers = int(cx, "layers", defaults::LSTM_LAYERS);
    let hidden = int(cx, "hidden", defaults::LSTM_HIDDEN);
    let style = cx.choice_or(
        f.get("style"),
        "style",
        &[("pytorch", ir::LstmStyle::Pytorch), ("haiku", ir::LstmStyle::Haiku)],
        "algen::check::unknown_value",
        ir::LstmStyle::Pytorch,
    );
    let embed = match f.get("embed") {
        Some(e) if style == Some(ir::LstmStyle::Haiku) => {
            cx.push(
                Diag::error("algen::check::haiku_lstm_embed", "a haiku-style lstm has no embedding")
                    .at(e.span, "`embed` of a one-hot model")
                    .help("`style = haiku` reads one-hot tokens (the benchmark's hk.LSTM); drop `embed`"),
            );
            None
        }
        Some(e) => cx.int_in(e, 1, 1 << 20).map(|v| v as usize),
        None => hidden,
    };
    let seq2seq = super::lstm_s2s::seq2seq(cx, f, style);
    Some(ir::LstmCfg { layers: layers?, hidden: hidden?, embed: embed?, style: style?, seq2seq: seq2seq? })
}

/// One fully resolved transformer configuration (no sweeps left in `fields`).
fn transformer(cx: &mut Cx, m: &ModelDef) -> Option<ir::TransformerCfg> {
    debug_assert_eq!(m.arch, ArchKind::Transformer);
    let f = &m.fields;
    let mut ok = true;
    let kind = cx.choice_or(
        f.get("kind"),
        "model kind",
        &[
            ("encoder", ir::ModelKind::Encoder),
            ("decoder", ir::ModelKind::Decoder),
            (
                "seq2seq",
                ir::ModelKind::Seq2seq {
                    encoder_layers: 0,
                    decoder_layers: 0,
                    cross_attention: ir::CrossAttn::Standard,
                },
            ),
        ],
        "algen::check::unknown_value",
        ir::ModelKind::Encoder,
    );
    let int = |cx: &mut Cx, n: &str, d: usize| {
        f.get(n).map_or(Some(d as i64), |e| cx.int_in(e, 1, 1 << 20)).map(|v| v as usize)
    };
    let layers = int(cx, "layers", defaults::LAYERS);
    let kind = super::seq2seq::kind(cx, f, kind, layers);
    let d_model = int(cx, "d_model", defaults::D_MODEL);
    let heads = int(cx, "heads", defaults::HEADS);
    let ffn = match f.get("ffn") {
        Some(e) => cx.int_in(e, 1, 1 << 20).map(|v| v as usize),
        None => d_model.map(|d| d * defaults::FFN_FACTOR),
    };
    let norm = cx.choice_or(
        f.get("norm"),
        "norm placement",
        &[("pre", ir::Norm::Pre), ("post", ir::Norm::Post), ("lee", ir::Norm::Lee)],
        "algen::check::unknown_value",
        ir::Norm::Post,
    );
    let activation = cx.choice_or(
        f.get("activation"),
        "feed-forward activation",
        &[("relu", ir::FfnActivation::Relu), ("gelu", ir::FfnActivation::Gelu)],
        "algen::check::unknown_value",
        ir::FfnActivation::Relu,
    );
    let attn_bias_init = cx.choice_or(
        f.get("attn_bias_init"),
        "attention bias init",
        &[("uniform", ir::AttnBiasInit::Uniform), ("zero", ir::AttnBiasInit::Zero), ("none", ir::AttnBiasInit::None)],
        "algen::check::unknown_value",
        ir::AttnBiasInit::Uniform,
    );
    let attn_weight_init = cx.choice_or(
        f.get("attn_weight_init"),
        "attention weight init",
        &[("uniform", ir::AttnWeightInit::Uniform), ("xavier", ir::AttnWeightInit::Xavier)],
        "algen::check::unknown_value",
        ir::AttnWeightInit::Uniform,
    );
    let head = cx.choice_or(
        f.get("head"),
        "output head",
        &[("vocab", ir::Head::Vocab), ("pointer", ir::Head::Pointer)],
        "algen::check::unknown_value",
        ir::Head::Vocab,
    );
    let final_norm = match f.get("final_norm") {
        Some(e) => cx.boolean(e).map(Some),
        None => Some(None),
    };
    let head_bias = f.get("head_bias").map_or(Some(true), |e| cx.boolean(e));
    let norm_type = cx.choice_or(
        f.get("norm_type"),
        "norm type",
        &[("layer_norm", ir::NormType::LayerNorm), ("rms_norm", ir::NormType::RmsNorm)],
        "algen::check::unknown_value",
        ir::NormType::LayerNorm,
    );
    let dropout = f.get("dropout").map_or(Some(defaults::DROPOUT), |e| cx.f64_in(e, 0.0, 1.0, true));
    let fit = Fit { d_model, heads, kind };
    let position = f.get("position").map_or(Some(ir::Position::None), |e| position(cx, e, &fit));
    let embed_scale = f.get("embed_scale").map_or(Some(defaults::EMBED_SCALE), |e| cx.boolean(e));
    let embed_init = match f.get("embed_init") {
        Some(e) => cx.f64_in(e, 0.0, f64::INFINITY, true).map(Some),
        None => Some(defaults::EMBED_INIT),
    };
    if let (Some(ir::ModelKind::Seq2seq { .. }), Some(p)) = (kind, &position) {
        let at = f.get("position").map_or(m.span, |e| e.span);
        ok &= super::seq2seq::position_fits(cx, p, at);
    }
    if let (Some(d), Some(h)) = (d_model, heads) {
        if d % h != 0 {
            let at = f.get("heads").or(f.get("d_model")).map(|e| e.span).unwrap_or(m.span);
            cx.push(
                Diag::error("algen::check::heads_divide", format!("d_model = {d} is not a multiple of heads = {h}"))
                    .at(at, "heads must divide d_model")
                    .help(format!("choose heads among {}", divisors(d))),
            );
            ok = false;
        }
    }
    if !ok {
        return None;
    }
    Some(ir::TransformerCfg {
        kind: kind?,
        layers: layers?,
        d_model: d_model?,
        heads: heads?,
        ffn: ffn?,
        norm: norm?,
        dropout: dropout?,
        position: position?,
        embed_scale: embed_scale?,
        norm_type: norm_type?,
        embed_init: embed_init?,
        activation: activation?,
        final_norm: final_norm?,
        head_bias: head_bias?,
        attn_bias_init: attn_bias_init?,
        attn_weight_init: attn_weight_init?,
        head: head?,
    })
}

fn divisors(d: usize) -> String {
    let v: Vec<String> = (1..=d.min(64)).filter(|h| d % h == 0).map(|h| h.to_string()).collect();
    v.join(", ")
}

/// Renders a (small) value expression back to text, for variant labels.
pub fn show(e: &Expr) -> String {
    match &e.kind {
        ExprKind::Num(n) => match n.int {
            Some(i) => i.to_string(),
            None => format!("{}", n.value),
        },
        ExprKind::Str(s) => format!("{s:?}"),
        ExprKind::Bool(b) => b.to_string(),
        ExprKind::Ident(n) => n.clone(),
        ExprKind::List(v) => format!("[{}]", v.iter().map(show).collect::<Vec<_>>().join(", ")),
        ExprKind::Tuple(v) => format!("({})", v.iter().map(show).collect::<Vec<_>>().join(", ")),
        ExprKind::Call { func, args } => {
            let a: Vec<String> = args
                .iter()
                .map(|a| match &a.name {
                    Some(n) => format!("{} = {}", n.name, show(&a.value)),
                    None => show(&a.value),
                })
                .collect();
            format!("{}({})", func.name, a.join(", "))
        }
        ExprKind::Unary { op, operand } => format!("{op}{}", show(operand)),
        _ => "…".into(),
    }
}
