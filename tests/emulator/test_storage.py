"""The emulated Cloud Storage through google-cloud-storage, as the hook builds it."""

from __future__ import annotations

import pytest


def test_upload_download_list(emu, storage):
    bucket = emu.create_bucket("storage-suite")
    assert emu.create_bucket("storage-suite").name == "storage-suite"  # idempotent
    for i in range(3):
        storage.bucket("storage-suite").blob(f"data/part-{i}.jsonl").upload_from_string(f"line {i}\n")
    storage.bucket("storage-suite").blob("other/x.txt").upload_from_string("x")
    names = [b.name for b in storage.list_blobs(bucket.name, prefix="data/")]
    assert names == ["data/part-0.jsonl", "data/part-1.jsonl", "data/part-2.jsonl"]
    assert storage.bucket("storage-suite").blob("data/part-1.jsonl").download_as_text() == "line 1\n"
    assert emu.storage_client().bucket("storage-suite").blob("other/x.txt").exists()


def test_storage_routes_answer_injected_faults_in_cloud_storages_shape(emu, storage):
    from google.api_core.exceptions import Forbidden

    emu.create_bucket("storage-faults")
    storage.bucket("storage-faults").blob("a/b.jsonl").upload_from_string("x\n")
    emu.set_storage_faults([{"route": r"^GET /storage/v1/b/storage-faults/o$", "status": 403, "count": 1}])
    try:
        with pytest.raises(Forbidden) as refused:
            list(storage.list_blobs("storage-faults"))
        assert refused.value.errors[0]["reason"] == "forbidden"
        assert [b.name for b in storage.list_blobs("storage-faults")] == ["a/b.jsonl"]  # count=1: once only
        assert emu.uploads() is not None  # admin routes are never faulted
    finally:
        emu.clear_storage_faults()


def test_downloads_count_every_read_of_an_objects_bytes(emu, storage):
    emu.create_bucket("storage-reads")
    blob = storage.bucket("storage-reads").blob("dir/one two.jsonl")
    blob.upload_from_string("x\n")
    assert emu.downloads().get("storage-reads/dir/one two.jsonl", 0) == 0
    storage.bucket("storage-reads").get_blob("dir/one two.jsonl").download_as_bytes()  # through its mediaLink
    after_one = emu.downloads()["storage-reads/dir/one two.jsonl"]
    storage.bucket("storage-reads").blob("dir/one two.jsonl").download_as_bytes()  # through the built URL
    assert after_one >= 1 and emu.downloads()["storage-reads/dir/one two.jsonl"] > after_one


def test_an_api_outage_leaves_storage_up(emu, storage):
    emu.create_bucket("storage-apart")
    emu.set_faults([{"route": ".*", "status": 503}])  # every Vertex AI call fails
    try:
        storage.bucket("storage-apart").blob("x.jsonl").upload_from_string("x\n")
        assert [b.name for b in storage.list_blobs("storage-apart")] == ["x.jsonl"]
    finally:
        emu.clear_faults()
    with pytest.raises(RuntimeError, match="not a valid regular expression"):
        emu.set_storage_faults([{"route": "(", "status": 403}])
