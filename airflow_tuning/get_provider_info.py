"""Provider registration read by Airflow through the ``apache_airflow_provider`` entry point."""

from __future__ import annotations

from typing import Any

_STRING = {"type": ["string", "null"]}
_SECRET = {"type": ["string", "null"], "format": "password"}


def get_provider_info() -> dict[str, Any]:
    return {
        "package-name": "airflow-tuning",
        "name": "Gemini Tuning",
        "description": "Gemini fine-tuning on Vertex AI as deferrable, idempotent, cancellable Airflow tasks.",
        "versions": ["0.1.0"],
        "integrations": [
            {
                "integration-name": "Gemini Tuning",
                "external-doc-url": "https://cloud.google.com/vertex-ai/generative-ai/docs/models/gemini-use-supervised-tuning",
                "tags": ["gcp"],
            }
        ],
        "hooks": [
            {
                "integration-name": "Gemini Tuning",
                "python-modules": ["airflow_tuning.hooks.tuning"],
            }
        ],
        "operators": [
            {
                "integration-name": "Gemini Tuning",
                "python-modules": [
                    "airflow_tuning.operators.dataset",
                    "airflow_tuning.operators.tuning",
                    "airflow_tuning.operators.evaluation",
                    "airflow_tuning.operators.gemini_api",
                ],
            }
        ],
        "sensors": [{"integration-name": "Gemini Tuning", "python-modules": ["airflow_tuning.sensors.tuning"]}],
        "triggers": [
            {
                "integration-name": "Gemini Tuning",
                "python-modules": ["airflow_tuning.triggers.tuning", "airflow_tuning.triggers.gcs_objects"],
            }
        ],
        "extra-links": ["airflow_tuning.links.TuningJobLink", "airflow_tuning.links.EvaluationReportLink"],
        "connection-types": [
            {
                "connection-type": "gemini_tuning",
                "hook-class-name": "airflow_tuning.hooks.tuning.GeminiTuningHook",
                "hook-name": "Gemini Tuning (Vertex AI)",
                "ui-field-behaviour": {
                    "hidden-fields": ["host", "schema", "login", "password", "port", "extra"],
                    "relabeling": {},
                    "placeholders": {
                        "project": "my-gcp-project",
                        "location": "us-central1",
                        "key_path": "/opt/airflow/secrets/sa.json",
                        "impersonation_chain": "sa1@p.iam.gserviceaccount.com,sa2@p.iam.gserviceaccount.com",
                        "api_endpoint": "http://127.0.0.1:8765 (emulator) or a private endpoint",
                        "storage_endpoint": "http://127.0.0.1:9023 (emulator)",
                        "gemini_api_endpoint": "http://127.0.0.1:8765 (emulator)",
                    },
                },
                "conn-fields": {
                    "project": {"label": "Project ID", "schema": _STRING},
                    "location": {
                        "label": "Location",
                        "schema": {"type": ["string", "null"], "default": "us-central1"},
                    },
                    "key_path": {"label": "Keyfile path", "schema": _STRING},
                    "keyfile_dict": {"label": "Keyfile JSON", "schema": _SECRET},
                    "impersonation_chain": {
                        "label": "Impersonation chain",
                        "schema": _STRING,
                        "description": "Comma-separated service accounts; the last one is impersonated.",
                    },
                    "api_endpoint": {
                        "label": "Vertex AI endpoint",
                        "schema": _STRING,
                        "description": "Override the Vertex AI endpoint (emulator, private endpoint).",
                    },
                    "storage_endpoint": {
                        "label": "Cloud Storage endpoint",
                        "schema": _STRING,
                        "description": "Override the Cloud Storage endpoint (emulator).",
                    },
                    "gemini_api_key": {"label": "Gemini API key", "schema": _SECRET},
                    "gemini_api_endpoint": {
                        "label": "Gemini API endpoint",
                        "schema": _STRING,
                        "description": "Override the Gemini Developer API endpoint (emulator); default "
                        "api_endpoint, else https://generativelanguage.googleapis.com",
                    },
                },
            }
        ],
    }
