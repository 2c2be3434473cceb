//! `evidence EMAIL --show DIR`: the e-mails and pages a person was shown, rendered
//! again from the campaign's launched snapshot and checked against the ledger's hashes.

use super::shown::{email_sha256, page_sha256};
use crate::campaign::kit::Kit;
use crate::config::Config;
use crate::domain::{LedgerEvent, Locale};
use crate::store::{LedgerEntry, Store, StoredContact};
use anyhow::{Context, Result};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// One entry rendered again.
#[derive(Debug, Clone)]
pub struct Shown {
    /// The entry's place in the contact's ledger, from 1.
    pub number: usize,
    pub entry: LedgerEntry,
    pub files: Vec<PathBuf>,
    /// The hash of what was rendered now.
    pub rendered_sha256: String,
}

impl Shown {
    pub fn matches(&self) -> bool {
        self.entry.content_sha256.as_deref() == Some(self.rendered_sha256.as_str())
    }
}

/// Renders every `requested` e-mail and `confirmed` page of `stored` into `dir`.
pub async fn show(
    store: &Store,
    config: &Config,
    stored: &StoredContact,
    dir: &Path,
) -> Result<Vec<Shown>> {
    let link_key = store.secrets().await?.link_key;
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let mut kits: HashMap<String, Kit> = HashMap::new();
    let mut out = Vec::new();
    for (i, entry) in store.ledger(stored.id).await?.into_iter().enumerate() {
        let (Some(name), "requested" | "confirmed") = (&entry.campaign, entry.event.as_str())
        else {
            continue;
        };
        if !kits.contains_key(name) {
            let row = store
                .campaign(name)
                .await?
                .with_context(|| format!("the campaign {name} is no longer in the base"))?;
            kits.insert(name.clone(), Kit::prepare(&row, config, &link_key)?);
        }
        let kit = &kits[name];
        let locale = entry
            .detail
            .as_ref()
            .and_then(|d| d["locale"].as_str())
            .and_then(|l| Locale::parse(l).ok())
            .or_else(|| stored.contact.locale.clone())
            .unwrap_or_else(|| kit.campaign.default_locale.clone());
        let stem = dir.join(format!(
            "{:02}-{}-{}-{}",
            i + 1,
            entry.event,
            file_safe(name),
            file_safe(entry.wave.as_deref().unwrap_or("page"))
        ));
        let (files, rendered_sha256) = if entry.event == LedgerEvent::Requested {
            let wave = wave_index(kit, entry.wave.as_deref());
            let links = kit.links(stored)?;
            let r = kit.rendered_request(stored, &links, Some(&locale), wave)?;
            let files = write(
                &stem,
                &[
                    ("subject.txt", &r.subject),
                    ("txt", &r.text),
                    ("html", &r.html),
                ],
            )?;
            (files, email_sha256(&r.subject, &r.text, &r.html))
        } else {
            let html = kit.confirm_page(stored, &locale)?;
            (write(&stem, &[("html", &html)])?, page_sha256(&html))
        };
        out.push(Shown {
            number: i + 1,
            entry,
            files,
            rendered_sha256,
        });
    }
    Ok(out)
}

/// The wave a `requested` entry names, by its name in the campaign or its number.
fn wave_index(kit: &Kit, wave: Option<&str>) -> usize {
    let wave = wave.unwrap_or_default();
    kit.campaign
        .waves
        .iter()
        .position(|w| w.name == wave)
        .or_else(|| wave.parse().ok())
        .unwrap_or(0)
}

fn write(stem: &Path, parts: &[(&str, &String)]) -> Result<Vec<PathBuf>> {
    parts
        .iter()
        .map(|(ext, content)| {
            let path = stem.with_extension(ext);
            std::fs::write(&path, content.as_bytes())
                .with_context(|| format!("cannot write {}", path.display()))?;
            Ok(path)
        })
        .collect()
}

/// A name as part of a file name: letters, digits, `-` and `_` kept, the rest `_`.
fn file_safe(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}
