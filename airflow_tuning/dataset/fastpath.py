"""Typed decoders for the most common lines: Vertex examples spelled the canonical (camelCase) way.

msgspec checks such a line's structure in C while decoding it, which saves much of the decode and check
time. Text-only examples come first (most lines), their texts copied as they are when they are already
canonical (``verbatim``); examples with file parts, or with function parts, second. Anything else
(snake_case spellings, ``tools``, pairs, any error at all) returns None and goes through
``validation.check_example``, which stays the authority on what is valid and on every error message. The
fast path therefore only ever accepts a subset of what the general path accepts, and encodes to the same
canonical bytes; the tests hold it to both.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import msgspec
from msgspec import UNSET

from airflow_tuning.dataset.example_shapes import (
    MediaExample,
    RichExample,
    TextExample,
    VerbatimTextExample,
    roles_alternate,
)
from airflow_tuning.dataset.formats import DECODE_ERRORS
from airflow_tuning.dataset.limits import Limits
from airflow_tuning.dataset.validation import FILE_URI_SCHEMES, InvalidExample, Media, encode_declared, encode_sorted
from airflow_tuning.dataset.verbatim import UNSURE, verbatim_text_example

_decode = msgspec.json.Decoder(TextExample).decode
_decode_rich = msgspec.json.Decoder(RichExample).decode
_decode_media = msgspec.json.Decoder(MediaExample).decode
Encoder = Callable[[Any], bytes]


def fast_example(raw: bytes, limits: Limits) -> tuple[Any, int, Encoder] | None:
    """(decoded example, attached files, its canonical encoder) if ``raw`` is a valid canonical Vertex
    example within ``limits``, else None.

    Text-only examples (most lines) are tried first; a line that fails them is searched for the part
    kinds it could hold. Function-call arguments and responses are free objects whose keys must be sorted
    when encoding; every other example encodes in its declared (sorted) field order, at half the cost.
    """
    example = fast_text_example(raw, limits)
    if example is not None:
        return example, 0, encode_declared
    if limits.text_only:
        return None
    if b"function" in raw:
        return _rich_example(raw, limits, _decode_rich, encode_sorted)
    if b"Data" in raw:
        return _rich_example(raw, limits, _decode_media, encode_declared)
    return None  # nothing a rich example could hold: straight to the general path


def _part_kinds(part: Any) -> int:
    return ((part.text is not UNSET) + (part.fileData is not UNSET)
            + (getattr(part, "functionCall", UNSET) is not UNSET)
            + (getattr(part, "functionResponse", UNSET) is not UNSET))


def _rich_example(raw: bytes, limits: Limits, decode: Callable[[bytes], Any], encode: Encoder
                  ) -> tuple[Any, int, Encoder] | None:
    try:
        example = decode(raw)
    except DECODE_ERRORS:
        return None
    contents = example.contents
    if not roles_alternate(contents, limits.single_turn):
        return None
    media = Media()
    chars = total = 0
    for turn in contents:
        chars = 0
        for part in turn.parts:
            text, file = part.text, part.fileData
            if _part_kinds(part) != 1:
                return None
            if text is not UNSET:
                chars += len(text)
            elif file is not UNSET:
                mime, uri = file.mimeType, file.fileUri
                if "/" not in mime or len(uri) < 8 or not uri.startswith(FILE_URI_SCHEMES):
                    return None
                media.add(mime)
        total += chars
    input_chars = total - chars
    instruction = example.systemInstruction
    if instruction is not UNSET:
        input_chars += sum(len(part.text) for part in instruction.parts)
    if limits.max_input_chars is not None and input_chars > limits.max_input_chars:
        return None
    if limits.max_output_chars is not None and chars > limits.max_output_chars:
        return None
    try:
        media.check(limits)
    except InvalidExample:
        return None
    return example, media.files, encode


def fast_text_example(raw: bytes, limits: Limits) -> TextExample | VerbatimTextExample | None:
    """The decoded example if ``raw`` is a valid text-only Vertex example within ``limits``, else None.

    Its texts are copied as they are when they already read as the canonical encoder writes them (see
    ``verbatim``); otherwise they are decoded into strings.
    """
    verbatim = verbatim_text_example(raw, limits)
    if verbatim is not UNSURE:
        return verbatim
    try:
        example = _decode(raw)
    except DECODE_ERRORS:
        return None
    contents = example.contents
    if not roles_alternate(contents, limits.single_turn):
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
