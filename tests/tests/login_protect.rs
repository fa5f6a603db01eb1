//! Login protect: matrix + login protect with the reference authenticator. Pairing with a
//! one-time code (`user pair-authenticator`, `authenticator pair`), then the sign-in is refused
//! before an unlock and after the 60-second window (test clock), accepted inside it, and the
//! window closes after one sign-in. Unlock requests are checked by the server: a replayed
//! request, one signed with another key, and a forged one are refused; one signed by the
//! `openssl` command line (an independent signer) is accepted.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use base64::Engine;
use common::{Backend, Browser, TestServer};

fn server_now(server: &TestServer) -> i64 {
    let body = reqwest::blocking::Client::new()
        .post(server.url("/_test/clock"))
        .form(&[("advance_secs", "0")])
        .send()
        .unwrap()
        .text()
        .unwrap();
    body.trim()
        .strip_prefix("now: ")
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("clock answer: {body}"))
}

fn openssl(args: &[&str]) -> Vec<u8> {
    let o = Command::new("openssl").args(args).output().unwrap();
    assert!(
        o.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    o.stdout
}

/// Pairs `user`'s authenticator; returns the key file and the printed key ID.
fn pair(server: &TestServer, user: &str) -> (PathBuf, String) {
    let out = server.cli_ok(&["user", "pair-authenticator", user]);
    let code = out
        .lines()
        .find_map(|l| l.strip_prefix("pairing-code: "))
        .unwrap_or_else(|| panic!("no pairing code in:\n{out}"))
        .to_owned();
    assert!(out.contains("expires-in: 600"), "{out}");
    let key = server.data_dir().join(format!("{user}-authenticator.pem"));
    let k = key.to_str().unwrap();
    let out = server.cli_ok(&[
        "authenticator",
        "pair",
        "--server",
        server.base_url(),
        "--code",
        &code,
        "--key",
        k,
    ]);
    assert!(out.contains(&format!("paired: {user}")), "{out}");
    let key_id = out
        .lines()
        .find_map(|l| l.strip_prefix("key-id: "))
        .unwrap()
        .to_owned();
    // The code works once; the failed second pairing leaves no key file behind.
    let again = server.data_dir().join("again.pem");
    let o = server.cli(&[
        "authenticator",
        "pair",
        "--server",
        server.base_url(),
        "--code",
        &code,
        "--key",
        again.to_str().unwrap(),
    ]);
    assert!(!o.status.success(), "a pairing code is single-use");
    assert!(String::from_utf8_lossy(&o.stderr).contains("invalid_code"));
    assert!(!again.exists());
    // The key is a P-256 key OpenSSL reads; the key ID is the SHA-256 of the public key DER.
    let text = String::from_utf8(openssl(&["pkey", "-in", k, "-noout", "-text"])).unwrap();
    assert!(
        text.contains("prime256v1") || text.contains("P-256"),
        "{text}"
    );
    let der = openssl(&["pkey", "-in", k, "-pubout", "-outform", "DER"]);
    let digest = openssl_sha256(&server.data_dir().join("pub.der"), &der);
    assert_eq!(key_id, digest);
    (key, key_id)
}

fn openssl_sha256(tmp: &Path, data: &[u8]) -> String {
    std::fs::write(tmp, data).unwrap();
    let out =
        String::from_utf8(openssl(&["dgst", "-sha256", "-r", tmp.to_str().unwrap()])).unwrap();
    out.split_whitespace().next().unwrap().to_owned()
}

fn unlock(server: &TestServer, key: &Path, at: i64, save: Option<&Path>) -> std::process::Output {
    let at = at.to_string();
    let mut args = vec![
        "authenticator",
        "unlock",
        "--server",
        server.base_url(),
        "--key",
        key.to_str().unwrap(),
        "--at",
        &at,
    ];
    if let Some(s) = save {
        args.extend(["--save-request", s.to_str().unwrap()]);
    }
    server.cli(&args)
}

fn post_unlock(server: &TestServer, body: &str) -> (u16, serde_json::Value) {
    let r = reqwest::blocking::Client::new()
        .post(server.url("/authenticator/unlock"))
        .header("content-type", "application/json")
        .body(body.to_owned())
        .send()
        .unwrap();
    let st = r.status().as_u16();
    (st, r.json().unwrap_or(serde_json::Value::Null))
}

/// A request signed by the `openssl` command line with `key`, naming `key_id`.
fn openssl_request(dir: &Path, key: &Path, key_id: &str, ts: i64, nonce: &str) -> String {
    let msg = format!("passlogic-idp unlock v1\n{key_id}\n{ts}\n{nonce}\n");
    let m = dir.join("unlock-msg");
    std::fs::write(&m, msg).unwrap();
    let sig = openssl(&[
        "dgst",
        "-sha256",
        "-sign",
        key.to_str().unwrap(),
        m.to_str().unwrap(),
    ]);
    serde_json::json!({
        "key_id": key_id,
        "timestamp": ts,
        "nonce": nonce,
        "signature": base64::engine::general_purpose::STANDARD.encode(sig),
    })
    .to_string()
}

fn accepted(server: &TestServer, b: &Browser, pattern: &[u16]) {
    let r = b.sign_in("demo", pattern, "/login/login_protect");
    b.follow(&r)
        .expect_see_other("/", "login protect inside the window");
    let s = b.session_json().expect("a session");
    assert_eq!(s["user"], "demo");
    let amr: Vec<&str> = s["amr"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|v| v.as_str())
        .collect();
    assert!(amr.contains(&"unlock") && amr.contains(&"matrix"), "{s}");
    b.post_form("/logout", &[]);
    let _ = server;
}

fn refused(b: &Browser, pattern: &[u16], what: &str) {
    let r = b.sign_in("demo", pattern, "/login/login_protect");
    let p = b.follow(&r);
    p.expect_status(403, what);
    assert_eq!(
        p.count("[data-error=\"login-protect-locked\"]"),
        1,
        "{what}: {}",
        p.describe()
    );
    assert!(b.session_json().is_none(), "{what}: no session");
}

fn matrix_and_login_protect(backend: Backend) {
    let server = TestServer::start(backend, &[]);
    server.cli_ok(&[
        "policy",
        "put",
        "protected",
        "--combinations",
        "matrix+login_protect",
    ]);
    server.cli_ok(&["group", "add", "protected", "--policy", "protected"]);
    server.cli_ok(&["group", "add-user", "protected", "demo"]);
    let demo = server.pattern_of("demo");
    let (key, key_id) = pair(&server, "demo");
    let b = server.browser();
    let dir = server.data_dir().to_path_buf();

    // Before any unlock: correct matrix answer, still refused; no lockout count.
    refused(&b, &demo, "before unlock");
    assert_eq!(server.user_show("demo")["failed_attempts"], 0);

    // Unlock (CLI), then sign in inside the window: accepted; the window is used up.
    let now = server_now(&server);
    let saved = dir.join("unlock.json");
    let o = unlock(&server, &key, now, Some(&saved));
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let out = String::from_utf8_lossy(&o.stdout);
    let until: i64 = out
        .lines()
        .find_map(|l| l.strip_prefix("unlocked-until: "))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("{out}"));
    assert!((now + 60..=now + 62).contains(&until), "{out}");
    accepted(&server, &b, &demo);
    refused(&b, &demo, "window closed by the sign-in");

    // The same request again: refused as a replay, nothing opened.
    let (st, v) = post_unlock(&server, &std::fs::read_to_string(&saved).unwrap());
    assert_eq!(st, 409, "{v}");
    assert_eq!(v["error"], "replayed");
    refused(&b, &demo, "after a replayed unlock");

    // Unlocked, but 61 seconds later the window is closed.
    let now = server_now(&server);
    assert!(unlock(&server, &key, now, None).status.success());
    server.advance_clock(61);
    refused(&b, &demo, "after 60 s");

    // Another key (made by openssl, never paired) is refused, as is a request naming demo's
    // key ID but signed with the other key.
    let other = dir.join("other.pem");
    openssl(&[
        "genpkey",
        "-algorithm",
        "EC",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-out",
        other.to_str().unwrap(),
    ]);
    let now = server_now(&server);
    let o = unlock(&server, &other, now, None);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("invalid_signature"));
    let forged = openssl_request(&dir, &other, &key_id, now, "forged-nonce-000001");
    let (st, v) = post_unlock(&server, &forged);
    assert_eq!(st, 401, "{v}");
    // Stale (older than 2 minutes) and malformed requests: refused in the protocol's terms.
    let stale = openssl_request(&dir, &key, &key_id, now - 121, "stale-nonce-0000001");
    let (st, v) = post_unlock(&server, &stale);
    assert_eq!(
        (st, v["error"].as_str()),
        (400, Some("invalid_request")),
        "{v}"
    );
    let (st, v) = post_unlock(&server, "{\"key_id\": 1}");
    assert_eq!(
        (st, v["error"].as_str()),
        (400, Some("invalid_request")),
        "{v}"
    );
    refused(&b, &demo, "after refused unlocks");

    // An unlock signed by the openssl command line with the paired key opens the window.
    let good = openssl_request(&dir, &key, &key_id, now, "openssl-nonce-000001");
    let (st, v) = post_unlock(&server, &good);
    assert_eq!(st, 200, "{v}");
    // The window runs from the server's clock at the unlock (a second may have passed).
    let until = v["unlocked_until"].as_i64().unwrap();
    assert!((now + 60..=now + 62).contains(&until), "{v}");
    accepted(&server, &b, &demo);

    // The window's length is the policy's; out-of-range values are refused at `policy put`.
    let file = dir.join("protected.json");
    let put = |window: i64| {
        std::fs::write(
            &file,
            format!(
                r#"{{"combinations": [["matrix", "login_protect"]],
                    "login_protect_window_secs": {window}}}"#
            ),
        )
        .unwrap();
        server.cli(&[
            "policy",
            "put",
            "protected",
            "--file",
            file.to_str().unwrap(),
        ])
    };
    assert!(!put(0).status.success(), "a zero window is refused");
    assert!(put(300).status.success());
    let now = server_now(&server);
    let o = unlock(&server, &key, now, None);
    let out = String::from_utf8_lossy(&o.stdout);
    // From the server's clock at the unlock: a second may have passed since `now`.
    let until: i64 = out
        .lines()
        .find_map(|l| l.strip_prefix("unlocked-until: "))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("{out}"));
    assert!((now + 300..=now + 302).contains(&until), "{out}");
    server.advance_clock(200);
    accepted(&server, &b, &demo);

    // A user outside the group is not asked (matrix alone).
    server
        .browser()
        .sign_in("admin", &server.pattern_of("admin"), "/");
}

both_backends!(matrix_and_login_protect);
