//! Which backend a database URL names: `sqlite://FILE`, `sqlite:FILE` or a bare file
//! path for SQLite; `postgres://…` or `postgresql://…` for PostgreSQL.

use anyhow::{Result, bail};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DatabaseUrl {
    /// The database file's path.
    Sqlite(String),
    /// The whole URL, as PostgreSQL's client takes it.
    Postgres(String),
}

impl DatabaseUrl {
    pub fn parse(url: &str) -> Result<Self> {
        let url = url.trim();
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            return Ok(Self::Postgres(url.to_string()));
        }
        let path = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
            .unwrap_or(url);
        if path.is_empty() {
            bail!("the database URL '{url}' names no file");
        }
        if let Some((scheme, _)) = path.split_once("://") {
            bail!(
                "the database URL '{url}' has the scheme '{scheme}', which is not one this \
                 version knows: use sqlite://FILE or postgres://USER@HOST/DATABASE"
            );
        }
        Ok(Self::Sqlite(path.to_string()))
    }

    /// The URL as a person may be shown it: the file, or the server and database
    /// without the password.
    pub fn describe(&self) -> String {
        match self {
            Self::Sqlite(path) => path.clone(),
            Self::Postgres(url) => match ::url::Url::parse(url) {
                Ok(mut u) => {
                    if u.password().is_some() {
                        let _ = u.set_password(Some("***"));
                    }
                    u.to_string()
                }
                Err(_) => "a PostgreSQL database".to_string(),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_url_names_the_backend() {
        let cases = [
            (
                "sqlite://reconsent.db",
                Some(DatabaseUrl::Sqlite("reconsent.db".into())),
            ),
            (
                "sqlite:/data/r.db",
                Some(DatabaseUrl::Sqlite("/data/r.db".into())),
            ),
            ("shop.db", Some(DatabaseUrl::Sqlite("shop.db".into()))),
            (
                "postgres://u:p@db/shop",
                Some(DatabaseUrl::Postgres("postgres://u:p@db/shop".into())),
            ),
            (
                "postgresql://db/shop",
                Some(DatabaseUrl::Postgres("postgresql://db/shop".into())),
            ),
            ("sqlite://", None),
            ("", None),
            ("mysql://db/shop", None),
        ];
        for (url, want) in cases {
            assert_eq!(DatabaseUrl::parse(url).ok(), want, "{url}");
        }
    }

    #[test]
    fn a_password_is_never_shown() {
        let url = DatabaseUrl::parse("postgres://shop:s3cret@db.internal:5432/shop").unwrap();
        let shown = url.describe();
        assert!(!shown.contains("s3cret"), "{shown}");
        assert!(shown.contains("db.internal:5432/shop"), "{shown}");
    }
}
