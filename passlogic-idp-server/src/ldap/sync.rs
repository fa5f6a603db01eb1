//! Running a sync of one source: take the source's lease, read the directory, plan, apply in
//! one transaction (unless a dry run), log the run and audit it with its counts; and the
//! schedule of `serve --ldap-sync-interval`.
//!
//! Only one sync of a source runs at a time, across nodes: the lease row (see
//! `Store::take_ldap_lease`) is taken by a single conditional upsert, so with several nodes
//! sharing PostgreSQL every node may run the schedule and each source is still synced by one
//! of them per round. A crashed holder's lease expires after [`LEASE_SECS`].

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Instant;

use passlogic_idp_core::factor::matrix::{self, MatrixSecret};
use passlogic_idp_core::seal::Keyring;
use serde_json::json;

use super::plan::{self, Current, Plan};
use super::{fetch, mapping, source};
use crate::clock::Clock;
use crate::secrets;
use crate::store::{AuditEvent, LdapSourceRow, Store};

/// How long a sync may hold its source's lease.
pub const LEASE_SECS: i64 = 3600;

/// A finished sync.
#[derive(Debug)]
pub struct Report {
    /// The changes and counts.
    pub plan: Plan,
    /// Entries the directory returned.
    pub entries: usize,
    /// Wall time of the whole run, in milliseconds.
    pub elapsed_ms: u128,
}

/// Syncs one source (or only plans it, with `dry_run`). `holder` names this node in the lease.
pub async fn run(
    store: &Store,
    ring: &Keyring,
    src: &LdapSourceRow,
    dry_run: bool,
    actor: &str,
    holder: &str,
    now: i64,
) -> anyhow::Result<Report> {
    anyhow::ensure!(
        store
            .take_ldap_lease(src.id, holder, now, now + LEASE_SECS)
            .await?,
        "ldap source {}: another sync of it is running (lease held)",
        src.name
    );
    let started = Instant::now();
    let result = run_leased(store, ring, src, dry_run, now).await;
    store.release_ldap_lease(src.id, holder).await?;
    let elapsed_ms = started.elapsed().as_millis();
    let (outcome, counts, report) = match &result {
        Ok((p, entries)) => (
            "success".to_owned(),
            p.counts.clone(),
            json!({
                "entries": entries,
                "elapsed_ms": elapsed_ms as u64,
                "changes": p.changes.iter()
                    .filter(|c| c.action != plan::Action::Unchanged)
                    .map(plan::line)
                    .collect::<Vec<_>>(),
            }),
        ),
        Err(e) => (
            "failure".to_owned(),
            Default::default(),
            json!({ "error": format!("{e:#}") }),
        ),
    };
    let finished = now + i64::try_from(elapsed_ms / 1000).unwrap_or(0);
    store
        .record_ldap_run(src.id, now, finished, dry_run, &outcome, &counts, &report)
        .await?;
    store
        .audit(&AuditEvent {
            at: now,
            tenant_id: Some(src.tenant_id),
            actor: actor.to_owned(),
            event: if dry_run {
                "ldap.sync.dry_run"
            } else {
                "ldap.sync"
            }
            .to_owned(),
            subject: src.name.clone(),
            outcome,
            detail: json!({ "counts": counts, "entries": report.get("entries"),
                            "error": report.get("error") }),
            source_ip: None,
        })
        .await?;
    let (plan, entries) = result?;
    Ok(Report {
        plan,
        entries,
        elapsed_ms,
    })
}

async fn run_leased(
    store: &Store,
    ring: &Keyring,
    src: &LdapSourceRow,
    dry_run: bool,
    now: i64,
) -> anyhow::Result<(Plan, usize)> {
    let map = source::attribute_map(src)?;
    let password = source::password(ring, src)?;
    let entries = fetch::search(fetch::Query {
        url: &src.url,
        start_tls: src.start_tls,
        tls_ca: src.tls_ca.as_deref(),
        bind_dn: &src.bind_dn,
        password: &password,
        base_dn: &src.base_dn,
        filter: &src.filter,
        attributes: mapping::requested_attributes(
            &map,
            src.group_attr.as_deref(),
            src.active_directory,
        ),
        page_size: i32::try_from(src.page_size).unwrap_or(500),
    })
    .await?;
    drop(password);
    let count = entries.len();
    let mut mapped = Vec::new();
    let mut skipped = Vec::new();
    for e in &entries {
        match mapping::map_entry(e, &map, src.group_attr.as_deref(), src.active_directory) {
            Ok(m) => mapped.push(m),
            Err(reason) => skipped.push((e.dn.clone(), reason)),
        }
    }
    let users = store.list_users(src.tenant_id).await?;
    let links = store.ldap_links(src.id).await?;
    let other_sources: HashSet<i64> = store
        .ldap_linked_user_ids()
        .await?
        .into_iter()
        .filter(|(_, s)| *s != src.id)
        .map(|(u, _)| u)
        .collect();
    let p = plan::plan(
        mapped,
        skipped,
        &Current {
            users: &users,
            links: &links,
            other_sources: &other_sources,
            delete_missing: src.missing == "delete",
        },
    );
    if !dry_run && !p.writes.is_empty() {
        let policy = store.effective_policy(src.tenant_id, None).await?;
        let tenant_id = src.tenant_id;
        let seal = move |user_id: i64| {
            let pattern = matrix::generate_initial_pattern(
                &policy.grid,
                &policy.pattern_rules,
                &mut rand::rngs::OsRng,
            );
            let secret = MatrixSecret {
                pattern,
                phrase: None,
            };
            secrets::seal_matrix(ring, tenant_id, user_id, &secret)
        };
        store
            .apply_ldap_sync(src.tenant_id, src.id, &p.writes, &seal, now)
            .await?;
    }
    Ok((p, count))
}

/// Syncs every source of every tenant every `interval_secs`, forever (spawned by `serve`).
/// Failures are logged and retried at the next round.
pub async fn schedule(store: Store, ring: Arc<Keyring>, clock: Arc<Clock>, interval_secs: u64) {
    let holder = format!("node-{}", crate::tokens::new_token());
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(interval_secs.max(1)));
    loop {
        tick.tick().await;
        let sources = match store.all_ldap_sources().await {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!("ldap sync: cannot list the sources: {e:#}");
                continue;
            }
        };
        for src in sources {
            match run(
                &store,
                &ring,
                &src,
                false,
                "schedule",
                &holder,
                clock.unix(),
            )
            .await
            {
                Ok(r) => tracing::info!(
                    source = %src.name,
                    created = r.plan.counts.created,
                    updated = r.plan.counts.updated,
                    disabled = r.plan.counts.disabled,
                    elapsed_ms = r.elapsed_ms as u64,
                    "ldap sync done"
                ),
                Err(e) => tracing::warn!(source = %src.name, "ldap sync failed: {e:#}"),
            }
        }
    }
}
