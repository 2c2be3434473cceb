//! `reconsent serve` with the admin token, and signing in to its dashboard: what every
//! test of `/admin` starts with.

use super::{Sandbox, servers};
use std::process::{Child, Stdio};
use std::time::Duration;

pub const TOKEN: &str = "an-admin-token-for-the-tests";

/// `reconsent serve` with the admin token, on a free port; killed when dropped.
pub struct Serve {
    child: Child,
    pub base: String,
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Serves the sandbox's base, sending into its `outbox` folder, with `env` on top.
pub fn serve(sb: &Sandbox, env: &[(&str, &str)]) -> Serve {
    let port = servers::free_port();
    let child = sb
        .process()
        .env("RECONSENT__ADMIN__TOKEN", TOKEN)
        .env(
            "RECONSENT__TRANSPORT",
            format!("file://{}", sb.path("outbox").display()),
        )
        .envs(env.iter().copied())
        .args(["serve", "--bind", &format!("127.0.0.1:{port}")])
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(sb.path("serve.log")).expect("a log file"))
        .spawn()
        .expect("start reconsent serve");
    let start = std::time::Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "serve did not listen"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    Serve {
        child,
        base: format!("http://127.0.0.1:{port}"),
    }
}

/// A client that shows redirects instead of following them.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// The `Cookie` header of a fresh session.
pub async fn sign_in(server: &Serve) -> String {
    let res = client()
        .post(format!("{}/admin/login", server.base))
        .form(&[("token", TOKEN)])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    let cookie = res
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .find(|c| c.starts_with("reconsent_admin="))
        .expect("a session cookie");
    cookie.split(';').next().unwrap().to_string()
}

/// The CSRF token of the form on `page`.
pub fn csrf(page: &str) -> String {
    let at = page.find("name=\"csrf\" value=\"").expect("a CSRF field") + 19;
    page[at..].split('"').next().unwrap().to_string()
}
