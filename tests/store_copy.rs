//! `store copy --to URL`: a SQLite base moved to PostgreSQL answers every question as
//! before, and a target that holds anything is refused. These run in the PostgreSQL pass
//! of the suite (`RECONSENT_TEST_BACKEND=postgres`), which has a server to copy to.

mod common;
use common::database::{PgDatabase, backend};
use common::*;
use serde_json::Value;

fn postgres_pass() -> bool {
    backend() == Backend::Postgres
}

/// An initialised SQLite base, the source of every copy here.
fn sqlite_base() -> Sandbox {
    let sb = Sandbox::sqlite();
    sb.ok(&["init"]);
    sb
}

/// `reconsent --json ARGS` on the base at `url`, from the sandbox's folder.
fn json_on(sb: &Sandbox, url: &str, args: &[&str]) -> Value {
    let out = sb
        .cmd()
        .env("RECONSENT_DATABASE_URL", url)
        .args(args)
        .arg("--json")
        .output()
        .expect("run reconsent");
    assert!(
        out.status.success(),
        "{args:?} on {url}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("JSON")
}

/// What a marketer and an auditor ask of a base: the audit, the campaign's funnel, and
/// the evidence of each of `emails`.
fn answers(sb: &Sandbox, url: &str, emails: &[&str]) -> Vec<Value> {
    let mut all = vec![
        json_on(sb, url, &["audit"]),
        json_on(sb, url, &["campaign", "status", "spring-reconsent"]),
    ];
    for email in emails {
        all.push(json_on(sb, url, &["evidence", email]));
    }
    all
}

/// Copies `sb`'s base to a new database: (the database, the JSON report).
fn copy(sb: &Sandbox) -> (PgDatabase, Value) {
    let target = PgDatabase::new();
    let report = sb.json(&["store", "copy", "--to", &target.url]);
    (target, report)
}

/// Every table of the report has the source's row count, and there are rows to compare.
fn assert_counts_match(sb: &Sandbox, report: &Value) {
    let tables = report["tables"].as_array().expect("tables");
    let names: Vec<&str> = tables
        .iter()
        .map(|t| t["table"].as_str().unwrap())
        .collect();
    for must in [
        "contacts",
        "ledger",
        "tombstones",
        "secrets",
        "campaigns",
        "deliveries",
        "suppressions",
        "deletion_queue",
        "audit",
    ] {
        assert!(names.contains(&must), "{must} not copied: {names:?}");
    }
    for t in tables {
        let name = t["table"].as_str().unwrap();
        let rows = sb.scalar(&format!("SELECT count(*) FROM \"{name}\""));
        assert_eq!(t["rows"].as_i64(), Some(rows), "{name}");
        assert_eq!(t["checksum"].as_str().unwrap().len(), 64, "{name}");
    }
}

#[test]
fn the_example_base_copied_to_postgresql_gives_the_same_answers() {
    if !postgres_pass() {
        return;
    }
    let sb = sent_with_a_bounce_in(sqlite_base());
    sb.ok(&["forget", "lubica.stastna@example.sk"]);
    let emails = [
        "jan.kowalski@example.pl",
        "bounce.one@example.cz",
        "veronika_horvathova@example.sk",
        "lukasz.wrobel@example.pl",
    ];
    let before = answers(&sb, &sb.database_url(), &emails);
    let (target, report) = copy(&sb);
    assert_counts_match(&sb, &report);
    assert_eq!(answers(&sb, &target.url, &emails), before);
    // The erased address stays erased there: its tombstone and key came along.
    let again = sb.write(
        "again.csv",
        format!("{HEADER}\nlubica.stastna@example.sk,Ľubica,sk,SK,,,,,,,,,,,,\n"),
    );
    let v = json_on(&sb, &target.url, &["import", again.to_str().unwrap()]);
    assert_eq!(v["refused_tombstoned"], 1, "{v}");
    // New rows get new ids past the copied ones.
    let new = sb.write(
        "new.csv",
        format!("{HEADER}\nnew.person@example.pl,New,pl,PL,true,2026-01-01,,,,,,,,,,\n"),
    );
    let v = json_on(&sb, &target.url, &["import", new.to_str().unwrap()]);
    assert_eq!(v["inserted"], 1, "{v}");
    let audit = json_on(&sb, &target.url, &["audit"]);
    assert_eq!(
        audit["total"].as_i64(),
        before[0]["total"].as_i64().map(|n| n + 1)
    );
}

#[test]
fn the_copy_prints_each_tables_rows_and_checksum() {
    if !postgres_pass() {
        return;
    }
    let sb = sqlite_base();
    sb.ok(&["import", examples().to_str().unwrap()]);
    let target = PgDatabase::new();
    let out = sb.ok(&["store", "copy", "--to", &target.url]);
    let contacts = out
        .stdout
        .lines()
        .find(|l| l.starts_with("contacts "))
        .unwrap_or_else(|| panic!("no line for contacts:\n{}", out.stdout));
    assert!(contacts.contains(" 300 rows"), "{contacts}");
    assert!(contacts.contains("checksum "), "{contacts}");
    assert!(out.stdout.contains("Copied "), "{}", out.stdout);
}

#[test]
fn a_target_that_holds_anything_is_refused_and_left_alone() {
    if !postgres_pass() {
        return;
    }
    let sb = sqlite_base();
    sb.ok(&["import", examples().to_str().unwrap()]);
    let (target, _) = copy(&sb);
    let out = sb.run(&["store", "copy", "--to", &target.url]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert!(out.stderr.contains("not empty"), "{}", out.stderr);
    assert!(
        out.stderr.contains("contacts"),
        "names what it found: {}",
        out.stderr
    );
    assert_eq!(json_on(&sb, &target.url, &["audit"])["total"], 300);
    // A database someone ran `init` on holds keys of its own: refused too.
    let inited = PgDatabase::new();
    let init = sb
        .cmd()
        .env("RECONSENT_DATABASE_URL", &inited.url)
        .arg("init")
        .output()
        .unwrap();
    assert!(
        init.status.success(),
        "{}",
        String::from_utf8_lossy(&init.stderr)
    );
    let out = sb.run(&["store", "copy", "--to", &inited.url]);
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("secrets"), "{}", out.stderr);
}

#[test]
fn a_target_that_is_not_postgresql_is_refused() {
    if !postgres_pass() {
        return;
    }
    let sb = sqlite_base();
    let out = sb.run(&["store", "copy", "--to", "sqlite://other.db"]);
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("PostgreSQL"), "{}", out.stderr);
    assert!(!sb.path("other.db").exists());
}

#[test]
fn a_generated_base_of_100k_copied_gives_the_same_answers() {
    if !postgres_pass() {
        return;
    }
    let sb = Sandbox::campaign_in(sqlite_base(), "1000000/s");
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/gen-contacts.py");
    let csv = std::process::Command::new("python3")
        .arg(script)
        .args(["--rows", "100000", "--seed", "13"])
        .output()
        .expect("python3");
    assert!(csv.status.success());
    let file = sb.write("big.csv", &csv.stdout);
    sb.ok(&["import", file.to_str().unwrap()]);
    sb.ok(&["campaign", "launch", "campaigns/example.toml"]);
    // A few of the generated addresses, read from the file: the first, a middle, the last.
    let text = String::from_utf8(csv.stdout).unwrap();
    let rows: Vec<&str> = text.lines().skip(1).collect();
    let emails: Vec<&str> = [0, rows.len() / 2, rows.len() - 1]
        .iter()
        .map(|i| rows[*i].split(',').next().unwrap())
        .collect();
    let before = answers(&sb, &sb.database_url(), &emails);
    assert!(
        before[0]["total"].as_i64().unwrap() > 100_000,
        "{}",
        before[0]
    );
    let (target, report) = copy(&sb);
    assert_counts_match(&sb, &report);
    assert_eq!(answers(&sb, &target.url, &emails), before);
}
