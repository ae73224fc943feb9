//! `position = ...`: the positional encodings of `model::positions`, written `name` or
//! `name(args)` with named arguments (the first may be unnamed where [`ENCODINGS`] says so).
//! Ranges that depend on the model (head width, heads, kind) are checked against the
//! transformer's own fields ([`Fit`]).

use super::cx::Cx;
use crate::diag::{suggest, Diag};
use crate::ir::{defaults, ModelKind, Position};
use crate::source::Span;
use crate::syntax::ast::{Arg, Expr, ExprKind};
use std::collections::BTreeMap;

/// The encodings by name; the name is read once ([`ENCODINGS`]) and dispatched exhaustively.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Enc {
    None,
    Sinusoidal,
    Learned,
    Rope,
    Alibi,
    Relative,
    T5,
    Randomized,
    HardAlibi,
    Coupled,
}

/// Each encoding, its parameters, and whether its first parameter may be given unnamed.
const ENCODINGS: &[(&str, Enc, &[&str], bool)] = &[
    ("none", Enc::None, &[], false),
    ("sinusoidal", Enc::Sinusoidal, &["reversed"], false),
    ("learned", Enc::Learned, &["max_len"], true),
    ("rope", Enc::Rope, &["base"], true),
    ("alibi", Enc::Alibi, &[], false),
    ("relative", Enc::Relative, &[], false),
    ("t5", Enc::T5, &["buckets", "max_distance"], false),
    ("randomized", Enc::Randomized, &["base", "max_len", "eval", "per_layer"], true),
    ("hard_alibi", Enc::HardAlibi, &["masked"], true),
    ("coupled", Enc::Coupled, &["max_position", "random_start"], false),
];
/// Encodings `randomized(base)` accepts (Ruoss et al. 2023 randomize these five).
const RANDOMIZABLE: &[&str] = &["sinusoidal", "learned", "rope", "alibi", "relative"];

/// Every encoding's name.
pub fn names() -> Vec<&'static str> {
    ENCODINGS.iter().map(|e| e.0).collect()
}

/// What the checker knows of the transformer the encoding belongs to (`None`: that field is
/// itself broken, so no second error).
pub struct Fit {
    pub d_model: Option<usize>,
    pub heads: Option<usize>,
    pub kind: Option<ModelKind>,
}

type Args<'a> = BTreeMap<&'static str, &'a Expr>;

/// Reads a `position = ...` value.
pub fn position(cx: &mut Cx, e: &Expr, fit: &Fit) -> Option<Position> {
    parse(cx, e, fit, false)
}

fn parse(cx: &mut Cx, e: &Expr, fit: &Fit, inner: bool) -> Option<Position> {
    let r = cx.resolve(e).into_owned();
    let (name, args): (&str, &[Arg]) = match &r.kind {
        ExprKind::Ident(n) => (n, &[]),
        ExprKind::Call { func, args } => (&func.name, args),
        _ => {
            cx.wrong_type(e, "a positional encoding (e.g. none, sinusoidal, rope, alibi)");
            return None;
        }
    };
    let Some(&(name, enc, params, unnamed)) = ENCODINGS.iter().find(|x| x.0 == name) else {
        cx.push(
            Diag::error("algen::check::unknown_position", format!("unknown positional encoding `{name}`"))
                .at(e.span, "not a positional encoding")
                .help(suggest(name, &names())),
        );
        return None;
    };
    if inner && !RANDOMIZABLE.contains(&name) {
        return not_randomizable(cx, e, name);
    }
    let a = bind(cx, name, (params, unnamed), args, e.span)?;
    let int = |cx: &mut Cx, key: &str, default: usize, lo: i64| -> Option<usize> {
        a.get(key).map_or(Some(default as i64), |v| cx.int_in(v, lo, 1 << 24)).map(|v| v as usize)
    };
    let flag = |cx: &mut Cx, key: &str, default: bool| a.get(key).map_or(Some(default), |v| cx.boolean(v));
    let pos = match enc {
        Enc::None => Position::None,
        Enc::Alibi => Position::Alibi,
        Enc::Sinusoidal => match flag(cx, "reversed", false)? {
            true if inner => return not_randomizable(cx, e, "sinusoidal(reversed = true)"),
            true => Position::SinusoidalReversed,
            false => Position::Sinusoidal,
        },
        Enc::Learned => Position::Learned { max_len: int(cx, "max_len", defaults::LEARNED_MAX_LEN, 1)? },
        Enc::Rope => Position::Rope { base: rope_base(cx, a.get("base").copied())? },
        Enc::Relative => Position::Relative,
        Enc::T5 => t5(cx, &a, fit, e.span)?,
        Enc::Randomized if inner => return not_randomizable(cx, e, "randomized"),
        Enc::Randomized => randomized(cx, &a, fit, e.span)?,
        Enc::HardAlibi => hard_alibi(cx, &a, fit, e.span)?,
        Enc::Coupled => {
            let max_position = int(cx, "max_position", defaults::COUPLED_MAX_POSITION, 1)?;
            let random_start = flag(cx, "random_start", defaults::COUPLED_RANDOM_START)?;
            Position::Coupled { max_position, random_start }
        }
    };
    // A randomized encoding was checked as its base.
    (enc == Enc::Randomized || fits(cx, name, &pos, fit, e.span)).then_some(pos)
}

/// Binds the arguments to `params` (an unnamed first argument to the first parameter when
/// `unnamed`); reports unknown, misplaced and repeated ones.
fn bind<'a>(
    cx: &mut Cx,
    name: &str,
    (params, unnamed): (&[&'static str], bool),
    args: &'a [Arg],
    at: Span,
) -> Option<Args<'a>> {
    let mut out = Args::new();
    let mut ok = true;
    for (i, a) in args.iter().enumerate() {
        let key = match &a.name {
            _ if params.is_empty() => {
                cx.push(
                    Diag::error("algen::check::arity", format!("`{name}` takes no parameters"))
                        .at(at, "unexpected parameters")
                        .help(format!("write `position = {name}`")),
                );
                return None;
            }
            None if i == 0 && unnamed => params[0],
            None => {
                cx.push(
                    Diag::error("algen::check::arity", format!("this parameter of `{name}` must be named"))
                        .at(a.value.span, "unnamed parameter")
                        .help(format!(
                            "name it: `{name}({} = ...)`; parameters: {}",
                            params[i.min(params.len() - 1)],
                            params.join(", ")
                        )),
                );
                ok = false;
                continue;
            }
            Some(n) => match params.iter().find(|p| **p == n.name) {
                Some(p) => p,
                None => {
                    cx.push(
                        Diag::error("algen::check::unknown_field", format!("`{name}` has no parameter `{}`", n.name))
                            .at(n.span, "unknown parameter")
                            .help(suggest(&n.name, params)),
                    );
                    ok = false;
                    continue;
                }
            },
        };
        if out.insert(key, &a.value).is_some() {
            cx.push(
                Diag::error("algen::check::duplicate_field", format!("`{key}` is given twice"))
                    .at(a.value.span, "given again here")
                    .help("remove one of them"),
            );
            ok = false;
        }
    }
    ok.then_some(out)
}

/// `rope(base)`: a finite number > 0 (default 10000).
fn rope_base(cx: &mut Cx, e: Option<&Expr>) -> Option<f64> {
    let Some(e) = e else { return Some(defaults::ROPE_BASE) };
    let v = cx.f64_in(e, 0.0, f64::MAX, false)?;
    if v == 0.0 {
        cx.push(
            Diag::error("algen::check::out_of_range", "0 is out of range: the RoPE base must be positive")
                .at(e.span, "must be > 0")
                .help(format!("use a positive base; RoFormer's is {}", defaults::ROPE_BASE)),
        );
        return None;
    }
    Some(v)
}

/// `t5(buckets, max_distance)`: each side of the buckets needs an exact half and a log half.
fn t5(cx: &mut Cx, a: &Args, fit: &Fit, at: Span) -> Option<Position> {
    let buckets = a.get("buckets").map_or(Some(defaults::T5_BUCKETS as i64), |v| cx.int_in(v, 2, 1 << 16))? as usize;
    let max_distance =
        a.get("max_distance").map_or(Some(defaults::T5_MAX_DISTANCE as i64), |v| cx.int_in(v, 1, 1 << 24))? as usize;
    let encoder = fit.kind? == ModelKind::Encoder;
    let exact = if encoder { buckets / 4 } else { buckets / 2 };
    let span = |k: &str| a.get(k).map_or(at, |v| v.span);
    if exact == 0 {
        cx.push(
            Diag::error("algen::check::out_of_range", format!("t5 positions with {buckets} buckets in an encoder"))
                .at(span("buckets"), "at least 4 buckets in an encoder")
                .help("an encoder splits the buckets between keys before and after the query, and each half needs an exact and a log-spaced part: use buckets >= 4"),
        );
        return None;
    }
    if max_distance <= exact {
        cx.push(
            Diag::error(
                "algen::check::out_of_range",
                format!("max_distance = {max_distance} leaves no log-spaced buckets"),
            )
            .at(span("max_distance"), format!("must be more than {exact}"))
            .help(format!("offsets below {exact} get exact buckets; use max_distance > {exact} (T5 uses 128)")),
        );
        return None;
    }
    Some(Position::T5 { buckets, max_distance })
}

/// `randomized(base, max_len = 2048, eval = true, per_layer = false)`; `per_layer` only over
/// an encoding that acts inside attention (rope, alibi, relative) and in encoders.
fn randomized(cx: &mut Cx, a: &Args, fit: &Fit, at: Span) -> Option<Position> {
    let Some(b) = a.get("base") else {
        cx.push(
            Diag::error("algen::check::missing_field", "`randomized` needs the encoding it randomizes")
                .at(at, "no base encoding")
                .help(format!("write e.g. `randomized(rope, max_len = 2048)`; bases: {}", RANDOMIZABLE.join(", "))),
        );
        return None;
    };
    let max_len = a.get("max_len").map_or(Some(defaults::RANDOMIZED_MAX_LEN as i64), |v| cx.int_in(v, 1, 1 << 24));
    let eval = a.get("eval").map_or(Some(defaults::RANDOMIZED_EVAL), |v| cx.boolean(v));
    let per_layer = a.get("per_layer").map_or(Some(defaults::RANDOMIZED_PER_LAYER), |v| cx.boolean(v));
    let mut base = parse(cx, b, fit, true)?;
    if per_layer? {
        per_layer_fits(cx, &base, fit, a.get("per_layer").map_or(at, |v| v.span))?;
    }
    let max_len = max_len? as usize;
    if let Position::Learned { max_len: rows } = &mut base {
        if !matches!(&cx.resolve(b).kind, ExprKind::Call { args, .. } if !args.is_empty()) {
            *rows = max_len; // a bare `learned` gets one row per position that can be drawn
        } else if *rows < max_len {
            cx.push(
                Diag::error(
                    "algen::check::position_fit",
                    format!("a learned table of {rows} rows cannot hold positions drawn from [0, {max_len})"),
                )
                .at(b.span, "table too small")
                .help(format!("write `randomized(learned, max_len = {max_len})`: the table gets max_len rows")),
            );
            return None;
        }
    }
    Some(Position::Randomized { base: Box::new(base), max_len, eval: eval?, per_layer: per_layer? })
}

/// Per-layer draws need an encoding that acts in every attention layer, and an encoder (cached
/// and uncached decoding fix one draw for the whole generated sequence).
fn per_layer_fits(cx: &mut Cx, base: &Position, fit: &Fit, at: Span) -> Option<()> {
    let inside = matches!(base, Position::Rope { .. } | Position::Alibi | Position::Relative);
    let why = match (inside, fit.kind) {
        (false, _) => format!("`{}` acts once, at the input: there is one draw per pass", base.name()),
        (true, Some(ModelKind::Decoder)) => "decoders fix one draw for the whole decoded sequence".to_string(),
        _ => return Some(()),
    };
    cx.push(
        Diag::error("algen::check::per_layer_draw", "`per_layer = true` does not apply here")
            .at(at, why)
            .help("per-layer draws apply to randomized rope, alibi or relative in encoders"),
    );
    None
}

fn not_randomizable(cx: &mut Cx, e: &Expr, what: &str) -> Option<Position> {
    cx.push(
        Diag::error("algen::check::unknown_value", format!("`{what}` cannot be randomized"))
            .at(e.span, "not a randomizable encoding")
            .help(format!("randomized positions apply to {}", RANDOMIZABLE.join(", "))),
    );
    None
}

/// `hard_alibi(masked = k)`, 0 <= k <= heads.
fn hard_alibi(cx: &mut Cx, a: &Args, fit: &Fit, at: Span) -> Option<Position> {
    let Some(v) = a.get("masked") else {
        cx.push(
            Diag::error("algen::check::missing_field", "`hard_alibi` needs `masked`, the number of windowed heads")
                .at(at, "no `masked` here")
                .help("write e.g. `hard_alibi(masked = 4)`: heads 0..4 see the last 1..=4 tokens"),
        );
        return None;
    };
    let masked = cx.int_in(v, 0, 1 << 20)? as usize;
    let heads = fit.heads?;
    if masked > heads {
        cx.push(
            Diag::error(
                "algen::check::out_of_range",
                format!("masked = {masked} is more than the model's {heads} heads"),
            )
            .at(v.span, format!("must be at most heads = {heads}"))
            .help(format!("use masked between 0 and {heads}")),
        );
        return None;
    }
    Some(Position::HardAlibi { masked })
}

/// Widths the encoding needs: even d_model for sin/cos features, even head width for RoPE.
fn fits(cx: &mut Cx, name: &str, pos: &Position, fit: &Fit, at: Span) -> bool {
    let (Some(d), Some(h)) = (fit.d_model, fit.heads) else { return true };
    let (what, width) = match pos {
        Position::Sinusoidal | Position::SinusoidalReversed | Position::Relative => (format!("d_model, got {d}"), d),
        Position::Rope { .. } if h > 0 && d % h == 0 => {
            (format!("head width, got d_model/heads = {d}/{h} = {}", d / h), d / h)
        }
        _ => return true,
    };
    if width % 2 == 0 {
        return true;
    }
    cx.push(
        Diag::error("algen::check::position_fit", format!("`{name}` needs an even {what}"))
            .at(at, "does not fit this model")
            .help("its sin/cos features come in pairs: choose d_model and heads to make this width even"),
    );
    false
}
