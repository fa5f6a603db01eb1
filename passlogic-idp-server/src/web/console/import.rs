//! Console CSV bulk import (`/console/import`): upload -> dry run -> apply, on the engine of
//! `passlogic-idp user import` ([`crate::provisioning::import`]: decoding UTF-8 / Shift_JIS,
//! planning against one bulk read, applying all or nothing in one transaction).
//!
//! The file reviewed is the file applied: the upload is kept server-side (table
//! `import_uploads`, migration 0015) under the hash of a random id, bound to the tenant and to
//! the administrator who uploaded it, for an hour; the apply takes (deletes) it first, so it
//! runs once, and checks its SHA-256 again. New users' initial-pattern notices are shown once
//! on the result page (up to [`NOTICE_CAP`]; beyond that the patterns stay sealed and are handed
//! out with a pattern reset, like users created by a CSV drop).
//!
//! The engine only has an all-or-nothing mode (a bad row means nothing is applied), so the
//! console offers no per-row mode.

use std::sync::Arc;

use askama::Template;
use axum::extract::{Multipart, Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::{Digest, Sha256};

use super::layout::{texts, ConsoleChrome, Section};
use super::users::{notice_rows, NoticeCell};
use super::Admin;
use crate::admin;
use crate::i18n::console::ConsoleTexts;
use crate::i18n::Texts;
use crate::provisioning::csv::{Action, Encoding};
use crate::provisioning::import::{self, ImportOptions, ImportReport};
use crate::store::ImportUpload;
use crate::tokens;
use crate::web::pages::render;
use crate::web::AppState;

/// Largest accepted upload (100,000 rows of a dozen columns fit several times).
pub const MAX_UPLOAD: usize = 64 << 20;
/// How long an upload waits for its apply.
const UPLOAD_TTL: i64 = 3600;
/// Rows of each kind listed on the dry-run page (the full list is the report CSV).
const LIST_CAP: usize = 200;
/// Most notices shown on the result page.
pub const NOTICE_CAP: usize = 500;

/// Options chosen at upload, kept with the file.
#[derive(Serialize, Deserialize, Default, Clone)]
struct UploadOptions {
    /// Create groups the file names that do not exist (else such rows are rejected).
    #[serde(default)]
    create_groups: bool,
    /// `utf-8`, `shift_jis` or empty (detect).
    #[serde(default)]
    encoding: String,
}

#[derive(Template)]
#[template(path = "console/import.html")]
struct UploadPage {
    chrome: ConsoleChrome,
    t: &'static Texts,
    c: &'static ConsoleTexts,
    error: Option<&'static str>,
}

fn upload_page(admin: Admin, status: StatusCode, error: Option<&'static str>) -> Response {
    let (t, c) = texts(&admin);
    let page = UploadPage {
        chrome: ConsoleChrome::new(&admin, Section::Import, c.import_title),
        t,
        c,
        error,
    };
    render(status, admin.jar, &page)
}

/// `GET /console/import`: the upload form.
pub async fn form(admin: Admin) -> Response {
    upload_page(admin, StatusCode::OK, None)
}

/// `POST /console/import` (multipart: `csrf`, `file`, `encoding`, `create_groups`): stores the
/// file and redirects to its dry run.
pub async fn upload(
    State(state): State<Arc<AppState>>,
    admin: Admin,
    multipart: Result<Multipart, axum::extract::multipart::MultipartRejection>,
) -> Response {
    let c = admin.lang.console();
    let Ok(mut multipart) = multipart else {
        return upload_page(admin, StatusCode::BAD_REQUEST, Some(c.import_err_form));
    };
    let mut csrf = String::new();
    let mut file: Option<(String, Vec<u8>)> = None;
    let mut options = UploadOptions::default();
    loop {
        let field = match multipart.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(e) => {
                tracing::info!("console import upload: {e}");
                let status = if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                    StatusCode::PAYLOAD_TOO_LARGE
                } else {
                    StatusCode::BAD_REQUEST
                };
                return upload_page(admin, status, Some(c.import_err_form));
            }
        };
        let name = field.name().unwrap_or("").to_owned();
        let file_name = field.file_name().unwrap_or("upload.csv").to_owned();
        let bytes = match field.bytes().await {
            Ok(b) => b,
            Err(_) => return upload_page(admin, StatusCode::BAD_REQUEST, Some(c.import_err_form)),
        };
        match name.as_str() {
            "csrf" => csrf = String::from_utf8_lossy(&bytes).into_owned(),
            "file" => file = Some((file_name, bytes.to_vec())),
            "create_groups" => options.create_groups = !bytes.is_empty(),
            "encoding" => options.encoding = String::from_utf8_lossy(&bytes).into_owned(),
            _ => {}
        }
    }
    if !admin.csrf_ok(&csrf) {
        return admin.forbidden();
    }
    if !matches!(options.encoding.as_str(), "" | "utf-8" | "shift_jis") {
        return upload_page(
            admin,
            StatusCode::UNPROCESSABLE_ENTITY,
            Some(c.import_err_form),
        );
    }
    let Some((file_name, content)) = file.filter(|(_, b)| !b.is_empty()) else {
        return upload_page(
            admin,
            StatusCode::UNPROCESSABLE_ENTITY,
            Some(c.import_err_empty),
        );
    };
    let file_name: String = file_name
        .chars()
        .filter(|c| !c.is_control())
        .take(200)
        .collect();
    let now = state.signin.clock.unix();
    let id = tokens::new_token();
    let upload = ImportUpload {
        tenant_id: state.signin.tenant_id,
        admin_id: admin.user.id,
        created_at: now,
        expires_at: now + UPLOAD_TTL,
        file_name,
        sha256: hex::encode(Sha256::digest(&content)),
        options: serde_json::to_string(&options).unwrap_or_default(),
        content,
    };
    match state
        .signin
        .store
        .put_import_upload(&tokens::hash_token(&id), &upload)
        .await
    {
        Ok(()) => Redirect::to(&format!("/console/import/{id}")).into_response(),
        Err(e) => admin.internal(&e),
    }
}

/// Why an upload id cannot be used.
enum Gone {
    /// Unknown, applied already, or another administrator's / tenant's.
    Unknown,
    /// Past its hour.
    Expired,
}

async fn load(
    state: &AppState,
    admin: &Admin,
    id: &str,
) -> anyhow::Result<Result<ImportUpload, Gone>> {
    let Some(u) = state
        .signin
        .store
        .import_upload(&tokens::hash_token(id))
        .await?
    else {
        return Ok(Err(Gone::Unknown));
    };
    // Another administrator's upload is as unknown as a made-up id: no oracle.
    if u.tenant_id != state.signin.tenant_id || u.admin_id != admin.user.id {
        return Ok(Err(Gone::Unknown));
    }
    if u.expires_at <= state.signin.clock.unix() {
        return Ok(Err(Gone::Expired));
    }
    Ok(Ok(u))
}

fn gone_page(admin: Admin, gone: Gone) -> Response {
    let c = admin.lang.console();
    let (status, error) = match gone {
        Gone::Unknown => (StatusCode::NOT_FOUND, c.import_err_unknown),
        Gone::Expired => (StatusCode::GONE, c.import_err_expired),
    };
    upload_page(admin, status, Some(error))
}

fn options_of(u: &ImportUpload) -> UploadOptions {
    serde_json::from_str(&u.options).unwrap_or_default()
}

fn import_options(admin: &Admin, u: &ImportUpload, dry_run: bool) -> ImportOptions {
    let o = options_of(u);
    let mut extra = serde_json::Map::new();
    extra.insert("sha256".into(), json!(u.sha256));
    extra.insert("source_ip".into(), json!(admin.ip));
    ImportOptions {
        dry_run,
        encoding: match o.encoding.as_str() {
            "utf-8" => Some(Encoding::Utf8),
            "shift_jis" => Some(Encoding::ShiftJis),
            _ => None,
        },
        want_notices: !dry_run,
        notice_limit: NOTICE_CAP,
        actor: admin.actor(),
        source: u.file_name.clone(),
        reject_unknown_groups: !o.create_groups,
        audit_event: "import.applied".to_owned(),
        audit_extra: extra,
    }
}

/// A listed row of the dry run.
struct Line {
    line: u64,
    name: String,
    detail: String,
}

#[derive(Template)]
#[template(path = "console/import_plan.html")]
struct PlanPage {
    chrome: ConsoleChrome,
    t: &'static Texts,
    c: &'static ConsoleTexts,
    id: String,
    file_name: String,
    sha256: String,
    create_groups: bool,
    fatal: Option<String>,
    created: usize,
    changed: usize,
    unchanged: usize,
    rejected: usize,
    created_rows: Vec<Line>,
    changed_rows: Vec<Line>,
    rejected_rows: Vec<Line>,
    cap: usize,
    can_apply: bool,
}

fn plan_page(
    admin: Admin,
    status: StatusCode,
    id: &str,
    u: &ImportUpload,
    outcome: &anyhow::Result<ImportReport>,
) -> Response {
    let (t, c) = texts(&admin);
    let mut page = PlanPage {
        chrome: ConsoleChrome::new(&admin, Section::Import, c.import_plan_title),
        t,
        c,
        id: id.to_owned(),
        file_name: u.file_name.clone(),
        sha256: u.sha256.clone(),
        create_groups: options_of(u).create_groups,
        fatal: None,
        created: 0,
        changed: 0,
        unchanged: 0,
        rejected: 0,
        created_rows: Vec::new(),
        changed_rows: Vec::new(),
        rejected_rows: Vec::new(),
        cap: LIST_CAP,
        can_apply: false,
    };
    match outcome {
        Err(e) => page.fatal = Some(format!("{e:#}")),
        Ok(r) => {
            let (cr, ch, un, rj) = r.plan.counts();
            (page.created, page.changed, page.unchanged, page.rejected) = (cr, ch, un, rj);
            for row in &r.plan.rows {
                match &row.action {
                    Action::Create(_) if page.created_rows.len() < LIST_CAP => {
                        page.created_rows.push(Line {
                            line: row.line,
                            name: row.name.clone(),
                            detail: String::new(),
                        })
                    }
                    Action::Update { fields, .. } if page.changed_rows.len() < LIST_CAP => {
                        page.changed_rows.push(Line {
                            line: row.line,
                            name: row.name.clone(),
                            detail: fields.join(", "),
                        })
                    }
                    _ => {}
                }
            }
            page.rejected_rows = r
                .plan
                .rejected
                .iter()
                .take(LIST_CAP)
                .map(|x| Line {
                    line: x.line,
                    name: x.name.clone(),
                    detail: x.reason.clone(),
                })
                .collect();
            page.can_apply = rj == 0 && (cr + ch) > 0;
        }
    }
    let status = if page.fatal.is_some() || page.rejected > 0 {
        if status == StatusCode::OK {
            StatusCode::UNPROCESSABLE_ENTITY
        } else {
            status
        }
    } else {
        status
    };
    render(status, admin.jar, &page)
}

async fn dry_run(
    state: &AppState,
    admin: &Admin,
    u: &ImportUpload,
) -> anyhow::Result<ImportReport> {
    import::run(
        &state.signin.store,
        &state.signin.keyring,
        state.signin.tenant_id,
        &u.content,
        &import_options(admin, u, true),
        state.signin.clock.unix(),
    )
    .await
}

/// `GET /console/import/{id}`: the dry run of an upload.
pub async fn show(
    State(state): State<Arc<AppState>>,
    admin: Admin,
    Path(id): Path<String>,
) -> Response {
    let u = match load(&state, &admin, &id).await {
        Ok(Ok(u)) => u,
        Ok(Err(g)) => return gone_page(admin, g),
        Err(e) => return admin.internal(&e),
    };
    let started = std::time::Instant::now();
    let outcome = dry_run(&state, &admin, &u).await;
    tracing::info!(
        ms = started.elapsed().as_millis() as u64,
        "console import dry run"
    );
    plan_page(admin, StatusCode::OK, &id, &u, &outcome)
}

/// A cell as a spreadsheet may safely open it: text that a spreadsheet would run as a formula
/// (`=`, `+`, `-`, `@`, tab, CR first, as OWASP's "CSV injection" lists) gets a leading `'`.
/// The rejected rows echo whatever the uploaded file held.
fn safe_cell(v: &str) -> String {
    if v.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{v}")
    } else {
        v.to_owned()
    }
}

/// A CSV download with a UTF-8 BOM (so Excel reads it as UTF-8).
fn csv_download(file_name: &str, header: &[&str], rows: Vec<Vec<String>>) -> Response {
    let mut w = csv::Writer::from_writer(b"\xEF\xBB\xBF".to_vec());
    let _ = w.write_record(header);
    for r in rows {
        let _ = w.write_record(r.iter().map(|c| safe_cell(c)));
    }
    let body = w.into_inner().unwrap_or_default();
    (
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{file_name}\""),
            ),
            (header::CACHE_CONTROL, "no-store".to_owned()),
        ],
        body,
    )
        .into_response()
}

fn rejected_rows(outcome: &anyhow::Result<ImportReport>) -> Vec<Vec<String>> {
    match outcome {
        // A file that cannot be read at all: one line for the header row.
        Err(e) => vec![vec!["1".into(), String::new(), format!("{e:#}")]],
        Ok(r) => r
            .plan
            .rejected
            .iter()
            .map(|x| vec![x.line.to_string(), x.name.clone(), x.reason.clone()])
            .collect(),
    }
}

/// `GET /console/import/{id}/errors.csv`: `row,login_name,reason`.
pub async fn errors_csv(
    State(state): State<Arc<AppState>>,
    admin: Admin,
    Path(id): Path<String>,
) -> Response {
    let u = match load(&state, &admin, &id).await {
        Ok(Ok(u)) => u,
        Ok(Err(g)) => return gone_page(admin, g),
        Err(e) => return admin.internal(&e),
    };
    let outcome = dry_run(&state, &admin, &u).await;
    csv_download(
        "import-errors.csv",
        &["row", "login_name", "reason"],
        rejected_rows(&outcome),
    )
}

/// `GET /console/import/{id}/report.csv`: every row, `row,login_name,action,detail`.
pub async fn report_csv(
    State(state): State<Arc<AppState>>,
    admin: Admin,
    Path(id): Path<String>,
) -> Response {
    let u = match load(&state, &admin, &id).await {
        Ok(Ok(u)) => u,
        Ok(Err(g)) => return gone_page(admin, g),
        Err(e) => return admin.internal(&e),
    };
    let outcome = dry_run(&state, &admin, &u).await;
    let mut rows: Vec<(u64, Vec<String>)> = Vec::new();
    if let Ok(r) = &outcome {
        for row in &r.plan.rows {
            let (action, detail) = match &row.action {
                Action::Create(_) => ("create", String::new()),
                Action::Update { fields, .. } => ("update", fields.join(";")),
                Action::Unchanged => ("unchanged", String::new()),
            };
            rows.push((
                row.line,
                vec![
                    row.line.to_string(),
                    row.name.clone(),
                    action.into(),
                    detail,
                ],
            ));
        }
    }
    for mut r in rejected_rows(&outcome) {
        r.insert(2, "rejected".into());
        rows.push((r[0].parse().unwrap_or(0), r));
    }
    rows.sort_by_key(|(l, _)| *l);
    csv_download(
        "import-report.csv",
        &["row", "login_name", "action", "detail"],
        rows.into_iter().map(|(_, r)| r).collect(),
    )
}

/// The apply form.
#[derive(Deserialize)]
pub struct ApplyForm {
    #[serde(default)]
    csrf: String,
}

/// One new user's notice on the result page.
struct NoticeView {
    name: String,
    display_name: String,
    rows: Vec<Vec<NoticeCell>>,
    notice: String,
}

#[derive(Template)]
#[template(path = "console/import_result.html")]
struct ResultPage {
    chrome: ConsoleChrome,
    t: &'static Texts,
    c: &'static ConsoleTexts,
    created: usize,
    changed: usize,
    unchanged: usize,
    notices: Vec<NoticeView>,
    notices_not_shown: usize,
    sign_in_url: String,
}

/// `POST /console/import/{id}/apply`: applies the reviewed file, once.
pub async fn apply(
    State(state): State<Arc<AppState>>,
    admin: Admin,
    Path(id): Path<String>,
    Form(form): Form<ApplyForm>,
) -> Response {
    if !admin.csrf_ok(&form.csrf) {
        return admin.forbidden();
    }
    let store = &state.signin.store;
    let tenant = state.signin.tenant_id;
    let now = state.signin.clock.unix();
    let u = match load(&state, &admin, &id).await {
        Ok(Ok(u)) => u,
        Ok(Err(g)) => {
            let why = match g {
                Gone::Unknown => "unknown",
                Gone::Expired => "expired",
            };
            let audited = admin::audit(
                store,
                now,
                tenant,
                &admin.actor(),
                "import.refused",
                "upload",
                json!({ "reason": why, "source_ip": admin.ip }),
            )
            .await;
            if let Err(e) = audited {
                return admin.internal(&e);
            }
            return gone_page(admin, g);
        }
        Err(e) => return admin.internal(&e),
    };
    let id_hash = tokens::hash_token(&id);
    // Taking the row first makes the apply happen once, even with two clicks on two nodes.
    match store.take_import_upload(&id_hash).await {
        Ok(true) => {}
        Ok(false) => return gone_page(admin, Gone::Unknown),
        Err(e) => return admin.internal(&e),
    }
    let digest = hex::encode(Sha256::digest(&u.content));
    // Integrity, not a secret: a plain comparison.
    if digest != u.sha256 {
        return admin.internal(&anyhow::anyhow!("import upload changed since its dry run"));
    }
    let started = std::time::Instant::now();
    let outcome = import::run(
        store,
        &state.signin.keyring,
        tenant,
        &u.content,
        &import_options(&admin, &u, false),
        now,
    )
    .await;
    tracing::info!(
        ms = started.elapsed().as_millis() as u64,
        "console import apply"
    );
    let report = match outcome {
        Ok(r) if r.applied => r,
        other => {
            // Rejected now (the directory changed since the dry run) or a broken file: keep the
            // upload for another look and show why.
            if let Err(e) = store.put_import_upload(&id_hash, &u).await {
                return admin.internal(&e);
            }
            if let Err(e) = &other {
                if e.downcast_ref::<sqlx::Error>().is_some() {
                    return admin.internal(e);
                }
            }
            return plan_page(admin, StatusCode::CONFLICT, &id, &u, &other);
        }
    };
    let (created, changed, unchanged, _) = report.plan.counts();
    let notices_not_shown = created.saturating_sub(report.new_users.len());
    let notices = report
        .new_users
        .iter()
        .take(NOTICE_CAP)
        .map(|n| NoticeView {
            name: n.name.clone(),
            display_name: n.display_name.clone(),
            rows: notice_rows(&n.grid, n.pattern.cells()),
            notice: n.notice.clone(),
        })
        .collect();
    let (t, c) = texts(&admin);
    let page = ResultPage {
        chrome: ConsoleChrome::new(&admin, Section::Import, c.import_result_title),
        t,
        c,
        created,
        changed,
        unchanged,
        notices,
        notices_not_shown,
        sign_in_url: format!("{}/login", state.forward.public_url),
    };
    render(StatusCode::OK, admin.jar, &page)
}
