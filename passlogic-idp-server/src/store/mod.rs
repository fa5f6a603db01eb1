//! Persistent state behind one [`Store`]: SQLite (embedded default) or PostgreSQL (several nodes).
//!
//! Both backends go through `sqlx::Any` with portable SQL (`$1` placeholders, `RETURNING`,
//! `ON CONFLICT`), so every query is written once and the same tests run against both. Each
//! backend has its own migration directory (`migrations/sqlite`, `migrations/postgres`) because
//! identity columns and blob types differ. Methods are grouped by concern in the submodules.
//!
//! Single-use and counting guarantees are made by the database, never by a read-then-write in
//! Rust: a grid is consumed by `DELETE ... RETURNING`, a failed answer is counted by one
//! conditional `UPDATE ... RETURNING`, a one-time value by a primary-key insert.

mod admin_api;
mod attempts;
mod audit;
mod ca;
mod console_import;
mod devices;
mod directory;
mod face;
mod factors;
mod forward;
mod groups;
mod ldap;
mod login_protect;
mod oidc;
mod once;
mod provisioning;
mod radius;
mod saml;
mod scim;
mod seed;
mod sessions;
// The user portal (service display names and login URLs).
mod portal;
pub use portal::PortalServiceRow;
mod user_search;
// Passkeys (WebAuthn).
mod passkeys;

use std::path::Path;
use std::str::FromStr;

use anyhow::Context;
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, ConnectOptions};

pub use admin_api::ApiTokenRow;
pub use attempts::{AttemptRow, AttemptState};
pub use audit::AuditEvent;
pub use ca::CertDownloadRow;
pub use ca::ClientCertRow;
pub use console_import::{ImportUpload, LdapRunRow, TokenListRow};
pub use devices::{DeviceRow, Registration};
pub use directory::UserDirectory;
pub use directory::{NewUser, UserRow};
pub use factors::{FactorRow, NewToken, TokenRow};
pub use forward::ForwardAppRow;
pub use groups::GroupRow;
pub use ldap::{LdapLink, LdapRunCounts, LdapSourceRow, LdapUserWrite, LdapWrite};
pub use login_protect::AuthenticatorKeyRow;
pub use oidc::EamPendingRow;
pub use oidc::{CodeRow, RefreshRow, SealedKeySet};
pub use provisioning::{BulkUpdate, BulkUser};
pub use radius::{RadiusClientRow, RadiusStateRow};
pub use saml::SamlSessionSp;
pub use seed::SeedUser;
pub use sessions::SessionRow;
pub use user_search::{UserQuery, UserStatus};
// Passkeys (WebAuthn).
pub use passkeys::PasskeyRow;

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("migrations/postgres");

/// Which database engine a [`Store`] talks to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// One file under the data directory.
    Sqlite,
    /// A shared server, for several stateless IdP nodes.
    Postgres,
}

/// Handle to the database; cheap to clone.
#[derive(Clone, Debug)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
}

impl Store {
    /// Opens (creating if needed) the SQLite database `data_dir/passlogic.db`.
    pub async fn open_sqlite(data_dir: &Path) -> anyhow::Result<Store> {
        std::fs::create_dir_all(data_dir)
            .with_context(|| format!("creating data directory {}", data_dir.display()))?;
        let path = data_dir.join("passlogic.db");
        let url = format!("sqlite://{}?mode=rwc", path.display());
        Self::open(&url).await
    }

    /// Opens a database by URL (`sqlite://...` or `postgres://...`) and applies migrations.
    pub async fn open(url: &str) -> anyhow::Result<Store> {
        sqlx::any::install_default_drivers();
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Backend::Postgres
        } else {
            anyhow::bail!("unsupported database URL (use sqlite:// or postgres://)");
        };
        let options = AnyConnectOptions::from_str(url)
            .context("parsing the database URL")?
            .disable_statement_logging();
        let mut pool_options = AnyPoolOptions::new().max_connections(match backend {
            Backend::Sqlite => 8,
            Backend::Postgres => 16,
        });
        if backend == Backend::Sqlite {
            pool_options = pool_options.after_connect(|conn, _meta| {
                Box::pin(async move {
                    // WAL lets readers proceed during a write; busy_timeout makes concurrent
                    // writers (e.g. the CLI while the server runs) wait instead of failing.
                    sqlx::query("PRAGMA busy_timeout = 10000")
                        .execute(&mut *conn)
                        .await?;
                    sqlx::query("PRAGMA journal_mode = WAL")
                        .execute(&mut *conn)
                        .await?;
                    sqlx::query("PRAGMA foreign_keys = ON")
                        .execute(&mut *conn)
                        .await?;
                    Ok(())
                })
            });
        }
        let pool = pool_options
            .connect_with(options)
            .await
            .with_context(|| format!("connecting to the {backend:?} database"))?;
        let store = Store { pool, backend };
        store.migrate().await?;
        Ok(store)
    }

    async fn migrate(&self) -> anyhow::Result<()> {
        let migrator = match self.backend {
            Backend::Sqlite => &SQLITE_MIGRATIONS,
            Backend::Postgres => &POSTGRES_MIGRATIONS,
        };
        // sqlx takes a database-wide lock while it migrates (an advisory lock on PostgreSQL), so
        // nodes starting together apply each migration once; the others wait, then find it done.
        match migrator.run(&self.pool).await {
            Ok(()) => Ok(()),
            Err(sqlx::migrate::MigrateError::VersionMissing(v)) => anyhow::bail!(
                "the database schema is newer than this passlogic-idp: it has migration {v}, \
                 which this version does not know. Refusing to start; run the newer version \
                 (or restore a backup taken before the upgrade)"
            ),
            Err(e) => Err(anyhow::Error::from(e).context("applying database migrations")),
        }
    }

    /// The engine behind this store.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// A cheap query that fails when the database is unreachable.
    pub async fn ping(&self) -> anyhow::Result<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    /// Deletes expired attempts, sessions and one-time records.
    pub async fn purge_expired(&self, now: i64) -> anyhow::Result<()> {
        for sql in [
            "DELETE FROM attempts WHERE expires_at <= $1",
            "DELETE FROM sessions WHERE expires_at <= $1",
            "DELETE FROM used_once WHERE expires_at <= $1",
            "DELETE FROM saml_pending_requests WHERE expires_at <= $1",
            "DELETE FROM radius_states WHERE expires_at <= $1",
            "DELETE FROM saml_session_sps WHERE expires_at <= $1",
            "DELETE FROM saml_logouts WHERE expires_at <= $1",
            "DELETE FROM authenticator_pairings WHERE expires_at <= $1",
            "DELETE FROM face_challenges WHERE expires_at <= $1",
            "DELETE FROM cert_downloads WHERE expires_at <= $1",
            "DELETE FROM passkey_challenges WHERE expires_at <= $1",
        ] {
            sqlx::query(sql).bind(now).execute(&self.pool).await?;
        }
        Ok(())
    }

    /// Closes the pool (flushes SQLite's WAL on the last connection).
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// Converts a stored 0/1 flag.
fn flag(v: i64) -> bool {
    v != 0
}

// The admin console's audit log (filters, keyset paging, CSV export).
mod audit_search;
pub use audit_search::{AuditQuery, AuditRow};
