//! The consent ledger as proof: a hash chain that shows whether any entry was changed,
//! removed or reordered after it was written, and checks it (`evidence verify`).
//!
//! | module | what it does |
//! |---|---|
//! | [`chain`] | the canonical bytes of an entry, its hash, the salted commitments for personal fields |
//! | [`verify`] | walks stored entries in order and names the first that does not match |
//! | [`record`] | one ledger entry as an ISO/IEC TS 27560 consent record (`docs/consent-record.schema.json`), or a CSV row |
//! | [`export`] | `evidence export` and `evidence EMAIL --format`: records as JSON Lines or CSV, up to the head taken at the start |
//! | [`show`] | `evidence --show`: e-mails and pages rendered again from the launched snapshot, checked against the ledger |
//! | [`shown`] | the hashes of what a person was shown: the e-mail's content, a page's bytes |
//!
//! The store only reads the chain's heads inside its write transaction and appends
//! what [`chain::link`] computed, so every backend chains the same way.

pub mod chain;
pub mod export;
pub mod record;
pub mod show;
pub mod shown;
pub mod verify;

use crate::store::Store;
use anyhow::Result;
use verify::{Broken, Verified, Verifier};

/// Entries read per page while walking the whole base.
const PAGE: i64 = 5_000;

/// What checking the chain found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Verified(Verified),
    Broken(Broken),
    /// Every entry verifies, but the head recorded earlier is not among them: entries
    /// after it were removed, or the chain was rewritten.
    HeadNotFound {
        head: String,
        verified: Verified,
    },
}

impl Verdict {
    pub fn ok(&self) -> bool {
        matches!(self, Verdict::Verified(_))
    }

    fn of(v: Verifier, head: Option<&str>) -> Self {
        let verified = v.finish();
        match head {
            Some(h) if !verified.head_found => Verdict::HeadNotFound {
                head: h.trim().to_string(),
                verified,
            },
            _ => Verdict::Verified(verified),
        }
    }
}

/// Checks the whole base's chain, and that `head` (recorded earlier) is in it.
pub async fn verify_base(store: &Store, head: Option<&str>) -> Result<Verdict> {
    let mut v = Verifier::new(true, head);
    let mut after = 0;
    loop {
        let page = store.chain_page(after, PAGE).await?;
        let Some(last) = page.last() else { break };
        after = last.id;
        for row in &page {
            if let Err(broken) = v.check(row) {
                return Ok(Verdict::Broken(broken));
            }
        }
    }
    Ok(Verdict::of(v, head))
}

/// Checks one contact's chain (and that `head`, if given, is one of its entries).
pub async fn verify_contact(store: &Store, contact_id: i64, head: Option<&str>) -> Result<Verdict> {
    let mut v = Verifier::new(false, head);
    for row in store.chain_of(contact_id).await? {
        if let Err(broken) = v.check(&row) {
            return Ok(Verdict::Broken(broken));
        }
    }
    Ok(Verdict::of(v, head))
}
