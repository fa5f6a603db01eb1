//! OpenID Connect beyond the basic code flow, end to end on the real server:
//!
//! - `acr_values` / `claims` step-up through the pipeline (the `openidconnect` crate as RP);
//! - `private_key_jwt` clients: node's openid-client signs in through matrix + TOTP with its
//!   own key, refreshes, calls UserInfo and logs out; hand-built hostile assertions (alg none,
//!   HS256 keyed with the public key, wrong key, wrong audience, lifetimes, replayed `jti` even
//!   on another server process) are refused with `invalid_client`;
//! - implicit `id_token` and the response modes, ID tokens checked by node's `jose`;
//! - `id_token_hint` at the authorization endpoint (forged hints refused).

mod common;
mod oidc_support;

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use common::{Backend, Browser, Page, TestServer};
use oidc_support::{add_client, b64, http, line_value, param, BYE, CB};
use openidconnect::core::{CoreAuthenticationFlow, CoreClient, CoreIdTokenClaims};
use openidconnect::{
    AuthenticationContextClass, AuthorizationCode, ClientId, ClientSecret, CsrfToken, IssuerUrl,
    Nonce, PkceCodeChallenge, ProviderMetadataWithLogout, RedirectUrl, TokenResponse,
};
use openssl::hash::MessageDigest;
use openssl::pkey::{PKey, Private};
use openssl::sign::Signer;
use reqwest::Url;
use scraper::Selector;
use serde_json::{json, Value};

const ACR_MFA: &str = "urn:passlogic:acr:mfa";
const ACR_1FA: &str = "urn:passlogic:acr:1fa";

// ---------------------------------------------------------------------------------------------
// helpers

fn totp(secret: &str, offset: i64) -> String {
    let at = common::now_unix() + offset;
    let out = Command::new("oathtool")
        .args(["--totp", "-b", secret, "-N", &format!("@{at}")])
        .output()
        .unwrap_or_else(|e| panic!("oathtool is needed (apt-get install oathtool): {e}"));
    assert!(out.status.success(), "oathtool failed");
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

fn pairs_of(s: &str) -> Vec<(String, String)> {
    Url::parse(&format!("http://x/?{s}"))
        .unwrap()
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

type Pairs = Vec<(String, String)>;

/// The 303 to the relying party: (query pairs, fragment pairs).
fn rp_answer(p: &Page, what: &str) -> (Pairs, Pairs) {
    assert_eq!(p.status.as_u16(), 303, "{what}: {}", p.describe());
    let loc = p.header("location").expect("Location");
    assert!(loc.starts_with(CB), "{what}: not to the RP: {loc}");
    let u = Url::parse(&loc).unwrap();
    (
        pairs_of(u.query().unwrap_or("")),
        pairs_of(u.fragment().unwrap_or("")),
    )
}

fn authorize_path(client_id: &str, response_type: &str, extra: &[(&str, &str)]) -> String {
    let mut u = Url::parse("http://x/oidc/authorize").unwrap();
    {
        let mut q = u.query_pairs_mut();
        q.append_pair("client_id", client_id)
            .append_pair("redirect_uri", CB)
            .append_pair("response_type", response_type)
            .append_pair("scope", "openid");
        for (k, v) in extra {
            q.append_pair(k, v);
        }
    }
    format!("/oidc/authorize?{}", u.query().unwrap())
}

/// Verifies `token` with node's `jose` against the server's JWKS; returns the claims.
fn node_verify(server: &TestServer, token: &str, audience: &str) -> Value {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/rp-node");
    let mut child = Command::new("node")
        .arg("verify-jwt.mjs")
        .args([&server.url("/oidc/jwks"), server.base_url(), audience])
        .current_dir(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("node is needed: {e}"));
    child
        .stdin
        .take()
        .unwrap()
        .write_all(token.as_bytes())
        .unwrap();
    let o = child.wait_with_output().unwrap();
    assert!(
        o.status.success(),
        "jose refused the token: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    serde_json::from_str(&line_value(&String::from_utf8_lossy(&o.stdout), "claims")).unwrap()
}

fn sign(header: &Value, claims: &Value, key: &PKey<Private>) -> String {
    let input = format!(
        "{}.{}",
        b64(header.to_string().as_bytes()),
        b64(claims.to_string().as_bytes())
    );
    let mut s = Signer::new(MessageDigest::sha256(), key).unwrap();
    s.update(input.as_bytes()).unwrap();
    let mut sig = s.sign_to_vec().unwrap();
    if key.ec_key().is_ok() {
        // DER ECDSA signature to JOSE's r || s.
        let ecdsa = openssl::ecdsa::EcdsaSig::from_der(&sig).unwrap();
        let mut raw = ecdsa.r().to_vec_padded(32).unwrap();
        raw.extend(ecdsa.s().to_vec_padded(32).unwrap());
        sig = raw;
    }
    format!("{input}.{}", b64(&sig))
}

fn hs256_with(header: &Value, claims: &Value, secret: &[u8]) -> String {
    let input = format!(
        "{}.{}",
        b64(header.to_string().as_bytes()),
        b64(claims.to_string().as_bytes())
    );
    let mut s = Signer::new(MessageDigest::sha256(), &PKey::hmac(secret).unwrap()).unwrap();
    s.update(input.as_bytes()).unwrap();
    format!("{input}.{}", b64(&s.sign_to_vec().unwrap()))
}

fn alg_none(claims: &Value) -> String {
    format!(
        "{}.{}.",
        b64(br#"{"alg":"none","typ":"JWT"}"#),
        b64(claims.to_string().as_bytes())
    )
}

/// Uses the server's TOTP secret of demo-mfa (printed in the demo log).
fn demo_mfa_secret(server: &TestServer) -> String {
    line_value(&server.log(), "totp")
}

/// From a 303 to `/login?return_to=...`: the login form, user ID, grid; returns the answer
/// after the grid.
fn login_from(server: &TestServer, b: &Browser, r: &Page, user: &str) -> Page {
    r.expect_see_other("/login", "sign in first");
    let form = b.follow(r);
    let sel = Selector::parse("input[name=return_to]").unwrap();
    let return_to = form
        .html()
        .select(&sel)
        .next()
        .and_then(|e| e.value().attr("value").map(str::to_owned))
        .expect("return_to field");
    let r = b.post_form("/login", &[("username", user), ("return_to", &return_to)]);
    r.expect_see_other("/login/matrix", "POST /login");
    let grid = common::GridPage::parse(b.follow(&r));
    b.submit_otp(&grid.answer(&server.pattern_of(user)))
}

/// Signs `user` in choosing the grid-only combination (the first offered one).
fn sign_in_grid_only(server: &TestServer, b: &Browser, user: &str) {
    b.get("/login").expect_status(200, "GET /login");
    let r = b.post_form("/login", &[("username", user)]);
    r.expect_see_other("/login/choose", "a choice of combinations");
    b.follow(&r).expect_status(200, "choice page");
    let r = b.post_form("/login/choose", &[("combination", "0")]);
    r.expect_see_other("/login/matrix", "grid only");
    let grid = common::GridPage::parse(b.follow(&r));
    b.submit_otp(&grid.answer(&server.pattern_of(user)))
        .expect_see_other("/", "signed in with the grid alone");
}

// ---------------------------------------------------------------------------------------------
// (1) acr_values / claims step-up through the pipeline

fn acr_step_up(backend: Backend) {
    let server = TestServer::start(backend, &[]);
    // demo-mfa may sign in with the grid alone, or with grid + TOTP.
    server.cli_ok(&[
        "policy",
        "put",
        "mfa",
        "--combinations",
        "matrix,matrix+totp",
    ]);
    let secret = add_client(&server, "rp", &[]).unwrap();
    let rp_secret = secret.clone();
    let totp_secret = demo_mfa_secret(&server);
    let http_rp = openidconnect::reqwest::blocking::Client::builder()
        .redirect(openidconnect::reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let issuer = IssuerUrl::new(server.base_url().to_owned()).unwrap();
    let metadata = ProviderMetadataWithLogout::discover(&issuer, &http_rp).expect("discovery");
    let client = CoreClient::from_provider_metadata(
        metadata,
        ClientId::new("rp".into()),
        Some(ClientSecret::new(secret)),
    )
    .set_redirect_uri(RedirectUrl::new(CB.into()).unwrap());

    // A single-factor session: the grid only.
    let b = server.browser();
    sign_in_grid_only(&server, &b, "demo-mfa");
    let session = b.session_json().unwrap();
    assert_eq!(session["amr"], json!(["matrix"]), "{session}");

    // The RP asks for MFA (acr_values): the IdP runs the missing TOTP step only, then issues
    // the code with the higher acr.
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, state, nonce) = client
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .add_auth_context_value(AuthenticationContextClass::new(ACR_MFA.into()))
        .set_pkce_challenge(challenge)
        .url();
    let r = b.get(url.as_str());
    r.expect_see_other("/login/totp", "step-up: only the missing step");
    b.follow(&r).expect_status(200, "TOTP page");
    let r = b.post_form("/login/totp", &[("otp", &totp(&totp_secret, 0))]);
    r.expect_see_other("/oidc/authorize", "back to the authorization endpoint");
    let done = b.follow(&r);
    let (q, _) = rp_answer(&done, "after the step-up");
    assert_eq!(param(&q, "state").as_deref(), Some(state.secret().as_str()));
    let tokens = client
        .exchange_code(AuthorizationCode::new(param(&q, "code").expect("code")))
        .unwrap()
        .set_pkce_verifier(verifier)
        .request(&http_rp)
        .expect("token exchange");
    let claims: CoreIdTokenClaims = tokens
        .id_token()
        .expect("id_token")
        .claims(&client.id_token_verifier(), &nonce)
        .expect("the crate verifies the ID token")
        .clone();
    assert_eq!(claims.auth_context_ref().map(|a| a.as_str()), Some(ACR_MFA));
    let amr: Vec<String> = claims
        .auth_method_refs()
        .unwrap()
        .iter()
        .map(|a| a.as_str().to_owned())
        .collect();
    assert_eq!(amr, ["matrix", "otp", "swk", "mfa"]);
    assert_eq!(b.session_json().unwrap()["amr"], json!(amr));

    // Now multi-factor: the same request goes straight through (no step-up).
    let r = b.get(&authorize_path(
        "rp",
        "code",
        &[("acr_values", ACR_MFA), ("state", "again")],
    ));
    let (q, _) = rp_answer(&r, "an MFA session satisfies acr mfa");
    assert!(param(&q, "code").is_some());

    // A user who cannot reach MFA (demo: the grid only).
    let d = server.browser();
    d.sign_in("demo", &server.pattern_of("demo"), "/");
    // Essential (claims parameter): unmet_authentication_requirements, no code.
    let claims_param = json!({ "id_token": { "acr": { "essential": true, "values": [ACR_MFA] } } });
    let r = d.get(&authorize_path(
        "rp",
        "code",
        &[("claims", &claims_param.to_string()), ("state", "e1")],
    ));
    let (q, _) = rp_answer(&r, "essential acr out of reach");
    assert_eq!(
        param(&q, "error").as_deref(),
        Some("unmet_authentication_requirements")
    );
    assert_eq!(param(&q, "state").as_deref(), Some("e1"));
    assert_eq!(param(&q, "code"), None);
    // Voluntary (acr_values): the code, with the acr the user has.
    let r = d.get(&authorize_path("rp", "code", &[("acr_values", ACR_MFA)]));
    let (q, _) = rp_answer(&r, "voluntary acr out of reach");
    let code = param(&q, "code").expect("code");
    let (s, v) = redeem(server.base_url(), "rp", &rp_secret, &code);
    assert_eq!(s, 200, "{v}");
    let claims = node_verify(&server, v["id_token"].as_str().unwrap(), "rp");
    assert_eq!(claims["acr"], ACR_1FA);

    // A single-factor session with prompt=none and an essential MFA acr: interaction_required.
    let c = server.browser();
    sign_in_grid_only(&server, &c, "demo-mfa");
    let r = c.get(&authorize_path(
        "rp",
        "code",
        &[("claims", &claims_param.to_string()), ("prompt", "none")],
    ));
    let (q, _) = rp_answer(&r, "prompt=none cannot step up");
    assert_eq!(param(&q, "error").as_deref(), Some("interaction_required"));
}

fn redeem(base: &str, id: &str, secret: &str, code: &str) -> (u16, Value) {
    let r = http()
        .post(format!("{base}/oidc/token"))
        .basic_auth(id, Some(secret))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", CB),
        ])
        .send()
        .unwrap();
    let s = r.status().as_u16();
    (s, r.json().unwrap_or(Value::Null))
}

// ---------------------------------------------------------------------------------------------
// (2) private_key_jwt clients

/// A client key pair: (private key, public JWKS file path, kid).
fn client_key(server: &TestServer, alg: &str, kid: &str) -> (PKey<Private>, String) {
    let (key, jwk) = if alg == "RS256" {
        let rsa = openssl::rsa::Rsa::generate(2048).unwrap();
        let jwk = json!({
            "kty": "RSA", "use": "sig", "alg": "RS256", "kid": kid,
            "n": b64(&rsa.n().to_vec()), "e": b64(&rsa.e().to_vec()),
        });
        (PKey::from_rsa(rsa).unwrap(), jwk)
    } else {
        let group =
            openssl::ec::EcGroup::from_curve_name(openssl::nid::Nid::X9_62_PRIME256V1).unwrap();
        let ec = openssl::ec::EcKey::generate(&group).unwrap();
        let mut ctx = openssl::bn::BigNumContext::new().unwrap();
        let (mut x, mut y) = (
            openssl::bn::BigNum::new().unwrap(),
            openssl::bn::BigNum::new().unwrap(),
        );
        ec.public_key()
            .affine_coordinates(&group, &mut x, &mut y, &mut ctx)
            .unwrap();
        let jwk = json!({
            "kty": "EC", "use": "sig", "alg": "ES256", "kid": kid, "crv": "P-256",
            "x": b64(&x.to_vec_padded(32).unwrap()), "y": b64(&y.to_vec_padded(32).unwrap()),
        });
        (PKey::from_ec_key(ec).unwrap(), jwk)
    };
    let path = server.data_dir().join(format!("{kid}.jwks.json"));
    std::fs::write(&path, json!({ "keys": [jwk] }).to_string()).unwrap();
    (key, path.to_string_lossy().into_owned())
}

fn assertion_claims(client_id: &str, aud: &str, jti: &str, lifetime: i64) -> Value {
    let now = common::now_unix();
    json!({
        "iss": client_id, "sub": client_id, "aud": aud, "jti": jti,
        "iat": now, "exp": now + lifetime,
    })
}

/// client_credentials with a client assertion at `base`; (status, body).
fn assert_with(base: &str, client_id: &str, assertion: &str) -> (u16, Value) {
    let r = http()
        .post(format!("{base}/oidc/token"))
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", client_id),
            (
                "client_assertion_type",
                "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            ),
            ("client_assertion", assertion),
        ])
        .send()
        .unwrap();
    let s = r.status().as_u16();
    (s, r.json().unwrap_or(Value::Null))
}

fn private_key_jwt_node_rp(backend: Backend) {
    let server = TestServer::start(backend, &[]);
    let (key, jwks) = client_key(&server, "RS256", "node-k1");
    let out = server.cli_ok(&[
        "client",
        "add",
        "--client-id",
        "rp-node-pkjwt",
        "--redirect-uri",
        CB,
        "--post-logout-redirect-uri",
        BYE,
        "--jwks",
        &jwks,
        "--scope",
        "openid",
        "--scope",
        "profile",
        "--scope",
        "email",
        "--scope",
        "offline_access",
    ]);
    assert_eq!(
        line_value(&out, "token_endpoint_auth_method"),
        "private_key_jwt"
    );
    assert!(!out.contains("client_secret"), "no secret for a key client");
    let pem = server.data_dir().join("node-k1.pem");
    std::fs::write(&pem, key.private_key_to_pem_pkcs8().unwrap()).unwrap();
    let totp_secret = demo_mfa_secret(&server);

    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/rp-node");
    let mut child = Command::new("node")
        .arg("rp.mjs")
        .args([server.base_url(), "rp-node-pkjwt", "-", CB])
        .env("RP_PRIVATE_KEY_FILE", &pem)
        .env("RP_KEY_ALG", "RS256")
        .env("RP_KID", "node-k1")
        .env("RP_POST_LOGOUT", BYE)
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
    // The browser signs in through matrix + TOTP.
    let b = server.browser();
    let r = b.get(&auth_url);
    let r = login_from(&server, &b, &r, "demo-mfa");
    r.expect_see_other("/login/totp", "grid, then TOTP");
    b.follow(&r).expect_status(200, "TOTP page");
    let r = b.post_form("/login/totp", &[("otp", &totp(&totp_secret, 0))]);
    r.expect_see_other("/oidc/authorize", "back to the authorization endpoint");
    let done = b.follow(&r);
    let callback = done.header("location").expect("callback");
    writeln!(child.stdin.take().unwrap(), "{callback}").unwrap();
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
    let v: Value = serde_json::from_str(&result).unwrap();
    assert_eq!(v["aud"], "rp-node-pkjwt");
    assert_eq!(v["acr"], ACR_MFA);
    assert_eq!(v["amr"], json!(["matrix", "otp", "swk", "mfa"]));
    assert_eq!(v["userinfo"]["preferred_username"], "demo-mfa");
    assert_eq!(v["refreshed_sub"], v["sub"]);
    assert_eq!(v["refresh_rotated"], true);
    // RP-initiated logout with the URL openid-client built.
    assert!(b.session_json().is_some());
    let r = b.get(v["end_session"].as_str().expect("end_session URL"));
    assert_eq!(r.status.as_u16(), 303, "{}", r.describe());
    assert_eq!(
        r.header("location").as_deref(),
        Some(format!("{BYE}?state=node-bye").as_str())
    );
    assert!(b.session_json().is_none(), "signed out");
}

fn private_key_jwt_hostile_assertions(backend: Backend) {
    let server = TestServer::start(backend, &[]);
    let base = server.base_url().to_owned();
    let (rsa, jwks) = client_key(&server, "RS256", "rs-1");
    let (ec, ec_jwks) = client_key(&server, "ES256", "ec-1");
    add_client(&server, "pk-rs", &["--jwks", &jwks]);
    add_client(&server, "pk-ec", &["--jwks", &ec_jwks]);
    let token_ep = server.url("/oidc/token");
    let rs_header = json!({ "alg": "RS256", "kid": "rs-1", "typ": "JWT" });

    // Accepted: RS256 with aud = token endpoint, ES256 with aud = issuer.
    let ok = sign(
        &rs_header,
        &assertion_claims("pk-rs", &token_ep, "j-ok", 60),
        &rsa,
    );
    let (s, v) = assert_with(&base, "pk-rs", &ok);
    assert_eq!(s, 200, "{v}");
    assert!(v["access_token"].is_string());
    let ec_ok = sign(
        &json!({ "alg": "ES256", "kid": "ec-1" }),
        &assertion_claims("pk-ec", &base, "j-ec", 60),
        &ec,
    );
    let (s, v) = assert_with(&base, "pk-ec", &ec_ok);
    assert_eq!(s, 200, "{v}");

    // Refused, each with invalid_client and no token.
    let public_pem = rsa.public_key_to_pem().unwrap();
    let other = PKey::from_rsa(openssl::rsa::Rsa::generate(2048).unwrap()).unwrap();
    let claims = |jti: &str| assertion_claims("pk-rs", &token_ep, jti, 60);
    let mut not_mine = claims("j-iss");
    not_mine["iss"] = json!("pk-ec");
    not_mine["sub"] = json!("pk-ec");
    let cases: Vec<(String, &str)> = vec![
        (ok.clone(), "replayed jti"),
        (alg_none(&claims("j-none")), "alg none"),
        (
            hs256_with(
                &json!({ "alg": "HS256", "kid": "rs-1" }),
                &claims("j-hs"),
                &public_pem,
            ),
            "HS256 keyed with the public key",
        ),
        (sign(&rs_header, &claims("j-other"), &other), "wrong key"),
        (
            sign(
                &rs_header,
                &assertion_claims("pk-rs", "https://elsewhere.example/token", "j-aud", 60),
                &rsa,
            ),
            "wrong audience",
        ),
        (
            sign(
                &rs_header,
                &assertion_claims("pk-rs", &token_ep, "j-long", 7200),
                &rsa,
            ),
            "exp too far ahead",
        ),
        (
            sign(
                &rs_header,
                &assertion_claims("pk-rs", &token_ep, "j-old", -10),
                &rsa,
            ),
            "expired",
        ),
        (
            sign(&rs_header, &not_mine, &rsa),
            "iss/sub of another client",
        ),
        (ec_ok.clone(), "another client's assertion"),
    ];
    for (assertion, what) in cases {
        let (s, v) = assert_with(&base, "pk-rs", &assertion);
        assert_eq!(s, 401, "{what}: {v}");
        assert_eq!(v["error"], "invalid_client", "{what}: {v}");
        assert!(v.get("access_token").is_none(), "{what}");
    }
    // The same refusals where revocation and introspection read the assertion.
    for path in ["/oidc/revoke", "/oidc/introspect"] {
        for (assertion, what) in [
            (alg_none(&claims("j-none-2")), "alg none"),
            (
                hs256_with(
                    &json!({ "alg": "HS256", "kid": "rs-1" }),
                    &claims("j-hs-2"),
                    &public_pem,
                ),
                "HS256 keyed with the public key",
            ),
        ] {
            let r = http()
                .post(format!("{base}{path}"))
                .form(&[
                    ("token", "anything"),
                    ("client_id", "pk-rs"),
                    (
                        "client_assertion_type",
                        "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                    ),
                    ("client_assertion", assertion.as_str()),
                ])
                .send()
                .unwrap();
            assert_eq!(r.status().as_u16(), 401, "{path} {what}");
            let v: Value = r.json().unwrap();
            assert_eq!(v["error"], "invalid_client", "{path} {what}");
        }
    }
    // A secret is no way in for a key client.
    let r = http()
        .post(format!("{base}/oidc/token"))
        .basic_auth("pk-rs", Some("guess"))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .unwrap();
    assert_eq!(r.status().as_u16(), 401);

    // CLI: private keys and symmetric keys are refused.
    let priv_path = server.data_dir().join("private.jwks.json");
    std::fs::write(
        &priv_path,
        json!({ "keys": [{ "kty": "oct", "k": "c2VjcmV0" }] }).to_string(),
    )
    .unwrap();
    let o = server.cli(&[
        "client",
        "add",
        "--client-id",
        "pk-bad",
        "--redirect-uri",
        CB,
        "--jwks",
        &priv_path.to_string_lossy(),
    ]);
    assert!(!o.status.success(), "a symmetric key is refused");
}

/// A second server process on the same PostgreSQL database, behind the same public URL.

#[test]
fn assertion_jti_single_use_across_two_nodes() {
    let a = TestServer::start(Backend::Postgres, &[]);
    let (rsa, jwks) = client_key(&a, "RS256", "rs-2");
    add_client(&a, "pk", &["--jwks", &jwks]);
    let b_node = common::Node::start(&a);
    let header = json!({ "alg": "RS256", "kid": "rs-2" });
    let assertion = sign(
        &header,
        &assertion_claims("pk", &a.url("/oidc/token"), "shared-jti", 60),
        &rsa,
    );
    let (s, v) = assert_with(b_node.base_url(), "pk", &assertion);
    assert_eq!(s, 200, "node B accepts: {v}");
    let (s, v) = assert_with(a.base_url(), "pk", &assertion);
    assert_eq!(s, 401, "node A refuses the replay: {v}");
    assert_eq!(v["error"], "invalid_client");
}

fn refresh(base: &str, id: &str, secret: &str, rt: &str) -> (u16, Value) {
    let r = http()
        .post(format!("{base}/oidc/token"))
        .basic_auth(id, Some(secret))
        .form(&[("grant_type", "refresh_token"), ("refresh_token", rt)])
        .send()
        .unwrap();
    let s = r.status().as_u16();
    (s, r.json().unwrap_or(Value::Null))
}

#[test]
fn refresh_single_use_across_two_nodes() {
    let a = TestServer::start(Backend::Postgres, &[]);
    let secret = add_client(&a, "conf", &[]).unwrap();
    let b_node = common::Node::start(&a);
    let browser = a.browser();
    browser.sign_in("demo", &a.pattern_of("demo"), "/");
    let code_for = || {
        let r = browser.get(&authorize_path("conf", "code", &[]));
        let (q, _) = rp_answer(&r, "code");
        param(&q, "code").expect("code")
    };
    let (s, v) = redeem(a.base_url(), "conf", &secret, &code_for());
    assert_eq!(s, 200, "{v}");
    let rt1 = v["refresh_token"].as_str().unwrap().to_owned();

    // Rotated on node B; the old token replayed on node A is reuse: the family is revoked,
    // so the new token stops working on node B too.
    let (s, v) = refresh(b_node.base_url(), "conf", &secret, &rt1);
    assert_eq!(s, 200, "node B rotates: {v}");
    let rt2 = v["refresh_token"].as_str().unwrap().to_owned();
    let (s, v) = refresh(a.base_url(), "conf", &secret, &rt1);
    assert_eq!(
        (s, v["error"].as_str()),
        (400, Some("invalid_grant")),
        "{v}"
    );
    let (s, v) = refresh(b_node.base_url(), "conf", &secret, &rt2);
    assert_eq!(
        (s, v["error"].as_str()),
        (400, Some("invalid_grant")),
        "{v}"
    );

    // The same refresh token at both nodes at once: at most one rotation succeeds.
    for _ in 0..3 {
        let (s, v) = redeem(a.base_url(), "conf", &secret, &code_for());
        assert_eq!(s, 200, "{v}");
        let rt = v["refresh_token"].as_str().unwrap().to_owned();
        let handles: Vec<_> = [a.base_url().to_owned(), b_node.base_url().to_owned()]
            .into_iter()
            .map(|base| {
                let (rt, secret) = (rt.clone(), secret.clone());
                std::thread::spawn(move || refresh(&base, "conf", &secret, &rt))
            })
            .collect();
        let results: Vec<(u16, Value)> = handles.into_iter().map(|h| h.join().unwrap()).collect();
        let ok = results.iter().filter(|(s, _)| *s == 200).count();
        assert!(ok <= 1, "two nodes rotated one refresh token: {results:?}");
        assert!(
            results
                .iter()
                .any(|(s, v)| *s == 400 && v["error"] == "invalid_grant"),
            "{results:?}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// (3) implicit id_token and response modes

fn implicit_and_response_modes(backend: Backend) {
    let server = TestServer::start(backend, &[]);
    add_client(
        &server,
        "imp",
        &["--response-type", "id_token", "--response-type", "code"],
    );
    add_client(&server, "code-only", &[]);
    let d: Value = http()
        .get(server.url("/.well-known/openid-configuration"))
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(d["response_types_supported"], json!(["code", "id_token"]));
    assert_eq!(
        d["response_modes_supported"],
        json!(["query", "fragment", "form_post"])
    );
    assert!(d["token_endpoint_auth_methods_supported"]
        .as_array()
        .unwrap()
        .contains(&json!("private_key_jwt")));

    let b = server.browser();
    b.sign_in("demo", &server.pattern_of("demo"), "/");

    // id_token, default fragment: the ID token in the fragment, verified by jose.
    let r = b.get(&authorize_path(
        "imp",
        "id_token",
        &[("nonce", "n-frag"), ("state", "s1")],
    ));
    let (q, f) = rp_answer(&r, "implicit, fragment");
    assert!(q.is_empty(), "nothing in the query: {q:?}");
    assert_eq!(param(&f, "state").as_deref(), Some("s1"));
    assert_eq!(param(&f, "iss").as_deref(), Some(server.base_url()));
    assert_eq!(param(&f, "code"), None);
    assert_eq!(param(&f, "access_token"), None);
    let claims = node_verify(&server, &param(&f, "id_token").unwrap(), "imp");
    assert_eq!(claims["nonce"], "n-frag");
    assert_eq!(claims["acr"], ACR_1FA);
    assert_eq!(claims["amr"], json!(["matrix"]));
    assert!(claims.get("at_hash").is_none());
    assert!(claims["auth_time"].is_i64());

    // id_token via form_post.
    let p = b.get(&authorize_path(
        "imp",
        "id_token",
        &[("nonce", "n-post"), ("response_mode", "form_post")],
    ));
    p.expect_status(200, "implicit form_post");
    let html = p.html();
    let token = html
        .select(&Selector::parse("form[data-autosubmit] input[name=id_token]").unwrap())
        .next()
        .and_then(|i| i.value().attr("value").map(str::to_owned))
        .unwrap_or_else(|| panic!("no id_token field: {}", p.describe()));
    assert_eq!(node_verify(&server, &token, "imp")["nonce"], "n-post");

    // code via fragment and via query (default).
    let r = b.get(&authorize_path(
        "imp",
        "code",
        &[("response_mode", "fragment")],
    ));
    let (q, f) = rp_answer(&r, "code, fragment");
    assert!(q.is_empty() && param(&f, "code").is_some(), "{f:?}");
    let r = b.get(&authorize_path("imp", "code", &[]));
    let (q, _) = rp_answer(&r, "code, query");
    assert!(param(&q, "code").is_some());

    // Refusals, delivered to the client, nothing issued.
    for (client, rt, extra, error, what) in [
        (
            "imp",
            "id_token",
            vec![],
            "invalid_request",
            "id_token without nonce",
        ),
        (
            "imp",
            "id_token",
            vec![("nonce", "n"), ("response_mode", "query")],
            "invalid_request",
            "id_token in a query",
        ),
        (
            "code-only",
            "id_token",
            vec![("nonce", "n")],
            "unauthorized_client",
            "a client not registered for id_token",
        ),
    ] {
        let r = b.get(&authorize_path(client, rt, &extra));
        let (q, f) = rp_answer(&r, what);
        let all: Vec<(String, String)> = q.into_iter().chain(f).collect();
        assert_eq!(param(&all, "error").as_deref(), Some(error), "{what}");
        assert_eq!(param(&all, "id_token"), None, "{what}");
        assert_eq!(param(&all, "code"), None, "{what}");
    }
}

// ---------------------------------------------------------------------------------------------
// (4) id_token_hint at the authorization endpoint

fn id_token_hint_at_authorize(backend: Backend) {
    let server = TestServer::start(backend, &[]);
    add_client(
        &server,
        "imp",
        &["--response-type", "id_token", "--response-type", "code"],
    );
    let b = server.browser();
    b.sign_in("demo", &server.pattern_of("demo"), "/");
    let r = b.get(&authorize_path("imp", "id_token", &[("nonce", "n0")]));
    let (_, f) = rp_answer(&r, "an ID token to use as a hint");
    let own = param(&f, "id_token").unwrap();

    // Our own ID token for this user: accepted (prompt=none too).
    let r = b.get(&authorize_path(
        "imp",
        "code",
        &[("id_token_hint", &own), ("prompt", "none")],
    ));
    let (q, _) = rp_answer(&r, "a valid hint for the signed-in user");
    assert!(param(&q, "code").is_some(), "{q:?}");

    // Forged hints: invalid_request at the client, no code.
    let payload: Value = serde_json::from_slice(
        &URL_SAFE_NO_PAD
            .decode(own.split('.').nth(1).unwrap())
            .unwrap(),
    )
    .unwrap();
    let jwks: Value = http()
        .get(server.url("/oidc/jwks"))
        .send()
        .unwrap()
        .json()
        .unwrap();
    let kid = jwks["keys"][0]["kid"].as_str().unwrap();
    let cert = openssl::x509::X509::from_der(
        &base64::engine::general_purpose::STANDARD
            .decode(jwks["keys"][0]["x5c"][0].as_str().unwrap())
            .unwrap(),
    )
    .unwrap();
    let public_pem = cert.public_key().unwrap().public_key_to_pem().unwrap();
    let other = PKey::from_rsa(openssl::rsa::Rsa::generate(2048).unwrap()).unwrap();
    let mut other_iss = payload.clone();
    other_iss["iss"] = json!("https://other-idp.example");
    for (hint, what) in [
        (alg_none(&payload), "alg none"),
        (
            hs256_with(
                &json!({ "alg": "HS256", "kid": kid }),
                &payload,
                &public_pem,
            ),
            "HS256 keyed with our public key",
        ),
        (
            sign(&json!({ "alg": "RS256", "kid": kid }), &payload, &other),
            "signed by another key",
        ),
        (
            sign(&json!({ "alg": "RS256", "kid": kid }), &other_iss, &other),
            "another issuer",
        ),
    ] {
        let r = b.get(&authorize_path(
            "imp",
            "code",
            &[("id_token_hint", &hint), ("state", "h")],
        ));
        let (q, _) = rp_answer(&r, what);
        assert_eq!(
            param(&q, "error").as_deref(),
            Some("invalid_request"),
            "{what}"
        );
        assert_eq!(param(&q, "state").as_deref(), Some("h"), "{what}");
        assert_eq!(param(&q, "code"), None, "{what}");
    }

    // A valid hint naming another user: that user must sign in (prompt=none: login_required;
    // otherwise the login page).
    let admin = server.browser();
    admin.sign_in("admin", &server.pattern_of("admin"), "/");
    let r = admin.get(&authorize_path(
        "imp",
        "code",
        &[("id_token_hint", &own), ("prompt", "none")],
    ));
    let (q, _) = rp_answer(&r, "hint for another user, prompt=none");
    assert_eq!(param(&q, "error").as_deref(), Some("login_required"));
    assert_eq!(param(&q, "code"), None);
    let r = admin.get(&authorize_path("imp", "code", &[("id_token_hint", &own)]));
    r.expect_see_other("/login", "hint for another user: sign in as that user");
    // Signing in as someone else does not satisfy the hint: login_required, no code.
    let r = login_from(&server, &admin, &r, "admin");
    r.expect_see_other("/oidc/authorize", "back to the authorization endpoint");
    let (q, _) = rp_answer(
        &admin.follow(&r),
        "signed in as another user than the hint's",
    );
    assert_eq!(param(&q, "error").as_deref(), Some("login_required"));
    assert_eq!(param(&q, "code"), None);
}

both_backends!(
    acr_step_up,
    private_key_jwt_node_rp,
    private_key_jwt_hostile_assertions,
    implicit_and_response_modes,
    id_token_hint_at_authorize
);
