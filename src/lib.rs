//! algen: a declarative language and tool for algorithmic-generalization experiments.
pub mod ir;
pub mod model;
pub mod report;
pub mod source;
pub mod task;
