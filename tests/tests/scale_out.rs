//! Stateless nodes on one PostgreSQL (issue #10): a sign-in started on node A finishes on node
//! B; an authorization code from A is redeemed on B once, never twice; a TOTP code accepted on
//! A is refused on B; after A is killed mid-flow B completes new sign-ins and existing sessions
//! stay valid; after PostgreSQL restarts both running nodes recover without a restart of their
//! own. Also: two nodes starting at once on an empty database both migrate it safely, and a
//! node refuses a database whose schema is newer than itself.
//!
//! These tests run their own PostgreSQL server (`PrivatePostgres`): restarting the shared one
//! would disturb every other test running at the same time.

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use common::{Backend, Browser, Node, PrivatePostgres, TestServer};
use serde_json::Value;

const CB: &str = "https://rp.example/cb";
const VERIFIER: &str = "dBjftJeZ4CVP-mJ92aXOqVvQWrEhhTsKrFxMSaIh6Wk-and-some-more-entropy";

fn totp(secret: &str) -> String {
    let at = common::now_unix();
    let out = Command::new("oathtool")
        .args(["--totp", "-b", secret, "-N", &format!("@{at}")])
        .output()
        .expect("oathtool");
    assert!(out.status.success());
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

fn printed(log: &str, key: &str) -> String {
    log.lines()
        .find_map(|l| l.trim().strip_prefix(&format!("{key}:")).map(|v| v.trim()))
        .and_then(|v| v.split_whitespace().next())
        .unwrap_or_else(|| panic!("no {key}: line"))
        .to_owned()
}

fn challenge() -> String {
    use base64::Engine;
    use openssl::sha::sha256;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sha256(VERIFIER.as_bytes()))
}

/// The user-ID page and a grid on the node at `base` (cookies are per host, so one browser
/// talks to every node on 127.0.0.1 with the same cookies).
fn start_on(b: &Browser, base: &str, user: &str) -> common::GridPage {
    b.get(&format!("{base}/login"))
        .expect_status(200, "login page");
    let r = b.post_form(&format!("{base}/login"), &[("username", user)]);
    assert_eq!(r.status.as_u16(), 303, "{}", r.describe());
    common::GridPage::parse(b.get(&format!("{base}/login/matrix")))
}

/// The matrix step on the node at `base`.
fn grid_answer_on(b: &Browser, base: &str, user: &str, pattern: &[u16]) -> common::Page {
    let grid = start_on(b, base, user);
    b.post_form(
        &format!("{base}/login/matrix"),
        &[("otp", &grid.answer(pattern))],
    )
}

fn session_on(b: &Browser, base: &str) -> Option<Value> {
    let p = b.get(&format!("{base}/session"));
    match p.status.as_u16() {
        200 => Some(serde_json::from_str(&p.body).unwrap()),
        401 => None,
        _ => panic!("{}", p.describe()),
    }
}

fn redeem(base: &str, code: &str) -> (u16, Value) {
    let r = reqwest::blocking::Client::new()
        .post(format!("{base}/oidc/token"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", CB),
            ("client_id", "spa"),
            ("code_verifier", VERIFIER),
        ])
        .send()
        .unwrap();
    (r.status().as_u16(), r.json().unwrap())
}

/// Polls until a full matrix sign-in works on `base` (the node recovered), at most `limit`.
fn sign_in_eventually(base: &str, user: &str, pattern: &[u16], limit: Duration) -> Duration {
    let started = Instant::now();
    loop {
        let b = Browser::new(base);
        let ok = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let r = grid_answer_on(&b, base, user, pattern);
            r.status.as_u16() == 303 && session_on(&b, base).is_some()
        }))
        .unwrap_or(false);
        if ok {
            return started.elapsed();
        }
        assert!(
            started.elapsed() < limit,
            "{base} did not recover within {limit:?}"
        );
        std::thread::sleep(Duration::from_millis(250));
    }
}

#[test]
fn two_nodes_share_one_postgresql_and_survive_a_node_and_a_database_restart() {
    let pg = PrivatePostgres::start();
    std::env::set_var("PASSLOGIC_TEST_DATABASE_URL", pg.admin_url());
    let a = TestServer::start(Backend::Postgres, &[]);
    let mut node_a = Node::start(&a); // a's own process stays up; node_a is killed below
    let b = Node::start(&a);
    let (a_url, b_url) = (node_a.base_url().to_owned(), b.base_url().to_owned());
    let demo = a.pattern_of("demo");

    // A sign-in started on A (user ID and grid) finishes on B; the session works on both.
    let browser = Browser::new(&a_url);
    let grid = start_on(&browser, &a_url, "demo");
    let r = browser.post_form(
        &format!("{b_url}/login/matrix"),
        &[("otp", &grid.answer(&demo))],
    );
    assert_eq!(r.status.as_u16(), 303, "answered on B: {}", r.describe());
    assert_eq!(session_on(&browser, &a_url).unwrap()["user"], "demo");
    assert_eq!(session_on(&browser, &b_url).unwrap()["user"], "demo");

    // A code issued by A is redeemed on B once; the replay on A fails.
    a.cli_ok(&[
        "client",
        "add",
        "--client-id",
        "spa",
        "--redirect-uri",
        CB,
        "--public",
    ]);
    let r = browser.get(&format!(
        "{a_url}/oidc/authorize?client_id=spa&redirect_uri=https%3A%2F%2Frp.example%2Fcb\
         &response_type=code&scope=openid&state=x&code_challenge={}&code_challenge_method=S256",
        challenge()
    ));
    let loc = r.header("location").expect("code redirect");
    let code = loc
        .split(['?', '&'])
        .find_map(|kv| kv.strip_prefix("code="))
        .expect("code")
        .to_owned();
    let (st, body) = redeem(&b_url, &code);
    assert_eq!(st, 200, "{body}");
    assert!(body["id_token"].is_string());
    let (st, body) = redeem(&a_url, &code);
    assert_eq!(st, 400, "{body}");
    assert_eq!(body["error"], "invalid_grant");

    // A TOTP code accepted on A is refused on B.
    let secret = printed(&a.log(), "totp");
    let mfa = a.pattern_of("demo-mfa");
    let code = totp(&secret);
    let on_a = Browser::new(&a_url);
    let r = grid_answer_on(&on_a, &a_url, "demo-mfa", &mfa);
    assert_eq!(r.location_path().as_deref(), Some("/login/totp"));
    on_a.post_form(&format!("{a_url}/login/totp"), &[("otp", &code)])
        .expect_see_other("/", "A accepts the code");
    let on_b = Browser::new(&b_url);
    grid_answer_on(&on_b, &b_url, "demo-mfa", &mfa);
    on_b.post_form(&format!("{b_url}/login/totp"), &[("otp", &code)])
        .expect_status(401, "B refuses the same code");

    // Node A dies mid-flow (a grid shown, not answered): B finishes that sign-in and new ones,
    // and the sessions opened earlier stay valid on B.
    let midway = Browser::new(&a_url);
    let grid = start_on(&midway, &a_url, "admin");
    node_a.kill();
    let r = midway.post_form(
        &format!("{b_url}/login/matrix"),
        &[("otp", &grid.answer(&a.pattern_of("admin")))],
    );
    assert_eq!(r.status.as_u16(), 303, "{}", r.describe());
    assert_eq!(session_on(&midway, &b_url).unwrap()["user"], "admin");
    assert_eq!(session_on(&browser, &b_url).unwrap()["user"], "demo");
    sign_in_eventually(&b_url, "demo", &demo, Duration::from_secs(5));

    // PostgreSQL restarts under two running nodes (B and the first server): both recover by
    // themselves, and the sessions (stored in the database) survive.
    pg.stop();
    let down = Browser::new(&b_url);
    let p = down.get(&format!("{b_url}/login"));
    assert!(
        p.status.as_u16() < 600,
        "B answers while the database is down"
    );
    pg.start_again();
    let took_b = sign_in_eventually(&b_url, "demo", &demo, Duration::from_secs(30));
    let took_a = sign_in_eventually(a.base_url(), "demo", &demo, Duration::from_secs(30));
    eprintln!("recovered after the restart: B in {took_b:?}, A in {took_a:?}");
    assert_eq!(session_on(&browser, &b_url).unwrap()["user"], "demo");
    assert_eq!(session_on(&midway, a.base_url()).unwrap()["user"], "admin");
}

#[test]
fn concurrent_first_start_and_a_newer_schema() {
    let pg = PrivatePostgres::start();
    std::env::set_var("PASSLOGIC_TEST_DATABASE_URL", pg.admin_url());
    let db = common::PgDatabase::create();
    let dir = tempfile::tempdir().unwrap();
    // Two nodes start at the same moment on an empty database: both migrate safely.
    let (n1, n2) = std::thread::scope(|s| {
        let h1 = s.spawn(|| Node::try_start_on(db.url(), dir.path()));
        let h2 = s.spawn(|| Node::try_start_on(db.url(), dir.path()));
        (h1.join().unwrap(), h2.join().unwrap())
    });
    let (n1, n2) = (n1.expect("node 1"), n2.expect("node 2"));
    for n in [&n1, &n2] {
        let r = reqwest::blocking::get(n.url("/healthz")).unwrap();
        assert_eq!(r.status(), 200);
    }
    drop((n1, n2));

    // A schema newer than this program (a migration it does not know): refused, with a reason.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        use sqlx::Connection;
        let mut c = sqlx::PgConnection::connect(db.url()).await.unwrap();
        sqlx::query(
            "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
             VALUES (99990001, 'from the future', true, '\\x00'::bytea, 0)",
        )
        .execute(&mut c)
        .await
        .unwrap();
    });
    let out = Node::try_start_on(db.url(), dir.path()).expect_err("a newer schema is refused");
    assert!(out.contains("newer"), "{out}");
    assert!(out.contains("99990001"), "{out}");
}
