"""The safe retraining step: evaluate the challenger against the champion, promote only if it is better."""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import DAG, Param

from airflow_tuning.operators.evaluation import EvaluateTunedModelOperator, PromoteTunedModelOperator

with DAG(
    dag_id="evaluation_promotion",
    schedule=None,
    start_date=datetime(2025, 1, 1),
    catchup=False,
    params={
        "challenger": Param("", type="string", description="models/ID@VERSION of the freshly tuned model"),
        "model": Param("", type="string", description="the Model Registry model, without a version"),
        "eval_dataset_uri": Param("", type="string"),
    },
) as dag:
    evaluate = EvaluateTunedModelOperator(
        task_id="evaluate",
        model="{{ params.challenger }}",
        baseline="{{ params.model }}@champion",
        eval_dataset_uri="{{ params.eval_dataset_uri }}",
        thresholds={"rouge_l": 0.3},
        min_improvement=0.01,
        soft_fail=True,
    )
    promote = PromoteTunedModelOperator(task_id="promote", model_name="{{ params.challenger }}")
    evaluate >> promote
