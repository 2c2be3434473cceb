//! The answer context read back, the same for every backend: one statement joins the
//! campaign, the contact and the contact's requests (latest wave first); its rows are
//! decoded here, generic over the backend's row type.

use super::{AnswerCampaign, AnswerContext, RequestDelivery, StoredContact};
use crate::domain::{DeliveryState, from_unix};
use anyhow::Result;
use sqlx::{ColumnIndex, Decode, Row, Type};

/// The columns besides the contact's: the campaign's as `k`, the request's as `d`.
pub(super) const CAMPAIGN_COLUMNS: &str = "k.id AS k_id, k.name AS k_name, \
    k.definition_sha256 AS k_sha256, k.privacy_sha256 AS k_privacy";
pub(super) const REQUEST_COLUMNS: &str =
    "d.wave, d.state, d.message_id, d.content_sha256, d.sent_at";

/// `None` when there are no rows: the campaign or the contact is gone, or the contact
/// was never part of the campaign.
pub(super) fn answer_context<'r, R>(
    rows: &'r [R],
    contact: impl Fn(&'r R) -> Result<StoredContact>,
) -> Result<Option<AnswerContext>>
where
    R: Row,
    &'static str: ColumnIndex<R>,
    i64: Decode<'r, R::Database> + Type<R::Database>,
    String: Decode<'r, R::Database> + Type<R::Database>,
{
    let Some(first) = rows.first() else {
        return Ok(None);
    };
    let campaign = AnswerCampaign {
        id: first.try_get("k_id")?,
        name: first.try_get("k_name")?,
        definition_sha256: first.try_get("k_sha256")?,
        privacy_sha256: first.try_get("k_privacy")?,
    };
    let mut requests = Vec::with_capacity(rows.len());
    for r in rows {
        let state: String = r.try_get("state")?;
        let state = DeliveryState::parse(&state)
            .ok_or_else(|| anyhow::anyhow!("a delivery has the unknown state {state:?}"))?;
        requests.push((
            state,
            RequestDelivery {
                wave: r.try_get("wave")?,
                message_id: r.try_get("message_id")?,
                content_sha256: r.try_get("content_sha256")?,
                sent_at: r.try_get::<Option<i64>, _>("sent_at")?.map(from_unix),
            },
        ));
    }
    Ok(Some(AnswerContext {
        contact: contact(first)?,
        campaign,
        delivery: RequestDelivery::latest_reached(requests),
    }))
}
