"""Text examples whose strings are copied into the canonical line instead of decoded and encoded again.

Turning every text into a Python ``str`` and back into UTF-8 is most of what a text-only example costs to
check and rewrite, and the canonical line needs neither: a JSON string written the way the canonical
encoder writes it can be copied byte for byte. Here msgspec checks the example's structure in C (field
names, roles, non-empty lists) while keeping each ``text`` as its raw JSON slice (``msgspec.Raw``), and the
encoder copies the slices into the line. That line is the canonical one only when every slice already is,
which holds when the line is valid UTF-8 and uses no escape but the encoder's own (``\\"``, ``\\\\``,
``\\b \\f \\n \\r \\t`` and lowercase ``\\u00XX`` for the other control characters). A line for which this
cannot be shown (invalid UTF-8, ``\\u00e9``, ``\\/``, a text that is not a non-empty string) is
:data:`UNSURE`: ``fastpath`` decodes it into strings as before, and ``validation`` stays the authority on
what is valid and on every error message.
"""

from __future__ import annotations

import re
from typing import Any

import msgspec

from airflow_tuning.dataset.example_shapes import VerbatimTextExample, roles_alternate
from airflow_tuning.dataset.formats import DECODE_ERRORS
from airflow_tuning.dataset.limits import Limits

#: The line may be a valid text example, but its strings must be decoded to know (see the module's doc).
UNSURE: Any = object()
# Every escape the canonical encoder writes; a backslash left after removing them is one it never writes.
_CANONICAL_ESCAPES = re.compile(rb'\\(?:["\\bfnrt]|u00(?:0[0-7bef]|1[0-9a-f]))')
# A "text" key whose value is not a non-empty string. Once the line has decoded with known keys only and
# passed the escape check, every match is such a key: no known key ends in `text"`, an escape cannot spell
# one of its letters, and an unescaped quote inside a string would end it.
_NOT_A_TEXT = re.compile(rb'"text"\s*:\s*(?:[^"\s]|"")')
_decode = msgspec.json.Decoder(VerbatimTextExample).decode


def verbatim_text_example(raw: bytes, limits: Limits) -> VerbatimTextExample | None:
    """The example, its texts kept raw, if ``raw`` is a valid text-only example whose texts are already
    canonical; None if it is no valid text-only example; :data:`UNSURE` if only decoded strings can tell.

    Limits on characters need decoded strings: with ``max_input_chars`` or ``max_output_chars`` set, every
    line is UNSURE.
    """
    if limits.max_input_chars is not None or limits.max_output_chars is not None:
        return UNSURE
    try:
        example = _decode(raw)
    except DECODE_ERRORS:
        # A raw text accepts any JSON value, so fastpath's str-typed decoder would refuse this line too: it is
        # not a typed text example, and the general path decides whether it is valid.
        return None
    if not roles_alternate(example.contents, limits.single_turn):
        return None
    if not raw.isascii():
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError:
            return UNSURE
    if b"\\" in raw and b"\\" in _CANONICAL_ESCAPES.sub(b"", raw):
        return UNSURE
    if _NOT_A_TEXT.search(raw):
        return UNSURE
    return example
