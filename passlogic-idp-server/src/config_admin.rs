//! Group, factor-policy and access-policy changes made by an administrator in the console:
//! validated like `group add` / `policy put` / `access-policy put` and the admin API (the core's
//! `AuthPolicy::validate` and `AccessPolicy::validate`, `cli::policy::parse_combinations`), stored,
//! and audited with the state before and after. The console handlers only parse and render.

use passlogic_idp_core::policy::engine::AccessPolicy;
use passlogic_idp_core::policy::AuthPolicy;
use serde_json::{json, Value};

use crate::store::{AuditEvent, GroupRow, Store};

/// Who made a change, for the audit trail.
#[derive(Clone, Debug)]
pub struct Actor {
    /// `console:NAME`.
    pub name: String,
    /// The client address.
    pub ip: Option<String>,
}

#[allow(clippy::too_many_arguments)]
async fn audit(
    store: &Store,
    tenant_id: i64,
    actor: &Actor,
    now: i64,
    event: &str,
    subject: &str,
    before: Value,
    after: Value,
) -> anyhow::Result<()> {
    store
        .audit(&AuditEvent {
            at: now,
            tenant_id: Some(tenant_id),
            actor: actor.name.clone(),
            event: event.to_owned(),
            subject: subject.to_owned(),
            outcome: "success".to_owned(),
            detail: json!({ "before": before, "after": after }),
            source_ip: actor.ip.clone(),
        })
        .await
}

/// Group kinds.
pub const GROUP_KINDS: &[&str] = &["department", "position", "adhoc"];

/// A group or policy name: 1 to 128 visible characters without `/` (it is a path segment of
/// the console) and without control characters.
pub fn valid_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 128
        && s.trim() == s
        && !s.chars().any(|c| c.is_control() || c == '/')
}

/// Why a change was refused, in words for the administrator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The name is not usable.
    BadName,
    /// A group of that name exists already.
    GroupExists,
    /// No such group.
    NoSuchGroup,
    /// No such policy.
    NoSuchPolicy,
    /// Kind not one of [`GROUP_KINDS`].
    BadKind,
    /// The validator's message.
    Invalid(String),
}

async fn group_row(store: &Store, tenant_id: i64, name: &str) -> anyhow::Result<Option<GroupRow>> {
    Ok(store
        .list_groups(tenant_id)
        .await?
        .into_iter()
        .find(|g| g.name == name))
}

/// What a group is set to.
#[derive(Clone, Debug, Default)]
pub struct GroupSpec {
    /// One of [`GROUP_KINDS`].
    pub kind: String,
    /// Its factor policy, if any.
    pub policy: Option<String>,
    /// Lower wins when a user's groups have different policies.
    pub priority: i64,
}

/// Creates a group.
pub async fn create_group(
    store: &Store,
    tenant_id: i64,
    actor: &Actor,
    now: i64,
    name: &str,
    spec: &GroupSpec,
) -> anyhow::Result<Result<GroupRow, Refusal>> {
    if !valid_name(name) {
        return Ok(Err(Refusal::BadName));
    }
    if !GROUP_KINDS.contains(&spec.kind.as_str()) {
        return Ok(Err(Refusal::BadKind));
    }
    let policy_id = match spec.policy.as_deref() {
        Some(p) => match store.policy_id(tenant_id, p).await? {
            Some(id) => Some(id),
            None => return Ok(Err(Refusal::NoSuchPolicy)),
        },
        None => None,
    };
    if store.group_id(tenant_id, name).await?.is_some() {
        return Ok(Err(Refusal::GroupExists));
    }
    let gid = store.ensure_group(tenant_id, name, &spec.kind).await?;
    store.set_group_policy(gid, policy_id).await?;
    store.set_group_priority(gid, spec.priority).await?;
    let after = group_row(store, tenant_id, name)
        .await?
        .ok_or_else(|| anyhow::anyhow!("group vanished"))?;
    audit(
        store,
        tenant_id,
        actor,
        now,
        "group.put",
        name,
        Value::Null,
        serde_json::to_value(&after)?,
    )
    .await?;
    Ok(Ok(after))
}

/// Changes a group's kind, policy (`None`: no policy) and priority.
pub async fn update_group(
    store: &Store,
    tenant_id: i64,
    actor: &Actor,
    now: i64,
    name: &str,
    spec: &GroupSpec,
) -> anyhow::Result<Result<GroupRow, Refusal>> {
    let Some(before) = group_row(store, tenant_id, name).await? else {
        return Ok(Err(Refusal::NoSuchGroup));
    };
    if !GROUP_KINDS.contains(&spec.kind.as_str()) {
        return Ok(Err(Refusal::BadKind));
    }
    let policy_id = match spec.policy.as_deref() {
        Some(p) => match store.policy_id(tenant_id, p).await? {
            Some(id) => Some(id),
            None => return Ok(Err(Refusal::NoSuchPolicy)),
        },
        None => None,
    };
    let gid = store
        .group_id(tenant_id, name)
        .await?
        .ok_or_else(|| anyhow::anyhow!("group vanished"))?;
    store.set_group_kind(gid, &spec.kind).await?;
    store.set_group_policy(gid, policy_id).await?;
    store.set_group_priority(gid, spec.priority).await?;
    let after = group_row(store, tenant_id, name)
        .await?
        .ok_or_else(|| anyhow::anyhow!("group vanished"))?;
    audit(
        store,
        tenant_id,
        actor,
        now,
        "group.put",
        name,
        serde_json::to_value(&before)?,
        serde_json::to_value(&after)?,
    )
    .await?;
    Ok(Ok(after))
}

/// Creates or replaces a factor policy after the core's validation.
pub async fn put_policy(
    store: &Store,
    tenant_id: i64,
    actor: &Actor,
    now: i64,
    name: &str,
    policy: &AuthPolicy,
) -> anyhow::Result<Result<(), Refusal>> {
    if !valid_name(name) {
        return Ok(Err(Refusal::BadName));
    }
    if let Err(e) = policy.validate() {
        return Ok(Err(Refusal::Invalid(e)));
    }
    let before = store.policy(tenant_id, name).await?;
    store.put_policy(tenant_id, name, policy).await?;
    audit(
        store,
        tenant_id,
        actor,
        now,
        "policy.put",
        name,
        serde_json::to_value(before)?,
        serde_json::to_value(policy)?,
    )
    .await?;
    Ok(Ok(()))
}

/// Replaces the tenant's access policy with the JSON `text` (validated like
/// `access-policy put`), or removes it when `text` is blank.
pub async fn put_access_policy(
    store: &Store,
    tenant_id: i64,
    actor: &Actor,
    now: i64,
    text: &str,
) -> anyhow::Result<Result<Option<AccessPolicy>, Refusal>> {
    let before = store.access_policy(tenant_id).await?;
    if text.trim().is_empty() {
        if before.is_some() {
            store.delete_access_policy(tenant_id).await?;
            audit(
                store,
                tenant_id,
                actor,
                now,
                "access_policy.delete",
                "access-policy",
                serde_json::to_value(before)?,
                Value::Null,
            )
            .await?;
        }
        return Ok(Ok(None));
    }
    let policy: AccessPolicy = match serde_json::from_str(text) {
        Ok(p) => p,
        Err(e) => return Ok(Err(Refusal::Invalid(format!("JSON: {e}")))),
    };
    if let Err(e) = policy.validate() {
        return Ok(Err(Refusal::Invalid(e.to_string())));
    }
    store.put_access_policy(tenant_id, &policy, now).await?;
    audit(
        store,
        tenant_id,
        actor,
        now,
        "access_policy.put",
        "access-policy",
        serde_json::to_value(before)?,
        serde_json::to_value(&policy)?,
    )
    .await?;
    Ok(Ok(Some(policy)))
}

/// Audits a service registered in the console (`saml.sp.added`, `oidc.client.added`).
pub async fn audit_service_added(
    store: &Store,
    tenant_id: i64,
    actor: &Actor,
    now: i64,
    event: &str,
    subject: &str,
    after: Value,
) -> anyhow::Result<()> {
    audit(
        store,
        tenant_id,
        actor,
        now,
        event,
        subject,
        Value::Null,
        after,
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::valid_name;

    #[test]
    fn names() {
        assert!(valid_name("sales"));
        assert!(valid_name("営業部"));
        assert!(!valid_name(""));
        assert!(!valid_name(" x"));
        assert!(!valid_name("a/b"));
        assert!(!valid_name("a\nb"));
        assert!(!valid_name(&"x".repeat(129)));
    }
}
