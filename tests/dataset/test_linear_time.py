"""Validation work grows linearly with the input, whatever its shape.

Measured by counting the Python lines executed (``sys.settrace``), not by a clock: the count is the same on
an idle and on a loaded machine, and it exposes any per-part rescan of a line's parts.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from airflow_tuning.dataset import Limits, Options, local_sources, validate


def _many_parts_line(parts: int) -> str:
    """One example whose user turn holds ``parts`` parts: file parts in both spellings and text parts."""
    user_parts: list[dict] = []
    for i in range(parts):
        if i % 3 == 0:
            user_parts.append({"text": f"look at file {i}"})
        elif i % 3 == 1:
            user_parts.append({"fileData": {"mimeType": "text/plain", "fileUri": f"gs://media/{i}.txt"}})
        else:
            user_parts.append({"file_data": {"mime_type": "text/plain", "file_uri": f"gs://media/{i}.txt"}})
    example = {"contents": [{"role": "user", "parts": user_parts}, {"role": "model", "parts": [{"text": "ok"}]}]}
    return json.dumps(example) + "\n"


def _lines_executed(path: Path) -> int:
    """Python lines run while validating ``path`` (no per-example limits, so every part is checked)."""
    count = 0

    def local(frame, event, arg):  # noqa: ANN001 - the settrace signature
        nonlocal count
        if event == "line":
            count += 1
        return local

    def tracer(frame, event, arg):  # noqa: ANN001
        return local

    options = Options(limits=Limits.resolve({"max_example_tokens": None}))
    previous = sys.gettrace()
    sys.settrace(tracer)
    try:
        report = validate(local_sources([str(path)]), options)
    finally:
        sys.settrace(previous)
    assert report.invalid == 0, report.render()
    assert report.examples == 1
    return count


def test_a_line_with_many_file_parts_validates_in_linear_work(tmp_path):
    small, large = tmp_path / "small.jsonl", tmp_path / "large.jsonl"
    small.write_text(_many_parts_line(1_000), encoding="utf-8")
    large.write_text(_many_parts_line(4_000), encoding="utf-8")
    small_work, large_work = _lines_executed(small), _lines_executed(large)
    # Four times the parts: linear work is about four times the lines (plus a fixed cost); a rescan of the
    # parts per file part (quadratic) would be over ten times.
    assert large_work < 5 * small_work, (small_work, large_work)
    assert large_work > 3 * small_work, (small_work, large_work)
