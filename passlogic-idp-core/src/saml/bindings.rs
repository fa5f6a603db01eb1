//! The SAML HTTP-Redirect and HTTP-POST bindings: decoding what arrives (bounded), encoding
//! what we send.
//!
//! Inbound:
//! - [`InboundMessage::from_redirect_query`] takes the *raw* query string (still
//!   percent-encoded). The value is size-checked before decoding, base64-decoded and inflated
//!   (raw DEFLATE) through a reader that stops at [`MessageLimits::max_inflated`]. The signed part of
//!   a query signature is rebuilt from the raw bytes as received, in the order
//!   `SAMLRequest`/`SAMLResponse`, `RelayState`, `SigAlg` (never re-encoded: an SP that
//!   percent-encodes in lower case must still verify).
//! - [`InboundMessage::from_post_form`] / [`InboundMessage::from_post_body`]: base64 only, never
//!   inflated.
//! - RelayState is returned exactly as decoded, never trimmed or altered; values longer than
//!   [`MessageLimits::max_relay_state`] (default 1024 bytes, more lenient than the spec's 80) are
//!   refused.
//!
//! Outbound:
//! - [`post_form_html`] renders an HTML page with a plain form and a submit button and **no
//!   inline script**, so it works under a strict Content-Security-Policy. The server makes it
//!   auto-submit by adding an external (or nonce'd) script such as
//!   `document.getElementById("saml-post").submit()`; without script the user presses the
//!   button.
//! - [`redirect_url`] deflates, base64-encodes and percent-encodes a message and, with a key,
//!   appends an RSA-SHA256 query signature over the exact bytes of
//!   `SAMLRequest=…&RelayState=…&SigAlg=…` (used for LogoutRequest / LogoutResponse).

use std::io::{Read, Write};

use flate2::read::DeflateDecoder;
use flate2::write::DeflateEncoder;
use flate2::Compression;
use openssl::hash::MessageDigest;
use openssl::sign::Signer;

use super::{b64, b64_decode_lenient, esc, Binding, MessageLimits, SamlError, SigningKey};

/// RSA-SHA256 SignatureMethod / SigAlg URI.
pub const RSA_SHA256: &str = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256";

/// Which form / query field a message travels in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SamlField {
    /// `SAMLRequest`
    Request,
    /// `SAMLResponse`
    Response,
}

impl SamlField {
    /// The parameter name.
    pub fn name(self) -> &'static str {
        match self {
            SamlField::Request => "SAMLRequest",
            SamlField::Response => "SAMLResponse",
        }
    }
}

/// The detached signature of an HTTP-Redirect message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedirectSignature {
    /// The exact signed bytes: `SAMLRequest=<raw>[&RelayState=<raw>]&SigAlg=<raw>`.
    pub signed_part: String,
    /// URL-decoded `SigAlg`.
    pub sig_alg: String,
    /// URL-decoded `Signature` (base64).
    pub signature: String,
}

/// A decoded inbound SAML message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboundMessage {
    /// The binding it arrived with.
    pub binding: Binding,
    /// Request or response field.
    pub field: SamlField,
    /// The XML (UTF-8), not yet parsed.
    pub xml: String,
    /// RelayState exactly as received (after URL decoding).
    pub relay_state: Option<String>,
    /// The query signature (HTTP-Redirect only).
    pub redirect_signature: Option<RedirectSignature>,
}

impl InboundMessage {
    /// Decode an HTTP-Redirect message from the raw query string (without `?`).
    ///
    /// Errors: repeated or conflicting parameters, `Signature` without `SigAlg` (or the
    /// reverse), a value longer than [`MessageLimits::max_redirect_value`] (before decoding), broken
    /// percent-encoding / base64 / DEFLATE / UTF-8, inflation past [`MessageLimits::max_inflated`],
    /// RelayState longer than [`MessageLimits::max_relay_state`].
    pub fn from_redirect_query(raw_query: &str, limits: &MessageLimits) -> Result<Self, SamlError> {
        // A bound on the whole query before looking at it.
        let total_cap = limits
            .max_redirect_value
            .saturating_add(limits.max_relay_state.saturating_mul(3))
            .saturating_add(4096);
        if raw_query.len() > total_cap {
            return Err(SamlError::TooLarge { limit: total_cap });
        }
        let mut msg: Option<(SamlField, &str)> = None;
        let mut relay: Option<&str> = None;
        let mut sig_alg: Option<&str> = None;
        let mut signature: Option<&str> = None;
        for pair in raw_query.split('&').filter(|p| !p.is_empty()) {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            let slot = match name {
                "SAMLRequest" | "SAMLResponse" => {
                    if msg.is_some() {
                        return Err(SamlError::Encoding("repeated SAML message parameter"));
                    }
                    let f = if name == "SAMLRequest" {
                        SamlField::Request
                    } else {
                        SamlField::Response
                    };
                    msg = Some((f, value));
                    continue;
                }
                "RelayState" => &mut relay,
                "SigAlg" => &mut sig_alg,
                "Signature" => &mut signature,
                _ => continue,
            };
            if slot.is_some() {
                return Err(SamlError::Encoding("repeated parameter"));
            }
            *slot = Some(value);
        }
        let (field, raw_value) = msg.ok_or(SamlError::Encoding("no SAMLRequest/SAMLResponse"))?;
        if raw_value.len() > limits.max_redirect_value {
            return Err(SamlError::TooLarge {
                limit: limits.max_redirect_value,
            });
        }
        let relay_state = relay.map(|r| decode_relay_state(r, limits)).transpose()?;
        let redirect_signature = match (sig_alg, signature) {
            (None, None) => None,
            (Some(alg), Some(sig)) => {
                let mut signed_part = format!("{}={raw_value}", field.name());
                if let Some(r) = relay {
                    signed_part.push_str("&RelayState=");
                    signed_part.push_str(r);
                }
                signed_part.push_str("&SigAlg=");
                signed_part.push_str(alg);
                Some(RedirectSignature {
                    signed_part,
                    sig_alg: utf8(percent_decode(alg)?)?,
                    signature: utf8(percent_decode(sig)?)?,
                })
            }
            _ => {
                return Err(SamlError::Encoding(
                    "SigAlg and Signature must come together",
                ))
            }
        };
        let b64v = utf8(percent_decode(raw_value)?)?;
        let deflated = b64_decode_lenient(&b64v).ok_or(SamlError::Encoding("bad base64"))?;
        let xml = utf8(inflate_capped(&deflated, limits.max_inflated)?)?;
        Ok(InboundMessage {
            binding: Binding::HttpRedirect,
            field,
            xml,
            relay_state,
            redirect_signature,
        })
    }

    /// Decode an HTTP-POST `SAMLRequest` from the (already form-decoded) field value. No
    /// inflation. Use [`InboundMessage::from_post_field`] for a `SAMLResponse`.
    pub fn from_post_form(
        value: &str,
        relay_state: Option<&str>,
        limits: &MessageLimits,
    ) -> Result<Self, SamlError> {
        Self::from_post_field(SamlField::Request, value, relay_state, limits)
    }

    /// Like [`InboundMessage::from_post_form`] for an explicit field.
    pub fn from_post_field(
        field: SamlField,
        value: &str,
        relay_state: Option<&str>,
        limits: &MessageLimits,
    ) -> Result<Self, SamlError> {
        if value.len() > limits.max_post_value {
            return Err(SamlError::TooLarge {
                limit: limits.max_post_value,
            });
        }
        if let Some(r) = relay_state {
            if r.len() > limits.max_relay_state {
                return Err(SamlError::RelayStateTooLong {
                    limit: limits.max_relay_state,
                });
            }
        }
        let raw = b64_decode_lenient(value).ok_or(SamlError::Encoding("bad base64"))?;
        Ok(InboundMessage {
            binding: Binding::HttpPost,
            field,
            xml: utf8(raw)?,
            relay_state: relay_state.map(str::to_owned),
            redirect_signature: None,
        })
    }

    /// Decode an HTTP-POST message from the raw `application/x-www-form-urlencoded` body;
    /// repeated or conflicting SAML parameters are refused.
    pub fn from_post_body(raw_body: &str, limits: &MessageLimits) -> Result<Self, SamlError> {
        let cap = limits
            .max_post_value
            .saturating_mul(2)
            .saturating_add(limits.max_relay_state.saturating_mul(3))
            .saturating_add(4096);
        if raw_body.len() > cap {
            return Err(SamlError::TooLarge { limit: cap });
        }
        let mut msg: Option<(SamlField, &str)> = None;
        let mut relay: Option<&str> = None;
        for pair in raw_body.split('&').filter(|p| !p.is_empty()) {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            match name {
                "SAMLRequest" | "SAMLResponse" => {
                    if msg.is_some() {
                        return Err(SamlError::Encoding("repeated SAML message parameter"));
                    }
                    let f = if name == "SAMLRequest" {
                        SamlField::Request
                    } else {
                        SamlField::Response
                    };
                    msg = Some((f, value));
                }
                "RelayState" if relay.replace(value).is_some() => {
                    return Err(SamlError::Encoding("repeated parameter"));
                }
                _ => {}
            }
        }
        let (field, raw) = msg.ok_or(SamlError::Encoding("no SAMLRequest/SAMLResponse"))?;
        if raw.len() > limits.max_post_value.saturating_mul(3) {
            return Err(SamlError::TooLarge {
                limit: limits.max_post_value,
            });
        }
        let value = utf8(percent_decode(raw)?)?;
        let relay_state = relay.map(|r| decode_relay_state(r, limits)).transpose()?;
        Self::from_post_field(field, &value, relay_state.as_deref(), limits)
    }
}

fn decode_relay_state(raw: &str, limits: &MessageLimits) -> Result<String, SamlError> {
    if raw.len() > limits.max_relay_state.saturating_mul(3) {
        return Err(SamlError::RelayStateTooLong {
            limit: limits.max_relay_state,
        });
    }
    let v = utf8(percent_decode(raw)?)?;
    if v.len() > limits.max_relay_state {
        return Err(SamlError::RelayStateTooLong {
            limit: limits.max_relay_state,
        });
    }
    Ok(v)
}

fn utf8(b: Vec<u8>) -> Result<String, SamlError> {
    String::from_utf8(b).map_err(|_| SamlError::Encoding("not UTF-8"))
}

/// Inflate raw DEFLATE data, refusing output longer than `cap` bytes (stops reading there).
pub fn inflate_capped(data: &[u8], cap: usize) -> Result<Vec<u8>, SamlError> {
    let mut out = Vec::new();
    let limit = u64::try_from(cap).unwrap_or(u64::MAX).saturating_add(1);
    DeflateDecoder::new(data)
        .take(limit)
        .read_to_end(&mut out)
        .map_err(|_| SamlError::Encoding("bad DEFLATE data"))?;
    if out.len() > cap {
        return Err(SamlError::InflateTooLarge { limit: cap });
    }
    Ok(out)
}

/// Raw DEFLATE (RFC 1951), as the Redirect binding uses.
pub fn deflate(data: &[u8]) -> Vec<u8> {
    let mut e = DeflateEncoder::new(Vec::new(), Compression::default());
    // Writing to a Vec cannot fail.
    let _ = e.write_all(data);
    e.finish().unwrap_or_default()
}

/// Percent-decode (`+` is a space, as in form encoding).
pub fn percent_decode(s: &str) -> Result<Vec<u8>, SamlError> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while let Some(&c) = b.get(i) {
        match c {
            b'%' => {
                let h = b
                    .get(i + 1..i + 3)
                    .and_then(|h| std::str::from_utf8(h).ok())
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                    .ok_or(SamlError::Encoding("bad percent-encoding"))?;
                out.push(h);
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            _ => {
                out.push(c);
                i += 1;
            }
        }
    }
    Ok(out)
}

/// Percent-encode everything except the RFC 3986 unreserved characters (upper-case hex).
pub fn percent_encode(s: &str) -> String {
    let mut o = String::with_capacity(s.len() * 3);
    for &c in s.as_bytes() {
        if c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.' | b'~') {
            o.push(char::from(c));
        } else {
            o.push_str(&format!("%{c:02X}"));
        }
    }
    o
}

/// An HTML page that POSTs `xml` (base64) and RelayState to `action`.
///
/// No inline script (strict CSP): the form has `id="saml-post"` and a submit button; the server
/// adds an external or nonce'd script that submits it. All values are HTML-escaped.
pub fn post_form_html(
    action: &str,
    field: SamlField,
    xml: &str,
    relay_state: Option<&str>,
) -> String {
    let relay = relay_state
        .map(|r| {
            format!(
                "<input type=\"hidden\" name=\"RelayState\" value=\"{}\"/>",
                esc(r)
            )
        })
        .unwrap_or_default();
    format!(
        concat!(
            "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>Signing in…</title></head>",
            "<body><form id=\"saml-post\" method=\"post\" action=\"{action}\">",
            "<input type=\"hidden\" name=\"{name}\" value=\"{value}\"/>{relay}",
            "<button type=\"submit\">Continue</button></form></body></html>\n"
        ),
        action = esc(action),
        name = field.name(),
        value = b64(xml.as_bytes()),
        relay = relay,
    )
}

/// The URL for sending `xml` by HTTP-Redirect to `location`: DEFLATE, base64, percent-encoding,
/// and with `key` an RSA-SHA256 query signature over the exact encoded
/// `SAMLRequest=…&RelayState=…&SigAlg=…` bytes.
pub fn redirect_url(
    location: &str,
    field: SamlField,
    xml: &str,
    relay_state: Option<&str>,
    key: Option<&SigningKey>,
) -> Result<String, SamlError> {
    let mut q = format!(
        "{}={}",
        field.name(),
        percent_encode(&b64(&deflate(xml.as_bytes())))
    );
    if let Some(r) = relay_state {
        q.push_str("&RelayState=");
        q.push_str(&percent_encode(r));
    }
    if let Some(k) = key {
        q.push_str("&SigAlg=");
        q.push_str(&percent_encode(RSA_SHA256));
        let sig = sign_rsa_sha256(k, q.as_bytes())?;
        q.push_str("&Signature=");
        q.push_str(&percent_encode(&b64(&sig)));
    }
    let sep = if location.contains('?') { '&' } else { '?' };
    Ok(format!("{location}{sep}{q}"))
}

pub(crate) fn sign_rsa_sha256(key: &SigningKey, data: &[u8]) -> Result<Vec<u8>, SamlError> {
    let crypto = |e: openssl::error::ErrorStack| SamlError::Crypto(e.to_string());
    let mut s = Signer::new(MessageDigest::sha256(), &key.key).map_err(crypto)?;
    s.update(data).map_err(crypto)?;
    s.sign_to_vec().map_err(crypto)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_round_trip() {
        let s = "a b&c=d/é~";
        assert_eq!(percent_decode(&percent_encode(s)).unwrap(), s.as_bytes());
        assert!(percent_decode("%G0").is_err());
        assert!(percent_decode("%4").is_err());
    }

    #[test]
    fn inflate_cap_is_enforced() {
        let big = vec![b'a'; 100_000];
        let d = deflate(&big);
        assert!(d.len() < 1000);
        assert_eq!(
            inflate_capped(&d, 65_536),
            Err(SamlError::InflateTooLarge { limit: 65_536 })
        );
        assert_eq!(inflate_capped(&d, 100_000).unwrap().len(), 100_000);
    }
}
