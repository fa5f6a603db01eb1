//! Matrix + the external face verifier, with the stand-in service of
//! `examples/face-verifier-stand-in` (Python, signs its verdicts with its own HMAC code): a
//! `match` verdict signs in, `no_match` is refused, a replayed verdict and a tampered one are
//! refused, and an unreachable verifier ends the sign-in with a clear page.

mod common;

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use common::{Backend, Browser, Page, TestServer};

/// The stand-in verifier process (killed on drop).
struct StandIn {
    child: Child,
    url: String,
    _dir: tempfile::TempDir,
    secret_file: PathBuf,
}

impl StandIn {
    fn start() -> StandIn {
        let dir = tempfile::tempdir().unwrap();
        let secret_file = dir.path().join("verifier.secret");
        std::fs::write(&secret_file, "stand-in-credential-0123456789abcdef\n").unwrap();
        let script = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../examples/face-verifier-stand-in/stand_in.py");
        let mut child = Command::new("python3")
            .arg(script)
            .arg("--secret-file")
            .arg(&secret_file)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("python3 stand_in.py");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let port = line
            .trim()
            .strip_prefix("listening: ")
            .unwrap_or_else(|| panic!("stand-in said: {line:?}"))
            .to_owned();
        StandIn {
            child,
            url: format!("http://127.0.0.1:{port}"),
            _dir: dir,
            secret_file,
        }
    }

    fn set_verdict(&self, user: &str, verdict: &str) {
        let r = reqwest::blocking::Client::new()
            .post(format!("{}/_stand-in/verdict", self.url))
            .json(&serde_json::json!({ "user": user, "verdict": verdict }))
            .send()
            .unwrap();
        assert!(r.status().is_success());
    }
}

impl Drop for StandIn {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn face_policy(server: &TestServer) {
    server.cli_ok(&[
        "policy",
        "put",
        "face",
        "--combinations",
        "matrix+biometric",
    ]);
    server.cli_ok(&["group", "add", "face", "--policy", "face"]);
    server.cli_ok(&["group", "add-user", "face", "demo"]);
}

/// Matrix, then `/login/biometric` hands the browser to the verifier; returns the verifier's
/// redirect back to the IdP (not followed yet).
fn to_verifier(b: &Browser, pattern: &[u16], verifier: &str) -> Page {
    let r = b.sign_in("demo", pattern, "/login/biometric");
    let handoff = b.follow(&r);
    handoff.expect_status(303, "hand-off to the verifier");
    let loc = handoff.location().unwrap();
    assert!(loc.starts_with(&format!("{verifier}/verify/")), "{loc}");
    let back = b.follow(&handoff);
    back.expect_status(303, "verifier's answer");
    assert_eq!(
        back.location_path().as_deref(),
        Some("/login/biometric/callback")
    );
    back
}

fn refused_with(p: &Page, code: &str, b: &Browser) {
    p.expect_status(403, code);
    assert_eq!(
        p.count(&format!("[data-error=\"{code}\"]")),
        1,
        "{}",
        p.describe()
    );
    assert!(b.session_json().is_none(), "{code}: no session");
}

fn matrix_and_face(backend: Backend) {
    let stand_in = StandIn::start();
    let secret = stand_in.secret_file.to_str().unwrap().to_owned();
    let server = TestServer::start(
        backend,
        &[
            "--face-verifier-url",
            &stand_in.url,
            "--face-verifier-secret-file",
            &secret,
        ],
    );
    face_policy(&server);
    let demo = server.pattern_of("demo");
    let b = server.browser();

    // "match": signed in with both steps in amr.
    let back = to_verifier(&b, &demo, &stand_in.url);
    let used_callback = back.location().unwrap();
    b.follow(&back).expect_see_other("/", "face match");
    let s = b.session_json().expect("a session after a match");
    assert_eq!(s["user"], "demo");
    let amr = s["amr"].to_string();
    assert!(
        amr.contains("\"face\"") && amr.contains("\"matrix\""),
        "{s}"
    );
    b.post_form("/logout", &[]);

    // The same verdict again, in a new attempt at the face step: refused.
    let r = b.sign_in("demo", &demo, "/login/biometric");
    b.follow(&r).expect_status(303, "hand-off");
    refused_with(&b.get(&used_callback), "face-verdict-refused", &b);

    // "no match": refused.
    stand_in.set_verdict("demo", "no_match");
    let back = to_verifier(&b, &demo, &stand_in.url);
    refused_with(&b.follow(&back), "face-no-match", &b);

    // A "no_match" verdict turned into "match" by the browser: the HMAC does not verify.
    let back = to_verifier(&b, &demo, &stand_in.url);
    let forged = back
        .location()
        .unwrap()
        .replace("verdict=no_match", "verdict=match");
    assert!(forged.contains("verdict=match&"), "{forged}");
    refused_with(&b.get(&forged), "face-verdict-refused", &b);
    // A made-up verdict without the credential: refused too.
    let r = b.sign_in("demo", &demo, "/login/biometric");
    b.follow(&r).expect_status(303, "hand-off");
    let made_up = "/login/biometric/callback?challenge=x&user=demo&verdict=match\
                   &issued_at=0&signature=00";
    refused_with(&b.get(made_up), "face-verdict-refused", &b);
    // No lockout for face refusals, and match works again afterwards.
    assert_eq!(server.user_show("demo")["failed_attempts"], 0);
    stand_in.set_verdict("demo", "match");
    let back = to_verifier(&b, &demo, &stand_in.url);
    b.follow(&back).expect_see_other("/", "face match again");
}

/// A configured but unreachable verifier: the sign-in ends with a page saying so.
fn verifier_down(backend: Backend) {
    let stand_in = StandIn::start();
    let secret = stand_in.secret_file.to_str().unwrap().to_owned();
    let url = stand_in.url.clone();
    let server = TestServer::start(
        backend,
        &[
            "--face-verifier-url",
            &url,
            "--face-verifier-secret-file",
            &secret,
        ],
    );
    face_policy(&server);
    drop(stand_in);
    let b = server.browser();
    let r = b.sign_in("demo", &server.pattern_of("demo"), "/login/biometric");
    refused_with(&b.follow(&r), "face-verifier-unavailable", &b);
}

both_backends!(matrix_and_face, verifier_down);
