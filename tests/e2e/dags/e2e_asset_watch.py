"""Runs when new training data lands under gs://e2e-watched/incoming/: the DAG behind the asset drill.

``GCSNewObjectsTrigger`` runs in the triggerer as an ``AssetWatcher``; each batch of new objects becomes one
asset event, and each event one run, which reports the objects it was started for.
"""

from __future__ import annotations

from airflow.sdk import DAG, Asset, AssetWatcher, task

from airflow_tuning.triggers.gcs_objects import GCSNewObjectsTrigger

incoming = Asset(
    name="e2e_incoming_training_data",
    watchers=[
        AssetWatcher(
            name="e2e_incoming_watcher",
            trigger=GCSNewObjectsTrigger(bucket="e2e-watched", prefix="incoming/", poll_interval=2.0),
        )
    ],
)

with DAG(dag_id="e2e_asset_watch", schedule=[incoming], catchup=False, tags=["e2e"]) as dag:

    @task
    def new_objects(**context) -> list[str]:
        """The objects of the asset events that started this run.

        An event made by a watcher carries the trigger's payload under ``extra["payload"]``.
        """
        events = context["triggering_asset_events"][incoming]
        return sorted(name for event in events for name in event.extra["payload"]["objects"])

    new_objects()
