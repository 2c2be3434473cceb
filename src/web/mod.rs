//! `reconsent serve`: the response server behind every link of a request e-mail.
//!
//! | module | does |
//! |---|---|
//! | [`admin`] | `/admin`: the marketer's dashboard, behind a sign-in with the admin token |
//! | [`routes`] | `GET`/`HEAD /r/{token}` (a page, a view counted), `POST /r/{token}/confirm`, `POST /r/{token}/leave`, `POST /u/{token}` (RFC 8058), `GET /healthz` |
//! | [`pages`] | the request, thank-you and goodbye pages in five languages; one 404 for every bad link |
//! | `schedule` | every few seconds: reminder waves that have come due ([`crate::campaign::reminders`]) and webhook deliveries ([`crate::webhooks`]); every minute: deadlines and purge ([`crate::purge`]); and beside it, every `[bounces] every`, the bounce mailbox ([`crate::bounces::fetch`]) |
//! | [`hooks`] | `POST /hooks/{ses,postmark,mailgun,sendgrid}`: late bounces and complaints from the relays, each provider's signature checked ([`crate::bounces::providers`]) |
//! | [`decide`] | what an answer changes, from the consent as it stands (pure) |
//! | [`client`] | the client's address: the peer, or behind a trusted proxy its `X-Forwarded-For` (pure) |
//! | [`limit`] | requests per client address on the link routes; beyond them 429 |
//! | [`scanners`] | which user agents are mail scanners, not people (pure) |
//! | [`api`] | `GET /api/campaigns`, `GET /api/campaigns/{name}` (the JSON of `campaign status`), behind the admin token |
//! | [`metrics`] | `GET /metrics` (Prometheus), behind the admin token; the recorder and the count of HTTP requests |
//!
//! A confirmation queues the thank-you e-mail as a delivery of wave
//! [`crate::store::THANK_YOU_WAVE`] in its own transaction: the sender sends it, once,
//! even if the server restarts in between.
//!
//! Scanners fetch every link in a message, so a GET or HEAD never changes consent: only
//! the POST from a button does. Answers too soon after delivery, or from a scanner's
//! user agent, are recorded but flagged `suspect`.

pub mod admin;
pub mod api;
pub mod client;
pub mod commit;
pub mod decide;
pub mod hooks;
pub mod limit;
pub mod metrics;
pub mod pages;
pub mod routes;
pub mod scanners;

use crate::campaign::Campaign;
use crate::config::Config;
use crate::send::{Clock, SendOptions, Sender};
use crate::store::{AnswerCampaign, Store};
use crate::tokens::LinkSigner;
use anyhow::{Context, Result};
use axum::extract::ConnectInfo;
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
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
    pub limiter: limit::Limiter,
    /// Where answers go to be written (several to a transaction under load).
    pub answers: commit::Committer,
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
                limiter: limit::Limiter::new(&config.web),
                answers: commit::Committer::start(store.clone()),
                store,
                config,
                clock,
                campaigns: Mutex::default(),
            }),
        })
    }

    /// The client's address, as [`client::client_ip`] reads it from the request.
    pub fn client_ip(
        &self,
        headers: &axum::http::HeaderMap,
        extensions: &axum::http::Extensions,
    ) -> IpAddr {
        let peer = extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map_or(IpAddr::V6(std::net::Ipv6Addr::UNSPECIFIED), |c| c.0.ip());
        let values = |name| -> Vec<&str> {
            headers
                .get_all(name)
                .iter()
                .filter_map(|v| v.to_str().ok())
                .collect()
        };
        client::client_ip(
            peer,
            &values("x-forwarded-for"),
            &values("forwarded"),
            &self.config.web.trusted_proxies,
        )
    }

    pub async fn campaign(&self, launched: &AnswerCampaign) -> Result<Arc<Campaign>> {
        if let Some(c) = self.cached_campaign(&launched.definition_sha256)? {
            return Ok(c);
        }
        let row = self
            .store
            .campaign_by_id(launched.id)
            .await?
            .ok_or_else(|| anyhow::anyhow!("the campaign {} is gone", launched.name))?;
        let parsed = Campaign::parse(&row.definition, &row.source_file)
            .map_err(|e| anyhow::anyhow!("the launched campaign {} is damaged: {e}", row.name))?;
        let parsed = Arc::new(parsed);
        self.campaigns
            .lock()
            .map_err(|_| anyhow::anyhow!("the campaign cache is poisoned"))?
            .insert(row.definition_sha256, parsed.clone());
        Ok(parsed)
    }

    fn cached_campaign(&self, definition_sha256: &str) -> Result<Option<Arc<Campaign>>> {
        let cache = self
            .campaigns
            .lock()
            .map_err(|_| anyhow::anyhow!("the campaign cache is poisoned"))?;
        Ok(cache.get(definition_sha256).cloned())
    }
}

/// How often the scheduler looks for reminder waves that have come due and delivers
/// waiting webhooks.
const TICK: std::time::Duration = std::time::Duration::from_secs(3);
const PURGE_EVERY: std::time::Duration = std::time::Duration::from_secs(60);

/// How often `serve` reads the bounce mailbox: `[bounces] every` (default 5 minutes).
fn bounces_every(config: &Config) -> std::time::Duration {
    let secs = match config.bounces.every {
        crate::domain::Span::Seconds(s) => s.max(1) as u64,
        crate::domain::Span::Months(m) => u64::from(m) * 30 * 86_400,
    };
    std::time::Duration::from_secs(secs)
}

async fn purge(state: &AppState, now: crate::domain::Instant) -> Result<crate::purge::PurgeReport> {
    let secrets = state.store.secrets().await?;
    let scrub = crate::purge::Scrub::Spaced(state.config.purge.scrub_every);
    crate::purge::purge(&state.store, &state.config, &secrets, now, false, scrub).await
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
    let scheduler = tokio::spawn(schedule(state.clone(), stop_rx.clone()));
    let bounces = tokio::spawn(read_bounces(state.clone(), stop_rx));
    self::metrics::install();
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
    let app = routes::router(state.clone())
        .merge(api::router(state.clone()))
        .merge(hooks::router(state.clone()))
        .merge(admin::router(state))
        .layer(axum::middleware::from_fn(self::metrics::count_requests));
    let served = listen(listener, app).await;
    let _ = stop_tx.send(true);
    sender_stop.store(true, Ordering::Relaxed);
    let _ = scheduler.await;
    let _ = bounces.await;
    let _ = sending.await;
    served?;
    eprintln!("stopped");
    Ok(())
}

/// A client must send a request's head within this; an idle keep-alive connection is
/// closed after it too.
const HEADER_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);
/// What a request may take, start to end, before it is answered 503.
pub const REQUEST_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(15);
/// How long requests in flight may finish after a stop signal.
const DRAIN: std::time::Duration = std::time::Duration::from_secs(10);

/// HTTP/1.1 with timeouts a slow or idle client cannot outwait (`axum::serve` sets
/// none), until a stop signal; then connections in flight finish, within [`DRAIN`].
async fn listen(listener: tokio::net::TcpListener, app: axum::Router) -> Result<()> {
    use hyper_util::rt::{TokioIo, TokioTimer};
    use tower::ServiceExt;
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let stop = shutdown_signal();
    tokio::pin!(stop);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of file descriptors and the like: pass, rather than spin.
                    tracing::warn!("accepting a connection: {e}");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut stop => break,
        };
        let service =
            app.clone()
                .map_request(move |mut req: axum::http::Request<hyper::body::Incoming>| {
                    req.extensions_mut().insert(ConnectInfo(peer));
                    req
                });
        let conn = hyper::server::conn::http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(HEADER_TIMEOUT)
            .serve_connection(
                TokioIo::new(stream),
                hyper_util::service::TowerToHyperService::new(service),
            );
        let conn = graceful.watch(conn);
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                tracing::debug!("connection from {peer}: {e}");
            }
        });
    }
    drop(listener);
    if tokio::time::timeout(DRAIN, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("connections still open after {DRAIN:?}: closed");
    }
    Ok(())
}

/// Reads the bounce mailbox every `[bounces] every`, apart from the scheduler: a mail
/// server that does not answer must not hold up reminders and purges.
async fn read_bounces(state: AppState, mut stop: tokio::sync::watch::Receiver<bool>) {
    if state.config.bounces.mailbox.is_none() {
        return;
    }
    loop {
        let now = state.clock.now();
        match crate::bounces::fetch::fetch(&state.store, &state.config, now).await {
            Ok(r) if !r.messages.is_empty() => tracing::info!(
                hard_bounces = r.hard_bounces,
                soft_bounces = r.soft_bounces,
                complaints = r.complaints,
                unmatched = r.unmatched,
                skipped = r.skipped,
                "bounce mailbox read"
            ),
            Ok(_) => {}
            Err(e) => tracing::error!("bounce mailbox: {e:#}"),
        }
        tokio::select! {
            () = tokio::time::sleep(bounces_every(&state.config)) => {},
            _ = stop.changed() => return,
        }
    }
}

async fn schedule(state: AppState, mut stop: tokio::sync::watch::Receiver<bool>) {
    let mut last_purge: Option<std::time::Instant> = None;
    loop {
        let now = state.clock.now();
        state.limiter.forget_idle();
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
