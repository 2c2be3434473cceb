//! The campaign files and the import under `/admin`, driven over HTTP against
//! `reconsent serve`: what `campaign check`, `preview`, `launch` and `import` do, behind
//! a session and the CSRF token; and in headless Chromium, readable and quiet.

mod common;
use common::admin::*;
use common::*;
use std::time::Duration;

const NAME: &str = "spring-reconsent";

fn serve(sb: &Sandbox) -> Serve {
    // Uploads wait in the system's temporary folder: the sandbox's own, to be looked at.
    std::fs::create_dir_all(sb.path("tmp")).unwrap();
    let tmp = sb.path("tmp").display().to_string();
    common::admin::serve(sb, &[("TMPDIR", tmp.as_str())])
}

/// The example campaign, not launched, served.
fn ready() -> (Sandbox, Serve) {
    let sb = Sandbox::with_campaign("500/s");
    let server = serve(&sb);
    (sb, server)
}

async fn get(server: &Serve, cookie: &str, path: &str) -> (u16, String) {
    let res = client()
        .get(format!("{}{path}", server.base))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap();
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

/// The upload form posted as a browser posts it: the CSRF token, then the file.
async fn upload(server: &Serve, cookie: &str, csrf: &str, name: &str, file: &str) -> (u16, String) {
    let b = "----reconsent-test-boundary";
    let body = format!(
        "--{b}\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n{csrf}\r\n\
--{b}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\n\
Content-Type: text/csv\r\n\r\n{file}\r\n--{b}--\r\n"
    );
    let res = client()
        .post(format!("{}/admin/import", server.base))
        .header("cookie", cookie)
        .header("content-type", format!("multipart/form-data; boundary={b}"))
        .body(body)
        .send()
        .await
        .unwrap();
    (res.status().as_u16(), res.text().await.unwrap())
}

/// The uploads `serve` keeps, each checked to be readable by its user alone.
fn private_uploads(sb: &Sandbox) -> Vec<std::path::PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    let mut kept = Vec::new();
    for dir in std::fs::read_dir(sb.path("tmp")).unwrap() {
        let dir = dir.unwrap().path();
        assert_eq!(mode(&dir), 0o700, "{}", dir.display());
        for f in std::fs::read_dir(&dir).unwrap() {
            let f = f.unwrap().path();
            assert_eq!(mode(&f), 0o600, "{}", f.display());
            kept.push(f);
        }
    }
    kept
}

fn launched(sb: &Sandbox) -> bool {
    sb.run(&["campaign", "status", NAME, "--json"]).code == 0
}

fn audit_total(sb: &Sandbox) -> u64 {
    sb.json(&["audit"])["total"].as_u64().unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn without_a_session_the_files_and_import_pages_redirect_to_sign_in() {
    let (_sb, server) = ready();
    for path in [
        "/admin/files",
        "/admin/files/example.toml",
        "/admin/files/example.toml/launch",
        "/admin/files/example.toml/mail/en/0",
        "/admin/import",
    ] {
        let res = client()
            .get(format!("{}{path}", server.base))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 303, "{path}");
        assert_eq!(res.headers()["location"], "/admin/login", "{path}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_files_page_shows_what_campaign_check_says_of_each_file() {
    let (sb, server) = ready();
    let example = std::fs::read_to_string(sb.path("campaigns/example.toml")).unwrap();
    let broken = example.replace(
        "privacy_policy_url = \"https://shop.example/privacy\"",
        "privacy_policy_url = \"not a url\"",
    );
    assert_ne!(broken, example);
    sb.write("campaigns/broken.toml", broken);
    let checked = sb.run(&["campaign", "check", "campaigns/broken.toml", "--json"]);
    assert_eq!(checked.code, 1);
    let problems: serde_json::Value = serde_json::from_str(&checked.stdout).unwrap();
    let cookie = sign_in(&server).await;
    let (status, page) = get(&server, &cookie, "/admin/files").await;
    assert_eq!(status, 200);
    assert!(
        page.contains("href=\"/admin/files/example.toml\""),
        "{page}"
    );
    assert!(page.contains("href=\"/admin/files/broken.toml\""), "{page}");
    assert!(page.contains(">ok<"), "{page}");
    assert!(page.contains("not launched"), "{page}");
    let (status, page) = get(&server, &cookie, "/admin/files/broken.toml").await;
    assert_eq!(status, 200);
    for p in problems["problems"].as_array().unwrap() {
        let p = p.as_str().unwrap().replace('"', "&quot;");
        assert!(page.contains(&p), "{p} in {page}");
    }
    assert!(!page.contains("/launch"), "no Launch button: {page}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_file_name_cannot_lead_out_of_the_campaigns_folder() {
    let (sb, server) = ready();
    sb.write("secret.toml", "name = \"x\"\n");
    let cookie = sign_in(&server).await;
    for path in [
        "/admin/files/..%2Fsecret.toml",
        "/admin/files/.hidden.toml",
        "/admin/files/a%5Cb.toml",
        "/admin/files/..%2Fsecret.toml/mail/en/0",
        "/admin/files/nothing.toml",
    ] {
        let (status, _) = get(&server, &cookie, path).await;
        assert!(status == 404 || status == 400, "{path}: {status}");
    }
    let (status, _) = post(
        &server,
        &cookie,
        "/admin/files/..%2Fsecret.toml/launch",
        &[],
    )
    .await;
    assert!(status == 404 || status == 403 || status == 400, "{status}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_file_page_shows_every_email_in_a_sandboxed_frame_and_who_a_launch_would_ask() {
    let (sb, server) = ready();
    let dry = sb.json(&["campaign", "launch", "campaigns/example.toml", "--dry-run"]);
    let cookie = sign_in(&server).await;
    let (status, page) = get(&server, &cookie, "/admin/files/example.toml").await;
    assert_eq!(status, 200);
    let frames = page.matches("<iframe sandbox=\"\"").count();
    let check = sb.json(&["campaign", "check", "campaigns/example.toml"]);
    let expected =
        check["locales"].as_array().unwrap().len() * check["waves"].as_array().unwrap().len();
    assert!(expected > 1);
    assert_eq!(frames, expected, "{page}");
    for (class, n) in dry["audience"].as_object().unwrap() {
        assert!(
            page.contains(&format!("<th scope=\"row\">{class}</th><td>{n}</td>")),
            "{class} {n}: {page}"
        );
    }
    for (why, n) in dry["excluded"].as_object().unwrap() {
        assert!(
            page.contains(&format!("<th scope=\"row\">{why}</th><td>{n}</td>")),
            "{why} {n}: {page}"
        );
    }
    let res = client()
        .get(format!(
            "{}/admin/files/example.toml/mail/pl/1",
            server.base
        ))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let csp = res.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(csp.starts_with("sandbox;"), "{csp}");
    let mail = res.text().await.unwrap();
    assert!(mail.contains("<html lang=\"pl\""), "{mail}");
    let page_csp = client()
        .get(format!("{}/admin/files/example.toml", server.base))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap()
        .headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(page_csp.contains("frame-src 'self'"), "{page_csp}");
}

#[tokio::test(flavor = "multi_thread")]
async fn launch_asks_first_needs_the_csrf_token_then_does_what_campaign_launch_does() {
    let (sb, server) = ready();
    let cookie = sign_in(&server).await;
    let (status, question) = get(&server, &cookie, "/admin/files/example.toml/launch").await;
    assert_eq!(status, 200);
    let token = csrf(&question);
    let (status, _) = post(&server, &cookie, "/admin/files/example.toml/launch", &[]).await;
    assert_eq!(status, 403);
    let (status, _) = post(
        &server,
        &cookie,
        "/admin/files/example.toml/launch",
        &[("csrf", "nope")],
    )
    .await;
    assert_eq!(status, 403);
    assert!(!launched(&sb), "nothing launched without the token");
    let (status, page) = post(
        &server,
        &cookie,
        "/admin/files/example.toml/launch",
        &[("csrf", &token)],
    )
    .await;
    assert_eq!(status, 200, "{page}");
    assert!(
        page.contains(&format!("href=\"/admin/campaigns/{NAME}\"")),
        "{page}"
    );
    assert!(launched(&sb));
    let st = sb.json(&["campaign", "status", NAME]);
    let queued = st["targeted"].as_u64().unwrap();
    assert!(queued > 0, "{st}");
    assert!(
        page.contains(&format!("<strong>{queued}</strong>")),
        "{page}"
    );
    let (_, list) = get(&server, &cookie, "/admin/files").await;
    assert!(list.contains("<td>launched</td>"), "{list}");
}

#[tokio::test(flavor = "multi_thread")]
async fn import_shows_the_dry_run_refuses_bad_lines_and_imports_a_good_file() {
    let (sb, server) = ready();
    let before = audit_total(&sb);
    let cookie = sign_in(&server).await;
    let (status, form) = get(&server, &cookie, "/admin/import").await;
    assert_eq!(status, 200);
    assert!(form.contains("enctype=\"multipart/form-data\""), "{form}");
    assert!(form.contains("200 MB"), "{form}");
    let token = csrf(&form);
    let good = format!("{HEADER}\nnew.one@example.com,New One,en,GB,true,2026-06-01,,,,,,,,,,\n");
    let bad = format!("{good}not-an-address,Bad,en,GB,true,2026-06-01,,,,,,,,,,\n");

    let (status, _) = upload(&server, &cookie, "wrong", "c.csv", &good).await;
    assert_eq!(status, 403);

    let (status, page) = upload(&server, &cookie, &token, "c.csv", &bad).await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("line 3:"), "{page}");
    assert!(!page.contains("/admin/import/"), "no Import button: {page}");
    assert_eq!(audit_total(&sb), before);

    let (status, page) = upload(&server, &cookie, &token, "c.csv", &good).await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("Dry run, nothing written: 1 rows"), "{page}");
    assert_eq!(audit_total(&sb), before);
    let at = page
        .find("action=\"/admin/import/")
        .expect("an Import button")
        + 8;
    let action = page[at..].split('"').next().unwrap().to_string();
    let kept = private_uploads(&sb);
    assert_eq!(kept.len(), 1, "the file waits for its import");
    let (status, _) = post(&server, &cookie, &action, &[]).await;
    assert_eq!(status, 403);
    assert_eq!(audit_total(&sb), before);
    let (status, page) = post(&server, &cookie, &action, &[("csrf", &token)]).await;
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("Imported: 1 rows"), "{page}");
    assert_eq!(audit_total(&sb), before + 1);
    let (status, _) = post(&server, &cookie, &action, &[("csrf", &token)]).await;
    assert_eq!(status, 404, "the upload is gone once imported");
    assert!(private_uploads(&sb).is_empty());
}

/// A marketer's browser: the files, a file's e-mails in their frames, the launch through
/// its question, a refused import and a good one; no console error, no CSP violation.
/// Screenshots in target/test-artifacts/admin-files*.png and admin-import*.png.
#[tokio::test(flavor = "multi_thread")]
async fn chromium_checks_launches_and_imports() {
    let (sb, server) = ready();
    let before = audit_total(&sb);
    let good = format!("{HEADER}\nnew.one@example.com,New One,en,GB,true,2026-06-01,,,,,,,,,,\n");
    let bad = format!("{good}not-an-address,Bad,en,GB,true,2026-06-01,,,,,,,,,,\n");
    let good = sb.write("good.csv", good);
    let bad = sb.write("bad.csv", bad);
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let out_dir = std::env::var_os("CARGO_TARGET_DIR")
        .map_or_else(|| root.join("target"), std::path::PathBuf::from)
        .join("test-artifacts");
    let out = std::process::Command::new("python3")
        .arg(root.join("tests/support/chromium_admin_files.py"))
        .args([&server.base, TOKEN, "example.toml"])
        .args([&bad, &good, &out_dir])
        .output()
        .expect("python3");
    assert!(
        out.status.success(),
        "chromium_admin_files.py: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let seen: serde_json::Value =
        serde_json::from_str(String::from_utf8_lossy(&out.stdout).trim()).unwrap();
    assert_eq!(seen["errors"], serde_json::json!([]), "{seen}");
    assert!(
        seen["files"].as_str().unwrap().contains("example.toml"),
        "{seen}"
    );
    let frames = &seen["frames"];
    assert!(frames[0].as_u64().unwrap() > 1, "{seen}");
    assert_eq!(frames[0], frames[1], "every frame loaded: {seen}");
    assert!(
        seen["launched"].as_str().unwrap().contains("Launched"),
        "{seen}"
    );
    assert!(launched(&sb));
    assert!(
        seen["refused"].as_str().unwrap().contains("line 3:"),
        "{seen}"
    );
    assert!(
        seen["after_refusal"]
            .as_str()
            .unwrap()
            .contains("No contact with this address."),
        "nothing of the refused file was written: {seen}"
    );
    assert!(seen["dry"].as_str().unwrap().contains("Dry run"), "{seen}");
    assert!(
        seen["imported"].as_str().unwrap().contains("Imported"),
        "{seen}"
    );
    assert_eq!(audit_total(&sb), before + 1);
}

/// A file over the cap is refused at once, with the cap named, and nothing kept.
#[tokio::test(flavor = "multi_thread")]
async fn an_upload_over_200_mb_is_refused_with_a_clear_message() {
    use std::io::{Read, Write};
    let (sb, server) = ready();
    let before = audit_total(&sb);
    let cookie = sign_in(&server).await;
    let (_, form) = get(&server, &cookie, "/admin/import").await;
    let token = csrf(&form);
    let b = "----reconsent-test-boundary";
    let head = format!(
        "--{b}\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n{token}\r\n\
--{b}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big.csv\"\r\n\r\n{HEADER}\n"
    );
    let addr = server.base.trim_start_matches("http://").to_string();
    let answer = tokio::task::spawn_blocking(move || {
        let mut s = std::net::TcpStream::connect(&addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        let declared = 201 * 1024 * 1024;
        write!(
            s,
            "POST /admin/import HTTP/1.1\r\nHost: {addr}\r\nCookie: {cookie}\r\n\
Content-Type: multipart/form-data; boundary={b}\r\nContent-Length: {declared}\r\n\r\n{head}"
        )
        .unwrap();
        let mut answer = Vec::new();
        let mut buf = [0u8; 8192];
        // The answer comes before the rest of the body was ever sent.
        while let Ok(n) = s.read(&mut buf) {
            if n == 0 {
                break;
            }
            answer.extend_from_slice(&buf[..n]);
            if String::from_utf8_lossy(&answer).contains("</html>") {
                break;
            }
        }
        String::from_utf8_lossy(&answer).to_string()
    })
    .await
    .unwrap();
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(answer.contains("larger than 200 MB"), "{answer}");
    assert_eq!(audit_total(&sb), before);
}
