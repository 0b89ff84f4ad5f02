"""How a model is tuned: the method dimension of a tuning request.

A method is chosen once, where the request is built, and carried as this enum; each service adapter maps it
to its own API (Vertex AI: which spec the create request carries), so operators never switch on it. What a
method needs (its own hyperparameters, the shape of its training data) is declared here, next to the
method, so the request checks it in one place. Pure Python.
"""

from __future__ import annotations

from enum import Enum
from typing import Any

#: Hyperparameters every method takes.
COMMON_HYPERPARAMETERS = ("epoch_count", "learning_rate_multiplier", "adapter_size")


class TuningMethod(str, Enum):
    """A tuning method. Vertex AI names them ``SUPERVISED_FINE_TUNING``, ``PREFERENCE_TUNING``, ..."""

    SUPERVISED = "supervised"
    PREFERENCE = "preference"
    DISTILLATION = "distillation"

    @classmethod
    def parse(cls, value: Any) -> TuningMethod:
        """A method from an enum member, its value (``"preference"``) or its name; blank means supervised.

        google-genai's ``types.TuningMethod`` members (``PREFERENCE_TUNING``...) are accepted too.
        """
        if isinstance(value, cls):
            return value
        if value is None or (isinstance(value, str) and not value.strip()):
            return SUPERVISED
        text = str(getattr(value, "value", value)).strip().lower()
        text = text.removesuffix("_fine_tuning").removesuffix("_tuning")
        for method in cls:
            if text in (method.value, method.name.lower()):
                return method
        allowed = ", ".join(repr(m.value) for m in cls)
        raise ValueError(f"method {value!r} is not a tuning method; expected one of {allowed}")

    @property
    def own_arguments(self) -> tuple[str, ...]:
        """Operator arguments only this method takes (refused with any other method)."""
        return _OWN_ARGUMENTS[self]

    @property
    def data_format(self) -> str:
        """The training data this method reads: ``vertex`` (contents ending with a model answer),
        ``preference`` (contents plus a scored pair of completions) or ``prompts`` (contents ending
        with a user turn)."""
        return _DATA_FORMATS[self]


SUPERVISED = TuningMethod.SUPERVISED
PREFERENCE = TuningMethod.PREFERENCE
DISTILLATION = TuningMethod.DISTILLATION

_OWN_ARGUMENTS: dict[TuningMethod, tuple[str, ...]] = {
    SUPERVISED: (),
    PREFERENCE: ("beta",),
    DISTILLATION: ("base_teacher_model", "tuned_teacher_model_source", "sft_loss_weight_multiplier"),
}
_DATA_FORMATS = {SUPERVISED: "vertex", PREFERENCE: "preference", DISTILLATION: "prompts"}

#: Every method-specific argument, in a stable order (operators accept them all and the request checks).
METHOD_ARGUMENTS = tuple(name for method in TuningMethod for name in _OWN_ARGUMENTS[method])
