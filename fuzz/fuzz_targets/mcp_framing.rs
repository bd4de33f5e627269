//! The proxy's message framing (`Proxy::run`: line splitting in both directions, the size
//! limit, partial frames across reads, batches, blank lines, a last line without its newline):
//! never panic, and the result never depends on how the input is cut into reads. The same bytes
//! go through two fresh proxies, once in one read and once in reads of 1 to 17 bytes; what
//! reaches the server, what reaches the client and whether the run failed must be identical.
//! A run fails exactly when a server line is over the limit; every line forwarded to the server
//! parses as JSON-RPC (or is blank).
#![no_main]

use std::io::{Read, Write};
use std::sync::{mpsc, Arc, Mutex, OnceLock};

use hush_mcp::{
    parse_frame, Answer, Checker, PathConfig, Prompt, Proxy, ProxyConfig, ProxyError, Question,
    RateConfig, Rules,
};
use hush_patterns::{KnownValues, RuleSet};
use libfuzzer_sys::fuzz_target;

/// Never touches a terminal.
struct Refuse;

impl Prompt for Refuse {
    fn ask(&self, _q: &Question<'_>) -> Answer {
        Answer::Cancel
    }
}

fn rules() -> Arc<RuleSet> {
    static RULES: OnceLock<Arc<RuleSet>> = OnceLock::new();
    RULES
        .get_or_init(|| Arc::new(RuleSet::builtin().expect("built-in rules")))
        .clone()
}

/// Compiled once; each proxy gets a clone.
fn checker() -> Checker {
    static CHECKER: OnceLock<Checker> = OnceLock::new();
    CHECKER
        .get_or_init(|| {
            Checker::new(
                rules(),
                Arc::new(KnownValues::empty()),
                PathConfig {
                    roots: vec!["/tmp/fuzz-root".into()],
                    base: "/tmp/fuzz-root".into(),
                    home: None,
                },
            )
        })
        .clone()
}

fn proxy(limit: usize) -> Arc<Proxy> {
    let rules = rules();
    let known = Arc::new(KnownValues::empty());
    let checker = checker();
    let guard = Rules {
        blocked: vec!["delete_file".into()],
        confirm: vec![],
    };
    let mut config = ProxyConfig::new(vec!["fuzz".into()], rules, known, checker, Box::new(guard));
    config.prompt = Box::new(Refuse);
    config.max_message = limit;
    // Decisions must not depend on the clock between the two runs.
    config.rates = RateConfig {
        per_tool: u32::MAX,
        per_server: u32::MAX,
    };
    Arc::new(Proxy::new(config))
}

/// Reads `data` in pieces whose sizes come from `seed` (0: all at once).
struct Chunked {
    data: Vec<u8>,
    at: usize,
    seed: u32,
    /// The server side starts answering only once the client side is done, so the order of
    /// lines to the client is fixed.
    wait: Option<mpsc::Receiver<()>>,
}

impl Read for Chunked {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if let Some(rx) = self.wait.take() {
            let _ = rx.recv();
        }
        let left = self.data.len() - self.at;
        let n = if self.seed == 0 {
            left
        } else {
            self.seed = self.seed.wrapping_mul(1_103_515_245).wrapping_add(12_345);
            1 + (self.seed >> 16) as usize % 17
        };
        let n = n.min(left).min(buf.len());
        buf[..n].copy_from_slice(&self.data[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

/// Collects what is written; says when it is dropped (the client side is done).
struct Sink {
    out: Arc<Mutex<Vec<u8>>>,
    done: Option<mpsc::Sender<()>>,
}

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.out.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Drop for Sink {
    fn drop(&mut self) {
        if let Some(tx) = self.done.take() {
            let _ = tx.send(());
        }
    }
}

struct Outcome {
    to_server: Vec<u8>,
    to_client: Vec<u8>,
    too_large: Option<bool>,
}

fn run(data: &[u8], limit: usize, seed: u32) -> Outcome {
    let (tx, rx) = mpsc::channel();
    let to_server = Arc::new(Mutex::new(Vec::new()));
    let to_client = Arc::new(Mutex::new(Vec::new()));
    let client_in = Chunked {
        data: data.to_vec(),
        at: 0,
        seed,
        wait: None,
    };
    let server_out = Chunked {
        data: data.to_vec(),
        at: 0,
        seed: seed.rotate_left(7),
        wait: Some(rx),
    };
    let server_in = Sink {
        out: to_server.clone(),
        done: Some(tx),
    };
    let client_out = Sink {
        out: to_client.clone(),
        done: None,
    };
    let result = proxy(limit).run(
        client_in,
        client_out,
        server_in,
        server_out,
        None::<(std::io::Empty, std::io::Sink)>,
    );
    let too_large = match result {
        Ok(()) => Some(false),
        Err(ProxyError::MessageTooLarge { .. }) => Some(true),
        Err(_) => None,
    };
    let to_server = to_server.lock().unwrap().clone();
    let to_client = to_client.lock().unwrap().clone();
    Outcome {
        to_server,
        to_client,
        too_large,
    }
}

fuzz_target!(|input: &[u8]| {
    let Some((&[l, s], data)) = input.split_first_chunk::<2>() else {
        return;
    };
    let limit = 8 + usize::from(l) * 4;
    let seed = u32::from(s) | 1;
    let whole = run(data, limit, 0);
    let cut = run(data, limit, seed);
    assert_eq!(whole.too_large, cut.too_large);
    assert_eq!(whole.to_server, cut.to_server);
    assert_eq!(whole.to_client, cut.to_client);
    let over = data
        .split_inclusive(|&b| b == b'\n')
        .any(|line| line.len() > limit);
    assert_eq!(whole.too_large, Some(over));
    for line in whole.to_server.split_inclusive(|&b| b == b'\n') {
        let blank = line.iter().all(u8::is_ascii_whitespace);
        assert!(blank || parse_frame(line).is_ok());
    }
});
