//! Microsoft Entra ID's external authentication method (EAM) end to end on the real server:
//! the Entra-shaped fixture request (fixtures/oidc/eam, a test key standing in for Entra's)
//! is form-POSTed to `/oidc/authorize`, the linked user passes the second-factor step (TOTP)
//! without a user-ID page, and the form-POSTed answer's `id_token` is verified by node's
//! `jose` (tests/rp-node/verify-jwt.mjs). Forged hints (wrong key, issuer, audience, `alg:
//! none`, HS256 keyed with the public key) are refused with `access_denied` and start nothing;
//! unlinked users, users without a second factor and a cancel answer `access_denied`.

mod common;

use std::io::Write;
use std::process::{Command, Stdio};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use common::{Backend, Browser, Page, TestServer};
use openssl::hash::MessageDigest;
use openssl::pkey::{PKey, Private};
use openssl::sign::Signer;
use scraper::Selector;
use serde_json::{json, Value};

const CLIENT: &str = "passlogic-eam-test-client";
const APP_ID: &str = "bbbbbbbb-0000-4000-8000-000000000002";
const TID: &str = "aaaaaaaa-0000-4000-8000-000000000001";
const OID: &str = "cccccccc-0000-4000-8000-000000000003";
const ENTRA_REDIRECT: &str =
    "https://login.microsoftonline.com/common/federation/externalauthprovider";
const ENTRA_ISSUER: &str = "https://login.microsoftonline.com/{tenantid}/v2.0";

fn fixture_path(name: &str) -> String {
    format!("{}/../fixtures/oidc/eam/{name}", env!("CARGO_MANIFEST_DIR"))
}

fn fixture(name: &str) -> String {
    let p = fixture_path(name);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{p}: {e}"))
}

fn b64(v: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(v)
}

fn line_value(out: &str, key: &str) -> String {
    out.lines()
        .find_map(|l| {
            l.trim()
                .strip_prefix(&format!("{key}: "))
                .map(str::to_owned)
        })
        .unwrap_or_else(|| panic!("no `{key}:` line in:\n{out}"))
}

fn totp(secret: &str, offset: i64) -> String {
    let at = common::now_unix() + offset;
    let out = Command::new("oathtool")
        .args(["--totp", "-b", secret, "-N", &format!("@{at}")])
        .output()
        .unwrap_or_else(|e| panic!("oathtool is needed (apt-get install oathtool): {e}"));
    assert!(out.status.success(), "oathtool failed");
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

fn configure(server: &TestServer, extra: &[&str]) {
    let jwks = fixture_path("entra-jwks.json");
    let mut args = vec![
        "eam",
        "configure",
        "--client-id",
        CLIENT,
        "--app-id",
        APP_ID,
        "--issuer",
        ENTRA_ISSUER,
        "--jwks",
        &jwks,
    ];
    args.extend_from_slice(extra);
    let out = server.cli_ok(&args);
    assert_eq!(line_value(&out, "eam"), "configured");
    assert_eq!(line_value(&out, "keys"), "1");
}

/// The fixture's form fields, with the hint replaced when `hint` is given.
fn request(hint: Option<&str>) -> Vec<(String, String)> {
    let body = fixture("entra-request.form");
    let mut pairs: Vec<(String, String)> =
        reqwest::Url::parse(&format!("http://x/?{}", body.trim()))
            .unwrap()
            .query_pairs()
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
    if let Some(h) = hint {
        for (k, v) in &mut pairs {
            if k == "id_token_hint" {
                *v = h.to_owned();
            }
        }
    }
    pairs
}

fn field(pairs: &[(String, String)], name: &str) -> String {
    pairs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.clone())
        .unwrap_or_else(|| panic!("no {name} in {pairs:?}"))
}

/// Entra's browser POST of the authorization request.
fn entra_post(b: &Browser, pairs: &[(String, String)]) -> Page {
    let fields: Vec<(&str, &str)> = pairs
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    b.post_form_raw("/oidc/authorize", &fields)
}

/// The auto-submitting form of a form_post answer: (action, fields).
fn form_post(p: &Page, what: &str) -> (String, Vec<(String, String)>) {
    p.expect_status(200, what);
    let html = p.html();
    let form = html
        .select(&Selector::parse("form[data-autosubmit]").unwrap())
        .next()
        .unwrap_or_else(|| panic!("{what}: no auto-submitting form: {}", p.describe()));
    let action = form.value().attr("action").unwrap().to_owned();
    let fields = form
        .select(&Selector::parse("input[type=hidden]").unwrap())
        .map(|i| {
            (
                i.value().attr("name").unwrap_or("").to_owned(),
                i.value().attr("value").unwrap_or("").to_owned(),
            )
        })
        .collect();
    (action, fields)
}

/// A refusal: `error=access_denied` (and `state`) POSTed to Entra, no id_token, no sign-in
/// started.
fn assert_access_denied(p: &Page, what: &str) {
    let (action, fields) = form_post(p, what);
    assert_eq!(action, ENTRA_REDIRECT, "{what}");
    let names: Vec<&str> = fields.iter().map(|(k, _)| k.as_str()).collect();
    assert!(!names.contains(&"id_token"), "{what}: {fields:?}");
    assert_eq!(field(&fields, "error"), "access_denied", "{what}");
    assert_eq!(
        field(&fields, "state"),
        field(&request(None), "state"),
        "{what}"
    );
    assert!(
        !p.set_cookies()
            .iter()
            .any(|c| c.starts_with("pl_attempt=") && !c.starts_with("pl_attempt=;")),
        "{what}: a sign-in attempt was started"
    );
}

fn entra_key() -> PKey<Private> {
    PKey::private_key_from_pem(fixture("entra-test-only-key.pem").as_bytes()).unwrap()
}

fn hint_claims() -> Value {
    serde_json::from_str(&fixture("entra-id-token-hint-claims.json")).unwrap()
}

fn rs256(header: &Value, claims: &Value, key: &PKey<Private>) -> String {
    let input = format!(
        "{}.{}",
        b64(header.to_string().as_bytes()),
        b64(claims.to_string().as_bytes())
    );
    let mut s = Signer::new(MessageDigest::sha256(), key).unwrap();
    s.update(input.as_bytes()).unwrap();
    format!("{input}.{}", b64(&s.sign_to_vec().unwrap()))
}

fn entra_header() -> Value {
    json!({ "alg": "RS256", "kid": "TEST-ONLY-entra-kid-1", "typ": "JWT" })
}

/// Verifies `token` with node's `jose` against the server's JWKS; returns (header, claims).
fn node_verify(server: &TestServer, token: &str, audience: &str) -> (Value, Value) {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/rp-node");
    assert!(
        std::path::Path::new(dir).join("node_modules/jose").exists(),
        "run `npm ci` in {dir} first (.ci/run does)"
    );
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
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(
        o.status.success(),
        "jose refused the id_token: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let header = serde_json::from_str(&line_value(&out, "header")).unwrap();
    let claims = serde_json::from_str(&line_value(&out, "claims")).unwrap();
    (header, claims)
}

/// From Entra's POST through the TOTP step to the form-POSTed answer.
fn round_trip(
    server: &TestServer,
    b: &Browser,
    hint: Option<&str>,
    secret: &str,
    offset: i64,
) -> Page {
    let r = entra_post(b, &request(hint));
    r.expect_see_other(
        "/login/totp",
        "the linked user's second factor, no user-ID page",
    );
    let page = b.follow(&r);
    page.expect_status(200, "TOTP page");
    let r = b.post_form("/login/totp", &[("otp", &totp(secret, offset))]);
    r.expect_see_other("/oidc/eam/resume", "back to the EAM answer");
    let _ = server;
    b.follow(&r)
}

fn check_answer(server: &TestServer, p: &Page, what: &str) -> Value {
    let (action, fields) = form_post(p, what);
    assert_eq!(action, ENTRA_REDIRECT);
    assert_eq!(field(&fields, "state"), field(&request(None), "state"));
    assert!(!fields.iter().any(|(k, _)| k == "error"), "{fields:?}");
    let csp = p.header("content-security-policy").unwrap();
    assert!(
        csp.contains("form-action https://login.microsoftonline.com;"),
        "{csp}"
    );
    let (header, claims) = node_verify(server, &field(&fields, "id_token"), CLIENT);
    assert_eq!(header["alg"], "RS256");
    claims
}

// ---------------------------------------------------------------------------------------------

fn eam_fixture_round_trip(backend: Backend) {
    let server = TestServer::start(backend, &[]);
    configure(&server, &[]);
    let out = server.cli_ok(&["eam", "link", "demo-mfa", "--tid", TID, "--oid", OID]);
    assert_eq!(line_value(&out, "linked"), "demo-mfa");
    let secret = line_value(&server.log(), "totp");
    let b = server.browser();
    let done = round_trip(&server, &b, None, &secret, 0);
    let claims = check_answer(&server, &done, "the fixture round trip");

    // The answer has exactly the expected claims (times and issuer are this server's).
    let expected: Value = serde_json::from_str(&fixture("expected-response-claims.json")).unwrap();
    let names = |v: &Value| {
        let mut k: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
        k.sort();
        k
    };
    assert_eq!(names(&claims), names(&expected), "{claims}");
    for k in ["sub", "aud", "nonce", "acr", "amr"] {
        assert_eq!(claims[k], expected[k], "{k}");
    }
    assert_eq!(claims["sub"], hint_claims()["sub"]);
    assert_eq!(claims["iss"], server.base_url());
    let lifetime = claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap();
    assert_eq!(lifetime, 300);

    // The EAM sign-in leaves no session here, and its answer is single use.
    assert!(b.session_json().is_none(), "no session after EAM");
    let again = b.get(done.request.trim_start_matches("GET "));
    again.expect_status(400, "the resume URL a second time");
    assert_eq!(again.count("input[name=id_token]"), 0);

    // Unknown client_id or a redirect URI that is not Entra's: an error page, nothing POSTed.
    for (name, value, what) in [
        ("client_id", "someone-else", "unknown client_id"),
        (
            "redirect_uri",
            "https://evil.example/cb",
            "foreign redirect URI",
        ),
    ] {
        let mut pairs = request(None);
        for (k, v) in &mut pairs {
            if k == name {
                *v = value.to_owned();
            }
        }
        let p = entra_post(&b, &pairs);
        p.expect_status(400, what);
        assert_eq!(p.count("form[data-autosubmit]"), 0, "{what}");
    }
    // `redirect_url` (the reference's table) works like `redirect_uri`.
    let pairs: Vec<(String, String)> = request(None)
        .into_iter()
        .map(|(k, v)| {
            if k == "redirect_uri" {
                ("redirect_url".to_owned(), v)
            } else {
                (k, v)
            }
        })
        .collect();
    entra_post(&b, &pairs).expect_see_other("/login/totp", "redirect_url accepted");
}

fn eam_forged_hints_refused(backend: Backend) {
    let server = TestServer::start(backend, &[]);
    configure(&server, &[]);
    server.cli_ok(&["eam", "link", "demo-mfa", "--tid", TID, "--oid", OID]);
    let b = server.browser();

    // Control: the hint re-signed here with the stand-in Entra key is accepted, so the
    // forgeries below differ only in what they forge.
    let genuine = rs256(&entra_header(), &hint_claims(), &entra_key());
    entra_post(&server.browser(), &request(Some(&genuine)))
        .expect_see_other("/login/totp", "a correctly signed hint");

    let other_key = PKey::from_rsa(openssl::rsa::Rsa::generate(2048).unwrap()).unwrap();
    let mut wrong_iss = hint_claims();
    wrong_iss["iss"] =
        json!("https://login.evil.example/aaaaaaaa-0000-4000-8000-000000000001/v2.0");
    let mut other_tenant_iss = hint_claims();
    other_tenant_iss["iss"] =
        json!("https://login.microsoftonline.com/ffffffff-0000-4000-8000-00000000000f/v2.0");
    let mut wrong_aud = hint_claims();
    wrong_aud["aud"] = json!("dddddddd-0000-4000-8000-00000000000d");
    let body = b64(hint_claims().to_string().as_bytes());
    let none = format!("{}.{body}.", b64(br#"{"alg":"none","typ":"JWT"}"#));
    // HS256 keyed with Entra's public key (PEM), the classic algorithm confusion.
    let public_pem = entra_key().public_key_to_pem().unwrap();
    let header = b64(br#"{"alg":"HS256","kid":"TEST-ONLY-entra-kid-1","typ":"JWT"}"#);
    let input = format!("{header}.{body}");
    let mut s = Signer::new(MessageDigest::sha256(), &PKey::hmac(&public_pem).unwrap()).unwrap();
    s.update(input.as_bytes()).unwrap();
    let hs256 = format!("{input}.{}", b64(&s.sign_to_vec().unwrap()));
    let mut tampered: Vec<String> = genuine.split('.').map(str::to_owned).collect();
    let mut more = hint_claims();
    more["oid"] = json!("eeeeeeee-0000-4000-8000-00000000000e");
    tampered[1] = b64(more.to_string().as_bytes());
    let tampered = tampered.join(".");

    for (hint, what) in [
        (
            rs256(&entra_header(), &hint_claims(), &other_key),
            "wrong key",
        ),
        (
            rs256(&entra_header(), &wrong_iss, &entra_key()),
            "wrong issuer",
        ),
        (
            rs256(&entra_header(), &other_tenant_iss, &entra_key()),
            "issuer of another tenant than tid",
        ),
        (
            rs256(&entra_header(), &wrong_aud, &entra_key()),
            "wrong audience",
        ),
        (none, "alg none"),
        (hs256, "HS256 with the public key"),
        (tampered, "claims changed after signing"),
        ("not-a-jwt".to_owned(), "garbage"),
    ] {
        let p = entra_post(&b, &request(Some(&hint)));
        assert_access_denied(&p, what);
    }
    assert!(b.session_json().is_none());

    // A tenant restriction refuses hints of other tenants, however well signed.
    configure(
        &server,
        &["--allowed-tenant", "ffffffff-0000-4000-8000-00000000000f"],
    );
    assert_access_denied(&entra_post(&b, &request(None)), "tenant not allowed");
}

fn eam_refusals_and_link_claim(backend: Backend) {
    let server = TestServer::start(backend, &[]);
    configure(&server, &[]);
    let b = server.browser();
    // Nobody is linked to the hint's oid + tid.
    assert_access_denied(&entra_post(&b, &request(None)), "unlinked user");

    // Linking by a claim: preferred_username names the local user.
    configure(&server, &["--link-claim", "preferred_username"]);
    assert_access_denied(
        &entra_post(&b, &request(None)),
        "no user named like the claim",
    );
    let user = "test.user@contoso.example";
    server.cli_ok(&["policy", "put", "g-totp", "--combinations", "totp"]);
    server.cli_ok(&["group", "add", "g-totp", "--policy", "g-totp"]);
    server.cli_ok(&["user", "add", user, "--group", "g-totp"]);
    let secret = line_value(&server.cli_ok(&["user", "enrol-app", user]), "totp");

    // The user cancels on the step page: access_denied, and the attempt is over.
    let r = entra_post(&b, &request(None));
    r.expect_see_other("/login/totp", "linked by preferred_username");
    let step = b.follow(&r);
    step.expect_status(200, "TOTP page");
    assert_eq!(
        step.count("form[action=\"/oidc/eam/cancel\"] button[data-action=\"eam-cancel\"]"),
        1,
        "the step page offers to cancel back to Entra: {}",
        step.describe()
    );
    let p = b.post_form("/oidc/eam/cancel", &[]);
    assert_access_denied(&p, "cancelled");
    b.get("/login/totp")
        .expect_see_other("/login", "the attempt is gone");

    // Then a completed round trip for the claim-linked user.
    let c = server.browser();
    let done = round_trip(&server, &c, None, &secret, 0);
    let claims = check_answer(&server, &done, "linked by claim");
    assert_eq!(claims["amr"], json!(["otp"]));
    assert_eq!(claims["acr"], "possessionorinherence");

    // Locked by wrong answers at the EAM step: later requests are refused before any step.
    server.cli_ok(&[
        "policy",
        "put",
        "g-totp",
        "--combinations",
        "totp",
        "--lockout",
        "3",
    ]);
    let l = server.browser();
    let r = entra_post(&l, &request(None));
    r.expect_see_other("/login/totp", "EAM step");
    l.follow(&r).expect_status(200, "TOTP page");
    for _ in 0..3 {
        l.post_form("/login/totp", &[("otp", "000000")])
            .expect_status(401, "a wrong code");
    }
    assert_access_denied(
        &entra_post(&server.browser(), &request(None)),
        "locked user",
    );
    assert!(
        server.log().contains(r#""reason":"locked""#),
        "refused because locked"
    );
    server.cli_ok(&["user", "unlock", user]);

    // A disabled user is refused before any step.
    server.cli_ok(&["user", "disable", user]);
    assert_access_denied(
        &entra_post(&server.browser(), &request(None)),
        "disabled user",
    );

    // An oid + tid link wins over the claim; `demo` has no second factor: policy refusal.
    server.cli_ok(&["eam", "link", "demo", "--tid", TID, "--oid", OID]);
    assert_access_denied(
        &entra_post(&server.browser(), &request(None)),
        "linked user without a second factor",
    );
    // The EAM client id cannot also be registered as an OpenID Connect client.
    let o = server.cli(&[
        "client",
        "add",
        "--client-id",
        CLIENT,
        "--redirect-uri",
        "https://x.example/cb",
    ]);
    assert!(!o.status.success(), "the EAM client id is taken");
    // Linking the same Entra identity twice is refused.
    let o = server.cli(&["eam", "link", "demo-mfa", "--tid", TID, "--oid", OID]);
    assert!(!o.status.success());
}

/// The whole EAM round trip in headless Chromium: Entra's stand-in page on another site
/// (`http://localhost:PORT`) auto-POSTs the request cross-site, the attempt cookie (SameSite
/// Lax) carries the browser through the TOTP step, and the IdP's auto-submitting answer
/// (with its `form-action` CSP) reaches the stand-in's redirect URI.
#[test]
fn eam_in_chromium() {
    let server = TestServer::start(Backend::Sqlite, &[]);
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let capture = format!("http://localhost:{port}/capture");
    configure(&server, &["--redirect-uri", &capture]);
    server.cli_ok(&["eam", "link", "demo-mfa", "--tid", TID, "--oid", OID]);
    let secret = line_value(&server.log(), "totp");
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/browser/entra_stand_in.py");
    let o = Command::new("python3")
        .arg(script)
        .args([
            server.base_url(),
            &port.to_string(),
            &fixture_path("entra-request.form"),
            &secret,
        ])
        .output()
        .unwrap_or_else(|e| panic!("python3 with selenium is needed: {e}"));
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(
        o.status.success(),
        "the browser round trip failed: {}\n{out}",
        String::from_utf8_lossy(&o.stderr)
    );
    let body = line_value(&out, "captured");
    let fields: Vec<(String, String)> = reqwest::Url::parse(&format!("http://x/?{body}"))
        .unwrap()
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    assert_eq!(field(&fields, "state"), field(&request(None), "state"));
    let (_, claims) = node_verify(&server, &field(&fields, "id_token"), CLIENT);
    assert_eq!(claims["sub"], hint_claims()["sub"]);
    assert_eq!(claims["amr"], json!(["otp"]));
    assert_eq!(claims["acr"], "possessionorinherence");
}

/// The access policy governs Entra like any client: a user whose group may not use the EAM
/// client passes the second factor but Entra gets `access_denied`, and no id_token.
fn eam_denied_by_access_policy(backend: Backend) {
    let server = TestServer::start(backend, &[]);
    configure(&server, &[]);
    server.cli_ok(&["eam", "link", "demo-mfa", "--tid", TID, "--oid", OID]);
    let policy = server.data_dir().join("access.json");
    std::fs::write(
        &policy,
        format!(
            r#"{{"groups": [{{"group": "mfa", "services": {{"allow": ["*"],
                "deny": ["oidc_client:{CLIENT}"]}}}}]}}"#
        ),
    )
    .unwrap();
    server.cli_ok(&["access-policy", "put", policy.to_str().unwrap()]);
    let secret = line_value(&server.log(), "totp");
    let b = server.browser();
    let p = round_trip(&server, &b, None, &secret, 0);
    assert_access_denied(&p, "group denied the EAM client");
    assert!(
        server.log().contains("deny.service"),
        "refused by the access policy, not for another reason"
    );
}

both_backends!(
    eam_denied_by_access_policy,
    eam_fixture_round_trip,
    eam_forged_hints_refused,
    eam_refusals_and_link_claim
);
