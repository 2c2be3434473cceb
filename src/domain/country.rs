//! `Country`: an ISO 3166-1 alpha-2 code, or unknown.

use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Country([u8; 2]);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("'{0}' is not a country code (expected two letters, e.g. PL, SK, CZ, DE)")]
pub struct CountryError(pub String);

impl Country {
    /// Two ASCII letters, any case. `UK` is accepted as the common spelling of `GB`.
    pub fn parse(input: &str) -> Result<Self, CountryError> {
        let t = input.trim().to_ascii_uppercase();
        let b = t.as_bytes();
        if b.len() != 2 || !b.iter().all(u8::is_ascii_uppercase) {
            return Err(CountryError(input.trim().to_string()));
        }
        if t == "UK" {
            return Ok(Country(*b"GB"));
        }
        Ok(Country([b[0], b[1]]))
    }

    pub fn as_str(&self) -> &str {
        // Only ASCII letters are ever stored.
        std::str::from_utf8(&self.0).unwrap_or("??")
    }
}

impl fmt::Display for Country {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses() {
        for (input, out) in [("PL", "PL"), (" sk ", "SK"), ("Cz", "CZ"), ("uk", "GB")] {
            assert_eq!(Country::parse(input).unwrap().as_str(), out);
        }
        for bad in ["", "P", "POL", "P1", "Ł1", "12"] {
            assert!(Country::parse(bad).is_err(), "{bad}");
        }
    }
}
