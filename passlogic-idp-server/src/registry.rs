//! Registering services: OpenID Connect clients and SAML service providers, validated and
//! stored the same way for `passlogic-idp client add` / `sp add` and the admin API
//! (`POST /api/v1/services/oidc-clients`, `POST /api/v1/services/saml-sps`).

use passlogic_idp_core::oidc::client_auth::hash_client_secret;
use passlogic_idp_core::oidc::jose::{Algorithm, Jwks};
use passlogic_idp_core::oidc::types::{
    ClientRegistration, ClientSecret, GrantType, ResponseType, TokenEndpointAuthMethod,
};

use passlogic_idp_core::saml::metadata::parse_sp_metadata;
use passlogic_idp_core::saml::sp::DataEncryption;
use passlogic_idp_core::saml::{
    nameid_format, AttributeRelease, AttributeSource, MessageLimits, NameIdSource, ServiceProvider,
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

// ---------------------------------------------------------------------------------------------
// SAML service providers

/// SaaS presets: what the SP expects beyond its metadata (NameID, attributes, signing...).
#[derive(Clone, Copy, Debug, clap::ValueEnum, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Preset {
    /// Microsoft 365 / Entra ID domain federation.
    Entra,
    /// Google Workspace.
    Google,
    /// Salesforce.
    Salesforce,
    /// Box.
    Box,
}

/// A directory attribute key (as `user set --attr` accepts them).
fn attribute_key(k: &str) -> anyhow::Result<String> {
    anyhow::ensure!(
        !k.is_empty()
            && k.len() <= 64
            && k.bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b':')),
        "{k:?} is not a directory attribute key"
    );
    Ok(k.to_owned())
}

/// `--name-id-source`.
pub fn parse_name_id_source(s: &str) -> anyhow::Result<NameIdSource> {
    Ok(match s {
        "email" => NameIdSource::Email,
        "name" | "user_name" => NameIdSource::UserName,
        "persistent" => NameIdSource::Persistent,
        other => NameIdSource::ExternalId(attribute_key(other)?),
    })
}

/// `--name-id-format`.
pub fn parse_name_id_format(s: &str) -> anyhow::Result<String> {
    Ok(match s {
        "email" => nameid_format::EMAIL.to_owned(),
        "persistent" => nameid_format::PERSISTENT.to_owned(),
        "transient" => nameid_format::TRANSIENT.to_owned(),
        "unspecified" => nameid_format::UNSPECIFIED.to_owned(),
        uri if uri.starts_with("urn:") => uri.to_owned(),
        other => anyhow::bail!("{other:?} is not a NameID format"),
    })
}

/// `--attribute NAME=SOURCE`.
pub fn parse_attribute(s: &str) -> anyhow::Result<AttributeRelease> {
    let (name, source) = s
        .split_once('=')
        .ok_or_else(|| anyhow::anyhow!("--attribute {s:?}: expected NAME=SOURCE"))?;
    anyhow::ensure!(
        !name.is_empty() && !name.chars().any(char::is_control),
        "--attribute {s:?}: empty name"
    );
    let source = match source {
        "email" => AttributeSource::Email,
        "name" | "user_name" => AttributeSource::UserName,
        "given_name" => AttributeSource::GivenName,
        "family_name" | "surname" => AttributeSource::Surname,
        "display_name" => AttributeSource::DisplayName,
        "groups" => AttributeSource::Groups,
        c if c.starts_with("const:") => AttributeSource::Constant(c["const:".len()..].to_owned()),
        key => AttributeSource::External(attribute_key(key)?),
    };
    Ok(AttributeRelease {
        name: name.to_owned(),
        name_format: None,
        source,
    })
}

/// Endpoints and keys from the metadata; behaviour from the preset.
fn apply_preset(mut sp: ServiceProvider, preset: Preset) -> ServiceProvider {
    let p = match preset {
        Preset::Entra => ServiceProvider::microsoft_entra(),
        Preset::Google => ServiceProvider::google_workspace("example.com", false),
        Preset::Salesforce => ServiceProvider::salesforce("example"),
        Preset::Box => ServiceProvider::box_com(),
    };
    sp.sign = p.sign;
    sp.name_id_format = p.name_id_format;
    sp.name_id_source = p.name_id_source;
    sp.attributes = p.attributes;
    sp.authn_context = p.authn_context;
    sp.omit_authenticating_authority = p.omit_authenticating_authority;
    sp.allow_sha1_inbound = p.allow_sha1_inbound;
    sp.want_authn_requests_signed |= p.want_authn_requests_signed;
    sp.want_logout_requests_signed = p.want_logout_requests_signed;
    sp
}

/// What `sp add` (or the API) asks for beyond the metadata.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SpOptions {
    pub preset: Option<Preset>,
    pub name_id_source: Option<String>,
    pub name_id_format: Option<String>,
    pub attributes: Vec<String>,
    pub allow_http_loopback: bool,
    pub require_signed_requests: bool,
    pub no_encryption: bool,
    pub encryption: Option<String>,
}

fn build_sp(xml: &str, source: &str, o: &SpOptions) -> anyhow::Result<ServiceProvider> {
    let limits = MessageLimits::default();
    let mut sp = parse_sp_metadata(xml, &limits).map_err(|e| anyhow::anyhow!("{source}: {e}"))?;
    if let Some(p) = o.preset {
        sp = apply_preset(sp, p);
    }
    if let Some(src) = &o.name_id_source {
        sp.name_id_source = parse_name_id_source(src)?;
    }
    if let Some(f) = &o.name_id_format {
        sp.name_id_format = parse_name_id_format(f)?;
    }
    sp.allow_http_loopback_acs = o.allow_http_loopback;
    sp.want_authn_requests_signed |= o.require_signed_requests;
    if o.no_encryption {
        sp.encryption_cert = None;
    }
    match o.encryption.as_deref() {
        None => {}
        Some("aes256-gcm") => sp.encryption = DataEncryption::Aes256Gcm,
        Some("aes256-cbc") => sp.encryption = DataEncryption::Aes256Cbc,
        Some(other) => anyhow::bail!("encryption {other:?}: aes256-gcm or aes256-cbc"),
    }
    if !o.attributes.is_empty() {
        sp.attributes = o
            .attributes
            .iter()
            .map(|a| parse_attribute(a))
            .collect::<anyhow::Result<_>>()?;
    }
    sp.validate()
        .map_err(|e| anyhow::anyhow!("the service provider cannot be registered: {e}"))?;
    Ok(sp)
}

/// Registers a service provider from its metadata. `Ok(Err(reason))`: refused (bad metadata
/// or options, or the entity ID is taken).
pub async fn register_sp(
    store: &Store,
    tenant_id: i64,
    xml: &str,
    source: &str,
    options: &SpOptions,
    now: i64,
) -> anyhow::Result<Result<ServiceProvider, String>> {
    let sp = match build_sp(xml, source, options) {
        Ok(sp) => sp,
        Err(e) => return Ok(Err(format!("{e:#}"))),
    };
    if !store.create_saml_sp(tenant_id, &sp, now).await? {
        return Ok(Err(format!(
            "a service provider with entity ID {:?} exists already",
            sp.entity_id
        )));
    }
    Ok(Ok(sp))
}
