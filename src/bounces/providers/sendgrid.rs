use serde::Deserialize;

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SendgridConfig {
    /// The signed event webhook's verification key: base64 of a DER public key (P-256).
    pub public_key: Option<String>,
}
