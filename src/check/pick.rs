//! Split parts over a finite universe: `where PRED [repeat N]`, `fraction F`, `rest`.
//!
//! Predicates are target expressions that may also read `output` (the example's labelled
//! output); `input_len` and `output_len` stand for `len(input)` and `len(output)`.

use super::cx::{Cx, Fields};
use crate::diag::Diag;
use crate::ir::{self, ExprKind as IK};
use crate::source::Span;
use crate::syntax::ast::{Arg, Expr, ExprKind, Ident, Pick};

/// A checked `where`/`fraction`/`rest` part (`which` is `"train"` or `"test"`). `count` is the
/// split's explicit `count` (the most examples a final evaluation reads; all of the part when
/// absent).
pub fn pick(cx: &mut Cx, p: &Pick, which: &str, count: Option<usize>) -> Option<ir::Part> {
    let corrupt = corruption(cx, p, which)?;
    let select = match p {
        Pick::Where { pred, repeat, .. } => {
            let pred = predicate(cx, pred);
            let repeat = match repeat {
                Some(r) => Some(predicate(cx, r)?),
                None => None,
            };
            ir::Selector::Where { pred: pred?, repeat }
        }
        Pick::Fraction { fraction, .. } => ir::Selector::Fraction { fraction: share(cx, fraction)?, corrupt },
        Pick::Rest { .. } => ir::Selector::Rest,
    };
    Some(ir::Part { select, count: count.unwrap_or(usize::MAX) })
}

/// `corrupt c` (0 when absent): only on a training `fraction`, `c` in [0, 1).
fn corruption(cx: &mut Cx, p: &Pick, which: &str) -> Option<f64> {
    let Some(e) = p.corrupt() else { return Some(0.0) };
    if which != "train" || !matches!(p, Pick::Fraction { .. }) {
        cx.push(
            Diag::error("algen::check::universe_split", "only the training fraction can be corrupted")
                .at(e.span, "not allowed here")
                .help("write `train = fraction 0.5 corrupt 0.1`"),
        );
        return None;
    }
    cx.f64_in(e, 0.0, 1.0, true)
}

/// A fraction strictly between 0 and 1.
fn share(cx: &mut Cx, e: &Expr) -> Option<f64> {
    match cx.num(e) {
        Some(n) if n.value > 0.0 && n.value < 1.0 => Some(n.value),
        Some(n) => {
            cx.push(
                Diag::error(
                    "algen::check::out_of_range",
                    format!("a fraction must lie strictly between 0 and 1, not {}", n.value),
                )
                .at(e.span, "must be in (0, 1)")
                .help("e.g. `fraction 0.3` trains on 30% of the universe"),
            );
            None
        }
        None => {
            cx.wrong_type(e, "a number");
            None
        }
    }
}

/// A length part and a finite part cannot be mixed; `rest` needs the other part to select;
/// two fractions must not add up to more than the universe.
pub fn mixed(cx: &mut Cx, name: &Ident, f: &Fields, train: Option<&ir::Part>, test: Option<&ir::Part>) -> Option<()> {
    let (Some(train), Some(test)) = (train, test) else { return Some(()) };
    let span = |which: &str| f.map.get(which).map_or(name.span, |(_, v)| v.span());
    if train.is_finite() != test.is_finite() {
        let at = if train.is_finite() { span("test") } else { span("train") };
        cx.push(
            Diag::error(
                "algen::check::split_kind",
                "a split cannot mix a length range with a selection from a universe",
            )
            .at(at, "this part selects by length")
            .label(if train.is_finite() { span("train") } else { span("test") }, "this one from a universe")
            .help("use `where ...`, `fraction F` or `rest` for both parts, or `len a..=b` for both"),
        );
        return None;
    }
    if matches!(train.select, ir::Selector::Rest) && matches!(test.select, ir::Selector::Rest) {
        cx.push(
            Diag::error("algen::check::split_kind", "both parts are `rest`")
                .at(span("test"), "`rest` of what?")
                .help("`rest` is what the other part leaves: give one part a `where` or `fraction`"),
        );
        return None;
    }
    if let (ir::Selector::Fraction { fraction: a, .. }, ir::Selector::Fraction { fraction: b, .. }) =
        (&train.select, &test.select)
    {
        if a + b > 1.0 + 1e-12 {
            cx.push(
                Diag::error("algen::check::universe_split", format!("the fractions add up to {}", a + b))
                    .at(span("test"), "train and test overlap")
                    .help("train and test are disjoint shares of the universe; use `test = rest`"),
            );
            return None;
        }
    }
    Some(())
}

/// Lowers a predicate or repeat count: `output`, `input_len` and `output_len` are known here.
fn predicate(cx: &mut Cx, e: &Expr) -> Option<ir::Expr> {
    let e = desugar(e);
    let shadow = ["output", "input_len", "output_len"].iter().any(|n| cx.lets.contains_key(*n));
    if shadow {
        cx.push(
            Diag::error("algen::check::duplicate_name", "a `let` shadows `output`, `input_len` or `output_len`")
                .at(e.span, "in this predicate")
                .help("rename the `let`: split predicates read these names"),
        );
        return None;
    }
    // `output` lowers through a placeholder `let`, then becomes `IK::Output`.
    cx.lets.insert("output".into(), placeholder(e.span));
    let lowered = super::lower::lower(cx, &e);
    cx.lets.remove("output");
    lowered.map(bind_output)
}

const PLACEHOLDER: &str = "\u{0}output";

fn placeholder(span: Span) -> Expr {
    Expr { kind: ExprKind::Str(PLACEHOLDER.into()), span }
}

fn bind_output(mut e: ir::Expr) -> ir::Expr {
    visit(&mut e);
    e
}

fn visit(e: &mut ir::Expr) {
    if matches!(&e.kind, IK::Tok(t) if t == PLACEHOLDER) {
        e.kind = IK::Output;
        return;
    }
    match &mut e.kind {
        IK::List(v) | IK::Call(_, v) => v.iter_mut().for_each(visit),
        IK::Unary(_, x) => visit(x),
        IK::Binary(_, a, b) | IK::Index(a, b) => {
            visit(a);
            visit(b);
        }
        IK::If(a, b, c) => {
            visit(a);
            visit(b);
            visit(c);
        }
        IK::Slice(s, a, b, c) => {
            visit(s);
            for x in [a, b, c].into_iter().flatten() {
                visit(x);
            }
        }
        _ => {}
    }
}

/// `input_len` -> `len(input)`, `output_len` -> `len(output)`, everywhere in `e`.
fn desugar(e: &Expr) -> Expr {
    let mut e = e.clone();
    rewrite(&mut e);
    e
}

fn rewrite(e: &mut Expr) {
    let len_of = |of: &str, span: Span| ExprKind::Call {
        func: Ident { name: "len".into(), span },
        args: vec![Arg { name: None, value: Expr { kind: ExprKind::Ident(of.into()), span } }],
    };
    if let ExprKind::Ident(n) = &e.kind {
        if n == "input_len" || n == "output_len" {
            let of = if n == "input_len" { "input" } else { "output" };
            e.kind = len_of(of, e.span);
            return;
        }
    }
    match &mut e.kind {
        ExprKind::List(v) | ExprKind::Tuple(v) | ExprKind::Sweep(v) => v.iter_mut().for_each(rewrite),
        ExprKind::Call { args, .. } => args.iter_mut().for_each(|a| rewrite(&mut a.value)),
        ExprKind::Unary { operand, .. } => rewrite(operand),
        ExprKind::Binary { lhs, rhs, .. } => {
            rewrite(lhs);
            rewrite(rhs);
        }
        ExprKind::If { cond, then, els } => {
            rewrite(cond);
            rewrite(then);
            rewrite(els);
        }
        ExprKind::Index { seq, index } => {
            rewrite(seq);
            rewrite(index);
        }
        ExprKind::Slice { seq, start, stop, step } => {
            rewrite(seq);
            for x in [start, stop, step].into_iter().flatten() {
                rewrite(x);
            }
        }
        _ => {}
    }
}

/// A split over a finite universe needs a task that has one (a `(a: 0..p, ...)` input or a
/// grammar without recursion), and a universe task needs such a split.
pub fn fits(cx: &mut Cx, task: &ir::Task, split: &ir::Split, at: Span) {
    if !split.is_finite() {
        if matches!(task.kind, ir::TaskKind::Universe { .. }) {
            cx.push(
                Diag::error(
                    "algen::check::split_task",
                    format!("task `{}` is a finite universe, but split `{}` selects lengths", task.name, split.name),
                )
                .at(at, "task and split do not fit")
                .help("split a universe with `train = fraction 0.5` and `test = rest`"),
            );
        }
        return;
    }
    let why = match &task.kind {
        ir::TaskKind::Universe { .. } => return super::split_data::fits(cx, task, split, at),
        ir::TaskKind::Grammar(g) if g.finite => return super::split_data::fits(cx, task, split, at),
        ir::TaskKind::Grammar(_) => "its grammar is recursive (infinitely many sentences)",
        ir::TaskKind::Expr { .. }
        | ir::TaskKind::Rasp { .. }
        | ir::TaskKind::Arith
        | ir::TaskKind::Chomsky(_)
        | ir::TaskKind::Machine { .. } => "it draws its inputs at random",
    };
    cx.push(
        Diag::error(
            "algen::check::split_task",
            format!("split `{}` selects from a finite universe, but task `{}` has none: {why}", split.name, task.name),
        )
        .at(at, "a `where`/`fraction`/`rest` split")
        .help("use a split with length ranges (`len 1..=40`), or a task with a universe input or a finite `grammar`"),
    );
}
