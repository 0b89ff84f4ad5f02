"""Model Registry resolution and promotion, and the concurrent generation loop, against the emulator."""

from __future__ import annotations

import asyncio
import json
import logging

import pytest

from airflow_tuning.evaluation.dataset import EvalDataError, parse_eval_lines
from airflow_tuning.evaluation.generation import GenerationError, GenerationRequest, generate_all
from airflow_tuning.evaluation.registry import PromotionError, promote
from airflow_tuning.evaluation.storage import read_eval_dataset
from airflow_tuning.evaluation.targets import ModelResolutionError, resolve_target


@pytest.fixture
def hook(gemini_conn):
    from airflow_tuning.hooks.tuning import GeminiTuningHook

    return GeminiTuningHook()


def _resolve(hook, value, **kw):
    return resolve_target(
        value, project=hook.project, location=hook.location, model_client=hook.get_model_service_client(), **kw
    )


def test_promote_is_idempotent_and_returns_the_previous_holder(hook, emulator, model_family):
    registry = hook.get_model_service_client()
    first = promote(registry, model_family.v1, "canary")
    assert first.changed and first.version == "1"
    emulator.reset_stats()
    again = promote(registry, model_family.v1, "canary")
    assert again.as_dict() == {
        **first.as_dict(),
        "previous_version": "1",
        "previous_model": model_family.v1,
        "changed": False,
    }
    merges = lambda: [r for r in emulator.stats()["requests"] if r.endswith(":mergeVersionAliases")]  # noqa: E731
    assert not merges()
    moved = promote(registry, f"{model_family.model}@2", "canary")
    assert merges()
    assert (moved.version, moved.previous_version, moved.changed) == ("2", "1", True)
    assert registry.get_model(name=f"{model_family.model}@canary").version_id == "2"
    # rollback: promote the previous holder again
    back = promote(registry, moved.previous_model, "canary")
    assert (back.version, back.previous_version) == ("1", "2")
    # a version named by an alias is promoted by its id
    assert promote(registry, f"{model_family.model}@canary", "canary-b").model == model_family.v1


def test_promote_operator_fails_clearly_on_missing_model_or_version(hook, model_family):
    from airflow.sdk.exceptions import AirflowFailException

    from airflow_tuning.operators.evaluation import PromoteTunedModelOperator

    with pytest.raises(AirflowFailException, match=r"Cannot promote .*/models/\d+@99: no such model or version"):
        PromoteTunedModelOperator(task_id="p", model_name=f"{model_family.model}@99").execute({})
    with pytest.raises(AirflowFailException, match="Cannot promote .*/models/123@1: no such model"):
        PromoteTunedModelOperator(task_id="p", model_name="models/123@1").execute({})
    with pytest.raises(AirflowFailException, match="has no version or alias"):
        PromoteTunedModelOperator(task_id="p", model_name=model_family.model).execute({})
    with pytest.raises(PromotionError, match="not a valid Model Registry version alias"):
        PromoteTunedModelOperator(task_id="p", model_name=model_family.v1, alias="Champion!")
    result = PromoteTunedModelOperator(
        task_id="p", model_name=f"models/{model_family.model_id}@1", alias="ops"
    ).execute({})
    assert result["model"] == model_family.v1 and result["alias"] == "ops"


def test_resolve_targets(hook, model_family):
    endpoint_id = model_family.v2_endpoint.rsplit("/", 1)[1]
    by_model = _resolve(hook, f"models/{model_family.model_id}@2")
    assert (by_model.serving, by_model.kind, by_model.model_version) == (
        model_family.v2_endpoint,
        "model",
        model_family.v2,
    )
    assert _resolve(hook, f"endpoints/{endpoint_id}").serving == model_family.v2_endpoint
    assert _resolve(hook, "gemini-2.5-flash").serving == "gemini-2.5-flash"
    assert _resolve(hook, "publishers/google/models/gemini-2.5-flash").kind == "base_model"
    with pytest.raises(ModelResolutionError, match=r"models/\d+@7 does not exist"):
        _resolve(hook, f"{model_family.model}@7")
    with pytest.raises(ModelResolutionError, match="neither an endpoint"):
        _resolve(hook, "projects/p/locations/l/datasets/1")
    with pytest.raises(ModelResolutionError, match="non-empty string"):
        _resolve(hook, " ")


def test_missing_eval_data_is_a_clear_error(hook, model_family):
    with pytest.raises(EvalDataError, match="gs://evaluation-tests/data/nope.jsonl does not exist"):
        read_eval_dataset(hook.get_storage_client(), "gs://evaluation-tests/data/nope.jsonl")


def _examples(n):
    lines = [
        json.dumps(
            {"contents": [{"role": "user", "parts": [{"text": f"q{i}"}]}, {"role": "model", "parts": [{"text": "a"}]}]}
        )
        for i in range(n)
    ]
    return parse_eval_lines(lines, "gs://b/e.jsonl")


def test_a_call_that_keeps_failing_names_the_example_and_stops_the_rest(hook, emulator):
    examples = _examples(5)
    bad = f"projects/{hook.project}/locations/{hook.location}/endpoints/404404"
    requests = [GenerationRequest("gemini-2.5-flash", ex) for ex in examples[:4]] + [
        GenerationRequest(bad, examples[4])
    ]

    async def run():
        aio = hook.get_async_genai_client()
        try:
            return await generate_all(aio, requests, source="gs://b/e.jsonl", log=logging.getLogger("t"))
        finally:
            await aio.aclose()

    with pytest.raises(
        GenerationError, match=r"gs://b/e.jsonl line 5: generateContent on .*/endpoints/404404 failed.*404"
    ):
        asyncio.run(run())


def test_progress_is_logged_at_a_steady_cadence_while_calls_run(hook, emulator, caplog):
    examples = _examples(12)
    emulator.set_faults([{"route": r"^POST .*gemini-2.5-flash:generateContent$", "latency_ms": 100}])
    log = logging.getLogger("progress-test")

    async def run():
        aio = hook.get_async_genai_client()
        try:
            return await generate_all(
                aio,
                [GenerationRequest("gemini-2.5-flash", ex) for ex in examples],
                source="gs://b/e.jsonl",
                max_concurrency=2,
                log=log,
                progress_interval=0.15,
            )
        finally:
            await aio.aclose()

    try:
        with caplog.at_level(logging.INFO, logger="progress-test"):
            predictions = asyncio.run(run())
    finally:
        emulator.clear_faults()
    assert len(predictions) == 12 and all(p.startswith("As gemini-2.5-flash") for p in predictions)
    lines = [
        r.getMessage() for r in caplog.records if r.name == "progress-test" and r.getMessage().startswith("Evaluated")
    ]
    # 12 calls, two at a time, 0.1 s each: about 0.6 s, so several interim lines and a final one
    assert len(lines) >= 3, lines
    assert lines[-1].startswith("Evaluated 12/12 generations (100.0%)")
    interim = lines[0]
    assert "/12 generations (" in interim and "/s, ETA " in interim
    done = [int(line.split()[1].split("/")[0]) for line in lines]
    assert done == sorted(done) and done[0] < 12
