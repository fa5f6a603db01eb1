//! The RADIUS client registry: which source addresses may ask, with which shared secret.
//!
//! The shared secret keys every packet's MD5 and HMAC-MD5, so it must be recoverable: it is
//! sealed under the key-encryption key with associated data naming the tenant and client (a blob
//! copied to another client's row does not open), re-sealed by `keys rotate-kek`, and never
//! logged. A source address matching several clients gets the one with the longest prefix.

use std::net::IpAddr;

use passlogic_idp_core::policy::Cidr;
use passlogic_idp_core::radius::SharedSecret;
use passlogic_idp_core::seal::{Kek, Keyring};

use crate::keys;
use crate::secrets;
use crate::store::{RadiusClientRow, Store};

/// The demo client's name (`serve --demo --radius-listen`).
pub const DEMO_CLIENT: &str = "demo";

/// Shortest shared secret accepted (RFC 2865 recommends at least 16 octets).
pub const MIN_SECRET_LEN: usize = 16;

/// Associated data of a client's sealed secret.
pub fn client_aad(tenant_id: i64, name: &str) -> Vec<u8> {
    format!("passlogic:radius-client:tenant:{tenant_id}:name:{name}").into_bytes()
}

/// Length of a generated shared secret: 32 letters and digits, about 190 bits. Letters and
/// digits only, so no gateway's input field or command line (`radclient`, a secret starting
/// with `-`) trips over it; 32 characters fit every gateway we know (Palo Alto allows 64).
pub const GENERATED_SECRET_LEN: usize = 32;

/// A new random shared secret of [`GENERATED_SECRET_LEN`] letters and digits.
pub fn generate_secret() -> String {
    use rand::distributions::{Alphanumeric, DistString};
    Alphanumeric.sample_string(&mut rand::rngs::OsRng, GENERATED_SECRET_LEN)
}

/// Opens a client's shared secret.
pub fn open_secret(ring: &Keyring, client: &RadiusClientRow) -> anyhow::Result<SharedSecret> {
    let plain = secrets::open_bytes(
        ring,
        &client_aad(client.tenant_id, &client.name),
        &client.sealed_secret,
    )?;
    SharedSecret::new(plain).map_err(|e| anyhow::anyhow!("RADIUS client {}: {e}", client.name))
}

/// The client whose range holds `ip` (the longest prefix wins), if any.
pub fn find_client(clients: &[RadiusClientRow], ip: IpAddr) -> Option<&RadiusClientRow> {
    clients
        .iter()
        .filter_map(|c| c.address.parse::<Cidr>().ok().map(|r| (r, c)))
        .filter(|(r, _)| r.contains(ip))
        .max_by_key(|(r, _)| r.prefix())
        .map(|(_, c)| c)
}

/// Registers a client after checking its name, range and secret; `false` if the name is taken.
#[allow(clippy::too_many_arguments)]
pub async fn register(
    store: &Store,
    ring: &Keyring,
    tenant_id: i64,
    name: &str,
    address: &str,
    secret: &str,
    require_message_authenticator: bool,
    now: i64,
) -> anyhow::Result<bool> {
    anyhow::ensure!(
        !name.is_empty() && name.len() <= 64 && !name.chars().any(char::is_control),
        "the client name must be 1 to 64 printable characters"
    );
    let range: Cidr = address
        .parse()
        .map_err(|e| anyhow::anyhow!("--address {address:?}: {e}"))?;
    anyhow::ensure!(
        secret.len() >= MIN_SECRET_LEN,
        "the shared secret must be at least {MIN_SECRET_LEN} characters (or use --generate)"
    );
    let sealed = secrets::seal_bytes(ring, &client_aad(tenant_id, name), secret.as_bytes());
    store
        .create_radius_client(
            &RadiusClientRow {
                tenant_id,
                name: name.to_owned(),
                address: range.to_string(),
                sealed_secret: sealed,
                require_message_authenticator,
            },
            now,
        )
        .await
}

/// The demo client for 127.0.0.1, created on first use; returns its shared secret (to print).
pub async fn ensure_demo_client(
    store: &Store,
    ring: &Keyring,
    tenant_id: i64,
    now: i64,
) -> anyhow::Result<String> {
    let find = |clients: Vec<RadiusClientRow>| clients.into_iter().find(|c| c.name == DEMO_CLIENT);
    if find(store.radius_clients(tenant_id).await?).is_none() {
        let secret = generate_secret();
        register(
            store,
            ring,
            tenant_id,
            DEMO_CLIENT,
            "127.0.0.1/32",
            &secret,
            true,
            now,
        )
        .await?;
    }
    let client = find(store.radius_clients(tenant_id).await?)
        .ok_or_else(|| anyhow::anyhow!("the demo RADIUS client vanished"))?;
    let secret = open_secret(ring, &client)?;
    Ok(String::from_utf8_lossy(secret.expose()).into_owned())
}

/// Re-seals every client secret under `new` (KEK rotation): `(tenant, name, blob)` rows.
pub async fn reseal_all(
    store: &Store,
    ring: &Keyring,
    new: &Kek,
) -> anyhow::Result<Vec<(i64, String, Vec<u8>)>> {
    let clients = store.all_radius_clients().await?;
    let mut out = Vec::new();
    for c in clients {
        let rows = keys::reseal_rows(
            ring,
            new,
            vec![(c.tenant_id, c.sealed_secret.clone())],
            |t| client_aad(t, &c.name),
            "RADIUS client of tenant",
        )?;
        out.extend(rows.into_iter().map(|(t, blob)| (t, c.name.clone(), blob)));
    }
    Ok(out)
}
