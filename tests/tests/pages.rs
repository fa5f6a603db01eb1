//! Page-level properties: language, security headers, cookie attributes, redirects.

mod common;

use common::{Backend, Browser, Page, TestServer};
use reqwest::header::{HeaderMap, HeaderValue, ACCEPT_LANGUAGE};
use scraper::Selector;

both_backends!(
    login_page_in_japanese_and_english,
    security_headers_present,
    session_cookie_attributes,
    protected_page_redirects_to_login,
    healthz_and_test_clock_route,
);

fn html_lang(p: &Page) -> Option<String> {
    let sel = Selector::parse("html").unwrap();
    p.html()
        .select(&sel)
        .next()
        .and_then(|e| e.value().attr("lang"))
        .map(|s| s.to_string())
}

fn is_japanese(c: char) -> bool {
    ('\u{3040}'..='\u{30FF}').contains(&c) || ('\u{4E00}'..='\u{9FFF}').contains(&c)
}

fn browser_lang(server: &TestServer, lang: &str) -> Browser {
    let mut h = HeaderMap::new();
    h.insert(ACCEPT_LANGUAGE, HeaderValue::from_str(lang).unwrap());
    Browser::with_headers(server.base_url(), h)
}

/// 12a. `Accept-Language: ja` gives Japanese; default is English.
fn login_page_in_japanese_and_english(backend: Backend) {
    let server = TestServer::start(backend, &[]);

    let ja = browser_lang(&server, "ja");
    let p = ja.get("/login");
    p.expect_status(200, "GET /login (ja)");
    assert!(
        p.body.contains("lang=\"ja\""),
        "no lang=\"ja\" on the Japanese page: {}",
        p.describe()
    );
    assert_eq!(
        html_lang(&p).as_deref(),
        Some("ja"),
        "<html lang> of the Japanese page"
    );
    assert!(
        p.body.chars().any(is_japanese),
        "no Japanese text on /login with Accept-Language: ja: {}",
        p.describe()
    );

    let ja_full = browser_lang(&server, "ja-JP,ja;q=0.9,en;q=0.5");
    let p = ja_full.get("/login");
    assert_eq!(
        html_lang(&p).as_deref(),
        Some("ja"),
        "Accept-Language: ja-JP,...: {}",
        p.describe()
    );

    for b in [server.browser(), browser_lang(&server, "en-US,en;q=0.9")] {
        let p = b.get("/login");
        p.expect_status(200, "GET /login (en)");
        assert!(
            p.body.contains("lang=\"en\""),
            "no lang=\"en\" on the default page: {}",
            p.describe()
        );
        assert_eq!(
            html_lang(&p).as_deref(),
            Some("en"),
            "<html lang> of the default page"
        );
    }

    // The grid page follows the language too.
    let g = ja.start_login("demo");
    assert_eq!(
        html_lang(&g.page).as_deref(),
        Some("ja"),
        "grid page with Accept-Language: ja"
    );
}

fn assert_csp(p: &Page) {
    let csp = p
        .header("content-security-policy")
        .unwrap_or_else(|| panic!("no Content-Security-Policy: {}", p.describe()));
    assert!(
        csp.contains("default-src 'none'") || csp.contains("default-src 'self'"),
        "{}: CSP {csp:?} lacks default-src 'none' or 'self'",
        p.request
    );
}

/// 12b. Every page carries a Content-Security-Policy.
fn security_headers_present(backend: Backend) {
    let server = TestServer::start(backend, &[]);
    let pattern = server.pattern_of("demo");
    let b = server.browser();
    let login = b.get("/login");
    assert_csp(&login);
    let g = b.start_login("demo");
    assert_csp(&g.page);
    let wrong = b.submit_otp(&g.wrong_answer(&pattern));
    wrong.expect_status(401, "wrong answer");
    assert_csp(&wrong);
    b.sign_in("demo", &pattern, "/");
    let home = b.get("/");
    home.expect_status(200, "GET /");
    assert_csp(&home);
}

/// 12c. The session cookie is HttpOnly and SameSite=Lax.
fn session_cookie_attributes(backend: Backend) {
    let server = TestServer::start(backend, &[]);
    let pattern = server.pattern_of("demo");
    let b = server.browser();
    let g = b.start_login("demo");
    let r = b.submit_otp(&g.answer(&pattern));
    r.expect_see_other("/", "right answer");
    let cookies = r.set_cookies();
    let session = cookies
        .iter()
        .find(|c| c.trim_start().starts_with("pl_session="))
        .unwrap_or_else(|| {
            panic!(
                "successful POST /login/matrix sets no pl_session cookie; Set-Cookie: {cookies:?}"
            )
        });
    let attrs: Vec<String> = session
        .split(';')
        .skip(1)
        .map(|a| a.trim().to_ascii_lowercase())
        .collect();
    assert!(
        attrs.iter().any(|a| a == "httponly"),
        "pl_session is not HttpOnly: {session}"
    );
    assert!(
        attrs.iter().any(|a| a == "samesite=lax"),
        "pl_session is not SameSite=Lax: {session}"
    );
}

/// 12d. A protected page without a session: 303 to /login?return_to=<path>.
fn protected_page_redirects_to_login(backend: Backend) {
    let server = TestServer::start(backend, &[]);
    let pattern = server.pattern_of("demo");
    let b = server.browser();
    let r = b.get("/");
    assert_eq!(
        r.status.as_u16(),
        303,
        "GET / without a session: {}",
        r.describe()
    );
    let loc = r.location().expect("Location");
    assert!(
        loc.starts_with("/login"),
        "GET / without a session redirects to {loc:?}, not /login"
    );
    let url = reqwest::Url::parse(&server.url(&loc)).unwrap();
    assert_eq!(url.path(), "/login", "Location {loc:?}");
    let return_to: Option<String> = url
        .query_pairs()
        .find(|(k, _)| k == "return_to")
        .map(|(_, v)| v.into_owned());
    assert_eq!(
        return_to.as_deref(),
        Some("/"),
        "Location {loc:?} should carry return_to=/"
    );

    // Following it leads to a working sign-in that lands on `/`.
    let login = b.follow(&r);
    login.expect_status(200, "GET /login?return_to=/");
    b.sign_in("demo", &pattern, "/");
    b.get("/").expect_status(200, "GET / after sign-in");
}

/// `GET /healthz` answers `200 ok`; `/_test/clock` exists only with `--test-clock`.
fn healthz_and_test_clock_route(backend: Backend) {
    let server = TestServer::start_without_test_clock(backend);
    let b = server.browser();
    let h = b.get("/healthz");
    h.expect_status(200, "GET /healthz");
    assert_eq!(h.body.trim(), "ok", "GET /healthz body");
    let c = b.post_form_raw("/_test/clock", &[("advance_secs", "400")]);
    c.expect_status(404, "POST /_test/clock without --test-clock");
    // And the clock really did not move: a grid shown now is still good.
    let pattern = server.pattern_of("demo");
    b.sign_in("demo", &pattern, "/");
}
