//! The bounce mailbox: where DSNs and complaints are read, one message at a time, and
//! where each goes once handled: to the processed folder, or to the unmatched one. A
//! message is moved only after its event is written, and the write counts once, so a
//! stop between the two loses nothing and applies nothing twice.

use super::imap::{ImapBox, ImapSpec, ImapTls};
use super::maildir::MaildirBox;
use anyhow::{Context, Result, bail};
use std::path::PathBuf;

/// `[bounces] mailbox`, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MailboxSpec {
    Imap(ImapSpec),
    Maildir(PathBuf),
}

impl MailboxSpec {
    pub fn parse(spec: &str) -> Result<Self> {
        if let Some(path) = spec.strip_prefix("maildir://") {
            if path.is_empty() {
                bail!(
                    "bounces.mailbox '{spec}': maildir:// needs a folder, e.g. maildir:///var/mail/bounces"
                );
            }
            return Ok(Self::Maildir(PathBuf::from(path)));
        }
        let url = url::Url::parse(spec).context(
            "bounces.mailbox is not a URL (expected imaps://user:pass@host:993/INBOX, imap+starttls://… or maildir:///path)",
        )?;
        let (tls, port) = match url.scheme() {
            "imaps" => (ImapTls::Implicit, 993),
            "imap+starttls" => (ImapTls::StartTls, 143),
            "imap" => bail!(
                "bounces.mailbox: plain imap:// would send the password in the clear; use imaps:// or imap+starttls://"
            ),
            other => bail!(
                "bounces.mailbox: unknown scheme '{other}' (use imaps, imap+starttls or maildir)"
            ),
        };
        let host = url
            .host_str()
            .filter(|h| !h.is_empty())
            .context("bounces.mailbox names no host")?
            .trim_matches(['[', ']'])
            .to_string();
        let decode = |s: &str| {
            crate::send::transport::percent_decode(s)
                .context("bounces.mailbox: bad %-escape in the user, password or folder")
        };
        let user = decode(url.username())?;
        if user.is_empty() {
            bail!("bounces.mailbox names no user (imaps://USER:PASSWORD@host/INBOX)");
        }
        let password = decode(url.password().unwrap_or(""))?;
        let folder = decode(url.path().trim_start_matches('/'))?;
        Ok(Self::Imap(ImapSpec {
            tls,
            host,
            port: url.port().unwrap_or(port),
            user,
            password,
            folder: if folder.is_empty() {
                "INBOX".into()
            } else {
                folder
            },
        }))
    }

    /// For messages: without the password.
    pub fn describe(&self) -> String {
        match self {
            Self::Imap(s) => format!("{}:{}/{}", s.host, s.port, s.folder),
            Self::Maildir(p) => format!("maildir://{}", p.display()),
        }
    }
}

/// An open mailbox.
pub enum Mailbox {
    Imap(Box<ImapBox>),
    Maildir(MaildirBox),
}

impl Mailbox {
    pub async fn open(spec: &MailboxSpec, config: &super::BouncesConfig) -> Result<Self> {
        Ok(match spec {
            MailboxSpec::Imap(s) => Self::Imap(Box::new(
                ImapBox::open(s, config.tls_ca_file.as_deref())
                    .await
                    .with_context(|| {
                        format!("cannot read the bounce mailbox {}", spec.describe())
                    })?,
            )),
            MailboxSpec::Maildir(p) => Self::Maildir(MaildirBox::open(p)?),
        })
    }

    /// The messages waiting, oldest first: ids for [`Mailbox::read`].
    pub async fn list(&mut self) -> Result<Vec<String>> {
        match self {
            Self::Imap(b) => b.list().await,
            Self::Maildir(b) => b.list(),
        }
    }

    /// `None` when the message went away since the listing (another reader took it).
    pub async fn read(&mut self, id: &str) -> Result<Option<Vec<u8>>> {
        match self {
            Self::Imap(b) => b.read(id).await,
            Self::Maildir(b) => b.read(id),
        }
    }

    pub async fn move_to(&mut self, id: &str, folder: &str) -> Result<()> {
        match self {
            Self::Imap(b) => b.move_to(id, folder).await,
            Self::Maildir(b) => b.move_to(id, folder),
        }
    }

    pub async fn close(self) {
        if let Self::Imap(b) = self {
            b.close().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mailbox_urls() {
        let imap = |tls, port, folder: &str, password: &str| {
            Ok(MailboxSpec::Imap(ImapSpec {
                tls,
                host: "mail.example".into(),
                port,
                user: "bounces@shop.example".into(),
                password: password.into(),
                folder: folder.into(),
            }))
        };
        let cases: Vec<(&str, Result<MailboxSpec, &str>)> = vec![
            (
                "imaps://bounces%40shop.example:s3cret@mail.example/INBOX",
                imap(ImapTls::Implicit, 993, "INBOX", "s3cret"),
            ),
            (
                "imap+starttls://bounces%40shop.example:a%2Bb%20c@mail.example:1143",
                imap(ImapTls::StartTls, 1143, "INBOX", "a+b c"),
            ),
            (
                "imaps://bounces%40shop.example:p@mail.example/Bounces/Relay",
                imap(ImapTls::Implicit, 993, "Bounces/Relay", "p"),
            ),
            (
                "maildir:///var/mail/bounces",
                Ok(MailboxSpec::Maildir("/var/mail/bounces".into())),
            ),
            ("maildir://", Err("needs a folder")),
            ("imap://u:p@mail.example", Err("in the clear")),
            ("pop3://u:p@mail.example", Err("unknown scheme 'pop3'")),
            ("imaps://mail.example", Err("names no user")),
            ("/var/mail", Err("not a URL")),
        ];
        for (spec, want) in cases {
            match (MailboxSpec::parse(spec), want) {
                (Ok(got), Ok(want)) => assert_eq!(got, want, "{spec}"),
                (Err(e), Err(fragment)) => {
                    assert!(format!("{e:#}").contains(fragment), "{spec}: {e:#}")
                }
                (got, want) => panic!("{spec}: {got:?} vs {want:?}"),
            }
        }
    }
}
