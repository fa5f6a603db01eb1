//! First sign-in guides: the URL of the step-by-step page that walks a new user through their
//! first sign-in with one method, ready to paste into a welcome e-mail. The console builds it
//! (`/console/guides`); the portal serves the pages at `/guide/{method}` on the user listener.
//!
//! The URL format is the contract between the two:
//! `{public_url}/guide/{method}?lang={en|ja}[&user={login name, percent-encoded}]`.

/// The methods that have a guide page, in the order the console offers them.
pub const METHODS: &[&str] = &[
    "matrix",
    "pin",
    "totp",
    "bingo",
    "hardware_token",
    "client_certificate",
    "device_cookie",
    "login_protect",
    "passkey",
    "biometric",
];

/// The guide URL for `method` in `lang` (`en` or `ja`; anything else gives `en`), optionally
/// naming the user (percent-encoded). `public_url` is the user listener's public URL; a trailing
/// slash is dropped.
pub fn guide_url(public_url: &str, method: &str, lang: &str, user: Option<&str>) -> String {
    let lang = if lang == "ja" { "ja" } else { "en" };
    let mut url = format!(
        "{}/guide/{}?lang={lang}",
        public_url.trim_end_matches('/'),
        encode(method)
    );
    if let Some(u) = user.filter(|u| !u.is_empty()) {
        url.push_str("&user=");
        url.push_str(&encode(u));
    }
    url
}

/// Percent-encodes everything but RFC 3986's unreserved characters. Written here (a few lines)
/// rather than taken from a crate so the exact set is visible: the portal decodes it with any
/// standard query parser.
fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guide_url_follows_the_contract() {
        assert_eq!(
            guide_url("https://idp.example.jp", "matrix", "ja", None),
            "https://idp.example.jp/guide/matrix?lang=ja"
        );
        assert_eq!(
            guide_url(
                "https://idp.example.jp/",
                "totp",
                "en",
                Some("taro.yamada@example.jp")
            ),
            "https://idp.example.jp/guide/totp?lang=en&user=taro.yamada%40example.jp"
        );
        assert_eq!(
            guide_url("http://127.0.0.1:8080", "pin", "xx", Some("a b&c=d/é")),
            "http://127.0.0.1:8080/guide/pin?lang=en&user=a%20b%26c%3Dd%2F%C3%A9"
        );
        assert_eq!(
            guide_url("http://h", "pin", "en", Some("")),
            "http://h/guide/pin?lang=en"
        );
    }

    #[test]
    fn every_pipeline_method_has_a_guide() {
        for m in passlogic_idp_core::pipeline::Method::ALL {
            assert!(METHODS.contains(&m.as_str()), "{m}");
        }
        assert_eq!(
            METHODS.len(),
            passlogic_idp_core::pipeline::Method::ALL.len()
        );
    }
}
