//! User administration shared by the command line and the demo seeding: every operation that
//! creates or resets a secret seals it here, so no caller handles a pattern in the clear longer
//! than needed.

use passlogic_idp_core::factor::matrix::{self, MatrixSecret, Pattern};
use passlogic_idp_core::seal::Keyring;
use serde_json::json;

use crate::secrets;
use crate::store::{AuditEvent, NewUser, Store, UserRow};

/// A user created or reset, with the initial pattern to hand over (printed once, never stored
/// in the clear).
#[derive(Debug)]
pub struct Issued {
    /// The user.
    pub user_id: i64,
    /// The initial pattern; the user must replace it at first sign-in.
    pub pattern: Pattern,
    /// Its printable notice.
    pub notice: String,
}

/// Audits an administrative action.
pub async fn audit(
    store: &Store,
    now: i64,
    tenant_id: i64,
    actor: &str,
    event: &str,
    subject: &str,
    detail: serde_json::Value,
) -> anyhow::Result<()> {
    store
        .audit(&AuditEvent {
            at: now,
            tenant_id: Some(tenant_id),
            actor: actor.to_owned(),
            event: event.to_owned(),
            subject: subject.to_owned(),
            outcome: "success".to_owned(),
            detail,
            source_ip: None,
        })
        .await
}

async fn issue_initial_pattern(
    store: &Store,
    ring: &Keyring,
    user: &UserRow,
    now: i64,
) -> anyhow::Result<Issued> {
    let policy = store
        .effective_policy(user.tenant_id, Some(user.id))
        .await?;
    let pattern = matrix::generate_initial_pattern(
        &policy.grid,
        &policy.pattern_rules,
        &mut rand::rngs::OsRng,
    );
    let notice = matrix::render_notice(&policy.grid, &pattern)
        .map_err(|e| anyhow::anyhow!("initial pattern notice: {e}"))?;
    let secret = MatrixSecret {
        pattern: pattern.clone(),
        phrase: None,
    };
    let sealed = secrets::seal_matrix(ring, user.tenant_id, user.id, &secret);
    store.set_matrix_secret(user.id, &sealed, true, now).await?;
    Ok(Issued {
        user_id: user.id,
        pattern,
        notice,
    })
}

/// Creates a user with a random initial pattern. `Ok(None)` when the name is taken.
pub async fn add_user(
    store: &Store,
    ring: &Keyring,
    new: &NewUser,
    group: Option<&str>,
    actor: &str,
    now: i64,
) -> anyhow::Result<Option<Issued>> {
    let Some(id) = store.create_user(new, now).await? else {
        return Ok(None);
    };
    if let Some(g) = group {
        let gid = store.ensure_group(new.tenant_id, g, "adhoc").await?;
        store.add_to_group(id, gid).await?;
    }
    let user = store
        .user_by_id(id)
        .await?
        .ok_or_else(|| anyhow::anyhow!("user vanished"))?;
    let issued = issue_initial_pattern(store, ring, &user, now).await?;
    audit(
        store,
        now,
        new.tenant_id,
        actor,
        "user.created",
        &new.name,
        json!({ "group": group }),
    )
    .await?;
    Ok(Some(issued))
}

/// Gives a user a new random initial pattern and ends their sessions.
pub async fn reset_pattern(
    store: &Store,
    ring: &Keyring,
    user: &UserRow,
    actor: &str,
    now: i64,
) -> anyhow::Result<Issued> {
    let issued = issue_initial_pattern(store, ring, user, now).await?;
    store.delete_user_sessions(user.id).await?;
    audit(
        store,
        now,
        user.tenant_id,
        actor,
        "pattern.reset",
        &user.name,
        json!({}),
    )
    .await?;
    Ok(issued)
}

/// Sets a known pattern that needs no change at sign-in (demo users).
pub async fn set_pattern(
    store: &Store,
    ring: &Keyring,
    user: &UserRow,
    pattern: Pattern,
    now: i64,
) -> anyhow::Result<()> {
    let sealed = secrets::seal_matrix(
        ring,
        user.tenant_id,
        user.id,
        &MatrixSecret {
            pattern,
            phrase: None,
        },
    );
    store.set_matrix_secret(user.id, &sealed, false, now).await
}

/// The JSON shape `user show` / `user list --json` print (documented in docs/testability.md).
pub async fn user_json(store: &Store, u: &UserRow) -> anyhow::Result<serde_json::Value> {
    Ok(json!({
        "name": u.name,
        "display_name": u.display_name,
        "email": u.email,
        "enabled": u.enabled,
        "admin": u.is_admin,
        "locked": u.locked,
        "failed_attempts": u.failed_attempts,
        "must_change_pattern": u.must_change_pattern,
        "groups": store.user_groups(u.id).await?,
        "given_name": u.given_name,
        "family_name": u.family_name,
        "department": u.department,
        "position": u.position,
        "valid_from": u.valid_from,
        "valid_until": u.valid_until,
        "attributes": u.attributes,
    }))
}
