//! The protocol between the launcher and the helper over the helper's standard input, a UNIX
//! socket.
//!
//! 1. Launcher → helper: one byte (`I` with the caller's stdin attached as `SCM_RIGHTS`, `N`
//!    without), then a little-endian `u32` length and the JSON [`Request`].
//! 2. Helper → launcher: JSON lines, one [`Report`] each: `Started` or `Refused`, then `Exited`.
//! 3. Launcher → helper at any time: `term\n` (SIGTERM everything, SIGKILL after the grace
//!    period) or `kill\n` (SIGKILL everything now). End of file means the launcher is gone:
//!    everything is killed.

use std::io::{self, IoSlice, IoSliceMut, Read, Write};
use std::mem::MaybeUninit;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::net::UnixStream;

use rustix::net::{
    RecvAncillaryBuffer, RecvAncillaryMessage, RecvFlags, SendAncillaryBuffer,
    SendAncillaryMessage, SendFlags,
};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::report::Enforcement;
use crate::spec::SandboxSpec;

/// Requests larger than this are refused: a spec is a few KiB.
const MAX_REQUEST: u32 = 16 << 20;

/// What to run and how. Byte strings are OS strings (arguments, paths and environment need
/// not be UTF-8). Holds environment values, secrets included: it is only ever serialized into
/// a zeroizing buffer and written to the helper's socket.
#[derive(Serialize, Deserialize)]
pub(crate) struct Request {
    pub(crate) spec: SandboxSpec,
    pub(crate) program: Vec<u8>,
    pub(crate) args: Vec<Vec<u8>>,
    pub(crate) cwd: Option<Vec<u8>>,
    pub(crate) env: Vec<(Vec<u8>, Vec<u8>)>,
    /// Set by the outer helper when it hands the request to the init of a new PID namespace.
    #[serde(default)]
    pub(crate) init: Option<InitInfo>,
}

/// What the outer helper already did, for the init's report.
#[derive(Serialize, Deserialize)]
pub(crate) struct InitInfo {
    pub(crate) namespaces: Vec<String>,
    pub(crate) notes: Vec<String>,
}

impl Drop for Request {
    fn drop(&mut self) {
        use zeroize::Zeroize;
        for (_, value) in &mut self.env {
            value.zeroize();
        }
    }
}

/// Helper → launcher.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) enum Report {
    /// The program is running under these mechanisms.
    Started(Enforcement),
    /// The program was not started: `code` is the exit code (126 not executable, denied or
    /// below the required level; 127 not found), `message` says why.
    Refused { code: u8, message: String },
    /// The program ended.
    Exited {
        code: Option<i32>,
        signal: Option<i32>,
        /// What the program and every process it started used (missing from older helpers).
        #[serde(default)]
        usage: Option<crate::launch::Usage>,
    },
}

/// Sends the request, with `stdin` passed along when given.
pub(crate) fn send_request(
    sock: &mut UnixStream,
    req: &Request,
    stdin: Option<BorrowedFd<'_>>,
) -> io::Result<()> {
    let mut space = [MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(1))];
    let mut control = SendAncillaryBuffer::new(&mut space);
    let fds;
    let tag = if let Some(fd) = stdin {
        fds = [fd];
        if !control.push(SendAncillaryMessage::ScmRights(&fds)) {
            return Err(io::Error::other(
                "cannot attach stdin to the helper request",
            ));
        }
        b"I"
    } else {
        b"N"
    };
    rustix::net::sendmsg(
        sock.as_fd(),
        &[IoSlice::new(tag)],
        &mut control,
        SendFlags::empty(),
    )?;
    let mut body = Zeroizing::new(Vec::with_capacity(4096));
    serde_json::to_writer(&mut *body, req).map_err(io::Error::other)?;
    let len = u32::try_from(body.len())
        .ok()
        .filter(|&n| n <= MAX_REQUEST)
        .ok_or_else(|| io::Error::other("sandbox request too large"))?;
    sock.write_all(&len.to_le_bytes())?;
    sock.write_all(&body)?;
    Ok(())
}

/// Receives the request and the caller's stdin, if it was passed.
pub(crate) fn recv_request(sock: &mut UnixStream) -> io::Result<(Request, Option<OwnedFd>)> {
    let mut space = [MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(1))];
    let mut control = RecvAncillaryBuffer::new(&mut space);
    let mut tag = [0u8; 1];
    let got = rustix::net::recvmsg(
        sock.as_fd(),
        &mut [IoSliceMut::new(&mut tag)],
        &mut control,
        RecvFlags::CMSG_CLOEXEC,
    )?;
    if got.bytes != 1 {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "no sandbox request on stdin (this subcommand is started by `hush run`, not by hand)",
        ));
    }
    let mut stdin = None;
    for msg in control.drain() {
        if let RecvAncillaryMessage::ScmRights(fds) = msg {
            for fd in fds {
                stdin.get_or_insert(fd);
            }
        }
    }
    if (tag[0] == b'I') != stdin.is_some() {
        return Err(io::Error::other("malformed sandbox request"));
    }
    let mut len = [0u8; 4];
    sock.read_exact(&mut len)?;
    let len = u32::from_le_bytes(len);
    if len > MAX_REQUEST {
        return Err(io::Error::other("sandbox request too large"));
    }
    let mut body = Zeroizing::new(vec![0u8; len as usize]);
    sock.read_exact(&mut body)?;
    let req = serde_json::from_slice(&body).map_err(io::Error::other)?;
    Ok((req, stdin))
}

/// Writes one report line.
pub(crate) fn send_report(sock: &mut UnixStream, report: &Report) -> io::Result<()> {
    let mut line = serde_json::to_vec(report).map_err(io::Error::other)?;
    line.push(b'\n');
    sock.write_all(&line)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request() -> Request {
        Request {
            spec: SandboxSpec::new(),
            program: b"/bin/\xffodd".to_vec(),
            args: vec![b"a b".to_vec(), Vec::new()],
            cwd: None,
            env: vec![(b"K".to_vec(), b"v\x00w".to_vec())],
            init: None,
        }
    }

    #[test]
    fn request_round_trips_with_and_without_stdin() {
        for pass_fd in [false, true] {
            let (mut a, mut b) = UnixStream::pair().unwrap();
            let (probe, _keep) = UnixStream::pair().unwrap();
            send_request(&mut a, &request(), pass_fd.then(|| probe.as_fd())).unwrap();
            let (got, fd) = recv_request(&mut b).unwrap();
            assert_eq!(got.program, request().program);
            assert_eq!(got.args, request().args);
            assert_eq!(got.env, request().env);
            assert_eq!(got.spec, SandboxSpec::new());
            assert_eq!(fd.is_some(), pass_fd);
        }
    }

    #[test]
    fn truncated_or_oversized_requests_are_errors() {
        let (mut a, mut b) = UnixStream::pair().unwrap();
        a.write_all(b"N").unwrap();
        a.write_all(&(MAX_REQUEST + 1).to_le_bytes()).unwrap();
        assert!(recv_request(&mut b).is_err());
        let (mut a, mut b) = UnixStream::pair().unwrap();
        a.write_all(b"N\x05\x00\x00\x00{\"sp").unwrap();
        drop(a);
        assert!(recv_request(&mut b).is_err());
        let (a, mut b) = UnixStream::pair().unwrap();
        drop(a);
        assert!(recv_request(&mut b).is_err());
    }
}
