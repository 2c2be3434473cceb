//! Signed link tokens (DESIGN §2.5): what a recipient's link carries instead of an
//! address or an id.
//!
//! A token is URL-safe base64 (no padding) of
//!
//! | bytes | field |
//! |---|---|
//! | 1 | format version (1) |
//! | 1 | purpose: 1 confirm, 2 leave, 3 unsubscribe |
//! | 4 | expiry, seconds since 1970, big-endian |
//! | 1 + n | campaign name, length-prefixed |
//! | 1 + m | the contact's opaque `public_id`: 16 raw bytes when it is 32 hex digits (as the store makes them), else length-prefixed text |
//! | 32 | HMAC-SHA256 of everything before it, keyed with `Secrets::link_key` |
//!
//! The claims are readable by anyone who decodes the token; that is fine because none of
//! them is personal data, and only the key holder can make a token that verifies.
//! Verification compares the MAC in constant time and answers every failure (bad
//! encoding, bad MAC, wrong purpose, expired) with the same `None`, so a caller cannot
//! tell a forged token from an expired one.

use crate::domain::{Instant, from_unix};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

const VERSION: u8 = 1;
const MAC_LEN: usize = 32;
/// `public_id` encodings after the campaign name.
const ID_HEX16: u8 = 0xff;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Purpose {
    Confirm,
    Leave,
    /// RFC 8058 one-click unsubscribe from the `List-Unsubscribe` header.
    Unsubscribe,
}

impl Purpose {
    fn code(self) -> u8 {
        match self {
            Purpose::Confirm => 1,
            Purpose::Leave => 2,
            Purpose::Unsubscribe => 3,
        }
    }

    fn from_code(code: u8) -> Option<Self> {
        match code {
            1 => Some(Purpose::Confirm),
            2 => Some(Purpose::Leave),
            3 => Some(Purpose::Unsubscribe),
            _ => None,
        }
    }
}

/// What a valid token says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenClaims {
    pub purpose: Purpose,
    pub campaign: String,
    pub public_id: String,
    pub expires: Instant,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignError {
    #[error("the campaign name is longer than 255 bytes")]
    CampaignTooLong,
    #[error("the contact id is longer than 255 bytes")]
    IdTooLong,
    #[error("the expiry {0} is outside 1970–2106")]
    ExpiryOutOfRange(Instant),
}

/// Signs and verifies link tokens with one key.
#[derive(Clone)]
pub struct LinkSigner {
    key: [u8; 32],
}

impl std::fmt::Debug for LinkSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LinkSigner(..)")
    }
}

impl LinkSigner {
    pub fn new(key: [u8; 32]) -> Self {
        Self { key }
    }

    fn mac(&self) -> Hmac<Sha256> {
        // HMAC accepts keys of any length, so this cannot fail for a 32-byte key.
        <Hmac<Sha256> as KeyInit>::new_from_slice(&self.key).expect("HMAC takes any key length")
    }

    pub fn sign(&self, claims: &TokenClaims) -> Result<String, SignError> {
        let campaign = claims.campaign.as_bytes();
        let campaign_len = u8::try_from(campaign.len()).map_err(|_| SignError::CampaignTooLong)?;
        let expires = u32::try_from(claims.expires.timestamp())
            .map_err(|_| SignError::ExpiryOutOfRange(claims.expires))?;
        let mut out = Vec::with_capacity(8 + campaign.len() + 17 + MAC_LEN);
        out.push(VERSION);
        out.push(claims.purpose.code());
        out.extend_from_slice(&expires.to_be_bytes());
        out.push(campaign_len);
        out.extend_from_slice(campaign);
        match compact_id(&claims.public_id) {
            Some(raw) => {
                out.push(ID_HEX16);
                out.extend_from_slice(&raw);
            }
            None => {
                let id = claims.public_id.as_bytes();
                let len = u8::try_from(id.len())
                    .ok()
                    .filter(|&l| l != ID_HEX16)
                    .ok_or(SignError::IdTooLong)?;
                out.push(len);
                out.extend_from_slice(id);
            }
        }
        let mut mac = self.mac();
        mac.update(&out);
        out.extend_from_slice(&mac.finalize().into_bytes());
        Ok(URL_SAFE_NO_PAD.encode(out))
    }

    /// The claims of a token that is genuine, unexpired at `now` and made for
    /// `expected`; `None` for anything else.
    pub fn verify(&self, token: &str, expected: Purpose, now: Instant) -> Option<TokenClaims> {
        self.decode(token, now)
            .filter(|claims| claims.purpose == expected)
    }

    /// The claims of a token that is genuine and unexpired, whatever its purpose: for the
    /// page behind a link, which shows the confirm or the leave form.
    pub fn decode(&self, token: &str, now: Instant) -> Option<TokenClaims> {
        // A token is short; refusing long input early bounds the work an attacker can cause.
        if token.len() > 512 {
            return None;
        }
        let bytes = URL_SAFE_NO_PAD.decode(token).ok()?;
        let split = bytes.len().checked_sub(MAC_LEN)?;
        let (payload, tag) = bytes.split_at(split);
        let mut mac = self.mac();
        mac.update(payload);
        mac.verify_slice(tag).ok()?;
        let claims = parse_payload(payload)?;
        (claims.expires > now).then_some(claims)
    }
}

fn parse_payload(p: &[u8]) -> Option<TokenClaims> {
    let (&version, p) = p.split_first()?;
    if version != VERSION {
        return None;
    }
    let (&purpose, p) = p.split_first()?;
    let purpose = Purpose::from_code(purpose)?;
    let (expires, p) = p.split_first_chunk::<4>()?;
    let expires = from_unix(i64::from(u32::from_be_bytes(*expires)));
    let (&campaign_len, p) = p.split_first()?;
    let (campaign, p) = p.split_at_checked(usize::from(campaign_len))?;
    let campaign = String::from_utf8(campaign.to_vec()).ok()?;
    let (&id_len, p) = p.split_first()?;
    let (public_id, rest) = if id_len == ID_HEX16 {
        let (raw, rest) = p.split_first_chunk::<16>()?;
        (hex::encode(raw), rest)
    } else {
        let (id, rest) = p.split_at_checked(usize::from(id_len))?;
        (String::from_utf8(id.to_vec()).ok()?, rest)
    };
    rest.is_empty().then_some(TokenClaims {
        purpose,
        campaign,
        public_id,
        expires,
    })
}

/// The 16 bytes behind a 32-digit lower-case hex id, so the link stays short.
fn compact_id(id: &str) -> Option<[u8; 16]> {
    if id.len() != 32 || id.bytes().any(|b| b.is_ascii_uppercase()) {
        return None;
    }
    let mut raw = [0u8; 16];
    hex::decode_to_slice(id, &mut raw).ok()?;
    Some(raw)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::parse_instant;

    fn t(s: &str) -> Instant {
        parse_instant(s).unwrap()
    }

    fn claims(purpose: Purpose, id: &str) -> TokenClaims {
        TokenClaims {
            purpose,
            campaign: "spring-reconsent".into(),
            public_id: id.into(),
            expires: t("2026-07-01"),
        }
    }

    const ID: &str = "0123456789abcdef0123456789abcdef";

    #[test]
    fn round_trips_every_purpose_and_id_form() {
        let s = LinkSigner::new([7; 32]);
        for purpose in [Purpose::Confirm, Purpose::Leave, Purpose::Unsubscribe] {
            for id in [ID, "not-hex-but-opaque", "0123456789ABCDEF0123456789ABCDEF"] {
                let c = claims(purpose, id);
                let token = s.sign(&c).unwrap();
                assert!(
                    token
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'),
                    "{token}"
                );
                assert_eq!(s.verify(&token, purpose, t("2026-06-01")), Some(c));
            }
        }
    }

    #[test]
    fn carries_neither_address_nor_row_id() {
        let s = LinkSigner::new([7; 32]);
        let token = s.sign(&claims(Purpose::Confirm, ID)).unwrap();
        let raw = URL_SAFE_NO_PAD.decode(&token).unwrap();
        assert!(!String::from_utf8_lossy(&raw).contains('@'));
        assert!(token.len() < 100, "{} chars", token.len());
    }

    #[test]
    fn refuses_with_one_answer() {
        let s = LinkSigner::new([7; 32]);
        let now = t("2026-06-01");
        let good = s.sign(&claims(Purpose::Confirm, ID)).unwrap();
        let mut flipped = URL_SAFE_NO_PAD.decode(&good).unwrap();
        flipped[3] ^= 1; // the expiry, pushed later
        let flipped = URL_SAFE_NO_PAD.encode(flipped);
        let mut bad_mac = URL_SAFE_NO_PAD.decode(&good).unwrap();
        let last = bad_mac.len() - 1;
        bad_mac[last] ^= 0x80;
        let bad_mac = URL_SAFE_NO_PAD.encode(bad_mac);
        let other_key = LinkSigner::new([8; 32])
            .sign(&claims(Purpose::Confirm, ID))
            .unwrap();
        let leave = s.sign(&claims(Purpose::Leave, ID)).unwrap();
        let cases: [(&str, &str, Purpose, Instant); 9] = [
            ("tampered payload", &flipped, Purpose::Confirm, now),
            ("tampered MAC", &bad_mac, Purpose::Confirm, now),
            ("other key", &other_key, Purpose::Confirm, now),
            ("leave cannot confirm", &leave, Purpose::Confirm, now),
            ("confirm cannot leave", &good, Purpose::Leave, now),
            ("expired", &good, Purpose::Confirm, t("2026-07-01")),
            ("truncated", &good[..good.len() - 4], Purpose::Confirm, now),
            ("not base64", "!!!", Purpose::Confirm, now),
            ("empty", "", Purpose::Confirm, now),
        ];
        for (name, token, purpose, at) in cases {
            assert_eq!(s.verify(token, purpose, at), None, "{name}");
        }
        assert_eq!(s.decode(&"A".repeat(600), now), None);
    }

    #[test]
    fn decode_accepts_any_purpose() {
        let s = LinkSigner::new([7; 32]);
        let leave = s.sign(&claims(Purpose::Leave, ID)).unwrap();
        assert_eq!(
            s.decode(&leave, t("2026-06-01")).map(|c| c.purpose),
            Some(Purpose::Leave)
        );
    }

    #[test]
    fn refuses_to_sign_what_does_not_fit() {
        let s = LinkSigner::new([7; 32]);
        let mut c = claims(Purpose::Confirm, ID);
        c.campaign = "x".repeat(256);
        assert_eq!(s.sign(&c), Err(SignError::CampaignTooLong));
        let mut c = claims(Purpose::Confirm, &"y".repeat(255));
        assert_eq!(s.sign(&c), Err(SignError::IdTooLong));
        c.public_id = ID.into();
        c.expires = t("2200-01-01");
        assert!(matches!(s.sign(&c), Err(SignError::ExpiryOutOfRange(_))));
    }
}
