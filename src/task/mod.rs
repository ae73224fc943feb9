//! Data generation: target expressions, labelled example streams, the
//! model's vocabulary and the per-format layout of an example.
//!
//! ```text
//! Stream::new(task, part, len, seed) ──next_example──► Example { input ids, target ids }
//!   (uniform inputs, label = eval(task.target);               │ encode(task, &vocab(task), ..)
//!    arithmetic formats: arith::draw;
//!    builtins: chomsky::sample/label)                         │ (training: encode_train)
//!                                                             ▼
//!                     Encoded { tokens, targets, loss_mask, score_mask, positions } ─batch─► Batch
//! ```

pub mod arith;
mod builtins;
pub mod chomsky;
pub mod eval;
pub mod format;
pub mod generate;
pub mod grammar;
mod grammar_len;
pub mod label;
pub mod machine;
pub mod parts;
pub mod universe;
pub mod value;
pub mod vocab;

pub use eval::{eval, EvalError};
pub use format::{batch, encode, encode_train, prompt, Batch, Coupling, Encoded, Sources};
pub use generate::{generate, stream_seed, Example, Stream};
pub use label::{label, label_tokens, LabelError, Labeler};
pub use parts::{enumerate, split_universe, UniverseSplit};
pub use value::{to_token, Value};
pub use vocab::{vocab, Vocab};
