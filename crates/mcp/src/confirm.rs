//! Asking the user. The MCP client owns stdin and stdout, so the question goes to the controlling
//! terminal; with none, or no answer in time, the answer is deny.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use hush_stream::prompt::{printable, read_reply, Reply};

use serde::Serialize;

use crate::risk::Reason;

/// What the user is asked about. Arguments are already sanitised (secrets masked, truncated).
#[derive(Debug)]
#[non_exhaustive]
pub struct Question<'a> {
    /// The server's command line.
    pub server: &'a str,
    /// The tool.
    pub tool: &'a str,
    /// The arguments, redacted and cut to a readable length.
    pub arguments: &'a str,
    /// The risk.
    pub risk: crate::Risk,
    /// Why.
    pub reasons: &'a [Reason],
}

/// The user's answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Answer {
    /// Run this call.
    ExecuteOnce,
    /// Run it and allow this tool (this definition) from now on.
    AlwaysAllowTool,
    /// Run it and trust this server from now on.
    AlwaysTrustServer,
    /// Deny it and block this tool from now on.
    BlockTool,
    /// Deny it.
    Cancel,
    /// No answer in time: deny.
    TimedOut,
    /// No terminal to ask on: deny.
    NoTerminal,
}

impl Answer {
    /// Whether the call runs.
    pub fn allows(self) -> bool {
        matches!(
            self,
            Answer::ExecuteOnce | Answer::AlwaysAllowTool | Answer::AlwaysTrustServer
        )
    }
}

/// Asks questions. Tests implement it to script answers.
pub trait Prompt: Send + Sync {
    /// Asks and waits for an answer (at most the prompt's own timeout).
    fn ask(&self, q: &Question<'_>) -> Answer;
}

/// Asks on a terminal device (`/dev/tty` by default), waiting at most `timeout`.
#[derive(Debug, Clone)]
pub struct TtyPrompt {
    /// The device.
    pub device: PathBuf,
    /// How long to wait for an answer.
    pub timeout: Duration,
}

impl Default for TtyPrompt {
    fn default() -> Self {
        TtyPrompt {
            device: PathBuf::from("/dev/tty"),
            timeout: Duration::from_secs(60),
        }
    }
}

impl TtyPrompt {
    fn render(q: &Question<'_>) -> String {
        let mut s = String::new();
        s.push_str("\n── hush mcp: confirm tool call ──\n");
        s.push_str(&format!("server:    {}\n", printable(q.server)));
        s.push_str(&format!("tool:      {}\n", printable(q.tool)));
        s.push_str(&format!("arguments: {}\n", printable(q.arguments)));
        s.push_str(&format!("risk:      {}\n", q.risk.as_str()));
        for r in q.reasons {
            s.push_str(&format!(
                "  - {} ({}) at {}\n",
                serde_json::to_value(r.check)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_string))
                    .unwrap_or_default(),
                r.risk.as_str(),
                printable(&r.at)
            ));
        }
        s.push_str(
            "[e] execute once  [a] always allow this tool  [t] always trust this server\n\
             [b] block this tool  [c] cancel\nchoice: ",
        );
        s
    }

    fn read_answer(&self, tty: &mut File) -> Answer {
        match read_reply(tty, self.timeout) {
            Reply::Line(word) => match word.as_str() {
                "e" | "execute" | "y" | "yes" => Answer::ExecuteOnce,
                "a" | "always" => Answer::AlwaysAllowTool,
                "t" | "trust" => Answer::AlwaysTrustServer,
                "b" | "block" => Answer::BlockTool,
                _ => Answer::Cancel,
            },
            Reply::TimedOut => Answer::TimedOut,
            Reply::NoTerminal => Answer::NoTerminal,
            _ => Answer::Cancel,
        }
    }
}

impl Prompt for TtyPrompt {
    fn ask(&self, q: &Question<'_>) -> Answer {
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
                Answer::TimedOut => "\nhush mcp: no answer in time: denied",
                a if a.allows() => "hush mcp: allowed",
                _ => "hush mcp: denied",
            }
        );
        answer
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    #[test]
    fn no_device_means_no_terminal_and_render_is_printable() {
        let p = TtyPrompt {
            device: PathBuf::from("/nonexistent/tty"),
            timeout: Duration::from_millis(10),
        };
        let q = Question {
            server: "srv",
            tool: "evil\x1b[2Jtool",
            arguments: "{}",
            risk: crate::Risk::High,
            reasons: &[],
        };
        assert_eq!(p.ask(&q), Answer::NoTerminal);
        assert!(!TtyPrompt::render(&q).contains('\x1b'));
    }

    /// A pseudo-terminal: (master, path of the slave).
    fn pty() -> (std::os::fd::OwnedFd, PathBuf) {
        use rustix::pty::{grantpt, openpt, ptsname, unlockpt, OpenptFlags};
        let master = openpt(OpenptFlags::RDWR | OpenptFlags::NOCTTY).unwrap();
        grantpt(&master).unwrap();
        unlockpt(&master).unwrap();
        let name = ptsname(&master, Vec::new()).unwrap();
        (master, PathBuf::from(name.to_str().unwrap()))
    }

    #[test]
    fn every_choice_and_the_timeout_through_a_pty() {
        let q = Question {
            server: "srv",
            tool: "t",
            arguments: "{}",
            risk: crate::Risk::High,
            reasons: &[],
        };
        for (typed, want) in [
            ("e", Answer::ExecuteOnce),
            ("a", Answer::AlwaysAllowTool),
            ("t", Answer::AlwaysTrustServer),
            ("b", Answer::BlockTool),
            ("c", Answer::Cancel),
            ("what", Answer::Cancel),
        ] {
            let (master, slave) = pty();
            let mut m = File::from(master);
            let p = TtyPrompt {
                device: slave,
                timeout: Duration::from_secs(10),
            };
            let mut m2 = m.try_clone().unwrap();
            let typist = std::thread::spawn(move || {
                // Wait for the question, then answer.
                let mut seen = Vec::new();
                let mut buf = [0u8; 256];
                while !String::from_utf8_lossy(&seen).contains("choice: ") {
                    let n = m2.read(&mut buf).unwrap();
                    seen.extend_from_slice(&buf[..n]);
                }
                m2.write_all(format!("{typed}\n").as_bytes()).unwrap();
                seen
            });
            assert_eq!(p.ask(&q), want, "typed {typed}");
            let seen = String::from_utf8_lossy(&typist.join().unwrap()).into_owned();
            assert!(seen.contains("tool:      t"), "{seen}");
            let _ = m.flush();
        }
        let (master, slave) = pty();
        let p = TtyPrompt {
            device: slave,
            timeout: Duration::from_millis(200),
        };
        assert_eq!(p.ask(&q), Answer::TimedOut);
        drop(master);
    }
}
