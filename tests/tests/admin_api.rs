//! The admin REST API on its own listener: bearer tokens with scopes, problem details, users,
//! groups, policies, the access policy, the audit trail with before/after, and the OpenAPI
//! document (validated by an independent validator, every operation routed).

mod common;

use common::{Backend, TestServer};
use reqwest::blocking::{Client, RequestBuilder, Response};
use serde_json::{json, Value};

/// The admin listener's base URL and the demo's all-scopes token, from the printed lines.
struct Admin {
    base: String,
    token: String,
    http: Client,
}

fn printed(server: &TestServer, prefix: &str) -> String {
    server
        .log()
        .lines()
        .rev()
        .find_map(|l| l.trim().strip_prefix(prefix).map(|v| v.trim().to_owned()))
        .unwrap_or_else(|| panic!("server did not print `{prefix}`:\n{}", server.log()))
}

impl Admin {
    fn of(server: &TestServer) -> Admin {
        Admin {
            base: printed(server, "admin-listening:"),
            token: printed(server, "admin-token:"),
            http: Client::new(),
        }
    }

    fn req(&self, method: &str, path: &str, token: Option<&str>) -> RequestBuilder {
        let m = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let r = self.http.request(m, format!("{}{path}", self.base));
        match token {
            Some(t) => r.bearer_auth(t),
            None => r,
        }
    }

    fn call(&self, method: &str, path: &str, body: Option<Value>) -> Response {
        let r = self.req(method, path, Some(&self.token));
        let r = match body {
            Some(b) => r.json(&b),
            None => r,
        };
        r.send().unwrap_or_else(|e| panic!("{method} {path}: {e}"))
    }

    fn ok(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let r = self.call(method, path, body);
        let st = r.status();
        let text = r.text().unwrap();
        assert!(st.is_success(), "{method} {path}: {st}: {text}");
        if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap()
        }
    }
}

/// Asserts an RFC 9457 problem with this status; returns its detail.
fn problem(r: Response, status: u16, what: &str) -> String {
    assert_eq!(r.status().as_u16(), status, "{what}");
    let ct = r
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    assert_eq!(ct, "application/problem+json", "{what}: content type");
    let body: Value = r.json().unwrap();
    assert_eq!(body["status"], status, "{what}: {body}");
    assert!(body["title"].is_string(), "{what}: {body}");
    body["detail"].as_str().unwrap().to_owned()
}

fn audit_events(admin: &Admin) -> Vec<Value> {
    admin
        .ok("GET", "/api/v1/audit?limit=200", None)
        .as_array()
        .unwrap()
        .clone()
}

fn scopes_are_enforced(backend: Backend) {
    let server = TestServer::start(backend, &[]);
    let admin = Admin::of(&server);

    // No token, a made-up token, a malformed header: 401 problems.
    problem(
        admin.req("GET", "/api/v1/users", None).send().unwrap(),
        401,
        "no token",
    );
    problem(
        admin
            .req("GET", "/api/v1/users", Some("plat_not-a-real-token"))
            .send()
            .unwrap(),
        401,
        "unknown token",
    );
    problem(
        admin
            .http
            .get(format!("{}/api/v1/users", admin.base))
            .header("authorization", format!("Basic {}", admin.token))
            .send()
            .unwrap(),
        401,
        "not a bearer token",
    );

    // A read-only token reads users but cannot write them or read the audit trail.
    let out = server.cli_ok(&["api-token", "create", "reader", "--scopes", "users:read"]);
    let reader = out
        .lines()
        .find_map(|l| l.strip_prefix("api-token: "))
        .expect("api-token: line")
        .trim()
        .to_owned();
    let r = admin
        .req("GET", "/api/v1/users", Some(&reader))
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
    let users: Value = r.json().unwrap();
    assert!(users
        .as_array()
        .unwrap()
        .iter()
        .any(|u| u["name"] == "demo"));
    let detail = problem(
        admin
            .req("POST", "/api/v1/users", Some(&reader))
            .json(&json!({"name": "mallory"}))
            .send()
            .unwrap(),
        403,
        "write without users:write",
    );
    assert!(detail.contains("users:write"), "{detail}");
    problem(
        admin
            .req("GET", "/api/v1/audit", Some(&reader))
            .send()
            .unwrap(),
        403,
        "audit without audit:read",
    );
    problem(
        admin
            .req("PUT", "/api/v1/access-policy", Some(&reader))
            .json(&json!({}))
            .send()
            .unwrap(),
        403,
        "access policy without policies:write",
    );
    // Nothing was created by the refused call.
    assert!(server.cli(&["user", "show", "mallory"]).status.code() != Some(0));

    // The store holds only the hash of the token.
    let listed = server.cli_ok(&["api-token", "list"]);
    assert!(listed.contains("reader\tactive\tusers:read"), "{listed}");
    if let Some(pg) = server.pg() {
        assert!(!pg.dump().contains(&reader), "token stored in the clear");
    } else {
        let bytes = server.data_dir_bytes();
        assert!(
            !bytes.windows(reader.len()).any(|w| w == reader.as_bytes()),
            "token stored in the clear"
        );
    }

    // Revoked: 401 at once.
    server.cli_ok(&["api-token", "revoke", "reader"]);
    problem(
        admin
            .req("GET", "/api/v1/users", Some(&reader))
            .send()
            .unwrap(),
        401,
        "revoked token",
    );
    // An unknown scope is refused at creation.
    let o = server.cli(&["api-token", "create", "x", "--scopes", "users:rule"]);
    assert!(!o.status.success());
}

fn users_groups_policies_and_audit(backend: Backend) {
    let server = TestServer::start(backend, &[]);
    let admin = Admin::of(&server);

    // Create a user: 201, the initial pattern once, and it signs in with it.
    let r = admin.call(
        "POST",
        "/api/v1/users",
        Some(json!({"name": "carol", "display_name": "Carol", "email": "carol@example.com"})),
    );
    assert_eq!(r.status(), 201);
    let created: Value = r.json().unwrap();
    assert_eq!(created["user"]["name"], "carol");
    assert_eq!(created["user"]["must_change_pattern"], true);
    let pattern = common::parse_pattern(created["initial_pattern"].as_str().unwrap());
    let b = server.browser();
    b.sign_in("carol", &pattern, "/pattern/setup");

    // Duplicate, malformed JSON, unknown field, bad name: problems, nothing changed.
    problem(
        admin.call("POST", "/api/v1/users", Some(json!({"name": "carol"}))),
        409,
        "duplicate",
    );
    let r = admin
        .req("POST", "/api/v1/users", Some(&admin.token))
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .unwrap();
    problem(r, 400, "malformed body");
    problem(
        admin.call(
            "POST",
            "/api/v1/users",
            Some(json!({"name": "dave", "rôle": 1})),
        ),
        400,
        "unknown field",
    );
    problem(
        admin.call("POST", "/api/v1/users", Some(json!({"name": "<script>"}))),
        422,
        "bad name",
    );
    problem(
        admin.call("GET", "/api/v1/users/nobody", None),
        404,
        "unknown user",
    );
    let users = admin.ok("GET", "/api/v1/users", None);
    assert!(!users
        .as_array()
        .unwrap()
        .iter()
        .any(|u| u["name"] == "dave"));

    // Factor policy: invalid is 422 and not stored; valid is stored and readable.
    problem(
        admin.call(
            "PUT",
            "/api/v1/policies/strict",
            Some(json!({"combinations": []})),
        ),
        422,
        "policy without combinations",
    );
    problem(
        admin.call("GET", "/api/v1/policies/strict", None),
        404,
        "not stored",
    );
    let p = admin.ok(
        "PUT",
        "/api/v1/policies/strict",
        Some(json!({"combinations": [["matrix", "totp"]], "lockout_threshold": 3})),
    );
    assert_eq!(p["lockout_threshold"], 3);
    assert_eq!(admin.ok("GET", "/api/v1/policies/strict", None), p);

    // Group with that policy; carol joins; the group lists one member.
    problem(
        admin.call(
            "PUT",
            "/api/v1/groups/finance",
            Some(json!({"policy": "nope"})),
        ),
        422,
        "unknown policy",
    );
    let g = admin.ok(
        "PUT",
        "/api/v1/groups/finance",
        Some(json!({"kind": "department", "policy": "strict", "priority": 5})),
    );
    assert_eq!(g["policy"], "strict");
    let u = admin.ok("PUT", "/api/v1/users/carol/groups/finance", None);
    assert_eq!(u["groups"], json!(["finance"]));
    let groups = admin.ok("GET", "/api/v1/groups", None);
    let finance = groups
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["name"] == "finance")
        .unwrap();
    assert_eq!(finance["members"], 1);
    assert_eq!(server.user_show("carol")["groups"], json!(["finance"]));

    // Disable through the API: the CLI sees it, and sign-in is refused.
    let u = admin.ok(
        "PATCH",
        "/api/v1/users/carol",
        Some(json!({"enabled": false})),
    );
    assert_eq!(u["enabled"], false);
    assert_eq!(server.user_show("carol")["enabled"], false);
    let after = server.browser();
    let grid = after.start_login("carol");
    let answer = grid.answer(&pattern);
    after
        .submit_otp(&answer)
        .expect_status(401, "disabled user");

    // Every change is audited with the token's name and the state before and after.
    let events = audit_events(&admin);
    let find = |event: &str| {
        events
            .iter()
            .find(|e| e["event"] == event)
            .unwrap_or_else(|| panic!("no {event} in {events:#?}"))
            .clone()
    };
    let upd = find("user.update");
    assert_eq!(upd["actor"], "api:demo-admin");
    assert_eq!(upd["subject"], "carol");
    assert_eq!(upd["detail"]["before"]["enabled"], true);
    assert_eq!(upd["detail"]["after"]["enabled"], false);
    let pol = find("policy.put");
    assert_eq!(pol["detail"]["before"], Value::Null);
    assert_eq!(pol["detail"]["after"]["lockout_threshold"], 3);
    assert_eq!(find("user.create")["detail"]["after"]["name"], "carol");
    assert_eq!(
        find("user.group.join")["detail"]["after"]["groups"],
        json!(["finance"])
    );
    // The audit trail never holds the initial pattern.
    let all = serde_json::to_string(&events).unwrap();
    assert!(!all.contains(created["initial_pattern"].as_str().unwrap()));

    // Access policy: invalid refused, valid stored, removable.
    problem(
        admin.call("GET", "/api/v1/access-policy", None),
        404,
        "none yet",
    );
    problem(
        admin.call(
            "PUT",
            "/api/v1/access-policy",
            Some(json!({"groups": [{"group": "x", "ip_allow": ["10.0.0.0/33"]}]})),
        ),
        400,
        "bad CIDR",
    );
    let ap = json!({
        "default_combinations": [["matrix"]],
        "groups": [{"group": "finance", "priority": 1, "services": {"allow": ["*"]}}]
    });
    admin.ok("PUT", "/api/v1/access-policy", Some(ap));
    let stored = admin.ok("GET", "/api/v1/access-policy", None);
    assert_eq!(stored["groups"][0]["group"], "finance");
    let r = admin.call("DELETE", "/api/v1/access-policy", None);
    assert_eq!(r.status(), 204);
    problem(
        admin.call("GET", "/api/v1/access-policy", None),
        404,
        "removed",
    );
}

/// Services registered over the API work like those of the CLI: an OIDC client (secret shown
/// once) completes a code flow, a SAML SP from its metadata gets a Response; refusals are
/// problems and register nothing.
fn services_and_directory_fields(backend: Backend) {
    let server = TestServer::start(backend, &[]);
    let admin = Admin::of(&server);

    let r = admin.call(
        "POST",
        "/api/v1/services/oidc-clients",
        Some(json!({"client_id": "crm", "redirect_uris": ["https://crm.example/cb"]})),
    );
    assert_eq!(r.status(), 201);
    let c: Value = r.json().unwrap();
    assert_eq!(c["type"], "confidential");
    let secret = c["client_secret"]
        .as_str()
        .expect("secret shown once")
        .to_owned();
    problem(
        admin.call(
            "POST",
            "/api/v1/services/oidc-clients",
            Some(json!({"client_id": "crm", "redirect_uris": ["https://crm.example/cb"]})),
        ),
        409,
        "duplicate client",
    );
    problem(
        admin.call(
            "POST",
            "/api/v1/services/oidc-clients",
            Some(json!({"client_id": "bad", "redirect_uris": ["https://x.example/cb#frag"]})),
        ),
        422,
        "redirect URI with a fragment",
    );
    // The secret works at the token endpoint (client_credentials) and is not stored in clear.
    let t = reqwest::blocking::Client::new()
        .post(server.url("/oidc/token"))
        .basic_auth("crm", Some(&secret))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .unwrap();
    assert_eq!(t.status(), 200, "{}", t.text().unwrap_or_default());
    assert!(!server.cli_ok(&["client", "list"]).contains(&secret));

    let md = r#"<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="https://sp.api.example/md"><md:SPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol"><md:NameIDFormat>urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress</md:NameIDFormat><md:AssertionConsumerService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="https://sp.api.example/acs" index="0"/></md:SPSSODescriptor></md:EntityDescriptor>"#;
    let sp = admin.ok(
        "POST",
        "/api/v1/services/saml-sps",
        Some(json!({"metadata": md, "preset": "box"})),
    );
    assert_eq!(sp["entity_id"], "https://sp.api.example/md");
    problem(
        admin.call(
            "POST",
            "/api/v1/services/saml-sps",
            Some(json!({"metadata": "<x/>"})),
        ),
        422,
        "not metadata",
    );
    problem(
        admin.call(
            "POST",
            "/api/v1/services/saml-sps",
            Some(json!({"metadata": md, "prest": "box"})),
        ),
        400,
        "unknown option",
    );
    let services = admin.ok("GET", "/api/v1/services", None);
    let names: Vec<&str> = services
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["service"].as_str().unwrap())
        .collect();
    assert!(names.contains(&"oidc_client:crm"), "{names:?}");
    assert!(
        names.contains(&"saml_sp:https://sp.api.example/md"),
        "{names:?}"
    );
    let b = server.browser();
    b.sign_in("demo", &server.pattern_of("demo"), "/");
    let p = b.get("/saml/idp-init?sp=https%3A%2F%2Fsp.api.example%2Fmd");
    assert!(p.body.contains("SAMLResponse"), "{}", p.describe());

    // Directory fields through PATCH; the validity period is enforced on every SSO path and
    // at sign-in.
    let u = admin.ok(
        "PATCH",
        "/api/v1/users/demo",
        Some(
            json!({"department": "Sales", "attributes": {"immutable_id": "abc=="},
                    "display_name": "Demo Person"}),
        ),
    );
    assert_eq!(u["department"], "Sales");
    assert_eq!(u["attributes"]["immutable_id"], "abc==");
    assert_eq!(u["display_name"], "Demo Person");
    problem(
        admin.call(
            "PATCH",
            "/api/v1/users/demo",
            Some(json!({"valid_from": 20, "valid_until": 10})),
        ),
        422,
        "empty validity period",
    );
    let expired = common::now_unix() - 60;
    let u = admin.ok(
        "PATCH",
        "/api/v1/users/demo",
        Some(json!({"valid_until": expired})),
    );
    assert_eq!(u["valid_until"], expired);
    let p = b.get("/saml/idp-init?sp=https%3A%2F%2Fsp.api.example%2Fmd");
    assert_eq!(p.status.as_u16(), 403, "{}", p.describe());
    assert_eq!(p.count("[data-error=\"deny.expired\"]"), 1);
    let again = server.browser();
    let grid = again.start_login("demo");
    again
        .submit_otp(&grid.answer(&server.pattern_of("demo")))
        .expect_status(401, "sign-in outside the validity period");
    // Back in its period (null clears it): signs in again.
    admin.ok(
        "PATCH",
        "/api/v1/users/demo",
        Some(json!({"valid_until": null})),
    );
    server
        .browser()
        .sign_in("demo", &server.pattern_of("demo"), "/");
}

/// The OpenAPI document validates (openapi-spec-validator, an independent implementation),
/// and every operation it lists is routed and guarded (401 problem without a token, never a
/// 404 or 405).
#[test]
fn openapi_document_matches_the_routes() {
    let server = TestServer::start(Backend::Sqlite, &[]);
    let admin = Admin::of(&server);
    let r = admin.req("GET", "/openapi.json", None).send().unwrap();
    assert_eq!(r.status(), 200);
    let text = r.text().unwrap();
    let doc: Value = serde_json::from_str(&text).unwrap();

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("openapi.json");
    std::fs::write(&path, &text).unwrap();
    let out = std::process::Command::new("python3")
        .args([
            "-c",
            "import json,sys; from openapi_spec_validator import validate; \
             validate(json.load(open(sys.argv[1]))); print('valid')",
        ])
        .arg(&path)
        .output()
        .expect("python3");
    assert!(
        out.status.success(),
        "openapi-spec-validator: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );

    let mut operations = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        let concrete = path
            .replace("{name}", "demo")
            .replace("{group}", "mfa")
            .replace("{id}", "0");
        for (method, op) in item.as_object().unwrap() {
            let scope = op["x-required-scope"].as_str().unwrap();
            assert!(op["responses"]["401"].is_object(), "{method} {path}");
            assert!(op["responses"]["403"].is_object(), "{method} {path}");
            let r = admin
                .req(&method.to_uppercase(), &concrete, None)
                .send()
                .unwrap();
            problem(r, 401, &format!("{method} {path} without a token"));
            assert!(!scope.is_empty());
            operations += 1;
        }
    }
    assert!(operations >= 18, "only {operations} operations documented");
    // And an undocumented path is a 404 problem.
    problem(
        admin.req("GET", "/api/v1/nothing", None).send().unwrap(),
        404,
        "unknown path",
    );
}

both_backends!(
    scopes_are_enforced,
    users_groups_policies_and_audit,
    services_and_directory_fields
);
