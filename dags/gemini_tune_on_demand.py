"""Tune a Gemini model on demand from the Airflow UI: fill in the form, press Trigger.

    upload_dataset   validate and convert the data (Vertex JSONL, input/output pairs or CSV), content-addressed
    tune             start the Vertex AI tuning job and wait for it in the triggerer (deferred)

The form validates every field before the run is created; the training data has no default, so a run
always says which data it tunes on. Invalid records fail the run (nothing is uploaded) unless
``on_invalid`` is ``skip``, which drops them up to ``max_invalid_fraction``.

Environment read when the file is parsed: ``AIRFLOW_TUNING_BUCKET`` (default ``tuning-data``), the bucket
the converted data is written to (``gs://$AIRFLOW_TUNING_BUCKET/datasets/on-demand/``), and
``AIRFLOW_TUNING_POLL_INTERVAL`` (seconds between job status checks, default 30).
"""

from __future__ import annotations

import os
from datetime import datetime

from airflow.sdk import DAG, Param

from airflow_tuning.operators.dataset import UploadDatasetOperator
from airflow_tuning.operators.tuning import CreateTuningJobOperator

BUCKET = os.environ.get("AIRFLOW_TUNING_BUCKET", "tuning-data")
POLL_INTERVAL = float(os.environ.get("AIRFLOW_TUNING_POLL_INTERVAL", "30"))

with DAG(
    dag_id="gemini_tune_on_demand",
    description="Tune a Gemini model from a form in the UI",
    schedule=None,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    render_template_as_native_obj=True,
    tags=["gemini", "tuning"],
    params={
        "training_data": Param(
            type="string",
            pattern=r"^gs://[a-z0-9][a-z0-9._-]{1,220}/.*$",
            title="Training data",
            description=f"gs:// file, prefix or glob: Vertex JSONL, input/output pairs JSONL or CSV "
                        f"(e.g. gs://{BUCKET}/my-data/). Required.",
        ),
        "base_model": Param(
            "gemini-2.5-flash",
            enum=["gemini-2.5-flash", "gemini-2.5-flash-lite", "gemini-2.5-pro", "gemini-2.0-flash-001"],
            title="Base model",
            description="The Gemini model to tune.",
        ),
        "tuned_model_display_name": Param(
            "on-demand-model", type="string", minLength=1, maxLength=128, title="Tuned model name",
            description="Display name of the tuned model in the Model Registry.",
        ),
        "epoch_count": Param(3, type="integer", minimum=1, maximum=20, title="Epochs",
                             description="Passes over the training data."),
        "adapter_size": Param(4, type="integer", enum=[1, 2, 4, 8, 16], title="Adapter size",
                              description="LoRA adapter size: larger learns more, costs more."),
        "learning_rate_multiplier": Param(1.0, type="number", exclusiveMinimum=0, maximum=10,
                                          title="Learning-rate multiplier",
                                          description="Scales the default learning rate."),
        "csv_input_column": Param("input", type="string", minLength=1, title="CSV prompt column",
                                  description="For CSV data: the column holding the prompt."),
        "csv_output_column": Param("output", type="string", minLength=1, title="CSV response column",
                                   description="For CSV data: the column holding the expected response."),
        "on_invalid": Param("fail", enum=["fail", "skip"], title="Invalid records",
                            description="fail: any invalid record fails the run and uploads nothing; "
                                        "skip: drop invalid records, up to the maximum fraction below."),
        "max_invalid_fraction": Param(0.05, type="number", minimum=0, maximum=1, title="Maximum invalid fraction",
                                      description="With skip: the largest share of invalid records tolerated "
                                                  "(0.05 = 5%); more fails the run."),
        "system_instruction": Param(None, type=["null", "string"], title="System instruction",
                                    description="Added to input/output pairs and CSV rows (optional)."),
    },
    doc_md=__doc__,
) as dag:
    upload = UploadDatasetOperator(
        task_id="upload_dataset",
        sources="{{ params.training_data }}",
        destination=f"gs://{BUCKET}/datasets/on-demand",
        input_column="{{ params.csv_input_column }}",
        output_column="{{ params.csv_output_column }}",
        system_instruction="{{ params.system_instruction }}",
        on_invalid="{{ params.on_invalid }}",
        max_invalid_fraction="{{ params.max_invalid_fraction }}",
    )
    tune = CreateTuningJobOperator(
        task_id="tune",
        base_model="{{ params.base_model }}",
        training_dataset_uri="{{ ti.xcom_pull(task_ids='upload_dataset')['training_dataset_uri'] }}",
        validation_dataset_uri="{{ ti.xcom_pull(task_ids='upload_dataset')['validation_dataset_uri'] }}",
        tuned_model_display_name="{{ params.tuned_model_display_name }}",
        epoch_count="{{ params.epoch_count }}",
        adapter_size="{{ params.adapter_size }}",
        learning_rate_multiplier="{{ params.learning_rate_multiplier }}",
        labels={"pipeline": "on-demand"},
        poll_interval=POLL_INTERVAL,
        retries=2,
    )
    upload >> tune
