"""``airflow-tuning validate``: the report, ``FILE:LINE`` locations and the exit code, as a user runs it."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.dataset.conftest import REPO, jsonl, many


def run_cli(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "airflow_tuning.cli", "validate", *args],
        input=stdin, capture_output=True, cwd=REPO, timeout=60,
    )


def test_valid_files_exit_zero(write):
    jsonl_path = write("good.jsonl", jsonl(*many(120)))
    csv_path = write("good.csv", "input,output\n\"a, b\",c\n")
    result = run_cli(jsonl_path, csv_path)
    out = result.stdout.decode()
    assert result.returncode == 0, out + result.stderr.decode()
    assert "121 unique valid example(s) (1 csv, 120 vertex), 0 invalid" in out
    assert out.rstrip().endswith("OK")


def test_invalid_lines_are_named_file_colon_line_and_exit_one(write):
    path = write("bad.jsonl", jsonl(*many(2), '{"contents": NaN}', {"input": "q", "output": ""}))
    result = run_cli(path)
    out = result.stdout.decode()
    assert result.returncode == 1
    assert f"{path}:3: NaN is not valid JSON" in out
    assert f"{path}:4: 'output' is empty" in out
    assert out.rstrip().endswith("INVALID")


def test_stdin_lines_are_named_line_n_and_format_can_be_forced(write):
    result = run_cli("--format", "pairs", "-", stdin=jsonl({"input": "a", "output": "b"}, *many(1)).encode())
    out = result.stdout.decode()
    assert result.returncode == 1
    assert "\n  line 2: expected an input/output pair" in out


def test_json_report_and_usage_errors(write, tmp_path):
    path = write("t.csv", "text_input,output\nq,a\nq,a\n")
    result = run_cli("--json", "--limits", "gemini-api", path)
    report = json.loads(result.stdout)
    assert result.returncode == 0
    assert (report["ok"], report["examples"], report["duplicates"]) == (True, 1, 1)
    missing = run_cli(str(tmp_path / "absent.jsonl"))
    assert missing.returncode == 2 and b"no such file" in missing.stderr
    assert run_cli("--format", "xml", path).returncode == 2
