use std::io::{self, Write};

use serde_json::{json, Value};

use super::RenderOptions;
use crate::Detection;

/// The JSON object for one finding (also used by the JSON Lines format).
pub(super) fn object(d: &Detection, opts: &RenderOptions<'_>) -> Value {
    let mut v = json!({
        "rule_id": &*d.rule_id,
        "rule_name": &*d.rule_name,
        "path": &*d.path,
        "line": d.line,
        "column": d.column,
        "end_line": d.end_line,
        "end_column": d.end_column,
        "secret": d.shown_secret(opts.show_secrets),
        "secret_masked": !opts.show_secrets,
        "context": &d.context,
        "encoding": d.encoding.as_str(),
        "entropy": (d.entropy * 100.0).round() / 100.0,
        "fingerprint": &d.fingerprint,
    });
    if let Some(c) = &d.commit {
        v["commit"] = json!({
            "id": c.id,
            "author": c.author,
            "email": c.email,
            "date": c.date,
            "summary": c.summary,
        });
    }
    v
}

pub(super) fn render(
    detections: &[Detection],
    opts: &RenderOptions<'_>,
    out: &mut dyn Write,
    lines: bool,
) -> io::Result<()> {
    if lines {
        for d in detections {
            serde_json::to_writer(&mut *out, &object(d, opts))?;
            out.write_all(b"\n")?;
        }
        return Ok(());
    }
    let all: Vec<Value> = detections.iter().map(|d| object(d, opts)).collect();
    serde_json::to_writer_pretty(&mut *out, &all)?;
    out.write_all(b"\n")
}
