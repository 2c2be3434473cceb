//! Ledger rows read back with their chain, the same for every backend: the columns and
//! their decoding, generic over the backend's row type.

use super::LedgerEntry;
use crate::domain::{LedgerEvent, from_unix};
use crate::ledger::chain::{Commitments, Link, Subject};
use crate::ledger::verify::StoredEntry;
use anyhow::Result;
use sqlx::{ColumnIndex, Decode, Row, Type};

/// The columns of a stored entry with its chain, its contact's salt and address key.
pub(super) const ENTRY_COLUMNS: &str = "l.id, l.contact_id, l.event, l.at, l.campaign, l.wave, l.ip, \
    l.user_agent, l.content_sha256, l.privacy_sha256, l.privacy_version, l.message_id, \
    l.policy_version, l.suspect, l.detail, l.seq, l.prev_hash, l.contact_prev_hash, l.hash, \
    l.address_commit, l.ip_commit, l.user_agent_commit, l.detail_commit, \
    s.salt AS subject_salt, c.email_key AS subject_address \
    FROM ledger l LEFT JOIN ledger_salts s ON s.contact_id = l.contact_id \
    LEFT JOIN contacts c ON c.id = l.contact_id";

/// A ledger entry from a row that has the `ledger` columns by their names.
pub(super) fn entry_from_row<'r, R>(r: &'r R) -> Result<LedgerEntry>
where
    R: Row,
    &'static str: ColumnIndex<R>,
    i64: Decode<'r, R::Database> + Type<R::Database>,
    bool: Decode<'r, R::Database> + Type<R::Database>,
    String: Decode<'r, R::Database> + Type<R::Database>,
{
    let detail: Option<String> = r.try_get("detail")?;
    Ok(LedgerEntry {
        event: {
            let e: String = r.try_get("event")?;
            LedgerEvent::parse(&e)
                .ok_or_else(|| anyhow::anyhow!("a ledger entry has the unknown event '{e}'"))?
        },
        at: from_unix(r.try_get("at")?),
        campaign: r.try_get("campaign")?,
        wave: r.try_get("wave")?,
        ip: r.try_get("ip")?,
        user_agent: r.try_get("user_agent")?,
        content_sha256: r.try_get("content_sha256")?,
        privacy_sha256: r.try_get("privacy_sha256")?,
        privacy_version: r.try_get("privacy_version")?,
        message_id: r.try_get("message_id")?,
        policy_version: r.try_get("policy_version")?,
        suspect: r.try_get("suspect")?,
        detail: detail.as_deref().and_then(|d| serde_json::from_str(d).ok()),
    })
}

/// A row of [`ENTRY_COLUMNS`].
pub(super) fn stored_entry<'r, R>(r: &'r R) -> Result<StoredEntry>
where
    R: Row,
    &'static str: ColumnIndex<R>,
    i64: Decode<'r, R::Database> + Type<R::Database>,
    bool: Decode<'r, R::Database> + Type<R::Database>,
    String: Decode<'r, R::Database> + Type<R::Database>,
    Vec<u8>: Decode<'r, R::Database> + Type<R::Database>,
{
    let seq: Option<i64> = r.try_get("seq")?;
    let link = match (seq, r.try_get::<Option<String>, _>("hash")?) {
        (Some(seq), Some(hash)) => Some(Link {
            seq,
            prev_hash: r
                .try_get::<Option<String>, _>("prev_hash")?
                .unwrap_or_default(),
            contact_prev_hash: r
                .try_get::<Option<String>, _>("contact_prev_hash")?
                .unwrap_or_default(),
            hash,
        }),
        _ => None,
    };
    Ok(StoredEntry {
        id: r.try_get("id")?,
        contact_id: r.try_get("contact_id")?,
        entry: entry_from_row(r)?,
        detail_text: r.try_get("detail")?,
        link,
        commitments: Commitments {
            address: r.try_get("address_commit")?,
            ip: r.try_get("ip_commit")?,
            user_agent: r.try_get("user_agent_commit")?,
            detail: r.try_get("detail_commit")?,
        },
        subject: Subject {
            salt: r.try_get("subject_salt")?,
            address: r.try_get("subject_address")?,
        },
    })
}
