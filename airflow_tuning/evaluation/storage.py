"""Where evaluation data is read from and reports are written to, in Cloud Storage.

The storage client is passed in (the hook builds it), so these functions work the same against GCS and the
emulated GCS; ``google.*`` is imported only inside the functions that need it.
"""

from __future__ import annotations

import re
from typing import Any

from airflow_tuning.common.names import parse_gs_prefix, parse_gs_uri
from airflow_tuning.evaluation.dataset import EvalDataError, EvalExample, parse_eval_lines

REPORT_JSON = "report.json"
REPORT_HTML = "report.html"
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def safe_segment(value: str) -> str:
    """A run id such as ``manual__2025-01-01T00:00:00+00:00`` as one readable object-path segment."""
    return _UNSAFE.sub("_", value).strip("_") or "run"


def report_prefix(eval_dataset_uri: str, report_uri: str | None, run_label: str) -> str:
    """The folder the report files go to.

    ``report_uri`` (a ``gs://`` prefix) wins; otherwise ``<folder of the eval data>/reports/<run_label>``,
    so the report sits next to the data it judged and a retry of the same run overwrites, not duplicates.
    """
    if report_uri:
        bucket, path = parse_gs_prefix(report_uri, what="report_uri")
        path = path.strip("/")
        return f"gs://{bucket}/{path}" if path else f"gs://{bucket}"
    bucket, name = parse_gs_uri(eval_dataset_uri, what="eval_dataset_uri")
    folder = name.rsplit("/", 1)[0] if "/" in name else ""
    return f"gs://{bucket}/" + "/".join(p for p in (folder, "reports", run_label) if p)


def read_eval_dataset(
    storage_client: Any, uri: str, *, max_examples: int | None = None, retry: Any = None
) -> list[EvalExample]:
    """Download and parse the evaluation JSONL; a missing object is an :class:`EvalDataError`."""
    from google.api_core import exceptions

    bucket, name = parse_gs_uri(uri, what="eval_dataset_uri")
    blob = storage_client.bucket(bucket).blob(name)
    try:
        data = blob.download_as_bytes(retry=retry) if retry is not None else blob.download_as_bytes()
    except exceptions.NotFound:
        raise EvalDataError(f"Evaluation data {uri} does not exist") from None
    return parse_eval_lines(data.splitlines(), uri, max_examples=max_examples)


def upload_text(storage_client: Any, uri: str, text: str, *, content_type: str, retry: Any = None) -> None:
    """Write one text object. Reports are deterministic per run, so a retried upload is safe."""
    bucket, name = parse_gs_uri(uri)
    blob = storage_client.bucket(bucket).blob(name)
    kwargs = {"retry": retry} if retry is not None else {}
    blob.upload_from_string(text.encode("utf-8"), content_type=content_type, **kwargs)
