//! Console hardware tokens (`/console/tokens`): the paged list (serial, kind, assigned user),
//! importing seeds from a CSV or PSKC upload, assigning a token to a user and taking it back.
//! The work is [`crate::hw_tokens`] (shared with `passlogic-idp token ...`); every change is
//! audited there with the actor `console:NAME`.

use std::sync::Arc;

use askama::Template;
use axum::extract::{Multipart, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use serde::Deserialize;

use super::layout::{texts, ConsoleChrome, Section};
use super::users::enc;
use super::Admin;
use crate::hw_tokens::{self, AssignError, TokenFile};
use crate::i18n::console::ConsoleTexts;
use crate::i18n::Texts;
use crate::store::TokenListRow;
use crate::web::pages::render;
use crate::web::AppState;

/// Rows per page.
const PAGE: i64 = 50;

/// Query of the list.
#[derive(Deserialize, Default)]
pub struct ListQuery {
    #[serde(default)]
    after: String,
    #[serde(default)]
    saved: Option<String>,
    #[serde(default)]
    imported: Option<usize>,
}

#[derive(Template)]
#[template(path = "console/tokens.html")]
struct TokensPage {
    chrome: ConsoleChrome,
    t: &'static Texts,
    c: &'static ConsoleTexts,
    total: i64,
    rows: Vec<TokenListRow>,
    paged: bool,
    next_href: Option<String>,
    saved: bool,
    imported: Option<usize>,
    error: Option<String>,
}

async fn page(
    state: &AppState,
    admin: Admin,
    q: ListQuery,
    status: StatusCode,
    error: Option<String>,
) -> Response {
    let store = &state.signin.store;
    let tenant = state.signin.tenant_id;
    let after = Some(q.after.as_str()).filter(|s| !s.is_empty());
    let loaded = async {
        Ok::<_, anyhow::Error>((
            store.tokens_page(tenant, after, PAGE + 1).await?,
            store.token_count(tenant).await?,
        ))
    }
    .await;
    let (mut rows, total) = match loaded {
        Ok(r) => r,
        Err(e) => return admin.internal(&e),
    };
    let more = rows.len() as i64 > PAGE;
    rows.truncate(PAGE as usize);
    let next_href = match (more, rows.last()) {
        (true, Some(last)) => Some(format!("/console/tokens?after={}", enc(&last.serial))),
        _ => None,
    };
    let (t, c) = texts(&admin);
    let p = TokensPage {
        chrome: ConsoleChrome::new(&admin, Section::Tokens, c.tokens_title),
        t,
        c,
        total,
        rows,
        paged: after.is_some(),
        next_href,
        saved: q.saved.is_some(),
        imported: q.imported,
        error,
    };
    render(status, admin.jar, &p)
}

/// `GET /console/tokens?after=`
pub async fn list(
    State(state): State<Arc<AppState>>,
    admin: Admin,
    Query(q): Query<ListQuery>,
) -> Response {
    page(&state, admin, q, StatusCode::OK, None).await
}

fn refuse(
    state: &AppState,
    admin: Admin,
    why: String,
) -> impl std::future::Future<Output = Response> + '_ {
    page(
        state,
        admin,
        ListQuery::default(),
        StatusCode::UNPROCESSABLE_ENTITY,
        Some(why),
    )
}

/// `POST /console/tokens/import` (multipart: `csrf`, `file`, `format` = `csv` | `pskc`,
/// `password`, `preshared_key_hex`): all or nothing.
pub async fn import(
    State(state): State<Arc<AppState>>,
    admin: Admin,
    multipart: Result<Multipart, axum::extract::multipart::MultipartRejection>,
) -> Response {
    let c = admin.lang.console();
    let Ok(mut multipart) = multipart else {
        return refuse(&state, admin, c.import_err_form.to_owned()).await;
    };
    let (mut csrf, mut format, mut password, mut key_hex) =
        (String::new(), String::new(), String::new(), String::new());
    let mut file = Vec::new();
    loop {
        let field = match multipart.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(_) => return refuse(&state, admin, c.import_err_form.to_owned()).await,
        };
        let name = field.name().unwrap_or("").to_owned();
        let Ok(bytes) = field.bytes().await else {
            return refuse(&state, admin, c.import_err_form.to_owned()).await;
        };
        let text = || String::from_utf8_lossy(&bytes).into_owned();
        match name.as_str() {
            "csrf" => csrf = text(),
            "format" => format = text(),
            "password" => password = text(),
            "preshared_key_hex" => key_hex = text().trim().to_owned(),
            "file" => file = bytes.to_vec(),
            _ => {}
        }
    }
    if !admin.csrf_ok(&csrf) {
        return admin.forbidden();
    }
    if file.is_empty() {
        return refuse(&state, admin, c.import_err_empty.to_owned()).await;
    }
    let key = if key_hex.is_empty() {
        None
    } else {
        match hex::decode(&key_hex) {
            Ok(k) => Some(k),
            Err(_) => return refuse(&state, admin, c.tokens_err_key.to_owned()).await,
        }
    };
    let token_file = match format.as_str() {
        "csv" => TokenFile::Csv(&file),
        "pskc" => TokenFile::Pskc {
            bytes: &file,
            password: Some(password.as_str()).filter(|p| !p.is_empty()),
            key: key.as_deref(),
        },
        _ => return refuse(&state, admin, c.import_err_form.to_owned()).await,
    };
    let now = state.signin.clock.unix();
    let result = hw_tokens::import(
        &state.signin.store,
        &state.signin.keyring,
        state.signin.tenant_id,
        token_file,
        &admin.actor(),
        now,
    )
    .await;
    match result {
        Ok(serials) => {
            Redirect::to(&format!("/console/tokens?imported={}", serials.len())).into_response()
        }
        // The parser's and the store's refusals (bad file, wrong password, serial taken) are
        // shown; the audit trail has nothing because nothing changed.
        Err(e) => {
            tracing::info!("console token import refused: {e:#}");
            let why = format!("{}: {e:#}", c.tokens_err_import);
            refuse(&state, admin, why).await
        }
    }
}

/// Assign / unassign form.
#[derive(Deserialize)]
pub struct AssignForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    op: String,
    #[serde(default)]
    serial: String,
    #[serde(default)]
    user: String,
}

/// `POST /console/tokens/assign` with `op` = `assign` (`serial`, `user`) or `unassign`
/// (`serial`).
pub async fn assign(
    State(state): State<Arc<AppState>>,
    admin: Admin,
    Form(form): Form<AssignForm>,
) -> Response {
    if !admin.csrf_ok(&form.csrf) {
        return admin.forbidden();
    }
    let c = admin.lang.console();
    let store = &state.signin.store;
    let tenant = state.signin.tenant_id;
    let now = state.signin.clock.unix();
    let serial = form.serial.trim();
    let actor = admin.actor();
    let outcome = match form.op.as_str() {
        "assign" => hw_tokens::assign(store, tenant, serial, form.user.trim(), &actor, now)
            .await
            .map(|r| {
                r.map_err(|e| match e {
                    AssignError::NoToken => c.tokens_err_no_token,
                    AssignError::NoUser => c.err_no_such_user,
                    AssignError::TokenTaken => c.tokens_err_taken,
                    AssignError::UserHasToken => c.tokens_err_user_has,
                })
            }),
        "unassign" => hw_tokens::unassign(store, tenant, serial, &actor, now)
            .await
            .map(|found| {
                if found {
                    Ok(())
                } else {
                    Err(c.tokens_err_no_token)
                }
            }),
        _ => return (StatusCode::BAD_REQUEST, "unknown action\n").into_response(),
    };
    match outcome {
        Ok(Ok(())) => Redirect::to("/console/tokens?saved=1").into_response(),
        Ok(Err(why)) => refuse(&state, admin, why.to_owned()).await,
        Err(e) => admin.internal(&e),
    }
}
