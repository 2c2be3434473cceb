//! The consent ledger as proof: its hash chain verifies on an untouched base, also after
//! erasure, and names the entry that someone with the database file changed, removed or
//! reordered with the `sqlite3` command-line tool.
//!
//! These tests read and change the base through the `sqlite3` tool, so they run in the
//! SQLite pass only; the PostgreSQL pass keeps the same chain through the same code
//! above the store, and `store_contract` checks its head on both backends.

mod common;
use common::servers::read_messages;
use common::*;
use std::process::Command;

/// Whether this pass is not SQLite's: the tests below need the `sqlite3` tool.
fn sqlite_only() -> bool {
    common::database::backend() != Backend::Sqlite
}

const CAMPAIGN: &str = "campaigns/example.toml";
/// An hour after the send: past the suspect window.
const LATER: &str = "2026-11-22T01:00:00Z";
const AFTER_GRACE: &str = "2027-01-01T00:00:00Z";
const PRIVACY_POLICY: &str =
    "# Privacy policy of Tatra Tea\n\nWe keep your address to send the newsletter.\n";
const BROWSER: &str = "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0";

/// The example campaign sent to the example base; an hour later every `every`-th
/// recipient opens the page and confirms. Returns the confirmed addresses.
async fn answered(every: usize) -> (Sandbox, Vec<String>) {
    let sb = Sandbox::with_campaign("500/s");
    // The privacy policy's text, launched with the campaign and hashed into the ledger.
    sb.write("campaigns/privacy-policy.md", PRIVACY_POLICY);
    let file = std::fs::read_to_string(sb.path(CAMPAIGN)).unwrap().replace(
        "privacy_policy_version = \"2026-03\"",
        "privacy_policy_version = \"2026-03\"\nprivacy_policy_file = \"privacy-policy.md\"",
    );
    sb.write(CAMPAIGN, file);
    sb.ok(&["campaign", "launch", CAMPAIGN]);
    let outbox = format!("file://{}", sb.path("outbox").display());
    let out = sb.run_with(&outbox, &["send", "--until-idle"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let server = common::admin::serve(
        &sb,
        &[
            ("RECONSENT_NOW", LATER),
            ("RECONSENT__WEB__RATE_PER_IP", "100000/s"),
            ("RECONSENT__WEB__BURST", "100000"),
        ],
    );
    let http = reqwest::Client::builder()
        .user_agent(BROWSER)
        .build()
        .unwrap();
    let mut confirmed = Vec::new();
    for m in read_messages(&sb.path("outbox")).iter().step_by(every) {
        // The confirm link is the one whose page has a confirm button; a leave token
        // cannot confirm, so posting to each link confirms exactly once.
        let mut ok = false;
        for link in m["links"].as_array().unwrap() {
            let Some((_, token)) = link.as_str().unwrap().rsplit_once("/r/") else {
                continue;
            };
            let page = format!("{}/r/{token}", server.base);
            let got = http.get(&page).send().await.unwrap();
            assert!(got.status().is_success(), "{page}: {}", got.status());
            let r = http.post(format!("{page}/confirm")).send().await.unwrap();
            ok |= r.status().is_success();
        }
        assert!(ok, "no link of {} confirmed", m["to"]);
        confirmed.push(m["to"].as_str().unwrap().to_lowercase());
    }
    drop(server);
    assert!(confirmed.len() > 5, "{confirmed:?}");
    (sb, confirmed)
}

/// Forgets the first of `confirmed` not under legal hold, a day after the answers;
/// returns it.
fn forget_one(sb: &Sandbox, confirmed: &[String]) -> String {
    for who in confirmed {
        if sb
            .run(&["forget", who, "--now", "2026-11-23T00:00:00Z"])
            .code
            == 0
        {
            return who.clone();
        }
    }
    panic!("every confirmed contact is held: {confirmed:?}");
}

/// A copy of a whole sandbox (the database is closed, its log folded in).
fn copy(sb: &Sandbox) -> Sandbox {
    let new = Sandbox::empty();
    copy_dir(sb.dir.path(), new.dir.path());
    new
}

/// Runs SQL on the database with the `sqlite3` command-line tool, as anyone holding the
/// file could.
fn sqlite3(sb: &Sandbox, sql: &str) -> String {
    let out = Command::new("sqlite3")
        .arg(sb.path("reconsent.db"))
        .arg(sql)
        .output()
        .expect("the sqlite3 command (scripts/test installs it)");
    assert!(
        out.status.success(),
        "sqlite3 {sql}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn first_id(sb: &Sandbox, event: &str) -> i64 {
    sqlite3(
        sb,
        &format!("SELECT min(id) FROM ledger WHERE event = '{event}'"),
    )
    .parse()
    .unwrap()
}

fn verify_fails(sb: &Sandbox, args: &[&str]) -> String {
    let out = sb.run(args);
    assert_eq!(
        out.code, 1,
        "{args:?} must fail:\n{}\n{}",
        out.stdout, out.stderr
    );
    out.stderr
}

#[tokio::test(flavor = "multi_thread")]
async fn every_tampering_with_the_file_is_found_and_named() {
    if sqlite_only() {
        return;
    }
    let (sb, confirmed) = answered(7).await;
    let ok = sb.ok(&["evidence", "verify"]);
    assert!(ok.stdout.contains("verifies"), "{}", ok.stdout);
    let v = sb.json(&["evidence", "verify", &confirmed[0]]);
    assert_eq!(v["verified"], true, "{v}");

    let k = first_id(&sb, "confirmed");
    let viewed = first_id(&sb, "viewed");
    let unhook = "DROP TRIGGER ledger_no_rewrite; DROP TRIGGER ledger_no_delete;";
    let cases: Vec<(&str, String, i64, &str)> = vec![
        (
            "one letter of a user agent",
            format!(
                "UPDATE ledger SET user_agent = replace(user_agent, 'Firefox', 'Firefoy') WHERE id = {k}"
            ),
            k,
            "its user agent no longer matches",
        ),
        (
            "a time moved by a second",
            format!("UPDATE ledger SET at = at + 1 WHERE id = {viewed}"),
            viewed,
            "its content no longer gives its hash",
        ),
        (
            "an event renamed",
            format!("UPDATE ledger SET event = 'left' WHERE id = {k}"),
            k,
            "its content no longer gives its hash",
        ),
        (
            "a row deleted",
            format!("DELETE FROM ledger WHERE id = {k}"),
            k + 1,
            "an entry before it was removed",
        ),
        (
            "two rows reordered",
            format!(
                "UPDATE ledger SET id = -1 WHERE id = {k}; UPDATE ledger SET id = {k} WHERE id = {n}; \
                 UPDATE ledger SET id = {n} WHERE id = -1",
                n = k + 1
            ),
            k,
            "where entry",
        ),
    ];
    for (what, sql, named, why) in cases {
        let copy = copy(&sb);
        sqlite3(&copy, &format!("{unhook} {sql}"));
        let err = verify_fails(&copy, &["evidence", "verify"]);
        assert!(
            err.contains(&format!("entry #{named} ")) && err.contains(why),
            "{what}: {err}"
        );
        let json = copy.run(&["evidence", "verify", "--json"]);
        let doc: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
        assert_eq!(
            (doc["verified"].clone(), doc["broken"]["entry"].clone()),
            (false.into(), named.into()),
            "{what}"
        );
    }

    // The contact's own chain catches a change too.
    let copy = copy(&sb);
    let contact: i64 = sqlite3(
        &copy,
        &format!("SELECT contact_id FROM ledger WHERE id = {k}"),
    )
    .parse()
    .unwrap();
    let email = sqlite3(
        &copy,
        &format!("SELECT email FROM contacts WHERE id = {contact}"),
    );
    sqlite3(
        &copy,
        &format!("{unhook} UPDATE ledger SET ip = '203.0.113.9' WHERE id = {k}"),
    );
    let err = verify_fails(&copy, &["evidence", "verify", &email]);
    assert!(
        err.contains(&format!("entry #{k} ")) && err.contains("IP address"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_head_recorded_earlier_proves_nothing_before_it_was_removed() {
    if sqlite_only() {
        return;
    }
    let (sb, _) = answered(20).await;
    let head = sb.json(&["evidence", "head"]);
    let hash = head["head"].as_str().unwrap().to_string();
    let entries = head["entries"].as_i64().unwrap();
    assert_eq!(hash.len(), 64);
    let total: i64 = sqlite3(&sb, "SELECT count(*) FROM ledger").parse().unwrap();
    assert_eq!(entries, total);
    // More entries later: the old head is still in the chain.
    sb.ok(&["forget", "ondrej80@example.cz"]);
    sb.ok(&["evidence", "verify", "--head", &hash]);
    // The last entry removed: every remaining entry verifies, but the head is gone.
    let cut = copy(&sb);
    sqlite3(
        &cut,
        "DROP TRIGGER ledger_no_delete; DELETE FROM ledger WHERE id >= (SELECT max(id) - 1 FROM ledger)",
    );
    cut.ok(&["evidence", "verify"]);
    let err = verify_fails(&cut, &["evidence", "verify", "--head", &hash]);
    assert!(
        err.contains(&hash) && err.contains("recorded earlier"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_chain_verifies_after_erasure_and_keeps_nothing_of_the_person() {
    if sqlite_only() {
        return;
    }
    let (sb, confirmed) = answered(5).await;
    let ids: Vec<String> = confirmed
        .iter()
        .map(|who| {
            sqlite3(
                &sb,
                &format!("SELECT id FROM contacts WHERE email_key = '{who}'"),
            )
        })
        .collect();
    let who = &forget_one(&sb, &confirmed);
    let id = &ids[confirmed.iter().position(|c| c == who).unwrap()];
    let report = sb.json(&["purge", "--now", AFTER_GRACE]);
    assert!(report["purged"].as_i64().unwrap() > 10, "{report}");
    let out = sb.ok(&["evidence", "verify"]);
    assert!(out.stdout.contains("verifies"), "{}", out.stdout);
    assert_eq!(
        sqlite3(
            &sb,
            "SELECT count(*) FROM ledger_salts WHERE contact_id NOT IN (SELECT id FROM contacts)"
        ),
        "0",
        "every erased contact's salt is destroyed"
    );
    // The forgotten contact's answers keep their commitments, not their values.
    assert_eq!(
        sqlite3(
            &sb,
            &format!(
                "SELECT count(*), count(ip), count(user_agent), count(ip_commit), count(user_agent_commit) \
                 FROM ledger WHERE contact_id = {id} AND event IN ('viewed', 'confirmed')"
            )
        ),
        "2|0|0|2|2"
    );
    assert!(!in_database(&sb, who));
    // A value put back into an erased entry shows.
    let view: i64 = sqlite3(
        &sb,
        &format!("SELECT id FROM ledger WHERE event = 'viewed' AND contact_id = {id}"),
    )
    .parse()
    .unwrap();
    sqlite3(
        &sb,
        &format!(
            "DROP TRIGGER ledger_no_rewrite; UPDATE ledger SET ip = '192.0.2.7' WHERE id = {view}"
        ),
    );
    let err = verify_fails(&sb, &["evidence", "verify"]);
    assert!(err.contains(&format!("entry #{view} ")), "{err}");
}

#[test]
fn a_base_from_before_the_chain_is_chained_when_opened() {
    if sqlite_only() {
        return;
    }
    let sb = Sandbox::with_campaign("500/s");
    sb.ok(&["campaign", "launch", CAMPAIGN]);
    let outbox = format!("file://{}", sb.path("outbox").display());
    sb.run_with(&outbox, &["send", "--until-idle"]);
    let total = sqlite3(&sb, "SELECT count(*) FROM ledger");
    // As the base stood before the chain's migration: no chain columns filled, no salts.
    sqlite3(
        &sb,
        "DROP TRIGGER ledger_no_rewrite; UPDATE ledger SET seq = NULL, prev_hash = NULL, \
         contact_prev_hash = NULL, hash = NULL, address_commit = NULL, ip_commit = NULL, \
         user_agent_commit = NULL, detail_commit = NULL; DELETE FROM ledger_salts;",
    );
    let out = sb.ok(&["evidence", "verify"]);
    assert!(
        out.stdout.contains(&format!("{total} entries")),
        "{}",
        out.stdout
    );
    assert_eq!(
        sqlite3(&sb, "SELECT count(*) FROM ledger WHERE hash IS NULL"),
        "0"
    );
}

#[test]
fn two_writers_at_once_do_not_fork_the_chain() {
    if sqlite_only() {
        return;
    }
    let sb = Sandbox::new();
    let files: Vec<_> = (0..2)
        .map(|f| {
            let mut csv = String::from("email,locale\n");
            for i in 0..3_000 {
                csv.push_str(&format!("w{f}-{i}@example.com,en\n"));
            }
            sb.write(&format!("w{f}.csv"), csv)
        })
        .collect();
    // Two processes, each importing in several transactions' worth of rows.
    let children: Vec<_> = files
        .iter()
        .map(|f| {
            sb.process()
                .args(["import", f.to_str().unwrap()])
                .spawn()
                .unwrap()
        })
        .collect();
    for mut c in children {
        assert!(c.wait().unwrap().success());
    }
    let head = sb.json(&["evidence", "head"]);
    assert_eq!(head["entries"], 6_000);
    sb.ok(&["evidence", "verify"]);
}

/// What a Python script of tests/support prints, run on `args`.
fn support_script(name: &str, args: &[std::path::PathBuf]) -> String {
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/support")
        .join(name);
    let out = Command::new("python3")
        .arg(script)
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{name}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The request e-mails as delivered, parsed by Python's e-mail package: (to, subject,
/// text, html), line ends as a mail client reads them.
fn delivered(sb: &Sandbox) -> Vec<(String, String, String, String)> {
    let out = support_script("mail_parts.py", &[sb.path("outbox")]);
    let s = |v: &serde_json::Value| v.as_str().unwrap_or_default().replace("\r\n", "\n");
    out.lines()
        .map(|l| {
            let m: serde_json::Value = serde_json::from_str(l).unwrap();
            (s(&m["to"]), s(&m["subject"]), s(&m["text"]), s(&m["html"]))
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn every_confirmation_renders_again_exactly_what_was_sent_and_shown() {
    if sqlite_only() {
        return;
    }
    let (sb, confirmed) = answered(3).await;
    let mails = delivered(&sb);
    let policy_sha = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(PRIVACY_POLICY));
    for who in &confirmed {
        let dir = sb.path(&format!("shown/{who}"));
        let shown = sb.json(&["evidence", who, "--show", dir.to_str().unwrap()]);
        let shown = shown["shown"].as_array().unwrap();
        let events: Vec<&str> = shown.iter().map(|s| s["event"].as_str().unwrap()).collect();
        assert_eq!(events, ["requested", "confirmed"], "{who}");
        for s in shown {
            assert_eq!(s["matches"], true, "{who}: {s}");
        }
        let file = |s: &serde_json::Value, ext: &str| {
            let path = s["files"]
                .as_array()
                .unwrap()
                .iter()
                .map(|f| f.as_str().unwrap())
                .find(|f| f.ends_with(ext) && (ext != ".txt" || !f.ends_with(".subject.txt")))
                .unwrap_or_else(|| panic!("no {ext} in {s}"));
            std::fs::read_to_string(path).unwrap()
        };
        // The e-mail written out is the one the mail server received.
        let subject = file(&shown[0], ".subject.txt");
        let sent = mails
            .iter()
            .find(|m| &m.0 == who && m.1 == subject)
            .unwrap_or_else(|| panic!("no mail to {who} with the subject {subject}"));
        assert_eq!(
            file(&shown[0], ".txt").replace("\r\n", "\n"),
            sent.2,
            "{who}: text"
        );
        assert_eq!(
            file(&shown[0], ".html").replace("\r\n", "\n"),
            sent.3,
            "{who}: html"
        );
        // The page written out has the very hash recorded when the person confirmed.
        let ledger = sb.json(&["evidence", who]);
        let entry = ledger["entries"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["event"] == "confirmed")
            .unwrap()
            .clone();
        let page = file(&shown[1], ".html");
        let page_sha = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(page.as_bytes()));
        assert_eq!(entry["content_sha256"], page_sha.as_str());
        assert_eq!(entry["privacy_sha256"], policy_sha.as_str());
        assert_eq!(entry["privacy_version"], "2026-03");
    }
    // A page that no longer matches is an error: the launched snapshot altered.
    let who = &confirmed[0];
    sqlite3(
        &sb,
        "UPDATE campaigns SET definition = replace(definition, 'Tatra Tea', 'Tatra Tee')",
    );
    let dir = sb.path("shown-after");
    let err = verify_fails(&sb, &["evidence", who, "--show", dir.to_str().unwrap()]);
    assert!(err.contains("differ from the hash in the ledger"), "{err}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_export_validates_against_the_shipped_schema_and_opens_as_csv() {
    if sqlite_only() {
        return;
    }
    let (sb, confirmed) = answered(4).await;
    // An erased contact's records stay, without its personal data.
    let forgotten = forget_one(&sb, &confirmed);
    let head = sb.json(&["evidence", "head"]);
    let json = sb.json(&[
        "evidence",
        "export",
        "--campaign",
        "spring-reconsent",
        "--out",
        "records.jsonl",
    ]);
    sb.ok(&[
        "evidence",
        "export",
        "--campaign",
        "spring-reconsent",
        "--out",
        "records.csv",
    ]);
    let expected: u64 = sqlite3(
        &sb,
        "SELECT count(*) FROM ledger WHERE campaign = 'spring-reconsent'",
    )
    .parse()
    .unwrap();
    assert_eq!(json["records"], expected);
    assert_eq!(json["head"]["hash"], head["head"]);

    let schema =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/consent-record.schema.json");
    let out = support_script(
        "check_records.py",
        &[schema, sb.path("records.jsonl"), sb.path("records.csv")],
    );
    let checked: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(checked["errors"], serde_json::json!([]), "{checked}");
    assert_eq!(checked["jsonl"], expected);
    assert_eq!(checked["csv"], expected, "one CSV row per record");
    assert_eq!(checked["same_ids"], true);

    // A confirmation reads as consent given by a button, with what was shown.
    let text = std::fs::read_to_string(sb.path("records.jsonl")).unwrap();
    let records: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let given = records
        .iter()
        .find(|r| r["status"] == "given" && r["ip"].is_string())
        .unwrap();
    assert_eq!(given["method"], "button_on_page");
    assert_eq!(given["legal_basis"], "GDPR Art. 6(1)(a) consent");
    assert_eq!(given["controller"]["legal_entity"], "Tatra Tea sp. z o.o.");
    assert_eq!(given["privacy_policy"]["version"], "2026-03");
    assert!(
        given["notice"]["page_sha256"].is_string() && given["notice"]["email_sha256"].is_string()
    );
    assert!(given["ip"].is_string() && given["message_id"].is_string());
    let erased: Vec<_> = records
        .iter()
        .filter(|r| r["ip"].is_null() && r["status"] == "given")
        .collect();
    assert_eq!(
        erased.len(),
        1,
        "the forgotten contact's confirmation, without its IP"
    );
    assert!(!text.contains(&forgotten));

    // One contact's records on stdout, as CSV: a header and one row per ledger entry.
    let kept = confirmed.iter().find(|c| **c != forgotten).unwrap();
    let entries = sb.json(&["evidence", kept])["entries"]
        .as_array()
        .unwrap()
        .len();
    let csv = sb.ok(&["evidence", kept, "--format", "csv"]).stdout;
    assert_eq!(
        csv::Reader::from_reader(csv.as_bytes()).records().count(),
        entries
    );

    // A name that says no format, or a campaign that does not exist: refused, nothing written.
    for (args, says) in [
        (
            vec!["evidence", "export", "--out", "records.txt"],
            "--format jsonl|csv",
        ),
        (
            vec![
                "evidence",
                "export",
                "--campaign",
                "nope",
                "--out",
                "nope.jsonl",
            ],
            "no campaign named nope",
        ),
    ] {
        let out = sb.run(&args);
        assert_eq!(out.code, 1, "{args:?}");
        assert!(out.stderr.contains(says), "{}", out.stderr);
    }
    assert!(!sb.path("records.txt").exists() && !sb.path("nope.jsonl").exists());
    let leftovers = std::fs::read_dir(sb.dir.path())
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().ends_with(".tmp"))
        .count();
    assert_eq!(leftovers, 0);
}
