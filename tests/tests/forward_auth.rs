//! Forward authentication behind a real nginx (Debian's package, `auth_request`), in front of
//! the example app of `examples/forward-auth/` (a Python http.server echoing the identity headers
//! it receives). The browser is reqwest with `.resolve()` for `auth.example.test` (the IdP) and
//! `app.example.test` (nginx), so the session cookie really crosses hosts through its
//! `Domain=example.test`.

mod common;

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{Backend, Browser, GridPage, Page, TestServer};
use reqwest::blocking::Client;
use scraper::Selector;

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn wait_for_port(port: u16, what: &str, log: impl Fn() -> String) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("{what} did not listen on {port}:\n{}", log());
}

/// A child process killed on drop.
struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn example_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/forward-auth")
}

fn nginx_binary() -> String {
    for p in ["/usr/sbin/nginx", "/usr/bin/nginx"] {
        if Path::new(p).exists() {
            return p.to_owned();
        }
    }
    panic!("nginx is needed for this test (apt-get install nginx)");
}

/// nginx and the example app, configured from the example template.
struct Proxy {
    _nginx: Proc,
    _app: Proc,
    port: u16,
    dir: tempfile::TempDir,
}

impl Proxy {
    fn start(idp_port: u16) -> Proxy {
        let dir = tempfile::Builder::new()
            .prefix("plidp-nginx-")
            .tempdir()
            .unwrap();
        let upstream = free_port();
        let app = Proc(
            Command::new("python3")
                .arg(example_dir().join("app.py"))
                .arg(upstream.to_string())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("python3"),
        );
        wait_for_port(upstream, "the example app", String::new);
        let port = free_port();
        let template = std::fs::read_to_string(example_dir().join("nginx.conf.template")).unwrap();
        let conf = template
            .replace("@PREFIX@", dir.path().to_str().unwrap())
            .replace("@APP_PORT@", &port.to_string())
            .replace("@UPSTREAM_PORT@", &upstream.to_string())
            .replace("@IDP_INTERNAL@", &format!("http://127.0.0.1:{idp_port}"))
            .replace(
                "@IDP_PUBLIC@",
                &format!("http://auth.example.test:{idp_port}"),
            );
        for p in [
            "PREFIX",
            "APP_PORT",
            "UPSTREAM_PORT",
            "IDP_INTERNAL",
            "IDP_PUBLIC",
        ] {
            assert!(!conf.contains(&format!("@{p}@")), "{p} left in:\n{conf}");
        }
        let conf_path = dir.path().join("nginx.conf");
        std::fs::write(&conf_path, conf).unwrap();
        let nginx = Proc(
            Command::new(nginx_binary())
                .arg("-p")
                .arg(dir.path())
                .arg("-c")
                .arg(&conf_path)
                .arg("-e")
                .arg(dir.path().join("error.log"))
                // One process (no master + workers): killing the child on drop stops it all, so
                // a failed test leaves no worker behind.
                .args(["-g", "daemon off; master_process off;"])
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .expect("start nginx"),
        );
        let error_log = dir.path().join("error.log");
        wait_for_port(port, "nginx", || {
            std::fs::read_to_string(&error_log).unwrap_or_default()
        });
        Proxy {
            _nginx: nginx,
            _app: app,
            port,
            dir,
        }
    }

    fn error_log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("error.log")).unwrap_or_default()
    }
}

fn browser(idp_port: u16, app_port: u16) -> Browser {
    let client = Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .resolve(
            "auth.example.test",
            SocketAddr::from(([127, 0, 0, 1], idp_port)),
        )
        .resolve(
            "app.example.test",
            SocketAddr::from(([127, 0, 0, 1], app_port)),
        )
        .build()
        .unwrap();
    Browser::with_client(&format!("http://auth.example.test:{idp_port}"), client)
}

fn location(p: &Page) -> String {
    p.header("location")
        .unwrap_or_else(|| panic!("no Location: {}", p.describe()))
}

/// From the app to the sign-in and back, as a browser does; returns the app's answer.
fn sign_in_through_proxy(b: &Browser, server: &TestServer, user: &str, app_url: &str) -> Page {
    let r = b.get(app_url);
    assert_eq!(
        r.status.as_u16(),
        302,
        "nginx sends to sign in: {}",
        r.describe()
    );
    let start = location(&r);
    let idp = server.base_url().replace("127.0.0.1", "auth.example.test");
    assert_eq!(start, format!("{idp}/auth/start?rd={app_url}"));
    let r = b.get(&start);
    r.expect_status(303, "no session yet: to /login");
    let login = b.get(&location(&r));
    login.expect_status(200, "the sign-in page");
    let return_to = {
        let sel = Selector::parse("input[name=return_to]").unwrap();
        login
            .html()
            .select(&sel)
            .next()
            .and_then(|e| e.value().attr("value").map(str::to_owned))
            .expect("return_to field")
    };
    assert!(return_to.starts_with("/auth/start?rd="), "{return_to}");
    let r = b.post_form("/login", &[("username", user), ("return_to", &return_to)]);
    r.expect_see_other("/login/matrix", "user ID");
    let grid = GridPage::parse(b.follow(&r));
    let r = b.submit_otp(&grid.answer(&server.pattern_of(user)));
    r.expect_see_other("/auth/start", "signed in: back to /auth/start");
    let r = b.follow(&r);
    assert_eq!(r.status.as_u16(), 302, "{}", r.describe());
    assert_eq!(location(&r), app_url, "back to the app");
    b.get(app_url)
}

fn nginx_forward_auth(backend: Backend) {
    let server = TestServer::start(
        backend,
        &[
            "--forward-auth-domain",
            "example.test",
            "--cookie-domain",
            "example.test",
        ],
    );
    let idp_port: u16 = server
        .base_url()
        .rsplit(':')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    server.cli_ok(&[
        "forward-auth-app",
        "add",
        "demo-app",
        "--host",
        "app.example.test",
    ]);
    let list = server.cli_ok(&["forward-auth-app", "list"]);
    assert_eq!(
        list.trim(),
        r#"{"host":"app.example.test","name":"demo-app"}"#
    );
    // admin's group policy lists another app only: denied.
    let deny = server.data_dir().join("deny.json");
    std::fs::write(&deny, r#"{"forward_auth_apps": ["payroll"]}"#).unwrap();
    server.cli_ok(&[
        "policy",
        "put",
        "no-demo-app",
        "--file",
        deny.to_str().unwrap(),
    ]);
    server.cli_ok(&["group", "add", "no-demo-app", "--policy", "no-demo-app"]);
    server.cli_ok(&["group", "add-user", "no-demo-app", "admin"]);
    server.cli_ok(&["group", "add", "staff"]);
    server.cli_ok(&["group", "add-user", "staff", "demo"]);

    let proxy = Proxy::start(idp_port);
    let app_url = format!("http://app.example.test:{}/hello?x=1&y=2", proxy.port);

    // Signed in through the real server: the app receives the identity headers.
    let b = browser(idp_port, proxy.port);
    let page = sign_in_through_proxy(&b, &server, "demo", &app_url);
    page.expect_status(200, "the app behind nginx");
    let seen: serde_json::Value = serde_json::from_str(&page.body)
        .unwrap_or_else(|e| panic!("{e}: {}\n{}", page.describe(), proxy.error_log()));
    assert_eq!(seen["remote_user"], "demo", "{seen}");
    assert_eq!(seen["remote_email"], "demo@demo.example", "{seen}");
    assert_eq!(seen["remote_groups"], "staff", "{seen}");
    assert_eq!(seen["path"], "/hello?x=1&y=2", "{seen}");
    assert!(b.cookie_snapshot().iter().any(|(k, _)| k == "pl_session"));
    let set = b.get("/session");
    set.expect_status(200, "the same session on the IdP host");
    // nginx's subrequest keeps the method: a POST to the app is checked and passed too.
    let posted = b.post_form_raw(&app_url, &[("field", "value")]);
    posted.expect_status(200, "POST through nginx");
    assert!(
        posted.body.contains(r#""remote_user": "demo""#),
        "{}",
        posted.body
    );

    // Forged identity headers without a session do not get through.
    let stranger = browser(idp_port, proxy.port);
    let client = Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .resolve(
            "app.example.test",
            SocketAddr::from(([127, 0, 0, 1], proxy.port)),
        )
        .build()
        .unwrap();
    let forged = client
        .get(&app_url)
        .header("Remote-User", "admin")
        .send()
        .unwrap();
    assert_eq!(forged.status().as_u16(), 302);

    // A user whose policy lacks the app: 403.
    let page = sign_in_through_proxy(&stranger, &server, "admin", &app_url);
    assert_eq!(page.status.as_u16(), 403, "{}", page.describe());
    assert!(server.log().contains("forward_auth.denied"));

    // rd= to a foreign domain is refused (no open redirect), signed in or not.
    for rd in [
        "https://evil.test/",
        "https://app.example.test.evil.test/",
        "https%3A%2F%2Fevil.test%2F",
        "//evil.test/",
        "javascript:alert(1)",
    ] {
        for who in [&b, &browser(idp_port, proxy.port)] {
            let r = who.get(&format!("/auth/start?rd={rd}"));
            r.expect_status(400, &format!("rd={rd}"));
            assert!(r.header("location").is_none());
        }
    }

    // Traefik/Caddy style (X-Forwarded-*): no session -> 302 to the sign-in with the return URL.
    let raw = Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let r = raw
        .get(server.url("/auth/forward"))
        .header("X-Forwarded-Proto", "https")
        .header("X-Forwarded-Host", "app.example.test")
        .header("X-Forwarded-Uri", "/p?q=1")
        .send()
        .unwrap();
    assert_eq!(r.status().as_u16(), 302);
    assert_eq!(
        r.headers()["location"].to_str().unwrap(),
        format!(
            "{}/auth/start?rd=https%3A%2F%2Fapp.example.test%2Fp%3Fq%3D1",
            server.base_url()
        )
    );
    // ... and with the session cookie: 200 with the identity headers.
    let session = b
        .cookie_snapshot()
        .into_iter()
        .find(|(k, _)| k == "pl_session")
        .unwrap()
        .1;
    let r = raw
        .get(server.url("/auth/forward"))
        .header("X-Forwarded-Proto", "https")
        .header("X-Forwarded-Host", "app.example.test")
        .header("X-Forwarded-Uri", "/")
        .header("Cookie", format!("pl_session={session}"))
        .send()
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(r.headers()["remote-user"], "demo");
    // A host outside the configured domains, or no original URL at all: 400.
    let r = raw
        .get(server.url("/auth/forward"))
        .header("X-Forwarded-Host", "evil.test")
        .header("Cookie", format!("pl_session={session}"))
        .send()
        .unwrap();
    assert_eq!(r.status().as_u16(), 400);
    let r = raw.get(server.url("/auth/forward")).send().unwrap();
    assert_eq!(r.status().as_u16(), 400);
    // A host in the domain without a registered app: 403.
    let r = raw
        .get(server.url("/auth/forward"))
        .header("X-Forwarded-Host", "other.example.test")
        .header("Cookie", format!("pl_session={session}"))
        .send()
        .unwrap();
    assert_eq!(r.status().as_u16(), 403);

    // The tenant's access policy applies too: staff denied the app (through nginx) -> 403,
    // audited with the engine's reason; without the rule, access again.
    let access = server.data_dir().join("access.json");
    std::fs::write(
        &access,
        r#"{"groups": [{"group": "staff",
            "services": {"allow": ["*"], "deny": ["forward_auth_app:demo-app"]}}]}"#,
    )
    .unwrap();
    server.cli_ok(&["access-policy", "put", access.to_str().unwrap()]);
    let r = b.get(&app_url);
    assert_eq!(
        r.status.as_u16(),
        403,
        "denied by the access policy: {}",
        r.describe()
    );
    assert!(server.log().contains(r#""reason":"deny.service""#));
    server.cli_ok(&["access-policy", "clear"]);
    b.get(&app_url).expect_status(200, "allowed again");

    // Signing out on the IdP host ends access to the app.
    let home = b.get("/");
    home.expect_status(200, "home");
    b.post_form("/logout", &[]);
    let r = b.get(&app_url);
    assert_eq!(r.status.as_u16(), 302, "signed out: {}", r.describe());
}

both_backends!(nginx_forward_auth);
