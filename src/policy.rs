//! Who may be asked again: classification of a contact for the purpose "e-mail
//! marketing" (DESIGN §2.1–2.3). Pure functions over a contact, a policy and an instant.

use crate::domain::{ConsentMethod, ConsentRecord, Contact, Country, Instant, Span, parse_instant};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ContactClass {
    Valid,
    Stale,
    Weak,
    SoftOptIn,
    NoBasis,
    Withdrawn,
}

impl ContactClass {
    pub const ALL: [ContactClass; 6] = [
        Self::Valid,
        Self::Stale,
        Self::Weak,
        Self::SoftOptIn,
        Self::NoBasis,
        Self::Withdrawn,
    ];

    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Valid => "valid",
            Self::Stale => "stale",
            Self::Weak => "weak",
            Self::SoftOptIn => "soft_opt_in",
            Self::NoBasis => "no_basis",
            Self::Withdrawn => "withdrawn",
        }
    }

    pub fn parse(input: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == input.trim())
    }

    /// May this contact be sent a re-permission request? A request is itself marketing,
    /// so only contacts with some lawful basis to write to them qualify; `valid` ones
    /// need no request.
    pub fn eligible(&self) -> bool {
        matches!(self, Self::Stale | Self::Weak | Self::SoftOptIn)
    }
}

impl fmt::Display for ContactClass {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A country's rule for e-mail marketing to existing customers without consent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CountryRule {
    pub soft_opt_in: bool,
    /// A window shorter than the policy's `soft_opt_in_window`, if the country sets one.
    #[serde(default)]
    pub window: Option<Span>,
    /// The legal source, named in every explanation.
    pub rule: String,
}

/// The policy applied: defaults from DESIGN §2.3, overridable in `[policy]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Policy {
    pub inactive_after: Span,
    pub soft_opt_in_window: Span,
    /// The rule for countries not listed (other EU, unknown).
    pub default_country: CountryRule,
    pub countries: BTreeMap<String, CountryRule>,
}

impl Default for Policy {
    fn default() -> Self {
        let rule = |soft_opt_in, window: Option<Span>, rule: &str| CountryRule {
            soft_opt_in,
            window,
            rule: rule.to_string(),
        };
        let countries = [
            ("PL", rule(false, None, "PKE art. 398")),
            (
                "SK",
                rule(true, Some(Span::Months(12)), "act 452/2021 §116"),
            ),
            ("CZ", rule(true, None, "act 480/2004 §7")),
            ("DE", rule(true, None, "UWG §7(3)")),
            ("GB", rule(true, None, "PECR reg. 22(3)")),
        ];
        Policy {
            inactive_after: Span::years(3),
            soft_opt_in_window: Span::years(3),
            default_country: rule(true, None, "ePrivacy Art. 13(2)"),
            countries: countries
                .into_iter()
                .map(|(c, r)| (c.to_string(), r))
                .collect(),
        }
    }
}

/// The class and every reason that decided it, each naming its rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Classification {
    pub class: ContactClass,
    pub reasons: Vec<String>,
}

impl Classification {
    pub fn eligible(&self) -> bool {
        self.class.eligible()
    }
}

fn gdpr_date() -> Instant {
    parse_instant("2018-05-25").unwrap_or_default()
}

fn day(t: Instant) -> String {
    t.format("%Y-%m-%d").to_string()
}

impl Policy {
    /// Checks the overrides a user wrote: country keys must be country codes.
    pub fn validate(&self) -> Result<(), String> {
        for key in self.countries.keys() {
            let c = Country::parse(key).map_err(|e| format!("policy.countries: {e}"))?;
            if c.as_str() != key {
                return Err(format!("policy.countries: write '{key}' as '{c}'"));
            }
        }
        Ok(())
    }

    /// A short fingerprint of the policy in force, recorded with every ledger entry so
    /// a decision can be traced to the rules that made it.
    pub fn version(&self) -> String {
        let json = serde_json::to_vec(self).unwrap_or_default();
        format!("policy-{}", &hex::encode(Sha256::digest(&json))[..12])
    }

    fn rule_for(&self, country: Option<Country>) -> (String, &CountryRule) {
        match country.and_then(|c| self.countries.get(c.as_str()).map(|r| (c, r))) {
            Some((c, r)) => (c.to_string(), r),
            None => {
                let label = country.map_or("unknown country".to_string(), |c| {
                    format!("{c} (no specific rule)")
                });
                (label, &self.default_country)
            }
        }
    }

    pub fn classify(&self, c: &Contact, now: Instant) -> Classification {
        let mut reasons = Vec::new();
        let consent = &c.consent;
        if let Some(w) = consent.withdrawn_at {
            match later_consent_overrides(consent, w, now) {
                Ok(at) => reasons.push(format!(
                    "withdrawal on {} predates the consent of {}: the later consent stands (GDPR Art. 7(3))",
                    day(w),
                    day(at)
                )),
                Err(why) => {
                    reasons.push(format!(
                        "withdrew or objected on {}: never e-mail again, keep suppressed (GDPR Art. 7(3), Art. 21(3))",
                        day(w)
                    ));
                    reasons.extend(why);
                    return Classification {
                        class: ContactClass::Withdrawn,
                        reasons,
                    };
                }
            }
        }
        if consent.exists() {
            return self.classify_consent(c, now, reasons);
        }
        reasons.push("no consent on record".to_string());
        self.classify_soft_opt_in(c, now, reasons)
    }

    fn classify_consent(
        &self,
        c: &Contact,
        now: Instant,
        mut reasons: Vec<String>,
    ) -> Classification {
        let defects = consent_defects(&c.consent);
        if !defects.is_empty() {
            reasons.extend(defects);
            return Classification {
                class: ContactClass::Weak,
                reasons,
            };
        }
        let consent = &c.consent;
        reasons.push(format!(
            "GDPR-grade consent: {} on {}, not pre-ticked, not bundled, wording '{}' on record (GDPR Art. 4(11), 7(1))",
            consent.method.map_or("", |m| m.as_str()),
            consent.at.map(day).unwrap_or_default(),
            consent.text_version.as_deref().unwrap_or_default(),
        ));
        let activity = c.last_activity().unwrap_or(now);
        let class = if activity < self.inactive_after.before(now) {
            reasons.push(format!(
                "last activity on {}: inactive for more than {} (policy inactive_after)",
                day(activity),
                self.inactive_after
            ));
            ContactClass::Stale
        } else {
            reasons.push(format!(
                "last activity on {}: within {} (policy inactive_after)",
                day(activity),
                self.inactive_after
            ));
            ContactClass::Valid
        };
        Classification { class, reasons }
    }

    fn classify_soft_opt_in(
        &self,
        c: &Contact,
        now: Instant,
        mut reasons: Vec<String>,
    ) -> Classification {
        let (label, rule) = self.rule_for(c.country);
        let no_basis = |mut reasons: Vec<String>, why: String| {
            reasons.push(why);
            Classification {
                class: ContactClass::NoBasis,
                reasons,
            }
        };
        if !rule.soft_opt_in {
            return no_basis(
                reasons,
                format!("{label}: no soft opt-in for e-mail ({})", rule.rule),
            );
        }
        if !c.is_customer() {
            return no_basis(
                reasons,
                format!(
                    "not a customer: soft opt-in covers only earlier customers ({label}: {})",
                    rule.rule
                ),
            );
        }
        // The shorter of the policy's window and the country's own.
        let global_cutoff = self.soft_opt_in_window.before(now);
        let (window, cutoff) = match rule.window {
            Some(w) if w.before(now) > global_cutoff => (w, w.before(now)),
            _ => (self.soft_opt_in_window, global_cutoff),
        };
        match c.last_purchase_at {
            None => no_basis(
                reasons,
                format!(
                    "customer without a purchase date: the soft opt-in window of {window} cannot be shown ({label}: {})",
                    rule.rule
                ),
            ),
            Some(p) if p < cutoff => no_basis(
                reasons,
                format!(
                    "{label}: last purchase on {} is older than the soft opt-in window of {window} ({})",
                    day(p),
                    rule.rule
                ),
            ),
            Some(p) => {
                reasons.push(format!(
                    "{label}: soft opt-in for own similar products, last purchase on {} within {window} ({})",
                    day(p),
                    rule.rule
                ));
                Classification {
                    class: ContactClass::SoftOptIn,
                    reasons,
                }
            }
        }
    }
}

/// How far ahead of the clock a recorded time may be: the clocks of a shop and of this
/// machine differ by a little; a date further ahead is an error, not a fact.
pub const CLOCK_SKEW: chrono::Duration = chrono::Duration::minutes(5);

/// Whether `t` lies in the future of `now`, beyond the clock skew.
pub fn in_future(t: Instant, now: Instant) -> bool {
    t > now + CLOCK_SKEW
}

/// A withdrawal is undone only by a consent given after it that is itself GDPR-grade
/// and not dated in the future: a later consent nobody can prove would otherwise wipe
/// out the one fact that is certain, that the person said no. `Ok` holds the consent's
/// time; `Err` every reason the withdrawal stands.
fn later_consent_overrides(
    consent: &ConsentRecord,
    withdrawn: Instant,
    now: Instant,
) -> Result<Instant, Vec<String>> {
    let Some(at) = consent.at.filter(|at| *at > withdrawn) else {
        return Err(Vec::new());
    };
    let mut defects = consent_defects(consent);
    if in_future(at, now) {
        defects.insert(
            0,
            format!(
                "the consent is dated {}, in the future: a date not yet reached proves nothing",
                day(at)
            ),
        );
    }
    if defects.is_empty() {
        return Ok(at);
    }
    let mut why = vec![format!(
        "a consent of {} came after the withdrawal but is not proven, so the withdrawal stands (GDPR Art. 7(1), 7(3)):",
        day(at)
    )];
    why.extend(defects);
    Err(why)
}

/// Why a recorded consent is not GDPR-grade; empty when it is.
pub fn consent_defects(consent: &ConsentRecord) -> Vec<String> {
    let mut d = Vec::new();
    if consent.at.is_none() {
        d.push("the time of consent is not recorded (GDPR Art. 7(1))".to_string());
    }
    let proof = match consent.method {
        None | Some(ConsentMethod::Unknown) => Some(
            "the method of consent is unknown: no proof of an affirmative act (GDPR Art. 7(1))",
        ),
        Some(ConsentMethod::SingleOptIn) if consent.ip.is_none() || consent.source.is_none() => {
            Some("single opt-in without the IP address and source form: no proof (GDPR Art. 7(1))")
        }
        Some(_) => None,
    };
    d.extend(proof.map(str::to_string));
    match consent.prechecked {
        Some(false) => {}
        Some(true) => {
            d.push("the box was pre-ticked (GDPR Recital 32; CJEU C-673/17 Planet49)".to_string())
        }
        None => d.push(
            "not known whether the box was pre-ticked: not proven (GDPR Recital 32)".to_string(),
        ),
    }
    match consent.bundled {
        Some(false) => {}
        Some(true) => d.push(
            "consent was bundled with the terms (GDPR Art. 7(2), 7(4), Recital 43)".to_string(),
        ),
        None => d.push(
            "not known whether consent was bundled with the terms: not proven (GDPR Art. 7(4))"
                .to_string(),
        ),
    }
    if consent.text_version.is_none() {
        d.push(
            "the wording shown is not on record (no consent_text_version; GDPR Art. 7(1))"
                .to_string(),
        );
    }
    // Most pre-GDPR consents fail here (seed 002: "in 99% of cases"); say so, since a
    // marketer will ask why a consent they always counted on is weak.
    if let Some(at) = consent.at.filter(|at| *at < gdpr_date() && !d.is_empty()) {
        d.insert(
            0,
            format!(
                "consent given on {}, before GDPR applied (2018-05-25), without GDPR-grade proof",
                day(at)
            ),
        );
    }
    d
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{EmailAddress, parse_instant};
    use ContactClass::*;

    const NOW: &str = "2026-11-22T12:00:00Z";

    fn t(s: &str) -> Option<Instant> {
        Some(parse_instant(s).unwrap())
    }

    fn base(country: &str) -> Contact {
        let mut c = Contact::new(EmailAddress::parse("someone@example.com").unwrap());
        c.country = (!country.is_empty()).then(|| Country::parse(country).unwrap());
        c
    }

    /// A GDPR-grade double opt-in consent given on `at`.
    fn gdpr_consent(c: &mut Contact, at: &str) {
        c.consent = ConsentRecord {
            at: t(at),
            method: Some(ConsentMethod::DoubleOptIn),
            prechecked: Some(false),
            bundled: Some(false),
            text_version: Some("nl-2023-01".into()),
            ip: None,
            source: None,
            withdrawn_at: None,
        };
    }

    fn customer(c: &mut Contact, last_purchase: &str) {
        c.customer = Some(true);
        c.last_purchase_at = t(last_purchase);
    }

    type Case = (&'static str, fn(&mut Contact), ContactClass, &'static str);

    #[test]
    fn classes() {
        let cases: &[Case] = &[
            (
                "fresh double opt-in",
                |c| gdpr_consent(c, "2025-06-01"),
                Valid,
                "GDPR-grade consent",
            ),
            (
                "consent 2020, purchase last year keeps it valid",
                |c| {
                    gdpr_consent(c, "2020-01-01");
                    c.last_purchase_at = t("2025-12-01");
                },
                Valid,
                "within 3y",
            ),
            (
                "consent 2020, nothing since",
                |c| gdpr_consent(c, "2020-01-01"),
                Stale,
                "inactive for more than 3y",
            ),
            (
                "activity counts: opened a mail last month",
                |c| {
                    gdpr_consent(c, "2020-01-01");
                    c.last_activity_at = t("2026-10-01");
                },
                Valid,
                "2026-10-01",
            ),
            (
                "activity exactly 3 years ago is not yet stale",
                |c| gdpr_consent(c, "2023-11-22T12:00:00Z"),
                Valid,
                "within 3y",
            ),
            (
                "activity a second past 3 years is stale",
                |c| gdpr_consent(c, "2023-11-22T11:59:59Z"),
                Stale,
                "inactive",
            ),
            (
                "single opt-in with IP and form is proof",
                |c| {
                    gdpr_consent(c, "2024-01-01");
                    c.consent.method = Some(ConsentMethod::SingleOptIn);
                    c.consent.ip = Some("203.0.113.9".into());
                    c.consent.source = Some("checkout-form".into());
                },
                Valid,
                "single_opt_in",
            ),
            (
                "single opt-in without IP is weak",
                |c| {
                    gdpr_consent(c, "2024-01-01");
                    c.consent.method = Some(ConsentMethod::SingleOptIn);
                    c.consent.source = Some("checkout-form".into());
                },
                Weak,
                "without the IP address",
            ),
            (
                "pre-ticked box",
                |c| {
                    gdpr_consent(c, "2024-01-01");
                    c.consent.prechecked = Some(true);
                },
                Weak,
                "Planet49",
            ),
            (
                "pre-ticked unknown",
                |c| {
                    gdpr_consent(c, "2024-01-01");
                    c.consent.prechecked = None;
                },
                Weak,
                "not known whether the box was pre-ticked",
            ),
            (
                "bundled with terms",
                |c| {
                    gdpr_consent(c, "2024-01-01");
                    c.consent.bundled = Some(true);
                },
                Weak,
                "bundled with the terms",
            ),
            (
                "bundled unknown",
                |c| {
                    gdpr_consent(c, "2024-01-01");
                    c.consent.bundled = None;
                },
                Weak,
                "not known whether consent was bundled",
            ),
            (
                "wording not on record",
                |c| {
                    gdpr_consent(c, "2024-01-01");
                    c.consent.text_version = None;
                },
                Weak,
                "consent_text_version",
            ),
            (
                "method unknown",
                |c| {
                    gdpr_consent(c, "2024-01-01");
                    c.consent.method = Some(ConsentMethod::Unknown);
                },
                Weak,
                "method of consent is unknown",
            ),
            (
                "a method but no time",
                |c| {
                    gdpr_consent(c, "2024-01-01");
                    c.consent.at = None;
                },
                Weak,
                "time of consent is not recorded",
            ),
            (
                "the day before GDPR, single opt-in without proof",
                |c| {
                    gdpr_consent(c, "2018-05-24");
                    c.consent.method = Some(ConsentMethod::SingleOptIn);
                },
                Weak,
                "before GDPR applied (2018-05-25)",
            ),
            (
                "the day GDPR applied, same consent: weak for its proof only",
                |c| {
                    gdpr_consent(c, "2018-05-25");
                    c.consent.method = Some(ConsentMethod::SingleOptIn);
                    c.last_activity_at = t("2026-01-01");
                },
                Weak,
                "single opt-in without the IP",
            ),
            (
                "pre-GDPR double opt-in with full proof stands",
                |c| {
                    gdpr_consent(c, "2017-03-01");
                    c.last_purchase_at = t("2026-01-01");
                },
                Valid,
                "GDPR-grade",
            ),
            (
                "withdrawal after the consent wins",
                |c| {
                    gdpr_consent(c, "2024-01-01");
                    c.consent.withdrawn_at = t("2025-01-01");
                },
                Withdrawn,
                "withdrew or objected on 2025-01-01",
            ),
            (
                "withdrawal at the very time of the consent wins",
                |c| {
                    gdpr_consent(c, "2024-01-01");
                    c.consent.withdrawn_at = t("2024-01-01");
                },
                Withdrawn,
                "withdrew",
            ),
            (
                "consent given after a withdrawal stands",
                |c| {
                    gdpr_consent(c, "2025-01-01");
                    c.consent.withdrawn_at = t("2024-01-01");
                },
                Valid,
                "the later consent stands",
            ),
            (
                "a later consent of unknown method leaves the withdrawal standing",
                |c| {
                    gdpr_consent(c, "2025-01-01");
                    c.consent.method = Some(ConsentMethod::Unknown);
                    c.consent.withdrawn_at = t("2024-01-01");
                },
                Withdrawn,
                "a consent of 2025-01-01 came after the withdrawal but is not proven",
            ),
            (
                "a later pre-ticked consent leaves the withdrawal standing",
                |c| {
                    gdpr_consent(c, "2025-01-01");
                    c.consent.prechecked = Some(true);
                    c.consent.withdrawn_at = t("2024-01-01");
                },
                Withdrawn,
                "Planet49",
            ),
            (
                "a later single opt-in without proof leaves the withdrawal standing",
                |c| {
                    gdpr_consent(c, "2025-01-01");
                    c.consent.method = Some(ConsentMethod::SingleOptIn);
                    c.consent.withdrawn_at = t("2024-01-01");
                },
                Withdrawn,
                "single opt-in without the IP address",
            ),
            (
                "a later consent without its wording leaves the withdrawal standing",
                |c| {
                    gdpr_consent(c, "2025-01-01");
                    c.consent.text_version = None;
                    c.consent.withdrawn_at = t("2024-01-01");
                },
                Withdrawn,
                "not proven",
            ),
            (
                "a consent dated in the future does not undo a withdrawal",
                |c| {
                    gdpr_consent(c, "9999-12-31");
                    c.consent.withdrawn_at = t("2024-01-01");
                },
                Withdrawn,
                "in the future",
            ),
            (
                "a consent within the clock skew of now does undo a withdrawal",
                |c| {
                    gdpr_consent(c, "2026-11-22T12:04:00Z");
                    c.consent.withdrawn_at = t("2024-01-01");
                },
                Valid,
                "the later consent stands",
            ),
            (
                "a weak consent before the withdrawal: withdrawn, nothing to weigh",
                |c| {
                    gdpr_consent(c, "2023-01-01");
                    c.consent.method = Some(ConsentMethod::Unknown);
                    c.consent.withdrawn_at = t("2024-01-01");
                },
                Withdrawn,
                "withdrew or objected on 2024-01-01",
            ),
            (
                "objection without any consent",
                |c| c.consent.withdrawn_at = t("2022-05-05"),
                Withdrawn,
                "withdrew",
            ),
            (
                "withdrawn beats a soft opt-in",
                |c| {
                    customer(c, "2026-10-01");
                    c.consent.withdrawn_at = t("2026-10-02");
                },
                Withdrawn,
                "withdrew",
            ),
            ("nothing at all", |_| {}, NoBasis, "not a customer"),
        ];
        run(cases, "DE");
    }

    #[test]
    fn countries() {
        // (country, last purchase, class, reason fragment)
        let cases = [
            (
                "PL",
                "2026-10-01",
                NoBasis,
                "PL: no soft opt-in for e-mail (PKE art. 398)",
            ),
            (
                "SK",
                "2025-12-01",
                SoftOptIn,
                "SK: soft opt-in for own similar products",
            ),
            ("SK", "2025-11-22T12:00:00Z", SoftOptIn, "within 1y"),
            (
                "SK",
                "2025-11-01",
                NoBasis,
                "older than the soft opt-in window of 1y (act 452/2021 §116)",
            ),
            ("CZ", "2024-01-01", SoftOptIn, "act 480/2004 §7"),
            (
                "CZ",
                "2023-11-01",
                NoBasis,
                "older than the soft opt-in window of 3y",
            ),
            ("DE", "2025-01-01", SoftOptIn, "UWG §7(3)"),
            ("GB", "2025-01-01", SoftOptIn, "PECR reg. 22(3)"),
            (
                "AT",
                "2024-06-01",
                SoftOptIn,
                "AT (no specific rule): soft opt-in",
            ),
            ("AT", "2023-06-01", NoBasis, "ePrivacy Art. 13(2)"),
            ("", "2025-06-01", SoftOptIn, "unknown country"),
        ];
        let now = parse_instant(NOW).unwrap();
        let policy = Policy::default();
        for (country, purchase, class, fragment) in cases {
            let mut c = base(country);
            customer(&mut c, purchase);
            let got = policy.classify(&c, now);
            assert_eq!(got.class, class, "{country} {purchase}: {:?}", got.reasons);
            assert!(
                got.reasons.iter().any(|r| r.contains(fragment)),
                "{country} {purchase}: no reason with {fragment:?} in {:?}",
                got.reasons
            );
        }
    }

    #[test]
    fn customer_without_purchase_date_has_no_soft_opt_in() {
        let mut c = base("CZ");
        c.customer = Some(true);
        let got = Policy::default().classify(&c, parse_instant(NOW).unwrap());
        assert_eq!(got.class, NoBasis);
        assert!(
            got.reasons
                .iter()
                .any(|r| r.contains("without a purchase date"))
        );
    }

    #[test]
    fn overrides_change_the_outcome() {
        let mut policy = Policy::default();
        policy.countries.insert(
            "PL".into(),
            CountryRule {
                soft_opt_in: true,
                window: Some(Span::Months(6)),
                rule: "house counsel opinion 2026-01".into(),
            },
        );
        policy.inactive_after = Span::years(2);
        let now = parse_instant(NOW).unwrap();
        let mut c = base("PL");
        customer(&mut c, "2026-08-01");
        let got = policy.classify(&c, now);
        assert_eq!(got.class, SoftOptIn);
        assert!(
            got.reasons
                .iter()
                .any(|r| r.contains("house counsel opinion 2026-01"))
        );
        let mut d = base("DE");
        gdpr_consent(&mut d, "2024-06-01");
        assert_eq!(policy.classify(&d, now).class, Stale);
        assert_ne!(policy.version(), Policy::default().version());
    }

    #[test]
    fn a_country_window_longer_than_the_policy_window_does_not_extend_it() {
        let mut policy = Policy {
            soft_opt_in_window: Span::years(1),
            ..Default::default()
        };
        policy.countries.get_mut("SK").unwrap().window = Some(Span::years(5));
        let mut c = base("SK");
        customer(&mut c, "2025-06-01");
        assert_eq!(
            policy.classify(&c, parse_instant(NOW).unwrap()).class,
            NoBasis
        );
    }

    #[test]
    fn eligibility() {
        let eligible: Vec<_> = ContactClass::ALL
            .into_iter()
            .filter(ContactClass::eligible)
            .collect();
        assert_eq!(eligible, [Stale, Weak, SoftOptIn]);
    }

    fn run(cases: &[Case], country: &str) {
        let now = parse_instant(NOW).unwrap();
        let policy = Policy::default();
        for (name, setup, class, fragment) in cases {
            let mut c = base(country);
            setup(&mut c);
            let got = policy.classify(&c, now);
            assert_eq!(got.class, *class, "{name}: {:?}", got.reasons);
            assert!(
                got.reasons.iter().any(|r| r.contains(fragment)),
                "{name}: no reason with {fragment:?} in {:?}",
                got.reasons
            );
        }
    }
}
