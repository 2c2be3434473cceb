//! The sending pipeline.
//!
//! ```text
//!  dispatcher: claim (batch, lease, lawful?) ─► job channel
//!    ─► preparer: render ─► ready queue (≤ 2 batches)
//!    ─► N connections: next slot of the campaign's schedule, SMTP ─► journal
//!                      (each body recorded in the wire log just before it goes)
//!  journal: the one writer: outcomes (gathered), slot reservations
//! ```
//!
//! A sender that dies leaves its claims `claimed`. When their lease runs out, those its
//! wire log names (the server had the message, its answer never came) become `unknown`,
//! counted and never resent; the rest go back to the queue. Rendering runs ahead of the
//! connections, so neither the templates nor the database make a message miss its slot.

use super::clock::Clock;
use super::domains::{self, Admit, Domains};
use super::eligibility;
use super::outcome::{self, Backoff, Failure, Outcome, Phase};
use super::pace::{Pace, Quota, unix_micros};

use super::transport::{Transport, TransportConfig};
use crate::campaign::kit::Kit;
use crate::config::Config;
use crate::domain::CampaignState;
use crate::store::{Claimed, Fate, SlotRequest, Store, WireLog};
use anyhow::{Context, Result};
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

/// How long a claim lives without renewal: a sender killed with its claims is noticed
/// this long after its last renewal.
const LEASE: Duration = Duration::from_secs(15);
const RENEW_EVERY: Duration = Duration::from_secs(5);
const IDLE_POLL: Duration = Duration::from_millis(500);

#[derive(Debug, Clone, Default)]
pub struct SendOptions {
    pub campaign: Option<String>,
    pub until_idle: bool,
}

/// Running totals, shared with the progress display.
#[derive(Debug, Default)]
pub struct Counters {
    pub sent: AtomicU64,
    pub retried: AtomicU64,
    pub bounced: AtomicU64,
    pub failed: AtomicU64,
    pub unknown: AtomicU64,
}

impl Counters {
    pub fn snapshot(&self) -> [u64; 5] {
        [
            &self.sent,
            &self.retried,
            &self.bounced,
            &self.failed,
            &self.unknown,
        ]
        .map(|c| c.load(Ordering::Relaxed))
    }
}

/// What a run did, and campaigns it had to pause (with the server's reason).
#[derive(Debug, Default)]
pub struct SendReport {
    pub sent: u64,
    pub retried: u64,
    pub bounced: u64,
    pub failed: u64,
    pub unknown: u64,
    pub recovered_unknown: u64,
    pub paused: Vec<(String, String)>,
    pub interrupted: bool,
}

struct Job {
    claimed: Claimed,
    kit: Arc<Kit>,
    paused: Arc<AtomicBool>,
    /// The campaign's throttle: each connection takes the next slot right before an
    /// SMTP transaction, so the rate holds on the wire.
    pace: Arc<tokio::sync::Mutex<Pace>>,
}

/// Where the dispatcher hands work: jobs to the connections, slot requests to the journal.
struct Pipes {
    jobs: mpsc::Sender<Job>,
    journal: mpsc::Sender<Write>,
}

struct Done {
    delivery_id: i64,
    contact_id: i64,
    campaign_id: i64,
    fate: Fate,
}

impl Done {
    fn of(claimed: &Claimed, fate: Fate) -> Self {
        Self {
            delivery_id: claimed.delivery_id,
            contact_id: claimed.contact.id,
            campaign_id: claimed.campaign_id,
            fate,
        }
    }
}

pub struct Sender {
    store: Store,
    config: Config,
    clock: Clock,
    worker: String,
    backoff: Backoff,
    connections: usize,
    pub counters: Arc<Counters>,
    stop: Arc<AtomicBool>,
    domains: Arc<std::sync::Mutex<Domains>>,
}

impl Sender {
    pub fn new(store: Store, config: Config, clock: Clock) -> Self {
        let connections = config.sending.connections.max(1);
        let backoff = Backoff::from_spans(
            config.sending.retry_first,
            config.sending.retry_cap,
            config.sending.max_attempts,
        );
        let domains = Domains::new(domains::limits(&config.sending.domains));
        Self {
            store,
            config,
            clock,
            worker: format!(
                "{}:{}",
                std::process::id(),
                &uuid::Uuid::new_v4().simple().to_string()[..8]
            ),
            backoff,
            connections,
            counters: Arc::default(),
            stop: Arc::default(),
            domains: Arc::new(std::sync::Mutex::new(domains)),
        }
    }

    /// Set to stop claiming; what is in flight finishes.
    pub fn stop_flag(&self) -> Arc<AtomicBool> {
        self.stop.clone()
    }

    pub async fn run(&self, opts: &SendOptions) -> Result<SendReport> {
        let transport = TransportConfig::parse(&self.config.transport)?;
        let secrets = self.store.secrets().await?;
        let (requeued, recovered_unknown) = self.store.recover_abandoned(self.clock.now()).await?;
        if requeued + recovered_unknown > 0 {
            tracing::info!(
                requeued,
                recovered_unknown,
                "recovered deliveries of a sender that stopped"
            );
        }
        let only = match &opts.campaign {
            Some(name) => Some(
                self.store
                    .campaign(name)
                    .await?
                    .with_context(|| format!("no campaign named '{name}' has been launched"))?
                    .id,
            ),
            None => None,
        };

        let (job_tx, job_rx) = mpsc::channel::<Job>(self.connections * CONNECTION_BATCH);
        let (ready_tx, ready_rx) = mpsc::channel::<Ready>(READY);
        let ready_rx = Arc::new(tokio::sync::Mutex::new(ready_rx));
        let (journal_tx, journal_rx) = mpsc::channel::<Write>(4096);
        let wire = Arc::new(self.store.wire_log(&self.worker)?);
        let mut tasks = tokio::task::JoinSet::new();
        let mut journal = tokio::spawn(journal(
            self.store.clone(),
            self.clock,
            journal_rx,
            self.counters.clone(),
        ));
        tasks.spawn(prepare(
            self.store.clone(),
            job_rx,
            ready_tx.clone(),
            self.stop.clone(),
            journal_tx.clone(),
            self.clock,
        ));
        // Messages waiting for their domain's turn come back through the ready queue;
        // a weak handle, so that the queue still closes when the preparer is done.
        let held = ready_tx.downgrade();
        drop(ready_tx);
        for _ in 0..self.connections {
            let transport = Transport::new(&transport)?;
            tasks.spawn(connection_task(
                transport,
                Lane {
                    wire: wire.clone(),
                    ready: ready_rx.clone(),
                    held: held.clone(),
                    domains: self.domains.clone(),
                    stop: self.stop.clone(),
                    journal: journal_tx.clone(),
                    clock: self.clock,
                    backoff: self.backoff,
                },
            ));
        }

        let renew = tokio::spawn(renew_leases(
            self.store.clone(),
            self.worker.clone(),
            self.clock,
        ));
        let mut kits: HashMap<i64, (Arc<Kit>, Arc<AtomicBool>)> = HashMap::new();
        let mut paused = Vec::new();
        // The dispatcher holds the last senders: dropping them closes the pipeline.
        let pipes = Pipes {
            jobs: job_tx,
            journal: journal_tx,
        };
        // The journal ends early only on an error; the claims it did not record then
        // stay claimed forever, so the dispatcher must not go on waiting for them.
        let mut ended = None;
        let result = tokio::select! {
            r = self.dispatch(only, opts.until_idle, &pipes, &mut kits, &secrets.link_key, &mut paused) => r,
            j = &mut journal => {
                ended = Some(j);
                Ok(())
            }
        };
        drop(pipes);
        while tasks.join_next().await.is_some() {}
        let journaled = match ended {
            Some(j) => j,
            None => journal.await,
        };
        journaled.context("the journal stopped")??;
        renew.abort();
        result?;
        // Every claim is settled: what the log says no longer matters.
        if let Ok(wire) = Arc::try_unwrap(wire) {
            wire.remove().await;
        }
        // Campaigns the server made us pause: say why.
        for (id, (kit, flag)) in &kits {
            if flag.load(Ordering::Relaxed)
                && let Some(row) = self.store.campaign_by_id(*id).await?
                && row.state == CampaignState::Paused
            {
                paused.push((
                    kit.campaign.name.clone(),
                    row.state_reason.unwrap_or_default(),
                ));
            }
        }
        paused.sort();
        paused.dedup();
        let [sent, retried, bounced, failed, unknown] = self.counters.snapshot();
        Ok(SendReport {
            sent,
            retried,
            bounced,
            failed,
            unknown,
            recovered_unknown,
            paused,
            interrupted: self.stop.load(Ordering::Relaxed),
        })
    }

    async fn dispatch(
        &self,
        only: Option<i64>,
        until_idle: bool,
        pipes: &Pipes,
        kits: &mut HashMap<i64, (Arc<Kit>, Arc<AtomicBool>)>,
        link_key: &[u8; 32],
        paused: &mut Vec<(String, String)>,
    ) -> Result<()> {
        let mut paces: HashMap<i64, Arc<tokio::sync::Mutex<Pace>>> = HashMap::new();
        let mut last_recovery = std::time::Instant::now();
        loop {
            if self.stop.load(Ordering::Relaxed) {
                return Ok(());
            }
            if last_recovery.elapsed() > RENEW_EVERY {
                self.store.recover_abandoned(self.clock.now()).await?;
                last_recovery = std::time::Instant::now();
            }
            let mut dispatched = 0;
            for row in self.store.campaigns().await? {
                if only.is_some_and(|id| id != row.id) {
                    continue;
                }
                if !row.state.sends_thanks() {
                    // Paused or cancelled from the command line: what is already handed
                    // to the connections goes back to the queue.
                    if let Some((_, flag)) = kits.get(&row.id) {
                        flag.store(true, Ordering::Relaxed);
                    }
                    continue;
                }
                let (kit, flag) = match kits.get(&row.id) {
                    Some(k) => k.clone(),
                    None => {
                        let kit = match Kit::prepare(&row, &self.config, link_key) {
                            Ok(kit) => Arc::new(kit),
                            Err(e) => {
                                let reason = format!("cannot prepare the campaign's e-mail: {e:#}");
                                self.store
                                    .set_campaign_state(
                                        row.id,
                                        CampaignState::Paused,
                                        Some(&reason),
                                        self.clock.now(),
                                    )
                                    .await?;
                                paused.push((row.name.clone(), reason));
                                continue;
                            }
                        };
                        let entry = (kit, Arc::new(AtomicBool::new(false)));
                        kits.insert(row.id, entry.clone());
                        entry
                    }
                };
                flag.store(false, Ordering::Relaxed);
                let pace = paces
                    .entry(row.id)
                    .or_insert_with(|| {
                        let quota = Quota::new(kit.per_second(), kit.campaign.burst);
                        Arc::new(tokio::sync::Mutex::new(reserve_through(
                            &pipes.journal,
                            row.id,
                            quota,
                        )))
                    })
                    .clone();
                dispatched += self.dispatch_batch(&kit, &flag, &pace, &pipes.jobs).await?;
            }
            if dispatched > 0 {
                continue;
            }
            let state = self.store.queue_state(only, self.clock.now()).await?;
            let turns_ahead = self.domains.lock().is_ok_and(|d| d.waiting(unix_micros()));
            if until_idle && state.due == 0 && state.in_flight == 0 && !turns_ahead {
                return Ok(());
            }
            tokio::time::sleep(IDLE_POLL).await;
        }
    }

    /// Claims one batch of a campaign and feeds it to the connections at its rate.
    async fn dispatch_batch(
        &self,
        kit: &Arc<Kit>,
        paused: &Arc<AtomicBool>,
        pace: &Arc<tokio::sync::Mutex<Pace>>,
        job_tx: &mpsc::Sender<Job>,
    ) -> Result<usize> {
        // About a fifth of a second of work: reading a batch holds a worker thread, and
        // a long hold would make the throttle's next slots late.
        let batch = (kit.per_second() / 5.0).clamp(1.0, 500.0) as i64;
        let now = self.clock.now();
        let lease_until = now + chrono::Duration::from_std(LEASE).unwrap_or_default();
        let policy = &self.config.policy;
        let refuse = |c: &Claimed| eligibility::check(c, policy, now).map(|r| r.as_str());
        let claimed = self
            .store
            .claim(
                &self.worker,
                kit.campaign_id,
                now,
                lease_until,
                batch,
                &refuse,
            )
            .await?;
        let n = claimed.len();
        let mut rest = claimed.into_iter().peekable();
        let mut checked = std::time::Instant::now();
        'jobs: while rest.peek().is_some() {
            // Claims stay claimed (safe to give back) until a connection takes them.
            let place = loop {
                // A pause or cancel from the command line takes effect within a second.
                if checked.elapsed() >= Duration::from_secs(1) {
                    checked = std::time::Instant::now();
                    if !self.store.campaign_sendable(kit.campaign_id).await? {
                        paused.store(true, Ordering::Relaxed);
                    }
                }
                if self.stop.load(Ordering::Relaxed) || paused.load(Ordering::Relaxed) {
                    break 'jobs;
                }
                match tokio::time::timeout(Duration::from_millis(250), job_tx.reserve()).await {
                    Ok(Ok(place)) => break place,
                    Ok(Err(_)) => break 'jobs,
                    Err(_) => {}
                }
            };
            let Some(claimed) = rest.next() else { break };
            place.send(Job {
                claimed,
                kit: kit.clone(),
                paused: paused.clone(),
                pace: pace.clone(),
            });
        }
        let unsent: Vec<i64> = rest.map(|c| c.delivery_id).collect();
        if !unsent.is_empty() {
            self.store.release(&unsent).await?;
        }
        if !self.store.campaign_sendable(kit.campaign_id).await? {
            paused.store(true, Ordering::Relaxed);
        }
        Ok(n)
    }
}

/// The most jobs a connection takes at once (only what is already waiting).
const CONNECTION_BATCH: usize = 32;

/// Waits for the campaign's next slot. False if the campaign was paused or the sender
/// stopped meanwhile: a slow campaign's wait is cut short within a quarter second.
async fn wait_for_slot(job: &Job, stop: &AtomicBool) -> bool {
    let halted = || job.paused.load(Ordering::Relaxed) || stop.load(Ordering::Relaxed);
    loop {
        if halted() {
            return false;
        }
        let (slot, quota) = {
            let mut pace = job.pace.lock().await;
            let Some(slot) = pace.next_slot().await else {
                return false;
            };
            (slot, pace.quota())
        };
        loop {
            if halted() {
                return false;
            }
            let ahead = slot - unix_micros();
            if ahead <= 0 {
                break;
            }
            tokio::time::sleep(Duration::from_micros(ahead.min(250_000) as u64)).await;
        }
        // Later than the burst allows (a stall, or a late wake-up on a busy machine):
        // going now would crowd the second, so this slot is given up for the next.
        if quota.in_time(slot, unix_micros()) {
            return true;
        }
        tracing::debug!(
            late_us = unix_micros() - slot,
            "a throttle slot given up: the sender was later than the burst allows"
        );
    }
}

/// A campaign's throttle whose slots are reserved by the journal, in its transactions.
fn reserve_through(journal: &mpsc::Sender<Write>, campaign_id: i64, quota: Quota) -> Pace {
    let journal = journal.clone();
    Pace::new(quota, move |now, k| {
        let journal = journal.clone();
        async move {
            let (reply, answer) = oneshot::channel();
            let request = SlotRequest {
                campaign_id,
                now,
                k,
                period: quota.period,
            };
            journal.send(Write::Reserve(request, reply)).await.ok()?;
            answer.await.ok().flatten()
        }
    })
}

/// Room in the ready queue: two of the largest batches.
const READY: usize = 2 * CONNECTION_BATCH;

/// A message rendered and marked `sending`: it goes out at its slot.
struct Ready {
    job: Job,
    message: crate::campaign::kit::Outgoing,
}

/// Renders messages ahead of the connections, so that a connection never waits for
/// the template engine between two slots.
async fn prepare(
    store: Store,
    jobs: mpsc::Receiver<Job>,
    ready: mpsc::Sender<Ready>,
    stop: Arc<AtomicBool>,
    journal: mpsc::Sender<Write>,
    clock: Clock,
) {
    let mut jobs = jobs;
    let mut batch = Vec::with_capacity(CONNECTION_BATCH);
    loop {
        let Some(first) = jobs.recv().await else {
            break;
        };
        // About 20 ms of the campaign's rate: claims wait rendered, not claimed long.
        let limit = ((first.kit.per_second() / 50.0) as usize).clamp(1, CONNECTION_BATCH);
        batch.push(first);
        while batch.len() < limit {
            match jobs.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        // Wait until at most one batch is still waiting to go out.
        let Ok(places) = ready.reserve_many(READY - limit).await else {
            break;
        };
        // Erased or forgotten since the claim: the erasure cancelled it, it does not go.
        let ids: Vec<i64> = batch.iter().map(|j| j.claimed.delivery_id).collect();
        match store.still_claimed(&ids).await {
            Ok(held) => batch.retain(|j| held.contains(&j.claimed.delivery_id)),
            Err(e) => tracing::warn!("cannot look at the claims again: {e:#}"),
        }
        let now = clock.now();
        let mut done = Vec::new();
        let mut rendered = Vec::with_capacity(batch.len());
        for job in batch.drain(..) {
            let finish = |fate| Done::of(&job.claimed, fate);
            if job.paused.load(Ordering::Relaxed) || stop.load(Ordering::Relaxed) {
                done.push(finish(Fate::Released));
                continue;
            }
            match job.kit.message(&job.claimed, now) {
                Ok(message) => rendered.push(Ready { job, message }),
                Err(e) => done.push(finish(Fate::Failed {
                    error: format!("could not build the message: {e:#}"),
                })),
            }
            // A batch takes milliseconds to render: let the connections' timers run.
            tokio::task::yield_now().await;
        }
        for (place, r) in places.zip(rendered) {
            place.send(r);
        }
        if !done.is_empty() && journal.send(Write::Done(done)).await.is_err() {
            break;
        }
    }
}

/// What a connection works with besides its transport.
struct Lane {
    wire: Arc<WireLog>,
    ready: Arc<tokio::sync::Mutex<mpsc::Receiver<Ready>>>,
    /// Where a message held for its domain's turn goes back when the turn comes.
    held: mpsc::WeakSender<Ready>,
    domains: Arc<std::sync::Mutex<Domains>>,
    stop: Arc<AtomicBool>,
    journal: mpsc::Sender<Write>,
    clock: Clock,
    backoff: Backoff,
}

/// The recipient's domain, as the per-domain pacing knows it.
fn recipient_domain(envelope_to: &str) -> String {
    envelope_to
        .rsplit_once('@')
        .map_or("", |(_, d)| d)
        .to_ascii_lowercase()
}

impl Lane {
    /// Carries out the domain's answer: `Some` if the message goes now; otherwise it
    /// waits for its turn, in memory or back in the queue, and `None`.
    async fn take_turn(&self, admit: Admit, ready: Ready) -> Option<Ready> {
        let turn = match admit {
            Admit::Go => return Some(ready),
            Admit::Hold(turn) | Admit::Postpone(turn) => turn,
        };
        let wait = Duration::from_micros((turn - unix_micros()).max(0) as u64);
        if let Admit::Postpone(_) = admit {
            let due_at = self.clock.now() + chrono::Duration::from_std(wait).unwrap_or_default();
            let done = Done::of(&ready.job.claimed, Fate::Deferred { due_at });
            let _ = self.journal.send(Write::Done(vec![done])).await;
            return None;
        }
        let held = self.held.clone();
        let journal = self.journal.clone();
        tokio::spawn(async move {
            tokio::time::sleep(wait).await;
            let back = match held.upgrade() {
                Some(tx) => tx.send(ready).await.err().map(|e| e.0),
                None => Some(ready),
            };
            // The sender is stopping: the message goes back to the queue untouched.
            if let Some(r) = back {
                let done = Done::of(&r.job.claimed, Fate::Released);
                let _ = journal.send(Write::Done(vec![done])).await;
            }
        });
        None
    }
}

async fn connection_task(mut transport: Transport, lane: Lane) {
    transport.warm_up().await;
    loop {
        let Some(ready) = lane.ready.lock().await.recv().await else {
            break;
        };
        let domain = recipient_domain(&ready.message.envelope_to);
        let admit = match lane.domains.lock() {
            Ok(mut d) => d.admit(&domain, ready.job.claimed.delivery_id, unix_micros()),
            Err(_) => Admit::Go,
        };
        let Some(Ready { job, message }) = lane.take_turn(admit, ready).await else {
            continue;
        };
        let c = &job.claimed;
        let done = |fate| Write::Done(vec![Done::of(c, fate)]);
        let waiting = std::time::Instant::now();
        if !wait_for_slot(&job, &lane.stop).await {
            if lane.journal.send(done(Fate::Released)).await.is_err() {
                break;
            }
            continue;
        }
        metrics::histogram!("reconsent_throttle_wait_seconds").record(waiting.elapsed());
        let sending = std::time::Instant::now();
        let result = transport
            .send(
                &message.envelope_from,
                &message.envelope_to,
                &message.message_id,
                &message.bytes,
                &mut || Box::pin(lane.wire.record(c.delivery_id)),
            )
            .await;
        metrics::histogram!("reconsent_send_seconds").record(sending.elapsed());
        let fate = match result {
            Ok(()) => Fate::Sent {
                message_id: message.message_id.clone(),
                content_sha256: message.content_sha256.clone(),
                ledger: Box::new(message.ledger_entry(lane.clock.now())),
            },
            Err((failure, phase)) => {
                let outcome =
                    outcome::classify(&failure, phase, (c.attempts + 1) as u32, &lane.backoff);
                if let Outcome::SlowDown(why) = &outcome {
                    tracing::info!(domain = %domain, why = %why, "the domain asks to slow down");
                    let admit = match lane.domains.lock() {
                        Ok(mut d) => {
                            d.deferred(&domain, c.delivery_id, unix_micros(), job.kit.per_second())
                        }
                        Err(_) => Admit::Postpone(unix_micros() + 60_000_000),
                    };
                    let admit = if admit == Admit::Go {
                        Admit::Hold(unix_micros())
                    } else {
                        admit
                    };
                    lane.take_turn(admit, Ready { job, message }).await;
                    continue;
                }
                if matches!(outcome, Outcome::PauseCampaign(_)) {
                    job.paused.store(true, Ordering::Relaxed);
                }
                fate_of(outcome, &failure, phase, lane.clock, &job.kit)
            }
        };
        if lane.journal.send(done(fate)).await.is_err() {
            break;
        }
    }
    transport.close().await;
}

fn fate_of(outcome: Outcome, failure: &Failure, phase: Phase, clock: Clock, kit: &Kit) -> Fate {
    let now = clock.now();
    tracing::debug!(?failure, ?phase, ?outcome, "delivery failed");
    match outcome {
        Outcome::Sent => Fate::Failed {
            error: "internal: a failure classified as sent".into(),
        },
        Outcome::Retry { after, why } => Fate::Retry {
            due_at: now + chrono::Duration::from_std(after).unwrap_or_default(),
            error: why,
        },
        Outcome::Bounced(error) => Fate::Bounced {
            error,
            deletion_due_at: kit.campaign.grace.after(now),
            effects: crate::effects::Effects::of_bounce(),
        },
        Outcome::Failed(error) => Fate::Failed { error },
        Outcome::Unknown(error) => Fate::Unknown { error },
        Outcome::PauseCampaign(reason) => Fate::PauseCampaign {
            reason: pause_message(&reason),
        },
        // The connection gives these their domain's turn; a minute is the fallback.
        Outcome::SlowDown(_) => Fate::Deferred {
            due_at: now + chrono::Duration::minutes(1),
        },
    }
}

/// The marketer reads this in `campaign status`: what happened and what to do.
fn pause_message(server_said: &str) -> String {
    format!(
        "paused: the mail server refused our sender for a policy reason ({server_said}). \
         This is not the recipients' fault. Check the sending domain's SPF, DKIM and DMARC \
         records and the account's sending limits, then run `reconsent campaign resume`."
    )
}

/// How long the journal gathers outcomes when nothing else is asked of it.
const GATHER_OUTCOMES: Duration = Duration::from_millis(10);

/// What a connection asks the journal to write.
enum Write {
    Done(Vec<Done>),
    /// Reserve slots of a campaign's throttle; answer with the schedule's time after them.
    Reserve(SlotRequest, oneshot::Sender<Option<i64>>),
}

/// The sender's only writer: each round commits whatever the connections asked for
/// meanwhile in one transaction, so they never wait on each other's locks, and one
/// commit serves many messages.
async fn journal(
    store: Store,
    clock: Clock,
    mut rx: mpsc::Receiver<Write>,
    counters: Arc<Counters>,
) -> Result<()> {
    let mut writes = Vec::new();
    while rx.recv_many(&mut writes, 2_048).await > 0 {
        // Nobody waits for outcomes: gathered for a few milliseconds they make one
        // commit instead of one per message. Slots are awaited: they go at once.
        let deadline = tokio::time::Instant::now() + GATHER_OUTCOMES;
        while writes.iter().all(|w| matches!(w, Write::Done(_)))
            && let Ok(n) = tokio::time::timeout_at(deadline, rx.recv_many(&mut writes, 2_048)).await
            && n > 0
        {}
        let mut done = Vec::new();
        let mut requests = Vec::new();
        let mut replies = Vec::new();
        for w in writes.drain(..) {
            match w {
                Write::Reserve(request, reply) => {
                    requests.push(request);
                    replies.push(reply);
                }
                Write::Done(finished) => {
                    for d in finished {
                        let counter = match &d.fate {
                            Fate::Sent { .. } => Some(&counters.sent),
                            Fate::Retry { .. } | Fate::Deferred { .. } => Some(&counters.retried),
                            Fate::Bounced { .. } => Some(&counters.bounced),
                            Fate::Failed { .. } => Some(&counters.failed),
                            Fate::Unknown { .. } => Some(&counters.unknown),
                            Fate::PauseCampaign { .. } | Fate::Released => None,
                        };
                        if let Some(c) = counter {
                            c.fetch_add(1, Ordering::Relaxed);
                        }
                        done.push((d.delivery_id, d.contact_id, d.campaign_id, d.fate));
                    }
                }
            }
        }
        let tats = store
            .journal(&done, &requests, clock.now())
            .await
            .context("cannot record what was sent")?;
        for (reply, tat) in replies.into_iter().zip(tats) {
            let _ = reply.send(Some(tat));
        }
    }
    Ok(())
}

async fn renew_leases(store: Store, worker: String, clock: Clock) {
    loop {
        tokio::time::sleep(RENEW_EVERY).await;
        let until = clock.now() + chrono::Duration::from_std(LEASE).unwrap_or_default();
        if let Err(e) = store.renew_leases(&worker, until).await {
            tracing::warn!("cannot renew the claims: {e:#}");
        }
    }
}
