//! What a cell may hold: dates inside the years this base can mean, text of a sane
//! length. A cell past either bound is a mistake in the export, refused with its line
//! and column rather than stored.

use super::{COLUMNS, Fields};
use crate::domain::Instant;
use crate::policy::{CLOCK_SKEW, in_future};
use chrono::{NaiveDate, TimeZone, Utc};

/// A name longer than this is not a name (an export that slipped a column).
pub const NAME_CHARS: usize = 200;
/// Every other text cell but the address, which is bounded in octets by `EmailAddress`.
pub const TEXT_CHARS: usize = 1_000;

/// Before this no e-mail consent, purchase or activity a shop exports is real: such dates
/// are placeholders (1900-01-01, 1970-01-01) that would pass for old facts.
pub fn earliest() -> Instant {
    let day = NaiveDate::from_ymd_opt(1990, 1, 1).and_then(|d| d.and_hms_opt(0, 0, 0));
    day.map(|d| Utc.from_utc_datetime(&d)).unwrap_or_default()
}

/// Empties every cell longer than its column allows, and says which.
pub(super) fn take_overlong(fields: &mut Fields) -> Vec<String> {
    let mut errors = Vec::new();
    for (column, cell) in COLUMNS.iter().zip(fields.iter_mut()) {
        let most = match *column {
            "email" => continue,
            "name" => NAME_CHARS,
            _ => TEXT_CHARS,
        };
        let Some(text) = cell else { continue };
        // Only a refused cell is counted through: a cell of megabytes costs no more.
        if text.chars().nth(most).is_some() {
            errors.push(format!(
                "{column}: {} characters, more than the {most} it may have",
                text.chars().count()
            ));
            *cell = None;
        }
    }
    errors
}

/// `t` itself, or why it cannot be a recorded fact as of `now`.
pub(super) fn bounded(t: Instant, written: &str, now: Instant) -> Result<Instant, String> {
    if in_future(t, now) {
        return Err(format!(
            "'{written}' is in the future (after {} UTC, allowing {} minutes for clocks that differ)",
            now.format("%Y-%m-%d %H:%M"),
            CLOCK_SKEW.num_minutes()
        ));
    }
    if t < earliest() {
        return Err(format!(
            "'{written}' is before {}: a placeholder, not a real date",
            earliest().format("%Y-%m-%d")
        ));
    }
    Ok(t)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::parse_instant;

    #[test]
    fn dates_are_bounded() {
        let now = parse_instant("2026-11-22T12:00:00Z").unwrap();
        // (written, accepted)
        let cases = [
            ("2026-11-22T12:00:00Z", true),
            ("2026-11-22T12:05:00Z", true),
            ("2026-11-22T12:05:01Z", false),
            ("2026-11-23", false),
            ("9999-12-31", false),
            ("1990-01-01", true),
            ("1989-12-31T23:59:59Z", false),
            ("1970-01-01", false),
            ("1900-01-01", false),
            ("2018-05-25", true),
        ];
        for (written, accepted) in cases {
            let t = parse_instant(written).unwrap();
            let got = bounded(t, written, now);
            assert_eq!(got.is_ok(), accepted, "{written}: {got:?}");
            if let Err(e) = got {
                assert!(e.contains(written), "{e}");
            }
        }
    }

    #[test]
    fn overlong_cells_are_emptied_and_named() {
        let mut fields: Fields = Default::default();
        let long = |n: usize| Some("é".repeat(n));
        fields[0] = Some(format!("{}@example.com", "a".repeat(5_000)));
        fields[1] = long(NAME_CHARS);
        let source = COLUMNS.iter().position(|c| *c == "consent_source").unwrap();
        fields[source] = long(TEXT_CHARS);
        assert!(take_overlong(&mut fields).is_empty(), "at the bounds");
        fields[1] = long(NAME_CHARS + 1);
        fields[source] = long(200_000);
        let errors = take_overlong(&mut fields);
        assert_eq!(
            errors,
            [
                "name: 201 characters, more than the 200 it may have",
                "consent_source: 200000 characters, more than the 1000 it may have"
            ]
        );
        assert_eq!((fields[1].clone(), fields[source].clone()), (None, None));
        assert!(
            fields[0].is_some(),
            "the address is bounded by EmailAddress"
        );
    }
}
