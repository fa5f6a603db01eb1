//! Single logout across the SPs of a session (front channel, both bindings).
//!
//! Every Response we issue records its SP, NameID and SessionIndex against the session
//! (`saml_session_sps`). A logout then visits every other SP of the session in turn: we send a
//! signed LogoutRequest through the browser (HTTP-Redirect or an auto-POST page, per the SP's
//! SingleLogoutService), the SP's LogoutResponse comes back to `/saml/slo`, and the next SP
//! follows. The chain's state is kept server-side under the ID of the LogoutRequest we sent
//! last (`saml_logouts`), so the LogoutResponse's InResponseTo finds it, once.
//!
//! - **SP-initiated**: the LogoutRequest is validated by the core (registered issuer,
//!   signature when the SP requires or supplies one, Destination, time), its ID is recorded
//!   single use, the sessions in which that SP got an assertion for that NameID (and
//!   SessionIndex, when given) are ended, the other SPs are visited, and the initiator gets a
//!   signed LogoutResponse: Success, or Success/PartialLogout when an SP could not be logged
//!   out (no SLO endpoint, an error status, or a LogoutResponse that failed validation).
//! - **IdP-initiated**: our sign-out (`POST /logout`) does the same for every SP of the
//!   session, then ends at `/login`.
//!
//! Known gaps: no back-channel (SOAP) logout; an SP that never answers leaves the browser at
//! that SP (the chain state expires after 10 minutes); a LogoutRequest for a NameID we have no
//! live session for is answered Success (nothing to end).

use passlogic_idp_core::saml::bindings::InboundMessage;
use passlogic_idp_core::saml::bindings::SamlField;
use passlogic_idp_core::saml::logout::{
    build_logout_request, build_logout_response, peek_in_response_to, validate_logout_request,
    validate_logout_response, LogoutRequest, LogoutStatus, LogoutSubject, Outbound,
};
use passlogic_idp_core::saml::{Binding, SamlError, ServiceProvider};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::SamlService;
use crate::store::{SamlSessionSp, SessionRow};

/// A logout chain is kept this long between two SPs.
const LOGOUT_LIFETIME_SECS: i64 = 10 * 60;
/// A LogoutRequest ID stays recorded this long.
const LOGOUT_ID_RETENTION_SECS: i64 = 3600;

/// What `/saml/slo` and the sign-out answer.
#[derive(Debug)]
pub enum SloOutcome {
    /// Show an error page (400); nothing was changed.
    Page(String),
    /// Send the browser to this URL (HTTP-Redirect binding).
    Redirect(String),
    /// Auto-POST `field` (`SAMLRequest` / `SAMLResponse`) to `url`.
    Post {
        /// The SP's endpoint.
        url: String,
        /// Form field name.
        field: &'static str,
        /// The signed XML.
        xml: String,
        /// RelayState to send along.
        relay_state: Option<String>,
    },
    /// IdP-initiated logout finished: go to the sign-in page.
    Done,
}

/// The SP whose LogoutRequest started the chain (to answer at the end).
#[derive(Serialize, Deserialize)]
struct Initiator {
    entity_id: String,
    request_id: String,
    name_id: String,
    name_id_format: Option<String>,
    session_indexes: Vec<String>,
    relay_state: Option<String>,
    binding: Binding,
}

impl Initiator {
    fn of(r: &LogoutRequest) -> Initiator {
        Initiator {
            entity_id: r.issuer.clone(),
            request_id: r.id.clone(),
            name_id: r.name_id.clone(),
            name_id_format: r.name_id_format.clone(),
            session_indexes: r.session_indexes.clone(),
            relay_state: r.relay_state.clone(),
            binding: r.binding,
        }
    }

    fn request(&self) -> LogoutRequest {
        LogoutRequest {
            id: self.request_id.clone(),
            issuer: self.entity_id.clone(),
            name_id: self.name_id.clone(),
            name_id_format: self.name_id_format.clone(),
            session_indexes: self.session_indexes.clone(),
            relay_state: self.relay_state.clone(),
            binding: self.binding,
            signed: false,
        }
    }
}

/// A logout in progress.
#[derive(Serialize, Deserialize)]
struct Chain {
    initiator: Option<Initiator>,
    /// SPs still to visit.
    remaining: Vec<SamlSessionSp>,
    /// The SP whose LogoutResponse we wait for.
    waiting_for: Option<String>,
    /// Some SP could not be logged out.
    partial: bool,
    /// SPs logged out so far (for the audit).
    done: Vec<String>,
}

fn outcome(o: Outbound, field: &'static str, relay_state: Option<String>) -> SloOutcome {
    match o {
        Outbound::Redirect { url, .. } => SloOutcome::Redirect(url),
        Outbound::Post { url, xml, .. } => SloOutcome::Post {
            url,
            field,
            xml,
            relay_state,
        },
    }
}

impl SamlService {
    async fn audit_slo(&self, actor: &str, subject: &str, ok: bool, detail: serde_json::Value) {
        let outcome = if ok { "success" } else { "failure" };
        self.signin
            .audit(
                self.signin
                    .audit_event(actor, "saml.slo", subject, outcome, detail, None),
            )
            .await;
    }

    /// Records that `sp` got an assertion with this NameID and SessionIndex in session `s`.
    pub(super) async fn record_participant(
        &self,
        s: &SessionRow,
        sp: &ServiceProvider,
        name_id: &str,
        session_index: &str,
    ) -> anyhow::Result<()> {
        let row = SamlSessionSp {
            session_id: s.id.clone(),
            entity_id: sp.entity_id.clone(),
            name_id: name_id.to_owned(),
            name_id_format: sp.name_id_format.clone(),
            session_index: session_index.to_owned(),
        };
        self.store()
            .put_saml_session_sp(
                self.tenant(),
                &row,
                self.now().unix_timestamp(),
                s.expires_at,
            )
            .await
    }

    /// `/saml/slo`: a LogoutRequest from an SP, or an SP's LogoutResponse to ours. `raw` is the
    /// query string (HTTP-Redirect) or the form body (HTTP-POST).
    pub async fn slo(&self, raw: &str, post: bool) -> anyhow::Result<SloOutcome> {
        let limits = &self.idp.limits;
        let decoded = if post {
            InboundMessage::from_post_body(raw, limits)
        } else {
            InboundMessage::from_redirect_query(raw, limits)
        };
        let msg = match decoded {
            Ok(m) => m,
            Err(e) => return Ok(self.refuse_slo("-", &e).await),
        };
        match msg.field {
            SamlField::Request => self.logout_request(&msg).await,
            SamlField::Response => self.logout_response(&msg).await,
        }
    }

    async fn refuse_slo(&self, subject: &str, e: &SamlError) -> SloOutcome {
        self.audit_slo(
            "anonymous",
            subject,
            false,
            json!({ "error": e.to_string() }),
        )
        .await;
        SloOutcome::Page(e.to_string())
    }

    async fn logout_request(&self, msg: &InboundMessage) -> anyhow::Result<SloOutcome> {
        let sps = self.store().saml_sps(self.tenant()).await?;
        let now = self.now();
        let req = match validate_logout_request(msg, &self.idp, &sps, now) {
            Ok(r) => r,
            Err(e) => return Ok(self.refuse_slo("-", &e).await),
        };
        let now_s = now.unix_timestamp();
        if !self
            .store()
            .use_once(
                "saml-logout-request",
                &format!("{}\n{}", req.issuer, req.id),
                now_s + LOGOUT_ID_RETENTION_SECS,
            )
            .await?
        {
            let e = SamlError::Malformed("replayed LogoutRequest ID");
            return Ok(self.refuse_slo(&req.issuer, &e).await);
        }
        let sessions: Vec<SamlSessionSp> = self
            .store()
            .saml_sessions_for(self.tenant(), &req.issuer, &req.name_id, now_s)
            .await?
            .into_iter()
            .filter(|s| {
                req.session_indexes.is_empty() || req.session_indexes.contains(&s.session_index)
            })
            .collect();
        let mut remaining: Vec<SamlSessionSp> = Vec::new();
        for s in &sessions {
            for other in self
                .store()
                .saml_session_sps(self.tenant(), &s.session_id)
                .await?
            {
                if other.entity_id != req.issuer
                    && !remaining.iter().any(|r| r.entity_id == other.entity_id)
                {
                    remaining.push(other);
                }
            }
            self.store().delete_session(&s.session_id).await?;
            self.store()
                .delete_saml_session_sps(self.tenant(), &s.session_id)
                .await?;
        }
        self.audit_slo(
            &req.name_id,
            &req.issuer,
            true,
            json!({
                "request_id": req.id,
                "sessions_ended": sessions.len(),
                "other_sps": remaining.iter().map(|r| r.entity_id.clone()).collect::<Vec<_>>(),
            }),
        )
        .await;
        let chain = Chain {
            initiator: Some(Initiator::of(&req)),
            remaining,
            waiting_for: None,
            partial: false,
            done: Vec::new(),
        };
        self.advance(chain).await
    }

    /// The session ids a LogoutRequest ended are gone from the store; the web layer uses this
    /// to decide whether to clear the browser's cookie.
    pub async fn session_alive(&self, s: &SessionRow) -> anyhow::Result<bool> {
        Ok(self
            .store()
            .session(&s.id, self.now().unix_timestamp())
            .await?
            .is_some())
    }

    async fn logout_response(&self, msg: &InboundMessage) -> anyhow::Result<SloOutcome> {
        let id = match peek_in_response_to(msg, &self.idp) {
            Ok(i) => i,
            Err(e) => return Ok(self.refuse_slo("-", &e).await),
        };
        let now = self.now();
        let Some(data) = self
            .store()
            .take_saml_logout(&id, self.tenant(), now.unix_timestamp())
            .await?
        else {
            let e = SamlError::Malformed("no logout in progress for this LogoutResponse");
            return Ok(self.refuse_slo("-", &e).await);
        };
        let mut chain: Chain = serde_json::from_str(&data)?;
        let waiting = chain.waiting_for.take().unwrap_or_default();
        let sp: Vec<ServiceProvider> = self
            .store()
            .saml_sp(self.tenant(), &waiting)
            .await?
            .into_iter()
            .collect();
        match validate_logout_response(msg, &self.idp, &sp, &id, now) {
            Ok(r) if r.success => chain.done.push(waiting),
            Ok(r) => {
                chain.partial = true;
                self.audit_slo(
                    "anonymous",
                    &waiting,
                    false,
                    json!({ "status": r.status, "sub_status": r.sub_status }),
                )
                .await;
            }
            Err(e) => {
                // The chain goes on (the user wants out everywhere); the initiator hears
                // PartialLogout.
                chain.partial = true;
                self.audit_slo(
                    "anonymous",
                    &waiting,
                    false,
                    json!({ "error": e.to_string() }),
                )
                .await;
            }
        }
        self.advance(chain).await
    }

    /// IdP-initiated logout of every SP of session `s` (called by our sign-out before the
    /// session ends): `None` when no SP got an assertion in it.
    pub async fn logout_session(&self, s: &SessionRow) -> anyhow::Result<Option<SloOutcome>> {
        let sps = self.store().saml_session_sps(self.tenant(), &s.id).await?;
        self.store()
            .delete_saml_session_sps(self.tenant(), &s.id)
            .await?;
        if sps.is_empty() {
            return Ok(None);
        }
        let chain = Chain {
            initiator: None,
            remaining: sps,
            waiting_for: None,
            partial: false,
            done: Vec::new(),
        };
        Ok(Some(self.advance(chain).await?))
    }

    /// Sends the LogoutRequest to the next SP that has an SLO endpoint, or finishes.
    async fn advance(&self, mut chain: Chain) -> anyhow::Result<SloOutcome> {
        let now = self.now();
        while let Some(next) = chain.remaining.pop() {
            let Some(sp) = self.store().saml_sp(self.tenant(), &next.entity_id).await? else {
                chain.partial = true;
                continue;
            };
            let subject = LogoutSubject {
                name_id: next.name_id.clone(),
                name_id_format: next.name_id_format.clone(),
                session_index: Some(next.session_index.clone()),
            };
            let out = match build_logout_request(
                &self.idp,
                self.key().await?.signing_at(now.unix_timestamp()),
                &sp,
                &subject,
                now,
                &mut rand::rngs::OsRng,
            ) {
                Ok(o) => o,
                Err(e) => {
                    // No SingleLogoutService: that SP keeps its session.
                    self.audit_slo(
                        "anonymous",
                        &sp.entity_id,
                        false,
                        json!({ "error": e.to_string() }),
                    )
                    .await;
                    chain.partial = true;
                    continue;
                }
            };
            let id = match &out {
                Outbound::Redirect { id, .. } | Outbound::Post { id, .. } => id.clone(),
            };
            chain.waiting_for = Some(sp.entity_id.clone());
            let now_s = now.unix_timestamp();
            self.store()
                .put_saml_logout(
                    &id,
                    self.tenant(),
                    &serde_json::to_string(&chain)?,
                    now_s,
                    now_s + LOGOUT_LIFETIME_SECS,
                )
                .await?;
            return Ok(outcome(out, "SAMLRequest", None));
        }
        let status = if chain.partial {
            LogoutStatus::PartialLogout
        } else {
            LogoutStatus::Success
        };
        let Some(init) = chain.initiator else {
            self.audit_slo(
                "anonymous",
                "idp-initiated",
                !chain.partial,
                json!({ "logged_out": chain.done }),
            )
            .await;
            return Ok(SloOutcome::Done);
        };
        let Some(sp) = self.store().saml_sp(self.tenant(), &init.entity_id).await? else {
            return Ok(SloOutcome::Page(
                "the service provider is no longer registered".to_owned(),
            ));
        };
        let req = init.request();
        match build_logout_response(
            &self.idp,
            self.key().await?.signing_at(now.unix_timestamp()),
            &sp,
            &req,
            status,
            now,
            &mut rand::rngs::OsRng,
        ) {
            Ok(out) => Ok(outcome(out, "SAMLResponse", req.relay_state.clone())),
            Err(e) => Ok(SloOutcome::Page(format!(
                "signed out, but the service provider cannot be answered: {e}"
            ))),
        }
    }
}
