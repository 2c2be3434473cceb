//! The dashboard's closer looks, driven over HTTP against `reconsent serve` after a real
//! send: answers over time, the confirmation rate by country and by consent class at
//! launch, the counters behind them against a recount, the bounces by the
//! server's answer, the deletion calendar before and after the deadline, and the
//! overview's erasures due within 30 days.

mod common;
use common::admin::*;
use common::servers;
use common::*;
use reconsent::domain::{EmailAddress, parse_instant};
use reconsent::policy::{ContactClass, Policy};
use reconsent::store::Store;
use reconsent::tokens::{LinkSigner, Purpose};
use std::collections::BTreeMap;
use std::time::Duration;

/// An hour after the send: answers are not suspect, and the campaign is charted per hour.
const BROWSER: &str = "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0";
const LATER: &str = "2026-11-22T01:00:00Z";

fn serve(sb: &Sandbox, now: &str) -> Serve {
    common::admin::serve(sb, &[("RECONSENT_NOW", now)])
}

async fn get(server: &Serve, cookie: &str, path: &str) -> String {
    let res = client()
        .get(format!("{}{path}", server.base))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "{path}");
    res.text().await.unwrap()
}

/// The part of `page` in the section with id `id`.
fn section<'a>(page: &'a str, id: &str) -> &'a str {
    let start = page
        .find(&format!("<section id=\"{id}\""))
        .or_else(|| page.find(&format!("id=\"{id}\"")))
        .unwrap_or_else(|| panic!("no section {id} in {page}"));
    let rest = &page[start..];
    &rest[..rest.find("</section>").unwrap_or(rest.len())]
}

fn key(email: &str) -> String {
    EmailAddress::parse(email).unwrap().key().to_string()
}

/// Each example contact's country and legal hold, by address key.
fn example_contacts() -> BTreeMap<String, (String, bool)> {
    let mut reader = csv::Reader::from_path(examples()).unwrap();
    reader
        .records()
        .map(|r| {
            let r = r.unwrap();
            (
                key(&r[0]),
                (r[3].to_uppercase(), r[15].eq_ignore_ascii_case("true")),
            )
        })
        .collect()
}

/// The consent class of every contact at launch (`NOW`), by address key.
async fn classes(sb: &Sandbox) -> BTreeMap<String, ContactClass> {
    let store = Store::open(sb.path("reconsent.db").to_str().unwrap())
        .await
        .unwrap();
    let now = parse_instant(NOW).unwrap();
    let mut all = BTreeMap::new();
    let mut pages = store.contacts(10_000);
    while let Some(page) = pages.recv().await {
        for c in page.unwrap() {
            let class = Policy::default().classify(&c.contact, now).class;
            all.insert(c.contact.email.key().to_string(), class);
        }
    }
    store.close().await;
    all
}

/// The row of a rate table for a group: asked, confirmed, the rate, none suspect.
fn rate_row(shown: &str, asked: usize, yes: usize) -> String {
    format!(
        "<th scope=\"row\">{shown}</th><td>{asked}</td><td>{yes}</td><td class=\"rate\">{:.1}\u{a0}%</td><td>0</td>",
        yes as f64 * 100.0 / asked as f64
    )
}

/// The confirm and leave tokens of every delivered request, by recipient key.
async fn links(sb: &Sandbox) -> Vec<(String, String, String)> {
    let store = Store::open(sb.path("reconsent.db").to_str().unwrap())
        .await
        .unwrap();
    let signer = LinkSigner::new(store.secrets().await.unwrap().link_key);
    let now = parse_instant(NOW).unwrap();
    let tokens = |links: &[serde_json::Value]| -> Vec<String> {
        links
            .iter()
            .flat_map(|l| l.as_str().unwrap().split("/r/").skip(1).map(str::to_string))
            .map(|t| {
                t.chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
                    .collect()
            })
            .collect()
    };
    servers::read_messages(&sb.path("maildir"))
        .iter()
        .map(|m| {
            let all = tokens(m["links"].as_array().unwrap());
            let find = |p| {
                all.iter()
                    .find(|t| signer.verify(t, p, now).is_some())
                    .cloned()
                    .unwrap()
            };
            (
                key(m["to"].as_str().unwrap()),
                find(Purpose::Confirm),
                find(Purpose::Leave),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_campaign_page_charts_answers_rates_bounces_and_the_deletion_calendar() {
    let sb = sent_with_a_bounce();
    let mails = links(&sb).await;
    let class_of = classes(&sb).await;
    let mut contacts = example_contacts();
    // Imported by `sent_with_a_bounce` beside the examples.
    contacts.insert(key("jan.kowalski@example.pl"), ("PL".into(), false));
    let known = |k: &str| contacts.get(k).cloned();
    // Answer only from contacts without a legal hold, so every hold is among the silent.
    let free: Vec<&(String, String, String)> = mails
        .iter()
        .filter(|(k, _, _)| known(k).is_some_and(|(_, held)| !held))
        .collect();
    let (confirmers, leavers) = (&free[..5], &free[5..8]);

    let server = serve(&sb, LATER);
    let http = client();
    for (_, confirm, _) in confirmers {
        let r = http
            .post(format!("{}/r/{confirm}/confirm", server.base))
            .header("user-agent", BROWSER)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
    }
    for (_, _, leave) in leavers {
        let r = http
            .post(format!("{}/r/{leave}/leave", server.base))
            .header("user-agent", BROWSER)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
    }
    let cookie = sign_in(&server).await;
    // The rates by group are counted in the background after the first view.
    let start = std::time::Instant::now();
    let page = loop {
        let page = get(&server, &cookie, "/admin/campaigns/spring-reconsent").await;
        if section(&page, "rate-country").contains("<table") {
            break page;
        }
        assert!(start.elapsed() < Duration::from_secs(20), "{page}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };

    // Sent at midnight, answered at one: two hourly columns, the answers in the second.
    let chart = section(&page, "answers-over-time");
    assert!(chart.contains("<svg"), "{chart}");
    assert_eq!(chart.matches("<g class=\"col\">").count(), 2, "{chart}");
    assert!(
        chart.contains("<title>11-22 00 h: confirmed 0, left 0, suspect 0</title>"),
        "{chart}"
    );
    assert!(
        chart.contains("<title>11-22 01 h: confirmed 5, left 3, suspect 0</title>"),
        "{chart}"
    );

    // The rate by country, counted here from the messages received and the answers given.
    let country_of = |k: &str| known(k).map(|(c, _)| c);
    let mut asked: BTreeMap<String, usize> = BTreeMap::new();
    for (k, _, _) in &mails {
        if let Some(c) = country_of(k) {
            *asked.entry(c).or_default() += 1;
        }
    }
    let mut confirmed: BTreeMap<String, usize> = BTreeMap::new();
    for (k, _, _) in confirmers.iter() {
        *confirmed.entry(country_of(k).unwrap()).or_default() += 1;
    }
    let rates = section(&page, "rate-country");
    for (country, yes) in &confirmed {
        let n = asked[country];
        let shown = if country.is_empty() {
            "unknown"
        } else {
            country
        };
        let row = rate_row(shown, n, *yes);
        assert!(rates.contains(&row), "{row} in {rates}");
    }

    // The rate by the class each contact had at launch (a confirmer's is valid now, a
    // leaver's withdrawn), counted here the same way.
    let class_word = |c: ContactClass| match c {
        ContactClass::Stale => "stale consent",
        ContactClass::Weak => "weak consent",
        ContactClass::SoftOptIn => "customer, no consent",
        other => panic!("{other:?} is never asked"),
    };
    let mut asked: BTreeMap<ContactClass, usize> = BTreeMap::new();
    for (k, _, _) in &mails {
        *asked.entry(class_of[k]).or_default() += 1;
    }
    let mut confirmed: BTreeMap<ContactClass, usize> = BTreeMap::new();
    for (k, _, _) in confirmers.iter() {
        *confirmed.entry(class_of[k]).or_default() += 1;
    }
    let rates = section(&page, "rate-class");
    assert_eq!(
        rates.matches("<tr data-key=").count(),
        asked.len(),
        "{asked:?} {rates}"
    );
    for (class, n) in &asked {
        let yes = confirmed.get(class).copied().unwrap_or(0);
        let row = rate_row(class_word(*class), *n, yes);
        assert!(rates.contains(&row), "{row} in {rates}");
    }
    let polish = get(
        &server,
        &cookie,
        "/admin/campaigns/spring-reconsent?lang=pl",
    )
    .await;
    assert!(
        section(&polish, "rate-class").contains("według klasy zgody"),
        "{polish}"
    );

    // What the page read from the counters equals a count of the rows.
    let kept = counters_agree(&sb, "spring-reconsent").await;
    assert_eq!(kept.answers[&("confirmed".to_string(), false)], 5);
    assert_eq!(kept.answers[&("left".to_string(), false)], 3);
    assert_eq!(kept.answers[&("answered".to_string(), false)], 8);

    // The bounce, by the server's answer, its address masked.
    let bounces = section(&page, "bounces");
    assert!(
        bounces.contains("550 5.1.1 &lt;b***@example.cz&gt;: Recipient address rejected: User unknown</th><td>1</td>"),
        "{bounces}"
    );
    assert!(!page.contains("bounce.one@"), "no address on the page");

    // Leavers fall due at once, the bounce a grace (7 days) after it happened; the
    // silent will be queued at the deadline (30 days) and fall due a grace later.
    let silent = mails.len() - 8;
    let held = mails
        .iter()
        .filter(|(k, _, _)| known(k).is_some_and(|(_, h)| h))
        .count();
    assert!(held > 0, "the examples hold some contacts");
    let calendar = section(&page, "calendar");
    let row_of = |cal: &str, d: &str| -> String {
        let at = cal
            .find(&format!("data-day=\"{d}\""))
            .unwrap_or_else(|| panic!("no {d} in {cal}"));
        let rest = &cal[at..];
        rest[..rest.find("</tr>").unwrap()].to_string()
    };
    let queued = |due: usize| format!("<td class=\"due\">{due}</td><td class=\"held\">0</td>");
    assert!(row_of(calendar, "11-22").contains(&queued(3)), "{calendar}");
    assert!(row_of(calendar, "11-29").contains(&queued(1)), "{calendar}");
    let at_deadline = row_of(calendar, "12-29");
    assert!(
        at_deadline.contains(&format!(
            "<td class=\"due\">{}</td><td class=\"held\">{held}</td>",
            silent - held
        )),
        "{at_deadline}"
    );
    assert!(
        at_deadline.contains("silent at the deadline"),
        "{at_deadline}"
    );

    // The overview counts what falls due within 30 days: the leavers and the bounce.
    let overview = get(&server, &cookie, "/admin").await;
    assert!(overview.contains("id=\"due-30\">4<"), "{overview}");
    assert!(overview.contains("as of 01:00 UTC"), "{overview}");

    // Past the deadline the silent are queued: the calendar reads the queue, and the
    // leavers and the bounce, due, are gone.
    sb.ok(&["purge", "--now", "2026-12-23T00:00:00Z"]);
    let page = get(&server, &cookie, "/admin/campaigns/spring-reconsent").await;
    let calendar = section(&page, "calendar");
    assert!(!calendar.contains("data-day=\"11-22\""), "{calendar}");
    assert!(!calendar.contains("data-day=\"11-29\""), "{calendar}");
    let queued = row_of(calendar, "12-29");
    assert!(
        queued.contains(&format!(
            "<td class=\"due\">{}</td><td class=\"held\">{held}</td>",
            silent - held
        )),
        "{queued}"
    );
    assert!(!queued.contains("silent at the deadline"), "{queued}");
    counters_agree(&sb, "spring-reconsent").await;
}
