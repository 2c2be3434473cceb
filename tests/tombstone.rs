//! An erased address is not imported again, in any spelling, without a new valid consent;
//! the key that recognises it can live outside the database; every file is private.

mod common;
use common::*;
use reconsent::domain::{EmailAddress, parse_instant};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

async fn tombstone(sb: &Sandbox, email: &str, at: &str) {
    let store = sb.store().await;
    let secrets = store.secrets().await.unwrap();
    let key = secrets.tombstone(EmailAddress::parse(email).unwrap().key());
    store
        .add_tombstone(&key, "no_response", parse_instant(at).unwrap())
        .await
        .unwrap();
}

#[tokio::test]
async fn tombstoned_addresses_are_refused_in_any_spelling() {
    let sb = Sandbox::new();
    tombstone(&sb, "jan.kowalski@example.pl", "2026-09-01").await;
    let file = sb.write(
        "c.csv",
        format!("{HEADER}\n  Jan.Kowalski@EXAMPLE.pl ,Jan,pl,PL,true,2026-01-01,,,,,,,,,,\nanna@example.pl,Anna,,,,,,,,,,,,,,\n"),
    );
    let out = sb.run(&["import", file.to_str().unwrap(), "--json"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(v["refused_tombstoned"], 1);
    assert_eq!(v["inserted"], 1);
    assert!(
        out.stderr.contains("was erased on 2026-09-01"),
        "{}",
        out.stderr
    );
    let explained = sb.run(&["explain", "jan.kowalski@example.pl"]);
    assert_eq!(explained.code, 1);
    assert!(
        explained.stderr.contains("only a tombstone remains"),
        "{}",
        explained.stderr
    );
}

#[tokio::test]
async fn a_new_valid_consent_after_the_erasure_brings_the_address_back() {
    let sb = Sandbox::new();
    tombstone(&sb, "jan.kowalski@example.pl", "2026-09-01").await;
    // Consent before the erasure, or weak, is not enough; a GDPR-grade one after it is.
    let rows = [
        ("2026-08-01T10:00:00Z", "double_opt_in,false,false,nl-7", 1),
        ("2026-10-01T10:00:00Z", "single_opt_in,false,false,nl-7", 1),
        ("2026-10-01T10:00:00Z", "double_opt_in,false,false,nl-7", 0),
    ];
    for (at, consent, refused) in rows {
        let file = sb.write(
            "c.csv",
            format!("{HEADER}\njan.kowalski@example.pl,Jan,pl,PL,,,,{at},{consent},,,,\n"),
        );
        let v = sb.json(&["import", file.to_str().unwrap()]);
        assert_eq!(v["refused_tombstoned"], refused, "{at} {consent}: {v}");
    }
    assert_eq!(
        sb.json(&["explain", "jan.kowalski@example.pl"])["class"],
        "valid"
    );
}

/// After `forget`, the address is refused however it is written again: decomposed
/// accents, full-width letters, upper case; with a zero-width space hidden in it, the
/// line is refused as invalid.
#[test]
fn a_forgotten_address_is_refused_in_every_unicode_spelling() {
    let sb = Sandbox::new();
    let row = |email: &str| format!("{HEADER}\n{email},Jürgen,de,DE,true,2026-10-01,,,,,,,,,,\n");
    let file = sb.write("first.csv", row("jürgen@bücher.example"));
    sb.ok(&["import", file.to_str().unwrap()]);
    sb.ok(&["forget", "jürgen@bücher.example"]);
    let variants = [
        ("nfd", "ju\u{308}rgen@bu\u{308}cher.example"),
        ("full-width", "ｊüｒｇｅｎ＠ｂüｃｈｅｒ．ｅｘａｍｐｌｅ"),
        ("upper case", "JÜRGEN@BÜCHER.EXAMPLE"),
    ];
    for (what, email) in variants {
        let file = sb.write("again.csv", row(email));
        let out = sb.run(&["import", file.to_str().unwrap(), "--json"]);
        assert_eq!(out.code, 0, "{what}: {}", out.stderr);
        let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
        assert_eq!(
            (v["refused_tombstoned"].clone(), v["inserted"].clone()),
            (serde_json::json!(1), serde_json::json!(0)),
            "{what}: {v}"
        );
        assert!(
            out.stderr.contains("was erased on"),
            "{what}: {}",
            out.stderr
        );
        assert_eq!(sb.json(&["audit"])["total"], 0, "{what}");
    }
    let file = sb.write("hidden.csv", row("jür\u{200b}gen@bücher.example"));
    let out = sb.run(&["import", file.to_str().unwrap()]);
    assert_eq!(out.code, 1, "{}", out.stdout);
    assert!(
        out.stderr.contains("line 2: email:") && out.stderr.contains("U+200B"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("Nothing was written"), "{}", out.stderr);
    assert_eq!(sb.json(&["audit"])["total"], 0);
    // Looking it up by any spelling finds the tombstone, not "no contact".
    let explained = sb.run(&["explain", "ju\u{308}rgen@BU\u{308}CHER.example"]);
    assert!(
        explained.stderr.contains("only a tombstone remains"),
        "{}",
        explained.stderr
    );
}

// Keys and files stay private.

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

/// `reconsent` with the tombstone key kept in `key_file`.
fn with_key_file(sb: &Sandbox, key_file: &Path, args: &[&str]) -> Output {
    let out = sb
        .cmd()
        .env("RECONSENT__SECRETS__TOMBSTONE_KEY_FILE", key_file)
        .args(args)
        .output()
        .unwrap();
    Output {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

async fn secret_names(sb: &Sandbox) -> Vec<String> {
    sb.rows("SELECT name FROM secrets ORDER BY name")
        .into_iter()
        .filter_map(|r| r.into_iter().next().flatten())
        .collect()
}

fn database_holds(sb: &Sandbox, bytes: &[u8]) -> bool {
    sb.database_holds(bytes)
}

/// A forgotten address is refused at its next import.
fn forgotten_stays_out(sb: &Sandbox) {
    sb.ok(&["import", examples().to_str().unwrap()]);
    sb.ok(&["forget", "lubica.stastna@example.sk"]);
    let file = sb.write(
        "again.csv",
        format!("{HEADER}\nlubica.stastna@example.sk,Ľubica,sk,SK,,,,,,,,,,,,\n"),
    );
    let v = sb.json(&["import", file.to_str().unwrap()]);
    assert_eq!(v["refused_tombstoned"], 1, "{v}");
}

#[tokio::test]
async fn with_a_key_file_the_database_holds_no_tombstone_key() {
    let keys = tempfile::tempdir().unwrap();
    let key_file = keys.path().join("tombstone.key");
    let sb = Sandbox::empty();
    let out = with_key_file(&sb, &key_file, &["init"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let text = std::fs::read_to_string(&key_file).unwrap();
    assert_eq!(text.len(), 65, "64 hex digits and a newline: {text:?}");
    assert!(hex::decode(text.trim()).is_ok());
    assert_eq!(mode(&key_file), 0o600);
    assert_eq!(
        secret_names(&sb).await,
        ["admin_token", "link_key", "tombstone_key_file"]
    );
    // Init again changes nothing; every other command finds the key where init put it.
    assert_eq!(with_key_file(&sb, &key_file, &["init"]).code, 0);
    assert_eq!(std::fs::read_to_string(&key_file).unwrap(), text);
    forgotten_stays_out(&sb);
    assert_eq!(
        secret_names(&sb).await,
        ["admin_token", "link_key", "tombstone_key_file"]
    );
}

#[tokio::test]
async fn init_moves_a_key_kept_in_the_database_to_the_file() {
    let sb = Sandbox::new();
    tombstone(&sb, "jan.kowalski@example.pl", "2026-09-01").await;
    let store = sb.store().await;
    let key = store.secrets().await.unwrap().tombstone_key;
    store.close().await;
    assert!(database_holds(&sb, &key));
    let keys = tempfile::tempdir().unwrap();
    let key_file = keys.path().join("tombstone.key");
    let out = with_key_file(&sb, &key_file, &["init"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(
        std::fs::read_to_string(&key_file).unwrap().trim(),
        hex::encode(key)
    );
    assert_eq!(
        secret_names(&sb).await,
        ["admin_token", "link_key", "tombstone_key_file"]
    );
    assert!(
        !database_holds(&sb, &key),
        "the key's bytes are still in the files"
    );
    // The tombstones made with the key before still match.
    let file = sb.write(
        "c.csv",
        format!("{HEADER}\njan.kowalski@example.pl,Jan,pl,PL,true,2026-01-01,,,,,,,,,,\n"),
    );
    assert_eq!(
        sb.json(&["import", file.to_str().unwrap()])["refused_tombstoned"],
        1
    );
}

#[test]
fn a_missing_or_damaged_key_file_is_named() {
    let keys = tempfile::tempdir().unwrap();
    let key_file = keys.path().join("tombstone.key");
    let sb = Sandbox::empty();
    assert_eq!(with_key_file(&sb, &key_file, &["init"]).code, 0);
    let named = |why: &str| {
        let out = sb.run(&["explain", "jan.kowalski@example.pl"]);
        assert_eq!(out.code, 1);
        assert!(
            out.stderr.contains(key_file.to_str().unwrap()) && out.stderr.contains(why),
            "{}",
            out.stderr
        );
    };
    std::fs::write(&key_file, "not a key\n").unwrap();
    named("damaged");
    std::fs::remove_file(&key_file).unwrap();
    named("cannot read");
}

/// Every path under `dir`, folders included.
fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(walk(&path));
        }
        out.push(path);
    }
    out
}

#[test]
fn every_file_reconsent_writes_is_its_owners_alone() {
    let sb = Sandbox::with_campaign("1000000/s");
    let written_by_the_test: Vec<PathBuf> = walk(sb.dir.path());
    sb.ok(&["campaign", "launch", "campaigns/example.toml"]);
    let out = sb.run_with("file://outbox", &["send", "--until-idle"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    sb.ok(&[
        "campaign",
        "preview",
        "campaigns/example.toml",
        "--out",
        "preview/spring",
    ]);
    let mut seen = 0;
    for path in walk(sb.dir.path()) {
        if written_by_the_test.contains(&path) && !path.starts_with(sb.path("reconsent.db")) {
            continue;
        }
        let expected = if path.is_dir() { 0o700 } else { 0o600 };
        assert_eq!(mode(&path), expected, "{}", path.display());
        seen += 1;
    }
    assert!(sb.path("outbox").is_dir() && sb.path("preview/spring").is_dir());
    assert!(
        seen > 150,
        "the database, the outbox's messages, the previews: {seen}"
    );
}

/// SQLite only: a PostgreSQL base is no file of the user's; the server guards its own.
#[test]
fn a_database_others_could_read_is_made_private_when_opened() {
    let sb = Sandbox::new();
    if sb.backend() != Backend::Sqlite {
        return;
    }
    let db = sb.path("reconsent.db");
    std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o644)).unwrap();
    let out = sb.ok(&["audit"]);
    assert!(out.stderr.contains("0600"), "{}", out.stderr);
    assert_eq!(mode(&db), 0o600);
    assert!(!sb.ok(&["audit"]).stderr.contains("0600"), "said once");
}

#[test]
fn after_moving_the_key_file_init_with_the_new_path_finds_it() {
    let keys = tempfile::tempdir().unwrap();
    let (old, new) = (keys.path().join("old.key"), keys.path().join("new.key"));
    let sb = Sandbox::empty();
    assert_eq!(with_key_file(&sb, &old, &["init"]).code, 0);
    forgotten_stays_out(&sb);
    std::fs::rename(&old, &new).unwrap();
    let lost = sb.run(&["explain", "lubica.stastna@example.sk"]);
    assert!(
        lost.stderr.contains(old.to_str().unwrap()),
        "{}",
        lost.stderr
    );
    let out = with_key_file(&sb, &new, &["init"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let erased = sb.run(&["explain", "lubica.stastna@example.sk"]);
    assert!(
        erased.stderr.contains("only a tombstone remains"),
        "{}",
        erased.stderr
    );
}
