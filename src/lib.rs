//! algen: a declarative language and tool for algorithmic-generalization experiments.
//!
//! ```text
//!  .alg text ─syntax::parse─► pest pairs ─syntax::build─► ast::File (every node spanned)
//!                                                           │ check::check (names, types, ranges;
//!                                                           ▼  ALL errors at once, miette)
//!                                                   ir::Spec (defaults filled, sweeps expanded,
//!                                                           │  serde-serializable, spans kept)
//!             ┌───────────────────────┬──────────────────────┼─────────────────────┐
//!    task::generate / label     model::build            train::run          eval::evaluate
//!   (examples, splits, vocab)  (candle graph)     (optimizer, schedule)   (metrics by length…)
//!             └───────────────────────┴──────────┬───────────┴─────────────────────┘
//!                                                ▼
//!                                   report::Report → results.json, report.md, plots
//! ```
//!
//! Each arrow is a public function: [`syntax::parse`], [`syntax::build`],
//! [`check::check`], [`task::generate`], [`model::build`], [`train::run`],
//! [`eval::evaluate`], [`report::write_experiment`].

pub mod alloc;
pub mod check;
pub mod diag;
pub mod eval;
pub mod explain;
pub mod fmt;
pub mod ir;
pub mod lsp;
pub mod model;
pub mod pipeline;
pub mod plan;
pub mod rasp;
pub mod rasp_compile;
pub mod report;
pub mod runs;
pub mod slurm;
pub mod source;
pub mod syntax;
pub mod task;
pub mod train;
pub mod turing;
