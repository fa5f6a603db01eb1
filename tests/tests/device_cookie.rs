//! The device-cookie step (registered browsers): matrix + device cookie registers a browser at
//! sign-in, recognises it later, refuses the sixth browser, frees a slot when a device is
//! removed (CLI, portal page, admin API), never accepts another user's device cookie, and holds
//! the limit under parallel registrations.

mod common;

use common::{Backend, Browser, Page, TestServer};

fn device_policy(server: &TestServer, users: &[&str]) {
    server.cli_ok(&[
        "policy",
        "put",
        "devices",
        "--combinations",
        "matrix+device_cookie",
    ]);
    server.cli_ok(&["group", "add", "devices", "--policy", "devices"]);
    for u in users {
        server.cli_ok(&["group", "add-user", "devices", u]);
    }
}

fn device_ids(server: &TestServer, user: &str) -> Vec<String> {
    server
        .cli_ok(&["device", "list", user])
        .lines()
        .filter_map(|l| l.split('\t').next().map(str::to_owned))
        .filter(|s| !s.is_empty())
        .collect()
}

fn device_cookie_set(p: &Page) -> Option<String> {
    p.set_cookies()
        .into_iter()
        .find(|c| c.starts_with("pl_device=") && !c.starts_with("pl_device=;"))
}

/// Matrix, then the device step; returns the device step's answer.
fn matrix_then_device(b: &Browser, user: &str, pattern: &[u16]) -> Page {
    let r = b.sign_in(user, pattern, "/login/device_cookie");
    b.follow(&r)
}

fn signed_in(b: &Browser, user: &str, pattern: &[u16]) -> Page {
    let p = matrix_then_device(b, user, pattern);
    p.expect_see_other("/", &format!("device step for {user}"));
    let s = b.session_json().expect("a session after the device step");
    assert_eq!(s["user"], user, "{s}");
    p
}

fn refused(b: &Browser, user: &str, pattern: &[u16], code: &str) {
    let p = matrix_then_device(b, user, pattern);
    p.expect_status(403, "device step past the limit");
    assert_eq!(
        p.count(&format!("[data-error=\"{code}\"]")),
        1,
        "{}",
        p.describe()
    );
    assert!(
        device_cookie_set(&p).is_none(),
        "no device cookie on refusal"
    );
    assert!(b.session_json().is_none(), "no session on refusal");
}

fn limit_registration_and_removal(backend: Backend) {
    let server = TestServer::start(backend, &[]);
    device_policy(&server, &["demo", "admin"]);
    let demo = server.pattern_of("demo");

    // First browser: registered at sign-in, cookie long-lived and HttpOnly.
    let b0 = server.browser();
    let p = signed_in(&b0, "demo", &demo);
    let cookie = device_cookie_set(&p).expect("pl_device set at registration");
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    assert!(cookie.contains("Max-Age=34560000"), "{cookie}");
    assert_eq!(device_ids(&server, "demo").len(), 1);

    // The same browser again: recognised, nothing new registered, no new cookie.
    let b0_again = matrix_then_device(&b0, "demo", &demo);
    b0_again.expect_see_other("/", "registered browser");
    assert!(device_cookie_set(&b0_again).is_none());
    assert_eq!(device_ids(&server, "demo").len(), 1);

    // Four more browsers fill the default limit of 5; the sixth is refused.
    // ids[i]: the device of browser i (b0, then the others), found by what each sign-in added.
    let mut ids = device_ids(&server, "demo");
    let others: Vec<Browser> = (0..4).map(|_| server.browser()).collect();
    for b in &others {
        signed_in(b, "demo", &demo);
        let now = device_ids(&server, "demo");
        let added: Vec<String> = now.into_iter().filter(|i| !ids.contains(i)).collect();
        assert_eq!(added.len(), 1, "one device per new browser");
        ids.extend(added);
    }
    assert_eq!(ids.len(), 5);
    let sixth = server.browser();
    refused(&sixth, "demo", &demo, "device-limit-reached");
    assert_eq!(device_ids(&server, "demo").len(), 5, "nothing registered");
    // A refused device step does not count toward the lockout.
    assert_eq!(server.user_show("demo")["failed_attempts"], 0);

    // Removing one (CLI) frees a slot for the sixth browser; the removed one is unknown now.
    server.cli_ok(&["device", "remove", "demo", &ids[1]]);
    signed_in(&sixth, "demo", &demo);
    assert_eq!(device_ids(&server, "demo").len(), 5);
    others[0].post_form("/logout", &[]);
    refused(&others[0], "demo", &demo, "device-limit-reached");

    // The portal page lists this browser's devices and removes one of them.
    let page = b0.get("/account/devices");
    page.expect_status(200, "devices page");
    assert_eq!(page.count("[data-device]"), 5, "{}", page.describe());
    let victim = ids[2].clone();
    let r = b0.post_form("/account/devices/remove", &[("id", victim.as_str())]);
    r.expect_status(200, "remove own device");
    assert_eq!(r.count("[data-status=\"device-removed\"]"), 1);
    assert_eq!(r.count("[data-device]"), 4);
    assert!(!device_ids(&server, "demo").contains(&victim));
    // Without the CSRF token nothing is removed.
    let keep = device_ids(&server, "demo")[0].clone();
    let r = b0.post_form_raw("/account/devices/remove", &[("id", keep.as_str())]);
    r.expect_status(403, "no csrf");
    assert!(device_ids(&server, "demo").contains(&keep));

    // Another user's device cookie is not theirs: admin signing in on demo's first browser
    // registers a device of its own (and gets its own cookie).
    b0.post_form("/logout", &[]);
    let admin = server.pattern_of("admin");
    let p = signed_in(&b0, "admin", &admin);
    assert!(device_cookie_set(&p).is_some(), "admin's own device cookie");
    assert_eq!(device_ids(&server, "admin").len(), 1);
    assert_eq!(device_ids(&server, "demo").len(), 4);
    // ... and demo's page does not let admin remove demo's devices.
    let r = b0.post_form("/account/devices/remove", &[("id", keep.as_str())]);
    r.expect_status(200, "remove someone else's device");
    assert_eq!(r.count("[data-status=\"device-removed\"]"), 0);
    assert!(device_ids(&server, "demo").contains(&keep));

    // The admin API lists and removes devices too.
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
    let list: serde_json::Value = http
        .get(format!("{api}/api/v1/users/demo/devices"))
        .bearer_auth(&token)
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(list.as_array().unwrap().len(), 4, "{list}");
    let r = http
        .delete(format!("{api}/api/v1/users/demo/devices/{keep}"))
        .bearer_auth(&token)
        .send()
        .unwrap();
    assert_eq!(r.status(), 204);
    assert_eq!(device_ids(&server, "demo").len(), 3);

    // Registration and removal are audited; the cookie token is stored only hashed.
    let events: serde_json::Value = http
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
    assert_eq!(count("device.registered"), 7, "5 + the sixth + admin's");
    assert_eq!(count("device.removed"), 3, "CLI, portal, API");
    let device_token = cookie
        .trim_start_matches("pl_device=")
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    match server.pg() {
        Some(pg) => assert!(!pg.dump().contains(&device_token)),
        None => {
            let bytes = server.data_dir_bytes();
            let t = device_token.as_bytes();
            assert!(!bytes.windows(t.len()).any(|w| w == t));
        }
    }
}

/// Ten browsers at the device step at once for a user without devices: exactly five are
/// registered, the other five are refused.
fn parallel_registrations_hold_the_limit(backend: Backend) {
    let server = TestServer::start(backend, &[]);
    device_policy(&server, &["demo"]);
    let demo = server.pattern_of("demo");
    let browsers: Vec<Browser> = (0..10).map(|_| server.browser()).collect();
    for b in &browsers {
        b.sign_in("demo", &demo, "/login/device_cookie");
    }
    let results: Vec<u16> = std::thread::scope(|s| {
        let handles: Vec<_> = browsers
            .iter()
            .map(|b| s.spawn(move || b.get("/login/device_cookie").status.as_u16()))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(
        results.iter().filter(|s| **s == 303).count(),
        5,
        "{results:?}"
    );
    assert_eq!(
        results.iter().filter(|s| **s == 403).count(),
        5,
        "{results:?}"
    );
    assert_eq!(device_ids(&server, "demo").len(), 5);
}

/// With registration off, only registered browsers pass; a user outside the group is not asked.
fn registration_off(backend: Backend) {
    let server = TestServer::start(backend, &[]);
    device_policy(&server, &["demo"]);
    let demo = server.pattern_of("demo");
    let b = server.browser();
    signed_in(&b, "demo", &demo);
    let policy = server.data_dir().join("devices-closed.json");
    std::fs::write(
        &policy,
        r#"{"combinations": [["matrix", "device_cookie"]], "device_registration": false}"#,
    )
    .unwrap();
    server.cli_ok(&[
        "policy",
        "put",
        "devices",
        "--file",
        policy.to_str().unwrap(),
    ]);
    b.post_form("/logout", &[]);
    signed_in(&b, "demo", &demo);
    refused(&server.browser(), "demo", &demo, "device-not-registered");
    // admin is not in the group: matrix alone.
    server
        .browser()
        .sign_in("admin", &server.pattern_of("admin"), "/");
}

both_backends!(
    limit_registration_and_removal,
    parallel_registrations_hold_the_limit,
    registration_off
);
