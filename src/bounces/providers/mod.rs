//! The event webhooks of the relays, `POST /hooks/{ses,postmark,mailgun,sendgrid}`. Each
//! checks its provider's own signature or credentials before anything else: a request
//! that fails answers 401 and changes nothing.

pub mod mailgun;
pub mod postmark;
pub mod sendgrid;
pub mod ses;
