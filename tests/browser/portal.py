#!/usr/bin/env python3
"""The user portal in headless Chromium (tests/tests/portal.rs, portal_in_chromium).

    portal.py IDP_BASE PORT OLD_PATTERN NEW_PATTERN SP_ENTITY_ID

Serves a stand-in SAML SP's assertion consumer service on http://127.0.0.1:PORT/acs, then with
selenium: signs in as `demo` (typing the digits of OLD_PATTERN's cells), changes the pattern on
/account/pattern by clicking the cells of NEW_PATTERN, signs out and in again with the new
pattern, launches the SAML service from its portal tile (the IdP's auto-submitting page POSTs the
SAMLResponse to the ACS here), and checks that the portal, the security settings, the pattern
page and a guide have no horizontal scroll at a phone's 360x740. Prints `acs: BODY` and one
`ok: ...` line per check, or exits non-zero with the reason."""
import http.server
import sys
import threading
import urllib.parse

from selenium.webdriver.common.by import By

import pl_browser

idp, port, old, new, sp = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
old = [int(c) for c in old.split(",")]
new = [int(c) for c in new.split(",")]
posted = []


class Acs(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        posted.append((self.path, self.rfile.read(n).decode()))
        data = b"<!doctype html><title>SP</title><p>signed in at the SP</p>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


srv = http.server.ThreadingHTTPServer(("127.0.0.1", port), Acs)
threading.Thread(target=srv.serve_forever, daemon=True).start()

d = pl_browser.chrome()


def fail(why):
    pl_browser.fail(d, why)


def wait_for(what, check, secs=15):
    pl_browser.wait_for(d, what, check, secs)


def axe(label):
    pl_browser.axe(d, label)


def path():
    return urllib.parse.urlparse(d.current_url).path


def sign_in(pattern):
    d.get(f"{idp}/login")
    d.find_element(By.ID, "username").send_keys("demo")
    d.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait_for("the grid", lambda: path() == "/login/matrix")
    digits = {int(td.get_attribute("data-cell")): td.text
              for td in d.find_elements(By.CSS_SELECTOR, "td[data-cell]")}
    d.find_element(By.ID, "otp").send_keys("".join(digits[c] for c in pattern))
    d.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
    wait_for("the portal", lambda: path() == "/")


def no_horizontal_scroll(url):
    d.get(url)
    width = d.execute_script("return [document.documentElement.scrollWidth, window.innerWidth]")
    if width[0] > width[1]:
        fail(f"{url} scrolls sideways at 360 px: scrollWidth {width[0]} > innerWidth {width[1]}")
    print(f"ok: no horizontal scroll at 360 px: {url} ({width[0]} <= {width[1]})", flush=True)


try:
    sign_in(old)
    print("ok: signed in with the old pattern", flush=True)
    axe("portal (en)")

    # Change the pattern with the cell picker: click the cells, in order.
    d.find_element(By.CSS_SELECTOR, "nav.menu a[data-menu=security]").click()
    wait_for("security settings", lambda: path() == "/account/security")
    axe("security settings")
    d.find_element(By.CSS_SELECTOR, "a[data-setting=pattern]").click()
    wait_for("the pattern page", lambda: path() == "/account/pattern")
    axe("pattern change")
    for c in new:
        d.find_element(By.CSS_SELECTOR, f"table.picker button[data-cell='{c}']").click()
    typed = d.find_element(By.ID, "pattern").get_attribute("value")
    if typed != ",".join(map(str, new)):
        fail(f"the picker filled {typed!r}")
    d.find_element(By.CSS_SELECTOR, "form.stack button[type=submit]").click()
    wait_for("the change confirmed",
             lambda: d.find_elements(By.CSS_SELECTOR, "[data-status=pattern-changed]"))
    print("ok: pattern changed by clicking cells", flush=True)
    axe("pattern changed")
    for page in ["/account/totp", "/account/bingo", "/account/pin", "/account/devices",
                 "/?lang=ja", "/account/security?lang=ja", "/account/bingo?lang=ja"]:
        d.get(f"{idp}{page}")
        axe(page)
    # The bingo page hands its key to the reference authenticator in the link's fragment.
    d.get(f"{idp}/account/bingo?lang=en")
    key = d.find_element(By.CSS_SELECTOR, "[data-secret]").get_attribute("data-secret")
    d.find_element(By.CSS_SELECTOR, "a[data-action=open-authenticator]").click()
    wait_for("the reference authenticator", lambda: path() == "/authenticator")
    wait_for("the key prefilled", lambda: d.find_element(By.ID, "secret").get_attribute("value") == key)
    if d.execute_script("return location.hash"):
        fail("the key stayed in the address bar")
    print("ok: the bingo page's key prefilled in the reference authenticator", flush=True)
    d.get(f"{idp}/?lang=en")
    for m in ["matrix", "pin", "totp", "bingo", "hardware_token", "client_certificate",
              "device_cookie", "login_protect", "passkey", "biometric"]:
        for lang in ["en", "ja"]:
            d.get(f"{idp}/guide/{m}?lang={lang}&user=Taro")
            axe(f"guide {m} {lang}")
    d.get(f"{idp}/guide/unknown?lang=en")
    axe("unknown guide")

    # Sign out from the header menu, then in with the new pattern.
    d.get(f"{idp}/")
    d.find_element(By.CSS_SELECTOR, "nav.menu button[data-menu=sign-out]").click()
    wait_for("signed out", lambda: path() == "/login")
    sign_in(new)
    print("ok: signed in with the new pattern", flush=True)

    # Launch the SAML service from its tile.
    d.find_element(By.CSS_SELECTOR, f"a.service[data-service='{sp}']").click()
    wait_for("the SAMLResponse at the ACS", lambda: len(posted) > 0)
    acs_path, body = posted[0]
    fields = dict(urllib.parse.parse_qsl(body))
    if acs_path != "/acs" or "SAMLResponse" not in fields:
        fail(f"the ACS got {acs_path} {body[:200]}")
    print("acs: " + body, flush=True)

    # A phone: no page scrolls sideways.
    d.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                      {"width": 360, "height": 740, "deviceScaleFactor": 2, "mobile": True})
    for p in ["/", "/account/security", "/account/pattern", "/account/bingo",
              "/guide/matrix?lang=ja", "/guide/client_certificate?lang=en"]:
        no_horizontal_scroll(f"{idp}{p}")
finally:
    d.quit()
    srv.shutdown()
