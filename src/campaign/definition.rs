//! A campaign file (`campaigns/NAME.toml`, DESIGN §3) read into a [`Campaign`].
//!
//! Every value is checked while it is read, and a refusal names the file, the line and
//! the field: `campaigns/x.toml line 12: rate: '50 per second' is not a rate (expected
//! e.g. 50/s, 3000/min, 100/h)`. Unknown fields are refused by name, so a typo never
//! silently becomes a default.
//!
//! Texts shown to recipients are written per locale, `purpose = { en = "…", pl = "…" }`,
//! or once for every locale, `purpose = "…"`; the campaign's `default_locale` (default
//! `en`) must always be there, and is what a locale without its own text falls back to.

use super::audience::Audience;
use crate::domain::{EmailAddress, Instant, Locale, Span, parse_instant};
use serde::{Deserialize, Deserializer};
use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use toml::Spanned;

/// A campaign as its file defines it.
#[derive(Debug, Clone, PartialEq)]
pub struct Campaign {
    pub name: String,
    /// The folder under `templates/`.
    pub templates: String,
    pub default_locale: Locale,
    pub privacy_policy_url: String,
    /// The version of the privacy policy in force, recorded with every ledger entry.
    pub privacy_policy_version: Option<String>,
    /// The policy's text: read at launch, kept in the snapshot, its SHA-256 in the ledger.
    pub privacy_policy_file: Option<PathBuf>,
    pub sender: Sender,
    pub purpose: LocalText,
    pub frequency: LocalText,
    pub benefits: Vec<LocalText>,
    pub bonus: Bonus,
    pub audience: Audience,
    pub rate: Rate,
    /// Messages allowed above `rate` in any one second.
    pub burst: u32,
    pub waves: Vec<Wave>,
    pub deadline: Deadline,
    pub grace: Span,
    pub suspect_window: Span,
    pub webhook: Option<String>,
    /// The file it was read from, as named to the user.
    pub file: String,
    /// Where `audience.classes` is written (else where `[audience]` starts), for the
    /// problems `check` finds there.
    pub audience_line: Option<usize>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Sender {
    pub name: String,
    pub email: EmailAddress,
    pub legal_entity: String,
    pub address: String,
    pub contact: LocalText,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Bonus {
    pub text: LocalText,
    pub code: BonusCode,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BonusCode {
    /// One code for everyone.
    Static(String),
    /// One code per contact, a line each, from this file (relative to the working folder).
    Pool(PathBuf),
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Wave {
    pub name: String,
    /// After the campaign's launch.
    pub after: Span,
}

/// When the silent are given up on: a span after launch, or a fixed date.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Deadline {
    After(Span),
    On(Instant),
}

impl Deadline {
    pub fn at(&self, launch: Instant) -> Instant {
        match *self {
            Deadline::After(span) => span.after(launch),
            Deadline::On(t) => t,
        }
    }
}

impl fmt::Display for Deadline {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Deadline::After(span) => write!(f, "{span} after launch"),
            Deadline::On(t) => write!(f, "{}", t.format("%Y-%m-%d")),
        }
    }
}

/// A sending rate: `50/s`, `3000/min`, `100/h`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    pub count: u32,
    pub per: RateUnit,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RateUnit {
    Second,
    Minute,
    Hour,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("'{0}' is not a rate (expected e.g. 50/s, 3000/min, 100/h)")]
pub struct RateError(pub String);

impl Rate {
    pub fn parse(input: &str) -> Result<Self, RateError> {
        let t = input.trim();
        let err = || RateError(t.to_string());
        let (count, unit) = t.split_once('/').ok_or_else(err)?;
        let count: u32 = count.trim().parse().map_err(|_| err())?;
        let per = match unit.trim() {
            "s" | "sec" | "second" => RateUnit::Second,
            "m" | "min" | "minute" => RateUnit::Minute,
            "h" | "hour" => RateUnit::Hour,
            _ => return Err(err()),
        };
        if count == 0 {
            return Err(err());
        }
        Ok(Rate { count, per })
    }

    pub fn per_second(&self) -> f64 {
        let secs = match self.per {
            RateUnit::Second => 1.0,
            RateUnit::Minute => 60.0,
            RateUnit::Hour => 3600.0,
        };
        f64::from(self.count) / secs
    }
}

impl fmt::Display for Rate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let unit = match self.per {
            RateUnit::Second => "s",
            RateUnit::Minute => "min",
            RateUnit::Hour => "h",
        };
        write!(f, "{}/{unit}", self.count)
    }
}

impl<'de> Deserialize<'de> for Rate {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Rate::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// A text in one or more locales.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalText {
    /// `None`: the same text for every locale.
    any: Option<String>,
    by_locale: BTreeMap<Locale, String>,
}

impl LocalText {
    pub fn same_for_all(text: impl Into<String>) -> Self {
        Self {
            any: Some(text.into()),
            by_locale: BTreeMap::new(),
        }
    }

    /// The text for `locale`, else for `fallback`, else any text there is.
    pub fn get(&self, locale: &Locale, fallback: &Locale) -> &str {
        self.any
            .as_deref()
            .or_else(|| self.by_locale.get(locale).map(String::as_str))
            .or_else(|| self.by_locale.get(fallback).map(String::as_str))
            .or_else(|| self.by_locale.values().next().map(String::as_str))
            .unwrap_or("")
    }

    /// Is there a text written for `locale` (or one for every locale)?
    pub fn covers(&self, locale: &Locale) -> bool {
        self.any.is_some() || self.by_locale.contains_key(locale)
    }
}

impl<'de> Deserialize<'de> for LocalText {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            One(String),
            Many(BTreeMap<String, String>),
        }
        let raw = Raw::deserialize(d).map_err(|_| {
            serde::de::Error::custom(
                "expected a text, or texts by locale like { en = \"…\", pl = \"…\" }",
            )
        })?;
        let non_empty = |s: String| {
            if s.trim().is_empty() {
                Err(serde::de::Error::custom("the text is empty"))
            } else {
                Ok(s)
            }
        };
        match raw {
            Raw::One(s) => Ok(LocalText::same_for_all(non_empty(s)?)),
            Raw::Many(map) => {
                let mut by_locale = BTreeMap::new();
                for (k, v) in map {
                    let locale = Locale::parse(&k).map_err(serde::de::Error::custom)?;
                    if locale.as_str() != k {
                        return Err(serde::de::Error::custom(format!(
                            "write the locale '{k}' as '{locale}'"
                        )));
                    }
                    by_locale.insert(locale, non_empty(v)?);
                }
                if by_locale.is_empty() {
                    return Err(serde::de::Error::custom("no text in any locale"));
                }
                Ok(LocalText {
                    any: None,
                    by_locale,
                })
            }
        }
    }
}

/// One problem in a campaign file, located.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DefinitionError {
    pub file: String,
    pub line: Option<usize>,
    /// The field's path, e.g. `audience.classes`; empty for the whole file.
    pub field: String,
    pub message: String,
}

impl fmt::Display for DefinitionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.file)?;
        if let Some(line) = self.line {
            write!(f, " line {line}")?;
        }
        f.write_str(": ")?;
        if !self.field.is_empty() {
            write!(f, "{}: ", self.field)?;
        }
        f.write_str(&self.message)
    }
}

/// Every problem found in a campaign file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct DefinitionErrors(pub Vec<DefinitionError>);

impl fmt::Display for DefinitionErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

// The file as written; spans are kept where a later check must point at a line.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCampaign {
    #[serde(deserialize_with = "de_name")]
    name: String,
    #[serde(deserialize_with = "de_folder")]
    templates: String,
    #[serde(default = "default_locale", deserialize_with = "de_locale")]
    default_locale: Locale,
    #[serde(deserialize_with = "de_url")]
    privacy_policy_url: String,
    #[serde(default)]
    privacy_policy_version: Option<String>,
    #[serde(default)]
    privacy_policy_file: Option<PathBuf>,
    sender: RawSender,
    purpose: Spanned<LocalText>,
    frequency: Spanned<LocalText>,
    benefits: Spanned<Vec<Spanned<LocalText>>>,
    bonus: Spanned<RawBonus>,
    audience: Option<Spanned<Audience>>,
    #[serde(default = "default_rate")]
    rate: Rate,
    #[serde(default)]
    burst: u32,
    waves: Option<Spanned<Vec<Spanned<Wave>>>>,
    deadline: Spanned<Deadline>,
    #[serde(default = "default_grace")]
    grace: Span,
    #[serde(default = "default_suspect_window")]
    suspect_window: Span,
    #[serde(default)]
    webhook: RawWebhook,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSender {
    #[serde(deserialize_with = "de_line")]
    name: String,
    #[serde(deserialize_with = "de_email")]
    email: EmailAddress,
    #[serde(deserialize_with = "de_line")]
    legal_entity: String,
    #[serde(deserialize_with = "de_line")]
    address: String,
    contact: Spanned<LocalText>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBonus {
    text: Spanned<LocalText>,
    #[serde(default, deserialize_with = "de_code")]
    code: Option<String>,
    code_pool: Option<PathBuf>,
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWebhook {
    url: Option<Spanned<String>>,
}

fn default_locale() -> Locale {
    Locale::parse("en").unwrap_or_else(|_| unreachable!("'en' is a locale"))
}

fn default_rate() -> Rate {
    Rate {
        count: 10,
        per: RateUnit::Second,
    }
}

fn default_grace() -> Span {
    Span::days(7)
}

fn default_suspect_window() -> Span {
    Span::Seconds(300)
}

impl<'de> Deserialize<'de> for Deadline {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d).map_err(|_| {
            serde::de::Error::custom(
                "expected a quoted span or date, e.g. \"30d\" or \"2026-06-30\"",
            )
        })?;
        if let Ok(span) = Span::parse(&s) {
            return Ok(Deadline::After(span));
        }
        parse_instant(&s).map(Deadline::On).map_err(|_| {
            serde::de::Error::custom(format!(
                "'{s}' is neither a span after launch (e.g. 30d) nor a date (e.g. 2026-06-30)"
            ))
        })
    }
}

fn de_name<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let s = String::deserialize(d)?;
    let ok = !s.is_empty()
        && s.len() <= 64
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
    if ok {
        Ok(s)
    } else {
        Err(serde::de::Error::custom(format!(
            "'{s}' is not a campaign name (use 1–64 lower-case letters, digits, - and _, e.g. spring-reconsent)"
        )))
    }
}

fn de_folder<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let s = String::deserialize(d)?;
    let ok = !s.is_empty()
        && !s.starts_with('.')
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.');
    if ok {
        Ok(s)
    } else {
        Err(serde::de::Error::custom(format!(
            "'{s}' is not a folder name under templates/ (e.g. reconsent-default)"
        )))
    }
}

fn de_locale<'de, D: Deserializer<'de>>(d: D) -> Result<Locale, D::Error> {
    let s = String::deserialize(d)?;
    Locale::parse(&s).map_err(serde::de::Error::custom)
}

fn de_email<'de, D: Deserializer<'de>>(d: D) -> Result<EmailAddress, D::Error> {
    let s = String::deserialize(d)?;
    EmailAddress::parse(&s).map_err(serde::de::Error::custom)
}

/// A one-line, non-empty text (it may end up in a header).
fn de_line<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let s = String::deserialize(d)?;
    if s.trim().is_empty() {
        return Err(serde::de::Error::custom("the text is empty"));
    }
    if s.contains(['\r', '\n']) {
        return Err(serde::de::Error::custom("write it on one line"));
    }
    Ok(s.trim().to_string())
}

fn de_code<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    de_line(d).map(Some)
}

fn de_url<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let s = String::deserialize(d)?;
    check_url(&s).map_err(serde::de::Error::custom)?;
    Ok(s)
}

fn check_url(s: &str) -> Result<(), String> {
    let rest = s
        .strip_prefix("https://")
        .or_else(|| s.strip_prefix("http://"));
    match rest {
        Some(r) if !r.is_empty() && !r.starts_with('/') && !s.contains(char::is_whitespace) => {
            Ok(())
        }
        _ => Err(format!(
            "'{s}' is not a web address (expected https://…, e.g. https://shop.example/privacy)"
        )),
    }
}

/// The line of the `classes` key of the audience table at `span`, else its first line.
fn classes_line(text: &str, span: std::ops::Range<usize>) -> usize {
    // A table's span is its header; its keys run to the next header.
    let rest = text.get(span.start..).unwrap_or_default();
    let mut offset = span.start;
    for (i, line) in rest.split_inclusive('\n').enumerate() {
        if i > 0 && line.trim_start().starts_with('[') {
            break;
        }
        let key = line.trim_start().trim_start_matches(['{', ' ']);
        if key.starts_with("classes") && key["classes".len()..].trim_start().starts_with('=') {
            return line_of(text, offset);
        }
        offset += line.len();
    }
    line_of(text, span.start)
}

/// The line (1-based) a byte offset is on.
fn line_of(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset.min(text.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

impl Campaign {
    /// Reads and checks a campaign file.
    pub fn load(path: &Path) -> Result<Campaign, DefinitionErrors> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| {
            DefinitionErrors(vec![DefinitionError {
                file: file.clone(),
                line: None,
                field: String::new(),
                message: format!("cannot read the campaign file: {e}"),
            }])
        })?;
        Campaign::parse(&text, &file)
    }

    /// Checks a campaign file's text; `file` names it in every message.
    pub fn parse(text: &str, file: &str) -> Result<Campaign, DefinitionErrors> {
        let located = |span: Option<std::ops::Range<usize>>, field: &str, message: String| {
            DefinitionError {
                file: file.to_string(),
                // A span from the top of the file is the whole document: no useful line.
                line: span.filter(|s| s.start > 0).map(|s| line_of(text, s.start)),
                field: field.to_string(),
                message,
            }
        };
        let de = toml::Deserializer::parse(text).map_err(|e| {
            DefinitionErrors(vec![located(e.span(), "", e.message().trim().to_string())])
        })?;
        let raw: RawCampaign = serde_path_to_error::deserialize(de).map_err(|e| {
            // `Spanned` shows up in the path as a private segment; users never wrote it.
            let path = e
                .path()
                .to_string()
                .replace(".$__serde_spanned_private_value", "");
            let field = if path == "." { String::new() } else { path };
            let inner = e.into_inner();
            DefinitionErrors(vec![located(
                inner.span(),
                &field,
                inner.message().trim().to_string(),
            )])
        })?;
        let mut problems = Vec::new();
        let campaign = raw.validate(text, file, &mut |span, field, message| {
            problems.push(located(Some(span), field, message));
        });
        if problems.is_empty() {
            Ok(campaign)
        } else {
            Err(DefinitionErrors(problems))
        }
    }
}

type Report<'a> = dyn FnMut(std::ops::Range<usize>, &str, String) + 'a;

impl RawCampaign {
    /// Cross-field checks; every problem is reported, then the campaign is built anyway.
    fn validate(self, text: &str, file: &str, report: &mut Report<'_>) -> Campaign {
        let dl = &self.default_locale;
        let mut needs_default = |text: &Spanned<LocalText>, field: &str| {
            if !text.get_ref().covers(dl) {
                report(
                    text.span(),
                    field,
                    format!(
                        "no text for the default locale '{dl}' (add {dl} = \"…\", or change default_locale)"
                    ),
                );
            }
        };
        needs_default(&self.purpose, "purpose");
        needs_default(&self.frequency, "frequency");
        needs_default(&self.sender.contact, "sender.contact");
        needs_default(&self.bonus.get_ref().text, "bonus.text");
        for (i, b) in self.benefits.get_ref().iter().enumerate() {
            needs_default(b, &format!("benefits[{i}]"));
        }
        if self.benefits.get_ref().is_empty() {
            report(
                self.benefits.span(),
                "benefits",
                "list at least one benefit of staying subscribed".into(),
            );
        }
        let bonus = self.bonus.get_ref();
        let code = match (&bonus.code, &bonus.code_pool) {
            (Some(code), None) => BonusCode::Static(code.clone()),
            (None, Some(pool)) => BonusCode::Pool(pool.clone()),
            (Some(_), Some(_)) => {
                report(
                    self.bonus.span(),
                    "bonus",
                    "give either code or code_pool, not both".into(),
                );
                BonusCode::Static(String::new())
            }
            (None, None) => {
                report(
                    self.bonus.span(),
                    "bonus",
                    "give the bonus a code (code = \"WELCOME10\") or a file of codes (code_pool = \"campaigns/codes.txt\")".into(),
                );
                BonusCode::Static(String::new())
            }
        };
        let waves = self.validate_waves(report);
        let audience_line = self.audience.as_ref().map(|a| classes_line(text, a.span()));
        let webhook = self.webhook.url.as_ref().map(|u| u.get_ref().trim());
        if let Some(url) = webhook.filter(|u| !u.is_empty())
            && let Err(e) = check_url(url)
        {
            report(
                self.webhook.url.as_ref().map_or(0..0, Spanned::span),
                "webhook.url",
                e,
            );
        }
        let webhook = webhook.filter(|u| !u.is_empty()).map(str::to_string);
        Campaign {
            name: self.name,
            templates: self.templates,
            default_locale: self.default_locale,
            privacy_policy_url: self.privacy_policy_url,
            privacy_policy_version: self
                .privacy_policy_version
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty()),
            privacy_policy_file: self.privacy_policy_file,
            sender: Sender {
                name: self.sender.name,
                email: self.sender.email,
                legal_entity: self.sender.legal_entity,
                address: self.sender.address,
                contact: self.sender.contact.into_inner(),
            },
            purpose: self.purpose.into_inner(),
            frequency: self.frequency.into_inner(),
            benefits: self
                .benefits
                .into_inner()
                .into_iter()
                .map(Spanned::into_inner)
                .collect(),
            bonus: Bonus {
                text: self.bonus.into_inner().text.into_inner(),
                code,
            },
            audience: self.audience.map(Spanned::into_inner).unwrap_or_default(),
            rate: self.rate,
            burst: self.burst,
            waves,
            deadline: *self.deadline.get_ref(),
            grace: self.grace,
            suspect_window: self.suspect_window,
            webhook,
            file: file.to_string(),
            audience_line,
        }
    }

    fn validate_waves(&self, report: &mut Report<'_>) -> Vec<Wave> {
        let Some(waves) = &self.waves else {
            return vec![Wave {
                name: "initial".into(),
                after: Span::Seconds(0),
            }];
        };
        if waves.get_ref().is_empty() {
            report(
                waves.span(),
                "waves",
                "give at least one wave (name = \"initial\", after = \"0d\")".into(),
            );
        }
        // Spans of months and of seconds compare by where they land from one instant.
        let origin = parse_instant("2000-01-01").unwrap_or_default();
        let mut previous: Option<&Wave> = None;
        for (i, w) in waves.get_ref().iter().enumerate() {
            let wave = w.get_ref();
            let field = format!("waves[{i}]");
            if wave.name.trim().is_empty()
                || !wave
                    .name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            {
                report(
                    w.span(),
                    &field,
                    format!(
                        "'{}' is not a wave name (use letters, digits, - and _, e.g. last-call)",
                        wave.name
                    ),
                );
            }
            if waves.get_ref()[..i]
                .iter()
                .any(|o| o.get_ref().name == wave.name)
            {
                report(
                    w.span(),
                    &field,
                    format!("a wave named '{}' comes earlier", wave.name),
                );
            }
            if let Some(p) = previous
                && wave.after.after(origin) <= p.after.after(origin)
            {
                report(
                    w.span(),
                    &field,
                    format!(
                        "'{}' (after {}) must come later than '{}' (after {})",
                        wave.name, wave.after, p.name, p.after
                    ),
                );
            }
            previous = Some(wave);
        }
        if let (Some(last), Deadline::After(deadline)) = (previous, self.deadline.get_ref())
            && deadline.after(origin) <= last.after.after(origin)
        {
            report(
                self.deadline.span(),
                "deadline",
                format!(
                    "{deadline} is not after the last wave '{}' ({} after launch): recipients of that wave would have no time to answer",
                    last.name, last.after
                ),
            );
        }
        waves
            .get_ref()
            .iter()
            .map(|w| w.get_ref().clone())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::ContactClass;

    const MINIMAL: &str = r#"
name = "spring"
templates = "reconsent-default"
privacy_policy_url = "https://shop.example/privacy"
deadline = "30d"
purpose = { en = "our newsletter with offers", pl = "nasz newsletter z ofertami" }
frequency = "twice a month"
benefits = [{ en = "early access" }]

[sender]
name = "Tatra Tea"
email = "news@shop.example"
legal_entity = "Tatra Tea sp. z o.o."
address = "ul. Przykładowa 12, 30-001 Kraków"
contact = "kontakt@shop.example"

[bonus]
text = "10% off"
code = "WELCOME10"
"#;

    fn parse(text: &str) -> Result<Campaign, DefinitionErrors> {
        Campaign::parse(text, "campaigns/x.toml")
    }

    /// MINIMAL with `line` inserted before the `[sender]` table (so it is top-level).
    fn with_top(line: &str) -> String {
        MINIMAL.replacen("\n[sender]", &format!("{line}\n\n[sender]"), 1)
    }

    #[test]
    fn minimal_file_gets_defaults() {
        let c = parse(MINIMAL).unwrap();
        assert_eq!(c.name, "spring");
        assert_eq!(c.default_locale.as_str(), "en");
        assert_eq!(c.rate.to_string(), "10/s");
        assert_eq!(c.grace, Span::days(7));
        assert_eq!(c.suspect_window, Span::Seconds(300));
        assert_eq!(c.waves.len(), 1);
        assert_eq!(c.deadline, Deadline::After(Span::days(30)));
        assert_eq!(
            c.audience.classes,
            vec![ContactClass::Weak, ContactClass::Stale]
        );
        assert_eq!(c.bonus.code, BonusCode::Static("WELCOME10".into()));
        assert_eq!(c.webhook, None);
        let pl = Locale::parse("pl").unwrap();
        let sk = Locale::parse("sk").unwrap();
        let en = Locale::parse("en").unwrap();
        assert_eq!(c.purpose.get(&pl, &en), "nasz newsletter z ofertami");
        assert_eq!(c.purpose.get(&sk, &en), "our newsletter with offers");
        assert_eq!(c.frequency.get(&sk, &en), "twice a month");
        assert!(!c.purpose.covers(&sk) && c.frequency.covers(&sk));
    }

    #[test]
    fn the_example_campaign_reads() {
        let text = include_str!("../../campaigns/example.toml");
        let c = parse(text).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(c.waves.len(), 3);
        assert_eq!(c.benefits.len(), 4);
        assert_eq!(c.rate.per_second(), 50.0);
    }

    #[test]
    fn rates() {
        for (input, per_second) in [
            ("50/s", 50.0),
            ("3000/min", 50.0),
            ("360/h", 0.1),
            (" 7 / sec ", 7.0),
        ] {
            assert_eq!(
                Rate::parse(input).unwrap().per_second(),
                per_second,
                "{input}"
            );
        }
        for bad in ["", "50", "50 per second", "0/s", "-1/s", "50/day", "x/s"] {
            assert!(Rate::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn refusals_name_file_line_and_field() {
        let cases: Vec<(String, &str)> = vec![
            (
                with_top("rate = \"50 per second\""),
                "campaigns/x.toml line 9: rate: '50 per second' is not a rate (expected e.g. 50/s",
            ),
            (
                with_top("rat = \"50/s\""),
                "campaigns/x.toml line 9: rat: unknown field `rat`",
            ),
            (
                MINIMAL.replace("\"30d\"", "\"30 days\""),
                "line 5: deadline: '30 days' is neither",
            ),
            (
                MINIMAL.replace("news@shop.example", "news(at)shop.example"),
                "line 12: sender.email: 'news(at)shop.example' is not an e-mail address",
            ),
            (
                MINIMAL.replace("name = \"spring\"", "name = \"Spring Campaign\""),
                "line 2: name: 'Spring Campaign' is not a campaign name",
            ),
            (
                MINIMAL.replace("https://shop.example/privacy", "shop.example/privacy"),
                "line 4: privacy_policy_url: 'shop.example/privacy' is not a web address",
            ),
            (
                MINIMAL.replace(
                    "frequency = \"twice a month\"",
                    "frequency = { pl = \"dwa razy\" }",
                ),
                "line 7: frequency: no text for the default locale 'en'",
            ),
            (
                MINIMAL.replace("code = \"WELCOME10\"", ""),
                "line 17: bonus: give the bonus a code",
            ),
            (
                MINIMAL.replace("legal_entity = \"Tatra Tea sp. z o.o.\"\n", ""),
                "line 10: sender: missing field `legal_entity`",
            ),
            (
                format!("{MINIMAL}\n[audience]\nclasses = [\"weak\", \"cold\"]\n"),
                "line 22: audience.classes[1]: unknown variant `cold`",
            ),
            (
                format!("{MINIMAL}\n[audience]\nfilters = {{ shoe_size = 42 }}\n"),
                "line 22: audience.filters.shoe_size: unknown field `shoe_size`",
            ),
            (
                format!(
                    "{}\n[[waves]]\nname = \"initial\"\nafter = \"0d\"\n[[waves]]\nname = \"reminder\"\nafter = \"40d\"\n",
                    MINIMAL
                ),
                "deadline: 30d is not after the last wave 'reminder'",
            ),
            (
                format!(
                    "{}\n[[waves]]\nname = \"initial\"\nafter = \"7d\"\n[[waves]]\nname = \"initial\"\nafter = \"1d\"\n",
                    MINIMAL
                ),
                "line 24: waves[1]: a wave named 'initial' comes earlier",
            ),
            (
                "name = ".to_string(),
                "campaigns/x.toml line 1: string values must be quoted",
            ),
        ];
        for (text, fragment) in cases {
            let err = parse(&text).unwrap_err().to_string();
            assert!(err.contains(fragment), "want {fragment:?}\ngot  {err}");
        }
    }

    #[test]
    fn points_at_the_audience_classes() {
        let text = format!("{MINIMAL}\n[audience]\ncountries = [\"PL\"]\nclasses = [\"weak\"]\n");
        assert_eq!(parse(&text).unwrap().audience_line, Some(23));
        let text = format!("{MINIMAL}\n[audience]\ncountries = [\"PL\"]\n");
        assert_eq!(parse(&text).unwrap().audience_line, Some(21));
        assert_eq!(parse(MINIMAL).unwrap().audience_line, None);
    }

    #[test]
    fn later_waves_must_come_later() {
        let text = format!(
            "{MINIMAL}\n[[waves]]\nname = \"a\"\nafter = \"7d\"\n[[waves]]\nname = \"b\"\nafter = \"1w\"\n"
        );
        let err = parse(&text).unwrap_err().to_string();
        assert!(
            err.contains("waves[1]: 'b' (after 7d) must come later"),
            "{err}"
        );
    }

    #[test]
    fn deadline_may_be_a_date() {
        let c = parse(&MINIMAL.replace("\"30d\"", "\"2026-06-30\"")).unwrap();
        assert_eq!(
            c.deadline.at(parse_instant("2026-01-01").unwrap()),
            parse_instant("2026-06-30").unwrap()
        );
    }

    #[test]
    fn code_pool_instead_of_code() {
        let c =
            parse(&MINIMAL.replace("code = \"WELCOME10\"", "code_pool = \"codes.txt\"")).unwrap();
        assert_eq!(c.bonus.code, BonusCode::Pool("codes.txt".into()));
        let both = MINIMAL.replace(
            "code = \"WELCOME10\"",
            "code = \"A\"\ncode_pool = \"codes.txt\"",
        );
        assert!(parse(&both).unwrap_err().to_string().contains("not both"));
    }
}
