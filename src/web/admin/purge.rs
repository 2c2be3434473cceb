//! `GET /admin/purge`: what a purge would erase now (what `reconsent purge --dry-run`
//! lists), the contacts under legal hold apart; "Purge now" asks first, then does what
//! `reconsent purge` does and sends the browser on to its report
//! (`GET /admin/purge/report/{id}`), which a reload shows again without purging again.

use super::{Admin, AdminError, Signed, frame};
use crate::purge::PurgeReport;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::response::Redirect;
use maud::{Markup, html};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

/// How many reports of finished purges are kept, the oldest forgotten first.
const REPORTS_KEPT: usize = 20;

/// The reports of the purges run from the dashboard, by a random id, each for the
/// session that ran it only: they list addresses.
#[derive(Default)]
pub struct Reports(Mutex<HashMap<String, (String, PurgeReport, Instant)>>);

impl Reports {
    /// Keeps `report` for `session`; returns its id.
    fn keep(&self, session: &str, report: PurgeReport) -> String {
        let id = super::random_token();
        let now = Instant::now();
        let mut all = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        all.retain(|_, (_, _, at)| now.duration_since(*at) < super::SESSION_TTL);
        while all.len() >= REPORTS_KEPT {
            let oldest = all
                .iter()
                .min_by_key(|(_, (_, _, at))| *at)
                .map(|(k, _)| k.clone());
            match oldest {
                Some(k) => all.remove(&k),
                None => break,
            };
        }
        all.insert(id.clone(), (session.to_string(), report, now));
        id
    }

    fn get(&self, session: &str, id: &str) -> Option<PurgeReport> {
        let all = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        all.get(id)
            .filter(|(owner, _, at)| owner == session && at.elapsed() < super::SESSION_TTL)
            .map(|(_, report, _)| report.clone())
    }
}

/// How many addresses the page lists before "and N more".
pub const LISTED: usize = 100;

/// The text of these pages in one language.
pub struct PurgeWords {
    title: &'static str,
    would: &'static str,
    nothing: &'static str,
    more: &'static str,
    held: &'static str,
    purge_now: &'static str,
    ask: &'static str,
    done: &'static str,
    erased: &'static str,
    kept: &'static str,
    queued: &'static str,
}

const EN: PurgeWords = PurgeWords {
    title: "Purge",
    would: "A purge now would erase",
    nothing: "Nothing is due for erasure.",
    more: "and {} more",
    held: "Kept under legal hold",
    purge_now: "Purge now",
    ask: "Erase these contacts now? Each leaves only a tombstone that stops its re-import. This cannot be undone.",
    done: "Purge done",
    erased: "Erased",
    kept: "Kept (answered or consented again)",
    queued: "Queued for deletion now (deadline passed)",
};

const PL: PurgeWords = PurgeWords {
    title: "Usuwanie",
    would: "Usunięcie teraz objęłoby",
    nothing: "Nic nie czeka na usunięcie.",
    more: "i {} więcej",
    held: "Zatrzymane z powodu blokady prawnej",
    purge_now: "Usuń teraz",
    ask: "Usunąć te kontakty teraz? Po każdym zostaje tylko nagrobek, który blokuje ponowny import. Tego nie można cofnąć.",
    done: "Usuwanie zakończone",
    erased: "Usunięte",
    kept: "Zatrzymane (odpowiedzieli lub znów wyrazili zgodę)",
    queued: "Dodane teraz do usunięcia (minął termin)",
};

const SK: PurgeWords = PurgeWords {
    title: "Vymazanie",
    would: "Vymazanie teraz by odstránilo",
    nothing: "Nič nečaká na vymazanie.",
    more: "a ďalších {}",
    held: "Ponechané pre zákonné uchovanie",
    purge_now: "Vymazať teraz",
    ask: "Vymazať tieto kontakty teraz? Po každom zostane len náhrobok, ktorý bráni opätovnému importu. Nedá sa to vrátiť.",
    done: "Vymazanie hotové",
    erased: "Vymazané",
    kept: "Ponechané (odpovedali alebo znova súhlasili)",
    queued: "Zaradené na vymazanie teraz (termín uplynul)",
};

const CS: PurgeWords = PurgeWords {
    title: "Mazání",
    would: "Smazání teď by odstranilo",
    nothing: "Nic nečeká na smazání.",
    more: "a dalších {}",
    held: "Ponecháno kvůli zákonnému uchování",
    purge_now: "Smazat teď",
    ask: "Smazat tyto kontakty teď? Po každém zůstane jen náhrobek, který brání opětovnému importu. Nelze to vrátit.",
    done: "Mazání hotovo",
    erased: "Smazáno",
    kept: "Ponecháno (odpověděli nebo znovu souhlasili)",
    queued: "Zařazeno ke smazání teď (termín uplynul)",
};

const DE: PurgeWords = PurgeWords {
    title: "Löschen",
    would: "Ein Löschlauf jetzt würde löschen",
    nothing: "Nichts ist zur Löschung fällig.",
    more: "und {} weitere",
    held: "Wegen Aufbewahrungspflicht behalten",
    purge_now: "Jetzt löschen",
    ask: "Diese Kontakte jetzt löschen? Von jedem bleibt nur ein Grabstein, der den erneuten Import verhindert. Das lässt sich nicht rückgängig machen.",
    done: "Löschlauf beendet",
    erased: "Gelöscht",
    kept: "Behalten (geantwortet oder erneut eingewilligt)",
    queued: "Jetzt zur Löschung vorgemerkt (Frist abgelaufen)",
};

fn words(lang: &str) -> &'static PurgeWords {
    super::contact::pick(lang, [&EN, &PL, &SK, &CS, &DE])
}

/// The page's name, for the header.
pub fn title(w: &super::Words) -> &'static str {
    words(w.lang).title
}

/// The first [`LISTED`] of `all`, and how many are left over (pure).
pub fn first_listed(all: &[String]) -> (&[String], usize) {
    let n = all.len().min(LISTED);
    (&all[..n], all.len() - n)
}

fn held_list(pw: &PurgeWords, held: &[String]) -> Markup {
    html! {
        @if !held.is_empty() {
            section.card #held {
                h2 { (pw.held) " (" (held.len()) ")" }
                ul { @for e in held { li { (e) } } }
            }
        }
    }
}

pub async fn page(State(s): State<Admin>, signed: Signed) -> Result<Markup, AdminError> {
    let w = signed.words;
    let pw = words(w.lang);
    let r = crate::cli::purge_and_tell(&s.app.store, &s.app.config, s.app.clock.now(), true)
        .await
        .map_err(|e| AdminError::Internal(w, e))?;
    let (listed, more) = first_listed(&r.would_purge);
    let body = html! {
        (super::contact::style_link())
        h1 { (pw.title) }
        @if r.would_purge.is_empty() {
            p.notice #would data-count="0" { (pw.nothing) }
        } @else {
            section.card {
                h2 #would data-count=(r.would_purge.len()) { (pw.would) ": " (r.would_purge.len()) }
                form method="get" action="/admin/purge/now" {
                    button.primary.act-cancel #purge-now type="submit" { (pw.purge_now) }
                }
                ul #would-list { @for e in listed { li { (e) } } }
                @if more > 0 { p #more { (pw.more.replace("{}", &more.to_string())) } }
            }
        }
        (held_list(pw, &r.held))
    };
    Ok(frame(w, pw.title, Some(&signed), body))
}

/// The question before the purge.
pub async fn ask(signed: Signed) -> Markup {
    let w = signed.words;
    let pw = words(w.lang);
    let body = html! {
        h1 { (pw.purge_now) }
        form.card.ask method="post" action="/admin/purge/now" {
            p { (pw.ask) }
            input type="hidden" name="csrf" value=(signed.csrf);
            div.actions {
                button.primary.act-cancel #confirm-purge type="submit" { (w.yes) }
                a.button href="/admin/purge" { (w.no) }
            }
        }
    };
    frame(w, pw.title, Some(&signed), body)
}

fn report(pw: &PurgeWords, r: &PurgeReport) -> Markup {
    html! {
        (super::contact::style_link())
        h1 { (pw.done) }
        table.numbers #report { tbody {
            tr { th scope="row" { (pw.erased) } td #erased { (r.purged) } }
            tr { th scope="row" { (pw.kept) } td #kept { (r.kept) } }
            tr { th scope="row" { (pw.held) } td #held-count { (r.held.len()) } }
            @if r.newly_queued > 0 { tr { th scope="row" { (pw.queued) } td { (r.newly_queued) } } }
        } }
        (held_list(pw, &r.held))
        p { a href="/admin/purge" { (pw.title) } }
    }
}

/// Does what `reconsent purge` does, then sends the browser to its report: a reload
/// of that page shows the report again, it does not purge again.
pub async fn run(
    State(s): State<Admin>,
    signed: Signed,
    body: Bytes,
) -> Result<Redirect, AdminError> {
    let w = signed.words;
    signed.check_csrf(&body)?;
    let r = crate::cli::purge_and_tell(&s.app.store, &s.app.config, s.app.clock.now(), false)
        .await
        .map_err(|e| AdminError::Internal(w, e))?;
    let id = s.purges.keep(&signed.id, r);
    Ok(Redirect::to(&format!("/admin/purge/report/{id}")))
}

/// The report of a purge this session ran.
pub async fn shown(
    State(s): State<Admin>,
    signed: Signed,
    Path(id): Path<String>,
) -> Result<Markup, AdminError> {
    let w = signed.words;
    let r = s
        .purges
        .get(&signed.id, &id)
        .ok_or(AdminError::NotFound(w))?;
    let pw = words(w.lang);
    Ok(frame(w, pw.title, Some(&signed), report(pw, &r)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_the_first_hundred_and_counts_the_rest() {
        let many = |n: usize| (0..n).map(|i| format!("a{i}@x.cz")).collect::<Vec<_>>();
        for (n, shown, rest) in [(0, 0, 0), (1, 1, 0), (100, 100, 0), (158, 100, 58)] {
            let all = many(n);
            let (listed, more) = first_listed(&all);
            assert_eq!((listed.len(), more), (shown, rest), "{n}");
        }
    }
}
