//! RASP text -> pest pairs (`grammar/rasp.pest`) -> spanned [`ast::Program`].

use super::ast::*;
use crate::diag::Diag;
use crate::source::{FileId, Span};
use pest::iterators::Pair;
use pest::Parser;

#[derive(pest_derive::Parser)]
#[grammar = "../grammar/rasp.pest"]
pub struct RaspParser;

/// Parses a program. Spans point into file `file`, shifted by `offset` bytes
/// (the program's start inside that file, for `rasp NAME { ... }` blocks).
#[allow(clippy::result_large_err)] // a Diag, as `syntax::parse` returns
pub fn parse(file: FileId, text: &str, offset: usize) -> Result<Program, Diag> {
    crate::source::on_big_stack(|| parse_here(file, text, offset))
}

/// [`parse`] on the caller's stack.
fn parse_here(file: FileId, text: &str, offset: usize) -> Result<Program, Diag> {
    crate::syntax::depth::check_depth(file, text, offset, crate::syntax::depth::Lang::Rasp)?;
    let mut pairs = RaspParser::parse(Rule::program, text).map_err(|e| syntax_error(file, text, offset, e))?;
    let b = Builder { file, offset };
    let program = pairs.next().expect("program");
    let stmts = program.into_inner().filter(|p| p.as_rule() != Rule::EOI).map(|p| b.stmt(p)).collect();
    Ok(Program { stmts })
}

fn syntax_error(file: FileId, text: &str, offset: usize, e: pest::error::Error<Rule>) -> Diag {
    use pest::error::{ErrorVariant, InputLocation};
    let (start, end) = match e.location {
        InputLocation::Pos(p) => (p, text[p..].chars().next().map_or(p, |c| p + c.len_utf8())),
        InputLocation::Span(s) => s,
    };
    // An error at the start of a line after a complete expression: a `;` is missing.
    let line_start = text[..start].rfind('\n').map_or(0, |i| i + 1);
    let prev = text[..line_start].trim_end().len();
    let after_expr = !text[..prev].ends_with([';', '{', '}', ',', '(', '[', '=']);
    if text[line_start..start].trim().is_empty() && prev > 0 && after_expr {
        return Diag::error("algen::parse::syntax", "RASP syntax error: expected `;`")
            .at(Span::new(file, offset + prev, offset + prev), "`;` missing here")
            .help("RASP statements end with `;`");
    }
    let mut words: Vec<&str> = match &e.variant {
        ErrorVariant::ParsingError { positives, .. } => positives.iter().filter_map(|r| words(*r)).collect(),
        ErrorVariant::CustomError { .. } => vec![],
    };
    words.sort();
    words.dedup();
    let found = match text[start..].split_whitespace().next() {
        None => "the end of the program".to_string(),
        Some(w) => format!("`{}`", w.chars().take(20).collect::<String>()),
    };
    let message = if words.is_empty() {
        format!("RASP syntax error at {found}")
    } else {
        format!("RASP syntax error: expected {}, found {found}", words.join(" or "))
    };
    let help = if text[start..].starts_with("!=") {
        "`!=` exists only inside `select(keys, queries, !=)`; write `not (a == b)`"
    } else if words.contains(&"`;`") {
        "RASP statements end with `;`"
    } else {
        "RASP uses the original syntax: `x = e;`, `def f(a) { ...; return e; }`, `for x in l { ... }`"
    };
    Diag::error("algen::parse::syntax", message)
        .at(Span::new(file, offset + start, offset + end.max(start)), "here")
        .help(help)
}

fn words(rule: Rule) -> Option<&'static str> {
    Some(match rule {
        Rule::EOI => "the end of the program",
        Rule::ident | Rule::ids => "a name",
        Rule::expr | Rule::exprs | Rule::unary | Rule::postfix | Rule::tern_expr | Rule::logic_expr => "an expression",
        Rule::cmp_expr | Rule::add_expr | Rule::mod_expr | Rule::mul_expr | Rule::pow_expr => "an expression",
        Rule::assign | Rule::expr_stmt | Rule::func_def | Rule::for_loop => "a statement",
        Rule::ret | Rule::kw_return => "`return`",
        Rule::sel_op => "a comparison (`==`, `!=`, `<`, `>`, `<=`, `>=`)",
        Rule::kw_in | Rule::in_op => "`in`",
        Rule::kw_else => "`else`",
        Rule::index | Rule::call_args | Rule::pow_op | Rule::mul_op | Rule::mod_op | Rule::add_op => "an operator",
        Rule::cmp_op | Rule::logic_op | Rule::tern_tail => "an operator",
        _ => return None,
    })
}

struct Builder {
    file: FileId,
    offset: usize,
}

type P<'a> = Pair<'a, Rule>;

impl Builder {
    fn span(&self, p: &P) -> Span {
        let s = p.as_span();
        Span::new(self.file, self.offset + s.start(), self.offset + s.end())
    }

    fn ident(&self, p: P) -> Ident {
        Ident { name: p.as_str().to_string(), span: self.span(&p) }
    }

    fn ids(&self, p: P) -> Vec<Ident> {
        p.into_inner().map(|i| self.ident(i)).collect()
    }

    fn exprs(&self, p: P) -> Vec<Expr> {
        p.into_inner().map(|e| self.expr(e)).collect()
    }

    fn stmt(&self, p: P) -> Stmt {
        let span = self.span(&p);
        match p.as_rule() {
            Rule::assign => {
                let mut it = p.into_inner();
                let names = self.ids(it.next().unwrap());
                let values = self.exprs(it.next().unwrap());
                Stmt::Assign { names, values, span }
            }
            Rule::expr_stmt => Stmt::Expr(self.expr(p.into_inner().next().unwrap())),
            Rule::func_def => Stmt::Def(self.func_def(p)),
            Rule::for_loop => {
                let mut it = p.into_inner().filter(|q| !matches!(q.as_rule(), Rule::kw_for | Rule::kw_in));
                let names = self.ids(it.next().unwrap());
                let iter = self.expr(it.next().unwrap());
                let body = it.map(|s| self.stmt(s)).collect();
                Stmt::For { names, iter, body, span }
            }
            Rule::load_stmt => Stmt::Load { span },
            Rule::draw_stmt => Stmt::Draw { span },
            r => unreachable!("statement rule {r:?}"),
        }
    }

    fn func_def(&self, p: P) -> FuncDef {
        let span = self.span(&p);
        let mut name = None;
        let (mut params, mut body, mut ret) = (vec![], vec![], vec![]);
        for q in p.into_inner() {
            match q.as_rule() {
                Rule::kw_def => {}
                Rule::ident => name = Some(self.ident(q)),
                Rule::ids => params = self.ids(q),
                Rule::ret => ret = self.exprs(q.into_inner().nth(1).unwrap()),
                _ => body.push(self.stmt(q)),
            }
        }
        FuncDef { name: name.unwrap(), params, body, ret, span }
    }

    fn mk(&self, kind: ExprKind, span: Span) -> Expr {
        Expr { kind, span }
    }

    fn bin(&self, l: Expr, op: BinOp, r: Expr) -> Expr {
        let span = l.span.to(r.span);
        self.mk(ExprKind::Binary { op, l: Box::new(l), r: Box::new(r) }, span)
    }

    /// Every precedence level: a left-associative chain of operands.
    fn expr(&self, p: P) -> Expr {
        let span = self.span(&p);
        match p.as_rule() {
            Rule::expr => {
                let mut it = p.into_inner();
                let mut acc = self.expr(it.next().unwrap());
                while let Some(_op) = it.next() {
                    let r = self.expr(it.next().unwrap());
                    let s = acc.span.to(r.span);
                    acc = self.mk(ExprKind::In { item: Box::new(acc), container: Box::new(r) }, s);
                }
                acc
            }
            Rule::tern_expr => {
                let mut it = p.into_inner();
                let mut acc = self.expr(it.next().unwrap());
                for tail in it {
                    let mut t = tail.into_inner().filter(|q| !matches!(q.as_rule(), Rule::kw_if | Rule::kw_else));
                    let cond = self.expr(t.next().unwrap());
                    let els = self.expr(t.next().unwrap());
                    let s = acc.span.to(els.span);
                    acc =
                        self.mk(ExprKind::Ternary { then: Box::new(acc), cond: Box::new(cond), els: Box::new(els) }, s);
                }
                acc
            }
            Rule::logic_expr | Rule::cmp_expr | Rule::add_expr | Rule::mod_expr | Rule::mul_expr | Rule::pow_expr => {
                let mut it = p.into_inner();
                let mut acc = self.expr(it.next().unwrap());
                while let Some(op) = it.next() {
                    let r = self.expr(it.next().unwrap());
                    acc = self.bin(acc, bin_op(op.as_str().trim()), r);
                }
                acc
            }
            Rule::unary => {
                let mut ops: Vec<(UnOp, usize)> = vec![];
                let mut operand = None;
                for q in p.into_inner() {
                    if q.as_rule() == Rule::unary_op {
                        let op = match q.as_str().trim() {
                            "-" => UnOp::Neg,
                            "+" => UnOp::Pos,
                            _ => UnOp::Not,
                        };
                        ops.push((op, self.span(&q).start));
                    } else {
                        operand = Some(self.expr(q));
                    }
                }
                let mut e = operand.unwrap();
                for (op, start) in ops.into_iter().rev() {
                    let s = Span::new(self.file, start, e.span.end);
                    e = self.mk(ExprKind::Unary { op, e: Box::new(e) }, s);
                }
                e
            }
            Rule::postfix => {
                let mut it = p.into_inner();
                let mut e = self.expr(it.next().unwrap());
                for suffix in it {
                    let s = e.span.to(self.span(&suffix));
                    e = match suffix.as_rule() {
                        Rule::index => {
                            let index = self.expr(suffix.into_inner().next().unwrap());
                            self.mk(ExprKind::Index { seq: Box::new(e), index: Box::new(index) }, s)
                        }
                        _ => {
                            let args = suffix.into_inner().next().map(|a| self.exprs(a)).unwrap_or_default();
                            self.mk(ExprKind::Call { func: Box::new(e), args }, s)
                        }
                    };
                }
                e
            }
            _ => self.primary(p, span),
        }
    }

    fn primary(&self, p: P, span: Span) -> Expr {
        let rule = p.as_rule();
        let text = p.as_str();
        let mut it = p.into_inner();
        let mut next = || self.expr(it.next().unwrap());
        let kind = match rule {
            Rule::paren => return next(),
            Rule::int => match text.parse::<i64>() {
                Ok(i) => ExprKind::Int(i),
                Err(_) => ExprKind::Float(f64::INFINITY),
            },
            Rule::float => ExprKind::Float(text.parse().unwrap_or(f64::NAN)),
            Rule::string => ExprKind::Str(text[1..text.len() - 1].to_string()),
            Rule::ident => ExprKind::Name(text.to_string()),
            Rule::round => ExprKind::Unary { op: UnOp::Round, e: Box::new(next()) },
            Rule::indicator => ExprKind::Unary { op: UnOp::Indicator, e: Box::new(next()) },
            Rule::select => {
                let keys = Box::new(next());
                let queries = Box::new(next());
                let op = sel_op(it.next().unwrap().as_str());
                ExprKind::Select { keys, queries, op }
            }
            Rule::aggregate => {
                let sel = Box::new(next());
                let seq = Box::new(next());
                let default = it.next().map(|d| Box::new(self.expr(d)));
                ExprKind::Aggregate { sel, seq, default }
            }
            Rule::range => ExprKind::Range(self.exprs(it.next().unwrap())),
            Rule::zip => ExprKind::Zip(self.exprs(it.next().unwrap())),
            Rule::len => ExprKind::Len(Box::new(next())),
            Rule::list => {
                let (items, comp) = split_comp(it);
                match comp {
                    Some((names, iter)) => {
                        let val = Box::new(self.expr(items.into_iter().next().unwrap()));
                        ExprKind::ListComp { val, names: self.ids(names), iter: Box::new(self.expr(iter)) }
                    }
                    None => ExprKind::List(items.into_iter().map(|e| self.expr(e)).collect()),
                }
            }
            Rule::dict => {
                let (entries, comp) = split_comp(it);
                let mut kvs = entries.into_iter().map(|entry| {
                    let mut kv = entry.into_inner();
                    (self.expr(kv.next().unwrap()), self.expr(kv.next().unwrap()))
                });
                match comp {
                    Some((names, iter)) => {
                        let (key, val) = kvs.next().unwrap();
                        let (names, iter) = (self.ids(names), Box::new(self.expr(iter)));
                        ExprKind::DictComp { key: Box::new(key), val: Box::new(val), names, iter }
                    }
                    None => ExprKind::Dict(kvs.collect()),
                }
            }
            r => unreachable!("expression rule {r:?}"),
        };
        self.mk(kind, span)
    }
}

/// A list's or dict's children: its items, and the `for NAMES in ITER` of a comprehension.
fn split_comp(it: pest::iterators::Pairs<'_, Rule>) -> (Vec<P<'_>>, Option<(P<'_>, P<'_>)>) {
    let (mut items, mut comp) = (vec![], None);
    for q in it {
        if q.as_rule() == Rule::comp_tail {
            let mut t = q.into_inner().filter(|q| !matches!(q.as_rule(), Rule::kw_for | Rule::kw_in));
            comp = Some((t.next().unwrap(), t.next().unwrap()));
        } else {
            items.push(q);
        }
    }
    (items, comp)
}

fn bin_op(s: &str) -> BinOp {
    match s {
        "^" => BinOp::Pow,
        "*" => BinOp::Mul,
        "/" => BinOp::Div,
        "%" => BinOp::Mod,
        "+" => BinOp::Add,
        "-" => BinOp::Sub,
        "==" => BinOp::Eq,
        "<=" => BinOp::Le,
        ">=" => BinOp::Ge,
        "<" => BinOp::Lt,
        ">" => BinOp::Gt,
        "and" => BinOp::And,
        _ => BinOp::Or,
    }
}

fn sel_op(s: &str) -> SelOp {
    match s {
        "==" => SelOp::Eq,
        "!=" => SelOp::Ne,
        "<" => SelOp::Lt,
        ">" => SelOp::Gt,
        "<=" => SelOp::Le,
        _ => SelOp::Ge,
    }
}
