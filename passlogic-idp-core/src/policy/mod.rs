//! Authentication policy: the per-group settings that shape a sign-in.
//!
//! This module holds the policy *data*; the decision engine (services, IP ranges, time windows,
//! devices) grows here as well. Every field has a secure default so that a tenant without any
//! configuration gets the product's documented behaviour.
//!
//! Access control (which services a user may reach, from where, when, on which device, and with
//! which factor combinations) lives in the submodules:
//!
//! * [`directory`]: the facts a decision is made from ([`UserFacts`], [`ServiceRef`],
//!   [`DeviceFacts`], [`SessionFacts`]);
//! * [`ip`]: address ranges ([`Cidr`]) and the client address behind proxies ([`client_ip`]);
//! * [`schedule`]: weekly time windows on the tenant's clock ([`Window`], [`TenantClock`]);
//! * [`engine`]: the rules ([`AccessPolicy`], [`GroupAccess`], [`ServiceAccess`]) and the pure
//!   decision function [`decide`], whose module documentation states the precedence.

pub mod directory;
pub mod engine;
pub mod ip;
pub mod schedule;

pub use directory::{DeviceFacts, GroupRef, ServiceKind, ServiceRef, SessionFacts, UserFacts};
pub use engine::{
    decide, AccessPolicy, AccessPolicyError, AccessRequest, Decision, DenyReason,
    DeviceRequirement, GroupAccess, ServiceAccess, ServiceLists, ServicePattern,
    ServiceRequirement,
};
pub use ip::{client_ip, Cidr};
pub use schedule::{TenantClock, Window};

use serde::{Deserialize, Serialize};

use crate::factor::matrix::{GridSpec, PatternRules, PhrasePosition};
use crate::factor::otp::TotpParams;
use crate::factor::pin::PinPolicy;
use crate::pipeline::{Combination, Method};

/// Settings for one group's sign-ins (or a tenant's default).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct AuthPolicy {
    /// Grid geometry shown at sign-in.
    pub grid: GridSpec,
    /// Rules a pattern must satisfy when the user sets it.
    pub pattern_rules: PatternRules,
    /// Where a user's additional phrase goes relative to the grid digits.
    pub phrase_position: PhrasePosition,
    /// How long a grid may be answered, in seconds (default 300).
    pub grid_ttl_secs: i64,
    /// Failed answers after which the account locks until an administrator unlocks it (default 5).
    pub lockout_threshold: u32,
    /// Lifetime of a signed-in session, in seconds (default 8 hours).
    pub session_lifetime_secs: i64,
    /// Alternative factor combinations; a user passes one of them (default: matrix alone).
    pub combinations: Vec<Combination>,
    /// Whether a user missing a later factor of a combination may enrol it during sign-in,
    /// after passing the first factor (default true).
    pub self_enrolment: bool,
    /// Rules for new PINs.
    pub pin: PinPolicy,
    /// Parameters of newly enrolled authenticator apps (TOTP and bingo).
    pub totp: TotpParams,
    /// A PIN step directly followed by a one-time-code step is answered in one field as
    /// `PIN` + `code` (default false: two pages).
    pub pin_with_code_in_one_field: bool,
    /// HOTP look-ahead window for hardware tokens (default 10).
    pub hotp_look_ahead: u64,
    /// Registered browsers (device cookies) a user may have (default 5). A sign-in whose
    /// combination includes the device-cookie step registers an unknown browser while the user
    /// is under the limit and is refused past it.
    pub device_limit: u32,
    /// Whether the device-cookie step registers a new browser at all (default true). When
    /// false, only devices that are already registered pass.
    pub device_registration: bool,
    /// Login protect: seconds a signed unlock from the paired authenticator keeps the
    /// login-protect step open (default 60). The first sign-in through it closes it.
    pub login_protect_window_secs: i64,
    /// RADIUS: the `Class` attribute of an Access-Accept for users under this policy (default
    /// none), e.g. a VPN gateway's group name.
    pub radius_class: Option<String>,
    /// RADIUS: the `Filter-Id` attribute of an Access-Accept (default none), e.g. an ACL name.
    pub radius_filter_id: Option<String>,
    /// Forward authentication: names of the protected web apps users under this policy may
    /// open (default `None`: every registered app; an empty list: none).
    pub forward_auth_apps: Option<Vec<String>>,
    /// Client certificates: a user who has never had a certificate and reaches the
    /// `client_certificate` step (after the other steps) is issued one at once, shown its
    /// one-time PKCS#12 password and a single-use download link (default false: refused).
    pub cert_auto_issue: bool,
}

impl Default for AuthPolicy {
    fn default() -> Self {
        Self {
            grid: GridSpec::default(),
            pattern_rules: PatternRules::default(),
            phrase_position: PhrasePosition::default(),
            grid_ttl_secs: 300,
            lockout_threshold: 5,
            session_lifetime_secs: 8 * 3600,
            combinations: vec![Combination::single(Method::Matrix)],
            self_enrolment: true,
            pin: PinPolicy::default(),
            totp: TotpParams::default(),
            pin_with_code_in_one_field: false,
            hotp_look_ahead: 10,
            device_limit: 5,
            device_registration: true,
            login_protect_window_secs: 60,
            radius_class: None,
            radius_filter_id: None,
            forward_auth_apps: None,
            cert_auto_issue: false,
        }
    }
}

impl AuthPolicy {
    /// The grid lifetime as a [`time::Duration`].
    pub fn grid_ttl(&self) -> time::Duration {
        time::Duration::seconds(self.grid_ttl_secs.max(1))
    }

    /// Checks that the settings are usable (grid geometry, length range, positive limits).
    pub fn validate(&self) -> Result<(), String> {
        self.grid.validate().map_err(|e| e.to_string())?;
        let r = &self.pattern_rules;
        if r.min_len == 0 || r.min_len > r.max_len {
            return Err(format!(
                "pattern length range {}..={} is empty",
                r.min_len, r.max_len
            ));
        }
        if self.lockout_threshold == 0 {
            return Err("lockout_threshold must be at least 1".into());
        }
        if self.device_limit == 0 {
            return Err("device_limit must be at least 1".into());
        }
        if !(1..=3600).contains(&self.login_protect_window_secs) {
            return Err("login_protect_window_secs must be 1 to 3600".into());
        }
        if self.combinations.is_empty() {
            return Err("at least one factor combination is required".into());
        }
        self.totp.validate().map_err(|e| e.to_string())?;
        for (name, v) in [
            ("radius_class", &self.radius_class),
            ("radius_filter_id", &self.radius_filter_id),
        ] {
            if v.as_ref().is_some_and(|v| v.is_empty() || v.len() > 253) {
                return Err(format!("{name} must be 1 to 253 bytes"));
            }
        }
        if self.grid_ttl_secs <= 0 || self.session_lifetime_secs <= 0 {
            return Err("lifetimes must be positive".into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod radius_and_forward_fields {
    use super::AuthPolicy;

    #[test]
    fn policy_radius_attributes_and_forward_apps_are_optional_and_checked() {
        // Absent from stored JSON: the defaults (no attributes, every app).
        let p: AuthPolicy = serde_json::from_str("{}").unwrap();
        assert_eq!(p, AuthPolicy::default());
        assert_eq!(p.radius_class, None);
        assert_eq!(p.forward_auth_apps, None);
        let p: AuthPolicy = serde_json::from_str(
            r#"{"radius_class": "vpn", "radius_filter_id": "acl", "forward_auth_apps": []}"#,
        )
        .unwrap();
        assert!(p.validate().is_ok());
        assert_eq!(p.forward_auth_apps, Some(vec![]));
        for bad in [String::new(), "x".repeat(254)] {
            let p = AuthPolicy {
                radius_filter_id: Some(bad),
                ..AuthPolicy::default()
            };
            assert!(p.validate().unwrap_err().contains("radius_filter_id"));
        }
    }
}
