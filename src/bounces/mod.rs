//! Bounces and complaints that arrive after the SMTP conversation: a relay accepts every
//! message with 250 and reports later, by mail to the return path or by webhook.
//!
//! | module | does |
//! |---|---|
//! | [`verp`] | the return path per message, `bounce+TOKEN@domain`: the token is the random part of the Message-ID, nothing else |
//! | [`report`] | a DSN (RFC 3464) or an ARF complaint (RFC 5965) read with a MIME parser into late events and the keys that tie them to a delivery |
//! | [`rule`] | what each late event does: hard bounce, soft bounce, complaint (pure, table-tested) |
//! | [`mailbox`] | where reports are read: `imaps://`, `imap+starttls://` or `maildir://`; processed ones moved to a folder |
//! | [`apply`] | one event: matched to its delivery, decided by [`rule`], written once however often it comes |
//! | [`fetch`] | `bounces fetch`: one pass over the mailbox |
//! | [`providers`] | the webhooks of Amazon SES (via SNS), Postmark, Mailgun and SendGrid, each with its own signature check |

pub mod apply;
pub mod fetch;
pub mod imap;
pub mod mailbox;
pub mod maildir;
pub mod providers;
pub mod report;
pub mod rule;
pub mod verp;

use crate::domain::Span;
use serde::Deserialize;
use std::path::PathBuf;

/// `[bounces]` in `reconsent.toml`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BouncesConfig {
    /// `imaps://user:pass@host:993/INBOX`, `imap+starttls://user:pass@host:143/INBOX`
    /// or `maildir:///path`.
    pub mailbox: Option<String>,
    /// The return path's domain: messages go out with `bounce+TOKEN@DOMAIN` as the
    /// envelope sender.
    pub domain: Option<String>,
    /// The whole return path, when its local part is not `bounce`: `LOCAL@DOMAIN`
    /// becomes `LOCAL+TOKEN@DOMAIN`.
    pub return_path: Option<String>,
    /// How often `serve` reads the mailbox.
    pub every: Span,
    /// Where reports that were applied go.
    pub processed_folder: String,
    /// Where reports that matched no delivery, and mail that is no report, are kept.
    pub unmatched_folder: String,
    /// A certificate (PEM) trusted for the IMAP server besides the usual authorities:
    /// for a server with a certificate of its own making.
    pub tls_ca_file: Option<PathBuf>,
    pub ses: providers::ses::SesConfig,
    pub postmark: providers::postmark::PostmarkConfig,
    pub mailgun: providers::mailgun::MailgunConfig,
    pub sendgrid: providers::sendgrid::SendgridConfig,
}

impl Default for BouncesConfig {
    fn default() -> Self {
        Self {
            mailbox: None,
            domain: None,
            return_path: None,
            every: Span::Seconds(300),
            processed_folder: "Processed".into(),
            unmatched_folder: "Unmatched".into(),
            tls_ca_file: None,
            ses: Default::default(),
            postmark: Default::default(),
            mailgun: Default::default(),
            sendgrid: Default::default(),
        }
    }
}

/// Where a late event came from: written to the ledger and counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    Mailbox,
    Ses,
    Postmark,
    Mailgun,
    Sendgrid,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Mailbox => "mailbox",
            Self::Ses => "ses",
            Self::Postmark => "postmark",
            Self::Mailgun => "mailgun",
            Self::Sendgrid => "sendgrid",
        }
    }
}
