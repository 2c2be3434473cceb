//! Bounces and complaints that arrive after sending: DSNs and feedback-loop reports
//! built for real deliveries (sent to aiosmtpd, VERP return paths read from what it
//! received), read from a Maildir and from a real IMAP server (Dovecot, over TLS and
//! STARTTLS), each applied once, whatever is read again or killed half-way.

mod common;
use common::bounces::*;
use common::servers::{aiosmtpd_maildir, read_messages};
use common::*;
use std::path::Path;
use std::time::{Duration, Instant};

trait Fetching {
    fn fetch(&self, mailbox: &str, ca: Option<&Path>) -> serde_json::Value;
    fn fetch_cmd(&self, mailbox: &str, ca: Option<&Path>) -> std::process::Command;
}

impl Fetching for Sandbox {
    fn fetch_cmd(&self, mailbox: &str, ca: Option<&Path>) -> std::process::Command {
        let mut c = self.process();
        c.env("RECONSENT__BOUNCES__MAILBOX", mailbox)
            .args(["bounces", "fetch", "--json"]);
        if let Some(ca) = ca {
            c.env("RECONSENT__BOUNCES__TLS_CA_FILE", ca);
        }
        c
    }

    fn fetch(&self, mailbox: &str, ca: Option<&Path>) -> serde_json::Value {
        let out = self.fetch_cmd(mailbox, ca).output().unwrap();
        assert!(
            out.status.success(),
            "bounces fetch: {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    }
}

fn counts(r: &serde_json::Value) -> [u64; 6] {
    [
        "hard_bounces",
        "soft_bounces",
        "complaints",
        "already_applied",
        "unmatched",
        "skipped",
    ]
    .map(|k| r[k].as_u64().unwrap_or_else(|| panic!("{k} in {r}")))
}

const NOBODY: &str = "bounce+0123456789abcdef0123456789abcdef@bounces.shop.example";

#[test]
fn a_maildir_of_reports_is_applied_once_and_what_follows_respects_it() {
    let (sb, sent) = sent("");
    let (hard, soft, complained, delayed) = (&sent[0], &sent[1], &sent[2], &sent[3]);
    let inbox = sb.path("bounces");
    // A hard bounce found by its return path alone; a soft one (mailbox full) by the
    // original's Message-ID alone, as from a relay that rewrote the envelope sender.
    deliver(
        &inbox,
        "1",
        &dsn("d1", &hard.mail_from, &hard.to, "5.1.1", None),
    );
    deliver(
        &inbox,
        "2",
        &dsn(
            "d2",
            "newsletter@tatratea.example",
            &soft.to,
            "5.2.2",
            Some(&soft.message_id),
        ),
    );
    deliver(
        &inbox,
        "3",
        &arf(
            "c1",
            &complained.mail_from,
            &complained.to,
            &complained.message_id,
        ),
    );
    deliver(
        &inbox,
        "4",
        &dsn("d4", &delayed.mail_from, &delayed.to, "4.4.1", None),
    );
    deliver(
        &inbox,
        "5",
        &dsn("d5", NOBODY, "gone@example.com", "5.1.1", None),
    );
    deliver(&inbox, "6", &junk("j1"));
    let mailbox = format!("maildir://{}", inbox.display());
    let before = sb.wave(0);

    // Without a mailbox, the command says what to set.
    let none = sb.run(&["bounces", "fetch"]);
    assert_eq!(none.code, 1);
    assert!(none.stderr.contains("[bounces] mailbox"), "{}", none.stderr);

    let first = sb.fetch(&mailbox, None);
    assert_eq!(counts(&first), [1, 1, 1, 0, 1, 2], "{first:#}");
    assert_eq!(
        (
            count(&inbox, ""),
            count(&inbox, "Processed"),
            count(&inbox, "Unmatched")
        ),
        (0, 3, 3)
    );
    let after = sb.wave(0);
    assert_eq!(late(&after), [1, 1, 1], "{after:#}");
    assert_eq!(
        after["bounced"].as_i64().unwrap(),
        before["bounced"].as_i64().unwrap() + 1
    );
    assert_eq!(
        after["sent"].as_i64().unwrap(),
        before["sent"].as_i64().unwrap() - 1
    );

    // The ledger says what happened, where it was learnt, and with what code.
    let bounced: Vec<_> = sb
        .ledger(&hard.to)
        .into_iter()
        .filter(|e| e["event"] == "bounced")
        .collect();
    assert_eq!(bounced.len(), 1, "{bounced:?}");
    assert_eq!(bounced[0]["detail"]["source"], "mailbox");
    assert_eq!(bounced[0]["detail"]["status"], "5.1.1");
    assert_eq!(bounced[0]["message_id"], hard.message_id.as_str());
    assert_eq!(sb.json(&["explain", &complained.to])["class"], "withdrawn");
    assert_eq!(
        sb.ledger(&soft.to)
            .iter()
            .filter(|e| e["event"] == "soft_bounced")
            .count(),
        1
    );

    // Read again: nothing there. The same reports delivered again: known, nothing changes.
    assert_eq!(counts(&sb.fetch(&mailbox, None)), [0; 6]);
    for (name, text) in [
        ("1b", dsn("d1", &hard.mail_from, &hard.to, "5.1.1", None)),
        (
            "2b",
            dsn(
                "d2",
                "newsletter@tatratea.example",
                &soft.to,
                "5.2.2",
                Some(&soft.message_id),
            ),
        ),
        (
            "3b",
            arf(
                "c1",
                &complained.mail_from,
                &complained.to,
                &complained.message_id,
            ),
        ),
    ] {
        deliver(&inbox, name, &text);
    }
    assert_eq!(counts(&sb.fetch(&mailbox, None)), [0, 0, 0, 3, 0, 0]);
    assert_eq!(sb.wave(0), after);
    assert_eq!(
        sb.ledger(&hard.to)
            .iter()
            .filter(|e| e["event"] == "bounced")
            .count(),
        1
    );

    // A week on, the reminder goes to the soft-bounced, not to who complained or bounced.
    let week = "2026-11-30T00:00:00Z";
    let smtp = aiosmtpd_maildir(&sb.path("reminders"));
    sb.ok_with(&smtp.url(), &["send", "--until-idle", "--now", week]);
    smtp.stop();
    let reminded: Vec<String> = read_messages(&sb.path("reminders"))
        .iter()
        .map(|m| m["to"].as_str().unwrap().to_string())
        .collect();
    assert!(reminded.contains(&soft.to), "{reminded:?}");
    for gone in [&hard.to, &complained.to] {
        assert!(!reminded.contains(gone), "{gone} got a reminder");
    }

    // After the campaign's grace the hard-bounced address is erased; the complainer at once.
    sb.ok(&["purge", "--now", "2026-12-01T00:00:00Z"]);
    for gone in [&hard.to, &complained.to] {
        assert!(!in_database(&sb, gone), "{gone} is still in the database");
    }
    assert!(in_database(&sb, &soft.to));
}

/// Dovecot, over imaps and over STARTTLS: each report applied once, the reports moved
/// into folders on the server, and nothing changed by a second pass.
#[test]
fn an_imap_mailbox_over_tls_and_starttls() {
    let (sb, sent) = sent("");
    let dovecot = Dovecot::start(&sb.path("dovecot"));
    for (i, s) in sent[..4].iter().enumerate() {
        dovecot.deliver(
            &format!("h{i}"),
            &dsn(&format!("h{i}"), &s.mail_from, &s.to, "5.1.1", None),
        );
    }
    let c = &sent[4];
    dovecot.deliver("c", &arf("c", &c.mail_from, &c.to, &c.message_id));
    dovecot.deliver("j", &junk("j"));
    let ca = Some(dovecot.ca.as_path());

    // The server's certificate is not trusted without its authority.
    let untrusted = sb.fetch_cmd(&dovecot.imaps_url(), None).output().unwrap();
    assert_eq!(untrusted.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&untrusted.stderr).contains("bounce mailbox"));
    // A wrong password is refused with the user named, and nothing is read.
    let wrong = dovecot.imaps_url().replace("s3cret%2Bpw", "wrong");
    let refused = sb.fetch_cmd(&wrong, ca).output().unwrap();
    assert_eq!(refused.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("logging in as bounces"));

    let first = sb.fetch(&dovecot.imaps_url(), ca);
    assert_eq!(counts(&first), [4, 0, 1, 0, 0, 1], "{first:#}");
    let m = &dovecot.maildir;
    assert_eq!(
        (count(m, ""), count(m, "Processed"), count(m, "Unmatched")),
        (0, 5, 1)
    );
    assert_eq!(late(&sb.wave(0)), [4, 0, 1]);

    let second = sb.fetch(&dovecot.starttls_url(), ca);
    assert_eq!(counts(&second), [0; 6], "{second:#}");
    assert_eq!(late(&sb.wave(0)), [4, 0, 1]);
}

/// `bounces fetch` killed while it works through the mailbox, then run again: every
/// report applied exactly once, none lost, none left behind.
#[test]
fn a_fetch_killed_half_way_loses_nothing_and_applies_nothing_twice() {
    let (sb, sent) = sent("");
    let dovecot = Dovecot::start(&sb.path("dovecot"));
    let n = 60;
    for (i, s) in sent[..n].iter().enumerate() {
        dovecot.deliver(
            &format!("m{i:03}"),
            &dsn(&format!("m{i}"), &s.mail_from, &s.to, "5.1.1", None),
        );
    }
    let ca = Some(dovecot.ca.as_path());
    let mut child = sb.fetch_cmd(&dovecot.starttls_url(), ca).spawn().unwrap();
    let m = &dovecot.maildir;
    let deadline = Instant::now() + Duration::from_secs(60);
    while count(m, "Processed") == 0 {
        assert!(Instant::now() < deadline, "fetch moved nothing");
        assert!(
            child.try_wait().unwrap().is_none(),
            "fetch ended before it could be killed"
        );
        std::thread::sleep(Duration::from_millis(1));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let moved_before = count(m, "Processed");
    assert!(moved_before < n, "the kill came after the whole pass");

    let again = sb.fetch(&dovecot.starttls_url(), ca);
    let [hard, _, _, already, unmatched, skipped] = counts(&again);
    assert_eq!((unmatched, skipped), (0, 0));
    // Moved before the kill, or read again now: at most one read again was applied.
    assert_eq!(hard + already, (n - moved_before) as u64, "{again:#}");
    assert!(already <= 1, "{again:#}");
    assert_eq!((count(m, ""), count(m, "Processed")), (0, n));
    assert_eq!(late(&sb.wave(0)), [n as i64, 0, 0]);
    for s in &sent[..n] {
        let bounced = sb
            .ledger(&s.to)
            .iter()
            .filter(|e| e["event"] == "bounced")
            .count();
        assert_eq!(bounced, 1, "{}", s.to);
    }
}

/// `serve` reads the mailbox by itself, every `[bounces] every`.
#[test]
fn serve_reads_the_bounce_mailbox_by_itself() {
    let (sb, sent) = sent("");
    let inbox = sb.path("bounces");
    deliver(&inbox, "1", &junk("j"));
    let mailbox = format!("maildir://{}", inbox.display());
    let _server = common::admin::serve(
        &sb,
        &[
            ("RECONSENT__BOUNCES__MAILBOX", mailbox.as_str()),
            ("RECONSENT__BOUNCES__EVERY", "1s"),
        ],
    );
    let s = &sent[0];
    deliver(&inbox, "2", &dsn("d", &s.mail_from, &s.to, "5.1.1", None));
    let deadline = Instant::now() + Duration::from_secs(30);
    while count(&inbox, "Processed") < 1 {
        assert!(Instant::now() < deadline, "serve did not read the mailbox");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(late(&sb.wave(0)), [1, 0, 0]);
    assert_eq!((count(&inbox, ""), count(&inbox, "Unmatched")), (0, 1));
}
