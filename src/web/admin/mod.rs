//! `/admin`: the marketer's dashboard, rendered on the server and usable without
//! JavaScript; a few lines of script refresh a running campaign's figures.
//!
//! | module | does |
//! |---|---|
//! | `mod` | the router, sessions, the CSRF check, the page frame and the headers every page gets |
//! | [`login`] | sign in with the admin token, slowed per client address; sign out |
//! | [`overview`] | the contact base by class and country; every campaign's progress |
//! | [`campaign`] | one campaign's funnel, whole and per wave; pause, resume and cancel after a question |
//! | [`contact`] | one contact's class, reasons and ledger, whether its hash chain verifies, its evidence and consent records as JSON or CSV; forget it after a question |
//! | [`purge`] | what a purge would erase now, the purge itself after a question, and its report |
//! | [`files`] | the campaign files: their check, their e-mails, who a launch would ask; launch |
//! | [`import`] | upload a contact file: its dry run, then the import |
//! | [`chart`] | bar charts as inline SVG |
//! | [`insight`] | a campaign's answers over time, rates by country, consent class and language, failures, deletion calendar |
//! | [`insight_words`] | that part's text in the five languages |
//! | [`words`] | the UI text in en, pl, sk, cs, de; which one a request gets |
//!
//! Sessions live in the memory of the `serve` process: a restart signs everyone out.

pub mod campaign;
pub mod chart;
pub mod contact;
pub mod files;
pub mod import;
pub mod insight;
pub mod insight_words;
pub mod login;
pub mod overview;
pub mod purge;
pub mod words;

use super::AppState;
use axum::Router;
use axum::extract::{FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use maud::{DOCTYPE, Markup, html};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use words::Words;

/// How long a sign-in lasts.
pub const SESSION_TTL: Duration = Duration::from_secs(8 * 3600);
const SESSION_COOKIE: &str = "reconsent_admin";
const LANG_COOKIE: &str = "reconsent_lang";
const CSS: &str = include_str!("static/admin.css");
const LIVE_JS: &str = include_str!("static/live.js");
const ICON: &str = include_str!("static/icon.svg");

/// What the admin pages share.
#[derive(Clone)]
pub struct Admin {
    pub app: AppState,
    sessions: Arc<Sessions>,
    guard: Arc<login::Guard>,
    /// Cookies only over HTTPS when the server is reached over HTTPS.
    secure: bool,
    audit: Arc<overview::AuditCache>,
    purges: Arc<purge::Reports>,
}

struct Session {
    csrf: String,
    expires: Instant,
}

#[derive(Default)]
struct Sessions(Mutex<HashMap<String, Session>>);

impl Sessions {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Session>> {
        // A panic while holding the map leaves it whole: a map insert cannot half-happen.
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// A new session: its id and its CSRF token.
    fn open(&self) -> (String, String) {
        let (id, csrf) = (random_token(), random_token());
        let now = Instant::now();
        let mut map = self.lock();
        map.retain(|_, s| s.expires > now);
        map.insert(
            id.clone(),
            Session {
                csrf: csrf.clone(),
                expires: now + SESSION_TTL,
            },
        );
        (id, csrf)
    }

    fn csrf(&self, id: &str) -> Option<String> {
        let map = self.lock();
        map.get(id)
            .filter(|s| s.expires > Instant::now())
            .map(|s| s.csrf.clone())
    }

    fn close(&self, id: &str) {
        self.lock().remove(id);
    }
}

/// 256 random bits, hex.
fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::fill(&mut bytes);
    hex::encode(bytes)
}

/// `/admin` and everything under it, to be merged into the server's router.
pub fn router(app: AppState) -> Router {
    Router::new()
        .nest("/admin", pages(app))
        .route("/admin/", get(|| async { Redirect::permanent("/admin") }))
}

fn pages(app: AppState) -> Router {
    let secure = app.config.base_url.starts_with("https:");
    let state = Admin {
        guard: Arc::default(),
        sessions: Arc::default(),
        secure,
        audit: overview::AuditCache::started(&app),
        purges: Arc::default(),
        app,
    };
    Router::new()
        .route("/", get(overview::page))
        .route("/login", get(login::form).post(login::sign_in))
        .route("/logout", post(login::sign_out))
        .route("/campaigns/{name}", get(campaign::page))
        .route("/campaigns/{name}/figures", get(campaign::figures))
        .route(
            "/campaigns/{name}/{action}",
            get(campaign::ask).post(campaign::act),
        )
        .route("/contact", get(contact::page))
        .route("/contact/evidence.json", get(contact::evidence_json))
        .route("/contact/evidence.csv", get(contact::evidence_csv))
        .route("/contact/records.jsonl", get(contact::records_jsonl))
        .route("/contact/records.csv", get(contact::records_csv))
        .route("/contact/forget", get(contact::ask).post(contact::forget))
        .route("/static/contact.css", get(contact::style))
        .route("/purge", get(purge::page))
        .route("/purge/now", get(purge::ask).post(purge::run))
        .route("/purge/report/{id}", get(purge::shown))
        .route("/files", get(files::list))
        .route("/files/{file}", get(files::page))
        .route("/files/{file}/launch", get(files::ask).post(files::act))
        .route("/files/{file}/mail/{locale}/{wave}", get(files::mail))
        .route(
            "/import",
            get(import::form)
                .post(import::upload)
                .layer(axum::extract::DefaultBodyLimit::max(import::MAX_UPLOAD)),
        )
        .route("/import/{id}", post(import::commit))
        .route(
            "/static/files.css",
            get(|| async { asset("text/css", files::CSS) }),
        )
        .route(
            "/static/admin.css",
            get(|| async { asset("text/css", CSS) }),
        )
        .route(
            "/static/live.js",
            get(|| async { asset("text/javascript", LIVE_JS) }),
        )
        .route(
            "/static/icon.svg",
            get(|| async { asset("image/svg+xml", ICON) }),
        )
        .layer(middleware::from_fn(language_switch))
        .layer(middleware::from_fn(deadline))
        .layer(middleware::map_response(admin_headers))
        .with_state(state)
}

fn asset(kind: &'static str, body: &'static str) -> Response {
    ([(header::CONTENT_TYPE, kind)], body).into_response()
}

/// No inline script and no inline style anywhere: the CSP allows only files from here.
/// A response that brings its own CSP (an e-mail shown in a sandboxed frame) keeps it.
async fn admin_headers(mut res: Response) -> Response {
    let h = res.headers_mut();
    if !h.contains_key(header::CONTENT_SECURITY_POLICY) {
        h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
        h.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(
                "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; \
connect-src 'self'; frame-src 'self'; form-action 'self'; base-uri 'none'; \
frame-ancestors 'none'",
            ),
        );
    }
    for (name, value) in [
        (header::REFERRER_POLICY, "same-origin"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
    ] {
        h.insert(name, HeaderValue::from_static(value));
    }
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    h.insert("x-robots-tag", HeaderValue::from_static("noindex"));
    res
}

/// A page that takes too long (the audit of a very large base) is answered 503 and
/// dropped, like every other route.
async fn deadline(req: Request, next: Next) -> Response {
    let w = words_for(req.uri(), req.headers());
    match tokio::time::timeout(super::REQUEST_TIMEOUT, next.run(req)).await {
        Ok(res) => res,
        Err(_) => {
            tracing::error!(
                "an admin page took longer than {:?}",
                super::REQUEST_TIMEOUT
            );
            let page = frame(w, w.title, None, html! { p.notice { (w.failed) } });
            (StatusCode::SERVICE_UNAVAILABLE, page).into_response()
        }
    }
}

/// `?lang=pl` on any page: remembered in a cookie.
async fn language_switch(req: Request, next: Next) -> Response {
    let chosen = req
        .uri()
        .query()
        .and_then(|q| url::form_urlencoded::parse(q.as_bytes()).find(|(k, _)| k == "lang"))
        .and_then(|(_, v)| words::for_code(&v));
    let mut res = next.run(req).await;
    if let Some(w) = chosen {
        let cookie = format!(
            "{LANG_COOKIE}={}; Path=/admin; Max-Age=31536000; SameSite=Lax",
            w.lang
        );
        if let Ok(v) = HeaderValue::from_str(&cookie) {
            res.headers_mut().append(header::SET_COOKIE, v);
        }
    }
    res
}

fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|pair| {
            let (k, v) = pair.trim().split_once('=')?;
            (k == name).then_some(v)
        })
}

/// The language of a request: `?lang=`, else the cookie, else `Accept-Language`.
pub fn words_for(uri: &Uri, headers: &HeaderMap) -> &'static Words {
    let query = uri.query().and_then(|q| {
        url::form_urlencoded::parse(q.as_bytes())
            .find(|(k, _)| k == "lang")
            .and_then(|(_, v)| words::for_code(&v))
    });
    query
        .or_else(|| cookie(headers, LANG_COOKIE).and_then(words::for_code))
        .unwrap_or_else(|| {
            let accept = headers
                .get(header::ACCEPT_LANGUAGE)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            words::from_accept_language(accept)
        })
}

/// The request's language, for pages without a session.
pub struct Lang(pub &'static Words);

impl<S: Send + Sync> FromRequestParts<S> for Lang {
    type Rejection = std::convert::Infallible;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Lang(words_for(&parts.uri, &parts.headers)))
    }
}

/// A signed-in request; without a session, a redirect to the sign-in form.
pub struct Signed {
    pub id: String,
    pub csrf: String,
    pub words: &'static Words,
}

impl FromRequestParts<Admin> for Signed {
    type Rejection = Response;
    async fn from_request_parts(parts: &mut Parts, state: &Admin) -> Result<Self, Response> {
        let found = cookie(&parts.headers, SESSION_COOKIE)
            .and_then(|id| state.sessions.csrf(id).map(|csrf| (id.to_string(), csrf)));
        match found {
            Some((id, csrf)) => Ok(Signed {
                id,
                csrf,
                words: words_for(&parts.uri, &parts.headers),
            }),
            None => Err(Redirect::to("/admin/login").into_response()),
        }
    }
}

impl Signed {
    /// The body of a state-changing form carries this session's CSRF token, or the
    /// request is refused with 403.
    pub fn check_csrf(&self, body: &[u8]) -> Result<(), AdminError> {
        let sent = url::form_urlencoded::parse(body).find(|(k, _)| k == "csrf");
        match sent {
            Some((_, v)) if crate::secrets::same_token(&v, &self.csrf) => Ok(()),
            _ => Err(AdminError::Forbidden(self.words)),
        }
    }
}

/// What an admin page can fail with, as the marketer sees it.
pub enum AdminError {
    Forbidden(&'static Words),
    NotFound(&'static Words),
    Internal(&'static Words, anyhow::Error),
}

impl IntoResponse for AdminError {
    fn into_response(self) -> Response {
        let (status, w, text) = match self {
            AdminError::Forbidden(w) => (StatusCode::FORBIDDEN, w, w.forbidden),
            AdminError::NotFound(w) => (StatusCode::NOT_FOUND, w, w.not_found),
            AdminError::Internal(w, e) => {
                tracing::error!("admin page: {e:#}");
                (StatusCode::INTERNAL_SERVER_ERROR, w, w.failed)
            }
        };
        let body = frame(w, w.title, None, html! { p.notice { (text) } });
        (status, body).into_response()
    }
}

/// The page around every admin page: the header with the navigation, the language
/// switch and (signed in) the sign-out button.
pub fn frame(w: &Words, title: &str, signed: Option<&Signed>, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang=(w.lang) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · " (w.title) }
                link rel="icon" href="/admin/static/icon.svg" type="image/svg+xml";
                link rel="stylesheet" href="/admin/static/admin.css";
                script src="/admin/static/live.js" defer {}
            }
            body {
                header.top {
                    a.brand href="/admin" { (w.title) }
                    @if signed.is_some() { (contact::nav(w)) }
                    nav aria-label=(w.language) {
                        ul.langs {
                            @for other in words::ALL {
                                li {
                                    @if other.lang == w.lang {
                                        span aria-current="true" lang=(other.lang) { (other.lang.to_uppercase()) }
                                    } @else {
                                        a href={ "?lang=" (other.lang) } lang=(other.lang) hreflang=(other.lang) title=(other.name) {
                                            (other.lang.to_uppercase())
                                        }
                                    }
                                }
                            }
                        }
                    }
                    @if let Some(s) = signed {
                        form.signout method="post" action="/admin/logout" {
                            input type="hidden" name="csrf" value=(s.csrf);
                            button type="submit" { (w.sign_out) }
                        }
                    }
                }
                main { (body) }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sessions_open_check_and_close() {
        let s = Sessions::default();
        let (id, csrf) = s.open();
        assert_eq!(id.len(), 64);
        assert_ne!(id, csrf);
        assert_eq!(s.csrf(&id), Some(csrf));
        assert_eq!(s.csrf("nope"), None);
        s.close(&id);
        assert_eq!(s.csrf(&id), None);
    }
}
