//! `init`, `import`, `audit` and `explain` as a marketer uses them.

mod common;
use common::*;
use serde_json::json;

#[test]
fn init_is_idempotent_and_keeps_contacts() {
    let sb = Sandbox::new();
    sb.ok(&["import", examples().to_str().unwrap()]);
    sb.ok(&["init"]);
    assert_eq!(sb.json(&["audit"])["total"], 300);
}

#[test]
fn commands_before_init_say_what_to_do() {
    let sb = Sandbox::empty();
    let out = sb.run(&["audit"]);
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("reconsent init"), "{}", out.stderr);
    assert!(
        !sb.db.initialised(),
        "a failed command must not create a database"
    );
}

/// SQLite only: the WAL and shared-memory files are SQLite's own.
#[test]
fn the_database_is_one_file_after_an_import() {
    let sb = Sandbox::new();
    if sb.backend() != Backend::Sqlite {
        return;
    }
    sb.ok(&["import", examples().to_str().unwrap()]);
    for side in ["reconsent.db-wal", "reconsent.db-shm"] {
        assert!(
            !sb.path(side).exists(),
            "{side} left beside the database: the next command would read through it"
        );
    }
}

/// A launch and an audit walk the base a page at a time; a preview or an answer reads
/// one contact. Both must read every field the same.
#[tokio::test]
async fn walking_the_base_reads_contacts_as_looking_them_up_does() {
    let sb = Sandbox::new();
    sb.ok(&["import", examples().to_str().unwrap()]);
    let store = sb.store().await;
    let mut pages = store.contacts(7);
    let mut seen = 0;
    while let Some(page) = pages.recv().await {
        let page = page.unwrap();
        assert!(page.len() <= 7);
        for walked in page {
            let looked_up = store
                .contact_by_key(walked.contact.email.key())
                .await
                .unwrap()
                .unwrap();
            assert_eq!(walked.id, looked_up.id);
            assert_eq!(walked.public_id, looked_up.public_id);
            assert_eq!(walked.contact, looked_up.contact);
            seen += 1;
        }
    }
    assert_eq!(seen, 300);
}

#[test]
fn example_base_audits_into_every_class() {
    let sb = Sandbox::new();
    let report = sb.json(&["import", examples().to_str().unwrap()]);
    assert_eq!(report["inserted"], 300);
    assert_eq!(report["invalid"], json!([]));
    assert_eq!(report["refused_tombstoned"], 0);
    let audit = sb.json(&["audit"]);
    assert_eq!(audit["total"], 300);
    // The generator's own classifier (scripts/make-example-contacts.py) built the file to these numbers.
    assert_eq!(
        audit["classes"],
        json!({"valid": 45, "stale": 30, "weak": 90, "soft_opt_in": 45, "no_basis": 60, "withdrawn": 30})
    );
    assert_eq!(
        audit["by_country"]["PL"]["soft_opt_in"], 0,
        "PL has no soft opt-in"
    );
    let per_country: u64 = audit["by_country"]
        .as_object()
        .unwrap()
        .values()
        .flat_map(|m| m.as_object().unwrap().values())
        .map(|n| n.as_u64().unwrap())
        .sum();
    assert_eq!(per_country, 300);
}

#[test]
fn explain_names_the_rule() {
    let sb = Sandbox::new();
    sb.ok(&["import", examples().to_str().unwrap()]);
    let cases = [
        (
            "lukasz.wrobel@example.pl",
            "no_basis",
            false,
            "PL: no soft opt-in for e-mail (PKE art. 398)",
        ),
        (
            "lubica.stastna@example.sk",
            "soft_opt_in",
            true,
            "act 452/2021 §116",
        ),
        (
            "stefan.hudak@example.sk",
            "no_basis",
            false,
            "older than the soft opt-in window of 1y",
        ),
        (
            "jiri.dvorak@example.cz",
            "weak",
            true,
            "before GDPR applied (2018-05-25)",
        ),
        ("zofia.zolkiewska@żółw.example", "weak", true, "pre-ticked"),
        (
            "katharina.schaefer@example.de",
            "valid",
            false,
            "the later consent stands",
        ),
        (
            "malgorzata.nowak@example.pl",
            "withdrawn",
            false,
            "withdrew",
        ),
        (
            "bjoern.krueger@example.de",
            "stale",
            true,
            "inactive for more than 3y",
        ),
        // Any case and whitespace, and the ASCII form of an internationalised domain.
        (
            "  JANA.novakova@example.cz ",
            "valid",
            false,
            "GDPR-grade consent",
        ),
        (
            "juergen.weiss@xn--bcher-kva.example",
            "weak",
            true,
            "bundled",
        ),
    ];
    for (email, class, eligible, reason) in cases {
        let v = sb.json(&["explain", email]);
        assert_eq!(v["class"], class, "{email}: {v}");
        assert_eq!(v["eligible"], eligible, "{email}");
        let reasons = v["reasons"].as_array().unwrap();
        assert!(
            reasons.iter().any(|r| r.as_str().unwrap().contains(reason)),
            "{email}: no reason with {reason:?} in {reasons:?}"
        );
        for key in ["email", "country", "class", "eligible", "reasons"] {
            assert!(v.get(key).is_some(), "{email}: no {key}");
        }
    }
    let human = sb.ok(&["explain", "lukasz.wrobel@example.pl"]).stdout;
    assert!(
        human.contains("must NOT be e-mailed") && human.contains("PKE art. 398"),
        "{human}"
    );
    let missing = sb.run(&["explain", "nobody@example.com"]);
    assert_eq!(missing.code, 1);
    assert!(
        missing
            .stderr
            .contains("no contact with the address nobody@example.com")
    );
}

#[test]
fn one_bad_row_refuses_the_whole_file() {
    let sb = Sandbox::new();
    sb.ok(&["import", examples().to_str().unwrap()]);
    let before = sb.json(&["audit"]);
    let mut csv = rows(1000);
    csv = csv.replace("user500@example.com", "not-an-address");
    let file = sb.write("contacts.csv", &csv);
    let out = sb.run(&["import", file.to_str().unwrap()]);
    assert_eq!(out.code, 1, "{}", out.stdout);
    // The header is line 1, so user500 is on line 501.
    assert!(
        out.stderr.contains("line 501: email: 'not-an-address'"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("Nothing was written"), "{}", out.stderr);
    assert_eq!(
        sb.json(&["audit"]),
        before,
        "the database must be unchanged"
    );

    let json_out = sb.run(&["import", file.to_str().unwrap(), "--json"]);
    assert_eq!(json_out.code, 1);
    let v: serde_json::Value = serde_json::from_str(&json_out.stdout).unwrap();
    assert_eq!(v["inserted"], 0);
    assert_eq!(v["invalid"][0]["line"], 501);

    let skipped = sb.json(&["import", file.to_str().unwrap(), "--skip-invalid"]);
    assert_eq!(skipped["inserted"], 999);
    assert_eq!(
        skipped["invalid"],
        json!([{"line": 501, "error": "email: 'not-an-address' is not an e-mail address (it needs exactly one @)"}])
    );
    assert_eq!(sb.json(&["audit"])["total"], 1299);
}

#[test]
fn every_bad_line_is_listed() {
    let sb = Sandbox::new();
    let csv = format!(
        "{HEADER}\nok@example.com,,,,,,,,,,,,,,,\nbad@,,,,,,,,,,,,,,,\nx@example.com,,xx1,POL,maybe,2024-13-01,,,fax,yes,,,999.1.1.1,,,\n"
    );
    let file = sb.write("c.csv", csv);
    let out = sb.run(&["import", file.to_str().unwrap()]);
    assert_eq!(out.code, 1);
    for fragment in [
        "line 3: email: 'bad@'",
        "line 4: locale: 'xx1'",
        "country: 'POL'",
        "customer: 'maybe' is not true or false",
        "last_purchase_at: '2024-13-01' is not a date",
        "consent_method: 'fax' is not a method",
        "consent_ip: '999.1.1.1' is not an IP address",
    ] {
        assert!(
            out.stderr.contains(fragment),
            "no {fragment:?} in {}",
            out.stderr
        );
    }
    assert!(!out.stderr.contains("line 2:"));
}

#[test]
fn dry_run_counts_and_writes_nothing() {
    let sb = Sandbox::new();
    let file = sb.write("c.csv", rows(20));
    let v = sb.json(&["import", file.to_str().unwrap(), "--dry-run"]);
    assert_eq!(v["inserted"], 20);
    assert_eq!(v["written"], false);
    assert_eq!(sb.json(&["audit"])["total"], 0);
}

#[test]
fn duplicates_merge_with_a_warning_naming_both_lines() {
    let sb = Sandbox::new();
    let csv = format!(
        "{HEADER}\nJan.Kowalski@example.pl,Jan Kowalski,pl,,,,,,,,,,,,,\nanna@example.pl,Anna,,,,,,,,,,,,,,\n  jan.kowalski@EXAMPLE.pl ,,,PL,true,2026-01-05,,,,,,,,,,\n"
    );
    let file = sb.write("c.csv", csv);
    let out = sb.run(&["import", file.to_str().unwrap(), "--json"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(v["inserted"], 2);
    assert_eq!(v["merged_duplicates"], 1);
    assert!(
        out.stderr.contains("line 4: same address as line 2"),
        "{}",
        out.stderr
    );
    let jan = sb.json(&["explain", "jan.kowalski@example.pl"]);
    assert_eq!(jan["country"], "PL", "the later row's country is merged in");
    assert_eq!(jan["class"], "no_basis");
}

#[test]
fn reimport_updates_only_what_changed() {
    let sb = Sandbox::new();
    let file = sb.write("c.csv", rows(10));
    assert_eq!(sb.json(&["import", file.to_str().unwrap()])["inserted"], 10);
    let again = sb.json(&["import", file.to_str().unwrap()]);
    assert_eq!(
        (again["inserted"].clone(), again["unchanged"].clone()),
        (json!(0), json!(10))
    );
    // user3 withdraws in the shop; the export leaves the other cells empty.
    let update = format!("{HEADER}\nUSER3@example.com,,,,,,,,,,,,,,2026-11-01,\n");
    let file = sb.write("u.csv", update);
    let v = sb.json(&["import", file.to_str().unwrap()]);
    assert_eq!(
        (v["updated"].clone(), v["inserted"].clone()),
        (json!(1), json!(0))
    );
    let user3 = sb.json(&["explain", "user3@example.com"]);
    assert_eq!(user3["class"], "withdrawn");
    assert_eq!(user3["country"], "PL", "empty cells keep what was known");
}

#[test]
fn csv_dialects_are_read() {
    let sb = Sandbox::new();
    // Semicolons, a BOM, CRLF, quotes with an embedded separator, quote and newline, columns in another order.
    let csv = "\u{FEFF}name;email;country\r\n\"Nowak; Anna\";anna@example.pl;PL\r\n\"Jan \"\"JK\"\"\r\nKowalski\";jan@example.pl;pl\r\n;ewa@example.sk;SK\r\n";
    let file = sb.write("excel.csv", csv);
    let v = sb.json(&["import", file.to_str().unwrap()]);
    assert_eq!(v["inserted"], 3, "{v}");
    assert_eq!(sb.json(&["explain", "jan@example.pl"])["country"], "PL");
    assert_eq!(sb.json(&["audit"])["by_country"]["SK"]["no_basis"], 1);
}

#[test]
fn json_lines_are_read() {
    let sb = Sandbox::new();
    let jsonl = r#"{"email":"a@example.de","country":"DE","customer":true,"last_purchase_at":"2026-02-01"}

{"email":"b@example.de","consent_at":"2025-01-01T00:00:00Z","consent_method":"double_opt_in","consent_prechecked":false,"consent_bundled":false,"consent_text_version":"v3","shop_id":17}
{"email":"broken@example.de",
"#;
    let file = sb.write("c.jsonl", jsonl);
    let out = sb.run(&["import", file.to_str().unwrap()]);
    assert_eq!(out.code, 1);
    assert!(
        out.stderr.contains("line 4: not a JSON object"),
        "{}",
        out.stderr
    );
    let out = sb.run(&["import", file.to_str().unwrap(), "--skip-invalid", "--json"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stderr.contains("shop_id"),
        "unknown keys are named: {}",
        out.stderr
    );
    assert_eq!(
        sb.json(&["explain", "a@example.de"])["class"],
        "soft_opt_in"
    );
    assert_eq!(sb.json(&["explain", "b@example.de"])["class"], "valid");
}

#[test]
fn malformed_files_get_clear_messages() {
    let sb = Sandbox::new();
    let mut bad_utf8 = format!("{HEADER}\nok@example.com,,,,,,,,,,,,,,,\n").into_bytes();
    bad_utf8.extend_from_slice(b"x@example.com,Jos\xe9,,,,,,,,,,,,,,\n");
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("latin1.csv", bad_utf8, "line 3: name: not valid UTF-8"),
        (
            "pipes.csv",
            b"email|name\na@example.com|A\n".to_vec(),
            "line 1: the header has no 'email' column",
        ),
        ("empty.csv", b"".to_vec(), "is empty"),
        (
            "quotes.csv",
            format!("{HEADER}\n\"a@example.com,A,,,,,,,,,,,,,,\nb@example.com,,,,,,,,,,,,,,,\n")
                .into_bytes(),
            "line 2: a quote opens here and is never closed",
        ),
        (
            "twice.csv",
            b"email,name,email\n".to_vec(),
            "the column 'email' appears twice",
        ),
    ];
    for (name, content, fragment) in cases {
        let file = sb.write(name, content);
        let out = sb.run(&["import", file.to_str().unwrap()]);
        assert_eq!(out.code, 1, "{name}");
        assert!(
            out.stderr.contains(fragment),
            "{name}: no {fragment:?} in {}",
            out.stderr
        );
    }
    let missing = sb.run(&["import", "nope.csv"]);
    assert_eq!(missing.code, 1);
    assert!(missing.stderr.contains("cannot open nope.csv"));
    assert_eq!(sb.json(&["audit"])["total"], 0);
}

#[test]
fn ignored_columns_are_named() {
    let sb = Sandbox::new();
    let file = sb.write("c.csv", "email,shoe_size\na@example.com,44\n");
    let out = sb.run(&["import", file.to_str().unwrap()]);
    assert_eq!(out.code, 0);
    assert!(
        out.stderr
            .contains("ignored columns not among the import columns: shoe_size"),
        "{}",
        out.stderr
    );
}

#[test]
fn usage_errors_exit_2_and_bad_configuration_exit_1() {
    let sb = Sandbox::new();
    assert_eq!(sb.run(&["import"]).code, 2);
    assert_eq!(sb.run(&["frobnicate"]).code, 2);
    assert_eq!(sb.run(&["audit", "--now", "last tuesday"]).code, 2);
    sb.write("reconsent.toml", "transprot = \"smtp://x\"\n");
    let out = sb.run(&["audit"]);
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("transprot"), "{}", out.stderr);
    let out = sb.run(&["audit", "--json"]);
    let v: serde_json::Value =
        serde_json::from_str(&out.stdout).expect("--json errors are JSON too");
    assert!(v["error"].as_str().unwrap().contains("transprot"));
}

#[test]
fn policy_overrides_from_file_and_environment() {
    let sb = Sandbox::new();
    sb.ok(&["import", examples().to_str().unwrap()]);
    // A policy file that gives PL a soft opt-in (e.g. counsel's reading for a B2B shop).
    sb.write(
        "reconsent.toml",
        "[policy.countries.PL]\nsoft_opt_in = true\nrule = \"counsel opinion 2026-03\"\n",
    );
    let audit = sb.json(&["audit"]);
    assert!(audit["by_country"]["PL"]["soft_opt_in"].as_u64().unwrap() > 0);
    let v = sb.json(&["explain", "lukasz.wrobel@example.pl"]);
    assert_eq!(v["class"], "soft_opt_in");
    assert!(v["reasons"].to_string().contains("counsel opinion 2026-03"));
    // The environment overrides the file.
    let out = sb
        .cmd()
        .args(["explain", "lukasz.wrobel@example.pl", "--json"])
        .env("RECONSENT__POLICY__COUNTRIES__PL__SOFT_OPT_IN", "false")
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["class"], "no_basis");
}

#[test]
fn now_moves_the_audit_in_time() {
    let sb = Sandbox::new();
    sb.ok(&["import", examples().to_str().unwrap()]);
    // A year on, last year's soft opt-ins in SK have run out and more consents are stale.
    let later = sb.json(&["audit", "--now", "2027-11-22"]);
    let now = sb.json(&["audit"]);
    assert!(later["classes"]["soft_opt_in"].as_u64() < now["classes"]["soft_opt_in"].as_u64());
    assert!(later["classes"]["stale"].as_u64() > now["classes"]["stale"].as_u64());
}

#[test]
fn a_quote_left_open_refuses_the_file_naming_its_line() {
    let sb = Sandbox::new();
    sb.ok(&["import", sb.write("base.csv", rows(5)).to_str().unwrap()]);
    // With two columns the open quote swallowed the next rows into one name, silently.
    let cases = [
        (
            "email,name\na@example.com,\"Anna\nb@example.com,Bob\nc@example.com,Cy\n",
            "line 2: a quote opens here and is never closed",
        ),
        (
            "email;name\r\na@example.com;\"Nowak; Anna\"\r\nb@example.com;\"Bob \"\"B\"\"\r\nMulti\"\r\nc@example.com;Say \"hi\r\nd@example.com;\"Dee\r\ne@example.com;Eve\r\n",
            "line 6: a quote opens here and is never closed",
        ),
    ];
    for (csv, message) in cases {
        let file = sb.write("open.csv", csv);
        let out = sb.run(&["import", file.to_str().unwrap()]);
        assert_eq!(out.code, 1, "{csv:?}: {}", out.stdout);
        assert!(out.stderr.contains(message), "{csv:?}: {}", out.stderr);
        assert_eq!(sb.json(&["audit"])["total"], 5, "nothing written");
    }
    // Closed quotes, with quotes inside cells that do not open a quoted cell, read fine.
    let file = sb.write(
        "closed.csv",
        "email,name\na@example.com,\"Anna\nSecond line\"\nb@example.com,Say \"hi\nc@example.com,5\" screen\n",
    );
    let v = sb.json(&["import", file.to_str().unwrap()]);
    assert_eq!(v["inserted"], 3, "{v}");
}

#[test]
fn overlong_cells_are_refused_naming_line_and_column() {
    let sb = Sandbox::new();
    let l = |c: &str, n: usize| c.repeat(n);
    let long_address = format!(
        "{}@{}.{}.{}.ex.com",
        l("a", 64),
        l("b", 60),
        l("c", 60),
        l("d", 61)
    );
    assert_eq!(long_address.len(), 255);
    let csv = format!(
        "{HEADER}\nok@example.com,,,,,,,,,,,,,,,\nbig@example.com,{},,,,,,,,,,,,,,\n{long_address},,,,,,,,,,,,,,,\nsrc@example.com,,,,,,,,,,,,,{},,\n",
        "N".repeat(200_000),
        "s".repeat(1_001),
    );
    let file = sb.write("big.csv", csv);
    let out = sb.run(&["import", file.to_str().unwrap()]);
    assert_eq!(out.code, 1);
    for fragment in [
        "line 3: name: 200000 characters, more than the 200 it may have",
        "line 4: email: '",
        "is too long for an e-mail address (255 bytes; at most 254)",
        "line 5: consent_source: 1001 characters, more than the 1000 it may have",
    ] {
        assert!(
            out.stderr.contains(fragment),
            "no {fragment:?} in {}",
            out.stderr
        );
    }
    assert!(
        out.stderr.len() < 10_000,
        "the 200 KB name is not echoed back"
    );
    assert_eq!(sb.json(&["audit"])["total"], 0);
}

#[test]
fn a_column_almost_named_like_an_import_column_is_refused() {
    let sb = Sandbox::new();
    let cases = [
        (
            "c.csv",
            "email,name,consent_withdrawn\na@example.com,A,2026-01-01\n".to_string(),
            "line 1: unknown column 'consent_withdrawn' — did you mean 'consent_withdrawn_at'?",
        ),
        (
            "d.csv",
            "email_address;name\na@example.com;A\n".to_string(),
            "line 1: unknown column 'email_address' — did you mean 'email'?",
        ),
        (
            "e.csv",
            "email,consent_date\na@example.com,2024-01-01\n".to_string(),
            "did you mean 'consent_at'?",
        ),
        (
            "f.jsonl",
            "{\"email\":\"a@example.com\"}\n{\"email\":\"b@example.com\",\"consent_withdrawn\":\"2026-01-01\"}\n"
                .to_string(),
            "line 2: unknown column 'consent_withdrawn' — did you mean 'consent_withdrawn_at'?",
        ),
    ];
    for (name, content, message) in cases {
        let file = sb.write(name, content);
        for extra in [None, Some("--skip-invalid")] {
            let mut args = vec!["import", file.to_str().unwrap()];
            args.extend(extra);
            let out = sb.run(&args);
            assert_eq!(out.code, 1, "{name} {extra:?}: {}", out.stdout);
            assert!(out.stderr.contains(message), "{name}: {}", out.stderr);
        }
    }
    assert_eq!(sb.json(&["audit"])["total"], 0, "nothing written");
}

#[test]
fn dates_outside_what_a_base_can_mean_are_refused() {
    let sb = Sandbox::new();
    let consent = "double_opt_in,false,false,nl-1";
    let csv = format!(
        "{HEADER}\n\
         future@example.de,,,DE,,,,9999-12-31,{consent},,,,\n\
         old@example.de,,,DE,true,1970-01-01,,,,,,,,,,\n\
         skew@example.de,,,DE,,,,2026-11-22T00:04:00Z,{consent},,,,\n\
         ahead@example.de,,,DE,,,2026-11-22T00:05:01Z,,,,,,,,,\n\
         gone@example.de,,,DE,,,,,,,,,,,2027-01-01,\n"
    );
    let file = sb.write("dates.csv", csv);
    let out = sb.run(&["import", file.to_str().unwrap()]);
    assert_eq!(out.code, 1);
    for fragment in [
        "line 2: consent_at: '9999-12-31' is in the future",
        "line 3: last_purchase_at: '1970-01-01' is before 1990-01-01",
        "line 5: last_activity_at: '2026-11-22T00:05:01Z' is in the future",
        "line 6: consent_withdrawn_at: '2027-01-01' is in the future",
    ] {
        assert!(
            out.stderr.contains(fragment),
            "no {fragment:?} in {}",
            out.stderr
        );
    }
    assert!(
        !out.stderr.contains("line 4:"),
        "within the clock skew: {}",
        out.stderr
    );
    assert_eq!(sb.json(&["audit"])["total"], 0);
}

/// A consent dated 9999-12-31 cannot make a contact valid, undo a withdrawal, or bring
/// an erased address back.
#[test]
fn a_consent_dated_9999_changes_nothing() {
    let sb = Sandbox::new();
    let consent = "double_opt_in,false,false,nl-1";
    let base = format!(
        "{HEADER}\nsaid.no@example.de,,,DE,,,,2024-01-01,{consent},,,2026-01-01,\nerased@example.de,,,DE,,,,2024-01-01,{consent},,,,\n"
    );
    sb.ok(&["import", sb.write("base.csv", base).to_str().unwrap()]);
    sb.ok(&["forget", "erased@example.de"]);
    for email in ["new@example.de", "said.no@example.de", "erased@example.de"] {
        let row = format!("{HEADER}\n{email},,,DE,,,,9999-12-31T00:00:00Z,{consent},,,,\n");
        let out = sb.run(&["import", sb.write("late.csv", row).to_str().unwrap()]);
        assert_eq!(out.code, 1, "{email}: {}", out.stdout);
        assert!(
            out.stderr
                .contains("line 2: consent_at: '9999-12-31T00:00:00Z' is in the future"),
            "{email}: {}",
            out.stderr
        );
    }
    assert_eq!(
        sb.json(&["explain", "said.no@example.de"])["class"],
        "withdrawn"
    );
    assert_eq!(sb.run(&["explain", "new@example.de"]).code, 1);
    let erased = sb.run(&["explain", "erased@example.de"]);
    assert!(
        erased.stderr.contains("only a tombstone remains"),
        "{}",
        erased.stderr
    );
    assert_eq!(sb.json(&["audit"])["total"], 1);
}

#[test]
fn a_later_consent_that_is_not_proven_leaves_a_withdrawal_standing() {
    let sb = Sandbox::new();
    let csv = format!(
        "{HEADER}\n\
         unknown.method@example.de,,,DE,,,,2026-06-01,unknown,false,false,nl-1,,,2026-01-01,\n\
         proven@example.de,,,DE,,,,2026-06-01,double_opt_in,false,false,nl-1,,,2026-01-01,\n"
    );
    sb.ok(&["import", sb.write("c.csv", csv).to_str().unwrap()]);
    let v = sb.json(&["explain", "unknown.method@example.de"]);
    assert_eq!(v["class"], "withdrawn", "{v}");
    assert_eq!(v["eligible"], false);
    let reasons = v["reasons"].to_string();
    for fragment in [
        "withdrew or objected on 2026-01-01",
        "a consent of 2026-06-01 came after the withdrawal but is not proven",
        "the method of consent is unknown",
    ] {
        assert!(reasons.contains(fragment), "no {fragment:?} in {reasons}");
    }
    let v = sb.json(&["explain", "proven@example.de"]);
    assert_eq!(v["class"], "valid", "{v}");
    assert!(
        v["reasons"]
            .to_string()
            .contains("the later consent stands")
    );
}

/// Cells quoted in errors, ledger details and warnings are shown with their control and
/// invisible characters escaped: a crafted file cannot drive the marketer's terminal.
#[test]
fn user_text_cannot_drive_the_terminal() {
    let sb = Sandbox::new();
    let csv = format!(
        "{HEADER}\n\
         ok@example.de,,,DE,,,,2026-06-01,double_opt_in,false,false,nl-1,,form\u{202e}gnp.exe,,\n\
         \"x\u{1b}[2J@example.de\",,,,,,,,,,,,,,,\n\
         y@example.de,,,\"\u{1b}]0;owned\u{7}\",,,,,,,,,,,,\n"
    );
    let file = sb.write("crafted.csv", csv);
    let out = sb.run(&["import", file.to_str().unwrap()]);
    assert_eq!(out.code, 1);
    assert!(
        !out.stderr.contains(['\u{1b}', '\u{7}', '\u{202e}']),
        "{:?}",
        out.stderr
    );
    for shown in ["x\\u{1b}[2J@example.de", "'\\u{1b}]0;owned\\u{7}'"] {
        assert!(out.stderr.contains(shown), "no {shown:?} in {}", out.stderr);
    }
    sb.ok(&["import", file.to_str().unwrap(), "--skip-invalid"]);
    let human = sb.ok(&["evidence", "ok@example.de"]).stdout;
    assert!(!human.contains('\u{202e}'), "{human:?}");
    assert!(human.contains("form\\u{202e}gnp.exe"), "{human}");
    let raw = sb.ok(&["evidence", "ok@example.de", "--json"]).stdout;
    assert!(!raw.contains('\u{202e}'), "{raw:?}");
    let v: serde_json::Value = serde_json::from_str(&raw).expect("still JSON");
    assert!(v.to_string().contains("form\u{202e}gnp.exe"), "{v}");
}

/// `reconsent … | head -c 10`: the reader goes away; the command must not panic.
#[test]
fn a_closed_pipe_is_not_a_crash() {
    let sb = Sandbox::new();
    sb.ok(&["import", examples().to_str().unwrap()]);
    // 5,000 invalid rows make a report of about half a megabyte, far past a pipe's buffer.
    let mut csv = String::from("email,name\n");
    for i in 0..5_000 {
        csv.push_str(&format!("bad{i},Name {i}\n"));
    }
    let bad = sb.write("bad.csv", csv);
    let bad = bad.to_str().unwrap();
    let commands: [&[&str]; 6] = [
        &["import", bad, "--dry-run", "--json"],
        &["import", bad, "--dry-run"],
        &["audit", "--json"],
        &["audit"],
        &["explain", "lukasz.wrobel@example.pl"],
        &["evidence", "lukasz.wrobel@example.pl", "--json"],
    ];
    for args in commands {
        let mut child = sb
            .process()
            .args(args)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("run reconsent");
        drop(child.stdout.take());
        let out = child.wait_with_output().expect("wait for reconsent");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        assert_ne!(out.status.code(), Some(101), "{args:?}: {stderr}");
    }
    assert_eq!(sb.json(&["audit"])["total"], 300);
}

#[test]
fn an_address_is_kept_in_its_nfkc_form() {
    let sb = Sandbox::new();
    let csv = format!("{HEADER}\nｊａｎ＠ｅｘａｍｐｌｅ．ｐｌ,Jan,,PL,,,,,,,,,,,,\n");
    sb.ok(&["import", sb.write("wide.csv", csv).to_str().unwrap()]);
    let v = sb.json(&["explain", "JAN@example.pl"]);
    assert_eq!(v["email"], "jan@example.pl", "{v}");
}
