"""The console's configuration pages in Chromium (issue #7 part 1).

Usage: console_config.py ADMIN_BASE ADMIN_PATTERN(comma-separated cells) PUBLIC_URL

The demo administrator signs in on the admin listener, visits groups, a policy editor, the
access policy, services, the audit log (opening one event's details) and the guides page, and
generates a guide URL with the keyboard-usable form. axe-core runs on every page, at desktop width
and again at 360 px, where the page itself must not scroll sideways (tables scroll inside
.table-wrap). Prints `guide-url: URL` for the Rust side to check.
"""
import sys

from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from pl_browser import axe, chrome, fail, no_horizontal_scroll, path_of, sign_in_matrix, wait_for

admin_base, pattern_csv, public_url = sys.argv[1], sys.argv[2], sys.argv[3]
pattern = [int(c) for c in pattern_csv.split(",")]

PAGES = [
    ("/console/groups", "groups"),
    ("/console/policies/default", "policy editor"),
    ("/console/access-policy", "access policy"),
    ("/console/services", "services"),
    ("/console/audit", "audit log"),
    ("/console/guides", "guides"),
]

d = chrome()
try:
    sign_in_matrix(d, admin_base, "admin", pattern)
    wait_for(d, "signed in", lambda: path_of(d) == "/")
    # A group through the form (a change to show in the audit log).
    d.get(f"{admin_base}/console/groups")
    d.find_element(By.ID, "name").send_keys("browser-team")
    Select(d.find_element(By.ID, "kind")).select_by_value("position")
    d.find_element(By.ID, "priority").clear()
    d.find_element(By.ID, "priority").send_keys("30")
    d.find_element(By.CSS_SELECTOR, "form[action='/console/groups'] button[type=submit]").click()
    wait_for(d, "the group saved", lambda: d.find_elements(By.CSS_SELECTOR, "tr[data-group='browser-team']"))
    for path, label in PAGES:
        d.get(f"{admin_base}{path}")
        wait_for(d, label, lambda: d.find_elements(By.CSS_SELECTOR, "main h1"))
        axe(d, label)
    # The audit log: the group's event, details opened without script.
    d.get(f"{admin_base}/console/audit?event=group.put&actor=console%3Aadmin")
    rows = d.find_elements(By.CSS_SELECTOR, "tr[data-event-id]")
    if not rows:
        fail(d, "no group.put event in the audit log")
    rows[0].find_element(By.CSS_SELECTOR, "details summary").click()
    detail = rows[0].find_element(By.CSS_SELECTOR, "pre.detail")
    wait_for(d, "the details to open", lambda: detail.is_displayed())
    if "browser-team" not in detail.text:
        fail(d, f"details do not name the group: {detail.text}")
    axe(d, "audit log with details open")
    # A guide URL.
    d.get(f"{admin_base}/console/guides")
    Select(d.find_element(By.ID, "method")).select_by_value("passkey")
    d.find_element(By.ID, "user").send_keys("hanako")
    Select(d.find_element(By.ID, "guide_lang")).select_by_value("ja")
    d.find_element(By.CSS_SELECTOR, "main form button[type=submit]").click()
    wait_for(d, "the guide URL", lambda: d.find_elements(By.CSS_SELECTOR, "input[data-guide-url]"))
    url = d.find_element(By.CSS_SELECTOR, "input[data-guide-url]").get_attribute("value")
    expected = f"{public_url}/guide/passkey?lang=ja&user=hanako"
    if url != expected:
        fail(d, f"guide URL {url!r}, expected {expected!r}")
    axe(d, "guides with a URL")
    print(f"guide-url: {url}", flush=True)
finally:
    d.quit()

# Narrow: 360 px wide, no horizontal page scroll, axe again.
d = chrome(width=360, height=800)
# Headless Chromium keeps windows at least ~500 px wide: emulate a 360 px viewport instead.
d.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                  {"width": 360, "height": 800, "deviceScaleFactor": 1, "mobile": False})
try:
    sign_in_matrix(d, admin_base, "admin", pattern)
    wait_for(d, "signed in", lambda: path_of(d) == "/")
    narrow = PAGES + [("/console/guides?method=totp&user=hanako&guide_lang=en", "guides with a URL")]
    # English, then Japanese (the `lang` switch is remembered in a cookie).
    for path, label in narrow + [(p + ("&" if "?" in p else "?") + "lang=ja", l + " (ja)") for p, l in narrow]:
        d.get(f"{admin_base}{path}")
        wait_for(d, label, lambda: d.find_elements(By.CSS_SELECTOR, "main h1"))
        lang = d.find_element(By.TAG_NAME, "html").get_attribute("lang")
        if lang != ("ja" if label.endswith("(ja)") else "en"):
            fail(d, f"{label}: page language {lang}")
        width = d.execute_script("return document.documentElement.clientWidth")
        if width > 360:
            fail(d, f"viewport {width} px, expected 360")
        axe(d, f"{label} at 360 px")
        wide = d.execute_script(
            "const w = document.documentElement.clientWidth; return Array.from(document.querySelectorAll('main *'))"
            ".filter(e => e.getBoundingClientRect().right > w + 1 && !e.closest('.table-wrap'))"
            ".slice(0, 8).map(e => e.tagName + '.' + e.className + '#' + e.id + ' ' + Math.round(e.getBoundingClientRect().right));")
        if wide:
            print(f"too wide on {label}: {wide}", flush=True)
        no_horizontal_scroll(d, f"{label} at 360 px")
finally:
    d.quit()
print("console-config: ok", flush=True)
