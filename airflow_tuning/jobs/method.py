"""How a model is tuned: the method dimension of a tuning request.

A method is chosen once, where the request is built, and carried as this enum; each service adapter maps it
to its own API (Vertex AI: which spec the create request carries), so operators never switch on it.
Pure Python.
"""

from __future__ import annotations

from enum import Enum
from typing import Any


class TuningMethod(str, Enum):
    """A tuning method. Vertex AI names them ``SUPERVISED_FINE_TUNING``, ``PREFERENCE_TUNING``, ..."""

    SUPERVISED = "supervised"

    @classmethod
    def parse(cls, value: Any) -> TuningMethod:
        """A method from an enum member, its value (``"supervised"``) or its name; blank means supervised."""
        if isinstance(value, cls):
            return value
        if value is None or (isinstance(value, str) and not value.strip()):
            return SUPERVISED
        text = str(getattr(value, "value", value)).strip().lower().removesuffix("_fine_tuning")
        for method in cls:
            if text in (method.value, method.name.lower()):
                return method
        allowed = ", ".join(repr(m.value) for m in cls)
        raise ValueError(f"method {value!r} is not a tuning method; expected one of {allowed}")


SUPERVISED = TuningMethod.SUPERVISED
