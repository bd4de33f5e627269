//! The rule pack shipped in `patterns/`, embedded at build time.

include!(concat!(env!("OUT_DIR"), "/builtin_files.rs"));
