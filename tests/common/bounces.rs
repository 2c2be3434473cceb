//! For the tests of late bounces: a campaign sent with VERP return paths, the reports a
//! relay or a feedback loop sends, built for the real deliveries, and signatures made
//! with openssl as the relays make them.

pub use super::dovecot::*;
use super::servers::{aiosmtpd_maildir, read_messages};
use super::{Output, Sandbox};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// A relay's DSN (RFC 3464) for one recipient, sent to `to` (the return path). With
/// `original_id`, the original's headers come back in a `text/rfc822-headers` part.
pub fn dsn(id: &str, to: &str, recipient: &str, status: &str, original_id: Option<&str>) -> String {
    let action = if status.starts_with('2') {
        "delivered"
    } else if status.starts_with("4.4.1") {
        "delayed"
    } else {
        "failed"
    };
    let original = original_id
        .map(|mid| {
            format!(
                "--BOUNDARY\r\nContent-Type: text/rfc822-headers\r\n\r\n\
                 From: Tatra Tea <newsletter@tatratea.example>\r\nTo: {recipient}\r\n\
                 Subject: Do you still want to hear from us?\r\nMessage-ID: {mid}\r\n\r\n"
            )
        })
        .unwrap_or_default();
    format!(
        "Return-Path: <>\r\nDelivered-To: {to}\r\nFrom: Mail Delivery System <MAILER-DAEMON@relay.example>\r\n\
         To: {to}\r\nSubject: Undelivered Mail Returned to Sender\r\nMessage-ID: <{id}@relay.example>\r\n\
         Date: Mon, 23 Nov 2026 08:00:00 +0000\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/report; report-type=delivery-status; boundary=\"BOUNDARY\"\r\n\r\n\
         --BOUNDARY\r\nContent-Type: text/plain\r\n\r\nYour message could not be delivered.\r\n\r\n\
         --BOUNDARY\r\nContent-Type: message/delivery-status\r\n\r\n\
         Reporting-MTA: dns; relay.example\r\n\r\n\
         Final-Recipient: rfc822; {recipient}\r\nAction: {action}\r\nStatus: {status}\r\n\
         Diagnostic-Code: smtp; 550 {status} <{recipient}>: Recipient address rejected\r\n\r\n\
         {original}--BOUNDARY--\r\n"
    )
}

/// A feedback loop's complaint (RFC 5965) about the message `message_id`, which went out
/// with the return path `mail_from`.
pub fn arf(id: &str, mail_from: &str, recipient: &str, message_id: &str) -> String {
    format!(
        "From: <feedbackloop@isp.example>\r\nTo: <fbl@shop.example>\r\nSubject: Complaint\r\n\
         Message-ID: <{id}@isp.example>\r\nMIME-Version: 1.0\r\n\
         Content-Type: multipart/report; report-type=feedback-report; boundary=\"FBL\"\r\n\r\n\
         --FBL\r\nContent-Type: text/plain\r\n\r\nA user of ours marked your message as spam.\r\n\r\n\
         --FBL\r\nContent-Type: message/feedback-report\r\n\r\n\
         Feedback-Type: abuse\r\nUser-Agent: ISP-FBL/2.1\r\nVersion: 1\r\n\
         Original-Mail-From: <{mail_from}>\r\nOriginal-Rcpt-To: <{recipient}>\r\n\
         Arrival-Date: Mon, 23 Nov 2026 07:00:00 +0000\r\n\r\n\
         --FBL\r\nContent-Type: message/rfc822\r\n\r\n\
         From: Tatra Tea <newsletter@tatratea.example>\r\nTo: {recipient}\r\nMessage-ID: {message_id}\r\n\
         Subject: Do you still want to hear from us?\r\n\r\nHello\r\n\r\n--FBL--\r\n"
    )
}

/// Mail that is no report: an out-of-office reply.
pub fn junk(id: &str) -> String {
    format!(
        "From: someone@example.pl\r\nTo: bounce@bounces.shop.example\r\nSubject: Out of office\r\n\
         Message-ID: <{id}@example.pl>\r\nAuto-Submitted: auto-replied\r\n\r\nBack on Monday.\r\n"
    )
}

pub const CAMPAIGN: &str = "spring-reconsent";

/// One message as aiosmtpd received it.
#[derive(Debug, Clone)]
pub struct Sent {
    pub to: String,
    pub message_id: String,
    /// The envelope sender: `bounce+TOKEN@bounces.shop.example`.
    pub mail_from: String,
    /// `X-PM-Metadata-reconsent-token`, sent when Postmark is configured.
    pub postmark_token: Option<String>,
}

impl Sent {
    pub fn token(&self) -> &str {
        self.message_id
            .trim_matches(['<', '>'])
            .split('@')
            .next()
            .unwrap()
    }
}

/// The example campaign with a VERP return path (and `config` beside it in
/// reconsent.toml), launched and sent to aiosmtpd; what it received, by address.
pub fn sent(config: &str) -> (Sandbox, Vec<Sent>) {
    let sb = Sandbox::with_campaign("500/s");
    sb.write(
        "reconsent.toml",
        format!("[bounces]\ndomain = \"bounces.shop.example\"\n{config}"),
    );
    sb.ok(&["campaign", "launch", "campaigns/example.toml"]);
    let smtp = aiosmtpd_maildir(&sb.path("received"));
    sb.ok_with(&smtp.url(), &["send", "--until-idle"]);
    smtp.stop();
    let mut sent: Vec<Sent> = read_messages(&sb.path("received"))
        .into_iter()
        .map(|m| Sent {
            to: m["to"].as_str().unwrap().to_string(),
            message_id: m["message_id"].as_str().unwrap().to_string(),
            mail_from: m["mail_from"].as_str().unwrap().to_string(),
            postmark_token: m["postmark_token"].as_str().map(str::to_string),
        })
        .collect();
    sent.sort_by(|a, b| a.to.cmp(&b.to));
    assert!(sent.len() > 60, "{}", sent.len());
    for s in &sent {
        // The return path carries the Message-ID's random part, and nothing of the address.
        assert_eq!(
            s.mail_from,
            format!("bounce+{}@bounces.shop.example", s.token()),
            "{s:?}"
        );
        assert!(
            !s.mail_from.contains(s.to.split('@').next().unwrap()),
            "{s:?}"
        );
    }
    (sb, sent)
}

pub trait Sending {
    fn ok_with(&self, transport: &str, args: &[&str]) -> Output;
    /// `campaign status`'s wave `i`.
    fn wave(&self, i: usize) -> serde_json::Value;
    /// The consent ledger of one address.
    fn ledger(&self, email: &str) -> Vec<serde_json::Value>;
}

impl Sending for Sandbox {
    fn ok_with(&self, transport: &str, args: &[&str]) -> Output {
        let out = self.run_with(transport, args);
        assert_eq!(out.code, 0, "{args:?}: {}\n{}", out.stdout, out.stderr);
        out
    }

    fn wave(&self, i: usize) -> serde_json::Value {
        self.json(&["campaign", "status", CAMPAIGN])["waves"][i].clone()
    }

    fn ledger(&self, email: &str) -> Vec<serde_json::Value> {
        self.json(&["evidence", email])["entries"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }
}

/// The late counts of a wave: hard bounces, soft bounces, complaints.
pub fn late(wave: &serde_json::Value) -> [i64; 3] {
    ["late_bounces", "soft_bounces", "complaints"].map(|k| wave[k].as_i64().unwrap())
}

/// `openssl dgst -DIGEST -sign KEY` over `data`: the signature's bytes.
pub fn openssl_sign(dir: &Path, key: &Path, digest: &str, data: &[u8]) -> Vec<u8> {
    let input = dir.join("to-sign");
    let output = dir.join("signature");
    std::fs::write(&input, data).unwrap();
    run(Command::new("openssl")
        .args(["dgst", &format!("-{digest}"), "-sign"])
        .arg(key)
        .arg("-out")
        .arg(&output)
        .arg(&input));
    std::fs::read(output).unwrap()
}

/// HMAC-SHA256 in hex, by `openssl dgst -hmac`.
pub fn openssl_hmac(key: &str, data: &str) -> String {
    let mut child = Command::new("openssl")
        .args(["dgst", "-sha256", "-hmac", key])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(data.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    text.rsplit("= ").next().unwrap().trim().to_string()
}

/// An RSA key and a self-signed certificate, as SNS signs with (`sns.key`, `sns.pem`).
pub fn sns_certificate(dir: &Path) -> (PathBuf, PathBuf) {
    run(Command::new("openssl").current_dir(dir).args([
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "sns.key",
        "-out",
        "sns.pem",
        "-days",
        "2",
        "-subj",
        "/CN=sns.us-east-1.amazonaws.com",
    ]));
    (dir.join("sns.key"), dir.join("sns.pem"))
}

/// A P-256 key as SendGrid signs with, and its public half as SendGrid shows it
/// (base64 of the DER `SubjectPublicKeyInfo`).
pub fn p256_key(dir: &Path) -> (PathBuf, String) {
    run(Command::new("openssl").current_dir(dir).args([
        "ecparam",
        "-name",
        "prime256v1",
        "-genkey",
        "-noout",
        "-out",
        "sg.key",
    ]));
    run(Command::new("openssl").current_dir(dir).args([
        "ec",
        "-in",
        "sg.key",
        "-pubout",
        "-outform",
        "DER",
        "-out",
        "sg.pub.der",
    ]));
    let der = std::fs::read(dir.join("sg.pub.der")).unwrap();
    let out = Command::new("base64")
        .arg("-w0")
        .arg(dir.join("sg.pub.der"))
        .output()
        .unwrap();
    assert!(!der.is_empty());
    (
        dir.join("sg.key"),
        String::from_utf8_lossy(&out.stdout).trim().to_string(),
    )
}
