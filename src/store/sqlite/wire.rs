//! Which claimed messages a sender handed to the mail server (SQLite backend; see
//! `store::wire_log` for why). A database commit per message halved the sending rate,
//! so the record is one line appended to a small file per sender beside the database.
//! A `write` reaches the kernel, which keeps it when the process is killed; like the
//! database's own commits (WAL, `synchronous = NORMAL`), it is not forced to the disk.

use super::SqliteStore;
use anyhow::{Context, Result};
use std::collections::{BTreeMap, HashSet};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// One sender's record of the messages it put on the wire.
pub struct FileWireLog {
    path: PathBuf,
    file: Mutex<std::fs::File>,
}

impl FileWireLog {
    /// Records a delivery right before its body goes out.
    pub fn record(&self, delivery_id: i64) -> std::io::Result<()> {
        let mut file = self
            .file
            .lock()
            .map_err(|_| std::io::Error::other("the wire log is poisoned"))?;
        file.write_all(format!("{delivery_id}\n").as_bytes())
    }

    /// Once every claim of the sender is settled, nothing in the log matters.
    pub fn remove(self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// `reconsent.db` → `reconsent.db-wire/`.
fn wire_dir(database: &Path) -> PathBuf {
    let mut name = database.file_name().unwrap_or_default().to_os_string();
    name.push("-wire");
    database.with_file_name(name)
}

fn log_path(database: &Path, worker: &str) -> PathBuf {
    let name: String = worker
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    wire_dir(database).join(name)
}

impl SqliteStore {
    fn database_path(&self) -> PathBuf {
        self.writer.connect_options().get_filename().to_path_buf()
    }

    /// A fresh log for `worker`.
    pub fn wire_log(&self, worker: &str) -> Result<FileWireLog> {
        let path = log_path(&self.database_path(), worker);
        let dir = wire_dir(&self.database_path());
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("cannot create {}", dir.display()))?;
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .with_context(|| format!("cannot create {}", path.display()))?;
        Ok(FileWireLog {
            path,
            file: Mutex::new(file),
        })
    }

    /// What the dead senders among `workers` put on the wire, by worker. A sender with
    /// no log never sent anything.
    pub(super) fn on_the_wire(&self, workers: &[&str]) -> BTreeMap<String, HashSet<i64>> {
        let db = self.database_path();
        workers
            .iter()
            .map(|w| {
                let ids = std::fs::read_to_string(log_path(&db, w))
                    .unwrap_or_default()
                    .lines()
                    .filter_map(|l| l.trim().parse().ok())
                    .collect();
                (w.to_string(), ids)
            })
            .collect()
    }

    /// Forgets the logs of senders whose claims were all recovered.
    pub(super) fn remove_wire_logs(&self, workers: &[&str]) {
        let db = self.database_path();
        for w in workers {
            let _ = std::fs::remove_file(log_path(&db, w));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logs_sit_beside_the_database_one_per_sender() {
        let db = Path::new("/data/shop/reconsent.db");
        assert_eq!(wire_dir(db), Path::new("/data/shop/reconsent.db-wire"));
        assert_eq!(
            log_path(db, "4242:ab12cd34"),
            Path::new("/data/shop/reconsent.db-wire/4242-ab12cd34")
        );
    }
}
