//! Asking a person on the terminal: text made safe to show there, and one answer line read
//! with a deadline. Shared by `hush run`'s and `hush mcp`'s confirmation prompts.

use std::fs::File;
use std::io::Read;
use std::time::{Duration, Instant};

/// The longest answer line read; anything longer is no answer.
const MAX_LINE: usize = 256;

/// What came back from the terminal.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Reply {
    /// A line, trimmed and lowercased.
    Line(String),
    /// Nothing before the deadline.
    TimedOut,
    /// The terminal could not be waited on.
    NoTerminal,
    /// End of input, a read error, or a line longer than 256 bytes.
    NoAnswer,
}

/// Reads one line from `tty` within `timeout`.
pub fn read_reply(tty: &mut File, timeout: Duration) -> Reply {
    let deadline = Instant::now() + timeout;
    let mut line = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Reply::TimedOut;
        }
        let ts = rustix::event::Timespec {
            tv_sec: i64::try_from(left.as_secs()).unwrap_or(i64::MAX),
            tv_nsec: i64::from(left.subsec_nanos()),
        };
        let mut fds = [rustix::event::PollFd::new(
            &*tty,
            rustix::event::PollFlags::IN,
        )];
        match rustix::event::poll(&mut fds, Some(&ts)) {
            Ok(0) => return Reply::TimedOut,
            Ok(_) => {}
            Err(rustix::io::Errno::INTR) => continue,
            Err(_) => return Reply::NoTerminal,
        }
        let mut buf = [0u8; 64];
        match tty.read(&mut buf) {
            Ok(0) | Err(_) => return Reply::NoAnswer,
            Ok(n) => line.extend_from_slice(&buf[..n]),
        }
        if let Some(pos) = line.iter().position(|&b| b == b'\n' || b == b'\r') {
            return Reply::Line(
                String::from_utf8_lossy(&line[..pos])
                    .trim()
                    .to_ascii_lowercase(),
            );
        }
        if line.len() > MAX_LINE {
            return Reply::NoAnswer;
        }
    }
}

/// `s` with control characters replaced by `?`, so what a prompt shows (a program's
/// arguments, a tool's name) cannot rewrite the terminal.
pub fn printable(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn printable_replaces_control_characters() {
        assert_eq!(printable("a\x1b[2Jb\nc\u{7f}"), "a?[2Jb?c?");
        assert_eq!(printable("plain text é"), "plain text é");
    }

    #[test]
    fn lines_timeouts_and_overlong_input_from_a_pipe() {
        use std::io::Write;
        let (r, w) = rustix::pipe::pipe().unwrap();
        let mut r = File::from(r);
        let mut w = File::from(w);
        w.write_all(b"  Yes \r\n").unwrap();
        assert_eq!(
            read_reply(&mut r, Duration::from_secs(10)),
            Reply::Line("yes".into())
        );
        assert_eq!(
            read_reply(&mut r, Duration::from_millis(20)),
            Reply::TimedOut
        );
        w.write_all(&[b'x'; MAX_LINE + 64]).unwrap();
        assert_eq!(read_reply(&mut r, Duration::from_secs(10)), Reply::NoAnswer);
        drop(w);
        assert_eq!(read_reply(&mut r, Duration::from_secs(10)), Reply::NoAnswer);
    }
}
