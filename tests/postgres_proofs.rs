//! What only PostgreSQL promises, proved on a real server (the suite's PostgreSQL pass):
//! several senders on one base share one rate and never send twice, a killed one
//! included; a purge leaves no erased address in any table nor in the tables' files.

mod common;
use common::database::{backend, pg_rows_as_text};
use common::servers::smtp_sink;
use common::*;
use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

const RATE: usize = 500;
/// The example campaign's burst.
const BURST: usize = 5;

fn postgres_pass() -> bool {
    backend() == Backend::Postgres
}

/// `n` contacts whose consent is weak: every one is asked.
fn weak_contacts(n: usize) -> String {
    let mut csv = String::from("email,name,locale,consent_at,consent_method\n");
    for i in 0..n {
        csv.push_str(&format!(
            "scale{i:05}@senders.example,Scale {i},pl,2019-05-01,unknown\n"
        ));
    }
    csv
}

fn spawn_send(sb: &Sandbox, url: &str) -> Child {
    sb.process()
        .env("RECONSENT__TRANSPORT", url)
        .args(["send", "--until-idle"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start send")
}

/// Each message smtp-sink wrote: (when it finished writing it, its recipient).
fn dumped_messages(dir: &Path) -> Vec<(f64, String)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).expect("dump folder").flatten() {
        let text = std::fs::read_to_string(entry.path()).unwrap_or_default();
        let to = text
            .lines()
            .find_map(|l| l.strip_prefix("To: "))
            .unwrap_or_else(|| panic!("{}: no To header", entry.path().display()))
            .trim()
            .to_string();
        let modified = entry.metadata().and_then(|m| m.modified()).expect("mtime");
        let at = modified
            .duration_since(std::time::UNIX_EPOCH)
            .expect("after 1970")
            .as_secs_f64();
        out.push((at, to));
    }
    out.sort_by(|a, b| a.0.total_cmp(&b.0));
    out
}

/// The most messages in any one second.
fn busiest_second(times: &[f64]) -> usize {
    let (mut j, mut busiest) = (0, 0);
    for i in 0..times.len() {
        while times[i] - times[j] >= 1.0 {
            j += 1;
        }
        busiest = busiest.max(i - j + 1);
    }
    busiest
}

/// Messages per second after the opening burst: one every 1/rate from there on.
fn steady_rate(times: &[f64]) -> f64 {
    (times.len() - 1 - BURST) as f64 / (times[times.len() - 1] - times[BURST])
}

fn wait_until(deadline: Duration, what: &str, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(
            start.elapsed() < deadline,
            "{what}: not within {deadline:?}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn three_senders_share_one_rate_and_a_killed_one_sends_nothing_twice() {
    if !postgres_pass() {
        return;
    }
    const BEFORE_KILL: usize = 3_000;
    const N: usize = 5_000;
    let sb = Sandbox::with_campaign(&format!("{RATE}/s"));
    let file = sb.write("many.csv", weak_contacts(N));
    sb.ok(&["import", file.to_str().unwrap()]);
    let launched = sb.json(&["campaign", "launch", "campaigns/example.toml"]);
    let enqueued = launched["enqueued"].as_u64().unwrap() as usize;
    assert!(enqueued > N, "{launched}");
    // In memory where there is /dev/shm: the sink's disk writes would blur its clock.
    let shm = tempfile::tempdir_in("/dev/shm").or_else(|_| tempfile::tempdir());
    let dump = shm.expect("a dump folder");
    let sink = smtp_sink(&[], dump.path());
    let mut senders: Vec<Child> = (0..3).map(|_| spawn_send(&sb, &sink.url())).collect();
    wait_until(Duration::from_secs(120), "the first messages", || {
        servers::dumped(dump.path()) >= BEFORE_KILL
    });
    // SIGKILL, mid-way: whatever it held is left as a crash leaves it.
    senders[0].kill().expect("SIGKILL");
    senders[0].wait().unwrap();
    let before_kill: Vec<f64> = dumped_messages(dump.path())
        .into_iter()
        .map(|(t, _)| t)
        .collect();
    senders[0] = spawn_send(&sb, &sink.url());
    for s in &mut senders {
        assert!(s.wait().unwrap().success(), "a sender failed");
    }
    let status = sb.status();
    let messages = dumped_messages(dump.path());
    sink.stop();

    // One rate for the three: within 1% while all three ran, never above rate + burst.
    let rate = steady_rate(&before_kill);
    assert!(
        (rate / RATE as f64 - 1.0).abs() < 0.01,
        "three senders together sent {rate:.1}/s, configured {RATE}/s"
    );
    let times: Vec<f64> = messages.iter().map(|(t, _)| *t).collect();
    let busiest = busiest_second(&times);
    assert!(
        busiest <= RATE + BURST,
        "{busiest} messages in one second, more than {RATE} + {BURST}"
    );
    // One message per contact; every one sent, or counted unknown (the killed sender's
    // message in flight), never lost.
    let mut per_recipient: BTreeMap<&str, usize> = BTreeMap::new();
    for (_, to) in &messages {
        *per_recipient.entry(to.as_str()).or_default() += 1;
    }
    let twice: Vec<_> = per_recipient.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "sent twice: {twice:?}");
    let sent = status["sent"].as_u64().unwrap() as usize;
    let unknown = status["unknown"].as_u64().unwrap() as usize;
    assert_eq!(sent + unknown, enqueued, "{status}");
    assert_eq!(
        status["targeted"].as_u64(),
        Some(enqueued as u64),
        "{status}"
    );
    assert!(
        messages.len() >= sent && messages.len() <= sent + unknown,
        "{status}"
    );
}

#[test]
fn after_a_purge_no_table_and_no_relation_file_holds_an_erased_address() {
    if !postgres_pass() {
        return;
    }
    const AFTER_GRACE: &str = "2027-01-01T00:00:00Z";
    let sb = sent_with_a_bounce();
    let preview = sb.json(&["purge", "--dry-run", "--now", AFTER_GRACE]);
    let gone: Vec<String> = preview["would_purge"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_lowercase())
        .collect();
    assert!(gone.len() > 100, "{preview}");
    assert!(gone.contains(&"jan.kowalski@example.pl".to_string()));
    let report = sb.json(&["purge", "--now", AFTER_GRACE]);
    assert_eq!(
        report["purged"].as_u64(),
        Some(gone.len() as u64),
        "{report}"
    );
    let rows = pg_rows_as_text(&sb.database_url())
        .join("\n")
        .to_lowercase();
    for email in &gone {
        assert!(
            !rows.contains(email.as_str()),
            "{email} is still in a table"
        );
        assert!(
            !in_database(&sb, email),
            "{email} is still in a relation file"
        );
    }
    assert!(
        !rows.contains("jan kowalski"),
        "a purged name is still in a table"
    );
}
