"""A typed decoder for the most common line: a text-only Vertex example spelled the canonical way.

msgspec checks such a line's structure in C while decoding it, which saves about a quarter of the decode
and check time of text-only data. Anything else (snake_case spellings, file or function parts, ``tools``,
pairs, any error at all) returns None and goes through ``validation.check_example``, which stays the
authority on what is valid and on every error message. The fast path therefore only ever accepts a subset
of what the general path accepts, and encodes to the same canonical bytes; the tests hold it to both.
"""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec
from msgspec import UNSET, Meta, Struct, UnsetType

from airflow_tuning.dataset.limits import Limits

# Emptiness and the role's value are checked by the decoder, in C; only the alternation is left to Python.
_Text = Annotated[str, Meta(min_length=1)]


class _Part(Struct, forbid_unknown_fields=True):
    text: _Text


_Parts = Annotated[list[_Part], Meta(min_length=1)]


class _Turn(Struct, forbid_unknown_fields=True):
    parts: _Parts
    role: Literal["user", "model"]


class _Instruction(Struct, forbid_unknown_fields=True, omit_defaults=True):
    parts: _Parts
    role: str | UnsetType = UNSET


# Fields are declared in sorted order, so the default encoder writes the canonical (sorted-key) line.
class TextExample(Struct, forbid_unknown_fields=True, omit_defaults=True):
    contents: Annotated[list[_Turn], Meta(min_length=1)]
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
    turns = len(contents)
    if turns == 2:
        if contents[0].role != "user" or contents[1].role != "model":
            return None
    elif turns % 2 or limits.single_turn:
        return None
    else:
        for index, turn in enumerate(contents):
            if turn.role != ("model" if index % 2 else "user"):
                return None
    if limits.max_input_chars is None and limits.max_output_chars is None:
        return example
    chars = total = 0
    for turn in contents:
        chars = sum(len(part.text) for part in turn.parts)
        total += chars
    input_chars = total - chars
    instruction = example.systemInstruction
    if instruction is not UNSET:
        input_chars += sum(len(part.text) for part in instruction.parts)
    if limits.max_input_chars is not None and input_chars > limits.max_input_chars:
        return None
    if limits.max_output_chars is not None and chars > limits.max_output_chars:
        return None
    return example
