//! SCIM PATCH (RFC 7644 §3.5.2) applied to a resource's JSON: `add`, `replace`, `remove` with
//! a path (`active`, `name.givenName`, `emails[type eq "work"].value`, `members[value eq
//! "7"]`, URN-qualified names) or without one (the value is an object of attributes). Pure: the
//! caller renders the resource, applies, then reads the result back with its own validation.
//!
//! Entra ID quirks handled: capitalised op names (`Replace`), path-less replace objects whose
//! keys are themselves paths (`name.givenName`), `remove` of `members` with a value list.
//! (Booleans as strings, `"False"`, are read by the resource parser.)

use serde_json::{Map, Value};

use super::filter::{self, Filter};

/// The core User schema URN, dropped from paths (its attributes are top level).
const CORE_USER: &str = "urn:ietf:params:scim:schemas:core:2.0:user";
const CORE_GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:group";

/// A PATCH failure: (`scimType`, detail).
pub type PatchError = (&'static str, String);

/// A parsed path: the attribute (with an optional URN container), an optional value filter
/// and an optional sub-attribute.
#[derive(Debug)]
struct Path {
    urn: Option<String>,
    attr: String,
    filter: Option<Filter>,
    sub: Option<String>,
}

fn parse_path(p: &str) -> Result<Path, PatchError> {
    let bad = |d: &str| ("invalidPath", format!("path {p:?}: {d}"));
    let mut urn = None;
    let mut rest = p.trim();
    let lower = rest.to_ascii_lowercase();
    if lower == super::resource::ENTERPRISE.to_ascii_lowercase() {
        // A whole extension object (`urn:...:enterprise:2.0:User`), not one of its attributes.
        return Ok(Path {
            urn: None,
            attr: rest.to_owned(),
            filter: None,
            sub: None,
        });
    }
    if lower.starts_with("urn:") {
        // The attribute starts after the last ':' outside a bracket.
        let cut = rest.find('[').unwrap_or(rest.len());
        let i = rest[..cut].rfind(':').ok_or_else(|| bad("no attribute"))?;
        let u = rest[..i].to_ascii_lowercase();
        if u != CORE_USER && u != CORE_GROUP {
            urn = Some(rest[..i].to_owned());
        }
        rest = &rest[i + 1..];
    }
    let (attr, filter, sub) = if let Some(open) = rest.find('[') {
        let close = rest.rfind(']').ok_or_else(|| bad("unclosed ["))?;
        let f = filter::parse(&rest[open + 1..close]).map_err(|e| bad(&e))?;
        let after = &rest[close + 1..];
        let sub = match after.strip_prefix('.') {
            Some(s) if !s.is_empty() => Some(s.to_owned()),
            None if after.is_empty() => None,
            _ => return Err(bad("unexpected text after ]")),
        };
        (rest[..open].to_owned(), Some(f), sub)
    } else {
        match rest.split_once('.') {
            Some((a, s)) => (a.to_owned(), None, Some(s.to_owned())),
            None => (rest.to_owned(), None, None),
        }
    };
    if attr.is_empty() {
        return Err(bad("empty attribute"));
    }
    Ok(Path {
        urn,
        attr,
        filter,
        sub,
    })
}

/// The key of `m` equal to `k` ignoring case, or `k` itself.
fn key_of(m: &Map<String, Value>, k: &str) -> String {
    m.keys()
        .find(|x| x.eq_ignore_ascii_case(k))
        .cloned()
        .unwrap_or_else(|| k.to_owned())
}

/// The object that holds the attribute: the resource, or its URN extension object.
fn container<'a>(
    doc: &'a mut Value,
    urn: &Option<String>,
) -> Result<&'a mut Map<String, Value>, PatchError> {
    let root = doc
        .as_object_mut()
        .ok_or(("invalidSyntax", "resource is not an object".to_owned()))?;
    match urn {
        None => Ok(root),
        Some(u) => {
            let k = key_of(root, u);
            let slot = root.entry(k).or_insert_with(|| Value::Object(Map::new()));
            if !slot.is_object() {
                *slot = Value::Object(Map::new());
            }
            Ok(slot.as_object_mut().expect("object"))
        }
    }
}

/// `value` of an element, for matching members given by value.
fn elem_value(v: &Value) -> Option<&str> {
    v.as_object()
        .and_then(|o| o.iter().find(|(k, _)| k.eq_ignore_ascii_case("value")))
        .and_then(|(_, v)| v.as_str())
}

fn set_simple(
    m: &mut Map<String, Value>,
    attr: &str,
    sub: Option<&str>,
    op: &str,
    value: Option<Value>,
) -> Result<(), PatchError> {
    let k = key_of(m, attr);
    if let Some(sub) = sub {
        let slot = m.entry(k).or_insert_with(|| Value::Object(Map::new()));
        if !slot.is_object() {
            *slot = Value::Object(Map::new());
        }
        let inner = slot.as_object_mut().expect("object");
        return set_simple(inner, sub, None, op, value);
    }
    match op {
        "remove" => {
            match (m.get_mut(&k), value) {
                // Entra: {"op":"Remove","path":"members","value":[{"value":"7"}]}
                (Some(Value::Array(items)), Some(Value::Array(gone))) => {
                    let gone: Vec<&str> = gone.iter().filter_map(elem_value).collect();
                    items.retain(|e| elem_value(e).is_none_or(|v| !gone.contains(&v)));
                }
                _ => {
                    m.remove(&k);
                }
            }
            Ok(())
        }
        "add" | "replace" => {
            let value = value.ok_or(("invalidValue", format!("{op} of {attr} needs a value")))?;
            match (m.get_mut(&k), value) {
                (Some(Value::Array(items)), Value::Array(new)) if op == "add" => {
                    for n in new {
                        let dup = elem_value(&n)
                            .is_some_and(|v| items.iter().any(|e| elem_value(e) == Some(v)));
                        if !dup {
                            items.push(n);
                        }
                    }
                }
                (Some(Value::Object(old)), Value::Object(new)) if op == "add" => {
                    for (nk, nv) in new {
                        let nk = key_of(old, &nk);
                        old.insert(nk, nv);
                    }
                }
                (_, v) => {
                    m.insert(k, v);
                }
            }
            Ok(())
        }
        other => Err(("invalidSyntax", format!("unknown op {other:?}"))),
    }
}

/// Applies one operation.
pub fn apply_op(
    doc: &mut Value,
    op: &str,
    path: Option<&str>,
    value: Option<Value>,
) -> Result<(), PatchError> {
    let op = op.to_ascii_lowercase();
    if !matches!(op.as_str(), "add" | "replace" | "remove") {
        return Err(("invalidSyntax", format!("unknown op {op:?}")));
    }
    let Some(path) = path.filter(|p| !p.trim().is_empty()) else {
        if op == "remove" {
            return Err(("noTarget", "remove needs a path".to_owned()));
        }
        let Some(Value::Object(attrs)) = value else {
            return Err((
                "invalidValue",
                "a path-less operation needs an object value".to_owned(),
            ));
        };
        for (k, v) in attrs {
            if k.to_ascii_lowercase().starts_with("urn:") && v.is_object() && !k.contains('[') {
                // An extension object: merge its attributes one by one.
                let urn_path = |a: &str| format!("{k}:{a}");
                for (a, av) in v.as_object().expect("object") {
                    apply_op(doc, &op, Some(&urn_path(a)), Some(av.clone()))?;
                }
            } else {
                apply_op(doc, &op, Some(&k), Some(v))?;
            }
        }
        return Ok(());
    };
    let p = parse_path(path)?;
    let m = container(doc, &p.urn)?;
    let Some(f) = &p.filter else {
        return set_simple(m, &p.attr, p.sub.as_deref(), &op, value);
    };
    let k = key_of(m, &p.attr);
    let slot = m
        .entry(k.clone())
        .or_insert_with(|| Value::Array(Vec::new()));
    if !slot.is_array() {
        *slot = Value::Array(Vec::new());
    }
    let items = slot.as_array_mut().expect("array");
    let hit: Vec<usize> = (0..items.len())
        .filter(|i| filter::matches(f, &items[*i]))
        .collect();
    match (op.as_str(), &p.sub) {
        ("remove", None) => {
            let mut i = 0;
            items.retain(|_| {
                let keep = !hit.contains(&i);
                i += 1;
                keep
            });
        }
        ("remove", Some(sub)) => {
            for i in hit {
                if let Some(o) = items[i].as_object_mut() {
                    let sk = key_of(o, sub);
                    o.remove(&sk);
                }
            }
        }
        (_, sub) => {
            let value = value.ok_or(("invalidValue", format!("{op} of {path} needs a value")))?;
            if hit.is_empty() {
                // `emails[type eq "work"].value` on a user without one: create the element
                // from the filter's equality (what Entra expects).
                let mut new = Map::new();
                if let Filter::Cmp(segs, filter::Op::Eq, v) = f {
                    if let [s] = segs.as_slice() {
                        new.insert(s.clone(), v.clone());
                    }
                }
                match sub {
                    Some(s) => {
                        new.insert(s.clone(), value);
                    }
                    None => {
                        if let Value::Object(o) = value {
                            new.extend(o);
                        }
                    }
                }
                items.push(Value::Object(new));
            } else {
                for i in hit {
                    match (sub, &value) {
                        (Some(s), v) => {
                            if let Some(o) = items[i].as_object_mut() {
                                let sk = key_of(o, s);
                                o.insert(sk, v.clone());
                            }
                        }
                        (None, Value::Object(nv)) => {
                            if let Some(o) = items[i].as_object_mut() {
                                for (a, b) in nv {
                                    let ak = key_of(o, a);
                                    o.insert(ak, b.clone());
                                }
                            }
                        }
                        (None, other) => items[i] = other.clone(),
                    }
                }
            }
        }
    }
    Ok(())
}

/// Applies a PatchOp request body (`{"schemas":[...],"Operations":[...]}`).
pub fn apply(doc: &mut Value, body: &Value) -> Result<(), PatchError> {
    let ops = body
        .as_object()
        .and_then(|o| o.iter().find(|(k, _)| k.eq_ignore_ascii_case("operations")))
        .and_then(|(_, v)| v.as_array())
        .ok_or((
            "invalidSyntax",
            "the body needs an Operations array".to_owned(),
        ))?;
    for o in ops {
        let get = |k: &str| {
            o.as_object()
                .and_then(|m| m.iter().find(|(x, _)| x.eq_ignore_ascii_case(k)))
                .map(|(_, v)| v.clone())
        };
        let op = get("op")
            .and_then(|v| v.as_str().map(str::to_owned))
            .ok_or(("invalidSyntax", "an operation needs op".to_owned()))?;
        let path = get("path").and_then(|v| v.as_str().map(str::to_owned));
        apply_op(doc, &op, path.as_deref(), get("value"))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const ENT: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

    #[test]
    fn entra_user_patches() {
        let mut u = json!({"userName": "a", "active": true, "emails": [], "name": {}});
        let body = json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [
            {"op": "Replace", "path": "active", "value": "False"},
            {"op": "Add", "path": "emails[type eq \"work\"].value", "value": "a@x.jp"},
            {"op": "Replace", "path": "name.givenName", "value": "Ann"},
            {"op": "Add", "path": format!("{ENT}:department"), "value": "R&D"},
            {"op": "Replace", "value": {"displayName": "Ann X", "name.familyName": "X"}},
            {"op": "replace", "path": "urn:ietf:params:scim:schemas:core:2.0:User:title",
             "value": "Boss"}
        ]});
        apply(&mut u, &body).unwrap();
        assert_eq!(u["active"], "False");
        assert_eq!(u["emails"], json!([{"type": "work", "value": "a@x.jp"}]));
        assert_eq!(u["name"], json!({"givenName": "Ann", "familyName": "X"}));
        assert_eq!(u[ENT]["department"], "R&D");
        assert_eq!(u["displayName"], "Ann X");
        assert_eq!(u["title"], "Boss");
        // Replace the e-mail in place, then remove it.
        apply_op(
            &mut u,
            "replace",
            Some("emails[type eq \"work\"].value"),
            Some(json!("b@x.jp")),
        )
        .unwrap();
        assert_eq!(u["emails"], json!([{"type": "work", "value": "b@x.jp"}]));
        apply_op(&mut u, "remove", Some("emails[type eq \"work\"]"), None).unwrap();
        assert_eq!(u["emails"], json!([]));
        apply_op(
            &mut u,
            "replace",
            Some(ENT),
            Some(json!({"department": "Ops"})),
        )
        .unwrap();
        assert_eq!(u[ENT]["department"], "Ops");
        apply_op(&mut u, "remove", Some("title"), None).unwrap();
        assert!(u.get("title").is_none());
    }

    #[test]
    fn group_members() {
        let mut g = json!({"displayName": "Ops", "members": [{"value": "1"}]});
        apply_op(
            &mut g,
            "Add",
            Some("members"),
            Some(json!([{"value": "2"}, {"value": "1"}])),
        )
        .unwrap();
        assert_eq!(g["members"], json!([{"value": "1"}, {"value": "2"}]));
        apply_op(
            &mut g,
            "Remove",
            Some("members"),
            Some(json!([{"value": "1"}])),
        )
        .unwrap();
        assert_eq!(g["members"], json!([{"value": "2"}]));
        apply_op(&mut g, "remove", Some("members[value eq \"2\"]"), None).unwrap();
        assert_eq!(g["members"], json!([]));
        apply_op(
            &mut g,
            "replace",
            None,
            Some(json!({"displayName": "Ops2"})),
        )
        .unwrap();
        assert_eq!(g["displayName"], "Ops2");
        assert!(apply_op(&mut g, "move", Some("x"), None).is_err());
        assert!(apply_op(&mut g, "remove", None, None).is_err());
        assert!(apply(&mut g, &json!({"Operations": "x"})).is_err());
    }
}
