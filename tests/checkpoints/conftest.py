"""Small tuning data for checkpoint tests: 12 facts to learn, asked again in other words for evaluation.

Twelve examples are learned in three epochs (see airflow_tuning/emulator/checkpoints.py), so a six-epoch
job's checkpoints 4-6 overfit: its best checkpoint on the paraphrased questions is 3, not the last.
"""

from __future__ import annotations

import pytest

from tests.evaluation.conftest import qa

BUCKET = "checkpoint-tests"
FACTS = 12


@pytest.fixture(scope="session")
def checkpoint_data(emulator) -> dict[str, str]:
    bucket = emulator.create_bucket(BUCKET)
    files = {
        "train": [qa(i, paraphrase=False) for i in range(FACTS)],
        "eval": [qa(i, paraphrase=True) for i in range(FACTS)],
        "more": [qa(i, paraphrase=False) for i in range(FACTS, FACTS + 4)],
    }
    for name, lines in files.items():
        bucket.blob(f"data/{name}.jsonl").upload_from_string("\n".join(lines) + "\n")
    return {name: f"gs://{BUCKET}/data/{name}.jsonl" for name in files}

