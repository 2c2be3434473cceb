//! The links one contact's message carries, each with its own signed token.
//!
//! | link | where it leads |
//! |---|---|
//! | `confirm_url` | `{base_url}/r/{confirm token}`: a page; consent only on its button's POST |
//! | `leave_url` | `{base_url}/r/{leave token}`: a page; withdrawal only on its button's POST |
//! | `List-Unsubscribe` | `{base_url}/u/{unsubscribe token}`: RFC 8058 one-click POST |
//!
//! A token expires when the campaign's grace period after its deadline ends.

use crate::domain::Instant;
use crate::tokens::{LinkSigner, Purpose, SignError, TokenClaims};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Links {
    pub confirm_url: String,
    pub leave_url: String,
    pub unsubscribe_url: String,
    pub unsubscribe_token: String,
}

pub fn links(
    signer: &LinkSigner,
    base_url: &str,
    campaign: &str,
    public_id: &str,
    expires: Instant,
) -> Result<Links, SignError> {
    let base = base_url.trim().trim_end_matches('/');
    let token = |purpose| {
        signer.sign(&TokenClaims {
            purpose,
            campaign: campaign.to_string(),
            public_id: public_id.to_string(),
            expires,
        })
    };
    let unsubscribe_token = token(Purpose::Unsubscribe)?;
    Ok(Links {
        confirm_url: format!("{base}/r/{}", token(Purpose::Confirm)?),
        leave_url: format!("{base}/r/{}", token(Purpose::Leave)?),
        unsubscribe_url: format!("{base}/u/{unsubscribe_token}"),
        unsubscribe_token,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::parse_instant;

    #[test]
    fn each_link_verifies_for_its_purpose_only() {
        let s = LinkSigner::new([1; 32]);
        let exp = parse_instant("2026-07-01").unwrap();
        let now = parse_instant("2026-06-01").unwrap();
        let l = links(&s, "https://r.shop.example/", "spring", "abc", exp).unwrap();
        let cases = [
            (
                &l.confirm_url,
                "https://r.shop.example/r/",
                Purpose::Confirm,
            ),
            (&l.leave_url, "https://r.shop.example/r/", Purpose::Leave),
            (
                &l.unsubscribe_url,
                "https://r.shop.example/u/",
                Purpose::Unsubscribe,
            ),
        ];
        for (url, prefix, purpose) in cases {
            let token = url.strip_prefix(prefix).unwrap();
            let claims = s.verify(token, purpose, now).unwrap();
            assert_eq!(
                (claims.campaign.as_str(), claims.public_id.as_str()),
                ("spring", "abc")
            );
            for other in [Purpose::Confirm, Purpose::Leave, Purpose::Unsubscribe] {
                if other != purpose {
                    assert!(s.verify(token, other, now).is_none());
                }
            }
        }
        assert!(l.unsubscribe_url.ends_with(&l.unsubscribe_token));
    }
}
