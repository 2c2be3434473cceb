//! Consent records for a regulator or an auditor: one per ledger entry, with the fields
//! of ISO/IEC TS 27560's consent record (record and subject ids, controller, purpose,
//! channel, legal basis, event, time, method, notice, privacy policy, proof), as JSON
//! (`docs/consent-record.schema.json`) or as a CSV row.

use super::verify::StoredEntry;
use crate::campaign::Campaign;
use crate::domain::{LedgerEvent, Locale};
use crate::store::ChainHead;
use serde::Serialize;

/// The schema a record follows, named in every record.
pub const SCHEMA: &str = "https://reconsent.example/schemas/consent-record/1";

/// The lawful basis of every record: the engine asks for, and records, consent.
pub const LEGAL_BASIS: &str = "GDPR Art. 6(1)(a) consent";

/// What an entry says about the consent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Consent facts brought in from the shop's own records.
    Imported,
    /// The request was sent; nothing decided yet.
    Requested,
    /// The notice (the request page) was shown.
    NoticeShown,
    Given,
    Withdrawn,
    /// The thank-you after consent was sent.
    Acknowledged,
    /// The person's data was erased; the record keeps no personal data.
    Erased,
    Other,
}

/// How the event came about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    /// A button on the request page (a POST; opening a link decides nothing).
    ButtonOnPage,
    /// RFC 8058 one-click unsubscribe from the mail client.
    OneClick,
    Import,
    Email,
    PageView,
    Erasure,
    Other,
}

/// The status and method an event stands for.
pub fn classify(event: &str) -> (Status, Method) {
    match event {
        "imported" => (Status::Imported, Method::Import),
        "requested" => (Status::Requested, Method::Email),
        "viewed" => (Status::NoticeShown, Method::PageView),
        "confirmed" => (Status::Given, Method::ButtonOnPage),
        "left" => (Status::Withdrawn, Method::ButtonOnPage),
        "withdrawn" => (Status::Withdrawn, Method::OneClick),
        "thanked" => (Status::Acknowledged, Method::Email),
        "erased" => (Status::Erased, Method::Erasure),
        _ => (Status::Other, Method::Other),
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Controller {
    pub name: String,
    pub legal_entity: String,
    pub address: String,
    pub contact: String,
    pub email: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Purpose {
    /// As the person was shown it, in their language.
    pub text: String,
    pub frequency: String,
    pub language: String,
}

/// What the person was told: the e-mail and the page, by hash.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Notice {
    /// The campaign whose snapshot holds the texts.
    pub campaign: String,
    pub wave: Option<String>,
    pub email_sha256: Option<String>,
    pub page_sha256: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PrivacyPolicy {
    pub url: Option<String>,
    pub version: Option<String>,
    pub sha256: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Chain {
    /// The entry's position in the whole base's chain.
    pub seq: Option<i64>,
    pub hash: Option<String>,
    pub prev_hash: Option<String>,
    pub contact_prev_hash: Option<String>,
}

/// The chain's head when the export was made: `evidence verify --head` proves later
/// that no exported entry changed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ExportHead {
    pub hash: Option<String>,
    pub entries: i64,
    pub at: Option<String>,
}

impl ExportHead {
    pub fn of(head: Option<&ChainHead>) -> Self {
        Self {
            hash: head.map(|h| h.head.clone()),
            entries: head.map_or(0, |h| h.entries),
            at: head.map(|h| h.at.to_rfc3339()),
        }
    }
}

/// One consent record (ISO/IEC TS 27560).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ConsentRecord {
    pub schema: &'static str,
    pub record_id: String,
    /// Opaque: the salted commitment to the address, the same for all of a contact's
    /// records, leading back to no one once the contact is erased.
    pub subject_id: Option<String>,
    pub controller: Option<Controller>,
    pub purpose: Option<Purpose>,
    pub channel: &'static str,
    pub legal_basis: &'static str,
    pub event: String,
    pub status: Status,
    pub method: Method,
    pub time: String,
    pub notice: Option<Notice>,
    pub privacy_policy: PrivacyPolicy,
    pub message_id: Option<String>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    /// Too soon after delivery, or a known mail scanner: kept apart in statistics.
    pub suspect: bool,
    /// The policy (classification rules) in force when the entry was written.
    pub policy_version: String,
    pub chain: Chain,
    pub export_head: ExportHead,
}

/// The record of one stored entry; `campaign` is the entry's campaign as launched.
pub fn record(s: &StoredEntry, campaign: Option<&Campaign>, head: &ExportHead) -> ConsentRecord {
    let e = &s.entry;
    let (status, method) = classify(e.event.as_str());
    let detail_str = |key: &str| {
        e.detail
            .as_ref()
            .and_then(|d| d[key].as_str())
            .map(str::to_string)
    };
    let locale = detail_str("locale").and_then(|l| Locale::parse(&l).ok());
    let controller = campaign.map(|c| Controller {
        name: c.sender.name.clone(),
        legal_entity: c.sender.legal_entity.clone(),
        address: c.sender.address.clone(),
        contact: c
            .sender
            .contact
            .get(&c.default_locale, &c.default_locale)
            .to_string(),
        email: c.sender.email.as_str().to_string(),
    });
    let purpose = campaign.map(|c| {
        let l = locale.clone().unwrap_or_else(|| c.default_locale.clone());
        Purpose {
            text: c.purpose.get(&l, &c.default_locale).to_string(),
            frequency: c.frequency.get(&l, &c.default_locale).to_string(),
            language: l.to_string(),
        }
    });
    let is_email = matches!(e.event, LedgerEvent::Requested | LedgerEvent::Thanked);
    let notice = e.campaign.as_ref().map(|name| Notice {
        campaign: name.clone(),
        wave: e.wave.clone(),
        email_sha256: if is_email {
            e.content_sha256.clone()
        } else {
            detail_str("email_sha256")
        },
        page_sha256: if is_email {
            None
        } else {
            e.content_sha256.clone()
        },
    });
    let link = s.link.as_ref();
    ConsentRecord {
        schema: SCHEMA,
        record_id: format!("ledger-{}", s.id),
        subject_id: s.commitments.address.clone(),
        controller,
        purpose,
        channel: "email",
        legal_basis: LEGAL_BASIS,
        event: e.event.as_str().to_string(),
        status,
        method,
        time: e.at.to_rfc3339(),
        notice,
        privacy_policy: PrivacyPolicy {
            url: campaign.map(|c| c.privacy_policy_url.clone()),
            version: e.privacy_version.clone(),
            sha256: e.privacy_sha256.clone(),
        },
        message_id: e.message_id.clone(),
        ip: e.ip.clone(),
        user_agent: e.user_agent.clone(),
        suspect: e.suspect,
        policy_version: e.policy_version.clone(),
        chain: Chain {
            seq: link.map(|l| l.seq),
            hash: link.map(|l| l.hash.clone()),
            prev_hash: link.map(|l| l.prev_hash.clone()),
            contact_prev_hash: link.map(|l| l.contact_prev_hash.clone()),
        },
        export_head: head.clone(),
    }
}

/// The CSV columns, in order: nested fields joined with `.`.
pub const CSV_COLUMNS: [&str; 34] = [
    "schema",
    "record_id",
    "subject_id",
    "controller.name",
    "controller.legal_entity",
    "controller.address",
    "controller.contact",
    "controller.email",
    "purpose.text",
    "purpose.frequency",
    "purpose.language",
    "channel",
    "legal_basis",
    "event",
    "status",
    "method",
    "time",
    "notice.campaign",
    "notice.wave",
    "notice.email_sha256",
    "notice.page_sha256",
    "privacy_policy.url",
    "privacy_policy.version",
    "privacy_policy.sha256",
    "message_id",
    "ip",
    "user_agent",
    "suspect",
    "policy_version",
    "chain.seq",
    "chain.hash",
    "chain.prev_hash",
    "export_head.hash",
    "export_head.entries",
];

/// A record as a CSV row in [`CSV_COLUMNS`] order: its JSON form, flattened.
pub fn csv_row(r: &ConsentRecord) -> Vec<String> {
    let json = serde_json::to_value(r).unwrap_or_default();
    CSV_COLUMNS
        .iter()
        .map(|path| {
            let value = path.split('.').fold(&json, |v, key| {
                v.get(key).unwrap_or(&serde_json::Value::Null)
            });
            match value {
                serde_json::Value::Null => String::new(),
                serde_json::Value::String(s) => s.clone(),
                other => other.to_string(),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_event_has_its_status_and_method() {
        let table = [
            ("imported", Status::Imported, Method::Import),
            ("requested", Status::Requested, Method::Email),
            ("viewed", Status::NoticeShown, Method::PageView),
            ("confirmed", Status::Given, Method::ButtonOnPage),
            ("left", Status::Withdrawn, Method::ButtonOnPage),
            ("withdrawn", Status::Withdrawn, Method::OneClick),
            ("thanked", Status::Acknowledged, Method::Email),
            ("erased", Status::Erased, Method::Erasure),
            ("bounced", Status::Other, Method::Other),
        ];
        for (event, status, method) in table {
            assert_eq!(classify(event), (status, method), "{event}");
        }
    }
}
