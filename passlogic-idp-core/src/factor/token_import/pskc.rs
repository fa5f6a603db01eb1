//! Hardware token seeds from PSKC files (Portable Symmetric Key Container, [RFC 6030]).
//!
//! # What is read
//!
//! `KeyContainer` (Version 1.0) / `KeyPackage` / `DeviceInfo/SerialNo` and `Key`:
//!
//! - `Key@Algorithm`: `urn:ietf:params:xml:ns:keyprov:pskc:hotp` or `...:totp` (the older
//!   `...#hotp` / `...#totp` spellings too). Keys of algorithm `...:pskc:pin` (a token's local PIN,
//!   RFC 6030 Figure 5) are skipped; any other algorithm refuses the file.
//! - `AlgorithmParameters/ResponseFormat@Length` (6..=8, default 6; `Encoding` must be `DECIMAL`)
//!   and `AlgorithmParameters/Suite` (`HMAC-SHA1`, `HMAC-SHA256`, `HMAC-SHA512`; default SHA-1).
//! - `Data/Secret`: `PlainValue` (Base64) or `EncryptedValue`; `Data/Counter` (HOTP, default 0)
//!   and `Data/TimeInterval` (TOTP, 1..=300, default 30), plain or encrypted (big-endian bytes).
//!   `Data/Time`, `TimeDrift`, `Policy` and `UserId` are not used.
//! - The serial is `DeviceInfo/SerialNo`, or the `Key@Id` when the package has no serial. A
//!   device may carry several keys (RFC 6030 Figure 10 repeats a serial), so serials are not
//!   required to be unique here; the caller decides.
//!
//! # Encryption (RFC 6030 section 6)
//!
//! - Values are encrypted with `http://www.w3.org/2001/04/xmlenc#aes128-cbc`, `#aes192-cbc` or
//!   `#aes256-cbc`; the IV is the first 16 bytes of the `CipherValue`.
//! - The encryption key is either a pre-shared key (section 6.1, `EncryptionKey/ds:KeyName`),
//!   passed as `preshared_key`, or derived from a password with PBKDF2 (section 6.2,
//!   `EncryptionKey/xenc11:DerivedKey` with `pkcs5:PBKDF2-params`: `Salt/Specified`,
//!   `IterationCount` (at most [`MAX_PBKDF2_ITERATIONS`]), `KeyLength`, optional `PRF`, default
//!   HMAC-SHA1), passed as `password`. Asymmetric encryption (section 6.3) is not supported.
//! - CBC has no integrity, so every encrypted value must carry a `ValueMAC` (section 6.1.1): an
//!   HMAC (`MACMethod@Algorithm`, `xmldsig#hmac-sha1` or `xmldsig-more#hmac-sha256/384/512`) over
//!   the `CipherValue` bytes (IV and ciphertext) under the `MACMethod/MACKey`, which is itself
//!   encrypted under the encryption key. The MAC is checked, in constant time, before decrypting.
//!
//! # Hardening
//!
//! Input is bounded to [`MAX_INPUT_LEN`] bytes and must be UTF-8; any `<!DOCTYPE` refuses the
//! document (so no entity is ever declared or fetched); nesting is bounded; elements are matched
//! by local name.
//!
//! [RFC 6030]: https://www.rfc-editor.org/rfc/rfc6030

use openssl::hash::MessageDigest;
use openssl::pkey::PKey;
use openssl::sign::Signer;
use openssl::symm::{Cipher, Crypter, Mode};
use quick_xml::events::{BytesStart, Event};
use quick_xml::Reader;
use subtle::ConstantTimeEq;

use super::{check_secret_len, ImportError, TokenKind, TokenSeed, MAX_INPUT_LEN};
use crate::factor::otp::{OtpAlgorithm, OtpSecret};

/// Largest PBKDF2 iteration count accepted (a bound on the work a file can demand).
pub const MAX_PBKDF2_ITERATIONS: u32 = 1_000_000;

const MAX_DEPTH: usize = 64;
const AES_BLOCK: usize = 16;

// ---------------------------------------------------------------------------------------------
// A minimal element tree built from quick-xml events, with names reduced to local names.

struct Element {
    name: String,
    attrs: Vec<(String, String)>,
    text: String,
    children: Vec<Element>,
}

impl Element {
    fn child(&self, name: &str) -> Option<&Element> {
        self.children.iter().find(|c| c.name == name)
    }

    fn children_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Element> + 'a {
        self.children.iter().filter(move |c| c.name == name)
    }

    fn path(&self, names: &[&str]) -> Option<&Element> {
        names.iter().try_fold(self, |el, name| el.child(name))
    }

    fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    fn trimmed_text(&self) -> &str {
        self.text.trim()
    }

    fn contains(&self, name: &str) -> bool {
        self.children
            .iter()
            .any(|c| c.name == name || c.contains(name))
    }
}

fn xml_err(err: impl core::fmt::Display) -> ImportError {
    ImportError::Xml(err.to_string())
}

fn start_element(start: &BytesStart<'_>) -> Result<Element, ImportError> {
    let name = core::str::from_utf8(start.local_name().as_ref())
        .map_err(xml_err)?
        .to_string();
    let mut attrs = Vec::new();
    for attr in start.attributes() {
        let attr = attr.map_err(xml_err)?;
        if attr.key.as_namespace_binding().is_some() {
            continue;
        }
        let key = core::str::from_utf8(attr.key.local_name().as_ref())
            .map_err(xml_err)?
            .to_string();
        let value = attr.unescape_value().map_err(xml_err)?.into_owned();
        attrs.push((key, value));
    }
    Ok(Element {
        name,
        attrs,
        text: String::new(),
        children: Vec::new(),
    })
}

fn contains_doctype(xml: &[u8]) -> bool {
    const NEEDLE: &[u8] = b"<!doctype";
    xml.windows(NEEDLE.len())
        .any(|w| w.eq_ignore_ascii_case(NEEDLE))
}

fn parse_tree(xml: &[u8]) -> Result<Element, ImportError> {
    if xml.len() > MAX_INPUT_LEN {
        return Err(ImportError::TooLarge {
            limit: MAX_INPUT_LEN,
        });
    }
    if contains_doctype(xml) {
        return Err(ImportError::Doctype);
    }
    let xml = xml.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(xml);
    let text = core::str::from_utf8(xml)
        .map_err(|_| ImportError::Xml("the document is not UTF-8".into()))?;
    let mut reader = Reader::from_str(text);
    let mut stack: Vec<Element> = Vec::new();
    let mut root: Option<Element> = None;

    fn attach(
        el: Element,
        stack: &mut [Element],
        root: &mut Option<Element>,
    ) -> Result<(), ImportError> {
        match stack.last_mut() {
            Some(parent) => parent.children.push(el),
            None if root.is_none() => *root = Some(el),
            None => return Err(ImportError::Xml("more than one root element".into())),
        }
        Ok(())
    }

    loop {
        match reader.read_event().map_err(xml_err)? {
            Event::DocType(_) => return Err(ImportError::Doctype),
            Event::Start(start) => {
                if stack.len() >= MAX_DEPTH {
                    return Err(ImportError::Xml("elements nested too deeply".into()));
                }
                stack.push(start_element(&start)?);
            }
            Event::Empty(start) => {
                let el = start_element(&start)?;
                attach(el, &mut stack, &mut root)?;
            }
            Event::End(_) => {
                let el = stack
                    .pop()
                    .ok_or_else(|| ImportError::Xml("unbalanced end tag".into()))?;
                attach(el, &mut stack, &mut root)?;
            }
            Event::Text(t) => {
                let s = t.unescape().map_err(xml_err)?;
                match stack.last_mut() {
                    Some(el) => el.text.push_str(&s),
                    None if s.trim().is_empty() => {}
                    None => return Err(ImportError::Xml("text outside the root element".into())),
                }
            }
            Event::CData(c) => {
                let s = c.decode().map_err(xml_err)?;
                if let Some(el) = stack.last_mut() {
                    el.text.push_str(&s);
                }
            }
            Event::Eof => break,
            Event::Comment(_) | Event::Decl(_) | Event::PI(_) => {}
        }
    }
    if !stack.is_empty() {
        return Err(ImportError::Xml("unclosed element".into()));
    }
    root.ok_or_else(|| ImportError::Xml("no root element".into()))
}

// ---------------------------------------------------------------------------------------------
// Crypto helpers.

fn base64_decode(text: &str) -> Option<Vec<u8>> {
    let cleaned: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    data_encoding::BASE64_NOPAD
        .decode(cleaned.trim_end_matches('=').as_bytes())
        .ok()
}

fn hmac_digest(uri: &str) -> Option<MessageDigest> {
    let name = uri.rsplit('#').next().unwrap_or(uri).to_ascii_lowercase();
    match name.as_str() {
        "hmac-sha1" => Some(MessageDigest::sha1()),
        "hmac-sha224" => Some(MessageDigest::sha224()),
        "hmac-sha256" => Some(MessageDigest::sha256()),
        "hmac-sha384" => Some(MessageDigest::sha384()),
        "hmac-sha512" => Some(MessageDigest::sha512()),
        _ => None,
    }
}

fn hmac(md: MessageDigest, key: &[u8], data: &[u8]) -> Result<Vec<u8>, ImportError> {
    let crypto = |e: openssl::error::ErrorStack| ImportError::Encryption(format!("HMAC: {e}"));
    let pkey = PKey::hmac(key).map_err(crypto)?;
    let mut signer = Signer::new(md, &pkey).map_err(crypto)?;
    signer.update(data).map_err(crypto)?;
    signer.sign_to_vec().map_err(crypto)
}

fn cbc_cipher(uri: &str) -> Option<Cipher> {
    match uri {
        "http://www.w3.org/2001/04/xmlenc#aes128-cbc" => Some(Cipher::aes_128_cbc()),
        "http://www.w3.org/2001/04/xmlenc#aes192-cbc" => Some(Cipher::aes_192_cbc()),
        "http://www.w3.org/2001/04/xmlenc#aes256-cbc" => Some(Cipher::aes_256_cbc()),
        _ => None,
    }
}

/// The base64-decoded `CipherData/CipherValue` of an encrypted element (IV followed by the
/// ciphertext).
fn cipher_value(el: &Element, what: &str) -> Result<Vec<u8>, ImportError> {
    let text = el
        .path(&["CipherData", "CipherValue"])
        .ok_or_else(|| ImportError::Encryption(format!("{what}: no CipherData/CipherValue")))?;
    base64_decode(text.trimmed_text())
        .ok_or_else(|| ImportError::Encryption(format!("{what}: CipherValue is not Base64")))
}

/// Decrypts an element holding `EncryptionMethod` and `CipherData/CipherValue` under `key`.
fn decrypt(el: &Element, key: &[u8], what: &str) -> Result<Vec<u8>, ImportError> {
    let method = el
        .child("EncryptionMethod")
        .and_then(|m| m.attr("Algorithm"))
        .ok_or_else(|| ImportError::Encryption(format!("{what}: no EncryptionMethod")))?;
    let cipher = cbc_cipher(method).ok_or_else(|| {
        ImportError::Encryption(format!("{what}: unsupported encryption method {method}"))
    })?;
    if cipher.key_len() != key.len() {
        return Err(ImportError::Encryption(format!(
            "{what}: {method} needs a {}-byte key, the key has {} bytes",
            cipher.key_len(),
            key.len()
        )));
    }
    let data = cipher_value(el, what)?;
    let decrypt_err = || ImportError::Decrypt {
        what: what.to_string(),
    };
    if data.len() < 2 * AES_BLOCK || data.len() % AES_BLOCK != 0 {
        return Err(decrypt_err());
    }
    let (iv, ciphertext) = data.split_at(AES_BLOCK);
    let mut crypter =
        Crypter::new(cipher, Mode::Decrypt, key, Some(iv)).map_err(|_| decrypt_err())?;
    crypter.pad(false);
    let mut out = vec![0u8; ciphertext.len() + AES_BLOCK];
    let mut n = crypter
        .update(ciphertext, &mut out)
        .map_err(|_| decrypt_err())?;
    n += crypter
        .finalize(out.get_mut(n..).ok_or_else(decrypt_err)?)
        .map_err(|_| decrypt_err())?;
    out.truncate(n);
    // XML Encryption padding (a superset of PKCS#7): the last byte counts the padding bytes.
    let pad = usize::from(*out.last().ok_or_else(decrypt_err)?);
    if pad == 0 || pad > AES_BLOCK || pad > out.len() {
        return Err(decrypt_err());
    }
    out.truncate(out.len() - pad);
    Ok(out)
}

/// Keys needed for encrypted documents, computed once.
struct Keys {
    encryption: Vec<u8>,
    mac: Option<(MessageDigest, Vec<u8>)>,
}

fn derive_pbkdf2(derived: &Element, password: &str) -> Result<Vec<u8>, ImportError> {
    let enc = |msg: &str| ImportError::Encryption(msg.to_string());
    let method = derived
        .child("KeyDerivationMethod")
        .ok_or_else(|| enc("DerivedKey has no KeyDerivationMethod"))?;
    let algorithm = method.attr("Algorithm").unwrap_or("");
    if !algorithm.ends_with("#pbkdf2") {
        return Err(ImportError::Encryption(format!(
            "unsupported key derivation {algorithm:?} (only PBKDF2)"
        )));
    }
    let params = method
        .child("PBKDF2-params")
        .ok_or_else(|| enc("PBKDF2 without PBKDF2-params"))?;
    let salt = params
        .path(&["Salt", "Specified"])
        .and_then(|s| base64_decode(s.trimmed_text()))
        .ok_or_else(|| enc("PBKDF2-params: missing or invalid Salt/Specified"))?;
    let iterations = params
        .child("IterationCount")
        .and_then(|c| c.trimmed_text().parse::<u32>().ok())
        .filter(|n| (1..=MAX_PBKDF2_ITERATIONS).contains(n))
        .ok_or_else(|| {
            ImportError::Encryption(format!(
                "PBKDF2-params: IterationCount missing or outside 1..={MAX_PBKDF2_ITERATIONS}"
            ))
        })?;
    let key_len = match params.child("KeyLength") {
        None => 16,
        Some(k) => k
            .trimmed_text()
            .parse::<usize>()
            .ok()
            .filter(|n| matches!(n, 16 | 24 | 32))
            .ok_or_else(|| enc("PBKDF2-params: KeyLength must be 16, 24 or 32"))?,
    };
    let prf = match params.child("PRF").and_then(|p| p.attr("Algorithm")) {
        None => MessageDigest::sha1(),
        Some(uri) => hmac_digest(uri)
            .ok_or_else(|| ImportError::Encryption(format!("unsupported PBKDF2 PRF {uri}")))?,
    };
    let mut key = vec![0u8; key_len];
    let iterations = usize::try_from(iterations).map_err(|_| enc("IterationCount too large"))?;
    openssl::pkcs5::pbkdf2_hmac(password.as_bytes(), &salt, iterations, prf, &mut key)
        .map_err(|e| ImportError::Encryption(format!("PBKDF2: {e}")))?;
    Ok(key)
}

fn encryption_key(
    container: &Element,
    password: Option<&str>,
    preshared_key: Option<&[u8]>,
) -> Result<Vec<u8>, ImportError> {
    let derived = container
        .child("EncryptionKey")
        .and_then(|k| k.child("DerivedKey"));
    if let Some(derived) = derived {
        let password = password.ok_or_else(|| {
            ImportError::Encryption("the file is password-protected: supply the password".into())
        })?;
        return derive_pbkdf2(derived, password);
    }
    if let Some(key) = container.child("EncryptionKey") {
        if key.contains("X509Data") || key.contains("X509Certificate") {
            return Err(ImportError::Encryption(
                "asymmetric (certificate) encryption is not supported".into(),
            ));
        }
    }
    preshared_key.map(<[u8]>::to_vec).ok_or_else(|| {
        ImportError::Encryption("the file is encrypted: supply the pre-shared key".into())
    })
}

fn load_keys(
    container: &Element,
    password: Option<&str>,
    preshared_key: Option<&[u8]>,
) -> Result<Keys, ImportError> {
    let encryption = encryption_key(container, password, preshared_key)?;
    let mac = match container.child("MACMethod") {
        None => None,
        Some(method) => {
            let uri = method.attr("Algorithm").unwrap_or("");
            let md = hmac_digest(uri)
                .ok_or_else(|| ImportError::Encryption(format!("unsupported MACMethod {uri:?}")))?;
            let mac_key = method.child("MACKey").ok_or_else(|| {
                ImportError::Encryption("MACMethod without MACKey is not supported".into())
            })?;
            let mac_key = decrypt(mac_key, &encryption, "MACKey")?;
            if mac_key.is_empty() {
                return Err(ImportError::Decrypt {
                    what: "MACKey".into(),
                });
            }
            Some((md, mac_key))
        }
    };
    Ok(Keys { encryption, mac })
}

// ---------------------------------------------------------------------------------------------
// Key packages.

fn package_err(package: usize, reason: impl Into<String>) -> ImportError {
    ImportError::Pskc {
        package,
        reason: reason.into(),
    }
}

/// Raw bytes of a `binaryDataType`/`intDataType` element: `PlainValue` text, or the MAC-checked
/// decryption of its `EncryptedValue`.
enum RawValue {
    Plain(String),
    Decrypted(Vec<u8>),
}

fn read_value(
    el: &Element,
    keys: Option<&Keys>,
    package: usize,
    what: &str,
) -> Result<RawValue, ImportError> {
    if let Some(plain) = el.child("PlainValue") {
        return Ok(RawValue::Plain(plain.trimmed_text().to_string()));
    }
    let encrypted = el.child("EncryptedValue").ok_or_else(|| {
        package_err(
            package,
            format!("{what} has no PlainValue or EncryptedValue"),
        )
    })?;
    let keys = keys.ok_or_else(|| {
        ImportError::Encryption("the file is encrypted: supply the key or password".into())
    })?;
    let (md, mac_key) = keys.mac.as_ref().ok_or_else(|| {
        ImportError::Encryption(
            "encrypted values without a MACMethod are refused (RFC 6030 section 6.1.1)".into(),
        )
    })?;
    let context = format!("key package {package} {what}");
    let value_mac = el
        .child("ValueMAC")
        .ok_or_else(|| package_err(package, format!("{what} is encrypted but has no ValueMAC")))?;
    let expected = base64_decode(value_mac.trimmed_text())
        .ok_or_else(|| package_err(package, format!("{what} ValueMAC is not Base64")))?;
    let data = cipher_value(encrypted, &context)?;
    let actual = hmac(*md, mac_key, &data)?;
    if !bool::from(actual.as_slice().ct_eq(expected.as_slice())) {
        return Err(ImportError::MacMismatch { package });
    }
    decrypt(encrypted, &keys.encryption, &context).map(RawValue::Decrypted)
}

fn read_integer(
    el: &Element,
    keys: Option<&Keys>,
    package: usize,
    what: &str,
) -> Result<u64, ImportError> {
    match read_value(el, keys, package, what)? {
        RawValue::Plain(text) => text
            .parse::<u64>()
            .map_err(|_| package_err(package, format!("{what} {text:?} is not an integer"))),
        RawValue::Decrypted(bytes) => {
            if bytes.is_empty() || bytes.len() > 8 {
                return Err(package_err(package, format!("{what} has a bad length")));
            }
            Ok(bytes.iter().fold(0u64, |acc, &b| (acc << 8) | u64::from(b)))
        }
    }
}

fn read_package(
    package_el: &Element,
    package: usize,
    keys: Option<&Keys>,
) -> Result<Option<TokenSeed>, ImportError> {
    let key = package_el
        .child("Key")
        .ok_or_else(|| package_err(package, "no Key element"))?;
    let algorithm = key.attr("Algorithm").unwrap_or("");
    let is_totp = if algorithm.ends_with(":hotp") || algorithm.ends_with("#hotp") {
        false
    } else if algorithm.ends_with(":totp") || algorithm.ends_with("#totp") {
        true
    } else if algorithm.ends_with(":pin") || algorithm.ends_with("#pin") {
        return Ok(None);
    } else {
        return Err(package_err(
            package,
            format!("unsupported key algorithm {algorithm:?} (HOTP and TOTP only)"),
        ));
    };

    let serial = package_el
        .path(&["DeviceInfo", "SerialNo"])
        .map(Element::trimmed_text)
        .filter(|s| !s.is_empty())
        .or_else(|| key.attr("Id").map(str::trim).filter(|s| !s.is_empty()))
        .ok_or_else(|| package_err(package, "neither DeviceInfo/SerialNo nor Key@Id"))?
        .to_string();

    let params = key.child("AlgorithmParameters");
    let digits = match params.and_then(|p| p.child("ResponseFormat")) {
        None => 6,
        Some(format) => {
            if let Some(encoding) = format.attr("Encoding") {
                if !encoding.eq_ignore_ascii_case("DECIMAL") {
                    return Err(package_err(
                        package,
                        format!("ResponseFormat Encoding {encoding:?} is not DECIMAL"),
                    ));
                }
            }
            match format.attr("Length").map(|l| l.trim().parse::<u8>()) {
                None => 6,
                Some(Ok(d @ 6..=8)) => d,
                Some(_) => {
                    return Err(package_err(
                        package,
                        "ResponseFormat Length must be 6, 7 or 8",
                    ))
                }
            }
        }
    };
    let hash = match params.and_then(|p| p.child("Suite")) {
        None => OtpAlgorithm::Sha1,
        Some(suite) if suite.trimmed_text().is_empty() => OtpAlgorithm::Sha1,
        Some(suite) => OtpAlgorithm::from_name(suite.trimmed_text()).ok_or_else(|| {
            package_err(
                package,
                format!("unsupported Suite {:?}", suite.trimmed_text()),
            )
        })?,
    };

    let data = key.child("Data");
    let secret_el = data.and_then(|d| d.child("Secret")).ok_or_else(|| {
        package_err(
            package,
            "no Data/Secret (keys derived from a KeyReference are not supported)",
        )
    })?;
    let secret = match read_value(secret_el, keys, package, "Secret")? {
        RawValue::Plain(text) => OtpSecret::from_bytes(
            base64_decode(&text)
                .ok_or_else(|| package_err(package, "Secret PlainValue is not Base64"))?,
        ),
        RawValue::Decrypted(bytes) => OtpSecret::from_bytes(bytes),
    };
    check_secret_len(&secret).map_err(|reason| package_err(package, reason))?;

    let kind = if is_totp {
        let period = match data.and_then(|d| d.child("TimeInterval")) {
            None => 30,
            Some(el) => read_integer(el, keys, package, "TimeInterval")?,
        };
        match u32::try_from(period) {
            Ok(p @ 1..=300) => TokenKind::Totp { period_secs: p },
            _ => {
                return Err(package_err(
                    package,
                    format!("TimeInterval {period} is outside 1..=300 seconds"),
                ))
            }
        }
    } else {
        let counter = match data.and_then(|d| d.child("Counter")) {
            None => 0,
            Some(el) => read_integer(el, keys, package, "Counter")?,
        };
        TokenKind::Hotp { counter }
    };

    Ok(Some(TokenSeed {
        serial,
        secret,
        kind,
        algorithm: hash,
        digits,
    }))
}

/// Parses a PSKC document (RFC 6030) into token seeds; see the [module documentation](self).
///
/// `password` unlocks PBKDF2-protected files (section 6.2); `preshared_key` decrypts files
/// encrypted under a pre-shared AES key (section 6.1). Plain files need neither.
pub fn parse_pskc(
    xml: &[u8],
    password: Option<&str>,
    preshared_key: Option<&[u8]>,
) -> Result<Vec<TokenSeed>, ImportError> {
    let container = parse_tree(xml)?;
    if container.name != "KeyContainer" {
        return Err(ImportError::Xml(format!(
            "the root element is {}, not KeyContainer",
            container.name
        )));
    }
    if let Some(version) = container.attr("Version") {
        if version.trim() != "1.0" {
            return Err(ImportError::Xml(format!(
                "unsupported PSKC version {version:?}"
            )));
        }
    }
    let keys = if container.contains("EncryptedValue") {
        Some(load_keys(&container, password, preshared_key)?)
    } else {
        None
    };
    let mut seeds = Vec::new();
    for (i, package_el) in container.children_named("KeyPackage").enumerate() {
        if let Some(seed) = read_package(package_el, i + 1, keys.as_ref())? {
            seeds.push(seed);
        }
    }
    if seeds.is_empty() {
        return Err(ImportError::Empty);
    }
    Ok(seeds)
}

#[cfg(test)]
mod tests {
    use super::*;
    use openssl::symm::encrypt;

    const RFC_SECRET_HEX: &str = "3132333435363738393031323334353637383930";
    const PSK_HEX: &str = "12345678901234567890123456789012";

    fn fixture(name: &str) -> Vec<u8> {
        let path = format!("{}/../fixtures/pskc/{name}", env!("CARGO_MANIFEST_DIR"));
        std::fs::read(&path).unwrap_or_else(|e| panic!("read {path}: {e}"))
    }

    fn psk() -> Vec<u8> {
        data_encoding::HEXLOWER
            .decode(PSK_HEX.as_bytes())
            .expect("hex")
    }

    fn fixture_text(name: &str) -> String {
        String::from_utf8(fixture(name)).expect("utf-8")
    }

    #[test]
    fn figure2_basic_plain_secret_is_too_short() {
        // RFC 6030 Figure 2 carries the 4-byte secret "1234" (MTIzNA==): readable, but refused
        // because RFC 4226 requires seeds of at least 128 bits.
        match parse_pskc(&fixture("rfc6030-figure2-basic.xml"), None, None) {
            Err(ImportError::Pskc { package: 1, reason }) => {
                assert!(reason.contains("4 bytes"), "{reason}")
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn figure3_plain_hotp() {
        let seeds = parse_pskc(&fixture("rfc6030-figure3-hotp.xml"), None, None).expect("parse");
        assert_eq!(seeds.len(), 1);
        let seed = &seeds[0];
        assert_eq!(seed.serial, "987654321");
        assert_eq!(seed.secret.to_hex(), RFC_SECRET_HEX);
        assert!(matches!(seed.kind, TokenKind::Hotp { counter: 0 }));
        assert_eq!((seed.algorithm, seed.digits), (OtpAlgorithm::Sha1, 8));
    }

    #[test]
    fn figure5_pin_key_skipped() {
        let seeds = parse_pskc(&fixture("rfc6030-figure5-pin.xml"), None, None).expect("parse");
        assert_eq!(seeds.len(), 1);
        assert_eq!(seeds[0].secret.to_hex(), RFC_SECRET_HEX);
    }

    #[test]
    fn figure6_preshared_key_aes128_with_mac() {
        let seeds =
            parse_pskc(&fixture("rfc6030-figure6-psk.xml"), None, Some(&psk())).expect("parse");
        assert_eq!(seeds.len(), 1);
        assert_eq!(seeds[0].serial, "987654321");
        assert_eq!(seeds[0].secret.to_hex(), RFC_SECRET_HEX);
        assert!(matches!(seeds[0].kind, TokenKind::Hotp { counter: 0 }));
        assert_eq!(seeds[0].digits, 8);
    }

    #[test]
    fn figure6_without_or_with_wrong_key() {
        assert!(matches!(
            parse_pskc(&fixture("rfc6030-figure6-psk.xml"), None, None),
            Err(ImportError::Encryption(_))
        ));
        let mut wrong = psk();
        wrong[0] ^= 1;
        assert!(matches!(
            parse_pskc(&fixture("rfc6030-figure6-psk.xml"), None, Some(&wrong)),
            Err(ImportError::Decrypt { .. } | ImportError::MacMismatch { .. })
        ));
        assert!(matches!(
            parse_pskc(&fixture("rfc6030-figure6-psk.xml"), None, Some(&psk()[..8])),
            Err(ImportError::Encryption(_))
        ));
    }

    #[test]
    fn figure6_tampered_mac_or_ciphertext_refused() {
        let text = fixture_text("rfc6030-figure6-psk.xml");
        let bad_mac = text.replace(
            "Su+NvtQfmvfJzF6bmQiJqoLRExc=",
            "Tu+NvtQfmvfJzF6bmQiJqoLRExc=",
        );
        assert_ne!(bad_mac, text);
        assert_eq!(
            parse_pskc(bad_mac.as_bytes(), None, Some(&psk())).err(),
            Some(ImportError::MacMismatch { package: 1 })
        );
        let bad_cipher = text.replace(
            "AAECAwQFBgcICQoLDA0OD+cIHItlB3Wra1DUpxVvOx2lef1VmNPCMl8jwZqIUqGv",
            "AAECAwQFBgcICQoLDA0OD+cIHItlB3Wra1DUpxVvOx2lef1VmNPCMl8jwZqIUqGw",
        );
        assert_ne!(bad_cipher, text);
        assert_eq!(
            parse_pskc(bad_cipher.as_bytes(), None, Some(&psk())).err(),
            Some(ImportError::MacMismatch { package: 1 })
        );
        let no_mac = text.replace(
            "<ValueMAC>Su+NvtQfmvfJzF6bmQiJqoLRExc=\n                    </ValueMAC>",
            "",
        );
        assert_ne!(no_mac, text);
        assert!(matches!(
            parse_pskc(no_mac.as_bytes(), None, Some(&psk())),
            Err(ImportError::Pskc { package: 1, .. })
        ));
    }

    #[test]
    fn figure7_pbkdf2_password() {
        let seeds = parse_pskc(&fixture("rfc6030-figure7-pbkdf2.xml"), Some("qwerty"), None)
            .expect("parse");
        assert_eq!(seeds.len(), 1);
        assert_eq!(seeds[0].serial, "987654321");
        assert_eq!(seeds[0].secret.to_hex(), RFC_SECRET_HEX);
        assert_eq!(seeds[0].digits, 8);
    }

    #[test]
    fn figure7_wrong_or_missing_password() {
        assert!(matches!(
            parse_pskc(&fixture("rfc6030-figure7-pbkdf2.xml"), Some("qwertz"), None),
            Err(ImportError::Decrypt { .. } | ImportError::MacMismatch { .. })
        ));
        assert!(matches!(
            parse_pskc(&fixture("rfc6030-figure7-pbkdf2.xml"), None, Some(&psk())),
            Err(ImportError::Encryption(_))
        ));
    }

    #[test]
    fn figure10_bulk_devices() {
        let seeds = parse_pskc(&fixture("rfc6030-figure10-bulk.xml"), None, None).expect("parse");
        let serials: Vec<&str> = seeds.iter().map(|s| s.serial.as_str()).collect();
        assert_eq!(serials, ["654321", "123456", "9999999", "9999999"]);
        for seed in &seeds {
            assert_eq!(seed.secret.to_hex(), RFC_SECRET_HEX);
            assert_eq!(seed.digits, 8);
        }
    }

    #[test]
    fn doctype_refused() {
        let text = fixture_text("rfc6030-figure3-hotp.xml");
        let with_doctype = text.replacen(
            "<KeyContainer",
            "<!DOCTYPE KeyContainer [<!ENTITY x SYSTEM \"file:///etc/passwd\">]>\n<KeyContainer",
            1,
        );
        assert_eq!(
            parse_pskc(with_doctype.as_bytes(), None, None).err(),
            Some(ImportError::Doctype)
        );
        let lower = text.replacen("<KeyContainer", "<!doctype KeyContainer>\n<KeyContainer", 1);
        assert_eq!(
            parse_pskc(lower.as_bytes(), None, None).err(),
            Some(ImportError::Doctype)
        );
    }

    #[test]
    fn malformed_and_oversized_refused() {
        for bad in [
            &b""[..],
            b"not xml",
            b"<KeyContainer Version=\"1.0\"><KeyPackage></KeyContainer>",
            b"<Other/>",
            b"<KeyContainer Version=\"2.0\"/>",
            b"<KeyContainer Version=\"1.0\">&undefined;</KeyContainer>",
            b"<KeyContainer/><KeyContainer/>",
        ] {
            assert!(
                matches!(
                    parse_pskc(bad, None, None),
                    Err(ImportError::Xml(_) | ImportError::Empty)
                ),
                "{:?} -> {:?}",
                String::from_utf8_lossy(bad),
                parse_pskc(bad, None, None)
            );
        }
        let huge = vec![b' '; MAX_INPUT_LEN + 1];
        assert_eq!(
            parse_pskc(&huge, None, None).err(),
            Some(ImportError::TooLarge {
                limit: MAX_INPUT_LEN
            })
        );
        let deep = format!("{}{}", "<a>".repeat(100), "</a>".repeat(100));
        assert!(matches!(
            parse_pskc(deep.as_bytes(), None, None),
            Err(ImportError::Xml(_))
        ));
    }

    /// Encrypts `plain` the way RFC 6030 section 6.1 does: IV || AES-CBC(PKCS#7), Base64.
    fn encrypt_value(cipher: Cipher, key: &[u8], iv: &[u8; 16], plain: &[u8]) -> (Vec<u8>, String) {
        let mut data = iv.to_vec();
        data.extend(encrypt(cipher, key, Some(iv), plain).expect("encrypt"));
        let b64 = data_encoding::BASE64.encode(&data);
        (data, b64)
    }

    fn mac_b64(md: MessageDigest, key: &[u8], data: &[u8]) -> String {
        data_encoding::BASE64.encode(&hmac(md, key, data).expect("hmac"))
    }

    /// Builds an AES-256-CBC / HMAC-SHA256 TOTP document with openssl (RFC 6030 has no such
    /// example) and checks it imports, including an encrypted TimeInterval.
    #[test]
    fn built_aes256_totp_document() {
        let key: Vec<u8> = (0u8..32).collect();
        let mac_key: Vec<u8> = (100u8..132).collect();
        let secret = b"12345678901234567890123456789012";
        let (_, mac_key_ct) = encrypt_value(Cipher::aes_256_cbc(), &key, &[7; 16], &mac_key);
        let (secret_data, secret_ct) = encrypt_value(Cipher::aes_256_cbc(), &key, &[9; 16], secret);
        let (interval_data, interval_ct) =
            encrypt_value(Cipher::aes_256_cbc(), &key, &[3; 16], &60u32.to_be_bytes());
        let secret_mac = mac_b64(MessageDigest::sha256(), &mac_key, &secret_data);
        let interval_mac = mac_b64(MessageDigest::sha256(), &mac_key, &interval_data);
        let aes256 = "http://www.w3.org/2001/04/xmlenc#aes256-cbc";
        let doc = format!(
            r#"<?xml version="1.0" encoding="UTF-8"?>
<pskc:KeyContainer Version="1.0" xmlns:pskc="urn:ietf:params:xml:ns:keyprov:pskc"
    xmlns:ds="http://www.w3.org/2000/09/xmldsig#" xmlns:xenc="http://www.w3.org/2001/04/xmlenc#">
  <pskc:EncryptionKey><ds:KeyName>Pre-shared-key-256</ds:KeyName></pskc:EncryptionKey>
  <pskc:MACMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#hmac-sha256">
    <pskc:MACKey>
      <xenc:EncryptionMethod Algorithm="{aes256}"/>
      <xenc:CipherData><xenc:CipherValue>{mac_key_ct}</xenc:CipherValue></xenc:CipherData>
    </pskc:MACKey>
  </pskc:MACMethod>
  <pskc:KeyPackage>
    <pskc:DeviceInfo><pskc:SerialNo>TOTP-256-0001</pskc:SerialNo></pskc:DeviceInfo>
    <pskc:Key Id="k1" Algorithm="urn:ietf:params:xml:ns:keyprov:pskc:totp">
      <pskc:AlgorithmParameters>
        <pskc:Suite>HMAC-SHA256</pskc:Suite>
        <pskc:ResponseFormat Length="6" Encoding="DECIMAL"/>
      </pskc:AlgorithmParameters>
      <pskc:Data>
        <pskc:Secret>
          <pskc:EncryptedValue>
            <xenc:EncryptionMethod Algorithm="{aes256}"/>
            <xenc:CipherData><xenc:CipherValue>{secret_ct}</xenc:CipherValue></xenc:CipherData>
          </pskc:EncryptedValue>
          <pskc:ValueMAC>{secret_mac}</pskc:ValueMAC>
        </pskc:Secret>
        <pskc:TimeInterval>
          <pskc:EncryptedValue>
            <xenc:EncryptionMethod Algorithm="{aes256}"/>
            <xenc:CipherData><xenc:CipherValue>{interval_ct}</xenc:CipherValue></xenc:CipherData>
          </pskc:EncryptedValue>
          <pskc:ValueMAC>{interval_mac}</pskc:ValueMAC>
        </pskc:TimeInterval>
      </pskc:Data>
    </pskc:Key>
  </pskc:KeyPackage>
</pskc:KeyContainer>
"#
        );
        let seeds = parse_pskc(doc.as_bytes(), None, Some(&key)).expect("parse");
        assert_eq!(seeds.len(), 1);
        assert_eq!(seeds[0].serial, "TOTP-256-0001");
        assert_eq!(seeds[0].secret.as_bytes(), secret);
        assert!(matches!(seeds[0].kind, TokenKind::Totp { period_secs: 60 }));
        assert_eq!(seeds[0].algorithm, OtpAlgorithm::Sha256);
        // An AES-128 key against AES-256 values is refused, not misused.
        assert!(matches!(
            parse_pskc(doc.as_bytes(), None, Some(&key[..16])),
            Err(ImportError::Encryption(_))
        ));
        // A document with encrypted values but no MACMethod is refused.
        let start = doc.find("<pskc:MACMethod").expect("mac start");
        let end = doc.find("</pskc:MACMethod>").expect("mac end") + "</pskc:MACMethod>".len();
        let no_mac_method = format!("{}{}", &doc[..start], &doc[end..]);
        assert!(matches!(
            parse_pskc(no_mac_method.as_bytes(), None, Some(&key)),
            Err(ImportError::Encryption(_))
        ));
    }

    #[test]
    fn unsupported_algorithm_and_short_digits_refused() {
        let text = fixture_text("rfc6030-figure3-hotp.xml");
        let ocra = text.replace("pskc:hotp", "pskc:OCRA-1:HOTP-SHA512-8:C-QN08");
        assert!(matches!(
            parse_pskc(ocra.as_bytes(), None, None),
            Err(ImportError::Pskc { package: 1, .. })
        ));
        let four = text.replace("Length=\"8\"", "Length=\"4\"");
        assert!(matches!(
            parse_pskc(four.as_bytes(), None, None),
            Err(ImportError::Pskc { package: 1, .. })
        ));
    }
}
