//! pest pairs -> AST. The grammar guarantees the shapes matched here; a
//! mismatch would be a bug in this file, not bad input.

use super::ast::*;
use super::lexical::{number, string_text, trimmed_len, unescape};
use super::Rule;
use crate::source::{FileId, Span};
use pest::iterators::{Pair, Pairs};

/// Turns the pairs of a whole file into its AST.
pub fn build(file: FileId, pairs: Pairs<'_, Rule>) -> File {
    let b = Builder { file };
    let mut items = Vec::new();
    for pair in pairs.flatten().filter(|p| p.as_rule() == Rule::file) {
        for item in pair.into_inner() {
            if item.as_rule() != Rule::EOI {
                items.push(b.item(item));
            }
        }
    }
    File { items }
}

pub(super) struct Builder {
    file: FileId,
}

impl Builder {
    /// The pair's span without the whitespace and comments pest's implicit
    /// skipping leaves at its end.
    pub(super) fn span(&self, p: &Pair<'_, Rule>) -> Span {
        let s = p.as_span();
        Span::new(self.file, s.start(), s.start() + trimmed_len(p.as_str()))
    }

    pub(super) fn ident(&self, p: Pair<'_, Rule>) -> Ident {
        Ident { name: p.as_str().to_string(), span: self.span(&p) }
    }

    fn item(&self, p: Pair<'_, Rule>) -> Item {
        let span = self.span(&p);
        let rule = p.as_rule();
        let mut inner = p.into_inner().filter(|q| !is_keyword(q.as_rule()));
        match rule {
            Rule::import => {
                let s = inner.next().expect("import path");
                Item::Import { path: unescape(string_text(&s)), path_span: self.span(&s), span }
            }
            Rule::let_item => {
                let name = self.ident(inner.next().expect("let name"));
                Item::Let { name, value: self.expr(inner.next().expect("let value")), span }
            }
            Rule::model_item => {
                let name = self.ident(inner.next().expect("model name"));
                Item::Model { name, value: self.expr(inner.next().expect("model value")), span }
            }
            Rule::task_item | Rule::split_item | Rule::experiment_item => {
                let name = self.ident(inner.next().expect("item name"));
                let body = self.body(inner.next().expect("item body"));
                match rule {
                    Rule::task_item => Item::Task { name, body, span },
                    Rule::split_item => Item::Split { name, body, span },
                    _ => Item::Experiment { name, body, span },
                }
            }
            Rule::rasp_item => {
                let name = self.ident(inner.next().expect("rasp name"));
                let src = inner.next().expect("rasp source");
                let source = if src.as_rule() == Rule::rasp_block {
                    let text = src.into_inner().next().expect("rasp text");
                    let s = text.as_span();
                    RaspSource::Inline {
                        text: text.as_str().to_string(),
                        span: Span::new(self.file, s.start(), s.end()),
                    }
                } else {
                    RaspSource::File { path: unescape(string_text(&src)), path_span: self.span(&src), loaded: None }
                };
                Item::Rasp { name, source, span }
            }
            Rule::grammar_item => Item::Grammar(self.grammar(span, inner)),
            Rule::machine_item => {
                let name = self.ident(inner.next().expect("machine name"));
                let d = inner.next().expect("machine definition");
                let def = if d.as_rule() == Rule::machine_body {
                    self.machine_body(d)
                } else {
                    MachineDef::Generator(self.expr(d))
                };
                Item::Machine { name, def, span }
            }
            r => unreachable!("item rule {r:?}"),
        }
    }

    fn machine_body(&self, p: Pair<'_, Rule>) -> MachineDef {
        let span = self.span(&p);
        let (mut entries, mut rules) = (vec![], vec![]);
        for e in p.into_inner() {
            if e.as_rule() == Rule::rules_block {
                rules.extend(e.into_inner().filter(|r| r.as_rule() == Rule::tm_rule).map(|r| self.rule(r)));
            } else {
                entries.push(self.entry(e));
            }
        }
        MachineDef::Table { fields: Body { entries, span }, rules }
    }

    fn rule(&self, p: Pair<'_, Rule>) -> crate::syntax::ast::Rule {
        let span = self.span(&p);
        let mut inner = p.into_inner();
        let alts = |inner: &mut Pairs<'_, Rule>| -> Vec<Sym> {
            inner.next().expect("alternatives").into_inner().map(|s| self.sym(s)).collect()
        };
        let state = alts(&mut inner);
        let read = alts(&mut inner);
        let write = self.sym(inner.next().expect("write"));
        let mv = self.sym(inner.next().expect("move"));
        let next = self.sym(inner.next().expect("next"));
        crate::syntax::ast::Rule { state, read, write, mv, next, span }
    }

    fn sym(&self, p: Pair<'_, Rule>) -> Sym {
        let span = self.span(&p);
        let q = p.into_inner().next().expect("symbol");
        match q.as_rule() {
            Rule::wildcard => Sym { text: "*".into(), wildcard: true, span },
            Rule::string => Sym { text: unescape(string_text(&q)), wildcard: false, span },
            _ => Sym { text: q.as_str().to_string(), wildcard: false, span },
        }
    }

    fn body(&self, p: Pair<'_, Rule>) -> Body {
        let span = self.span(&p);
        Body { entries: p.into_inner().map(|e| self.entry(e)).collect(), span }
    }

    fn entry(&self, p: Pair<'_, Rule>) -> Entry {
        let span = self.span(&p);
        match p.as_rule() {
            Rule::field => {
                let mut inner = p.into_inner();
                let name = self.ident(inner.next().expect("field name"));
                let v = inner.next().expect("field value");
                let value = match v.as_rule() {
                    Rule::part => FieldValue::Part(self.part(v)),
                    Rule::pick => FieldValue::Pick(self.pick(v)),
                    Rule::universe => FieldValue::Universe(self.universe(v)),
                    _ => FieldValue::Expr(self.expr(v)),
                };
                Entry::Field { name, value, span }
            }
            Rule::block => {
                let mut inner = p.into_inner();
                let name = self.ident(inner.next().expect("block name"));
                Entry::Block { name, body: self.body(inner.next().expect("block body")), span }
            }
            Rule::expect => Entry::Expect(self.expect(p)),
            r => unreachable!("entry rule {r:?}"),
        }
    }

    fn expect(&self, p: Pair<'_, Rule>) -> Expect {
        let span = self.span(&p);
        let (mut reducer, mut path, mut op, mut value) = (None, vec![], String::new(), None);
        for q in p.into_inner() {
            match q.as_rule() {
                Rule::reducer => reducer = Some(self.ident(q)),
                Rule::metric_path => path = q.into_inner().map(|i| self.ident(i)).collect(),
                Rule::cmp_op => op = q.as_str().to_string(),
                Rule::expr => value = Some(self.expr(q)),
                _ => {}
            }
        }
        Expect { reducer, path, op, value: value.expect("expect value"), span }
    }

    fn part(&self, p: Pair<'_, Rule>) -> Part {
        let span = self.span(&p);
        let (mut range, mut step, mut count) = (None, None, None);
        for q in p.into_inner() {
            match q.as_rule() {
                Rule::len_sel => {
                    let r = q.into_inner().find(|r| r.as_rule() == Rule::range).expect("range");
                    range = Some(self.range(r));
                }
                Rule::step_mod => step = Some(self.expr(last(q))),
                Rule::count_mod => count = Some(self.expr(last(q))),
                _ => {}
            }
        }
        Part { range: range.expect("part range"), step, count, span }
    }

    fn universe(&self, p: Pair<'_, Rule>) -> Universe {
        let span = self.span(&p);
        let (mut vars, mut filter) = (vec![], None);
        for q in p.into_inner() {
            match q.as_rule() {
                Rule::universe_var => {
                    let mut inner = q.into_inner();
                    let name = self.ident(inner.next().expect("variable name"));
                    vars.push(UniverseVar { name, range: self.range(inner.next().expect("variable range")) });
                }
                Rule::expr => filter = Some(self.expr(q)),
                _ => {}
            }
        }
        Universe { vars, filter, span }
    }

    fn range(&self, p: Pair<'_, Rule>) -> Range {
        let span = self.span(&p);
        let mut inner = p.into_inner();
        let lo = self.expr(inner.next().expect("range lo"));
        let inclusive = inner.next().expect("range op").as_str() == "..=";
        let hi = self.expr(inner.next().expect("range hi"));
        Range { lo, hi, inclusive, span }
    }

    /// Any expression rule -> Expr. Single-child precedence levels collapse.
    pub(super) fn expr(&self, p: Pair<'_, Rule>) -> Expr {
        let span = self.span(&p);
        let rule = p.as_rule();
        let kind = match rule {
            Rule::expr => return self.expr(p.into_inner().next().expect("inner expr")),
            Rule::paren => {
                // `(e)` is `e`; `(a, b, ...)` a tuple.
                let mut items: Vec<Expr> = p.into_inner().map(|q| self.expr(q)).collect();
                if items.len() == 1 {
                    return items.pop().expect("one item");
                }
                ExprKind::Tuple(items)
            }
            Rule::if_expr => {
                let mut e = p.into_inner().filter(|q| !is_keyword(q.as_rule())).map(|q| Box::new(self.expr(q)));
                let (cond, then, els) = (e.next().expect("cond"), e.next().expect("then"), e.next().expect("else"));
                ExprKind::If { cond, then, els }
            }
            Rule::or_expr | Rule::and_expr | Rule::cmp_expr | Rule::concat_expr | Rule::sum | Rule::product => {
                return self.binary_chain(p);
            }
            Rule::unary => {
                let mut ops = vec![];
                let mut operand = None;
                for q in p.into_inner() {
                    if q.as_rule() == Rule::unary_op {
                        ops.push((q.as_str().to_string(), self.span(&q)));
                    } else {
                        operand = Some(self.expr(q));
                    }
                }
                let mut e = operand.expect("unary operand");
                for (op, op_span) in ops.into_iter().rev() {
                    let op = if op == "not" { "!".to_string() } else { op };
                    e = Expr { span: op_span.to(e.span), kind: ExprKind::Unary { op, operand: Box::new(e) } };
                }
                return e;
            }
            Rule::postfix => return self.postfix(p),
            Rule::number => ExprKind::Num(number(p.as_str())),
            Rule::string => ExprKind::Str(unescape(string_text(&p))),
            Rule::boolean => ExprKind::Bool(p.as_str() == "true"),
            Rule::ident => ExprKind::Ident(p.as_str().to_string()),
            Rule::list => ExprKind::List(p.into_inner().map(|q| self.expr(q)).collect()),
            Rule::sweep => {
                let list = p.into_inner().find(|q| q.as_rule() == Rule::list).expect("sweep list");
                ExprKind::Sweep(list.into_inner().map(|q| self.expr(q)).collect())
            }
            Rule::call => {
                let mut inner = p.into_inner();
                let func = self.ident(inner.next().expect("callee"));
                let args = inner.map(|a| self.arg(a)).collect();
                ExprKind::Call { func, args }
            }
            Rule::rasp_ref => {
                let mut inner = p.into_inner().filter(|q| q.as_rule() != Rule::kw_rasp);
                let program = self.ident(inner.next().expect("rasp program"));
                let sop = self.ident(inner.next().expect("rasp s-op"));
                ExprKind::Rasp { program, sop }
            }
            Rule::record => {
                let mut inner = p.into_inner();
                let name = self.ident(inner.next().expect("record name"));
                ExprKind::Record { name, body: self.body(inner.next().expect("record body")) }
            }
            r => unreachable!("expression rule {r:?}"),
        };
        Expr { kind, span }
    }

    fn arg(&self, p: Pair<'_, Rule>) -> Arg {
        let mut inner: Vec<Pair<'_, Rule>> = p.into_inner().collect();
        let value = self.expr(inner.pop().expect("arg value"));
        let name = inner.pop().map(|n| self.ident(n));
        Arg { name, value }
    }

    /// `a op b op c` -> left-associative binary nodes. Comparison has at most one operator.
    fn binary_chain(&self, p: Pair<'_, Rule>) -> Expr {
        let mut inner = p.into_inner();
        let mut lhs = self.expr(inner.next().expect("lhs"));
        while let Some(op) = inner.next() {
            let rhs = self.expr(inner.next().expect("rhs"));
            let op = match op.as_str() {
                "or" => "||",
                "and" => "&&",
                o => o,
            }
            .to_string();
            lhs = Expr {
                span: lhs.span.to(rhs.span),
                kind: ExprKind::Binary { op, lhs: Box::new(lhs), rhs: Box::new(rhs) },
            };
        }
        lhs
    }

    fn postfix(&self, p: Pair<'_, Rule>) -> Expr {
        let mut inner = p.into_inner();
        let mut e = self.expr(inner.next().expect("primary"));
        for s in inner {
            let span = e.span.to(self.span(&s));
            let seq = Box::new(e);
            let kind = match s.as_rule() {
                Rule::index => {
                    let (mut start, mut tail) = (None, None);
                    for q in s.into_inner() {
                        match q.as_rule() {
                            Rule::slice_tail => tail = Some(q),
                            _ => start = Some(Box::new(self.expr(q))),
                        }
                    }
                    match tail {
                        None => ExprKind::Index { seq, index: start.expect("index") },
                        Some(t) => {
                            let mut b =
                                t.into_inner().map(|bound| bound.into_inner().next().map(|x| Box::new(self.expr(x))));
                            let stop = b.next().flatten();
                            let step = b.next().flatten();
                            ExprKind::Slice { seq, start, stop, step }
                        }
                    }
                }
                r => unreachable!("suffix rule {r:?}"),
            };
            e = Expr { kind, span };
        }
        e
    }
}

fn is_keyword(r: Rule) -> bool {
    matches!(
        r,
        Rule::kw_import
            | Rule::kw_let
            | Rule::kw_task
            | Rule::kw_model
            | Rule::kw_split
            | Rule::kw_experiment
            | Rule::kw_expect
            | Rule::kw_sweep
            | Rule::kw_rasp
            | Rule::kw_machine
            | Rule::kw_rules
            | Rule::kw_if
            | Rule::kw_then
            | Rule::kw_else
            | Rule::kw_len
            | Rule::kw_step
            | Rule::kw_count
            | Rule::kw_grammar
            | Rule::kw_where
            | Rule::kw_repeat
            | Rule::kw_fraction
            | Rule::kw_rest
    )
}

fn last(p: Pair<'_, Rule>) -> Pair<'_, Rule> {
    p.into_inner().last().expect("modifier value")
}
