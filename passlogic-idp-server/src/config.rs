//! Settings: command-line flag, else environment variable (clap reads both), else the TOML
//! config file, else the default. Documented in docs/configuration.md.

use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::Args;
use serde::Deserialize;

use crate::keys::KekFile;
use crate::store::Store;

/// Where the store and keys are; shared by every subcommand.
#[derive(Args, Debug, Clone, Default)]
pub struct StoreArgs {
    /// TOML configuration file.
    #[arg(long, env = "PASSLOGIC_CONFIG", global = true)]
    pub config: Option<PathBuf>,
    /// Data directory: the SQLite database and the key-encryption key live here.
    #[arg(long, env = "PASSLOGIC_DATA_DIR", global = true)]
    pub data_dir: Option<PathBuf>,
    /// PostgreSQL URL (postgres://...); without it the embedded SQLite database is used.
    #[arg(long, env = "PASSLOGIC_DATABASE_URL", global = true)]
    pub database_url: Option<String>,
    /// Key-encryption key file (default DATA_DIR/kek).
    #[arg(long, env = "PASSLOGIC_KEK_FILE", global = true)]
    pub kek_file: Option<PathBuf>,
    /// Tenant to act on (default: the only tenant).
    #[arg(long, env = "PASSLOGIC_TENANT", global = true)]
    pub tenant: Option<String>,
}

/// The config file's keys (all optional).
#[derive(Deserialize, Debug, Default)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    pub listen: Option<String>,
    pub data_dir: Option<PathBuf>,
    pub database_url: Option<String>,
    pub kek_file: Option<PathBuf>,
    pub public_url: Option<String>,
    pub tenant: Option<String>,
}

impl FileConfig {
    /// Reads the file, or the empty config when `path` is `None`.
    pub fn load(path: Option<&Path>) -> anyhow::Result<FileConfig> {
        let Some(path) = path else {
            return Ok(FileConfig::default());
        };
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        toml::from_str(&text).with_context(|| format!("parsing {}", path.display()))
    }
}

/// Resolved store location.
#[derive(Debug, Clone)]
pub struct StoreSettings {
    pub data_dir: PathBuf,
    pub database_url: Option<String>,
    pub kek_file: PathBuf,
    pub tenant: Option<String>,
}

impl StoreSettings {
    /// Flags/env over file over defaults. `default_dir` is used when nothing names a directory.
    pub fn resolve(args: &StoreArgs, file: &FileConfig, default_dir: PathBuf) -> StoreSettings {
        let data_dir = args
            .data_dir
            .clone()
            .or_else(|| file.data_dir.clone())
            .unwrap_or(default_dir);
        let kek_file = args
            .kek_file
            .clone()
            .or_else(|| file.kek_file.clone())
            .unwrap_or_else(|| data_dir.join("kek"));
        StoreSettings {
            database_url: args
                .database_url
                .clone()
                .or_else(|| file.database_url.clone()),
            tenant: args.tenant.clone().or_else(|| file.tenant.clone()),
            data_dir,
            kek_file,
        }
    }

    /// Opens the database (applying migrations).
    pub async fn open_store(&self) -> anyhow::Result<Store> {
        match &self.database_url {
            Some(url) => Store::open(url).await,
            None => Store::open_sqlite(&self.data_dir).await,
        }
    }

    /// The KEK file handle.
    pub fn kek(&self) -> KekFile {
        KekFile::new(self.kek_file.clone())
    }
}
