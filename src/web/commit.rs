//! Group commit of answers. After a campaign mail lands, confirmations arrive in bursts;
//! one task writes them, taking every answer waiting when it starts a transaction, so a
//! burst costs a few transactions instead of one each. A request is answered only after
//! the transaction holding its answer has committed: a page that says "thank you" stands
//! for a confirmation in the ledger, whatever happens to the server next.

use crate::store::{AnswerJob, Answered, Store};
use anyhow::{Result, anyhow};
use tokio::sync::{mpsc, oneshot};

/// Answers in one transaction at most; a larger group only delays the first of them.
const MOST_AT_ONCE: usize = 64;

struct Pending {
    job: AnswerJob,
    reply: oneshot::Sender<Result<Answered>>,
}

/// The way to the answer writer.
pub struct Committer {
    queue: mpsc::Sender<Pending>,
}

impl Committer {
    /// Starts the writer on the current runtime; it stops when the last handle is dropped.
    pub fn start(store: Store) -> Self {
        let (queue, waiting) = mpsc::channel(4 * MOST_AT_ONCE);
        tokio::spawn(write_answers(store, waiting));
        Self { queue }
    }

    /// Writes an answer; returns once it is committed.
    pub async fn record(&self, job: AnswerJob) -> Result<Answered> {
        let (reply, answered) = oneshot::channel();
        self.queue
            .send(Pending { job, reply })
            .await
            .map_err(|_| anyhow!("the answer writer has stopped"))?;
        answered
            .await
            .map_err(|_| anyhow!("the answer writer stopped before writing the answer"))?
    }
}

async fn write_answers(store: Store, mut waiting: mpsc::Receiver<Pending>) {
    let mut group = Vec::with_capacity(MOST_AT_ONCE);
    while waiting.recv_many(&mut group, MOST_AT_ONCE).await > 0 {
        let (jobs, replies): (Vec<_>, Vec<_>) = group.drain(..).map(|p| (p.job, p.reply)).unzip();
        match store.record_answers(&jobs).await {
            Ok(answered) => {
                for (reply, a) in replies.into_iter().zip(answered) {
                    // The person may have closed the page: the answer stands all the same.
                    let _ = reply.send(Ok(a));
                }
            }
            Err(e) if jobs.len() > 1 => {
                // One answer's failure must not fail the others: each on its own.
                tracing::warn!(
                    "{} answers written together failed ({e:#}); writing each on its own",
                    jobs.len()
                );
                for (job, reply) in jobs.iter().zip(replies) {
                    let one = store
                        .record_answers(std::slice::from_ref(job))
                        .await
                        .and_then(|mut a| a.pop().ok_or_else(|| anyhow!("no result")));
                    let _ = reply.send(one);
                }
            }
            Err(e) => {
                for reply in replies {
                    let _ = reply.send(Err(anyhow!("{e:#}")));
                }
            }
        }
    }
}
