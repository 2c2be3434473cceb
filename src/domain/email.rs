//! `EmailAddress`: a trimmed address whose comparison key is case-insensitive.

use std::fmt;

/// An e-mail address as the contact gave it (trimmed), with the key it is compared by:
/// the whole address lower-cased and an internationalised domain in its ASCII form,
/// so `Jan@Bücher.example` and ` jan@xn--bcher-kva.example` are one contact.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailAddress {
    display: String,
    key: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EmailError {
    #[error("the address is empty")]
    Empty,
    #[error("'{0}' is not an e-mail address (it needs exactly one @)")]
    NoAt(String),
    #[error("'{0}' is too long for an e-mail address")]
    TooLong(String),
    #[error("'{0}' has an invalid part before the @")]
    BadLocal(String),
    #[error("'{0}' has an invalid domain")]
    BadDomain(String),
}

impl EmailAddress {
    pub fn parse(input: &str) -> Result<Self, EmailError> {
        let display = input.trim();
        if display.is_empty() {
            return Err(EmailError::Empty);
        }
        let owned = || display.to_string();
        let (local, domain) = match display.split_once('@') {
            Some((l, d)) if !d.contains('@') => (l, d),
            _ => return Err(EmailError::NoAt(owned())),
        };
        if display.len() > 254 {
            return Err(EmailError::TooLong(owned()));
        }
        if !valid_local(local) {
            return Err(EmailError::BadLocal(owned()));
        }
        let ascii_domain = ascii_domain(domain).ok_or_else(|| EmailError::BadDomain(owned()))?;
        let key = format!("{}@{}", local.to_lowercase(), ascii_domain);
        Ok(Self {
            display: display.to_string(),
            key,
        })
    }

    /// Rebuilds an address the store wrote after `parse`; never for outside input.
    pub fn from_store(display: String, key: String) -> Self {
        Self { display, key }
    }

    /// The address as given, for display and for sending.
    pub fn as_str(&self) -> &str {
        &self.display
    }

    /// The comparison key: lower case, ASCII domain.
    pub fn key(&self) -> &str {
        &self.key
    }
}

impl fmt::Display for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.display)
    }
}

/// Dot-atom local part (RFC 5322), UTF-8 allowed (RFC 6531). Quoted local parts are
/// refused: shops do not produce them and mail servers handle them badly.
fn valid_local(local: &str) -> bool {
    const SPECIALS: &str = "!#$%&'*+-/=?^_`{|}~.";
    !local.is_empty()
        && local.len() <= 64
        && !local.starts_with('.')
        && !local.ends_with('.')
        && !local.contains("..")
        && local.chars().all(|c| {
            c.is_alphanumeric()
                || SPECIALS.contains(c)
                || (!c.is_ascii() && !c.is_control() && !c.is_whitespace())
        })
}

fn ascii_domain(domain: &str) -> Option<String> {
    let ascii = idna::domain_to_ascii_strict(domain).ok()?;
    let labels: Vec<&str> = ascii.split('.').collect();
    let ok = ascii.len() <= 253
        && labels.len() >= 2
        && labels.iter().all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
        && labels
            .last()
            .is_some_and(|tld| !tld.chars().all(|c| c.is_ascii_digit()));
    ok.then_some(ascii)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_and_normalises() {
        let cases = [
            ("jan.kowalski@example.pl", "jan.kowalski@example.pl"),
            ("  Jan.Kowalski@EXAMPLE.pl ", "jan.kowalski@example.pl"),
            ("Jürgen@Bücher.example", "jürgen@xn--bcher-kva.example"),
            ("a+tag@sub.example.co.uk", "a+tag@sub.example.co.uk"),
            ("o'neil@example.com", "o'neil@example.com"),
        ];
        for (input, key) in cases {
            let e = EmailAddress::parse(input).unwrap_or_else(|e| panic!("{input}: {e}"));
            assert_eq!(e.key(), key, "{input}");
            assert_eq!(e.as_str(), input.trim());
        }
    }

    #[test]
    fn same_contact_in_any_case_or_whitespace() {
        let a = EmailAddress::parse("jan.kowalski@example.pl").unwrap();
        let b = EmailAddress::parse("\t JAN.kowalski@Example.PL  ").unwrap();
        let c = EmailAddress::parse("jan@bücher.example").unwrap();
        let d = EmailAddress::parse("JAN@xn--bcher-kva.example").unwrap();
        assert_eq!(a.key(), b.key());
        assert_eq!(c.key(), d.key());
    }

    #[test]
    fn refuses() {
        let cases = [
            "",
            "   ",
            "not-an-address",
            "a@b@example.com",
            "@example.com",
            "jan@",
            "jan@localhost",
            "jan@example..com",
            ".jan@example.com",
            "jan.@example.com",
            "ja..n@example.com",
            "jan kowalski@example.com",
            "jan@exa mple.com",
            "jan@-example.com",
            "jan@example.123",
            "\"quoted\"@example.com",
        ];
        for input in cases {
            assert!(
                EmailAddress::parse(input).is_err(),
                "{input:?} should be refused"
            );
        }
        let long_local = format!("{}@example.com", "a".repeat(65));
        assert!(EmailAddress::parse(&long_local).is_err());
    }
}
