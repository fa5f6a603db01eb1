//! Exclusive XML Canonicalization 1.0, without comments
//! (<https://www.w3.org/TR/xml-exc-c14n/>), of an element subtree.
//!
//! The node set is an element with all its descendants (optionally minus one element, the
//! enveloped Signature), which is what a same-document `URI="#id"` reference followed by the
//! enveloped-signature transform selects. Rules applied:
//!
//! - namespace declarations are rendered on an element only for prefixes it visibly utilizes
//!   (its own prefix, or the default namespace if it has none, and its attributes' prefixes)
//!   plus the InclusiveNamespaces PrefixList, and only when the nearest output ancestor did not
//!   already render the same prefix with the same URI; `xmlns=""` is rendered when an
//!   unprefixed element has no namespace but an output ancestor rendered a default one;
//! - namespace declarations come first, sorted by prefix (default first), then attributes
//!   sorted by (namespace URI, local name);
//! - attribute values escape `&`, `<`, `"`, tab, newline and carriage return; text escapes
//!   `&`, `<`, `>` and carriage return; empty elements become start/end pairs;
//! - comments are dropped, processing instructions inside the subtree are kept
//!   (`<?target data?>`), CDATA sections are already text.

use std::borrow::Cow;
use std::collections::BTreeMap;

use super::parse::{self, Document, NodeId, NodeKind};
use super::{Limits, XmlDsigError};

/// Canonicalise (exclusive c14n 1.0, no comments) the element whose `ID` attribute is `id`, or
/// the document element when `id` is `None`. `inclusive_prefixes` is the InclusiveNamespaces
/// PrefixList (`"#default"` names the default namespace). The document is parsed under
/// `limits` with the same rules as verification (no DOCTYPE, strict UTF-8, ...).
///
/// Errors: the parse errors of [`XmlDsigError`], [`XmlDsigError::IdNotFound`] and
/// [`XmlDsigError::DuplicateId`] when `id` does not name exactly one element.
///
/// ```
/// use passlogic_idp_core::xmldsig::{c14n, Limits};
/// let xml = r#"<r xmlns:a="urn:a" xmlns:b="urn:b"><a:x ID="1" z="2" b:y='1'/></r>"#;
/// let out = c14n::canonicalize(xml, Some("1"), &[], &Limits::default())?;
/// assert_eq!(out, br#"<a:x xmlns:a="urn:a" xmlns:b="urn:b" ID="1" z="2" b:y="1"></a:x>"#);
/// # Ok::<(), passlogic_idp_core::xmldsig::XmlDsigError>(())
/// ```
pub fn canonicalize(
    xml: &str,
    id: Option<&str>,
    inclusive_prefixes: &[&str],
    limits: &Limits,
) -> Result<Vec<u8>, XmlDsigError> {
    let doc = parse::parse(xml, limits)?;
    let apex = match id {
        None => doc.root,
        Some(id) => {
            let found = doc.elements_with_id(id);
            match found.as_slice() {
                [one] => *one,
                [] => return Err(XmlDsigError::IdNotFound(id.to_owned())),
                _ => return Err(XmlDsigError::DuplicateId(id.to_owned())),
            }
        }
    };
    let prefixes: Vec<String> = inclusive_prefixes.iter().map(|p| (*p).to_owned()).collect();
    exc_c14n(&doc, apex, None, &prefixes)
}

/// Split an InclusiveNamespaces `PrefixList` attribute into prefixes.
pub(crate) fn prefix_list(value: &str) -> Vec<String> {
    value.split_ascii_whitespace().map(str::to_owned).collect()
}

type NsMap = BTreeMap<String, String>;

/// Canonicalise the subtree at `apex`, leaving out the element `exclude` (and its subtree).
pub(crate) fn exc_c14n(
    doc: &Document,
    apex: NodeId,
    exclude: Option<NodeId>,
    inclusive: &[String],
) -> Result<Vec<u8>, XmlDsigError> {
    // Namespaces in scope at the apex's parent.
    let mut chain = Vec::new();
    let mut cur = doc.parent(apex);
    while let Some(n) = cur {
        chain.push(n);
        cur = doc.parent(n);
    }
    let mut in_scope = NsMap::new();
    for &n in chain.iter().rev() {
        if let Some(e) = doc.element(n) {
            apply_decls(&mut in_scope, e);
        }
    }
    let inclusive: Vec<String> = inclusive
        .iter()
        .map(|p| {
            if p == "#default" {
                String::new()
            } else {
                p.clone()
            }
        })
        .collect();
    let mut out = String::new();
    let c = C14n {
        doc,
        exclude,
        inclusive: &inclusive,
    };
    c.element(apex, &in_scope, &NsMap::new(), &mut out)?;
    Ok(out.into_bytes())
}

fn apply_decls(map: &mut NsMap, e: &parse::Element) {
    for d in &e.ns_decls {
        map.insert(d.prefix.clone().unwrap_or_default(), d.uri.clone());
    }
}

struct C14n<'a> {
    doc: &'a Document,
    exclude: Option<NodeId>,
    inclusive: &'a [String],
}

impl C14n<'_> {
    fn element(
        &self,
        id: NodeId,
        parent_scope: &NsMap,
        parent_rendered: &NsMap,
        out: &mut String,
    ) -> Result<(), XmlDsigError> {
        let e = self.doc.element(id).ok_or(XmlDsigError::Malformed {
            offset: 0,
            reason: "internal: not an element",
        })?;
        // Copy the maps only when this element changes them (keeps wide documents linear).
        let scope: Cow<'_, NsMap> = if e.ns_decls.is_empty() {
            Cow::Borrowed(parent_scope)
        } else {
            let mut s = parent_scope.clone();
            apply_decls(&mut s, e);
            Cow::Owned(s)
        };

        // Visibly utilized prefixes ("" = default namespace).
        let mut wanted: Vec<&str> = vec![e.prefix.as_deref().unwrap_or("")];
        for a in &e.attrs {
            if let Some(p) = a.prefix.as_deref() {
                wanted.push(p);
            }
        }
        let mut render = NsMap::new();
        for p in wanted {
            if p == "xml" {
                continue;
            }
            let uri = match scope.get(p) {
                Some(u) => u.as_str(),
                None if p.is_empty() => "",
                None => {
                    return Err(XmlDsigError::Malformed {
                        offset: e.start,
                        reason: "prefix not in scope",
                    })
                }
            };
            if parent_rendered.get(p).map(String::as_str).unwrap_or("") != uri {
                render.insert(p.to_owned(), uri.to_owned());
            }
        }
        for p in self.inclusive {
            if p == "xml" {
                continue;
            }
            let Some(uri) = scope.get(p.as_str()) else {
                continue;
            };
            if parent_rendered
                .get(p.as_str())
                .map(String::as_str)
                .unwrap_or("")
                != uri
            {
                render.insert(p.clone(), uri.clone());
            }
        }
        let rendered: Cow<'_, NsMap> = if render.is_empty() {
            Cow::Borrowed(parent_rendered)
        } else {
            let mut r = parent_rendered.clone();
            for (p, u) in &render {
                r.insert(p.clone(), u.clone());
            }
            Cow::Owned(r)
        };

        let qname = e.qname();
        out.push('<');
        out.push_str(&qname);
        for (p, u) in &render {
            if p.is_empty() {
                out.push_str(" xmlns=\"");
            } else {
                out.push_str(" xmlns:");
                out.push_str(p);
                out.push_str("=\"");
            }
            escape_attr(u, out);
            out.push('"');
        }
        let mut attrs: Vec<&parse::Attr> = e.attrs.iter().collect();
        attrs.sort_by(|a, b| {
            (a.ns.as_deref().unwrap_or(""), a.local.as_str())
                .cmp(&(b.ns.as_deref().unwrap_or(""), b.local.as_str()))
        });
        for a in attrs {
            out.push(' ');
            if let Some(p) = &a.prefix {
                out.push_str(p);
                out.push(':');
            }
            out.push_str(&a.local);
            out.push_str("=\"");
            escape_attr(&a.value, out);
            out.push('"');
        }
        out.push('>');
        self.check_size(out)?;
        for &child in &e.children {
            if Some(child) == self.exclude {
                continue;
            }
            match self.doc.nodes.get(child).map(|n| &n.kind) {
                Some(NodeKind::Element(_)) => self.element(child, &scope, &rendered, out)?,
                Some(NodeKind::Text(t)) => escape_text(t, out),
                Some(NodeKind::Pi { target, data }) => {
                    out.push_str("<?");
                    out.push_str(target);
                    if !data.is_empty() {
                        out.push(' ');
                        out.push_str(data);
                    }
                    out.push_str("?>");
                }
                Some(NodeKind::Comment) | None => {}
            }
        }
        out.push_str("</");
        out.push_str(&qname);
        out.push('>');
        self.check_size(out)
    }

    fn check_size(&self, out: &str) -> Result<(), XmlDsigError> {
        if out.len() > self.doc.output_cap {
            return Err(XmlDsigError::CanonicalTooLarge {
                limit: self.doc.output_cap,
            });
        }
        Ok(())
    }
}

fn escape_attr(s: &str, out: &mut String) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '"' => out.push_str("&quot;"),
            '\t' => out.push_str("&#x9;"),
            '\n' => out.push_str("&#xA;"),
            '\r' => out.push_str("&#xD;"),
            _ => out.push(c),
        }
    }
}

/// Escape text content as Canonical XML does.
pub(crate) fn escape_text(s: &str, out: &mut String) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\r' => out.push_str("&#xD;"),
            _ => out.push(c),
        }
    }
}

/// Escape a value for an attribute we write ourselves (same rules as canonical output).
pub(crate) fn escape_attr_value(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    escape_attr(s, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(xml: &str, id: Option<&str>, incl: &[&str]) -> String {
        String::from_utf8(canonicalize(xml, id, incl, &Limits::default()).unwrap()).unwrap()
    }

    #[test]
    fn basics() {
        assert_eq!(
            c("<a  b = 'x' a=\"y\"/>", None, &[]),
            r#"<a a="y" b="x"></a>"#
        );
        assert_eq!(
            c("<a>&lt;&amp;&gt;&#13;\"<!-- c --><?p  d ?></a>", None, &[]),
            "<a>&lt;&amp;&gt;&#xD;\"<?p d ?></a>"
        );
        assert_eq!(
            c("<a x=\"&#9;&#10;&#13;&quot;'&lt;>\"/>", None, &[]),
            "<a x=\"&#x9;&#xA;&#xD;&quot;'&lt;>\"></a>"
        );
    }

    #[test]
    fn namespaces() {
        let xml = r#"<r xmlns="urn:d" xmlns:u="urn:unused" xmlns:p="urn:p"><p:e ID="x"><f xmlns=""><p:g/></f></p:e></r>"#;
        assert_eq!(
            c(xml, Some("x"), &[]),
            r#"<p:e xmlns:p="urn:p" ID="x"><f><p:g></p:g></f></p:e>"#
        );
        assert_eq!(
            c(xml, None, &[]),
            r#"<r xmlns="urn:d"><p:e xmlns:p="urn:p" ID="x"><f xmlns=""><p:g xmlns:p="urn:p"></p:g></f></p:e></r>"#
                .replace(r#"<p:g xmlns:p="urn:p">"#, "<p:g>")
        );
        assert_eq!(
            c(xml, Some("x"), &["u", "#default"]),
            r#"<p:e xmlns="urn:d" xmlns:p="urn:p" xmlns:u="urn:unused" ID="x"><f xmlns=""><p:g></p:g></f></p:e>"#
        );
    }

    #[test]
    fn exclusion() {
        let xml = r#"<a ID="1"><b/><ds:Signature xmlns:ds="urn:ds"><x/></ds:Signature> <c/></a>"#;
        let doc = parse::parse(xml, &Limits::default()).unwrap();
        let sig = doc
            .elements()
            .find(|(_, e)| e.local == "Signature")
            .unwrap()
            .0;
        let out = exc_c14n(&doc, doc.root, Some(sig), &[]).unwrap();
        assert_eq!(out, br#"<a ID="1"><b></b> <c></c></a>"#);
    }
}
