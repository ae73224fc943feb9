//! The training batches: one seeded example stream per train length, and a seeded curriculum.
//!
//! - **One length per batch** (the default; Delétang et al. 2023): each batch draws its length
//!   uniformly from the train lengths, so batches are never padded.
//! - **Mixed lengths** (`mixed_lengths = true`): every example draws its own length. To keep
//!   padding small the examples are *bucketed*: a pool of [`POOL`] batches' worth of examples
//!   is drawn, sorted by sequence length, cut into batches of neighbouring lengths, and those
//!   batches are served in a seeded random order. The examples seen are the same as without
//!   bucketing; only their grouping changes (W-like lengths 1..=40, batch 32: ~3% of the
//!   positions are padding instead of ~45%, measured in `tests/train.rs`).
//! - **Arithmetic formats** (`addition`, `multiplication`): each example draws its operands'
//!   digit counts from the train lengths ([`Stream::over`]; Cho et al. 2024), so batches mix
//!   lengths (padded, or bucketed as above with `mixed_lengths = true`).
//!
//! - **Listed examples** ([`Batches::listed`]; a split part over a finite universe): every
//!   example is drawn uniformly, with replacement, from the part's list (a repeated example is
//!   drawn as often as it is listed), bucketed by length as above.
//!
//! A checkpoint records where the batches stand ([`Batches::state`], [`DataState`]): the RNG
//! positions of the curriculum, the random starts and every example stream, and with a
//! bucketing pool part-served, the positions before that pool was drawn and how many of its
//! batches were served ([`Batches::restore`] draws the pool again and skips them).
//!
//! Examples are laid out by [`task::encode_train`]: index hints start at a random hint, and for a
//! model with coupled positions ([`Batches::with_coupling`]) the position ids get a random start,
//! both drawn from one more seeded stream (part `"positions"`).

use crate::ir::Task;
use crate::task::{self, stream_seed, Coupling, Encoded, Example, LabelError, Stream, Vocab};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, VecDeque};

/// Batches per bucketing pool.
pub const POOL: usize = 16;

/// Where a [`Batches`] stands, for checkpoints: RNG positions (words drawn) and, while a
/// bucketing pool is part-served, the batches served from it (the positions are then those
/// before the pool was drawn).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DataState {
    pub curriculum: u128,
    pub starts: u128,
    /// `(key, position)` of every example stream drawn from so far (key: its input length).
    pub streams: Vec<(usize, u128)>,
    pub served: usize,
}

/// A seeded source of training batches (see the module docs).
pub struct Batches<'a> {
    task: &'a Task,
    vocab: &'a Vocab,
    lengths: &'a [usize],
    streams: BTreeMap<usize, Stream<'a>>,
    rng: ChaCha8Rng,
    seed: u64,
    mixed: bool,
    ready: VecDeque<Vec<Encoded>>,
    /// How the model reads position ids (coupled positions), if it does.
    coupling: Option<Coupling>,
    /// Random starts of index hints and coupled ids.
    starts: ChaCha8Rng,
    /// The listed examples to draw from ([`Batches::listed`]).
    listed: Option<&'a [Example]>,
    /// While a bucketing pool is part-served: the state before it was drawn, and batches served.
    pool_mark: Option<DataState>,
}

impl<'a> Batches<'a> {
    /// Batches of `task` over the input `lengths` (non-empty), seeded by the run's `seed`.
    pub fn new(task: &'a Task, vocab: &'a Vocab, lengths: &'a [usize], seed: u64, mixed: bool) -> Self {
        let rng = ChaCha8Rng::seed_from_u64(stream_seed(&task.name, "curriculum", 0, seed));
        let starts = ChaCha8Rng::seed_from_u64(stream_seed(&task.name, "positions", 0, seed));
        let ready = VecDeque::new();
        Batches {
            task,
            vocab,
            lengths,
            streams: BTreeMap::new(),
            rng,
            seed,
            mixed,
            ready,
            coupling: None,
            starts,
            listed: None,
            pool_mark: None,
        }
    }

    /// Batches drawn uniformly from `examples` (non-empty), bucketed by length.
    pub fn listed(task: &'a Task, vocab: &'a Vocab, examples: &'a [Example], seed: u64) -> Self {
        let mut b = Batches::new(task, vocab, &[], seed, true);
        b.listed = Some(examples);
        b
    }

    /// The same batches for a model with coupled positions: examples carry position ids with
    /// a random start when `coupling.random_start` ([`Coupling::randomize`]).
    pub fn with_coupling(mut self, coupling: Option<Coupling>) -> Self {
        self.coupling = coupling;
        self
    }

    /// The next batch of `n` examples.
    pub fn next(&mut self, n: usize) -> Result<task::Batch, LabelError> {
        if self.task.format.is_arith() && !self.mixed {
            let encs = (0..n).map(|_| self.example(0)).collect::<Result<Vec<_>, _>>()?;
            return Ok(task::batch(&encs));
        }
        if !self.mixed {
            let len = self.lengths[self.rng.gen_range(0..self.lengths.len())];
            let encs = (0..n).map(|_| self.example(len)).collect::<Result<Vec<_>, _>>()?;
            return Ok(task::batch(&encs));
        }
        if self.ready.is_empty() {
            let before = self.positions();
            self.refill(n)?;
            self.pool_mark = Some(before);
        }
        let encs = self.ready.pop_front().unwrap_or_default();
        if let Some(m) = self.pool_mark.as_mut() {
            m.served += 1;
        }
        if self.ready.is_empty() {
            self.pool_mark = None;
        }
        Ok(task::batch(&encs))
    }

    /// Where the batches stand (see [`DataState`]).
    pub fn state(&self) -> DataState {
        self.pool_mark.clone().unwrap_or_else(|| self.positions())
    }

    /// Continues from a saved [`Batches::state`] of the same task, lengths and seed, whose
    /// batches had `n` examples: the next batch is the one that followed the saved state.
    pub fn restore(&mut self, s: &DataState, n: usize) -> Result<(), LabelError> {
        self.rng.set_word_pos(s.curriculum);
        self.starts.set_word_pos(s.starts);
        self.streams.clear();
        for &(key, pos) in &s.streams {
            self.stream(key).set_word_pos(pos);
        }
        (self.ready, self.pool_mark) = (VecDeque::new(), None);
        for _ in 0..s.served {
            self.next(n)?;
        }
        Ok(())
    }

    /// The RNG positions now, with no pool part-served.
    fn positions(&self) -> DataState {
        DataState {
            curriculum: self.rng.get_word_pos(),
            starts: self.starts.get_word_pos(),
            streams: self.streams.iter().map(|(&k, s)| (k, s.word_pos())).collect(),
            served: 0,
        }
    }

    /// The example stream of key `len` (created on first use).
    fn stream(&mut self, len: usize) -> &mut Stream<'a> {
        let (task, seed, lengths) = (self.task, self.seed, self.lengths);
        self.streams.entry(len).or_insert_with(|| match task.format.is_arith() {
            true => Stream::over(task, "train", lengths, seed),
            false => Stream::new(task, "train", len, seed),
        })
    }

    /// Draws a pool of `POOL·n` examples of random lengths and queues it as length buckets.
    fn refill(&mut self, n: usize) -> Result<(), LabelError> {
        let mut pool = Vec::with_capacity(POOL * n);
        for _ in 0..POOL * n.max(1) {
            let len = if self.task.format.is_arith() || self.listed.is_some() {
                0
            } else {
                self.lengths[self.rng.gen_range(0..self.lengths.len())]
            };
            pool.push(self.example(len)?);
        }
        pool.sort_by_key(|e| e.tokens.len()); // stable: ties keep their drawing order
        let mut buckets: Vec<Vec<Encoded>> = Vec::with_capacity(POOL);
        let mut it = pool.into_iter().peekable();
        while it.peek().is_some() {
            buckets.push(it.by_ref().take(n.max(1)).collect());
        }
        buckets.shuffle(&mut self.rng);
        self.ready.extend(buckets);
        Ok(())
    }

    /// The next training example of length `len`; arithmetic tasks ignore `len` and draw from
    /// one stream over all train lengths.
    fn example(&mut self, len: usize) -> Result<Encoded, LabelError> {
        if let Some(list) = self.listed {
            let ex = &list[self.rng.gen_range(0..list.len())];
            return Ok(task::encode_train(self.task, self.vocab, ex, self.coupling, &mut self.starts));
        }
        let ex = self.stream(len).next_example()?;
        Ok(task::encode_train(self.task, self.vocab, &ex, self.coupling, &mut self.starts))
    }
}
