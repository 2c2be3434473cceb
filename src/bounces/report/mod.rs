//! Reading a report: a delivery status notification (RFC 3464) or a complaint in the
//! Abuse Reporting Format (RFC 5965), parsed with `mail-parser`, into one late event
//! and the tokens that name the delivery it answers.
//!
//! Both are `multipart/report`: a human part, a machine part (`message/delivery-status`
//! or `message/feedback-report`, blocks of header fields) and, when the reporter keeps
//! it, the original message or its headers (`message/rfc822`, `text/rfc822-headers`).
//! The delivery is found by the VERP token of the address the report was sent to, else
//! by the original's Message-ID, whose random part is the same token.

use super::rule::{EventKind, bounce_kind};
use super::verp;
use mail_parser::{Message, MessageParser, MimeHeaders};
use sha2::{Digest, Sha256};

/// A DSN's `Action` (RFC 3464 §2.3.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Failed,
    Delayed,
    Delivered,
    Relayed,
    Expanded,
}

impl Action {
    fn parse(s: &str) -> Option<Self> {
        Some(match s.trim().to_ascii_lowercase().as_str() {
            "failed" => Self::Failed,
            "delayed" => Self::Delayed,
            "delivered" => Self::Delivered,
            "relayed" => Self::Relayed,
            "expanded" => Self::Expanded,
            _ => return None,
        })
    }
}

/// An enhanced status code (RFC 3463): class, subject, detail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Status(pub u8, pub u16, pub u16);

impl Status {
    pub fn parse(s: &str) -> Option<Self> {
        crate::send::outcome::enhanced_code(s).map(|(c, s, d)| Self(c, s, d))
    }
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}.{}", self.0, self.1, self.2)
    }
}

/// One late event as a report tells it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub kind: EventKind,
    /// The DSN's status code (`5.1.1`), or the complaint's feedback type (`abuse`).
    pub status: Option<String>,
    /// The remote server's words (`Diagnostic-Code`), or the complaining system's name.
    pub detail: Option<String>,
}

/// A report read from a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// What names this report however often it is read: its own Message-ID, else the
    /// SHA-256 of its bytes.
    pub key: String,
    pub event: Event,
    /// VERP tokens, most trusted first: from the address the report came to, then from
    /// the original's Message-ID.
    pub tokens: Vec<String>,
}

/// What a message turned out to be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reading {
    Report(Report),
    /// No bounce or complaint: mail of another kind, a delay warning, a success notice.
    NotAReport(String),
}

/// Header fields a delivering server writes with the envelope recipient: the VERP
/// address a DSN was sent to.
const RECIPIENT_FIELDS: [&str; 6] = [
    "Delivered-To",
    "X-Original-To",
    "Envelope-To",
    "X-Envelope-To",
    "X-RcptTo",
    "To",
];

pub fn read(raw: &[u8]) -> Reading {
    let parser = MessageParser::default();
    let Some(message) = parser.parse(raw) else {
        return Reading::NotAReport("not an e-mail message".into());
    };
    let key = message
        .message_id()
        .map(|id| format!("<{}>", id.trim()))
        .unwrap_or_else(|| format!("sha256:{}", hex::encode(Sha256::digest(raw))));
    let machine = machine_part(&message);
    let event = match machine {
        Some((MachinePart::Dsn, fields)) => dsn_event(&parser, fields),
        Some((MachinePart::Feedback, fields)) => feedback_event(&parser, fields),
        None => Err("no delivery-status or feedback-report part".to_string()),
    };
    let event = match event {
        Ok(e) => e,
        Err(why) => return Reading::NotAReport(why),
    };
    let mut tokens = Vec::new();
    let mut add = |t: Option<String>| {
        if let Some(t) = t
            && !tokens.contains(&t)
        {
            tokens.push(t);
        }
    };
    for field in RECIPIENT_FIELDS {
        for value in message.header_values(field) {
            for address in addresses(value) {
                add(verp::token_of(&address));
            }
        }
    }
    if let Some((_, fields)) = machine {
        for block in blocks(fields) {
            if let Some(h) = parser.parse_headers(block) {
                for name in ["Original-Mail-From", "Original-Envelope-Id"] {
                    if let Some(v) = field(&h, name) {
                        add(verp::token_of(&v));
                    }
                }
            }
        }
    }
    for original in originals(&parser, &message) {
        if let Some(id) = original.message_id() {
            add(verp::token_of_message_id(id));
        }
        if let Some(rp) = original.return_address() {
            add(verp::token_of(rp));
        }
    }
    Reading::Report(Report { key, event, tokens })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum MachinePart {
    Dsn,
    Feedback,
}

/// The machine-readable part and its bytes. `message/global-delivery-status` is the
/// internationalised DSN (RFC 6533), read the same way.
fn machine_part<'a>(message: &'a Message<'a>) -> Option<(MachinePart, &'a [u8])> {
    message.parts.iter().find_map(|part| {
        let ct = part.content_type()?;
        if !ct.ctype().eq_ignore_ascii_case("message") {
            return None;
        }
        let kind = match ct.subtype()?.to_ascii_lowercase().as_str() {
            "delivery-status" | "global-delivery-status" => MachinePart::Dsn,
            "feedback-report" => MachinePart::Feedback,
            _ => return None,
        };
        Some((kind, part.contents()))
    })
}

/// The field groups of a machine part, separated by blank lines: the per-message group
/// first, then one per recipient (RFC 3464 §2.1).
fn blocks(body: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut i = 0;
    while i < body.len() {
        // A line that is empty, or holds only white space, ends a group.
        if body[i] == b'\n' {
            let mut j = i + 1;
            while j < body.len() && matches!(body[j], b' ' | b'\t' | b'\r') {
                j += 1;
            }
            if j >= body.len() || body[j] == b'\n' {
                if body[start..i].iter().any(|b| !b.is_ascii_whitespace()) {
                    out.push(&body[start..=i]);
                }
                start = (j + 1).min(body.len());
                i = start;
                continue;
            }
        }
        i += 1;
    }
    if start < body.len() && body[start..].iter().any(|b| !b.is_ascii_whitespace()) {
        out.push(&body[start..]);
    }
    out
}

/// A field's value with its folding undone.
fn field(h: &Message<'_>, name: &str) -> Option<String> {
    let v = match h.header(name)? {
        mail_parser::HeaderValue::Text(t) => t.to_string(),
        _ => h.header_raw(name)?.to_string(),
    };
    let v = v.split_whitespace().collect::<Vec<_>>().join(" ");
    (!v.is_empty()).then_some(v)
}

/// A typed field (`rfc822; jan@example.com`, `smtp; 550 5.1.1 …`) without its type.
fn untyped(v: &str) -> &str {
    v.split_once(';').map_or(v, |(_, rest)| rest).trim()
}

/// The most serious of the recipients' outcomes: a DSN answering a VERP message names
/// one recipient, but a relay may list several.
fn dsn_event(parser: &MessageParser, body: &[u8]) -> Result<Event, String> {
    let mut found: Option<Event> = None;
    let mut seen_recipient = false;
    for block in blocks(body).into_iter().skip(1) {
        let Some(h) = parser.parse_headers(block) else {
            continue;
        };
        let Some(action) = field(&h, "Action") else {
            continue;
        };
        seen_recipient = true;
        let Some(action) = Action::parse(&action) else {
            continue;
        };
        let status = field(&h, "Status").and_then(|s| Status::parse(&s));
        let Some(kind) = bounce_kind(action, status) else {
            continue;
        };
        let event = Event {
            kind,
            status: status.map(|s| s.to_string()),
            detail: field(&h, "Diagnostic-Code").map(|d| untyped(&d).to_string()),
        };
        let worse = found
            .as_ref()
            .is_none_or(|f| f.kind == EventKind::SoftBounce && kind == EventKind::HardBounce);
        if worse {
            found = Some(event);
        }
    }
    match found {
        Some(e) => Ok(e),
        None if seen_recipient => {
            Err("a delivery status notification of no failure (delayed or delivered)".into())
        }
        None => Err("a delivery status notification naming no recipient".into()),
    }
}

/// RFC 5965 §3.1: `abuse`, `fraud`, `virus` and `other` are complaints; `not-spam` and
/// `auth-failure` (RFC 6591) are not.
fn feedback_event(parser: &MessageParser, body: &[u8]) -> Result<Event, String> {
    let h = blocks(body)
        .first()
        .and_then(|b| parser.parse_headers(*b))
        .ok_or("an empty feedback report")?;
    let kind = field(&h, "Feedback-Type").ok_or("a feedback report without Feedback-Type")?;
    let kind = kind.to_ascii_lowercase();
    if !matches!(kind.as_str(), "abuse" | "fraud" | "virus" | "other") {
        return Err(format!("a feedback report of type {kind}, not a complaint"));
    }
    Ok(Event {
        kind: EventKind::Complaint,
        status: Some(kind),
        detail: field(&h, "User-Agent").or_else(|| field(&h, "Reporting-MTA")),
    })
}

/// The original message a report carries: whole, or its headers only.
fn originals<'a>(parser: &MessageParser, message: &'a Message<'a>) -> Vec<Message<'a>> {
    let mut out = Vec::new();
    for part in &message.parts {
        if let Some(m) = part.message() {
            out.push(m.clone());
            continue;
        }
        let Some(ct) = part.content_type() else {
            continue;
        };
        if ct.ctype().eq_ignore_ascii_case("text")
            && ct
                .subtype()
                .is_some_and(|s| s.eq_ignore_ascii_case("rfc822-headers"))
            && let Some(h) = parser.parse_headers(part.contents())
        {
            out.push(h);
        }
    }
    out
}

/// The addresses a header holds, whatever the parser made of it.
fn addresses(value: &mail_parser::HeaderValue<'_>) -> Vec<String> {
    match value {
        mail_parser::HeaderValue::Address(a) => a
            .iter()
            .filter_map(|a| a.address().map(str::to_string))
            .collect(),
        mail_parser::HeaderValue::Text(t) => vec![t.to_string()],
        mail_parser::HeaderValue::TextList(l) => l.iter().map(|t| t.to_string()).collect(),
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests;
