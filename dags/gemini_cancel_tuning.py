"""Cancel Vertex AI tuning jobs from the Airflow UI: one job by name, or every active job carrying labels.

An already-ended job is a logged no-op. The task waits (deferred) until the jobs are CANCELLED.
"""

from __future__ import annotations

import os
from datetime import datetime

from airflow.sdk import DAG, Param

from airflow_tuning.operators.tuning import CancelTuningJobOperator

POLL_INTERVAL = float(os.environ.get("AIRFLOW_TUNING_POLL_INTERVAL", "30"))

with DAG(
    dag_id="gemini_cancel_tuning",
    description="Cancel tuning jobs by name or labels",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    render_template_as_native_obj=True,
    tags=["gemini", "tuning"],
    params={
        "tuning_job_name": Param(
            None, type=["null", "string"], title="Tuning job",
            description="projects/P/locations/L/tuningJobs/ID, or just the job id. Leave empty to use labels.",
        ),
        "labels": Param(
            {}, type="object", title="Labels",
            description='Cancel every active job with all of these labels, e.g. {"pipeline": "support-triage"}.',
        ),
    },
    doc_md=__doc__,
) as dag:
    CancelTuningJobOperator(
        task_id="cancel",
        tuning_job_name="{{ params.tuning_job_name }}",
        labels="{{ params.labels or None }}",
        poll_interval=POLL_INTERVAL,
    )
