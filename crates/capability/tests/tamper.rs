//! Tampered tokens are rejected: every flipped byte, a removed link, reordered links, a changed
//! constraint, another key. The body layout is rebuilt here from the documented format.

use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hush_capability::{
    Access, Authority, Grant, Operation, Rejection, Request, Resource, Scope, PREFIX,
};
use secrecy::ExposeSecret;

fn req(agent: &str, grants: &[&str]) -> Request {
    Request {
        agent: agent.into(),
        scope: Scope::new(grants.iter().map(|g| Grant::parse(g).unwrap())),
        ttl: Duration::from_secs(3600),
        max_depth: 4,
    }
}

/// A 3-link token and an access it allows.
fn token(a: &Authority) -> (String, Access) {
    let t = a
        .request(&req("a", &["read,write path:/p", "call tool:fs/*"]))
        .unwrap();
    let t = a
        .delegate(t.encode().expose_secret(), &req("b", &["read path:/p"]))
        .unwrap();
    let t = a
        .delegate(t.encode().expose_secret(), &req("c", &["read path:/p/src"]))
        .unwrap();
    let access = Access {
        resource: Resource::parse("/p/src/x").unwrap(),
        operation: Operation::Read,
        now: t.leaf().issued,
    };
    (t.encode().expose_secret().to_string(), access)
}

/// version, links, payloads, mac.
fn split(text: &str) -> (u8, Vec<Vec<u8>>, Vec<u8>) {
    let body = URL_SAFE_NO_PAD.decode(&text[PREFIX.len()..]).unwrap();
    let n = body[1] as usize;
    let mut at = 2;
    let mut links = Vec::new();
    for _ in 0..n {
        let len = u16::from_be_bytes([body[at], body[at + 1]]) as usize;
        links.push(body[at + 2..at + 2 + len].to_vec());
        at += 2 + len;
    }
    (body[0], links, body[at..].to_vec())
}

fn join(version: u8, links: &[Vec<u8>], mac: &[u8]) -> String {
    let mut body = vec![version, links.len() as u8];
    for l in links {
        body.extend_from_slice(&(l.len() as u16).to_be_bytes());
        body.extend_from_slice(l);
    }
    body.extend_from_slice(mac);
    format!("{PREFIX}{}", URL_SAFE_NO_PAD.encode(body))
}

#[test]
fn the_reassembled_token_is_the_original() {
    let a = Authority::ephemeral().unwrap();
    let (text, access) = token(&a);
    let (v, links, mac) = split(&text);
    assert_eq!(links.len(), 3);
    let again = join(v, &links, &mac);
    assert_eq!(again, text);
    assert!(a.validate(&again, &access).is_ok());
}

#[test]
fn every_flipped_byte_is_rejected() {
    let a = Authority::ephemeral().unwrap();
    let (text, access) = token(&a);
    let body = URL_SAFE_NO_PAD.decode(&text[PREFIX.len()..]).unwrap();
    for i in 0..body.len() {
        for bit in [0x01u8, 0x80] {
            let mut b = body.clone();
            b[i] ^= bit;
            let t = format!("{PREFIX}{}", URL_SAFE_NO_PAD.encode(&b));
            assert!(a.validate(&t, &access).is_err(), "byte {i} bit {bit:#x}");
        }
    }
}

#[test]
fn removed_and_reordered_links_are_rejected() {
    let a = Authority::ephemeral().unwrap();
    let (text, access) = token(&a);
    let (v, links, mac) = split(&text);
    let variants = [
        vec![links[0].clone(), links[1].clone()],
        vec![links[0].clone(), links[2].clone()],
        vec![links[1].clone(), links[2].clone()],
        vec![links[0].clone(), links[2].clone(), links[1].clone()],
        vec![links[1].clone(), links[0].clone(), links[2].clone()],
        vec![
            links[0].clone(),
            links[1].clone(),
            links[2].clone(),
            links[2].clone(),
        ],
    ];
    for (i, ls) in variants.iter().enumerate() {
        assert_eq!(
            a.validate(&join(v, ls, &mac), &access).unwrap_err(),
            Rejection::Signature,
            "variant {i}"
        );
    }
}

#[test]
fn a_changed_constraint_is_rejected() {
    let a = Authority::ephemeral().unwrap();
    let (text, access) = token(&a);
    let (v, mut links, mac) = split(&text);
    // Change the last link's grant from /p/src to /p/sr/ (same length, a valid pattern).
    let pos = links[2]
        .windows(6)
        .position(|w| w == b"/p/src")
        .expect("the grant's pattern is in the payload");
    links[2][pos + 5] = b'/';
    let t = join(v, &links, &mac);
    let err = a.validate(&t, &access).unwrap_err();
    assert!(
        matches!(err, Rejection::Signature | Rejection::Malformed(_)),
        "{err:?}"
    );
    // Extend the expiry of the root link (bytes 24..32 of the payload).
    let (v, mut links, mac) = split(&text);
    links[0][24] = links[0][24].wrapping_add(1);
    assert_eq!(
        a.validate(&join(v, &links, &mac), &access).unwrap_err(),
        Rejection::Signature
    );
    // Change the operations of the root's first grant to everything.
    let (v, mut links, mac) = split(&text);
    let n_issuer = links[0][33] as usize;
    let n_agent = links[0][34 + n_issuer] as usize;
    let grant = 34 + n_issuer + 1 + n_agent + 1;
    links[0][grant..grant + 2].copy_from_slice(&0x7fu16.to_be_bytes());
    assert_eq!(
        a.validate(&join(v, &links, &mac), &access).unwrap_err(),
        Rejection::Signature
    );
}

#[test]
fn another_key_is_rejected() {
    let a = Authority::ephemeral().unwrap();
    let b = Authority::ephemeral().unwrap();
    let (text, access) = token(&a);
    assert_eq!(
        b.validate(&text, &access).unwrap_err(),
        Rejection::Signature
    );
    let dir = tempfile::tempdir().unwrap();
    let c = Authority::open(dir.path()).unwrap();
    assert_eq!(
        c.validate(&text, &access).unwrap_err(),
        Rejection::Signature
    );
}
