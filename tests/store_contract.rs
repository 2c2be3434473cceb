//! The same assertions against each backend: a SQLite file always, and a fresh
//! PostgreSQL database when `RECONSENT_TEST_POSTGRES` names a server
//! (`postgres://USER@HOST:PORT/postgres`).

use reconsent::domain::{Contact, EmailAddress, LedgerEvent, parse_instant};
use reconsent::policy::ContactClass;
use reconsent::store::{Fate, LaunchedCampaign, LedgerEntry, SlotRequest, Store};
use std::collections::HashSet;

fn contact(email: &str) -> Contact {
    Contact {
        email: EmailAddress::parse(email).unwrap(),
        name: Some("Ada".into()),
        locale: None,
        country: None,
        customer: Some(true),
        last_purchase_at: None,
        last_activity_at: None,
        consent: Default::default(),
        legal_hold: Some(false),
        external_id: None,
    }
}

/// A fresh database of each backend this machine offers.
async fn stores(dir: &tempfile::TempDir) -> Vec<(String, Store)> {
    let sqlite = dir.path().join("contract.db");
    let mut out = vec![(
        "sqlite".to_string(),
        Store::create(sqlite.to_str().unwrap()).await.unwrap(),
    )];
    if let Ok(admin) = std::env::var("RECONSENT_TEST_POSTGRES") {
        let name = format!("contract_{}", uuid_like());
        let pool = sqlx::PgPool::connect(&admin).await.unwrap();
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&pool)
            .await
            .unwrap();
        pool.close().await;
        let mut url = url::Url::parse(&admin).unwrap();
        url.set_path(&name);
        out.push((
            "postgres".to_string(),
            Store::create(url.as_str()).await.unwrap(),
        ));
    }
    out
}

/// An import of `emails` under way, and the ids it gave them.
async fn importing(
    store: &Store,
    emails: &[&str],
    now: reconsent::domain::Instant,
) -> (
    reconsent::store::ImportTx,
    std::collections::HashMap<String, i64>,
) {
    let people: Vec<Contact> = emails.iter().map(|e| contact(e)).collect();
    let mut import = store.begin_import().await.unwrap();
    let ids = import
        .insert(&people.iter().collect::<Vec<_>>(), now)
        .await
        .unwrap();
    (import, ids)
}

fn uuid_like() -> String {
    format!(
        "{}_{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    )
}

#[tokio::test]
async fn each_backend_imports_launches_claims_once_and_shares_one_rate() {
    let dir = tempfile::tempdir().unwrap();
    let now = parse_instant("2026-03-01T10:00:00Z").unwrap();
    for (backend, store) in stores(&dir).await {
        // Import: three contacts and their ledger, all in one transaction.
        let (mut import, ids) = importing(
            &store,
            &["a@example.com", "b@example.com", "c@example.com"],
            now,
        )
        .await;
        let entries: Vec<(i64, LedgerEntry)> = ids
            .values()
            .map(|id| {
                (
                    *id,
                    LedgerEntry {
                        event: LedgerEvent::Imported,
                        at: now,
                        policy_version: "v1".into(),
                        ..Default::default()
                    },
                )
            })
            .collect();
        import.append_ledger(&entries).await.unwrap();
        import.commit().await.unwrap();
        assert_eq!(store.count_contacts().await.unwrap(), 3, "{backend}");
        let a = store
            .contact_by_key("a@example.com")
            .await
            .unwrap()
            .expect(&backend);
        assert_eq!(a.contact.name.as_deref(), Some("Ada"), "{backend}");
        assert_eq!(a.contact.customer, Some(true), "{backend}");
        let ledger = store.ledger(a.id).await.unwrap();
        assert_eq!(ledger.len(), 1, "{backend}");
        assert_eq!(ledger[0].event, LedgerEvent::Imported, "{backend}");
        // The import's entries are chained, and the chain verifies from what is stored.
        match reconsent::ledger::verify_base(&store, None).await.unwrap() {
            reconsent::ledger::Verdict::Verified(v) => assert_eq!(v.entries, 3, "{backend}"),
            other => panic!("{backend}: {other:?}"),
        }
        let head = store.chain_head().await.unwrap().expect(&backend);
        assert_eq!(head.entries, 3, "{backend}");

        // Launch: twice is a no-op.
        let mut launch = store.begin_launch().await.unwrap();
        let campaign = launch
            .create_campaign(
                &LaunchedCampaign {
                    name: "spring",
                    definition: "def",
                    definition_sha256: "sha",
                    source_file: "spring.toml",
                    templates: "{}",
                    privacy_sha256: None,
                },
                now,
            )
            .await
            .unwrap()
            .expect(&backend);
        let all: Vec<(i64, ContactClass)> =
            ids.values().map(|id| (*id, ContactClass::Weak)).collect();
        assert_eq!(launch.enqueue(campaign, 0, &all, now).await.unwrap(), 3);
        assert_eq!(launch.enqueue(campaign, 0, &all, now).await.unwrap(), 0);
        launch.commit().await.unwrap();

        // Two senders claiming at once never hold one delivery both.
        let lease = now + chrono::Duration::seconds(60);
        let keep = |_: &reconsent::store::Claimed| None;
        let (one, two) = tokio::join!(
            store.claim("w1", campaign, now, lease, 2, &keep),
            store.claim("w2", campaign, now, lease, 2, &keep),
        );
        let (one, two) = (one.unwrap(), two.unwrap());
        let mut seen = HashSet::new();
        for c in one.iter().chain(&two) {
            assert!(
                seen.insert(c.delivery_id),
                "{backend}: claimed twice: {}",
                c.delivery_id
            );
        }
        assert_eq!(seen.len(), 3, "{backend}: every due delivery claimed");

        // One rate: slots asked by two senders follow each other, never overlap.
        let ask = |now| SlotRequest {
            campaign_id: campaign,
            now,
            k: 2,
            period: 1_000,
        };
        let first = store.journal(&[], &[ask(5_000)], now).await.unwrap();
        let second = store.journal(&[], &[ask(5_000)], now).await.unwrap();
        assert_eq!(first, vec![7_000], "{backend}");
        assert_eq!(second, vec![9_000], "{backend}");

        // A dead sender's claims: the one it put on the wire is unknown, the rest requeued.
        let held = &one[0];
        let wire = store.wire_log("w1").unwrap();
        wire.record(held.delivery_id).await.unwrap();
        let later = lease + chrono::Duration::seconds(1);
        let (requeued, unknown) = store.recover_abandoned(later).await.unwrap();
        assert_eq!((requeued, unknown), (2, 1), "{backend}");
        let state = store.queue_state(Some(campaign), later).await.unwrap();
        assert_eq!((state.due, state.in_flight), (2, 0), "{backend}");

        // A sent message is journaled with its ledger entry.
        let again = store
            .claim(
                "w3",
                campaign,
                later,
                later + chrono::Duration::seconds(60),
                5,
                &keep,
            )
            .await
            .unwrap();
        assert_eq!(again.len(), 2, "{backend}");
        let results: Vec<(i64, i64, i64, Fate)> = again
            .iter()
            .map(|c| {
                (
                    c.delivery_id,
                    c.contact.id,
                    campaign,
                    Fate::Sent {
                        message_id: format!("<{}@test>", c.delivery_id),
                        content_sha256: "00".into(),
                        ledger: Box::new(LedgerEntry {
                            event: LedgerEvent::Requested,
                            at: later,
                            policy_version: "v1".into(),
                            ..Default::default()
                        }),
                    },
                )
            })
            .collect();
        store.journal(&results, &[], later).await.unwrap();
        let state = store.queue_state(Some(campaign), later).await.unwrap();
        assert_eq!(
            (state.due, state.in_flight, state.later),
            (0, 0, 0),
            "{backend}"
        );
        let sent_to = again[0].contact.id;
        let events: Vec<LedgerEvent> = store
            .ledger(sent_to)
            .await
            .unwrap()
            .into_iter()
            .map(|e| e.event)
            .collect();
        assert_eq!(
            events,
            [LedgerEvent::Imported, LedgerEvent::Requested],
            "{backend}"
        );
        store.close().await;
    }
}

/// A late bounce and a complaint, each written once however often it comes, on each
/// backend: the delivery found by its Message-ID's token, the counts per wave, the
/// ledger, the suppression, and the reminders of who complained cancelled.
#[tokio::test]
async fn each_backend_applies_a_late_event_once() {
    use reconsent::store::{LateApplied, LateCounts, LateWrite};
    let dir = tempfile::tempdir().unwrap();
    let now = parse_instant("2026-03-01T10:00:00Z").unwrap();
    for (backend, store) in stores(&dir).await {
        let (import, ids) = importing(&store, &["x@example.com", "y@example.com"], now).await;
        import.commit().await.unwrap();
        let mut launch = store.begin_launch().await.unwrap();
        let campaign = launch
            .create_campaign(
                &LaunchedCampaign {
                    name: "late",
                    definition: "def",
                    definition_sha256: "sha",
                    source_file: "late.toml",
                    templates: "{}",
                    privacy_sha256: None,
                },
                now,
            )
            .await
            .unwrap()
            .expect(&backend);
        let all: Vec<(i64, ContactClass)> =
            ids.values().map(|id| (*id, ContactClass::Weak)).collect();
        launch.enqueue(campaign, 0, &all, now).await.unwrap();
        launch
            .enqueue(campaign, 1, &all, now + chrono::Duration::days(7))
            .await
            .unwrap();
        launch.commit().await.unwrap();
        let lease = now + chrono::Duration::seconds(60);
        let claimed = store
            .claim("w", campaign, now, lease, 5, &|_| None)
            .await
            .unwrap();
        assert_eq!(claimed.len(), 2, "{backend}");
        let token = |i: usize| format!("{i:032x}");
        let results: Vec<(i64, i64, i64, Fate)> = claimed
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let ledger = LedgerEntry {
                    event: LedgerEvent::Requested,
                    at: now,
                    policy_version: "v1".into(),
                    ..Default::default()
                };
                let message_id = format!("<{}@shop.example>", token(i));
                let fate = Fate::Sent {
                    message_id,
                    content_sha256: "00".into(),
                    ledger: Box::new(ledger),
                };
                (c.delivery_id, c.contact.id, campaign, fate)
            })
            .collect();
        store.journal(&results, &[], now).await.unwrap();

        assert_eq!(
            store.late_target(&format!("{:032x}", 99)).await.unwrap(),
            None,
            "{backend}"
        );
        for (i, kind) in [(0, "hard_bounce"), (1, "complaint")] {
            let target = store.late_target(&token(i)).await.unwrap().expect(&backend);
            assert_eq!(target.delivery_id, claimed[i].delivery_id, "{backend}");
            assert_eq!(target.message_id, format!("<{}@shop.example>", token(i)));
            let ledger = LedgerEntry {
                event: if i == 0 {
                    LedgerEvent::Bounced
                } else {
                    LedgerEvent::Withdrawn
                },
                at: now,
                policy_version: "v1".into(),
                ..Default::default()
            };
            let key = format!("{kind}:{}", target.delivery_id);
            let write = LateWrite {
                event_key: &key,
                target: &target,
                kind,
                source: "mailbox",
                status: Some("5.1.1"),
                bounced: (i == 0).then_some("late bounce"),
                suppress: Some((kind, now)),
                withdraw: i == 1,
                webhook: None,
                ledger: &ledger,
                at: now,
            };
            assert_eq!(
                store.apply_late_event(&write).await.unwrap(),
                LateApplied::Applied,
                "{backend}"
            );
            assert_eq!(
                store.apply_late_event(&write).await.unwrap(),
                LateApplied::Already,
                "{backend}"
            );
            let events: Vec<LedgerEvent> = store
                .ledger(target.contact_id)
                .await
                .unwrap()
                .into_iter()
                .map(|e| e.event)
                .collect();
            assert_eq!(events, [LedgerEvent::Requested, ledger.event], "{backend}");
            assert!(
                store.is_suppressed(target.contact_id).await.unwrap(),
                "{backend}"
            );
        }
        let want = LateCounts {
            hard_bounces: 1,
            soft_bounces: 0,
            complaints: 1,
        };
        assert_eq!(
            store.late_counts(campaign).await.unwrap(),
            vec![(0, want)],
            "{backend}"
        );
        // The complainer's reminder is cancelled; the bounced one's waits (the sender
        // refuses it at claim, as suppressed).
        let week = now + chrono::Duration::days(8);
        let state = store.queue_state(Some(campaign), week).await.unwrap();
        assert_eq!((state.due, state.later), (1, 0), "{backend}");
        store.close().await;
    }
}
