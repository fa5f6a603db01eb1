//! Percent-encoding of one URL component (a query value or a path segment): every byte but
//! RFC 3986's unreserved characters (`A-Z a-z 0-9 - _ . ~`) becomes `%XX`. One home for the
//! console's links, the guide URLs and forward authentication's redirects.

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

const COMPONENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// `value` percent-encoded as a URL component.
pub fn encode(value: &str) -> String {
    utf8_percent_encode(value, COMPONENT).to_string()
}

#[cfg(test)]
mod tests {
    #[test]
    fn keeps_only_unreserved_characters() {
        assert_eq!(super::encode("a-Z_0.~"), "a-Z_0.~");
        assert_eq!(super::encode("a b/c?d=e&f"), "a%20b%2Fc%3Fd%3De%26f");
        assert_eq!(super::encode("山田+@"), "%E5%B1%B1%E7%94%B0%2B%40");
    }
}
