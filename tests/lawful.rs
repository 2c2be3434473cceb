//! What leaves is still lawful when it leaves, and only what was on the wire when a
//! sender died counts as `unknown`.

mod common;
use common::servers::*;
use common::*;
use std::time::{Duration, Instant};

const CAMPAIGN: &str = "campaigns/example.toml";

/// `send --until-idle` to `url`; a sender that never goes idle fails the test instead
/// of hanging it.
fn send_until_idle(sb: &Sandbox, url: &str) -> String {
    let mut child = sb
        .process()
        .env("RECONSENT__TRANSPORT", url)
        .args(["send", "--until-idle"])
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(sb.path("send.log")).expect("a log file"))
        .spawn()
        .expect("start send");
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for send") {
            break status;
        }
        if start.elapsed() > Duration::from_secs(120) {
            let _ = child.kill();
            panic!("send --until-idle did not finish: something stays claimed for ever");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let log = std::fs::read_to_string(sb.path("send.log")).unwrap_or_default();
    assert!(status.success(), "send failed: {log}");
    log
}

fn recipients(maildir: &std::path::Path) -> Vec<String> {
    read_messages(maildir)
        .iter()
        .map(|m| m["to"].as_str().unwrap_or_default().to_lowercase())
        .collect()
}

#[test]
fn contacts_who_withdraw_lose_their_basis_or_are_forgotten_after_launch_get_no_message() {
    let sb = Sandbox::with_campaign("500/s");
    // Three weak pre-GDPR consents and a Czech customer (soft opt-in): all may be asked.
    let extra = format!(
        "{HEADER}\n\
         anna.late@example.pl,Anna Late,pl,PL,true,2025-01-01,,2017-03-01,single_opt_in,false,false,,,,,\n\
         piotr.late@example.pl,Piotr Late,pl,PL,true,2025-01-01,,2017-03-01,single_opt_in,false,false,,,,,\n\
         ewa.stays@example.pl,Ewa Stays,pl,PL,true,2025-01-01,,2017-03-01,single_opt_in,false,false,,,,,\n\
         jiri.late@example.cz,Jiri Late,cs,CZ,true,2026-06-01,,,,,,,,,,\n"
    );
    sb.ok(&["import", sb.write("extra.csv", extra).to_str().unwrap()]);
    sb.ok(&["campaign", "launch", CAMPAIGN]);
    let targeted = sb.status()["targeted"].as_i64().unwrap();

    // After the launch: Anna withdraws in the shop, Jiří is no longer a customer, Piotr
    // asks to be forgotten.
    let later = format!(
        "{HEADER}\n\
         anna.late@example.pl,,,,,,,,,,,,,,2026-11-21,\n\
         jiri.late@example.cz,,,,false,,,,,,,,,,,\n"
    );
    sb.ok(&["import", sb.write("later.csv", later).to_str().unwrap()]);
    sb.ok(&["forget", "piotr.late@example.pl"]);

    let maildir = sb.path("maildir");
    let server = answering_server(&maildir);
    send_until_idle(&sb, &server.url());
    server.stop();

    let to = recipients(&maildir);
    assert!(to.contains(&"ewa.stays@example.pl".to_string()));
    for gone in [
        "anna.late@example.pl",
        "piotr.late@example.pl",
        "jiri.late@example.cz",
    ] {
        assert!(!to.contains(&gone.to_string()), "{gone} was e-mailed");
    }
    let status = sb.status();
    let reasons = &status["cancelled_reasons"];
    assert_eq!(reasons["withdrawn"], 1, "{status}");
    assert_eq!(reasons["no_basis"], 1, "{status}");
    assert_eq!(reasons["erased"], 1, "{status}");
    assert_eq!(status["cancelled"], 3, "{status}");
    assert_eq!(
        status["sent"].as_i64().unwrap() + status["bounced"].as_i64().unwrap() + 3,
        targeted,
        "{status}"
    );
    // The marketer sees why.
    let text = sb.ok(&["campaign", "status", "spring-reconsent"]).stdout;
    assert!(text.contains("withdrew since launch"), "{text}");
}

#[test]
fn a_sender_killed_against_a_slow_server_leaves_unknown_only_what_was_on_the_wire() {
    let sb = Sandbox::with_campaign("1000/s");
    sb.ok(&["campaign", "launch", CAMPAIGN]);
    let targeted = sb.status()["targeted"].as_i64().unwrap();
    let maildir = sb.path("maildir");
    // Each message is stored at once and answered a quarter second later: at any
    // moment up to one message per connection is truly in flight.
    let server = answering_server_with(&maildir, 0.25, false);
    let mut child = sb
        .process()
        .env("RECONSENT__TRANSPORT", server.url())
        .env("RECONSENT__SENDING__CONNECTIONS", "4")
        .args(["send", "--until-idle"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start send");
    let start = Instant::now();
    while dumped(&maildir.join("new")) < 12 {
        assert!(start.elapsed() < Duration::from_secs(60), "nothing arrived");
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().expect("SIGKILL");
    child.wait().expect("reap");
    let at_kill = dumped(&maildir.join("new"));
    assert!(
        (at_kill as i64) < targeted / 2,
        "the kill came too late to test anything"
    );

    send_until_idle(&sb, &server.url());
    server.stop();
    let to = recipients(&maildir);
    let mut unique = to.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), to.len(), "someone got two messages");

    let status = sb.status();
    let (sent, unknown) = (
        status["sent"].as_i64().unwrap(),
        status["unknown"].as_i64().unwrap(),
    );
    assert_eq!(
        sent + unknown,
        targeted,
        "everyone sent or unknown: {status}"
    );
    // The slow server stores each message as soon as it has it: every `unknown` must
    // be a message it received (its answer was never recorded), and whatever else the
    // dead sender had claimed or rendered went out once after the restart.
    let received = to.len() as i64;
    assert_eq!(
        received,
        sent + unknown,
        "{received} received, {sent} sent, {unknown} unknown"
    );
    assert!(
        unknown <= 8,
        "{unknown} unknown with 4 connections: {status}"
    );
}

/// A launched base with one contact whose address has a UTF-8 local part, sent to
/// a server that offers SMTPUTF8 or not; the recipients it received.
fn send_to_jurgen(smtputf8: bool) -> (Sandbox, Vec<String>) {
    let sb = Sandbox::with_campaign("500/s");
    let extra = format!("{HEADER}\njürgen@bücher.example,Jürgen,de,DE,true,2026-06-01,,,,,,,,,,\n");
    sb.ok(&["import", sb.write("extra.csv", extra).to_str().unwrap()]);
    sb.ok(&["campaign", "launch", CAMPAIGN]);
    let maildir = sb.path("maildir");
    let server = answering_server_with(&maildir, 0.0, smtputf8);
    send_until_idle(&sb, &server.url());
    server.stop();
    let to = recipients(&maildir);
    (sb, to)
}

#[test]
fn a_utf8_address_goes_only_to_a_server_that_offers_smtputf8() {
    let (sb, to) = send_to_jurgen(false);
    assert!(
        !to.iter().any(|t| t.starts_with("jürgen@")),
        "sent to a server without SMTPUTF8"
    );
    let status = sb.status();
    assert_eq!(status["failed"], 1, "{status}");
    let why = status["failed_reasons"].to_string();
    assert!(why.contains("SMTPUTF8"), "{why}");

    let (sb, to) = send_to_jurgen(true);
    assert!(to.iter().any(|t| t.starts_with("jürgen@")), "{to:?}");
    assert_eq!(sb.status()["failed"], 0);
}
