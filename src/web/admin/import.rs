//! `GET /admin/import`: upload a CSV or JSON Lines file; the dry run (what `import FILE
//! --dry-run` says) comes first, and the Import button then imports that same file as
//! `reconsent import FILE` does. A file with bad lines is refused whole, so the button
//! is offered only for a file without any.

use super::{Admin, AdminError, Signed, Words, frame};
use crate::import::{ImportContext, ImportOptions, ImportReport, import_file};
use axum::body::Bytes;
use axum::extract::multipart::MultipartError;
use axum::extract::{Multipart, Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use std::io::Write;
use std::path::PathBuf;
use std::sync::OnceLock;

mod words;
use words::{ImportWords, import_words};

/// The largest file taken.
pub const MAX_UPLOAD: usize = 200 * 1024 * 1024;
/// How many bad lines a page lists.
const SHOWN: usize = 200;

/// A folder of this process's own, readable by its user alone, for files between
/// their dry run and their import.
fn uploads() -> std::io::Result<&'static PathBuf> {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    if let Some(dir) = DIR.get() {
        return Ok(dir);
    }
    use std::os::unix::fs::DirBuilderExt;
    let dir = std::env::temp_dir().join(format!(
        "reconsent-uploads-{}",
        uuid::Uuid::new_v4().simple()
    ));
    std::fs::DirBuilder::new().mode(0o700).create(&dir)?;
    Ok(DIR.get_or_init(|| dir))
}

/// Uploads never imported go once no session that saw them can still be signed in.
fn forget_stale(dir: &std::path::Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let old = e
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|age| age > super::SESSION_TTL);
        if old {
            let _ = std::fs::remove_file(e.path());
        }
    }
}

fn plain_id(id: &str) -> bool {
    id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit())
}

/// A valid upload id names a file in the folder; anything else names nothing.
fn upload_path(id: &str) -> Option<PathBuf> {
    if !plain_id(id) {
        return None;
    }
    let dir = uploads().ok()?;
    ["csv", "jsonl"]
        .iter()
        .map(|ext| dir.join(format!("{id}.{ext}")))
        .find(|p| p.is_file())
}

/// JSON Lines by the uploaded name; everything else is read as CSV (the reader also
/// looks at the first byte).
fn extension(name: &str) -> &'static str {
    let lower = name.to_ascii_lowercase();
    if [".jsonl", ".ndjson", ".json"]
        .iter()
        .any(|e| lower.ends_with(e))
    {
        "jsonl"
    } else {
        "csv"
    }
}

fn upload_form(w: &Words, signed: &Signed) -> Markup {
    let i = import_words(w);
    html! {
        form.card.upload method="post" action="/admin/import" enctype="multipart/form-data" {
            p { (i.intro) }
            input type="hidden" name="csrf" value=(signed.csrf);
            p {
                label for="file" { (i.file) } " "
                input #file type="file" name="file" required accept=".csv,.txt,.jsonl,.ndjson,.json,text/csv";
            }
            button.primary type="submit" { (i.check) }
        }
    }
}

fn page_of(signed: &Signed, status: StatusCode, body: Markup) -> Response {
    let w = signed.words;
    let i = import_words(w);
    let body = html! {
        link rel="stylesheet" href="/admin/static/files.css";
        p.crumbs { a href="/admin" { "← " (w.all_campaigns) } " · " a href="/admin/files" { (i.to_files) } }
        h1 { (i.title) }
        (body)
    };
    (status, frame(w, i.title, Some(signed), body)).into_response()
}

pub async fn form(signed: Signed) -> Response {
    let form = upload_form(signed.words, &signed);
    page_of(&signed, StatusCode::OK, form)
}

fn report_of(i: &ImportWords, r: &ImportReport, refused: bool) -> Markup {
    let counts = [
        r.inserted,
        r.updated,
        r.unchanged,
        r.merged_duplicates,
        r.refused_tombstoned,
    ];
    html! {
        @if refused {
            p.error { (i.refused) }
            ul.badlines {
                @for e in r.invalid.iter().take(SHOWN) { li { (i.line) " " (e.line) ": " (e.error) } }
            }
            @if r.invalid_count as usize > SHOWN { p { "… " (r.invalid_count as usize - SHOWN) " " (i.more) } }
        } @else {
            h2 { (if r.dry_run { i.dry } else { i.done }) ": " (r.rows) " " (i.rows) }
            table.numbers { tbody {
                @for (label, n) in i.counts.iter().zip(counts) { tr { th scope="row" { (label) } td { (n) } } }
            } }
        }
    }
}

/// `import_file` as the command line runs it, on a thread of its own: its progress
/// callback is not `Send`.
async fn run(
    s: &Admin,
    w: &'static Words,
    path: &std::path::Path,
    dry_run: bool,
) -> Result<anyhow::Result<ImportReport>, AdminError> {
    let app = s.app.clone();
    let path = path.to_path_buf();
    let handle = tokio::runtime::Handle::current();
    let job = tokio::task::spawn_blocking(move || {
        handle.block_on(async {
            let secrets = app.store.secrets().await?;
            let ctx = ImportContext {
                policy: &app.config.policy,
                secrets: &secrets,
                now: app.clock.now(),
            };
            let opts = ImportOptions {
                dry_run,
                skip_invalid: false,
            };
            import_file(&app.store, &path, opts, &ctx, &mut |_| {}).await
        })
    });
    job.await.map_err(|e| AdminError::Internal(w, e.into()))
}

fn too_big(e: &MultipartError) -> bool {
    e.status() == StatusCode::PAYLOAD_TOO_LARGE
}

/// Takes the file, keeps it under a random id, and shows its dry run.
pub async fn upload(
    State(s): State<Admin>,
    signed: Signed,
    headers: HeaderMap,
    mut multipart: Multipart,
) -> Result<Response, AdminError> {
    let w = signed.words;
    let i = import_words(w);
    let internal = |e: anyhow::Error| AdminError::Internal(w, e);
    // The token comes first in the form: nothing of an unchecked request is stored.
    let refused = |status, text| {
        let body = html! { p.error { (text) } (upload_form(w, &signed)) };
        Ok(page_of(&signed, status, body))
    };
    // Refused before any of it is read; a body that grows past it unannounced is
    // refused where it does.
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    if declared.is_some_and(|n| n > MAX_UPLOAD as u64) {
        return refused(StatusCode::PAYLOAD_TOO_LARGE, i.too_big);
    }
    let csrf = match multipart.next_field().await {
        Ok(Some(field)) if field.name() == Some("csrf") => field.text().await.ok(),
        Err(e) if too_big(&e) => return refused(StatusCode::PAYLOAD_TOO_LARGE, i.too_big),
        _ => None,
    };
    match csrf {
        Some(v) if crate::secrets::same_token(&v, &signed.csrf) => {}
        _ => return Err(AdminError::Forbidden(w)),
    }
    let field = loop {
        match multipart.next_field().await {
            Ok(Some(f)) if f.name() == Some("file") => break f,
            Ok(Some(_)) => continue,
            Ok(None) => {
                return refused(StatusCode::BAD_REQUEST, i.no_file);
            }
            Err(e) if too_big(&e) => {
                return refused(StatusCode::PAYLOAD_TOO_LARGE, i.too_big);
            }
            Err(e) => return Err(internal(e.into())),
        }
    };
    let ext = extension(field.file_name().unwrap_or(""));
    let id = uuid::Uuid::new_v4().simple().to_string();
    let dir = uploads().map_err(|e| internal(e.into()))?;
    forget_stale(dir);
    let path = dir.join(format!("{id}.{ext}"));
    let stored = store_field(field, &path).await;
    let dry = match stored {
        Ok(0) => {
            let _ = std::fs::remove_file(&path);
            return refused(StatusCode::BAD_REQUEST, i.no_file);
        }
        Ok(_) => run(&s, w, &path, true).await?,
        Err(e) => {
            let _ = std::fs::remove_file(&path);
            if e.downcast_ref::<MultipartError>().is_some_and(too_big) {
                return refused(StatusCode::PAYLOAD_TOO_LARGE, i.too_big);
            }
            return Err(internal(e));
        }
    };
    let (status, body) = match dry {
        Ok(r) if r.invalid_count == 0 => (
            StatusCode::OK,
            html! {
                (report_of(i, &r, false))
                form.card method="post" action={ "/admin/import/" (id) } {
                    input type="hidden" name="csrf" value=(signed.csrf);
                    div.actions {
                        button.primary type="submit" { (i.import) }
                        a.button href="/admin/import" { (w.no) }
                    }
                }
            },
        ),
        // A refusal is the answer asked for, not a failed request.
        Ok(r) => {
            let _ = std::fs::remove_file(&path);
            (
                StatusCode::OK,
                html! { (report_of(i, &r, true)) (upload_form(w, &signed)) },
            )
        }
        Err(e) => {
            let _ = std::fs::remove_file(&path);
            (
                StatusCode::UNPROCESSABLE_ENTITY,
                html! { p.error { (format!("{e:#}")) } (upload_form(w, &signed)) },
            )
        }
    };
    Ok(page_of(&signed, status, body))
}

/// Streams the field into a new file that only this user can read; its size.
async fn store_field(
    mut field: axum::extract::multipart::Field<'_>,
    path: &std::path::Path,
) -> anyhow::Result<u64> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut out = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    let mut size = 0;
    while let Some(chunk) = field.chunk().await? {
        out.write_all(&chunk)?;
        size += chunk.len() as u64;
    }
    out.sync_all()?;
    Ok(size)
}

/// Imports an uploaded file for real, as `reconsent import FILE` does.
pub async fn commit(
    State(s): State<Admin>,
    signed: Signed,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, AdminError> {
    let w = signed.words;
    let i = import_words(w);
    signed.check_csrf(&body)?;
    let Some(path) = upload_path(&id) else {
        return Ok(page_of(
            &signed,
            StatusCode::NOT_FOUND,
            html! { p.error { (i.gone) } (upload_form(w, &signed)) },
        ));
    };
    let result = run(&s, w, &path, false).await?;
    let _ = std::fs::remove_file(&path);
    let (status, body) = match result {
        Ok(r) => {
            let refused = r.invalid_count > 0;
            let status = if refused {
                StatusCode::UNPROCESSABLE_ENTITY
            } else {
                StatusCode::OK
            };
            (
                status,
                html! { (report_of(i, &r, refused)) p { a href="/admin/import" { (i.again) } " · " a href="/admin" { (w.all_campaigns) } } },
            )
        }
        Err(e) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            html! { p.error { (format!("{e:#}")) } (upload_form(w, &signed)) },
        ),
    };
    Ok(page_of(&signed, status, body))
}

/// The pages' name in the dashboard's header.
pub fn nav_label(w: &Words) -> &'static str {
    import_words(w).title
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upload_ids_are_hex_of_one_length() {
        for (id, plain) in [
            ("0123456789abcdef0123456789abcdef", true),
            ("../../etc/passwd", false),
            ("0123456789abcdef0123456789abcde", false),
            ("0123456789abcdef0123456789abcdeg", false),
            ("", false),
        ] {
            // A plain id that was never uploaded names nothing either.
            assert_eq!(upload_path(id), None, "{id}");
            assert_eq!(plain_id(id), plain, "{id}");
        }
    }

    #[test]
    fn json_lines_by_name_else_csv() {
        for (name, ext) in [
            ("a.csv", "csv"),
            ("A.JSONL", "jsonl"),
            ("x.ndjson", "jsonl"),
            ("x.json", "jsonl"),
            ("x.txt", "csv"),
            ("", "csv"),
        ] {
            assert_eq!(extension(name), ext, "{name}");
        }
    }
}
