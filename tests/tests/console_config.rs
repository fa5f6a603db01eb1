//! The admin console's configuration pages (issue #7 part 1) on the admin listener, as the demo
//! administrator: groups and factor policies made through the forms govern the next sign-in
//! (matrix + TOTP), invalid policies and access policies are refused with the validator's reason
//! and change nothing, SAML SPs come in from uploaded metadata with a preset and answer
//! IdP-initiated sign-in, an OIDC client's secret is shown once and works at the token
//! endpoint, the audit log filters, pages and exports CSV, and the guide URL follows the portal
//! contract. Every form refuses a missing CSRF token; non-administrators get 403 everywhere.

mod common;

use common::{Backend, Browser, Page, TestServer};

both_backends!(
    groups_policies_and_access_policy,
    services_saml_and_oidc,
    audit_log_guides_and_refusals
);

/// The fields a browser would submit for the form matched by `selector`: text, number,
/// hidden and textarea values, the selected option of every select, checked checkboxes.
fn form_fields(page: &Page, selector: &str) -> Vec<(String, String)> {
    let html = page.html();
    let form_sel = scraper::Selector::parse(selector).unwrap();
    let form = html
        .select(&form_sel)
        .next()
        .unwrap_or_else(|| panic!("no {selector} in {}", page.describe()));
    let mut out = Vec::new();
    let inputs = scraper::Selector::parse("input[name], select[name], textarea[name]").unwrap();
    let selected = scraper::Selector::parse("option[selected]").unwrap();
    let first = scraper::Selector::parse("option").unwrap();
    for e in form.select(&inputs) {
        let v = e.value();
        let name = v.attr("name").unwrap().to_owned();
        match v.name() {
            "select" => {
                let opt = e
                    .select(&selected)
                    .next()
                    .or_else(|| e.select(&first).next());
                if let Some(o) = opt {
                    out.push((name, o.value().attr("value").unwrap_or("").to_owned()));
                }
            }
            "textarea" => out.push((name, e.text().collect())),
            _ => {
                let kind = v.attr("type").unwrap_or("text");
                if kind == "checkbox" && v.attr("checked").is_none() {
                    continue;
                }
                if kind == "file" || kind == "submit" {
                    continue;
                }
                out.push((name, v.attr("value").unwrap_or("").to_owned()));
            }
        }
    }
    out
}

fn set(fields: &mut Vec<(String, String)>, name: &str, value: &str) {
    fields.retain(|(k, _)| k != name);
    if !value.is_empty() {
        fields.push((name.to_owned(), value.to_owned()));
    }
}

fn post(b: &Browser, path: &str, fields: &[(String, String)]) -> Page {
    let v: Vec<(&str, &str)> = fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    b.post_form_raw(path, &v)
}

fn attr(page: &Page, selector: &str, attr: &str) -> String {
    let html = page.html();
    let sel = scraper::Selector::parse(selector).unwrap();
    html.select(&sel)
        .next()
        .and_then(|e| e.value().attr(attr))
        .unwrap_or_else(|| panic!("no {selector}[{attr}] in {}", page.describe()))
        .to_owned()
}

fn line_value(text: &str, key: &str) -> String {
    text.lines()
        .find_map(|l| l.trim().strip_prefix(&format!("{key}:")))
        .unwrap_or_else(|| panic!("no {key}: line in\n{text}"))
        .trim()
        .to_owned()
}

fn groups_policies_and_access_policy(backend: Backend) {
    let server = TestServer::start(backend, &[]);
    let admin = server.console_browser();
    let p = admin.get("/console/groups");
    p.expect_status(200, "groups page");
    // A new policy through the editor: matrix + TOTP, stricter lockout.
    let p = admin.get("/console/policies?name=finance-mfa");
    p.expect_see_other("/console/policies/finance-mfa", "new policy name");
    let editor = admin.get("/console/policies/finance-mfa");
    editor.expect_status(200, "policy editor");
    let mut fields = form_fields(&editor, "form.policy-form");
    set(&mut fields, "combo_0_0", "matrix");
    set(&mut fields, "combo_0_1", "totp");
    set(&mut fields, "lockout_threshold", "3");
    set(&mut fields, "forbid_straight_line", "1");
    // Without the CSRF token: refused, nothing stored.
    let no_csrf: Vec<(String, String)> = fields
        .iter()
        .filter(|(k, _)| k != "csrf")
        .cloned()
        .collect();
    post(&admin, "/console/policies/finance-mfa", &no_csrf)
        .expect_status(403, "policy without CSRF");
    assert!(server.cli(&["policy", "show", "finance-mfa"]).status.code() != Some(0));
    post(&admin, "/console/policies/finance-mfa", &fields)
        .expect_see_other("/console/policies/finance-mfa", "save policy");
    let stored: serde_json::Value =
        serde_json::from_str(&server.cli_ok(&["policy", "show", "finance-mfa"])).unwrap();
    assert_eq!(
        stored["combinations"],
        serde_json::json!([["matrix", "totp"]])
    );
    assert_eq!(stored["lockout_threshold"], 3);
    assert_eq!(stored["pattern_rules"]["forbid_straight_line"], true);
    assert_eq!(stored["pattern_rules"]["forbid_single_stroke"], false);
    // The editor shows what is stored.
    let editor = admin.get("/console/policies/finance-mfa?saved=1");
    assert_eq!(editor.count("[data-saved]"), 1, "{}", editor.describe());
    let shown = form_fields(&editor, "form.policy-form");
    assert!(
        shown.contains(&("combo_0_1".into(), "totp".into())),
        "{shown:?}"
    );
    // Invalid policies are refused with the validator's reason and change nothing.
    let mut bad = shown.clone();
    set(&mut bad, "min_len", "9");
    set(&mut bad, "max_len", "6");
    let p = post(&admin, "/console/policies/finance-mfa", &bad);
    p.expect_status(422, "min length above max");
    assert!(
        p.body.contains("pattern length range 9..=6 is empty"),
        "{}",
        p.describe()
    );
    let mut bad = shown.clone();
    set(&mut bad, "combo_1_0", "matrix");
    set(&mut bad, "combo_1_1", "telepathy");
    let p = post(&admin, "/console/policies/finance-mfa", &bad);
    p.expect_status(422, "unknown method");
    assert!(p.body.contains("unknown method"), "{}", p.describe());
    let mut bad = shown.clone();
    set(&mut bad, "grid_cols", "11");
    let p = post(&admin, "/console/policies/finance-mfa", &bad);
    p.expect_status(422, "block width not dividing the columns");
    let again: serde_json::Value =
        serde_json::from_str(&server.cli_ok(&["policy", "show", "finance-mfa"])).unwrap();
    assert_eq!(again, stored, "a refused form changed the policy");
    // A group with that policy through the form.
    let groups = admin.get("/console/groups");
    let mut g = form_fields(&groups, "form[action='/console/groups']");
    set(&mut g, "name", "finance");
    set(&mut g, "kind", "department");
    set(&mut g, "policy", "finance-mfa");
    set(&mut g, "priority", "10");
    post(&admin, "/console/groups", &g).expect_see_other("/console/groups", "create group");
    let p = post(&admin, "/console/groups", &g);
    p.expect_status(422, "duplicate group");
    assert!(p.body.contains("exists already"), "{}", p.describe());
    let mut g2 = g.clone();
    set(&mut g2, "name", "ghosts");
    set(&mut g2, "policy", "no-such-policy");
    post(&admin, "/console/groups", &g2).expect_status(422, "unknown policy");
    let mut g3 = g.clone();
    set(&mut g3, "name", "x/y");
    post(&admin, "/console/groups", &g3).expect_status(422, "slash in a group name");
    // The member count links to the user list filtered by the group.
    server.cli_ok(&["group", "add-user", "finance", "demo"]);
    let list = admin.get("/console/groups");
    assert_eq!(
        attr(
            &list,
            "tr[data-group=finance] a[data-members]",
            "data-members"
        ),
        "1"
    );
    assert_eq!(
        attr(&list, "tr[data-group=finance] a[data-members]", "href"),
        "/console/users?group=finance"
    );
    // Effect: demo (now in finance) gets the TOTP step after the grid.
    let secret = line_value(&server.cli_ok(&["user", "enrol-app", "demo"]), "totp");
    assert!(!secret.is_empty());
    let user = Browser::new(server.base_url());
    let grid = user.start_login("demo");
    user.submit_otp(&grid.answer(&server.pattern_of("demo")))
        .expect_see_other(
            "/login/totp",
            "the group's policy asks for TOTP after the grid",
        );
    // Change the group's priority and policy back to the default through its row form.
    let list = admin.get("/console/groups");
    let mut row = form_fields(&list, "form[action='/console/groups/finance']");
    set(&mut row, "policy", "");
    set(&mut row, "priority", "20");
    post(&admin, "/console/groups/finance", &row)
        .expect_see_other("/console/groups", "update group");
    let list = admin.get("/console/groups");
    assert_eq!(
        list.html()
            .select(&scraper::Selector::parse("tr[data-group=finance] td[data-priority]").unwrap())
            .next()
            .unwrap()
            .text()
            .collect::<String>(),
        "20"
    );
    let user = Browser::new(server.base_url());
    let grid = user.start_login("demo");
    user.submit_otp(&grid.answer(&server.pattern_of("demo")))
        .expect_see_other("/", "back on the default policy: the grid alone");
    let mut row_bad = row.clone();
    set(&mut row_bad, "priority", "high");
    post(&admin, "/console/groups/finance", &row_bad).expect_status(422, "priority not a number");
    let no_csrf: Vec<(String, String)> = row.iter().filter(|(k, _)| k != "csrf").cloned().collect();
    post(&admin, "/console/groups/finance", &no_csrf).expect_status(403, "group without CSRF");

    // The access policy as JSON, validated like `access-policy put`.
    let p = admin.get("/console/access-policy");
    p.expect_status(200, "access policy page");
    assert_eq!(
        attr(&p, "[data-access-policy]", "data-access-policy"),
        "none"
    );
    let csrf = admin.csrf().unwrap();
    let p = admin.post_form_raw(
        "/console/access-policy",
        &[("csrf", &csrf), ("json", "{broken")],
    );
    p.expect_status(422, "broken JSON");
    assert!(p.body.contains("JSON:"), "{}", p.describe());
    assert!(
        p.body.contains("{broken"),
        "the textarea keeps what was typed"
    );
    let p = admin.post_form_raw(
        "/console/access-policy",
        &[("csrf", &csrf), ("json", r#"{"default_combinations": []}"#)],
    );
    p.expect_status(422, "no default combination");
    assert!(
        p.body
            .contains("at least one default factor combination is required"),
        "{}",
        p.describe()
    );
    assert!(server.cli_ok(&["access-policy", "show"]).contains("none"));
    let valid =
        r#"{"groups": [{"group": "finance", "priority": 10, "services": {"allow": ["*"]}}]}"#;
    admin
        .post_form_raw("/console/access-policy", &[("json", valid)])
        .expect_status(403, "access policy without CSRF");
    assert!(server.cli_ok(&["access-policy", "show"]).contains("none"));
    admin
        .post_form_raw(
            "/console/access-policy",
            &[("csrf", &csrf), ("json", valid)],
        )
        .expect_see_other("/console/access-policy", "valid access policy");
    let shown = server.cli_ok(&["access-policy", "show"]);
    let v: serde_json::Value = serde_json::from_str(&shown).unwrap();
    assert_eq!(v["groups"][0]["group"], "finance", "{shown}");
    let p = admin.get("/console/access-policy");
    assert_eq!(
        attr(&p, "[data-access-policy]", "data-access-policy"),
        "set"
    );
    assert!(p.body.contains("finance"));
    // Blank removes it.
    admin
        .post_form_raw("/console/access-policy", &[("csrf", &csrf), ("json", "  ")])
        .expect_see_other("/console/access-policy", "clear access policy");
    assert!(server.cli_ok(&["access-policy", "show"]).contains("none"));

    // Audited with before/after and the console actor.
    let audit = admin.get("/console/audit.csv?actor=console%3Aadmin");
    audit.expect_status(200, "audit export");
    for event in [
        "policy.put",
        "group.put",
        "access_policy.put",
        "access_policy.delete",
    ] {
        assert!(
            audit
                .body
                .lines()
                .any(|l| l.contains(&format!(",{event},"))),
            "{event} not audited:\n{}",
            audit.body
        );
    }
    let group_put = audit
        .body
        .lines()
        .find(|l| l.contains(",group.put,") && l.contains("\"\"priority\"\":20"))
        .unwrap_or_else(|| panic!("group change with after state:\n{}", audit.body));
    assert!(group_put.contains("\"\"before\"\""), "{group_put}");
    assert!(
        group_put.contains("\"\"priority\"\":10"),
        "before state: {group_put}"
    );
}

/// A multipart/form-data body (the console's SP form), built by hand: the fields in order.
fn multipart(fields: &[(&str, Option<&str>, &[u8])]) -> (String, Vec<u8>) {
    let boundary = format!("----pl{}", common::random_hex());
    let mut body = Vec::new();
    for (name, filename, value) in fields {
        body.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
        match filename {
            Some(f) => body.extend_from_slice(
                format!(
                    "Content-Disposition: form-data; name=\"{name}\"; filename=\"{f}\"\r\n\
                     Content-Type: application/xml\r\n\r\n"
                )
                .as_bytes(),
            ),
            None => body.extend_from_slice(
                format!("Content-Disposition: form-data; name=\"{name}\"\r\n\r\n").as_bytes(),
            ),
        }
        body.extend_from_slice(value);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

/// POSTs a multipart form with the browser's cookies (session and CSRF cookie).
fn post_multipart(
    server: &TestServer,
    b: &Browser,
    path: &str,
    fields: &[(&str, Option<&str>, &[u8])],
) -> (u16, String, Option<String>) {
    let (content_type, body) = multipart(fields);
    let cookies = b
        .cookie_snapshot()
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("; ");
    let r = reqwest::blocking::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .post(format!("{}{path}", server.admin_base()))
        .header(reqwest::header::COOKIE, cookies)
        .header(reqwest::header::CONTENT_TYPE, content_type)
        .body(body)
        .send()
        .unwrap();
    let status = r.status().as_u16();
    let location = r
        .headers()
        .get(reqwest::header::LOCATION)
        .map(|v| v.to_str().unwrap().to_owned());
    (status, r.text().unwrap(), location)
}

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/../fixtures/sp/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

fn services_saml_and_oidc(backend: Backend) {
    let server = TestServer::start(backend, &[]);
    let admin = server.console_browser();
    let p = admin.get("/console/services");
    p.expect_status(200, "services page");
    let csrf = admin.csrf().unwrap();
    let box_xml = fixture("box.xml");
    // Before: IdP-initiated sign-in to Box is refused (unknown SP).
    let user = Browser::new(server.base_url());
    user.sign_in("demo", &server.pattern_of("demo"), "/");
    user.get("/saml/idp-init?sp=box.net")
        .expect_status(400, "unknown SP");
    // Without the CSRF field: 403, nothing registered.
    let (status, _, _) = post_multipart(
        &server,
        &admin,
        "/console/services/saml",
        &[
            ("preset", None, b"box"),
            ("metadata", Some("box.xml"), &box_xml),
        ],
    );
    assert_eq!(status, 403, "SP upload without CSRF");
    assert!(!server.cli_ok(&["sp", "list"]).contains("box.net"));
    // Upload with the Box preset.
    let (status, body, location) = post_multipart(
        &server,
        &admin,
        "/console/services/saml",
        &[
            ("csrf", None, csrf.as_bytes()),
            ("metadata", Some("box.xml"), &box_xml),
            ("metadata_url", None, b""),
            ("preset", None, b"box"),
        ],
    );
    assert_eq!(status, 303, "SP upload: {body}");
    assert_eq!(location.as_deref(), Some("/console/services?saved=1"));
    let list = admin.get("/console/services?saved=1");
    assert_eq!(
        list.count("tr[data-sp='box.net']"),
        1,
        "{}",
        list.describe()
    );
    assert!(list
        .body
        .contains("https://sso.services.box.net/sp/ACS.saml2"));
    // The SP answers IdP-initiated sign-in on the user listener.
    let p = user.get("/saml/idp-init?sp=box.net");
    p.expect_status(200, "IdP-initiated to the new SP");
    assert_eq!(
        attr(&p, "form[data-autosubmit]", "action"),
        "https://sso.services.box.net/sp/ACS.saml2"
    );
    assert_eq!(p.count("input[name=SAMLResponse]"), 1);
    // Refusals with the reason: duplicate, not metadata, URL that cannot be fetched, no input.
    for (fields, why) in [
        (
            vec![
                ("csrf", None, csrf.as_bytes()),
                ("metadata", Some("box.xml"), box_xml.as_slice()),
                ("preset", None, b"box".as_slice()),
            ],
            "exists already",
        ),
        (
            vec![
                ("csrf", None, csrf.as_bytes()),
                ("metadata", Some("x.xml"), b"<x/>".as_slice()),
                ("preset", None, b"none".as_slice()),
            ],
            "The metadata was refused",
        ),
        (
            vec![
                ("csrf", None, csrf.as_bytes()),
                (
                    "metadata_url",
                    None,
                    b"http://127.0.0.1:9/md.xml".as_slice(),
                ),
                ("preset", None, b"none".as_slice()),
            ],
            "could not be fetched",
        ),
        (
            vec![
                ("csrf", None, csrf.as_bytes()),
                ("preset", None, b"none".as_slice()),
            ],
            "Choose a metadata file",
        ),
        (
            vec![
                ("csrf", None, csrf.as_bytes()),
                ("metadata", Some("box.xml"), box_xml.as_slice()),
                ("preset", None, b"myspace".as_slice()),
            ],
            "Unknown preset",
        ),
    ] {
        let (status, body, _) = post_multipart(&server, &admin, "/console/services/saml", &fields);
        assert_eq!(status, 422, "{why}: {body}");
        assert!(body.contains(why), "{why}: {body}");
    }
    let sps = server.cli_ok(&["sp", "list"]);
    assert_eq!(
        sps.matches("\"box.net\"").count(),
        1,
        "refusals registered nothing: {sps}"
    );

    // An OIDC client: the secret is on the result page once.
    let p = admin.get("/console/services");
    let mut f = form_fields(&p, "form[action='/console/services/oidc']");
    set(&mut f, "client_id", "payroll");
    set(
        &mut f,
        "redirect_uris",
        "https://payroll.example.jp/cb\nhttps://payroll.example.jp/cb2",
    );
    set(&mut f, "client_type", "confidential");
    set(&mut f, "auth_method", "client_secret_post");
    set(&mut f, "scopes", "openid email");
    let no_csrf: Vec<(String, String)> = f.iter().filter(|(k, _)| k != "csrf").cloned().collect();
    post(&admin, "/console/services/oidc", &no_csrf).expect_status(403, "client without CSRF");
    let added = post(&admin, "/console/services/oidc", &f);
    added.expect_status(200, "add client");
    let secret = attr(&added, "[data-client-secret]", "value");
    assert!(secret.len() >= 32, "{secret}");
    // It works at the token endpoint (client_credentials, client_secret_post), a wrong one not.
    let token = |s: &str| {
        reqwest::blocking::Client::new()
            .post(server.url("/oidc/token"))
            .form(&[
                ("grant_type", "client_credentials"),
                ("client_id", "payroll"),
                ("client_secret", s),
            ])
            .send()
            .unwrap()
    };
    let t = token(&secret);
    assert_eq!(t.status(), 200, "{}", t.text().unwrap_or_default());
    assert_eq!(token("wrong-secret").status(), 401);
    // Never again: not on the list, not in `client list`, not in the audit trail.
    let list = admin.get("/console/services");
    assert_eq!(
        list.count("tr[data-client=payroll]"),
        1,
        "{}",
        list.describe()
    );
    assert!(!list.body.contains(&secret));
    let clients = server.cli_ok(&["client", "list"]);
    assert!(
        clients.contains("\"payroll\"") && !clients.contains(&secret),
        "{clients}"
    );
    let audit = admin.get("/console/audit.csv");
    assert!(
        audit.body.contains(",oidc.client.added,payroll,"),
        "{}",
        audit.body
    );
    assert!(
        audit.body.contains(",saml.sp.added,box.net,"),
        "{}",
        audit.body
    );
    assert!(!audit.body.contains(&secret));
    // A duplicate and a bad redirect URI are refused with the reason.
    let p = post(&admin, "/console/services/oidc", &f);
    p.expect_status(422, "duplicate client");
    assert!(p.body.contains("exists already"), "{}", p.describe());
    let mut bad = f.clone();
    set(&mut bad, "client_id", "other");
    set(&mut bad, "redirect_uris", "https://x.example/cb#fragment");
    let p = post(&admin, "/console/services/oidc", &bad);
    p.expect_status(422, "fragment in redirect URI");
    assert!(
        p.body.contains("not an absolute URI without fragment"),
        "{}",
        p.describe()
    );
    // A public client gets no secret.
    let mut public = f.clone();
    set(&mut public, "client_id", "spa");
    set(&mut public, "client_type", "public");
    let p = post(&admin, "/console/services/oidc", &public);
    p.expect_status(200, "public client");
    assert_eq!(p.count("[data-client-secret]"), 0);
}

fn audit_log_guides_and_refusals(backend: Backend) {
    let server = TestServer::start(backend, &[]);
    // 120 events by the console (two kinds), and others by the CLI.
    for i in 0..60 {
        server.cli_ok(&["group", "add", &format!("cli-{i:02}")]);
    }
    let admin = server.console_browser();
    let csrf = {
        admin.get("/console/groups");
        admin.csrf().unwrap()
    };
    for i in 0..60 {
        admin
            .post_form_raw(
                "/console/groups",
                &[
                    ("csrf", &csrf),
                    ("name", &format!("team-{i:02}")),
                    ("kind", "adhoc"),
                    ("priority", "100"),
                ],
            )
            .expect_see_other("/console/groups", "create");
    }
    // Newest first, filtered by event and actor, 50 a page, keyset paging without overlap.
    let mut seen: Vec<(i64, String)> = Vec::new();
    let mut path = "/console/audit?event=group.&actor=console%3Aadmin".to_owned();
    loop {
        let p = admin.get(&path);
        p.expect_status(200, &path);
        let html = p.html();
        let rows = scraper::Selector::parse("tr[data-event-id]").unwrap();
        for r in html.select(&rows) {
            let v = r.value();
            assert_eq!(v.attr("data-event"), Some("group.put"));
            assert_eq!(v.attr("data-actor"), Some("console:admin"));
            let subject = r
                .select(&scraper::Selector::parse("td:nth-child(4)").unwrap())
                .next()
                .unwrap()
                .text()
                .collect::<String>();
            seen.push((v.attr("data-event-id").unwrap().parse().unwrap(), subject));
        }
        let next = scraper::Selector::parse("a[data-next]").unwrap();
        match html.select(&next).next() {
            Some(a) => path = a.value().attr("href").unwrap().to_owned(),
            None => break,
        }
    }
    assert_eq!(seen.len(), 60, "{seen:?}");
    assert!(
        seen.windows(2).all(|w| w[0].0 > w[1].0),
        "newest first, no overlap"
    );
    assert_eq!(seen[0].1, "team-59");
    assert_eq!(seen[59].1, "team-00");
    // The details are in a <details> element, JSON with before/after and the source address.
    let p = admin.get("/console/audit?event=group.put&actor=console%3Aadmin");
    assert!(p.count("tr[data-event-id] details pre.detail") >= 1);
    assert!(
        p.body.contains("&#34;after&#34;") || p.body.contains("\"after\""),
        "{}",
        p.describe()
    );
    // The CLI's events are there under their own actor.
    let p = admin.get("/console/audit?event=group.put&actor=cli");
    assert_eq!(p.count("tr[data-event-id]"), 50);
    // Outcome and subject filters; an event prefix with LIKE wildcards matches itself only.
    let p = admin.get("/console/audit?subject=team-07");
    assert_eq!(p.count("tr[data-event-id]"), 1, "{}", p.describe());
    let p = admin.get("/console/audit?event=%25");
    assert_eq!(p.count("tr[data-event-id]"), 0);
    assert_eq!(p.count("[data-empty]"), 1);
    let p = admin.get("/console/audit?outcome=failure&event=group.");
    assert_eq!(p.count("tr[data-event-id]"), 0);
    // Date range: yesterday to tomorrow (UTC) has them all, days long past none; a bad date is
    // refused.
    let today = time::OffsetDateTime::now_utc().date();
    let (from, to) = (today.previous_day().unwrap(), today.next_day().unwrap());
    let p = admin.get(&format!(
        "/console/audit?event=group.put&actor=console%3Aadmin&from={from}&to={to}"
    ));
    assert_eq!(p.count("tr[data-event-id]"), 50);
    let p = admin.get("/console/audit?event=group.put&from=2001-01-01&to=2001-01-02");
    assert_eq!(p.count("tr[data-event-id]"), 0);
    admin
        .get("/console/audit?from=yesterday")
        .expect_status(422, "not a date");
    // CSV export of the filter: every matching event, no other.
    let csv = admin.get("/console/audit.csv?event=group.&actor=console%3Aadmin");
    csv.expect_status(200, "export");
    assert!(csv.header("content-type").unwrap().starts_with("text/csv"));
    let lines: Vec<&str> = csv.body.lines().collect();
    assert_eq!(
        lines[0],
        "id,time_utc,unix,actor,event,subject,outcome,source_ip,detail"
    );
    assert_eq!(lines.len(), 61, "header + 60 rows:\n{}", csv.body);
    assert!(lines[1..]
        .iter()
        .all(|l| l.contains(",console:admin,group.put,team-")));
    let exported: Vec<i64> = lines[1..]
        .iter()
        .map(|l| l.split(',').next().unwrap().parse().unwrap())
        .collect();
    assert_eq!(exported, seen.iter().map(|s| s.0).collect::<Vec<_>>());

    // First sign-in guides: the URL in the contract's format.
    let public = server.base_url().trim_end_matches('/').to_owned();
    let p = admin.get("/console/guides");
    p.expect_status(200, "guides page");
    assert_eq!(p.count("[data-guide-url]"), 0);
    let p = admin.get("/console/guides?method=totp&user=taro.yamada%40example.jp&guide_lang=ja");
    p.expect_status(200, "guide URL");
    let expected = format!("{public}/guide/totp?lang=ja&user=taro.yamada%40example.jp");
    assert_eq!(attr(&p, "input[data-guide-url]", "value"), expected);
    assert_eq!(
        attr(&p, "input[data-guide-url]", "data-guide-url"),
        expected
    );
    assert!(p.count("input[data-guide-url][readonly]") == 1);
    assert_eq!(attr(&p, "a[data-guide-link]", "href"), expected);
    // `guide_lang` is not the console's own language switch (`lang`).
    assert_eq!(attr(&p, "html", "lang"), "en");
    let p = admin.get("/console/guides?method=hardware_token&user=&guide_lang=en");
    assert_eq!(
        attr(&p, "input[data-guide-url]", "value"),
        format!("{public}/guide/hardware_token?lang=en")
    );
    let p = admin.get("/console/guides?method=retina&guide_lang=en");
    p.expect_status(422, "unknown method");
    assert_eq!(p.count("[data-error]"), 1);
    assert_eq!(p.count("[data-guide-url]"), 0);

    // Every console URL of this part: a non-administrator gets 403, nothing changes.
    let user = Browser::new(&server.admin_base());
    user.sign_in("demo", &server.pattern_of("demo"), "/");
    for path in [
        "/console/groups",
        "/console/policies?name=x",
        "/console/policies/default",
        "/console/access-policy",
        "/console/services",
        "/console/audit",
        "/console/audit.csv",
        "/console/guides?method=pin",
    ] {
        let p = user.get(path);
        p.expect_status(403, path);
        assert!(
            p.body.contains("not an administrator"),
            "{path}: {}",
            p.describe()
        );
    }
    for (path, fields) in [
        (
            "/console/groups",
            vec![("name", "intruders"), ("kind", "adhoc")],
        ),
        (
            "/console/groups/team-01",
            vec![("kind", "adhoc"), ("priority", "1")],
        ),
        ("/console/policies/evil", vec![("combo_0_0", "matrix")]),
        ("/console/access-policy", vec![("json", "{}")]),
        (
            "/console/services/oidc",
            vec![
                ("client_id", "evil"),
                ("redirect_uris", "https://e.example/cb"),
            ],
        ),
    ] {
        user.post_form(path, &fields).expect_status(403, path);
    }
    let (status, _, _) = post_multipart(
        &server,
        &user,
        "/console/services/saml",
        &[
            ("csrf", None, user.csrf().unwrap().as_bytes()),
            ("metadata", Some("box.xml"), &fixture("box.xml")),
        ],
    );
    assert_eq!(status, 403, "SP upload by a non-admin");
    assert!(server.cli(&["policy", "show", "evil"]).status.code() != Some(0));
    assert!(!server.cli_ok(&["client", "list"]).contains("evil"));
    assert!(!server.cli_ok(&["sp", "list"]).contains("box.net"));
    assert!(server.cli_ok(&["access-policy", "show"]).contains("none"));
    // Without a session: to the sign-in page.
    Browser::new(&server.admin_base())
        .get("/console/audit")
        .expect_see_other("/login", "no session");
}

/// Chromium: the administrator's pages pass axe-core (WCAG 2.2 A/AA) at desktop width and at
/// 360 px without horizontal page scroll, the details of an audit event open without script,
/// and the guide form produces the contract URL.
#[test]
fn console_config_in_chromium() {
    let server = TestServer::start(Backend::Sqlite, &[]);
    let pattern = server
        .pattern_of("admin")
        .iter()
        .map(|c| c.to_string())
        .collect::<Vec<_>>()
        .join(",");
    let public = server.base_url().trim_end_matches('/').to_owned();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/browser/console_config.py");
    let o = std::process::Command::new("python3")
        .arg(script)
        .args([&server.admin_base(), &pattern, &public])
        .output()
        .unwrap_or_else(|e| panic!("python3 with selenium is needed: {e}"));
    let out = String::from_utf8_lossy(&o.stdout).into_owned();
    eprintln!("{out}");
    assert!(
        o.status.success(),
        "the browser run failed: {}\n{out}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert_eq!(
        line_value(&out, "guide-url"),
        format!("{public}/guide/passkey?lang=ja&user=hanako")
    );
    assert!(out.contains("console-config: ok"), "{out}");
    assert!(
        out.contains("axe: guides with a URL at 360 px: ok"),
        "{out}"
    );
}
