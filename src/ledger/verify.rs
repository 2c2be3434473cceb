//! Checking the chain: entries are fed in the order they were written (row id), each
//! is recomputed from what is stored, and the first that does not match is named.

use super::chain::{self, Commitments, GENESIS, Link, Subject};
use crate::domain::Instant;
use crate::store::LedgerEntry;
use std::collections::HashMap;
use std::fmt;

/// A ledger row as stored, with what the chain needs to check it.
#[derive(Debug, Clone)]
pub struct StoredEntry {
    /// The row's number, as `evidence` and `verify` name it.
    pub id: i64,
    pub contact_id: i64,
    pub entry: LedgerEntry,
    /// The detail exactly as stored (its commitment is over these bytes).
    pub detail_text: Option<String>,
    /// `None` for a row the chain never reached.
    pub link: Option<Link>,
    pub commitments: Commitments,
    /// The contact's salt and address key, while it is not erased.
    pub subject: Subject,
}

/// Why an entry does not verify.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    Unchained,
    /// Its position in the chain is not the next one: an entry before it was removed,
    /// or entries were reordered.
    OutOfPlace {
        expected: i64,
        found: i64,
    },
    /// The hash it names as the previous entry's is not that entry's hash.
    BrokenLink,
    /// The hash it names as the contact's previous entry's is not that entry's hash.
    BrokenContactLink,
    /// Its stored content no longer gives its hash.
    Altered,
    /// A personal field no longer matches its commitment.
    PersonalField(&'static str),
}

/// The first entry that does not verify, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Broken {
    pub id: i64,
    pub event: String,
    pub at: Instant,
    pub campaign: Option<String>,
    pub problem: Problem,
}

impl fmt::Display for Broken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "entry #{} ({}, {}",
            self.id,
            self.event,
            self.at.format("%Y-%m-%d %H:%M:%S UTC")
        )?;
        if let Some(c) = &self.campaign {
            write!(f, ", campaign {c}")?;
        }
        f.write_str(") ")?;
        match &self.problem {
            Problem::Unchained => f.write_str("carries no chain hash: it was added outside reconsent"),
            Problem::OutOfPlace { expected, found } if found > expected => write!(
                f,
                "is entry {found} of the chain where entry {expected} was expected: an entry before it was removed, or entries were reordered"
            ),
            Problem::OutOfPlace { expected, found } => write!(
                f,
                "is entry {found} of the chain where entry {expected} was expected: entries were reordered or copied"
            ),
            Problem::BrokenLink => f.write_str(
                "does not follow the entry before it (the previous hash differs): an entry before it was removed, reordered or changed",
            ),
            Problem::BrokenContactLink => f.write_str(
                "does not follow the contact's previous entry: an entry of this contact was removed, reordered or changed",
            ),
            Problem::Altered => {
                f.write_str("was changed after it was written: its content no longer gives its hash")
            }
            Problem::PersonalField(field) => write!(
                f,
                "was changed after it was written: its {field} no longer matches what was recorded"
            ),
        }
    }
}

/// A chain that verified: how many entries, and the last one's hash and time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    pub entries: u64,
    pub head: Option<(String, Instant)>,
    /// Whether the `--head` asked for was found among the entries.
    pub head_found: bool,
}

/// Walks entries in row order. `whole_base`: also check positions and the base's
/// links (for one contact's entries only their own chain can be checked).
pub struct Verifier {
    whole_base: bool,
    expected_seq: i64,
    prev_hash: String,
    contacts: HashMap<i64, [u8; 32]>,
    wanted_head: Option<String>,
    verified: Verified,
}

impl Verifier {
    pub fn new(whole_base: bool, wanted_head: Option<&str>) -> Self {
        Self {
            whole_base,
            expected_seq: 1,
            prev_hash: GENESIS.to_string(),
            contacts: HashMap::new(),
            wanted_head: wanted_head.map(|h| h.trim().to_ascii_lowercase()),
            verified: Verified {
                entries: 0,
                head: None,
                head_found: false,
            },
        }
    }

    pub fn check(&mut self, row: &StoredEntry) -> Result<(), Broken> {
        let broken = |problem| Broken {
            id: row.id,
            event: row.entry.event.as_str().to_string(),
            at: row.entry.at,
            campaign: row.entry.campaign.clone(),
            problem,
        };
        let Some(link) = &row.link else {
            return Err(broken(Problem::Unchained));
        };
        if self.whole_base {
            if link.seq != self.expected_seq {
                return Err(broken(Problem::OutOfPlace {
                    expected: self.expected_seq,
                    found: link.seq,
                }));
            }
            if link.prev_hash != self.prev_hash {
                return Err(broken(Problem::BrokenLink));
            }
        }
        let contact_prev = self
            .contacts
            .get(&row.contact_id)
            .map_or_else(|| GENESIS.to_string(), hex::encode);
        if link.contact_prev_hash != contact_prev {
            return Err(broken(Problem::BrokenContactLink));
        }
        let canonical = chain::canonical(
            link.seq,
            row.contact_id,
            &row.entry,
            &row.commitments,
            &link.contact_prev_hash,
        );
        if chain::entry_hash(&link.prev_hash, &canonical) != link.hash {
            return Err(broken(Problem::Altered));
        }
        if let Some(field) = personal_mismatch(row) {
            return Err(broken(Problem::PersonalField(field)));
        }
        let mut bytes = [0u8; 32];
        if hex::decode_to_slice(&link.hash, &mut bytes).is_err() {
            return Err(broken(Problem::Altered));
        }
        self.contacts.insert(row.contact_id, bytes);
        self.expected_seq = link.seq + 1;
        self.prev_hash = link.hash.clone();
        self.verified.entries += 1;
        self.verified.head = Some((link.hash.clone(), row.entry.at));
        if self.wanted_head.as_deref() == Some(link.hash.as_str()) {
            self.verified.head_found = true;
        }
        Ok(())
    }

    pub fn finish(self) -> Verified {
        self.verified
    }
}

/// The first personal field whose value no longer matches its commitment. While the
/// contact has its salt, every stored value must match; once the salt is destroyed
/// (erasure) no value may remain, and the commitments stand alone.
fn personal_mismatch(row: &StoredEntry) -> Option<&'static str> {
    let c = &row.commitments;
    let e = &row.entry;
    let detail = row.detail_text.as_deref();
    match row.subject.salt.as_deref() {
        Some(salt) => {
            let fields: [(&'static str, &str, Option<&str>, &Option<String>); 3] = [
                ("IP address", "ip", e.ip.as_deref(), &c.ip),
                (
                    "user agent",
                    "user_agent",
                    e.user_agent.as_deref(),
                    &c.user_agent,
                ),
                (
                    "address",
                    "address",
                    row.subject.address.as_deref(),
                    &c.address,
                ),
            ];
            for (name, field, value, commitment) in fields {
                if value.map(|v| chain::commit(salt, field, v)) != *commitment {
                    return Some(name);
                }
            }
            if detail.and_then(|d| chain::commit_detail(e.event.as_str(), Some(salt), d))
                != c.detail
            {
                return Some("detail");
            }
            None
        }
        None => {
            if e.ip.is_some() {
                return Some("IP address");
            }
            if e.user_agent.is_some() {
                return Some("user agent");
            }
            let detail_ok = match detail {
                None => true,
                Some(d) => {
                    !chain::detail_is_personal(e.event.as_str())
                        && chain::commit_detail(e.event.as_str(), None, d) == c.detail
                }
            };
            (!detail_ok).then_some("detail")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{LedgerEvent, from_unix};
    use crate::ledger::chain::{Heads, SALT_LEN, link};

    fn subject(n: u8) -> Subject {
        Subject {
            salt: Some(vec![n; SALT_LEN]),
            address: Some(format!("c{n}@example.com")),
        }
    }

    /// Six entries over two contacts, as the store would hold them.
    fn ledger() -> Vec<StoredEntry> {
        let mut heads = Heads::default();
        let events = [
            (1, "imported"),
            (2, "imported"),
            (1, "requested"),
            (1, "viewed"),
            (2, "left"),
            (1, "confirmed"),
        ];
        events
            .iter()
            .enumerate()
            .map(|(i, (contact, event))| {
                let entry = LedgerEntry {
                    event: LedgerEvent::parse(event).unwrap(),
                    at: from_unix(1_000 + i as i64),
                    ip: Some(format!("192.0.2.{i}")),
                    user_agent: Some("Firefox".into()),
                    policy_version: "p".into(),
                    ..Default::default()
                };
                let detail = format!("{{\"n\":{i}}}");
                let s = subject(*contact as u8);
                let chained = link(&mut heads, *contact, &entry, Some(&detail), &s);
                StoredEntry {
                    id: i as i64 + 1,
                    contact_id: *contact,
                    entry,
                    detail_text: Some(detail),
                    link: Some(chained.link),
                    commitments: chained.commitments,
                    subject: s,
                }
            })
            .collect()
    }

    fn verify(rows: &[StoredEntry], whole: bool) -> Result<Verified, Broken> {
        let mut v = Verifier::new(whole, None);
        for r in rows {
            v.check(r)?;
        }
        Ok(v.finish())
    }

    fn first_broken(rows: &[StoredEntry]) -> (i64, Problem) {
        let b = verify(rows, true).expect_err("must not verify");
        (b.id, b.problem)
    }

    #[test]
    fn an_untouched_ledger_verifies() {
        let rows = ledger();
        let v = verify(&rows, true).unwrap();
        assert_eq!(v.entries, 6);
        assert_eq!(v.head.unwrap().0, rows[5].link.as_ref().unwrap().hash);
        let one: Vec<_> = rows.iter().filter(|r| r.contact_id == 1).cloned().collect();
        assert_eq!(verify(&one, false).unwrap().entries, 4);
    }

    #[test]
    fn every_kind_of_tampering_names_its_entry() {
        type Tamper = fn(&mut Vec<StoredEntry>);
        let cases: Vec<(&str, Tamper, (i64, Problem))> = vec![
            (
                "event changed",
                |r| r[2].entry.event = LedgerEvent::Confirmed,
                (3, Problem::Altered),
            ),
            (
                "time changed",
                |r| r[3].entry.at = from_unix(5),
                (4, Problem::Altered),
            ),
            (
                "ip changed",
                |r| r[3].entry.ip = Some("198.51.100.1".into()),
                (4, Problem::PersonalField("IP address")),
            ),
            (
                "detail changed",
                |r| r[1].detail_text = Some("{\"n\":9}".into()),
                (2, Problem::PersonalField("detail")),
            ),
            (
                "ip blanked while not erased",
                |r| r[0].entry.ip = None,
                (1, Problem::PersonalField("IP address")),
            ),
            (
                "row removed",
                |r| {
                    r.remove(2);
                },
                (
                    4,
                    Problem::OutOfPlace {
                        expected: 3,
                        found: 4,
                    },
                ),
            ),
            (
                "rows swapped",
                |r| r.swap(2, 3),
                (
                    4,
                    Problem::OutOfPlace {
                        expected: 3,
                        found: 4,
                    },
                ),
            ),
            (
                "hash rewritten",
                |r| r[2].link.as_mut().unwrap().hash = chain::GENESIS.into(),
                (3, Problem::Altered),
            ),
            (
                "never chained",
                |r| r[4].link = None,
                (5, Problem::Unchained),
            ),
        ];
        for (what, tamper, expected) in cases {
            let mut rows = ledger();
            tamper(&mut rows);
            assert_eq!(first_broken(&rows), expected, "{what}");
        }
    }

    #[test]
    fn a_rewritten_chain_is_caught_by_the_contact_link_or_the_head() {
        // Entry 4 removed and positions renumbered: the base's chain is rebuilt, but
        // contact 1's next entry still names the removed one.
        let mut rows = ledger();
        rows.remove(3);
        let mut heads = Heads::default();
        for r in rows.iter_mut() {
            let chained = link(
                &mut heads,
                r.contact_id,
                &r.entry,
                r.detail_text.as_deref(),
                &r.subject,
            );
            r.link = Some(chained.link);
        }
        assert!(
            verify(&rows, true).is_ok(),
            "a full rewrite is consistent in itself"
        );
        let original_head = ledger()[5].link.clone().unwrap().hash;
        let mut v = Verifier::new(true, Some(&original_head));
        for r in &rows {
            v.check(r).unwrap();
        }
        assert!(
            !v.finish().head_found,
            "but the head recorded earlier is gone"
        );
    }

    #[test]
    fn an_erased_contact_verifies_from_its_commitments_alone() {
        let mut rows = ledger();
        for r in rows.iter_mut().filter(|r| r.contact_id == 2) {
            r.entry.ip = None;
            r.entry.user_agent = None;
            r.detail_text = None;
            r.subject = Subject::default();
        }
        assert_eq!(verify(&rows, true).unwrap().entries, 6);
        rows[1].entry.ip = Some("192.0.2.1".into());
        assert_eq!(
            first_broken(&rows),
            (2, Problem::PersonalField("IP address"))
        );
    }
}
