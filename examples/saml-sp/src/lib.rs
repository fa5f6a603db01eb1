//! A small SAML 2.0 service provider to try passlogic-idp on one machine (and to test it end to
//! end): SP-initiated and IdP-initiated SSO over HTTP-POST, single logout over HTTP-Redirect.
//!
//! - Reads the IdP metadata from `--idp-metadata URL` (entity ID, signing certificate,
//!   Redirect SSO and SLO endpoints). The metadata's own signature is not checked: fetch it
//!   from a URL you trust (here: the IdP on 127.0.0.1).
//! - Prints its own SP metadata (`GET /metadata`, and the file of `--metadata-out`) for
//!   `passlogic-idp sp add --metadata FILE --allow-http-loopback`.
//! - Verifies every Response with passlogic-idp-core's strict XMLDSig verifier (exactly one
//!   signature, IdP key from the metadata only) and reads the assertion from the verified
//!   canonical bytes only: Issuer, Audience, Recipient, NotOnOrAfter, InResponseTo (one of our
//!   outstanding AuthnRequests, or absent for IdP-initiated SSO).
//! - Shows the NameID, its format, the AuthnContextClassRef and the attributes as
//!   `[data-name-id]`, `[data-name-id-format]`, `[data-authn-context]`, `[data-session-index]`,
//!   `[data-attribute="NAME"]` on `/`.
//! - Single logout: `/logout` sends a signed LogoutRequest; `/slo` takes the IdP's signed
//!   LogoutResponse or LogoutRequest (answered with a signed LogoutResponse).
//!
//! Known gaps (it is an example): sessions live in memory; no encrypted assertions; only
//! HTTP-Redirect for SLO; request IDs are not bounded in number.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use anyhow::Context as _;
use axum::extract::{Form, RawQuery, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use clap::Parser;
use openssl::pkey::{PKey, Public};
use passlogic_idp_core::saml::bindings::{redirect_url, InboundMessage, SamlField};
use passlogic_idp_core::saml::{format_instant, new_id, MessageLimits, SigningKey};
use passlogic_idp_core::xmldsig::{self, Limits, VerifyPolicy};
use quick_xml::events::Event;

const REDIRECT: &str = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect";
const POST: &str = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST";
const SUCCESS: &str = "urn:oasis:names:tc:SAML:2.0:status:Success";
const COOKIE: &str = "example_sp_session";

#[derive(Parser, Debug)]
#[command(about = "Example SAML service provider for passlogic-idp")]
struct Args {
    /// The IdP metadata URL, e.g. http://127.0.0.1:8080/saml/metadata.
    #[arg(long, env = "IDP_METADATA")]
    idp_metadata: String,
    /// Listen address (port 0 picks a free port).
    #[arg(long, env = "LISTEN", default_value = "127.0.0.1:9091")]
    listen: String,
    /// Also write the SP metadata to this file.
    #[arg(long)]
    metadata_out: Option<std::path::PathBuf>,
}

/// One parsed element: local name, attributes (local names), text, parent index.
#[derive(Debug, Clone)]
struct Elem {
    local: String,
    attrs: Vec<(String, String)>,
    text: String,
    parent: Option<usize>,
}

impl Elem {
    fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// A flat list of elements in document order. Only used on documents that are either the
/// verified canonical bytes or, for unsigned status checks and metadata, plain lookups.
fn parse(xml: &str) -> anyhow::Result<Vec<Elem>> {
    let mut r = quick_xml::Reader::from_str(xml);
    let mut out: Vec<Elem> = Vec::new();
    let mut stack: Vec<usize> = Vec::new();
    loop {
        match r.read_event()? {
            Event::DocType(_) => anyhow::bail!("DOCTYPE refused"),
            ev @ (Event::Start(_) | Event::Empty(_)) => {
                let (e, empty) = match &ev {
                    Event::Start(e) => (e, false),
                    Event::Empty(e) => (e, true),
                    _ => unreachable!(),
                };
                let local = String::from_utf8(e.local_name().as_ref().to_vec())?;
                let mut attrs = Vec::new();
                for a in e.attributes() {
                    let a = a?;
                    let k = String::from_utf8(a.key.local_name().as_ref().to_vec())?;
                    attrs.push((k, a.unescape_value()?.into_owned()));
                }
                out.push(Elem {
                    local,
                    attrs,
                    text: String::new(),
                    parent: stack.last().copied(),
                });
                if !empty {
                    stack.push(out.len() - 1);
                }
            }
            Event::Text(t) => {
                if let Some(&i) = stack.last() {
                    out[i].text.push_str(&t.unescape()?);
                }
            }
            Event::End(_) => {
                stack.pop();
            }
            Event::Eof => break,
            _ => {}
        }
    }
    Ok(out)
}

fn first<'a>(els: &'a [Elem], local: &str) -> Option<&'a Elem> {
    els.iter().find(|e| e.local == local)
}

/// What the SP knows about its IdP.
#[derive(Debug)]
struct Idp {
    entity_id: String,
    sso: String,
    slo: Option<String>,
    keys: Vec<PKey<Public>>,
}

fn idp_from_metadata(xml: &str) -> anyhow::Result<Idp> {
    let els = parse(xml)?;
    let entity_id = first(&els, "EntityDescriptor")
        .and_then(|e| e.attr("entityID"))
        .context("no entityID")?
        .to_owned();
    let endpoint = |local: &str| {
        els.iter()
            .find(|e| e.local == local && e.attr("Binding") == Some(REDIRECT))
            .and_then(|e| e.attr("Location"))
            .map(str::to_owned)
    };
    let sso = endpoint("SingleSignOnService").context("no Redirect SSO endpoint")?;
    let slo = endpoint("SingleLogoutService");
    let mut keys = Vec::new();
    for e in &els {
        if e.local != "X509Certificate" {
            continue;
        }
        // Only certificates of KeyDescriptors for signing (or without `use`).
        let mut p = e.parent;
        let mut ok = false;
        while let Some(j) = p {
            if els[j].local == "KeyDescriptor" {
                ok = els[j].attr("use") != Some("encryption");
                break;
            }
            p = els[j].parent;
        }
        if ok {
            let der = STANDARD.decode(e.text.split_whitespace().collect::<String>())?;
            keys.push(openssl::x509::X509::from_der(&der)?.public_key()?);
        }
    }
    anyhow::ensure!(
        !keys.is_empty(),
        "no signing certificate in the IdP metadata"
    );
    Ok(Idp {
        entity_id,
        sso,
        slo,
        keys,
    })
}

/// A signed-in user as the SP saw the assertion.
#[derive(Debug, Clone)]
struct Seen {
    name_id: String,
    name_id_format: String,
    session_index: String,
    authn_context: String,
    attributes: Vec<(String, Vec<String>)>,
    in_response_to: Option<String>,
}

struct App {
    base: String,
    entity_id: String,
    idp: Idp,
    key: SigningKey,
    cert_b64: String,
    limits: MessageLimits,
    outstanding: Mutex<HashSet<String>>,
    logouts: Mutex<HashSet<String>>,
    sessions: Mutex<HashMap<String, Seen>>,
}

impl std::fmt::Debug for App {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("App")
            .field("entity_id", &self.entity_id)
            .finish_non_exhaustive()
    }
}

impl App {
    fn acs(&self) -> String {
        format!("{}/acs", self.base)
    }

    fn metadata(&self) -> String {
        format!(
            concat!(
                "<md:EntityDescriptor xmlns:md=\"urn:oasis:names:tc:SAML:2.0:metadata\" ",
                "xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\" entityID=\"{e}\">",
                "<md:SPSSODescriptor protocolSupportEnumeration=\"urn:oasis:names:tc:SAML:2.0:protocol\" ",
                "AuthnRequestsSigned=\"false\" WantAssertionsSigned=\"true\">",
                "<md:KeyDescriptor use=\"signing\"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>{c}",
                "</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>",
                "<md:SingleLogoutService Binding=\"{r}\" Location=\"{b}/slo\"/>",
                "<md:NameIDFormat>urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress</md:NameIDFormat>",
                "<md:AssertionConsumerService Binding=\"{p}\" Location=\"{b}/acs\" index=\"0\" isDefault=\"true\"/>",
                "</md:SPSSODescriptor></md:EntityDescriptor>\n"
            ),
            e = esc(&self.entity_id),
            c = self.cert_b64,
            r = REDIRECT,
            p = POST,
            b = esc(&self.base),
        )
    }

    fn session(&self, headers: &HeaderMap) -> Option<(String, Seen)> {
        let id = cookie(headers)?;
        let s = self.sessions.lock().ok()?.get(&id).cloned()?;
        Some((id, s))
    }
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn cookie(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|c| {
            c.trim()
                .strip_prefix(&format!("{COOKIE}="))
                .map(str::to_owned)
        })
}

fn page(status: StatusCode, body: String) -> Response {
    (
        status,
        Html(format!(
            "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>Example SAML SP</title>\
             </head><body>{body}</body></html>"
        )),
    )
        .into_response()
}

fn refuse(why: impl std::fmt::Display) -> Response {
    page(
        StatusCode::BAD_REQUEST,
        format!("<p data-sp-error>{}</p>", esc(&why.to_string())),
    )
}

async fn home(State(app): State<Arc<App>>, headers: HeaderMap) -> Response {
    let Some((_, s)) = app.session(&headers) else {
        return page(
            StatusCode::OK,
            "<p data-signed-out>Not signed in. <a href=\"/login\">Sign in</a></p>".to_owned(),
        );
    };
    let mut attrs = String::new();
    for (name, values) in &s.attributes {
        attrs.push_str(&format!(
            "<li data-attribute=\"{}\">{}</li>",
            esc(name),
            esc(&values.join(", "))
        ));
    }
    page(
        StatusCode::OK,
        format!(
            "<p>NameID <b data-name-id>{}</b> (<span data-name-id-format>{}</span>)</p>\
             <p>AuthnContext <b data-authn-context>{}</b></p>\
             <p>SessionIndex <span data-session-index>{}</span></p>\
             <p>InResponseTo <span data-in-response-to>{}</span></p>\
             <ul>{attrs}</ul><p><a href=\"/logout\">Sign out (single logout)</a></p>",
            esc(&s.name_id),
            esc(&s.name_id_format),
            esc(&s.authn_context),
            esc(&s.session_index),
            esc(s.in_response_to.as_deref().unwrap_or("(IdP-initiated)")),
        ),
    )
}

async fn metadata(State(app): State<Arc<App>>) -> Response {
    (
        [(header::CONTENT_TYPE, "application/samlmetadata+xml")],
        app.metadata(),
    )
        .into_response()
}

async fn login(State(app): State<Arc<App>>) -> Response {
    let id = new_id(&mut rand::rngs::OsRng);
    let xml = format!(
        concat!(
            "<samlp:AuthnRequest xmlns:samlp=\"urn:oasis:names:tc:SAML:2.0:protocol\" ",
            "xmlns:saml=\"urn:oasis:names:tc:SAML:2.0:assertion\" ID=\"{id}\" Version=\"2.0\" ",
            "IssueInstant=\"{now}\" Destination=\"{dest}\" AssertionConsumerServiceURL=\"{acs}\" ",
            "ProtocolBinding=\"{p}\"><saml:Issuer>{iss}</saml:Issuer></samlp:AuthnRequest>"
        ),
        id = id,
        now = format_instant(time::OffsetDateTime::now_utc()),
        dest = esc(&app.idp.sso),
        acs = esc(&app.acs()),
        p = POST,
        iss = esc(&app.entity_id),
    );
    match redirect_url(&app.idp.sso, SamlField::Request, &xml, Some("/"), None) {
        Ok(url) => {
            if let Ok(mut o) = app.outstanding.lock() {
                o.insert(id);
            }
            Redirect::to(&url).into_response()
        }
        Err(e) => refuse(e),
    }
}

/// Checks a Response and reads the assertion from the verified bytes.
fn check_response(app: &App, xml: &str) -> anyhow::Result<Seen> {
    // The status is read before verification only to explain a refusal (an error Response
    // carries no assertion); nothing from it is trusted.
    let raw = parse(xml)?;
    let status = first(&raw, "StatusCode")
        .and_then(|e| e.attr("Value"))
        .unwrap_or("");
    anyhow::ensure!(status == SUCCESS, "the IdP answered with status {status}");
    let verified = xmldsig::verify_enveloped(
        xml,
        &app.idp.keys,
        &VerifyPolicy::default(),
        &Limits::default(),
    )
    .map_err(|e| anyhow::anyhow!("signature: {e}"))?;
    let els = parse(verified.canonical_str())?;
    let assertions = els.iter().filter(|e| e.local == "Assertion").count();
    anyhow::ensure!(assertions == 1, "expected exactly one signed Assertion");
    let text = |l: &str| first(&els, l).map(|e| e.text.trim().to_owned());
    let issuer = els
        .iter()
        .find(|e| e.local == "Issuer" && e.parent.is_some_and(|p| els[p].local == "Assertion"))
        .map(|e| e.text.trim().to_owned());
    anyhow::ensure!(
        issuer.as_deref() == Some(app.idp.entity_id.as_str()),
        "wrong assertion Issuer"
    );
    anyhow::ensure!(
        text("Audience").as_deref() == Some(app.entity_id.as_str()),
        "not for this audience"
    );
    let scd = first(&els, "SubjectConfirmationData").context("no SubjectConfirmationData")?;
    anyhow::ensure!(
        scd.attr("Recipient") == Some(app.acs().as_str()),
        "wrong Recipient"
    );
    let now = time::OffsetDateTime::now_utc();
    let fmt = &time::format_description::well_known::Rfc3339;
    let noa = scd
        .attr("NotOnOrAfter")
        .and_then(|t| time::OffsetDateTime::parse(t, fmt).ok())
        .context("no NotOnOrAfter")?;
    anyhow::ensure!(now < noa + time::Duration::seconds(60), "assertion expired");
    if let Some(nb) = first(&els, "Conditions")
        .and_then(|c| c.attr("NotBefore"))
        .and_then(|t| time::OffsetDateTime::parse(t, fmt).ok())
    {
        anyhow::ensure!(
            now + time::Duration::seconds(60) >= nb,
            "assertion not yet valid"
        );
    }
    let in_response_to = scd.attr("InResponseTo").map(str::to_owned);
    if let Some(irt) = &in_response_to {
        let known = app
            .outstanding
            .lock()
            .map(|mut o| o.remove(irt))
            .unwrap_or(false);
        anyhow::ensure!(
            known,
            "InResponseTo is not one of our requests (or used twice)"
        );
    }
    let name_id = first(&els, "NameID").context("no NameID")?;
    let mut attributes = Vec::new();
    for (i, a) in els.iter().enumerate() {
        if a.local == "Attribute" {
            let values = els
                .iter()
                .filter(|v| v.local == "AttributeValue" && v.parent == Some(i))
                .map(|v| v.text.clone())
                .collect();
            attributes.push((a.attr("Name").unwrap_or_default().to_owned(), values));
        }
    }
    Ok(Seen {
        name_id: name_id.text.trim().to_owned(),
        name_id_format: name_id.attr("Format").unwrap_or_default().to_owned(),
        session_index: first(&els, "AuthnStatement")
            .and_then(|e| e.attr("SessionIndex"))
            .unwrap_or_default()
            .to_owned(),
        authn_context: text("AuthnContextClassRef").unwrap_or_default(),
        attributes,
        in_response_to,
    })
}

async fn acs(State(app): State<Arc<App>>, Form(form): Form<HashMap<String, String>>) -> Response {
    let Some(value) = form.get("SAMLResponse") else {
        return refuse("no SAMLResponse");
    };
    let msg = match InboundMessage::from_post_field(
        SamlField::Response,
        value,
        form.get("RelayState").map(String::as_str),
        &app.limits,
    ) {
        Ok(m) => m,
        Err(e) => return refuse(e),
    };
    match check_response(&app, &msg.xml) {
        Ok(seen) => {
            let id = new_id(&mut rand::rngs::OsRng);
            if let Ok(mut s) = app.sessions.lock() {
                s.insert(id.clone(), seen);
            }
            (
                StatusCode::SEE_OTHER,
                [
                    (
                        header::SET_COOKIE,
                        format!("{COOKIE}={id}; Path=/; HttpOnly; SameSite=Lax"),
                    ),
                    (header::LOCATION, "/".to_owned()),
                ],
            )
                .into_response()
        }
        Err(e) => refuse(format!("{e:#}")),
    }
}

async fn logout(State(app): State<Arc<App>>, headers: HeaderMap) -> Response {
    let (Some((_, s)), Some(slo)) = (app.session(&headers), app.idp.slo.clone()) else {
        return Redirect::to("/").into_response();
    };
    let id = new_id(&mut rand::rngs::OsRng);
    let xml = format!(
        concat!(
            "<samlp:LogoutRequest xmlns:samlp=\"urn:oasis:names:tc:SAML:2.0:protocol\" ",
            "xmlns:saml=\"urn:oasis:names:tc:SAML:2.0:assertion\" ID=\"{id}\" Version=\"2.0\" ",
            "IssueInstant=\"{now}\" Destination=\"{dest}\"><saml:Issuer>{iss}</saml:Issuer>",
            "<saml:NameID Format=\"{fmt}\">{nid}</saml:NameID>",
            "<samlp:SessionIndex>{si}</samlp:SessionIndex></samlp:LogoutRequest>"
        ),
        id = id,
        now = format_instant(time::OffsetDateTime::now_utc()),
        dest = esc(&slo),
        iss = esc(&app.entity_id),
        fmt = esc(&s.name_id_format),
        nid = esc(&s.name_id),
        si = esc(&s.session_index),
    );
    match redirect_url(&slo, SamlField::Request, &xml, None, Some(&app.key)) {
        Ok(url) => {
            if let Ok(mut l) = app.logouts.lock() {
                l.insert(id);
            }
            Redirect::to(&url).into_response()
        }
        Err(e) => refuse(e),
    }
}

/// `GET /slo`: the IdP's LogoutResponse (to our `/logout`) or its LogoutRequest.
async fn slo(State(app): State<Arc<App>>, headers: HeaderMap, RawQuery(q): RawQuery) -> Response {
    let msg = match InboundMessage::from_redirect_query(q.as_deref().unwrap_or(""), &app.limits) {
        Ok(m) => m,
        Err(e) => return refuse(e),
    };
    let Some(sig) = &msg.redirect_signature else {
        return refuse("unsigned logout message");
    };
    if let Err(e) = xmldsig::verify_detached_redirect(
        sig.signed_part.as_bytes(),
        &sig.sig_alg,
        &sig.signature,
        &app.idp.keys,
        &VerifyPolicy::default(),
    ) {
        return refuse(format!("signature: {e}"));
    }
    let els = match parse(&msg.xml) {
        Ok(e) => e,
        Err(e) => return refuse(e),
    };
    let root = match els.first() {
        Some(r) => r,
        None => return refuse("empty message"),
    };
    let issuer = first(&els, "Issuer").map(|e| e.text.trim().to_owned());
    if issuer.as_deref() != Some(app.idp.entity_id.as_str()) {
        return refuse("wrong Issuer");
    }
    if root.attr("Destination") != Some(format!("{}/slo", app.base).as_str()) {
        return refuse("wrong Destination");
    }
    match (msg.field, root.local.as_str()) {
        (SamlField::Response, "LogoutResponse") => {
            let irt = root.attr("InResponseTo").unwrap_or_default().to_owned();
            let known = app
                .logouts
                .lock()
                .map(|mut l| l.remove(&irt))
                .unwrap_or(false);
            if !known {
                return refuse("LogoutResponse to no request of ours");
            }
            let status = first(&els, "StatusCode")
                .and_then(|e| e.attr("Value"))
                .unwrap_or("")
                .to_owned();
            if let (Some(id), Ok(mut s)) = (cookie(&headers), app.sessions.lock()) {
                s.remove(&id);
            }
            page(
                StatusCode::OK,
                format!(
                    "<p data-logged-out data-status=\"{}\">Signed out everywhere.</p>",
                    esc(&status)
                ),
            )
        }
        (SamlField::Request, "LogoutRequest") => {
            let Some(slo) = app.idp.slo.clone() else {
                return refuse("the IdP has no SingleLogoutService");
            };
            let name_id = first(&els, "NameID")
                .map(|e| e.text.trim().to_owned())
                .unwrap_or_default();
            let indexes: Vec<String> = els
                .iter()
                .filter(|e| e.local == "SessionIndex")
                .map(|e| e.text.trim().to_owned())
                .collect();
            if let Ok(mut s) = app.sessions.lock() {
                s.retain(|_, v| {
                    !(v.name_id == name_id
                        && (indexes.is_empty() || indexes.contains(&v.session_index)))
                });
            }
            let xml = format!(
                concat!(
                    "<samlp:LogoutResponse xmlns:samlp=\"urn:oasis:names:tc:SAML:2.0:protocol\" ",
                    "xmlns:saml=\"urn:oasis:names:tc:SAML:2.0:assertion\" ID=\"{id}\" Version=\"2.0\" ",
                    "IssueInstant=\"{now}\" Destination=\"{dest}\" InResponseTo=\"{irt}\">",
                    "<saml:Issuer>{iss}</saml:Issuer><samlp:Status><samlp:StatusCode Value=\"{ok}\"/>",
                    "</samlp:Status></samlp:LogoutResponse>"
                ),
                id = new_id(&mut rand::rngs::OsRng),
                now = format_instant(time::OffsetDateTime::now_utc()),
                dest = esc(&slo),
                irt = esc(root.attr("ID").unwrap_or_default()),
                iss = esc(&app.entity_id),
                ok = SUCCESS,
            );
            match redirect_url(
                &slo,
                SamlField::Response,
                &xml,
                msg.relay_state.as_deref(),
                Some(&app.key),
            ) {
                Ok(url) => Redirect::to(&url).into_response(),
                Err(e) => refuse(e),
            }
        }
        _ => refuse("not a logout message"),
    }
}

fn signing_key() -> anyhow::Result<SigningKey> {
    use openssl::asn1::Asn1Time;
    use openssl::hash::MessageDigest;
    use openssl::x509::{X509Builder, X509NameBuilder};
    let key = PKey::from_rsa(openssl::rsa::Rsa::generate(2048)?)?;
    let mut n = X509NameBuilder::new()?;
    n.append_entry_by_text("CN", "passlogic example SAML SP")?;
    let n = n.build();
    let mut b = X509Builder::new()?;
    b.set_version(2)?;
    let serial = openssl::bn::BigNum::from_u32(1)?.to_asn1_integer()?;
    b.set_serial_number(&serial)?;
    b.set_subject_name(&n)?;
    b.set_issuer_name(&n)?;
    b.set_pubkey(&key)?;
    let (from, until) = (Asn1Time::days_from_now(0)?, Asn1Time::days_from_now(365)?);
    b.set_not_before(&from)?;
    b.set_not_after(&until)?;
    b.sign(&key, MessageDigest::sha256())?;
    Ok(SigningKey {
        key,
        cert_der: b.build().to_der()?,
    })
}

/// Parses the command line and serves until killed (the binary's `main`; the end-to-end tests
/// build the same program under another name).
pub fn run() -> anyhow::Result<()> {
    let args = Args::parse();
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?
        .block_on(serve(args))
}

async fn serve(args: Args) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(&args.listen)
        .await
        .with_context(|| format!("listening on {}", args.listen))?;
    let base = format!("http://{}", listener.local_addr()?);
    println!("listening: {base}");
    let md = reqwest::get(&args.idp_metadata)
        .await
        .and_then(reqwest::Response::error_for_status)
        .with_context(|| format!("fetching {}", args.idp_metadata))?
        .text()
        .await?;
    let idp = idp_from_metadata(&md).context("reading the IdP metadata")?;
    let key = signing_key()?;
    let app = Arc::new(App {
        entity_id: format!("{base}/metadata"),
        cert_b64: STANDARD.encode(&key.cert_der),
        base: base.clone(),
        idp,
        key,
        limits: MessageLimits::default(),
        outstanding: Mutex::new(HashSet::new()),
        logouts: Mutex::new(HashSet::new()),
        sessions: Mutex::new(HashMap::new()),
    });
    println!("entity-id: {}", app.entity_id);
    if let Some(path) = &args.metadata_out {
        std::fs::write(path, app.metadata())
            .with_context(|| format!("writing {}", path.display()))?;
        println!("sp-metadata: {}", path.display());
    }
    println!("register: passlogic-idp sp add --metadata FILE --allow-http-loopback");
    println!("ready: {base}");
    let router = Router::new()
        .route("/", get(home))
        .route("/metadata", get(metadata))
        .route("/login", get(login))
        .route("/acs", post(acs))
        .route("/logout", get(logout))
        .route("/slo", get(slo))
        .with_state(app);
    axum::serve(listener, router).await?;
    Ok(())
}
