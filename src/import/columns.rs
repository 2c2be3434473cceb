//! A header or key that is almost an import column is a mistake, not another column:
//! `consent_withdrawn` for `consent_withdrawn_at` would otherwise be ignored with a
//! warning, and every withdrawal in the file lost.

use super::COLUMNS;

/// The import column `name` was probably meant to be, if it is one or two edits from
/// it (one for short names, where two edits reach unrelated words: `date`, `name`), or
/// the same words with one left out or one added.
pub(super) fn near_miss(name: &str) -> Option<&'static str> {
    let name = name.trim().to_lowercase();
    if name.is_empty() || COLUMNS.contains(&name.as_str()) {
        return None;
    }
    COLUMNS
        .iter()
        .filter_map(|known| {
            let limit = if known.len() < 6 { 1 } else { 2 };
            match edits(&name, known, limit) {
                Some(d) => Some((d, *known)),
                None => one_word_apart(&name, known).then_some((limit + 1, *known)),
            }
        })
        .min_by_key(|(d, _)| *d)
        .map(|(_, known)| known)
}

/// The message that refuses a near miss.
pub(super) fn refusal(line: u64, name: &str, meant: &str) -> String {
    format!("line {line}: unknown column '{name}' — did you mean '{meant}'?")
}

fn words(name: &str) -> Vec<&str> {
    name.split(['_', '-', ' ', '.'])
        .filter(|w| !w.is_empty())
        .collect()
}

/// `withdrawn_at` or `consent_withdrawn` for `consent_withdrawn_at`; `email_address`
/// for `email`. An added `id` is not a slip: `customer_id` names another thing.
fn one_word_apart(name: &str, known: &str) -> bool {
    let (have, want) = (words(name), words(known));
    let missing = have.len() + 1 == want.len() && !have.is_empty();
    let added = want.len() + 1 == have.len();
    let (short, long) = match (missing, added) {
        (true, _) => (&have, &want),
        (_, true) => (&want, &have),
        _ => return false,
    };
    (0..long.len()).any(|skip| {
        let rest = long
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != skip)
            .map(|(_, w)| *w);
        rest.eq(short.iter().copied()) && !(added && long[skip] == "id")
    })
}

/// The edit distance (insertions, deletions, substitutions and swaps of neighbours),
/// if it is at most `limit`.
fn edits(a: &str, b: &str, limit: usize) -> Option<usize> {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    if a.len().abs_diff(b.len()) > limit {
        return None;
    }
    let width = b.len() + 1;
    let mut d: Vec<usize> = (0..(a.len() + 1) * width).collect();
    for i in 0..=a.len() {
        d[i * width] = i;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (d[(i - 1) * width + j] + 1)
                .min(d[i * width + j - 1] + 1)
                .min(d[(i - 1) * width + j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(d[(i - 2) * width + j - 2] + 1);
            }
            d[i * width + j] = best;
        }
    }
    let distance = d[a.len() * width + b.len()];
    (distance <= limit).then_some(distance)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn near_misses_are_named() {
        let cases = [
            ("consent_withdrawn", "consent_withdrawn_at"),
            ("withdrawn_at", "consent_withdrawn_at"),
            ("email_address", "email"),
            ("Email Address", "email"),
            ("e-mail", "email"),
            ("mail", "email"),
            ("emial", "email"),
            ("emails", "email"),
            ("consent_date", "consent_at"),
            ("consentat", "consent_at"),
            ("last_purchase", "last_purchase_at"),
            ("last_purchased_at", "last_purchase_at"),
            ("consent_methode", "consent_method"),
            ("consent_pre_checked", "consent_prechecked"),
            ("county", "country"),
            ("customers", "customer"),
            ("legalhold", "legal_hold"),
            ("local", "locale"),
            ("first_name", "name"),
        ];
        for (name, meant) in cases {
            assert_eq!(near_miss(name), Some(meant), "{name}");
        }
    }

    #[test]
    fn other_columns_are_not_near_misses() {
        let cases = [
            "shoe_size",
            "date",
            "age",
            "phone",
            "city",
            "zip",
            "created_at",
            "updated_at",
            "customer_id",
            "order_id",
            "status",
            "language",
            "gender",
            "",
            "email",
            "consent_withdrawn_at",
        ];
        for name in cases {
            assert_eq!(near_miss(name), None, "{name}");
        }
    }

    #[test]
    fn the_refusal_names_line_column_and_suggestion() {
        assert_eq!(
            refusal(1, "consent_withdrawn", "consent_withdrawn_at"),
            "line 1: unknown column 'consent_withdrawn' — did you mean 'consent_withdrawn_at'?"
        );
    }
}
