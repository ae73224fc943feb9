//! Generative grammars with an interpretation (`grammar NAME { ... }`), as checked.
//!
//! A grammar task's input is the word sequence of a derivation from the start rule
//! (rule 0) and its target is the derivation's interpretation: each production's
//! template over its children's interpretations (Lake & Baroni 2018, SCAN).

use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Grammar {
    /// Rule 0 is the start symbol.
    pub rules: Vec<GRule>,
    /// Derivations of recursive grammars are sampled at most this deep (the start rule is depth 1).
    pub max_depth: usize,
    /// Whether no rule reaches itself: the language is finite and can be enumerated.
    pub finite: bool,
}

/// A nonterminal and its productions.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GRule {
    pub name: String,
    pub prods: Vec<Prod>,
}

/// One production: its symbols and the template of its interpretation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Prod {
    pub symbols: Vec<Sym>,
    pub template: Vec<Term>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Sym {
    /// A terminal: an id into the task's `alphabet`.
    Word(u32),
    /// A nonterminal: an index into `rules`.
    Rule(usize),
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Term {
    /// An output token: an id into the task's `outputs`.
    Out(u32),
    /// The interpretation of the production's symbol at this index (a nonterminal).
    Child(usize),
    /// The terms, `times` times over.
    Repeat { terms: Vec<Term>, times: usize },
}
