"""Preference, prompt and supervised files in the emulated GCS, shared by the method tests."""

from __future__ import annotations

import json
import uuid

import pytest

BUCKET = "method-tests"
QUESTIONS = ["How do I reset my router", "Which port does ssh use", "How to brew green tea", "Best way to learn chess"]


def turn(role: str, text: str) -> dict:
    return {"role": role, "parts": [{"text": text}]}


def preference_line(prompt: str, chosen: str, rejected: str) -> str:
    return json.dumps({
        "contents": [turn("user", prompt)],
        "completions": [{"score": 1, "completion": turn("model", chosen)},
                        {"score": 0, "completion": turn("model", rejected)}],
    })


def chosen(i: int) -> str:
    return f"Helpful answer number {i}: follow the steps carefully."


def rejected(i: int) -> str:
    return f"Rude answer {i}: figure it out yourself."


@pytest.fixture(scope="session")
def method_data(emulator) -> dict[str, str]:
    bucket = emulator.create_bucket(BUCKET)
    pref = [preference_line(q, chosen(i), rejected(i)) for i, q in enumerate(QUESTIONS)]
    files = {
        "preference": "\n".join(pref) + "\n",
        "preference_bad": "\n".join([pref[0], pref[1], pref[2],
                                     json.dumps({**json.loads(pref[3]), "completions": []})]) + "\n",
        "prompts": "\n".join(json.dumps({"contents": [turn("user", q)]}) for q in QUESTIONS) + "\n",
        "prompts_bad": json.dumps({"contents": [turn("user", "a")]}) + "\n" + '{"contents": 3}\n',
        "supervised": "\n".join(
            json.dumps({"contents": [turn("user", q), turn("model", f"Plain answer {i}")]})
            for i, q in enumerate(QUESTIONS)
        ) + "\n" + json.dumps({"contents": [turn("user", "What is the capital of Atlantis?"),
                                             turn("model", "Poseidonia")]}) + "\n",
        "trl": json.dumps({"prompt": "hi", "chosen": "hello", "rejected": "go away"}) + "\n",
    }
    for name, text in files.items():
        bucket.blob(f"{name}.jsonl").upload_from_string(text, content_type="application/jsonl")
    return {name: f"gs://{BUCKET}/{name}.jsonl" for name in files}


@pytest.fixture
def test_id() -> str:
    return f"m{uuid.uuid4().hex[:12]}"
