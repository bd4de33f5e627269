//! Rendering scan results: text, JSON, JSON Lines, SARIF 2.1.0 and JUnit XML.
//!
//! Every format masks secrets unless [`RenderOptions::show_secrets`] is set.

use std::io::{self, Write};

use hush_patterns::RuleSet;

use crate::Detection;

mod json;
mod junit;
mod sarif;
mod text;

/// An output format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Format {
    /// For people: one block per finding.
    Text,
    /// One JSON array.
    Json,
    /// One JSON object per line.
    JsonLines,
    /// SARIF 2.1.0, for GitHub code scanning and other SARIF consumers.
    Sarif,
    /// JUnit XML, for CI test reports.
    Junit,
}

/// How to render.
#[derive(Clone, Copy, Debug)]
#[non_exhaustive]
pub struct RenderOptions<'a> {
    /// Print secrets in full (`--show-secrets`).
    pub show_secrets: bool,
    /// ANSI colour (text format only).
    pub color: bool,
    /// The rules, for SARIF rule metadata.
    pub rules: &'a RuleSet,
    /// The tool version to record.
    pub version: &'a str,
}

impl<'a> RenderOptions<'a> {
    /// Masked, uncoloured output.
    pub fn new(rules: &'a RuleSet, version: &'a str) -> RenderOptions<'a> {
        RenderOptions {
            show_secrets: false,
            color: false,
            rules,
            version,
        }
    }

    /// Sets `show_secrets`.
    pub fn show_secrets(mut self, yes: bool) -> Self {
        self.show_secrets = yes;
        self
    }

    /// Sets `color`.
    pub fn color(mut self, yes: bool) -> Self {
        self.color = yes;
        self
    }
}

/// Writes `detections` to `out` in `format`.
///
/// # Errors
/// Whatever writing to `out` returns.
pub fn render(
    format: Format,
    detections: &[Detection],
    opts: &RenderOptions<'_>,
    out: &mut dyn Write,
) -> io::Result<()> {
    match format {
        Format::Text => text::render(detections, opts, out),
        Format::Json => json::render(detections, opts, out, false),
        Format::JsonLines => json::render(detections, opts, out, true),
        Format::Sarif => sarif::render(detections, opts, out),
        Format::Junit => junit::render(detections, opts, out),
    }
}
