"""Cloud Storage fidelity through google-cloud-storage: generation preconditions and paging, as GCS keeps them."""

from __future__ import annotations

import threading

import pytest
from google.api_core import exceptions

BUCKET = "fidelity-storage"


@pytest.fixture(scope="module")
def bucket(emu):
    return emu.create_bucket(BUCKET)


def test_create_only_if_absent(bucket):
    blob = bucket.blob("absent.txt")
    blob.upload_from_string("first", if_generation_match=0)
    with pytest.raises(exceptions.PreconditionFailed):
        bucket.blob("absent.txt").upload_from_string("second", if_generation_match=0)
    assert bucket.blob("absent.txt").download_as_bytes() == b"first"


def test_generation_match_and_not_match_on_writes(bucket):
    blob = bucket.blob("generations.txt")
    blob.upload_from_string("v1")
    blob.reload()
    first = blob.generation
    bucket.blob("generations.txt").upload_from_string("v2", if_generation_match=first)
    with pytest.raises(exceptions.PreconditionFailed):
        bucket.blob("generations.txt").upload_from_string("v3", if_generation_match=first)  # stale
    current = bucket.get_blob("generations.txt").generation
    assert current != first
    with pytest.raises(exceptions.PreconditionFailed):
        bucket.blob("generations.txt").upload_from_string("v3", if_generation_not_match=current)
    with pytest.raises(exceptions.PreconditionFailed):
        bucket.blob("generations.txt").delete(if_generation_match=first)
    assert bucket.blob("generations.txt").download_as_bytes() == b"v2"
    bucket.blob("generations.txt").delete(if_generation_match=current)
    assert bucket.get_blob("generations.txt") is None


def test_preconditions_on_reads_and_metadata(bucket):
    blob = bucket.blob("reads.txt")
    blob.upload_from_string("data")
    blob.reload()
    with pytest.raises(exceptions.PreconditionFailed):
        bucket.blob("reads.txt").reload(if_generation_match=blob.generation + 1)
    with pytest.raises(exceptions.NotModified):
        bucket.blob("reads.txt").reload(if_generation_not_match=blob.generation)
    assert bucket.blob("reads.txt").download_as_bytes(if_generation_match=blob.generation) == b"data"
    stale = bucket.get_blob("reads.txt")
    stale.metadata = {"k": "v"}
    with pytest.raises(exceptions.PreconditionFailed):
        stale.patch(if_metageneration_match=blob.metageneration + 5)
    stale.patch(if_metageneration_match=blob.metageneration)
    assert bucket.get_blob("reads.txt").metadata == {"k": "v"}


def test_resumable_upload_keeps_the_precondition(bucket):
    data = bytes(range(256)) * 2400  # 600 KiB: three chunks
    fresh = bucket.blob("resumable.bin", chunk_size=256 * 1024)
    fresh.upload_from_string(data, if_generation_match=0)
    assert bucket.blob("resumable.bin").download_as_bytes() == data
    again = bucket.blob("resumable.bin", chunk_size=256 * 1024)
    with pytest.raises(exceptions.PreconditionFailed):
        again.upload_from_string(data[::-1], if_generation_match=0)
    assert bucket.blob("resumable.bin").download_as_bytes() == data


def test_copy_to_an_existing_destination_with_generation_zero_is_refused(bucket):
    bucket.blob("copy-src.txt").upload_from_string("src")
    bucket.blob("copy-dst.txt").upload_from_string("dst")
    with pytest.raises(exceptions.PreconditionFailed):
        bucket.copy_blob(bucket.blob("copy-src.txt"), bucket, "copy-dst.txt", if_generation_match=0)
    bucket.copy_blob(bucket.blob("copy-src.txt"), bucket, "copy-new.txt", if_generation_match=0)
    assert bucket.blob("copy-new.txt").download_as_bytes() == b"src"


def test_only_one_of_many_concurrent_create_if_absent_uploads_wins(emu, bucket):
    outcomes: list[str] = []
    lock = threading.Lock()

    def attempt(i: int) -> None:
        client = emu.storage_client()
        try:
            client.bucket(BUCKET).blob("race.txt").upload_from_string(f"writer {i}", if_generation_match=0)
            result = f"won {i}"
        except exceptions.PreconditionFailed:
            result = "lost"
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    winners = [o for o in outcomes if o.startswith("won")]
    assert len(outcomes) == 16 and len(winners) == 1
    assert bucket.blob("race.txt").download_as_text() == f"writer {winners[0].split()[1]}"


def test_list_blobs_pages(emu, bucket):
    names = [f"paged/{i:02d}.txt" for i in range(7)]
    for name in names:
        bucket.blob(name).upload_from_string(name)
    pages = [[blob.name for blob in page] for page in emu.storage_client().list_blobs(
        BUCKET, prefix="paged/", page_size=2).pages]
    assert pages == [names[0:2], names[2:4], names[4:6], names[6:7]]
    assert [b.name for b in emu.storage_client().list_blobs(BUCKET, prefix="paged/", max_results=3)] == names[:3]


def test_list_blobs_pages_prefixes_and_items_together(emu, bucket):
    for name in ("tree/a/1", "tree/b/1", "tree/c.txt", "tree/d/1"):
        bucket.blob(name).upload_from_string("x")
    iterator = emu.storage_client().list_blobs(BUCKET, prefix="tree/", delimiter="/", page_size=1)
    pages = list(iterator.pages)
    assert len(pages) == 4
    assert iterator.prefixes == {"tree/a/", "tree/b/", "tree/d/"}
    assert [b.name for page in pages for b in page] == ["tree/c.txt"]


def test_list_buckets_pages(emu):
    for name in ("fidelity-b1", "fidelity-b2", "fidelity-b3"):
        emu.create_bucket(name)
    pages = [[b.name for b in page] for page in emu.storage_client().list_buckets(page_size=1).pages]
    assert all(len(page) == 1 for page in pages)
    assert {"fidelity-b1", "fidelity-b2", "fidelity-b3"} <= {name for page in pages for name in page}
