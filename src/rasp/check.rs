//! Static checks before definition time: every name is defined somewhere
//! it can be seen, and no reserved name is assigned. All errors at once.

use super::ast::*;
use crate::diag::{did_you_mean, Diag};
use std::collections::HashSet;

/// Names a program may not assign: the original's constants and keywords,
/// and the standard library (preloaded and reserved).
pub const RESERVED: &[&str] = &[
    "tokens_asis",
    "tokens_str",
    "tokens_int",
    "tokens_bool",
    "tokens_float",
    "indices",
    "True",
    "False",
    "if",
    "else",
    "not",
    "and",
    "or",
    "out",
    "def",
    "return",
    "range",
    "for",
    "in",
    "zip",
    "len",
    "get",
    "tokens",
    "length",
    "full_s",
    "selector_width",
    "has_focus",
    "count",
    "contains",
    "max",
    "min",
    "average",
    "load_from_location",
    "shift",
    "mark_first_instance",
    "mark_last_instance",
    "select_from_first",
    "select_from_last",
    "sort",
    "select_next_identical",
];

/// Names visible to every program (the reserved ones that denote values).
fn builtins() -> impl Iterator<Item = &'static str> {
    RESERVED.iter().copied().filter(|n| {
        !matches!(
            *n,
            "if" | "else"
                | "not"
                | "and"
                | "or"
                | "out"
                | "def"
                | "return"
                | "range"
                | "for"
                | "in"
                | "zip"
                | "len"
                | "get"
        )
    })
}

struct Scope<'a> {
    names: HashSet<String>,
    parent: Option<&'a Scope<'a>>,
}

impl Scope<'_> {
    fn sees(&self, n: &str) -> bool {
        self.names.contains(n) || self.parent.is_some_and(|p| p.sees(n))
    }
    fn all(&self, out: &mut Vec<String>) {
        out.extend(self.names.iter().cloned());
        if let Some(p) = self.parent {
            p.all(out);
        }
    }
}

fn defined(stmts: &[Stmt], out: &mut HashSet<String>) {
    for s in stmts {
        match s {
            Stmt::Assign { names, .. } => out.extend(names.iter().map(|n| n.name.clone())),
            Stmt::Def(d) => {
                out.insert(d.name.name.clone());
            }
            Stmt::For { names, body, .. } => {
                out.extend(names.iter().map(|n| n.name.clone()));
                defined(body, out);
            }
            _ => {}
        }
    }
}

/// Checks a user program.
pub fn check(p: &Program) -> Vec<Diag> {
    let mut names: HashSet<String> = builtins().map(String::from).collect();
    defined(&p.stmts, &mut names);
    let top = Scope { names, parent: None };
    let mut diags = vec![];
    stmts(&p.stmts, &top, &mut diags);
    diags
}

fn reserved(ids: &[Ident], diags: &mut Vec<Diag>) {
    for id in ids {
        if RESERVED.contains(&id.name.as_str()) {
            diags.push(
                Diag::error("algen::check::rasp_reserved_name", format!("`{}` is a reserved name", id.name))
                    .at(id.span, "cannot be assigned")
                    .help("inputs (`tokens`, `indices`, ...), `True`/`False` and the standard library are reserved: pick another name"),
            );
        }
    }
}

fn stmts(ss: &[Stmt], scope: &Scope, diags: &mut Vec<Diag>) {
    for s in ss {
        match s {
            Stmt::Assign { names, values, .. } => {
                reserved(names, diags);
                values.iter().for_each(|e| expr(e, scope, diags));
            }
            Stmt::Expr(e) => expr(e, scope, diags),
            Stmt::Def(d) => {
                reserved(std::slice::from_ref(&d.name), diags);
                reserved(&d.params, diags);
                let mut names: HashSet<String> = d.params.iter().map(|p| p.name.clone()).collect();
                defined(&d.body, &mut names);
                let inner = Scope { names, parent: Some(scope) };
                stmts(&d.body, &inner, diags);
                d.ret.iter().for_each(|e| expr(e, &inner, diags));
            }
            Stmt::For { names, iter, body, .. } => {
                reserved(names, diags);
                expr(iter, scope, diags);
                stmts(body, scope, diags);
            }
            Stmt::Load { .. } | Stmt::Draw { .. } => {}
        }
    }
}

fn comp(names: &[Ident], iter: &Expr, parts: &[&Expr], scope: &Scope, diags: &mut Vec<Diag>) {
    reserved(names, diags);
    expr(iter, scope, diags);
    let inner = Scope { names: names.iter().map(|n| n.name.clone()).collect(), parent: Some(scope) };
    parts.iter().for_each(|e| expr(e, &inner, diags));
}

fn expr(e: &Expr, scope: &Scope, diags: &mut Vec<Diag>) {
    let mut sub = |x: &Expr| expr(x, scope, diags);
    match &e.kind {
        ExprKind::Int(_) | ExprKind::Float(_) | ExprKind::Str(_) => {}
        ExprKind::Name(n) => {
            if !scope.sees(n) {
                let mut all = vec![];
                scope.all(&mut all);
                let d = Diag::error("algen::check::rasp_unknown_name", format!("unknown name `{n}`"))
                    .at(e.span, "not defined anywhere this code can see");
                let d = match did_you_mean(n, all.iter().map(String::as_str)) {
                    Some(c) => d.help(format!("did you mean `{c}`?")),
                    None => d.help("define it with `NAME = ...;` or `def NAME(...) { ... }`"),
                };
                diags.push(d);
            }
        }
        ExprKind::List(es) | ExprKind::Range(es) | ExprKind::Zip(es) => es.iter().for_each(sub),
        ExprKind::Dict(kv) => kv.iter().for_each(|(k, v)| {
            sub(k);
            sub(v);
        }),
        ExprKind::ListComp { val, names, iter } => comp(names, iter, &[val], scope, diags),
        ExprKind::DictComp { key, val, names, iter } => comp(names, iter, &[key, val], scope, diags),
        ExprKind::Unary { e, .. } | ExprKind::Len(e) => sub(e),
        ExprKind::Binary { l, r, .. } => {
            sub(l);
            sub(r);
        }
        ExprKind::Select { keys, queries, .. } => {
            sub(keys);
            sub(queries);
        }
        ExprKind::Aggregate { sel, seq, default } => {
            sub(sel);
            sub(seq);
            if let Some(d) = default {
                sub(d);
            }
        }
        ExprKind::Ternary { then, cond, els } => {
            sub(then);
            sub(cond);
            sub(els);
        }
        ExprKind::In { item, container } => {
            sub(item);
            sub(container);
        }
        ExprKind::Index { seq, index } => {
            sub(seq);
            sub(index);
        }
        ExprKind::Call { func, args } => {
            sub(func);
            args.iter().for_each(sub);
        }
    }
}
