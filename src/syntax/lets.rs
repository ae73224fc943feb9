//! `let` constants, bounded after loading: the checker substitutes a constant's
//! value wherever its name is used, so a chain `let a1 = a0 + 1; let a2 = a1 + 1; …`
//! builds a value as deep as the chain is long, and a cycle `let a = b + 1; let b = a + 1;`
//! an infinite one. Each stays within [`MAX_DEPTH`] per file by the pre-scan
//! ([`super::depth`]); here a constant whose value, with the constants it uses
//! substituted, nests deeper than [`MAX_DEPTH`] is `algen::parse::too_deep`, and one
//! that refers to itself `algen::check::let_cycle`. Either's value is then replaced
//! by `0`, so that no later pass expands it (the error stops the run).

use super::ast::{Body, Entry, Expr, ExprKind, FieldValue, File, Item, Num, Pick, Range};
use super::depth::MAX_DEPTH;
use crate::diag::Diag;
use crate::source::FileId;
use std::collections::HashMap;

/// Checks every `let` of the loaded files (names are shared across files; the first
/// definition counts, as in the checker) and neutralizes the ones in error.
pub fn check_lets(files: &mut [(FileId, File)]) -> Vec<Diag> {
    let mut lets: HashMap<String, &Expr> = HashMap::new();
    let mut order = vec![];
    for (_, f) in files.iter() {
        for it in &f.items {
            if let Item::Let { name, value, .. } = it {
                if !lets.contains_key(&name.name) {
                    lets.insert(name.name.clone(), value);
                    order.push(name.clone());
                }
            }
        }
    }
    let mut a = Analysis { lets, depth: HashMap::new(), fails_within: HashMap::new(), open: vec![] };
    let mut bad: Vec<String> = vec![];
    let mut diags = vec![];
    for name in &order {
        match a.let_depth(&name.name, MAX_DEPTH) {
            Ok(_) => {}
            // Only the first constant of a chain too deep is reported.
            Err(Fail::Deep) if uses_any(a.lets[&name.name], &bad) => bad.push(name.name.clone()),
            Err(Fail::Deep) => {
                diags.push(
                    Diag::error(
                        "algen::parse::too_deep",
                        format!(
                            "`{}` nests deeper than {MAX_DEPTH} levels once the constants it uses are substituted",
                            short(&name.name)
                        ),
                    )
                    .at(name.span, "the constant's value, with the constants it uses, is too deep")
                    .help("a chain of constants that each build on the previous one adds up; write the value directly"),
                );
                bad.push(name.name.clone());
            }
            // A constant that only uses a cycle: the cycle is reported at its own constants.
            Err(Fail::Cycle(path)) if path.first() != Some(&short(&name.name)) => {}
            Err(Fail::Cycle(path)) => {
                diags.push(
                    Diag::error(
                        "algen::check::let_cycle",
                        format!("`{}` is defined in terms of itself: {}", short(&name.name), path.join(" -> ")),
                    )
                    .at(name.span, "this constant refers to itself")
                    .help("a `let` constant can only use constants that do not use it"),
                );
                bad.push(name.name.clone());
            }
        }
        a.open.clear();
    }
    drop(a);
    if !bad.is_empty() {
        for (_, f) in files.iter_mut() {
            for it in &mut f.items {
                if let Item::Let { name, value, .. } = it {
                    if bad.contains(&name.name) {
                        let span = value.span;
                        *value = Expr { kind: ExprKind::Num(Num { value: 0.0, int: Some(0) }), span };
                    }
                }
            }
        }
    }
    diags
}

fn short(name: &str) -> String {
    if name.chars().count() > 40 {
        format!("{}…", name.chars().take(40).collect::<String>())
    } else {
        name.to_string()
    }
}

enum Fail {
    /// Deeper than the budget.
    Deep,
    /// The names of a cycle, from the first to itself again.
    Cycle(Vec<String>),
}

struct Analysis<'a> {
    lets: HashMap<String, &'a Expr>,
    /// The depth of each constant whose value was measured in full.
    depth: HashMap<String, usize>,
    /// The largest budget each constant is known to exceed.
    fails_within: HashMap<String, usize>,
    /// The constants being measured (for cycles).
    open: Vec<String>,
}

impl Analysis<'_> {
    /// The depth of constant `name` with its constants substituted, if at most `budget`.
    /// Recursion is bounded: each level of it spends at least one level of the budget.
    fn let_depth(&mut self, name: &str, budget: usize) -> Result<usize, Fail> {
        if let Some(&d) = self.depth.get(name) {
            return if d <= budget { Ok(d) } else { Err(Fail::Deep) };
        }
        if self.fails_within.get(name).is_some_and(|&b| budget <= b) {
            return Err(Fail::Deep);
        }
        if let Some(i) = self.open.iter().position(|n| n == name) {
            let mut path: Vec<String> = self.open[i..].iter().map(|n| short(n)).collect();
            path.push(short(name));
            return Err(Fail::Cycle(path));
        }
        let value = self.lets[name];
        self.open.push(name.to_string());
        let r = self.expr(value, 1, budget);
        self.open.pop();
        match r {
            Ok(d) => {
                self.depth.insert(name.to_string(), d);
                Ok(d)
            }
            Err(Fail::Deep) => {
                let b = self.fails_within.entry(name.to_string()).or_insert(0);
                *b = (*b).max(budget);
                Err(Fail::Deep)
            }
            Err(e) => Err(e),
        }
    }

    /// The depth of `e` at level `at` (1 for a constant's value), constants substituted.
    fn expr(&mut self, e: &Expr, at: usize, budget: usize) -> Result<usize, Fail> {
        if at > budget {
            return Err(Fail::Deep);
        }
        let mut deepest = at;
        let mut sub = |a: &mut Self, e: &Expr| -> Result<(), Fail> {
            deepest = deepest.max(a.expr(e, at + 1, budget)?);
            Ok(())
        };
        match &e.kind {
            ExprKind::Ident(n) if self.lets.contains_key(n) => {
                // The constant's value stands below the name (one level per substitution, so
                // that a chain of plain aliases `let b = a;` spends the budget too).
                let d = self.let_depth(n, budget - at)?;
                return Ok(at + d);
            }
            ExprKind::Num(_) | ExprKind::Str(_) | ExprKind::Bool(_) | ExprKind::Ident(_) | ExprKind::Rasp { .. } => {}
            ExprKind::List(v) | ExprKind::Tuple(v) | ExprKind::Sweep(v) => {
                for x in v {
                    sub(self, x)?;
                }
            }
            ExprKind::Call { args, .. } => {
                for x in args {
                    sub(self, &x.value)?;
                }
            }
            ExprKind::Record { body, .. } => return self.body(body, at, budget).map(|d| d.max(at)),
            ExprKind::Unary { operand, .. } => sub(self, operand)?,
            ExprKind::Binary { lhs, rhs, .. } => {
                sub(self, lhs)?;
                sub(self, rhs)?;
            }
            ExprKind::If { cond, then, els } => {
                for x in [cond, then, els] {
                    sub(self, x)?;
                }
            }
            ExprKind::Index { seq, index } => {
                sub(self, seq)?;
                sub(self, index)?;
            }
            ExprKind::Slice { seq, start, stop, step } => {
                sub(self, seq)?;
                for x in [start, stop, step].into_iter().flatten() {
                    sub(self, x)?;
                }
            }
        }
        Ok(deepest)
    }

    /// The deepest value in a record's body (its fields one level below `at`).
    fn body(&mut self, body: &Body, at: usize, budget: usize) -> Result<usize, Fail> {
        let mut deepest = at;
        for entry in &body.entries {
            let mut exprs: Vec<&Expr> = vec![];
            match entry {
                Entry::Field { value, .. } => match value {
                    FieldValue::Expr(e) => exprs.push(e),
                    FieldValue::Part(p) => {
                        range(&p.range, &mut exprs);
                        exprs.extend(p.step.iter().chain(&p.count));
                    }
                    FieldValue::Pick(p) => {
                        if let Pick::Where { pred, repeat, .. } = p {
                            exprs.push(pred);
                            exprs.extend(repeat);
                        }
                        if let Pick::Fraction { fraction, .. } = p {
                            exprs.push(fraction);
                        }
                        exprs.extend(p.corrupt());
                    }
                    FieldValue::Universe(u) => {
                        for v in &u.vars {
                            range(&v.range, &mut exprs);
                        }
                        exprs.extend(&u.filter);
                    }
                },
                Entry::Block { body, .. } => deepest = deepest.max(self.body(body, at + 1, budget)?),
                Entry::Expect(x) => exprs.push(&x.value),
            }
            for e in exprs {
                deepest = deepest.max(self.expr(e, at + 1, budget)?);
            }
        }
        Ok(deepest)
    }
}

/// Whether `e` names one of `names` (the pre-scan bounds the recursion).
fn uses_any(e: &Expr, names: &[String]) -> bool {
    let any = |v: &[Expr]| v.iter().any(|x| uses_any(x, names));
    match &e.kind {
        ExprKind::Ident(n) => names.contains(n),
        ExprKind::List(v) | ExprKind::Tuple(v) | ExprKind::Sweep(v) => any(v),
        ExprKind::Call { args, .. } => args.iter().any(|a| uses_any(&a.value, names)),
        ExprKind::Unary { operand, .. } => uses_any(operand, names),
        ExprKind::Binary { lhs, rhs, .. } => uses_any(lhs, names) || uses_any(rhs, names),
        ExprKind::If { cond, then, els } => [cond, then, els].iter().any(|x| uses_any(x, names)),
        ExprKind::Index { seq, index } => uses_any(seq, names) || uses_any(index, names),
        ExprKind::Slice { seq, start, stop, step } => {
            uses_any(seq, names) || [start, stop, step].into_iter().flatten().any(|x| uses_any(x, names))
        }
        _ => false,
    }
}

fn range<'e>(r: &'e Range, out: &mut Vec<&'e Expr>) {
    out.push(&r.lo);
    out.push(&r.hi);
}
