"""Training data for Gemini Developer API tuning: in-line input/output examples, checked before submission.

The Developer API takes its training set in the create request itself (``tuningTask.trainingData.examples``),
not as a file in Cloud Storage. Google's tuning tutorial limits each example to 40,000 characters of input
and 5,000 of output, and accepts input/output pairs only (no chat-style multi-turn data). Those numbers are
the ``gemini-api`` preset of :mod:`airflow_tuning.dataset.limits`, and each example is checked by the same
rules the dataset pipeline applies, so "valid for the Gemini API" means one thing everywhere.

Accepted example forms: ``{"text_input"|"input": ..., "output": ...}`` pairs, two-item ``[input, output]``
lists (the tutorial's form), single-turn Vertex ``{"contents": [user, model]}`` examples (what
``UploadDatasetOperator`` writes), or any of these as JSON text. Every example is checked before anything is
sent; an error names the list index or the file and line of each bad example.

Pure Python: no Airflow, no Google import.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, BinaryIO

from airflow_tuning.common.rendered import positive_float, positive_int
from airflow_tuning.dataset.formats import MAX_LINE_BYTES, OVERSIZED, decode_json_line, iter_lines
from airflow_tuning.dataset.limits import PRESETS
from airflow_tuning.dataset.validation import InvalidExample, check_example, json_type

LIMITS = PRESETS["gemini-api"]
MAX_INPUT_CHARS: int = LIMITS.max_input_chars or 40_000
MAX_OUTPUT_CHARS: int = LIMITS.max_output_chars or 5_000
#: The model the tutorial tunes; Google lists no Gemini API model that can be tuned today.
DEFAULT_BASE_MODEL = "models/gemini-1.5-flash-001-tuning"
MAX_REPORTED_PROBLEMS = 10
_NOT_PAIRS = ("systemInstruction", "system_instruction", "tools")


class ExampleError(ValueError):
    """Training examples the Gemini API would refuse; the message lists where and why."""


@dataclass(frozen=True)
class Example:
    """One input/output pair, as the Developer API's ``TuningExample`` holds it."""

    text_input: str
    output: str

    def to_api(self) -> dict[str, str]:
        return {"textInput": self.text_input, "output": self.output}


def _text(turn: Mapping[str, Any]) -> str:
    return "".join(part["text"] for part in turn["parts"])


def parse_example(item: Any) -> Example:
    """One example in any accepted form; ``InvalidExample`` (reason only, no location) when it is unusable."""
    if isinstance(item, (str, bytes)):
        raw = item.encode("utf-8", "surrogatepass") if isinstance(item, str) else item
        item = decode_json_line(raw)
    if isinstance(item, (list, tuple)):
        if len(item) != 2:
            raise InvalidExample(f"an [input, output] pair must have 2 items, got {len(item)}")
        item = {"text_input": item[0], "output": item[1]}
    if isinstance(item, Mapping) and "contents" in item:
        unsupported = [key for key in _NOT_PAIRS if key in item]
        if unsupported:
            raise InvalidExample(
                f"{unsupported[0]!r} is not supported by Gemini API tuning, which takes input/output pairs only"
            )
    if isinstance(item, Mapping) and not isinstance(item, dict):
        item = dict(item)
    canonical, _files, _kind = check_example(item, LIMITS)
    user, model = canonical["contents"]
    return Example(_text(user), _text(model))


def _collect(numbered: Iterable[tuple[str, Any]], source: str) -> list[Example]:
    examples: list[Example] = []
    problems: list[str] = []
    bad = 0
    for where, item in numbered:
        try:
            if isinstance(item, InvalidExample):
                raise item
            examples.append(parse_example(item))
        except InvalidExample as err:
            bad += 1
            if len(problems) < MAX_REPORTED_PROBLEMS:
                problems.append(f"{where}: {err}")
    if bad:
        more = f"\n  ... and {bad - len(problems)} more" if bad > len(problems) else ""
        raise ExampleError(
            f"{source}: {bad} example(s) the Gemini API would refuse (limits: input <= {MAX_INPUT_CHARS:,} "
            f"characters, output <= {MAX_OUTPUT_CHARS:,}, single-turn text pairs only):\n  "
            + "\n  ".join(problems)
            + more
        )
    if not examples:
        raise ExampleError(f"{source}: no training examples")
    return examples


def examples_from_items(items: Sequence[Any], source: str = "examples") -> list[Example]:
    """Examples from an in-line list; problems are named ``examples[i]`` (0-based, as in Python)."""
    if isinstance(items, (str, bytes, Mapping)) or not isinstance(items, Iterable):
        raise ExampleError(f"{source} must be a list of examples, got {json_type(items)}")
    return _collect(((f"{source}[{index}]", item) for index, item in enumerate(items)), source)


def examples_from_jsonl(stream: BinaryIO, source: str) -> list[Example]:
    """Examples from a JSONL stream (pairs or single-turn Vertex lines); problems are named by line."""

    def numbered() -> Iterable[tuple[str, Any]]:
        for number, raw in iter_lines(stream):
            if raw is OVERSIZED:
                yield f"line {number}", InvalidExample(f"line is longer than {MAX_LINE_BYTES:,} bytes")
            elif raw and not raw.isspace():
                yield f"line {number}", raw

    return _collect(numbered(), source)


def examples_from_json_text(text: str, source: str = "examples") -> list[Example]:
    """A rendered template: a JSON array of examples, or JSONL."""
    stripped = text.strip()
    if stripped.startswith("["):
        try:
            items = json.loads(stripped)
        except ValueError as err:
            raise ExampleError(f"{source} is not a valid JSON array: {err}") from None
        return examples_from_items(items, source)
    return examples_from_jsonl(io.BytesIO(stripped.encode("utf-8")), source)


# -- the create request --------------------------------------------------------------------------------
def hyperparameters(
    epoch_count: Any = None, batch_size: Any = None, learning_rate: Any = None, learning_rate_multiplier: Any = None
) -> dict[str, Any]:
    """The ``tuningTask.hyperparameters`` object; unset values are left to the service's defaults."""
    values = {
        "epochCount": positive_int("epoch_count", epoch_count),
        "batchSize": positive_int("batch_size", batch_size),
        "learningRate": positive_float("learning_rate", learning_rate),
        "learningRateMultiplier": positive_float("learning_rate_multiplier", learning_rate_multiplier),
    }
    if values["learningRate"] is not None and values["learningRateMultiplier"] is not None:
        raise ValueError("give learning_rate or learning_rate_multiplier, not both")
    return {key: value for key, value in values.items() if value is not None}


def create_request(
    examples: Sequence[Example],
    *,
    base_model: str = DEFAULT_BASE_MODEL,
    display_name: str | None = None,
    description: str | None = None,
    epoch_count: Any = None,
    batch_size: Any = None,
    learning_rate: Any = None,
    learning_rate_multiplier: Any = None,
) -> dict[str, Any]:
    """The ``tunedModels.create`` body (camelCase, as the REST API documents it)."""
    if not examples:
        raise ExampleError("no training examples")
    model = str(base_model or "").strip()
    if not model:
        raise ValueError("base_model is required, e.g. models/gemini-1.5-flash-001-tuning")
    if not model.startswith("models/"):
        model = f"models/{model}"
    task: dict[str, Any] = {"trainingData": {"examples": {"examples": [example.to_api() for example in examples]}}}
    hyper = hyperparameters(epoch_count, batch_size, learning_rate, learning_rate_multiplier)
    if hyper:
        task["hyperparameters"] = hyper
    body: dict[str, Any] = {"baseModel": model, "tuningTask": task}
    if display_name:
        body["displayName"] = display_name
    if description:
        body["description"] = description
    return body


# -- where the examples come from ------------------------------------------------------------------------
def examples_from_source(value: Any, open_gcs: Callable[[str], Any] | None = None) -> tuple[list[Example], str]:
    """Examples from what a DAG passes as ``training_examples``, and a short description of the source.

    - a list of examples (pairs, ``[input, output]``, single-turn Vertex examples, JSON strings);
    - ``UploadDatasetOperator``'s result (a mapping with ``training_dataset_uri``), or any ``gs://`` URI of a
      JSONL file (read with ``open_gcs(uri)``, a binary stream);
    - a local JSONL file path (pairs or single-turn Vertex lines);
    - a rendered template: a JSON array, or JSONL text.
    """
    if isinstance(value, Mapping):
        uri = value.get("training_dataset_uri")
        if not uri:
            raise ExampleError(
                "training_examples is a mapping without 'training_dataset_uri'; pass a list of examples, a "
                "JSONL file, or UploadDatasetOperator's result"
            )
        value = str(uri)
    if isinstance(value, str):
        text = value.strip()
        if text.startswith(("[", "{")):
            return examples_from_json_text(text, "training_examples"), "in-line examples"
        if text.startswith("gs://"):
            if open_gcs is None:
                raise ExampleError(f"{text}: reading from Cloud Storage needs a storage client")
            with open_gcs(text) as stream:
                return examples_from_jsonl(stream, text), text
        if not text:
            raise ExampleError("training_examples is empty")
        try:
            with open(text, "rb") as stream:
                return examples_from_jsonl(stream, text), text
        except OSError as err:
            raise ExampleError(f"{text}: cannot be read ({err.strerror})") from None
    if value is None:
        raise ExampleError("training_examples is required for backend='gemini_api'")
    return examples_from_items(value, "training_examples"), "in-line examples"
