//! An erased address is not imported again, in any spelling, without a new valid consent.

mod common;
use common::*;
use reconsent::domain::{EmailAddress, parse_instant};
use reconsent::store::Store;

async fn tombstone(sb: &Sandbox, email: &str, at: &str) {
    let store = Store::open(sb.path("reconsent.db").to_str().unwrap())
        .await
        .unwrap();
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
