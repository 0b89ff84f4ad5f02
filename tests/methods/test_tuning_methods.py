"""Preference tuning and distillation through the operators, inside ``dag.test()``, against the emulator and
through the real google-genai client: what is sent, what is refused before any call, what the model learns."""

from __future__ import annotations

import json
import logging

import pytest

from airflow_tuning.jobs.summary import SUMMARY_KEYS
from tests.dag_results import xcom
from tests.methods.conftest import QUESTIONS, chosen, rejected

pytestmark = pytest.mark.usefixtures("airflow_db", "gemini_conn")


_CLIENTS: list = []


def _client():
    """One client for the module: a google-genai client closes its transport when garbage-collected."""
    if not _CLIENTS:
        from airflow_tuning.hooks.tuning import GeminiTuningHook

        _CLIENTS.append(GeminiTuningHook().get_genai_client())
    return _CLIENTS[0]


def _answer(model: str, prompt: str) -> str:
    return _client().models.generate_content(model=model, contents=prompt).text


def _supervised_model(method_data, test_id: str) -> str:
    """A supervised model tuned (through the SDK, as a user would) on plain answers plus one extra fact."""
    from airflow_tuning.backends.vertex.jobs import start_tuning_job
    from airflow_tuning.jobs.request import TuningRequest
    from tests.emulator.helpers import wait_ended

    request = TuningRequest.build(
        base_model="gemini-2.5-flash", training_dataset_uri=method_data["supervised"], epoch_count=1,
        labels={"emulator-duration-ms": "600", "methods-test": test_id},
    )
    job = wait_ended(_client(), start_tuning_job(_client(), request).name)
    assert job.state.name == "JOB_STATE_SUCCEEDED"
    return job.tuned_model.model


def test_preference_job_sends_its_spec_reports_its_stats_and_learns_the_chosen_answers(emulator, method_data, test_id):
    from tests.dags import method_tuning

    run = method_tuning.preference_dag.test(run_conf={"train": method_data["preference"], "test_id": test_id})
    assert run.state == "success", xcom(run, "tune", "failure")
    summary = xcom(run, "tune")
    assert tuple(summary) == SUMMARY_KEYS
    assert summary["tuning_method"] == "preference"
    assert summary["training_dataset_uri"] == method_data["preference"]
    stats_summary = summary["tuning_data_stats"]
    assert stats_summary["method"] == "preference"
    assert stats_summary["preferenceOptimizationDataStats"]["tuningDatasetExampleCount"] == len(QUESTIONS)
    (job,) = emulator.jobs(labels={"methods-test": test_id})
    assert "supervisedTuningSpec" not in job
    spec = job["preferenceOptimizationSpec"]
    assert spec["trainingDatasetUri"] == method_data["preference"]
    hyper = spec["hyperParameters"]
    assert (hyper["beta"], int(hyper["epochCount"]), hyper["adapterSize"], hyper["learningRateMultiplier"]) == (
        0.2, 2, "ADAPTER_SIZE_FOUR", 1.5
    )
    stats = job["tuningDataStats"]["preferenceOptimizationDataStats"]
    assert int(stats["tuningDatasetExampleCount"]) == len(QUESTIONS)
    sdk_stats = _client().tunings.get(name=job["name"]).tuning_data_stats.preference_optimization_data_stats
    assert sdk_stats.tuning_dataset_example_count == len(QUESTIONS)
    for i, question in enumerate(QUESTIONS):
        answer = _answer(summary["endpoint"], question + "?")
        assert answer == chosen(i) and answer != rejected(i)


def test_preference_continued_from_a_supervised_checkpoint_keeps_what_it_knew(emulator, method_data, test_id):
    from tests.dags import method_tuning

    supervised = _supervised_model(method_data, test_id)
    assert _answer(supervised, QUESTIONS[0]) == "Plain answer 0"
    run = method_tuning.continue_dag.test(
        run_conf={"train": method_data["preference"], "test_id": test_id, "pre_tuned_model": supervised}
    )
    assert run.state == "success", xcom(run, "tune", "failure")
    summary = xcom(run, "tune")
    assert summary["tuning_method"] == "preference" and summary["continued_from"].startswith(supervised)
    assert _answer(summary["endpoint"], QUESTIONS[0]) == chosen(0)
    assert _answer(summary["endpoint"], "What is the capital of Atlantis?") == "Poseidonia"


def test_distilled_student_answers_what_the_teacher_would(emulator, method_data, test_id):
    from tests.dags import method_tuning

    run = method_tuning.distillation_dag.test(run_conf={"train": method_data["prompts"], "test_id": test_id})
    assert run.state == "success", xcom(run, "tune", "failure")
    summary = xcom(run, "tune")
    assert summary["tuning_method"] == "distillation"
    assert summary["tuning_data_stats"]["method"] == "distillation"
    assert summary["tuning_data_stats"]["distillationDataStats"]["tuningDatasetExampleCount"] == len(QUESTIONS)
    assert summary["training_dataset_uri"] == method_data["prompts"]
    (job,) = emulator.jobs(labels={"methods-test": test_id})
    spec = job["distillationSpec"]
    assert spec["baseTeacherModel"] == "gemini-3.1-pro" and spec["promptDatasetUri"] == method_data["prompts"]
    assert spec["hyperParameters"]["sftLossWeightMultiplier"] == 0.5
    stats = job["tuningDataStats"]["distillationDataStats"]["trainingDatasetStats"]
    assert int(stats["tuningDatasetExampleCount"]) == len(QUESTIONS)
    teacher = _answer("gemini-3.1-pro", QUESTIONS[2])
    assert _answer(summary["endpoint"], QUESTIONS[2]) == teacher
    assert _answer("gemini-2.5-flash", QUESTIONS[2]) != teacher


def test_preference_job_on_supervised_data_is_refused_before_any_call(emulator, method_data, test_id):
    from tests.dags import method_tuning

    created = emulator.stats()["jobs_created"]
    for data in ("supervised", "trl"):
        run = method_tuning.preference_dag.test(run_conf={"train": method_data[data], "test_id": test_id})
        assert run.state == "failed"
        failure = xcom(run, "tune", "failure")
        assert "training_dataset_uri" in failure and f"{method_data[data]}:1" in failure
        assert "not preference data" in failure
    assert run.get_task_instance("tune").try_number == 1  # a bad request is not retried
    assert emulator.stats()["jobs_created"] == created


@pytest.mark.parametrize(("data", "line"), [("preference_bad", "line 4"), ("prompts_bad", "line 2")])
def test_bad_method_data_fails_the_job_naming_file_and_line(emulator, method_data, test_id, data, line):
    from tests.dags import method_tuning

    dag = method_tuning.preference_dag if data.startswith("preference") else method_tuning.distillation_dag
    if data == "prompts_bad":  # the pre-flight check reads only the first lines; make it pass them
        pytest.importorskip("airflow_tuning.dataset.preference")
    run = dag.test(run_conf={"train": method_data[data], "test_id": test_id})
    assert run.state == "failed"
    failure = xcom(run, "tune", "failure")
    assert method_data[data] in failure and (line in failure or f"{method_data[data]}:2" in failure)


@pytest.mark.parametrize(
    ("kwargs", "named"),
    [
        ({"beta": 0.1}, "beta"),
        ({"method": "preference", "base_teacher_model": "gemini-3.1-pro"}, "base_teacher_model"),
        ({"method": "preference", "sft_loss_weight_multiplier": 1}, "sft_loss_weight_multiplier"),
        ({"method": "distillation", "beta": 0.1, "base_teacher_model": "gemini-3.1-pro"}, "beta"),
        ({"method": "distillation"}, "base_teacher_model"),
        ({"method": "distillation", "base_teacher_model": "gemini-3.1-pro",
          "tuned_teacher_model_source": "projects/p/locations/l/models/1"}, "tuned_teacher_model_source"),
        ({"method": "distillation", "tuned_teacher_model_source": "not-a-model"}, "tuned_teacher_model_source"),
        ({"method": "preference", "beta": "-1"}, "beta"),
        ({"method": "reinforcement"}, "method"),
    ],
)
def test_arguments_that_do_not_fit_the_method_are_refused_when_the_dag_is_parsed(kwargs, named):
    from airflow_tuning.operators.tuning import CreateTuningJobOperator

    with pytest.raises(ValueError, match=named):
        CreateTuningJobOperator(
            task_id="t", base_model="gemini-2.5-flash", training_dataset_uri="gs://b/t.jsonl", **kwargs
        )


def test_gemini_api_refuses_other_methods():
    from airflow_tuning.operators.tuning import CreateTuningJobOperator

    with pytest.raises(ValueError, match="method"):
        CreateTuningJobOperator(
            task_id="t", backend="gemini_api", base_model="models/gemini-2.5-flash",
            training_examples=[["a", "b"]], method="preference",
        )


def test_method_is_part_of_the_fingerprint_and_supervised_hashes_as_before():
    from airflow_tuning.jobs.identity import request_fingerprint
    from airflow_tuning.jobs.request import TuningRequest

    base = {"base_model": "gemini-2.5-flash", "training_dataset_uri": "gs://b/t.jsonl", "epoch_count": 2}
    supervised = TuningRequest.build(**base).fingerprint_payload()
    assert set(supervised) == {
        "base_model", "pre_tuned_model", "checkpoint_id", "training_dataset_uri", "validation_dataset_uri",
        "epoch_count", "learning_rate_multiplier", "adapter_size", "tuned_model_display_name", "description",
        "evaluation_config", "export_last_checkpoint_only", "method",
    } and supervised["method"] is None
    prints = {
        request_fingerprint(TuningRequest.build(**base, **extra).fingerprint_payload())
        for extra in ({}, {"method": "preference"}, {"method": "preference", "beta": 0.5},
                      {"method": "distillation", "base_teacher_model": "gemini-3.1-pro"},
                      {"method": "distillation", "base_teacher_model": "gemini-2.5-pro"})
    }
    assert len(prints) == 5


def test_a_retry_of_a_preference_task_reattaches_instead_of_paying_twice(emulator, method_data, test_id):
    from airflow_tuning.backends import tuning_service
    from airflow_tuning.backends.base import TaskRef

    service = tuning_service("vertex")
    arguments = {"base_model": "gemini-2.5-flash", "training_dataset_uri": method_data["preference"],
                 "method": "preference", "beta": 0.3,
                 "labels": {"emulator-duration-ms": "3000", "methods-test": test_id}}
    task = TaskRef(dag_id="d", task_id="t", run_id=f"r-{test_id}", map_index=-1)
    from airflow_tuning.hooks.tuning import GeminiTuningHook

    hook = GeminiTuningHook()
    submission = service.prepare(arguments, task, lambda uri: hook.open_object(uri))
    first = service.submit(_client(), submission, retry=hook.settings.retry, log=logging.getLogger("test"))
    again = service.prepare(arguments, task, lambda uri: hook.open_object(uri))
    second = service.submit(_client(), again, retry=hook.settings.retry, log=logging.getLogger("test"))
    assert first.name == second.name
    assert len(emulator.jobs(labels={"methods-test": test_id})) == 1
    service.cancel(_client(), first.name, logging.getLogger("test"))


def test_distillation_from_a_tuned_teacher_learns_what_that_model_answers(emulator, method_data, test_id):
    from airflow_tuning.backends.vertex.jobs import start_tuning_job
    from airflow_tuning.jobs.request import TuningRequest
    from tests.emulator.helpers import upload, wait_ended

    teacher = _supervised_model(method_data, test_id)
    client = _client()
    prompts = upload(client_storage(), "method-tests", f"{test_id}/prompts.jsonl",
                     json.dumps({"contents": [{"role": "user", "parts": [{"text": "capital of Atlantis"}]}]}) + "\n")
    request = TuningRequest.build(
        base_model="gemini-2.5-flash", training_dataset_uri=prompts, method="distillation",
        tuned_teacher_model_source=teacher, labels={"emulator-duration-ms": "600", "methods-test": test_id},
    )
    job = wait_ended(client, start_tuning_job(client, request).name)
    assert job.state.name == "JOB_STATE_SUCCEEDED", job.error
    assert job.distillation_spec.tuned_teacher_model_source == teacher
    assert _answer(job.tuned_model.endpoint, "capital of Atlantis") == "Poseidonia"


def client_storage():
    from airflow_tuning.hooks.tuning import GeminiTuningHook

    return GeminiTuningHook().get_storage_client()
