"""Preference and prompt data: the rules, the TRL and CSV conversions, ``airflow-tuning validate --format
preference|prompts`` and ``UploadDatasetOperator(format=...)`` inside ``dag.test()`` on the emulator."""

from __future__ import annotations

import json

import pytest

from airflow_tuning.dataset.preference import check_preference, check_prompts, from_trl
from airflow_tuning.dataset.validation import InvalidExample
from tests.dag_results import xcom
from tests.dataset.conftest import objects, read_jsonl
from tests.dataset.test_cli import run_cli


def turn(role, text):
    return {"role": role, "parts": [{"text": text}]}


def pref(prompt="Q", chosen="good", rejected="bad", **extra):
    return {"contents": [turn("user", prompt)],
            "completions": [{"score": 1, "completion": turn("model", chosen)},
                            {"score": 0, "completion": turn("model", rejected)}], **extra}


def test_a_vertex_preference_example_is_kept_in_canonical_form():
    example = pref(system_instruction={"parts": [{"text": "be kind"}]})
    out = check_preference(example)
    assert out["systemInstruction"] == {"parts": [{"text": "be kind"}]}
    assert [c["score"] for c in out["completions"]] == [1, 0]
    multi = {**pref(), "contents": [turn("user", "a"), turn("model", "b"), turn("user", "c")]}
    assert len(check_preference(multi)["contents"]) == 3


@pytest.mark.parametrize(
    ("example", "reason"),
    [
        ({**pref(), "contents": [turn("user", "a"), turn("model", "b")]}, "must be a \"user\" turn"),
        ({**pref(), "completions": pref()["completions"][:1]}, "exactly two entries"),
        ({**pref(), "completions": [pref()["completions"][0]] * 2}, "one scored 1"),
        ({**pref(), "completions": [{"score": 2, "completion": turn("model", "x")},
                                    pref()["completions"][1]]}, "score must be 0 or 1"),
        ({**pref(), "completions": [{"score": 1, "completion": turn("user", "x")},
                                    pref()["completions"][1]]}, "\"role\": \"model\""),
        ({**pref(), "contents": [{"role": "user", "parts": [{"fileData": {"fileUri": "gs://b/i.png"}}]}]},
         "text only"),
        (pref(prompt="x" * 600_000), "131,072"),
        ({**pref(), "extra": 1}, "unknown field"),
        ({**pref(), "systemInstruction": {"parts": [{"text": "a"}]},
          "system_instruction": {"parts": [{"text": "b"}]}}, "not both"),
    ],
)
def test_bad_preference_examples_say_why(example, reason):
    with pytest.raises(InvalidExample, match=reason.replace("(", r"\(")):
        check_preference(example)


def test_trl_rows_convert_with_string_or_chat_prompts():
    simple = from_trl({"prompt": "Hi", "chosen": "Hello!", "rejected": "Go away"})
    assert simple == check_preference(pref("Hi", "Hello!", "Go away"))
    chat = check_preference({
        "prompt": [{"role": "system", "content": "Be brief"}, {"role": "user", "content": "Q1"},
                   {"role": "assistant", "content": "A1"}, {"role": "user", "content": "Q2"}],
        "chosen": [{"role": "assistant", "content": "yes"}],
        "rejected": [{"role": "assistant", "content": "no"}],
    })
    assert chat["systemInstruction"] == {"parts": [{"text": "Be brief"}]}
    assert [t["role"] for t in chat["contents"]] == ["user", "model", "user"]
    with pytest.raises(InvalidExample, match="chosen"):
        check_preference({"prompt": "Q", "chosen": "", "rejected": "no"})


def test_prompt_examples_need_only_a_user_turn():
    assert check_prompts({"contents": [turn("user", "Q")]}) == {"contents": [turn("user", "Q")]}
    with pytest.raises(InvalidExample, match="user"):
        check_prompts({"contents": [turn("user", "Q"), turn("model", "A")]})


def test_cli_names_each_bad_line_and_converts_trl_and_csv(write):
    lines = [json.dumps(pref("A")), json.dumps({"prompt": "B", "chosen": "c", "rejected": "r"}),
             json.dumps(pref("A")), json.dumps({**pref("C"), "completions": []}), "{not json"]
    path = write("pref.jsonl", "\n".join(lines) + "\n")
    result = run_cli("--format", "preference", path)
    out = result.stdout.decode()
    assert result.returncode == 1
    assert f"{path}:4: \"completions\" must hold exactly two entries" in out and f"{path}:5:" in out
    assert "2 unique valid example(s) (2 preference), 2 invalid, 1 duplicate(s)" in out
    csv_path = write("pref.csv", 'question,good,bad\n"Q, 1",yes,no\n"multi\nline",a,b\n')
    result = run_cli("--format", "preference", "--prompt-column", "question", "--chosen-column", "good",
                     "--rejected-column", "bad", csv_path)
    assert result.returncode == 0, result.stdout.decode() + result.stderr.decode()
    assert "2 unique valid example(s) (2 preference)" in result.stdout.decode()
    result = run_cli("--format", "preference", csv_path)
    assert result.returncode == 2 and "no column 'prompt'" in result.stderr.decode()
    prompts = write("p.jsonl", json.dumps({"contents": [turn("user", "Q")]}) + "\n" + json.dumps(pref()) + "\n")
    result = run_cli("--format", "prompts", prompts)
    assert result.returncode == 1 and f"{prompts}:2: unknown field(s) completions" in result.stdout.decode()


@pytest.fixture
def pref_dags(airflow_db, gemini_conn):
    from tests.dags import preference_upload

    return preference_upload


def test_upload_converts_dedupes_splits_and_publishes_by_content(pref_dags, write, storage, bucket):
    rows = [{"prompt": f"Question {i}", "chosen": f"good {i}", "rejected": f"bad {i}"} for i in range(40)]
    jsonl_path = write("p/train.jsonl", "\n".join(json.dumps(r) for r in rows + rows[:3]) + "\n")
    csv_path = write("p/more.csv", "question,good,bad\nExtra,yes,no\n")
    conf = {"sources": [jsonl_path, csv_path], "destination": f"gs://{bucket}/pref"}
    run = pref_dags.preference_dag.test(run_conf=conf)
    assert run.state == "success", xcom(run, "upload", "failure")
    result = xcom(run, "upload")
    assert (result["examples"] + result["validation_examples"], result["duplicates"]) == (41, 3)
    assert result["validation_examples"] > 0
    train = read_jsonl(storage.bucket(bucket).blob(result["training_dataset_uri"].split("/", 3)[3]).download_as_bytes())
    assert all(check_preference(line) == line for line in train)
    manifest = json.loads(storage.bucket(bucket).blob(result["manifest_uri"].split("/", 3)[3]).download_as_bytes())
    assert manifest["format"] == "vertex-gemini-preference-jsonl"
    again = pref_dags.preference_dag.test(run_conf=conf)
    assert xcom(again, "upload")["changed"] is False and xcom(again, "upload")["sha256"] == result["sha256"]


def test_upload_of_bad_preference_data_writes_nothing(pref_dags, write, storage, bucket):
    path = write("bad.jsonl", json.dumps(pref()) + "\n" + json.dumps({**pref("X"), "completions": []}) + "\n")
    run = pref_dags.preference_dag.test(run_conf={"sources": [path], "destination": f"gs://{bucket}/pref"})
    assert run.state == "failed"
    assert f"{path}:2:" in xcom(run, "upload", "failure")
    assert objects(storage, bucket) == {}


def test_upload_prompts(pref_dags, write, storage, bucket):
    path = write("prompts.jsonl", "\n".join(json.dumps({"contents": [turn("user", f"P{i}")]}) for i in range(6)))
    run = pref_dags.prompts_dag.test(run_conf={"sources": [path], "destination": f"gs://{bucket}/prompts"})
    assert run.state == "success", xcom(run, "upload", "failure")
    assert xcom(run, "upload")["examples"] + xcom(run, "upload")["validation_examples"] == 6


def test_preference_validation_split_is_capped_at_5000():
    from airflow_tuning.dataset.method_scan import validation_max

    assert validation_max({"preference"}, 10_000) == 5_000
    assert validation_max({"vertex"}, 10_000) == 10_000


def test_the_operator_and_the_cli_accept_the_same_formats():
    from airflow_tuning.dataset.formats import FORMATS
    from airflow_tuning.operators import dataset

    assert dataset.FORMATS == FORMATS
