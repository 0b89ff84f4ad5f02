"""``airflow-tuning emulator upload FILE... gs://BUCKET/PREFIX/``: seed a running emulator's Cloud Storage.

Files keep their base names under the prefix; a directory contributes every file below it, with its path
relative to the directory; a destination without a trailing ``/`` and one file names the object itself.
The bucket is created when it does not exist yet. Every file is checked before the first byte is sent, so
a typo uploads nothing. The emulator is found at ``--storage-url``, else at the ``storage_endpoint`` of
``$AIRFLOW_CONN_GEMINI_TUNING_DEFAULT`` when that is a plain-http (emulator) address, else at
``http://127.0.0.1:9023``, the emulator's default. Real Cloud Storage is ``gcloud storage cp``'s job.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from collections.abc import Sequence
from pathlib import Path

DEFAULT_STORAGE_URL = "http://127.0.0.1:9023"
BUCKET_RE = re.compile(r"^[a-z0-9][a-z0-9._-]{1,220}[a-z0-9]$")


class UploadError(Exception):
    """A usage problem: named, explained, nothing uploaded."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="airflow-tuning emulator upload",
        description="Copy local files into the emulated Cloud Storage of a running emulator "
                    "(the bucket is created if needed).",
    )
    parser.add_argument("paths", nargs="+", metavar="FILE", help="files or directories, then gs://BUCKET/PREFIX/")
    parser.add_argument("--storage-url", default=None,
                        help=f"the emulator's Cloud Storage address (default: the connection's storage_endpoint "
                             f"when it is http://, else {DEFAULT_STORAGE_URL})")
    return parser


def storage_url(explicit: str | None) -> str:
    if explicit:
        url = explicit.rstrip("/")
    else:
        url = DEFAULT_STORAGE_URL
        try:
            extra = json.loads(os.environ.get("AIRFLOW_CONN_GEMINI_TUNING_DEFAULT") or "{}").get("extra") or {}
        except (ValueError, AttributeError):
            extra = {}
        if isinstance(extra, dict) and str(extra.get("storage_endpoint") or "").startswith("http://"):
            url = extra["storage_endpoint"].rstrip("/")
    if not url.startswith("http://"):
        raise UploadError(f"--storage-url {url!r}: this command only seeds the offline emulator (an http:// "
                          "address); for Google Cloud Storage use `gcloud storage cp`")
    return url


def plan(paths: Sequence[str], destination: str) -> tuple[str, list[tuple[Path, str]]]:
    """(bucket, [(local file, object name)]) for the arguments; raises UploadError before any upload."""
    from airflow_tuning.common.names import parse_gs_prefix

    try:
        bucket, prefix = parse_gs_prefix(destination, what="destination")
    except ValueError as err:
        raise UploadError(f"{err}; the last argument is where the files go, e.g. gs://tuning-data/history/") from None
    if not BUCKET_RE.match(bucket) or ".." in bucket:
        raise UploadError(f"destination {destination!r}: {bucket!r} is not a valid bucket name (3-222 characters: "
                          "lowercase letters, digits, '-', '_' and '.', starting and ending with a letter or digit)")
    files: list[tuple[Path, str]] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found = sorted(p for p in path.rglob("*") if p.is_file())
            if not found:
                raise UploadError(f"{raw}: the directory holds no files")
            files.extend((p, p.relative_to(path).as_posix()) for p in found)
        elif path.is_file():
            files.append((path, path.name))
        else:
            raise UploadError(f"{raw}: no such file or directory; nothing was uploaded")
    single_object = len(paths) == 1 and len(files) == 1 and prefix and not prefix.endswith("/") and not Path(
        paths[0]).is_dir()
    if single_object:
        return bucket, [(files[0][0], prefix)]
    base = prefix.rstrip("/")
    return bucket, [(local, f"{base}/{name}" if base else name) for local, name in files]


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(list(sys.argv[1:] if argv is None else argv))
    if len(args.paths) < 2:
        print("airflow-tuning emulator upload: give one or more files and then gs://BUCKET/PREFIX/",
              file=sys.stderr)
        return 2
    try:
        url = storage_url(args.storage_url)
        bucket_name, uploads = plan(args.paths[:-1], args.paths[-1])
    except UploadError as err:
        print(f"airflow-tuning emulator upload: {err}", file=sys.stderr)
        return 2
    import requests
    from google.api_core import exceptions
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import storage

    try:  # a quick probe: the storage client would retry a refused connection for two minutes
        requests.get(f"{url}/storage/v1/b", params={"project": "emulator-project"}, timeout=10)
    except requests.RequestException as err:
        print(f"airflow-tuning emulator upload: no emulator answers at {url} ({type(err).__name__}); start one with "
              "`airflow-tuning emulator` (or `make emulator`), or give --storage-url", file=sys.stderr)
        return 1
    client = storage.Client(project="emulator-project", credentials=AnonymousCredentials(),
                            client_options={"api_endpoint": url})
    try:
        bucket = client.lookup_bucket(bucket_name)
        if bucket is None:
            try:
                bucket = client.create_bucket(bucket_name)
                print(f"created bucket gs://{bucket_name}")
            except exceptions.Conflict:
                bucket = client.bucket(bucket_name)
        for local, name in uploads:
            blob = bucket.blob(name)
            blob.upload_from_filename(str(local), content_type=_content_type(local))
            print(f"gs://{bucket_name}/{name} ({local.stat().st_size:,} bytes)")
    except (requests.RequestException, exceptions.GoogleAPICallError, exceptions.RetryError) as err:
        print(f"airflow-tuning emulator upload: {err}", file=sys.stderr)
        return 1
    return 0


def _content_type(path: Path) -> str:
    return {".jsonl": "application/jsonl", ".json": "application/json", ".csv": "text/csv",
            ".html": "text/html"}.get(path.suffix.lower(), "application/octet-stream")
