//! `GET /admin`: the contact base by consent class and country (what `reconsent audit`
//! counts), and every campaign with its progress, answers and time left.

use super::chart::{self, Bar};
use super::insight::day_label;
use super::insight_words;
use super::{Admin, AdminError, Signed, Words, frame};
use crate::campaign::status::Status;
use crate::cli::AuditCounts;
use crate::domain::{CampaignState, Instant};
use crate::policy::ContactClass;
use crate::web::AppState;
use axum::extract::State;
use maud::{Markup, html};
use std::collections::HashMap;
use std::sync::Arc;
use tokio::sync::RwLock;

/// How often the audit behind the page is counted again.
const AUDIT_EVERY: std::time::Duration = std::time::Duration::from_secs(300);

/// The audit of the whole base, counted in the background: classifying a million
/// contacts takes seconds, too long for a page. The page says when it was counted.
#[derive(Default)]
pub struct AuditCache(RwLock<Option<(AuditCounts, Instant)>>);

impl AuditCache {
    /// A cache counted now and every few minutes for as long as the server runs.
    pub fn started(app: &AppState) -> Arc<Self> {
        let cache = Arc::new(Self::default());
        let (weak, app) = (Arc::downgrade(&cache), app.clone());
        tokio::spawn(async move {
            while let Some(cache) = weak.upgrade() {
                if let Err(e) = cache.refresh(&app).await {
                    tracing::error!("counting the audit for /admin: {e:#}");
                }
                drop(cache);
                tokio::time::sleep(AUDIT_EVERY).await;
            }
        });
        cache
    }

    async fn refresh(&self, app: &AppState) -> anyhow::Result<()> {
        let now = app.clock.now();
        let counts = crate::cli::audit_counts(&app.store, &app.config.policy, now).await?;
        *self.0.write().await = Some((counts, now));
        Ok(())
    }

    /// The latest counts and when they were made; none until the first count, begun
    /// when the server started, is done: the page does not wait seconds for it.
    async fn get(&self) -> Option<(AuditCounts, Instant)> {
        self.0.read().await.clone()
    }
}

/// Whole days and hours until `deadline`; `None` once it has passed (pure).
pub fn time_left(deadline: Instant, now: Instant) -> Option<(i64, i64)> {
    let left = deadline - now;
    if left <= chrono::Duration::zero() {
        return None;
    }
    let hours = left.num_hours();
    Some((hours / 24, hours % 24))
}

pub fn time_left_text(w: &Words, deadline: &str, now: Instant) -> String {
    let Ok(deadline) = crate::domain::parse_instant(deadline) else {
        return deadline.to_string();
    };
    match time_left(deadline, now) {
        // No-break spaces: "23 h" never splits over two lines.
        Some((d, h)) => format!("{d}\u{a0}{} {h}\u{a0}{}", w.units[0], w.units[1]),
        None => w.past_deadline.to_string(),
    }
}

/// A campaign state as the marketer reads it.
pub fn state_word(w: &Words, state: CampaignState) -> String {
    let i = match state {
        CampaignState::Running => 0,
        CampaignState::Paused => 1,
        CampaignState::Cancelled => 2,
        CampaignState::Completed => 3,
    };
    w.states[i].to_string()
}

pub fn percent(rate: f64) -> String {
    format!("{:.1} %", rate * 100.0)
}

pub fn class_index(c: ContactClass) -> usize {
    ContactClass::ALL
        .iter()
        .position(|x| *x == c)
        .unwrap_or_default()
}

pub async fn page(State(s): State<Admin>, signed: Signed) -> Result<Markup, AdminError> {
    let w = signed.words;
    let fail = |e: anyhow::Error| AdminError::Internal(w, e);
    let now = s.app.clock.now();
    let t = insight_words::for_words(w);
    let audit = s.audit.get().await;
    let rates: HashMap<i64, i64> = s
        .app
        .store
        .sent_since(now - chrono::Duration::minutes(1))
        .await
        .map_err(fail)?
        .into_iter()
        .collect();
    let mut statuses = Vec::new();
    for row in s.app.store.campaigns().await.map_err(fail)? {
        let status = recent_status(&s.app, &row.name).await.map_err(fail)?;
        statuses.push((status, rates.get(&row.id).copied().unwrap_or(0)));
    }
    let due = s
        .app
        .store
        .due_by_day(now, now + chrono::Duration::days(30))
        .await
        .map_err(fail)?;
    let due_total: i64 = due.iter().map(|d| d.due).sum();
    let due_labels: Vec<String> = due.iter().map(|d| day_label(d.day)).collect();
    let due_series = [(
        "no_basis",
        t.calendar_cols[1],
        due.iter()
            .map(|d| u64::try_from(d.due).unwrap_or(0))
            .collect(),
    )];
    let body = html! {
        h1 { (w.overview) }
        section.card aria-labelledby="contacts-h" {
            h2 #contacts-h { (w.contacts) }
            @if let Some((audit, counted_at)) = &audit {
                (contact_base(w, t, audit, *counted_at))
            } @else {
                p.counting { (t.counting) }
            }
        }
        section.card #due aria-labelledby="due-h" {
            h2 #due-h { (t.due_30) }
            p.big { strong #due-30 { (due_total) } }
            @if !due.is_empty() {
                (chart::columns(t.due_30, "chart-due", &due_labels, &due_series))
            }
        }
        section aria-labelledby="campaigns-h" {
            h2 #campaigns-h { (w.campaigns) }
            @if statuses.is_empty() {
                p { (w.no_campaigns) }
            }
            @for (st, rate) in &statuses {
                (campaign_card(w, st, *rate, now))
            }
        }
    };
    Ok(frame(w, w.overview, Some(&signed), body))
}

/// The contact base by class and by country, as last counted.
fn contact_base(
    w: &Words,
    t: &insight_words::InsightWords,
    audit: &AuditCounts,
    counted_at: Instant,
) -> Markup {
    let class_bars: Vec<Bar<'_>> = audit
        .classes
        .iter()
        .map(|(c, n)| Bar {
            label: w.classes[class_index(*c)],
            value: *n,
            tone: c.as_str(),
        })
        .collect();
    let countries: Vec<(String, Vec<u64>)> = audit
        .by_country
        .iter()
        .map(|(cc, m)| {
            let parts = ContactClass::ALL
                .iter()
                .map(|c| m.get(c).copied().unwrap_or(0))
                .collect();
            (cc.to_uppercase(), parts)
        })
        .collect();
    let tones: Vec<&str> = ContactClass::ALL.iter().map(|c| c.as_str()).collect();
    let legend: Vec<(&str, &str)> = ContactClass::ALL
        .iter()
        .map(|c| (c.as_str(), w.classes[class_index(*c)]))
        .collect();
    html! {
        p.asof { (t.as_of) " " (counted_at.format("%H:%M")) " UTC" }
        p.big {
            strong #total { (audit.total) } " " (w.counted) " · "
            strong #eligible { (audit.eligible) } " " (w.eligible)
        }
        h3 { (w.by_class) }
        (chart::bars(w.by_class, "chart-classes", &class_bars))
        h3 { (w.by_country) }
        (chart::legend(&legend))
        (chart::stacked(w.by_country, "chart-countries", &countries, &tones))
    }
}

/// How old a campaign's figures on the overview may be before they are counted again:
/// counting a campaign of half a million messages takes longer than the page may.
const STATUS_FOR: std::time::Duration = std::time::Duration::from_secs(5);

type Counted = (Status, std::time::Instant);

static STATUSES: std::sync::LazyLock<std::sync::Mutex<HashMap<String, Counted>>> =
    std::sync::LazyLock::new(Default::default);

/// A campaign's figures as last counted, counted again in the background once
/// `STATUS_FOR` old; counted now the first time.
async fn recent_status(app: &AppState, name: &str) -> anyhow::Result<Status> {
    let lock = || {
        STATUSES
            .lock()
            .map_err(|_| anyhow::anyhow!("the campaign figures cache is poisoned"))
    };
    let cached = lock()?.get(name).cloned();
    if let Some((status, made)) = cached {
        if made.elapsed() >= STATUS_FOR {
            if let Some(entry) = lock()?.get_mut(name) {
                // Whoever finds it old first counts again; the others show it.
                entry.1 = std::time::Instant::now();
            }
            let (app, name) = (app.clone(), name.to_string());
            tokio::spawn(async move {
                match crate::campaign::commands::campaign_status(&app.store, &name).await {
                    Ok(st) => {
                        if let Ok(mut all) = STATUSES.lock() {
                            all.insert(name, (st, std::time::Instant::now()));
                        }
                    }
                    Err(e) => tracing::error!("counting {name} for /admin: {e:#}"),
                }
            });
        }
        return Ok(status);
    }
    let status = crate::campaign::commands::campaign_status(&app.store, name).await?;
    lock()?.insert(
        name.to_string(),
        (status.clone(), std::time::Instant::now()),
    );
    Ok(status)
}

fn campaign_card(w: &Words, st: &Status, rate: i64, now: Instant) -> Markup {
    let t = insight_words::for_words(w);
    html! {
        article.card.campaign id={ "campaign-" (st.campaign) } {
            h3 {
                a href={ "/admin/campaigns/" (st.campaign) } { (st.campaign) }
                " "
                span class={ "state s-" (st.state) } { (state_word(w, st.state)) }
            }
            progress max=(st.targeted.max(1)) value=(st.sent)
                aria-label={ (st.sent) " " (w.sent_of) " " (st.targeted) } {}
            p.sent { (st.sent) " " (w.sent_of) " " (st.targeted) }
            dl.facts {
                div {
                    dt { (w.rate) }
                    dd { (percent(st.confirmation_rate)) " (" (st.confirmed) ")" }
                }
                div {
                    dt { (w.funnel[4]) }
                    dd { (st.left) }
                }
                div {
                    dt { (w.suspect) }
                    dd { (st.suspect) }
                }
                div {
                    dt { (t.send_rate) }
                    dd.send-rate { (rate) " " (t.per_minute) }
                }
                div {
                    dt { (w.time_left) }
                    dd { (time_left_text(w, &st.deadline, now)) }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::parse_instant;

    #[test]
    fn time_left_in_days_and_hours_until_the_deadline() {
        let now = parse_instant("2026-11-22T00:00:00Z").unwrap();
        let cases = [
            ("2026-11-25T05:30:00Z", Some((3, 5))),
            ("2026-11-22T00:59:00Z", Some((0, 0))),
            ("2026-11-22T00:00:00Z", None),
            ("2026-11-01T00:00:00Z", None),
            ("2027-01-01T00:00:00Z", Some((40, 0))),
        ];
        for (deadline, want) in cases {
            assert_eq!(
                time_left(parse_instant(deadline).unwrap(), now),
                want,
                "{deadline}"
            );
        }
    }

    #[test]
    fn states_and_rates_read_as_words() {
        let w = &super::super::words::EN;
        assert_eq!(state_word(w, CampaignState::Running), "sending");
        assert_eq!(state_word(w, CampaignState::Completed), "completed");
        assert_eq!(percent(0.125), "12.5 %");
    }
}
