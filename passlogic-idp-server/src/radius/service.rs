//! One authenticated Access-Request through the sign-in service.
//!
//! A RADIUS sign-in is a sign-in attempt like a browser's ([`SignIn::start`], then the pipeline's
//! steps through [`SignIn::answer_code`] / [`SignIn::answer_grid`], then [`SignIn::next`]), so the
//! failed-answer counter, lockout, step order and audit trail are the web's. The mapping:
//!
//! - a request without `State` starts an attempt for `User-Name`. When the first step is a code
//!   step (PIN, TOTP, hardware token) the `User-Password` answers it; with the policy's
//!   `pin_with_code_in_one_field` a `PIN` + code password answers both steps at once. When the
//!   first step is the matrix, the password is not used: the grid is sent as a challenge;
//! - each further step is an Access-Challenge: a fresh random `State` (stored as SHA-256,
//!   single use, bound to the attempt, the client and the user name) and a `Reply-Message`
//!   asking for it; for the matrix the message carries the grid as text rows of digits
//!   (blocks separated by a space) and the next `User-Password` is the one-time password;
//! - all steps passed -> Access-Accept with `Class` and `Filter-Id` from the user's policy
//!   (`radius_class`, `radius_filter_id`); the web session the pipeline opens is deleted at once;
//! - anything else -> Access-Reject with one generic `Reply-Message` (the reason is audited).

use std::net::IpAddr;

use passlogic_idp_core::factor::matrix::MatrixChallenge;
use passlogic_idp_core::pipeline::Method;
use passlogic_idp_core::policy::directory::{ServiceKind, ServiceRef};
use passlogic_idp_core::radius::attributes::Attribute;
use passlogic_idp_core::radius::auth::{self, SharedSecret};
use passlogic_idp_core::radius::packet::{Code, Packet};
use serde_json::json;

use crate::signin::{Next, SignIn, StepOutcome};
use crate::store::{AttemptRow, RadiusClientRow, RadiusStateRow};
use crate::tokens::{hash_token, new_token};

/// The Reply-Message of every Access-Reject: never says why.
pub const REJECT_MESSAGE: &str = "Authentication failed";

/// How long the NAS may take to send the answer to a challenge.
const STATE_LIFETIME_SECS: i64 = 300;

/// Bound on pipeline steps handled in one request (a pipeline has at most four).
const MAX_ROUNDS: usize = 8;

/// What to answer.
#[derive(Debug)]
enum Verdict {
    Accept(Vec<Attribute>),
    Challenge { state: String, message: String },
    Reject(&'static str),
}

/// Serves Access-Requests for one tenant through its sign-in service.
#[derive(Clone, Debug)]
pub struct RadiusService {
    /// The sign-in service (store, keyring, clock, tenant).
    pub signin: SignIn,
}

/// The prompt of a challenge for a code step.
fn prompt(method: Method) -> Option<&'static str> {
    match method {
        Method::Pin => Some("Enter your PIN"),
        Method::Totp => Some("Enter the code from your authenticator app"),
        Method::HardwareToken => Some("Enter the code from your hardware token"),
        _ => None,
    }
}

/// The challenge text of a grid: one line of instructions, then one line of digits per row.
pub fn grid_message(challenge: &MatrixChallenge) -> String {
    let mut text = String::from("Enter the digits of your pattern from this grid:\n");
    for row in challenge.grid.text_rows() {
        text.push_str(&row);
        text.push('\n');
    }
    text
}

impl RadiusService {
    /// Answers a verified Access-Request from `client`: the reply datagram.
    pub async fn answer(
        &self,
        request: &Packet,
        secret: &SharedSecret,
        client: &RadiusClientRow,
        ip: IpAddr,
    ) -> anyhow::Result<Vec<u8>> {
        // The end user's address when the gateway reports it as Calling-Station-Id (VPN
        // gateways put the client's public IP there), else the gateway's own: what the access
        // policy's address rules and the audit trail see.
        let source = request
            .calling_station_id()
            .ok()
            .flatten()
            .and_then(|c| c.trim().parse::<IpAddr>().ok())
            .unwrap_or(ip);
        let ip_text = source.to_string();
        let verdict = self.decide(request, secret, client, &ip_text).await?;
        match verdict {
            Verdict::Accept(attrs) => {
                let user = request.user_name().ok().flatten().unwrap_or("");
                self.signin
                    .audit(self.signin.audit_event(
                        user,
                        "radius.accept",
                        user,
                        "success",
                        json!({ "client": client.name }),
                        Some(&ip_text),
                    ))
                    .await;
                auth::build_reply(request, Code::AccessAccept, &attrs, secret)
            }
            Verdict::Challenge { state, message } => {
                auth::build_challenge(request, state.as_bytes(), &message, &[], secret)
            }
            Verdict::Reject(reason) => {
                let user = request.user_name().ok().flatten().unwrap_or("");
                self.signin
                    .audit(self.signin.audit_event(
                        "anonymous",
                        "radius.reject",
                        user,
                        "failure",
                        json!({ "reason": reason, "client": client.name }),
                        Some(&ip_text),
                    ))
                    .await;
                auth::build_reply(
                    request,
                    Code::AccessReject,
                    &[Attribute::reply_message(REJECT_MESSAGE)?],
                    secret,
                )
            }
        }
        .map_err(|e| anyhow::anyhow!("building the RADIUS reply: {e}"))
    }

    async fn decide(
        &self,
        request: &Packet,
        secret: &SharedSecret,
        client: &RadiusClientRow,
        ip: &str,
    ) -> anyhow::Result<Verdict> {
        let Ok(Some(user_name)) = request.user_name() else {
            return Ok(Verdict::Reject("no_user_name"));
        };
        let Ok(Some(hidden)) = request.user_password_hidden() else {
            return Ok(Verdict::Reject("no_user_password"));
        };
        let Ok(password) = auth::unhide_password(hidden, secret, &request.authenticator) else {
            return Ok(Verdict::Reject("bad_user_password"));
        };
        let Ok(password) = std::str::from_utf8(password.expose()).map(str::to_owned) else {
            return Ok(Verdict::Reject("password_not_utf8"));
        };
        let now = self.signin.clock.unix();
        let state = match request.state() {
            Ok(s) => s,
            Err(_) => return Ok(Verdict::Reject("bad_state")),
        };
        match state {
            None => {
                let token = self.signin.start(user_name, "radius", Some(ip)).await?;
                self.drive(&hash_token(&token), user_name, password, true, client, ip)
                    .await
            }
            Some(state) => {
                let state = String::from_utf8_lossy(state);
                let Some(row) = self
                    .signin
                    .store
                    .take_radius_state(&hash_token(&state), self.signin.tenant_id, now)
                    .await?
                else {
                    return Ok(Verdict::Reject("unknown_state"));
                };
                if row.client_name != client.name || row.login_name != user_name {
                    return Ok(Verdict::Reject("state_of_another_client_or_user"));
                }
                self.drive(&row.attempt_id, user_name, password, false, client, ip)
                    .await
            }
        }
    }

    async fn attempt(&self, id: &str) -> anyhow::Result<Option<AttemptRow>> {
        let a = self
            .signin
            .store
            .attempt(id, self.signin.clock.unix())
            .await?;
        Ok(a.filter(|a| a.tenant_id == self.signin.tenant_id))
    }

    /// Walks the pipeline: answers the due step with `password` (once), then challenges for
    /// the next step or finishes.
    async fn drive(
        &self,
        attempt_id: &str,
        user_name: &str,
        password: String,
        first_request: bool,
        client: &RadiusClientRow,
        ip: &str,
    ) -> anyhow::Result<Verdict> {
        let mut password = Some(password);
        for _ in 0..MAX_ROUNDS {
            let Some(attempt) = self.attempt(attempt_id).await? else {
                return Ok(Verdict::Reject("attempt_gone"));
            };
            match self.signin.next(&attempt, Some(ip)).await? {
                Next::Step(method) => {
                    // The first request's password never answers a grid it has not seen.
                    if method == Method::Matrix && first_request {
                        password = None;
                    }
                    if let Some(answer) = password.take() {
                        let outcome = match method {
                            Method::Matrix => {
                                self.signin.answer_grid(&attempt, &answer, Some(ip)).await?
                            }
                            m if prompt(m).is_some() => {
                                self.signin
                                    .answer_code(&attempt, m, &answer, Some(ip))
                                    .await?
                            }
                            _ => return Ok(Verdict::Reject("method_not_available_over_radius")),
                        };
                        if outcome != StepOutcome::Passed {
                            return Ok(Verdict::Reject("step_failed"));
                        }
                        continue;
                    }
                    let message = match method {
                        Method::Matrix => match self.signin.issue_grid(&attempt).await? {
                            Some(grid) => grid_message(&grid),
                            None => return Ok(Verdict::Reject("attempt_gone")),
                        },
                        m => match prompt(m) {
                            Some(p) => p.to_owned(),
                            None => return Ok(Verdict::Reject("method_not_available_over_radius")),
                        },
                    };
                    let state = new_token();
                    self.signin
                        .store
                        .put_radius_state(
                            &hash_token(&state),
                            self.signin.tenant_id,
                            &RadiusStateRow {
                                attempt_id: attempt.id.clone(),
                                client_name: client.name.clone(),
                                login_name: user_name.to_owned(),
                            },
                            self.signin.clock.unix() + STATE_LIFETIME_SECS,
                        )
                        .await?;
                    return Ok(Verdict::Challenge { state, message });
                }
                Next::Choose => {
                    if !self.signin.choose(&attempt, 0).await? {
                        return Ok(Verdict::Reject("choice_failed"));
                    }
                }
                Next::Done { session_token, .. } => {
                    // RADIUS needs no web session (the NAS keeps its own): it only carries the
                    // methods to the access policy, then goes.
                    let session = self.signin.session(&session_token).await?;
                    self.signin
                        .store
                        .delete_session(&hash_token(&session_token))
                        .await?;
                    let user = match attempt.user_id {
                        Some(id) => self.signin.store.user_by_id(id).await?,
                        None => None,
                    };
                    let (Some(session), Some(user)) = (session, user) else {
                        return Ok(Verdict::Reject("attempt_gone"));
                    };
                    let service = ServiceRef::new(ServiceKind::RadiusClient, client.name.clone());
                    if let Some(key) = crate::access::denial_for_session(
                        &self.signin,
                        &user,
                        &session,
                        &service,
                        Some(ip),
                    )
                    .await?
                    {
                        return Ok(Verdict::Reject(key));
                    }
                    return Ok(Verdict::Accept(self.accept_attributes(&attempt).await?));
                }
                Next::PatternChange => return Ok(Verdict::Reject("pattern_change_required")),
                Next::Enrol(_) => return Ok(Verdict::Reject("enrolment_required")),
                Next::Refused(_) => return Ok(Verdict::Reject("refused")),
                Next::Restart => return Ok(Verdict::Reject("attempt_gone")),
            }
        }
        Ok(Verdict::Reject("too_many_steps"))
    }

    /// `Class` and `Filter-Id` from the policy of the attempt's user.
    async fn accept_attributes(&self, attempt: &AttemptRow) -> anyhow::Result<Vec<Attribute>> {
        let policy = self.signin.policy_for(attempt.user_id).await?;
        let mut out = Vec::new();
        if let Some(c) = policy.radius_class.as_deref() {
            out.push(Attribute::class(c.as_bytes())?);
        }
        if let Some(f) = policy.radius_filter_id.as_deref() {
            out.push(Attribute::filter_id(f)?);
        }
        Ok(out)
    }
}
