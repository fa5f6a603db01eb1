//! The OpenID Provider metadata document served at `/.well-known/openid-configuration`
//! ([OIDC Discovery 1.0] section 3, [RFC 8414]).
//!
//! Endpoints hang off the configured issuer (never off request headers: research/security.md
//! 1.3, host-header injection): `{issuer}/oidc/authorize`, `/oidc/token`, `/oidc/userinfo`,
//! `/oidc/jwks`, `/oidc/revoke`, `/oidc/introspect`, `/oidc/logout`.
//!
//! The document also satisfies Entra ID's EAM checks (research/federation.md 2b): `scopes`
//! include `openid`, `response_types` include `id_token`, RS256 is offered, and
//! `claim_types_supported` is `["normal"]`. It advertises `request_uri_parameter_supported:
//! false` (its default is `true`) and RFC 9207's `authorization_response_iss_parameter_supported`.
//!
//! ```
//! use passlogic_idp_core::oidc::discovery::DiscoveryConfig;
//! use passlogic_idp_core::oidc::types::Issuer;
//! let issuer = Issuer::parse("https://idp.example.com")?;
//! let doc = DiscoveryConfig::new(issuer).document();
//! let json = doc.to_json();
//! assert_eq!(json["jwks_uri"], "https://idp.example.com/oidc/jwks");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! [OIDC Discovery 1.0]: https://openid.net/specs/openid-connect-discovery-1_0.html
//! [RFC 8414]: https://www.rfc-editor.org/rfc/rfc8414

use serde::{Deserialize, Serialize};

use super::jose::Algorithm;
use super::types::Issuer;

/// The `acr` values Entra ID EAM may request (research/federation.md 2e).
pub const EAM_ACR_VALUES: &[&str] = &[
    "possessionorinherence",
    "knowledgeorpossession",
    "knowledgeorinherence",
    "knowledgeorpossessionorinherence",
    "knowledge",
    "possession",
    "inherence",
];

/// What varies per deployment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiscoveryConfig {
    /// The issuer (from configuration).
    pub issuer: Issuer,
    /// ID token signing algorithms in use or planned (RS256 first: Entra needs it).
    pub id_token_signing_algs: Vec<Algorithm>,
    /// Scopes offered.
    pub scopes_supported: Vec<String>,
    /// Claims offered.
    pub claims_supported: Vec<String>,
    /// `acr` values offered.
    pub acr_values_supported: Vec<String>,
}

impl DiscoveryConfig {
    /// Defaults: RS256 and ES256; scopes `openid profile email offline_access`; the standard
    /// claims this provider emits; the EAM `acr` values.
    pub fn new(issuer: Issuer) -> Self {
        Self {
            issuer,
            id_token_signing_algs: vec![Algorithm::Rs256, Algorithm::Es256],
            scopes_supported: ["openid", "profile", "email", "offline_access"]
                .map(str::to_owned)
                .to_vec(),
            claims_supported: [
                "iss",
                "sub",
                "aud",
                "exp",
                "iat",
                "auth_time",
                "nonce",
                "acr",
                "amr",
                "azp",
                "at_hash",
                "name",
                "given_name",
                "family_name",
                "preferred_username",
                "email",
                "email_verified",
            ]
            .map(str::to_owned)
            .to_vec(),
            acr_values_supported: EAM_ACR_VALUES.iter().map(|s| (*s).to_owned()).collect(),
        }
    }

    /// Builds the metadata document.
    pub fn document(&self) -> ProviderMetadata {
        let iss = &self.issuer;
        let algs: Vec<String> = self
            .id_token_signing_algs
            .iter()
            .map(|a| a.as_str().to_owned())
            .collect();
        let strings = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        ProviderMetadata {
            issuer: iss.as_str().to_owned(),
            authorization_endpoint: iss.join("/oidc/authorize"),
            token_endpoint: iss.join("/oidc/token"),
            userinfo_endpoint: iss.join("/oidc/userinfo"),
            jwks_uri: iss.join("/oidc/jwks"),
            revocation_endpoint: iss.join("/oidc/revoke"),
            introspection_endpoint: iss.join("/oidc/introspect"),
            end_session_endpoint: iss.join("/oidc/logout"),
            scopes_supported: self.scopes_supported.clone(),
            response_types_supported: strings(&["code", "id_token"]),
            response_modes_supported: strings(&["query", "fragment", "form_post"]),
            grant_types_supported: strings(&[
                "authorization_code",
                "implicit",
                "refresh_token",
                "client_credentials",
            ]),
            subject_types_supported: strings(&["public"]),
            id_token_signing_alg_values_supported: algs,
            token_endpoint_auth_methods_supported: strings(&[
                "client_secret_basic",
                "client_secret_post",
                "private_key_jwt",
                "none",
            ]),
            token_endpoint_auth_signing_alg_values_supported: strings(&["RS256", "ES256"]),
            code_challenge_methods_supported: strings(&["S256"]),
            claims_supported: self.claims_supported.clone(),
            claim_types_supported: strings(&["normal"]),
            claims_parameter_supported: true,
            request_parameter_supported: false,
            request_uri_parameter_supported: false,
            acr_values_supported: self.acr_values_supported.clone(),
            prompt_values_supported: strings(&["none", "login"]),
            authorization_response_iss_parameter_supported: true,
        }
    }
}

/// The metadata document (serialise with [`ProviderMetadata::to_json`] or serde).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[allow(missing_docs)] // Each field is the OIDC Discovery / RFC 8414 member of the same name.
pub struct ProviderMetadata {
    pub issuer: String,
    pub authorization_endpoint: String,
    pub token_endpoint: String,
    pub userinfo_endpoint: String,
    pub jwks_uri: String,
    pub revocation_endpoint: String,
    pub introspection_endpoint: String,
    pub end_session_endpoint: String,
    pub scopes_supported: Vec<String>,
    pub response_types_supported: Vec<String>,
    pub response_modes_supported: Vec<String>,
    pub grant_types_supported: Vec<String>,
    pub subject_types_supported: Vec<String>,
    pub id_token_signing_alg_values_supported: Vec<String>,
    pub token_endpoint_auth_methods_supported: Vec<String>,
    pub token_endpoint_auth_signing_alg_values_supported: Vec<String>,
    pub code_challenge_methods_supported: Vec<String>,
    pub claims_supported: Vec<String>,
    pub claim_types_supported: Vec<String>,
    pub claims_parameter_supported: bool,
    pub request_parameter_supported: bool,
    pub request_uri_parameter_supported: bool,
    pub acr_values_supported: Vec<String>,
    pub prompt_values_supported: Vec<String>,
    pub authorization_response_iss_parameter_supported: bool,
}

impl ProviderMetadata {
    /// The document as JSON.
    pub fn to_json(&self) -> serde_json::Value {
        // A struct of strings, vectors and booleans always serialises.
        serde_json::to_value(self).unwrap_or(serde_json::Value::Null)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn document_members() {
        let issuer = Issuer::parse("https://idp.example.com/t1").unwrap();
        let json = DiscoveryConfig::new(issuer).document().to_json();
        let base = "https://idp.example.com/t1";
        assert_eq!(json["issuer"], base);
        for (member, path) in [
            ("authorization_endpoint", "/oidc/authorize"),
            ("token_endpoint", "/oidc/token"),
            ("userinfo_endpoint", "/oidc/userinfo"),
            ("jwks_uri", "/oidc/jwks"),
            ("revocation_endpoint", "/oidc/revoke"),
            ("introspection_endpoint", "/oidc/introspect"),
            ("end_session_endpoint", "/oidc/logout"),
        ] {
            assert_eq!(json[member], format!("{base}{path}"), "{member}");
        }
        assert_eq!(
            json["response_types_supported"],
            serde_json::json!(["code", "id_token"])
        );
        assert_eq!(
            json["response_modes_supported"],
            serde_json::json!(["query", "fragment", "form_post"])
        );
        assert_eq!(
            json["subject_types_supported"],
            serde_json::json!(["public"])
        );
        assert_eq!(
            json["code_challenge_methods_supported"],
            serde_json::json!(["S256"])
        );
        assert_eq!(
            json["token_endpoint_auth_methods_supported"],
            serde_json::json!([
                "client_secret_basic",
                "client_secret_post",
                "private_key_jwt",
                "none"
            ])
        );
        assert_eq!(json["id_token_signing_alg_values_supported"][0], "RS256");
        assert_eq!(json["claim_types_supported"], serde_json::json!(["normal"]));
        assert_eq!(json["request_uri_parameter_supported"], false);
        assert!(json["scopes_supported"]
            .as_array()
            .unwrap()
            .contains(&"openid".into()));
        assert!(json["acr_values_supported"]
            .as_array()
            .unwrap()
            .contains(&"possessionorinherence".into()));
    }
}
