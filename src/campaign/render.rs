//! A campaign's templates, compiled once, rendered per contact.
//!
//! `templates/NAME/LOCALE/{subject.hbs, body.html.hbs, body.txt.hbs}` with shared
//! `templates/NAME/partials/*.html.hbs` and `*.txt.hbs` (see `templates/README.md` for
//! the variables). Two registries: the HTML one escapes every value, the text one (the
//! plain-text part and the subject) does not, so `Müller & Söhne` stays readable in the
//! text part and is `&amp;`-escaped in the HTML. Both run in strict mode: a variable that
//! does not exist is an error, never an empty string in a sent e-mail.
//!
//! Everything that is the same for every contact of a locale is built into a JSON
//! object once; a message adds the few per-contact values to a copy of it.

use super::definition::{Campaign, Wave};
use super::skeleton::{self, SLOTS, Skeleton};
use crate::domain::{Instant, Locale};
use handlebars::{Context, Handlebars, RenderError};
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

pub const SUBJECT_FILE: &str = "subject.hbs";
pub const HTML_FILE: &str = "body.html.hbs";
pub const TEXT_FILE: &str = "body.txt.hbs";
const PARTIALS_DIR: &str = "partials";

/// What differs from one contact (and wave) to the next.
#[derive(Debug, Clone)]
pub struct RenderInput<'a> {
    /// The contact's locale; `None` or a locale without templates gets the default.
    pub locale: Option<&'a Locale>,
    pub name: Option<&'a str>,
    pub confirm_url: &'a str,
    pub leave_url: &'a str,
    /// What `{{bonus.code}}` prints. A request must not print it (the code rewards
    /// confirming): `campaign check` renders a sentinel here and refuses a template
    /// whose output contains it.
    pub bonus_code: &'a str,
    pub deadline: Instant,
    /// Index into the campaign's waves.
    pub wave: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    pub subject: String,
    pub html: String,
    pub text: String,
    pub locale: Locale,
}

/// A template problem, named by the file it is in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateProblem {
    /// e.g. `templates/reconsent-default/pl/body.html.hbs`, or the folder.
    pub file: String,
    pub line: Option<usize>,
    pub message: String,
}

impl fmt::Display for TemplateProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(l) => write!(f, "{} line {l}: {}", self.file, self.message),
            None => write!(f, "{}: {}", self.file, self.message),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct TemplateProblems(pub Vec<TemplateProblem>);

impl fmt::Display for TemplateProblems {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, p) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{p}")?;
        }
        Ok(())
    }
}

pub struct Renderer {
    html: Handlebars<'static>,
    text: Handlebars<'static>,
    default_locale: Locale,
    /// Per locale with templates: the values every contact of that locale shares.
    shared: BTreeMap<Locale, Map<String, Value>>,
    waves: Vec<Wave>,
    /// Registry name → the file it came from, for error messages.
    files: BTreeMap<String, String>,
    /// `templates/NAME`, as shown to the user.
    folder: String,
    /// Every template only inserts values or tests them for truth (see `skeleton`).
    value_blind: bool,
    /// Per locale, per wave, without and with a name: the fast path, where proven equal.
    skeletons: BTreeMap<Locale, Vec<[Option<Parts>; 2]>>,
}

/// The three outputs of a message as skeletons.
#[derive(Debug, Clone)]
struct Parts {
    subject: Skeleton,
    html: Skeleton,
    text: Skeleton,
}

impl fmt::Debug for Renderer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Renderer")
            .field("folder", &self.folder)
            .field("locales", &self.shared.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl Renderer {
    /// Compiles `templates_root/<campaign.templates>`, or says every problem found
    /// (syntax errors, missing files, no templates for the default locale).
    pub fn new(campaign: &Campaign, templates_root: &Path) -> Result<Renderer, TemplateProblems> {
        match Self::compile(campaign, templates_root) {
            (Some(r), problems) if problems.is_empty() => Ok(r),
            (_, problems) => Err(TemplateProblems(problems)),
        }
    }

    /// Compiles what compiles and lists the rest, so `check` can still render the
    /// locales that work. `None` when there is no template folder at all.
    pub fn compile(
        campaign: &Campaign,
        templates_root: &Path,
    ) -> (Option<Renderer>, Vec<TemplateProblem>) {
        let dir = templates_root.join(&campaign.templates);
        let folder = format!("templates/{}", campaign.templates);
        if !dir.is_dir() {
            let problem = TemplateProblem {
                file: folder,
                line: None,
                message: format!(
                    "the template folder does not exist (looked for {})",
                    dir.display()
                ),
            };
            return (None, vec![problem]);
        }
        match read_template_files(&dir) {
            Ok(files) => Self::compile_files(campaign, &files),
            Err(e) => (
                None,
                vec![TemplateProblem {
                    file: folder,
                    line: None,
                    message: format!("{e:#}"),
                }],
            ),
        }
    }

    /// Compiles templates held in memory (relative path → source), e.g. the copy a
    /// launched campaign keeps, so what was checked is what is sent.
    pub fn from_files(
        campaign: &Campaign,
        files: &BTreeMap<String, String>,
    ) -> Result<Renderer, TemplateProblems> {
        match Self::compile_files(campaign, files) {
            (Some(r), problems) if problems.is_empty() => Ok(r),
            (_, problems) => Err(TemplateProblems(problems)),
        }
    }

    fn compile_files(
        campaign: &Campaign,
        files: &BTreeMap<String, String>,
    ) -> (Option<Renderer>, Vec<TemplateProblem>) {
        let folder = format!("templates/{}", campaign.templates);
        let mut problems = Vec::new();
        let problem = |file: &str, message: String| TemplateProblem {
            file: file.to_string(),
            line: None,
            message,
        };
        let mut r = Renderer {
            html: registry(true),
            text: registry(false),
            default_locale: campaign.default_locale.clone(),
            shared: BTreeMap::new(),
            waves: campaign.waves.clone(),
            files: BTreeMap::new(),
            folder: folder.clone(),
            value_blind: true,
            skeletons: BTreeMap::new(),
        };
        r.register_partials(files, &mut problems);
        for locale in locale_dirs(files, &folder, &mut problems) {
            let shown = format!("{folder}/{locale}");
            let mut complete = true;
            for (file, html, name) in [
                (SUBJECT_FILE, false, format!("{locale}/subject")),
                (HTML_FILE, true, format!("{locale}/body")),
                (TEXT_FILE, false, format!("{locale}/body")),
            ] {
                let file_shown = format!("{shown}/{file}");
                match files.get(&format!("{locale}/{file}")) {
                    Some(source) => {
                        if let Err(p) = r.register(html, &name, source, &file_shown) {
                            problems.push(p);
                            complete = false;
                        }
                    }
                    None => {
                        problems.push(problem(&file_shown, "the file is missing".to_string()));
                        complete = false;
                    }
                }
            }
            if complete {
                r.shared
                    .insert(locale.clone(), shared_values(campaign, &locale));
            }
        }
        if !r.shared.contains_key(&campaign.default_locale) {
            let dl = &campaign.default_locale;
            problems.push(problem(
                &folder,
                format!(
                    "no working templates for the campaign's default locale '{dl}' (needs {folder}/{dl}/ with {SUBJECT_FILE}, {HTML_FILE}, {TEXT_FILE})"
                ),
            ));
        }
        if r.value_blind {
            r.build_skeletons();
        }
        (Some(r), problems)
    }

    /// Pre-renders every locale and wave with markers, keeping each skeleton only if
    /// probe contacts render the same through it as through Handlebars.
    fn build_skeletons(&mut self) {
        let probes: [[&str; 5]; 2] = [
            [
                "Zoë & <Ola> \"O'Neil\"",
                "https://r.example/r/A1?x=1&y=\"2\"",
                "https://r.example/r/B2#`=",
                "CODE<&>",
                "15 <June> & 'x'",
            ],
            [
                "Jan",
                "https://a.example/r/C",
                "https://a.example/r/D",
                "X",
                "1 May",
            ],
        ];
        let mut all = BTreeMap::new();
        for locale in self.shared.keys() {
            let mut per_wave = Vec::with_capacity(self.waves.len());
            for wave in 0..self.waves.len() {
                let mut pair: [Option<Parts>; 2] = [None, None];
                for (slot, with_name) in [(0, false), (1, true)] {
                    pair[slot] = self.skeleton_for(locale, wave, with_name).filter(|parts| {
                        probes.iter().all(|probe| {
                            let mut values = *probe;
                            if !with_name {
                                values[0] = "";
                            }
                            let fast = fill(parts, &values, locale);
                            let full = self.render_full(locale, wave, &values);
                            full.is_ok_and(|full| full == fast)
                        })
                    });
                }
                per_wave.push(pair);
            }
            all.insert(locale.clone(), per_wave);
        }
        self.skeletons = all;
    }

    fn skeleton_for(&self, locale: &Locale, wave: usize, with_name: bool) -> Option<Parts> {
        let markers = SLOTS.map(skeleton::marker);
        let mut values: [&str; 5] = [
            &markers[0],
            &markers[1],
            &markers[2],
            &markers[3],
            &markers[4],
        ];
        if !with_name {
            values[0] = "";
        }
        let (subject, html, text) = self.render_raw(locale, wave, &values).ok()?;
        Some(Parts {
            subject: Skeleton::parse(&subject)?,
            html: Skeleton::parse(&html)?,
            text: Skeleton::parse(&text)?,
        })
    }

    fn register_partials(
        &mut self,
        files: &BTreeMap<String, String>,
        problems: &mut Vec<TemplateProblem>,
    ) {
        let prefix = format!("{PARTIALS_DIR}/");
        for (path, source) in files.range(prefix.clone()..) {
            let Some(file) = path.strip_prefix(&prefix) else {
                break;
            };
            let (name, html) = if let Some(n) = file.strip_suffix(".html.hbs") {
                (n, true)
            } else if let Some(n) = file.strip_suffix(".txt.hbs") {
                (n, false)
            } else {
                continue;
            };
            let shown = format!("{}/{PARTIALS_DIR}/{file}", self.folder);
            if let Err(p) = self.register(html, name, source, &shown) {
                problems.push(p);
            }
        }
    }

    fn register(
        &mut self,
        html: bool,
        name: &str,
        source: &str,
        shown: &str,
    ) -> Result<(), TemplateProblem> {
        let reg = if html { &mut self.html } else { &mut self.text };
        reg.register_template_string(name, source)
            .map_err(|e| TemplateProblem {
                file: shown.to_string(),
                line: e.pos().map(|(l, _)| l),
                message: format!("the template does not compile: {}", e.reason()),
            })?;
        self.value_blind &= skeleton::value_blind(source);
        let kind = if html { "html" } else { "text" };
        self.files
            .insert(format!("{kind}:{name}"), shown.to_string());
        Ok(())
    }

    /// The locales that have templates, in order.
    pub fn locales(&self) -> impl Iterator<Item = &Locale> {
        self.shared.keys()
    }

    /// How many (locale, wave, with or without name) combinations take the fast path.
    pub fn fast_paths(&self) -> usize {
        self.skeletons
            .values()
            .flatten()
            .flatten()
            .filter(|p| p.is_some())
            .count()
    }

    pub fn folder(&self) -> &str {
        &self.folder
    }

    /// The locale a contact with `wanted` gets: its own if there are templates for it,
    /// else the campaign's default.
    pub fn pick_locale<'a>(&'a self, wanted: Option<&'a Locale>) -> &'a Locale {
        wanted
            .filter(|l| self.shared.contains_key(*l))
            .unwrap_or(&self.default_locale)
    }

    pub fn render(&self, input: &RenderInput<'_>) -> Result<Rendered, TemplateProblem> {
        let locale = self.pick_locale(input.locale);
        let name = input.name.map(str::trim).unwrap_or("");
        let deadline = format_date(input.deadline, locale);
        let values = [
            name,
            input.confirm_url,
            input.leave_url,
            input.bonus_code,
            deadline.as_str(),
        ];
        // The skeletons were made with every value but the name present.
        let skeleton = self
            .skeletons
            .get(locale)
            .and_then(|waves| waves.get(input.wave))
            .and_then(|pair| pair[usize::from(!name.is_empty())].as_ref())
            .filter(|_| values[1..].iter().all(|v| !v.is_empty()));
        if let Some(parts) = skeleton {
            return Ok(fill(parts, &values, locale));
        }
        self.render_full(locale, input.wave, &values)
    }

    /// The same as [`Renderer::render`], always through Handlebars: the reference the
    /// fast path is held to, and a baseline for benchmarks.
    pub fn render_uncached(&self, input: &RenderInput<'_>) -> Result<Rendered, TemplateProblem> {
        let locale = self.pick_locale(input.locale);
        let deadline = format_date(input.deadline, locale);
        let values = [
            input.name.map(str::trim).unwrap_or(""),
            input.confirm_url,
            input.leave_url,
            input.bonus_code,
            deadline.as_str(),
        ];
        self.render_full(locale, input.wave, &values)
    }

    fn render_full(
        &self,
        locale: &Locale,
        wave: usize,
        values: &[&str; 5],
    ) -> Result<Rendered, TemplateProblem> {
        let (subject, html, text) = self.render_raw(locale, wave, values)?;
        Ok(finish(subject, html, text, locale))
    }

    /// Renders subject, HTML and text with `values` in [`SLOTS`] order.
    fn render_raw(
        &self,
        locale: &Locale,
        wave: usize,
        values: &[&str; 5],
    ) -> Result<(String, String, String), TemplateProblem> {
        let Some(shared) = self.shared.get(locale) else {
            return Err(TemplateProblem {
                file: self.folder.clone(),
                line: None,
                message: format!("no templates for '{locale}'"),
            });
        };
        let [name, confirm_url, leave_url, bonus_code, deadline] = *values;
        let mut data = shared.clone();
        data.insert("contact".into(), json!({ "name": name }));
        data.insert("greeting_name".into(), Value::String(name.into()));
        data.insert("confirm_url".into(), Value::String(confirm_url.into()));
        data.insert("leave_url".into(), Value::String(leave_url.into()));
        data.insert("deadline".into(), Value::String(deadline.into()));
        if let Some(Value::Object(bonus)) = data.get_mut("bonus") {
            bonus.insert("code".into(), Value::String(bonus_code.into()));
        }
        let count = self.waves.len();
        let wave_name = self.waves.get(wave).map_or("", |w| w.name.as_str());
        data.insert(
            "wave".into(),
            json!({
                "name": wave_name,
                "number": wave + 1,
                "reminder": wave > 0,
                "last": count > 1 && wave + 1 == count,
            }),
        );
        let ctx = Context::from(Value::Object(data));
        let subject_name = format!("{locale}/subject");
        let body_name = format!("{locale}/body");
        let subject = self
            .text
            .render_with_context(&subject_name, &ctx)
            .map_err(|e| self.problem("text", &subject_name, e))?;
        let html = self
            .html
            .render_with_context(&body_name, &ctx)
            .map_err(|e| self.problem("html", &body_name, e))?;
        let text = self
            .text
            .render_with_context(&body_name, &ctx)
            .map_err(|e| self.problem("text", &body_name, e))?;
        Ok((subject, html, text))
    }

    fn problem(&self, kind: &str, top: &str, e: RenderError) -> TemplateProblem {
        let name = e.template_name.clone().unwrap_or_else(|| top.to_string());
        let file = self
            .files
            .get(&format!("{kind}:{name}"))
            .cloned()
            .unwrap_or_else(|| format!("{}/{name}", self.folder));
        let message = match e.reason() {
            handlebars::RenderErrorReason::MissingVariable(Some(var)) => format!(
                "unknown variable '{var}' (see templates/README.md for the variables there are)"
            ),
            handlebars::RenderErrorReason::PartialNotFound(p) => {
                format!("no partial '{p}' in {}/{PARTIALS_DIR}/", self.folder)
            }
            other => other.to_string(),
        };
        TemplateProblem {
            file,
            line: e.line_no,
            message,
        }
    }
}

fn fill(parts: &Parts, values: &[&str; 5], locale: &Locale) -> Rendered {
    finish(
        parts.subject.fill(values, false),
        parts.html.fill(values, true),
        parts.text.fill(values, false),
        locale,
    )
}

/// The subject on one line, the text tidied: the same for both paths.
fn finish(subject: String, html: String, text: String, locale: &Locale) -> Rendered {
    Rendered {
        subject: one_line(&subject),
        html,
        text: tidy_text(&text),
        locale: locale.clone(),
    }
}

fn registry(html: bool) -> Handlebars<'static> {
    let mut r = Handlebars::new();
    r.set_strict_mode(true);
    if !html {
        r.register_escape_fn(handlebars::no_escape);
    }
    r
}

/// The locale folders under a template folder, sorted.
/// Reads a template folder: `partials/*` and `LOCALE/*`, as relative path → source.
pub fn read_template_files(dir: &Path) -> anyhow::Result<BTreeMap<String, String>> {
    use anyhow::Context;
    let mut files = BTreeMap::new();
    let entries =
        std::fs::read_dir(dir).with_context(|| format!("cannot read {}", dir.display()))?;
    for entry in entries.flatten() {
        let sub = entry.path();
        let Some(sub_name) = sub.file_name().and_then(|n| n.to_str()).map(str::to_string) else {
            continue;
        };
        if !sub.is_dir() || sub_name.starts_with('.') {
            continue;
        }
        // An empty folder still names a locale, so `check` can say what it lacks.
        files.insert(format!("{sub_name}/"), String::new());
        for file in std::fs::read_dir(&sub)?.flatten() {
            let path = file.path();
            let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
                continue;
            };
            if !path.is_file() || name.starts_with('.') {
                continue;
            }
            let source = std::fs::read_to_string(&path)
                .with_context(|| format!("cannot read {} (is it UTF-8 text?)", path.display()))?;
            files.insert(format!("{sub_name}/{name}"), source);
        }
    }
    Ok(files)
}

/// The locale folders among the files, and a problem for each folder that is not one.
fn locale_dirs(
    files: &BTreeMap<String, String>,
    folder: &str,
    problems: &mut Vec<TemplateProblem>,
) -> Vec<Locale> {
    let mut found = Vec::new();
    let mut names: Vec<&str> = files
        .keys()
        .filter_map(|k| k.split_once('/').map(|(d, _)| d))
        .collect();
    names.dedup();
    for name in names {
        if name == PARTIALS_DIR || name.starts_with('.') {
            continue;
        }
        match Locale::parse(name) {
            Ok(l) if l.as_str() == name => found.push(l),
            _ => problems.push(TemplateProblem {
                file: format!("{folder}/{name}"),
                line: None,
                message: "is not a locale folder (name it like en, pl, sk, cs, de)".into(),
            }),
        }
    }
    found.sort();
    found
}

/// What every contact of `locale` shares.
fn shared_values(c: &Campaign, locale: &Locale) -> Map<String, Value> {
    let dl = &c.default_locale;
    let text = |t: &super::definition::LocalText| Value::String(t.get(locale, dl).to_string());
    let value = json!({
        "campaign": { "name": c.name },
        "locale": locale.as_str(),
        "sender": {
            "name": c.sender.name,
            "email": c.sender.email.as_str(),
            "legal_entity": c.sender.legal_entity,
            "address": c.sender.address,
            "contact": text(&c.sender.contact),
        },
        "purpose": text(&c.purpose),
        "frequency": text(&c.frequency),
        "benefits": c.benefits.iter().map(text).collect::<Vec<_>>(),
        // The code is set per message (see `RenderInput::bonus_code`), never shared.
        "bonus": { "text": text(&c.bonus.text), "code": "" },
        "privacy_policy_url": c.privacy_policy_url,
    });
    match value {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

/// A header is one line: newlines and runs of spaces become one space.
fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Trailing spaces off every line, at most one blank line in a row, one final newline.
fn tidy_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut blank = 0;
    for line in s.lines() {
        let line = line.trim_end();
        if line.is_empty() {
            blank += 1;
            if blank > 1 || out.is_empty() {
                continue;
            }
        } else {
            blank = 0;
        }
        out.push_str(line);
        out.push('\n');
    }
    while out.ends_with("\n\n") {
        out.pop();
    }
    out
}

/// A date as a native speaker writes it in running text ("by 15 June 2025"): the
/// Slavic languages put the month in the genitive.
pub fn format_date(t: Instant, locale: &Locale) -> String {
    use chrono::Datelike;
    let (d, m, y) = (t.day(), t.month0() as usize, t.year());
    const EN: [&str; 12] = [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ];
    const PL: [&str; 12] = [
        "stycznia",
        "lutego",
        "marca",
        "kwietnia",
        "maja",
        "czerwca",
        "lipca",
        "sierpnia",
        "września",
        "października",
        "listopada",
        "grudnia",
    ];
    const SK: [&str; 12] = [
        "januára",
        "februára",
        "marca",
        "apríla",
        "mája",
        "júna",
        "júla",
        "augusta",
        "septembra",
        "októbra",
        "novembra",
        "decembra",
    ];
    const CS: [&str; 12] = [
        "ledna",
        "února",
        "března",
        "dubna",
        "května",
        "června",
        "července",
        "srpna",
        "září",
        "října",
        "listopadu",
        "prosince",
    ];
    const DE: [&str; 12] = [
        "Januar",
        "Februar",
        "März",
        "April",
        "Mai",
        "Juni",
        "Juli",
        "August",
        "September",
        "Oktober",
        "November",
        "Dezember",
    ];
    match locale.as_str() {
        "en" => format!("{d} {} {y}", EN[m]),
        "pl" => format!("{d} {} {y}", PL[m]),
        "sk" => format!("{d}. {} {y}", SK[m]),
        "cs" => format!("{d}. {} {y}", CS[m]),
        "de" => format!("{d}. {} {y}", DE[m]),
        _ => t.format("%Y-%m-%d").to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::parse_instant;
    use std::fs;

    const CAMPAIGN: &str = r#"
name = "t"
templates = "mini"
privacy_policy_url = "https://shop.example/privacy"
deadline = "30d"
purpose = { en = "offers", pl = "oferty" }
frequency = "weekly"
benefits = ["cheap & cheerful"]
[sender]
name = "Müller & Söhne"
email = "news@shop.example"
legal_entity = "M&S GmbH"
address = "Hauptstr. 1, Berlin"
contact = "help@shop.example"
[bonus]
text = "10% off"
code = "A<B>"
[[waves]]
name = "initial"
after = "0d"
[[waves]]
name = "reminder"
after = "7d"
[[waves]]
name = "last-call"
after = "14d"
"#;

    fn campaign() -> Campaign {
        Campaign::parse(CAMPAIGN, "t.toml").unwrap()
    }

    /// A template folder with `files` (path → text) under `root/mini`.
    fn folder(files: &[(&str, &str)]) -> tempfile::TempDir {
        let root = tempfile::tempdir().unwrap();
        for (path, text) in files {
            let p = root.path().join("mini").join(path);
            fs::create_dir_all(p.parent().unwrap()).unwrap();
            fs::write(p, text).unwrap();
        }
        root
    }

    const GOOD: [(&str, &str); 8] = [
        ("partials/who.html.hbs", "<b>{{sender.name}}</b>"),
        ("partials/who.txt.hbs", "{{sender.name}}"),
        (
            "en/subject.hbs",
            "{{#if wave.last}}Last: {{else if wave.reminder}}Again: {{/if}}Hi\n{{sender.name}}",
        ),
        (
            "en/body.html.hbs",
            "{{> who}} {{purpose}} {{bonus.code}} {{deadline}} {{#each benefits}}{{this}}{{/each}}",
        ),
        (
            "en/body.txt.hbs",
            "{{> who}} {{purpose}} {{bonus.code}} {{deadline}}\n\n\n\n{{confirm_url}}",
        ),
        ("pl/subject.hbs", "Cześć {{contact.name}}"),
        ("pl/body.html.hbs", "{{purpose}} {{deadline}}"),
        ("pl/body.txt.hbs", "{{purpose}} {{greeting_name}}"),
    ];

    fn input<'a>(locale: Option<&'a Locale>, wave: usize) -> RenderInput<'a> {
        RenderInput {
            locale,
            name: Some("Zofia Wróbel"),
            confirm_url: "https://r.example/r/C?a=1&b=2",
            leave_url: "https://r.example/r/L",
            bonus_code: "A<B>",
            deadline: parse_instant("2026-06-15").unwrap(),
            wave,
        }
    }

    #[test]
    fn escapes_html_only_and_falls_back_to_the_default_locale() {
        let root = folder(&GOOD);
        let r = Renderer::new(&campaign(), root.path()).unwrap();
        assert_eq!(
            r.locales().map(Locale::as_str).collect::<Vec<_>>(),
            ["en", "pl"]
        );
        let out = r.render(&input(None, 0)).unwrap();
        assert_eq!(out.locale.as_str(), "en");
        assert_eq!(out.subject, "Hi Müller & Söhne");
        assert_eq!(
            out.html,
            "<b>Müller &amp; Söhne</b> offers A&lt;B&gt; 15 June 2026 cheap &amp; cheerful"
        );
        assert_eq!(
            out.text,
            "Müller & Söhne offers A<B> 15 June 2026\n\nhttps://r.example/r/C?a=1&b=2\n"
        );
        let de = Locale::parse("de").unwrap();
        assert_eq!(
            r.render(&input(Some(&de), 0)).unwrap().locale.as_str(),
            "en"
        );
        let pl = Locale::parse("pl").unwrap();
        let out = r.render(&input(Some(&pl), 0)).unwrap();
        assert_eq!(out.subject, "Cześć Zofia Wróbel");
        assert_eq!(out.html, "oferty 15 czerwca 2026");
        assert_eq!(out.text, "oferty Zofia Wróbel\n");
    }

    #[test]
    fn subjects_know_their_wave() {
        let root = folder(&GOOD);
        let r = Renderer::new(&campaign(), root.path()).unwrap();
        let subjects: Vec<String> = (0..3)
            .map(|w| r.render(&input(None, w)).unwrap().subject)
            .collect();
        assert_eq!(
            subjects,
            [
                "Hi Müller & Söhne",
                "Again: Hi Müller & Söhne",
                "Last: Hi Müller & Söhne"
            ]
        );
    }

    #[test]
    fn unknown_variables_are_errors_naming_the_file() {
        let mut files = GOOD.to_vec();
        files[1] = ("partials/who.txt.hbs", "line one\n{{sender.phone}}");
        let root = folder(&files);
        let r = Renderer::new(&campaign(), root.path()).unwrap();
        let p = r.render(&input(None, 0)).unwrap_err();
        assert_eq!(p.file, "templates/mini/partials/who.txt.hbs");
        assert_eq!(p.line, Some(2));
        assert!(p.message.contains("unknown variable 'sender.phone'"), "{p}");
    }

    #[test]
    fn setup_problems_are_all_listed() {
        let mut files = GOOD.to_vec();
        files[3] = ("en/body.html.hbs", "{{#if purpose}}unclosed");
        files.push(("Polish/subject.hbs", "x"));
        let root = folder(&files[..files.len()]);
        fs::remove_file(root.path().join("mini/pl/body.txt.hbs")).unwrap();
        let problems = Renderer::new(&campaign(), root.path())
            .unwrap_err()
            .to_string();
        for want in [
            "templates/mini/en/body.html.hbs line 1: the template does not compile",
            "templates/mini/pl/body.txt.hbs: the file is missing",
            "templates/mini/Polish: is not a locale folder",
            "no working templates for the campaign's default locale 'en'",
        ] {
            assert!(problems.contains(want), "want {want}\n{problems}");
        }
        let missing = Renderer::new(&campaign(), Path::new("/nonexistent")).unwrap_err();
        assert!(
            missing
                .to_string()
                .contains("templates/mini: the template folder does not exist")
        );
    }

    #[test]
    fn the_fast_path_equals_handlebars_or_is_not_taken() {
        let cases: [(&str, &str, usize); 4] = [
            (
                "en/body.html.hbs",
                "{{purpose}} {{greeting_name}} {{confirm_url}}",
                12,
            ),
            // The name is compared, not inserted: no skeleton could stand in for it.
            (
                "en/body.html.hbs",
                "{{#if (eq contact.name \"Zofia Wróbel\")}}Z{{/if}}",
                0,
            ),
            // Unescaped in HTML: the probes with `&` tell the skeleton apart, so en goes slow.
            ("en/body.html.hbs", "{{{confirm_url}}}", 6),
            (
                "pl/body.txt.hbs",
                "{{#if greeting_name}}Cześć {{greeting_name}}{{/if}}",
                12,
            ),
        ];
        for (file, body, fast) in cases {
            let mut files = GOOD.to_vec();
            let at = files.iter().position(|(f, _)| *f == file).unwrap();
            files[at] = (file, body);
            let root = folder(&files);
            let r = Renderer::new(&campaign(), root.path()).unwrap();
            assert_eq!(r.fast_paths(), fast, "{body}");
            for locale in ["en", "pl"] {
                let l = Locale::parse(locale).unwrap();
                for name in [Some("Zofia Wróbel"), Some(" "), None, Some("A & <B>")] {
                    for wave in 0..3 {
                        let mut i = input(Some(&l), wave);
                        i.name = name;
                        let values = [
                            name.map(str::trim).unwrap_or(""),
                            i.confirm_url,
                            i.leave_url,
                            i.bonus_code,
                            &format_date(i.deadline, &l),
                        ];
                        assert_eq!(
                            r.render(&i).unwrap(),
                            r.render_full(&l, wave, &values).unwrap(),
                            "{body} {locale} {name:?} {wave}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn the_shipped_template_renders_every_locale_and_wave() {
        let text = include_str!("../../campaigns/example.toml");
        let c = Campaign::parse(text, "campaigns/example.toml").unwrap();
        let r = Renderer::new(
            &c,
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("templates")
                .as_path(),
        )
        .unwrap();
        let locales: Vec<Locale> = r.locales().cloned().collect();
        assert_eq!(locales.len(), 5);
        assert_eq!(
            r.fast_paths(),
            5 * 3 * 2,
            "every locale and wave, with and without a name"
        );
        for l in &locales {
            for wave in 0..c.waves.len() {
                let out = r.render(&input(Some(l), wave)).unwrap();
                assert_eq!(&out.locale, l);
                assert!(!out.subject.is_empty() && !out.subject.contains('\n'));
                assert!(out.text.contains("https://r.example/r/C?a=1&b=2"), "{l}");
                assert!(
                    out.html
                        .contains("https://r.example/r/C?a&#x3D;1&amp;b&#x3D;2"),
                    "{l}"
                );
            }
        }
    }

    #[test]
    fn dates_for_each_locale() {
        let t = parse_instant("2025-06-15T10:00:00Z").unwrap();
        let cases = [
            ("en", "15 June 2025"),
            ("pl", "15 czerwca 2025"),
            ("sk", "15. júna 2025"),
            ("cs", "15. června 2025"),
            ("de", "15. Juni 2025"),
            ("hu", "2025-06-15"),
        ];
        for (l, want) in cases {
            assert_eq!(format_date(t, &Locale::parse(l).unwrap()), want);
        }
        let march = parse_instant("2026-03-01").unwrap();
        assert_eq!(
            format_date(march, &Locale::parse("pl").unwrap()),
            "1 marca 2026"
        );
        assert_eq!(
            format_date(march, &Locale::parse("de").unwrap()),
            "1. März 2026"
        );
    }

    #[test]
    fn text_is_tidied() {
        assert_eq!(tidy_text("\n\na  \n\n\n\nb\n\n"), "a\n\nb\n");
        assert_eq!(one_line(" Hello\n  there \n"), "Hello there");
    }
}
