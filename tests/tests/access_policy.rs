//! The access policy on the SSO paths (OIDC authorization endpoint, SAML IdP-initiated and
//! SP-initiated): denied by group, by source address behind a trusted proxy (and spoofed
//! headers from anyone else ignored), by time window on the tenant's clock (test clock moved),
//! and a group that needs matrix + device cookie beside one that needs matrix alone. Every
//! denial is a 403 page in the user's language, audited, and issues nothing.

mod common;

use common::{Backend, Browser, Page, TestServer};
use reqwest::header::{HeaderMap, HeaderValue};
use serde_json::Value;

const CB: &str = "https://rp.example/cb";
const SP: &str = "https://sp.example/metadata";
const ACS: &str = "https://sp.example/acs";

fn setup(server: &TestServer, policy: &str) {
    for id in ["crm", "payroll"] {
        server.cli_ok(&[
            "client",
            "add",
            "--client-id",
            id,
            "--redirect-uri",
            CB,
            "--public",
        ]);
    }
    let md = format!(
        r#"<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="{SP}"><md:SPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol"><md:NameIDFormat>urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress</md:NameIDFormat><md:AssertionConsumerService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="{ACS}" index="0" isDefault="true"/></md:SPSSODescriptor></md:EntityDescriptor>"#
    );
    let file = server.data_dir().join("sp.xml");
    std::fs::write(&file, md).unwrap();
    server.cli_ok(&["sp", "add", "--metadata", file.to_str().unwrap()]);
    let file = server.data_dir().join("access.json");
    std::fs::write(&file, policy).unwrap();
    server.cli_ok(&["access-policy", "put", file.to_str().unwrap()]);
}

fn authorize_path(client_id: &str) -> String {
    format!(
        "/oidc/authorize?client_id={client_id}&redirect_uri={}&response_type=code&scope=openid\
         &state=s1&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM\
         &code_challenge_method=S256",
        "https%3A%2F%2Frp.example%2Fcb"
    )
}

/// The authorization endpoint for a signed-in browser: `Ok(code)` or `Err(denial page)`.
fn authorize(b: &Browser, client_id: &str) -> Result<String, Box<Page>> {
    let p = b.get(&authorize_path(client_id));
    if p.status.as_u16() == 403 {
        return Err(Box::new(p));
    }
    assert_eq!(p.status.as_u16(), 303, "{}", p.describe());
    let loc = p.header("location").unwrap();
    assert!(loc.starts_with(CB), "{loc}");
    let code = loc
        .split(['?', '&'])
        .find_map(|kv| kv.strip_prefix("code="))
        .unwrap_or_else(|| panic!("no code in {loc}"));
    Ok(code.to_owned())
}

fn assert_denied(p: &Page, key: &str) {
    assert_eq!(p.status.as_u16(), 403, "{}", p.describe());
    assert_eq!(
        p.count(&format!("[data-error=\"{key}\"]")),
        1,
        "expected {key}: {}",
        p.describe()
    );
    assert!(!p.body.contains("SAMLResponse"), "nothing issued");
    assert!(p.header("location").is_none());
}

fn idp_init(b: &Browser) -> Page {
    b.get(&format!(
        "/saml/idp-init?sp={}",
        "https%3A%2F%2Fsp.example%2Fmetadata"
    ))
}

fn audit(server: &TestServer) -> Vec<Value> {
    let printed = |prefix: &str| {
        server
            .log()
            .lines()
            .rev()
            .find_map(|l| l.trim().strip_prefix(prefix).map(|v| v.trim().to_owned()))
            .expect(prefix)
    };
    let v: Value = reqwest::blocking::Client::new()
        .get(format!(
            "{}/api/v1/audit?limit=500",
            printed("admin-listening:")
        ))
        .bearer_auth(printed("admin-token:"))
        .send()
        .unwrap()
        .json()
        .unwrap();
    v.as_array().unwrap().clone()
}

fn denied_by_group(backend: Backend) {
    let server = TestServer::start(backend, &[]);
    setup(
        &server,
        r#"{"groups": [{"group": "staff", "priority": 20,
            "services": {"allow": ["*"], "deny": ["oidc_client:payroll"]}}]}"#,
    );
    server.cli_ok(&["group", "add", "staff"]);
    server.cli_ok(&["group", "add-user", "staff", "demo"]);

    let b = server.browser();
    b.sign_in("demo", &server.pattern_of("demo"), "/");
    authorize(&b, "crm").expect("staff may use crm");
    assert_denied(&authorize(&b, "payroll").unwrap_err(), "deny.service");
    let p = idp_init(&b);
    assert_eq!(
        p.status.as_u16(),
        200,
        "staff may use the SP: {}",
        p.describe()
    );
    assert!(p.body.contains("SAMLResponse"));

    // In Japanese for a Japanese browser.
    let mut h = HeaderMap::new();
    h.insert("accept-language", HeaderValue::from_static("ja"));
    let ja = Browser::with_headers(server.base_url(), h);
    ja.sign_in("demo", &server.pattern_of("demo"), "/");
    let p = authorize(&ja, "payroll").unwrap_err();
    assert_denied(&p, "deny.service");
    assert!(
        p.body.contains("このサービスの利用は許可されていません"),
        "{}",
        p.body
    );

    // admin is in no group the policy allows: nothing at all, SAML included.
    let a = server.browser();
    a.sign_in("admin", &server.pattern_of("admin"), "/");
    assert_denied(&authorize(&a, "crm").unwrap_err(), "deny.service");
    assert_denied(&idp_init(&a), "deny.service");

    // Audited with the engine's explanation; no code was issued for a denial.
    let events = audit(&server);
    let denials: Vec<&Value> = events
        .iter()
        .filter(|e| e["event"] == "access.denied")
        .collect();
    assert_eq!(denials.len(), 4, "{denials:#?}");
    let payroll = denials
        .iter()
        .find(|e| e["subject"] == "oidc_client:payroll" && e["actor"] == "demo")
        .expect("payroll denial");
    assert!(
        payroll["detail"]["explanation"]
            .as_str()
            .unwrap()
            .contains("staff"),
        "{payroll}"
    );
    let issued = events
        .iter()
        .filter(|e| e["event"] == "oidc.authorize" && e["outcome"] == "success")
        .count();
    assert_eq!(issued, 1, "only the crm code");
}

fn denied_by_address_behind_a_trusted_proxy(backend: Backend) {
    let policy = r#"{"groups": [{"group": "office", "priority": 10,
        "services": {"allow": ["*"]}, "ip_allow": ["10.1.0.0/16", "2001:db8::/32"]}]}"#;
    let server = TestServer::start(backend, &["--trusted-proxy", "127.0.0.1"]);
    setup(&server, policy);
    server.cli_ok(&["group", "add", "office"]);
    server.cli_ok(&["group", "add-user", "office", "demo"]);
    let via = |xff: &'static str| {
        let mut h = HeaderMap::new();
        h.insert("x-forwarded-for", HeaderValue::from_static(xff));
        let b = Browser::with_headers(server.base_url(), h);
        b.sign_in("demo", &server.pattern_of("demo"), "/");
        b
    };
    authorize(&via("10.1.2.3"), "crm").expect("office network through the proxy");
    authorize(&via("2001:db8::7"), "crm").expect("IPv6 office network");
    // The rightmost untrusted hop decides: a client-supplied first hop does not help.
    let outside = via("10.1.2.3, 192.0.2.7");
    assert_denied(&authorize(&outside, "crm").unwrap_err(), "deny.ip");
    assert_denied(&idp_init(&outside), "deny.ip");
    let events = audit(&server);
    assert!(events
        .iter()
        .any(|e| e["event"] == "access.denied" && e["source_ip"] == "192.0.2.7"));

    // The same header from a peer that is not a trusted proxy is ignored.
    let direct = TestServer::start(backend, &[]);
    setup(&direct, policy);
    direct.cli_ok(&["group", "add", "office"]);
    direct.cli_ok(&["group", "add-user", "office", "demo"]);
    let mut h = HeaderMap::new();
    h.insert("x-forwarded-for", HeaderValue::from_static("10.1.2.3"));
    let spoof = Browser::with_headers(direct.base_url(), h);
    spoof.sign_in("demo", &direct.pattern_of("demo"), "/");
    assert_denied(&authorize(&spoof, "crm").unwrap_err(), "deny.ip");
}

fn denied_outside_the_schedule(backend: Backend) {
    // A one-hour window starting two hours from now on a UTC+9 tenant clock.
    let local_hour = (common::now_unix() / 3600 + 9) % 24;
    let start = (local_hour + 2) % 24;
    let end = if start == 23 {
        "24:00".to_owned()
    } else {
        format!("{:02}:00", start + 1)
    };
    let policy = format!(
        r#"{{"clock": {{"utc_offset_minutes": 540}},
            "groups": [{{"group": "staff", "services": {{"allow": ["*"]}},
                         "schedule": ["* {start:02}:00-{end}"]}}]}}"#
    );
    let server = TestServer::start(backend, &[]);
    setup(&server, &policy);
    server.cli_ok(&["group", "add", "staff"]);
    server.cli_ok(&["group", "add-user", "staff", "demo"]);
    let b = server.browser();
    b.sign_in("demo", &server.pattern_of("demo"), "/");
    assert_denied(&authorize(&b, "crm").unwrap_err(), "deny.time");
    server.advance_clock(2 * 3600 + 60);
    authorize(&b, "crm").expect("inside the window");
}

fn device_cookie_for_one_group_matrix_for_another(backend: Backend) {
    let server = TestServer::start(backend, &[]);
    setup(
        &server,
        r#"{"default_combinations": [["matrix"]],
            "groups": [
              {"group": "secure", "priority": 1, "services": {"allow": ["*"]},
               "combinations": [["matrix", "device_cookie"]]},
              {"group": "staff", "priority": 20, "services": {"allow": ["*"]}}]}"#,
    );
    server.cli_ok(&["group", "add", "secure"]);
    server.cli_ok(&["group", "add", "staff"]);
    server.cli_ok(&["group", "add-user", "secure", "admin"]);
    server.cli_ok(&["group", "add-user", "staff", "demo"]);

    // staff: matrix alone is enough.
    let d = server.browser();
    d.sign_in("demo", &server.pattern_of("demo"), "/");
    authorize(&d, "crm").expect("matrix suffices for staff");

    // secure, signed in with matrix alone (the group's sign-in policy did not ask for the
    // device yet): the service needs a step the session lacks.
    let a = server.browser();
    a.sign_in("admin", &server.pattern_of("admin"), "/");
    assert_denied(&authorize(&a, "crm").unwrap_err(), "step_up");
    assert_denied(&idp_init(&a), "step_up");

    // With the group's sign-in policy asking for the device: matrix, then the device step
    // registers this browser, and the service is allowed.
    server.cli_ok(&[
        "policy",
        "put",
        "secure",
        "--combinations",
        "matrix+device_cookie",
    ]);
    server.cli_ok(&["group", "add", "secure", "--policy", "secure"]);
    let a2 = server.browser();
    let r = a2.sign_in("admin", &server.pattern_of("admin"), "/login/device_cookie");
    a2.follow(&r).expect_see_other("/", "device step");
    authorize(&a2, "crm").expect("matrix + device cookie");
    let p = idp_init(&a2);
    assert!(p.body.contains("SAMLResponse"), "{}", p.describe());
}

both_backends!(
    denied_by_group,
    denied_by_address_behind_a_trusted_proxy,
    denied_outside_the_schedule,
    device_cookie_for_one_group_matrix_for_another
);
