//! The access decision: may this user reach this service, from here, now, on this device, and
//! with which factor combinations?
//!
//! [`decide`] is a pure function of an [`AccessRequest`] (the facts the server gathered, the
//! source address from [`client_ip`](super::ip::client_ip), the time it read) and the tenant's
//! [`AccessPolicy`]. It returns a [`Decision`] that always explains itself
//! ([`Decision::explain`], for the audit log and the admin console) and names a message for the
//! user ([`Decision::user_message_key`], for the server's translations).
//!
//! # Precedence
//!
//! The checks run in this order; the first that fails decides.
//!
//! 1. **Account.** A disabled user is denied (`deny.disabled`); so is one before `valid_from`
//!    (inclusive start, `deny.not_yet_valid`) or at or after `valid_until` (exclusive end,
//!    `deny.expired`).
//! 2. **Denies win.** The user's groups are the [`GroupAccess`] rules whose `group` is one of the
//!    user's [`GroupRef`](super::directory::GroupRef) names. If *any* of them lists the service
//!    in its `services.deny`, access is denied (`deny.service`), whatever another group allows.
//!    Then if the source address is in *any* of their `ip_deny` ranges, or in the `ip_deny` of the
//!    service's own [`ServiceAccess`] rule, access is denied (`deny.ip`). A group's `ip_deny`
//!    therefore applies to every service its members ask for, not only to the services that group
//!    allows.
//! 3. **The governing group.** Among the user's groups whose `services.allow` covers the
//!    service, the one with the lowest [`GroupAccess::priority`] governs (ties: the group name
//!    that sorts first). Without one, access is denied (`deny.service`). The governing group's
//!    `ip_allow` (when non-empty, `deny.ip`), `schedule` (when non-empty, `deny.time`) and
//!    `device` requirement (`deny.device`) apply. There is no fallback to the next group: a
//!    member of a high-priority group that restricts a service cannot escape the restriction
//!    through a broader, lower-priority group.
//! 4. **The service's own rule** ([`ServiceAccess`]) applies on top: its `ip_allow`, `schedule`
//!    and `device` are checked the same way.
//! 5. **Factor combinations.** The governing group's `combinations` override when non-empty;
//!    else the service rule's [`ServiceRequirement::Combinations`]; else the policy's
//!    `default_combinations`. A service's [`ServiceRequirement::MinimumAssurance`] is a floor
//!    applied to whichever list was chosen: combinations below it are dropped, and when none is
//!    left access is denied (`deny.policy`, a configuration problem the explanation names).
//! 6. **Session.** Without a session the result is [`Decision::Allow`] with every combination:
//!    the user signs in with one of them. With a session whose methods already include every
//!    method of one combination (in any order), the result is `Allow` with that one combination
//!    and `satisfied_by_session`. Otherwise it is [`Decision::StepUp`] listing the combinations,
//!    none of which the session satisfies yet ([`SessionFacts::missing`] tells which methods
//!    each one still needs).
//!
//! Group and service names are compared exactly (case-sensitive). Schedules are evaluated on the
//! tenant's clock ([`TenantClock`]); when the local time cannot be computed (an invalid offset,
//! a date at the edge of the supported range) a rule with a schedule denies.
//!
//! # Example
//!
//! ```
//! use passlogic_idp_core::pipeline::{Combination, Method};
//! use passlogic_idp_core::policy::directory::*;
//! use passlogic_idp_core::policy::engine::*;
//!
//! let policy: AccessPolicy = serde_json::from_str(r#"{
//!     "clock": {"utc_offset_minutes": 540},
//!     "default_combinations": [["matrix"]],
//!     "groups": [
//!         {"group": "staff", "priority": 20, "services": {"allow": ["*"]}},
//!         {"group": "finance", "priority": 10,
//!          "services": {"allow": ["saml_sp:https://erp.example.com/*"]},
//!          "ip_allow": ["10.0.0.0/8"], "schedule": ["Mon-Fri 08:00-20:00"],
//!          "combinations": [["matrix", "totp"]]}
//!     ]
//! }"#).unwrap();
//! policy.validate().unwrap();
//!
//! let mut user = UserFacts::new("alice");
//! user.groups = vec![
//!     GroupRef { name: "staff".into(), priority: 20 },
//!     GroupRef { name: "finance".into(), priority: 10 },
//! ];
//! let erp = ServiceRef::new(ServiceKind::SamlSp, "https://erp.example.com/sp");
//! let session = SessionFacts { methods: vec![Method::Matrix], auth_time: 0 };
//! let request = AccessRequest {
//!     user: &user,
//!     service: &erp,
//!     source: "10.1.2.3".parse().unwrap(),
//!     now: time::macros::datetime!(2026-11-27 12:00 +09:00), // a Friday
//!     device: &DeviceFacts::default(),
//!     session: Some(&session),
//! };
//! let decision = decide(&request, &policy);
//! assert_eq!(decision.user_message_key(), "step_up");
//! assert!(decision.explain().contains("\"finance\""));
//! ```

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::directory::{DeviceFacts, ServiceKind, ServiceRef, SessionFacts, UserFacts};
use super::ip::Cidr;
use super::schedule::{describe, ScheduleError, TenantClock, Window};
use crate::pipeline::{AssuranceLevel, AuthnContext, Combination, Method};

// ---------------------------------------------------------------------------------------------
// Service patterns
// ---------------------------------------------------------------------------------------------

/// Why a service pattern was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "{0:?} is not a service pattern (\"*\", \"<id>\", \"<kind>:<id>\"; ids may use * wildcards)"
)]
pub struct ServicePatternError(pub String);

/// Which services a list entry covers.
///
/// Written `*` (every service), `<id>` (that id, of any kind), or `<kind>:<id>` where kind is
/// one of `saml_sp`, `oidc_client`, `radius_client`, `forward_auth_app` (that id of that kind
/// only). The id may contain `*`, which matches any run of characters (also none):
/// `radius_client:*`, `saml_sp:https://erp.example.com/*`, `oidc_client:team-*`. Matching is
/// exact and case-sensitive otherwise.
///
/// Prefer the `<kind>:` form in allow lists: a bare id allows an OpenID Connect client and a
/// RADIUS client that happen to share a name. Serialised as its text form.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ServicePattern {
    kind: Option<ServiceKind>,
    id: String,
}

impl ServicePattern {
    /// Every service (`*`).
    pub fn any() -> ServicePattern {
        ServicePattern {
            kind: None,
            id: "*".to_owned(),
        }
    }

    /// The kind this pattern is limited to, if any.
    pub fn kind(&self) -> Option<ServiceKind> {
        self.kind
    }

    /// The id pattern.
    pub fn id_pattern(&self) -> &str {
        &self.id
    }

    /// Whether the pattern covers `service`.
    pub fn matches(&self, service: &ServiceRef) -> bool {
        self.kind.is_none_or(|k| k == service.kind) && glob(&self.id, &service.id)
    }
}

/// `*`-only glob: iterative backtracking to the last star, O(pattern × text), no recursion.
fn glob(pattern: &str, text: &str) -> bool {
    let p = pattern.as_bytes();
    let t = text.as_bytes();
    let (mut pi, mut ti) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && p[pi] == b'*' {
            star = Some((pi, ti));
            pi += 1;
        } else if pi < p.len() && p[pi] == t[ti] {
            pi += 1;
            ti += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p.get(pi..)
        .is_some_and(|rest| rest.iter().all(|b| *b == b'*'))
}

impl FromStr for ServicePattern {
    type Err = ServicePatternError;

    fn from_str(s: &str) -> Result<ServicePattern, ServicePatternError> {
        let err = || ServicePatternError(s.to_owned());
        let s = s.trim();
        let (kind, id) = match s.split_once(':') {
            Some((k, rest)) => match ServiceKind::parse(k) {
                Some(kind) => (Some(kind), rest),
                None => (None, s),
            },
            None => (None, s),
        };
        if id.is_empty() || id.chars().any(char::is_control) {
            return Err(err());
        }
        Ok(ServicePattern {
            kind,
            id: id.to_owned(),
        })
    }
}

impl fmt::Display for ServicePattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            Some(k) => write!(f, "{k}:{}", self.id),
            None => f.write_str(&self.id),
        }
    }
}

impl fmt::Debug for ServicePattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ServicePattern({self})")
    }
}

impl TryFrom<String> for ServicePattern {
    type Error = ServicePatternError;
    fn try_from(s: String) -> Result<ServicePattern, ServicePatternError> {
        s.parse()
    }
}

impl From<ServicePattern> for String {
    fn from(p: ServicePattern) -> String {
        p.to_string()
    }
}

// ---------------------------------------------------------------------------------------------
// Rules
// ---------------------------------------------------------------------------------------------

/// A group's service lists.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ServiceLists {
    /// Services members may reach (through this group).
    pub allow: Vec<ServicePattern>,
    /// Services members may never reach, whatever another group allows.
    pub deny: Vec<ServicePattern>,
}

/// What a device must show.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeviceRequirement {
    /// Any device.
    #[default]
    None,
    /// A registered device (device cookie).
    RegisteredDevice,
    /// A client certificate from the tenant's CA.
    ClientCertificate,
}

impl DeviceRequirement {
    /// Whether the device meets the requirement.
    pub fn met_by(self, device: &DeviceFacts) -> bool {
        match self {
            DeviceRequirement::None => true,
            DeviceRequirement::RegisteredDevice => device.registered_device,
            DeviceRequirement::ClientCertificate => device.client_certificate,
        }
    }

    fn describe(self) -> &'static str {
        match self {
            DeviceRequirement::None => "no device requirement",
            DeviceRequirement::RegisteredDevice => "a registered device",
            DeviceRequirement::ClientCertificate => "a client certificate",
        }
    }
}

/// The access rule of one group.
///
/// Unknown fields are refused when deserialising, so that a misspelt restriction
/// (`ip_alow`) is an error rather than silently absent.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GroupAccess {
    /// The group's name (as in [`GroupRef::name`](super::directory::GroupRef::name)).
    pub group: String,
    /// Lower numbers govern first (see the [precedence](self#precedence)).
    #[serde(default)]
    pub priority: i32,
    /// Services allowed and denied.
    #[serde(default)]
    pub services: ServiceLists,
    /// When non-empty and this group governs: the source address must be in one of these.
    #[serde(default)]
    pub ip_allow: Vec<Cidr>,
    /// Members are denied from these addresses, for every service.
    #[serde(default)]
    pub ip_deny: Vec<Cidr>,
    /// When non-empty and this group governs: the time must fall in one of these windows.
    #[serde(default)]
    pub schedule: Vec<Window>,
    /// When this group governs: what the device must show.
    #[serde(default)]
    pub device: DeviceRequirement,
    /// When non-empty and this group governs: the factor combinations, overriding the service's
    /// requirement and the default.
    #[serde(default)]
    pub combinations: Vec<Combination>,
}

impl GroupAccess {
    /// A rule for `group` at `priority` with no lists, restrictions or override.
    pub fn new(group: impl Into<String>, priority: i32) -> GroupAccess {
        GroupAccess {
            group: group.into(),
            priority,
            services: ServiceLists::default(),
            ip_allow: Vec::new(),
            ip_deny: Vec::new(),
            schedule: Vec::new(),
            device: DeviceRequirement::None,
            combinations: Vec::new(),
        }
    }
}

/// What a service demands of the sign-in.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ServiceRequirement {
    /// These combinations (unless the governing group overrides them).
    Combinations(Vec<Combination>),
    /// At least this assurance level: a floor on whichever combinations apply.
    MinimumAssurance(AssuranceLevel),
}

/// The access rule of one service, applied on top of the governing group's.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceAccess {
    /// The service.
    pub service: ServiceRef,
    /// When non-empty: the source address must be in one of these.
    #[serde(default)]
    pub ip_allow: Vec<Cidr>,
    /// Everyone is denied from these addresses.
    #[serde(default)]
    pub ip_deny: Vec<Cidr>,
    /// When non-empty: the time must fall in one of these windows.
    #[serde(default)]
    pub schedule: Vec<Window>,
    /// What the device must show.
    #[serde(default)]
    pub device: DeviceRequirement,
    /// Required combinations or minimum assurance.
    #[serde(default)]
    pub requirement: Option<ServiceRequirement>,
}

impl ServiceAccess {
    /// A rule for `service` with no restrictions.
    pub fn new(service: ServiceRef) -> ServiceAccess {
        ServiceAccess {
            service,
            ip_allow: Vec::new(),
            ip_deny: Vec::new(),
            schedule: Vec::new(),
            device: DeviceRequirement::None,
            requirement: None,
        }
    }
}

/// A tenant's access policy.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AccessPolicy {
    /// One rule per group.
    pub groups: Vec<GroupAccess>,
    /// At most one rule per service.
    pub services: Vec<ServiceAccess>,
    /// The tenant's UTC offset, for schedules.
    pub clock: TenantClock,
    /// The combinations when neither the governing group nor the service sets any
    /// (default: matrix alone, like [`AuthPolicy`](super::AuthPolicy)).
    pub default_combinations: Vec<Combination>,
}

impl Default for AccessPolicy {
    fn default() -> Self {
        AccessPolicy {
            groups: Vec::new(),
            services: Vec::new(),
            clock: TenantClock::UTC,
            default_combinations: vec![Combination::single(Method::Matrix)],
        }
    }
}

/// Why an access policy was refused. Ranges, windows, service patterns and combinations are
/// checked while parsing; these are the checks across fields.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AccessPolicyError {
    /// The clock's offset is out of range.
    #[error("tenant clock: {0}")]
    Clock(ScheduleError),
    /// `default_combinations` is empty.
    #[error("at least one default factor combination is required")]
    NoDefaultCombination,
    /// A group rule without a name.
    #[error("a group rule has an empty group name")]
    EmptyGroupName,
    /// Two rules for one group.
    #[error("group {0:?} has more than one access rule")]
    DuplicateGroup(String),
    /// Two rules for one service.
    #[error("service {0} has more than one access rule")]
    DuplicateService(String),
    /// A service rule with an empty id.
    #[error("a service rule has an empty service id")]
    EmptyServiceId,
    /// A service requires an empty list of combinations.
    #[error("service {0} requires an empty list of combinations")]
    EmptyServiceCombinations(String),
}

impl AccessPolicy {
    /// Checks what parsing cannot: unique group and service rules, a usable default and clock.
    ///
    /// The engine stays fail-closed on a policy that was never validated (duplicates are all
    /// applied, an empty default denies), but the admin console should refuse such a policy.
    pub fn validate(&self) -> Result<(), AccessPolicyError> {
        self.clock.validate().map_err(AccessPolicyError::Clock)?;
        if self.default_combinations.is_empty() {
            return Err(AccessPolicyError::NoDefaultCombination);
        }
        for (i, g) in self.groups.iter().enumerate() {
            if g.group.trim().is_empty() {
                return Err(AccessPolicyError::EmptyGroupName);
            }
            if self.groups[..i].iter().any(|o| o.group == g.group) {
                return Err(AccessPolicyError::DuplicateGroup(g.group.clone()));
            }
        }
        for (i, s) in self.services.iter().enumerate() {
            if s.service.id.is_empty() {
                return Err(AccessPolicyError::EmptyServiceId);
            }
            if self.services[..i].iter().any(|o| o.service == s.service) {
                return Err(AccessPolicyError::DuplicateService(s.service.to_string()));
            }
            if matches!(&s.requirement, Some(ServiceRequirement::Combinations(c)) if c.is_empty()) {
                return Err(AccessPolicyError::EmptyServiceCombinations(
                    s.service.to_string(),
                ));
            }
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// Request and decision
// ---------------------------------------------------------------------------------------------

/// Everything [`decide`] looks at besides the policy.
#[derive(Clone, Copy, Debug)]
pub struct AccessRequest<'a> {
    /// The user.
    pub user: &'a UserFacts,
    /// The service asked for.
    pub service: &'a ServiceRef,
    /// The client's address (see [`client_ip`](super::ip::client_ip)).
    pub source: IpAddr,
    /// The current time, read by the caller.
    pub now: OffsetDateTime,
    /// What the device showed.
    pub device: &'a DeviceFacts,
    /// The current session, when the user is signed in already.
    pub session: Option<&'a SessionFacts>,
}

/// A rule that decided: a group's or a service's.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RuleRef {
    /// The access rule of this group.
    Group(String),
    /// The access rule of this service.
    Service(ServiceRef),
}

impl fmt::Display for RuleRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RuleRef::Group(g) => write!(f, "the rule of group {g:?}"),
            RuleRef::Service(s) => write!(f, "the rule of service {s}"),
        }
    }
}

/// Where the combinations came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CombinationSource {
    /// The governing group's override.
    GroupOverride,
    /// The service rule's required combinations.
    ServiceRequirement,
    /// The policy's default.
    TenantDefault,
}

/// Why the combinations of an [`Decision::Allow`] or [`Decision::StepUp`] apply.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Basis {
    /// The service.
    pub service: ServiceRef,
    /// The governing group.
    pub group: String,
    /// Its rule's priority.
    pub priority: i32,
    /// Where the combinations came from.
    pub source: CombinationSource,
    /// The service's minimum assurance, when it filtered the combinations.
    pub assurance_floor: Option<AssuranceLevel>,
}

impl Basis {
    fn describe_source(&self) -> String {
        let mut s = match self.source {
            CombinationSource::GroupOverride => {
                format!("the combination override of group {:?}", self.group)
            }
            CombinationSource::ServiceRequirement => {
                format!("the requirement of service {}", self.service)
            }
            CombinationSource::TenantDefault => "the tenant default".to_owned(),
        };
        if let Some(floor) = self.assurance_floor {
            s.push_str(&format!(
                ", limited to assurance {} or higher by service {}",
                level_name(floor),
                self.service
            ));
        }
        s
    }
}

/// Why a step-up is needed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StepUpReason {
    /// The rule behind the combinations.
    pub basis: Basis,
    /// The methods the session has.
    pub session_methods: Vec<Method>,
}

/// Why access was denied.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum DenyReason {
    /// The account is disabled.
    Disabled,
    /// The account's validity has not started.
    NotYetValid {
        /// When it starts.
        from: OffsetDateTime,
    },
    /// The account's validity has ended.
    Expired {
        /// When it ended.
        until: OffsetDateTime,
    },
    /// A group's deny list covers the service.
    ServiceDenied {
        /// The group.
        group: String,
        /// The deny entry.
        pattern: ServicePattern,
        /// The service.
        service: ServiceRef,
    },
    /// None of the user's groups allows the service.
    NoGroupAllows {
        /// The service.
        service: ServiceRef,
        /// The user's groups that have an access rule.
        groups: Vec<String>,
    },
    /// The source address is in a deny range.
    IpDenied {
        /// The rule.
        rule: RuleRef,
        /// The range.
        range: Cidr,
        /// The address.
        source: IpAddr,
    },
    /// The source address is in none of the allowed ranges.
    IpNotAllowed {
        /// The rule.
        rule: RuleRef,
        /// The address.
        source: IpAddr,
        /// The allowed ranges.
        allowed: Vec<Cidr>,
    },
    /// The time is outside the rule's schedule.
    OutsideSchedule {
        /// The rule.
        rule: RuleRef,
        /// The windows.
        windows: Vec<Window>,
        /// The time on the tenant's clock.
        local: OffsetDateTime,
    },
    /// The rule has a schedule but the tenant's local time cannot be computed.
    ClockUnavailable {
        /// The rule.
        rule: RuleRef,
        /// The configured offset.
        utc_offset_minutes: i16,
    },
    /// The device does not meet the rule's requirement.
    Device {
        /// The rule.
        rule: RuleRef,
        /// What it requires.
        requirement: DeviceRequirement,
    },
    /// No factor combination is left (empty default, or none meets the service's minimum
    /// assurance): a configuration problem.
    NoCombination {
        /// The rule behind the (empty) list.
        basis: Basis,
    },
}

/// The outcome of [`decide`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Access is allowed with one of `combinations`.
    Allow {
        /// Without a session: sign in with one of these. With one: the combination the session
        /// already satisfies.
        combinations: Vec<Combination>,
        /// The governing group and where the combinations came from.
        basis: Basis,
        /// Whether the current session already satisfies `combinations[0]`.
        satisfied_by_session: bool,
    },
    /// The session is not strong enough: the user must pass one of `needed` first.
    StepUp {
        /// The combinations, none of which the session satisfies.
        needed: Vec<Combination>,
        /// Why.
        reason: StepUpReason,
    },
    /// Access is denied.
    Deny {
        /// Why.
        reason: DenyReason,
    },
}

fn labels(combos: &[Combination]) -> String {
    combos
        .iter()
        .map(Combination::label)
        .collect::<Vec<_>>()
        .join(" or ")
}

fn level_name(l: AssuranceLevel) -> &'static str {
    match l {
        AssuranceLevel::Single => "single",
        AssuranceLevel::Multi => "multi",
        AssuranceLevel::MultiHardware => "multihardware",
    }
}

fn ranges(list: &[Cidr]) -> String {
    list.iter()
        .map(|c| c.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

fn format_local(t: OffsetDateTime) -> String {
    let days = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
    let day = days
        .get(usize::from(t.weekday().number_days_from_monday()))
        .copied()
        .unwrap_or("?");
    let off = t.offset().whole_minutes();
    let sign = if off < 0 { '-' } else { '+' };
    let off = off.unsigned_abs();
    format!(
        "{day} {:04}-{:02}-{:02} {:02}:{:02} (UTC{sign}{:02}:{:02})",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        off / 60,
        off % 60
    )
}

impl Decision {
    /// A one-line explanation for administrators (audit log, policy tester), naming the rule
    /// and group that decided.
    pub fn explain(&self) -> String {
        match self {
            Decision::Allow {
                combinations,
                basis,
                satisfied_by_session,
            } => {
                let mut s = format!(
                    "allowed: group {:?} (priority {}) governs {}; ",
                    basis.group, basis.priority, basis.service
                );
                if *satisfied_by_session {
                    s.push_str(&format!(
                        "the session already satisfies {} (from {})",
                        labels(combinations),
                        basis.describe_source()
                    ));
                } else {
                    s.push_str(&format!(
                        "sign in with {} (from {})",
                        labels(combinations),
                        basis.describe_source()
                    ));
                }
                s
            }
            Decision::StepUp { needed, reason } => {
                let have: Vec<&str> = reason.session_methods.iter().map(|m| m.as_str()).collect();
                format!(
                    "step-up: group {:?} (priority {}) governs {} and requires {} (from {}); the session has only [{}]",
                    reason.basis.group,
                    reason.basis.priority,
                    reason.basis.service,
                    labels(needed),
                    reason.basis.describe_source(),
                    have.join(", ")
                )
            }
            Decision::Deny { reason } => format!("denied: {}", reason.explain()),
        }
    }

    /// The key of the message to show the user (the server translates it): `allow`,
    /// `step_up`, or one of [`DenyReason::user_message_key`].
    pub fn user_message_key(&self) -> &'static str {
        match self {
            Decision::Allow { .. } => "allow",
            Decision::StepUp { .. } => "step_up",
            Decision::Deny { reason } => reason.user_message_key(),
        }
    }

    /// Whether access is allowed without a further step.
    pub fn is_allow(&self) -> bool {
        matches!(self, Decision::Allow { .. })
    }

    fn deny(reason: DenyReason) -> Decision {
        Decision::Deny { reason }
    }
}

impl DenyReason {
    /// `deny.disabled`, `deny.not_yet_valid`, `deny.expired`, `deny.service`, `deny.ip`,
    /// `deny.time`, `deny.device` or `deny.policy`.
    pub fn user_message_key(&self) -> &'static str {
        match self {
            DenyReason::Disabled => "deny.disabled",
            DenyReason::NotYetValid { .. } => "deny.not_yet_valid",
            DenyReason::Expired { .. } => "deny.expired",
            DenyReason::ServiceDenied { .. } | DenyReason::NoGroupAllows { .. } => "deny.service",
            DenyReason::IpDenied { .. } | DenyReason::IpNotAllowed { .. } => "deny.ip",
            DenyReason::OutsideSchedule { .. } | DenyReason::ClockUnavailable { .. } => "deny.time",
            DenyReason::Device { .. } => "deny.device",
            DenyReason::NoCombination { .. } => "deny.policy",
        }
    }

    /// The administrator's explanation.
    pub fn explain(&self) -> String {
        match self {
            DenyReason::Disabled => "the account is disabled".to_owned(),
            DenyReason::NotYetValid { from } => {
                format!("the account is valid only from {from}")
            }
            DenyReason::Expired { until } => format!("the account expired at {until}"),
            DenyReason::ServiceDenied {
                group,
                pattern,
                service,
            } => format!(
                "the deny list of group {group:?} covers {service} (entry \"{pattern}\"); a deny wins over every allow"
            ),
            DenyReason::NoGroupAllows { service, groups } => {
                if groups.is_empty() {
                    format!("{service} is allowed by no group: the user belongs to no group with an access rule")
                } else {
                    format!(
                        "{service} is in the allow list of none of the user's groups ({})",
                        groups
                            .iter()
                            .map(|g| format!("{g:?}"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                }
            }
            DenyReason::IpDenied {
                rule,
                range,
                source,
            } => format!("{source} is in {range}, denied by {rule}"),
            DenyReason::IpNotAllowed {
                rule,
                source,
                allowed,
            } => format!(
                "{source} is outside the ranges allowed by {rule} ({})",
                ranges(allowed)
            ),
            DenyReason::OutsideSchedule {
                rule,
                windows,
                local,
            } => format!(
                "{} is outside the schedule of {rule} ({})",
                format_local(*local),
                describe(windows)
            ),
            DenyReason::ClockUnavailable {
                rule,
                utc_offset_minutes,
            } => format!(
                "{rule} has a schedule but the tenant's local time cannot be computed (UTC offset {utc_offset_minutes} minutes)"
            ),
            DenyReason::Device { rule, requirement } => {
                format!("{rule} requires {}", requirement.describe())
            }
            DenyReason::NoCombination { basis } => format!(
                "group {:?} governs {} but no factor combination is left (from {}); fix the policy",
                basis.group,
                basis.service,
                basis.describe_source()
            ),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The engine
// ---------------------------------------------------------------------------------------------

struct Restrictions<'r> {
    ip_allow: &'r [Cidr],
    schedule: &'r [Window],
    device: DeviceRequirement,
}

fn check(
    rule: impl Fn() -> RuleRef,
    r: &Restrictions<'_>,
    req: &AccessRequest<'_>,
    clock: TenantClock,
) -> Result<(), DenyReason> {
    if !r.ip_allow.is_empty() && !super::ip::any_contains(r.ip_allow, req.source) {
        return Err(DenyReason::IpNotAllowed {
            rule: rule(),
            source: req.source,
            allowed: r.ip_allow.to_vec(),
        });
    }
    if !r.schedule.is_empty() {
        match clock.local(req.now) {
            None => {
                return Err(DenyReason::ClockUnavailable {
                    rule: rule(),
                    utc_offset_minutes: clock.utc_offset_minutes,
                })
            }
            Some(local) if !r.schedule.iter().any(|w| w.admits_local(local)) => {
                return Err(DenyReason::OutsideSchedule {
                    rule: rule(),
                    windows: r.schedule.to_vec(),
                    local,
                })
            }
            Some(_) => {}
        }
    }
    if !r.device.met_by(req.device) {
        return Err(DenyReason::Device {
            rule: rule(),
            requirement: r.device,
        });
    }
    Ok(())
}

fn assurance(c: &Combination) -> AssuranceLevel {
    AuthnContext::from_methods(c.methods().to_vec(), 0).level
}

/// Decides an access request; see the [precedence](self#precedence). Pure and total: the same
/// inputs give the same decision, and no input panics.
pub fn decide(req: &AccessRequest<'_>, policy: &AccessPolicy) -> Decision {
    match decide_inner(req, policy) {
        Ok(d) => d,
        Err(reason) => Decision::deny(reason),
    }
}

fn decide_inner(req: &AccessRequest<'_>, policy: &AccessPolicy) -> Result<Decision, DenyReason> {
    let user = req.user;
    let service = req.service;

    // 1. The account.
    if !user.enabled {
        return Err(DenyReason::Disabled);
    }
    if let Some(from) = user.valid_from {
        if req.now < from {
            return Err(DenyReason::NotYetValid { from });
        }
    }
    if let Some(until) = user.valid_until {
        if req.now >= until {
            return Err(DenyReason::Expired { until });
        }
    }

    // The user's group rules, governing order first (stable: duplicates keep policy order).
    let mut groups: Vec<&GroupAccess> = policy
        .groups
        .iter()
        .filter(|g| user.in_group(&g.group))
        .collect();
    groups.sort_by(|a, b| (a.priority, &a.group).cmp(&(b.priority, &b.group)));
    let service_rules: Vec<&ServiceAccess> = policy
        .services
        .iter()
        .filter(|s| s.service == *service)
        .collect();

    // 2. Denies win.
    for g in &groups {
        if let Some(p) = g.services.deny.iter().find(|p| p.matches(service)) {
            return Err(DenyReason::ServiceDenied {
                group: g.group.clone(),
                pattern: p.clone(),
                service: service.clone(),
            });
        }
    }
    for g in &groups {
        if let Some(range) = g.ip_deny.iter().find(|c| c.contains(req.source)) {
            return Err(DenyReason::IpDenied {
                rule: RuleRef::Group(g.group.clone()),
                range: *range,
                source: req.source,
            });
        }
    }
    for s in &service_rules {
        if let Some(range) = s.ip_deny.iter().find(|c| c.contains(req.source)) {
            return Err(DenyReason::IpDenied {
                rule: RuleRef::Service(s.service.clone()),
                range: *range,
                source: req.source,
            });
        }
    }

    // 3. The governing group.
    let Some(gov) = groups
        .iter()
        .find(|g| g.services.allow.iter().any(|p| p.matches(service)))
    else {
        let mut names: Vec<String> = groups.iter().map(|g| g.group.clone()).collect();
        names.dedup();
        return Err(DenyReason::NoGroupAllows {
            service: service.clone(),
            groups: names,
        });
    };
    check(
        || RuleRef::Group(gov.group.clone()),
        &Restrictions {
            ip_allow: &gov.ip_allow,
            schedule: &gov.schedule,
            device: gov.device,
        },
        req,
        policy.clock,
    )?;

    // 4. The service's own rule.
    for s in &service_rules {
        check(
            || RuleRef::Service(s.service.clone()),
            &Restrictions {
                ip_allow: &s.ip_allow,
                schedule: &s.schedule,
                device: s.device,
            },
            req,
            policy.clock,
        )?;
    }

    // 5. Combinations.
    let requirement = service_rules.iter().find_map(|s| s.requirement.as_ref());
    let (mut combinations, source) = match requirement {
        _ if !gov.combinations.is_empty() => {
            (gov.combinations.clone(), CombinationSource::GroupOverride)
        }
        Some(ServiceRequirement::Combinations(c)) if !c.is_empty() => {
            (c.clone(), CombinationSource::ServiceRequirement)
        }
        _ => (
            policy.default_combinations.clone(),
            CombinationSource::TenantDefault,
        ),
    };
    let assurance_floor = match requirement {
        Some(ServiceRequirement::MinimumAssurance(level)) => Some(*level),
        _ => None,
    };
    if let Some(floor) = assurance_floor {
        combinations.retain(|c| assurance(c) >= floor);
    }
    let basis = Basis {
        service: service.clone(),
        group: gov.group.clone(),
        priority: gov.priority,
        source,
        assurance_floor,
    };
    if combinations.is_empty() {
        return Err(DenyReason::NoCombination { basis });
    }

    // 6. The session.
    let Some(session) = req.session else {
        return Ok(Decision::Allow {
            combinations,
            basis,
            satisfied_by_session: false,
        });
    };
    if let Some(done) = combinations.iter().find(|c| session.satisfies(c)) {
        return Ok(Decision::Allow {
            combinations: vec![done.clone()],
            basis,
            satisfied_by_session: true,
        });
    }
    Ok(Decision::StepUp {
        needed: combinations,
        reason: StepUpReason {
            basis,
            session_methods: session.methods.clone(),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::directory::GroupRef;
    use time::macros::datetime;

    fn combo(label: &str) -> Combination {
        let methods = label
            .split('+')
            .map(|m| Method::parse(m).unwrap())
            .collect();
        Combination::new(methods).unwrap()
    }

    fn svc(s: &str) -> ServiceRef {
        let (k, id) = s.split_once(':').unwrap();
        ServiceRef::new(ServiceKind::parse(k).unwrap(), id)
    }

    /// The policy most cases run against (tenant clock UTC+9).
    fn fixture() -> AccessPolicy {
        let policy: AccessPolicy = serde_json::from_str(
            r#"{
            "clock": {"utc_offset_minutes": 540},
            "default_combinations": [["matrix"], ["matrix", "totp"]],
            "groups": [
                {"group": "staff", "priority": 20, "services": {"allow": ["*"]}},
                {"group": "finance", "priority": 10,
                 "services": {"allow": ["saml_sp:https://erp.example.com/*", "oidc_client:payroll"]},
                 "ip_allow": ["10.0.0.0/8", "2001:db8::/32"],
                 "schedule": ["Mon-Fri 08:00-20:00"],
                 "device": "registered_device",
                 "combinations": [["matrix", "totp"]]},
                {"group": "contractors", "priority": 30,
                 "services": {"allow": ["oidc_client:wiki"], "deny": ["radius_client:*"]},
                 "ip_deny": ["198.51.100.0/24"]},
                {"group": "night", "priority": 5,
                 "services": {"allow": ["radius_client:vpn"]},
                 "schedule": ["Fri 22:00-06:00"]},
                {"group": "admins", "priority": 15,
                 "services": {"allow": ["forward_auth_app:admin"]},
                 "device": "client_certificate"},
                {"group": "beta", "priority": 50,
                 "services": {"allow": ["oidc_client:tie"]}, "combinations": [["pin"]]},
                {"group": "alpha", "priority": 50,
                 "services": {"allow": ["oidc_client:tie"]}, "combinations": [["totp"]]}
            ],
            "services": [
                {"service": {"kind": "radius_client", "id": "vpn"},
                 "requirement": {"minimum_assurance": "multi"}},
                {"service": {"kind": "oidc_client", "id": "wiki"},
                 "ip_deny": ["203.0.113.0/24"],
                 "requirement": {"combinations": [["pin"]]}},
                {"service": {"kind": "saml_sp", "id": "https://erp.example.com/sp"},
                 "schedule": ["* 06:00-22:00"]}
            ]
        }"#,
        )
        .unwrap();
        policy.validate().unwrap();
        policy
    }

    fn user(groups: &[&str]) -> UserFacts {
        let mut u = UserFacts::new("alice");
        u.groups = groups
            .iter()
            .enumerate()
            .map(|(i, g)| GroupRef {
                name: (*g).to_owned(),
                priority: i32::try_from(i).unwrap_or(0),
            })
            .collect();
        u
    }

    const NONE: DeviceFacts = DeviceFacts {
        registered_device: false,
        client_certificate: false,
    };
    const REG: DeviceFacts = DeviceFacts {
        registered_device: true,
        client_certificate: false,
    };
    const CERT: DeviceFacts = DeviceFacts {
        registered_device: false,
        client_certificate: true,
    };

    // 2026-11-23 is a Monday, 2026-11-27 a Friday, 2026-11-28 a Saturday.
    const MON_NOON: OffsetDateTime = datetime!(2026-11-23 12:00 +09:00);

    struct Case {
        name: &'static str,
        groups: &'static [&'static str],
        service: &'static str,
        source: &'static str,
        now: OffsetDateTime,
        device: DeviceFacts,
        session: Option<&'static [Method]>,
        /// `allow`, `step_up` or a deny key.
        key: &'static str,
        /// Combination labels of Allow / StepUp.
        combos: &'static [&'static str],
        /// Must appear in the explanation.
        explains: &'static str,
    }

    const fn case(
        name: &'static str,
        groups: &'static [&'static str],
        service: &'static str,
        source: &'static str,
    ) -> Case {
        Case {
            name,
            groups,
            service,
            source,
            now: MON_NOON,
            device: NONE,
            session: None,
            key: "allow",
            combos: &[],
            explains: "",
        }
    }

    impl Case {
        const fn at(mut self, now: OffsetDateTime) -> Case {
            self.now = now;
            self
        }
        const fn device(mut self, d: DeviceFacts) -> Case {
            self.device = d;
            self
        }
        const fn session(mut self, s: &'static [Method]) -> Case {
            self.session = Some(s);
            self
        }
        const fn want(
            mut self,
            key: &'static str,
            combos: &'static [&'static str],
            explains: &'static str,
        ) -> Case {
            self.key = key;
            self.combos = combos;
            self.explains = explains;
            self
        }
    }

    const ERP: &str = "saml_sp:https://erp.example.com/sp";
    const DEFAULT: &[&str] = &["matrix", "matrix+totp"];

    fn cases() -> Vec<Case> {
        use Method::*;
        vec![
            // Basic allow through the wildcard group.
            case(
                "wildcard allows any service",
                &["staff"],
                "oidc_client:app",
                "192.0.2.1",
            )
            .want("allow", DEFAULT, "\"staff\""),
            case(
                "wildcard covers every kind",
                &["staff"],
                "radius_client:other",
                "2001:db8::1",
            )
            .want("allow", DEFAULT, "tenant default"),
            // Two groups, different priorities: the lower number governs.
            case(
                "lower priority number governs",
                &["staff", "finance"],
                ERP,
                "10.1.2.3",
            )
            .device(REG)
            .want("allow", &["matrix+totp"], "\"finance\" (priority 10)"),
            case(
                "order of memberships is irrelevant",
                &["finance", "staff"],
                ERP,
                "10.1.2.3",
            )
            .device(REG)
            .want("allow", &["matrix+totp"], "override of group \"finance\""),
            // The governing group's restrictions apply, with no fallback to "staff".
            case(
                "governing ip_allow refuses",
                &["staff", "finance"],
                ERP,
                "192.0.2.1",
            )
            .device(REG)
            .want("deny.ip", &[], "group \"finance\""),
            case(
                "governing ip_allow lower boundary",
                &["finance"],
                ERP,
                "10.0.0.0",
            )
            .device(REG)
            .want("allow", &["matrix+totp"], "finance"),
            case(
                "governing ip_allow upper boundary",
                &["finance"],
                ERP,
                "10.255.255.255",
            )
            .device(REG)
            .want("allow", &["matrix+totp"], "finance"),
            case(
                "governing ip_allow just outside",
                &["finance"],
                ERP,
                "11.0.0.0",
            )
            .device(REG)
            .want("deny.ip", &[], "10.0.0.0/8, 2001:db8::/32"),
            case(
                "governing ip_allow IPv6 inside",
                &["finance"],
                ERP,
                "2001:db8:ffff::1",
            )
            .device(REG)
            .want("allow", &["matrix+totp"], "finance"),
            case(
                "governing ip_allow IPv6 outside",
                &["finance"],
                ERP,
                "2001:db9::",
            )
            .device(REG)
            .want("deny.ip", &[], "finance"),
            case(
                "governing schedule: Saturday",
                &["staff", "finance"],
                ERP,
                "10.1.2.3",
            )
            .device(REG)
            .at(datetime!(2026-11-28 12:00 +09:00))
            .want(
                "deny.time",
                &[],
                "schedule of the rule of group \"finance\"",
            ),
            case(
                "governing schedule: start admitted",
                &["finance"],
                ERP,
                "10.1.2.3",
            )
            .device(REG)
            .at(datetime!(2026-11-23 08:00 +09:00))
            .want("allow", &["matrix+totp"], "finance"),
            case(
                "governing schedule: end refused",
                &["finance"],
                ERP,
                "10.1.2.3",
            )
            .device(REG)
            .at(datetime!(2026-11-23 20:00 +09:00))
            .want("deny.time", &[], "Mon 2026-11-23 20:00 (UTC+09:00)"),
            case(
                "governing device required",
                &["staff", "finance"],
                ERP,
                "10.1.2.3",
            )
            .want(
                "deny.device",
                &[],
                "group \"finance\" requires a registered device",
            ),
            case(
                "certificate is not a registered device",
                &["finance"],
                ERP,
                "10.1.2.3",
            )
            .device(CERT)
            .want("deny.device", &[], "finance"),
            // A group that does not cover the service does not govern it.
            case(
                "non-covering group does not govern",
                &["staff", "finance"],
                "oidc_client:app",
                "192.0.2.1",
            )
            .want("allow", DEFAULT, "\"staff\" (priority 20)"),
            // Device requirements.
            case(
                "client certificate present",
                &["admins"],
                "forward_auth_app:admin",
                "192.0.2.1",
            )
            .device(CERT)
            .want("allow", DEFAULT, "\"admins\""),
            case(
                "client certificate missing",
                &["admins"],
                "forward_auth_app:admin",
                "192.0.2.1",
            )
            .device(REG)
            .want("deny.device", &[], "requires a client certificate"),
            // Deny beats allow across groups.
            case(
                "service deny in one group beats allow in others",
                &["staff", "night", "contractors"],
                "radius_client:vpn",
                "192.0.2.1",
            )
            .at(datetime!(2026-11-27 23:00 +09:00))
            .want("deny.service", &[], "group \"contractors\""),
            case(
                "ip deny in one group beats allow in another",
                &["staff", "contractors"],
                "oidc_client:app",
                "198.51.100.7",
            )
            .want(
                "deny.ip",
                &[],
                "198.51.100.0/24, denied by the rule of group \"contractors\"",
            ),
            case(
                "group ip deny boundary outside",
                &["staff", "contractors"],
                "oidc_client:app",
                "198.51.101.0",
            )
            .want("allow", DEFAULT, "staff"),
            case(
                "service ip deny",
                &["staff"],
                "oidc_client:wiki",
                "203.0.113.9",
            )
            .want("deny.ip", &[], "the rule of service oidc_client:wiki"),
            case(
                "no group allows",
                &["contractors"],
                "oidc_client:app",
                "192.0.2.1",
            )
            .want(
                "deny.service",
                &[],
                "none of the user's groups (\"contractors\")",
            ),
            case("no groups at all", &[], "oidc_client:app", "192.0.2.1").want(
                "deny.service",
                &[],
                "no group",
            ),
            case(
                "unknown group has no rule",
                &["ghosts"],
                "oidc_client:app",
                "192.0.2.1",
            )
            .want("deny.service", &[], "no group"),
            case(
                "kind-qualified allow does not cover another kind",
                &["finance"],
                "oidc_client:https://erp.example.com/sp",
                "10.1.2.3",
            )
            .device(REG)
            .want("deny.service", &[], "finance"),
            // Service requirement and the group override.
            case(
                "service required combinations",
                &["contractors"],
                "oidc_client:wiki",
                "192.0.2.1",
            )
            .want("allow", &["pin"], "requirement of service oidc_client:wiki"),
            case(
                "service schedule applies on top",
                &["staff"],
                ERP,
                "192.0.2.1",
            )
            .at(datetime!(2026-11-23 22:00 +09:00))
            .want(
                "deny.time",
                &[],
                "the rule of service saml_sp:https://erp.example.com/sp",
            ),
            case("service schedule start", &["staff"], ERP, "192.0.2.1")
                .at(datetime!(2026-11-23 06:00 +09:00))
                .want("allow", DEFAULT, "staff"),
            case(
                "minimum assurance filters the default",
                &["staff"],
                "radius_client:vpn",
                "192.0.2.1",
            )
            .want("allow", &["matrix+totp"], "assurance multi or higher"),
            // Tie on priority: alphabetical group name.
            case(
                "tie broken alphabetically",
                &["beta", "alpha"],
                "oidc_client:tie",
                "192.0.2.1",
            )
            .want("allow", &["totp"], "\"alpha\""),
            // Windows across midnight, owned by the start day (group "night" governs the VPN).
            case(
                "night: Friday 22:00 start",
                &["night", "staff"],
                "radius_client:vpn",
                "192.0.2.1",
            )
            .at(datetime!(2026-11-27 22:00 +09:00))
            .want("allow", &["matrix+totp"], "\"night\""),
            case(
                "night: Saturday 05:59",
                &["night", "staff"],
                "radius_client:vpn",
                "192.0.2.1",
            )
            .at(datetime!(2026-11-28 05:59 +09:00))
            .want("allow", &["matrix+totp"], "\"night\""),
            case(
                "night: Saturday 06:00 end",
                &["night", "staff"],
                "radius_client:vpn",
                "192.0.2.1",
            )
            .at(datetime!(2026-11-28 06:00 +09:00))
            .want("deny.time", &[], "Fri 22:00-06:00"),
            case(
                "night: Friday 05:00 belongs to Thursday",
                &["night", "staff"],
                "radius_client:vpn",
                "192.0.2.1",
            )
            .at(datetime!(2026-11-27 05:00 +09:00))
            .want("deny.time", &[], "\"night\""),
            case(
                "night: instant given in UTC is converted",
                &["night"],
                "radius_client:vpn",
                "192.0.2.1",
            )
            .at(datetime!(2026-11-27 20:59 UTC))
            .want("allow", &["matrix+totp"], "night"),
            // Sessions and step-up.
            case(
                "step-up from matrix to matrix+totp",
                &["staff", "finance"],
                ERP,
                "10.1.2.3",
            )
            .device(REG)
            .session(&[Matrix])
            .want("step_up", &["matrix+totp"], "the session has only [matrix]"),
            case("session already satisfies", &["finance"], ERP, "10.1.2.3")
                .device(REG)
                .session(&[Totp, Matrix])
                .want("allow", &["matrix+totp"], "already satisfies matrix+totp"),
            case(
                "session satisfies the first it can",
                &["staff"],
                "oidc_client:app",
                "192.0.2.1",
            )
            .session(&[Matrix, Totp])
            .want("allow", &["matrix"], "already satisfies matrix"),
            case(
                "empty session steps up",
                &["staff"],
                "oidc_client:app",
                "192.0.2.1",
            )
            .session(&[])
            .want("step_up", DEFAULT, "tenant default"),
            case(
                "session with pin only needs wiki's pin",
                &["contractors"],
                "oidc_client:wiki",
                "192.0.2.1",
            )
            .session(&[Pin])
            .want("allow", &["pin"], "wiki"),
            case(
                "step-up to minimum assurance",
                &["staff"],
                "radius_client:vpn",
                "192.0.2.1",
            )
            .session(&[Matrix])
            .want("step_up", &["matrix+totp"], "assurance multi"),
            case(
                "denials come before the session",
                &["finance"],
                ERP,
                "192.0.2.1",
            )
            .device(REG)
            .session(&[Matrix, Totp])
            .want("deny.ip", &[], "finance"),
        ]
    }

    fn run(c: &Case, policy: &AccessPolicy, u: &UserFacts) -> Decision {
        let service = svc(c.service);
        let session = c.session.map(|m| SessionFacts {
            methods: m.to_vec(),
            auth_time: 0,
        });
        decide(
            &AccessRequest {
                user: u,
                service: &service,
                source: c.source.parse().unwrap(),
                now: c.now,
                device: &c.device,
                session: session.as_ref(),
            },
            policy,
        )
    }

    fn combos_of(d: &Decision) -> Vec<String> {
        match d {
            Decision::Allow { combinations, .. } => {
                combinations.iter().map(|c| c.label()).collect()
            }
            Decision::StepUp { needed, .. } => needed.iter().map(|c| c.label()).collect(),
            Decision::Deny { .. } => Vec::new(),
        }
    }

    #[test]
    fn decision_table() {
        let policy = fixture();
        let cases = cases();
        assert!(cases.len() >= 40);
        for c in &cases {
            let d = run(c, &policy, &user(c.groups));
            assert_eq!(d.user_message_key(), c.key, "{}: {}", c.name, d.explain());
            assert_eq!(combos_of(&d), c.combos, "{}: {}", c.name, d.explain());
            assert!(
                d.explain().contains(c.explains),
                "{}: {:?} lacks {:?}",
                c.name,
                d.explain(),
                c.explains
            );
        }
    }

    #[test]
    fn account_state_comes_first() {
        let policy = fixture();
        let c = case("any", &["staff"], "oidc_client:app", "192.0.2.1");
        let now = c.now;
        let second = time::Duration::seconds(1);
        // (enabled, valid_from, valid_until, key)
        let table: &[(bool, Option<OffsetDateTime>, Option<OffsetDateTime>, &str)] = &[
            (true, None, None, "allow"),
            (false, None, None, "deny.disabled"),
            (true, Some(now + second), None, "deny.not_yet_valid"),
            (true, Some(now), None, "allow"),
            (true, None, Some(now), "deny.expired"),
            (true, None, Some(now + second), "allow"),
            (true, Some(now - second), Some(now + second), "allow"),
            (false, Some(now + second), Some(now), "deny.disabled"),
        ];
        for (enabled, from, until, key) in table {
            let mut u = user(&["staff"]);
            u.enabled = *enabled;
            u.valid_from = *from;
            u.valid_until = *until;
            let d = run(&c, &policy, &u);
            assert_eq!(d.user_message_key(), *key, "{}", d.explain());
        }
        // A disabled member of a denying group is reported as disabled.
        let mut u = user(&["contractors"]);
        u.enabled = false;
        let vpn = case("vpn", &["contractors"], "radius_client:vpn", "192.0.2.1");
        assert_eq!(run(&vpn, &policy, &u).user_message_key(), "deny.disabled");
    }

    #[test]
    fn the_same_instant_in_two_tenants() {
        // 03:00 UTC on Friday 27 November: Friday 12:00 in UTC+9, Thursday 22:00 in UTC-5.
        let at = datetime!(2026-11-27 03:00 UTC);
        let c = case("erp", &["finance"], ERP, "10.1.2.3")
            .device(REG)
            .at(at);
        let mut policy = fixture();
        policy.clock.utc_offset_minutes = 540;
        let d = run(&c, &policy, &user(&["finance"]));
        assert_eq!(d.user_message_key(), "allow", "{}", d.explain());
        policy.clock.utc_offset_minutes = -300;
        let d = run(&c, &policy, &user(&["finance"]));
        assert_eq!(d.user_message_key(), "deny.time", "{}", d.explain());
        assert!(
            d.explain().contains("Thu 2026-11-26 22:00 (UTC-05:00)"),
            "{}",
            d.explain()
        );
    }

    #[test]
    fn service_patterns() {
        let table: &[(&str, &str, bool)] = &[
            ("*", "oidc_client:x", true),
            ("*", "radius_client:vpn", true),
            ("radius_client:*", "radius_client:vpn", true),
            ("radius_client:*", "oidc_client:vpn", false),
            ("vpn", "radius_client:vpn", true),
            ("vpn", "oidc_client:vpn", true),
            ("vpn", "oidc_client:vpn2", false),
            ("oidc_client:team-*", "oidc_client:team-a", true),
            ("oidc_client:team-*", "oidc_client:team-", true),
            ("oidc_client:team-*", "oidc_client:team", false),
            ("oidc_client:*-prod", "oidc_client:crm-prod", true),
            ("oidc_client:*-prod", "oidc_client:crm-prod2", false),
            ("oidc_client:a*b*c", "oidc_client:aXXbYYc", true),
            ("oidc_client:a*b*c", "oidc_client:aXXbYY", false),
            (
                "saml_sp:https://erp.example.com/*",
                "saml_sp:https://erp.example.com/sp",
                true,
            ),
            (
                "saml_sp:https://erp.example.com/*",
                "saml_sp:https://erp.example.com.evil/sp",
                false,
            ),
            // An entity ID with a scheme is an id, not a kind.
            (
                "https://erp.example.com/sp",
                "saml_sp:https://erp.example.com/sp",
                true,
            ),
            ("urn:example:sp", "saml_sp:urn:example:sp", true),
            ("Wiki", "oidc_client:wiki", false),
        ];
        for (pattern, service, want) in table {
            let p: ServicePattern = pattern.parse().unwrap();
            assert_eq!(p.matches(&svc(service)), *want, "{pattern} vs {service}");
            assert_eq!(p.to_string().parse::<ServicePattern>().unwrap(), p);
        }
        for bad in ["", "  ", "saml_sp:", "oidc_client:a\nb"] {
            assert!(bad.parse::<ServicePattern>().is_err(), "{bad:?}");
        }
        assert!(ServicePattern::any().matches(&svc("forward_auth_app:x")));
        // No exponential blow-up on hostile patterns.
        let p: ServicePattern = format!("oidc_client:{}b", "*a".repeat(200))
            .parse()
            .unwrap();
        assert!(!p.matches(&svc(&format!("oidc_client:{}", "a".repeat(5000)))));
    }

    #[test]
    fn validation() {
        let mut p = fixture();
        p.groups.push(GroupAccess::new("staff", 1));
        assert_eq!(
            p.validate(),
            Err(AccessPolicyError::DuplicateGroup("staff".into()))
        );
        let mut p = fixture();
        p.groups.push(GroupAccess::new(" ", 1));
        assert_eq!(p.validate(), Err(AccessPolicyError::EmptyGroupName));
        let mut p = fixture();
        p.services
            .push(ServiceAccess::new(svc("radius_client:vpn")));
        assert!(matches!(
            p.validate(),
            Err(AccessPolicyError::DuplicateService(_))
        ));
        let mut p = fixture();
        let mut s = ServiceAccess::new(svc("oidc_client:new"));
        s.requirement = Some(ServiceRequirement::Combinations(vec![]));
        p.services.push(s);
        assert!(matches!(
            p.validate(),
            Err(AccessPolicyError::EmptyServiceCombinations(_))
        ));
        let mut p = fixture();
        p.default_combinations.clear();
        assert_eq!(p.validate(), Err(AccessPolicyError::NoDefaultCombination));
        let mut p = fixture();
        p.clock.utc_offset_minutes = 20 * 60;
        assert!(matches!(p.validate(), Err(AccessPolicyError::Clock(_))));
        assert_eq!(AccessPolicy::default().validate(), Ok(()));

        // Parsing refuses bad values and misspelt fields.
        let bad = [
            r#"{"groups":[{"group":"g","ip_allow":["10.0.0.1/8"]}]}"#,
            r#"{"groups":[{"group":"g","ip_allow":["10.0.0.0/33"]}]}"#,
            r#"{"groups":[{"group":"g","ip_deny":["2001:db8::/129"]}]}"#,
            r#"{"groups":[{"group":"g","ip_alow":["10.0.0.0/8"]}]}"#,
            r#"{"groups":[{"group":"g","schedule":["Mon-Fri 08:00-08:00"]}]}"#,
            r#"{"groups":[{"group":"g","services":{"allow":[""]}}]}"#,
            r#"{"groups":[{"group":"g","services":{"alow":["*"]}}]}"#,
            r#"{"groups":[{"group":"g","device":"phone"}]}"#,
            r#"{"groups":[{"group":"g","combinations":[[]]}]}"#,
            r#"{"groups":[{"group":"g","combinations":[["matrix","matrix"]]}]}"#,
            r#"{"services":[{"service":{"kind":"saml_sp","id":"x"},"requirement":{"minimum_assurance":"high"}}]}"#,
            r#"{"default_combination":[["matrix"]]}"#,
        ];
        for json in bad {
            assert!(
                serde_json::from_str::<AccessPolicy>(json).is_err(),
                "{json}"
            );
        }
        let round: AccessPolicy =
            serde_json::from_str(&serde_json::to_string(&fixture()).unwrap()).unwrap();
        assert_eq!(round, fixture());
    }

    #[test]
    fn fail_closed_on_unusable_settings() {
        let u = user(&["night"]);
        let c = case("vpn", &["night"], "radius_client:vpn", "192.0.2.1")
            .at(datetime!(2026-11-27 22:00 +09:00));
        // An offset out of range cannot be evaluated: the schedule denies.
        let mut p = fixture();
        p.clock.utc_offset_minutes = i16::MAX;
        let d = run(&c, &p, &u);
        assert_eq!(d.user_message_key(), "deny.time", "{}", d.explain());
        // No combination meets the floor.
        let mut p = fixture();
        p.default_combinations = vec![combo("matrix")];
        let d = run(&c, &p, &u);
        assert_eq!(d.user_message_key(), "deny.policy", "{}", d.explain());
        assert!(d.explain().contains("\"night\""));
        // An empty default denies instead of allowing without factors.
        let mut p = fixture();
        p.default_combinations.clear();
        let s = case("app", &["staff"], "oidc_client:app", "192.0.2.1");
        let d = run(&s, &p, &user(&["staff"]));
        assert_eq!(d.user_message_key(), "deny.policy");
        // Duplicate rules (never validated) all apply, denies first.
        let mut p = fixture();
        let mut dup = GroupAccess::new("staff", 20);
        dup.ip_deny = vec!["0.0.0.0/0".parse().unwrap()];
        p.groups.push(dup);
        assert_eq!(run(&s, &p, &user(&["staff"])).user_message_key(), "deny.ip");
        // The edge of the date range does not panic.
        let edge = case("edge", &["night"], "radius_client:vpn", "192.0.2.1")
            .at(time::PrimitiveDateTime::MAX.assume_utc());
        assert_eq!(run(&edge, &fixture(), &u).user_message_key(), "deny.time");
    }

    #[test]
    fn cases_cover_every_outcome() {
        let policy = fixture();
        let mut keys: Vec<&str> = cases()
            .iter()
            .map(|c| run(c, &policy, &user(c.groups)).user_message_key())
            .collect();
        keys.sort_unstable();
        keys.dedup();
        assert_eq!(
            keys,
            [
                "allow",
                "deny.device",
                "deny.ip",
                "deny.service",
                "deny.time",
                "step_up"
            ]
        );
    }
}
