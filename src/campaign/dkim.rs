//! DKIM signatures (RFC 6376), relaxed/relaxed.
//!
//! - `rsa-sha256` with the `[dkim] key_file` key: what every receiver verifies.
//! - `ed25519-sha256` (RFC 8463) beside it, with `[dkim] ed25519_key_file` under its own
//!   selector: receivers that know it prefer it; the others ignore it and check the RSA one.
//!
//! Keys are parsed once, when a campaign is made ready. A signature then costs one pass
//! over the body, one hash of a dozen headers and one private-key operation, done by
//! aws-lc (the pure-Rust `rsa` crate took 1.3–2.7 ms a message; aws-lc's RSA-2048 takes
//! a fraction of that, see `cargo bench --bench render`).

use anyhow::{Context, Result, bail};
use aws_lc_rs::digest;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{Ed25519KeyPair, RSA_PKCS1_SHA256, RsaKeyPair};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;

/// Headers the signatures cover, if the message has them. `Content-Type` is left out on
/// purpose: at the top level of a multipart message it carries the boundary, which is
/// enough to tamper with nothing, and some relays rewrite it.
pub const SIGNED_HEADERS: [&str; 8] = [
    "From",
    "To",
    "Subject",
    "Date",
    "Message-ID",
    "MIME-Version",
    "List-Unsubscribe",
    "List-Unsubscribe-Post",
];

/// One private key and the selector its public half is published under.
enum Key {
    Rsa(RsaKeyPair),
    Ed25519(Ed25519KeyPair),
}

impl Key {
    fn algorithm(&self) -> &'static str {
        match self {
            Key::Rsa(_) => "rsa-sha256",
            Key::Ed25519(_) => "ed25519-sha256",
        }
    }

    /// The signature over the canonical headers.
    fn sign(&self, data: &[u8]) -> Result<Vec<u8>> {
        match self {
            Key::Rsa(key) => {
                let mut signature = vec![0; key.public_modulus_len()];
                key.sign(
                    &RSA_PKCS1_SHA256,
                    &SystemRandom::new(),
                    data,
                    &mut signature,
                )
                .map_err(|_| anyhow::anyhow!("the RSA key could not sign"))?;
                Ok(signature)
            }
            // RFC 8463 §3: Ed25519 signs the SHA-256 hash of the data, not the data.
            Key::Ed25519(key) => Ok(key
                .sign(digest::digest(&digest::SHA256, data).as_ref())
                .as_ref()
                .to_vec()),
        }
    }
}

/// The keys of `[dkim]`, loaded once, used for every message.
pub struct DkimSigner {
    pub domain: String,
    pub selector: String,
    /// The RSA key first, then the Ed25519 key if there is one.
    keys: Vec<(String, Key)>,
}

impl std::fmt::Debug for DkimSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let keys: Vec<(&str, &str)> = self
            .keys
            .iter()
            .map(|(s, k)| (s.as_str(), k.algorithm()))
            .collect();
        f.debug_struct("DkimSigner")
            .field("domain", &self.domain)
            .field("keys", &keys)
            .finish()
    }
}

/// The DER inside the first PEM block labelled `label`.
fn pem_block(pem: &str, label: &str) -> Option<Result<Vec<u8>>> {
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let start = pem.find(&begin)? + begin.len();
    let body = match pem[start..].find(&end) {
        Some(len) => &pem[start..start + len],
        None => return Some(Err(anyhow::anyhow!("the PEM block has no END line"))),
    };
    let b64: String = body.split_whitespace().collect();
    Some(
        STANDARD
            .decode(b64)
            .context("the PEM block is not valid base64"),
    )
}

fn check_selector(selector: &str) -> Result<()> {
    if selector.is_empty()
        || !selector
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.' || b == b'_')
    {
        bail!("'{selector}' is not a DKIM selector (e.g. reconsent2026)");
    }
    Ok(())
}

impl DkimSigner {
    /// An RSA private key in PEM, PKCS#1 (`BEGIN RSA PRIVATE KEY`, from `openssl genrsa
    /// -traditional`) or PKCS#8 (`BEGIN PRIVATE KEY`, from `openssl genrsa` 3.x); the
    /// public half goes in DNS at `SELECTOR._domainkey.DOMAIN`.
    pub fn from_pem(pem: &str, selector: &str, domain: &str) -> Result<Self> {
        let key = if let Some(der) = pem_block(pem, "PRIVATE KEY") {
            RsaKeyPair::from_pkcs8(&der?).map_err(|e| {
                anyhow::anyhow!("the key is PKCS#8 but not an RSA private key ({e})")
            })?
        } else if let Some(der) = pem_block(pem, "RSA PRIVATE KEY") {
            RsaKeyPair::from_der(&der.context("cannot use the key")?)
                .map_err(|e| anyhow::anyhow!("cannot use the key: {e}"))?
        } else if pem.contains("ENCRYPTED") {
            bail!(
                "the key is encrypted; give an unencrypted RSA key (openssl rsa -in KEY -out PLAIN)"
            )
        } else {
            bail!(
                "not an RSA private key in PEM (expected BEGIN RSA PRIVATE KEY or BEGIN PRIVATE KEY)"
            )
        };
        let selector = selector.trim();
        let domain = domain.trim();
        check_selector(selector)?;
        if domain.is_empty() || !domain.contains('.') || !domain.is_ascii() {
            bail!("'{domain}' is not a DKIM domain (an ASCII domain name, e.g. shop.example)");
        }
        Ok(Self {
            domain: domain.to_string(),
            selector: selector.to_string(),
            keys: vec![(selector.to_string(), Key::Rsa(key))],
        })
    }

    /// Adds an Ed25519 private key (PKCS#8 PEM, `openssl genpkey -algorithm ed25519`)
    /// under its own selector: its DNS record is `v=DKIM1; k=ed25519; p=` and the 32
    /// bytes of the public key in base64.
    pub fn with_ed25519(mut self, pem: &str, selector: &str) -> Result<Self> {
        let der = match pem_block(pem, "PRIVATE KEY") {
            Some(der) => der?,
            None => bail!("not an Ed25519 private key in PEM (expected BEGIN PRIVATE KEY)"),
        };
        let key = Ed25519KeyPair::from_pkcs8_maybe_unchecked(&der)
            .map_err(|e| anyhow::anyhow!("not an Ed25519 private key ({e})"))?;
        let selector = selector.trim();
        check_selector(selector)?;
        if selector == self.selector {
            bail!(
                "the Ed25519 key needs a selector of its own: '{selector}' already names the RSA key's DNS record"
            );
        }
        self.keys.push((selector.to_string(), Key::Ed25519(key)));
        Ok(self)
    }

    /// The keys from `[dkim]` in `reconsent.toml`, if one is configured. `domain`
    /// defaults to the sender's domain.
    pub fn from_config(
        cfg: &crate::config::DkimConfig,
        sender: &crate::domain::EmailAddress,
    ) -> Result<Option<Self>> {
        let Some(path) = &cfg.key_file else {
            if cfg.selector.is_some() || cfg.domain.is_some() {
                bail!("dkim: selector or domain is set but key_file is not");
            }
            if cfg.ed25519_key_file.is_some() || cfg.ed25519_selector.is_some() {
                bail!(
                    "dkim.ed25519_key_file is set but key_file is not: the Ed25519 signature goes beside an RSA one, which every receiver can check"
                );
            }
            return Ok(None);
        };
        let pem = std::fs::read_to_string(path)
            .with_context(|| format!("dkim.key_file: cannot read {}", path.display()))?;
        let selector = cfg
            .selector
            .as_deref()
            .context("dkim.selector is required when dkim.key_file is set")?;
        // The comparison key holds the domain in its ASCII (IDNA) form.
        let sender_domain = sender.key().rsplit_once('@').map_or("", |(_, d)| d);
        let domain = cfg.domain.as_deref().unwrap_or(sender_domain);
        let signer = Self::from_pem(&pem, selector, domain)
            .with_context(|| format!("dkim.key_file {}", path.display()))?;
        let Some(path) = &cfg.ed25519_key_file else {
            if cfg.ed25519_selector.is_some() {
                bail!("dkim.ed25519_selector is set but ed25519_key_file is not");
            }
            return Ok(Some(signer));
        };
        let pem = std::fs::read_to_string(path)
            .with_context(|| format!("dkim.ed25519_key_file: cannot read {}", path.display()))?;
        let selector = cfg
            .ed25519_selector
            .as_deref()
            .context("dkim.ed25519_selector is required when dkim.ed25519_key_file is set")?;
        signer
            .with_ed25519(&pem, selector)
            .with_context(|| format!("dkim.ed25519_key_file {}", path.display()))
            .map(Some)
    }

    /// `message` (CRLF line ends) with a DKIM-Signature header per key in front of it.
    /// `t` is the signing time in seconds since the epoch.
    pub fn sign(&self, message: &[u8], t: u64) -> Result<Vec<u8>> {
        let (head, body) = split(message);
        let bh = STANDARD.encode(digest::digest(&digest::SHA256, &relaxed_body(body)));
        let fields = fields(head);
        let mut names = Vec::new();
        let mut canonical = Vec::with_capacity(head.len() + 512);
        for wanted in SIGNED_HEADERS {
            if let Some(field) = fields
                .iter()
                .rev()
                .find(|(name, _)| name.eq_ignore_ascii_case(wanted))
            {
                names.push(wanted.to_ascii_lowercase());
                relaxed_header(&mut canonical, field.1);
            }
        }
        let h = names.join(":");
        let mut signed = Vec::with_capacity(message.len() + 600 * self.keys.len());
        let signed_len = canonical.len();
        for (selector, key) in &self.keys {
            // The header as it goes out, with `b=` still empty: its canonical form,
            // without the final CRLF, ends the data that is signed (RFC 6376 §3.7).
            let unsigned = format!(
                "DKIM-Signature: v=1; a={}; c=relaxed/relaxed; d={}; s={selector};\r\n\tt={t}; h={h};\r\n\tbh={bh};\r\n\tb=",
                key.algorithm(),
                self.domain,
            );
            canonical.truncate(signed_len);
            relaxed_header(&mut canonical, unsigned.as_bytes());
            canonical.truncate(canonical.len() - 2);
            let b = STANDARD.encode(key.sign(&canonical)?);
            signed.extend_from_slice(unsigned.as_bytes());
            for (i, chunk) in b.as_bytes().chunks(72).enumerate() {
                if i > 0 {
                    signed.extend_from_slice(b"\r\n\t ");
                }
                signed.extend_from_slice(chunk);
            }
            signed.extend_from_slice(b"\r\n");
        }
        signed.extend_from_slice(message);
        Ok(signed)
    }
}

/// The header block (with the CRLF ending its last field) and the body.
fn split(message: &[u8]) -> (&[u8], &[u8]) {
    match message.windows(4).position(|w| w == b"\r\n\r\n") {
        Some(i) => (&message[..i + 2], &message[i + 4..]),
        None => (message, b""),
    }
}

/// Each header field of `head` as (name, the whole field without its final CRLF);
/// continuation lines belong to the field above them.
fn fields(head: &[u8]) -> Vec<(&str, &[u8])> {
    let mut out: Vec<(&str, &[u8])> = Vec::new();
    let mut start = 0;
    let mut i = 0;
    while i < head.len() {
        let end = head[i..]
            .iter()
            .position(|&b| b == b'\n')
            .map_or(head.len(), |p| i + p + 1);
        let next_is_continuation = matches!(head.get(end), Some(b' ' | b'\t'));
        if !next_is_continuation {
            let field = head[start..end]
                .strip_suffix(b"\n")
                .map(|f| f.strip_suffix(b"\r").unwrap_or(f))
                .unwrap_or(&head[start..end]);
            if let Some(colon) = field.iter().position(|&b| b == b':') {
                let name = std::str::from_utf8(&field[..colon]).unwrap_or("").trim();
                out.push((name, field));
            }
            start = end;
        }
        i = end;
    }
    out
}

/// RFC 6376 §3.4.2: the name in lower case, the value unfolded, runs of white space made
/// one space, none around the colon or at the end.
fn relaxed_header(out: &mut Vec<u8>, field: &[u8]) {
    let colon = field.iter().position(|&b| b == b':').unwrap_or(field.len());
    let name = field[..colon].trim_ascii_end();
    out.extend(name.iter().map(u8::to_ascii_lowercase));
    out.push(b':');
    let mut space = false;
    let mut started = false;
    for &b in field.get(colon + 1..).unwrap_or_default() {
        match b {
            b'\r' | b'\n' => {}
            b' ' | b'\t' => space = true,
            _ => {
                if space && started {
                    out.push(b' ');
                }
                space = false;
                started = true;
                out.push(b);
            }
        }
    }
    out.extend_from_slice(b"\r\n");
}

/// RFC 6376 §3.4.4: runs of white space in a line made one space, none at a line's end,
/// no empty lines at the end, and a non-empty body ending in CRLF.
fn relaxed_body(body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len());
    let mut line = Vec::with_capacity(128);
    let mut blank = 0;
    let mut pieces = body.split(|&b| b == b'\n').peekable();
    while let Some(piece) = pieces.next() {
        if pieces.peek().is_none() && piece.is_empty() {
            break;
        }
        let piece = piece.strip_suffix(b"\r").unwrap_or(piece);
        line.clear();
        let mut space = false;
        for &b in piece {
            if b == b' ' || b == b'\t' {
                space = true;
            } else {
                if space {
                    line.push(b' ');
                }
                space = false;
                line.push(b);
            }
        }
        if line.is_empty() {
            blank += 1;
            continue;
        }
        for _ in 0..blank {
            out.extend_from_slice(b"\r\n");
        }
        blank = 0;
        out.extend_from_slice(&line);
        out.extend_from_slice(b"\r\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relaxed_body_canonicalisation() {
        // RFC 6376 §3.4.6's example, and the edge cases of §3.4.4.
        let cases: [(&[u8], &[u8]); 7] = [
            (b" C \r\nD \t E\r\n\r\n\r\n", b" C\r\nD E\r\n"),
            (b"", b""),
            (b"\r\n\r\n", b""),
            (b"no final line end", b"no final line end\r\n"),
            (b"a\r\n\r\nb\r\n", b"a\r\n\r\nb\r\n"),
            (b"a  \t\r\n \r\n", b"a\r\n"),
            (b"a\r\n \r\nb", b"a\r\n\r\nb\r\n"),
        ];
        for (body, want) in cases {
            assert_eq!(
                relaxed_body(body),
                want,
                "{:?}",
                String::from_utf8_lossy(body)
            );
        }
    }

    #[test]
    fn relaxed_header_canonicalisation() {
        let cases: [(&[u8], &[u8]); 4] = [
            (b"A: X", b"a:X\r\n"),
            (b"B : Y\t\r\n\tZ  ", b"b:Y Z\r\n"),
            (b"Subject:  two  words ", b"subject:two words\r\n"),
            (b"List-Unsubscribe-Post:", b"list-unsubscribe-post:\r\n"),
        ];
        for (field, want) in cases {
            let mut out = Vec::new();
            relaxed_header(&mut out, field);
            assert_eq!(out, want, "{:?}", String::from_utf8_lossy(field));
        }
    }

    #[test]
    fn fields_keep_their_continuation_lines() {
        let head = b"From: a@b.example\r\nTo: x@y.example,\r\n z@y.example\r\nSubject: s\r\n";
        let got: Vec<(&str, String)> = fields(head)
            .into_iter()
            .map(|(n, f)| (n, String::from_utf8_lossy(f).into_owned()))
            .collect();
        assert_eq!(
            got,
            [
                ("From", "From: a@b.example".to_string()),
                ("To", "To: x@y.example,\r\n z@y.example".to_string()),
                ("Subject", "Subject: s".to_string()),
            ]
        );
    }

    #[test]
    fn one_signature_per_key_over_the_present_headers() {
        let rsa = include_str!("../../tests/support/dkim-test.pkcs8.pem");
        let ed = include_str!("../../tests/support/dkim-test.ed25519.pem");
        let signer = DkimSigner::from_pem(rsa, "rc1", "shop.example")
            .unwrap()
            .with_ed25519(ed, "ed1")
            .unwrap();
        let message = b"From: a@shop.example\r\nSubject: Hi\r\n\r\nBody\r\n";
        let signed = String::from_utf8(signer.sign(message, 1_700_000_000).unwrap()).unwrap();
        let unfolded = signed.replace("\r\n\t", " ");
        let sigs: Vec<&str> = unfolded
            .lines()
            .filter(|l| l.starts_with("DKIM-Signature:"))
            .collect();
        assert_eq!(sigs.len(), 2, "{signed}");
        for (sig, want) in sigs.iter().zip(["a=rsa-sha256", "a=ed25519-sha256"]) {
            assert!(sig.contains(want), "{sig}");
            assert!(sig.contains("h=from:subject;"), "{sig}");
            assert!(sig.contains("c=relaxed/relaxed; d=shop.example"), "{sig}");
        }
        assert!(signed.ends_with("From: a@shop.example\r\nSubject: Hi\r\n\r\nBody\r\n"));
    }

    #[test]
    fn refuses_bad_keys_clearly() {
        let rsa = include_str!("../../tests/support/dkim-test.pkcs1.pem");
        let ed = include_str!("../../tests/support/dkim-test.ed25519.pem");
        let cases = [
            (
                DkimSigner::from_pem("not a key", "s1", "shop.example").err(),
                "not an RSA private key",
            ),
            (
                DkimSigner::from_pem(
                    "-----BEGIN ENCRYPTED PRIVATE KEY-----\n",
                    "s1",
                    "shop.example",
                )
                .err(),
                "encrypted",
            ),
            (
                DkimSigner::from_pem(
                    "-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----\n",
                    "s1",
                    "shop.example",
                )
                .err(),
                "cannot use the key",
            ),
            (
                DkimSigner::from_pem(ed, "s1", "shop.example").err(),
                "not an RSA private key",
            ),
            (
                DkimSigner::from_pem(rsa, "s 1", "shop.example").err(),
                "not a DKIM selector",
            ),
            (
                DkimSigner::from_pem(rsa, "s1", "localhost").err(),
                "not a DKIM domain",
            ),
            (
                DkimSigner::from_pem(rsa, "s1", "shop.example")
                    .and_then(|s| s.with_ed25519(rsa, "ed1"))
                    .err(),
                "not an Ed25519 private key",
            ),
            (
                DkimSigner::from_pem(rsa, "s1", "shop.example")
                    .and_then(|s| s.with_ed25519(ed, "s1"))
                    .err(),
                "selector of its own",
            ),
        ];
        for (err, want) in cases {
            let err = format!("{:#}", err.expect(want));
            assert!(err.contains(want), "{want}: {err}");
        }
    }
}
