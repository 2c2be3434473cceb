//! Signing in with the admin token, and out. Every attempt costs the client address
//! one of a few per minute: guessing the token takes forever.

use super::{Admin, Lang, SESSION_COOKIE, SESSION_TTL, Signed, frame};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use governor::{DefaultKeyedRateLimiter, Quota};
use maud::html;
use std::net::IpAddr;
use std::num::NonZeroU32;

/// Sign-in attempts per client address: this many at once, then one more a minute.
const ATTEMPTS: u32 = 5;

pub struct Guard(DefaultKeyedRateLimiter<IpAddr>);

impl Default for Guard {
    fn default() -> Self {
        let burst = NonZeroU32::new(ATTEMPTS).unwrap_or(NonZeroU32::MIN);
        Self(DefaultKeyedRateLimiter::keyed(
            Quota::per_minute(NonZeroU32::MIN).allow_burst(burst),
        ))
    }
}

impl Guard {
    fn allows(&self, ip: IpAddr) -> bool {
        // Addresses whose attempts have all come back are forgotten, now and then.
        if self.0.len() > 1024 {
            self.0.retain_recent();
        }
        self.0.check_key(&ip).is_ok()
    }
}

#[derive(Clone, Copy)]
enum Problem {
    Wrong,
    TooMany,
    NotConfigured,
}

fn form_page(w: &'static super::Words, problem: Option<Problem>) -> maud::Markup {
    let message = problem.map(|p| match p {
        Problem::Wrong => w.wrong_token,
        Problem::TooMany => w.too_many,
        Problem::NotConfigured => w.not_configured,
    });
    frame(
        w,
        w.sign_in,
        None,
        html! {
            h1 { (w.sign_in) }
            form.card.signin method="post" action="/admin/login" {
                @if let Some(m) = message {
                    p.error role="alert" id="login-error" { (m) }
                }
                label for="token" { (w.token) }
                input #token type="password" name="token" required autocomplete="current-password"
                    autofocus aria-describedby="token-hint";
                p.hint #token-hint { (w.token_hint) }
                button.primary type="submit" { (w.sign_in) }
            }
        },
    )
}

pub async fn form(Lang(w): Lang) -> Response {
    form_page(w, None).into_response()
}

pub async fn sign_in(
    State(s): State<Admin>,
    Lang(w): Lang,
    headers: HeaderMap,
    extensions: axum::http::Extensions,
    body: Bytes,
) -> Response {
    let ip = s.app.client_ip(&headers, &extensions);
    if !s.guard.allows(ip) {
        let mut res = (
            StatusCode::TOO_MANY_REQUESTS,
            form_page(w, Some(Problem::TooMany)),
        )
            .into_response();
        res.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("60"));
        return res;
    }
    let expected = match crate::secrets::admin_token(&s.app.store, &s.app.config).await {
        Ok(t) => t,
        Err(e) => {
            tracing::error!("admin sign-in: {e:#}");
            return (
                StatusCode::SERVICE_UNAVAILABLE,
                form_page(w, Some(Problem::NotConfigured)),
            )
                .into_response();
        }
    };
    let given = url::form_urlencoded::parse(&body)
        .find(|(k, _)| k == "token")
        .map(|(_, v)| v.trim().to_string())
        .unwrap_or_default();
    if !crate::secrets::same_token(&given, &expected) {
        tracing::warn!(%ip, "admin sign-in with a wrong token");
        return (StatusCode::UNAUTHORIZED, form_page(w, Some(Problem::Wrong))).into_response();
    }
    let (id, _) = s.sessions.open();
    let cookie = format!(
        "{SESSION_COOKIE}={id}; Path=/admin; Max-Age={}; HttpOnly; SameSite=Strict{}",
        SESSION_TTL.as_secs(),
        if s.secure { "; Secure" } else { "" }
    );
    let mut res = Redirect::to("/admin").into_response();
    if let Ok(v) = HeaderValue::from_str(&cookie) {
        res.headers_mut().insert(header::SET_COOKIE, v);
    }
    res
}

pub async fn sign_out(State(s): State<Admin>, signed: Signed, body: Bytes) -> Response {
    if let Err(e) = signed.check_csrf(&body) {
        return e.into_response();
    }
    s.sessions.close(&signed.id);
    let gone = format!(
        "{SESSION_COOKIE}=; Path=/admin; Max-Age=0; HttpOnly; SameSite=Strict{}",
        if s.secure { "; Secure" } else { "" }
    );
    let mut res = Redirect::to("/admin/login").into_response();
    if let Ok(v) = HeaderValue::from_str(&gone) {
        res.headers_mut().insert(header::SET_COOKIE, v);
    }
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_few_attempts_per_address_then_none() {
        let g = Guard::default();
        let a: IpAddr = "203.0.113.7".parse().unwrap();
        let b: IpAddr = "203.0.113.8".parse().unwrap();
        for _ in 0..ATTEMPTS {
            assert!(g.allows(a));
        }
        assert!(!g.allows(a));
        assert!(g.allows(b), "another address has its own attempts");
    }
}
