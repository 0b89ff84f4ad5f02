"""Drill 9b: a person approves (or rejects) a promotion, and a rollback restores the previous champion.

The shipped ``gemini_scheduled_retraining`` with ``require_approval=true`` on the real stack:

1. the run stops at ``approve``: parked waiting for input, no worker slot held (the default pool has no
   running slot), the Required Actions page shows the body (challenger vs champion, cost, report), saved as
   a screenshot; approving through the REST API the UI uses lets ``promote`` move the alias, and the new
   version's description in the Model Registry names the approver;
2. a second run is rejected: ``promote`` is skipped and the alias does not move;
3. ``gemini_rollback_champion`` moves the alias back to the champion from before step 1.
"""

from __future__ import annotations

import urllib.parse
from pathlib import Path

import pytest

from airflow_tuning.evaluation.promotion_record import parse_description
from tests.e2e.harness.airflow_stack import EXAMPLE_BUCKET, USERNAME
from tests.e2e.harness.drills import ready_dag, wait_until
from tests.e2e.test_d9_ui import SHOTS, browser_page  # noqa: F401 - the shared Chromium fixture

DAG_ID = "gemini_scheduled_retraining"
ROLLBACK_DAG = "gemini_rollback_champion"
DATA = Path(__file__).resolve().parents[2] / "demo" / "data"
CONF = {"require_approval": True, "force_retrain": True, "min_improvement": -1.0, "epoch_count": 1}
WAITING = {"awaiting_input", "deferred"}  # 3.3 parks HITL tasks in awaiting_input; 3.1/3.2 defer them


def _states(rest, dag_id: str, run_id: str) -> dict[str, str]:
    return {ti["task_id"]: ti["state"] for ti in rest.task_instances(dag_id, run_id)}


def _idle(rest) -> bool:
    return not any(r["state"] in ("queued", "running") for r in rest.runs(DAG_ID))


def _hitl(rest, run_id: str) -> dict:
    run = urllib.parse.quote(run_id, safe="")
    return rest.json("GET", f"/api/v2/dags/{DAG_ID}/dagRuns/{run}/taskInstances/approve/-1/hitlDetails")


def _respond(rest, run_id: str, option: str) -> dict:
    run = urllib.parse.quote(run_id, safe="")
    return rest.json("PATCH", f"/api/v2/dags/{DAG_ID}/dagRuns/{run}/taskInstances/approve/-1/hitlDetails",
                     json={"chosen_options": [option], "params_input": {}})


@pytest.fixture
def registry(e2e_stack, monkeypatch):
    """The Model Registry of the stack's emulator, read through the real client like the workers do."""
    monkeypatch.setenv("AIRFLOW_CONN_GEMINI_TUNING_DEFAULT", e2e_stack.emulator.connection_json())
    from airflow_tuning.hooks.tuning import GeminiTuningHook

    return GeminiTuningHook()


def _champion(hook) -> str | None:
    found = hook.find_model_alias("support-triage", "champion")
    return found["version"] if found else None


def _wait_for_approval_step(rest, run_id: str, stack=None) -> dict:
    def parked():
        states = _states(rest, DAG_ID, run_id)
        assert states.get("promote") not in ("success", "failed"), states
        return states.get("approve") in WAITING and states

    states = wait_until(parked, 420, f"{run_id} to wait for approval", interval=1.0)
    if stack is not None:
        _wait_paused_try_settled(stack, run_id)
    return states


def _wait_paused_try_settled(stack, run_id: str) -> None:
    """Until the scheduler has processed the executor's event for the try that paused for input.

    A person takes seconds to answer. An answer sent within about a second of the pause can reach Airflow
    3.3 before the scheduler has handled that try's executor event; the scheduler then sees the resumed task
    queued while its executor reports the paused try done, and fails the task ("state changed externally").
    That is Airflow's race, not the provider's, so the drill answers once the scheduler's log shows the event.
    """
    marker = f"task_id='approve', run_id='{run_id}'"
    log = stack.root / "scheduler.log"

    def settled() -> bool:
        text = log.read_text(errors="replace") if log.exists() else ""
        return any("Received executor event" in line and marker in line for line in text.splitlines())

    wait_until(settled, 120, f"the scheduler to handle the paused try of {run_id}", interval=0.5)


@pytest.mark.drill(name="9b approval: wait without a slot, approve, reject, rollback")
@pytest.mark.timeout(1500)
def test_approval_then_rejection_then_rollback(e2e_stack, drill, registry, browser_page):  # noqa: F811
    rest, emulator, page = e2e_stack.rest, e2e_stack.emulator, browser_page
    emulator.upload_text(EXAMPLE_BUCKET, "history/history.jsonl", (DATA / "history.jsonl").read_text())
    ready_dag(e2e_stack, DAG_ID)
    ready_dag(e2e_stack, ROLLBACK_DAG)
    wait_until(lambda: _idle(rest), 600, "earlier runs of the retraining DAG to finish", interval=2.0)
    if _champion(registry) is None:  # a stack without drill 1b: bootstrap a champion without approval
        first = rest.trigger(DAG_ID, {"require_approval": False, "force_retrain": True})["dag_run_id"]
        assert rest.wait_run(DAG_ID, first, timeout=420)["state"] == "success", _states(rest, DAG_ID, first)
    before = _champion(registry)
    assert before is not None

    # 1. Waits for a person, holding no worker slot; the body says what the reviewer needs; approved.
    approved_run = rest.trigger(DAG_ID, CONF)["dag_run_id"]
    _wait_for_approval_step(rest, approved_run)
    pool = rest.json("GET", "/api/v2/pools/default_pool")
    assert pool["running_slots"] == 0, pool
    assert _champion(registry) == before, "nothing may change before the approval"
    detail = _hitl(rest, approved_run)
    body = detail["body"]
    for expected in ("Challenger vs champion", "| rouge_l |", "Estimated before the job: $",
                     "Actual, from the job's tuningDataStats: $", "Evaluation report", "@champion"):
        assert expected in body, f"{expected!r} missing from the approval body:\n{body}"
    assert detail["options"] == ["Approve", "Reject"] and not detail["response_received"]

    SHOTS.mkdir(parents=True, exist_ok=True)
    page.goto(f"{e2e_stack.api_url}/auth/login?next=%2Fdags%2F{DAG_ID}")
    page.get_by_label("Username").fill(USERNAME)
    from tests.e2e.harness.airflow_stack import PASSWORD

    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(lambda url: "/auth/login" not in url)
    quoted = urllib.parse.quote(approved_run, safe="")
    page.goto(f"{e2e_stack.api_url}/dags/{DAG_ID}/runs/{quoted}/tasks/approve/required_actions")
    page.get_by_text("Challenger vs champion").first.wait_for()
    page.get_by_role("button", name="Approve").first.wait_for()
    page.screenshot(path=str(SHOTS / "10_approval_required_action.png"), full_page=True)

    response = _respond(rest, approved_run, "Approve")
    assert response["responded_by"]["name"] == USERNAME
    run = rest.wait_run(DAG_ID, approved_run, timeout=300)
    states = _states(rest, DAG_ID, approved_run)
    assert run["state"] == "success" and states["promote"] == "success", states
    challenger = rest.xcom(DAG_ID, approved_run, "wait_for_tuning")["tuned_model"]
    assert _champion(registry) == challenger != before
    version = registry.get_model_service_client().get_model(name=challenger)
    _, events = parse_description(version.version_description)
    assert events[-1].by == f"approver {USERNAME}" and events[-1].run_id == approved_run
    assert events[-1].previous_model == before

    # 2. Rejected: promotion skipped, the alias stays.
    rejected_run = rest.trigger(DAG_ID, CONF)["dag_run_id"]
    _wait_for_approval_step(rest, rejected_run, e2e_stack)
    _respond(rest, rejected_run, "Reject")
    rest.wait_run(DAG_ID, rejected_run, timeout=300)
    states = _states(rest, DAG_ID, rejected_run)
    assert states["approve"] == "success" and states["promote"] == "skipped", states
    assert _champion(registry) == challenger

    # 3. Rollback: the champion from before the approved promotion is back.
    rollback_run = rest.trigger(ROLLBACK_DAG, {"reason": "drill 9b"})["dag_run_id"]
    run = rest.wait_run(ROLLBACK_DAG, rollback_run, timeout=180)
    assert run["state"] == "success", _states(rest, ROLLBACK_DAG, rollback_run)
    assert _champion(registry) == before
    result = rest.xcom(ROLLBACK_DAG, rollback_run, "rollback")
    assert result["changed"] and result["rolled_back_from"] == challenger
    drill.note(approved=challenger.rsplit("/", 1)[-1], restored=before.rsplit("/", 1)[-1])
