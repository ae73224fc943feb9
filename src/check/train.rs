//! An experiment's `train { ... }` block: steps, batch, clipping, seeds, the optimizer and
//! its learning-rate schedule, gradient filters and batching (split out of
//! [`super::experiment`] to keep files short).

use super::cx::Cx;
use crate::diag::{suggest, Diag};
use crate::ir::{self, defaults};
use crate::syntax::ast::{Expr, ExprKind};
use std::collections::BTreeMap;

pub(super) fn train_cfg(cx: &mut Cx, f: &BTreeMap<String, Expr>, seeds: &[u64]) -> Option<ir::TrainCfg> {
    let steps = f.get("steps").map_or(Some(defaults::STEPS as i64), |e| cx.int_in(e, 1, i64::MAX));
    let batch = super::filter::batch(cx, f.get("batch"));
    let clip = match f.get("clip") {
        None => Some(defaults::CLIP),
        Some(e) if matches!(cx.resolve(e).kind, ExprKind::Ident(ref n) if n == "none") => Some(None),
        Some(e) => cx.f64_in(e, 0.0, f64::INFINITY, false).map(Some),
    };
    let mixed = f.get("mixed_lengths").map_or(Some(false), |e| cx.boolean(e));
    let optimizer = f.get("optimizer").map_or(Some(default_opt(ir::OptimizerKind::Adam)), |e| optimizer(cx, e));
    let schedule = f.get("schedule").map_or(Some(ir::Schedule::Constant), |e| schedule(cx, e));
    let n_diags = cx.diags.len();
    let grad_filter = f.get("grad_filter").and_then(|e| super::filter::grad_filter(cx, e));
    let checkpoint_every = f.get("checkpoint_every").map_or(Some(0), |e| cx.int_in(e, 0, i64::MAX));
    let batching = f.get("batching").map_or(Some(ir::Batching::Random), |e| {
        let kinds = [("random", ir::Batching::Random), ("epochs", ir::Batching::Epochs)];
        cx.choice(e, "batching", &kinds, "algen::check::unknown_value")
    });
    if cx.diags.len() > n_diags {
        return None;
    }
    let (batch, full_batch) = batch?;
    Some(ir::TrainCfg {
        steps: steps? as usize,
        batch,
        full_batch,
        grad_filter,
        checkpoint_every: checkpoint_every? as usize,
        batching: batching?,
        optimizer: optimizer?,
        clip: clip?,
        seeds: seeds.to_vec(),
        mixed_lengths: mixed?,
        schedule: schedule?,
    })
}

fn schedule(cx: &mut Cx, e: &Expr) -> Option<ir::Schedule> {
    #[derive(Clone, Copy, PartialEq)]
    enum Kind {
        Constant,
        WarmupConstant,
        WarmupCosine,
    }
    let kinds = [
        ("constant", Kind::Constant),
        ("warmup_constant", Kind::WarmupConstant),
        ("warmup_cosine", Kind::WarmupCosine),
    ];
    let kind = cx.choice(e, "schedule", &kinds, "algen::check::unknown_value")?;
    let name = kinds.iter().find(|k| k.1 == kind).map_or("", |k| k.0);
    let r = cx.resolve(e).into_owned();
    let args = if let ExprKind::Call { args, .. } = &r.kind { args.clone() } else { vec![] };
    let (mut warmup, mut min, mut from_zero) = (0usize, 0.0f64, false);
    let params: &[&str] = match kind {
        Kind::Constant => &[],
        Kind::WarmupConstant => &["warmup", "from_zero"],
        Kind::WarmupCosine => &["warmup", "min", "from_zero"],
    };
    for (i, a) in args.iter().enumerate() {
        let pname =
            a.name.as_ref().map(|n| n.name.clone()).unwrap_or_else(|| params.get(i).unwrap_or(&"?").to_string());
        match pname.as_str() {
            "warmup" if params.contains(&"warmup") => warmup = cx.int_in(&a.value, 0, i64::MAX)? as usize,
            "min" if params.contains(&"min") => min = cx.f64_in(&a.value, 0.0, 1.0, false)?,
            "from_zero" if params.contains(&"from_zero") => from_zero = cx.boolean(&a.value)?,
            other => {
                let at = a.name.as_ref().map(|n| n.span).unwrap_or(a.value.span);
                cx.push(
                    Diag::error("algen::check::unknown_field", format!("`{name}` has no parameter `{other}`"))
                        .at(at, "unknown parameter")
                        .help(if params.is_empty() {
                            "`constant` takes no parameters".to_string()
                        } else {
                            suggest(other, params)
                        }),
                );
                return None;
            }
        }
    }
    Some(match kind {
        Kind::Constant => ir::Schedule::Constant,
        Kind::WarmupConstant => ir::Schedule::WarmupConstant { warmup, from_zero },
        Kind::WarmupCosine => ir::Schedule::WarmupCosine { warmup, min, from_zero },
    })
}

fn default_opt(kind: ir::OptimizerKind) -> ir::Optimizer {
    let weight_decay = if kind == ir::OptimizerKind::AdamW { defaults::ADAMW_WEIGHT_DECAY } else { 0.0 };
    ir::Optimizer { kind, lr: defaults::LR, betas: defaults::BETAS, eps: defaults::EPS, weight_decay }
}

fn optimizer(cx: &mut Cx, e: &Expr) -> Option<ir::Optimizer> {
    let kinds = [("adam", ir::OptimizerKind::Adam), ("adamw", ir::OptimizerKind::AdamW)];
    let kind = cx.choice(e, "optimizer", &kinds, "algen::check::unknown_value")?;
    let name = kinds.iter().find(|k| k.1 == kind).map_or("", |k| k.0);
    let mut o = default_opt(kind);
    let r = cx.resolve(e).into_owned();
    let ExprKind::Call { args, .. } = &r.kind else { return Some(o) };
    let params = ["lr", "betas", "eps", "weight_decay"];
    for (i, a) in args.iter().enumerate() {
        let pname =
            a.name.as_ref().map(|n| n.name.clone()).unwrap_or_else(|| params.get(i).unwrap_or(&"?").to_string());
        match pname.as_str() {
            "lr" => {
                o.lr = cx.f64_in(&a.value, 0.0, f64::INFINITY, false)?;
                if o.lr == 0.0 {
                    cx.push(
                        Diag::error("algen::check::out_of_range", "the learning rate must be positive")
                            .at(a.value.span, "must be > 0")
                            .help("e.g. `lr = 1e-3`"),
                    );
                    return None;
                }
            }
            "eps" => o.eps = cx.f64_in(&a.value, 0.0, f64::INFINITY, false)?,
            "weight_decay" => o.weight_decay = cx.f64_in(&a.value, 0.0, f64::INFINITY, false)?,
            "betas" => match &cx.resolve(&a.value).kind {
                ExprKind::Tuple(v) if v.len() == 2 => {
                    o.betas = (cx.f64_in(&v[0], 0.0, 1.0, true)?, cx.f64_in(&v[1], 0.0, 1.0, true)?)
                }
                _ => {
                    cx.wrong_type(&a.value, "a pair like `(0.9, 0.999)`");
                    return None;
                }
            },
            other => {
                let at = a.name.as_ref().map(|n| n.span).unwrap_or(a.value.span);
                cx.push(
                    Diag::error("algen::check::unknown_field", format!("`{name}` has no parameter `{other}`"))
                        .at(at, "unknown parameter")
                        .help(suggest(other, &params)),
                );
                return None;
            }
        }
    }
    Some(o)
}
