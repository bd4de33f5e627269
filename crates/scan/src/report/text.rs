use std::io::{self, Write};

use super::RenderOptions;
use crate::Detection;

const BOLD: &str = "\x1b[1m";
const RED: &str = "\x1b[31m";
const MAGENTA: &str = "\x1b[35m";
const GREEN: &str = "\x1b[32m";
const DIM: &str = "\x1b[2m";
const RESET: &str = "\x1b[0m";

pub(super) fn render(
    detections: &[Detection],
    opts: &RenderOptions<'_>,
    out: &mut dyn Write,
) -> io::Result<()> {
    let paint = |code: &'static str| if opts.color { code } else { "" };
    let (bold, red, magenta, green, dim, reset) = (
        paint(BOLD),
        paint(RED),
        paint(MAGENTA),
        paint(GREEN),
        paint(DIM),
        paint(RESET),
    );
    for d in detections {
        writeln!(
            out,
            "{magenta}{bold}{}{reset}:{green}{}{reset}:{}: {red}{bold}{}{reset} ({}){}",
            d.path,
            d.line,
            d.column,
            d.rule_id,
            d.rule_name,
            match d.encoding {
                hush_patterns::Encoding::Plain => String::new(),
                e => format!(" [{} encoded]", e.as_str()),
            }
        )?;
        let context = if opts.show_secrets {
            format!("{}  (secret: {})", d.context, d.shown_secret(true))
        } else {
            d.context.clone()
        };
        writeln!(out, "    {dim}{}{reset}", strip_controls(&context))?;
        if let Some(c) = &d.commit {
            writeln!(
                out,
                "    {dim}commit {} by {} <{}> on {}: {}{reset}",
                &c.id[..c.id.len().min(12)],
                strip_controls(&c.author),
                strip_controls(&c.email),
                c.date,
                strip_controls(&c.summary)
            )?;
        }
    }
    Ok(())
}

/// Terminal control characters from scanned content must not reach the terminal.
fn strip_controls(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_control() && c != '\t' {
                '\u{fffd}'
            } else {
                c
            }
        })
        .collect()
}
