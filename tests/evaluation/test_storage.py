"""Cloud Storage locations of evaluation data and reports, and their console URLs."""

from __future__ import annotations

import pytest

from airflow_tuning.common.console import storage_object_console_url
from airflow_tuning.common.names import parse_gs_uri
from airflow_tuning.evaluation.storage import report_prefix, safe_segment


def test_parse_gs_uri():
    assert parse_gs_uri("gs://bucket/a/b.jsonl") == ("bucket", "a/b.jsonl")
    for bad in ("bucket/a", "gs://bucket", "gs://bucket/", "s3://b/a", None):
        with pytest.raises(ValueError, match="expected gs://bucket/path"):
            parse_gs_uri(bad)


def test_default_report_prefix_is_next_to_the_eval_data():
    assert report_prefix("gs://b/data/v1/eval.jsonl", None, "run_1") == "gs://b/data/v1/reports/run_1"
    assert report_prefix("gs://b/eval.jsonl", None, "r") == "gs://b/reports/r"


def test_explicit_report_prefix_wins():
    assert report_prefix("gs://b/d/e.jsonl", "gs://other/reports/x/", "r") == "gs://other/reports/x"
    assert report_prefix("gs://b/d/e.jsonl", "gs://other", "r") == "gs://other"
    with pytest.raises(ValueError, match="report_uri 'reports/x' is not a Cloud Storage prefix"):
        report_prefix("gs://b/d/e.jsonl", "reports/x", "r")


def test_safe_segment_turns_run_ids_into_path_segments():
    assert safe_segment("manual__2025-01-01T00:00:00+00:00") == "manual__2025-01-01T00_00_00_00_00"
    assert safe_segment("a/b c") == "a_b_c"
    assert safe_segment("///") == "run"


def test_storage_console_url_quotes_the_object_path():
    assert (
        storage_object_console_url("gs://my-bucket/reports/run 1/report.html")
        == "https://console.cloud.google.com/storage/browser/_details/my-bucket/reports/run%201/report.html"
    )
