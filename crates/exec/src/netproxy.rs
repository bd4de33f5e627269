//! The allow-list proxy for [`Network::Allow`](crate::Network): HTTP `CONNECT` (for HTTPS and
//! any TLS or TCP protocol a client tunnels) and absolute-URI plain HTTP requests.
//!
//! It runs on threads of the launcher, outside the sandbox: the helper binds the listening
//! socket where the program can reach it (on the loopback of the program's network namespace,
//! or of the host without one) and passes it over a UNIX socket, so every connection the
//! proxy accepts comes from inside the run, and every connection it makes leaves from the
//! launcher's network. For each request it checks the host and port against the allow-list,
//! resolves the name itself, drops addresses the matching entries do not allow (private,
//! loopback, metadata, ...), connects, and then only copies bytes. Every request it does not
//! forward is recorded as a [`RefusedConnection`].

use std::io::{self, Read, Write};
use std::net::{IpAddr, Shutdown, SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::os::unix::net::UnixStream;
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rustix::event::{PollFd, PollFlags};
use serde::{Deserialize, Serialize};

use crate::hosts::{normalize_host, Host, HostPort};
use crate::wire;

/// Longest request head (request line and headers) read before refusing.
const MAX_HEAD: usize = 16 << 10;
/// Time a client has to send its request head.
const HEAD_TIMEOUT: Duration = Duration::from_secs(30);
/// Time to connect to one resolved address.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Connections served at once; more are answered 503 at once.
const MAX_CONNECTIONS: usize = 256;
/// How long the end of a run waits for connections being refused or set up to finish.
const FINISH_WAIT: Duration = Duration::from_secs(2);

/// A request the proxy did not forward. The host is what the program asked for (sanitised to
/// printable ASCII, at most 253 bytes), so treat it as untrusted text: the launcher redacts it
/// like the program's output before it reaches the [`Outcome`](crate::Outcome).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct RefusedConnection {
    /// The host asked for.
    pub host: String,
    /// The port asked for, when the request named one.
    pub port: Option<u16>,
    /// Why: not on the allow-list, a refused address class, a malformed request, ...
    pub reason: String,
}

impl std::fmt::Display for RefusedConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.port {
            Some(p) => write!(f, "`{}:{p}`: {}", self.host, self.reason),
            None => write!(f, "`{}`: {}", self.host, self.reason),
        }
    }
}

struct State {
    refused: Vec<RefusedConnection>,
    /// Every accepted client and its upstream, to be shut down when the run ends.
    open: Vec<(u64, TcpStream)>,
    active: usize,
    next_id: u64,
    stopping: bool,
}

struct Shared {
    allow: Vec<HostPort>,
    deny: Vec<HostPort>,
    state: Mutex<State>,
    idle: Condvar,
}

impl Shared {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn refuse(&self, host: &str, port: Option<u16>, reason: String) {
        let host: String = host
            .chars()
            .map(|c| if c.is_ascii_graphic() { c } else { '?' })
            .take(253)
            .collect();
        self.lock()
            .refused
            .push(RefusedConnection { host, port, reason });
    }

    /// Registers a socket to shut down at the end; false when the run is already ending.
    fn track(&self, id: u64, s: &TcpStream) -> bool {
        let mut st = self.lock();
        if st.stopping {
            return false;
        }
        if let Ok(c) = s.try_clone() {
            st.open.push((id, c));
        }
        true
    }
}

/// The running proxy of one run.
pub(crate) struct Proxy {
    shared: Arc<Shared>,
    stop: UnixStream,
    acceptor: JoinHandle<()>,
}

impl Proxy {
    /// Starts serving: waits on `channel` for the listening socket from the helper, then
    /// accepts on it until [`finish`](Self::finish). `deny` wins over `allow`.
    pub(crate) fn start(
        channel: UnixStream,
        allow: Vec<HostPort>,
        deny: Vec<HostPort>,
    ) -> io::Result<Proxy> {
        let shared = Arc::new(Shared {
            allow,
            deny,
            state: Mutex::new(State {
                refused: Vec::new(),
                open: Vec::new(),
                active: 0,
                next_id: 0,
                stopping: false,
            }),
            idle: Condvar::new(),
        });
        let (stop, stopped) = UnixStream::pair()?;
        let acceptor = {
            let shared = Arc::clone(&shared);
            std::thread::Builder::new()
                .name("hush-proxy".into())
                .spawn(move || accept_loop(channel, stopped, shared))?
        };
        Ok(Proxy {
            shared,
            stop,
            acceptor,
        })
    }

    /// Stops accepting, closes every connection, and returns what was refused.
    pub(crate) fn finish(self) -> Vec<RefusedConnection> {
        drop(self.stop);
        let _ = self.acceptor.join();
        let deadline = Instant::now() + FINISH_WAIT;
        let mut st = self.shared.lock();
        st.stopping = true;
        for (_, s) in st.open.drain(..) {
            let _ = s.shutdown(Shutdown::Both);
        }
        while st.active > 0 {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            st = match self.shared.idle.wait_timeout(st, left) {
                Ok((g, _)) => g,
                Err(p) => p.into_inner().0,
            };
            for (_, s) in st.open.drain(..) {
                let _ = s.shutdown(Shutdown::Both);
            }
        }
        std::mem::take(&mut st.refused)
    }
}

/// True when `fd` is readable (or closed) before `stop` is; false once `stop` closes.
fn wait_readable(fd: &impl std::os::fd::AsFd, stop: &UnixStream) -> bool {
    loop {
        let mut fds = [
            PollFd::new(fd, PollFlags::IN),
            PollFd::new(stop, PollFlags::IN),
        ];
        match rustix::event::poll(&mut fds, None) {
            Ok(_) => {}
            Err(rustix::io::Errno::INTR) => continue,
            Err(_) => return false,
        }
        if !fds[1].revents().is_empty() {
            return false;
        }
        if !fds[0].revents().is_empty() {
            return true;
        }
    }
}

fn accept_loop(channel: UnixStream, stop: UnixStream, shared: Arc<Shared>) {
    if !wait_readable(&channel, &stop) {
        return;
    }
    // The helper sends the listener, or closes the channel when it could not make one (it
    // then refuses to start the program).
    let Ok(Some(fd)) = wire::recv_fd(&channel) else {
        return;
    };
    drop(channel);
    let listener = TcpListener::from(fd);
    while wait_readable(&listener, &stop) {
        let Ok((client, _)) = listener.accept() else {
            continue;
        };
        let id = {
            let mut st = shared.lock();
            if st.active >= MAX_CONNECTIONS {
                drop(st);
                let _ = respond(&client, 503, "too many connections through the proxy");
                continue;
            }
            st.active += 1;
            st.next_id += 1;
            st.next_id
        };
        let worker = Arc::clone(&shared);
        let spawned = std::thread::Builder::new()
            .name("hush-proxy-conn".into())
            .spawn(move || {
                if worker.track(id, &client) {
                    serve(&client, id, &worker);
                }
                let _ = client.shutdown(Shutdown::Both);
                let mut st = worker.lock();
                st.open.retain(|(i, _)| *i != id);
                st.active -= 1;
                drop(st);
                worker.idle.notify_all();
            });
        if spawned.is_err() {
            shared.lock().active -= 1;
        }
    }
}

/// A parsed request head.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Head {
    /// `CONNECT host:port` rather than an absolute-URI request.
    pub(crate) connect: bool,
    /// The host as written in the request (brackets kept for IPv6).
    pub(crate) host: String,
    pub(crate) port: u16,
    /// For plain HTTP: the head to send upstream (origin-form target, `Host` set from the
    /// URI, `Connection: close`, proxy headers dropped).
    pub(crate) upstream: Vec<u8>,
}

/// Why a request head cannot be served: the status to answer and a message.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Bad(pub(crate) u16, pub(crate) String);

/// Parses a request head (everything before the blank line, without it).
pub(crate) fn parse_head(head: &[u8]) -> Result<Head, Bad> {
    let text = std::str::from_utf8(head).map_err(|_| bad("the request head is not UTF-8"))?;
    let mut lines = text.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l));
    let line = lines.next().unwrap_or_default();
    if line.bytes().any(|b| b.is_ascii_control()) {
        return Err(bad("control characters in the request line"));
    }
    let mut parts = line.split(' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(bad("malformed request line"));
    };
    if !version.starts_with("HTTP/1.") {
        return Err(bad("only HTTP/1.x proxy requests are served"));
    }
    if method.is_empty() || !method.bytes().all(|b| b.is_ascii_uppercase()) {
        return Err(bad("malformed method"));
    }
    let mut headers = Vec::new();
    for l in lines {
        if l.is_empty() {
            break;
        }
        let (name, value) = l
            .split_once(':')
            .ok_or_else(|| bad("malformed header line"))?;
        if name.is_empty() || name.bytes().any(|b| !b.is_ascii_graphic()) {
            return Err(bad("malformed header name"));
        }
        if value.bytes().any(|b| b.is_ascii_control() && b != b'\t') {
            return Err(bad("control characters in a header"));
        }
        headers.push((name, value.trim()));
    }
    if method == "CONNECT" {
        let (host, port) = split_authority(target, None)?;
        return Ok(Head {
            connect: true,
            host: host.to_string(),
            port,
            upstream: Vec::new(),
        });
    }
    let Some(rest) = strip_prefix_ci(target, "http://") else {
        let why = if strip_prefix_ci(target, "https://").is_some() {
            "use CONNECT for https"
        } else {
            "the proxy serves `CONNECT host:port` and absolute `http://` requests only"
        };
        return Err(bad(why));
    };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, path) = rest.split_at(end);
    let path = path.split('#').next().unwrap_or_default();
    let (host, port) = split_authority(authority, Some(80))?;
    let mut up = format!(
        "{method} {}{path} {version}\r\nHost: {authority}\r\n",
        if path.starts_with('/') { "" } else { "/" }
    );
    for (name, value) in headers {
        let drop = [
            "host",
            "connection",
            "proxy-connection",
            "keep-alive",
            "proxy-authorization",
            "proxy-authenticate",
        ];
        if !drop.iter().any(|d| name.eq_ignore_ascii_case(d)) {
            up.push_str(&format!("{name}: {value}\r\n"));
        }
    }
    up.push_str("Connection: close\r\n\r\n");
    Ok(Head {
        connect: false,
        host: host.to_string(),
        port,
        upstream: up.into_bytes(),
    })
}

fn bad(why: &str) -> Bad {
    Bad(400, why.to_string())
}

fn strip_prefix_ci<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &s[prefix.len()..])
}

/// `host:port` (port required unless `default` is given; IPv6 in brackets). No user info.
fn split_authority(a: &str, default: Option<u16>) -> Result<(&str, u16), Bad> {
    if a.contains('@') {
        return Err(bad(
            "user information in the URL is not allowed through the proxy",
        ));
    }
    let (host, port) = match a.rfind(':') {
        Some(i) if !a[i..].contains(']') => (&a[..i], Some(&a[i + 1..])),
        _ => (a, None),
    };
    let port = match (port, default) {
        (Some(p), _) => p
            .parse::<u16>()
            .ok()
            .filter(|&p| p > 0)
            .ok_or_else(|| bad("malformed port"))?,
        (None, Some(d)) => d,
        (None, None) => return Err(bad("CONNECT needs `host:port`")),
    };
    if host.is_empty() {
        return Err(bad("empty host"));
    }
    Ok((host, port))
}

/// Reads the request head; returns it (without the blank line) and any bytes after it.
fn read_head(mut client: &TcpStream) -> io::Result<(Vec<u8>, Vec<u8>)> {
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 4096];
    loop {
        let n = client.read(&mut chunk)?;
        if n == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        let from = buf.len().saturating_sub(3);
        buf.extend_from_slice(&chunk[..n]);
        if let Some(i) = buf[from..].windows(4).position(|w| w == b"\r\n\r\n") {
            let end = from + i;
            let rest = buf.split_off(end + 4);
            buf.truncate(end);
            return Ok((buf, rest));
        }
        if buf.len() > MAX_HEAD {
            return Err(io::Error::other("request head too large"));
        }
    }
}

/// Answers `status` with `message` and closes.
fn respond(mut client: &TcpStream, status: u16, message: &str) -> io::Result<()> {
    let reason = match status {
        400 => "Bad Request",
        403 => "Forbidden",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        _ => "Error",
    };
    let body = format!("hush: {message}\n");
    let head = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: text/plain; charset=utf-8\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    client.write_all(head.as_bytes())?;
    client.write_all(body.as_bytes())?;
    client.flush()
}

/// Serves one client connection.
fn serve(client: &TcpStream, id: u64, shared: &Shared) {
    let _ = client.set_read_timeout(Some(HEAD_TIMEOUT));
    let (head, rest) = match read_head(client) {
        Ok(v) => v,
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return,
        Err(e) => {
            shared.refuse("?", None, format!("unreadable request ({e})"));
            let _ = respond(client, 400, "unreadable request");
            return;
        }
    };
    let req = match parse_head(&head) {
        Ok(r) => r,
        Err(Bad(status, why)) => {
            let first = head.split(|&b| b == b'\n').next().unwrap_or_default();
            let shown = String::from_utf8_lossy(first.get(..100).unwrap_or(first));
            shared.refuse(&shown, None, format!("malformed request: {why}"));
            let _ = respond(client, status, &why);
            return;
        }
    };
    let refuse = |status: u16, why: String| {
        let _ = respond(
            client,
            status,
            &format!("connection to `{}:{}` refused: {why}", req.host, req.port),
        );
        shared.refuse(&req.host, Some(req.port), why);
    };
    let Some(host) = normalize_host(&req.host) else {
        return refuse(400, "not a valid host name or address".into());
    };
    if shared.deny.iter().any(|d| d.matches(&host, req.port)) {
        return refuse(403, "on the network deny-list".into());
    }
    let entries: Vec<&HostPort> = shared
        .allow
        .iter()
        .filter(|e| e.matches(&host, req.port))
        .collect();
    if entries.is_empty() {
        return refuse(403, "not on the network allow-list".into());
    }
    let addrs: Vec<IpAddr> = match &host {
        Host::Ip(ip) => vec![*ip],
        Host::Name(name) => match (name.as_str(), req.port).to_socket_addrs() {
            Ok(a) => a.map(|a| a.ip()).collect(),
            Err(e) => return refuse(502, format!("the name does not resolve ({e})")),
        },
    };
    let denied_addr = |a: IpAddr| {
        shared
            .deny
            .iter()
            .any(|d| d.matches(&Host::Ip(a), req.port))
    };
    if let Some(a) = addrs.iter().find(|&&a| denied_addr(a)) {
        return refuse(403, format!("resolves to {a}, on the network deny-list"));
    }
    let mut first_refusal = None;
    let allowed: Vec<IpAddr> = addrs
        .iter()
        .copied()
        .filter(|&a| {
            let verdicts: Vec<_> = entries.iter().map(|e| e.refuses(a)).collect();
            if verdicts.iter().any(Option::is_none) {
                return true;
            }
            if first_refusal.is_none() {
                first_refusal = verdicts.first().copied().flatten().map(|c| (a, c));
            }
            false
        })
        .collect();
    if allowed.is_empty() {
        let why = match first_refusal {
            Some((a, class)) => format!(
                "resolves to {a}, a {} address (allow the address itself to reach it)",
                class.name()
            ),
            None => "the name resolves to no address".to_string(),
        };
        return refuse(403, why);
    }
    let mut last_err = None;
    let mut upstream = None;
    for a in allowed {
        match TcpStream::connect_timeout(&SocketAddr::new(a, req.port), CONNECT_TIMEOUT) {
            Ok(s) => {
                upstream = Some(s);
                break;
            }
            Err(e) => last_err = Some(e),
        }
    }
    let Some(upstream) = upstream else {
        let e = last_err.map_or_else(String::new, |e| e.to_string());
        return refuse(502, format!("cannot connect ({e})"));
    };
    if !shared.track(id, &upstream) {
        return;
    }
    let _ = client.set_read_timeout(None);
    if req.connect {
        if (&*client)
            .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
            .is_err()
        {
            return;
        }
        // The tunnel's first bytes go upstream only once a TLS ClientHello's server name, if
        // it has one, is the host that was allowed (no domain fronting through a shared front
        // end). Server-first protocols still get their banner meanwhile.
        let check = |first: &[u8]| match tls_server_name(first) {
            Ok(None) => Ok(()),
            Ok(Some(sni)) if normalize_host(&sni).as_ref() == Some(&host) => Ok(()),
            Ok(Some(sni)) => Err(format!(
                "the TLS server name `{}` is not the host asked for",
                sni.escape_default()
            )),
            Err(()) => Err("unreadable TLS ClientHello".to_string()),
        };
        if let Err(why) = splice(client, &upstream, rest, Some(&check)) {
            shared.refuse(&req.host, Some(req.port), why);
        }
    } else if (&upstream).write_all(&req.upstream).is_ok() {
        let _ = splice(client, &upstream, rest, None);
    }
}

/// A check of the client's first bytes before they go upstream.
type Gate<'a> = &'a (dyn Fn(&[u8]) -> Result<(), String> + Sync);

/// Copies bytes both ways until both directions have ended. `first` (bytes already read from
/// the client) and, with a `gate`, the client's first TLS record are checked before anything
/// goes upstream; a refusal closes both sides and is returned.
fn splice(
    client: &TcpStream,
    upstream: &TcpStream,
    first: Vec<u8>,
    gate: Option<Gate<'_>>,
) -> Result<(), String> {
    std::thread::scope(|s| {
        let to_upstream = s.spawn(move || {
            let mut first = first;
            if let Some(gate) = gate {
                read_first_record(client, &mut first);
                if let Err(why) = gate(&first) {
                    let _ = client.shutdown(Shutdown::Both);
                    let _ = upstream.shutdown(Shutdown::Both);
                    return Err(why);
                }
            }
            if (&*upstream).write_all(&first).is_ok() {
                let _ = io::copy(&mut &*client, &mut &*upstream);
            }
            let _ = upstream.shutdown(Shutdown::Write);
            Ok(())
        });
        let _ = io::copy(&mut &*upstream, &mut &*client);
        let _ = client.shutdown(Shutdown::Write);
        to_upstream.join().unwrap_or(Ok(()))
    })
}

/// Largest TLS record (2^14 plus expansion allowed for compressed or protected records).
const MAX_TLS_RECORD: usize = (1 << 14) + 2048;

/// Reads from the client until `buf` holds at least one byte and, if that starts a TLS
/// handshake record, the whole record (or the client stops sending).
fn read_first_record(mut client: &TcpStream, buf: &mut Vec<u8>) {
    let mut chunk = [0u8; 4096];
    loop {
        let want = match buf.as_slice() {
            [] => 1,
            [0x16, _, _, hi, lo, ..] => 5 + (usize::from(*hi) << 8 | usize::from(*lo)),
            [0x16, ..] => 5,
            _ => return,
        };
        if buf.len() >= want.min(5 + MAX_TLS_RECORD) {
            return;
        }
        match client.read(&mut chunk) {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
}

/// The server name (SNI) of a TLS ClientHello at the start of `buf`: `Ok(None)` when `buf`
/// is not a TLS handshake or names no server, `Err` when it is one but cannot be read (cut
/// short, malformed, or spread over several records).
pub(crate) fn tls_server_name(buf: &[u8]) -> Result<Option<String>, ()> {
    if buf.first() != Some(&0x16) {
        return Ok(None);
    }
    let mut r = Reader(buf.get(5..).ok_or(())?);
    let record_len = usize::from(u16::from_be_bytes([buf[3], buf[4]]));
    r.0 = r.0.get(..record_len).ok_or(())?;
    if r.u8()? != 1 {
        // Not a ClientHello.
        return Err(());
    }
    let len = r.u24()?;
    let mut hello = Reader(r.take(len)?);
    hello.take(2 + 32)?; // version, random
    let n = usize::from(hello.u8()?);
    hello.take(n)?; // session id
    let n = hello.u16()?;
    hello.take(n)?; // cipher suites
    let n = usize::from(hello.u8()?);
    hello.take(n)?; // compression methods
    if hello.0.is_empty() {
        return Ok(None);
    }
    let n = hello.u16()?;
    let mut exts = Reader(hello.take(n)?);
    while !exts.0.is_empty() {
        let kind = exts.u16()?;
        let n = exts.u16()?;
        let body = exts.take(n)?;
        if kind != 0 {
            continue;
        }
        let mut list = Reader(body);
        let n = list.u16()?;
        let mut names = Reader(list.take(n)?);
        while !names.0.is_empty() {
            let name_type = names.u8()?;
            let n = names.u16()?;
            let name = names.take(n)?;
            if name_type == 0 {
                return String::from_utf8(name.to_vec()).map(Some).map_err(|_| ());
            }
        }
        return Ok(None);
    }
    Ok(None)
}

/// A bounds-checked big-endian reader.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], ()> {
        if n > self.0.len() {
            return Err(());
        }
        let (head, tail) = self.0.split_at(n);
        self.0 = tail;
        Ok(head)
    }

    fn u8(&mut self) -> Result<u8, ()> {
        Ok(self.take(1)?[0])
    }

    fn u16(&mut self) -> Result<usize, ()> {
        let b = self.take(2)?;
        Ok(usize::from(u16::from_be_bytes([b[0], b[1]])))
    }

    fn u24(&mut self) -> Result<usize, ()> {
        let b = self.take(3)?;
        Ok(usize::from(b[0]) << 16 | usize::from(b[1]) << 8 | usize::from(b[2]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connect_requests_name_host_and_port() {
        let h = parse_head(b"CONNECT api.example.com:443 HTTP/1.1\r\nHost: api.example.com:443")
            .unwrap();
        assert!(h.connect);
        assert_eq!((h.host.as_str(), h.port), ("api.example.com", 443));
        let h = parse_head(b"CONNECT [::1]:8443 HTTP/1.1").unwrap();
        assert_eq!((h.host.as_str(), h.port), ("[::1]", 8443));
        for bad_head in [
            &b"CONNECT api.example.com HTTP/1.1"[..],
            b"CONNECT api.example.com:0 HTTP/1.1",
            b"CONNECT :443 HTTP/1.1",
            b"CONNECT user@host:443 HTTP/1.1",
            b"CONNECT host:443 HTTP/2",
            b"CONNECT host:443",
            b"connect host:443 HTTP/1.1",
            b"\xff\xfe",
            b"",
        ] {
            assert_eq!(
                parse_head(bad_head).map_err(|b| b.0),
                Err(400),
                "{bad_head:?}"
            );
        }
    }

    #[test]
    fn plain_http_is_rewritten_to_origin_form_with_the_uri_host() {
        let h = parse_head(
            b"GET http://Example.com:8080/a/b?q=1#frag HTTP/1.1\r\nHost: evil.example\r\n\
              Proxy-Connection: keep-alive\r\nProxy-Authorization: Basic eA==\r\n\
              Accept: */*\r\nConnection: keep-alive",
        )
        .unwrap();
        assert!(!h.connect);
        assert_eq!((h.host.as_str(), h.port), ("Example.com", 8080));
        assert_eq!(
            String::from_utf8(h.upstream).unwrap(),
            "GET /a/b?q=1 HTTP/1.1\r\nHost: Example.com:8080\r\nAccept: */*\r\n\
             Connection: close\r\n\r\n"
        );
        let h = parse_head(b"POST http://example.com HTTP/1.0").unwrap();
        assert_eq!(h.port, 80);
        assert!(h
            .upstream
            .starts_with(b"POST / HTTP/1.0\r\nHost: example.com\r\n"));
        let h = parse_head(b"GET http://example.com?x HTTP/1.1").unwrap();
        assert!(h.upstream.starts_with(b"GET /?x HTTP/1.1\r\n"));
        assert!(parse_head(b"GET https://example.com/ HTTP/1.1")
            .unwrap_err()
            .1
            .contains("CONNECT"));
        assert!(parse_head(b"GET /relative HTTP/1.1").is_err());
        assert!(parse_head(b"GET http://u:p@example.com/ HTTP/1.1").is_err());
        assert!(parse_head(b"GET http://example.com/ HTTP/1.1\r\nbad header").is_err());
        assert!(parse_head(b"GET http://example.com/a\rHost:x HTTP/1.1").is_err());
        assert!(parse_head(b"GET http://example.com/ HTTP/1.1\r\nX: a\rb").is_err());
    }

    /// A listener handed to a proxy as the helper would, and the allow-list.
    fn proxy(allow: &[&str]) -> (Proxy, SocketAddr) {
        proxy_with(allow, &[])
    }

    fn proxy_with(allow: &[&str], deny: &[&str]) -> (Proxy, SocketAddr) {
        let (ours, theirs) = UnixStream::pair().unwrap();
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let parse = |l: &[&str]| l.iter().map(|s| s.parse().unwrap()).collect();
        let p = Proxy::start(theirs, parse(allow), parse(deny)).unwrap();
        wire::send_fd(&ours, std::os::fd::AsFd::as_fd(&listener)).unwrap();
        (p, addr)
    }

    fn ask(proxy: SocketAddr, head: &str) -> String {
        let mut s = TcpStream::connect(proxy).unwrap();
        s.write_all(head.as_bytes()).unwrap();
        let mut out = String::new();
        let _ = s.read_to_string(&mut out);
        out
    }

    #[test]
    fn the_proxy_forwards_allowed_hosts_and_records_refusals() {
        let server = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = server.local_addr().unwrap().port();
        let served = std::thread::spawn(move || {
            let (mut c, _) = server.accept().unwrap();
            let mut head = Vec::new();
            let mut b = [0u8; 1];
            while !head.ends_with(b"\r\n\r\n") && c.read(&mut b).unwrap() == 1 {
                head.push(b[0]);
            }
            c.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
                .unwrap();
            String::from_utf8(head).unwrap()
        });
        let (p, addr) = proxy(&[&format!("127.0.0.1:{port}")]);
        let out = ask(
            addr,
            &format!("GET http://127.0.0.1:{port}/x HTTP/1.1\r\nHost: other\r\n\r\n"),
        );
        assert!(
            out.starts_with("HTTP/1.1 200 OK") && out.ends_with("ok"),
            "{out}"
        );
        let head = served.join().unwrap();
        assert!(head.starts_with(&format!("GET /x HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n")));
        let out = ask(addr, &format!("CONNECT 127.0.0.2:{port} HTTP/1.1\r\n\r\n"));
        assert!(out.starts_with("HTTP/1.1 403"), "{out}");
        let out = ask(addr, "CONNECT not-listed.example:443 HTTP/1.1\r\n\r\n");
        assert!(out.contains("not on the network allow-list"), "{out}");
        let out = ask(addr, "nonsense\r\n\r\n");
        assert!(out.starts_with("HTTP/1.1 400"), "{out}");
        let refused = p.finish();
        assert_eq!(refused.len(), 3, "{refused:?}");
        assert_eq!(refused[0].host, "127.0.0.2");
        assert_eq!(
            refused[1].to_string(),
            "`not-listed.example:443`: not on the network allow-list"
        );
        assert!(refused[2].reason.starts_with("malformed request"));
    }

    #[test]
    fn special_addresses_are_refused_unless_named() {
        let (p, addr) = proxy(&["*:80", "localhost:81"]);
        for (target, why) in [
            ("169.254.169.254:80", "cloud metadata"),
            ("10.1.2.3:80", "private"),
            ("[::1]:80", "loopback"),
            ("[fd00:ec2::254]:80", "cloud metadata"),
            ("localhost:80", "loopback"),
        ] {
            let out = ask(addr, &format!("CONNECT {target} HTTP/1.1\r\n\r\n"));
            assert!(
                out.starts_with("HTTP/1.1 403") && out.contains(why),
                "{target}: {out}"
            );
        }
        let refused = p.finish();
        assert_eq!(refused.len(), 5);
        assert!(refused.iter().all(|r| r.port == Some(80)), "{refused:?}");
    }

    /// A minimal TLS 1.2 ClientHello record naming `sni` (if any).
    fn client_hello(sni: Option<&str>) -> Vec<u8> {
        let mut exts = Vec::new();
        if let Some(name) = sni {
            let n = name.len() as u16;
            exts.extend_from_slice(&[0, 0]);
            exts.extend_from_slice(&(n + 5).to_be_bytes());
            exts.extend_from_slice(&(n + 3).to_be_bytes());
            exts.push(0);
            exts.extend_from_slice(&n.to_be_bytes());
            exts.extend_from_slice(name.as_bytes());
        }
        // A second, unrelated extension (supported_versions).
        exts.extend_from_slice(&[0, 0x2b, 0, 3, 2, 3, 4]);
        let mut hello = vec![3, 3];
        hello.extend_from_slice(&[7; 32]);
        hello.push(0);
        hello.extend_from_slice(&[0, 2, 0x13, 0x01]);
        hello.extend_from_slice(&[1, 0]);
        hello.extend_from_slice(&(exts.len() as u16).to_be_bytes());
        hello.extend_from_slice(&exts);
        let mut hs = vec![1];
        hs.extend_from_slice(&(hello.len() as u32).to_be_bytes()[1..]);
        hs.extend_from_slice(&hello);
        let mut rec = vec![0x16, 3, 1];
        rec.extend_from_slice(&(hs.len() as u16).to_be_bytes());
        rec.extend_from_slice(&hs);
        rec
    }

    #[test]
    fn the_server_name_is_read_from_a_client_hello() {
        let rec = client_hello(Some("api.example.com"));
        assert_eq!(tls_server_name(&rec), Ok(Some("api.example.com".into())));
        assert_eq!(tls_server_name(&client_hello(None)), Ok(None));
        assert_eq!(tls_server_name(b"SSH-2.0-OpenSSH\r\n"), Ok(None));
        assert_eq!(tls_server_name(b""), Ok(None));
        for cut in 1..rec.len() {
            assert_eq!(tls_server_name(&rec[..cut]), Err(()), "cut at {cut}");
        }
        let mut not_hello = rec.clone();
        not_hello[5] = 2;
        assert_eq!(tls_server_name(&not_hello), Err(()));
    }

    #[test]
    fn a_tunnel_whose_tls_server_name_differs_is_closed() {
        let server = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = server.local_addr().unwrap().port();
        let received = std::thread::spawn(move || {
            let mut got = Vec::new();
            for _ in 0..2 {
                let (mut c, _) = server.accept().unwrap();
                let mut buf = Vec::new();
                let _ = c.read_to_end(&mut buf);
                got.push(buf);
            }
            got
        });
        let (p, addr) = proxy(&[&format!("127.0.0.1:{port}"), "fronted.example:443"]);
        for sni in ["127.0.0.1", "other.example"] {
            let mut s = TcpStream::connect(addr).unwrap();
            s.write_all(format!("CONNECT 127.0.0.1:{port} HTTP/1.1\r\n\r\n").as_bytes())
                .unwrap();
            let mut head = [0u8; 39];
            s.read_exact(&mut head).unwrap();
            assert!(head.starts_with(b"HTTP/1.1 200"));
            s.write_all(&client_hello(Some(sni))).unwrap();
            s.shutdown(Shutdown::Write).unwrap();
            let mut rest = Vec::new();
            let _ = s.read_to_end(&mut rest);
        }
        let got = received.join().unwrap();
        assert_eq!(
            got[0],
            client_hello(Some("127.0.0.1")),
            "a matching name passes"
        );
        assert!(got[1].is_empty(), "a fronted name reached the server");
        let refused = p.finish();
        assert_eq!(refused.len(), 1, "{refused:?}");
        assert!(refused[0].reason.contains("`other.example`"), "{refused:?}");
    }

    #[test]
    fn the_deny_list_wins_over_the_allow_list() {
        let (p, addr) = proxy_with(
            &["*:80", "*.example.com"],
            &["admin.example.com", "10.0.0.1"],
        );
        let out = ask(addr, "CONNECT admin.example.com:443 HTTP/1.1\r\n\r\n");
        assert!(
            out.starts_with("HTTP/1.1 403") && out.contains("deny-list"),
            "{out}"
        );
        let out = ask(addr, "CONNECT 10.0.0.1:80 HTTP/1.1\r\n\r\n");
        assert!(out.contains("deny-list"), "{out}");
        let refused = p.finish();
        assert_eq!(refused.len(), 2);
        assert!(
            refused.iter().all(|r| r.reason.contains("deny-list")),
            "{refused:?}"
        );
    }

    #[test]
    fn finish_returns_when_the_helper_never_sends_a_listener() {
        let (ours, theirs) = UnixStream::pair().unwrap();
        let p = Proxy::start(theirs, Vec::new(), Vec::new()).unwrap();
        let t = Instant::now();
        assert!(p.finish().is_empty());
        drop(ours);
        assert!(t.elapsed() < FINISH_WAIT);
    }
}
