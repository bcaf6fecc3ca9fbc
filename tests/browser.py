"""Debian's Chromium driven headless through selenium, for the clinic page's browser tests and `make screenshots`.

Chromium and its driver come from Debian (`make test` installs `chromium` and `chromium-driver` when missing
and root): a browser download at install time fails on these machines, so selenium is pointed at the system
binaries and never fetches one. axe-core comes from npm (package.json), injected into the page under test.
"""

from __future__ import annotations

import base64
import contextlib
import io
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
AXE_JS = ROOT / "node_modules" / "axe-core" / "axe.min.js"
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--lang=en-GB",
    "--window-size=1280,1600",
)


def chromium_paths() -> tuple[str | None, str | None]:
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver") or (
        "/usr/lib/chromium/chromedriver" if Path("/usr/lib/chromium/chromedriver").exists() else None
    )
    return browser, driver


def missing_reason() -> str | None:
    """Why the browser tests cannot run here, or None when they can."""
    browser, driver = chromium_paths()
    if browser is None or driver is None:
        return (
            "Debian's chromium and chromium-driver are not installed (make test installs them when run as root: "
            "apt-get update && apt-get install -y chromium chromium-driver)"
        )
    if not AXE_JS.exists():
        return "axe-core is not installed (make test runs npm ci for package.json)"
    return None


@contextlib.contextmanager
def chromium(*, javascript: bool = True) -> Iterator[Any]:
    """A fresh headless Chromium (its own throw-away profile), quit and cleaned up on exit."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    browser, driver_path = chromium_paths()
    assert browser is not None and driver_path is not None, missing_reason()
    profile = tempfile.mkdtemp(prefix="planner-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = browser
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={profile}")
    if not javascript:
        options.add_experimental_option("prefs", {"profile.managed_default_content_settings.javascript": 2})
    service = Service(executable_path=driver_path, log_output=os.devnull)
    driver = webdriver.Chrome(options=options, service=service)
    driver.set_page_load_timeout(60)
    driver.set_script_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def axe_violations(driver: Any, impacts: tuple[str, ...] = ("serious", "critical")) -> list[dict[str, Any]]:
    """Run axe-core on the page as it is now; the violations of the given impacts (WCAG 2 A/AA rules)."""
    driver.execute_script(AXE_JS.read_text(encoding="utf-8"))
    result = driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', "
        "'best-practice']}}).then(r => done(r.violations)).catch(e => done([{id: 'axe-error', impact: 'critical', "
        "help: String(e), nodes: []}]));"
    )
    return [
        {"id": v["id"], "impact": v["impact"], "help": v["help"], "nodes": [n.get("target") for n in v["nodes"]][:5]}
        for v in result
        if v.get("impact") in impacts
    ]


def pdf_page_count(driver: Any) -> int:
    """Print the page as Chromium would (A4, print stylesheet) and count the PDF's pages."""
    from pypdf import PdfReader
    from selenium.webdriver.common.print_page_options import PrintOptions

    options = PrintOptions()
    options.page_width = 21.0
    options.page_height = 29.7
    options.background = True
    pdf = base64.b64decode(driver.print_page(options))
    return len(PdfReader(io.BytesIO(pdf)).pages)
