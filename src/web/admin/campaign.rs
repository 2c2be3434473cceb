//! `GET /admin/campaigns/{name}`: the funnel, whole and per wave, and the buttons to
//! pause, resume or cancel; each asks first on a page of its own, then does what
//! `reconsent campaign pause|resume|cancel` does. While the campaign sends, the
//! figures (`…/figures`) are fetched again every few seconds by `live.js`.

use super::chart::{self, Bar};
use super::insight;
use super::overview::{percent, state_word, time_left_text};
use super::{Admin, AdminError, Signed, Words, frame};
use crate::campaign::commands::{StateAction, campaign_status, change_state};
use crate::campaign::status::Status;
use crate::domain::CampaignState;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};

async fn status(s: &Admin, w: &'static Words, name: &str) -> Result<Status, AdminError> {
    match s.app.store.campaign(name).await {
        Ok(Some(_)) => {}
        Ok(None) => return Err(AdminError::NotFound(w)),
        Err(e) => return Err(AdminError::Internal(w, e)),
    }
    campaign_status(&s.app.store, name)
        .await
        .map_err(|e| AdminError::Internal(w, e))
}

/// The actions a campaign in `state` can take.
pub fn actions(state: CampaignState) -> &'static [StateAction] {
    match state {
        CampaignState::Running => &[StateAction::Pause, StateAction::Cancel],
        CampaignState::Paused => &[StateAction::Resume, StateAction::Cancel],
        CampaignState::Cancelled | CampaignState::Completed => &[],
    }
}

fn action_index(a: StateAction) -> usize {
    match a {
        StateAction::Pause => 0,
        StateAction::Resume => 1,
        StateAction::Cancel => 2,
    }
}

pub async fn page(
    State(s): State<Admin>,
    signed: Signed,
    Path(name): Path<String>,
) -> Result<Markup, AdminError> {
    let w = signed.words;
    let st = status(&s, w, &name).await?;
    let now = s.app.clock.now();
    let fail = |e: anyhow::Error| AdminError::Internal(w, e);
    let row = s
        .app
        .store
        .campaign(&name)
        .await
        .map_err(fail)?
        .ok_or(AdminError::NotFound(w))?;
    let waves = insight::wave_answers(&s.app.store, &name)
        .await
        .map_err(fail)?;
    let more = insight::sections(&s.app.store, w, &st, &row, now).await?;
    let body = html! {
        p.crumbs { a href="/admin" { "← " (w.all_campaigns) } }
        h1 { (st.campaign) " " span class={ "state s-" (st.state) } { (state_word(w, st.state)) } }
        @if let Some(reason) = &st.state_reason { p.reason { (reason) } }
        p {
            (w.deadline) ": " (st.deadline.get(..10).unwrap_or(&st.deadline))
            " · " (w.time_left) ": " (time_left_text(w, &st.deadline, now))
        }
        @let possible = actions(st.state);
        @if !possible.is_empty() {
            div.actions {
                @for a in possible {
                    form method="get" action={ "/admin/campaigns/" (st.campaign) "/" (a.as_str()) } {
                        button class={ "act-" (a.as_str()) } type="submit" { (w.actions[action_index(*a)]) }
                    }
                }
            }
        }
        (figures_of(w, &st, &waves))
        (more)
        p.refresh {
            a href={ "/admin/campaigns/" (st.campaign) } { (w.refresh) }
            @if st.state == CampaignState::Running { " · " (w.live) }
        }
    };
    Ok(frame(w, &st.campaign, Some(&signed), body))
}

/// Just the figures, for the page to swap in.
pub async fn figures(
    State(s): State<Admin>,
    signed: Signed,
    Path(name): Path<String>,
) -> Result<Markup, AdminError> {
    let st = status(&s, signed.words, &name).await?;
    let waves = insight::wave_answers(&s.app.store, &name)
        .await
        .map_err(|e| AdminError::Internal(signed.words, e))?;
    Ok(figures_of(signed.words, &st, &waves))
}

fn figures_of(w: &Words, st: &Status, answers: &insight::WaveAnswers) -> Markup {
    let answered = |wave: &str, event: &str| {
        answers
            .get(&(wave.to_string(), event.to_string()))
            .copied()
            .unwrap_or(0)
    };
    let n = |x: i64| u64::try_from(x).unwrap_or(0);
    let f = &w.funnel;
    let steps = [
        Bar {
            label: f[0],
            value: n(st.targeted),
            tone: "step",
        },
        Bar {
            label: f[1],
            value: n(st.sent),
            tone: "step",
        },
        Bar {
            label: f[2],
            value: n(st.viewed),
            tone: "step",
        },
        Bar {
            label: f[3],
            value: n(st.confirmed),
            tone: "valid",
        },
        Bar {
            label: f[4],
            value: n(st.left),
            tone: "withdrawn",
        },
        Bar {
            label: f[5],
            value: n(st.no_response),
            tone: "no_basis",
        },
        Bar {
            label: f[6],
            value: n(st.queued_for_deletion),
            tone: "stale",
        },
        Bar {
            label: f[7],
            value: n(st.purged),
            tone: "no_basis",
        },
    ];
    let live = (st.state == CampaignState::Running)
        .then(|| format!("/admin/campaigns/{}/figures", st.campaign));
    html! {
        section #figures data-live=[live] aria-live="polite" {
            h2 { (w.whole) }
            div.split {
                (chart::bars(w.whole, "chart-funnel", &steps))
                table.numbers {
                    tbody {
                        tr { th scope="row" { (w.rate) } td { (percent(st.confirmation_rate)) } }
                        tr { th scope="row" { (w.suspect) } td #suspect { (st.suspect) } }
                        @for (label, v) in w.detail.iter().zip([st.queued + st.retrying, st.failed, st.bounced, st.unknown, st.cancelled]) {
                            tr { th scope="row" { (label) } td { (v) } }
                        }
                    }
                }
            }
            @if !st.waves.is_empty() {
                h2 { (w.by_wave) }
                div.scroll {
                    table.waves {
                        thead { tr {
                            th scope="col" { (w.wave) }
                            th scope="col" { (f[0]) }
                            th scope="col" { (f[1]) }
                            @for d in &w.detail[..4] { th scope="col" { (d) } }
                            th scope="col" { (f[2]) }
                            th scope="col" { (f[3]) }
                            th scope="col" { (f[4]) }
                        } }
                        tbody {
                            @for wave in &st.waves {
                                tr {
                                    th scope="row" { (wave.wave) }
                                    td { (wave.targeted) }
                                    td { (wave.sent) }
                                    td { (wave.queued + wave.retrying) }
                                    td { (wave.failed) }
                                    td { (wave.bounced) }
                                    td { (wave.unknown) }
                                    td.viewed { (answered(&wave.wave, "viewed")) }
                                    td.confirmed { (answered(&wave.wave, "confirmed")) }
                                    td.left { (answered(&wave.wave, "left")) }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn parse_action(w: &'static Words, action: &str) -> Result<StateAction, AdminError> {
    StateAction::parse(action).ok_or(AdminError::NotFound(w))
}

/// The question before an action, with the button that does it.
pub async fn ask(
    State(s): State<Admin>,
    signed: Signed,
    Path((name, action)): Path<(String, String)>,
) -> Result<Markup, AdminError> {
    let w = signed.words;
    let action = parse_action(w, &action)?;
    let st = status(&s, w, &name).await?;
    let back = format!("/admin/campaigns/{}", st.campaign);
    let i = action_index(action);
    let body = html! {
        h1 { (w.actions[i]) ": " (st.campaign) }
        form.card.ask method="post" action={ (back) "/" (action.as_str()) } {
            p { (w.asks[i]) }
            input type="hidden" name="csrf" value=(signed.csrf);
            div.actions {
                button class={ "primary act-" (action.as_str()) } type="submit" { (w.yes) }
                a.button href=(back) { (w.no) }
            }
        }
    };
    Ok(frame(w, &st.campaign, Some(&signed), body))
}

pub async fn act(
    State(s): State<Admin>,
    signed: Signed,
    Path((name, action)): Path<(String, String)>,
    body: Bytes,
) -> Result<Response, AdminError> {
    let w = signed.words;
    let action = parse_action(w, &action)?;
    signed.check_csrf(&body)?;
    let st = status(&s, w, &name).await?;
    // Asked twice, or overtaken by another change: the page shows how things stand.
    if !actions(st.state).contains(&action) {
        return Ok(Redirect::to(&format!("/admin/campaigns/{name}")).into_response());
    }
    let now = s.app.clock.now();
    change_state(&s.app.store, &name, action, "the dashboard", now)
        .await
        .map_err(|e| AdminError::Internal(w, e))?;
    Ok(Redirect::to(&format!("/admin/campaigns/{name}")).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_running_and_paused_campaigns_can_change() {
        let cases: [(CampaignState, &[StateAction]); 4] = [
            (
                CampaignState::Running,
                &[StateAction::Pause, StateAction::Cancel],
            ),
            (
                CampaignState::Paused,
                &[StateAction::Resume, StateAction::Cancel],
            ),
            (CampaignState::Cancelled, &[]),
            (CampaignState::Completed, &[]),
        ];
        for (state, want) in cases {
            assert_eq!(actions(state), want, "{state}");
        }
    }
}
