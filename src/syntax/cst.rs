//! The lossless view of a spec: a concrete syntax tree and its token stream, trivia included.
//!
//! The AST ([`super::ast`]) keeps what a spec means; this module keeps how it was written, for
//! the formatter (`crate::fmt`) and the language server. [`Cst::parse`] runs the same pest
//! grammar as [`super::parse`] and keeps every pair as a [`Node`] (so number spellings such as
//! `10k` or `1_000`, and parentheses, are there as written: a node's text is a slice of the
//! source), then lexes the text between the nodes into [`Token`]s: the grammar's literal
//! punctuation (`{`, `=`, `,`, `->`, ...), `//` comments, and for each token the number of
//! line breaks before it (blank-line grouping). Concatenating the tokens with their
//! whitespace gives the source back; [`Cst::tokens`] is every character that is not
//! whitespace.

use super::{parse, Rule};
use crate::diag::Diag;
use crate::source::FileId;

/// One pest pair: its rule, its byte range in the source, its child pairs.
#[derive(Clone, Debug)]
pub struct Node {
    pub rule: Rule,
    pub start: usize,
    pub end: usize,
    pub children: Vec<Node>,
}

/// What a token is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokKind {
    /// An atomic grammar rule (a name, a number, a string, an operator, a raw RASP block).
    Leaf(Rule),
    /// A literal of the grammar that pest does not keep as a pair (`{`, `=`, `,`, `->`, ...).
    Punct,
    /// `// ...` up to the end of its line (the text excludes the line break).
    Comment,
}

/// One token of the source with the trivia before it.
#[derive(Clone, Debug)]
pub struct Token {
    pub kind: TokKind,
    /// The source text of the token.
    pub text: String,
    pub start: usize,
    pub end: usize,
    /// The rule of the innermost node the token belongs to (for a leaf: the node containing it).
    pub parent: Rule,
    /// The nodes that start at this token, outermost first, each with the rule of the node
    /// that encloses it (an entry and its body, a list element and its list).
    pub starts: Vec<(Rule, Option<Rule>)>,
    /// Line breaks between the previous token and this one.
    pub newlines: usize,
    /// The token's column (in characters) in its source line.
    pub column: usize,
}

/// A parsed spec kept whole: the tree and the tokens.
#[derive(Clone, Debug)]
pub struct Cst {
    pub root: Node,
    pub tokens: Vec<Token>,
}

/// Rules whose pair is one token (the atomic rules of `grammar/algen.pest`).
fn is_leaf(rule: Rule) -> bool {
    use Rule::*;
    matches!(
        rule,
        ident
            | field_name
            | number
            | string
            | boolean
            | rasp_block
            | reducer
            | range_op
            | wildcard
            | sym_word
            | or_op
            | and_op
            | cmp_op
            | concat_op
            | add_op
            | mul_op
            | unary_op
            | callee
            | g_def
            | g_arrow
            | kw_import
            | kw_let
            | kw_task
            | kw_model
            | kw_split
            | kw_experiment
            | kw_expect
            | kw_sweep
            | kw_if
            | kw_then
            | kw_else
            | kw_len
            | kw_step
            | kw_count
            | kw_rasp
            | kw_fraction
            | kw_rest
            | kw_corrupt
            | kw_where
            | kw_machine
            | kw_rules
            | kw_repeat
            | kw_grammar
    )
}

/// The grammar's literal punctuation, longest first.
const PUNCT: &[&str] = &["->", "{", "}", "(", ")", "[", "]", "=", ",", ";", ":", ".", "|", "*"];

impl Cst {
    /// Parses `text` (a parse error is the same diagnostic [`super::parse`] gives).
    pub fn parse(file: FileId, text: &str) -> Result<Cst, Diag> {
        crate::source::on_big_stack(|| {
            let pairs = parse(file, text)?;
            let root = pairs.into_iter().next().map(node).unwrap_or(Node {
                rule: Rule::file,
                start: 0,
                end: text.len(),
                children: vec![],
            });
            let mut lexer = Lexer { text, tokens: vec![], pos: 0, pending: vec![] };
            lexer.node(&root, None);
            lexer.gap(text.len(), Rule::file);
            let tokens = lexer.tokens;
            Ok(Cst { root, tokens })
        })
    }
}

fn node(p: pest::iterators::Pair<'_, Rule>) -> Node {
    let span = p.as_span();
    let rule = p.as_rule();
    let children = if is_leaf(rule) { vec![] } else { p.into_inner().map(node).collect() };
    Node { rule, start: span.start(), end: span.end(), children }
}

struct Lexer<'t> {
    text: &'t str,
    tokens: Vec<Token>,
    /// Where lexing has reached.
    pos: usize,
    /// The nodes (and their parents' rules) that start at the next token.
    pending: Vec<(Rule, Option<Rule>)>,
}

impl Lexer<'_> {
    fn node(&mut self, n: &Node, parent: Option<Rule>) {
        self.gap(n.start, parent.unwrap_or(Rule::file));
        if n.end > n.start {
            self.pending.push((n.rule, parent));
        }
        if is_leaf(n.rule) {
            self.push(TokKind::Leaf(n.rule), n.start, n.end, parent.unwrap_or(n.rule));
            return;
        }
        for c in &n.children {
            self.gap(c.start, n.rule);
            self.node(c, Some(n.rule));
        }
        self.gap(n.end, n.rule);
    }

    /// Lexes the text from `self.pos` to `end`: whitespace, comments and punctuation only.
    fn gap(&mut self, end: usize, parent: Rule) {
        while self.pos < end {
            let rest = &self.text[self.pos..end];
            let c = rest.chars().next().unwrap_or(' ');
            if c.is_whitespace() {
                self.pos += c.len_utf8();
            } else if rest.starts_with("//") {
                let len = rest.find('\n').unwrap_or(rest.len());
                let (start, text_end) = (self.pos, self.pos + rest[..len].trim_end().len());
                self.push(TokKind::Comment, start, text_end, parent);
                self.pos = start + len;
            } else if let Some(p) = PUNCT.iter().find(|p| rest.starts_with(**p)) {
                self.push(TokKind::Punct, self.pos, self.pos + p.len(), parent);
            } else {
                // Unreachable for text the grammar accepted; kept as a token so nothing is lost.
                self.push(TokKind::Punct, self.pos, self.pos + c.len_utf8(), parent);
            }
        }
    }

    fn push(&mut self, kind: TokKind, start: usize, end: usize, parent: Rule) {
        let before = &self.text[..start];
        let prev_end = self.tokens.last().map_or(0, |t| t.end);
        let newlines = self.text[prev_end.min(start)..start].matches('\n').count();
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let column = before[line_start..].chars().count();
        let starts = match kind {
            TokKind::Comment => vec![],
            _ => std::mem::take(&mut self.pending),
        };
        let text = self.text[start..end].to_string();
        self.tokens.push(Token { kind, text, start, end, parent, starts, newlines, column });
        self.pos = end;
    }
}
