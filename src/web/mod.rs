//! `reconsent serve`: the response server behind every link of a request e-mail.
//!
//! | module | does |
//! |---|---|
//! | [`routes`] | `GET`/`HEAD /r/{token}` (a page, a view counted), `POST /r/{token}/confirm`, `POST /r/{token}/leave`, `POST /u/{token}` (RFC 8058), `GET /healthz` |
//! | [`pages`] | the request, thank-you and goodbye pages in five languages; one 404 for every bad link |
//! | [`scanners`] | which user agents are mail scanners, not people (pure) |
//!
//! Scanners fetch every link in a message, so a GET or HEAD never changes consent: only
//! the POST from a button does. Answers too soon after delivery, or from a scanner's
//! user agent, are recorded but flagged `suspect`.

pub mod pages;
pub mod routes;
pub mod scanners;

use crate::config::Config;
use crate::send::Clock;
use crate::store::Store;
use crate::tokens::LinkSigner;
use anyhow::{Context, Result};
use std::net::SocketAddr;
use std::sync::Arc;

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
            }),
        })
    }
}

/// Serves until Ctrl-C or SIGTERM, then lets requests in flight finish.
pub async fn serve(state: AppState, bind: &str) -> Result<()> {
    let listener = tokio::net::TcpListener::bind(bind)
        .await
        .with_context(|| format!("cannot listen on {bind}"))?;
    let addr = listener.local_addr()?;
    eprintln!("Answering links on http://{addr} (Ctrl-C to stop)");
    let app = routes::router(state);
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown_signal())
    .await
    .context("the web server stopped")?;
    eprintln!("stopped");
    Ok(())
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
