//! pest pairs -> AST for `grammar` items and the split parts over finite
//! universes (`where`, `fraction`, `rest`); see [`super::build`].

use super::ast::*;
use super::build::Builder;
use super::lexical::{string_text, unescape};
use super::Rule;
use crate::source::Span;
use pest::iterators::{Pair, Pairs};

impl Builder {
    /// `grammar NAME { settings and rules }` (the keyword already filtered out of `inner`).
    pub(super) fn grammar<'i>(&self, span: Span, mut inner: impl Iterator<Item = Pair<'i, Rule>>) -> Grammar {
        let name = self.ident(inner.next().expect("grammar name"));
        let (mut settings, mut rules) = (vec![], vec![]);
        for e in inner {
            match e.as_rule() {
                Rule::g_setting => {
                    let mut kv = e.into_inner();
                    let k = self.ident(kv.next().expect("setting name"));
                    settings.push((k, self.expr(kv.next().expect("setting value"))));
                }
                Rule::g_rule => rules.push(self.g_rule(e)),
                r => unreachable!("grammar entry {r:?}"),
            }
        }
        Grammar { name, settings, rules, span }
    }

    fn g_rule(&self, p: Pair<'_, Rule>) -> GRule {
        let span = self.span(&p);
        let mut inner = p.into_inner().filter(|q| q.as_rule() != Rule::g_def);
        let name = self.ident(inner.next().expect("rule name"));
        let prods = inner.map(|q| self.g_prod(q)).collect();
        GRule { name, prods, span }
    }

    fn g_prod(&self, p: Pair<'_, Rule>) -> GProd {
        let span = self.span(&p);
        let (mut symbols, mut template) = (vec![], None);
        for q in p.into_inner() {
            match q.as_rule() {
                Rule::string => symbols.push(GSymbol::Word { span: self.span(&q), word: unescape(string_text(&q)) }),
                Rule::g_child => {
                    let mut ids: Vec<Ident> = q.into_inner().map(|i| self.ident(i)).collect();
                    let rule = ids.pop().expect("nonterminal");
                    symbols.push(GSymbol::Child { label: ids.pop(), rule });
                }
                Rule::g_template => template = Some(self.g_terms(q.into_inner())),
                _ => {}
            }
        }
        GProd { symbols, template, span }
    }

    fn g_terms(&self, pairs: Pairs<'_, Rule>) -> Vec<GTerm> {
        pairs.filter(|q| q.as_rule() == Rule::g_term).map(|q| self.g_term(q)).collect()
    }

    fn g_term(&self, p: Pair<'_, Rule>) -> GTerm {
        let span = self.span(&p);
        let mut inner = p.into_inner();
        let head = inner.next().expect("term");
        let kind = match head.as_rule() {
            Rule::string => GTermKind::Token(unescape(string_text(&head))),
            Rule::g_group => GTermKind::Group(self.g_terms(head.into_inner())),
            _ => GTermKind::Ref(self.ident(head.into_inner().next().expect("ref name"))),
        };
        let times = inner.next().map(|t| self.expr(t.into_inner().next().expect("repeat count")));
        GTerm { kind, times, span }
    }

    /// `where PRED [repeat EXPR]`, `fraction F` or `rest`, each `[corrupt C]`.
    pub(super) fn pick(&self, p: Pair<'_, Rule>) -> Pick {
        let span = self.span(&p);
        let (mut pred, mut repeat, mut fraction, mut corrupt) = (None, None, None, None);
        for q in p.into_inner() {
            match q.as_rule() {
                Rule::where_sel => pred = Some(self.expr(last_child(q))),
                Rule::repeat_mod => repeat = Some(self.expr(last_child(q))),
                Rule::fraction_sel => fraction = Some(self.expr(last_child(q))),
                Rule::corrupt_mod => corrupt = Some(self.expr(last_child(q))),
                _ => {}
            }
        }
        match (pred, fraction) {
            (Some(pred), _) => Pick::Where { pred, repeat, corrupt, span },
            (None, Some(fraction)) => Pick::Fraction { fraction, corrupt, span },
            (None, None) => Pick::Rest { corrupt, span },
        }
    }
}

fn last_child(p: Pair<'_, Rule>) -> Pair<'_, Rule> {
    p.into_inner().last().expect("selector value")
}
