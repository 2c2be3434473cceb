//! `Locale`: a language the engine writes to a contact in.

use std::fmt;

/// A language tag reduced to its primary language (`pl-PL` → `pl`): templates are
/// written per language, not per region.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Locale(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("'{0}' is not a language code (expected e.g. en, pl, sk, cs, de)")]
pub struct LocaleError(pub String);

impl Locale {
    pub fn parse(input: &str) -> Result<Self, LocaleError> {
        let t = input.trim();
        let primary = t.split(['-', '_']).next().unwrap_or("");
        let ok =
            (2..=3).contains(&primary.len()) && primary.chars().all(|c| c.is_ascii_alphabetic());
        if !ok {
            return Err(LocaleError(t.to_string()));
        }
        Ok(Locale(primary.to_ascii_lowercase()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Locale {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses() {
        for (input, out) in [
            ("pl", "pl"),
            ("pl-PL", "pl"),
            ("SK", "sk"),
            ("cs_CZ", "cs"),
            ("de", "de"),
        ] {
            assert_eq!(Locale::parse(input).unwrap().as_str(), out);
        }
        for bad in ["", "p", "polish", "p1", "-pl"] {
            assert!(Locale::parse(bad).is_err(), "{bad}");
        }
    }
}
