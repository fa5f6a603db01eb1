//! Runs a CSV import against a store: loads the tenant's users and memberships, plans the file
//! ([`super::csv`]), and — when no row is rejected and it is not a dry run — applies the plan in
//! one transaction ([`Store::apply_bulk`]). New users get sealed random initial patterns chosen
//! under the policy of the groups they join (else the tenant default); their printable notices
//! are returned only when asked for, for the caller to write to a file (never to the audit
//! trail or the log). One audit event per run, with counts only.

use std::collections::HashMap;
use std::sync::Arc;

use passlogic_idp_core::factor::matrix::{self, GridSpec, MatrixSecret, Pattern};
use passlogic_idp_core::policy::AuthPolicy;
use passlogic_idp_core::seal::Keyring;
use serde_json::json;

use super::csv::{self, Action, CurrentUser, Encoding, Plan, Target};
use crate::admin;
use crate::secrets;
use crate::store::{BulkUpdate, BulkUser, Store};

/// How to run one import.
#[derive(Clone, Debug, Default)]
pub struct ImportOptions {
    /// Plan only; change nothing.
    pub dry_run: bool,
    /// Force the file's encoding (default: detect UTF-8, else Shift_JIS).
    pub encoding: Option<Encoding>,
    /// Render the new users' notices (for `--notices FILE`).
    pub want_notices: bool,
    /// Who runs it, for the audit trail (`cli`, `csv-drop`).
    pub actor: String,
    /// What the audit event names as its subject (the file name).
    pub source: String,
    /// Reject rows naming a group that does not exist (the console's default) instead of
    /// creating it (the CLI's and drops' behaviour).
    pub reject_unknown_groups: bool,
    /// The audit event of an applied import (empty: `user.import`).
    pub audit_event: String,
    /// Render at most this many notices (the first new users in file order; 0: all). The
    /// other new users' patterns are sealed and never shown, as for CSV drops.
    pub notice_limit: usize,
    /// Extra audit detail merged into the event (e.g. the console's `source_ip`, `sha256`).
    pub audit_extra: serde_json::Map<String, serde_json::Value>,
}

/// A new user's initial pattern, for a printable notice (only when notices were asked for).
pub struct NewUserNotice {
    /// Sign-in name.
    pub name: String,
    /// Name shown on pages.
    pub display_name: String,
    /// The grid of the user's policy.
    pub grid: GridSpec,
    /// The initial pattern.
    pub pattern: Pattern,
    /// The text notice.
    pub notice: String,
}

impl std::fmt::Debug for NewUserNotice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewUserNotice")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

/// The outcome of one import.
#[derive(Debug)]
pub struct ImportReport {
    /// The plan (with rejected rows, if any).
    pub plan: Plan,
    /// Whether the plan was stored.
    pub applied: bool,
    /// `user: NAME` / `initial-pattern:` / `notice:` blocks of the new users, when asked for.
    pub notices: Option<String>,
    /// The same, structured (file order), when asked for.
    pub new_users: Vec<NewUserNotice>,
}

impl ImportReport {
    /// The human report: summary, outcome, then the rejected rows.
    pub fn text(&self) -> String {
        let mut s = self.plan.summary();
        s.push('\n');
        s.push_str(if self.applied {
            "result: applied\n"
        } else if self.plan.rejected.is_empty() {
            "result: dry-run, nothing applied\n"
        } else {
            "result: rejected, nothing applied\n"
        });
        for r in &self.plan.rejected {
            s.push_str(&format!("line {}: {}: {}\n", r.line, r.name, r.reason));
        }
        s
    }
}

fn to_bulk(t: &Target) -> BulkUser {
    BulkUser {
        name: t.name.clone(),
        display_name: t.display_name.clone(),
        email: t.email.clone(),
        given_name: t.given_name.clone(),
        family_name: t.family_name.clone(),
        department: t.department.clone(),
        position: t.position.clone(),
        enabled: t.enabled,
        attributes: t.attributes.clone(),
        groups: t.groups.clone(),
    }
}

/// Parses and plans `bytes` against the tenant's users, and applies unless rejected or a dry
/// run. A broken file (encoding, header) is an `Err` and changes nothing.
pub async fn run(
    store: &Store,
    ring: &Arc<Keyring>,
    tenant_id: i64,
    bytes: &[u8],
    options: &ImportOptions,
    now: i64,
) -> anyhow::Result<ImportReport> {
    let started = std::time::Instant::now();
    let text = csv::decode(bytes, options.encoding)?;
    let (wanted, rejected) = csv::parse(&text)?;
    let parsed_at = started.elapsed();

    let mut groups: HashMap<i64, Vec<String>> = HashMap::new();
    for (uid, g) in store.tenant_memberships(tenant_id).await? {
        groups.entry(uid).or_default().push(g);
    }
    let current: HashMap<String, CurrentUser> = store
        .list_users(tenant_id)
        .await?
        .into_iter()
        .map(|u| {
            let mut gs = groups.remove(&u.id).unwrap_or_default();
            gs.sort();
            let c = CurrentUser {
                id: u.id,
                name: u.name.clone(),
                display_name: u.display_name,
                email: u.email,
                given_name: u.given_name,
                family_name: u.family_name,
                department: u.department,
                position: u.position,
                enabled: u.enabled,
                attributes: u.attributes,
                groups: gs,
            };
            (u.name, c)
        })
        .collect();
    let loaded_at = started.elapsed();
    let mut plan = csv::plan(wanted, rejected, &current);
    if options.reject_unknown_groups {
        let known = store
            .list_groups(tenant_id)
            .await?
            .into_iter()
            .map(|g| g.name)
            .collect();
        csv::reject_unknown_groups(&mut plan, &known);
    }
    tracing::info!(
        parse_ms = parsed_at.as_millis() as u64,
        load_ms = (loaded_at - parsed_at).as_millis() as u64,
        plan_ms = (started.elapsed() - loaded_at).as_millis() as u64,
        "csv import planned"
    );
    if options.dry_run || !plan.rejected.is_empty() {
        return Ok(ImportReport {
            plan,
            applied: false,
            notices: None,
            new_users: Vec::new(),
        });
    }

    let mut creates = Vec::new();
    let mut updates = Vec::new();
    for row in &plan.rows {
        match &row.action {
            Action::Create(t) => creates.push(to_bulk(t)),
            Action::Update {
                id,
                target,
                groups_changed,
                ..
            } => updates.push(BulkUpdate {
                id: *id,
                user: to_bulk(target),
                set_groups: *groups_changed,
            }),
            Action::Unchanged => {}
        }
    }

    // The initial pattern follows the policy the user will have: their highest-priority group
    // with a policy, else the tenant default (as `Store::effective_policy` decides).
    let group_policies = store.group_policy_settings(tenant_id).await?;
    let default_policy = store.effective_policy(tenant_id, None).await?;
    let mut parsed: HashMap<String, AuthPolicy> = HashMap::new();
    let mut policy_of: HashMap<String, String> = HashMap::new();
    for u in &creates {
        let best = u
            .groups
            .iter()
            .filter_map(|g| group_policies.get(g).map(|(p, id, s)| (*p, *id, s)))
            .min_by_key(|(p, id, _)| (*p, *id));
        if let Some((_, _, settings)) = best {
            if !parsed.contains_key(settings) {
                let p: AuthPolicy = serde_json::from_str(settings)?;
                parsed.insert(settings.clone(), p);
            }
            policy_of.insert(u.name.clone(), settings.clone());
        }
    }
    let mut notices = options.want_notices.then(String::new);
    let mut new_users = Vec::new();
    let display: HashMap<&str, &str> = creates
        .iter()
        .map(|u| (u.name.as_str(), u.display_name.as_str()))
        .collect();
    let seal = |id: i64, name: &str| -> anyhow::Result<Vec<u8>> {
        let policy = policy_of
            .get(name)
            .and_then(|s| parsed.get(s))
            .unwrap_or(&default_policy);
        let pattern = matrix::generate_initial_pattern(
            &policy.grid,
            &policy.pattern_rules,
            &mut rand::rngs::OsRng,
        );
        let room = options.notice_limit == 0 || new_users.len() < options.notice_limit;
        if let Some(out) = notices.as_mut().filter(|_| room) {
            let notice = matrix::render_notice(&policy.grid, &pattern)
                .map_err(|e| anyhow::anyhow!("initial pattern notice: {e}"))?;
            out.push_str(&format!(
                "user: {name}\ninitial-pattern: {}\nnotice:\n",
                pattern.to_csv()
            ));
            for line in notice.lines() {
                out.push_str(&format!("  {line}\n"));
            }
            new_users.push(NewUserNotice {
                name: name.to_owned(),
                display_name: display.get(name).copied().unwrap_or(name).to_owned(),
                grid: policy.grid,
                pattern: pattern.clone(),
                notice,
            });
        }
        let secret = MatrixSecret {
            pattern,
            phrase: None,
        };
        Ok(secrets::seal_matrix(ring, tenant_id, id, &secret))
    };
    let order: HashMap<String, usize> = creates
        .iter()
        .enumerate()
        .map(|(i, u)| (u.name.clone(), i))
        .collect();
    let apply_start = std::time::Instant::now();
    if !creates.is_empty() || !updates.is_empty() {
        store
            .apply_bulk(tenant_id, &creates, &updates, seal, now)
            .await?;
    }
    tracing::info!(
        apply_ms = apply_start.elapsed().as_millis() as u64,
        "csv import applied"
    );
    let (c, u, n, _) = plan.counts();
    let mut detail = json!({ "created": c, "updated": u, "unchanged": n });
    if let Some(d) = detail.as_object_mut() {
        d.extend(options.audit_extra.clone());
    }
    let event = if options.audit_event.is_empty() {
        "user.import"
    } else {
        options.audit_event.as_str()
    };
    admin::audit(
        store,
        now,
        tenant_id,
        &options.actor,
        event,
        &options.source,
        detail,
    )
    .await?;
    new_users.sort_by_key(|n| order.get(n.name.as_str()).copied().unwrap_or(usize::MAX));
    Ok(ImportReport {
        plan,
        applied: true,
        notices,
        new_users,
    })
}
