//! The resources a JSON tool call names: what a capability check of an MCP call looks at
//! besides the tool itself.

use std::path::Path;

use serde_json::Value;

use crate::scope::Resource;

/// The most resources taken from one call; beyond it the call is refused, not half-checked.
pub const MAX_ARGUMENT_RESOURCES: usize = 64;

/// Keys whose string values are paths or URLs even when they are relative.
const PATH_KEYS: &[&str] = &[
    "path",
    "paths",
    "file",
    "files",
    "filename",
    "filepath",
    "file_path",
    "source",
    "src",
    "destination",
    "dest",
    "dst",
    "dir",
    "directory",
    "root",
    "cwd",
    "target",
    "uri",
    "url",
    "location",
];

/// The resources in a tool call's arguments: every string under a path-like key (`path`,
/// `source`, `url`, ...: relative paths are taken from `base`, `~/` from `home`), and every
/// other string that is, whole and without whitespace, an absolute path or a `file:`,
/// `http(s):` or `ws(s):` URL.
///
/// # Errors
/// A message naming the argument (a JSON pointer, never its value) when a path-like string is
/// not a resource a token could allow (a `..` segment, `~` without a home, a bad URL), or
/// when there are more than [`MAX_ARGUMENT_RESOURCES`]: a capability check fails closed.
pub fn resources_in_arguments(
    arguments: &Value,
    base: &Path,
    home: Option<&Path>,
) -> Result<Vec<Resource>, String> {
    let mut out = Vec::new();
    walk(arguments, "", false, base, home, &mut out, 0)?;
    Ok(out)
}

fn walk(
    v: &Value,
    at: &str,
    pathy: bool,
    base: &Path,
    home: Option<&Path>,
    out: &mut Vec<Resource>,
    depth: usize,
) -> Result<(), String> {
    if depth > 64 {
        return Err(format!("arguments nested too deeply at {at}"));
    }
    match v {
        Value::String(s) => {
            if let Some(r) = resource(s, pathy, base, home).map_err(|e| format!("{at}: {e}"))? {
                if out.len() >= MAX_ARGUMENT_RESOURCES {
                    return Err(format!(
                        "more than {MAX_ARGUMENT_RESOURCES} paths or URLs in one call"
                    ));
                }
                if !out.contains(&r) {
                    out.push(r);
                }
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                walk(
                    item,
                    &format!("{at}/{i}"),
                    pathy,
                    base,
                    home,
                    out,
                    depth + 1,
                )?;
            }
        }
        Value::Object(map) => {
            for (k, item) in map {
                let key = k.to_ascii_lowercase();
                let pathy = PATH_KEYS.contains(&key.as_str());
                let ptr = format!("{at}/{}", k.replace('~', "~0").replace('/', "~1"));
                walk(item, &ptr, pathy, base, home, out, depth + 1)?;
            }
        }
        _ => {}
    }
    Ok(())
}

fn resource(
    s: &str,
    pathy: bool,
    base: &Path,
    home: Option<&Path>,
) -> Result<Option<Resource>, String> {
    let lower = s.get(..8).unwrap_or(s).to_ascii_lowercase();
    let urlish = ["file://", "http://", "https://", "ws://", "wss://"]
        .iter()
        .any(|p| lower.starts_with(p));
    if !pathy {
        // Outside path-like keys only a whole string that is one path or URL counts: file
        // contents, commands and prose that merely start with `/` are not resources.
        if (s.starts_with('/') || urlish) && !s.chars().any(char::is_whitespace) {
            return Resource::parse(s).map(Some).map_err(|e| e.to_string());
        }
        return Ok(None);
    }
    if s.is_empty() {
        return Ok(None);
    }
    if s.starts_with('/') || urlish {
        return Resource::parse(s).map(Some).map_err(|e| e.to_string());
    }
    if s.contains("://") {
        return Resource::parse(s).map(Some).map_err(|e| e.to_string());
    }
    let full = if s == "~" || s.starts_with("~/") {
        let home = home.ok_or("a `~` path with no home directory known")?;
        home.join(s.trim_start_matches('~').trim_start_matches('/'))
    } else {
        base.join(s)
    };
    let text = full.to_str().ok_or("a path that is not UTF-8")?.to_string();
    Resource::parse(&text).map(Some).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn finds_paths_and_urls() {
        let args = json!({
            "path": "notes/a.txt",
            "paths": ["/etc/hosts", "~/x"],
            "text": "see /tmp/y for details",
            "content": "/* a C comment */\nint x;",
            "body": "/var/log/z",
            "url": "https://api.example.com/v1",
            "nested": {"Source": "./src"},
            "count": 3
        });
        let got =
            resources_in_arguments(&args, Path::new("/proj"), Some(Path::new("/home/me"))).unwrap();
        let text: Vec<String> = got.iter().map(Resource::to_string).collect();
        assert_eq!(
            text,
            vec![
                "path:/var/log/z",
                "path:/proj/src",
                "path:/proj/notes/a.txt",
                "path:/etc/hosts",
                "path:/home/me/x",
                "host:api.example.com:443",
            ]
        );
    }

    #[test]
    fn refuses_what_it_cannot_check() {
        let base = Path::new("/proj");
        let err =
            resources_in_arguments(&json!({"path": "../../etc/passwd"}), base, None).unwrap_err();
        assert!(err.starts_with("/path: "), "{err}");
        assert!(!err.contains("passwd"));
        assert!(resources_in_arguments(&json!({"file": "~/.ssh/id"}), base, None).is_err());
        let many: Vec<String> = (0..65).map(|i| format!("/f{i}")).collect();
        assert!(resources_in_arguments(&json!({ "x": many }), base, None).is_err());
    }
}
