//! `campaign check`: proves, by rendering, that every e-mail the campaign would send
//! carries what the law and DESIGN §2.4 require, in every locale and wave.
//!
//! A probe contact is rendered per locale and wave, and each required part is looked
//! for in both the HTML and the text part: the sender's name, legal entity and postal
//! address; every benefit; the bonus; the privacy-policy link; the confirm and leave
//! links (in the HTML as visible buttons); contact details; what the consent is for and
//! how often mail will come. The message is then built as it would be sent (MIME,
//! List-Unsubscribe, DKIM when configured).
//!
//! The bonus rewards confirming, so the request names it but never prints its code: the
//! probe is rendered with a sentinel for `{{bonus.code}}`, and a template whose output
//! contains it is refused. The code is shown after the confirmation, on the thank-you
//! page and in the thank-you e-mail, which are checked to carry it.
//!
//! Problems stop a launch (exit 1); warnings are things a marketer should know but that
//! are not wrong in themselves (e.g. a locale falling back to the default locale's text).

use super::definition::{BonusCode, Campaign, Deadline, LocalText};
use super::links::{Links, links};
use super::message::{self, DkimSigner, Envelope};
use super::render::{HTML_FILE, RenderInput, Rendered, Renderer, SUBJECT_FILE, TEXT_FILE};
use crate::config::Config;
use crate::domain::{EmailAddress, Instant, Locale};
use crate::policy::ContactClass;
use crate::tokens::LinkSigner;
use crate::web::pages::{self, Facts};
use serde::Serialize;
use std::path::Path;

#[derive(Debug, Clone, Default, Serialize)]
pub struct CheckReport {
    pub campaign: Option<String>,
    pub ok: bool,
    pub problems: Vec<String>,
    pub warnings: Vec<String>,
    /// The locales rendered.
    pub locales: Vec<String>,
    pub waves: Vec<String>,
}

/// What the probe contact's message is searched for.
struct Probe<'a> {
    campaign: &'a Campaign,
    locale: &'a Locale,
    links: &'a Links,
}

/// One required part: its name in a problem, and the texts that prove it.
struct Part {
    /// "no {what}" in a problem.
    what: &'static str,
    /// The template variable that puts it there, to point a template author at it.
    var: &'static str,
    /// For links: the href (and the plain-text URL) that must be there.
    link: Option<String>,
    /// For the HTML part, name the link a button.
    button: bool,
    texts: Vec<String>,
}

pub const PROBE_NAMES: [(&str, &str); 5] = [
    ("en", "Jane Example"),
    ("pl", "Małgorzata Żółkiewska"),
    ("sk", "Jana Nováková"),
    ("cs", "Jiří Dvořák"),
    ("de", "Jürgen Weiß"),
];

pub const PROBE_ADDRESS: &str = "probe@example.com";

/// What `{{bonus.code}}` holds while a request is checked: no real code, so that where
/// it turns up in the output is certainly the code printed.
const CODE_SENTINEL: &str = "BONUSCODE-SENTINEL-7F3A9C";

/// A name in the locale's language, with its diacritics, for previews and checks.
pub fn probe_name(locale: &Locale) -> &'static str {
    PROBE_NAMES
        .iter()
        .find(|(l, _)| *l == locale.as_str())
        .map_or("Jana Nováková", |(_, n)| n)
}

pub fn check(file: &Path, config: &Config, now: Instant) -> CheckReport {
    let mut report = CheckReport::default();
    let campaign = match Campaign::load(file) {
        Ok(c) => c,
        Err(errors) => {
            report.problems = errors.0.iter().map(ToString::to_string).collect();
            return report;
        }
    };
    report.campaign = Some(campaign.name.clone());
    report.waves = campaign.waves.iter().map(|w| w.name.clone()).collect();
    audience_problems(&campaign, &mut report);
    schedule_problems(&campaign, now, &mut report);
    pool_warnings(&campaign, file, &mut report);
    if let Err(p) = privacy_policy_text(&campaign, file) {
        report.problems.push(p);
    }
    if campaign.privacy_policy_version.is_none() {
        report.warnings.push(format!(
            "{}: privacy_policy_version is not set: the ledger cannot say which version of the policy each person was shown",
            campaign.file
        ));
    }
    let code = match bonus_code(&campaign, file) {
        Ok(code) => code,
        Err(p) => {
            report.problems.push(p);
            "CODE".to_string()
        }
    };
    let dkim = match DkimSigner::from_config(&config.dkim, &campaign.sender.email) {
        Ok(d) => d,
        Err(e) => {
            report.problems.push(format!("{e:#}"));
            None
        }
    };
    connection_warnings(&campaign, config, dkim.as_ref(), &mut report);
    let root = super::templates_root(file, &campaign.templates);
    let (renderer, template_problems) = Renderer::compile(&campaign, &root);
    report
        .problems
        .extend(template_problems.iter().map(ToString::to_string));
    if let Some(renderer) = renderer {
        render_all(
            &campaign,
            &renderer,
            config,
            now,
            &code,
            dkim.as_ref(),
            &mut report,
        );
    }
    report.ok = report.problems.is_empty();
    report
}

fn audience_problems(c: &Campaign, report: &mut CheckReport) {
    let at = match c.audience_line {
        Some(line) => format!("{} line {line}", c.file),
        None => c.file.clone(),
    };
    for class in c.audience.forbidden_classes() {
        let why = match class {
            ContactClass::NoBasis => {
                "no_basis contacts are never e-mailed: a consent request is itself marketing (ICO: Flybe, Honda 2017)"
            }
            _ => {
                "withdrawn contacts are never e-mailed: they said no, and a request would ignore it (GDPR Art. 7(3), 21(3))"
            }
        };
        report.problems.push(format!(
            "{at}: audience.classes: {why}. Remove '{class}'; they are left out whatever the file says."
        ));
    }
    if c.audience.classes.is_empty() {
        report.problems.push(format!(
            "{at}: audience.classes is empty: nobody would be asked"
        ));
    }
}

/// A deadline given as a date must leave the last wave time to be answered, counting
/// from a launch now. (A deadline given as a span is checked when the file is read.)
fn schedule_problems(c: &Campaign, now: Instant, report: &mut CheckReport) {
    let Deadline::On(day) = c.deadline else {
        return;
    };
    let Some(last) = c.waves.last() else {
        return;
    };
    let last_sent = last.after.after(now);
    if day <= last_sent {
        report.problems.push(format!(
            "{}: deadline: {} is not after the last wave '{}', which a launch now would send on {}: move the deadline or the waves",
            c.file,
            day.format("%Y-%m-%d"),
            last.name,
            last_sent.format("%Y-%m-%d")
        ));
    }
}

/// Codes handed out twice would let one person's code be used by another.
fn pool_warnings(c: &Campaign, file: &Path, report: &mut CheckReport) {
    let BonusCode::Pool(path) = &c.bonus.code else {
        return;
    };
    let Ok(mut codes) = read_code_pool(&super::resolve_path(file, path)) else {
        return;
    };
    let total = codes.len();
    codes.sort();
    codes.dedup();
    if codes.len() < total {
        let n = total - codes.len();
        report.warnings.push(format!(
            "bonus.code_pool {}: {n} duplicate code{}; each contact should get its own",
            path.display(),
            if n == 1 { "" } else { "s" }
        ));
    }
}

/// The code the probe shows: the static one, or the first of the pool (which must exist).
pub fn bonus_code(c: &Campaign, file: &Path) -> Result<String, String> {
    match &c.bonus.code {
        BonusCode::Static(code) => Ok(code.clone()),
        BonusCode::Pool(path) => {
            let resolved = super::resolve_path(file, path);
            let codes = read_code_pool(&resolved)
                .map_err(|e| format!("{}: bonus.code_pool: {e}", c.file))?;
            codes.into_iter().next().ok_or_else(|| {
                format!(
                    "{}: bonus.code_pool: {} has no codes",
                    c.file,
                    resolved.display()
                )
            })
        }
    }
}

/// The privacy policy's text (`privacy_policy_file`), if the campaign gives one; it is
/// hashed into every ledger entry, so an empty or unreadable file is refused.
pub fn privacy_policy_text(c: &Campaign, file: &Path) -> Result<Option<String>, String> {
    let Some(path) = &c.privacy_policy_file else {
        return Ok(None);
    };
    let resolved = super::resolve_path(file, path);
    let text = std::fs::read_to_string(&resolved).map_err(|e| {
        format!(
            "{}: privacy_policy_file: cannot read {}: {e}",
            c.file,
            resolved.display()
        )
    })?;
    if text.trim().is_empty() {
        return Err(format!(
            "{}: privacy_policy_file: {} is empty",
            c.file,
            resolved.display()
        ));
    }
    Ok(Some(text))
}

/// A code pool: one code a line; blank lines and `#` comments are skipped.
pub fn read_code_pool(path: &Path) -> Result<Vec<String>, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    Ok(text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_string)
        .collect())
}

fn connection_warnings(
    c: &Campaign,
    config: &Config,
    dkim: Option<&DkimSigner>,
    report: &mut CheckReport,
) {
    let base = config.base_url.trim();
    if !(base.starts_with("https://") || base.starts_with("http://")) {
        report.problems.push(format!(
            "base_url '{base}' is not a web address: the confirm and leave links would not work (set base_url in reconsent.toml)"
        ));
    } else if base.contains("://localhost") || base.contains("://127.") {
        report.warnings.push(format!(
            "base_url is {base}: fine for a preview, but recipients cannot reach it; set base_url in reconsent.toml to the public address of `reconsent serve` before launching"
        ));
    } else if base.starts_with("http://") {
        report.warnings.push(format!(
            "base_url {base} is not https: links and answers would travel unencrypted"
        ));
    }
    let sender_domain = c.sender.email.key().rsplit_once('@').map_or("", |(_, d)| d);
    match dkim {
        None => report.warnings.push(
            "no DKIM key configured ([dkim] in reconsent.toml): large mailbox providers reject or junk unsigned bulk mail".into(),
        ),
        Some(d) if !(sender_domain == d.domain || sender_domain.ends_with(&format!(".{}", d.domain))) => {
            report.warnings.push(format!(
                "DKIM signs for {} but the sender is {}: DMARC needs the two domains to match",
                d.domain, c.sender.email
            ));
        }
        Some(_) => {}
    }
}

fn render_all(
    c: &Campaign,
    renderer: &Renderer,
    config: &Config,
    now: Instant,
    code: &str,
    dkim: Option<&DkimSigner>,
    report: &mut CheckReport,
) {
    let signer = LinkSigner::new(crate::secrets::Secrets::generate().link_key);
    let deadline = c.deadline.at(now);
    let expires = c.grace.after(deadline);
    let public_id = uuid::Uuid::new_v4().simple().to_string();
    let links = match links(&signer, &config.base_url, &c.name, &public_id, expires) {
        Ok(l) => l,
        Err(e) => {
            report.problems.push(format!("cannot sign links: {e}"));
            return;
        }
    };
    let to = match EmailAddress::parse(PROBE_ADDRESS) {
        Ok(a) => a,
        Err(e) => {
            report.problems.push(e.to_string());
            return;
        }
    };
    let locales: Vec<Locale> = renderer.locales().cloned().collect();
    for locale in &locales {
        report.locales.push(locale.to_string());
        locale_text_warnings(c, renderer, locale, report);
        let probe = Probe {
            campaign: c,
            locale,
            links: &links,
        };
        if let Some(p) = thank_you_problem(c, locale, code) {
            report.problems.push(p);
        }
        let mut seen: Vec<String> = Vec::new();
        for (i, wave) in c.waves.iter().enumerate() {
            let input = RenderInput {
                locale: Some(locale),
                name: Some(probe_name(locale)),
                confirm_url: &links.confirm_url,
                leave_url: &links.leave_url,
                bonus_code: CODE_SENTINEL,
                deadline,
                wave: i,
            };
            let suffix = if i == 0 {
                String::new()
            } else {
                format!(" (wave '{}')", wave.name)
            };
            let rendered = match renderer.render(&input) {
                Ok(r) => r,
                Err(p) => {
                    report.problems.push(format!("{p}{suffix}"));
                    continue;
                }
            };
            let folder = renderer.folder();
            for file in code_printed(&rendered) {
                let line = format!(
                    "{folder}/{locale}/{file}: prints the bonus code ({{{{bonus.code}}}}); the request names the bonus (bonus.text) and the code is given only after confirming, on the thank-you page and in the thank-you e-mail"
                );
                if !seen.contains(&line) {
                    report.problems.push(format!("{line}{suffix}"));
                    seen.push(line);
                }
            }
            for missing in missing_parts(&probe, &rendered) {
                let line = format!("{folder}/{locale}: {missing}");
                if !seen.contains(&line) {
                    report.problems.push(format!("{line}{suffix}"));
                    seen.push(line);
                }
            }
            if i == 0 {
                let env = Envelope {
                    from_name: &c.sender.name,
                    from: &c.sender.email,
                    to_name: Some(probe_name(locale)),
                    to: &to,
                    unsubscribe_url: &links.unsubscribe_url,
                    unsubscribe_token: &links.unsubscribe_token,
                    date: now,
                    postmark_metadata: false,
                };
                if let Err(e) = message::build(&rendered, &env, dkim) {
                    report
                        .problems
                        .push(format!("{}/{locale}: {e:#}", renderer.folder()));
                }
            }
        }
    }
}

fn locale_text_warnings(c: &Campaign, r: &Renderer, locale: &Locale, report: &mut CheckReport) {
    let mut fields: Vec<(&str, &LocalText)> = vec![
        ("purpose", &c.purpose),
        ("frequency", &c.frequency),
        ("sender.contact", &c.sender.contact),
        ("bonus.text", &c.bonus.text),
    ];
    fields.extend(c.benefits.iter().map(|b| ("benefits", b)));
    let mut named: Vec<&str> = fields
        .into_iter()
        .filter(|(_, t)| !t.covers(locale))
        .map(|(f, _)| f)
        .collect();
    named.dedup();
    if !named.is_empty() {
        report.warnings.push(format!(
            "{}/{locale}: {} {} no {locale} text: the {locale} e-mail shows the {} text there",
            r.folder(),
            named.join(", "),
            if named.len() == 1 { "has" } else { "have" },
            c.default_locale
        ));
    }
}

fn required_parts(p: &Probe<'_>) -> Vec<Part> {
    let c = p.campaign;
    let dl = &c.default_locale;
    let text = |t: &LocalText| t.get(p.locale, dl).to_string();
    let part = |what, var, texts: Vec<String>| Part {
        what,
        var,
        link: None,
        button: false,
        texts,
    };
    let link = |what, var, url: &str, button| Part {
        what,
        var,
        link: Some(url.to_string()),
        button,
        texts: vec![],
    };
    let sender = &c.sender;
    vec![
        part("sender name", "sender.name", vec![sender.name.clone()]),
        part(
            "sender legal entity",
            "sender.legal_entity",
            vec![sender.legal_entity.clone()],
        ),
        part(
            "sender postal address",
            "sender.address",
            vec![sender.address.clone()],
        ),
        part(
            "benefits",
            "#each benefits",
            c.benefits.iter().map(text).collect(),
        ),
        part("bonus", "bonus.text", vec![text(&c.bonus.text)]),
        link(
            "privacy-policy link",
            "privacy_policy_url",
            &c.privacy_policy_url,
            false,
        ),
        link("confirm", "confirm_url", &p.links.confirm_url, true),
        link("leave", "leave_url", &p.links.leave_url, true),
        part(
            "contact details",
            "sender.contact",
            vec![text(&sender.contact)],
        ),
        part(
            "purpose (what the consent is for)",
            "purpose",
            vec![text(&c.purpose)],
        ),
        part(
            "frequency (how often mail will come)",
            "frequency",
            vec![text(&c.frequency)],
        ),
    ]
}

/// The template files whose output prints the bonus code.
fn code_printed(r: &Rendered) -> Vec<&'static str> {
    [
        (SUBJECT_FILE, &r.subject),
        (HTML_FILE, &r.html),
        (TEXT_FILE, &r.text),
    ]
    .into_iter()
    .filter(|(_, out)| out.contains(CODE_SENTINEL))
    .map(|(file, _)| file)
    .collect()
}

/// The thank-you page and e-mail must give the code and name the bonus; they are built
/// by the program, so this fails only if the program does.
fn thank_you_problem(c: &Campaign, locale: &Locale, code: &str) -> Option<String> {
    let facts = Facts::of(c, locale);
    let (_, text, html) = pages::thanks_mail(&facts, Some(code));
    let page = pages::thanks(&facts, Some(code), false);
    let bonus = c.bonus.text.get(locale, &c.default_locale);
    let escaped = handlebars::html_escape(bonus);
    let shown = text.contains(code)
        && text.contains(bonus)
        && [html, page]
            .iter()
            .all(|h| h.contains(&*handlebars::html_escape(code)) && h.contains(&escaped));
    (!shown).then(|| {
        format!("{locale}: the thank-you page or e-mail does not show the bonus and its code")
    })
}

/// Each required part that is missing, as "no X in the HTML part".
fn missing_parts(p: &Probe<'_>, r: &Rendered) -> Vec<String> {
    let anchors = anchors(&r.html);
    let html_text = decode_entities(&r.html);
    let mut missing = Vec::new();
    if r.subject.trim().is_empty() {
        missing.push("empty subject".to_string());
    }
    for part in required_parts(p) {
        if let Some(url) = &part.link {
            let (html_name, text_name) = if part.button {
                (
                    format!("{} button", part.what),
                    format!("{} link", part.what),
                )
            } else {
                (part.what.to_string(), part.what.to_string())
            };
            let var = part.var;
            match anchors.iter().find(|a| &a.href == url) {
                None => missing.push(format!(
                    "no {html_name} in the HTML part (no <a href=\"{{{{{var}}}}}\">)"
                )),
                Some(a) if a.text.trim().is_empty() => missing.push(format!(
                    "the {html_name} in the HTML part has no visible text"
                )),
                Some(a) if a.hidden => {
                    missing.push(format!("the {html_name} in the HTML part is hidden"))
                }
                Some(_) => {}
            }
            if !r.text.contains(url.as_str()) {
                missing.push(format!(
                    "no {text_name} in the text part (no {{{{{var}}}}})"
                ));
            }
            continue;
        }
        let absent = |body: &str| -> Vec<&String> {
            part.texts
                .iter()
                .filter(|t| !body.contains(t.as_str()))
                .collect()
        };
        for (body, name) in [(&html_text, "HTML"), (&r.text, "text")] {
            let gone = absent(body);
            if gone.is_empty() {
                continue;
            }
            if gone.len() == part.texts.len() {
                missing.push(format!(
                    "no {} in the {name} part ({{{{{}}}}}: '{}')",
                    part.what,
                    part.var,
                    shorten(gone[0])
                ));
            } else {
                missing.push(format!(
                    "not every one of the {} in the {name} part (missing '{}')",
                    part.what,
                    shorten(gone[0])
                ));
            }
        }
    }
    missing
}

fn shorten(s: &str) -> String {
    const MAX: usize = 60;
    if s.chars().count() <= MAX {
        s.to_string()
    } else {
        format!("{}…", s.chars().take(MAX).collect::<String>())
    }
}

#[derive(Debug, PartialEq)]
struct Anchor {
    href: String,
    text: String,
    hidden: bool,
}

/// Every `<a href>` in an HTML text with its visible text. Just enough HTML for the
/// templates this engine renders: attribute values in quotes, no `<a>` inside comments.
fn anchors(html: &str) -> Vec<Anchor> {
    let lower = html.to_ascii_lowercase();
    let mut out = Vec::new();
    let mut at = 0;
    while let Some(start) = lower[at..].find("<a").map(|i| at + i) {
        at = start + 2;
        if !lower[at..].starts_with(|c: char| c.is_ascii_whitespace()) {
            continue;
        }
        let Some(tag_end) = lower[at..].find('>').map(|i| at + i) else {
            break;
        };
        let attrs = &html[at..tag_end];
        let Some(close) = lower[tag_end..].find("</a>").map(|i| tag_end + i) else {
            break;
        };
        let inner = &html[tag_end + 1..close];
        at = close + 4;
        let Some(href) = attribute(attrs, "href") else {
            continue;
        };
        let style = attribute(attrs, "style")
            .unwrap_or_default()
            .to_ascii_lowercase();
        let style: String = style.chars().filter(|c| !c.is_whitespace()).collect();
        out.push(Anchor {
            href: decode_entities(&href),
            text: decode_entities(&strip_tags(inner)),
            hidden: style.contains("display:none")
                || style.contains("visibility:hidden")
                || style.contains("font-size:0"),
        });
    }
    out
}

fn attribute(attrs: &str, name: &str) -> Option<String> {
    let lower = attrs.to_ascii_lowercase();
    let mut from = 0;
    while let Some(i) = lower[from..].find(name).map(|i| from + i) {
        from = i + name.len();
        let before_ok = i == 0 || lower.as_bytes()[i - 1].is_ascii_whitespace();
        let rest = lower[from..].trim_start();
        if !before_ok || !rest.starts_with('=') {
            continue;
        }
        let value_start = attrs.len() - rest.len() + 1;
        let value = attrs[value_start..].trim_start();
        let quote = value.chars().next()?;
        if quote == '"' || quote == '\'' {
            let end = value[1..].find(quote)?;
            return Some(value[1..1 + end].to_string());
        }
        let end = value
            .find(|c: char| c.is_whitespace())
            .unwrap_or(value.len());
        return Some(value[..end].to_string());
    }
    None
}

fn strip_tags(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut in_tag = false;
    for c in s.chars() {
        match c {
            '<' => in_tag = true,
            '>' => in_tag = false,
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    out
}

/// Undoes the escaping the HTML registry applies (and `&nbsp;`), so values compare as written.
fn decode_entities(s: &str) -> String {
    if !s.contains('&') {
        return s.to_string();
    }
    s.replace("&quot;", "\"")
        .replace("&#x27;", "'")
        .replace("&#39;", "'")
        .replace("&#x60;", "`")
        .replace("&#x3D;", "=")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&nbsp;", "\u{a0}")
        .replace("&amp;", "&")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_anchors_with_text_and_visibility() {
        let html = r#"<p><A class="x" HREF="https://a.example/r/1?x&#x3D;1&amp;y=2" style="color:red">
<b>Yes</b>, keep me</A> <a href='https://b.example'  style="display: none">No</a>
<a name="top"></a><abbr>not a link</abbr><a href=https://c.example>bare</a></p>"#;
        assert_eq!(
            anchors(html),
            vec![
                Anchor {
                    href: "https://a.example/r/1?x=1&y=2".into(),
                    text: "\nYes, keep me".into(),
                    hidden: false
                },
                Anchor {
                    href: "https://b.example".into(),
                    text: "No".into(),
                    hidden: true
                },
                Anchor {
                    href: "https://c.example".into(),
                    text: "bare".into(),
                    hidden: false
                },
            ]
        );
    }

    #[test]
    fn entities_round_trip_the_html_escape() {
        let raw = "Müller & Söhne \"GmbH\" <x> 'a' `b` c=d";
        assert_eq!(decode_entities(&handlebars::html_escape(raw)), raw);
    }

    #[test]
    fn probe_names_are_native() {
        assert_eq!(probe_name(&Locale::parse("sk").unwrap()), "Jana Nováková");
        assert_eq!(probe_name(&Locale::parse("hu").unwrap()), "Jana Nováková");
    }
}
