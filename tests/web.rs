//! The response server, driven over HTTP after a real send to aiosmtpd: pages never
//! change consent, buttons do, every bad link gets the same 404, and the ledger proves
//! what was sent and shown.

mod common;
use common::servers::*;
use common::*;
use reconsent::domain::parse_instant;
use reconsent::tokens::{LinkSigner, Purpose, TokenClaims};
use sha2::{Digest, Sha256};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const CAMPAIGN: &str = "campaigns/example.toml";
const BROWSER: &str = "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0";

/// One sent request e-mail, its tokens sorted by purpose.
struct Mail {
    to: String,
    message_id: String,
    confirm: String,
    leave: String,
    unsubscribe: String,
}

/// The example campaign launched and sent to aiosmtpd; the messages as received.
async fn sent() -> (Sandbox, Vec<Mail>, LinkSigner) {
    let sb = Sandbox::with_campaign("500/s");
    let maildir = sb.path("maildir");
    let smtp = aiosmtpd_maildir(&maildir);
    sb.ok(&["campaign", "launch", CAMPAIGN]);
    let out = sb.run_with(&smtp.url(), &["send", "--until-idle"]);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    smtp.stop();
    let (mails, signer) = received(&sb, &maildir).await;
    (sb, mails, signer)
}

/// The messages in `maildir`, with the tokens of their links.
async fn received(sb: &Sandbox, maildir: &std::path::Path) -> (Vec<Mail>, LinkSigner) {
    let store = sb.store().await;
    let signer = LinkSigner::new(store.secrets().await.unwrap().link_key);
    let now = parse_instant(NOW).unwrap();
    let token_after = |s: &str, marker: &str| -> Vec<String> {
        s.split(marker)
            .skip(1)
            .map(|t| {
                t.chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
                    .collect()
            })
            .collect()
    };
    let mails = read_messages(maildir)
        .iter()
        .map(|m| {
            let links: Vec<String> = m["links"]
                .as_array()
                .unwrap()
                .iter()
                .flat_map(|l| token_after(l.as_str().unwrap(), "/r/"))
                .collect();
            let find = |p| {
                links
                    .iter()
                    .find(|t| signer.verify(t, p, now).is_some())
                    .cloned()
                    .unwrap_or_else(|| panic!("no {p:?} link in {links:?}"))
            };
            let unsubscribe = token_after(m["list_unsubscribe"].as_str().unwrap(), "/u/")
                .into_iter()
                .next()
                .expect("a one-click link");
            Mail {
                to: m["to"].as_str().unwrap().to_lowercase(),
                message_id: m["message_id"].as_str().unwrap().to_string(),
                confirm: find(Purpose::Confirm),
                leave: find(Purpose::Leave),
                unsubscribe,
            }
        })
        .collect();
    (mails, signer)
}

/// `reconsent serve` on a free port, acting as if it were `now`; killed when dropped.
struct Serve {
    child: Child,
    base: String,
}

impl Serve {
    /// SIGTERM, as a service manager stops it: the server must finish and exit 0.
    fn stop(mut self) -> std::process::ExitStatus {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let start = std::time::Instant::now();
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return status;
            }
            assert!(
                start.elapsed() < Duration::from_secs(15),
                "serve did not stop on SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve(sb: &Sandbox, now: &str) -> Serve {
    serve_with(sb, now, &format!("file://{}", sb.path("outbox").display()))
}

fn serve_with(sb: &Sandbox, now: &str, transport: &str) -> Serve {
    serve_env(sb, now, transport, &[])
}

/// Every request of these tests comes from 127.0.0.1: the limit per address is set far
/// above them unless a test sets its own in `env`.
fn serve_env(sb: &Sandbox, now: &str, transport: &str, env: &[(&str, &str)]) -> Serve {
    let port = free_port();
    let mut cmd = Command::new(assert_cmd::cargo::cargo_bin!("reconsent"));
    sb.db.apply(&mut cmd);
    cmd.current_dir(sb.dir.path())
        .env("RECONSENT_NOW", now)
        .env("RECONSENT_TEST_CLOCK", "1")
        .env("RECONSENT__TRANSPORT", transport)
        .env("RECONSENT__WEB__RATE_PER_IP", "100000/s")
        .env("RECONSENT__WEB__BURST", "100000")
        .envs(env.iter().copied())
        .args(["serve", "--bind", &format!("127.0.0.1:{port}")])
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(sb.path("serve.log")).expect("a log file"));
    let child = cmd.spawn().expect("start reconsent serve");
    let s = Serve {
        child,
        base: format!("http://127.0.0.1:{port}"),
    };
    let start = std::time::Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "serve did not listen"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    s
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(BROWSER)
        .build()
        .unwrap()
}

/// An hour after the send: past the suspect window.
const LATER: &str = "2026-11-22T01:00:00Z";

fn sha256(s: &str) -> String {
    hex::encode(Sha256::digest(s.as_bytes()))
}

async fn text(req: reqwest::RequestBuilder) -> String {
    req.send().await.unwrap().text().await.unwrap()
}

fn entries(sb: &Sandbox, email: &str) -> Vec<serde_json::Value> {
    sb.json(&["evidence", email])["entries"]
        .as_array()
        .unwrap()
        .clone()
}

#[tokio::test(flavor = "multi_thread")]
async fn get_and_head_of_every_link_right_after_delivery_change_nothing() {
    let (sb, mails, _) = sent().await;
    let server = serve(&sb, NOW);
    let http = client();
    assert_eq!(
        http.get(format!("{}/healthz", server.base))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    for m in &mails {
        for token in [&m.confirm, &m.leave] {
            let url = format!("{}/r/{token}", server.base);
            let page = http.get(&url).send().await.unwrap();
            assert_eq!(page.status(), 200, "{}", m.to);
            let head = http.head(&url).send().await.unwrap();
            assert_eq!(head.status(), 200, "{}", m.to);
        }
        // The one-click link opened in a browser shows a button; it does not unsubscribe.
        let one_click = format!("{}/u/{}", server.base, m.unsubscribe);
        for res in [
            http.get(&one_click).send().await.unwrap(),
            http.head(&one_click).send().await.unwrap(),
        ] {
            assert_eq!(res.status(), 200, "{}", m.to);
        }
    }
    // Every view came within the suspect window of delivery: in the ledger, flagged,
    // and not counted as a person's view.
    let status = sb.status();
    assert_eq!(status["viewed"], 0);
    assert_eq!(
        (&status["confirmed"], &status["left"], &status["suspect"]),
        (&0.into(), &0.into(), &0.into())
    );
    assert_eq!(status["queued_for_deletion"], 0);
    for m in mails.iter().take(5) {
        let events: Vec<_> = entries(&sb, &m.to)
            .iter()
            .map(|e| e["event"].as_str().unwrap().to_string())
            .collect();
        assert!(
            events
                .iter()
                .all(|e| e == "imported" || e == "requested" || e == "viewed"),
            "{}: {events:?}",
            m.to
        );
        let viewed = entries(&sb, &m.to);
        let viewed: Vec<_> = viewed.iter().filter(|e| e["event"] == "viewed").collect();
        assert_eq!(
            viewed.len(),
            1,
            "{}: GET and HEAD of three links, one wave: one view in the ledger",
            m.to
        );
        assert!(viewed.iter().all(|e| e["suspect"] == true));
        let explained = sb.json(&["explain", &m.to]);
        assert_ne!(explained["class"], "valid");
        assert_ne!(explained["class"], "withdrawn");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn confirm_leave_and_one_click_by_post_with_full_proof() {
    let (sb, mails, _) = sent().await;
    let server = serve(&sb, LATER);
    let http = client();
    let (a, b, c, d) = (&mails[0], &mails[1], &mails[2], &mails[3]);

    // A reads the page, then confirms.
    let page = text(http.get(format!("{}/r/{}", server.base, a.confirm))).await;
    assert_eq!(page.matches("<button").count(), 2);
    let confirm_url = format!("{}/r/{}/confirm", server.base, a.confirm);
    let thanks = http.post(&confirm_url).send().await.unwrap();
    assert_eq!(thanks.status(), 200);
    assert!(thanks.text().await.unwrap().contains("WELCOMEBACK10"));
    let again = http.post(&confirm_url).send().await.unwrap();
    assert_eq!(again.status(), 200, "confirming twice is harmless");

    let ledger = entries(&sb, &a.to);
    let requested = ledger.iter().find(|e| e["event"] == "requested").unwrap();
    let confirmed: Vec<_> = ledger
        .iter()
        .filter(|e| e["event"] == "confirmed")
        .collect();
    assert_eq!(confirmed.len(), 1, "{ledger:?}");
    let e = confirmed[0];
    assert_eq!(e["message_id"], requested["message_id"]);
    assert_eq!(e["message_id"].as_str().unwrap(), a.message_id.trim());
    assert_eq!(e["detail"]["email_sha256"], requested["content_sha256"]);
    assert_eq!(e["content_sha256"].as_str().unwrap(), sha256(&page));
    assert_eq!(e["privacy_sha256"], requested["privacy_sha256"]);
    assert_eq!(e["campaign"], "spring-reconsent");
    assert_eq!(e["wave"], "initial");
    assert_eq!(e["ip"], "127.0.0.1");
    assert_eq!(e["user_agent"], BROWSER);
    assert!(e["policy_version"].as_str().unwrap().starts_with("policy-"));
    assert_eq!(e["suspect"], false);
    assert_eq!(sb.json(&["explain", &a.to])["class"], "valid");
    // The thank-you e-mail is queued for the sender in the same transaction, once,
    // and the sender in `serve` sends it.
    assert_eq!(thank_yous(&sb, &a.to).await, 1);
    assert_eq!(thank_you_mails(&sb, &a.to).await, 1);

    // A double click: two POSTs at once record one confirmation.
    let e = &mails[4];
    let url = format!("{}/r/{}/confirm", server.base, e.confirm);
    let (r1, r2) = tokio::join!(http.post(&url).send(), http.post(&url).send());
    assert_eq!(r1.unwrap().status(), 200);
    assert_eq!(r2.unwrap().status(), 200);
    let confirmations = entries(&sb, &e.to)
        .iter()
        .filter(|x| x["event"] == "confirmed")
        .count();
    assert_eq!(confirmations, 1);

    // B leaves from the page; a leave token cannot confirm, nor a confirm token leave.
    let wrong = http
        .post(format!("{}/r/{}/confirm", server.base, b.leave))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 404);
    let wrong = http
        .post(format!("{}/r/{}/leave", server.base, b.confirm))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 404);
    let bye = http
        .post(format!("{}/r/{}/leave", server.base, b.leave))
        .send()
        .await
        .unwrap();
    assert_eq!(bye.status(), 200);
    assert!(entries(&sb, &b.to).iter().any(|e| e["event"] == "left"));
    assert_eq!(sb.json(&["explain", &b.to])["class"], "withdrawn");

    // C's mail client sends the RFC 8058 one-click POST: no cookies, no redirect.
    let one = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .post(format!("{}/u/{}", server.base, c.unsubscribe))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("List-Unsubscribe=One-Click")
        .send()
        .await
        .unwrap();
    assert_eq!(one.status(), 200);
    assert!(one.headers().get("set-cookie").is_none());
    assert!(
        entries(&sb, &c.to)
            .iter()
            .any(|e| e["event"] == "withdrawn")
    );
    assert_eq!(sb.json(&["explain", &c.to])["class"], "withdrawn");

    // D's confirmation comes from a scanner's user agent: recorded, flagged, apart.
    let scanned = http
        .post(format!("{}/r/{}/confirm", server.base, d.confirm))
        .header("user-agent", "python-requests/2.31")
        .send()
        .await
        .unwrap();
    assert_eq!(scanned.status(), 200);
    let d_entry = entries(&sb, &d.to)
        .into_iter()
        .find(|e| e["event"] == "confirmed")
        .unwrap();
    assert_eq!(d_entry["suspect"], true);

    let status = sb.status();
    assert_eq!(status["viewed"], 1);
    assert_eq!(status["confirmed"], 2);
    // The one-click POST carried no user agent, as a mail provider's may not: it
    // withdrew at once, and is counted apart as suspect.
    assert_eq!(status["left"], 1);
    assert_eq!(status["suspect"], 2);
    assert_eq!(status["queued_for_deletion"], 2);
    assert_eq!(status["no_response"], mails.len() - 5);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_answer_right_after_delivery_is_suspect() {
    let (sb, mails, _) = sent().await;
    let server = serve(&sb, NOW);
    let res = client()
        .post(format!("{}/r/{}/confirm", server.base, mails[0].confirm))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let e = entries(&sb, &mails[0].to)
        .into_iter()
        .find(|e| e["event"] == "confirmed")
        .unwrap();
    assert_eq!(e["suspect"], true);
    assert_eq!(e["detail"]["too_soon_after_delivery"], true);
    let status = sb.status();
    assert_eq!(
        (&status["confirmed"], &status["suspect"]),
        (&0.into(), &1.into())
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn every_bad_link_gets_the_same_404() {
    let (sb, mails, signer) = sent().await;
    let server = serve(&sb, LATER);
    let http = client();
    let m = &mails[0];
    let claims = signer
        .decode(&m.confirm, parse_instant(LATER).unwrap())
        .unwrap();
    let sign = |c: TokenClaims| signer.sign(&c).unwrap();
    let expired = sign(TokenClaims {
        expires: parse_instant("2026-01-01").unwrap(),
        ..claims.clone()
    });
    let unknown_contact = sign(TokenClaims {
        public_id: "0123456789abcdef0123456789abcdef".into(),
        ..claims.clone()
    });
    let unknown_campaign = sign(TokenClaims {
        campaign: "another".into(),
        ..claims.clone()
    });
    let forged = LinkSigner::new([7; 32]).sign(&claims).unwrap();
    let mut tampered = m.confirm.clone().into_bytes();
    let i = tampered.len() / 2;
    tampered[i] = if tampered[i] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(tampered).unwrap();
    let r = |t: &str| format!("{}/r/{t}", server.base);
    let cases = [
        r(&expired),
        r(&unknown_contact),
        r(&unknown_campaign),
        r(&forged),
        r(&tampered),
        r("not-a-token"),
        r(&"A".repeat(2000)),
        r(&m.unsubscribe),
        format!("{}/r/{}/confirm", server.base, m.leave),
        format!("{}/r/{}/confirm", server.base, expired),
        format!("{}/r/{}/leave", server.base, forged),
        format!("{}/u/{}", server.base, m.confirm),
        format!("{}/nothing-here", server.base),
    ];
    let mut bodies = std::collections::BTreeSet::new();
    for (i, url) in cases.iter().enumerate() {
        let post = url.contains("/confirm") || url.contains("/leave") || url.contains("/u/");
        let res = if post {
            http.post(url).send().await.unwrap()
        } else {
            http.get(url).send().await.unwrap()
        };
        assert_eq!(res.status(), 404, "case {i}: {url}");
        bodies.insert(res.text().await.unwrap());
    }
    assert_eq!(bodies.len(), 1, "one body for every failure");
    let status = sb.status();
    assert_eq!(
        (&status["viewed"], &status["confirmed"]),
        (&0.into(), &0.into())
    );
}

fn wait_for_count(maildir: &std::path::Path, n: usize) -> Vec<serde_json::Value> {
    let start = std::time::Instant::now();
    loop {
        let got = if maildir.join("new").is_dir() {
            read_messages(maildir)
        } else {
            Vec::new()
        };
        if got.len() >= n || start.elapsed() > Duration::from_secs(40) {
            // A moment more, so a message too many would show.
            std::thread::sleep(Duration::from_millis(500));
            return read_messages(maildir);
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn recipients(messages: &[serde_json::Value]) -> std::collections::BTreeSet<String> {
    messages
        .iter()
        .map(|m| m["to"].as_str().unwrap().to_lowercase())
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn reminder_waves_reach_exactly_the_silent_contacts() {
    let (sb, mails, _) = sent().await;
    {
        let server = serve(&sb, LATER);
        let http = client();
        let url = |p: &str| format!("{}{p}", server.base);
        for (path, status) in [
            (format!("/r/{}/confirm", mails[0].confirm), 200),
            (format!("/r/{}/leave", mails[1].leave), 200),
            (format!("/u/{}", mails[2].unsubscribe), 200),
        ] {
            let res = http.post(url(&path)).send().await.unwrap();
            assert_eq!(res.status(), status, "{path}");
        }
        // The confirmer's thank-you goes out now, not with the reminders below.
        assert_eq!(thank_you_mails(&sb, &mails[0].to).await, 1);
    }
    let silent: std::collections::BTreeSet<String> =
        mails.iter().skip(3).map(|m| m.to.clone()).collect();

    // Eight days on, the reminder is due: `serve` alone queues and sends it.
    let reminders = sb.path("reminders");
    let smtp = aiosmtpd_maildir(&reminders);
    {
        let server = serve_with(&sb, "2026-11-30T00:00:00Z", &smtp.url());
        let got = wait_for_count(&reminders, silent.len());
        assert_eq!(got.len(), silent.len(), "one reminder per silent contact");
        assert_eq!(recipients(&got), silent);
        assert!(server.stop().success(), "a clean stop on SIGTERM");
    }
    let status = sb.status();
    assert_eq!(status["waves"][1]["wave"], "reminder");
    assert_eq!(status["waves"][1]["sent"], silent.len());
    assert_eq!(
        status["waves"][2]["targeted"], 0,
        "the last call is not due yet"
    );
    assert_eq!(status["confirmed"], 1);
    assert_eq!(status["left"], 2);
    assert_eq!(status["targeted"], mails.len());

    // On day fifteen, `send` alone queues the last call, again only to the silent.
    let last = sb.path("last-call");
    let smtp2 = aiosmtpd_maildir(&last);
    let out = sb
        .cmd()
        .env("RECONSENT_NOW", "2026-12-07T00:00:00Z")
        .env("RECONSENT__TRANSPORT", smtp2.url())
        .args(["send", "--until-idle"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(recipients(&read_messages(&last)), silent);
    assert_eq!(sb.status()["waves"][2]["sent"], silent.len());
    smtp.stop();
    smtp2.stop();
    // Three waves, a thank-you, a confirmation, a leave and an unsubscribe later, the
    // counters behind the dashboard still agree with a count of the rows.
    let kept = counters_agree(&sb, "spring-reconsent").await;
    let sent = |wave: i64| kept.deliveries[&(wave, reconsent::domain::DeliveryState::Sent)];
    assert_eq!(
        (sent(1), sent(2)),
        (silent.len() as i64, silent.len() as i64)
    );
    assert_eq!(sent(-1), 1, "one thank-you");
    assert_eq!(kept.answers[&("confirmed".to_string(), false)], 1);
    assert_eq!(kept.answers[&("left".to_string(), false)], 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn pool_codes_are_drawn_once_per_contact_and_an_empty_pool_loses_no_confirmation() {
    let (sb, mails) = pool_campaign("# two codes only\nPOOL-1\nPOOL-2\n").await;
    let server = serve(&sb, LATER);
    let http = client();
    let mut pages = Vec::new();
    for m in mails.iter().take(3) {
        let res = http
            .post(format!("{}/r/{}/confirm", server.base, m.confirm))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        pages.push(res.text().await.unwrap());
    }
    let codes: Vec<_> = pages.iter().map(|p| code_on(p)).collect();
    assert_eq!(
        codes,
        [Some("POOL-1".to_string()), Some("POOL-2".to_string()), None]
    );
    let again = text(http.post(format!("{}/r/{}/confirm", server.base, mails[1].confirm))).await;
    assert_eq!(code_on(&again).as_deref(), Some("POOL-2"), "drawn once");
    assert_eq!(sb.status()["confirmed"], 3, "the third confirmation stands");
}

/// A person's browser: headless Chromium opens the confirm link of a sent e-mail,
/// clicks the button, and sees the thank-you page with the bonus. The screenshot is
/// kept in target/test-artifacts/.
#[tokio::test(flavor = "multi_thread")]
async fn chromium_opens_the_link_clicks_confirm_and_sees_the_bonus() {
    let (sb, mails, _) = sent().await;
    let server = serve(&sb, LATER);
    let m = mails
        .iter()
        .find(|m| m.to.ends_with(".pl"))
        .unwrap_or(&mails[0]);
    let seen = chromium_confirm(&server, m, "chromium-thank-you.png", false);
    check_thank_you(&sb, m, &seen);
    // The same with the keyboard only, for another contact.
    let k = mails.iter().find(|x| x.to != m.to).unwrap();
    let seen = chromium_confirm(&server, k, "chromium-keyboard-thank-you.png", true);
    assert_eq!(
        seen["focused"].as_str().map(str::is_empty),
        Some(false),
        "{seen}"
    );
    check_thank_you(&sb, k, &seen);
}

fn chromium_confirm(server: &Serve, m: &Mail, png: &str, keyboard: bool) -> serde_json::Value {
    let url = format!("{}/r/{}", server.base, m.confirm);
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let png = std::env::var_os("CARGO_TARGET_DIR")
        .map_or_else(|| root.join("target"), std::path::PathBuf::from)
        .join("test-artifacts")
        .join(png);
    let _ = std::fs::remove_file(&png);
    let mut cmd = Command::new("python3");
    cmd.arg(root.join("tests/support/chromium_confirm.py"))
        .arg(&url)
        .arg(&png);
    if keyboard {
        cmd.arg("--keyboard");
    }
    let out = cmd.output().expect("python3");
    assert!(
        out.status.success(),
        "chromium_confirm.py: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let png_bytes = std::fs::read(&png).expect("a screenshot");
    assert!(png_bytes.starts_with(b"\x89PNG"), "a PNG screenshot");
    serde_json::from_str(String::from_utf8_lossy(&out.stdout).trim()).unwrap()
}

fn check_thank_you(sb: &Sandbox, m: &Mail, seen: &serde_json::Value) {
    assert_eq!(seen["buttons"], 2, "{seen}");
    assert_eq!(seen["code"], "WELCOMEBACK10", "{seen}");
    assert!(
        seen["url"].as_str().unwrap().ends_with("/confirm"),
        "{seen}"
    );
    let confirmed = entries(sb, &m.to)
        .into_iter()
        .find(|e| e["event"] == "confirmed")
        .expect("the click was recorded");
    assert_eq!(confirmed["suspect"], false);
    assert_eq!(sb.json(&["explain", &m.to])["class"], "valid");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_whole_campaign_ends_with_the_silent_the_leavers_and_the_bounced_purged() {
    let sb = sent_with_a_bounce();
    let (mails, _) = received(&sb, &sb.path("maildir")).await;
    assert_eq!(mails.len(), 166);

    // Some confirm, some leave, the rest stay silent.
    let server = serve(&sb, LATER);
    let http = client();
    let others: Vec<&Mail> = mails
        .iter()
        .filter(|m| m.to != "jan.kowalski@example.pl")
        .collect();
    let (confirmers, leavers) = (&others[..5], &others[5..8]);
    for m in confirmers {
        let r = http
            .post(format!("{}/r/{}/confirm", server.base, m.confirm))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
    }
    for m in leavers {
        let r = http
            .post(format!("{}/r/{}/leave", server.base, m.leave))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
    }
    drop(server);

    let after_grace = "2027-01-01T00:00:00Z";
    let preview = sb.json(&["purge", "--dry-run", "--now", after_grace]);
    let held: std::collections::BTreeSet<String> = preview["held"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_lowercase())
        .collect();
    let confirmed: std::collections::BTreeSet<&str> =
        confirmers.iter().map(|m| m.to.as_str()).collect();
    // Exactly: every recipient who did not confirm, and the bounced address, less legal holds.
    let mut expected: std::collections::BTreeSet<String> = mails
        .iter()
        .map(|m| m.to.clone())
        .filter(|to| !confirmed.contains(to.as_str()))
        .chain(["bounce.one@example.cz".to_string()])
        .filter(|to| !held.contains(to))
        .collect();
    let would: std::collections::BTreeSet<String> = preview["would_purge"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_lowercase())
        .collect();
    // Addresses with an internationalised domain arrive in their ASCII form; compare by key.
    let key = |e: &str| {
        reconsent::domain::EmailAddress::parse(e)
            .unwrap()
            .key()
            .to_string()
    };
    expected = expected.iter().map(|e| key(e)).collect();
    let would_keys: std::collections::BTreeSet<String> = would.iter().map(|e| key(e)).collect();
    assert_eq!(would_keys, expected);
    for m in leavers {
        assert!(would_keys.contains(&key(&m.to)), "leavers go");
    }

    let report = sb.json(&["purge", "--now", after_grace]);
    assert_eq!(report["purged"].as_u64().unwrap() as usize, expected.len());
    for to in &confirmed {
        let v = sb.json(&["explain", to, "--now", after_grace]);
        assert_eq!(v["class"], "valid", "{to} confirmed and remains");
    }
    for to in &held {
        assert_eq!(sb.run(&["explain", to]).code, 0, "{to} is held and remains");
    }
    for to in would.iter().take(60) {
        assert!(!in_database(&sb, to), "{to} is still in the database files");
    }
    assert!(!in_database(&sb, "Jan Kowalski"));
    let again = format!("{HEADER}\n  Jan.Kowalski@EXAMPLE.pl ,Jan,pl,PL,,,,,,,,,,,,\n");
    let file = sb.write("again.csv", again);
    let v = sb.json(&["import", file.to_str().unwrap(), "--now", "2027-01-02"]);
    assert_eq!(
        (v["refused_tombstoned"].clone(), v["inserted"].clone()),
        (1.into(), 0.into())
    );
    let status = sb.json(&[
        "campaign",
        "status",
        "spring-reconsent",
        "--now",
        after_grace,
    ]);
    assert_eq!(status["confirmed"], 5);
    assert_eq!(status["left"], 3);
    assert_eq!(status["bounced"], 1);
    assert_eq!(status["purged"].as_u64(), report["purged"].as_u64());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_contact_queued_for_deletion_who_confirms_in_the_grace_period_is_kept() {
    let (sb, mails, _) = sent().await;
    // The deadline (30 days) has passed: the silent are queued, due after 7 days' grace.
    let after_deadline = "2026-12-23T00:00:00Z";
    let queued = sb.json(&["purge", "--now", after_deadline]);
    assert_eq!(
        queued["purged"], 0,
        "nothing is due during the grace period"
    );
    assert!(queued["newly_queued"].as_u64().unwrap() >= 165);
    let late = &mails[0];
    let server = serve(&sb, after_deadline);
    let r = client()
        .post(format!("{}/r/{}/confirm", server.base, late.confirm))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    drop(server);
    let purged = sb.json(&["purge", "--now", "2027-01-01T00:00:00Z"]);
    assert!(purged["purged"].as_u64().unwrap() > 100);
    let v = sb.json(&["explain", &late.to, "--now", "2027-01-01T00:00:00Z"]);
    assert_eq!(v["class"], "valid", "a confirmed contact is never erased");
}

/// A number from the database about the contact `email`, read beside the running server.
/// `sql` names the contact's key as `{key}`.
async fn count_for(sb: &Sandbox, sql: &'static str, email: &str) -> i64 {
    let key = reconsent::domain::EmailAddress::parse(email)
        .unwrap()
        .key()
        .to_string();
    assert!(!key.contains('\''), "{key}");
    sb.scalar(&sql.replace("{key}", &format!("'{key}'")))
}

/// Thank-you deliveries queued for the contact (wave -1), whatever became of them.
async fn thank_yous(sb: &Sandbox, email: &str) -> i64 {
    count_for(
        sb,
        "SELECT count(*) FROM deliveries WHERE wave = -1 AND contact_id = \
         (SELECT id FROM contacts WHERE email_key = {key})",
        email,
    )
    .await
}

/// Waits until the contact's thank-you has its final fate (sent, or cancelled by a
/// leave), then counts the thank-you mails to that address in the `file://` outbox of
/// [`serve`] (the requests went to a Maildir, so the outbox holds only thank-yous).
async fn thank_you_mails(sb: &Sandbox, email: &str) -> usize {
    let start = std::time::Instant::now();
    while count_for(
        sb,
        "SELECT count(*) FROM deliveries WHERE wave = -1 \
         AND state IN ('queued', 'claimed', 'sending', 'retry') \
         AND contact_id = (SELECT id FROM contacts WHERE email_key = {key})",
        email,
    )
    .await
        > 0
    {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "the thank-you to {email} was never sent; the server said:\n{}",
            std::fs::read_to_string(sb.path("serve.log")).unwrap_or_default()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let Ok(files) = std::fs::read_dir(sb.path("outbox")) else {
        return 0;
    };
    files
        .flatten()
        .filter(|f| f.path().extension().is_some_and(|e| e == "eml"))
        .filter(|f| {
            let text = std::fs::read_to_string(f.path()).unwrap_or_default();
            text.lines().any(|l| {
                l.to_ascii_lowercase().starts_with("to:") && l.to_lowercase().contains(email)
            })
        })
        .count()
}

/// POSTs to every URL at the same time; each must answer 200.
async fn post_all_at_once(urls: impl IntoIterator<Item = String>) {
    let http = client();
    let mut clicks = tokio::task::JoinSet::new();
    for url in urls {
        let http = http.clone();
        clicks.spawn(async move { http.post(url).send().await.map(|r| r.status()) });
    }
    while let Some(done) = clicks.join_next().await {
        assert_eq!(done.unwrap().unwrap(), 200);
    }
}

fn answers(sb: &Sandbox, email: &str) -> Vec<String> {
    entries(sb, email)
        .iter()
        .map(|e| e["event"].as_str().unwrap().to_string())
        .filter(|e| e == "confirmed" || e == "left")
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn racing_confirms_and_leaves_on_one_contact_end_in_one_state_with_one_thank_you() {
    let (sb, mails, _) = sent().await;
    let server = serve(&sb, LATER);
    let m = &mails[0];
    let urls = (0..600).map(|i| {
        if i % 2 == 0 {
            format!("{}/r/{}/confirm", server.base, m.confirm)
        } else {
            format!("{}/r/{}/leave", server.base, m.leave)
        }
    });
    post_all_at_once(urls).await;
    assert_eq!(
        thank_yous(&sb, &m.to).await,
        1,
        "one thank-you, however many clicks"
    );
    assert!(
        thank_you_mails(&sb, &m.to).await <= 1,
        "at most one thank-you mail, however many clicks"
    );
    // Every entry is a real change: confirmed and left alternate, the last one stands.
    let seen = answers(&sb, &m.to);
    assert!(!seen.is_empty());
    assert!(
        seen.windows(2).all(|w| w[0] != w[1]),
        "a ledger entry without a change: {seen:?}"
    );
    let last_left = seen.last().is_some_and(|e| e == "left");
    let class = sb.json(&["explain", &m.to])["class"].clone();
    assert_eq!(class, if last_left { "withdrawn" } else { "valid" });
    let suppressed = count_for(
        &sb,
        "SELECT count(*) FROM suppressions WHERE contact_id = \
         (SELECT id FROM contacts WHERE email_key = {key})",
        &m.to,
    )
    .await;
    let queued = count_for(
        &sb,
        "SELECT count(*) FROM deletion_queue WHERE contact_id = \
         (SELECT id FROM contacts WHERE email_key = {key})",
        &m.to,
    )
    .await;
    assert_eq!(
        (suppressed, queued),
        (i64::from(last_left), i64::from(last_left))
    );
}

/// Answers that arrive together are written together (several to a transaction): each
/// must still come out as if it had been alone, and none at the cost of another.
#[tokio::test(flavor = "multi_thread")]
async fn a_burst_of_answers_from_many_contacts_is_written_for_each_as_if_alone() {
    let (sb, mails, _) = sent().await;
    assert!(mails.len() >= 20, "{} messages", mails.len());
    let server = serve(&sb, LATER);
    // Every third contact leaves; the others confirm, some twice at once.
    let mut urls = Vec::new();
    for (i, m) in mails.iter().enumerate() {
        let leaves = i % 3 == 0;
        let times = if !leaves && i % 3 == 1 { 2 } else { 1 };
        for _ in 0..times {
            urls.push(if leaves {
                format!("{}/r/{}/leave", server.base, m.leave)
            } else {
                format!("{}/r/{}/confirm", server.base, m.confirm)
            });
        }
    }
    post_all_at_once(urls).await;
    for (i, m) in mails.iter().enumerate() {
        let leaves = i % 3 == 0;
        let expected: Vec<&str> = vec![if leaves { "left" } else { "confirmed" }];
        assert_eq!(answers(&sb, &m.to), expected, "{}", m.to);
        let class = sb.json(&["explain", &m.to])["class"].clone();
        assert_eq!(
            class,
            if leaves { "withdrawn" } else { "valid" },
            "{}",
            m.to
        );
        assert_eq!(
            thank_yous(&sb, &m.to).await,
            i64::from(!leaves),
            "thank-you deliveries of {}",
            m.to
        );
        let queued = count_for(
            &sb,
            "SELECT count(*) FROM deletion_queue WHERE contact_id = \
             (SELECT id FROM contacts WHERE email_key = {key})",
            &m.to,
        )
        .await;
        assert_eq!(queued, i64::from(leaves), "deletion queue of {}", m.to);
    }
    let verify = sb.run(&["evidence", "verify"]);
    assert_eq!(verify.code, 0, "{}\n{}", verify.stdout, verify.stderr);
}

#[tokio::test(flavor = "multi_thread")]
async fn confirming_again_after_leaving_brings_the_consent_back_without_a_second_bonus() {
    let (sb, mails) = pool_campaign("POOL-1\nPOOL-2\nPOOL-3\n").await;
    let server = serve(&sb, LATER);
    let http = client();
    let m = &mails[0];
    let confirm = format!("{}/r/{}/confirm", server.base, m.confirm);
    let first = text(http.post(&confirm)).await;
    assert_eq!(code_on(&first).as_deref(), Some("POOL-1"));
    let bye = http
        .post(format!("{}/r/{}/leave", server.base, m.leave))
        .send()
        .await
        .unwrap();
    assert_eq!(bye.status(), 200);
    assert_eq!(sb.json(&["explain", &m.to])["class"], "withdrawn");
    // The old link from the same e-mail, pressed again.
    let back = text(http.post(&confirm)).await;
    assert_eq!(code_on(&back).as_deref(), Some("POOL-1"), "the same code");
    assert_eq!(answers(&sb, &m.to), ["confirmed", "left", "confirmed"]);
    assert_eq!(sb.json(&["explain", &m.to])["class"], "valid");
    assert_eq!(thank_yous(&sb, &m.to).await, 1, "no second thank-you");
    assert!(
        thank_you_mails(&sb, &m.to).await <= 1,
        "no second thank-you"
    );
    let codes = count_for(
        &sb,
        "SELECT count(*) FROM bonus_codes WHERE contact_id = \
         (SELECT id FROM contacts WHERE email_key = {key})",
        &m.to,
    )
    .await;
    assert_eq!(codes, 1, "no second bonus");
}

/// The example campaign with a code pool, launched and sent to aiosmtpd.
async fn pool_campaign(codes: &str) -> (Sandbox, Vec<Mail>) {
    let sb = Sandbox::with_campaign("500/s");
    let toml = std::fs::read_to_string(sb.path(CAMPAIGN)).unwrap();
    let toml = toml.replace(
        "code = \"WELCOMEBACK10\"",
        "code_pool = \"campaigns/codes.txt\"",
    );
    sb.write(CAMPAIGN, toml);
    sb.write("campaigns/codes.txt", codes);
    let maildir = sb.path("maildir");
    let smtp = aiosmtpd_maildir(&maildir);
    sb.ok(&["campaign", "launch", CAMPAIGN]);
    assert_eq!(sb.run_with(&smtp.url(), &["send", "--until-idle"]).code, 0);
    smtp.stop();
    let (mails, _) = received(&sb, &maildir).await;
    (sb, mails)
}

/// The bonus code a thank-you page shows.
fn code_on(page: &str) -> Option<String> {
    page.split("id=\"bonus-code\">")
        .nth(1)
        .map(|r| r.split('<').next().unwrap().to_string())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_scanner_loading_a_link_200_times_leaves_one_view_in_the_ledger() {
    let (sb, mails, _) = sent().await;
    let server = serve(&sb, LATER);
    let http = client();
    let m = &mails[0];
    for _ in 0..200 {
        let res = http
            .get(format!("{}/r/{}", server.base, m.confirm))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
    }
    let viewed = entries(&sb, &m.to)
        .into_iter()
        .filter(|e| e["event"] == "viewed")
        .count();
    assert_eq!(viewed, 1);
    let counted = count_for(
        &sb,
        "SELECT views FROM deliveries WHERE wave = 0 AND contact_id = \
         (SELECT id FROM contacts WHERE email_key = {key})",
        &m.to,
    )
    .await;
    assert_eq!(counted, 200, "every view is counted");
}

/// Reads until the server closes the connection; the time it took.
fn closed_after(mut conn: std::net::TcpStream) -> Duration {
    use std::io::Read;
    let start = std::time::Instant::now();
    conn.set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    let mut buf = [0u8; 1024];
    loop {
        match conn.read(&mut buf) {
            Ok(0) => return start.elapsed(),
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return start.elapsed(),
            Err(e) => panic!("the server kept the connection open: {e}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn silent_and_slow_connections_are_closed_by_the_server() {
    use std::io::Write;
    let sb = Sandbox::with_campaign("500/s");
    let server = serve(&sb, LATER);
    let addr = server.base.trim_start_matches("http://").to_string();
    let silent = std::net::TcpStream::connect(&addr).unwrap();
    let mut slow = std::net::TcpStream::connect(&addr).unwrap();
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        .unwrap();
    let (a, b) = (
        std::thread::spawn(move || closed_after(silent)),
        std::thread::spawn(move || closed_after(slow)),
    );
    assert!(a.join().unwrap() < Duration::from_secs(30));
    assert!(b.join().unwrap() < Duration::from_secs(30));
    // An idle keep-alive connection after an answer is closed too.
    let mut idle = std::net::TcpStream::connect(&addr).unwrap();
    idle.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    assert!(closed_after(idle) < Duration::from_secs(30));
    // And the server still answers.
    let ok = client()
        .get(format!("{}/healthz", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_burst_from_one_address_gets_429_with_retry_after_and_changes_nothing() {
    let (sb, mails, _) = sent().await;
    let outbox = format!("file://{}", sb.path("outbox").display());
    let limits = [
        ("RECONSENT__WEB__RATE_PER_IP", "1/min"),
        ("RECONSENT__WEB__BURST", "3"),
    ];
    let server = serve_env(&sb, LATER, &outbox, &limits);
    let http = client();
    let m = &mails[0];
    for _ in 0..3 {
        let page = http
            .get(format!("{}/r/{}", server.base, m.confirm))
            .send()
            .await
            .unwrap();
        assert_eq!(page.status(), 200);
    }
    let before = entries(&sb, &m.to);
    for req in [
        http.get(format!("{}/r/{}", server.base, m.confirm)),
        http.post(format!("{}/r/{}/confirm", server.base, m.confirm)),
        http.post(format!("{}/u/{}", server.base, m.unsubscribe)),
    ] {
        let res = req.send().await.unwrap();
        assert_eq!(res.status(), 429);
        let wait: u64 = res.headers()["retry-after"]
            .to_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!((1..=60).contains(&wait), "Retry-After: {wait}");
    }
    assert_eq!(entries(&sb, &m.to), before, "nothing changed");
    assert_ne!(sb.json(&["explain", &m.to])["class"], "valid");
    let health = http
        .get(format!("{}/healthz", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200, "only the link routes are limited");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_ledger_records_the_address_a_trusted_proxy_forwards_and_no_other() {
    let (sb, mails, _) = sent().await;
    let outbox = format!("file://{}", sb.path("outbox").display());
    let confirm = |server: &Serve, m: &Mail| {
        client()
            .post(format!("{}/r/{}/confirm", server.base, m.confirm))
            .header("x-forwarded-for", "203.0.113.7")
    };
    let ip_of = |m: &Mail| {
        entries(&sb, &m.to)
            .into_iter()
            .find(|e| e["event"] == "confirmed")
            .unwrap()["ip"]
            .clone()
    };
    {
        let proxy = [("RECONSENT__WEB__TRUSTED_PROXIES", "127.0.0.0/8")];
        let behind = serve_env(&sb, LATER, &outbox, &proxy);
        assert_eq!(
            confirm(&behind, &mails[0]).send().await.unwrap().status(),
            200
        );
    }
    assert_eq!(ip_of(&mails[0]), "203.0.113.7");
    let direct = serve(&sb, LATER);
    assert_eq!(
        confirm(&direct, &mails[1]).send().await.unwrap().status(),
        200
    );
    assert_eq!(ip_of(&mails[1]), "127.0.0.1", "a header anyone can send");
}

/// DESIGN §7 case 11: the page said "thank you", then the server died at once. The
/// confirmation is in the ledger, and the thank-you mail goes out once after a restart.
#[tokio::test(flavor = "multi_thread")]
async fn a_server_killed_right_after_a_confirmation_still_sends_the_thank_you_once() {
    let (sb, mails, _) = sent().await;
    let m = &mails[0];
    {
        let server = serve(&sb, LATER);
        let res = client()
            .post(format!("{}/r/{}/confirm", server.base, m.confirm))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        // Dropping the server kills it with SIGKILL: nothing is finished on the way out.
    }
    assert_eq!(answers(&sb, &m.to), ["confirmed"]);
    let server = serve(&sb, LATER);
    assert_eq!(thank_you_mails(&sb, &m.to).await, 1);
    assert!(server.stop().success());
    assert_eq!(thank_you_mails(&sb, &m.to).await, 1, "and only once");
    let thanked = entries(&sb, &m.to)
        .iter()
        .filter(|e| e["event"] == "thanked")
        .count();
    assert_eq!(thanked, 1, "the ledger records the thank-you sent");
}
