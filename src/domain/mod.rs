//! Domain types that parse, not validate: once built, a value is known good.

mod contact;
mod country;
mod email;
mod locale;
mod state;
mod time;

pub use contact::{ConsentMethod, ConsentRecord, Contact};
pub use country::{Country, CountryError};
pub use email::{EmailAddress, EmailError};
pub use locale::{Locale, LocaleError};
pub use state::{CampaignState, DeliveryState, LedgerEvent};
pub use time::{DateError, Instant, Span, SpanError, from_unix, parse_instant};
