"""Text examples whose strings are copied into the canonical line instead of decoded and encoded again.

Turning every text into a Python ``str`` and back into UTF-8 is most of what a text-only example costs to
check and rewrite, and the canonical line needs neither: a JSON string written the way the canonical
encoder writes it can be copied byte for byte. Here msgspec checks the example's structure in C (field
names, roles, non-empty lists) while keeping each ``text`` as its raw JSON slice (``msgspec.Raw``), and the
encoder copies the slices into the line. That line is the canonical one only when every slice already is,
which holds when the line is valid UTF-8 and uses no escape but the encoder's own (``\\"``, ``\\\\``,
``\\b \\f \\n \\r \\t`` and lowercase ``\\u00XX`` for the other control characters). A line for which this
cannot be shown (invalid UTF-8, ``\\u00e9``, ``\\/``, a raw U+2028, a text that is not a non-empty string) is
:data:`UNSURE`: ``fastpath`` decodes it into strings as before, and ``validation`` stays the authority on
what is valid and on every error message.

Text-only examples are the most common lines of all, so the pipeline asks for their canonical line here
first, in one call (decode, checks, encode), before any other decoder is tried. Examples with file or
function parts are decoded the same way by ``fastpath``, which asks ``texts_are_canonical`` before copying.
Function arguments and responses are always decoded and encoded again (their keys sorted): only texts are
copied, and an escape the encoder would not write, anywhere in the line, still sends it to decoded strings.
"""

from __future__ import annotations

import re
from typing import Any

import msgspec

from airflow_tuning.dataset.example_shapes import VerbatimTextExample, roles_alternate
from airflow_tuning.dataset.formats import DECODE_ERRORS
from airflow_tuning.dataset.utf8 import is_utf8
from airflow_tuning.dataset.validation import encode_declared, has_line_break

#: The line may be a valid text example, but its strings must be decoded to know (see the module's doc).
UNSURE: Any = object()
# Every escape the canonical encoder writes; a backslash left after removing them is one it never writes.
_CANONICAL_ESCAPES = re.compile(rb'\\(?:["\\bfnrt]|u00(?:0[0-7bef]|1[0-9a-f]))')
# A "text" key whose value is not a non-empty string. Once the line has decoded and passed the escape check,
# no part's "text" key escapes it: an escape cannot spell one of its letters, and an unescaped quote inside a
# string would end the string. A match that is no part's key (in a function's free-form arguments) only
# sends the line to the decoded-strings path.
_NOT_A_TEXT = re.compile(rb'"text"\s*:\s*(?:[^"\s]|"")')
_decode = msgspec.json.Decoder(VerbatimTextExample).decode
_BACKSLASH = ord("\\")  # an int: ``int in bytes`` is a bare memchr (see ``validation.has_line_break``)


def verbatim_line(raw: bytes, single_turn: bool) -> Any:
    """The canonical line (bytes) of ``raw`` if it is a valid text-only example whose texts are already
    canonical; None if it is no valid text-only example; :data:`UNSURE` if only decoded strings can tell.

    Limits on characters need decoded strings: the caller asks only when neither ``max_input_chars`` nor
    ``max_output_chars`` is set, and checks the token limit on the line it gets.
    """
    try:
        example = _decode(raw)
    except DECODE_ERRORS:
        # A raw text accepts any JSON value, so fastpath's str-typed decoder would refuse this line too: it is
        # not a typed text example, and the general path decides whether it is valid.
        return None
    if not roles_alternate(example.contents, single_turn):
        return None
    return encode_declared(example) if texts_are_canonical(raw) else UNSURE


def texts_are_canonical(raw: bytes) -> bool:
    """Whether the raw texts of ``raw``, a line that decoded, can be copied: the line is valid UTF-8, holds
    no escape the canonical encoder would not write and no character it would escape (U+0085, U+2028,
    U+2029: see ``validation.encode_example``), and every ``text`` is a non-empty string."""
    if not raw.isascii() and (not is_utf8(raw) or has_line_break(raw)):
        return False
    if _BACKSLASH in raw and _BACKSLASH in _CANONICAL_ESCAPES.sub(b"", raw):
        return False
    return _NOT_A_TEXT.search(raw) is None
