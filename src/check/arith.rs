//! The arithmetic task formats: `format = addition`, `addition(index_hints = K)`,
//! `multiplication`, `multiplication(second = M)` (the layouts: [`crate::task::arith`]).
//!
//! They fix the alphabet (digits `0`–`9` and the operator), the input (two decimal operands)
//! and the target (the answer), so such a task gives only `format`. An experiment checks that
//! its split leaves enough index hints for the longest sum.

use super::cx::{Cx, Fields};
use crate::diag::{suggest, Diag};
use crate::ir;
use crate::source::Span;
use crate::syntax::ast::{Expr, ExprKind, Ident};

/// The arithmetic format names.
pub const FORMATS: &[&str] = &["addition", "multiplication"];
/// Task fields an arithmetic format fixes.
const FIXED: &[&str] = &["alphabet", "input", "target", "outputs", "score_until"];
/// Bounds of `index_hints` (hint tokens) and `second` (digits of the second factor).
const HINTS: (i64, i64) = (2, 1000);
const SECOND: (i64, i64) = (1, 16);

/// The arithmetic format `e` names, if it names one (no diagnostics).
pub fn name_of(cx: &Cx, e: &Expr) -> Option<&'static str> {
    let name = match &cx.resolve(e).kind {
        ExprKind::Ident(n) => n.clone(),
        ExprKind::Call { func, .. } => func.name.clone(),
        _ => return None,
    };
    FORMATS.iter().copied().find(|f| *f == name)
}

/// Whether `e` names no format but looks like a misspelt arithmetic one (`adition`): the task
/// then gets the unknown-format error alone, not the missing fields of the other formats.
pub fn misspelt(cx: &Cx, e: &Expr, all: &[&str]) -> bool {
    let name = match &cx.resolve(e).kind {
        ExprKind::Ident(n) => n.clone(),
        ExprKind::Call { func, .. } => func.name.clone(),
        _ => return false,
    };
    !all.contains(&name.as_str())
        && crate::diag::did_you_mean(&name, all.iter().copied()).is_some_and(|m| FORMATS.contains(&m))
}

/// `addition[(index_hints = K)]` or `multiplication[(second = M)]` as an IR format.
pub fn format(cx: &mut Cx, e: &Expr, name: &str) -> Option<ir::Format> {
    let params: &[&str] = if name == "addition" { &["index_hints"] } else { &["second"] };
    let (mut hints, mut second) = (None, 2);
    let r = cx.resolve(e).into_owned();
    let ExprKind::Call { args, .. } = &r.kind else {
        return Some(build(name, hints, second));
    };
    let mut ok = true;
    for (i, a) in args.iter().enumerate() {
        let Some(p) = a.name.as_ref().map(|n| n.name.as_str()).or(params.get(i).copied()) else {
            cx.push(
                Diag::error("algen::check::arity", format!("`{name}` takes one parameter, `{}`", params[0]))
                    .at(a.value.span, "extra argument")
                    .help(format!("write `{name}({} = ...)`", params[0])),
            );
            ok = false;
            continue;
        };
        match p {
            "index_hints" if name == "addition" => match hint_count(cx, &a.value) {
                Some(k) => hints = Some(k),
                None => ok = false,
            },
            "second" if name == "multiplication" => match cx.int_in(&a.value, SECOND.0, SECOND.1) {
                Some(m) => second = m as usize,
                None => ok = false,
            },
            other => {
                let at = a.name.as_ref().map_or(a.value.span, |n| n.span);
                cx.push(
                    Diag::error("algen::check::unknown_field", format!("`{name}` has no parameter `{other}`"))
                        .at(at, "unknown parameter")
                        .help(suggest(other, params)),
                );
                ok = false;
            }
        }
    }
    ok.then(|| build(name, hints, second))
}

fn build(name: &str, index_hints: Option<usize>, second: usize) -> ir::Format {
    if name == "addition" {
        ir::Format::Addition { index_hints }
    } else {
        ir::Format::Multiplication { second }
    }
}

/// `index_hints = K`: the number of hint tokens.
fn hint_count(cx: &mut Cx, e: &Expr) -> Option<usize> {
    if cx.num(e).and_then(|n| n.int).is_none() {
        cx.wrong_type(e, "a number of hint tokens like `32`");
        return None;
    }
    cx.int_in(e, HINTS.0, HINTS.1).map(|k| k as usize)
}

/// The IR of a task with an arithmetic format; the fields the format fixes are errors.
pub fn task(cx: &mut Cx, name: &Ident, f: &Fields, format: Option<ir::Format>) -> Option<ir::Task> {
    let mut ok = true;
    for field in FIXED {
        if let Some((id, _)) = f.map.get(field) {
            let (fmt, op) = format.map_or(("addition", "+"), |x| (x.name(), x.operator().unwrap_or("+")));
            cx.push(
                Diag::error("algen::check::fixed_by_format", format!("`format = {fmt}` fixes `{field}`"))
                    .at(id.span, "not allowed with this format")
                    .help(format!(
                        "remove `{field}`: the format draws two decimal operands (digits 0-9 and `{op}`) \
                         and computes the answer"
                    )),
            );
            ok = false;
        }
    }
    let format = format.filter(|_| ok)?;
    let digits: Vec<String> = (0..10).map(|d| d.to_string()).collect();
    let mut alphabet = digits.clone();
    alphabet.push(format.operator()?.to_string());
    Some(ir::Task {
        name: name.name.clone(),
        alphabet,
        kind: ir::TaskKind::Arith,
        format,
        outputs: digits,
        score_until: None,
        span: name.span,
    })
}

/// With index hints, an experiment's split must leave one hint per digit of its longest sum
/// (longest length + 1; split lengths start at 1). `at` is the experiment's `split = ...`.
pub fn fits(cx: &mut Cx, task: &ir::Task, split: &ir::Split, at: Span) {
    let ir::Format::Addition { index_hints: Some(k) } = task.format else { return };
    let longest = split.train.lengths().iter().chain(split.test.lengths()).copied().max().unwrap_or(0);
    if longest < k {
        return;
    }
    cx.push(
        Diag::error(
            "algen::check::format_split",
            format!(
                "{k} index hints mark {k} digit positions, but split `{}` reaches {longest}-digit operands, \
                 whose sums have {} digits",
                split.name,
                longest + 1
            ),
        )
        .at(at, "too few index hints for this split")
        .help(format!(
            "use `format = addition(index_hints = {})` or more in task `{}`",
            longest + 1,
            task.name
        )),
    );
}
