//! XML signatures for SAML 2.0: a strict XML reader, exclusive canonicalisation, enveloped
//! signing and a strict verifier for the SAML profile of XMLDSig.
//!
//! Everything here is pure Rust over OpenSSL (through the `openssl` crate) for the public-key
//! operations; there is no libxml2/xmlsec binding and no I/O.
//!
//! # Intake ([`Limits`])
//!
//! Documents are read by an own, deliberately small XML 1.0 + Namespaces reader:
//!
//! - any `<!DOCTYPE` is an error ([`XmlDsigError::Doctype`]), so there are no entity
//!   declarations, no external entities and no entity expansion beyond the five predefined
//!   entities and character references;
//! - the input is a `&str` (so strictly UTF-8); an `encoding` other than UTF-8 in the XML
//!   declaration is refused;
//! - size, element depth and attributes per element are bounded by [`Limits`];
//! - line endings are normalised to `#xA` and attribute values normalised (literal whitespace to
//!   a space) as XML 1.0 requires; CDATA sections become text.
//!
//! # Canonicalisation
//!
//! [`c14n::canonicalize`] implements Exclusive XML Canonicalization 1.0 without comments
//! (`http://www.w3.org/2001/10/xml-exc-c14n#`) of an element subtree, with InclusiveNamespaces
//! PrefixList support. The tests compare it byte for byte with Python lxml.
//!
//! # Signing ([`sign_enveloped`])
//!
//! An enveloped signature over the element carrying a given `ID`, with one Reference, the
//! transforms enveloped-signature + exclusive c14n, RSA-SHA256 (default), RSA-SHA512 or
//! ECDSA-SHA256, inserted as text into the original document at a [`Placement`].
//!
//! # Verification ([`verify_enveloped`], [`verify_enveloped_at`], [`verify_detached_redirect`])
//!
//! The SAML profile, strictly:
//!
//! - by default the document holds exactly one `ds:Signature` (anywhere); see
//!   [`VerifyPolicy::allow_other_signatures`];
//! - the verified Signature is a direct child of the element it references, and its only
//!   Reference has `URI="#" + that parent's ID attribute`;
//! - that ID value is carried by exactly one element in the whole document (counting `ID`, `Id`,
//!   `id` and `xml:id` attributes): duplicate IDs are a wrapping attempt and are refused;
//! - Signature children are exactly SignedInfo, SignatureValue and an optional KeyInfo (no
//!   `ds:Object`); SignedInfo holds CanonicalizationMethod (exclusive c14n only),
//!   SignatureMethod (allow-list) and exactly one Reference whose transforms are exactly
//!   enveloped-signature then exclusive c14n (each c14n may carry InclusiveNamespaces);
//! - RSA/ECDSA with SHA-256, SHA-384 or SHA-512; SHA-1 (digest or signature) only with
//!   [`VerifyPolicy::allow_sha1`]; no HMAC, no DSA;
//! - the key comes only from the caller's trusted list; KeyInfo is ignored;
//! - the digest is compared in constant time; every error is a rejection.
//!
//! On success [`Verified`] carries the canonical bytes of the signed element (without its
//! enveloped Signature). These bytes are exactly what the signer's digest covered, so they are
//! the only thing later code should read: comments are gone, and text split by an inserted
//! comment comes back joined (`admin<!---->@example.com` reads `admin@example.com`).
//!
//! ```
//! use passlogic_idp_core::xmldsig::{self, Limits, Placement, SignatureAlgorithm, VerifyPolicy};
//! use openssl::{pkey::PKey, rsa::Rsa};
//! let key = PKey::from_rsa(Rsa::generate(2048)?)?;
//! let public = PKey::public_key_from_der(&key.public_key_to_der()?)?;
//! let xml = r#"<saml:Assertion xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_a1"><saml:Issuer>https://idp.example</saml:Issuer><saml:Subject/></saml:Assertion>"#;
//! let signed = xmldsig::sign_enveloped(
//!     xml,
//!     "_a1",
//!     &key,
//!     None,
//!     SignatureAlgorithm::RsaSha256,
//!     Placement::after_saml_issuer(),
//! )?;
//! let verified =
//!     xmldsig::verify_enveloped(&signed, &[public], &VerifyPolicy::default(), &Limits::default())?;
//! assert_eq!(verified.id(), "_a1");
//! assert_eq!(verified.local_name(), "Assertion");
//! assert_eq!(verified.key_index(), 0);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod c14n;
mod crypto;
pub(crate) mod parse;
mod sign;
mod verify;

pub use sign::sign_enveloped;
pub use verify::{verify_detached_redirect, verify_enveloped, verify_enveloped_at, Verified};

/// The XMLDSig namespace (`ds:`).
pub const DS_NS: &str = "http://www.w3.org/2000/09/xmldsig#";
/// Exclusive XML Canonicalization 1.0 without comments; also its namespace (InclusiveNamespaces).
pub const EXC_C14N: &str = "http://www.w3.org/2001/10/xml-exc-c14n#";
/// The enveloped-signature transform.
pub const ENVELOPED_SIGNATURE: &str = "http://www.w3.org/2000/09/xmldsig#enveloped-signature";
/// The SAML 2.0 assertion namespace (`saml:`).
pub const SAML_ASSERTION_NS: &str = "urn:oasis:names:tc:SAML:2.0:assertion";
/// The SAML 2.0 protocol namespace (`samlp:`).
pub const SAML_PROTOCOL_NS: &str = "urn:oasis:names:tc:SAML:2.0:protocol";

/// Why a document was not parsed, signed or verified. Every variant is a rejection.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum XmlDsigError {
    /// The input is longer than [`Limits::max_bytes`].
    #[error("document is larger than {limit} bytes")]
    TooLarge {
        /// The limit that was exceeded.
        limit: usize,
    },
    /// Elements are nested deeper than [`Limits::max_depth`].
    #[error("elements are nested deeper than {limit}")]
    TooDeep {
        /// The limit that was exceeded.
        limit: usize,
    },
    /// An element has more attributes (namespace declarations included) than
    /// [`Limits::max_attributes_per_element`].
    #[error("an element has more than {limit} attributes")]
    TooManyAttributes {
        /// The limit that was exceeded.
        limit: usize,
    },
    /// The canonical form would be longer than 4 x [`Limits::max_bytes`] (namespace
    /// declarations re-rendered on many elements).
    #[error("canonical form longer than {limit} bytes")]
    CanonicalTooLarge {
        /// The limit that was exceeded.
        limit: usize,
    },
    /// The document contains a document type declaration; these are never accepted.
    #[error("DOCTYPE declarations are not accepted")]
    Doctype,
    /// The input is not well-formed XML 1.0 with namespaces (or uses a feature refused here).
    #[error("malformed XML at byte {offset}: {reason}")]
    Malformed {
        /// Byte offset in the input where the problem was found.
        offset: usize,
        /// What is wrong.
        reason: &'static str,
    },
    /// No element carries the requested `ID`.
    #[error("no element has ID {0:?}")]
    IdNotFound(String),
    /// More than one element carries the `ID` (a signature-wrapping shape).
    #[error("ID {0:?} is carried by more than one element")]
    DuplicateId(String),
    /// The document holds no `ds:Signature` where one is required.
    #[error("no ds:Signature found")]
    NoSignature,
    /// The document holds more `ds:Signature` elements than the policy allows, or the one to
    /// verify cannot be chosen unambiguously.
    #[error("more than one ds:Signature")]
    MultipleSignatures,
    /// The Signature does not have the shape the SAML profile requires.
    #[error("signature structure not accepted: {0}")]
    BadStructure(&'static str),
    /// The Reference URI is not `#` + the ID of the Signature's parent element.
    #[error("the Reference does not point at the signature's parent element")]
    ReferenceMismatch,
    /// A signature or digest algorithm is unknown or not allowed by the policy.
    #[error("algorithm not allowed: {0}")]
    AlgorithmNotAllowed(String),
    /// A canonicalisation method or transform is not allowed.
    #[error("transform not allowed: {0}")]
    TransformNotAllowed(String),
    /// A base64 value (DigestValue, SignatureValue, Signature parameter) does not decode.
    #[error("invalid base64 in {0}")]
    BadBase64(&'static str),
    /// The digest of the referenced element does not match DigestValue.
    #[error("digest mismatch: the signed content was changed")]
    DigestMismatch,
    /// The signature value verifies with none of the trusted keys.
    #[error("signature value does not verify with any trusted key")]
    SignatureInvalid,
    /// The caller passed no trusted key.
    #[error("no trusted key given")]
    NoTrustedKeys,
    /// The private key does not fit the chosen algorithm (e.g. an RSA key for ECDSA-SHA256).
    #[error("the key does not fit the signature algorithm")]
    KeyMismatch,
    /// The element after which the Signature should be placed was not found.
    #[error("placement target element not found")]
    PlacementNotFound,
    /// OpenSSL reported an error while signing.
    #[error("crypto error: {0}")]
    Crypto(String),
}

/// Bounds applied before and while parsing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Maximum input length in bytes (default 256 KiB).
    pub max_bytes: usize,
    /// Maximum element nesting depth; the document element is depth 1 (default 64; values
    /// above 256 act as 256).
    pub max_depth: usize,
    /// Maximum attributes per element, namespace declarations included (default 64).
    pub max_attributes_per_element: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_bytes: 256 * 1024,
            max_depth: 64,
            max_attributes_per_element: 64,
        }
    }
}

impl Limits {
    /// The looser limits [`sign_enveloped`] applies to documents we generate ourselves:
    /// 4 MiB, depth 128, 256 attributes.
    pub fn for_signing() -> Self {
        Limits {
            max_bytes: 4 * 1024 * 1024,
            max_depth: 128,
            max_attributes_per_element: 256,
        }
    }
}

/// Signature algorithms for signing. The digest algorithm follows the signature's hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SignatureAlgorithm {
    /// RSA PKCS#1 v1.5 with SHA-256, SHA-256 digest (the SAML default).
    #[default]
    RsaSha256,
    /// RSA PKCS#1 v1.5 with SHA-512, SHA-512 digest.
    RsaSha512,
    /// ECDSA on P-256 with SHA-256, SHA-256 digest; the value is the XMLDSig raw `r || s`.
    EcdsaSha256,
}

impl SignatureAlgorithm {
    /// The SignatureMethod algorithm URI.
    pub fn uri(self) -> &'static str {
        match self {
            SignatureAlgorithm::RsaSha256 => crypto::RSA_SHA256,
            SignatureAlgorithm::RsaSha512 => crypto::RSA_SHA512,
            SignatureAlgorithm::EcdsaSha256 => crypto::ECDSA_SHA256,
        }
    }

    /// The DigestMethod algorithm URI used with this signature algorithm.
    pub fn digest_uri(self) -> &'static str {
        match self {
            SignatureAlgorithm::RsaSha256 | SignatureAlgorithm::EcdsaSha256 => crypto::SHA256,
            SignatureAlgorithm::RsaSha512 => crypto::SHA512,
        }
    }
}

/// Where [`sign_enveloped`] inserts the `ds:Signature` inside the signed element.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Placement {
    /// As the first child of the signed element.
    FirstChild,
    /// Right after the first child element with this local name and namespace (SAML puts the
    /// Signature after `saml:Issuer`).
    AfterFirstChild {
        /// Local name of the element to follow, e.g. `Issuer`.
        local_name: String,
        /// Its namespace URI (`None` for no namespace).
        ns: Option<String>,
    },
}

impl Placement {
    /// After `saml:Issuer`, as SAML 2.0 requires for Responses, Assertions and requests.
    pub fn after_saml_issuer() -> Self {
        Placement::AfterFirstChild {
            local_name: "Issuer".to_owned(),
            ns: Some(SAML_ASSERTION_NS.to_owned()),
        }
    }
}

/// What the verifier accepts beyond the strict default.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct VerifyPolicy {
    /// Accept RSA-SHA1 / ECDSA-SHA1 signatures and SHA-1 digests (default `false`). Only for an
    /// SP whose settings say it signs with SHA-1.
    pub allow_sha1: bool,
    /// Allow `ds:Signature` elements other than the one verified (default `false`: the
    /// document must hold exactly one). With `true`, [`verify_enveloped`] verifies the
    /// Signature that is a direct child of the document element, and [`verify_enveloped_at`]
    /// the one that is a direct child of the element with the requested ID; the others are
    /// neither verified nor trusted.
    pub allow_other_signatures: bool,
}
