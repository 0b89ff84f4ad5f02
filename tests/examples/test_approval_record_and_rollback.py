"""Who promoted, recorded in the Model Registry; one-step rollback to the previous champion.

The shipped retraining DAG runs twice without approval (the automatic gate decides), then
``gemini_rollback_champion`` restores the first champion and its default checkpoint from what the second
promotion recorded. Its own emulator: the DAG's model name is fixed, and the other example tests expect a
registry without it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from airflow_tuning.evaluation.promotion_record import AUTOMATIC_GATE, parse_description
from tests.examples.conftest import BUCKET, fresh_dag, states, xcom

DATA = Path(__file__).resolve().parents[2] / "demo" / "data"


@pytest.fixture
def private_emulator(airflow_db, monkeypatch):
    from airflow_tuning.emulator import Emulator
    from airflow_tuning.hooks.tuning import GeminiTuningHook

    with Emulator(job_duration=1.5) as emu:
        monkeypatch.setenv("AIRFLOW_CONN_GEMINI_TUNING_DEFAULT", emu.connection_json())
        GeminiTuningHook.forget_async_clients()
        emu.create_bucket(BUCKET)
        yield emu
        GeminiTuningHook.forget_async_clients()


def _version(name: str):
    from airflow_tuning.hooks.tuning import GeminiTuningHook

    return GeminiTuningHook().get_model_service_client().get_model(name=name)


def test_promotions_are_recorded_and_rollback_restores_the_previous_champion(private_emulator):
    from airflow_tuning.hooks.tuning import GeminiTuningHook

    hook = GeminiTuningHook()
    bucket = private_emulator.storage_client().bucket(BUCKET)
    bucket.blob("history/history.jsonl").upload_from_filename(str(DATA / "history.jsonl"))

    first = fresh_dag("gemini_scheduled_retraining").test(run_conf={"require_approval": False})
    assert first.state == "success", states(first)
    assert states(first)["approve"] == "skipped" and states(first)["automatic_gate"] == "success"
    v1 = xcom(first, "wait_for_tuning")["tuned_model"]
    assert hook.find_model_alias("support-triage")["version"] == v1
    # The budget estimate and the job's own cost travel with the run.
    estimate = xcom(first, "tune", "cost_estimate")
    assert estimate["max_cost_usd"] == 50.0 and estimate["cost_usd"] > 0
    assert xcom(first, "wait_for_tuning")["cost"]["cost_usd"] > 0

    _, events = parse_description(_version(v1).version_description)
    [event] = events
    assert event.kind == "promotion" and event.by == AUTOMATIC_GATE and event.previous_model is None
    assert event.run_id == first.run_id and event.dag_id == "gemini_scheduled_retraining"
    assert event.evaluation["metrics"]["rouge_l"] == xcom(first, "evaluate")["metrics"]["rouge_l"]
    assert xcom(first, "promote")["record"]["model"] == v1

    # Nothing earlier than the first champion: a rollback refuses and changes nothing.
    refused = fresh_dag("gemini_rollback_champion").test()
    assert states(refused)["rollback"] == "failed"
    assert hook.find_model_alias("support-triage")["version"] == v1

    bucket.blob("incoming/new_tickets.csv").upload_from_filename(str(DATA / "new_tickets.csv"))
    second = fresh_dag("gemini_scheduled_retraining").test(run_conf={"epoch_count": 2, "require_approval": False})
    assert second.state == "success", states(second)
    v2 = xcom(second, "wait_for_tuning")["tuned_model"]
    assert hook.find_model_alias("support-triage")["version"] == v2 != v1
    # The continuation's budget priced the champion's base model, read from its registry label.
    continued = xcom(second, "tune", "cost_estimate")
    assert continued["base_model"] == "gemini-2.5-flash" and "UploadDatasetOperator" in continued["token_source"]
    _, events = parse_description(_version(v2).version_description)
    assert events[-1].previous_model == v1 and events[-1].run_id == second.run_id
    recorded_checkpoint = events[-1].previous_checkpoint_id
    assert recorded_checkpoint == _version(v1).default_checkpoint_id

    # Someone changes v1's default checkpoint meanwhile: the rollback restores the recorded one.
    from google.cloud import aiplatform_v1

    other = next(c.checkpoint_id for c in _version(v1).checkpoints if c.checkpoint_id != recorded_checkpoint)
    hook.get_model_service_client().update_model(
        model=aiplatform_v1.Model(name=v1, default_checkpoint_id=other),
        update_mask={"paths": ["default_checkpoint_id"]},
    )
    assert _version(v1).default_checkpoint_id == other

    rolled = fresh_dag("gemini_rollback_champion").test(run_conf={"reason": "complaints about P1 tickets"})
    assert states(rolled)["rollback"] == "success"
    result = xcom(rolled, "rollback")
    assert result["changed"] and result["model"] == v1 and result["rolled_back_from"] == v2
    assert hook.find_model_alias("support-triage")["version"] == v1
    restored = _version(v1)
    assert result["checkpoint_id"] == restored.default_checkpoint_id == events[-1].previous_checkpoint_id
    _, events_v1 = parse_description(restored.version_description)
    assert [e.kind for e in events_v1] == ["promotion", "rollback"]
    assert events_v1[-1].reason == "complaints about P1 tickets" and events_v1[-1].previous_model == v2

    # Idempotent: a second rollback run changes nothing.
    again = fresh_dag("gemini_rollback_champion").test()
    assert states(again)["rollback"] == "success" and xcom(again, "rollback")["changed"] is False
    assert hook.find_model_alias("support-triage")["version"] == v1
