//! `campaign check` and `campaign preview`, driven through the built binary in a fresh
//! folder holding a copy of the shipped campaign and templates. The MIME output is
//! parsed by Python's `email` package and the DKIM signature verified by `dkimpy`,
//! both independent of the code that wrote them.

mod common;

use assert_cmd::Command;
use serde_json::Value;
use std::path::{Path, PathBuf};

const NOW: &str = "2026-05-01T08:00:00Z";

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// A working folder with `campaigns/x.toml` (the example, using `templates/x`) and
/// `templates/x` (a copy of `reconsent-default`).
struct Sandbox {
    db: common::TestDatabase,
    dir: tempfile::TempDir,
}

struct Output {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Sandbox {
    fn new() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let sb = Sandbox {
            db: common::TestDatabase::new(dir.path()),
            dir,
        };
        copy_dir(
            &repo().join("templates/reconsent-default"),
            &sb.path("templates/x"),
        );
        let example = std::fs::read_to_string(repo().join("campaigns/example.toml"))
            .expect("example campaign");
        std::fs::create_dir_all(sb.path("campaigns")).expect("mkdir");
        sb.write(
            "campaigns/x.toml",
            &example.replace("templates = \"reconsent-default\"", "templates = \"x\""),
        );
        sb
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    fn write(&self, rel: &str, text: &str) {
        std::fs::write(self.path(rel), text).expect("write");
    }

    fn read(&self, rel: &str) -> String {
        std::fs::read_to_string(self.path(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
    }

    /// Replaces the one line of `rel` that contains `marker` with `replacement`.
    fn replace_line(&self, rel: &str, marker: &str, replacement: &str) {
        let text = self.read(rel);
        let hits = text.lines().filter(|l| l.contains(marker)).count();
        assert_eq!(hits, 1, "{rel}: {hits} lines contain {marker:?}");
        let edited: Vec<&str> = text
            .lines()
            .map(|l| if l.contains(marker) { replacement } else { l })
            .collect();
        self.write(rel, &(edited.join("\n") + "\n"));
    }

    fn run(&self, args: &[&str]) -> Output {
        let mut c = std::process::Command::new(assert_cmd::cargo::cargo_bin!("reconsent"));
        c.current_dir(self.dir.path())
            .env("RECONSENT_NOW", NOW)
            .env("RECONSENT_TEST_CLOCK", "1");
        self.db.apply(&mut c);
        for (k, _) in std::env::vars() {
            if k.starts_with("RECONSENT__") {
                c.env_remove(k);
            }
        }
        let out = Command::from(c).args(args).output().expect("run reconsent");
        Output {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    fn ok(&self, args: &[&str]) -> Output {
        let out = self.run(args);
        assert_eq!(
            out.code, 0,
            "reconsent {args:?}:\n{}\n{}",
            out.stdout, out.stderr
        );
        out
    }

    /// `campaign check --json`: (exit code, problems).
    fn check(&self) -> (i32, Vec<String>) {
        let out = self.run(&["campaign", "check", "campaigns/x.toml", "--json"]);
        let v: Value = serde_json::from_str(&out.stdout)
            .unwrap_or_else(|e| panic!("not JSON ({e}):\n{}\n{}", out.stdout, out.stderr));
        let problems = v["problems"]
            .as_array()
            .expect("problems")
            .iter()
            .map(|p| p.as_str().unwrap_or_default().to_string())
            .collect();
        assert_eq!(v["ok"], Value::Bool(out.code == 0), "{}", out.stdout);
        (out.code, problems)
    }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read dir").flatten() {
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy");
        }
    }
}

#[test]
fn the_shipped_example_passes_check() {
    let mut c = Command::cargo_bin("reconsent").expect("binary");
    let out = c
        .current_dir(repo())
        .env("RECONSENT_NOW", NOW)
        .env("RECONSENT_TEST_CLOCK", "1")
        .args(["campaign", "check", "campaigns/example.toml"])
        .output()
        .expect("run");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("ready to launch"), "{stdout}");
    assert!(stdout.contains("cs, de, en, pl, sk"), "{stdout}");
}

#[test]
fn check_json_lists_locales_waves_and_warnings() {
    let sb = Sandbox::new();
    let out = sb.ok(&["campaign", "check", "campaigns/x.toml", "--json"]);
    let v: Value = serde_json::from_str(&out.stdout).expect("JSON");
    assert_eq!(v["campaign"], "spring-reconsent");
    assert_eq!(v["ok"], true);
    assert_eq!(v["problems"], serde_json::json!([]));
    assert_eq!(
        v["locales"],
        serde_json::json!(["cs", "de", "en", "pl", "sk"])
    );
    assert_eq!(
        v["waves"],
        serde_json::json!(["initial", "reminder", "last-call"])
    );
    let warnings = v["warnings"].to_string();
    assert!(warnings.contains("no DKIM key"), "{warnings}");
    assert!(warnings.contains("localhost"), "{warnings}");
}

/// Removes one required part from one locale's template; `check` must fail and name
/// exactly that locale and part.
fn assert_missing_named(file: &str, marker: &str, replacement: &str, expected: &str) {
    let sb = Sandbox::new();
    sb.replace_line(&format!("templates/x/{file}"), marker, replacement);
    let (code, problems) = sb.check();
    assert_eq!(code, 1, "check passed without {expected}");
    assert!(
        problems.iter().any(|p| p.starts_with(expected)),
        "want {expected:?} in {problems:#?}"
    );
    let locale = file.split('/').next().unwrap_or_default();
    let prefix = format!("templates/x/{locale}:");
    assert!(
        problems.iter().all(|p| p.starts_with(&prefix)),
        "only {locale} should be named: {problems:#?}"
    );
    let human = sb.run(&["campaign", "check", "campaigns/x.toml"]);
    assert_eq!(human.code, 1);
    assert!(human.stdout.contains(expected), "{}", human.stdout);
}

macro_rules! required_part {
    ($name:ident, $file:expr, $marker:expr, $replacement:expr, $expected:expr) => {
        #[test]
        fn $name() {
            assert_missing_named($file, $marker, $replacement, $expected);
        }
    };
}

required_part!(
    missing_sender_legal_entity,
    "pl/body.html.hbs",
    "{{> sender ",
    "<p>{{sender.name}}<br>{{sender.address}}</p>",
    "templates/x/pl: no sender legal entity in the HTML part"
);
required_part!(
    missing_postal_address,
    "pl/body.txt.hbs",
    "{{> sender ",
    "{{sender.name}}\n{{sender.legal_entity}}",
    "templates/x/pl: no sender postal address in the text part"
);
required_part!(
    missing_benefits,
    "sk/body.html.hbs",
    "{{> benefits ",
    "",
    "templates/x/sk: no benefits in the HTML part"
);
required_part!(
    missing_bonus,
    "cs/body.txt.hbs",
    "{{> bonus ",
    "",
    "templates/x/cs: no bonus in the text part"
);
required_part!(
    missing_privacy_link,
    "de/body.html.hbs",
    "{{> privacy ",
    "",
    "templates/x/de: no privacy-policy link in the HTML part"
);
required_part!(
    missing_confirm_button,
    "en/body.html.hbs",
    "{{> buttons ",
    "<a href=\"{{leave_url}}\">No, thanks</a>",
    "templates/x/en: no confirm button in the HTML part"
);
required_part!(
    missing_leave_button,
    "pl/body.html.hbs",
    "{{> buttons ",
    "<a href=\"{{confirm_url}}\">Tak, chcę dostawać oferty</a>",
    "templates/x/pl: no leave button in the HTML part"
);
required_part!(
    hidden_leave_button,
    "pl/body.html.hbs",
    "{{> buttons ",
    "<a href=\"{{confirm_url}}\">Tak</a> <a href=\"{{leave_url}}\" style=\"display: none\">Nie</a>",
    "templates/x/pl: the leave button in the HTML part is hidden"
);
required_part!(
    missing_leave_link_in_text,
    "sk/body.txt.hbs",
    "{{> buttons ",
    "{{confirm_url}}",
    "templates/x/sk: no leave link in the text part"
);
required_part!(
    missing_contact_details,
    "sk/body.txt.hbs",
    "{{> contact ",
    "",
    "templates/x/sk: no contact details in the text part"
);
required_part!(
    missing_purpose,
    "cs/body.html.hbs",
    "{{purpose}}",
    "",
    "templates/x/cs: no purpose (what the consent is for) in the HTML part"
);
required_part!(
    missing_frequency,
    "de/body.txt.hbs",
    "{{frequency}}",
    "Wie oft: selten",
    "templates/x/de: no frequency (how often mail will come) in the text part"
);

/// The bonus rewards confirming: a request that prints the code is refused, however the
/// template gets it there, naming the file and the locale.
#[test]
fn check_refuses_a_request_that_prints_the_bonus_code() {
    let cases = [
        (
            "sk/body.txt.hbs",
            "{{frequency}}",
            "{{frequency}}\nKód: {{bonus.code}}",
        ),
        (
            "pl/body.html.hbs",
            "{{purpose}}",
            "{{purpose}} {{#with bonus as |b|}}<b>{{b.code}}</b>{{/with}}",
        ),
        ("de/subject.hbs", "", "Ihr Code {{lookup bonus \"code\"}}"),
    ];
    for (file, marker, replacement) in cases {
        let sb = Sandbox::new();
        if marker.is_empty() {
            sb.write(&format!("templates/x/{file}"), replacement);
        } else {
            let text = sb.read(&format!("templates/x/{file}"));
            assert!(text.contains(marker), "{file} has no {marker}");
            sb.write(
                &format!("templates/x/{file}"),
                &text.replacen(marker, replacement, 1),
            );
        }
        let (code, problems) = sb.check();
        assert_eq!(code, 1, "{file}: {problems:#?}");
        let expected = format!("templates/x/{file}: prints the bonus code");
        assert!(
            problems.iter().any(|p| p.starts_with(&expected)),
            "want {expected:?} in {problems:#?}"
        );
        let locale = file.split('/').next().unwrap_or_default();
        assert!(
            problems
                .iter()
                .all(|p| p.starts_with(&format!("templates/x/{locale}"))),
            "only {locale} should be named: {problems:#?}"
        );
        let human = sb.run(&["campaign", "check", "campaigns/x.toml"]);
        assert_eq!(human.code, 1);
        assert!(human.stdout.contains(&expected), "{}", human.stdout);
    }
}

#[test]
fn the_shipped_request_names_the_bonus_but_never_prints_its_code() {
    let sb = Sandbox::new();
    sb.ok(&["campaign", "preview", "campaigns/x.toml", "--out", "p"]);
    let campaign = sb.read("campaigns/x.toml");
    assert!(campaign.contains("WELCOMEBACK10"));
    for l in ["cs", "de", "en", "pl", "sk"] {
        for ext in ["eml", "html", "txt"] {
            let body = sb.read(&format!("p/{l}.{ext}"));
            assert!(!body.contains("WELCOMEBACK10"), "{l}.{ext} prints the code");
        }
    }
    let en = sb.read("p/en.txt");
    assert!(en.contains("10% off"), "the bonus is named: {en}");
}

#[test]
fn a_missing_partial_for_every_locale_is_named_per_locale() {
    let sb = Sandbox::new();
    std::fs::remove_file(sb.path("templates/x/partials/buttons.txt.hbs")).expect("rm");
    let (code, problems) = sb.check();
    assert_eq!(code, 1);
    for l in ["cs", "de", "en", "pl", "sk"] {
        assert!(
            problems
                .iter()
                .any(|p| p.contains("no partial 'buttons'") && p.contains(&format!("/{l}/"))),
            "{l}: {problems:#?}"
        );
    }
}

#[test]
fn an_unknown_variable_is_named_with_its_file() {
    let sb = Sandbox::new();
    sb.write(
        "templates/x/sk/subject.hbs",
        "Ahoj {{contact.first_name}}\n",
    );
    let (code, problems) = sb.check();
    assert_eq!(code, 1);
    assert!(
        problems.iter().any(|p| p.starts_with(
            "templates/x/sk/subject.hbs line 1: unknown variable 'contact.first_name'"
        )),
        "{problems:#?}"
    );
}

#[test]
fn check_says_plainly_that_no_basis_and_withdrawn_are_never_emailed() {
    let sb = Sandbox::new();
    let campaign = sb.read("campaigns/x.toml").replace(
        "classes = [\"weak\", \"stale\", \"soft_opt_in\"]",
        "classes = [\"weak\", \"no_basis\", \"withdrawn\"]",
    );
    sb.write("campaigns/x.toml", &campaign);
    let out = sb.run(&["campaign", "check", "campaigns/x.toml"]);
    assert_eq!(out.code, 1, "{}", out.stdout);
    assert!(out.stdout.contains(
        "audience.classes: no_basis contacts are never e-mailed: a consent request is itself marketing (ICO: Flybe, Honda 2017)"
    ), "{}", out.stdout);
    assert!(
        out.stdout
            .contains("audience.classes: withdrawn contacts are never e-mailed"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("campaigns/x.toml line "),
        "{}",
        out.stdout
    );
}

#[test]
fn a_bad_campaign_file_is_refused_with_line_and_field() {
    let sb = Sandbox::new();
    let text = sb.read("campaigns/x.toml");
    let line = text
        .lines()
        .position(|l| l.starts_with("rate = "))
        .expect("rate line")
        + 1;
    sb.write(
        "campaigns/x.toml",
        &text.replace("rate = \"50/s\"", "rate = \"50 per second\""),
    );
    let want = format!(
        "campaigns/x.toml line {line}: rate: '50 per second' is not a rate (expected e.g. 50/s"
    );
    let out = sb.run(&["campaign", "check", "campaigns/x.toml"]);
    assert_eq!(out.code, 1);
    assert!(out.stdout.contains(&want), "{}", out.stdout);
    let out = sb.run(&["campaign", "preview", "campaigns/x.toml", "--out", "p"]);
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains(&want), "{}", out.stderr);
    sb.write("campaigns/x.toml", &text.replace("[sender]", "[sendr]"));
    let out = sb.run(&["campaign", "check", "campaigns/x.toml"]);
    assert_eq!(out.code, 1);
    assert!(
        out.stdout.contains("unknown field `sendr`"),
        "{}",
        out.stdout
    );
}

#[test]
fn usage_errors_exit_2() {
    let sb = Sandbox::new();
    for args in [
        vec!["campaign", "preview", "campaigns/x.toml"],
        vec![
            "campaign",
            "preview",
            "campaigns/x.toml",
            "--out",
            "p",
            "--locale",
            "polish",
        ],
        vec!["campaign", "check"],
    ] {
        assert_eq!(sb.run(&args).code, 2, "{args:?}");
    }
}

#[test]
fn preview_writes_every_locale_or_one() {
    let sb = Sandbox::new();
    sb.ok(&["campaign", "preview", "campaigns/x.toml", "--out", "all"]);
    let mut files: Vec<String> = std::fs::read_dir(sb.path("all"))
        .expect("out dir")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    assert_eq!(files.len(), 15, "{files:?}");
    for l in ["cs", "de", "en", "pl", "sk"] {
        for ext in ["eml", "html", "txt"] {
            assert!(files.contains(&format!("{l}.{ext}")), "{l}.{ext}");
        }
    }
    sb.ok(&[
        "campaign",
        "preview",
        "campaigns/x.toml",
        "--out",
        "one",
        "--locale",
        "pl",
    ]);
    assert_eq!(std::fs::read_dir(sb.path("one")).expect("dir").count(), 3);
    let out = sb.run(&[
        "campaign",
        "preview",
        "campaigns/x.toml",
        "--out",
        "w",
        "--wave",
        "nope",
    ]);
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("no wave 'nope'"), "{}", out.stderr);
}

/// Runs a script under `tests/support` with python3; a missing python3 or module is a
/// failure that says what to install, never a silent pass.
fn python(script: &str, args: &[&Path]) -> std::process::Output {
    let out = std::process::Command::new("python3")
        .arg(repo().join("tests/support").join(script))
        .args(args)
        .output()
        .unwrap_or_else(|e| {
            panic!("python3 is needed to check the MIME output independently ({e}); install it (scripts/test does)")
        });
    if out.status.code() == Some(3) {
        panic!(
            "{}: install it with `python3 -m pip install dkimpy pynacl` (scripts/test does)",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    out
}

#[test]
fn preview_parses_as_mime_with_every_header() {
    let sb = Sandbox::new();
    sb.write("reconsent.toml", "base_url = \"https://r.shop.example/\"\n");
    sb.ok(&["campaign", "preview", "campaigns/x.toml", "--out", "p"]);
    let subjects = [
        (
            "en",
            "Do you still want our offers by e-mail?",
            "Jane Example",
        ),
        (
            "pl",
            "Czy nadal chcesz dostawać nasze oferty?",
            "Małgorzata Żółkiewska",
        ),
        (
            "sk",
            "Chcete od nás naďalej dostávať ponuky?",
            "Jana Nováková",
        ),
        (
            "cs",
            "Chcete od nás i nadále dostávat nabídky?",
            "Jiří Dvořák",
        ),
        (
            "de",
            "Möchten Sie weiterhin unsere Angebote erhalten?",
            "Jürgen Weiß",
        ),
    ];
    for (locale, subject, name) in subjects {
        let eml = sb.path(&format!("p/{locale}.eml"));
        let out = python("check_eml.py", &[&eml]);
        assert!(
            out.status.success(),
            "{locale}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v: Value = serde_json::from_slice(&out.stdout).expect("JSON from check_eml.py");
        assert_eq!(v["subject"], subject, "{locale}");
        assert_eq!(v["to"], format!("{name} <probe@example.com>"), "{locale}");
        assert_eq!(v["from"], "Tatra Tea <newsletter@shop.example>");
        let strings = |key: &str| -> Vec<String> {
            v[key]
                .as_array()
                .expect(key)
                .iter()
                .filter_map(|s| s.as_str().map(str::to_string))
                .collect()
        };
        let answer_links = |key: &str| -> Vec<String> {
            strings(key)
                .into_iter()
                .filter(|u| u.starts_with("https://r.shop.example/r/"))
                .collect()
        };
        let text_links = answer_links("text_urls");
        assert_eq!(
            text_links.len(),
            2,
            "{locale}: confirm and leave in the text part"
        );
        assert_eq!(
            text_links,
            answer_links("html_hrefs"),
            "{locale}: same links in both parts"
        );
        assert_ne!(text_links[0], text_links[1]);
        let unsubscribe = strings("list_unsubscribe");
        assert!(
            unsubscribe[0].starts_with("https://r.shop.example/u/"),
            "{unsubscribe:?}"
        );
        assert!(
            unsubscribe[1].starts_with("mailto:newsletter@shop.example?subject=unsubscribe-"),
            "{unsubscribe:?}"
        );
        for link in text_links.iter().chain(&unsubscribe[..1]) {
            assert!(!link.contains('@') && !link.contains("probe"), "{link}");
        }
        // The e-mail's lines end in CRLF, the preview file's in LF.
        let text = v["text"].as_str().unwrap_or_default().replace("\r\n", "\n");
        assert_eq!(
            text,
            sb.read(&format!("p/{locale}.txt")),
            "{locale}: .txt = text part"
        );
    }
    let html = sb.read("p/pl.html");
    assert!(
        html.contains("Uczciwie uprzedzamy") && html.contains("2026"),
        "pl.html"
    );
}

/// Every signature of every previewed message verifies with dkimpy: the RSA key in
/// either PEM form alone, and with an Ed25519 key a second, ed25519-sha256 signature.
#[test]
fn preview_is_dkim_signed_and_dkimpy_verifies_every_signature() {
    let support = repo().join("tests/support");
    let key = |name: &str| support.join(name).display().to_string();
    let cases = [
        ("dkim-test.pkcs8.pem", None),
        ("dkim-test.pkcs1.pem", None),
        ("dkim-test.pkcs1.pem", Some("dkim-test.ed25519.pem")),
    ];
    for (rsa, ed25519) in cases {
        let sb = Sandbox::new();
        let mut config = format!(
            "base_url = \"https://r.shop.example\"\n[dkim]\nkey_file = {:?}\nselector = \"rc2026\"\n",
            key(rsa)
        );
        if let Some(ed) = ed25519 {
            config += &format!(
                "ed25519_key_file = {:?}\ned25519_selector = \"ed2026\"\n",
                key(ed)
            );
        }
        sb.write("reconsent.toml", &config);
        let (code, problems) = sb.check();
        assert_eq!((code, problems.len()), (0, 0), "{problems:?}");
        sb.ok(&["campaign", "preview", "campaigns/x.toml", "--out", "p"]);
        let mut public = vec![support.join("dkim-test.pub.pem")];
        if ed25519.is_some() {
            public.push(support.join("dkim-test.ed25519.pub.pem"));
        }
        for locale in ["en", "pl", "sk", "cs", "de"] {
            let eml = sb.path(&format!("p/{locale}.eml"));
            let mut args = vec![eml.as_path()];
            args.extend(public.iter().map(|p| p.as_path()));
            let out = python("verify_dkim.py", &args);
            assert!(
                out.status.success(),
                "{rsa} {ed25519:?} {locale}: {}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
}

#[test]
fn a_broken_dkim_configuration_is_a_problem() {
    let sb = Sandbox::new();
    sb.write(
        "reconsent.toml",
        "[dkim]\nkey_file = \"missing.pem\"\nselector = \"s\"\n",
    );
    let (code, problems) = sb.check();
    assert_eq!(code, 1);
    assert!(
        problems
            .iter()
            .any(|p| p.contains("dkim.key_file: cannot read missing.pem")),
        "{problems:?}"
    );
    let rsa = repo().join("tests/support/dkim-test.pkcs8.pem");
    let cases = [
        (
            "[dkim]\ned25519_key_file = \"ed.pem\"\ned25519_selector = \"e\"\n".to_string(),
            "ed25519_key_file is set but key_file is not",
        ),
        (
            format!(
                "[dkim]\nkey_file = {rsa:?}\nselector = \"s\"\ned25519_key_file = \"missing.pem\"\ned25519_selector = \"e\"\n"
            ),
            "dkim.ed25519_key_file: cannot read missing.pem",
        ),
        (
            format!("[dkim]\nkey_file = {rsa:?}\nselector = \"s\"\ned25519_key_file = {rsa:?}\n"),
            "dkim.ed25519_selector is required",
        ),
        (
            format!(
                "[dkim]\nkey_file = {rsa:?}\nselector = \"s\"\ned25519_key_file = {rsa:?}\ned25519_selector = \"e\"\n"
            ),
            "not an Ed25519 private key",
        ),
    ];
    for (config, want) in cases {
        sb.write("reconsent.toml", &config);
        let (code, problems) = sb.check();
        assert_eq!(code, 1, "{config}");
        assert!(
            problems.iter().any(|p| p.contains(want)),
            "{want}: {problems:?}"
        );
    }
}

#[test]
fn preview_for_a_contact_in_the_database() {
    let sb = Sandbox::new();
    let out = sb.run(&[
        "campaign",
        "preview",
        "campaigns/x.toml",
        "--out",
        "p",
        "--contact",
        "jana@example.sk",
    ]);
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("reconsent init"), "{}", out.stderr);
    sb.ok(&["init"]);
    sb.write(
        "contacts.csv",
        "email,name,locale,country,customer,last_purchase_at,consent_at,consent_method\n\
         jana@example.sk,Jana Nováková,sk,SK,true,2026-01-10,2017-03-01,single_opt_in\n\
         jan@example.pl,Jan Kowalski,pl,PL,true,2026-01-10,,\n",
    );
    sb.ok(&["import", "contacts.csv"]);
    let out = sb.ok(&[
        "campaign",
        "preview",
        "campaigns/x.toml",
        "--out",
        "p",
        "--contact",
        "JANA@example.sk",
    ]);
    assert!(!out.stderr.contains("would not be sent"), "{}", out.stderr);
    let eml = sb.read("p/sk.eml");
    assert!(eml.contains("<jana@example.sk>"), "{eml}");
    assert_eq!(std::fs::read_dir(sb.path("p")).expect("dir").count(), 3);
    let out = sb.ok(&[
        "campaign",
        "preview",
        "campaigns/x.toml",
        "--out",
        "q",
        "--contact",
        "jan@example.pl",
    ]);
    assert!(
        out.stderr
            .contains("jan@example.pl would not be sent this campaign: no basis"),
        "{}",
        out.stderr
    );
    let out = sb.run(&[
        "campaign",
        "preview",
        "campaigns/x.toml",
        "--out",
        "p",
        "--contact",
        "nobody@example.sk",
    ]);
    assert_eq!(out.code, 1);
    assert!(
        out.stderr
            .contains("no contact with the address nobody@example.sk"),
        "{}",
        out.stderr
    );
}

#[test]
fn a_code_pool_must_exist_and_a_dated_deadline_must_leave_time() {
    let sb = Sandbox::new();
    let text = sb.read("campaigns/x.toml");
    sb.write(
        "campaigns/x.toml",
        &text
            .replace(
                "code = \"WELCOMEBACK10\"",
                "code_pool = \"campaigns/codes.txt\"",
            )
            .replace("deadline = \"30d\"", "deadline = \"2026-05-10\""),
    );
    let (code, problems) = sb.check();
    assert_eq!(code, 1);
    let all = problems.join("\n");
    assert!(
        all.contains("bonus.code_pool: cannot read campaigns/codes.txt"),
        "{all}"
    );
    assert!(
        all.contains("deadline: 2026-05-10 is not after the last wave 'last-call', which a launch now would send on 2026-05-15"),
        "{all}"
    );
    sb.write(
        "campaigns/codes.txt",
        "# one a line\nTEA-0001\nTEA-0002\nTEA-0001\n",
    );
    sb.write(
        "campaigns/x.toml",
        &sb.read("campaigns/x.toml")
            .replace("2026-05-10", "2026-06-30"),
    );
    let out = sb.ok(&["campaign", "check", "campaigns/x.toml"]);
    assert!(
        out.stdout.contains("1 duplicate code; each contact"),
        "{}",
        out.stdout
    );
    sb.ok(&[
        "campaign",
        "preview",
        "campaigns/x.toml",
        "--out",
        "p",
        "--locale",
        "en",
    ]);
    // A pool's code is drawn at confirmation: the request shows none, not even the first.
    assert!(!sb.read("p/en.txt").contains("TEA-0001"));
    assert!(sb.read("p/en.txt").contains("30 June 2026"));
}

/// SpamAssassin's verdict on one message, with its local rules only (`-L`: no network
/// tests, the same verdict on any machine): (score, the rules that scored, with points).
fn spamassassin(eml: &Path) -> (f64, Vec<String>) {
    let input = std::fs::File::open(eml).unwrap_or_else(|e| panic!("{}: {e}", eml.display()));
    let out = std::process::Command::new("spamassassin")
        .args(["-L", "-t"])
        .stdin(input)
        .output()
        .unwrap_or_else(|e| {
            panic!("spamassassin is needed to score the templates ({e}); install Debian's `spamassassin` (scripts/test does)")
        });
    let report = String::from_utf8_lossy(&out.stdout);
    let status = report
        .split("\r\n")
        .flat_map(|l| l.split('\n'))
        .find(|l| l.starts_with("X-Spam-Status:"))
        .unwrap_or_else(|| panic!("no X-Spam-Status in spamassassin's output:\n{report}"));
    let score: f64 = status
        .split("score=")
        .nth(1)
        .and_then(|s| s.split_whitespace().next())
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no score in {status}"));
    // The report's table: "pts rule name description"; every rule with points but 0.
    let details = report
        .split("Content analysis details:")
        .nth(1)
        .unwrap_or_default();
    let rules = details
        .lines()
        .filter_map(|l| {
            let mut words = l.split_whitespace();
            let pts: f64 = words.next()?.parse().ok()?;
            let rule = words.next()?;
            (pts != 0.0).then(|| format!("{rule} ({pts})"))
        })
        .collect();
    (score, rules)
}

/// Every shipped template, in every locale and wave, scores no points with SpamAssassin.
#[test]
fn shipped_templates_score_no_spamassassin_points() {
    let waves: Vec<String> =
        reconsent::campaign::Campaign::load(&repo().join("campaigns/example.toml"))
            .expect("example campaign")
            .waves
            .iter()
            .map(|w| w.name.clone())
            .collect();
    assert!(waves.len() >= 3, "{waves:?}");
    let mut messages = Vec::new();
    let mut sandboxes = Vec::new();
    for template in std::fs::read_dir(repo().join("templates"))
        .expect("templates")
        .flatten()
    {
        if !template.path().is_dir() {
            continue;
        }
        let sb = Sandbox::new();
        std::fs::remove_dir_all(sb.path("templates/x")).expect("rm");
        copy_dir(&template.path(), &sb.path("templates/x"));
        let name = template.file_name().to_string_lossy().into_owned();
        for wave in &waves {
            let out = format!("p-{wave}");
            sb.ok(&[
                "campaign",
                "preview",
                "campaigns/x.toml",
                "--out",
                &out,
                "--wave",
                wave,
            ]);
            for file in std::fs::read_dir(sb.path(&out)).expect("preview").flatten() {
                if file.path().extension().is_some_and(|e| e == "eml") {
                    let locale = file
                        .path()
                        .file_stem()
                        .unwrap_or_default()
                        .to_string_lossy()
                        .into_owned();
                    messages.push((format!("{name} {wave} {locale}"), file.path()));
                }
            }
        }
        sandboxes.push(sb);
    }
    assert!(
        messages.len() >= 15,
        "only {} messages to score",
        messages.len()
    );
    // SpamAssassin takes seconds a message, most of it loading its rules: two at a time.
    let verdicts: Vec<(String, f64, Vec<String>)> = std::thread::scope(|s| {
        let half = messages.len().div_ceil(2);
        let workers: Vec<_> = messages
            .chunks(half)
            .map(|chunk| {
                s.spawn(move || {
                    chunk
                        .iter()
                        .map(|(what, path)| {
                            let (score, rules) = spamassassin(path);
                            (what.clone(), score, rules)
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().expect("scoring thread"))
            .collect()
    });
    let failures: Vec<String> = verdicts
        .iter()
        .filter(|(_, score, rules)| *score > 0.0 || !rules.is_empty())
        .map(|(what, score, rules)| format!("{what}: score {score}, rules {}", rules.join(", ")))
        .collect();
    assert_eq!(verdicts.len(), messages.len());
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
