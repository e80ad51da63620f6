//! Benchmarks only: see `benches/sign_in.rs` and docs/BENCHMARKS.md.
//! (This crate composes every layer, as the binary does, so that the
//! benchmarks measure the real code paths.)
