use serde::Deserialize;

/// Postmark signs nothing: its webhook URL carries HTTP basic auth credentials, set on
/// both sides.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PostmarkConfig {
    pub user: Option<String>,
    pub password: Option<String>,
}
