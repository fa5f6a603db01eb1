//! `passlogic-idp serve`: open the store, load keys, bind, print, serve until a signal.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use passlogic_idp_core::seal::{self, Keyring};

use crate::clock::Clock;
use crate::config::StoreSettings;
use crate::demo;
use crate::signin::SignIn;
use crate::store::Store;
use crate::web::{self, AppState, RouterOptions};

/// What `serve` needs beyond the store location.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    pub listen: String,
    pub public_url: Option<String>,
    pub demo: bool,
    pub test_clock: bool,
    /// UDP address of the RADIUS server (`None`: no RADIUS).
    pub radius_listen: Option<String>,
    /// Parent domains of the apps behind forward authentication.
    pub forward_auth_domains: Vec<String>,
    /// Parent domain of the session cookie (shared with the forward-auth apps).
    pub cookie_domain: Option<String>,
    /// Identity header names of forward authentication, `USER,EMAIL,GROUPS`.
    pub forward_auth_headers: Option<String>,
    /// The admin REST API's listener; `None`: off.
    pub admin_listen: Option<String>,
    /// Proxies whose forwarding headers are believed.
    pub trusted_proxies: Vec<passlogic_idp_core::policy::ip::Cidr>,
    /// The external face verifier: its URL and the file with its credential.
    pub face_verifier: Option<(String, std::path::PathBuf)>,
    /// Watched directory of scheduled CSV drops (`None`: off).
    pub csv_drop_dir: Option<std::path::PathBuf>,
    /// Seconds between scans of `csv_drop_dir`.
    pub csv_drop_interval: u64,
    /// SCIM DELETE removes users instead of deactivating them.
    pub scim_delete_users: bool,
    /// Sync every LDAP source this often (seconds); `None`: no schedule.
    pub ldap_sync_interval: Option<u64>,
}

/// The admin listener's default: the user listener's host with its port + 1 (port 0 stays 0,
/// so tests that pick free ports get two free ports).
pub fn default_admin_listen(listen: &str) -> anyhow::Result<String> {
    let (host, port) = listen
        .rsplit_once(':')
        .ok_or_else(|| anyhow::anyhow!("--listen {listen}: expected HOST:PORT"))?;
    let port: u16 = port
        .parse()
        .map_err(|_| anyhow::anyhow!("--listen {listen}: bad port"))?;
    let admin = if port == 0 {
        0
    } else {
        port.checked_add(1).unwrap_or(0)
    };
    Ok(format!("{host}:{admin}"))
}

/// Binds the admin REST API listener and serves it in the background; prints
/// `admin-listening:` (and, in demo mode, a fresh all-scopes `admin-token:`).
async fn start_admin(
    addr: &str,
    signin: &SignIn,
    demo: bool,
    console: axum::Router,
) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("binding the admin listener {addr}"))?;
    println!("admin-listening: http://{}", listener.local_addr()?);
    if demo {
        let store = &signin.store;
        store
            .delete_api_token(signin.tenant_id, "demo-admin")
            .await?;
        let scopes = crate::api::auth::SCOPES
            .iter()
            .map(|s| (*s).to_owned())
            .collect();
        let token = crate::api::auth::create_token(
            store,
            signin.tenant_id,
            "demo-admin",
            scopes,
            None,
            signin.clock.unix(),
        )
        .await?
        .ok_or_else(|| anyhow::anyhow!("demo token"))?;
        println!("admin-token: {token}");
    }
    let app = crate::api::router(crate::api::ApiState {
        signin: signin.clone(),
    })
    .merge(console);
    tokio::spawn(async move {
        let app = app.into_make_service_with_connect_info::<std::net::SocketAddr>();
        if let Err(e) = axum::serve(listener, app).await {
            tracing::error!(error = %e, "admin listener failed");
        }
    });
    Ok(())
}

/// Refuses to start with a key that cannot open the stored secrets (wrong KEK file), instead of
/// failing every sign-in later.
async fn check_keyring(store: &Store, ring: &Keyring) -> anyhow::Result<()> {
    if let Some(blob) = store.any_sealed_matrix_secret().await? {
        if let Some(id) = seal::sealed_with(&blob) {
            anyhow::ensure!(
                ring.get(id).is_some(),
                "the stored secrets were sealed with key-encryption key {id}, which is not the configured key \
                 {}; point --kek-file at the right key",
                ring.current().id()
            );
        }
    }
    Ok(())
}

/// Picks the tenant this listener serves: the named one, else the only one, else a new
/// `default` tenant.
pub async fn resolve_tenant(
    store: &Store,
    name: Option<&str>,
    now: i64,
    create: bool,
) -> anyhow::Result<i64> {
    if let Some(name) = name {
        if let Some(id) = store.tenant_id(name).await? {
            return Ok(id);
        }
        anyhow::ensure!(create, "no tenant named {name:?}");
        return store.ensure_tenant(name, name, now).await;
    }
    let all: Vec<i64> = store.tenant_ids().await?;
    match all.as_slice() {
        [one] => Ok(*one),
        [] if create => {
            store
                .ensure_tenant("default", "Default organisation", now)
                .await
        }
        [] => anyhow::bail!(
            "the store has no tenant yet; start `passlogic-idp serve` once or pass --tenant"
        ),
        _ => anyhow::bail!("the store has several tenants; choose one with --tenant"),
    }
}

/// Runs the server until Ctrl-C or SIGTERM.
pub async fn serve(settings: StoreSettings, options: ServeOptions) -> anyhow::Result<()> {
    let clock = Arc::new(Clock::default());
    let store = settings.open_store().await?;
    let keyring = settings.kek().load_or_create()?;
    check_keyring(&store, &keyring).await?;
    let now = clock.unix();
    let tenant_id = if options.demo {
        demo::seed(&store, &keyring, now).await?
    } else {
        resolve_tenant(&store, settings.tenant.as_deref(), now, true).await?
    };

    let listener = tokio::net::TcpListener::bind(&options.listen)
        .await
        .with_context(|| format!("binding {}", options.listen))?;
    let addr = listener.local_addr()?;
    let base = format!("http://{addr}");
    let public_url = options.public_url.clone().unwrap_or_else(|| base.clone());
    println!("listening: {base}");
    if options.demo {
        println!("data directory: {}", settings.data_dir.display());
        print!(
            "{}",
            demo::instructions(&store, &keyring, tenant_id, &public_url).await?
        );
    }

    let signin = SignIn::new(store.clone(), keyring, clock.clone(), tenant_id);
    let oidc = crate::oidc_service::OidcService::start(&signin, &public_url).await?;
    let saml = crate::saml_service::SamlService::start(&signin, &public_url).await?;
    if let Some(radius_addr) = &options.radius_listen {
        let service = crate::radius::service::RadiusService {
            signin: signin.clone(),
        };
        let radius = crate::radius::listener::Listener::bind(radius_addr, service).await?;
        println!("radius: {}", radius.local_addr()?);
        if options.demo {
            let secret =
                crate::radius::clients::ensure_demo_client(&store, &signin.keyring, tenant_id, now)
                    .await?;
            println!("radius-secret: {secret}");
        }
        tokio::spawn(radius.run());
    }
    if let Some(secs) = options.ldap_sync_interval {
        println!("ldap-sync-interval: {secs}");
        tokio::spawn(crate::ldap::sync::schedule(
            store.clone(),
            signin.keyring.clone(),
            clock.clone(),
            secs,
        ));
    }
    if let Some(d) = &options.cookie_domain {
        crate::web::set_session_cookie_domain(d);
    }
    let mut forward = crate::forward_auth::ForwardAuthConfig::new(
        options.forward_auth_domains.clone(),
        public_url.clone(),
    );
    if let Some(names) = &options.forward_auth_headers {
        forward.set_header_names(names)?;
    }
    if let Some(dir) = &options.csv_drop_dir {
        let watcher = crate::provisioning::drop::DropWatcher {
            dir: dir.clone(),
            interval: Duration::from_secs(options.csv_drop_interval.max(1)),
            store: store.clone(),
            keyring: signin.keyring.clone(),
            tenant_id,
            clock: clock.clone(),
        };
        println!("csv-drop: {}", dir.display());
        tokio::spawn(watcher.run());
    }

    let scim_signin = signin.clone();
    let state = AppState {
        trusted_proxies: Arc::new(options.trusted_proxies.clone()),
        signin,
        secure_cookies: public_url.starts_with("https://"),
        oidc,
        saml,
        forward: Arc::new(forward),
        face: match &options.face_verifier {
            Some((url, file)) => Some(Arc::new(crate::face::FaceSetup::from_flags(
                url,
                file,
                &public_url,
            )?)),
            None => None,
        },
    };
    let router_options = RouterOptions {
        test_clock: options.test_clock,
    };
    if let Some(addr) = &options.admin_listen {
        let console = web::admin_router(state.clone(), router_options);
        start_admin(addr, &state.signin, options.demo, console).await?;
    }
    let app = web::router(state, router_options);
    let app = app.merge(crate::scim::router(crate::scim::ScimState {
        signin: scim_signin,
        base: format!("{}/scim/v2", public_url.trim_end_matches('/')),
        delete_users: options.scim_delete_users,
    }));

    let purge_store = store.clone();
    let purge_clock = clock.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(60));
        loop {
            tick.tick().await;
            if let Err(e) = purge_store.purge_expired(purge_clock.unix()).await {
                tracing::warn!(error = %format!("{e:#}"), "purging expired records failed");
            }
        }
    });

    println!("ready: {base}");
    tracing::info!(%addr, demo = options.demo, "serving");
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown_signal())
    .await?;
    store.close().await;
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}
