//! `serve --demo`: a demo tenant with known users, so a newcomer can sign in within a minute.

use passlogic_idp_core::factor::matrix::Pattern;
use passlogic_idp_core::policy::AuthPolicy;
use passlogic_idp_core::seal::Keyring;

use crate::admin;
use crate::store::{NewUser, Store};

/// Demo users and their fixed patterns (cell indexes on the 4x12 grid, row-major from 0).
/// They are printed at start-up; anyone can read them here, so never use `--demo` in production.
pub const DEMO_USERS: &[(&str, &str, &[u16], bool)] = &[
    ("demo", "Demo User", &[0, 13, 26, 39, 16, 31], false),
    ("admin", "Demo Administrator", &[11, 22, 33, 44, 7, 4], true),
];

/// The demo tenant's name.
pub const DEMO_TENANT: &str = "demo";

/// Creates the demo tenant, its default policy and users if they are missing; returns the
/// tenant id. Users that exist keep whatever state they have.
pub async fn seed(store: &Store, ring: &Keyring, now: i64) -> anyhow::Result<i64> {
    let tenant_id = store
        .ensure_tenant(DEMO_TENANT, "Demo organisation", now)
        .await?;
    if store.effective_policy(tenant_id, None).await? == AuthPolicy::default() {
        store
            .put_policy(tenant_id, "default", &AuthPolicy::default())
            .await?;
    }
    for (name, display, cells, is_admin) in DEMO_USERS {
        let new = NewUser {
            tenant_id,
            name: (*name).to_owned(),
            display_name: (*display).to_owned(),
            email: Some(format!("{name}@demo.example")),
            is_admin: *is_admin,
        };
        if let Some(id) = store.create_user(&new, now).await? {
            let user = store
                .user_by_id(id)
                .await?
                .ok_or_else(|| anyhow::anyhow!("demo user vanished"))?;
            admin::set_pattern(store, ring, &user, Pattern::new(cells.to_vec()), now).await?;
            admin::audit(
                store,
                now,
                tenant_id,
                "demo",
                "user.created",
                name,
                serde_json::json!({ "demo": true }),
            )
            .await?;
        }
    }
    Ok(tenant_id)
}

/// The sign-in instructions printed after start-up (format fixed by docs/testability.md).
pub fn instructions(base_url: &str) -> String {
    let mut out = format!("demo tenant ready; sign in at {base_url}/login\n");
    for (name, _, cells, _) in DEMO_USERS {
        let csv: Vec<String> = cells.iter().map(u16::to_string).collect();
        out.push_str(&format!("  user: {name}\n  pattern: {}\n", csv.join(",")));
    }
    out.push_str(
        "  how: open the URL, type the user ID, then type the digits shown in the pattern's cells,\n\
         \x20      in the pattern's order (cell = row * 12 + column, counting from 0 at the top left).\n",
    );
    out
}
