//! `bounces fetch`: one pass over the bounce mailbox. Each message is read, its event
//! written (once: see [`apply`](super::apply)), and only then moved away — to the
//! processed folder when it answered a delivery, to the unmatched folder when it
//! answered none or was no report. Nothing is deleted.

use super::Source;
use super::apply::{Applier, Outcome};
use super::mailbox::{Mailbox, MailboxSpec};
use super::report::{self, Reading};
use super::rule::EventKind;
use crate::config::Config;
use crate::domain::Instant;
use crate::store::Store;
use anyhow::{Context, Result};

/// What one pass did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct FetchReport {
    /// Events written now, by kind.
    pub hard_bounces: u64,
    pub soft_bounces: u64,
    pub complaints: u64,
    /// Reports whose event had been written before (read again after a stop).
    pub already_applied: u64,
    /// Reports that name no delivery of this base: kept in the unmatched folder.
    pub unmatched: u64,
    /// Mail that is no bounce or complaint: kept in the unmatched folder.
    pub skipped: u64,
    pub messages: Vec<FetchedMessage>,
}

impl FetchReport {
    pub fn applied(&self) -> u64 {
        self.hard_bounces + self.soft_bounces + self.complaints
    }
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FetchedMessage {
    /// The mailbox's name for it: an IMAP UID, or a Maildir file.
    pub id: String,
    /// `hard_bounce`, `soft_bounce`, `complaint`, `already_applied`, `unmatched` or `skipped`.
    pub outcome: &'static str,
    /// The report's status (`5.1.1`, `abuse`), or why it was skipped.
    pub note: Option<String>,
    /// Where it was moved.
    pub folder: String,
}

/// Reads the configured mailbox once.
pub async fn fetch(store: &Store, config: &Config, now: Instant) -> Result<FetchReport> {
    let spec = config
        .bounces
        .mailbox
        .as_deref()
        .context("no bounce mailbox is configured: set [bounces] mailbox in reconsent.toml (or RECONSENT__BOUNCES__MAILBOX), e.g. imaps://user:pass@mail.example:993/INBOX")?;
    let spec = MailboxSpec::parse(spec)?;
    let mut mailbox = Mailbox::open(&spec, &config.bounces).await?;
    let result = pass(&mut mailbox, store, config, now).await;
    mailbox.close().await;
    result
}

async fn pass(
    mailbox: &mut Mailbox,
    store: &Store,
    config: &Config,
    now: Instant,
) -> Result<FetchReport> {
    let mut applier = Applier::new(store, config);
    let mut r = FetchReport::default();
    let (processed, unmatched) = (
        &config.bounces.processed_folder,
        &config.bounces.unmatched_folder,
    );
    for id in mailbox.list().await? {
        let Some(raw) = mailbox.read(&id).await? else {
            continue;
        };
        let (outcome, note, folder) = match report::read(&raw) {
            Reading::NotAReport(why) => {
                r.skipped += 1;
                ("skipped", Some(why), unmatched)
            }
            Reading::Report(rep) => {
                let done = applier
                    .apply(Source::Mailbox, &rep.key, &rep.tokens, &rep.event, now)
                    .await?;
                let note = rep.event.status.clone();
                match done {
                    Outcome::Applied(kind) => {
                        *match kind {
                            EventKind::HardBounce => &mut r.hard_bounces,
                            EventKind::SoftBounce => &mut r.soft_bounces,
                            EventKind::Complaint => &mut r.complaints,
                        } += 1;
                        (kind.as_str(), note, processed)
                    }
                    Outcome::Already(_) => {
                        r.already_applied += 1;
                        ("already_applied", note, processed)
                    }
                    Outcome::Unmatched => {
                        r.unmatched += 1;
                        ("unmatched", note, unmatched)
                    }
                }
            }
        };
        mailbox.move_to(&id, folder).await?;
        r.messages.push(FetchedMessage {
            id,
            outcome,
            note,
            folder: folder.clone(),
        });
    }
    Ok(r)
}
