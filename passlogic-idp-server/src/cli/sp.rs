//! `passlogic-idp sp ...`: the SAML service provider registry. `sp add` takes endpoints and
//! keys from the SP's metadata, behaviour from a preset, and the NameID source / format and
//! released attributes from flags (which win over the preset).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Subcommand;
use passlogic_idp_core::saml::MessageLimits;
use serde_json::json;

use super::Context;
use crate::admin;
use crate::registry::{register_sp, Preset, SpOptions};

#[derive(Subcommand, Debug)]
pub enum SpCommand {
    /// Register a service provider from its SAML metadata. Without --preset: NameID format
    /// from the metadata (emailAddress when listed), the e-mail address as value, the
    /// assertion signed.
    Add {
        /// The SP's metadata (EntityDescriptor XML).
        #[arg(
            long,
            required_unless_present = "metadata_url",
            conflicts_with = "metadata_url"
        )]
        metadata: Option<PathBuf>,
        /// Fetch the SP's metadata from this `https://` (or `http://`) URL instead (at most
        /// 1 MiB, 10 s, no redirects; TLS certificates checked against the system's roots).
        #[arg(long, value_name = "URL")]
        metadata_url: Option<String>,
        /// Apply a SaaS preset's NameID, attributes, signing and AuthnContext settings.
        #[arg(long, value_enum)]
        preset: Option<Preset>,
        /// Where the NameID value comes from: `email`, `name` (sign-in name), `persistent`
        /// (pairwise opaque ID), or a directory attribute key (`immutable_id`, `upn`,
        /// `federation_id`, `department`, any `--attr` key of `user set`).
        #[arg(long, value_name = "SOURCE")]
        name_id_source: Option<String>,
        /// NameID Format URI, or `email`, `persistent`, `transient`, `unspecified`.
        #[arg(long, value_name = "FORMAT")]
        name_id_format: Option<String>,
        /// Release an attribute `NAME=SOURCE` (repeatable; replaces the preset's list). SOURCE:
        /// `email`, `name`, `given_name`, `family_name`, `display_name`, `groups`,
        /// `const:VALUE`, or a directory attribute key.
        #[arg(long = "attribute", value_name = "NAME=SOURCE")]
        attributes: Vec<String>,
        /// Accept `http://` ACS URLs on 127.0.0.1 / [::1] / localhost (an SP on this machine:
        /// demos, examples/saml-sp). Never for a real SP.
        #[arg(long)]
        allow_http_loopback: bool,
        /// Refuse AuthnRequests that are not signed with a certificate of the metadata.
        #[arg(long)]
        require_signed_requests: bool,
        /// Do not encrypt assertions even though the metadata has an encryption certificate.
        #[arg(long)]
        no_encryption: bool,
        /// Data encryption of assertions: `aes256-gcm` (default) or `aes256-cbc` (for SPs
        /// without GCM).
        #[arg(long, value_name = "ALG")]
        encryption: Option<String>,
        /// The name on the user portal's tile (default: the entity ID).
        #[arg(long, value_name = "TEXT")]
        display_name: Option<String>,
    },
    /// List service providers, one JSON object (the stored settings) per line.
    List,
}

/// GET `url` (http or https; TLS through OpenSSL with the system's trust roots and host name
/// verification): status 200, body at most `max` bytes, 10 s timeouts, no redirects followed.
/// A minimal HTTP/1.1 client (Content-Length, chunked, or read to close) because the server
/// has no HTTP client dependency with TLS.
pub fn fetch_metadata(url: &str, max: usize) -> anyhow::Result<String> {
    use std::io::{Read, Write};
    use std::net::ToSocketAddrs;
    use std::time::Duration;
    let (tls, rest) = if let Some(r) = url.strip_prefix("https://") {
        (true, r)
    } else if let Some(r) = url.strip_prefix("http://") {
        (false, r)
    } else {
        anyhow::bail!("only http:// and https:// URLs");
    };
    let (authority, path) = match rest.find(['/', '?', '#']) {
        Some(i) => (&rest[..i], rest[i..].split('#').next().unwrap_or("/")),
        None => (rest, "/"),
    };
    let path = if path.is_empty() {
        "/".to_owned()
    } else if path.starts_with('?') {
        format!("/{path}")
    } else {
        path.to_owned()
    };
    anyhow::ensure!(
        !authority.is_empty() && !authority.contains('@'),
        "bad host in URL"
    );
    let default_port = if tls { 443 } else { 80 };
    let parse_port = |p: &str| p.parse::<u16>().map_err(|_| anyhow::anyhow!("bad port"));
    let (host_plain, port) = if let Some(v6) = authority.strip_prefix('[') {
        let (h, after) = v6
            .split_once(']')
            .ok_or_else(|| anyhow::anyhow!("bad IPv6 host"))?;
        match after.strip_prefix(':') {
            Some(p) => (h, parse_port(p)?),
            None => (h, default_port),
        }
    } else {
        match authority.rsplit_once(':') {
            Some((h, p)) => (h, parse_port(p)?),
            None => (authority, default_port),
        }
    };
    let host = host_plain;
    let addr = (host_plain, port)
        .to_socket_addrs()?
        .next()
        .ok_or_else(|| anyhow::anyhow!("{host} does not resolve"))?;
    let tcp = std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(10))?;
    tcp.set_read_timeout(Some(Duration::from_secs(10)))?;
    tcp.set_write_timeout(Some(Duration::from_secs(10)))?;
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: {authority}\r\nAccept: application/samlmetadata+xml, \
         application/xml, text/xml\r\nUser-Agent: passlogic-idp\r\nConnection: close\r\n\r\n"
    );
    let cap = max + 64 * 1024;
    let mut raw = Vec::new();
    if tls {
        let connector =
            openssl::ssl::SslConnector::builder(openssl::ssl::SslMethod::tls_client())?.build();
        let mut s = connector.connect(host_plain, tcp)?;
        s.write_all(request.as_bytes())?;
        s.take(cap as u64 + 1).read_to_end(&mut raw)?;
    } else {
        let mut s = tcp;
        s.write_all(request.as_bytes())?;
        s.take(cap as u64 + 1).read_to_end(&mut raw)?;
    }
    anyhow::ensure!(raw.len() <= cap, "metadata larger than {max} bytes");
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| anyhow::anyhow!("no HTTP header"))?;
    let head = std::str::from_utf8(&raw[..split])?;
    let mut body = raw[split + 4..].to_vec();
    let mut lines = head.split("\r\n");
    let status = lines.next().unwrap_or_default();
    let code = status.split_whitespace().nth(1).unwrap_or_default();
    anyhow::ensure!(
        code == "200",
        "HTTP status {status:?} (redirects are not followed)"
    );
    let header = |name: &str| {
        head.split("\r\n").skip(1).find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.trim()
                .eq_ignore_ascii_case(name)
                .then(|| v.trim().to_owned())
        })
    };
    if header("transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked")) {
        let mut out = Vec::new();
        let mut rest = body.as_slice();
        loop {
            let eol = rest
                .windows(2)
                .position(|w| w == b"\r\n")
                .ok_or_else(|| anyhow::anyhow!("bad chunked body"))?;
            let size_txt = std::str::from_utf8(&rest[..eol])?;
            let size = usize::from_str_radix(size_txt.split(';').next().unwrap_or("").trim(), 16)?;
            rest = &rest[eol + 2..];
            if size == 0 {
                break;
            }
            anyhow::ensure!(rest.len() >= size, "truncated chunked body");
            out.extend_from_slice(&rest[..size]);
            rest = rest.get(size + 2..).unwrap_or_default();
        }
        body = out;
    } else if let Some(len) = header("content-length") {
        let len: usize = len.parse()?;
        anyhow::ensure!(body.len() >= len, "truncated body");
        body.truncate(len);
    }
    anyhow::ensure!(body.len() <= max, "metadata larger than {max} bytes");
    Ok(String::from_utf8(body)?)
}

pub async fn run(ctx: &Context, command: SpCommand) -> anyhow::Result<ExitCode> {
    match command {
        SpCommand::Add {
            metadata,
            metadata_url,
            preset,
            name_id_source,
            name_id_format,
            attributes,
            allow_http_loopback,
            require_signed_requests,
            no_encryption,
            encryption,
            display_name,
        } => {
            let portal = super::client::portal_info(None, display_name.as_deref())?;
            let limits = MessageLimits::default();
            let (xml, source) = match (&metadata, &metadata_url) {
                (Some(path), _) => (
                    std::fs::read_to_string(path)
                        .map_err(|e| anyhow::anyhow!("reading {}: {e}", path.display()))?,
                    path.display().to_string(),
                ),
                (None, Some(url)) => (
                    fetch_metadata(url, limits.max_metadata)
                        .map_err(|e| anyhow::anyhow!("fetching {url}: {e:#}"))?,
                    url.clone(),
                ),
                (None, None) => anyhow::bail!("--metadata FILE or --metadata-url URL"),
            };
            let options = SpOptions {
                preset,
                name_id_source,
                name_id_format,
                attributes,
                allow_http_loopback,
                require_signed_requests,
                no_encryption,
                encryption,
            };
            let sp = match register_sp(&ctx.store, ctx.tenant_id, &xml, &source, &options, ctx.now)
                .await?
            {
                Ok(sp) => sp,
                Err(reason) => anyhow::bail!(reason),
            };
            if let Some(json) = portal.to_column() {
                ctx.store
                    .set_saml_sp_portal(ctx.tenant_id, &sp.entity_id, Some(&json))
                    .await?;
            }
            admin::audit(
                &ctx.store,
                ctx.now,
                ctx.tenant_id,
                "cli",
                "saml.sp.added",
                &sp.entity_id,
                json!({ "preset": preset.map(|p| format!("{p:?}").to_lowercase()) }),
            )
            .await?;
            println!("sp: {}", sp.entity_id);
            for a in &sp.acs {
                println!("acs: {}", a.url);
            }
            println!("name_id_format: {}", sp.name_id_format);
            println!("encrypted: {}", sp.encryption_cert.is_some());
            Ok(ExitCode::SUCCESS)
        }
        SpCommand::List => {
            for sp in ctx.store.saml_sps(ctx.tenant_id).await? {
                println!("{}", serde_json::to_string(&sp)?);
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}
