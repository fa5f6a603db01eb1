//! The OpenID Connect provider end to end: the `openidconnect` crate plays the relying party
//! (discovery, code + PKCE through a real matrix + TOTP sign-in, ID token verified by the crate
//! against the JWKS, refresh, UserInfo, RP-initiated logout); a table of hostile requests
//! checks the RFC error and that nothing was issued; two server processes on one PostgreSQL
//! database share single use of codes.

mod common;
mod oidc_support;

use std::process::{Command, Stdio};

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use common::{Backend, Browser, Page, TestServer};
use oidc_support::{add_client, b64, http, line_value, param, BYE, CB};
use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreIdTokenClaims, CoreUserInfoClaims,
};
use openidconnect::{
    AuthorizationCode, ClientId, ClientSecret, CsrfToken, IssuerUrl, LogoutRequest, Nonce,
    OAuth2TokenResponse, PkceCodeChallenge, PostLogoutRedirectUrl, ProviderMetadataWithLogout,
    RedirectUrl, Scope, TokenResponse,
};
use reqwest::Url;
use scraper::Selector;
use serde_json::Value;

// ---------------------------------------------------------------------------------------------
// helpers

fn totp(secret: &str) -> String {
    let out = Command::new("oathtool")
        .args([
            "--totp",
            "-b",
            secret,
            "-N",
            &format!("@{}", common::now_unix()),
        ])
        .output()
        .unwrap_or_else(|e| panic!("oathtool is needed (apt-get install oathtool): {e}"));
    assert!(out.status.success(), "oathtool failed");
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// The relying party's HTTP client: no redirects (the crate's advice, against SSRF).
fn rp_http() -> openidconnect::reqwest::blocking::Client {
    openidconnect::reqwest::blocking::Client::builder()
        .redirect(openidconnect::reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

fn query_of(url: &str) -> Vec<(String, String)> {
    let u = Url::parse(url).unwrap_or_else(|e| panic!("{url:?}: {e}"));
    u.query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

/// The `Location` of a 303 that must point at the relying party's callback.
fn rp_location(p: &Page, what: &str) -> String {
    assert_eq!(p.status.as_u16(), 303, "{what}: {}", p.describe());
    let loc = p.header("location").expect("Location");
    assert!(
        loc.starts_with(CB) || loc.starts_with(BYE),
        "{what}: expected a redirect to the RP, got {loc}"
    );
    loc
}

/// Signs in through the login page reached from the authorization endpoint (`login` is the
/// 303 to `/login?return_to=...`), answering the grid and, for demo-mfa, the TOTP step.
/// Returns the authorization endpoint's final answer.
fn sign_in_from_authorize(
    server: &TestServer,
    b: &Browser,
    login: &Page,
    user: &str,
    totp_secret: Option<&str>,
) -> Page {
    login.expect_see_other("/login", "authorize without a session");
    let form = b.follow(login);
    form.expect_status(200, "login page");
    let sel = Selector::parse("input[name=return_to]").unwrap();
    let return_to = form
        .html()
        .select(&sel)
        .next()
        .and_then(|e| e.value().attr("value").map(str::to_owned))
        .expect("return_to field");
    assert!(
        return_to.starts_with("/oidc/authorize?"),
        "return_to {return_to}"
    );
    let r = b.post_form("/login", &[("username", user), ("return_to", &return_to)]);
    r.expect_see_other("/login/matrix", "POST /login");
    let grid = common::GridPage::parse(b.follow(&r));
    let mut r = b.submit_otp(&grid.answer(&server.pattern_of(user)));
    if let Some(secret) = totp_secret {
        r.expect_see_other("/login/totp", "grid, then TOTP");
        b.follow(&r).expect_status(200, "TOTP page");
        r = b.post_form("/login/totp", &[("otp", &totp(secret))]);
    }
    r.expect_see_other("/oidc/authorize", "back to the authorization endpoint");
    b.follow(&r)
}

fn authorize_path(client_id: &str, extra: &[(&str, &str)]) -> String {
    let mut u = Url::parse("http://x/oidc/authorize").unwrap();
    {
        let mut q = u.query_pairs_mut();
        q.append_pair("client_id", client_id)
            .append_pair("redirect_uri", CB)
            .append_pair("response_type", "code")
            .append_pair("scope", "openid");
        for (k, v) in extra {
            q.append_pair(k, v);
        }
    }
    format!("/oidc/authorize?{}", u.query().unwrap())
}

/// A code for `client_id` from a browser that is signed in.
fn code_for(b: &Browser, client_id: &str, extra: &[(&str, &str)]) -> String {
    let r = b.get(&authorize_path(client_id, extra));
    let loc = rp_location(&r, "authorize with a session");
    let q = query_of(&loc);
    assert_eq!(param(&q, "error"), None, "{loc}");
    param(&q, "code").expect("code")
}

/// POST to a client-authenticated endpoint with HTTP Basic.
fn post_basic(
    server_base: &str,
    path: &str,
    id: &str,
    secret: &str,
    form: &[(&str, &str)],
) -> (u16, reqwest::header::HeaderMap, Value) {
    let r = http()
        .post(format!("{server_base}{path}"))
        .basic_auth(id, Some(secret))
        .form(form)
        .send()
        .unwrap();
    let status = r.status().as_u16();
    let headers = r.headers().clone();
    let text = r.text().unwrap();
    let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
    (status, headers, body)
}

fn redeem(base: &str, id: &str, secret: &str, code: &str) -> (u16, Value) {
    let (s, h, v) = post_basic(
        base,
        "/oidc/token",
        id,
        secret,
        &[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", CB),
        ],
    );
    assert_eq!(
        h.get("cache-control").and_then(|v| v.to_str().ok()),
        Some("no-store"),
        "token responses are not cached"
    );
    (s, v)
}

fn introspect_active(base: &str, id: &str, secret: &str, token: &str) -> bool {
    let (s, _, v) = post_basic(base, "/oidc/introspect", id, secret, &[("token", token)]);
    assert_eq!(s, 200, "introspection: {v}");
    v["active"].as_bool().expect("active")
}

fn assert_token_error(status: u16, body: &Value, want_status: u16, want: &str, what: &str) {
    assert_eq!(status, want_status, "{what}: {body}");
    assert_eq!(body["error"], want, "{what}: {body}");
    assert!(body.get("access_token").is_none(), "{what}: issued {body}");
}

// ---------------------------------------------------------------------------------------------
// (a) the openidconnect crate as the relying party

fn openidconnect_rp_code_flow(backend: Backend) {
    let server = TestServer::start(backend, &[]);
    let secret = add_client(&server, "rp-rust", &[]).expect("a generated secret");
    let totp_secret = line_value(&server.log(), "totp");
    let http = rp_http();

    let issuer = IssuerUrl::new(server.base_url().to_owned()).unwrap();
    let metadata = ProviderMetadataWithLogout::discover(&issuer, &http).expect("discovery");
    let end_session = metadata
        .additional_metadata()
        .end_session_endpoint
        .clone()
        .expect("end_session_endpoint");
    let client = CoreClient::from_provider_metadata(
        metadata,
        ClientId::new("rp-rust".into()),
        Some(ClientSecret::new(secret)),
    )
    .set_redirect_uri(RedirectUrl::new(CB.into()).unwrap());

    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (auth_url, state, nonce) = client
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .add_scope(Scope::new("profile".into()))
        .add_scope(Scope::new("email".into()))
        .set_pkce_challenge(challenge)
        .url();

    // The browser: no session yet, so the IdP asks for a sign-in and comes back.
    let b = server.browser();
    let first = b.get(auth_url.as_str());
    let done = sign_in_from_authorize(&server, &b, &first, "demo-mfa", Some(&totp_secret));
    let loc = rp_location(&done, "after the sign-in");
    let q = query_of(&loc);
    assert_eq!(param(&q, "state").as_deref(), Some(state.secret().as_str()));
    assert_eq!(param(&q, "iss").as_deref(), Some(server.base_url()));
    let code = param(&q, "code").expect("code");

    let tokens = client
        .exchange_code(AuthorizationCode::new(code))
        .unwrap()
        .set_pkce_verifier(verifier)
        .request(&http)
        .expect("token exchange");
    let id_token = tokens.id_token().expect("id_token").clone();
    let claims: CoreIdTokenClaims = id_token
        .claims(&client.id_token_verifier(), &nonce)
        .expect("the crate verifies the ID token (JWKS signature, nonce, audience)")
        .clone();
    assert_eq!(claims.issuer().as_str(), server.base_url());
    assert!(claims.auth_time().is_some());
    let amr: Vec<String> = claims
        .auth_method_refs()
        .expect("amr")
        .iter()
        .map(|a| a.as_str().to_owned())
        .collect();
    for m in ["matrix", "otp", "mfa"] {
        assert!(amr.contains(&m.to_owned()), "amr {amr:?} lacks {m}");
    }
    assert_eq!(
        claims.auth_context_ref().map(|a| a.as_str()),
        Some("urn:passlogic:acr:mfa")
    );
    // The signature also checks out against the JWKS header kid, with x5c published.
    let jwks: Value = http
        .get(server.url("/oidc/jwks"))
        .send()
        .unwrap()
        .json()
        .unwrap();
    let key = &jwks["keys"][0];
    assert_eq!(key["kty"], "RSA");
    assert_eq!(key["alg"], "RS256");
    assert!(key["x5c"][0].as_str().is_some_and(|c| !c.is_empty()));

    let info: CoreUserInfoClaims = client
        .user_info(tokens.access_token().clone(), None)
        .unwrap()
        .request(&http)
        .expect("userinfo");
    assert_eq!(info.subject(), claims.subject());
    assert_eq!(
        info.preferred_username().map(|u| u.as_str()),
        Some("demo-mfa")
    );

    // Refresh: a new refresh token and a new ID token for the same subject.
    let rt = tokens.refresh_token().expect("refresh_token").clone();
    let refreshed = client
        .exchange_refresh_token(&rt)
        .unwrap()
        .request(&http)
        .expect("refresh");
    let rt2 = refreshed.refresh_token().expect("a rotated refresh token");
    assert_ne!(rt2.secret(), rt.secret());
    let again = refreshed
        .id_token()
        .expect("id_token on refresh")
        .claims(&client.id_token_verifier(), |_: Option<&Nonce>| Ok(()))
        .expect("refreshed ID token verifies");
    assert_eq!(again.subject(), claims.subject());

    // RP-initiated logout back to the registered URI, with state.
    let logout = LogoutRequest::from(end_session)
        .set_id_token_hint(&id_token)
        .set_post_logout_redirect_uri(PostLogoutRedirectUrl::new(BYE.into()).unwrap())
        .set_state(CsrfToken::new("bye-state".into()))
        .http_get_url();
    assert!(b.session_json().is_some(), "signed in before logout");
    let r = b.get(logout.as_str());
    let loc = rp_location(&r, "logout");
    assert_eq!(loc, format!("{BYE}?state=bye-state"));
    assert!(b.session_json().is_none(), "signed out after logout");
}

// ---------------------------------------------------------------------------------------------
// (b) hostile requests

fn hostile_requests(backend: Backend) {
    let server = TestServer::start(backend, &[]);
    let base = server.base_url().to_owned();
    let conf = add_client(&server, "conf", &[]).unwrap();
    let other = add_client(&server, "other", &[]).unwrap();
    add_client(&server, "pub", &["--public"]);
    let b = server.browser();

    // prompt=none without a session: login_required at the client, no code.
    let r = b.get(&authorize_path(
        "conf",
        &[("prompt", "none"), ("state", "s0")],
    ));
    let q = query_of(&rp_location(&r, "prompt=none"));
    assert_eq!(param(&q, "error").as_deref(), Some("login_required"));
    assert_eq!(param(&q, "state").as_deref(), Some("s0"));
    assert_eq!(param(&q, "code"), None);

    b.sign_in("demo", &server.pattern_of("demo"), "/");

    // Unregistered and prefix-matched redirect URIs: the error page, never a redirect.
    for bad in [
        "http://evil.example/cb",
        "http://127.0.0.1:9/cb/extra",
        "http://127.0.0.1:9/cbx",
        "http://127.0.0.1:9/cb?x=1",
        "http://127.0.0.1:9/CB",
    ] {
        let path = authorize_path("conf", &[]).replace(
            &format!("redirect_uri={}", urlenc(CB)),
            &format!("redirect_uri={}", urlenc(bad)),
        );
        let p = b.get(&path);
        p.expect_status(400, &format!("redirect_uri {bad}"));
        assert!(p.header("location").is_none(), "{bad}: redirected");
        assert_eq!(p.count("[data-oidc-error]"), 1, "{}", p.describe());
    }
    // Unknown client: error page too.
    b.get(&authorize_path("nobody", &[]))
        .expect_status(400, "unknown client");

    // Public client without PKCE; plain PKCE: invalid_request at the client, no code.
    let verifier = "x".repeat(50);
    for (client, extra, what) in [
        ("pub", vec![], "public client without PKCE"),
        (
            "conf",
            vec![
                ("code_challenge", verifier.as_str()),
                ("code_challenge_method", "plain"),
            ],
            "plain PKCE",
        ),
    ] {
        let r = b.get(&authorize_path(client, &extra));
        let q = query_of(&rp_location(&r, what));
        assert_eq!(
            param(&q, "error").as_deref(),
            Some("invalid_request"),
            "{what}"
        );
        assert_eq!(param(&q, "code"), None, "{what}");
    }

    // Code replay: the second redemption fails and revokes what the first one issued.
    let code = code_for(&b, "conf", &[]);
    let (s, first) = redeem(&base, "conf", &conf, &code);
    assert_eq!(s, 200, "{first}");
    let at = first["access_token"].as_str().unwrap().to_owned();
    let rt = first["refresh_token"].as_str().unwrap().to_owned();
    assert!(introspect_active(&base, "conf", &conf, &at));
    let (s, second) = redeem(&base, "conf", &conf, &code);
    assert_token_error(s, &second, 400, "invalid_grant", "code replay");
    assert!(
        !introspect_active(&base, "conf", &conf, &at),
        "the access token from the replayed code is revoked"
    );
    assert!(!introspect_active(&base, "conf", &conf, &rt));
    let (s, _, v) = post_basic(
        &base,
        "/oidc/token",
        "conf",
        &conf,
        &[("grant_type", "refresh_token"), ("refresh_token", &rt)],
    );
    assert_token_error(s, &v, 400, "invalid_grant", "refresh after code replay");

    // A code redeemed by another client.
    let code = code_for(&b, "conf", &[]);
    let (s, v) = redeem(&base, "other", &other, &code);
    assert_token_error(s, &v, 400, "invalid_grant", "code of another client");

    // Wrong client secret with HTTP Basic: 401 invalid_client with WWW-Authenticate.
    let (s, h, v) = post_basic(
        &base,
        "/oidc/token",
        "conf",
        "wrong-secret",
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", CB),
        ],
    );
    assert_token_error(s, &v, 401, "invalid_client", "wrong secret");
    assert!(
        h.get("www-authenticate")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("Basic")),
        "WWW-Authenticate: {h:?}"
    );
    // The legitimate client can still use that code (nothing was consumed).
    let (s, v) = redeem(&base, "conf", &conf, &code);
    assert_eq!(s, 200, "{v}");
    let id_token = v["id_token"].as_str().unwrap().to_owned();

    // Refresh token reuse revokes the family.
    let rt1 = v["refresh_token"].as_str().unwrap().to_owned();
    let refresh = |t: &str| {
        post_basic(
            &base,
            "/oidc/token",
            "conf",
            &conf,
            &[("grant_type", "refresh_token"), ("refresh_token", t)],
        )
    };
    let (s, _, r2) = refresh(&rt1);
    assert_eq!(s, 200, "{r2}");
    let rt2 = r2["refresh_token"].as_str().unwrap().to_owned();
    let at2 = r2["access_token"].as_str().unwrap().to_owned();
    let (s, _, v) = refresh(&rt1);
    assert_token_error(s, &v, 400, "invalid_grant", "refresh token reuse");
    let (s, _, v) = refresh(&rt2);
    assert_token_error(s, &v, 400, "invalid_grant", "current token after reuse");
    assert!(!introspect_active(&base, "conf", &conf, &at2));

    // client_credentials for a confidential client; refused for a public one.
    let (s, _, v) = post_basic(
        &base,
        "/oidc/token",
        "conf",
        &conf,
        &[("grant_type", "client_credentials")],
    );
    assert_eq!(s, 200, "{v}");
    assert!(v.get("id_token").is_none());
    let r = http()
        .post(format!("{base}/oidc/token"))
        .form(&[("grant_type", "client_credentials"), ("client_id", "pub")])
        .send()
        .unwrap();
    assert_eq!(r.status().as_u16(), 400);

    // /oidc/logout: alg none and HS256 keyed with the public key are refused; the session
    // survives.
    let payload: Value = serde_json::from_slice(
        &URL_SAFE_NO_PAD
            .decode(id_token.split('.').nth(1).unwrap())
            .unwrap(),
    )
    .unwrap();
    let body = b64(payload.to_string().as_bytes());
    let none_token = format!("{}.{body}.", b64(br#"{"alg":"none","typ":"JWT"}"#));
    let jwks: Value = http()
        .get(format!("{base}/oidc/jwks"))
        .send()
        .unwrap()
        .json()
        .unwrap();
    let kid = jwks["keys"][0]["kid"].as_str().unwrap();
    let cert = openssl::x509::X509::from_der(
        &STANDARD
            .decode(jwks["keys"][0]["x5c"][0].as_str().unwrap())
            .unwrap(),
    )
    .unwrap();
    let public_pem = cert.public_key().unwrap().public_key_to_pem().unwrap();
    let header = b64(format!(r#"{{"alg":"HS256","typ":"JWT","kid":"{kid}"}}"#).as_bytes());
    let input = format!("{header}.{body}");
    let hmac_key = openssl::pkey::PKey::hmac(&public_pem).unwrap();
    let mut signer =
        openssl::sign::Signer::new(openssl::hash::MessageDigest::sha256(), &hmac_key).unwrap();
    signer.update(input.as_bytes()).unwrap();
    let hs256_token = format!("{input}.{}", b64(&signer.sign_to_vec().unwrap()));
    for (hint, what) in [
        (&none_token, "alg none"),
        (&hs256_token, "HS256 with the public key"),
    ] {
        let path = format!(
            "/oidc/logout?id_token_hint={}&post_logout_redirect_uri={}",
            urlenc(hint),
            urlenc(BYE)
        );
        let p = b.get(&path);
        p.expect_status(400, what);
        assert!(p.header("location").is_none(), "{what}: redirected");
        assert!(b.session_json().is_some(), "{what}: the session survives");
    }
    // Unregistered post_logout_redirect_uri with a valid hint: error page, no redirect.
    let p = b.get(&format!(
        "/oidc/logout?id_token_hint={}&post_logout_redirect_uri={}",
        urlenc(&id_token),
        urlenc("http://evil.example/bye")
    ));
    p.expect_status(400, "unregistered post_logout_redirect_uri");
    assert!(p.header("location").is_none());
    assert!(b.session_json().is_some());

    // form_post: an auto-submitting form to the redirect URI under its own CSP.
    let p = b.get(&authorize_path(
        "conf",
        &[("response_mode", "form_post"), ("state", "fp")],
    ));
    p.expect_status(200, "form_post");
    assert_eq!(
        p.count(&format!("form[data-autosubmit][action=\"{CB}\"]")),
        1,
        "{}",
        p.describe()
    );
    assert_eq!(p.count("input[name=code]"), 1);
    assert_eq!(p.count("script[src=\"/static/autosubmit.js\"]"), 1);
    let csp = p.header("content-security-policy").unwrap();
    assert!(csp.contains("form-action http://127.0.0.1:9;"), "{csp}");
}

fn urlenc(s: &str) -> String {
    let mut u = Url::parse("http://x/").unwrap();
    u.query_pairs_mut().append_pair("v", s);
    u.query().unwrap().trim_start_matches("v=").to_owned()
}

// ---------------------------------------------------------------------------------------------
// keys: rotation publishes first, activates later; KEK rotation re-seals the signing keys

fn signing_key_rotation(backend: Backend) {
    let mut server = TestServer::start(backend, &[]);
    let conf = add_client(&server, "conf", &[]).unwrap();
    let kids = |server: &TestServer| -> Vec<String> {
        let v: Value = http()
            .get(server.url("/oidc/jwks"))
            .send()
            .unwrap()
            .json()
            .unwrap();
        v["keys"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k["kid"].as_str().unwrap().to_owned())
            .collect()
    };
    let header_kid = |tok: &str| -> String {
        let h: Value = serde_json::from_slice(
            &URL_SAFE_NO_PAD
                .decode(tok.split('.').next().unwrap())
                .unwrap(),
        )
        .unwrap();
        h["kid"].as_str().unwrap().to_owned()
    };
    let before = kids(&server);
    assert_eq!(before.len(), 1);
    let out = server.cli_ok(&["keys", "rotate-oidc"]);
    assert!(out.contains("rotated-oidc:"), "{out}");
    let after = kids(&server);
    assert_eq!(after.len(), 2, "the new key is published at once");
    let b = server.browser();
    b.sign_in("demo", &server.pattern_of("demo"), "/");
    let (s, v) = redeem(server.base_url(), "conf", &conf, &code_for(&b, "conf", &[]));
    assert_eq!(s, 200, "{v}");
    assert_eq!(
        header_kid(v["id_token"].as_str().unwrap()),
        before[0],
        "the old key signs until the new one activates"
    );
    // A second rotation that activates at once: the newest key signs.
    server.cli_ok(&["keys", "rotate-oidc", "--activation-delay-secs", "0"]);
    let now_kids = kids(&server);
    assert_eq!(now_kids.len(), 3);
    let (s, v) = redeem(server.base_url(), "conf", &conf, &code_for(&b, "conf", &[]));
    assert_eq!(s, 200, "{v}");
    let signing = header_kid(v["id_token"].as_str().unwrap());
    assert!(!after.contains(&signing), "a new key signs: {signing}");

    // KEK rotation re-seals the signing keys: after a restart the same keys are published.
    server.stop();
    server.cli_ok(&["keys", "rotate-kek"]);
    server.restart();
    assert_eq!(kids(&server), now_kids);
}

// ---------------------------------------------------------------------------------------------
// (c) two nodes on one PostgreSQL database

#[test]
fn code_single_use_across_two_nodes() {
    let a = TestServer::start(Backend::Postgres, &[]);
    let b_node = common::Node::start(&a);
    let secret = add_client(&a, "conf", &[]).unwrap();
    let browser = a.browser();
    browser.sign_in("demo", &a.pattern_of("demo"), "/");

    // Sequential: redeemed on B, refused on A.
    let code = code_for(&browser, "conf", &[]);
    let (s, v) = redeem(b_node.base_url(), "conf", &secret, &code);
    assert_eq!(s, 200, "node B redeems: {v}");
    let (s, v) = redeem(a.base_url(), "conf", &secret, &code);
    assert_token_error(s, &v, 400, "invalid_grant", "node A refuses the replay");

    // Concurrent: the same code at both nodes at once. At most one gets tokens, and since the
    // other presentation is a replay, whatever was issued is revoked (RFC 6749 section 4.1.2).
    for _ in 0..3 {
        let code = code_for(&browser, "conf", &[]);
        let bases = [a.base_url().to_owned(), b_node.base_url().to_owned()];
        let handles: Vec<_> = bases
            .into_iter()
            .map(|base| {
                let (code, secret) = (code.clone(), secret.clone());
                std::thread::spawn(move || redeem(&base, "conf", &secret, &code))
            })
            .collect();
        let results: Vec<(u16, Value)> = handles.into_iter().map(|h| h.join().unwrap()).collect();
        let ok: Vec<&Value> = results
            .iter()
            .filter(|(s, _)| *s == 200)
            .map(|(_, v)| v)
            .collect();
        assert!(ok.len() <= 1, "two nodes redeemed one code: {results:?}");
        assert!(
            results
                .iter()
                .any(|(s, v)| *s == 400 && v["error"] == "invalid_grant"),
            "one presentation is refused: {results:?}"
        );
        for v in ok {
            let at = v["access_token"].as_str().unwrap();
            assert!(
                !introspect_active(a.base_url(), "conf", &secret, at),
                "tokens from a code presented twice are revoked"
            );
        }
    }
}

#[test]
fn client_cli_lists_clients_and_refuses_duplicates() {
    let server = TestServer::start(Backend::Sqlite, &[]);
    add_client(&server, "one", &[]);
    add_client(&server, "two", &["--public"]);
    let fixed = add_client(&server, "three", &["--secret", "s3cr3t-value"]);
    assert_eq!(fixed, None, "a given secret is not printed");
    let dup = server.cli(&["client", "add", "--client-id", "one", "--redirect-uri", CB]);
    assert!(!dup.status.success(), "duplicate client id accepted");
    let out = server.cli_ok(&["client", "list"]);
    let rows: Vec<Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), 3, "{out}");
    assert_eq!(rows[2]["client_id"], "two");
    assert_eq!(rows[2]["type"], "public");
    assert!(!out.contains("s3cr3t-value"));
    // The given secret works at the token endpoint (client_credentials).
    let (s, _, v) = post_basic(
        server.base_url(),
        "/oidc/token",
        "three",
        "s3cr3t-value",
        &[("grant_type", "client_credentials")],
    );
    assert_eq!(s, 200, "{v}");
    // At rest: no client secret, no access token, no private key in the data directory.
    let at = v["access_token"].as_str().unwrap();
    let bytes = server.data_dir_bytes();
    let contains = |needle: &str| bytes.windows(needle.len()).any(|w| w == needle.as_bytes());
    for (needle, what) in [
        ("s3cr3t-value", "client secret"),
        (at, "access token"),
        ("PRIVATE KEY", "signing key"),
    ] {
        assert!(
            !contains(needle),
            "the data directory holds the {what} in the clear"
        );
    }
    // Discovery names this server as the issuer.
    let d: Value = http()
        .get(server.url("/.well-known/openid-configuration"))
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(d["issuer"], server.base_url());
    assert_eq!(d["jwks_uri"], server.url("/oidc/jwks"));
}

// ---------------------------------------------------------------------------------------------
// a relying party in another language: node's openid-client (tests/rp-node)

fn node_openid_client_rp(backend: Backend) {
    use std::io::{BufRead, BufReader, Write};
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/rp-node");
    assert!(
        std::path::Path::new(dir)
            .join("node_modules/openid-client")
            .exists(),
        "run `npm ci` in {dir} first (.ci/run does)"
    );
    let server = TestServer::start(backend, &[]);
    // openid-client sends the secret in the body by default: client_secret_post.
    let secret = add_client(&server, "rp-node", &["--auth-method", "client_secret_post"]).unwrap();
    let mut child = Command::new("node")
        .arg("rp.mjs")
        .args([server.base_url(), "rp-node", &secret, CB])
        .current_dir(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("node is needed: {e}"));
    let mut out = BufReader::new(child.stdout.take().unwrap()).lines();
    let auth_url = match out.next() {
        Some(Ok(l)) if l.starts_with("authorize: ") => l["authorize: ".len()..].to_owned(),
        other => {
            let o = child.wait_with_output().unwrap();
            panic!(
                "rp.mjs did not print the authorization URL ({other:?}): {}",
                String::from_utf8_lossy(&o.stderr)
            )
        }
    };
    let b = server.browser();
    let first = b.get(&auth_url);
    let done = sign_in_from_authorize(&server, &b, &first, "demo", None);
    let callback = rp_location(&done, "node RP callback");
    {
        let mut stdin = child.stdin.take().unwrap();
        writeln!(stdin, "{callback}").unwrap();
    }
    let result = out.find_map(|l| {
        l.ok()
            .and_then(|l| l.strip_prefix("result: ").map(str::to_owned))
    });
    let o = child.wait_with_output().unwrap();
    let result = result.unwrap_or_else(|| {
        panic!(
            "openid-client failed ({}): {}",
            o.status,
            String::from_utf8_lossy(&o.stderr)
        )
    });
    assert!(o.status.success());
    let v: Value = serde_json::from_str(&result).unwrap();
    assert_eq!(v["iss"], server.base_url());
    assert_eq!(v["aud"], "rp-node");
    assert_eq!(v["acr"], "urn:passlogic:acr:1fa");
    assert_eq!(v["amr"], serde_json::json!(["matrix"]));
    assert_eq!(v["userinfo"]["sub"], v["sub"]);
    assert_eq!(v["userinfo"]["preferred_username"], "demo");
    assert_eq!(v["refreshed_sub"], v["sub"]);
    assert_eq!(v["refresh_rotated"], true);
}

// ---------------------------------------------------------------------------------------------
// prompt=login, max_age, and bearer errors at UserInfo

fn reauthentication_and_bearer_errors(backend: Backend) {
    let server = TestServer::start(backend, &[]);
    let conf = add_client(&server, "conf", &[]).unwrap();
    let b = server.browser();
    b.sign_in("demo", &server.pattern_of("demo"), "/");
    let first_auth = b.session_json().unwrap()["auth_time"].as_i64().unwrap();

    // prompt=login with a session: sign in again, then the code (no loop back to /login).
    let r = b.get(&authorize_path(
        "conf",
        &[("prompt", "login"), ("state", "p1")],
    ));
    let done = sign_in_from_authorize(&server, &b, &r, "demo", None);
    let q = query_of(&rp_location(&done, "prompt=login"));
    assert_eq!(param(&q, "state").as_deref(), Some("p1"));
    let code = param(&q, "code").expect("code after re-authentication");

    // max_age exceeded (server clock moved on): sign in again; within max_age: straight through.
    server.advance_clock(120);
    let r = b.get(&authorize_path("conf", &[("max_age", "60")]));
    let done = sign_in_from_authorize(&server, &b, &r, "demo", None);
    rp_location(&done, "max_age after the new sign-in");
    let auth_time = b.session_json().unwrap()["auth_time"].as_i64().unwrap();
    assert!(
        auth_time >= first_auth + 120,
        "a fresh sign-in: {auth_time}"
    );
    code_for(&b, "conf", &[("max_age", "60")]);

    // The code from before the clock moved has expired (60 s).
    let (s, v) = redeem(server.base_url(), "conf", &conf, &code);
    assert_token_error(s, &v, 400, "invalid_grant", "expired code");

    // UserInfo without a token, with a wrong one: 401 with WWW-Authenticate: Bearer.
    for auth in [None, Some("Bearer not-a-token")] {
        let mut req = http().get(server.url("/oidc/userinfo"));
        if let Some(a) = auth {
            req = req.header("authorization", a);
        }
        let r = req.send().unwrap();
        assert_eq!(r.status().as_u16(), 401, "{auth:?}");
        let www = r.headers()["www-authenticate"].to_str().unwrap().to_owned();
        assert!(www.starts_with("Bearer"), "{www}");
        if auth.is_some() {
            assert!(www.contains("invalid_token"), "{www}");
        }
    }
}

// ---------------------------------------------------------------------------------------------
// revocation (RFC 7009) and introspection (RFC 7662)

fn revocation_and_introspection(backend: Backend) {
    let server = TestServer::start(backend, &[]);
    let base = server.base_url().to_owned();
    let conf = add_client(&server, "conf", &[]).unwrap();
    let other = add_client(&server, "other", &[]).unwrap();
    add_client(&server, "pub", &["--public"]);
    let b = server.browser();
    b.sign_in("demo", &server.pattern_of("demo"), "/");
    let tokens = |b: &Browser| {
        let (s, v) = redeem(&base, "conf", &conf, &code_for(b, "conf", &[]));
        assert_eq!(s, 200, "{v}");
        (
            v["access_token"].as_str().unwrap().to_owned(),
            v["refresh_token"].as_str().unwrap().to_owned(),
        )
    };
    let revoke = |id: &str, secret: &str, token: &str| {
        post_basic(&base, "/oidc/revoke", id, secret, &[("token", token)]).0
    };

    // An access token: introspection says who and what; revoked, it is inactive.
    let (at, rt) = tokens(&b);
    let (s, _, v) = post_basic(&base, "/oidc/introspect", "conf", &conf, &[("token", &at)]);
    assert_eq!(s, 200);
    assert_eq!(v["active"], true, "{v}");
    assert_eq!(v["client_id"], "conf");
    assert_eq!(v["scope"], "openid");
    assert!(v["sub"].as_str().is_some_and(|s| !s.is_empty()), "{v}");
    assert_eq!(
        revoke("other", &other, &at),
        200,
        "another client: 200, nothing done"
    );
    assert!(introspect_active(&base, "conf", &conf, &at));
    assert_eq!(
        revoke("conf", "wrong", &at),
        401,
        "bad client authentication"
    );
    assert!(introspect_active(&base, "conf", &conf, &at));
    assert_eq!(revoke("conf", &conf, &at), 200);
    assert!(!introspect_active(&base, "conf", &conf, &at));
    let r = http()
        .get(format!("{base}/oidc/userinfo"))
        .bearer_auth(&at)
        .send()
        .unwrap();
    assert_eq!(r.status().as_u16(), 401, "a revoked token at UserInfo");
    // The refresh token is still good; revoking it revokes the family.
    assert!(introspect_active(&base, "conf", &conf, &rt));
    assert_eq!(revoke("conf", &conf, &rt), 200);
    assert!(!introspect_active(&base, "conf", &conf, &rt));
    let (s, _, v) = post_basic(
        &base,
        "/oidc/token",
        "conf",
        &conf,
        &[("grant_type", "refresh_token"), ("refresh_token", &rt)],
    );
    assert_token_error(s, &v, 400, "invalid_grant", "a revoked refresh token");
    // Unknown tokens: 200 for revocation, inactive for introspection.
    assert_eq!(revoke("conf", &conf, "no-such-token"), 200);
    assert!(!introspect_active(&base, "conf", &conf, "no-such-token"));
    // Public clients may not introspect.
    let r = http()
        .post(format!("{base}/oidc/introspect"))
        .form(&[("token", at.as_str()), ("client_id", "pub")])
        .send()
        .unwrap();
    assert_eq!(r.status().as_u16(), 401);
}

both_backends!(
    openidconnect_rp_code_flow,
    hostile_requests,
    signing_key_rotation,
    node_openid_client_rp,
    reauthentication_and_bearer_errors,
    revocation_and_introspection
);
