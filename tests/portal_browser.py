"""Driving the portal in Debian's Chromium, with axe-core checking every page and error state.

axe-core comes from the `selenium-axe-python` wheel (a dev dependency that bundles axe.min.js):
nothing is downloaded at test time, and no browser either (selenium-manager is kept offline).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

SERIOUS = ("serious", "critical")


def axe_source() -> str:
    import selenium_axe_python

    path = Path(selenium_axe_python.__file__).resolve().parent / "axe-core" / "axe.min.js"
    return path.read_text(encoding="utf-8")


def require_browser() -> None:
    from tests.test_ui_browser import _missing_browser

    reason = _missing_browser()
    if reason is None:
        try:
            axe_source()
        except (ImportError, OSError) as error:
            reason = f"axe-core introuvable ({error}) : installez les dépendances de dev"
    if reason is None:
        return
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"navigateur requis en CI : {reason}")
    pytest.skip(reason)


class Browser:
    """A headless Chromium on the portal; `audit()` runs axe on the page as it stands."""

    def __init__(self, base: str, profile: Path) -> None:
        from tests.test_ui_browser import _driver

        self.base = base
        self.driver: Any = _driver(profile)
        self.driver.set_script_timeout(30)
        self.axe = axe_source()
        self.audited: list[str] = []

    def quit(self) -> None:
        self.driver.quit()

    def open(self, path: str) -> None:
        self.driver.get(self.base + path)

    @property
    def path(self) -> str:
        url: str = self.driver.current_url
        return url.removeprefix(self.base)

    def text(self) -> str:
        from selenium.webdriver.common.by import By

        return str(self.driver.find_element(By.TAG_NAME, "body").text)

    def fill(self, values: dict[str, str], typed: tuple[str, ...] = ()) -> None:
        """Type the `typed` fields key by key, set the others (long texts) directly."""
        from selenium.webdriver.common.by import By

        for name, value in values.items():
            element = self.driver.find_element(By.NAME, name)
            if name in typed:
                element.clear()
                element.send_keys(value)
            else:
                self.driver.execute_script("arguments[0].value = arguments[1];", element, value)

    def select(self, name: str, value: str) -> None:
        from selenium.webdriver.common.by import By
        from selenium.webdriver.support.ui import Select

        Select(self.driver.find_element(By.NAME, name)).select_by_value(value)

    def click(self, text: str) -> None:
        """Click a button or link and wait for the page it leads to (every one here navigates)."""
        from selenium.common.exceptions import WebDriverException
        from selenium.webdriver.common.by import By
        from selenium.webdriver.support.ui import WebDriverWait

        self.driver.execute_script("window.__amiOldPage = true;")
        target = self.driver.find_element(By.XPATH, f"//*[(self::button or self::a) and normalize-space(.)={_xpath(text)}]")
        target.click()

        def new_page(driver: Any) -> bool:
            try:
                return bool(driver.execute_script("return !window.__amiOldPage && document.readyState === 'complete';"))
            except WebDriverException:
                return False

        WebDriverWait(self.driver, 30).until(new_page)

    def check(self, element_id: str) -> None:
        from selenium.webdriver.common.by import By

        self.driver.find_element(By.ID, element_id).click()

    def audit(self, label: str) -> None:
        """axe-core on the current page: no violation of serious or critical impact."""
        self.driver.execute_script(self.axe)
        result = self.driver.execute_async_script(
            "const done = arguments[arguments.length - 1];"
            "axe.run(document, {resultTypes: ['violations']}).then(r => done(r.violations)).catch(e => done([{id: 'axe-error', impact: 'critical', help: String(e), nodes: []}]));"
        )
        bad = [v for v in result if v.get("impact") in SERIOUS]
        detail = "; ".join(f"{v['id']} ({v['impact']}): {v['help']} — {[n.get('target') for n in v.get('nodes', [])][:3]}" for v in bad)
        assert not bad, f"axe, page « {label} » ({self.path[:60]}) : {detail}"
        self.audited.append(label)


def _xpath(text: str) -> str:
    if "'" not in text:
        return f"'{text}'"
    return "concat(" + ', "\'", '.join(f"'{part}'" for part in text.split("'")) + ")"
