//! The TOML schema, as parsed: every field that can be wrong after parsing keeps its span so
//! that validation can name file, line and column. Unknown keys are rejected by serde.

use std::collections::BTreeMap;

use serde::Deserialize;
use toml::Spanned;

pub(crate) type S<T> = Spanned<T>;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct FileSpec {
    #[serde(default)]
    pub(crate) extends: Vec<S<String>>,
    #[serde(default)]
    pub(crate) remove: Vec<S<String>>,
    #[serde(default)]
    pub(crate) settings: Option<SettingsSpec>,
    #[serde(default)]
    pub(crate) risk: Option<S<RiskSpec>>,
    #[serde(default)]
    pub(crate) filesystem: Vec<S<FsSpec>>,
    #[serde(default)]
    pub(crate) commands: Vec<S<CommandSpec>>,
    #[serde(default)]
    pub(crate) network: Option<S<NetworkSpec>>,
    #[serde(default)]
    pub(crate) environment: Option<EnvSpec>,
    #[serde(default)]
    pub(crate) secrets: Vec<S<SecretSpec>>,
    #[serde(default)]
    pub(crate) mcp: Vec<S<McpSpec>>,
    #[serde(default)]
    pub(crate) limits: Option<LimitsSpec>,
    #[serde(default)]
    pub(crate) tests: Vec<S<TestSpec>>,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SettingsSpec {
    pub(crate) temp_workspace: Option<bool>,
    pub(crate) stdin: Option<bool>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum EffectSpec {
    Allow,
    Confirm,
    Deny,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RiskSpec {
    pub(crate) low: Option<EffectSpec>,
    pub(crate) medium: Option<EffectSpec>,
    pub(crate) high: Option<EffectSpec>,
    pub(crate) critical: Option<EffectSpec>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum RightSpec {
    Read,
    Write,
    Create,
    Delete,
    Execute,
}

fn allow() -> EffectSpec {
    EffectSpec::Allow
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct FsSpec {
    pub(crate) id: Option<S<String>>,
    pub(crate) paths: Vec<S<String>>,
    pub(crate) rights: S<Vec<RightSpec>>,
    #[serde(default = "allow")]
    pub(crate) effect: EffectSpec,
    pub(crate) reason: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CommandSpec {
    pub(crate) id: Option<S<String>>,
    pub(crate) program: S<String>,
    #[serde(default)]
    pub(crate) args: Vec<S<String>>,
    #[serde(default)]
    pub(crate) exact: bool,
    #[serde(default)]
    pub(crate) shell: bool,
    #[serde(default = "allow")]
    pub(crate) effect: EffectSpec,
    pub(crate) reason: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum NetModeSpec {
    Off,
    Allowlist,
    Any,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct NetworkSpec {
    pub(crate) mode: Option<NetModeSpec>,
    #[serde(default)]
    pub(crate) allow: Vec<S<String>>,
    #[serde(default)]
    pub(crate) deny: Vec<S<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct EnvSpec {
    #[serde(default)]
    pub(crate) allow: Vec<S<String>>,
    #[serde(default)]
    pub(crate) deny: Vec<S<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SecretSpec {
    pub(crate) id: Option<S<String>>,
    pub(crate) name: S<String>,
    pub(crate) env: S<String>,
    #[serde(default)]
    pub(crate) programs: Vec<S<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct McpSpec {
    pub(crate) id: Option<S<String>>,
    pub(crate) server: S<String>,
    #[serde(default = "any_tool")]
    pub(crate) tool: S<String>,
    #[serde(default = "allow")]
    pub(crate) effect: EffectSpec,
    pub(crate) reason: Option<String>,
    #[serde(default)]
    pub(crate) args: BTreeMap<String, S<ArgSpec>>,
    /// Pins the tool's trust level (the trust file and prompt answers cannot change it).
    pub(crate) trust: Option<S<String>>,
    /// Pins the server's trust level.
    pub(crate) server_trust: Option<S<String>>,
}

fn any_tool() -> S<String> {
    Spanned::new(0..0, "*".to_string())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ArgSpec {
    #[serde(default)]
    pub(crate) paths: Vec<S<String>>,
    #[serde(default)]
    pub(crate) one_of: Vec<toml::Value>,
    pub(crate) pattern: Option<S<String>>,
    pub(crate) max_len: Option<usize>,
    #[serde(default)]
    pub(crate) required: bool,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct LimitsSpec {
    pub(crate) cpu_seconds: Option<S<u64>>,
    pub(crate) memory_mb: Option<S<u64>>,
    pub(crate) wall_seconds: Option<S<u64>>,
    pub(crate) output_bytes: Option<S<u64>>,
    pub(crate) processes: Option<S<u64>>,
    pub(crate) open_files: Option<S<u64>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct TestSpec {
    pub(crate) name: Option<String>,
    pub(crate) command: Option<Vec<String>>,
    pub(crate) cwd: Option<String>,
    #[serde(default)]
    pub(crate) secrets: Vec<String>,
    pub(crate) path: Option<String>,
    pub(crate) right: Option<RightSpec>,
    pub(crate) connect: Option<String>,
    pub(crate) mcp: Option<McpTestSpec>,
    pub(crate) expect: EffectSpec,
    #[serde(default)]
    pub(crate) rules: Vec<String>,
    #[serde(default)]
    pub(crate) reasons: Vec<String>,
    pub(crate) risk: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct McpTestSpec {
    pub(crate) server: String,
    pub(crate) tool: String,
    #[serde(default)]
    pub(crate) args: Option<toml::Value>,
}
