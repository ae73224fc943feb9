//! Randomized positions (Ruoss et al. 2023, "Randomized Positional Encodings Boost Length
//! Generalization of Transformers", §3): for a sequence of length T, draw T distinct integers
//! uniformly from `[0, L)` without replacement, sort them, and use them as the position ids
//! instead of `0..T`. One draw per forward pass, shared by every sequence of the batch (as
//! their `noisy_fixed_positional_encodings`, which draws once per call); with `per_layer = true`
//! every attention layer after the first draws again (their RoPE, ALiBi and relative
//! attention draw inside each layer's call, `models/transformer.py`). `L` (`max_len`) must be
//! at least the longest sequence the model ever reads, so test lengths are covered in training.
//!
//! Determinism: the draws come from a ChaCha8 stream owned by the model (shared by its clones),
//! seeded by [`crate::model::Net::seed_positions`]; the training loop seeds it from the run
//! seed. The evaluation copy ([`crate::model::Net::evaluation`]) gets its own stream, so
//! evaluating never changes the training draws.

use candle_core::{bail, Result};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use std::sync::{Arc, Mutex};

/// The stream of draws of one model.
#[derive(Clone, Debug)]
pub struct Randomizer {
    /// `L`: positions are drawn from `[0, max_len)`.
    pub max_len: usize,
    /// Whether the evaluation copy randomizes too.
    pub eval: bool,
    rng: Arc<Mutex<ChaCha8Rng>>,
}

impl Randomizer {
    pub fn new(max_len: usize, eval: bool, seed: u64) -> Self {
        Randomizer { max_len, eval, rng: Arc::new(Mutex::new(stream(seed))) }
    }

    /// Restarts the stream (shared with every clone) from `seed`.
    pub fn reseed(&self, seed: u64) {
        *self.rng.lock().expect("position rng lock") = stream(seed);
    }

    /// The stream's position (words drawn), saved in checkpoints.
    pub fn word_pos(&self) -> u128 {
        self.rng.lock().expect("position rng lock").get_word_pos()
    }

    /// Moves the stream to a saved position ([`Randomizer::word_pos`]).
    pub fn set_word_pos(&self, pos: u128) {
        self.rng.lock().expect("position rng lock").set_word_pos(pos);
    }

    /// A randomizer with its own stream, seeded with `seed`.
    pub fn fork(&self, seed: u64) -> Self {
        Randomizer::new(self.max_len, self.eval, seed)
    }

    /// `t` distinct positions from `[0, max_len)`, sorted ascending.
    pub fn draw(&self, t: usize) -> Result<Vec<u32>> {
        if t > self.max_len {
            bail!(
                "randomized positions: a sequence of {t} tokens needs {t} distinct positions, but they are drawn \
                 from [0, {}): raise `randomized(.., max_len = ..)` to at least {t}",
                self.max_len
            )
        }
        let mut rng = self.rng.lock().expect("position rng lock");
        let mut v: Vec<u32> = rand::seq::index::sample(&mut *rng, self.max_len, t).iter().map(|i| i as u32).collect();
        v.sort_unstable();
        Ok(v)
    }
}

/// ChaCha8 seeded with `seed`, on stream 1 (parameter initialization reads stream 0 of the same
/// seed, see [`crate::model::Params`]), so draws and weights are independent.
fn stream(seed: u64) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(1);
    rng
}
