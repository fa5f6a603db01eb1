//! Matrix (grid) one-time password sign-in, end to end (docs/testability.md).

mod common;

use std::sync::{Arc, Barrier};

use common::{now_unix, Backend, Browser, GridPage, TestServer};

const LOCKOUT_LIMIT: u64 = 5;

fn user_field<'a>(v: &'a serde_json::Value, field: &str) -> &'a serde_json::Value {
    v.get(field)
        .unwrap_or_else(|| panic!("`user show` has no `{field}`: {v}"))
}

both_backends!(
    demo_user_signs_in,
    wrong_answer_fails,
    concurrent_replay_succeeds_once,
    replayed_answer_refused,
    old_grid_dead_after_failure,
    expired_grid_refused,
    lockout_after_five_wrong_answers,
    parallel_wrong_answers_lock_exactly_at_limit,
    unknown_user_looks_like_real_user,
    csrf_required,
    disabled_user_refused,
);

/// 1. The demo user answers the grid and gets a session.
fn demo_user_signs_in(backend: Backend) {
    let server = TestServer::start(backend, &[]);
    let pattern = server.pattern_of("demo");
    let b = server.browser();
    let grid = b.start_login("demo");
    grid.assert_full_grid();
    assert!(
        b.session_json().is_none(),
        "/session must be 401 before the grid is answered"
    );

    let r = b.submit_otp(&grid.answer(&pattern));
    r.expect_see_other("/", "right answer");

    let s = b
        .session_json()
        .expect("/session after sign-in must be 200");
    assert_eq!(s["user"], "demo", "/session: {s}");
    let amr = s["amr"]
        .as_array()
        .unwrap_or_else(|| panic!("/session amr is not an array: {s}"));
    assert!(
        amr.iter().any(|v| v == "matrix"),
        "/session amr lacks \"matrix\": {s}"
    );
    let auth_time = s["auth_time"]
        .as_i64()
        .unwrap_or_else(|| panic!("/session auth_time is not an integer: {s}"));
    assert!(
        (auth_time - now_unix()).abs() <= 60,
        "auth_time {auth_time} not within 60 s of now {}",
        now_unix()
    );

    let home = b.get("/");
    home.expect_status(200, "GET / with a session");
}

/// 2. A wrong answer: 401, a fresh grid on the same page, no session; that new grid is answerable.
fn wrong_answer_fails(backend: Backend) {
    let server = TestServer::start(backend, &[]);
    let pattern = server.pattern_of("demo");
    let b = server.browser();
    let grid = b.start_login("demo");
    let r = b.submit_otp(&grid.wrong_answer(&pattern));
    r.expect_status(401, "wrong answer");
    let fresh = GridPage::parse(r);
    fresh.assert_full_grid();
    assert_ne!(
        fresh.digits, grid.digits,
        "the 401 page must show a new grid, not the old one"
    );
    assert!(
        b.session_json().is_none(),
        "/session after a wrong answer must be 401"
    );

    // The grid shown with the 401 belongs to the attempt: its right answer signs in.
    let r = b.submit_otp(&fresh.answer(&pattern));
    r.expect_see_other("/", "right answer to the grid shown after a failure");
    assert_eq!(b.session_json().expect("session")["user"], "demo");
}

/// 3a. The same right answer posted twice at once: exactly one succeeds.
fn concurrent_replay_succeeds_once(backend: Backend) {
    let server = TestServer::start(backend, &[]);
    let pattern = server.pattern_of("demo");
    let b = server.browser();
    let grid = b.start_login("demo");
    let otp = grid.answer(&pattern);

    let barrier = Arc::new(Barrier::new(2));
    let handles: Vec<_> = (0..2)
        .map(|_| {
            let b: Browser = b.clone(); // shares the cookie jar
            let barrier = barrier.clone();
            let otp = otp.clone();
            std::thread::spawn(move || {
                barrier.wait();
                b.submit_otp(&otp)
            })
        })
        .collect();
    let pages: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    let ok = pages.iter().filter(|p| p.status.as_u16() == 303).count();
    let refused = pages.iter().filter(|p| p.status.as_u16() == 401).count();
    assert_eq!(
        (ok, refused),
        (1, 1),
        "same grid answered twice at once: want one 303 and one 401, got:\n{}\n----\n{}",
        pages[0].describe(),
        pages[1].describe()
    );
    let winner = pages.iter().find(|p| p.status.as_u16() == 303).unwrap();
    winner.expect_see_other("/", "the successful one of the two answers");

    // After the success the browser has no attempt any more: posting again signs nothing in.
    let again = b.submit_otp(&otp);
    assert!(
        !(again.status.as_u16() == 303 && again.location_path().as_deref() == Some("/")),
        "a used grid must not sign in again: {}",
        again.describe()
    );
}

/// 3c. Replaying the captured attempt cookies with the right answer after the success: 401.
fn replayed_answer_refused(backend: Backend) {
    let server = TestServer::start(backend, &[]);
    let pattern = server.pattern_of("demo");
    let b = server.browser();
    let grid = b.start_login("demo");
    let otp = grid.answer(&pattern);
    let captured = b.cookie_snapshot();
    assert!(
        captured.iter().any(|(k, _)| k == "pl_attempt"),
        "no pl_attempt cookie after GET /login/matrix: {captured:?}"
    );
    let csrf = b.csrf().unwrap();
    b.submit_otp(&otp).expect_see_other("/", "right answer");

    let r = b.post_form_with_cookies(
        "/login/matrix",
        &[("otp", &otp), ("csrf", &csrf)],
        &captured,
    );
    r.expect_status(
        401,
        "the same answer replayed with the captured attempt cookies (reused grid)",
    );
    assert!(
        !r.set_cookies()
            .iter()
            .any(|c| c.starts_with("pl_session=") && !c.starts_with("pl_session=;")),
        "a replay must not get a session cookie: {:?}",
        r.set_cookies()
    );
}

/// 3b. After a failed answer the old grid is gone: its right answer no longer works.
fn old_grid_dead_after_failure(backend: Backend) {
    let server = TestServer::start(backend, &[]);
    let pattern = server.pattern_of("demo");
    let b = server.browser();
    let grid = b.start_login("demo");
    let old_right = grid.answer(&pattern);
    let r = b.submit_otp(&grid.wrong_answer(&pattern));
    r.expect_status(401, "wrong answer");
    let fresh = GridPage::parse(r);
    if fresh.answer(&pattern) == old_right {
        // 1 in a million: the new grid happens to give the same answer; nothing to test then.
        return;
    }
    let r = b.submit_otp(&old_right);
    r.expect_status(
        401,
        "right answer for the grid that was replaced after a failure",
    );
    assert!(b.session_json().is_none());

    // Each GET /login/matrix shows a fresh grid.
    let g1 = b.fetch_grid();
    let g2 = b.fetch_grid();
    assert_ne!(
        g1.digits, g2.digits,
        "each GET /login/matrix must show a fresh grid"
    );
}

/// 4. A grid older than 5 minutes is refused.
fn expired_grid_refused(backend: Backend) {
    let server = TestServer::start(backend, &[]);
    let pattern = server.pattern_of("demo");
    let b = server.browser();
    let grid = b.start_login("demo");
    server.advance_clock(301);
    let r = b.submit_otp(&grid.answer(&pattern));
    r.expect_status(401, "right answer 301 s after the grid was shown");
    assert!(
        b.session_json().is_none(),
        "/session after an expired grid must be 401"
    );

    // A new sign-in at the new time works (the clock move broke nothing else).
    let b2 = server.browser();
    b2.sign_in("demo", &pattern, "/");
}

/// 5. Five wrong answers lock the user; `user unlock` lets them in again.
fn lockout_after_five_wrong_answers(backend: Backend) {
    let server = TestServer::start(backend, &[]);
    let pattern = server.pattern_of("demo");
    let b = server.browser();
    let mut grid = b.start_login("demo");
    for i in 1..=LOCKOUT_LIMIT {
        let r = b.submit_otp(&grid.wrong_answer(&pattern));
        r.expect_status(401, &format!("wrong answer #{i}"));
        grid = GridPage::parse(r);
    }
    let r = b.submit_otp(&grid.answer(&pattern));
    r.expect_status(401, "right answer after 5 wrong ones (locked)");
    assert!(b.session_json().is_none());

    // A brand-new attempt is refused too.
    let b2 = server.browser();
    let g = b2.start_login("demo");
    b2.submit_otp(&g.answer(&pattern))
        .expect_status(401, "right answer in a new attempt while locked");

    let u = server.user_show("demo");
    assert_eq!(user_field(&u, "locked"), true, "user show demo: {u}");
    assert_eq!(
        user_field(&u, "failed_attempts").as_u64(),
        Some(LOCKOUT_LIMIT),
        "user show demo: {u}"
    );

    server.cli_ok(&["user", "unlock", "demo"]);
    let u = server.user_show("demo");
    assert_eq!(user_field(&u, "locked"), false, "after unlock: {u}");
    assert_eq!(
        user_field(&u, "failed_attempts").as_u64(),
        Some(0),
        "after unlock: {u}"
    );

    let b3 = server.browser();
    b3.sign_in("demo", &pattern, "/");
    assert_eq!(
        b3.session_json().expect("session after unlock")["user"],
        "demo"
    );
}

/// 6. Twenty wrong answers at once: the counter stops at the limit, the user is locked.
fn parallel_wrong_answers_lock_exactly_at_limit(backend: Backend) {
    const N: usize = 20;
    let server = TestServer::start(backend, &[]);
    let pattern = server.pattern_of("demo");
    let browsers: Vec<(Browser, GridPage)> = (0..N)
        .map(|_| {
            let b = server.browser();
            let g = b.start_login("demo");
            (b, g)
        })
        .collect();
    let barrier = Arc::new(Barrier::new(N));
    let handles: Vec<_> = browsers
        .into_iter()
        .map(|(b, g)| {
            let barrier = barrier.clone();
            let wrong = g.wrong_answer(&pattern);
            std::thread::spawn(move || {
                barrier.wait();
                b.submit_otp(&wrong)
            })
        })
        .collect();
    for h in handles {
        let p = h.join().unwrap();
        p.expect_status(401, "one of 20 parallel wrong answers");
    }

    let u = server.user_show("demo");
    assert_eq!(
        user_field(&u, "failed_attempts").as_u64(),
        Some(LOCKOUT_LIMIT),
        "after 20 parallel wrong answers: {u}"
    );
    assert_eq!(
        user_field(&u, "locked"),
        true,
        "after 20 parallel wrong answers: {u}"
    );

    let b = server.browser();
    let g = b.start_login("demo");
    b.submit_otp(&g.answer(&pattern))
        .expect_status(401, "right answer while locked");
    let u = server.user_show("demo");
    assert_eq!(
        user_field(&u, "failed_attempts").as_u64(),
        Some(LOCKOUT_LIMIT),
        "after a refused answer while locked: {u}"
    );

    server.cli_ok(&["user", "unlock", "demo"]);
    let b = server.browser();
    b.sign_in("demo", &pattern, "/");
}

/// 8. An unknown user ID gets the same flow and page structure, and any answer fails.
fn unknown_user_looks_like_real_user(backend: Backend) {
    let server = TestServer::start(backend, &[]);
    let b = server.browser();
    let grid = b.start_login("nobody-here"); // asserts the 303 to /login/matrix
    grid.assert_full_grid();

    let real = server.browser().start_login("demo");
    assert_eq!(
        grid.cells(),
        real.cells(),
        "unknown and real users must see the same grid layout"
    );
    for sel in [
        "form",
        "input",
        "input[name=otp]",
        "input[name=csrf]",
        "[data-cell]",
    ] {
        assert_eq!(
            grid.page.count(sel),
            real.page.count(sel),
            "`{sel}` count differs between an unknown and a real user's grid page"
        );
    }

    let r = b.submit_otp("123456");
    r.expect_status(401, "answer for an unknown user");
    GridPage::parse(r).assert_full_grid();
    let r = b.submit_otp(&grid.answer(&[0, 1, 2, 3, 4, 5]));
    r.expect_status(401, "another answer for an unknown user");
    assert!(b.session_json().is_none());
}

/// 9. Forms without (or with a wrong) csrf are refused with 403.
fn csrf_required(backend: Backend) {
    let server = TestServer::start(backend, &[]);
    let pattern = server.pattern_of("demo");

    let b = server.browser();
    b.get("/login").expect_status(200, "GET /login");
    b.post_form_raw("/login", &[("username", "demo")])
        .expect_status(403, "POST /login without csrf");
    let wrong = b.post_form_raw("/login", &[("username", "demo"), ("csrf", "not-the-token")]);
    wrong.expect_status(403, "POST /login with a wrong csrf");

    // A valid token without the pl_csrf cookie that goes with it (another browser's token).
    let token = b.csrf().expect("csrf on /login");
    let stranger = server.browser();
    stranger
        .post_form_raw("/login", &[("username", "demo"), ("csrf", &token)])
        .expect_status(403, "POST /login with a csrf token but no pl_csrf cookie");

    let grid = b.start_login("demo");
    let otp = grid.answer(&pattern);
    b.post_form_raw("/login/matrix", &[("otp", &otp), ("csrf", "wrong-token")])
        .expect_status(403, "POST /login/matrix with a wrong csrf");
    b.post_form_raw("/login/matrix", &[("otp", &otp)])
        .expect_status(403, "POST /login/matrix without csrf");
    assert!(b.session_json().is_none(), "no session after refused POSTs");
}

/// 13. A disabled user cannot sign in; `user enable` restores.
fn disabled_user_refused(backend: Backend) {
    let server = TestServer::start(backend, &[]);
    let pattern = server.pattern_of("demo");
    server.cli_ok(&["user", "disable", "demo"]);
    let u = server.user_show("demo");
    assert_eq!(user_field(&u, "enabled"), false, "after disable: {u}");

    let b = server.browser();
    let g = b.start_login("demo");
    b.submit_otp(&g.answer(&pattern))
        .expect_status(401, "right answer for a disabled user");
    assert!(b.session_json().is_none());

    server.cli_ok(&["user", "enable", "demo"]);
    let u = server.user_show("demo");
    assert_eq!(user_field(&u, "enabled"), true, "after enable: {u}");
    let b = server.browser();
    b.sign_in("demo", &pattern, "/");
    assert_eq!(
        b.session_json().expect("session after enable")["user"],
        "demo"
    );
}
