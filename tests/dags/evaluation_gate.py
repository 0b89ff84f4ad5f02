"""Two evaluations side by side: a tuned model against its base model, and a weak model under strict thresholds."""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import DAG, Param

from airflow_tuning.operators.evaluation import EvaluateTunedModelOperator


def answer_length(prediction: str, reference: str) -> float:
    """A user metric: prediction length relative to the reference's (1.0 = same length)."""
    return len(prediction) / max(len(reference), 1)


with DAG(
    dag_id="evaluation_gate",
    schedule=None,
    start_date=datetime(2025, 1, 1),
    catchup=False,
    render_template_as_native_obj=True,
    params={
        "model": Param("", type="string"),
        "weak_model": Param("", type="string"),
        "baseline": Param("gemini-2.5-flash", type="string"),
        "eval_dataset_uri": Param("", type="string"),
        "thresholds": Param({"rouge_l": 0.6}, type="object"),
    },
) as dag:
    EvaluateTunedModelOperator(
        task_id="evaluate_vs_base",
        model="{{ params.model }}",
        baseline="{{ params.baseline }}",
        eval_dataset_uri="{{ params.eval_dataset_uri }}",
        metrics=["exact_match", "token_f1", "rouge_l", "bleu", answer_length],
        thresholds="{{ params.thresholds }}",
        min_improvement=0.2,
        max_concurrency=8,
        worst_examples=5,
        progress_interval=0.5,
    )
    EvaluateTunedModelOperator(
        task_id="evaluate_strict",
        model="{{ params.weak_model }}",
        eval_dataset_uri="{{ params.eval_dataset_uri }}",
        thresholds={"rouge_l": 0.9},
        report_uri="gs://{{ params.eval_dataset_uri.split('/')[2] }}/strict-reports/{{ run_id }}",
    )
