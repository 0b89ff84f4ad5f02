"""Ticket triage judged as classification: macro-F1 as the primary metric, thresholds per label."""

from __future__ import annotations

from airflow.sdk import DAG

from airflow_tuning.operators.evaluation import EvaluateTunedModelOperator

COMMON = {
    "model": "{{ params.model }}",
    "baseline": "gemini-2.5-flash",
    "eval_dataset_uri": "{{ params.eval }}",
    "metrics": ["accuracy", "macro_f1", "rouge_l"],
    "primary_metric": "macro_f1",
    "label_pattern": r"category: (\w+)",
    "max_concurrency": 8,
}

with DAG("classification_gate", schedule=None, params={"model": "", "eval": ""}) as dag:
    EvaluateTunedModelOperator(task_id="evaluate", thresholds={"macro_f1": 0.5, "f1:billing": 0.5}, **COMMON)
    EvaluateTunedModelOperator(task_id="evaluate_strict_label", thresholds={"recall:outage": 0.99}, **COMMON)
