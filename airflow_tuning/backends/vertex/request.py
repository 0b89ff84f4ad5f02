"""A ``TuningRequest`` as Vertex AI's create call: google-genai ``tunings.tune`` arguments.

The tuning method decides which spec the request carries; each method has one mapping function here, so
adding a method means adding its entry in ``METHOD_CONFIG`` (and its ``TuningMethod`` member).
google-genai is imported only inside functions.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from airflow_tuning.jobs.method import TuningMethod
from airflow_tuning.jobs.request import TuningRequest


def _supervised_config(request: TuningRequest, types: Any) -> dict[str, Any]:
    config: dict[str, Any] = {
        "epoch_count": request.epoch_count,
        "learning_rate_multiplier": request.learning_rate_multiplier,
        "adapter_size": request.adapter_size,
        "export_last_checkpoint_only": request.export_last_checkpoint_only,
    }
    if request.validation_dataset_uri:
        config["validation_dataset"] = types.TuningValidationDataset(gcs_uri=request.validation_dataset_uri)
    return config


def _preference_config(request: TuningRequest, types: Any) -> dict[str, Any]:
    """``preferenceOptimizationSpec``: the supervised hyperparameters plus ``beta``."""
    return {**_supervised_config(request, types), "method": types.TuningMethod.PREFERENCE_TUNING,
            "beta": request.beta}


def _distillation_config(request: TuningRequest, types: Any) -> dict[str, Any]:
    """``distillationSpec``: the prompt dataset, one teacher and ``sftLossWeightMultiplier``."""
    return {
        **_supervised_config(request, types),
        "method": types.TuningMethod.DISTILLATION,
        "base_teacher_model": request.base_teacher_model,
        "tuned_teacher_model_source": request.tuned_teacher_model_source,
        "sft_loss_weight_multiplier": request.sft_loss_weight_multiplier,
    }


#: Method -> the config fields that method sets (google-genai chooses the spec from ``method``).
METHOD_CONFIG: dict[TuningMethod, Callable[[TuningRequest, Any], dict[str, Any]]] = {
    TuningMethod.SUPERVISED: _supervised_config,
    TuningMethod.PREFERENCE: _preference_config,
    TuningMethod.DISTILLATION: _distillation_config,
}


def sdk_arguments(request: TuningRequest) -> dict[str, Any]:
    """Keyword arguments for ``client.tunings.tune`` with a typed ``CreateTuningJobConfig``.

    The typed config matters: given as a plain dict, the SDK silently drops the checkpoint id.
    """
    from google.genai import types

    method_config = METHOD_CONFIG.get(request.method)
    if method_config is None:
        raise ValueError(f"method {request.method.value!r} is not supported on Vertex AI")
    config: dict[str, Any] = {
        "tuned_model_display_name": request.tuned_model_display_name,
        "description": request.description,
        "labels": dict(request.labels) or None,
        "pre_tuned_model_checkpoint_id": request.checkpoint_id,
        **method_config(request, types),
    }
    if request.evaluation_config is not None:
        evaluation = request.evaluation_config
        config["evaluation_config"] = (
            types.EvaluationConfig.model_validate(evaluation) if isinstance(evaluation, Mapping) else evaluation
        )
    return {
        "base_model": request.source_model,
        "training_dataset": types.TuningDataset(gcs_uri=request.training_dataset_uri),
        "config": types.CreateTuningJobConfig(**{k: v for k, v in config.items() if v is not None}),
    }
