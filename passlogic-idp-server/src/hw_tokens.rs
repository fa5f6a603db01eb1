//! Hardware OTP tokens as administrators manage them (`token ...` CLI and the console's
//! tokens page): importing seeds (CSV or PSKC, parsed by the core's `token_import`), sealing
//! them under the KEK, assigning a token to a user and taking it back. Every change audited.

use std::sync::Arc;

use passlogic_idp_core::factor::token_import::{self, TokenKind, TokenSeed};
use passlogic_idp_core::seal::Keyring;
use serde_json::json;

use crate::admin;
use crate::secrets;
use crate::store::{NewToken, Store};

/// The sealed row of one imported seed.
pub fn seal_seed(ring: &Keyring, tenant_id: i64, seed: &TokenSeed) -> NewToken {
    let (kind, period, counter) = match seed.kind {
        TokenKind::Hotp { counter } => ("hotp", 0, i64::try_from(counter).unwrap_or(i64::MAX)),
        TokenKind::Totp { period_secs } => ("totp", i64::from(period_secs), 0),
    };
    let aad = secrets::token_aad(tenant_id, &seed.serial);
    NewToken {
        serial: seed.serial.clone(),
        kind: kind.to_owned(),
        secret: secrets::seal_bytes(ring, &aad, seed.secret.as_bytes()),
        algorithm: seed.algorithm.as_str().to_owned(),
        digits: i64::from(seed.digits),
        period,
        counter,
    }
}

/// A token file as uploaded.
pub enum TokenFile<'a> {
    /// `serial,seed,algorithm,digits,period,counter,encoding` rows.
    Csv(&'a [u8]),
    /// PSKC (RFC 6030), optionally PBKDF2-protected (password) or with a pre-shared key.
    Pskc {
        /// The XML.
        bytes: &'a [u8],
        /// PBKDF2 password.
        password: Option<&'a str>,
        /// Pre-shared AES key.
        key: Option<&'a [u8]>,
    },
}

impl std::fmt::Debug for TokenFile<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            TokenFile::Csv(_) => "TokenFile::Csv",
            TokenFile::Pskc { .. } => "TokenFile::Pskc",
        })
    }
}

/// Parses the file and stores every seed, all or nothing; returns the serials. Audited as
/// `token.imported` (serials only, never seeds).
pub async fn import(
    store: &Store,
    ring: &Arc<Keyring>,
    tenant_id: i64,
    file: TokenFile<'_>,
    actor: &str,
    now: i64,
) -> anyhow::Result<Vec<String>> {
    let seeds = match file {
        TokenFile::Csv(b) => token_import::parse_csv(b).map_err(|e| anyhow::anyhow!("{e}"))?,
        TokenFile::Pskc {
            bytes,
            password,
            key,
        } => token_import::parse_pskc(bytes, password, key).map_err(|e| anyhow::anyhow!("{e}"))?,
    };
    let rows: Vec<NewToken> = seeds
        .iter()
        .map(|s| seal_seed(ring, tenant_id, s))
        .collect();
    store.insert_tokens(tenant_id, &rows, now).await?;
    let serials: Vec<String> = seeds.iter().map(|s| s.serial.clone()).collect();
    admin::audit(
        store,
        now,
        tenant_id,
        actor,
        "token.imported",
        "tokens",
        json!({ "serials": serials }),
    )
    .await?;
    Ok(serials)
}

/// Why an assignment was refused.
#[derive(Debug, PartialEq, Eq)]
pub enum AssignError {
    /// No token with that serial.
    NoToken,
    /// No user with that name.
    NoUser,
    /// The token belongs to someone else.
    TokenTaken,
    /// The user has another token.
    UserHasToken,
}

/// Assigns the token `serial` to `user` (a user has at most one token). Audited
/// `token.assigned`.
pub async fn assign(
    store: &Store,
    tenant_id: i64,
    serial: &str,
    user: &str,
    actor: &str,
    now: i64,
) -> anyhow::Result<Result<(), AssignError>> {
    let Some(token) = store.token_by_serial(tenant_id, serial).await? else {
        return Ok(Err(AssignError::NoToken));
    };
    let Some(u) = store.user_by_name(tenant_id, user).await? else {
        return Ok(Err(AssignError::NoUser));
    };
    if token.user_id.is_some_and(|id| id != u.id) {
        return Ok(Err(AssignError::TokenTaken));
    }
    if store
        .token_of_user(u.id)
        .await?
        .is_some_and(|t| t.id != token.id)
    {
        return Ok(Err(AssignError::UserHasToken));
    }
    store.assign_token(token.id, Some(u.id)).await?;
    admin::audit(
        store,
        now,
        tenant_id,
        actor,
        "token.assigned",
        &u.name,
        json!({ "serial": token.serial }),
    )
    .await?;
    Ok(Ok(()))
}

/// Takes the token `serial` away from its user; `false` when there is no such token. Audited
/// `token.unassigned`.
pub async fn unassign(
    store: &Store,
    tenant_id: i64,
    serial: &str,
    actor: &str,
    now: i64,
) -> anyhow::Result<bool> {
    let Some(token) = store.token_by_serial(tenant_id, serial).await? else {
        return Ok(false);
    };
    store.assign_token(token.id, None).await?;
    admin::audit(
        store,
        now,
        tenant_id,
        actor,
        "token.unassigned",
        &token.serial,
        json!({ "user_id": token.user_id }),
    )
    .await?;
    Ok(true)
}
