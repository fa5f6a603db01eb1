//! SAML metadata: our IdP's EntityDescriptor out, an SP's EntityDescriptor in.
//!
//! [`idp_metadata`] publishes IDPSSODescriptor with `WantAuthnRequestsSigned`, one
//! `KeyDescriptor use="signing"` per certificate (the current one and, during rollover, the
//! next), SingleLogoutService and SingleSignOnService for HTTP-Redirect and HTTP-POST and the
//! NameID formats persistent, emailAddress and unspecified; optionally signed (enveloped,
//! first child, RSA-SHA256).
//!
//! [`parse_sp_metadata`] reads SP metadata bytes (fetching them is the server's job) with the
//! strict reader (no DOCTYPE; at most [`MessageLimits::max_metadata`], default 1 MiB) into a
//! [`ServiceProvider`] with defaults: the metadata's emailAddress format if listed (else its
//! first NameIDFormat, else emailAddress), the e-mail address as NameID value, the Assertion
//! signed, `AuthnRequestsSigned` as `want_authn_requests_signed`, signing certificates from
//! KeyDescriptors with `use="signing"` or no `use`, the encryption certificate from
//! `use="encryption"` (which turns assertion encryption on). ACS and SLO endpoints with other
//! bindings than HTTP-Redirect / HTTP-POST are skipped. With an EntitiesDescriptor the first
//! EntityDescriptor that has an SPSSODescriptor is used.

use rand::{CryptoRng, RngCore};
use time::OffsetDateTime;

use super::sp::cert_from_b64;
use super::xml::{Document, NodeId};
use super::{
    attr, b64, child, children, esc, format_instant, nameid_format, new_id, parse_xml, text,
    xml_bool, AcsEndpoint, Binding, Endpoint, IdpSettings, MessageLimits, SamlError,
    ServiceProvider, SigningKey, NS_DS, NS_METADATA,
};
use crate::xmldsig::{self, Placement, SignatureAlgorithm};

/// Our IdP metadata. `certs_der` lists the signing certificates to publish (current first,
/// then the next one during a rollover). With `sign`, the EntityDescriptor gets an `ID` and an
/// enveloped signature as first child.
pub fn idp_metadata<R: RngCore + CryptoRng>(
    idp: &IdpSettings,
    certs_der: &[&[u8]],
    valid_until: Option<OffsetDateTime>,
    sign: Option<&SigningKey>,
    rng: &mut R,
) -> Result<String, SamlError> {
    let id = new_id(rng);
    let mut keys = String::new();
    for c in certs_der {
        keys.push_str(&format!(
            concat!(
                "<md:KeyDescriptor use=\"signing\"><ds:KeyInfo><ds:X509Data>",
                "<ds:X509Certificate>{}</ds:X509Certificate></ds:X509Data></ds:KeyInfo>",
                "</md:KeyDescriptor>"
            ),
            b64(c)
        ));
    }
    let mut slo = String::new();
    for b in [Binding::HttpRedirect, Binding::HttpPost] {
        if let Some(u) = idp.slo_url(b) {
            slo.push_str(&format!(
                "<md:SingleLogoutService Binding=\"{}\" Location=\"{}\"/>",
                b.uri(),
                esc(u)
            ));
        }
    }
    let formats: String = [
        nameid_format::PERSISTENT,
        nameid_format::EMAIL,
        nameid_format::UNSPECIFIED,
    ]
    .iter()
    .map(|f| format!("<md:NameIDFormat>{f}</md:NameIDFormat>"))
    .collect();
    let sso: String = [Binding::HttpRedirect, Binding::HttpPost]
        .iter()
        .map(|b| {
            format!(
                "<md:SingleSignOnService Binding=\"{}\" Location=\"{}\"/>",
                b.uri(),
                esc(idp.sso_url(*b))
            )
        })
        .collect();
    let valid = valid_until
        .map(|t| format!(" validUntil=\"{}\"", format_instant(t)))
        .unwrap_or_default();
    let xml = format!(
        concat!(
            "<md:EntityDescriptor xmlns:md=\"{md}\" xmlns:ds=\"{ds}\" ID=\"{id}\" entityID=\"{eid}\"{valid}>",
            "<md:IDPSSODescriptor protocolSupportEnumeration=\"urn:oasis:names:tc:SAML:2.0:protocol\" ",
            "WantAuthnRequestsSigned=\"{want}\">{keys}{slo}{formats}{sso}</md:IDPSSODescriptor>",
            "</md:EntityDescriptor>"
        ),
        md = NS_METADATA,
        ds = NS_DS,
        id = id,
        eid = esc(&idp.entity_id),
        valid = valid,
        want = idp.want_authn_requests_signed,
        keys = keys,
        slo = slo,
        formats = formats,
        sso = sso,
    );
    match sign {
        None => Ok(xml),
        Some(k) => xmldsig::sign_enveloped(
            &xml,
            &id,
            &k.key,
            Some(&k.cert_der),
            SignatureAlgorithm::RsaSha256,
            Placement::FirstChild,
        )
        .map_err(|e| SamlError::Crypto(e.to_string())),
    }
}

fn md_err(reason: &'static str) -> SamlError {
    SamlError::Metadata(reason)
}

fn find_entity(doc: &Document, node: NodeId, depth: usize) -> Option<NodeId> {
    let e = doc.element(node)?;
    if e.is(NS_METADATA, "EntityDescriptor") {
        return child(doc, node, NS_METADATA, "SPSSODescriptor").map(|_| node);
    }
    if e.is(NS_METADATA, "EntitiesDescriptor") && depth < 8 {
        return doc
            .child_elements(node)
            .into_iter()
            .find_map(|(c, _)| find_entity(doc, c, depth + 1));
    }
    None
}

/// Parse SP metadata into a [`ServiceProvider`] with the defaults described in the
/// [module documentation](self).
pub fn parse_sp_metadata(xml: &str, limits: &MessageLimits) -> Result<ServiceProvider, SamlError> {
    if xml.len() > limits.max_metadata {
        return Err(SamlError::TooLarge {
            limit: limits.max_metadata,
        });
    }
    let doc = parse_xml(xml, limits.max_metadata)?;
    let entity = find_entity(&doc, doc.root, 0).ok_or(md_err("no SP EntityDescriptor"))?;
    let entity_id = attr(&doc, entity, "entityID")
        .filter(|s| !s.trim().is_empty())
        .ok_or(md_err("no entityID"))?
        .to_owned();
    let spsso =
        child(&doc, entity, NS_METADATA, "SPSSODescriptor").ok_or(md_err("no SPSSODescriptor"))?;
    let mut sp = ServiceProvider::new(&entity_id, "");
    sp.acs.clear();
    sp.want_authn_requests_signed = xml_bool(attr(&doc, spsso, "AuthnRequestsSigned"))
        .map_err(|()| md_err("bad AuthnRequestsSigned"))?
        .unwrap_or(false);
    // WantAssertionsSigned: we always sign the assertion by default.
    xml_bool(attr(&doc, spsso, "WantAssertionsSigned"))
        .map_err(|()| md_err("bad WantAssertionsSigned"))?;
    for kd in children(&doc, spsso, NS_METADATA, "KeyDescriptor") {
        let usage = attr(&doc, kd, "use");
        let Some(ki) = child(&doc, kd, NS_DS, "KeyInfo") else {
            continue;
        };
        for xd in children(&doc, ki, NS_DS, "X509Data") {
            for c in children(&doc, xd, NS_DS, "X509Certificate") {
                let raw = text(&doc, c).ok_or(md_err("bad X509Certificate"))?;
                let clean: String = raw.chars().filter(|c| !c.is_ascii_whitespace()).collect();
                cert_from_b64(&clean)?;
                match usage {
                    Some("encryption") => {
                        if sp.encryption_cert.is_none() {
                            sp.encryption_cert = Some(clean);
                        }
                    }
                    Some("signing") | None => sp.signing_certs.push(clean),
                    Some(_) => return Err(md_err("bad KeyDescriptor use")),
                }
            }
        }
    }
    for s in children(&doc, spsso, NS_METADATA, "SingleLogoutService") {
        let Some(binding) = attr(&doc, s, "Binding").and_then(Binding::from_uri) else {
            continue;
        };
        let url =
            attr(&doc, s, "Location").ok_or(md_err("SingleLogoutService without Location"))?;
        sp.slo.push(Endpoint {
            url: url.to_owned(),
            response_url: attr(&doc, s, "ResponseLocation").map(str::to_owned),
            binding,
        });
    }
    let formats: Vec<String> = children(&doc, spsso, NS_METADATA, "NameIDFormat")
        .into_iter()
        .filter_map(|n| text(&doc, n).map(|t| t.trim().to_owned()))
        .collect();
    sp.name_id_format = if formats.iter().any(|f| f == nameid_format::EMAIL) {
        nameid_format::EMAIL.to_owned()
    } else {
        formats
            .first()
            .cloned()
            .unwrap_or_else(|| nameid_format::EMAIL.to_owned())
    };
    for (pos, a) in children(&doc, spsso, NS_METADATA, "AssertionConsumerService")
        .into_iter()
        .enumerate()
    {
        let Some(binding) = attr(&doc, a, "Binding").and_then(Binding::from_uri) else {
            continue;
        };
        let url = attr(&doc, a, "Location").ok_or(md_err("ACS without Location"))?;
        let index = match attr(&doc, a, "index") {
            Some(i) => i.trim().parse().map_err(|_| md_err("bad ACS index"))?,
            None => u16::try_from(pos).unwrap_or(u16::MAX),
        };
        let is_default = xml_bool(attr(&doc, a, "isDefault"))
            .map_err(|()| md_err("bad isDefault"))?
            .unwrap_or(false);
        sp.acs.push(AcsEndpoint {
            url: url.to_owned(),
            binding,
            index,
            is_default,
        });
    }
    if !sp.acs.iter().any(|a| a.binding == Binding::HttpPost) {
        return Err(md_err("no HTTP-POST AssertionConsumerService"));
    }
    Ok(sp)
}
