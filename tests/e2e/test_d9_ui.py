"""Drill 9: the Airflow UI as a person uses it, in headless Chromium (Debian's package, driven by Playwright).

Log in, open the retraining DAG's trigger form, see every Param with its description, trigger a run with
overrides, and while the tuning task is deferred find the "Vertex AI Tuning Job" link on it. Each step is
saved as a screenshot under artifacts/ui/ for a person to look at.
"""

from __future__ import annotations

import urllib.parse
from pathlib import Path

import pytest

from tests.e2e.harness.airflow_stack import PASSWORD, USERNAME
from tests.e2e.harness.drills import jobs_of, ready_dag, unique_label, wait_until

DAG_ID = "e2e_retraining"
SHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "ui"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
LINK_NAME = "Vertex AI Tuning Job"


@pytest.fixture
def browser_page():
    from tests.e2e.harness.requirements import MissingTool, ensure_chromium

    try:
        executable = ensure_chromium()
    except MissingTool as err:
        pytest.fail(str(err), pytrace=False)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.set_default_timeout(60_000)
            yield page
        finally:
            browser.close()


@pytest.mark.drill(name="9 UI: trigger form, params, deferred link")
@pytest.mark.timeout(900)
def test_a_person_triggers_retraining_and_finds_the_job_link(e2e_stack, drill, browser_page):
    rest, page = e2e_stack.rest, browser_page
    ready_dag(e2e_stack, DAG_ID)
    params = rest.json("GET", f"/api/v2/dags/{DAG_ID}/details")["params"]
    SHOTS.mkdir(parents=True, exist_ok=True)
    for old in SHOTS.glob("*.png"):
        old.unlink()

    def shot(name: str) -> None:
        page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)

    # 1. Log in.
    page.goto(f"{e2e_stack.api_url}/auth/login?next=%2Fdags%2F{DAG_ID}")
    page.get_by_label("Username").fill(USERNAME)
    page.get_by_label("Password").fill(PASSWORD)
    shot("01_login")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(lambda url: f"/dags/{DAG_ID}" in url and "/auth/login" not in url)
    page.get_by_role("button", name="Trigger").first.wait_for()
    shot("02_dag_page")

    # 2. The trigger form shows every Param with its title and description.
    page.get_by_role("button", name="Trigger").first.click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_text("Run Parameters").wait_for()
    for key, spec in params.items():
        schema = spec.get("schema", {})
        field = dialog.locator(f'[name="element_{key}"]')
        assert dialog.get_by_text(schema["title"], exact=False).first.is_visible(), f"{key}: title not shown"
        assert dialog.get_by_text(spec["description"]).is_visible(), f"{key}: description not shown"
        if field.count():  # the text and number inputs name their helper text
            helper = field.first.get_attribute("aria-describedby")
            if helper:
                assert dialog.locator(f'[id="{helper}"]').inner_text() == spec["description"]
    shot("03_trigger_form")

    # 3. Trigger with overrides.
    label = unique_label("d9")
    dialog.locator('input[name="element_label"]').fill(label)
    dialog.locator('input[name="element_duration_ms"]').fill("90000")
    dialog.locator('input[name="element_epoch_count"]').fill("3")
    shot("04_trigger_form_overridden")
    dialog.get_by_role("button", name="Trigger").last.click()
    page.wait_for_url(lambda url: "/runs/" in url)
    shot("05_run_triggered")
    run_id = urllib.parse.unquote(page.url.split("/runs/", 1)[1].split("/", 1)[0])
    conf = rest.run(DAG_ID, run_id)["conf"]
    assert conf["label"] == label and conf["duration_ms"] == 90000 and conf["epoch_count"] == 3, conf

    # 4. While the tuning task is deferred, its page offers the job link.
    rest.wait_task_state(DAG_ID, run_id, "tune", {"deferred"}, timeout=240)
    [job] = wait_until(lambda: jobs_of(e2e_stack, label), 60, "the tuning job")
    assert job["supervisedTuningSpec"]["hyperParameters"]["epochCount"] in (3, "3"), "override reached the job"
    page.goto(f"{e2e_stack.api_url}/dags/{DAG_ID}/runs/{urllib.parse.quote(run_id, safe='')}/tasks/tune")
    page.get_by_text("Deferred").first.wait_for()
    shot("06_task_deferred")
    page.get_by_role("link", name="Details", exact=True).click()
    link = page.get_by_role("link", name=LINK_NAME)
    link.wait_for()
    shot("07_task_details_with_link")
    href = link.get_attribute("href") or ""
    assert rest.task_instance(DAG_ID, run_id, "tune")["state"] == "deferred", "the link must be there while deferred"
    # The connection points at the emulator: the link opens the emulator's own page of the job, offline.
    assert href == f"{e2e_stack.emulator.api_url}/_emulator/ui/{job['name']}", href
    page.goto(href)
    page.get_by_text(job["name"]).first.wait_for()
    shot("08_emulator_job_page")
    drill.note(screenshots=len(list(SHOTS.glob("*.png"))), link=href[:70] + "...")

    rest.set_task_state(DAG_ID, run_id, "tune", "failed")  # do not leave a 90 s job behind
