//! Source files and spans.
//!
//! Every spec file read during one invocation lives in a [`SourceMap`]; a
//! [`Span`] is a byte range in one of its files. Spans turn into miette
//! labels through [`SourceMap::named`], so a diagnostic can point into any
//! imported file.

use miette::{MietteError, MietteSpanContents, NamedSource, SourceCode, SourceSpan, SpanContents};
use serde::{Deserialize, Serialize};
use std::path::Path;
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
    /// The file as a diagnostic shows it (long lines windowed, see [`DiagSource`]).
    pub fn diag_source(&self, id: FileId) -> DiagSource {
        let f = &self.files[id];
        DiagSource { name: f.name.clone(), text: f.text.clone() }
    }
    /// The text a span covers.
    pub fn slice(&self, span: Span) -> &str {
        let text = &self.files[span.file].text;
        let end = ceil_char(text, span.end);
        &text[floor_char(text, span.start.min(end))..end]
    }
    /// 1-based line and column of a span's start.
    pub fn line_col(&self, span: Span) -> (usize, usize) {
        let full = &self.files[span.file].text;
        let start = floor_char(full, span.start.min(full.len()));
        let text = &full[..start];
        let line = text.matches('\n').count() + 1;
        let col = start - text.rfind('\n').map(|i| i + 1).unwrap_or(0) + 1;
        (line, col)
    }
}

/// Lines longer than this many bytes are shown as a window around the span.
pub const LONG_LINE: usize = 1000;
/// Bytes of context shown on each side of a span in a long line.
const WINDOW: usize = 120;

/// A file as miette reads it for a diagnostic. miette panics when it formats a
/// line more than 65,535 columns wide, so a line longer than [`LONG_LINE`]
/// bytes is shown as a window of about [`WINDOW`] bytes around the span, with
/// the true line and column numbers.
#[derive(Clone, Debug)]
pub struct DiagSource {
    name: String,
    text: Arc<str>,
}

impl DiagSource {
    /// A label's span as rendered: within a long line, at most [`WINDOW`] bytes long.
    pub fn clamp(&self, span: Span) -> SourceSpan {
        let start = floor_char(&self.text, span.start.min(self.text.len()));
        let (ls, le) = line_bounds(&self.text, start);
        if le - ls <= LONG_LINE || span.len() <= WINDOW {
            return span.into();
        }
        let end = ceil_char(&self.text, start + WINDOW);
        SourceSpan::new(start.into(), end - start)
    }
}

impl DiagSource {
    /// Whether a label at `other` can be shown with the primary label at `primary`: always,
    /// unless one of them is on a long line and they are farther apart than a window.
    pub fn shows_with(&self, primary: Span, other: Span) -> bool {
        let long = |s: Span| {
            let (ls, le) = line_bounds(&self.text, s.start.min(self.text.len()));
            le - ls > LONG_LINE
        };
        !(long(primary) || long(other)) || primary.start.abs_diff(other.start) <= WINDOW
    }
}

/// The line containing byte `at`: its start and end (before the `\n`).
fn line_bounds(text: &str, at: usize) -> (usize, usize) {
    let at = floor_char(text, at.min(text.len()));
    let start = text[..at].rfind('\n').map_or(0, |i| i + 1);
    let end = text[at..].find('\n').map_or(text.len(), |i| at + i);
    (start, end)
}

fn floor_char(text: &str, mut i: usize) -> usize {
    while !text.is_char_boundary(i) {
        i -= 1;
    }
    i
}

fn ceil_char(text: &str, i: usize) -> usize {
    let mut i = i.min(text.len());
    while !text.is_char_boundary(i) {
        i += 1;
    }
    i
}

impl SourceCode for DiagSource {
    fn read_span<'a>(
        &'a self,
        span: &SourceSpan,
        before: usize,
        after: usize,
    ) -> Result<Box<dyn SpanContents<'a> + 'a>, MietteError> {
        let text: &'a str = &self.text;
        let c = <str as SourceCode>::read_span(text, span, before, after)?;
        let data: &'a [u8] = c.data();
        if data.split(|&b| b == b'\n').all(|l| l.len() <= LONG_LINE) {
            let (s, line, col, n) = (*c.span(), c.line(), c.column(), c.line_count());
            return Ok(Box::new(MietteSpanContents::new_named(self.name.clone(), data, s, line, col, n)));
        }
        let start = floor_char(text, span.offset().min(text.len()));
        let (ls, le) = line_bounds(text, start);
        let ws = if before == 0 { start } else { floor_char(text, start.saturating_sub(WINDOW).max(ls)) };
        let end = (start + span.len().min(WINDOW) + WINDOW).min(le);
        let we = ceil_char(text, end).max(ws);
        let line = text.as_bytes()[..ws].iter().filter(|&&b| b == b'\n').count();
        let s = SourceSpan::new(ws.into(), we - ws);
        Ok(Box::new(MietteSpanContents::new_named(self.name.clone(), &text.as_bytes()[ws..we], s, line, ws - ls, 1)))
    }
}

/// The largest spec, imported or RASP file read, in bytes (16 MiB).
pub const MAX_FILE_BYTES: u64 = 16 << 20;

/// Why a source file could not be read.
#[derive(Debug)]
pub enum ReadError {
    /// The file cannot be opened or read.
    Io(std::io::Error),
    /// It is larger than [`MAX_FILE_BYTES`].
    TooLarge,
    /// It is not UTF-8; the first bad byte's offset in the file.
    NotUtf8 { offset: usize, line: usize },
}

/// Reads a source file: at most [`MAX_FILE_BYTES`] bytes (a bounded read, so
/// `/dev/zero` fails at once), a leading byte-order mark skipped, UTF-8 checked.
pub fn read_source(path: &Path) -> Result<String, ReadError> {
    use std::io::Read;
    let f = std::fs::File::open(path).map_err(ReadError::Io)?;
    let mut bytes = Vec::new();
    f.take(MAX_FILE_BYTES + 1).read_to_end(&mut bytes).map_err(ReadError::Io)?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(ReadError::TooLarge);
    }
    let bom = if bytes.starts_with(b"\xEF\xBB\xBF") { 3 } else { 0 };
    bytes.drain(..bom);
    String::from_utf8(bytes).map_err(|e| {
        let offset = e.utf8_error().valid_up_to();
        let line = e.as_bytes()[..offset].iter().filter(|&&b| b == b'\n').count() + 1;
        ReadError::NotUtf8 { offset: offset + bom, line }
    })
}

impl ReadError {
    /// The diagnostic for a file that was found but cannot be used (too large, not UTF-8);
    /// `None` for an I/O error, which callers report in their own words.
    pub fn diag(&self, path: &Path) -> Option<crate::diag::Diag> {
        use crate::diag::Diag;
        let p = path.display();
        match self {
            ReadError::Io(_) => None,
            ReadError::TooLarge => Some(
                Diag::error("algen::import::too_large", format!("`{p}` is larger than {} MiB", MAX_FILE_BYTES >> 20))
                    .help(format!(
                        "spec and RASP files are read up to {} MiB; is this the right file?",
                        MAX_FILE_BYTES >> 20
                    )),
            ),
            ReadError::NotUtf8 { offset, line } => Some(
                Diag::error(
                    "algen::import::not_utf8",
                    format!("`{p}` is not valid UTF-8: byte {offset} (line {line}) starts an invalid sequence"),
                )
                .help("save the file as UTF-8 (a byte-order mark at its start is allowed)"),
            ),
        }
    }
}

impl std::fmt::Display for ReadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReadError::Io(e) => write!(f, "{e}"),
            ReadError::TooLarge => write!(f, "larger than {} MiB", MAX_FILE_BYTES >> 20),
            ReadError::NotUtf8 { offset, line } => write!(f, "not valid UTF-8 at byte {offset} (line {line})"),
        }
    }
}

/// The stack of the thread that [`on_big_stack`] runs its work on: 256 MiB of address space,
/// of which only the pages a deep parse touches are used.
const BIG_STACK: usize = 256 << 20;

/// Runs `f` on a thread with a large stack and returns its result (a panic in `f` is
/// resumed here). The recursive-descent parsers (pest) use tens of KiB of stack per nesting
/// level in a release build, so a spec at the nesting limit ([`crate::syntax::depth::MAX_DEPTH`])
/// could overflow a 2 MiB thread (a test thread, a library user's worker); parsing here makes
/// the limit hold on any caller's stack. If no thread can be started, `f` runs on this one.
pub fn on_big_stack<T: Send>(f: impl FnOnce() -> T + Send) -> T {
    let mut f = Some(f);
    let spawned = std::thread::scope(|s| {
        let run = || f.take().map(|f| f());
        match std::thread::Builder::new().stack_size(BIG_STACK).spawn_scoped(s, run) {
            Ok(h) => Some(h.join().unwrap_or_else(|p| std::panic::resume_unwind(p))),
            Err(_) => None,
        }
    });
    match spawned.flatten() {
        Some(t) => t,
        None => (f.take().expect("not run: the thread did not start"))(),
    }
}
