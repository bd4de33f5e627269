//! Asking a human before a `confirm` decision runs. The question goes to the controlling
//! terminal (`/dev/tty`), never to stdin or stdout, which belong to the tool and its caller;
//! with no terminal, or no answer in time, the answer is no.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use hush_stream::prompt::{printable, read_reply, Reply};

/// What the human is asked about. Every string is already sanitised: secrets masked.
#[derive(Debug)]
#[non_exhaustive]
pub struct Question<'a> {
    /// The program, as it will run (resolved path).
    pub program: &'a str,
    /// The arguments, secrets masked.
    pub args: &'a [String],
    /// The working directory.
    pub cwd: &'a str,
    /// `low` to `critical`.
    pub risk: &'a str,
    /// The policy's reasons (risk flags included).
    pub reasons: &'a [String],
    /// Ids of the rules that matched.
    pub rules: &'a [String],
}

/// The answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Answer {
    /// Run it.
    Yes,
    /// Do not run it.
    No,
    /// Nobody answered in time: do not run it.
    Timeout,
    /// No terminal to ask on: do not run it.
    NoTerminal,
}

impl Answer {
    /// Whether the command runs.
    pub fn allows(self) -> bool {
        self == Answer::Yes
    }

    /// The word in audit records: `yes`, `no`, `timeout`, `no-terminal`.
    pub fn as_str(self) -> &'static str {
        match self {
            Answer::Yes => "yes",
            Answer::No => "no",
            Answer::Timeout => "timeout",
            Answer::NoTerminal => "no-terminal",
        }
    }

    /// Whether a question was actually put to someone.
    pub fn was_asked(self) -> bool {
        self != Answer::NoTerminal
    }
}

/// Asks. Implement it to answer from a GUI, a chat approval, or a script in tests.
pub trait Confirm: Send + Sync {
    /// Asks and waits (at most the implementation's own timeout).
    fn confirm(&self, q: &Question<'_>) -> Answer;
}

/// Never asks: every confirmation is denied as [`Answer::NoTerminal`] (for unattended runs).
#[derive(Debug, Clone, Copy, Default)]
pub struct NoConfirm;

impl Confirm for NoConfirm {
    fn confirm(&self, _: &Question<'_>) -> Answer {
        Answer::NoTerminal
    }
}

/// Asks on a terminal device (`/dev/tty` by default) and waits at most `timeout` for `y` or
/// `n` and Enter. Anything but `y`/`yes` is no.
#[derive(Debug, Clone)]
pub struct TtyConfirm {
    /// The device.
    pub device: PathBuf,
    /// How long to wait for an answer.
    pub timeout: Duration,
}

impl Default for TtyConfirm {
    fn default() -> Self {
        TtyConfirm {
            device: PathBuf::from("/dev/tty"),
            timeout: Duration::from_secs(60),
        }
    }
}

impl TtyConfirm {
    fn render(q: &Question<'_>) -> String {
        let mut s = String::from("\n── hush run: confirm command ──\n");
        s.push_str(&format!("program:   {}\n", printable(q.program)));
        let args: Vec<String> = q
            .args
            .iter()
            .map(|a| format!("{:?}", printable(a)))
            .collect();
        s.push_str(&format!("arguments: [{}]\n", args.join(", ")));
        s.push_str(&format!("directory: {}\n", printable(q.cwd)));
        s.push_str(&format!("risk:      {}\n", q.risk));
        for r in q.reasons {
            s.push_str(&format!("  - {}\n", printable(r)));
        }
        if !q.rules.is_empty() {
            s.push_str(&format!("rules:     {}\n", printable(&q.rules.join(", "))));
        }
        s.push_str("run it? [y/N] choice: ");
        s
    }

    fn read_answer(&self, tty: &mut File) -> Answer {
        match read_reply(tty, self.timeout) {
            Reply::Line(word) if matches!(word.as_str(), "y" | "yes") => Answer::Yes,
            Reply::TimedOut => Answer::Timeout,
            Reply::NoTerminal => Answer::NoTerminal,
            _ => Answer::No,
        }
    }
}

impl Confirm for TtyConfirm {
    fn confirm(&self, q: &Question<'_>) -> Answer {
        let Ok(mut tty) = OpenOptions::new().read(true).write(true).open(&self.device) else {
            return Answer::NoTerminal;
        };
        if tty.write_all(Self::render(q).as_bytes()).is_err() || tty.flush().is_err() {
            return Answer::NoTerminal;
        }
        let answer = self.read_answer(&mut tty);
        let _ = writeln!(
            tty,
            "{}",
            match answer {
                Answer::Yes => "hush run: allowed",
                Answer::Timeout => "\nhush run: no answer in time: denied",
                _ => "hush run: denied",
            }
        );
        answer
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_device_is_no_terminal_and_the_question_has_no_control_characters() {
        let p = TtyConfirm {
            device: PathBuf::from("/nonexistent/tty"),
            timeout: Duration::from_millis(10),
        };
        let args = ["a\x1b[2Jb".to_string()];
        let q = Question {
            program: "/bin/rm",
            args: &args,
            cwd: "/w",
            risk: "high",
            reasons: &[],
            rules: &[],
        };
        assert_eq!(p.confirm(&q), Answer::NoTerminal);
        assert!(!Answer::NoTerminal.was_asked());
        let text = TtyConfirm::render(&q);
        assert!(!text.contains('\x1b'), "{text}");
        assert!(text.ends_with("choice: "));
    }
}
