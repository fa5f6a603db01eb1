//! A minimal OpenID Connect relying party for trying passlogic-idp on one machine: the
//! authorization code flow with PKCE through the `openidconnect` crate, in a few blocking
//! lines (no async runtime, no web framework). See README.md.
//!
//! ```text
//! passlogic-idp serve --demo                      # prints the demo users and ready: URL
//! passlogic-idp client add --client-id example-rp \
//!     --redirect-uri http://127.0.0.1:9090/callback \
//!     --post-logout-redirect-uri http://127.0.0.1:9090/ --data-dir <the demo data directory>
//! ISSUER=http://127.0.0.1:8080 CLIENT_ID=example-rp CLIENT_SECRET=... \
//!     cargo run -p passlogic-example-oidc-rp
//! ```

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};

use openidconnect::core::{CoreAuthenticationFlow, CoreClient, CoreUserInfoClaims};
use openidconnect::url::Url;
use openidconnect::{
    AuthorizationCode, ClientId, ClientSecret, CsrfToken, IssuerUrl, LogoutRequest, Nonce,
    OAuth2TokenResponse, PkceCodeChallenge, PkceCodeVerifier, PostLogoutRedirectUrl,
    ProviderMetadataWithLogout, RedirectUrl, TokenResponse,
};

type Error = Box<dyn std::error::Error>;

fn env(name: &str, default: Option<&str>) -> Result<String, Error> {
    match (std::env::var(name), default) {
        (Ok(v), _) => Ok(v),
        (Err(_), Some(d)) => Ok(d.to_owned()),
        (Err(_), None) => Err(format!("set {name} (see the crate documentation)").into()),
    }
}

fn respond(stream: &mut TcpStream, status: &str, headers: &[(&str, &str)], body: &str) {
    let mut out = format!(
        "HTTP/1.1 {status}\r\ncontent-type: text/html; charset=utf-8\r\ncontent-length: {}\r\nconnection: close\r\n",
        body.len()
    );
    for (k, v) in headers {
        out.push_str(&format!("{k}: {v}\r\n"));
    }
    out.push_str("\r\n");
    out.push_str(body);
    let _ = stream.write_all(out.as_bytes());
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn main() -> Result<(), Error> {
    let issuer = env("ISSUER", Some("http://127.0.0.1:8080"))?;
    let listen = env("LISTEN", Some("127.0.0.1:9090"))?;
    let client_id = env("CLIENT_ID", Some("example-rp"))?;
    let secret = env("CLIENT_SECRET", None)?;
    let base = format!("http://{listen}");

    // No redirects from the HTTP client (the openidconnect crate's advice, against SSRF).
    let http = openidconnect::reqwest::blocking::Client::builder()
        .redirect(openidconnect::reqwest::redirect::Policy::none())
        .build()?;
    let metadata = ProviderMetadataWithLogout::discover(&IssuerUrl::new(issuer.clone())?, &http)?;
    let end_session = metadata.additional_metadata().end_session_endpoint.clone();
    let client = CoreClient::from_provider_metadata(
        metadata,
        ClientId::new(client_id),
        Some(ClientSecret::new(secret)),
    )
    .set_redirect_uri(RedirectUrl::new(format!("{base}/callback"))?);

    // state -> (PKCE verifier, nonce) of the sign-ins in progress.
    let mut pending: HashMap<String, (PkceCodeVerifier, Nonce)> = HashMap::new();
    let listener = TcpListener::bind(&listen)?;
    println!("example RP for {issuer}: open {base}/");
    for stream in listener.incoming() {
        let mut stream = stream?;
        let mut line = String::new();
        BufReader::new(&stream).read_line(&mut line)?;
        let target = line.split_whitespace().nth(1).unwrap_or("/").to_owned();
        let url = Url::parse(&format!("{base}{target}"))?;
        match url.path() {
            "/" => {
                let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
                let (auth_url, state, nonce) = client
                    .authorize_url(
                        CoreAuthenticationFlow::AuthorizationCode,
                        CsrfToken::new_random,
                        Nonce::new_random,
                    )
                    .set_pkce_challenge(challenge)
                    .url();
                pending.insert(state.secret().clone(), (verifier, nonce));
                respond(
                    &mut stream,
                    "302 Found",
                    &[("location", auth_url.as_str())],
                    "",
                );
            }
            "/callback" => {
                let q: HashMap<String, String> = url.query_pairs().into_owned().collect();
                let result = (|| -> Result<String, Error> {
                    if let Some(e) = q.get("error") {
                        return Err(format!("the IdP answered {e}").into());
                    }
                    let state = q.get("state").ok_or("no state")?;
                    let (verifier, nonce) = pending.remove(state).ok_or("unknown state")?;
                    let code = q.get("code").ok_or("no code")?;
                    let tokens = client
                        .exchange_code(AuthorizationCode::new(code.clone()))?
                        .set_pkce_verifier(verifier)
                        .request(&http)?;
                    let id_token = tokens.id_token().ok_or("no ID token")?;
                    let claims = id_token.claims(&client.id_token_verifier(), &nonce)?;
                    let info: CoreUserInfoClaims = client
                        .user_info(tokens.access_token().clone(), None)?
                        .request(&http)?;
                    let logout = end_session.clone().map(|e| {
                        LogoutRequest::from(e)
                            .set_id_token_hint(id_token)
                            .set_post_logout_redirect_uri(
                                PostLogoutRedirectUrl::new(format!("{base}/")).expect("a URL"),
                            )
                            .http_get_url()
                    });
                    Ok(format!(
                        "<h1>Signed in</h1><p>sub: {}</p><p>user: {}</p><p>acr: {}</p><p>amr: {}</p>{}",
                        escape(claims.subject().as_str()),
                        escape(info.preferred_username().map(|u| u.as_str()).unwrap_or("")),
                        escape(claims.auth_context_ref().map(|a| a.as_str()).unwrap_or("")),
                        escape(
                            &claims
                                .auth_method_refs()
                                .map(|v| v.iter().map(|a| a.as_str().to_owned()).collect::<Vec<_>>().join(", "))
                                .unwrap_or_default()
                        ),
                        logout
                            .map(|u| format!("<p><a href=\"{}\">Sign out</a></p>", escape(u.as_str())))
                            .unwrap_or_default(),
                    ))
                })();
                match result {
                    Ok(page) => respond(&mut stream, "200 OK", &[], &page),
                    Err(e) => respond(
                        &mut stream,
                        "400 Bad Request",
                        &[],
                        &format!("<p>{}</p>", escape(&e.to_string())),
                    ),
                }
            }
            _ => respond(&mut stream, "404 Not Found", &[], "not found"),
        }
    }
    Ok(())
}
