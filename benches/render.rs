//! Render cost per request e-mail for the shipped template: links signed, templates
//! rendered, MIME built, with and without DKIM; then the cost of one DKIM signature
//! alone: RSA-2048 and Ed25519 as reconsent signs now (aws-lc), beside the signer it
//! had before (lettre's, on the pure-Rust `rsa` crate).
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
    .expect("DKIM key")
    .with_ed25519(
        &std::fs::read_to_string(root.join("tests/support/dkim-test.ed25519.pem")).expect("key"),
        "bench-ed",
    )
    .expect("Ed25519 key");
    let rsa_only = DkimSigner::from_pem(
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
    time(
        "links + render + MIME + DKIM (RSA-2048)",
        few,
        Some(&rsa_only),
        true,
        false,
    );
    time(
        "links + render + MIME + DKIM (RSA-2048 + Ed25519)",
        few,
        Some(&dkim),
        true,
        false,
    );
    signatures(&one_message(&campaign, &renderer, now), root, few);
}

/// One request e-mail, unsigned, to sign over and over.
fn one_message(
    campaign: &Campaign,
    renderer: &Renderer,
    now: reconsent::domain::Instant,
) -> Vec<u8> {
    let locale = Locale::parse("pl").expect("locale");
    let l = links(
        &LinkSigner::new([7; 32]),
        "https://r.shop.example",
        &campaign.name,
        "00ff",
        now,
    )
    .expect("links");
    let rendered = renderer
        .render(&RenderInput {
            locale: Some(&locale),
            name: Some(probe_name(&locale)),
            confirm_url: &l.confirm_url,
            leave_url: &l.leave_url,
            bonus_code: "WELCOMEBACK10",
            deadline: now,
            wave: 0,
        })
        .expect("render");
    let to = EmailAddress::parse("jana.novakova@example.sk").expect("address");
    let env = Envelope {
        from_name: &campaign.sender.name,
        from: &campaign.sender.email,
        to_name: Some(probe_name(&locale)),
        to: &to,
        unsubscribe_url: &l.unsubscribe_url,
        unsubscribe_token: &l.unsubscribe_token,
        date: now,
        postmark_metadata: false,
    };
    message::build(&rendered, &env, None)
        .expect("message")
        .bytes
}

/// µs per signature of the same message: each key alone, and the old signer.
fn signatures(message: &[u8], root: &Path, count: usize) {
    let read =
        |name: &str| std::fs::read_to_string(root.join("tests/support").join(name)).expect("key");
    let rsa =
        DkimSigner::from_pem(&read("dkim-test.pkcs8.pem"), "bench", "shop.example").expect("key");
    let both = DkimSigner::from_pem(&read("dkim-test.pkcs8.pem"), "bench", "shop.example")
        .and_then(|s| s.with_ed25519(&read("dkim-test.ed25519.pem"), "bench-ed"))
        .expect("keys");
    let per = |count: usize, f: &mut dyn FnMut()| -> f64 {
        for _ in 0..count.min(50) {
            f();
        }
        let start = Instant::now();
        for _ in 0..count {
            f();
        }
        start.elapsed().as_secs_f64() * 1e6 / count as f64
    };
    let show = |label: &str, us: f64, how: &str| {
        println!("{label:<44} {us:>9.1} µs/signature  ({how})");
    };
    println!(
        "DKIM signature alone, relaxed/relaxed, over one {}-byte message:",
        message.len()
    );
    // Ed25519 is the difference of two timings ten times its size: they are taken in
    // turns, five rounds each, and the fastest round of each counts (a busy machine only
    // ever adds time).
    let (mut rsa_us, mut both_us) = (f64::MAX, f64::MAX);
    let round = (count / 5).max(1);
    for _ in 0..5 {
        rsa_us = rsa_us.min(per(round, &mut || {
            black_box(rsa.sign(black_box(message), 1_777_000_000).expect("sign"));
        }));
        both_us = both_us.min(per(round, &mut || {
            black_box(both.sign(black_box(message), 1_777_000_000).expect("sign"));
        }));
    }
    let how = format!("fastest of 5 rounds of {round}, {} bytes", message.len());
    show("RSA-2048 (aws-lc)", rsa_us, &how);
    show("RSA-2048 + Ed25519 (aws-lc)", both_us, &how);
    show(
        "Ed25519 (aws-lc)",
        both_us - rsa_us,
        "the difference of the two lines above",
    );
    let old = old_signer(&read("dkim-test.pkcs1.pem"));
    let lettre_message = old_message(message);
    let old_count = (count / 10).max(20);
    let old_us = per(old_count, &mut || {
        let mut m = lettre_message.clone();
        m.sign(&old);
        black_box(m.formatted());
    });
    show(
        "RSA-2048 before (lettre dkim, `rsa` crate)",
        old_us,
        &format!("{old_count} signatures"),
    );
    println!("{:<44} {:>9.1}x", "RSA now vs before", old_us / rsa_us);
    // For scripts/bench-all's summary, when it asks.
    if let Ok(path) = std::env::var("BENCH_FIGURES") {
        let line = format!(
            "dkim|RSA-2048, one signature|{rsa_us:.0} µs|before (`rsa` crate) {old_us:.0} µs|{:.1}x faster|300 µs\n\
             dkim|Ed25519, one signature|{:.0} µs|-|-|-\n",
            old_us / rsa_us,
            both_us - rsa_us
        );
        use std::io::Write;
        let appended = std::fs::OpenOptions::new()
            .append(true)
            .create(true)
            .open(&path)
            .and_then(|mut f| f.write_all(line.as_bytes()));
        if let Err(e) = appended {
            eprintln!("{path}: {e}");
        }
    }
}

fn old_signer(pkcs1: &str) -> lettre::message::dkim::DkimConfig {
    use lettre::message::dkim::*;
    use lettre::message::header::HeaderName;
    DkimConfig::new(
        "bench".into(),
        "shop.example".into(),
        DkimSigningKey::new(pkcs1, DkimSigningAlgorithm::Rsa).expect("key"),
        reconsent::campaign::dkim::SIGNED_HEADERS
            .iter()
            .map(|h| HeaderName::new_from_ascii_str(h))
            .collect(),
        DkimCanonicalization {
            header: DkimCanonicalizationType::Relaxed,
            body: DkimCanonicalizationType::Relaxed,
        },
    )
}

/// A lettre message with the same body, for the old signer.
fn old_message(message: &[u8]) -> lettre::Message {
    let body = message
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map_or(message, |i| &message[i + 4..]);
    lettre::Message::builder()
        .from("Tatra Tea <newsletter@shop.example>".parse().expect("from"))
        .to("jana.novakova@example.sk".parse().expect("to"))
        .subject("Czy nadal chcesz dostawać nasze oferty?")
        .body(String::from_utf8_lossy(body).into_owned())
        .expect("message")
}
