use serde::Deserialize;
use std::path::PathBuf;

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SesConfig {
    /// The SNS signing certificate (PEM), downloaded once from the `SigningCertURL` of a
    /// notification and kept: a notification is believed only if signed with its key.
    pub certificate_file: Option<PathBuf>,
    /// The SNS topic the notifications must come from; others are refused.
    pub topic_arn: Option<String>,
}
