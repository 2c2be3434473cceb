//! The admin token, `/api/campaigns` and `/metrics`, through the real binary: `init`,
//! `admin token`, and `serve` sending a campaign to aiosmtpd.

mod common;
use common::servers::*;
use common::*;
use std::collections::BTreeMap;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

const CAMPAIGN: &str = "spring-reconsent";
const CONFIGURED: &str = "configured-token-0123456789abcdef";

/// `reconsent serve` on a free port; killed when dropped.
struct Serve {
    child: Child,
    base: String,
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve(sb: &Sandbox, env: &[(&str, &str)]) -> Serve {
    let port = free_port();
    let mut cmd = sb.process();
    cmd.envs(env.iter().copied())
        .args(["serve", "--bind", &format!("127.0.0.1:{port}")])
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(sb.path("serve.log")).expect("a log file"));
    let s = Serve {
        child: cmd.spawn().expect("start reconsent serve"),
        base: format!("http://127.0.0.1:{port}"),
    };
    until("serve listens", || {
        std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
    });
    s
}

/// Polls `done` until it holds, for at most 30 s.
fn until(what: &str, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "{what}: timed out"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// `reconsent ARGS` with `[admin] token` configured.
fn with_token(sb: &Sandbox, token: &str, args: &[&str]) -> std::process::Output {
    sb.cmd()
        .env("RECONSENT__ADMIN__TOKEN", token)
        .args(args)
        .output()
        .unwrap()
}

fn stored_token(sb: &Sandbox) -> String {
    sb.ok(&["admin", "token"]).stdout.trim().to_string()
}

async fn get(url: &str, token: Option<&str>) -> reqwest::Response {
    let mut req = reqwest::Client::new().get(url);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    req.send().await.unwrap()
}

async fn json(url: &str, token: &str) -> serde_json::Value {
    let res = get(url, Some(token)).await;
    assert_eq!(res.status(), 200, "{url}");
    res.json().await.unwrap()
}

/// The example campaign launched, then sent by `serve` itself to aiosmtpd: every
/// message of the first wave gone out.
fn sent_by_serve() -> (Sandbox, Serve, Server) {
    let sb = Sandbox::with_campaign("500/s");
    sb.ok(&["campaign", "launch", "campaigns/example.toml"]);
    let smtp = aiosmtpd_maildir(&sb.path("maildir"));
    let server = serve(&sb, &[("RECONSENT__TRANSPORT", &smtp.url())]);
    until("the first wave is sent", || {
        let s = sb.status();
        s["queued"] == 0 && s["retrying"] == 0 && s["sent"].as_i64() > Some(0)
    });
    (sb, server, smtp)
}

async fn stored_secret(sb: &Sandbox) -> Option<String> {
    let store = sb.store().await;
    let secret = store.secret("admin_token").await.unwrap();
    store.close().await;
    secret.map(|s| String::from_utf8(s).unwrap())
}

#[tokio::test(flavor = "multi_thread")]
async fn init_creates_the_admin_token_once_and_admin_token_prints_it() {
    let sb = Sandbox::empty();
    let first = sb.ok(&["init"]).stdout;
    assert!(first.contains("reconsent admin token"), "{first}");
    let token = stored_token(&sb);
    assert_eq!(token.len(), 64, "{token}");
    assert!(token.chars().all(|c| c.is_ascii_hexdigit()), "{token}");
    assert_eq!(stored_secret(&sb).await.as_deref(), Some(token.as_str()));
    sb.ok(&["init"]);
    assert_eq!(stored_token(&sb), token, "a second init keeps the token");
    let j = sb.json(&["admin", "token"]);
    assert_eq!(j["admin_token"], token.as_str());
    assert_eq!(j["source"], "database");
    assert_ne!(
        stored_token(&Sandbox::new()),
        token,
        "each base has its own"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_configured_admin_token_wins_over_the_stored_one() {
    let sb = Sandbox::empty();
    let init = with_token(&sb, CONFIGURED, &["init", "--json"]);
    assert!(init.status.success());
    let init: serde_json::Value = serde_json::from_slice(&init.stdout).unwrap();
    assert_eq!(init["admin_token"], "config");
    assert_eq!(stored_secret(&sb).await, None);

    sb.ok(&["init"]);
    let stored = stored_token(&sb);
    let printed = with_token(&sb, CONFIGURED, &["admin", "token"]);
    assert_eq!(String::from_utf8_lossy(&printed.stdout).trim(), CONFIGURED);

    let server = serve(&sb, &[("RECONSENT__ADMIN__TOKEN", CONFIGURED)]);
    let url = format!("{}/api/campaigns", server.base);
    assert_eq!(get(&url, Some(&stored)).await.status(), 401);
    assert_eq!(json(&url, CONFIGURED).await, serde_json::json!([]));
}

#[test]
fn a_short_configured_admin_token_is_refused_by_name() {
    let sb = Sandbox::new();
    let out = with_token(&sb, "secret", &["admin", "token"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("admin.token") && err.contains("16"), "{err}");
}

#[tokio::test(flavor = "multi_thread")]
async fn api_and_metrics_answer_401_without_the_right_bearer_token() {
    let sb = Sandbox::with_campaign("500/s");
    sb.ok(&["campaign", "launch", "campaigns/example.toml"]);
    let token = stored_token(&sb);
    let server = serve(&sb, &[]);
    for path in [
        "/api/campaigns",
        &format!("/api/campaigns/{CAMPAIGN}"),
        "/api/campaigns/nope",
        "/metrics",
    ] {
        let url = format!("{}{path}", server.base);
        for wrong in [None, Some(""), Some("wrong"), Some(&token[..63])] {
            let res = get(&url, wrong).await;
            assert_eq!(res.status(), 401, "{path} with {wrong:?}");
            let challenge = res.headers()["www-authenticate"].to_str().unwrap();
            assert!(challenge.starts_with("Bearer"), "{challenge}");
        }
        let basic = reqwest::Client::new()
            .get(&url)
            .basic_auth("admin", Some(&token))
            .send()
            .await
            .unwrap();
        assert_eq!(basic.status(), 401, "{path} with Basic");
        let expected = if path.ends_with("nope") { 404 } else { 200 };
        assert_eq!(get(&url, Some(&token)).await.status(), expected, "{path}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_api_answers_exactly_what_campaign_status_says() {
    let (sb, server, _smtp) = sent_by_serve();
    let token = stored_token(&sb);
    let status = sb.status();
    let one = json(&format!("{}/api/campaigns/{CAMPAIGN}", server.base), &token).await;
    assert_eq!(one, status);
    let all = json(&format!("{}/api/campaigns", server.base), &token).await;
    assert_eq!(all, serde_json::json!([status]));

    let res = get(
        &format!("{}/api/campaigns/autumn", server.base),
        Some(&token),
    )
    .await;
    assert_eq!(res.status(), 404);
    let body: serde_json::Value = res.json().await.unwrap();
    assert!(body["error"].as_str().unwrap().contains("autumn"), "{body}");
}

/// `name{labels} value` lines of one metric, by their labels.
fn samples(text: &str, name: &str) -> BTreeMap<BTreeMap<String, String>, f64> {
    let prefix = format!("{name}{{");
    text.lines()
        .filter_map(|l| l.strip_prefix(&prefix))
        .map(|rest| {
            let (labels, value) = rest.rsplit_once("} ").unwrap();
            let labels = labels
                .split("\",")
                .map(|kv| {
                    let (k, v) = kv.split_once("=\"").unwrap();
                    (k.to_string(), v.trim_end_matches('"').to_string())
                })
                .collect();
            (labels, value.parse().unwrap())
        })
        .collect()
}

fn value(text: &str, name: &str) -> f64 {
    let prefix = format!("{name} ");
    text.lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .unwrap_or_else(|| panic!("no {name} in\n{text}"))
        .parse()
        .unwrap()
}

fn promtool_check(sb: &Sandbox, text: &str) {
    let file = sb.write("metrics.txt", text);
    let out = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(std::fs::File::open(file).unwrap())
        .output()
        .expect("promtool (Debian package prometheus; scripts/test installs it)");
    assert!(
        out.status.success(),
        "promtool check metrics:\n{}{}\n{text}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn metrics_after_a_campaign_sent_by_serve_pass_promtool_and_agree_with_status() {
    let (sb, server, _smtp) = sent_by_serve();
    let token = stored_token(&sb);
    let status = sb.status();
    // One person opens the link in their e-mail: a view, on the route of every link.
    let mail = &read_messages(&sb.path("maildir"))[0];
    let link = mail["links"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|l| l.as_str())
        .find(|l| l.contains("/r/"))
        .unwrap();
    let path = &link[link.find("/r/").unwrap()..];
    assert_eq!(
        get(&format!("{}{path}", server.base), None).await.status(),
        200
    );
    let _ = json(&format!("{}/api/campaigns/{CAMPAIGN}", server.base), &token).await;
    let _ = get(&format!("{}/metrics", server.base), Some(&token)).await;
    let res = get(&format!("{}/metrics", server.base), Some(&token)).await;
    assert_eq!(res.status(), 200);
    let text = res.text().await.unwrap();
    promtool_check(&sb, &text);
    assert!(!text.contains(&token), "the token leaked into the metrics");

    let messages = samples(&text, "reconsent_messages");
    let waves = status["waves"].as_array().unwrap();
    let mut seen = 0;
    for w in waves {
        for result in [
            "queued",
            "sent",
            "retrying",
            "failed",
            "bounced",
            "unknown",
            "cancelled",
        ] {
            let labels = BTreeMap::from([
                ("campaign".to_string(), CAMPAIGN.to_string()),
                ("wave".to_string(), w["wave"].as_str().unwrap().to_string()),
                ("result".to_string(), result.to_string()),
            ]);
            assert_eq!(
                messages.get(&labels).copied(),
                w[result].as_f64(),
                "{labels:?}\n{text}"
            );
            seen += 1;
        }
    }
    assert_eq!(seen, 3 * 7);
    let sent: f64 = messages
        .iter()
        .filter(|(l, _)| l["result"] == "sent" && l["wave"] != "thank_you")
        .map(|(_, n)| n)
        .sum();
    assert_eq!(Some(sent), status["sent"].as_f64());
    assert_eq!(value(&text, "reconsent_queue_depth"), 0.0);
    // Sent by this process: one SMTP transaction per message.
    assert_eq!(
        Some(value(&text, "reconsent_send_seconds_count")),
        status["sent"].as_f64()
    );
    assert!(
        !text.contains(&path[3..]),
        "a link's token leaked into the metrics"
    );
    let views: f64 = samples(&text, "reconsent_answers_total")
        .iter()
        .filter(|(l, _)| l["kind"] == "viewed")
        .map(|(_, n)| n)
        .sum();
    assert_eq!(views, 1.0, "{text}");
    let http = samples(&text, "reconsent_http_requests_total");
    for route in ["/r/{token}", "/api/campaigns/{name}", "/metrics"] {
        let labels = BTreeMap::from([
            ("route".to_string(), route.to_string()),
            ("status".to_string(), "200".to_string()),
        ]);
        assert!(http.get(&labels) >= Some(&1.0), "{route}\n{text}");
    }
}

/// `/metrics` as text, with the admin token.
async fn scrape(server: &Serve, token: &str) -> String {
    let res = get(&format!("{}/metrics", server.base), Some(token)).await;
    assert_eq!(res.status(), 200);
    res.text().await.unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn purges_and_webhook_deliveries_of_serve_are_counted() {
    let sb = Sandbox::with_campaign("100000/s");
    sb.ok(&["campaign", "launch", "campaigns/example.toml"]);
    let out = sb.run_with("file://outbox", &["send", "--until-idle"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let token = stored_token(&sb);
    // The receiver refuses the first event, then takes every one.
    let receiver = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(500))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&receiver)
        .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&receiver)
        .await;
    let url = format!("{}/hooks", receiver.uri());
    // Long after the deadline and grace: serve's first purge erases the silent.
    let server = serve(
        &sb,
        &[
            ("RECONSENT_NOW", "2027-01-01T00:00:00Z"),
            ("RECONSENT__TRANSPORT", "file://outbox"),
            ("RECONSENT__WEBHOOKS__URL", &url),
            (
                "RECONSENT__WEBHOOKS__SECRET",
                "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            ),
        ],
    );
    let purged = |text: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix("reconsent_purged_total "))
            .map(|v| v.parse::<f64>().unwrap())
    };
    let deliveries = |text: &str, result: &str| {
        samples(text, "reconsent_webhook_deliveries_total")
            .into_iter()
            .find(|(l, _)| l["result"] == result)
            .map_or(0.0, |(_, n)| n)
    };
    let start = Instant::now();
    let text = loop {
        let text = scrape(&server, &token).await;
        let received = receiver.received_requests().await.unwrap().len() as f64;
        if purged(&text).is_some()
            && deliveries(&text, "failed") == 1.0
            && deliveries(&text, "delivered") == received - 1.0
            && received > 1.0
        {
            break text;
        }
        assert!(start.elapsed() < Duration::from_secs(30), "{text}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    promtool_check(&sb, &text);
    let status = sb.status();
    assert!(status["purged"].as_f64() > Some(100.0), "{status}");
    assert_eq!(purged(&text), status["purged"].as_f64());
}
