//! Forward authentication: the decisions behind `GET /auth/forward` and `GET /auth/start`
//! (handlers in `web::forward`), kept free of HTTP types so they can be tested alone.
//!
//! A reverse proxy (nginx `auth_request`, Traefik `ForwardAuth`, Caddy `forward_auth`) asks us
//! about each request to a protected app, passing the original URL in `X-Original-URL` (nginx)
//! or `X-Forwarded-Proto` / `X-Forwarded-Host` / `X-Forwarded-Uri` (Traefik, Caddy) and the
//! browser's cookies. The session cookie reaches us because it is set for the parent domain
//! (`serve --cookie-domain`).
//!
//! - [`original_url`] reads the original URL from those headers;
//! - [`ForwardAuthConfig::allowed_url`] is the only gate for any URL we send a browser to
//!   (`rd=`): http(s), no user info, host equal to or under a configured domain
//!   (`serve --forward-auth-domain`), so there is no open redirect;
//! - [`authorize`] is the one access check (user's policy, app registered for the host). An
//!   access-policy engine (group, source, time rules) plugs in there.
//!
//! Known gaps (not done yet): only the host selects the app (no per-path rules); the access
//! policy engine of `policy::engine` is not consulted yet; sign-out does not reach the apps
//! beyond deleting the shared session.

pub use crate::percent::encode;
use passlogic_idp_core::policy::AuthPolicy;
use url::Url;

use crate::store::ForwardAppRow;

/// Settings of forward authentication (from `serve` flags).
#[derive(Clone, Debug)]
pub struct ForwardAuthConfig {
    /// Parent domains of the protected apps (lowercase). Empty: forward authentication refuses
    /// every request (nothing is configured).
    pub domains: Vec<String>,
    /// The IdP's public base URL (where browsers sign in).
    pub public_url: String,
    /// Response header naming the user (default `Remote-User`).
    pub user_header: String,
    /// Response header with the e-mail address (default `Remote-Email`).
    pub email_header: String,
    /// Response header with the comma-separated group names (default `Remote-Groups`).
    pub groups_header: String,
}

impl ForwardAuthConfig {
    /// Settings with the default header names.
    pub fn new(domains: Vec<String>, public_url: String) -> Self {
        Self {
            domains: domains
                .into_iter()
                .map(|d| d.trim().trim_start_matches('.').to_ascii_lowercase())
                .filter(|d| !d.is_empty())
                .collect(),
            public_url: public_url.trim_end_matches('/').to_owned(),
            user_header: "Remote-User".into(),
            email_header: "Remote-Email".into(),
            groups_header: "Remote-Groups".into(),
        }
    }

    /// Sets the identity header names from `USER,EMAIL,GROUPS`.
    pub fn set_header_names(&mut self, names: &str) -> anyhow::Result<()> {
        let parts: Vec<&str> = names.split(',').map(str::trim).collect();
        let [user, email, groups] = parts.as_slice() else {
            anyhow::bail!("--forward-auth-headers takes three names: USER,EMAIL,GROUPS");
        };
        for n in [user, email, groups] {
            axum::http::HeaderName::from_bytes(n.as_bytes())
                .map_err(|_| anyhow::anyhow!("{n:?} is not a header name"))?;
        }
        self.user_header = (*user).to_owned();
        self.email_header = (*email).to_owned();
        self.groups_header = (*groups).to_owned();
        Ok(())
    }

    /// Whether `host` (no port) is a configured domain or below one.
    pub fn host_allowed(&self, host: &str) -> bool {
        let host = host.to_ascii_lowercase();
        self.domains
            .iter()
            .any(|d| host == *d || host.ends_with(&format!(".{d}")))
    }

    /// `raw` as a URL we may send a browser to, or `None`.
    pub fn allowed_url(&self, raw: &str) -> Option<Url> {
        if raw.len() > 4096 || raw.chars().any(|c| c.is_control() || c == '\\') {
            return None;
        }
        let url = Url::parse(raw).ok()?;
        let host = url.host_str()?;
        let ok = matches!(url.scheme(), "http" | "https")
            && url.username().is_empty()
            && url.password().is_none()
            && self.host_allowed(host);
        ok.then_some(url)
    }
}

/// The original request's URL from the proxy's headers (`get` reads one header by name):
/// `X-Original-URL`, else `X-Forwarded-Proto` + `X-Forwarded-Host` + `X-Forwarded-Uri`.
pub fn original_url<'a>(get: impl Fn(&str) -> Option<&'a str>) -> Option<String> {
    if let Some(u) = get("x-original-url") {
        return Some(u.to_owned());
    }
    let proto = get("x-forwarded-proto").unwrap_or("https");
    let host = get("x-forwarded-host")?;
    let uri = get("x-forwarded-uri").unwrap_or("/");
    let uri = if uri.starts_with('/') { uri } else { "/" };
    Some(format!("{proto}://{host}{uri}"))
}

/// The answer of [`authorize`].
#[derive(Debug, PartialEq, Eq)]
pub enum Access {
    /// Let the request through.
    Allow,
    /// Refuse (403); the reason is for the audit trail.
    Deny(&'static str),
}

/// The one access check of forward authentication: may a user under `policy` open the app
/// registered for the request's host (`None`: no app registered)?
pub fn authorize(policy: &AuthPolicy, app: Option<&ForwardAppRow>) -> Access {
    let Some(app) = app else {
        return Access::Deny("no_app_for_host");
    };
    match &policy.forward_auth_apps {
        None => Access::Allow,
        Some(list) if list.contains(&app.name) => Access::Allow,
        Some(_) => Access::Deny("app_not_in_policy"),
    }
}

/// The value of `rd` in a raw query string. nginx cannot URL-encode, so a value starting with
/// `http://` or `https://` is taken literally up to the end of the query (it may hold `&`);
/// anything else is percent-decoded up to the next `&`.
pub fn rd_param(query: &str) -> Option<String> {
    let start = if query.starts_with("rd=") {
        3
    } else {
        query.find("&rd=")? + 4
    };
    let rest = &query[start..];
    if rest.starts_with("http://") || rest.starts_with("https://") {
        return Some(rest.to_owned());
    }
    let value = rest.split('&').next().unwrap_or("");
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> ForwardAuthConfig {
        ForwardAuthConfig::new(
            vec![".Example.test".into()],
            "http://auth.example.test/".into(),
        )
    }

    #[test]
    fn forward_return_urls_only_to_configured_domains() {
        let c = config();
        for ok in [
            "http://app.example.test/",
            "https://example.test/x?y=1&z=2",
            "https://deep.app.EXAMPLE.test:8443/p",
        ] {
            assert!(c.allowed_url(ok).is_some(), "{ok}");
        }
        for bad in [
            "https://evil.test/",
            "https://example.test.evil.test/",
            "https://evilexample.test/",
            "javascript:alert(1)",
            "//app.example.test/",
            "/relative",
            "https://user:pw@app.example.test/",
            "https://app.example.test\\@evil.test/",
            "ftp://app.example.test/",
            "https://app.example.test/\n",
        ] {
            assert!(c.allowed_url(bad).is_none(), "{bad}");
        }
        assert!(ForwardAuthConfig::new(vec![], String::new())
            .allowed_url("https://app.example.test/")
            .is_none());
    }

    #[test]
    fn forward_original_url_from_either_header_style() {
        let nginx = |n: &str| (n == "x-original-url").then_some("http://a.example.test/p?q");
        assert_eq!(original_url(nginx).unwrap(), "http://a.example.test/p?q");
        let traefik = |n: &str| match n {
            "x-forwarded-proto" => Some("https"),
            "x-forwarded-host" => Some("b.example.test"),
            "x-forwarded-uri" => Some("/x"),
            _ => None,
        };
        assert_eq!(original_url(traefik).unwrap(), "https://b.example.test/x");
        assert_eq!(original_url(|_| None), None);
    }

    #[test]
    fn forward_rd_parameter() {
        assert_eq!(
            rd_param("rd=http://a.example.test/p?x=1&y=2").unwrap(),
            "http://a.example.test/p?x=1&y=2"
        );
        assert_eq!(
            rd_param("lang=en&rd=https%3A%2F%2Fa.example.test%2F&z=1").unwrap(),
            "https://a.example.test/"
        );
        assert_eq!(rd_param("x=1"), None);
        assert_eq!(rd_param("rd=%zz"), None);
        assert_eq!(rd_param("rd=%4"), None);
    }

    #[test]
    fn forward_authorize_by_policy_and_app() {
        let app = ForwardAppRow {
            name: "wiki".into(),
            host: "wiki.example.test".into(),
        };
        let mut p = AuthPolicy::default();
        assert_eq!(authorize(&p, Some(&app)), Access::Allow);
        assert_eq!(authorize(&p, None), Access::Deny("no_app_for_host"));
        p.forward_auth_apps = Some(vec!["crm".into()]);
        assert_eq!(authorize(&p, Some(&app)), Access::Deny("app_not_in_policy"));
        p.forward_auth_apps = Some(vec!["crm".into(), "wiki".into()]);
        assert_eq!(authorize(&p, Some(&app)), Access::Allow);
    }
}
