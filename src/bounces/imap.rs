//! The bounce mailbox over IMAP, always encrypted: TLS from the first byte (`imaps://`,
//! port 993) or STARTTLS (`imap+starttls://`, port 143, refused if not offered).
//! Messages are named by UID and moved with `UID MOVE` (RFC 6851), one atomic step.

use anyhow::{Context, Result, anyhow, bail};
use futures_util::TryStreamExt;
use std::path::Path;
use std::sync::Arc;
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;
use tokio_rustls::rustls::{self, pki_types};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImapTls {
    Implicit,
    StartTls,
}

#[derive(Clone, PartialEq, Eq)]
pub struct ImapSpec {
    pub tls: ImapTls,
    pub host: String,
    pub port: u16,
    pub user: String,
    pub password: String,
    pub folder: String,
}

impl std::fmt::Debug for ImapSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ImapSpec")
            .field("tls", &self.tls)
            .field("host", &self.host)
            .field("port", &self.port)
            .field("user", &self.user)
            .field("folder", &self.folder)
            .finish_non_exhaustive()
    }
}

type Session = async_imap::Session<TlsStream<TcpStream>>;

pub struct ImapBox {
    session: Session,
    /// Folders known to exist, created on first use.
    folders: Vec<String>,
}

/// A server that neither answers nor closes must not hold `bounces fetch` forever.
const TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);

async fn timed<T, E: std::fmt::Display>(
    what: &str,
    f: impl std::future::Future<Output = std::result::Result<T, E>>,
) -> Result<T> {
    match tokio::time::timeout(TIMEOUT, f).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(anyhow!("{what}: {e}")),
        Err(_) => Err(anyhow!("{what}: no answer within {}s", TIMEOUT.as_secs())),
    }
}

fn connector(extra_ca: Option<&Path>) -> Result<TlsConnector> {
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    if let Some(path) = extra_ca {
        use pki_types::pem::PemObject;
        let certs = pki_types::CertificateDer::pem_file_iter(path)
            .with_context(|| format!("bounces.tls_ca_file: cannot read {}", path.display()))?;
        for cert in certs {
            let cert = cert.with_context(|| {
                format!(
                    "bounces.tls_ca_file {}: not a PEM certificate",
                    path.display()
                )
            })?;
            roots.add(cert).with_context(|| {
                format!(
                    "bounces.tls_ca_file {}: unusable certificate",
                    path.display()
                )
            })?;
        }
    }
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()?
    .with_root_certificates(roots)
    .with_no_client_auth();
    Ok(TlsConnector::from(Arc::new(config)))
}

impl ImapBox {
    pub async fn open(spec: &ImapSpec, extra_ca: Option<&Path>) -> Result<Self> {
        let tls = connector(extra_ca)?;
        let name = pki_types::ServerName::try_from(spec.host.clone())
            .with_context(|| format!("'{}' is not a host name", spec.host))?;
        let tcp = timed(
            "connecting",
            TcpStream::connect((spec.host.as_str(), spec.port)),
        )
        .await?;
        let stream = match spec.tls {
            ImapTls::Implicit => {
                let stream = timed("TLS", tls.connect(name, tcp)).await?;
                let mut client = async_imap::Client::new(stream);
                greeting(&mut client).await?;
                client
            }
            ImapTls::StartTls => {
                let mut plain = async_imap::Client::new(tcp);
                greeting(&mut plain).await?;
                timed("STARTTLS", plain.run_command_and_check_ok("STARTTLS", None))
                    .await
                    .context("the server refused STARTTLS")?;
                let stream = timed("TLS", tls.connect(name, plain.into_inner())).await?;
                async_imap::Client::new(stream)
            }
        };
        let mut session = match timed("login", async {
            stream
                .login(&spec.user, &spec.password)
                .await
                .map_err(|(e, _)| e)
        })
        .await
        {
            Ok(s) => s,
            Err(e) => bail!("logging in as {}: {e:#}", spec.user),
        };
        timed("selecting the folder", session.select(&spec.folder))
            .await
            .with_context(|| format!("the folder {}", spec.folder))?;
        Ok(Self {
            session,
            folders: Vec::new(),
        })
    }

    pub async fn list(&mut self) -> Result<Vec<String>> {
        let mut uids: Vec<u32> = timed("searching", self.session.uid_search("ALL"))
            .await?
            .into_iter()
            .collect();
        uids.sort_unstable();
        Ok(uids.into_iter().map(|u| u.to_string()).collect())
    }

    pub async fn read(&mut self, uid: &str) -> Result<Option<Vec<u8>>> {
        let fetched: Vec<_> = timed("fetching", async {
            self.session
                .uid_fetch(uid, "BODY.PEEK[]")
                .await?
                .try_collect::<Vec<_>>()
                .await
        })
        .await?;
        Ok(fetched
            .iter()
            .find(|f| f.uid.is_some_and(|u| u.to_string() == uid))
            .and_then(|f| f.body())
            .map(<[u8]>::to_vec))
    }

    pub async fn move_to(&mut self, uid: &str, folder: &str) -> Result<()> {
        if !self.folders.iter().any(|f| f == folder) {
            // CREATE of a folder that exists fails; that failure is the answer wanted.
            let _ = timed("creating a folder", self.session.create(folder)).await;
            self.folders.push(folder.to_string());
        }
        timed("moving", self.session.uid_mv(uid, folder))
            .await
            .with_context(|| format!("moving message {uid} to {folder}"))
    }

    pub async fn close(mut self) {
        let _ = timed("logging out", self.session.logout()).await;
    }
}

async fn greeting<T>(client: &mut async_imap::Client<T>) -> Result<()>
where
    T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + std::fmt::Debug + Send,
{
    match timed("the greeting", client.read_response()).await? {
        Some(_) => Ok(()),
        None => bail!("the server closed the connection before greeting"),
    }
}
