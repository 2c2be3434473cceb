//! Which claimed messages a sender handed to the mail server.
//!
//! A message whose body went out and whose reply never came may have been delivered:
//! it must never be sent again, and is counted `unknown`. Every other message a dead
//! sender held goes back to the queue. Telling the two apart needs a record written
//! before each body goes out, where whoever recovers the dead sender's claims can read
//! it: a file beside a SQLite database (on the one machine that can open it), a table
//! in a PostgreSQL base (senders run on several machines).

use super::postgres::TableWireLog;
use super::sqlite::FileWireLog;

pub enum WireLog {
    File(FileWireLog),
    Table(TableWireLog),
}

impl WireLog {
    /// Records a delivery right before its body goes out.
    pub async fn record(&self, delivery_id: i64) -> std::io::Result<()> {
        match self {
            Self::File(log) => log.record(delivery_id),
            Self::Table(log) => log.record(delivery_id).await,
        }
    }

    /// Once every claim of the sender is settled, nothing in the log matters.
    pub async fn remove(self) {
        match self {
            Self::File(log) => log.remove(),
            Self::Table(log) => log.remove().await,
        }
    }
}
