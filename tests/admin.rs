//! The dashboard under `/admin`, driven over HTTP against `reconsent serve`: no page
//! without a session, a session only for the admin token, no change without the CSRF
//! token and the question answered; and in headless Chromium, readable and quiet.

mod common;
use common::admin::*;
use common::*;
use std::time::Duration;

const NAME: &str = "spring-reconsent";

/// The example campaign launched, served at `rate`.
fn launched(rate: &str) -> (Sandbox, Serve) {
    let sb = Sandbox::with_campaign(rate);
    sb.ok(&["campaign", "launch", "campaigns/example.toml"]);
    let server = serve(&sb, &[]);
    (sb, server)
}

fn location(res: &reqwest::Response) -> &str {
    res.headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}

fn set_cookies(res: &reqwest::Response) -> Vec<String> {
    res.headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .collect()
}

async fn try_sign_in(server: &Serve, token: &str) -> reqwest::Response {
    client()
        .post(format!("{}/admin/login", server.base))
        .form(&[("token", token)])
        .send()
        .await
        .unwrap()
}

/// The `Cookie` header of a fresh session.
async fn sign_in(server: &Serve) -> String {
    let res = try_sign_in(server, TOKEN).await;
    assert_eq!(res.status(), 303);
    let cookie = set_cookies(&res)
        .into_iter()
        .find(|c| c.starts_with("reconsent_admin="))
        .expect("a session cookie");
    cookie.split(';').next().unwrap().to_string()
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

async fn post(server: &Serve, cookie: &str, path: &str, form: &[(&str, &str)]) -> u16 {
    client()
        .post(format!("{}{path}", server.base))
        .header("cookie", cookie)
        .form(form)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test(flavor = "multi_thread")]
async fn every_admin_page_without_a_session_redirects_to_sign_in() {
    let (_sb, server) = launched("500/s");
    let pages = [
        "/admin",
        "/admin/campaigns/spring-reconsent",
        "/admin/campaigns/spring-reconsent/figures",
        "/admin/campaigns/spring-reconsent/pause",
    ];
    for cookie in ["", "reconsent_admin=forged"] {
        for path in pages {
            let res = client()
                .get(format!("{}{path}", server.base))
                .header("cookie", cookie)
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), 303, "{path} with '{cookie}'");
            assert_eq!(location(&res), "/admin/login", "{path}");
        }
        for path in ["/admin/campaigns/spring-reconsent/pause", "/admin/logout"] {
            let status = post(&server, cookie, path, &[("csrf", "x")]).await;
            assert_eq!(status, 303, "POST {path} with '{cookie}'");
        }
    }
    let res = client()
        .get(format!("{}/admin/", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(location(&res), "/admin", "a trailing slash is forgiven");
    let (status, form) = get(&server, "", "/admin/login").await;
    assert_eq!(status, 200);
    assert!(form.contains("type=\"password\""), "{form}");
}

#[tokio::test(flavor = "multi_thread")]
async fn only_the_admin_token_gets_a_strict_http_only_cookie_and_guessing_is_slowed() {
    let (_sb, server) = launched("500/s");
    let wrong = try_sign_in(&server, "not-the-token").await;
    assert_eq!(wrong.status(), 401);
    assert!(set_cookies(&wrong).is_empty(), "{:?}", set_cookies(&wrong));
    let right = try_sign_in(&server, TOKEN).await;
    assert_eq!(right.status(), 303);
    assert_eq!(location(&right), "/admin");
    let cookie = set_cookies(&right).join("\n");
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/admin"] {
        assert!(cookie.contains(attribute), "{attribute} in {cookie}");
    }
    assert!(!cookie.contains("Secure"), "plain HTTP: {cookie}");
    // Five attempts a minute per address, the good one included.
    for _ in 0..3 {
        assert_eq!(try_sign_in(&server, "guess").await.status(), 401);
    }
    let slowed = try_sign_in(&server, TOKEN).await;
    assert_eq!(slowed.status(), 429);
    assert!(set_cookies(&slowed).is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn over_https_the_cookie_is_secure() {
    let sb = Sandbox::new();
    let server = serve(&sb, &[("RECONSENT__BASE_URL", "https://r.shop.example")]);
    let cookie = set_cookies(&try_sign_in(&server, TOKEN).await).join("\n");
    assert!(cookie.contains("; Secure"), "{cookie}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_overview_shows_the_audit_totals_and_every_campaign() {
    let (sb, server) = launched("500/s");
    let audit = sb.json(&["audit"]);
    let cookie = sign_in(&server).await;
    // The audit is counted in the background as the server starts; until then the
    // page says so instead of waiting.
    let start = std::time::Instant::now();
    let page = loop {
        let (status, page) = get(&server, &cookie, "/admin").await;
        assert_eq!(status, 200);
        if !page.contains("class=\"counting\"") {
            break page;
        }
        assert!(start.elapsed() < Duration::from_secs(20), "{page}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(
        page.contains(&format!("id=\"total\">{}<", audit["total"])),
        "{page}"
    );
    assert!(
        page.contains(&format!("id=\"eligible\">{}<", audit["eligible"])),
        "{page}"
    );
    assert!(page.contains("<svg"), "an inline chart");
    let row = page
        .split("id=\"campaign-spring-reconsent\"")
        .nth(1)
        .expect("the campaign's row");
    let targeted = sb.status()["targeted"].as_i64().unwrap();
    assert!(targeted > 0);
    assert!(row.contains(&format!("sent of {targeted}")), "{row}");
    assert!(row.contains("sending"), "{row}");
}

#[tokio::test(flavor = "multi_thread")]
async fn pause_and_resume_need_the_csrf_token_then_do_what_the_command_line_does() {
    let (sb, server) = launched("500/s");
    let cookie = sign_in(&server).await;
    let pause = "/admin/campaigns/spring-reconsent/pause";
    assert_eq!(post(&server, &cookie, pause, &[]).await, 403);
    assert_eq!(
        post(&server, &cookie, pause, &[("csrf", "forged")]).await,
        403
    );
    assert_eq!(sb.status()["state"], "running", "nothing changed");

    // The campaign page offers the button; the question page carries the token.
    let (_, page) = get(&server, &cookie, "/admin/campaigns/spring-reconsent").await;
    assert!(page.contains(&format!("action=\"{pause}\"")), "{page}");
    let (status, ask) = get(&server, &cookie, pause).await;
    assert_eq!(status, 200);
    let token = csrf(&ask);
    assert_eq!(
        post(&server, &cookie, pause, &[("csrf", &token)]).await,
        303
    );
    let st = sb.status();
    assert_eq!(st["state"], "paused");
    assert_eq!(st["state_reason"], "paused from the dashboard");

    let resume = "/admin/campaigns/spring-reconsent/resume";
    let (_, page) = get(&server, &cookie, "/admin/campaigns/spring-reconsent").await;
    assert!(page.contains(&format!("action=\"{resume}\"")), "{page}");
    assert!(!page.contains(&format!("action=\"{pause}\"")), "{page}");
    assert_eq!(post(&server, &cookie, resume, &[]).await, 403);
    assert_eq!(sb.status()["state"], "paused");
    let (_, ask) = get(&server, &cookie, resume).await;
    assert_eq!(
        post(&server, &cookie, resume, &[("csrf", &csrf(&ask))]).await,
        303
    );
    assert_eq!(sb.status()["state"], "running");

    // Another session's token is no good either.
    let other = sign_in(&server).await;
    let (_, ask) = get(&server, &other, "/admin/campaigns/spring-reconsent/cancel").await;
    let cancel = "/admin/campaigns/spring-reconsent/cancel";
    assert_eq!(
        post(&server, &cookie, cancel, &[("csrf", &csrf(&ask))]).await,
        403
    );
    assert_eq!(sb.status()["state"], "running");
    assert_eq!(
        post(&server, &other, cancel, &[("csrf", &csrf(&ask))]).await,
        303
    );
    assert_eq!(sb.status()["state"], "cancelled");
}

#[tokio::test(flavor = "multi_thread")]
async fn signing_out_ends_the_session() {
    let (_sb, server) = launched("500/s");
    let cookie = sign_in(&server).await;
    let (_, page) = get(&server, &cookie, "/admin").await;
    assert_eq!(post(&server, &cookie, "/admin/logout", &[]).await, 403);
    let res = client()
        .post(format!("{}/admin/logout", server.base))
        .header("cookie", &cookie)
        .form(&[("csrf", csrf(&page))])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    assert!(set_cookies(&res).join("").contains("Max-Age=0"));
    assert_eq!(get(&server, &cookie, "/admin").await.0, 303);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_dashboard_speaks_the_browsers_language_or_the_one_chosen() {
    let (_sb, server) = launched("500/s");
    let cookie = sign_in(&server).await;
    let page = |lang: &'static str, cookie: String| {
        let base = server.base.clone();
        async move {
            client()
                .get(format!("{base}/admin"))
                .header("cookie", cookie)
                .header("accept-language", lang)
                .send()
                .await
                .unwrap()
        }
    };
    let pl = page("pl-PL,pl;q=0.9", cookie.clone())
        .await
        .text()
        .await
        .unwrap();
    assert!(pl.contains("<html lang=\"pl\""), "{pl}");
    assert!(pl.contains("Kampanie"));
    let res = client()
        .get(format!("{}/admin?lang=de", server.base))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    let chosen = set_cookies(&res).join("");
    assert!(chosen.contains("reconsent_lang=de"), "{chosen}");
    assert!(res.text().await.unwrap().contains("<html lang=\"de\""));
    let de = page("pl", format!("{cookie}; reconsent_lang=de")).await;
    assert!(de.text().await.unwrap().contains("Kampagnen"));
}

#[tokio::test(flavor = "multi_thread")]
async fn pages_allow_only_their_own_scripts_and_the_figures_come_alone() {
    let (_sb, server) = launched("500/s");
    let cookie = sign_in(&server).await;
    let res = client()
        .get(format!("{}/admin/campaigns/{NAME}", server.base))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap();
    let csp = res.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(csp.contains("script-src 'self'"), "{csp}");
    assert!(!csp.contains("unsafe-inline"), "{csp}");
    let page = res.text().await.unwrap();
    assert!(
        page.contains("<script src=\"/admin/static/live.js\""),
        "{page}"
    );
    assert!(!page.contains("<script>"), "no inline script");
    assert!(page.contains("data-live=\"/admin/campaigns/spring-reconsent/figures\""));
    let (status, figures) = get(
        &server,
        &cookie,
        "/admin/campaigns/spring-reconsent/figures",
    )
    .await;
    assert_eq!(status, 200);
    assert!(figures.starts_with("<section id=\"figures\""), "{figures}");
    for asset in ["/admin/static/live.js", "/admin/static/admin.css"] {
        let (status, body) = get(&server, "", asset).await;
        assert_eq!(status, 200, "{asset}");
        assert!(!body.is_empty());
    }
    assert_eq!(get(&server, &cookie, "/admin/campaigns/nope").await.0, 404);
    let explode = "/admin/campaigns/spring-reconsent/explode";
    assert_eq!(get(&server, &cookie, explode).await.0, 404);
}

/// A marketer's browser: sign in with the keyboard, the overview, a campaign sending
/// slowly whose figures refresh by themselves, the pause question; no console error, no
/// CSP violation. Screenshots in target/test-artifacts/admin-*.png.
#[tokio::test(flavor = "multi_thread")]
async fn chromium_signs_in_and_reads_the_overview_and_a_live_campaign() {
    let (_sb, server) = launched("2/s");
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let out_dir = std::env::var_os("CARGO_TARGET_DIR")
        .map_or_else(|| root.join("target"), std::path::PathBuf::from)
        .join("test-artifacts");
    let out = std::process::Command::new("python3")
        .arg(root.join("tests/support/chromium_admin.py"))
        .args([&server.base, TOKEN, NAME])
        .arg(&out_dir)
        .output()
        .expect("python3");
    assert!(
        out.status.success(),
        "chromium_admin.py: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let seen: serde_json::Value =
        serde_json::from_str(String::from_utf8_lossy(&out.stdout).trim()).unwrap();
    assert_eq!(seen["errors"], serde_json::json!([]), "{seen}");
    // The figures changed by themselves while the campaign sent, and the page's own
    // buttons paused and resumed it.
    assert_eq!(seen["changed"], true, "{seen}");
    assert!(
        seen["after_pause"].as_str().unwrap().contains("s-paused"),
        "{seen}"
    );
    assert!(
        seen["after_resume"].as_str().unwrap().contains("s-running"),
        "{seen}"
    );
    assert!(
        seen["login_url"]
            .as_str()
            .unwrap()
            .ends_with("/admin/login"),
        "{seen}"
    );
    assert!(seen["url"].as_str().unwrap().ends_with("/admin"), "{seen}");
    assert!(seen["overview"].as_str().unwrap().contains(NAME), "{seen}");
    assert!(
        seen["campaign"].as_str().unwrap().contains("Targeted"),
        "{seen}"
    );
    assert_eq!(
        seen["swapped"], true,
        "live.js fetched the figures again: {seen}"
    );
    let focused = seen["focused"].as_array().unwrap();
    for tag in ["A", "BUTTON"] {
        assert!(
            focused.iter().any(|t| t == tag),
            "Tab reaches a {tag}: {seen}"
        );
    }
    for png in [
        "overview",
        "overview-375",
        "campaign",
        "campaign-375",
        "pause-375",
        "login-375",
    ] {
        let bytes = std::fs::read(out_dir.join(format!("admin-{png}.png"))).expect("a screenshot");
        assert!(bytes.starts_with(b"\x89PNG"), "{png}");
    }
}
