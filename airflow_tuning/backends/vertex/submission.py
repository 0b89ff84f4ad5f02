"""A checked Vertex AI tuning request and the retry identity its job's labels carry (what ``prepare`` hands to
``submit``). Its own module so that choosing the Vertex AI service when a DAG is parsed does not define it."""

from __future__ import annotations

from dataclasses import dataclass

from airflow_tuning.jobs.identity import TaskIdentity
from airflow_tuning.jobs.request import TuningRequest


@dataclass(frozen=True)
class VertexSubmission:
    """One task instance's request, checked, with the identity its job's labels carry."""

    request: TuningRequest
    identity: TaskIdentity
