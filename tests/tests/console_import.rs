//! The console's CSV bulk import, hardware tokens and directory pages over HTTP (harness
//! Browser on the admin listener, signed in as the demo administrator): a 100,000-row file
//! goes through upload -> dry run -> apply in seconds and a re-import changes nothing; broken
//! rows are each reported with their reason, nothing of such a file applies and the errors
//! CSV downloads; a Shift_JIS file keeps its Japanese names; CSRF, non-administrators, and
//! expired, foreign, replayed or made-up upload ids are refused; tokens import, assign and
//! unassign with an audit trail.

mod common;
mod ldap_support;

use std::time::Instant;

use common::{parse_pattern, pattern_csv, Backend, Browser, Page, TestServer};

both_backends!(
    hundred_thousand_rows_dry_run_apply_and_reimport,
    broken_rows_are_reported_and_nothing_applies,
    shift_jis_names_survive,
    refusals_csrf_non_admin_expired_foreign_replayed,
    small_import_shows_notices_that_sign_in,
    hardware_tokens_import_assign_unassign,
    directory_dry_run_and_sync_from_the_console
);

fn count(page: &Page, key: &str) -> i64 {
    let html = page.html();
    let sel = scraper::Selector::parse(&format!("span.num[data-count={key}]")).unwrap();
    html.select(&sel)
        .next()
        .unwrap_or_else(|| panic!("no count {key}: {}", page.describe()))
        .text()
        .collect::<String>()
        .trim()
        .parse()
        .unwrap_or_else(|e| panic!("count {key}: {e}"))
}

fn users_total(admin: &Browser) -> i64 {
    let p = admin.get("/console");
    p.expect_status(200, "dashboard");
    count(&p, "users")
}

/// Uploads `bytes` and returns the dry-run page and its upload path (`/console/import/ID`).
fn upload(admin: &Browser, name: &str, bytes: &[u8], fields: &[(&str, &str)]) -> (Page, String) {
    admin
        .get("/console/import")
        .expect_status(200, "upload form");
    let p = admin.post_multipart("/console/import", fields, Some(("file", name, bytes)));
    p.expect_status(303, "upload");
    let path = p.location_path().expect("upload location");
    assert!(path.starts_with("/console/import/"), "{path}");
    let plan = admin.get_slow(&path);
    (plan, path)
}

fn counts(p: &Page) -> (i64, i64, i64, i64) {
    (
        count(p, "created"),
        count(p, "changed"),
        count(p, "unchanged"),
        count(p, "rejected"),
    )
}

fn hundred_thousand_rows_dry_run_apply_and_reimport(backend: Backend) {
    let server = TestServer::start(backend, &[]);
    server.cli_ok(&["group", "add", "staff", "--kind", "department"]);
    let admin = server.console_browser();
    let before = users_total(&admin);
    let mut csv = String::from("name,display_name,email,department,groups\n");
    for i in 0..100_000 {
        csv.push_str(&format!(
            "bulk{i:06},Bulk User {i},bulk{i}@example.jp,Dept {},staff\n",
            i % 50
        ));
    }
    let t = Instant::now();
    let (plan, path) = upload(&admin, "big.csv", csv.as_bytes(), &[]);
    let dry = t.elapsed();
    plan.expect_status(200, "dry run of 100,000 rows");
    assert_eq!(counts(&plan), (100_000, 0, 0, 0), "{}", plan.describe());
    // The page lists a capped sample, the report has every row.
    assert_eq!(plan.count("tr[data-created]"), 200);
    assert_eq!(users_total(&admin), before, "a dry run changes nothing");
    let t = Instant::now();
    let result = admin.post_form_slow(&format!("{path}/apply"), &[]);
    let apply = t.elapsed();
    result.expect_status(200, "apply of 100,000 rows");
    assert_eq!(count(&result, "created"), 100_000, "{}", result.describe());
    assert_eq!(
        result.count("article[data-notice-for]"),
        500,
        "notices are capped on the page"
    );
    assert!(result.body.contains("data-notices-not-shown=\"99500\""));
    assert_eq!(users_total(&admin), before + 100_000);
    let u = server.user_show("bulk054321");
    assert_eq!(u["department"], "Dept 21", "{u}");
    assert_eq!(u["groups"], serde_json::json!(["staff"]), "{u}");
    assert_eq!(u["must_change_pattern"], true, "{u}");
    // The applied upload is gone: applying it again is refused.
    admin.get("/console/import").expect_status(200, "form");
    admin
        .post_form(&format!("{path}/apply"), &[])
        .expect_status(404, "second apply of the same upload");
    // Re-import: nothing to do.
    let t = Instant::now();
    let (again, _) = upload(&admin, "big.csv", csv.as_bytes(), &[]);
    let redry = t.elapsed();
    again.expect_status(200, "dry run of the re-import");
    assert_eq!(counts(&again), (0, 0, 100_000, 0), "{}", again.describe());
    assert_eq!(again.count("form[data-apply]"), 0, "nothing to apply");
    eprintln!(
        "console import 100,000 rows ({backend:?}, debug build): upload+dry-run {} ms, \
         apply {} ms, re-import dry-run {} ms",
        dry.as_millis(),
        apply.as_millis(),
        redry.as_millis()
    );
    for l in server
        .log()
        .lines()
        .filter(|l| l.contains("csv import") || l.contains("console import"))
    {
        eprintln!("  server: {}", l.trim());
    }
    // Seconds, not minutes (a debug build on a shared 2-core machine: generous bound).
    for (what, d) in [("dry run", dry), ("apply", apply), ("re-import", redry)] {
        assert!(d.as_secs() < 120, "{what} took {d:?}");
    }
    // Audited with counts and the console actor.
    let audit = audit_events(&server);
    assert!(
        audit.contains("import.applied") && audit.contains("console:admin"),
        "{audit}"
    );
}

fn broken_rows_are_reported_and_nothing_applies(backend: Backend) {
    let server = TestServer::start(backend, &[]);
    server.cli_ok(&["group", "add", "sales", "--kind", "department"]);
    let admin = server.console_browser();
    let before = users_total(&admin);
    let csv = "name,display_name,email,groups\n\
               good1,Good One,good1@example.jp,sales\n\
               bad name!,Bad,bad@example.jp,sales\n\
               good1,Again,again@example.jp,sales\n\
               nogroup,No Group,ng@example.jp,nowhere\n\
               bademail,Bad Mail,not-an-address,sales\n\
               short,Short\n\
               good2,Good Two,good2@example.jp,\n\
               =1+2,x,x@example.jp,\n";
    let (plan, path) = upload(&admin, "broken.csv", csv.as_bytes(), &[]);
    plan.expect_status(422, "dry run with rejected rows");
    assert_eq!(counts(&plan).3, 6, "{}", plan.describe());
    assert_eq!(plan.count("form[data-apply]"), 0, "no apply button");
    for (line, why) in [
        (3, "name \"bad name!\""),
        (4, "repeats line 2"),
        (5, "unknown group \"nowhere\""),
        (6, "not an address"),
        (7, "2 cells, the header has 4"),
    ] {
        let html = plan.html();
        let sel = scraper::Selector::parse(&format!("tr[data-rejected=\"{line}\"]")).unwrap();
        let row = html
            .select(&sel)
            .next()
            .unwrap_or_else(|| panic!("row {line} not reported: {}", plan.describe()))
            .text()
            .collect::<String>();
        assert!(row.contains(why), "row {line}: {row:?} should say {why:?}");
    }
    // Applying anyway (a forged POST) applies nothing.
    let p = admin.post_form(&format!("{path}/apply"), &[]);
    p.expect_status(409, "apply of a file with rejected rows");
    assert_eq!(
        users_total(&admin),
        before,
        "no row of a broken file applies"
    );
    assert!(server.cli(&["user", "show", "good1"]).status.code() != Some(0));
    // The errors CSV: a UTF-8 BOM, the header, one line per bad row, as an attachment.
    let e = admin.get(&format!("{path}/errors.csv"));
    e.expect_status(200, "errors.csv");
    assert!(
        e.header("content-disposition")
            .is_some_and(|v| v.starts_with("attachment")),
        "{}",
        e.describe()
    );
    assert!(e.body.starts_with('\u{feff}'), "BOM for Excel");
    let lines: Vec<&str> = e.body.trim_start_matches('\u{feff}').lines().collect();
    assert_eq!(lines[0], "row,login_name,reason");
    assert_eq!(lines.len(), 7, "{lines:?}");
    // A cell a spreadsheet would run as a formula is neutralised.
    assert!(lines[6].starts_with("9,'=1+2,"), "{lines:?}");
    assert!(lines[1].starts_with("3,bad name!,"), "{lines:?}");
    assert!(
        lines[3].starts_with("5,nogroup,") && lines[3].contains("unknown group"),
        "{lines:?}"
    );
    // The full report has every row with its action.
    let r = admin.get(&format!("{path}/report.csv"));
    let report = r.body.trim_start_matches('\u{feff}');
    assert!(
        report.starts_with("row,login_name,action,detail\n"),
        "{report}"
    );
    assert!(report.contains("2,good1,create,"), "{report}");
    assert!(report.contains("8,good2,create,"), "{report}");
    assert_eq!(report.lines().count(), 9, "{report}");
    // With "create missing groups" the unknown group is no longer a reason.
    let (plan, _) = upload(
        &admin,
        "broken.csv",
        csv.as_bytes(),
        &[("create_groups", "1")],
    );
    assert_eq!(counts(&plan).3, 5, "{}", plan.describe());
    // A file that cannot be read at all (unknown column): shown, nothing to apply.
    let (plan, path) = upload(&admin, "bad.csv", b"name,colour\nx,red\n", &[]);
    plan.expect_status(422, "bad header");
    assert_eq!(plan.count("p[data-fatal]"), 1, "{}", plan.describe());
    assert!(plan.body.contains("unknown column"));
    let e = admin.get(&format!("{path}/errors.csv"));
    assert!(e.body.contains("1,,\"header: unknown column"), "{}", e.body);
    // Changes: a valid file updating good rows lists the changed fields.
    let ok = "name,display_name,email,groups\ngood1,Good One,good1@example.jp,sales\n";
    let (plan, path) = upload(&admin, "ok.csv", ok.as_bytes(), &[]);
    admin
        .post_form(&format!("{path}/apply"), &[])
        .expect_status(200, "apply");
    let ch = "name,display_name,department\ngood1,Good 1,Ops\n";
    let (plan2, _) = upload(&admin, "ch.csv", ch.as_bytes(), &[]);
    assert_eq!(counts(&plan2), (0, 1, 0, 0), "{}", plan2.describe());
    let html = plan2.html();
    let sel = scraper::Selector::parse("tr[data-changed=good1]").unwrap();
    let row = html.select(&sel).next().unwrap().text().collect::<String>();
    assert!(row.contains("display_name, department"), "{row}");
    drop(plan);
}

fn shift_jis_names_survive(backend: Backend) {
    let server = TestServer::start(backend, &[]);
    let admin = server.console_browser();
    let text = "name,display_name,family_name,given_name,department\n\
                yamada,山田 太郎,山田,太郎,営業部\n\
                suzuki,鈴木 花子,鈴木,花子,開発部\n";
    let (sjis, _, bad) = encoding_rs::SHIFT_JIS.encode(text);
    assert!(!bad);
    assert!(std::str::from_utf8(&sjis).is_err(), "really not UTF-8");
    let (plan, path) = upload(&admin, "sjis.csv", &sjis, &[]);
    plan.expect_status(200, "Shift_JIS dry run");
    assert_eq!(counts(&plan), (2, 0, 0, 0), "{}", plan.describe());
    admin
        .post_form(&format!("{path}/apply"), &[])
        .expect_status(200, "apply");
    let u = server.user_show("yamada");
    assert_eq!(u["display_name"], "山田 太郎", "{u}");
    assert_eq!(u["department"], "営業部", "{u}");
    let u = server.user_show("suzuki");
    assert_eq!(u["family_name"], "鈴木", "{u}");
    // The same text as UTF-8 with a BOM is the same directory: nothing changes.
    let bom = [b"\xEF\xBB\xBF".as_slice(), text.as_bytes()].concat();
    let (plan, _) = upload(&admin, "bom.csv", &bom, &[]);
    assert_eq!(counts(&plan), (0, 0, 2, 0), "{}", plan.describe());
}

/// A second administrator, signed in on the admin listener (first sign-in with the printed
/// initial pattern, then a pattern of their own).
fn second_admin(server: &TestServer) -> Browser {
    let out = server.cli_ok(&["user", "add", "admin2", "--admin"]);
    let initial = out
        .lines()
        .find_map(|l| l.strip_prefix("initial-pattern:"))
        .map(|p| parse_pattern(p.trim()))
        .expect("initial-pattern line");
    let b = Browser::new(&server.admin_base());
    let grid = b.start_login("admin2");
    b.submit_otp(&grid.answer(&initial))
        .expect_see_other("/pattern/setup", "first sign-in");
    b.get("/pattern/setup").expect_status(200, "setup");
    let mut mine: Vec<u16> = vec![0, 13, 26, 39, 40, 41];
    if mine == initial {
        mine = vec![47, 34, 21, 8, 7, 6];
    }
    let csv = pattern_csv(&mine);
    b.post_form(
        "/pattern/setup",
        &[("pattern", &csv), ("pattern_confirm", &csv)],
    )
    .expect_see_other("/", "pattern set");
    b
}

fn refusals_csrf_non_admin_expired_foreign_replayed(backend: Backend) {
    let server = TestServer::start(backend, &[]);
    let admin = server.console_browser();
    let before = users_total(&admin);
    let csv = b"name,display_name\nkeiko,Keiko\n";
    // Upload without / with a wrong CSRF token: refused, nothing stored.
    admin.get("/console/import").expect_status(200, "form");
    admin
        .post_multipart_raw("/console/import", &[], Some(("file", "a.csv", csv)))
        .expect_status(403, "upload without CSRF");
    admin
        .post_multipart_raw(
            "/console/import",
            &[("csrf", "forged")],
            Some(("file", "a.csv", csv)),
        )
        .expect_status(403, "upload with a wrong CSRF token");
    let (_, path) = upload(&admin, "a.csv", csv, &[]);
    // Apply without / with a wrong CSRF token: refused, the upload stays usable.
    admin
        .post_form_raw(&format!("{path}/apply"), &[])
        .expect_status(403, "apply without CSRF");
    admin
        .post_form_raw(&format!("{path}/apply"), &[("csrf", "forged")])
        .expect_status(403, "apply with a wrong CSRF token");
    assert_eq!(users_total(&admin), before);
    // A made-up upload id.
    admin.get("/console/import").expect_status(200, "form");
    admin
        .post_form("/console/import/made-up-id/apply", &[])
        .expect_status(404, "unknown upload id");
    admin
        .get("/console/import/made-up-id")
        .expect_status(404, "unknown upload id");
    // Another administrator cannot see or apply this upload (as unknown as a made-up id).
    let other = second_admin(&server);
    other
        .get(&path)
        .expect_status(404, "another administrator's upload");
    other.get("/console/import").expect_status(200, "form");
    other
        .post_form(&format!("{path}/apply"), &[])
        .expect_status(404, "apply of another administrator's upload");
    other
        .get(&format!("{path}/errors.csv"))
        .expect_status(404, "errors of another administrator's upload");
    assert!(server.cli(&["user", "show", "keiko"]).status.code() != Some(0));
    // A non-administrator gets 403 on every console URL of these sections.
    let user = Browser::new(&server.admin_base());
    user.sign_in("demo", &server.pattern_of("demo"), "/");
    for p in [
        "/console/import".to_owned(),
        path.clone(),
        format!("{path}/errors.csv"),
        format!("{path}/report.csv"),
        "/console/tokens".to_owned(),
        "/console/directory".to_owned(),
    ] {
        user.get(&p).expect_status(403, &p);
    }
    for p in [
        format!("{path}/apply"),
        "/console/tokens/assign".to_owned(),
        "/console/directory/x/run".to_owned(),
    ] {
        user.post_form(&p, &[("op", "sync")]).expect_status(403, &p);
    }
    user.post_multipart("/console/import", &[], Some(("file", "a.csv", csv)))
        .expect_status(403, "upload by a non-admin");
    user.post_multipart("/console/tokens/import", &[], Some(("file", "t.csv", csv)))
        .expect_status(403, "token import by a non-admin");
    // Expired: an hour later the upload cannot be applied.
    server.advance_clock(3601);
    let p = admin.get(&path);
    p.expect_status(410, "expired upload");
    admin.get("/console/import").expect_status(200, "form");
    admin
        .post_form(&format!("{path}/apply"), &[])
        .expect_status(410, "apply of an expired upload");
    assert!(server.cli(&["user", "show", "keiko"]).status.code() != Some(0));
    let audit = audit_events(&server);
    assert!(audit.contains("import.refused"), "{audit}");
}

fn small_import_shows_notices_that_sign_in(backend: Backend) {
    let server = TestServer::start(backend, &[]);
    let admin = server.console_browser();
    let csv = "name,display_name,email\nhiro,Hiro Tanaka,hiro@example.jp\nmai,Mai,mai@example.jp\n";
    let (plan, path) = upload(&admin, "two.csv", csv.as_bytes(), &[]);
    assert_eq!(plan.count("form[data-apply]"), 1, "{}", plan.describe());
    let result = admin.post_form(&format!("{path}/apply"), &[]);
    result.expect_status(200, "apply");
    assert_eq!(result.count("article[data-notice-for]"), 2);
    // The printed grid numbers the cells in pattern order: it signs in.
    let html = result.html();
    let article = scraper::Selector::parse("article[data-notice-for=hiro] table td").unwrap();
    let mut cells: Vec<(usize, u16)> = Vec::new();
    for (i, td) in html.select(&article).enumerate() {
        let text = td.text().collect::<String>();
        for n in text.split(',').filter(|s| !s.trim().is_empty()) {
            cells.push((n.trim().parse().unwrap(), i as u16));
        }
    }
    cells.sort();
    let pattern: Vec<u16> = cells.into_iter().map(|(_, c)| c).collect();
    assert!(pattern.len() >= 4, "{pattern:?}");
    let b = server.browser();
    let grid = b.start_login("hiro");
    b.submit_otp(&grid.answer(&pattern))
        .expect_see_other("/pattern/setup", "sign-in with the imported notice");
    // Shown once: the upload is gone, the result cannot be fetched again.
    admin
        .get(&path)
        .expect_status(404, "result not shown twice");
}

fn hardware_tokens_import_assign_unassign(backend: Backend) {
    let server = TestServer::start(backend, &[]);
    let admin = server.console_browser();
    let p = admin.get("/console/tokens");
    p.expect_status(200, "tokens page");
    assert!(p.body.contains("data-total=\"0\""));
    let mut csv = String::from("serial,seed,algorithm,digits,period,counter,encoding\n");
    for i in 0..60 {
        csv.push_str(&format!(
            "HW-{i:03},3132333435363738393031323334353637383930,SHA1,6,,0,hex\n"
        ));
    }
    // Without CSRF: refused, nothing imported.
    admin
        .post_multipart_raw(
            "/console/tokens/import",
            &[("format", "csv")],
            Some(("file", "t.csv", csv.as_bytes())),
        )
        .expect_status(403, "token import without CSRF");
    // A broken file: the reason, nothing imported.
    let bad = admin.post_multipart(
        "/console/tokens/import",
        &[("format", "csv")],
        Some(("file", "t.csv", b"serial,seed,encoding\nX,zz,hex\n")),
    );
    bad.expect_status(422, "broken token file");
    assert!(bad.body.contains("data-error"), "{}", bad.describe());
    let p = admin.post_multipart(
        "/console/tokens/import",
        &[("format", "csv")],
        Some(("file", "t.csv", csv.as_bytes())),
    );
    p.expect_see_other("/console/tokens", "token import");
    let p = admin.follow(&p);
    assert!(p.body.contains("data-imported=\"60\""), "{}", p.describe());
    assert_eq!(p.count("tr[data-token]"), 50, "first page");
    let next = {
        let html = p.html();
        let sel = scraper::Selector::parse("a[data-next]").unwrap();
        html.select(&sel)
            .next()
            .and_then(|a| a.value().attr("href"))
            .expect("next page link")
            .to_owned()
    };
    let p2 = admin.get(&next);
    assert_eq!(p2.count("tr[data-token]"), 10, "second page");
    // The same serials again: all or nothing, refused.
    admin.get("/console/tokens");
    admin
        .post_multipart(
            "/console/tokens/import",
            &[("format", "csv")],
            Some(("file", "t.csv", csv.as_bytes())),
        )
        .expect_status(422, "duplicate serials");
    // Assign, refuse a second token for the same user, unassign.
    admin
        .post_form(
            "/console/tokens/assign",
            &[("op", "assign"), ("serial", "HW-001"), ("user", "demo")],
        )
        .expect_see_other("/console/tokens", "assign");
    let p = admin.get("/console/tokens");
    assert!(
        p.body.contains("<tr data-token=\"HW-001\">"),
        "{}",
        p.describe()
    );
    let html = p.html();
    let sel = scraper::Selector::parse("tr[data-token=HW-001] td[data-user]").unwrap();
    assert_eq!(
        html.select(&sel).next().unwrap().text().collect::<String>(),
        "demo"
    );
    let p = admin.post_form(
        "/console/tokens/assign",
        &[("op", "assign"), ("serial", "HW-002"), ("user", "demo")],
    );
    p.expect_status(422, "second token for a user");
    assert!(p.body.contains("already has a token"), "{}", p.describe());
    let p = admin.post_form(
        "/console/tokens/assign",
        &[("op", "assign"), ("serial", "HW-002"), ("user", "nobody")],
    );
    p.expect_status(422, "unknown user");
    admin
        .post_form(
            "/console/tokens/assign",
            &[("op", "assign"), ("serial", "HW-001")],
        )
        .expect_status(422, "no user given");
    admin
        .post_form_raw(
            "/console/tokens/assign",
            &[("op", "unassign"), ("serial", "HW-001")],
        )
        .expect_status(403, "unassign without CSRF");
    admin.get("/console/tokens");
    admin
        .post_form(
            "/console/tokens/assign",
            &[("op", "unassign"), ("serial", "HW-001")],
        )
        .expect_see_other("/console/tokens", "unassign");
    let list = server.cli_ok(&["token", "list"]);
    assert!(list.contains("HW-001\thotp\t6\t-"), "{list}");
    let audit = audit_events(&server);
    for e in ["token.imported", "token.assigned", "token.unassigned"] {
        assert!(audit.contains(e), "{e}: {audit}");
    }
    assert!(audit.contains("console:admin"), "{audit}");
    // PSKC (RFC 6030 figure 7, PBKDF2): a wrong password imports nothing, the right one the
    // token; the password is nowhere in the audit trail.
    let pskc = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../fixtures/pskc/rfc6030-figure7-pbkdf2.xml"
    ))
    .unwrap();
    admin.get("/console/tokens");
    let p = admin.post_multipart(
        "/console/tokens/import",
        &[("format", "pskc"), ("password", "wrong-password")],
        Some(("file", "tokens.pskc", &pskc)),
    );
    p.expect_status(422, "PSKC with a wrong password");
    assert!(!server.cli_ok(&["token", "list"]).contains("987654321"));
    let p = admin.post_multipart(
        "/console/tokens/import",
        &[("format", "pskc"), ("password", "qwerty")],
        Some(("file", "tokens.pskc", &pskc)),
    );
    p.expect_see_other("/console/tokens", "PSKC import");
    assert!(server.cli_ok(&["token", "list"]).contains("987654321"));
    let audit = audit_events(&server);
    assert!(!audit.contains("qwerty"), "password audited: {audit}");
}

/// The audit trail through the admin REST API (as console_users.rs reads it).
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
    reqwest::blocking::Client::new()
        .get(format!("{}/api/v1/audit?limit=500", server.admin_base()))
        .bearer_auth(token)
        .send()
        .and_then(|r| r.text())
        .expect("GET /api/v1/audit")
}

/// Chromium: sign in on the admin listener, upload through the file input, dry run, apply,
/// result with notices; axe-core on the import, tokens and directory pages (EN and JA).
#[test]
fn console_import_in_chromium() {
    let server = TestServer::start(Backend::Sqlite, &[]);
    let file = server.data_dir().join("browser-import.csv");
    std::fs::write(
        &file,
        "name,display_name,email,department\n\
         aki,Aki Sato,aki@example.jp,Sales\n\
         ren,Ren Ito,ren@example.jp,Support\n\
         yui,結衣 山本,yui@example.jp,開発部\n",
    )
    .unwrap();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/browser/console_import.py");
    let o = std::process::Command::new("python3")
        .arg(script)
        .args([
            server.admin_base().as_str(),
            &pattern_csv(&server.pattern_of("admin")),
            file.to_str().unwrap(),
            "3",
        ])
        .output()
        .unwrap_or_else(|e| panic!("python3 with selenium is needed: {e}"));
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(
        o.status.success(),
        "the browser test failed: {}\n{out}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(out.contains("console-import-browser: ok"), "{out}");
    let u = server.user_show("yui");
    assert_eq!(u["display_name"], "結衣 山本", "{u}");
}

fn directory_dry_run_and_sync_from_the_console(backend: Backend) {
    use ldap_support::{add_source, person_ldif, Slapd, SUFFIX, SYNC_DN, SYNC_PW};
    let slapd = Slapd::start();
    let work = tempfile::tempdir().unwrap();
    let mut ldif = format!(
        "dn: {SUFFIX}\nobjectClass: dcObject\nobjectClass: organization\no: Example\ndc: example\n\n\
         dn: ou=people,{SUFFIX}\nobjectClass: organizationalUnit\nou: people\n\n\
         dn: {SYNC_DN}\nobjectClass: organizationalRole\nobjectClass: simpleSecurityObject\n\
         cn: sync\nuserPassword: {SYNC_PW}\n\n"
    );
    for i in 1..=20 {
        ldif.push_str(&person_ldif(i));
    }
    slapd.admin("ldapadd", &ldif, work.path());
    let server = TestServer::start(backend, &[]);
    let admin = server.console_browser();
    let p = admin.get("/console/directory");
    p.expect_status(200, "directory page without sources");
    assert_eq!(p.count("[data-no-sources]"), 1, "{}", p.describe());
    add_source(&server, &slapd.url);
    let p = admin.get("/console/directory");
    assert_eq!(p.count("section[data-source=corp]"), 1, "{}", p.describe());
    assert!(!p.body.contains(SYNC_PW), "bind password shown");
    assert!(p.body.contains(SYNC_DN));
    // Without CSRF, an unknown source, an unknown button: refused.
    admin
        .post_form_raw("/console/directory/corp/run", &[("op", "sync")])
        .expect_status(403, "sync without CSRF");
    admin
        .post_form("/console/directory/nope/run", &[("op", "sync")])
        .expect_status(404, "unknown source");
    admin.get("/console/directory");
    admin
        .post_form("/console/directory/corp/run", &[("op", "everything")])
        .expect_status(400, "unknown op");
    assert!(server.cli(&["user", "show", "user0001"]).status.code() != Some(0));
    // Dry run: the change list, nothing stored.
    admin.get("/console/directory");
    let p = admin.post_form("/console/directory/corp/run", &[("op", "dry_run")]);
    p.expect_status(200, "dry run");
    assert_eq!(p.count("[data-dry-run]"), 1, "{}", p.describe());
    assert_eq!(count(&p, "created"), 20, "{}", p.describe());
    assert!(p.body.contains("data-entries=\"20\""), "{}", p.describe());
    let changes = {
        let html = p.html();
        let sel = scraper::Selector::parse("pre[data-changes]").unwrap();
        html.select(&sel)
            .next()
            .expect("change list")
            .text()
            .collect::<String>()
    };
    assert_eq!(changes.lines().count(), 20, "{changes}");
    assert!(changes.contains("user0007"), "{changes}");
    assert!(server.cli(&["user", "show", "user0001"]).status.code() != Some(0));
    // Sync now: the counts, the users exist.
    admin.get("/console/directory");
    let p = admin.post_form("/console/directory/corp/run", &[("op", "sync")]);
    p.expect_status(200, "sync");
    assert_eq!(p.count("[data-dry-run]"), 0);
    assert_eq!(count(&p, "created"), 20, "{}", p.describe());
    let u = server.user_show("user0003");
    assert_eq!(u["email"], "user0003@example.org", "{u}");
    // Again: nothing to change.
    admin.get("/console/directory");
    let p = admin.post_form("/console/directory/corp/run", &[("op", "sync")]);
    assert_eq!(count(&p, "unchanged"), 20, "{}", p.describe());
    assert_eq!(count(&p, "created"), 0);
    // The runs are listed, newest first.
    let p = admin.get("/console/directory");
    assert_eq!(p.count("tr[data-run=success]"), 3, "{}", p.describe());
    let audit = audit_events(&server);
    assert!(
        audit.contains("ldap") && audit.contains("console:admin"),
        "{audit}"
    );
}
