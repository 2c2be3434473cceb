//! Bonus code pools (SQLite): loaded at launch, one code per contact, drawn once, in the
//! transaction that records the confirmation.

use super::campaigns::LaunchTx;
use crate::domain::Instant;
use anyhow::Result;
use sqlx::{QueryBuilder, Sqlite, SqliteConnection};

impl LaunchTx {
    /// Loads a campaign's code pool; a code listed twice is kept once.
    pub async fn add_bonus_codes(&mut self, campaign_id: i64, codes: &[String]) -> Result<u64> {
        let mut added = 0;
        for chunk in codes.chunks(5_000) {
            let mut qb =
                QueryBuilder::<Sqlite>::new("INSERT INTO bonus_codes (campaign_id, code) ");
            qb.push_values(chunk, |mut b, code| {
                b.push_bind(campaign_id).push_bind(code.clone());
            });
            qb.push(" ON CONFLICT DO NOTHING");
            added += qb.build().execute(&mut *self.tx).await?.rows_affected();
        }
        Ok(added)
    }
}

/// The code drawn for the contact before, if any.
pub(super) async fn drawn(
    conn: &mut SqliteConnection,
    campaign_id: i64,
    contact_id: i64,
) -> Result<Option<String>> {
    Ok(
        sqlx::query_scalar("SELECT code FROM bonus_codes WHERE campaign_id = ? AND contact_id = ?")
            .bind(campaign_id)
            .bind(contact_id)
            .fetch_optional(&mut *conn)
            .await?,
    )
}

/// The contact's code: the one drawn before, else a free one now; `None` when the pool
/// is exhausted.
pub(super) async fn draw(
    conn: &mut SqliteConnection,
    campaign_id: i64,
    contact_id: i64,
    now: Instant,
) -> Result<Option<String>> {
    if let Some(code) = drawn(conn, campaign_id, contact_id).await? {
        return Ok(Some(code));
    }
    Ok(sqlx::query_scalar(
        "UPDATE bonus_codes SET contact_id = ?, drawn_at = ? WHERE rowid = \
         (SELECT rowid FROM bonus_codes WHERE campaign_id = ? AND contact_id IS NULL \
          ORDER BY rowid LIMIT 1) RETURNING code",
    )
    .bind(contact_id)
    .bind(now.timestamp())
    .bind(campaign_id)
    .fetch_optional(&mut *conn)
    .await?)
}
