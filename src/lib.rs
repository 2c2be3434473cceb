//! reconsent — a re-permission e-mail campaign engine.
//!
//! How the pieces fit (read this first):
//!
//! | module | what it does |
//! |---|---|
//! | [`domain`] | types that parse, not validate: `EmailAddress` (one key per address: NFKC, lower case, ASCII domain), `Country`, `Locale`, `Span`, `Contact` |
//! | [`policy`] | who may be asked again: pure classification into `valid, stale, weak, soft_opt_in, no_basis, withdrawn`, with every reason |
//! | [`config`] | `reconsent.toml`, `RECONSENT__SECTION__KEY` overrides, defaults |
//! | [`import`] | CSV / JSON Lines rows → contacts; all-or-nothing, streaming, batched; bounded dates and lengths, near-miss columns refused |
//! | [`store`] | every SQL statement, behind one `Store` chosen by the database URL: `sqlite` (the embedded default) or `postgres` (one base for senders on several machines), each with its own SQL and migrations; the wire log of what went to the mail server; the rewrite that leaves no byte of an erased contact; the campaign counters the database keeps by trigger, and their recount |
//! | [`secrets`] | keys created by `init`; the keyed tombstone hash, its key optionally in a file of its own; the admin token (configured or stored), compared in constant time |
//! | [`tokens`] | signed link tokens: purpose, campaign, opaque contact id, expiry; one generic failure |
//! | [`campaign`] | campaign files, audience selection, templates, the request e-mail (MIME, DKIM), `check` and `preview` |
//! | [`copy`] | `store copy --to URL`: the base moved to a new PostgreSQL database, each table's rows and checksum shown as both sides agreed (the copying itself is `store::copy`) |
//! | [`ledger`] | the consent ledger as proof: a hash chain per contact and over the base, salted commitments for personal fields, `verify` |
//! | [`effects`] | what a confirmation, a withdrawal or a bounce writes (consent, suppression, deletion queue, reminders, thank-you, webhooks): one pure rule both stores execute |
//! | [`purge`] | deadline → deletion queue → erasure with tombstone; `forget` on request |
//! | [`send`] | the sending pipeline: claim (each message checked again: still lawful?), render, a throttle shared through the database, SMTP or `.eml`, every fate recorded; requests and thank-you mails |
//! | [`web`] | `serve`: the pages behind the links, confirm / leave / one-click each decided inside a write transaction that answers arriving together share (group commit), a page shown only once its answer is committed, the ledger entries they write; timeouts, a limit per client address, trusted proxies; `/admin` (the marketers' dashboard), `/api` and `/metrics` behind the admin token |
//! | [`bounces`] | bounces and complaints after sending: VERP return paths, DSN (RFC 3464) and ARF (RFC 5965) reports from an IMAP or Maildir mailbox, the relays' signed webhooks (SES, Postmark, Mailgun, SendGrid), each event applied once |
//! | [`webhooks`] | the outbox of events for the shop, signed, retried, in order per contact |
//! | [`cli`] | the `reconsent` command: parses arguments, says what happened for people or as `--json` |
//! | [`print`] | the one place that prints: user text escaped so it cannot drive a terminal; a closed pipe is not a crash |
//!
//! Business rules live in `policy`, `import`, `campaign`, `send::eligibility`,
//! `web::decide` and `bounces::rule`; the store only reads and writes.

#![forbid(unsafe_code)]

pub mod bounces;
pub mod campaign;
pub mod cli;
pub mod config;
pub mod copy;
pub mod domain;
pub mod effects;
pub mod import;
pub mod ledger;
pub mod policy;
pub mod print;
pub mod purge;
pub mod secrets;
pub mod send;
pub mod store;
pub mod tokens;
pub mod web;
pub mod webhooks;
