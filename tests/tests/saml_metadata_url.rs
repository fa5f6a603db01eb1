//! `sp add --metadata-url URL`: the SP's metadata fetched from a local HTTP server (plain
//! Content-Length and chunked bodies). A 404, a redirect (not followed), an oversized document
//! and an unsupported scheme are refused with a clear error and register nothing.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;

use common::{Backend, TestServer};

fn metadata(entity: &str) -> String {
    format!(
        r#"<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="{entity}"><md:SPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol"><md:AssertionConsumerService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="https://127.0.0.1:9/{entity}/acs" index="0"/></md:SPSSODescriptor></md:EntityDescriptor>"#
    )
}

/// Serves a few fixed answers on 127.0.0.1; returns the base URL.
fn http_server() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut s) = stream else { continue };
            let mut line = String::new();
            let mut r = BufReader::new(s.try_clone().unwrap());
            r.read_line(&mut line).unwrap();
            loop {
                let mut h = String::new();
                if r.read_line(&mut h).unwrap() == 0 || h == "\r\n" {
                    break;
                }
            }
            let path = line.split_whitespace().nth(1).unwrap_or("/").to_owned();
            let answer = match path.as_str() {
                "/plain.xml" => {
                    let b = metadata("plain-sp");
                    format!(
                        "HTTP/1.1 200 OK\r\nContent-Type: application/samlmetadata+xml\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{b}",
                        b.len()
                    )
                }
                "/chunked.xml" => {
                    let b = metadata("chunked-sp");
                    let (x, y) = b.split_at(100);
                    format!(
                        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n{:x}\r\n{x}\r\n{:x}\r\n{y}\r\n0\r\n\r\n",
                        x.len(),
                        y.len()
                    )
                }
                "/moved" => {
                    "HTTP/1.1 302 Found\r\nLocation: /plain.xml\r\nContent-Length: 0\r\n\r\n"
                        .to_owned()
                }
                "/big.xml" => {
                    let b = "x".repeat(2 * 1024 * 1024);
                    format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n{b}", b.len())
                }
                _ => "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n".to_owned(),
            };
            let _ = s.write_all(answer.as_bytes());
        }
    });
    base
}

fn sp_add_from_metadata_url(backend: Backend) {
    let server = TestServer::start(backend, &[]);
    let base = http_server();
    for (path, entity) in [("/plain.xml", "plain-sp"), ("/chunked.xml", "chunked-sp")] {
        let out = server.cli_ok(&["sp", "add", "--metadata-url", &format!("{base}{path}")]);
        assert!(out.contains(&format!("sp: {entity}")), "{out}");
        assert!(
            out.contains(&format!("acs: https://127.0.0.1:9/{entity}/acs")),
            "{out}"
        );
    }
    for (url, why) in [
        (format!("{base}/missing.xml"), "404"),
        (format!("{base}/moved"), "302"),
        (format!("{base}/big.xml"), "larger than"),
        ("ftp://127.0.0.1/x".to_owned(), "only http"),
    ] {
        let o = server.cli(&["sp", "add", "--metadata-url", &url]);
        assert!(!o.status.success(), "{url} must be refused");
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains(why), "{url}: {err}");
    }
    let both = server.cli(&[
        "sp",
        "add",
        "--metadata",
        "x.xml",
        "--metadata-url",
        &format!("{base}/plain.xml"),
    ]);
    assert!(
        !both.status.success(),
        "--metadata and --metadata-url together"
    );
    // https: the certificate is checked (a self-signed test server is refused).
    let dir = tempfile::tempdir().unwrap();
    let (key, cert) = (dir.path().join("k.pem"), dir.path().join("c.pem"));
    let ok = std::process::Command::new("openssl")
        .args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
        ])
        .args(["-subj", "/CN=127.0.0.1", "-keyout"])
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .expect("openssl");
    assert!(ok.status.success());
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut tls = std::process::Command::new("openssl")
        .args(["s_server", "-quiet", "-www", "-accept", &port.to_string()])
        .arg("-key")
        .arg(&key)
        .arg("-cert")
        .arg(&cert)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("openssl s_server");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            std::time::Instant::now() < deadline,
            "s_server did not start"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let o = server.cli(&[
        "sp",
        "add",
        "--metadata-url",
        &format!("https://127.0.0.1:{port}/"),
    ]);
    let _ = tls.kill();
    let _ = tls.wait();
    assert!(
        !o.status.success(),
        "a self-signed TLS server must be refused"
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("certificate verify failed"), "{err}");

    let list = server.cli_ok(&["sp", "list"]);
    assert_eq!(list.lines().count(), 2, "{list}");
}

both_backends!(sp_add_from_metadata_url);
