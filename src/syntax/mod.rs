//! Syntax: spec text -> pest pairs -> spanned AST.
//!
//! [`parse`] runs the pest grammar (`grammar/algen.pest`) and [`build`]
//! turns its pairs into an [`ast::File`]. [`load`] reads a file and its
//! imports. Parse errors are phrased in plain words through [`rule_words`].

pub mod ast;
mod build;
mod build_grammar;
pub mod cst;
pub mod depth;
mod lets;
mod lexical;
pub mod load;
pub mod std_lib;

pub use build::build;
pub use load::{load, Loaded};

use crate::diag::Diag;
use crate::source::{FileId, Span};
use pest::iterators::Pairs;
use pest::Parser;

#[derive(pest_derive::Parser)]
#[grammar = "../grammar/algen.pest"]
pub struct AlgenParser;

/// Spec text -> pest pairs, or one parse diagnostic.
pub fn parse(file: FileId, text: &str) -> Result<Pairs<'_, Rule>, Diag> {
    depth::check_depth(file, text, 0, depth::Lang::Spec)?;
    pest::set_error_detail(true);
    AlgenParser::parse(Rule::file, text).map_err(|e| parse_error(file, text, e))
}

/// Spec text -> AST: [`parse`] then [`build`].
/// Runs on a thread with a large stack ([`crate::source::on_big_stack`]), so that nesting up
/// to the limit parses whatever the caller's stack.
pub fn parse_file(file: FileId, text: &str) -> Result<ast::File, Diag> {
    crate::source::on_big_stack(|| {
        let pairs = parse(file, text)?;
        Ok(build(file, pairs))
    })
}

fn parse_error(file: FileId, text: &str, e: pest::error::Error<Rule>) -> Diag {
    use pest::error::{ErrorVariant, InputLocation};
    let (mut start, mut end) = match e.location {
        InputLocation::Pos(p) => (p, next_char_end(text, p)),
        InputLocation::Span((s, e)) => (s, e),
    };
    if let Some(a) = e.parse_attempts() {
        if a.max_position > start && a.max_position <= text.len() {
            (start, end) = (a.max_position, next_char_end(text, a.max_position));
        }
    }
    if let Some(d) = lexical_error(file, text, start) {
        return d;
    }
    let expected = match &e.variant {
        ErrorVariant::ParsingError { positives, .. } => {
            let mut words: Vec<&str> = positives.iter().filter_map(|r| rule_words(*r)).collect();
            words.sort();
            words.dedup();
            words
        }
        ErrorVariant::CustomError { .. } => vec![],
    };
    let mut expected: Vec<String> = expected.into_iter().map(String::from).collect();
    if let Some(attempts) = e.parse_attempts() {
        for tok in attempts.expected_tokens() {
            let token = tok.to_string();
            if [";", "}", "{", "=", ")", "]", ",", ":"].contains(&token.as_str()) {
                expected.push(format!("`{token}`"));
            }
        }
    }
    expected.sort();
    expected.dedup();
    let mut expected: Vec<&str> = expected.iter().map(String::as_str).collect();
    if expected.contains(&"a value") {
        expected.retain(|w| !w.contains("length range"));
    }
    // A missing `;` is found at the next line's first token: point after the previous one.
    let line_start = text[..start].rfind('\n').map_or(0, |i| i + 1);
    if expected.contains(&"`;`") && start < text.len() && text[line_start..start].trim().is_empty() {
        let prev = text[..line_start].trim_end().len();
        if prev > 0 {
            (start, end) = (prev, prev);
            expected = vec!["`;`"];
        }
    }
    if text[start..].trim().is_empty() && expected.contains(&"`}`") {
        return Diag::error("algen::parse::syntax", "expected `}` before the end of the file")
            .at(Span::new(file, start.min(text.len().saturating_sub(1)), text.len()), "the file ends here")
            .help("a `{` is never closed: add `}` at the end of its item");
    }
    let found = if start == end && start < text.len() {
        "the end of the line".to_string()
    } else {
        describe_found(&text[start..])
    };
    let message = if expected.is_empty() {
        format!("unexpected {found}")
    } else {
        format!("expected {}, found {found}", join_or(&expected))
    };
    let word: String = text[start..].chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
    Diag::error("algen::parse::syntax", message)
        .at(Span::new(file, start, end), "here")
        .help(parse_help(&expected, &word))
}

/// Errors inside a token, better told as such: an unterminated string, a malformed number.
fn lexical_error(file: FileId, text: &str, at: usize) -> Option<Diag> {
    if let Some((s, e)) = unterminated_string(text, at) {
        return Some(
            Diag::error("algen::parse::syntax", "unterminated string")
                .at(Span::new(file, s, e), "this string is never closed")
                .help("close the string with `\"` on the same line"),
        );
    }
    // Back up to the start of the word the error is in: `10x` fails at `x`.
    let word_start = text[..at]
        .char_indices()
        .rev()
        .take_while(|(_, c)| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '+' | '-'))
        .last()
        .map_or(at, |(i, _)| i);
    let at = if text[word_start..].starts_with(|c: char| c.is_ascii_digit()) { word_start } else { at };
    let rest = &text[at..];
    if rest.starts_with(|c: char| c.is_ascii_digit()) {
        let word = rest
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '+' | '-'))
            .collect::<String>();
        return Some(
            Diag::error("algen::parse::syntax", format!("malformed number `{word}`"))
                .at(Span::new(file, at, at + word.len().max(1)), "not a number")
                .help("numbers look like `40`, `1_000`, `0.5`, `1e-3` or `10k` (suffixes `k` = 1000, `M` = 1000000)"),
        );
    }
    None
}

/// The first string literal, up to the error, that is opened and not closed on its line.
fn unterminated_string(text: &str, at: usize) -> Option<(usize, usize)> {
    let mut line_start = 0;
    while line_start <= at.min(text.len()) && line_start < text.len() {
        let line_end = text[line_start..].find('\n').map_or(text.len(), |i| line_start + i);
        let (mut open, mut escaped) = (None, false);
        for (i, c) in text[line_start..line_end].char_indices() {
            match c {
                _ if escaped => escaped = false,
                '\\' if open.is_some() => escaped = true,
                '"' => open = if open.is_some() { None } else { Some(line_start + i) },
                '/' if open.is_none() && text[line_start + i..].starts_with("//") => break,
                _ => {}
            }
        }
        if let Some(s) = open {
            return Some((s, line_end.max(s + 1)));
        }
        line_start = line_end + 1;
    }
    None
}

fn next_char_end(text: &str, p: usize) -> usize {
    text[p..].chars().next().map(|c| p + c.len_utf8()).unwrap_or(p)
}

fn describe_found(rest: &str) -> String {
    let rest = rest.trim_start_matches([' ', '\t']);
    match rest.chars().next() {
        None => "the end of the file".into(),
        Some('\n') | Some('\r') => "the end of the line".into(),
        Some(_) => {
            let word: String = rest.chars().take_while(|c| !c.is_whitespace()).take(20).collect();
            format!("`{word}`")
        }
    }
}

fn join_or(words: &[&str]) -> String {
    match words {
        [] => String::new(),
        [one] => one.to_string(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
    }
}

fn parse_help(expected: &[&str], found: &str) -> String {
    const ITEMS: &[&str] = &["import", "let", "task", "model", "split", "experiment"];
    let is_item = expected.iter().any(|w| w.contains("item"));
    if expected.iter().any(|w| w.contains("length range")) {
        "a split part reads `len 1..=40`, optionally followed by `step 5` and `count 256`".into()
    } else if let Some(k) = is_item.then(|| crate::diag::did_you_mean(found, ITEMS.iter().copied())).flatten() {
        format!("did you mean `{k}`?")
    } else if expected.contains(&"`=`") && expected.contains(&"`{`") {
        "a field reads `name = value`; if this line starts a new item, a `}` is missing before it".into()
    } else if is_item {
        "a spec is a list of items: `import`, `let`, `task`, `model`, `split`, `experiment`".into()
    } else {
        "see grammar/algen.pest or the language tour in README.md".into()
    }
}

/// Plain words for grammar rules, used in parse errors (never raw rule names).
pub fn rule_words(rule: Rule) -> Option<&'static str> {
    Some(match rule {
        Rule::EOI => "the end of the file",
        Rule::ident | Rule::field_name | Rule::callee => "a name",
        Rule::number => "a number",
        Rule::string | Rule::string_inner => "a string like \"01\"",
        Rule::boolean => "`true` or `false`",
        Rule::import | Rule::kw_import => {
            "an item (`import`, `let`, `task`, `model`, `split`, `grammar`, `rasp`, `machine`, `experiment`)"
        }
        Rule::let_item | Rule::kw_let | Rule::task_item | Rule::kw_task | Rule::model_item | Rule::kw_model => {
            "an item (`import`, `let`, `task`, `model`, `split`, `grammar`, `rasp`, `machine`, `experiment`)"
        }
        Rule::split_item | Rule::kw_split | Rule::experiment_item | Rule::kw_experiment => {
            "an item (`import`, `let`, `task`, `model`, `split`, `grammar`, `rasp`, `machine`, `experiment`)"
        }
        Rule::grammar_item | Rule::kw_grammar => {
            "an item (`import`, `let`, `task`, `model`, `split`, `grammar`, `rasp`, `machine`, `experiment`)"
        }
        Rule::g_rule | Rule::g_setting => "a grammar rule like `S = \"walk\" => \"WALK\"`",
        Rule::g_prod | Rule::g_child => "a word in quotes or a nonterminal",
        Rule::g_template | Rule::g_term | Rule::g_ref | Rule::g_group => {
            "an interpretation (output tokens in quotes, child names)"
        }
        Rule::g_times => "`* N`",
        Rule::g_arrow => "`=>`",
        Rule::pick | Rule::where_sel => "a split part",
        Rule::repeat_mod | Rule::kw_repeat => "`repeat N`",
        Rule::body => "`{`",
        Rule::field | Rule::block | Rule::expect | Rule::kw_expect => "a field like `name = value`",
        Rule::reducer => "`all`, `any` or `mean`",
        Rule::metric_path => "a metric like `test.sequence_accuracy`",
        Rule::part | Rule::len_sel | Rule::kw_len => "a length range like `len 1..=40`",
        Rule::range => "a length range like `1..=40`",
        Rule::range_op => "`..=` or `..`",
        Rule::step_mod | Rule::kw_step => "`step N`",
        Rule::count_mod | Rule::kw_count => "`count N`",
        Rule::fraction_sel | Rule::kw_fraction => "`fraction F`",
        Rule::rest_sel | Rule::kw_rest => "`rest`",
        Rule::corrupt_mod | Rule::kw_corrupt => "`corrupt F`",
        Rule::universe | Rule::universe_var => "a universe like `(a: 0..97, b: 0..97)`",
        Rule::kw_where => "`where`",
        Rule::cmp_op => "a comparison (`>=`, `<=`, `==`, `<`, `>`)",
        Rule::expr | Rule::if_expr | Rule::or_expr | Rule::and_expr | Rule::cmp_expr => "a value",
        Rule::concat_expr | Rule::sum | Rule::product | Rule::unary | Rule::postfix => "a value",
        Rule::paren | Rule::list | Rule::sweep | Rule::call | Rule::record => "a value",
        Rule::kw_sweep | Rule::kw_if => "a value",
        Rule::kw_then => "`then`",
        Rule::kw_else => "`else`",
        Rule::arg => "an argument",
        Rule::or_op | Rule::and_op | Rule::concat_op | Rule::add_op | Rule::mul_op => "an operator",
        Rule::unary_op => "a value",
        Rule::index | Rule::slice_tail | Rule::slice_bound => "an index like `[0]` or a slice like `[1:3]`",
        Rule::machine_item | Rule::kw_machine => {
            "an item (`import`, `let`, `task`, `model`, `split`, `grammar`, `rasp`, `machine`, `experiment`)"
        }
        Rule::machine_body => "`{` or `=`",
        Rule::rules_block | Rule::kw_rules => "`rules { ... }`",
        Rule::tm_rule => "a rule like `(q0, 0) -> (1, R, q1)`",
        Rule::sym_alts | Rule::sym | Rule::wildcard | Rule::sym_word => "a symbol or state like `q0`, `0` or `\"+\"`",
        _ => return None,
    })
}
