"""A typed decoder for the most common line: a text-only Vertex example spelled the canonical way.

msgspec checks such a line's structure in C while decoding it, which saves about a quarter of the decode
and check time of text-only data. Anything else (snake_case spellings, file or function parts, ``tools``,
pairs, any error at all) returns None and goes through ``validation.check_example``, which stays the
authority on what is valid and on every error message. The fast path therefore only ever accepts a subset
of what the general path accepts, and encodes to the same canonical bytes; the tests hold it to both.
"""

from __future__ import annotations

import msgspec
from msgspec import UNSET, Struct, UnsetType

from airflow_tuning.dataset.limits import Limits


class _Part(Struct, forbid_unknown_fields=True):
    text: str


class _Turn(Struct, forbid_unknown_fields=True):
    parts: list[_Part]
    role: str


class _Instruction(Struct, forbid_unknown_fields=True, omit_defaults=True):
    parts: list[_Part]
    role: str | UnsetType = UNSET


class TextExample(Struct, forbid_unknown_fields=True, omit_defaults=True):
    contents: list[_Turn]
    systemInstruction: _Instruction | UnsetType = UNSET  # noqa: N815 - the API's field name


_decode = msgspec.json.Decoder(TextExample).decode
_ERRORS = (msgspec.DecodeError, RecursionError, ValueError)


def fast_text_example(raw: bytes, limits: Limits) -> TextExample | None:
    """The decoded example if ``raw`` is a valid text-only Vertex example within ``limits``, else None."""
    try:
        example = _decode(raw)
    except _ERRORS:
        return None
    contents = example.contents
    # user, model, user, model, ...: an even number of turns that starts with user ends with model
    if not contents or len(contents) % 2 or (limits.single_turn and len(contents) != 2):
        return None
    expected = "user"
    chars = total = 0
    for turn in contents:
        if turn.role != expected or not turn.parts:
            return None
        chars = 0
        for part in turn.parts:
            if not part.text:
                return None
            chars += len(part.text)
        total += chars
        expected = "model" if expected == "user" else "user"
    input_chars = total - chars
    instruction = example.systemInstruction
    if instruction is not UNSET:
        if not instruction.parts:
            return None
        for part in instruction.parts:
            if not part.text:
                return None
            input_chars += len(part.text)
    if limits.max_input_chars is not None and input_chars > limits.max_input_chars:
        return None
    if limits.max_output_chars is not None and chars > limits.max_output_chars:
        return None
    return example
