//! `GET /admin/contact?email=…`: one contact's class with every reason (what
//! `reconsent explain` says), its consent ledger (what `reconsent evidence` shows) to
//! read or download as JSON or CSV, and erasure on request after a question (what
//! `reconsent forget` does).

use super::{Admin, AdminError, Signed, frame};
use crate::cli::{self, Forgot, Lookup};
use crate::domain::EmailAddress;
use crate::policy::ContactClass;
use crate::store::LedgerEntry;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
pub use words::pick;
use words::{ContactWords, words};

mod records;
mod words;

pub use records::{records_csv, records_jsonl};

const STYLE: &str = include_str!("static/contact.css");

/// The few rules of these pages beyond the dashboard's stylesheet.
pub async fn style() -> Response {
    ([(header::CONTENT_TYPE, "text/css")], STYLE).into_response()
}

/// The link to [`style`], valid in a page's body.
pub fn style_link() -> Markup {
    html! { link rel="stylesheet" href="/admin/static/contact.css"; }
}

/// The header's links to the contact lookup and the purge page.
pub fn nav(w: &super::Words) -> Markup {
    html! {
        nav.pages aria-label=(words(w.lang).pages) {
            a href="/admin/files" { (super::files::nav_label(w)) }
            " · "
            a href="/admin/import" { (super::import::nav_label(w)) }
            " · "
            a href="/admin/contact" { (words(w.lang).title) }
            " · "
            a href="/admin/purge" { (super::purge::title(w)) }
        }
    }
}

#[derive(serde::Deserialize)]
pub struct Email {
    #[serde(default)]
    email: String,
}

fn fail(w: &'static super::Words) -> impl Fn(anyhow::Error) -> AdminError {
    move |e| AdminError::Internal(w, e)
}

/// The lookup form, filled with `email`.
fn lookup_form(cw: &ContactWords, email: &str) -> Markup {
    html! {
        form.card.signin.lookup method="get" action="/admin/contact" role="search" {
            label for="email" { (cw.address) }
            input #email type="email" name="email" value=(email) required autocomplete="off";
            button.primary type="submit" { (cw.look_up) }
        }
    }
}

fn with_email(path: &str, email: &str) -> String {
    let q: String = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("email", email)
        .finish();
    format!("{path}?{q}")
}

/// The page of `email`, with `notice` (a refusal) above it when there is one.
async fn render(
    s: &Admin,
    signed: &Signed,
    email: &str,
    notice: Option<String>,
) -> Result<Markup, AdminError> {
    let w = signed.words;
    let cw = words(w.lang);
    let email = email.trim();
    let body = if email.is_empty() {
        html! { (style_link()) h1 { (cw.title) } (lookup_form(cw, "")) }
    } else {
        let address = match EmailAddress::parse(email) {
            Ok(a) => a,
            Err(e) => {
                let body = html! {
                    (style_link())
                    h1 { (cw.title) }
                    (lookup_form(cw, email))
                    p.notice.error { (cw.not_address) ": " (e) }
                };
                return Ok(frame(w, cw.title, Some(signed), body));
            }
        };
        let found = cli::look_up(&s.app.store, &address)
            .await
            .map_err(fail(w))?;
        let details = match found {
            Lookup::Unknown => html! { p.notice { (cw.unknown) } },
            Lookup::Erased(t) => html! {
                p.notice.erased { (cw.erased) " " (t.at.format("%Y-%m-%d")) " (" (t.reason) ")" }
            },
            Lookup::Contact(stored) => {
                let c = &stored.contact;
                let result = s.app.config.policy.classify(c, s.app.clock.now());
                let entries = s.app.store.ledger(stored.id).await.map_err(fail(w))?;
                let chain = records::chain_status(s, w, cw, stored.id).await?;
                let class_word = ContactClass::ALL
                    .iter()
                    .position(|x| *x == result.class)
                    .and_then(|i| w.classes.get(i))
                    .copied()
                    .unwrap_or(result.class.as_str());
                html! {
                    section.card #explain {
                        h2.contact-name { (c.email) " (" (c.country.map_or("—".to_string(), |c| c.to_string())) ")" }
                        p { (cw.class) ": " strong #class data-class=(result.class.as_str()) { (class_word) } }
                        h3 { (cw.because) }
                        ul #reasons { @for r in &result.reasons { li { (r) } } }
                        @if c.legal_hold == Some(true) { p.held { (cw.held) } }
                    }
                    section #ledger {
                        h2 { (cw.ledger) " (" (entries.len()) ")" }
                        (chain)
                        @if entries.is_empty() { p { (cw.no_entries) } } @else {
                            div.scroll { table.ledger {
                                thead { tr { th scope="col" { (cw.when) } th scope="col" { (cw.event) } th scope="col" { (cw.facts) } } }
                                tbody { @for e in &entries { tr {
                                    td.at { span { (e.at.format("%Y-%m-%d")) } " " span { (e.at.format("%H:%M:%S")) } }
                                    td.event { (e.event) }
                                    td {
                                        (cli::entry_facts(e).join(", "))
                                        @if let Some(d) = &e.detail { div.detail { (d) } }
                                    }
                                } } }
                            } }
                        }
                        p.downloads {
                            (cw.download) ": "
                            a #evidence-json href=(with_email("/admin/contact/evidence.json", c.email.as_str())) download { "JSON" }
                            " · "
                            a #evidence-csv href=(with_email("/admin/contact/evidence.csv", c.email.as_str())) download { "CSV" }
                        }
                        p.downloads {
                            (cw.records) ": "
                            a #records-jsonl href=(with_email("/admin/contact/records.jsonl", c.email.as_str())) download { "JSON Lines" }
                            " · "
                            a #records-csv href=(with_email("/admin/contact/records.csv", c.email.as_str())) download { "CSV" }
                        }
                    }
                    div.actions {
                        form method="get" action="/admin/contact/forget" {
                            input type="hidden" name="email" value=(address.as_str());
                            button.act-cancel #forget type="submit" { (cw.forget) }
                        }
                    }
                }
            }
        };
        html! {
            (style_link())
            h1 { (cw.title) }
            (lookup_form(cw, email))
            @if let Some(n) = &notice { p.notice.error #refused role="alert" { (cw.refused) ": " (n) } }
            (details)
        }
    };
    Ok(frame(w, cw.title, Some(signed), body))
}

pub async fn page(
    State(s): State<Admin>,
    signed: Signed,
    Query(q): Query<Email>,
) -> Result<Markup, AdminError> {
    render(&s, &signed, &q.email, None).await
}

/// The contact's ledger, or 404 when there is no such contact.
async fn ledger_of(
    s: &Admin,
    w: &'static super::Words,
    email: &str,
) -> Result<(crate::store::StoredContact, Vec<LedgerEntry>), AdminError> {
    let address = EmailAddress::parse(email).map_err(|_| AdminError::NotFound(w))?;
    let Lookup::Contact(stored) = cli::look_up(&s.app.store, &address)
        .await
        .map_err(fail(w))?
    else {
        return Err(AdminError::NotFound(w));
    };
    let entries = s.app.store.ledger(stored.id).await.map_err(fail(w))?;
    Ok((*stored, entries))
}

/// A file name made of the address's safe characters.
fn file_name(email: &str, ext: &str) -> String {
    let safe: String = email
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "@.-_".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("evidence-{safe}.{ext}")
}

/// The evidence of `email` as a file: the document of `reconsent evidence EMAIL
/// --json`, or ([`evidence_csv_bytes`]) the ledger as CSV.
async fn download(
    s: &Admin,
    w: &'static super::Words,
    email: &str,
    json: bool,
) -> Result<Response, AdminError> {
    let (stored, entries) = ledger_of(s, w, email).await?;
    let (kind, ext, body) = if json {
        let doc = cli::evidence_document(&stored.contact, &entries);
        let body = serde_json::to_vec_pretty(&doc).map_err(|e| fail(w)(e.into()))?;
        ("application/json", "json", body)
    } else {
        let body = evidence_csv_bytes(&entries).map_err(fail(w))?;
        ("text/csv; charset=utf-8", "csv", body)
    };
    let disposition = format!(
        "attachment; filename=\"{}\"",
        file_name(stored.contact.email.as_str(), ext)
    );
    Ok((
        [
            (header::CONTENT_TYPE, kind.to_string()),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        body,
    )
        .into_response())
}

pub async fn evidence_json(
    State(s): State<Admin>,
    signed: Signed,
    Query(q): Query<Email>,
) -> Result<Response, AdminError> {
    download(&s, signed.words, &q.email, true).await
}

pub async fn evidence_csv(
    State(s): State<Admin>,
    signed: Signed,
    Query(q): Query<Email>,
) -> Result<Response, AdminError> {
    download(&s, signed.words, &q.email, false).await
}

const CSV_HEADER: [&str; 12] = [
    "at",
    "event",
    "campaign",
    "wave",
    "ip",
    "user_agent",
    "message_id",
    "content_sha256",
    "privacy_sha256",
    "policy_version",
    "suspect",
    "detail",
];

/// One row per ledger entry under a header row; `detail` as JSON.
pub fn evidence_csv_bytes(entries: &[LedgerEntry]) -> anyhow::Result<Vec<u8>> {
    let mut out = csv::Writer::from_writer(Vec::new());
    out.write_record(CSV_HEADER)?;
    for e in entries {
        let opt = |v: &Option<String>| v.clone().unwrap_or_default();
        out.write_record([
            e.at.to_rfc3339(),
            e.event.to_string(),
            opt(&e.campaign),
            opt(&e.wave),
            opt(&e.ip),
            opt(&e.user_agent),
            opt(&e.message_id),
            opt(&e.content_sha256),
            opt(&e.privacy_sha256),
            e.policy_version.clone(),
            e.suspect.to_string(),
            e.detail.as_ref().map(|d| d.to_string()).unwrap_or_default(),
        ])?;
    }
    Ok(out.into_inner()?)
}

/// The question before erasure.
pub async fn ask(
    State(s): State<Admin>,
    signed: Signed,
    Query(q): Query<Email>,
) -> Result<Markup, AdminError> {
    let w = signed.words;
    let cw = words(w.lang);
    let (stored, _) = ledger_of(&s, w, &q.email).await?;
    let email = stored.contact.email.as_str();
    let body = html! {
        (style_link())
        h1.contact-name { (cw.forget) ": " (email) }
        form.card.ask method="post" action="/admin/contact/forget" {
            p { (cw.ask) }
            input type="hidden" name="csrf" value=(signed.csrf);
            input type="hidden" name="email" value=(email);
            div.actions {
                button.primary.act-cancel #confirm-forget type="submit" { (w.yes) }
                a.button href=(with_email("/admin/contact", email)) { (w.no) }
            }
        }
    };
    Ok(frame(w, cw.title, Some(&signed), body))
}

/// Does what `reconsent forget` does; a legal hold is refused with its reason.
pub async fn forget(
    State(s): State<Admin>,
    signed: Signed,
    body: Bytes,
) -> Result<Response, AdminError> {
    let w = signed.words;
    signed.check_csrf(&body)?;
    let email = url::form_urlencoded::parse(&body)
        .find(|(k, _)| k == "email")
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default();
    let address = EmailAddress::parse(&email).map_err(|_| AdminError::NotFound(w))?;
    let now = s.app.clock.now();
    match cli::forget_address(&s.app.store, &s.app.config, &address, now)
        .await
        .map_err(fail(w))?
    {
        Forgot::Held => {
            let page = render(&s, &signed, &email, Some(cli::held_reason(&address))).await?;
            Ok((StatusCode::CONFLICT, page).into_response())
        }
        Forgot::Unknown => Err(AdminError::NotFound(w)),
        Forgot::Erased | Forgot::AlreadyErased(_) => {
            Ok(Redirect::to(&with_email("/admin/contact", &email)).into_response())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_csv_has_a_header_and_one_row_per_entry_whatever_they_hold() {
        let at = crate::domain::parse_instant("2026-11-22T10:00:00Z").unwrap();
        let entry = |ua: &str| LedgerEntry {
            event: crate::domain::LedgerEvent::Confirmed,
            at,
            user_agent: Some(ua.into()),
            detail: Some(serde_json::json!({ "note": ua })),
            ..Default::default()
        };
        for agents in [vec![], vec!["plain"], vec!["a, \"quoted\"\nline", "x;y"]] {
            let entries: Vec<LedgerEntry> = agents.iter().map(|a| entry(a)).collect();
            let bytes = evidence_csv_bytes(&entries).unwrap();
            let mut r = csv::Reader::from_reader(&bytes[..]);
            assert_eq!(r.headers().unwrap(), CSV_HEADER.as_slice());
            let rows: Vec<csv::StringRecord> = r.records().map(Result::unwrap).collect();
            assert_eq!(rows.len(), agents.len());
            for (row, a) in rows.iter().zip(&agents) {
                assert_eq!(&row[5], *a);
                let detail: serde_json::Value = serde_json::from_str(&row[11]).unwrap();
                assert_eq!(detail["note"], *a);
            }
        }
    }

    #[test]
    fn file_names_keep_only_safe_characters() {
        for (email, want) in [
            ("a.b@example.com", "evidence-a.b@example.com.json"),
            ("x\"y;z@example.com", "evidence-x_y_z@example.com.json"),
            ("ü@exämple.de", "evidence-_@ex_mple.de.json"),
        ] {
            assert_eq!(file_name(email, "json"), want);
        }
    }
}
