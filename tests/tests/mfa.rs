//! Multi-factor sign-ins through the step pipeline, driven over HTTP against the real server,
//! with codes from independent generators: `oathtool` (Debian's oathtool package) plays the
//! authenticator app and the hardware token; the bingo grid comes from our reference
//! authenticator (`passlogic-idp authenticator show --bingo`).

mod common;

use std::io::Write;
use std::process::{Command, Stdio};

use common::{Backend, Browser, TestServer, SERVER_BIN};

/// A TOTP code from oathtool for `secret` (Base32) at now + `offset` seconds.
fn totp(secret: &str, offset: i64) -> String {
    let at = common::now_unix() + offset;
    oathtool(&["--totp", "-b", secret, "-N", &format!("@{at}")])
}

/// A 6-digit HOTP code from oathtool for a hex seed at `counter`.
fn hotp(hex_seed: &str, counter: u64) -> String {
    oathtool(&["--hotp", "-c", &counter.to_string(), hex_seed])
}

/// An 8-digit HOTP code (RFC 6030's example tokens answer with 8 digits).
fn hotp8(hex_seed: &str, counter: u64) -> String {
    oathtool(&["--hotp", "--digits=8", "-c", &counter.to_string(), hex_seed])
}

fn oathtool(args: &[&str]) -> String {
    let out = Command::new("oathtool")
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("oathtool is needed (apt-get install oathtool): {e}"));
    assert!(
        out.status.success(),
        "oathtool {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// Runs the CLI against the server's store with `input` on standard input.
fn cli_with_stdin(server: &TestServer, args: &[&str], input: &str) -> String {
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
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "cli {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn line_value(out: &str, key: &str) -> String {
    out.lines()
        .find_map(|l| {
            l.trim()
                .strip_prefix(&format!("{key}: "))
                .map(str::to_owned)
        })
        .unwrap_or_else(|| panic!("no `{key}:` line in:\n{out}"))
}

/// The demo-mfa user's TOTP secret, from the demo printout.
fn demo_mfa_secret(server: &TestServer) -> String {
    let log = server.log();
    line_value(&log, "totp")
}

/// Starts a sign-in and answers the grid; returns the 303 after the matrix step.
fn pass_matrix(b: &Browser, server: &TestServer, user: &str) -> common::Page {
    let grid = b.start_login(user);
    let r = b.submit_otp(&grid.answer(&server.pattern_of(user)));
    assert_eq!(r.status.as_u16(), 303, "matrix step: {}", r.describe());
    r
}

fn amr(b: &Browser) -> Vec<String> {
    let s = b.session_json().expect("signed in");
    s["amr"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect()
}

/// Creates a user with `policy` (combinations) through a group of the same name.
fn user_with_policy(server: &TestServer, user: &str, policy_args: &[&str]) {
    let group = format!("g-{user}");
    let mut args = vec!["policy", "put", &group];
    args.extend_from_slice(policy_args);
    server.cli_ok(&args);
    server.cli_ok(&["group", "add", &group, "--policy", &group]);
    server.cli_ok(&["user", "add", user, "--group", &group]);
}

fn matrix_then_totp(backend: Backend) {
    let server = TestServer::start(backend, &[]);
    let secret = demo_mfa_secret(&server);
    let b = server.browser();
    let r = pass_matrix(&b, &server, "demo-mfa");
    r.expect_see_other("/login/totp", "after the grid, the TOTP step is due");
    assert!(
        b.session_json().is_none(),
        "no session after one of two steps"
    );
    let page = b.follow(&r);
    page.expect_status(200, "GET /login/totp");
    assert_eq!(page.count("input[name=otp]"), 1);
    let wrong = b.post_form("/login/totp", &[("otp", "000000")]);
    wrong.expect_status(401, "a wrong TOTP code");
    let ok = b.post_form("/login/totp", &[("otp", &totp(&secret, 0))]);
    ok.expect_see_other("/", "the right TOTP code finishes the sign-in");
    let amr = amr(&b);
    for v in ["matrix", "otp", "swk", "mfa"] {
        assert!(amr.contains(&v.to_owned()), "amr {amr:?} lacks {v}");
    }
}

fn later_step_first_is_refused(backend: Backend) {
    let server = TestServer::start(backend, &[]);
    let secret = demo_mfa_secret(&server);
    let b = server.browser();
    b.start_login("demo-mfa");
    let early = b.post_form("/login/totp", &[("otp", &totp(&secret, 0))]);
    early.expect_status(409, "posting the TOTP form before the grid");
    assert!(b.session_json().is_none());
    // GET of the later step sends the browser back to the due step.
    b.get("/login/totp")
        .expect_see_other("/login/matrix", "GET of a later step");
    // The refused post changed nothing: the grid and then TOTP still work (with a new code:
    // the early code was never checked, but use the next step's code to be independent).
    let grid = b.fetch_grid();
    b.submit_otp(&grid.answer(&server.pattern_of("demo-mfa")))
        .expect_see_other("/login/totp", "grid");
    b.post_form("/login/totp", &[("otp", &totp(&secret, 0))])
        .expect_see_other("/", "TOTP");
}

fn totp_replay_refused(backend: Backend) {
    let server = TestServer::start(backend, &[]);
    let secret = demo_mfa_secret(&server);
    let code = totp(&secret, 0);
    let a = server.browser();
    pass_matrix(&a, &server, "demo-mfa");
    a.post_form("/login/totp", &[("otp", &code)])
        .expect_see_other("/", "first use of the code");
    let b = server.browser();
    pass_matrix(&b, &server, "demo-mfa");
    b.post_form("/login/totp", &[("otp", &code)])
        .expect_status(401, "the same code again");
    assert!(b.session_json().is_none());
}

/// Two server processes on one PostgreSQL database: a code accepted by node A is refused by B.
#[test]
fn totp_replay_refused_across_two_nodes() {
    let a_node = TestServer::start(Backend::Postgres, &[]);
    let b_node = common::Node::start(&a_node);
    let secret = demo_mfa_secret(&a_node);
    let code = totp(&secret, 0);
    let a = a_node.browser();
    pass_matrix(&a, &a_node, "demo-mfa");
    a.post_form("/login/totp", &[("otp", &code)])
        .expect_see_other("/", "node A accepts");
    let b = Browser::new(b_node.base_url());
    let grid = b.start_login("demo-mfa");
    b.submit_otp(&grid.answer(&a_node.pattern_of("demo-mfa")))
        .expect_see_other("/login/totp", "grid on B");
    b.post_form("/login/totp", &[("otp", &code)])
        .expect_status(401, "node B refuses the replay");
}

fn finished_attempt_cannot_be_reused(backend: Backend) {
    let server = TestServer::start(backend, &[]);
    let secret = demo_mfa_secret(&server);
    let b = server.browser();
    pass_matrix(&b, &server, "demo-mfa");
    let cookies = b.cookie_snapshot();
    b.post_form("/login/totp", &[("otp", &totp(&secret, 0))])
        .expect_see_other("/", "sign-in");
    let csrf = b.csrf().expect("csrf");
    let again = b.post_form_with_cookies(
        "/login/totp",
        &[("otp", &totp(&secret, 30)), ("csrf", &csrf)],
        &cookies,
    );
    again.expect_status(401, "a finished attempt's step posted again");
}

fn totp_then_pin_with_pin_self_enrolment(backend: Backend) {
    let server = TestServer::start(backend, &[]);
    user_with_policy(&server, "carol", &["--combinations", "totp+pin"]);
    let secret = line_value(&server.cli_ok(&["user", "enrol-app", "carol"]), "totp");
    // Each sign-in below needs a TOTP time step of its own (a step is accepted once): the
    // server's test clock moves 30 s between them and the codes are computed for the same
    // offset, so a real step boundary during the test cannot make two sign-ins share a step.
    let mut offset = 0;
    let b = server.browser();
    b.get("/login");
    let r = b.post_form("/login", &[("username", "carol")]);
    r.expect_see_other("/login/totp", "TOTP first");
    b.post_form("/login/totp", &[("otp", &totp(&secret, offset))])
        .expect_see_other("/enrol/pin", "PIN not enrolled yet");
    b.get("/enrol/pin").expect_status(200, "PIN enrolment page");
    b.post_form("/enrol/pin", &[("pin", "12"), ("pin_confirm", "12")])
        .expect_status(400, "too short a PIN");
    b.post_form(
        "/enrol/pin",
        &[("pin", "482916"), ("pin_confirm", "482916")],
    )
    .expect_see_other("/", "PIN set");
    assert_eq!(amr(&b), ["otp", "swk", "pin", "mfa"]);

    server.advance_clock(30);
    offset += 30;
    let c = server.browser();
    c.get("/login");
    c.post_form("/login", &[("username", "carol")])
        .expect_see_other("/login/totp", "TOTP");
    c.post_form("/login/totp", &[("otp", &totp(&secret, offset))])
        .expect_see_other("/login/pin", "PIN is enrolled now");
    c.get("/login/pin").expect_status(200, "PIN page");
    c.post_form("/login/pin", &[("otp", "000000")])
        .expect_status(401, "wrong PIN");
    c.post_form("/login/pin", &[("otp", "482916")])
        .expect_see_other("/", "right PIN");
    let shown = server.user_show("carol");
    assert_eq!(
        shown["methods"],
        serde_json::json!(["matrix", "pin", "totp"])
    );

    // Change the PIN while signed in: the current PIN is checked (and counted) first.
    c.get("/account/pin").expect_status(200, "change PIN page");
    let r = c.post_form(
        "/account/pin",
        &[
            ("current_pin", "111111"),
            ("pin", "550011"),
            ("pin_confirm", "550011"),
        ],
    );
    r.expect_status(400, "wrong current PIN");
    assert_eq!(
        server.user_show("carol")["failed_attempts"],
        1,
        "a wrong current PIN counts"
    );
    let r = c.post_form(
        "/account/pin",
        &[
            ("current_pin", "482916"),
            ("pin", "550011"),
            ("pin_confirm", "550011"),
        ],
    );
    r.expect_status(200, "PIN changed");
    assert_eq!(r.count("[data-status=pin-changed]"), 1, "{}", r.describe());
    assert_eq!(
        server.user_show("carol")["failed_attempts"],
        0,
        "a right PIN clears the counter"
    );

    server.advance_clock(30);
    offset += 30;
    let d = server.browser();
    d.get("/login");
    d.post_form("/login", &[("username", "carol")]);
    d.post_form("/login/totp", &[("otp", &totp(&secret, offset))])
        .expect_see_other("/login/pin", "TOTP");
    d.post_form("/login/pin", &[("otp", "482916")])
        .expect_status(401, "the old PIN");
    d.post_form("/login/pin", &[("otp", "550011")])
        .expect_see_other("/", "the new PIN");
}

fn parallel_pin_guesses_stop_at_lockout(backend: Backend) {
    let server = TestServer::start(backend, &[]);
    user_with_policy(
        &server,
        "dave",
        &["--combinations", "pin+totp", "--lockout", "5"],
    );
    let secret = line_value(&server.cli_ok(&["user", "enrol-app", "dave"]), "totp");
    cli_with_stdin(&server, &["user", "set-pin", "dave"], "731904\n");
    let browsers: Vec<Browser> = (0..12)
        .map(|_| {
            let b = server.browser();
            b.get("/login");
            b.post_form("/login", &[("username", "dave")])
                .expect_see_other("/login/pin", "PIN first");
            b.get("/login/pin");
            b
        })
        .collect();
    let barrier = std::sync::Arc::new(std::sync::Barrier::new(browsers.len()));
    let handles: Vec<_> = browsers
        .into_iter()
        .enumerate()
        .map(|(i, b)| {
            let barrier = barrier.clone();
            std::thread::spawn(move || {
                barrier.wait();
                b.post_form("/login/pin", &[("otp", &format!("{:06}", 100_000 + i))])
                    .status
                    .as_u16()
            })
        })
        .collect();
    for h in handles {
        assert_eq!(h.join().unwrap(), 401);
    }
    let shown = server.user_show("dave");
    assert_eq!(
        shown["failed_attempts"], 5,
        "the counter never passes the threshold: {shown}"
    );
    assert_eq!(shown["locked"], true);
    let b = server.browser();
    b.get("/login");
    b.post_form("/login", &[("username", "dave")]);
    b.get("/login/pin");
    b.post_form("/login/pin", &[("otp", "731904")])
        .expect_status(401, "right PIN while locked");
    server.cli_ok(&["user", "unlock", "dave"]);
    b.get("/login/pin");
    b.post_form("/login/pin", &[("otp", "731904")])
        .expect_see_other("/login/totp", "after unlock");
    b.post_form("/login/totp", &[("otp", &totp(&secret, 0))])
        .expect_see_other("/", "TOTP");
}

fn bingo_then_pin(backend: Backend) {
    let server = TestServer::start(backend, &[]);
    user_with_policy(&server, "erin", &["--combinations", "bingo+pin"]);
    let secret = line_value(
        &server.cli_ok(&["user", "enrol-app", "erin", "--bingo"]),
        "totp",
    );
    cli_with_stdin(&server, &["user", "set-pin", "erin"], "5821\n");
    let bingo_cells: [usize; 6] = [0, 6, 12, 18, 24, 4];
    let b = server.browser();
    b.get("/login");
    b.post_form("/login", &[("username", "erin")])
        .expect_see_other("/login/bingo", "bingo first");
    b.get("/login/bingo").expect_status(200, "bingo page");
    // The reference authenticator renders the grid; the user reads their cells.
    let out = server.cli_ok(&[
        "authenticator",
        "show",
        "--secret",
        &secret,
        "--bingo",
        "0,6,12,18,24,4",
    ]);
    let digits: Vec<char> = out
        .lines()
        .skip_while(|l| !l.starts_with("bingo:"))
        .skip(1)
        .flat_map(|l| {
            l.split_whitespace()
                .map(|d| d.chars().next().unwrap())
                .collect::<Vec<_>>()
        })
        .collect();
    assert_eq!(digits.len(), 25, "a 5x5 grid: {out}");
    let code: String = bingo_cells.iter().map(|c| digits[*c]).collect();
    assert_eq!(
        code,
        totp(&secret, 0),
        "the bingo cells hide the current code"
    );
    b.post_form("/login/bingo", &[("otp", &code)])
        .expect_see_other("/login/pin", "bingo passed");
    b.post_form("/login/pin", &[("otp", "5821")])
        .expect_see_other("/", "PIN passed");
    let amr = amr(&b);
    assert!(
        amr.contains(&"bingo".to_owned())
            && amr.contains(&"pin".to_owned())
            && amr.contains(&"mfa".to_owned()),
        "{amr:?}"
    );
}

const SEED_HEX: &str = "3132333435363738393031323334353637383930";

fn hotp_token_with_pin(backend: Backend) {
    let server = TestServer::start(backend, &[]);
    let csv = server.data_dir().join("tokens.csv");
    std::fs::write(
        &csv,
        format!(
            "serial,seed,algorithm,digits,period,counter,encoding\nHW-1,{SEED_HEX},SHA1,6,,0,hex\n"
        ),
    )
    .unwrap();
    server.cli_ok(&["token", "import", "--csv", csv.to_str().unwrap()]);
    user_with_policy(&server, "frank", &["--combinations", "hardware_token+pin"]);
    server.cli_ok(&["token", "assign", "HW-1", "frank"]);
    cli_with_stdin(&server, &["user", "set-pin", "frank"], "2468\n");
    let login = |code: &str| {
        let b = server.browser();
        b.get("/login");
        b.post_form("/login", &[("username", "frank")])
            .expect_see_other("/login/hardware_token", "token first");
        b.get("/login/hardware_token");
        let r = b.post_form("/login/hardware_token", &[("otp", code)]);
        (b, r)
    };
    let (b, r) = login(&hotp(SEED_HEX, 0));
    r.expect_see_other("/login/pin", "counter 0 accepted");
    b.post_form("/login/pin", &[("otp", "2468")])
        .expect_see_other("/", "PIN");
    assert!(amr(&b).contains(&"hwk".to_owned()));
    let (_, r) = login(&hotp(SEED_HEX, 0));
    r.expect_status(401, "the same counter again");
    let (_, r) = login(&hotp(SEED_HEX, 4));
    r.expect_see_other(
        "/login/pin",
        "a code ahead of the counter within the look-ahead window",
    );
    let (_, r) = login(&hotp(SEED_HEX, 2));
    r.expect_status(401, "a code behind the counter");
}

fn pin_and_code_in_one_field(backend: Backend) {
    let server = TestServer::start(backend, &[]);
    let csv = server.data_dir().join("tokens.csv");
    std::fs::write(
        &csv,
        format!(
            "serial,seed,algorithm,digits,period,counter,encoding\nHW-2,{SEED_HEX},SHA1,6,,0,hex\n"
        ),
    )
    .unwrap();
    server.cli_ok(&["token", "import", "--csv", csv.to_str().unwrap()]);
    user_with_policy(
        &server,
        "gina",
        &["--combinations", "pin+hardware_token", "--pin-with-code"],
    );
    server.cli_ok(&["token", "assign", "HW-2", "gina"]);
    cli_with_stdin(&server, &["user", "set-pin", "gina"], "9753\n");
    let b = server.browser();
    b.get("/login");
    b.post_form("/login", &[("username", "gina")])
        .expect_see_other("/login/pin", "PIN step");
    b.get("/login/pin")
        .expect_status(200, "one field for PIN + code");
    let wrong = b.post_form(
        "/login/pin",
        &[("otp", &format!("1111{}", hotp(SEED_HEX, 0)))],
    );
    wrong.expect_status(401, "wrong PIN, right code");
    b.get("/login/pin");
    b.post_form(
        "/login/pin",
        &[("otp", &format!("9753{}", hotp(SEED_HEX, 1)))],
    )
    .expect_see_other("/", "PIN + code");
    assert_eq!(amr(&b), ["pin", "otp", "hwk", "mfa"]);
}

fn totp_self_enrolment_with_qr(backend: Backend) {
    let server = TestServer::start(backend, &[]);
    server.cli_ok(&["group", "add-user", "mfa", "demo"]);
    let b = server.browser();
    pass_matrix(&b, &server, "demo").expect_see_other("/enrol/totp", "TOTP not enrolled: enrol it");
    let page = b.get("/enrol/totp");
    page.expect_status(200, "enrolment page");
    assert_eq!(page.count(".qr svg"), 1, "a QR code: {}", page.describe());
    let doc = page.html();
    let sel = scraper::Selector::parse("[data-secret]").unwrap();
    let secret = doc
        .select(&sel)
        .next()
        .expect("data-secret")
        .value()
        .attr("data-secret")
        .unwrap()
        .to_owned();
    let again = b.get("/enrol/totp");
    assert!(
        again.body.contains(&secret),
        "a reload shows the same pending secret"
    );
    b.post_form("/enrol/totp", &[("otp", "000000")])
        .expect_status(401, "wrong confirmation code");
    b.post_form("/enrol/totp", &[("otp", &totp(&secret, 0))])
        .expect_see_other("/", "enrolled and signed in");
    assert!(amr(&b).contains(&"otp".to_owned()));
    let c = server.browser();
    pass_matrix(&c, &server, "demo").expect_see_other("/login/totp", "now TOTP is a normal step");
}

fn refused_without_usable_combination(backend: Backend) {
    let server = TestServer::start(backend, &[]);
    user_with_policy(
        &server,
        "henry",
        &[
            "--combinations",
            "hardware_token+pin",
            "--no-self-enrolment",
        ],
    );
    let b = server.browser();
    b.get("/login");
    let r = b.post_form("/login", &[("username", "henry")]);
    r.expect_status(403, "no usable combination");
    assert!(
        r.body.contains("data-error=\"no-usable-combination\""),
        "{}",
        r.describe()
    );
    assert!(b.session_json().is_none());
}

fn no_factor_secret_at_rest_or_in_logs(backend: Backend) {
    let server = TestServer::start(backend, &[]);
    let secret = demo_mfa_secret(&server);
    cli_with_stdin(&server, &["user", "set-pin", "demo-mfa"], "864213\n");
    let b = server.browser();
    pass_matrix(&b, &server, "demo-mfa");
    let code = totp(&secret, 0);
    b.post_form("/login/totp", &[("otp", &code)])
        .expect_see_other("/", "sign-in");
    let dump = match server.pg() {
        Some(pg) => pg.dump().into_bytes(),
        None => server.data_dir_bytes(),
    };
    let dump = String::from_utf8_lossy(&dump).to_string();
    for needle in [secret.as_str(), "864213", SEED_HEX] {
        assert!(
            !dump.contains(needle),
            "{needle} found in the database dump"
        );
    }
    let log: String = server
        .log()
        .lines()
        .filter(|l| !l.trim_start().starts_with("totp:"))
        .collect::<Vec<_>>()
        .join("\n");
    for needle in [secret.as_str(), "864213", code.as_str()] {
        assert!(!log.contains(needle), "{needle} found in the server log");
    }
}

both_backends!(
    matrix_then_totp,
    later_step_first_is_refused,
    totp_replay_refused,
    finished_attempt_cannot_be_reused,
    totp_then_pin_with_pin_self_enrolment,
    parallel_pin_guesses_stop_at_lockout,
    bingo_then_pin,
    hotp_token_with_pin,
    pin_and_code_in_one_field,
    totp_self_enrolment_with_qr,
    refused_without_usable_combination,
    no_factor_secret_at_rest_or_in_logs,
);

/// A PSKC (RFC 6030 figure 7: PBKDF2-protected) token imported, used, drifted far beyond the
/// look-ahead window, and resynchronised from two consecutive codes.
fn pskc_import_and_hotp_resync(backend: Backend) {
    let server = TestServer::start(backend, &[]);
    let pskc = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../fixtures/pskc/rfc6030-figure7-pbkdf2.xml"
    );
    let wrong = Command::new(SERVER_BIN)
        .args([
            "token",
            "import",
            "--pskc",
            pskc,
            "--password-stdin",
            "--data-dir",
        ])
        .arg(server.data_dir())
        .args(
            server
                .database_url()
                .map(|u| vec!["--database-url", u])
                .unwrap_or_default(),
        )
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            c.stdin.take().unwrap().write_all(b"not-the-password\n")?;
            c.wait_with_output()
        })
        .unwrap();
    assert!(
        !wrong.status.success(),
        "a wrong PSKC password must fail the import"
    );
    assert!(
        !server.cli_ok(&["token", "list"]).contains("987654321"),
        "nothing imported after a failure"
    );
    let out = cli_with_stdin(
        &server,
        &["token", "import", "--pskc", pskc, "--password-stdin"],
        "qwerty\n",
    );
    assert_eq!(line_value(&out, "imported"), "1");
    user_with_policy(&server, "ivan", &["--combinations", "hardware_token+pin"]);
    server.cli_ok(&["token", "assign", "987654321", "ivan"]);
    cli_with_stdin(&server, &["user", "set-pin", "ivan"], "1357\n");
    let login = |code: &str| {
        let b = server.browser();
        b.get("/login");
        b.post_form("/login", &[("username", "ivan")])
            .expect_see_other("/login/hardware_token", "token step");
        b.get("/login/hardware_token");
        b.post_form("/login/hardware_token", &[("otp", code)])
    };
    login(&hotp8(SEED_HEX, 0)).expect_see_other("/login/pin", "the imported seed works");
    // The token was pressed 200 times away from the server: past the look-ahead window.
    login(&hotp8(SEED_HEX, 200)).expect_status(401, "beyond the look-ahead window");
    server.cli_ok(&[
        "token",
        "resync",
        "987654321",
        &hotp8(SEED_HEX, 200),
        &hotp8(SEED_HEX, 201),
    ]);
    login(&hotp8(SEED_HEX, 201)).expect_status(401, "codes used for the resync are spent");
    login(&hotp8(SEED_HEX, 202)).expect_see_other("/login/pin", "in step again after resync");
}

both_backends!(pskc_import_and_hotp_resync);

/// A time-based hardware token (imported with a Base32 seed) with its PIN as a separate step;
/// a code is accepted once.
fn totp_hardware_token_with_pin(backend: Backend) {
    let server = TestServer::start(backend, &[]);
    let csv = server.data_dir().join("tokens.csv");
    std::fs::write(
        &csv,
        "serial,seed,algorithm,digits,period,counter,encoding\nCARD-9,GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ,SHA1,6,30,,base32\n",
    )
    .unwrap();
    server.cli_ok(&["token", "import", "--csv", csv.to_str().unwrap()]);
    user_with_policy(&server, "kumi", &["--combinations", "hardware_token+pin"]);
    server.cli_ok(&["token", "assign", "CARD-9", "kumi"]);
    cli_with_stdin(&server, &["user", "set-pin", "kumi"], "8642\n");
    let code = totp("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ", 0);
    let login = |code: &str| {
        let b = server.browser();
        b.get("/login");
        b.post_form("/login", &[("username", "kumi")])
            .expect_see_other("/login/hardware_token", "token step");
        let r = b.post_form("/login/hardware_token", &[("otp", code)]);
        (b, r)
    };
    let (b, r) = login(&code);
    r.expect_see_other("/login/pin", "the card's current code");
    b.post_form("/login/pin", &[("otp", "8642")])
        .expect_see_other("/", "PIN");
    assert_eq!(amr(&b), ["otp", "hwk", "pin", "mfa"]);
    let (_, r) = login(&code);
    r.expect_status(401, "the same time step again");
}

both_backends!(totp_hardware_token_with_pin);
