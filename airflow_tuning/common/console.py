"""The one builder of Google Cloud console URLs shown as Airflow extra links."""

from __future__ import annotations

from urllib.parse import quote

from airflow_tuning.common.names import parse_gs_uri, parse_tuning_job_name

CONSOLE = "https://console.cloud.google.com"


def tuning_job_console_url(tuning_job_name: str) -> str:
    """Console page of a Vertex AI tuning job, from its full resource name."""
    job = parse_tuning_job_name(tuning_job_name)
    return (
        f"{CONSOLE}/vertex-ai/generative/language/locations/{quote(job.location)}"
        f"/tuning/tuningJob/{quote(job.id)}?project={quote(job.project)}"
    )


def storage_object_console_url(uri: str) -> str:
    """Console page of one Cloud Storage object (preview, download, metadata)."""
    bucket, name = parse_gs_uri(uri)
    return f"{CONSOLE}/storage/browser/_details/{quote(bucket, safe='')}/{quote(name, safe='/')}"
