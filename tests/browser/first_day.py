#!/usr/bin/env python3
"""A new user's first day, in headless Chromium (tests/tests/first_day.rs).

    first_day.py ADMIN_BASE IDP_BASE ACS_PORT ADMIN_PATTERN SP_ENTITY_ID CSV_FILE NEW_PATTERN

The administrator signs in on the admin listener, creates `hanako` in the console (reading the
printed notice's grid), imports CSV_FILE through the upload form (dry run, then apply) and
generates the guide URL for the authenticator-app method. Then, in another browser, hanako opens
that guide, follows its sign-in link, signs in with the notice's initial pattern, sets
NEW_PATTERN, enrols the authenticator app (the code from `oathtool`) and launches the SAML service
from the portal: a stand-in SP on http://127.0.0.1:ACS_PORT/acs receives the SAMLResponse.
axe-core runs on every page. Prints `notice: CELLS`, `guide: URL`, `acs: BODY` and `ok:` lines,
or exits non-zero with the reason."""
import http.server
import subprocess
import sys
import threading

from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

import pl_browser
from pl_browser import axe, path_of, wait_for

admin_base, idp, port, admin_pattern, sp, csv_file, new_pattern = sys.argv[1:8]
admin_pattern = [int(c) for c in admin_pattern.split(",")]
posted = []


class Acs(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        posted.append(self.rfile.read(n).decode())
        data = b"<!doctype html><html lang=en><title>SP</title><main><p>signed in at the SP</p></main></html>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


srv = http.server.ThreadingHTTPServer(("127.0.0.1", int(port)), Acs)
threading.Thread(target=srv.serve_forever, daemon=True).start()


def notice_pattern(d):
    positions = []
    cells = d.find_elements(By.CSS_SELECTOR, "table.notice-grid td")
    for index, td in enumerate(cells):
        for p in td.text.split(","):
            if p.strip():
                positions.append((int(p), index))
    return [c for _, c in sorted(positions)]


# --- The administrator ---------------------------------------------------------------------
d = pl_browser.chrome()
try:
    pl_browser.sign_in_matrix(d, admin_base, "admin", admin_pattern, return_to="/console",
                              check_a11y=True)
    wait_for(d, "the console", lambda: path_of(d) == "/console")
    axe(d, "console overview")
    d.find_element(By.CSS_SELECTOR, "nav.console-nav a[href='/console/users']").click()
    wait_for(d, "the user list", lambda: path_of(d) == "/console/users")
    axe(d, "user list")
    d.find_element(By.CSS_SELECTOR, "a[href='/console/users/new']").click()
    wait_for(d, "the new-user form", lambda: path_of(d) == "/console/users/new")
    axe(d, "new user form")
    d.find_element(By.ID, "name").send_keys("hanako")
    d.find_element(By.ID, "display_name").send_keys("Sato Hanako")
    d.find_element(By.ID, "email").send_keys("hanako@example.jp")
    d.find_element(By.ID, "department").send_keys("Research")
    d.find_element(By.CSS_SELECTOR, "form.form-grid button[type=submit]").click()
    wait_for(d, "the notice", lambda: d.find_elements(By.CSS_SELECTOR, "pre[data-notice]"))
    axe(d, "initial-pattern notice")
    initial = notice_pattern(d)
    print("notice: " + ",".join(map(str, initial)), flush=True)

    # CSV bulk import: upload, dry run, apply.
    d.get(f"{admin_base}/console/import")
    wait_for(d, "the upload form", lambda: d.find_elements(By.CSS_SELECTOR, "form[data-import-upload]"))
    axe(d, "import form")
    d.find_element(By.ID, "file").send_keys(csv_file)
    d.find_element(By.CSS_SELECTOR, "form[data-import-upload] button[type=submit]").click()
    wait_for(d, "the dry run", lambda: d.find_elements(By.CSS_SELECTOR, "span.num[data-count=created]"))
    axe(d, "import dry run")
    print("ok: dry run created=" + d.find_element(By.CSS_SELECTOR, "span.num[data-count=created]").text,
          flush=True)
    d.find_element(By.CSS_SELECTOR, "form[data-apply] button[type=submit]").click()
    wait_for(d, "the import result", lambda: d.find_elements(By.CSS_SELECTOR, "[data-applied]"))
    axe(d, "import result")
    print("ok: imported", flush=True)

    # The first sign-in guide for the authenticator app, in Japanese, greeting hanako.
    d.get(f"{admin_base}/console/guides")
    axe(d, "guides form")
    Select(d.find_element(By.ID, "method")).select_by_value("totp")
    d.find_element(By.ID, "user").send_keys("hanako")
    Select(d.find_element(By.ID, "guide_lang")).select_by_value("ja")
    d.find_element(By.CSS_SELECTOR, "form.form-grid button[type=submit]").click()
    wait_for(d, "the guide URL", lambda: d.find_elements(By.CSS_SELECTOR, "[data-guide-url]"))
    axe(d, "guide URL")
    guide = d.find_element(By.CSS_SELECTOR, "[data-guide-url]").get_attribute("data-guide-url")
    print("guide: " + guide, flush=True)
finally:
    d.quit()

# --- Hanako, on her own browser ---------------------------------------------------------------
d = pl_browser.chrome()
try:
    d.get(guide)
    axe(d, "guide page")
    if "hanako" not in d.page_source:
        pl_browser.fail(d, "the guide does not greet hanako")
    d.find_element(By.CSS_SELECTOR, "a[data-action=start]").click()
    wait_for(d, "the sign-in page", lambda: path_of(d) == "/login")
    axe(d, "sign-in page (ja)")
    d.find_element(By.NAME, "username").send_keys("hanako")
    d.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
    wait_for(d, "the grid", lambda: path_of(d) == "/login/matrix")
    axe(d, "grid (ja)")
    d.find_element(By.NAME, "otp").send_keys(pl_browser.read_answer(d, initial))
    d.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
    wait_for(d, "the pattern setup", lambda: path_of(d) == "/pattern/setup")
    axe(d, "pattern setup")
    d.find_element(By.ID, "pattern").send_keys(new_pattern)
    d.find_element(By.ID, "pattern_confirm").send_keys(new_pattern)
    d.find_element(By.CSS_SELECTOR, "form.stack button[type=submit]").click()
    wait_for(d, "the portal", lambda: path_of(d) == "/")
    axe(d, "portal")
    print("ok: own pattern set", flush=True)

    # Enrol the authenticator app from the security settings.
    d.find_element(By.CSS_SELECTOR, "nav.menu a[data-menu=security]").click()
    wait_for(d, "security settings", lambda: path_of(d) == "/account/security")
    axe(d, "security settings")
    d.find_element(By.CSS_SELECTOR, "a[data-setting=totp]").click()
    wait_for(d, "the app page", lambda: path_of(d) == "/account/totp")
    axe(d, "authenticator enrolment")
    secret = d.find_element(By.CSS_SELECTOR, "[data-secret]").get_attribute("data-secret")
    code = subprocess.run(["oathtool", "--totp", "-b", secret], capture_output=True, text=True,
                          check=True).stdout.strip()
    d.find_element(By.ID, "otp").send_keys(code)
    d.find_element(By.CSS_SELECTOR, "form.stack button[type=submit]").click()
    wait_for(d, "the app enrolled", lambda: d.find_elements(By.CSS_SELECTOR, "[data-status=app-enrolled]"))
    axe(d, "authenticator enrolled")
    print("ok: authenticator enrolled", flush=True)

    # Launch the service from the portal.
    d.get(f"{idp}/")
    d.find_element(By.CSS_SELECTOR, f"a.service[data-service='{sp}']").click()
    wait_for(d, "the SAMLResponse at the ACS", lambda: len(posted) > 0)
    print("acs: " + posted[0], flush=True)
finally:
    d.quit()
    srv.shutdown()
