//! Cross-check of the RADIUS codec with an independent implementation: FreeRADIUS's `radclient`
//! (Debian package `freeradius-utils`; if it is missing these tests FAIL).
//!
//! Each test starts a one-shot UDP listener on 127.0.0.1, lets `radclient` send it an
//! Access-Request, decodes and authenticates what arrives with our code (Message-Authenticator
//! required, User-Password unhidden and compared), answers with our `build_reply` /
//! `build_challenge`, and checks that `radclient` accepted the reply (it verifies the Response
//! Authenticator and the Message-Authenticator). A reply signed with the wrong secret is the
//! negative control: `radclient` must refuse it.

use std::io::Write;
use std::net::UdpSocket;
use std::process::{Command, Output, Stdio};
use std::thread;
use std::time::Duration;

use passlogic_idp_core::radius::attributes::{Attribute, AttributeType};
use passlogic_idp_core::radius::auth::{self, AuthError, SharedSecret};
use passlogic_idp_core::radius::packet::Code;

const SECRET: &str = "radclient-interop-secret";

fn radclient_available() {
    match Command::new("radclient").arg("-v").output() {
        Ok(out) if String::from_utf8_lossy(&out.stdout).contains("radclient") => {}
        other => panic!(
            "radclient is required for the RADIUS interop tests: install the Debian package \
             `freeradius-utils` (apt-get install freeradius-utils); got {other:?}"
        ),
    }
}

/// Binds a listener, runs `radclient` with `attributes` on stdin against it, hands the first
/// datagram to `answer` (which returns the reply to send, if any), and returns radclient's output
/// together with whatever `answer` reported.
fn exchange<T: Send + 'static>(
    attributes: &str,
    answer: impl FnOnce(&[u8]) -> (Option<Vec<u8>>, T) + Send + 'static,
) -> (Output, T) {
    radclient_available();
    let socket = UdpSocket::bind("127.0.0.1:0").expect("bind UDP");
    socket
        .set_read_timeout(Some(Duration::from_secs(15)))
        .expect("timeout");
    let port = socket.local_addr().expect("local addr").port();
    let server = thread::spawn(move || {
        let mut buf = [0u8; 4096];
        let (n, peer) = socket.recv_from(&mut buf).expect("radclient sent nothing");
        let (reply, report) = answer(&buf[..n]);
        if let Some(reply) = reply {
            socket.send_to(&reply, peer).expect("send reply");
        }
        report
    });
    let mut child = Command::new("radclient")
        .args(["-x", "-r", "1", "-t", "3"])
        .arg(format!("127.0.0.1:{port}"))
        .args(["auth", SECRET])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start radclient");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(attributes.as_bytes())
        .expect("write attributes");
    let output = child.wait_with_output().expect("radclient output");
    let report = server.join().expect("listener thread");
    (output, report)
}

fn secret() -> SharedSecret {
    SharedSecret::new(SECRET.as_bytes().to_vec()).unwrap()
}

fn text(out: &Output) -> String {
    format!(
        "status {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn radius_radclient_accepts_our_access_accept() {
    let (out, password) = exchange(
        "User-Name = \"alice\", User-Password = \"s3cret pass phrase!\", \
         Message-Authenticator = 0x00, NAS-Identifier = \"interop-nas\"\n",
        |datagram| {
            let request = auth::verify_request(datagram, &secret(), true).expect("verify");
            assert_eq!(request.code, Code::AccessRequest);
            assert!(request.message_authenticator().unwrap().is_some());
            assert_eq!(request.user_name().unwrap(), Some("alice"));
            assert_eq!(request.nas_identifier().unwrap(), Some("interop-nas"));
            let password = auth::unhide_password(
                request.user_password_hidden().unwrap().expect("password"),
                &secret(),
                &request.authenticator,
            )
            .expect("unhide");
            let reply = auth::build_reply(
                &request,
                Code::AccessAccept,
                &[
                    Attribute::reply_message("welcome alice").unwrap(),
                    Attribute::class(b"tenant-7").unwrap(),
                    Attribute::session_timeout(3600),
                ],
                &secret(),
            )
            .expect("reply");
            assert_eq!(reply[20], AttributeType::MESSAGE_AUTHENTICATOR.0);
            (Some(reply), password.expose().to_vec())
        },
    );
    let log = text(&out);
    eprintln!("{log}");
    assert_eq!(password, b"s3cret pass phrase!", "{log}");
    assert!(out.status.success(), "{log}");
    assert!(log.contains("Received Access-Accept"), "{log}");
    assert!(log.contains("welcome alice"), "{log}");
}

#[test]
fn radius_radclient_reads_our_challenge() {
    let grid = "   A B C D\n1  3 7 0 2\n2  9 4 4 1\n";
    let (out, ()) = exchange(
        "User-Name = \"bob\", User-Password = \"pw\", Message-Authenticator = 0x00\n",
        move |datagram| {
            let request = auth::verify_request(datagram, &secret(), true).expect("verify");
            let reply = auth::build_challenge(&request, &[0xA5; 16], grid, &[], &secret())
                .expect("challenge");
            (Some(reply), ())
        },
    );
    let log = text(&out);
    eprintln!("{log}");
    assert!(log.contains("Received Access-Challenge"), "{log}");
    assert!(log.contains("0xa5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5"), "{log}");
    assert!(log.contains("1  3 7 0 2"), "{log}");
    // radclient verified the challenge, then reports it is not the Access-Accept it expects by
    // default (exit status 1).
    assert!(
        log.contains("Expected Access-Accept got Access-Challenge"),
        "{log}"
    );
}

#[test]
fn radius_radclient_refuses_reply_signed_with_wrong_secret() {
    let (out, ()) = exchange(
        "User-Name = \"carol\", User-Password = \"pw\", Message-Authenticator = 0x00\n",
        |datagram| {
            let request = auth::verify_request(datagram, &secret(), true).expect("verify");
            let wrong = SharedSecret::new(b"not-the-secret".to_vec()).unwrap();
            let reply = auth::build_reply(&request, Code::AccessAccept, &[], &wrong).unwrap();
            (Some(reply), ())
        },
    );
    let log = text(&out);
    eprintln!("{log}");
    assert!(!out.status.success(), "{log}");
    assert!(!log.contains("Received Access-Accept"), "{log}");
    assert!(log.contains("invalid Message-Authenticator"), "{log}");
}

#[test]
fn radius_radclient_request_without_message_authenticator() {
    let (out, has_ma) = exchange(
        "User-Name = \"erin\", User-Password = \"pw\"\n",
        |datagram| {
            let request = passlogic_idp_core::radius::packet::decode(datagram).expect("decode");
            let has_ma = request.message_authenticator().unwrap().is_some();
            let verdict = auth::verify_request(datagram, &secret(), true);
            if has_ma {
                verdict.expect("radclient's own Message-Authenticator verifies");
            } else {
                assert!(matches!(
                    verdict,
                    Err(AuthError::MissingMessageAuthenticator)
                ));
                // Only the per-client legacy switch lets it through.
                assert!(auth::verify_request(datagram, &secret(), false).is_ok());
            }
            (None, has_ma)
        },
    );
    eprintln!("radclient added Message-Authenticator on its own: {has_ma}");
    assert!(!out.status.success(), "{}", text(&out));
}

#[test]
fn radius_radclient_request_with_wrong_secret_is_refused() {
    let (out, refused) = exchange(
        "User-Name = \"dave\", User-Password = \"pw\", Message-Authenticator = 0x00\n",
        |datagram| {
            let other = SharedSecret::new(b"another-clients-secret".to_vec()).unwrap();
            let result = auth::verify_request(datagram, &other, true);
            (
                None,
                matches!(result, Err(AuthError::BadMessageAuthenticator)),
            )
        },
    );
    assert!(refused, "{}", text(&out));
    assert!(!out.status.success(), "{}", text(&out));
}
