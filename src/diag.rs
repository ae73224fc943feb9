//! Diagnostics: one error or warning with a code, labelled spans and a help line.
//!
//! Every code the tool can emit is listed in [`CODES`]: a test asserts they
//! are unique, and another scans every file under `src/` for `"algen::…"` code
//! literals and fails on one that is not listed. A [`Diag`] is rendered through
//! miette after its source file is attached with [`Diag::with_source`].
//!
//! This is the one error type users see: check errors, and the run-time errors
//! (`LabelError::to_diag`, `TrainError::to_diag`, `RunError::to_diag`, a diverged
//! run, a failed `expect`) convert to it with the span the IR kept, and `main`
//! renders them all through [`render`]. The JSON-lines protocols answer a
//! failing line with [`Diag::code_and_message`] instead.

use crate::source::{DiagSource, SourceMap, Span};
use miette::{Diagnostic, LabeledSpan, Severity};
use std::fmt;

/// Every diagnostic code, with what it means.
pub const CODES: &[(&str, &str)] = &[
    ("algen::parse::syntax", "the text does not follow the grammar"),
    ("algen::parse::too_deep", "brackets, `if`s or operators nest deeper than the parser's limit"),
    ("algen::import::missing_file", "an imported file cannot be read"),
    ("algen::import::cycle", "files import each other in a cycle"),
    ("algen::import::unknown_std", "`import \"std/NAME.alg\"` names no file of the shipped library"),
    ("algen::import::too_large", "a spec, imported or RASP file is larger than the size limit"),
    ("algen::import::not_utf8", "a spec, imported or RASP file is not valid UTF-8"),
    ("algen::check::duplicate_name", "two items share a name"),
    ("algen::check::unknown_name", "a name that no item or let defines"),
    ("algen::check::let_cycle", "a `let` constant defined in terms of itself"),
    ("algen::check::unknown_field", "a field the item does not have"),
    ("algen::check::duplicate_field", "a field given twice"),
    ("algen::check::missing_field", "a required field is absent"),
    ("algen::check::wrong_type", "a value of the wrong type"),
    ("algen::check::bad_range", "an empty, reversed or negative range"),
    ("algen::check::out_of_range", "a number outside the allowed interval"),
    ("algen::check::step_end", "a length range whose `step` does not land on its last length (warning)"),
    ("algen::check::eval_off", "`eval { every = 0 }`: no evaluation during training, only after it (warning)"),
    ("algen::check::duplicate_seed", "an experiment lists the same seed twice"),
    ("algen::check::too_large", "a length, count or size beyond the bound algen can build in memory"),
    ("algen::check::overflow", "a constant that overflows 64-bit integers, divides by zero or is not a finite number"),
    ("algen::check::unknown_value", "a value not among the allowed ones"),
    ("algen::check::unknown_position", "an unknown positional encoding"),
    ("algen::check::unknown_function", "a call to a function that does not exist"),
    ("algen::check::arity", "a call with the wrong number of arguments"),
    ("algen::check::heads_divide", "d_model is not a multiple of heads"),
    (
        "algen::check::seq2seq_field",
        "`encoder_layers`/`decoder_layers`/`cross_attention` on a transformer that is not `kind = seq2seq`",
    ),
    ("algen::check::seq2seq_position", "a position scheme a seq2seq transformer does not support"),
    ("algen::check::per_layer_draw", "per-layer randomized positions over an input encoding or in a decoder"),
    ("algen::check::lstm_seq2seq_field", "an encoder–decoder field on an lstm that is not `kind = seq2seq`, or one that does not fit its attention or style"),
    ("algen::check::haiku_lstm_embed", "an `embed` width on a haiku-style lstm, which reads one-hot tokens"),
    ("algen::check::target_vocab", "the target can emit a token the output vocabulary lacks"),
    ("algen::check::target_fails", "the target fails on every input tried at check time (every tuple, for a universe)"),
    ("algen::check::unbounded_output", "the target can emit infinitely many tokens"),
    ("algen::check::target_type", "the target expression is ill-typed"),
    ("algen::check::unsweepable", "a sweep over a field that cannot be swept"),
    ("algen::check::format_model", "the task's format does not fit the model kind"),
    ("algen::check::pointer_head", "a pointer head without `format = pointer`, or the pointer format without one"),
    ("algen::check::compiled_task", "a rasp_compiled model needs a RASP target, the tag format and a length split"),
    ("algen::check::compiled_fails", "the task's RASP target does not compile to transformer weights"),
    ("algen::check::compiled_outputs", "the compiled s-op's values are not classes among the task's outputs"),
    ("algen::check::unknown_metric", "an unknown metric or scope in eval or expect"),
    ("algen::check::position_len", "a learned position table shorter than the longest test input"),
    ("algen::check::fixed_by_format", "a task field that the task's format fixes (arithmetic formats)"),
    ("algen::check::unknown_builtin", "`input = chomsky(NAME)` names no builtin task"),
    (
        "algen::check::fixed_by_builtin",
        "a task field that disagrees with its builtin task (sizes, format, end token, a target)",
    ),
    ("algen::check::format_split", "a split whose lengths need more index hints than the task has"),
    ("algen::check::position_fit", "a positional encoding that does not fit the model (odd width, table too small)"),
    ("algen::check::rasp_unknown_name", "a RASP program uses a name that nothing defines"),
    ("algen::check::rasp_reserved_name", "a RASP program assigns a reserved name (input, library, keyword)"),
    ("algen::check::rasp_type", "a RASP value of the wrong kind (selector, s-op, atom, list, dict, function)"),
    ("algen::check::rasp_value", "a RASP definition fails on a value (index out of range, missing key, arity)"),
    ("algen::check::rasp_unsupported", "a RASP statement algen does not run (`load`, applying an s-op to an input)"),
    ("algen::check::rasp_output", "the requested RASP output is not a public s-op of the program"),
    ("algen::rasp::eval", "a RASP program fails on one input (a type error, a value over algen's size limits, ...)"),
    (
        "algen::rasp_compile::options",
        "`compile-rasp` options that cannot work (empty or repeated vocabulary, max length 0)",
    ),
    (
        "algen::rasp_compile::too_many_inputs",
        "the inputs up to --max-len are too many to enumerate for an exact compilation",
    ),
    ("algen::rasp_compile::fails_on_input", "the RASP program to compile fails on an input up to --max-len"),
    ("algen::rasp_compile::not_causal", "with --causal, a selector selects a later position"),
    ("algen::rasp_compile::mean_default", "an aggregate that averages numbers has a string default"),
    ("algen::rasp_compile::precision", "a mean takes values too close to tell apart in f32"),
    ("algen::rasp_compile::too_large", "a compiled block needs more dimensions or MLP units than the limit"),
    ("algen::rasp_compile::disagrees", "the compiled model disagrees with the interpreter (a compiler bug)"),
    ("algen::rasp_compile::internal", "an internal error of the RASP compiler"),
    ("algen::jsonl::invalid_json", "a JSON-lines input line is empty, not JSON, or has no \"input\" field"),
    ("algen::jsonl::invalid_input", "a JSON-lines \"input\" is not a string or a list of tokens the command takes"),
    ("algen::jsonl::not_utf8", "a JSON-lines input line is not valid UTF-8"),
    ("algen::jsonl::line_too_long", "a JSON-lines input line is over the size limit (1 MiB)"),
    ("algen::check::split_kind", "a split that mixes length ranges with selections from a universe"),
    (
        "algen::check::universe_only",
        "a training setting only tasks over a finite universe support (full batch, checkpoints)",
    ),
    ("algen::check::unknown_token", "a split predicate names a token the task never has"),
    ("algen::check::split_empty", "a split part that selects no example of the universe"),
    ("algen::check::split_eval", "a split predicate that fails on an example of the universe"),
    ("algen::check::split_task", "a split over a finite universe used with a task that has none"),
    ("algen::check::empty_universe", "a universe variable ranges over nothing"),
    ("algen::check::universe_size", "a universe with too many tuples to list"),
    ("algen::check::universe_format", "a universe layout that misses or repeats a variable, or a stray token"),
    ("algen::check::universe_split", "fractions of a universe that do not fit (over 1, corrupting the test part)"),
    ("algen::check::unknown_rule", "a grammar production names a nonterminal that has no rule"),
    ("algen::check::unproductive_rule", "a grammar rule that derives no finite sentence"),
    ("algen::check::template_child", "an interpretation template names a child the production lacks"),
    ("algen::check::machine_unknown_symbol", "a machine rule or field names a symbol the tape alphabet lacks"),
    ("algen::check::machine_unknown_state", "a machine rule or field names a state the machine does not declare"),
    ("algen::check::machine_nondeterministic", "two machine rules apply to the same state and symbol"),
    (
        "algen::check::machine_rule",
        "a malformed machine rule (unknown move, misplaced `*`, a rule from a halting state)",
    ),
    ("algen::check::machine_missing_rule", "a non-halting state has no rule for some symbols (warning)"),
    ("algen::check::machine_unreachable", "a state no rule leads to from the start state (warning)"),
    ("algen::check::scratchpad", "a scratchpad or machine target that does not fit the task"),
    ("algen::run::label", "labelling an example failed"),
    (
        "algen::task::not_in_universe",
        "a `label` input is not a member of the task's universe (layout, ranges, `where`)",
    ),
    ("algen::run::diverged", "the training loss became NaN or infinite"),
    ("algen::run::expect", "an expectation does not hold"),
    ("algen::run::locked", "another run holds the output folder (or it cannot be locked)"),
    ("algen::run::config_changed", "`--resume` finds a run or checkpoint made with another configuration"),
    ("algen::run::resume_steps", "`--resume` finds a checkpoint past the run's step count"),
    ("algen::run::checkpoint_corrupt", "a checkpoint that cannot be read"),
    ("algen::run::resume_results", "`--resume` cannot read the experiment's results.json"),
    ("algen::run::io", "a run cannot read or write one of its files (results, metrics, checkpoint)"),
    ("algen::run::checkpoint", "a checkpoint file cannot be loaded (corrupt, or from another model)"),
    ("algen::run::preempted", "a run stopped by SIGTERM or SIGUSR1 after writing its checkpoint (exit status 3)"),
    ("algen::run::model", "the model failed while training or evaluating (a tensor error)"),
    ("algen::task::eval", "the target fails on an input"),
    ("algen::task::unknown_output", "the target produced a token that is not an output token"),
    ("algen::task::target_shape", "the target's value does not have the shape the format needs"),
    ("algen::task::tag_length", "a `tag` target whose length differs from the input's"),
    ("algen::task::unknown_input", "an input token that is not in the alphabet"),
    ("algen::task::input_id", "an input id outside the alphabet"),
    ("algen::task::grammar", "an input the task's grammar does not derive, or a grammar that cannot be listed"),
    ("algen::task::invalid_input", "an input that the builtin task does not accept"),
    ("algen::task::empty_alphabet", "no input of the requested length exists (empty alphabet or universe)"),
    ("algen::task::not_position", "a `pointer` target value that is not a position of the input"),
];

/// One diagnostic.
#[derive(Clone, Debug)]
pub struct Diag {
    pub code: &'static str,
    pub message: String,
    /// The primary span and its label.
    pub span: Option<(Span, String)>,
    /// Further labels (in the same file as the primary span).
    pub labels: Vec<(Span, String)>,
    pub help: Option<String>,
    pub warning: bool,
    source: Option<DiagSource>,
}

impl Diag {
    /// A new error. `code` must be listed in [`CODES`].
    pub fn error(code: &'static str, message: impl Into<String>) -> Self {
        debug_assert!(CODES.iter().any(|(c, _)| *c == code), "unlisted code {code}");
        Diag { code, message: message.into(), span: None, labels: vec![], help: None, warning: false, source: None }
    }
    pub fn warning(code: &'static str, message: impl Into<String>) -> Self {
        Diag { warning: true, ..Self::error(code, message) }
    }
    pub fn at(mut self, span: Span, label: impl Into<String>) -> Self {
        self.span = Some((span, label.into()));
        self
    }
    pub fn label(mut self, span: Span, label: impl Into<String>) -> Self {
        self.labels.push((span, label.into()));
        self
    }
    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }
    /// Attaches the file of the primary span so that miette can render it.
    pub fn with_source(mut self, sources: &SourceMap) -> Self {
        if let Some((span, _)) = &self.span {
            if span.file < sources.len() {
                let file = span.file;
                self.labels.retain(|(s, _)| s.file == file);
                self.source = Some(sources.diag_source(file));
            }
        }
        self
    }
    /// The code and the message, for the JSON-lines protocols (`label`, `rasp`), which answer an
    /// error as an object instead of a rendered report.
    pub fn code_and_message(&self) -> (&'static str, &str) {
        (self.code, &self.message)
    }
    /// The primary span, for sorting diagnostics by position.
    pub fn sort_key(&self) -> (usize, usize) {
        self.span.as_ref().map(|(s, _)| (s.file, s.start)).unwrap_or((usize::MAX, 0))
    }
}

impl fmt::Display for Diag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Diag {}

impl Diagnostic for Diag {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        Some(Box::new(self.code))
    }
    fn severity(&self) -> Option<Severity> {
        Some(if self.warning { Severity::Warning } else { Severity::Error })
    }
    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.help.as_ref().map(|h| Box::new(h) as Box<dyn fmt::Display>)
    }
    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        self.source.as_ref().map(|s| s as &dyn miette::SourceCode)
    }
    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        let src = self.source.as_ref()?;
        let primary = self.span.iter().map(|(s, l)| LabeledSpan::new_primary_with_span(Some(l.clone()), src.clamp(*s)));
        // Where a long line is shown as a window, labels far from the primary one cannot be.
        let shown = |s: &Span| self.span.as_ref().is_none_or(|(p, _)| src.shows_with(*p, *s));
        let rest = self.labels.iter().filter(move |(s, _)| shown(s));
        let rest = rest.map(|(s, l)| LabeledSpan::new_with_span(Some(l.clone()), src.clamp(*s)));
        Some(Box::new(primary.chain(rest)))
    }
}

/// Names longer than this get no did-you-mean (a typo of a name that long is not guessed).
const MAX_SUGGEST_LEN: usize = 64;

/// The candidate closest to `word`, if it is a plausible typo: an
/// abbreviation (the word's letters in order, same first letter: `seq_acc`
/// for `sequence_accuracy`), or within an edit distance of a third of the
/// word's length (min 1), counting a swap of neighbours as one edit.
/// The one did-you-mean of the tool: its cost is bounded whatever the input
/// (words and candidates longer than [`MAX_SUGGEST_LEN`] chars are skipped, and so are
/// candidates whose length alone puts them past the distance limit).
pub fn did_you_mean<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let n = word.chars().take(MAX_SUGGEST_LEN + 1).count();
    if n > MAX_SUGGEST_LEN {
        return None;
    }
    let limit = (n / 3).max(1);
    let candidates: Vec<(&str, usize)> = candidates
        .into_iter()
        .filter(|c| *c != word)
        .map(|c| (c, c.chars().take(MAX_SUGGEST_LEN + 1).count()))
        .filter(|(_, len)| *len <= MAX_SUGGEST_LEN)
        .collect();
    let close = candidates
        .iter()
        .filter(|(_, len)| len.abs_diff(n) <= limit)
        .map(|(c, _)| (edit_distance(word, c), *c))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, c)| (*d, *c));
    let abbrev =
        candidates.iter().map(|(c, _)| *c).filter(|c| n >= 2 && abbreviates(word, c)).min_by_key(|c| (c.len(), *c));
    match (close, abbrev) {
        (Some((1, c)), _) | (Some((_, c)), None) => Some(c),
        (_, a) => a,
    }
}

/// `word`'s characters appear in `cand` in order, starting with the same one.
fn abbreviates(word: &str, cand: &str) -> bool {
    if word.chars().next() != cand.chars().next() {
        return false;
    }
    let mut it = cand.chars();
    word.chars().all(|w| it.any(|c| c == w))
}

/// A help line: "did you mean `x`?" or the list of valid choices.
pub fn suggest<'a>(word: &str, candidates: &[&'a str]) -> String {
    match did_you_mean(word, candidates.iter().copied()) {
        Some(c) => format!("did you mean `{c}`?"),
        None if candidates.is_empty() => "nothing of that kind is defined".into(),
        None => {
            format!("expected one of: {}", candidates.iter().map(|c| format!("`{c}`")).collect::<Vec<_>>().join(", "))
        }
    }
}

/// Edit distance over chars with adjacent transpositions (optimal string alignment).
/// Three rows of memory; callers bound the lengths ([`did_you_mean`] does).
pub fn edit_distance(a: &str, b: &str) -> usize {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    let mut prev2 = vec![0usize; b.len() + 1];
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0usize; b.len() + 1];
    for i in 1..=a.len() {
        cur[0] = i;
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut v = (prev[j] + 1).min(cur[j - 1] + 1).min(prev[j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                v = v.min(prev2[j - 2] + 1);
            }
            cur[j] = v;
        }
        std::mem::swap(&mut prev2, &mut prev);
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}
/// Renders diagnostics as text (no colour, `width` columns): what `algen check` prints when not on a terminal.
pub fn render(diags: &[Diag], width: usize, color: bool) -> String {
    use miette::{GraphicalReportHandler, GraphicalTheme};
    let theme = if color { GraphicalTheme::unicode() } else { GraphicalTheme::unicode_nocolor() };
    let handler = GraphicalReportHandler::new_themed(theme).with_width(width);
    let mut out = String::new();
    for d in diags {
        let _ = handler.render_report(&mut out, d);
        out.push('\n');
    }
    out
}
