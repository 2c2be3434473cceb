//! The deletion queue and erasure.

use super::StoredContact;
use crate::domain::Instant;

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
