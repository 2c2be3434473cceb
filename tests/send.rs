//! Launch and sending against real SMTP servers (aiosmtpd, Postfix's smtp-sink).

mod common;
use common::servers::*;
use common::*;
use reconsent::domain::parse_instant;
use reconsent::policy::{ContactClass, Policy};
use reconsent::store::Store;
use reconsent::tokens::{LinkSigner, Purpose};
use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

const CAMPAIGN: &str = "campaigns/example.toml";

/// Every contact of the example base, keyed by lower-case address: (class, locale, public id).
async fn contacts(sb: &Sandbox) -> (HashMap<String, (ContactClass, String, String)>, Store) {
    let store = sb.store().await;
    let now = parse_instant(NOW).unwrap();
    let mut all = HashMap::new();
    let mut pages = store.contacts(10_000);
    let page = pages.recv().await.unwrap().unwrap();
    for c in page {
        let class = Policy::default().classify(&c.contact, now).class;
        let locale = c
            .contact
            .locale
            .as_ref()
            .map_or("en".to_string(), |l| l.to_string());
        all.insert(
            c.contact.email.key().to_string(),
            (class, locale, c.public_id.clone()),
        );
    }
    (all, store)
}

fn recipients(messages: &[serde_json::Value]) -> BTreeMap<String, usize> {
    let mut count = BTreeMap::new();
    for m in messages {
        *count
            .entry(m["to"].as_str().unwrap().to_lowercase())
            .or_default() += 1;
    }
    count
}

fn assert_no_duplicates(messages: &[serde_json::Value]) {
    let twice: Vec<_> = recipients(messages)
        .into_iter()
        .filter(|(_, n)| *n > 1)
        .collect();
    assert!(
        twice.is_empty(),
        "recipients with more than one message: {twice:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn every_eligible_contact_gets_exactly_one_message_in_their_locale() {
    let sb = Sandbox::with_campaign("200/s");
    let maildir = sb.path("maildir");
    let server = aiosmtpd_maildir(&maildir);
    let launched = sb.json(&["campaign", "launch", CAMPAIGN]);
    assert_eq!(launched["enqueued"], 165);
    assert_eq!(launched["excluded"]["no_basis"], 60);
    assert_eq!(launched["excluded"]["withdrawn"], 30);
    let out = sb.run_with(&server.url(), &["send", "--until-idle"]);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);

    let messages = read_messages(&maildir);
    assert_eq!(messages.len(), 165);
    assert_no_duplicates(&messages);
    let (all, store) = contacts(&sb).await;
    let signer = LinkSigner::new(store.secrets().await.unwrap().link_key);
    let now = parse_instant(NOW).unwrap();
    for m in &messages {
        let to = m["to"].as_str().unwrap().to_lowercase();
        // Addresses with an internationalised domain arrive in their ASCII form.
        let key = all.keys().find(|k| {
            reconsent::domain::EmailAddress::parse(k).unwrap().key() == to.as_str() || **k == to
        });
        let (class, locale, public_id) =
            &all[key.unwrap_or_else(|| panic!("{to} is not a contact"))];
        assert!(class.eligible(), "{to} is {class} and must not be e-mailed");
        assert_eq!(
            m["lang"].as_str(),
            Some(locale.as_str()),
            "{to}: wrong language"
        );
        let links: Vec<&str> = m["links"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l.as_str().unwrap())
            .collect();
        assert!(links.len() >= 2, "{to}: {links:?}");
        assert!(
            !links
                .iter()
                .any(|l| l.contains('@') || l.contains(public_id.as_str())),
            "{to}: an address or id in a link"
        );
        for (prefix, purpose) in [("/r/", Purpose::Confirm), ("/r/", Purpose::Leave)] {
            let ok = links.iter().any(|l| {
                l.split_once(prefix)
                    .and_then(|(_, t)| signer.verify(t, purpose, now))
                    .is_some_and(|c| c.public_id == *public_id && c.campaign == "spring-reconsent")
            });
            assert!(ok, "{to}: no working {purpose:?} link in {links:?}");
        }
        assert!(
            m["list_unsubscribe"].as_str().unwrap().contains("/u/"),
            "{to}"
        );
    }
    let eligible = all.values().filter(|(c, _, _)| c.eligible()).count();
    assert_eq!(eligible, 165, "every eligible contact got one");
    let status = sb.status();
    assert_eq!(
        (status["targeted"].clone(), status["sent"].clone()),
        (165.into(), 165.into())
    );
    // The ledger records what was sent: Message-ID and content hash.
    let ledger = sb.json(&["evidence", "lubica.stastna@example.sk"]);
    let requested = ledger["entries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["event"] == "requested");
    let requested = requested.expect("a requested entry");
    assert!(requested["message_id"].as_str().unwrap().contains('@'));
    assert_eq!(requested["content_sha256"].as_str().unwrap().len(), 64);
    server.stop();
}

#[tokio::test(flavor = "multi_thread")]
async fn launching_twice_changes_nothing() {
    let sb = Sandbox::with_campaign("200/s");
    assert_eq!(sb.json(&["campaign", "launch", CAMPAIGN])["enqueued"], 165);
    let again = sb.json(&["campaign", "launch", CAMPAIGN]);
    assert_eq!(again["enqueued"], 0);
    assert_eq!(again["already_launched"], true);
    assert_eq!(sb.status()["targeted"], 165);
}

#[test]
fn deferrals_are_retried_later_and_sent_once() {
    let sb = Sandbox::with_campaign("500/s");
    sb.ok(&["campaign", "launch", CAMPAIGN]);
    let port = free_port();
    let dump = sb.path("dump");
    let sink = smtp_sink_on(port, &["-r", "RCPT"], &dump);
    let out = sb.run_with(&sink.url(), &["send", "--until-idle"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    sink.stop();
    let status = sb.status();
    assert_eq!(
        (status["retrying"].clone(), status["sent"].clone()),
        (165.into(), 0.into())
    );
    assert_eq!(dumped(&dump), 0);
    // The server is back; an hour later the retries are due.
    let sink = smtp_sink_on(port, &[], &dump);
    let out = sb.run_with(
        &sink.url(),
        &["send", "--until-idle", "--now", "2026-11-22T01:00:00Z"],
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    sink.stop();
    assert_eq!(dumped(&dump), 165, "each deferred message exactly once");
    assert_eq!(sb.status()["sent"], 165);
}

#[test]
fn permanent_refusals_fail_without_retry() {
    let sb = Sandbox::with_campaign("500/s");
    sb.ok(&["campaign", "launch", CAMPAIGN]);
    let dump = sb.path("dump");
    let sink = smtp_sink(&["-f", "."], &dump);
    sb.run_with(&sink.url(), &["send", "--until-idle"]);
    let status = sb.status();
    assert_eq!(
        (status["failed"].clone(), status["retrying"].clone()),
        (165.into(), 0.into())
    );
    // Not retried later either.
    sb.run_with(
        &sink.url(),
        &["send", "--until-idle", "--now", "2026-11-23"],
    );
    assert_eq!(sb.status()["failed"], 165);
}

#[test]
fn a_connection_dropped_before_data_is_retried_without_duplicates() {
    let sb = Sandbox::with_campaign("500/s");
    sb.ok(&["campaign", "launch", CAMPAIGN]);
    let port = free_port();
    let dump = sb.path("dump");
    let sink = smtp_sink_on(port, &["-q", "RCPT"], &dump);
    sb.run_with(&sink.url(), &["send", "--until-idle"]);
    sink.stop();
    assert_eq!(sb.status()["retrying"], 165);
    let sink = smtp_sink_on(port, &[], &dump);
    sb.run_with(
        &sink.url(),
        &["send", "--until-idle", "--now", "2026-11-22T01:00:00Z"],
    );
    sink.stop();
    assert_eq!(dumped(&dump), 165);
}

#[test]
fn a_connection_dropped_after_the_message_is_unknown_and_not_resent() {
    let sb = Sandbox::with_campaign("500/s");
    sb.ok(&["campaign", "launch", CAMPAIGN]);
    let port = free_port();
    let dump = sb.path("dump");
    let sink = smtp_sink_on(port, &["-q", "."], &dump);
    sb.run_with(&sink.url(), &["send", "--until-idle"]);
    sink.stop();
    let status = sb.status();
    assert_eq!(
        (status["unknown"].clone(), status["retrying"].clone()),
        (165.into(), 0.into())
    );
    let sink = smtp_sink_on(port, &[], &sb.path("dump2"));
    let out = sb.run_with(
        &sink.url(),
        &["send", "--until-idle", "--now", "2026-11-23"],
    );
    sink.stop();
    assert_eq!(
        dumped(&sb.path("dump2")),
        0,
        "unknown messages are never resent: {}",
        out.stdout
    );
}

#[test]
fn bounces_are_suppressed_and_policy_refusals_pause_the_campaign() {
    let sb = Sandbox::with_campaign("500/s");
    // Two contacts whose mailboxes do not exist; the rest as usual.
    let extra = format!(
        "{HEADER}\nbounce.one@example.cz,,cs,CZ,true,2026-06-01,,,,,,,,,,\nbounce.two@example.de,,de,DE,true,2026-06-01,,,,,,,,,,\n"
    );
    let file = sb.write("extra.csv", extra);
    sb.ok(&["import", file.to_str().unwrap()]);
    sb.ok(&["campaign", "launch", CAMPAIGN]);
    let maildir = sb.path("maildir");
    let server = answering_server(&maildir);
    sb.run_with(&server.url(), &["send", "--until-idle"]);
    let status = sb.status();
    assert_eq!(status["bounced"], 2);
    assert_eq!(status["sent"], 165);
    assert_eq!(status["queued_for_deletion"], 2);
    assert_eq!(read_messages(&maildir).len(), 165);

    // A second campaign meets a DMARC refusal on its first recipient: it pauses, nobody is blamed.
    let policy = format!("{HEADER}\npolicy.check@example.sk,,sk,SK,true,2026-06-01,,,,,,,,,,\n");
    let file = sb.write("policy.csv", policy);
    sb.ok(&["import", file.to_str().unwrap()]);
    let second = std::fs::read_to_string(sb.path(CAMPAIGN))
        .unwrap()
        .replace("name = \"spring-reconsent\"", "name = \"policy-test\"");
    sb.write("campaigns/policy.toml", second);
    let launched = sb.json(&["campaign", "launch", "campaigns/policy.toml"]);
    assert_eq!(
        launched["excluded"]["suppressed"], 2,
        "bounced addresses are not asked again"
    );
    let out = sb.run_with(&server.url(), &["send", "--until-idle"]);
    assert!(
        out.stdout.contains("policy-test is paused"),
        "{}",
        out.stdout
    );
    let status = sb.json(&["campaign", "status", "policy-test"]);
    assert_eq!(status["state"], "paused");
    assert!(
        status["state_reason"].as_str().unwrap().contains("5.7.26"),
        "{status}"
    );
    assert!(
        status["state_reason"].as_str().unwrap().contains("DMARC"),
        "tells what to fix"
    );
    assert_eq!(status["bounced"], 0);
    assert_eq!(status["failed"], 0);
    server.stop();
}

fn spawn_send(sb: &Sandbox, url: &str) -> std::process::Child {
    sb.process()
        .env("RECONSENT__TRANSPORT", url)
        .args(["send", "--until-idle"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start send")
}

/// Waits until the Maildir holds `at_least` messages (counting files: parsing them
/// all on every look would lag behind the sender on a busy machine).
fn wait_for_messages(maildir: &std::path::Path, at_least: usize) {
    let start = std::time::Instant::now();
    while dumped(&maildir.join("new")) < at_least {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "no messages arrived"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_sender_killed_mid_campaign_sends_nobody_twice() {
    let sb = Sandbox::with_campaign("25/s");
    sb.ok(&["campaign", "launch", CAMPAIGN]);
    let maildir = sb.path("maildir");
    let server = aiosmtpd_maildir(&maildir);
    let mut child = spawn_send(&sb, &server.url());
    wait_for_messages(&maildir, 30);
    // SIGKILL: no chance to finish anything.
    child.kill().unwrap();
    child.wait().unwrap();
    let before = read_messages(&maildir).len();
    assert!(
        before < 165,
        "the kill came too late to test anything ({before} sent)"
    );
    let out = sb.run_with(&server.url(), &["send", "--until-idle"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let messages = read_messages(&maildir);
    assert_no_duplicates(&messages);
    let status = sb.status();
    let (sent, unknown) = (
        status["sent"].as_i64().unwrap(),
        status["unknown"].as_i64().unwrap(),
    );
    assert_eq!(
        sent + unknown,
        165,
        "every contact is sent or counted as unknown: {status}"
    );
    assert!(
        unknown <= 8,
        "only messages in flight at the kill can be unknown: {unknown}"
    );
    assert!(messages.len() as i64 >= sent && messages.len() <= 165);
    server.stop();
}

#[test]
fn two_senders_on_one_database_send_each_message_once() {
    let sb = Sandbox::with_campaign("100/s");
    sb.ok(&["campaign", "launch", CAMPAIGN]);
    let maildir = sb.path("maildir");
    let server = aiosmtpd_maildir(&maildir);
    let mut a = spawn_send(&sb, &server.url());
    let mut b = spawn_send(&sb, &server.url());
    assert!(a.wait().unwrap().success() && b.wait().unwrap().success());
    let messages = read_messages(&maildir);
    assert_eq!(messages.len(), 165);
    assert_no_duplicates(&messages);
    server.stop();
}

#[test]
fn pause_resume_and_cancel_mid_campaign() {
    let sb = Sandbox::with_campaign("25/s");
    sb.ok(&["campaign", "launch", CAMPAIGN]);
    let maildir = sb.path("maildir");
    let server = aiosmtpd_maildir(&maildir);
    let mut child = spawn_send(&sb, &server.url());
    wait_for_messages(&maildir, 20);
    sb.ok(&["campaign", "pause", "spring-reconsent"]);
    assert!(
        child.wait().unwrap().success(),
        "send stops when its only campaign is paused"
    );
    let paused_at = read_messages(&maildir).len();
    assert!(paused_at < 165);
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(
        read_messages(&maildir).len(),
        paused_at,
        "nothing goes out while paused"
    );
    assert_eq!(sb.status()["state"], "paused");

    sb.ok(&["campaign", "resume", "spring-reconsent"]);
    let mut child = spawn_send(&sb, &server.url());
    wait_for_messages(&maildir, paused_at + 10);
    sb.ok(&["campaign", "cancel", "spring-reconsent"]);
    assert!(child.wait().unwrap().success());
    let messages = read_messages(&maildir);
    assert_no_duplicates(&messages);
    let status = sb.status();
    assert_eq!(status["state"], "cancelled");
    let (sent, cancelled) = (
        status["sent"].as_i64().unwrap(),
        status["cancelled"].as_i64().unwrap(),
    );
    assert_eq!(sent as usize, messages.len());
    assert_eq!(
        sent + cancelled + status["unknown"].as_i64().unwrap(),
        165,
        "{status}"
    );
    assert!(cancelled > 0, "{status}");
    // Nothing more goes out after a cancel.
    sb.run_with(&server.url(), &["send", "--until-idle"]);
    assert_eq!(read_messages(&maildir).len(), messages.len());
    server.stop();
}

/// Two senders (two connections to the database, as two processes have) reserving
/// slots of one campaign get one schedule between them: together they keep the rate,
/// they do not double it.
#[tokio::test]
async fn senders_sharing_a_campaign_share_its_rate() {
    use reconsent::send::pace::{Quota, slots};
    use reconsent::store::SlotRequest;
    let sb = Sandbox::with_campaign("100/s");
    sb.ok(&["campaign", "launch", CAMPAIGN]);
    let a = sb.store().await;
    let b = sb.store().await;
    let id = a.campaign("spring-reconsent").await.unwrap().unwrap().id;
    let quota = Quota::new(100.0, 1);
    let (now, k) = (1_800_000_000_000_000, quota.block());
    let mut all = Vec::new();
    for (i, store) in [&a, &b, &a, &b, &b, &a].into_iter().enumerate() {
        let asked = now + i as i64 * 1_000; // each asks a millisecond after the other
        let request = SlotRequest {
            campaign_id: id,
            now: asked,
            k,
            period: quota.period,
        };
        let tat = store
            .journal(&[], &[request], reconsent::domain::from_unix(0))
            .await
            .unwrap();
        all.extend(slots(tat[0], k, quota, asked));
    }
    all.sort();
    let gaps: Vec<i64> = all.windows(2).map(|w| w[1] - w[0]).collect();
    assert_eq!(all.len(), 6 * k as usize);
    assert!(
        gaps.iter().all(|&g| g == quota.period),
        "one slot every 10 ms between both senders: {gaps:?}"
    );
}

/// When each message for `domain` reached the server: its Maildir file's write time.
fn received_at(maildir: &std::path::Path, domain: &str) -> Vec<f64> {
    let mut times: Vec<f64> = std::fs::read_dir(maildir.join("new"))
        .unwrap()
        .flatten()
        .filter(|f| {
            let text = std::fs::read_to_string(f.path()).unwrap_or_default();
            let head = text
                .split("\r\n\r\n")
                .next()
                .unwrap_or_default()
                .to_string();
            head.lines()
                .any(|l| l.starts_with("To:") && l.contains(&format!("@{domain}")))
        })
        .map(|f| {
            let modified = f.metadata().unwrap().modified().unwrap();
            modified
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_secs_f64()
        })
        .collect();
    times.sort_by(f64::total_cmp);
    times
}

/// Messages a second between the first and the last arrival.
fn arrival_rate(times: &[f64]) -> f64 {
    (times.len() - 1) as f64 / (times[times.len() - 1] - times[0])
}

/// A provider that answers 421 4.7.0 is slowed to half its limit by itself, its messages
/// retried (none failed), while another domain keeps the campaign's rate.
#[test]
fn a_domain_that_answers_421_slows_down_while_another_keeps_the_campaign_rate() {
    let (busy, calm) = (30, 90);
    let mut csv = String::from("email,name,locale,consent_at,consent_method\n");
    for (domain, n) in [("busy.example", busy), ("calm.example", calm)] {
        for i in 0..n {
            csv += &format!("p{i}@{domain},P {i},pl,2019-05-01,unknown\n");
        }
    }
    let scratch = tempfile::tempdir().unwrap();
    let file = scratch.path().join("contacts.csv");
    std::fs::write(&file, csv).unwrap();
    let sb = Sandbox::with_contacts("30/s", &file);
    sb.write(
        "reconsent.toml",
        "[sending.domains]\n\"busy.example\" = \"10/s\"\n",
    );
    let launched = sb.json(&["campaign", "launch", CAMPAIGN]);
    assert_eq!(launched["enqueued"], busy + calm, "{launched}");
    let maildir = sb.path("maildir");
    // It answers 421 4.7.0 to the first three recipients at busy.example.
    let server = answering_server(&maildir);
    let out = sb.run_with(&server.url(), &["send", "--until-idle"]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    let status = sb.status();
    assert_eq!(
        (&status["sent"], &status["failed"], &status["bounced"]),
        (&(busy + calm).into(), &0.into(), &0.into()),
        "{status}"
    );
    assert_eq!(
        status["state"], "running",
        "a 4.7.0 does not pause the campaign"
    );
    assert_no_duplicates(&read_messages(&maildir));
    let busy_times = received_at(&maildir, "busy.example");
    let calm_times = received_at(&maildir, "calm.example");
    assert_eq!((busy_times.len(), calm_times.len()), (busy, calm));
    // Every busy.example message went after the deferrals: at half its 10/s limit.
    let busy_rate = arrival_rate(&busy_times);
    let calm_rate = arrival_rate(&calm_times);
    println!("busy.example {busy_rate:.2}/s, calm.example {calm_rate:.2}/s");
    assert!(
        busy_rate <= 5.0 * 1.15,
        "busy.example took {busy_rate:.1}/s after answering 421: not slowed to 5/s"
    );
    // calm.example had the campaign's 30/s, less busy.example's 5/s.
    assert!(
        calm_rate >= 25.0 * 0.85,
        "calm.example got {calm_rate:.1}/s of the campaign's 30/s"
    );
    server.stop();
}
