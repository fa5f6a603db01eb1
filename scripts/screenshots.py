#!/usr/bin/env python3
"""Takes the README/docs screenshots in headless Chromium (Debian's chromium + chromium-driver,
Python selenium). Usage: scripts/screenshots.py [path/to/passlogic-idp]  (default target/debug).

It starts the demo on a free port with a throwaway data directory, signs in as `demo` and as a
new user, and writes PNGs to docs/screenshots/. Not part of the test suite: a tool for looking
at the pages."""
import os, re, subprocess, sys, tempfile, time
from selenium import webdriver
from selenium.webdriver.common.by import By

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
exe = sys.argv[1] if len(sys.argv) > 1 else os.path.join(root, "target/debug/passlogic-idp")
out = os.path.join(root, "docs/screenshots")
data = tempfile.mkdtemp()
srv = subprocess.Popen([exe, "serve", "--demo", "--listen", "127.0.0.1:0", "--data-dir", data],
                       stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
base, admin_base, patterns, user = None, None, {}, None
for line in srv.stdout:
    if line.startswith("admin-listening: "):
        admin_base = line.split()[1]
    if line.startswith("ready: "):
        base = line.split()[1]
        break
    m = re.match(r"\s*user: (\S+)", line)
    if m:
        user = m.group(1)
    m = re.match(r"\s*pattern: ([\d,]+)", line)
    if m:
        patterns[user] = [int(c) for c in m.group(1).split(",")]

def cli(*args):
    return subprocess.run([exe, *args, "--data-dir", data], capture_output=True, text=True, check=True).stdout

opts = webdriver.ChromeOptions()
for a in ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
          "--disable-background-networking", "--disable-component-update", "--disable-sync",
          "--window-size=900,760"]:
    opts.add_argument(a)
opts.binary_location = "/usr/bin/chromium"
d = webdriver.Chrome(options=opts, service=webdriver.ChromeService("/usr/bin/chromedriver"))
try:
    def grid_answer(pattern):
        cells = {int(e.get_attribute("data-cell")): e.text for e in d.find_elements(By.CSS_SELECTOR, "td[data-cell]")}
        return "".join(cells[c] for c in pattern)

    d.get(base + "/login")
    d.save_screenshot(os.path.join(out, "signin-userid.png"))
    d.find_element(By.NAME, "username").send_keys("demo")
    d.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    d.save_screenshot(os.path.join(out, "signin-grid.png"))
    d.find_element(By.NAME, "otp").send_keys(grid_answer(patterns["demo"]))
    d.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    d.save_screenshot(os.path.join(out, "signed-in.png"))

    notice = cli("user", "add", "hanako", "--display-name", "Yamada Hanako")
    initial = [int(c) for c in re.search(r"initial-pattern: ([\d,]+)", notice).group(1).split(",")]
    d.delete_all_cookies()
    d.get(base + "/login?lang=ja")
    d.find_element(By.NAME, "username").send_keys("hanako")
    d.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    d.save_screenshot(os.path.join(out, "signin-grid-ja.png"))
    d.find_element(By.NAME, "otp").send_keys(grid_answer(initial))
    d.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    for c in [0, 13, 26, 39, 40, 29]:
        d.find_element(By.CSS_SELECTOR, f"button[data-cell='{c}']").click()
    d.save_screenshot(os.path.join(out, "pattern-setup-ja.png"))
    # demo-mfa: grid, then the authenticator-app step.
    d.delete_all_cookies()
    d.get(base + "/login?lang=en")
    d.find_element(By.NAME, "username").send_keys("demo-mfa")
    d.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    d.find_element(By.NAME, "otp").send_keys(grid_answer(patterns["demo-mfa"]))
    d.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    d.save_screenshot(os.path.join(out, "step-totp.png"))
    d.set_window_size(390, 844)
    d.get(base + "/login?lang=en")
    d.find_element(By.NAME, "username").send_keys("demo")
    d.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    d.save_screenshot(os.path.join(out, "signin-grid-phone.png"))
    # admin: matrix + device cookie, then the registered-browsers page; then a service the
    # access policy refuses (the denial page, in Japanese).
    d.set_window_size(900, 760)
    cli("policy", "put", "devices", "--combinations", "matrix+device_cookie")
    cli("group", "add", "devices", "--policy", "devices")
    cli("group", "add-user", "devices", "admin")
    d.delete_all_cookies()
    d.get(base + "/login?lang=en")
    d.find_element(By.NAME, "username").send_keys("admin")
    d.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    d.find_element(By.NAME, "otp").send_keys(grid_answer(patterns["admin"]))
    d.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    d.get(base + "/account/devices")
    d.save_screenshot(os.path.join(out, "account-devices.png"))
    cli("client", "add", "--client-id", "payroll", "--redirect-uri", "https://payroll.example/cb",
        "--public")
    policy = os.path.join(data, "access.json")
    with open(policy, "w") as f:
        f.write('{"groups": [{"group": "devices", "services": {"allow": ["*"], '
                '"deny": ["oidc_client:payroll"]}}]}')
    cli("access-policy", "put", policy)
    d.get(base + "/oidc/authorize?lang=ja&client_id=payroll&redirect_uri=https%3A%2F%2Fpayroll.example"
          "%2Fcb&response_type=code&scope=openid&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
          "&code_challenge_method=S256")
    d.save_screenshot(os.path.join(out, "access-denied-ja.png"))
    # The user portal (admin is in `devices`, which may use every service but payroll):
    # services with display names and login URLs, on a desktop and on a phone; then the
    # first sign-in guides.
    for entity, name in [("https://expenses.example/sp", "Expenses"),
                         ("https://wiki.example/saml", "Wiki"),
                         ("https://mail.example/sso", "Mail")]:
        md = os.path.join(data, "sp.xml")
        with open(md, "w") as f:
            f.write('<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" '
                    f'entityID="{entity}"><md:SPSSODescriptor protocolSupportEnumeration='
                    '"urn:oasis:names:tc:SAML:2.0:protocol"><md:AssertionConsumerService '
                    'Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" '
                    f'Location="{entity}/acs" index="0"/></md:SPSSODescriptor></md:EntityDescriptor>')
        cli("sp", "add", "--metadata", md, "--display-name", name)
    cli("client", "add", "--client-id", "crm", "--redirect-uri", "https://crm.example/cb", "--public",
        "--login-url", "https://crm.example/login", "--display-name", "CRM")
    cli("client", "add", "--client-id", "timesheet", "--redirect-uri", "https://time.example/cb",
        "--public", "--login-url", "https://time.example/start", "--display-name", "勤怠管理")
    d.set_window_size(1100, 900)
    d.get(base + "/?lang=en")
    d.save_screenshot(os.path.join(out, "portal.png"))
    d.get(base + "/account/security?lang=ja")
    d.save_screenshot(os.path.join(out, "portal-security-ja.png"))
    d.get(base + "/account/bingo?lang=en")
    d.save_screenshot(os.path.join(out, "portal-bingo.png"))
    d.get(base + "/guide/matrix?lang=en&user=Yamada%20Hanako")
    d.save_screenshot(os.path.join(out, "guide-matrix.png"))
    d.get(base + "/guide/totp?lang=ja&user=山田花子")
    d.save_screenshot(os.path.join(out, "guide-totp-ja.png"))
    d.set_window_size(390, 844)
    d.get(base + "/?lang=ja")
    d.save_screenshot(os.path.join(out, "portal-phone-ja.png"))
    d.get(base + "/guide/matrix?lang=ja")
    d.save_screenshot(os.path.join(out, "guide-phone-ja.png"))
    # The admin console (admin listener; the session cookie of 127.0.0.1 is admin's already).
    cli("seed-users", "--count", "120", "--prefix", "staff", "--group", "sales")
    d.set_window_size(1280, 900)
    for path, name in [("/console?lang=en", "console-overview"),
                       ("/console/users?q=staff", "console-users"),
                       ("/console/users/demo", "console-user"),
                       ("/console/import", "console-import"),
                       ("/console/groups", "console-groups"),
                       ("/console/policies/default", "console-policy"),
                       ("/console/services", "console-services"),
                       ("/console/audit", "console-audit"),
                       ("/console/guides?method=matrix&user=hanako&guide_lang=ja", "console-guides"),
                       ("/console/users?lang=ja", "console-users-ja")]:
        d.get(admin_base + path)
        d.save_screenshot(os.path.join(out, name + ".png"))
    d.set_window_size(390, 844)
    d.get(admin_base + "/console/users?lang=ja")
    d.save_screenshot(os.path.join(out, "console-phone-ja.png"))
finally:
    d.quit()
    srv.terminate()
print("screenshots written to", out)
