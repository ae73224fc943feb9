//! Experiments: references to a task, a model and a split; training and
//! evaluation blocks; sweeps expanded into variants; `expect` lines.

use super::cx::Cx;
use super::model::{self, show, ModelDef};
use crate::diag::{suggest, Diag};
use crate::ir::{self, defaults};
use crate::syntax::ast::{self, Body, Expr, ExprKind, Ident};
use std::collections::BTreeMap;

pub(super) const FIELDS: &[&str] = &["task", "model", "split", "note"];
const BLOCKS: &[&str] = &["train", "eval"];
pub(super) const TRAIN_FIELDS: &[&str] = &[
    "steps",
    "batch",
    "optimizer",
    "schedule",
    "clip",
    "seeds",
    "mixed_lengths",
    "grad_filter",
    "checkpoint_every",
    "batching",
];
pub(super) const EVAL_FIELDS: &[&str] = &["every", "metrics", "count", "batch", "reduce", "grok_threshold"];

/// What an experiment may refer to.
pub struct Scope<'a> {
    pub tasks: &'a BTreeMap<String, ir::Task>,
    pub splits: &'a BTreeMap<String, ir::Split>,
    pub models: &'a BTreeMap<String, ModelDef>,
    /// Names of tasks/splits that exist but failed to check (no second error for them).
    pub broken: &'a [String],
}

pub fn experiment(cx: &mut Cx, name: &Ident, body: &Body, scope: &Scope) -> Option<ir::Experiment> {
    let f = cx.fields("an experiment", body, FIELDS, BLOCKS, true);
    let task = reference(cx, f.expr("task"), "task", name, scope.tasks, scope.broken);
    let split = reference(cx, f.expr("split"), "split", name, scope.splits, scope.broken);
    let mdefs = match f.expr("model") {
        Some(e) => models(cx, e, scope),
        None => {
            cx.missing("an experiment", "model", name.span, "model = small");
            None
        }
    };
    let empty = Body { entries: vec![], span: name.span };
    let train_body = f.blocks.get("train").map(|(_, b)| *b).unwrap_or(&empty);
    let eval_body = f.blocks.get("eval").map(|(_, b)| *b).unwrap_or(&empty);
    let tf = cx.fields("`train`", train_body, TRAIN_FIELDS, &[], false);
    let train_fields: BTreeMap<String, Expr> =
        tf.map.iter().filter_map(|(k, _)| tf.expr(k).map(|e| (k.to_string(), e.clone()))).collect();
    let seeds = super::seeds::seeds(cx, train_fields.get("seeds"));
    let eval = eval(cx, eval_body);
    let note = f.expr("note").map(|e| cx.string(e)); // Some(None): not a string (reported)
    let expects: Vec<ir::Expect> =
        body.entries.iter().filter_map(|e| if let ast::Entry::Expect(x) = e { expect(cx, x) } else { None }).collect();
    // The model's overrides and the training settings are checked even when the task or
    // the split is unknown (a typo there must not hide one here).
    let variants = match (&mdefs, &seeds) {
        (Some(mdefs), Some(seeds)) => all_variants(cx, mdefs, &train_fields, seeds),
        _ => None,
    };
    let (task, split, variants, eval) = (task?, split?, variants?, eval?);
    let note = match note {
        Some(n) => Some(n?),
        None => None,
    };
    let mut variants = variants;
    for v in &mut variants {
        super::fits::compatible(cx, task, split, v, f.expr("model").map(|e| e.span).unwrap_or(name.span));
    }
    super::arith::fits(cx, task, split, f.expr("split").map_or(name.span, |e| e.span));
    super::pick::fits(cx, task, split, f.expr("split").map_or(name.span, |e| e.span));
    super::filter::fits(cx, task, &variants, &train_fields, name.span);
    Some(ir::Experiment {
        name: name.name.clone(),
        task: task.name.clone(),
        split: split.name.clone(),
        variants,
        eval,
        expects,
        note,
        span: name.span,
    })
}

/// Every variant of every model of the experiment, labelled.
fn all_variants(
    cx: &mut Cx,
    mdefs: &[(Option<String>, ModelDef)],
    train_fields: &BTreeMap<String, Expr>,
    seeds: &[u64],
) -> Option<Vec<ir::Variant>> {
    let mut variants = vec![];
    let mut ok = true;
    for (label, mdef) in mdefs {
        // Every model of a sweep is checked, so a mistake in one does not hide the next's.
        let Some(mut vs) = self::variants(cx, mdef, train_fields, seeds) else {
            ok = false;
            continue;
        };
        if let Some(m) = label {
            for v in &mut vs {
                v.label = if v.label == "base" { format!("model={m}") } else { format!("model={m}, {}", v.label) };
            }
        }
        variants.extend(vs);
    }
    ok.then_some(variants)
}

/// The experiment's model, or each model of `model = sweep [a, b { overrides }, ...]` with its
/// label (`model=a`); variants of a swept model are labelled `model=a, field=value`.
fn models(cx: &mut Cx, e: &Expr, scope: &Scope) -> Option<Vec<(Option<String>, ModelDef)>> {
    let ExprKind::Sweep(items) = &e.kind else {
        return model::def(cx, e, scope.models, scope.broken, true).map(|m| vec![(None, m)]);
    };
    if items.is_empty() {
        cx.push(
            Diag::error("algen::check::bad_range", "the sweep over `model` is empty")
                .at(e.span, "no models")
                .help("list at least one model"),
        );
        return None;
    }
    let defs: Vec<Option<ModelDef>> =
        items.iter().map(|it| model::def(cx, it, scope.models, scope.broken, true)).collect();
    let defs: Vec<ModelDef> = defs.into_iter().collect::<Option<_>>()?;
    Some(defs.into_iter().map(|m| (Some(m.base.clone()), m)).collect())
}

fn reference<'s, T>(
    cx: &mut Cx,
    e: Option<&Expr>,
    kind: &str,
    item: &Ident,
    map: &'s BTreeMap<String, T>,
    broken: &[String],
) -> Option<&'s T> {
    let Some(e) = e else {
        cx.missing("an experiment", kind, item.span, &format!("{kind} = NAME"));
        return None;
    };
    let ExprKind::Ident(n) = &e.kind else {
        cx.wrong_type(e, &format!("the name of a {kind}"));
        return None;
    };
    let found = map.get(n);
    if found.is_none() && !broken.contains(n) {
        let names: Vec<&str> = map.keys().map(String::as_str).collect();
        cx.push(
            Diag::error("algen::check::unknown_name", format!("unknown {kind} `{n}`"))
                .at(e.span, format!("no {kind} of this name"))
                .help(suggest(n, &names)),
        );
    }
    found
}

fn eval(cx: &mut Cx, body: &Body) -> Option<ir::EvalCfg> {
    let f = cx.fields("`eval`", body, EVAL_FIELDS, &[], false);
    for (n, _) in &f.map {
        if let Some(e) = f.expr(n) {
            cx.no_sweep(e, n);
        }
    }
    let every = f.expr("every").map_or(Some(defaults::EVAL_EVERY as i64), |e| cx.int_in(e, 0, i64::MAX));
    if let (Some(0), Some(e)) = (every, f.expr("every")) {
        cx.push(
            Diag::warning("algen::check::eval_off", "`every = 0` turns periodic evaluation off")
                .at(e.span, "no evaluation during training")
                .help(
                    "`every = 0` does not mean every step: only the evaluation after the last step runs \
                     (as when `every` is left out), so the curves have one point; write `every = N` to \
                     evaluate every N steps, or leave `every` out",
                ),
        );
    }
    let count = f.expr("count").map_or(Some(defaults::PERIODIC_COUNT as i64), |e| cx.int_in(e, 1, 1 << 30));
    let batch = f.expr("batch").map_or(Some(defaults::EVAL_BATCH as i64), |e| cx.int_in(e, 1, 1 << 20));
    let metrics = match f.expr("metrics") {
        None => Some(ir::Metric::ALL.iter().map(|(_, m)| *m).collect()),
        Some(e) => match &e.kind {
            ExprKind::List(items) => {
                items.iter().map(|i| cx.choice(i, "metric", ir::Metric::ALL, "algen::check::unknown_metric")).collect()
            }
            _ => cx.choice(e, "metric", ir::Metric::ALL, "algen::check::unknown_metric").map(|m| vec![m]),
        },
    };
    let reduce = match f.expr("reduce") {
        None => Some(None),
        Some(e) => cx
            .choice(
                e,
                "reducer",
                &[("max", ir::ScoreReduce::Max), ("mean", ir::ScoreReduce::Mean)],
                "algen::check::unknown_value",
            )
            .map(Some),
    };
    let grok_threshold = match f.expr("grok_threshold") {
        None => Some(None),
        Some(e) => cx.f64_in(e, 0.0, 1.0, false).map(Some),
    };
    Some(ir::EvalCfg {
        reduce: reduce?,
        grok_threshold: grok_threshold?,
        every: every? as usize,
        metrics: metrics?,
        periodic_count: count? as usize,
        batch: batch? as usize,
    })
}

fn expect(cx: &mut Cx, x: &ast::Expect) -> Option<ir::Expect> {
    const REDUCERS: &[(&str, ir::Reducer)] =
        &[("all", ir::Reducer::All), ("any", ir::Reducer::Any), ("mean", ir::Reducer::Mean)];
    let reducer = match &x.reducer {
        None => ir::Reducer::All,
        Some(r) => match REDUCERS.iter().find(|(n, _)| *n == r.name) {
            Some((_, red)) => *red,
            None => {
                cx.push(
                    Diag::error("algen::check::unknown_value", format!("unknown reducer `{}`", r.name))
                        .at(r.span, "not a reducer")
                        .help(suggest(&r.name, &["all", "any", "mean"])),
                );
                return None;
            }
        },
    };
    let bad = |cx: &mut Cx, id: &Ident, what: &str, choices: &[&str]| {
        cx.push(
            Diag::error("algen::check::unknown_metric", format!("unknown {what} `{}`", id.name))
                .at(id.span, format!("not a {what}"))
                .help(suggest(&id.name, choices)),
        );
    };
    if x.path.len() != 2 {
        let id = &x.path[x.path.len().min(2).saturating_sub(1)];
        cx.push(
            Diag::error("algen::check::unknown_metric", "expected `SCOPE.METRIC`")
                .at(id.span, "like `test.sequence_accuracy`")
                .help("scopes: `train`, `test`"),
        );
        return None;
    }
    let scope = match x.path[0].name.as_str() {
        "train" => Some(ir::Scope::Train),
        "test" => Some(ir::Scope::Test),
        _ => {
            bad(cx, &x.path[0], "scope", &["train", "test"]);
            None
        }
    };
    let names: Vec<&str> = ir::Metric::ALL.iter().map(|(n, _)| *n).collect();
    let m = ir::Metric::ALL.iter().find(|(n, _)| *n == x.path[1].name).map(|(_, m)| *m);
    if m.is_none() {
        bad(cx, &x.path[1], "metric", &names);
    }
    let value = cx.f64_in(&x.value, f64::NEG_INFINITY, f64::INFINITY, false);
    let op = match x.op.as_str() {
        "<" => ir::CmpOp::Lt,
        "<=" => ir::CmpOp::Le,
        ">" => ir::CmpOp::Gt,
        ">=" => ir::CmpOp::Ge,
        "==" => ir::CmpOp::Eq,
        _ => {
            cx.push(
                Diag::error("algen::check::unknown_value", "`!=` cannot be expected")
                    .at(x.span, "use <, <=, >, >= or ==")
                    .help("compare with <, <=, >, >= or =="),
            );
            return None;
        }
    };
    let r = match reducer {
        ir::Reducer::All => "all",
        ir::Reducer::Any => "any",
        ir::Reducer::Mean => "mean",
    };
    let text = format!("{r} {}.{} {} {}", x.path[0].name, x.path[1].name, x.op, show(&x.value));
    Some(ir::Expect { reducer, scope: scope?, metric: m?, op, value: value?, text, span: x.span })
}

/// Expands sweeps (model fields, then training fields, in name order) into variants.
fn variants(cx: &mut Cx, m: &ModelDef, train: &BTreeMap<String, Expr>, seeds: &[u64]) -> Option<Vec<ir::Variant>> {
    let mut axes: Vec<(bool, String, Vec<Expr>)> = vec![];
    for (k, e) in &m.fields {
        if let ExprKind::Sweep(v) = &e.kind {
            axes.push((true, k.clone(), v.clone()));
        }
    }
    for (k, e) in train {
        if let ExprKind::Sweep(v) = &e.kind {
            axes.push((false, k.clone(), v.clone()));
        }
    }
    for (_, k, v) in &axes {
        if v.is_empty() {
            let span = m.fields.get(k).or(train.get(k)).map(|e| e.span).unwrap_or(m.span);
            cx.push(
                Diag::error("algen::check::bad_range", format!("the sweep over `{k}` is empty"))
                    .at(span, "no values")
                    .help("list at least one value"),
            );
            return None;
        }
    }
    let total: usize = axes.iter().map(|(_, _, v)| v.len()).product();
    let mut out = vec![];
    let mut ok = true;
    for i in 0..total {
        let (mut md, mut tf) = (m.clone(), train.clone());
        let mut label = vec![];
        let mut rest = i;
        for (is_model, k, vals) in axes.iter().rev() {
            let v = &vals[rest % vals.len()];
            rest /= vals.len();
            label.push(format!("{k}={}", show(v)));
            if *is_model {
                md.fields.insert(k.clone(), v.clone())
            } else {
                tf.insert(k.clone(), v.clone())
            };
        }
        label.reverse();
        let arch = model::arch(cx, &md).and_then(|a| super::bounds::model_fits(cx, a, m.span));
        let t = super::train::train_cfg(cx, &tf, seeds);
        match (arch, t) {
            (Some(arch), Some(t)) => {
                let label = if label.is_empty() { "base".to_string() } else { label.join(", ") };
                out.push(ir::Variant {
                    label,
                    model: ir::Model { name: m.base.clone(), arch, span: m.span },
                    train: t,
                });
            }
            _ => ok = false,
        }
    }
    ok.then_some(out)
}
