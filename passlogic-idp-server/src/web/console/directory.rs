//! Console directory sync (`/console/directory`): the tenant's LDAP sources (never the bind
//! password) with their last runs, and on-demand "Dry run" (the change list, like
//! `ldap-sync --dry-run`) and "Sync now" (the counts). The run itself is [`crate::ldap::sync`]
//! (lease, plan, one transaction, run log, audit), with the actor `console:NAME`.

use std::sync::Arc;

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Form;
use serde::Deserialize;

use super::layout::{texts, ConsoleChrome, Section};
use super::users::enc;
use super::Admin;
use crate::i18n::console::ConsoleTexts;
use crate::i18n::Texts;
use crate::ldap::{plan, sync};
use crate::store::LdapRunRow;
use crate::web::pages::render;
use crate::web::AppState;

/// Runs shown per source.
const RUNS: i64 = 5;
/// Change lines shown after a dry run.
const CHANGES_CAP: usize = 500;

struct SourceView {
    name: String,
    name_path: String,
    url: String,
    base_dn: String,
    bind_dn: String,
    runs: Vec<(String, LdapRunRow)>,
}

#[derive(Template)]
#[template(path = "console/directory.html")]
struct DirectoryPage {
    chrome: ConsoleChrome,
    t: &'static Texts,
    c: &'static ConsoleTexts,
    sources: Vec<SourceView>,
}

fn when(unix: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(unix)
        .map(|t| {
            format!(
                "{:04}-{:02}-{:02} {:02}:{:02}:{:02} UTC",
                t.year(),
                u8::from(t.month()),
                t.day(),
                t.hour(),
                t.minute(),
                t.second()
            )
        })
        .unwrap_or_default()
}

/// `GET /console/directory`
pub async fn list(State(state): State<Arc<AppState>>, admin: Admin) -> Response {
    let store = &state.signin.store;
    let loaded = async {
        let mut out = Vec::new();
        for s in store.ldap_sources(state.signin.tenant_id).await? {
            let runs = store
                .ldap_last_runs(s.id, RUNS)
                .await?
                .into_iter()
                .map(|r| (when(r.started_at), r))
                .collect();
            out.push(SourceView {
                name_path: enc(&s.name),
                name: s.name,
                url: s.url,
                base_dn: s.base_dn,
                bind_dn: s.bind_dn,
                runs,
            });
        }
        Ok::<_, anyhow::Error>(out)
    }
    .await;
    let sources = match loaded {
        Ok(s) => s,
        Err(e) => return admin.internal(&e),
    };
    let (t, c) = texts(&admin);
    let page = DirectoryPage {
        chrome: ConsoleChrome::new(&admin, Section::Directory, c.directory_title),
        t,
        c,
        sources,
    };
    render(StatusCode::OK, admin.jar, &page)
}

/// The run buttons.
#[derive(Deserialize)]
pub struct RunForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    op: String,
}

#[derive(Template)]
#[template(path = "console/directory_run.html")]
struct RunPage {
    chrome: ConsoleChrome,
    t: &'static Texts,
    c: &'static ConsoleTexts,
    source: String,
    dry_run: bool,
    error: Option<String>,
    entries: usize,
    counts: Vec<(&'static str, &'static str, i64)>,
    changes: Vec<String>,
    changes_total: usize,
    elapsed_ms: u128,
}

/// `POST /console/directory/{name}/run` with `op` = `dry_run` or `sync`.
pub async fn run(
    State(state): State<Arc<AppState>>,
    admin: Admin,
    Path(name): Path<String>,
    Form(form): Form<RunForm>,
) -> Response {
    if !admin.csrf_ok(&form.csrf) {
        return admin.forbidden();
    }
    let dry_run = match form.op.as_str() {
        "dry_run" => true,
        "sync" => false,
        _ => return (StatusCode::BAD_REQUEST, "unknown action\n").into_response(),
    };
    let store = &state.signin.store;
    let src = match store.ldap_sources(state.signin.tenant_id).await {
        Ok(list) => list.into_iter().find(|s| s.name == name),
        Err(e) => return admin.internal(&e),
    };
    let (t, c) = texts(&admin);
    let Some(src) = src else {
        let page = crate::web::pages::ErrorPage {
            chrome: crate::web::pages::Chrome::new(admin.lang, t.error_title, &admin.uri),
            t,
            message: c.directory_no_source,
        };
        return render(StatusCode::NOT_FOUND, admin.jar.clone(), &page);
    };
    let holder = format!("console-{}", std::process::id());
    let result = sync::run(
        store,
        &state.signin.keyring,
        &src,
        dry_run,
        &admin.actor(),
        &holder,
        state.signin.clock.unix(),
    )
    .await;
    let mut page = RunPage {
        chrome: ConsoleChrome::new(&admin, Section::Directory, c.directory_run_title),
        t,
        c,
        source: src.name.clone(),
        dry_run,
        error: None,
        entries: 0,
        counts: Vec::new(),
        changes: Vec::new(),
        changes_total: 0,
        elapsed_ms: 0,
    };
    let status = match result {
        Ok(r) => {
            let k = &r.plan.counts;
            page.entries = r.entries;
            page.elapsed_ms = r.elapsed_ms;
            page.counts = vec![
                ("created", c.import_count_created, k.created),
                ("updated", c.import_count_changed, k.updated),
                ("disabled", c.directory_disabled, k.disabled),
                ("deleted", c.directory_deleted, k.deleted),
                ("unchanged", c.import_count_unchanged, k.unchanged),
                ("skipped", c.directory_skipped, k.skipped),
            ];
            let changes: Vec<String> = r
                .plan
                .changes
                .iter()
                .filter(|ch| ch.action != plan::Action::Unchanged)
                .map(plan::line)
                .collect();
            page.changes_total = changes.len();
            page.changes = changes.into_iter().take(CHANGES_CAP).collect();
            StatusCode::OK
        }
        // The directory unreachable, the lease held, a bad filter: shown, logged in the run
        // log by the sync itself.
        Err(e) => {
            page.error = Some(format!("{e:#}"));
            StatusCode::BAD_GATEWAY
        }
    };
    render(status, admin.jar, &page)
}
