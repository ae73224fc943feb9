//! The editor packaging (issue 23): the VS Code extension's manifests are valid JSON that agree
//! with each other, and its TextMate grammar tokenizes shipped specs as expected. The grammar
//! runs here on a small TextMate engine (match, begin/end, captures, includes; the end pattern
//! wins ties, as in VS Code) over fancy-regex, which reads the grammar's Oniguruma subset.

use fancy_regex::Regex;
use serde_json::Value;
use std::collections::HashMap;
use std::path::PathBuf;

fn read_json(rel: &str) -> Value {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(rel);
    serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

struct Grammar {
    top: Vec<Value>,
    repo: HashMap<String, Value>,
}

impl Grammar {
    /// The rules a list of patterns stands for, includes resolved.
    fn rules(&self, pats: &[Value]) -> Vec<Value> {
        let mut out = vec![];
        for p in pats {
            match p["include"].as_str() {
                Some(name) => {
                    let r = &self.repo[name.trim_start_matches('#')];
                    match r["patterns"].as_array() {
                        Some(inner) if r.get("match").is_none() && r.get("begin").is_none() => {
                            out.extend(self.rules(inner))
                        }
                        _ => out.push(r.clone()),
                    }
                }
                None => out.push(p.clone()),
            }
        }
        out
    }

    /// The innermost scope of every byte of `text`.
    fn scopes(&self, text: &str) -> Vec<String> {
        let mut scope = vec![String::new(); text.len()];
        let mut stack: Vec<Value> = vec![];
        for (line_start, line) in lines(text) {
            let mut pos = 0;
            while pos <= line.len() {
                let (pats, end) = match stack.last() {
                    Some(r) => (self.rules(r["patterns"].as_array().map_or(&[][..], |v| v)), r["end"].as_str()),
                    None => (self.rules(&self.top), None),
                };
                let mut best: Option<(usize, usize, Option<Value>, fancy_regex::Captures)> = None;
                let mut consider = |re: &str, rule: Option<Value>| {
                    let re = Regex::new(re).unwrap_or_else(|e| panic!("{re}: {e}"));
                    if let Ok(Some(c)) = re.captures_from_pos(line, pos) {
                        let m = c.get(0).unwrap();
                        if best.as_ref().is_none_or(|b| m.start() < b.0) {
                            best = Some((m.start(), m.end(), rule, c));
                        }
                    }
                };
                if let Some(e) = end {
                    consider(e, None);
                }
                for r in &pats {
                    let re = r["match"].as_str().or(r["begin"].as_str()).expect("match or begin");
                    consider(re, Some(r.clone()));
                }
                let Some((s, e, rule, caps)) = best else { break };
                let (name, captures) = match &rule {
                    None => (stack.last().map(|r| r["name"].clone()), stack.last().map(|r| r["endCaptures"].clone())),
                    Some(r) => (
                        Some(r["name"].clone()),
                        Some(r.get("captures").or(r.get("beginCaptures")).cloned().unwrap_or_default()),
                    ),
                };
                let mut paint = |from: usize, to: usize, n: &Value| {
                    if let Some(n) = n.as_str() {
                        scope[line_start + from..line_start + to].iter_mut().for_each(|x| *x = n.to_string());
                    }
                };
                paint(s, e, name.as_ref().unwrap_or(&Value::Null));
                for (k, v) in captures.as_ref().and_then(|c| c.as_object()).into_iter().flatten() {
                    if let Some(m) = k.parse().ok().and_then(|i: usize| caps.get(i)) {
                        paint(m.start(), m.end(), &v["name"]);
                    }
                }
                match rule {
                    None => {
                        stack.pop();
                    }
                    Some(r) if r.get("begin").is_some() => stack.push(r),
                    _ => {}
                }
                pos = if e > pos { e } else { pos + 1 };
            }
            // Text inside a begin/end rule takes the innermost content scope of the stack.
            let inner = stack.iter().rev().find_map(|r| r["contentName"].as_str().or(r["name"].as_str()));
            if let Some(n) = inner {
                let n = n.to_string();
                for x in scope[line_start..line_start + line.len()].iter_mut().filter(|x| x.is_empty()) {
                    *x = n.clone();
                }
            }
        }
        scope
    }
}

fn lines(text: &str) -> Vec<(usize, &str)> {
    let mut out = vec![];
    let mut start = 0;
    for l in text.split('\n') {
        out.push((start, l));
        start += l.len() + 1;
    }
    out
}

fn grammar() -> Grammar {
    let g = read_json("editors/vscode/syntaxes/algen.tmLanguage.json");
    let repo = g["repository"].as_object().unwrap().iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    Grammar { top: g["patterns"].as_array().unwrap().clone(), repo }
}

/// The scope of the first character of the first occurrence of `needle` in `text`, or of the
/// part after `|` when the needle has one (`len 1|..=20`: the scope of `..=`).
fn scope_at(scopes: &[String], text: &str, needle: &str) -> String {
    let (before, after) = needle.split_once('|').unwrap_or(("", needle));
    let whole = format!("{before}{after}");
    let at = text.find(&whole).unwrap_or_else(|| panic!("{whole} not found"));
    scopes[at + before.len()].clone()
}

#[test]
fn manifests_agree() {
    let pkg = read_json("editors/vscode/package.json");
    let lang = &pkg["contributes"]["languages"][0];
    assert_eq!(lang["id"], "algen");
    assert_eq!(lang["extensions"][0], ".alg");
    let g = &pkg["contributes"]["grammars"][0];
    assert_eq!(g["scopeName"], read_json("editors/vscode/syntaxes/algen.tmLanguage.json")["scopeName"]);
    assert_eq!(read_json("editors/vscode/language-configuration.json")["comments"]["lineComment"], "//");
    let client = std::fs::read_to_string(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("editors/vscode/extension.js"));
    assert!(client.unwrap().contains("args: [\"lsp\"]"), "the client starts `algen lsp`");
}

#[test]
fn grammar_tokenizes_a_shipped_spec() {
    let text = std::fs::read_to_string(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("specs/reverse.alg")).unwrap();
    let s = grammar().scopes(&text);
    let at = |needle: &str| scope_at(&s, &text, needle);
    assert_eq!(at("// Binary"), "comment.line.double-slash.algen");
    assert_eq!(at("task reverse"), "keyword.other.item.algen");
    assert_eq!(scope_at(&s, &text, "reverse {").as_str(), "entity.name.type.algen");
    assert_eq!(at("alphabet ="), "variable.other.property.algen");
    assert_eq!(at("\"01\""), "string.quoted.double.algen");
    assert_eq!(at("string(alphabet)"), "entity.name.function.algen");
    assert_eq!(at("len 1"), "keyword.other.split.algen");
    assert_eq!(at("len 1|..=20"), "keyword.operator.algen");
    assert_eq!(at("len 1..=|20"), "constant.numeric.algen");
    assert_eq!(at("sweep"), "keyword.control.algen");
    assert_eq!(at("2e-3"), "constant.numeric.algen");
    assert_eq!(at("any train"), "keyword.operator.word.algen");
    // `count = 128`: a field, not the split keyword `count`.
    assert_eq!(at("count = 128"), "variable.other.property.algen");
}

#[test]
fn grammar_embeds_rasp_blocks() {
    let text = std::fs::read_to_string(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("specs/rasp_hist.alg")).unwrap();
    let s = grammar().scopes(&text);
    let at = |needle: &str| scope_at(&s, &text, needle);
    assert_eq!(at("rasp hist"), "keyword.other.item.algen");
    assert_eq!(at("def _with"), "keyword.control.rasp");
    assert_eq!(at("select(indices"), "support.function.rasp");
    assert_eq!(at("_with_bos_selector_width(s)"), "meta.embedded.block.rasp");
    // After the block's closing brace the spec grammar is back.
    assert_eq!(at("target   = rasp"), "variable.other.property.algen");
}
