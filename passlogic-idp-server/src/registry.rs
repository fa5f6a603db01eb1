//! Registering OpenID Connect clients: the validation and the stored registration, shared by
//! `passlogic-idp client add` and the admin API (`POST /api/v1/services/oidc-clients`).

use passlogic_idp_core::oidc::client_auth::hash_client_secret;
use passlogic_idp_core::oidc::jose::{Algorithm, Jwks};
use passlogic_idp_core::oidc::types::{
    ClientRegistration, ClientSecret, GrantType, ResponseType, TokenEndpointAuthMethod,
};

use crate::store::Store;

const DEFAULT_SCOPES: &[&str] = &["openid", "profile", "email", "offline_access"];

/// What a new client asks for (the CLI flags / the API body).
#[derive(Debug, Clone, Default)]
pub struct NewClient {
    pub client_id: String,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    /// A chosen secret (else one is generated for a confidential client).
    pub secret: Option<String>,
    /// Public keys (JWKS JSON text) for `private_key_jwt`.
    pub jwks: Option<String>,
    pub response_types: Vec<String>,
    pub public: bool,
    /// `client_secret_basic` (default), `client_secret_post` or `private_key_jwt`.
    pub auth_method: String,
    pub scopes: Vec<String>,
}

/// A stored registration and the generated secret to show once.
#[derive(Debug)]
pub struct RegisteredClient {
    pub registration: ClientRegistration,
    pub shown_secret: Option<String>,
}

pub fn check_uri(uri: &str) -> anyhow::Result<()> {
    anyhow::ensure!(
        !uri.is_empty()
            && !uri.contains('#')
            && uri.contains(':')
            && !uri.bytes().any(|b| b <= 0x20 || b >= 0x7f),
        "{uri:?} is not an absolute URI without fragment"
    );
    Ok(())
}

/// A private_key_jwt client's public keys: every key must be a usable RS256 or ES256
/// signature key without private parts.
fn client_keys(text: &str) -> anyhow::Result<Jwks> {
    let value: serde_json::Value =
        serde_json::from_str(text).map_err(|e| anyhow::anyhow!("jwks: not JSON: {e}"))?;
    let private = value["keys"].as_array().is_some_and(|keys| {
        keys.iter()
            .any(|k| ["d", "p", "q", "k"].iter().any(|m| k.get(m).is_some()))
    });
    anyhow::ensure!(
        !private,
        "jwks: contains private or symmetric key material; give the public keys only"
    );
    let jwks = Jwks::from_json(text).map_err(|e| anyhow::anyhow!("jwks: not a JWKS: {e}"))?;
    anyhow::ensure!(!jwks.keys.is_empty(), "jwks: no keys");
    for k in &jwks.keys {
        let key = k
            .to_verifying_key()
            .map_err(|e| anyhow::anyhow!("jwks: key {:?}: {e}", k.kid))?;
        anyhow::ensure!(
            matches!(key.alg(), None | Some(Algorithm::Rs256 | Algorithm::Es256))
                && matches!(k.kty.as_str(), "RSA" | "EC"),
            "jwks: key {:?}: only RS256 and ES256 keys",
            k.kid
        );
    }
    Ok(jwks)
}

/// Validates and builds the registration (no I/O).
fn build(new: NewClient) -> anyhow::Result<(ClientRegistration, Option<String>)> {
    let NewClient {
        client_id,
        redirect_uris,
        post_logout_redirect_uris,
        secret,
        jwks,
        response_types,
        public,
        auth_method,
        scopes,
    } = new;
    let auth_method = if auth_method.is_empty() {
        "client_secret_basic".to_owned()
    } else {
        auth_method
    };
    anyhow::ensure!(
        !client_id.is_empty()
            && client_id.len() <= 200
            && client_id.bytes().all(|b| b.is_ascii_graphic()),
        "the client id must be 1 to 200 visible ASCII characters"
    );
    for u in redirect_uris.iter().chain(&post_logout_redirect_uris) {
        check_uri(u)?;
    }
    let mut rng = rand::rngs::OsRng;
    let (mut reg, shown_secret) = if public {
        (
            ClientRegistration::public(client_id.clone(), redirect_uris),
            None,
        )
    } else if let Some(path) = &jwks {
        anyhow::ensure!(
            matches!(
                auth_method.as_str(),
                "client_secret_basic" | "private_key_jwt"
            ),
            "--jwks means --auth-method private_key_jwt"
        );
        let keys = client_keys(path)?;
        let mut reg =
            ClientRegistration::confidential(client_id.clone(), redirect_uris, String::new());
        reg.client_secret_hash = None;
        reg.jwks = Some(keys);
        reg.token_endpoint_auth_method = TokenEndpointAuthMethod::PrivateKeyJwt;
        reg.grant_types.push(GrantType::ClientCredentials);
        (reg, None)
    } else {
        let generated = secret.is_none();
        let secret = secret.unwrap_or_else(|| ClientSecret::generate(&mut rng).secret().to_owned());
        let mut reg = ClientRegistration::confidential(
            client_id.clone(),
            redirect_uris,
            hash_client_secret(&secret, &mut rng),
        );
        reg.token_endpoint_auth_method = match auth_method.as_str() {
            "client_secret_basic" => TokenEndpointAuthMethod::ClientSecretBasic,
            "client_secret_post" => TokenEndpointAuthMethod::ClientSecretPost,
            "private_key_jwt" => anyhow::bail!("private_key_jwt needs --jwks FILE"),
            other => anyhow::bail!(
                "unsupported --auth-method {other:?} (client_secret_basic, \
                 client_secret_post or private_key_jwt)"
            ),
        };
        reg.grant_types.push(GrantType::ClientCredentials);
        (reg, generated.then_some(secret))
    };
    if !response_types.is_empty() {
        let mut parsed = Vec::new();
        for r in &response_types {
            let t = match r.as_str() {
                "code" => ResponseType::Code,
                "id_token" => ResponseType::IdToken,
                other => anyhow::bail!("unsupported --response-type {other:?} (code or id_token)"),
            };
            if !parsed.contains(&t) {
                parsed.push(t);
            }
        }
        reg.response_types = parsed;
    }
    reg.post_logout_redirect_uris = post_logout_redirect_uris;
    reg.allowed_scopes = if scopes.is_empty() {
        DEFAULT_SCOPES.iter().map(|s| (*s).to_owned()).collect()
    } else {
        scopes
    };
    Ok((reg, shown_secret))
}

/// Registers a client. `Ok(Err(reason))`: refused (invalid, the EAM client id, or taken).
pub async fn register_client(
    store: &Store,
    tenant_id: i64,
    new: NewClient,
    now: i64,
) -> anyhow::Result<Result<RegisteredClient, String>> {
    let client_id = new.client_id.clone();
    // The Entra EAM client id is answered by the EAM profile; a client with the same id would
    // never be reached.
    if let Some(eam) = store.eam_config(tenant_id).await? {
        let eam: passlogic_idp_core::oidc::eam::EamConfig = serde_json::from_str(&eam)?;
        if eam.client_id.as_str() == client_id {
            return Ok(Err(format!(
                "{client_id:?} is the Entra EAM client id (eam configure)"
            )));
        }
    }
    let (reg, shown_secret) = match build(new) {
        Ok(r) => r,
        Err(e) => return Ok(Err(format!("{e:#}"))),
    };
    if !store.create_oidc_client(tenant_id, &reg, now).await? {
        return Ok(Err(format!(
            "a client with id {client_id:?} exists already"
        )));
    }
    Ok(Ok(RegisteredClient {
        registration: reg,
        shown_secret,
    }))
}
