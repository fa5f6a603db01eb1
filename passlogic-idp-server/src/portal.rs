//! The user portal's model (docs/portal.md): how a service appears on the portal (a display
//! name and, for OpenID Connect clients, the login URL that starts a sign-in at the client),
//! which services a signed-in user may use, and the colours of the letter tiles.
//!
//! "May use" is the access engine's own decision ([`crate::access::visible`]): the same rules
//! SSO applies, so the portal never shows a tile whose click would end on the denial page. A
//! service that needs a step-up is shown (SSO asks for the missing step).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use passlogic_idp_core::factor::bingo::BingoPattern;
use passlogic_idp_core::factor::matrix::{MatrixSecret, Pattern};
use passlogic_idp_core::factor::otp::{self, OtpSecret};
use passlogic_idp_core::pipeline::Method;
use passlogic_idp_core::policy::directory::{ServiceKind, ServiceRef};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::factors;
use crate::secrets;
use crate::signin::{PatternChangeError, SignIn};
use crate::store::{SessionRow, UserRow};

/// How a service appears on the portal (the `portal` JSON column, migration 0017).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortalInfo {
    /// The name on the tile (default: the entity or client ID).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// Where a click goes for an OpenID Connect client (its `initiate_login_uri`): a page of
    /// the client that starts an authorization request. A client without one has no tile:
    /// the IdP cannot start a sign-in at a relying party by itself.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub login_url: Option<String>,
}

impl PortalInfo {
    /// Reads the stored JSON (missing or unreadable: no settings).
    pub fn from_column(text: Option<&str>) -> PortalInfo {
        text.and_then(|t| serde_json::from_str(t).ok())
            .unwrap_or_default()
    }

    /// The JSON to store, or `None` when nothing is set.
    pub fn to_column(&self) -> Option<String> {
        (self != &PortalInfo::default()).then(|| serde_json::to_string(self).unwrap_or_default())
    }
}

/// Longest display name, in characters.
pub const MAX_DISPLAY_NAME: usize = 64;

/// Checks a display name: 1 to [`MAX_DISPLAY_NAME`] characters, no control characters.
pub fn check_display_name(name: &str) -> Result<String, String> {
    let name = name.trim();
    if name.is_empty() {
        return Err("the display name is empty".into());
    }
    if name.chars().count() > MAX_DISPLAY_NAME {
        return Err(format!(
            "the display name is longer than {MAX_DISPLAY_NAME} characters"
        ));
    }
    if name.chars().any(char::is_control) {
        return Err("the display name contains a control character".into());
    }
    Ok(name.to_owned())
}

/// Checks a login URL: an absolute `https://` URL (or `http://` on 127.0.0.1, [::1] or
/// localhost, for relying parties on this machine), without user info or fragment, at most
/// 2048 bytes. The portal renders it as a link, so anything else (`javascript:`, relative
/// paths) is refused here.
pub fn check_login_url(url: &str) -> Result<String, String> {
    let url = url.trim();
    if url.len() > 2048 {
        return Err("the login URL is longer than 2048 bytes".into());
    }
    if url.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err("the login URL contains spaces or control characters".into());
    }
    let (https, rest) = if let Some(r) = url.strip_prefix("https://") {
        (true, r)
    } else if let Some(r) = url.strip_prefix("http://") {
        (false, r)
    } else {
        return Err("the login URL must start with https://".into());
    };
    if url.contains('#') {
        return Err("the login URL must not have a fragment".into());
    }
    let authority = rest.split(['/', '?']).next().unwrap_or("");
    if authority.is_empty() || authority.contains('@') || authority.contains('\\') {
        return Err("the login URL has no valid host".into());
    }
    if !https {
        let host = if let Some(v6) = authority.strip_prefix('[') {
            v6.split(']').next().unwrap_or("")
        } else {
            authority.split(':').next().unwrap_or("")
        };
        if !matches!(host, "127.0.0.1" | "::1" | "localhost") {
            return Err("the login URL must use https:// (http:// only on loopback)".into());
        }
    }
    Ok(url.to_owned())
}

/// Number of tile colours (the Okabe-Ito palette in static/app.css, `.tile-0` .. `.tile-6`; its
/// black is left out: a black tile reads as a missing icon).
pub const TILE_COLOURS: u32 = 7;

/// A stable colour for a service: FNV-1a of its ID, modulo the palette.
pub fn tile_colour(id: &str) -> u32 {
    let mut h: u32 = 0x811c_9dc5;
    for b in id.bytes() {
        h ^= u32::from(b);
        h = h.wrapping_mul(0x0100_0193);
    }
    h % TILE_COLOURS
}

/// The tile's letter: the first letter or digit of the name, upper-cased (`?` if none).
pub fn tile_letter(name: &str) -> String {
    name.chars()
        .find(|c| c.is_alphanumeric())
        .map(|c| c.to_uppercase().collect())
        .unwrap_or_else(|| "?".into())
}

/// One service tile of the portal.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tile {
    /// `saml` or `oidc`.
    pub kind: &'static str,
    /// The entity or client ID.
    pub id: String,
    /// The name shown.
    pub name: String,
    /// Where a click goes.
    pub href: String,
    /// The letter in the tile.
    pub letter: String,
    /// Index into the palette.
    pub colour: u32,
}

/// `application/x-www-form-urlencoded` value encoding (unreserved characters kept).
fn form_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The tiles of every service `user` may use with `session` from `ip`, sorted by name.
pub async fn tiles_for(
    signin: &SignIn,
    user: &UserRow,
    session: &SessionRow,
    ip: Option<&str>,
) -> anyhow::Result<Vec<Tile>> {
    let mut out = Vec::new();
    for row in signin.store.portal_services(signin.tenant_id).await? {
        let info = PortalInfo::from_column(row.portal.as_deref());
        let (service, href) = match row.kind {
            "saml" => (
                ServiceRef::new(ServiceKind::SamlSp, row.id.clone()),
                format!("/saml/idp-init?sp={}", form_encode(&row.id)),
            ),
            _ => {
                // Only a client with a (still valid) login URL can be started from here.
                let Some(url) = info
                    .login_url
                    .as_deref()
                    .and_then(|u| check_login_url(u).ok())
                else {
                    continue;
                };
                (
                    ServiceRef::new(ServiceKind::OidcClient, row.id.clone()),
                    url,
                )
            }
        };
        if !crate::access::visible(signin, user, session, &service, ip).await? {
            continue;
        }
        let name = info.display_name.clone().unwrap_or_else(|| row.id.clone());
        out.push(Tile {
            kind: row.kind,
            letter: tile_letter(&name),
            colour: tile_colour(&row.id),
            id: row.id,
            name,
            href,
        });
    }
    out.sort_by_key(|t| t.name.to_lowercase());
    Ok(out)
}

// -- security settings ---------------------------------------------------------------------

/// How long after a sign-in the portal accepts security changes that need no current secret
/// (pattern, authenticator app, bingo): older sessions are sent through the sign-in again, as
/// serious IdPs ask for a recent authentication before changing credentials. The PIN change
/// instead asks for the current PIN.
pub const FRESH_SIGN_IN_SECS: i64 = 10 * 60;

/// Whether the session's sign-in is recent enough for a security change.
pub fn is_fresh(session: &SessionRow, now: i64) -> bool {
    now.saturating_sub(session.auth_time) <= FRESH_SIGN_IN_SECS
}

/// How long a pending authenticator enrolment (the secret shown on the page) stays usable.
pub const PENDING_ENROLMENT_SECS: i64 = 10 * 60;

fn pending_aad(method: Method, user: &UserRow) -> Vec<u8> {
    secrets::user_aad(
        &format!("portal-enrol-{}", method.as_str()),
        user.tenant_id,
        user.id,
    )
}

/// Outcome of confirming an authenticator enrolment.
#[derive(Debug, PartialEq, Eq)]
pub enum EnrolOutcome {
    /// Enrolled (or replaced).
    Enrolled,
    /// The code did not match the pending secret (or was used already).
    CodeWrong,
    /// No pending secret (expired, tampered with, or of another user).
    NoPending,
}

impl SignIn {
    /// A new pending authenticator secret for the portal, sealed under the KEK for this user
    /// and method with its creation time: the value of a short-lived cookie, so that no table
    /// holds unconfirmed secrets. Returns the secret and the cookie value.
    pub fn portal_pending_new(&self, user: &UserRow, method: Method) -> (OtpSecret, String) {
        let secret = OtpSecret::generate(&mut rand::rngs::OsRng, OtpSecret::DEFAULT_LEN);
        let mut plain = self.clock.unix().to_be_bytes().to_vec();
        plain.extend_from_slice(secret.as_bytes());
        let sealed = secrets::seal_bytes(&self.keyring, &pending_aad(method, user), &plain);
        (secret, URL_SAFE_NO_PAD.encode(sealed))
    }

    /// Opens a pending secret cookie; `None` when it is not this user's, not this method's,
    /// tampered with, or older than [`PENDING_ENROLMENT_SECS`].
    pub fn portal_pending_open(
        &self,
        user: &UserRow,
        method: Method,
        cookie: &str,
    ) -> Option<OtpSecret> {
        let blob = URL_SAFE_NO_PAD.decode(cookie).ok()?;
        let plain = secrets::open_bytes(&self.keyring, &pending_aad(method, user), &blob).ok()?;
        let (at, secret) = plain.split_at_checked(8)?;
        let at = i64::from_be_bytes(at.try_into().ok()?);
        let age = self.clock.unix().saturating_sub(at);
        ((0..=PENDING_ENROLMENT_SECS).contains(&age) && !secret.is_empty())
            .then(|| OtpSecret::from_bytes(secret.to_vec()))
    }

    /// The `otpauth://` URI of a pending secret under the user's policy.
    pub async fn portal_otpauth(
        &self,
        user: &UserRow,
        secret: &OtpSecret,
    ) -> anyhow::Result<String> {
        let policy = self.policy_for(Some(user.id)).await?;
        Ok(otp::otpauth_uri(
            factors::ISSUER,
            &user.name,
            secret,
            &policy.totp,
        ))
    }

    /// Confirms a portal enrolment (TOTP or bingo) with a code of the pending secret and stores
    /// it sealed, replacing an earlier one. Audited either way.
    pub async fn portal_enrol_app(
        &self,
        user: &UserRow,
        method: Method,
        secret: &OtpSecret,
        code: &str,
        ip: Option<&str>,
    ) -> anyhow::Result<EnrolOutcome> {
        let policy = self.policy_for(Some(user.id)).await?;
        let step = otp::totp_verify(secret, &policy.totp, code.trim(), self.clock.now(), None).ok();
        let fresh = match step {
            Some(step) => {
                self.store
                    .use_once(
                        method.as_str(),
                        &format!("{}:{step}", user.id),
                        factors::totp_replay_expiry(step, &policy.totp),
                    )
                    .await?
            }
            None => false,
        };
        if !fresh {
            self.audit(self.audit_event(
                &user.name,
                "factor.enrol_failed",
                &user.name,
                "failure",
                json!({ "method": method.as_str(), "via": "portal", "reason": "code_wrong" }),
                ip,
            ))
            .await;
            return Ok(EnrolOutcome::CodeWrong);
        }
        let replaced = self.enrolled(user).await?.contains(&method);
        factors::enrol_app(
            &self.store,
            &self.keyring,
            self.clock.unix(),
            user,
            method,
            secret,
            &policy.totp,
        )
        .await?;
        self.audit(self.audit_event(
            &user.name,
            "factor.enrolled",
            &user.name,
            "success",
            json!({ "method": method.as_str(), "via": "portal", "replaced": replaced }),
            ip,
        ))
        .await;
        Ok(EnrolOutcome::Enrolled)
    }

    /// Changes a signed-in user's own pattern (the caller checked [`is_fresh`]): the same rules
    /// as at first sign-in, and it must differ from the current pattern. The additional phrase
    /// is kept. Audited either way.
    pub async fn change_own_pattern(
        &self,
        user: &UserRow,
        pattern: &str,
        confirm: &str,
        ip: Option<&str>,
    ) -> anyhow::Result<Result<(), PatternChangeError>> {
        let result = self.check_new_pattern(user, pattern, confirm).await?;
        let (new, old) = match result {
            Ok(pair) => pair,
            Err(e) => {
                self.audit(self.audit_event(
                    &user.name,
                    "pattern.change_refused",
                    &user.name,
                    "failure",
                    json!({ "via": "portal", "reason": refusal_reason(&e) }),
                    ip,
                ))
                .await;
                return Ok(Err(e));
            }
        };
        let secret = MatrixSecret {
            pattern: new,
            phrase: old.phrase,
        };
        let sealed = secrets::seal_matrix(&self.keyring, user.tenant_id, user.id, &secret);
        self.store
            .set_matrix_secret(user.id, &sealed, false, self.clock.unix())
            .await?;
        self.audit(self.audit_event(
            &user.name,
            "pattern.changed",
            &user.name,
            "success",
            json!({ "initial": false, "via": "portal" }),
            ip,
        ))
        .await;
        Ok(Ok(()))
    }

    async fn check_new_pattern(
        &self,
        user: &UserRow,
        pattern: &str,
        confirm: &str,
    ) -> anyhow::Result<Result<(Pattern, MatrixSecret), PatternChangeError>> {
        let (Ok(new), Ok(again)) = (Pattern::parse_csv(pattern), Pattern::parse_csv(confirm))
        else {
            return Ok(Err(PatternChangeError::Malformed));
        };
        if new.cells() != again.cells() {
            return Ok(Err(PatternChangeError::Mismatch));
        }
        let policy = self.policy_for(Some(user.id)).await?;
        if let Err(rule) = policy.pattern_rules.check(&policy.grid, &new) {
            return Ok(Err(PatternChangeError::Rule(rule)));
        }
        let Some(blob) = user.matrix_secret.as_deref() else {
            return Ok(Err(PatternChangeError::NoAttempt));
        };
        let old = secrets::open_matrix(&self.keyring, user.tenant_id, user.id, blob)?;
        if old.pattern.cells() == new.cells() {
            return Ok(Err(PatternChangeError::SameAsInitial));
        }
        Ok(Ok((new, old)))
    }
}

/// The audit reason of a refused pattern: the rule only, never a cell of the candidate (a user
/// often retries with a variation of it).
fn refusal_reason(e: &PatternChangeError) -> &'static str {
    use passlogic_idp_core::factor::matrix::PatternRejection as R;
    match e {
        PatternChangeError::Malformed => "malformed",
        PatternChangeError::NoAttempt => "no_pattern",
        PatternChangeError::Mismatch => "mismatch",
        PatternChangeError::SameAsInitial => "same_as_current",
        PatternChangeError::Rule(r) => match r {
            R::TooShort { .. } => "too_short",
            R::TooLong { .. } => "too_long",
            R::CellOutOfRange { .. } => "cell_out_of_range",
            R::SingleStroke => "single_stroke",
            R::BlockUnused { .. } => "block_unused",
            R::StraightLine => "straight_line",
        },
    }
}

/// Checks bingo cells for a user whose codes have `digits` digits: the core's rules (distinct
/// cells of the 5x5 grid) and one cell per digit.
pub fn check_bingo_cells(csv: &str, digits: usize) -> Result<BingoPattern, BingoCellsError> {
    let p = BingoPattern::parse_csv(csv).map_err(BingoCellsError::Core)?;
    if p.len() != digits {
        return Err(BingoCellsError::Count { digits });
    }
    Ok(p)
}

/// Why bingo cells were refused.
#[derive(Debug, PartialEq, Eq)]
pub enum BingoCellsError {
    /// The core's rule (length bounds, range, a repeated cell, not a number).
    Core(passlogic_idp_core::factor::bingo::BingoError),
    /// Not one cell per code digit.
    Count {
        /// Digits of the user's codes.
        digits: usize,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn login_urls_must_be_https_or_loopback() {
        assert!(check_login_url("https://app.example/login?x=1").is_ok());
        assert!(check_login_url("http://127.0.0.1:8080/start").is_ok());
        assert!(check_login_url("http://localhost/start").is_ok());
        assert!(check_login_url("http://[::1]:9/start").is_ok());
        for bad in [
            "javascript:alert(1)",
            "/relative",
            "//evil.example/",
            "http://app.example/login",
            "https://user@app.example/",
            "https://app.example/#frag",
            "https:///path",
            "https://app.example/ x",
            "http://127.0.0.1.evil.example/",
        ] {
            assert!(check_login_url(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn display_names_are_bounded() {
        assert_eq!(check_display_name("  Mail  ").unwrap(), "Mail");
        assert!(check_display_name("").is_err());
        assert!(check_display_name("a\u{7}b").is_err());
        assert!(check_display_name(&"x".repeat(65)).is_err());
        assert!(check_display_name(&"経".repeat(64)).is_ok());
    }

    #[test]
    fn letters_and_colours_are_stable() {
        assert_eq!(tile_letter("salesforce"), "S");
        assert_eq!(tile_letter("  -box"), "B");
        assert_eq!(tile_letter("経費精算"), "経");
        assert_eq!(tile_letter("--"), "?");
        assert_eq!(
            tile_colour("https://sp.example"),
            tile_colour("https://sp.example")
        );
        assert!(tile_colour("x") < TILE_COLOURS);
    }

    #[test]
    fn portal_info_round_trips() {
        assert_eq!(PortalInfo::default().to_column(), None);
        let i = PortalInfo {
            display_name: Some("Mail".into()),
            login_url: None,
        };
        assert_eq!(PortalInfo::from_column(i.to_column().as_deref()), i);
        assert_eq!(
            PortalInfo::from_column(Some("not json")),
            PortalInfo::default()
        );
    }

    /// Relative luminance (WCAG 2.x) of `#rrggbb`.
    fn luminance(hex: &str) -> f64 {
        let v = u32::from_str_radix(hex.trim_start_matches('#'), 16).unwrap();
        let ch = |s: u32| {
            let c = f64::from((v >> s) & 0xff) / 255.0;
            if c <= 0.039_28 {
                c / 12.92
            } else {
                ((c + 0.055) / 1.055).powf(2.4)
            }
        };
        0.2126 * ch(16) + 0.7152 * ch(8) + 0.0722 * ch(0)
    }

    /// Every tile colour of the stylesheet has text contrast of at least 4.5:1 (WCAG AA).
    #[test]
    fn tile_colours_have_enough_contrast() {
        let css = include_str!("../static/app.css");
        // Every block is closed (a lost brace silently swallows every later rule).
        let mut depth = 0i32;
        for c in css.chars() {
            match c {
                '{' => depth += 1,
                '}' => depth -= 1,
                _ => {}
            }
            assert!(depth >= 0, "app.css closes a block it never opened");
        }
        assert_eq!(depth, 0, "app.css leaves a block open");
        for i in 0..TILE_COLOURS {
            let marker = format!(".tile-{i} {{");
            let start = css
                .find(&marker)
                .unwrap_or_else(|| panic!("{marker} missing"));
            let rule = &css[start..start + css[start..].find('}').unwrap()];
            let colour = |prop: &str| {
                let at = rule
                    .find(prop)
                    .unwrap_or_else(|| panic!("{prop} in {rule}"));
                rule[at + prop.len()..].trim_start()[..7].to_owned()
            };
            let (bg, fg) = (colour("background:"), colour(" color:"));
            let (a, b) = (luminance(&bg), luminance(&fg));
            let ratio = (a.max(b) + 0.05) / (a.min(b) + 0.05);
            assert!(ratio >= 4.5, "{marker} {bg} on {fg}: {ratio:.2}");
        }
    }
}
