//! A small, strict XML 1.0 + Namespaces reader producing an arena DOM with byte offsets.
//!
//! Refused: DOCTYPE (any), entity references other than the five predefined ones, characters
//! outside the XML `Char` production, encodings other than UTF-8, undeclared prefixes,
//! `xmlns:p=""`, relative namespace URIs, duplicate attributes, text outside the document
//! element. Comments, processing instructions and CDATA sections are read; line endings are
//! normalised to `\n` and attribute values normalised (whitespace characters to spaces).

use super::{Limits, XmlDsigError};

/// The namespace bound to the `xml` prefix.
pub(crate) const XML_NS: &str = "http://www.w3.org/XML/1998/namespace";
const XMLNS_NS: &str = "http://www.w3.org/2000/xmlns/";

/// Index of a node in [`Document::nodes`].
pub(crate) type NodeId = usize;

/// A namespace declaration on an element; `prefix` is `None` for the default namespace, and
/// `uri` is empty for `xmlns=""`.
#[derive(Debug, Clone)]
pub(crate) struct NsDecl {
    pub prefix: Option<String>,
    pub uri: String,
}

/// An attribute (namespace declarations are kept apart in [`Element::ns_decls`]).
#[derive(Debug, Clone)]
pub(crate) struct Attr {
    pub prefix: Option<String>,
    pub local: String,
    pub ns: Option<String>,
    pub value: String,
}

/// An element with its source offsets.
#[derive(Debug, Clone)]
pub(crate) struct Element {
    pub prefix: Option<String>,
    pub local: String,
    pub ns: Option<String>,
    pub attrs: Vec<Attr>,
    pub ns_decls: Vec<NsDecl>,
    pub children: Vec<NodeId>,
    /// Offset of `<` of the start tag.
    pub start: usize,
    /// Offset just after the `>` of the start tag (after `/>` when self-closing).
    pub start_tag_end: usize,
    /// Offset just after the end tag (equals `start_tag_end` when self-closing).
    pub end: usize,
    pub self_closing: bool,
}

impl Element {
    /// The qualified name as written.
    pub fn qname(&self) -> String {
        match &self.prefix {
            Some(p) => format!("{p}:{}", self.local),
            None => self.local.clone(),
        }
    }

    /// Whether the element has this namespace and local name.
    pub fn is(&self, ns: &str, local: &str) -> bool {
        self.ns.as_deref() == Some(ns) && self.local == local
    }

    /// The value of the un-namespaced attribute `local`.
    pub fn attr(&self, local: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|a| a.ns.is_none() && a.local == local)
            .map(|a| a.value.as_str())
    }
}

/// The kinds of node kept in the tree.
#[derive(Debug, Clone)]
pub(crate) enum NodeKind {
    Element(Element),
    Text(String),
    Comment,
    Pi { target: String, data: String },
}

/// A node and its parent.
#[derive(Debug, Clone)]
pub(crate) struct Node {
    pub kind: NodeKind,
    pub parent: Option<NodeId>,
}

/// A parsed document: the document element and everything below it.
#[derive(Debug, Clone)]
pub(crate) struct Document {
    pub nodes: Vec<Node>,
    pub root: NodeId,
    /// Bound on canonical output from this document: exclusive c14n re-renders inherited
    /// namespace declarations on every element that uses them, so a long namespace URI used
    /// by many siblings could otherwise expand without limit.
    pub output_cap: usize,
}

impl Document {
    /// The element at `id`, if `id` is an element.
    pub fn element(&self, id: NodeId) -> Option<&Element> {
        match self.nodes.get(id).map(|n| &n.kind) {
            Some(NodeKind::Element(e)) => Some(e),
            _ => None,
        }
    }

    /// All elements in document order (the arena is filled in document order).
    pub fn elements(&self) -> impl Iterator<Item = (NodeId, &Element)> {
        self.nodes
            .iter()
            .enumerate()
            .filter_map(|(i, n)| match &n.kind {
                NodeKind::Element(e) => Some((i, e)),
                _ => None,
            })
    }

    /// The parent of a node, if it has one.
    pub fn parent(&self, id: NodeId) -> Option<NodeId> {
        self.nodes.get(id).and_then(|n| n.parent)
    }

    /// Element children of an element.
    pub fn child_elements(&self, id: NodeId) -> Vec<(NodeId, &Element)> {
        match self.element(id) {
            Some(e) => e
                .children
                .iter()
                .filter_map(|&c| self.element(c).map(|ce| (c, ce)))
                .collect(),
            None => Vec::new(),
        }
    }

    /// Whether an element's content is only element children, whitespace text and comments.
    pub fn only_elements_and_space(&self, id: NodeId) -> bool {
        match self.element(id) {
            Some(e) => e
                .children
                .iter()
                .all(|&c| match self.nodes.get(c).map(|n| &n.kind) {
                    Some(NodeKind::Text(t)) => t.chars().all(|ch| matches!(ch, ' ' | '\t' | '\n')),
                    Some(NodeKind::Pi { .. }) => false,
                    _ => true,
                }),
            None => false,
        }
    }

    /// The concatenated text of an element's text children, or `None` if it has element or
    /// processing-instruction children.
    pub fn simple_text(&self, id: NodeId) -> Option<String> {
        let e = self.element(id)?;
        let mut out = String::new();
        for &c in &e.children {
            match self.nodes.get(c).map(|n| &n.kind) {
                Some(NodeKind::Text(t)) => out.push_str(t),
                Some(NodeKind::Comment) => {}
                _ => return None,
            }
        }
        Some(out)
    }

    /// Elements whose `ID` attribute (no namespace) equals `id`.
    pub fn elements_with_id(&self, id: &str) -> Vec<NodeId> {
        self.elements()
            .filter(|(_, e)| e.attr("ID") == Some(id))
            .map(|(i, _)| i)
            .collect()
    }

    /// How many elements carry `id` in any ID-like attribute (`ID`, `Id`, `id`, `xml:id`).
    pub fn count_id_like(&self, id: &str) -> usize {
        self.elements()
            .filter(|(_, e)| {
                e.attrs.iter().any(|a| {
                    a.value == id
                        && match a.ns.as_deref() {
                            None => matches!(a.local.as_str(), "ID" | "Id" | "id"),
                            Some(ns) => ns == XML_NS && a.local == "id",
                        }
                })
            })
            .count()
    }
}

fn malformed(offset: usize, reason: &'static str) -> XmlDsigError {
    XmlDsigError::Malformed { offset, reason }
}

fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{D7FF}' | '\u{E000}'..='\u{FFFD}' | '\u{10000}'..)
}

fn is_name_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_' || c == ':' || (c as u32) >= 0xC0 && !is_excluded_name(c)
}

fn is_name_char(c: char) -> bool {
    is_name_start(c) || c.is_ascii_digit() || c == '-' || c == '.' || c == '\u{B7}'
}

fn is_excluded_name(c: char) -> bool {
    matches!(c, '\u{D7}' | '\u{F7}' | '\u{37E}' | '\u{2000}'..='\u{200B}' | '\u{200E}'..='\u{206F}' | '\u{2190}'..='\u{2BFF}' | '\u{2FF0}'..='\u{3000}')
}

fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r')
}

/// Canonical output may be at most this many times [`Limits::max_bytes`].
pub(crate) const OUTPUT_FACTOR: usize = 4;

/// Depth above which no caller setting is honoured: canonicalisation recurses per level.
pub(crate) const DEPTH_CAP: usize = 256;

/// Parse `xml` under `limits` (with `max_depth` capped at [`DEPTH_CAP`]).
pub(crate) fn parse(xml: &str, limits: &Limits) -> Result<Document, XmlDsigError> {
    let capped = Limits {
        max_depth: limits.max_depth.min(DEPTH_CAP),
        ..*limits
    };
    let limits = &capped;
    if xml.len() > limits.max_bytes {
        return Err(XmlDsigError::TooLarge {
            limit: limits.max_bytes,
        });
    }
    if let Some((i, _)) = xml.char_indices().find(|&(_, c)| !is_xml_char(c)) {
        return Err(malformed(i, "character not allowed in XML"));
    }
    let mut p = Parser {
        s: xml,
        pos: 0,
        limits,
        nodes: Vec::new(),
        scopes: Vec::new(),
    };
    p.document()
}

struct Parser<'a> {
    s: &'a str,
    pos: usize,
    limits: &'a Limits,
    nodes: Vec<Node>,
    /// Namespace declarations of the open elements, outermost first.
    scopes: Vec<Vec<NsDecl>>,
}

impl<'a> Parser<'a> {
    fn rest(&self) -> &'a str {
        self.s.get(self.pos..).unwrap_or("")
    }

    fn starts(&self, pat: &str) -> bool {
        self.rest().starts_with(pat)
    }

    fn peek(&self) -> Option<u8> {
        self.s.as_bytes().get(self.pos).copied()
    }

    fn skip_space(&mut self) -> bool {
        let start = self.pos;
        while self.peek().is_some_and(is_space) {
            self.pos += 1;
        }
        self.pos > start
    }

    fn expect(&mut self, pat: &str, reason: &'static str) -> Result<(), XmlDsigError> {
        if self.starts(pat) {
            self.pos += pat.len();
            Ok(())
        } else {
            Err(malformed(self.pos, reason))
        }
    }

    /// Find `pat` from the current position; return the text before it and move past it.
    fn until(&mut self, pat: &str, reason: &'static str) -> Result<&'a str, XmlDsigError> {
        let rest = self.rest();
        match rest.find(pat) {
            Some(i) => {
                let text = rest.get(..i).unwrap_or("");
                self.pos += i + pat.len();
                Ok(text)
            }
            None => Err(malformed(self.pos, reason)),
        }
    }

    fn name(&mut self) -> Result<&'a str, XmlDsigError> {
        let rest = self.rest();
        let mut end = 0;
        for (i, c) in rest.char_indices() {
            let ok = if i == 0 {
                is_name_start(c)
            } else {
                is_name_char(c)
            };
            if !ok {
                break;
            }
            end = i + c.len_utf8();
        }
        if end == 0 {
            return Err(malformed(self.pos, "expected a name"));
        }
        self.pos += end;
        Ok(rest.get(..end).unwrap_or(""))
    }

    fn document(&mut self) -> Result<Document, XmlDsigError> {
        if self.starts("\u{FEFF}") {
            self.pos += 3;
        }
        if self.starts("<?xml")
            && self
                .s
                .as_bytes()
                .get(self.pos + 5)
                .is_some_and(|&b| is_space(b) || b == b'?')
        {
            self.xml_decl()?;
        }
        let root = loop {
            self.skip_space();
            if self.starts("<!DOCTYPE") {
                return Err(XmlDsigError::Doctype);
            } else if self.starts("<!--") {
                self.comment()?;
            } else if self.starts("<?") {
                self.pi()?;
            } else if self.starts("<!") {
                return Err(malformed(
                    self.pos,
                    "unexpected markup before the document element",
                ));
            } else if self.starts("<") {
                break self.content()?;
            } else if self.peek().is_none() {
                return Err(malformed(self.pos, "no document element"));
            } else {
                return Err(malformed(self.pos, "text before the document element"));
            }
        };
        loop {
            self.skip_space();
            if self.peek().is_none() {
                break;
            } else if self.starts("<!DOCTYPE") {
                return Err(XmlDsigError::Doctype);
            } else if self.starts("<!--") {
                self.comment()?;
            } else if self.starts("<?") {
                self.pi()?;
            } else {
                return Err(malformed(self.pos, "content after the document element"));
            }
        }
        // Comments and PIs outside the document element are validated but not kept.
        Ok(Document {
            nodes: std::mem::take(&mut self.nodes),
            root,
            output_cap: self.limits.max_bytes.saturating_mul(OUTPUT_FACTOR),
        })
    }

    fn xml_decl(&mut self) -> Result<(), XmlDsigError> {
        let start = self.pos;
        self.pos += 5;
        let body = self.until("?>", "unterminated XML declaration")?;
        let mut rest = body.trim_start();
        if !rest.starts_with("version") {
            return Err(malformed(start, "XML declaration without version"));
        }
        // Parse pseudo-attributes: name = quoted value.
        let mut seen = Vec::new();
        while !rest.is_empty() {
            let eq = rest
                .find('=')
                .ok_or(malformed(start, "bad XML declaration"))?;
            let name = rest.get(..eq).unwrap_or("").trim();
            let after = rest.get(eq + 1..).unwrap_or("").trim_start();
            let q = after
                .chars()
                .next()
                .ok_or(malformed(start, "bad XML declaration"))?;
            if q != '"' && q != '\'' {
                return Err(malformed(start, "bad XML declaration"));
            }
            let inner = after.get(1..).unwrap_or("");
            let close = inner
                .find(q)
                .ok_or(malformed(start, "bad XML declaration"))?;
            let value = inner.get(..close).unwrap_or("");
            match name {
                "version" if seen.is_empty() => {
                    if value != "1.0" {
                        return Err(malformed(start, "only XML 1.0 is accepted"));
                    }
                }
                "encoding" if !seen.contains(&"encoding") && !seen.contains(&"standalone") => {
                    if !value.eq_ignore_ascii_case("UTF-8") && !value.eq_ignore_ascii_case("UTF8") {
                        return Err(malformed(start, "only UTF-8 is accepted"));
                    }
                }
                "standalone" if !seen.contains(&"standalone") => {
                    if value != "yes" && value != "no" {
                        return Err(malformed(start, "bad standalone value"));
                    }
                }
                _ => return Err(malformed(start, "bad XML declaration")),
            }
            seen.push(match name {
                "version" => "version",
                "encoding" => "encoding",
                _ => "standalone",
            });
            let next = inner.get(close + 1..).unwrap_or("");
            if !next.is_empty() && !next.starts_with(|c: char| c.is_ascii_whitespace()) {
                return Err(malformed(start, "bad XML declaration"));
            }
            rest = next.trim_start();
        }
        Ok(())
    }

    fn comment(&mut self) -> Result<(), XmlDsigError> {
        let start = self.pos;
        self.pos += 4;
        let body = self.until("-->", "unterminated comment")?;
        if body.contains("--") || body.ends_with('-') {
            return Err(malformed(start, "'--' inside a comment"));
        }
        Ok(())
    }

    fn pi(&mut self) -> Result<(String, String), XmlDsigError> {
        let start = self.pos;
        self.pos += 2;
        let target = self.name()?;
        if target.eq_ignore_ascii_case("xml") {
            return Err(malformed(start, "XML declaration not at the start"));
        }
        if target.contains(':') {
            return Err(malformed(start, "colon in a processing-instruction target"));
        }
        if self.starts("?>") {
            self.pos += 2;
            return Ok((target.to_owned(), String::new()));
        }
        if !self.skip_space() {
            return Err(malformed(self.pos, "expected space after the PI target"));
        }
        let data = self.until("?>", "unterminated processing instruction")?;
        Ok((target.to_owned(), normalize_newlines(data)))
    }

    fn push(&mut self, kind: NodeKind, parent: NodeId) -> NodeId {
        let id = self.nodes.len();
        self.nodes.push(Node {
            kind,
            parent: Some(parent),
        });
        if let Some(Node {
            kind: NodeKind::Element(e),
            ..
        }) = self.nodes.get_mut(parent)
        {
            e.children.push(id);
        }
        id
    }

    fn push_text(&mut self, text: String, parent: NodeId) {
        if text.is_empty() {
            return;
        }
        let last = match self.nodes.get(parent) {
            Some(Node {
                kind: NodeKind::Element(e),
                ..
            }) => e.children.last().copied(),
            _ => None,
        };
        if let Some(last) = last {
            if let Some(Node {
                kind: NodeKind::Text(t),
                ..
            }) = self.nodes.get_mut(last)
            {
                t.push_str(&text);
                return;
            }
        }
        self.push(NodeKind::Text(text), parent);
    }

    /// Parse the document element and its content; the current position is at its `<`.
    fn content(&mut self) -> Result<NodeId, XmlDsigError> {
        let root = self.start_tag(None)?;
        let mut stack: Vec<NodeId> = Vec::new();
        if !self.is_self_closing(root) {
            stack.push(root);
        } else {
            self.scopes.pop();
        }
        while let Some(&top) = stack.last() {
            if self.peek().is_none() {
                return Err(malformed(self.pos, "unclosed element"));
            }
            if self.starts("</") {
                let start = self.pos;
                self.pos += 2;
                let name = self.name()?;
                self.skip_space();
                self.expect(">", "expected '>' after the end-tag name")?;
                let end = self.pos;
                match self.nodes.get_mut(top) {
                    Some(Node {
                        kind: NodeKind::Element(e),
                        ..
                    }) => {
                        if e.qname() != name {
                            return Err(malformed(start, "end tag does not match the start tag"));
                        }
                        e.end = end;
                    }
                    _ => return Err(malformed(start, "internal: open node is not an element")),
                }
                stack.pop();
                self.scopes.pop();
            } else if self.starts("<!--") {
                self.comment()?;
                self.push(NodeKind::Comment, top);
            } else if self.starts("<![CDATA[") {
                self.pos += 9;
                let body = self.until("]]>", "unterminated CDATA section")?;
                self.push_text(normalize_newlines(body), top);
            } else if self.starts("<!DOCTYPE") {
                return Err(XmlDsigError::Doctype);
            } else if self.starts("<!") {
                return Err(malformed(self.pos, "unexpected markup declaration"));
            } else if self.starts("<?") {
                let (target, data) = self.pi()?;
                self.push(NodeKind::Pi { target, data }, top);
            } else if self.starts("<") {
                if stack.len() >= self.limits.max_depth {
                    return Err(XmlDsigError::TooDeep {
                        limit: self.limits.max_depth,
                    });
                }
                let child = self.start_tag(Some(top))?;
                if self.is_self_closing(child) {
                    self.scopes.pop();
                } else {
                    stack.push(child);
                }
            } else {
                let start = self.pos;
                let rest = self.rest();
                let len = rest.find('<').unwrap_or(rest.len());
                let raw = rest.get(..len).unwrap_or("");
                self.pos += len;
                if raw.contains("]]>") {
                    return Err(malformed(start, "']]>' in text"));
                }
                let text = decode(raw, start, false)?;
                self.push_text(text, top);
            }
        }
        Ok(root)
    }

    fn is_self_closing(&self, id: NodeId) -> bool {
        matches!(self.nodes.get(id), Some(Node { kind: NodeKind::Element(e), .. }) if e.self_closing)
    }

    fn lookup(&self, prefix: Option<&str>) -> Option<&str> {
        for scope in self.scopes.iter().rev() {
            for d in scope.iter().rev() {
                if d.prefix.as_deref() == prefix {
                    return Some(d.uri.as_str());
                }
            }
        }
        None
    }

    /// Parse a start tag at the current `<`, push the element and its namespace scope.
    fn start_tag(&mut self, parent: Option<NodeId>) -> Result<NodeId, XmlDsigError> {
        if parent.is_none() && self.limits.max_depth == 0 {
            return Err(XmlDsigError::TooDeep { limit: 0 });
        }
        let start = self.pos;
        self.pos += 1;
        let qname = self.name()?;
        let mut raw: Vec<(&'a str, String, usize)> = Vec::new();
        let self_closing = loop {
            let had_space = self.skip_space();
            if self.starts(">") {
                self.pos += 1;
                break false;
            }
            if self.starts("/>") {
                self.pos += 2;
                break true;
            }
            if !had_space {
                return Err(malformed(self.pos, "expected space between attributes"));
            }
            let at = self.pos;
            let name = self.name()?;
            self.skip_space();
            self.expect("=", "expected '=' after an attribute name")?;
            self.skip_space();
            let quote = match self.peek() {
                Some(b'"') => "\"",
                Some(b'\'') => "'",
                _ => return Err(malformed(self.pos, "expected a quoted attribute value")),
            };
            self.pos += 1;
            let vstart = self.pos;
            let value = self.until(quote, "unterminated attribute value")?;
            if value.contains('<') {
                return Err(malformed(vstart, "'<' in an attribute value"));
            }
            let value = decode(value, vstart, true)?;
            if raw.iter().any(|(n, _, _)| *n == name) {
                return Err(malformed(at, "duplicate attribute"));
            }
            raw.push((name, value, at));
            if raw.len() > self.limits.max_attributes_per_element {
                return Err(XmlDsigError::TooManyAttributes {
                    limit: self.limits.max_attributes_per_element,
                });
            }
        };
        let start_tag_end = self.pos;

        // Namespace declarations first.
        let mut decls = Vec::new();
        let mut attrs_raw = Vec::new();
        for (name, value, at) in raw {
            if name == "xmlns" {
                if value == XML_NS || value == XMLNS_NS {
                    return Err(malformed(at, "reserved namespace bound as default"));
                }
                check_ns_uri(&value, at)?;
                decls.push(NsDecl {
                    prefix: None,
                    uri: value,
                });
            } else if let Some(p) = name.strip_prefix("xmlns:") {
                check_ncname(p, at)?;
                if p == "xmlns" || value == XMLNS_NS {
                    return Err(malformed(at, "the xmlns prefix cannot be declared"));
                }
                if (p == "xml") != (value == XML_NS) {
                    return Err(malformed(
                        at,
                        "the xml prefix is bound to its namespace only",
                    ));
                }
                if value.is_empty() {
                    return Err(malformed(at, "a prefix cannot be undeclared"));
                }
                check_ns_uri(&value, at)?;
                if p != "xml" {
                    decls.push(NsDecl {
                        prefix: Some(p.to_owned()),
                        uri: value,
                    });
                }
            } else {
                attrs_raw.push((name, value, at));
            }
        }
        self.scopes.push(decls.clone());

        let (prefix, local) = split_qname(qname, start)?;
        let ns = match prefix {
            Some("xml") => Some(XML_NS.to_owned()),
            Some("xmlns") => return Err(malformed(start, "element with the xmlns prefix")),
            Some(p) => match self.lookup(Some(p)) {
                Some(uri) => Some(uri.to_owned()),
                None => return Err(malformed(start, "undeclared element prefix")),
            },
            None => self
                .lookup(None)
                .filter(|u| !u.is_empty())
                .map(str::to_owned),
        };
        let mut attrs: Vec<Attr> = Vec::with_capacity(attrs_raw.len());
        for (name, value, at) in attrs_raw {
            let (ap, al) = split_qname(name, at)?;
            let ans = match ap {
                None => None,
                Some("xml") => Some(XML_NS.to_owned()),
                Some(p) => match self.lookup(Some(p)) {
                    Some(uri) => Some(uri.to_owned()),
                    None => return Err(malformed(at, "undeclared attribute prefix")),
                },
            };
            if attrs.iter().any(|a| a.ns == ans && a.local == al) {
                return Err(malformed(at, "duplicate attribute"));
            }
            attrs.push(Attr {
                prefix: ap.map(str::to_owned),
                local: al.to_owned(),
                ns: ans,
                value,
            });
        }
        let element = Element {
            prefix: prefix.map(str::to_owned),
            local: local.to_owned(),
            ns,
            attrs,
            ns_decls: decls,
            children: Vec::new(),
            start,
            start_tag_end,
            end: start_tag_end,
            self_closing,
        };
        let id = match parent {
            Some(p) => self.push(NodeKind::Element(element), p),
            None => {
                self.nodes.push(Node {
                    kind: NodeKind::Element(element),
                    parent: None,
                });
                self.nodes.len() - 1
            }
        };
        Ok(id)
    }
}

fn check_ncname(name: &str, at: usize) -> Result<(), XmlDsigError> {
    if name.is_empty() || name.contains(':') {
        return Err(malformed(at, "bad namespace prefix"));
    }
    Ok(())
}

fn check_ns_uri(uri: &str, at: usize) -> Result<(), XmlDsigError> {
    // Canonical XML fails on relative namespace URIs; refuse them at intake.
    if !uri.is_empty() && !uri.contains(':') {
        return Err(malformed(at, "relative namespace URI"));
    }
    Ok(())
}

fn split_qname(name: &str, at: usize) -> Result<(Option<&str>, &str), XmlDsigError> {
    match name.split_once(':') {
        None => Ok((None, name)),
        Some((p, l)) => {
            if p.is_empty() || l.is_empty() || l.contains(':') {
                return Err(malformed(at, "bad qualified name"));
            }
            if !l.starts_with(is_name_start) {
                return Err(malformed(at, "bad qualified name"));
            }
            Ok((Some(p), l))
        }
    }
}

/// `\r\n` and lone `\r` become `\n`.
fn normalize_newlines(s: &str) -> String {
    if !s.contains('\r') {
        return s.to_owned();
    }
    s.replace("\r\n", "\n").replace('\r', "\n")
}

/// Decode character and predefined entity references, normalise line endings, and (for
/// attribute values) turn literal whitespace characters into spaces.
fn decode(raw: &str, offset: usize, attribute: bool) -> Result<String, XmlDsigError> {
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        match c {
            '&' => {
                let rest = raw.get(i + 1..).unwrap_or("");
                let semi = rest
                    .find(';')
                    .ok_or(malformed(offset + i, "unterminated reference"))?;
                let name = rest.get(..semi).unwrap_or("");
                let ch = match name {
                    "amp" => '&',
                    "lt" => '<',
                    "gt" => '>',
                    "quot" => '"',
                    "apos" => '\'',
                    _ => {
                        let code = if let Some(hex) = name.strip_prefix("#x") {
                            if hex.is_empty() || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
                                return Err(malformed(offset + i, "bad character reference"));
                            }
                            u32::from_str_radix(hex, 16).ok()
                        } else if let Some(dec) = name.strip_prefix('#') {
                            if dec.is_empty() || !dec.bytes().all(|b| b.is_ascii_digit()) {
                                return Err(malformed(offset + i, "bad character reference"));
                            }
                            dec.parse::<u32>().ok()
                        } else {
                            return Err(malformed(offset + i, "undefined entity reference"));
                        };
                        match code.and_then(char::from_u32) {
                            Some(ch) if is_xml_char(ch) => ch,
                            _ => return Err(malformed(offset + i, "bad character reference")),
                        }
                    }
                };
                out.push(ch);
                // Skip the reference body.
                for _ in 0..name.chars().count() + 1 {
                    chars.next();
                }
            }
            '\r' => {
                if chars.peek().map(|&(_, n)| n) == Some('\n') {
                    chars.next();
                }
                out.push(if attribute { ' ' } else { '\n' });
            }
            '\n' | '\t' if attribute => out.push(' '),
            _ => out.push(c),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Result<Document, XmlDsigError> {
        parse(s, &Limits::default())
    }

    #[test]
    fn doctype_refused() {
        assert_eq!(p("<!DOCTYPE a><a/>").unwrap_err(), XmlDsigError::Doctype);
        assert_eq!(
            p("<?xml version=\"1.0\"?>\n<!DOCTYPE a [<!ENTITY x \"y\">]><a>&x;</a>").unwrap_err(),
            XmlDsigError::Doctype
        );
    }

    #[test]
    fn undefined_entity_refused() {
        assert!(matches!(
            p("<a>&x;</a>"),
            Err(XmlDsigError::Malformed { .. })
        ));
        assert!(matches!(
            p("<a>&#0;</a>"),
            Err(XmlDsigError::Malformed { .. })
        ));
    }

    #[test]
    fn text_and_attr_decoding() {
        let d = p("<a b=\"x&#9;y\r\nz\tw\">1&amp;2\r\n3<![CDATA[<&>]]></a>").unwrap();
        let e = d.element(d.root).unwrap();
        assert_eq!(e.attr("b"), Some("x\ty z w"));
        assert_eq!(d.simple_text(d.root).unwrap(), "1&2\n3<&>");
    }

    #[test]
    fn namespace_errors() {
        assert!(p("<p:a/>").is_err());
        assert!(p("<a xmlns:p=\"\"/>").is_err());
        assert!(p("<a xmlns:p=\"urn:x\" xmlns:q=\"urn:x\" p:b=\"1\" q:b=\"2\"/>").is_err());
        assert!(p("<a b='1' b='2'/>").is_err());
        assert!(p("<a></b>").is_err());
        assert!(p("<a/><b/>").is_err());
        assert!(p("<a/>text").is_err());
        assert!(p("<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><a/>").is_err());
    }

    #[test]
    fn limits() {
        let l = Limits {
            max_bytes: 10,
            ..Limits::default()
        };
        assert_eq!(
            parse("<a>0123456789</a>", &l).unwrap_err(),
            XmlDsigError::TooLarge { limit: 10 }
        );
        let deep = "<a>".repeat(65) + &"</a>".repeat(65);
        assert_eq!(p(&deep).unwrap_err(), XmlDsigError::TooDeep { limit: 64 });
        let ok = "<a>".repeat(64) + &"</a>".repeat(64);
        assert!(p(&ok).is_ok());
        let attrs: String = (0..65).map(|i| format!(" a{i}=\"1\"")).collect();
        assert_eq!(
            p(&format!("<a{attrs}/>")).unwrap_err(),
            XmlDsigError::TooManyAttributes { limit: 64 }
        );
    }

    #[test]
    fn offsets() {
        let s = "<?xml version='1.0'?><r><a x='1'/><b>t</b></r>";
        let d = p(s).unwrap();
        let (_, b) = d.elements().find(|(_, e)| e.local == "b").unwrap();
        assert_eq!(&s[b.start..b.end], "<b>t</b>");
        let (_, a) = d.elements().find(|(_, e)| e.local == "a").unwrap();
        assert_eq!(&s[a.start..a.start_tag_end], "<a x='1'/>");
    }
}
