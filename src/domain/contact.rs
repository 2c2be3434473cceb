//! A contact as imported: the facts the policy classifies.

use super::{Country, EmailAddress, Instant, Locale};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConsentMethod {
    DoubleOptIn,
    SingleOptIn,
    /// This engine's own confirmation: a POST from the button on the request page.
    Reconsent,
    Unknown,
}

impl ConsentMethod {
    pub fn parse(input: &str) -> Option<Self> {
        match input.trim().to_ascii_lowercase().replace('-', "_").as_str() {
            "double_opt_in" => Some(Self::DoubleOptIn),
            "single_opt_in" => Some(Self::SingleOptIn),
            "reconsent" => Some(Self::Reconsent),
            "unknown" => Some(Self::Unknown),
            _ => None,
        }
    }

    pub fn as_str(&self) -> &'static str {
        match self {
            Self::DoubleOptIn => "double_opt_in",
            Self::SingleOptIn => "single_opt_in",
            Self::Reconsent => "reconsent",
            Self::Unknown => "unknown",
        }
    }
}

/// What is known of the contact's consent. `None` means "not known", which the policy
/// treats as "not proven".
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConsentRecord {
    pub at: Option<Instant>,
    pub method: Option<ConsentMethod>,
    pub prechecked: Option<bool>,
    pub bundled: Option<bool>,
    pub text_version: Option<String>,
    pub ip: Option<String>,
    pub source: Option<String>,
    pub withdrawn_at: Option<Instant>,
}

impl ConsentRecord {
    /// A consent exists when it has a time or a stated method.
    pub fn exists(&self) -> bool {
        self.at.is_some() || self.method.is_some()
    }

    fn overlay(&mut self, newer: &ConsentRecord) {
        overlay(&mut self.at, &newer.at);
        overlay(&mut self.method, &newer.method);
        overlay(&mut self.prechecked, &newer.prechecked);
        overlay(&mut self.bundled, &newer.bundled);
        overlay(&mut self.text_version, &newer.text_version);
        overlay(&mut self.ip, &newer.ip);
        overlay(&mut self.source, &newer.source);
        overlay(&mut self.withdrawn_at, &newer.withdrawn_at);
    }
}

/// One contact. Every fact but the address is optional: an import row that leaves a
/// cell empty says nothing about it, so a re-import never erases what it does not know.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Contact {
    pub email: EmailAddress,
    pub name: Option<String>,
    pub locale: Option<Locale>,
    pub country: Option<Country>,
    pub customer: Option<bool>,
    pub last_purchase_at: Option<Instant>,
    pub last_activity_at: Option<Instant>,
    pub consent: ConsentRecord,
    pub legal_hold: Option<bool>,
    /// The shop's own id for the contact: webhooks name the contact by it.
    pub external_id: Option<String>,
}

impl Contact {
    pub fn new(email: EmailAddress) -> Self {
        Self {
            email,
            name: None,
            locale: None,
            country: None,
            customer: None,
            last_purchase_at: None,
            last_activity_at: None,
            consent: ConsentRecord::default(),
            legal_hold: None,
            external_id: None,
        }
    }

    /// Takes every fact `newer` states; keeps the rest. The address keeps its first
    /// spelling unless the newer row spells it differently (a correction of case).
    pub fn overlay(&mut self, newer: &Contact) {
        self.email = newer.email.clone();
        overlay(&mut self.name, &newer.name);
        overlay(&mut self.locale, &newer.locale);
        overlay(&mut self.country, &newer.country);
        overlay(&mut self.customer, &newer.customer);
        overlay(&mut self.last_purchase_at, &newer.last_purchase_at);
        overlay(&mut self.last_activity_at, &newer.last_activity_at);
        self.consent.overlay(&newer.consent);
        overlay(&mut self.legal_hold, &newer.legal_hold);
        overlay(&mut self.external_id, &newer.external_id);
    }

    pub fn is_customer(&self) -> bool {
        self.customer.unwrap_or(false)
    }

    /// The latest sign of life: activity, purchase or consent.
    pub fn last_activity(&self) -> Option<Instant> {
        [
            self.last_activity_at,
            self.last_purchase_at,
            self.consent.at,
        ]
        .into_iter()
        .flatten()
        .max()
    }
}

fn overlay<T: Clone>(old: &mut Option<T>, new: &Option<T>) {
    if new.is_some() {
        old.clone_from(new);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::parse_instant;

    fn contact(email: &str) -> Contact {
        Contact::new(EmailAddress::parse(email).unwrap())
    }

    #[test]
    fn overlay_keeps_what_the_newer_row_leaves_empty() {
        let mut old = contact("jan@example.pl");
        old.name = Some("Jan".into());
        old.customer = Some(true);
        let mut newer = contact("JAN@example.pl");
        newer.country = Some(Country::parse("PL").unwrap());
        newer.customer = Some(false);
        old.overlay(&newer);
        assert_eq!(old.name.as_deref(), Some("Jan"));
        assert_eq!(old.country.map(|c| c.to_string()).as_deref(), Some("PL"));
        assert_eq!(old.customer, Some(false));
        assert_eq!(old.email.as_str(), "JAN@example.pl");
    }

    #[test]
    fn activity_is_the_latest_sign_of_life() {
        let mut c = contact("a@example.com");
        assert_eq!(c.last_activity(), None);
        c.last_purchase_at = Some(parse_instant("2022-01-01").unwrap());
        c.consent.at = Some(parse_instant("2023-01-01").unwrap());
        c.last_activity_at = Some(parse_instant("2021-01-01").unwrap());
        assert_eq!(
            c.last_activity(),
            Some(parse_instant("2023-01-01").unwrap())
        );
    }
}
