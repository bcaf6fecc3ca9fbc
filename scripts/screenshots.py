"""`make screenshots`: the clinic page, the yellow fever letter and the patient's copy for the Ghana case, as
docs/clinic-*.png.

The real service under gunicorn on a loopback port, driven by Debian's headless Chromium (tests/browser.py), with
the plan date pinned to 2026-11-24 through the form's own `as_of` field so the pictures do not change daily.
"""

from __future__ import annotations

import base64
import tempfile
from pathlib import Path

from tests.browser import chromium, missing_reason
from tests.server import gunicorn

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
AS_OF = "2026-11-24"
# On maintenance (weeks 0, 1, 2 and 4 listed), last injection 10 days ago, departure in 7 weeks.
GHANA = {
    "start_date": "2026-10-17",
    "doses": ["2026-10-17", "2026-10-24", "2026-10-31", "2026-11-14"],
    "needed_by": "2027-01-12",
    "return_on": "2027-01-26",
    "destination": "Ghana (Accra, Kumasi)",
    "vaccines": ["yellow fever", "typhoid", "hepatitis A", "rabies"],
    "picks": ["typhoid-vi"],
}


def shoot(driver, selector: str, path: Path, width: int = 1100) -> None:
    """A picture of one part of the page, however tall (Chromium's DevTools capture beyond the viewport)."""
    driver.set_window_size(width, 1000)
    rect = driver.execute_script(
        "const r = document.querySelector(arguments[0]).getBoundingClientRect();"
        "return {x: r.left + window.scrollX, y: r.top + window.scrollY, width: r.width, height: r.height};",
        selector,
    )
    shot = driver.execute_cdp_cmd(
        "Page.captureScreenshot",
        {"format": "png", "captureBeyondViewport": True, "clip": {**rect, "scale": 1}},
    )
    path.write_bytes(base64.b64decode(shot["data"]))
    print(f"wrote {path.relative_to(ROOT)}")


def main() -> None:
    reason = missing_reason()
    if reason:
        raise SystemExit(reason)
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import WebDriverWait

    def set_date(driver, element_id: str, value: str) -> None:
        driver.execute_script("arguments[0].value = arguments[1]", driver.find_element(By.ID, element_id), value)

    def submit(driver, button) -> None:
        button.click()
        WebDriverWait(driver, 60).until(expected_conditions.staleness_of(button))

    def plan_page(driver, url: str, first: bool) -> None:
        """The Ghana plan, the product picked where the planner asks which (pictured the first time)."""
        driver.get(url + "/")
        set_date(driver, "as_of", AS_OF)
        set_date(driver, "start_date", GHANA["start_date"])
        for i, day in enumerate(GHANA["doses"]):
            set_date(driver, f"doses-{i}", day)
        for i, name in enumerate(GHANA["vaccines"]):
            field = driver.find_element(By.ID, f"vaccines-{i}")
            field.send_keys(name)
            field.send_keys(Keys.ESCAPE)
        set_date(driver, "needed_by", GHANA["needed_by"])
        set_date(driver, "return_on", GHANA["return_on"])
        driver.find_element(By.ID, "destination").send_keys(GHANA["destination"])
        submit(driver, driver.find_element(By.ID, "make-plan"))
        if first:
            shoot(driver, "#vaccines", DOCS / "clinic-which-product.png")
        for pick in GHANA["picks"]:
            submit(driver, driver.find_element(By.CSS_SELECTOR, f'button[data-candidate-id="{pick}"]'))

    with tempfile.TemporaryDirectory() as tmp, gunicorn(Path(tmp), workers=1) as server, chromium() as driver:
        plan_page(driver, server.url, first=True)
        shoot(driver, "#results", DOCS / "clinic-plan.png")
        submit(driver, driver.find_element(By.ID, "open-letter"))
        shoot(driver, "main", DOCS / "clinic-letter.png", width=1000)
        plan_page(driver, server.url, first=False)
        submit(driver, driver.find_element(By.ID, "handout-en"))
        shoot(driver, "#handout", DOCS / "clinic-handout.png", width=900)


if __name__ == "__main__":
    main()
