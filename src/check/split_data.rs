//! A `where` split against its task (issue 16, item 15): every token literal in a predicate
//! must be a token of the task (a two-word string such as `"around right"` is one token,
//! and matching it could never hold), and neither part may select nothing. Runs the split on
//! the task's enumerated universe, as a run does (seed 0: only `fraction` parts depend on
//! the seed, and their sizes do not).

use super::cx::Cx;
use crate::diag::{suggest, Diag};
use crate::ir::{self, ExprKind as IK};
use crate::source::Span;

/// Checks `split` against `task` (both over a finite universe).
pub fn fits(cx: &mut Cx, task: &ir::Task, split: &ir::Split, at: Span) {
    let vocab: Vec<&str> = task.alphabet.iter().chain(&task.outputs).map(String::as_str).collect();
    let mut unknown = 0;
    for part in [&split.train, &split.test] {
        if let ir::Selector::Where { pred, repeat } = &part.select {
            for e in std::iter::once(pred).chain(repeat) {
                unknown += literals(cx, e, &vocab, &task.name);
            }
        }
    }
    if unknown > 0 {
        return;
    }
    match crate::task::split_universe(task, split, 0) {
        Ok(p) if p.train.is_empty() || p.test.is_empty() => {
            let which = if p.train.is_empty() { "train" } else { "test" };
            cx.push(
                Diag::error(
                    "algen::check::split_empty",
                    format!("the {which} part of split `{}` selects no example", split.name),
                )
                .at(at, format!("train gets {}, test gets {} of {} examples", p.train.len(), p.test.len(), p.total))
                .label(split.span, "split defined here")
                .help(format!(
                    "change the predicates or fractions of `{}` so that both parts select examples \
                     (a fraction keeps round(f × the universe's size) examples)",
                    split.name
                )),
            );
        }
        Ok(_) => {}
        Err(e) => cx.push(
            Diag::error(
                "algen::check::split_eval",
                format!("split `{}` fails on task `{}`: {e}", split.name, task.name),
            )
            .at(at, "the split's predicate fails")
            .help("a `where` predicate must give true or false (and `repeat` a count) on every example"),
        ),
    }
}

/// Reports every token literal of `e` that is not in `vocab`; how many.
fn literals(cx: &mut Cx, e: &ir::Expr, vocab: &[&str], task: &str) -> usize {
    let mut n = 0;
    if let IK::Tok(t) = &e.kind {
        if !vocab.contains(&t.as_str()) {
            let words = t.split_whitespace().count();
            let help = if words > 1 {
                let list: Vec<String> = t.split_whitespace().map(|w| format!("{w:?}")).collect();
                format!("a string is one token; for words in a row write `[{}]`", list.join(", "))
            } else {
                suggest(t, vocab)
            };
            cx.push(
                Diag::error("algen::check::unknown_token", format!("`{t}` is not a token of task `{task}`"))
                    .at(e.span, "no example holds this token")
                    .help(help),
            );
            n += 1;
        }
    }
    let mut sub = |x: &ir::Expr| n += literals(cx, x, vocab, task);
    match &e.kind {
        IK::List(v) | IK::Call(_, v) => v.iter().for_each(&mut sub),
        IK::Unary(_, x) => sub(x),
        IK::Binary(_, a, b) | IK::Index(a, b) => {
            sub(a);
            sub(b);
        }
        IK::If(a, b, c) => {
            sub(a);
            sub(b);
            sub(c);
        }
        IK::Slice(s, a, b, c) => {
            sub(s);
            [a, b, c].into_iter().flatten().for_each(|x| sub(x));
        }
        _ => {}
    }
    n
}
