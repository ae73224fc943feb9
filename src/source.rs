//! Source files and spans.
//!
//! Every spec file read during one invocation lives in a [`SourceMap`]; a
//! [`Span`] is a byte range in one of its files. Spans turn into miette
//! labels through [`SourceMap::named`], so a diagnostic can point into any
//! imported file.

use miette::{NamedSource, SourceSpan};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// Index of a file in a [`SourceMap`].
pub type FileId = usize;

/// A byte range `start..end` in file `file`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Span {
    pub file: FileId,
    pub start: usize,
    pub end: usize,
}

impl Span {
    pub fn new(file: FileId, start: usize, end: usize) -> Self {
        Span { file, start, end }
    }
    /// The smallest span covering both.
    pub fn to(self, other: Span) -> Span {
        Span { file: self.file, start: self.start.min(other.start), end: self.end.max(other.end) }
    }
    pub fn len(&self) -> usize {
        self.end - self.start
    }
    pub fn is_empty(&self) -> bool {
        self.end == self.start
    }
}

impl From<Span> for SourceSpan {
    fn from(s: Span) -> SourceSpan {
        SourceSpan::new(s.start.into(), s.end - s.start)
    }
}

/// One source file: its display name and text.
#[derive(Clone, Debug)]
pub struct Source {
    pub name: String,
    pub text: Arc<str>,
}

/// All files of one invocation, indexed by [`FileId`].
#[derive(Clone, Debug, Default)]
pub struct SourceMap {
    files: Vec<Source>,
}

impl SourceMap {
    pub fn new() -> Self {
        Self::default()
    }
    /// Adds a file and returns its id.
    pub fn add(&mut self, name: impl Into<String>, text: impl Into<Arc<str>>) -> FileId {
        self.files.push(Source { name: name.into(), text: text.into() });
        self.files.len() - 1
    }
    pub fn get(&self, id: FileId) -> &Source {
        &self.files[id]
    }
    pub fn len(&self) -> usize {
        self.files.len()
    }
    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }
    /// The file as a miette source, for attaching to a diagnostic.
    pub fn named(&self, id: FileId) -> NamedSource<Arc<str>> {
        let f = &self.files[id];
        NamedSource::new(f.name.clone(), f.text.clone())
    }
    /// The text a span covers.
    pub fn slice(&self, span: Span) -> &str {
        &self.files[span.file].text[span.start..span.end]
    }
    /// 1-based line and column of a span's start.
    pub fn line_col(&self, span: Span) -> (usize, usize) {
        let text = &self.files[span.file].text[..span.start];
        let line = text.matches('\n').count() + 1;
        let col = span.start - text.rfind('\n').map(|i| i + 1).unwrap_or(0) + 1;
        (line, col)
    }
}
