//! The pages a recipient sees, in their language: the request (confirm or leave), the
//! thank-you with the bonus, the goodbye, and one page for every link that does not work.
//!
//! Rust-side rather than campaign templates: these pages are evidence, so what they say
//! must not drift with a template edit, and their exact bytes are hashed into the ledger.
//! No external assets (a scanner or a privacy-minded client fetches nothing), inline CSS,
//! one column on a phone, focus always visible, contrast above WCAG AA.

use crate::domain::Locale;
use handlebars::html_escape as esc;

/// What a page says about the campaign, already in the contact's language.
pub struct Facts<'a> {
    pub locale: &'a Locale,
    pub sender: &'a str,
    pub legal_entity: &'a str,
    pub address: &'a str,
    pub contact: &'a str,
    pub purpose: &'a str,
    pub frequency: &'a str,
    pub bonus: &'a str,
    pub privacy_url: &'a str,
}

impl<'a> Facts<'a> {
    /// A campaign's texts in `locale`, falling back to its default locale.
    pub fn of(c: &'a crate::campaign::Campaign, locale: &'a Locale) -> Self {
        let d = &c.default_locale;
        Facts {
            locale,
            sender: &c.sender.name,
            legal_entity: &c.sender.legal_entity,
            address: &c.sender.address,
            contact: c.sender.contact.get(locale, d),
            purpose: c.purpose.get(locale, d),
            frequency: c.frequency.get(locale, d),
            bonus: c.bonus.text.get(locale, d),
            privacy_url: &c.privacy_policy_url,
        }
    }
}

struct Words {
    lang: &'static str,
    title: &'static str,
    ask: &'static str,
    purpose: &'static str,
    frequency: &'static str,
    bonus: &'static str,
    confirm: &'static str,
    leave: &'static str,
    leave_note: &'static str,
    leave_only: &'static str,
    privacy: &'static str,
    thanks_title: &'static str,
    thanks: &'static str,
    already: &'static str,
    your_code: &'static str,
    code_later: &'static str,
    goodbye_title: &'static str,
    goodbye: &'static str,
}

const EN: Words = Words {
    lang: "en",
    title: "Do you want to keep hearing from us?",
    ask: "asks whether you still want its e-mails. Nothing changes until you press one of the buttons below.",
    purpose: "What you are agreeing to:",
    frequency: "How often:",
    bonus: "Our thank-you:",
    confirm: "Yes, keep me subscribed",
    leave: "No, remove me",
    leave_note: "If you leave, we stop writing to you and delete your address from our mailing list.",
    leave_only: "Press the button to stop all e-mails from us. If you would rather stay, use the confirm button in our e-mail.",
    privacy: "How we handle your data (privacy policy)",
    thanks_title: "Thank you for staying with us",
    thanks: "Your consent is recorded. You can withdraw it at any time with the link at the bottom of every e-mail.",
    already: "You had already confirmed: nothing more is needed.",
    your_code: "Your code:",
    code_later: "Your code is on its way by e-mail.",
    goodbye_title: "You are unsubscribed",
    goodbye: "We will not write to you again, and your address is being deleted from our mailing list. Thank you for the time you spent with us.",
};

const PL: Words = Words {
    lang: "pl",
    title: "Czy chcesz nadal otrzymywać od nas wiadomości?",
    ask: "pyta, czy nadal chcesz otrzymywać jego e-maile. Nic się nie zmieni, dopóki nie naciśniesz jednego z przycisków poniżej.",
    purpose: "Na co wyrażasz zgodę:",
    frequency: "Jak często:",
    bonus: "Nasze podziękowanie:",
    confirm: "Tak, chcę dalej otrzymywać",
    leave: "Nie, wypisz mnie",
    leave_note: "Jeśli się wypiszesz, przestaniemy do Ciebie pisać i usuniemy Twój adres z listy mailingowej.",
    leave_only: "Naciśnij przycisk, aby nie otrzymywać od nas więcej e-maili. Jeśli jednak chcesz zostać, użyj przycisku potwierdzenia w naszym e-mailu.",
    privacy: "Jak przetwarzamy Twoje dane (polityka prywatności)",
    thanks_title: "Dziękujemy, że zostajesz z nami",
    thanks: "Twoja zgoda została zapisana. Możesz ją wycofać w każdej chwili linkiem na dole każdego e-maila.",
    already: "Zgoda była już potwierdzona: nic więcej nie trzeba robić.",
    your_code: "Twój kod:",
    code_later: "Twój kod wyślemy e-mailem.",
    goodbye_title: "Wypisano Cię z listy",
    goodbye: "Nie będziemy już do Ciebie pisać, a Twój adres zostanie usunięty z naszej listy mailingowej. Dziękujemy za wspólny czas.",
};

const SK: Words = Words {
    lang: "sk",
    title: "Chcete od nás naďalej dostávať správy?",
    ask: "sa pýta, či chcete naďalej dostávať jeho e-maily. Nič sa nezmení, kým nestlačíte jedno z tlačidiel nižšie.",
    purpose: "S čím súhlasíte:",
    frequency: "Ako často:",
    bonus: "Naše poďakovanie:",
    confirm: "Áno, chcem naďalej dostávať",
    leave: "Nie, odhláste ma",
    leave_note: "Ak sa odhlásite, prestaneme vám písať a vašu adresu vymažeme z nášho zoznamu.",
    leave_only: "Stlačte tlačidlo a nebudeme vám už posielať e-maily. Ak chcete zostať, použite tlačidlo na potvrdenie v našom e-maile.",
    privacy: "Ako spracúvame vaše údaje (zásady ochrany osobných údajov)",
    thanks_title: "Ďakujeme, že s nami zostávate",
    thanks: "Váš súhlas je zaznamenaný. Môžete ho kedykoľvek odvolať odkazom na konci každého e-mailu.",
    already: "Súhlas ste už potvrdili: nič ďalšie nie je potrebné.",
    your_code: "Váš kód:",
    code_later: "Váš kód vám pošleme e-mailom.",
    goodbye_title: "Boli ste odhlásený",
    goodbye: "Už vám nebudeme písať a vaša adresa sa vymaže z nášho zoznamu. Ďakujeme za čas, ktorý ste s nami strávili.",
};

const CS: Words = Words {
    lang: "cs",
    title: "Chcete od nás nadále dostávat zprávy?",
    ask: "se ptá, zda chcete nadále dostávat jeho e-maily. Nic se nezmění, dokud nestisknete jedno z tlačítek níže.",
    purpose: "S čím souhlasíte:",
    frequency: "Jak často:",
    bonus: "Naše poděkování:",
    confirm: "Ano, chci dál dostávat",
    leave: "Ne, odhlaste mě",
    leave_note: "Pokud se odhlásíte, přestaneme vám psát a vaši adresu smažeme z našeho seznamu.",
    leave_only: "Stiskněte tlačítko a nebudeme vám už posílat e-maily. Pokud chcete zůstat, použijte tlačítko pro potvrzení v našem e-mailu.",
    privacy: "Jak zpracováváme vaše údaje (zásady ochrany osobních údajů)",
    thanks_title: "Děkujeme, že s námi zůstáváte",
    thanks: "Váš souhlas je zaznamenán. Můžete ho kdykoli odvolat odkazem na konci každého e-mailu.",
    already: "Souhlas jste už potvrdili: nic dalšího není potřeba.",
    your_code: "Váš kód:",
    code_later: "Váš kód vám pošleme e-mailem.",
    goodbye_title: "Byli jste odhlášeni",
    goodbye: "Už vám nebudeme psát a vaše adresa se smaže z našeho seznamu. Děkujeme za čas, který jste s námi strávili.",
};

const DE: Words = Words {
    lang: "de",
    title: "Möchten Sie weiterhin von uns hören?",
    ask: "fragt, ob Sie seine E-Mails weiterhin erhalten möchten. Es ändert sich nichts, bis Sie einen der Knöpfe unten drücken.",
    purpose: "Wozu Sie einwilligen:",
    frequency: "Wie oft:",
    bonus: "Unser Dankeschön:",
    confirm: "Ja, ich bleibe dabei",
    leave: "Nein, bitte abmelden",
    leave_note: "Wenn Sie sich abmelden, schreiben wir Ihnen nicht mehr und löschen Ihre Adresse aus unserem Verteiler.",
    leave_only: "Drücken Sie den Knopf, um keine E-Mails mehr von uns zu erhalten. Wenn Sie doch bleiben möchten, nutzen Sie den Bestätigungsknopf in unserer E-Mail.",
    privacy: "Wie wir mit Ihren Daten umgehen (Datenschutzerklärung)",
    thanks_title: "Danke, dass Sie dabeibleiben",
    thanks: "Ihre Einwilligung ist gespeichert. Sie können sie jederzeit über den Link am Ende jeder E-Mail widerrufen.",
    already: "Sie hatten bereits bestätigt: Es ist nichts weiter nötig.",
    your_code: "Ihr Code:",
    code_later: "Ihr Code kommt per E-Mail.",
    goodbye_title: "Sie sind abgemeldet",
    goodbye: "Wir schreiben Ihnen nicht mehr, und Ihre Adresse wird aus unserem Verteiler gelöscht. Danke für die gemeinsame Zeit.",
};

fn words(locale: &Locale) -> &'static Words {
    match locale.as_str().split(['-', '_']).next().unwrap_or("en") {
        "pl" => &PL,
        "sk" => &SK,
        "cs" => &CS,
        "de" => &DE,
        _ => &EN,
    }
}

const STYLE: &str = "\
*{box-sizing:border-box}\
body{margin:0;background:#f4f4f2;color:#1c1c1c;font:17px/1.55 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif}\
main{max-width:36rem;margin:0 auto;padding:2rem 1.25rem}\
.card{background:#fff;border-radius:12px;padding:1.75rem;box-shadow:0 1px 3px rgba(0,0,0,.12)}\
h1{font-size:1.5rem;line-height:1.25;margin:0 0 1rem}\
dt{font-weight:700;margin-top:.75rem}dd{margin:0}\
.actions{display:flex;flex-wrap:wrap;gap:.75rem;margin:1.5rem 0 .5rem}\
.actions form{flex:1 1 13rem;margin:0;display:flex}\
button{width:100%;min-height:3rem;padding:.75rem 1rem;border-radius:8px;font:inherit;font-weight:700;cursor:pointer;border:2px solid #14532d}\
.yes{background:#14532d;color:#fff}.no{background:#fff;color:#14532d}\
button:hover{filter:brightness(1.1)}\
button:focus-visible,a:focus-visible{outline:3px solid #b45309;outline-offset:3px}\
a{color:#14532d}\
.code{display:inline-block;font:700 1.4rem ui-monospace,monospace;letter-spacing:.08em;background:#fef3c7;color:#1c1c1c;padding:.4rem .8rem;border-radius:6px}\
footer{font-size:.9rem;color:#4a4a4a;margin-top:1.25rem}\
";

fn layout(lang: &str, title: &str, body: &str, footer: &str) -> String {
    format!(
        "<!doctype html>\n<html lang=\"{lang}\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta name=\"robots\" content=\"noindex, nofollow\">\n\
         <title>{title}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<main>\n\
         <div class=\"card\">\n<h1>{title}</h1>\n{body}</div>\n{footer}</main>\n</body>\n</html>\n",
        title = esc(title)
    )
}

fn footer(f: &Facts<'_>, w: &Words) -> String {
    format!(
        "<footer>\n<p>{} · {} · {}</p>\n<p>{}</p>\n<p><a href=\"{}\">{}</a></p>\n</footer>\n",
        esc(f.sender),
        esc(f.legal_entity),
        esc(f.address),
        esc(f.contact),
        esc(f.privacy_url),
        w.privacy
    )
}

fn button(action: &str, class: &str, label: &str) -> String {
    format!(
        "<form method=\"post\" action=\"{}\"><button type=\"submit\" class=\"{class}\">{label}</button></form>\n",
        esc(action)
    )
}

/// The page behind a link. With a confirm action both buttons show side by side, the
/// same size; a leave link's page offers only leaving (a leave token cannot confirm).
/// The request page behind a confirm link: its buttons post back with the link's token
/// and the matching leave token.
pub fn confirm_page(f: &Facts<'_>, confirm_token: &str, leave_token: &str) -> String {
    request(
        f,
        Some(&format!("/r/{confirm_token}/confirm")),
        &format!("/r/{leave_token}/leave"),
    )
}

pub fn request(f: &Facts<'_>, confirm_action: Option<&str>, leave_action: &str) -> String {
    let w = words(f.locale);
    let mut body = format!(
        "<p><strong>{}</strong> {}</p>\n<dl>\n<dt>{}</dt><dd>{}</dd>\n<dt>{}</dt><dd>{}</dd>\n",
        esc(f.sender),
        w.ask,
        w.purpose,
        esc(f.purpose),
        w.frequency,
        esc(f.frequency)
    );
    if confirm_action.is_some() && !f.bonus.is_empty() {
        body.push_str(&format!("<dt>{}</dt><dd>{}</dd>\n", w.bonus, esc(f.bonus)));
    }
    body.push_str("</dl>\n<div class=\"actions\">\n");
    match confirm_action {
        Some(confirm) => {
            body.push_str(&button(confirm, "yes", w.confirm));
            body.push_str(&button(leave_action, "no", w.leave));
            body.push_str("</div>\n");
            body.push_str(&format!("<p>{}</p>\n", w.leave_note));
        }
        None => {
            body.push_str(&button(leave_action, "no", w.leave));
            body.push_str("</div>\n");
            body.push_str(&format!("<p>{}</p>\n", w.leave_only));
        }
    }
    layout(w.lang, w.title, &body, &footer(f, w))
}

/// After a confirmation. `code` is `None` when it could not be given on the page.
pub fn thanks(f: &Facts<'_>, code: Option<&str>, already: bool) -> String {
    let w = words(f.locale);
    let mut body = String::new();
    if already {
        body.push_str(&format!("<p>{}</p>\n", w.already));
    }
    body.push_str(&format!("<p>{}</p>\n", w.thanks));
    if !f.bonus.is_empty() {
        body.push_str(&format!("<p>{}</p>\n", esc(f.bonus)));
    }
    match code {
        Some(code) => body.push_str(&format!(
            "<p>{} <span class=\"code\" id=\"bonus-code\">{}</span></p>\n",
            w.your_code,
            esc(code)
        )),
        None => body.push_str(&format!("<p>{}</p>\n", w.code_later)),
    }
    layout(w.lang, w.thanks_title, &body, &footer(f, w))
}

/// The thank-you e-mail: subject, plain text and HTML (the thank-you page itself).
pub fn thanks_mail(f: &Facts<'_>, code: Option<&str>) -> (String, String, String) {
    let w = words(f.locale);
    let subject = format!("{} – {}", w.thanks_title, f.sender);
    let mut text = format!("{}\n\n{}\n", w.thanks_title, w.thanks);
    if !f.bonus.is_empty() {
        text.push_str(&format!("\n{}\n", f.bonus));
    }
    if let Some(code) = code {
        text.push_str(&format!("\n{} {code}\n", w.your_code));
    }
    text.push_str(&format!(
        "\n-- \n{} · {} · {}\n{}\n{}: {}\n",
        f.sender, f.legal_entity, f.address, f.contact, w.privacy, f.privacy_url
    ));
    (subject, text, thanks(f, code, false))
}

pub fn goodbye(f: &Facts<'_>) -> String {
    let w = words(f.locale);
    let body = format!("<p>{}</p>\n", w.goodbye);
    layout(w.lang, w.goodbye_title, &body, &footer(f, w))
}

/// One page for every link that does not work — forged, altered, expired, for someone
/// erased — so nothing can be learnt by trying links. In all five languages, since the
/// contact's is unknown.
pub fn not_found() -> String {
    let body = "<p lang=\"en\">This link does not work (any more). If you copied it, check that it is complete.</p>\n\
        <p lang=\"pl\">Ten link nie działa (już). Jeśli go kopiowano, sprawdź, czy jest kompletny.</p>\n\
        <p lang=\"sk\">Tento odkaz nefunguje (už). Ak ste ho kopírovali, skontrolujte, či je celý.</p>\n\
        <p lang=\"cs\">Tento odkaz nefunguje (už). Pokud jste ho kopírovali, zkontrolujte, že je celý.</p>\n\
        <p lang=\"de\">Dieser Link funktioniert nicht (mehr). Wenn Sie ihn kopiert haben, prüfen Sie, ob er vollständig ist.</p>\n";
    layout("en", "Link not valid", body, "")
}

/// For a failure on our side: says nothing about the cause.
pub fn unavailable() -> String {
    layout(
        "en",
        "Please try again later",
        "<p>Something went wrong on our side. Nothing was changed; please try again in a few minutes.</p>\n",
        "",
    )
}

/// The answer to an RFC 8058 one-click POST (a mail client, not a person, reads it).
pub fn one_click_done(locale: &Locale) -> String {
    let w = words(locale);
    layout(
        w.lang,
        w.goodbye_title,
        &format!("<p>{}</p>\n", w.goodbye),
        "",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(locale: &Locale) -> Facts<'_> {
        Facts {
            locale,
            sender: "Tatra <Tea>",
            legal_entity: "Tatra Tea sp. z o.o.",
            address: "Kraków",
            contact: "kontakt@shop.example",
            purpose: "newsletter & offers",
            frequency: "twice a month",
            bonus: "10% off",
            privacy_url: "https://shop.example/privacy?a=1&b=2",
        }
    }

    #[test]
    fn every_locale_has_two_buttons_escaped_facts_and_its_language() {
        for l in ["en", "pl", "sk", "cs", "de"] {
            let locale = Locale::parse(l).unwrap();
            let html = request(&facts(&locale), Some("/r/a/confirm"), "/r/b/leave");
            assert!(html.contains(&format!("<html lang=\"{l}\">")), "{l}");
            assert_eq!(html.matches("<button").count(), 2, "{l}");
            assert!(html.contains("action=\"/r/a/confirm\""));
            assert!(html.contains("action=\"/r/b/leave\""));
            assert!(html.contains("Tatra &lt;Tea&gt;"), "{l}: not escaped");
            assert!(html.contains("newsletter &amp; offers"));
            assert!(
                !html.contains("http://") && !html.contains("src="),
                "{l}: external asset"
            );
            let leave_only = request(&facts(&locale), None, "/r/b/leave");
            assert_eq!(leave_only.matches("<button").count(), 1);
            let thanks = thanks(&facts(&locale), Some("CODE-1"), false);
            assert!(thanks.contains("id=\"bonus-code\">CODE-1<"));
        }
    }

    #[test]
    fn rendering_is_deterministic_so_its_hash_is_proof() {
        let locale = Locale::parse("de").unwrap();
        let a = request(&facts(&locale), Some("/r/a/confirm"), "/r/b/leave");
        let b = request(&facts(&locale), Some("/r/a/confirm"), "/r/b/leave");
        assert_eq!(a, b);
    }
}
