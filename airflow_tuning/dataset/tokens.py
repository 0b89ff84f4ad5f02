"""Token estimates of JSONL tuning data: the rule the validator applies per example, for whole files.

About 4 bytes of JSON per token plus a fixed cost per attached file (see ``encode_example``): cheap, and on
the high side, which suits both the per-example limit and a budget check.
"""

from __future__ import annotations

from collections.abc import Iterable

from airflow_tuning.dataset.limits import TOKENS_PER_MEDIA_PART

_MEDIA_KEYS = (b'"fileData":', b'"inlineData":', b'"file_data":', b'"inline_data":')


def line_tokens(line: bytes) -> int:
    """Tokens of one JSONL example (0 for a blank line)."""
    line = line.strip()
    if not line:
        return 0
    files = sum(line.count(key) for key in _MEDIA_KEYS)
    return len(line) // 4 + files * TOKENS_PER_MEDIA_PART


def stream_tokens(lines: Iterable[bytes]) -> tuple[int, int]:
    """(examples, tokens) of a JSONL stream, one line in memory at a time."""
    examples = tokens = 0
    for line in lines:
        count = line_tokens(line)
        if count:
            examples += 1
            tokens += count
    return examples, tokens
