//! Console pages for users: the overview tiles, the searchable user list (keyset paging, see
//! `store/user_search.rs`), creating a user (with the printable initial-pattern notice), editing
//! directory fields, disabling, unlocking, resetting the pattern and group membership.

use std::sync::Arc;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use passlogic_idp_core::factor::matrix::GridSpec;
use serde::Deserialize;
use serde_json::json;

use super::layout::{texts, ConsoleChrome, Section};
use super::Admin;
use crate::admin::{self, Issued};
use crate::i18n::console::ConsoleTexts;
use crate::i18n::Texts;
pub use crate::percent::encode as enc;
use crate::provisioning::csv::valid_name;
use crate::store::{NewUser, UserDirectory, UserQuery, UserRow, UserStatus};
use crate::web::pages::render;
use crate::web::AppState;

/// Rows per page of the user list.
const PAGE: i64 = 50;

#[derive(Template)]
#[template(path = "console/dashboard.html")]
struct DashboardPage {
    chrome: ConsoleChrome,
    t: &'static Texts,
    c: &'static ConsoleTexts,
    users: i64,
    locked: i64,
    disabled: i64,
    initial: i64,
}

/// `GET /console`: counts that need an administrator's eye.
pub async fn dashboard(State(state): State<Arc<AppState>>, admin: Admin) -> Response {
    let store = &state.signin.store;
    let tenant = state.signin.tenant_id;
    let count = |status: Option<UserStatus>| {
        let q = UserQuery {
            status,
            ..UserQuery::default()
        };
        async move { store.count_users(tenant, &q).await }
    };
    let counts = async {
        Ok::<_, anyhow::Error>((
            count(None).await?,
            count(Some(UserStatus::Locked)).await?,
            count(Some(UserStatus::Disabled)).await?,
            count(Some(UserStatus::Initial)).await?,
        ))
    }
    .await;
    let (users, locked, disabled, initial) = match counts {
        Ok(c) => c,
        Err(e) => return admin.internal(&e),
    };
    let (t, c) = texts(&admin);
    let page = DashboardPage {
        chrome: ConsoleChrome::new(&admin, Section::Dashboard, c.dashboard_title),
        t,
        c,
        users,
        locked,
        disabled,
        initial,
    };
    render(StatusCode::OK, admin.jar, &page)
}

/// Query of the user list.
#[derive(Deserialize, Default)]
pub struct ListQuery {
    #[serde(default)]
    q: String,
    #[serde(default)]
    group: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    after: String,
}

struct Row {
    name: String,
    name_path: String,
    display_name: String,
    email: String,
    department: String,
    status: Vec<(&'static str, &'static str)>,
}

#[derive(Template)]
#[template(path = "console/users.html")]
struct ListPage {
    chrome: ConsoleChrome,
    t: &'static Texts,
    c: &'static ConsoleTexts,
    q: String,
    group: String,
    status: String,
    groups: Vec<String>,
    statuses: Vec<(&'static str, &'static str)>,
    total: i64,
    rows: Vec<Row>,
    paged: bool,
    first_href: String,
    next_href: Option<String>,
}

fn status_badges(c: &'static ConsoleTexts, u: &UserRow) -> Vec<(&'static str, &'static str)> {
    let mut out = Vec::new();
    out.push(if u.enabled {
        ("enabled", c.status_enabled)
    } else {
        ("disabled", c.status_disabled)
    });
    if u.locked {
        out.push(("locked", c.status_locked));
    }
    if u.must_change_pattern {
        out.push(("initial", c.status_initial));
    }
    out
}

/// `GET /console/users?q=&group=&status=&after=`
pub async fn list(
    State(state): State<Arc<AppState>>,
    admin: Admin,
    Query(lq): Query<ListQuery>,
) -> Response {
    let store = &state.signin.store;
    let tenant = state.signin.tenant_id;
    let (t, c) = texts(&admin);
    let groups = match store.list_groups(tenant).await {
        Ok(g) => g.into_iter().map(|g| g.name).collect::<Vec<_>>(),
        Err(e) => return admin.internal(&e),
    };
    let group_id = if lq.group.is_empty() {
        None
    } else {
        match store.group_id(tenant, &lq.group).await {
            Ok(Some(id)) => Some(id),
            // An unknown group matches nobody.
            Ok(None) => Some(-1),
            Err(e) => return admin.internal(&e),
        }
    };
    let query = UserQuery {
        text: Some(lq.q.clone()).filter(|s| !s.trim().is_empty()),
        group_id,
        status: UserStatus::parse(&lq.status),
        after: Some(lq.after.clone()).filter(|s| !s.is_empty()),
    };
    let (mut users, total) = match async {
        Ok::<_, anyhow::Error>((
            store.search_users(tenant, &query, PAGE + 1).await?,
            store.count_users(tenant, &query).await?,
        ))
    }
    .await
    {
        Ok(r) => r,
        Err(e) => return admin.internal(&e),
    };
    let more = users.len() as i64 > PAGE;
    users.truncate(PAGE as usize);
    let base = format!(
        "/console/users?q={}&group={}&status={}",
        enc(&lq.q),
        enc(&lq.group),
        enc(&lq.status)
    );
    let next_href = match (more, users.last()) {
        (true, Some(last)) => Some(format!("{base}&after={}", enc(&last.name))),
        _ => None,
    };
    let rows = users
        .iter()
        .map(|u| Row {
            name: u.name.clone(),
            name_path: enc(&u.name),
            display_name: u.display_name.clone(),
            email: u.email.clone().unwrap_or_default(),
            department: u.department.clone().unwrap_or_default(),
            status: status_badges(c, u),
        })
        .collect();
    let page = ListPage {
        chrome: ConsoleChrome::new(&admin, Section::Users, c.users_title),
        t,
        c,
        q: lq.q,
        group: lq.group,
        status: lq.status,
        groups,
        statuses: vec![
            ("enabled", c.status_enabled),
            ("disabled", c.status_disabled),
            ("locked", c.status_locked),
            ("initial", c.status_initial),
        ],
        total,
        rows,
        paged: !lq.after.is_empty(),
        first_href: base,
        next_href,
    };
    render(StatusCode::OK, admin.jar, &page)
}

/// The fields of the new-user and edit forms.
#[derive(Deserialize, Default, Clone)]
pub struct UserForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    display_name: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    given_name: String,
    #[serde(default)]
    family_name: String,
    #[serde(default)]
    department: String,
    #[serde(default)]
    position: String,
    #[serde(default)]
    group: String,
    #[serde(default)]
    admin: Option<String>,
}

fn opt(s: &str) -> Option<String> {
    let s = s.trim();
    (!s.is_empty()).then(|| s.to_owned())
}

fn valid_email(s: &str) -> bool {
    let s = s.trim();
    s.is_empty()
        || (s.len() <= 254
            && s.split_once('@')
                .is_some_and(|(l, d)| !l.is_empty() && d.contains('.') && !d.starts_with('.'))
            && !s.chars().any(char::is_whitespace))
}

#[derive(Template)]
#[template(path = "console/user_new.html")]
struct NewUserPage {
    chrome: ConsoleChrome,
    t: &'static Texts,
    c: &'static ConsoleTexts,
    form: UserForm,
    groups: Vec<String>,
    error: Option<&'static str>,
}

async fn new_user_page(
    state: &AppState,
    admin: Admin,
    form: UserForm,
    error: Option<&'static str>,
) -> Response {
    let (t, c) = texts(&admin);
    let groups = match state.signin.store.list_groups(state.signin.tenant_id).await {
        Ok(g) => g.into_iter().map(|g| g.name).collect(),
        Err(e) => return admin.internal(&e),
    };
    let status = if error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let page = NewUserPage {
        chrome: ConsoleChrome::new(&admin, Section::Users, c.user_new_title),
        t,
        c,
        form,
        groups,
        error,
    };
    render(status, admin.jar, &page)
}

/// `GET /console/users/new`
pub async fn new_page(State(state): State<Arc<AppState>>, admin: Admin) -> Response {
    new_user_page(&state, admin, UserForm::default(), None).await
}

/// One cell of the printable notice: the order numbers of the pattern that use it.
pub struct NoticeCell {
    pub order: String,
    pub block_start: bool,
}

#[derive(Template)]
#[template(path = "console/notice.html")]
struct NoticePage {
    chrome: ConsoleChrome,
    t: &'static Texts,
    c: &'static ConsoleTexts,
    user: String,
    display_name: String,
    notice: String,
    rows: Vec<Vec<NoticeCell>>,
    sign_in_url: String,
}

/// The grid of a notice: each cell lists the positions (1-based) at which the pattern uses it.
pub fn notice_rows(spec: &GridSpec, cells: &[u16]) -> Vec<Vec<NoticeCell>> {
    let cols = u16::from(spec.cols);
    let bw = u16::from(spec.block_width.max(1));
    (0..u16::from(spec.rows))
        .map(|r| {
            (0..cols)
                .map(|col| {
                    let index = r * cols + col;
                    let order: Vec<String> = cells
                        .iter()
                        .enumerate()
                        .filter(|(_, c)| **c == index)
                        .map(|(i, _)| (i + 1).to_string())
                        .collect();
                    NoticeCell {
                        order: order.join(","),
                        block_start: col > 0 && col % bw == 0,
                    }
                })
                .collect()
        })
        .collect()
}

async fn notice_page(state: &AppState, admin: Admin, user: &UserRow, issued: &Issued) -> Response {
    let policy = match state
        .signin
        .store
        .effective_policy(user.tenant_id, Some(user.id))
        .await
    {
        Ok(p) => p,
        Err(e) => return admin.internal(&e),
    };
    let (t, c) = texts(&admin);
    let page = NoticePage {
        chrome: ConsoleChrome::new(&admin, Section::Users, c.notice_title),
        t,
        c,
        user: user.name.clone(),
        display_name: user.display_name.clone(),
        notice: issued.notice.clone(),
        rows: notice_rows(&policy.grid, issued.pattern.cells()),
        sign_in_url: format!("{}/login", state.forward.public_url),
    };
    render(StatusCode::OK, admin.jar, &page)
}

/// `POST /console/users`: creates the user and shows the initial-pattern notice once.
pub async fn create(
    State(state): State<Arc<AppState>>,
    admin: Admin,
    Form(form): Form<UserForm>,
) -> Response {
    if !admin.csrf_ok(&form.csrf) {
        return admin.forbidden();
    }
    let c = admin.lang.console();
    let name = form.name.trim().to_owned();
    if !valid_name(&name) {
        return new_user_page(&state, admin, form, Some(c.err_name_invalid)).await;
    }
    if !valid_email(&form.email) {
        return new_user_page(&state, admin, form, Some(c.err_email_invalid)).await;
    }
    let store = &state.signin.store;
    let tenant = state.signin.tenant_id;
    let group = opt(&form.group);
    if let Some(g) = &group {
        match store.group_id(tenant, g).await {
            Ok(Some(_)) => {}
            Ok(None) => return new_user_page(&state, admin, form, Some(c.err_no_such_group)).await,
            Err(e) => return admin.internal(&e),
        }
    }
    let now = state.signin.clock.unix();
    let new = NewUser {
        tenant_id: tenant,
        name: name.clone(),
        display_name: opt(&form.display_name).unwrap_or_else(|| name.clone()),
        email: opt(&form.email),
        is_admin: form.admin.is_some(),
    };
    let issued = match admin::add_user(
        store,
        &state.signin.keyring,
        &new,
        group.as_deref(),
        &admin.actor(),
        now,
    )
    .await
    {
        Ok(Some(i)) => i,
        Ok(None) => return new_user_page(&state, admin, form, Some(c.err_name_taken)).await,
        Err(e) => return admin.internal(&e),
    };
    let directory = UserDirectory {
        email: opt(&form.email),
        given_name: opt(&form.given_name),
        family_name: opt(&form.family_name),
        department: opt(&form.department),
        position: opt(&form.position),
        ..UserDirectory::default()
    };
    let user = match async {
        store
            .update_user_directory(issued.user_id, &directory, now)
            .await?;
        store
            .user_by_id(issued.user_id)
            .await?
            .ok_or_else(|| anyhow::anyhow!("user vanished"))
    }
    .await
    {
        Ok(u) => u,
        Err(e) => return admin.internal(&e),
    };
    notice_page(&state, admin, &user, &issued).await
}

#[derive(Template)]
#[template(path = "console/user.html")]
struct UserPage {
    chrome: ConsoleChrome,
    t: &'static Texts,
    c: &'static ConsoleTexts,
    u: UserRow,
    name_path: String,
    email: String,
    given_name: String,
    family_name: String,
    department: String,
    position: String,
    status: Vec<(&'static str, &'static str)>,
    groups: Vec<String>,
    all_groups: Vec<String>,
    methods: Vec<String>,
    /// (serial, valid until, active)
    certs: Vec<(String, String, bool)>,
    saved: bool,
    error: Option<&'static str>,
}

#[derive(Deserialize, Default)]
pub struct ShowQuery {
    #[serde(default)]
    saved: Option<String>,
}

async fn load_user(state: &AppState, name: &str) -> anyhow::Result<Option<UserRow>> {
    state
        .signin
        .store
        .user_by_name(state.signin.tenant_id, name)
        .await
}

fn no_such_user(admin: Admin) -> Response {
    let c = admin.lang.console();
    let t = admin.lang.texts();
    render(
        StatusCode::NOT_FOUND,
        admin.jar.clone(),
        &crate::web::pages::ErrorPage {
            chrome: crate::web::pages::Chrome::new(admin.lang, t.error_title, &admin.uri),
            t,
            message: c.err_no_such_user,
        },
    )
}

async fn user_page(
    state: &AppState,
    admin: Admin,
    u: UserRow,
    saved: bool,
    error: Option<&'static str>,
) -> Response {
    let store = &state.signin.store;
    let loaded = async {
        Ok::<_, anyhow::Error>((
            store.user_groups(u.id).await?,
            store.list_groups(state.signin.tenant_id).await?,
            store.factors(u.id).await?,
            store
                .client_certs(state.signin.tenant_id, Some(u.id))
                .await?,
        ))
    }
    .await;
    let (groups, all, factors, certs) = match loaded {
        Ok(l) => l,
        Err(e) => return admin.internal(&e),
    };
    let (t, c) = texts(&admin);
    let mut methods = vec!["matrix".to_owned()];
    methods.extend(factors.into_iter().map(|f| f.method));
    let page = UserPage {
        chrome: ConsoleChrome::new(
            &admin,
            Section::Users,
            format!("{} {}", c.user_title, u.name),
        ),
        t,
        c,
        name_path: enc(&u.name),
        email: u.email.clone().unwrap_or_default(),
        given_name: u.given_name.clone().unwrap_or_default(),
        family_name: u.family_name.clone().unwrap_or_default(),
        department: u.department.clone().unwrap_or_default(),
        position: u.position.clone().unwrap_or_default(),
        status: status_badges(c, &u),
        all_groups: all
            .into_iter()
            .map(|g| g.name)
            .filter(|g| !groups.contains(g))
            .collect(),
        groups,
        methods,
        certs: certs
            .into_iter()
            .map(|c| {
                let until = time::OffsetDateTime::from_unix_timestamp(c.not_after)
                    .map(|d| d.date().to_string())
                    .unwrap_or_default();
                let active = c.revoked_at.is_none() && c.not_after > state.signin.clock.unix();
                (c.serial, until, active)
            })
            .collect(),
        saved,
        error,
        u,
    };
    let status = if error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    render(status, admin.jar, &page)
}

/// `GET /console/users/{name}`
pub async fn show(
    State(state): State<Arc<AppState>>,
    admin: Admin,
    Path(name): Path<String>,
    Query(q): Query<ShowQuery>,
) -> Response {
    match load_user(&state, &name).await {
        Ok(Some(u)) => user_page(&state, admin, u, q.saved.is_some(), None).await,
        Ok(None) => no_such_user(admin),
        Err(e) => admin.internal(&e),
    }
}

fn back_to(name: &str) -> Response {
    Redirect::to(&format!("/console/users/{}?saved=1", enc(name))).into_response()
}

/// `POST /console/users/{name}`: directory fields and display name.
pub async fn update(
    State(state): State<Arc<AppState>>,
    admin: Admin,
    Path(name): Path<String>,
    Form(form): Form<UserForm>,
) -> Response {
    if !admin.csrf_ok(&form.csrf) {
        return admin.forbidden();
    }
    let u = match load_user(&state, &name).await {
        Ok(Some(u)) => u,
        Ok(None) => return no_such_user(admin),
        Err(e) => return admin.internal(&e),
    };
    if !valid_email(&form.email) {
        let c = admin.lang.console();
        return user_page(&state, admin, u, false, Some(c.err_email_invalid)).await;
    }
    let before = u.directory();
    let after = UserDirectory {
        email: opt(&form.email),
        given_name: opt(&form.given_name),
        family_name: opt(&form.family_name),
        department: opt(&form.department),
        position: opt(&form.position),
        ..before.clone()
    };
    let display = opt(&form.display_name).unwrap_or_else(|| u.display_name.clone());
    let now = state.signin.clock.unix();
    let store = &state.signin.store;
    let done = async {
        store.update_user_directory(u.id, &after, now).await?;
        if display != u.display_name {
            store.set_display_name(u.id, &display, now).await?;
        }
        admin::audit(
            store,
            now,
            u.tenant_id,
            &admin.actor(),
            "user.updated",
            &u.name,
            json!({
                "before": { "display_name": u.display_name, "email": before.email,
                    "given_name": before.given_name, "family_name": before.family_name,
                    "department": before.department, "position": before.position },
                "after": { "display_name": display, "email": after.email,
                    "given_name": after.given_name, "family_name": after.family_name,
                    "department": after.department, "position": after.position },
                "source_ip": admin.ip,
            }),
        )
        .await
    }
    .await;
    match done {
        Ok(()) => back_to(&u.name),
        Err(e) => admin.internal(&e),
    }
}

/// The action buttons of the user page.
#[derive(Deserialize)]
pub struct ActionForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    op: String,
}

/// `POST /console/users/{name}/action` with `op` = `disable`, `enable`, `unlock` or
/// `reset_pattern` (the last shows the new notice once).
pub async fn action(
    State(state): State<Arc<AppState>>,
    admin: Admin,
    Path(name): Path<String>,
    Form(form): Form<ActionForm>,
) -> Response {
    if !admin.csrf_ok(&form.csrf) {
        return admin.forbidden();
    }
    let u = match load_user(&state, &name).await {
        Ok(Some(u)) => u,
        Ok(None) => return no_such_user(admin),
        Err(e) => return admin.internal(&e),
    };
    let store = &state.signin.store;
    let now = state.signin.clock.unix();
    let actor = admin.actor();
    let detail = json!({ "source_ip": admin.ip });
    let result = match form.op.as_str() {
        "disable" | "enable" => {
            let enable = form.op == "enable";
            async {
                store.set_enabled(u.id, enable, now).await?;
                if !enable {
                    store.delete_user_sessions(u.id).await?;
                }
                let event = if enable {
                    "user.enabled"
                } else {
                    "user.disabled"
                };
                admin::audit(store, now, u.tenant_id, &actor, event, &u.name, detail).await
            }
            .await
        }
        "unlock" => {
            async {
                store.unlock(u.id, now).await?;
                admin::audit(
                    store,
                    now,
                    u.tenant_id,
                    &actor,
                    "user.unlocked",
                    &u.name,
                    detail,
                )
                .await
            }
            .await
        }
        "reset_pattern" => {
            return match admin::reset_pattern(store, &state.signin.keyring, &u, &actor, now).await {
                Ok(issued) => notice_page(&state, admin, &u, &issued).await,
                Err(e) => admin.internal(&e),
            };
        }
        _ => return (StatusCode::BAD_REQUEST, "unknown action\n").into_response(),
    };
    match result {
        Ok(()) => back_to(&u.name),
        Err(e) => admin.internal(&e),
    }
}

/// Group membership form.
#[derive(Deserialize)]
pub struct GroupForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    op: String,
    #[serde(default)]
    group: String,
}

/// `POST /console/users/{name}/groups` with `op` = `join` or `leave` and `group`.
pub async fn groups(
    State(state): State<Arc<AppState>>,
    admin: Admin,
    Path(name): Path<String>,
    Form(form): Form<GroupForm>,
) -> Response {
    if !admin.csrf_ok(&form.csrf) {
        return admin.forbidden();
    }
    let u = match load_user(&state, &name).await {
        Ok(Some(u)) => u,
        Ok(None) => return no_such_user(admin),
        Err(e) => return admin.internal(&e),
    };
    let store = &state.signin.store;
    let gid = match store.group_id(u.tenant_id, form.group.trim()).await {
        Ok(Some(g)) => g,
        Ok(None) => {
            let c = admin.lang.console();
            return user_page(&state, admin, u, false, Some(c.err_no_such_group)).await;
        }
        Err(e) => return admin.internal(&e),
    };
    let now = state.signin.clock.unix();
    let actor = admin.actor();
    let done = async {
        let event = match form.op.as_str() {
            "join" => {
                store.add_to_group(u.id, gid).await?;
                "group.member_added"
            }
            "leave" => {
                store.remove_from_group(u.id, gid).await?;
                "group.member_removed"
            }
            _ => anyhow::bail!("unknown group operation"),
        };
        admin::audit(
            store,
            now,
            u.tenant_id,
            &actor,
            event,
            &u.name,
            json!({ "group": form.group.trim(), "source_ip": admin.ip }),
        )
        .await
    }
    .await;
    match done {
        Ok(()) => back_to(&u.name),
        Err(e) => admin.internal(&e),
    }
}
