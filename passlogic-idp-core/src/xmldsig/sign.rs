//! Enveloped signing.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use openssl::pkey::{PKey, Private};
use subtle::ConstantTimeEq;

use super::c14n::{escape_attr_value, exc_c14n};
use super::crypto::{self, Hash, KeyKind};
use super::parse::{self, Document, NodeId};
use super::{
    Limits, Placement, SignatureAlgorithm, XmlDsigError, DS_NS, ENVELOPED_SIGNATURE, EXC_C14N,
};

/// Sign the element whose `ID` attribute is `target_id` with an enveloped XML signature and
/// return the whole document with the `ds:Signature` inserted at `place`.
///
/// - Exactly one element may carry `target_id` (in `ID`, `Id`, `id` or `xml:id`), and it must
///   not already have a `ds:Signature` child.
/// - The digest covers the exclusive canonical form of that element (signatures nested deeper,
///   e.g. an Assertion's inside a Response, are part of it); the Signature holds one Reference
///   `URI="#target_id"` with the transforms enveloped-signature and exclusive c14n.
/// - `SignatureValue` is computed over the exclusive canonical SignedInfo, which does not
///   depend on where the Signature sits (exclusive c14n only renders the `ds` prefix it uses).
/// - `cert_der`, when given, goes into `KeyInfo/X509Data/X509Certificate` (base64, no breaks).
/// - The Signature is inserted as text; the rest of the document is left byte for byte as it
///   was. The result is re-parsed and its digest checked before it is returned.
///
/// The document is read with [`Limits::for_signing`]. Errors: the parse errors, missing or
/// duplicate IDs, [`XmlDsigError::PlacementNotFound`] when
/// [`Placement::AfterFirstChild`] does not match the first child element,
/// [`XmlDsigError::KeyMismatch`] when the key does not fit `alg` (ECDSA needs P-256).
pub fn sign_enveloped(
    xml: &str,
    target_id: &str,
    key: &PKey<Private>,
    cert_der: Option<&[u8]>,
    alg: SignatureAlgorithm,
    place: Placement,
) -> Result<String, XmlDsigError> {
    let (kind, hash) = match alg {
        SignatureAlgorithm::RsaSha256 => (KeyKind::Rsa, Hash::Sha256),
        SignatureAlgorithm::RsaSha512 => (KeyKind::Rsa, Hash::Sha512),
        SignatureAlgorithm::EcdsaSha256 => (KeyKind::Ecdsa, Hash::Sha256),
    };
    let limits = Limits::for_signing();
    let doc = parse::parse(xml, &limits)?;
    let target = unique_target(&doc, target_id)?;
    if doc
        .child_elements(target)
        .iter()
        .any(|(_, e)| e.is(DS_NS, "Signature"))
    {
        return Err(XmlDsigError::BadStructure("the element is already signed"));
    }
    let offset = insertion_point(&doc, target, &place)?;

    let canonical = exc_c14n(&doc, target, None, &[])?;
    let digest = hash.digest(&canonical)?;
    let signed_info = format!(
        concat!(
            "<ds:SignedInfo>",
            "<ds:CanonicalizationMethod Algorithm=\"{exc}\"/>",
            "<ds:SignatureMethod Algorithm=\"{sig}\"/>",
            "<ds:Reference URI=\"#{id}\">",
            "<ds:Transforms>",
            "<ds:Transform Algorithm=\"{env}\"/>",
            "<ds:Transform Algorithm=\"{exc}\"/>",
            "</ds:Transforms>",
            "<ds:DigestMethod Algorithm=\"{dig}\"/>",
            "<ds:DigestValue>{dv}</ds:DigestValue>",
            "</ds:Reference>",
            "</ds:SignedInfo>"
        ),
        exc = EXC_C14N,
        sig = alg.uri(),
        id = escape_attr_value(target_id),
        env = ENVELOPED_SIGNATURE,
        dig = alg.digest_uri(),
        dv = STANDARD.encode(&digest),
    );
    let open = format!("<ds:Signature xmlns:ds=\"{DS_NS}\">");
    let canonical_si = {
        let standalone = format!("{open}{signed_info}</ds:Signature>");
        let sdoc = parse::parse(&standalone, &limits)?;
        let si = first_child(&sdoc, sdoc.root, "SignedInfo")?;
        exc_c14n(&sdoc, si, None, &[])?
    };
    let value = crypto::sign(key, kind, hash, &canonical_si)?;
    let key_info = match cert_der {
        Some(der) => format!(
            "<ds:KeyInfo><ds:X509Data><ds:X509Certificate>{}</ds:X509Certificate></ds:X509Data></ds:KeyInfo>",
            STANDARD.encode(der)
        ),
        None => String::new(),
    };
    let signature = format!(
        "{open}{signed_info}<ds:SignatureValue>{}</ds:SignatureValue>{key_info}</ds:Signature>",
        STANDARD.encode(&value)
    );

    let target_el = doc.element(target).ok_or(XmlDsigError::PlacementNotFound)?;
    let (before, after) = (
        xml.get(..offset).ok_or(XmlDsigError::PlacementNotFound)?,
        xml.get(offset..).ok_or(XmlDsigError::PlacementNotFound)?,
    );
    let out = if target_el.self_closing {
        // `<x .../>` becomes `<x ...>SIGNATURE</x>`.
        let head = before
            .strip_suffix("/>")
            .ok_or(XmlDsigError::PlacementNotFound)?;
        format!("{head}>{signature}</{}>{after}", target_el.qname())
    } else {
        format!("{before}{signature}{after}")
    };

    self_check(&out, target_id, &digest, &canonical_si, hash, &limits)?;
    Ok(out)
}

fn unique_target(doc: &Document, id: &str) -> Result<NodeId, XmlDsigError> {
    let found = doc.elements_with_id(id);
    match found.as_slice() {
        [] => Err(XmlDsigError::IdNotFound(id.to_owned())),
        [one] if doc.count_id_like(id) == 1 => Ok(*one),
        _ => Err(XmlDsigError::DuplicateId(id.to_owned())),
    }
}

fn first_child(doc: &Document, parent: NodeId, local: &str) -> Result<NodeId, XmlDsigError> {
    doc.child_elements(parent)
        .into_iter()
        .find(|(_, e)| e.is(DS_NS, local))
        .map(|(i, _)| i)
        .ok_or(XmlDsigError::BadStructure("internal: SignedInfo not found"))
}

/// The byte offset where the Signature goes.
fn insertion_point(
    doc: &Document,
    target: NodeId,
    place: &Placement,
) -> Result<usize, XmlDsigError> {
    let e = doc.element(target).ok_or(XmlDsigError::PlacementNotFound)?;
    match place {
        Placement::FirstChild => Ok(e.start_tag_end),
        Placement::AfterFirstChild { local_name, ns } => {
            let children = doc.child_elements(target);
            match children.first() {
                Some((_, first)) if first.local == *local_name && first.ns == *ns => Ok(first.end),
                _ => Err(XmlDsigError::PlacementNotFound),
            }
        }
    }
}

/// Re-parse the signed document and check that the digest and SignedInfo still come out as
/// signed (guards the text insertion).
fn self_check(
    out: &str,
    id: &str,
    digest: &[u8],
    canonical_si: &[u8],
    hash: Hash,
    limits: &Limits,
) -> Result<(), XmlDsigError> {
    let doc = parse::parse(out, limits)?;
    let target = unique_target(&doc, id)?;
    let sig = doc
        .child_elements(target)
        .into_iter()
        .find(|(_, e)| e.is(DS_NS, "Signature"))
        .map(|(i, _)| i)
        .ok_or(XmlDsigError::BadStructure(
            "internal: inserted Signature not found",
        ))?;
    let again = hash.digest(&exc_c14n(&doc, target, Some(sig), &[])?)?;
    let si = first_child(&doc, sig, "SignedInfo")?;
    let si_again = exc_c14n(&doc, si, None, &[])?;
    if !bool::from(again.ct_eq(digest)) || si_again != canonical_si {
        return Err(XmlDsigError::BadStructure(
            "internal: signed document does not re-verify",
        ));
    }
    Ok(())
}
