//! Deadline, deletion queue, purge, forget: lawful, final, resumable.

mod common;
use common::*;
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
    let pool =
        sqlx::SqlitePool::connect(&format!("sqlite://{}", sb.path("reconsent.db").display()))
            .await
            .unwrap();
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
        out[i] = sqlx::query_scalar(*sql).fetch_one(&pool).await.unwrap();
    }
    (out[0], out[1], out[2], out[3])
}

#[tokio::test(flavor = "multi_thread")]
async fn a_purge_killed_mid_run_resumes_to_the_same_end_state() {
    // Three batches of the purge's 5,000, so that the kill lands between two.
    const N: usize = 12_000;
    let killed = purge_base(N);
    let clean = purge_base(N);
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("reconsent"))
        .current_dir(killed.dir.path())
        .env("RECONSENT_TEST_CLOCK", "1")
        .args(["purge", "--now", AFTER_GRACE])
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Kill as soon as the first batches are erased.
    let start = std::time::Instant::now();
    loop {
        let (_, tombstones, _, _) = end_state(&killed).await;
        if tombstones > 0 {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "the purge never started"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    child.kill().unwrap();
    child.wait().unwrap();
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
