//! `campaign launch`: check, snapshot, select the audience, enqueue wave 1. Once.

use super::check;
use super::definition::{BonusCode, Campaign};
use super::render::read_template_files;
use super::selects;
use crate::config::Config;
use crate::domain::Instant;
use crate::store::{LaunchedCampaign, Store};
use anyhow::{Context, Result, bail};
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::Path;

const PAGE: i64 = 500;

#[derive(Debug, Serialize)]
pub struct LaunchReport {
    pub campaign: String,
    /// Selected contacts by class.
    pub audience: BTreeMap<String, u64>,
    /// Contacts not selected, by reason.
    pub excluded: BTreeMap<String, u64>,
    /// Deliveries queued now (0 when the campaign was launched before).
    pub enqueued: u64,
    pub already_launched: bool,
    pub dry_run: bool,
    pub launched_at: String,
    /// Set when the file has changed since an earlier launch.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

pub async fn launch(
    store: &Store,
    config: &Config,
    file: &Path,
    now: Instant,
    dry_run: bool,
) -> Result<LaunchReport> {
    let report = check::check(file, config, now);
    if !report.ok {
        let list: Vec<String> = report.problems.iter().map(|p| format!("  {p}")).collect();
        bail!(
            "the campaign cannot be launched until these are fixed (see `reconsent campaign check {}`):\n{}",
            file.display(),
            list.join("\n")
        );
    }
    let definition =
        std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))?;
    let campaign = Campaign::parse(&definition, &file.display().to_string())
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let sha = hex::encode(Sha256::digest(definition.as_bytes()));
    if let Some(row) = store.campaign(&campaign.name).await? {
        let note = (row.definition_sha256 != sha).then(|| {
            format!(
                "{} has changed since the campaign was launched on {}; the launched version stands (launch a new campaign under another name to send the new one)",
                file.display(),
                row.launched_at.format("%Y-%m-%d %H:%M UTC")
            )
        });
        return Ok(LaunchReport {
            campaign: row.name,
            audience: BTreeMap::new(),
            excluded: BTreeMap::new(),
            enqueued: 0,
            already_launched: true,
            dry_run,
            launched_at: row.launched_at.to_rfc3339(),
            note,
        });
    }
    let root = super::templates_root(file, &campaign.templates);
    let templates = read_template_files(&root.join(&campaign.templates))
        .with_context(|| format!("cannot read the templates of {}", campaign.name))?;
    let mut snapshot = serde_json::json!({ "templates": templates });
    if let Ok(code) = check::bonus_code(&campaign, file) {
        snapshot["bonus_code"] = serde_json::Value::String(code);
    }
    let privacy = check::privacy_policy_text(&campaign, file).map_err(anyhow::Error::msg)?;
    let privacy_sha256 = privacy
        .as_ref()
        .map(|text| hex::encode(Sha256::digest(text.as_bytes())));
    if let Some(text) = privacy {
        snapshot["privacy_policy"] = serde_json::Value::String(text);
    }

    let suppressed = store.suppressed_ids().await?;
    let mut audience: BTreeMap<String, u64> = BTreeMap::new();
    let mut excluded: BTreeMap<String, u64> = BTreeMap::new();
    let mut launch = if dry_run {
        None
    } else {
        Some(store.begin_launch().await?)
    };
    let campaign_id = match launch.as_mut() {
        Some(tx) => tx
            .create_campaign(
                &LaunchedCampaign {
                    name: &campaign.name,
                    definition: &definition,
                    definition_sha256: &sha,
                    source_file: &file.display().to_string(),
                    templates: &snapshot.to_string(),
                    privacy_sha256: privacy_sha256.as_deref(),
                },
                now,
            )
            .await?
            .context("the campaign was launched by someone else meanwhile")?,
        None => 0,
    };
    if let (Some(tx), BonusCode::Pool(path)) = (launch.as_mut(), &campaign.bonus.code) {
        let resolved = super::resolve_path(file, path);
        let codes = check::read_code_pool(&resolved).map_err(anyhow::Error::msg)?;
        tx.add_bonus_codes(campaign_id, &codes).await?;
    }
    let mut enqueued = 0;
    let mut pages = store.contacts(PAGE);
    while let Some(page) = pages.recv().await {
        let page = page?;
        let mut ids = Vec::with_capacity(page.len());
        for stored in &page {
            let class = config.policy.classify(&stored.contact, now);
            if suppressed.contains(&stored.id) {
                *excluded.entry("suppressed".into()).or_default() += 1;
                continue;
            }
            match selects(&campaign.audience, &stored.contact, &class) {
                Ok(()) => {
                    *audience.entry(class.class.to_string()).or_default() += 1;
                    ids.push((stored.id, class.class));
                }
                Err(reason) => *excluded.entry(reason.key()).or_default() += 1,
            }
        }
        enqueued += match launch.as_mut() {
            Some(tx) => tx.enqueue(campaign_id, 0, &ids, now).await?,
            None => ids.len() as u64,
        };
    }
    if let Some(tx) = launch {
        tx.commit().await?;
    }
    for class in &campaign.audience.classes {
        audience.entry(class.to_string()).or_default();
    }
    Ok(LaunchReport {
        campaign: campaign.name,
        audience,
        excluded,
        enqueued,
        already_launched: false,
        dry_run,
        launched_at: now.to_rfc3339(),
        note: None,
    })
}
