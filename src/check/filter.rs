//! Training settings for long runs: `batch = full` (finite universes only),
//! `grad_filter = grokfast_ema(alpha, lamb) | grokfast_ma(window, lamb)` (Lee et al. 2024)
//! and `checkpoint_every = N`.

use super::cx::Cx;
use crate::diag::{suggest, Diag};
use crate::ir::{self, defaults};
use crate::source::Span;
use crate::syntax::ast::{Expr, ExprKind};
use std::collections::BTreeMap;

/// `batch = N` or `batch = full`: `(batch, full)`.
pub fn batch(cx: &mut Cx, e: Option<&Expr>) -> Option<(usize, bool)> {
    let Some(e) = e else { return Some((defaults::BATCH, false)) };
    if matches!(&cx.resolve(e).kind, ExprKind::Ident(n) if n == "full") {
        return Some((defaults::BATCH, true));
    }
    if let ExprKind::Ident(n) = &cx.resolve(e).kind {
        cx.push(
            Diag::error("algen::check::unknown_value", format!("unknown batch size `{n}`"))
                .at(e.span, "not a batch size")
                .help(format!("write a number of examples or `full`; {}", suggest(n, &["full"]))),
        );
        return None;
    }
    cx.int_in(e, 1, 1 << 20).map(|b| (b as usize, false))
}

/// `grad_filter = grokfast_ema(alpha = 0.98, lamb = 2.0)` or `grokfast_ma(window = 100, lamb = 5.0)`.
pub fn grad_filter(cx: &mut Cx, e: &Expr) -> Option<ir::GradFilter> {
    if matches!(&cx.resolve(e).kind, ExprKind::Ident(n) if n == "none") {
        return None;
    }
    let ema = cx.choice(
        e,
        "gradient filter",
        &[("grokfast_ema", true), ("grokfast_ma", false)],
        "algen::check::unknown_value",
    )?;
    let name = if ema { "grokfast_ema" } else { "grokfast_ma" };
    let r = cx.resolve(e).into_owned();
    let args = if let ExprKind::Call { args, .. } = &r.kind { args.clone() } else { vec![] };
    let params: &[&str] = if ema { &["alpha", "lamb"] } else { &["window", "lamb"] };
    let (mut alpha, mut window) = (defaults::GROKFAST_ALPHA, defaults::GROKFAST_WINDOW);
    let mut lamb = if ema { defaults::GROKFAST_EMA_LAMB } else { defaults::GROKFAST_MA_LAMB };
    for (i, a) in args.iter().enumerate() {
        let pname =
            a.name.as_ref().map(|n| n.name.clone()).unwrap_or_else(|| params.get(i).unwrap_or(&"?").to_string());
        match pname.as_str() {
            "alpha" if ema => alpha = cx.f64_in(&a.value, 0.0, 1.0, true)?,
            "window" if !ema => window = cx.int_in(&a.value, 1, 1 << 16)? as usize,
            "lamb" => lamb = cx.f64_in(&a.value, 0.0, f64::INFINITY, false)?,
            other => {
                let at = a.name.as_ref().map(|n| n.span).unwrap_or(a.value.span);
                cx.push(
                    Diag::error("algen::check::unknown_field", format!("`{name}` has no parameter `{other}`"))
                        .at(at, "unknown parameter")
                        .help(suggest(other, params)),
                );
                return None;
            }
        }
    }
    Some(if ema { ir::GradFilter::GrokfastEma { alpha, lamb } } else { ir::GradFilter::GrokfastMa { window, lamb } })
}

/// `batch = full` and `batching = epochs` need a task with a universe input: only it has a
/// fixed training set to batch in full or in epochs. Elsewhere they are an error, not
/// silently ignored. (`grad_filter` and `checkpoint_every` apply to every task.)
pub fn fits(cx: &mut Cx, task: &ir::Task, variants: &[ir::Variant], fields: &BTreeMap<String, Expr>, at: Span) {
    if matches!(task.kind, ir::TaskKind::Universe { .. }) {
        return;
    }
    let used = [
        ("batch", variants.iter().any(|v| v.train.full_batch)),
        ("batching", variants.iter().any(|v| v.train.batching == ir::Batching::Epochs)),
    ];
    for (key, on) in used {
        if on {
            let span = fields.get(key).map_or(at, |e| e.span);
            let what = match key {
                "batch" => "`batch = full`".to_string(),
                "batching" => "`batching = epochs`".to_string(),
                _ => format!("`{key}`"),
            };
            cx.push(
                Diag::error(
                    "algen::check::universe_only",
                    format!("{what} applies to tasks over a finite universe; task `{}` has none", task.name),
                )
                .at(span, "not supported for this task")
                .help("give the task a universe input (`input = (a: 0..p, b: 0..p)`), or remove the setting"),
            );
        }
    }
}
