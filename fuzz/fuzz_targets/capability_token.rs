//! Arbitrary bytes as a capability token: parsing and validation never panic; whatever parses
//! encodes back to the same text (one encoding per token); a token signed by no key here never
//! validates.
#![no_main]

use std::sync::OnceLock;

use hush_capability::{Access, Authority, Operation, Resource, Token, PREFIX};
use libfuzzer_sys::fuzz_target;
use secrecy::ExposeSecret;

fn authority() -> &'static (Authority, Access) {
    static A: OnceLock<(Authority, Access)> = OnceLock::new();
    A.get_or_init(|| {
        let a = Authority::ephemeral().expect("authority");
        let access = Access {
            resource: Resource::parse("/home/me/project/a.txt").expect("resource"),
            operation: Operation::Read,
            now: 1_800_000_000,
        };
        (a, access)
    })
}

fuzz_target!(|data: &[u8]| {
    let (a, access) = authority();
    // Raw bytes, and the same bytes as base64 behind the prefix, so the fuzzer reaches the
    // binary parser without having to discover base64.
    let mut texts = Vec::new();
    if let Ok(s) = std::str::from_utf8(data) {
        texts.push(s.to_string());
    }
    {
        use base64::Engine;
        let mut t = PREFIX.to_string();
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode_string(data, &mut t);
        texts.push(t);
    }
    for text in &texts {
        if let Ok(token) = Token::parse(text) {
            assert_eq!(token.encode().expose_secret(), text);
            let _ = token.effective();
            let _ = token.allows(&access.resource, access.operation);
        }
        assert!(a.validate(text, access).is_err());
    }
});
