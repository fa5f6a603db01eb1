//! The device-cookie step (a registered browser, a possession factor) and device management.
//!
//! A registered browser carries a long-lived random token in the `pl_device` cookie; the store
//! keeps only its SHA-256, bound to one user. When the step is due, a token registered to the
//! attempt's user passes it. Otherwise, when the policy allows registration and the user has
//! fewer than `device_limit` devices, the browser is registered there and then (its token set
//! in the answer) and the step passes: the combination's other steps still have to pass, so a
//! registration always follows real authentication. Past the limit the sign-in is refused with
//! a message saying so; removing a device (`/account/devices`, `device remove`, the admin API)
//! frees a slot. A failed device step does not count toward the lockout: it is not a guess.

use rand::RngCore;
use serde_json::json;

use crate::signin::SignIn;
use crate::store::{AttemptRow, Registration};
use crate::tokens::{hash_token, new_token};
use passlogic_idp_core::pipeline::Method;

/// The device cookie's lifetime: 400 days, the most browsers keep a cookie.
pub const DEVICE_COOKIE_MAX_AGE_SECS: i64 = 400 * 86_400;

/// What the device step did.
#[derive(Debug, PartialEq, Eq)]
pub enum DeviceOutcome {
    /// Passed and recorded. `Some(token)`: a new registration, set it as the device cookie.
    Passed(Option<String>),
    /// This browser is not registered and registration is off in the policy.
    NotRegistered,
    /// This browser is not registered and the user has the most devices the policy allows.
    LimitReached,
    /// Not the due step, or the attempt changed concurrently: nothing happened.
    OutOfOrder,
    /// Unknown user ID (same outcome shape as a refusal, nothing registered).
    Failed,
}

/// A short browser description from the User-Agent (for device lists), at most 80 characters.
pub fn label_from_user_agent(ua: Option<&str>) -> String {
    let ua = ua.unwrap_or("");
    let browser = [
        ("Edg/", "Edge"),
        ("Firefox/", "Firefox"),
        ("Chrome/", "Chrome"),
        ("Safari/", "Safari"),
    ]
    .iter()
    .find(|(k, _)| ua.contains(k))
    .map(|(_, v)| *v)
    .unwrap_or("Browser");
    let os = [
        ("Windows", "Windows"),
        ("Android", "Android"),
        ("iPhone", "iPhone"),
        ("iPad", "iPad"),
        ("Mac OS X", "macOS"),
        ("Linux", "Linux"),
    ]
    .iter()
    .find(|(k, _)| ua.contains(k))
    .map(|(_, v)| *v);
    let label = match os {
        Some(os) => format!("{browser} on {os}"),
        None => browser.to_owned(),
    };
    label.chars().take(80).collect()
}

fn new_device_id() -> String {
    let mut b = [0u8; 8];
    rand::rngs::OsRng.fill_bytes(&mut b);
    hex::encode(b)
}

impl SignIn {
    /// Takes the device step of an attempt with the browser's `pl_device` cookie, if any.
    pub async fn answer_device(
        &self,
        attempt: &AttemptRow,
        presented: Option<&str>,
        label: &str,
        ip: Option<&str>,
    ) -> anyhow::Result<DeviceOutcome> {
        if self.due(attempt) != Some(Method::DeviceCookie) {
            return Ok(DeviceOutcome::OutOfOrder);
        }
        let Some(user) = self.user_of(attempt).await? else {
            self.fail(attempt, Method::DeviceCookie, "unknown_user", json!({}), ip)
                .await;
            self.store.finish_attempt(&attempt.id).await?;
            return Ok(DeviceOutcome::Failed);
        };
        let now = self.clock.unix();
        if let Some(token) = presented {
            if let Some(d) = self.store.device_by_token(&hash_token(token)).await? {
                if d.user_id == user.id {
                    if !self.record(attempt, &[Method::DeviceCookie]).await? {
                        return Ok(DeviceOutcome::OutOfOrder);
                    }
                    self.store.touch_device(&d.id, now).await?;
                    return Ok(DeviceOutcome::Passed(None));
                }
            }
        }
        let policy = self.policy_for(Some(user.id)).await?;
        let refused = if policy.device_registration {
            let token = new_token();
            let id = new_device_id();
            match self
                .store
                .register_device(
                    self.tenant_id,
                    user.id,
                    &id,
                    &hash_token(&token),
                    label,
                    policy.device_limit,
                    now,
                )
                .await?
            {
                Registration::Registered => {
                    if !self.record(attempt, &[Method::DeviceCookie]).await? {
                        self.store.delete_device(user.id, &id).await?;
                        return Ok(DeviceOutcome::OutOfOrder);
                    }
                    self.audit(self.audit_event(
                        &user.name,
                        "device.registered",
                        &user.name,
                        "success",
                        json!({ "device": id, "label": label }),
                        ip,
                    ))
                    .await;
                    return Ok(DeviceOutcome::Passed(Some(token)));
                }
                Registration::LimitReached => DeviceOutcome::LimitReached,
            }
        } else {
            DeviceOutcome::NotRegistered
        };
        let reason = match refused {
            DeviceOutcome::LimitReached => "device_limit_reached",
            _ => "device_not_registered",
        };
        self.fail(
            attempt,
            Method::DeviceCookie,
            reason,
            json!({ "limit": policy.device_limit }),
            ip,
        )
        .await;
        self.store.finish_attempt(&attempt.id).await?;
        Ok(refused)
    }

    /// Whether a presented device cookie belongs to this user (the access policy's
    /// "registered device" fact).
    pub async fn is_registered_device(
        &self,
        user_id: i64,
        presented: Option<&str>,
    ) -> anyhow::Result<bool> {
        let Some(token) = presented else {
            return Ok(false);
        };
        Ok(self
            .store
            .device_by_token(&hash_token(token))
            .await?
            .is_some_and(|d| d.user_id == user_id))
    }
}

#[cfg(test)]
mod tests {
    use super::label_from_user_agent;

    #[test]
    fn labels() {
        let chrome = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) \
                      Chrome/156.0.0.0 Safari/537.36";
        assert_eq!(label_from_user_agent(Some(chrome)), "Chrome on Linux");
        let edge = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/120 Safari/537.36 Edg/120";
        assert_eq!(label_from_user_agent(Some(edge)), "Edge on Windows");
        assert_eq!(label_from_user_agent(None), "Browser");
        assert_eq!(label_from_user_agent(Some(&"x".repeat(500))), "Browser");
    }
}
