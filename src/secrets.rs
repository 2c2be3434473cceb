//! Keys created once by `init`: one signs links, one makes tombstones. A tombstone is
//! a keyed hash because a bare hash of an address is still personal data (anyone can
//! hash a list of addresses and compare).

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

pub const KEY_LEN: usize = 32;

#[derive(Clone)]
pub struct Secrets {
    pub link_key: [u8; KEY_LEN],
    pub tombstone_key: [u8; KEY_LEN],
}

impl std::fmt::Debug for Secrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secrets(..)")
    }
}

impl Secrets {
    pub fn generate() -> Self {
        let mut link_key = [0u8; KEY_LEN];
        let mut tombstone_key = [0u8; KEY_LEN];
        rand::fill(&mut link_key);
        rand::fill(&mut tombstone_key);
        Self {
            link_key,
            tombstone_key,
        }
    }

    /// The tombstone of a normalised address (`EmailAddress::key`).
    pub fn tombstone(&self, email_key: &str) -> Vec<u8> {
        hmac_sha256(&self.tombstone_key, email_key.as_bytes()).to_vec()
    }
}

pub fn hmac_sha256(key: &[u8], data: &[u8]) -> [u8; 32] {
    let mut mac =
        <Hmac<Sha256> as KeyInit>::new_from_slice(key).expect("HMAC takes keys of any length");
    mac.update(data);
    mac.finalize().into_bytes().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tombstones_are_keyed() {
        let a = Secrets::generate();
        let b = Secrets::generate();
        assert_eq!(a.tombstone("jan@example.pl"), a.tombstone("jan@example.pl"));
        assert_ne!(a.tombstone("jan@example.pl"), b.tombstone("jan@example.pl"));
        assert_ne!(
            a.tombstone("jan@example.pl"),
            a.tombstone("jana@example.pl")
        );
    }

    #[test]
    fn hmac_matches_rfc4231_case_2() {
        let got = hmac_sha256(b"Jefe", b"what do ya want for nothing?");
        assert_eq!(
            hex::encode(got),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
