//! A new user's first sign-in: initial pattern from `user add`, forced pattern change.

mod common;

use common::{parse_pattern, pattern_csv, Backend, TestServer};

both_backends!(
    first_signin_forces_pattern_change,
    reset_pattern_forces_change_again,
    user_list_json
);

struct Added {
    initial: Vec<u16>,
}

/// `user add NAME` output: `user: NAME`, `initial-pattern: N,N,...`, `notice:` and indented lines.
fn add_user(server: &TestServer, name: &str) -> Added {
    let out = server.cli_ok(&["user", "add", name]);
    let lines: Vec<&str> = out.lines().collect();
    assert!(
        lines.iter().any(|l| l.trim() == format!("user: {name}")),
        "`user add {name}` output lacks `user: {name}`:\n{out}"
    );
    let initial = lines
        .iter()
        .find_map(|l| l.trim().strip_prefix("initial-pattern:"))
        .map(parse_pattern)
        .unwrap_or_else(|| panic!("`user add {name}` output lacks `initial-pattern:`:\n{out}"));
    assert!(
        (6..=12).contains(&initial.len()),
        "initial pattern length {} outside 6..=12:\n{out}",
        initial.len()
    );
    assert!(
        initial.iter().all(|c| *c < 48),
        "initial pattern has a cell outside the 4x12 grid:\n{out}"
    );
    let at = lines
        .iter()
        .position(|l| l.trim_end() == "notice:")
        .unwrap_or_else(|| panic!("`user add {name}` output lacks a `notice:` line:\n{out}"));
    let notice: Vec<&str> = lines[at + 1..]
        .iter()
        .take_while(|l| l.starts_with(' ') && !l.trim().is_empty())
        .copied()
        .collect();
    assert!(!notice.is_empty(), "`notice:` block is empty:\n{out}");
    assert!(
        notice.iter().any(|l| l.contains('*'))
            && notice.iter().any(|l| l.chars().any(|c| c.is_ascii_digit())),
        "notice block should look like `*1** **** ****` (stars and digits):\n{out}"
    );
    Added { initial }
}

/// 7. `user add` -> sign in with the initial pattern -> /pattern/setup -> new pattern -> session.
fn first_signin_forces_pattern_change(backend: Backend) {
    let server = TestServer::start(backend, &[]);
    let alice = add_user(&server, "alice");
    let u = server.user_show("alice");
    assert_eq!(
        u["must_change_pattern"], true,
        "new user must change the pattern: {u}"
    );
    assert_eq!(u["name"], "alice", "{u}");

    let mut new_pattern: Vec<u16> = vec![0, 13, 26, 39, 40, 41];
    if new_pattern == alice.initial {
        new_pattern = vec![47, 34, 21, 8, 7, 6];
    }

    let b = server.browser();
    let grid = b.start_login("alice");
    let r = b.submit_otp(&grid.answer(&alice.initial));
    r.expect_see_other("/pattern/setup", "first sign-in with the initial pattern");
    assert!(
        b.session_json().is_none(),
        "/session must stay 401 until the new pattern is set"
    );
    // A protected page is not reachable yet either.
    let home = b.get("/");
    assert_ne!(
        home.status.as_u16(),
        200,
        "GET / before the pattern is set: {}",
        home.describe()
    );

    let setup = b.get("/pattern/setup");
    setup.expect_status(200, "GET /pattern/setup");
    assert_eq!(
        setup.count("button[data-cell]"),
        48,
        "pattern picker needs 48 button[data-cell]: {}",
        setup.describe()
    );
    assert!(b.csrf().is_some());

    let short = b.post_form(
        "/pattern/setup",
        &[("pattern", "0,1,2"), ("pattern_confirm", "0,1,2")],
    );
    short.expect_status(400, "a 3-cell pattern");
    let mismatch = b.post_form(
        "/pattern/setup",
        &[
            ("pattern", &pattern_csv(&new_pattern)),
            ("pattern_confirm", "0,13,26,39,40,42"),
        ],
    );
    mismatch.expect_status(400, "pattern_confirm differs from pattern");
    assert!(
        b.session_json().is_none(),
        "no session after refused pattern set-ups"
    );

    let csv = pattern_csv(&new_pattern);
    let r = b.post_form(
        "/pattern/setup",
        &[("pattern", &csv), ("pattern_confirm", &csv)],
    );
    r.expect_see_other("/", "valid new pattern");
    let s = b.session_json().expect("/session after the pattern is set");
    assert_eq!(s["user"], "alice", "{s}");
    assert!(
        s["amr"]
            .as_array()
            .is_some_and(|a| a.iter().any(|v| v == "matrix")),
        "amr: {s}"
    );

    let home = b.get("/");
    home.expect_status(200, "GET / signed in");
    assert!(
        b.csrf().is_some(),
        "the / page needs a csrf field for sign-out: {}",
        home.describe()
    );
    let out = b.post_form("/logout", &[]);
    out.expect_see_other("/login", "POST /logout");
    assert!(b.session_json().is_none(), "/session after sign-out");

    let u = server.user_show("alice");
    assert_eq!(
        u["must_change_pattern"], false,
        "after the pattern change: {u}"
    );

    // The initial pattern no longer works...
    let b2 = server.browser();
    let g = b2.start_login("alice");
    if g.answer(&alice.initial) != g.answer(&new_pattern) {
        b2.submit_otp(&g.answer(&alice.initial))
            .expect_status(401, "the initial pattern after the change");
    }
    // ...the new one does, straight to `/`.
    let b3 = server.browser();
    b3.sign_in("alice", &new_pattern, "/");
    assert_eq!(b3.session_json().expect("session")["user"], "alice");
    // And the logged-out browser signs in again too.
    b.sign_in("alice", &new_pattern, "/");
}

/// `user reset-pattern NAME`: new initial pattern and notice; the old pattern stops working.
fn reset_pattern_forces_change_again(backend: Backend) {
    let server = TestServer::start(backend, &[]);
    let old = server.pattern_of("demo");
    let out = server.cli_ok(&["user", "reset-pattern", "demo"]);
    let initial = out
        .lines()
        .find_map(|l| l.trim().strip_prefix("initial-pattern:"))
        .map(parse_pattern)
        .unwrap_or_else(|| {
            panic!("`user reset-pattern demo` prints no `initial-pattern:`:\n{out}")
        });
    assert!(
        out.lines().any(|l| l.trim_end() == "notice:"),
        "`user reset-pattern demo` prints no `notice:`:\n{out}"
    );
    assert_eq!(server.user_show("demo")["must_change_pattern"], true);

    let b = server.browser();
    let g = b.start_login("demo");
    if g.answer(&old) != g.answer(&initial) {
        b.submit_otp(&g.answer(&old))
            .expect_status(401, "the old pattern after reset-pattern");
    }
    let b = server.browser();
    b.sign_in("demo", &initial, "/pattern/setup");
    assert!(
        b.session_json().is_none(),
        "no session before the new pattern is set"
    );
}

/// `user list --json`: one JSON object per line.
fn user_list_json(backend: Backend) {
    let server = TestServer::start(backend, &[]);
    add_user(&server, "dave");
    let out = server.cli_ok(&["user", "list", "--json"]);
    let names: Vec<String> = out
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l)
                .unwrap_or_else(|e| panic!("`user list --json` line is not JSON ({e}): {l}"));
            assert!(
                v.is_object(),
                "`user list --json` line is not an object: {l}"
            );
            v["name"]
                .as_str()
                .unwrap_or_else(|| panic!("no name in {l}"))
                .to_string()
        })
        .collect();
    for n in ["demo", "dave"] {
        assert!(
            names.iter().any(|x| x == n),
            "`user list --json` lacks {n}:\n{out}"
        );
    }
    let plain = server.cli_ok(&["user", "list"]);
    assert!(
        plain.lines().any(|l| l.contains("dave")),
        "`user list` lacks dave:\n{plain}"
    );
}
