//! The return path per message (VERP): `bounce+TOKEN@bounces.shop.example`. A relay's
//! DSN goes to the envelope sender, so the token in it names the one delivery the DSN
//! answers even when the relay quotes nothing of the original.
//!
//! The token is the random part of the message's Message-ID (128 random bits, lower-case
//! hex, as case-folding mail servers leave it): it says nothing about the address or the
//! contact, cannot be guessed, and the delivery already keeps it.

use anyhow::{Result, bail};

/// How long a token is: a UUID's 32 hex digits.
pub const TOKEN_LEN: usize = 32;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReturnPath {
    local: String,
    domain: String,
}

impl ReturnPath {
    /// From `[bounces] return_path` (`LOCAL@DOMAIN`) or `[bounces] domain` (`bounce@DOMAIN`).
    pub fn from_config(c: &super::BouncesConfig) -> Result<Option<Self>> {
        let (local, domain) = match (&c.return_path, &c.domain) {
            (Some(_), Some(_)) => {
                bail!("bounces: set return_path or domain, not both")
            }
            (Some(rp), None) => match rp.trim().rsplit_once('@') {
                Some((l, d)) => (l.to_string(), d.to_string()),
                None => bail!(
                    "bounces.return_path '{rp}' is not an address (e.g. bounce@bounces.shop.example)"
                ),
            },
            (None, Some(d)) => ("bounce".to_string(), d.trim().to_string()),
            (None, None) => return Ok(None),
        };
        let atom = |s: &str| {
            !s.is_empty()
                && s.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        };
        if !atom(&local) || local.contains('+') {
            bail!(
                "bounces.return_path: '{local}' must be a plain local part (letters, digits, - _ .)"
            );
        }
        if !atom(&domain) || !domain.contains('.') {
            bail!("bounces: '{domain}' is not a domain name (e.g. bounces.shop.example)");
        }
        Ok(Some(Self {
            local: local.to_ascii_lowercase(),
            domain: domain.to_ascii_lowercase(),
        }))
    }

    /// The envelope sender of the message whose token this is.
    pub fn address(&self, token: &str) -> String {
        format!("{}+{token}@{}", self.local, self.domain)
    }
}

/// The token in an address `ANY+TOKEN@ANY`, if it holds one. Any local part and domain
/// are accepted: the return path may have been changed since the message left.
pub fn token_of(address: &str) -> Option<String> {
    let address = address.trim().trim_matches(['<', '>']);
    let (local, _) = address.rsplit_once('@')?;
    let (_, token) = local.rsplit_once('+')?;
    bare_token(token)
}

/// A bare token, as a provider's metadata carries it.
pub fn bare_token(s: &str) -> Option<String> {
    let token = s.trim().to_ascii_lowercase();
    (token.len() == TOKEN_LEN && token.bytes().all(|b| b.is_ascii_hexdigit())).then_some(token)
}

/// The token of a Message-ID this engine made, `<TOKEN@domain>`.
pub fn token_of_message_id(message_id: &str) -> Option<String> {
    let id = message_id.trim().trim_matches(['<', '>']);
    let (token, _) = id.split_once('@')?;
    bare_token(token)
}

/// A fresh token.
pub fn new_token() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bounces::BouncesConfig;

    fn config(domain: Option<&str>, return_path: Option<&str>) -> BouncesConfig {
        BouncesConfig {
            domain: domain.map(Into::into),
            return_path: return_path.map(Into::into),
            ..Default::default()
        }
    }

    #[test]
    fn return_paths_from_the_configuration() {
        let t = "0123456789abcdef0123456789abcdef";
        let cases = [
            (
                Some("Bounces.Shop.Example"),
                None,
                Ok(Some(format!("bounce+{t}@bounces.shop.example"))),
            ),
            (
                None,
                Some("rp@shop.example"),
                Ok(Some(format!("rp+{t}@shop.example"))),
            ),
            (None, None, Ok(None)),
            (Some("a.example"), Some("b@c.example"), Err("not both")),
            (None, Some("nobody"), Err("not an address")),
            (None, Some("a+b@c.example"), Err("plain local part")),
            (Some("localhost"), None, Err("not a domain name")),
        ];
        for (domain, rp, want) in cases {
            let got = ReturnPath::from_config(&config(domain, rp)).map(|r| r.map(|r| r.address(t)));
            match (got, want) {
                (Ok(got), Ok(want)) => assert_eq!(got, want),
                (Err(e), Err(fragment)) => assert!(format!("{e}").contains(fragment), "{e}"),
                (got, want) => panic!("{domain:?} {rp:?}: {got:?} vs {want:?}"),
            }
        }
    }

    #[test]
    fn tokens_are_read_back_from_addresses_and_message_ids() {
        let t = new_token();
        assert_eq!(t.len(), TOKEN_LEN);
        let cases = [
            (format!("bounce+{t}@b.example"), Some(t.clone())),
            (
                format!("<BOUNCE+{}@B.EXAMPLE>", t.to_uppercase()),
                Some(t.clone()),
            ),
            ("bounce@b.example".to_string(), None),
            ("bounce+1234@b.example".to_string(), None),
            (format!("bounce+{t}"), None),
        ];
        for (address, want) in cases {
            assert_eq!(token_of(&address), want, "{address}");
        }
        assert_eq!(
            token_of_message_id(&format!("<{t}@shop.example>")),
            Some(t.clone())
        );
        assert_eq!(token_of_message_id("<abc@shop.example>"), None);
    }
}
