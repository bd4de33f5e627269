use std::collections::BTreeMap;
use std::io::{self, Write};

use serde_json::{json, Value};

use super::RenderOptions;
use crate::Detection;

const SCHEMA: &str = "https://json.schemastore.org/sarif-2.1.0.json";
const INFO_URI: &str = "https://github.com/hush-rs/hush";

pub(super) fn render(
    detections: &[Detection],
    opts: &RenderOptions<'_>,
    out: &mut dyn Write,
) -> io::Result<()> {
    // Rules that fired, in id order; results refer to them by index.
    let mut index: BTreeMap<&str, usize> = BTreeMap::new();
    for d in detections {
        index.entry(&d.rule_id).or_default();
    }
    for (i, v) in index.values_mut().enumerate() {
        *v = i;
    }
    let rules: Vec<Value> = index
        .keys()
        .map(|id| rule_descriptor(id, detections, opts))
        .collect();
    let results: Vec<Value> = detections
        .iter()
        .map(|d| result(d, index[&*d.rule_id], opts))
        .collect();
    let log = json!({
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {
                "driver": {
                    "name": "hush",
                    "informationUri": INFO_URI,
                    "version": opts.version,
                    "semanticVersion": opts.version,
                    "rules": rules,
                }
            },
            "columnKind": "unicodeCodePoints",
            "originalUriBaseIds": {
                "%SRCROOT%": { "description": { "text": "The directory hush scanned from." } }
            },
            "results": results,
        }]
    });
    serde_json::to_writer_pretty(&mut *out, &log)?;
    out.write_all(b"\n")
}

fn rule_descriptor(id: &str, detections: &[Detection], opts: &RenderOptions<'_>) -> Value {
    let rule = opts.rules.rule(id);
    let name = rule.map_or_else(
        || {
            detections
                .iter()
                .find(|d| &*d.rule_id == id)
                .map_or(id.to_string(), |d| d.rule_name.to_string())
        },
        |r| r.name().to_string(),
    );
    let mut v = json!({
        "id": id,
        "name": pascal(id),
        "shortDescription": { "text": name },
        "fullDescription": { "text": format!("{name}: a credential that must not be committed. Revoke it at its issuer, then remove it from the code.") },
        "defaultConfiguration": { "level": "error" },
        "help": {
            "text": format!("hush rule `{id}` found a {name}. Rotate the credential (assume it is compromised once pushed), remove it, and load it at run time from a vault or the environment. If the finding is intended (a test fixture), add `hush:allow` with a reason on the line, or accept it in the baseline with `hush scan --update-baseline`."),
        },
        "properties": {
            "tags": ["security", "secret", "external/cwe/cwe-798"],
            "precision": "high",
            "problem.severity": "error",
            "security-severity": "8.0",
        }
    });
    if let Some(uri) = rule.and_then(|r| r.references().first()) {
        v["helpUri"] = json!(uri);
    }
    v
}

fn result(d: &Detection, rule_index: usize, opts: &RenderOptions<'_>) -> Value {
    let mut v = json!({
        "ruleId": &*d.rule_id,
        "ruleIndex": rule_index,
        "level": "error",
        "kind": "fail",
        "message": { "text": format!("{} found: {}", d.rule_name, d.shown_secret(opts.show_secrets)) },
        "locations": [{
            "physicalLocation": {
                "artifactLocation": artifact(&d.path),
                "region": {
                    "startLine": d.line,
                    "startColumn": d.column,
                    "endLine": d.end_line,
                    "endColumn": d.end_column,
                    "snippet": { "text": d.context },
                }
            }
        }],
        "partialFingerprints": { "hushFinding/v1": d.fingerprint },
        "properties": { "encoding": d.encoding.as_str() },
    });
    if let Some(c) = &d.commit {
        v["properties"]["commit"] = json!({
            "id": c.id, "author": c.author, "email": c.email, "date": c.date, "summary": c.summary,
        });
    }
    v
}

/// An artifactLocation: relative paths against `%SRCROOT%`, absolute ones as `file://` URIs.
fn artifact(path: &str) -> Value {
    if path.starts_with('/') {
        json!({ "uri": format!("file://{}", encode(path)) })
    } else {
        json!({ "uri": encode(path), "uriBaseId": "%SRCROOT%" })
    }
}

/// Percent-encodes what RFC 3986 does not allow in a path.
fn encode(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for b in path.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/!$&'()*+,;=:@".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn pascal(id: &str) -> String {
    id.split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| {
            let mut c = w.chars();
            c.next().map_or(String::new(), |f| {
                f.to_ascii_uppercase().to_string() + c.as_str()
            })
        })
        .collect()
}
