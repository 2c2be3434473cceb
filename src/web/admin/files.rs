//! `GET /admin/files`: the campaign files in `campaigns/` with what `campaign check`
//! says of each; one file's page shows its e-mails (as `campaign preview` renders them,
//! each in a sandboxed frame), who a launch would ask (as `campaign launch --dry-run`),
//! and launches it after a question, as `campaign launch` does.

use super::{Admin, AdminError, Signed, Words, frame};
use crate::campaign::check::{self, CheckReport, probe_name};
use crate::campaign::commands::Sample;
use crate::campaign::launch::{LaunchReport, launch};
use crate::domain::Locale;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use std::path::PathBuf;

mod words;
use words::{FilesWords, files_words};

const FOLDER: &str = "campaigns";
pub const CSS: &str = include_str!("static/files.css");

/// The path of a campaign file named in a URL: a plain `NAME.toml` in `campaigns/`,
/// never anything that could lead out of it.
pub fn campaign_path(file: &str) -> Option<PathBuf> {
    let plain = !file.is_empty()
        && !file.starts_with('.')
        && file.ends_with(".toml")
        && file
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | '.'))
        && !file.contains("..");
    plain.then(|| PathBuf::from(FOLDER).join(file))
}

async fn checked(
    s: &Admin,
    w: &'static Words,
    file: &str,
) -> Result<(PathBuf, CheckReport), AdminError> {
    let path = campaign_path(file).ok_or(AdminError::NotFound(w))?;
    if !path.is_file() {
        return Err(AdminError::NotFound(w));
    }
    let app = s.app.clone();
    let now = app.clock.now();
    let p = path.clone();
    // Checking renders every template: off the async threads.
    let report = tokio::task::spawn_blocking(move || check::check(&p, &app.config, now))
        .await
        .map_err(|e| AdminError::Internal(w, e.into()))?;
    Ok((path, report))
}

async fn launched_at(
    s: &Admin,
    w: &'static Words,
    r: &CheckReport,
) -> Result<Option<String>, AdminError> {
    let Some(name) = &r.campaign else {
        return Ok(None);
    };
    let row = s.app.store.campaign(name).await;
    let row = row.map_err(|e| AdminError::Internal(w, e))?;
    Ok(row.map(|r| r.launched_at.to_rfc3339()))
}

pub async fn list(State(s): State<Admin>, signed: Signed) -> Result<Markup, AdminError> {
    let w = signed.words;
    let f = files_words(w);
    let mut names: Vec<String> = match std::fs::read_dir(FOLDER) {
        Ok(dir) => dir
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .filter(|n| campaign_path(n).is_some())
            .collect(),
        Err(_) => Vec::new(),
    };
    names.sort();
    let mut rows = Vec::new();
    for name in names {
        let (_, report) = checked(&s, w, &name).await?;
        let launched = launched_at(&s, w, &report).await?;
        rows.push((name, report, launched));
    }
    let body = html! {
        link rel="stylesheet" href="/admin/static/files.css";
        p.crumbs { a href="/admin" { "← " (w.all_campaigns) } " · " a href="/admin/import" { (f.to_import) } }
        h1 { (f.files) }
        @if rows.is_empty() { p.notice { (f.none) } } @else {
            div.scroll { table.files {
                thead { tr {
                    th scope="col" { (f.file) } th scope="col" { (f.campaign) }
                    th scope="col" { (f.check) } th scope="col" { (f.state) }
                } }
                tbody { @for (name, r, launched) in &rows { tr {
                    th scope="row" { a href={ "/admin/files/" (name) } { (name) } }
                    td { (r.campaign.as_deref().unwrap_or("?")) }
                    td.check { @if r.ok { (f.ok) } @else {
                        ul.problems { @for p in &r.problems { li { (p) } } }
                    } }
                    td { @if launched.is_some() { (f.launched) } @else { (f.not_launched) } }
                } } }
            } }
        }
    };
    Ok(frame(w, f.files, Some(&signed), body))
}

fn audience(f: &FilesWords, r: &LaunchReport) -> Markup {
    html! {
        h2 { (f.audience) }
        div.split {
            table.numbers { caption { (f.asked) } tbody {
                @for (class, n) in &r.audience { tr { th scope="row" { (class) } td { (n) } } }
            } }
            @if !r.excluded.is_empty() {
                table.numbers { caption { (f.not_asked) } tbody {
                    @for (why, n) in &r.excluded { tr { th scope="row" { (why) } td { (n) } } }
                } }
            }
        }
        p { (r.enqueued) " " (f.first_wave) }
    }
}

fn check_of(f: &FilesWords, r: &CheckReport) -> Markup {
    html! {
        @if r.ok { p.check { (f.check) ": " strong { (f.ok) } } } @else {
            h2 { (f.problems) }
            ul.problems { @for p in &r.problems { li { (p) } } }
        }
        @if !r.warnings.is_empty() {
            h2 { (f.warnings) }
            ul { @for x in &r.warnings { li { (x) } } }
        }
    }
}

pub async fn page(
    State(s): State<Admin>,
    signed: Signed,
    Path(file): Path<String>,
) -> Result<Markup, AdminError> {
    let w = signed.words;
    let f = files_words(w);
    let (path, report) = checked(&s, w, &file).await?;
    let launched = launched_at(&s, w, &report).await?;
    let sample = report.ok.then(|| Sample::load(&path).ok()).flatten();
    let dry = if report.ok && launched.is_none() {
        let now = s.app.clock.now();
        Some(launch(&s.app.store, &s.app.config, &path, now, true).await)
    } else {
        None
    };
    let name = report.campaign.clone().unwrap_or_default();
    let body = html! {
        link rel="stylesheet" href="/admin/static/files.css";
        p.crumbs { a href="/admin/files" { "← " (f.files) } }
        h1 { (file) }
        (check_of(f, &report))
        @if let Some(at) = &launched {
            p { (f.launched) " " (at.get(..10).unwrap_or(at)) " · "
                a href={ "/admin/campaigns/" (name) } { (f.open_campaign) } }
        }
        @match &dry {
            Some(Ok(r)) => {
                (audience(f, r))
                form method="get" action={ "/admin/files/" (file) "/launch" } {
                    button.primary type="submit" { (f.launch) }
                }
            }
            Some(Err(e)) => { p.error { (format!("{e:#}")) } }
            None => {}
        }
        @if let Some(sample) = &sample {
            h2 { (f.mails) }
            div.mails {
                @for locale in sample.renderer.locales() {
                    @for (i, wave) in sample.campaign.waves.iter().enumerate() {
                        figure {
                            figcaption { (locale) " · " (f.wave) " " (wave.name) }
                            iframe sandbox="" title={ (locale) " " (wave.name) }
                                src={ "/admin/files/" (file) "/mail/" (locale) "/" (i) } {}
                        }
                    }
                }
            }
        }
    };
    Ok(frame(w, &file, Some(&signed), body))
}

/// One e-mail's HTML for a sample contact, served so that a frame can show it and it
/// can do nothing: no script, no same origin, nothing loaded from elsewhere.
pub async fn mail(
    State(s): State<Admin>,
    signed: Signed,
    Path((file, locale, wave)): Path<(String, String, usize)>,
) -> Result<Response, AdminError> {
    let w = signed.words;
    let path = campaign_path(&file).ok_or(AdminError::NotFound(w))?;
    let locale = Locale::parse(&locale).map_err(|_| AdminError::NotFound(w))?;
    let sample = Sample::load(&path).map_err(|_| AdminError::NotFound(w))?;
    if wave >= sample.campaign.waves.len() {
        return Err(AdminError::NotFound(w));
    }
    let now = s.app.clock.now();
    let public_id = uuid::Uuid::new_v4().simple().to_string();
    let links = sample
        .links(&s.app.signer, &s.app.config.base_url, &public_id, now)
        .map_err(|e| AdminError::Internal(w, e))?;
    let rendered = sample
        .render(&links, &locale, Some(probe_name(&locale)), wave, now)
        .map_err(|e| AdminError::Internal(w, e))?;
    let mut res = rendered.html.into_response();
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src data:; \
frame-ancestors 'self'",
        ),
    );
    h.insert(
        header::X_FRAME_OPTIONS,
        HeaderValue::from_static("SAMEORIGIN"),
    );
    Ok(res)
}

/// The question before a launch, with who it would ask.
pub async fn ask(
    State(s): State<Admin>,
    signed: Signed,
    Path(file): Path<String>,
) -> Result<Markup, AdminError> {
    let w = signed.words;
    let f = files_words(w);
    let (path, report) = checked(&s, w, &file).await?;
    let now = s.app.clock.now();
    let dry = launch(&s.app.store, &s.app.config, &path, now, true).await;
    let back = format!("/admin/files/{file}");
    let body = html! {
        link rel="stylesheet" href="/admin/static/files.css";
        h1 { (f.launch) ": " (report.campaign.as_deref().unwrap_or(&file)) }
        @match &dry {
            Ok(r) if !r.already_launched => {
                (audience(f, r))
                form.card.ask method="post" action={ (back) "/launch" } {
                    p { (f.ask) }
                    input type="hidden" name="csrf" value=(signed.csrf);
                    div.actions {
                        button.primary type="submit" { (w.yes) }
                        a.button href=(back) { (w.no) }
                    }
                }
            }
            Ok(r) => { p { (f.launched) " " (r.launched_at) " · "
                a href={ "/admin/campaigns/" (r.campaign) } { (f.open_campaign) } } }
            Err(e) => { p.error { (format!("{e:#}")) } p { a href=(back) { (w.no) } } }
        }
    };
    Ok(frame(w, &file, Some(&signed), body))
}

/// Does what `reconsent campaign launch FILE` does.
pub async fn act(
    State(s): State<Admin>,
    signed: Signed,
    Path(file): Path<String>,
    body: Bytes,
) -> Result<Response, AdminError> {
    let w = signed.words;
    let f = files_words(w);
    signed.check_csrf(&body)?;
    let path = campaign_path(&file).ok_or(AdminError::NotFound(w))?;
    if !path.is_file() {
        return Err(AdminError::NotFound(w));
    }
    let now = s.app.clock.now();
    let result = launch(&s.app.store, &s.app.config, &path, now, false).await;
    let (status, body) = match &result {
        Ok(r) => (
            StatusCode::OK,
            html! {
                h1 { (r.campaign) }
                @if r.already_launched {
                    p { (f.launched) " " (r.launched_at) }
                } @else {
                    p.notice { (f.done) ": " strong { (r.enqueued) } }
                }
                p { a.button href={ "/admin/campaigns/" (r.campaign) } { (f.open_campaign) } }
            },
        ),
        Err(e) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            html! {
                h1 { (f.failed) }
                p.error { (format!("{e:#}")) }
                p { a href={ "/admin/files/" (file) } { (file) } }
            },
        ),
    };
    Ok((status, frame(w, &file, Some(&signed), body)).into_response())
}

/// The pages' name in the dashboard's header.
pub fn nav_label(w: &Words) -> &'static str {
    files_words(w).files
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_toml_names_in_the_folder() {
        let cases = [
            ("example.toml", true),
            ("spring-2027_v2.toml", true),
            ("../x.toml", false),
            ("..", false),
            ("a/b.toml", false),
            ("a\\b.toml", false),
            (".hidden.toml", false),
            ("x..toml", false),
            ("example.txt", false),
            ("", false),
            ("/etc/x.toml", false),
        ];
        for (name, ok) in cases {
            assert_eq!(campaign_path(name).is_some(), ok, "{name}");
        }
    }
}
