//! The contact and purge pages of `/admin`, driven over HTTP against `reconsent serve`:
//! they show what `explain`, `evidence` and `purge --dry-run` say, and erase only what
//! `forget` and `purge` would, after the question and with the CSRF token.

mod common;
use common::admin::*;
use common::*;
use std::time::Duration;

const CONTACT: &str = "veronika_horvathova@example.sk";
const HELD: &str = "grzegorz.kaminski@example.pl";
/// The example campaign launched at `NOW` falls due for purging 30 + 7 days later.
const DUE: &str = "2026-12-29T00:00:00Z";

fn outbox(sb: &Sandbox) -> String {
    format!("file://{}", sb.path("outbox").display())
}

/// The example campaign launched and its first wave sent.
fn sent() -> Sandbox {
    let sb = Sandbox::with_campaign("1000/s");
    sb.ok(&["campaign", "launch", "campaigns/example.toml"]);
    let out = sb.run_with(&outbox(&sb), &["send", "--until-idle"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    sb
}

async fn fetch(server: &Serve, cookie: &str, path: &str) -> reqwest::Response {
    client()
        .get(format!("{}{path}", server.base))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap()
}

async fn get(server: &Serve, cookie: &str, path: &str) -> (u16, String) {
    let res = fetch(server, cookie, path).await;
    (res.status().as_u16(), res.text().await.unwrap())
}

async fn post(server: &Serve, cookie: &str, path: &str, form: &[(&str, &str)]) -> (u16, String) {
    let res = client()
        .post(format!("{}{path}", server.base))
        .header("cookie", cookie)
        .form(form)
        .send()
        .await
        .unwrap();
    (res.status().as_u16(), res.text().await.unwrap())
}

/// Text as it stands in the HTML.
fn escaped(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The items of the list with this id.
fn list_items(page: &str, id: &str) -> Vec<String> {
    let Some(at) = page.find(&format!("id=\"{id}\"")) else {
        return Vec::new();
    };
    let list = &page[at..];
    let list = &list[..list.find("</ul>").unwrap()];
    list.split("<li>")
        .skip(1)
        .map(|i| i.trim_end_matches("</li>").to_string())
        .collect()
}

fn strings(v: &serde_json::Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_contact_and_purge_pages_need_a_session() {
    let sb = Sandbox::with_campaign("1000/s");
    let server = serve(&sb, &[]);
    let q = format!("?email={CONTACT}");
    for path in [
        format!("/admin/contact{q}"),
        format!("/admin/contact/evidence.json{q}"),
        format!("/admin/contact/evidence.csv{q}"),
        format!("/admin/contact/forget{q}"),
        "/admin/purge".to_string(),
        "/admin/purge/now".to_string(),
    ] {
        let res = fetch(&server, "", &path).await;
        assert_eq!(res.status(), 303, "{path}");
        assert_eq!(res.headers()["location"], "/admin/login", "{path}");
    }
    for path in ["/admin/contact/forget", "/admin/purge/now"] {
        let form = [("csrf", "x"), ("email", CONTACT)];
        let (status, _) = post(&server, "reconsent_admin=forged", path, &form).await;
        assert_eq!(status, 303, "POST {path}");
    }
    sb.ok(&["explain", CONTACT]);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_contact_shows_what_explain_and_evidence_say_and_downloads_its_evidence() {
    let sb = sent();
    let server = serve(&sb, &[]);
    let cookie = sign_in(&server).await;
    let (status, overview) = get(&server, &cookie, "/admin").await;
    assert_eq!(status, 200);
    assert!(overview.contains("href=\"/admin/contact\""), "{overview}");
    assert!(overview.contains("href=\"/admin/purge\""), "{overview}");

    let explain = sb.json(&["explain", CONTACT]);
    let evidence = sb.json(&["evidence", CONTACT]);
    let q = format!("?email={CONTACT}");
    let (status, page) = get(&server, &cookie, &format!("/admin/contact{q}")).await;
    assert_eq!(status, 200, "{page}");
    let class = explain["class"].as_str().unwrap();
    assert!(page.contains(&format!("data-class=\"{class}\"")), "{page}");
    let reasons = strings(&explain["reasons"]);
    assert!(!reasons.is_empty());
    for r in &reasons {
        assert!(page.contains(&escaped(r)), "reason {r:?} in {page}");
    }
    let entries = evidence["entries"].as_array().unwrap();
    assert!(entries.len() >= 2, "imported and sent: {evidence}");
    assert!(
        page.contains(&format!(" ({})</h2>", entries.len())),
        "{page}"
    );
    for e in entries {
        assert!(
            page.contains(&format!(
                "<td class=\"event\">{}</td>",
                e["event"].as_str().unwrap()
            )),
            "{e} in {page}"
        );
    }

    let res = fetch(
        &server,
        &cookie,
        &format!("/admin/contact/evidence.json{q}"),
    )
    .await;
    assert_eq!(res.status(), 200);
    let disposition = res.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(disposition.starts_with("attachment;"), "{disposition}");
    let downloaded: serde_json::Value = res.json().await.unwrap();
    assert_eq!(downloaded, evidence, "the document of evidence --json");

    let res = fetch(&server, &cookie, &format!("/admin/contact/evidence.csv{q}")).await;
    assert_eq!(res.status(), 200);
    let disposition = res.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(disposition.starts_with("attachment;"), "{disposition}");
    let body = res.bytes().await.unwrap();
    let mut csv = csv::Reader::from_reader(&body[..]);
    let header = csv.headers().unwrap().clone();
    assert_eq!(&header[0], "at");
    assert_eq!(&header[1], "event");
    let rows: Vec<csv::StringRecord> = csv.records().map(|r| r.unwrap()).collect();
    assert_eq!(rows.len(), entries.len(), "one row per ledger entry");
    for (row, e) in rows.iter().zip(entries) {
        assert_eq!(&row[1], e["event"].as_str().unwrap());
        assert_eq!(&row[2], e["campaign"].as_str().unwrap_or(""));
        let detail = &row[header.iter().position(|h| h == "detail").unwrap()];
        if !e["detail"].is_null() {
            let parsed: serde_json::Value = serde_json::from_str(detail).unwrap();
            assert_eq!(parsed, e["detail"]);
        }
    }

    let (status, page) = get(&server, &cookie, "/admin/contact?email=nobody@example.com").await;
    assert_eq!(status, 200);
    assert!(page.contains("No contact with this address."), "{page}");
    let (status, _) = get(
        &server,
        &cookie,
        "/admin/contact/evidence.json?email=nobody@example.com",
    )
    .await;
    assert_eq!(status, 404);
    let hostile = "/admin/contact?email=%3Cscript%3Ealert(1)%3C%2Fscript%3E%40x.cz";
    let (_, page) = get(&server, &cookie, hostile).await;
    assert!(!page.contains("<script>alert"), "{page}");
    assert!(page.contains("&lt;script&gt;alert(1)"), "{page}");
}

#[tokio::test(flavor = "multi_thread")]
async fn forget_needs_the_csrf_token_then_erases_and_refuses_a_legal_hold() {
    let sb = sent();
    let server = serve(&sb, &[]);
    let cookie = sign_in(&server).await;
    let q = format!("?email={CONTACT}");
    let (status, ask) = get(&server, &cookie, &format!("/admin/contact/forget{q}")).await;
    assert_eq!(status, 200, "{ask}");
    let token = csrf(&ask);

    for form in [
        vec![("email", CONTACT)],
        vec![("email", CONTACT), ("csrf", "forged")],
    ] {
        let (status, _) = post(&server, &cookie, "/admin/contact/forget", &form).await;
        assert_eq!(status, 403);
        sb.ok(&["explain", CONTACT]);
    }
    let form = [("email", CONTACT), ("csrf", token.as_str())];
    let (status, _) = post(&server, &cookie, "/admin/contact/forget", &form).await;
    assert_eq!(status, 303);
    let explain = sb.run(&["explain", CONTACT]);
    assert_eq!(explain.code, 1);
    assert!(
        explain
            .stderr
            .contains("was erased on 2026-11-22 (erasure_request)"),
        "{}",
        explain.stderr
    );
    assert!(!in_database(&sb, CONTACT));
    let (_, page) = get(&server, &cookie, &format!("/admin/contact{q}")).await;
    assert!(
        page.contains("Erased on 2026-11-22 (erasure_request)"),
        "{page}"
    );

    let form = [("email", HELD), ("csrf", token.as_str())];
    let (status, page) = post(&server, &cookie, "/admin/contact/forget", &form).await;
    assert_eq!(status, 409);
    let refused = sb.run(&["forget", HELD]);
    assert_eq!(refused.code, 1);
    let reason = refused.stderr.trim().trim_start_matches("error: ");
    assert!(reason.contains("legal hold"), "{reason}");
    assert!(page.contains(&escaped(reason)), "{reason:?} in {page}");
    sb.ok(&["explain", HELD]);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_purge_page_lists_what_purge_dry_run_lists_and_purge_now_erases_them() {
    let sb = sent();
    // Two seconds before the silent fall due: serve's own purge at start finds nothing.
    let server = serve(&sb, &[("RECONSENT_NOW", "2026-12-28T23:59:58Z")]);
    let cookie = sign_in(&server).await;
    let start = std::time::Instant::now();
    let page = loop {
        let (status, page) = get(&server, &cookie, "/admin/purge").await;
        assert_eq!(status, 200, "{page}");
        if !list_items(&page, "would-list").is_empty() {
            break page;
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "nothing became due: {page}"
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    let preview = sb.json(&["purge", "--dry-run", "--now", DUE]);
    let would = strings(&preview["would_purge"]);
    let held = strings(&preview["held"]);
    assert!(would.len() > 100, "{preview}");
    assert!(!held.is_empty(), "{preview}");
    let listed = list_items(&page, "would-list");
    let first: Vec<String> = would.iter().take(100).map(|e| escaped(e)).collect();
    assert_eq!(listed, first);
    assert!(
        page.contains(&format!("data-count=\"{}\"", would.len())),
        "{page}"
    );
    assert!(
        page.contains(&format!("and {} more", would.len() - 100)),
        "{page}"
    );
    let shown_held: Vec<String> = list_items(&page, "held").into_iter().collect();
    let held_escaped: Vec<String> = held.iter().map(|e| escaped(e)).collect();
    assert_eq!(shown_held, held_escaped);

    let (_, german) = get(&server, &cookie, "/admin/purge?lang=de").await;
    assert!(german.contains("Jetzt löschen"), "{german}");
    let (_, polish) = get(
        &server,
        &cookie,
        &format!("/admin/contact?lang=pl&email={}", would[0]),
    )
    .await;
    assert!(polish.contains("Rejestr zgód"), "{polish}");
    let (status, _) = post(&server, &cookie, "/admin/purge/now", &[("csrf", "forged")]).await;
    assert_eq!(status, 403);
    sb.ok(&["explain", &would[0]]);
    let (status, ask) = get(&server, &cookie, "/admin/purge/now").await;
    assert_eq!(status, 200);
    let res = client()
        .post(format!("{}/admin/purge/now", server.base))
        .header("cookie", &cookie)
        .form(&[("csrf", csrf(&ask))])
        .send()
        .await
        .unwrap();
    // Post, redirect, get: the report has an address of its own.
    assert_eq!(res.status(), 303);
    let to = res.headers()["location"].to_str().unwrap().to_string();
    assert!(to.starts_with("/admin/purge/report/"), "{to}");
    // Reloading the report shows it again, the same: purging again would erase none.
    for _ in 0..2 {
        let (status, report) = get(&server, &cookie, &to).await;
        assert_eq!(status, 200, "{report}");
        assert!(
            report.contains(&format!("<td id=\"erased\">{}</td>", would.len())),
            "{report}"
        );
        assert!(
            report.contains(&format!("<td id=\"held-count\">{}</td>", held.len())),
            "{report}"
        );
    }
    // It lists addresses: another session does not get it.
    let other = sign_in(&server).await;
    assert_eq!(get(&server, &other, &to).await.0, 404);
    let after = sb.json(&["purge", "--dry-run", "--now", DUE]);
    assert_eq!(after["would_purge"], serde_json::json!([]));
    for e in would.iter().take(20) {
        let out = sb.run(&["explain", e]);
        assert!(out.stderr.contains("was erased on"), "{e}: {}", out.stderr);
    }
    for e in &held {
        sb.ok(&["explain", e]);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn chromium_looks_up_a_contact_reads_its_evidence_forgets_it_and_purges() {
    let sb = sent();
    let server = serve(&sb, &[("RECONSENT_NOW", "2026-12-28T23:59:58Z")]);
    let evidence = sb.json(&["evidence", CONTACT]);
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let out_dir = std::env::var_os("CARGO_TARGET_DIR")
        .map_or_else(|| root.join("target"), std::path::PathBuf::from)
        .join("test-artifacts");
    let out = std::process::Command::new("python3")
        .arg(root.join("tests/support/chromium_admin_contact.py"))
        .args([&server.base, TOKEN, CONTACT])
        .arg(&out_dir)
        .output()
        .expect("python3");
    assert!(
        out.status.success(),
        "chromium_admin_contact.py: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let seen: serde_json::Value =
        serde_json::from_str(String::from_utf8_lossy(&out.stdout).trim()).unwrap();
    assert_eq!(seen["errors"], serde_json::json!([]), "{seen}");
    assert_eq!(seen["wide"], serde_json::json!([]), "{seen}");
    assert!(
        seen["contact"].as_str().unwrap().contains(CONTACT),
        "{seen}"
    );
    assert_eq!(seen["evidence"], evidence, "{seen}");
    // The CSV download: a header, then one line per entry of the ledger.
    let csv = seen["evidence_csv"].as_str().unwrap();
    let entries = evidence["entries"].as_array().unwrap();
    assert!(csv.starts_with("at,event,"), "{csv}");
    assert_eq!(csv.lines().count(), entries.len() + 1, "{csv}");
    assert!(
        seen["erased"].as_str().unwrap().contains("Erased on"),
        "{seen}"
    );
    assert!(
        seen["purge"]
            .as_str()
            .unwrap()
            .contains("A purge now would erase"),
        "{seen}"
    );
    assert!(
        seen["purged"].as_str().unwrap().contains("Purge done"),
        "{seen}"
    );
    assert!(
        seen["report_url"]
            .as_str()
            .unwrap()
            .starts_with("/admin/purge/report/"),
        "{seen}"
    );
    // Reloaded, the report is the same: purging again would have erased none.
    assert_eq!(seen["reloaded"], seen["purged"], "{seen}");
    let out = sb.run(&["explain", CONTACT]);
    assert!(out.stderr.contains("(erasure_request)"), "{}", out.stderr);
    for png in [
        "contact",
        "contact-375",
        "contact-forget-375",
        "contact-erased-375",
        "purge",
        "purge-375",
        "purge-ask-375",
        "purge-done-375",
    ] {
        let bytes = std::fs::read(out_dir.join(format!("admin-{png}.png"))).expect("a screenshot");
        assert!(bytes.starts_with(b"\x89PNG"), "{png}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_contact_page_says_whether_its_chain_verifies_and_offers_its_consent_records() {
    let sb = sent();
    let server = serve(&sb, &[]);
    let cookie = sign_in(&server).await;
    let path = format!("/admin/contact?email={CONTACT}");
    let (status, page) = get(&server, &cookie, &path).await;
    assert_eq!(status, 200);
    assert!(
        page.contains("id=\"chain\" data-verified=\"true\""),
        "{page}"
    );
    assert!(page.contains("Hash chain verifies"));

    // The records download: one CSV row, and one JSON line, per ledger entry.
    let entries = sb.json(&["evidence", CONTACT])["entries"]
        .as_array()
        .unwrap()
        .len();
    let res = fetch(
        &server,
        &cookie,
        &format!("/admin/contact/records.csv?email={CONTACT}"),
    )
    .await;
    assert_eq!(res.status(), 200);
    assert!(
        res.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .contains("records-")
    );
    let csv = res.text().await.unwrap();
    assert_eq!(
        csv::Reader::from_reader(csv.as_bytes()).records().count(),
        entries
    );
    let (status, jsonl) = get(
        &server,
        &cookie,
        &format!("/admin/contact/records.jsonl?email={CONTACT}"),
    )
    .await;
    assert_eq!(status, 200);
    let lines: Vec<serde_json::Value> = jsonl
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), entries);
    assert_eq!(lines[0]["legal_basis"], "GDPR Art. 6(1)(a) consent");

    // Someone with the file moves an entry's time: the page says so, naming the entry.
    // The server holds the base open: wait for its write lock rather than fail. The
    // change is made with the `sqlite3` tool: on PostgreSQL the test ends here.
    if sb.backend() != Backend::Sqlite {
        return;
    }
    let id = std::process::Command::new("sqlite3")
        .args(["-cmd", ".timeout 10000"])
        .arg(sb.path("reconsent.db"))
        .arg(format!(
            "DROP TRIGGER ledger_no_rewrite; UPDATE ledger SET at = at - 86400 WHERE id = \
             (SELECT max(l.id) FROM ledger l JOIN contacts c ON c.id = l.contact_id \
              WHERE c.email_key = '{CONTACT}'); SELECT changes();"
        ))
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&id.stdout).trim(),
        "1",
        "{}",
        String::from_utf8_lossy(&id.stderr)
    );
    let (_, page) = get(&server, &cookie, &path).await;
    assert!(
        page.contains("id=\"chain\" data-verified=\"false\""),
        "{page}"
    );
    assert!(page.contains("Hash chain does NOT verify: look at entry #"));
    // In the marketer's language too.
    let page = client()
        .get(format!("{}{path}", server.base))
        .header("cookie", &cookie)
        .header("accept-language", "pl")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("Łańcuch skrótów się NIE zgadza"), "{page}");
}
