//! `POST /hooks/{ses,postmark,mailgun,sendgrid}`: late bounces and complaints from the
//! relays. The provider's signature or credentials are checked first; a request that
//! fails answers 401 and changes nothing. A provider that is not configured has no
//! endpoint (404). Events that name no delivery are answered 200 all the same, so the
//! relay does not send them again and again.

use super::AppState;
use crate::bounces::Source;
use crate::bounces::apply::{Applier, Outcome};
use crate::bounces::providers::{ProviderEvent, Refused, mailgun, postmark, sendgrid, ses};
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;

pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/hooks/ses", post(ses_hook))
        .route("/hooks/postmark", post(postmark_hook))
        .route("/hooks/mailgun", post(mailgun_hook))
        .route("/hooks/sendgrid", post(sendgrid_hook))
        .with_state(state)
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

async fn ses_hook(State(state): State<AppState>, body: Bytes) -> Response {
    match ses::events(&state.config.bounces.ses, &body) {
        Ok(ses::Delivery::Events(events)) => apply(&state, Source::Ses, events).await,
        Ok(ses::Delivery::Subscribe(url)) => {
            // Confirming is the marketer's act: the address is shown, not fetched.
            tracing::warn!("SNS asks to confirm the subscription of /hooks/ses: open {url}");
            eprintln!("SNS asks to confirm the subscription of /hooks/ses: open {url}");
            (StatusCode::OK, "subscription noted").into_response()
        }
        Err(r) => refused(Source::Ses, r),
    }
}

async fn postmark_hook(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let checked = postmark::check(
        &state.config.bounces.postmark,
        header(&headers, "authorization"),
    )
    .and_then(|()| postmark::events(&body));
    match checked {
        Ok(events) => apply(&state, Source::Postmark, events).await,
        Err(r) => refused(Source::Postmark, r),
    }
}

async fn mailgun_hook(State(state): State<AppState>, body: Bytes) -> Response {
    match mailgun::events(&state.config.bounces.mailgun, &body, state.clock.now()) {
        Ok(events) => apply(&state, Source::Mailgun, events).await,
        Err(r) => refused(Source::Mailgun, r),
    }
}

async fn sendgrid_hook(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let events = sendgrid::events(
        &state.config.bounces.sendgrid,
        header(&headers, "x-twilio-email-event-webhook-signature"),
        header(&headers, "x-twilio-email-event-webhook-timestamp"),
        &body,
    );
    match events {
        Ok(events) => apply(&state, Source::Sendgrid, events).await,
        Err(r) => refused(Source::Sendgrid, r),
    }
}

fn refused(source: Source, r: Refused) -> Response {
    match r {
        Refused::NotConfigured => (StatusCode::NOT_FOUND, "not found").into_response(),
        Refused::Unauthorized(why) => {
            tracing::warn!(source = source.as_str(), "webhook refused: {why}");
            (StatusCode::UNAUTHORIZED, "unauthorized").into_response()
        }
        Refused::BadPayload(why) => (StatusCode::BAD_REQUEST, why).into_response(),
    }
}

async fn apply(state: &AppState, source: Source, events: Vec<ProviderEvent>) -> Response {
    let mut applier = Applier::new(&state.store, &state.config);
    let now = state.clock.now();
    let (mut applied, mut already, mut unmatched) = (0, 0, 0);
    for e in &events {
        match applier
            .apply(source, &e.key, &e.tokens, &e.event, now)
            .await
        {
            Ok(Outcome::Applied(_)) => applied += 1,
            Ok(Outcome::Already(_)) => already += 1,
            Ok(Outcome::Unmatched) => unmatched += 1,
            Err(err) => {
                // 5xx: the relay sends it again later; what was applied counts once.
                tracing::error!(source = source.as_str(), "applying a late event: {err:#}");
                return (StatusCode::SERVICE_UNAVAILABLE, "try again later").into_response();
            }
        }
    }
    axum::Json(serde_json::json!({
        "applied": applied,
        "already_applied": already,
        "unmatched": unmatched,
    }))
    .into_response()
}
