//! Secrets at rest and in logs; key-encryption-key rotation.

mod common;

use common::{parse_pattern, pattern_csv, Backend, GridPage, TestServer};

both_backends!(
    no_secrets_at_rest_or_in_logs,
    kek_rotation_keeps_sign_in_working,
    kek_rotation_under_a_running_server
);

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && hay.windows(needle.len()).any(|w| w == needle)
}

/// `otp` occurs as a digit run of its own (not inside a longer number such as a timestamp).
fn contains_standalone_digits(hay: &[u8], otp: &str) -> bool {
    let n = otp.as_bytes();
    hay.windows(n.len()).enumerate().any(|(i, w)| {
        w == n
            && (i == 0 || !hay[i - 1].is_ascii_digit())
            && hay.get(i + n.len()).is_none_or(|b| !b.is_ascii_digit())
    })
}

/// The textual and binary forms a leaked pattern could take.
fn pattern_needles(p: &[u16]) -> Vec<(String, Vec<u8>)> {
    let csv = pattern_csv(p);
    let spaced = p
        .iter()
        .map(|c| c.to_string())
        .collect::<Vec<_>>()
        .join(", ");
    let head: Vec<String> = p.iter().take(3).map(|c| c.to_string()).collect();
    let mut v = vec![
        (format!("pattern CSV {csv:?}"), csv.clone().into_bytes()),
        (format!("pattern {spaced:?}"), spaced.clone().into_bytes()),
        (
            format!("JSON array start [{}", head.join(",")),
            format!("[{}", head.join(",")).into_bytes(),
        ),
        (
            format!("JSON array start [{}", head.join(", ")),
            format!("[{}", head.join(", ")).into_bytes(),
        ),
        (
            format!("hex of pattern CSV {csv:?}"),
            hex(csv.as_bytes()).into_bytes(),
        ),
    ];
    if p.iter().all(|c| *c < 256) {
        let raw: Vec<u8> = p.iter().map(|c| *c as u8).collect();
        v.push((format!("pattern as raw bytes {raw:?}"), raw.clone()));
        v.push((
            format!("hex of pattern bytes {}", hex(&raw)),
            hex(&raw).into_bytes(),
        ));
    }
    v
}

/// 10. After sign-ins and a pattern change, neither the store nor the log holds a pattern or OTP.
fn no_secrets_at_rest_or_in_logs(backend: Backend) {
    let mut server = TestServer::start(backend, &[]);
    let demo = server.pattern_of("demo");
    let mut patterns: Vec<Vec<u16>> = server.users().iter().map(|(_, p)| p.clone()).collect();
    let mut otps: Vec<String> = Vec::new();

    // demo: one wrong answer, then the right one.
    let b = server.browser();
    let g = b.start_login("demo");
    let wrong = g.wrong_answer(&demo);
    let r = b.submit_otp(&wrong);
    r.expect_status(401, "wrong answer");
    otps.push(wrong);
    let g = GridPage::parse(r);
    let right = g.answer(&demo);
    b.submit_otp(&right).expect_see_other("/", "right answer");
    otps.push(right);

    // A new user, first sign-in and a pattern change.
    let out = server.cli_ok(&["user", "add", "bob"]);
    let initial = out
        .lines()
        .find_map(|l| l.trim().strip_prefix("initial-pattern:"))
        .map(parse_pattern)
        .unwrap_or_else(|| panic!("no initial-pattern in:\n{out}"));
    patterns.push(initial.clone());
    let mut chosen = vec![44, 31, 18, 5, 6, 7, 20];
    if chosen == initial {
        chosen = vec![3, 16, 29, 42, 43, 30, 17];
    }
    patterns.push(chosen.clone());
    let bb = server.browser();
    let g = bb.start_login("bob");
    let otp = g.answer(&initial);
    bb.submit_otp(&otp)
        .expect_see_other("/pattern/setup", "bob's first sign-in");
    otps.push(otp);
    bb.get("/pattern/setup")
        .expect_status(200, "GET /pattern/setup");
    let csv = pattern_csv(&chosen);
    bb.post_form(
        "/pattern/setup",
        &[("pattern", &csv), ("pattern_confirm", &csv)],
    )
    .expect_see_other("/", "bob sets a pattern");

    // Stop the server so that all of its output has been collected; the store stays.
    server.stop();

    let at_rest: Vec<u8> = match backend {
        Backend::Sqlite => {
            assert!(
                server.data_dir().join("passlogic.db").is_file(),
                "no {}/passlogic.db",
                server.data_dir().display()
            );
            server.data_dir_bytes()
        }
        Backend::Postgres => {
            let mut all = server.pg().unwrap().dump().into_bytes();
            all.extend_from_slice(&server.data_dir_bytes());
            all
        }
    };
    assert!(
        at_rest.len() > 100,
        "store dump is suspiciously small ({} bytes)",
        at_rest.len()
    );

    let log = server.log();
    let log_checked: String = log
        .lines()
        .filter(|l| !l.starts_with("  pattern:"))
        .map(|l| format!("{l}\n"))
        .collect();

    // Sanity checks of the checks: the needles do match where the secrets are meant to be.
    let demo_csv = pattern_csv(&demo);
    assert!(
        log.contains(&format!("  pattern: {demo_csv}")),
        "the start-up printout should hold the demo pattern:\n{log}"
    );
    assert!(
        contains(&at_rest, b"bob"),
        "the store dump does not even hold the user name `bob`; is it the right store?"
    );

    let mut leaks = Vec::new();
    for p in &patterns {
        for (what, needle) in pattern_needles(p) {
            if contains(&at_rest, &needle) {
                leaks.push(format!("at rest: {what}"));
            }
            if contains(log_checked.as_bytes(), &needle) {
                leaks.push(format!("in the log: {what}"));
            }
        }
    }
    for otp in &otps {
        if contains_standalone_digits(&at_rest, otp) {
            leaks.push(format!("at rest: typed OTP {otp}"));
        }
        if contains_standalone_digits(log_checked.as_bytes(), otp) {
            leaks.push(format!("in the log: typed OTP {otp}"));
        }
    }
    assert!(
        leaks.is_empty(),
        "secrets leaked ({backend:?}):\n{}\n--- server log ---\n{log}",
        leaks.join("\n")
    );
}

/// 11. `keys rotate-kek` on a stopped server: new key file, every sealed pattern still opens.
fn kek_rotation_keeps_sign_in_working(backend: Backend) {
    let mut server = TestServer::start(backend, &[]);
    let demo = server.pattern_of("demo");
    let out = server.cli_ok(&["user", "add", "carol"]);
    let carol = out
        .lines()
        .find_map(|l| l.trim().strip_prefix("initial-pattern:"))
        .map(parse_pattern)
        .unwrap_or_else(|| panic!("no initial-pattern in:\n{out}"));

    let kek_path = server.data_dir().join("kek");
    let kek_before =
        std::fs::read(&kek_path).unwrap_or_else(|e| panic!("read {}: {e}", kek_path.display()));
    assert!(!kek_before.is_empty(), "{} is empty", kek_path.display());

    server.stop();
    server.cli_ok(&["keys", "rotate-kek", "--settle-secs", "0"]);
    let kek_after = std::fs::read(&kek_path)
        .unwrap_or_else(|e| panic!("read {} after rotation: {e}", kek_path.display()));
    assert!(
        !kek_after.is_empty(),
        "{} is empty after rotation",
        kek_path.display()
    );
    assert_ne!(
        kek_before,
        kek_after,
        "keys rotate-kek did not change {}",
        kek_path.display()
    );

    server.start_again();
    let b = server.browser();
    b.sign_in("demo", &demo, "/");
    assert_eq!(
        b.session_json().expect("session after rotation")["user"],
        "demo"
    );
    let b = server.browser();
    b.sign_in("carol", &carol, "/pattern/setup");

    // A second rotation while nothing runs, then once more: still fine.
    server.stop();
    server.cli_ok(&["keys", "rotate-kek", "--settle-secs", "0"]);
    server.start_again();
    server.browser().sign_in("demo", &demo, "/");
}

/// (12) `keys rotate-kek` while the server runs and keeps sealing new secrets: the server
/// takes up the new key without a restart, and every secret it sealed during the rotation
/// still opens after a restart, when only the new key is left.
fn kek_rotation_under_a_running_server(backend: Backend) {
    let mut server = TestServer::start(backend, &[]);
    let demo = server.pattern_of("demo");
    let token = server
        .log()
        .lines()
        .rev()
        .find_map(|l| {
            l.trim()
                .strip_prefix("admin-token:")
                .map(|v| v.trim().to_owned())
        })
        .expect("admin-token printed");
    let api = server.admin_base();
    let create = |name: &str| -> Vec<u16> {
        let r = reqwest::blocking::Client::new()
            .post(format!("{api}/api/v1/users"))
            .bearer_auth(&token)
            .json(&serde_json::json!({ "name": name }))
            .send()
            .expect("POST /api/v1/users");
        assert_eq!(r.status().as_u16(), 201, "create {name}");
        let v: serde_json::Value = r.json().expect("JSON");
        parse_pattern(v["initial_pattern"].as_str().expect("initial_pattern"))
    };
    // The server creates users (sealing their patterns) all through the rotation.
    let rotation = {
        let data_dir = server.data_dir().to_owned();
        let db = server.database_url().map(str::to_owned);
        std::thread::spawn(move || {
            let mut cmd = std::process::Command::new(common::SERVER_BIN);
            cmd.args(["keys", "rotate-kek", "--data-dir"])
                .arg(&data_dir);
            if let Some(url) = db {
                cmd.args(["--database-url", &url]);
            }
            cmd.output().expect("rotate-kek")
        })
    };
    let mut made = Vec::new();
    let mut i = 0;
    while !rotation.is_finished() {
        let name = format!("during{i}");
        made.push((name.clone(), create(&name)));
        i += 1;
        std::thread::sleep(std::time::Duration::from_millis(300));
    }
    let out = rotation.join().expect("rotation thread");
    assert!(
        out.status.success(),
        "rotate-kek: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        made.len() >= 10,
        "only {} users made during the rotation",
        made.len()
    );
    // Let the server take up the installed key, then it seals and opens under it, no restart.
    std::thread::sleep(std::time::Duration::from_secs(3));
    made.push(("after".to_owned(), create("after")));
    server.browser().sign_in("demo", &demo, "/");
    let out = server.cli_ok(&["user", "add", "cli-made"]);
    let cli_made = out
        .lines()
        .find_map(|l| l.trim().strip_prefix("initial-pattern:"))
        .map(parse_pattern)
        .expect("initial-pattern");
    server
        .browser()
        .sign_in("cli-made", &cli_made, "/pattern/setup");
    // After a restart only the new key exists: everything made during the rotation still opens.
    server.restart();
    server.browser().sign_in("demo", &demo, "/");
    for (name, pattern) in &made {
        server.browser().sign_in(name, pattern, "/pattern/setup");
    }
    assert!(
        !server.log().contains("cannot open a sealed secret"),
        "{}",
        server.log()
    );
}
