//! Campaigns: the file that defines one, who it writes to, and the e-mail it sends.
//!
//! | module | what it does |
//! |---|---|
//! | [`definition`] | `campaigns/NAME.toml` → [`Campaign`], every refusal located by file, line and field |
//! | [`audience`] | pure: does a campaign write to this classified contact? The law first |
//! | [`render`] | a campaign's templates compiled once; [`Renderer::render`] per contact |
//! | `skeleton` | the fast path of `render`: pre-rendered per locale and wave, filled per contact |
//! | [`links`] | the confirm, leave and unsubscribe links, each with its signed token |
//! | [`message`] | the rendered e-mail in MIME, with List-Unsubscribe and optional DKIM |
//! | [`dkim`] | DKIM signatures, relaxed/relaxed: RSA-SHA256, and Ed25519-SHA256 beside it; keys parsed once |
//! | `qp` | quoted-printable for the message's parts, in one pass over the bytes |
//! | [`check`] | renders every locale with a probe contact and proves each required part is there |
//! | [`launch`] | `campaign launch`: check, snapshot definition and templates, select the audience, queue wave 1 |
//! | [`kit`] | a launched campaign ready to send: one contact's message for one wave |
//! | [`reminders`] | reminder waves, when due, to the contacts who have not answered, bounced or left |
//! | [`status`] | the funnel of `campaign status`, overall and per wave |
//! | [`commands`] | `campaign check` and `campaign preview` for the command line |

pub mod audience;
pub mod check;
pub mod commands;
pub mod definition;
pub mod dkim;
pub mod kit;
pub mod launch;
pub mod links;
pub mod message;
mod qp;
pub mod reminders;
pub mod render;
mod skeleton;
pub mod status;

pub use audience::{Audience, ExcludedReason, selects};
pub use definition::{Campaign, DefinitionError, DefinitionErrors, LocalText, Rate};
pub use render::{RenderInput, Rendered, Renderer};

use std::path::{Path, PathBuf};

/// Where the `templates/` folder of a campaign file is: in the working folder (where
/// `campaigns/` and `templates/` sit side by side), else beside the campaign file's folder.
pub fn templates_root(campaign_file: &Path, templates: &str) -> PathBuf {
    let here = PathBuf::from("templates");
    let parent = campaign_file.parent().unwrap_or(Path::new("."));
    let candidates = [
        here.clone(),
        parent.join("..").join("templates"),
        parent.join("templates"),
    ];
    candidates
        .into_iter()
        .find(|root| root.join(templates).is_dir())
        .unwrap_or(here)
}

/// A path a campaign file names (e.g. `code_pool`): from the working folder, else
/// relative to the campaign file.
pub fn resolve_path(campaign_file: &Path, path: &Path) -> PathBuf {
    if path.is_absolute() || path.exists() {
        return path.to_path_buf();
    }
    let beside = campaign_file.parent().unwrap_or(Path::new(".")).join(path);
    if beside.exists() {
        beside
    } else {
        path.to_path_buf()
    }
}
