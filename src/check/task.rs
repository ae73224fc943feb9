//! Tasks: fields, the target expression (lowered to `ir::Expr`), and the
//! output vocabulary (declared, or inferred by [`super::infer`]).

use super::cx::Cx;
use super::infer::{self, Ty};
use super::lower::lower;
use crate::diag::{suggest, Diag};
use crate::ir;
use crate::syntax::ast::{Body, Expr, ExprKind, Ident};

pub(super) const FIELDS: &[&str] =
    &["alphabet", "input", "target", "format", "outputs", "score_until", "bos", "scratchpad", "grammar"];
pub(super) const FORMATS: &[&str] =
    &["transduce", "tag", "classify", "lm", "pointer", "seq2seq", "addition", "multiplication"];
/// The formats of a task with a target expression (the arithmetic ones are read by [`super::arith`]).
const PLAIN_FORMATS: &[(&str, ir::Format)] = &[
    ("transduce", ir::Format::Transduce),
    ("tag", ir::Format::Tag),
    ("classify", ir::Format::Classify),
    ("lm", ir::Format::Lm),
    ("pointer", ir::Format::Pointer),
    ("seq2seq", ir::Format::Seq2seq),
];

pub fn task(cx: &mut Cx, name: &Ident, body: &Body) -> Option<ir::Task> {
    let mut f = cx.fields("a task", body, FIELDS, &[], false);
    // A swept field is reported once, then treated as absent-but-given.
    let swept: Vec<&str> = f
        .map
        .iter()
        .filter(
            |(_, (_, v))| matches!(v, crate::syntax::ast::FieldValue::Expr(e) if matches!(e.kind, ExprKind::Sweep(_))),
        )
        .map(|(k, _)| *k)
        .collect();
    let mut poisoned = false;
    for n in swept {
        if let Some(e) = f.expr(n) {
            cx.no_sweep(e, n);
        }
        f.map.remove(n);
        cx.typos.push(n.to_string());
        poisoned = true;
    }
    let task = match written(cx, &f) {
        Written::Universe(u) => super::universe::task(cx, name, &f, u),
        Written::Chomsky(e) => super::chomsky::task(cx, name, &f, e),
        Written::Arith(e, arith) => {
            let format = super::arith::format(cx, e, arith);
            super::arith::task(cx, name, &f, format)
        }
        Written::MisspeltArith(e) => {
            cx.word(e, "format", FORMATS, "algen::check::unknown_value");
            return None;
        }
        Written::Machine(t) => super::turing_task::task(cx, name, &f, t),
        Written::Rasp(t) => rasp_task(cx, name, &f, t),
        Written::Expr => expr_task(cx, name, &f, poisoned),
    };
    task.filter(|_| !poisoned)
}

/// How a task is written, decided once from its fields (the first that applies): a universe
/// input, a builtin `chomsky(NAME)` input, an arithmetic format (or a misspelling of one), a
/// `run(M)` target, a `rasp P.sop` target, else a target expression over strings.
enum Written<'f> {
    Universe(&'f crate::syntax::ast::Universe),
    Chomsky(&'f Expr),
    Arith(&'f Expr, &'static str),
    MisspeltArith(&'f Expr),
    Machine(&'f Expr),
    Rasp(&'f Expr),
    Expr,
}

fn written<'f>(cx: &Cx, f: &'f super::cx::Fields) -> Written<'f> {
    if let Some((_, crate::syntax::ast::FieldValue::Universe(u))) = f.map.get("input") {
        return Written::Universe(u);
    }
    if let Some(e) = f.expr("input").filter(|e| super::chomsky::is_builtin(cx, e)) {
        return Written::Chomsky(e);
    }
    if let Some(e) = f.expr("format") {
        if let Some(arith) = super::arith::name_of(cx, e) {
            return Written::Arith(e, arith);
        }
        if super::arith::misspelt(cx, e, FORMATS) {
            return Written::MisspeltArith(e);
        }
    }
    match f.expr("target") {
        Some(t) if super::turing_task::is_run(t) => Written::Machine(t),
        Some(t) if super::rasp::is_rasp_target(cx, t) => Written::Rasp(t),
        _ => Written::Expr,
    }
}

/// A task with a target expression over uniform strings (formats transduce, tag, classify, lm).
fn expr_task(cx: &mut Cx, name: &Ident, f: &super::cx::Fields, poisoned: bool) -> Option<ir::Task> {
    if let Some(b) = f.expr("bos") {
        cx.push(
            Diag::error("algen::check::unknown_field", "`bos` applies to RASP targets only")
                .at(b.span, "not a RASP task")
                .help("`bos = \"§\"` prepends a token to the input of `target = rasp NAME.sop`"),
        );
    }
    if let Some(e) = f.expr("scratchpad") {
        cx.push(
            Diag::error("algen::check::scratchpad", "a scratchpad needs a machine target")
                .at(e.span, "this task's target is not `run(M)`")
                .help("write `target = run(M)` and `scratchpad = trace(M, style = turing_program)`"),
        );
    }
    let alphabet = match f.expr("alphabet") {
        Some(e) => tokens(cx, e, "alphabet"),
        None => {
            cx.missing("a task", "alphabet", name.span, "alphabet = \"01\"");
            None
        }
    };
    if let Some(e) = f.expr("input") {
        input_of(cx, e);
    } else {
        cx.missing("a task", "input", name.span, "input = string(alphabet)");
    }
    let format = match f.expr("format") {
        Some(e) => cx.word(e, "format", FORMATS, "algen::check::unknown_value"),
        None => {
            cx.missing("a task", "format", name.span, "format = transduce");
            None
        }
    };
    let target = match f.expr("target") {
        Some(e) => lower(cx, e),
        None => {
            cx.missing("a task", "target", name.span, "target = reverse(input)");
            None
        }
    };
    let declared = f.expr("outputs").and_then(|e| tokens(cx, e, "outputs").map(|t| (t, e.span)));
    let score_until = f.expr("score_until").and_then(|e| cx.string(e));
    if poisoned {
        return None;
    }
    let (alphabet, format, target) = (alphabet?, format?, target?);
    let format = plain_format(cx, &format, f.expr("format"))?;
    let ty = infer::infer(cx, &target, &alphabet)?;
    let outputs = match format {
        ir::Format::Pointer => super::pointer::outputs(cx, &target, &ty, declared)?,
        _ => outputs(cx, &target, &ty, format, &alphabet, declared)?,
    };
    super::probe::string_target(cx, &target, &alphabet)?;
    if let Some(tok) = &score_until {
        if !outputs.contains(tok) {
            let e = f.expr("score_until").expect("present");
            cx.push(
                Diag::error(
                    "algen::check::target_vocab",
                    format!("`score_until` names `{tok}`, which the target never emits"),
                )
                .at(e.span, "not an output token")
                .help(format!("the outputs are {}", list(&outputs))),
            );
        }
    }
    Some(ir::Task {
        name: name.name.clone(),
        alphabet,
        kind: ir::TaskKind::Expr { target },
        format,
        outputs,
        score_until,
        span: name.span,
    })
}

/// The format named `word` (one of [`FORMATS`]) for a task with a target expression; an
/// arithmetic format here (which [`super::arith`] reads first) is reported, never defaulted.
fn plain_format(cx: &mut Cx, word: &str, e: Option<&Expr>) -> Option<ir::Format> {
    let found = PLAIN_FORMATS.iter().find(|p| p.0 == word).map(|p| p.1);
    if let (None, Some(e)) = (found, e) {
        cx.push(
            Diag::error("algen::check::unknown_value", format!("`format = {word}` does not take a target expression"))
                .at(e.span, "not a format for a target expression")
                .help(format!(
                    "use one of {}",
                    list(&PLAIN_FORMATS.iter().map(|p| p.0.to_string()).collect::<Vec<_>>())
                )),
        );
    }
    found
}

/// A task whose target is `rasp NAME.sop`: an encoder `tag` task with declared outputs.
fn rasp_task(cx: &mut Cx, name: &Ident, f: &super::cx::Fields, target: &Expr) -> Option<ir::Task> {
    let alphabet = match f.expr("alphabet") {
        Some(e) => tokens(cx, e, "alphabet"),
        None => {
            cx.missing("a task", "alphabet", name.span, "alphabet = \"abcd\"");
            None
        }
    };
    if let Some(e) = f.expr("input") {
        input_of(cx, e);
    }
    let format = f.expr("format").and_then(|e| cx.word(e, "format", FORMATS, "algen::check::unknown_value"));
    if let (Some(fmt), Some(e)) = (&format, f.expr("format")) {
        if fmt != "tag" && fmt != "seq2seq" {
            cx.push(
                Diag::error("algen::check::format_model", format!("a RASP target needs `format = tag`, not `{fmt}`"))
                    .at(e.span, "not `tag` or `seq2seq`")
                    .help("an s-op has one value per input position: write `format = tag` (or `seq2seq` for an encoder–decoder)"),
            );
        }
    }
    let outputs = match f.expr("outputs") {
        Some(e) => tokens(cx, e, "outputs"),
        None => {
            cx.missing("a RASP task", "outputs", name.span, "outputs = [\"0\", \"1\", \"2\"]");
            None
        }
    };
    let bos = f.expr("bos").and_then(|e| cx.string(e));
    let (alphabet, outputs) = (alphabet?, outputs?);
    let target = super::rasp::target(cx, target, &alphabet, bos, &outputs)?;
    Some(ir::Task {
        name: name.name.clone(),
        alphabet,
        kind: ir::TaskKind::Rasp { target },
        format: if format.as_deref() == Some("seq2seq") { ir::Format::Seq2seq } else { ir::Format::Tag },
        outputs,
        score_until: f.expr("score_until").and_then(|e| cx.string(e)),
        span: name.span,
    })
}

fn list(toks: &[String]) -> String {
    toks.iter().map(|t| format!("`{t}`")).collect::<Vec<_>>().join(", ")
}

/// A token list: a string of one-character tokens, or a list of strings/ints.
pub(super) fn tokens(cx: &mut Cx, e: &Expr, field: &str) -> Option<Vec<String>> {
    let r = cx.resolve(e).into_owned();
    let toks: Vec<String> = match &r.kind {
        ExprKind::Str(s) => s.chars().map(String::from).collect(),
        ExprKind::List(items) => {
            let mut out = vec![];
            for it in items {
                match &cx.resolve(it).kind {
                    ExprKind::Str(s) if !s.is_empty() => out.push(s.clone()),
                    ExprKind::Num(n) if n.int.is_some() => out.push(n.int.unwrap_or(0).to_string()),
                    ExprKind::Ident(n) => out.push(n.clone()),
                    _ => {
                        cx.wrong_type(it, "a token (a non-empty string)");
                        return None;
                    }
                }
            }
            out
        }
        _ => {
            cx.wrong_type(e, "a string of tokens like \"01\" or a list of tokens");
            return None;
        }
    };
    if toks.is_empty() {
        cx.push(
            Diag::error("algen::check::bad_range", format!("`{field}` is empty"))
                .at(e.span, "no tokens")
                .help("give at least one token, e.g. \"01\""),
        );
        return None;
    }
    for (i, t) in toks.iter().enumerate() {
        if toks[..i].contains(t) {
            cx.push(
                Diag::error("algen::check::duplicate_name", format!("token `{t}` appears twice in `{field}`"))
                    .at(e.span, "repeated token")
                    .help("each token must be listed once"),
            );
            return None;
        }
    }
    Some(toks)
}

pub(super) fn input_of(cx: &mut Cx, e: &Expr) {
    match &e.kind {
        ExprKind::Call { func, args } if func.name == "string" => {
            let ok = args.len() == 1 && matches!(&args[0].value.kind, ExprKind::Ident(a) if a == "alphabet");
            if !ok {
                cx.push(
                    Diag::error("algen::check::arity", "`string` takes the alphabet: `string(alphabet)`")
                        .at(e.span, "unexpected arguments")
                        .help("write `input = string(alphabet)`; the length comes from the split"),
                );
            }
        }
        ExprKind::Call { func, .. } | ExprKind::Record { name: func, .. } => cx.push(
            Diag::error("algen::check::unknown_function", format!("unknown input generator `{}`", func.name))
                .at(func.span, "unknown generator")
                .help(suggest(&func.name, &["string", "chomsky"])),
        ),
        _ => cx.wrong_type(e, "an input generator like `string(alphabet)`"),
    }
}

/// The output vocabulary: the declared one (checked to cover what the target
/// can emit) or the inferred one.
pub(super) fn outputs(
    cx: &mut Cx,
    target: &ir::Expr,
    ty: &Ty,
    format: ir::Format,
    alphabet: &[String],
    declared: Option<(Vec<String>, crate::source::Span)>,
) -> Option<Vec<String>> {
    let atoms = match (format, ty) {
        (ir::Format::Classify | ir::Format::Universe, Ty::Atom(a)) => a.clone(),
        (_, Ty::Seq(inner)) => match inner.as_ref() {
            Ty::Atom(a) => a.clone(),
            Ty::Seq(_) => {
                cx.push(
                    Diag::error("algen::check::target_type", "the target is a sequence of sequences")
                        .at(target.span, "nested sequence")
                        .help("targets are flat sequences of tokens; concatenate the parts with `++`"),
                );
                return None;
            }
        },
        (f, Ty::Atom(_)) => {
            cx.push(
                Diag::error(
                    "algen::check::target_type",
                    format!("a `{}` task needs a sequence target, this is a single value", f.name()),
                )
                .at(target.span, "a single value")
                .help("use `format = classify` for one label, or wrap it in a list: `[x]`"),
            );
            return None;
        }
    };
    let emitted = atoms.tokens(alphabet);
    match declared {
        Some((decl, span)) => {
            if let Ok(em) = &emitted {
                let missing: Vec<String> = em.iter().filter(|t| !decl.contains(t)).cloned().collect();
                if !missing.is_empty() {
                    cx.push(
                        Diag::error(
                            "algen::check::target_vocab",
                            format!("the target can emit {} outside `outputs`", list(&missing)),
                        )
                        .at(target.span, "can emit tokens outside the output vocabulary")
                        .label(span, "output vocabulary declared here")
                        .help(format!("add {} to `outputs`, or change the target", list(&missing))),
                    );
                    return None;
                }
            }
            Some(decl)
        }
        None => match emitted {
            Ok(em) if !em.is_empty() => Some(em),
            Ok(_) => {
                cx.push(
                    Diag::error("algen::check::target_type", "the target never emits a token")
                        .at(target.span, "always empty")
                        .help("the target must produce tokens"),
                );
                None
            }
            Err(why) => {
                cx.push(
                    Diag::error("algen::check::unbounded_output", format!("cannot infer the output vocabulary: {why}"))
                        .at(target.span, "unbounded outputs")
                        .help("declare the tokens with `outputs = [...]`, or bound the value, e.g. with `% 10`"),
                );
                None
            }
        },
    }
}
