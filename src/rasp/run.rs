//! Evaluation of a program's graph: every node the target needs, in creation
//! order, into buffers that are kept between calls (after the first few
//! inputs, evaluating allocates nothing). One call evaluates a *batch* of `b`
//! inputs of one length `n` at once: an s-op's buffer holds the `b` inputs'
//! columns one after the other (`b * n` atoms), a selector's the `b` inputs'
//! matrices, so that the elementwise kernels run one long loop per node
//! instead of `b` short ones (see `nodes`). A single input is a batch of one.
//!
//! Nodes that depend on the input's length alone (`indices`,
//! `select(indices, indices, <)`, ...) are computed once for a run of calls
//! with one length and batch size, and reused.
//!
//! A batch gives exactly what evaluating its inputs one by one gives: where
//! anything in a batch fails (an error in one input, or a mix of kinds that
//! only the batch as a whole has), its inputs are evaluated one by one.

use super::column::Col;
use super::graph::{Graph, Id};
use super::kernels::{self, Scratch};
use super::typed::Bufs;
use super::value::{self, Strings, Val};

/// The most tokens one input may have: every selector holds n² bits (12.5 MB at 10,000).
pub const MAX_INPUT_TOKENS: usize = 10_000;

/// Bytes of strings from earlier inputs kept before [`Evaluator::start_input`] forgets them.
const RECYCLE_BYTES: usize = 16 << 20;

/// A batch holds at most this many tokens (its columns stay in the fast caches) ...
const BATCH_TOKENS: usize = 2048;
/// ... and its selectors at most this many words (256 KiB each).
const BATCH_WORDS: usize = 32 << 10;

/// Evaluates one s-op of a program on inputs.
#[derive(Clone)]
pub struct Evaluator {
    pub(super) graph: std::sync::Arc<Graph>,
    order: Vec<Id>,
    pub(super) target: Id,
    /// Whether a node depends on the input length alone ([`Graph::length_only`]).
    length_only: Vec<bool>,
    /// The (length, batch size) a length-only node's buffer holds ((0, 0): none).
    valid_for: Vec<(usize, usize)>,
    pub strings: Strings,
    /// The table as the program left it; [`Evaluator::start_input`] returns to it.
    base: value::Mark,
    /// The input length and batch size of the current call.
    pub(super) n: usize,
    pub(super) b: usize,
    pub(super) cols: Vec<Col>,
    /// The kinds of atoms in each s-op's buffer (all inputs of the batch together).
    pub(super) flags: Vec<u8>,
    pub(super) sels: Vec<Vec<u64>>,
    pub(super) scratch: Scratch,
    pub(super) bufs: Bufs,
    pub(super) text: String,
    /// The target's values on the last input, as tagged values.
    result: Vec<Val>,
    /// The concatenated tokens of a batch, and its results.
    batch_tokens: Vec<Val>,
    batch_vals: Vec<Val>,
    batch_results: Vec<Result<(usize, usize), EvalError>>,
    describe: std::sync::Arc<dyn Fn(crate::source::Span) -> String + Send + Sync>,
}

impl std::fmt::Debug for Evaluator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "rasp::Evaluator(target {}, {} nodes)", self.target, self.order.len())
    }
}

/// An evaluation error: the message and the node that failed.
#[derive(Clone, Debug)]
pub struct EvalError {
    pub message: String,
}

impl std::fmt::Display for EvalError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

/// The results of [`Evaluator::eval_batch`], one per input, in order.
#[derive(Clone, Copy, Debug)]
pub struct Batch<'a> {
    vals: &'a [Val],
    results: &'a [Result<(usize, usize), EvalError>],
}

impl<'a> Batch<'a> {
    pub fn len(&self) -> usize {
        self.results.len()
    }
    pub fn is_empty(&self) -> bool {
        self.results.is_empty()
    }
    /// Input `i`'s values (what [`Evaluator::eval`] gives for it), or its error.
    pub fn get(&self, i: usize) -> Option<Result<&'a [Val], &'a EvalError>> {
        Some(match self.results.get(i)? {
            Ok((start, end)) => Ok(&self.vals[*start..*end]),
            Err(e) => Err(e),
        })
    }
    pub fn iter(&self) -> impl Iterator<Item = Result<&'a [Val], &'a EvalError>> + 'a {
        let vals = self.vals;
        self.results.iter().map(move |r| match r {
            Ok((start, end)) => Ok(&vals[*start..*end]),
            Err(e) => Err(e),
        })
    }
}

impl Evaluator {
    pub(crate) fn new(
        graph: std::sync::Arc<Graph>,
        target: Id,
        strings: Strings,
        describe: std::sync::Arc<dyn Fn(crate::source::Span) -> String + Send + Sync>,
    ) -> Evaluator {
        let order = graph.ancestors(target);
        let len = graph.nodes.len();
        let length_only = graph.length_only();
        Evaluator {
            graph,
            order,
            target,
            length_only,
            valid_for: vec![(0, 0); len],
            base: strings.mark(),
            strings,
            n: 0,
            b: 0,
            cols: vec![Col::default(); len],
            flags: vec![0; len],
            sels: vec![vec![]; len],
            scratch: Scratch::default(),
            bufs: Bufs::default(),
            text: String::new(),
            result: vec![],
            batch_tokens: vec![],
            batch_vals: vec![],
            batch_results: vec![],
            describe,
        }
    }

    /// Call before interning a new input's (or batch's) tokens: forgets the long
    /// strings that earlier inputs created once they hold over 16 MiB, so that a long
    /// stream of inputs runs in bounded memory (values from earlier inputs,
    /// and the strings they name, must not be used after this).
    pub fn start_input(&mut self) {
        if self.strings.bytes().saturating_sub(self.base.bytes()) > RECYCLE_BYTES {
            self.strings.truncate(self.base);
            self.valid_for.fill((0, 0)); // cached length-only columns may name forgotten strings
        }
    }

    /// The target's values on `tokens` (given as `tokens_asis`), or the first
    /// error (also when the strings it creates go over the limits of `strings`).
    pub fn eval(&mut self, tokens: &[Val]) -> Result<&[Val], EvalError> {
        check_len(tokens.len())?;
        self.run(tokens.len(), 1, tokens)?;
        let mut result = std::mem::take(&mut self.result);
        result.clear();
        self.cols[self.target as usize].view().append_to(&mut result);
        self.result = result;
        Ok(&self.result)
    }

    /// The target on each of `inputs`: what [`Evaluator::eval`] gives for each, in
    /// order. Inputs of one length are evaluated together (see the module's notes);
    /// any lengths may be given.
    pub fn eval_batch<T: AsRef<[Val]>>(&mut self, inputs: &[T]) -> Batch<'_> {
        self.batch_vals.clear();
        self.batch_results.clear();
        let mut i = 0;
        while i < inputs.len() {
            let n = inputs[i].as_ref().len();
            let cap = if (1..=MAX_INPUT_TOKENS).contains(&n) { chunk(n) } else { 1 };
            let b = inputs[i..].iter().take(cap).take_while(|x| x.as_ref().len() == n).count();
            self.eval_chunk(&inputs[i..i + b]);
            i += b;
        }
        Batch { vals: &self.batch_vals, results: &self.batch_results }
    }

    /// `inputs` (of one length) together, or one by one where the batch fails.
    fn eval_chunk<T: AsRef<[Val]>>(&mut self, inputs: &[T]) {
        let n = inputs[0].as_ref().len();
        if inputs.len() > 1 {
            let mut toks = std::mem::take(&mut self.batch_tokens);
            toks.clear();
            for x in inputs {
                toks.extend_from_slice(x.as_ref());
            }
            let ok = self.run(n, inputs.len(), &toks).is_ok();
            self.batch_tokens = toks;
            if ok {
                let start = self.batch_vals.len();
                self.cols[self.target as usize].view().append_to(&mut self.batch_vals);
                self.batch_results.extend((0..inputs.len()).map(|k| Ok((start + k * n, start + (k + 1) * n))));
                return;
            }
        }
        for x in inputs {
            let r = self.eval(x.as_ref()).map(|v| v.len());
            let r = r.map(|len| {
                let start = self.batch_vals.len();
                self.batch_vals.extend_from_slice(&self.result);
                (start, start + len)
            });
            self.batch_results.push(r);
        }
    }

    /// The target selector on `tokens`: `m[q][k]` is whether query `q` selects key `k`.
    pub fn matrix(&mut self, tokens: &[Val]) -> Result<Vec<Vec<bool>>, EvalError> {
        self.eval(tokens)?;
        let (n, w) = (tokens.len(), kernels::words(tokens.len()));
        let sel = &self.sels[self.target as usize];
        Ok((0..n).map(|q| (0..n).map(|k| sel[q * w + k / 64] >> (k % 64) & 1 == 1).collect()).collect())
    }

    /// Evaluates the target's ancestors on `b` inputs of `n` tokens each (`tokens`, one
    /// input after the other).
    fn run(&mut self, n: usize, b: usize, tokens: &[Val]) -> Result<(), EvalError> {
        self.strings.begin_input();
        (self.n, self.b) = (n, b);
        let graph = std::sync::Arc::clone(&self.graph);
        for idx in 0..self.order.len() {
            let i = self.order[idx] as usize;
            if self.valid_for[i] == (n, b) {
                continue;
            }
            self.valid_for[i] = (0, 0); // the buffer is about to change
            if let Err(m) = self.node(i as Id, &graph.nodes[i], tokens) {
                let at = (self.describe)(self.graph.spans[i]);
                return Err(EvalError { message: format!("{m} ({at})") });
            }
            if self.length_only[i] {
                self.valid_for[i] = (n, b);
            }
        }
        Ok(())
    }
}

/// The empty input and inputs over [`MAX_INPUT_TOKENS`] are errors.
fn check_len(n: usize) -> Result<(), EvalError> {
    if n == 0 {
        return Err(EvalError { message: "RASP evaluates non-empty inputs only; this input is empty".into() });
    }
    if n > MAX_INPUT_TOKENS {
        let message =
            format!("the input has {n} tokens, over algen's RASP limit of {MAX_INPUT_TOKENS} tokens per input");
        return Err(EvalError { message });
    }
    Ok(())
}

/// How many inputs of length `n` one batch holds.
fn chunk(n: usize) -> usize {
    let words = n * kernels::words(n);
    (BATCH_TOKENS / n).min(BATCH_WORDS / words).max(1)
}
