//! Issue #7's browser scenario, on SQLite and PostgreSQL (tests/browser/first_day.py in headless
//! Chromium, axe-core on every page): an administrator creates a user in the console, imports a
//! CSV and generates a first sign-in guide URL; that user opens the guide, signs in with the
//! printed initial pattern, sets a pattern, enrols the authenticator app and launches a SAML
//! service from the portal. The Rust side then checks the server's state: the imported users
//! exist, the user's new pattern and TOTP work, and the SP received a SAMLResponse.

mod common;

use std::process::Command;

use common::{pattern_csv, Backend, TestServer};

both_backends!(first_day_in_chromium);

fn first_day_in_chromium(backend: Backend) {
    let server = TestServer::start(backend, &[]);
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let entity = "http://127.0.0.1/first-day-sp";
    let metadata = server.data_dir().join("first-day-sp.xml");
    std::fs::write(
        &metadata,
        format!(
            r#"<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="{entity}"><md:SPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol"><md:NameIDFormat>urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress</md:NameIDFormat><md:AssertionConsumerService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="http://127.0.0.1:{port}/acs" index="0" isDefault="true"/></md:SPSSODescriptor></md:EntityDescriptor>"#
        ),
    )
    .unwrap();
    server.cli_ok(&[
        "sp",
        "add",
        "--metadata",
        metadata.to_str().unwrap(),
        "--allow-http-loopback",
        "--display-name",
        "Team Wiki",
    ]);
    let csv = server.data_dir().join("new-staff.csv");
    std::fs::write(
        &csv,
        "name,display_name,email,department\n\
         ichiro,Suzuki Ichiro,ichiro@example.jp,Sales\n\
         jiro,Tanaka Jiro,jiro@example.jp,Sales\n",
    )
    .unwrap();
    let new_pattern = [2u16, 15, 28, 41, 42, 43, 44];
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/browser/first_day.py");
    let o = Command::new("python3")
        .arg(script)
        .args([
            server.admin_base().as_str(),
            server.base_url(),
            &port.to_string(),
            &pattern_csv(&server.pattern_of("admin")),
            entity,
            csv.to_str().unwrap(),
            &pattern_csv(&new_pattern),
        ])
        .output()
        .unwrap_or_else(|e| panic!("python3 with selenium is needed: {e}"));
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(
        o.status.success(),
        "the browser run failed: {}\n{out}\n--- server ---\n{}",
        String::from_utf8_lossy(&o.stderr),
        server.log()
    );
    // Every page passed axe-core: the administrator's sign-in (2 pages), 9 console pages, and
    // 8 pages of the user's (guide, sign-in, grid, pattern setup, portal, settings, app x2).
    assert_eq!(out.matches("axe: ").count(), 19, "{out}");
    assert!(out.contains("ok: dry run created=2"), "{out}");
    // The guide URL follows the documented contract.
    let guide = out
        .lines()
        .find_map(|l| l.strip_prefix("guide: "))
        .unwrap_or_else(|| panic!("no guide line: {out}"));
    assert_eq!(
        guide,
        format!("{}/guide/totp?lang=ja&user=hanako", server.base_url())
    );
    let body = out
        .lines()
        .find_map(|l| l.strip_prefix("acs: "))
        .unwrap_or_else(|| panic!("no acs line: {out}"));
    assert!(body.contains("SAMLResponse="), "{body}");
    // The server's state agrees with what the pages said.
    for name in ["ichiro", "jiro"] {
        assert_eq!(server.user_show(name)["department"], "Sales");
    }
    let hanako = server.user_show("hanako");
    assert_eq!(hanako["must_change_pattern"], false);
    assert_eq!(hanako["department"], "Research");
    assert!(
        hanako["methods"].to_string().contains("totp"),
        "TOTP enrolled: {hanako}"
    );
    // Her own pattern signs in (to the TOTP step her enrolment now allows, or straight in).
    let b = server.browser();
    let grid = b.start_login("hanako");
    let p = b.submit_otp(&grid.answer(&new_pattern));
    assert_eq!(p.status.as_u16(), 303, "{}", p.describe());
}
