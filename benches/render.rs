//! Render cost per request e-mail for the shipped template: links signed, templates
//! rendered, MIME built, with and without DKIM.
//!
//!     cargo bench --bench render [-- MESSAGES]
//!
//! Plain `std::time`: a warm-up, then each phase over the same contacts. The contacts
//! cycle through the five locales and three waves, with names carrying diacritics.
//! "Through Handlebars" is the reference path the pre-rendered skeletons are held to.

use reconsent::campaign::check::probe_name;
use reconsent::campaign::links::links;
use reconsent::campaign::message::{self, DkimSigner, Envelope};
use reconsent::campaign::{Campaign, RenderInput, Renderer};
use reconsent::domain::{EmailAddress, Locale, parse_instant};
use reconsent::tokens::LinkSigner;
use std::hint::black_box;
use std::path::Path;
use std::time::Instant;

fn main() {
    let n: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(20_000);
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let campaign = Campaign::load(&root.join("campaigns/example.toml")).expect("example campaign");
    let compile_start = Instant::now();
    let renderer = Renderer::new(&campaign, &root.join("templates")).expect("templates");
    let compile = compile_start.elapsed();
    let dkim = DkimSigner::from_pem(
        &std::fs::read_to_string(root.join("tests/support/dkim-test.pkcs8.pem")).expect("key"),
        "bench",
        "shop.example",
    )
    .expect("DKIM key");
    let signer = LinkSigner::new([7; 32]);
    let now = parse_instant("2026-05-01T08:00:00Z").expect("instant");
    let deadline = campaign.deadline.at(now);
    let expires = campaign.grace.after(deadline);
    let locales: Vec<Locale> = renderer.locales().cloned().collect();
    let to = EmailAddress::parse("jana.novakova@example.sk").expect("address");
    let ids: Vec<String> = (0..n).map(|i| format!("{:032x}", i * 7919)).collect();

    let one = |i: usize, sign: Option<&DkimSigner>, build: bool, handlebars: bool| {
        let locale = &locales[i % locales.len()];
        let l = links(
            &signer,
            "https://r.shop.example",
            &campaign.name,
            &ids[i],
            expires,
        )
        .expect("links");
        let input = RenderInput {
            locale: Some(locale),
            name: Some(probe_name(locale)),
            confirm_url: &l.confirm_url,
            leave_url: &l.leave_url,
            bonus_code: "WELCOMEBACK10",
            deadline,
            wave: i % campaign.waves.len(),
        };
        let rendered = if handlebars {
            renderer.render_uncached(&input)
        } else {
            renderer.render(&input)
        }
        .expect("render");
        if !build {
            return rendered.html.len() + rendered.text.len();
        }
        let env = Envelope {
            from_name: &campaign.sender.name,
            from: &campaign.sender.email,
            to_name: Some(probe_name(locale)),
            to: &to,
            unsubscribe_url: &l.unsubscribe_url,
            unsubscribe_token: &l.unsubscribe_token,
            date: now,
            postmark_metadata: false,
        };
        message::build(&rendered, &env, sign)
            .expect("message")
            .bytes
            .len()
    };

    let time = |label: &str, count: usize, sign: Option<&DkimSigner>, build: bool, hb: bool| {
        for i in 0..count.min(200) {
            black_box(one(i, sign, build, hb));
        }
        let start = Instant::now();
        let mut bytes = 0;
        for i in 0..count {
            bytes += black_box(one(i, sign, build, hb));
        }
        let elapsed = start.elapsed();
        let us = elapsed.as_secs_f64() * 1e6 / count as f64;
        println!(
            "{label:<44} {us:>9.1} µs/message  ({count} messages, {:.2} s, {:.0} bytes each)",
            elapsed.as_secs_f64(),
            bytes as f64 / count as f64
        );
    };

    println!(
        "shipped template '{}', {} locales, compiled once in {:.1} ms",
        campaign.templates,
        locales.len(),
        compile.as_secs_f64() * 1e3
    );
    println!(
        "fast path for {} of {} (locale, wave, with/without name) combinations",
        renderer.fast_paths(),
        locales.len() * campaign.waves.len() * 2
    );
    let few = (n / 10).max(100);
    time(
        "links + render through Handlebars (reference)",
        few,
        None,
        false,
        true,
    );
    time(
        "links + render (subject, HTML, text)",
        n,
        None,
        false,
        false,
    );
    time("links + render + MIME", n, None, true, false);
    // RSA-2048 signing dominates; fewer messages keep the run short.
    time(
        "links + render + MIME + DKIM (RSA-2048)",
        few,
        Some(&dkim),
        true,
        false,
    );
}
