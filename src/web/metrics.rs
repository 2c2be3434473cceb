//! `GET /metrics` in the Prometheus text format, behind the admin token (it names every
//! campaign and its figures; Prometheus sends a bearer token with `authorization:` in
//! its scrape configuration).
//!
//! Two kinds of figures:
//! - read from the store at each scrape, so they agree with `campaign status` whoever
//!   sent: `reconsent_messages{campaign,wave,result}` and `reconsent_queue_depth`;
//! - counted by this `serve` process as things happen, from zero at its start (a `send`
//!   or `purge` from the command line is not counted): answers, send and throttle
//!   times, purges, webhook deliveries, HTTP requests.

use super::AppState;
use super::routes::WebError;
use crate::campaign::commands::campaign_status;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use metrics::{Unit, describe_counter, describe_gauge, describe_histogram, gauge};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use std::sync::OnceLock;

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// Seconds, from a fast local SMTP transaction to a slow campaign's throttle.
const BUCKETS: &[f64] = &[
    0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0,
];

/// How often histograms fold their recent samples in, scraped or not.
const UPKEEP: std::time::Duration = std::time::Duration::from_secs(5);

/// Installs the process's recorder, once; later calls change nothing. Without it every
/// metric call elsewhere costs next to nothing and records nothing.
pub fn install() {
    if HANDLE.get().is_some() {
        return;
    }
    let built = PrometheusBuilder::new()
        .set_buckets(BUCKETS)
        .map(PrometheusBuilder::install_recorder);
    let handle = match built {
        Ok(Ok(handle)) => handle,
        Ok(Err(e)) | Err(e) => {
            tracing::warn!("metrics are off: {e}");
            return;
        }
    };
    if HANDLE.set(handle.clone()).is_err() {
        return;
    }
    describe();
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(UPKEEP).await;
            handle.run_upkeep();
        }
    });
}

fn describe() {
    describe_gauge!(
        "reconsent_messages",
        "Messages of each campaign and wave by result, as campaign status counts them (read from the database at each scrape)"
    );
    describe_gauge!(
        "reconsent_queue_depth",
        "Messages not yet handed to the mail server: due, in flight or due later (read from the database at each scrape)"
    );
    describe_counter!(
        "reconsent_answers_total",
        "Views and answers recorded from the links by this process, by kind and whether suspect"
    );
    describe_histogram!(
        "reconsent_send_seconds",
        Unit::Seconds,
        "Time of one SMTP transaction (or .eml write) in this process"
    );
    describe_histogram!(
        "reconsent_throttle_wait_seconds",
        Unit::Seconds,
        "Time a rendered message waited for its campaign's throttle in this process"
    );
    describe_counter!(
        "reconsent_purged_total",
        "Contacts erased by this process's scheduled purges"
    );
    describe_counter!(
        "reconsent_webhook_deliveries_total",
        "Webhook delivery attempts by this process, by result"
    );
    describe_counter!(
        "reconsent_http_requests_total",
        "HTTP requests answered by this process, by route pattern and status"
    );
}

/// Counts a view or an answer once it is recorded.
pub fn answered(entry: &crate::store::LedgerEntry) {
    metrics::counter!(
        "reconsent_answers_total",
        "kind" => entry.event.as_str(),
        "suspect" => entry.suspect.to_string()
    )
    .increment(1);
}

/// Counts every request by the route pattern it matched (never the path itself: it can
/// hold a token) and the status it got.
pub async fn count_requests(req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_string(), |p| p.as_str().to_string());
    let res = next.run(req).await;
    metrics::counter!(
        "reconsent_http_requests_total",
        "route" => route,
        "status" => res.status().as_u16().to_string()
    )
    .increment(1);
    res
}

/// The figures read from the store, then everything rendered.
pub async fn scrape(State(s): State<AppState>) -> Result<Response, WebError> {
    let Some(handle) = HANDLE.get() else {
        return Err(anyhow::anyhow!("the metrics recorder is not installed").into());
    };
    for row in s.store.campaigns().await? {
        let status = campaign_status(&s.store, &row.name).await?;
        for w in &status.waves {
            for (result, n) in [
                ("queued", w.queued),
                ("sent", w.sent),
                ("retrying", w.retrying),
                ("failed", w.failed),
                ("bounced", w.bounced),
                ("unknown", w.unknown),
                ("cancelled", w.cancelled),
            ] {
                let labels = [
                    ("campaign", status.campaign.clone()),
                    ("wave", w.wave.clone()),
                    ("result", result.to_string()),
                ];
                gauge!("reconsent_messages", &labels).set(n as f64);
            }
        }
        let labels = [
            ("campaign", status.campaign.clone()),
            ("wave", "thank_you".to_string()),
            ("result", "sent".to_string()),
        ];
        gauge!("reconsent_messages", &labels).set(status.thank_you_sent as f64);
    }
    let q = s.store.queue_state(None, s.clock.now()).await?;
    gauge!("reconsent_queue_depth").set((q.due + q.in_flight + q.later) as f64);
    let mut res = handle.render().into_response();
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    Ok(res)
}
