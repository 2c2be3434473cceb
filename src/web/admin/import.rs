//! `GET /admin/import`: upload a CSV or JSON Lines file; the dry run (what `import FILE
//! --dry-run` says) comes first, and the Import button then imports that same file as
//! `reconsent import FILE` does. A file with bad lines is refused whole, so the button
//! is offered only for a file without any.

use super::{Admin, AdminError, Signed, Words, frame};
use crate::import::{ImportContext, ImportOptions, ImportReport, import_file};
use axum::body::Bytes;
use axum::extract::multipart::MultipartError;
use axum::extract::{Multipart, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use std::io::Write;
use std::path::PathBuf;
use std::sync::OnceLock;

/// The largest file taken.
pub const MAX_UPLOAD: usize = 200 * 1024 * 1024;
/// How many bad lines a page lists.
const SHOWN: usize = 200;

struct ImportWords {
    lang: &'static str,
    title: &'static str,
    intro: &'static str,
    file: &'static str,
    check: &'static str,
    too_big: &'static str,
    no_file: &'static str,
    dry: &'static str,
    done: &'static str,
    rows: &'static str,
    counts: [&'static str; 5],
    refused: &'static str,
    line: &'static str,
    more: &'static str,
    import: &'static str,
    gone: &'static str,
    again: &'static str,
}

const EN: ImportWords = ImportWords {
    lang: "en",
    title: "Import contacts",
    intro: "A CSV or JSON Lines file, as for `reconsent import`, at most 200 MB. Nothing is written until you have seen the dry run and pressed Import.",
    file: "File",
    check: "Check the file",
    too_big: "The file is larger than 200 MB: split it, or import it with `reconsent import`.",
    no_file: "Choose a file first.",
    dry: "Dry run, nothing written",
    done: "Imported",
    rows: "rows",
    counts: [
        "new contacts",
        "updated",
        "unchanged",
        "duplicate rows (merged)",
        "refused, erased earlier",
    ],
    refused: "The file cannot be imported: these lines are invalid. Nothing was written; correct them and upload the file again.",
    line: "line",
    more: "more",
    import: "Import",
    gone: "That upload is no longer here: upload the file again.",
    again: "Import another file",
};

const PL: ImportWords = ImportWords {
    lang: "pl",
    title: "Import kontaktów",
    intro: "Plik CSV lub JSON Lines, jak dla `reconsent import`, najwyżej 200 MB. Nic nie zostanie zapisane, zanim nie zobaczysz próby i nie klikniesz Importuj.",
    file: "Plik",
    check: "Sprawdź plik",
    too_big: "Plik ma ponad 200 MB: podziel go albo zaimportuj przez `reconsent import`.",
    no_file: "Najpierw wybierz plik.",
    dry: "Próba, nic nie zapisano",
    done: "Zaimportowano",
    rows: "wierszy",
    counts: [
        "nowe kontakty",
        "zaktualizowane",
        "bez zmian",
        "powtórzone wiersze (scalone)",
        "odrzucone, usunięte wcześniej",
    ],
    refused: "Tego pliku nie można zaimportować: te wiersze są błędne. Nic nie zapisano; popraw je i wyślij plik ponownie.",
    line: "wiersz",
    more: "więcej",
    import: "Importuj",
    gone: "Tego pliku już tu nie ma: wyślij go ponownie.",
    again: "Importuj inny plik",
};

const SK: ImportWords = ImportWords {
    lang: "sk",
    title: "Import kontaktov",
    intro: "Súbor CSV alebo JSON Lines ako pre `reconsent import`, najviac 200 MB. Nič sa nezapíše, kým neuvidíte skúšku a nestlačíte Importovať.",
    file: "Súbor",
    check: "Skontrolovať súbor",
    too_big: "Súbor má viac ako 200 MB: rozdeľte ho alebo ho importujte cez `reconsent import`.",
    no_file: "Najprv vyberte súbor.",
    dry: "Skúška, nič sa nezapísalo",
    done: "Importované",
    rows: "riadkov",
    counts: [
        "nové kontakty",
        "aktualizované",
        "bez zmeny",
        "opakované riadky (zlúčené)",
        "odmietnuté, skôr vymazané",
    ],
    refused: "Súbor nemožno importovať: tieto riadky sú chybné. Nič sa nezapísalo; opravte ich a nahrajte súbor znova.",
    line: "riadok",
    more: "ďalších",
    import: "Importovať",
    gone: "Tento súbor tu už nie je: nahrajte ho znova.",
    again: "Importovať iný súbor",
};

const CS: ImportWords = ImportWords {
    lang: "cs",
    title: "Import kontaktů",
    intro: "Soubor CSV nebo JSON Lines jako pro `reconsent import`, nejvýše 200 MB. Nic se nezapíše, dokud neuvidíte zkoušku a nestisknete Importovat.",
    file: "Soubor",
    check: "Zkontrolovat soubor",
    too_big: "Soubor má přes 200 MB: rozdělte ho nebo ho importujte přes `reconsent import`.",
    no_file: "Nejprve vyberte soubor.",
    dry: "Zkouška, nic se nezapsalo",
    done: "Importováno",
    rows: "řádků",
    counts: [
        "nové kontakty",
        "aktualizované",
        "beze změny",
        "opakované řádky (sloučené)",
        "odmítnuté, dříve smazané",
    ],
    refused: "Soubor nelze importovat: tyto řádky jsou chybné. Nic se nezapsalo; opravte je a nahrajte soubor znovu.",
    line: "řádek",
    more: "dalších",
    import: "Importovat",
    gone: "Tento soubor tu už není: nahrajte ho znovu.",
    again: "Importovat jiný soubor",
};

const DE: ImportWords = ImportWords {
    lang: "de",
    title: "Kontakte importieren",
    intro: "Eine CSV- oder JSON-Lines-Datei wie für `reconsent import`, höchstens 200 MB. Nichts wird geschrieben, bevor Sie den Probelauf gesehen und Importieren gedrückt haben.",
    file: "Datei",
    check: "Datei prüfen",
    too_big: "Die Datei ist größer als 200 MB: teilen Sie sie oder importieren Sie sie mit `reconsent import`.",
    no_file: "Wählen Sie zuerst eine Datei.",
    dry: "Probelauf, nichts geschrieben",
    done: "Importiert",
    rows: "Zeilen",
    counts: [
        "neue Kontakte",
        "aktualisiert",
        "unverändert",
        "doppelte Zeilen (zusammengeführt)",
        "abgelehnt, früher gelöscht",
    ],
    refused: "Die Datei kann nicht importiert werden: diese Zeilen sind ungültig. Nichts wurde geschrieben; korrigieren Sie sie und laden Sie die Datei erneut hoch.",
    line: "Zeile",
    more: "weitere",
    import: "Importieren",
    gone: "Dieser Upload ist nicht mehr da: laden Sie die Datei erneut hoch.",
    again: "Eine andere Datei importieren",
};

fn import_words(w: &Words) -> &'static ImportWords {
    [&EN, &PL, &SK, &CS, &DE]
        .into_iter()
        .find(|i| i.lang == w.lang)
        .unwrap_or(&EN)
}

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
        p.crumbs { a href="/admin" { "← " (w.all_campaigns) } }
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
    mut multipart: Multipart,
) -> Result<Response, AdminError> {
    let w = signed.words;
    let i = import_words(w);
    let internal = |e: anyhow::Error| AdminError::Internal(w, e);
    // The token comes first in the form: nothing of an unchecked request is stored.
    let first = multipart.next_field().await;
    let csrf = match first {
        Ok(Some(field)) if field.name() == Some("csrf") => field.text().await.ok(),
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
                return Ok(page_of(
                    &signed,
                    StatusCode::BAD_REQUEST,
                    html! { p.error { (i.no_file) } (upload_form(w, &signed)) },
                ));
            }
            Err(e) if too_big(&e) => {
                return Ok(page_of(
                    &signed,
                    StatusCode::PAYLOAD_TOO_LARGE,
                    html! { p.error { (i.too_big) } (upload_form(w, &signed)) },
                ));
            }
            Err(e) => return Err(internal(e.into())),
        }
    };
    let ext = extension(field.file_name().unwrap_or(""));
    let id = uuid::Uuid::new_v4().simple().to_string();
    let path = uploads()
        .map_err(|e| internal(e.into()))?
        .join(format!("{id}.{ext}"));
    let stored = store_field(field, &path).await;
    let dry = match stored {
        Ok(0) => {
            let _ = std::fs::remove_file(&path);
            return Ok(page_of(
                &signed,
                StatusCode::BAD_REQUEST,
                html! { p.error { (i.no_file) } (upload_form(w, &signed)) },
            ));
        }
        Ok(_) => run(&s, w, &path, true).await?,
        Err(e) => {
            let _ = std::fs::remove_file(&path);
            if e.downcast_ref::<MultipartError>().is_some_and(too_big) {
                return Ok(page_of(
                    &signed,
                    StatusCode::PAYLOAD_TOO_LARGE,
                    html! { p.error { (i.too_big) } (upload_form(w, &signed)) },
                ));
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
        Ok(r) => {
            let _ = std::fs::remove_file(&path);
            (
                StatusCode::UNPROCESSABLE_ENTITY,
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
