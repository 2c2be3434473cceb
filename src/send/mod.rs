//! Sending: claims due deliveries, renders them, throttles, hands them to the
//! transport, and records each fate.
//!
//! | module | does |
//! |---|---|
//! | [`engine`] | the pipeline: claim, throttle, connections, group-committed marks, recorder |
//! | [`eligibility`] | whether a queued message may still leave: withdrawn, no basis, suppressed (pure) |
//! | [`outcome`] | what an SMTP answer means: retry, bounce, fail, unknown, pause, slow down (pure) |
//! | [`pace`] | the throttle: a GCRA schedule per campaign, shared through the database |
//! | [`domains`] | pacing per recipient domain on top (`[sending.domains]`, `governor`); a domain that answers 421 / 4.7.x slows down |
//! | [`transport`] | `file://` outbox and phase-aware SMTP sessions |
//! | [`clock`] | real time, or `--now` moving forward |

pub mod clock;
pub mod command;
pub mod domains;
pub mod eligibility;
pub mod engine;
pub mod outcome;
pub mod pace;
pub mod transport;

pub use clock::Clock;
pub use engine::{SendOptions, SendReport, Sender};
