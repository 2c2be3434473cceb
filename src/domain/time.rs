//! Instants and spans of time as users write them: `2024-11-10`, `2024-11-10T09:00:00Z`,
//! `7d`, `12mo`, `3y`.

use chrono::{DateTime, Duration, Months, NaiveDate, Utc};
use std::fmt;

pub type Instant = DateTime<Utc>;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("'{0}' is not a date (expected YYYY-MM-DD or RFC 3339, e.g. 2024-11-10T09:00:00Z)")]
pub struct DateError(pub String);

/// RFC 3339 with any offset (kept as UTC), or a bare date meaning its midnight UTC.
pub fn parse_instant(input: &str) -> Result<Instant, DateError> {
    let t = input.trim();
    if let Ok(dt) = DateTime::parse_from_rfc3339(t) {
        return Ok(dt.with_timezone(&Utc));
    }
    NaiveDate::parse_from_str(t, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|dt| dt.and_utc())
        .ok_or_else(|| DateError(t.to_string()))
}

pub fn from_unix(secs: i64) -> Instant {
    DateTime::from_timestamp(secs, 0).unwrap_or_default()
}

/// A span of time. Months and years are calendar months (the law counts "12 months
/// after the last purchase", not 360 days); the rest are exact.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Span {
    Seconds(i64),
    Months(u32),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("'{0}' is not a duration (expected a number and a unit: 30s, 5m, 12h, 7d, 2w, 12mo, 3y)")]
pub struct SpanError(pub String);

impl Span {
    pub const fn days(n: i64) -> Self {
        Span::Seconds(n * 86_400)
    }

    pub const fn years(n: u32) -> Self {
        Span::Months(n * 12)
    }

    pub fn parse(input: &str) -> Result<Self, SpanError> {
        let t = input.trim();
        let err = || SpanError(t.to_string());
        let split = t.find(|c: char| !c.is_ascii_digit()).ok_or_else(err)?;
        let (num, unit) = t.split_at(split);
        let n: u32 = num.parse().map_err(|_| err())?;
        let secs = |mult: i64| Ok(Span::Seconds(i64::from(n) * mult));
        match unit.trim() {
            "s" => secs(1),
            "m" | "min" => secs(60),
            "h" => secs(3_600),
            "d" => secs(86_400),
            "w" => secs(7 * 86_400),
            "mo" => Ok(Span::Months(n)),
            "y" => n.checked_mul(12).map(Span::Months).ok_or_else(err),
            _ => Err(err()),
        }
    }

    /// The instant this span before `t`.
    pub fn before(&self, t: Instant) -> Instant {
        match *self {
            Span::Seconds(s) => t - Duration::seconds(s),
            Span::Months(m) => t.checked_sub_months(Months::new(m)).unwrap_or(t),
        }
    }

    /// The instant this span after `t`.
    pub fn after(&self, t: Instant) -> Instant {
        match *self {
            Span::Seconds(s) => t + Duration::seconds(s),
            Span::Months(m) => t.checked_add_months(Months::new(m)).unwrap_or(t),
        }
    }
}

impl fmt::Display for Span {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Span::Months(m) if m % 12 == 0 => write!(f, "{}y", m / 12),
            Span::Months(m) => write!(f, "{m}mo"),
            Span::Seconds(s) if s % 86_400 == 0 => write!(f, "{}d", s / 86_400),
            Span::Seconds(s) if s % 3_600 == 0 => write!(f, "{}h", s / 3_600),
            Span::Seconds(s) if s % 60 == 0 => write!(f, "{}m", s / 60),
            Span::Seconds(s) => write!(f, "{s}s"),
        }
    }
}

impl<'de> serde::Deserialize<'de> for Span {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Span::parse(&s).map_err(serde::de::Error::custom)
    }
}

impl serde::Serialize for Span {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instants() {
        let cases = [
            ("2024-11-10", "2024-11-10T00:00:00+00:00"),
            ("2024-11-10T09:30:00Z", "2024-11-10T09:30:00+00:00"),
            ("2024-11-10T10:30:00+01:00", "2024-11-10T09:30:00+00:00"),
            (" 2018-05-25 ", "2018-05-25T00:00:00+00:00"),
        ];
        for (input, out) in cases {
            assert_eq!(parse_instant(input).unwrap().to_rfc3339(), out, "{input}");
        }
        for bad in ["", "yesterday", "2024-13-01", "10.11.2024", "2024-02-30"] {
            assert!(parse_instant(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn spans() {
        let t = parse_instant("2026-03-31").unwrap();
        let cases = [
            ("7d", "2026-03-24"),
            ("2w", "2026-03-17"),
            ("12h", "2026-03-30T12:00:00Z"),
            ("1mo", "2026-02-28"),
            ("12mo", "2025-03-31"),
            ("3y", "2023-03-31"),
        ];
        for (span, out) in cases {
            let s = Span::parse(span).unwrap();
            assert_eq!(s.before(t), parse_instant(out).unwrap(), "{span}");
            assert_eq!(
                s.to_string(),
                span.replace("2w", "14d").replace("12mo", "1y")
            );
        }
        for bad in ["", "7", "d", "7 days", "-7d", "1.5d", "7x"] {
            assert!(Span::parse(bad).is_err(), "{bad}");
        }
    }
}
