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

/// Each whole message smtp-sink wrote: (when it finished writing it, its recipient),
/// and how many files hold no whole message: one still being written, or one whose
/// sender was killed mid-way.
fn dumped_messages(dir: &Path) -> (Vec<(f64, String)>, usize) {
    let mut out = Vec::new();
    let mut partial = 0;
    for entry in std::fs::read_dir(dir).expect("dump folder").flatten() {
        let text = std::fs::read_to_string(entry.path()).unwrap_or_default();
        let Some(to) = text.lines().find_map(|l| l.strip_prefix("To: ")) else {
            partial += 1;
            continue;
        };
        let to = to.trim().to_string();
        let modified = entry.metadata().and_then(|m| m.modified()).expect("mtime");
        let at = modified
            .duration_since(std::time::UNIX_EPOCH)
            .expect("after 1970")
            .as_secs_f64();
        out.push((at, to));
    }
    out.sort_by(|a, b| a.0.total_cmp(&b.0));
    (out, partial)
}

/// When each SMTP transaction to `port` began on the wire: the kernel's time of every
/// packet to the sink whose payload starts with `MAIL`, captured by tcpdump. A
/// receiver's own clock (smtp-sink's file times) adds its scheduling on a busy machine,
/// which bunches a few messages into one second that left a few milliseconds apart.
struct WireClock {
    tcpdump: Child,
    out: tempfile::NamedTempFile,
}

impl WireClock {
    fn start(port: u16) -> WireClock {
        let out = tempfile::NamedTempFile::new().expect("a capture file");
        let err = tempfile::NamedTempFile::new().expect("a capture log");
        let tcpdump = std::process::Command::new("tcpdump")
            .args(["-i", "lo", "-n", "-tt", "-l", "-B", "16384"])
            .arg(format!(
                "tcp dst port {port} and tcp[((tcp[12:1] & 0xf0) >> 2):4] = 0x4d41494c"
            ))
            .stdout(out.reopen().expect("capture file"))
            .stderr(err.reopen().expect("capture log"))
            .spawn()
            .expect("tcpdump (scripts/test installs it; capturing needs root)");
        // tcpdump says it listens once the capture is open.
        wait_until(Duration::from_secs(20), "tcpdump listening", || {
            std::fs::read_to_string(err.path()).is_ok_and(|t| t.contains("listening on"))
        });
        WireClock { tcpdump, out }
    }

    /// Stops the capture; the times, sorted.
    fn stop(mut self) -> Vec<f64> {
        let pid = self.tcpdump.id().to_string();
        let _ = std::process::Command::new("kill")
            .args(["-INT", &pid])
            .status();
        let _ = self.tcpdump.wait();
        let text = std::fs::read_to_string(self.out.path()).unwrap_or_default();
        let mut times: Vec<f64> = text
            .lines()
            .filter_map(|l| l.split_whitespace().next()?.parse().ok())
            .collect();
        times.sort_by(f64::total_cmp);
        times
    }
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

/// Messages per second once all three senders run: from the end of the first second
/// (three processes start, connect and render their first batch one after another, and
/// slots that fall due before a sender is ready are given up), to the last message.
fn steady_rate(times: &[f64]) -> f64 {
    let from = times.partition_point(|t| *t < times[0] + 1.0);
    let times = &times[from..];
    (times.len() - 1) as f64 / (times[times.len() - 1] - times[0])
}

/// Whether `text` holds `address` whole, not as the tail of a longer one
/// (`a.balazova@…` inside `zuzana.balazova@…`).
fn holds_address(text: &str, address: &str) -> bool {
    let part_of_address = |b: u8| b.is_ascii_alphanumeric() || b".-_+'".contains(&b);
    text.match_indices(address)
        .any(|(i, _)| i == 0 || !part_of_address(text.as_bytes()[i - 1]))
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
    let wire = WireClock::start(sink.port);
    let mut senders: Vec<Child> = (0..3).map(|_| spawn_send(&sb, &sink.url())).collect();
    wait_until(Duration::from_secs(120), "the first messages", || {
        servers::dumped(dump.path()) >= BEFORE_KILL
    });
    // SIGKILL, mid-way: whatever it held is left as a crash leaves it.
    senders[0].kill().expect("SIGKILL");
    senders[0].wait().unwrap();
    let before_kill: Vec<f64> = dumped_messages(dump.path())
        .0
        .into_iter()
        .map(|(t, _)| t)
        .collect();
    senders[0] = spawn_send(&sb, &sink.url());
    for s in &mut senders {
        assert!(s.wait().unwrap().success(), "a sender failed");
    }
    let status = sb.status();
    let (messages, partial) = dumped_messages(dump.path());
    let wire_times = wire.stop();
    sink.stop();

    // One rate for the three: within 1% while all three ran, never above rate + burst.
    let rate = steady_rate(&before_kill);
    assert!(
        (rate / RATE as f64 - 1.0).abs() < 0.01,
        "three senders together sent {rate:.1}/s, configured {RATE}/s"
    );
    assert!(
        wire_times.len() >= messages.len(),
        "tcpdump saw {} transactions, the sink wrote {} messages",
        wire_times.len(),
        messages.len()
    );
    let busiest = busiest_second(&wire_times);
    assert!(
        busiest <= RATE + BURST,
        "{busiest} messages in one second on the wire, more than {RATE} + {BURST}"
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
        "{} messages at the sink; {status}",
        messages.len()
    );
    // Only a message the killed sender had on the wire may be cut off.
    assert!(partial <= unknown, "{partial} cut-off messages; {status}");
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
        let holding: Vec<&str> = rows.lines().filter(|r| holds_address(r, email)).collect();
        assert!(
            holding.is_empty(),
            "{email} is still in a table: {holding:?}"
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
