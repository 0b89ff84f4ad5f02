"""A supervised tuning request, validated before any API call and hashed for retry identity.

Operator arguments arrive as rendered templates (``"3"`` for an epoch count taken from Params), so values are
coerced here with errors that name the argument. The same canonical form feeds the request fingerprint, so a
retry recognises "the same request" however its values were spelled.

The request is service-neutral: each service adapter maps it to its own API (for Vertex AI see
``airflow_tuning.backends.vertex.request``), the tuning ``method`` included. Pure Python.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from airflow_tuning.common.names import MODEL_FORM, check_display_name, parse_model_name
from airflow_tuning.common.rendered import boolean, gcs_object_uri, is_blank, positive_float, positive_int
from airflow_tuning.jobs.method import DISTILLATION, METHOD_ARGUMENTS, SUPERVISED, TuningMethod

_ADAPTER_SIZES = {1: "ONE", 2: "TWO", 4: "FOUR", 8: "EIGHT", 16: "SIXTEEN", 32: "THIRTY_TWO"}
_ADAPTER_WORDS = {word: size for size, word in _ADAPTER_SIZES.items()}


#: Operator arguments that make up a request, in the order ``TuningRequest.build`` documents them.
REQUEST_ARGUMENTS = (
    "base_model", "pre_tuned_model", "checkpoint_id", "training_dataset_uri", "validation_dataset_uri",
    "epoch_count", "learning_rate_multiplier", "adapter_size", "tuned_model_display_name", "description",
    "labels", "evaluation_config", "export_last_checkpoint_only", "method", *METHOD_ARGUMENTS,
)  # fmt: skip




def normalize_adapter_size(value: Any) -> str | None:
    """``4``, ``"4"``, ``"FOUR"`` or ``"ADAPTER_SIZE_FOUR"`` -> ``"ADAPTER_SIZE_FOUR"``."""
    if is_blank(value):
        return None
    text = str(getattr(value, "value", value)).strip().upper().removeprefix("ADAPTER_SIZE_")
    if text.isdigit() and int(text) in _ADAPTER_SIZES:
        return f"ADAPTER_SIZE_{_ADAPTER_SIZES[int(text)]}"
    if text in _ADAPTER_WORDS:
        return f"ADAPTER_SIZE_{text}"
    allowed = ", ".join(str(size) for size in _ADAPTER_SIZES)
    raise ValueError(
        f"adapter_size {value!r} is invalid; expected one of {allowed} (or ADAPTER_SIZE_FOUR etc.)"
    )










def _plain(value: Any) -> Any:
    """An SDK model or mapping as plain JSON-able data (for hashing and logs)."""
    if value is None:
        return None
    dump = getattr(value, "model_dump", None)
    if callable(dump):
        return dump(mode="json", exclude_none=True)
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


@dataclass(frozen=True)
class TuningRequest:
    """Everything that defines one tuning job (from a base model or a tuned model).

    ``method`` says how the model is tuned; each service adapter maps it to that service's request, so a
    new method is a new :class:`~airflow_tuning.jobs.method.TuningMethod` plus its mapping in the adapters.
    """

    training_dataset_uri: str
    base_model: str | None = None
    pre_tuned_model: str | None = None
    checkpoint_id: str | None = None
    validation_dataset_uri: str | None = None
    epoch_count: int | None = None
    learning_rate_multiplier: float | None = None
    adapter_size: str | None = None
    tuned_model_display_name: str | None = None
    description: str | None = None
    labels: Mapping[str, str] = field(default_factory=dict)
    evaluation_config: Any = None
    export_last_checkpoint_only: bool | None = None
    method: TuningMethod = SUPERVISED
    beta: float | None = None
    base_teacher_model: str | None = None
    tuned_teacher_model_source: str | None = None
    sft_loss_weight_multiplier: float | None = None

    @classmethod
    def build(cls, **values: Any) -> TuningRequest:
        """Coerce and validate rendered operator arguments; raise ValueError naming the bad argument."""
        from airflow_tuning.jobs.identity import validate_labels  # the hashing module loads when a task runs

        base_model = None if is_blank(values.get("base_model")) else str(values["base_model"]).strip()
        pre_tuned = None if is_blank(values.get("pre_tuned_model")) else str(values["pre_tuned_model"]).strip()
        if bool(base_model) == bool(pre_tuned):
            raise ValueError(
                "exactly one of base_model (e.g. 'gemini-2.5-flash') and pre_tuned_model "
                f"({MODEL_FORM}) must be set"
            )
        if pre_tuned:
            pre_tuned = validate_pre_tuned_model(pre_tuned)
        checkpoint = values.get("checkpoint_id")
        checkpoint = None if is_blank(checkpoint) else str(checkpoint).strip()
        if checkpoint and not pre_tuned:
            raise ValueError("checkpoint_id is only meaningful with pre_tuned_model (continuous tuning)")
        display = values.get("tuned_model_display_name")
        description = values.get("description")
        method = TuningMethod.parse(values.get("method"))
        return cls(
            training_dataset_uri=gcs_object_uri(
                "training_dataset_uri", values.get("training_dataset_uri"), required=True
            )
            or "",
            base_model=base_model,
            pre_tuned_model=pre_tuned,
            checkpoint_id=checkpoint,
            validation_dataset_uri=gcs_object_uri(
                "validation_dataset_uri", values.get("validation_dataset_uri"), required=False
            ),
            epoch_count=positive_int("epoch_count", values.get("epoch_count")),
            learning_rate_multiplier=positive_float(
                "learning_rate_multiplier", values.get("learning_rate_multiplier")
            ),
            adapter_size=normalize_adapter_size(values.get("adapter_size")),
            tuned_model_display_name=(
                None if is_blank(display) else check_display_name(str(display), "tuned_model_display_name")
            ),
            description=None if is_blank(description) else str(description),
            labels=validate_labels(values.get("labels")),
            evaluation_config=values.get("evaluation_config"),
            export_last_checkpoint_only=boolean(
                "export_last_checkpoint_only", values.get("export_last_checkpoint_only")
            ),
            method=method,
            **method_arguments(method, values),
        )

    def fingerprint_payload(self) -> dict[str, Any]:
        """What makes two requests "the same job": everything but the labels."""
        return {
            "base_model": self.base_model,
            "pre_tuned_model": self.pre_tuned_model,
            "checkpoint_id": self.checkpoint_id,
            "training_dataset_uri": self.training_dataset_uri,
            "validation_dataset_uri": self.validation_dataset_uri,
            "epoch_count": self.epoch_count,
            "learning_rate_multiplier": self.learning_rate_multiplier,
            "adapter_size": self.adapter_size,
            "tuned_model_display_name": self.tuned_model_display_name,
            "description": self.description,
            "evaluation_config": _plain(self.evaluation_config),
            "export_last_checkpoint_only": self.export_last_checkpoint_only,
            # Supervised requests hash as they always did, so jobs submitted before methods existed reattach.
            "method": None if self.method is SUPERVISED else self.method.value,
            # Method hyperparameters join the payload only when set: older requests keep their hash.
            **{name: getattr(self, name) for name in METHOD_ARGUMENTS if getattr(self, name) is not None},
        }

    def with_labels(self, labels: Mapping[str, str]) -> TuningRequest:
        return replace(self, labels=dict(labels))

    @property
    def source_model(self) -> str:
        """What is being tuned: the base model id or the tuned model's resource name."""
        return self.pre_tuned_model or self.base_model or ""


def method_arguments(method: TuningMethod, values: Mapping[str, Any]) -> dict[str, Any]:
    """The method's own hyperparameters, checked: one that belongs to another method is refused by name,
    and distillation needs exactly one teacher."""
    given = [name for name in METHOD_ARGUMENTS if not is_blank(values.get(name))]
    foreign = [name for name in given if name not in method.own_arguments]
    if foreign:
        owners = {name: m.value for m in TuningMethod for name in m.own_arguments}
        detail = "; ".join(f"{name} is for method={owners[name]!r}" for name in foreign)
        raise ValueError(f"{', '.join(foreign)} does not apply to method={method.value!r} ({detail})")
    out: dict[str, Any] = {}
    if "beta" in given:
        out["beta"] = positive_float("beta", values["beta"])
    if "sft_loss_weight_multiplier" in given:
        out["sft_loss_weight_multiplier"] = positive_float(
            "sft_loss_weight_multiplier", values["sft_loss_weight_multiplier"]
        )
    if method is DISTILLATION:
        teachers = [name for name in ("base_teacher_model", "tuned_teacher_model_source") if name in given]
        if len(teachers) != 1:
            raise ValueError(
                "method='distillation' needs exactly one teacher: base_teacher_model (e.g. 'gemini-3.1-pro') "
                f"or tuned_teacher_model_source ({MODEL_FORM})"
                + ("" if not teachers else f"; got both {' and '.join(teachers)}")
            )
        if teachers[0] == "base_teacher_model":
            out["base_teacher_model"] = str(values["base_teacher_model"]).strip()
        else:
            out["tuned_teacher_model_source"] = _teacher_source(str(values["tuned_teacher_model_source"]))
    return out


def _teacher_source(value: str) -> str:
    try:
        return parse_model_name(value.strip()).name
    except ValueError:
        raise ValueError(
            f"tuned_teacher_model_source {value!r} is not a tuned model resource name; expected {MODEL_FORM}"
        ) from None


def validate_pre_tuned_model(value: str) -> str:
    """A tuned model's registry name, ``projects/P/locations/L/models/ID[@VERSION_OR_ALIAS]``.

    The version is optional, as in Vertex AI (the default version is then used), but a DAG that wants a
    reproducible lineage should name one, e.g. ``@champion``.
    """
    try:
        return parse_model_name(value).name
    except ValueError:
        raise ValueError(
            f"pre_tuned_model {value!r} is not a tuned model resource name; expected {MODEL_FORM}"
        ) from None
