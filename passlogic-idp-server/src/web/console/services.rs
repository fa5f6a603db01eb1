//! Console pages for services: the registered SAML service providers and OpenID Connect
//! clients, adding an SP from uploaded metadata or a metadata URL (with a SaaS preset), and
//! adding a client whose generated secret is shown once on the result page. Validation and
//! storage are `registry.rs`'s (shared with `sp add` / `client add` and the admin API).

use std::sync::Arc;

use askama::Template;
use axum::extract::{Multipart, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use passlogic_idp_core::saml::MessageLimits;
use serde::Deserialize;
use serde_json::json;

use super::groups::{actor, SavedQuery};
use super::layout::{texts, ConsoleChrome, Section};
use super::Admin;
use crate::config_admin;
use crate::i18n::console::ConsoleTexts;
use crate::i18n::Texts;
use crate::registry::{register_client, register_sp, NewClient, Preset, SpOptions};
use crate::web::pages::render;
use crate::web::AppState;

struct SpLine {
    entity_id: String,
    acs: Vec<String>,
    name_id_format: String,
    encrypted: bool,
}

struct ClientLine {
    client_id: String,
    kind: &'static str,
    auth_method: String,
    redirect_uris: Vec<String>,
    scopes: String,
}

/// What the two forms held (shown again after a refusal).
#[derive(Deserialize, Default, Clone)]
pub struct ClientForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    client_id: String,
    #[serde(default)]
    redirect_uris: String,
    #[serde(default)]
    client_type: String,
    #[serde(default)]
    auth_method: String,
    #[serde(default)]
    scopes: String,
}

#[derive(Template)]
#[template(path = "console/services.html")]
struct ServicesPage {
    chrome: ConsoleChrome,
    t: &'static Texts,
    c: &'static ConsoleTexts,
    sps: Vec<SpLine>,
    clients: Vec<ClientLine>,
    presets: Vec<(&'static str, &'static str)>,
    preset: String,
    metadata_url: String,
    client: ClientForm,
    saved: bool,
    sp_error: Option<String>,
    client_error: Option<String>,
}

const PRESETS: &[&str] = &["none", "entra", "google", "salesforce", "box"];

fn presets(c: &'static ConsoleTexts) -> Vec<(&'static str, &'static str)> {
    PRESETS
        .iter()
        .map(|p| {
            (
                *p,
                match *p {
                    "entra" => "Microsoft 365 / Entra ID",
                    "google" => "Google Workspace",
                    "salesforce" => "Salesforce",
                    "box" => "Box",
                    _ => c.svc_preset_none,
                },
            )
        })
        .collect()
}

struct Refill {
    preset: String,
    metadata_url: String,
    client: ClientForm,
    sp_error: Option<String>,
    client_error: Option<String>,
}

impl Default for Refill {
    fn default() -> Self {
        Refill {
            preset: "none".into(),
            metadata_url: String::new(),
            client: ClientForm {
                client_type: "confidential".into(),
                auth_method: "client_secret_basic".into(),
                ..ClientForm::default()
            },
            sp_error: None,
            client_error: None,
        }
    }
}

async fn services_page(state: &AppState, admin: Admin, saved: bool, refill: Refill) -> Response {
    let store = &state.signin.store;
    let tenant = state.signin.tenant_id;
    let loaded = async {
        Ok::<_, anyhow::Error>((
            store.saml_sps(tenant).await?,
            store.oidc_clients(tenant).await?,
        ))
    }
    .await;
    let (sps, clients) = match loaded {
        Ok(l) => l,
        Err(e) => return admin.internal(&e),
    };
    let (t, c) = texts(&admin);
    let status = if refill.sp_error.is_some() || refill.client_error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let page = ServicesPage {
        chrome: ConsoleChrome::new(&admin, Section::Services, c.svc_title),
        t,
        c,
        sps: sps
            .into_iter()
            .map(|sp| SpLine {
                acs: sp.acs.iter().map(|a| a.url.clone()).collect(),
                name_id_format: sp.name_id_format.clone(),
                encrypted: sp.encryption_cert.is_some(),
                entity_id: sp.entity_id,
            })
            .collect(),
        // The registration minus its secret hash: the secret is never shown again.
        clients: clients
            .into_iter()
            .map(|r| ClientLine {
                client_id: r.client_id.to_string(),
                kind: if r.public { "public" } else { "confidential" },
                auth_method: r.token_endpoint_auth_method.as_str().to_owned(),
                redirect_uris: r.redirect_uris,
                scopes: r.allowed_scopes.join(" "),
            })
            .collect(),
        presets: presets(c),
        preset: refill.preset,
        metadata_url: refill.metadata_url,
        client: refill.client,
        saved,
        sp_error: refill.sp_error,
        client_error: refill.client_error,
    };
    render(status, admin.jar, &page)
}

/// `GET /console/services`
pub async fn list(
    State(state): State<Arc<AppState>>,
    admin: Admin,
    Query(q): Query<SavedQuery>,
) -> Response {
    services_page(&state, admin, q.saved_flag(), Refill::default()).await
}

fn parse_preset(s: &str) -> Result<Option<Preset>, ()> {
    Ok(match s {
        "" | "none" => None,
        "entra" => Some(Preset::Entra),
        "google" => Some(Preset::Google),
        "salesforce" => Some(Preset::Salesforce),
        "box" => Some(Preset::Box),
        _ => return Err(()),
    })
}

/// `POST /console/services/saml` (multipart/form-data): `csrf`, `preset`, and either the
/// `metadata` file or `metadata_url`.
pub async fn add_saml(
    State(state): State<Arc<AppState>>,
    admin: Admin,
    mut multipart: Multipart,
) -> Response {
    let limits = MessageLimits::default();
    let mut csrf = String::new();
    let mut preset = String::new();
    let mut url = String::new();
    let mut file: Option<(String, Vec<u8>)> = None;
    let mut too_big = false;
    loop {
        let field = match multipart.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(_) => return (StatusCode::BAD_REQUEST, "malformed form\n").into_response(),
        };
        let name = field.name().unwrap_or("").to_owned();
        let filename = field.file_name().unwrap_or("metadata").to_owned();
        let bytes = match field.bytes().await {
            Ok(b) => b,
            Err(_) => return (StatusCode::BAD_REQUEST, "malformed form\n").into_response(),
        };
        let text = || String::from_utf8_lossy(&bytes).trim().to_owned();
        match name.as_str() {
            "csrf" => csrf = text(),
            "preset" => preset = text(),
            "metadata_url" => url = text(),
            "metadata" if !bytes.is_empty() => {
                too_big = bytes.len() > limits.max_metadata;
                file = Some((filename, bytes.to_vec()));
            }
            _ => {}
        }
    }
    if !admin.csrf_ok(&csrf) {
        return admin.forbidden();
    }
    let c = admin.lang.console();
    let refused = |why: String, preset: String, url: String| Refill {
        preset,
        metadata_url: url,
        sp_error: Some(why),
        ..Refill::default()
    };
    let Ok(preset_value) = parse_preset(&preset) else {
        let r = refused(c.svc_err_preset.into(), "none".into(), url);
        return services_page(&state, admin, false, r).await;
    };
    let (xml, source) = match (file, url.is_empty()) {
        (Some(_), _) if too_big => {
            let why = format!("{} {}", c.svc_err_metadata, "larger than 1 MiB");
            return services_page(&state, admin, false, refused(why, preset, url)).await;
        }
        (Some((name, bytes)), _) => match String::from_utf8(bytes) {
            Ok(xml) => (xml, name),
            Err(_) => {
                let why = format!("{} not UTF-8 text", c.svc_err_metadata);
                return services_page(&state, admin, false, refused(why, preset, url)).await;
            }
        },
        (None, false) => {
            let u = url.clone();
            let max = limits.max_metadata;
            let fetched =
                tokio::task::spawn_blocking(move || crate::cli::fetch_metadata(&u, max)).await;
            match fetched {
                Ok(Ok(xml)) => (xml, url.clone()),
                Ok(Err(e)) => {
                    let why = format!("{} {url}: {e:#}", c.svc_err_fetch);
                    return services_page(&state, admin, false, refused(why, preset, url)).await;
                }
                Err(e) => return admin.internal(&anyhow::anyhow!("metadata fetch task: {e}")),
            }
        }
        (None, true) => {
            let r = refused(c.svc_err_no_metadata.into(), preset, url);
            return services_page(&state, admin, false, r).await;
        }
    };
    let options = SpOptions {
        preset: preset_value,
        ..SpOptions::default()
    };
    let store = &state.signin.store;
    let tenant = state.signin.tenant_id;
    let now = state.signin.clock.unix();
    let sp = match register_sp(store, tenant, &xml, &source, &options, now).await {
        Ok(Ok(sp)) => sp,
        Ok(Err(reason)) => {
            let why = format!("{} {reason}", c.svc_err_metadata);
            return services_page(&state, admin, false, refused(why, preset, url)).await;
        }
        Err(e) => return admin.internal(&e),
    };
    let after = json!({
        "service": format!("saml_sp:{}", sp.entity_id),
        "entity_id": sp.entity_id,
        "acs": sp.acs.iter().map(|a| a.url.clone()).collect::<Vec<_>>(),
        "name_id_format": sp.name_id_format,
        "encrypted": sp.encryption_cert.is_some(),
        "preset": preset_value.map(|_| preset.clone()),
        "source": source,
    });
    if let Err(e) = config_admin::audit_service_added(
        store,
        tenant,
        &actor(&admin),
        now,
        "saml.sp.added",
        &sp.entity_id,
        after,
    )
    .await
    {
        return admin.internal(&e);
    }
    Redirect::to("/console/services?saved=1").into_response()
}

#[derive(Template)]
#[template(path = "console/client_added.html")]
struct ClientAddedPage {
    chrome: ConsoleChrome,
    t: &'static Texts,
    c: &'static ConsoleTexts,
    client_id: String,
    kind: &'static str,
    auth_method: String,
    secret: Option<String>,
}

/// `POST /console/services/oidc`: registers a client; the result page shows the generated
/// secret this once (it is stored hashed).
pub async fn add_oidc(
    State(state): State<Arc<AppState>>,
    admin: Admin,
    Form(form): Form<ClientForm>,
) -> Response {
    if !admin.csrf_ok(&form.csrf) {
        return admin.forbidden();
    }
    let c = admin.lang.console();
    let public = match form.client_type.as_str() {
        "public" => true,
        "confidential" | "" => false,
        _ => {
            let r = Refill {
                client_error: Some(c.svc_err_client_type.into()),
                client: form,
                ..Refill::default()
            };
            return services_page(&state, admin, false, r).await;
        }
    };
    let new = NewClient {
        client_id: form.client_id.trim().to_owned(),
        redirect_uris: form
            .redirect_uris
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(str::to_owned)
            .collect(),
        public,
        auth_method: if public {
            String::new()
        } else {
            form.auth_method.trim().to_owned()
        },
        scopes: form.scopes.split_whitespace().map(str::to_owned).collect(),
        ..NewClient::default()
    };
    if new.redirect_uris.is_empty() {
        let r = Refill {
            client_error: Some(c.svc_err_redirect.into()),
            client: form,
            ..Refill::default()
        };
        return services_page(&state, admin, false, r).await;
    }
    let store = &state.signin.store;
    let tenant = state.signin.tenant_id;
    let now = state.signin.clock.unix();
    let registered = match register_client(store, tenant, new, now).await {
        Ok(Ok(r)) => r,
        Ok(Err(reason)) => {
            let r = Refill {
                client_error: Some(format!("{} {reason}", c.svc_err_client)),
                client: form,
                ..Refill::default()
            };
            return services_page(&state, admin, false, r).await;
        }
        Err(e) => return admin.internal(&e),
    };
    let reg = &registered.registration;
    let kind = if reg.public { "public" } else { "confidential" };
    let after = json!({
        "service": format!("oidc_client:{}", reg.client_id),
        "client_id": reg.client_id.as_str(),
        "type": kind,
        "token_endpoint_auth_method": reg.token_endpoint_auth_method.as_str(),
        "redirect_uris": reg.redirect_uris,
        "allowed_scopes": reg.allowed_scopes,
    });
    if let Err(e) = config_admin::audit_service_added(
        store,
        tenant,
        &actor(&admin),
        now,
        "oidc.client.added",
        reg.client_id.as_str(),
        after,
    )
    .await
    {
        return admin.internal(&e);
    }
    let (t, c) = texts(&admin);
    let page = ClientAddedPage {
        chrome: ConsoleChrome::new(&admin, Section::Services, c.svc_client_added),
        t,
        c,
        client_id: reg.client_id.to_string(),
        kind,
        auth_method: reg.token_endpoint_auth_method.as_str().to_owned(),
        secret: registered.shown_secret,
    };
    // `Cache-Control: no-store` comes with every page (web::security_headers).
    render(StatusCode::OK, admin.jar, &page)
}
