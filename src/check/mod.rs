//! The checker: AST -> checked IR, reporting every error at once.
//!
//! [`check`] resolves names across all loaded files, validates each item and
//! lowers it into [`ir::Spec`]. It never stops at the first error: each item
//! is checked on its own, and an item that refers to a broken one gets no
//! second error for it.

mod arith;
mod bounds;
mod chomsky;
mod compiled;
mod cx;
mod experiment;
mod filter;
mod fits;
mod grammar;
mod infer;
mod lower;
mod lstm_s2s;
mod machine;
mod machine_lib;
mod model;
mod pick;
mod pointer;
mod position;
mod probe;
mod rasp;
mod recurrent;
mod seeds;
mod seq2seq;
mod split;
mod split_data;
mod task;
mod train;
mod turing_task;
mod universe;

use crate::diag::Diag;
use crate::ir;
use crate::source::{FileId, Span};
use crate::syntax::ast::{File, Item};
use cx::Cx;
use model::ModelDef;
use std::collections::BTreeMap;

/// The field names the checker accepts in a context: an item kind (`task`, `split`,
/// `experiment`, `machine`), a block of an experiment (`train`, `eval`) or a model constructor
/// (`transformer`, `lstm`, `rnn`, `stack_rnn`, `tape_rnn`); empty for anything else. For
/// completion in editors.
pub fn field_names(context: &str) -> &'static [&'static str] {
    match context {
        "task" => task::FIELDS,
        "split" => split::FIELDS,
        "experiment" => experiment::FIELDS,
        "train" => experiment::TRAIN_FIELDS,
        "eval" => experiment::EVAL_FIELDS,
        "machine" => machine::FIELDS,
        "transformer" => model::TRANSFORMER_FIELDS,
        "lstm" => model::LSTM_FIELDS,
        "rnn" => recurrent::RNN_FIELDS,
        "stack_rnn" => recurrent::STACK_RNN_FIELDS,
        "tape_rnn" => recurrent::TAPE_RNN_FIELDS,
        _ => &[],
    }
}

/// The names of the positional encodings (`position = ...`) and of the task formats.
pub fn encoding_names() -> Vec<&'static str> {
    position::names()
}
/// See [`encoding_names`].
pub const FORMAT_NAMES: &[&str] = task::FORMATS;

/// The checker's result: the IR when there were no errors, and every diagnostic (errors and warnings).
pub struct Checked {
    pub spec: Option<ir::Spec>,
    pub diags: Vec<Diag>,
}

/// AST (all files, imports first) -> IR.
pub fn check(files: &[(FileId, File)]) -> Checked {
    let mut cx = Cx::new();
    let items: Vec<&Item> = files.iter().flat_map(|(_, f)| f.items.iter()).collect();
    duplicates(&mut cx, &items);
    for it in &items {
        if let Item::Let { name, value, .. } = it {
            cx.lets.entry(name.name.clone()).or_insert_with(|| value.clone());
        }
    }
    rasp::items(&mut cx, &items);
    let mut tasks = BTreeMap::new();
    let mut splits = BTreeMap::new();
    let mut broken: Vec<String> = vec![];
    let mut spec = ir::Spec { machines: machine::items(&mut cx, &items), ..Default::default() };
    for it in &items {
        if let Item::Machine { name, .. } = it {
            if !cx.machines.contains_key(&name.name) {
                broken.push(name.name.clone());
            }
        }
    }
    for it in &items {
        match it {
            Item::Task { body, .. } if seq2seq::is_grammar_task(body) => {} // once every grammar is known
            Item::Task { name, body, .. } if !tasks.contains_key(&name.name) => match task::task(&mut cx, name, body) {
                Some(t) => {
                    spec.tasks.push(t.clone());
                    tasks.insert(name.name.clone(), t);
                }
                None => broken.push(name.name.clone()),
            },
            Item::Grammar(gr) if !tasks.contains_key(&gr.name.name) => match grammar::grammar(&mut cx, gr) {
                Some(t) => {
                    spec.tasks.push(t.clone());
                    tasks.insert(gr.name.name.clone(), t);
                }
                None => broken.push(gr.name.name.clone()),
            },
            Item::Split { name, body, .. } if !splits.contains_key(&name.name) => {
                match split::split(&mut cx, name, body) {
                    Some(s) => {
                        spec.splits.push(s.clone());
                        splits.insert(name.name.clone(), s);
                    }
                    None => broken.push(name.name.clone()),
                }
            }
            _ => {}
        }
    }
    for it in &items {
        if let Item::Task { name, body, .. } = it {
            if seq2seq::is_grammar_task(body) && !tasks.contains_key(&name.name) {
                match seq2seq::grammar_task(&mut cx, name, body, &tasks, &broken) {
                    Some(t) => {
                        spec.tasks.push(t.clone());
                        tasks.insert(name.name.clone(), t);
                    }
                    None => broken.push(name.name.clone()),
                }
            }
        }
    }
    let models = models(&mut cx, &items, &mut broken, &mut spec);
    let scope = experiment::Scope { tasks: &tasks, splits: &splits, models: &models, broken: &broken };
    for it in &items {
        if let Item::Experiment { name, body, .. } = it {
            if let Some(e) = experiment::experiment(&mut cx, name, body, &scope) {
                if !spec.experiments.iter().any(|x| x.name == e.name) {
                    spec.experiments.push(e);
                }
            }
        }
    }
    let mut diags = cx.finish();
    diags.sort_by_key(|d| d.sort_key());
    diags.dedup_by(|a, b| a.code == b.code && a.message == b.message && a.sort_key() == b.sort_key());
    let failed = diags.iter().any(|d| !d.warning);
    Checked { spec: (!failed).then_some(spec), diags }
}

fn duplicates(cx: &mut Cx, items: &[&Item]) {
    let mut seen: BTreeMap<&str, (Span, &str)> = BTreeMap::new();
    for it in items {
        let Some(name) = it.name() else { continue };
        if let Some((first, kind)) = seen.get(name.name.as_str()) {
            let mut d = Diag::error("algen::check::duplicate_name", format!("`{}` is defined twice", name.name))
                .at(name.span, format!("{} `{}` defined again here", it.kind(), name.name))
                .help("rename one of them: names are shared by all items and imported files");
            if first.file == name.span.file {
                d = d.label(*first, format!("first defined here as a {kind}"));
            } else {
                d = d.help(format!(
                    "`{}` is already defined as a {kind} in an imported file; rename one of them",
                    name.name
                ));
            }
            cx.push(d);
        } else {
            seen.insert(&name.name, (name.span, it.kind()));
        }
    }
}

/// Resolves model items in dependency order (a model may extend another).
fn models(cx: &mut Cx, items: &[&Item], broken: &mut Vec<String>, spec: &mut ir::Spec) -> BTreeMap<String, ModelDef> {
    let exprs: Vec<(&crate::syntax::ast::Ident, &crate::syntax::ast::Expr)> = items
        .iter()
        .filter_map(|it| if let Item::Model { name, value, .. } = it { Some((name, value)) } else { None })
        .collect();
    let mut done: BTreeMap<String, ModelDef> = BTreeMap::new();
    let mut pending: Vec<_> = exprs.clone();
    // Each pass resolves the models whose base is known; what is left is unknown or cyclic.
    loop {
        let before = pending.len();
        pending.retain(|(name, e)| {
            let base = base_name(e);
            if base
                .as_ref()
                .is_some_and(|b| !done.contains_key(b) && exprs.iter().any(|(n, _)| &n.name == b) && b != &name.name)
            {
                return true;
            }
            match model::def(cx, e, &done, broken, false) {
                Some(d) => match model::arch(cx, &d).and_then(|a| bounds::model_fits(cx, a, e.span)) {
                    Some(arch) => {
                        spec.models.push(ir::Model { name: name.name.clone(), arch, span: name.span });
                        done.entry(name.name.clone()).or_insert(d);
                    }
                    None => broken.push(name.name.clone()),
                },
                None => broken.push(name.name.clone()),
            }
            false
        });
        if pending.is_empty() || pending.len() == before {
            break;
        }
    }
    for (name, e) in pending {
        cx.push(
            Diag::error("algen::check::unknown_name", format!("model `{}` extends itself through a cycle", name.name))
                .at(e.span, "cyclic model definition")
                .help("a model may extend another model, not itself"),
        );
        broken.push(name.name.clone());
    }
    done
}

fn base_name(e: &crate::syntax::ast::Expr) -> Option<String> {
    use crate::syntax::ast::ExprKind;
    match &e.kind {
        ExprKind::Record { name, .. } => Some(name.name.clone()),
        ExprKind::Ident(n) => Some(n.clone()),
        _ => None,
    }
}
