//! The hash chain over the consent ledger: the canonical bytes of an entry, its hash,
//! and the salted commitments that stand in the chain for personal data.
//!
//! An entry's hash is `SHA-256(prev_hash || canonical)`, where `prev_hash` is the hash
//! of the entry before it in the whole base, and the canonical form carries the hash of
//! the contact's own previous entry: one chain over the base and one per contact, both
//! closed by the same hash. Changing, removing or reordering any entry changes every
//! hash after it.
//!
//! The canonical form is a fixed sequence of fields, each written as a one-byte
//! presence mark and, when present, its length (u64, big-endian) and bytes; integers as
//! their decimal text. Nothing depends on a JSON library's key order or a database's
//! text encoding. `FORMAT` names it, so a later form can live beside it.
//!
//! Address, IP, user agent and the free-form detail enter only as commitments:
//! `SHA-256(salt || field name || 0 || value)` with a random salt kept per contact.
//! Erasure blanks the values and destroys the salt: the chain still verifies from the
//! stored commitments, which no longer lead back to anyone (a guessed address cannot be
//! tested against them without the salt).

use crate::store::LedgerEntry;
use sha2::{Digest, Sha256};
use std::collections::HashMap;

/// The name of this canonical form, the first field of every entry.
pub const FORMAT: &str = "reconsent-ledger-1";

/// The hash before the first entry (of the base, or of a contact).
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Length of a salt, in bytes.
pub const SALT_LEN: usize = 32;

/// A fresh random salt for a contact's commitments.
pub fn new_salt() -> [u8; SALT_LEN] {
    let mut salt = [0u8; SALT_LEN];
    rand::fill(&mut salt);
    salt
}

/// The commitments that stand for an entry's personal fields in the chain.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Commitments {
    pub address: Option<String>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub detail: Option<String>,
}

/// An entry's place in the chains.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    /// Position in the whole base's chain, from 1.
    pub seq: i64,
    pub prev_hash: String,
    pub contact_prev_hash: String,
    pub hash: String,
}

/// An entry ready to be stored: its place and its commitments.
#[derive(Debug, Clone)]
pub struct Chained {
    pub link: Link,
    pub commitments: Commitments,
}

/// The ends of the chains an append continues, as read inside the write transaction.
#[derive(Debug, Clone, Default)]
pub struct Heads {
    /// (seq, hash) of the base's last entry; `None` for an empty ledger.
    pub base: Option<(i64, String)>,
    /// The hash of each contact's last entry, for the contacts being written.
    pub contacts: HashMap<i64, String>,
}

/// What the chain needs to know of a contact: its salt (gone once erased) and its
/// address key (gone once erased).
#[derive(Debug, Clone, Default)]
pub struct Subject {
    pub salt: Option<Vec<u8>>,
    pub address: Option<String>,
}

/// `SHA-256(salt || field || 0 || value)` in hex.
pub fn commit(salt: &[u8], field: &str, value: &str) -> String {
    let mut h = Sha256::new();
    h.update(salt);
    h.update(field.as_bytes());
    h.update([0u8]);
    h.update(value.as_bytes());
    hex::encode(h.finalize())
}

/// Whether an entry's detail is personal data, committed with the contact's salt. The
/// `erased` entry holds only the reason, and must stay checkable after the salt is gone.
pub fn detail_is_personal(event: &str) -> bool {
    event != "erased"
}

/// The detail's commitment: salted when personal, a plain hash otherwise.
pub fn commit_detail(event: &str, salt: Option<&[u8]>, detail: &str) -> Option<String> {
    if detail_is_personal(event) {
        salt.map(|s| commit(s, "detail", detail))
    } else {
        Some(hex::encode(Sha256::digest(detail.as_bytes())))
    }
}

/// The commitments of an entry as written now, with `detail` as its stored text.
pub fn commitments(entry: &LedgerEntry, detail: Option<&str>, subject: &Subject) -> Commitments {
    let salt = subject.salt.as_deref();
    let salted = |field: &str, v: Option<&str>| Some(commit(salt?, field, v?));
    Commitments {
        address: salted("address", subject.address.as_deref()),
        ip: salted("ip", entry.ip.as_deref()),
        user_agent: salted("user_agent", entry.user_agent.as_deref()),
        detail: detail.and_then(|d| commit_detail(entry.event.as_str(), salt, d)),
    }
}

/// The canonical bytes of an entry (see the module's description).
pub fn canonical(
    seq: i64,
    contact_id: i64,
    entry: &LedgerEntry,
    commitments: &Commitments,
    contact_prev_hash: &str,
) -> Vec<u8> {
    let mut out = Vec::with_capacity(512);
    let mut field = |v: Option<&str>| match v {
        None => out.push(0),
        Some(s) => {
            out.push(1);
            out.extend_from_slice(&(s.len() as u64).to_be_bytes());
            out.extend_from_slice(s.as_bytes());
        }
    };
    let e = entry;
    let c = commitments;
    field(Some(FORMAT));
    field(Some(&seq.to_string()));
    field(Some(&contact_id.to_string()));
    field(Some(contact_prev_hash));
    field(Some(e.event.as_str()));
    field(Some(&e.at.timestamp().to_string()));
    field(e.campaign.as_deref());
    field(e.wave.as_deref());
    field(e.content_sha256.as_deref());
    field(e.privacy_sha256.as_deref());
    field(e.privacy_version.as_deref());
    field(e.message_id.as_deref());
    field(Some(&e.policy_version));
    field(Some(if e.suspect { "1" } else { "0" }));
    field(c.address.as_deref());
    field(c.ip.as_deref());
    field(c.user_agent.as_deref());
    field(c.detail.as_deref());
    out
}

/// `SHA-256(prev_hash || canonical)` in hex, the previous hash as its 32 bytes.
pub fn entry_hash(prev_hash: &str, canonical: &[u8]) -> String {
    let mut h = Sha256::new();
    match hex::decode(prev_hash) {
        Ok(bytes) => h.update(bytes),
        // A damaged previous hash still yields a hash, which then matches nothing.
        Err(_) => h.update(prev_hash.as_bytes()),
    }
    h.update(canonical);
    hex::encode(h.finalize())
}

/// Appends `entry` of `contact_id` after `heads`, which move on to it.
pub fn link(
    heads: &mut Heads,
    contact_id: i64,
    entry: &LedgerEntry,
    detail: Option<&str>,
    subject: &Subject,
) -> Chained {
    let (last_seq, prev_hash) = heads.base.clone().unwrap_or((0, GENESIS.to_string()));
    let seq = last_seq + 1;
    let contact_prev_hash = heads
        .contacts
        .get(&contact_id)
        .cloned()
        .unwrap_or_else(|| GENESIS.to_string());
    let commitments = commitments(entry, detail, subject);
    let hash = entry_hash(
        &prev_hash,
        &canonical(seq, contact_id, entry, &commitments, &contact_prev_hash),
    );
    heads.base = Some((seq, hash.clone()));
    heads.contacts.insert(contact_id, hash.clone());
    Chained {
        link: Link {
            seq,
            prev_hash,
            contact_prev_hash,
            hash,
        },
        commitments,
    }
}

/// Links a batch of appends in order: each entry's stored detail text and its chain.
pub fn link_batch(
    heads: &mut Heads,
    rows: &[(i64, &LedgerEntry)],
    subjects: &HashMap<i64, Subject>,
) -> Vec<(Option<String>, Chained)> {
    rows.iter()
        .map(|(id, e)| {
            let detail = e.detail.as_ref().map(|d| d.to_string());
            let subject = subjects.get(id).cloned().unwrap_or_default();
            let chained = link(heads, *id, e, detail.as_deref(), &subject);
            (detail, chained)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{LedgerEvent, from_unix};

    fn entry(event: &str, at: i64) -> LedgerEntry {
        LedgerEntry {
            event: LedgerEvent::parse(event).unwrap(),
            at: from_unix(at),
            campaign: Some("spring".into()),
            ip: Some("192.0.2.1".into()),
            user_agent: Some("Firefox".into()),
            policy_version: "p1".into(),
            ..Default::default()
        }
    }

    fn subject() -> Subject {
        Subject {
            salt: Some(vec![7; SALT_LEN]),
            address: Some("ann@example.com".into()),
        }
    }

    #[test]
    fn each_entry_continues_both_chains() {
        let mut heads = Heads::default();
        let a = link(&mut heads, 1, &entry("imported", 10), None, &subject());
        let b = link(&mut heads, 2, &entry("imported", 11), None, &subject());
        let c = link(&mut heads, 1, &entry("confirmed", 12), None, &subject());
        assert_eq!((a.link.seq, b.link.seq, c.link.seq), (1, 2, 3));
        assert_eq!(a.link.prev_hash, GENESIS);
        assert_eq!(a.link.contact_prev_hash, GENESIS);
        assert_eq!(b.link.prev_hash, a.link.hash);
        assert_eq!(b.link.contact_prev_hash, GENESIS);
        assert_eq!(c.link.prev_hash, b.link.hash);
        assert_eq!(c.link.contact_prev_hash, a.link.hash);
    }

    #[test]
    fn any_changed_field_changes_the_hash() {
        let base = entry("confirmed", 12);
        let hash = |e: &LedgerEntry, id: i64, seq: i64| {
            let c = commitments(e, Some("{}"), &subject());
            entry_hash(GENESIS, &canonical(seq, id, e, &c, GENESIS))
        };
        let reference = hash(&base, 1, 1);
        let changed: Vec<(&str, LedgerEntry)> = vec![
            (
                "event",
                LedgerEntry {
                    event: LedgerEvent::Left,
                    ..base.clone()
                },
            ),
            (
                "time",
                LedgerEntry {
                    at: from_unix(13),
                    ..base.clone()
                },
            ),
            (
                "campaign",
                LedgerEntry {
                    campaign: None,
                    ..base.clone()
                },
            ),
            (
                "ip",
                LedgerEntry {
                    ip: Some("192.0.2.2".into()),
                    ..base.clone()
                },
            ),
            (
                "user agent",
                LedgerEntry {
                    user_agent: None,
                    ..base.clone()
                },
            ),
            (
                "suspect",
                LedgerEntry {
                    suspect: true,
                    ..base.clone()
                },
            ),
            (
                "policy",
                LedgerEntry {
                    policy_version: "p2".into(),
                    ..base.clone()
                },
            ),
            (
                "privacy",
                LedgerEntry {
                    privacy_version: Some("v2".into()),
                    ..base.clone()
                },
            ),
        ];
        for (what, e) in &changed {
            assert_ne!(hash(e, 1, 1), reference, "{what}");
        }
        assert_ne!(hash(&base, 2, 1), reference, "contact");
        assert_ne!(hash(&base, 1, 2), reference, "position");
    }

    #[test]
    fn lengths_keep_adjacent_fields_apart() {
        // "ab" + "c" and "a" + "bc" must not read the same.
        let a = LedgerEntry {
            campaign: Some("ab".into()),
            wave: Some("c".into()),
            ..entry("viewed", 1)
        };
        let b = LedgerEntry {
            campaign: Some("a".into()),
            wave: Some("bc".into()),
            ..entry("viewed", 1)
        };
        let c = Commitments::default();
        assert_ne!(
            canonical(1, 1, &a, &c, GENESIS),
            canonical(1, 1, &b, &c, GENESIS)
        );
    }

    #[test]
    fn commitments_need_the_salt() {
        let e = entry("viewed", 1);
        let with = commitments(&e, Some("{\"a\":1}"), &subject());
        let other = commitments(
            &e,
            Some("{\"a\":1}"),
            &Subject {
                salt: Some(vec![8; SALT_LEN]),
                ..subject()
            },
        );
        let without = commitments(&e, Some("{\"a\":1}"), &Subject::default());
        assert!(with.ip.is_some() && with.address.is_some() && with.detail.is_some());
        assert_ne!(with.ip, other.ip, "another salt, another commitment");
        assert_ne!(
            with.ip.as_deref(),
            Some(hex::encode(Sha256::digest(b"192.0.2.1")).as_str())
        );
        assert_eq!(without, Commitments::default());
        let erased = commitments(
            &entry("erased", 2),
            Some("{\"reason\":\"x\"}"),
            &Subject::default(),
        );
        assert!(
            erased.detail.is_some(),
            "the erasure's reason stays checkable"
        );
    }
}
