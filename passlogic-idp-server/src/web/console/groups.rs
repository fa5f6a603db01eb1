//! Console pages for groups and policies: the group list (kind, policy, priority, members) with
//! creation and per-group changes, the factor-policy editor (combinations, grid, pattern rules,
//! lockout, devices) and the tenant's access policy as JSON. Validation, storage and audit are in
//! `config_admin.rs`; these handlers parse, call and render.

use std::sync::Arc;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use passlogic_idp_core::pipeline::Method;
use passlogic_idp_core::policy::AuthPolicy;
use serde::Deserialize;

use super::layout::{texts, ConsoleChrome, Section};
use super::users::enc;
use super::Admin;
use crate::config_admin::{self, Actor, GroupSpec, Refusal, GROUP_KINDS};
use crate::i18n::console::ConsoleTexts;
use crate::i18n::Texts;
use crate::store::GroupRow;
use crate::web::pages::render;
use crate::web::AppState;

/// Steps per combination row of the policy form (a combination has at most 4).
const STEPS: usize = 4;

pub(super) fn actor(admin: &Admin) -> Actor {
    Actor {
        name: admin.actor(),
        ip: Some(admin.ip.clone()).filter(|s| !s.is_empty()),
    }
}

fn refusal_text(c: &'static ConsoleTexts, r: &Refusal) -> String {
    match r {
        Refusal::BadName => c.grp_err_name.to_owned(),
        Refusal::GroupExists => c.grp_err_exists.to_owned(),
        Refusal::NoSuchGroup => c.err_no_such_group.to_owned(),
        Refusal::NoSuchPolicy => c.grp_err_no_policy.to_owned(),
        Refusal::BadKind => c.grp_err_kind.to_owned(),
        Refusal::Invalid(why) => format!("{} {why}", c.pol_err_invalid),
    }
}

fn unprocessable_if(error: &Option<String>) -> StatusCode {
    if error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    }
}

struct GroupLine {
    g: GroupRow,
    path: String,
    members_href: String,
}

#[derive(Template)]
#[template(path = "console/groups.html")]
struct GroupsPage {
    chrome: ConsoleChrome,
    t: &'static Texts,
    c: &'static ConsoleTexts,
    groups: Vec<GroupLine>,
    policies: Vec<(String, String)>,
    kinds: Vec<(&'static str, &'static str)>,
    form: NewGroupForm,
    saved: bool,
    error: Option<String>,
}

/// `GET /console/groups?saved=1`
#[derive(Deserialize, Default)]
pub struct SavedQuery {
    #[serde(default)]
    saved: Option<String>,
}

impl SavedQuery {
    /// Whether the page follows a successful change.
    pub fn saved_flag(&self) -> bool {
        self.saved.is_some()
    }
}

fn kinds(c: &'static ConsoleTexts) -> Vec<(&'static str, &'static str)> {
    GROUP_KINDS
        .iter()
        .map(|k| {
            (
                *k,
                match *k {
                    "department" => c.grp_kind_department,
                    "position" => c.grp_kind_position,
                    _ => c.grp_kind_adhoc,
                },
            )
        })
        .collect()
}

async fn groups_page(
    state: &AppState,
    admin: Admin,
    form: NewGroupForm,
    saved: bool,
    error: Option<String>,
) -> Response {
    let store = &state.signin.store;
    let tenant = state.signin.tenant_id;
    let loaded = async {
        Ok::<_, anyhow::Error>((
            store.list_groups(tenant).await?,
            store.policy_names(tenant).await?,
        ))
    }
    .await;
    let (groups, policies) = match loaded {
        Ok(l) => l,
        Err(e) => return admin.internal(&e),
    };
    let (t, c) = texts(&admin);
    let page = GroupsPage {
        chrome: ConsoleChrome::new(&admin, Section::Groups, c.grp_title),
        t,
        c,
        groups: groups
            .into_iter()
            .map(|g| GroupLine {
                path: enc(&g.name),
                members_href: format!("/console/users?group={}", enc(&g.name)),
                g,
            })
            .collect(),
        policies: policies.into_iter().map(|p| (enc(&p), p)).collect(),
        kinds: kinds(c),
        form,
        saved,
        error: error.clone(),
    };
    render(unprocessable_if(&error), admin.jar, &page)
}

/// `GET /console/groups`
pub async fn list(
    State(state): State<Arc<AppState>>,
    admin: Admin,
    Query(q): Query<SavedQuery>,
) -> Response {
    let form = NewGroupForm {
        kind: "department".into(),
        priority: "100".into(),
        ..NewGroupForm::default()
    };
    groups_page(&state, admin, form, q.saved.is_some(), None).await
}

/// The new-group form and the per-group change form.
#[derive(Deserialize, Default, Clone)]
pub struct NewGroupForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    policy: String,
    #[serde(default)]
    priority: String,
}

fn spec(form: &NewGroupForm) -> Option<GroupSpec> {
    let priority = form.priority.trim();
    let priority = if priority.is_empty() {
        100
    } else {
        priority
            .parse::<i64>()
            .ok()
            .filter(|p| (0..=1_000_000).contains(p))?
    };
    Some(GroupSpec {
        kind: form.kind.trim().to_owned(),
        policy: Some(form.policy.trim().to_owned()).filter(|p| !p.is_empty()),
        priority,
    })
}

fn saved_groups() -> Response {
    Redirect::to("/console/groups?saved=1").into_response()
}

/// `POST /console/groups`: creates a group.
pub async fn create(
    State(state): State<Arc<AppState>>,
    admin: Admin,
    Form(form): Form<NewGroupForm>,
) -> Response {
    if !admin.csrf_ok(&form.csrf) {
        return admin.forbidden();
    }
    let c = admin.lang.console();
    let Some(spec) = spec(&form) else {
        return groups_page(&state, admin, form, false, Some(c.grp_err_priority.into())).await;
    };
    let now = state.signin.clock.unix();
    match config_admin::create_group(
        &state.signin.store,
        state.signin.tenant_id,
        &actor(&admin),
        now,
        form.name.trim(),
        &spec,
    )
    .await
    {
        Ok(Ok(_)) => saved_groups(),
        Ok(Err(r)) => groups_page(&state, admin, form, false, Some(refusal_text(c, &r))).await,
        Err(e) => admin.internal(&e),
    }
}

/// `POST /console/groups/{name}`: changes kind, policy and priority.
pub async fn update(
    State(state): State<Arc<AppState>>,
    admin: Admin,
    Path(name): Path<String>,
    Form(form): Form<NewGroupForm>,
) -> Response {
    if !admin.csrf_ok(&form.csrf) {
        return admin.forbidden();
    }
    let c = admin.lang.console();
    let blank = NewGroupForm {
        kind: "department".into(),
        priority: "100".into(),
        ..NewGroupForm::default()
    };
    let Some(spec) = spec(&form) else {
        return groups_page(&state, admin, blank, false, Some(c.grp_err_priority.into())).await;
    };
    let now = state.signin.clock.unix();
    match config_admin::update_group(
        &state.signin.store,
        state.signin.tenant_id,
        &actor(&admin),
        now,
        &name,
        &spec,
    )
    .await
    {
        Ok(Ok(_)) => saved_groups(),
        Ok(Err(r)) => groups_page(&state, admin, blank, false, Some(refusal_text(c, &r))).await,
        Err(e) => admin.internal(&e),
    }
}

// ---------------------------------------------------------------------------------------------
// Factor policies

/// `GET /console/policies?name=N`: the "new policy" form goes to the editor of that name.
#[derive(Deserialize, Default)]
pub struct NameQuery {
    #[serde(default)]
    name: String,
}

/// `GET /console/policies`
pub async fn policies_index(_admin: Admin, Query(q): Query<NameQuery>) -> Response {
    let name = q.name.trim();
    if name.is_empty() {
        Redirect::to("/console/groups#policies").into_response()
    } else {
        Redirect::to(&format!("/console/policies/{}", enc(name))).into_response()
    }
}

struct ComboRow {
    index: usize,
    steps: Vec<(usize, String)>,
}

struct NumberField {
    name: &'static str,
    label: &'static str,
    value: String,
    min: i64,
    max: i64,
}

struct CheckField {
    name: &'static str,
    label: &'static str,
    checked: bool,
}

#[derive(Template)]
#[template(path = "console/policy.html")]
struct PolicyPage {
    chrome: ConsoleChrome,
    t: &'static Texts,
    c: &'static ConsoleTexts,
    name: String,
    name_path: String,
    exists: bool,
    methods: Vec<String>,
    combos: Vec<ComboRow>,
    grid: Vec<NumberField>,
    lengths: Vec<NumberField>,
    rules: Vec<CheckField>,
    limits: Vec<NumberField>,
    options: Vec<CheckField>,
    saved: bool,
    error: Option<String>,
}

/// The form's values (as typed, so a refused form shows what was entered).
#[derive(Clone, Debug, Default)]
struct PolicyValues {
    combos: Vec<Vec<String>>,
    numbers: std::collections::BTreeMap<&'static str, String>,
    checks: std::collections::BTreeMap<&'static str, bool>,
}

const NUMBERS: &[&str] = &[
    "grid_rows",
    "grid_cols",
    "block_width",
    "min_len",
    "max_len",
    "lockout_threshold",
    "device_limit",
    "grid_ttl_secs",
    "session_lifetime_secs",
    "login_protect_window_secs",
];

const CHECKS: &[&str] = &[
    "forbid_single_stroke",
    "require_every_block",
    "forbid_straight_line",
    "self_enrolment",
    "pin_with_code",
    "device_registration",
];

impl PolicyValues {
    fn of(p: &AuthPolicy) -> PolicyValues {
        let n = |v: i64| v.to_string();
        let numbers = [
            ("grid_rows", n(p.grid.rows.into())),
            ("grid_cols", n(p.grid.cols.into())),
            ("block_width", n(p.grid.block_width.into())),
            ("min_len", p.pattern_rules.min_len.to_string()),
            ("max_len", p.pattern_rules.max_len.to_string()),
            ("lockout_threshold", n(p.lockout_threshold.into())),
            ("device_limit", n(p.device_limit.into())),
            ("grid_ttl_secs", n(p.grid_ttl_secs)),
            ("session_lifetime_secs", n(p.session_lifetime_secs)),
            ("login_protect_window_secs", n(p.login_protect_window_secs)),
        ]
        .into_iter()
        .collect();
        let checks = [
            ("forbid_single_stroke", p.pattern_rules.forbid_single_stroke),
            ("require_every_block", p.pattern_rules.require_every_block),
            ("forbid_straight_line", p.pattern_rules.forbid_straight_line),
            ("self_enrolment", p.self_enrolment),
            ("pin_with_code", p.pin_with_code_in_one_field),
            ("device_registration", p.device_registration),
        ]
        .into_iter()
        .collect();
        PolicyValues {
            combos: p
                .combinations
                .iter()
                .map(|c| c.methods().iter().map(|m| m.as_str().to_owned()).collect())
                .collect(),
            numbers,
            checks,
        }
    }

    /// Reads the submitted form: `combo_R_S` selects (row R, step S), the number fields and
    /// the checkboxes (absent = off).
    fn from_form(fields: &[(String, String)]) -> PolicyValues {
        let get = |k: &str| {
            fields
                .iter()
                .find(|(n, _)| n == k)
                .map(|(_, v)| v.trim().to_owned())
        };
        let mut combos = Vec::new();
        for r in 0..16 {
            let steps: Vec<String> = (0..STEPS)
                .filter_map(|s| get(&format!("combo_{r}_{s}")))
                .filter(|v| !v.is_empty())
                .collect();
            if !steps.is_empty() {
                combos.push(steps);
            }
        }
        PolicyValues {
            combos,
            numbers: NUMBERS
                .iter()
                .map(|k| (*k, get(k).unwrap_or_default()))
                .collect(),
            checks: CHECKS.iter().map(|k| (*k, get(k).is_some())).collect(),
        }
    }

    /// Applies the values on top of `base` (fields the form does not show are kept).
    fn apply(&self, base: &AuthPolicy) -> Result<AuthPolicy, String> {
        let mut p = base.clone();
        let text: Vec<String> = self.combos.iter().map(|c| c.join("+")).collect();
        p.combinations = if text.is_empty() {
            Vec::new()
        } else {
            crate::cli::parse_combinations(&text.join(",")).map_err(|e| e.to_string())?
        };
        fn num<T: std::str::FromStr>(v: &PolicyValues, k: &str) -> Result<T, String> {
            v.numbers
                .get(k)
                .and_then(|s| s.parse::<T>().ok())
                .ok_or_else(|| format!("{k}: not a number in range"))
        }
        p.grid.rows = num(self, "grid_rows")?;
        p.grid.cols = num(self, "grid_cols")?;
        p.grid.block_width = num(self, "block_width")?;
        p.pattern_rules.min_len = num(self, "min_len")?;
        p.pattern_rules.max_len = num(self, "max_len")?;
        p.lockout_threshold = num(self, "lockout_threshold")?;
        p.device_limit = num(self, "device_limit")?;
        p.grid_ttl_secs = num(self, "grid_ttl_secs")?;
        p.session_lifetime_secs = num(self, "session_lifetime_secs")?;
        p.login_protect_window_secs = num(self, "login_protect_window_secs")?;
        let on = |k: &str| self.checks.get(k).copied().unwrap_or(false);
        p.pattern_rules.forbid_single_stroke = on("forbid_single_stroke");
        p.pattern_rules.require_every_block = on("require_every_block");
        p.pattern_rules.forbid_straight_line = on("forbid_straight_line");
        p.self_enrolment = on("self_enrolment");
        p.pin_with_code_in_one_field = on("pin_with_code");
        p.device_registration = on("device_registration");
        Ok(p)
    }
}

fn policy_page(
    admin: Admin,
    name: &str,
    exists: bool,
    v: &PolicyValues,
    saved: bool,
    error: Option<String>,
) -> Response {
    let (t, c) = texts(&admin);
    let rows = (v.combos.len() + 1).max(4);
    let combos = (0..rows)
        .map(|r| ComboRow {
            index: r + 1,
            steps: (0..STEPS)
                .map(|s| {
                    (
                        s,
                        v.combos
                            .get(r)
                            .and_then(|c| c.get(s))
                            .cloned()
                            .unwrap_or_default(),
                    )
                })
                .collect(),
        })
        .collect();
    let number = |name: &'static str, label: &'static str, min: i64, max: i64| NumberField {
        name,
        label,
        value: v.numbers.get(name).cloned().unwrap_or_default(),
        min,
        max,
    };
    let check = |name: &'static str, label: &'static str| CheckField {
        name,
        label,
        checked: v.checks.get(name).copied().unwrap_or(false),
    };
    let page = PolicyPage {
        chrome: ConsoleChrome::new(&admin, Section::Groups, format!("{} {name}", c.pol_title)),
        t,
        c,
        name: name.to_owned(),
        name_path: enc(name),
        exists,
        methods: Method::ALL.iter().map(|m| m.as_str().to_owned()).collect(),
        combos,
        grid: vec![
            number("grid_rows", c.pol_grid_rows, 2, 10),
            number("grid_cols", c.pol_grid_cols, 2, 24),
            number("block_width", c.pol_block_width, 1, 24),
        ],
        lengths: vec![
            number("min_len", c.pol_min_len, 1, 64),
            number("max_len", c.pol_max_len, 1, 64),
        ],
        rules: vec![
            check("forbid_single_stroke", c.pol_forbid_single_stroke),
            check("require_every_block", c.pol_require_every_block),
            check("forbid_straight_line", c.pol_forbid_straight_line),
        ],
        limits: vec![
            number("lockout_threshold", c.pol_lockout, 1, 1000),
            number("device_limit", c.pol_device_limit, 1, 1000),
            number("grid_ttl_secs", c.pol_grid_ttl, 1, 86_400),
            number(
                "session_lifetime_secs",
                c.pol_session_lifetime,
                1,
                31_536_000,
            ),
            number(
                "login_protect_window_secs",
                c.pol_login_protect_window,
                1,
                3600,
            ),
        ],
        options: vec![
            check("self_enrolment", c.pol_self_enrolment),
            check("pin_with_code", c.pol_pin_with_code),
            check("device_registration", c.pol_device_registration),
        ],
        saved,
        error: error.clone(),
    };
    render(unprocessable_if(&error), admin.jar, &page)
}

/// `GET /console/policies/{name}`: the editor (defaults for a new policy).
pub async fn policy_show(
    State(state): State<Arc<AppState>>,
    admin: Admin,
    Path(name): Path<String>,
    Query(q): Query<SavedQuery>,
) -> Response {
    let c = admin.lang.console();
    if !config_admin::valid_name(&name) {
        let v = PolicyValues::of(&AuthPolicy::default());
        return policy_page(admin, &name, false, &v, false, Some(c.grp_err_name.into()));
    }
    match state
        .signin
        .store
        .policy(state.signin.tenant_id, &name)
        .await
    {
        Ok(p) => {
            let exists = p.is_some();
            let v = PolicyValues::of(&p.unwrap_or_default());
            policy_page(admin, &name, exists, &v, q.saved.is_some(), None)
        }
        Err(e) => admin.internal(&e),
    }
}

/// `POST /console/policies/{name}`: creates or replaces the policy.
pub async fn policy_save(
    State(state): State<Arc<AppState>>,
    admin: Admin,
    Path(name): Path<String>,
    Form(fields): Form<Vec<(String, String)>>,
) -> Response {
    let csrf = fields
        .iter()
        .find(|(k, _)| k == "csrf")
        .map(|(_, v)| v.as_str())
        .unwrap_or("");
    if !admin.csrf_ok(csrf) {
        return admin.forbidden();
    }
    let c = admin.lang.console();
    let store = &state.signin.store;
    let tenant = state.signin.tenant_id;
    let base = match store.policy(tenant, &name).await {
        Ok(p) => p,
        Err(e) => return admin.internal(&e),
    };
    let exists = base.is_some();
    let values = PolicyValues::from_form(&fields);
    let policy = match values.apply(&base.unwrap_or_default()) {
        Ok(p) => p,
        Err(why) => {
            let error = format!("{} {why}", c.pol_err_invalid);
            return policy_page(admin, &name, exists, &values, false, Some(error));
        }
    };
    let now = state.signin.clock.unix();
    match config_admin::put_policy(store, tenant, &actor(&admin), now, &name, &policy).await {
        Ok(Ok(())) => {
            Redirect::to(&format!("/console/policies/{}?saved=1", enc(&name))).into_response()
        }
        Ok(Err(r)) => {
            let error = refusal_text(c, &r);
            policy_page(admin, &name, exists, &values, false, Some(error))
        }
        Err(e) => admin.internal(&e),
    }
}

// ---------------------------------------------------------------------------------------------
// The access policy

#[derive(Template)]
#[template(path = "console/access_policy.html")]
struct AccessPage {
    chrome: ConsoleChrome,
    t: &'static Texts,
    c: &'static ConsoleTexts,
    json: String,
    is_set: bool,
    saved: bool,
    error: Option<String>,
}

fn access_page(
    admin: Admin,
    json: String,
    is_set: bool,
    saved: bool,
    error: Option<String>,
) -> Response {
    let (t, c) = texts(&admin);
    let page = AccessPage {
        chrome: ConsoleChrome::new(&admin, Section::Groups, c.acc_title),
        t,
        c,
        json,
        is_set,
        saved,
        error: error.clone(),
    };
    render(unprocessable_if(&error), admin.jar, &page)
}

/// `GET /console/access-policy`
pub async fn access_show(
    State(state): State<Arc<AppState>>,
    admin: Admin,
    Query(q): Query<SavedQuery>,
) -> Response {
    match state
        .signin
        .store
        .access_policy(state.signin.tenant_id)
        .await
    {
        Ok(p) => {
            let json = p
                .as_ref()
                .and_then(|p| serde_json::to_string_pretty(p).ok())
                .unwrap_or_default();
            access_page(admin, json, p.is_some(), q.saved.is_some(), None)
        }
        Err(e) => admin.internal(&e),
    }
}

/// The access-policy form.
#[derive(Deserialize)]
pub struct AccessForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    json: String,
}

/// `POST /console/access-policy`: replaces it (blank: removes it).
pub async fn access_save(
    State(state): State<Arc<AppState>>,
    admin: Admin,
    Form(form): Form<AccessForm>,
) -> Response {
    if !admin.csrf_ok(&form.csrf) {
        return admin.forbidden();
    }
    let c = admin.lang.console();
    let store = &state.signin.store;
    let tenant = state.signin.tenant_id;
    let now = state.signin.clock.unix();
    match config_admin::put_access_policy(store, tenant, &actor(&admin), now, &form.json).await {
        Ok(Ok(_)) => Redirect::to("/console/access-policy?saved=1").into_response(),
        Ok(Err(r)) => {
            let is_set = matches!(store.access_policy(tenant).await, Ok(Some(_)));
            let error = refusal_text(c, &r);
            access_page(admin, form.json, is_set, false, Some(error))
        }
        Err(e) => admin.internal(&e),
    }
}
