//! The request e-mail as sent: a rendered message put into MIME.
//!
//! - `multipart/alternative`: the plain-text part first, the HTML part last (the one a
//!   client prefers); both quoted-printable.
//! - `From` with the sender's name and `To` with the contact's, RFC 2047-encoded when
//!   not ASCII, as is the subject.
//! - `Message-ID: <TOKEN@sender-domain>` and `Date`; TOKEN is random, and the return
//!   path (VERP, see `bounces::verp`) carries it too, so a late bounce finds its delivery.
//! - `List-Unsubscribe: <https://BASE/u/TOKEN>, <mailto:SENDER?subject=unsubscribe-TOKEN>`
//!   and `List-Unsubscribe-Post: List-Unsubscribe=One-Click` (RFC 8058): mailbox
//!   providers show an unsubscribe button and require these of bulk senders.
//! - DKIM (RFC 6376), when a key is configured (see `dkim`): rsa-sha256, and
//!   ed25519-sha256 beside it with an Ed25519 key, relaxed/relaxed, signing both
//!   List-Unsubscribe headers so nobody on the way can swap the unsubscribe target.

pub use super::dkim::DkimSigner;
use super::render::Rendered;
use crate::domain::{EmailAddress, Instant};
use anyhow::{Context, Result};
use lettre::Address;
use lettre::Message;
use lettre::message::header::{ContentTransferEncoding, HeaderName, HeaderValue};
use lettre::message::{Body, Mailbox, MultiPart, SinglePart};

/// Everything a message needs besides its rendered text.
#[derive(Debug, Clone)]
pub struct Envelope<'a> {
    pub from_name: &'a str,
    pub from: &'a EmailAddress,
    pub to_name: Option<&'a str>,
    pub to: &'a EmailAddress,
    /// `{base_url}/u/{unsubscribe_token}`
    pub unsubscribe_url: &'a str,
    pub unsubscribe_token: &'a str,
    pub date: Instant,
    /// Carry the return token as Postmark metadata (`X-PM-Metadata-reconsent-token`):
    /// Postmark's webhooks report it back, and no Message-ID.
    pub postmark_metadata: bool,
}

/// A finished message: its exact bytes for sending, storing and hashing, and its
/// Message-ID for the consent ledger.
#[derive(Debug, Clone)]
pub struct Built {
    pub bytes: Vec<u8>,
    pub message_id: String,
    /// The random part of the Message-ID, for the return path.
    pub return_token: String,
}

/// The ASCII domain of an address (its comparison key holds the IDNA form).
fn domain_of(address: &EmailAddress) -> &str {
    address.key().rsplit_once('@').map_or("", |(_, d)| d)
}

fn mailbox(name: Option<&str>, address: &EmailAddress) -> Result<Mailbox> {
    let (local, _) = address.as_str().rsplit_once('@').unwrap_or(("", ""));
    // An ASCII local part with its domain in IDNA form needs no SMTPUTF8 from any server
    // on the way; a non-ASCII local part has no such form and goes as written (RFC 6532).
    let parsed = if local.is_ascii() {
        Address::new(local, domain_of(address))
    } else {
        address.as_str().parse()
    }
    .with_context(|| format!("cannot put {address} in a message header"))?;
    let name = name.map(str::trim).filter(|n| !n.is_empty()).map(|n| {
        // A name is a display phrase; line breaks in it would break the header.
        n.split_whitespace().collect::<Vec<_>>().join(" ")
    });
    Ok(Mailbox::new(name, parsed))
}

/// Both parts are quoted-printable: any text stays readable in the source, and the
/// encoding is ours, in one pass (see `qp`).
fn quoted_printable(text: &str) -> Body {
    Body::dangerous_pre_encoded(
        super::qp::encode(text),
        ContentTransferEncoding::QuotedPrintable,
    )
}

fn raw_header(name: &'static str, value: String) -> HeaderValue {
    HeaderValue::new(HeaderName::new_from_ascii_str(name), value)
}

/// Builds (and signs, with a key) the message one contact gets.
pub fn build(rendered: &Rendered, env: &Envelope<'_>, dkim: Option<&DkimSigner>) -> Result<Built> {
    let domain = domain_of(env.from);
    let return_token = crate::bounces::verp::new_token();
    let message_id = format!("<{return_token}@{domain}>");
    let list_unsubscribe = format!(
        "<{}>, <mailto:{}?subject=unsubscribe-{}>",
        env.unsubscribe_url,
        env.from.key(),
        env.unsubscribe_token
    );
    let date = std::time::SystemTime::from(env.date);
    let mut message = Message::builder()
        .from(mailbox(Some(env.from_name), env.from)?)
        .to(mailbox(env.to_name, env.to)?)
        .subject(rendered.subject.clone())
        .date(date)
        .message_id(Some(message_id.clone()))
        .raw_header(raw_header("List-Unsubscribe", list_unsubscribe))
        .raw_header(raw_header(
            "List-Unsubscribe-Post",
            "List-Unsubscribe=One-Click".into(),
        ))
        .multipart(
            MultiPart::alternative()
                .singlepart(SinglePart::plain(quoted_printable(&rendered.text)))
                .singlepart(SinglePart::html(quoted_printable(&rendered.html))),
        )
        .context("cannot build the message")?;
    if env.postmark_metadata {
        message.headers_mut().insert_raw(raw_header(
            "X-PM-Metadata-reconsent-token",
            return_token.clone(),
        ));
    }
    let mut bytes = message.formatted();
    if let Some(signer) = dkim {
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        bytes = signer.sign(&bytes, t)?;
    }
    Ok(Built {
        bytes,
        message_id,
        return_token,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Locale, parse_instant};

    fn rendered() -> Rendered {
        Rendered {
            subject: "Czy nadal chcesz dostawać nasze oferty?".into(),
            html: "<p>Zażółć gęślą jaźń</p>".into(),
            text: "Zażółć gęślą jaźń\nhttps://r.example/r/abc\n".into(),
            locale: Locale::parse("pl").unwrap(),
        }
    }

    fn built(to_name: Option<&str>, to: &str) -> String {
        let from = EmailAddress::parse("newsletter@shop.example").unwrap();
        let to = EmailAddress::parse(to).unwrap();
        let env = Envelope {
            from_name: "Herbaciarnia Łódź",
            from: &from,
            to_name,
            to: &to,
            unsubscribe_url: "https://r.example/u/TOKEN",
            unsubscribe_token: "TOKEN",
            date: parse_instant("2026-05-01T08:00:00Z").unwrap(),
            postmark_metadata: false,
        };
        let b = build(&rendered(), &env, None).unwrap();
        assert!(b.message_id.ends_with("@shop.example>"));
        String::from_utf8(b.bytes).unwrap()
    }

    #[test]
    fn headers_are_ascii_and_complete() {
        let eml = built(Some("Małgorzata Żółkiewska"), "gosia@example.pl");
        let head = eml.split("\r\n\r\n").next().unwrap();
        assert!(head.is_ascii(), "{head}");
        for h in [
            "From: =?utf-8?",
            "To: =?utf-8?",
            "Subject: ",
            "Date: Fri, 01 May 2026 08:00:00 +0000",
            "Message-ID: <",
            "MIME-Version: 1.0",
            "List-Unsubscribe: <https://r.example/u/TOKEN>,",
            "<mailto:newsletter@shop.example?subject=unsubscribe-TOKEN>",
            "List-Unsubscribe-Post: List-Unsubscribe=One-Click",
            "Content-Type: multipart/alternative;",
        ] {
            assert!(head.contains(h) || eml.contains(h), "missing {h}\n{eml}");
        }
    }

    #[test]
    fn idn_and_nameless_recipients() {
        let cases = [
            ("jan@bücher.example", "To: jan@xn--bcher-kva.example"),
            ("jürgen@bücher.example", "To: jürgen@bücher.example"),
        ];
        for (address, header) in cases {
            let eml = built(None, address);
            assert!(eml.contains(&format!("{header}\r\n")), "{eml}");
        }
        let eml = built(Some("  "), "a@example.com");
        assert!(eml.contains("To: a@example.com\r\n"), "{eml}");
    }

    #[test]
    fn signs_with_either_pem_form_covering_list_unsubscribe() {
        for pem in [
            include_str!("../../tests/support/dkim-test.pkcs8.pem"),
            include_str!("../../tests/support/dkim-test.pkcs1.pem"),
        ] {
            let signer = DkimSigner::from_pem(pem, "rc1", "shop.example").unwrap();
            let from = EmailAddress::parse("newsletter@shop.example").unwrap();
            let env = Envelope {
                from_name: "Tatra Tea",
                from: &from,
                to_name: None,
                to: &from,
                unsubscribe_url: "https://r.example/u/T",
                unsubscribe_token: "T",
                date: parse_instant("2026-05-01").unwrap(),
                postmark_metadata: false,
            };
            let eml =
                String::from_utf8(build(&rendered(), &env, Some(&signer)).unwrap().bytes).unwrap();
            let unfolded = eml.replace("\r\n\t", " ").replace("\r\n ", " ");
            let sig = unfolded
                .lines()
                .find(|l| l.starts_with("DKIM-Signature:"))
                .unwrap_or_else(|| panic!("{eml}"));
            for want in [
                "d=shop.example",
                "s=rc1",
                "c=relaxed/relaxed",
                "list-unsubscribe:list-unsubscribe-post",
            ] {
                assert!(sig.contains(want), "{want}: {sig}");
            }
        }
    }
}
