"""The main job: bootstrap, then continue from the champion on new data, then skip unchanged data."""

from __future__ import annotations

from pathlib import Path

from tests.examples.conftest import fresh_dag, states, xcom

DATA = Path(__file__).resolve().parents[2] / "demo" / "data"


def test_bootstrap_then_continue_from_champion_then_skip_unchanged(bucket, gemini_conn):
    from airflow_tuning.hooks.tuning import GeminiTuningHook

    hook = GeminiTuningHook()
    bucket.blob("history/history.jsonl").upload_from_filename(str(DATA / "history.jsonl"))

    # Run 1: no champion yet -> tuned from the base model, evaluated against it, promoted.
    first = fresh_dag("gemini_scheduled_retraining").test()
    assert first.state == "success", states(first)
    assert "find_champion" not in states(first)
    assert xcom(first, "tune")["continued_from"] is None
    job1 = xcom(first, "wait_for_tuning")
    assert job1["base_model"] == "gemini-2.5-flash" and not job1["pre_tuned_model"] and not job1["continued_from"]
    eval1 = xcom(first, "evaluate")
    assert eval1["passed"] and eval1["metrics"]["rouge_l"] > eval1["baseline_metrics"]["rouge_l"]
    assert states(first)["promote"] == "success"
    champion = hook.find_model_alias("support-triage")
    assert champion["version"] == job1["tuned_model"]
    # every checkpoint was evaluated; the best became the champion's default checkpoint
    assert [c["epoch"] for c in eval1["checkpoints"]] == list(range(1, len(job1["checkpoints"]) + 1))
    assert eval1["metrics"] == next(c["metrics"] for c in eval1["checkpoints"]
                                    if c["checkpoint_id"] == eval1["best_checkpoint"])
    promoted1 = xcom(first, "promote")
    assert promoted1["checkpoint_id"] == eval1["best_checkpoint"]
    registry = hook.get_model_service_client()
    assert registry.get_model(name=champion["model"]).default_checkpoint_id == eval1["best_checkpoint"]

    # Run 2: new tickets (CSV) land -> continue tuning from models/ID@champion, better, promoted.
    bucket.blob("incoming/new_tickets.csv").upload_from_filename(str(DATA / "new_tickets.csv"))
    second = fresh_dag("gemini_scheduled_retraining").test(run_conf={"epoch_count": 2})
    assert second.state == "success", states(second)
    assert xcom(second, "upload_dataset")["changed"] is True
    job2 = xcom(second, "wait_for_tuning")
    assert job2["continued_from"] == champion["version"] == xcom(second, "tune")["continued_from"]
    started_from = [j for j in gemini_conn.jobs() if j["name"] == job2["tuning_job"]][0]["preTunedModel"]
    assert started_from["checkpointId"] == eval1["best_checkpoint"]
    assert job2["tuned_model"].split("@")[0] == job1["tuned_model"].split("@")[0]  # a new version
    eval2 = xcom(second, "evaluate")
    assert eval2["metrics"]["rouge_l"] > eval2["baseline_metrics"]["rouge_l"]
    assert hook.find_model_alias("support-triage")["version"] == job2["tuned_model"]
    assert states(second)["cancel_unfinished_job"] == "success"  # teardown ran, job had ended: no-op
    assert xcom(second, "cancel_unfinished_job")["state"] == "JOB_STATE_SUCCEEDED"

    # Run 3: nothing new -> same content hash -> everything after the upload is skipped.
    created = gemini_conn.stats()["jobs_created"]
    third = fresh_dag("gemini_scheduled_retraining").test()
    assert third.state == "success", states(third)
    assert xcom(third, "upload_dataset")["changed"] is False
    assert {t: s for t, s in states(third).items() if t not in ("upload_dataset", "data_changed")} == {
        t: "skipped" for t in states(third) if t not in ("upload_dataset", "data_changed")
    }
    assert gemini_conn.stats()["jobs_created"] == created
