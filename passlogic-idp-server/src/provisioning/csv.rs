//! The CSV bulk import format (docs/provisioning-csv.md): decoding (UTF-8 with or without BOM,
//! Shift_JIS), parsing rows into wanted user states, and planning each row against the current
//! directory (create / update / unchanged / rejected). Pure functions, no I/O: the caller loads
//! the current users, and [`super::import`] applies a plan.
//!
//! Semantics: a column present in the header is authoritative for every row (an empty cell
//! clears an optional field); a column absent from the header leaves that field unchanged.
//! `groups` (separated by `;`) sets the user's memberships exactly. Users absent from the file
//! are left alone (the import never deletes or disables by omission).
//!
//! Known gaps: no `valid_from` / `valid_until` columns; no deletion of users missing from the
//! file.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

/// Encodings accepted by `--encoding`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Encoding {
    /// UTF-8 (a leading BOM is ignored).
    Utf8,
    /// Shift_JIS (Windows-31J, as Excel in Japan writes it).
    ShiftJis,
}

impl std::str::FromStr for Encoding {
    type Err = anyhow::Error;
    fn from_str(s: &str) -> anyhow::Result<Self> {
        match s.to_ascii_lowercase().replace('-', "_").as_str() {
            "utf8" | "utf_8" => Ok(Encoding::Utf8),
            "shift_jis" | "sjis" | "cp932" | "windows_31j" => Ok(Encoding::ShiftJis),
            _ => anyhow::bail!("unknown encoding {s:?} (use utf-8 or shift_jis)"),
        }
    }
}

/// Decodes the file: with `forced`, in that encoding (malformed bytes are an error); otherwise
/// UTF-8 when the bytes are valid UTF-8 (BOM or not), else Shift_JIS when they decode cleanly.
pub fn decode(bytes: &[u8], forced: Option<Encoding>) -> anyhow::Result<String> {
    let utf8 = |b: &[u8]| -> anyhow::Result<String> {
        let b = b.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(b);
        String::from_utf8(b.to_vec()).map_err(|e| anyhow::anyhow!("the file is not UTF-8: {e}"))
    };
    let sjis = |b: &[u8]| -> anyhow::Result<String> {
        let (text, had_errors) = encoding_rs::SHIFT_JIS.decode_without_bom_handling(b);
        anyhow::ensure!(!had_errors, "the file is not valid Shift_JIS");
        Ok(text.into_owned())
    };
    match forced {
        Some(Encoding::Utf8) => utf8(bytes),
        Some(Encoding::ShiftJis) => sjis(bytes),
        None => utf8(bytes).or_else(|_| {
            sjis(bytes).map_err(|_| {
                anyhow::anyhow!("the file is neither UTF-8 nor Shift_JIS (use --encoding)")
            })
        }),
    }
}

/// Columns that map to a named field; `attr.KEY` columns and the external IDs
/// (`immutable_id`, `upn`, `federation_id`) go to the attributes object.
const FIELDS: &[&str] = &[
    "name",
    "display_name",
    "email",
    "given_name",
    "family_name",
    "department",
    "position",
    "groups",
    "enabled",
];
const EXTERNAL_IDS: &[&str] = &["immutable_id", "upn", "federation_id"];

/// Longest accepted cell (bytes).
const MAX_VALUE: usize = 1024;

/// One data row as the file wants it. `None`: the column is absent (leave unchanged).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WantedUser {
    /// 1-based line of the row in the file (the header is line 1).
    pub line: u64,
    /// Sign-in name.
    pub name: String,
    /// Name shown on pages (empty or absent: the sign-in name for a new user, unchanged
    /// for an existing one).
    pub display_name: Option<String>,
    /// E-mail (inner `None`: clear).
    pub email: Option<Option<String>>,
    /// Given name.
    pub given_name: Option<Option<String>>,
    /// Family name.
    pub family_name: Option<Option<String>>,
    /// Department.
    pub department: Option<Option<String>>,
    /// Position.
    pub position: Option<Option<String>>,
    /// Exact group memberships, sorted.
    pub groups: Option<Vec<String>>,
    /// Sign-in allowed (empty cell: true).
    pub enabled: Option<bool>,
    /// Attribute columns: key to value (`None`: remove).
    pub attributes: BTreeMap<String, Option<String>>,
}

/// A row that cannot be imported.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rejected {
    /// 1-based line in the file.
    pub line: u64,
    /// The row's `name` cell (may be empty).
    pub name: String,
    /// Why, in words for the errors CSV.
    pub reason: String,
}

/// The current state of a user, as the plan compares it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CurrentUser {
    /// Database id.
    pub id: i64,
    /// Sign-in name.
    pub name: String,
    /// Name shown on pages.
    pub display_name: String,
    /// E-mail.
    pub email: Option<String>,
    /// Given name.
    pub given_name: Option<String>,
    /// Family name.
    pub family_name: Option<String>,
    /// Department.
    pub department: Option<String>,
    /// Position.
    pub position: Option<String>,
    /// Sign-in allowed.
    pub enabled: bool,
    /// External IDs and custom attributes.
    pub attributes: BTreeMap<String, String>,
    /// Group names, sorted.
    pub groups: Vec<String>,
}

/// The full state a row leads to (for creates and updates).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    /// Sign-in name.
    pub name: String,
    /// Name shown on pages.
    pub display_name: String,
    /// E-mail.
    pub email: Option<String>,
    /// Given name.
    pub given_name: Option<String>,
    /// Family name.
    pub family_name: Option<String>,
    /// Department.
    pub department: Option<String>,
    /// Position.
    pub position: Option<String>,
    /// Sign-in allowed.
    pub enabled: bool,
    /// External IDs and custom attributes.
    pub attributes: BTreeMap<String, String>,
    /// Group names, sorted.
    pub groups: Vec<String>,
}

/// What one row does.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// A new user.
    Create(Target),
    /// An existing user (id) changes; `fields` names what changes.
    Update {
        /// Database id.
        id: i64,
        /// The state after.
        target: Target,
        /// Names of the changed fields.
        fields: Vec<String>,
        /// Whether memberships change.
        groups_changed: bool,
    },
    /// Nothing to do.
    Unchanged,
}

/// One planned row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlannedRow {
    /// 1-based line.
    pub line: u64,
    /// Sign-in name.
    pub name: String,
    /// What happens.
    pub action: Action,
}

/// The plan of a whole file. Applicable only when `rejected` is empty.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Plan {
    /// Rows that would be applied, in file order.
    pub rows: Vec<PlannedRow>,
    /// Rows that cannot be applied.
    pub rejected: Vec<Rejected>,
}

impl Plan {
    /// (created, updated, unchanged, rejected) counts.
    pub fn counts(&self) -> (usize, usize, usize, usize) {
        let mut c = (0, 0, 0, self.rejected.len());
        for r in &self.rows {
            match r.action {
                Action::Create(_) => c.0 += 1,
                Action::Update { .. } => c.1 += 1,
                Action::Unchanged => c.2 += 1,
            }
        }
        c
    }

    /// The one-line summary printed and written in reports.
    pub fn summary(&self) -> String {
        let (c, u, n, r) = self.counts();
        format!("import: created={c} updated={u} unchanged={n} rejected={r}")
    }

    /// The errors CSV (`line,name,error`), header included.
    pub fn errors_csv(&self) -> String {
        let mut w = csv::Writer::from_writer(Vec::new());
        let _ = w.write_record(["line", "name", "error"]);
        for r in &self.rejected {
            let _ = w.write_record([r.line.to_string(), r.name.clone(), r.reason.clone()]);
        }
        String::from_utf8(w.into_inner().unwrap_or_default()).unwrap_or_default()
    }
}

/// A sign-in name: 1-128 letters, digits, `-`, `_`, `.` or `@` (the admin API's rule).
pub fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 128
        && name
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | '.' | '@'))
}

/// An attribute key: 1 to 64 ASCII letters, digits, `_`, `-`, `.` or `:`.
fn valid_key(k: &str) -> bool {
    !k.is_empty()
        && k.len() <= 64
        && k.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b':'))
}

fn cell(v: &str, what: &str) -> Result<Option<String>, String> {
    let v = v.trim();
    if v.len() > MAX_VALUE {
        return Err(format!("{what} is longer than {MAX_VALUE} bytes"));
    }
    if v.chars().any(char::is_control) {
        return Err(format!("{what} contains control characters"));
    }
    Ok((!v.is_empty()).then(|| v.to_owned()))
}

fn parse_bool(v: &str) -> Result<bool, String> {
    match v.trim().to_ascii_lowercase().as_str() {
        "" | "true" | "1" | "yes" | "y" => Ok(true),
        "false" | "0" | "no" | "n" => Ok(false),
        other => Err(format!("enabled: {other:?} is not true/false")),
    }
}

/// Which column feeds what.
#[derive(Clone, Debug)]
enum Column {
    Field(&'static str),
    Attr(String),
}

/// Parses the text into wanted rows and rejected rows. A broken header is an error for the
/// whole file (`Err`).
pub fn parse(text: &str) -> anyhow::Result<(Vec<WantedUser>, Vec<Rejected>)> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .from_reader(text.as_bytes());
    let header = reader
        .headers()
        .map_err(|e| anyhow::anyhow!("header row: {e}"))?
        .clone();
    let mut columns = Vec::new();
    let mut seen = HashSet::new();
    for h in header.iter() {
        let h = h.trim();
        let col = if let Some(f) = FIELDS.iter().find(|f| **f == h) {
            Column::Field(f)
        } else if EXTERNAL_IDS.contains(&h) {
            Column::Attr(h.to_owned())
        } else if let Some(k) = h.strip_prefix("attr.") {
            anyhow::ensure!(valid_key(k), "header: bad attribute column {h:?}");
            Column::Attr(k.to_owned())
        } else {
            anyhow::bail!(
                "header: unknown column {h:?} (known: {}, {}, attr.KEY)",
                FIELDS.join(", "),
                EXTERNAL_IDS.join(", ")
            );
        };
        anyhow::ensure!(seen.insert(h.to_owned()), "header: column {h:?} twice");
        columns.push(col);
    }
    anyhow::ensure!(seen.contains("name"), "header: the name column is required");

    let mut wanted = Vec::new();
    let mut rejected = Vec::new();
    let mut names = HashMap::new();
    for record in reader.records() {
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map(|p| p.line()).unwrap_or(0);
                rejected.push(Rejected {
                    line,
                    name: String::new(),
                    reason: format!("unreadable row: {e}"),
                });
                continue;
            }
        };
        let line = record.position().map(|p| p.line()).unwrap_or(0);
        if record.iter().all(|c| c.trim().is_empty()) {
            continue;
        }
        let name_cell = columns
            .iter()
            .position(|c| matches!(c, Column::Field("name")))
            .and_then(|i| record.get(i))
            .unwrap_or("")
            .trim()
            .to_owned();
        let reject = |reason: String| Rejected {
            line,
            name: name_cell.clone(),
            reason,
        };
        if record.len() != columns.len() {
            rejected.push(reject(format!(
                "{} cells, the header has {}",
                record.len(),
                columns.len()
            )));
            continue;
        }
        match row(line, &columns, &record) {
            Ok(w) => {
                if let Some(first) = names.insert(w.name.clone(), line) {
                    rejected.push(reject(format!("name repeats line {first}")));
                } else {
                    wanted.push(w);
                }
            }
            Err(reason) => rejected.push(reject(reason)),
        }
    }
    Ok((wanted, rejected))
}

fn row(line: u64, columns: &[Column], record: &csv::StringRecord) -> Result<WantedUser, String> {
    let mut w = WantedUser {
        line,
        ..WantedUser::default()
    };
    for (col, raw) in columns.iter().zip(record.iter()) {
        match col {
            Column::Field("name") => {
                let n = raw.trim();
                if !valid_name(n) {
                    return Err(format!(
                        "name {n:?}: 1-128 letters, digits, - _ . or @ expected"
                    ));
                }
                w.name = n.to_owned();
            }
            Column::Field("display_name") => w.display_name = cell(raw, "display_name")?,
            Column::Field("email") => {
                let v = cell(raw, "email")?;
                if let Some(e) = &v {
                    let ok = e
                        .split_once('@')
                        .is_some_and(|(l, d)| !l.is_empty() && !d.is_empty());
                    if !ok {
                        return Err(format!("email {e:?} is not an address"));
                    }
                }
                w.email = Some(v);
            }
            Column::Field("given_name") => w.given_name = Some(cell(raw, "given_name")?),
            Column::Field("family_name") => w.family_name = Some(cell(raw, "family_name")?),
            Column::Field("department") => w.department = Some(cell(raw, "department")?),
            Column::Field("position") => w.position = Some(cell(raw, "position")?),
            Column::Field("enabled") => w.enabled = Some(parse_bool(raw)?),
            Column::Field("groups") => {
                let mut set = BTreeSet::new();
                for g in raw.split(';').map(str::trim).filter(|g| !g.is_empty()) {
                    if g.len() > 128 || g.chars().any(char::is_control) {
                        return Err(format!("group {g:?}: 1-128 characters, no control ones"));
                    }
                    set.insert(g.to_owned());
                }
                w.groups = Some(set.into_iter().collect());
            }
            Column::Field(_) => {}
            Column::Attr(k) => {
                w.attributes.insert(k.clone(), cell(raw, k)?);
            }
        }
    }
    Ok(w)
}

fn merge<T: Clone>(wanted: &Option<T>, current: &T) -> T {
    wanted.clone().unwrap_or_else(|| current.clone())
}

/// Plans every wanted row against the current users (keyed by name).
pub fn plan(
    wanted: Vec<WantedUser>,
    rejected: Vec<Rejected>,
    current: &HashMap<String, CurrentUser>,
) -> Plan {
    let mut rows = Vec::with_capacity(wanted.len());
    for w in wanted {
        let action = match current.get(&w.name) {
            None => {
                let mut attributes = BTreeMap::new();
                for (k, v) in &w.attributes {
                    if let Some(v) = v {
                        attributes.insert(k.clone(), v.clone());
                    }
                }
                Action::Create(Target {
                    name: w.name.clone(),
                    display_name: w.display_name.clone().unwrap_or_else(|| w.name.clone()),
                    email: w.email.clone().flatten(),
                    given_name: w.given_name.clone().flatten(),
                    family_name: w.family_name.clone().flatten(),
                    department: w.department.clone().flatten(),
                    position: w.position.clone().flatten(),
                    enabled: w.enabled.unwrap_or(true),
                    attributes,
                    groups: w.groups.clone().unwrap_or_default(),
                })
            }
            Some(c) => {
                let mut attributes = c.attributes.clone();
                for (k, v) in &w.attributes {
                    match v {
                        Some(v) => attributes.insert(k.clone(), v.clone()),
                        None => attributes.remove(k),
                    };
                }
                let target = Target {
                    name: c.name.clone(),
                    // An empty or absent display_name keeps the current one.
                    display_name: merge(&w.display_name, &c.display_name),
                    email: merge(&w.email, &c.email),
                    given_name: merge(&w.given_name, &c.given_name),
                    family_name: merge(&w.family_name, &c.family_name),
                    department: merge(&w.department, &c.department),
                    position: merge(&w.position, &c.position),
                    enabled: w.enabled.unwrap_or(c.enabled),
                    attributes,
                    groups: merge(&w.groups, &c.groups),
                };
                let mut fields = Vec::new();
                let mut diff = |f: &str, changed: bool| {
                    if changed {
                        fields.push(f.to_owned());
                    }
                };
                diff("display_name", target.display_name != c.display_name);
                diff("email", target.email != c.email);
                diff("given_name", target.given_name != c.given_name);
                diff("family_name", target.family_name != c.family_name);
                diff("department", target.department != c.department);
                diff("position", target.position != c.position);
                diff("enabled", target.enabled != c.enabled);
                diff("attributes", target.attributes != c.attributes);
                let groups_changed = target.groups != c.groups;
                diff("groups", groups_changed);
                if fields.is_empty() {
                    Action::Unchanged
                } else {
                    Action::Update {
                        id: c.id,
                        target,
                        fields,
                        groups_changed,
                    }
                }
            }
        };
        rows.push(PlannedRow {
            line: w.line,
            name: w.name,
            action,
        });
    }
    Plan { rows, rejected }
}

/// Moves the rows that name a group not in `known` to the rejected rows (line order kept):
/// for callers that must not create groups by accident (the console, unless asked).
pub fn reject_unknown_groups(plan: &mut Plan, known: &HashSet<String>) {
    let mut kept = Vec::with_capacity(plan.rows.len());
    for row in std::mem::take(&mut plan.rows) {
        let groups = match &row.action {
            Action::Create(t) | Action::Update { target: t, .. } => t.groups.as_slice(),
            Action::Unchanged => &[],
        };
        match groups.iter().find(|g| !known.contains(*g)) {
            Some(g) => plan.rejected.push(Rejected {
                line: row.line,
                name: row.name.clone(),
                reason: format!("unknown group {g:?}"),
            }),
            None => kept.push(row),
        }
    }
    plan.rows = kept;
    plan.rejected.sort_by_key(|r| r.line);
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEAD: &str = "name,display_name,email,department,groups,enabled,immutable_id\n";

    fn plan_of(text: &str, current: &[CurrentUser]) -> Plan {
        let (w, r) = parse(text).unwrap();
        let map = current
            .iter()
            .map(|c| (c.name.clone(), c.clone()))
            .collect();
        plan(w, r, &map)
    }

    #[test]
    fn decodes_utf8_bom_and_shift_jis() {
        let text = "name,display_name\ntaro,山田太郎\n";
        let bom = [b"\xEF\xBB\xBF".as_slice(), text.as_bytes()].concat();
        assert_eq!(decode(&bom, None).unwrap(), text);
        let (sjis, _, _) = encoding_rs::SHIFT_JIS.encode(text);
        assert_ne!(sjis.as_ref(), text.as_bytes());
        assert_eq!(decode(&sjis, None).unwrap(), text);
        assert_eq!(decode(&sjis, Some(Encoding::ShiftJis)).unwrap(), text);
        assert!(decode(&sjis, Some(Encoding::Utf8)).is_err());
    }

    #[test]
    fn plans_create_update_unchanged_and_rejects() {
        let current = CurrentUser {
            id: 7,
            name: "hanako".into(),
            display_name: "Hanako".into(),
            email: Some("h@example.jp".into()),
            enabled: true,
            groups: vec!["sales".into()],
            ..CurrentUser::default()
        };
        let same = CurrentUser {
            id: 8,
            name: "ken".into(),
            display_name: "Ken".into(),
            enabled: true,
            attributes: [("immutable_id".to_owned(), "K1".to_owned())].into(),
            ..CurrentUser::default()
        };
        let text = format!(
            "{HEAD}taro,Taro,t@example.jp,Dev,dev;all,true,T1\n\
             hanako,Hanako,h@example.jp,,sales,false,\n\
             ken,Ken,,,,yes,K1\n\
             bad name,,,,,,\n\
             taro,Again,,,,,\n\
             eve,,not-an-address,,,,\n\
             zed,,,,,maybe,\n"
        );
        let p = plan_of(&text, &[current, same]);
        assert_eq!(p.counts(), (1, 1, 1, 4));
        match &p.rows[0].action {
            Action::Create(t) => {
                assert_eq!(t.groups, vec!["all".to_owned(), "dev".to_owned()]);
                assert_eq!(t.attributes.get("immutable_id").unwrap(), "T1");
                assert_eq!(t.department.as_deref(), Some("Dev"));
            }
            other => panic!("{other:?}"),
        }
        match &p.rows[1].action {
            Action::Update { id, fields, .. } => {
                assert_eq!(*id, 7);
                assert_eq!(fields, &vec!["enabled".to_owned()]);
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(p.rows[2].action, Action::Unchanged);
        let lines: Vec<u64> = p.rejected.iter().map(|r| r.line).collect();
        assert_eq!(lines, vec![5, 6, 7, 8]);
        assert!(p.rejected[1].reason.contains("repeats line 2"));
        let errors = p.errors_csv();
        assert!(errors.starts_with("line,name,error\n"), "{errors}");
        assert!(errors.contains("8,zed,"), "{errors}");
    }

    #[test]
    fn absent_columns_leave_fields_alone() {
        let c = CurrentUser {
            id: 1,
            name: "a".into(),
            display_name: "A".into(),
            department: Some("Ops".into()),
            enabled: false,
            groups: vec!["g".into()],
            ..CurrentUser::default()
        };
        let p = plan_of("name,email\na,\n", &[c]);
        assert_eq!(p.rows[0].action, Action::Unchanged);
    }

    #[test]
    fn header_errors_fail_the_file() {
        assert!(parse("display_name\nx\n").is_err());
        assert!(parse("name,colour\nx,red\n").is_err());
        assert!(parse("name,name\nx,x\n").is_err());
        let (w, r) = parse("name,attr.employee-no\nx,42\n").unwrap();
        assert!(r.is_empty());
        assert_eq!(w[0].attributes["employee-no"].as_deref(), Some("42"));
    }

    #[test]
    fn unknown_groups_can_be_rejected() {
        let c = CurrentUser {
            id: 1,
            name: "a".into(),
            display_name: "A".into(),
            enabled: true,
            groups: vec!["old".into()],
            ..CurrentUser::default()
        };
        let mut p = plan_of(
            "name,groups\nx,sales\ny,sales;ghost\na,old\nbad name,\n",
            &[c],
        );
        let known: HashSet<String> = ["sales".to_owned(), "old".to_owned()].into();
        reject_unknown_groups(&mut p, &known);
        assert_eq!(p.counts(), (1, 0, 1, 2));
        assert_eq!(p.rejected[0].line, 3);
        assert_eq!(p.rejected[0].reason, "unknown group \"ghost\"");
        assert_eq!(p.rejected[1].line, 5);
    }
}
