#!/usr/bin/env python3
"""Passkeys in headless Chromium with WebDriver's virtual authenticator (tests/tests/passkeys.rs,
passkeys_in_chromium).

    passkey_flow.py IDP_BASE USER1 PATTERN1 USER2 PATTERN2

IDP_BASE is http://localhost:PORT (Chromium refuses an IP address as RP ID); patterns are cell
indexes, comma-separated. Steps, each printed on success:

1. USER1 signs in with the matrix, registers a passkey at /account/passkeys on a virtual
   authenticator (CTAP2, internal, resident keys, user verification): `registered: USER1`.
   Then the script waits for one line on stdin (the test moves USER1 to a matrix+passkey
   policy meanwhile).
2. Signs out, signs in again: matrix, then the passkey step by the virtual authenticator:
   `signed-in: USER1 AMR` (amr comma-separated, from /session).
3. The authenticator stops verifying the user: the passkey step gives no session:
   `refused-without-uv: USER1`.
4. USER2 (who has a passkey of their own, registered by the test) signs in with the matrix;
   the authenticator, holding only USER1's credential, offers it at USER2's passkey step and
   the IdP refuses it: `refused-other-user: USER2`.
Exits non-zero with the reason on any other outcome."""
import json
import sys
import time
import urllib.parse

from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.common.virtual_authenticator import (
    Protocol,
    Transport,
    VirtualAuthenticatorOptions,
)

base, user1, pattern1, user2, pattern2 = sys.argv[1:6]

opts = webdriver.ChromeOptions()
for a in ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
          "--disable-background-networking", "--disable-component-update", "--disable-sync"]:
    opts.add_argument(a)
opts.binary_location = "/usr/bin/chromium"
d = webdriver.Chrome(options=opts, service=webdriver.ChromeService("/usr/bin/chromedriver"))


def path():
    return urllib.parse.urlparse(d.current_url).path


def wait_for(what, check, secs=20):
    end = time.time() + secs
    while time.time() < end:
        try:
            if check():
                return
        except Exception:  # the page is changing under us; look again
            pass
        time.sleep(0.1)
    sys.exit(f"timed out waiting for {what}; at {d.current_url}:\n{d.page_source[:3000]}")


def matrix_sign_in(user, pattern, then):
    d.delete_all_cookies()
    d.get(base + "/login")
    d.find_element(By.NAME, "username").send_keys(user)
    d.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait_for("the grid", lambda: path() == "/login/matrix")
    digits = {c.get_attribute("data-cell"): c.text.strip()
              for c in d.find_elements(By.CSS_SELECTOR, "[data-cell]")}
    otp = "".join(digits[c] for c in pattern.split(","))
    d.find_element(By.NAME, "otp").send_keys(otp)
    d.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait_for(f"{then} after the grid", lambda: path() == then)


def session():
    d.get(base + "/session")
    try:
        s = json.loads(d.find_element(By.TAG_NAME, "body").text)
    except Exception:
        return None
    return s if isinstance(s, dict) and "user" in s else None


def visible(selector):
    els = d.find_elements(By.CSS_SELECTOR, selector)
    return bool(els) and els[0].is_displayed()


try:
    d.add_virtual_authenticator(VirtualAuthenticatorOptions(
        protocol=Protocol.CTAP2, transport=Transport.INTERNAL, has_resident_key=True,
        has_user_verification=True, is_user_consenting=True, is_user_verified=True))

    # 1. Register.
    matrix_sign_in(user1, pattern1, "/")
    d.get(base + "/account/passkeys")
    wait_for("the script to enable the button",
             lambda: d.find_element(By.CSS_SELECTOR, "[data-action=passkey-create]").is_enabled())
    d.find_element(By.NAME, "label").send_keys("virtual")
    d.find_element(By.CSS_SELECTOR, "[data-action=passkey-create]").click()
    wait_for("the registration", lambda: visible("[data-status=passkey-registered]"))
    if len(d.get_credentials()) != 1:
        sys.exit("the virtual authenticator holds no credential")
    print(f"registered: {user1}", flush=True)
    sys.stdin.readline()

    # 2. Sign in with matrix + passkey.
    matrix_sign_in(user1, pattern1, "/login/passkey")
    wait_for("the passkey button",
             lambda: d.find_element(By.CSS_SELECTOR, "[data-action=passkey-get]").is_enabled())
    d.find_element(By.CSS_SELECTOR, "[data-action=passkey-get]").click()
    wait_for("the home page", lambda: path() == "/")
    s = session()
    if not s or s.get("user") != user1:
        sys.exit(f"no session after the passkey: {s}")
    print(f"signed-in: {user1} {','.join(s['amr'])}", flush=True)

    # 3. Without user verification.
    d.set_user_verified(False)
    matrix_sign_in(user1, pattern1, "/login/passkey")
    wait_for("the passkey button",
             lambda: d.find_element(By.CSS_SELECTOR, "[data-action=passkey-get]").is_enabled())
    d.find_element(By.CSS_SELECTOR, "[data-action=passkey-get]").click()
    wait_for("a refusal", lambda: visible("[data-passkey-browser-error]")
             or visible("[data-error=passkey-refused]"))
    by = "server" if visible("[data-error=passkey-refused]") else "browser"
    if session() is not None:
        sys.exit("signed in without user verification")
    print(f"uv-refused-by: {by}", flush=True)
    print(f"refused-without-uv: {user1}", flush=True)
    d.set_user_verified(True)

    # 4. Another user, the first user's credential.
    matrix_sign_in(user2, pattern2, "/login/passkey")
    wait_for("the passkey button",
             lambda: d.find_element(By.CSS_SELECTOR, "[data-action=passkey-get]").is_enabled())
    d.find_element(By.CSS_SELECTOR, "[data-action=passkey-get]").click()
    wait_for("the refusal", lambda: visible("[data-error=passkey-refused]"))
    if session() is not None:
        sys.exit(f"{user2} signed in with {user1}'s passkey")
    print(f"refused-other-user: {user2}", flush=True)
finally:
    d.quit()
