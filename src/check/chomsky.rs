//! Builtin tasks of the Chomsky-hierarchy benchmark: `input = chomsky(NAME)`.
//!
//! The builtin draws and labels its examples ([`crate::task::chomsky`]), so a task with it has
//! no `target`. `alphabet`, `outputs`, `format` and `score_until` may be left out (the builtin's
//! own, [`ir::Chomsky`]) or written down to name the tokens: then the alphabet and the outputs
//! must have the builtin's sizes (ids are positions), the format must be the builtin's and
//! `score_until` must name its end token.

use super::cx::{Cx, Fields};
use crate::diag::{suggest, Diag};
use crate::ir::{self, Chomsky};
use crate::source::Span;
use crate::syntax::ast::{Expr, ExprKind, Ident};

/// Whether `e` is a `chomsky(...)` call (no diagnostics).
pub fn is_builtin(cx: &Cx, e: &Expr) -> bool {
    matches!(&cx.resolve(e).kind, ExprKind::Call { func, .. } if func.name == "chomsky")
}

/// The task named by `chomsky(NAME)`.
fn builtin(cx: &mut Cx, e: &Expr) -> Option<Chomsky> {
    let r = cx.resolve(e).into_owned();
    let ExprKind::Call { args, .. } = &r.kind else { return None };
    let names: Vec<&str> = Chomsky::ALL.iter().map(|c| c.name()).collect();
    let arg = match &args[..] {
        [a] if a.name.is_none() => &a.value,
        _ => {
            cx.push(
                Diag::error("algen::check::arity", "`chomsky` takes the name of one builtin task")
                    .at(r.span, "expected one task name")
                    .help(format!("write e.g. `input = chomsky({})`", names[0])),
            );
            return None;
        }
    };
    let ExprKind::Ident(name) = &arg.kind else {
        cx.wrong_type(arg, "the name of a builtin task");
        return None;
    };
    let found = Chomsky::lookup(name);
    if found.is_none() {
        cx.push(
            Diag::error("algen::check::unknown_builtin", format!("unknown builtin task `{name}`"))
                .at(arg.span, "not a builtin task")
                .help(format!(
                    "{} (the benchmark's uniform-string tasks are target expressions: see specs/lib/chomsky.alg)",
                    suggest(name, &names)
                )),
        );
    }
    found
}

/// The IR of a task with `input = chomsky(NAME)`.
pub fn task(cx: &mut Cx, name: &Ident, f: &Fields, input: &Expr) -> Option<ir::Task> {
    let kind = builtin(cx, input);
    let mut ok = kind.is_some();
    for field in ["target", "bos"] {
        if let Some((id, _)) = f.map.get(field) {
            cx.push(
                Diag::error("algen::check::fixed_by_builtin", format!("a builtin task has no `{field}`"))
                    .at(id.span, "not allowed with `input = chomsky(...)`")
                    .help(format!("remove `{field}`: the builtin task labels its examples itself")),
            );
            ok = false;
        }
    }
    let kind = kind?;
    let alphabet = tokens(cx, f, "alphabet", kind.alphabet(), kind);
    let outputs = tokens(cx, f, "outputs", kind.outputs(), kind);
    let mut format = kind.format();
    if let Some(e) = f.expr("format") {
        let given = cx.word(e, "format", &["transduce", "classify", "seq2seq"], "algen::check::unknown_value");
        if given.as_deref() == Some("seq2seq") {
            format = ir::Format::Seq2seq; // the builtin's examples, read by an encoder–decoder
        } else if given.as_deref().is_some_and(|g| g != format.name()) {
            mismatch(cx, e.span, kind, format!("`format = {}`", format.name()));
            ok = false;
        }
        ok &= given.is_some();
    }
    let (alphabet, outputs) = (alphabet?, outputs?);
    let end = kind.end_token().map(|i| outputs[i as usize].clone());
    let score_until = match f.expr("score_until") {
        None => end,
        Some(e) => {
            let given = cx.string(e);
            if given.is_some() && given != end {
                let want = end.as_ref().map_or("no `score_until` (it has no end token)".into(), |t| {
                    format!("`score_until = \"{t}\"` (its end token, output id 2)")
                });
                mismatch(cx, e.span, kind, want);
                ok = false;
            }
            given
        }
    };
    ok.then(|| ir::Task {
        name: name.name.clone(),
        alphabet,
        kind: ir::TaskKind::Chomsky(kind),
        format,
        outputs,
        score_until,
        span: name.span,
    })
}

/// `alphabet` or `outputs`: the declared tokens (the builtin's count) or the builtin's own.
fn tokens(cx: &mut Cx, f: &Fields, field: &str, own: &[&str], kind: Chomsky) -> Option<Vec<String>> {
    let Some(e) = f.expr(field) else {
        return Some(own.iter().map(|t| t.to_string()).collect());
    };
    let toks = super::task::tokens(cx, e, field)?;
    if toks.len() != own.len() {
        let listed = own.iter().map(|t| format!("\"{t}\"")).collect::<Vec<_>>().join(", ");
        mismatch(cx, e.span, kind, format!("{} {field} tokens, one per id: [{listed}]", own.len()));
        return None;
    }
    Some(toks)
}

fn mismatch(cx: &mut Cx, at: Span, kind: Chomsky, want: String) {
    cx.push(
        Diag::error("algen::check::fixed_by_builtin", format!("this does not fit the builtin task `{}`", kind.name()))
            .at(at, "disagrees with the builtin task")
            .help(format!("`{}` needs {want}", kind.name())),
    );
}
