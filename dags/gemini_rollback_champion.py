"""Put the previous champion back: one step, from the Airflow UI.

    rollback    moves the alias back to the version, and default checkpoint, that held it before the last
                promotion, as that promotion recorded it in the Model Registry; a rerun changes nothing;
                with no recorded earlier holder it fails saying so, and nothing changes

Trigger it with the form: the model's display name (or its registry name), the alias and a reason, which
is recorded on the restored version next to who and which run rolled it back.
"""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import DAG, Param

from airflow_tuning.operators.promotion import RollbackChampionOperator

with DAG(
    dag_id="gemini_rollback_champion",
    description="Move the champion alias back to the version that held it before the last promotion",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    tags=["gemini", "tuning"],
    params={
        "display_name": Param(
            "support-triage", type="string", title="Model display name",
            description="The Model Registry model (by display name) whose alias to roll back.",
        ),
        "model_name": Param(
            "", type="string", title="Model resource name (optional)",
            description="Instead of the display name: projects/P/locations/L/models/ID.",
        ),
        "alias": Param(
            "champion", type="string", pattern="^[a-z][a-zA-Z0-9-]{0,126}[a-z0-9-]$", title="Alias",
            description="The alias to move back.",
        ),
        "reason": Param(
            "", type="string", title="Reason",
            description="Why: recorded on the restored version in the Model Registry.",
        ),
    },
    doc_md=__doc__,
) as dag:
    RollbackChampionOperator(
        task_id="rollback",
        display_name="{{ params.display_name }}",
        model_name="{{ params.model_name }}",
        alias="{{ params.alias }}",
        reason="{{ params.reason }}",
        retries=1,
    )
