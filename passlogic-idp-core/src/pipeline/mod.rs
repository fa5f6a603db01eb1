//! The multi-factor step pipeline: one sign-in [`Attempt`] walks through the steps of one
//! factor [`Combination`] in order, and only a complete walk yields an [`AuthnContext`].
//!
//! The attempt is plain data (serde) that the server stores between requests; every transition
//! is a method that checks the attempt id, the expiry, the order and completion, and returns an
//! error instead of changing anything when the request does not fit. The server never marks a
//! step done by any other path, so a step cannot be skipped by posting a later step's form.
//!
//! ```
//! use passlogic_idp_core::pipeline::{Attempt, Combination, Method};
//! let now = time::OffsetDateTime::UNIX_EPOCH;
//! let combo = Combination::new(vec![Method::Matrix, Method::Totp]).unwrap();
//! let mut a = Attempt::new("a1", vec![combo], now, time::Duration::minutes(15)).unwrap();
//! assert_eq!(a.next_step(now), Ok(Some(Method::Matrix)));
//! assert!(a.record("a1", Method::Totp, now).is_err()); // out of order
//! a.record("a1", Method::Matrix, now).unwrap();
//! a.record("a1", Method::Totp, now).unwrap();
//! let ctx = a.finish("a1", now).unwrap();
//! assert_eq!(ctx.amr, ["matrix", "otp", "swk", "mfa"]);
//! ```

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// One authentication method, usable as a step.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Method {
    /// Matrix (grid pattern) one-time password: knowledge.
    Matrix,
    /// PIN code: knowledge.
    Pin,
    /// Software token, authenticator app (TOTP): possession.
    Totp,
    /// Bingo display of the authenticator app (TOTP hidden in a grid): possession.
    Bingo,
    /// Hardware OATH token (HOTP or TOTP key fob or card): possession.
    HardwareToken,
    /// Registered browser (device cookie): possession.
    DeviceCookie,
    /// Client certificate from the built-in CA: possession.
    ClientCertificate,
    /// Login protect (unlocked from the authenticator app): possession.
    LoginProtect,
    /// Passkey (WebAuthn) with user verification: possession + inherence/knowledge.
    Passkey,
    /// External biometric (face) verifier: inherence.
    Biometric,
}

/// The kind of evidence a method gives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Category {
    /// Something you know.
    Knowledge,
    /// Something you have.
    Possession,
    /// Something you are.
    Inherence,
}

impl Method {
    /// Every method, in a stable order.
    pub const ALL: [Method; 10] = [
        Method::Matrix,
        Method::Pin,
        Method::Totp,
        Method::Bingo,
        Method::HardwareToken,
        Method::DeviceCookie,
        Method::ClientCertificate,
        Method::LoginProtect,
        Method::Passkey,
        Method::Biometric,
    ];

    /// Stable name (URLs, storage, configuration).
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Matrix => "matrix",
            Method::Pin => "pin",
            Method::Totp => "totp",
            Method::Bingo => "bingo",
            Method::HardwareToken => "hardware_token",
            Method::DeviceCookie => "device_cookie",
            Method::ClientCertificate => "client_certificate",
            Method::LoginProtect => "login_protect",
            Method::Passkey => "passkey",
            Method::Biometric => "biometric",
        }
    }

    /// Parses [`Method::as_str`].
    pub fn parse(s: &str) -> Option<Method> {
        Method::ALL.into_iter().find(|m| m.as_str() == s)
    }

    /// The `amr` values (RFC 8176) this method contributes. Where RFC 8176 has no value we use
    /// our own, documented in docs/testability.md: `matrix` (grid pattern), `bingo` (TOTP read
    /// through the bingo grid), `device` (registered browser), `x509` (client certificate),
    /// `unlock` (login protect).
    pub fn amr(self) -> &'static [&'static str] {
        match self {
            Method::Matrix => &["matrix"],
            Method::Pin => &["pin"],
            Method::Totp => &["otp", "swk"],
            Method::Bingo => &["otp", "swk", "bingo"],
            Method::HardwareToken => &["otp", "hwk"],
            Method::DeviceCookie => &["device"],
            // A PKCS#12 imported into a browser or OS store is a software-held key (RFC 8176
            // `swk`); `x509` is ours and names the method.
            Method::ClientCertificate => &["swk", "x509"],
            Method::LoginProtect => &["swk", "unlock"],
            Method::Passkey => &["hwk", "user"],
            Method::Biometric => &["face"],
        }
    }

    /// Knowledge, possession or inherence.
    pub fn category(self) -> Category {
        match self {
            Method::Matrix | Method::Pin => Category::Knowledge,
            Method::Biometric => Category::Inherence,
            _ => Category::Possession,
        }
    }
}

impl std::fmt::Display for Method {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An ordered list of distinct methods, all of which a sign-in must pass.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "Vec<Method>", into = "Vec<Method>")]
pub struct Combination(Vec<Method>);

impl Combination {
    /// A combination; `None` when empty, longer than 4 steps, or with a method twice.
    pub fn new(methods: Vec<Method>) -> Option<Combination> {
        let distinct = methods
            .iter()
            .enumerate()
            .all(|(i, m)| !methods[..i].contains(m));
        (!methods.is_empty() && methods.len() <= 4 && distinct).then_some(Combination(methods))
    }

    /// A one-step combination.
    pub fn single(method: Method) -> Combination {
        Combination(vec![method])
    }

    /// The steps in order.
    pub fn methods(&self) -> &[Method] {
        &self.0
    }

    /// `matrix+totp` style name.
    pub fn label(&self) -> String {
        self.0
            .iter()
            .map(|m| m.as_str())
            .collect::<Vec<_>>()
            .join("+")
    }
}

impl TryFrom<Vec<Method>> for Combination {
    type Error = &'static str;
    fn try_from(v: Vec<Method>) -> Result<Self, Self::Error> {
        Combination::new(v).ok_or("a combination needs 1 to 4 distinct methods")
    }
}

impl From<Combination> for Vec<Method> {
    fn from(c: Combination) -> Self {
        c.0
    }
}

/// Which combinations to offer a user, given the policy's list and the methods the user is
/// enrolled in.
///
/// Combinations the user is fully enrolled in come first. With self-enrolment allowed, a
/// combination whose *first* step the user has is offered too: the later, missing steps are
/// enrolled during the sign-in (the enrolment's confirmation is that step's proof). Without any
/// usable combination the result is empty and the sign-in must be refused.
pub fn offered_combinations(
    policy: &[Combination],
    enrolled: &[Method],
    self_enrolment: bool,
) -> Vec<Combination> {
    let complete: Vec<Combination> = policy
        .iter()
        .filter(|c| c.methods().iter().all(|m| enrolled.contains(m)))
        .cloned()
        .collect();
    if !complete.is_empty() || !self_enrolment {
        return complete;
    }
    policy
        .iter()
        .filter(|c| c.methods().first().is_some_and(|m| enrolled.contains(m)))
        .cloned()
        .collect()
}

/// One passed step.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepRecord {
    /// The method.
    pub method: Method,
    /// When it passed (UNIX seconds).
    pub at: i64,
}

/// Why a pipeline transition was refused. Nothing changed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PipelineError {
    /// The attempt's time is up.
    #[error("the sign-in attempt expired")]
    Expired,
    /// The request belongs to another attempt.
    #[error("the step belongs to another sign-in attempt")]
    WrongAttempt,
    /// No combination was offered.
    #[error("no factor combination is available")]
    NoCombination,
    /// Several combinations are offered and none is chosen yet.
    #[error("a factor combination must be chosen first")]
    NotChosen,
    /// The chosen index does not exist, or steps were already done.
    #[error("that combination cannot be chosen")]
    BadChoice,
    /// A step other than the next one.
    #[error("expected the {expected} step, got {got}")]
    OutOfOrder {
        /// The step that is due.
        expected: Method,
        /// The step that was offered.
        got: Method,
    },
    /// Every step is done already (a repeated step, or a step after completion).
    #[error("all steps are done")]
    AlreadyComplete,
    /// Completion was asked for before every step passed.
    #[error("steps are missing")]
    NotComplete,
    /// The attempt already produced its authentication context.
    #[error("the attempt is finished")]
    Finished,
}

/// How strongly the user was authenticated.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AssuranceLevel {
    /// One factor.
    Single,
    /// Two or more factors of different categories.
    Multi,
    /// Two or more factors of different categories, one of them hardware-bound (hardware
    /// token, client certificate or passkey).
    MultiHardware,
}

/// The outcome of a complete sign-in: what SAML's AuthnContext and OIDC's `acr`/`amr` are
/// derived from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthnContext {
    /// The methods passed, in order.
    pub methods: Vec<Method>,
    /// RFC 8176 values (and ours), in step order, without duplicates, `mfa` last when more
    /// than one method was used.
    pub amr: Vec<String>,
    /// When the sign-in completed (UNIX seconds).
    pub auth_time: i64,
    /// Assurance level.
    pub level: AssuranceLevel,
}

impl AuthnContext {
    /// Derives the context from the methods passed.
    pub fn from_methods(methods: Vec<Method>, auth_time: i64) -> AuthnContext {
        let mut amr: Vec<String> = Vec::new();
        for m in &methods {
            for v in m.amr() {
                if !amr.iter().any(|a| a == v) {
                    amr.push((*v).to_owned());
                }
            }
        }
        if methods.len() > 1 {
            amr.push("mfa".to_owned());
        }
        let distinct_categories = [
            Category::Knowledge,
            Category::Possession,
            Category::Inherence,
        ]
        .into_iter()
        .filter(|c| methods.iter().any(|m| m.category() == *c))
        .count();
        let hardware = methods.iter().any(|m| {
            matches!(
                m,
                Method::HardwareToken | Method::ClientCertificate | Method::Passkey
            )
        });
        let level = if distinct_categories >= 2 && hardware {
            AssuranceLevel::MultiHardware
        } else if distinct_categories >= 2 {
            AssuranceLevel::Multi
        } else {
            AssuranceLevel::Single
        };
        AuthnContext {
            methods,
            amr,
            auth_time,
            level,
        }
    }
}

/// A sign-in in progress. Store it between requests; change it only through its methods.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attempt {
    id: String,
    offered: Vec<Combination>,
    chosen: Option<usize>,
    done: Vec<StepRecord>,
    started_at: i64,
    expires_at: i64,
    finished: bool,
}

impl Attempt {
    /// Starts an attempt over the offered combinations (see [`offered_combinations`]); with a
    /// single one it is chosen at once.
    pub fn new(
        id: impl Into<String>,
        offered: Vec<Combination>,
        now: OffsetDateTime,
        ttl: time::Duration,
    ) -> Result<Attempt, PipelineError> {
        if offered.is_empty() {
            return Err(PipelineError::NoCombination);
        }
        let chosen = (offered.len() == 1).then_some(0);
        let start = now.unix_timestamp();
        Ok(Attempt {
            id: id.into(),
            offered,
            chosen,
            done: Vec::new(),
            started_at: start,
            expires_at: start.saturating_add(ttl.whole_seconds().max(1)),
            finished: false,
        })
    }

    /// The attempt id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The combinations the user may choose from.
    pub fn offered(&self) -> &[Combination] {
        &self.offered
    }

    /// The chosen combination, if any.
    pub fn chosen(&self) -> Option<&Combination> {
        self.chosen.and_then(|i| self.offered.get(i))
    }

    /// Expiry (UNIX seconds).
    pub fn expires_at(&self) -> i64 {
        self.expires_at
    }

    /// Steps passed so far.
    pub fn done(&self) -> &[StepRecord] {
        &self.done
    }

    fn live(&self, now: OffsetDateTime) -> Result<(), PipelineError> {
        if self.finished {
            return Err(PipelineError::Finished);
        }
        if now.unix_timestamp() >= self.expires_at {
            return Err(PipelineError::Expired);
        }
        Ok(())
    }

    /// Chooses a combination; only before the first step.
    pub fn choose(&mut self, index: usize, now: OffsetDateTime) -> Result<(), PipelineError> {
        self.live(now)?;
        if index >= self.offered.len() || !self.done.is_empty() {
            return Err(PipelineError::BadChoice);
        }
        self.chosen = Some(index);
        Ok(())
    }

    /// The step due now, or `None` when every step passed.
    pub fn next_step(&self, now: OffsetDateTime) -> Result<Option<Method>, PipelineError> {
        self.live(now)?;
        let combo = self.chosen().ok_or(PipelineError::NotChosen)?;
        Ok(combo.methods().get(self.done.len()).copied())
    }

    /// The step after the one due now (for pages that take two answers in one field).
    pub fn step_after_next(&self, now: OffsetDateTime) -> Result<Option<Method>, PipelineError> {
        self.live(now)?;
        let combo = self.chosen().ok_or(PipelineError::NotChosen)?;
        Ok(combo.methods().get(self.done.len() + 1).copied())
    }

    /// Records that `method` passed. Refuses another attempt's step, an expired or finished
    /// attempt, a step out of order, and any step once all are done.
    pub fn record(
        &mut self,
        attempt_id: &str,
        method: Method,
        now: OffsetDateTime,
    ) -> Result<(), PipelineError> {
        if attempt_id != self.id {
            return Err(PipelineError::WrongAttempt);
        }
        match self.next_step(now)? {
            None => Err(PipelineError::AlreadyComplete),
            Some(expected) if expected != method => Err(PipelineError::OutOfOrder {
                expected,
                got: method,
            }),
            Some(_) => {
                self.done.push(StepRecord {
                    method,
                    at: now.unix_timestamp(),
                });
                Ok(())
            }
        }
    }

    /// Whether every step of the chosen combination passed.
    pub fn is_complete(&self) -> bool {
        self.chosen()
            .is_some_and(|c| c.methods().len() == self.done.len())
    }

    /// Ends the attempt and yields its [`AuthnContext`]; once only.
    pub fn finish(
        &mut self,
        attempt_id: &str,
        now: OffsetDateTime,
    ) -> Result<AuthnContext, PipelineError> {
        if attempt_id != self.id {
            return Err(PipelineError::WrongAttempt);
        }
        self.live(now)?;
        if !self.is_complete() {
            return Err(PipelineError::NotComplete);
        }
        self.finished = true;
        let methods = self.done.iter().map(|s| s.method).collect();
        Ok(AuthnContext::from_methods(methods, now.unix_timestamp()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::Duration;

    fn t(s: i64) -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(1_800_000_000 + s).unwrap()
    }

    fn combo(m: &[Method]) -> Combination {
        Combination::new(m.to_vec()).unwrap()
    }

    fn attempt(combos: Vec<Combination>) -> Attempt {
        Attempt::new("a", combos, t(0), Duration::minutes(15)).unwrap()
    }

    #[test]
    fn walks_steps_in_order_and_yields_context() {
        let mut a = attempt(vec![combo(&[Method::Totp, Method::Pin])]);
        assert_eq!(a.next_step(t(1)), Ok(Some(Method::Totp)));
        assert_eq!(a.step_after_next(t(1)), Ok(Some(Method::Pin)));
        a.record("a", Method::Totp, t(2)).unwrap();
        assert!(!a.is_complete());
        assert_eq!(a.finish("a", t(3)), Err(PipelineError::NotComplete));
        a.record("a", Method::Pin, t(4)).unwrap();
        assert_eq!(a.next_step(t(5)), Ok(None));
        let ctx = a.finish("a", t(6)).unwrap();
        assert_eq!(ctx.methods, vec![Method::Totp, Method::Pin]);
        assert_eq!(ctx.amr, vec!["otp", "swk", "pin", "mfa"]);
        assert_eq!(ctx.auth_time, t(6).unix_timestamp());
        assert_eq!(ctx.level, AssuranceLevel::Multi);
    }

    #[test]
    fn refuses_out_of_order_repeated_foreign_and_late_steps() {
        let mut a = attempt(vec![combo(&[Method::Matrix, Method::Totp])]);
        let before = a.clone();
        assert_eq!(
            a.record("a", Method::Totp, t(1)),
            Err(PipelineError::OutOfOrder {
                expected: Method::Matrix,
                got: Method::Totp
            })
        );
        assert_eq!(
            a.record("other", Method::Matrix, t(1)),
            Err(PipelineError::WrongAttempt)
        );
        assert_eq!(a, before, "refusals change nothing");
        a.record("a", Method::Matrix, t(1)).unwrap();
        assert_eq!(
            a.record("a", Method::Matrix, t(2)),
            Err(PipelineError::OutOfOrder {
                expected: Method::Totp,
                got: Method::Matrix
            })
        );
        a.record("a", Method::Totp, t(2)).unwrap();
        assert_eq!(
            a.record("a", Method::Totp, t(3)),
            Err(PipelineError::AlreadyComplete)
        );
        a.finish("a", t(3)).unwrap();
        assert_eq!(
            a.finish("a", t(4)),
            Err(PipelineError::Finished),
            "a finished attempt is not reused"
        );
        assert_eq!(a.next_step(t(4)), Err(PipelineError::Finished));
    }

    #[test]
    fn expiry_is_enforced() {
        let mut a = attempt(vec![combo(&[Method::Matrix])]);
        let exp = 15 * 60;
        assert_eq!(
            a.record("a", Method::Matrix, t(exp)),
            Err(PipelineError::Expired)
        );
        a.record("a", Method::Matrix, t(exp - 1)).unwrap();
        assert_eq!(a.finish("a", t(exp)), Err(PipelineError::Expired));
    }

    #[test]
    fn choosing_among_alternatives() {
        let mut a = attempt(vec![
            combo(&[Method::Totp, Method::Pin]),
            combo(&[Method::Bingo, Method::Pin]),
        ]);
        assert_eq!(a.next_step(t(1)), Err(PipelineError::NotChosen));
        assert_eq!(
            a.record("a", Method::Totp, t(1)),
            Err(PipelineError::NotChosen)
        );
        assert_eq!(a.choose(2, t(1)), Err(PipelineError::BadChoice));
        a.choose(1, t(1)).unwrap();
        assert_eq!(a.next_step(t(1)), Ok(Some(Method::Bingo)));
        a.record("a", Method::Bingo, t(2)).unwrap();
        assert_eq!(
            a.choose(0, t(2)),
            Err(PipelineError::BadChoice),
            "no switching mid-way"
        );
    }

    #[test]
    fn offered_combinations_follow_enrolment() {
        let policy = vec![
            combo(&[Method::Matrix, Method::Totp]),
            combo(&[Method::HardwareToken, Method::Pin]),
        ];
        let only_matrix = [Method::Matrix];
        assert_eq!(
            offered_combinations(&policy, &only_matrix, false),
            Vec::<Combination>::new()
        );
        assert_eq!(
            offered_combinations(&policy, &only_matrix, true),
            vec![policy[0].clone()]
        );
        let both = [
            Method::Matrix,
            Method::Totp,
            Method::HardwareToken,
            Method::Pin,
        ];
        assert_eq!(offered_combinations(&policy, &both, false), policy);
        assert_eq!(
            offered_combinations(&policy, &[Method::Pin], true),
            Vec::<Combination>::new()
        );
        assert!(Attempt::new("x", vec![], t(0), Duration::minutes(1)).is_err());
    }

    #[test]
    fn combinations_are_validated() {
        assert!(Combination::new(vec![]).is_none());
        assert!(Combination::new(vec![Method::Pin, Method::Pin]).is_none());
        assert_eq!(
            combo(&[Method::Matrix, Method::Totp]).label(),
            "matrix+totp"
        );
        let json = serde_json::to_string(&combo(&[Method::HardwareToken, Method::Pin])).unwrap();
        assert_eq!(json, r#"["hardware_token","pin"]"#);
        assert!(serde_json::from_str::<Combination>(r#"["pin","pin"]"#).is_err());
        for m in Method::ALL {
            assert_eq!(Method::parse(m.as_str()), Some(m));
        }
    }

    #[test]
    fn assurance_levels() {
        assert_eq!(
            AuthnContext::from_methods(vec![Method::Matrix], 0).level,
            AssuranceLevel::Single
        );
        assert_eq!(
            AuthnContext::from_methods(vec![Method::Matrix], 0).amr,
            vec!["matrix"]
        );
        assert_eq!(
            AuthnContext::from_methods(vec![Method::Matrix, Method::Pin], 0).level,
            AssuranceLevel::Single
        );
        assert_eq!(
            AuthnContext::from_methods(vec![Method::HardwareToken, Method::Pin], 0).level,
            AssuranceLevel::MultiHardware
        );
    }
}
