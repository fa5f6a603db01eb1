//! Client certificates as a sign-in step (`matrix+client_certificate`), on both stores:
//!
//! - over the built-in TLS listener (rustls, `serve --tls-listen`; its server certificate made
//!   here by the `openssl` command line) with certificates our CA issued: the user's own passes
//!   (`amr` has `x509` and `swk`), another user's and none are refused with their reasons, one
//!   from a CA that is not ours is refused (handshake or page), and after `cert revoke` the
//!   running server's refreshed CRL refuses the revoked certificate at the handshake while
//!   another user's still connects;
//! - behind a reverse proxy (`serve --client-cert-header X-Client-Cert --trusted-proxy
//!   127.0.0.2`): the URL-encoded PEM header from the trusted address passes; the same header
//!   from another address is ignored (the step sees no certificate, and it is audited); a
//!   revoked, foreign, garbled, expired (test clock) certificate is refused with its reason;
//! - automatic issue at first sign-in (policy `--cert-auto-issue`): the page shows a one-time
//!   password and a single-use download link; the `.p12` opens with `openssl pkcs12` under that
//!   password, the link works once, and the certificate then signs the user in over TLS;
//! - e-mail (`cert issue --email`, admin API `{"email": true}`) to a tiny SMTP sink written
//!   here: the attachment opens with `openssl pkcs12`, the recipient is the user's address, the
//!   password is not in the mail; the printable sheet carries the password the first time only;
//!   the admin API lists, issues (base64 PKCS#12 + password) and revokes.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::net::{IpAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine;
use common::{Backend, Browser, TestServer};
use reqwest::blocking::Client;
use serde_json::{json, Value};

fn openssl(args: &[&str]) -> std::process::Output {
    Command::new("openssl")
        .args(args)
        .output()
        .expect("openssl")
}

fn openssl_ok(args: &[&str]) -> String {
    let o = openssl(args);
    assert!(
        o.status.success(),
        "openssl {args:?}: {}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// A CA made by the openssl CLI and a P-256 leaf it signs with the extensions `ext`:
/// (CA cert path, leaf cert path, leaf key path).
fn ca_and_leaf(dir: &Path, prefix: &str, cn: &str, ext: &str) -> (PathBuf, PathBuf, PathBuf) {
    let p = |n: &str| dir.join(format!("{prefix}-{n}"));
    let s = |n: &str| p(n).to_str().unwrap().to_owned();
    openssl_ok(&[
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
        "-keyout",
        &s("ca.key"),
        "-out",
        &s("ca.pem"),
        "-days",
        "30",
        "-subj",
        &format!("/CN={prefix} test CA"),
    ]);
    openssl_ok(&[
        "req",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
        "-keyout",
        &s("leaf.key"),
        "-out",
        &s("leaf.csr"),
        "-subj",
        &format!("/CN={cn}"),
    ]);
    std::fs::write(p("ext.cnf"), format!("basicConstraints=CA:FALSE\n{ext}\n")).unwrap();
    openssl_ok(&[
        "x509",
        "-req",
        "-in",
        &s("leaf.csr"),
        "-CA",
        &s("ca.pem"),
        "-CAkey",
        &s("ca.key"),
        "-CAcreateserial",
        "-days",
        "30",
        "-extfile",
        &s("ext.cnf"),
        "-out",
        &s("leaf.pem"),
    ]);
    (p("ca.pem"), p("leaf.pem"), p("leaf.key"))
}

/// The TLS listener's certificate for 127.0.0.1 from a test CA: (CA cert, cert, key).
fn server_tls_files(dir: &Path) -> (PathBuf, PathBuf, PathBuf) {
    ca_and_leaf(
        dir,
        "server",
        "127.0.0.1",
        "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth",
    )
}

/// A CA that is not ours and a clientAuth certificate with CN=`cn` from it: (cert PEM, key PEM).
fn foreign_client_cert(dir: &Path, cn: &str) -> (String, String) {
    let (_, cert, key) = ca_and_leaf(dir, "foreign", cn, "extendedKeyUsage=clientAuth");
    (
        std::fs::read_to_string(cert).unwrap(),
        std::fs::read_to_string(key).unwrap(),
    )
}

/// A certificate of ours, opened from its PKCS#12: (serial, cert PEM, key PEM).
#[derive(Clone, Debug)]
struct Cert {
    serial: String,
    cert_pem: String,
    key_pem: String,
}

fn open_p12(der: &[u8], password: &str) -> (String, String) {
    let p12 = openssl::pkcs12::Pkcs12::from_der(der).expect("PKCS#12 DER");
    let parsed = p12
        .parse2(password)
        .expect("PKCS#12 opens with the password");
    let cert = parsed.cert.expect("certificate in the PKCS#12");
    let key = parsed.pkey.expect("key in the PKCS#12");
    (
        String::from_utf8(cert.to_pem().unwrap()).unwrap(),
        String::from_utf8(key.private_key_to_pem_pkcs8().unwrap()).unwrap(),
    )
}

/// The `openssl pkcs12` command line opens a PKCS#12 with the password (and not without it);
/// returns the subject line.
fn openssl_opens(dir: &Path, der: &[u8], password: &str) -> String {
    let f = dir.join(format!("check-{}.p12", common::random_hex()));
    std::fs::write(&f, der).unwrap();
    let f = f.to_str().unwrap();
    let wrong = openssl(&[
        "pkcs12",
        "-in",
        f,
        "-passin",
        "pass:wrong-password",
        "-nokeys",
    ]);
    assert!(!wrong.status.success(), "a wrong password must not open it");
    let out = openssl_ok(&[
        "pkcs12",
        "-in",
        f,
        "-passin",
        &format!("pass:{password}"),
        "-clcerts",
        "-nokeys",
    ]);
    assert!(out.contains("BEGIN CERTIFICATE"), "{out}");
    out
}

fn issue(server: &TestServer, user: &str) -> Cert {
    let password = "correct horse battery";
    let out = server
        .data_dir()
        .join(format!("{user}-{}.p12", common::random_hex()));
    let printed = server.cli_ok_stdin(
        &[
            "cert",
            "issue",
            user,
            "--out",
            out.to_str().unwrap(),
            "--password-stdin",
        ],
        &format!("{password}\n"),
    );
    let serial = printed
        .lines()
        .find_map(|l| l.strip_prefix("serial: "))
        .expect("serial printed")
        .to_owned();
    let (cert_pem, key_pem) = open_p12(&std::fs::read(&out).unwrap(), password);
    Cert {
        serial,
        cert_pem,
        key_pem,
    }
}

fn printed(server: &TestServer, prefix: &str) -> String {
    server
        .log()
        .lines()
        .rev()
        .find_map(|l| l.trim().strip_prefix(prefix).map(|v| v.trim().to_owned()))
        .unwrap_or_else(|| panic!("server did not print `{prefix}`:\n{}", server.log()))
}

/// `matrix+client_certificate` for `users` (group `certg`), optionally with auto-issue.
fn require_certificates(server: &TestServer, users: &[&str], auto_issue: bool) {
    let mut args = vec![
        "policy",
        "put",
        "certp",
        "--combinations",
        "matrix+client_certificate",
    ];
    if auto_issue {
        args.push("--cert-auto-issue");
    }
    server.cli_ok(&args);
    server.cli_ok(&["group", "add", "certg", "--policy", "certp"]);
    for u in users {
        server.cli_ok(&["group", "add-user", "certg", u]);
    }
}

/// A TLS client trusting the test's server certificate, with an optional client identity.
fn tls_client(server_cert: &Path, identity: Option<(&str, &str)>) -> Client {
    let root = reqwest::Certificate::from_pem(&std::fs::read(server_cert).unwrap()).expect("root");
    let mut b = Client::builder()
        .use_rustls_tls()
        .tls_built_in_root_certs(false)
        .add_root_certificate(root)
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30));
    if let Some((cert, key)) = identity {
        let pem = format!("{key}\n{cert}");
        b = b.identity(reqwest::Identity::from_pem(pem.as_bytes()).expect("identity"));
    }
    b.build().expect("TLS client")
}

/// Signs in through the matrix, then takes the certificate step; returns its answer.
fn matrix_then_cert_step(browser: &Browser, server: &TestServer, user: &str) -> common::Page {
    browser.sign_in(user, &server.pattern_of(user), "/login/client_certificate");
    browser.get("/login/client_certificate")
}

fn expect_refused(page: &common::Page, code: &str, what: &str) {
    page.expect_status(403, what);
    assert_eq!(
        page.count(&format!("[data-error=\"{code}\"]")),
        1,
        "{what}: {}",
        page.describe()
    );
}

fn audit_events(server: &TestServer) -> Vec<Value> {
    let r = Client::new()
        .get(format!(
            "{}/api/v1/audit?limit=1000",
            printed(server, "admin-listening:")
        ))
        .bearer_auth(printed(server, "admin-token:"))
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
    r.json::<Vec<Value>>().unwrap()
}

fn tls_url(server: &TestServer) -> String {
    format!("https://{}", printed(server, "tls-listening:"))
}

fn tls_server(backend: Backend, extra: &[&str]) -> (TestServer, tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let (ca, cert, key) = server_tls_files(dir.path());
    let mut args = vec![
        "--tls-listen",
        "127.0.0.1:0",
        "--tls-cert",
        cert.to_str().unwrap(),
        "--tls-key",
        key.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    let server = TestServer::start(backend, &args);
    (server, dir, ca)
}

fn tls_listener_client_certificate(backend: Backend) {
    let (server, dir, server_cert) = tls_server(backend, &[]);
    let log = server.log();
    let tls_at = log.find("tls-listening:").expect("tls-listening printed");
    let ready_at = log.find("ready:").expect("ready printed");
    assert!(
        tls_at < ready_at,
        "tls-listening comes before ready:\n{log}"
    );
    require_certificates(&server, &["demo", "admin"], false);
    let demo = issue(&server, "demo");
    let admin = issue(&server, "admin");
    let url = tls_url(&server);

    // The user's own certificate: accepted, amr tells a software-held certificate key.
    let b = Browser::with_client(
        &url,
        tls_client(&server_cert, Some((&demo.cert_pem, &demo.key_pem))),
    );
    let done = matrix_then_cert_step(&b, &server, "demo");
    done.expect_see_other("/", "demo's own certificate");
    let session = b.session_json().expect("signed in");
    let amr: Vec<&str> = session["amr"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    for v in ["matrix", "x509", "swk", "mfa"] {
        assert!(amr.contains(&v), "amr {amr:?} lacks {v}");
    }

    // Another user's certificate (valid, ours): refused, and no session.
    let b = Browser::with_client(
        &url,
        tls_client(&server_cert, Some((&admin.cert_pem, &admin.key_pem))),
    );
    let refused = matrix_then_cert_step(&b, &server, "demo");
    expect_refused(&refused, "cert-other-user", "admin's certificate for demo");
    assert!(
        refused.body.contains("another user"),
        "{}",
        refused.describe()
    );
    assert!(b.session_json().is_none());
    // The attempt is over: the step cannot be retried with the same attempt.
    b.get("/login/client_certificate")
        .expect_see_other("/login", "attempt ended");

    // No certificate: refused with the message, in English and in Japanese.
    let b = Browser::with_client(&url, tls_client(&server_cert, None));
    let refused = matrix_then_cert_step(&b, &server, "demo");
    expect_refused(&refused, "cert-missing", "no certificate");
    assert!(
        refused.body.contains("No client certificate was presented"),
        "{}",
        refused.describe()
    );
    assert!(b.session_json().is_none());
    let mut ja = reqwest::header::HeaderMap::new();
    ja.insert("accept-language", "ja".parse().unwrap());
    let b = Browser::with_client(&url, {
        let root = reqwest::Certificate::from_pem(&std::fs::read(&server_cert).unwrap()).unwrap();
        Client::builder()
            .use_rustls_tls()
            .tls_built_in_root_certs(false)
            .add_root_certificate(root)
            .cookie_store(true)
            .default_headers(ja)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap()
    });
    let refused = matrix_then_cert_step(&b, &server, "demo");
    expect_refused(&refused, "cert-missing", "no certificate (ja)");
    assert!(
        refused
            .body
            .contains("クライアント証明書が提示されませんでした"),
        "{}",
        refused.describe()
    );

    // A certificate from a CA that is not ours (CN=demo, clientAuth): the handshake refuses it.
    let (fc, fk) = foreign_client_cert(dir.path(), "demo");
    let foreign = tls_client(&server_cert, Some((&fc, &fk)));
    let r = foreign.get(format!("{url}/login")).send();
    match r {
        Err(_) => {}
        Ok(r) => panic!(
            "a foreign CA's certificate was accepted at TLS: {}",
            r.status()
        ),
    }

    // The plain listener knows nothing of certificates: the step fails there.
    let b = server.browser();
    let refused = matrix_then_cert_step(&b, &server, "demo");
    expect_refused(&refused, "cert-missing", "plain HTTP");

    // Revocation on the running server: the CRL is refreshed within seconds and the revoked
    // certificate no longer completes a request; admin's still does.
    let out = server.cli_ok(&["cert", "revoke", &demo.serial]);
    assert!(out.contains("revoked:"), "{out}");
    let revoked_at = Instant::now();
    let deadline = revoked_at + Duration::from_secs(15);
    loop {
        // A fresh client each time: no pooled connection from before the revocation.
        let c = tls_client(&server_cert, Some((&demo.cert_pem, &demo.key_pem)));
        match c.get(format!("{url}/healthz")).send() {
            Err(_) => {
                eprintln!(
                    "the revocation reached the TLS handshake after {:?}",
                    revoked_at.elapsed()
                );
                break;
            }
            Ok(_) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(300)),
            Ok(r) => panic!(
                "the revoked certificate still connects after 15 s: {}",
                r.status()
            ),
        }
    }
    let c = tls_client(&server_cert, Some((&admin.cert_pem, &admin.key_pem)));
    assert_eq!(
        c.get(format!("{url}/healthz")).send().unwrap().status(),
        200
    );
    let c = tls_client(&server_cert, None);
    assert_eq!(
        c.get(format!("{url}/healthz")).send().unwrap().status(),
        200
    );

    let events = audit_events(&server);
    let reasons: Vec<&str> = events
        .iter()
        .filter(|e| e["event"] == "signin.failure" && e["detail"]["step"] == "client_certificate")
        .filter_map(|e| e["detail"]["reason"].as_str())
        .collect();
    for r in ["other_users_certificate", "no_certificate"] {
        assert!(reasons.contains(&r), "audit lacks {r}: {reasons:?}");
    }
    assert!(events.iter().any(|e| e["event"] == "cert.step_passed"));
}

fn proxy_browser(server: &TestServer, from: &str, cert_pem: Option<&str>) -> Browser {
    let mut headers = reqwest::header::HeaderMap::new();
    if let Some(pem) = cert_pem {
        // As nginx's $ssl_client_escaped_cert: every byte but unreserved ones as %XX.
        let escaped: String = pem
            .bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                    (b as char).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect();
        headers.insert("x-client-cert", escaped.parse().unwrap());
    }
    let client = Client::builder()
        .local_address(from.parse::<IpAddr>().unwrap())
        .cookie_store(true)
        .default_headers(headers)
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    Browser::with_client(server.base_url(), client)
}

fn proxy_header_client_certificate(backend: Backend) {
    let server = TestServer::start(
        backend,
        &[
            "--client-cert-header",
            "X-Client-Cert",
            "--trusted-proxy",
            "127.0.0.2",
        ],
    );
    require_certificates(&server, &["demo", "admin"], false);
    let demo = issue(&server, "demo");
    let admin = issue(&server, "admin");

    // From the trusted proxy: accepted.
    let b = proxy_browser(&server, "127.0.0.2", Some(&demo.cert_pem));
    matrix_then_cert_step(&b, &server, "demo").expect_see_other("/", "trusted proxy header");
    assert_eq!(b.session_json().unwrap()["user"], "demo");

    // The same header from an address that is not a trusted proxy: ignored (no certificate).
    let b = proxy_browser(&server, "127.0.0.1", Some(&demo.cert_pem));
    let refused = matrix_then_cert_step(&b, &server, "demo");
    expect_refused(&refused, "cert-missing", "header from an untrusted address");
    assert!(b.session_json().is_none());
    assert!(
        audit_events(&server)
            .iter()
            .any(|e| e["event"] == "cert.header_ignored"),
        "the ignored header is audited"
    );

    // Another user's, a foreign CA's, a garbled header: refused with their reasons.
    let b = proxy_browser(&server, "127.0.0.2", Some(&admin.cert_pem));
    expect_refused(
        &matrix_then_cert_step(&b, &server, "demo"),
        "cert-other-user",
        "admin's certificate via the proxy",
    );
    let dir = tempfile::tempdir().unwrap();
    let (fc, _) = foreign_client_cert(dir.path(), "demo");
    let b = proxy_browser(&server, "127.0.0.2", Some(&fc));
    expect_refused(
        &matrix_then_cert_step(&b, &server, "demo"),
        "cert-untrusted",
        "foreign CA via the proxy",
    );
    let b = proxy_browser(
        &server,
        "127.0.0.2",
        Some("-----BEGIN CERTIFICATE-----\nAAAA\n"),
    );
    expect_refused(
        &matrix_then_cert_step(&b, &server, "demo"),
        "cert-untrusted",
        "garbled header",
    );
    // An empty header (the proxy had no certificate to pass) is no certificate.
    let b = proxy_browser(&server, "127.0.0.2", Some(""));
    expect_refused(
        &matrix_then_cert_step(&b, &server, "demo"),
        "cert-missing",
        "empty header",
    );
    // A certificate with demo's CN but a serial of ours that is admin's is not demo's: covered
    // above; a certificate whose serial we never recorded (foreign) is refused: covered above.

    // Revoked through the admin API: refused at once (the store decides, not a CRL).
    let admin_url = printed(&server, "admin-listening:");
    let token = printed(&server, "admin-token:");
    let r = Client::new()
        .delete(format!(
            "{admin_url}/api/v1/users/demo/certificates/{}",
            demo.serial
        ))
        .bearer_auth(&token)
        .send()
        .unwrap();
    assert_eq!(r.status(), 204);
    let b = proxy_browser(&server, "127.0.0.2", Some(&demo.cert_pem));
    let refused = matrix_then_cert_step(&b, &server, "demo");
    expect_refused(&refused, "cert-revoked", "revoked certificate");
    assert!(refused.body.contains("revoked"), "{}", refused.describe());

    // Expired: a year and a day later by the server's clock (admin's certificate, 365 days).
    server.advance_clock(366 * 86_400);
    let b = proxy_browser(&server, "127.0.0.2", Some(&admin.cert_pem));
    let refused = matrix_then_cert_step(&b, &server, "admin");
    expect_refused(&refused, "cert-expired", "expired certificate");
    assert!(refused.body.contains("expired"), "{}", refused.describe());
}

fn auto_issue_at_first_sign_in(backend: Backend) {
    let (server, dir, server_cert) = tls_server(backend, &[]);
    require_certificates(&server, &["demo"], true);
    let url = tls_url(&server);

    let b = Browser::with_client(&url, tls_client(&server_cert, None));
    let page = matrix_then_cert_step(&b, &server, "demo");
    page.expect_status(200, "auto-issue page");
    let html = page.html();
    let attr = |sel: &str, name: &str| -> String {
        let s = scraper::Selector::parse(sel).unwrap();
        html.select(&s)
            .next()
            .unwrap_or_else(|| panic!("no {sel}: {}", page.describe()))
            .value()
            .attr(name)
            .unwrap()
            .to_owned()
    };
    let password = attr("[data-p12-password]", "data-p12-password");
    let link = attr("[data-download]", "data-download");
    let serial = attr("[data-serial]", "data-serial");
    assert!(password.len() >= 16, "{password}");
    // No session: the certificate must be installed and presented first.
    assert!(b.session_json().is_none());
    // The password is stored nowhere in plain text.
    let db = match server.pg() {
        Some(pg) => pg.dump().into_bytes(),
        None => server.data_dir_bytes(),
    };
    assert!(
        !db.windows(password.len()).any(|w| w == password.as_bytes()),
        "the one-time password is in the store"
    );

    let r = b.get(&link);
    r.expect_status(200, "download");
    assert_eq!(
        r.header("content-type").as_deref(),
        Some("application/x-pkcs12")
    );
    let again = b.get(&link);
    again.expect_status(410, "second download");
    assert_eq!(again.count("[data-error=\"cert-download-gone\"]"), 1);
    // A made-up token is refused the same way.
    b.get("/login/client_certificate/download?token=nope")
        .expect_status(410, "unknown token");

    // A second automatic issue does not happen (the user has a certificate now)...
    let b2 = Browser::with_client(&url, tls_client(&server_cert, None));
    expect_refused(
        &matrix_then_cert_step(&b2, &server, "demo"),
        "cert-missing",
        "no second automatic issue",
    );
    let listed = server.cli_ok(&["cert", "list", "demo"]);
    assert_eq!(listed.lines().count(), 1, "{listed}");
    assert!(listed.contains(&serial), "{listed}");
    drop(dir);
}

/// Automatic issue, reading the download's bytes: opens with `openssl pkcs12` and the shown
/// password, then signs the user in over TLS.
fn auto_issued_certificate_opens_and_signs_in(backend: Backend) {
    let (server, dir, server_cert) = tls_server(backend, &[]);
    require_certificates(&server, &["demo"], true);
    let url = tls_url(&server);
    let client = tls_client(&server_cert, None);
    let b = Browser::with_client(&url, client.clone());
    let page = matrix_then_cert_step(&b, &server, "demo");
    page.expect_status(200, "auto-issue page");
    let html = page.html();
    let pick = |sel: &str, name: &str| -> String {
        let s = scraper::Selector::parse(sel).unwrap();
        html.select(&s)
            .next()
            .unwrap()
            .value()
            .attr(name)
            .unwrap()
            .to_owned()
    };
    let password = pick("[data-p12-password]", "data-p12-password");
    let link = pick("[data-download]", "data-download");
    let bytes = client
        .get(format!("{url}{link}"))
        .send()
        .unwrap()
        .bytes()
        .unwrap()
        .to_vec();
    let subject = openssl_opens(dir.path(), &bytes, &password);
    assert!(
        subject.contains("CN=demo") || subject.contains("CN = demo"),
        "{subject}"
    );
    assert_eq!(
        client.get(format!("{url}{link}")).send().unwrap().status(),
        410,
        "the link works once"
    );
    let (cert, key) = open_p12(&bytes, &password);
    let b = Browser::with_client(&url, tls_client(&server_cert, Some((&cert, &key))));
    matrix_then_cert_step(&b, &server, "demo").expect_see_other("/", "installed certificate");
    assert_eq!(b.session_json().unwrap()["user"], "demo");
}

/// The mails a sink received: (recipients, DATA).
type Mailbox = Arc<Mutex<Vec<(Vec<String>, String)>>>;

/// A minimal SMTP sink: accepts one connection at a time and keeps (recipients, data).
fn smtp_sink() -> (u16, Mailbox) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let mails = Arc::new(Mutex::new(Vec::new()));
    let keep = mails.clone();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(conn) = conn else { continue };
            let mut w = conn.try_clone().unwrap();
            let mut r = BufReader::new(conn);
            let _ = w.write_all(b"220 sink ESMTP\r\n");
            let mut rcpt = Vec::new();
            let mut line = String::new();
            loop {
                line.clear();
                if r.read_line(&mut line).unwrap_or(0) == 0 {
                    break;
                }
                let cmd = line.trim_end().to_ascii_uppercase();
                if cmd.starts_with("EHLO") || cmd.starts_with("HELO") {
                    let _ = w.write_all(b"250-sink\r\n250 8BITMIME\r\n");
                } else if cmd.starts_with("RCPT TO:") {
                    rcpt.push(
                        line.trim_end()[8..]
                            .trim()
                            .trim_matches(['<', '>'])
                            .to_owned(),
                    );
                    let _ = w.write_all(b"250 ok\r\n");
                } else if cmd.starts_with("DATA") {
                    let _ = w.write_all(b"354 go\r\n");
                    let mut data = String::new();
                    loop {
                        let mut l = String::new();
                        if r.read_line(&mut l).unwrap_or(0) == 0 || l == ".\r\n" {
                            break;
                        }
                        data.push_str(&l);
                    }
                    keep.lock().unwrap().push((std::mem::take(&mut rcpt), data));
                    let _ = w.write_all(b"250 queued\r\n");
                } else if cmd.starts_with("QUIT") {
                    let _ = w.write_all(b"221 bye\r\n");
                    break;
                } else {
                    let _ = w.write_all(b"250 ok\r\n");
                }
            }
        }
    });
    (port, mails)
}

/// The base64 body of the `application/x-pkcs12` part of a MIME message.
fn attachment(mail: &str) -> Vec<u8> {
    let at = mail
        .find("application/x-pkcs12")
        .unwrap_or_else(|| panic!("no PKCS#12 part:\n{mail}"));
    let rest = &mail[at..];
    let body_start = rest.find("\r\n\r\n").unwrap() + 4;
    let b64: String = rest[body_start..]
        .lines()
        .take_while(|l| !l.starts_with("--") && !l.trim().is_empty())
        .map(str::trim)
        .collect();
    base64::engine::general_purpose::STANDARD
        .decode(b64)
        .expect("base64 attachment")
}

fn wait_for_mail(mails: &Mailbox, n: usize) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while mails.lock().unwrap().len() < n {
        assert!(Instant::now() < deadline, "no mail arrived at the sink");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn email_sheet_and_admin_api(backend: Backend) {
    let (port, mails) = smtp_sink();
    let smtp = format!("smtp://127.0.0.1:{port}");
    let server = TestServer::start(
        backend,
        &["--smtp-url", &smtp, "--smtp-from", "idp@example.test"],
    );
    server.cli_ok(&["user", "set", "demo", "--email", "demo@example.test"]);
    let dir = tempfile::tempdir().unwrap();

    // CLI: e-mailed, password printed to the administrator and kept for the sheet.
    let out = server.cli_ok(&[
        "cert",
        "issue",
        "demo",
        "--email",
        "--smtp-url",
        &smtp,
        "--smtp-from",
        "idp@example.test",
    ]);
    let serial = out
        .lines()
        .find_map(|l| l.strip_prefix("serial: "))
        .unwrap()
        .to_owned();
    let password = out
        .lines()
        .find_map(|l| l.strip_prefix("password: "))
        .unwrap()
        .to_owned();
    assert!(out.contains("emailed: demo@example.test"), "{out}");
    // Kept for the sheet, but sealed: the store does not hold it in plain text.
    let db = match server.pg() {
        Some(pg) => pg.dump().into_bytes(),
        None => server.data_dir_bytes(),
    };
    assert!(
        !db.windows(password.len()).any(|w| w == password.as_bytes()),
        "the sheet password is in the store in plain text"
    );
    // `user show` lists the method once the user has an active certificate.
    let shown = server.user_show("demo");
    assert!(
        shown["methods"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m == "client_certificate"),
        "{shown}"
    );
    wait_for_mail(&mails, 1);
    let (rcpt, data) = mails.lock().unwrap()[0].clone();
    assert_eq!(rcpt, ["demo@example.test"]);
    assert!(data.contains("idp@example.test"), "{data}");
    assert!(
        !data.contains(&password),
        "the password is not in the e-mail"
    );
    let subject = openssl_opens(dir.path(), &attachment(&data), &password);
    assert!(subject.contains("demo"), "{subject}");

    // A KEK rotation re-seals the kept password (the server restarts onto the new key).
    let rotated = server.cli_ok(&["keys", "rotate-kek"]);
    assert!(!rotated.is_empty());
    let mut server = server;
    server.restart();

    // The printable sheet: the password the first time only.
    let sheet = dir.path().join("sheet.html");
    let printed_sheet = server.cli_ok(&[
        "cert",
        "sheet",
        "demo",
        &serial,
        "--out",
        sheet.to_str().unwrap(),
    ]);
    assert!(printed_sheet.contains("sheet:"), "{printed_sheet}");
    let html = std::fs::read_to_string(&sheet).unwrap();
    assert!(html.contains(&password) && html.contains(&serial), "{html}");
    assert!(html.contains("@media print"), "print CSS");

    // Admin API.
    let admin_url = printed(&server, "admin-listening:");
    let token = printed(&server, "admin-token:");
    let http = Client::new();
    let api = |m: reqwest::Method, path: &str| {
        http.request(m, format!("{admin_url}{path}"))
            .bearer_auth(&token)
    };
    let r = api(
        reqwest::Method::GET,
        &format!("/api/v1/users/demo/certificates/{serial}/sheet"),
    )
    .send()
    .unwrap();
    assert_eq!(r.status(), 200);
    let csp = r
        .headers()
        .get("content-security-policy")
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        csp.contains("style-src 'sha256-") && !csp.contains("unsafe-inline"),
        "{csp}"
    );
    let again = r.text().unwrap();
    assert!(!again.contains(&password), "the password is printed once");
    assert!(again.contains(&serial));

    let r = api(reqwest::Method::POST, "/api/v1/users/demo/certificates")
        .json(&json!({"email": true}))
        .send()
        .unwrap();
    assert_eq!(r.status(), 201);
    let issued: Value = r.json().unwrap();
    assert_eq!(issued["emailed"], true);
    let p12 = base64::engine::general_purpose::STANDARD
        .decode(issued["pkcs12"].as_str().unwrap())
        .unwrap();
    let pw = issued["password"].as_str().unwrap();
    openssl_opens(dir.path(), &p12, pw);
    wait_for_mail(&mails, 2);
    let (rcpt, data) = mails.lock().unwrap()[1].clone();
    assert_eq!(rcpt, ["demo@example.test"]);
    assert!(!data.contains(pw));
    openssl_opens(dir.path(), &attachment(&data), pw);
    let api_serial = issued["serial"].as_str().unwrap();
    let sheet = api(
        reqwest::Method::GET,
        &format!("/api/v1/users/demo/certificates/{api_serial}/sheet"),
    )
    .send()
    .unwrap()
    .text()
    .unwrap();
    assert!(
        sheet.contains(pw),
        "the e-mailed certificate's sheet has the password"
    );

    // Without e-mail: PKCS#12 in the answer, nothing sent.
    let r = api(reqwest::Method::POST, "/api/v1/users/admin/certificates")
        .send()
        .unwrap();
    assert_eq!(r.status(), 201);
    let plain: Value = r.json().unwrap();
    assert_eq!(plain["emailed"], false);
    // A user without an address: e-mail refused with 422, nothing issued.
    server.cli_ok(&["user", "add", "nomail"]);
    let r = api(reqwest::Method::POST, "/api/v1/users/nomail/certificates")
        .json(&json!({"email": true}))
        .send()
        .unwrap();
    assert_eq!(r.status(), 422);
    let r = api(reqwest::Method::POST, "/api/v1/users/admin/certificates")
        .body("{\"emial\": true}")
        .header("content-type", "application/json")
        .send()
        .unwrap();
    assert_eq!(r.status(), 400);

    let list: Value = api(reqwest::Method::GET, "/api/v1/users/demo/certificates")
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(list.as_array().unwrap().len(), 2, "{list}");
    assert!(list
        .as_array()
        .unwrap()
        .iter()
        .all(|c| c["status"] == "active"));
    // Revoke: another user's serial is not found under demo; demo's is revoked once.
    let admin_serial = plain["serial"].as_str().unwrap();
    let r = api(
        reqwest::Method::DELETE,
        &format!("/api/v1/users/demo/certificates/{admin_serial}"),
    )
    .send()
    .unwrap();
    assert_eq!(r.status(), 404);
    let r = api(
        reqwest::Method::DELETE,
        &format!("/api/v1/users/demo/certificates/{serial}"),
    )
    .send()
    .unwrap();
    assert_eq!(r.status(), 204);
    let r = api(
        reqwest::Method::DELETE,
        &format!("/api/v1/users/demo/certificates/{serial}"),
    )
    .send()
    .unwrap();
    assert_eq!(r.status(), 404);
    let list: Value = api(reqwest::Method::GET, "/api/v1/users/demo/certificates")
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert!(list
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c["serial"] == serial.as_str() && c["status"] == "revoked"));
    // A read-only token cannot issue.
    let out = server.cli_ok(&["api-token", "create", "reader", "--scopes", "users:read"]);
    let reader = out
        .lines()
        .find_map(|l| l.strip_prefix("api-token: "))
        .unwrap_or_else(|| panic!("{out}"))
        .to_owned();
    let r = http
        .post(format!("{admin_url}/api/v1/users/demo/certificates"))
        .bearer_auth(&reader)
        .send()
        .unwrap();
    assert_eq!(r.status(), 403);
}

both_backends!(
    tls_listener_client_certificate,
    proxy_header_client_certificate,
    auto_issue_at_first_sign_in,
    auto_issued_certificate_opens_and_signs_in,
    email_sheet_and_admin_api
);
