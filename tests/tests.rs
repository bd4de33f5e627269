//! Integration tests: one binary that links once and runs the real `hush` executable.

mod util;

mod mcp;
mod precommit;
mod rules;
mod scan;
