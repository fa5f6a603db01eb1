//! LDAP sync against a real OpenLDAP `slapd` (Debian packages `slapd`, `ldap-utils`), started
//! once from a temporary directory on free ports of 127.0.0.1 (ldap:// with StartTLS and
//! ldaps://, certificate from a test CA made with `openssl`) with the `memberof` overlay and
//! a size limit of 500 (so only a paged search reads the whole directory). A few thousand
//! generated users in several departments are loaded with `ldapadd`; the same scenario runs on
//! SQLite and PostgreSQL side by side (both read the same directory at the same moments):
//! a dry run (report, nothing stored), a sync (users, attributes, groups), a no-op sync,
//! changes in LDAP (`ldapmodify` / `ldapdelete`: new title and department, group moves, a
//! disabled and a deleted user, a new user), a dry run and a sync of those, bad source
//! settings refused, a KEK rotation that re-seals the bind password, a synced user's first
//! sign-in with an initial pattern (a later sync leaves the secret alone), and the
//! `serve --ldap-sync-interval` schedule.

mod common;
mod ldap_support;

use std::time::{Duration, Instant};

use common::{Backend, TestServer};
use ldap_support::*;

#[test]
fn ldap_sync_against_openldap() {
    let slapd = Slapd::start();
    let work = tempfile::tempdir().unwrap();
    let t = Instant::now();
    slapd.admin("ldapadd", &directory_ldif(), work.path());
    eprintln!("loaded {USERS} users into slapd in {:?}", t.elapsed());

    let mut servers = [
        TestServer::start(Backend::Sqlite, &[]),
        TestServer::start(Backend::Postgres, &[]),
    ];
    for s in &servers {
        // A local user whose name the directory also has: never taken over.
        s.cli_ok(&["user", "add", "user0007"]);
        add_source(s, &slapd.url);
        let list = s.cli_ok(&["ldap-source", "list"]);
        assert!(!list.contains(SYNC_PW), "password printed: {list}");
        let src: serde_json::Value = serde_json::from_str(list.trim()).unwrap();
        assert_eq!(src["url"], slapd.url.as_str());
        assert_eq!(src["group_attr"], "memberOf");
        assert_eq!(src["map"]["name"], "uid");
        assert_eq!(src["missing"], "disable");
        // The bind password is sealed: not in the database in the clear.
        let dump = match s.pg() {
            Some(pg) => pg.dump(),
            None => String::from_utf8_lossy(&s.data_dir_bytes()).into_owned(),
        };
        assert!(!dump.contains(SYNC_PW), "bind password stored in the clear");

        // Bad settings: clear errors, nothing stored.
        for (args, msg) in [
            (vec!["--url", "http://127.0.0.1:1"], "ldap:// or ldaps://"),
            (
                vec!["--url", &slapd.url, "--map", "shoe=cn"],
                "unknown field",
            ),
            (
                vec!["--url", &slapd.url, "--filter", "uid=x"],
                "parenthesised",
            ),
        ] {
            let mut a = vec!["ldap-source", "add", "bad", "--bind-dn", SYNC_DN];
            a.extend(["--password-stdin", "--base-dn", SUFFIX]);
            a.extend(args);
            let o = s.cli(&a);
            assert!(!o.status.success());
            let err = String::from_utf8_lossy(&o.stderr);
            assert!(err.contains(msg), "{a:?}: {err}");
        }
        let o = s.cli(&["ldap-sync", "nosuch"]);
        assert!(String::from_utf8_lossy(&o.stderr).contains("no LDAP source named"));
        assert_eq!(s.cli_ok(&["ldap-source", "list"]).lines().count(), 1);
    }
    let before: Vec<usize> = servers.iter().map(user_count).collect();

    // Dry run: the report, nothing stored.
    for (s, before) in servers.iter().zip(&before) {
        let out = s.cli_ok(&["ldap-sync", "corp", "--dry-run"]);
        assert!(out.contains("dry-run: true"), "{out}");
        assert_eq!(value(&out, "entries"), USERS as i64, "{out}");
        assert_eq!(value(&out, "created"), USERS as i64 - 1, "{out}");
        assert_eq!(value(&out, "skipped"), 1, "{out}");
        assert_eq!(value(&out, "updated"), 0);
        assert!(out.lines().any(|l| l == "create: user0001"), "{out}");
        assert!(
            out.contains("skip: user0007 (a local user has this name)"),
            "{out}"
        );
        assert_eq!(user_count(s), *before, "a dry run changed users");
        assert!(!s.cli(&["user", "show", "user0001"]).status.success());
    }

    // The sync.
    for (s, before) in servers.iter().zip(&before) {
        let t = Instant::now();
        let out = s.cli_ok(&["ldap-sync", "corp"]);
        eprintln!(
            "{:?}: first sync of {USERS} users took {:?} (elapsed-ms {})",
            s.backend(),
            t.elapsed(),
            value(&out, "elapsed-ms")
        );
        assert!(
            !out.contains("create: "),
            "per-user lines only in a dry run: {out}"
        );
        assert_eq!(value(&out, "created"), USERS as i64 - 1, "{out}");
        assert_eq!(user_count(s), before + USERS - 1);
        let u = s.user_show("user0010");
        assert_eq!(u["display_name"], "Person 10", "{u}");
        assert_eq!(u["email"], "user0010@example.org");
        assert_eq!(u["given_name"], "Given10");
        assert_eq!(u["family_name"], "Family10");
        assert_eq!(u["department"], dept(10));
        assert_eq!(u["position"], "Clerk");
        assert_eq!(u["attributes"]["employee_mail"], "user0010@example.org");
        assert_eq!(u["enabled"], true);
        assert_eq!(u["must_change_pattern"], true);
        assert_eq!(groups(&u), [format!("dept-{}", dept(10)), "vpn".into()]);
        let local = s.user_show("user0007");
        assert_eq!(local["department"], serde_json::Value::Null, "{local}");
        for i in 1..=DEPARTMENTS.len() {
            let g = groups(&s.user_show(&uid(i)));
            assert_eq!(g, [format!("dept-{}", dept(i))], "{}", uid(i));
        }
        // Nothing changed since: all unchanged.
        let out = s.cli_ok(&["ldap-sync", "corp"]);
        assert_eq!(value(&out, "unchanged"), USERS as i64 - 1, "{out}");
        assert_eq!(value(&out, "created") + value(&out, "updated"), 0, "{out}");
    }

    // Changes in the directory.
    let moved = format!("uid=user0010,ou=people,{SUFFIX}");
    let old_dept = dept(10);
    let new_dept = dept(11);
    slapd.admin(
        "ldapmodify",
        &format!(
            "dn: {moved}\nchangetype: modify\nreplace: title\ntitle: Manager\n-\n\
             replace: departmentNumber\ndepartmentNumber: {new_dept}\n\n\
             dn: cn=dept-{old_dept},ou=groups,{SUFFIX}\nchangetype: modify\n\
             delete: member\nmember: {moved}\n\n\
             dn: cn=dept-{new_dept},ou=groups,{SUFFIX}\nchangetype: modify\n\
             add: member\nmember: {moved}\n\n\
             dn: uid=user0020,ou=people,{SUFFIX}\nchangetype: modify\n\
             add: employeeType\nemployeeType: disabled\n\n\
             dn: uid=user0030,ou=people,{SUFFIX}\nchangetype: delete\n\n{}",
            person_ldif(USERS + 1).replace(
                "objectClass: inetOrgPerson",
                "changetype: add\nobjectClass: inetOrgPerson"
            )
        ),
        work.path(),
    );
    let new_user = uid(USERS + 1);
    for s in &servers {
        let out = s.cli_ok(&["ldap-sync", "corp", "--dry-run"]);
        assert!(
            out.contains("update: user0010 (department, position, groups)"),
            "{out}"
        );
        assert!(out.lines().any(|l| l == "disable: user0020"), "{out}");
        assert!(out.lines().any(|l| l == "disable: user0030"), "{out}");
        assert!(
            out.lines().any(|l| l == format!("create: {new_user}")),
            "{out}"
        );
        assert_eq!(
            (
                value(&out, "created"),
                value(&out, "updated"),
                value(&out, "disabled")
            ),
            (1, 1, 2),
            "{out}"
        );
        assert_eq!(s.user_show("user0010")["position"], "Clerk");

        let out = s.cli_ok(&["ldap-sync", "corp"]);
        assert_eq!(
            (
                value(&out, "created"),
                value(&out, "updated"),
                value(&out, "disabled")
            ),
            (1, 1, 2),
            "{out}"
        );
        assert_eq!(value(&out, "deleted"), 0);
        let u = s.user_show("user0010");
        assert_eq!(u["position"], "Manager", "{u}");
        assert_eq!(u["department"], new_dept);
        assert_eq!(groups(&u), [format!("dept-{new_dept}"), "vpn".into()]);
        assert_eq!(s.user_show("user0020")["enabled"], false);
        assert_eq!(
            s.user_show("user0030")["enabled"],
            false,
            "missing: disabled"
        );
        let n = s.user_show(&new_user);
        assert_eq!(n["enabled"], true);
        assert_eq!(n["must_change_pattern"], true);

        // A hand-made membership survives the sync (only the source's own are removed).
        s.cli_ok(&["group", "add-user", "vpn", "user0011"]);
        s.cli_ok(&["ldap-sync", "corp"]);
        assert!(groups(&s.user_show("user0011")).contains(&"vpn".to_owned()));

        // KEK rotation re-seals the bind password; the next sync still binds.
        let out = s.cli_ok(&["keys", "rotate-kek"]);
        assert!(out.contains("resealed: "), "{out}");
        let out = s.cli_ok(&["ldap-sync", "corp"]);
        assert_eq!(value(&out, "created") + value(&out, "updated"), 0, "{out}");
        let src: serde_json::Value =
            serde_json::from_str(s.cli_ok(&["ldap-source", "list"]).trim()).unwrap();
        assert_eq!(src["runs"], 7, "every run is logged: {src}");
        let dump = match s.pg() {
            Some(pg) => pg.dump(),
            None => String::from_utf8_lossy(&s.data_dir_bytes()).into_owned(),
        };
        assert!(dump.contains("ldap.sync.dry_run") && dump.contains("ldap.sync"));
        assert!(!dump.contains(SYNC_PW), "bind password stored in the clear");
    }

    // A synced user signs in: the administrator hands over an initial pattern, the user sets
    // their own; a later sync leaves the secret alone.
    // (The server keeps the KEK it started with: restart it after the rotation above.)
    servers[0].restart();
    let s = &servers[0];
    let out = s.cli_ok(&["user", "reset-pattern", "user0001"]);
    let initial = out
        .lines()
        .find_map(|l| l.trim().strip_prefix("initial-pattern:"))
        .map(common::parse_pattern)
        .unwrap_or_else(|| panic!("no initial-pattern: {out}"));
    let mut mine: Vec<u16> = vec![0, 13, 26, 39, 40, 41];
    if mine == initial {
        mine = vec![47, 34, 21, 8, 7, 6];
    }
    let b = s.browser();
    let grid = b.start_login("user0001");
    b.submit_otp(&grid.answer(&initial))
        .expect_see_other("/pattern/setup", "first sign-in of a synced user");
    let csv = common::pattern_csv(&mine);
    b.post_form(
        "/pattern/setup",
        &[("pattern", &csv), ("pattern_confirm", &csv)],
    )
    .expect_see_other("/", "new pattern set");
    assert_eq!(b.session_json().expect("session")["user"], "user0001");
    s.cli_ok(&["ldap-sync", "corp"]);
    assert_eq!(s.user_show("user0001")["must_change_pattern"], false);
    let b = s.browser();
    let grid = b.start_login("user0001");
    b.submit_otp(&grid.answer(&mine));
    assert_eq!(b.session_json().expect("session")["user"], "user0001");

    // The schedule: a server started with --ldap-sync-interval syncs a source added later.
    let scheduled = TestServer::start(Backend::Sqlite, &["--ldap-sync-interval", "1"]);
    assert!(scheduled.log().contains("ldap-sync-interval: 1"));
    add_source(&scheduled, &slapd.url);
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let o = scheduled.cli(&["user", "show", &new_user]);
        if o.status.success() {
            break;
        }
        assert!(Instant::now() < deadline, "the schedule did not sync");
        std::thread::sleep(Duration::from_millis(500));
    }
    assert_eq!(scheduled.user_show("user0020")["enabled"], false);
    assert_eq!(scheduled.user_show("user0010")["position"], "Manager");

    // On a server without the schedule (a scheduled run holding a source's lease would make
    // these CLI runs fail with `lease held`).
    let other = &servers[1];

    // TLS: StartTLS and ldaps:// with the test CA. These sources find users that belong to
    // `corp`, so every entry is skipped (a source never takes over another's users); without
    // the CA the certificate is refused (verification is on).
    let ca = slapd.ca_file.display().to_string();
    for (name, url, extra) in [
        (
            "starttls",
            slapd.url.as_str(),
            vec!["--start-tls", "--tls-ca-file", &ca],
        ),
        (
            "ldaps",
            slapd.ldaps_url.as_str(),
            vec!["--tls-ca-file", &ca],
        ),
        ("untrusted", slapd.url.as_str(), vec!["--start-tls"]),
    ] {
        let mut args = vec![
            "ldap-source",
            "add",
            name,
            "--url",
            url,
            "--bind-dn",
            SYNC_DN,
        ];
        args.extend(["--password-stdin", "--base-dn", SUFFIX]);
        args.extend(extra);
        other.cli_ok_stdin(&args, &format!("{SYNC_PW}\n"));
        let o = other.cli(&["ldap-sync", name, "--dry-run"]);
        let out = String::from_utf8_lossy(&o.stdout);
        if name == "untrusted" {
            assert!(!o.status.success(), "{out}");
            let err = String::from_utf8_lossy(&o.stderr);
            assert!(err.contains("connecting to"), "{err}");
        } else {
            assert!(
                o.status.success(),
                "{name}: {}",
                String::from_utf8_lossy(&o.stderr)
            );
            assert_eq!(value(&out, "entries"), USERS as i64, "{out}");
            assert_eq!(value(&out, "skipped"), USERS as i64, "{out}");
            assert!(out.contains("(owned by another LDAP source)"), "{out}");
        }
    }

    // An unreachable directory: a clear error, nothing changed, the failure logged and audited.
    let before = user_count(other);
    let dead = format!("ldap://127.0.0.1:{}", free_port());
    let out = other.cli_ok_stdin(
        &[
            "ldap-source",
            "add",
            "dead",
            "--url",
            &dead,
            "--bind-dn",
            SYNC_DN,
            "--password-stdin",
            "--base-dn",
            SUFFIX,
        ],
        "x\n",
    );
    assert_eq!(out.trim(), "ldap-source: dead");
    let o = other.cli(&["ldap-sync", "dead"]);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains(&format!("connecting to {dead}")), "{err}");
    assert_eq!(user_count(other), before);
    let list = other.cli_ok(&["ldap-source", "list"]);
    let dead_src: serde_json::Value = list
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .find(|v| v["name"] == "dead")
        .unwrap();
    assert_eq!(dead_src["runs"], 1, "the failed run is logged: {dead_src}");
}

/// The lease: one holder at a time, a second holder only after expiry.
#[test]
fn ldap_sync_lease_admits_one_holder() {
    let dir = tempfile::tempdir().unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        use passlogic_idp_server::store::{LdapSourceRow, Store};
        let store = Store::open_sqlite(dir.path()).await.unwrap();
        let tenant = store.ensure_tenant("t", "T", 1).await.unwrap();
        let row = LdapSourceRow {
            id: 0,
            tenant_id: tenant,
            name: "s".into(),
            url: "ldap://127.0.0.1:1".into(),
            start_tls: false,
            tls_ca: None,
            bind_dn: "cn=x".into(),
            sealed_password: Vec::new(),
            base_dn: "dc=x".into(),
            filter: "(uid=*)".into(),
            attribute_map: "{}".into(),
            group_attr: None,
            active_directory: false,
            missing: "disable".into(),
            page_size: 10,
        };
        let id = store
            .create_ldap_source(&row, |_| vec![1], 1)
            .await
            .unwrap()
            .unwrap();
        assert!(store.take_ldap_lease(id, "a", 100, 200).await.unwrap());
        assert!(!store.take_ldap_lease(id, "b", 150, 250).await.unwrap());
        assert!(
            store.take_ldap_lease(id, "a", 150, 260).await.unwrap(),
            "renewal"
        );
        assert!(
            store.take_ldap_lease(id, "b", 260, 300).await.unwrap(),
            "expired"
        );
        store.release_ldap_lease(id, "b").await.unwrap();
        assert!(
            store.take_ldap_lease(id, "c", 261, 300).await.unwrap(),
            "released"
        );
        store.close().await;
    });
}
