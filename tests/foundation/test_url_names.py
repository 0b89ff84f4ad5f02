"""Names that become part of a request path are checked against the resource grammar before any call."""

from __future__ import annotations

import json

import pytest

from airflow_tuning.backends.gemini_api.jobs import qualify_name
from airflow_tuning.backends.vertex.jobs import qualify_job_name
from airflow_tuning.common.connection import ConnectionConfigError
from airflow_tuning.common.names import parse_endpoint_name, parse_model_name, parse_tuning_job_name
from airflow_tuning.jobs.identity import validate_labels
from airflow_tuning.jobs.request import TuningRequest

HOSTILE_IDS = ["123?alt=sse&x=1", "123#", "..", "1/../2", "12 3", "12\n3", "12%2F3", "123:cancel", "a@b", ""]


@pytest.mark.parametrize("job_id", HOSTILE_IDS)
def test_a_job_id_cannot_inject_a_path_query_or_fragment(job_id):
    with pytest.raises(ValueError, match="tuning_job_name"):
        qualify_job_name(job_id, "my-project", "us-central1")
    with pytest.raises(ValueError, match="not a valid resource name"):
        parse_tuning_job_name(f"projects/p/locations/us-central1/tuningJobs/{job_id}")


@pytest.mark.parametrize("value", ["projects/p/locations/l/models/1@champ\nion", "projects/p/locations/l/models/1@a?b",
                                   "projects/p/locations/../models/1", "projects/p?x/locations/l/models/1"])
def test_model_names_follow_the_grammar(value):
    with pytest.raises(ValueError):
        parse_model_name(value)


def test_good_names_still_parse():
    job = qualify_job_name(" 4553260803050964941\n", "my-project", "us-central1")  # surrounding space is trimmed
    assert job == "projects/my-project/locations/us-central1/tuningJobs/4553260803050964941"
    model = parse_model_name("projects/example.com:proj/locations/us-central1/models/gemini-1.0-pro-001@v_2")
    assert model.version == "v_2"
    assert parse_endpoint_name("projects/123/locations/europe-west4/endpoints/77").id == "77"


@pytest.mark.parametrize("name", ["tunedModels/x?alt=sse", "tunedModels/x#y", "tunedModels/..", "x\ny",
                                  "tunedModels/a/operations/b?c"])
def test_gemini_api_names_follow_the_grammar(name):
    with pytest.raises(ValueError, match="Gemini API tuned model or operation name"):
        qualify_name(name)


@pytest.mark.parametrize("name", ["gemini-2.5-flash?alt=sse", "publishers/google/models/../x", "gemini-2.5#x",
                                  "models/gemini-2.5 flash"])
def test_base_model_names_in_a_serving_path_follow_the_grammar(name):
    from airflow_tuning.backends.gemini_api.jobs import serving_name
    from airflow_tuning.evaluation.targets import ModelResolutionError, resolve_target

    with pytest.raises(ModelResolutionError, match="not a valid model name|is neither an endpoint"):
        resolve_target(name, project="p", location="us-central1")
    if name.startswith(("gemini-", "models/gemini-")):
        with pytest.raises(ValueError, match="not a valid model name"):
            serving_name(name)
    assert resolve_target("publishers/google/models/gemini-2.5-flash", project="p", location="l").kind == "base_model"


@pytest.mark.parametrize("labels", [{"team\n": "a"}, {"team": "a\n"}, {"team": "a?b"}])
def test_labels_refuse_a_trailing_newline_and_other_characters(labels):
    with pytest.raises(ValueError):
        validate_labels(labels)


def test_display_names_are_at_most_128_characters():
    values = {"base_model": "gemini-2.5-flash", "training_dataset_uri": "gs://b/t.jsonl"}
    assert TuningRequest.build(tuned_model_display_name="x" * 128, **values).tuned_model_display_name == "x" * 128
    with pytest.raises(ValueError, match="is 129 characters long; Vertex AI allows at most 128"):
        TuningRequest.build(tuned_model_display_name="x" * 129, **values)
    with pytest.raises(ValueError, match="control character"):
        TuningRequest.build(tuned_model_display_name="name\n", **values)


@pytest.mark.parametrize(("field", "value"), [("project", "p/../q"), ("project", "p?x=1"), ("location", "us#x"),
                                              ("location", "us-central1\n")])
def test_connection_project_and_location_follow_the_grammar(set_conn, field, value):
    from airflow_tuning.hooks.tuning import GeminiTuningHook

    set_conn({"project": "p", "location": "us-central1", field: value})
    with pytest.raises(ConnectionConfigError, match=f"field '{field}'"):
        GeminiTuningHook().settings


def test_a_hostile_job_name_fails_the_sensor_before_any_call(airflow_db, gemini_conn):
    from tests.dag_results import xcom
    from tests.dags import api_outage

    gets = "GET /v1beta1/projects/{p}/locations/{l}/tuningJobs/{id}"
    before = gemini_conn.stats()["requests"].get(gets, 0)
    run = api_outage.sensor_dags["poke"].test(run_conf={"job": "123?alt=sse&x=1"})
    assert run.state == "failed"
    assert "'123?alt=sse&x=1' is not a tuning job id or name" in xcom(run, "sensor", "failure")
    assert gemini_conn.stats()["requests"].get(gets, 0) == before
    assert json.dumps(run.conf)  # the run kept its conf: the failure came from the check, not from parsing
