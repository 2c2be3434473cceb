//! The shop's webhook receiver is down for an hour, then comes back: every event
//! arrives once, signed, each contact's in order.

mod common;
use common::*;
use reconsent::domain::{EmailAddress, parse_instant};
use reconsent::tokens::{LinkSigner, Purpose, TokenClaims};
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

/// A receiver that takes everything.
async fn receiver() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/hooks"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&server)
        .await;
    server
}

/// The example base plus two contacts imported with the shop's ids, the campaign
/// launched and sent to all.
fn sent_with_shop_ids(url: &str) -> Sandbox {
    let sb = Sandbox::with_campaign("100000/s");
    let file = sb.write(
        "ids.csv",
        "email,locale,consent_at,consent_method,external_id\n\
         shop.one@example.pl,pl,2019-05-01,unknown,cust-1001\n\
         shop.two@example.pl,pl,2019-05-01,unknown,  cust-1002 \n",
    );
    sb.ok(&["import", file.to_str().unwrap()]);
    run(&sb, url, &["campaign", "launch", "campaigns/example.toml"]);
    run(&sb, url, &["send", "--until-idle"]);
    sb
}

#[tokio::test(flavor = "multi_thread")]
async fn events_name_a_contact_by_the_shops_id_and_then_never_by_address() {
    let server = receiver().await;
    let url = format!("{}/hooks", server.uri());
    let sb = sent_with_shop_ids(&url);
    run(&sb, &url, &["purge", "--now", AFTER_GRACE]);
    let mut by_shop_id: HashMap<String, Vec<String>> = HashMap::new();
    let mut by_address = 0;
    for r in server.received_requests().await.unwrap() {
        let body = String::from_utf8(r.body.clone()).unwrap();
        let event: serde_json::Value = serde_json::from_str(&body).unwrap();
        let data = &event["data"];
        match data["external_id"].as_str() {
            Some(id) => {
                assert!(data.get("email").is_none() && !body.contains('@'), "{body}");
                assert!(data["contact"].is_string(), "{body}");
                let kind = event["type"].as_str().unwrap().to_string();
                by_shop_id.entry(id.to_string()).or_default().push(kind);
            }
            None if data.get("contact").is_some() => {
                assert!(data["email"].as_str().unwrap().contains('@'), "{body}");
                by_address += 1;
            }
            None => {}
        }
    }
    let both = ["contact.queued_for_deletion", "contact.purged"].map(String::from);
    assert_eq!(by_shop_id["cust-1001"], both);
    assert_eq!(
        by_shop_id["cust-1002"], both,
        "the id is trimmed like any cell"
    );
    assert!(
        by_address > 100,
        "contacts imported without an id keep their address"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_address_nobody_took_is_dropped_after_keep_undelivered() {
    let sb = Sandbox::with_campaign("100000/s");
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/hooks", listener.local_addr().unwrap());
    drop(listener); // the receiver is down, and stays down
    run(&sb, &url, &["campaign", "launch", "campaigns/example.toml"]);
    run(&sb, &url, &["send", "--until-idle"]);
    let preview = run(&sb, &url, &["purge", "--dry-run", "--now", AFTER_GRACE]);
    let erased: Vec<String> = preview["would_purge"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    run(&sb, &url, &["purge", "--now", AFTER_GRACE]);
    // Waiting for the receiver, the events still carry the address: the shop needs it.
    assert!(in_database(&sb, &erased[0]), "{}", erased[0]);
    let r = run(&sb, &url, &["webhooks", "--now", "2027-01-30T00:00:00Z"]);
    assert_eq!(r["addresses_dropped"], 0, "not 30 days yet: {r}");
    assert!(in_database(&sb, &erased[0]));

    let r = run(&sb, &url, &["webhooks", "--now", "2027-01-31T00:00:01Z"]);
    let dropped = r["addresses_dropped"].as_u64().unwrap();
    assert!(
        dropped > erased.len() as u64,
        "queued and purged events: {r}"
    );
    assert_eq!(
        r["pending"].as_u64().unwrap(),
        dropped + 1,
        "the events stay"
    );
    for email in &erased {
        assert!(
            !in_database(&sb, email),
            "{email} is still in the database files"
        );
    }
    let audit = sb.rows("SELECT action, at, count FROM audit");
    let expected = [
        "webhook_addresses_dropped",
        "1801353601",
        &dropped.to_string(),
    ]
    .map(|v| Some(v.to_string()));
    assert_eq!(audit, [expected]);
    let again = run(&sb, &url, &["webhooks", "--now", "2027-02-02"]);
    assert_eq!(again["addresses_dropped"], 0, "once");
}

/// The signed confirm link of `email` in the example campaign.
async fn confirm_token(sb: &Sandbox, email: &str) -> String {
    let store = sb.store().await;
    let key = EmailAddress::parse(email).unwrap();
    let contact = store.contact_by_key(key.key()).await.unwrap().unwrap();
    let signer = LinkSigner::new(store.secrets().await.unwrap().link_key);
    store.close().await;
    signer
        .sign(&TokenClaims {
            purpose: Purpose::Confirm,
            campaign: "spring-reconsent".into(),
            public_id: contact.public_id,
            expires: parse_instant("2027-06-01").unwrap(),
        })
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_confirmation_names_the_contact_by_the_shops_id() {
    let server = receiver().await;
    let url = format!("{}/hooks", server.uri());
    let sb = sent_with_shop_ids(&url);
    let token = confirm_token(&sb, "shop.one@example.pl").await;
    let port = common::servers::free_port();
    let mut serve = sb
        .process()
        .env("RECONSENT__TRANSPORT", "file://outbox")
        .env("RECONSENT__WEBHOOKS__URL", &url)
        .env("RECONSENT__WEBHOOKS__SECRET", SECRET)
        .args(["serve", "--bind", &format!("127.0.0.1:{port}")])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let start = std::time::Instant::now();
    let confirmed = loop {
        let answer = reqwest::Client::new()
            .post(format!("http://127.0.0.1:{port}/r/{token}/confirm"))
            .send()
            .await;
        if let Ok(answer) = answer {
            break answer.status();
        }
        assert!(
            start.elapsed() < std::time::Duration::from_secs(20),
            "serve did not listen"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    assert!(confirmed.is_success(), "{confirmed}");
    let event = loop {
        let requests = server.received_requests().await.unwrap();
        let found = requests.iter().find_map(|r| {
            let event: serde_json::Value = serde_json::from_slice(&r.body).ok()?;
            (event["type"] == "contact.confirmed").then_some(event)
        });
        if let Some(event) = found {
            break event;
        }
        assert!(
            start.elapsed() < std::time::Duration::from_secs(60),
            "no contact.confirmed"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    serve.kill().unwrap();
    serve.wait().unwrap();
    assert_eq!(event["data"]["external_id"], "cust-1001", "{event}");
    assert!(event["data"].get("email").is_none(), "{event}");
    assert_eq!(event["data"]["campaign"], "spring-reconsent");
}
