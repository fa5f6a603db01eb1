//! Exclusive c14n (without comments) compared byte for byte with Python lxml, the oracle named
//! in DESIGN.md. Every element with an `ID` attribute in every document of
//! `fixtures/xmldsig/c14n/` is canonicalised by both, plus the document element. A leading
//! comment `<!-- inclusive: p q #default -->` sets the InclusiveNamespaces PrefixList.
//!
//! Requires `python3` with `lxml` (`python3 -m pip install lxml`); missing either FAILS.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use passlogic_idp_core::xmldsig::{c14n, Limits};

const ORACLE: &str = r#"
import sys, json, base64
try:
    from lxml import etree
except ImportError:
    sys.stderr.write("lxml is not installed: run `python3 -m pip install lxml`\n")
    sys.exit(3)
incl = sys.argv[1].split() if len(sys.argv) > 1 and sys.argv[1] else None
parser = etree.XMLParser(resolve_entities=False, remove_blank_text=False, strip_cdata=True)
root = etree.fromstring(sys.stdin.buffer.read(), parser)
def c(el):
    return base64.b64encode(etree.tostring(el, method="c14n", exclusive=True,
        with_comments=False, inclusive_ns_prefixes=incl)).decode()
out = {"__root__": c(root)}
for el in root.iter(etree.Element):
    i = el.get("ID")
    if i is not None:
        out[i] = c(el)
print(json.dumps(out))
"#;

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/xmldsig/c14n")
}

fn lxml(xml: &str, inclusive: &str) -> BTreeMap<String, Vec<u8>> {
    let mut child = Command::new("python3")
        .arg("-c")
        .arg(ORACLE)
        .arg(inclusive)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| {
            panic!("python3 is required for the c14n oracle (install python3 and lxml): {e}")
        });
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(xml.as_bytes())
        .expect("write to python3");
    let out = child.wait_with_output().expect("python3 output");
    assert!(
        out.status.success(),
        "the lxml oracle failed (is lxml installed? `python3 -m pip install lxml`): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let map: BTreeMap<String, String> = serde_json::from_slice(&out.stdout).expect("oracle JSON");
    map.into_iter()
        .map(|(k, v)| (k, STANDARD.decode(v).expect("oracle base64")))
        .collect()
}

fn inclusive_of(xml: &str) -> String {
    xml.split_once("<!-- inclusive:")
        .and_then(|(_, rest)| rest.split_once("-->"))
        .map(|(list, _)| list.trim().to_owned())
        .unwrap_or_default()
}

#[test]
fn xmldsig_matches_lxml_on_corpus() {
    let mut files: Vec<PathBuf> = std::fs::read_dir(corpus_dir())
        .expect("fixtures/xmldsig/c14n")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "xml"))
        .collect();
    files.sort();
    assert!(files.len() >= 15, "corpus too small: {}", files.len());
    let mut compared = 0;
    let mut failures = Vec::new();
    for file in &files {
        let xml = std::fs::read_to_string(file).expect("read fixture");
        let inclusive = inclusive_of(&xml);
        let prefixes: Vec<&str> = inclusive.split_whitespace().collect();
        let expected = lxml(&xml, &inclusive);
        for (id, want) in &expected {
            let sel = if id == "__root__" {
                None
            } else {
                Some(id.as_str())
            };
            let got = c14n::canonicalize(&xml, sel, &prefixes, &Limits::default())
                .unwrap_or_else(|e| panic!("{}: {id}: {e}", file.display()));
            compared += 1;
            if &got != want {
                failures.push(format!(
                    "{} #{id}\n  lxml: {}\n  ours: {}",
                    file.display(),
                    String::from_utf8_lossy(want),
                    String::from_utf8_lossy(&got)
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} mismatches:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(compared >= 40, "only {compared} subtrees compared");
    eprintln!(
        "{compared} subtrees in {} documents match lxml",
        files.len()
    );
}
