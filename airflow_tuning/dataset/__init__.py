"""Tuning data: validation, conversion to Vertex Gemini SFT JSONL, dedupe, split, and publishing.

Pure Python (no Airflow import): the operator, the ``airflow-tuning validate`` command and user code all
use the same rules.
"""

from airflow_tuning.dataset.formats import CsvColumns, Source
from airflow_tuning.dataset.limits import PRESETS, Limits
from airflow_tuning.dataset.pipeline import Options, PreparedDataset, prepare, validate
from airflow_tuning.dataset.report import DatasetValidationError, Problem, SourceError, ValidationReport
from airflow_tuning.dataset.sources import local_sources

__all__ = [
    "PRESETS",
    "CsvColumns",
    "DatasetValidationError",
    "Limits",
    "Options",
    "PreparedDataset",
    "Problem",
    "Source",
    "SourceError",
    "ValidationReport",
    "local_sources",
    "prepare",
    "validate",
]
