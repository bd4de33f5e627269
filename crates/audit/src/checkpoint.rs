//! Signed checkpoints: `(seq, head hash, time, session, final)` signed with Ed25519 and
//! appended to `<log>.checkpoints`, one JSON line each.

use ed25519_dalek::{Signature, Verifier, VerifyingKey};
use serde::{Deserialize, Serialize};

use crate::key::CheckpointKey;

/// Domain separation for checkpoint signatures.
const DOMAIN: &[u8] = b"hush-audit-checkpoint-v1\n";

/// One checkpoint line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct Checkpoint {
    /// The last record it covers.
    pub seq: u64,
    /// That record's hash (hex).
    pub head: String,
    /// When it was signed.
    pub time: String,
    /// The session that signed it.
    pub session: String,
    /// Written when the session closed: nothing of that session follows.
    #[serde(rename = "final")]
    pub is_final: bool,
    /// The signer's public key (hex).
    pub key: String,
    /// Ed25519 signature (hex) over the fields above.
    pub sig: String,
}

fn message(seq: u64, head: &str, time: &str, session: &str, is_final: bool) -> Vec<u8> {
    let mut m = DOMAIN.to_vec();
    m.extend_from_slice(format!("{seq}\n{head}\n{time}\n{session}\n{is_final}\n").as_bytes());
    m
}

impl Checkpoint {
    pub(crate) fn sign(
        key: &CheckpointKey,
        seq: u64,
        head: &[u8; 32],
        time: &str,
        session: &str,
        is_final: bool,
    ) -> Checkpoint {
        let head = hex::encode(head);
        let sig = key.sign(&message(seq, &head, time, session, is_final));
        Checkpoint {
            seq,
            head,
            time: time.to_string(),
            session: session.to_string(),
            is_final,
            key: key.public_hex(),
            sig: hex::encode(sig),
        }
    }

    /// Whether the signature is `key`'s over this checkpoint's fields.
    pub fn verify(&self, key: &VerifyingKey) -> bool {
        let mut sig = [0u8; 64];
        if hex::decode_to_slice(&self.sig, &mut sig).is_err() {
            return false;
        }
        key.verify(
            &message(
                self.seq,
                &self.head,
                &self.time,
                &self.session,
                self.is_final,
            ),
            &Signature::from_bytes(&sig),
        )
        .is_ok()
    }
}
