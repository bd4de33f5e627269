//! Path expansion (`~`, `${workspace}`, `${home}`, `${tmp}`) and lexical normalisation.
//!
//! Evaluation is pure, so it never touches the filesystem: request paths are normalised
//! lexically (`.` dropped, `..` applied). Executors that can, should resolve symlinks first
//! ([`crate::canonicalize_request`]), so that a link cannot point a rule at the wrong file.

use std::path::PathBuf;

/// The places a policy's paths are relative to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Context {
    workspace: PathBuf,
    home: PathBuf,
    tmp: PathBuf,
    // Normalised once: every evaluation compares against them.
    ws_str: String,
    home_str: String,
    tmp_str: String,
}

impl Context {
    /// A context with these directories (absolute paths; they are normalised lexically).
    pub fn new(
        workspace: impl Into<PathBuf>,
        home: impl Into<PathBuf>,
        tmp: impl Into<PathBuf>,
    ) -> Context {
        let (workspace, home, tmp) = (workspace.into(), home.into(), tmp.into());
        let norm = |p: &PathBuf| normalize(&p.to_string_lossy(), "/");
        Context {
            ws_str: norm(&workspace),
            home_str: norm(&home),
            tmp_str: norm(&tmp),
            workspace,
            home,
            tmp,
        }
    }

    /// The directory `${workspace}` stands for.
    pub fn workspace(&self) -> &std::path::Path {
        &self.workspace
    }

    /// The directory `~` and `${home}` stand for.
    pub fn home(&self) -> &std::path::Path {
        &self.home
    }

    /// The directory `${tmp}` stands for.
    pub fn tmp(&self) -> &std::path::Path {
        &self.tmp
    }

    pub(crate) fn workspace_str(&self) -> &str {
        &self.ws_str
    }

    pub(crate) fn home_str(&self) -> &str {
        &self.home_str
    }
}

/// Expands `~`, `${workspace}`, `${home}` and `${tmp}` at the start of or inside `pattern`.
pub(crate) fn expand(pattern: &str, ctx: &Context) -> Result<String, String> {
    let mut out = String::with_capacity(pattern.len() + 32);
    let rest = if pattern == "~" {
        out.push_str(ctx.home_str());
        ""
    } else if let Some(r) = pattern.strip_prefix("~/") {
        out.push_str(ctx.home_str());
        out.push('/');
        r
    } else if pattern.starts_with('~') {
        return Err(format!(
            "`{pattern}`: only `~` and `~/...` are supported (no `~user`)"
        ));
    } else {
        pattern
    };
    let mut rest = rest;
    while let Some(i) = rest.find("${") {
        out.push_str(&rest[..i]);
        let after = &rest[i + 2..];
        let Some(j) = after.find('}') else {
            return Err(format!("`{pattern}`: unclosed `${{`"));
        };
        match &after[..j] {
            "workspace" => out.push_str(ctx.workspace_str()),
            "home" => out.push_str(ctx.home_str()),
            "tmp" => out.push_str(&ctx.tmp_str),
            other => {
                return Err(format!(
                    "`{pattern}`: unknown variable `${{{other}}}` (use `${{workspace}}`, `${{home}}` or `${{tmp}}`)"
                ))
            }
        }
        rest = &after[j + 1..];
    }
    out.push_str(rest);
    Ok(out.replace("//", "/"))
}

/// `path` made absolute against `cwd` with `.` and `..` applied lexically; never above `/`.
pub(crate) fn normalize(path: &str, cwd: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    let joined;
    let full = if path.starts_with('/') {
        path
    } else {
        joined = format!("{cwd}/{path}");
        &joined
    };
    for comp in full.split('/') {
        match comp {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            c => parts.push(c),
        }
    }
    if parts.is_empty() {
        return "/".to_string();
    }
    let mut out = String::with_capacity(full.len());
    for p in parts {
        out.push('/');
        out.push_str(p);
    }
    out
}

/// `~` or `~/...` at the start of a request path replaced by `home`.
pub(crate) fn expand_home(p: &str, home: &str) -> String {
    if p == "~" {
        home.to_string()
    } else if let Some(r) = p.strip_prefix("~/") {
        format!("{home}/{r}")
    } else {
        p.to_string()
    }
}

/// Whether `path` is `dir` or inside it (both normalised).
pub(crate) fn is_within(path: &str, dir: &str) -> bool {
    dir == "/"
        || path == dir
        || (path.starts_with(dir) && path.as_bytes().get(dir.len()) == Some(&b'/'))
}

/// Whether `raw` has a `..` component or an encoded form of one.
pub(crate) fn has_dotdot(raw: &str) -> bool {
    raw.split(['/', '\\']).any(|c| c == "..") || has_encoded_traversal(raw)
}

/// `%2e%2e`, `..%2f`, `%2e%2e%5c`, overlong `%c0%ae` forms.
pub(crate) fn has_encoded_traversal(raw: &str) -> bool {
    static AC: std::sync::OnceLock<Option<aho_corasick::AhoCorasick>> = std::sync::OnceLock::new();
    if !raw.contains('%') {
        return false;
    }
    let ac = AC.get_or_init(|| {
        aho_corasick::AhoCorasick::builder()
            .ascii_case_insensitive(true)
            .build([
                "%2e%2e", "..%2f", "..%5c", "%2e.", ".%2e", "%c0%ae", "%252e",
            ])
            .ok()
    });
    // INVARIANT: fixed patterns always build; if they did not, every `%` counts as traversal.
    ac.as_ref().is_none_or(|ac| ac.is_match(raw))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx() -> Context {
        Context::new("/work/proj", "/home/me", "/tmp")
    }

    #[test]
    fn expands_home_and_variables() {
        assert_eq!(expand("~/.ssh/**", &ctx()).unwrap(), "/home/me/.ssh/**");
        assert_eq!(
            expand("${workspace}/src/**", &ctx()).unwrap(),
            "/work/proj/src/**"
        );
        assert!(expand("~bob/x", &ctx()).is_err());
        assert!(expand("${nope}/x", &ctx())
            .unwrap_err()
            .contains("unknown variable `${nope}`"));
        assert!(expand("${workspace/x", &ctx()).is_err());
    }

    #[test]
    fn normalizes_lexically() {
        assert_eq!(normalize("a/../b/./c", "/w"), "/w/b/c");
        assert_eq!(normalize("../../../../etc/passwd", "/w/x"), "/etc/passwd");
        assert_eq!(normalize("/", "/w"), "/");
        assert!(is_within("/w/a", "/w"));
        assert!(!is_within("/wx", "/w"));
        assert!(is_within("/w", "/w"));
    }

    #[test]
    fn finds_traversal() {
        assert!(has_dotdot("a/../b"));
        assert!(has_dotdot("..\\windows"));
        assert!(has_dotdot("%2E%2E/etc"));
        assert!(!has_dotdot("a..b/c"));
    }
}
