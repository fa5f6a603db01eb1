//! The OpenLDAP `slapd` fixture shared by the LDAP tests (ldap_sync.rs, console_import.rs):
//! a throwaway directory on free ports (ldap:// with StartTLS and ldaps://, a test CA made with
//! `openssl`), the generated people and groups, and the `ldap-source add` of the source `corp`.
#![allow(dead_code)]

use std::fmt::Write as _;
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::{self, TestServer};

pub const SUFFIX: &str = "dc=example,dc=org";
pub const ADMIN_DN: &str = "cn=admin,dc=example,dc=org";
pub const ADMIN_PW: &str = "adminpass";
pub const SYNC_DN: &str = "cn=sync,dc=example,dc=org";
pub const SYNC_PW: &str = "sync-Secret-77";
pub const USERS: usize = 3000;
pub const DEPARTMENTS: [&str; 5] = ["Sales", "Support", "Research", "Finance", "Legal"];

/// A running slapd, killed on drop.
pub struct Slapd {
    child: Child,
    pub url: String,
    /// The same server over TLS from the first byte.
    pub ldaps_url: String,
    /// PEM file of the CA that signed the server's certificate.
    pub ca_file: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

pub fn openssl(args: &[&str], dir: &Path) {
    let o = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run openssl");
    assert!(
        o.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
}

/// A test CA and a server certificate for 127.0.0.1 signed by it.
pub fn make_certificates(dir: &Path) {
    std::fs::write(dir.join("san.ext"), "subjectAltName=IP:127.0.0.1\n").unwrap();
    openssl(
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
            "-days",
            "2",
            "-subj",
            "/CN=passlogic test CA",
        ],
        dir,
    );
    openssl(
        &[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "server.key",
            "-out",
            "server.csr",
            "-subj",
            "/CN=127.0.0.1",
        ],
        dir,
    );
    openssl(
        &[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "server.pem",
            "-days",
            "2",
            "-extfile",
            "san.ext",
        ],
        dir,
    );
}

impl Drop for Slapd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Slapd {
    pub fn start() -> Slapd {
        let dir = tempfile::Builder::new().prefix("slapd-").tempdir().unwrap();
        let d = dir.path().display().to_string();
        std::fs::create_dir(dir.path().join("db")).unwrap();
        make_certificates(dir.path());
        let conf = format!(
            "include /etc/ldap/schema/core.schema\n\
             include /etc/ldap/schema/cosine.schema\n\
             include /etc/ldap/schema/inetorgperson.schema\n\
             pidfile {d}/slapd.pid\nargsfile {d}/slapd.args\n\
             TLSCACertificateFile {d}/ca.pem\nTLSCertificateFile {d}/server.pem\n\
             TLSCertificateKeyFile {d}/server.key\n\
             modulepath /usr/lib/ldap\nmoduleload back_mdb\nmoduleload memberof\n\
             database mdb\nmaxsize 1073741824\nsuffix \"{SUFFIX}\"\n\
             rootdn \"{ADMIN_DN}\"\nrootpw {ADMIN_PW}\ndirectory {d}/db\ndbnosync\n\
             index objectClass eq\nindex uid eq\nindex member eq\n\
             limits * size.soft=500 size.hard=500 size.prtotal=unlimited\n\
             overlay memberof\n\
             access to attrs=userPassword by anonymous auth by * none\n\
             access to * by * read\n"
        );
        let conf_path = dir.path().join("slapd.conf");
        std::fs::write(&conf_path, conf).unwrap();
        let port = free_port();
        let url = format!("ldap://127.0.0.1:{port}");
        let tls_port = free_port();
        let ldaps_url = format!("ldaps://127.0.0.1:{tls_port}");
        let child = Command::new("/usr/sbin/slapd")
            .args(["-d", "0", "-h", &format!("{url}/ {ldaps_url}/"), "-f"])
            .arg(&conf_path)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start slapd (apt-get install slapd ldap-utils)");
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "slapd did not listen on {url}");
            std::thread::sleep(Duration::from_millis(100));
        }
        Slapd {
            child,
            url,
            ldaps_url,
            ca_file: dir.path().join("ca.pem"),
            _dir: dir,
        }
    }

    /// Runs `tool` (`ldapadd`, `ldapmodify`, `ldapdelete`) as the directory manager with `input`.
    pub fn admin(&self, tool: &str, input: &str, dir: &Path) {
        let file = dir.join(format!("{tool}-{}.ldif", common::random_hex()));
        std::fs::write(&file, input).unwrap();
        let o = Command::new(tool)
            .args(["-x", "-H", &self.url, "-D", ADMIN_DN, "-w", ADMIN_PW, "-f"])
            .arg(&file)
            .output()
            .unwrap_or_else(|e| panic!("run {tool}: {e}"));
        assert!(
            o.status.success(),
            "{tool} failed: {}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
    }
}

pub fn uid(i: usize) -> String {
    format!("user{i:04}")
}

pub fn dept(i: usize) -> &'static str {
    DEPARTMENTS[i % DEPARTMENTS.len()]
}

pub fn person_ldif(i: usize) -> String {
    let u = uid(i);
    format!(
        "dn: uid={u},ou=people,{SUFFIX}\nobjectClass: inetOrgPerson\nuid: {u}\n\
         cn: Person {i}\ngivenName: Given{i}\nsn: Family{i}\nmail: {u}@example.org\n\
         departmentNumber: {}\ntitle: Clerk\n\n",
        dept(i)
    )
}

/// The directory: base, a service account, USERS people, one group per department (plus
/// `vpn` for every tenth user).
pub fn directory_ldif() -> String {
    let mut s = format!(
        "dn: {SUFFIX}\nobjectClass: dcObject\nobjectClass: organization\no: Example\ndc: example\n\n\
         dn: ou=people,{SUFFIX}\nobjectClass: organizationalUnit\nou: people\n\n\
         dn: ou=groups,{SUFFIX}\nobjectClass: organizationalUnit\nou: groups\n\n\
         dn: {SYNC_DN}\nobjectClass: organizationalRole\nobjectClass: simpleSecurityObject\n\
         cn: sync\nuserPassword: {SYNC_PW}\n\n"
    );
    for i in 1..=USERS {
        s.push_str(&person_ldif(i));
    }
    for d in DEPARTMENTS {
        let _ = writeln!(
            s,
            "dn: cn=dept-{d},ou=groups,{SUFFIX}\nobjectClass: groupOfNames\ncn: dept-{d}"
        );
        for i in (1..=USERS).filter(|i| dept(*i) == d) {
            let _ = writeln!(s, "member: uid={},ou=people,{SUFFIX}", uid(i));
        }
        s.push('\n');
    }
    let _ = writeln!(
        s,
        "dn: cn=vpn,ou=groups,{SUFFIX}\nobjectClass: groupOfNames\ncn: vpn"
    );
    for i in (10..=USERS).step_by(10) {
        let _ = writeln!(s, "member: uid={},ou=people,{SUFFIX}", uid(i));
    }
    s
}

pub fn value(report: &str, key: &str) -> i64 {
    report
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{key}: ")))
        .unwrap_or_else(|| panic!("no `{key}:` line in:\n{report}"))
        .trim()
        .parse()
        .unwrap()
}

pub fn groups(u: &serde_json::Value) -> Vec<String> {
    u["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g.as_str().unwrap().to_owned())
        .collect()
}

pub fn user_count(s: &TestServer) -> usize {
    s.cli_ok(&["user", "list", "--json"]).lines().count()
}

pub fn add_source(s: &TestServer, url: &str) {
    let out = s.cli_ok_stdin(
        &[
            "ldap-source",
            "add",
            "corp",
            "--url",
            url,
            "--bind-dn",
            SYNC_DN,
            "--password-stdin",
            "--base-dn",
            &format!("ou=people,{SUFFIX}"),
            "--map",
            "disabled=employeeType",
            "--map",
            "attr.employee_mail=mail",
            "--page-size",
            "200",
        ],
        &format!("{SYNC_PW}\n"),
    );
    assert_eq!(out.trim(), "ldap-source: corp");
}
