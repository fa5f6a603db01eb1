//! Strict verification: the SAML profile of XMLDSig, and the HTTP-Redirect query signature.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use openssl::pkey::{PKey, Public};
use subtle::ConstantTimeEq;

use super::c14n::{exc_c14n, prefix_list};
use super::crypto::{self, Hash};
use super::parse::{self, Document, NodeId};
use super::{Limits, VerifyPolicy, XmlDsigError, DS_NS, ENVELOPED_SIGNATURE, EXC_C14N};

/// A successfully verified enveloped signature.
///
/// Only the verifier creates values of this type. [`Verified::canonical`] is the exclusive
/// canonical form of the signed element without its Signature, byte for byte what the digest
/// covered: read the signed content from there and from nowhere else.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    id: String,
    local_name: String,
    namespace: Option<String>,
    canonical: Vec<u8>,
    key_index: usize,
}

impl Verified {
    /// The `ID` of the signed element.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The local name of the signed element (`Assertion`, `Response`, `AuthnRequest`, ...).
    pub fn local_name(&self) -> &str {
        &self.local_name
    }

    /// The namespace URI of the signed element.
    pub fn namespace(&self) -> Option<&str> {
        self.namespace.as_deref()
    }

    /// The signed bytes: the exclusive c14n (no comments) of the signed element, without the
    /// verified Signature. Well-formed UTF-8 XML with no DOCTYPE, comments or CDATA.
    pub fn canonical(&self) -> &[u8] {
        &self.canonical
    }

    /// [`Verified::canonical`] as a string.
    pub fn canonical_str(&self) -> &str {
        // Canonical output is built from a `String`, so this never falls back.
        std::str::from_utf8(&self.canonical).unwrap_or("")
    }

    /// Index in the caller's `trusted` slice of the key that verified the signature.
    pub fn key_index(&self) -> usize {
        self.key_index
    }
}

/// Verify the enveloped signature of a SAML document (Response, Assertion, AuthnRequest,
/// LogoutRequest, ...), strictly.
///
/// Which Signature: if the document holds exactly one `ds:Signature` (anywhere), that one. If
/// it holds more, [`XmlDsigError::MultipleSignatures`] unless
/// [`VerifyPolicy::allow_other_signatures`] is set, in which case the single `ds:Signature` that
/// is a direct child of the document element is verified (none there is
/// [`XmlDsigError::MultipleSignatures`] too). The rules applied to it are listed in the
/// [module documentation](super). Keys come only from `trusted`; `KeyInfo` is ignored.
pub fn verify_enveloped(
    xml: &str,
    trusted: &[PKey<Public>],
    policy: &VerifyPolicy,
    limits: &Limits,
) -> Result<Verified, XmlDsigError> {
    if trusted.is_empty() {
        return Err(XmlDsigError::NoTrustedKeys);
    }
    let doc = parse::parse(xml, limits)?;
    let all = signatures(&doc);
    let sig = match all.as_slice() {
        [] => return Err(XmlDsigError::NoSignature),
        [one] => *one,
        _ if !policy.allow_other_signatures => return Err(XmlDsigError::MultipleSignatures),
        _ => {
            let at_root: Vec<NodeId> = all
                .iter()
                .copied()
                .filter(|&s| doc.parent(s) == Some(doc.root))
                .collect();
            match at_root.as_slice() {
                [one] => *one,
                _ => return Err(XmlDsigError::MultipleSignatures),
            }
        }
    };
    verify_signature(&doc, sig, trusted, policy)
}

/// Like [`verify_enveloped`], but verifies the Signature that is a direct child of the element
/// whose `ID` is `id` (e.g. the Assertion inside a Response). That element must be unique (no
/// other element may carry the value in `ID`, `Id`, `id` or `xml:id`) and have exactly one
/// `ds:Signature` child. Other Signatures in the document are refused unless
/// [`VerifyPolicy::allow_other_signatures`] is set.
pub fn verify_enveloped_at(
    xml: &str,
    id: &str,
    trusted: &[PKey<Public>],
    policy: &VerifyPolicy,
    limits: &Limits,
) -> Result<Verified, XmlDsigError> {
    if trusted.is_empty() {
        return Err(XmlDsigError::NoTrustedKeys);
    }
    let doc = parse::parse(xml, limits)?;
    let target = match doc.elements_with_id(id).as_slice() {
        [] => return Err(XmlDsigError::IdNotFound(id.to_owned())),
        [one] => *one,
        _ => return Err(XmlDsigError::DuplicateId(id.to_owned())),
    };
    let all = signatures(&doc);
    let mine: Vec<NodeId> = all
        .iter()
        .copied()
        .filter(|&s| doc.parent(s) == Some(target))
        .collect();
    let sig = match mine.as_slice() {
        [] => return Err(XmlDsigError::NoSignature),
        [one] => *one,
        _ => return Err(XmlDsigError::MultipleSignatures),
    };
    if all.len() > 1 && !policy.allow_other_signatures {
        return Err(XmlDsigError::MultipleSignatures);
    }
    verify_signature(&doc, sig, trusted, policy)
}

/// Verify a SAML HTTP-Redirect binding signature (SAML bindings 3.4.4.1).
///
/// `query_signed_part` is the exact byte string that was signed, built by the caller from the
/// query string as received (still URL-encoded): `SAMLRequest=...&RelayState=...&SigAlg=...`
/// (or `SAMLResponse=...`), RelayState only if present. `sig_alg_uri` is the URL-decoded
/// `SigAlg`, `signature_b64` the URL-decoded `Signature` (standard base64, no whitespace).
/// Returns the index of the trusted key that verified.
pub fn verify_detached_redirect(
    query_signed_part: &[u8],
    sig_alg_uri: &str,
    signature_b64: &str,
    trusted: &[PKey<Public>],
    policy: &VerifyPolicy,
) -> Result<usize, XmlDsigError> {
    if trusted.is_empty() {
        return Err(XmlDsigError::NoTrustedKeys);
    }
    let (kind, hash) = crypto::signature_method(sig_alg_uri, policy)?;
    let sig = STANDARD
        .decode(signature_b64)
        .map_err(|_| XmlDsigError::BadBase64("Signature"))?;
    if sig.is_empty() {
        return Err(XmlDsigError::SignatureInvalid);
    }
    crypto::verify_any(trusted, kind, hash, query_signed_part, &sig)
        .ok_or(XmlDsigError::SignatureInvalid)
}

fn signatures(doc: &Document) -> Vec<NodeId> {
    doc.elements()
        .filter(|(_, e)| e.is(DS_NS, "Signature"))
        .map(|(i, _)| i)
        .collect()
}

fn structure(reason: &'static str) -> XmlDsigError {
    XmlDsigError::BadStructure(reason)
}

/// Element children of `id`, all required to be in the ds namespace (except where noted by the
/// caller), with only whitespace/comments between them.
fn ds_children(doc: &Document, id: NodeId) -> Result<Vec<(NodeId, &str)>, XmlDsigError> {
    if !doc.only_elements_and_space(id) {
        return Err(structure("unexpected text in signature markup"));
    }
    Ok(doc
        .child_elements(id)
        .into_iter()
        .map(|(i, e)| {
            (
                i,
                if e.ns.as_deref() == Some(DS_NS) {
                    e.local.as_str()
                } else {
                    ""
                },
            )
        })
        .collect())
}

fn algorithm(doc: &Document, id: NodeId) -> Result<&str, XmlDsigError> {
    doc.element(id)
        .and_then(|e| e.attr("Algorithm"))
        .ok_or(structure("missing Algorithm attribute"))
}

/// Check a c14n method / transform element is exclusive c14n; return its PrefixList.
fn exc_c14n_params(doc: &Document, id: NodeId) -> Result<Vec<String>, XmlDsigError> {
    let alg = algorithm(doc, id)?;
    if alg != EXC_C14N {
        return Err(XmlDsigError::TransformNotAllowed(alg.to_owned()));
    }
    if !doc.only_elements_and_space(id) {
        return Err(structure("unexpected text in a c14n method"));
    }
    let children = doc.child_elements(id);
    match children.as_slice() {
        [] => Ok(Vec::new()),
        [(_, e)] if e.is(EXC_C14N, "InclusiveNamespaces") => {
            let list = e
                .attr("PrefixList")
                .ok_or(structure("InclusiveNamespaces without PrefixList"))?;
            Ok(prefix_list(list))
        }
        _ => Err(structure("unexpected content in a c14n method")),
    }
}

fn no_children(doc: &Document, id: NodeId) -> Result<(), XmlDsigError> {
    match doc.element(id) {
        Some(e)
            if e.children.iter().all(|&c| {
                !matches!(
                    doc.nodes.get(c).map(|n| &n.kind),
                    Some(parse::NodeKind::Element(_))
                )
            }) && doc.only_elements_and_space(id) =>
        {
            Ok(())
        }
        _ => Err(structure("unexpected content in an algorithm element")),
    }
}

fn b64_text(doc: &Document, id: NodeId, what: &'static str) -> Result<Vec<u8>, XmlDsigError> {
    let text = doc
        .simple_text(id)
        .ok_or(structure("unexpected markup in a base64 value"))?;
    let compact: String = text.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    let bytes = STANDARD
        .decode(compact)
        .map_err(|_| XmlDsigError::BadBase64(what))?;
    if bytes.is_empty() {
        return Err(XmlDsigError::BadBase64(what));
    }
    Ok(bytes)
}

fn verify_signature(
    doc: &Document,
    sig: NodeId,
    trusted: &[PKey<Public>],
    policy: &VerifyPolicy,
) -> Result<Verified, XmlDsigError> {
    // The signed element is the Signature's parent, identified by its unique ID.
    let parent = doc
        .parent(sig)
        .ok_or(structure("Signature is the document element"))?;
    let parent_el = doc
        .element(parent)
        .ok_or(structure("Signature has no parent element"))?;
    let parent_id = parent_el
        .attr("ID")
        .ok_or(structure("the signed element has no ID attribute"))?;
    if parent_id.is_empty() {
        return Err(structure("the signed element has an empty ID"));
    }
    if doc.count_id_like(parent_id) != 1 {
        return Err(XmlDsigError::DuplicateId(parent_id.to_owned()));
    }
    if signatures(doc)
        .iter()
        .any(|&s| s != sig && is_ancestor(doc, s, sig))
    {
        return Err(structure("Signature nested inside another Signature"));
    }

    // Signature: SignedInfo, SignatureValue, KeyInfo?
    let children = ds_children(doc, sig)?;
    let (signed_info, signature_value) = match children.as_slice() {
        [(si, "SignedInfo"), (sv, "SignatureValue")] => (*si, *sv),
        [(si, "SignedInfo"), (sv, "SignatureValue"), (_, "KeyInfo")] => (*si, *sv),
        _ => {
            return Err(structure(
                "Signature must hold SignedInfo, SignatureValue, KeyInfo?",
            ))
        }
    };

    // SignedInfo: CanonicalizationMethod, SignatureMethod, exactly one Reference.
    let si_children = ds_children(doc, signed_info)?;
    let (c14n_method, sig_method, reference) = match si_children.as_slice() {
        [(c, "CanonicalizationMethod"), (s, "SignatureMethod"), (r, "Reference")] => (*c, *s, *r),
        [(_, "CanonicalizationMethod"), (_, "SignatureMethod"), (_, "Reference"), ..] => {
            return Err(structure("exactly one Reference is allowed"))
        }
        _ => {
            return Err(structure(
                "SignedInfo must hold c14n method, signature method, Reference",
            ))
        }
    };
    let si_prefixes = exc_c14n_params(doc, c14n_method)?;
    let (kind, sig_hash) = crypto::signature_method(algorithm(doc, sig_method)?, policy)?;
    no_children(doc, sig_method)?;

    // Reference: URI="#" + parent ID; Transforms = enveloped, exc-c14n; DigestMethod; DigestValue.
    let uri = doc
        .element(reference)
        .and_then(|e| e.attr("URI"))
        .ok_or(XmlDsigError::ReferenceMismatch)?;
    if uri.strip_prefix('#') != Some(parent_id) {
        return Err(XmlDsigError::ReferenceMismatch);
    }
    let ref_children = ds_children(doc, reference)?;
    let (transforms, digest_method, digest_value) = match ref_children.as_slice() {
        [(t, "Transforms"), (m, "DigestMethod"), (v, "DigestValue")] => (*t, *m, *v),
        _ => {
            return Err(structure(
                "Reference must hold Transforms, DigestMethod, DigestValue",
            ))
        }
    };
    let transform_list = ds_children(doc, transforms)?;
    let ref_prefixes = match transform_list.as_slice() {
        [(env, "Transform"), (exc, "Transform")] => {
            let alg = algorithm(doc, *env)?;
            if alg != ENVELOPED_SIGNATURE {
                return Err(XmlDsigError::TransformNotAllowed(alg.to_owned()));
            }
            no_children(doc, *env)?;
            exc_c14n_params(doc, *exc)?
        }
        _ => {
            // Name the first offending algorithm when there is one.
            for (x, name) in &transform_list {
                if *name == "Transform" {
                    let alg = algorithm(doc, *x)?;
                    if alg != ENVELOPED_SIGNATURE && alg != EXC_C14N {
                        return Err(XmlDsigError::TransformNotAllowed(alg.to_owned()));
                    }
                }
            }
            return Err(structure(
                "transforms must be exactly enveloped-signature, exc-c14n",
            ));
        }
    };
    let digest_hash: Hash = crypto::digest_method(algorithm(doc, digest_method)?, policy)?;
    no_children(doc, digest_method)?;
    let expected = b64_text(doc, digest_value, "DigestValue")?;
    let value = b64_text(doc, signature_value, "SignatureValue")?;

    // Signature value over the canonical SignedInfo, keys from the trusted list only.
    let canonical_si = exc_c14n(doc, signed_info, None, &si_prefixes)?;
    let key_index = crypto::verify_any(trusted, kind, sig_hash, &canonical_si, &value)
        .ok_or(XmlDsigError::SignatureInvalid)?;

    // Reference digest over the signed element minus this Signature.
    let canonical = exc_c14n(doc, parent, Some(sig), &ref_prefixes)?;
    let actual = digest_hash.digest(&canonical)?;
    if actual.len() != expected.len() || !bool::from(actual.ct_eq(&expected)) {
        return Err(XmlDsigError::DigestMismatch);
    }

    Ok(Verified {
        id: parent_id.to_owned(),
        local_name: parent_el.local.clone(),
        namespace: parent_el.ns.clone(),
        canonical,
        key_index,
    })
}

fn is_ancestor(doc: &Document, ancestor: NodeId, node: NodeId) -> bool {
    let mut cur = doc.parent(node);
    while let Some(n) = cur {
        if n == ancestor {
            return true;
        }
        cur = doc.parent(n);
    }
    false
}
