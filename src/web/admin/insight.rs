//! The campaign page's closer looks: answers over time as columns, the confirmation
//! rate by country, by consent class at launch and by language, failures and bounces by the server's answer (with
//! addresses masked), and the deletion calendar with the silent still to be queued.

use super::chart;
use super::insight_words::{self, InsightWords};
use super::overview::{class_index, percent};
use super::{AdminError, Words};
use crate::campaign::Campaign;
use crate::campaign::status::Status;
use crate::domain::Instant;
use crate::policy::ContactClass;
use crate::store::{CampaignRow, DueDay, RateBy, RateRow, Store};
use maud::{Markup, html};
use std::collections::BTreeMap;

const DAY: i64 = 86_400;
const HOUR: i64 = 3_600;
/// Never more columns than this: the latest periods are shown.
const MAX_COLUMNS: i64 = 60;

/// Per hour while a campaign is under three days old, per day after (pure).
pub fn bucket_secs(launched: Instant, now: Instant) -> i64 {
    if now - launched < chrono::Duration::days(3) {
        HOUR
    } else {
        DAY
    }
}

/// The periods from launch to `now`, the latest `MAX_COLUMNS` of them (pure).
pub fn periods(launched: Instant, now: Instant, bucket: i64) -> std::ops::RangeInclusive<i64> {
    let first = launched.timestamp().div_euclid(bucket);
    let last = now.timestamp().div_euclid(bucket).max(first);
    first.max(last - MAX_COLUMNS + 1)..=last
}

pub fn period_label(period: i64, bucket: i64) -> String {
    let at = chrono::DateTime::from_timestamp(period * bucket, 0).unwrap_or_default();
    if bucket < DAY {
        at.format("%m-%d %H h").to_string()
    } else {
        at.format("%m-%d").to_string()
    }
}

pub fn day_label(day: i64) -> String {
    period_label(day, DAY)
}

/// The server's answer with every e-mail address in it masked to its first letter and
/// domain: `j***@example.com` (pure).
pub fn mask_addresses(text: &str) -> String {
    text.split_inclusive(|c: char| c.is_whitespace() || "<>()[],;:\"'".contains(c))
        .map(|part| {
            let end = part.len() - part.chars().last().map_or(0, |c| c.len_utf8());
            let (word, tail) =
                if part.ends_with(|c: char| c.is_whitespace() || "<>()[],;:\"'".contains(c)) {
                    part.split_at(end)
                } else {
                    (part, "")
                };
            match word.split_once('@') {
                Some((local, domain)) if !local.is_empty() && domain.contains('.') => {
                    let first: String = local.chars().take(1).collect();
                    format!("{first}***@{domain}{tail}")
                }
                _ => part.to_string(),
            }
        })
        .collect()
}

/// Everything below the funnel on a campaign's page.
pub async fn sections(
    store: &Store,
    w: &'static Words,
    st: &Status,
    row: &CampaignRow,
    now: Instant,
) -> Result<Markup, AdminError> {
    let fail = |e: anyhow::Error| AdminError::Internal(w, e);
    let t = insight_words::for_words(w);
    let bucket = bucket_secs(row.launched_at, now);
    let answers = store
        .answers_over_time(&row.name, bucket)
        .await
        .map_err(fail)?;
    let (rates, counted_at) = rates(store, row, now).await.map_err(fail)?;
    let [by_country, by_class, by_locale] = match rates {
        Some([a, b, c]) => [Some(a), Some(b), Some(c)],
        None => [None, None, None],
    };
    let class_name = |key: &str| {
        ContactClass::parse(key).map_or_else(
            || key.to_string(),
            |c| w.classes[class_index(c)].to_string(),
        )
    };
    let bounces = store.bounce_texts(row.id).await.map_err(fail)?;
    let mut calendar = store.deletion_calendar(row.id).await.map_err(fail)?;
    let closed = store.campaign_closed(row.id).await.map_err(fail)?;
    let mut silent_day = None;
    if !closed
        && st.state != crate::domain::CampaignState::Cancelled
        && let Ok(c) = Campaign::parse(&row.definition, &row.source_file)
    {
        let due = c.grace.after(c.deadline.at(row.launched_at));
        let held = store
            .silent_held(row.id, row.launched_at)
            .await
            .map_err(fail)?;
        let day = due.timestamp().div_euclid(DAY);
        silent_day = Some(day);
        add_day(
            &mut calendar,
            DueDay {
                day,
                due: (st.no_response - held).max(0),
                held,
            },
        );
    }
    let failures: Vec<(String, i64)> = st
        .failed_reasons
        .iter()
        .map(|(k, n)| (mask_addresses(k), *n))
        .collect();
    let bounces: Vec<(String, i64)> = bounces
        .into_iter()
        .map(|(k, n)| (mask_addresses(&k), n))
        .collect();
    Ok(html! {
        (answers_chart(t, &answers, row.launched_at, now, bucket))
        p.asof { (t.as_of) " " (counted_at.format("%H:%M")) " UTC" }
        (rate_table(t, "rate-country", t.rate_by_country, &by_country, &str::to_uppercase))
        (rate_table(t, "rate-class", t.rate_by_class, &by_class, &class_name))
        (rate_table(t, "rate-locale", t.rate_by_locale, &by_locale, &str::to_string))
        (grouped(t, "failures", t.failures, &failures))
        (grouped(t, "bounces", t.bounces, &bounces))
        (calendar_table(t, &calendar, silent_day))
    })
}

/// How long the rates by group are shown before they are counted again: they join
/// every message sent with its contact, too slow for each view of a large campaign.
const RATES_FOR: std::time::Duration = std::time::Duration::from_secs(60);

/// What the rates are split by, in the order they are counted and shown.
const SPLITS: [RateBy; 3] = [RateBy::Country, RateBy::Class, RateBy::Locale];

/// The rates by each of [`SPLITS`].
type Rates = [Vec<RateRow>; 3];

/// The rates (none while the first count runs), when counted, when last (re)started.
type Counted = (Option<Rates>, Instant, std::time::Instant);

/// The rates by group of the campaigns of this process, by campaign id.
static RATES: std::sync::LazyLock<std::sync::Mutex<std::collections::HashMap<i64, Counted>>> =
    std::sync::LazyLock::new(Default::default);

/// The confirmation rates by every split, and when they were counted: counted in the
/// background the first time (a large campaign takes longer to count than a page may),
/// then shown as last counted while a new count runs.
async fn rates(
    store: &Store,
    row: &CampaignRow,
    now: Instant,
) -> anyhow::Result<(Option<Rates>, Instant)> {
    let mut all = RATES
        .lock()
        .map_err(|_| anyhow::anyhow!("the rates cache is poisoned"))?;
    let (rows, at, stale) = match all.get_mut(&row.id) {
        Some((rows, at, made)) => {
            let stale = made.elapsed() >= RATES_FOR;
            if stale {
                // Whoever finds it stale first counts again; the others show it.
                *made = std::time::Instant::now();
            }
            (rows.clone(), *at, stale)
        }
        None => {
            all.insert(row.id, (None, now, std::time::Instant::now()));
            (None, now, true)
        }
    };
    drop(all);
    if stale {
        recount(store, row, now);
    }
    Ok((rows, at))
}

/// One split after the other: the counts share the machine with the pages.
fn recount(store: &Store, row: &CampaignRow, now: Instant) {
    let (store, row) = (store.clone(), row.clone());
    tokio::spawn(async move {
        let mut rates = Rates::default();
        for (by, rows) in SPLITS.iter().zip(rates.iter_mut()) {
            match store.rate_by(&row, *by).await {
                Ok(r) => *rows = r,
                Err(e) => return tracing::error!("counting rates for /admin: {e:#}"),
            }
        }
        if let Ok(mut all) = RATES.lock() {
            all.insert(row.id, (Some(rates), now, std::time::Instant::now()));
        }
    });
}

fn add_day(calendar: &mut Vec<DueDay>, extra: DueDay) {
    match calendar.iter_mut().find(|d| d.day == extra.day) {
        Some(d) => {
            d.due += extra.due;
            d.held += extra.held;
        }
        None => calendar.push(extra),
    }
    calendar.sort_by_key(|d| d.day);
}

fn answers_chart(
    t: &InsightWords,
    answers: &[(i64, String, bool, i64)],
    launched: Instant,
    now: Instant,
    bucket: i64,
) -> Markup {
    let range = periods(launched, now, bucket);
    let first = *range.start();
    let labels: Vec<String> = range.clone().map(|p| period_label(p, bucket)).collect();
    let mut series = [
        ("valid", t.series[0], vec![0u64; labels.len()]),
        ("withdrawn", t.series[1], vec![0u64; labels.len()]),
        ("weak", t.series[2], vec![0u64; labels.len()]),
    ];
    for (period, answer, suspect, n) in answers {
        let Some(i) = usize::try_from(period - first)
            .ok()
            .filter(|i| *i < labels.len())
        else {
            continue;
        };
        let s = match (suspect, answer.as_str()) {
            (true, _) => 2,
            (false, "confirmed") => 0,
            _ => 1,
        };
        series[s].2[i] += u64::try_from(*n).unwrap_or(0);
    }
    let unit = if bucket < DAY { t.per_hour } else { t.per_day };
    let legend: Vec<(&str, &str)> = series
        .iter()
        .map(|(tone, name, _)| (*tone, *name))
        .collect();
    html! {
        section #answers-over-time aria-labelledby="over-time-h" {
            h2 #over-time-h { (t.over_time) " (" (unit) ")" }
            @if answers.is_empty() { p { (t.no_answers) } } @else {
                (chart::legend(&legend))
                (chart::columns(t.over_time, "chart-answers", &labels, &series))
            }
        }
    }
}

fn rate_table(
    t: &InsightWords,
    id: &str,
    title: &str,
    rows: &Option<Vec<RateRow>>,
    shown: &dyn Fn(&str) -> String,
) -> Markup {
    // A no-break space: "12.5 %" never splits in a narrow column.
    let rate = |r: &RateRow| {
        let x = if r.asked > 0 {
            r.confirmed as f64 / r.asked as f64
        } else {
            0.0
        };
        percent(x).replace(' ', "\u{a0}")
    };
    html! {
        section id=(id) {
            h2 { (title) }
            @if let Some(rows) = rows { @if rows.is_empty() { p { (t.none) } } @else {
                div.scroll { table.numbers {
                    thead { tr { @for c in &t.rate_cols { th scope="col" { (c) } } } }
                    tbody {
                        @for r in rows {
                            tr data-key=(r.key) {
                                th scope="row" { @if r.key.is_empty() { (t.unknown) } @else { (shown(&r.key)) } }
                                td { (r.asked) }
                                td { (r.confirmed) }
                                td.rate { (rate(r)) }
                                td { (r.suspect) }
                            }
                        }
                    }
                } }
            } } @else { p.counting { (t.counting) } }
        }
    }
}

fn grouped(t: &InsightWords, id: &str, title: &str, rows: &[(String, i64)]) -> Markup {
    html! {
        section id=(id) {
            h2 { (title) }
            @if rows.is_empty() { p { (t.none) } } @else {
                div.scroll { table.numbers {
                    thead { tr { th scope="col" { (t.answer) } th scope="col" { (t.messages) } } }
                    tbody { @for (text, n) in rows { tr { th scope="row" { (text) } td { (n) } } } }
                } }
            }
        }
    }
}

fn calendar_table(t: &InsightWords, days: &[DueDay], silent_day: Option<i64>) -> Markup {
    let labels: Vec<String> = days.iter().map(|d| day_label(d.day)).collect();
    let due: Vec<u64> = days
        .iter()
        .map(|d| u64::try_from(d.due).unwrap_or(0))
        .collect();
    let held: Vec<u64> = days
        .iter()
        .map(|d| u64::try_from(d.held).unwrap_or(0))
        .collect();
    let series = [
        ("no_basis", t.calendar_cols[1], due),
        ("stale", t.calendar_cols[2], held),
    ];
    html! {
        section #calendar aria-labelledby="calendar-h" {
            h2 #calendar-h { (t.calendar) }
            p { (t.calendar_note) }
            @if days.is_empty() { p { (t.none) } } @else {
                (chart::columns(t.calendar, "chart-calendar", &labels, &series))
                div.scroll { table.numbers {
                    thead { tr { @for c in &t.calendar_cols { th scope="col" { (c) } } } }
                    tbody {
                        @for d in days {
                            tr data-day=(day_label(d.day)) {
                                th scope="row" {
                                    (day_label(d.day))
                                    @if silent_day == Some(d.day) { " (" (t.silent_at_deadline) ")" }
                                }
                                td.due { (d.due) }
                                td.held { (d.held) }
                            }
                        }
                    }
                } }
            }
        }
    }
}

/// Viewed, confirmed and left per wave name, for the funnel's wave rows.
pub type WaveAnswers = BTreeMap<(String, String), i64>;

pub async fn wave_answers(store: &Store, campaign: &str) -> anyhow::Result<WaveAnswers> {
    Ok(store
        .answers_by_wave(campaign)
        .await?
        .into_iter()
        .map(|(w, e, n)| ((w, e), n))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::parse_instant;

    #[test]
    fn addresses_in_a_server_answer_are_masked() {
        let cases = [
            (
                "550 5.1.1 <jan@shop.example>: user unknown",
                "550 5.1.1 <j***@shop.example>: user unknown",
            ),
            (
                "550 no such user anna.k@mail.example.org",
                "550 no such user a***@mail.example.org",
            ),
            ("452 mailbox full", "452 mailbox full"),
            ("421 try again @ later", "421 try again @ later"),
            ("", ""),
        ];
        for (text, want) in cases {
            assert_eq!(mask_addresses(text), want, "{text}");
        }
    }

    #[test]
    fn young_campaigns_are_charted_per_hour_older_ones_per_day() {
        let launch = parse_instant("2026-11-22T00:00:00Z").unwrap();
        let cases = [
            ("2026-11-22T00:00:00Z", HOUR, 1, "11-22 00 h"),
            ("2026-11-23T05:10:00Z", HOUR, 30, "11-22 00 h"),
            ("2026-11-25T00:00:00Z", DAY, 4, "11-22"),
            ("2027-06-01T00:00:00Z", DAY, 60, "04-03"),
        ];
        for (now, bucket, columns, first) in cases {
            let now = parse_instant(now).unwrap();
            assert_eq!(bucket_secs(launch, now), bucket, "{now}");
            let range = periods(launch, now, bucket);
            assert_eq!(range.clone().count(), columns, "{now}");
            assert_eq!(period_label(*range.start(), bucket), first, "{now}");
        }
    }
}
