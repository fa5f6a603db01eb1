//! The admin console's user pages on the admin listener: only signed-in administrators get in
//! (sign-in through the same pipeline, served on the admin listener), the user list searches,
//! filters and pages through a large directory, a user created in the console gets a printable
//! initial-pattern notice that really signs in, edits and actions are audited, and every form
//! refuses a missing CSRF token.

mod common;

use common::{Backend, Browser, TestServer};

both_backends!(
    only_administrators,
    create_edit_and_act_on_a_user,
    list_filters_and_pages,
    client_certificates_from_the_console
);

fn only_administrators(backend: Backend) {
    let server = TestServer::start(backend, &[]);
    let admin_base = server.admin_base();
    // No session: to the sign-in page of the admin listener, coming back to the page after.
    let anon = Browser::new(&admin_base);
    let p = anon.get("/console/users?q=x");
    p.expect_see_other("/login", "console without a session");
    assert_eq!(
        p.location().as_deref(),
        Some("/login?return_to=/console/users%3Fq%3Dx"),
        "comes back to the page after sign-in"
    );
    // A signed-in user who is not an administrator: 403 with the reason, on every page.
    let user = Browser::new(&admin_base);
    user.sign_in("demo", &server.pattern_of("demo"), "/");
    for path in [
        "/console",
        "/console/users",
        "/console/users/new",
        "/console/users/demo",
    ] {
        let p = user.get(path);
        p.expect_status(403, path);
        assert!(
            p.body.contains("not an administrator"),
            "{path}: {}",
            p.describe()
        );
    }
    // POSTs too, even with a valid CSRF token.
    user.post_form("/console/users", &[("name", "intruder")])
        .expect_status(403, "create by a non-admin");
    assert!(server.cli(&["user", "show", "intruder"]).status.code() != Some(0));
    // The administrator gets in.
    let admin = server.console_browser();
    let p = admin.get("/console");
    p.expect_status(200, "dashboard");
    assert_eq!(p.count("span.num[data-count=users]"), 1, "{}", p.describe());
    // The same session cookie does not exist on the user listener's pages of another origin
    // (ports differ but cookies are per host: the console is still guarded by the admin flag).
    assert_eq!(admin.get("/console/users").status.as_u16(), 200);
}

fn field(page: &common::Page, selector: &str, attr: &str) -> String {
    let html = page.html();
    let sel = scraper::Selector::parse(selector).expect("selector");
    html.select(&sel)
        .next()
        .and_then(|e| e.value().attr(attr))
        .unwrap_or_else(|| panic!("no {selector}[{attr}] in {}", page.describe()))
        .to_owned()
}

fn create_edit_and_act_on_a_user(backend: Backend) {
    let server = TestServer::start(backend, &[]);
    server.cli_ok(&["group", "add", "sales", "--kind", "department"]);
    let admin = server.console_browser();
    admin
        .get("/console/users/new")
        .expect_status(200, "new user form");
    // CSRF: the same form without the token is refused and creates nothing.
    admin
        .post_form_raw("/console/users", &[("name", "taro")])
        .expect_status(403, "create without CSRF");
    assert!(server.cli(&["user", "show", "taro"]).status.code() != Some(0));
    // Validation: a bad name, a bad e-mail and an unknown group re-render with the reason.
    for (fields, why) in [
        (vec![("name", "bad name!")], "Login names"),
        (
            vec![("name", "taro"), ("email", "not-an-address")],
            "not an e-mail",
        ),
        (vec![("name", "taro"), ("group", "nope")], "no group"),
    ] {
        let p = admin.post_form("/console/users", &fields);
        p.expect_status(422, why);
        assert!(p.body.contains(why), "{why}: {}", p.describe());
    }
    assert!(server.cli(&["user", "show", "taro"]).status.code() != Some(0));
    // Create: the notice shows the initial pattern once.
    let p = admin.post_form(
        "/console/users",
        &[
            ("name", "taro"),
            ("display_name", "Yamada Taro"),
            ("email", "taro@example.jp"),
            ("department", "Sales"),
            ("group", "sales"),
        ],
    );
    p.expect_status(200, "create");
    assert!(p.body.contains("data-notice"), "{}", p.describe());
    let notice = {
        let html = p.html();
        let sel = scraper::Selector::parse("pre[data-notice]").unwrap();
        html.select(&sel).next().unwrap().text().collect::<String>()
    };
    // The printed grid numbers the cells in pattern order; rebuild the pattern from it.
    let pattern = notice_pattern(&p);
    assert!(
        pattern.len() >= 6,
        "pattern from the notice grid: {pattern:?} ({notice})"
    );
    let shown = server.user_show("taro");
    assert_eq!(shown["department"], "Sales");
    assert_eq!(shown["email"], "taro@example.jp");
    assert_eq!(shown["groups"], serde_json::json!(["sales"]));
    assert_eq!(shown["must_change_pattern"], true);
    // That pattern signs in (to the forced pattern change).
    let user = Browser::new(server.base_url());
    let grid = user.start_login("taro");
    user.submit_otp(&grid.answer(&pattern))
        .expect_see_other("/pattern/setup", "sign-in with the printed notice");
    // The name is taken now.
    let p = admin.post_form("/console/users", &[("name", "taro")]);
    p.expect_status(422, "duplicate");
    assert!(p.body.contains("already exists"));
    // Edit.
    admin
        .post_form(
            "/console/users/taro",
            &[
                ("display_name", "Yamada T."),
                ("email", "t.yamada@example.jp"),
                ("department", "Marketing"),
                ("position", "Manager"),
            ],
        )
        .expect_see_other("/console/users/taro", "edit");
    let shown = server.user_show("taro");
    assert_eq!(shown["display_name"], "Yamada T.");
    assert_eq!(shown["department"], "Marketing");
    assert_eq!(shown["position"], "Manager");
    // Disable ends the user's sessions and blocks sign-in; enable restores it.
    admin
        .post_form("/console/users/taro/action", &[("op", "disable")])
        .expect_see_other("/console/users/taro", "disable");
    assert_eq!(server.user_show("taro")["enabled"], false);
    let p = admin.get("/console/users/taro");
    assert_eq!(p.count("[data-status=disabled]"), 1, "{}", p.describe());
    admin
        .post_form("/console/users/taro/action", &[("op", "enable")])
        .expect_see_other("/console/users/taro", "enable");
    assert_eq!(server.user_show("taro")["enabled"], true);
    // Reset the pattern: a new notice; the old pattern no longer signs in.
    let p = admin.post_form("/console/users/taro/action", &[("op", "reset_pattern")]);
    p.expect_status(200, "reset pattern");
    let new_pattern = notice_pattern(&p);
    let user = Browser::new(server.base_url());
    let grid = user.start_login("taro");
    if new_pattern != pattern {
        let p = user.submit_otp(&grid.answer(&pattern));
        assert_ne!(
            p.location_path().as_deref(),
            Some("/pattern/setup"),
            "old pattern still works"
        );
    }
    let user = Browser::new(server.base_url());
    let grid = user.start_login("taro");
    user.submit_otp(&grid.answer(&new_pattern))
        .expect_see_other("/pattern/setup", "sign-in with the new notice");
    // Groups: leave and join.
    admin
        .post_form(
            "/console/users/taro/groups",
            &[("op", "leave"), ("group", "sales")],
        )
        .expect_see_other("/console/users/taro", "leave group");
    assert_eq!(server.user_show("taro")["groups"], serde_json::json!([]));
    let p = admin.post_form(
        "/console/users/taro/groups",
        &[("op", "join"), ("group", "ghost")],
    );
    p.expect_status(422, "join unknown group");
    admin
        .post_form(
            "/console/users/taro/groups",
            &[("op", "join"), ("group", "sales")],
        )
        .expect_see_other("/console/users/taro", "join group");
    // Every form refuses a missing token.
    for (path, fields) in [
        ("/console/users/taro", vec![("display_name", "x")]),
        ("/console/users/taro/action", vec![("op", "disable")]),
        (
            "/console/users/taro/groups",
            vec![("op", "leave"), ("group", "sales")],
        ),
    ] {
        admin.post_form_raw(path, &fields).expect_status(403, path);
    }
    assert_eq!(server.user_show("taro")["enabled"], true);
    // Audited with the console actor.
    let audit = audit_events(&server);
    for event in [
        "user.created",
        "user.updated",
        "user.disabled",
        "user.enabled",
        "pattern.reset",
    ] {
        assert!(
            audit
                .lines()
                .any(|l| l.contains(event) && l.contains("console:admin")),
            "{event} by console:admin not audited:\n{audit}"
        );
    }
}

/// The pattern a notice page shows: each grid cell lists the 1-based positions that use it.
fn notice_pattern(page: &common::Page) -> Vec<u16> {
    let html = page.html();
    let rows = scraper::Selector::parse("table.notice-grid tr").unwrap();
    let cells = scraper::Selector::parse("td").unwrap();
    let mut positions: Vec<(usize, u16)> = Vec::new();
    let mut index = 0u16;
    for row in html.select(&rows) {
        for td in row.select(&cells) {
            let text: String = td.text().collect();
            for p in text.split(',').filter(|s| !s.trim().is_empty()) {
                positions.push((p.trim().parse().expect("position"), index));
            }
            index += 1;
        }
    }
    positions.sort();
    positions.into_iter().map(|(_, c)| c).collect()
}

fn list_filters_and_pages(backend: Backend) {
    let server = TestServer::start(backend, &[]);
    // 1,200 users: 10 in a group, a few disabled.
    server.cli_ok(&["seed-users", "--count", "1200", "--prefix", "bulk"]);
    server.cli_ok(&["group", "add", "audit-team"]);
    for i in 0..10 {
        server.cli_ok(&[
            "group",
            "add-user",
            "audit-team",
            &format!("bulk{}", i * 100),
        ]);
    }
    for i in [3, 7] {
        server.cli_ok(&["user", "disable", &format!("bulk{i}")]);
    }
    let admin = server.console_browser();
    // Paging: 50 per page, every user exactly once, in name order.
    let mut seen = Vec::new();
    let mut path = "/console/users?q=bulk".to_owned();
    let first = admin.get(&path);
    first.expect_status(200, "first page");
    assert_eq!(field(&first, "[data-total]", "data-total"), "1200");
    loop {
        let p = admin.get(&path);
        p.expect_status(200, &path);
        let html = p.html();
        let sel = scraper::Selector::parse("tr[data-user]").unwrap();
        let names: Vec<String> = html
            .select(&sel)
            .map(|e| e.value().attr("data-user").unwrap().to_owned())
            .collect();
        assert!(names.len() <= 50);
        seen.extend(names);
        let next = scraper::Selector::parse("a[data-next]").unwrap();
        match html.select(&next).next() {
            Some(a) => path = a.value().attr("href").unwrap().replace("&amp;", "&"),
            None => break,
        }
    }
    assert_eq!(seen.len(), 1200);
    let mut sorted = seen.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted, seen, "pages overlap or are out of order");
    // Filters.
    let p = admin.get("/console/users?group=audit-team");
    assert_eq!(field(&p, "[data-total]", "data-total"), "10");
    assert_eq!(p.count("tr[data-user]"), 10);
    let p = admin.get("/console/users?status=disabled&q=bulk");
    assert_eq!(field(&p, "[data-total]", "data-total"), "2");
    let p = admin.get("/console/users?q=bulk1199");
    assert_eq!(p.count("tr[data-user]"), 1);
    // LIKE wildcards in the search text match themselves, not everything.
    let p = admin.get("/console/users?q=%25");
    assert_eq!(field(&p, "[data-total]", "data-total"), "0");
    let p = admin.get("/console/users?q=_");
    assert_eq!(field(&p, "[data-total]", "data-total"), "0");
    // An unknown group matches nobody; an unknown status is ignored.
    let p = admin.get("/console/users?group=nope");
    assert_eq!(field(&p, "[data-total]", "data-total"), "0");
}

/// The audit trail as the admin API lists it (the demo prints an all-scopes token).
fn audit_events(server: &TestServer) -> String {
    let token = server
        .log()
        .lines()
        .rev()
        .find_map(|l| {
            l.trim()
                .strip_prefix("admin-token:")
                .map(|v| v.trim().to_owned())
        })
        .expect("admin-token printed");
    let body = reqwest::blocking::Client::new()
        .get(format!("{}/api/v1/audit?limit=500", server.admin_base()))
        .bearer_auth(token)
        .send()
        .and_then(|r| r.text())
        .expect("GET /api/v1/audit");
    let v: serde_json::Value = serde_json::from_str(&body).expect("audit JSON");
    let events = v
        .as_array()
        .cloned()
        .or_else(|| v["events"].as_array().cloned())
        .unwrap_or_default();
    events
        .iter()
        .map(|e| e.to_string())
        .collect::<Vec<_>>()
        .join("\n")
}

/// Issue #8's "download from the admin console": issue a certificate for a user (password shown
/// once, the PKCS#12 downloads once and opens with `openssl pkcs12` under that password), print
/// its sheet, revoke it; CSRF required.
fn client_certificates_from_the_console(backend: Backend) {
    let server = TestServer::start(backend, &[]);
    let admin = server.console_browser();
    admin
        .post_form_raw("/console/users/demo/certificates", &[])
        .expect_status(403, "issue without CSRF");
    let p = admin.post_form("/console/users/demo/certificates", &[]);
    p.expect_status(200, "issue");
    let password = field(&p, "[data-p12-password]", "data-p12-password");
    let serial = field(&p, "[data-serial]", "data-serial");
    let link = field(&p, "a[data-download]", "href").replace("&amp;", "&");
    let url = format!("{}{link}", server.admin_base());
    let der = reqwest::blocking::get(&url)
        .unwrap()
        .bytes()
        .unwrap()
        .to_vec();
    let file = server.data_dir().join("console.p12");
    std::fs::write(&file, &der).unwrap();
    let opened = std::process::Command::new("openssl")
        .args([
            "pkcs12",
            "-in",
            file.to_str().unwrap(),
            "-nokeys",
            "-clcerts",
        ])
        .arg("-passin")
        .arg(format!("pass:{password}"))
        .output()
        .expect("openssl");
    let text = String::from_utf8_lossy(&opened.stdout);
    assert!(
        opened.status.success() && text.contains("BEGIN CERTIFICATE") && text.contains("demo"),
        "openssl pkcs12: {text} {}",
        String::from_utf8_lossy(&opened.stderr)
    );
    // The link works once.
    assert_eq!(reqwest::blocking::get(&url).unwrap().status().as_u16(), 410);
    // Listed on the user page as active; the sheet prints once with the password.
    let p = admin.get("/console/users/demo");
    assert_eq!(
        p.count(&format!("li[data-certificate='{serial}'] .badge.enabled")),
        1,
        "{}",
        p.describe()
    );
    let sheet = admin.get(&format!("/console/users/demo/certificates/{serial}/sheet"));
    sheet.expect_status(200, "sheet");
    assert!(
        sheet.body.contains(&password),
        "the sheet shows the password the first time"
    );
    let again = admin.get(&format!("/console/users/demo/certificates/{serial}/sheet"));
    assert!(!again.body.contains(&password), "only the first time");
    // The user sees it on the portal's certificate page; without a session there is none.
    let user = Browser::new(server.base_url());
    user.sign_in("demo", &server.pattern_of("demo"), "/");
    let mine = user.get("/account/certificates");
    mine.expect_status(200, "own certificates");
    assert_eq!(
        mine.count(&format!("tr[data-certificate='{serial}']")),
        1,
        "{}",
        mine.describe()
    );
    let anon = Browser::new(server.base_url());
    anon.get("/account/certificates")
        .expect_see_other("/login", "no session");
    // Revoke: CSRF needed; then listed as revoked, and a second revoke is a 404.
    let revoke = format!("/console/users/demo/certificates/{serial}/revoke");
    admin
        .post_form_raw(&revoke, &[])
        .expect_status(403, "revoke without CSRF");
    admin
        .post_form(&revoke, &[])
        .expect_see_other("/console/users/demo", "revoke");
    let p = admin.get("/console/users/demo");
    assert_eq!(
        p.count(&format!("li[data-certificate='{serial}'] .badge.disabled")),
        1
    );
    admin
        .post_form(&revoke, &[])
        .expect_status(404, "second revoke");
    assert!(server.cli_ok(&["cert", "list", "demo"]).contains("revoked"));
    // A serial of demo's cannot be revoked (or printed) through another user.
    let p = admin.post_form("/console/users/demo-mfa/certificates", &[]);
    let other_serial = field(&p, "[data-serial]", "data-serial");
    admin
        .post_form(
            &format!("/console/users/demo/certificates/{other_serial}/revoke"),
            &[],
        )
        .expect_status(404, "revoke through the wrong user");
    admin
        .get(&format!(
            "/console/users/demo/certificates/{other_serial}/sheet"
        ))
        .expect_status(404, "sheet through the wrong user");
}
