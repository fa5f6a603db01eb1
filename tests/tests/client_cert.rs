//! The private CA on the command line, checked by the `openssl` command line: a client
//! certificate issued as a password-protected PKCS#12 opens with `openssl pkcs12` (and not with
//! a wrong password), chains to the CA, and after `cert revoke` the CRL (which verifies with
//! `openssl crl -CAfile`) lists it and `openssl verify -crl_check` refuses it while another
//! user's certificate still passes. (The TLS listener that checks client certificates is a
//! later step.)

mod common;

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use common::{Backend, TestServer, SERVER_BIN};

fn cli_with_stdin(server: &TestServer, args: &[&str], input: &str) -> Output {
    let mut cmd = Command::new(SERVER_BIN);
    cmd.args(args).arg("--data-dir").arg(server.data_dir());
    if let Some(url) = server.database_url() {
        cmd.args(["--database-url", url]);
    }
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn cli");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

fn openssl(args: &[&str]) -> Output {
    Command::new("openssl").args(args).output().unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// Issues a certificate for `user`; returns (serial, PKCS#12 path, certificate PEM path).
fn issue(server: &TestServer, user: &str, password: &str) -> (String, String, String) {
    let dir = server.data_dir();
    let p12 = dir.join(format!("{user}.p12"));
    let p = p12.to_str().unwrap().to_owned();
    let o = cli_with_stdin(
        server,
        &["cert", "issue", user, "--out", &p, "--password-stdin"],
        &format!("{password}\n"),
    );
    assert!(o.status.success(), "{}", text(&o));
    let serial = String::from_utf8_lossy(&o.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("serial: ").map(str::to_owned))
        .expect("serial printed");
    // openssl pkcs12 opens it with the password: the certificate is the user's.
    let pem = dir.join(format!("{user}-cert.pem"));
    let pem_s = pem.to_str().unwrap().to_owned();
    let o = openssl(&[
        "pkcs12",
        "-in",
        &p,
        "-passin",
        &format!("pass:{password}"),
        "-clcerts",
        "-nokeys",
        "-out",
        &pem_s,
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let o = openssl(&["x509", "-in", &pem_s, "-noout", "-subject", "-serial"]);
    let t = text(&o).to_ascii_lowercase();
    assert!(
        t.contains(&format!("cn = {user}")) || t.contains(&format!("cn={user}")),
        "{t}"
    );
    assert!(t.contains(&format!("serial={serial}")), "{t}");
    // The private key is inside too.
    let o = openssl(&[
        "pkcs12",
        "-in",
        &p,
        "-passin",
        &format!("pass:{password}"),
        "-nocerts",
        "-nodes",
    ]);
    assert!(text(&o).contains("PRIVATE KEY"), "{}", text(&o));
    (serial, p, pem_s)
}

fn verify(ca: &Path, crl: Option<&Path>, cert: &str) -> Output {
    let ca = ca.to_str().unwrap();
    match crl {
        None => openssl(&["verify", "-purpose", "sslclient", "-CAfile", ca, cert]),
        Some(crl) => openssl(&[
            "verify",
            "-purpose",
            "sslclient",
            "-crl_check",
            "-CAfile",
            ca,
            "-CRLfile",
            crl.to_str().unwrap(),
            cert,
        ]),
    }
}

fn issue_revoke_crl(backend: Backend) {
    let server = TestServer::start(backend, &[]);
    let dir = server.data_dir().to_path_buf();
    let (demo_serial, demo_p12, demo_pem) = issue(&server, "demo", "correct horse 1");
    let (_, _, admin_pem) = issue(&server, "admin", "battery staple 2");

    // A wrong password does not open the bundle; a short one is refused at issue.
    let o = openssl(&[
        "pkcs12",
        "-in",
        &demo_p12,
        "-passin",
        "pass:wrong",
        "-nokeys",
    ]);
    assert!(!o.status.success(), "wrong password opened it");
    let short = dir.join("short.p12");
    let o = cli_with_stdin(
        &server,
        &[
            "cert",
            "issue",
            "demo",
            "--out",
            short.to_str().unwrap(),
            "--password-stdin",
        ],
        "short\n",
    );
    assert!(!o.status.success());
    assert!(!short.exists(), "nothing written for a refused password");
    // An existing file is never overwritten (and nothing is issued).
    let before = server.cli_ok(&["cert", "list", "demo"]).lines().count();
    let o = cli_with_stdin(
        &server,
        &[
            "cert",
            "issue",
            "demo",
            "--out",
            &demo_p12,
            "--password-stdin",
        ],
        "long enough 3\n",
    );
    assert!(!o.status.success());
    assert_eq!(
        server.cli_ok(&["cert", "list", "demo"]).lines().count(),
        before
    );

    // Both chain to the CA.
    let ca = dir.join("ca.pem");
    server.cli_ok(&["cert", "ca", "--out", ca.to_str().unwrap()]);
    assert!(verify(&ca, None, &demo_pem).status.success());
    assert!(verify(&ca, None, &admin_pem).status.success());

    // Revoke demo's; the CRL verifies against the CA and lists it.
    let out = server.cli_ok(&["cert", "revoke", &demo_serial]);
    assert!(out.contains(&format!("revoked: {demo_serial}")), "{out}");
    let again = server.cli(&["cert", "revoke", &demo_serial]);
    assert!(!again.status.success(), "revoking twice is an error");
    let list = server.cli_ok(&["cert", "list"]);
    assert!(list.contains(&format!("{demo_serial}\tdemo\t")), "{list}");
    assert!(list
        .lines()
        .any(|l| l.contains("\tdemo\t") && l.ends_with("revoked")));
    assert!(list
        .lines()
        .any(|l| l.contains("\tadmin\t") && l.ends_with("active")));

    let crl = dir.join("crl.pem");
    server.cli_ok(&["cert", "crl", "--out", crl.to_str().unwrap()]);
    let o = openssl(&[
        "crl",
        "-in",
        crl.to_str().unwrap(),
        "-CAfile",
        ca.to_str().unwrap(),
        "-noout",
        "-text",
    ]);
    let t = text(&o);
    assert!(o.status.success(), "{t}");
    assert!(t.contains("verify OK"), "{t}");
    assert!(t.to_ascii_lowercase().contains(&demo_serial), "{t}");

    // With the CRL: demo's certificate is refused, admin's passes.
    let o = verify(&ca, Some(&crl), &demo_pem);
    assert!(!o.status.success(), "revoked certificate accepted");
    assert!(text(&o).contains("revoked"), "{}", text(&o));
    let o = verify(&ca, Some(&crl), &admin_pem);
    assert!(o.status.success(), "{}", text(&o));

    // A CRL checked against another CA does not verify.
    let other_key = dir.join("other-ca.key");
    let other = dir.join("other-ca.pem");
    let o = openssl(&[
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
        "-keyout",
        other_key.to_str().unwrap(),
        "-out",
        other.to_str().unwrap(),
        "-subj",
        "/CN=other",
        "-days",
        "1",
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let o = openssl(&[
        "crl",
        "-in",
        crl.to_str().unwrap(),
        "-CAfile",
        other.to_str().unwrap(),
        "-noout",
    ]);
    assert!(!text(&o).contains("verify OK"), "{}", text(&o));

    // The CA key is sealed under the KEK: after `keys rotate-kek` it still signs.
    let out = server.cli_ok(&["keys", "rotate-kek"]);
    assert!(!out.is_empty());
    let crl2 = dir.join("crl2.pem");
    server.cli_ok(&["cert", "crl", "--out", crl2.to_str().unwrap()]);
    let o = openssl(&[
        "crl",
        "-in",
        crl2.to_str().unwrap(),
        "-CAfile",
        ca.to_str().unwrap(),
        "-noout",
    ]);
    assert!(text(&o).contains("verify OK"), "{}", text(&o));
}

both_backends!(issue_revoke_crl);
