//! The RADIUS server, driven by an independent client: FreeRADIUS's `radclient` (Debian package
//! `freeradius-utils`), which checks our Response Authenticator and Message-Authenticator on every
//! reply it reports as received. Hand-made datagrams (std's UdpSocket) cover what radclient
//! cannot send: a packet without Message-Authenticator, from another source address, or the
//! very same datagram twice. TOTP codes come from `oathtool`.

mod common;

use std::io::Write;
use std::net::UdpSocket;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::{Backend, TestServer, SERVER_BIN};
use passlogic_idp_core::radius::attributes::{Attribute, AttributeType};
use passlogic_idp_core::radius::auth::{self, SharedSecret};
use passlogic_idp_core::radius::packet::{self, Code, Packet};

fn line_value(out: &str, key: &str) -> String {
    out.lines()
        .find_map(|l| {
            l.trim()
                .strip_prefix(&format!("{key}: "))
                .map(str::to_owned)
        })
        .unwrap_or_else(|| panic!("no `{key}:` line in:\n{out}"))
}

/// The value of the last `key: ` line (a restarted server prints its lines again).
fn last_line_value(out: &str, key: &str) -> String {
    out.lines()
        .rev()
        .find_map(|l| {
            l.trim()
                .strip_prefix(&format!("{key}: "))
                .map(str::to_owned)
        })
        .unwrap_or_else(|| panic!("no `{key}:` line in:\n{out}"))
}

fn oathtool_hotp(hex_seed: &str, counter: u64) -> String {
    let out = Command::new("oathtool")
        .args(["--hotp", "-c", &counter.to_string(), hex_seed])
        .output()
        .expect("oathtool is needed (apt-get install oathtool)");
    assert!(out.status.success());
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

fn oathtool_totp(secret: &str) -> String {
    let at = common::now_unix();
    let out = Command::new("oathtool")
        .args(["--totp", "-b", secret, "-N", &format!("@{at}")])
        .output()
        .expect("oathtool is needed (apt-get install oathtool)");
    assert!(out.status.success());
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// A server with RADIUS on a free UDP port; returns it with the RADIUS address and demo secret.
fn start(backend: Backend) -> (TestServer, String, String) {
    let server = TestServer::start(backend, &["--radius-listen", "127.0.0.1:0"]);
    let log = server.log();
    let addr = line_value(&log, "radius");
    let secret = line_value(&log, "radius-secret");
    assert!(
        secret.len() == 32 && secret.chars().all(|c| c.is_ascii_alphanumeric()),
        "demo secret {secret:?}"
    );
    (server, addr, secret)
}

fn cli_with_stdin(server: &TestServer, args: &[&str], input: &str) {
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
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// What radclient reported.
#[derive(Debug)]
struct Reply {
    /// `Access-Accept`, `Access-Reject`, `Access-Challenge`, or `None` (no valid reply).
    code: Option<String>,
    /// Attributes of the received packet, as radclient prints them (`name`, raw value text).
    attrs: Vec<(String, String)>,
    log: String,
}

impl Reply {
    fn get(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// Concatenated Reply-Message values with `\n` escapes undone.
    fn reply_message(&self) -> String {
        self.attrs
            .iter()
            .filter(|(n, _)| n == "Reply-Message")
            .map(|(_, v)| v.trim_matches('"').replace("\\n", "\n"))
            .collect()
    }

    fn expect(&self, code: &str, what: &str) -> &Reply {
        assert_eq!(self.code.as_deref(), Some(code), "{what}:\n{}", self.log);
        self
    }
}

/// Sends one Access-Request with radclient (`attrs` in radclient's syntax).
fn radclient(addr: &str, secret: &str, attrs: &str) -> Reply {
    radclient_command(addr, secret, "auth", attrs)
}

/// Sends one packet of `command` (`auth`, `status`) with radclient.
fn radclient_command(addr: &str, secret: &str, command: &str, attrs: &str) -> Reply {
    // The secret from a file: on the command line one starting with `-` would be an option.
    let secret_file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(secret_file.path(), secret).unwrap();
    let mut child = Command::new("radclient")
        .args(["-x", "-r", "1", "-t", "2", "-S"])
        .arg(secret_file.path())
        .args([addr, command])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("radclient is needed (apt-get install freeradius-utils)");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(format!("{attrs}\n").as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let log = format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let mut code = None;
    let mut attrs = Vec::new();
    let mut in_received = false;
    for line in log.lines() {
        if let Some(rest) = line.strip_prefix("Received ") {
            code = rest.split_whitespace().next().map(str::to_owned);
            in_received = true;
            continue;
        }
        if in_received {
            if let Some((n, v)) = line.trim().split_once(" = ") {
                if line.starts_with(char::is_whitespace) {
                    attrs.push((n.trim().to_owned(), v.trim().to_owned()));
                    continue;
                }
            }
            in_received = false;
        }
    }
    Reply { code, attrs, log }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Digits of a text grid (rows of digits, blocks separated by spaces), row-major.
fn grid_digits(message: &str) -> Vec<u8> {
    let rows: Vec<&str> = message
        .lines()
        .filter(|l| !l.trim().is_empty() && l.chars().all(|c| c.is_ascii_digit() || c == ' '))
        .collect();
    assert_eq!(rows.len(), 4, "four rows of digits in {message:?}");
    let digits: Vec<u8> = rows
        .iter()
        .flat_map(|r| r.chars().filter(char::is_ascii_digit))
        .map(|c| c as u8 - b'0')
        .collect();
    assert_eq!(digits.len(), 48, "a 4x12 grid in {message:?}");
    digits
}

fn answer(digits: &[u8], pattern: &[u16]) -> String {
    pattern
        .iter()
        .map(|c| char::from(b'0' + digits[usize::from(*c)]))
        .collect()
}

/// A user under their own policy group; `policy_json` is the policy file.
fn user_with_policy(server: &TestServer, user: &str, policy_json: &str, flags: &[&str]) {
    let group = format!("g-{user}");
    let file = server.data_dir().join(format!("{group}.json"));
    std::fs::write(&file, policy_json).unwrap();
    let mut args = vec!["policy", "put", &group, "--file", file.to_str().unwrap()];
    args.extend_from_slice(flags);
    server.cli_ok(&args);
    server.cli_ok(&["group", "add", &group, "--policy", &group]);
    server.cli_ok(&["user", "add", user, "--group", &group]);
}

/// A PIN+TOTP user ("PIN" + code in User-Password), with Class and Filter-Id in the policy.
fn pin_totp_user(server: &TestServer, user: &str) -> String {
    user_with_policy(
        server,
        user,
        r#"{"radius_class": "vpn-staff", "radius_filter_id": "staff-acl"}"#,
        &["--combinations", "pin+totp", "--pin-with-code"],
    );
    let totp = line_value(&server.cli_ok(&["user", "enrol-app", user]), "totp");
    cli_with_stdin(server, &["user", "set-pin", user], "4827\n");
    totp
}

fn pin_plus_totp_accept_and_wrong_code_reject(backend: Backend) {
    let (server, addr, secret) = start(backend);
    let totp = pin_totp_user(&server, "vpnuser");
    let wrong = radclient(
        &addr,
        &secret,
        "User-Name = \"vpnuser\", User-Password = \"4827000000\", Message-Authenticator = 0x00",
    );
    wrong.expect("Access-Reject", "right PIN, wrong code");
    assert_eq!(wrong.reply_message(), "Authentication failed");
    assert!(wrong.get("Class").is_none(), "{}", wrong.log);
    assert_eq!(server.user_show("vpnuser")["failed_attempts"], 1);

    let code = oathtool_totp(&totp);
    let ok = radclient(
        &addr,
        &secret,
        &format!(
            "User-Name = \"vpnuser\", User-Password = \"4827{code}\", Message-Authenticator = 0x00"
        ),
    );
    ok.expect("Access-Accept", "PIN + TOTP from oathtool");
    assert_eq!(
        ok.get("Class"),
        Some(format!("0x{}", hex(b"vpn-staff")).as_str()),
        "{}",
        ok.log
    );
    assert_eq!(ok.get("Filter-Id"), Some("\"staff-acl\""), "{}", ok.log);
    assert!(ok.get("Message-Authenticator").is_some(), "{}", ok.log);
    assert_eq!(server.user_show("vpnuser")["failed_attempts"], 0);
    // The same TOTP code again (a replay) is refused.
    let again = radclient(
        &addr,
        &secret,
        &format!(
            "User-Name = \"vpnuser\", User-Password = \"4827{code}\", Message-Authenticator = 0x00"
        ),
    );
    again.expect("Access-Reject", "a replayed TOTP code");
    // Unknown user: like on the web, the tenant's default first step (the grid), so the answer
    // looks like a real user's; any answer to it is rejected.
    let unknown = radclient(
        &addr,
        &secret,
        "User-Name = \"nobody\", User-Password = \"1234123456\", Message-Authenticator = 0x00",
    );
    unknown.expect("Access-Challenge", "unknown user: a grid");
    grid_digits(&unknown.reply_message());
    radclient(
        &addr,
        &secret,
        &format!(
            "User-Name = \"nobody\", User-Password = \"123456\", State = {}, \
             Message-Authenticator = 0x00",
            unknown.get("State").unwrap()
        ),
    )
    .expect("Access-Reject", "unknown user's answer");
    let log = server.log();
    assert!(log.contains("signin.success"), "audited as a sign-in");
    assert!(
        log.contains("event=radius.accept"),
        "and as a RADIUS accept"
    );
    assert!(!log.contains("4827"), "the PIN never reaches the log");
}

fn matrix_challenge_round_trip(backend: Backend) {
    let (server, addr, secret) = start(backend);
    // demo-mfa: matrix, then TOTP: two challenges, then Accept.
    let totp = line_value(&server.log(), "totp");
    let first = radclient(
        &addr,
        &secret,
        "User-Name = \"demo-mfa\", User-Password = \"ignored\", Message-Authenticator = 0x00",
    );
    first.expect("Access-Challenge", "the grid");
    let state = first.get("State").expect("State").to_owned();
    assert!(state.starts_with("0x") && state.len() > 40, "{state}");
    let digits = grid_digits(&first.reply_message());
    let otp = answer(&digits, &server.pattern_of("demo-mfa"));

    let second = radclient(
        &addr,
        &secret,
        &format!(
            "User-Name = \"demo-mfa\", User-Password = \"{otp}\", State = {state}, \
             Message-Authenticator = 0x00"
        ),
    );
    second.expect("Access-Challenge", "after the grid, the TOTP step");
    assert!(
        second.reply_message().contains("authenticator app"),
        "{}",
        second.log
    );
    let state2 = second.get("State").expect("State").to_owned();
    assert_ne!(state, state2, "a fresh State per challenge");

    // The first State was consumed: reusing it is refused.
    radclient(
        &addr,
        &secret,
        &format!(
            "User-Name = \"demo-mfa\", User-Password = \"{otp}\", State = {state}, \
             Message-Authenticator = 0x00"
        ),
    )
    .expect("Access-Reject", "a used State");

    let done = radclient(
        &addr,
        &secret,
        &format!(
            "User-Name = \"demo-mfa\", User-Password = \"{}\", State = {state2}, \
             Message-Authenticator = 0x00",
            oathtool_totp(&totp)
        ),
    );
    done.expect("Access-Accept", "grid + TOTP");

    // A wrong grid answer is rejected and counted like on the web.
    let c = radclient(
        &addr,
        &secret,
        "User-Name = \"demo\", User-Password = \"x\", Message-Authenticator = 0x00",
    );
    c.expect("Access-Challenge", "the grid for demo");
    let digits = grid_digits(&c.reply_message());
    let right = answer(&digits, &server.pattern_of("demo"));
    let wrong: String = right
        .chars()
        .map(|ch| char::from(b'0' + (ch as u8 - b'0' + 1) % 10))
        .collect();
    radclient(
        &addr,
        &secret,
        &format!(
            "User-Name = \"demo\", User-Password = \"{wrong}\", State = {}, \
             Message-Authenticator = 0x00",
            c.get("State").unwrap()
        ),
    )
    .expect("Access-Reject", "a wrong grid answer");
    assert_eq!(server.user_show("demo")["failed_attempts"], 1);
    // A State is bound to its user name.
    let c = radclient(
        &addr,
        &secret,
        "User-Name = \"demo\", User-Password = \"x\", Message-Authenticator = 0x00",
    );
    let digits = grid_digits(&c.reply_message());
    radclient(
        &addr,
        &secret,
        &format!(
            "User-Name = \"admin\", User-Password = \"{}\", State = {}, \
             Message-Authenticator = 0x00",
            answer(&digits, &server.pattern_of("demo")),
            c.get("State").unwrap()
        ),
    )
    .expect("Access-Reject", "a State presented for another user");
}

fn wrong_shared_secret_dropped(backend: Backend) {
    let (server, addr, _secret) = start(backend);
    let r = radclient(
        &addr,
        "not-the-shared-secret",
        "User-Name = \"demo\", User-Password = \"x\", Message-Authenticator = 0x00",
    );
    assert_eq!(r.code, None, "no reply to a wrong secret:\n{}", r.log);
    assert!(r.log.contains("No reply"), "{}", r.log);
    wait_for_log(&server, "radius.dropped");
}

fn wait_for_log(server: &TestServer, needle: &str) {
    for _ in 0..50 {
        if server.log().contains(needle) {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("`{needle}` not in the server log:\n{}", server.log());
}

/// A hidden-password Access-Request built by hand: `with_ma` adds Message-Authenticator.
fn datagram(secret: &str, user: &str, password: &str, id: u8, with_ma: bool) -> Vec<u8> {
    datagram_with_state(secret, user, password, id, with_ma, None)
}

fn datagram_with_state(
    secret: &str,
    user: &str,
    password: &str,
    id: u8,
    with_ma: bool,
    state: Option<&[u8]>,
) -> Vec<u8> {
    let secret = SharedSecret::new(secret.as_bytes().to_vec()).unwrap();
    let mut authenticator = [0u8; 16];
    authenticator.copy_from_slice(&common::random_hex().as_bytes()[..16]);
    let hidden = auth::hide_password(password.as_bytes(), &secret, &authenticator).unwrap();
    let mut attrs = vec![
        Attribute::user_name(user).unwrap(),
        Attribute::new(AttributeType::USER_PASSWORD, &hidden).unwrap(),
    ];
    if let Some(s) = state {
        attrs.push(Attribute::state(s).unwrap());
    }
    if with_ma {
        auth::build_access_request(id, authenticator, &attrs, &secret).unwrap()
    } else {
        packet::encode(&Packet {
            code: Code::AccessRequest,
            identifier: id,
            authenticator,
            attributes: attrs,
        })
        .unwrap()
    }
}

/// Sends `bytes` from `from` to `addr`; the reply, if one comes within `wait`.
fn exchange(sock: &UdpSocket, addr: &str, bytes: &[u8], wait: Duration) -> Option<Vec<u8>> {
    sock.set_read_timeout(Some(wait)).unwrap();
    sock.send_to(bytes, addr).unwrap();
    let mut buf = [0u8; 4096];
    match sock.recv_from(&mut buf) {
        Ok((n, _)) => Some(buf[..n].to_vec()),
        Err(_) => None,
    }
}

fn message_authenticator_required_and_unknown_client_ignored(backend: Backend) {
    let (server, addr, secret) = start(backend);
    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    // Positive control: the same request with Message-Authenticator is answered.
    let with = datagram(&secret, "demo", "x", 1, true);
    let reply = exchange(&sock, &addr, &with, Duration::from_secs(5)).expect("answered");
    assert_eq!(reply[0], 11, "Access-Challenge");
    assert_eq!(reply[20], 80, "Message-Authenticator first in the reply");
    // Status-Server (RFC 5997), as gateways send to probe the server: Access-Accept.
    radclient_command(&addr, &secret, "status", "Message-Authenticator = 0x00")
        .expect("Access-Accept", "Status-Server");
    // Without it: dropped, no reply.
    let without = datagram(&secret, "demo", "x", 2, false);
    assert_eq!(
        exchange(&sock, &addr, &without, Duration::from_millis(1500)),
        None
    );
    wait_for_log(&server, "radius.dropped");

    // radclient from the demo client's address, without Message-Authenticator in its input:
    // radclient 3.2 adds one on its own; either way what it gets is verified by radclient.
    let r = radclient(
        &addr,
        &secret,
        "User-Name = \"demo\", User-Password = \"x\"",
    );
    let radclient_added_ma = r.log.contains("Message-Authenticator = 0x");
    assert_eq!(
        r.code.as_deref(),
        radclient_added_ma.then_some("Access-Challenge"),
        "{}",
        r.log
    );

    // A legacy client may be registered without the requirement (and is then answered).
    let out = server.cli_ok(&[
        "radius-client",
        "add",
        "legacy",
        "--address",
        "127.0.0.3",
        "--generate",
        "--no-message-authenticator",
    ]);
    let legacy_secret = line_value(&out, "secret");
    let list = server.cli_ok(&["radius-client", "list"]);
    assert!(
        list.contains(r#""name":"legacy""#) && !list.contains(&legacy_secret),
        "{list}"
    );
    let legacy = UdpSocket::bind("127.0.0.3:0").unwrap();
    let reply = exchange(
        &legacy,
        &addr,
        &datagram(&legacy_secret, "demo", "x", 3, false),
        Duration::from_secs(5),
    )
    .expect("the legacy client is answered");
    assert_eq!(reply[0], 11);

    // A State is bound to the client it was sent to: another client cannot continue it.
    let challenge = exchange(
        &sock,
        &addr,
        &datagram(&secret, "demo", "x", 5, true),
        Duration::from_secs(5),
    )
    .expect("challenge");
    let state = packet::decode(&challenge)
        .unwrap()
        .state()
        .unwrap()
        .expect("State")
        .to_vec();
    let grid: String = packet::decode(&challenge)
        .unwrap()
        .reply_messages()
        .map(|m| String::from_utf8_lossy(m).into_owned())
        .collect();
    let otp = answer(&grid_digits(&grid), &server.pattern_of("demo"));
    let reply = exchange(
        &legacy,
        &addr,
        &datagram_with_state(&legacy_secret, "demo", &otp, 6, false, Some(&state)),
        Duration::from_secs(5),
    )
    .expect("answered");
    assert_eq!(
        reply[0], 3,
        "Access-Reject: the State belongs to the demo client"
    );

    // Unknown source address (127.0.0.2 is outside every client's range): ignored, audited.
    let stranger = UdpSocket::bind("127.0.0.2:0").unwrap();
    assert_eq!(
        exchange(
            &stranger,
            &addr,
            &datagram(&secret, "demo", "x", 4, true),
            Duration::from_millis(1500)
        ),
        None
    );
    wait_for_log(&server, "radius.unknown_client");
    // The CLI refuses a short secret and a bad range.
    assert!(!server
        .cli(&[
            "radius-client",
            "add",
            "x",
            "--address",
            "10.0.0.1/8",
            "--generate"
        ])
        .status
        .success());
    assert!(!server
        .cli(&[
            "radius-client",
            "add",
            "y",
            "--address",
            "10.0.0.1",
            "--secret",
            "short"
        ])
        .status
        .success());
}

fn duplicate_answered_once(backend: Backend) {
    let (server, addr, secret) = start(backend);
    pin_totp_user(&server, "dupuser");
    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    let bytes = datagram(&secret, "dupuser", "4827000000", 9, true);
    let first = exchange(&sock, &addr, &bytes, Duration::from_secs(5)).expect("reply");
    let second = exchange(&sock, &addr, &bytes, Duration::from_secs(5)).expect("reply again");
    assert_eq!(first[0], 3, "Access-Reject");
    assert_eq!(
        first, second,
        "the retransmission gets the same reply bytes"
    );
    assert_eq!(
        server.user_show("dupuser")["failed_attempts"],
        1,
        "a retransmitted wrong code is counted once"
    );
    // A new request (new authenticator) with the same content is counted again.
    let other = datagram(&secret, "dupuser", "4827000000", 9, true);
    let third = exchange(&sock, &addr, &other, Duration::from_secs(5)).expect("reply");
    assert_eq!(third[0], 3);
    assert_eq!(server.user_show("dupuser")["failed_attempts"], 2);
}

/// PIN in the first request, then an Access-Challenge for the TOTP code (no --pin-with-code).
fn pin_then_totp_challenge(backend: Backend) {
    let (server, addr, secret) = start(backend);
    user_with_policy(&server, "twostep", "{}", &["--combinations", "pin+totp"]);
    let totp = line_value(&server.cli_ok(&["user", "enrol-app", "twostep"]), "totp");
    cli_with_stdin(&server, &["user", "set-pin", "twostep"], "5931\n");
    let c = radclient(
        &addr,
        &secret,
        "User-Name = \"twostep\", User-Password = \"5931\", Message-Authenticator = 0x00",
    );
    c.expect("Access-Challenge", "PIN right: the TOTP step");
    assert_eq!(
        c.reply_message(),
        "Enter the code from your authenticator app"
    );
    let done = radclient(
        &addr,
        &secret,
        &format!(
            "User-Name = \"twostep\", User-Password = \"{}\", State = {}, \
             Message-Authenticator = 0x00",
            oathtool_totp(&totp),
            c.get("State").unwrap()
        ),
    );
    done.expect("Access-Accept", "PIN, then TOTP");
    assert!(done.get("Class").is_none(), "no Class without radius_class");
    // A wrong PIN: rejected at once, no challenge.
    radclient(
        &addr,
        &secret,
        "User-Name = \"twostep\", User-Password = \"0000\", Message-Authenticator = 0x00",
    )
    .expect("Access-Reject", "wrong PIN");
}

/// PIN + HOTP hardware-token code in one password; lockout shared with the web.
fn pin_plus_hotp_token_and_lockout(backend: Backend) {
    const SEED_HEX: &str = "3132333435363738393031323334353637383930";
    let (server, addr, secret) = start(backend);
    let csv = server.data_dir().join("tokens.csv");
    std::fs::write(
        &csv,
        format!(
            "serial,seed,algorithm,digits,period,counter,encoding\nHW-9,{SEED_HEX},SHA1,6,,0,hex\n"
        ),
    )
    .unwrap();
    server.cli_ok(&["token", "import", "--csv", csv.to_str().unwrap()]);
    user_with_policy(
        &server,
        "tokuser",
        "{}",
        &[
            "--combinations",
            "pin+hardware_token",
            "--pin-with-code",
            "--lockout",
            "3",
        ],
    );
    server.cli_ok(&["token", "assign", "HW-9", "tokuser"]);
    cli_with_stdin(&server, &["user", "set-pin", "tokuser"], "7204\n");
    let req = |pw: &str| {
        radclient(
            &addr,
            &secret,
            &format!(
                "User-Name = \"tokuser\", User-Password = \"{pw}\", Message-Authenticator = 0x00"
            ),
        )
    };
    req(&format!("7204{}", oathtool_hotp(SEED_HEX, 0))).expect("Access-Accept", "PIN + HOTP code");
    for _ in 0..3 {
        req("7204000000").expect("Access-Reject", "wrong code");
    }
    let shown = server.user_show("tokuser");
    assert_eq!(shown["failed_attempts"], 3, "{shown}");
    assert_eq!(shown["locked"], true, "{shown}");
    req(&format!("7204{}", oathtool_hotp(SEED_HEX, 1)))
        .expect("Access-Reject", "right PIN and code while locked");
    // The web sign-in sees the same lock.
    let b = server.browser();
    b.get("/login");
    b.post_form("/login", &[("username", "tokuser")]);
    b.get("/login/pin");
    b.post_form(
        "/login/pin",
        &[("otp", &format!("7204{}", oathtool_hotp(SEED_HEX, 2)))],
    )
    .expect_status(401, "locked on the web too");
    server.cli_ok(&["user", "unlock", "tokuser"]);
    req(&format!("7204{}", oathtool_hotp(SEED_HEX, 3))).expect("Access-Accept", "after unlock");
}

/// `keys rotate-kek` re-seals the clients' shared secrets: same demo secret after a restart.
fn shared_secret_survives_kek_rotation(backend: Backend) {
    let (mut server, _addr, secret) = start(backend);
    server.stop();
    let out = server.cli_ok(&["keys", "rotate-kek"]);
    assert!(out.contains("resealed: "), "{out}");
    server.start_again();
    let log = server.log();
    let addr = last_line_value(&log, "radius");
    assert_eq!(last_line_value(&log, "radius-secret"), secret);
    radclient(
        &addr,
        &secret,
        "User-Name = \"demo\", User-Password = \"x\", Message-Authenticator = 0x00",
    )
    .expect("Access-Challenge", "answered after the rotation");
    let db = server.data_dir_bytes();
    assert!(
        !db.windows(secret.len()).any(|w| w == secret.as_bytes()),
        "the shared secret is not stored in plain text"
    );
    if let Some(pg) = server.pg() {
        assert!(!pg.dump().contains(&secret), "not in PostgreSQL either");
    }
}

both_backends!(
    pin_then_totp_challenge,
    pin_plus_hotp_token_and_lockout,
    shared_secret_survives_kek_rotation,
);

both_backends!(
    pin_plus_totp_accept_and_wrong_code_reject,
    matrix_challenge_round_trip,
    wrong_shared_secret_dropped,
    message_authenticator_required_and_unknown_client_ignored,
    duplicate_answered_once,
);

/// The tenant's access policy applies to RADIUS like to every service: a group without the
/// RADIUS client is rejected after correct factors, and address rules see the end user's
/// address from Calling-Station-Id (what VPN gateways report), not the gateway's.
fn access_policy_over_radius(backend: Backend) {
    let (server, addr, secret) = start(backend);
    let totp = pin_totp_user(&server, "vpnuser");
    let policy = server.data_dir().join("access.json");
    let put = |json: &str| {
        std::fs::write(&policy, json).unwrap();
        server.cli_ok(&["access-policy", "put", policy.to_str().unwrap()]);
    };
    put(r#"{"default_combinations": [["pin", "totp"]],
            "groups": [{"group": "g-vpnuser", "services": {"allow": ["radius_client:demo"]},
                        "ip_allow": ["198.51.100.0/24"]}]}"#);
    // Each accepted sign-in spends the TOTP time step: move the server clock a step ahead and
    // ask oathtool for the code at that time.
    let offset = std::cell::Cell::new(0i64);
    let try_from = |station: &str| {
        let at = common::now_unix() + offset.get();
        let out = std::process::Command::new("oathtool")
            .args(["--totp", "-b", &totp, "-N", &format!("@{at}")])
            .output()
            .unwrap();
        let code = String::from_utf8_lossy(&out.stdout).trim().to_owned();
        let r = radclient(
            &addr,
            &secret,
            &format!(
                "User-Name = \"vpnuser\", User-Password = \"4827{code}\", \
                 Calling-Station-Id = \"{station}\", Message-Authenticator = 0x00"
            ),
        );
        server.advance_clock(30);
        offset.set(offset.get() + 30);
        r
    };
    try_from("203.0.113.9").expect("Access-Reject", "user outside the allowed range");
    assert!(
        server.log().contains("\"reason\":\"deny.ip\""),
        "refused by the policy"
    );
    try_from("198.51.100.7").expect("Access-Accept", "user inside the allowed range");

    // Not allowed the RADIUS client at all.
    put(r#"{"default_combinations": [["pin", "totp"]],
            "groups": [{"group": "g-vpnuser", "services": {"allow": ["oidc_client:*"]}}]}"#);
    try_from("198.51.100.7").expect("Access-Reject", "service not allowed");
    assert!(server.log().contains("\"reason\":\"deny.service\""));
}

both_backends!(access_policy_over_radius);
