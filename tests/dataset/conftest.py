"""Helpers for the dataset tests: example builders, file writers, and buckets on the session emulator."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import pytest

_bucket_numbers = itertools.count()


def vertex(prompt: str, answer: str, *, system: str | None = None) -> dict:
    example: dict = {"contents": [{"role": "user", "parts": [{"text": prompt}]},
                                  {"role": "model", "parts": [{"text": answer}]}]}
    if system:
        example["systemInstruction"] = {"parts": [{"text": system}]}
    return example


def chat(*turns: str) -> dict:
    """Alternating user/model text turns."""
    roles = itertools.cycle(("user", "model"))
    return {"contents": [{"role": next(roles), "parts": [{"text": text}]} for text in turns]}


def jsonl(*records) -> str:
    return "".join((r if isinstance(r, str) else json.dumps(r, ensure_ascii=False)) + "\n" for r in records)


def many(n: int, start: int = 0) -> list[dict]:
    return [vertex(f"Question number {i}?", f"Answer number {i}.") for i in range(start, start + n)]


def read_jsonl(text: str | bytes) -> list[dict]:
    if isinstance(text, bytes):
        text = text.decode("utf-8")
    return [json.loads(line) for line in text.split("\n") if line]


@pytest.fixture
def write(tmp_path: Path):
    """Write text (or bytes) to a file under tmp_path and return its path as a string."""

    def _write(name: str, content: str | bytes) -> str:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8", newline="")
        return str(path)

    return _write


@pytest.fixture
def storage(gemini_conn):
    """The storage client the operator uses (through the hook), on the session emulator."""
    from airflow_tuning.hooks.tuning import GeminiTuningHook

    return GeminiTuningHook().get_storage_client()


@pytest.fixture
def bucket(gemini_conn, storage) -> str:
    """A fresh bucket name on the emulated GCS."""
    name = f"dataset-tests-{next(_bucket_numbers)}"
    gemini_conn.create_bucket(name)
    return name


def objects(storage, bucket: str) -> dict[str, int]:
    """Object name -> generation, for every object in the bucket."""
    return {blob.name: int(blob.generation) for blob in storage.list_blobs(bucket)}


REPO = Path(__file__).resolve().parents[2]
