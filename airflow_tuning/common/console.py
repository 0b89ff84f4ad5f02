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


def storage_object_browser_url(uri: str) -> str:
    """The authenticated browser URL of one Cloud Storage object: an HTML object renders as a page."""
    bucket, name = parse_gs_uri(uri)
    return f"https://storage.cloud.google.com/{quote(bucket, safe='')}/{quote(name, safe='/')}"


def emulator_page_url(api_endpoint: str, name: str) -> str:
    """The offline emulator's own page of a tuning job (its full resource name)."""
    return f"{api_endpoint.rstrip('/')}/_emulator/ui/{quote(name, safe='/')}"


def emulator_report_url(api_endpoint: str, uri: str) -> str:
    """The offline emulator's page serving an HTML report stored in its emulated Cloud Storage."""
    return f"{api_endpoint.rstrip('/')}/_emulator/ui/report?uri={quote(uri, safe='')}"


def tuning_job_link(name: str, api_endpoint: str | None = None, emulated: bool = False) -> str | None:
    """The "Vertex AI Tuning Job" link: the emulator's page when the connection points at it, else the
    Google Cloud console; None for a name that is not a Vertex tuning job."""
    try:
        url = tuning_job_console_url(name)
    except ValueError:
        return None
    return emulator_page_url(api_endpoint, name) if emulated and api_endpoint else url


def report_link(uri: str, api_endpoint: str | None = None, emulated: bool = False) -> str:
    """The "Evaluation report" link: the rendered HTML report, from the emulator or from Cloud Storage."""
    if emulated and api_endpoint:
        return emulator_report_url(api_endpoint, uri)
    return storage_object_browser_url(uri)
