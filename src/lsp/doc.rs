//! One open document: its text, positions in it, and what the checker says about it.

use crate::check;
use crate::diag::Diag;
use crate::pipeline;
use crate::source::{FileId, SourceMap, Span};
use crate::syntax::{ast, load::load_overlay};
use lsp_types::{
    Diagnostic, DiagnosticRelatedInformation, DiagnosticSeverity, Location, NumberOrString, Position, Range, Url,
};
use std::path::{Path, PathBuf};

/// Byte offsets <-> LSP positions (lines, and UTF-16 code units within a line).
pub struct LineIndex {
    starts: Vec<usize>,
}

impl LineIndex {
    pub fn new(text: &str) -> Self {
        let starts = std::iter::once(0).chain(text.match_indices('\n').map(|(i, _)| i + 1)).collect();
        LineIndex { starts }
    }
    pub fn position(&self, text: &str, offset: usize) -> Position {
        let offset = floor_char(text, offset.min(text.len()));
        let line = self.starts.partition_point(|&s| s <= offset).saturating_sub(1);
        let character = text[self.starts[line]..offset].encode_utf16().count();
        Position::new(line as u32, character as u32)
    }
    pub fn offset(&self, text: &str, pos: Position) -> usize {
        let Some(&start) = self.starts.get(pos.line as usize) else { return text.len() };
        let mut units = 0;
        for (i, c) in text[start..].char_indices() {
            if units >= pos.character as usize || c == '\n' {
                return start + i;
            }
            units += c.len_utf16();
        }
        text.len()
    }
    pub fn range(&self, text: &str, start: usize, end: usize) -> Range {
        Range::new(self.position(text, start), self.position(text, end))
    }
}

fn floor_char(text: &str, mut i: usize) -> usize {
    while !text.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// The document's path on disk (imports are relative to it); a URL that is not a file gives a
/// path in the current directory.
pub fn path_of(uri: &Url) -> PathBuf {
    uri.to_file_path().unwrap_or_else(|_| PathBuf::from(uri.path().rsplit('/').next().unwrap_or("untitled.alg")))
}

/// A document checked as `algen check` checks it, with its imports.
pub struct Analysis {
    pub sources: SourceMap,
    /// Parsed files, imports first; the document is [`FileId`] 0.
    pub files: Vec<(FileId, ast::File)>,
    pub diags: Vec<Diag>,
}

pub fn analyze(path: &Path, text: &str) -> Analysis {
    let loaded = load_overlay(path, text.to_string());
    let mut diags = loaded.diags;
    let checked = check::check(&loaded.files);
    diags.extend(checked.diags);
    if let Some(spec) = &checked.spec {
        diags.extend(pipeline::validate(spec));
    }
    Analysis { sources: loaded.sources, files: loaded.files, diags }
}

impl Analysis {
    /// The document's own AST, when it parsed.
    pub fn file(&self) -> Option<&ast::File> {
        self.files.iter().find(|(id, _)| *id == 0).map(|(_, f)| f)
    }

    /// A location for a span of any loaded file that is a file on disk.
    pub fn location(&self, span: Span) -> Option<Location> {
        if span.file >= self.sources.len() {
            return None;
        }
        let src = self.sources.get(span.file);
        let path = std::fs::canonicalize(&src.name).ok()?;
        let uri = Url::from_file_path(path).ok()?;
        let index = LineIndex::new(&src.text);
        Some(Location::new(uri, index.range(&src.text, span.start, span.end)))
    }

    /// The checker's diagnostics as LSP diagnostics of the document: code, message, help (as a
    /// second line) and the secondary labels as related information. A diagnostic in an
    /// imported file is shown at the top of the document, naming that file.
    pub fn lsp_diagnostics(&self, uri: &Url, text: &str) -> Vec<Diagnostic> {
        let index = LineIndex::new(text);
        self.diags.iter().map(|d| self.lsp_diagnostic(d, uri, text, &index)).collect()
    }

    fn lsp_diagnostic(&self, d: &Diag, uri: &Url, text: &str, index: &LineIndex) -> Diagnostic {
        let mut message = d.message.clone();
        let range = match &d.span {
            Some((s, label)) if s.file == 0 => {
                if !label.is_empty() && label != "here" {
                    message.push_str(&format!(" ({label})"));
                }
                index.range(text, s.start, s.end)
            }
            Some((s, _)) if s.file < self.sources.len() => {
                message = format!("in {}: {message}", self.sources.get(s.file).name);
                Range::default()
            }
            _ => Range::default(),
        };
        if let Some(help) = &d.help {
            message.push_str(&format!("\nhelp: {help}"));
        }
        let related: Vec<DiagnosticRelatedInformation> = d
            .labels
            .iter()
            .filter(|(s, _)| s.file == 0)
            .map(|(s, l)| DiagnosticRelatedInformation {
                location: Location::new(uri.clone(), index.range(text, s.start, s.end)),
                message: l.clone(),
            })
            .collect();
        Diagnostic {
            range,
            severity: Some(if d.warning { DiagnosticSeverity::WARNING } else { DiagnosticSeverity::ERROR }),
            code: Some(NumberOrString::String(d.code.to_string())),
            source: Some("algen".into()),
            message,
            related_information: (!related.is_empty()).then_some(related),
            ..Diagnostic::default()
        }
    }
}
