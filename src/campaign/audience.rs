//! Who a campaign writes to: `[audience]` of a campaign file, and the pure rule that
//! applies it to one classified contact.
//!
//! ```toml
//! [audience]
//! classes = ["weak", "stale"]          # the default; soft_opt_in may be added
//! countries = ["PL", "SK"]             # empty or absent: every country
//! filters = { customer = true, locale = ["pl", "sk"] }
//! ```
//!
//! Filters over the import columns (all optional; a contact must pass every one given):
//!
//! | filter | passes when |
//! |---|---|
//! | `customer = true` / `false` | the contact is (not) a customer; an unknown `customer` counts as not |
//! | `locale = "pl"` or `["pl", "sk"]` | the contact's locale is one of these (unknown: fails) |
//! | `consent_method = [...]` | the consent method is one of these (`double_opt_in`, `single_opt_in`, `unknown`; no consent on record: fails) |
//! | `consent_source = [...]` | the consent source is exactly one of these (unknown: fails) |
//! | `last_purchase_after` / `last_purchase_before` = "YYYY-MM-DD" | the last purchase is on or after / before that date (none: fails) |
//! | `last_activity_after` / `last_activity_before` | the same for the latest sign of life (activity, purchase or consent) |
//!
//! `no_basis` and `withdrawn` contacts are never selected, whatever the file says: a
//! consent request is itself marketing (UK ICO fines against Flybe and Honda, 2017), and a
//! withdrawal must be respected. The legal rules are applied before the file's choices,
//! so an excluded contact is counted under its legal reason.

use crate::domain::{ConsentMethod, Contact, Country, Instant, Locale, parse_instant};
use crate::policy::{Classification, ContactClass};
use serde::{Deserialize, Deserializer};
use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Audience {
    #[serde(default = "default_classes")]
    pub classes: Vec<ContactClass>,
    #[serde(default, deserialize_with = "de_countries")]
    pub countries: Vec<Country>,
    #[serde(default)]
    pub filters: Filters,
}

impl Default for Audience {
    fn default() -> Self {
        Self {
            classes: default_classes(),
            countries: Vec::new(),
            filters: Filters::default(),
        }
    }
}

fn default_classes() -> Vec<ContactClass> {
    vec![ContactClass::Weak, ContactClass::Stale]
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Filters {
    pub customer: Option<bool>,
    #[serde(default, deserialize_with = "de_locales")]
    pub locale: Vec<Locale>,
    #[serde(default, deserialize_with = "de_methods")]
    pub consent_method: Vec<ConsentMethod>,
    #[serde(default, deserialize_with = "de_strings")]
    pub consent_source: Vec<String>,
    #[serde(default, deserialize_with = "de_date")]
    pub last_purchase_after: Option<Instant>,
    #[serde(default, deserialize_with = "de_date")]
    pub last_purchase_before: Option<Instant>,
    #[serde(default, deserialize_with = "de_date")]
    pub last_activity_after: Option<Instant>,
    #[serde(default, deserialize_with = "de_date")]
    pub last_activity_before: Option<Instant>,
}

/// Why a contact is not written to. The first that applies is given.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ExcludedReason {
    /// The law: no basis to write to this contact at all.
    NoBasis,
    /// The law: the contact withdrew or objected.
    Withdrawn,
    /// Not one of the campaign's classes (e.g. `valid`, who need no request).
    Class(ContactClass),
    /// Not one of the campaign's countries (or the country is unknown).
    Country,
    /// Failed the named filter.
    Filter(&'static str),
}

impl ExcludedReason {
    /// A stable key for counts in JSON output.
    pub fn key(&self) -> String {
        match self {
            Self::NoBasis => "no_basis".into(),
            Self::Withdrawn => "withdrawn".into(),
            Self::Class(c) => format!("class_{c}"),
            Self::Country => "country".into(),
            Self::Filter(f) => format!("filter_{f}"),
        }
    }
}

impl fmt::Display for ExcludedReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NoBasis => {
                f.write_str("no basis to e-mail (a consent request is itself marketing)")
            }
            Self::Withdrawn => f.write_str("withdrew or objected: never e-mailed again"),
            Self::Class(c) => write!(f, "class {c} is not in audience.classes"),
            Self::Country => f.write_str("country not in audience.countries"),
            Self::Filter(name) => write!(f, "did not pass audience.filters.{name}"),
        }
    }
}

impl Audience {
    /// The classes the file asks for that the law forbids writing to.
    pub fn forbidden_classes(&self) -> Vec<ContactClass> {
        self.classes
            .iter()
            .copied()
            .filter(|c| matches!(c, ContactClass::NoBasis | ContactClass::Withdrawn))
            .collect()
    }
}

/// Does the campaign write to this contact? Legal rules first, then the file's choices.
pub fn selects(
    audience: &Audience,
    contact: &Contact,
    classification: &Classification,
) -> Result<(), ExcludedReason> {
    match classification.class {
        ContactClass::NoBasis => return Err(ExcludedReason::NoBasis),
        ContactClass::Withdrawn => return Err(ExcludedReason::Withdrawn),
        _ => {}
    }
    if !audience.classes.contains(&classification.class) {
        return Err(ExcludedReason::Class(classification.class));
    }
    if !audience.countries.is_empty()
        && !contact
            .country
            .is_some_and(|c| audience.countries.contains(&c))
    {
        return Err(ExcludedReason::Country);
    }
    audience
        .filters
        .check(contact)
        .map_err(ExcludedReason::Filter)
}

impl Filters {
    fn check(&self, c: &Contact) -> Result<(), &'static str> {
        fn pass(ok: bool, name: &'static str) -> Result<(), &'static str> {
            if ok { Ok(()) } else { Err(name) }
        }
        fn one_of<T: PartialEq>(wanted: &[T], value: Option<&T>) -> bool {
            wanted.is_empty() || value.is_some_and(|v| wanted.contains(v))
        }
        fn on_or_after(bound: Option<Instant>, value: Option<Instant>) -> bool {
            bound.is_none_or(|b| value.is_some_and(|v| v >= b))
        }
        fn before(bound: Option<Instant>, value: Option<Instant>) -> bool {
            bound.is_none_or(|b| value.is_some_and(|v| v < b))
        }
        pass(
            self.customer.is_none_or(|want| c.is_customer() == want),
            "customer",
        )?;
        pass(one_of(&self.locale, c.locale.as_ref()), "locale")?;
        pass(
            one_of(&self.consent_method, c.consent.method.as_ref()),
            "consent_method",
        )?;
        pass(
            one_of(&self.consent_source, c.consent.source.as_ref()),
            "consent_source",
        )?;
        pass(
            on_or_after(self.last_purchase_after, c.last_purchase_at),
            "last_purchase_after",
        )?;
        pass(
            before(self.last_purchase_before, c.last_purchase_at),
            "last_purchase_before",
        )?;
        pass(
            on_or_after(self.last_activity_after, c.last_activity()),
            "last_activity_after",
        )?;
        pass(
            before(self.last_activity_before, c.last_activity()),
            "last_activity_before",
        )
    }
}

/// A single value or a list of them, each parsed.
fn one_or_many<'de, D, T, E: fmt::Display>(
    d: D,
    parse: impl Fn(&str) -> Result<T, E>,
) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
{
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }
    let raw = match OneOrMany::deserialize(d).map_err(|_| {
        serde::de::Error::custom("expected a text or a list of texts, e.g. [\"pl\", \"sk\"]")
    })? {
        OneOrMany::One(s) => vec![s],
        OneOrMany::Many(v) => v,
    };
    raw.iter()
        .map(|s| parse(s).map_err(serde::de::Error::custom))
        .collect()
}

fn de_countries<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Country>, D::Error> {
    one_or_many(d, Country::parse)
}

fn de_locales<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Locale>, D::Error> {
    one_or_many(d, Locale::parse)
}

fn de_methods<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<ConsentMethod>, D::Error> {
    one_or_many(d, |s| {
        ConsentMethod::parse(s).ok_or_else(|| {
            format!(
                "'{s}' is not a consent method (expected double_opt_in, single_opt_in or unknown)"
            )
        })
    })
}

fn de_strings<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    one_or_many(d, |s| Ok::<_, String>(s.to_string()))
}

fn de_date<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Instant>, D::Error> {
    let s = String::deserialize(d)?;
    parse_instant(&s)
        .map(Some)
        .map_err(serde::de::Error::custom)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::EmailAddress;

    fn audience(toml_text: &str) -> Audience {
        toml::from_str(toml_text).unwrap_or_else(|e| panic!("{toml_text}: {e}"))
    }

    fn contact() -> Contact {
        let mut c = Contact::new(EmailAddress::parse("jana@example.sk").unwrap());
        c.country = Some(Country::parse("SK").unwrap());
        c.locale = Some(Locale::parse("sk").unwrap());
        c.customer = Some(true);
        c.last_purchase_at = Some(parse_instant("2025-03-01").unwrap());
        c.consent.method = Some(ConsentMethod::SingleOptIn);
        c
    }

    fn class(c: ContactClass) -> Classification {
        Classification {
            class: c,
            reasons: vec![],
        }
    }

    #[test]
    fn the_law_comes_before_the_file() {
        let everyone = audience(r#"classes = ["no_basis", "withdrawn", "weak"]"#);
        assert_eq!(
            everyone.forbidden_classes(),
            vec![ContactClass::NoBasis, ContactClass::Withdrawn]
        );
        let c = contact();
        assert_eq!(
            selects(&everyone, &c, &class(ContactClass::NoBasis)),
            Err(ExcludedReason::NoBasis)
        );
        assert_eq!(
            selects(&everyone, &c, &class(ContactClass::Withdrawn)),
            Err(ExcludedReason::Withdrawn)
        );
        assert_eq!(selects(&everyone, &c, &class(ContactClass::Weak)), Ok(()));
    }

    #[test]
    fn selects_by_class_country_and_filters() {
        use ExcludedReason::*;
        let weak = class(ContactClass::Weak);
        let cases: [(&str, Result<(), ExcludedReason>); 14] = [
            ("", Ok(())),
            (r#"classes = ["stale"]"#, Err(Class(ContactClass::Weak))),
            (r#"countries = ["PL"]"#, Err(Country)),
            (r#"countries = ["pl", "sk"]"#, Ok(())),
            (r#"countries = "SK""#, Ok(())),
            ("filters = { customer = true }", Ok(())),
            ("filters = { customer = false }", Err(Filter("customer"))),
            (r#"filters = { locale = ["pl", "sk"] }"#, Ok(())),
            (r#"filters = { locale = "cs" }"#, Err(Filter("locale"))),
            (
                r#"filters = { consent_method = "double_opt_in" }"#,
                Err(Filter("consent_method")),
            ),
            (
                r#"filters = { consent_source = ["checkout"] }"#,
                Err(Filter("consent_source")),
            ),
            (
                r#"filters = { last_purchase_after = "2025-01-01" }"#,
                Ok(()),
            ),
            (
                r#"filters = { last_purchase_before = "2025-01-01" }"#,
                Err(Filter("last_purchase_before")),
            ),
            (
                r#"filters = { last_activity_after = "2025-06-01" }"#,
                Err(Filter("last_activity_after")),
            ),
        ];
        for (text, want) in cases {
            assert_eq!(selects(&audience(text), &contact(), &weak), want, "{text}");
        }
    }

    #[test]
    fn unknown_values_fail_the_filters_that_need_them() {
        let mut c = contact();
        c.country = None;
        c.locale = None;
        let weak = class(ContactClass::Weak);
        assert_eq!(
            selects(&audience(r#"countries = ["SK"]"#), &c, &weak),
            Err(ExcludedReason::Country)
        );
        assert_eq!(
            selects(&audience(r#"filters = { locale = "sk" }"#), &c, &weak),
            Err(ExcludedReason::Filter("locale"))
        );
        c.customer = None;
        assert_eq!(
            selects(&audience("filters = { customer = false }"), &c, &weak),
            Ok(())
        );
    }

    #[test]
    fn refuses_unknown_filters_and_bad_values_by_name() {
        let cases = [
            ("filters = { custmer = true }", "custmer"),
            (r#"classes = ["weak", "lukewarm"]"#, "lukewarm"),
            (r#"countries = ["Poland"]"#, "Poland"),
            (r#"filters = { locale = ["polish"] }"#, "polish"),
            (
                r#"filters = { last_purchase_after = "last year" }"#,
                "last year",
            ),
            (r#"filters = { consent_method = "verbal" }"#, "verbal"),
        ];
        for (text, fragment) in cases {
            let err = toml::from_str::<Audience>(text).unwrap_err().to_string();
            assert!(err.contains(fragment), "{text}: {err}");
        }
    }

    #[test]
    fn default_is_weak_and_stale() {
        assert_eq!(
            Audience::default().classes,
            vec![ContactClass::Weak, ContactClass::Stale]
        );
        assert_eq!(audience(""), Audience::default());
    }
}
