//! `reconsent send`: runs the pipeline with a progress bar on a terminal, log lines
//! otherwise, and stops cleanly on Ctrl-C.

use super::{Clock, SendOptions, SendReport, Sender};
use crate::config::Config;
use crate::print::{errln, outln};
use crate::store::Store;
use anyhow::Result;
use std::io::IsTerminal;
use std::sync::atomic::Ordering;
use std::time::Duration;

pub async fn run(
    store: Store,
    config: Config,
    clock: Clock,
    opts: SendOptions,
) -> Result<SendReport> {
    let reminders = crate::campaign::reminders::enqueue_due_waves(&store, clock.now()).await?;
    if reminders > 0 {
        errln!("{reminders} reminders queued for contacts who have not answered yet");
    }
    let sender = Sender::new(store.clone(), config, clock);
    let stop = sender.stop_flag();
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            errln!("\nstopping: finishing the messages in flight (Ctrl-C again to abort)…");
            stop.store(true, Ordering::Relaxed);
            if tokio::signal::ctrl_c().await.is_ok() {
                std::process::exit(130);
            }
        }
    });
    let counters = sender.counters.clone();
    let due = store.queue_state(None, clock.now()).await?.due as u64;
    let progress = tokio::spawn(async move {
        let terminal = std::io::stderr().is_terminal();
        let bar = terminal.then(|| {
            let bar = indicatif::ProgressBar::new(due);
            bar.set_style(
                indicatif::ProgressStyle::with_template(
                    "{bar:30} {pos}/{len} sent · {msg} · {per_sec} · ETA {eta}",
                )
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
            );
            bar
        });
        let started = std::time::Instant::now();
        let mut last_log = 0;
        loop {
            tokio::time::sleep(Duration::from_millis(if terminal { 200 } else { 1000 })).await;
            let [sent, retried, bounced, failed, unknown] = counters.snapshot();
            let msg = format!(
                "{failed} failed, {bounced} bounced, {retried} to retry, {unknown} unknown"
            );
            match &bar {
                Some(bar) => {
                    bar.set_length(bar.length().unwrap_or(0).max(sent));
                    bar.set_position(sent);
                    bar.set_message(msg);
                }
                None if started.elapsed().as_secs() >= last_log + 10 => {
                    last_log = started.elapsed().as_secs();
                    let rate = sent as f64 / started.elapsed().as_secs_f64().max(0.001);
                    errln!("sent {sent} ({rate:.0}/s), {msg}");
                }
                None => {}
            }
        }
    });
    let report = sender.run(&opts).await;
    progress.abort();
    report
}

pub fn print(report: &SendReport) {
    outln!(
        "Sent {}; {} to retry later, {} bounced, {} failed, {} with unknown fate.",
        report.sent,
        report.retried,
        report.bounced,
        report.failed,
        report.unknown
    );
    if report.recovered_unknown > 0 {
        outln!(
            "{} messages were being handed to the mail server when an earlier run stopped: counted as unknown, not resent.",
            report.recovered_unknown
        );
    }
    for (name, reason) in &report.paused {
        outln!("Campaign {name} is paused: {reason}");
    }
    if report.interrupted {
        outln!("Stopped on request; run `reconsent send` again to continue.");
    }
}
