//! The private certificate authority's documents, sans-IO: the CA certificate, client
//! certificates, password-protected PKCS#12 bundles and the CRL (X.509 v2, DER, ECDSA-SHA256;
//! encoded here because the OpenSSL bindings cannot build CRLs). Keys, serial numbers and
//! times are parameters; the server stores and seals.
//!
//! Known gaps: ECDSA P-256 only (no RSA 3072); no authority key identifier extension in the
//! CRL; the certificates are not yet checked by a TLS listener (a later step).

use openssl::asn1::Asn1Time;
use openssl::bn::BigNum;
use openssl::ec::{EcGroup, EcKey};
use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::pkcs12::Pkcs12;
use openssl::pkey::{PKey, PKeyRef, Private, Public};
use openssl::sign::Signer;
use openssl::x509::extension::{BasicConstraints, ExtendedKeyUsage, KeyUsage};
use openssl::x509::{X509Builder, X509NameBuilder, X509Ref, X509};

/// Errors are OpenSSL's.
pub type CaResult<T> = Result<T, openssl::error::ErrorStack>;

/// A fresh ECDSA P-256 key (OpenSSL's generator).
pub fn new_p256_key() -> CaResult<PKey<Private>> {
    let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1)?;
    PKey::from_ec_key(EcKey::generate(&group)?)
}

fn build(
    subject_cn: &str,
    issuer: Option<(&X509Ref, &PKeyRef<Private>)>,
    public: &PKeyRef<Public>,
    self_key: Option<&PKeyRef<Private>>,
    serial: &[u8],
    now: i64,
    days: i64,
) -> CaResult<X509> {
    let mut name = X509NameBuilder::new()?;
    name.append_entry_by_text("CN", subject_cn)?;
    let name = name.build();
    let mut b = X509Builder::new()?;
    b.set_version(2)?;
    let serial = BigNum::from_slice(serial)?.to_asn1_integer()?;
    b.set_serial_number(&serial)?;
    b.set_subject_name(&name)?;
    b.set_pubkey(public)?;
    let not_before = Asn1Time::from_unix(now - 60)?;
    let not_after = Asn1Time::from_unix(now + days * 86_400)?;
    b.set_not_before(&not_before)?;
    b.set_not_after(&not_after)?;
    match issuer {
        None => {
            b.set_issuer_name(&name)?;
            b.append_extension(BasicConstraints::new().critical().ca().build()?)?;
            b.append_extension(
                KeyUsage::new()
                    .critical()
                    .key_cert_sign()
                    .crl_sign()
                    .build()?,
            )?;
            if let Some(k) = self_key {
                b.sign(k, MessageDigest::sha256())?;
            }
        }
        Some((ca, key)) => {
            b.set_issuer_name(ca.subject_name())?;
            b.append_extension(BasicConstraints::new().critical().build()?)?;
            b.append_extension(KeyUsage::new().critical().digital_signature().build()?)?;
            b.append_extension(ExtendedKeyUsage::new().client_auth().build()?)?;
            b.sign(key, MessageDigest::sha256())?;
        }
    }
    Ok(b.build())
}

fn public_of(key: &PKeyRef<Private>) -> CaResult<PKey<Public>> {
    PKey::public_key_from_der(&key.public_key_to_der()?)
}

/// The self-signed CA certificate (10 years).
pub fn ca_certificate(key: &PKeyRef<Private>, cn: &str, serial: &[u8], now: i64) -> CaResult<X509> {
    let public = public_of(key)?;
    build(cn, None, &public, Some(key), serial, now, 3650)
}

/// A client certificate (TLS client authentication) for `user`, valid `days`.
pub fn client_certificate(
    ca: &X509Ref,
    ca_key: &PKeyRef<Private>,
    user: &str,
    user_key: &PKeyRef<Private>,
    serial: &[u8],
    now: i64,
    days: i64,
) -> CaResult<X509> {
    let public = public_of(user_key)?;
    build(user, Some((ca, ca_key)), &public, None, serial, now, days)
}

/// A password-protected PKCS#12 bundle of the key, the certificate and the CA certificate.
pub fn pkcs12(
    name: &str,
    key: &PKeyRef<Private>,
    cert: &X509Ref,
    ca: &X509Ref,
    password: &str,
) -> CaResult<Vec<u8>> {
    let mut chain = openssl::stack::Stack::new()?;
    chain.push(ca.to_owned())?;
    Pkcs12::builder()
        .name(name)
        .pkey(key)
        .cert(cert)
        .ca(chain)
        .build2(password)?
        .to_der()
}

fn der_len(n: usize) -> Vec<u8> {
    if n < 0x80 {
        return vec![n as u8];
    }
    let bytes: Vec<u8> = n
        .to_be_bytes()
        .iter()
        .copied()
        .skip_while(|b| *b == 0)
        .collect();
    let mut out = vec![0x80 | bytes.len() as u8];
    out.extend(bytes);
    out
}

fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    out.extend(der_len(content.len()));
    out.extend_from_slice(content);
    out
}

fn integer(magnitude: &[u8]) -> Vec<u8> {
    let trimmed: Vec<u8> = magnitude.iter().copied().skip_while(|b| *b == 0).collect();
    let mut c = if trimmed.is_empty() { vec![0] } else { trimmed };
    if c[0] & 0x80 != 0 {
        c.insert(0, 0);
    }
    tlv(0x02, &c)
}

fn time(unix: i64) -> Vec<u8> {
    let t =
        time::OffsetDateTime::from_unix_timestamp(unix).unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    let (y, mo, d, h, mi, s) = (
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
    );
    if (1950..2050).contains(&y) {
        let v = format!("{:02}{mo:02}{d:02}{h:02}{mi:02}{s:02}Z", y % 100);
        tlv(0x17, v.as_bytes())
    } else {
        let v = format!("{y:04}{mo:02}{d:02}{h:02}{mi:02}{s:02}Z");
        tlv(0x18, v.as_bytes())
    }
}

/// One revoked certificate: serial (big-endian magnitude) and revocation time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Revoked {
    /// The serial number's bytes.
    pub serial: Vec<u8>,
    /// UNIX seconds.
    pub at: i64,
}

/// The CRL (DER): issuer = the CA's subject, `thisUpdate` now, `nextUpdate` now + `next_secs`,
/// the revoked certificates and a CRL number, signed ECDSA-SHA256 with the CA key.
pub fn crl_der(
    ca: &X509Ref,
    ca_key: &PKeyRef<Private>,
    revoked: &[Revoked],
    crl_number: u64,
    now: i64,
    next_secs: i64,
) -> CaResult<Vec<u8>> {
    // ecdsa-with-SHA256 (1.2.840.10045.4.3.2), no parameters.
    let alg = tlv(
        0x30,
        &[0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02],
    );
    let mut tbs = integer(&[1]);
    tbs.extend(&alg);
    tbs.extend(ca.subject_name().to_der()?);
    tbs.extend(time(now));
    tbs.extend(time(now + next_secs));
    if !revoked.is_empty() {
        let mut list = Vec::new();
        for r in revoked {
            let mut entry = integer(&r.serial);
            entry.extend(time(r.at));
            list.extend(tlv(0x30, &entry));
        }
        tbs.extend(tlv(0x30, &list));
    }
    // crlExtensions [0] { cRLNumber (2.5.29.20) }.
    let mut ext = vec![0x06, 0x03, 0x55, 0x1d, 0x14];
    ext.extend(tlv(0x04, &integer(&crl_number.to_be_bytes())));
    tbs.extend(tlv(0xa0, &tlv(0x30, &tlv(0x30, &ext))));
    let tbs = tlv(0x30, &tbs);
    let mut signer = Signer::new(MessageDigest::sha256(), ca_key)?;
    let sig = signer.sign_oneshot_to_vec(&tbs)?;
    let mut bits = vec![0u8];
    bits.extend(sig);
    let mut out = tbs;
    out.extend(alg);
    out.extend(tlv(0x03, &bits));
    Ok(tlv(0x30, &out))
}

#[cfg(test)]
mod tests {
    use super::*;
    use openssl::x509::X509Crl;

    #[test]
    fn certificates_bundle_and_crl() {
        let now = 1_800_000_000;
        let ca_key = new_p256_key().unwrap();
        let ca = ca_certificate(&ca_key, "Test CA", &[1], now).unwrap();
        let user_key = new_p256_key().unwrap();
        let cert =
            client_certificate(&ca, &ca_key, "demo", &user_key, &[0x80, 2], now, 365).unwrap();
        assert!(cert.verify(&ca.public_key().unwrap()).unwrap());
        let p12 = pkcs12("demo", &user_key, &cert, &ca, "pw").unwrap();
        let parsed = Pkcs12::from_der(&p12).unwrap().parse2("pw").unwrap();
        assert_eq!(
            parsed.cert.unwrap().to_der().unwrap(),
            cert.to_der().unwrap()
        );
        assert!(Pkcs12::from_der(&p12).unwrap().parse2("wrong").is_err());

        let crl = crl_der(
            &ca,
            &ca_key,
            &[Revoked {
                serial: vec![0x80, 2],
                at: now,
            }],
            7,
            now,
            86_400,
        )
        .unwrap();
        let crl = X509Crl::from_der(&crl).unwrap();
        assert!(crl.verify(&ca.public_key().unwrap()).unwrap());
        let revoked = crl.get_revoked().unwrap();
        assert_eq!(revoked.len(), 1);
        assert_eq!(
            revoked
                .get(0)
                .unwrap()
                .serial_number()
                .to_bn()
                .unwrap()
                .to_vec(),
            vec![0x80, 2]
        );
        let empty = crl_der(&ca, &ca_key, &[], 8, now, 86_400).unwrap();
        let empty = X509Crl::from_der(&empty).unwrap();
        assert!(empty.verify(&ca.public_key().unwrap()).unwrap());
        assert!(empty.get_revoked().is_none());
        // Another key's signature does not verify.
        let other = new_p256_key().unwrap();
        assert!(!empty.verify(&public_of(&other).unwrap()).unwrap());
    }

    #[test]
    fn der_lengths() {
        assert_eq!(der_len(5), vec![5]);
        assert_eq!(der_len(200), vec![0x81, 200]);
        assert_eq!(der_len(300), vec![0x82, 1, 44]);
        assert_eq!(integer(&[0, 0, 5]), vec![2, 1, 5]);
        assert_eq!(integer(&[0x80]), vec![2, 2, 0, 0x80]);
    }
}
