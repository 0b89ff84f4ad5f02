"""One JSON line that ``verbatim`` did not take, checked and written as its canonical line.

The pipeline's hot loop asks ``verbatim`` first (text-only examples whose texts can be copied: most lines);
every other JSON line comes here: the typed decoders of ``fastpath`` for canonical Vertex examples, then the
general rules of ``validation``, which stay the authority on what is valid and on every error message.
"""

from __future__ import annotations

import msgspec

from airflow_tuning.dataset.fastpath import fast_example
from airflow_tuning.dataset.formats import DECODE_ERRORS, explain_bad_json
from airflow_tuning.dataset.limits import Limits
from airflow_tuning.dataset.validation import (
    InvalidExample,
    check_example,
    check_vertex,
    encode_example,
    encode_sorted,
)

_decode = msgspec.json.decode


def json_line(payload: bytes, text: bool, limits: Limits, expect: str, instruction: str | None
              ) -> tuple[bytes, int, str]:
    """(canonical line, estimated tokens, kind) of a JSON line ``verbatim`` did not take; raises
    ``InvalidExample``. The typed decoders first (text examples only if ``text``), then the general rules."""
    typed = fast_example(payload, limits, text) if expect != "pairs" else None
    if typed is not None:
        example, files, encode = typed
        kind = "vertex"
    else:
        try:
            obj = _decode(payload)
        except DECODE_ERRORS as err:
            raise InvalidExample(explain_bad_json(payload, err)) from None
        encode = encode_sorted
        if expect != "pairs" and type(obj) is dict and "contents" in obj:
            example, files = check_vertex(obj, limits)
            kind = "vertex"
        else:
            example, files, kind = check_example(obj, limits, expect=expect, system_instruction=instruction)
    line, tokens = encode_example(example, files, limits, encode)
    return line, tokens, kind
