//! The changes a sync makes, computed without I/O from the directory's entries and what is
//! stored: which users to create, update, disable or delete, and which memberships change.
//!
//! Rules: a source only touches users it owns (linked to it by an earlier sync); an entry whose
//! name belongs to a local user or to another source's user is skipped and reported. Attributes
//! mapped from the directory overwrite stored ones; other stored attributes are kept. Only
//! group memberships the source itself added are ever removed. The directory's enabled state
//! wins (a user disabled by hand but enabled in the directory is enabled again).
//! Known gap: a user renamed in the directory (same DN, new sign-in name) shows up as a new
//! user plus a missing one.

use std::collections::{BTreeSet, HashMap, HashSet};

use super::mapping::Mapped;
use crate::store::{LdapLink, LdapRunCounts, LdapUserWrite, LdapWrite, UserRow};

/// What happens to one user (or entry).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// A new user.
    Create,
    /// Changed fields (`display_name`, `email`, ..., `enabled`, `groups`).
    Update(Vec<&'static str>),
    /// Disabled (gone from the directory, or disabled there).
    Disable,
    /// Deleted (gone from the directory, source set to delete).
    Delete,
    /// Nothing to do.
    Unchanged,
    /// Not synced, with the reason.
    Skip(String),
}

/// One line of the report.
#[derive(Clone, Debug)]
pub struct Change {
    /// Sign-in name (or DN when there is none).
    pub name: String,
    /// What happens.
    pub action: Action,
}

/// The computed sync.
#[derive(Debug, Default)]
pub struct Plan {
    /// Every entry and owned user, with its action.
    pub changes: Vec<Change>,
    /// What to write.
    pub writes: Vec<LdapWrite>,
    /// The counts.
    pub counts: LdapRunCounts,
}

/// Stored state the plan compares against.
#[derive(Debug)]
pub struct Current<'a> {
    /// The tenant's users.
    pub users: &'a [UserRow],
    /// The users this source owns.
    pub links: &'a [LdapLink],
    /// User ids owned by other sources.
    pub other_sources: &'a HashSet<i64>,
    /// `delete` users gone from the directory instead of disabling them.
    pub delete_missing: bool,
}

/// Computes the plan. `skipped` are entries that could not be mapped (DN, reason).
pub fn plan(entries: Vec<Mapped>, skipped: Vec<(String, String)>, cur: &Current<'_>) -> Plan {
    let by_name: HashMap<&str, &UserRow> = cur.users.iter().map(|u| (u.name.as_str(), u)).collect();
    let by_id: HashMap<i64, &UserRow> = cur.users.iter().map(|u| (u.id, u)).collect();
    let links: HashMap<i64, &LdapLink> = cur.links.iter().map(|l| (l.user_id, l)).collect();
    let mut p = Plan::default();
    for (dn, reason) in skipped {
        p.skip(dn, reason);
    }
    let mut seen_names = HashSet::new();
    let mut seen_ids = HashSet::new();
    for m in entries {
        if !seen_names.insert(m.name.clone()) {
            let reason = format!("{}: another entry has the same name", m.dn);
            p.skip(m.name, reason);
            continue;
        }
        match by_name.get(m.name.as_str()) {
            None => p.create(m),
            Some(u) if links.contains_key(&u.id) => {
                seen_ids.insert(u.id);
                p.update(u, links[&u.id], m);
            }
            Some(u) => {
                let reason = if cur.other_sources.contains(&u.id) {
                    "owned by another LDAP source"
                } else {
                    "a local user has this name"
                };
                p.skip(m.name, reason.to_owned());
            }
        }
    }
    for l in cur.links {
        if seen_ids.contains(&l.user_id) {
            continue;
        }
        let Some(u) = by_id.get(&l.user_id) else {
            continue;
        };
        if cur.delete_missing {
            p.push(&u.name, Action::Delete);
            p.writes.push(LdapWrite::Delete(u.id));
        } else if u.enabled {
            p.push(&u.name, Action::Disable);
            p.writes.push(LdapWrite::Disable(u.id));
        } else {
            p.push(&u.name, Action::Unchanged);
        }
    }
    p
}

impl Plan {
    fn push(&mut self, name: &str, action: Action) {
        let c = &mut self.counts;
        match &action {
            Action::Create => c.created += 1,
            Action::Update(_) => c.updated += 1,
            Action::Disable => c.disabled += 1,
            Action::Delete => c.deleted += 1,
            Action::Unchanged => c.unchanged += 1,
            Action::Skip(_) => c.skipped += 1,
        }
        self.changes.push(Change {
            name: name.to_owned(),
            action,
        });
    }

    fn skip(&mut self, name: String, reason: String) {
        self.push(&name, Action::Skip(reason));
    }

    fn create(&mut self, m: Mapped) {
        let groups: Vec<String> = m.groups.iter().cloned().collect();
        self.push(&m.name, Action::Create);
        self.writes.push(LdapWrite::Upsert(Box::new(LdapUserWrite {
            user_id: None,
            name: m.name,
            display_name: m.display_name,
            directory: m.directory,
            enabled: m.enabled,
            dn: m.dn,
            join: groups.clone(),
            leave: Vec::new(),
            groups,
        })));
    }

    fn update(&mut self, u: &UserRow, link: &LdapLink, m: Mapped) {
        let mut directory = m.directory.clone();
        let mut attributes = u.attributes.clone();
        attributes.extend(directory.attributes);
        directory.attributes = attributes;
        directory.valid_from = u.valid_from;
        directory.valid_until = u.valid_until;
        let old = u.directory();
        let mut fields = Vec::new();
        if u.display_name != m.display_name {
            fields.push("display_name");
        }
        for (field, changed) in [
            ("email", old.email != directory.email),
            ("given_name", old.given_name != directory.given_name),
            ("family_name", old.family_name != directory.family_name),
            ("department", old.department != directory.department),
            ("position", old.position != directory.position),
            ("attributes", old.attributes != directory.attributes),
        ] {
            if changed {
                fields.push(field);
            }
        }
        let before: BTreeSet<String> = link.groups.iter().cloned().collect();
        let join: Vec<String> = m.groups.difference(&before).cloned().collect();
        let leave: Vec<String> = before.difference(&m.groups).cloned().collect();
        if !join.is_empty() || !leave.is_empty() {
            fields.push("groups");
        }
        let enabling = !u.enabled && m.enabled;
        if enabling {
            fields.push("enabled");
        }
        let disabling = u.enabled && !m.enabled;
        let action = if disabling {
            Action::Disable
        } else if fields.is_empty() && link.dn == m.dn {
            Action::Unchanged
        } else if fields.is_empty() {
            Action::Update(vec!["dn"])
        } else {
            Action::Update(fields)
        };
        if action == Action::Unchanged {
            self.push(&u.name, action);
            return;
        }
        self.push(&u.name, action);
        self.writes.push(LdapWrite::Upsert(Box::new(LdapUserWrite {
            user_id: Some(u.id),
            name: u.name.clone(),
            display_name: m.display_name,
            directory,
            enabled: m.enabled,
            dn: m.dn,
            join,
            leave,
            groups: m.groups.into_iter().collect(),
        })));
    }
}

/// The report's per-user line (`create: NAME`, `update: NAME (email, groups)`, ...).
pub fn line(c: &Change) -> String {
    match &c.action {
        Action::Create => format!("create: {}", c.name),
        Action::Update(f) => format!("update: {} ({})", c.name, f.join(", ")),
        Action::Disable => format!("disable: {}", c.name),
        Action::Delete => format!("delete: {}", c.name),
        Action::Unchanged => format!("unchanged: {}", c.name),
        Action::Skip(r) => format!("skip: {} ({r})", c.name),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::store::UserDirectory;

    fn user(id: i64, name: &str, enabled: bool) -> UserRow {
        UserRow {
            id,
            tenant_id: 1,
            name: name.into(),
            display_name: name.into(),
            email: None,
            enabled,
            is_admin: false,
            failed_attempts: 0,
            locked: false,
            must_change_pattern: true,
            matrix_secret: None,
            given_name: None,
            family_name: None,
            department: Some("Sales".into()),
            position: None,
            valid_from: None,
            valid_until: None,
            attributes: BTreeMap::from([("local".into(), "kept".into())]),
        }
    }

    fn mapped(name: &str, dept: &str, groups: &[&str], enabled: bool) -> Mapped {
        Mapped {
            dn: format!("uid={name},dc=x"),
            name: name.into(),
            display_name: name.into(),
            directory: UserDirectory {
                department: Some(dept.into()),
                ..UserDirectory::default()
            },
            enabled,
            groups: groups.iter().map(|g| (*g).to_owned()).collect(),
        }
    }

    fn link(id: i64, name: &str, groups: &[&str]) -> LdapLink {
        LdapLink {
            user_id: id,
            dn: format!("uid={name},dc=x"),
            groups: groups.iter().map(|g| (*g).to_owned()).collect(),
        }
    }

    #[test]
    fn creates_updates_disables_and_leaves_local_users_alone() {
        let users = vec![
            user(1, "same", true),
            user(2, "moved", true),
            user(3, "gone", true),
            user(4, "local", true),
            user(5, "off", true),
        ];
        let links = vec![
            link(1, "same", &["A"]),
            link(2, "moved", &["A", "B"]),
            link(3, "gone", &[]),
            link(5, "off", &[]),
        ];
        let others = HashSet::new();
        let cur = Current {
            users: &users,
            links: &links,
            other_sources: &others,
            delete_missing: false,
        };
        let entries = vec![
            mapped("same", "Sales", &["A"], true),
            mapped("moved", "Support", &["B", "C"], true),
            mapped("local", "Sales", &[], true),
            mapped("off", "Sales", &[], false),
            mapped("new", "Sales", &["A"], true),
        ];
        let p = plan(entries, vec![("uid=bad".into(), "no uid".into())], &cur);
        let lines: Vec<String> = p.changes.iter().map(line).collect();
        assert_eq!(
            lines,
            [
                "skip: uid=bad (no uid)",
                "unchanged: same",
                "update: moved (department, groups)",
                "skip: local (a local user has this name)",
                "disable: off",
                "create: new",
                "disable: gone",
            ]
        );
        assert_eq!(
            (p.counts.created, p.counts.updated, p.counts.disabled),
            (1, 1, 2)
        );
        assert_eq!((p.counts.unchanged, p.counts.skipped), (1, 2));
        let moved = p.writes.iter().find_map(|w| match w {
            LdapWrite::Upsert(u) if u.name == "moved" => Some(u),
            _ => None,
        });
        let moved = moved.unwrap();
        assert_eq!(moved.join, ["C"]);
        assert_eq!(moved.leave, ["A"]);
        assert_eq!(moved.directory.attributes["local"], "kept");
        let cur = Current {
            delete_missing: true,
            ..cur
        };
        let p = plan(vec![], vec![], &cur);
        assert_eq!(p.counts.deleted, 4);
    }
}
