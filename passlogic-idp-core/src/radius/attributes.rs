//! Attributes: the raw Type-Length-Value item, the types we name, typed constructors and typed
//! accessors on [`Packet`].
//!
//! Every attribute is kept as its raw value so that decoding and re-encoding is lossless (the
//! Message-Authenticator covers the exact bytes). Typing happens on access: the getters on
//! [`Packet`] return `Ok(None)` when the attribute is absent, `Ok(Some(..))` when it is present
//! once and well formed, and an [`AttributeError`] when it is repeated where RFC 2865 section 5.44
//! allows at most one, or malformed. Attributes that may repeat (Reply-Message, Class, Filter-Id,
//! Proxy-State, Vendor-Specific) come back as iterators in wire order.
//!
//! ```
//! use passlogic_idp_core::radius::attributes::{reply_message_lines, Attribute, AttributeType};
//! let lines = reply_message_lines("A B C\n1 2 3\n")?;
//! assert_eq!(lines.len(), 2);
//! assert_eq!(lines[0].attr_type(), AttributeType::REPLY_MESSAGE);
//! assert_eq!(lines[0].value(), b"A B C\n");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use core::fmt;
use core::net::Ipv4Addr;

use super::packet::Packet;

/// Largest attribute value: 255 (the Length octet) minus the 2-byte Type and Length header.
pub const MAX_VALUE_LEN: usize = 253;

/// An attribute Type octet. The associated constants name the types this crate interprets; any
/// other number is carried untouched.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AttributeType(pub u8);

impl AttributeType {
    /// User-Name (1), text.
    pub const USER_NAME: Self = Self(1);
    /// User-Password (2), hidden with the shared secret (see [`crate::radius::auth`]).
    pub const USER_PASSWORD: Self = Self(2);
    /// NAS-IP-Address (4), an IPv4 address.
    pub const NAS_IP_ADDRESS: Self = Self(4);
    /// Filter-Id (11), text; may repeat.
    pub const FILTER_ID: Self = Self(11);
    /// Reply-Message (18), text shown to the user; may repeat.
    pub const REPLY_MESSAGE: Self = Self(18);
    /// State (24), opaque bytes echoed by the client in the next Access-Request.
    pub const STATE: Self = Self(24);
    /// Class (25), opaque bytes; may repeat.
    pub const CLASS: Self = Self(25);
    /// Vendor-Specific (26), kept raw (Vendor-Id and vendor data); may repeat.
    pub const VENDOR_SPECIFIC: Self = Self(26);
    /// Session-Timeout (27), seconds as a 32-bit integer.
    pub const SESSION_TIMEOUT: Self = Self(27);
    /// Calling-Station-Id (31), text.
    pub const CALLING_STATION_ID: Self = Self(31);
    /// NAS-Identifier (32), text.
    pub const NAS_IDENTIFIER: Self = Self(32);
    /// Proxy-State (33), opaque bytes a proxy adds; may repeat; copied unmodified into replies.
    pub const PROXY_STATE: Self = Self(33);
    /// Message-Authenticator (80, RFC 3579), an HMAC-MD5 over the packet.
    pub const MESSAGE_AUTHENTICATOR: Self = Self(80);

    /// The RFC name of a type this crate names, `None` for the others.
    pub fn name(self) -> Option<&'static str> {
        Some(match self {
            Self::USER_NAME => "User-Name",
            Self::USER_PASSWORD => "User-Password",
            Self::NAS_IP_ADDRESS => "NAS-IP-Address",
            Self::FILTER_ID => "Filter-Id",
            Self::REPLY_MESSAGE => "Reply-Message",
            Self::STATE => "State",
            Self::CLASS => "Class",
            Self::VENDOR_SPECIFIC => "Vendor-Specific",
            Self::SESSION_TIMEOUT => "Session-Timeout",
            Self::CALLING_STATION_ID => "Calling-Station-Id",
            Self::NAS_IDENTIFIER => "NAS-Identifier",
            Self::PROXY_STATE => "Proxy-State",
            Self::MESSAGE_AUTHENTICATOR => "Message-Authenticator",
            _ => return None,
        })
    }
}

impl fmt::Debug for AttributeType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(name) => write!(f, "{name}({})", self.0),
            None => write!(f, "Attribute({})", self.0),
        }
    }
}

impl fmt::Display for AttributeType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

/// Why an attribute cannot be built or read as its type.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AttributeError {
    /// A value longer than 253 bytes.
    #[error("{attr_type} value of {len} bytes exceeds 253")]
    TooLong {
        /// The attribute.
        attr_type: AttributeType,
        /// The value's length.
        len: usize,
    },
    /// A value of a length its type does not allow (e.g. an empty text, a 3-byte address).
    #[error("{attr_type} value has invalid length {len}")]
    BadLength {
        /// The attribute.
        attr_type: AttributeType,
        /// The value's length.
        len: usize,
    },
    /// A text attribute that is not UTF-8.
    #[error("{attr_type} is not UTF-8")]
    NotUtf8 {
        /// The attribute.
        attr_type: AttributeType,
    },
    /// An attribute present more than once where at most one is allowed.
    #[error("{attr_type} appears {count} times (at most once allowed)")]
    Repeated {
        /// The attribute.
        attr_type: AttributeType,
        /// How often it appears.
        count: usize,
    },
}

/// One attribute: a type and a raw value of at most 253 bytes.
///
/// The value of a User-Password attribute is its hidden (encrypted) form and `Debug` does not
/// print it.
#[derive(Clone, PartialEq, Eq)]
pub struct Attribute {
    attr_type: AttributeType,
    value: Vec<u8>,
}

impl fmt::Debug for Attribute {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Attribute");
        d.field("type", &self.attr_type);
        if self.attr_type == AttributeType::USER_PASSWORD {
            d.field("value", &"[redacted]");
        } else if let Ok(text) = core::str::from_utf8(&self.value) {
            d.field("value", &text);
        } else {
            d.field("value", &self.value);
        }
        d.finish()
    }
}

impl Attribute {
    /// An attribute of any type with a raw value (at most 253 bytes).
    pub fn new(attr_type: AttributeType, value: &[u8]) -> Result<Self, AttributeError> {
        if value.len() > MAX_VALUE_LEN {
            return Err(AttributeError::TooLong {
                attr_type,
                len: value.len(),
            });
        }
        Ok(Self {
            attr_type,
            value: value.to_vec(),
        })
    }

    /// Built by the decoder, which already bounded the value by the Length octet.
    pub(crate) fn from_wire(attr_type: AttributeType, value: &[u8]) -> Self {
        Self {
            attr_type,
            value: value.to_vec(),
        }
    }

    /// The Type octet.
    pub fn attr_type(&self) -> AttributeType {
        self.attr_type
    }

    /// The raw value.
    pub fn value(&self) -> &[u8] {
        &self.value
    }

    /// Length on the wire (value plus the Type and Length octets).
    pub fn encoded_len(&self) -> usize {
        self.value.len() + 2
    }

    pub(crate) fn encode_into(&self, out: &mut Vec<u8>) {
        // `value.len() <= 253` is an invariant of every constructor.
        let len = u8::try_from(self.value.len() + 2).unwrap_or(u8::MAX);
        out.push(self.attr_type.0);
        out.push(len);
        out.extend_from_slice(&self.value);
    }

    fn text(attr_type: AttributeType, text: &str) -> Result<Self, AttributeError> {
        if text.is_empty() {
            return Err(AttributeError::BadLength { attr_type, len: 0 });
        }
        Self::new(attr_type, text.as_bytes())
    }

    fn opaque(attr_type: AttributeType, bytes: &[u8]) -> Result<Self, AttributeError> {
        if bytes.is_empty() {
            return Err(AttributeError::BadLength { attr_type, len: 0 });
        }
        Self::new(attr_type, bytes)
    }

    /// User-Name (1).
    pub fn user_name(name: &str) -> Result<Self, AttributeError> {
        Self::text(AttributeType::USER_NAME, name)
    }

    /// NAS-IP-Address (4).
    pub fn nas_ip_address(address: Ipv4Addr) -> Self {
        Self {
            attr_type: AttributeType::NAS_IP_ADDRESS,
            value: address.octets().to_vec(),
        }
    }

    /// Filter-Id (11).
    pub fn filter_id(filter: &str) -> Result<Self, AttributeError> {
        Self::text(AttributeType::FILTER_ID, filter)
    }

    /// One Reply-Message (18) of at most 253 bytes. For longer or multi-line text use
    /// [`reply_message_lines`].
    pub fn reply_message(text: &str) -> Result<Self, AttributeError> {
        Self::text(AttributeType::REPLY_MESSAGE, text)
    }

    /// State (24): opaque bytes, 1..=253 of them (for a challenge: caller-supplied random bytes).
    pub fn state(state: &[u8]) -> Result<Self, AttributeError> {
        Self::opaque(AttributeType::STATE, state)
    }

    /// Class (25).
    pub fn class(class: &[u8]) -> Result<Self, AttributeError> {
        Self::opaque(AttributeType::CLASS, class)
    }

    /// Vendor-Specific (26), raw: the 4-byte Vendor-Id followed by the vendor's data.
    pub fn vendor_specific(raw: &[u8]) -> Result<Self, AttributeError> {
        if raw.len() < 5 {
            return Err(AttributeError::BadLength {
                attr_type: AttributeType::VENDOR_SPECIFIC,
                len: raw.len(),
            });
        }
        Self::new(AttributeType::VENDOR_SPECIFIC, raw)
    }

    /// Session-Timeout (27), in seconds.
    pub fn session_timeout(seconds: u32) -> Self {
        Self {
            attr_type: AttributeType::SESSION_TIMEOUT,
            value: seconds.to_be_bytes().to_vec(),
        }
    }

    /// Calling-Station-Id (31).
    pub fn calling_station_id(id: &str) -> Result<Self, AttributeError> {
        Self::text(AttributeType::CALLING_STATION_ID, id)
    }

    /// NAS-Identifier (32).
    pub fn nas_identifier(id: &str) -> Result<Self, AttributeError> {
        Self::text(AttributeType::NAS_IDENTIFIER, id)
    }

    /// Proxy-State (33).
    pub fn proxy_state(state: &[u8]) -> Result<Self, AttributeError> {
        Self::opaque(AttributeType::PROXY_STATE, state)
    }

    /// The Vendor-Id of a Vendor-Specific attribute (`None` for other types or short values).
    pub fn vendor_id(&self) -> Option<u32> {
        match (self.attr_type, self.value.as_slice()) {
            (AttributeType::VENDOR_SPECIFIC, [a, b, c, d, _, ..]) => {
                Some(u32::from_be_bytes([*a, *b, *c, *d]))
            }
            _ => None,
        }
    }
}

/// Splits text into Reply-Message attributes: one per line (each keeping its `\n`), and lines
/// longer than 253 bytes split further at character boundaries. Concatenating the values in order
/// gives back `text`, so a NAS that joins Reply-Messages shows the text as written (a matrix grid
/// keeps its rows).
///
/// Fails only on empty text.
pub fn reply_message_lines(text: &str) -> Result<Vec<Attribute>, AttributeError> {
    if text.is_empty() {
        return Err(AttributeError::BadLength {
            attr_type: AttributeType::REPLY_MESSAGE,
            len: 0,
        });
    }
    let mut out = Vec::new();
    for line in text.split_inclusive('\n') {
        let mut rest = line;
        while !rest.is_empty() {
            let mut cut = rest.len().min(MAX_VALUE_LEN);
            while !rest.is_char_boundary(cut) {
                cut -= 1;
            }
            let (chunk, tail) = rest.split_at(cut);
            out.push(Attribute::new(
                AttributeType::REPLY_MESSAGE,
                chunk.as_bytes(),
            )?);
            rest = tail;
        }
    }
    Ok(out)
}

impl Packet {
    fn single(&self, attr_type: AttributeType) -> Result<Option<&[u8]>, AttributeError> {
        let mut found = self.all(attr_type);
        let first = found.next();
        let extra = found.count();
        if extra > 0 {
            return Err(AttributeError::Repeated {
                attr_type,
                count: extra + 1,
            });
        }
        Ok(first.map(Attribute::value))
    }

    fn single_text(&self, attr_type: AttributeType) -> Result<Option<&str>, AttributeError> {
        match self.single(attr_type)? {
            None => Ok(None),
            Some([]) => Err(AttributeError::BadLength { attr_type, len: 0 }),
            Some(bytes) => core::str::from_utf8(bytes)
                .map(Some)
                .map_err(|_| AttributeError::NotUtf8 { attr_type }),
        }
    }

    fn multi(&self, attr_type: AttributeType) -> impl Iterator<Item = &[u8]> + '_ {
        self.all(attr_type).map(Attribute::value)
    }

    /// User-Name (1), at most once, UTF-8.
    pub fn user_name(&self) -> Result<Option<&str>, AttributeError> {
        self.single_text(AttributeType::USER_NAME)
    }

    /// The hidden User-Password (2) value, at most once; see
    /// [`crate::radius::auth::unhide_password`].
    pub fn user_password_hidden(&self) -> Result<Option<&[u8]>, AttributeError> {
        self.single(AttributeType::USER_PASSWORD)
    }

    /// NAS-IP-Address (4), at most once, 4 bytes.
    pub fn nas_ip_address(&self) -> Result<Option<Ipv4Addr>, AttributeError> {
        match self.single(AttributeType::NAS_IP_ADDRESS)? {
            None => Ok(None),
            Some([a, b, c, d]) => Ok(Some(Ipv4Addr::new(*a, *b, *c, *d))),
            Some(other) => Err(AttributeError::BadLength {
                attr_type: AttributeType::NAS_IP_ADDRESS,
                len: other.len(),
            }),
        }
    }

    /// Filter-Id (11) values in wire order.
    pub fn filter_ids(&self) -> impl Iterator<Item = &[u8]> + '_ {
        self.multi(AttributeType::FILTER_ID)
    }

    /// Reply-Message (18) values in wire order.
    pub fn reply_messages(&self) -> impl Iterator<Item = &[u8]> + '_ {
        self.multi(AttributeType::REPLY_MESSAGE)
    }

    /// State (24), at most once.
    pub fn state(&self) -> Result<Option<&[u8]>, AttributeError> {
        self.single(AttributeType::STATE)
    }

    /// Class (25) values in wire order.
    pub fn classes(&self) -> impl Iterator<Item = &[u8]> + '_ {
        self.multi(AttributeType::CLASS)
    }

    /// Vendor-Specific (26) attributes in wire order, raw.
    pub fn vendor_specific(&self) -> impl Iterator<Item = &Attribute> + '_ {
        self.all(AttributeType::VENDOR_SPECIFIC)
    }

    /// Session-Timeout (27), at most once, 4 bytes.
    pub fn session_timeout(&self) -> Result<Option<u32>, AttributeError> {
        match self.single(AttributeType::SESSION_TIMEOUT)? {
            None => Ok(None),
            Some([a, b, c, d]) => Ok(Some(u32::from_be_bytes([*a, *b, *c, *d]))),
            Some(other) => Err(AttributeError::BadLength {
                attr_type: AttributeType::SESSION_TIMEOUT,
                len: other.len(),
            }),
        }
    }

    /// Calling-Station-Id (31), at most once, UTF-8.
    pub fn calling_station_id(&self) -> Result<Option<&str>, AttributeError> {
        self.single_text(AttributeType::CALLING_STATION_ID)
    }

    /// NAS-Identifier (32), at most once, UTF-8.
    pub fn nas_identifier(&self) -> Result<Option<&str>, AttributeError> {
        self.single_text(AttributeType::NAS_IDENTIFIER)
    }

    /// Proxy-State (33) values in wire order.
    pub fn proxy_states(&self) -> impl Iterator<Item = &[u8]> + '_ {
        self.multi(AttributeType::PROXY_STATE)
    }

    /// Message-Authenticator (80), at most once, 16 bytes.
    pub fn message_authenticator(&self) -> Result<Option<&[u8; 16]>, AttributeError> {
        match self.single(AttributeType::MESSAGE_AUTHENTICATOR)? {
            None => Ok(None),
            Some(bytes) => {
                <&[u8; 16]>::try_from(bytes)
                    .map(Some)
                    .map_err(|_| AttributeError::BadLength {
                        attr_type: AttributeType::MESSAGE_AUTHENTICATOR,
                        len: bytes.len(),
                    })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::radius::packet::Code;

    fn packet(attributes: Vec<Attribute>) -> Packet {
        Packet {
            code: Code::AccessRequest,
            identifier: 1,
            authenticator: [0; 16],
            attributes,
        }
    }

    #[test]
    fn radius_typed_round_trip() {
        let p = packet(vec![
            Attribute::user_name("alice").unwrap(),
            Attribute::nas_ip_address(Ipv4Addr::new(10, 0, 0, 1)),
            Attribute::nas_identifier("vpn-1").unwrap(),
            Attribute::calling_station_id("00-11-22").unwrap(),
            Attribute::session_timeout(3600),
            Attribute::state(b"s1").unwrap(),
            Attribute::class(b"c1").unwrap(),
            Attribute::class(b"c2").unwrap(),
            Attribute::filter_id("staff").unwrap(),
            Attribute::reply_message("hello").unwrap(),
            Attribute::reply_message("world").unwrap(),
            Attribute::proxy_state(b"p").unwrap(),
            Attribute::vendor_specific(&[0, 0, 0x01, 0x37, 1, 3, b'x']).unwrap(),
        ]);
        let bytes = crate::radius::packet::encode(&p).unwrap();
        let p = crate::radius::packet::decode(&bytes).unwrap();
        assert_eq!(p.user_name().unwrap(), Some("alice"));
        assert_eq!(
            p.nas_ip_address().unwrap(),
            Some(Ipv4Addr::new(10, 0, 0, 1))
        );
        assert_eq!(p.nas_identifier().unwrap(), Some("vpn-1"));
        assert_eq!(p.calling_station_id().unwrap(), Some("00-11-22"));
        assert_eq!(p.session_timeout().unwrap(), Some(3600));
        assert_eq!(p.state().unwrap(), Some(&b"s1"[..]));
        assert_eq!(p.classes().collect::<Vec<_>>(), [b"c1", b"c2"]);
        assert_eq!(p.filter_ids().collect::<Vec<_>>(), [b"staff"]);
        assert_eq!(p.reply_messages().collect::<Vec<_>>(), [b"hello", b"world"]);
        assert_eq!(p.proxy_states().collect::<Vec<_>>(), [b"p"]);
        assert_eq!(p.vendor_specific().next().unwrap().vendor_id(), Some(311));
        assert_eq!(p.message_authenticator().unwrap(), None);
        assert_eq!(p.user_password_hidden().unwrap(), None);
    }

    #[test]
    fn radius_typed_errors() {
        let p = packet(vec![
            Attribute::user_name("a").unwrap(),
            Attribute::user_name("b").unwrap(),
            Attribute::new(AttributeType::NAS_IP_ADDRESS, &[1, 2, 3]).unwrap(),
            Attribute::new(AttributeType::NAS_IDENTIFIER, &[0xff]).unwrap(),
            Attribute::new(AttributeType::MESSAGE_AUTHENTICATOR, &[0; 15]).unwrap(),
        ]);
        assert!(matches!(
            p.user_name(),
            Err(AttributeError::Repeated { count: 2, .. })
        ));
        assert!(matches!(
            p.nas_ip_address(),
            Err(AttributeError::BadLength { len: 3, .. })
        ));
        assert!(matches!(
            p.nas_identifier(),
            Err(AttributeError::NotUtf8 { .. })
        ));
        assert!(matches!(
            p.message_authenticator(),
            Err(AttributeError::BadLength { len: 15, .. })
        ));
        assert!(Attribute::new(AttributeType::CLASS, &[0; 254]).is_err());
        assert!(Attribute::user_name("").is_err());
        assert!(Attribute::state(&[]).is_err());
        assert!(Attribute::vendor_specific(&[0, 0, 0, 9]).is_err());
    }

    #[test]
    fn radius_reply_message_lines_split_and_rejoin() {
        let grid = "   A B C D\n1  3 7 0 2\n2  9 4 4 1\n";
        let attrs = reply_message_lines(grid).unwrap();
        assert_eq!(attrs.len(), 3);
        let joined: Vec<u8> = attrs.iter().flat_map(|a| a.value().to_vec()).collect();
        assert_eq!(joined, grid.as_bytes());

        // A 600-byte line of 2-byte characters: chunks of at most 253 bytes, on char boundaries.
        let long = "é".repeat(300);
        let attrs = reply_message_lines(&long).unwrap();
        assert!(attrs.iter().all(|a| a.value().len() <= MAX_VALUE_LEN));
        assert!(attrs
            .iter()
            .all(|a| core::str::from_utf8(a.value()).is_ok()));
        let joined: Vec<u8> = attrs.iter().flat_map(|a| a.value().to_vec()).collect();
        assert_eq!(joined, long.as_bytes());
        assert_eq!(attrs.len(), 3);
        assert!(reply_message_lines("").is_err());
    }

    #[test]
    fn radius_password_is_redacted_in_debug() {
        let a = Attribute::new(AttributeType::USER_PASSWORD, b"plain-ish").unwrap();
        assert!(!format!("{a:?}").contains("plain-ish"));
    }
}
