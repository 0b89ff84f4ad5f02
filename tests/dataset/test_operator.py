"""``UploadDatasetOperator`` inside ``dag.test()`` against the session emulator."""

from __future__ import annotations

import json

import pytest

from tests.dataset.conftest import jsonl, many, objects, read_jsonl, vertex


def _xcom(run, task_id: str):
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        row = session.scalars(select(XComModel).where(
            XComModel.dag_id == run.dag_id, XComModel.run_id == run.run_id,
            XComModel.task_id == task_id, XComModel.key == "return_value")).first()
        return None if row is None else XComModel.deserialize_value(row)


def _asset_events(run) -> list[dict]:
    from airflow.models.asset import AssetEvent
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        return [dict(e.extra) for e in session.scalars(
            select(AssetEvent).where(AssetEvent.source_run_id == run.run_id)).all()]


@pytest.fixture
def upload_dag(airflow_db, gemini_conn):
    from tests.dags import dataset_upload

    return dataset_upload.dag


def test_merges_sources_publishes_and_skips_unchanged_data(upload_dag, write, storage, bucket):
    history = storage.bucket(bucket)
    history.blob("history/2025-01.jsonl").upload_from_string(jsonl(*many(80)))
    conf = {
        "sources": [
            f"gs://{bucket}/history/",
            write("week/new.jsonl", jsonl(*many(30, start=80), *many(5))),  # 5 already in the history
            write("week/reviewed.csv", 'input,output\n"Refund, please","Sure, order number?"\n'),
        ],
        "feedback": [{"text_input": "Hi", "output": "Hello!"}, vertex("Bye", "Goodbye!")],
        "destination": f"gs://{bucket}/datasets/support",
        "system_instruction": "You are a support agent.",
    }
    run = upload_dag.test(run_conf=conf)
    assert run.state == "success"
    result = _xcom(run, "upload")
    assert result["changed"] is True
    assert (result["examples"] + result["validation_examples"], result["duplicates"], result["invalid"]) == (113, 5, 0)
    assert 0 < result["validation_examples"] <= 20
    assert _asset_events(run) == [result]

    train = read_jsonl(history.blob(result["training_dataset_uri"].split("/", 3)[3]).download_as_bytes())
    validation = read_jsonl(history.blob(result["validation_dataset_uri"].split("/", 3)[3]).download_as_bytes())
    assert len(train) == result["examples"] and len(validation) == result["validation_examples"]
    texts = {e["contents"][0]["parts"][0]["text"]: e for e in train + validation}
    assert texts["Refund, please"]["systemInstruction"] == {"parts": [{"text": "You are a support agent."}]}
    assert texts["Hi"]["systemInstruction"] == {"parts": [{"text": "You are a support agent."}]}
    assert "systemInstruction" not in texts["Bye"]  # Vertex examples keep their own (absent) instruction
    manifest = json.loads(history.blob(result["manifest_uri"].split("/", 3)[3]).download_as_bytes())
    assert [s["name"] for s in manifest["sources"]] == [f"gs://{bucket}/history/2025-01.jsonl", *conf["sources"][1:],
                                                         "examples"]
    published = objects(storage, bucket)

    again = upload_dag.test(run_conf=conf)
    assert again.state == "success"
    second = _xcom(again, "upload")
    assert second["changed"] is False
    assert {k: v for k, v in second.items() if k != "changed"} == {k: v for k, v in result.items() if k != "changed"}
    assert objects(storage, bucket) == published  # no new object, no new generation
    assert _asset_events(again) == [second]


def test_invalid_data_fails_without_retry_and_uploads_nothing(upload_dag, write, storage, bucket, capfd):
    bad = write("bad.jsonl", jsonl(*many(3), '{"contents": [{"role": "user", "parts": [{"text": "q"}]}]}'))
    run = upload_dag.test(run_conf={"sources": [bad], "destination": f"gs://{bucket}/datasets"})
    assert run.state == "failed"
    logged = "".join(capfd.readouterr())
    assert f"{bad}:4: the last turn (contents[0]) must be 'model'" in logged and "Nothing was uploaded." in logged
    ti = run.get_task_instance("upload")
    assert str(ti.state) == "failed" and ti.try_number == 1  # retries=2, but bad data is not retried
    assert objects(storage, bucket) == {}


def test_operator_arguments_are_checked_when_the_dag_is_parsed():
    from airflow_tuning.operators.dataset import UploadDatasetOperator

    with pytest.raises(ValueError, match="on_invalid"):
        UploadDatasetOperator(task_id="a", destination="gs://b/p", sources="x.jsonl", on_invalid="ignore")
    with pytest.raises(ValueError, match="format"):
        UploadDatasetOperator(task_id="b", destination="gs://b/p", sources="x.jsonl", format="parquet")
    with pytest.raises(ValueError, match="gs://bucket/prefix"):
        UploadDatasetOperator(task_id="c", destination="/local/dir", sources="x.jsonl")
    op = UploadDatasetOperator(task_id="d", destination="gs://b/tuning/", sources="x.jsonl")
    assert [(a.name, a.uri) for a in op.outlets] == [("gs://b/tuning", "gs://b/tuning")]
    templated = UploadDatasetOperator(task_id="e", destination="gs://{{ params.bucket }}/p", sources="x.jsonl")
    assert templated.outlets[0].name == "gs://{{ params.bucket }}/p"
    assert set(UploadDatasetOperator.template_fields) == {
        "sources", "destination", "system_instruction", "examples", "input_column", "output_column",
        "on_invalid", "max_invalid_fraction",
    }


def test_limits_that_are_not_counts_fail_without_retry_and_upload_nothing(airflow_db, gemini_conn, write, storage,
                                                                          bucket, capfd):
    from tests.dags.dataset_upload import bad_limits_dag  # limits={"max_images": -1}

    path = write("a.jsonl", jsonl(*many(3)))
    run = bad_limits_dag.test(run_conf={"sources": [path], "destination": f"gs://{bucket}/datasets"})
    ti = run.get_task_instance("upload")
    assert str(ti.state) == "failed" and ti.try_number == 1  # retries=2, but a bad argument is not retried
    logged = "".join(capfd.readouterr())
    assert "limits: max_images must be a whole number >= 0, or None for no limit; got -1" in logged
    assert "Nothing was uploaded." in logged
    assert objects(storage, bucket) == {}
