//! A fresh working folder and database per test, and the built `reconsent` binary.
#![allow(dead_code)]

pub mod admin;
pub mod servers;

use assert_cmd::Command;
use std::path::{Path, PathBuf};

pub const NOW: &str = "2026-11-22T00:00:00Z";

pub struct Sandbox {
    pub dir: tempfile::TempDir,
}

impl Sandbox {
    /// A folder with an initialised database.
    pub fn new() -> Self {
        let sb = Self::empty();
        sb.ok(&["init"]);
        sb
    }

    pub fn empty() -> Self {
        Self {
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn write(&self, name: &str, content: impl AsRef<[u8]>) -> PathBuf {
        let p = self.path(name);
        std::fs::write(&p, content).expect("write test file");
        p
    }

    /// `reconsent` in this folder, at the fixed instant, with no outside configuration.
    pub fn cmd(&self) -> Command {
        Command::from(self.process())
    }

    /// The same as a plain process, to spawn, wait on or kill.
    pub fn process(&self) -> std::process::Command {
        let mut c = std::process::Command::new(assert_cmd::cargo::cargo_bin!("reconsent"));
        c.current_dir(self.dir.path())
            .env("RECONSENT_NOW", NOW)
            .env("RECONSENT_TEST_CLOCK", "1")
            .env_remove("RECONSENT_DATABASE_URL");
        for (k, _) in std::env::vars() {
            if k.starts_with("RECONSENT__") {
                c.env_remove(k);
            }
        }
        c
    }

    pub fn run(&self, args: &[&str]) -> Output {
        let out = self.cmd().args(args).output().expect("run reconsent");
        Output {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// Runs and insists on exit 0.
    pub fn ok(&self, args: &[&str]) -> Output {
        let out = self.run(args);
        assert_eq!(
            out.code, 0,
            "reconsent {args:?} failed:\n{}\n{}",
            out.stdout, out.stderr
        );
        out
    }

    pub fn json(&self, args: &[&str]) -> serde_json::Value {
        let mut full = args.to_vec();
        full.push("--json");
        let out = self.ok(&full);
        serde_json::from_str(&out.stdout)
            .unwrap_or_else(|e| panic!("{args:?}: not JSON ({e}):\n{}", out.stdout))
    }
}

pub struct Output {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Sandbox {
    /// An initialised base with the example contacts, and the shipped campaign and
    /// templates copied in, the campaign sending at `rate`.
    pub fn with_campaign(rate: &str) -> Self {
        let sb = Self::new();
        sb.ok(&["import", examples().to_str().unwrap()]);
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        copy_dir(&root.join("templates"), &sb.path("templates"));
        std::fs::create_dir_all(sb.path("campaigns")).unwrap();
        let campaign = std::fs::read_to_string(root.join("campaigns/example.toml")).unwrap();
        let campaign: String = campaign
            .lines()
            .map(|l| {
                if l.starts_with("rate =") {
                    format!("rate = \"{rate}\"")
                } else {
                    l.to_string()
                }
            })
            .collect::<Vec<_>>()
            .join("\n");
        sb.write("campaigns/example.toml", campaign);
        sb
    }

    /// Runs with the transport pointed at `url`.
    pub fn run_with(&self, url: &str, args: &[&str]) -> Output {
        let out = self
            .cmd()
            .env("RECONSENT__TRANSPORT", url)
            .env("RECONSENT__SENDING__RETRY_FIRST", "1s")
            .args(args)
            .output()
            .expect("run reconsent");
        Output {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    pub fn status(&self) -> serde_json::Value {
        self.json(&["campaign", "status", "spring-reconsent"])
    }
}

pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap().flatten() {
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

pub fn examples() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/contacts.csv")
}

pub const HEADER: &str = "email,name,locale,country,customer,last_purchase_at,last_activity_at,consent_at,consent_method,consent_prechecked,consent_bundled,consent_text_version,consent_ip,consent_source,consent_withdrawn_at,legal_hold";

/// `n` valid rows in the import format, one per address `user{i}@example.com`.
pub fn rows(n: usize) -> String {
    let mut s = String::from(HEADER);
    s.push('\n');
    for i in 1..=n {
        s.push_str(&format!(
            "user{i}@example.com,User {i},pl,PL,true,2026-01-0{d},,2024-03-0{d}T10:00:00Z,double_opt_in,false,false,nl-1,,,,false\n",
            d = 1 + i % 9
        ));
    }
    s
}

/// Whether `needle` stands in the database files as a whole address (not the tail of a
/// longer one, as `a.b@x` inside `ja.b@x`), in any case.
pub fn in_database(sb: &Sandbox, needle: &str) -> bool {
    let mut bytes = Vec::new();
    for name in ["reconsent.db", "reconsent.db-wal"] {
        bytes.extend(std::fs::read(sb.path(name)).unwrap_or_default());
    }
    let part_of_address = |b: u8| b.is_ascii_alphanumeric() || b".-_+'".contains(&b);
    bytes.windows(needle.len()).enumerate().any(|(i, w)| {
        w.eq_ignore_ascii_case(needle.as_bytes()) && (i == 0 || !part_of_address(bytes[i - 1]))
    })
}

/// The example campaign plus a mailbox that bounces (`bounce.one@example.cz`) and a
/// weak pre-GDPR consent (`jan.kowalski@example.pl`), launched and sent to the
/// answering aiosmtpd server; the delivered messages are in `maildir`.
pub fn sent_with_a_bounce() -> Sandbox {
    let sb = Sandbox::with_campaign("500/s");
    let extra = format!(
        "{HEADER}\nbounce.one@example.cz,,cs,CZ,true,2026-06-01,,,,,,,,,,\n\
         jan.kowalski@example.pl,Jan Kowalski,pl,PL,true,2025-01-01,,2017-03-01,single_opt_in,false,false,,,,,\n"
    );
    let file = sb.write("extra.csv", extra);
    sb.ok(&["import", file.to_str().unwrap()]);
    sb.ok(&["campaign", "launch", "campaigns/example.toml"]);
    let smtp = servers::answering_server(&sb.path("maildir"));
    let out = sb.run_with(&smtp.url(), &["send", "--until-idle"]);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    smtp.stop();
    sb
}

/// The counters a campaign's page reads, kept by the database's triggers as deliveries
/// change and answers arrive, equal the same figures counted from the rows; returns them.
pub async fn counters_agree(sb: &Sandbox, campaign: &str) -> reconsent::store::Counters {
    let store = reconsent::store::Store::open(sb.path("reconsent.db").to_str().unwrap())
        .await
        .unwrap();
    let row = store
        .campaign(campaign)
        .await
        .unwrap()
        .expect("the campaign");
    let (kept, counted) = store.recount(&row).await.unwrap();
    store.close().await;
    assert_eq!(kept, counted, "the kept counters against a recount");
    kept
}
