"""Content-addressed publishing and gs:// sources on the emulated GCS, through the hook's storage client."""

from __future__ import annotations

import json

import pytest
import requests

from airflow_tuning.dataset import Options, local_sources, prepare
from airflow_tuning.dataset.publish import PublishError, file_crc32c, publish, stream_upload
from airflow_tuning.dataset.sources import gcs_sources
from tests.dataset.conftest import jsonl, many, objects, read_jsonl, vertex


def _prepare(tmp_path, sources, name="out", **options):
    out = tmp_path / name
    out.mkdir()
    return prepare(sources, str(out), Options(**options))


def test_publish_is_content_addressed_and_skips_unchanged_data(tmp_path, write, storage, bucket):
    path = write("data.jsonl", jsonl(*many(150)))
    first = _prepare(tmp_path, local_sources([path]), "a")
    result = publish(storage, first, f"gs://{bucket}/datasets/support/")
    folder = f"datasets/support/{first.sha256[:16]}"
    assert result == {
        "training_dataset_uri": f"gs://{bucket}/{folder}/train.jsonl",
        "validation_dataset_uri": f"gs://{bucket}/{folder}/validation.jsonl",
        "manifest_uri": f"gs://{bucket}/{folder}/manifest.json",
        "examples": first.train.examples,
        "validation_examples": first.validation.examples,
        "estimated_training_tokens": first.train_tokens,
        "invalid": 0,
        "duplicates": 0,
        "sha256": first.sha256,
        "changed": True,
    }
    assert first.train.examples + first.validation.examples == 150 and first.validation.examples > 0
    published = objects(storage, bucket)
    assert sorted(published) == [f"{folder}/manifest.json", f"{folder}/train.jsonl", f"{folder}/validation.jsonl"]

    b = storage.bucket(bucket)
    assert b.blob(f"{folder}/train.jsonl").download_as_bytes() == open(first.train.path, "rb").read()
    manifest = json.loads(b.blob(f"{folder}/manifest.json").download_as_bytes())
    assert manifest["sha256"] == first.sha256
    assert (manifest["examples"], manifest["invalid"], manifest["duplicates"]) == (150, 0, 0)
    assert manifest["estimated_tokens"] > 0 and manifest["sources"][0]["name"] == path
    assert manifest["files"]["train"]["crc32c"] == file_crc32c(first.train.path)
    assert manifest["files"]["validation"]["uri"] == result["validation_dataset_uri"]

    # same examples, other order and a duplicate: same hash, nothing uploaded, generations unchanged
    again = _prepare(tmp_path, local_sources([write("again.jsonl", jsonl(*reversed(many(150)), *many(1)))]), "b")
    second = publish(storage, again, f"gs://{bucket}/datasets/support")
    assert second["changed"] is False and second["duplicates"] == 1
    assert {k: second[k] for k in ("training_dataset_uri", "validation_dataset_uri", "sha256")} == {
        k: result[k] for k in ("training_dataset_uri", "validation_dataset_uri", "sha256")}
    assert objects(storage, bucket) == published

    # appended data: a new folder beside the old one, which stays untouched
    grown = _prepare(tmp_path, local_sources([path, write("new.jsonl", jsonl(*many(10, start=150)))]), "c")
    third = publish(storage, grown, f"gs://{bucket}/datasets/support")
    assert third["changed"] is True and third["sha256"] != first.sha256
    now = objects(storage, bucket)
    assert {k: now[k] for k in published} == published and len(now) == 6


def test_republish_after_a_crash_before_the_manifest_reuses_uploaded_files(tmp_path, write, storage, bucket):
    prepared = _prepare(tmp_path, local_sources([write("d.jsonl", jsonl(*many(20)))]), validation_max=0)
    result = publish(storage, prepared, f"gs://{bucket}/ds")
    assert result["validation_dataset_uri"] is None and result["validation_examples"] == 0
    before = objects(storage, bucket)
    manifest_name = result["manifest_uri"].split("/", 3)[3]
    storage.bucket(bucket).blob(manifest_name).delete()  # as if the task died before writing it
    again = publish(storage, prepared, f"gs://{bucket}/ds")
    after = objects(storage, bucket)
    assert again["changed"] is True
    train_name = result["training_dataset_uri"].split("/", 3)[3]
    assert after[train_name] == before[train_name]  # not uploaded again
    assert manifest_name in after and not any("/_tmp/" in name for name in after)


def test_gcs_sources_prefix_glob_and_exact_object_merge_with_local_files(tmp_path, write, storage, bucket):
    b = storage.bucket(bucket)
    b.blob("history/2024/a.jsonl").upload_from_string(jsonl(*many(3)))
    b.blob("history/2025/b.csv").upload_from_string("input,output\nq9,a9\n")
    b.blob("history/manifest.json").upload_from_string("{}")
    b.blob("history/2025/bad.jsonl").upload_from_string(jsonl(vertex("x", "y"), '{"contents": []}'))
    prefix = gcs_sources(storage, [f"gs://{bucket}/history"])
    assert [s.name for s in prefix] == [f"gs://{bucket}/history/2024/a.jsonl", f"gs://{bucket}/history/2025/b.csv",
                                        f"gs://{bucket}/history/2025/bad.jsonl"]
    globbed = gcs_sources(storage, [f"gs://{bucket}/history/**/a*.jsonl"])
    assert [s.name for s in globbed] == [f"gs://{bucket}/history/2024/a.jsonl"]
    exact = gcs_sources(storage, [f"gs://{bucket}/history/manifest.json"])
    assert [s.name for s in exact] == [f"gs://{bucket}/history/manifest.json"]
    with pytest.raises(ValueError, match="matches no object"):
        gcs_sources(storage, [f"gs://{bucket}/nothing/here"])
    # An empty "folder" (trailing slash) or a glob matching nothing is normal: it contributes nothing.
    assert gcs_sources(storage, [f"gs://{bucket}/nothing/here/"]) == []
    assert gcs_sources(storage, [f"gs://{bucket}/nothing/*.jsonl"]) == []

    local = local_sources([write("week.jsonl", jsonl(*many(2, start=3)))])
    prepared = _prepare(tmp_path, prefix + local, on_invalid="skip", max_invalid_fraction=0.5, validation_max=0)
    report = prepared.report
    assert (report.examples, report.invalid) == (7, 1)
    assert [str(p) for p in report.problems] == [
        f"gs://{bucket}/history/2025/bad.jsonl:2: 'contents' must be a non-empty array of turns"]
    assert len(read_jsonl(open(prepared.train.path, "rb").read())) == 7


def test_upload_with_a_checksum_mismatch_is_refused_and_leaves_no_object(tmp_path, storage, bucket):
    path = tmp_path / "payload.jsonl"
    path.write_bytes(b'{"a":1}\n' * 1000)
    blob = storage.bucket(bucket).blob("target.jsonl")
    blob.crc32c = "AAAAAA=="  # not the file's CRC32C
    session = blob.create_resumable_upload_session(size=path.stat().st_size, checksum=None)
    with pytest.raises(PublishError, match="upload refused: HTTP 400.*CRC32C"):
        stream_upload(session, str(path), path.stat().st_size)
    assert objects(storage, bucket) == {}


def test_interrupted_upload_resumes_from_the_committed_offset(tmp_path, storage, bucket):
    path = tmp_path / "payload.jsonl"
    data = b"".join(b'{"n":%d}\n' % i for i in range(50_000))
    path.write_bytes(data)
    half = len(data) // 2
    blob = storage.bucket(bucket).blob("resumed.jsonl")
    blob.crc32c = file_crc32c(str(path))
    session = blob.create_resumable_upload_session(size=len(data), checksum=None)
    # a client that died half way: the session holds the first half only
    partial = requests.put(session, data=data[:half], headers={"Content-Range": f"bytes 0-{half - 1}/{len(data)}"})
    assert partial.status_code == 308
    stream_upload(session, str(path), len(data), resume=True)
    assert storage.bucket(bucket).blob("resumed.jsonl").download_as_bytes() == data
