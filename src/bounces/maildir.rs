//! A Maildir (and Maildir++ folders, as Dovecot and Courier keep them): each message a
//! file, a move a rename — atomic, so a message is in one folder or the other, never
//! both and never neither.

use anyhow::{Context, Result};
use std::path::{Path, PathBuf};

pub struct MaildirBox {
    root: PathBuf,
}

impl MaildirBox {
    pub fn open(root: &Path) -> Result<Self> {
        for sub in ["cur", "new"] {
            let dir = root.join(sub);
            if !dir.is_dir() {
                anyhow::bail!(
                    "bounces.mailbox: {} is not a Maildir (it has no {sub}/ folder)",
                    root.display()
                );
            }
        }
        Ok(Self {
            root: root.to_path_buf(),
        })
    }

    /// `new/NAME` or `cur/NAME`, oldest first (by modification time, then name).
    pub fn list(&self) -> Result<Vec<String>> {
        let mut found = Vec::new();
        for sub in ["new", "cur"] {
            let dir = self.root.join(sub);
            for entry in
                std::fs::read_dir(&dir).with_context(|| format!("cannot read {}", dir.display()))?
            {
                let entry = entry?;
                let name = entry.file_name().to_string_lossy().into_owned();
                if name.starts_with('.') || !entry.file_type()?.is_file() {
                    continue;
                }
                let modified = entry.metadata().and_then(|m| m.modified()).ok();
                found.push((modified, format!("{sub}/{name}")));
            }
        }
        found.sort();
        Ok(found.into_iter().map(|(_, id)| id).collect())
    }

    pub fn read(&self, id: &str) -> Result<Option<Vec<u8>>> {
        match std::fs::read(self.root.join(id)) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => {
                Err(e).with_context(|| format!("cannot read {}", self.root.join(id).display()))
            }
        }
    }

    /// To `.FOLDER/cur/` (Maildir++), created if missing; a message from `new/` is
    /// marked seen on the way, as a mail client would.
    pub fn move_to(&self, id: &str, folder: &str) -> Result<()> {
        let target = self.root.join(format!(".{}", folder.replace('/', ".")));
        for sub in ["cur", "new", "tmp"] {
            std::fs::create_dir_all(target.join(sub))
                .with_context(|| format!("cannot create the folder {}", target.display()))?;
        }
        let (sub, name) = id.split_once('/').unwrap_or(("cur", id));
        let name = if sub == "new" && !name.contains(":2,") {
            format!("{name}:2,S")
        } else {
            name.to_string()
        };
        let to = target.join("cur").join(name);
        std::fs::rename(self.root.join(id), &to)
            .with_context(|| format!("cannot move {id} to {}", to.display()))
    }
}
