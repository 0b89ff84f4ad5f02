"""Per-example limits of the tuning services, as published in Google's tuning documentation.

Two presets exist because the two services accept different data:

- ``vertex`` (default): Vertex AI supervised tuning of Gemini 2.x models. 131,072 input+output tokens per
  example, at most 30 images, 4 PDF files and 1 audio file per example.
- ``gemini-api``: the Gemini API tuning tutorial (Gemini 1.5 Flash): input/output pairs only, text only,
  at most 40,000 characters of input and 5,000 of output per example.

Every field can be overridden (``Limits.resolve({"preset": "vertex", "max_images": 10})``); ``None``
disables a check. Token counts are estimates (see ``validation.encode_example``): the real tokenizer is
a remote call, far too slow for a pre-upload check over millions of lines.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from typing import Any

# Tokens Gemini bills for one image (and, as a floor, for any other attached file).
TOKENS_PER_MEDIA_PART = 258


@dataclass(frozen=True)
class Limits:
    """What one example may contain; ``None`` disables a check."""

    preset: str = "vertex"
    max_example_tokens: int | None = 131_072
    max_images: int | None = 30
    max_pdfs: int | None = 4
    max_audio: int | None = 1
    max_videos: int | None = None
    max_input_chars: int | None = None
    max_output_chars: int | None = None
    text_only: bool = False
    single_turn: bool = False

    def __post_init__(self) -> None:
        # A limit is a count: a negative or non-integer one would make every example invalid, or compare
        # strings with numbers deep inside the checks, so it is refused here, where it is given.
        for item in fields(self):
            value = getattr(self, item.name)
            if item.name.startswith("max_") and value is not None \
                    and (type(value) is not int or value < 0):
                raise ValueError(f"limits: {item.name} must be a whole number >= 0, or None for no limit; "
                                 f"got {value!r}")
            if item.name in ("text_only", "single_turn") and type(value) is not bool:
                raise ValueError(f"limits: {item.name} must be true or false, got {value!r}")

    @property
    def counts_chars(self) -> bool:
        """Whether a character limit is set: texts must then be decoded to be counted, never copied raw."""
        return self.max_input_chars is not None or self.max_output_chars is not None

    @classmethod
    def resolve(cls, value: Limits | str | Mapping[str, Any] | None) -> Limits:
        """A preset name, a mapping of overrides (optionally with ``preset``), or a ``Limits``."""
        if value is None:
            return PRESETS["vertex"]
        if isinstance(value, Limits):
            return value
        if isinstance(value, str):
            try:
                return PRESETS[value]
            except KeyError:
                raise ValueError(f"limits: unknown preset {value!r}; expected one of {sorted(PRESETS)}") from None
        if isinstance(value, Mapping):
            overrides = dict(value)
            base = cls.resolve(str(overrides.pop("preset", "vertex")))
            known = {f.name for f in fields(cls)} - {"preset"}
            unknown = sorted(set(overrides) - known)
            if unknown:
                raise ValueError(f"limits: unknown field(s) {unknown}; expected some of {sorted(known)}")
            return replace(base, **overrides)
        raise TypeError(f"limits must be a preset name, a mapping or Limits, got {type(value).__name__}")


PRESETS: dict[str, Limits] = {
    "vertex": Limits(),
    "gemini-api": Limits(
        preset="gemini-api",
        max_example_tokens=None,
        max_images=None,
        max_pdfs=None,
        max_audio=None,
        max_input_chars=40_000,
        max_output_chars=5_000,
        text_only=True,
        single_turn=True,
    ),
}
