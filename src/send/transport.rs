//! Where messages go: `file://DIR` (an `.eml` per message, the default, no server
//! needed) or SMTP (`smtp://`, `smtps://`, `smtp+starttls://user:pass@host:port`).
//!
//! The SMTP session drives MAIL, RCPT, DATA and the body itself, rather than lettre's
//! all-in-one `send`, so that every failure carries the phase it happened in: before
//! the body is on the wire a retry is safe; after it, a lost connection is `unknown`.

use super::outcome::{Failure, Phase};
use anyhow::{Context, Result, bail};
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{AsyncSmtpConnection, TlsParameters};
use lettre::transport::smtp::commands::{Data, Ehlo, Mail, Rcpt, Rset};
use lettre::transport::smtp::extension::{ClientId, Extension, MailBodyParameter, MailParameter};
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Tls {
    None,
    /// TLS from the first byte (port 465).
    Implicit,
    /// Plain, then STARTTLS; refused if the server does not offer it.
    StartTls,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmtpConfig {
    pub host: String,
    pub port: u16,
    pub tls: Tls,
    pub credentials: Option<(String, String)>,
    pub timeout: Duration,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TransportConfig {
    File(PathBuf),
    Smtp(SmtpConfig),
}

impl TransportConfig {
    pub fn parse(spec: &str) -> Result<Self> {
        if let Some(dir) = spec.strip_prefix("file://") {
            if dir.is_empty() {
                bail!("transport '{spec}': file:// needs a folder, e.g. file://outbox");
            }
            return Ok(Self::File(PathBuf::from(dir)));
        }
        let url = url::Url::parse(spec).with_context(|| {
            format!("transport '{spec}' is not a URL (expected e.g. smtp://localhost:25 or file://outbox)")
        })?;
        let (tls, default_port) = match url.scheme() {
            "smtp" => (Tls::None, 25),
            "smtps" => (Tls::Implicit, 465),
            "smtp+starttls" => (Tls::StartTls, 587),
            other => bail!(
                "transport '{spec}': unknown scheme '{other}' (use smtp, smtps, smtp+starttls or file)"
            ),
        };
        let host = url
            .host_str()
            .filter(|h| !h.is_empty())
            .with_context(|| format!("transport '{spec}' names no host"))?
            .trim_matches(['[', ']'])
            .to_string();
        let decode = |s: &str| {
            percent_decode(s)
                .with_context(|| format!("transport '{spec}': bad %-escape in the credentials"))
        };
        let credentials = match (url.username(), url.password()) {
            ("", None) => None,
            (user, pass) => Some((decode(user)?, decode(pass.unwrap_or(""))?)),
        };
        Ok(Self::Smtp(SmtpConfig {
            host,
            port: url.port().unwrap_or(default_port),
            tls,
            credentials,
            timeout: Duration::from_secs(60),
        }))
    }

    /// For messages: the URL without its password.
    pub fn describe(&self) -> String {
        match self {
            Self::File(dir) => format!("file://{}", dir.display()),
            Self::Smtp(c) => format!("{}:{}", c.host, c.port),
        }
    }
}

fn percent_decode(s: &str) -> Result<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = s.get(i + 1..i + 3).context("truncated escape")?;
            out.push(u8::from_str_radix(hex, 16)?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    Ok(String::from_utf8(out)?)
}

/// One connection's worth of sending: each sending task owns one and reuses it.
pub enum Transport {
    File(PathBuf),
    Smtp(Box<SmtpSession>),
}

/// Records a message as handed to the server, right before its body goes out: a write
/// to a file or to the database, so it may wait.
pub type OnTheWire<'a> = dyn FnMut() -> std::pin::Pin<Box<dyn std::future::Future<Output = std::io::Result<()>> + Send + 'a>>
    + Send
    + 'a;

impl Transport {
    pub fn new(config: &TransportConfig) -> Result<Self> {
        Ok(match config {
            TransportConfig::File(dir) => {
                std::fs::create_dir_all(dir)
                    .with_context(|| format!("cannot create the outbox {}", dir.display()))?;
                Self::File(dir.clone())
            }
            TransportConfig::Smtp(c) => Self::Smtp(Box::new(SmtpSession {
                config: c.clone(),
                conn: None,
                pipelining: false,
            })),
        })
    }

    /// Hands one message over. `from` and `to` are envelope addresses. `on_the_wire`
    /// runs right before the body goes out, and if it fails the body does not.
    pub async fn send(
        &mut self,
        from: &str,
        to: &str,
        message_id: &str,
        bytes: &[u8],
        on_the_wire: &mut OnTheWire<'_>,
    ) -> Result<(), (Failure, Phase)> {
        match self {
            Self::File(dir) => {
                on_the_wire()
                    .await
                    .map_err(|e| (not_recorded(e), Phase::Connect))?;
                write_eml(dir, message_id, bytes)
                    .await
                    .map_err(|e| (Failure::Connection(format!("{e:#}")), Phase::Connect))
            }
            Self::Smtp(session) => session.send(from, to, bytes, on_the_wire).await,
        }
    }

    /// Opens the SMTP connection ahead of the first message, so that the first slots
    /// of a throttled campaign are not spent on the greeting. A failure here is left
    /// for the first message to meet and report.
    pub async fn warm_up(&mut self) {
        if let Self::Smtp(session) = self
            && session.conn.is_none()
            && let Ok(conn) = session.connect().await
        {
            session.conn = Some(conn);
        }
    }

    pub async fn close(&mut self) {
        if let Self::Smtp(session) = self
            && let Some(mut conn) = session.conn.take()
        {
            let _ = conn.quit().await;
        }
    }
}

/// Written under a temporary name and renamed, so a reader of the outbox never sees
/// half a message. Plain blocking calls: a local write of a few kilobytes is quicker
/// than a hop to tokio's blocking pool and back.
async fn write_eml(dir: &std::path::Path, message_id: &str, bytes: &[u8]) -> Result<()> {
    let stem: String = message_id
        .trim_matches(['<', '>'])
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let tmp = dir.join(format!(".{stem}.tmp"));
    let path = dir.join(format!("{stem}.eml"));
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, &path)?;
    Ok(())
}

pub struct SmtpSession {
    config: SmtpConfig,
    conn: Option<AsyncSmtpConnection>,
    /// The server offers PIPELINING (RFC 2920): MAIL, RCPT and DATA go in one write.
    pipelining: bool,
}

impl SmtpSession {
    async fn connect(&mut self) -> Result<AsyncSmtpConnection, Failure> {
        let (conn, pipelining) = self.try_connect().await.map_err(|e| match e {
            ConnectError::Smtp(e) => failure(&e),
            ConnectError::Io(e) => Failure::Connection(format!("cannot connect: {e}")),
            ConnectError::Timeout => Failure::Connection("cannot connect: timed out".into()),
            ConnectError::NoStartTls => Failure::Connection(
                "the server does not offer STARTTLS, and smtp+starttls:// refuses to send in the clear".into(),
            ),
        })?;
        self.pipelining = pipelining;
        Ok(conn)
    }

    async fn try_connect(&self) -> Result<(AsyncSmtpConnection, bool), ConnectError> {
        let c = &self.config;
        let client_id = ClientId::default();
        let implicit = match c.tls {
            Tls::Implicit => Some(TlsParameters::new(c.host.clone())?),
            _ => None,
        };
        let mut conn = match implicit {
            // lettre's own connector for TLS from the first byte.
            Some(tls) => {
                AsyncSmtpConnection::connect_tokio1(
                    (c.host.as_str(), c.port),
                    Some(c.timeout),
                    &client_id,
                    Some(tls),
                    None,
                )
                .await?
            }
            None => {
                let tcp = tokio::time::timeout(
                    c.timeout,
                    tokio::net::TcpStream::connect((c.host.as_str(), c.port)),
                )
                .await
                .map_err(|_| ConnectError::Timeout)?
                .map_err(ConnectError::Io)?;
                // Without this, the body and the final dot go out as two small writes and
                // Nagle's algorithm waits for the server's delayed ACK: ~40 ms a message.
                tcp.set_nodelay(true).map_err(ConnectError::Io)?;
                AsyncSmtpConnection::connect_with_transport(Box::new(tcp), &client_id).await?
            }
        };
        if c.tls == Tls::StartTls {
            conn.starttls(TlsParameters::new(c.host.clone())?, &client_id)
                .await?;
            if !conn.is_encrypted() {
                return Err(ConnectError::NoStartTls);
            }
        }
        // lettre keeps only the extensions it uses; ask again to learn of PIPELINING.
        let ehlo = conn.command(Ehlo::new(client_id)).await?;
        let pipelining = ehlo
            .message()
            .any(|line| line.trim().eq_ignore_ascii_case("PIPELINING"));
        if let Some((user, pass)) = &c.credentials {
            conn.auth(
                &[Mechanism::Plain, Mechanism::Login],
                &Credentials::new(user.clone(), pass.clone()),
            )
            .await?;
        }
        Ok((conn, pipelining))
    }

    async fn send(
        &mut self,
        from: &str,
        to: &str,
        bytes: &[u8],
        on_the_wire: &mut OnTheWire<'_>,
    ) -> Result<(), (Failure, Phase)> {
        let mut conn = match self.conn.take() {
            Some(conn) if !conn.has_broken() => conn,
            _ => self.connect().await.map_err(|f| (f, Phase::Connect))?,
        };
        let envelope_err = |e: lettre::transport::smtp::Error| (failure(&e), Phase::Envelope);
        let parse = |a: &str| {
            a.parse::<lettre::Address>().map_err(|e| {
                (
                    Failure::Reply {
                        code: 553,
                        text: format!("5.1.3 '{a}' is not a deliverable address: {e}"),
                    },
                    Phase::Envelope,
                )
            })
        };
        let (from, to) = (parse(from)?, parse(to)?);
        let mut params = Vec::new();
        if !bytes.is_ascii() && conn.server_info().supports_feature(Extension::EightBitMime) {
            params.push(MailParameter::Body(MailBodyParameter::EightBitMime));
        }
        let ascii = |a: &lettre::Address| <lettre::Address as AsRef<str>>::as_ref(a).is_ascii();
        if !(ascii(&from) && ascii(&to)) {
            // A server without SMTPUTF8 (RFC 6531) would mangle or misroute a UTF-8
            // address: the message fails here, before anything is said.
            if !conn.server_info().supports_feature(Extension::SmtpUtfEight) {
                self.conn = Some(conn);
                return Err((
                    Failure::Reply {
                        code: 553,
                        text: format!(
                            "5.6.7 '{to}' has non-ASCII characters before the @ and the mail \
                             server does not offer SMTPUTF8 (RFC 6531): not sent"
                        ),
                    },
                    Phase::Envelope,
                ));
            }
            params.push(MailParameter::SmtpUtfEight);
        }
        let mail = Mail::new(Some(from), params);
        let rcpt = Rcpt::new(to, vec![]);
        let envelope = if self.pipelining {
            pipelined_envelope(&mut conn, &mail, &rcpt).await
        } else {
            async {
                conn.command(mail).await?;
                conn.command(rcpt).await?;
                conn.command(Data).await
            }
            .await
        };
        if let Err(e) = envelope {
            // A refused envelope leaves the connection usable once reset.
            if (e.is_transient() || e.is_permanent()) && conn.command(Rset).await.is_ok() {
                self.conn = Some(conn);
            } else {
                conn.abort().await;
            }
            return Err(envelope_err(e));
        }
        if let Err(e) = on_the_wire().await {
            // The server waits for a body that will not come: dropping the connection
            // ends the transaction with nothing delivered.
            conn.abort().await;
            return Err((not_recorded(e), Phase::Envelope));
        }
        let body = match std::str::from_utf8(bytes) {
            // One write for the whole body and its final dot.
            Ok(text) => conn.command(Body(text)).await,
            Err(_) => conn.message(bytes).await,
        };
        match body {
            Ok(_) => {
                self.conn = Some(conn);
                Ok(())
            }
            Err(e) => {
                if e.is_transient() || e.is_permanent() {
                    self.conn = Some(conn);
                } else {
                    conn.abort().await;
                }
                Err((failure(&e), Phase::Body))
            }
        }
    }
}

/// MAIL, RCPT and DATA in one write, then their three replies in order (RFC 2920).
/// Every reply is read even after a refusal, so the conversation stays in step.
async fn pipelined_envelope(
    conn: &mut AsyncSmtpConnection,
    mail: &Mail,
    rcpt: &Rcpt,
) -> Result<lettre::transport::smtp::response::Response, lettre::transport::smtp::Error> {
    let refused = |e: &lettre::transport::smtp::Error| e.is_transient() || e.is_permanent();
    let mail = conn.command(format!("{mail}{rcpt}{Data}")).await;
    if let Err(e) = &mail
        && !refused(e)
    {
        return mail;
    }
    let rcpt = conn.read_response().await;
    if let Err(e) = &rcpt
        && !refused(e)
    {
        return rcpt;
    }
    let data = conn.read_response().await;
    match (mail, rcpt, data) {
        (Ok(_), Ok(_), data) => data,
        (Err(e), _, Ok(_)) | (Ok(_), Err(e), Ok(_)) => {
            // DATA was taken although the envelope was not: end the empty message;
            // with no recipient it goes nowhere.
            conn.command(".\r\n").await.ok();
            Err(e)
        }
        (Err(e), _, _) | (Ok(_), Err(e), _) => Err(e),
    }
}

/// A message body as one SMTP write: dot-stuffed (RFC 5321 4.5.2), with its final dot.
struct Body<'a>(&'a str);

impl std::fmt::Display for Body<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let text = self.0;
        // Written up to here; a dot at the start of a line gets another before it.
        let mut done = 0;
        let mut from = 0;
        // A search for the dot alone runs at memchr's speed; most dots are not at a
        // line's start, and the check for that is cheap.
        while let Some(k) = text[from..].find('.') {
            let i = from + k;
            if i == 0 || text[..i].ends_with("\r\n") {
                f.write_str(&text[done..i])?;
                f.write_str(".")?;
                done = i;
            }
            from = i + 1;
        }
        f.write_str(&text[done..])?;
        f.write_str(if self.0.ends_with("\r\n") {
            ".\r\n"
        } else {
            "\r\n.\r\n"
        })
    }
}

/// The record that a body is about to go out could not be written: nothing is sent
/// without it, so a crash can never leave a delivered message looking unsent.
fn not_recorded(e: std::io::Error) -> Failure {
    Failure::Connection(format!(
        "not sent: cannot record the message as on its way ({e})"
    ))
}

enum ConnectError {
    Smtp(lettre::transport::smtp::Error),
    Io(std::io::Error),
    Timeout,
    NoStartTls,
}

impl From<lettre::transport::smtp::Error> for ConnectError {
    fn from(e: lettre::transport::smtp::Error) -> Self {
        Self::Smtp(e)
    }
}

/// lettre's error as the sender's `Failure`: a reply with its code and text, or a
/// broken connection.
fn failure(e: &lettre::transport::smtp::Error) -> Failure {
    match e.status() {
        Some(code) if e.is_transient() || e.is_permanent() => {
            let shown = e.to_string();
            // Display is "permanent error (550): 5.1.1 text"; keep the server's words.
            let text = shown
                .split_once("): ")
                .map_or(shown.as_str(), |(_, t)| t)
                .to_string();
            Failure::Reply {
                code: code.to_string().parse().unwrap_or(500),
                text,
            }
        }
        _ => Failure::Connection(e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_is_dot_stuffed_and_ended() {
        let cases = [
            ("Hi\r\n", "Hi\r\n.\r\n"),
            ("Hi", "Hi\r\n.\r\n"),
            (".Hi\r\n", "..Hi\r\n.\r\n"),
            ("a\r\n.\r\nb\r\n", "a\r\n..\r\nb\r\n.\r\n"),
            ("a\r\n..b\r\n.c", "a\r\n...b\r\n..c\r\n.\r\n"),
            ("a.b\r\n x.\r\n", "a.b\r\n x.\r\n.\r\n"),
            ("", "\r\n.\r\n"),
        ];
        for (body, wire) in cases {
            assert_eq!(Body(body).to_string(), wire, "{body:?}");
        }
    }

    #[test]
    fn parses_transports() {
        let smtp = |host: &str, port, tls, creds: Option<(&str, &str)>| {
            TransportConfig::Smtp(SmtpConfig {
                host: host.into(),
                port,
                tls,
                credentials: creds.map(|(u, p)| (u.into(), p.into())),
                timeout: Duration::from_secs(60),
            })
        };
        let cases = [
            ("file://outbox", TransportConfig::File("outbox".into())),
            (
                "file:///var/mail/out",
                TransportConfig::File("/var/mail/out".into()),
            ),
            (
                "smtp://127.0.0.1:2525",
                smtp("127.0.0.1", 2525, Tls::None, None),
            ),
            (
                "smtp://mail.example.com",
                smtp("mail.example.com", 25, Tls::None, None),
            ),
            (
                "smtps://u:p@mail.example.com",
                smtp("mail.example.com", 465, Tls::Implicit, Some(("u", "p"))),
            ),
            (
                "smtp+starttls://news%40shop.example:s%3Acret@smtp.example.com:587",
                smtp(
                    "smtp.example.com",
                    587,
                    Tls::StartTls,
                    Some(("news@shop.example", "s:cret")),
                ),
            ),
            ("smtp://[::1]:25", smtp("::1", 25, Tls::None, None)),
        ];
        for (spec, want) in cases {
            assert_eq!(TransportConfig::parse(spec).unwrap(), want, "{spec}");
        }
        for bad in ["", "file://", "outbox", "http://x", "smtp://", "smtp://:25"] {
            assert!(TransportConfig::parse(bad).is_err(), "{bad}");
        }
    }
}
