"""Typed decoders for the most common lines: Vertex examples spelled the canonical (camelCase) way.

msgspec checks such a line's structure in C while decoding it, which saves much of the decode and check
time. Text-only examples come first (most lines): the pipeline first asks ``verbatim`` for their canonical
line with the texts copied as they are, and comes here when that cannot tell (texts decoded into strings)
or when the line is no text-only example (examples with file parts, or with function parts). Anything else
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

from airflow_tuning.dataset.example_shapes import RichExample, TextExample, VerbatimRichExample, roles_alternate
from airflow_tuning.dataset.formats import DECODE_ERRORS
from airflow_tuning.dataset.limits import Limits
from airflow_tuning.dataset.validation import FILE_URI_SCHEMES, InvalidExample, Media, encode_declared, encode_sorted
from airflow_tuning.dataset.verbatim import texts_are_canonical

_decode = msgspec.json.Decoder(TextExample).decode
_decode_rich = msgspec.json.Decoder(RichExample).decode
_decode_rich_raw = msgspec.json.Decoder(VerbatimRichExample).decode
Encoder = Callable[[Any], bytes]


def fast_example(raw: bytes, limits: Limits, text: bool = True) -> tuple[Any, int, Encoder] | None:
    """(decoded example, attached files, its canonical encoder) if ``raw`` is a valid canonical Vertex
    example within ``limits``, else None.

    Text-only examples (most lines) are tried first, unless ``text`` is False (``verbatim`` already found
    the line is none); then examples with file and function parts. Their texts are copied when no
    character limit needs them decoded and they are already canonical (see ``verbatim``), else decoded.
    """
    if text:
        example = fast_text_example(raw, limits)
        if example is not None:
            return example, 0, encode_declared
    if limits.text_only:
        return None
    if not limits.counts_chars:
        rich = _rich_example(raw, limits, _decode_rich_raw)
        # The raw decoder accepts whatever the string decoder does, so None holds for both.
        if rich is None or texts_are_canonical(raw):
            return rich
    return _rich_example(raw, limits, _decode_rich)


def _rich_example(raw: bytes, limits: Limits, decode: Callable[[bytes], Any]) -> tuple[Any, int, Encoder] | None:
    """Function-call arguments and responses are free objects whose keys must be sorted when encoding; an
    example without them encodes in its declared (sorted) field order, at half the cost."""
    try:
        example = decode(raw)
    except DECODE_ERRORS:
        return None
    contents = example.contents
    if not roles_alternate(contents, limits.single_turn):
        return None
    count = limits.counts_chars
    media = Media()
    functions = False
    chars = total = 0
    for turn in contents:
        chars = 0
        for part in turn.parts:
            text, file = part.text, part.fileData
            calls = (part.functionCall is not UNSET) + (part.functionResponse is not UNSET)
            if (text is not UNSET) + (file is not UNSET) + calls != 1:
                return None
            if calls:
                functions = True
            elif file is not UNSET:
                mime, uri = file.mimeType, file.fileUri
                if "/" not in mime or len(uri) < 8 or not uri.startswith(FILE_URI_SCHEMES):
                    return None
                media.add(mime)
            elif count:
                chars += len(text)
        total += chars
    if count and not _within_chars(example, total, chars, limits):
        return None
    if media.files:
        try:
            media.check(limits)
        except InvalidExample:
            return None
    return example, media.files, encode_sorted if functions else encode_declared


def fast_text_example(raw: bytes, limits: Limits) -> TextExample | None:
    """The decoded example, its texts decoded into strings, if ``raw`` is a valid text-only Vertex example
    within ``limits``, else None."""
    try:
        example = _decode(raw)
    except DECODE_ERRORS:
        return None
    contents = example.contents
    if not roles_alternate(contents, limits.single_turn):
        return None
    if not limits.counts_chars:
        return example
    chars = total = 0
    for turn in contents:
        chars = sum(len(part.text) for part in turn.parts)
        total += chars
    return example if _within_chars(example, total, chars, limits) else None


def _within_chars(example: Any, total: int, output: int, limits: Limits) -> bool:
    """Whether the characters of input (every turn's texts but the last turn's, and the system instruction's)
    and of output (the last turn's) are within ``limits``; ``total`` counts every turn's texts."""
    input_chars = total - output
    instruction = example.systemInstruction
    if instruction is not UNSET:
        input_chars += sum(len(part.text) for part in instruction.parts)
    if limits.max_input_chars is not None and input_chars > limits.max_input_chars:
        return False
    return limits.max_output_chars is None or output <= limits.max_output_chars
