//! SCIM filters (RFC 7644 §3.4.2.2): parsing `userName eq "x" and (emails.value co "@a" or
//! displayName sw "B")` into a tree, and evaluating it against a resource's JSON. Pure.
//!
//! Supported: `eq ne co sw ew pr gt ge lt le`, `and`, `or`, `not (...)`, parentheses, dotted
//! paths into complex and multi-valued attributes (any element matches), value filters
//! `emails[type eq "work"].value` / `members[value eq "id"]`, URN-qualified attribute names.
//! Comparisons are case-insensitive except on `id`, `externalId` and `members.value`
//! (caseExact in RFC 7643).

use serde_json::Value;

/// A comparison operator.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    Eq,
    Ne,
    Co,
    Sw,
    Ew,
    Pr,
    Gt,
    Ge,
    Lt,
    Le,
}

/// A parsed filter.
#[derive(Clone, Debug, PartialEq)]
pub enum Filter {
    /// `path op value` (value `Null` for `pr`).
    Cmp(Vec<String>, Op, Value),
    /// `path[filter]` optionally followed by `.sub`.
    Value(Vec<String>, Box<Filter>),
    /// Both.
    And(Box<Filter>, Box<Filter>),
    /// Either.
    Or(Box<Filter>, Box<Filter>),
    /// Negation.
    Not(Box<Filter>),
}

#[derive(Clone, Debug, PartialEq)]
enum Tok {
    Word(String),
    Str(String),
    Open,
    Close,
    LBracket,
    RBracket,
}

fn lex(s: &str) -> Result<Vec<Tok>, String> {
    let mut out = Vec::new();
    let chars: Vec<char> = s.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match c {
            ' ' | '\t' => i += 1,
            '(' => {
                out.push(Tok::Open);
                i += 1
            }
            ')' => {
                out.push(Tok::Close);
                i += 1
            }
            '[' => {
                out.push(Tok::LBracket);
                i += 1
            }
            ']' => {
                out.push(Tok::RBracket);
                i += 1
            }
            '"' => {
                let mut v = String::new();
                i += 1;
                loop {
                    match chars.get(i) {
                        None => return Err("unterminated string".into()),
                        Some('"') => {
                            i += 1;
                            break;
                        }
                        Some('\\') => {
                            match chars.get(i + 1) {
                                Some(e @ ('"' | '\\' | '/')) => v.push(*e),
                                Some('n') => v.push('\n'),
                                Some('t') => v.push('\t'),
                                _ => return Err("bad escape in string".into()),
                            }
                            i += 2;
                        }
                        Some(c) => {
                            v.push(*c);
                            i += 1
                        }
                    }
                }
                out.push(Tok::Str(v));
            }
            _ => {
                let start = i;
                while i < chars.len() && !matches!(chars[i], ' ' | '\t' | '(' | ')' | '[' | ']') {
                    if chars[i] == '"' {
                        return Err("unexpected quote".into());
                    }
                    i += 1;
                }
                out.push(Tok::Word(chars[start..i].iter().collect()));
            }
        }
    }
    Ok(out)
}

struct Parser {
    toks: Vec<Tok>,
    pos: usize,
}

/// Splits an attribute path into lower-cased segments, dropping a schema URN prefix
/// (`urn:...:User:department` becomes `department`; the enterprise extension's attributes are
/// looked up under their URN object by [`lookup`]).
pub fn path_segments(path: &str) -> Vec<String> {
    let lower = path.to_ascii_lowercase();
    let rest = if lower.starts_with("urn:") {
        match lower.rfind(':') {
            Some(i) => {
                let (urn, attr) = lower.split_at(i);
                let attr = &attr[1..];
                let mut v = vec![urn.to_owned()];
                v.extend(attr.split('.').map(str::to_owned));
                return v;
            }
            None => lower.as_str(),
        }
    } else {
        lower.as_str()
    };
    rest.split('.').map(str::to_owned).collect()
}

impl Parser {
    fn peek_word(&self) -> Option<String> {
        match self.toks.get(self.pos) {
            Some(Tok::Word(w)) => Some(w.to_ascii_lowercase()),
            _ => None,
        }
    }

    fn or(&mut self) -> Result<Filter, String> {
        let mut left = self.and()?;
        while self.peek_word().as_deref() == Some("or") {
            self.pos += 1;
            let right = self.and()?;
            left = Filter::Or(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Filter, String> {
        let mut left = self.atom()?;
        while self.peek_word().as_deref() == Some("and") {
            self.pos += 1;
            let right = self.atom()?;
            left = Filter::And(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn atom(&mut self) -> Result<Filter, String> {
        match self.toks.get(self.pos).cloned() {
            Some(Tok::Open) => {
                self.pos += 1;
                let f = self.or()?;
                self.expect(Tok::Close)?;
                Ok(f)
            }
            Some(Tok::Word(w)) if w.eq_ignore_ascii_case("not") => {
                self.pos += 1;
                self.expect(Tok::Open)?;
                let f = self.or()?;
                self.expect(Tok::Close)?;
                Ok(Filter::Not(Box::new(f)))
            }
            Some(Tok::Word(path)) => {
                self.pos += 1;
                let segs = path_segments(&path);
                if self.toks.get(self.pos) == Some(&Tok::LBracket) {
                    self.pos += 1;
                    let inner = self.or()?;
                    self.expect(Tok::RBracket)?;
                    // `emails[type eq "work"].value` is only valid in PATCH paths; here a
                    // value filter stands alone.
                    return Ok(Filter::Value(segs, Box::new(inner)));
                }
                let op = match self.peek_word().as_deref() {
                    Some("eq") => Op::Eq,
                    Some("ne") => Op::Ne,
                    Some("co") => Op::Co,
                    Some("sw") => Op::Sw,
                    Some("ew") => Op::Ew,
                    Some("pr") => Op::Pr,
                    Some("gt") => Op::Gt,
                    Some("ge") => Op::Ge,
                    Some("lt") => Op::Lt,
                    Some("le") => Op::Le,
                    other => {
                        return Err(format!("expected an operator after {path}, got {other:?}"))
                    }
                };
                self.pos += 1;
                if op == Op::Pr {
                    return Ok(Filter::Cmp(segs, op, Value::Null));
                }
                let value = match self.toks.get(self.pos).cloned() {
                    Some(Tok::Str(s)) => Value::String(s),
                    Some(Tok::Word(w)) => match w.to_ascii_lowercase().as_str() {
                        "true" => Value::Bool(true),
                        "false" => Value::Bool(false),
                        "null" => Value::Null,
                        _ => w
                            .parse::<f64>()
                            .ok()
                            .and_then(serde_json::Number::from_f64)
                            .map(Value::Number)
                            .ok_or_else(|| format!("bad comparison value {w}"))?,
                    },
                    other => return Err(format!("expected a value, got {other:?}")),
                };
                self.pos += 1;
                Ok(Filter::Cmp(segs, op, value))
            }
            other => Err(format!("unexpected {other:?}")),
        }
    }

    fn expect(&mut self, t: Tok) -> Result<(), String> {
        if self.toks.get(self.pos) == Some(&t) {
            self.pos += 1;
            Ok(())
        } else {
            Err(format!("expected {t:?}"))
        }
    }
}

/// Parses a filter; `Err` carries the reason (a SCIM `invalidFilter`).
pub fn parse(text: &str) -> Result<Filter, String> {
    let toks = lex(text)?;
    if toks.is_empty() {
        return Err("empty filter".into());
    }
    let mut p = Parser { toks, pos: 0 };
    let f = p.or()?;
    if p.pos != p.toks.len() {
        return Err("trailing input after the filter".into());
    }
    Ok(f)
}

/// The values at `segs` in `v` (arrays flattened), matching keys case-insensitively.
pub fn lookup<'a>(v: &'a Value, segs: &[String]) -> Vec<&'a Value> {
    let Some((first, rest)) = segs.split_first() else {
        return match v {
            Value::Array(a) => a.iter().collect(),
            other => vec![other],
        };
    };
    match v {
        Value::Array(a) => a.iter().flat_map(|e| lookup(e, segs)).collect(),
        Value::Object(m) => {
            let direct = m
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(first))
                .map(|(_, x)| lookup(x, rest))
                .unwrap_or_default();
            if !direct.is_empty() || first.starts_with("urn:") {
                return direct;
            }
            // An unqualified extension attribute (`department`) lives under its URN.
            m.iter()
                .filter(|(k, _)| k.starts_with("urn:"))
                .flat_map(|(_, x)| lookup(x, segs))
                .collect()
        }
        _ => Vec::new(),
    }
}

fn case_exact(segs: &[String]) -> bool {
    matches!(segs.last().map(String::as_str), Some("id" | "externalid"))
        || segs == ["members".to_owned(), "value".to_owned()]
        || segs.first().map(String::as_str) == Some("value")
}

fn compare(actual: &Value, op: Op, want: &Value, exact: bool) -> bool {
    let norm = |s: &str| {
        if exact {
            s.to_owned()
        } else {
            s.to_lowercase()
        }
    };
    match (actual, want) {
        (Value::String(a), Value::String(w)) => {
            let (a, w) = (norm(a), norm(w));
            match op {
                Op::Eq => a == w,
                Op::Ne => a != w,
                Op::Co => a.contains(&w),
                Op::Sw => a.starts_with(&w),
                Op::Ew => a.ends_with(&w),
                Op::Gt => a > w,
                Op::Ge => a >= w,
                Op::Lt => a < w,
                Op::Le => a <= w,
                Op::Pr => true,
            }
        }
        (Value::Bool(a), Value::Bool(w)) => match op {
            Op::Eq => a == w,
            Op::Ne => a != w,
            _ => false,
        },
        (Value::Number(a), Value::Number(w)) => {
            let (a, w) = (a.as_f64().unwrap_or(0.0), w.as_f64().unwrap_or(0.0));
            match op {
                Op::Eq => a == w,
                Op::Ne => a != w,
                Op::Gt => a > w,
                Op::Ge => a >= w,
                Op::Lt => a < w,
                Op::Le => a <= w,
                _ => false,
            }
        }
        _ => op == Op::Ne,
    }
}

/// Whether `resource` matches `f`.
pub fn matches(f: &Filter, resource: &Value) -> bool {
    match f {
        Filter::And(a, b) => matches(a, resource) && matches(b, resource),
        Filter::Or(a, b) => matches(a, resource) || matches(b, resource),
        Filter::Not(a) => !matches(a, resource),
        Filter::Value(segs, inner) => lookup_elements(resource, segs)
            .iter()
            .any(|e| matches(inner, e)),
        Filter::Cmp(segs, Op::Pr, _) => lookup(resource, segs).iter().any(|v| {
            !v.is_null() && v.as_str() != Some("") && v.as_array().is_none_or(|a| !a.is_empty())
        }),
        Filter::Cmp(segs, op, want) => {
            let found = lookup(resource, segs);
            if found.is_empty() {
                return *op == Op::Ne;
            }
            let exact = case_exact(segs);
            found.iter().any(|a| compare(a, *op, want, exact))
        }
    }
}

/// The elements of the multi-valued attribute at `segs` (for value filters).
fn lookup_elements<'a>(v: &'a Value, segs: &[String]) -> Vec<&'a Value> {
    lookup(v, segs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn user() -> Value {
        json!({
            "id": "17", "externalId": "ABC", "userName": "Alice@Example.com",
            "displayName": "Alice Liddell",
            "emails": [{"value": "alice@example.com", "type": "work", "primary": true}],
            "active": true,
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "R&D"}
        })
    }

    #[test]
    fn rfc_examples_and_entra_filters() {
        let u = user();
        for (f, want) in [
            (r#"userName eq "alice@example.com""#, true),
            (r#"username EQ "ALICE@example.com""#, true),
            (r#"externalId eq "abc""#, false),
            (r#"externalId eq "ABC""#, true),
            (r#"displayName sw "Ali""#, true),
            (r#"displayName co "lid""#, true),
            (r#"emails.value ew "@example.com""#, true),
            (r#"emails[type eq "work" and value co "@example"]"#, true),
            (r#"userName eq "x" or displayName sw "Alice""#, true),
            (r#"userName eq "x" and displayName sw "Alice""#, false),
            (r#"not (active eq false)"#, true),
            (r#"title pr"#, false),
            (r#"emails pr"#, true),
            (r#"department eq "r&d""#, true),
            (
                r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department eq "R&D""#,
                true,
            ),
            (
                r#"(userName eq "x" or userName eq "y") or id eq "17""#,
                true,
            ),
        ] {
            let parsed = parse(f).unwrap_or_else(|e| panic!("{f}: {e}"));
            assert_eq!(matches(&parsed, &u), want, "{f}");
        }
    }

    #[test]
    fn members_value() {
        let g = json!({"displayName": "Ops", "members": [{"value": "3"}, {"value": "9"}]});
        assert!(matches(&parse(r#"members.value eq "9""#).unwrap(), &g));
        assert!(matches(&parse(r#"members[value eq "3"]"#).unwrap(), &g));
        assert!(!matches(&parse(r#"members.value eq "4""#).unwrap(), &g));
    }

    #[test]
    fn invalid_filters() {
        for f in [
            "",
            "userName",
            "userName eq",
            r#"userName zz "x""#,
            r#"(userName eq "x""#,
        ] {
            assert!(parse(f).is_err(), "{f}");
        }
    }
}
