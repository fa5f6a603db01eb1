#!/usr/bin/env python3
"""Entra ID stand-in for the EAM browser test (tests/tests/oidc_eam.rs, eam_in_chromium).

    entra_stand_in.py IDP_BASE PORT FORM_FILE TOTP_SECRET

Serves, on http://localhost:PORT (another site than the IdP's http://127.0.0.1:...), a page
that auto-POSTs the fixture's EAM request (redirect_uri replaced by
http://localhost:PORT/capture) to IDP_BASE/oidc/authorize, as Entra makes the browser do.
Headless Chromium (selenium) opens it, answers the TOTP step (oathtool) and follows the IdP's
auto-submitting answer back here. Prints `captured: BODY` (the form the IdP POSTed) or exits
non-zero with the reason."""
import html
import http.server
import subprocess
import sys
import threading
import time
import urllib.parse

from selenium import webdriver
from selenium.webdriver.common.by import By

idp, port, form_file, secret = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
capture = f"http://localhost:{port}/capture"
with open(form_file) as f:
    fields = urllib.parse.parse_qsl(f.read().strip(), keep_blank_values=True)
fields = [(k, capture if k == "redirect_uri" else v) for k, v in fields]
captured = []


class Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def reply(self, body):
        data = body.encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        inputs = "".join(
            f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">'
            for k, v in fields
        )
        self.reply(
            f'<!doctype html><form id="f" method="post" action="{html.escape(idp)}/oidc/authorize">'
            f'{inputs}</form><script>document.getElementById("f").submit()</script>'
        )

    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        captured.append(self.rfile.read(n).decode())
        self.reply("<!doctype html><p>captured</p>")


srv = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
threading.Thread(target=srv.serve_forever, daemon=True).start()

opts = webdriver.ChromeOptions()
for a in ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
          "--disable-background-networking", "--disable-component-update", "--disable-sync"]:
    opts.add_argument(a)
opts.binary_location = "/usr/bin/chromium"
d = webdriver.Chrome(options=opts, service=webdriver.ChromeService("/usr/bin/chromedriver"))


def wait_for(what, check, secs=15):
    end = time.time() + secs
    while time.time() < end:
        if check():
            return
        time.sleep(0.1)
    sys.exit(f"timed out waiting for {what}; at {d.current_url}:\n{d.page_source[:2000]}")


try:
    d.get(f"http://localhost:{port}/start")
    wait_for("the TOTP step", lambda: urllib.parse.urlparse(d.current_url).path == "/login/totp")
    code = subprocess.run(["oathtool", "--totp", "-b", secret], capture_output=True, text=True,
                          check=True).stdout.strip()
    d.find_element(By.NAME, "otp").send_keys(code)
    d.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait_for("the answer POSTed back", lambda: len(captured) > 0)
    print("captured: " + captured[0], flush=True)
finally:
    d.quit()
    srv.shutdown()
