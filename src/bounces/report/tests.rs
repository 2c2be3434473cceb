use super::*;

const TOKEN: &str = "3f0c1e2d4b5a69788796a5b4c3d2e1f0";

/// Postfix's bounce, as sent to a VERP return path, with the original's headers.
fn postfix_hard() -> String {
    format!(
        "Return-Path: <>\r\n\
Delivered-To: bounce+{TOKEN}@bounces.shop.example\r\n\
From: MAILER-DAEMON@relay.example (Mail Delivery System)\r\n\
To: bounce+{TOKEN}@bounces.shop.example\r\n\
Subject: Undelivered Mail Returned to Sender\r\n\
Message-ID: <20260501080000.ABC123@relay.example>\r\n\
MIME-Version: 1.0\r\n\
Content-Type: multipart/report; report-type=delivery-status;\r\n\
\tboundary=\"B1\"\r\n\
\r\n\
--B1\r\n\
Content-Type: text/plain; charset=us-ascii\r\n\
\r\n\
I'm sorry to have to inform you that your message could not be delivered.\r\n\
\r\n\
--B1\r\n\
Content-Type: message/delivery-status\r\n\
\r\n\
Reporting-MTA: dns; relay.example\r\n\
Arrival-Date: Fri,  1 May 2026 08:00:00 +0000\r\n\
\r\n\
Final-Recipient: rfc822; jan@example.pl\r\n\
Original-Recipient: rfc822;jan@example.pl\r\n\
Action: failed\r\n\
Status: 5.1.1\r\n\
Remote-MTA: dns; mx.example.pl\r\n\
Diagnostic-Code: smtp; 550 5.1.1 <jan@example.pl>: Recipient address\r\n\
\t rejected: User unknown\r\n\
\r\n\
--B1\r\n\
Content-Type: text/rfc822-headers\r\n\
\r\n\
From: Tatra Tea <newsletter@shop.example>\r\n\
To: jan@example.pl\r\n\
Subject: Do you still want our offers?\r\n\
Message-ID: <{TOKEN}@shop.example>\r\n\
\r\n\
--B1--\r\n"
    )
}

/// A DSN for a message sent without VERP: only the original, whole, names it.
fn no_verp_soft(action: &str, status: &str) -> String {
    format!(
        "From: postmaster@relay.example\r\n\
To: newsletter@shop.example\r\n\
Subject: Delivery Status Notification\r\n\
MIME-Version: 1.0\r\n\
Content-Type: multipart/report; report-type=delivery-status; boundary=\"XX\"\r\n\
\r\n\
--XX\r\n\
Content-Type: text/plain\r\n\
\r\n\
Mailbox full.\r\n\
--XX\r\n\
Content-Type: message/delivery-status\r\n\
\r\n\
Reporting-MTA: dns;relay.example\r\n\
\r\n\
Final-Recipient: rfc822;ola@example.sk\r\n\
Action: {action}\r\n\
Status: {status}\r\n\
\r\n\
--XX\r\n\
Content-Type: message/rfc822\r\n\
\r\n\
From: newsletter@shop.example\r\n\
To: ola@example.sk\r\n\
Message-ID: <{TOKEN}@shop.example>\r\n\
Subject: hi\r\n\
\r\n\
body\r\n\
--XX--\r\n"
    )
}

/// RFC 5965 appendix B's example, pointed at this engine's message.
fn arf(feedback_type: &str) -> String {
    format!(
        "From: <abusedesk@example.com>\r\n\
Date: Thu, 8 Mar 2005 17:40:36 EDT\r\n\
Subject: FW: Earn money\r\n\
To: <abuse@example.net>\r\n\
MIME-Version: 1.0\r\n\
Content-Type: multipart/report; report-type=feedback-report;\r\n\
\tboundary=\"part1_13d.2e68ed54_boundary\"\r\n\
\r\n\
--part1_13d.2e68ed54_boundary\r\n\
Content-Type: text/plain; charset=\"US-ASCII\"\r\n\
Content-Transfer-Encoding: 7bit\r\n\
\r\n\
This is an email abuse report for an email message received from IP\r\n\
192.0.2.1 on Thu, 8 Mar 2005 14:00:00 EDT.\r\n\
\r\n\
--part1_13d.2e68ed54_boundary\r\n\
Content-Type: message/feedback-report\r\n\
\r\n\
Feedback-Type: {feedback_type}\r\n\
User-Agent: SomeGenerator/1.0\r\n\
Version: 1\r\n\
Original-Mail-From: <bounce+{TOKEN}@bounces.shop.example>\r\n\
Original-Rcpt-To: <user@example.com>\r\n\
Arrival-Date: Thu, 8 Mar 2005 14:00:00 EDT\r\n\
Reporting-MTA: dns; mail.example.com\r\n\
Source-IP: 192.0.2.1\r\n\
\r\n\
--part1_13d.2e68ed54_boundary\r\n\
Content-Type: message/rfc822\r\n\
Content-Disposition: inline\r\n\
\r\n\
From: <somespammer@example.net>\r\n\
Received: from mailserver.example.net (mailserver.example.net\r\n\
\t[192.0.2.1]) by example.com with ESMTP id M63d4137594e46;\r\n\
\tThu, 08 Mar 2005 14:00:00 -0400\r\n\
To: <Undisclosed Recipients>\r\n\
Subject: Earn money\r\n\
MIME-Version: 1.0\r\n\
Content-type: text/plain\r\n\
Message-ID: 8787KJKJ3K4J3K4J3K4J3.mail@example.net\r\n\
Date: Thu, 02 Sep 2004 12:31:03 -0500\r\n\
\r\n\
Spam Spam Spam\r\n\
--part1_13d.2e68ed54_boundary--\r\n"
    )
}

const AUTO_REPLY: &str = "From: jan@example.pl\r\nTo: newsletter@shop.example\r\n\
Subject: Out of office\r\nAuto-Submitted: auto-replied\r\n\r\nI am away until Monday.\r\n";

#[test]
fn reports_and_what_they_say() {
    use EventKind::*;
    let hard_detail = "550 5.1.1 <jan@example.pl>: Recipient address rejected: User unknown";
    // (message, kind, status, detail)
    type Case<'a> = (String, Option<EventKind>, Option<&'a str>, Option<&'a str>);
    let cases: Vec<Case> = vec![
        (
            postfix_hard(),
            Some(HardBounce),
            Some("5.1.1"),
            Some(hard_detail),
        ),
        (
            no_verp_soft("failed", "5.2.2"),
            Some(SoftBounce),
            Some("5.2.2"),
            None,
        ),
        (
            no_verp_soft("failed", "4.4.7 (delivery time expired)"),
            Some(SoftBounce),
            Some("4.4.7"),
            None,
        ),
        (
            no_verp_soft("failed", "5.4.4"),
            Some(HardBounce),
            Some("5.4.4"),
            None,
        ),
        (no_verp_soft("delayed", "4.4.1"), None, None, None),
        (no_verp_soft("delivered", "2.0.0"), None, None, None),
        (
            arf("abuse"),
            Some(Complaint),
            Some("abuse"),
            Some("SomeGenerator/1.0"),
        ),
        (
            arf("Fraud"),
            Some(Complaint),
            Some("fraud"),
            Some("SomeGenerator/1.0"),
        ),
        (arf("not-spam"), None, None, None),
        (AUTO_REPLY.to_string(), None, None, None),
        ("\u{0}\u{1}garbage".to_string(), None, None, None),
    ];
    for (raw, kind, status, detail) in cases {
        let reading = read(raw.as_bytes());
        match (kind, reading) {
            (Some(kind), Reading::Report(r)) => {
                assert_eq!(r.event.kind, kind, "{raw}");
                assert_eq!(r.event.status.as_deref(), status, "{raw}");
                if detail.is_some() {
                    assert_eq!(r.event.detail.as_deref(), detail, "{raw}");
                }
                assert_eq!(r.tokens.first().map(String::as_str), Some(TOKEN), "{raw}");
            }
            (None, Reading::NotAReport(_)) => {}
            (want, got) => panic!("{want:?} but {got:?} for\n{raw}"),
        }
    }
}

#[test]
fn the_report_key_is_its_message_id_or_its_hash() {
    let Reading::Report(r) = read(postfix_hard().as_bytes()) else {
        panic!("not read")
    };
    assert_eq!(r.key, "<20260501080000.ABC123@relay.example>");
    let Reading::Report(r) = read(no_verp_soft("failed", "5.2.2").as_bytes()) else {
        panic!("not read")
    };
    assert!(
        r.key.starts_with("sha256:") && r.key.len() == 71,
        "{}",
        r.key
    );
}

#[test]
fn a_hard_failure_wins_over_a_soft_one_among_recipients() {
    let raw = no_verp_soft("failed", "5.2.2").replace(
        "Status: 5.2.2\r\n",
        "Status: 5.2.2\r\n\r\nFinal-Recipient: rfc822;x@example.sk\r\nAction: failed\r\nStatus: 5.1.1\r\n",
    );
    let Reading::Report(r) = read(raw.as_bytes()) else {
        panic!("not read: {raw}")
    };
    assert_eq!(
        (r.event.kind, r.event.status.as_deref()),
        (EventKind::HardBounce, Some("5.1.1"))
    );
}

#[test]
fn blocks_split_on_blank_lines_of_either_ending() {
    let got = blocks(b"A: 1\r\n\r\nB: 2\nC: 3\n \nD: 4");
    assert_eq!(got, [&b"A: 1\r\n"[..], b"B: 2\nC: 3\n", b"D: 4"]);
}
