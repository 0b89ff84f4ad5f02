"""The operators end to end on the emulator: dag.test() runs through the real google clients."""

from __future__ import annotations

import asyncio
import json
import logging

import pytest

from airflow_tuning.common.console import emulator_report_url
from tests.evaluation.conftest import task_state, xcom

BUILTINS = ("exact_match", "token_f1", "rouge_l", "bleu")
GENERATE_ROUTE = r"^POST .*:generateContent$"


def _short(name: str) -> str:
    """``projects/P/locations/L/models/ID@V`` -> ``models/ID@V`` (read in the connection's project)."""
    return name[name.index("models/") :]


def _direct_metrics(model_name: str, eval_uri: str) -> dict[str, float]:
    """The same evaluation through the core functions, with no faults: the reference for the faulted run."""
    from airflow_tuning.evaluation.generation import GenerationRequest, generate_all
    from airflow_tuning.evaluation.metrics import resolve_metrics, score
    from airflow_tuning.evaluation.storage import read_eval_dataset
    from airflow_tuning.evaluation.targets import resolve_target
    from airflow_tuning.hooks.tuning import GeminiTuningHook
    from tests.dags.evaluation_gate import answer_length

    hook = GeminiTuningHook()
    examples = read_eval_dataset(hook.get_storage_client(), eval_uri)
    target = resolve_target(
        model_name, project=hook.project, location=hook.location, model_client=hook.get_model_service_client()
    )

    async def run():
        aio = hook.get_async_genai_client()
        try:
            return await generate_all(
                aio,
                [GenerationRequest(target.serving, ex) for ex in examples],
                source=eval_uri,
                log=logging.getLogger(__name__),
            )
        finally:
            await aio.aclose()

    predictions = asyncio.run(run())
    metrics = resolve_metrics([*BUILTINS, answer_length])
    return score(predictions, [ex.reference for ex in examples], metrics).corpus


def test_gate_passes_for_tuned_model_over_base_and_fails_strict_thresholds_under_429s(
    airflow_db, fast_retry_conn, model_family
):
    from tests.dags import evaluation_gate

    emulator = fast_retry_conn
    emulator.reset_stats()
    emulator.set_faults([{"route": GENERATE_ROUTE, "rate": 0.1, "status": 429}], seed=7)
    try:
        run = evaluation_gate.dag.test(
            run_conf={
                "model": _short(model_family.v2),
                "weak_model": model_family.v1_endpoint,
                "eval_dataset_uri": model_family.eval_uri,
                "thresholds": {"rouge_l": 0.6, "token_f1": 0.6},
            }
        )
        stats = emulator.stats()
    finally:
        emulator.clear_faults()
    assert stats["faults_by_kind"].get("429", 0) >= 5, stats

    # -- the tuned model against the base model: passes, and beats it on every metric
    assert task_state(run, "evaluate_vs_base") == "success"
    result = xcom(run, "evaluate_vs_base")
    assert set(result) == {"metrics", "baseline_metrics", "delta", "passed", "examples", "report_uri"}
    assert result["passed"] is True and result["examples"] == 40
    assert set(result["metrics"]) == {*BUILTINS, "answer_length"}
    for name in BUILTINS:
        assert result["metrics"][name] > result["baseline_metrics"][name], name
        assert result["delta"][name] == pytest.approx(result["metrics"][name] - result["baseline_metrics"][name])
    assert result["delta"]["rouge_l"] >= 0.2
    assert result["metrics"]["rouge_l"] >= 0.6

    # -- same metrics as without faults: retries changed nothing but the timing
    assert result["metrics"] == pytest.approx(_direct_metrics(model_family.v2, model_family.eval_uri))

    # -- the report: next to the eval data, JSON and HTML, numbers as in the XCom, linked from the task
    storage = emulator.storage_client()
    html_uri = result["report_uri"]
    assert html_uri.startswith("gs://evaluation-tests/data/reports/") and html_uri.endswith(
        "/evaluate_vs_base/report.html"
    )
    bucket, html_name = html_uri[5:].split("/", 1)
    page = storage.bucket(bucket).blob(html_name).download_as_text()
    report = json.loads(storage.bucket(bucket).blob(html_name.replace("report.html", "report.json")).download_as_text())
    assert report["metrics"] == result["metrics"] and report["baseline_metrics"] == result["baseline_metrics"]
    assert len(report["predictions"]) == 40
    # worst examples list only examples that lost something (below 1.0 or below the baseline)
    lost = [p["line"] for p in report["predictions"] if p["scores"]["rouge_l"] < 1.0]
    worst = [w["line"] for w in report["worst_examples"]]
    assert set(worst) <= set(lost) and len(worst) == min(5, len(lost))
    for name, value in result["metrics"].items():
        assert f"{value:.4f}" in page
        assert f"{result['baseline_metrics'][name]:.4f}" in page
        assert f"{result['delta'][name]:+.4f}" in page
    assert "PASSED" in page and "<svg" in page
    # The connection points at the emulator: the link opens the rendered report there, offline.
    link = xcom(run, "evaluate_vs_base", key="evaluation_report")
    assert link == emulator_report_url(emulator.api_url, html_uri)
    import httpx

    served = httpx.get(link, timeout=30)
    assert served.status_code == 200 and served.headers["content-type"].startswith("text/html")
    assert served.text == page

    # -- the weak model under strict thresholds: the task fails, the result and the report are still there
    assert task_state(run, "evaluate_strict") == "failed"
    assert run.state == "failed"
    failed = xcom(run, "evaluate_strict", key="evaluation_result")
    assert failed["passed"] is False and failed["baseline_metrics"] is None
    assert failed["metrics"]["rouge_l"] < 0.9
    assert failed["metrics"]["rouge_l"] < result["metrics"]["rouge_l"]
    assert xcom(run, "evaluate_strict") is None
    assert failed["report_uri"].startswith("gs://evaluation-tests/strict-reports/")
    strict_name = failed["report_uri"][5:].split("/", 1)[1]
    assert "FAILED" in storage.bucket(bucket).blob(strict_name).download_as_text()


def test_promotion_moves_champion_to_a_better_model_and_never_to_a_worse_one(airflow_db, gemini_conn, model_family):
    from airflow_tuning.evaluation.registry import promote
    from airflow_tuning.evaluation.targets import resolve_target
    from airflow_tuning.hooks.tuning import GeminiTuningHook
    from tests.dags import evaluation_promotion

    hook = GeminiTuningHook()
    registry = hook.get_model_service_client()
    champion = f"{model_family.model}@champion"
    promote(registry, model_family.v1, "champion")
    assert registry.get_model(name=champion).version_id == "1"

    # v2 knows everything v1 knows and more: it is promoted
    conf = {"challenger": model_family.v2, "model": model_family.model, "eval_dataset_uri": model_family.eval_uri}
    run = evaluation_promotion.dag.test(run_conf=conf)
    assert run.state == "success"
    assert task_state(run, "evaluate") == "success" and task_state(run, "promote") == "success"
    promoted = xcom(run, "promote")
    record = promoted.pop("record")  # who promoted and why, also written on the version in the registry
    assert record["by"] == "automatic gate" and record["previous_model"] == model_family.v1
    assert promoted == {
        "model": model_family.v2,
        "alias": "champion",
        "version": "2",
        "previous_version": "1",
        "previous_model": model_family.v1,
        "changed": True,
    }
    assert registry.get_model(name=champion).version_id == "2"
    resolved = resolve_target(
        f"models/{model_family.model_id}@champion", project=hook.project, location=hook.location, model_client=registry
    )
    assert resolved.serving == model_family.v2_endpoint and resolved.model_version == model_family.v2

    # v1 against the new champion: worse, so the evaluation skips and the promotion never runs
    run = evaluation_promotion.dag.test(run_conf={**conf, "challenger": model_family.v1})
    assert task_state(run, "evaluate") == "skipped" and task_state(run, "promote") == "skipped"
    skipped = xcom(run, "evaluate", key="evaluation_result")
    assert skipped["passed"] is False and skipped["delta"]["rouge_l"] < 0
    assert registry.get_model(name=champion).version_id == "2"
