//! Hover, go to definition and completion at a byte offset of a document.

use super::doc::Analysis;
use super::fields::field_hover;
use crate::ir::expr::Builtin;
use crate::source::Span;
use crate::syntax::ast::{ExprKind, Item};
use crate::syntax::cst::{Cst, TokKind};
use crate::syntax::Rule;
use lsp_types::{CompletionItem, CompletionItemKind, Location};

/// What is under the cursor: a field name (with its context) or a name that may be an item.
pub enum Target {
    Field { name: String, context: String },
    Name(String),
    Import(String),
}

/// The token under `offset` (or just before it, at the end of a word).
pub fn target_at(text: &str, offset: usize, analysis: &Analysis) -> Option<Target> {
    let cst = Cst::parse(0, text).ok()?;
    let tok = cst.tokens.iter().find(|t| t.start <= offset && offset <= t.end && t.kind != TokKind::Punct)?;
    match tok.kind {
        TokKind::Leaf(Rule::field_name) if matches!(tok.parent, Rule::field | Rule::block | Rule::arg) => {
            let context = scope_at(text, tok.start, analysis).unwrap_or_default();
            Some(Target::Field { name: tok.text.clone(), context })
        }
        TokKind::Leaf(Rule::ident | Rule::callee) => Some(Target::Name(tok.text.clone())),
        TokKind::Leaf(Rule::string) if tok.parent == Rule::import => {
            Some(Target::Import(tok.text.trim_matches('"').to_string()))
        }
        _ => None,
    }
}

/// Every item named `name` in the document and its imports.
pub fn definitions<'a>(analysis: &'a Analysis, name: &str) -> Vec<(&'a Item, Span)> {
    let items = analysis.files.iter().flat_map(|(_, f)| f.items.iter());
    items.filter_map(|it| it.name().filter(|n| n.name == name).map(|n| (it, n.span))).collect()
}

/// Where a target is defined: the item of a name, or the file of an import.
pub fn definition(analysis: &Analysis, target: &Target, doc_dir: &std::path::Path) -> Vec<Location> {
    match target {
        Target::Name(n) => definitions(analysis, n).into_iter().filter_map(|(_, s)| analysis.location(s)).collect(),
        Target::Import(p) => {
            let path = doc_dir.join(p);
            let uri = std::fs::canonicalize(&path).ok().and_then(|p| lsp_types::Url::from_file_path(p).ok());
            uri.map(|u| Location::new(u, Default::default())).into_iter().collect()
        }
        Target::Field { .. } => vec![],
    }
}

/// Hover text (markdown) for a target.
pub fn hover(analysis: &Analysis, target: &Target) -> Option<String> {
    match target {
        Target::Field { name, context } => field_hover(context, name),
        Target::Name(n) => {
            let (item, _) = definitions(analysis, n).into_iter().next()?;
            Some(item_text(analysis, item))
        }
        Target::Import(p) => Some(format!("imports `{p}`")),
    }
}

/// An item's definition as written (its first 20 lines), with the file it is in.
fn item_text(analysis: &Analysis, item: &Item) -> String {
    let span = item_span(item);
    let src = analysis.sources.get(span.file);
    let body: Vec<&str> = src.text[span.start..span.end.min(src.text.len())].lines().take(20).collect();
    let more = if src.text[span.start..span.end.min(src.text.len())].lines().count() > 20 { "\n..." } else { "" };
    format!(
        "{} `{}` ({})\n\n```algen\n{}{more}\n```",
        item.kind(),
        item.name().map_or("", |n| &n.name),
        src.name,
        body.join("\n")
    )
}

fn item_span(item: &Item) -> Span {
    match item {
        Item::Import { span, .. }
        | Item::Let { span, .. }
        | Item::Task { span, .. }
        | Item::Model { span, .. }
        | Item::Split { span, .. }
        | Item::Experiment { span, .. }
        | Item::Rasp { span, .. }
        | Item::Machine { span, .. } => *span,
        Item::Grammar(g) => g.span,
    }
}

/// The field context of the innermost `{ ... }` around `offset`, read from the text before it
/// (so that it works while the text does not parse): `task`, `split`, `experiment`, `train`,
/// `eval`, `machine`, or a model constructor (`transformer`, `lstm`, ...; a model name is
/// followed to the constructor it is built from).
pub fn scope_at(text: &str, offset: usize, analysis: &Analysis) -> Option<String> {
    let mut stack: Vec<String> = vec![];
    let bytes = text.as_bytes();
    let mut i = 0;
    let end = offset.min(text.len());
    while i < end {
        match bytes[i] {
            b'"' => i += text[i + 1..].find(['"', '\n']).map_or(text.len(), |j| j + 2),
            b'/' if text[i..].starts_with("//") => i += text[i..].find('\n').unwrap_or(text.len() - i),
            b'{' => {
                stack.push(opener_context(&text[..i], analysis));
                i += 1;
            }
            b'}' => {
                stack.pop();
                i += 1;
            }
            _ => i += 1,
        }
    }
    stack.pop().filter(|s| !s.is_empty())
}

/// The context a `{` opens, from the words before it (`task t {`, `train {`, `small {`).
fn opener_context(before: &str, analysis: &Analysis) -> String {
    let mut words = before.rsplit(|c: char| !(c.is_alphanumeric() || c == '_')).filter(|w| !w.is_empty());
    let last = words.next().unwrap_or_default();
    let tail = before.trim_end();
    if !tail.ends_with(last) {
        return String::new(); // `= {`, `( {`: no named body
    }
    let prev = words.next().unwrap_or_default();
    match prev {
        "task" | "split" | "experiment" | "machine" | "grammar" | "rasp" => prev.to_string(),
        _ => arch(analysis, last, 0),
    }
}

/// The constructor behind a model name (`small` -> `transformer`), through every loaded file.
fn arch(analysis: &Analysis, name: &str, depth: usize) -> String {
    let model = analysis.files.iter().flat_map(|(_, f)| f.items.iter()).find_map(|it| match it {
        Item::Model { name: n, value, .. } if n.name == name => Some(value),
        _ => None,
    });
    match model.map(|v| &v.kind) {
        Some(ExprKind::Record { name: inner, .. }) if depth < 16 => arch(analysis, &inner.name, depth + 1),
        _ => name.to_string(),
    }
}

const ITEM_KEYWORDS: &[&str] = &["import", "let", "task", "model", "split", "experiment", "grammar", "rasp", "machine"];
const CONSTRUCTORS: &[&str] = &["transformer", "lstm", "rnn", "stack_rnn", "tape_rnn", "compiled"];

/// Completions at `offset`: the fields of the body around it (or the item keywords at the top
/// level), then the names of the document's items and its imports', the encodings, formats,
/// model constructors and builtin functions.
pub fn completions(analysis: &Analysis, text: &str, offset: usize) -> Vec<CompletionItem> {
    let item = |label: &str, kind, detail: &str| CompletionItem {
        label: label.to_string(),
        kind: Some(kind),
        detail: Some(detail.to_string()),
        ..CompletionItem::default()
    };
    let mut out = vec![];
    match scope_at(text, offset, analysis) {
        Some(ctx) => {
            for f in crate::check::field_names(&ctx) {
                let mut c = item(f, CompletionItemKind::FIELD, &format!("{ctx} field"));
                c.documentation = field_hover(&ctx, f).map(lsp_types::Documentation::String);
                out.push(c);
            }
            if ctx == "experiment" {
                out.extend(["train", "eval", "expect"].map(|b| item(b, CompletionItemKind::KEYWORD, "block")));
            }
        }
        None => out.extend(ITEM_KEYWORDS.iter().map(|k| item(k, CompletionItemKind::KEYWORD, "item"))),
    }
    for (_, f) in &analysis.files {
        for it in f.items.iter().filter(|it| it.name().is_some()) {
            let name = it.name().map_or("", |n| n.name.as_str());
            out.push(item(name, CompletionItemKind::REFERENCE, it.kind()));
        }
    }
    out.extend(crate::check::encoding_names().iter().map(|e| item(e, CompletionItemKind::ENUM_MEMBER, "encoding")));
    out.extend(crate::check::FORMAT_NAMES.iter().map(|e| item(e, CompletionItemKind::ENUM_MEMBER, "format")));
    out.extend(CONSTRUCTORS.iter().map(|e| item(e, CompletionItemKind::CONSTRUCTOR, "model")));
    out.extend(Builtin::ALL.iter().map(|(n, ..)| item(n, CompletionItemKind::FUNCTION, "builtin")));
    out
}
