"""The emulated Cloud Storage through google-cloud-storage, as the hook builds it."""

from __future__ import annotations


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
