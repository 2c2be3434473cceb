//! `EmailAddress`: one address, one key, whatever the spelling.

use std::fmt;
use unicode_normalization::UnicodeNormalization;
use unicode_properties::{GeneralCategory, UnicodeGeneralCategory};

/// An e-mail address as the contact gave it (trimmed, NFKC), with the key it is compared,
/// indexed and tombstoned by: NFKC, lower case, an internationalised domain in its ASCII
/// form. So `Jan@Bücher.example`, ` jan@xn--bcher-kva.example`, the decomposed
/// `ju\u{308}rgen@…` and the full-width `ｊａｎ＠…` each meet their one contact.
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
    #[error("'{0}…' is too long for an e-mail address ({1} bytes; at most 254)")]
    TooLong(String, usize),
    #[error("'{0}' has an invalid part before the @")]
    BadLocal(String),
    #[error("'{0}' has an invalid domain")]
    BadDomain(String),
    #[error(
        "'{0}' contains an invisible or control character (U+{1:04X}), so it would look like \
         another address: retype it"
    )]
    Invisible(String, u32),
}

/// Longest address SMTP carries (RFC 5321 §4.5.3.1: a 256-octet path less its brackets).
pub const MAX_ADDRESS_OCTETS: usize = 254;

impl EmailAddress {
    pub fn parse(input: &str) -> Result<Self, EmailError> {
        let trimmed = input.trim_matches(is_blank);
        if trimmed.is_empty() {
            return Err(EmailError::Empty);
        }
        if let Some(c) = trimmed.chars().find(|c| is_hidden(*c)) {
            return Err(EmailError::Invisible(trimmed.to_string(), u32::from(c)));
        }
        // Checked before normalising, so a megabyte pasted into the cell costs nothing.
        if trimmed.len() > 4 * MAX_ADDRESS_OCTETS {
            return Err(too_long(trimmed));
        }
        // NFKC folds compatibility forms (full-width letters, ligatures, the full-width @)
        // and composes decomposed accents: one written form per address.
        let nfkc: String = trimmed.nfkc().collect();
        let display = nfkc.trim();
        let owned = || display.to_string();
        let (local, domain) = match display.split_once('@') {
            Some((l, d)) if !d.contains('@') => (l, d),
            _ => return Err(EmailError::NoAt(owned())),
        };
        if display.len() > MAX_ADDRESS_OCTETS {
            return Err(too_long(display));
        }
        if !valid_local(local) {
            return Err(EmailError::BadLocal(owned()));
        }
        let ascii_domain = ascii_domain(domain).ok_or_else(|| EmailError::BadDomain(owned()))?;
        // Lower case after NFKC stands in for full case folding: the two differ only for
        // a few letters (ß stays ß), which keeps distinct mailboxes distinct. NFKC again
        // because lower-casing can leave a sequence that composes.
        let folded: String = local.to_lowercase().nfkc().collect();
        Ok(Self {
            display: owned(),
            key: format!("{folded}@{ascii_domain}"),
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

    /// The comparison key: NFKC, lower case, ASCII domain.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// Whether the part before the @ is not ASCII, so that only a server offering
    /// SMTPUTF8 (RFC 6531) can take the address; the domain always has an ASCII form.
    pub fn needs_smtputf8(&self) -> bool {
        self.display
            .rsplit_once('@')
            .is_some_and(|(local, _)| !local.is_ascii())
    }
}

/// Characters nobody types into an address on purpose: controls, and format characters
/// that show as nothing (zero-width space, soft hyphen, byte-order mark) or reorder what
/// is shown (bidi marks). Each would make two addresses look alike.
fn is_hidden(c: char) -> bool {
    c.is_control() || c.general_category() == GeneralCategory::Format
}

/// What may stand around an address in a cell: spaces, tabs, line ends; not the other
/// controls, which are refused wherever they stand.
fn is_blank(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r') || (c.is_whitespace() && !c.is_control())
}

fn too_long(address: &str) -> EmailError {
    let head: String = address.chars().take(40).collect();
    EmailError::TooLong(head, address.len())
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
    fn every_spelling_of_one_address_has_one_key() {
        // (input, display, key)
        let cases = [
            // Decomposed accents (NFD), as macOS file names and some exports write them.
            (
                "ju\u{308}rgen@bu\u{308}cher.example",
                "jürgen@bücher.example",
                "jürgen@xn--bcher-kva.example",
            ),
            // Full-width letters and @, as an East Asian input method types them.
            (
                "ｊａｎ＠ｅｘａｍｐｌｅ．ｐｌ",
                "jan@example.pl",
                "jan@example.pl",
            ),
            ("ＪＡＮ@EXAMPLE.PL", "JAN@EXAMPLE.PL", "jan@example.pl"),
            // A ligature and a superscript fold to plain letters and digits.
            (
                "\u{fb01}na@example.com",
                "fina@example.com",
                "fina@example.com",
            ),
            ("x\u{b2}@example.com", "x2@example.com", "x2@example.com"),
            // An ideographic space around the address is trimmed like any other.
            (
                "\u{3000}jan@example.pl\u{3000}",
                "jan@example.pl",
                "jan@example.pl",
            ),
            (
                "JÜRGEN@BÜCHER.EXAMPLE",
                "JÜRGEN@BÜCHER.EXAMPLE",
                "jürgen@xn--bcher-kva.example",
            ),
            // ß is a letter of its own, not a spelling of ss.
            (
                "straße@example.de",
                "straße@example.de",
                "straße@example.de",
            ),
        ];
        for (input, display, key) in cases {
            let e = EmailAddress::parse(input).unwrap_or_else(|e| panic!("{input:?}: {e}"));
            assert_eq!(e.as_str(), display, "{input:?}");
            assert_eq!(e.key(), key, "{input:?}");
        }
    }

    #[test]
    fn refuses_invisible_and_control_characters() {
        let hidden = [
            '\u{200b}',
            '\u{200c}',
            '\u{200d}',
            '\u{2060}',
            '\u{feff}',
            '\u{ad}',
            '\u{200e}',
            '\u{200f}',
            '\u{202a}',
            '\u{202e}',
            '\u{2066}',
            '\u{2069}',
            '\u{1b}',
            '\u{0}',
            '\u{7f}',
            '\u{85}',
            '\u{e0041}',
        ];
        for c in hidden {
            for input in [
                format!("ja{c}n@example.pl"),
                format!("{c}jan@example.pl"),
                format!("jan@example.pl{c}"),
                format!("jan@exa{c}mple.pl"),
            ] {
                match EmailAddress::parse(&input) {
                    Err(EmailError::Invisible(_, code)) => assert_eq!(code, u32::from(c)),
                    other => panic!("{input:?}: {other:?}"),
                }
            }
        }
        let e = EmailAddress::parse("ja\u{200b}n@example.pl").unwrap_err();
        assert!(e.to_string().contains("U+200B"), "{e}");
    }

    #[test]
    fn smtputf8_only_for_a_local_part_beyond_ascii() {
        let cases = [
            ("jan@example.pl", false),
            ("jan@bücher.example", false),
            ("jürgen@example.de", true),
            ("ｊａｎ＠ｅｘａｍｐｌｅ．ｐｌ", false),
            ("用户@例子.广告", true),
        ];
        for (input, needs) in cases {
            let e = EmailAddress::parse(input).unwrap_or_else(|e| panic!("{input}: {e}"));
            assert_eq!(e.needs_smtputf8(), needs, "{input}");
        }
    }

    #[test]
    fn length_is_counted_in_octets_after_normalising() {
        let address = |last: usize| {
            let l = |c: &str, n: usize| c.repeat(n);
            format!(
                "{}@{}.{}.{}.ex.com",
                l("a", 64),
                l("b", 60),
                l("c", 60),
                l("d", last)
            )
        };
        assert_eq!(address(60).len(), MAX_ADDRESS_OCTETS);
        assert!(EmailAddress::parse(&address(60)).is_ok());
        let over = address(61);
        assert!(matches!(
            EmailAddress::parse(&over),
            Err(EmailError::TooLong(_, 255))
        ));
        let huge = format!("{}@example.com", "a".repeat(200_000));
        let e = EmailAddress::parse(&huge).unwrap_err();
        assert!(
            e.to_string().len() < 200,
            "the message must not echo it all"
        );
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
