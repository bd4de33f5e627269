//! `hush hook install | uninstall`: a git pre-commit hook that runs `hush scan --staged`.

use std::path::PathBuf;

use anyhow::{bail, Context};
use clap::{Args, Subcommand};

use crate::Outcome;

/// The line that marks a hook as hush's own.
const MARKER: &str = "# hush pre-commit hook";

#[derive(Debug, Subcommand)]
pub(crate) enum HookCommand {
    /// Write `.git/hooks/pre-commit` (or under `core.hooksPath`) to run `hush scan --staged`.
    Install(InstallArgs),
    /// Remove the hook written by `hush hook install` (and restore a hook it replaced).
    Uninstall,
}

#[derive(Debug, Args)]
pub(crate) struct InstallArgs {
    /// Replace a pre-commit hook hush did not write (it is kept as `pre-commit.hush-backup`).
    #[arg(long)]
    force: bool,
}

fn hooks_dir() -> anyhow::Result<PathBuf> {
    let out = std::process::Command::new("git")
        .args(["rev-parse", "--git-path", "hooks"])
        .output()
        .context("cannot run git; is it installed?")?;
    if !out.status.success() {
        bail!(
            "not in a git repository ({}); run `hush hook install` inside the repository to protect",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(PathBuf::from(
        String::from_utf8_lossy(&out.stdout).trim_end(),
    ))
}

fn script() -> String {
    // Prefer `hush` on PATH (so upgrades are picked up), else the binary that installed the hook.
    let fallback = std::env::current_exe()
        .ok()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|| "hush".into());
    let quoted = fallback.replace('\'', r"'\''");
    format!(
        "#!/bin/sh\n\
         {MARKER} (written by `hush hook install`; remove with `hush hook uninstall`).\n\
         # Blocks commits that add secrets. Accept a finding with `hush:allow` on its line or\n\
         # `hush scan --update-baseline`; bypass once with `git commit --no-verify`.\n\
         hush=hush\n\
         command -v hush >/dev/null 2>&1 || hush='{quoted}'\n\
         exec \"$hush\" scan --staged\n"
    )
}

pub(crate) fn run(cmd: HookCommand) -> anyhow::Result<Outcome> {
    let dir = hooks_dir()?;
    let hook = dir.join("pre-commit");
    let backup = dir.join("pre-commit.hush-backup");
    let ours = |p: &std::path::Path| {
        std::fs::read_to_string(p).is_ok_and(|t| t.lines().any(|l| l.starts_with(MARKER)))
    };
    match cmd {
        HookCommand::Install(args) => {
            std::fs::create_dir_all(&dir)
                .with_context(|| format!("cannot create `{}`", dir.display()))?;
            if hook.exists() && !ours(&hook) {
                if !args.force {
                    bail!(
                        "`{}` exists and was not written by hush; add `hush scan --staged` to it yourself, or run `hush hook install --force` to replace it (it is kept as `{}`)",
                        hook.display(),
                        backup.display()
                    );
                }
                std::fs::rename(&hook, &backup)
                    .with_context(|| format!("cannot back up `{}`", hook.display()))?;
            }
            std::fs::write(&hook, script())
                .with_context(|| format!("cannot write `{}`", hook.display()))?;
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                std::fs::set_permissions(&hook, std::fs::Permissions::from_mode(0o755))
                    .with_context(|| format!("cannot make `{}` executable", hook.display()))?;
            }
            eprintln!("hush: installed `{}`", hook.display());
        }
        HookCommand::Uninstall => {
            if !hook.exists() {
                eprintln!("hush: no pre-commit hook at `{}`", hook.display());
                return Ok(Outcome::Clean);
            }
            if !ours(&hook) {
                bail!(
                    "`{}` was not written by hush; leaving it alone",
                    hook.display()
                );
            }
            std::fs::remove_file(&hook)
                .with_context(|| format!("cannot remove `{}`", hook.display()))?;
            if backup.exists() {
                std::fs::rename(&backup, &hook)
                    .with_context(|| format!("cannot restore `{}`", backup.display()))?;
                eprintln!("hush: removed the hush hook and restored the previous one");
            } else {
                eprintln!("hush: removed `{}`", hook.display());
            }
        }
    }
    Ok(Outcome::Clean)
}
