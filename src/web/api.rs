//! `GET /api/campaigns` (every campaign's status, in launch order) and
//! `GET /api/campaigns/{name}` (exactly `campaign status NAME --json`), and `GET /metrics`
//! ([`super::metrics`]): all behind the admin token, sent as `Authorization: Bearer TOKEN`.
//! Answers are JSON, errors too (`{"error": "..."}`).

use super::{AppState, limit, metrics};
use crate::campaign::commands::campaign_status;
use crate::secrets::{self, NoAdminToken};
use axum::extract::{Path, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;

pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/api/campaigns", get(campaigns))
        .route("/api/campaigns/{name}", get(campaign))
        .route("/metrics", get(metrics::scrape))
        // The limit per address first: guessing a token costs requests like anything else.
        .route_layer(middleware::from_fn_with_state(state.clone(), bearer))
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            limit::per_client,
        ))
        .layer(middleware::map_response(no_store))
        .with_state(state)
}

pub enum ApiError {
    Unauthorized,
    NotFound(String),
    Internal(anyhow::Error),
}

impl From<anyhow::Error> for ApiError {
    fn from(e: anyhow::Error) -> Self {
        ApiError::Internal(e)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, message) = match self {
            ApiError::Unauthorized => {
                let body = json!({ "error": "a valid admin token is needed: Authorization: Bearer TOKEN" });
                let mut res = (StatusCode::UNAUTHORIZED, Json(body)).into_response();
                res.headers_mut().insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Bearer realm=\"reconsent\""),
                );
                return res;
            }
            ApiError::NotFound(what) => (StatusCode::NOT_FOUND, what),
            ApiError::Internal(e) => {
                // The cause goes to the log only, as on the link routes.
                tracing::error!("admin request failed: {e:#}");
                (
                    StatusCode::SERVICE_UNAVAILABLE,
                    "temporarily unavailable".to_string(),
                )
            }
        };
        (status, Json(json!({ "error": message }))).into_response()
    }
}

/// The token after `Bearer` (the scheme's case does not matter, RFC 9110 §11.1).
fn bearer_token(value: &str) -> Option<&str> {
    let (scheme, token) = value.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

async fn bearer(State(s): State<AppState>, req: Request, next: Next) -> Response {
    let given = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(bearer_token);
    let expected = match secrets::admin_token(&s.store, &s.config).await {
        Ok(t) => t,
        // No token anywhere yet: nobody is admitted (`serve` warned at its start).
        Err(e) if e.downcast_ref::<NoAdminToken>().is_some() => {
            return ApiError::Unauthorized.into_response();
        }
        Err(e) => return ApiError::Internal(e).into_response(),
    };
    match given {
        Some(given) if secrets::same_token(given, &expected) => next.run(req).await,
        _ => ApiError::Unauthorized.into_response(),
    }
}

async fn no_store(mut res: Response) -> Response {
    let h = res.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    res
}

async fn campaigns(State(s): State<AppState>) -> Result<Json<serde_json::Value>, ApiError> {
    let mut all = Vec::new();
    for row in s.store.campaigns().await? {
        all.push(
            serde_json::to_value(campaign_status(&s.store, &row.name).await?)
                .map_err(anyhow::Error::from)?,
        );
    }
    Ok(Json(serde_json::Value::Array(all)))
}

async fn campaign(
    State(s): State<AppState>,
    Path(name): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    if s.store.campaign(&name).await?.is_none() {
        return Err(ApiError::NotFound(format!(
            "no campaign named '{name}' has been launched"
        )));
    }
    let status = campaign_status(&s.store, &name).await?;
    Ok(Json(
        serde_json::to_value(status).map_err(anyhow::Error::from)?,
    ))
}

#[cfg(test)]
mod tests {
    use super::bearer_token;

    #[test]
    fn bearer_tokens_are_read_from_the_authorization_header() {
        for (header, token) in [
            ("Bearer abc", Some("abc")),
            ("bearer abc", Some("abc")),
            ("BEARER  abc ", Some("abc")),
            ("Bearer", None),
            ("Bearer ", None),
            ("Basic abc", None),
            ("Bearerabc", None),
            ("", None),
        ] {
            assert_eq!(bearer_token(header), token, "{header:?}");
        }
    }
}
