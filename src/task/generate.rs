//! Example streams: seeded, reproducible on any machine.
//!
//! Each (task, part, length, seed) has its own stream, seeded with
//! [`stream_seed`] (FNV-1a over the names and numbers, then the splitmix64
//! finalizer) into `ChaCha8Rng::seed_from_u64`; token draws use `gen_range`
//! over `u32` (no platform-width `usize` sampling), so a stream depends only
//! on the rand 0.8 / rand_chacha 0.3 versions pinned in Cargo.lock.

use super::label::{LabelError, Labeler};
use crate::ir::{MachineInput, Task, TaskKind};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// One labelled example.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Example {
    /// Ids into `task.alphabet`.
    pub input: Vec<u32>,
    /// Ids into `task.outputs` (one element for `classify`).
    pub target: Vec<u32>,
}

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0000_0100_0000_01b3;

fn fnv1a(mut h: u64, bytes: &[u8]) -> u64 {
    for &b in bytes {
        h ^= b as u64;
        h = h.wrapping_mul(FNV_PRIME);
    }
    h
}

/// The splitmix64 output function (Steele et al. 2014).
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The seed of one stream: FNV-1a 64 over `task`, a 0xFF byte, `part`, a
/// 0xFF byte, `len` and `seed` as little-endian u64s, then splitmix64's
/// finalizer. Stable across machines and Rust versions (0xFF never occurs
/// in UTF-8, so names cannot run into each other).
pub fn stream_seed(task: &str, part: &str, len: usize, seed: u64) -> u64 {
    let mut h = fnv1a(FNV_OFFSET, task.as_bytes());
    h = fnv1a(h, &[0xff]);
    h = fnv1a(h, part.as_bytes());
    h = fnv1a(h, &[0xff]);
    h = fnv1a(h, &(len as u64).to_le_bytes());
    h = fnv1a(h, &seed.to_le_bytes());
    mix(h)
}

/// An endless stream of labelled examples of one input length, or of lengths drawn from a set.
pub struct Stream<'t> {
    labeler: Labeler<'t>,
    /// One length, or the lengths each example draws from (uniformly).
    lengths: Vec<usize>,
    rng: ChaCha8Rng,
    /// A finite grammar's sentences of this stream's length, listed on first use.
    sentences: Option<Vec<Example>>,
    /// A recursive grammar's exact-length table, built on first use.
    len_table: super::grammar::LenCache,
}

impl<'t> Stream<'t> {
    /// The stream of `task`'s examples of input length `len` for split part
    /// `part` (e.g. `"train"`, `"test"`) and run seed `seed`. For the arithmetic formats
    /// `len` is the operands' digit count: both addition operands have `len` digits
    /// ([`super::arith`]).
    pub fn new(task: &'t Task, part: &str, len: usize, seed: u64) -> Self {
        let rng = ChaCha8Rng::seed_from_u64(stream_seed(&task.name, part, len, seed));
        Stream { labeler: Labeler::new(task), lengths: vec![len], rng, sentences: None, len_table: None }
    }

    /// A stream whose examples draw their lengths uniformly from `lengths`; for addition each
    /// operand draws its own digit count (Cho et al. 2024). Seeded like [`Stream::new`] with
    /// part `"{part}*"` and the number of lengths.
    pub fn over(task: &'t Task, part: &str, lengths: &[usize], seed: u64) -> Self {
        let rng = ChaCha8Rng::seed_from_u64(stream_seed(&task.name, &format!("{part}*"), lengths.len(), seed));
        Stream { labeler: Labeler::new(task), lengths: lengths.to_vec(), rng, sentences: None, len_table: None }
    }

    /// The input length of this stream's examples (the longest, for [`Stream::over`]).
    pub fn input_len(&self) -> usize {
        self.lengths.iter().copied().max().unwrap_or(0)
    }

    /// The stream's RNG position (words drawn), saved in checkpoints.
    pub fn word_pos(&self) -> u128 {
        self.rng.get_word_pos()
    }

    /// Moves the stream to a saved position ([`Stream::word_pos`]).
    pub fn set_word_pos(&mut self, pos: u128) {
        self.rng.set_word_pos(pos);
    }

    /// The length of the next example: the stream's one length, or a uniform draw.
    fn next_len(&mut self) -> usize {
        match self.lengths.as_slice() {
            [l] => *l,
            [] => 0,
            ls => ls[self.rng.gen_range(0..ls.len() as u32) as usize],
        }
    }

    /// Draws the next input and labels it.
    pub fn next_example(&mut self) -> Result<Example, LabelError> {
        let task = self.labeler.task();
        let input = match &task.kind {
            TaskKind::Expr { .. } | TaskKind::Rasp { .. } | TaskKind::Machine { input: MachineInput::String, .. } => {
                let len = self.next_len();
                let k = task.alphabet.len() as u32;
                if k == 0 && len > 0 {
                    return Err(LabelError::EmptyAlphabet { task: task.name.clone(), len, span: task.span });
                }
                (0..len).map(|_| self.rng.gen_range(0..k)).collect::<Vec<u32>>()
            }
            TaskKind::Arith => return Ok(super::arith::draw(task.format, &self.lengths, &mut self.rng)),
            TaskKind::Universe { .. } => return super::universe::draw(task, &mut self.rng),
            TaskKind::Grammar(_) => {
                let len = self.input_len();
                return super::grammar::draw(task, len, &mut self.rng, &mut self.sentences, &mut self.len_table);
            }
            TaskKind::Machine { input: MachineInput::Numbers { second, .. }, .. } => {
                let format = match *second {
                    Some(second) => crate::ir::Format::Multiplication { second },
                    None => crate::ir::Format::Addition { index_hints: None },
                };
                super::arith::draw(format, &self.lengths, &mut self.rng).input
            }
            TaskKind::Chomsky(kind) => {
                let len = self.next_len();
                super::chomsky::sample(*kind, len, &mut self.rng)
            }
        };
        let target = self.labeler.label(&input)?;
        Ok(Example { input, target })
    }

    /// The next `n` examples (the first labelling error stops it).
    pub fn take(&mut self, n: usize) -> Result<Vec<Example>, LabelError> {
        (0..n).map(|_| self.next_example()).collect()
    }
}

/// The first `n` examples of [`Stream::new`]`(task, part, len, seed)`.
pub fn generate(task: &Task, part: &str, len: usize, seed: u64, n: usize) -> Result<Vec<Example>, LabelError> {
    Stream::new(task, part, len, seed).take(n)
}
