//! SCIM User and Group resources (RFC 7643) to and from our directory: rendering a stored user
//! or group as SCIM JSON, and reading a request's JSON (POST, PUT, or a resource after PATCH)
//! into the fields we store. Pure.
//!
//! Mapping: `id` is the database id; `userName` the sign-in name; `externalId` the directory
//! attribute `immutable_id`; `name.givenName` / `name.familyName`; `displayName`; the primary
//! (else first) `emails` value; `active` = enabled; `title` = position; the enterprise
//! extension's `department`. A group's `displayName` is its name; `members` are users by id.
//! Not stored (accepted and dropped): other multi-valued attributes (phoneNumbers,
//! addresses...). A group's `externalId` is its own column (migration 0011).

use serde_json::{json, Map, Value};

use crate::store::UserRow;

/// Core User schema.
pub const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
/// Core Group schema.
pub const GROUP_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
/// Enterprise User extension.
pub const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
/// The directory attribute that holds `externalId`.
pub const EXTERNAL_ID_KEY: &str = "immutable_id";

/// A bad resource: (`scimType`, detail).
pub type Invalid = (&'static str, String);

/// The user fields a SCIM request sets.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UserInput {
    /// Sign-in name.
    pub user_name: String,
    /// Name shown on pages.
    pub display_name: Option<String>,
    /// Given name.
    pub given_name: Option<String>,
    /// Family name.
    pub family_name: Option<String>,
    /// E-mail.
    pub email: Option<String>,
    /// Sign-in allowed.
    pub active: bool,
    /// `externalId` (Entra: the ImmutableID / objectId).
    pub external_id: Option<String>,
    /// Job title (our position).
    pub title: Option<String>,
    /// Department (enterprise extension).
    pub department: Option<String>,
}

/// The value of key `k` of an object, ignoring case.
pub fn get_ci<'a>(v: &'a Value, k: &str) -> Option<&'a Value> {
    v.as_object()?
        .iter()
        .find(|(x, _)| x.eq_ignore_ascii_case(k))
        .map(|(_, v)| v)
}

fn text(v: Option<&Value>, what: &str) -> Result<Option<String>, Invalid> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => {
            if s.len() > 1024 || s.chars().any(char::is_control) {
                return Err((
                    "invalidValue",
                    format!("{what}: too long or control characters"),
                ));
            }
            Ok((!s.trim().is_empty()).then(|| s.trim().to_owned()))
        }
        Some(other) => Err((
            "invalidValue",
            format!("{what} must be a string, not {other}"),
        )),
    }
}

/// `active` as a boolean, or as the string `"True"` / `"False"` Entra sends in PATCH.
fn boolean(v: Option<&Value>) -> Result<bool, Invalid> {
    match v {
        None | Some(Value::Null) => Ok(true),
        Some(Value::Bool(b)) => Ok(*b),
        Some(Value::String(s)) if s.eq_ignore_ascii_case("true") => Ok(true),
        Some(Value::String(s)) if s.eq_ignore_ascii_case("false") => Ok(false),
        Some(other) => Err((
            "invalidValue",
            format!("active must be a boolean, not {other}"),
        )),
    }
}

/// Reads a User resource.
pub fn user_input(v: &Value) -> Result<UserInput, Invalid> {
    if !v.is_object() {
        return Err(("invalidSyntax", "the body must be a JSON object".into()));
    }
    let user_name = text(get_ci(v, "userName"), "userName")?
        .ok_or(("invalidValue", "userName is required".to_owned()))?;
    if !crate::provisioning::csv::valid_name(&user_name) {
        return Err((
            "invalidValue",
            format!("userName {user_name:?}: 1-128 letters, digits, - _ . or @"),
        ));
    }
    let name = get_ci(v, "name");
    let email = match get_ci(v, "emails") {
        None | Some(Value::Null) => None,
        Some(Value::Array(list)) => {
            let pick = list
                .iter()
                .find(|e| get_ci(e, "primary").and_then(Value::as_bool) == Some(true))
                .or_else(|| list.first());
            match pick {
                Some(e) => text(get_ci(e, "value"), "emails.value")?,
                None => None,
            }
        }
        Some(_) => return Err(("invalidValue", "emails must be an array".into())),
    };
    if let Some(e) = &email {
        if !e.contains('@') {
            return Err(("invalidValue", format!("email {e:?} is not an address")));
        }
    }
    Ok(UserInput {
        user_name,
        display_name: text(get_ci(v, "displayName"), "displayName")?,
        given_name: text(name.and_then(|n| get_ci(n, "givenName")), "name.givenName")?,
        family_name: text(
            name.and_then(|n| get_ci(n, "familyName")),
            "name.familyName",
        )?,
        email,
        active: boolean(get_ci(v, "active"))?,
        external_id: text(get_ci(v, "externalId"), "externalId")?,
        title: text(get_ci(v, "title"), "title")?,
        department: text(
            get_ci(v, ENTERPRISE).and_then(|e| get_ci(e, "department")),
            "department",
        )?,
    })
}

/// A stored user as a SCIM User; `groups` as (id, name).
pub fn user_json(u: &UserRow, groups: &[(i64, String)], base: &str) -> Value {
    let mut v = json!({
        "schemas": [USER_SCHEMA, ENTERPRISE],
        "id": u.id.to_string(),
        "userName": u.name,
        "displayName": u.display_name,
        "active": u.enabled,
        "groups": groups.iter().map(|(id, name)| json!({
            "value": id.to_string(),
            "display": name,
        })).collect::<Vec<_>>(),
        "meta": {
            "resourceType": "User",
            "location": format!("{base}/Users/{}", u.id),
        },
    });
    let m = v.as_object_mut().expect("object");
    if let Some(x) = u.attributes.get(EXTERNAL_ID_KEY) {
        m.insert("externalId".into(), json!(x));
    }
    if let Some(t) = &u.position {
        m.insert("title".into(), json!(t));
    }
    let mut name = Map::new();
    if let Some(g) = &u.given_name {
        name.insert("givenName".into(), json!(g));
    }
    if let Some(f) = &u.family_name {
        name.insert("familyName".into(), json!(f));
    }
    if !name.is_empty() {
        m.insert("name".into(), Value::Object(name));
    }
    if let Some(e) = &u.email {
        m.insert(
            "emails".into(),
            json!([{ "value": e, "type": "work", "primary": true }]),
        );
    }
    if let Some(d) = &u.department {
        m.insert(ENTERPRISE.into(), json!({ "department": d }));
    }
    v
}

/// A group as a SCIM Group; `members` as (user id, user name).
pub fn group_json(
    id: i64,
    name: &str,
    external_id: Option<&str>,
    members: &[(i64, String)],
    base: &str,
) -> Value {
    let mut v = json!({
        "schemas": [GROUP_SCHEMA],
        "id": id.to_string(),
        "displayName": name,
        "members": members.iter().map(|(uid, uname)| json!({
            "value": uid.to_string(),
            "display": uname,
        })).collect::<Vec<_>>(),
        "meta": { "resourceType": "Group", "location": format!("{base}/Groups/{id}") },
    });
    if let Some(x) = external_id {
        v["externalId"] = json!(x);
    }
    v
}

/// The group fields a SCIM request sets.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupInput {
    /// Group name.
    pub name: String,
    /// `externalId`.
    pub external_id: Option<String>,
    /// Member user ids (`None`: not given).
    pub members: Option<Vec<i64>>,
}

/// Reads a Group resource.
pub fn group_input(v: &Value) -> Result<GroupInput, Invalid> {
    let name = text(get_ci(v, "displayName"), "displayName")?
        .ok_or(("invalidValue", "displayName is required".to_owned()))?;
    if name.len() > 128 {
        return Err(("invalidValue", "displayName longer than 128 bytes".into()));
    }
    let members = match get_ci(v, "members") {
        None | Some(Value::Null) => None,
        Some(Value::Array(list)) => {
            let mut ids = Vec::new();
            for m in list {
                let id = get_ci(m, "value")
                    .and_then(Value::as_str)
                    .and_then(|s| s.parse::<i64>().ok())
                    .ok_or((
                        "invalidValue",
                        format!("member {m}: value must be a user id"),
                    ))?;
                if !ids.contains(&id) {
                    ids.push(id);
                }
            }
            Some(ids)
        }
        Some(_) => return Err(("invalidValue", "members must be an array".into())),
    };
    Ok(GroupInput {
        name,
        external_id: text(get_ci(v, "externalId"), "externalId")?,
        members,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc7643_user_example_reads() {
        let v = json!({
            "schemas": [USER_SCHEMA, ENTERPRISE],
            "externalId": "701984", "userName": "bjensen@example.com",
            "name": {"formatted": "Ms. Barbara J Jensen, III", "familyName": "Jensen",
                     "givenName": "Barbara"},
            "displayName": "Babs Jensen",
            "emails": [{"value": "bjensen@example.com", "type": "work", "primary": true},
                       {"value": "babs@jensen.org", "type": "home"}],
            "title": "Tour Guide", "active": "False",
            ENTERPRISE: {"department": "Tour Operations"}
        });
        let u = user_input(&v).unwrap();
        assert_eq!(u.user_name, "bjensen@example.com");
        assert_eq!(u.external_id.as_deref(), Some("701984"));
        assert_eq!(u.family_name.as_deref(), Some("Jensen"));
        assert_eq!(u.email.as_deref(), Some("bjensen@example.com"));
        assert!(!u.active);
        assert_eq!(u.department.as_deref(), Some("Tour Operations"));
        assert!(user_input(&json!({"displayName": "x"})).is_err());
        assert!(user_input(&json!({"userName": "a b"})).is_err());
        assert!(user_input(&json!({"userName": "a", "active": 3})).is_err());
    }
}
