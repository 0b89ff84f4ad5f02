"""In-line training examples: the accepted forms, the tutorial's limits, and the create request."""

from __future__ import annotations

import io
import json

import pytest

from airflow_tuning.backends.gemini_api.examples import (
    MAX_INPUT_CHARS,
    MAX_OUTPUT_CHARS,
    Example,
    ExampleError,
    create_request,
    examples_from_items,
    examples_from_json_text,
    examples_from_jsonl,
    hyperparameters,
)
from tests.gemini_api.number_sequence import EXAMPLES, PAIRS


def vertex(*turns: str, **extra):
    roles = ["user", "model"] * len(turns)
    return {"contents": [{"role": r, "parts": [{"text": t}]} for r, t in zip(roles, turns)], **extra}


def test_every_accepted_form_gives_the_same_pair():
    forms = [
        ["1", "2"],
        ("1", "2"),
        {"text_input": "1", "output": "2"},
        {"input": "1", "output": "2"},
        vertex("1", "2"),
        json.dumps({"text_input": "1", "output": "2"}),
        json.dumps(vertex("1", "2")).encode(),
    ]
    assert examples_from_items(forms) == [Example("1", "2")] * len(forms)


def test_the_tutorial_pairs_are_valid_as_lists_and_as_dicts():
    assert examples_from_items(PAIRS) == examples_from_items(EXAMPLES)
    assert len(examples_from_items(PAIRS)) == 15


def test_limits_are_the_tutorials_and_inclusive():
    assert (MAX_INPUT_CHARS, MAX_OUTPUT_CHARS) == (40_000, 5_000)
    at_limit = [{"text_input": "a" * 40_000, "output": "b" * 5_000}]
    assert examples_from_items(at_limit)[0].output == "b" * 5_000


def test_every_bad_example_is_named_by_its_index_before_anything_is_sent():
    items = [
        ["1", "2"],
        {"text_input": "x" * 40_001, "output": "ok"},
        {"text_input": "ok", "output": "y" * 5_001},
        vertex("hi", "hello", "how are you", "fine"),
        vertex("q", "a", systemInstruction={"parts": [{"text": "be brief"}]}),
        {"text_input": "", "output": "empty input"},
        {"contents": [{"role": "user", "parts": [{"fileData": {"mimeType": "image/png", "fileUri": "gs://b/i"}}]},
                      {"role": "model", "parts": [{"text": "a cat"}]}]},
        ["only one"],
        42,
    ]
    with pytest.raises(ExampleError) as caught:
        examples_from_items(items, "training_examples")
    message = str(caught.value)
    assert "training_examples: 8 example(s) the Gemini API would refuse" in message
    assert "training_examples[1]: 40,001 characters of input exceed the limit of 40,000" in message
    assert "training_examples[2]: 5,001 characters of output exceed the limit of 5,000" in message
    assert "training_examples[3]: only one user turn and one model turn are allowed here, got 4 turns" in message
    assert "training_examples[4]: 'systemInstruction' is not supported by Gemini API tuning" in message
    assert "training_examples[5]: 'text_input' is empty" in message
    assert "training_examples[6]: contents[0].parts[0] is fileData: only text parts are allowed" in message
    assert "training_examples[7]: an [input, output] pair must have 2 items, got 1" in message
    assert "training_examples[8]: expected a JSON object, got a number" in message
    assert "training_examples[0]" not in message


def test_a_jsonl_file_names_the_line(tmp_path):
    lines = [json.dumps({"text_input": "1", "output": "2"}), "", json.dumps(vertex("a", "b", "c", "d")), "{oops"]
    path = tmp_path / "pairs.jsonl"
    path.write_text("\n".join(lines) + "\n")
    with open(path, "rb") as stream, pytest.raises(ExampleError) as caught:
        examples_from_jsonl(stream, str(path))
    message = str(caught.value)
    assert f"{path}: 2 example(s)" in message
    assert "line 3: only one user turn and one model turn are allowed here, got 4 turns" in message
    assert "line 4: not valid JSON" in message
    good = io.BytesIO(b"\xef\xbb\xbf" + "\r\n".join(json.dumps(e) for e in EXAMPLES).encode())
    assert [e.text_input for e in examples_from_jsonl(good, "mem")] == [p[0] for p in PAIRS]


def test_rendered_templates_json_array_or_jsonl():
    assert examples_from_json_text(json.dumps(PAIRS)) == examples_from_items(PAIRS)
    assert examples_from_json_text("\n".join(json.dumps(e) for e in EXAMPLES)) == examples_from_items(PAIRS)
    with pytest.raises(ExampleError, match="no training examples"):
        examples_from_items([])
    with pytest.raises(ExampleError, match="must be a list of examples, got an object"):
        examples_from_items({"text_input": "1", "output": "2"})


def test_create_request_matches_the_tutorials_rest_body():
    body = create_request(
        examples_from_items(PAIRS[:2]),
        display_name="number generator model",
        epoch_count="5",
        batch_size=2,
        learning_rate="0.001",
    )
    assert body == {
        "baseModel": "models/gemini-1.5-flash-001-tuning",
        "displayName": "number generator model",
        "tuningTask": {
            "hyperparameters": {"epochCount": 5, "batchSize": 2, "learningRate": 0.001},
            "trainingData": {"examples": {"examples": [{"textInput": "1", "output": "2"},
                                                       {"textInput": "3", "output": "4"}]}},
        },
    }
    assert create_request([Example("a", "b")], base_model="gemini-1.5-flash-001-tuning")["baseModel"] == (
        "models/gemini-1.5-flash-001-tuning"
    )


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"epoch_count": 0}, "epoch_count must be a positive integer"),
        ({"batch_size": "four"}, "batch_size must be a positive integer"),
        ({"learning_rate": -1}, "learning_rate must be a positive number"),
        ({"learning_rate": 0.1, "learning_rate_multiplier": 1.0}, "not both"),
    ],
)
def test_bad_hyperparameters_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        hyperparameters(**kwargs)
    assert hyperparameters() == {}


def test_training_examples_sources(tmp_path):
    from airflow_tuning.backends.gemini_api.examples import examples_from_source

    path = tmp_path / "pairs.jsonl"
    path.write_text("\n".join(json.dumps(e) for e in EXAMPLES) + "\n")
    expected = examples_from_items(PAIRS)
    assert examples_from_source(PAIRS) == (expected, "in-line examples")
    assert examples_from_source(json.dumps(EXAMPLES)) == (expected, "in-line examples")
    assert examples_from_source(str(path)) == (expected, str(path))

    opened = []

    def open_gcs(uri):
        opened.append(uri)
        return open(path, "rb")

    upload_result = {"training_dataset_uri": "gs://b/data/abc/train.jsonl", "changed": True}
    assert examples_from_source(upload_result, open_gcs) == (expected, "gs://b/data/abc/train.jsonl")
    assert opened == ["gs://b/data/abc/train.jsonl"]
    with pytest.raises(ExampleError, match="cannot be read"):
        examples_from_source(str(tmp_path / "missing.jsonl"))
    with pytest.raises(ExampleError, match="without 'training_dataset_uri'"):
        examples_from_source({"examples": 3})
    with pytest.raises(ExampleError, match="is required"):
        examples_from_source(None)
