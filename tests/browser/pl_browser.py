"""Shared helpers of the browser tests (imported by the scripts in tests/browser/).

- `chrome()`: headless Debian Chromium driven by chromedriver (selenium).
- `wait_for(d, what, check)`: polls until `check()` holds, else exits with the page source.
- `sign_in_matrix(d, base, user, pattern)`: the sign-in page and the grid step, reading the digits
  of the cells of `pattern` from the page like a user reads them.
- `axe(d, label)`: runs axe-core (tests/rp-node/node_modules/axe-core, installed by .ci/run) on
  the current page for WCAG 2.0/2.1/2.2 A and AA rules and exits with the violations if any.
  Every page a browser test visits should pass through it.
"""
import json
import os
import sys
import time

from selenium import webdriver
from selenium.webdriver.common.by import By

HERE = os.path.dirname(os.path.abspath(__file__))
AXE_JS = os.path.join(HERE, "..", "rp-node", "node_modules", "axe-core", "axe.min.js")
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]


def chrome(width=1280, height=900, lang=None):
    opts = webdriver.ChromeOptions()
    for a in ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
              "--disable-background-networking", "--disable-component-update", "--disable-sync",
              f"--window-size={width},{height}"]:
        opts.add_argument(a)
    if lang:
        opts.add_argument(f"--lang={lang}")
        opts.add_experimental_option("prefs", {"intl.accept_languages": lang})
    opts.binary_location = "/usr/bin/chromium"
    return webdriver.Chrome(options=opts, service=webdriver.ChromeService("/usr/bin/chromedriver"))


def fail(d, why):
    sys.exit(f"{why}; at {d.current_url}:\n{d.page_source[:3000]}")


def wait_for(d, what, check, secs=15):
    end = time.time() + secs
    while time.time() < end:
        try:
            if check():
                return
        except Exception:  # the page may be mid-navigation
            pass
        time.sleep(0.1)
    fail(d, f"timed out waiting for {what}")


def path_of(d):
    from urllib.parse import urlparse
    return urlparse(d.current_url).path


def read_answer(d, pattern):
    digits = {}
    for td in d.find_elements(By.CSS_SELECTOR, "table.grid td[data-cell]"):
        digits[int(td.get_attribute("data-cell"))] = td.text.strip()
    return "".join(digits[c] for c in pattern)


def sign_in_matrix(d, base, user, pattern, return_to=None, check_a11y=False):
    """Signs `user` in with the matrix; leaves the browser wherever the IdP sends it next."""
    url = f"{base}/login" + (f"?return_to={return_to}" if return_to else "")
    d.get(url)
    if check_a11y:
        axe(d, "sign-in page")
    d.find_element(By.NAME, "username").send_keys(user)
    d.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
    wait_for(d, "the grid", lambda: path_of(d) == "/login/matrix")
    if check_a11y:
        axe(d, "grid page")
    d.find_element(By.NAME, "otp").send_keys(read_answer(d, pattern))
    d.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
    wait_for(d, "the grid to be answered", lambda: path_of(d) != "/login/matrix")


def axe(d, label):
    """axe-core on the current page; exits with the violations (rule, impact, nodes) if any."""
    with open(AXE_JS) as f:
        src = f.read()
    d.execute_script(src)
    result = d.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "axe.run(document, {runOnly: {type: 'tag', values: arguments[0]}})"
        ".then(r => done(JSON.stringify(r.violations))).catch(e => done(JSON.stringify([{id: 'axe-error', help: String(e), nodes: []}])));",
        AXE_TAGS,
    )
    violations = json.loads(result)
    if violations:
        lines = [f"axe-core: {len(violations)} violation(s) on {label} ({d.current_url}):"]
        for v in violations:
            lines.append(f"- {v['id']} ({v.get('impact')}): {v.get('help')}")
            for n in v.get("nodes", [])[:5]:
                lines.append(f"    {n.get('target')}: {n.get('failureSummary', '').strip()}")
        sys.exit("\n".join(lines))
    print(f"axe: {label}: ok", flush=True)


def no_horizontal_scroll(d, label):
    over = d.execute_script(
        "return document.documentElement.scrollWidth - document.documentElement.clientWidth;")
    if over > 0:
        fail(d, f"{label}: {over}px of horizontal scroll at {d.get_window_size()['width']}px wide")
