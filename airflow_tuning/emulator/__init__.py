"""Offline stand-in for Vertex AI (tuning jobs, serving, Model Registry) and Cloud Storage.

Never imported by operators, hooks or DAGs: it is for tests, demos and local development only.
"""

from airflow_tuning.emulator.runner import Emulator

__all__ = ["Emulator"]
