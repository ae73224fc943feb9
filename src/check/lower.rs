//! Target expressions: AST -> IR, resolving `let` names, `input`, universe variables and
//! builtins (with their arities).

use super::cx::Cx;
use crate::diag::{suggest, Diag};
use crate::ir::{self, Builtin, ExprKind as IK};
use crate::syntax::ast::{Expr, ExprKind, Ident};

/// Target expression AST -> IR, resolving names and builtins.
pub fn lower(cx: &mut Cx, e: &Expr) -> Option<ir::Expr> {
    let r = cx.resolve(e).into_owned();
    let kind = match &r.kind {
        ExprKind::Num(n) => match n.int {
            Some(i) => IK::Int(i),
            None => {
                cx.wrong_type(&r, "an integer (targets compute on integers)");
                return None;
            }
        },
        ExprKind::Str(s) => IK::Tok(s.clone()),
        ExprKind::Bool(b) => IK::Bool(*b),
        ExprKind::Ident(n) if n == "input" => IK::Input,
        ExprKind::Ident(n) if cx.vars.contains(n) => IK::Var(cx.vars.iter().position(|v| v == n).unwrap_or(0)),
        ExprKind::Ident(n) => {
            let mut names: Vec<&str> = vec!["input"];
            names.extend(cx.vars.iter().map(String::as_str));
            names.extend(cx.lets.keys().map(String::as_str));
            let help = suggest(n, &names);
            cx.push(
                Diag::error("algen::check::unknown_name", format!("unknown name `{n}`"))
                    .at(r.span, "not defined")
                    .help(help),
            );
            return None;
        }
        ExprKind::List(items) | ExprKind::Tuple(items) => IK::List(lower_all(cx, items)?),
        ExprKind::Unary { op, operand } => {
            let op = if op == "-" { ir::UnOp::Neg } else { ir::UnOp::Not };
            IK::Unary(op, Box::new(lower(cx, operand)?))
        }
        ExprKind::Binary { op, lhs, rhs } => {
            let (l, rr) = (lower(cx, lhs), lower(cx, rhs));
            IK::Binary(binop(op), Box::new(l?), Box::new(rr?))
        }
        ExprKind::If { cond, then, els } => {
            let (c, t, f) = (lower(cx, cond), lower(cx, then), lower(cx, els));
            IK::If(Box::new(c?), Box::new(t?), Box::new(f?))
        }
        ExprKind::Index { seq, index } => {
            let (s, i) = (lower(cx, seq), lower(cx, index));
            IK::Index(Box::new(s?), Box::new(i?))
        }
        ExprKind::Slice { seq, start, stop, step } => {
            let s = lower(cx, seq);
            let mut part = |p: &Option<Box<Expr>>| p.as_ref().map(|x| lower(cx, x).map(Box::new));
            let (a, b, c) = (part(start), part(stop), part(step));
            let opt = |x: Option<Option<Box<ir::Expr>>>| -> Option<Option<Box<ir::Expr>>> {
                match x {
                    None => Some(None),
                    Some(None) => None,
                    Some(Some(v)) => Some(Some(v)),
                }
            };
            IK::Slice(Box::new(s?), opt(a)?, opt(b)?, opt(c)?)
        }
        ExprKind::Call { func, args } => return call(cx, func, args, r.span),
        ExprKind::Sweep(_) | ExprKind::Record { .. } => {
            cx.wrong_type(&r, "an expression over `input`");
            return None;
        }
        ExprKind::Rasp { .. } => {
            cx.wrong_type(&r, "an expression over `input` (a RASP s-op is a whole target: `target = rasp NAME.sop`)");
            return None;
        }
    };
    Some(ir::Expr { kind, span: r.span })
}

fn lower_all(cx: &mut Cx, items: &[Expr]) -> Option<Vec<ir::Expr>> {
    let v: Vec<Option<ir::Expr>> = items.iter().map(|i| lower(cx, i)).collect();
    v.into_iter().collect()
}

fn call(cx: &mut Cx, func: &Ident, args: &[crate::syntax::ast::Arg], span: crate::source::Span) -> Option<ir::Expr> {
    let Some((b, lo, hi)) = Builtin::lookup(&func.name) else {
        let names: Vec<&str> = Builtin::ALL.iter().map(|(n, ..)| *n).collect();
        cx.push(
            Diag::error("algen::check::unknown_function", format!("unknown function `{}`", func.name))
                .at(func.span, "not a function")
                .help(suggest(&func.name, &names)),
        );
        return None;
    };
    if let Some(named) = args.iter().find_map(|a| a.name.as_ref()) {
        cx.push(
            Diag::error("algen::check::arity", format!("`{}` takes no named arguments", func.name))
                .at(named.span, "named argument")
                .help("pass the arguments by position"),
        );
        return None;
    }
    if args.len() < lo || args.len() > hi {
        let want = if lo == hi {
            format!("{lo}")
        } else if hi == usize::MAX {
            format!("at least {lo}")
        } else {
            format!("{lo} or {hi}")
        };
        cx.push(
            Diag::error("algen::check::arity", format!("`{}` takes {want} argument(s), got {}", func.name, args.len()))
                .at(span, "wrong number of arguments")
                .help(format!("call it as `{}` with {want} argument(s)", func.name)),
        );
        return None;
    }
    let vals: Vec<Expr> = args.iter().map(|a| a.value.clone()).collect();
    Some(ir::Expr { kind: IK::Call(b, lower_all(cx, &vals)?), span })
}

fn binop(op: &str) -> ir::BinOp {
    use ir::BinOp::*;
    match op {
        "+" => Add,
        "-" => Sub,
        "*" => Mul,
        "/" => Div,
        "%" => Mod,
        "++" => Concat,
        "==" => Eq,
        "!=" => Ne,
        "<" => Lt,
        "<=" => Le,
        ">" => Gt,
        ">=" => Ge,
        "&&" => And,
        _ => Or,
    }
}
