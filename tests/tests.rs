//! Integration tests: one binary that links once and runs the real `hush` executable.

mod util;

mod rules;

mod audit;
mod policy;
