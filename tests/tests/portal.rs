//! The user portal and the first sign-in guides (docs/portal.md), over HTTP with the harness
//! browser: the portal lists exactly the services the access policy allows (and lists without
//! auditing a denial), a SAML tile starts IdP-initiated SSO, the pattern change (CSRF, rules,
//! fresh sign-in, then the new pattern works and the old one does not), PIN change, the
//! authenticator app confirmed with `oathtool`, the bingo pattern, device removal, and every
//! guide page in English and Japanese with its pictures. The same flows in headless Chromium
//! (clicking cells, launching a service, a phone-width layout) are in `portal_in_chromium`.

mod common;

use std::process::Command;

use common::{pattern_csv, Backend, Browser, Page, TestServer};
use reqwest::header::{HeaderMap, HeaderValue};
use serde_json::Value;

const SP: &str = "https://sp.example/metadata";
const ACS: &str = "https://sp.example/acs";
const HR_SP: &str = "https://hr.example/metadata";

fn sp_metadata(entity: &str, acs: &str) -> String {
    format!(
        r#"<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="{entity}"><md:SPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol"><md:NameIDFormat>urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress</md:NameIDFormat><md:AssertionConsumerService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="{acs}" index="0" isDefault="true"/></md:SPSSODescriptor></md:EntityDescriptor>"#
    )
}

fn add_sp(server: &TestServer, entity: &str, acs: &str, extra: &[&str]) {
    let file = server
        .data_dir()
        .join(format!("sp-{}.xml", common::random_hex()));
    std::fs::write(&file, sp_metadata(entity, acs)).unwrap();
    let mut args = vec!["sp", "add", "--metadata", file.to_str().unwrap()];
    args.extend_from_slice(extra);
    server.cli_ok(&args);
}

fn add_client(server: &TestServer, id: &str, extra: &[&str]) {
    let mut args = vec![
        "client",
        "add",
        "--client-id",
        id,
        "--redirect-uri",
        "https://rp.example/cb",
        "--public",
    ];
    args.extend_from_slice(extra);
    server.cli_ok(&args);
}

fn put_access_policy(server: &TestServer, policy: &str) {
    let file = server.data_dir().join("access.json");
    std::fs::write(&file, policy).unwrap();
    server.cli_ok(&["access-policy", "put", file.to_str().unwrap()]);
}

/// `(data-service, href, name)` of every tile on the portal.
fn tiles(p: &Page) -> Vec<(String, String, String)> {
    let html = p.html();
    let sel = scraper::Selector::parse("a.service").unwrap();
    let name = scraper::Selector::parse(".service-name").unwrap();
    html.select(&sel)
        .map(|a| {
            (
                a.value().attr("data-service").unwrap_or("").to_owned(),
                a.value().attr("href").unwrap_or("").to_owned(),
                a.select(&name)
                    .next()
                    .map(|n| n.text().collect::<String>())
                    .unwrap_or_default(),
            )
        })
        .collect()
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

fn events<'a>(all: &'a [Value], event: &str) -> Vec<&'a Value> {
    all.iter().filter(|e| e["event"] == event).collect()
}

fn oathtool_totp(secret: &str, offset: i64) -> String {
    let at = common::now_unix() + offset;
    let out = Command::new("oathtool")
        .args(["--totp", "-b", secret, "-N", &format!("@{at}")])
        .output()
        .unwrap_or_else(|e| panic!("oathtool is needed (apt-get install oathtool): {e}"));
    assert!(out.status.success(), "oathtool failed");
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

fn attr(p: &Page, selector: &str, name: &str) -> String {
    let html = p.html();
    let sel = scraper::Selector::parse(selector).unwrap();
    html.select(&sel)
        .next()
        .and_then(|e| e.value().attr(name))
        .unwrap_or_else(|| panic!("no {selector}[{name}]: {}", p.describe()))
        .to_owned()
}

fn portal_lists_allowed_services(backend: Backend) {
    let server = TestServer::start(backend, &[]);
    add_sp(&server, SP, ACS, &["--display-name", "Expenses <b>EU</b>"]);
    add_sp(&server, HR_SP, "https://hr.example/acs", &[]);
    add_client(
        &server,
        "crm",
        &[
            "--login-url",
            "https://crm.example/login?from=idp",
            "--display-name",
            "CRM",
        ],
    );
    add_client(
        &server,
        "payroll",
        &["--login-url", "https://payroll.example/start"],
    );
    // Allowed, but without a login URL the IdP cannot start a sign-in there: no tile.
    add_client(&server, "api-only", &[]);
    // A login URL the portal would render as a link must be a real https URL.
    for bad in ["javascript:alert(1)", "http://crm.example/", "/relative"] {
        let out = server.cli(&[
            "client",
            "add",
            "--client-id",
            "bad",
            "--redirect-uri",
            "https://rp.example/cb",
            "--public",
            "--login-url",
            bad,
        ]);
        assert!(!out.status.success(), "--login-url {bad} accepted");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("--login-url"),
            "{out:?}"
        );
    }
    assert!(!server.cli_ok(&["client", "list"]).contains("\"bad\""));
    put_access_policy(
        &server,
        &format!(
            r#"{{"groups": [{{"group": "staff", "priority": 20,
                "services": {{"allow": ["*"], "deny": ["oidc_client:payroll", "saml_sp:{HR_SP}"]}}}}]}}"#
        ),
    );
    server.cli_ok(&["group", "add", "staff"]);
    server.cli_ok(&["group", "add-user", "staff", "demo"]);

    // Unsigned visitors go through the sign-in and back to the portal.
    let anon = server.browser();
    let r = anon.get("/");
    assert_eq!(r.status.as_u16(), 303, "{}", r.describe());
    assert!(
        r.location().unwrap().ends_with("/login?return_to=/"),
        "{}",
        r.describe()
    );

    let b = server.browser();
    b.sign_in("demo", &server.pattern_of("demo"), "/");
    let home = b.get("/");
    home.expect_status(200, "the portal");
    let mut got = tiles(&home);
    got.sort();
    assert_eq!(
        got,
        vec![
            (
                "crm".to_owned(),
                "https://crm.example/login?from=idp".to_owned(),
                "CRM".to_owned()
            ),
            (
                SP.to_owned(),
                "/saml/idp-init?sp=https%3A%2F%2Fsp.example%2Fmetadata".to_owned(),
                "Expenses <b>EU</b>".to_owned()
            ),
        ],
        "exactly the allowed services with a way in: {}",
        home.body
    );
    // The display name is text, never markup; the tile shows its first letter.
    assert!(!home.body.contains("<b>EU"), "{}", home.body);
    assert_eq!(home.count("span.tile"), 2);
    assert!(home.count("nav.menu a[href=\"/account/security\"]") == 1);
    assert!(home.count("nav.menu form[action=\"/logout\"] input[name=csrf]") == 1);

    // The SAML tile's link performs IdP-initiated SSO: a Response form-POSTed to the ACS.
    let saml = tiles(&home)
        .into_iter()
        .find(|t| t.0 == SP)
        .map(|t| t.1)
        .unwrap();
    let post = b.get(&saml);
    post.expect_status(200, "IdP-initiated SSO from the tile");
    assert_eq!(attr(&post, "form", "action"), ACS);
    assert_eq!(post.count("input[name=SAMLResponse]"), 1, "{}", post.body);

    // admin is in no group the policy allows: no tiles at all.
    let a = server.browser();
    a.sign_in("admin", &server.pattern_of("admin"), "/");
    let home = a.get("/");
    home.expect_status(200, "admin's portal");
    assert!(tiles(&home).is_empty(), "{}", home.body);
    assert_eq!(home.count("[data-status=no-services]"), 1);

    // Listing the portal is not a request for a service: no access.denied was audited.
    let all = audit(&server);
    assert!(
        events(&all, "access.denied").is_empty(),
        "{:#?}",
        events(&all, "access.denied")
    );

    // In Japanese for a Japanese browser.
    let mut h = HeaderMap::new();
    h.insert("accept-language", HeaderValue::from_static("ja"));
    let ja = Browser::with_headers(server.base_url(), h);
    ja.sign_in("demo", &server.pattern_of("demo"), "/");
    let home = ja.get("/");
    assert!(home.body.contains("利用できるサービス"), "{}", home.body);
    assert!(home.body.contains("<html lang=\"ja\">"));
}

fn pattern_change(backend: Backend) {
    let server = TestServer::start(backend, &[]);
    let old = server.pattern_of("demo");
    let mut new: Vec<u16> = vec![0, 13, 26, 39, 40, 41];
    if new == old {
        new = vec![47, 34, 21, 8, 7, 6];
    }
    let new_csv = pattern_csv(&new);
    let old_csv = pattern_csv(&old);
    let b = server.browser();
    b.sign_in("demo", &old, "/");
    let page = b.get("/account/pattern");
    page.expect_status(200, "the pattern page");
    assert_eq!(page.count("table.picker button[data-cell]"), 48);

    // Without the CSRF token: refused, nothing changed.
    let r = b.post_form_raw(
        "/account/pattern",
        &[("pattern", &new_csv), ("pattern_confirm", &new_csv)],
    );
    r.expect_status(403, "pattern change without CSRF");
    // Breaking a rule: refused with the rule's message.
    let r = b.post_form(
        "/account/pattern",
        &[("pattern", "0,1,2"), ("pattern_confirm", "0,1,2")],
    );
    r.expect_status(400, "a 3-cell pattern");
    assert_eq!(r.count("[data-error=pattern-rejected]"), 1);
    assert!(r.body.contains("The pattern is too short."), "{}", r.body);
    let r = b.post_form(
        "/account/pattern",
        &[
            ("pattern", &new_csv),
            ("pattern_confirm", "0,13,26,39,40,42"),
        ],
    );
    r.expect_status(400, "two different patterns");
    assert!(r.body.contains("The two patterns differ."));
    let r = b.post_form(
        "/account/pattern",
        &[("pattern", &old_csv), ("pattern_confirm", &old_csv)],
    );
    r.expect_status(400, "the current pattern again");
    assert!(r.body.contains("differs from your current pattern"));
    let r = b.post_form(
        "/account/pattern",
        &[("pattern", "a,b,c"), ("pattern_confirm", "a,b,c")],
    );
    r.expect_status(400, "not cell numbers");

    // The old pattern still works after all those refusals.
    server.browser().sign_in("demo", &old, "/");

    let r = b.post_form(
        "/account/pattern",
        &[("pattern", &new_csv), ("pattern_confirm", &new_csv)],
    );
    r.expect_status(200, "a valid new pattern");
    assert_eq!(r.count("[data-status=pattern-changed]"), 1, "{}", r.body);

    // The new pattern signs in; the old one fails.
    server.browser().sign_in("demo", &new, "/");
    let c = server.browser();
    let grid = c.start_login("demo");
    let r = c.submit_otp(&grid.answer(&old));
    assert_ne!(r.status.as_u16(), 303, "the old pattern: {}", r.describe());
    assert!(c.session_json().is_none());

    let all = audit(&server);
    let changed = events(&all, "pattern.changed");
    assert!(
        changed
            .iter()
            .any(|e| e["detail"]["via"] == "portal" && e["actor"] == "demo"),
        "{changed:#?}"
    );
    let refused = events(&all, "pattern.change_refused");
    let mut reasons: Vec<&str> = refused
        .iter()
        .map(|e| e["detail"]["reason"].as_str().unwrap())
        .collect();
    reasons.sort_unstable();
    // The rule only, never a cell of the refused candidate.
    assert_eq!(
        reasons,
        ["malformed", "mismatch", "same_as_current", "too_short"],
        "{refused:#?}"
    );

    // An old sign-in cannot change it: sign in again first.
    server.advance_clock(11 * 60);
    let p = b.get("/account/pattern");
    p.expect_status(403, "a sign-in older than 10 minutes");
    assert_eq!(p.count("[data-error=sign-in-again]"), 1);
    assert_eq!(
        attr(&p, "[data-action=sign-in-again]", "href"),
        "/login?return_to=/account/pattern"
    );
    let r = b.post_form(
        "/account/pattern",
        &[("pattern", &old_csv), ("pattern_confirm", &old_csv)],
    );
    r.expect_status(403, "POST with an old sign-in");
    server.browser().sign_in("demo", &new, "/");
}

fn pin_change(backend: Backend) {
    let server = TestServer::start(backend, &[]);
    let b = server.browser();
    b.sign_in("demo", &server.pattern_of("demo"), "/");
    let home = b.get("/");
    assert_eq!(home.count("a[data-setting=pin]"), 1);
    let p = b.get("/account/pin");
    p.expect_status(200, "PIN page");
    assert_eq!(p.count("input[name=current_pin]"), 0, "no PIN yet");
    b.post_form(
        "/account/pin",
        &[("pin", "482916"), ("pin_confirm", "482916")],
    )
    .expect_status(200, "first PIN");
    let p = b.get("/account/pin");
    assert_eq!(p.count("input[name=current_pin]"), 1);
    let r = b.post_form(
        "/account/pin",
        &[
            ("current_pin", "000000"),
            ("pin", "739154"),
            ("pin_confirm", "739154"),
        ],
    );
    r.expect_status(400, "a wrong current PIN");
    let r = b.post_form_raw(
        "/account/pin",
        &[
            ("current_pin", "482916"),
            ("pin", "739154"),
            ("pin_confirm", "739154"),
        ],
    );
    r.expect_status(403, "without CSRF");
    let r = b.post_form(
        "/account/pin",
        &[
            ("current_pin", "482916"),
            ("pin", "739154"),
            ("pin_confirm", "739154"),
        ],
    );
    r.expect_status(200, "PIN changed");
    assert_eq!(r.count("[data-status=pin-changed]"), 1);
    let all = audit(&server);
    assert_eq!(events(&all, "pin.changed").len(), 2);
}

fn totp_enrolment(backend: Backend) {
    let server = TestServer::start(backend, &[]);
    let b = server.browser();
    b.sign_in("demo", &server.pattern_of("demo"), "/");
    let p = b.get("/account/totp");
    p.expect_status(200, "authenticator page");
    let secret = attr(&p, "[data-secret]", "data-secret");
    assert!(attr(&p, "[data-otpauth]", "data-otpauth").starts_with("otpauth://totp/"));
    assert_eq!(p.count(".qr svg"), 1, "a QR code");
    // The pending secret is sealed in a cookie, never shown in it.
    let cookie = b
        .cookie_snapshot()
        .into_iter()
        .find(|(k, _)| k == "pl_enrol_totp")
        .expect("pending enrolment cookie")
        .1;
    assert!(!cookie.contains(&secret));
    // The same pending secret on reload.
    assert_eq!(
        attr(&b.get("/account/totp"), "[data-secret]", "data-secret"),
        secret
    );

    // Another user cannot use demo's pending secret (sealed for demo only).
    let admin = server.browser();
    admin.sign_in("admin", &server.pattern_of("admin"), "/");
    admin.get("/account/totp");
    let mut stolen = admin.cookie_snapshot();
    for c in stolen.iter_mut() {
        if c.0 == "pl_enrol_totp" {
            c.1 = cookie.clone();
        }
    }
    let csrf = admin.csrf().unwrap();
    let r = admin.post_form_with_cookies(
        "/account/totp",
        &[("otp", &oathtool_totp(&secret, 0)), ("csrf", &csrf)],
        &stolen,
    );
    r.expect_status(400, "demo's pending secret posted by admin");
    assert!(
        r.body.contains("data-error=\"enrolment-expired\""),
        "{}",
        r.body
    );
    assert!(!server.user_show("admin").to_string().contains("totp"));

    let r = b.post_form("/account/totp", &[("otp", "000000")]);
    r.expect_status(400, "a wrong code");
    assert!(r.body.contains("data-error=\"code-failed\""));
    let r = b.post_form("/account/totp", &[("otp", &oathtool_totp(&secret, 0))]);
    r.expect_status(200, "the app's code");
    assert_eq!(r.count("[data-status=app-enrolled]"), 1, "{}", r.body);
    let show = server.user_show("demo");
    assert!(show["methods"].to_string().contains("totp"), "{show}");

    // The app now signs in: matrix + TOTP for demo.
    server.cli_ok(&["policy", "put", "mfa2", "--combinations", "matrix+totp"]);
    server.cli_ok(&["group", "add", "mfa2", "--policy", "mfa2"]);
    server.cli_ok(&["group", "add-user", "mfa2", "demo"]);
    server.advance_clock(30);
    let c = server.browser();
    let r = c.sign_in("demo", &server.pattern_of("demo"), "/login/totp");
    c.follow(&r);
    c.post_form("/login/totp", &[("otp", &oathtool_totp(&secret, 30))])
        .expect_see_other("/", "the enrolled app's code");
    let all = audit(&server);
    assert!(events(&all, "factor.enrolled")
        .iter()
        .any(|e| e["detail"]["via"] == "portal" && e["detail"]["method"] == "totp"));
    assert!(!events(&all, "factor.enrol_failed").is_empty());
}

fn bingo_pattern(backend: Backend) {
    let server = TestServer::start(backend, &[]);
    let b = server.browser();
    b.sign_in("demo", &server.pattern_of("demo"), "/");
    let p = b.get("/account/bingo");
    p.expect_status(200, "bingo page");
    assert_eq!(p.count("table.picker.bingo button[data-cell]"), 25);
    let secret = attr(&p, "[data-secret]", "data-secret");
    for bad in ["0,0,1,2,3,4", "0,1,2", "0,1,2,3,4,25", "x"] {
        let r = b.post_form(
            "/account/bingo",
            &[("cells", bad), ("otp", &oathtool_totp(&secret, 0))],
        );
        r.expect_status(400, &format!("bingo cells {bad}"));
        assert!(r.body.contains("data-error=\"bingo-cells\""), "{}", r.body);
    }
    assert!(!server.user_show("demo")["methods"]
        .to_string()
        .contains("bingo"));
    let r = b.post_form(
        "/account/bingo",
        &[
            ("cells", "0,6,12,18,24,4"),
            ("otp", &oathtool_totp(&secret, 0)),
        ],
    );
    r.expect_status(200, "bingo set");
    assert_eq!(r.count("[data-status=bingo-set]"), 1, "{}", r.body);
    assert!(server.user_show("demo")["methods"]
        .to_string()
        .contains("bingo"));
}

fn device_removal(backend: Backend) {
    let server = TestServer::start(backend, &[]);
    server.cli_ok(&[
        "policy",
        "put",
        "devices",
        "--combinations",
        "matrix+device_cookie",
    ]);
    server.cli_ok(&["group", "add", "devices", "--policy", "devices"]);
    server.cli_ok(&["group", "add-user", "devices", "demo"]);
    let b = server.browser();
    let r = b.sign_in("demo", &server.pattern_of("demo"), "/login/device_cookie");
    b.follow(&r).expect_see_other("/", "device registered");
    let home = b.get("/");
    let href = attr(&home, "a[data-setting=devices]", "href");
    let page = b.get(&href);
    page.expect_status(200, "devices page");
    let id = attr(&page, "tr[data-device]", "data-device");
    assert_eq!(
        page.count("nav.menu"),
        1,
        "the portal menu on the devices page"
    );
    let r = b.post_form("/account/devices/remove", &[("id", &id)]);
    r.expect_status(200, "removed");
    assert_eq!(r.count("[data-status=device-removed]"), 1);
    assert_eq!(r.count("tr[data-device]"), 0);
}

const METHODS: [&str; 10] = [
    "matrix",
    "pin",
    "totp",
    "bingo",
    "hardware_token",
    "client_certificate",
    "device_cookie",
    "login_protect",
    "passkey",
    "biometric",
];

#[test]
fn guides_render_with_pictures() {
    let server = TestServer::start(Backend::Sqlite, &[]);
    let b = server.browser();
    let mut pictures = std::collections::BTreeSet::new();
    for m in METHODS {
        for lang in ["en", "ja"] {
            let p = b.get(&format!("/guide/{m}?lang={lang}"));
            p.expect_status(200, &format!("guide {m} {lang}"));
            assert!(p.body.contains(&format!("<html lang=\"{lang}\">")));
            let html = p.html();
            let img = scraper::Selector::parse("ol.guide-steps img").unwrap();
            let imgs: Vec<_> = html.select(&img).collect();
            assert!(imgs.len() >= 3, "{m} {lang}: {}", p.body);
            for i in imgs {
                let alt = i.value().attr("alt").unwrap_or("");
                assert!(alt.chars().count() > 5, "{m} {lang}: alt {alt:?}");
                pictures.insert(i.value().attr("src").unwrap().to_owned());
            }
            if lang == "ja" {
                assert!(p.body.contains("初回ログインガイド"), "{m}");
            }
        }
    }
    for src in &pictures {
        let r = reqwest::blocking::get(server.url(src)).unwrap();
        assert_eq!(r.status().as_u16(), 200, "{src}");
        assert_eq!(
            r.headers()["content-type"].to_str().unwrap(),
            "image/svg+xml",
            "{src}"
        );
        let body = r.text().unwrap();
        assert!(body.starts_with("<svg"), "{src}");
    }
    // The greeting is text, never markup.
    let p = b.get("/guide/matrix?lang=en&user=%3Cscript%3Ealert(1)%3C%2Fscript%3E%20Taro");
    p.expect_status(200, "guide with a user");
    let welcome = attr(&p, "[data-welcome]", "data-welcome");
    assert_eq!(welcome, "<script>alert(1)</script> Taro", "{}", p.body);
    assert!(!p.body.contains("<script>alert"), "{}", p.body);
    assert!(!p.body.contains("<script>alert"));
    // Unknown methods: 404 in the user's language, with the list of guides.
    let p = b.get("/guide/carrier-pigeon?lang=ja");
    p.expect_status(404, "unknown method");
    assert!(p.body.contains("ガイドが見つかりません"));
    assert_eq!(p.count("ul.guide-list a"), METHODS.len());
    let r = reqwest::blocking::get(server.url("/static/guide/..%2Fapp.css")).unwrap();
    assert_eq!(r.status().as_u16(), 404);
    // Public: no sign-in needed, and no session was made.
    assert!(b.session_json().is_none());
}

both_backends!(
    portal_lists_allowed_services,
    pattern_change,
    pin_change,
    totp_enrolment,
    bingo_pattern,
    device_removal
);

/// The portal in headless Chromium (tests/browser/portal.py): sign in by typing the grid's
/// digits, change the pattern by clicking cells, sign in with the new pattern, launch the SAML
/// service from its tile (the SAMLResponse reaches the SP's ACS), no horizontal scroll at
/// 360x740 on the portal, settings, pattern, bingo and guide pages, and axe-core finds no WCAG
/// A/AA violation on the portal pages and the guides.
#[test]
fn portal_in_chromium() {
    let server = TestServer::start(Backend::Sqlite, &[]);
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let entity = "http://127.0.0.1/browser-sp";
    let acs = format!("http://127.0.0.1:{port}/acs");
    add_sp(
        &server,
        entity,
        &acs,
        &["--allow-http-loopback", "--display-name", "Browser SP"],
    );
    let old = server.pattern_of("demo");
    let mut new: Vec<u16> = vec![0, 13, 26, 39, 40, 41];
    if new == old {
        new = vec![47, 34, 21, 8, 7, 6];
    }
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/browser/portal.py");
    let o = Command::new("python3")
        .arg(script)
        .args([
            server.base_url(),
            &port.to_string(),
            &pattern_csv(&old),
            &pattern_csv(&new),
            entity,
        ])
        .output()
        .unwrap_or_else(|e| panic!("python3 with selenium is needed: {e}"));
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(
        o.status.success(),
        "the browser run failed: {}\n{out}",
        String::from_utf8_lossy(&o.stderr)
    );
    let body = out
        .lines()
        .find_map(|l| l.strip_prefix("acs: "))
        .unwrap_or_else(|| panic!("no acs line: {out}"));
    assert!(body.contains("SAMLResponse="), "{body}");
    assert_eq!(out.matches("ok: no horizontal scroll").count(), 6, "{out}");
    assert!(out.contains("ok: the bingo page's key prefilled"), "{out}");
    // axe-core (WCAG 2.x A/AA) passed on every portal page and every guide in both languages.
    assert_eq!(out.matches("axe: ").count(), 32, "{out}");
    // The change went through the server: the new pattern is the one that works now.
    server.browser().sign_in("demo", &new, "/");
}
