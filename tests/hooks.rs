//! The relays' webhooks, `POST /hooks/{ses,postmark,mailgun,sendgrid}`, on a running
//! `serve`: for each provider its documented payload for a bounce and a complaint, about
//! real deliveries, with a valid signature (applied, once) and a forged one (401,
//! nothing changed). Signatures are made with openssl, independently of the engine.

mod common;
use common::admin::{Serve, TOKEN, client, serve, sign_in};
use common::bounces::*;
use common::*;
use serde_json::json;

/// NOW as Unix seconds: the relays' timestamps.
fn now_unix() -> i64 {
    chrono::DateTime::parse_from_rfc3339(NOW)
        .unwrap()
        .timestamp()
}

struct Post {
    status: u16,
    body: String,
}

async fn post(server: &Serve, path: &str, headers: &[(&str, String)], body: &str) -> Post {
    let mut req = client()
        .post(format!("{}{path}", server.base))
        .header("content-type", "application/json")
        .body(body.to_string());
    for (k, v) in headers {
        req = req.header(*k, v);
    }
    let res = req.send().await.unwrap();
    Post {
        status: res.status().as_u16(),
        body: res.text().await.unwrap(),
    }
}

/// What each request must leave behind: the first wave's late counts, and the ledger
/// entries of the two contacts.
fn snapshot(sb: &Sandbox, a: &Sent, b: &Sent) -> (serde_json::Value, usize, usize) {
    (sb.wave(0), sb.ledger(&a.to).len(), sb.ledger(&b.to).len())
}

/// The checks every provider gets: the forged request refused with nothing changed, the
/// valid one applied with its source in the ledger, the same one again changing nothing.
async fn bounce_and_complaint(
    sb: &Sandbox,
    server: &Serve,
    path: &str,
    source: &str,
    (bounced, complained): (&Sent, &Sent),
    requests: [(Vec<(&str, String)>, String); 4],
) {
    let [forged_bounce, bounce, forged_complaint, complaint] = requests;
    let before = snapshot(sb, bounced, complained);
    for (headers, body) in [&forged_bounce, &forged_complaint] {
        let r = post(server, path, headers, body).await;
        assert_eq!(r.status, 401, "{path} forged: {}", r.body);
    }
    assert_eq!(
        snapshot(sb, bounced, complained),
        before,
        "a forged request changed something"
    );

    for (headers, body) in [&bounce, &complaint] {
        let r = post(server, path, headers, body).await;
        assert_eq!(r.status, 200, "{path}: {}", r.body);
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(&r.body).unwrap()["applied"],
            1,
            "{}",
            r.body
        );
    }
    assert_eq!(late(&sb.wave(0)), [1, 0, 1]);
    let entry = sb
        .ledger(&bounced.to)
        .into_iter()
        .find(|e| e["event"] == "bounced")
        .expect("a bounced entry");
    assert_eq!(entry["detail"]["source"], source);
    assert_eq!(entry["message_id"], bounced.message_id.as_str());
    assert_eq!(sb.json(&["explain", &complained.to])["class"], "withdrawn");
    let withdrawn = sb
        .ledger(&complained.to)
        .into_iter()
        .find(|e| e["event"] == "withdrawn")
        .unwrap();
    assert_eq!(withdrawn["detail"]["source"], source);

    figures_show_them(server).await;

    // A relay that retries its webhook: known, nothing changes.
    let after = snapshot(sb, bounced, complained);
    for (headers, body) in [&bounce, &complaint] {
        let r = post(server, path, headers, body).await;
        assert_eq!(r.status, 200);
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(&r.body).unwrap()["already_applied"],
            1
        );
    }
    assert_eq!(snapshot(sb, bounced, complained), after);
}

/// `/metrics` and the dashboard's campaign page count the late events of the wave.
async fn figures_show_them(server: &Serve) {
    let get = |path: &str| client().get(format!("{}{path}", server.base));
    let text = |req: reqwest::RequestBuilder| async move {
        req.send().await.unwrap().text().await.unwrap()
    };
    let metrics = text(get("/metrics").bearer_auth(TOKEN)).await;
    for kind in ["hard_bounce", "complaint"] {
        assert!(
            metrics
                .lines()
                .any(|l| l.starts_with("reconsent_late_events{")
                    && l.contains(&format!("kind=\"{kind}\""))
                    && l.contains("wave=\"initial\"")
                    && l.ends_with(" 1")),
            "{kind} in\n{metrics}"
        );
    }
    let cookie = sign_in(server).await;
    let page = text(get(&format!("/admin/campaigns/{CAMPAIGN}")).header("cookie", cookie)).await;
    for (label, n) in [
        ("Bounced later", 1),
        ("Soft bounces", 0),
        ("Spam complaints", 1),
    ] {
        let row = format!(r#"<tr class="late"><th scope="row">{label}</th><td>{n}</td></tr>"#);
        assert!(page.contains(&row), "{row} in\n{page}");
    }
}

/// Amazon SES through SNS. The SNS envelope:
/// https://docs.aws.amazon.com/sns/latest/dg/sns-message-and-json-formats.html ; the SES
/// notification inside: https://docs.aws.amazon.com/ses/latest/dg/notification-examples.html
#[tokio::test(flavor = "multi_thread")]
async fn ses_notifications_through_sns() {
    let (sb, sent) = sent("");
    let (key, cert) = sns_certificate(sb.dir.path());
    let topic = "arn:aws:sns:us-east-1:123456789012:ses-bounces";
    let cert_path = cert.display().to_string();
    let server = serve(
        &sb,
        &[
            (
                "RECONSENT__BOUNCES__SES__CERTIFICATE_FILE",
                cert_path.as_str(),
            ),
            ("RECONSENT__BOUNCES__SES__TOPIC_ARN", topic),
        ],
    );
    let (b, c) = (&sent[0], &sent[1]);
    let mail = |s: &Sent| {
        json!({
            "timestamp": "2026-11-22T00:00:00.000Z",
            "source": s.mail_from,
            "sourceArn": "arn:aws:ses:us-east-1:123456789012:identity/shop.example",
            "sendingAccountId": "123456789012",
            "messageId": "01000190a1b2c3d4-e5f6a7b8-0000-0000-0000-000000000000-000000",
            "destination": [s.to],
            "headersTruncated": false,
            "headers": [
                {"name": "From", "value": "Tatra Tea <newsletter@tatratea.example>"},
                {"name": "To", "value": s.to},
                {"name": "Message-ID", "value": s.message_id},
            ],
            "commonHeaders": {"from": ["Tatra Tea <newsletter@tatratea.example>"], "to": [s.to], "messageId": s.message_id, "subject": "Do you still want to hear from us?"}
        })
    };
    let bounce = json!({
        "notificationType": "Bounce",
        "bounce": {
            "bounceType": "Permanent",
            "bounceSubType": "General",
            "bouncedRecipients": [{"emailAddress": b.to, "action": "failed", "status": "5.1.1", "diagnosticCode": "smtp; 550 5.1.1 user unknown"}],
            "timestamp": "2026-11-22T00:00:05.000Z",
            "feedbackId": "01000190a1b2c3d4-bounce-000000",
            "remoteMtaIp": "192.0.2.10",
            "reportingMTA": "dsn; a8-70.smtp-out.amazonses.com"
        },
        "mail": mail(b)
    });
    let complaint = json!({
        "notificationType": "Complaint",
        "complaint": {
            "userAgent": "ExampleCorp Feedback Loop (V0.01)",
            "complainedRecipients": [{"emailAddress": c.to}],
            "complaintFeedbackType": "abuse",
            "arrivalDate": "2026-11-22T00:00:07.000Z",
            "timestamp": "2026-11-22T00:00:08.000Z",
            "feedbackId": "01000190a1b2c3d4-complaint-000000"
        },
        "mail": mail(c)
    });
    let dir = sb.dir.path();
    let sns = |id: &str, message: &serde_json::Value, version: &str, forge: bool| {
        let message = message.to_string();
        let timestamp = "2026-11-22T00:00:10.000Z";
        let signed = format!(
            "Message\n{message}\nMessageId\n{id}\nTimestamp\n{timestamp}\nTopicArn\n{topic}\nType\nNotification\n"
        );
        let digest = if version == "1" { "sha1" } else { "sha256" };
        let signature = openssl_sign(dir, &key, digest, signed.as_bytes());
        use base64::Engine;
        let body = json!({
            "Type": "Notification",
            "MessageId": id,
            "TopicArn": topic,
            "Message": if forge { message.replace("Permanent", "Transient").replace("abuse", "other") + " " } else { message },
            "Timestamp": timestamp,
            "SignatureVersion": version,
            "Signature": base64::engine::general_purpose::STANDARD.encode(signature),
            "SigningCertURL": "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-0000000000000000000000.pem",
            "UnsubscribeURL": "https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe"
        });
        (
            vec![("x-amz-sns-message-type", "Notification".to_string())],
            body.to_string(),
        )
    };
    bounce_and_complaint(
        &sb,
        &server,
        "/hooks/ses",
        "ses",
        (b, c),
        [
            sns("11111111-0000-0000-0000-000000000001", &bounce, "1", true),
            sns("11111111-0000-0000-0000-000000000001", &bounce, "1", false),
            sns(
                "11111111-0000-0000-0000-000000000002",
                &complaint,
                "2",
                true,
            ),
            sns(
                "11111111-0000-0000-0000-000000000002",
                &complaint,
                "2",
                false,
            ),
        ],
    )
    .await;
}

/// Postmark: https://postmarkapp.com/developer/webhooks/bounce-webhook and
/// https://postmarkapp.com/developer/webhooks/spam-complaint-webhook ; basic auth in the
/// webhook URL, as Postmark's documentation advises.
#[tokio::test(flavor = "multi_thread")]
async fn postmark_bounces_and_spam_complaints() {
    let (sb, sent) = sent("[bounces.postmark]\nuser = \"postmark\"\npassword = \"hook-pass\"\n");
    let server = serve(&sb, &[]);
    let (b, c) = (&sent[0], &sent[1]);
    for s in [b, c] {
        assert_eq!(s.postmark_token.as_deref(), Some(s.token()), "{s:?}");
    }
    let payload = |record: &str, kind: &str, code: i64, s: &Sent| {
        json!({
            "RecordType": record,
            "MessageStream": "outbound",
            "ID": 4323372036854775807_i64 - code,
            "Type": kind,
            "TypeCode": code,
            "Name": if code == 1 { "Hard bounce" } else { "Spam complaint" },
            "Tag": "reconsent",
            "MessageID": "883953f4-6105-42a2-a16a-77a8eac79483",
            "Metadata": {"reconsent-token": s.postmark_token},
            "ServerID": 23,
            "Description": "The server was unable to deliver your message (ex: unknown user, mailbox not found).",
            "Details": "smtp;550 5.1.1 The email account that you tried to reach does not exist.",
            "Email": s.to,
            "From": "newsletter@tatratea.example",
            "BouncedAt": "2026-11-22T00:00:05.9070259Z",
            "DumpAvailable": false,
            "Inactive": true,
            "CanActivate": true,
            "Subject": "Do you still want to hear from us?"
        })
        .to_string()
    };
    use base64::Engine;
    let auth = |pass: &str| {
        vec![(
            "authorization",
            format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(format!("postmark:{pass}"))
            ),
        )]
    };
    let bounce = payload("Bounce", "HardBounce", 1, b);
    let complaint = payload("SpamComplaint", "SpamComplaint", 512, c);
    bounce_and_complaint(
        &sb,
        &server,
        "/hooks/postmark",
        "postmark",
        (b, c),
        [
            (auth("guess"), bounce.clone()),
            (auth("hook-pass"), bounce),
            (Vec::new(), complaint.clone()),
            (auth("hook-pass"), complaint),
        ],
    )
    .await;
}

/// Mailgun: https://documentation.mailgun.com/docs/mailgun/user-manual/webhooks/securing-webhooks
/// and the `failed` / `complained` events of
/// https://documentation.mailgun.com/docs/mailgun/user-manual/events/
#[tokio::test(flavor = "multi_thread")]
async fn mailgun_failed_and_complained_events() {
    let (sb, sent) = sent("");
    let key = "key-3ax6xnjp29jd6fds4gc373sgvjxteol0";
    // The shop's receiver: a complaint is a withdrawal it must hear of.
    let shop = wiremock::MockServer::start().await;
    wiremock::Mock::given(wiremock::matchers::method("POST"))
        .respond_with(wiremock::ResponseTemplate::new(200))
        .mount(&shop)
        .await;
    let shop_url = format!("{}/hooks", shop.uri());
    let server = serve(
        &sb,
        &[
            ("RECONSENT__BOUNCES__MAILGUN__SIGNING_KEY", key),
            ("RECONSENT__WEBHOOKS__URL", shop_url.as_str()),
            (
                "RECONSENT__WEBHOOKS__SECRET",
                "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            ),
        ],
    );
    let (b, c) = (&sent[0], &sent[1]);
    let ts = now_unix().to_string();
    let body = |event: serde_json::Value, token: &str, forge: bool| {
        let signature = openssl_hmac(key, &format!("{ts}{token}"));
        let signature = if forge {
            openssl_hmac("not-the-key", &format!("{ts}{token}"))
        } else {
            signature
        };
        (
            Vec::new(),
            json!({
                "signature": {"timestamp": ts, "token": token, "signature": signature},
                "event-data": event
            })
            .to_string(),
        )
    };
    let message = |s: &Sent| json!({"headers": {"to": s.to, "message-id": s.message_id.trim_matches(['<', '>']), "from": "Tatra Tea <newsletter@tatratea.example>", "subject": "Do you still want to hear from us?"}, "attachments": [], "size": 111});
    let failed = json!({
        "event": "failed",
        "id": "G9Bn5sl1TC6nu79C8C0bwg",
        "timestamp": now_unix() as f64 + 0.375624,
        "log-level": "error",
        "severity": "permanent",
        "reason": "bounce",
        "recipient": b.to,
        "recipient-domain": b.to.split('@').nth(1),
        "envelope": {"sender": b.mail_from, "transport": "smtp", "targets": b.to},
        "message": message(b),
        "delivery-status": {"attempt-no": 1, "code": 550, "enhanced-code": "5.1.1", "message": "5.1.1 The email account that you tried to reach does not exist.", "description": "", "mx-host": "mx.example.com"}
    });
    let complained = json!({
        "event": "complained",
        "id": "-Agny091SquKnsrW2NEKUA",
        "timestamp": now_unix() as f64 + 0.51,
        "log-level": "warn",
        "recipient": c.to,
        "envelope": {"sender": c.mail_from, "transport": "smtp", "targets": c.to},
        "message": message(c)
    });
    bounce_and_complaint(
        &sb,
        &server,
        "/hooks/mailgun",
        "mailgun",
        (b, c),
        [
            body(
                failed.clone(),
                "a8ce0edb2dd8301dee6c2405235584e45aa91d1e9f979f3de0",
                true,
            ),
            body(
                failed,
                "a8ce0edb2dd8301dee6c2405235584e45aa91d1e9f979f3de0",
                false,
            ),
            body(
                complained.clone(),
                "b9df1fec3ee9412eff7d3516346695f56bba2e2f0a8a4e4ef1",
                true,
            ),
            body(
                complained,
                "b9df1fec3ee9412eff7d3516346695f56bba2e2f0a8a4e4ef1",
                false,
            ),
        ],
    )
    .await;
}

/// SendGrid's signed event webhook:
/// https://www.twilio.com/docs/sendgrid/for-developers/tracking-events/getting-started-event-webhook-security-features
/// with the `bounce` and `spamreport` events of
/// https://www.twilio.com/docs/sendgrid/for-developers/tracking-events/event
#[tokio::test(flavor = "multi_thread")]
async fn sendgrid_signed_bounce_and_spamreport_events() {
    let (sb, sent) = sent("");
    let (key, public) = p256_key(sb.dir.path());
    let server = serve(
        &sb,
        &[("RECONSENT__BOUNCES__SENDGRID__PUBLIC_KEY", public.as_str())],
    );
    let (b, c) = (&sent[0], &sent[1]);
    let bounce = json!([{
        "email": b.to, "timestamp": now_unix(), "smtp-id": b.message_id, "event": "bounce",
        "category": ["reconsent"], "sg_event_id": "6g4ZI7SA-xmRDv57GoPIPw==",
        "sg_message_id": "14c5d75ce93.dfd.64b469.filter0001.16648.5515E0B88.0",
        "reason": "500 unknown recipient", "status": "5.0.0", "type": "bounce",
        "bounce_classification": "Invalid Address"
    }])
    .to_string();
    let spam = json!([{
        "email": c.to, "timestamp": now_unix(), "smtp-id": c.message_id, "event": "spamreport",
        "sg_event_id": "37nvH5QBz858KGVYCM4uOA==",
        "sg_message_id": "14c5d75ce93.dfd.64b469.filter0001.16648.5515E0B88.1"
    }])
    .to_string();
    let dir = sb.dir.path();
    let signed = |body: &str, forge: bool| {
        let ts = now_unix().to_string();
        let sig = openssl_sign(dir, &key, "sha256", format!("{ts}{body}").as_bytes());
        use base64::Engine;
        let headers = vec![
            (
                "x-twilio-email-event-webhook-signature",
                base64::engine::general_purpose::STANDARD.encode(sig),
            ),
            ("x-twilio-email-event-webhook-timestamp", ts),
        ];
        let body = if forge {
            body.replace("\"bounce\"", "\"delivered\"")
                .replace("spamreport", "open")
        } else {
            body.to_string()
        };
        (headers, body)
    };
    bounce_and_complaint(
        &sb,
        &server,
        "/hooks/sendgrid",
        "sendgrid",
        (b, c),
        [
            signed(&bounce, true),
            signed(&bounce, false),
            signed(&spam, true),
            signed(&spam, false),
        ],
    )
    .await;
}
