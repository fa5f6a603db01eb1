//! Passkeys (WebAuthn) end to end. A software authenticator written here (OpenSSL P-256, CBOR
//! and COSE encoded by hand, independent of the server's parser) registers at
//! `/account/passkeys` and answers the `/login/passkey` step over plain HTTP; the hostile
//! cases (replayed challenge, wrong origin, wrong RP ID, no user verification, another key's
//! signature, a counter going backwards, another user's credential, a replayed registration)
//! must each be refused, end the attempt, open no session and leave a reason in the audit
//! trail. `passkeys_in_chromium` does the same with headless Chromium and its virtual
//! authenticator (tests/browser/passkey_flow.py).

mod common;

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use common::{Backend, Browser, Node, Page, TestServer};
use openssl::ec::{EcGroup, EcKey};
use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::pkey::{PKey, Private};
use openssl::sha::sha256;
use openssl::sign::Signer;
use serde_json::{json, Value};

const UP: u8 = 0x01;
const UV: u8 = 0x04;
const AT: u8 = 0x40;

fn b64(b: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(b)
}

/// CBOR byte string header + bytes.
fn cbor_bytes(b: &[u8]) -> Vec<u8> {
    let mut out = match b.len() {
        n if n < 24 => vec![0x40 | n as u8],
        n if n < 256 => vec![0x58, n as u8],
        n => vec![0x59, (n >> 8) as u8, n as u8],
    };
    out.extend_from_slice(b);
    out
}

fn cbor_text(s: &str) -> Vec<u8> {
    assert!(s.len() < 24);
    let mut out = vec![0x60 | s.len() as u8];
    out.extend_from_slice(s.as_bytes());
    out
}

/// A software authenticator: one P-256 credential.
#[derive(Clone)]
struct Soft {
    key: EcKey<Private>,
    cred_id: Vec<u8>,
    counter: u32,
    rp_id: String,
    origin: String,
    flags: u8,
}

impl Soft {
    fn new(server: &TestServer) -> Soft {
        let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).unwrap();
        let mut cred_id = [0u8; 16];
        openssl::rand::rand_bytes(&mut cred_id).unwrap();
        let origin = server.base_url().to_owned();
        let rp_id = origin
            .trim_start_matches("http://")
            .split(':')
            .next()
            .unwrap()
            .to_owned();
        Soft {
            key: EcKey::generate(&group).unwrap(),
            cred_id: cred_id.to_vec(),
            counter: 0,
            rp_id,
            origin,
            flags: UP | UV,
        }
    }

    /// COSE_Key (EC2, ES256, P-256), hand-encoded.
    fn cose_key(&self) -> Vec<u8> {
        let mut ctx = openssl::bn::BigNumContext::new().unwrap();
        let mut x = openssl::bn::BigNum::new().unwrap();
        let mut y = openssl::bn::BigNum::new().unwrap();
        self.key
            .public_key()
            .affine_coordinates(self.key.group(), &mut x, &mut y, &mut ctx)
            .unwrap();
        let mut k = vec![0xa5, 0x01, 0x02, 0x03, 0x26, 0x20, 0x01, 0x21];
        k.extend(cbor_bytes(&x.to_vec_padded(32).unwrap()));
        k.push(0x22);
        k.extend(cbor_bytes(&y.to_vec_padded(32).unwrap()));
        k
    }

    fn client_data(&self, kind: &str, challenge: &str) -> Vec<u8> {
        serde_json::to_vec(&json!({
            "type": kind, "challenge": challenge, "origin": self.origin, "crossOrigin": false
        }))
        .unwrap()
    }

    fn auth_data(&self, attested: bool) -> Vec<u8> {
        let mut d = sha256(self.rp_id.as_bytes()).to_vec();
        d.push(self.flags | if attested { AT } else { 0 });
        d.extend_from_slice(&self.counter.to_be_bytes());
        if attested {
            d.extend_from_slice(&[0u8; 16]);
            d.extend_from_slice(&(self.cred_id.len() as u16).to_be_bytes());
            d.extend_from_slice(&self.cred_id);
            d.extend(self.cose_key());
        }
        d
    }

    fn sign(&self, auth: &[u8], client: &[u8]) -> Vec<u8> {
        let pkey = PKey::from_ec_key(self.key.clone()).unwrap();
        let mut s = Signer::new(MessageDigest::sha256(), &pkey).unwrap();
        s.update(auth).unwrap();
        s.update(&sha256(client)).unwrap();
        s.sign_to_vec().unwrap()
    }

    /// `RegistrationResponseJSON` for creation options, attestation `none`.
    fn register(&self, options: &Value) -> String {
        assert_eq!(
            options["authenticatorSelection"]["userVerification"],
            "required"
        );
        let client = self.client_data("webauthn.create", options["challenge"].as_str().unwrap());
        let mut att = vec![0xa3];
        att.extend(cbor_text("fmt"));
        att.extend(cbor_text("none"));
        att.extend(cbor_text("attStmt"));
        att.push(0xa0);
        att.extend(cbor_text("authData"));
        att.extend(cbor_bytes(&self.auth_data(true)));
        json!({
            "id": b64(&self.cred_id), "rawId": b64(&self.cred_id), "type": "public-key",
            "response": { "clientDataJSON": b64(&client), "attestationObject": b64(&att),
                          "transports": ["internal"] },
            "clientExtensionResults": {}
        })
        .to_string()
    }

    /// `AuthenticationResponseJSON` for request options; the counter moves first.
    fn assert(&mut self, options: &Value, user_handle: Option<&str>) -> String {
        assert_eq!(options["userVerification"], "required");
        self.counter += 1;
        let client = self.client_data("webauthn.get", options["challenge"].as_str().unwrap());
        let auth = self.auth_data(false);
        json!({
            "id": b64(&self.cred_id), "rawId": b64(&self.cred_id), "type": "public-key",
            "response": { "clientDataJSON": b64(&client), "authenticatorData": b64(&auth),
                          "signature": b64(&self.sign(&auth, &client)),
                          "userHandle": user_handle },
            "clientExtensionResults": {}
        })
        .to_string()
    }
}

fn options_of(p: &Page, mode: &str) -> Value {
    let html = p.html();
    let sel = scraper::Selector::parse(&format!("form[data-passkey=\"{mode}\"]")).unwrap();
    let form = html
        .select(&sel)
        .next()
        .unwrap_or_else(|| panic!("no passkey form: {}", p.describe()));
    serde_json::from_str(form.value().attr("data-passkey-options").unwrap()).unwrap()
}

/// Signs `user` in with the matrix (default policy) and registers `soft` at /account/passkeys.
fn register(server: &TestServer, user: &str, soft: &Soft) -> Value {
    let b = server.browser();
    b.sign_in(user, &server.pattern_of(user), "/");
    let page = b.get("/account/passkeys");
    page.expect_status(200, "passkey page");
    assert_eq!(page.count("[data-passkeys=\"none\"]"), 1);
    let options = options_of(&page, "create");
    assert_eq!(options["rp"]["id"], soft.rp_id.as_str());
    assert_eq!(options["user"]["name"], user);
    let r = b.post_form(
        "/account/passkeys/register",
        &[
            ("credential", &soft.register(&options)),
            ("label", "laptop"),
        ],
    );
    r.expect_status(200, "registration");
    assert_eq!(
        r.count("[data-status=\"passkey-registered\"]"),
        1,
        "{}",
        r.describe()
    );
    assert_eq!(r.count("tr[data-passkey-id]"), 1);
    options
}

fn passkey_policy(server: &TestServer, combinations: &str, users: &[&str]) {
    server.cli_ok(&["policy", "put", "pk", "--combinations", combinations]);
    server.cli_ok(&["group", "add", "pk", "--policy", "pk"]);
    for u in users {
        server.cli_ok(&["group", "add-user", "pk", u]);
    }
}

/// Matrix, then the passkey page; returns the browser and the request options.
fn at_passkey_step(server: &TestServer, user: &str) -> (Browser, Value) {
    let b = server.browser();
    let r = b.sign_in(user, &server.pattern_of(user), "/login/passkey");
    let page = b.follow(&r);
    page.expect_status(200, "passkey step page");
    let options = options_of(&page, "get");
    (b, options)
}

fn refused(server: &TestServer, b: &Browser, credential: &str, reason: &str) {
    let before = server.log().matches(reason).count();
    let r = b.post_form("/login/passkey", &[("credential", credential)]);
    r.expect_status(403, reason);
    assert_eq!(
        r.count("[data-error=\"passkey-refused\"]"),
        1,
        "{}",
        r.describe()
    );
    assert!(b.session_json().is_none(), "no session after {reason}");
    // The attempt is over: the step page sends the browser back to the start.
    b.get("/login/passkey")
        .expect_see_other("/login", "attempt ended");
    // The audit line reaches the captured log through a reader thread: wait for it.
    let mut named = false;
    for _ in 0..200 {
        if server.log().matches(reason).count() > before {
            named = true;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert!(named, "audit trail names {reason}:\n{}", server.log());
}

fn handle_of(registration: &Value) -> String {
    registration["user"]["id"].as_str().unwrap().to_owned()
}

/// Register, then sign in with matrix + passkey; `amr` and the counter; removal by the user.
fn register_and_sign_in(backend: Backend) {
    let server = TestServer::start(backend, &[]);
    let mut soft = Soft::new(&server);
    let reg = register(&server, "demo", &soft);
    let list = server.cli_ok(&["passkey", "list", "demo"]);
    assert_eq!(list.lines().count(), 1, "{list}");
    assert!(list.contains("\tlaptop\t"), "{list}");
    passkey_policy(&server, "matrix+passkey", &["demo"]);

    let (b, options) = at_passkey_step(&server, "demo");
    assert_eq!(options["rpId"], soft.rp_id.as_str());
    assert_eq!(
        options["allowCredentials"],
        json!([]),
        "no user enumeration"
    );
    let cred = soft.assert(&options, Some(&handle_of(&reg)));
    let r = b.post_form("/login/passkey", &[("credential", &cred)]);
    r.expect_see_other("/", "passkey accepted");
    let s = b.session_json().expect("signed in");
    assert_eq!(s["user"], "demo");
    assert_eq!(s["amr"], json!(["matrix", "hwk", "user", "mfa"]));
    let list = server.cli_ok(&["passkey", "list", "demo"]);
    assert!(list.contains("\t1\tdevice-bound"), "counter stored: {list}");

    // The same assertion in a new attempt: its challenge was used.
    let (b2, _) = at_passkey_step(&server, "demo");
    refused(&server, &b2, &cred, "challenge_unknown");

    // The user removes the passkey on the portal; without it the policy cannot be met.
    let page = b.get("/account/passkeys");
    let id = list.split('\t').next().unwrap().to_owned();
    let r = b.post_form("/account/passkeys/remove", &[("id", &id)]);
    r.expect_status(200, "removal");
    assert_eq!(
        r.count("[data-status=\"passkey-removed\"]"),
        1,
        "{}",
        page.describe()
    );
    assert_eq!(server.cli_ok(&["passkey", "list", "demo"]), "");
    let b3 = server.browser();
    let grid = b3.start_login("demo");
    let r = b3.submit_otp(&grid.answer(&server.pattern_of("demo")));
    assert_ne!(
        r.location_path().as_deref(),
        Some("/"),
        "no passkey, no session"
    );
    assert!(b3.session_json().is_none());
}

/// `passkey` alone as the combination: user ID, then the passkey; `amr` without `mfa`.
fn passkey_alone(backend: Backend) {
    let server = TestServer::start(backend, &[]);
    let mut soft = Soft::new(&server);
    register(&server, "demo", &soft);
    passkey_policy(&server, "passkey", &["demo"]);
    let b = server.browser();
    b.get("/login");
    let r = b.post_form("/login", &[("username", "demo")]);
    r.expect_see_other("/login/passkey", "passkey is the first step");
    let page = b.follow(&r);
    let cred = soft.assert(&options_of(&page, "get"), None);
    b.post_form("/login/passkey", &[("credential", &cred)])
        .expect_see_other("/", "passkey alone");
    assert_eq!(b.session_json().unwrap()["amr"], json!(["hwk", "user"]));
}

/// Every forged or replayed answer is refused, ends the attempt and is audited.
fn hostile_assertions(backend: Backend) {
    let server = TestServer::start(backend, &[]);
    let mut soft = Soft::new(&server);
    register(&server, "demo", &soft);
    let admin_soft = Soft::new(&server);
    register(&server, "admin", &admin_soft);
    passkey_policy(&server, "matrix+passkey", &["demo", "admin"]);

    // Wrong origin (a phishing site relaying the ceremony).
    let (b, o) = at_passkey_step(&server, "demo");
    let mut evil = soft.clone();
    evil.origin = "http://localhost:1".into();
    refused(&server, &b, &evil.assert(&o, None), "origin_mismatch");

    // Authenticator data for another RP ID.
    let (b, o) = at_passkey_step(&server, "demo");
    let mut evil = soft.clone();
    evil.rp_id = "evil.example".into();
    refused(&server, &b, &evil.assert(&o, None), "rp_id_mismatch");

    // No user verification.
    let (b, o) = at_passkey_step(&server, "demo");
    let mut lazy = soft.clone();
    lazy.flags = UP;
    refused(&server, &b, &lazy.assert(&o, None), "user_not_verified");

    // Another key signing for the registered credential ID.
    let (b, o) = at_passkey_step(&server, "demo");
    let mut thief = Soft::new(&server);
    thief.cred_id = soft.cred_id.clone();
    refused(&server, &b, &thief.assert(&o, None), "bad_signature");

    // A good assertion moves the stored counter to 5; a clone at 3 is refused.
    let (b, o) = at_passkey_step(&server, "demo");
    soft.counter = 4;
    b.post_form("/login/passkey", &[("credential", &soft.assert(&o, None))])
        .expect_see_other("/", "counter 5");
    let (b, o) = at_passkey_step(&server, "demo");
    let mut clone = soft.clone();
    clone.counter = 2;
    refused(&server, &b, &clone.assert(&o, None), "counter_regressed");

    // admin presents demo's credential: it is not theirs.
    let (b, o) = at_passkey_step(&server, "admin");
    refused(
        &server,
        &b,
        &soft.assert(&o, None),
        "credential_of_another_user",
    );

    // An answer to another attempt's challenge (issued to demo's browser, posted in admin's).
    let (_demo_b, demo_o) = at_passkey_step(&server, "demo");
    let (b, _) = at_passkey_step(&server, "admin");
    let mut admin_soft = admin_soft;
    refused(
        &server,
        &b,
        &admin_soft.assert(&demo_o, None),
        "challenge_unknown",
    );

    // A challenge answered after its 5 minutes.
    let (b, o) = at_passkey_step(&server, "demo");
    server.advance_clock(301);
    let mut late = soft.clone();
    late.counter = 100;
    refused(&server, &b, &late.assert(&o, None), "challenge_unknown");

    // Garbage and missing CSRF.
    let (b, _) = at_passkey_step(&server, "demo");
    b.post_form_raw("/login/passkey", &[("credential", "{}")])
        .expect_status(403, "no csrf");
    refused(&server, &b, "{\"id\": 1}", "malformed");

    // After all that, the genuine passkey still works (nothing was stored by the refusals).
    let (b, o) = at_passkey_step(&server, "demo");
    b.post_form("/login/passkey", &[("credential", &soft.assert(&o, None))])
        .expect_see_other("/", "genuine passkey");
}

/// Registration refusals: no user verification, a replayed response, a credential already
/// registered (to another user), no session; and the administrators' view and removal.
fn registration_and_admin(backend: Backend) {
    let server = TestServer::start(backend, &[]);
    let soft = Soft::new(&server);
    let b = server.browser();
    b.sign_in("demo", &server.pattern_of("demo"), "/");

    let page = b.get("/account/passkeys");
    let mut lazy = soft.clone();
    lazy.flags = UP;
    let r = b.post_form(
        "/account/passkeys/register",
        &[("credential", &lazy.register(&options_of(&page, "create")))],
    );
    r.expect_status(400, "registration without UV");
    assert_eq!(
        r.count("[data-error=\"passkey-user_not_verified\"]"),
        1,
        "{}",
        r.describe()
    );

    let page = b.get("/account/passkeys");
    let good = soft.register(&options_of(&page, "create"));
    b.post_form("/account/passkeys/register", &[("credential", &good)])
        .expect_status(200, "registered");
    let r = b.post_form("/account/passkeys/register", &[("credential", &good)]);
    r.expect_status(400, "replayed registration");
    assert_eq!(r.count("[data-error=\"passkey-challenge_unknown\"]"), 1);

    // admin tries to register demo's credential ID under their own account.
    let ab = server.browser();
    ab.sign_in("admin", &server.pattern_of("admin"), "/");
    let page = ab.get("/account/passkeys");
    let r = ab.post_form(
        "/account/passkeys/register",
        &[("credential", &soft.register(&options_of(&page, "create")))],
    );
    r.expect_status(400, "credential registered to another user");
    assert_eq!(r.count("[data-error=\"passkey-already_registered\"]"), 1);

    // No session, no page; no CSRF, no registration.
    let r = server.browser().get("/account/passkeys");
    r.expect_see_other("/login", "no session");
    assert_eq!(
        r.location().as_deref(),
        Some("/login?return_to=/account/passkeys")
    );
    b.post_form_raw("/account/passkeys/register", &[("credential", &good)])
        .expect_status(403, "no csrf");

    // The admin API lists and removes; the CLI removes; both audited.
    let printed = |prefix: &str| {
        server
            .log()
            .lines()
            .rev()
            .find_map(|l| l.trim().strip_prefix(prefix).map(|v| v.trim().to_owned()))
            .expect(prefix)
    };
    let (api, token) = (printed("admin-listening:"), printed("admin-token:"));
    let http = reqwest::blocking::Client::new();
    let list: Value = http
        .get(format!("{api}/api/v1/users/demo/passkeys"))
        .bearer_auth(&token)
        .send()
        .unwrap()
        .json()
        .unwrap();
    let list = list.as_array().unwrap().clone();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["credential_id"], b64(&soft.cred_id));
    assert_eq!(list[0]["alg"], -7);
    assert!(list[0].get("public_key").is_none());
    let id = list[0]["id"].as_str().unwrap();
    let r = http
        .delete(format!("{api}/api/v1/users/demo/passkeys/{id}"))
        .bearer_auth(&token)
        .send()
        .unwrap();
    assert_eq!(r.status(), 204);
    let r = http
        .delete(format!("{api}/api/v1/users/demo/passkeys/{id}"))
        .bearer_auth(&token)
        .send()
        .unwrap();
    assert_eq!(r.status(), 404);
    let again = Soft::new(&server);
    let page = b.get("/account/passkeys");
    b.post_form(
        "/account/passkeys/register",
        &[("credential", &again.register(&options_of(&page, "create")))],
    )
    .expect_status(200, "registered again");
    let cli_id = server.cli_ok(&["passkey", "list", "demo"]);
    let cli_id = cli_id.split('\t').next().unwrap();
    assert_eq!(
        server.cli_ok(&["passkey", "remove", "demo", cli_id]).trim(),
        format!("removed: {cli_id}")
    );
    assert!(!server
        .cli(&["passkey", "remove", "demo", cli_id])
        .status
        .success());

    let events: Value = http
        .get(format!("{api}/api/v1/audit?limit=500"))
        .bearer_auth(&token)
        .send()
        .unwrap()
        .json()
        .unwrap();
    let count = |e: &str| {
        events
            .as_array()
            .unwrap()
            .iter()
            .filter(|x| x["event"] == e)
            .count()
    };
    assert_eq!(count("passkey.registered"), 2);
    assert_eq!(count("passkey.registration_failed"), 3);
    assert_eq!(count("passkey.removed"), 2, "API and CLI");
}

both_backends!(
    register_and_sign_in,
    passkey_alone,
    hostile_assertions,
    registration_and_admin
);

/// Headless Chromium with WebDriver's virtual authenticator: register a passkey at
/// /account/passkeys, sign out, sign in with matrix + passkey; an authenticator without user
/// verification is refused; a second user cannot use the first user's credential.
fn passkeys_in_chromium(backend: Backend) {
    // Chromium refuses an IP address as RP ID: a host name on the listener's port.
    let server = TestServer::start(backend, &["--public-url", "http://localhost:0"]);
    let base = server.base_url().replace("127.0.0.1", "localhost");
    // admin has a passkey of their own (software authenticator, same origin as the browser).
    let mut admin_soft = Soft::new(&server);
    admin_soft.origin = base.clone();
    admin_soft.rp_id = "localhost".into();
    register(&server, "admin", &admin_soft);
    passkey_policy(&server, "matrix+passkey", &["admin"]);

    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/browser/passkey_flow.py");
    let demo = common::pattern_csv(&server.pattern_of("demo"));
    let admin = common::pattern_csv(&server.pattern_of("admin"));
    let mut child = Command::new("python3")
        .arg(script)
        .args([&base, "demo", &demo, "admin", &admin])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("python3 with selenium is needed: {e}"));
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut out = String::new();
    // Step 1 registers demo's passkey; then demo moves to the matrix+passkey policy.
    for l in lines.by_ref() {
        let l = l.unwrap();
        out.push_str(&l);
        out.push('\n');
        if l == "registered: demo" {
            break;
        }
    }
    if out.contains("registered: demo") {
        server.cli_ok(&["group", "add-user", "pk", "demo"]);
    }
    {
        let mut stdin = child.stdin.take().unwrap();
        let _ = stdin.write_all(b"go\n");
    }
    for l in lines {
        out.push_str(&l.unwrap());
        out.push('\n');
    }
    let o = child.wait_with_output().unwrap();
    assert!(
        o.status.success(),
        "the browser flow failed: {}\n{out}\nserver:\n{}",
        String::from_utf8_lossy(&o.stderr),
        server.log()
    );
    for line in [
        "registered: demo",
        "signed-in: demo matrix,hwk,user,mfa",
        "refused-without-uv: demo",
        "refused-other-user: admin",
    ] {
        assert!(
            out.lines().any(|l| l == line),
            "missing {line:?} in:\n{out}"
        );
    }
    // Chromium's client refuses an authenticator that cannot verify the user when
    // verification is required; had it sent the assertion, the IdP would refuse it.
    assert!(
        out.contains("uv-refused-by: browser") || server.log().contains("user_not_verified"),
        "{out}"
    );
    let mut named = false;
    for _ in 0..200 {
        if server.log().contains("credential_of_another_user") {
            named = true;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert!(named, "the IdP, not the browser, refused admin");
}

both_backends!(passkeys_in_chromium);

/// Two nodes over one PostgreSQL: a challenge issued by one node is answered on the other
/// (it lives in the shared store), and the same answer sent to both nodes at once opens at most
/// one session.
#[test]
fn challenge_shared_and_single_use_across_nodes() {
    let server = TestServer::start(Backend::Postgres, &[]);
    let mut soft = Soft::new(&server);
    register(&server, "demo", &soft);
    passkey_policy(&server, "matrix+passkey", &["demo"]);
    let node = Node::start(&server);

    // Issued by the first node, answered on the second.
    let (b, o) = at_passkey_step(&server, "demo");
    let cred = soft.assert(&o, None);
    let on_node = Browser::new(node.base_url());
    let r = on_node.post_form_with_cookies(
        "/login/passkey",
        &[("credential", &cred), ("csrf", &b.csrf().unwrap())],
        &b.cookie_snapshot(),
    );
    r.expect_see_other("/", "answered on the other node");

    // One answer, both nodes, at the same time.
    let (b, o) = at_passkey_step(&server, "demo");
    let cred = soft.assert(&o, None);
    let (csrf, cookies) = (b.csrf().unwrap(), b.cookie_snapshot());
    let pages: Vec<Page> = std::thread::scope(|s| {
        let handles: Vec<_> = [server.base_url(), node.base_url()]
            .into_iter()
            .map(|base| {
                let (cred, csrf, cookies) = (&cred, &csrf, &cookies);
                s.spawn(move || {
                    Browser::new(base).post_form_with_cookies(
                        "/login/passkey",
                        &[("credential", cred), ("csrf", csrf)],
                        cookies,
                    )
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let sessions = pages
        .iter()
        .filter(|p| {
            p.set_cookies()
                .iter()
                .any(|c| c.starts_with("pl_session=") && !c.starts_with("pl_session=;"))
        })
        .count();
    assert!(sessions <= 1, "both nodes accepted one answer");
    let refused = pages
        .iter()
        .filter(|p| {
            matches!(p.status.as_u16(), 401 | 403 | 409)
                || p.location_path().as_deref() == Some("/login")
        })
        .count();
    assert!(
        refused >= 1,
        "{}\n{}",
        pages[0].describe(),
        pages[1].describe()
    );
}
