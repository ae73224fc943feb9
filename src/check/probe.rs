//! Runs a checked target on a few inputs (issue 16, item 18), as [`super::rasp`] does for
//! RASP targets: a target that fails on every probe (`len(input) / (len(input) -
//! len(input))`, `inv(0, p)`) is an error now, not at the first step of a run. A universe
//! task labels every tuple of its universe, so there one failing probe is an error.

use super::cx::Cx;
use crate::diag::Diag;
use crate::ir;
use crate::task::{EvalError, Value};

/// The most inputs a probe evaluates.
const PROBES: usize = 64;

/// A string task's target on every input of length 1 to 3 (at most [`PROBES`]).
pub fn string_target(cx: &mut Cx, target: &ir::Expr, alphabet: &[String]) -> Option<()> {
    let mut inputs: Vec<Vec<Value>> = vec![vec![]];
    let mut first: Option<(String, EvalError)> = None;
    let mut tried = 0;
    for _len in 1..=3 {
        inputs = inputs
            .iter()
            .flat_map(|p| alphabet.iter().map(move |a| [p.clone(), vec![Value::tok(a)]].concat()))
            .collect();
        for input in &inputs {
            if tried >= PROBES {
                break;
            }
            tried += 1;
            match crate::task::eval(target, input) {
                Ok(_) => return Some(()),
                Err(e) => {
                    let shown: Vec<String> = input.iter().map(|v| v.to_string()).collect();
                    first.get_or_insert((shown.join(" "), e));
                }
            }
        }
    }
    let (input, e) = first?;
    fails(cx, target, &format!("on every input it was tried on ({tried}, lengths 1 to 3), e.g. `{input}`"), e);
    None
}

/// A universe task's target on the tuples made of each variable's lowest, middle and highest
/// value (those the filter keeps).
pub fn universe_target(cx: &mut Cx, target: &ir::Expr, u: &ir::Universe) -> Option<()> {
    let picks: Vec<Vec<i64>> = u.vars.iter().map(|v| vec![v.lo, v.lo + (v.hi - v.lo) / 2, v.hi]).collect();
    let mut tuples: Vec<Vec<i64>> = vec![vec![]];
    for p in &picks {
        tuples =
            tuples.iter().flat_map(|t| p.iter().map(move |x| [t.clone(), vec![*x]].concat())).take(PROBES).collect();
    }
    for t in tuples {
        let input: Vec<Value> = t.iter().map(|&x| Value::Int(x)).collect();
        if let Some(f) = &u.filter {
            if !matches!(crate::task::eval(f, &input), Ok(Value::Bool(true))) {
                continue;
            }
        }
        if let Err(e) = crate::task::eval(target, &input) {
            let names: Vec<String> = u.vars.iter().zip(&t).map(|(v, x)| format!("{} = {x}", v.name)).collect();
            fails(cx, target, &format!("at `{}`, and a run labels every tuple", names.join(", ")), e);
            return None;
        }
    }
    Some(())
}

fn fails(cx: &mut Cx, target: &ir::Expr, when: &str, e: EvalError) {
    let mut d = Diag::error("algen::check::target_fails", format!("the target fails {when}: {}", e.message))
        .at(e.span, "fails here");
    if e.span != target.span {
        d = d.label(target.span, "in this target");
    }
    cx.push(d.help("fix the target: every example's label is computed by it"));
}
