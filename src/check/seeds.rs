//! `seeds = N` (seeds 0..N) or `seeds = [s1, s2, ...]`: each seed once (issue 16, item 19:
//! a repeated seed would run the same run twice and count it twice in every mean).

use super::cx::Cx;
use crate::diag::Diag;
use crate::ir::defaults;
use crate::syntax::ast::{Expr, ExprKind};

pub fn seeds(cx: &mut Cx, e: Option<&Expr>) -> Option<Vec<u64>> {
    let Some(e) = e else { return Some((0..defaults::SEEDS as u64).collect()) };
    if cx.no_sweep(e, "seeds") {
        return None;
    }
    match &cx.resolve(e).kind {
        ExprKind::List(items) => {
            let items = items.clone();
            let seeds: Vec<u64> =
                items.iter().map(|i| cx.int_in(i, 0, i64::MAX).map(|v| v as u64)).collect::<Option<_>>()?;
            for (k, s) in seeds.iter().enumerate() {
                if let Some(first) = seeds[..k].iter().position(|x| x == s) {
                    cx.push(
                        Diag::error("algen::check::duplicate_seed", format!("seed {s} is listed twice"))
                            .at(items[k].span, "listed again here")
                            .label(items[first].span, "first listed here")
                            .help("each seed runs once: remove the repeat or use another seed"),
                    );
                    return None;
                }
            }
            Some(seeds)
        }
        _ => cx.int_in(e, 1, 10_000).map(|n| (0..n as u64).collect()),
    }
}
