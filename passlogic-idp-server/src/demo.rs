//! `serve --demo`: a demo tenant with known users, so a newcomer can sign in within a minute.

use passlogic_idp_core::factor::matrix::Pattern;
use passlogic_idp_core::factor::otp::{OtpSecret, TotpParams};
use passlogic_idp_core::pipeline::{Combination, Method};
use passlogic_idp_core::policy::AuthPolicy;
use passlogic_idp_core::seal::Keyring;

use crate::admin;
use crate::factors;
use crate::secrets;
use crate::store::{NewUser, Store, UserDirectory};

/// Directory data of a demo user: e-mail, given and family name (from the display name), and
/// the external IDs every SAML preset needs (`immutable_id` for Entra, `upn`, `federation_id`
/// for Salesforce).
fn demo_directory(u: &DemoUser) -> UserDirectory {
    use base64::Engine as _;
    let email = format!("{}@demo.example", u.name);
    let (given, family) = u.display.split_once(' ').unwrap_or((u.display, ""));
    let immutable = base64::engine::general_purpose::STANDARD.encode(format!("demo:{}", u.name));
    UserDirectory {
        email: Some(email.clone()),
        given_name: Some(given.to_owned()),
        family_name: (!family.is_empty()).then(|| family.to_owned()),
        attributes: [
            ("immutable_id".to_owned(), immutable),
            ("upn".to_owned(), email.clone()),
            ("federation_id".to_owned(), email),
        ]
        .into_iter()
        .collect(),
        ..UserDirectory::default()
    }
}

/// A demo user: name, display name, fixed pattern (cell indexes on the 4x12 grid, row-major
/// from 0), administrator, and group (whose policy applies).
struct DemoUser {
    name: &'static str,
    display: &'static str,
    pattern: &'static [u16],
    admin: bool,
    group: Option<&'static str>,
}

/// Printed at start-up; anyone can read them here, so never use `--demo` in production.
const DEMO_USERS: &[DemoUser] = &[
    DemoUser {
        name: "demo",
        display: "Demo User",
        pattern: &[0, 13, 26, 39, 16, 31],
        admin: false,
        group: None,
    },
    DemoUser {
        name: "admin",
        display: "Demo Administrator",
        pattern: &[11, 22, 33, 44, 7, 4],
        admin: true,
        group: None,
    },
    DemoUser {
        name: "demo-mfa",
        display: "Demo MFA User",
        pattern: &[5, 18, 31, 44, 23, 10],
        admin: false,
        group: Some("mfa"),
    },
];

/// The demo tenant's name.
pub const DEMO_TENANT: &str = "demo";

/// Creates the demo tenant, its policies, groups and users if they are missing; returns the
/// tenant id. Users that exist keep whatever state they have.
pub async fn seed(store: &Store, ring: &Keyring, now: i64) -> anyhow::Result<i64> {
    let tenant_id = store
        .ensure_tenant(DEMO_TENANT, "Demo organisation", now)
        .await?;
    if store.policy(tenant_id, "default").await?.is_none() {
        store
            .put_policy(tenant_id, "default", &AuthPolicy::default())
            .await?;
    }
    if store.policy(tenant_id, "mfa").await?.is_none() {
        let mfa = AuthPolicy {
            combinations: vec![Combination::new(vec![Method::Matrix, Method::Totp])
                .ok_or_else(|| anyhow::anyhow!("combination"))?],
            ..AuthPolicy::default()
        };
        let pid = store.put_policy(tenant_id, "mfa", &mfa).await?;
        let gid = store.ensure_group(tenant_id, "mfa", "adhoc").await?;
        store.set_group_policy(gid, Some(pid)).await?;
    }
    for u in DEMO_USERS {
        let new = NewUser {
            tenant_id,
            name: u.name.to_owned(),
            display_name: u.display.to_owned(),
            email: Some(format!("{}@demo.example", u.name)),
            is_admin: u.admin,
        };
        let Some(id) = store.create_user(&new, now).await? else {
            // Demo data directories from before the directory attributes get them once.
            if let Some(old) = store.user_by_name(tenant_id, u.name).await? {
                if old.given_name.is_none() && old.attributes.is_empty() {
                    let mut d = demo_directory(u);
                    d.email = old.email.clone();
                    store.update_user_directory(old.id, &d, now).await?;
                }
            }
            continue;
        };
        store
            .update_user_directory(id, &demo_directory(u), now)
            .await?;
        let user = store
            .user_by_id(id)
            .await?
            .ok_or_else(|| anyhow::anyhow!("demo user vanished"))?;
        admin::set_pattern(store, ring, &user, Pattern::new(u.pattern.to_vec()), now).await?;
        if let Some(g) = u.group {
            let gid = store.ensure_group(tenant_id, g, "adhoc").await?;
            store.add_to_group(id, gid).await?;
            let secret = OtpSecret::generate(&mut rand::rngs::OsRng, OtpSecret::DEFAULT_LEN);
            factors::enrol_app(
                store,
                ring,
                now,
                &user,
                Method::Totp,
                &secret,
                &TotpParams::default(),
            )
            .await?;
        }
        admin::audit(
            store,
            now,
            tenant_id,
            "demo",
            "user.created",
            u.name,
            serde_json::json!({ "demo": true }),
        )
        .await?;
    }
    Ok(tenant_id)
}

/// The sign-in instructions printed after start-up (format fixed by docs/testability.md).
pub async fn instructions(
    store: &Store,
    ring: &Keyring,
    tenant_id: i64,
    base_url: &str,
) -> anyhow::Result<String> {
    let mut out = format!("demo tenant ready; sign in at {base_url}/login\n");
    for u in DEMO_USERS {
        let csv: Vec<String> = u.pattern.iter().map(u16::to_string).collect();
        out.push_str(&format!(
            "  user: {}\n  pattern: {}\n",
            u.name,
            csv.join(",")
        ));
        let Some(user) = store.user_by_name(tenant_id, u.name).await? else {
            continue;
        };
        if let Some(f) = store
            .factors(user.id)
            .await?
            .into_iter()
            .find(|f| f.method == "totp")
        {
            if let Some(blob) = f.secret {
                let aad = secrets::user_aad("totp", tenant_id, user.id);
                let secret = OtpSecret::from_bytes(secrets::open_bytes(ring, &aad, &blob)?);
                out.push_str(&format!("  totp: {}\n", secret.to_base32()));
            }
        }
    }
    out.push_str(
        "  how: open the URL, type the user ID, then type the digits shown in the pattern's cells,\n\
         \x20      in the pattern's order (cell = row * 12 + column, counting from 0 at the top left).\n\
         \x20      demo-mfa also needs a code from an authenticator app holding its totp secret\n\
         \x20      (or: passlogic-idp authenticator show --secret SECRET).\n",
    );
    Ok(out)
}
