//! Fires `POST {BASE}/r/{token}/confirm` at a fixed rate, one distinct token from the
//! file per request, and prints the latency percentiles (the wrk2 way: each request's
//! time counts from when it was due, so a slow server cannot hide its queue by slowing
//! the load down).
//!
//!     cargo run --release --example confirm_rate -- BASE TOKENS_FILE RATE SECONDS

use std::time::{Duration, Instant};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let [_, base, tokens, rate, seconds] = args.as_slice() else {
        eprintln!("usage: confirm_rate BASE TOKENS_FILE RATE SECONDS");
        std::process::exit(2);
    };
    let tokens: Vec<String> = std::fs::read_to_string(tokens)?
        .lines()
        .map(str::to_string)
        .collect();
    let rate: f64 = rate.parse()?;
    let total = (rate * seconds.parse::<f64>()?) as usize;
    if tokens.len() < total {
        eprintln!("{} tokens for {total} requests: give more", tokens.len());
        std::process::exit(2);
    }
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(256)
        .build()?;
    let start = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for (i, token) in tokens.into_iter().take(total).enumerate() {
        let due = start + Duration::from_secs_f64(i as f64 / rate);
        tokio::time::sleep_until(due.into()).await;
        let client = client.clone();
        let url = format!("{base}/r/{token}/confirm");
        tasks.spawn(async move {
            let ok = client
                .post(url)
                .send()
                .await
                .is_ok_and(|r| r.status().is_success());
            (ok, due.elapsed())
        });
    }
    let mut latencies = Vec::with_capacity(total);
    let mut failed = 0;
    while let Some(done) = tasks.join_next().await {
        let (ok, latency) = done?;
        if !ok {
            failed += 1;
        }
        latencies.push(latency.as_secs_f64() * 1e3);
    }
    let elapsed = start.elapsed().as_secs_f64();
    latencies.sort_by(f64::total_cmp);
    let at = |q: f64| latencies[((latencies.len() - 1) as f64 * q) as usize];
    println!(
        "{total} requests at {rate:.0}/s offered, {:.0}/s done, {failed} failed: p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        total as f64 / elapsed,
        at(0.5),
        at(0.99),
        at(1.0)
    );
    Ok(())
}
