"""The training file is sent while it is validated, yet nothing appears before the data proved valid.

Through the real google-cloud-storage client against the session emulator, whose storage front records
every resumable session and what became of it (open, finalized, cancelled). Small chunks make the
pipeline send several of them before validation ends, as a large file does with the default size.
"""

from __future__ import annotations

import gc
import hashlib
import io
import json
import os
import time

import pytest

from airflow_tuning.dataset import DatasetValidationError, Options, Source, local_sources, prepare
from airflow_tuning.dataset.pipeline import HASH_VERSION
from airflow_tuning.dataset.publish import publish, staging
from tests.dataset.conftest import jsonl, objects, read_jsonl, vertex

CHUNK = 256 << 10  # the smallest chunk a resumable upload allows


def _examples(n: int, start: int = 0) -> list[dict]:
    padding = "x" * 400  # about 500 bytes a line: 1,000 lines fill two chunks
    return [vertex(f"Question {i} {padding}?", f"Answer {i}.") for i in range(start, start + n)]


def _sessions(emulator, bucket: str) -> list[dict]:
    return [u for u in emulator.uploads() if u["bucket"] == bucket]


def _run(storage, path: str, destination: str, workdir: str, **options) -> dict:
    os.makedirs(workdir, exist_ok=True)
    with staging(storage, destination, workdir, chunk_size=CHUNK) as staged:
        prepared = prepare(local_sources([path]), workdir, Options(**options))
        return publish(storage, prepared, destination, staged=staged)


def _dataset_hash(train: bytes, validation: bytes) -> str:
    """The dataset hash recomputed from the published bytes alone (see pipeline._dataset_hash)."""
    keys = [(hashlib.sha256(line).digest()[:16], b"T") for line in train.split(b"\n") if line]
    keys += [(hashlib.sha256(line).digest()[:16], b"V") for line in validation.split(b"\n") if line]
    digest = hashlib.sha256(HASH_VERSION)
    for key, side in sorted(keys):
        digest.update(key)
        digest.update(side)
    return digest.hexdigest()


class _GatedStream(io.BytesIO):
    """The valid lines, then (once the emulator shows the upload session holding bytes) an invalid one.

    The gate makes "bytes were sent before the invalid line was read" a fact rather than a race.
    """

    def __init__(self, head: bytes, tail: bytes, ready) -> None:
        super().__init__(head)
        self.tail, self.ready = tail, ready

    def read(self, size: int | None = -1) -> bytes:
        data = super().read(size)
        if not data and self.tail:
            deadline = time.monotonic() + 60
            while not self.ready() and time.monotonic() < deadline:
                time.sleep(0.05)
            data, self.tail = self.tail, b""
        return data


def test_invalid_line_after_streamed_chunks_leaves_nothing_and_cancels_the_session(
        gemini_conn, storage, bucket, tmp_path):
    valid = 6_000  # about 3 MB: past the pipeline's write buffers and several chunks
    head = jsonl(*_examples(valid)).encode()
    tail = jsonl('{"contents": []}', *_examples(50, start=9_000)).encode()
    source = Source(name="gated.jsonl", open=lambda: _GatedStream(
        head, tail, lambda: bool(_sessions(gemini_conn, bucket))))
    workdir = tmp_path / "work"
    workdir.mkdir()
    destination = f"gs://{bucket}/datasets"
    with pytest.raises(DatasetValidationError, match=f"gated.jsonl:{valid + 1}: "), \
            staging(storage, destination, str(workdir), chunk_size=CHUNK) as staged:
        prepared = prepare([source], str(workdir), Options())
        publish(storage, prepared, destination, staged=staged)

    gc.collect()  # an upload writer finalizes when collected: prove none is left to do so
    assert objects(storage, bucket) == {}  # nothing under the destination, not even a temporary object
    sessions = _sessions(gemini_conn, bucket)
    assert [s["state"] for s in sessions] == ["cancelled"]  # bytes were sent during validation, never finalized
    assert sessions[0]["name"].startswith("datasets/_tmp/")
    assert list(workdir.iterdir()) == []


def test_valid_data_is_published_under_the_hash_of_what_was_uploaded(gemini_conn, storage, bucket, write, tmp_path,
                                                                     monkeypatch):
    from airflow_tuning.dataset import pipeline

    monkeypatch.setattr(pipeline, "HASH_SLICE", 7)  # the digests are hashed in many slices, as for large data
    path = write("data.jsonl", jsonl(*_examples(1_200)))
    result = _run(storage, path, f"gs://{bucket}/datasets", str(tmp_path), validation_max=40)

    names = set(objects(storage, bucket))
    folder = result["training_dataset_uri"].split("/")[-2]
    assert names == {f"datasets/{folder}/{n}" for n in ("train.jsonl", "validation.jsonl", "manifest.json")}
    data = storage.bucket(bucket)
    train = data.blob(f"datasets/{folder}/train.jsonl").download_as_bytes()
    validation = data.blob(f"datasets/{folder}/validation.jsonl").download_as_bytes()
    assert len(read_jsonl(train)) == result["examples"] and len(read_jsonl(validation)) == 40
    assert result["examples"] + 40 == 1_200
    digest = _dataset_hash(train, validation)
    assert digest == result["sha256"] and folder == digest[:16]
    manifest = json.loads(data.blob(f"datasets/{folder}/manifest.json").download_as_bytes())
    assert manifest["sha256"] == digest and manifest["files"]["train"]["size"] == len(train)
    train_sessions = [s for s in _sessions(gemini_conn, bucket) if s["name"].endswith("-train.jsonl")]
    assert [s["state"] for s in train_sessions] == ["finalized"]  # one session, finalized after validation


def test_unchanged_data_cancels_its_session_and_creates_no_object(gemini_conn, storage, bucket, write, tmp_path):
    path = write("data.jsonl", jsonl(*_examples(1_000)))
    first = _run(storage, path, f"gs://{bucket}/datasets", str(tmp_path / "one"))
    published = objects(storage, bucket)
    before = len(_sessions(gemini_conn, bucket))

    reordered = write("again.jsonl", jsonl(*reversed(_examples(1_000))))  # same examples, other order
    second = _run(storage, reordered, f"gs://{bucket}/datasets", str(tmp_path / "two"))

    gc.collect()
    assert first["changed"] is True and second["changed"] is False
    assert second["sha256"] == first["sha256"]
    assert objects(storage, bucket) == published  # no new object, no new generation
    assert {s["state"] for s in _sessions(gemini_conn, bucket)[before:]} <= {"cancelled"}


def test_a_cancelled_session_accepts_no_more_bytes(gemini_conn, storage, bucket):
    """The emulator answers as Cloud Storage documents: 499 to the DELETE, then 404 for the session."""
    import requests

    url = storage.bucket(bucket).blob("x.jsonl").create_resumable_upload_session(content_type="text/plain")
    assert requests.put(url, data=b"a" * CHUNK, headers={"Content-Range": f"bytes 0-{CHUNK - 1}/*"},
                        timeout=30).status_code == 308
    assert requests.delete(url, timeout=30).status_code == 499
    assert requests.put(url, data=b"b", headers={"Content-Range": f"bytes {CHUNK}-{CHUNK}/{CHUNK + 1}"},
                        timeout=30).status_code == 404
    assert objects(storage, bucket) == {}


@pytest.fixture
def upload_dag(airflow_db, gemini_conn):
    from tests.dags import dataset_upload

    return dataset_upload.dag


def test_operator_streams_while_validating_and_uploads_nothing_for_bad_data(
        upload_dag, gemini_conn, storage, bucket, write, monkeypatch):
    from airflow_tuning.dataset import staged_upload

    monkeypatch.setattr(staged_upload, "CHUNK_SIZE", CHUNK)
    bad = write("bad.jsonl", jsonl(*_examples(1_500), '{"contents": [{"role": "user", "parts": [{"text": "q"}]}]}'))
    run = upload_dag.test(run_conf={"sources": [bad], "destination": f"gs://{bucket}/datasets"})
    assert run.state == "failed"
    gc.collect()
    assert objects(storage, bucket) == {}
    assert {s["state"] for s in _sessions(gemini_conn, bucket)} <= {"cancelled"}  # none finalized

    good = write("good.jsonl", jsonl(*_examples(1_500)))
    run = upload_dag.test(run_conf={"sources": [good], "destination": f"gs://{bucket}/datasets"})
    assert run.state == "success"
    assert not [name for name in objects(storage, bucket) if "/_tmp/" in name]
    assert "finalized" in [s["state"] for s in _sessions(gemini_conn, bucket)]


def test_every_chunk_is_sent_under_the_connections_retry(gemini_conn, storage, bucket, write, tmp_path):
    """The staged upload takes the connection's retry (what ``publish`` takes), not the library's default."""
    from google.api_core.retry import Retry

    from airflow_tuning.common.retry import RetryPolicy

    wrapped: list[str] = []

    class RecordingRetry(Retry):  # the connection's real policy, noting each request it guards
        def __call__(self, func, on_error=None):
            wrapped.append(getattr(func, "__name__", "request"))
            return super().__call__(func, on_error=on_error)

        def with_timeout(self, timeout):  # keep recording if the library narrows the policy
            return RecordingRetry(predicate=self._predicate, initial=self._initial, maximum=self._maximum,
                                  multiplier=self._multiplier, timeout=timeout)

    policy = RetryPolicy()
    retry = RecordingRetry(predicate=policy.is_retryable, initial=policy.initial_delay, maximum=policy.max_delay,
                           multiplier=policy.exp_base, timeout=policy.total_budget())
    path = write("data.jsonl", jsonl(*_examples(1_200)))
    workdir = str(tmp_path / "work")
    os.makedirs(workdir)
    destination = f"gs://{bucket}/datasets"
    with staging(storage, destination, workdir, chunk_size=CHUNK, retry=retry) as staged:
        prepared = prepare(local_sources([path]), workdir, Options())
        publish(storage, prepared, destination, staged=staged)
    chunks = -(-prepared.train.size // CHUNK)
    assert chunks >= 2 and len(wrapped) >= chunks, (chunks, wrapped)
