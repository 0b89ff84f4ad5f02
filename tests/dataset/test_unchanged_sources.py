"""A run from the very sources and options a dataset was published from reads nothing and sends nothing.

``UploadDatasetOperator`` inside ``dag.test()`` against the session emulator, whose storage front records
every resumable upload session (anything sent) and how many times each object's bytes were served (the
Cloud Storage source read); the run that changes an option shows both instruments moving when data is read.
"""

from __future__ import annotations

import json

import pytest

from airflow_tuning.dataset import Limits, Options, Source, local_sources
from airflow_tuning.dataset.publish import SOURCES_METADATA_KEY
from airflow_tuning.dataset.source_fingerprint import sources_fingerprint
from tests.dataset.conftest import jsonl, many, objects, vertex
from tests.dataset.test_operator import _asset_events, _xcom

HISTORY = "history/2025-01.jsonl"


@pytest.fixture
def upload_dag(airflow_db, gemini_conn):
    from tests.dags import dataset_upload

    return dataset_upload.dag


def _sessions(emulator, bucket: str) -> list[dict]:
    return [u for u in emulator.uploads() if u["bucket"] == bucket]


def _upload(dag, conf: dict) -> dict:
    run = dag.test(run_conf=conf)
    assert run.state == "success"
    result = _xcom(run, "upload")
    assert _asset_events(run) == [result]
    return result


def _same_but_changed(first: dict, second: dict) -> bool:
    return {k: v for k, v in first.items() if k != "changed"} == {k: v for k, v in second.items() if k != "changed"}


def _reads(emulator, bucket: str) -> int:
    return emulator.downloads().get(f"{bucket}/{HISTORY}", 0)


@pytest.fixture
def published(upload_dag, gemini_conn, storage, bucket, write):
    """One dataset published from a Cloud Storage prefix, a local file and in-line examples."""
    storage.bucket(bucket).blob(HISTORY).upload_from_string(jsonl(*many(60)))
    local = write("new.jsonl", jsonl(*many(30, start=100)))
    conf = {"sources": [f"gs://{bucket}/history/", local], "destination": f"gs://{bucket}/datasets",
            "feedback": [vertex("Refund, please", "Here is how.")]}
    result = _upload(upload_dag, conf)
    assert result["changed"] is True
    return conf, result, local


def test_the_same_sources_are_neither_read_nor_sent_again(upload_dag, gemini_conn, storage, bucket, published, caplog):
    conf, first, _ = published
    manifest = storage.bucket(bucket).get_blob(first["manifest_uri"].split("/", 3)[3])
    assert len(manifest.metadata[SOURCES_METADATA_KEY]) == 64  # the fingerprint, in the manifest's metadata
    before, sessions = objects(storage, bucket), len(_sessions(gemini_conn, bucket))
    reads = _reads(gemini_conn, bucket)
    assert reads > 0  # the first run read it (in ranges: one or more requests)
    caplog.clear()

    second = _upload(upload_dag, conf)

    assert second["changed"] is False and _same_but_changed(first, second)
    assert _reads(gemini_conn, bucket) == reads  # the Cloud Storage source was not read
    assert len(_sessions(gemini_conn, bucket)) == sessions  # not a byte sent
    assert objects(storage, bucket) == before  # no new object, no new generation
    folder = first["manifest_uri"].rsplit("/", 1)[0]
    assert f"is already published at {folder}: nothing uploaded, and nothing read" in caplog.text


def test_a_changed_file_or_option_reads_the_sources_again(upload_dag, gemini_conn, storage, bucket, published, write):
    conf, first, local = published
    reads = _reads(gemini_conn, bucket)

    # An option that changes nothing in this data (every example is a Vertex one) still means reading it.
    same = _upload(upload_dag, {**conf, "system_instruction": "Be brief."})
    assert same["changed"] is False and same["sha256"] == first["sha256"]
    assert _reads(gemini_conn, bucket) > reads

    with open(local, "a", encoding="utf-8") as fh:  # one more example in the local file
        fh.write(jsonl(vertex("A new question?", "A new answer.")))
    grown = _upload(upload_dag, conf)
    assert grown["changed"] is True and grown["sha256"] != first["sha256"]
    assert grown["examples"] + grown["validation_examples"] == first["examples"] + first["validation_examples"] + 1


def test_an_object_rewritten_with_the_same_bytes_is_still_the_same_source(upload_dag, gemini_conn, storage, bucket,
                                                                          published):
    conf, first, _ = published
    blob = storage.bucket(bucket).blob("history/2025-01.jsonl")
    generation = storage.bucket(bucket).get_blob(blob.name).generation
    blob.upload_from_string(jsonl(*many(60)))  # a new generation, identical bytes
    assert storage.bucket(bucket).get_blob(blob.name).generation != generation
    sessions, reads = len(_sessions(gemini_conn, bucket)), _reads(gemini_conn, bucket)

    again = _upload(upload_dag, conf)
    assert again["changed"] is False and _same_but_changed(first, again)
    assert (len(_sessions(gemini_conn, bucket)), _reads(gemini_conn, bucket)) == (sessions, reads)


def test_a_deleted_dataset_is_published_again(upload_dag, gemini_conn, storage, bucket, published):
    conf, first, _ = published
    folder = first["manifest_uri"].split("/", 3)[3].rsplit("/", 1)[0]
    for blob in storage.list_blobs(bucket, prefix=f"{folder}/"):
        blob.delete()

    again = _upload(upload_dag, conf)
    assert again["changed"] is True and _same_but_changed(first, again)
    assert {f"{folder}/{name}" for name in ("train.jsonl", "validation.jsonl", "manifest.json")} <= set(
        objects(storage, bucket))


def test_a_manifest_that_does_not_name_its_folder_is_ignored(upload_dag, gemini_conn, storage, bucket, published,
                                                             caplog):
    conf, first, _ = published
    data = storage.bucket(bucket)
    manifest_name = first["manifest_uri"].split("/", 3)[3]
    folder = manifest_name.rsplit("/", 1)[0]
    impostor = data.blob("datasets/0123456789abcdef/manifest.json")
    impostor.rewrite(data.blob(manifest_name))  # the same content and fingerprint, under another folder
    for blob in storage.list_blobs(bucket, prefix=f"{folder}/"):
        blob.delete()
    caplog.clear()

    again = _upload(upload_dag, conf)
    assert again["changed"] is True and _same_but_changed(first, again)  # read and published again
    assert "ignoring gs://" in caplog.text and "does not name its folder" in caplog.text


def test_a_destination_prefix_with_glob_characters_is_matched_literally(upload_dag, gemini_conn, storage, bucket):
    storage.bucket(bucket).blob(HISTORY).upload_from_string(jsonl(*many(20)))
    conf = {"sources": [f"gs://{bucket}/{HISTORY}"], "destination": f"gs://{bucket}/sets[1]*"}
    first = _upload(upload_dag, conf)
    other = _upload(upload_dag, {**conf, "destination": f"gs://{bucket}/sets[1]*x"})  # a sibling prefix
    assert other["changed"] is True and other["manifest_uri"].startswith(f"gs://{bucket}/sets[1]*x/")
    sessions, reads = len(_sessions(gemini_conn, bucket)), _reads(gemini_conn, bucket)

    again = _upload(upload_dag, conf)
    assert again["changed"] is False and _same_but_changed(first, again)
    assert (len(_sessions(gemini_conn, bucket)), _reads(gemini_conn, bucket)) == (sessions, reads)


def test_without_permission_to_list_the_sources_are_read_as_usual(upload_dag, gemini_conn, storage, bucket, write,
                                                                   caplog):
    conf = {"sources": [write("data.jsonl", jsonl(*many(20)))], "destination": f"gs://{bucket}/datasets"}
    first = _upload(upload_dag, conf)
    gemini_conn.set_storage_faults([{"route": rf"^GET /storage/v1/b/{bucket}/o$", "status": 403}])
    try:
        caplog.clear()
        again = _upload(upload_dag, conf)
    finally:
        gemini_conn.clear_storage_faults()
    assert again["changed"] is False and _same_but_changed(first, again)
    assert f"cannot list gs://{bucket}/datasets/" in caplog.text


def test_a_missing_bucket_still_reports_the_data_first(upload_dag, gemini_conn, write, capfd):
    """The lookup gives up quietly; the run fails as it would have without it: on the data, then the bucket."""
    bad = write("bad.jsonl", jsonl(*many(3), '{"contents": []}'))
    run = upload_dag.test(run_conf={"sources": [bad], "destination": "gs://no-such-bucket-here/datasets"})
    assert run.state == "failed"
    logged = "".join(capfd.readouterr())
    assert "Dataset validation failed" in logged and "bad.jsonl:4: " in logged
    assert "cannot list" not in logged and "does not exist" not in logged

    good = write("good.jsonl", jsonl(*many(3)))
    run = upload_dag.test(run_conf={"sources": [good], "destination": "gs://no-such-bucket-here/datasets"})
    assert run.state == "failed"
    logged = "".join(capfd.readouterr())
    assert "Bucket gs://no-such-bucket-here does not exist; nothing was written." in logged
    assert "cannot list" not in logged


def _fingerprint(sources: list[Source], **options) -> str | None:
    fingerprint = sources_fingerprint(sources, Options(**options))
    return None if fingerprint is None else fingerprint.digest


def test_the_fingerprint_covers_content_names_and_every_option_that_changes_the_output(write):
    path = write("a.jsonl", jsonl(*many(3)))
    base = _fingerprint(local_sources([path]))
    assert base is not None and base == _fingerprint(local_sources([path]))
    # How the run reports is not what it produces.
    assert _fingerprint(local_sources([path]), max_problems=3, progress_interval=1.0) == base
    for options in ({"validation_fraction": 0.2}, {"validation_max": 10}, {"on_invalid": "skip"},
                    {"max_invalid_fraction": 0.5}, {"system_instruction": "Be brief."},
                    {"limits": Limits.resolve("gemini-api")}, {"limits": Limits.resolve({"max_images": 3})}):
        assert _fingerprint(local_sources([path]), **options) != base, options
    assert _fingerprint(local_sources([path], "pairs")) != base  # the format
    same_size = write("a.jsonl", jsonl(*many(3)).replace("number 1", "number 7"))  # other bytes, same size
    assert _fingerprint(local_sources([same_size])) != base
    renamed = write("b.jsonl", jsonl(*many(3)))
    assert _fingerprint(local_sources([renamed])) != _fingerprint(local_sources([write("a.jsonl", jsonl(*many(3)))]))


def test_in_line_examples_are_their_own_identity_and_standard_input_has_none():
    from airflow_tuning.dataset.sources import inline_source

    one = [inline_source([vertex("Hi", "Hello")])]
    assert _fingerprint(one) == _fingerprint([inline_source([json.loads(json.dumps(vertex("Hi", "Hello")))])])
    assert _fingerprint(one) != _fingerprint([inline_source([vertex("Hi", "Hello!")])])
    assert _fingerprint([inline_source([{1: "a", "b": 2}])]) is None  # keys JSON cannot sort: no identity
    assert _fingerprint(local_sources(["-"])) is None


def test_only_a_regular_file_is_read_for_its_identity(tmp_path):
    """A named pipe would lose what a checksum read takes from it; a file that cannot be read is the
    pipeline's to report. Neither has an identity: the data is read as usual."""
    import os
    import threading

    from airflow_tuning.dataset.sources import _file_identity

    pipe = str(tmp_path / "pipe.jsonl")
    os.mkfifo(pipe)
    line = jsonl(vertex("Hi", "Hello")).encode()
    seen: dict = {}

    def write() -> None:
        with open(pipe, "wb") as fh:
            fh.write(line)

    def check() -> None:  # in a thread: a regression would block on the pipe, and fail below, not hang
        seen["identity"] = _file_identity(pipe)
        with open(pipe, "rb") as fh:
            seen["left"] = fh.read()

    threads = [threading.Thread(target=write, daemon=True), threading.Thread(target=check, daemon=True)]
    for thread in threads:
        thread.start()
    threads[1].join(timeout=30)
    assert not threads[1].is_alive() and seen == {"identity": None, "left": line}  # nothing taken from the pipe
    assert _file_identity(str(tmp_path / "missing.jsonl")) is None
    assert _file_identity(str(tmp_path)) is None


def test_a_local_file_changed_after_its_fingerprint_no_longer_holds_it(write):
    path = write("a.jsonl", jsonl(*many(3)))
    fingerprint = sources_fingerprint(local_sources([path]), Options())
    assert fingerprint is not None and fingerprint.still_holds()
    with open(path, "a", encoding="utf-8") as fh:
        fh.write(jsonl(vertex("late", "line")))
    assert not fingerprint.still_holds()  # the operator then publishes without it (the next run reads again)


def test_options_or_examples_that_are_not_json_data_give_no_fingerprint(write):
    from decimal import Decimal

    from airflow_tuning.dataset.sources import inline_source

    path = write("a.jsonl", jsonl(*many(3)))
    assert sources_fingerprint(local_sources([path]), Options(system_instruction=Decimal(3))) is None  # type: ignore[arg-type]
    assert sources_fingerprint([inline_source([{"contents": Decimal(3)}])], Options()) is None
    assert sources_fingerprint(local_sources([path]), Options()) is not None
