//! The facts an access decision is made from: the user as the directory knows them, the
//! service asked for, the device and the current session.
//!
//! These are plain data the server loads from its store and hands to
//! [`decide`](super::engine::decide); the engine keeps none of it.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::pipeline::{AuthnContext, Combination, Method};

/// A user's group membership.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct GroupRef {
    /// The group's name, matched exactly (case-sensitive) against
    /// [`GroupAccess::group`](super::engine::GroupAccess::group).
    pub name: String,
    /// The group's priority in the directory (lower first). The access engine orders groups by
    /// the priority of their *access rule* ([`GroupAccess::priority`](super::engine::GroupAccess::priority))
    /// so that a decision does not depend on per-user data; this one picks the user's
    /// [`primary_group`](UserFacts::primary_group), e.g. for the sign-in [`AuthPolicy`](super::AuthPolicy).
    #[serde(default)]
    pub priority: i32,
}

/// What the directory knows about the user asking for access.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserFacts {
    /// Stable user id (login name).
    pub id: String,
    /// Whether an administrator enabled the account.
    pub enabled: bool,
    /// The first instant the account may be used (inclusive); `None`: no start.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub valid_from: Option<OffsetDateTime>,
    /// The instant the account stops being usable (exclusive); `None`: no end.
    #[serde(default, with = "time::serde::rfc3339::option")]
    pub valid_until: Option<OffsetDateTime>,
    /// Department (informational; custom rules may read it).
    #[serde(default)]
    pub department: Option<String>,
    /// Position / job title (informational).
    #[serde(default)]
    pub position: Option<String>,
    /// Group memberships.
    #[serde(default)]
    pub groups: Vec<GroupRef>,
    /// Custom attributes from the directory (LDAP, CSV, SCIM).
    #[serde(default)]
    pub attributes: BTreeMap<String, String>,
}

impl UserFacts {
    /// An enabled user without validity limits, groups or attributes.
    pub fn new(id: impl Into<String>) -> UserFacts {
        UserFacts {
            id: id.into(),
            enabled: true,
            valid_from: None,
            valid_until: None,
            department: None,
            position: None,
            groups: Vec::new(),
            attributes: BTreeMap::new(),
        }
    }

    /// Whether the user belongs to the group `name`.
    pub fn in_group(&self, name: &str) -> bool {
        self.groups.iter().any(|g| g.name == name)
    }

    /// The membership with the lowest [`GroupRef::priority`] (ties: alphabetical name).
    pub fn primary_group(&self) -> Option<&GroupRef> {
        self.groups
            .iter()
            .min_by(|a, b| (a.priority, &a.name).cmp(&(b.priority, &b.name)))
    }
}

/// The kind of service a user asks to reach.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ServiceKind {
    /// A SAML service provider (id: its entity ID).
    SamlSp,
    /// An OpenID Connect client (id: its client_id).
    OidcClient,
    /// A RADIUS client, e.g. a VPN gateway (id: its configured name).
    RadiusClient,
    /// A web application protected by forward authentication (id: its configured name).
    ForwardAuthApp,
}

impl ServiceKind {
    /// Every kind.
    pub const ALL: [ServiceKind; 4] = [
        ServiceKind::SamlSp,
        ServiceKind::OidcClient,
        ServiceKind::RadiusClient,
        ServiceKind::ForwardAuthApp,
    ];

    /// Stable name, as in configuration (`saml_sp`, `oidc_client`, `radius_client`,
    /// `forward_auth_app`).
    pub fn as_str(self) -> &'static str {
        match self {
            ServiceKind::SamlSp => "saml_sp",
            ServiceKind::OidcClient => "oidc_client",
            ServiceKind::RadiusClient => "radius_client",
            ServiceKind::ForwardAuthApp => "forward_auth_app",
        }
    }

    /// Parses [`ServiceKind::as_str`].
    pub fn parse(s: &str) -> Option<ServiceKind> {
        ServiceKind::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

impl fmt::Display for ServiceKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The service a user asks to reach.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ServiceRef {
    /// What kind of service.
    pub kind: ServiceKind,
    /// Its id within the kind (entity ID, client_id, RADIUS client or app name).
    pub id: String,
}

impl ServiceRef {
    /// A service reference.
    pub fn new(kind: ServiceKind, id: impl Into<String>) -> ServiceRef {
        ServiceRef {
            kind,
            id: id.into(),
        }
    }
}

impl fmt::Display for ServiceRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.kind, self.id)
    }
}

/// What the server established about the user's device for this request.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct DeviceFacts {
    /// The browser presented a valid registered-device cookie (or the RADIUS client is a
    /// registered device).
    pub registered_device: bool,
    /// The TLS connection presented a valid client certificate from the tenant's CA.
    pub client_certificate: bool,
}

/// The user's current signed-in session, if any.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionFacts {
    /// The methods passed in this session.
    pub methods: Vec<Method>,
    /// When the session's sign-in completed (UNIX seconds).
    pub auth_time: i64,
}

impl SessionFacts {
    /// Whether every method of `combination` was passed (in any order).
    pub fn satisfies(&self, combination: &Combination) -> bool {
        combination
            .methods()
            .iter()
            .all(|m| self.methods.contains(m))
    }

    /// The methods of `combination` this session still lacks, in the combination's order.
    pub fn missing(&self, combination: &Combination) -> Vec<Method> {
        combination
            .methods()
            .iter()
            .filter(|m| !self.methods.contains(m))
            .copied()
            .collect()
    }
}

impl From<&AuthnContext> for SessionFacts {
    fn from(ctx: &AuthnContext) -> SessionFacts {
        SessionFacts {
            methods: ctx.methods.clone(),
            auth_time: ctx.auth_time,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serde_shapes() {
        let json = r#"{
            "id": "alice", "enabled": true,
            "valid_from": "2026-04-01T00:00:00+09:00", "valid_until": null,
            "department": "Sales", "groups": [{"name": "staff", "priority": 10}],
            "attributes": {"employee_no": "123"}
        }"#;
        let u: UserFacts = serde_json::from_str(json).unwrap();
        assert_eq!(
            u.valid_from,
            Some(time::macros::datetime!(2026-03-31 15:00 UTC))
        );
        assert_eq!(u.valid_until, None);
        assert!(u.in_group("staff") && !u.in_group("Staff"));
        let back: UserFacts = serde_json::from_str(&serde_json::to_string(&u).unwrap()).unwrap();
        assert_eq!(back, u);
        let minimal: UserFacts = serde_json::from_str(r#"{"id":"bob","enabled":false}"#).unwrap();
        assert!(minimal.groups.is_empty() && !minimal.enabled);

        let s: ServiceRef = serde_json::from_str(r#"{"kind":"radius_client","id":"vpn"}"#).unwrap();
        assert_eq!(s, ServiceRef::new(ServiceKind::RadiusClient, "vpn"));
        assert_eq!(s.to_string(), "radius_client:vpn");
        assert!(serde_json::from_str::<ServiceRef>(r#"{"kind":"ldap","id":"x"}"#).is_err());
        for k in ServiceKind::ALL {
            assert_eq!(ServiceKind::parse(k.as_str()), Some(k));
        }
        let d: DeviceFacts = serde_json::from_str("{}").unwrap();
        assert_eq!(d, DeviceFacts::default());
    }

    #[test]
    fn primary_group_and_session_helpers() {
        let mut u = UserFacts::new("alice");
        assert!(u.primary_group().is_none());
        u.groups = vec![
            GroupRef {
                name: "b".into(),
                priority: 5,
            },
            GroupRef {
                name: "a".into(),
                priority: 5,
            },
            GroupRef {
                name: "c".into(),
                priority: 9,
            },
        ];
        assert_eq!(u.primary_group().map(|g| g.name.as_str()), Some("a"));

        let combo = Combination::new(vec![Method::Matrix, Method::Totp]).unwrap();
        let s = SessionFacts {
            methods: vec![Method::Matrix],
            auth_time: 0,
        };
        assert!(!s.satisfies(&combo));
        assert_eq!(s.missing(&combo), vec![Method::Totp]);
        let s = SessionFacts {
            methods: vec![Method::Totp, Method::Matrix],
            auth_time: 0,
        };
        assert!(s.satisfies(&combo));
        let ctx = AuthnContext::from_methods(vec![Method::Matrix, Method::Pin], 42);
        assert_eq!(SessionFacts::from(&ctx).auth_time, 42);
    }
}
