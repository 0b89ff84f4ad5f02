"""Tuning data: validation, conversion to Vertex Gemini SFT JSONL, dedupe, split, and publishing.

Pure Python (no Airflow import): the operator, the ``airflow-tuning validate`` command and user code all
use the same rules. The names below load with their module on first use (PEP 562), so a DAG file that
needs one small part (say, token counting) does not import the whole pipeline when it is parsed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from airflow_tuning.common.lazy import lazy_attributes

if TYPE_CHECKING:
    from airflow_tuning.dataset.formats import CsvColumns, Source
    from airflow_tuning.dataset.limits import PRESETS, Limits
    from airflow_tuning.dataset.pipeline import Options, PreparedDataset, prepare, validate
    from airflow_tuning.dataset.report import DatasetValidationError, Problem, SourceError, ValidationReport
    from airflow_tuning.dataset.sources import local_sources

#: public name -> the module that defines it
_LAZY = {
    "CsvColumns": "formats",
    "Source": "formats",
    "PRESETS": "limits",
    "Limits": "limits",
    "Options": "pipeline",
    "PreparedDataset": "pipeline",
    "prepare": "pipeline",
    "validate": "pipeline",
    "DatasetValidationError": "report",
    "Problem": "report",
    "SourceError": "report",
    "ValidationReport": "report",
    "local_sources": "sources",
}


__getattr__, __dir__ = lazy_attributes(__name__, globals(), _LAZY)


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
