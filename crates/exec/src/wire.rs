//! The protocol between the launcher and the helper over the helper's standard input, a UNIX
//! socket.
//!
//! 1. Launcher → helper: one flags byte with the descriptors it announces attached as
//!    `SCM_RIGHTS`, in this order: the caller's stdin ([`FD_STDIN`]), the network proxy's
//!    channel ([`FD_PROXY`]); then a little-endian `u32` length and the JSON [`Request`].
//!    Over the proxy channel the helper later sends the proxy's listening socket
//!    ([`send_fd`]), or closes it.
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
    /// The port the network proxy listens on in the run's network namespace.
    pub(crate) proxy_port: Option<u16>,
    /// What enforces the resource limits.
    pub(crate) limits_by: crate::report::LimitsBy,
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
        /// Set when the helper itself stopped the run (missing from older helpers).
        #[serde(default)]
        stopped: Option<HelperStop>,
    },
}

/// Why the helper stopped the run (the launcher's own stops are its to know).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum HelperStop {
    /// The process watchdog counted more processes than the limit.
    Processes,
}

/// Flag: the caller's stdin is attached.
const FD_STDIN: u8 = 1;
/// Flag: the network proxy's channel is attached.
const FD_PROXY: u8 = 2;
/// The first byte of a request is `b'0' + flags`, so it stays printable.
const TAG_BASE: u8 = b'0';

/// Descriptors that travel with a request.
#[derive(Debug, Default)]
pub(crate) struct Passed {
    /// The caller's stdin, for [`Stdin::Inherit`](crate::Stdin::Inherit).
    pub(crate) stdin: Option<OwnedFd>,
    /// The UNIX socket over which the helper hands the proxy its listener.
    pub(crate) proxy: Option<OwnedFd>,
}

/// Sends the request, with `stdin` and `proxy` passed along when given.
pub(crate) fn send_request(
    sock: &mut UnixStream,
    req: &Request,
    stdin: Option<BorrowedFd<'_>>,
    proxy: Option<BorrowedFd<'_>>,
) -> io::Result<()> {
    let mut space = [MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(2))];
    let mut control = SendAncillaryBuffer::new(&mut space);
    let fds: Vec<BorrowedFd<'_>> = stdin.into_iter().chain(proxy).collect();
    let flags = u8::from(stdin.is_some()) * FD_STDIN + u8::from(proxy.is_some()) * FD_PROXY;
    if !fds.is_empty() && !control.push(SendAncillaryMessage::ScmRights(&fds)) {
        return Err(io::Error::other(
            "cannot attach descriptors to the helper request",
        ));
    }
    rustix::net::sendmsg(
        sock.as_fd(),
        &[IoSlice::new(&[TAG_BASE + flags])],
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

/// Receives the request and the descriptors passed with it.
pub(crate) fn recv_request(sock: &mut UnixStream) -> io::Result<(Request, Passed)> {
    let mut space = [MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(2))];
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
    let mut fds = Vec::new();
    for msg in control.drain() {
        if let RecvAncillaryMessage::ScmRights(got) = msg {
            fds.extend(got);
        }
    }
    let passed = passed_fds(tag[0], fds)?;
    let mut len = [0u8; 4];
    sock.read_exact(&mut len)?;
    let body = read_body(u32::from_le_bytes(len), sock)?;
    Ok((parse_request(&body)?, passed))
}

/// Assigns the received descriptors as the flags byte announces them.
fn passed_fds(tag: u8, fds: Vec<OwnedFd>) -> io::Result<Passed> {
    let flags = tag.wrapping_sub(TAG_BASE);
    let malformed = || io::Error::other("malformed sandbox request");
    if flags > FD_STDIN | FD_PROXY || fds.len() != flags.count_ones() as usize {
        return Err(malformed());
    }
    let mut fds = fds.into_iter();
    let mut passed = Passed::default();
    if flags & FD_STDIN != 0 {
        passed.stdin = fds.next();
    }
    if flags & FD_PROXY != 0 {
        passed.proxy = fds.next();
    }
    Ok(passed)
}

/// Reads a request body of `len` bytes into zeroizing memory.
fn read_body(len: u32, sock: &mut impl Read) -> io::Result<Zeroizing<Vec<u8>>> {
    if len > MAX_REQUEST {
        return Err(io::Error::other("sandbox request too large"));
    }
    let mut body = Zeroizing::new(vec![0u8; len as usize]);
    sock.read_exact(&mut body)?;
    Ok(body)
}

fn parse_request(body: &[u8]) -> io::Result<Request> {
    serde_json::from_slice(body).map_err(io::Error::other)
}

/// Sends one descriptor with a one-byte message.
pub(crate) fn send_fd(sock: &UnixStream, fd: BorrowedFd<'_>) -> io::Result<()> {
    let mut space = [MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(1))];
    let mut control = SendAncillaryBuffer::new(&mut space);
    let fds = [fd];
    if !control.push(SendAncillaryMessage::ScmRights(&fds)) {
        return Err(io::Error::other("cannot attach a descriptor"));
    }
    rustix::net::sendmsg(
        sock.as_fd(),
        &[IoSlice::new(b"L")],
        &mut control,
        SendFlags::empty(),
    )?;
    Ok(())
}

/// Receives what [`send_fd`] sent; `None` when the peer closed the socket without sending.
pub(crate) fn recv_fd(sock: &UnixStream) -> io::Result<Option<OwnedFd>> {
    let mut space = [MaybeUninit::uninit(); rustix::cmsg_space!(ScmRights(1))];
    let mut control = RecvAncillaryBuffer::new(&mut space);
    let mut byte = [0u8; 1];
    let got = rustix::net::recvmsg(
        sock.as_fd(),
        &mut [IoSliceMut::new(&mut byte)],
        &mut control,
        RecvFlags::CMSG_CLOEXEC,
    )?;
    let mut fd = None;
    for msg in control.drain() {
        if let RecvAncillaryMessage::ScmRights(fds) = msg {
            for f in fds {
                fd.get_or_insert(f);
            }
        }
    }
    if got.bytes == 0 {
        return Ok(None);
    }
    Ok(fd)
}

/// Parses a report line as the launcher does.
pub(crate) fn parse_report(line: &[u8]) -> Result<Report, serde_json::Error> {
    serde_json::from_slice(line)
}

/// What the helper makes of arbitrary bytes on its control socket (without descriptors): the
/// flags byte, the length and the JSON request; and of the same bytes as report lines. For
/// the fuzz target: must never panic. Returns whether a request was accepted.
pub(crate) fn fuzz_helper_request(data: &[u8]) -> bool {
    for line in data.split(|&b| b == b'\n') {
        let _ = parse_report(line);
    }
    let Some((&tag, rest)) = data.split_first() else {
        return false;
    };
    if passed_fds(tag, Vec::new()).is_err() || rest.len() < 4 {
        return false;
    }
    let (len, mut body) = rest.split_at(4);
    let len = u32::from_le_bytes([len[0], len[1], len[2], len[3]]);
    read_body(len, &mut body)
        .and_then(|b| parse_request(&b))
        .is_ok()
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
            let (chan, _keep2) = UnixStream::pair().unwrap();
            send_request(
                &mut a,
                &request(),
                pass_fd.then(|| probe.as_fd()),
                Some(chan.as_fd()),
            )
            .unwrap();
            let (got, fds) = recv_request(&mut b).unwrap();
            assert_eq!(got.program, request().program);
            assert_eq!(got.args, request().args);
            assert_eq!(got.env, request().env);
            assert_eq!(got.spec, SandboxSpec::new());
            assert_eq!(fds.stdin.is_some(), pass_fd);
            assert!(fds.proxy.is_some());
        }
    }

    #[test]
    fn truncated_or_oversized_requests_are_errors() {
        let (mut a, mut b) = UnixStream::pair().unwrap();
        a.write_all(b"0").unwrap();
        a.write_all(&(MAX_REQUEST + 1).to_le_bytes()).unwrap();
        assert!(recv_request(&mut b).is_err());
        let (mut a, mut b) = UnixStream::pair().unwrap();
        a.write_all(b"0\x05\x00\x00\x00{\"sp").unwrap();
        drop(a);
        assert!(recv_request(&mut b).is_err());
        let (a, mut b) = UnixStream::pair().unwrap();
        drop(a);
        assert!(recv_request(&mut b).is_err());
    }

    #[test]
    fn announced_descriptors_must_all_arrive() {
        // Flags say stdin, none came.
        let (mut a, mut b) = UnixStream::pair().unwrap();
        a.write_all(b"1\x02\x00\x00\x00{}").unwrap();
        assert!(recv_request(&mut b).is_err());
        assert!(passed_fds(b'N', Vec::new()).is_err());
        assert!(!fuzz_helper_request(b"1\x02\x00\x00\x00{}"));
    }

    #[test]
    fn descriptors_pass_alone_or_not_at_all() {
        let (a, b) = UnixStream::pair().unwrap();
        let (probe, _keep) = UnixStream::pair().unwrap();
        send_fd(&a, probe.as_fd()).unwrap();
        assert!(recv_fd(&b).unwrap().is_some());
        drop(a);
        assert!(recv_fd(&b).unwrap().is_none());
    }

    #[test]
    fn fuzz_entry_accepts_what_the_launcher_sends() {
        let mut body = serde_json::to_vec(&request()).unwrap();
        let mut data = vec![b'0'];
        data.extend_from_slice(&(body.len() as u32).to_le_bytes());
        data.append(&mut body);
        assert!(fuzz_helper_request(&data));
        data.truncate(data.len() - 1);
        assert!(!fuzz_helper_request(&data));
    }
}
