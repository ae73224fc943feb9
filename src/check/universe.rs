//! Finite universes (Power et al. 2022): a task whose `input` is `(a: 0..p, b: 0..p) where
//! b != 0`, laid out by `format = [a, "+", b, "="]`; the split parts `fraction f [corrupt c]`
//! and `rest`; and whether a task and a split fit each other.

use super::cx::{Cx, Fields};
use super::infer::{self, Ty};
use super::lower::lower;
use super::task::outputs;
use crate::diag::{suggest, Diag};
use crate::ir;
use crate::syntax::ast::{Expr, ExprKind, Ident, Universe};

/// The most tuples a universe may hold before filtering (it is enumerated in memory).
pub const MAX_UNIVERSE: u64 = 1 << 24;

/// A task over a finite universe: `input` is `u`; `format` is the layout list.
pub fn task(cx: &mut Cx, name: &Ident, f: &Fields, u: &Universe) -> Option<ir::Task> {
    let vars = variables(cx, u);
    if f.expr("alphabet").is_some() {
        let e = f.expr("alphabet").expect("present");
        cx.push(
            Diag::error("algen::check::unknown_field", "a task over a universe has no `alphabet`")
                .at(e.span, "not used")
                .help("the tokens are the variables' values and the format's literals; remove `alphabet`"),
        );
    }
    let vars = vars?;
    let names: Vec<String> = vars.iter().map(|v| v.name.clone()).collect();
    let saved = std::mem::replace(&mut cx.vars, names.clone());
    let filter = u.filter.as_ref().map(|e| lower(cx, e).ok_or(()));
    let target = match f.expr("target") {
        Some(e) => lower(cx, e),
        None => {
            cx.missing("a task", "target", name.span, "target = (a + b) % 97");
            None
        }
    };
    cx.vars = saved;
    let layout = match f.expr("format") {
        Some(e) => layout(cx, e, &names),
        None => {
            cx.missing("a task", "format", name.span, "format = [a, \"+\", b, \"=\"]");
            None
        }
    };
    let (lo, hi) = vars.iter().fold((i64::MAX, i64::MIN), |(l, h), v| (l.min(v.lo), h.max(v.hi)));
    let filter = match filter {
        Some(Ok(e)) => {
            let ty = infer::infer_vars(cx, &e, lo, hi)?;
            if !matches!(&ty, Ty::Atom(a) if a.bools && a.toks.is_empty() && a.ints.is_none()) {
                cx.push(
                    Diag::error("algen::check::target_type", "the `where` filter must be a condition")
                        .at(e.span, "not a boolean")
                        .help("write a comparison such as `b != 0` or `a < b and b % 2 == 1`"),
                );
                return None;
            }
            Some(e)
        }
        Some(Err(())) => return None,
        None => None,
    };
    let (target, layout) = (target?, layout?);
    let alphabet = alphabet(&vars, &layout);
    let ty = infer::infer_vars(cx, &target, lo, hi)?;
    let declared = f.expr("outputs").and_then(|e| super::task::tokens(cx, e, "outputs").map(|t| (t, e.span)));
    let outputs = outputs(cx, &target, &ty, ir::Format::Universe, &alphabet, declared)?;
    let universe = ir::Universe { vars, filter, layout };
    super::probe::universe_target(cx, &target, &universe)?;
    Some(ir::Task {
        name: name.name.clone(),
        alphabet,
        kind: ir::TaskKind::Universe { universe, target },
        format: ir::Format::Universe,
        outputs,
        score_until: None,
        span: name.span,
    })
}

/// The ranged variables, each range non-empty; the universe not too large.
fn variables(cx: &mut Cx, u: &Universe) -> Option<Vec<ir::UniverseVar>> {
    let mut out: Vec<ir::UniverseVar> = vec![];
    let mut ok = true;
    for v in &u.vars {
        if let Some(prev) = u.vars.iter().take_while(|w| !std::ptr::eq(*w, v)).find(|w| w.name.name == v.name.name) {
            cx.push(
                Diag::error("algen::check::duplicate_name", format!("variable `{}` is defined twice", v.name.name))
                    .at(v.name.span, "defined again here")
                    .label(prev.name.span, "first defined here")
                    .help("give each variable its own name"),
            );
            ok = false;
            continue;
        }
        if v.name.name == "input" || cx.lets.contains_key(&v.name.name) {
            cx.push(
                Diag::error("algen::check::duplicate_name", format!("variable `{}` hides another name", v.name.name))
                    .at(v.name.span, "already a name")
                    .help("`input` and the `let` constants cannot be universe variables; rename it"),
            );
            ok = false;
            continue;
        }
        let r = &v.range;
        let (lo, hi) = (cx.num(&r.lo).and_then(|n| n.int), cx.num(&r.hi).and_then(|n| n.int));
        let (Some(lo), Some(hi)) = (lo, hi) else {
            for e in [&r.lo, &r.hi] {
                if cx.num(e).and_then(|n| n.int).is_none() {
                    cx.wrong_type(e, "an integer bound");
                }
            }
            ok = false;
            continue;
        };
        let end = hi;
        let hi = if r.inclusive { hi } else { hi.saturating_sub(1) };
        if hi < lo {
            let shown = if r.inclusive { format!("{lo}..={hi}") } else { format!("{lo}..{end}") };
            cx.push(
                Diag::error("algen::check::empty_universe", format!("variable `{}` ranges over nothing", v.name.name))
                    .at(r.span, format!("`{shown}` is empty"))
                    .help("a universe variable needs a range like `0..97` (end excluded) or `1..=96`"),
            );
            ok = false;
            continue;
        }
        out.push(ir::UniverseVar { name: v.name.name.clone(), lo, hi });
    }
    // Exact in u128 (each width is below 2^64, and a product past 2^64 stops growing).
    let size = out.iter().fold(1u128, |n, v| n.saturating_mul((v.hi as i128 - v.lo as i128 + 1) as u128).min(1 << 64));
    if ok && size > MAX_UNIVERSE as u128 {
        let shown = if size >= 1 << 64 { "more than 2^64".to_string() } else { size.to_string() };
        cx.push(
            Diag::error("algen::check::universe_size", format!("the universe holds {shown} tuples"))
                .at(u.span, "too large to enumerate")
                .help(format!("a universe may hold at most {MAX_UNIVERSE} tuples; narrow the ranges")),
        );
        ok = false;
    }
    ok.then_some(out)
}

/// `format = [a, "+", b, "="]`: variables (by name) and literal tokens; every variable once.
fn layout(cx: &mut Cx, e: &Expr, vars: &[String]) -> Option<Vec<ir::Slot>> {
    let r = cx.resolve(e).into_owned();
    let ExprKind::List(items) = &r.kind else {
        cx.push(
            Diag::error("algen::check::wrong_type", format!("expected a layout list, found {}", r.kind.describe()))
                .at(e.span, "not a layout")
                .help("a universe task's format lists its tokens: `format = [a, \"+\", b, \"=\"]`"),
        );
        return None;
    };
    let mut slots = vec![];
    for it in items {
        let slot = match &it.kind {
            ExprKind::Ident(n) => match vars.iter().position(|v| v == n) {
                Some(i) => ir::Slot::Var(i),
                None => {
                    let names: Vec<&str> = vars.iter().map(String::as_str).collect();
                    cx.push(
                        Diag::error("algen::check::unknown_name", format!("unknown variable `{n}` in the format"))
                            .at(it.span, "not a universe variable")
                            .help(suggest(n, &names)),
                    );
                    return None;
                }
            },
            ExprKind::Str(s) if !s.is_empty() => ir::Slot::Tok(s.clone()),
            _ => {
                cx.wrong_type(it, "a variable or a token string");
                return None;
            }
        };
        slots.push(slot);
    }
    for (i, v) in vars.iter().enumerate() {
        if !slots.contains(&ir::Slot::Var(i)) {
            cx.push(
                Diag::error("algen::check::universe_format", format!("variable `{v}` is missing from the format"))
                    .at(e.span, format!("`{v}` not shown to the model"))
                    .help(format!("list every variable once, e.g. `[{}, \"=\"]`", vars.join(", \"∘\", "))),
            );
            return None;
        }
    }
    Some(slots)
}

/// The input tokens: every variable value (ascending), then the format's literals.
fn alphabet(vars: &[ir::UniverseVar], layout: &[ir::Slot]) -> Vec<String> {
    let mut values: Vec<i64> = vars.iter().flat_map(|v| v.lo..=v.hi).collect();
    values.sort_unstable();
    values.dedup();
    let mut out: Vec<String> = values.iter().map(|v| v.to_string()).collect();
    for s in layout {
        if let ir::Slot::Tok(t) = s {
            if !out.contains(t) {
                out.push(t.clone());
            }
        }
    }
    out
}
