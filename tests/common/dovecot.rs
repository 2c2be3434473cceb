//! A real IMAP server for the tests of the bounce mailbox: Dovecot, as an unprivileged
//! user, on free ports, with its own configuration, password file and certificates made
//! by openssl; and Maildir helpers.

use super::servers::free_port;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const IMAP_USER: &str = "bounces";
pub const IMAP_PASSWORD: &str = "s3cret+pw";

pub struct Dovecot {
    child: Child,
    pub imap_port: u16,
    pub imaps_port: u16,
    /// The INBOX's Maildir, where a delivering server would put reports.
    pub maildir: PathBuf,
    /// The certificate of the authority that signed the server's.
    pub ca: PathBuf,
}

impl Drop for Dovecot {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub(super) fn run(cmd: &mut Command) {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn whoami() -> (bool, String, String) {
    let id = |flag| {
        let out = Command::new("id").arg(flag).output().expect("id");
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };
    let root = id("-u") == "0";
    if root {
        let group = if Command::new("getent")
            .args(["group", "nogroup"])
            .output()
            .is_ok_and(|o| o.status.success())
        {
            "nogroup"
        } else {
            "nobody"
        };
        (true, "nobody".into(), group.into())
    } else {
        (false, id("-un"), id("-gn"))
    }
}

/// A certificate authority and a server certificate for 127.0.0.1 signed by it.
fn certificates(dir: &Path) {
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
    ];
    run(Command::new("openssl")
        .current_dir(dir)
        .args(["req", "-x509"])
        .args(ec)
        .args([
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
            "-days",
            "2",
            "-subj",
            "/CN=reconsent test CA",
        ]));
    run(Command::new("openssl")
        .current_dir(dir)
        .arg("req")
        .args(ec)
        .args([
            "-keyout",
            "key.pem",
            "-out",
            "server.csr",
            "-subj",
            "/CN=localhost",
        ]));
    std::fs::write(
        dir.join("server.ext"),
        "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n",
    )
    .unwrap();
    run(Command::new("openssl").current_dir(dir).args([
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "cert.pem",
        "-days",
        "2",
        "-extfile",
        "server.ext",
    ]));
}

impl Dovecot {
    pub fn start(dir: &Path) -> Self {
        std::fs::create_dir_all(dir).unwrap();
        let (root, user, group) = whoami();
        certificates(dir);
        for sub in [
            "mail/new", "mail/cur", "mail/tmp", "run", "state", "home", "logs",
        ] {
            std::fs::create_dir_all(dir.join(sub)).unwrap();
        }
        std::fs::write(
            dir.join("users"),
            format!("{IMAP_USER}:{{PLAIN}}{IMAP_PASSWORD}\n"),
        )
        .unwrap();
        let (imap_port, imaps_port) = (free_port(), free_port());
        let d = dir.display();
        let conf = format!(
            "base_dir = {d}/run\nstate_dir = {d}/state\nlog_path = {d}/logs/dovecot.log\n\
             protocols = imap\nlisten = 127.0.0.1\n\
             default_internal_user = {user}\ndefault_internal_group = {group}\ndefault_login_user = {user}\n\
             ssl = required\nssl_cert = <{d}/cert.pem\nssl_key = <{d}/key.pem\n\
             disable_plaintext_auth = yes\nauth_mechanisms = plain\n\
             passdb {{\n  driver = passwd-file\n  args = scheme=PLAIN username_format=%u {d}/users\n}}\n\
             userdb {{\n  driver = static\n  args = uid={user} gid={group} home={d}/home/%u\n}}\n\
             mail_location = maildir:{d}/mail\n\
             service imap-login {{\n  chroot =\n  inet_listener imap {{\n    port = {imap_port}\n  }}\n  \
             inet_listener imaps {{\n    port = {imaps_port}\n    ssl = yes\n  }}\n}}\n\
             service anvil {{\n  chroot =\n}}\n"
        );
        std::fs::write(dir.join("dovecot.conf"), conf).unwrap();
        let mut cmd = if root {
            // The folder must be open to the server's user, and its mail and state its own.
            run(Command::new("chmod").arg("a+rx").arg(dir));
            let mut p = dir.to_path_buf();
            while p.pop() && p != Path::new("/") {
                run(Command::new("chmod").arg("a+x").arg(&p));
            }
            for sub in ["mail", "run", "state", "home", "logs"] {
                run(Command::new("chown")
                    .arg("-R")
                    .arg(format!("{user}:{group}"))
                    .arg(dir.join(sub)));
            }
            run(Command::new("chmod").arg("a+r").arg(dir.join("key.pem")));
            let mut c = Command::new("setpriv");
            c.args([
                "--reuid",
                &user,
                "--regid",
                &group,
                "--clear-groups",
                "/usr/sbin/dovecot",
            ]);
            c
        } else {
            Command::new("/usr/sbin/dovecot")
        };
        let mut child = cmd
            .arg("-F")
            .arg("-c")
            .arg(dir.join("dovecot.conf"))
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("dovecot (scripts/test installs dovecot-imapd)");
        let start = Instant::now();
        while TcpStream::connect(("127.0.0.1", imaps_port)).is_err()
            || TcpStream::connect(("127.0.0.1", imap_port)).is_err()
        {
            if let Ok(Some(status)) = child.try_wait() {
                let mut err = String::new();
                if let Some(mut e) = child.stderr.take() {
                    use std::io::Read;
                    let _ = e.read_to_string(&mut err);
                }
                panic!("dovecot exited ({status}): {err}");
            }
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "dovecot did not listen"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        Dovecot {
            child,
            imap_port,
            imaps_port,
            maildir: dir.join("mail"),
            ca: dir.join("ca.pem"),
        }
    }

    pub fn imaps_url(&self) -> String {
        format!(
            "imaps://{IMAP_USER}:s3cret%2Bpw@127.0.0.1:{}/INBOX",
            self.imaps_port
        )
    }

    pub fn starttls_url(&self) -> String {
        format!(
            "imap+starttls://{IMAP_USER}:s3cret%2Bpw@127.0.0.1:{}/INBOX",
            self.imap_port
        )
    }

    /// Delivers a message into the INBOX as a local delivery agent does: written in
    /// `tmp/`, then renamed into `new/`.
    pub fn deliver(&self, name: &str, bytes: &str) {
        deliver(&self.maildir, name, bytes);
        let (root, user, group) = whoami();
        if root {
            run(Command::new("chown")
                .arg(format!("{user}:{group}"))
                .arg(self.maildir.join("new").join(name)));
        }
    }
}

pub fn deliver(maildir: &Path, name: &str, bytes: &str) {
    for sub in ["new", "cur", "tmp"] {
        std::fs::create_dir_all(maildir.join(sub)).unwrap();
    }
    let tmp = maildir.join("tmp").join(name);
    std::fs::write(&tmp, bytes).unwrap();
    std::fs::rename(&tmp, maildir.join("new").join(name)).unwrap();
}

/// Files in a Maildir folder (`""` the INBOX, else `.NAME`).
pub fn count(maildir: &Path, folder: &str) -> usize {
    let root = if folder.is_empty() {
        maildir.to_path_buf()
    } else {
        maildir.join(format!(".{folder}"))
    };
    ["new", "cur"]
        .iter()
        .map(|s| {
            std::fs::read_dir(root.join(s))
                .map(|d| d.flatten().filter(|e| e.path().is_file()).count())
                .unwrap_or(0)
        })
        .sum()
}
