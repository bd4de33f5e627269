//! Arbitrary lines through the MCP message parser and both directions of the proxy: never panic;
//! a server line that parsed still parses after tools filtering and redaction; a client line is
//! either forwarded unchanged, rebuilt from a batch, or answered by hush, never both forwarded
//! unchanged and answered.
#![no_main]

use std::sync::{Arc, OnceLock};

use hush_mcp::{
    parse_frame, Answer, Checker, PathConfig, Prompt, Proxy, ProxyConfig, Question, Rules,
};
use hush_patterns::{KnownValuesBuilder, RuleSet};
use libfuzzer_sys::fuzz_target;

/// Never touches a terminal.
struct Refuse;

impl Prompt for Refuse {
    fn ask(&self, _q: &Question<'_>) -> Answer {
        Answer::Cancel
    }
}

fn proxy() -> &'static Proxy {
    static PROXY: OnceLock<Proxy> = OnceLock::new();
    PROXY.get_or_init(|| {
        let rules = Arc::new(RuleSet::builtin().expect("built-in rules"));
        let mut kb = KnownValuesBuilder::new();
        kb.add("FUZZ", b"fuzz-known-value/+=").expect("long enough");
        let known = Arc::new(kb.build_for(&rules).expect("known values"));
        let checker = Checker::new(
            rules.clone(),
            known.clone(),
            PathConfig {
                roots: vec!["/tmp/fuzz-root".into()],
                base: "/tmp/fuzz-root".into(),
                home: None,
            },
        );
        let guard = Rules {
            blocked: vec!["delete_file".into()],
            confirm: vec![],
        };
        let mut config = ProxyConfig::new(vec!["fuzz".into()], rules, known, checker, Box::new(guard));
        config.prompt = Box::new(Refuse);
        Proxy::new(config)
    })
}

fuzz_target!(|data: &[u8]| {
    let parsed = parse_frame(data).is_ok();
    let p = proxy();
    let action = p.client_message(data);
    if let Some(std::borrow::Cow::Borrowed(b)) = &action.to_server {
        assert!(action.to_client.is_empty());
        assert_eq!(*b, data);
    }
    for reply in &action.to_client {
        assert!(parse_frame(reply).is_ok());
    }
    let out = p.server_message(data);
    if parsed {
        assert!(parse_frame(&out).is_ok());
    }
});
