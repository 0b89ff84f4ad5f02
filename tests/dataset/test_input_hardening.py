"""Inputs a hostile but fair user gives: NUL bytes, compressed or UTF-16 files, header-only CSVs, file names
that are not UTF-8, repeated JSON keys, native-rendered templates and over-long destinations."""

from __future__ import annotations

import gzip
import os

import pytest

from tests.dataset.conftest import jsonl, many, objects
from tests.dataset.test_cli import run_cli


def test_csv_cells_with_nul_bytes_are_invalid(write):
    path = write("nul.csv", "input,output\nq1,a1\nq\x002,a2\n")
    result = run_cli(path)
    out = result.stdout.decode()
    assert result.returncode == 1
    assert f"{path}:3: column 'input' contains a NUL byte" in out


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (gzip.compress(jsonl(*many(3)).encode()), "is gzip-compressed, not UTF-8 text; decompress it first (gunzip"),
        (jsonl(*many(3)).encode("utf-16"), "is UTF-16 encoded (little-endian byte-order mark)"),
        (jsonl(*many(3)).encode("utf-16-be"), "is UTF-16 or binary"),
    ],
    ids=["gzip", "utf-16-bom", "utf-16-no-bom"],
)
def test_compressed_and_utf16_files_name_the_likely_cause(write, content, expected):
    path = write("data.jsonl", content)
    result = run_cli(path)
    assert result.returncode == 2
    assert f"{path}: the file {expected}" in result.stderr.decode()


def test_a_header_only_csv_says_why_it_is_invalid(write):
    path = write("empty.csv", "input,output\n")
    result = run_cli(path)
    out = result.stdout.decode()
    assert result.returncode == 1
    assert f"reason: no valid example found; no records in {path}" in out
    assert out.rstrip().endswith("INVALID")


def test_a_file_name_that_is_not_utf8_does_not_crash_the_cli(tmp_path):
    name = os.path.join(os.fsencode(tmp_path), b"bad-\xff-name.jsonl")
    with open(name, "wb") as fh:
        fh.write(jsonl(*many(1), '{"contents": 1}').encode())
    result = run_cli(str(tmp_path))
    err = result.stderr.decode()
    assert "UnicodeEncodeError" not in err and "Traceback" not in err
    assert result.returncode == 1
    assert "bad-\\udcff-name.jsonl:2:" in result.stdout.decode()


def test_duplicate_json_keys_are_warned_with_their_line(write):
    path = write("dup.jsonl", jsonl(*many(2)) + '{"input": "q", "input": "q2", "output": "a"}\n')
    result = run_cli(path)
    out = result.stdout.decode()
    assert result.returncode == 0, out
    assert f"warning: {path}:3: the key 'input' appears twice in one object; the last value is used" in out


def test_repeated_keys_are_checked_deep_in_the_first_files_and_at_the_top_of_every_file(write):
    """A run checks each file's first lines at full depth until it has checked RUN_CHECK_BYTES in all, then the
    first FEW_LINES lines of every further file: many small files keep the validation speed of one."""
    from airflow_tuning.dataset import local_sources, validate
    from airflow_tuning.dataset.duplicate_keys import CHECK_BYTES, FEW_LINES, RUN_CHECK_BYTES

    pad = "x" * 1000

    def lines(count: int, repeat_at: int | None = None) -> str:
        rows = [{"input": f"q{i} {pad}", "output": "a"} for i in range(count)]
        text = jsonl(*rows).splitlines(keepends=True)
        if repeat_at is not None:
            text[repeat_at - 1] = '{"input": "q", "input": "q2", "output": "a"}\n'
        return "".join(text)

    per_file = CHECK_BYTES // 1000 + 50  # each of these files is checked up to CHECK_BYTES
    paths = [write("part-00.jsonl", lines(per_file, repeat_at=900))]  # deep in the first file: found
    paths += [write(f"part-{i:02}.jsonl", lines(per_file)) for i in range(1, RUN_CHECK_BYTES // CHECK_BYTES + 1)]
    paths += [write("part-98.jsonl", lines(200, repeat_at=FEW_LINES)),  # at the top of a later file: found
              write("part-99.jsonl", lines(200, repeat_at=FEW_LINES + 1))]  # below it, once the run's bytes are spent
    report = validate(local_sources(paths))
    assert report.invalid == 0
    warned = [w for w in report.warnings if "appears twice" in w]
    assert warned == [f"{paths[0]}:900: the key 'input' appears twice in one object; the last value is used",
                      f"{paths[-2]}:{FEW_LINES}: the key 'input' appears twice in one object; the last value is used"]


def test_a_native_rendered_number_is_named_as_the_wrong_argument(airflow_db, gemini_conn, write, bucket, capfd):
    from tests.dags import dataset_upload

    good = write("good.jsonl", jsonl({"input": "q", "output": "a"}))
    run = dataset_upload.dag.test(
        run_conf={"sources": [good], "destination": f"gs://{bucket}/d", "system_instruction": "123"}
    )
    logged = "".join(capfd.readouterr())
    ti = run.get_task_instance("upload")
    assert str(ti.state) == "failed" and ti.try_number == 1
    assert "system_instruction must be text, got int 123" in logged


def test_a_destination_prefix_over_the_object_name_limit_is_refused(airflow_db, gemini_conn, write, storage, bucket):
    from airflow_tuning.dataset.publish import MAX_PREFIX_BYTES, Destination
    from tests.dags import dataset_upload

    assert Destination.parse(f"gs://b/{'p' * MAX_PREFIX_BYTES}").prefix
    too_long = f"gs://{bucket}/{'é' * 600}"
    with pytest.raises(ValueError, match="is 1,200 bytes; Cloud Storage object names are at most 1,024 bytes"):
        Destination.parse(too_long)
    good = write("good.jsonl", jsonl(*many(3)))
    run = dataset_upload.dag.test(run_conf={"sources": [good], "destination": too_long})
    ti = run.get_task_instance("upload")
    assert str(ti.state) == "failed" and ti.try_number == 1  # retries=2: refused, not retried
    assert objects(storage, bucket) == {}
