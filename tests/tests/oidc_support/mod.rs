//! Helpers shared by the OIDC end-to-end tests (`oidc.rs`, `oidc_flows.rs`).
#![allow(dead_code)]

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;

use crate::common::TestServer;

/// The relying party's registered redirect and post-logout URIs (nothing listens there).
pub const CB: &str = "http://127.0.0.1:9/cb";
pub const BYE: &str = "http://127.0.0.1:9/bye";

pub fn line_value(out: &str, key: &str) -> String {
    out.lines()
        .find_map(|l| {
            l.trim()
                .strip_prefix(&format!("{key}: "))
                .map(str::to_owned)
        })
        .unwrap_or_else(|| panic!("no `{key}:` line in:\n{out}"))
}

/// `client add`; returns the printed secret for confidential clients.
pub fn add_client(server: &TestServer, id: &str, extra: &[&str]) -> Option<String> {
    let mut args = vec![
        "client",
        "add",
        "--client-id",
        id,
        "--redirect-uri",
        CB,
        "--post-logout-redirect-uri",
        BYE,
    ];
    args.extend_from_slice(extra);
    let out = server.cli_ok(&args);
    out.lines()
        .find_map(|l| l.strip_prefix("client_secret: "))
        .map(str::to_owned)
}

pub fn http() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

pub fn param(pairs: &[(String, String)], name: &str) -> Option<String> {
    pairs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.clone())
}

pub fn b64(v: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(v)
}
