//! Configuration: `reconsent.toml` (or `--config FILE`), then `RECONSENT__SECTION__KEY`
//! environment overrides, then the command line. Unknown keys are refused by name, so a
//! typo never silently falls back to a default.

use crate::campaign::definition::{Rate, RateUnit};
use crate::domain::Span;
use crate::policy::Policy;
use crate::web::client::Cidr;
use anyhow::{Context, Result, bail};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub const DEFAULT_DATABASE: &str = "sqlite://reconsent.db";
pub const DEFAULT_CONFIG_FILE: &str = "reconsent.toml";
const ENV_PREFIX: &str = "RECONSENT__";

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub database: Option<String>,
    /// Where recipients' links point: the public address of `reconsent serve`.
    #[serde(default = "default_base_url")]
    pub base_url: String,
    /// `file://DIR` (default: `.eml` files, no server needed), `smtp://`, `smtps://`,
    /// `smtp+starttls://user:pass@host:port`.
    #[serde(default = "default_transport")]
    pub transport: String,
    #[serde(default)]
    pub dkim: DkimConfig,
    #[serde(default)]
    pub admin: AdminConfig,
    #[serde(default)]
    pub webhooks: WebhooksConfig,
    #[serde(default)]
    pub policy: Policy,
    #[serde(default)]
    pub sending: SendingConfig,
    #[serde(default)]
    pub web: WebConfig,
    #[serde(default)]
    pub secrets: SecretsConfig,
    #[serde(default)]
    pub purge: PurgeConfig,
    #[serde(default)]
    pub bounces: crate::bounces::BouncesConfig,
}

/// How erasure runs.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PurgeConfig {
    /// How often `serve`'s scheduled purges may rewrite the database to leave no byte
    /// of an erased contact behind (seconds per million contacts, during which answers
    /// wait). `purge` and `forget` from the command line rewrite at once.
    pub scrub_every: Span,
    /// Contacts erased per transaction. Larger batches write the database's index
    /// pages fewer times (525,000 erased from a base of a million on SQLite: 59 s at
    /// 5,000, 38–46 s at 20,000) and hold more in memory (about 3 KB a contact).
    pub batch: std::num::NonZeroU32,
}

const DEFAULT_PURGE_BATCH: std::num::NonZeroU32 = match std::num::NonZeroU32::new(20_000) {
    Some(n) => n,
    None => panic!("the default purge batch is not zero"),
};

impl Default for PurgeConfig {
    fn default() -> Self {
        Self {
            scrub_every: Span::Seconds(3_600),
            batch: DEFAULT_PURGE_BATCH,
        }
    }
}

/// Where keys live besides the database.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SecretsConfig {
    /// The tombstone key's file (64 hex digits), kept apart from the database: a copy of
    /// the database alone then cannot tell whether an address was erased. `init` creates
    /// it, or moves the key there from the database.
    pub tombstone_key_file: Option<PathBuf>,
}

/// How `serve` treats its clients.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WebConfig {
    /// Requests per client address on the link routes; beyond it, 429.
    pub rate_per_ip: Rate,
    /// Requests a client may make at once before the rate applies.
    pub burst: u32,
    /// Reverse proxies whose `X-Forwarded-For` / `Forwarded` are believed: a list, or
    /// one string of blocks separated by commas (as an environment variable gives it).
    #[serde(deserialize_with = "cidr_list")]
    pub trusted_proxies: Vec<Cidr>,
}

impl Default for WebConfig {
    fn default() -> Self {
        Self {
            rate_per_ip: Rate {
                count: 20,
                per: RateUnit::Second,
            },
            burst: 40,
            trusted_proxies: Vec::new(),
        }
    }
}

fn cidr_list<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<Cidr>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum List {
        One(String),
        Many(Vec<String>),
    }
    let items = match List::deserialize(d)? {
        List::One(s) => s.split(',').map(str::to_string).collect(),
        List::Many(v) => v,
    };
    items
        .iter()
        .filter(|s| !s.trim().is_empty())
        .map(|s| s.parse::<Cidr>())
        .collect::<Result<_, _>>()
        .map_err(|e| serde::de::Error::custom(format!("web.trusted_proxies: {e}")))
}

/// How `send` talks to the mail server.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SendingConfig {
    /// SMTP connections used at once, each reused for many messages.
    pub connections: usize,
    /// Tries for a message the server defers (4xx) before it counts as failed.
    pub max_attempts: u32,
    /// The first wait after a deferral; it doubles each time up to `retry_cap`.
    pub retry_first: Span,
    pub retry_cap: Span,
    /// `[sending.domains]`: messages a second per recipient domain (`"wp.pl" = "5/s"`),
    /// beside the defaults for the large providers (`send::domains`).
    pub domains: BTreeMap<String, Rate>,
}

impl Default for SendingConfig {
    fn default() -> Self {
        Self {
            connections: 4,
            max_attempts: 8,
            retry_first: Span::Seconds(60),
            retry_cap: Span::Seconds(3_600),
            domains: BTreeMap::new(),
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DkimConfig {
    /// The RSA key (PEM, PKCS#1 or PKCS#8) and the selector of its DNS record.
    pub key_file: Option<PathBuf>,
    pub selector: Option<String>,
    /// Signing domain (`d=`); the sender's domain if not given.
    pub domain: Option<String>,
    /// An Ed25519 key (RFC 8463) for a second signature, under a selector of its own.
    pub ed25519_key_file: Option<PathBuf>,
    pub ed25519_selector: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdminConfig {
    pub token: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WebhooksConfig {
    /// Where events go (the shop's or CRM's endpoint); none are written without it.
    pub url: Option<String>,
    /// Signing secret, `whsec_` + base64 (Standard Webhooks).
    pub secret: Option<String>,
    /// How long an event the receiver has not taken keeps the address it carries; after
    /// that the address is dropped from it (the event itself is still delivered).
    pub keep_undelivered: Span,
}

impl Default for WebhooksConfig {
    fn default() -> Self {
        Self {
            url: None,
            secret: None,
            keep_undelivered: Span::days(30),
        }
    }
}

fn default_base_url() -> String {
    "http://localhost:8080".to_string()
}

fn default_transport() -> String {
    "file://outbox".to_string()
}

impl Config {
    /// Reads `path` if given (it must exist), else `reconsent.toml` if present, then
    /// applies the environment.
    pub fn load(path: Option<&Path>) -> Result<Self> {
        let (text, origin) = match path {
            Some(p) => {
                let text = std::fs::read_to_string(p).with_context(|| {
                    format!("cannot read the configuration file {}", p.display())
                })?;
                (text, p.display().to_string())
            }
            None if Path::new(DEFAULT_CONFIG_FILE).exists() => {
                let text = std::fs::read_to_string(DEFAULT_CONFIG_FILE)
                    .with_context(|| format!("cannot read {DEFAULT_CONFIG_FILE}"))?;
                (text, DEFAULT_CONFIG_FILE.to_string())
            }
            None => (String::new(), "defaults".to_string()),
        };
        let mut table: toml::Table = text.parse().map_err(|e| anyhow::anyhow!("{origin}: {e}"))?;
        apply_env(&mut table, std::env::vars())?;
        Self::from_table(table)
            .with_context(|| format!("configuration ({origin} and {ENV_PREFIX}* variables)"))
    }

    fn from_table(table: toml::Table) -> Result<Self> {
        let mut config: Config = toml::Value::Table(table)
            .try_into()
            .map_err(|e: toml::de::Error| anyhow::anyhow!("{}", e.message()))?;
        config.policy.countries = std::mem::take(&mut config.policy.countries)
            .into_iter()
            .map(|(k, v)| (k.to_ascii_uppercase(), v))
            .collect();
        config.policy.validate().map_err(anyhow::Error::msg)?;
        crate::bounces::verp::ReturnPath::from_config(&config.bounces)?;
        if let Some(mailbox) = &config.bounces.mailbox {
            crate::bounces::mailbox::MailboxSpec::parse(mailbox)?;
        }
        if config.web.burst == 0 {
            bail!("web.burst is 0: no request would get through; give at least 1");
        }
        Ok(config)
    }

    /// The database URL: the command line or `RECONSENT_DATABASE_URL` first, then the file.
    pub fn database_url(&self, cli: Option<&str>) -> String {
        cli.map(str::to_string)
            .or_else(|| self.database.clone())
            .unwrap_or_else(|| DEFAULT_DATABASE.to_string())
    }
}

/// `RECONSENT__POLICY__INACTIVE_AFTER=2y` sets `policy.inactive_after`. A value that reads
/// as a TOML scalar (number, boolean) is taken as one; anything else is a string.
fn apply_env(table: &mut toml::Table, vars: impl Iterator<Item = (String, String)>) -> Result<()> {
    for (name, raw) in vars {
        let Some(path) = name.strip_prefix(ENV_PREFIX) else {
            continue;
        };
        let keys: Vec<String> = path.split("__").map(str::to_ascii_lowercase).collect();
        if keys.iter().any(String::is_empty) {
            bail!("environment variable {name}: empty key");
        }
        let value = format!("v = {raw}")
            .parse::<toml::Table>()
            .ok()
            .and_then(|mut t| t.remove("v"))
            .filter(|v| !v.is_table() && !v.is_array())
            .unwrap_or(toml::Value::String(raw));
        let (last, parents) = keys.split_last().unwrap_or((&keys[0], &[]));
        let mut node = &mut *table;
        for key in parents {
            let key = existing_key(node, key);
            let entry = node
                .entry(key.clone())
                .or_insert_with(|| toml::Value::Table(toml::Table::new()));
            node = entry.as_table_mut().with_context(|| {
                format!("environment variable {name}: '{key}' is not a section")
            })?;
        }
        node.insert(existing_key(node, last), value);
    }
    Ok(())
}

/// Environment names are upper case; a file may spell a key otherwise (`[policy.countries.PL]`).
fn existing_key(table: &toml::Table, key: &str) -> String {
    table
        .keys()
        .find(|k| k.eq_ignore_ascii_case(key))
        .cloned()
        .unwrap_or_else(|| key.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str, env: &[(&str, &str)]) -> Result<Config> {
        let mut table: toml::Table = text.parse()?;
        apply_env(
            &mut table,
            env.iter().map(|(k, v)| (k.to_string(), v.to_string())),
        )?;
        Config::from_table(table)
    }

    #[test]
    fn defaults() {
        let c = load("", &[]).unwrap();
        assert_eq!(c.transport, "file://outbox");
        assert_eq!(c.database_url(None), DEFAULT_DATABASE);
        assert_eq!(c.policy, Policy::default());
        assert_eq!(c.webhooks.keep_undelivered, Span::days(30));
        assert_eq!(c.secrets.tombstone_key_file, None);
        assert_eq!(c.purge.scrub_every, Span::Seconds(3_600));
        assert_eq!(c.bounces.every, Span::Seconds(300));
        assert_eq!(c.bounces.mailbox, None);
        assert!(c.sending.domains.is_empty());
        let c = load(
            "[sending.domains]\n\"wp.pl\" = \"5/s\"\n\"gmail.com\" = \"1200/min\"\n",
            &[],
        )
        .unwrap();
        assert_eq!(c.sending.domains["wp.pl"].to_string(), "5/s");
        assert_eq!(c.sending.domains["gmail.com"].per_second(), 20.0);
    }

    #[test]
    fn secrets_and_webhook_keys() {
        let c = load(
            "[webhooks]\nkeep_undelivered = \"2w\"\n",
            &[(
                "RECONSENT__SECRETS__TOMBSTONE_KEY_FILE",
                "/etc/reconsent/tombstone.key",
            )],
        )
        .unwrap();
        assert_eq!(c.webhooks.keep_undelivered, Span::days(14));
        assert_eq!(
            c.secrets.tombstone_key_file.as_deref(),
            Some(Path::new("/etc/reconsent/tombstone.key"))
        );
        let err = format!(
            "{:#}",
            load("[webhooks]\nkeep_undelivered = \"a month\"", &[]).unwrap_err()
        );
        assert!(err.contains("a month"), "{err}");
    }

    #[test]
    fn env_overrides_file() {
        let c = load(
            "transport = \"smtp://a:25\"\n[policy]\ninactive_after = \"2y\"\n",
            &[
                ("RECONSENT__TRANSPORT", "smtp://b:2525"),
                ("RECONSENT__BASE_URL", "https://r.shop.example"),
                ("RECONSENT__POLICY__SOFT_OPT_IN_WINDOW", "18mo"),
                ("RECONSENT__POLICY__COUNTRIES__PL__SOFT_OPT_IN", "true"),
                ("RECONSENT__POLICY__COUNTRIES__PL__RULE", "counsel"),
                ("OTHER", "x"),
            ],
        )
        .unwrap();
        assert_eq!(c.transport, "smtp://b:2525");
        assert_eq!(c.base_url, "https://r.shop.example");
        assert_eq!(c.policy.inactive_after, Span::years(2));
        assert_eq!(c.policy.soft_opt_in_window, Span::Months(18));
        assert!(c.policy.countries["PL"].soft_opt_in);
        assert_eq!(c.policy.countries["PL"].rule, "counsel");
        assert_eq!(c.database_url(Some("sqlite://x.db")), "sqlite://x.db");
    }

    #[test]
    fn web_section_from_the_file_or_the_environment() {
        let c = load("", &[]).unwrap();
        assert_eq!(c.web.rate_per_ip.to_string(), "20/s");
        assert_eq!(c.web.burst, 40);
        assert!(c.web.trusted_proxies.is_empty());
        let c = load(
            "[web]\nrate_per_ip = \"5/min\"\ntrusted_proxies = [\"10.0.0.0/8\"]\n",
            &[],
        )
        .unwrap();
        assert_eq!(c.web.rate_per_ip.to_string(), "5/min");
        assert_eq!(c.web.trusted_proxies.len(), 1);
        let c = load(
            "",
            &[
                ("RECONSENT__WEB__TRUSTED_PROXIES", "127.0.0.0/8, ::1"),
                ("RECONSENT__WEB__BURST", "3"),
                ("RECONSENT__WEB__RATE_PER_IP", "100/s"),
            ],
        )
        .unwrap();
        let shown: Vec<String> = c
            .web
            .trusted_proxies
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(shown, ["127.0.0.0/8", "::1/128"]);
        assert_eq!(
            (c.web.burst, c.web.rate_per_ip.to_string().as_str()),
            (3, "100/s")
        );
    }

    #[test]
    fn refuses_with_the_key_named() {
        let cases = [
            ("transprot = \"x\"", "transprot"),
            ("[policy]\ninactive_after = \"3 years\"", "3 years"),
            (
                "[policy.countries.POL]\nsoft_opt_in = true\nrule = \"x\"",
                "POL",
            ),
            ("[web]\ntrusted_proxies = [\"10.0.0.0/33\"]", "10.0.0.0/33"),
            ("[web]\nrate_per_ip = \"fast\"", "fast"),
            ("[web]\nburst = -1", "-1"),
            ("[web]\nburst = 0", "web.burst"),
            ("[sending.domains]\n\"wp.pl\" = \"fast\"", "fast"),
            (
                "[bounces]\nreturn_path = \"bounces\"",
                "bounces.return_path",
            ),
            ("[bounces]\nmailbox = \"pop3://x\"", "bounces.mailbox"),
            ("[bounces]\nevery = \"often\"", "often"),
            ("[bounces.ses]\ncertficate_file = \"x\"", "certficate_file"),
        ];
        for (text, fragment) in cases {
            let err = format!("{:#}", load(text, &[]).unwrap_err());
            assert!(err.contains(fragment), "{text}: {err}");
        }
    }
}
