//! Integration tests: one binary that links once and runs the real `hush` executable.

mod util;

mod audit;
mod cap;
mod mcp;
mod mcp_policy;
mod policy;
mod precommit;
mod rules;
mod run;
mod scan;
mod vault;
