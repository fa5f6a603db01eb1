//! Attribute mapping: which LDAP attribute feeds which of our user fields, the OpenLDAP and
//! Active Directory presets, and turning one directory entry into a [`Mapped`] user.
//!
//! Active Directory specifics: `objectGUID` (binary) becomes the base64 `immutable_id`
//! attribute (what Entra ID federation expects as ImmutableID), and bit 2 (ACCOUNTDISABLE) of
//! `userAccountControl` marks the user disabled.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use base64::Engine;

use crate::store::UserDirectory;

/// `userAccountControl` flag of a disabled AD account.
pub const UAC_ACCOUNTDISABLE: u64 = 0x2;

/// Our field -> LDAP attribute. Field names: `name` (sign-in name, required), `display_name`,
/// `email`, `given_name`, `family_name`, `department`, `position`, `disabled` (an attribute
/// whose value `TRUE`/`true`/`1`/`yes`/`disabled` disables the user), and `attr.KEY` (stored
/// in the user's `attributes` under KEY, e.g. `attr.upn=userPrincipalName`).
pub type AttributeMap = BTreeMap<String, String>;

/// The default mapping for OpenLDAP (`inetOrgPerson`).
pub fn openldap_defaults() -> AttributeMap {
    [
        ("name", "uid"),
        ("display_name", "cn"),
        ("email", "mail"),
        ("given_name", "givenName"),
        ("family_name", "sn"),
        ("department", "departmentNumber"),
        ("position", "title"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect()
}

/// The default mapping for Active Directory (`--ad`).
pub fn ad_defaults() -> AttributeMap {
    [
        ("name", "sAMAccountName"),
        ("display_name", "displayName"),
        ("email", "mail"),
        ("given_name", "givenName"),
        ("family_name", "sn"),
        ("department", "department"),
        ("position", "title"),
        ("attr.upn", "userPrincipalName"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect()
}

const FIELDS: &[&str] = &[
    "name",
    "display_name",
    "email",
    "given_name",
    "family_name",
    "department",
    "position",
    "disabled",
];

/// Applies `field=attr` overrides to a preset; errors name the bad item.
pub fn with_overrides(mut map: AttributeMap, items: &[String]) -> anyhow::Result<AttributeMap> {
    for item in items {
        let (field, attr) = item
            .split_once('=')
            .ok_or_else(|| anyhow::anyhow!("--map {item}: expected FIELD=ATTRIBUTE"))?;
        let (field, attr) = (field.trim(), attr.trim());
        let known =
            FIELDS.contains(&field) || field.strip_prefix("attr.").is_some_and(|k| !k.is_empty());
        anyhow::ensure!(
            known,
            "--map {item}: unknown field {field:?} (one of {}, or attr.KEY)",
            FIELDS.join(", ")
        );
        anyhow::ensure!(!attr.is_empty(), "--map {item}: empty attribute");
        map.insert(field.to_owned(), attr.to_owned());
    }
    Ok(map)
}

/// LDAP attributes a search must ask for.
pub fn requested_attributes(map: &AttributeMap, group_attr: Option<&str>, ad: bool) -> Vec<String> {
    let mut set: BTreeSet<String> = map.values().cloned().collect();
    if let Some(g) = group_attr {
        set.insert(g.to_owned());
    }
    if ad {
        set.insert("objectGUID".to_owned());
        set.insert("userAccountControl".to_owned());
    }
    set.into_iter().collect()
}

/// One directory entry as read: attribute names lower-cased.
#[derive(Debug, Clone, Default)]
pub struct DirEntry {
    /// Distinguished name.
    pub dn: String,
    /// Text values.
    pub attrs: HashMap<String, Vec<String>>,
    /// Binary values (e.g. `objectGUID`).
    pub bin_attrs: HashMap<String, Vec<Vec<u8>>>,
}

impl DirEntry {
    fn first(&self, attr: &str) -> Option<String> {
        self.attrs
            .get(&attr.to_ascii_lowercase())
            .and_then(|v| v.first())
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
    }
}

/// A directory entry in our terms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mapped {
    /// The entry's DN.
    pub dn: String,
    /// Sign-in name.
    pub name: String,
    /// Display name (falls back to the sign-in name).
    pub display_name: String,
    /// Directory data; `valid_from` / `valid_until` are not synced (kept as stored).
    pub directory: UserDirectory,
    /// Enabled in the directory.
    pub enabled: bool,
    /// Our group names (first RDN value of each DN in the group attribute).
    pub groups: BTreeSet<String>,
}

/// The group name a group attribute value stands for: the value of the DN's first RDN
/// (`cn=Sales,ou=groups,dc=example,dc=org` -> `Sales`), or the value itself if not a DN.
pub fn group_name(value: &str) -> String {
    let first = value.split(',').next().unwrap_or(value);
    match first.split_once('=') {
        Some((_, v)) if !v.trim().is_empty() => v.trim().to_owned(),
        _ => value.trim().to_owned(),
    }
}

/// Maps an entry; `Err` names why it cannot be synced (no sign-in name...).
pub fn map_entry(
    entry: &DirEntry,
    map: &AttributeMap,
    group_attr: Option<&str>,
    ad: bool,
) -> Result<Mapped, String> {
    let get = |field: &str| map.get(field).and_then(|a| entry.first(a));
    let name = get("name").ok_or_else(|| {
        format!(
            "{}: no {} attribute (the sign-in name)",
            entry.dn,
            map.get("name").map_or("name", String::as_str)
        )
    })?;
    let mut attributes = BTreeMap::new();
    for (field, attr) in map {
        if let Some(key) = field.strip_prefix("attr.") {
            if let Some(v) = entry.first(attr) {
                attributes.insert(key.to_owned(), v);
            }
        }
    }
    let mut enabled = !get("disabled").is_some_and(|v| {
        matches!(
            v.to_ascii_lowercase().as_str(),
            "true" | "1" | "yes" | "disabled"
        )
    });
    if ad {
        if let Some(guid) = entry
            .bin_attrs
            .get("objectguid")
            .and_then(|v| v.first())
            .filter(|g| g.len() == 16)
        {
            attributes.insert(
                "immutable_id".to_owned(),
                base64::engine::general_purpose::STANDARD.encode(guid),
            );
        }
        if let Some(uac) = entry.first("userAccountControl") {
            let uac: u64 = uac
                .parse()
                .map_err(|_| format!("{}: userAccountControl {uac:?} is not a number", entry.dn))?;
            if uac & UAC_ACCOUNTDISABLE != 0 {
                enabled = false;
            }
        }
    }
    let groups = group_attr
        .and_then(|g| entry.attrs.get(&g.to_ascii_lowercase()))
        .map(|vals| {
            vals.iter()
                .map(|v| group_name(v))
                .filter(|g| !g.is_empty())
                .collect()
        })
        .unwrap_or_default();
    Ok(Mapped {
        dn: entry.dn.clone(),
        display_name: get("display_name").unwrap_or_else(|| name.clone()),
        name,
        directory: UserDirectory {
            email: get("email"),
            given_name: get("given_name"),
            family_name: get("family_name"),
            department: get("department"),
            position: get("position"),
            valid_from: None,
            valid_until: None,
            attributes,
        },
        enabled,
        groups,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(attrs: &[(&str, &str)]) -> DirEntry {
        let mut e = DirEntry {
            dn: "uid=x,dc=example".into(),
            ..DirEntry::default()
        };
        for (k, v) in attrs {
            e.attrs
                .entry(k.to_ascii_lowercase())
                .or_default()
                .push((*v).to_owned());
        }
        e
    }

    #[test]
    fn ad_guid_becomes_base64_immutable_id_and_uac_bit_2_disables() {
        let mut e = entry(&[
            ("sAMAccountName", "jdoe"),
            ("userPrincipalName", "jdoe@corp.example"),
            ("userAccountControl", "514"),
            ("memberOf", "CN=VPN Users,OU=Groups,DC=corp,DC=example"),
        ]);
        let guid: Vec<u8> = (1..=16).collect();
        e.bin_attrs.insert("objectguid".into(), vec![guid]);
        let m = map_entry(&e, &ad_defaults(), Some("memberOf"), true).unwrap();
        assert_eq!(m.name, "jdoe");
        assert!(!m.enabled);
        assert_eq!(
            m.directory.attributes.get("immutable_id").unwrap(),
            "AQIDBAUGBwgJCgsMDQ4PEA=="
        );
        assert_eq!(
            m.directory.attributes.get("upn").unwrap(),
            "jdoe@corp.example"
        );
        assert_eq!(m.groups.iter().collect::<Vec<_>>(), ["VPN Users"]);
        let e = entry(&[("sAMAccountName", "a"), ("userAccountControl", "512")]);
        assert!(map_entry(&e, &ad_defaults(), None, true).unwrap().enabled);
    }

    #[test]
    fn missing_name_and_bad_overrides_are_refused() {
        let e = entry(&[("cn", "No Uid")]);
        assert!(map_entry(&e, &openldap_defaults(), None, false).is_err());
        assert!(with_overrides(openldap_defaults(), &["bogus=cn".into()]).is_err());
        assert!(with_overrides(openldap_defaults(), &["email".into()]).is_err());
        let m = with_overrides(
            openldap_defaults(),
            &["attr.employee=employeeNumber".into()],
        );
        assert_eq!(m.unwrap()["attr.employee"], "employeeNumber");
    }
}
