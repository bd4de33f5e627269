use std::io::{self, Write};

use super::RenderOptions;
use crate::Detection;

pub(super) fn render(
    detections: &[Detection],
    opts: &RenderOptions<'_>,
    out: &mut dyn Write,
) -> io::Result<()> {
    let n = detections.len().max(1);
    let failures = detections.len();
    writeln!(out, r#"<?xml version="1.0" encoding="UTF-8"?>"#)?;
    writeln!(
        out,
        r#"<testsuites name="hush scan" tests="{n}" failures="{failures}" errors="0">"#
    )?;
    writeln!(
        out,
        r#"  <testsuite name="hush scan" tests="{n}" failures="{failures}" errors="0" skipped="0">"#
    )?;
    if detections.is_empty() {
        writeln!(
            out,
            r#"    <testcase classname="hush.scan" name="no secrets found"/>"#
        )?;
    }
    for d in detections {
        let location = format!("{}:{}:{}", d.path, d.line, d.column);
        let mut body = format!("{location}: {} ({})\n{}", d.rule_id, d.rule_name, d.context);
        if opts.show_secrets {
            body.push_str(&format!("\nsecret: {}", d.shown_secret(true)));
        }
        if let Some(c) = &d.commit {
            body.push_str(&format!(
                "\ncommit {} by {} <{}> on {}",
                c.id, c.author, c.email, c.date
            ));
        }
        writeln!(
            out,
            r#"    <testcase classname="{}" name="{}" file="{}" line="{}">"#,
            escape(&d.rule_id),
            escape(&location),
            escape(&d.path),
            d.line
        )?;
        writeln!(
            out,
            r#"      <failure type="{}" message="{}">{}</failure>"#,
            escape(&d.rule_id),
            escape(&format!(
                "{} found: {}",
                d.rule_name,
                d.shown_secret(opts.show_secrets)
            )),
            escape(&body)
        )?;
        writeln!(out, "    </testcase>")?;
    }
    writeln!(out, "  </testsuite>")?;
    writeln!(out, "</testsuites>")
}

/// Escapes text for XML attributes and content; characters XML 1.0 forbids become U+FFFD.
fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\n' => out.push_str("&#10;"),
            '\t' => out.push_str("&#9;"),
            c if (c as u32) < 0x20 || c == '\u{fffe}' || c == '\u{ffff}' => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}
