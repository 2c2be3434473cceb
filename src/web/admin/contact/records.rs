//! The contact page's proof: whether the contact's hash chain verifies, and its consent
//! records (what `reconsent evidence EMAIL --format jsonl|csv` prints) to download.

use super::super::{Admin, AdminError, Signed};
use super::{ContactWords, Email, fail, file_name, ledger_of};
use crate::ledger::export::{Filter, Format, export};
use crate::ledger::{Verdict, verify_contact};
use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};

/// One line on the contact's chain: it verifies, or the first entry that does not.
pub async fn chain_status(
    s: &Admin,
    w: &'static super::super::Words,
    cw: &ContactWords,
    contact_id: i64,
) -> Result<Markup, AdminError> {
    let verdict = verify_contact(&s.app.store, contact_id, None)
        .await
        .map_err(fail(w))?;
    Ok(match verdict {
        Verdict::Broken(b) => html! {
            p.notice.error #chain data-verified="false" role="alert" {
                (cw.chain_broken) " #" (b.id) " (" (b.event) ", " (b.at.format("%Y-%m-%d %H:%M:%S")) ")"
            }
        },
        _ => html! { p.notice #chain data-verified="true" { (cw.chain_ok) } },
    })
}

async fn download(
    s: &Admin,
    w: &'static super::super::Words,
    email: &str,
    format: Format,
) -> Result<Response, AdminError> {
    let (stored, _) = ledger_of(s, w, email).await?;
    let filter = Filter {
        contact: Some(stored.id),
        ..Filter::default()
    };
    let mut body = Vec::new();
    export(&s.app.store, &filter, format, &mut body)
        .await
        .map_err(fail(w))?;
    let (kind, ext) = match format {
        Format::Jsonl => ("application/jsonl", "jsonl"),
        Format::Csv => ("text/csv; charset=utf-8", "csv"),
    };
    let name = file_name(stored.contact.email.as_str(), ext).replacen("evidence-", "records-", 1);
    Ok((
        [
            (header::CONTENT_TYPE, kind.to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        body,
    )
        .into_response())
}

/// `GET /admin/contact/records.jsonl?email=…`
pub async fn records_jsonl(
    State(s): State<Admin>,
    signed: Signed,
    Query(q): Query<Email>,
) -> Result<Response, AdminError> {
    download(&s, signed.words, &q.email, Format::Jsonl).await
}

/// `GET /admin/contact/records.csv?email=…`
pub async fn records_csv(
    State(s): State<Admin>,
    signed: Signed,
    Query(q): Query<Email>,
) -> Result<Response, AdminError> {
    download(&s, signed.words, &q.email, Format::Csv).await
}
