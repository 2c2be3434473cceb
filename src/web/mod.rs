//! `reconsent serve`: the response server behind every link of a request e-mail.
//!
//! | module | does |
//! |---|---|
//! | [`routes`] | `GET`/`HEAD /r/{token}` (a page, a view counted), `POST /r/{token}/confirm`, `POST /r/{token}/leave`, `POST /u/{token}` (RFC 8058), `GET /healthz` |
//! | [`pages`] | the request, thank-you and goodbye pages in five languages; one 404 for every bad link |
//! | `schedule` | every few seconds: reminder waves that have come due ([`crate::campaign::reminders`]) and webhook deliveries ([`crate::webhooks`]); every minute: deadlines and purge ([`crate::purge`]) |
//! | [`thanks`] | the thank-you e-mail with the bonus code, in the background after a confirmation |
//! | [`scanners`] | which user agents are mail scanners, not people (pure) |
//!
//! Scanners fetch every link in a message, so a GET or HEAD never changes consent: only
//! the POST from a button does. Answers too soon after delivery, or from a scanner's
//! user agent, are recorded but flagged `suspect`.

pub mod pages;
pub mod routes;
pub mod scanners;
pub mod thanks;

use crate::campaign::Campaign;
use crate::config::Config;
use crate::send::{Clock, SendOptions, Sender};
use crate::store::{CampaignRow, Store};
use crate::tokens::LinkSigner;
use anyhow::{Context, Result};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};

/// What every handler shares; cloning is cheap.
#[derive(Clone)]
pub struct AppState {
    inner: Arc<Shared>,
}

pub struct Shared {
    pub store: Store,
    pub signer: LinkSigner,
    pub config: Config,
    pub clock: Clock,
    /// Launched campaigns, parsed once, by the hash of their definition: every answer
    /// needs one, and a launched definition never changes.
    campaigns: Mutex<HashMap<String, Arc<Campaign>>>,
}

impl std::ops::Deref for AppState {
    type Target = Shared;
    fn deref(&self) -> &Shared {
        &self.inner
    }
}

impl AppState {
    pub async fn new(store: Store, config: Config, clock: Clock) -> Result<Self> {
        let secrets = store.secrets().await?;
        Ok(Self {
            inner: Arc::new(Shared {
                signer: LinkSigner::new(secrets.link_key),
                store,
                config,
                clock,
                campaigns: Mutex::default(),
            }),
        })
    }

    pub fn campaign(&self, row: &CampaignRow) -> Result<Arc<Campaign>> {
        let mut cache = self
            .campaigns
            .lock()
            .map_err(|_| anyhow::anyhow!("the campaign cache is poisoned"))?;
        if let Some(c) = cache.get(&row.definition_sha256) {
            return Ok(c.clone());
        }
        let parsed = Campaign::parse(&row.definition, &row.source_file)
            .map_err(|e| anyhow::anyhow!("the launched campaign {} is damaged: {e}", row.name))?;
        let parsed = Arc::new(parsed);
        cache.insert(row.definition_sha256.clone(), parsed.clone());
        Ok(parsed)
    }
}

/// How often the scheduler looks for reminder waves that have come due and delivers
/// waiting webhooks.
const TICK: std::time::Duration = std::time::Duration::from_secs(3);
const PURGE_EVERY: std::time::Duration = std::time::Duration::from_secs(60);

async fn purge(state: &AppState, now: crate::domain::Instant) -> Result<crate::purge::PurgeReport> {
    let secrets = state.store.secrets().await?;
    crate::purge::purge(&state.store, &state.config, &secrets, now, false).await
}

/// Serves until Ctrl-C or SIGTERM, then lets requests in flight finish. Beside the
/// pages, the same process queues reminder waves when due and sends what is queued,
/// so one `serve` runs a whole campaign.
pub async fn serve(state: AppState, bind: &str) -> Result<()> {
    let listener = tokio::net::TcpListener::bind(bind)
        .await
        .with_context(|| format!("cannot listen on {bind}"))?;
    let addr = listener.local_addr()?;
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let scheduler = tokio::spawn(schedule(state.clone(), stop_rx));
    let sender = Sender::new(state.store.clone(), state.config.clone(), state.clock);
    let sender_stop = sender.stop_flag();
    let sending = tokio::spawn(async move {
        let opts = SendOptions {
            campaign: None,
            until_idle: false,
        };
        if let Err(e) = sender.run(&opts).await {
            // The pages keep answering: a person's answer matters more than a send.
            tracing::error!("sending stopped: {e:#}");
            eprintln!("error: sending stopped: {e:#}");
        }
    });
    eprintln!("Answering links on http://{addr} and sending due waves (Ctrl-C to stop)");
    let app = routes::router(state);
    let served = axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown_signal())
    .await
    .context("the web server stopped");
    let _ = stop_tx.send(true);
    sender_stop.store(true, Ordering::Relaxed);
    let _ = scheduler.await;
    let _ = sending.await;
    served?;
    eprintln!("stopped");
    Ok(())
}

async fn schedule(state: AppState, mut stop: tokio::sync::watch::Receiver<bool>) {
    let mut last_purge: Option<std::time::Instant> = None;
    loop {
        let now = state.clock.now();
        if let Err(e) = crate::campaign::reminders::enqueue_due_waves(&state.store, now).await {
            tracing::error!("queueing reminder waves: {e:#}");
        }
        // Deadlines and erasure are matters of days: once a minute is plenty.
        if last_purge.is_none_or(|t| t.elapsed() >= PURGE_EVERY) {
            last_purge = Some(std::time::Instant::now());
            match purge(&state, now).await {
                Ok(r) if r.purged + r.newly_queued > 0 => {
                    tracing::info!(
                        purged = r.purged,
                        queued = r.newly_queued,
                        held = r.held.len(),
                        "purge"
                    )
                }
                Ok(_) => {}
                Err(e) => tracing::error!("purge: {e:#}"),
            }
        }
        if let Err(e) = crate::webhooks::deliver(&state.store, &state.config, now).await {
            tracing::error!("webhooks: {e:#}");
        }
        tokio::select! {
            () = tokio::time::sleep(TICK) => {},
            _ = stop.changed() => return,
        }
    }
}

pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}
