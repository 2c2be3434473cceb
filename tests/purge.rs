//! Deadline, deletion queue, purge, forget: lawful, final, resumable.

mod common;
use common::*;
use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

const CAMPAIGN: &str = "campaigns/example.toml";
/// Deadline (30 days after launch) and grace (7 days) of the example campaign are past.
const AFTER_GRACE: &str = "2027-01-01T00:00:00Z";

#[test]
fn a_whole_campaign_purges_exactly_the_silent_and_the_bounced() {
    let sb = sent_with_a_bounce();
    let status = sb.status();
    assert_eq!(
        (status["sent"].clone(), status["bounced"].clone()),
        (166.into(), 1.into())
    );
    let before = sb.json(&["audit"])["total"].as_i64().unwrap();

    // Before the deadline nothing goes; a dry run names what will go, and when.
    assert_eq!(
        sb.json(&["purge", "--dry-run"])["would_purge"]
            .as_array()
            .unwrap()
            .len(),
        0
    );
    let preview = sb.json(&["purge", "--dry-run", "--now", AFTER_GRACE]);
    let would: Vec<String> = preview["would_purge"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_lowercase())
        .collect();
    let held: Vec<&str> = preview["held"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert!(would.contains(&"jan.kowalski@example.pl".to_string()));
    assert!(would.contains(&"bounce.one@example.cz".to_string()));
    assert!(
        held.contains(&"zuzana.balazova@example.sk"),
        "legal holds are reported: {held:?}"
    );
    assert_eq!(
        sb.json(&["audit"])["total"],
        before,
        "a dry run erases nothing"
    );

    let report = sb.json(&["purge", "--now", AFTER_GRACE]);
    // The silent (sent, no answer) and the bounced, less those under legal hold.
    assert_eq!(report["purged"].as_u64().unwrap() as usize, would.len());
    assert_eq!(report["purged"].as_u64().unwrap() + held.len() as u64, 167);
    let after = sb.json(&["audit", "--now", AFTER_GRACE]);
    assert_eq!(
        after["total"].as_i64().unwrap(),
        before - would.len() as i64
    );
    // Contacts that were never asked (valid, no_basis, withdrawn) are not this campaign's to purge.
    assert_eq!(after["classes"]["valid"], 45);
    for email in &held {
        assert_eq!(
            sb.run(&["explain", email]).code,
            0,
            "{email} is held and remains"
        );
    }
    let status = sb.json(&[
        "campaign",
        "status",
        "spring-reconsent",
        "--now",
        AFTER_GRACE,
    ]);
    assert_eq!(status["purged"].as_u64(), report["purged"].as_u64());

    // Nothing of a purged address is left in the database files but its keyed tombstone.
    for email in would.iter().take(40) {
        assert!(
            !in_database(&sb, email),
            "{email} is still in the database files"
        );
    }
    assert!(!in_database(&sb, "Jan Kowalski"));
    // The ledger keeps that there was a consent story, not who it was about.
    let again = format!("{HEADER}\n  Jan.Kowalski@EXAMPLE.pl ,Jan,pl,PL,,,,,,,,,,,,\n");
    let file = sb.write("again.csv", again);
    let v = sb.json(&["import", file.to_str().unwrap(), "--now", "2027-01-02"]);
    assert_eq!(v["refused_tombstoned"], 1);
    assert_eq!(v["inserted"], 0);
    // A second purge finds nothing more to do.
    assert_eq!(sb.json(&["purge", "--now", AFTER_GRACE])["purged"], 0);
}

#[test]
fn forget_erases_at_once_and_respects_legal_hold() {
    let sb = Sandbox::new();
    sb.ok(&["import", examples().to_str().unwrap()]);
    let out = sb.ok(&["forget", " Lubica.Stastna@example.sk"]);
    assert!(out.stdout.contains("erased"), "{}", out.stdout);
    assert_eq!(sb.run(&["explain", "lubica.stastna@example.sk"]).code, 1);
    assert!(!in_database(&sb, "lubica.stastna@example.sk"));
    assert_eq!(sb.json(&["audit"])["total"], 299);
    let held = sb.run(&["forget", "zuzana.balazova@example.sk"]);
    assert_eq!(held.code, 1);
    assert!(held.stderr.contains("legal hold"), "{}", held.stderr);
    let again = sb.ok(&["forget", "lubica.stastna@example.sk"]);
    assert!(again.stdout.contains("already erased"));
}

fn purge_base(n: usize) -> Sandbox {
    let sb = Sandbox::with_campaign("1000000/s");
    let mut csv = String::from("email,locale,consent_at,consent_method\n");
    for i in 0..n {
        csv.push_str(&format!("silent{i}@bulk.example,pl,2019-05-01,unknown\n"));
    }
    let file = sb.write("bulk.csv", csv);
    sb.ok(&["import", file.to_str().unwrap()]);
    sb.ok(&["campaign", "launch", CAMPAIGN]);
    let out = sb.run_with("file://outbox", &["send", "--until-idle"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    sb
}

/// (contacts, tombstones, erased entries, queued) straight from the database.
async fn end_state(sb: &Sandbox) -> (i64, i64, i64, i64) {
    let mut out = [0i64; 4];
    for (i, sql) in [
        "SELECT count(*) FROM contacts",
        "SELECT count(*) FROM tombstones",
        "SELECT count(*) FROM ledger WHERE event = 'erased'",
        "SELECT count(*) FROM deletion_queue",
    ]
    .iter()
    .enumerate()
    {
        out[i] = sb.scalar(sql);
    }
    (out[0], out[1], out[2], out[3])
}

/// Starts a purge and kills it as soon as its first batch is erased.
async fn purge_killed_after_first_batch(sb: &Sandbox) {
    let mut child = sb
        .process()
        .env_remove("RECONSENT_NOW")
        // Small batches, so that the kill lands between two.
        .env("RECONSENT__PURGE__BATCH", "5000")
        .args(["purge", "--now", AFTER_GRACE])
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let start = std::time::Instant::now();
    while end_state(sb).await.1 == 0 {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "the purge never started"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    child.kill().unwrap();
    child.wait().unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_purge_killed_mid_run_resumes_to_the_same_end_state() {
    // Three batches of 5,000, so that the kill lands between two.
    const N: usize = 12_000;
    let killed = purge_base(N);
    let clean = purge_base(N);
    purge_killed_after_first_batch(&killed).await;
    let (_, mid_tombstones, mid_erased, _) = end_state(&killed).await;
    assert!(
        mid_tombstones < N as i64 + 165,
        "the kill came after the purge ended: nothing tested"
    );
    assert_eq!(
        mid_tombstones, mid_erased,
        "no contact half-erased: every tombstone has its audit entry"
    );
    killed.ok(&["purge", "--now", AFTER_GRACE]);
    clean.ok(&["purge", "--now", AFTER_GRACE]);
    let (a, b) = (end_state(&killed).await, end_state(&clean).await);
    assert_eq!(a, b, "(contacts, tombstones, erased, queued)");
    assert_eq!(a.1, a.2);
    assert!(a.1 >= N as i64);
    // The ledger's chain is whole after the interrupted run as after the clean one.
    for sb in [&killed, &clean] {
        let v = sb.json(&["evidence", "verify"]);
        assert_eq!(v["verified"], true, "{v}");
    }
}

#[test]
fn a_made_up_clock_cannot_write_to_a_real_base() {
    let sb = sent_with_a_bounce();
    let real = |args: &[&str]| {
        let out = sb
            .cmd()
            .env_remove("RECONSENT_TEST_CLOCK")
            .args(args)
            .output()
            .expect("run reconsent");
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let before = (sb.json(&["audit"]), sb.status());
    // A purge "in 2027" on a real base would erase people before their deadline.
    for args in [
        &["purge", "--now", AFTER_GRACE][..],
        &["forget", "jan.kowalski@example.pl"],
        &["campaign", "pause", "spring-reconsent"],
        &["send", "--until-idle"],
    ] {
        let (code, stderr) = real(args);
        assert_eq!(code, Some(2), "{args:?} with a made-up clock: {stderr}");
        assert!(stderr.contains("--now"), "{args:?}: {stderr}");
    }
    assert_eq!(
        (sb.json(&["audit"]), sb.status()),
        before,
        "nothing changed"
    );
    // Questions are fine: a dry run, an audit.
    let (code, stderr) = real(&["purge", "--dry-run", "--now", AFTER_GRACE]);
    assert_eq!(code, Some(0), "{stderr}");
    let (code, stderr) = real(&["audit", "--now", AFTER_GRACE]);
    assert_eq!(code, Some(0), "{stderr}");
}

/// How often each of `needles` stands in `bytes`. Every needle has the same length
/// and holds `anchor` at the same place, so one pass finds the anchors and a set
/// lookup does the rest.
fn occurrences(bytes: &[u8], needles: &[String], anchor: &str) -> BTreeMap<String, usize> {
    let mut found = BTreeMap::new();
    let Some(first) = needles.first() else {
        return found;
    };
    let at = first.find(anchor).expect("the anchor is in every needle");
    let len = first.len();
    for n in needles {
        assert_eq!((n.len(), n.find(anchor)), (len, Some(at)), "{n}");
    }
    let wanted: HashSet<&[u8]> = needles.iter().map(|n| n.as_bytes()).collect();
    for p in memchr::memmem::find_iter(bytes, anchor.as_bytes()) {
        let Some(window) = p.checked_sub(at).and_then(|s| bytes.get(s..s + len)) else {
            continue;
        };
        if wanted.contains(window) {
            *found
                .entry(String::from_utf8_lossy(window).into_owned())
                .or_default() += 1;
        }
    }
    found
}

/// One person's address, name and consent IP, each of a fixed width so that none is
/// part of another.
struct Person {
    email: String,
    name: String,
    ip: String,
}

fn person(i: usize) -> Person {
    Person {
        email: format!("p{i:06}@people.example"),
        name: format!("Zed Person{i:06}"),
        // Every group four digits from a to f: no group is shortened when printed.
        ip: format!(
            "2001:db8:abcd:1234:5678:9abc:{:04x}:{:04x}",
            0xa000 + (i >> 12),
            0xa000 + (i & 0xfff)
        ),
    }
}

/// People `range`, who consented weakly in 2019, with a source note `source_len(i)`
/// long: rows of many sizes, as in a real base.
fn people_csv(range: std::ops::Range<usize>, source_len: fn(usize) -> usize) -> String {
    let mut csv =
        String::from("email,name,locale,consent_at,consent_method,consent_ip,consent_source\n");
    for i in range {
        let p = person(i);
        csv.push_str(&format!(
            "{},{},pl,2019-05-01,unknown,{},signup{}\n",
            p.email,
            p.name,
            p.ip,
            "-".repeat(source_len(i))
        ));
    }
    csv
}

/// How often the address, name and IP of each of `people` stand in the files.
fn found(sb: &Sandbox, people: &[usize]) -> BTreeMap<String, usize> {
    let people: Vec<Person> = people.iter().map(|i| person(*i)).collect();
    let field = |f: fn(&Person) -> &String| people.iter().map(|p| f(p).clone()).collect::<Vec<_>>();
    let bytes = sb.database_bytes();
    let mut all = occurrences(&bytes, &field(|p| &p.email), "@people.example");
    all.extend(occurrences(&bytes, &field(|p| &p.name), "Zed Person"));
    all.extend(occurrences(&bytes, &field(|p| &p.ip), ":9abc:"));
    all
}

fn assert_none_left(sb: &Sandbox, erased: &[usize]) {
    let left: Vec<String> = found(sb, erased).into_keys().collect();
    assert!(
        left.is_empty(),
        "{} pieces of erased contacts are still in the database files: {:?}",
        left.len(),
        &left[..left.len().min(10)]
    );
}

/// The people among `0..n` of whom the files hold an old copy beside the live row:
/// the name stands in a contact's row only, so twice means a stale copy.
fn with_old_copies(sb: &Sandbox, n: usize) -> Vec<usize> {
    let all: Vec<usize> = (0..n).collect();
    let names: Vec<String> = all.iter().map(|i| person(*i).name).collect();
    let counts = occurrences(&sb.database_bytes(), &names, "Zed Person");
    let old: Vec<usize> = all
        .into_iter()
        .filter(|i| counts.get(&person(*i).name).is_some_and(|c| *c > 1))
        .collect();
    assert!(
        !old.is_empty(),
        "the re-import left no old copy: nothing tested"
    );
    old
}

/// The people with an old copy in the files, and one in `every` of the others.
fn silent(sb: &Sandbox, n: usize, every: usize) -> Vec<usize> {
    let mut silent = with_old_copies(sb, n);
    silent.extend((0..n).step_by(every));
    silent.sort();
    silent.dedup();
    silent
}

async fn sql(sb: &Sandbox, statement: &str) {
    sb.execute(statement);
}

/// The example base plus `n` people, imported and then imported again with other
/// source notes (a shop's nightly re-sync): updated rows of a new size move within
/// their page, and SQLite leaves the bytes of the old version in the page's unused
/// space. Then a campaign launched to all.
fn people_base(n: usize) -> Sandbox {
    let sb = Sandbox::with_campaign("1000000/s");
    let file = sb.write("people.csv", people_csv(0..n, |i| (i * 7_919) % 90));
    sb.ok(&["import", file.to_str().unwrap()]);
    let file = sb.write("again.csv", people_csv(0..n, |i| (i * 31) % 200));
    sb.ok(&["import", file.to_str().unwrap()]);
    sb.ok(&["campaign", "launch", CAMPAIGN]);
    sb
}

/// Marks the requests to `people` sent, as a send to the outbox would (50,000 `.eml`
/// files take minutes); the others were never sent anything, so they are not silent.
async fn mark_sent(sb: &Sandbox, people: &[usize]) {
    let emails: Vec<String> = people
        .iter()
        .map(|i| format!("'{}'", person(*i).email))
        .collect();
    let now = chrono::DateTime::parse_from_rfc3339(NOW)
        .unwrap()
        .timestamp();
    sql(
        sb,
        &format!(
            "UPDATE deliveries SET state = 'sent', sent_at = {now} \
             WHERE contact_id IN (SELECT id FROM contacts WHERE email IN ({}))",
            emails.join(", ")
        ),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_scan_finds_what_is_there() {
    let sb = Sandbox::with_campaign("1000000/s");
    let file = sb.write("people.csv", people_csv(0..30, |_| 3));
    sb.ok(&["import", file.to_str().unwrap()]);
    let all: Vec<usize> = (0..30).collect();
    let counts = found(&sb, &all);
    assert_eq!(counts.len(), 90, "address, name and IP of each of 30");
    // Live: the address twice in the row (as given and as key) and once in its index;
    // the IP in the row and in the import's ledger entry. PostgreSQL may hold more:
    // the values its statistics sampled.
    let expected = [
        (&person(7).email, 3),
        (&person(7).name, 1),
        (&person(7).ip, 2),
    ];
    for (needle, n) in expected {
        match sb.backend() {
            Backend::Sqlite => assert_eq!(counts[needle], n, "{needle}"),
            Backend::Postgres => assert!(counts[needle] >= n, "{needle}: {}", counts[needle]),
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn no_byte_of_a_purged_contact_is_left_in_any_database_file() {
    const N: usize = 50_000;
    let sb = people_base(N);
    let silent = silent(&sb, N, 50);
    mark_sent(&sb, &silent).await;
    let report = sb.json(&["purge", "--now", AFTER_GRACE]);
    assert_eq!(report["purged"].as_u64(), Some(silent.len() as u64));
    assert_none_left(&sb, &silent);
}

#[tokio::test(flavor = "multi_thread")]
async fn no_byte_of_a_forgotten_contact_is_left_in_any_database_file() {
    const N: usize = 20_000;
    let sb = people_base(N);
    let mut old_copies = with_old_copies(&sb, N);
    old_copies.truncate(3);
    for i in &old_copies {
        sb.ok(&["forget", &person(*i).email]);
    }
    assert_none_left(&sb, &old_copies);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_purge_killed_mid_run_and_resumed_leaves_no_byte_either() {
    const N: usize = 40_000;
    let sb = people_base(N);
    // Three batches and more.
    let silent = silent(&sb, N, 3);
    mark_sent(&sb, &silent).await;
    purge_killed_after_first_batch(&sb).await;
    assert!(
        end_state(&sb).await.1 < silent.len() as i64,
        "the kill came after the purge ended: nothing tested"
    );
    sb.ok(&["purge", "--now", AFTER_GRACE]);
    assert_eq!(end_state(&sb).await.1, silent.len() as i64);
    assert_none_left(&sb, &silent);
}

#[tokio::test(flavor = "multi_thread")]
async fn erasure_cancels_what_was_still_to_be_sent() {
    let sb = Sandbox::with_campaign("1000000/s");
    sb.ok(&["campaign", "launch", CAMPAIGN]);
    let email = "veronika_horvathova@example.sk";
    sb.ok(&["forget", email]);
    let states = sb.rows(
        "SELECT state, last_error FROM deliveries WHERE contact_id NOT IN (SELECT id FROM contacts)",
    );
    assert_eq!(
        states,
        [[Some("cancelled".to_string()), Some("erased".to_string())]]
    );
    // The sender neither tries it nor waits for it.
    let out = sb
        .cmd()
        .env("RECONSENT__TRANSPORT", "file://outbox")
        .args(["send", "--until-idle"])
        .timeout(Duration::from_secs(120))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for entry in std::fs::read_dir(sb.path("outbox")).unwrap().flatten() {
        let message = std::fs::read_to_string(entry.path()).unwrap();
        assert!(!message.contains(email), "sent to an erased address");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_request_that_may_never_have_left_does_not_make_its_contact_silent() {
    let sb = Sandbox::with_campaign("1000000/s");
    sb.ok(&["campaign", "launch", CAMPAIGN]);
    let out = sb.run_with("file://outbox", &["send", "--until-idle"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let email = "veronika_horvathova@example.sk";
    // What a sender that died between handing the message over and recording it leaves.
    sql(
        &sb,
        &format!(
            "UPDATE deliveries SET state = 'unknown' WHERE contact_id = \
             (SELECT id FROM contacts WHERE email = '{email}')"
        ),
    )
    .await;
    let preview = sb.json(&["purge", "--dry-run", "--now", AFTER_GRACE]);
    assert!(
        !preview["would_purge"].to_string().contains(email),
        "{preview}"
    );
    let report = sb.json(&["purge", "--now", AFTER_GRACE]);
    assert!(report["purged"].as_u64().unwrap() > 100);
    assert_eq!(sb.run(&["explain", email]).code, 0, "{email} was erased");
}
