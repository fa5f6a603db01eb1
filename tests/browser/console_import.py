"""Browser test of the console's CSV import, tokens and directory pages (run by
tests/tests/console_import.rs::console_import_in_chromium).

Usage: console_import.py ADMIN_BASE ADMIN_PATTERN_CSV CSV_FILE EXPECTED_CREATED

The administrator signs in on the admin listener, uploads CSV_FILE through the file input,
sees the dry run, applies it and sees the result with one notice per new user; axe-core
passes on every page (English and Japanese), and the pages do not scroll sideways at 360 px.
"""
import sys

from selenium.webdriver.common.by import By

from pl_browser import axe, chrome, fail, no_horizontal_scroll, path_of, sign_in_matrix, wait_for

base, pattern_csv, csv_file, expected = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
pattern = [int(x) for x in pattern_csv.split(",")]

d = chrome()
try:
    sign_in_matrix(d, base, "admin", pattern)
    d.get(f"{base}/console/import?lang=en")
    wait_for(d, "the upload form", lambda: d.find_elements(By.CSS_SELECTOR, "form[data-import-upload]"))
    axe(d, "import form")
    d.find_element(By.ID, "file").send_keys(csv_file)
    d.find_element(By.CSS_SELECTOR, "form[data-import-upload] button[type=submit]").click()
    wait_for(d, "the dry run", lambda: d.find_elements(By.CSS_SELECTOR, "span.num[data-count=created]"))
    created = int(d.find_element(By.CSS_SELECTOR, "span.num[data-count=created]").text)
    if created != expected:
        fail(d, f"dry run: {created} to create, expected {expected}")
    rows = d.find_elements(By.CSS_SELECTOR, "tr[data-created]")
    if len(rows) != expected:
        fail(d, f"dry run lists {len(rows)} new users")
    axe(d, "dry run")
    dry_run_path = path_of(d)
    d.set_window_size(360, 800)
    no_horizontal_scroll(d, "dry run")
    d.set_window_size(1280, 900)
    d.find_element(By.CSS_SELECTOR, "form[data-apply] button[type=submit]").click()
    wait_for(d, "the result", lambda: d.find_elements(By.CSS_SELECTOR, "[data-applied]"))
    notices = d.find_elements(By.CSS_SELECTOR, "article[data-notice-for]")
    if len(notices) != expected:
        fail(d, f"result shows {len(notices)} notices, expected {expected}")
    axe(d, "import result")
    # Shown once: the dry run of the applied upload is gone.
    d.get(f"{base}{dry_run_path}")
    wait_for(d, "the gone upload", lambda: d.find_elements(By.CSS_SELECTOR, "[data-error]"))
    for path, label in [("/console/import", "import form"), ("/console/tokens", "tokens"),
                        ("/console/directory", "directory")]:
        for lang in ["en", "ja"]:
            d.get(f"{base}{path}?lang={lang}")
            wait_for(d, label, lambda: d.find_elements(By.CSS_SELECTOR, "main h1"))
            axe(d, f"{label} ({lang})")
        d.set_window_size(360, 800)
        no_horizontal_scroll(d, f"{label} at 360 px")
        d.set_window_size(1280, 900)
    print("console-import-browser: ok", flush=True)
finally:
    d.quit()
