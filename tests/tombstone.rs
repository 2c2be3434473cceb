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
