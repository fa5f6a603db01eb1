//! Directory attributes of users through the CLI: `user add` with names, department, position
//! and `--attr KEY=VALUE`, `user set` changing and removing them (`--attr KEY=`), `user show`
//! printing them; bad input is refused and changes nothing. Demo users carry the external IDs
//! every SAML preset needs.

mod common;

use common::{Backend, TestServer};

fn directory_attributes_through_the_cli(backend: Backend) {
    let server = TestServer::start(backend, &[]);

    // Demo users: e-mail, names and the IDs for Entra / Salesforce / UPN.
    let demo = server.user_show("demo-mfa");
    assert_eq!(demo["email"], "demo-mfa@demo.example", "{demo}");
    assert_eq!(demo["given_name"], "Demo", "{demo}");
    assert_eq!(demo["family_name"], "MFA User", "{demo}");
    for key in ["immutable_id", "upn", "federation_id"] {
        assert!(
            demo["attributes"][key]
                .as_str()
                .is_some_and(|v| !v.is_empty()),
            "demo-mfa lacks {key}: {demo}"
        );
    }

    server.cli_ok(&[
        "user",
        "add",
        "alice",
        "--email",
        "alice@example.com",
        "--given-name",
        "Alice",
        "--family-name",
        "Liddell",
        "--department",
        "Research",
        "--position",
        "Engineer",
        "--attr",
        "immutable_id=AbC.2BdEf==",
        "--attr",
        "federation_id=alice.fed",
    ]);
    let a = server.user_show("alice");
    assert_eq!(a["email"], "alice@example.com");
    assert_eq!(a["given_name"], "Alice");
    assert_eq!(a["family_name"], "Liddell");
    assert_eq!(a["department"], "Research");
    assert_eq!(a["position"], "Engineer");
    assert_eq!(
        a["attributes"],
        serde_json::json!({ "immutable_id": "AbC.2BdEf==", "federation_id": "alice.fed" })
    );

    // `user set`: change one, add one, remove one; the rest stays.
    server.cli_ok(&[
        "user",
        "set",
        "alice",
        "--position",
        "Lead",
        "--attr",
        "upn=alice@contoso.example",
        "--attr",
        "federation_id=",
        "--valid-until",
        "4102444800",
    ]);
    let a = server.user_show("alice");
    assert_eq!(a["position"], "Lead");
    assert_eq!(a["department"], "Research");
    assert_eq!(a["valid_until"], 4102444800_i64);
    assert_eq!(
        a["attributes"],
        serde_json::json!({ "immutable_id": "AbC.2BdEf==", "upn": "alice@contoso.example" })
    );

    // Bad input: refused, nothing changed (also not the valid flags next to it).
    for bad in [
        vec!["--attr", "no-equals-sign"],
        vec!["--attr", "bad key=x"],
        vec!["--attr", "=x"],
        vec!["--given-name", "new\nline"],
        vec!["--valid-from", "4102444900"],
    ] {
        let mut args = vec!["user", "set", "alice", "--department", "Changed"];
        args.extend(bad.iter().copied());
        let o = server.cli(&args);
        assert!(!o.status.success(), "{bad:?} must be refused");
        assert!(
            !String::from_utf8_lossy(&o.stderr).trim().is_empty(),
            "{bad:?}: a clear error"
        );
        assert_eq!(
            server.user_show("alice")["department"],
            "Research",
            "{bad:?}"
        );
    }
    let missing = server.cli(&["user", "set", "nobody", "--position", "x"]);
    assert!(!missing.status.success());
}

both_backends!(directory_attributes_through_the_cli);
