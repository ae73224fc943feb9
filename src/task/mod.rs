//! Data generation.
