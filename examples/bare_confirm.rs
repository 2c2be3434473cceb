//! The peer of `scripts/bench-confirm`: a bare axum handler on the route of a
//! confirmation, `POST /r/{token}/confirm`, answering a short page and doing nothing
//! else. What reconsent's own handler costs is measured against it.
//!
//!     cargo run --release --example bare_confirm -- 127.0.0.1:8099

use axum::Router;
use axum::extract::Path;
use axum::response::Html;
use axum::routing::post;

async fn confirm(Path(token): Path<String>) -> Html<String> {
    Html(format!(
        "<!DOCTYPE html><html><body><h1>Thank you</h1><p>{}</p></body></html>",
        token.len()
    ))
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let bind = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:8099".into());
    let app = Router::new().route("/r/{token}/confirm", post(confirm));
    let listener = tokio::net::TcpListener::bind(&bind).await?;
    axum::serve(listener, app).await
}
