//! End-to-end harness: starts the real `passlogic-idp` program (built here as
//! `passlogic-idp-under-test`) on 127.0.0.1 with its own data directory (and, for PostgreSQL, its
//! own fresh database), and drives it with a cookie-keeping HTTP client that does not follow
//! redirects. The contract it relies on is `docs/testability.md`.
#![allow(dead_code)]

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use reqwest::blocking::Client;
use reqwest::header::HeaderMap;
use reqwest::{StatusCode, Url};
use scraper::{Html, Selector};

/// Path of the server binary built by this package.
pub const SERVER_BIN: &str = env!("CARGO_BIN_EXE_passlogic-idp-under-test");

const READY_TIMEOUT: Duration = Duration::from_secs(60);
const DEFAULT_PG_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

/// Runs one scenario function `fn NAME(backend: Backend)` on both stores: generates the tests
/// `NAME::sqlite` and `NAME::postgres` (filter with `cargo nextest run -E 'test(/postgres$/)'`).
#[macro_export]
macro_rules! both_backends {
    ($($name:ident),+ $(,)?) => {
        $(
            mod $name {
                #[test]
                fn sqlite() {
                    super::$name($crate::common::Backend::Sqlite)
                }
                #[test]
                fn postgres() {
                    super::$name($crate::common::Backend::Postgres)
                }
            }
        )+
    };
}

/// Which store the server under test uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

// ---------------------------------------------------------------------------------------------
// helpers

/// A random lowercase hex string (no `rand` dependency: std's randomly keyed hasher, the pid,
/// the time and a process-wide counter).
pub fn random_hex() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut h = RandomState::new().build_hasher();
    h.write_u32(std::process::id());
    h.write_u128(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_nanos(),
    );
    h.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    let a = h.finish();
    let mut h2 = RandomState::new().build_hasher();
    h2.write_u64(a);
    format!("{:016x}{:08x}", a, h2.finish() as u32)
}

pub fn now_unix() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// `0,5,10` -> `[0, 5, 10]`; panics on anything else.
pub fn parse_pattern(csv: &str) -> Vec<u16> {
    csv.trim()
        .split(',')
        .map(|c| {
            c.trim()
                .parse::<u16>()
                .unwrap_or_else(|e| panic!("bad cell index {c:?} in pattern {csv:?}: {e}"))
        })
        .collect()
}

pub fn pattern_csv(p: &[u16]) -> String {
    p.iter()
        .map(|c| c.to_string())
        .collect::<Vec<_>>()
        .join(",")
}

fn child_env_clean(cmd: &mut Command) {
    // Hermetic: no configuration leaks in from the environment of whoever runs the tests.
    for (k, _) in std::env::vars_os() {
        if let Some(k) = k.to_str() {
            if k.starts_with("PASSLOGIC_") {
                cmd.env_remove(k);
            }
        }
    }
}

fn output_text(o: &Output) -> String {
    format!(
        "status: {}\n--- stdout ---\n{}\n--- stderr ---\n{}",
        o.status,
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

// ---------------------------------------------------------------------------------------------
// PostgreSQL: one fresh database per server

fn pg_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime")
}

fn pg_admin_url() -> String {
    std::env::var("PASSLOGIC_TEST_DATABASE_URL").unwrap_or_else(|_| DEFAULT_PG_URL.to_string())
}

/// A database created for one test; dropped (WITH (FORCE)) when this value drops.
#[derive(Debug)]
pub struct PgDatabase {
    admin_url: String,
    name: String,
    url: String,
}

impl PgDatabase {
    pub fn create() -> PgDatabase {
        use sqlx::Connection;
        let admin_url = pg_admin_url();
        let name = format!("plidp_{}", random_hex());
        let mut url = Url::parse(&admin_url).unwrap_or_else(|e| {
            panic!("PASSLOGIC_TEST_DATABASE_URL {admin_url:?} is not a URL: {e}")
        });
        url.set_path(&format!("/{name}"));
        let rt = pg_runtime();
        rt.block_on(async {
            let mut conn = sqlx::PgConnection::connect(&admin_url).await.unwrap_or_else(|e| {
                panic!(
                    "PostgreSQL tests need a reachable server: cannot connect to {admin_url} ({e}). \
                     Start PostgreSQL or set PASSLOGIC_TEST_DATABASE_URL to a URL whose user may \
                     CREATE DATABASE."
                )
            });
            sqlx::query(&format!("CREATE DATABASE {name}"))
                .execute(&mut conn)
                .await
                .unwrap_or_else(|e| panic!("CREATE DATABASE {name} on {admin_url}: {e}"));
            let _ = conn.close().await;
        });
        PgDatabase {
            admin_url,
            name,
            url: url.to_string(),
        }
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    /// Every row of every table in schema `public`, as text (`SELECT t::text FROM table t`).
    pub fn dump_rows_as_text(&self) -> String {
        use sqlx::Connection;
        let rt = pg_runtime();
        rt.block_on(async {
            let mut conn = sqlx::PgConnection::connect(&self.url)
                .await
                .unwrap_or_else(|e| panic!("connect {}: {e}", self.url));
            let tables: Vec<String> = sqlx::query_scalar(
                "SELECT table_name::text FROM information_schema.tables \
                 WHERE table_schema = 'public' AND table_type = 'BASE TABLE'",
            )
            .fetch_all(&mut conn)
            .await
            .expect("list tables");
            let mut out = String::new();
            for t in tables {
                let q = format!("SELECT t::text FROM \"{}\" t", t.replace('"', "\"\""));
                let rows: Vec<Option<String>> = sqlx::query_scalar(&q)
                    .fetch_all(&mut conn)
                    .await
                    .unwrap_or_else(|e| panic!("{q}: {e}"));
                out.push_str(&format!("-- table {t}\n"));
                for r in rows.into_iter().flatten() {
                    out.push_str(&r);
                    out.push('\n');
                }
            }
            let _ = conn.close().await;
            out
        })
    }

    /// `pg_dump` of the database when the tool is installed (and works), else every row as text.
    pub fn dump(&self) -> String {
        if let Ok(o) = Command::new("pg_dump")
            .arg("--no-owner")
            .arg("-d")
            .arg(&self.url)
            .output()
        {
            if o.status.success() {
                return String::from_utf8_lossy(&o.stdout).into_owned();
            }
            eprintln!(
                "pg_dump failed, falling back to SELECT: {}",
                output_text(&o)
            );
        }
        self.dump_rows_as_text()
    }
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        use sqlx::Connection;
        let rt = pg_runtime();
        let (admin, name) = (self.admin_url.clone(), self.name.clone());
        rt.block_on(async move {
            match sqlx::PgConnection::connect(&admin).await {
                Ok(mut conn) => {
                    if let Err(e) =
                        sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                            .execute(&mut conn)
                            .await
                    {
                        eprintln!("warning: DROP DATABASE {name}: {e}");
                    }
                    let _ = conn.close().await;
                }
                Err(e) => eprintln!("warning: cannot drop database {name}: {e}"),
            }
        });
    }
}

// ---------------------------------------------------------------------------------------------
// The server process

type SharedLog = Arc<Mutex<String>>;

#[derive(Debug)]
struct Running {
    child: Child,
    readers: Vec<JoinHandle<()>>,
}

/// One running `passlogic-idp serve --demo` with its own store. Killed on drop; its PostgreSQL
/// database (if any) is dropped after the process is gone.
#[derive(Debug)]
pub struct TestServer {
    backend: Backend,
    extra_args: Vec<String>,
    test_clock: bool,
    running: Option<Running>,
    base_url: String,
    users: Vec<(String, Vec<u16>)>,
    log: SharedLog,
    // Field order matters for Drop: the process is killed in `Drop::drop`, then these go.
    pg: Option<PgDatabase>,
    data_dir: tempfile::TempDir,
}

impl TestServer {
    pub fn start(backend: Backend, extra_args: &[&str]) -> TestServer {
        Self::start_inner(backend, extra_args, true)
    }

    /// Like `start` but without `--test-clock`.
    pub fn start_without_test_clock(backend: Backend) -> TestServer {
        Self::start_inner(backend, &[], false)
    }

    fn start_inner(backend: Backend, extra_args: &[&str], test_clock: bool) -> TestServer {
        let data_dir = tempfile::Builder::new()
            .prefix("plidp-test-")
            .tempdir()
            .expect("temp dir");
        let pg = match backend {
            Backend::Sqlite => None,
            Backend::Postgres => Some(PgDatabase::create()),
        };
        let mut s = TestServer {
            backend,
            extra_args: extra_args.iter().map(|s| s.to_string()).collect(),
            test_clock,
            running: None,
            base_url: String::new(),
            users: Vec::new(),
            log: Arc::new(Mutex::new(String::new())),
            pg,
            data_dir,
        };
        s.launch();
        s
    }

    fn store_args(&self) -> Vec<String> {
        let mut v = vec![
            "--data-dir".to_string(),
            self.data_dir.path().display().to_string(),
        ];
        if let Some(pg) = &self.pg {
            v.push("--database-url".into());
            v.push(pg.url().to_string());
        }
        v
    }

    fn launch(&mut self) {
        assert!(self.running.is_none(), "server already running");
        let mut cmd = Command::new(SERVER_BIN);
        cmd.args(["serve", "--demo", "--listen", "127.0.0.1:0"])
            .args(self.store_args())
            .args(if self.test_clock {
                &["--test-clock"][..]
            } else {
                &[][..]
            })
            .args(&self.extra_args)
            .current_dir(self.data_dir.path())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        child_env_clean(&mut cmd);
        let mut child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("spawn {SERVER_BIN}: {e}"));
        let stdout = child.stdout.take().unwrap();
        let stderr = child.stderr.take().unwrap();

        let (tx, rx) = mpsc::channel::<String>();
        let log = self.log.clone();
        let out_reader = std::thread::spawn(move || {
            let mut r = BufReader::new(stdout);
            let mut buf = Vec::new();
            loop {
                buf.clear();
                match r.read_until(b'\n', &mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {
                        let line = String::from_utf8_lossy(&buf).into_owned();
                        log.lock().unwrap().push_str(&line);
                        let _ = tx.send(line.trim_end_matches(['\r', '\n']).to_string());
                    }
                }
            }
        });
        let log = self.log.clone();
        let err_reader = std::thread::spawn(move || {
            let mut r = BufReader::new(stderr);
            let mut buf = [0u8; 4096];
            loop {
                match r.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => log
                        .lock()
                        .unwrap()
                        .push_str(&String::from_utf8_lossy(&buf[..n])),
                }
            }
        });
        self.running = Some(Running {
            child,
            readers: vec![out_reader, err_reader],
        });

        let deadline = Instant::now() + READY_TIMEOUT;
        let mut users = Vec::new();
        let mut pending_user: Option<String> = None;
        let base_url = loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(line) => {
                    let t = line.trim();
                    if let Some(u) = t.strip_prefix("user:") {
                        pending_user = Some(u.trim().to_string());
                    } else if let Some(p) = t.strip_prefix("pattern:") {
                        if let Some(u) = pending_user.take() {
                            users.push((u, parse_pattern(p)));
                        }
                    } else if let Some(url) = t.strip_prefix("ready:") {
                        break url.trim().trim_end_matches('/').to_string();
                    }
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    let out = self.log();
                    self.stop();
                    panic!(
                        "server did not print `ready: http://...` within {READY_TIMEOUT:?}; output so far:\n{out}"
                    );
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    // stdout closed: the process ended (or closed stdout) before `ready:`.
                    std::thread::sleep(Duration::from_millis(200));
                    let status = self
                        .running
                        .as_mut()
                        .and_then(|r| r.child.try_wait().ok().flatten());
                    self.stop();
                    panic!(
                        "server closed stdout before `ready:` (exit status {status:?}); command: {SERVER_BIN} serve --demo --listen 127.0.0.1:0 {} --test-clock {}; output:\n{}",
                        self.store_args().join(" "),
                        self.extra_args.join(" "),
                        self.log()
                    );
                }
            }
        };
        self.base_url = base_url;
        if !users.is_empty() {
            self.users = users;
        }
    }

    /// Kills the server process (the data directory and database stay) and waits until all of its
    /// output has been collected.
    pub fn stop(&mut self) {
        if let Some(mut r) = self.running.take() {
            let _ = r.child.kill();
            let _ = r.child.wait();
            for h in r.readers.drain(..) {
                let _ = h.join();
            }
        }
    }

    /// Starts the server again on the same data directory / database (after `stop`).
    pub fn start_again(&mut self) {
        self.launch();
    }

    /// `stop` then `start_again`.
    pub fn restart(&mut self) {
        self.stop();
        self.launch();
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The admin listener (REST API and console) as printed in `admin-listening:`.
    pub fn admin_base(&self) -> String {
        self.log()
            .lines()
            .rev()
            .find_map(|l| {
                l.trim()
                    .strip_prefix("admin-listening:")
                    .map(|v| v.trim().to_owned())
            })
            .unwrap_or_else(|| panic!("server did not print `admin-listening:`:\n{}", self.log()))
    }

    /// A browser (cookie jar) on the admin listener, signed in as the demo administrator
    /// through the sign-in pages served there.
    pub fn console_browser(&self) -> Browser {
        let b = Browser::new(&self.admin_base());
        let pattern = self.pattern_of("admin");
        b.sign_in("admin", &pattern, "/");
        b
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base_url, path)
    }

    pub fn data_dir(&self) -> &Path {
        self.data_dir.path()
    }

    pub fn database_url(&self) -> Option<&str> {
        self.pg.as_ref().map(|p| p.url())
    }

    pub fn pg(&self) -> Option<&PgDatabase> {
        self.pg.as_ref()
    }

    /// Demo users and their patterns as printed at the last start.
    pub fn users(&self) -> &[(String, Vec<u16>)] {
        &self.users
    }

    pub fn pattern_of(&self, name: &str) -> Vec<u16> {
        self.users
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, p)| p.clone())
            .unwrap_or_else(|| {
                panic!(
                    "no `user: {name}` / `pattern:` pair in the start-up output:\n{}",
                    self.log()
                )
            })
    }

    /// Everything the server printed (stdout and stderr, all starts so far).
    pub fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    /// Runs the same program with `args` plus `--data-dir DIR` (and `--database-url URL`).
    pub fn cli(&self, args: &[&str]) -> Output {
        let mut cmd = Command::new(SERVER_BIN);
        cmd.args(args)
            .args(self.store_args())
            .current_dir(self.data_dir.path())
            .stdin(Stdio::null());
        child_env_clean(&mut cmd);
        cmd.output()
            .unwrap_or_else(|e| panic!("run {SERVER_BIN} {args:?}: {e}"))
    }

    /// `cli` that must succeed; returns stdout.
    pub fn cli_ok(&self, args: &[&str]) -> String {
        let o = self.cli(args);
        assert!(
            o.status.success(),
            "`passlogic-idp {}` failed:\n{}",
            args.join(" "),
            output_text(&o)
        );
        String::from_utf8_lossy(&o.stdout).into_owned()
    }

    /// `cli` with `input` on standard input (e.g. `--password-stdin`); must succeed.
    pub fn cli_ok_stdin(&self, args: &[&str], input: &str) -> String {
        use std::io::Write;
        let mut cmd = Command::new(SERVER_BIN);
        cmd.args(args)
            .args(self.store_args())
            .current_dir(self.data_dir.path())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        child_env_clean(&mut cmd);
        let mut child = cmd.spawn().expect("spawn the CLI");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(input.as_bytes())
            .expect("write stdin");
        let o = child.wait_with_output().expect("wait for the CLI");
        assert!(
            o.status.success(),
            "`passlogic-idp {}` failed:\n{}",
            args.join(" "),
            output_text(&o)
        );
        String::from_utf8_lossy(&o.stdout).into_owned()
    }

    /// `user show NAME` parsed as JSON.
    pub fn user_show(&self, name: &str) -> serde_json::Value {
        let out = self.cli_ok(&["user", "show", name]);
        serde_json::from_str(out.trim()).unwrap_or_else(|e| {
            panic!("`user show {name}` did not print one JSON object ({e}):\n{out}")
        })
    }

    /// `POST /_test/clock advance_secs=N`.
    pub fn advance_clock(&self, secs: u64) {
        let c = Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let r = c
            .post(self.url("/_test/clock"))
            .form(&[("advance_secs", secs.to_string())])
            .send()
            .unwrap_or_else(|e| panic!("POST /_test/clock: {e}"));
        let st = r.status();
        let body = r.text().unwrap_or_default();
        assert!(
            st.is_success(),
            "POST /_test/clock advance_secs={secs}: expected 2xx, got {st}: {body}"
        );
    }

    pub fn browser(&self) -> Browser {
        Browser::new(&self.base_url)
    }

    /// Every file under the data directory, concatenated (SQLite database, WAL, key, ...).
    pub fn data_dir_bytes(&self) -> Vec<u8> {
        fn walk(p: &Path, out: &mut Vec<u8>) {
            let Ok(rd) = std::fs::read_dir(p) else { return };
            for e in rd.flatten() {
                let path: PathBuf = e.path();
                if path.is_dir() {
                    walk(&path, out);
                } else if let Ok(b) = std::fs::read(&path) {
                    out.extend_from_slice(&b);
                    out.push(b'\n');
                }
            }
        }
        let mut out = Vec::new();
        walk(self.data_dir.path(), &mut out);
        out
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.stop();
        if std::thread::panicking() {
            let log = self.log();
            let tail: Vec<&str> = log.lines().rev().take(80).collect();
            eprintln!(
                "--- server output (last {} lines) ---\n{}\n--- end of server output ---",
                tail.len(),
                tail.into_iter().rev().collect::<Vec<_>>().join("\n")
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The browser

/// One HTTP response, body read.
#[derive(Debug, Clone)]
pub struct Page {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
    /// The request URL (path and query) this answers.
    pub request: String,
    base_url: String,
}

impl Page {
    /// `Location` header made relative to the server (path and query) when it points there.
    pub fn location(&self) -> Option<String> {
        let loc = self
            .headers
            .get(reqwest::header::LOCATION)?
            .to_str()
            .ok()?
            .to_string();
        let base = Url::parse(&self.base_url).unwrap();
        let abs = base.join(&loc).ok()?;
        if abs.origin() == base.origin() {
            let mut s = abs.path().to_string();
            if let Some(q) = abs.query() {
                s.push('?');
                s.push_str(q);
            }
            Some(s)
        } else {
            Some(loc)
        }
    }

    pub fn location_path(&self) -> Option<String> {
        self.location()
            .map(|l| l.split('?').next().unwrap().to_string())
    }

    pub fn html(&self) -> Html {
        Html::parse_document(&self.body)
    }

    pub fn count(&self, selector: &str) -> usize {
        let sel = Selector::parse(selector).unwrap();
        self.html().select(&sel).count()
    }

    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(|s| s.to_string())
    }

    pub fn set_cookies(&self) -> Vec<String> {
        self.headers
            .get_all(reqwest::header::SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .map(|s| s.to_string())
            .collect()
    }

    /// Short description for assertion messages.
    pub fn describe(&self) -> String {
        let mut b = self.body.clone();
        if b.len() > 3000 {
            let mut cut = 3000;
            while !b.is_char_boundary(cut) {
                cut -= 1;
            }
            b.truncate(cut);
            b.push_str("...");
        }
        format!(
            "{} -> {} (Location: {:?})\n{}",
            self.request,
            self.status,
            self.location(),
            b
        )
    }

    pub fn expect_status(&self, st: u16, what: &str) -> &Page {
        assert_eq!(
            self.status.as_u16(),
            st,
            "{what}: expected {st}, got {}",
            self.describe()
        );
        self
    }

    /// Asserts `303` with a `Location` whose path is `path`.
    pub fn expect_see_other(&self, path: &str, what: &str) -> &Page {
        assert_eq!(
            self.status.as_u16(),
            303,
            "{what}: expected 303 to {path}, got {}",
            self.describe()
        );
        assert_eq!(
            self.location_path().as_deref(),
            Some(path),
            "{what}: 303 Location; {}",
            self.describe()
        );
        self
    }
}

fn csrf_of(body: &str) -> Option<String> {
    let doc = Html::parse_document(body);
    let sel = Selector::parse("input[name=csrf]").unwrap();
    doc.select(&sel)
        .next()
        .and_then(|e| e.value().attr("value"))
        .map(|s| s.to_string())
}

/// A browser: its own cookie jar, no automatic redirects, remembers the `csrf` field of the last
/// HTML page that had one. Clones share the cookie jar (and start with the same csrf).
#[derive(Debug)]
pub struct Browser {
    client: Client,
    base_url: String,
    csrf: Mutex<Option<String>>,
    /// Last value of every cookie set by the server (shared by clones, like the jar).
    cookies: Arc<Mutex<std::collections::BTreeMap<String, String>>>,
}

impl Clone for Browser {
    fn clone(&self) -> Self {
        Browser {
            client: self.client.clone(),
            base_url: self.base_url.clone(),
            csrf: Mutex::new(self.csrf.lock().unwrap().clone()),
            cookies: self.cookies.clone(),
        }
    }
}

impl Browser {
    pub fn new(base_url: &str) -> Browser {
        Browser::with_headers(base_url, HeaderMap::new())
    }

    /// A browser that sends `headers` with every request (e.g. `Accept-Language`).
    pub fn with_headers(base_url: &str, headers: HeaderMap) -> Browser {
        let client = Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(30))
            .default_headers(headers)
            .build()
            .expect("http client");
        Browser {
            client,
            base_url: base_url.to_string(),
            csrf: Mutex::new(None),
            cookies: Default::default(),
        }
    }

    /// A browser over a caller-built client (e.g. with `.resolve()` for test host names); the
    /// client should keep cookies and not follow redirects, like [`Browser::new`]'s.
    pub fn with_client(base_url: &str, client: Client) -> Browser {
        Browser {
            client,
            base_url: base_url.to_string(),
            csrf: Mutex::new(None),
            cookies: Default::default(),
        }
    }

    /// The cookies the server has set so far (name, value), e.g. to replay a request later.
    pub fn cookie_snapshot(&self) -> Vec<(String, String)> {
        self.cookies
            .lock()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }

    /// POST a form from outside this browser, with exactly the given cookies (an attacker
    /// replaying captured cookies). Does not touch this browser's jar.
    pub fn post_form_with_cookies(
        &self,
        path: &str,
        fields: &[(&str, &str)],
        cookies: &[(String, String)],
    ) -> Page {
        let client = Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(30))
            .build()
            .expect("http client");
        let header = cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ");
        let r = client
            .post(self.abs(path))
            .header(reqwest::header::COOKIE, header)
            .form(fields)
            .send();
        let r = r.unwrap_or_else(|e| panic!("POST {path}: {e}"));
        let status = r.status();
        let headers = r.headers().clone();
        let body = r.text().unwrap_or_default();
        Page {
            status,
            headers,
            body,
            request: format!("POST {path} (replayed cookies)"),
            base_url: self.base_url.clone(),
        }
    }

    pub fn csrf(&self) -> Option<String> {
        self.csrf.lock().unwrap().clone()
    }

    fn finish(&self, request: String, r: reqwest::Result<reqwest::blocking::Response>) -> Page {
        let r = r.unwrap_or_else(|e| panic!("{request}: {e}"));
        let status = r.status();
        let headers = r.headers().clone();
        {
            let mut jar = self.cookies.lock().unwrap();
            for v in headers
                .get_all(reqwest::header::SET_COOKIE)
                .iter()
                .filter_map(|v| v.to_str().ok())
            {
                if let Some((k, val)) = v.split(';').next().and_then(|kv| kv.split_once('=')) {
                    jar.insert(k.trim().to_string(), val.trim().to_string());
                }
            }
        }
        let body = r
            .text()
            .unwrap_or_else(|e| panic!("{request}: reading body: {e}"));
        if let Some(c) = csrf_of(&body) {
            *self.csrf.lock().unwrap() = Some(c);
        }
        Page {
            status,
            headers,
            body,
            request,
            base_url: self.base_url.clone(),
        }
    }

    fn abs(&self, path: &str) -> String {
        Url::parse(&self.base_url)
            .unwrap()
            .join(path)
            .unwrap()
            .to_string()
    }

    pub fn get(&self, path: &str) -> Page {
        self.finish(
            format!("GET {path}"),
            self.client.get(self.abs(path)).send(),
        )
    }

    /// POST a form exactly as given (no csrf added).
    pub fn post_form_raw(&self, path: &str, fields: &[(&str, &str)]) -> Page {
        self.finish(
            format!("POST {path}"),
            self.client.post(self.abs(path)).form(fields).send(),
        )
    }

    /// POST a form with the `csrf` field of the last page seen added.
    pub fn post_form(&self, path: &str, fields: &[(&str, &str)]) -> Page {
        let csrf = self.csrf();
        let mut v: Vec<(&str, &str)> = fields.to_vec();
        if let Some(c) = csrf.as_deref() {
            v.push(("csrf", c));
        }
        self.post_form_raw(path, &v)
    }

    /// Follows a 303 (GET of its Location).
    pub fn follow(&self, page: &Page) -> Page {
        assert_eq!(
            page.status.as_u16(),
            303,
            "expected a 303 to follow: {}",
            page.describe()
        );
        let loc = page.location().expect("303 without Location");
        self.get(&loc)
    }

    /// GET /login, POST /login, follow the 303 to GET /login/matrix; returns the grid.
    pub fn start_login(&self, username: &str) -> GridPage {
        let form = self.get("/login");
        form.expect_status(200, "GET /login");
        assert!(
            self.csrf().is_some(),
            "GET /login has no input[name=csrf]: {}",
            form.describe()
        );
        let r = self.post_form("/login", &[("username", username)]);
        r.expect_see_other("/login/matrix", &format!("POST /login username={username}"));
        let grid = self.follow(&r);
        grid.expect_status(200, "GET /login/matrix");
        GridPage::parse(grid)
    }

    /// GET /login/matrix (a fresh grid for the current attempt).
    pub fn fetch_grid(&self) -> GridPage {
        let p = self.get("/login/matrix");
        p.expect_status(200, "GET /login/matrix");
        GridPage::parse(p)
    }

    /// POST /login/matrix otp=...
    pub fn submit_otp(&self, otp: &str) -> Page {
        self.post_form("/login/matrix", &[("otp", otp)])
    }

    /// GET /session: Some(json) on 200, None on 401.
    pub fn session_json(&self) -> Option<serde_json::Value> {
        let p = self.get("/session");
        match p.status.as_u16() {
            200 => Some(
                serde_json::from_str(&p.body)
                    .unwrap_or_else(|e| panic!("GET /session: not JSON ({e}): {}", p.describe())),
            ),
            401 => None,
            _ => panic!("GET /session: expected 200 or 401, got {}", p.describe()),
        }
    }

    /// Full sign-in with `pattern` on a fresh grid; asserts the 303 to `expect_path`.
    pub fn sign_in(&self, username: &str, pattern: &[u16], expect_path: &str) -> Page {
        let grid = self.start_login(username);
        let r = self.submit_otp(&grid.answer(pattern));
        r.expect_see_other(expect_path, &format!("right answer for {username}"));
        r
    }
}

/// A grid page: `(cell, digit)` for every element with `data-cell`.
#[derive(Debug, Clone)]
pub struct GridPage {
    pub digits: Vec<(u16, u8)>,
    pub page: Page,
}

impl GridPage {
    /// Parses the elements with `data-cell`; each must hold exactly one digit.
    pub fn parse(page: Page) -> GridPage {
        let digits = Self::try_parse(&page)
            .unwrap_or_else(|e| panic!("grid page: {e}: {}", page.describe()));
        assert!(
            !digits.is_empty(),
            "grid page has no [data-cell] elements: {}",
            page.describe()
        );
        GridPage { digits, page }
    }

    pub fn try_parse(page: &Page) -> Result<Vec<(u16, u8)>, String> {
        let doc = page.html();
        let sel = Selector::parse("[data-cell]").unwrap();
        let mut v = Vec::new();
        for e in doc.select(&sel) {
            let cell_s = e.value().attr("data-cell").unwrap();
            let cell: u16 = cell_s
                .trim()
                .parse()
                .map_err(|_| format!("data-cell={cell_s:?} is not a number"))?;
            let text: String = e.text().collect::<String>();
            let t = text.trim();
            let mut ch = t.chars();
            match (ch.next(), ch.next()) {
                (Some(d), None) if d.is_ascii_digit() => v.push((cell, d as u8 - b'0')),
                _ => return Err(format!("cell {cell} text {t:?} is not a single digit")),
            }
        }
        Ok(v)
    }

    pub fn digit(&self, cell: u16) -> u8 {
        self.digits
            .iter()
            .find(|(c, _)| *c == cell)
            .map(|(_, d)| *d)
            .unwrap_or_else(|| panic!("no data-cell={cell} on the grid page"))
    }

    /// The digits at the pattern's cells, in pattern order.
    pub fn answer(&self, pattern: &[u16]) -> String {
        pattern
            .iter()
            .map(|c| char::from(b'0' + self.digit(*c)))
            .collect()
    }

    /// An answer that differs from the right one in every position.
    pub fn wrong_answer(&self, pattern: &[u16]) -> String {
        pattern
            .iter()
            .map(|c| char::from(b'0' + (self.digit(*c) + 1) % 10))
            .collect()
    }

    pub fn cells(&self) -> Vec<u16> {
        let mut c: Vec<u16> = self.digits.iter().map(|(c, _)| *c).collect();
        c.sort_unstable();
        c
    }

    /// Asserts the default 4x12 grid: cells 0..48 exactly once each, and an `otp` field.
    pub fn assert_full_grid(&self) {
        assert_eq!(
            self.digits.len(),
            48,
            "expected 48 cells (4x12): {}",
            self.page.describe()
        );
        assert_eq!(
            self.cells(),
            (0..48).collect::<Vec<u16>>(),
            "cells are not 0..48: {}",
            self.page.describe()
        );
        assert!(
            self.page.count("input[name=otp]") >= 1,
            "grid page has no otp field: {}",
            self.page.describe()
        );
        assert!(
            self.page.count("input[name=csrf]") >= 1,
            "grid page has no csrf field: {}",
            self.page.describe()
        );
    }
}

// ---------------------------------------------------------------------------------------------
// More nodes, and a PostgreSQL server of the test's own

/// Another server process on the same PostgreSQL database and KEK as `first` (scale-out tests).
/// Killed when dropped.
#[derive(Debug)]
pub struct Node {
    child: Child,
    base: String,
    log: SharedLog,
}

impl Node {
    /// Starts a node sharing `first`'s database, data directory (the KEK) and public URL (as
    /// nodes behind one load balancer do: one OIDC issuer, one SAML entity ID).
    pub fn start(first: &TestServer) -> Node {
        Node::try_start_with(
            first
                .database_url()
                .expect("a second node needs PostgreSQL"),
            first.data_dir(),
            Some(first.base_url()),
        )
        .unwrap_or_else(|out| panic!("the node exited before it was ready:\n{out}"))
    }

    /// Starts a node on this database URL, with the KEK in `data_dir`.
    pub fn start_on(database_url: &str, data_dir: &Path) -> Node {
        Node::try_start_on(database_url, data_dir)
            .unwrap_or_else(|out| panic!("the node exited before it was ready:\n{out}"))
    }

    /// Like `start_on`, but `Err(everything it printed)` when the process ends before `ready:`.
    pub fn try_start_on(database_url: &str, data_dir: &Path) -> Result<Node, String> {
        Node::try_start_with(database_url, data_dir, None)
    }

    fn try_start_with(
        database_url: &str,
        data_dir: &Path,
        public_url: Option<&str>,
    ) -> Result<Node, String> {
        let mut cmd = Command::new(SERVER_BIN);
        cmd.args([
            "serve",
            "--demo",
            "--listen",
            "127.0.0.1:0",
            "--database-url",
        ])
        .arg(database_url)
        .arg("--data-dir")
        .arg(data_dir);
        if let Some(u) = public_url {
            cmd.args(["--public-url", u]);
        }
        cmd.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        child_env_clean(&mut cmd);
        let mut child = cmd.spawn().expect("spawn a node");
        let log: SharedLog = Arc::new(Mutex::new(String::new()));
        let err_log = log.clone();
        let mut stderr = child.stderr.take().unwrap();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = stderr.read(&mut buf) {
                if n == 0 {
                    break;
                }
                err_log
                    .lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        });
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let base = loop {
            match lines.next() {
                Some(Ok(l)) => {
                    log.lock().unwrap().push_str(&format!("{l}\n"));
                    if let Some(u) = l.strip_prefix("ready: ") {
                        break u.trim().to_owned();
                    }
                }
                _ => {
                    let _ = child.wait();
                    std::thread::sleep(Duration::from_millis(200));
                    return Err(log.lock().unwrap().clone());
                }
            }
        };
        let out_log = log.clone();
        std::thread::spawn(move || {
            for l in lines.map_while(Result::ok) {
                out_log.lock().unwrap().push_str(&format!("{l}\n"));
            }
        });
        Ok(Node { child, base, log })
    }

    pub fn base_url(&self) -> &str {
        &self.base
    }

    /// `base_url` + `path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Everything the node printed.
    pub fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    /// SIGKILL: the node dies mid-flow, as a crashed machine would.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A PostgreSQL server of this test's own (initdb in a temporary directory, a free port), for
/// tests that restart the database: the shared server at 127.0.0.1:5432 serves every other test
/// at the same time and must not be restarted. Runs the server binaries as the `postgres` user
/// when the tests run as root (PostgreSQL refuses to run as root). Stopped when dropped.
#[derive(Debug)]
pub struct PrivatePostgres {
    dir: tempfile::TempDir,
    bin: PathBuf,
    port: u16,
}

impl PrivatePostgres {
    fn bin_dir() -> PathBuf {
        let base = Path::new("/usr/lib/postgresql");
        let mut versions: Vec<PathBuf> = std::fs::read_dir(base)
            .unwrap_or_else(|e| panic!("{}: {e} (install the PostgreSQL server)", base.display()))
            .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
            .filter(|p| p.join("initdb").exists())
            .collect();
        versions.sort();
        versions
            .pop()
            .expect("no PostgreSQL server binaries under /usr/lib/postgresql")
    }

    fn run(&self, tool: &str, args: &[&str]) -> Output {
        let exe = self.bin.join(tool);
        let is_root = Command::new("id")
            .arg("-u")
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
            .unwrap_or(false);
        let mut cmd = if is_root {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&exe);
            c
        } else {
            Command::new(&exe)
        };
        cmd.args(args)
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("{tool}: {e}"))
    }

    pub fn start() -> PrivatePostgres {
        let dir = tempfile::Builder::new()
            .prefix("plidp-pg-")
            .tempdir()
            .expect("temp dir");
        let _ = Command::new("chown")
            .args(["-R", "postgres"])
            .arg(dir.path())
            .status();
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap().port()
        };
        let pg = PrivatePostgres {
            bin: Self::bin_dir(),
            port,
            dir,
        };
        let data = pg.data_dir();
        let o = pg.run(
            "initdb",
            &["-D", &data, "-A", "trust", "-U", "postgres", "--no-sync"],
        );
        assert!(o.status.success(), "initdb: {}", output_text(&o));
        pg.pg_ctl("start");
        pg
    }

    fn data_dir(&self) -> String {
        self.dir.path().join("data").display().to_string()
    }

    fn pg_ctl(&self, action: &str) {
        let opts = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off",
            self.port,
            self.dir.path().display()
        );
        let log = self.dir.path().join("log").display().to_string();
        let data = self.data_dir();
        let mut args = vec!["-D", data.as_str(), "-l", log.as_str(), "-w", "-t", "60"];
        if action != "stop" {
            args.extend(["-o", opts.as_str()]);
        }
        if action != "start" {
            args.extend(["-m", "fast"]);
        }
        args.push(action);
        let o = self.run("pg_ctl", &args);
        assert!(o.status.success(), "pg_ctl {action}: {}", output_text(&o));
    }

    /// `postgres://postgres@127.0.0.1:PORT/postgres`: set it as PASSLOGIC_TEST_DATABASE_URL so
    /// that `TestServer::start(Backend::Postgres, ..)` creates its database here.
    pub fn admin_url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// Stops the server (fast shutdown: clients are disconnected).
    pub fn stop(&self) {
        self.pg_ctl("stop");
    }

    /// Starts it again after `stop`.
    pub fn start_again(&self) {
        self.pg_ctl("start");
    }
}

impl Drop for PrivatePostgres {
    fn drop(&mut self) {
        let data = self.data_dir();
        let _ = self.run("pg_ctl", &["-D", &data, "-m", "immediate", "stop"]);
    }
}
