//! The RADIUS packet ([RFC 2865] section 3): header, attribute list, strict decoding and encoding.
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |     Code      |  Identifier   |            Length             |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |                         Authenticator (16 octets)             |
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |  Attributes (Type, Length, Value) ...
//! ```
//!
//! [`decode`] is a pure parser: it checks the framing and nothing cryptographic. Requests from the
//! network go through [`crate::radius::auth::verify_request`], which decodes *and* authenticates.
//!
//! [RFC 2865]: https://www.rfc-editor.org/rfc/rfc2865

use super::attributes::{Attribute, AttributeType};

/// Length of the fixed header: Code, Identifier, Length and Authenticator.
pub const HEADER_LEN: usize = 20;

/// Smallest legal packet (a bare header), RFC 2865 section 3.
pub const MIN_PACKET_LEN: usize = HEADER_LEN;

/// Largest legal packet, RFC 2865 section 3.
pub const MAX_PACKET_LEN: usize = 4096;

/// Length of the Authenticator field and of an MD5 digest.
pub const AUTHENTICATOR_LEN: usize = 16;

/// The Code field: the kind of packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Code {
    /// Access-Request (1), RFC 2865.
    AccessRequest,
    /// Access-Accept (2), RFC 2865.
    AccessAccept,
    /// Access-Reject (3), RFC 2865.
    AccessReject,
    /// Accounting-Request (4), RFC 2866.
    AccountingRequest,
    /// Accounting-Response (5), RFC 2866.
    AccountingResponse,
    /// Access-Challenge (11), RFC 2865.
    AccessChallenge,
    /// Status-Server (12), RFC 5997.
    StatusServer,
    /// Status-Client (13), reserved by RFC 2865.
    StatusClient,
    /// Any other code. [`Code::from`] never produces `Other` for one of the codes named above.
    Other(u8),
}

impl Code {
    /// The code's number on the wire.
    pub fn to_u8(self) -> u8 {
        match self {
            Self::AccessRequest => 1,
            Self::AccessAccept => 2,
            Self::AccessReject => 3,
            Self::AccountingRequest => 4,
            Self::AccountingResponse => 5,
            Self::AccessChallenge => 11,
            Self::StatusServer => 12,
            Self::StatusClient => 13,
            Self::Other(n) => n,
        }
    }

    /// Whether this code is a request (its Authenticator is a Request Authenticator).
    pub fn is_request(self) -> bool {
        matches!(
            self,
            Self::AccessRequest | Self::AccountingRequest | Self::StatusServer | Self::StatusClient
        )
    }
}

impl From<u8> for Code {
    fn from(n: u8) -> Self {
        match n {
            1 => Self::AccessRequest,
            2 => Self::AccessAccept,
            3 => Self::AccessReject,
            4 => Self::AccountingRequest,
            5 => Self::AccountingResponse,
            11 => Self::AccessChallenge,
            12 => Self::StatusServer,
            13 => Self::StatusClient,
            n => Self::Other(n),
        }
    }
}

impl From<Code> for u8 {
    fn from(code: Code) -> Self {
        code.to_u8()
    }
}

/// Why a datagram is not a well-formed RADIUS packet. Any of these means: silently discard.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// The datagram is shorter than the 20-byte header.
    #[error("datagram of {len} bytes is shorter than the 20-byte RADIUS header")]
    TooShort {
        /// Datagram length.
        len: usize,
    },
    /// The datagram is longer than 4096 bytes.
    #[error("datagram of {len} bytes exceeds the 4096-byte RADIUS maximum")]
    TooLong {
        /// Datagram length.
        len: usize,
    },
    /// The header's Length field is outside 20..=4096.
    #[error("Length field {length} is outside 20..=4096")]
    BadLengthField {
        /// The Length field.
        length: usize,
    },
    /// The header's Length field claims more bytes than the datagram holds.
    #[error("Length field {length} exceeds the {datagram}-byte datagram")]
    Truncated {
        /// The Length field.
        length: usize,
        /// Datagram length.
        datagram: usize,
    },
    /// An attribute's Length octet is below 2 (the attribute header itself).
    #[error("attribute at offset {offset} has length {length} (minimum 2)")]
    AttributeTooShort {
        /// Offset of the attribute in the packet.
        offset: usize,
        /// Its Length octet.
        length: u8,
    },
    /// An attribute runs past the packet's Length (or only its Type octet fits).
    #[error("attribute at offset {offset} runs past the end of the packet")]
    AttributeOverrun {
        /// Offset of the attribute in the packet.
        offset: usize,
    },
}

/// Why a [`Packet`] cannot be put on the wire.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EncodeError {
    /// The encoded packet would exceed 4096 bytes.
    #[error("encoded packet of {len} bytes exceeds the 4096-byte RADIUS maximum")]
    TooLong {
        /// Length the packet would have.
        len: usize,
    },
}

/// A decoded RADIUS packet. Attributes keep their wire order and raw values, so
/// `encode(&decode(b)?)` reproduces `b` (up to its Length field) byte for byte.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packet {
    /// The kind of packet.
    pub code: Code,
    /// Matches replies to requests; chosen by the client.
    pub identifier: u8,
    /// Request Authenticator (random, in Access-Request and Status-Server) or Response
    /// Authenticator (in replies).
    pub authenticator: [u8; AUTHENTICATOR_LEN],
    /// The attributes, in wire order.
    pub attributes: Vec<Attribute>,
}

impl Packet {
    /// The first attribute of `attr_type`, if any.
    pub fn first(&self, attr_type: AttributeType) -> Option<&Attribute> {
        self.attributes.iter().find(|a| a.attr_type() == attr_type)
    }

    /// All attributes of `attr_type`, in wire order.
    pub fn all(&self, attr_type: AttributeType) -> impl Iterator<Item = &Attribute> + '_ {
        self.attributes
            .iter()
            .filter(move |a| a.attr_type() == attr_type)
    }

    /// How many attributes of `attr_type` the packet carries.
    pub fn count(&self, attr_type: AttributeType) -> usize {
        self.all(attr_type).count()
    }

    /// Length of the packet on the wire.
    pub fn encoded_len(&self) -> usize {
        HEADER_LEN
            + self
                .attributes
                .iter()
                .map(Attribute::encoded_len)
                .sum::<usize>()
    }
}

/// Parses one datagram.
///
/// Enforces RFC 2865 section 3: the datagram holds 20..=4096 bytes, the Length field is in
/// 20..=4096 and not larger than the datagram (octets beyond Length are padding and ignored), and
/// every attribute has a Length of at least 2 that stays within the packet.
pub fn decode(bytes: &[u8]) -> Result<Packet, DecodeError> {
    if bytes.len() < MIN_PACKET_LEN {
        return Err(DecodeError::TooShort { len: bytes.len() });
    }
    if bytes.len() > MAX_PACKET_LEN {
        return Err(DecodeError::TooLong { len: bytes.len() });
    }
    let packet = framed(bytes)?;
    let (code, identifier, length) = match packet {
        [code, id, hi, lo, ..] => (*code, *id, usize::from(u16::from_be_bytes([*hi, *lo]))),
        _ => return Err(DecodeError::TooShort { len: bytes.len() }),
    };
    let mut authenticator = [0u8; AUTHENTICATOR_LEN];
    let auth_bytes = packet
        .get(4..HEADER_LEN)
        .ok_or(DecodeError::TooShort { len: bytes.len() })?;
    authenticator.copy_from_slice(auth_bytes);
    let body = packet
        .get(HEADER_LEN..length)
        .ok_or(DecodeError::Truncated {
            length,
            datagram: bytes.len(),
        })?;
    Ok(Packet {
        code: Code::from(code),
        identifier,
        authenticator,
        attributes: decode_attributes(body)?,
    })
}

/// Checks the Length field and returns the packet proper (the datagram up to Length).
pub(crate) fn framed(bytes: &[u8]) -> Result<&[u8], DecodeError> {
    let length = match bytes {
        [_, _, hi, lo, ..] => usize::from(u16::from_be_bytes([*hi, *lo])),
        _ => return Err(DecodeError::TooShort { len: bytes.len() }),
    };
    if !(MIN_PACKET_LEN..=MAX_PACKET_LEN).contains(&length) {
        return Err(DecodeError::BadLengthField { length });
    }
    bytes.get(..length).ok_or(DecodeError::Truncated {
        length,
        datagram: bytes.len(),
    })
}

fn decode_attributes(mut body: &[u8]) -> Result<Vec<Attribute>, DecodeError> {
    let mut attributes = Vec::new();
    let mut offset = HEADER_LEN;
    while !body.is_empty() {
        let (attr_type, length) = match body {
            [t, l, ..] => (*t, *l),
            _ => return Err(DecodeError::AttributeOverrun { offset }),
        };
        if length < 2 {
            return Err(DecodeError::AttributeTooShort { offset, length });
        }
        let length = usize::from(length);
        let value = body
            .get(2..length)
            .ok_or(DecodeError::AttributeOverrun { offset })?;
        attributes.push(Attribute::from_wire(AttributeType(attr_type), value));
        body = body.get(length..).unwrap_or_default();
        offset += length;
    }
    Ok(attributes)
}

/// Serialises a packet, writing the Length field from the attributes.
///
/// Fails only when the attributes would make the packet longer than 4096 bytes (every single
/// [`Attribute`] is valid by construction).
pub fn encode(packet: &Packet) -> Result<Vec<u8>, EncodeError> {
    let len = packet.encoded_len();
    let wire_len = u16::try_from(len)
        .ok()
        .filter(|&l| usize::from(l) <= MAX_PACKET_LEN)
        .ok_or(EncodeError::TooLong { len })?;
    let mut out = Vec::with_capacity(len);
    out.push(packet.code.to_u8());
    out.push(packet.identifier);
    out.extend_from_slice(&wire_len.to_be_bytes());
    out.extend_from_slice(&packet.authenticator);
    for attribute in &packet.attributes {
        attribute.encode_into(&mut out);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::radius::testutil::hex;

    const REQUEST: &str = include_str!("../../../fixtures/radius/rfc2865-7.1-access-request.hex");

    #[test]
    fn radius_decodes_rfc2865_example_and_reencodes_identically() {
        let bytes = hex(REQUEST);
        assert_eq!(bytes.len(), 56);
        let packet = decode(&bytes).unwrap();
        assert_eq!(packet.code, Code::AccessRequest);
        assert_eq!(packet.identifier, 0);
        assert_eq!(packet.attributes.len(), 4);
        assert_eq!(packet.user_name().unwrap(), Some("nemo"));
        assert_eq!(
            packet.nas_ip_address().unwrap(),
            Some(core::net::Ipv4Addr::new(192, 168, 1, 16))
        );
        // NAS-Port (5) is not typed; it stays raw.
        assert_eq!(
            packet.first(AttributeType(5)).unwrap().value(),
            &[0, 0, 0, 3]
        );
        assert_eq!(encode(&packet).unwrap(), bytes);
    }

    #[test]
    fn radius_framing_limits() {
        let mut bytes = hex(REQUEST);
        assert!(matches!(
            decode(&bytes[..19]),
            Err(DecodeError::TooShort { len: 19 })
        ));
        // Fewer bytes than Length: error.
        assert!(matches!(
            decode(&bytes[..55]),
            Err(DecodeError::Truncated {
                length: 56,
                datagram: 55
            })
        ));
        // More bytes than Length: padding, ignored.
        let mut padded = bytes.clone();
        padded.extend_from_slice(&[0xAA; 10]);
        assert_eq!(decode(&padded).unwrap(), decode(&bytes).unwrap());
        // Length field below 20 or above 4096.
        bytes[2] = 0;
        bytes[3] = 19;
        assert!(matches!(
            decode(&bytes),
            Err(DecodeError::BadLengthField { length: 19 })
        ));
        let mut big = vec![0u8; 4097];
        big[0] = 1;
        big[2] = 0x10;
        big[3] = 0x01;
        assert!(matches!(
            decode(&big[..4096]),
            Err(DecodeError::BadLengthField { length: 4097 })
        ));
        assert!(matches!(
            decode(&big),
            Err(DecodeError::TooLong { len: 4097 })
        ));
        // A bare header of exactly 4096 declared bytes is fine.
        let mut max = vec![0u8; 4096];
        max[0] = 1;
        max[2] = 0x10;
        max[3] = 0x00;
        // ... but all-zero bytes are attributes of length 0.
        assert!(matches!(
            decode(&max),
            Err(DecodeError::AttributeTooShort {
                offset: 20,
                length: 0
            })
        ));
    }

    #[test]
    fn radius_attribute_lengths() {
        let header = |len: u8| vec![1, 7, 0, len, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
        for (attrs, expect) in [
            (
                vec![1, 0],
                Some(DecodeError::AttributeTooShort {
                    offset: 20,
                    length: 0,
                }),
            ),
            (
                vec![1, 1],
                Some(DecodeError::AttributeTooShort {
                    offset: 20,
                    length: 1,
                }),
            ),
            (
                vec![1, 3],
                Some(DecodeError::AttributeOverrun { offset: 20 }),
            ),
            (
                vec![1, 255, 0],
                Some(DecodeError::AttributeOverrun { offset: 20 }),
            ),
            (
                vec![1, 2, 9],
                Some(DecodeError::AttributeOverrun { offset: 22 }),
            ),
            (vec![1, 2], None),
            (vec![1, 3, b'x', 18, 2], None),
        ] {
            let mut bytes = header(20 + attrs.len() as u8);
            bytes.extend_from_slice(&attrs);
            match expect {
                Some(err) => assert_eq!(decode(&bytes), Err(err), "{attrs:?}"),
                None => {
                    let p = decode(&bytes).unwrap();
                    assert_eq!(encode(&p).unwrap(), bytes);
                }
            }
        }
    }

    #[test]
    fn radius_encode_refuses_oversize() {
        let attr = Attribute::new(AttributeType::CLASS, &[0u8; 253]).unwrap();
        let packet = Packet {
            code: Code::AccessAccept,
            identifier: 1,
            authenticator: [0; 16],
            attributes: vec![attr; 17],
        };
        assert!(matches!(
            encode(&packet),
            Err(EncodeError::TooLong { len: 4355 })
        ));
    }

    #[test]
    fn radius_codes_round_trip() {
        for n in 0..=255u8 {
            assert_eq!(Code::from(n).to_u8(), n);
        }
        assert_eq!(Code::from(11), Code::AccessChallenge);
        assert_eq!(Code::from(200), Code::Other(200));
    }
}
