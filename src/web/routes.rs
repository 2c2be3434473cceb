//! The token routes (DESIGN §2.5), plus `GET /u/{token}` for clients that open the
//! one-click link in a browser. Only a POST changes anything; every token failure,
//! and every token whose contact or campaign is gone, answers the same 404.

use super::decide::{Reply, decide};
use super::pages::{self, Facts};
use super::{AppState, limit, scanners};
use crate::campaign::Campaign;
use crate::campaign::definition::BonusCode;
use crate::domain::{Instant, LedgerEvent, Locale};
use crate::effects::Effects;
use crate::ledger::shown::page_sha256;
use crate::store::{AnswerContext, AnswerJob, Answered, LedgerEntry, NewConsent, Outcome};
use crate::tokens::{Purpose, TokenClaims};
use axum::Router;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use std::sync::Arc;

pub fn router(state: AppState) -> Router {
    let links = Router::new()
        // axum answers HEAD from the GET handler, without the body: a view is counted.
        .route("/r/{token}", get(page))
        .route("/r/{token}/confirm", post(confirm))
        .route("/r/{token}/leave", post(leave))
        .route("/u/{token}", get(unsubscribe_page).post(one_click))
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            limit::per_client,
        ));
    Router::new()
        .route("/healthz", get(healthz))
        .merge(links)
        .fallback(|| async { WebError::NotFound })
        .layer(middleware::from_fn(deadline))
        .layer(middleware::map_response(private_headers))
        .with_state(state)
}

/// A request that takes too long is answered and dropped: its transaction, if any, is
/// rolled back.
async fn deadline(req: Request, next: Next) -> Response {
    match tokio::time::timeout(super::REQUEST_TIMEOUT, next.run(req)).await {
        Ok(res) => res,
        Err(_) => WebError::Internal(anyhow::anyhow!(
            "the request took longer than {:?}",
            super::REQUEST_TIMEOUT
        ))
        .into_response(),
    }
}

/// Pages behind personal links are never cached, indexed, framed or leaked by referrer.
async fn private_headers(mut res: Response) -> Response {
    let h = res.headers_mut();
    for (name, value) in [
        (header::CACHE_CONTROL, "no-store"),
        (header::REFERRER_POLICY, "no-referrer"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'",
        ),
    ] {
        h.insert(name, HeaderValue::from_static(value));
    }
    h.insert("x-robots-tag", HeaderValue::from_static("noindex"));
    res
}

async fn healthz(State(s): State<AppState>) -> Response {
    match s.store.count_contacts().await {
        Ok(_) => (StatusCode::OK, "ok\n").into_response(),
        Err(e) => {
            tracing::error!("health check: {e:#}");
            (StatusCode::SERVICE_UNAVAILABLE, "database unavailable\n").into_response()
        }
    }
}

pub enum WebError {
    NotFound,
    Internal(anyhow::Error),
}

impl From<anyhow::Error> for WebError {
    fn from(e: anyhow::Error) -> Self {
        WebError::Internal(e)
    }
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        match self {
            WebError::NotFound => (StatusCode::NOT_FOUND, Html(pages::not_found())).into_response(),
            WebError::Internal(e) => {
                // The cause goes to the log only: a client learns nothing about the store.
                tracing::error!("request failed: {e:#}");
                (StatusCode::SERVICE_UNAVAILABLE, Html(pages::unavailable())).into_response()
            }
        }
    }
}

/// Who answered, as far as HTTP tells.
struct Requester {
    ip: String,
    user_agent: Option<String>,
}

impl axum::extract::FromRequestParts<AppState> for Requester {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        s: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let ip = s.client_ip(&parts.headers, &parts.extensions).to_string();
        let user_agent = parts
            .headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(|s| s.chars().take(512).collect());
        Ok(Self { ip, user_agent })
    }
}

/// A verified token with everything it leads to.
struct Answer {
    claims: TokenClaims,
    ctx: AnswerContext,
    campaign: Arc<Campaign>,
    locale: Locale,
}

impl AppState {
    async fn answer(
        &self,
        token: &str,
        purposes: &[Purpose],
        now: Instant,
    ) -> Result<Answer, WebError> {
        let claims = self
            .signer
            .decode(token, now)
            .filter(|c| purposes.contains(&c.purpose))
            .ok_or(WebError::NotFound)?;
        let ctx = self
            .store
            .answer_context(&claims.campaign, &claims.public_id)
            .await?
            .ok_or(WebError::NotFound)?;
        let campaign = self.campaign(&ctx.campaign).await?;
        let locale = ctx
            .contact
            .contact
            .locale
            .clone()
            .unwrap_or_else(|| campaign.default_locale.clone());
        Ok(Answer {
            claims,
            ctx,
            campaign,
            locale,
        })
    }

    /// The request page exactly as a link shows it: the same bytes whenever it is
    /// rendered for the same token, so its hash identifies what the person saw.
    fn request_page(&self, a: &Answer, token: &str) -> Result<String, WebError> {
        let facts = facts(a);
        let html = match a.claims.purpose {
            Purpose::Confirm => {
                let leave = self
                    .signer
                    .sign(&TokenClaims {
                        purpose: Purpose::Leave,
                        ..a.claims.clone()
                    })
                    .map_err(|e| anyhow::anyhow!("cannot sign a leave token: {e}"))?;
                pages::confirm_page(&facts, token, &leave)
            }
            _ => pages::request(&facts, None, &format!("/r/{token}/leave")),
        };
        Ok(html)
    }

    fn entry(
        &self,
        event: LedgerEvent,
        a: &Answer,
        who: &Requester,
        page_sha256: Option<String>,
        now: Instant,
    ) -> LedgerEntry {
        let delivery = a.ctx.delivery.as_ref();
        let too_soon = delivery
            .and_then(|d| d.sent_at)
            .is_some_and(|sent| now < a.campaign.suspect_window.after(sent));
        let scanner = scanners::scanner(who.user_agent.as_deref());
        let wave = delivery.map(|d| {
            usize::try_from(d.wave)
                .ok()
                .and_then(|i| a.campaign.waves.get(i))
                .map_or_else(|| d.wave.to_string(), |w| w.name.clone())
        });
        LedgerEntry {
            event,
            at: now,
            campaign: Some(a.campaign.name.clone()),
            wave,
            ip: Some(who.ip.clone()),
            user_agent: who.user_agent.clone(),
            content_sha256: page_sha256,
            privacy_sha256: a.ctx.campaign.privacy_sha256.clone(),
            privacy_version: a.campaign.privacy_policy_version.clone(),
            message_id: delivery.and_then(|d| d.message_id.clone()),
            policy_version: self.config.policy.version(),
            suspect: too_soon || scanner.is_some(),
            detail: Some(serde_json::json!({
                "locale": a.locale.as_str(),
                "email_sha256": delivery.and_then(|d| d.content_sha256.clone()),
                "scanner": scanner,
                "too_soon_after_delivery": too_soon,
            })),
        }
    }
}

fn facts(a: &Answer) -> Facts<'_> {
    Facts::of(&a.campaign, &a.locale)
}

async fn page(
    State(s): State<AppState>,
    Path(token): Path<String>,
    who: Requester,
) -> Result<Html<String>, WebError> {
    let now = s.clock.now();
    let a = s
        .answer(&token, &[Purpose::Confirm, Purpose::Leave], now)
        .await?;
    let html = s.request_page(&a, &token)?;
    s.show(&a, &who, html, now).await
}

async fn confirm(
    State(s): State<AppState>,
    Path(token): Path<String>,
    who: Requester,
) -> Result<Html<String>, WebError> {
    let now = s.clock.now();
    let a = s.answer(&token, &[Purpose::Confirm], now).await?;
    // A suspect confirmation is still recorded: a person can be quick, or use a
    // scanner-like browser; the flag keeps it apart in the statistics.
    let shown = page_sha256(&s.request_page(&a, &token)?);
    let entry = s.entry(LedgerEvent::Confirmed, &a, &who, Some(shown.clone()), now);
    let new = NewConsent {
        at: now,
        text_version: format!("{}:{}", a.campaign.name, &shown[..12]),
        ip: Some(who.ip.clone()),
        source: format!(
            "reconsent page, campaign {}, wave {}",
            a.campaign.name,
            entry.wave.as_deref().unwrap_or("?")
        ),
    };
    let answered = s
        .record(&a, &entry, Some(&new), Reply::Confirm, now)
        .await?;
    let code = s.bonus_code(&a, &answered);
    let already = answered.outcome == Outcome::Unchanged;
    Ok(Html(pages::thanks(&facts(&a), code.as_deref(), already)))
}

async fn leave(
    State(s): State<AppState>,
    Path(token): Path<String>,
    who: Requester,
) -> Result<Html<String>, WebError> {
    let now = s.clock.now();
    let a = s.answer(&token, &[Purpose::Leave], now).await?;
    let shown = page_sha256(&s.request_page(&a, &token)?);
    s.withdraw(&a, LedgerEvent::Left, Some(shown), who, now)
        .await?;
    Ok(Html(pages::goodbye(&facts(&a))))
}

/// Some mail clients open the `List-Unsubscribe` link instead of POSTing to it: the
/// person sees a leave button, and only its POST withdraws.
async fn unsubscribe_page(
    State(s): State<AppState>,
    Path(token): Path<String>,
    who: Requester,
) -> Result<Html<String>, WebError> {
    let now = s.clock.now();
    let a = s.answer(&token, &[Purpose::Unsubscribe], now).await?;
    let html = pages::request(&facts(&a), None, &format!("/u/{token}"));
    s.show(&a, &who, html, now).await
}

impl AppState {
    /// A page behind a link: shown, and counted as a view with the hash of its bytes.
    async fn show(
        &self,
        a: &Answer,
        who: &Requester,
        html: String,
        now: Instant,
    ) -> Result<Html<String>, WebError> {
        let entry = self.entry(LedgerEvent::Viewed, a, who, Some(page_sha256(&html)), now);
        self.store
            .record_view(a.ctx.contact.id, a.ctx.campaign.id, &entry)
            .await?;
        super::metrics::answered(&entry);
        Ok(Html(html))
    }
}

/// RFC 8058: a mail client POSTs `List-Unsubscribe=One-Click`, with no cookies and no
/// page seen; the withdrawal is immediate and the answer a plain 200.
async fn one_click(
    State(s): State<AppState>,
    Path(token): Path<String>,
    who: Requester,
) -> Result<Html<String>, WebError> {
    let now = s.clock.now();
    let a = s.answer(&token, &[Purpose::Unsubscribe], now).await?;
    s.withdraw(&a, LedgerEvent::Withdrawn, None, who, now)
        .await?;
    Ok(Html(pages::one_click_done(&a.locale)))
}

impl AppState {
    /// Withdrawing twice records nothing new: the first withdrawal stands.
    async fn withdraw(
        &self,
        a: &Answer,
        event: LedgerEvent,
        page_sha256: Option<String>,
        who: Requester,
        now: Instant,
    ) -> Result<(), WebError> {
        let entry = self.entry(event, a, &who, page_sha256, now);
        self.record(a, &entry, None, Reply::Leave, now).await?;
        Ok(())
    }

    /// Decides and writes in the store's one write transaction (see [`decide`]).
    async fn record(
        &self,
        a: &Answer,
        entry: &LedgerEntry,
        consent: Option<&NewConsent>,
        reply: Reply,
        now: Instant,
    ) -> Result<Answered, WebError> {
        let pool = matches!(a.campaign.bonus.code, BonusCode::Pool(_));
        let job = AnswerJob {
            contact_id: a.ctx.contact.id,
            campaign_id: a.ctx.campaign.id,
            entry: entry.clone(),
            consent: consent.cloned(),
            at: now,
            decide: Box::new(move |c| Effects::of_answer(decide(c, reply), pool)),
        };
        let answered = self.answers.record(job).await?;
        if answered.outcome == Outcome::Gone {
            // Erased by a purge between the page and the button: refused like any unknown link.
            return Err(WebError::NotFound);
        }
        super::metrics::answered(entry);
        Ok(answered)
    }

    /// The contact's bonus code: the campaign's static code, or the one drawn from its
    /// pool when the confirmation was recorded. An exhausted pool warns and shows no
    /// code; the confirmation stands whatever happens here.
    fn bonus_code(&self, a: &Answer, answered: &Answered) -> Option<String> {
        if let BonusCode::Static(code) = &a.campaign.bonus.code {
            return Some(code.clone()).filter(|c| !c.is_empty());
        }
        if answered.code.is_none() && answered.outcome == Outcome::Changed {
            tracing::warn!(
                campaign = a.campaign.name,
                "the bonus code pool is exhausted: a confirmation got no code; add codes and send them by hand"
            );
            eprintln!(
                "warning: campaign {}: the bonus code pool is exhausted; a confirmed contact got no code",
                a.campaign.name
            );
        }
        answered.code.clone()
    }
}
