//! RASP items and targets: `rasp NAME { ... }` / `rasp NAME = "file.rasp";`
//! are compiled by [`crate::rasp::compile`] (its diagnostics point inside the
//! block or file); a task with `target = rasp NAME.sop` is an encoder `tag`
//! task whose outputs are the s-op's values, written as Python's `str` does.

use super::cx::Cx;
use crate::diag::{suggest, Diag};
use crate::ir;
use crate::rasp::{self, Program};
use crate::source::Span;
use crate::syntax::ast::{Expr, ExprKind, Ident, Item, RaspSource};
use std::sync::Arc;

/// A compiled `rasp` item (`None` when it failed: already reported).
pub struct RaspDef {
    pub program: Option<Program>,
    pub text: String,
}

/// Compiles every `rasp` item into `cx.rasps`.
pub fn items(cx: &mut Cx, items: &[&Item]) {
    for it in items {
        let Item::Rasp { name, source, .. } = it else { continue };
        if cx.rasps.contains_key(&name.name) {
            continue;
        }
        let (file, text, offset) = match source {
            RaspSource::Inline { text, span } => (span.file, text.clone(), span.start),
            RaspSource::File { loaded: Some((file, text)), .. } => (*file, text.clone(), 0),
            RaspSource::File { loaded: None, .. } => {
                cx.rasps.insert(name.name.clone(), RaspDef { program: None, text: String::new() });
                continue;
            }
        };
        let program = match rasp::compile(file, &text, offset, Arc::from(text.as_str())) {
            Ok(p) => Some(p),
            Err(diags) => {
                cx.diags.extend(diags);
                None
            }
        };
        cx.rasps.insert(name.name.clone(), RaspDef { program, text });
    }
}

/// Whether a task's target is `rasp NAME.sop`.
pub fn is_rasp_target(cx: &Cx, e: &Expr) -> bool {
    matches!(cx.resolve(e).kind, ExprKind::Rasp { .. })
}

/// The RASP target `rasp program.sop` with its tokens checked on short inputs.
pub fn target(cx: &mut Cx, e: &Expr, alphabet: &[String], bos: Option<String>, outputs: &[String]) -> Option<ir::Expr> {
    let r = cx.resolve(e).into_owned();
    let ExprKind::Rasp { program, sop } = &r.kind else { return None };
    let def = lookup(cx, program)?;
    let p = def.program.as_ref()?;
    let mut ev = match p.evaluator(&sop.name, Some(sop.span)) {
        Ok(ev) => ev,
        Err(d) => {
            cx.push(d);
            return None;
        }
    };
    let t = ir::RaspTarget { program: program.name.clone(), sop: sop.name.clone(), text: def.text.clone(), bos };
    probe(cx, &mut ev, &t, alphabet, outputs, r.span);
    Some(ir::Expr { kind: ir::ExprKind::Rasp(Box::new(t)), span: r.span })
}

fn lookup<'c>(cx: &'c mut Cx, program: &Ident) -> Option<&'c RaspDef> {
    if !cx.rasps.contains_key(&program.name) {
        let names: Vec<&str> = cx.rasps.keys().map(String::as_str).collect();
        let help = suggest(&program.name, &names);
        cx.push(
            Diag::error("algen::check::unknown_name", format!("no RASP program `{}`", program.name))
                .at(program.span, "not a `rasp` item")
                .help(help),
        );
        return None;
    }
    cx.rasps.get(&program.name)
}

/// Runs the target on every input of length 1 to 3 (up to 200 inputs): an
/// input that fails, or a value outside `outputs`, is an error now rather
/// than in the middle of a run.
fn probe(
    cx: &mut Cx,
    ev: &mut rasp::Evaluator,
    t: &ir::RaspTarget,
    alphabet: &[String],
    outputs: &[String],
    span: Span,
) {
    let mut inputs: Vec<Vec<usize>> = vec![vec![]];
    let mut tried = 0;
    for _len in 1..=3 {
        inputs = inputs.iter().flat_map(|p| (0..alphabet.len()).map(move |a| [p.clone(), vec![a]].concat())).collect();
        for input in &inputs {
            if tried >= 200 {
                return;
            }
            tried += 1;
            let tokens: Vec<&str> = input.iter().map(|&i| alphabet[i].as_str()).collect();
            match rasp::label(ev, t, &tokens) {
                Ok(values) => {
                    if let Some(v) = values.iter().find(|v| !outputs.contains(v)) {
                        cx.push(
                            Diag::error(
                                "algen::check::target_vocab",
                                format!("the RASP target emits `{v}`, which is not in `outputs`"),
                            )
                            .at(span, format!("on input `{}`", tokens.concat()))
                            .help(format!(
                                "add \"{v}\" to `outputs` (values are written as Python's str() writes them)"
                            )),
                        );
                        return;
                    }
                }
                Err(m) => {
                    cx.push(
                        Diag::error(
                            "algen::check::target_type",
                            format!("the RASP target fails on input `{}`: {m}", tokens.concat()),
                        )
                        .at(span, "fails on a short input")
                        .help("fix the program, or the alphabet and `bos`"),
                    );
                    return;
                }
            }
        }
    }
}
