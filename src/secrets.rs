//! Keys created once by `init`: one signs links, one makes tombstones. A tombstone is
//! a keyed hash because a bare hash of an address is still personal data (anyone can
//! hash a list of addresses and compare).
//!
//! Both keys live in the database unless `[secrets] tombstone_key_file` is set: then
//! the tombstone key lives in that file only (64 hex digits and a newline, mode 0600),
//! and whoever holds a copy of the database alone cannot test candidate addresses
//! against its tombstones.
//!
//! The admin token (for `/api` and `/metrics`) is `[admin] token` when configured, else
//! the one `init` stored in the database; `reconsent admin token` prints it.

use crate::config::Config;
use crate::domain::Instant;
use crate::store::Store;
use anyhow::{Context, Result, bail};
use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};
use std::io::Write;
use std::path::{Path, PathBuf};

pub const KEY_LEN: usize = 32;

#[derive(Clone)]
pub struct Secrets {
    pub link_key: [u8; KEY_LEN],
    pub tombstone_key: [u8; KEY_LEN],
}

impl std::fmt::Debug for Secrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secrets(..)")
    }
}

impl Secrets {
    pub fn generate() -> Self {
        let mut link_key = [0u8; KEY_LEN];
        let mut tombstone_key = [0u8; KEY_LEN];
        rand::fill(&mut link_key);
        rand::fill(&mut tombstone_key);
        Self {
            link_key,
            tombstone_key,
        }
    }

    /// The tombstone of a normalised address (`EmailAddress::key`).
    pub fn tombstone(&self, email_key: &str) -> Vec<u8> {
        hmac_sha256(&self.tombstone_key, email_key.as_bytes()).to_vec()
    }
}

/// Creates the keys that are missing, and puts the tombstone key where the
/// configuration says: in `key_file` if set (moved there from the database if it was
/// kept there), else in the database.
pub async fn ensure(store: &Store, key_file: Option<&Path>, now: Instant) -> Result<()> {
    let fresh = Secrets::generate();
    store.add_secret(LINK_KEY, &fresh.link_key, now).await?;
    let Some(path) = key_file else {
        if store.secret(KEY_FILE).await?.is_none() {
            store
                .add_secret(TOMBSTONE_KEY, &fresh.tombstone_key, now)
                .await?;
        }
        return Ok(());
    };
    let path = absolute(path)?;
    let in_database = store.secret(TOMBSTONE_KEY).await?;
    if path.exists() {
        let key = read_key_file(&path)?;
        if in_database.is_some_and(|k| k != key) {
            bail!(
                "the database holds a tombstone key other than the one in {}: tombstones made \
                 with one would not match with the other. Move that file away and run init \
                 again to write the database's key there",
                path.display()
            );
        }
    } else {
        let key = match (in_database, store.secret(KEY_FILE).await?) {
            (Some(k), _) => k,
            // The key file was configured elsewhere before: the key moves with it.
            (None, Some(old)) => read_key_file(&stored_path(&old))?.to_vec(),
            (None, None) => fresh.tombstone_key.to_vec(),
        };
        write_key_file(&path, &key)?;
    }
    // Written first, dropped from the database after: stopped in between, the key is in
    // both places, and the next init finds them equal.
    store
        .move_tombstone_key_out(path.as_os_str().as_encoded_bytes(), now)
        .await
}

/// A key file's path as [`ensure`] recorded it in the database.
pub fn stored_path(bytes: &[u8]) -> PathBuf {
    PathBuf::from(String::from_utf8_lossy(bytes).into_owned())
}

/// The names of the rows of the `secrets` table.
pub const LINK_KEY: &str = "link_key";
pub const TOMBSTONE_KEY: &str = "tombstone_key";
pub const ADMIN_TOKEN: &str = "admin_token";
/// Where the tombstone key lives when it is not in the database.
pub const KEY_FILE: &str = "tombstone_key_file";

fn absolute(path: &Path) -> Result<PathBuf> {
    let bad = || format!("secrets.tombstone_key_file: bad path {}", path.display());
    let path = std::path::absolute(path).with_context(bad)?;
    if path.to_str().is_none() {
        bail!("{}: not UTF-8", bad());
    }
    Ok(path)
}

/// Reads a tombstone key file: 64 hex digits, surrounding white space ignored.
pub fn read_key_file(path: &Path) -> Result<[u8; KEY_LEN]> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the tombstone key file {}", path.display()))?;
    parse_key(&text)
        .with_context(|| format!("the tombstone key file {} is damaged", path.display()))
}

fn parse_key(text: &str) -> Result<[u8; KEY_LEN]> {
    let bytes = hex::decode(text.trim())
        .map_err(|_| anyhow::anyhow!("it must hold {} hex digits and nothing else", 2 * KEY_LEN))?;
    bytes
        .try_into()
        .map_err(|b: Vec<u8>| anyhow::anyhow!("it holds {} bytes, not {KEY_LEN}", b.len()))
}

/// Writes a new key file, readable by its owner only; never overwrites one.
fn write_key_file(path: &Path, key: &[u8]) -> Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options
        .open(path)
        .with_context(|| format!("cannot create the tombstone key file {}", path.display()))?;
    writeln!(file, "{}", hex::encode(key))
        .and_then(|()| file.sync_all())
        .with_context(|| format!("cannot write the tombstone key file {}", path.display()))
}

/// Where the admin token comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenSource {
    /// `[admin] token` (or `RECONSENT__ADMIN__TOKEN`).
    Config,
    /// The `secrets` table, where `init` put it.
    Database,
}

/// Neither the configuration nor the database holds an admin token.
#[derive(Debug, thiserror::Error)]
#[error(
    "there is no admin token: run `reconsent init` to create one, or set [admin] token \
     (RECONSENT__ADMIN__TOKEN)"
)]
pub struct NoAdminToken;

/// A configured token shorter than this is refused: it could be guessed.
pub const MIN_ADMIN_TOKEN_LEN: usize = 16;

/// The configured admin token, if any; one too short to be safe is refused by name.
pub fn configured_admin_token(config: &Config) -> Result<Option<&str>> {
    let Some(token) = config.admin.token.as_deref() else {
        return Ok(None);
    };
    let token = token.trim();
    if token.chars().count() < MIN_ADMIN_TOKEN_LEN {
        bail!(
            "admin.token: at least {MIN_ADMIN_TOKEN_LEN} characters are needed (this one has {}); \
             leave it unset and `reconsent init` creates a random one",
            token.chars().count()
        );
    }
    Ok(Some(token))
}

/// Creates the stored admin token unless one is configured or already stored; says
/// which one is in force.
pub async fn ensure_admin_token(
    store: &Store,
    config: &Config,
    now: Instant,
) -> Result<TokenSource> {
    if configured_admin_token(config)?.is_some() {
        return Ok(TokenSource::Config);
    }
    let mut bytes = [0u8; KEY_LEN];
    rand::fill(&mut bytes);
    // Stored as the text a client sends, so that printing it needs no decoding.
    store
        .add_secret(ADMIN_TOKEN, hex::encode(bytes).as_bytes(), now)
        .await?;
    Ok(TokenSource::Database)
}

/// The admin token in force and where it comes from: the configured one wins.
pub async fn admin_token_from(store: &Store, config: &Config) -> Result<(String, TokenSource)> {
    if let Some(token) = configured_admin_token(config)? {
        return Ok((token.to_string(), TokenSource::Config));
    }
    let stored = store.secret(ADMIN_TOKEN).await?.ok_or(NoAdminToken)?;
    let token = String::from_utf8(stored)
        .map_err(|_| anyhow::anyhow!("the stored {ADMIN_TOKEN} is damaged"))?;
    Ok((token, TokenSource::Database))
}

/// The admin token in force (see [`admin_token_from`]); [`NoAdminToken`] if there is none.
pub async fn admin_token(store: &Store, config: &Config) -> Result<String> {
    Ok(admin_token_from(store, config).await?.0)
}

/// Whether a presented token is the expected one, in time that depends on neither:
/// both are hashed first (hiding the length), then every byte is compared.
pub fn same_token(given: &str, expected: &str) -> bool {
    let (a, b) = (Sha256::digest(given), Sha256::digest(expected));
    let diff = a
        .iter()
        .zip(b.iter())
        .fold(0u8, |acc, (x, y)| acc | (x ^ y));
    std::hint::black_box(diff) == 0
}

pub fn hmac_sha256(key: &[u8], data: &[u8]) -> [u8; 32] {
    let mut mac =
        <Hmac<Sha256> as KeyInit>::new_from_slice(key).expect("HMAC takes keys of any length");
    mac.update(data);
    mac.finalize().into_bytes().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tombstones_are_keyed() {
        let a = Secrets::generate();
        let b = Secrets::generate();
        assert_eq!(a.tombstone("jan@example.pl"), a.tombstone("jan@example.pl"));
        assert_ne!(a.tombstone("jan@example.pl"), b.tombstone("jan@example.pl"));
        assert_ne!(
            a.tombstone("jan@example.pl"),
            a.tombstone("jana@example.pl")
        );
    }

    #[test]
    fn key_files_read_as_64_hex_digits() {
        let key = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
        assert_eq!(parse_key(&format!("{key}\n")).unwrap()[1], 0x11);
        assert_eq!(
            parse_key(&format!("  {}\n", key.to_uppercase())).unwrap()[31],
            0xff
        );
        for (bad, why) in [
            ("", "0 bytes"),
            (&key[..62], "31 bytes"),
            ("xyz", "hex digits"),
            (&format!("{key}00"), "33 bytes"),
        ] {
            let err = parse_key(bad).unwrap_err().to_string();
            assert!(err.contains(why), "{bad}: {err}");
        }
    }

    #[test]
    fn tokens_match_only_when_equal() {
        let t = "3f9a0c1e5b7d2468ace0135792468ace0135792468ace0135792468ace013579";
        for (given, same) in [
            (t, true),
            ("", false),
            (&t[..63], false),
            (&format!("{t}0"), false),
            (&t.to_uppercase(), false),
            (&format!(" {t}"), false),
        ] {
            assert_eq!(same_token(given, t), same, "{given:?}");
        }
    }

    #[test]
    fn hmac_matches_rfc4231_case_2() {
        let got = hmac_sha256(b"Jefe", b"what do ya want for nothing?");
        assert_eq!(
            hex::encode(got),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
