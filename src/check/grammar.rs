//! `grammar NAME { ... }` items: resolved into a grammar task (`format = lm`, word tokens).
//!
//! Checks: rules defined once; every nonterminal a production names has a rule
//! (`unknown_rule`, with a did-you-mean); every rule derives at least one finite sentence
//! (`unproductive_rule`); templates name children the production has, unambiguously
//! (`template_child`); a production without a template has exactly one nonterminal.

use super::cx::Cx;
use crate::diag::{suggest, Diag};
use crate::ir::{self, grammar as g};
use crate::syntax::ast::{GProd, GSymbol, GTerm, GTermKind, Grammar};
use std::collections::BTreeMap;

/// Depth bound of sampled derivations when `max_depth` is not given: deep enough for nested
/// phrases, small enough that sampled sentences stay short.
pub const MAX_DEPTH: usize = 12;
const SETTINGS: &[&str] = &["max_depth"];
const MAX_TIMES: i64 = 1000;

/// Tokens in order of first use.
#[derive(Default)]
struct Vocab(Vec<String>);

impl Vocab {
    fn id(&mut self, t: &str) -> u32 {
        match self.0.iter().position(|x| x == t) {
            Some(i) => i as u32,
            None => {
                self.0.push(t.to_string());
                self.0.len() as u32 - 1
            }
        }
    }
}

pub fn grammar(cx: &mut Cx, gr: &Grammar) -> Option<ir::Task> {
    let max_depth = settings(cx, gr)?;
    let mut index: BTreeMap<&str, usize> = BTreeMap::new();
    for r in &gr.rules {
        if index.contains_key(r.name.name.as_str()) {
            cx.push(
                Diag::error("algen::check::duplicate_name", format!("rule `{}` is defined twice", r.name.name))
                    .at(r.name.span, "defined again here")
                    .help("give all alternatives of a nonterminal in one rule, separated by `|`"),
            );
            return None;
        }
        index.insert(&r.name.name, index.len());
    }
    if gr.rules.is_empty() {
        cx.push(
            Diag::error("algen::check::missing_field", format!("grammar `{}` has no rules", gr.name.name))
                .at(gr.name.span, "empty grammar")
                .help("add rules like `S = \"walk\" => \"WALK\"`; the first rule is the start symbol"),
        );
        return None;
    }
    let (mut words, mut outs) = (Vocab::default(), Vocab::default());
    let mut rules = vec![];
    let mut ok = true;
    for r in &gr.rules {
        let mut prods = vec![];
        for p in &r.prods {
            match prod(cx, p, &index, &mut words, &mut outs) {
                Some(p) => prods.push(p),
                None => ok = false,
            }
        }
        rules.push(g::GRule { name: r.name.name.clone(), prods });
    }
    if !ok || !productive(cx, gr, &rules) {
        return None;
    }
    let finite = !recursive(&rules);
    Some(ir::Task {
        name: gr.name.name.clone(),
        alphabet: words.0,
        kind: ir::TaskKind::Grammar(g::Grammar { rules, max_depth, finite }),
        format: ir::Format::Lm,
        outputs: outs.0,
        score_until: None,
        span: gr.name.span,
    })
}

fn settings(cx: &mut Cx, gr: &Grammar) -> Option<usize> {
    let mut max_depth = MAX_DEPTH;
    for (k, v) in &gr.settings {
        match k.name.as_str() {
            "max_depth" => max_depth = cx.int_in(v, 1, 256)? as usize,
            other => {
                cx.push(
                    Diag::error("algen::check::unknown_field", format!("a grammar has no setting `{other}`"))
                        .at(k.span, "unknown")
                        .help(suggest(other, SETTINGS)),
                );
                return None;
            }
        }
    }
    Some(max_depth)
}

fn prod(cx: &mut Cx, p: &GProd, index: &BTreeMap<&str, usize>, words: &mut Vocab, outs: &mut Vocab) -> Option<g::Prod> {
    let mut symbols = vec![];
    // Child name -> symbol index; `None` when two children share the name.
    let mut names: BTreeMap<&str, Option<usize>> = BTreeMap::new();
    let mut ok = true;
    for (i, s) in p.symbols.iter().enumerate() {
        match s {
            GSymbol::Word { word, .. } => symbols.push(g::Sym::Word(words.id(word))),
            GSymbol::Child { label, rule } => {
                let Some(&r) = index.get(rule.name.as_str()) else {
                    let known: Vec<&str> = index.keys().copied().collect();
                    cx.push(
                        Diag::error("algen::check::unknown_rule", format!("no rule defines `{}`", rule.name))
                            .at(rule.span, "undefined nonterminal")
                            .help(suggest(&rule.name, &known)),
                    );
                    ok = false;
                    continue;
                };
                symbols.push(g::Sym::Rule(r));
                let name = label.as_ref().unwrap_or(rule).name.as_str();
                let e = names.entry(name).or_insert(Some(i));
                if *e != Some(i) {
                    *e = None;
                }
            }
        }
    }
    if !ok {
        return None;
    }
    let template = match &p.template {
        Some(t) => terms(cx, t, &names, outs)?,
        None => {
            let kids: Vec<usize> = (0..symbols.len()).filter(|&i| matches!(symbols[i], g::Sym::Rule(_))).collect();
            if kids.len() != 1 {
                cx.push(
                    Diag::error("algen::check::template_child", "this production needs an interpretation")
                        .at(p.span, format!("{} nonterminals and no `=>`", kids.len()))
                        .help("add `=> TEMPLATE`, e.g. `=> \"I_WALK\"` or `=> x2 x1`; only a production with one nonterminal may leave it out"),
                );
                return None;
            }
            vec![g::Term::Child(kids[0])]
        }
    };
    Some(g::Prod { symbols, template })
}

fn terms(cx: &mut Cx, ts: &[GTerm], names: &BTreeMap<&str, Option<usize>>, outs: &mut Vocab) -> Option<Vec<g::Term>> {
    let mut out = vec![];
    for t in ts {
        let term = match &t.kind {
            GTermKind::Token(tok) => g::Term::Out(outs.id(tok)),
            GTermKind::Group(inner) => g::Term::Repeat { terms: terms(cx, inner, names, outs)?, times: 1 },
            GTermKind::Ref(r) => match names.get(r.name.as_str()) {
                Some(Some(i)) => g::Term::Child(*i),
                Some(None) => {
                    cx.push(
                        Diag::error("algen::check::template_child", format!("`{}` names two children", r.name))
                            .at(r.span, "ambiguous")
                            .help(format!("label them in the production, e.g. `x1:{0} \"and\" x2:{0}`", r.name)),
                    );
                    return None;
                }
                None => {
                    let known: Vec<&str> = names.keys().copied().collect();
                    let help = match crate::diag::did_you_mean(&r.name, known.iter().copied()) {
                        Some(k) => format!("did you mean `{k}`?"),
                        None if known.is_empty() => "this production has no nonterminal children; output tokens are written in quotes: `\"I_WALK\"`".into(),
                        None => format!("the children are {}; output tokens are written in quotes", list(&known)),
                    };
                    cx.push(
                        Diag::error(
                            "algen::check::template_child",
                            format!("the production has no child `{}`", r.name),
                        )
                        .at(r.span, "not a child of this production")
                        .help(help),
                    );
                    return None;
                }
            },
        };
        let term = match &t.times {
            None => term,
            Some(e) => {
                let times = cx.int_in(e, 0, MAX_TIMES)? as usize;
                match term {
                    g::Term::Repeat { terms, .. } => g::Term::Repeat { terms, times },
                    other => g::Term::Repeat { terms: vec![other], times },
                }
            }
        };
        out.push(term);
    }
    Some(out)
}

fn list(names: &[&str]) -> String {
    names.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ")
}

/// Reports rules that derive no finite sentence (every production needs an unproductive rule).
fn productive(cx: &mut Cx, gr: &Grammar, rules: &[g::GRule]) -> bool {
    let mut good = vec![false; rules.len()];
    loop {
        let mut changed = false;
        for (i, r) in rules.iter().enumerate() {
            let now = r.prods.iter().any(|p| p.symbols.iter().all(|s| !matches!(s, g::Sym::Rule(j) if !good[*j])));
            if now && !good[i] {
                good[i] = true;
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
    for (i, r) in gr.rules.iter().enumerate().filter(|(i, _)| !good[*i]) {
        cx.push(
            Diag::error(
                "algen::check::unproductive_rule",
                format!("rule `{}` derives no finite sentence", r.name.name),
            )
            .at(r.name.span, "every production of this rule recurses without end")
            .help(format!(
                "give `{}` a production that ends in words, e.g. `{} = \"word\" => \"OUT\"`",
                rules[i].name, rules[i].name
            )),
        );
    }
    good.iter().all(|&g| g)
}

/// Whether a rule reachable from the start reaches itself.
fn recursive(rules: &[g::GRule]) -> bool {
    let kids = |i: usize| -> Vec<usize> {
        let mut v: Vec<usize> = rules[i]
            .prods
            .iter()
            .flat_map(|p| p.symbols.iter().filter_map(|s| if let g::Sym::Rule(j) = s { Some(*j) } else { None }))
            .collect();
        v.sort();
        v.dedup();
        v
    };
    // Depth-first search from the start with colours: 1 on the stack, 2 done.
    fn dfs(i: usize, colour: &mut [u8], kids: &dyn Fn(usize) -> Vec<usize>) -> bool {
        colour[i] = 1;
        for j in kids(i) {
            if colour[j] == 1 || (colour[j] == 0 && dfs(j, colour, kids)) {
                return true;
            }
        }
        colour[i] = 2;
        false
    }
    dfs(0, &mut vec![0; rules.len()], &kids)
}
