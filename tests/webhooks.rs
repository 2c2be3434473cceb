//! The shop's webhook receiver is down for an hour, then comes back: every event
//! arrives once, signed, each contact's in order.

mod common;
use common::*;
use reconsent::webhooks::{signature, signing_key};
use std::collections::{HashMap, HashSet};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const AFTER_GRACE: &str = "2027-01-01T00:00:00Z";

fn run(sb: &Sandbox, url: &str, args: &[&str]) -> serde_json::Value {
    let out = sb
        .cmd()
        .env("RECONSENT__WEBHOOKS__URL", url)
        .env("RECONSENT__WEBHOOKS__SECRET", SECRET)
        .env("RECONSENT__TRANSPORT", "file://outbox")
        .args(args)
        .arg("--json")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn events_survive_an_hour_long_outage_and_arrive_once_in_order() {
    let sb = Sandbox::with_campaign("100000/s");
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener); // the receiver is down: nothing listens there yet
    let url = format!("http://{addr}/hooks");
    run(&sb, &url, &["campaign", "launch", "campaigns/example.toml"]);
    run(&sb, &url, &["send", "--until-idle"]);
    let purge = run(&sb, &url, &["purge", "--now", AFTER_GRACE]);
    let purged = purge["purged"].as_u64().unwrap();
    let held = purge["held"].as_array().unwrap().len() as u64;
    assert!(purged > 100);
    // The hour of outage: tries keep failing and nothing is lost.
    for at in ["2027-01-01T00:10:00Z", "2027-01-01T00:40:00Z"] {
        let r = run(&sb, &url, &["webhooks", "--now", at]);
        assert_eq!(r["delivered"], 0);
        assert_eq!(r["pending"].as_u64().unwrap(), (purged + held) + 1 + purged);
    }

    let server = MockServer::builder()
        .listener(std::net::TcpListener::bind(addr).unwrap())
        .start()
        .await;
    Mock::given(method("POST"))
        .and(path("/hooks"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&server)
        .await;
    let mut delivered = 0;
    for at in [
        "2027-01-01T01:00:00Z",
        "2027-01-01T01:20:00Z",
        "2027-01-01T01:40:00Z",
    ] {
        let r = run(&sb, &url, &["webhooks", "--now", at]);
        delivered += r["delivered"].as_u64().unwrap();
        if r["pending"] == 0 {
            break;
        }
    }
    let requests = server.received_requests().await.unwrap();
    let expected = (purged + held) + 1 + purged;
    assert_eq!(delivered, expected);
    assert_eq!(requests.len() as u64, expected, "each event exactly once");

    let key = signing_key(SECRET).unwrap();
    let mut ids = HashSet::new();
    let mut per_contact: HashMap<String, Vec<String>> = HashMap::new();
    for r in &requests {
        let header = |name: &str| r.headers.get(name).unwrap().to_str().unwrap().to_string();
        let (id, ts) = (header("webhook-id"), header("webhook-timestamp"));
        let body = String::from_utf8(r.body.clone()).unwrap();
        assert_eq!(
            header("webhook-signature"),
            signature(&key, &id, ts.parse().unwrap(), &body)
        );
        assert!(ids.insert(id.clone()), "{id} delivered twice");
        let event: serde_json::Value = serde_json::from_str(&body).unwrap();
        let kind = event["type"].as_str().unwrap().to_string();
        if let Some(contact) = event["data"]["contact"].as_str() {
            assert!(
                event["data"]["email"].as_str().unwrap().contains('@'),
                "the shop needs the address to delete it"
            );
            per_contact
                .entry(contact.to_string())
                .or_default()
                .push(kind);
        } else {
            assert_eq!(kind, "campaign.completed");
        }
    }
    let mut purged_seen = 0;
    for (contact, kinds) in &per_contact {
        match kinds.as_slice() {
            [q] => assert_eq!(
                q, "contact.queued_for_deletion",
                "{contact}: held contacts are only queued"
            ),
            [q, p] => {
                assert_eq!(
                    (q.as_str(), p.as_str()),
                    ("contact.queued_for_deletion", "contact.purged"),
                    "{contact}"
                );
                purged_seen += 1;
            }
            other => panic!("{contact}: {other:?}"),
        }
    }
    assert_eq!(purged_seen, purged);
    // Delivered payloads are not kept: the outbox held addresses only until delivery.
    let again = run(&sb, &url, &["webhooks", "--now", "2027-01-02"]);
    assert_eq!(
        (again["delivered"].clone(), again["pending"].clone()),
        (0.into(), 0.into())
    );
}
