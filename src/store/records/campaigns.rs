//! Campaigns as launched and the counts behind `campaign status` and the dashboard.

use crate::domain::{CampaignState, Instant};
use std::collections::BTreeMap;

#[derive(Debug, Clone)]
pub struct CampaignRow {
    pub id: i64,
    pub name: String,
    pub definition: String,
    pub definition_sha256: String,
    pub source_file: String,
    /// The template files as launched, as JSON `{ "path": "content" }`.
    pub templates: String,
    pub state: CampaignState,
    pub state_reason: Option<String>,
    pub launched_at: Instant,
    /// SHA-256 of the privacy policy's text as launched, when the campaign gave it.
    pub privacy_sha256: Option<String>,
}

/// What a launch stores of a campaign: its file and snapshot as they were.
pub struct LaunchedCampaign<'a> {
    pub name: &'a str,
    pub definition: &'a str,
    pub definition_sha256: &'a str,
    pub source_file: &'a str,
    /// The snapshot, JSON: the template files, the bonus code, the privacy policy's text.
    pub templates: &'a str,
    pub privacy_sha256: Option<&'a str>,
}

/// Answers recorded for a campaign: distinct contacts per (event, suspect).
#[derive(Debug, Default, Clone)]
pub struct AnswerCounts {
    pub by_event: BTreeMap<(String, bool), i64>,
    /// Contacts with any answer, suspect or not: they are not "no response".
    pub answered: i64,
    pub queued_for_deletion: i64,
    pub purged: i64,
}

/// What the confirmation rate is split by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RateBy {
    Country,
    Locale,
    /// The consent class the contact had when the campaign was launched.
    Class,
}

/// One group of the confirmation rate: contacts sent the first request, and of them
/// those who confirmed (not suspect) and those whose only confirmations were suspect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateRow {
    pub key: String,
    pub asked: i64,
    pub confirmed: i64,
    pub suspect: i64,
}

/// How many contacts fall due for erasure on a day, legal holds apart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DueDay {
    /// Days since 1970-01-01 (UTC).
    pub day: i64,
    pub due: i64,
    pub held: i64,
}

/// A campaign's counters as the triggers keep them, or as counted from the rows.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Counters {
    /// (wave, state) → deliveries.
    pub deliveries: BTreeMap<(i64, crate::domain::DeliveryState), i64>,
    /// (answer, suspect) → distinct contacts; ("answered", false): those who confirmed
    /// or left, suspect or not.
    pub answers: BTreeMap<(String, bool), i64>,
    /// (wave name, answer) → distinct contacts, not suspect.
    pub wave_answers: BTreeMap<(String, String), i64>,
    /// (hour since the epoch, answer, suspect) → confirmations and leaves.
    pub hours: BTreeMap<(i64, String, bool), i64>,
}
