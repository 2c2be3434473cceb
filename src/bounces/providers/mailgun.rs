use serde::Deserialize;

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MailgunConfig {
    /// The "HTTP webhook signing key" of the Mailgun account.
    pub signing_key: Option<String>,
}
