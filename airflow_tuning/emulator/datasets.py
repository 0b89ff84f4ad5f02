"""Reading and validating a tuning dataset (Gemini ``contents`` JSONL) from the emulated Cloud Storage.

Vertex AI validates the data when a tuning job starts and fails the job (``error.code`` 3) with a message
that names the file and the line; this module applies the same checks, once per job, and computes the
``supervisedTuningDataStats`` the job then reports.
"""

from __future__ import annotations

import json
import math
import statistics
from dataclasses import dataclass
from typing import Any

from airflow_tuning.emulator.learner import count_tokens
from airflow_tuning.emulator.wire import int64

ROLES = ("user", "model")
BATCH_SIZE = 8
SAMPLE_EXAMPLES = 3


class DatasetError(ValueError):
    """The dataset cannot be used; the message names the gs:// file, the line and the reason."""


@dataclass
class Dataset:
    uri: str
    examples: list[tuple[str, str]]
    contents: list[list[dict[str, Any]]]  # the first few examples' contents, for stats
    user_tokens: list[int]
    model_tokens: list[int]
    user_messages: list[int]
    characters: int


def split_uri(uri: str) -> tuple[str, str]:
    if not isinstance(uri, str) or not uri.startswith("gs://") or "/" not in uri[5:]:
        raise DatasetError(f"Invalid dataset URI {uri!r}: expected gs://BUCKET/OBJECT")
    bucket, _, path = uri[5:].partition("/")
    if not bucket or not path:
        raise DatasetError(f"Invalid dataset URI {uri!r}: expected gs://BUCKET/OBJECT")
    return bucket, path


def read_object(storage_client: Any, uri: str) -> bytes:
    """The object's bytes; a missing bucket or object is a dataset error naming the URI."""
    from google.api_core import exceptions

    bucket, path = split_uri(uri)
    try:
        return storage_client.bucket(bucket).blob(path).download_as_bytes()
    except exceptions.NotFound:
        raise DatasetError(f"Failed to read dataset {uri}: the object does not exist.") from None


def _part_text(part: Any) -> str | None:
    if not isinstance(part, dict):
        return None
    text = part.get("text")
    if isinstance(text, str) and text.strip():
        return text
    if any(key in part for key in ("fileData", "file_data", "inlineData", "inline_data")):
        return ""
    return None


def parse_line(line: str) -> tuple[str, str, list[dict[str, Any]], int, int]:
    """One example: (user text, model answer, contents, user tokens, model tokens); ValueError says why not."""
    try:
        record = json.loads(line)
    except ValueError as err:
        raise ValueError(f"not valid JSON ({err})") from None
    if not isinstance(record, dict):
        raise ValueError(f"expected a JSON object, got {type(record).__name__}")
    contents = record.get("contents")
    if not isinstance(contents, list) or not contents:
        raise ValueError('missing or empty "contents" (a list of user/model turns)')
    user_texts: list[str] = []
    model_texts: list[str] = []
    expected = "user"
    for index, content in enumerate(contents):
        if not isinstance(content, dict):
            raise ValueError(f"contents[{index}] is not an object")
        role = content.get("role")
        if role not in ROLES:
            raise ValueError(f'contents[{index}].role must be "user" or "model", got {role!r}')
        if role != expected:
            raise ValueError(f'contents[{index}].role is {role!r}: turns must alternate, starting with "user"')
        parts = content.get("parts")
        if not isinstance(parts, list) or not parts:
            raise ValueError(f"contents[{index}].parts is missing or empty")
        texts = []
        for part_index, part in enumerate(parts):
            text = _part_text(part)
            if text is None:
                raise ValueError(f"contents[{index}].parts[{part_index}] has no text or data")
            texts.append(text)
        (user_texts if role == "user" else model_texts).append(" ".join(t for t in texts if t))
        expected = "model" if role == "user" else "user"
    if contents[-1].get("role") != "model":
        raise ValueError('the last turn must have role "model" (the answer to learn)')
    user_text = "\n".join(user_texts)
    clean = [{"role": c["role"], "parts": [{"text": p["text"]} for p in c["parts"] if p.get("text")]}
             for c in contents]
    return (user_text, model_texts[-1], clean,
            sum(count_tokens(t) for t in user_texts), sum(count_tokens(t) for t in model_texts))


def parse_dataset(uri: str, data: bytes) -> Dataset:
    """Validate every line; the first bad one raises DatasetError naming ``uri`` and the line number."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        line_no = data[: err.start].count(b"\n") + 1
        raise DatasetError(f"Invalid dataset {uri}: line {line_no}: not valid UTF-8.") from None
    dataset = Dataset(uri, [], [], [], [], [], len(text))
    for line_no, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            user_text, answer, contents, user_tokens, model_tokens = parse_line(line)
        except ValueError as err:
            raise DatasetError(f"Invalid dataset {uri}: line {line_no}: {err}.") from None
        dataset.examples.append((user_text, answer))
        if len(dataset.contents) < SAMPLE_EXAMPLES:
            dataset.contents.append(contents)
        dataset.user_tokens.append(user_tokens)
        dataset.model_tokens.append(model_tokens)
        dataset.user_messages.append(sum(1 for c in contents if c["role"] == "user"))
    if not dataset.examples:
        raise DatasetError(f"Invalid dataset {uri}: the file contains no examples.")
    return dataset


def _distribution(values: list[int]) -> dict[str, Any]:
    ordered = sorted(values)
    count = len(ordered)

    def pct(p: float) -> float:
        return float(ordered[min(count - 1, max(0, math.ceil(p * count) - 1))])

    low, high = ordered[0], ordered[-1]
    width = max(1.0, (high - low) / 4)
    buckets = []
    for i in range(4):
        left, right = low + i * width, low + (i + 1) * width
        inside = sum(1 for v in ordered if left <= v < right or (i == 3 and v == right))
        buckets.append({"count": float(inside), "left": left, "right": right})
    return {
        "sum": int64(sum(ordered)),
        "billableSum": int64(sum(ordered)),
        "min": float(low),
        "max": float(high),
        "mean": float(statistics.fmean(ordered)),
        "median": float(statistics.median(ordered)),
        "p5": pct(0.05),
        "p95": pct(0.95),
        "buckets": buckets,
    }


def data_stats(dataset: Dataset, epochs: int) -> dict[str, Any]:
    """``tuningDataStats`` in the shape of the real API (only fields the proto knows)."""
    examples = len(dataset.examples)
    tokens = sum(dataset.user_tokens) + sum(dataset.model_tokens)
    return {
        "supervisedTuningDataStats": {
            "tuningDatasetExampleCount": int64(examples),
            "totalTuningCharacterCount": int64(dataset.characters),
            "totalBillableCharacterCount": int64(dataset.characters),
            "totalBillableTokenCount": int64(tokens * epochs),
            "tuningStepCount": int64(steps_per_epoch(examples) * epochs),
            "userInputTokenDistribution": _distribution(dataset.user_tokens),
            "userOutputTokenDistribution": _distribution(dataset.model_tokens),
            "userMessagePerExampleDistribution": _distribution(dataset.user_messages),
            "userDatasetExamples": dataset.contents[0] if dataset.contents else [],
            "totalTruncatedExampleCount": "0",
        }
    }


def steps_per_epoch(examples: int) -> int:
    return max(1, math.ceil(examples / BATCH_SIZE))
