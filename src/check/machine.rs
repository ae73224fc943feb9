//! `machine` items: fields, rules and generated machines -> [`ir::Machine`].
//!
//! ```text
//! machine inc {
//!   symbols = "01", blank = "_", states = [right, carry, done], start = right, halt = [done]
//!   output = nonblank                      // or right_of("#"), left_of("=")
//!   max_steps = 4 * n * n + 100            // optional; a polynomial in the input length n
//!   partial = false                        // true: missing rules are intended (no warning)
//!   rules { (right, 0|1) -> (*, R, right)  (right, _) -> (_, L, carry) ... }
//! }
//! ```
//!
//! An explicit `(state, symbol)` rule wins over the state's `*` rule; two explicit rules for one
//! pair, or two `*` rules for one state, are non-deterministic (an error). Halting states have
//! no rules. Missing rules (unless `partial = true`) and states no rule reaches from the start
//! are warnings. Generated machines (`= decimal_addition()`) come from [`super::machine_lib`].

use super::cx::Cx;
use crate::diag::{suggest, Diag};
use crate::ir::{self, Action, Move, Output, StepLimit};
use crate::source::Span;
use crate::syntax::ast::{Body, Expr, ExprKind, Ident, Item, MachineDef, Rule, Sym};
use std::collections::BTreeMap;

pub(super) const FIELDS: &[&str] = &["symbols", "blank", "states", "start", "halt", "output", "max_steps", "partial"];

/// Checks every machine item; the good ones land in `cx.machines` and the result.
pub fn items(cx: &mut Cx, items: &[&Item]) -> Vec<ir::Machine> {
    let mut out = vec![];
    for it in items {
        let Item::Machine { name, def, .. } = it else { continue };
        if cx.machines.contains_key(&name.name) {
            continue;
        }
        let m = match def {
            MachineDef::Table { fields, rules } => table(cx, name, fields, rules),
            MachineDef::Generator(e) => super::machine_lib::generate(cx, name, e),
        };
        match m {
            Some(m) => {
                cx.machines.insert(name.name.clone(), m.clone());
                out.push(m);
            }
            None => cx.broken_machines.push(name.name.clone()),
        }
    }
    out
}

/// What a written or generated machine declares, before its rules are resolved.
pub struct Decl {
    pub symbols: Vec<String>,
    pub states: Vec<String>,
    pub start: u32,
    pub halting: Vec<bool>,
    pub output: Output,
    pub max_steps: StepLimit,
    pub partial: bool,
}

fn table(cx: &mut Cx, name: &Ident, body: &Body, rules: &[Rule]) -> Option<ir::Machine> {
    let f = cx.fields("a machine", body, FIELDS, &[], false);
    let need = |cx: &mut Cx, field: &str, ex: &str| {
        if f.expr(field).is_none() {
            cx.missing("a machine", field, name.span, ex);
        }
    };
    need(cx, "symbols", "symbols = \"01\"");
    need(cx, "states", "states = [q0, done]");
    need(cx, "halt", "halt = [done]");
    let blank = match f.expr("blank") {
        Some(e) => cx.string(e)?,
        None => "_".to_string(),
    };
    let mut symbols = vec![blank.clone()];
    let listed = super::task::tokens(cx, f.expr("symbols")?, "symbols")?;
    symbols.extend(listed.into_iter().filter(|s| *s != blank));
    let states = super::task::tokens(cx, f.expr("states")?, "states")?;
    let start = match f.expr("start") {
        Some(e) => state_of(cx, e, &states)?,
        None => 0,
    };
    let mut halting = vec![false; states.len()];
    for e in names(f.expr("halt")?) {
        halting[state_of(cx, e, &states)? as usize] = true;
    }
    let output = match f.expr("output") {
        Some(e) => output(cx, e, &symbols)?,
        None => Output::Nonblank,
    };
    let max_steps = match f.expr("max_steps") {
        Some(e) => StepLimit { coeffs: poly(cx, e)? },
        None => StepLimit { coeffs: ir::defaults::MACHINE_STEPS.to_vec() },
    };
    let partial = match f.expr("partial") {
        Some(e) => cx.boolean(e)?,
        None => false,
    };
    let decl = Decl { symbols, states, start, halting, output, max_steps, partial };
    let table = resolve_rules(cx, &decl, rules)?;
    Some(finish(cx, name, decl, table))
}

/// The elements of a list, or the value itself.
fn names(e: &Expr) -> Vec<&Expr> {
    match &e.kind {
        ExprKind::List(v) => v.iter().collect(),
        _ => vec![e],
    }
}

fn text_of(e: &Expr) -> Option<String> {
    match &e.kind {
        ExprKind::Ident(s) | ExprKind::Str(s) => Some(s.clone()),
        ExprKind::Num(n) => n.int.map(|i| i.to_string()),
        _ => None,
    }
}

fn state_of(cx: &mut Cx, e: &Expr, states: &[String]) -> Option<u32> {
    let Some(t) = text_of(e) else {
        cx.wrong_type(e, "a state name");
        return None;
    };
    find(cx, &t, e.span, states, "state")
}

/// The index of `word` in `names`, or an unknown-state/symbol error with a suggestion.
fn find(cx: &mut Cx, word: &str, span: Span, names: &[String], kind: &str) -> Option<u32> {
    if let Some(i) = names.iter().position(|n| n == word) {
        return Some(i as u32);
    }
    let all: Vec<&str> = names.iter().map(String::as_str).collect();
    let code =
        if kind == "state" { "algen::check::machine_unknown_state" } else { "algen::check::machine_unknown_symbol" };
    let field = if kind == "state" { "states" } else { "symbols" };
    cx.push(Diag::error(code, format!("unknown {kind} `{word}`")).at(span, format!("not in `{field}`")).help(format!(
        "{} (the {field} are {})",
        suggest(word, &all),
        all.join(", ")
    )));
    None
}

fn output(cx: &mut Cx, e: &Expr, symbols: &[String]) -> Option<Output> {
    match &e.kind {
        ExprKind::Ident(n) if n == "nonblank" => Some(Output::Nonblank),
        ExprKind::Call { func, args } if (func.name == "right_of" || func.name == "left_of") && args.len() == 1 => {
            let Some(t) = text_of(&args[0].value) else {
                cx.wrong_type(&args[0].value, "a marker symbol like \"#\"");
                return None;
            };
            let id = find(cx, &t, args[0].value.span, symbols, "symbol")?;
            Some(if func.name == "right_of" { Output::RightOf(id) } else { Output::LeftOf(id) })
        }
        _ => {
            cx.push(
                Diag::error("algen::check::unknown_value", "unknown output rule")
                    .at(e.span, "not an output rule")
                    .help("write `nonblank`, `right_of(\"#\")` or `left_of(\"=\")`"),
            );
            None
        }
    }
}

/// A step limit `a + b*n + c*n*n ...` folded into coefficients of powers of `n`.
fn poly(cx: &mut Cx, e: &Expr) -> Option<Vec<u64>> {
    fn go(e: &Expr) -> Option<Vec<u64>> {
        match &e.kind {
            ExprKind::Num(n) => n.int.filter(|i| *i >= 0).map(|i| vec![i as u64]),
            ExprKind::Ident(n) if n == "n" => Some(vec![0, 1]),
            ExprKind::Binary { op, lhs, rhs } if op == "+" => {
                let (a, b) = (go(lhs)?, go(rhs)?);
                let at = |v: &[u64], i: usize| v.get(i).copied().unwrap_or(0);
                Some((0..a.len().max(b.len())).map(|i| at(&a, i).saturating_add(at(&b, i))).collect())
            }
            ExprKind::Binary { op, lhs, rhs } if op == "*" => {
                let (a, b) = (go(lhs)?, go(rhs)?);
                let mut out = vec![0u64; a.len() + b.len() - 1];
                for (i, x) in a.iter().enumerate() {
                    for (j, y) in b.iter().enumerate() {
                        out[i + j] = out[i + j].saturating_add(x.saturating_mul(*y));
                    }
                }
                Some(out)
            }
            _ => None,
        }
    }
    let r = cx.resolve(e).into_owned();
    let p = go(&r);
    if p.is_none() {
        cx.push(
            Diag::error("algen::check::wrong_type", "`max_steps` must be a polynomial in the input length `n`")
                .at(e.span, "not a sum of products of whole numbers and `n`")
                .help("write e.g. `max_steps = 10000` or `max_steps = 4 * n * n + 100`"),
        );
    }
    p.filter(|c| c.iter().any(|&x| x > 0))
}

/// One rule's action with `*` still open: `None` writes the symbol read.
type Pending = (Option<u32>, Move, u32, Span);

/// Rules -> the full table, reporting unknown names and non-determinism.
pub fn resolve_rules(cx: &mut Cx, d: &Decl, rules: &[Rule]) -> Option<Vec<Option<Action>>> {
    let mut explicit: BTreeMap<(u32, u32), Pending> = BTreeMap::new();
    let mut wild: BTreeMap<u32, Pending> = BTreeMap::new();
    let mut ok = true;
    for r in rules {
        let Some((states, reads, write, mv, next)) = rule_parts(cx, d, r) else {
            ok = false;
            continue;
        };
        for &q in &states {
            for read in &reads {
                let prev = match read {
                    Some(s) => explicit.insert((q, *s), (write, mv, next, r.span)),
                    None => wild.insert(q, (write, mv, next, r.span)),
                };
                if let Some((.., first)) = prev {
                    ok = false;
                    let sym = read.map_or("*".to_string(), |s| format!("`{}`", d.symbols[s as usize]));
                    cx.push(
                        Diag::error(
                            "algen::check::machine_nondeterministic",
                            format!("two rules for state `{}` reading {sym}", d.states[q as usize]),
                        )
                        .at(r.span, "second rule")
                        .label(first, "first rule")
                        .help("a machine is deterministic: keep one rule per state and symbol"),
                    );
                }
            }
        }
    }
    if !ok {
        return None;
    }
    let n = d.symbols.len();
    let mut table = vec![None; d.states.len() * n];
    for q in 0..d.states.len() as u32 {
        for s in 0..n as u32 {
            let p = explicit.get(&(q, s)).or_else(|| wild.get(&q));
            table[q as usize * n + s as usize] = p.map(|&(w, mv, next, _)| Action { write: w.unwrap_or(s), mv, next });
        }
    }
    Some(table)
}

type Parts = (Vec<u32>, Vec<Option<u32>>, Option<u32>, Move, u32);

fn rule_parts(cx: &mut Cx, d: &Decl, r: &Rule) -> Option<Parts> {
    let mut bad = false;
    let state = |cx: &mut Cx, s: &Sym| -> Option<u32> {
        if s.wildcard {
            cx.push(rule_error("`*` stands for symbols, not states", s.span, "list the states with `|`"));
            return None;
        }
        find(cx, &s.text, s.span, &d.states, "state")
    };
    let states: Vec<u32> = r
        .state
        .iter()
        .filter_map(|s| {
            state(cx, s).or_else(|| {
                bad = true;
                None
            })
        })
        .collect();
    let next = state(cx, &r.next);
    let sym = |cx: &mut Cx, s: &Sym| -> Option<Option<u32>> {
        if s.wildcard {
            return Some(None);
        }
        find(cx, &s.text, s.span, &d.symbols, "symbol").map(Some)
    };
    let mut reads = vec![];
    for s in &r.read {
        match sym(cx, s) {
            Some(x) => reads.push(x),
            None => bad = true,
        }
    }
    let write = sym(cx, &r.write);
    let mv = match r.mv.text.as_str() {
        "L" => Some(Move::L),
        "R" => Some(Move::R),
        "S" => Some(Move::S),
        t => {
            cx.push(rule_error(
                &format!("unknown move `{t}`"),
                r.mv.span,
                "moves are `L` (left), `R` (right) and `S` (stay)",
            ));
            None
        }
    };
    for &q in &states {
        if d.halting[q as usize] {
            let msg = format!("a rule for the halting state `{}`", d.states[q as usize]);
            cx.push(rule_error(
                &msg,
                r.span,
                "the machine stops in a halting state: remove the rule or the state from `halt`",
            ));
            bad = true;
        }
    }
    if bad {
        return None;
    }
    Some((states, reads, write?, mv?, next?))
}

fn rule_error(msg: &str, span: Span, help: &str) -> Diag {
    Diag::error("algen::check::machine_rule", msg.to_string()).at(span, "here").help(help.to_string())
}

/// Warnings (missing rules, unreachable states) and the IR.
pub fn finish(cx: &mut Cx, name: &Ident, d: Decl, table: Vec<Option<Action>>) -> ir::Machine {
    let n = d.symbols.len();
    if !d.partial {
        for (q, st) in d.states.iter().enumerate().filter(|(q, _)| !d.halting[*q]) {
            let missing: Vec<&str> =
                (0..n).filter(|&s| table[q * n + s].is_none()).map(|s| d.symbols[s].as_str()).collect();
            if !missing.is_empty() {
                cx.push(
                    Diag::warning(
                        "algen::check::machine_missing_rule",
                        format!("state `{st}` has no rule for {}", quote(&missing)),
                    )
                    .at(name.span, format!("a run that reads one of them in `{st}` fails"))
                    .help("add the rules, a `*` rule, or `partial = true` if those inputs cannot occur"),
                );
            }
        }
    }
    let mut seen = vec![false; d.states.len()];
    let mut todo = vec![d.start as usize];
    while let Some(q) = todo.pop() {
        if std::mem::replace(&mut seen[q], true) {
            continue;
        }
        todo.extend(table[q * n..(q + 1) * n].iter().flatten().map(|a| a.next as usize));
    }
    let lost: Vec<&str> = d.states.iter().zip(&seen).filter(|(_, s)| !**s).map(|(q, _)| q.as_str()).collect();
    if !lost.is_empty() {
        cx.push(
            Diag::warning(
                "algen::check::machine_unreachable",
                format!("no rule leads to {} from the start state", quote(&lost)),
            )
            .at(name.span, "unreachable states")
            .help("remove them, or add the rules that enter them"),
        );
    }
    ir::Machine {
        name: name.name.clone(),
        symbols: d.symbols,
        states: d.states,
        start: d.start,
        halting: d.halting,
        table,
        output: d.output,
        max_steps: d.max_steps,
        span: name.span,
    }
}

fn quote(v: &[&str]) -> String {
    v.iter().map(|s| format!("`{s}`")).collect::<Vec<_>>().join(", ")
}
