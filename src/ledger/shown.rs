//! The hashes of what a person was shown, as the ledger records them.
//!
//! The e-mail's hash covers its subject, plain text and HTML as rendered, each with its
//! length first: what the person read and clicked. The MIME wrapping around them
//! (random part boundaries, the DKIM signature's timestamp) is not evidence of what was
//! said, and could not be rebuilt byte for byte later. A page's hash covers its exact
//! bytes, which are the same whenever it is rendered for the same link.

use sha2::{Digest, Sha256};

/// The hash of a request or thank-you e-mail's content.
pub fn email_sha256(subject: &str, text: &str, html: &str) -> String {
    let mut h = Sha256::new();
    for part in [subject, text, html] {
        h.update((part.len() as u64).to_be_bytes());
        h.update(part.as_bytes());
    }
    hex::encode(h.finalize())
}

/// The hash of a page's exact bytes.
pub fn page_sha256(html: &str) -> String {
    hex::encode(Sha256::digest(html.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_part_counts_and_parts_do_not_run_together() {
        let base = email_sha256("Hello", "text", "<p>html</p>");
        for other in [
            email_sha256("HellO", "text", "<p>html</p>"),
            email_sha256("Hello", "text ", "<p>html</p>"),
            email_sha256("Hello", "text", "<p>html</p>\n"),
            email_sha256("Hellot", "ext", "<p>html</p>"),
        ] {
            assert_ne!(other, base);
        }
        assert_eq!(base, email_sha256("Hello", "text", "<p>html</p>"));
    }
}
