//! `passlogic-loadgen`: drives a running passlogic-idp with concurrent virtual users and
//! prints one JSON line of results. Scenarios:
//!
//! - `saml-sso`: each worker signs one seeded user in once (matrix + TOTP), then sends
//!   SP-initiated AuthnRequests (HTTP-Redirect, a fresh ID each) and counts signed Responses.
//! - `oidc-code`: same session set-up, then authorization request -> code -> token exchange
//!   (public client with PKCE); one operation is the pair, bounded by the ID token's RS256
//!   signature.
//! - `signin`: complete sign-ins: AuthnRequest without a session -> user ID -> grid -> answer ->
//!   TOTP -> signed Response; every operation uses another seeded user (a TOTP code is
//!   accepted once per user and time step).
//!
//! With `--rate R` operations start on a fixed schedule (R per second over all workers), for
//! latency at a given load; without it every worker runs flat out (maximum throughput).
//! Latency is per operation, from its scheduled start.
//!
//! Written for this project because the generic tools (wrk, oha) cannot follow our multi-step
//! flows (grid parsing, TOTP, fresh SAML request IDs); the HTTP work is reqwest's.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context};
use base64::Engine;
use clap::Parser;
use passlogic_idp_core::factor::otp::{totp_code, OtpSecret, TotpParams};
use passlogic_idp_core::saml::bindings::{redirect_url, SamlField};
use reqwest::{Client, StatusCode};
use sha2::{Digest, Sha256};

#[derive(Parser, Debug, Clone)]
struct Args {
    /// The server's base URL.
    #[arg(long)]
    base: String,
    /// `saml-sso`, `oidc-code` or `signin`.
    #[arg(long)]
    scenario: String,
    /// How long to measure.
    #[arg(long, default_value_t = 10.0)]
    seconds: f64,
    /// Concurrent workers.
    #[arg(long, default_value_t = 16)]
    concurrency: usize,
    /// Operations per second to schedule (default: as fast as possible).
    #[arg(long)]
    rate: Option<f64>,
    /// Seeded users are PREFIX0 .. PREFIX{users-1} (`passlogic-idp seed-users`).
    #[arg(long, default_value = "load")]
    prefix: String,
    #[arg(long)]
    users: usize,
    /// First user index to use (runs that follow one another use fresh users for `signin`).
    #[arg(long, default_value_t = 0)]
    first_user: usize,
    /// The seeded users' pattern (cell indexes, comma-separated).
    #[arg(long)]
    pattern: String,
    /// The seeded users' TOTP secret (Base32), when their policy asks for TOTP.
    #[arg(long)]
    totp: Option<String>,
    /// Entity ID of a registered SP whose ACS accepts HTTP-POST.
    #[arg(long, default_value = "https://sp.load.example/metadata")]
    sp: String,
    /// A registered public OIDC client with redirect URI https://rp.load.example/cb.
    #[arg(long, default_value = "load-rp")]
    client: String,
}

const REDIRECT_URI: &str = "https://rp.load.example/cb";
const VERIFIER: &str = "passlogic-loadgen-pkce-verifier-0123456789-abcdefghijklmnopq";

fn client() -> anyhow::Result<Client> {
    Ok(Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .pool_max_idle_per_host(4)
        .timeout(Duration::from_secs(30))
        .build()?)
}

fn between<'a>(s: &'a str, start: &str, end: &str) -> Option<&'a str> {
    let i = s.find(start)? + start.len();
    let j = s[i..].find(end)? + i;
    Some(&s[i..j])
}

fn csrf_of(html: &str) -> anyhow::Result<String> {
    between(html, "name=\"csrf\" value=\"", "\"")
        .map(str::to_owned)
        .ok_or_else(|| anyhow!("no csrf field"))
}

/// `(cell, digit)` of every `data-cell` element.
fn grid_of(html: &str) -> Vec<(u16, u8)> {
    html.split("data-cell=\"")
        .skip(1)
        .filter_map(|part| {
            let (idx, rest) = part.split_once('"')?;
            let digit = rest.split_once('>')?.1.chars().next()?.to_digit(10)?;
            Some((idx.parse().ok()?, u8::try_from(digit).ok()?))
        })
        .collect()
}

struct Ctx {
    args: Args,
    pattern: Vec<u16>,
    totp: Option<OtpSecret>,
    next_user: AtomicUsize,
}

impl Ctx {
    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.args.base.trim_end_matches('/'))
    }

    fn sso_url(&self) -> anyhow::Result<String> {
        let id = passlogic_idp_core::saml::new_id(&mut rand::rngs::OsRng);
        let now = passlogic_idp_core::saml::format_instant(time::OffsetDateTime::now_utc());
        let xml = format!(
            r#"<samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" ID="{id}" Version="2.0" IssueInstant="{now}" Destination="{}"><saml:Issuer xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion">{}</saml:Issuer></samlp:AuthnRequest>"#,
            self.url("/saml/sso"),
            self.args.sp
        );
        redirect_url(&self.url("/saml/sso"), SamlField::Request, &xml, None, None)
            .map_err(|e| anyhow!("{e}"))
    }

    fn user(&self) -> anyhow::Result<String> {
        let i = self.next_user.fetch_add(1, Ordering::Relaxed);
        if i >= self.args.first_user + self.args.users {
            bail!("ran out of seeded users (each sign-in needs a fresh one)");
        }
        Ok(format!("{}{i}", self.args.prefix))
    }

    /// From the user-ID page (with `return_to`) through every step; returns the last redirect.
    async fn sign_in(&self, c: &Client, user: &str, return_to: &str) -> anyhow::Result<String> {
        let page = c
            .get(self.url(&format!("/login?return_to={}", pct(return_to))))
            .send()
            .await?
            .text()
            .await?;
        let csrf = csrf_of(&page)?;
        let r = c
            .post(self.url("/login"))
            .form(&[
                ("username", user),
                ("csrf", &csrf),
                ("return_to", return_to),
            ])
            .send()
            .await?;
        expect(r.status(), StatusCode::SEE_OTHER, "POST /login")?;
        let grid = c
            .get(self.url("/login/matrix"))
            .send()
            .await?
            .text()
            .await?;
        let cells = grid_of(&grid);
        let answer: String = self
            .pattern
            .iter()
            .map(|p| {
                cells
                    .iter()
                    .find(|(i, _)| i == p)
                    .map(|(_, d)| char::from(b'0' + d))
                    .ok_or_else(|| anyhow!("cell {p} not on the grid"))
            })
            .collect::<anyhow::Result<_>>()?;
        let csrf = csrf_of(&grid)?;
        let r = c
            .post(self.url("/login/matrix"))
            .form(&[("otp", answer.as_str()), ("csrf", &csrf)])
            .send()
            .await?;
        expect(r.status(), StatusCode::SEE_OTHER, "POST /login/matrix")?;
        let mut next = location(&r)?;
        if next.starts_with("/login/totp") {
            let secret = self
                .totp
                .as_ref()
                .ok_or_else(|| anyhow!("TOTP asked; pass --totp"))?;
            let page = c.get(self.url(&next)).send().await?.text().await?;
            let code = totp_code(
                secret,
                &TotpParams::default(),
                time::OffsetDateTime::now_utc(),
            )
            .map_err(|e| anyhow!("{e:?}"))?;
            let r = c
                .post(self.url("/login/totp"))
                .form(&[("otp", code.as_str()), ("csrf", &csrf_of(&page)?)])
                .send()
                .await?;
            expect(r.status(), StatusCode::SEE_OTHER, "POST /login/totp")?;
            next = location(&r)?;
        }
        Ok(next)
    }

    async fn saml_sso(&self, c: &Client) -> anyhow::Result<()> {
        let r = c.get(self.sso_url()?).send().await?;
        expect(r.status(), StatusCode::OK, "SSO with a session")?;
        let body = r.text().await?;
        if !body.contains("name=\"SAMLResponse\"") {
            bail!("no SAMLResponse");
        }
        Ok(())
    }

    async fn oidc_code(&self, c: &Client) -> anyhow::Result<()> {
        let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(Sha256::digest(VERIFIER.as_bytes()));
        let r = c
            .get(self.url(&format!(
                "/oidc/authorize?client_id={}&redirect_uri={}&response_type=code&scope=openid\
                 &state=s&code_challenge={challenge}&code_challenge_method=S256",
                pct(&self.args.client),
                pct(REDIRECT_URI)
            )))
            .send()
            .await?;
        expect(r.status(), StatusCode::SEE_OTHER, "authorize")?;
        let loc = location(&r)?;
        let code = between(&format!("{loc}&"), "code=", "&")
            .ok_or_else(|| anyhow!("no code in {loc}"))?
            .to_owned();
        let r = c
            .post(self.url("/oidc/token"))
            .form(&[
                ("grant_type", "authorization_code"),
                ("code", code.as_str()),
                ("redirect_uri", REDIRECT_URI),
                ("client_id", self.args.client.as_str()),
                ("code_verifier", VERIFIER),
            ])
            .send()
            .await?;
        expect(r.status(), StatusCode::OK, "token")?;
        let v: serde_json::Value = r.json().await?;
        if !v["id_token"].is_string() {
            bail!("no id_token");
        }
        Ok(())
    }

    async fn full_signin(&self) -> anyhow::Result<()> {
        let c = client()?;
        let r = c.get(self.sso_url()?).send().await?;
        expect(r.status(), StatusCode::SEE_OTHER, "SSO without a session")?;
        let login = location(&r)?;
        let return_to = between(&format!("{login}&"), "return_to=", "&")
            .map(percent_decode)
            .ok_or_else(|| anyhow!("no return_to in {login}"))??;
        let user = self.user()?;
        let back = self.sign_in(&c, &user, &return_to).await?;
        let r = c.get(self.url(&back)).send().await?;
        expect(r.status(), StatusCode::OK, "resume")?;
        if !r.text().await?.contains("name=\"SAMLResponse\"") {
            bail!("no SAMLResponse after the sign-in");
        }
        Ok(())
    }
}

fn pct(s: &str) -> String {
    passlogic_idp_core::saml::bindings::percent_encode(s)
}

fn percent_decode(s: &str) -> anyhow::Result<String> {
    let bytes =
        passlogic_idp_core::saml::bindings::percent_decode(s).map_err(|e| anyhow!("{e}"))?;
    Ok(String::from_utf8(bytes)?)
}

fn expect(got: StatusCode, want: StatusCode, what: &str) -> anyhow::Result<()> {
    if got != want {
        bail!("{what}: expected {want}, got {got}");
    }
    Ok(())
}

fn location(r: &reqwest::Response) -> anyhow::Result<String> {
    let loc = r
        .headers()
        .get(reqwest::header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| anyhow!("no Location"))?;
    Ok(match loc.find("://") {
        // Our own absolute URLs become paths; foreign ones (the RP's callback) stay.
        Some(_) if loc.contains("code=") => loc.to_owned(),
        Some(i) => loc[i + 3..]
            .find('/')
            .map(|j| loc[i + 3 + j..].to_owned())
            .unwrap_or_else(|| "/".into()),
        None => loc.to_owned(),
    })
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let pattern: Vec<u16> = args
        .pattern
        .split(',')
        .map(|p| p.trim().parse().context("--pattern"))
        .collect::<anyhow::Result<_>>()?;
    let totp = args
        .totp
        .as_deref()
        .map(OtpSecret::from_base32)
        .transpose()
        .map_err(|e| anyhow!("--totp: {e:?}"))?;
    let ctx = Arc::new(Ctx {
        next_user: AtomicUsize::new(args.first_user),
        args: args.clone(),
        pattern,
        totp,
    });

    // Sessions for the scenarios that reuse one (one user per worker, signed in before timing).
    let mut sessions = Vec::new();
    if args.scenario != "signin" {
        for _ in 0..args.concurrency {
            let c = client()?;
            let user = ctx.user()?;
            ctx.sign_in(&c, &user, "/")
                .await
                .context("setting up a session")?;
            sessions.push(c);
        }
    }

    let errors = Arc::new(AtomicU64::new(0));
    let first_error = Arc::new(std::sync::Mutex::new(None::<String>));
    let started = Instant::now();
    let deadline = started + Duration::from_secs_f64(args.seconds);
    let mut handles = Vec::new();
    for w in 0..args.concurrency {
        let ctx = ctx.clone();
        let errors = errors.clone();
        let first_error = first_error.clone();
        let session = sessions.get(w).cloned();
        let rate = args.rate;
        let workers = args.concurrency;
        handles.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut k: u64 = 0;
            loop {
                let scheduled = match rate {
                    Some(r) => {
                        started
                            + Duration::from_secs_f64((k as f64 * workers as f64 + w as f64) / r)
                    }
                    None => Instant::now(),
                };
                if scheduled >= deadline {
                    break;
                }
                tokio::time::sleep_until(scheduled.into()).await;
                k += 1;
                let outcome = match (ctx.args.scenario.as_str(), &session) {
                    ("saml-sso", Some(c)) => ctx.saml_sso(c).await,
                    ("oidc-code", Some(c)) => ctx.oidc_code(c).await,
                    ("signin", _) => ctx.full_signin().await,
                    (s, _) => Err(anyhow!("unknown scenario {s}")),
                };
                match outcome {
                    Ok(()) => latencies.push(scheduled.elapsed().as_secs_f64() * 1000.0),
                    Err(e) => {
                        errors.fetch_add(1, Ordering::Relaxed);
                        first_error
                            .lock()
                            .unwrap()
                            .get_or_insert_with(|| format!("{e:#}"));
                        if e.to_string().contains("ran out of seeded users") {
                            break;
                        }
                    }
                }
            }
            latencies
        }));
    }
    let mut all = Vec::new();
    for h in handles {
        all.extend(h.await?);
    }
    let secs = started.elapsed().as_secs_f64();
    all.sort_by(f64::total_cmp);
    let out = serde_json::json!({
        "scenario": args.scenario,
        "concurrency": args.concurrency,
        "rate": args.rate,
        "ops": all.len(),
        "errors": errors.load(Ordering::Relaxed),
        "first_error": first_error.lock().unwrap().clone(),
        "seconds": (secs * 100.0).round() / 100.0,
        "ops_per_sec": ((all.len() as f64 / secs) * 10.0).round() / 10.0,
        "p50_ms": (percentile(&all, 0.50) * 100.0).round() / 100.0,
        "p99_ms": (percentile(&all, 0.99) * 100.0).round() / 100.0,
        "max_ms": (all.last().copied().unwrap_or(f64::NAN) * 100.0).round() / 100.0,
    });
    println!("{out}");
    Ok(())
}
