//! Scheduled CSV drops (`serve --csv-drop-dir DIR`): every interval, each `DIR/*.csv` (oldest
//! name first) goes through the import engine ([`super::import`]) as one transaction, then
//! moves to `DIR/done/` or `DIR/failed/` with a `NAME.report.txt` beside it. Each run is
//! audited (`csv_drop.applied` / `csv_drop.rejected`, counts only).
//!
//! Writers must create the file under another name (e.g. `x.csv.part`) and rename it to
//! `*.csv` when complete; a file still being written under its final name could be read half.
//!
//! Known gap: the initial patterns of users created by a drop are sealed but their notices are
//! not written anywhere (no secret lands on disk unasked): hand them out with `user
//! reset-pattern NAME`.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use passlogic_idp_core::seal::Keyring;
use serde_json::json;

use super::import::{self, ImportOptions};
use crate::admin;
use crate::clock::Clock;
use crate::store::Store;

/// What the watcher needs.
#[derive(Clone, Debug)]
pub struct DropWatcher {
    /// The watched directory.
    pub dir: PathBuf,
    /// Seconds between scans.
    pub interval: Duration,
    /// The store.
    pub store: Store,
    /// Sealing keys.
    pub keyring: Arc<Keyring>,
    /// The tenant the users belong to.
    pub tenant_id: i64,
    /// The server clock.
    pub clock: Arc<Clock>,
}

/// Moves `file` into `dir/sub/`, with a unique name if one is taken, and writes the report
/// beside it.
fn file_away(dir: &Path, sub: &str, file: &Path, report: &str) -> anyhow::Result<PathBuf> {
    let target_dir = dir.join(sub);
    std::fs::create_dir_all(&target_dir)?;
    let name = file
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("drop.csv")
        .to_owned();
    let mut target = target_dir.join(&name);
    let mut n = 1;
    while target.exists() {
        target = target_dir.join(format!("{name}.{n}"));
        n += 1;
    }
    std::fs::rename(file, &target)?;
    let mut report_path = target.clone().into_os_string();
    report_path.push(".report.txt");
    std::fs::write(&report_path, report)?;
    Ok(target)
}

impl DropWatcher {
    /// The `*.csv` files waiting in the directory, by name.
    fn pending(&self) -> anyhow::Result<Vec<PathBuf>> {
        let mut files: Vec<PathBuf> = std::fs::read_dir(&self.dir)?
            .filter_map(|e| e.ok())
            .map(|e| e.path())
            .filter(|p| p.is_file() && p.extension().is_some_and(|e| e == "csv"))
            .collect();
        files.sort();
        Ok(files)
    }

    /// Processes one dropped file; returns where it went.
    pub async fn process(&self, file: &Path) -> anyhow::Result<PathBuf> {
        let name = file
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let now = self.clock.unix();
        let options = ImportOptions {
            actor: "csv-drop".to_owned(),
            source: name.clone(),
            ..ImportOptions::default()
        };
        let bytes = std::fs::read(file)?;
        let outcome = import::run(
            &self.store,
            &self.keyring,
            self.tenant_id,
            &bytes,
            &options,
            now,
        )
        .await;
        let (sub, report, detail) = match &outcome {
            Ok(r) if r.applied => {
                let (c, u, n, _) = r.plan.counts();
                let d = json!({ "created": c, "updated": u, "unchanged": n });
                ("done", r.text(), d)
            }
            Ok(r) => {
                let mut text = r.text();
                text.push_str("\nerrors.csv:\n");
                text.push_str(&r.plan.errors_csv());
                ("failed", text, json!({ "rejected": r.plan.rejected.len() }))
            }
            Err(e) => (
                "failed",
                format!("result: rejected, nothing applied\nerror: {e:#}\n"),
                json!({ "error": format!("{e:#}") }),
            ),
        };
        let event = if sub == "done" {
            "csv_drop.applied"
        } else {
            "csv_drop.rejected"
        };
        admin::audit(
            &self.store,
            now,
            self.tenant_id,
            "csv-drop",
            event,
            &name,
            detail,
        )
        .await?;
        let target = file_away(&self.dir, sub, file, &report)?;
        tracing::info!(file = %name, outcome = sub, "csv drop processed");
        Ok(target)
    }

    /// Scans forever (until the task is dropped).
    pub async fn run(self) {
        if let Err(e) = std::fs::create_dir_all(&self.dir) {
            tracing::error!(dir = %self.dir.display(), "csv drop directory: {e}");
            return;
        }
        loop {
            // A database that is down is no fault of the files: leave them for the next scan
            // rather than filing good drops under failed/.
            if let Err(e) = self.store.ping().await {
                tracing::warn!("csv drop: database unreachable, retrying later: {e:#}");
                tokio::time::sleep(self.interval).await;
                continue;
            }
            match self.pending() {
                Ok(files) => {
                    for f in files {
                        if let Err(e) = self.process(&f).await {
                            tracing::error!(file = %f.display(), "csv drop: {e:#}");
                        }
                    }
                }
                Err(e) => tracing::error!(dir = %self.dir.display(), "csv drop scan: {e}"),
            }
            tokio::time::sleep(self.interval).await;
        }
    }
}
