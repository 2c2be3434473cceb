//! The deletion queue and erasure.

use super::{LedgerEntry, StoredContact};
use crate::domain::{Instant, LedgerEvent};

/// A contact due for erasure, with why and since when it was queued.
#[derive(Debug, Clone)]
pub struct Due {
    pub contact: StoredContact,
    pub reason: String,
    pub queued_at: Instant,
}

/// What to erase: the contact, its tombstone key, the reason.
pub struct Erasure {
    pub contact_id: i64,
    /// For the `contact.purged` webhook: the shop erases by its own id if the import
    /// gave one, else by the address.
    pub public_id: String,
    pub email: String,
    pub external_id: Option<String>,
    pub tombstone: Vec<u8>,
    pub reason: String,
    pub policy_version: String,
}

impl Erasure {
    /// The erasure's own ledger entry: chained with the contact's salt, which then goes,
    /// so the chain still verifies from commitments that lead back to no one.
    pub fn ledger_entry(&self, now: Instant) -> (i64, LedgerEntry) {
        let entry = LedgerEntry {
            event: LedgerEvent::Erased,
            at: now,
            policy_version: self.policy_version.clone(),
            detail: Some(serde_json::json!({ "reason": self.reason })),
            ..Default::default()
        };
        (self.contact_id, entry)
    }
}
